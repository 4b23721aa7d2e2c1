"""Text view of a :class:`Diagnosis` for people (pure)."""

from __future__ import annotations

from ..model.cert import CertInfo
from ..model.diagnosis import ClientVerdict, Diagnosis
from ..model.findings import Code, Severity
from . import doc as d
from .doc import Doc, Span
from .words import (
    CONFIDENCE_NOTE,
    NEXT,
    SETTLE,
    fetched_lines,
    finding_text,
    fmt,
    headline,
    pick,
    safe,
)

TYPE_CHECKING = False  # typing's constant, without importing typing (model/record.py)
if TYPE_CHECKING:
    from ..fixes.model import Plan


def _date(c: CertInfo) -> str:
    return f"{c.not_before:%Y-%m-%d} → {c.not_after:%Y-%m-%d}"


def render_diagnosis(
    diag: Diagnosis, *, target: str | None = None, plan: Plan | None = None
) -> Doc:
    """The diagnosis for people; with ``plan``, its first step as "Next" and
    the whole plan as a "Fix" section."""
    doc = Doc()
    v = diag.verdict
    refusing = [c for c in diag.clients if not c.trusted]
    if v.trusted:
        names = ", ".join(v.clients_trusting)
        doc.line(Span("✓ TRUSTED", d.OK), f" by {names}" + (f" — {target}" if target else ""))
    else:
        first = refusing[0]
        params = dict(first.findings[0].params) if first.findings else {}
        note = CONFIDENCE_NOTE.get(first.confidence.value, "")
        sides = " and ".join(s.value for s in v.sides) if len(v.sides) > 1 else first.side.value
        lead = f"✗ NOT TRUSTED ({sides} side{', ' + note if note else ''})"
        doc.line(Span(lead, d.BAD), ": ", Span(headline(first.cause.value, params), d.BOLD))
        # Both sides must act: name what the other side must do too.
        for f in first.findings[1:]:
            if f.severity == Severity.ERROR and f.code != first.cause and f.side != first.side:
                doc.line(Span("  and: ", d.BOLD), headline(f.code.value, f.params))
        if len({c.cause for c in refusing}) > 1 or v.clients_trusting:
            who = "; ".join(f"{c.client}: {c.cause.value}" for c in refusing)
            trust = f"; trusted by {', '.join(v.clients_trusting)}" if v.clients_trusting else ""
            doc.line(Span(f"  refused by {who}{trust}", d.DIM))
        if first.alternatives:
            alts = ", ".join(a.value for a in first.alternatives)
            doc.line(Span(f"  other explanation(s) consistent with the evidence: {alts}", d.DIM))
        for s in first.settle:
            doc.line(Span("  to settle it: " + fmt(SETTLE.get(s, s), params), d.DIM))
        # Issuers fetched through AIA (issue 7): name the exact certificates.
        said: set[str] = set()
        for f in first.findings:
            for text in fetched_lines(f.params):
                if text not in said:
                    said.add(text)
                    doc.line(Span("  " + text, d.BOLD))
    doc.blank()
    _chain(doc, diag)
    doc.blank()
    _clients(doc, diag.clients)
    others = [f for f in diag.findings if f.code != Code.CLIENT_DISAGREEMENT]
    if others:
        doc.blank()
        doc.line(Span("Other findings", d.HEAD))
        for f in others:
            mark = "!" if f.severity != Severity.INFO else "i"
            style = d.WARN if f.severity != Severity.INFO else d.DIM
            doc.line(
                Span(f"  {mark} ", style),
                Span(f.code.value, style),
                ": ",
                finding_text(f.code.value, f.params),
            )
    doc.blank()
    if refusing and plan is not None and plan.steps:
        from .plan_text import next_step, render_fix_section

        doc.line(Span("Next: ", d.BOLD), next_step(plan))
        doc.blank()
        doc.lines.extend(render_fix_section(plan).lines)
    elif refusing:
        first = refusing[0]
        params = dict(first.findings[0].params) if first.findings else {}
        step = NEXT.get(first.cause.value, f"see docs/causes.md#{first.cause.value}")
        doc.line(Span("Next: ", d.BOLD), fmt(pick(step, params), params))
    else:
        doc.line(Span("Next: ", d.BOLD), "nothing to do")
    return doc


