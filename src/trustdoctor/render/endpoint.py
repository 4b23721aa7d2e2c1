"""Views of an endpoint diagnosis (pure): the verdict, the connection, the chain.

Text: the verdict line first (what a person acts on), then the connection
(address, TLS version, cipher, what was presented), then the chain diagnosis
of :func:`~trustdoctor.render.text.render_diagnosis`.  A connection problem
is one line.  JSON: the chain schema plus ``target``, ``tls`` and
``addresses`` (docs/diagnose.md, "JSON").
"""

from __future__ import annotations

from collections.abc import Mapping

from ..model.causes import CODE_SIDE
from ..model.findings import Code, Side
from ..model.record import replace
from . import doc as d
from .doc import Doc, Span
from .text import render_diagnosis
from .words import fmt, interception_evidence

TYPE_CHECKING = False  # typing's constant, without importing typing (model/record.py)
if TYPE_CHECKING:
    from typing import Any

    from ..api.endpoint import AddressResult, EndpointReport
    from ..model.diagnosis import Diagnosis
    from ..model.findings import Finding
    from ..sources.network import FetchResult

# One phrase per connection result code (docs/diagnose-targets.md,
# "Connection result codes"); the ConnectError message follows it.
ERROR_HEADLINE: Mapping[str, str] = {
    "unreachable": "could not connect",
    "timeout": "timed out",
    "not-tls": "the port does not speak TLS",
    "handshake-failed": "the TLS handshake failed",
    "starttls-refused": "the server refused to start TLS",
    "proxy-failed": "the HTTP proxy did not open a tunnel",
}

# Findings this view renders itself (render_diagnosis has no words for them).
_OWN = frozenset({Code.DIFFERENT_CHAINS})


def error_side(code: str) -> Side:
    """The side of a connection result code (``network`` when unknown)."""
    try:
        return CODE_SIDE.get(Code(code), Side.NETWORK)
    except ValueError:
        return Side.NETWORK


def _tls_text(f: FetchResult) -> str:
    bits = [x for x in (f.tls_version, f.cipher, f"ALPN {f.alpn}" if f.alpn else None) if x]
    via = f" via proxy {f.proxy_used}" if f.proxy_used else ""
    shown = f"{len(f.chain)} certificate(s) presented"
    if f.presented_count > len(f.chain):
        shown = f"{f.presented_count} certificate(s) presented, {len(f.chain)} kept"
    return f"{f.address}{via}: {', '.join(bits) or 'TLS'}; {shown}"


def _error_line(e: EndpointReport) -> Doc:
    doc = Doc()
    err = e.error
    code = err.code if err is not None else "handshake-failed"
    side = error_side(code)
    message = err.message if err is not None else "no certificate presented"
    doc.line(
        Span(f"✗ COULD NOT DIAGNOSE {e.target.display} ({side.value} side)", d.BAD),
        ": ",
        Span(ERROR_HEADLINE.get(code, code), d.BOLD),
        f" — {message}",
    )
    # With --all-addresses, every other address that failed (one line each).
    for r in e.results:
        if r.error is not None and r.error is not err:
            doc.line(Span(f"  {r.address}: {r.error.code}: {r.error.message}", d.DIM))
    return doc


def _intercept_finding(diag: Diagnosis) -> Finding | None:
    for c in diag.clients:
        for f in c.findings:
            if f.code == Code.INTERCEPTED:
                return f
    return next((f for f in diag.findings if f.code == Code.INTERCEPTED), None)


def _strs(value: object) -> list[str]:
    return [str(x) for x in value] if isinstance(value, list | tuple) else []


def _verdict_of(diag: Diagnosis) -> str:
    v = diag.verdict
    if v.trusted:
        return "trusted"
    return f"not trusted: {v.cause.value}"


def _connection(doc: Doc, e: EndpointReport, diag: Diagnosis) -> None:
    doc.line(Span("Connection", d.HEAD), Span(f"  {e.target.display}", d.DIM))
    src = e.target.name_source
    if src is not None:
        doc.line(
            Span(f"  name sent and checked: {e.target.servername}", d.DIM),
            Span(
                f" (tls-server-name of cluster {src.cluster!r} in {src.file}: "
                "what kubectl sends, and checks the certificate against)",
                d.DIM,
            ),
        )
    judged = dict(e.judged)
    several = len(e.results) > 1
    for r in e.results:
        if r.fetch is not None:
            f = r.fetch
            mark = ""
            if several and r.address in judged:
                shown = " (shown below)" if judged[r.address] is diag else ""
                mark = f" — {_verdict_of(judged[r.address])}{shown}"
            doc.line(f"  {_tls_text(f)}", Span(mark, d.DIM))
            if f.handshake_error:
                doc.line(Span(f"    handshake ended early: {f.handshake_error}", d.DIM))
            for note in f.notes:
                doc.line(Span(f"    note: {note}", d.DIM))
        elif r.error is not None:
            doc.line(
                Span(f"  {r.address}: ", d.DIM),
                Span(f"{r.error.code}", d.WARN),
                Span(f": {r.error.message}", d.DIM),
            )
    diff = next((f for f in diag.findings if f.code == Code.DIFFERENT_CHAINS), None)
    if diff is not None:
        doc.line(
            Span("  ! different-chains", d.WARN),
            ": the addresses of this name serve different chains — "
            "clients succeed or fail depending on the node they reach",
        )
        for text in _strs(diff.params.get("chains")):
            doc.line(Span(f"      {text}", d.DIM))
    icpt = _intercept_finding(diag)
    if icpt is not None:
        product = icpt.params.get("product")
        doc.line(
            Span("  ! intercepted", d.WARN),
            fmt(": the chain was issued by {issuer!q}", icpt.params),
            f" ({product})" if product else "",
        )
        evidence = icpt.params.get("evidence")
        for ev in evidence if isinstance(evidence, list | tuple) else ():
            doc.line(Span(f"      evidence: {interception_evidence(ev)}", d.DIM))


