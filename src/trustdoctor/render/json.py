"""JSON view of a :class:`Diagnosis` — a versioned contract (docs/json-schema.md).

Bump ``SCHEMA_VERSION`` on any incompatible change; adding keys is compatible.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..model.cert import CertInfo
from ..model.diagnosis import ClientVerdict, Diagnosis, PresentedCert

SCHEMA_VERSION = 1


def cert_to_dict(c: CertInfo) -> dict[str, Any]:
    return {
        "sha256": c.sha256,
        "subject": c.subject,
        "issuer": c.issuer,
        "serial": format(c.serial, "x"),
        "not_before": c.not_before.isoformat(),
        "not_after": c.not_after.isoformat(),
        "is_ca": c.is_ca,
        "path_length": c.path_length,
        "key_usage": sorted(c.key_usage) if c.key_usage is not None else None,
        "extended_key_usage": sorted(c.eku) if c.eku is not None else None,
        "dns_names": list(c.dns_names),
        "ip_addresses": list(c.ip_addresses),
        "subject_key_id": c.ski.hex() if c.ski else None,
        "authority_key_id": c.aki.hex() if c.aki else None,
        "aia_ca_issuers": list(c.aia_ca_issuers),
        "aia_ocsp": list(c.aia_ocsp),
        "signature_algorithm": c.signature_algorithm,
        "key": {"type": c.key_type, "bits": c.key_bits, "curve": c.key_curve},
        "self_signed": c.self_issued and c.self_signed,
        "trusted_certificate_block": c.trusted_block,
    }


def client_to_dict(v: ClientVerdict) -> dict[str, Any]:
    return {
        "client": v.client,
        "trusted": v.trusted,
        "cause": v.cause.value,
        "side": v.side.value,
        "confidence": v.confidence.value,
        "client_error": v.client_error,
        "alternatives": [a.value for a in v.alternatives],
        "settle": list(v.settle),
        "anchor_source": v.anchor_source,
        "anchor_count": v.anchor_count,
        "version": v.version,
        "path": [{"sha256": p.sha256 or None, "role": p.role, "origin": p.origin} for p in v.path],
        "findings": [f.to_dict() for f in v.findings],
    }


def presented_to_list(presented: Sequence[PresentedCert]) -> list[dict[str, Any]]:
    """``presented_chain``: the only part of a diagnosis' document that names
    where the certificates came from."""
    return [
        {
            "sha256": p.cert.sha256,
            "source": p.provenance.source,
            "index": p.provenance.index,
            "line": p.provenance.line,
            "format": p.provenance.detail,
        }
        for p in presented
    ]


def diagnosis_to_dict(
    diag: Diagnosis, *, kind: str = "chain", extra: dict[str, Any] | None = None
) -> dict[str, Any]:
    v = diag.verdict
    out: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "kind": kind,
        "verdict": {
            "trusted": v.trusted,
            "cause": v.cause.value,
            "side": v.side.value,
            "confidence": v.confidence.value,
            "clients_trusting": list(v.clients_trusting),
            "clients_refusing": list(v.clients_refusing),
            "sides": [s.value for s in v.sides],
            "params": v.params,
        },
        "host": diag.host,
        "at": diag.at.isoformat(),
        "leaf": diag.leaf.sha256,
        "presented_chain": presented_to_list(diag.presented),
        "supplied": [
            {"sha256": p.cert.sha256, "source": p.provenance.source, "format": p.provenance.detail}
            for p in diag.supplied
        ],
        "clients": [client_to_dict(c) for c in diag.clients],
        "findings": [f.to_dict() for f in diag.findings],
        "certificates": {fp: cert_to_dict(c) for fp, c in diag.certificates.items()},
    }
    if extra:
        out.update(extra)
    return out


def dumps(data: dict[str, Any]) -> str:
    # Imported here: the text output (every command's default) never needs
    # the json package (~3 ms of start-up).
    import json

    return json.dumps(data, indent=2, sort_keys=False, default=str) + "\n"
