"""``trustdoctor lab [SCENARIO]``: the offline demo and end-to-end self-test."""

from __future__ import annotations

import argparse
import sys

DESCRIPTION = """Reproduce every failure shape of the guide offline and diagnose it.

Each scenario builds a throwaway PKI and a throwaway filesystem root (Debian,
RHEL, a slim image, Docker and containerd stores...), starts a TLS server on
127.0.0.1 and diagnoses it with the very call `trustdoctor diagnose` makes.  One
row per scenario: the expected cause, the cause found, ✓/✗.  With a scenario
name, the full diagnosis.  Nothing outside a private temporary directory is
written; everything is removed at the end, also on Ctrl-C.

exit codes: 0 every diagnosis right, 1 at least one wrong, 2 unknown scenario
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("scenario", nargs="?", help="show one scenario's full diagnosis")
    p.add_argument("--list", action="store_true", help="list the scenarios")
    p.add_argument("--format", choices=("text", "json"), default="text")


def run(args: argparse.Namespace) -> int:
    from ..lab import SCENARIOS, run_scenario, scenario
    from ..render import lab as view
    from ..render.json import dumps
    from .output import emit, emit_report

    if args.list:
        emit(view.listing(SCENARIOS))
        return 0
    if args.scenario:
        res = run_scenario(scenario(args.scenario))
        emit_report(res, args.format)
        return 0 if res.ok else 1
    text = args.format == "text"
    if text:
        emit(view.header())
    results = []
    for s in SCENARIOS:
        res = run_scenario(s)
        results.append(res)
        if text:
            emit(view.row(res))
            sys.stdout.flush()
    if text:
        emit(view.summary(results))
    else:
        sys.stdout.write(dumps(view.table_to_dict(results)))
    return 0 if all(r.ok for r in results) else 1
