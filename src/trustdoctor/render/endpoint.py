"""Views of an endpoint diagnosis (pure): the target line, then the chain diagnosis."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..model.findings import CODE_SIDE, Code, Side
from . import doc as d
from .doc import Doc, Span
from .json import SCHEMA_VERSION, diagnosis_to_dict
from .text import render_diagnosis
from .words import headline

if TYPE_CHECKING:  # types only: renderers import nothing above the model at run time
    from ..api_endpoint import EndpointDiagnosis


def _tls_line(e: EndpointDiagnosis) -> str:
    parts = []
    for r in e.results:
        if r.fetch is not None:
            f = r.fetch
            bits = [x for x in (f.tls_version, f.cipher, f"ALPN {f.alpn}" if f.alpn else None) if x]
            via = f" via {f.proxy_used}" if f.proxy_used else ""
            parts.append(f"{r.address}{via}: {', '.join(bits)}; {len(f.chain)} certificate(s) presented")
        elif r.error is not None:
            parts.append(f"{r.address}: {r.error.code}: {r.error.message}")
    return parts[0] if len(parts) == 1 else "; ".join(parts)


def render_endpoint(e: EndpointDiagnosis) -> Doc:
    if e.diagnosis is None:
        doc = Doc()
        err = e.error
        code = err.code if err is not None else "handshake-failed"
        side = CODE_SIDE.get(Code(code), Side.NETWORK) if code in Code._value2member_map_ else Side.NETWORK
        doc.line(Span(f"✗ COULD NOT DIAGNOSE {e.target.display} ({side.value} side)", d.BAD),
                 ": ", Span(headline(code, {}), d.BOLD), f" — {err.message if err else ''}")
        for r in e.results[1:]:
            if r.error is not None:
                doc.line(Span(f"  {r.address}: {r.error.code}: {r.error.message}", d.DIM))
        return doc
    doc = Doc()
    doc.line(Span(e.target.display, d.BOLD), Span(f"  {_tls_line(e)}", d.DIM))
    for r in e.results:
        if r.fetch is not None:
            for note in r.fetch.notes:
                doc.line(Span(f"  note: {note}", d.DIM))
    doc.blank()
    inner = render_diagnosis(e.diagnosis, target=e.target.display)
    doc.lines.extend(inner.lines)
    return doc


def endpoint_to_dict(e: EndpointDiagnosis) -> dict[str, Any]:
    t = e.target
    target = {
        "host": t.host,
        "port": t.port,
        "scheme": t.scheme,
        "servername": t.servername,
        "starttls": t.starttls,
        "connect": t.connect_hostport,
        "address": next((r.address for r in e.results if r.fetch is not None), None),
    }
    addresses = []
    for r in e.results:
        item: dict[str, Any] = {"address": r.address}
        if r.fetch is not None:
            f = r.fetch
            item.update(
                tls={"version": f.tls_version, "cipher": f.cipher, "alpn": f.alpn},
                presented=[p.cert.sha256 for p in f.chain],
                client_cert_requested=f.client_cert_requested,
                proxy=f.proxy_used,
                elapsed_ms=round(f.elapsed_ms, 1),
                notes=list(f.notes),
            )
        if r.error is not None:
            item["error"] = {"code": r.error.code, "message": r.error.message}
        addresses.append(item)
    first = next((r.fetch for r in e.results if r.fetch is not None), None)
    tls = {"version": first.tls_version, "cipher": first.cipher, "alpn": first.alpn} if first else None
    if e.diagnosis is None:
        code = e.error.code if e.error else "handshake-failed"
        side = CODE_SIDE.get(Code(code), Side.NETWORK) if code in Code._value2member_map_ else Side.NETWORK
        return {
            "schema_version": SCHEMA_VERSION,
            "kind": "diagnose",
            "target": target,
            "tls": tls,
            "addresses": addresses,
            "verdict": {"trusted": False, "cause": code, "side": side.value, "confidence": "high",
                        "clients_trusting": [], "clients_refusing": [],
                        "params": {"message": e.error.message if e.error else None}},
            "error": {"code": code, "message": e.error.message if e.error else None},
        }
    return diagnosis_to_dict(e.diagnosis, kind="diagnose",
                             extra={"target": target, "tls": tls, "addresses": addresses})
