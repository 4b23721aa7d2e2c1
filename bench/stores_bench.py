"""Benchmark ``trustdoctor stores`` on this machine's own root, cold (a fresh process per run).

Times, in the same run:

* ``trustdoctor stores --format json`` with the default client selection (the
  clients found on the machine),
* the same with every client model (``--client go,openssl,...``),
* the same with ``--ca`` (the compliance check),
* ``python -c pass`` (the interpreter's own start-up, the floor).

Each command is a new process, so nothing is cached between runs (the page
cache aside).  Byte-code: an installed package has ``.pyc`` files; this
checkout may run with ``PYTHONDONTWRITEBYTECODE=1``, so the bench points
``PYTHONPYCACHEPREFIX`` at a temporary directory and lets the warm-up runs
compile there (compiling trustdoctor's sources on every run would add ~35 ms).

    python bench/stores_bench.py [--runs 15] [--out bench/results/stores.json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from common import summary, time_command

SRC = Path(__file__).parents[1] / "src"
ALL = "go,openssl,curl,python,requests,node,java,docker,containerd,crio,podman"


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    if args.runs < 10:
        ap.error("--runs must be at least 10 (the target is a median of >= 10 cold runs)")

    py = sys.executable
    base = [py, "-m", "trustdoctor", "stores", "--format", "json"]
    tmp = Path(tempfile.mkdtemp(prefix="td-stores-bench-"))
    ca = tmp / "ca.pem"
    from trustdoctor.lab import pki

    ca.write_bytes(pki.make_cert("Bench Root").pem)
    env = dict(os.environ)
    env["PYTHONPATH"] = str(SRC) + os.pathsep + env.get("PYTHONPATH", "")
    env = dict(env, PYTHONPYCACHEPREFIX=str(tmp / "pycache"))
    env.pop("PYTHONDONTWRITEBYTECODE", None)

    try:
        results: dict[str, dict[str, float]] = {}
        print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, {args.runs} cold runs each")
        for name, argv in (
            ("python -c pass", [py, "-c", "pass"]),
            ("stores (clients found here)", base),
            ("stores --client <all 11>", [*base, "--client", ALL]),
            ("stores --ca FILE (clients found here)", [*base, "--ca", str(ca)]),
        ):
            samples = time_command(argv, runs=args.runs, env=env)
            print(summary(name, samples))
            results[name] = {
                "median_ms": statistics.median(samples) * 1000,
                "min_ms": min(samples) * 1000,
                "max_ms": max(samples) * 1000,
                "runs": len(samples),
            }
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
