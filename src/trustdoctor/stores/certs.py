"""Certificates read from stores: DER → :class:`CertInfo`, parsed once per process.

The same root usually appears in a store several times (the bundle, its
``/etc/ssl/certs/*.pem`` link, its hash link, the Java keystore), so parsing is
memoised by DER.  Pure (a memo of a pure function).
"""

from __future__ import annotations

from collections.abc import Iterable

from ..model.anchors import Anchor
from ..model.cert import CertInfo, Provenance, parse_certificate
from .pemfile import CertBlock

_PARSED: dict[bytes, CertInfo | None] = {}
_MAX_MEMO = 50_000


def parse_der(der: bytes, *, trusted_block: bool = False) -> CertInfo | None:
    """Parse one DER certificate; ``None`` if it is not one."""
    info: CertInfo | None
    if der in _PARSED:
        info = _PARSED[der]
    else:
        try:
            info = parse_certificate(der)
        except ValueError:  # not a certificate
            info = None
        if len(_PARSED) < _MAX_MEMO:
            _PARSED[der] = info
    if info is not None and trusted_block and not info.trusted_block:
        from ..model.record import replace

        info = replace(info, trusted_block=True)
    return info


def anchors_from_blocks(
    blocks: Iterable[CertBlock], source: str, detail: str | None = None
) -> tuple[list[Anchor], list[CertBlock]]:
    """Anchors for every block that parses, and the blocks that did not."""
    anchors: list[Anchor] = []
    bad: list[CertBlock] = []
    for b in blocks:
        info = parse_der(b.der, trusted_block=b.label == "TRUSTED CERTIFICATE")
        if info is None:
            bad.append(b)
            continue
        anchors.append(Anchor(info, Provenance(source, b.index, b.line, detail)))
    return anchors, bad