def render_endpoint(e: EndpointReport) -> Doc:
    """Verdict first, then the connection, then the chain, clients and next step."""
    if e.diagnosis is None:
        # One line (docs/diagnose.md); the checks that narrow it down are in
        # the JSON "plan" and in `trustdoctor fix --for`.
        return _error_line(e)
    diag = e.diagnosis
    shown = replace(diag, findings=tuple(f for f in diag.findings if f.code not in _OWN))
    inner = render_diagnosis(shown, target=e.target.display, plan=e.plan)
    lines = inner.lines
    # The verdict block: its first line and the dim lines right under it.
    head = 1
    while head < len(lines) and lines[head]:
        head += 1
    doc = Doc()
    doc.lines.extend(lines[:head])
    doc.blank()
    _connection(doc, e, diag)
    doc.lines.extend(lines[head:])
    return doc


def _address_item(r: AddressResult, judged: Mapping[str, Diagnosis]) -> dict[str, Any]:
    item: dict[str, Any] = {"address": r.address}
    if r.fetch is not None:
        f = r.fetch
        item.update(
            tls={"version": f.tls_version, "cipher": f.cipher, "alpn": f.alpn},
            presented=[p.cert.sha256 for p in f.chain],
            presented_count=f.presented_count,
            client_cert_requested=f.client_cert_requested,
            handshake_error=f.handshake_error,
            proxy=f.proxy_used,
            elapsed_ms=round(f.elapsed_ms, 1),
            notes=list(f.notes),
        )
        diag = judged.get(r.address)
        if diag is not None:
            v = diag.verdict
            item["verdict"] = {"trusted": v.trusted, "cause": v.cause.value, "side": v.side.value}
    if r.error is not None:
        item["error"] = {
            "code": r.error.code,
            "side": error_side(r.error.code).value,
            "message": r.error.message,
        }
    return item


def endpoint_extra(e: EndpointReport, *, plan: dict[str, Any] | None = None) -> dict[str, Any]:
    """What an endpoint adds to its diagnosis' document: ``target``, ``tls``,
    ``addresses`` and ``plan`` (``plan``: the plan's document when already
    rendered, e.g. the same plan for many targets of a scan)."""
    t = e.target
    judged_fetch = next(
        (r.fetch for r in e.results if r.fetch is not None and r.address == e.address),
        next((r.fetch for r in e.results if r.fetch is not None), None),
    )
    target = {
        "host": t.host,
        "port": t.port,
        "scheme": t.scheme,
        "servername": t.servername,
        "servername_from": (
            {"kind": src.kind, "file": src.file, "cluster": src.cluster}
            if (src := t.name_source) is not None
            else None
        ),
        "sni": t.sni,
        "starttls": t.starttls,
        "connect": t.connect_hostport,
        "address": judged_fetch.address if judged_fetch is not None else None,
        "display": t.display,
    }
    judged = dict(e.judged)
    addresses = [_address_item(r, judged) for r in e.results]
    tls = (
        {
            "version": judged_fetch.tls_version,
            "cipher": judged_fetch.cipher,
            "alpn": judged_fetch.alpn,
        }
        if judged_fetch is not None
        else None
    )
    out: dict[str, Any] = {"target": target, "tls": tls, "addresses": addresses}
    if plan is not None:
        out["plan"] = plan
    elif e.plan is not None:
        from .plan_json import plan_to_dict

        out["plan"] = plan_to_dict(e.plan)
    return out


def endpoint_to_dict(
    e: EndpointReport,
    *,
    shared: dict[str, Any] | None = None,
    plan: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The JSON document of ``diagnose`` (schema: data/diagnosis.schema.json).

    ``shared``: ``diagnosis_to_dict(d, kind="diagnose")`` of a diagnosis that
    differs from ``e.diagnosis`` only by its ``presented`` provenance (a scan
    renders each judged chain once); only ``presented_chain`` is made anew,
    the rest of the document shares ``shared``'s values.  ``plan``: see
    :func:`endpoint_extra`.
    """
    # (Imported here: the text report does not need the JSON renderer.)
    from .json import SCHEMA_VERSION, diagnosis_to_dict, presented_to_list

    extra = endpoint_extra(e, plan=plan)
    if e.diagnosis is None:
        code = e.error.code if e.error else "handshake-failed"
        message = e.error.message if e.error else None
        side = error_side(code)
        return {
            "schema_version": SCHEMA_VERSION,
            "kind": "diagnose",
            "verdict": {
                "trusted": False,
                "cause": code,
                "side": side.value,
                "confidence": "high",
                "clients_trusting": [],
                "clients_refusing": [],
                "params": {"message": message},
            },
            "target": extra["target"],
            "tls": extra["tls"],
            "addresses": extra["addresses"],
            "error": {"code": code, "side": side.value, "message": message},
            **({"plan": extra["plan"]} if "plan" in extra else {}),
        }
    if shared is not None:
        out = dict(shared)
        out["presented_chain"] = presented_to_list(e.diagnosis.presented)
        out.update(extra)
        return out
    return diagnosis_to_dict(e.diagnosis, kind="diagnose", extra=extra)
