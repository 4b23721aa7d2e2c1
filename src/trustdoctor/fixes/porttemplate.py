"""A server plan made once for the endpoints of one chain that differ only by port.

A scan meets one chain on many endpoints: a service's nodes on one address
and many ports, or one load balancer's listeners.  The server-side plan names
the endpoint (``openssl s_client -connect HOST:PORT``, ``trustdoctor diagnose
HOST:PORT``, HAProxy's ``bind :PORT``), so it was made per target: ~0.2 ms
of planning and its JSON text each, ~4 % of a scan of the bench fleet
(docs/performance.md).

:func:`learn` makes the template by *differential evaluation*: the planner
runs for the first endpoint and again for the same endpoint on another port
of as many digits; every value of the two plans is either equal (kept as
is, the same object), or a string in which the second port replaces every
occurrence of the first (kept as the pieces around it), or an integer equal
to each port; anything else (a port compared with a constant, its digits
inside a name) and there is no template, so the planner runs per endpoint as
before.  :meth:`PortTemplate.fill` then gives any other port's plan, equal
to what the planner would make for it (tests/fix/test_port_template.py
compares them over every server-side cause).

The endpoints sharing a template share the judged chain (a scan's memo
entry): the planners read its certificates and verdicts, never the
provenance of what each endpoint presented (the scan test compares each
target's plan with ``diagnose``'s alone, whose provenance is its own).

Pure: plans in, plans out.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ..model.record import record_fields, replace
from ..model.target import SCHEMES, STARTTLS_PORTS, Target, format_hostport
from .model import FixContext

# Ports a planner treats specially (a bare host for https on 443, the
# scheme's default port): never a template's, nor filled into one.
_SPECIAL = frozenset({443, *(s.port for s in SCHEMES.values()), *STARTTLS_PORTS.values()})

_SAME, _TEXT, _PORT, _SEQ, _MAP, _REC = range(6)


class _Nonlinear(Exception):
    """The plans differ otherwise than by the port's text: no template."""


def eligible(t: Target) -> bool:
    """Whether ``t``'s plans can come from a template: connected where it says
    (no ``--connect-to``), on a port no planner treats specially."""
    return (
        (t.connect_host, t.connect_port) == (t.host, t.port)
        and t.port not in _SPECIAL
        and t.display.endswith(f":{t.port}")
    )


def shape_key(t: Target) -> tuple[object, ...]:
    """What the endpoints sharing a template have in common: all but the port
    (its number of digits included: a template fills a port of as many)."""
    return (t.host, t.scheme, t.servername, t.starttls, t.absolute, t.name_source,
            t.display[: -len(str(t.port))], len(str(t.port)))  # fmt: skip


def on_port(t: Target, port: int) -> Target:
    """``t`` on another port (see :func:`eligible`)."""
    return replace(
        t, port=port, connect_port=port, display=t.display[: -len(str(t.port))] + str(port)
    )


def _registry_follows(ctx: FixContext, t: Target) -> bool:
    # A daemon client's registry is the target's host:port unless given.
    return ctx.registry is not None and ctx.registry == format_hostport(t.host, t.port)


def context_key(ctx: FixContext) -> FixContext:
    """What the contexts sharing a template have in common: all but the
    endpoint (and the registry when it is the endpoint's ``host:port``)."""
    assert ctx.endpoint is not None
    follows = _registry_follows(ctx, ctx.endpoint)
    return replace(ctx, endpoint=None, registry="<port>" if follows else ctx.registry)


def context_on_port(ctx: FixContext, port: int) -> FixContext:
    """``ctx`` for its endpoint on another port."""
    t = ctx.endpoint
    assert t is not None
    moved = on_port(t, port)
    if _registry_follows(ctx, t):
        return replace(ctx, endpoint=moved, registry=format_hostport(t.host, port))
    return replace(ctx, endpoint=moved)


def other_port(port: int) -> int:
    """A port of as many digits as ``port``, neither it nor a special one."""
    digits = len(str(port))
    for p in (port + 1, port - 1, port + 2, port - 2):
        if len(str(p)) == digits and 0 < p < 65536 and p not in _SPECIAL:
            return p
    raise ValueError(port)  # pragma: no cover - two of four always qualify


class PortTemplate:
    """A value (plans and their parts) over the port; :meth:`fill` it."""

    def __init__(self, shape: tuple[Any, ...]) -> None:
        self._shape = shape

    def fill(self, port: int) -> Any:
        return _fill(self._shape, str(port), port)


def learn(make: Callable[[int], Any], port: int) -> tuple[Any, PortTemplate | None]:
    """What ``make(port)`` returns, and its template over the port (``None``
    when the port enters it otherwise than as its text or number)."""
    first = make(port)
    second_port = other_port(port)
    try:
        shape = _diff(first, make(second_port), str(port), str(second_port), port, second_port)
    except _Nonlinear:
        return first, None
    return first, PortTemplate(shape)


def _diff(a: Any, b: Any, s0: str, s1: str, p0: int, p1: int) -> tuple[Any, ...]:
    if a is b:
        return (_SAME, a)
    kind = type(a)
    if kind is not type(b):
        raise _Nonlinear
    if kind is str:
        if a == b:
            return (_SAME, a)
        if s0 in a and a.replace(s0, s1) == b:
            return (_TEXT, tuple(a.split(s0)))
        raise _Nonlinear
    if kind is int:
        if a == b:
            return (_SAME, a)
        if (a, b) == (p0, p1):
            return (_PORT,)
        raise _Nonlinear
    if kind is tuple or kind is list:
        if len(a) != len(b):
            raise _Nonlinear
        items = [_diff(x, y, s0, s1, p0, p1) for x, y in zip(a, b, strict=True)]
        if all(i[0] == _SAME for i in items):
            return (_SAME, a)
        return (_SEQ, kind, tuple(items))
    if kind is dict:
        if list(a) != list(b):
            raise _Nonlinear
        values = [(k, _diff(a[k], b[k], s0, s1, p0, p1)) for k in a]
        if all(v[1][0] == _SAME for v in values):
            return (_SAME, a)
        return (_MAP, tuple(values))
    names = record_fields(kind)
    if names is not None:
        changed: dict[str, tuple[Any, ...]] = {}
        for name in sorted(names):
            if name == "context":  # the planning context: the caller sets each one's
                continue
            d = _diff(getattr(a, name), getattr(b, name), s0, s1, p0, p1)
            if d[0] != _SAME:
                changed[name] = d
        return (_REC, a, changed) if changed else (_SAME, a)
    if a == b:  # enums, None, booleans, floats, frozen values
        return (_SAME, a)
    raise _Nonlinear


def _fill(shape: tuple[Any, ...], text: str, port: int) -> Any:
    kind = shape[0]
    if kind == _SAME:
        return shape[1]
    if kind == _TEXT:
        return text.join(shape[1])
    if kind == _PORT:
        return port
    if kind == _SEQ:
        return shape[1](_fill(i, text, port) for i in shape[2])
    if kind == _MAP:
        return {k: _fill(v, text, port) for k, v in shape[1]}
    made: Mapping[str, Any] = {n: _fill(s, text, port) for n, s in shape[2].items()}
    return replace(shape[1], **made)
