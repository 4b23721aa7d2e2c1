"""Fix plans for every cause, and the safe ``--apply`` (docs/fix.md).

Pure planners (import freely)::

    from trustdoctor.fixes import plan_for, plan_for_store, plan_for_diagnosis, render_plan

    plan = plan_for_diagnosis(diag, stores={"go": go_store}, distro=ctx.distro)
    emit(render_plan(plan))

``fixes.apply`` carries a plan out on a root (the I/O edge); ``fixes.discover``
builds a :class:`FixContext` from a :class:`~trustdoctor.stores.StoreContext`.
"""

from __future__ import annotations

import importlib

TYPE_CHECKING = False  # typing's constant, without importing typing (model/record.py)
if TYPE_CHECKING:
    from typing import Any

    from ..render.doc import Doc
    from .model import (
        Action,
        ApplyReport,
        CaRef,
        ContainerdInfo,
        EnvOrigin,
        FixContext,
        JavaInfo,
        Note,
        Plan,
        Purpose,
        Step,
        StepOutcome,
    )
    from .planner import (
        context_for,
        merge_plans,
        plan_for,
        plan_for_diagnosis,
        plan_for_store,
        plan_for_stores,
    )

# Names are imported on first use: ``--server`` choices (``fixes.tables``) and
# a trusted chain (no plan to make) must not pay for the planners.
_WHERE = {
    **dict.fromkeys(
        ("Action", "ApplyReport", "CaRef", "ContainerdInfo", "EnvOrigin", "FixContext",
         "JavaInfo", "Note", "Plan", "Purpose", "Step", "StepOutcome"),
        "model",
    ),
    **dict.fromkeys(
        ("context_for", "merge_plans", "plan_for", "plan_for_diagnosis", "plan_for_store",
         "plan_for_stores"),
        "planner",
    ),
}  # fmt: skip


def __getattr__(name: str) -> Any:
    where = _WHERE.get(name)
    if where is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{where}"), name)
    globals()[name] = value
    return value


def render_plan(plan: Plan) -> Doc:
    """The plan as shell commands with comments (see ``render/plan_text.py``)."""
    from ..render.plan_text import render_plan as _render

    return _render(plan)


__all__ = [
    "Action",
    "ApplyReport",
    "CaRef",
    "ContainerdInfo",
    "EnvOrigin",
    "FixContext",
    "JavaInfo",
    "Note",
    "Plan",
    "Purpose",
    "Step",
    "StepOutcome",
    "context_for",
    "merge_plans",
    "plan_for",
    "plan_for_diagnosis",
    "plan_for_store",
    "plan_for_stores",
    "render_plan",
]
