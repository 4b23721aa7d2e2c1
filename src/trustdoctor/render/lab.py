"""Views of the lab (pure): the table of scenarios and one scenario in full."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .doc import BAD, BOLD, DIM, OK, Doc, Span

if TYPE_CHECKING:
    from ..lab import LabResult, Scenario


def render_scenario(res: LabResult) -> Doc:
    """One scenario: what it reproduces, then the report ``diagnose`` prints."""
    s = res.scenario
    doc = Doc()
    doc.line(
        Span(f"lab scenario {s.name}: ", BOLD),
        s.summary,
        Span(f"  (client {s.client}; expected {s.expected})", DIM),
    )
    doc.blank()
    doc.lines.extend(res.report.to_text().lines)
    return doc


def header() -> Doc:
    doc = Doc()
    doc.line(Span(f"{'scenario':<24} {'client':<11} {'expected':<22} {'found':<22}", BOLD))
    return doc


def row(res: LabResult) -> Doc:
    s = res.scenario
    doc = Doc()
    mark = Span("✓", OK) if res.ok else Span("✗", BAD)
    doc.line(
        f"{s.name:<24} {s.client:<11} {s.expected:<22} {res.found:<22} ",
        mark,
        Span(f"  {s.summary}", DIM),
    )
    return doc


def summary(results: Sequence[LabResult]) -> Doc:
    doc = Doc()
    doc.blank()
    wrong = sum(1 for r in results if not r.ok)
    if wrong:
        doc.line(Span(f"{wrong} of {len(results)} diagnoses wrong", BAD))
    else:
        doc.line(
            Span(f"all {len(results)} diagnoses right", OK),
            Span(" — see one in full with: trustdoctor lab SCENARIO", DIM),
        )
    return doc


def listing(scenarios: Sequence[Scenario]) -> Doc:
    doc = Doc()
    for s in scenarios:
        doc.line(f"{s.name:<24} {s.client:<11} {s.expected:<22} {s.summary}")
    return doc


def table_to_dict(results: Sequence[LabResult]) -> dict[str, Any]:
    """``lab --format json``: one row per scenario."""
    rows = [
        {
            "scenario": r.scenario.name,
            "client": r.scenario.client,
            "summary": r.scenario.summary,
            "expected": r.scenario.expected,
            "found": r.found,
            "ok": r.ok,
        }
        for r in results
    ]
    wrong = sum(1 for r in rows if not r["ok"])
    return {
        "schema_version": 1,
        "kind": "lab",
        "scenarios": rows,
        "right": len(rows) - wrong,
        "wrong": wrong,
    }
