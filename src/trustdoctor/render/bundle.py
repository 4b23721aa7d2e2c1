# ruff: noqa: E501  (English templates read best on one line, as in words.py)
"""Text and JSON views of a bundle (``trustdoctor bundle``), pure.

The reason codes are :data:`trustdoctor.engine.bundle.REASONS`; their English lives
here (:data:`REASON_TEXT`), filled from each reason's params.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..model.findings import Code, Severity
from . import doc as d
from .doc import Doc, Span
from .json import SCHEMA_VERSION, cert_to_dict
from .words import _short, finding_text, fmt, headline

if TYPE_CHECKING:
    from ..api.bundle import BundleResult
    from ..engine.bundle import BundlePlan, ChainCert
    from ..model.cert import CertInfo

REASON_TEXT: Mapping[str, str] = {
    "path-found": "it reaches an anchor of every selected client ({anchors})",
    "only-path": "no other chain reaches the clients' anchors",
    "rejected-expired": "not {alternative}: it contains {subject!q}, expired {not_after}",
    "rejected-untrusted": "not {alternative}: refused by {refused_by} ({cause})",
    "rejected-longer": "not {alternative}: longer ({length} intermediates instead of {chosen_length})",
    "rejected-weaker": "not {alternative}: weaker ({subject!q}: {detail})",
    "rejected-shorter-lived": "not {alternative}: {subject!q} expires sooner ({not_after})",
    "rejected-more-changes": "not {alternative}: needs {changes} certificate(s) the server does not send today",
    "rejected-equivalent": "not {alternative}: just as good; the choice is stable but arbitrary",
    "root-omitted": "the root {root!q} is left out: clients use their own copy (--include-root adds it)",
    "root-included": "the root {root!q} is appended (--include-root)",
    "root-not-self-signed": "--include-root: the chain ends at {top!q}, which is not a self-signed root; nothing appended",
    "roots-differ": "the clients reach it through different anchors: {roots}",
    "no-path": "{clients}: no chain reaches their anchors — {cause} (missing {issuer!q})",
    "refused": "{clients}: refuse the best chain found — {cause} ({subject!q})",
}


def reason_text(code: str, params: Mapping[str, object]) -> str:
    values = dict(params)
    alt = values.get("alternative")
    if isinstance(alt, list):
        values["alternative"] = (
            "'" + " > ".join(_short(x) for x in alt) + "'" if alt else "the leaf alone"
        )
    return fmt(REASON_TEXT.get(code, code), values)


def _role(i: int, c: ChainCert) -> str:
    if i == 0:
        return "leaf"
    return "root" if c.origin == "anchor" else "inter"


def _where(c: ChainCert) -> str:
    if c.origin == "fetched":
        return f"fetched from {c.source}"
    if c.origin == "presented":
        return f"sent by the server ({c.source})" if c.source else "sent by the server"
    if c.origin == "supplied":
        return f"from {c.source}"
    if c.origin == "anchor":
        return f"root, from {c.source}" if c.source else "root"
    return c.source or c.origin


def render_bundle(result: BundleResult) -> Doc:
    plan, keys, written = result.plan, result.keys, result.written
    doc = Doc()
    src = result.served.source
    addr = result.served.address
    if addr and not src.endswith("://" + addr):
        src += f" ({addr})"
    if result.ok:
        names = ", ".join(r.client for r in plan.clients)
        doc.line(Span("✓ BUNDLE", d.OK), f" trusted by {names} — {src}")
    elif plan.ok and keys is not None:
        doc.line(
            Span("✗ NO BUNDLE", d.BAD),
            ": ",
            Span(f"the key {keys.name} does not match the leaf", d.BOLD),
            f" — {src}",
        )
    else:
        doc.line(
            Span("✗ NO BUNDLE", d.BAD),
            ": ",
            Span("no chain is trusted by every selected client", d.BOLD),
            f" — {src}",
        )
    doc.blank()
    doc.line(Span("Chain to serve" if plan.ok else "Best chain found (not written)", d.HEAD))
    for i, c in enumerate(plan.chain):
        doc.line(f"  {i}  {_role(i, c):<6}", Span(c.cert.subject, d.BOLD))
        doc.line(
            Span(
                f"            sha256 {c.cert.sha256[:16]}  until {c.cert.not_after:%Y-%m-%d}"
                f"  {_where(c)}",
                d.DIM,
            )
        )
    doc.blank()
    doc.line(Span("Why this chain", d.HEAD))
    for r in plan.reasons:
        doc.line(f"  - {reason_text(r.code, r.params)}")
    doc.blank()
    _diff(doc, plan)
    doc.blank()
    _today(doc, result)
    doc.blank()
    doc.line(Span("Clients", d.HEAD))
    width = max((len(r.client) for r in plan.clients), default=6)
    for cr in plan.clients:
        if cr.trusted:
            anchor = f"anchor {cr.anchor.subject}" if cr.anchor else ""
            doc.line(f"  {cr.client:<{width}}  ", Span("✓", d.OK), Span(f" {anchor}", d.DIM))
        else:
            doc.line(
                f"  {cr.client:<{width}}  ",
                Span("✗", d.BAD),
                f" {cr.cause.value}: ",
                headline(cr.cause.value, cr.params),
            )
    if keys is not None:
        doc.blank()
        leaf = plan.chain[0].cert
        if keys.matches(leaf):
            doc.line(
                Span("Key: ", d.BOLD),
                Span("✓", d.OK),
                f" {keys.name} matches the leaf ({keys.kind_for(leaf)})",
            )
        else:
            doc.line(
                Span("Key: ", d.BOLD),
                Span("✗", d.BAD),
                f" {keys.name} does not match the leaf {_short(leaf.subject)!r}",
            )
    doc.blank()
    if written:
        n = len(plan.chain)
        doc.line(Span("Wrote ", d.BOLD), f"{written} ({n} certificate{'s' * (n != 1)}, mode 0644)")
    elif result.ok:
        doc.line(
            Span("Next: ", d.BOLD),
            "write it with --out fullchain.pem (or --format pem > fullchain.pem) and point the "
            "server at it (nginx ssl_certificate, Apache SSLCertificateFile, HAProxy crt)",
        )
    elif plan.ok:
        doc.line(
            Span("Next: ", d.BOLD),
            "give the private key of this leaf with --key (the server's key must match its "
            "certificate); nothing was written",
        )
    else:
        doc.line(Span("Next: ", d.BOLD), "see why above; nothing was written")
    return doc


def _diff(doc: Doc, plan: BundlePlan) -> None:
    diff = plan.diff
    doc.line(Span("Compared with what the server presents today", d.HEAD))
    if not plan.ok and diff.unchanged:
        doc.line("  (no working chain to compare with)")
        return
    if diff.unchanged:
        doc.line("  = unchanged: the server already presents exactly this chain")
        return
    for c in diff.missing:
        doc.line(
            Span("  + add ", d.OK),
            f"'{_short(c.cert.subject)}' ",
            Span(f"({_where(c)}, sha256 {c.cert.sha256[:16]})", d.DIM),
        )
    for cert in diff.extra:
        if plan.root is not None and cert.sha256 == plan.root.sha256:
            why = "the root: clients have their own copy"
        elif cert.self_issued:
            why = "a self-signed certificate not on the chain"
        else:
            why = "not on the chain"
        doc.line(Span("  - remove ", d.BAD), f"'{_short(cert.subject)}' ", Span(f"({why})", d.DIM))
    for cert in diff.duplicates:
        doc.line(Span("  - remove ", d.BAD), f"the duplicate of '{_short(cert.subject)}'")
    if diff.reordered:
        doc.line(Span("  ~ reorder: ", d.WARN), "leaf first, then each issuer in turn")


def _today(doc: Doc, result: BundleResult) -> None:
    t = result.today
    v = t.verdict
    if v.trusted:
        doc.line(Span("Today", d.HEAD), f": trusted by {', '.join(v.clients_trusting)}")
    else:
        refusing = [c for c in t.clients if not c.trusted]
        first = refusing[0]
        params = dict(first.findings[0].params) if first.findings else {}
        conf = "" if first.confidence.value == "high" else f", {first.confidence.value} confidence"
        if first.findings and first.findings[0].params.get("confirmed_by") == "aia":
            conf += ", confirmed by fetching the issuer"
        doc.line(
            Span("Today", d.HEAD),
            f": not trusted by {', '.join(v.clients_refusing)} ({first.cause.value}, "
            f"{first.side.value} side{conf})",
        )
        doc.line(f"  {headline(first.cause.value, params)}")
    for f in t.findings:
        if f.code == Code.CLIENT_DISAGREEMENT:
            continue
        mark = "!" if f.severity != Severity.INFO else "i"
        doc.line(
            Span(f"  {mark} {f.code.value}: ", d.WARN if mark == "!" else d.DIM),
            finding_text(f.code.value, f.params),
        )


# -- JSON -------------------------------------------------------------------------------


def _chain_cert(i: int, c: ChainCert) -> dict[str, Any]:
    return {
        "sha256": c.cert.sha256,
        "subject": c.cert.subject,
        "issuer": c.cert.issuer,
        "not_after": c.cert.not_after.isoformat(),
        "role": _role(i, c).replace("inter", "intermediate"),
        "origin": c.origin,
        "source": c.source,
    }


def _ref(c: CertInfo) -> dict[str, Any]:
    return {"sha256": c.sha256, "subject": c.subject}


def bundle_to_dict(result: BundleResult) -> dict[str, Any]:
    """The versioned JSON document of ``bundle`` (schema: data/bundle.schema.json)."""
    from .json import diagnosis_to_dict

    plan, keys, written = result.plan, result.keys, result.written
    comp = result.completion
    leaf = plan.chain[0].cert
    out: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "kind": "bundle",
        "ok": result.ok,
        "chain_trusted": plan.ok,
        "source": {
            "kind": result.served.kind,
            "source": result.served.source,
            "address": result.served.address,
        },
        "chain": [_chain_cert(i, c) for i, c in enumerate(plan.chain)],
        "pem": plan.pem,
        "root": _ref(plan.root) if plan.root is not None else None,
        "root_included": plan.root_included,
        "clients": [
            {
                "client": r.client,
                "trusted": r.trusted,
                "cause": r.cause.value,
                "anchor": _ref(r.anchor) if r.anchor is not None else None,
                "params": dict(r.params),
            }
            for r in plan.clients
        ],
        "reasons": [{"code": r.code, "params": dict(r.params)} for r in plan.reasons],
        "diff": {
            "unchanged": plan.diff.unchanged,
            "missing": [
                {
                    "sha256": c.cert.sha256,
                    "subject": c.cert.subject,
                    "origin": c.origin,
                    "source": c.source,
                }
                for c in plan.diff.missing
            ],
            "extra": [_ref(c) for c in plan.diff.extra],
            "duplicates": [_ref(c) for c in plan.diff.duplicates],
            "reordered": plan.diff.reordered,
        },
        "considered": plan.considered,
        "aia": None
        if comp is None
        else {
            "stopped": comp.stopped,
            "detail": comp.detail,
            "fetched": [
                {"sha256": f.cert.sha256, "subject": f.cert.subject, "url": f.url}
                for f in comp.fetched
            ],
            "attempts": [
                {
                    "url": a.url,
                    "ok": a.ok,
                    "from_cache": a.from_cache,
                    "elapsed_ms": a.elapsed_ms,
                    "rejected": [{"reason": r, "detail": dt} for r, dt in a.rejected],
                }
                for a in comp.attempts
            ],
        },
        "key": None
        if keys is None
        else {"file": keys.name, "matches": keys.matches(leaf), "type": keys.kind_for(leaf)},
        "written": written,
        "today": diagnosis_to_dict(result.today, kind="chain"),
        "certificates": {c.cert.sha256: cert_to_dict(c.cert) for c in plan.chain},
    }
    return out
