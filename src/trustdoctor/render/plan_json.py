"""JSON view of a fix plan and of what ``--apply`` did (pure).

``{"schema_version": 1, "kind": "fix", "plan": {...}, "applied": {...} | null}``;
documented in docs/fix.md.  Adding keys is compatible; anything else bumps
``SCHEMA_VERSION``.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from .plan_text import note_text, step_commands, why

if TYPE_CHECKING:
    from ..fixes.model import ApplyReport, Plan, Step

SCHEMA_VERSION = 1


def step_to_dict(plan: Plan, step: Step) -> dict[str, Any]:
    return {
        "action": step.action.value,
        "params": dict(step.params),
        "needs_root": step.needs_root,
        "changes": list(step.changes),
        "platform": step.platform,
        "reason": step.reason,
        "why": why(step),
        "alternative": step.alternative,
        "commands": step_commands(plan, step),
    }


def plan_to_dict(plan: Plan, *, steps: bool = True) -> dict[str, Any]:
    """The plan's document (``steps=False``: its ``steps`` member empty, for a
    caller that renders them itself: render/scan.py)."""
    return {
        "cause": plan.cause.value,
        "side": plan.side.value,
        "clients": list(plan.clients),
        "platform": plan.platform,
        "root": plan.root,
        "ca": plan.ca.to_dict() if plan.ca else None,
        "empty": plan.empty,
        "steps": [step_to_dict(plan, s) for s in plan.steps] if steps else [],
        "notes": [
            {"code": n.code, "params": dict(n.params), "text": note_text(n.code, n.params)}
            for n in plan.notes
        ],
    }


def applied_to_dict(report: ApplyReport) -> dict[str, Any]:
    return {
        "changed": report.changed,
        "fixed": report.fixed,
        "outcomes": [
            {
                "action": o.step.action.value,
                "reason": o.step.reason,
                "status": o.status,
                "detail": o.detail,
                "paths": list(o.paths),
                "backups": list(o.backups),
            }
            for o in report.outcomes
        ],
        "before": [c.to_dict() for c in report.before],
        "after": [c.to_dict() for c in report.after],
        "after_with_env_changes": [c.to_dict() for c in report.after_env],
        "remaining": [step_to_dict(report.plan, s) for s in report.remaining],
    }


def fix_document(plan: Plan, report: ApplyReport | None = None) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "kind": "fix",
        "plan": plan_to_dict(plan),
        "applied": applied_to_dict(report) if report is not None else None,
    }


def dumps(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=2, default=str) + "\n"