def _chain(doc: Doc, diag: Diagnosis) -> None:
    doc.line(
        Span("Chain", d.HEAD),
        Span(
            f"  (judged at {diag.at:%Y-%m-%d %H:%M} UTC"
            + (f", for {diag.host}" if diag.host else ", no host name check")
            + ")",
            d.DIM,
        ),
    )
    best = next(
        (c for c in diag.clients if not c.trusted), diag.clients[0] if diag.clients else None
    )
    path_fps = [link.sha256 for link in best.path] if best else []
    presented_fps = [p.cert.sha256 for p in diag.presented]
    shown: set[str] = set()
    for i, p in enumerate(diag.presented):
        c = p.cert
        role = "leaf" if c.sha256 == diag.leaf.sha256 else ("root" if c.self_issued else "inter")
        tag = "" if c.sha256 in path_fps or role == "leaf" else " (not on the path)"
        if c.sha256 in shown:
            tag = " (duplicate)"
        shown.add(c.sha256)
        doc.line(
            f"  {i}  {role:<7}", Span(safe(c.subject), d.BOLD), Span(f"  ← {safe(c.issuer)}", d.DIM)
        )
        where = safe(p.provenance.label())
        doc.line(Span(f"             sha256 {c.short_fp}  {_date(c)}  from {where}{tag}", d.DIM))
    for link in best.path if best else ():
        if link.role == "missing":
            issuer = next(
                (
                    f.params["issuer"]
                    for f in (best.findings if best else ())
                    if "issuer" in f.params
                ),
                None,
            )
            doc.line(
                "  ?  ",
                Span("missing", d.BAD),
                "  ",
                Span(safe(issuer or "issuer"), d.BOLD),
                Span("  — not presented, not in this client's store", d.DIM),
            )
        elif link.sha256 not in presented_fps and link.sha256 in diag.certificates:
            c = diag.certificates[link.sha256]
            prov = diag.anchor_provenance.get(link.sha256) or next(
                (p.provenance for p in diag.supplied if p.cert.sha256 == link.sha256), None
            )
            where = prov.label() if prov else link.origin
            role = "inter" if link.role == "intermediate" else link.role
            doc.line(
                f"  +  {role:<7}",
                Span(safe(c.subject), d.BOLD),
                Span(f"  ({link.origin}: {where})", d.DIM),
            )


def _clients(doc: Doc, clients: tuple[ClientVerdict, ...]) -> None:
    models = ", ".join(f"{c.client} {c.version}" for c in clients if c.version)
    doc.line(Span("Clients", d.HEAD), Span(f"  (models: {models})" if models else "", d.DIM))
    width = max((len(c.client) for c in clients), default=6)
    for c in clients:
        mark = Span("✓", d.OK) if c.trusted else Span("✗", d.BAD)
        cause = "trusted" if c.trusted else c.cause.value
        extra = ""
        if c.trusted and c.anchor_source:
            extra = f"anchor from {c.anchor_source}"
        elif c.client_error:
            extra = safe(c.client_error)
        count = f" [{c.anchor_count} anchors]" if c.anchor_count is not None else ""
        doc.line(
            f"  {c.client:<{width}}  ",
            mark,
            f" {cause:<22}",
            Span(extra, d.DIM),
            Span(count, d.DIM),
        )
        for f in c.findings[1:4]:
            doc.line(
                Span(
                    f"  {'':<{width}}     also: {f.code.value}: "
                    + finding_text(f.code.value, f.params),
                    d.DIM,
                )
            )
