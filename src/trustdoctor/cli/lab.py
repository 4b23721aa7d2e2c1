"""``trustdoctor lab [SCENARIO]``: the offline demo and end-to-end self-test."""

from __future__ import annotations

import argparse
import sys

DESCRIPTION = """Reproduce every failure shape of the guide offline and diagnose it.

Each scenario builds a throwaway PKI and a throwaway filesystem root (Debian,
RHEL, a slim image, Docker and containerd stores...), starts a TLS server on
127.0.0.1 and runs the same path as `trustdoctor diagnose` against it.  One
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
    from ..render.doc import BAD, BOLD, DIM, OK, Doc, Span
    from .output import emit

    if args.list:
        for s in SCENARIOS:
            print(f"{s.name:<24} {s.client:<11} {s.expected:<22} {s.summary}")
        return 0
    if args.scenario:
        s = scenario(args.scenario)
        res = run_scenario(s)
        from ..render.endpoint import endpoint_to_dict, render_endpoint

        if args.format == "json":
            from ..render.json import dumps

            data = endpoint_to_dict(res.outcome, plan=res.plan)  # type: ignore[arg-type]
            data["lab"] = {
                "scenario": s.name,
                "expected": s.expected,
                "found": res.found,
                "ok": res.ok,
            }
            sys.stdout.write(dumps(data))
        else:
            doc = Doc()
            doc.line(
                Span(f"lab scenario {s.name}: ", BOLD),
                s.summary,
                Span(f"  (client {s.client}; expected {s.expected})", DIM),
            )
            doc.blank()
            doc.lines.extend(
                render_endpoint(res.outcome, plan=res.plan).lines  # type: ignore[arg-type]
            )
            emit(doc)
        return 0 if res.ok else 1
    if args.format == "json":
        import json

        rows = []
        for s in SCENARIOS:
            res = run_scenario(s)
            rows.append(
                {
                    "scenario": s.name,
                    "client": s.client,
                    "summary": s.summary,
                    "expected": s.expected,
                    "found": res.found,
                    "ok": res.ok,
                }
            )
        wrong = sum(1 for r in rows if not r["ok"])
        doc_json = {
            "schema_version": 1,
            "kind": "lab",
            "scenarios": rows,
            "right": len(rows) - wrong,
            "wrong": wrong,
        }
        sys.stdout.write(json.dumps(doc_json, indent=2) + "\n")
        return 1 if wrong else 0
    results = []
    doc = Doc()
    doc.line(Span(f"{'scenario':<24} {'client':<11} {'expected':<22} {'found':<22}", BOLD))
    emit(doc)
    wrong = 0
    for s in SCENARIOS:
        res = run_scenario(s)
        results.append(res)
        wrong += 0 if res.ok else 1
        row = Doc()
        mark = Span("✓", OK) if res.ok else Span("✗", BAD)
        row.line(
            f"{s.name:<24} {s.client:<11} {s.expected:<22} {res.found:<22} ",
            mark,
            Span(f"  {s.summary}", DIM),
        )
        emit(row)
        sys.stdout.flush()
    summary = Doc()
    summary.blank()
    n = len(results)
    if wrong:
        summary.line(Span(f"{wrong} of {n} diagnoses wrong", BAD))
    else:
        summary.line(
            Span(f"all {n} diagnoses right", OK),
            Span(" — see one in full with: trustdoctor lab SCENARIO", DIM),
        )
    emit(summary)
    return 1 if wrong else 0
