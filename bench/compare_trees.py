"""Before/after: the same commands run from two source trees, interleaved.

Used to check that a restructuring does not slow the commands down
(docs/performance.md, "Before and after issue 10").  Each round runs every
command once from each tree, alternating, so a busy machine slows both
alike; wall time and CPU time (user + system of the child) are reported.

    python bench/compare_trees.py --before /path/to/old/src --after src --runs 15
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from common import serve

from trustdoctor.lab.pki import hierarchy


def run(src: str, argv: list[str]) -> tuple[float, float]:
    env = {**os.environ, "PYTHONPATH": src, "NO_COLOR": "1"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "trustdoctor", *argv],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=False,
    )
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--before", required=True, help="the old tree's src/")
    ap.add_argument("--after", required=True, help="the new tree's src/")
    ap.add_argument("--runs", type=int, default=15)
    args = ap.parse_args()
    import ssl

    h = hierarchy("registry.internal.example.com")
    with tempfile.TemporaryDirectory() as d:
        dd = Path(d)
        (dd / "chain.pem").write_bytes(h.leaf.pem + h.intermediate.pem + h.root.pem)
        (dd / "leaf.pem").write_bytes(h.leaf.pem)
        (dd / "root.pem").write_bytes(h.root.pem)
        (dd / "srv.pem").write_bytes(h.leaf.pem + h.leaf.key_pem)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(str(dd / "srv.pem"))
        sock, port = serve(ctx)
        root = dd / "root"
        (root / "etc/ssl/certs").mkdir(parents=True)
        (root / "etc/ssl/certs/ca-certificates.crt").write_bytes(h.root.pem)
        at = ["--at", "2026-06-01T12:00:00Z"]
        cases = {
            "chain (trusted, --trust)": ["chain", str(dd / "chain.pem"), "--trust",
                                         str(dd / "root.pem"), "--host",
                                         "registry.internal.example.com", *at],
            "chain (missing intermediate, plan)": ["chain", str(dd / "leaf.pem"), "--trust",
                                                   str(dd / "root.pem"), "--host",
                                                   "registry.internal.example.com", *at],
            "diagnose --client go (--root)": ["diagnose", f"127.0.0.1:{port}", "--servername",
                                              "registry.internal.example.com", "--client", "go",
                                              "--root", str(root), "--proxy", ""],
            "stores --root": ["stores", "--root", str(root)],
            "explain": ["explain", "x509: certificate signed by unknown authority"],
        }  # fmt: skip
        results: dict[str, dict[str, list[tuple[float, float]]]] = {
            k: {"before": [], "after": []} for k in cases
        }
        for argv in cases.values():  # warm the caches (.pyc, page cache)
            run(args.before, argv)
            run(args.after, argv)
        for _ in range(args.runs):
            for name, argv in cases.items():
                results[name]["before"].append(run(args.before, argv))
                results[name]["after"].append(run(args.after, argv))
        sock.close()
    head = ("command", "before wall", "after wall", "before cpu", "after cpu")
    print(f"{head[0]:<38} {head[1]:>12} {head[2]:>11} {head[3]:>11} {head[4]:>10}")
    for name, r in results.items():
        bw = statistics.median(w for w, _ in r["before"]) * 1000
        aw = statistics.median(w for w, _ in r["after"]) * 1000
        bc = statistics.median(c for _, c in r["before"]) * 1000
        ac = statistics.median(c for _, c in r["after"]) * 1000
        print(f"{name:<38} {bw:9.1f} ms {aw:8.1f} ms {bc:8.1f} ms {ac:7.1f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
