"""JSON view of an :class:`~trustdoctor.model.explain.ExplainResult` (pure).

A versioned contract documented in docs/explain.md ("JSON output"): bump
``SCHEMA_VERSION`` on any incompatible change; adding keys is compatible.
"""

from __future__ import annotations

import json
from typing import Any

from ..model.explain import ExplainMatch, ExplainResult
from .explain_text import CLASS_TITLE, QUESTION, reason_text

SCHEMA_VERSION = 1


def match_to_dict(m: ExplainMatch) -> dict[str, Any]:
    return {
        "client": m.client,
        "stack": m.stack,
        "library": m.library,
        "pattern": m.pattern,
        "error_class": m.error_class,
        "error_title": CLASS_TITLE.get(m.error_class, ""),
        "host": m.host,
        "port": m.port,
        "servername": m.servername,
        "authority": m.authority,
        "hint": m.hint,
        "narrows": m.narrows,
        "causes": [
            {"code": c.code.value, "reason": c.reason, "why": reason_text(m, c.reason)}
            for c in m.causes
        ],
        "questions": [{"code": q, "text": QUESTION.get(q, q)} for q in m.questions],
        "next": m.next.command,
        "next_argv": list(m.next.argv),
        "next_runnable": m.next.runnable,
        "line": m.line,
        "count": m.count,
        "text": m.text,
        "detail": dict(m.detail),
    }


def explain_to_dict(result: ExplainResult) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "kind": "explain",
        "recognised": result.recognised,
        "lines": result.lines,
        "matches": [match_to_dict(m) for m in result.matches],
        "dropped": result.dropped,
        "unrecognised": {
            "count": result.unrecognised_count,
            "samples": [{"line": u.line, "text": u.text} for u in result.unrecognised],
        },
    }


def render_json(result: ExplainResult) -> str:
    return json.dumps(explain_to_dict(result), indent=2, ensure_ascii=False) + "\n"
