"""Benchmark: ``trustdoctor diagnose`` cold, next to openssl s_client and sslyze.

    python bench/diagnose_bench.py [--runs N] [--tls 1.2|1.3] [--venv DIR] [--no-sslyze] [--json]
                                   [--compare-src DIR]

Starts one loopback TLS server (EC P-256 leaf for ``bench.test`` and
127.0.0.1, plus its intermediate; stdlib ``ssl``) and times, in the same run,
against the same server and the same root file, each as a fresh process:

* ``trustdoctor diagnose 127.0.0.1:PORT --client go --trust root.pem``
  (issue 13's target: <= 120 ms median, >= 4x faster than sslyze; issue 4's
  was 200 ms and 3x);
* ``trustdoctor diagnose 127.0.0.1:PORT --client go`` (this host's Go store:
  the store is read, the lab root is missing, a plan is made);
* ``openssl s_client -connect 127.0.0.1:PORT -verify_return_error -CAfile
  root.pem`` (the floor: one handshake in C);
* ``sslyze --certinfo --certinfo_ca_file root.pem 127.0.0.1:PORT`` (the
  Python peer), and the same without ``--certinfo_ca_file`` (its own five
  trust stores, next to trustdoctor with this host's Go store), installed
  with pip into a separate virtual environment under
  ``--venv`` (default: ``/tmp/sslyze-venv``, reused across runs).  If pip
  cannot install it, sslyze is skipped with a message and the ratio is not
  computed.
* ``python -c pass`` (the interpreter floor, for reference).

Medians of ``--runs`` runs (default 15, at least 10) after 2 warm-ups.  The
trustdoctor command is the console script next to this interpreter (not a
pyenv shim, whose bash wrapper would add its own start-up), else
``python -m trustdoctor``.  Byte code as an installed package has it: this
checkout may run with ``PYTHONDONTWRITEBYTECODE=1``, so ``PYTHONPYCACHEPREFIX``
points at a temporary directory the warm-ups fill.  ``--compare-src DIR``
adds the same diagnose run from another source tree (``PYTHONPATH=DIR``, e.g.
the main branch's ``src``), interleaved: a before/after.  Every exact command
is printed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from common import serve_hierarchy, sslyze_command, summary, trustdoctor_command

from trustdoctor.lab.pki import DAY, Hierarchy, make_cert

NAME = "bench.test"
TARGET_MS = 120.0
TARGET_RATIO = 4.0


def bench_pki() -> Hierarchy:
    """Root -> intermediate -> leaf (bench.test and 127.0.0.1), valid around now:
    every tool checks the real clock, so the run measures the trusted path."""
    import datetime as dt

    now = dt.datetime.now(dt.UTC)
    valid = {"not_before": now - DAY, "not_after": now + 30 * DAY}
    root = make_cert("Bench Root CA", **valid)
    inter = make_cert("Bench Issuing CA", issuer=root, **valid)
    leaf = make_cert(NAME, issuer=inter, ca=False, dns=(NAME,), ips=("127.0.0.1",), **valid)
    return Hierarchy(root, inter, leaf)


def interleaved(
    commands: dict[str, list[str]],
    *,
    runs: int,
    env: dict[str, str],
    warmup: int = 2,
    envs: dict[str, dict[str, str]] | None = None,
) -> dict[str, list[float]]:
    """Wall-clock seconds per command, one fresh process of each per round.

    No ``timeout=``: with one, ``subprocess`` polls the child with sleeps of up
    to 50 ms and the figures become multiples of that.
    """
    out: dict[str, list[float]] = {k: [] for k in commands}
    for n in range(warmup + runs):
        for label, argv in commands.items():
            t0 = time.perf_counter()
            subprocess.run(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                env={**env, **(envs or {}).get(label, {})},
            )
            if n >= warmup:
                out[label].append(time.perf_counter() - t0)
    return out


def default_venv() -> Path:
    return Path(tempfile.gettempdir()) / "sslyze-venv"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--tls", choices=("1.2", "1.3"), default="1.3")
    ap.add_argument("--venv", type=Path, default=None, help="sslyze's virtual environment")
    ap.add_argument("--no-sslyze", action="store_true")
    ap.add_argument("--json", action="store_true", help="also print the figures as JSON")
    ap.add_argument("--compare-src", type=Path, help="another tree's src/, timed alongside")
    a = ap.parse_args()
    runs = max(10, a.runs)

    h = bench_pki()
    tmp = Path(tempfile.mkdtemp(prefix="td-bench-diagnose-"))
    ls, port = serve_hierarchy(h, tmp, a.tls)
    root = tmp / "root.pem"
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env["NO_COLOR"] = "1"
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(tmp / "pycache")
    td = [
        *trustdoctor_command(),
        "diagnose",
        f"127.0.0.1:{port}",
        "--client",
        "go",
        "--trust",
        str(root),
    ]
    check = subprocess.run(td, capture_output=True, text=True, env=env, timeout=60)
    if check.returncode != 0:
        print(f"trustdoctor did not report the chain as trusted (exit {check.returncode}):")
        print(check.stdout + check.stderr)
        return 1
    openssl = shutil.which("openssl")
    ossl = None
    if openssl:
        ossl = [
            openssl,
            "s_client",
            "-connect",
            f"127.0.0.1:{port}",
            "-servername",
            NAME,
            "-verify_return_error",
            "-CAfile",
            str(root),
            "-no-CApath",
            "-no-CAstore",
        ]
    sslyze_cmd: list[str] | None = None
    sslyze_note = "skipped (--no-sslyze)"
    if not a.no_sslyze:
        base, sslyze_note = sslyze_command(a.venv or default_venv())
        if base is not None:
            sslyze_cmd = [
                *base,
                "--quiet",
                "--certinfo",
                "--certinfo_ca_file",
                str(root),
                f"127.0.0.1:{port}",
            ]
            sslyze_own = [*base, "--quiet", "--certinfo", f"127.0.0.1:{port}"]

    commands: dict[str, list[str]] = {"python -c pass": [sys.executable, "-c", "pass"]}
    commands["trustdoctor diagnose --client go"] = td
    commands["  ... with this host's Go store"] = td[: td.index("--trust")]
    envs: dict[str, dict[str, str]] = {}
    if a.compare_src is not None:
        label = f"  ... the same from {a.compare_src}"
        commands[label] = td
        envs[label] = {"PYTHONPATH": str(a.compare_src.resolve())}
    if ossl:
        commands["openssl s_client -verify_return_error"] = ossl
    else:
        print("openssl: not installed, skipped")
    if sslyze_cmd:
        commands["sslyze --certinfo"] = sslyze_cmd
        commands["  ... with its own trust stores"] = sslyze_own
    else:
        print(f"sslyze: {sslyze_note}")
    print(
        f"loopback TLS {a.tls} server on 127.0.0.1:{port}; {runs} cold runs each, "
        "interleaved (one of each per round, so load hits all alike), 2 warm-ups\n"
    )
    results = interleaved(commands, runs=runs, env=env, envs=envs)
    for label, samples in results.items():
        print(summary(label, samples))
    ls.close()

    med = {k: statistics.median(v) * 1000 for k, v in results.items()}
    ours = med["trustdoctor diagnose --client go"]
    print()
    print(
        f"trustdoctor median {ours:.1f} ms (target <= {TARGET_MS:.0f} ms): "
        f"{'met' if ours <= TARGET_MS else 'MISSED'}"
    )
    figures: dict[str, object] = {"runs": runs, "tls": a.tls, "median_ms": med}
    if "openssl s_client -verify_return_error" in med:
        r = ours / med["openssl s_client -verify_return_error"]
        figures["ratio_vs_openssl"] = r
        print(f"trustdoctor / openssl s_client = {r:.1f}x (openssl is the floor)")
    if "sslyze --certinfo" in med:
        r = med["sslyze --certinfo"] / ours
        figures["speedup_vs_sslyze"] = r
        print(
            f"sslyze / trustdoctor = {r:.1f}x faster (target >= {TARGET_RATIO:.0f}x): "
            f"{'met' if r >= TARGET_RATIO else 'MISSED'}"
        )
    if "  ... with its own trust stores" in med:
        # The command without --trust against each tool's own stores: the
        # issue's literal `diagnose HOST:PORT --client go` (this host's Go
        # store read and modelled, a plan made) next to sslyze's five stores.
        r = med["  ... with its own trust stores"] / med["  ... with this host's Go store"]
        figures["speedup_vs_sslyze_own_stores"] = r
        print(f"sslyze (its stores) / trustdoctor (this host's Go store) = {r:.1f}x faster")
    print(f"sslyze: {sslyze_note}")
    print("\ncommands:")
    for label, argv in commands.items():
        print(f"  {label}: {' '.join(argv)}" + ("  </dev/null" if "s_client" in label else ""))
    if a.json:
        print(json.dumps({**figures, "commands": commands}, indent=2))
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
