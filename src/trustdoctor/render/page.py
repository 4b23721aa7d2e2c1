"""The web page's view of a chain report and of an explain result (pure).

The page (``trustdoctor serve``, package ``trustdoctor.web``) shows the same
sentences as the text report: this module turns the typed results into plain
data for its templates — the verdict with its sides, the chain as a picture
(each link with who presented it, the missing link as missing), one row per
client with the error it prints, and the fix plan with its commands.  Every
sentence comes from the tables the text view uses (:mod:`.words`,
:mod:`.plan_text`, :mod:`.explain_text`); the templates only lay it out and
escape it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..model.findings import Code, Severity
from .explain_text import CLASS_TITLE, LIBRARY_NAME, MAX_CAUSES_SHOWN, QUESTION, reason_text
from .words import CONFIDENCE_NOTE, NEXT, finding_text, fmt, headline, pick

if TYPE_CHECKING:
    from ..fixes.model import Plan
    from ..model.cert import CertInfo
    from ..model.diagnosis import ClientVerdict, Diagnosis, PathLink
    from ..model.explain import ExplainMatch, ExplainResult

# What each client is, for the table's first column.
CLIENT_LABEL: Mapping[str, str] = {
    "go": "Go (crypto/x509: docker, kubelet, containerd, helm…)",
    "openssl": "OpenSSL (s_client, libssl programs)",
    "curl": "curl (OpenSSL build)",
    "python": "Python (ssl, requests with the system store)",
    "requests": "Python requests (certifi)",
    "httpx": "Python httpx (certifi)",
    "node": "Node.js",
    "java": "Java (PKIX, keytool cacerts)",
    "webpki": "webpki (rustls; strict, like browsers)",
}

SIDES: Mapping[tuple[str, ...], str] = {
    ("server",): "server side",
    ("client",): "client side",
    ("server", "client"): "server and client side",
    ("network",): "network",
}

# The page's words for the checks that settle an uncertain cause (the text
# view's SETTLE names command-line flags; the page names its fields).
SETTLE_PAGE: Mapping[str, str] = {
    "fetch-aia": "fetch the issuer from the AIA URL ({aia}): trustdoctor chain --fetch, "
    "or trustdoctor bundle, where outbound connections are allowed",
    "supply-root": "paste the root you expect under “Root you expect” and run again",
    "ask-server-for-chain": "ask the server operator which chain the server is configured with",
}

# Who put each link of the path there.
ORIGIN_TEXT: Mapping[str, str] = {
    "presented": "sent by the server (in the chain you pasted)",
    "supplied": "supplied as an extra intermediate",
    "anchor": "trusted: in the client's anchors ({source})",
    "fetched": "fetched through AIA",
    "absent": "missing: not sent by the server, not among the client's anchors",
}


def _cn(c: CertInfo) -> str:
    return c.common_name or c.organization or c.subject or "(no subject)"


def _cn_of(subject: str) -> str:
    """The CN of an RFC 4514 subject (the whole subject when it has none)."""
    for part in subject.split(","):
        if part.startswith("CN="):
            return part[3:].replace("\\", "")
    return subject


def _cert(c: CertInfo) -> dict[str, Any]:
    return {
        "name": _cn(c),
        "subject": c.subject,
        "issuer": c.issuer,
        "sha256": c.sha256,
        "short_fp": c.short_fp,
        "not_before": f"{c.not_before:%Y-%m-%d}",
        "not_after": f"{c.not_after:%Y-%m-%d}",
        "self_signed": c.self_issued,
        "names": list(c.dns_names) + list(c.ip_addresses),
    }


def _best(diag: Diagnosis) -> ClientVerdict | None:
    first = diag.clients[0] if diag.clients else None
    return next((c for c in diag.clients if not c.trusted), first)


def _missing_issuer(v: ClientVerdict) -> str | None:
    for f in v.findings:
        issuer = f.params.get("issuer")
        if isinstance(issuer, str):
            return issuer
    return None


def _link(diag: Diagnosis, v: ClientVerdict, link: PathLink, last: bool) -> dict[str, Any]:
    if link.role == "missing":
        issuer = _missing_issuer(v)
        root = v.cause in (Code.UNTRUSTED_ROOT, Code.OUTDATED_STORE)
        return {
            "missing": True,
            "role": "root" if root else "intermediate",
            "name": _cn_of(issuer) if issuer else "the issuer",
            "subject": issuer or "",
            "origin": "absent",
            "who": ORIGIN_TEXT["absent"],
        }
    c = diag.certificates.get(link.sha256)
    out: dict[str, Any] = {"missing": False, "origin": link.origin, **(_cert(c) if c else {})}
    role = link.role
    if link.origin == "anchor":
        role = "root" if c is not None and c.self_issued else "anchor"
    elif last and c is not None and c.self_issued and role != "leaf":
        role = "root"
    out["role"] = role
    who = ORIGIN_TEXT.get(link.origin, link.origin)
    if link.origin == "anchor":
        prov = diag.anchor_provenance.get(link.sha256)
        source = prov.label() if prov is not None else (v.anchor_source or "the trust store")
        who = fmt(who, {"source": source})
    elif role == "root" and not v.trusted:
        who += "; self-signed, and not among the client's anchors"
    out["who"] = who
    return out


def chain_picture(diag: Diagnosis) -> dict[str, Any]:
    """The path of the first refusing client (else the first client), leaf
    first, ending in the anchor or the missing link; then what the server
    sent that is not on the path."""
    v = _best(diag)
    links: list[dict[str, Any]] = []
    on_path: set[str] = set()
    if v is not None:
        for i, link in enumerate(v.path):
            links.append(_link(diag, v, link, i == len(v.path) - 1))
            on_path.add(link.sha256)
    extras = []
    seen: set[str] = set()
    for p in diag.presented:
        fp = p.cert.sha256
        if fp in on_path or fp in seen:
            continue
        seen.add(fp)
        extras.append({**_cert(p.cert), "where": p.provenance.label()})
    return {
        "client": v.client if v is not None else None,
        "links": links,
        "extras": extras,
        "presented": len(diag.presented),
    }


def _client_row(v: ClientVerdict) -> dict[str, Any]:
    params = dict(v.findings[0].params) if v.findings else {}
    return {
        "client": v.client,
        "version": v.version or "",
        "label": CLIENT_LABEL.get(v.client, v.client),
        "trusted": v.trusted,
        "cause": "trusted" if v.trusted else v.cause.value,
        "side": v.side.value,
        "why": "" if v.trusted else headline(v.cause.value, params),
        "error": v.client_error or "",
        "anchors": v.anchor_count,
        "also": [
            f"{f.code.value}: {finding_text(f.code.value, f.params)}" for f in v.findings[1:4]
        ],
    }


def plan_view(plan: Plan | None, doc: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The fix plan: each step's reason and its commands (copyable), from the
    plan's JSON document (the very ``commands`` ``fix`` prints)."""
    if plan is None or doc is None:
        return None
    steps = []
    for s in doc.get("steps", []):
        lines = [str(c) for c in s.get("commands", [])]
        steps.append(
            {
                "why": s.get("why", ""),
                "platform": s.get("platform", ""),
                "needs_root": bool(s.get("needs_root")),
                "alternative": bool(s.get("alternative")),
                "commands": "\n".join(lines),
            }
        )
    return {
        "cause": plan.cause.value,
        "side": plan.side.value,
        "platform": plan.platform,
        "clients": list(plan.clients),
        "steps": steps,
        "notes": [str(n.get("text", "")) for n in doc.get("notes", [])],
    }


