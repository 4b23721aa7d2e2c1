"""The Mozilla root list trustdoctor ships with (certifi), as a reference.

Used twice: as the stand-in for roots compiled into a client (Node's
``--use-bundled-ca`` store is a Mozilla snapshot, src/node_root_certs.h), and
to tell a *public* root from a private one when comparing clients (a root a
client lacks that is also absent from Mozilla's list is someone's private CA).
This reads the tool's own installed certifi, not the inspected root.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass

from . import pemfile


@dataclass(frozen=True)
class Reference:
    path: str
    version: str
    data: bytes
    fingerprints: frozenset[str]


@functools.cache
def certifi_reference() -> Reference | None:
    """The tool's certifi bundle, or ``None`` if certifi is not importable."""
    try:
        import certifi
    except ImportError:  # pragma: no cover - certifi is a dependency
        return None
    path = certifi.where()
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError:  # pragma: no cover
        return None
    fps = frozenset(hashlib.sha256(b.der).hexdigest() for b in pemfile.go_certs(data))
    return Reference(path, str(getattr(certifi, "__version__", "unknown")), data, fps)


def is_public(sha256: str) -> bool:
    ref = certifi_reference()
    return ref is not None and sha256 in ref.fingerprints
