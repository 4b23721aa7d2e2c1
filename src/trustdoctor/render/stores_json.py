"""JSON view of ``trustdoctor stores`` — a versioned contract documented in docs/stores.md. Pure.

Bump :data:`SCHEMA_VERSION` on an incompatible change; adding keys is compatible.
"""

from __future__ import annotations

import json
from typing import Any

from ..model.anchors import Anchor
from ..model.stores import ClientStore, StoresReport

SCHEMA_VERSION = 1


def _anchor(a: Anchor) -> dict[str, Any]:
    p = a.provenance
    return {
        "sha256": a.cert.sha256,
        "name": a.cert.display_name,
        "subject": a.cert.subject,
        "source": p.source,
        "line": p.line,
        "index": p.index,
        "detail": p.detail,
    }


def store_to_dict(s: ClientStore, *, anchors: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "client": s.client,
        "anchor_count": len(s.anchors),
        "partial_chain": s.anchors.partial_chain,
        "system_store": s.system_store,
        "load_error": s.load_error,
        "refresh_command": s.refresh_command,
        "default_anchor_count": len(s.default_anchors) if s.default_anchors is not None else None,
        "sources": [src.to_dict() for src in s.sources],
        "findings": [f.to_dict() for f in s.findings],
        "pending": [_anchor(a) for a in s.pending],
        "ignored": [_anchor(a) for a in s.ignored],
        "registry_dirs": list(s.registry_dirs),
        "runtime": dict(s.runtime) if s.runtime is not None else None,
    }
    if anchors:
        out["anchors"] = [_anchor(a) for a in s.anchors.anchors]
    return out


def stores_to_dict(r: StoresReport, *, anchors: bool = False) -> dict[str, Any]:
    clients = []
    for s in r.stores:
        d = store_to_dict(s, anchors=anchors)
        d["version"] = r.versions.get(s.client)
        if r.checks:
            mine = [c for checks in r.checks for c in checks if c.client == s.client]
            d["trusted"] = all(c.trusted for c in mine)
            d["checks"] = [c.to_dict() for c in mine]
        clients.append(d)
    out: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "kind": "stores",
        "root": r.root,
        "distro": r.distro.to_dict(),
        "environment": {
            "origin": r.env_origin,
            "given": r.env_given,
            "trust_variables": list(r.env_keys),
        },
        "registry": r.registry,
        "clients": clients,
    }
    if r.checks:
        out["ca"] = [
            {"sha256": checks[0].fingerprint, "name": checks[0].name}
            for checks in r.checks
            if checks
        ]
        out["trusted"] = all(c.trusted for checks in r.checks for c in checks)
    return out


def dumps(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
