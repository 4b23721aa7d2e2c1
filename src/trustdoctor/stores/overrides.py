"""Environment overrides: what the client would trust without them, and whether it matters."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from ..model.findings import Code, Severity
from ..model.stores import ClientStore, StoreContext
from .base import Builder, finding
from .reference import is_public

MAX_NAMED = 5


def compare_default(
    ctx: StoreContext,
    b: Builder,
    rerun: Callable[[Mapping[str, str]], Builder],
    active_vars: Sequence[str],
    *,
    harmless: Mapping[str, str | list[str]] | None = None,
    **extra: object,
) -> ClientStore:
    """Freeze ``b``; when ``active_vars`` are set, also model the store without them.

    Adds ``env-override`` when the default store has anchors the overridden
    one lacks (naming private ones first), else ``override-harmless`` with
    the ``harmless`` params (a ``reason`` code and its values; default
    ``reason="nothing-hidden"``).
    """
    if not active_vars:
        return b.build(**extra)
    env = {k: v for k, v in ctx.env.items() if k not in active_vars}
    default = rerun(env).anchor_set()
    actual = b.anchor_set()
    hidden = [a for a in default.anchors if not actual.contains(a.cert)]
    if hidden:
        private = [a for a in hidden if not is_public(a.cert.sha256)]
        ordered = private + [a for a in hidden if a not in private]
        b.add(
            finding(
                Code.ENV_OVERRIDE,
                Severity.WARNING,
                certs=[a.cert.sha256 for a in ordered[:MAX_NAMED]],
                client=b.client,
                variables=list(active_vars),
                hidden=len(hidden),
                hidden_private=len(private),
                examples=[a.cert.display_name for a in ordered[:MAX_NAMED]],
                default_count=len(default),
            )
        )
    else:
        b.add(
            finding(
                Code.OVERRIDE_HARMLESS,
                Severity.INFO,
                client=b.client,
                variables=list(active_vars),
                default_count=len(default),
                **(harmless or {"reason": "nothing-hidden"}),
            )
        )
    return b.build(default_anchors=default, **extra)
