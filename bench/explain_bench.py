"""Benchmark ``trustdoctor explain --file`` on a generated log of mixed lines.

Generates a log (default 100 MB) of ordinary application lines with TLS
failures of every stack sprinkled in (single lines, Java traces, Python
tracebacks, kubelet events, Node errors), then times in the same run:

* ``trustdoctor explain --file LOG --format json`` (a subprocess, as a user runs it),
* ``grep -c x509 LOG`` (the floor: one fixed string, C speed),
* ``grep -c -E 'x509|certificate|CERTIFICATE|PKIX|SSL|TLS' LOG``.

and prints lines/s and MB/s for each, plus the peak RSS of the explain run.

    python bench/explain_bench.py [--size-mb 100] [--keep] [--out bench/results/explain.json]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

NORMAL = [
    "{ts} INFO  http: GET /api/v1/items/{n} 200 {ms}ms user={user} trace={trace}",
    "{ts} DEBUG cache: miss key=session:{trace} ttl=300",
    "{ts} INFO  worker[{n}]: job {trace} finished in {ms}ms",
    "{ts} WARN  db: slow query ({ms}ms): SELECT * FROM orders WHERE id = {n}",
    "{ts} INFO  scheduler: next run at {ts} for pipeline {user}-{n}",
    "{ts} ERROR payment: upstream returned 503 for order {n} (retry {ms})",
    "{ts} INFO  verify: checksum ok for artifact {trace}.tar.gz",
]
ERRORS = [
    '{ts} E kubelet[812]: Failed to pull image "registry.internal.example.com/team/app:1.{n}": '
    'rpc error: code = '
    'Unknown desc = failed to pull and unpack image '
    '"registry.internal.example.com/team/app:1.{n}": failed to '
    'resolve reference "registry.internal.example.com/team/app:1.{n}": failed to do request: Head '
    '"https://registry.internal.example.com/v2/team/app/manifests/1.{n}": tls: failed to verify '
    'certificate: '
    "x509: certificate signed by unknown authority",
    "{ts} ERROR curl: (60) SSL certificate problem: unable to get local issuer certificate",
    '{ts} WARN Get "https://vault.example.com:8200/v1/sys/health": x509: certificate has expired '
    'or is not yet '
    "valid: current time 2026-11-28T04:08:00Z is after 2026-11-25T04:07:53Z",
    "{ts} ERROR requests.exceptions.SSLError: HTTPSConnectionPool(host='api.example.com', "
    "port=443): Max "
    "retries exceeded with url: / (Caused by SSLError(SSLCertVerificationError(1, '[SSL: "
    "CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed certificate in certificate "
    "chain "
    "(_ssl.c:1006)')))",
]
TRACES = [
    "{ts} ERROR main: request failed\njavax.net.ssl.SSLHandshakeException: PKIX path building "
    "failed: "
    "sun.security.provider.certpath.SunCertPathBuilderException: unable to find valid "
    "certification path to "
    "requested target\n\tat "
    "java.base/sun.security.ssl.Alert.createSSLException(Alert.java:131)\n\tat "
    "java.base/sun.security.ssl.TransportContext.fatal(TransportContext.java:383)\nCaused by: "
    "sun.security.validator.ValidatorException: PKIX path building failed\n\t... 25 more",
    "Error: unable to verify the first certificate\n    at TLSSocket.onConnectSecure "
    "(node:_tls_wrap:1699:34)\n"
    "    at TLSSocket.emit (node:events:524:28) {{\n  code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE'\n}}",
]


def generate(path: Path, size: int, seed: int = 7) -> int:
    rnd = random.Random(seed)
    users = ["alice", "bob", "carol", "dave"]
    lines = 0
    written = 0
    with path.open("w") as f:
        while written < size:
            buf = []
            for _ in range(2000):
                mm, ss, ms = rnd.randrange(60), rnd.randrange(60), rnd.randrange(1000)
                ts = f"2026-11-28T04:{mm:02d}:{ss:02d}.{ms:03d}Z"
                kw = dict(
                    ts=ts,
                    n=rnd.randrange(100000),
                    ms=rnd.randrange(900),
                    user=rnd.choice(users),
                    trace=f"{rnd.getrandbits(64):016x}",
                )
                r = rnd.random()
                if r < 0.004:
                    buf.append(rnd.choice(ERRORS).format(**kw))
                elif r < 0.005:
                    buf.append(rnd.choice(TRACES).format(**kw))
                else:
                    buf.append(rnd.choice(NORMAL).format(**kw))
            text = "\n".join(buf) + "\n"
            f.write(text)
            written += len(text)
            lines += text.count("\n")
    return lines


def timed(argv: list[str]) -> tuple[float, str, int]:
    t = time.perf_counter()
    p = subprocess.run(argv, capture_output=True, text=True)
    dt = time.perf_counter() - t
    return dt, p.stdout, p.returncode


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--size-mb", type=int, default=100)
    ap.add_argument("--keep", action="store_true", help="keep the generated log")
    ap.add_argument("--out", help="also write the figures as JSON here")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="explain-bench-"))
    log = tmp / "mixed.log"
    try:
        lines = generate(log, args.size_mb * 1_000_000)
        size = log.stat().st_size
        exe = [sys.executable, "-m", "trustdoctor"]
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        t_explain, out, rc = timed([*exe, "explain", "--file", str(log), "--format", "json"])
        peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        doc = json.loads(out) if out.strip() else {}
        grep = shutil.which("grep") or "grep"
        t_grep1, g1, _ = timed([grep, "-c", "x509", str(log)])
        t_grep2, g2, _ = timed(
            [grep, "-c", "-E", "x509|certificate|CERTIFICATE|PKIX|SSL|TLS", str(log)]
        )
        res = {
            "log_bytes": size,
            "log_lines": lines,
            "explain": {
                "seconds": round(t_explain, 3),
                "lines_per_s": round(lines / t_explain),
                "mb_per_s": round(size / 1e6 / t_explain, 1),
                "exit": rc,
                "distinct_matches": len(doc.get("matches", [])),
                "occurrences": sum(m.get("count", 1) for m in doc.get("matches", [])),
                "peak_rss_mb": round(max(peak_kb, before) / 1024, 1),
            },
            "grep_x509": {
                "seconds": round(t_grep1, 3),
                "lines_per_s": round(lines / t_grep1),
                "count": int(g1.strip() or 0),
            },
            "grep_E6": {
                "seconds": round(t_grep2, 3),
                "lines_per_s": round(lines / t_grep2),
                "count": int(g2.strip() or 0),
            },
            "python": sys.version.split()[0],
            "cpus": os.cpu_count(),
        }
        print(json.dumps(res, indent=2))
        if args.out:
            Path(args.out).parent.mkdir(parents=True, exist_ok=True)
            Path(args.out).write_text(json.dumps(res, indent=2) + "\n")
    finally:
        if args.keep:
            print(f"log kept at {log}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
