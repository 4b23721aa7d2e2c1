"""Benchmark: ``trustdoctor chain`` on a 3-certificate chain, cold start, next
to ``openssl verify`` on the same files in the same run.

    python bench/chain_bench.py [--runs N]

Target (issue 2): median ≤ 150 ms.  Figures go to docs/performance.md.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from common import summary, time_command

from trustdoctor.lab.pki import hierarchy


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=15)
    args = ap.parse_args()
    h = hierarchy()
    with tempfile.TemporaryDirectory() as d:
        dd = Path(d)
        (dd / "chain.pem").write_bytes(h.leaf.pem + h.intermediate.pem + h.root.pem)
        (dd / "leaf.pem").write_bytes(h.leaf.pem)
        (dd / "inter.pem").write_bytes(h.intermediate.pem)
        (dd / "root.pem").write_bytes(h.root.pem)
        td = shutil.which("trustdoctor") or "trustdoctor"
        ours = time_command(
            [td, "chain", str(dd / "chain.pem"), "--trust", str(dd / "root.pem"),
             "--host", "registry.internal.example.com", "--at", "2026-06-01T12:00:00Z"],
            runs=args.runs,
        )
        ours_m = time_command(
            [sys.executable, "-m", "trustdoctor", "chain", str(dd / "chain.pem"), "--trust",
             str(dd / "root.pem"), "--host", "registry.internal.example.com", "--at",
             "2026-06-01T12:00:00Z"],
            runs=args.runs,
        )
        ossl = time_command(
            ["openssl", "verify", "-CAfile", str(dd / "root.pem"),
             "-untrusted", str(dd / "inter.pem"),
             "-verify_hostname", "registry.internal.example.com", "-attime", "1780315200",
             str(dd / "leaf.pem")],
            runs=args.runs,
        )
    print(summary("trustdoctor chain (console script)", ours))
    print(summary("python -m trustdoctor chain", ours_m))
    print(summary("openssl verify", ossl))
    ratio = statistics.median(ours) / statistics.median(ossl)
    print(f"ratio trustdoctor / openssl verify: {ratio:.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
