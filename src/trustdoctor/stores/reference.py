"""The Mozilla root list trustdoctor ships with (certifi), as a reference.

Used twice: as the stand-in for roots compiled into a client (Node's
``--use-bundled-ca`` store is a Mozilla snapshot, src/node_root_certs.h), and
to tell a *public* root from a private one when comparing clients (a root a
client lacks that is also absent from Mozilla's list is someone's private CA).
This reads the tool's own installed certifi, not the inspected root.
"""

from __future__ import annotations

import functools

from ..model import digest
from ..model.record import record
from . import pemfile


@record
class Reference:
    """certifi's bundle: the Mozilla roots, read once per process."""

    path: str
    version: str
    blocks: tuple[pemfile.CertBlock, ...]  # its certificates (scanned once per process)
    fingerprints: frozenset[str]


@functools.cache
def certifi_reference() -> Reference | None:
    """The tool's certifi bundle, or ``None`` if certifi is not importable."""
    # Locate certifi without importing it (its import pulls importlib.resources:
    # ~15 ms of start-up); certifi.where() is cacert.pem next to __init__.py.
    import importlib.util
    import os
    import re

    spec = importlib.util.find_spec("certifi")
    if spec is None or not spec.origin:  # pragma: no cover - certifi is a dependency
        return None
    pkg = os.path.dirname(spec.origin)
    path = os.path.join(pkg, "cacert.pem")
    try:
        with open(path, "rb") as fh:
            data = fh.read()
        with open(spec.origin, encoding="utf-8") as fh:
            m = re.search(r"__version__\s*=\s*[\"']([^\"']+)", fh.read())
    except OSError:  # pragma: no cover
        return None
    blocks = tuple(pemfile.go_certs(data))
    fps = frozenset(digest.sha256(b.der).hexdigest() for b in blocks)
    return Reference(path, m.group(1) if m else "unknown", blocks, fps)


def is_public(sha256: str) -> bool:
    ref = certifi_reference()
    return ref is not None and sha256 in ref.fingerprints