def chain_view(
    diag: Diagnosis, plan: Plan | None, plan_doc: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Everything the page shows for a judged chain."""
    v = diag.verdict
    refusing = [c for c in diag.clients if not c.trusted]
    out: dict[str, Any] = {
        "trusted": v.trusted,
        "cause": v.cause.value,
        "sides": [s.value for s in v.sides],
        "host": diag.host,
        "at": f"{diag.at:%Y-%m-%d %H:%M} UTC",
        "trusting": list(v.clients_trusting),
        "refusing": list(v.clients_refusing),
    }
    if v.trusted:
        out.update(side_label="", headline="trusted by " + ", ".join(v.clients_trusting), also=[])
        out.update(confidence="", alternatives=[], settle=[], next=NEXT[Code.OK])
    else:
        first = refusing[0]
        params = dict(first.findings[0].params) if first.findings else {}
        sides = tuple(s.value for s in v.sides) or (first.side.value,)
        out["side_label"] = SIDES.get(sides, " and ".join(sides) + " side")
        out["confidence"] = CONFIDENCE_NOTE.get(first.confidence.value, "")
        out["headline"] = headline(first.cause.value, params)
        out["also"] = [
            headline(f.code.value, f.params)
            for f in first.findings[1:]
            if f.severity == Severity.ERROR and f.code != first.cause and f.side != first.side
        ]
        out["alternatives"] = [a.value for a in first.alternatives]
        out["settle"] = [fmt(SETTLE_PAGE.get(s, s), params) for s in first.settle]
        fallback = "see docs/causes.md#" + first.cause.value
        out["next"] = fmt(pick(NEXT.get(first.cause.value, fallback), params), params)
    out["chain"] = chain_picture(diag)
    out["clients"] = [_client_row(c) for c in diag.clients]
    out["findings"] = [
        {
            "code": f.code.value,
            "severity": f.severity.value,
            "text": finding_text(f.code.value, f.params),
        }
        for f in diag.findings
        if f.code != Code.CLIENT_DISAGREEMENT
    ]
    out["plan"] = plan_view(plan, plan_doc)
    return out


def _endpoint(m: ExplainMatch) -> str | None:
    if not m.host:
        return None
    if m.port is None:
        return m.host
    return f"[{m.host}]:{m.port}" if ":" in m.host else f"{m.host}:{m.port}"


def explain_view(result: ExplainResult) -> dict[str, Any]:
    """Everything the page shows for a pasted error line or log excerpt."""
    matches: list[dict[str, Any]] = []
    for m in result.matches:
        lib = LIBRARY_NAME.get(m.library, m.library)
        matches.append(
            {
                "line": m.line,
                "count": m.count,
                "text": m.text,
                "stack": lib if m.stack == m.library else f"{m.stack} ({lib})",
                "error_class": m.error_class,
                "title": CLASS_TITLE.get(m.error_class, ""),
                "endpoint": _endpoint(m),
                "host": m.host,
                "port": m.port,
                "authority": m.authority,
                "hint": m.hint,
                "narrows": m.narrows,
                "causes": [
                    {"code": c.code.value, "why": reason_text(m, c.reason)}
                    for c in m.causes[:MAX_CAUSES_SHOWN]
                ],
                "more_causes": max(0, len(m.causes) - MAX_CAUSES_SHOWN),
                "questions": [QUESTION.get(q, q) for q in m.questions],
                "next": m.next.command,
                "next_runnable": m.next.runnable,
                "client": m.client,
            }
        )
    return {
        "recognised": result.recognised,
        "lines": result.lines,
        "matches": matches,
        "dropped": result.dropped,
        "unrecognised": result.unrecognised_count,
        "samples": [{"line": u.line, "text": u.text} for u in result.unrecognised[:5]],
    }
