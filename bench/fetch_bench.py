"""Benchmark: fetching a presented chain, cold, next to ``openssl s_client``.

    python bench/fetch_bench.py [--runs N] [--tls 1.2|1.3] [--json]

Starts a loopback TLS server (EC P-256 leaf + intermediate, stdlib ``ssl``)
and times, in the same run and against the same server:

* ``python -c pass`` (the interpreter floor);
* a cold ``fetch_chain`` in a fresh interpreter (``python -c`` importing
  trustdoctor, one handshake, the chain parsed into ``CertInfo``);
* ``openssl s_client -verify_return_error`` (the floor: one handshake in C,
  verifying against the lab root so it completes);
* a warm in-process ``fetch_chain`` (median of the same number of runs).

Medians of >= 10 runs (default 15, after 2 warm-ups).  The lead extends this
with the full ``trustdoctor diagnose`` command; figures go to
docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from common import serve_hierarchy, summary, time_command

from trustdoctor.lab.pki import hierarchy
from trustdoctor.model.target import parse_target
from trustdoctor.sources.network import fetch_chain

NAME = "bench.test"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=15, help="runs per measurement (>= 10)")
    ap.add_argument("--tls", choices=["1.2", "1.3"], default="1.3")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = ap.parse_args()
    runs = max(10, args.runs)
    h = hierarchy(NAME)
    with tempfile.TemporaryDirectory(prefix="td-bench-") as d:
        dd = Path(d)
        ls, port = serve_hierarchy(h, dd, args.tls)
        target = f"127.0.0.1:{port}"

        cold_code = (
            "from trustdoctor.model.target import parse_target;"
            "from trustdoctor.sources.network import fetch_chain;"
            f"r = fetch_chain(parse_target({target!r}, servername={NAME!r}), timeout=10);"
            "assert len(r.chain) == 2"
        )
        cmds = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "fetch_chain, cold (python -c)": [sys.executable, "-c", cold_code],
        }
        if shutil.which("openssl"):
            cmds["openssl s_client -verify_return_error"] = [
                "openssl",
                "s_client",
                "-connect",
                target,
                "-servername",
                NAME,
                "-verify_return_error",
                "-CAfile",
                str(dd / "root.pem"),
            ]
        # Sanity: the cold command really works (time_command discards output).
        subprocess.run(cmds["fetch_chain, cold (python -c)"], check=True)
        samples = {
            name: time_command(argv, runs=runs, stdin=subprocess.DEVNULL)
            for name, argv in cmds.items()
        }
        warm: list[float] = []
        t = parse_target(target, servername=NAME)
        for _ in range(runs):
            t0 = time.perf_counter()
            r = fetch_chain(t, timeout=10)
            warm.append(time.perf_counter() - t0)
            assert len(r.chain) == 2
        samples["fetch_chain, warm (in process)"] = warm
        ls.close()

    med = {k: statistics.median(v) * 1000 for k, v in samples.items()}
    if args.json:
        print(
            json.dumps(
                {
                    "tls": args.tls,
                    "runs": runs,
                    "median_ms": med,
                    "commands": {k: " ".join(v) for k, v in cmds.items()},
                },
                indent=2,
            )
        )
        return 0
    print(f"loopback TLS {args.tls} server on {target} (EC P-256 leaf + intermediate)")
    for name, s in samples.items():
        print(summary(name, s))
    if "openssl s_client -verify_return_error" in med:
        ratio = med["fetch_chain, cold (python -c)"] / med["openssl s_client -verify_return_error"]
        print(f"ratio cold fetch_chain / openssl s_client: {ratio:.1f}x")
    print("commands:")
    for name, argv in cmds.items():
        print(f"  {name}: {' '.join(argv)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
