"""Trust anchors and the sets a client ends up with."""

from __future__ import annotations

from .cert import CertInfo, Provenance
from .record import field, record


@record
class Anchor:
    """A certificate a client treats as a trust anchor, and where it was read."""

    cert: CertInfo
    provenance: Provenance


@record
class AnchorSet:
    """The anchors one client would use, with the sources it consulted.

    Attributes:
        name: the client or store name (``go``, ``openssl``, ``--trust``...).
        anchors: every anchor, de-duplicated by fingerprint, in load order.
        sources: the files/directories/env variables consulted, in order.
        partial_chain: any anchor may end a path (Go, cryptography, OpenSSL
            with X509_V_FLAG_PARTIAL_CHAIN); otherwise a path must end at a
            self-signed anchor (OpenSSL's default).
    """

    name: str
    anchors: tuple[Anchor, ...]
    sources: tuple[str, ...] = ()
    partial_chain: bool = True
    _by_fp: dict[str, Anchor] = field(default_factory=dict, repr=False, compare=False)
    _by_subject: dict[bytes, tuple[Anchor, ...]] = field(
        default_factory=dict, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        by_subject: dict[bytes, list[Anchor]] = {}
        for a in self.anchors:
            self._by_fp.setdefault(a.cert.sha256, a)
            by_subject.setdefault(a.cert.subject_der, []).append(a)
        self._by_subject.update({k: tuple(v) for k, v in by_subject.items()})

    def __len__(self) -> int:
        return len(self._by_fp)

    def contains(self, cert: CertInfo) -> bool:
        return cert.sha256 in self._by_fp

    def find(self, sha256: str) -> Anchor | None:
        return self._by_fp.get(sha256)

    def by_subject(self, subject_der: bytes) -> tuple[Anchor, ...]:
        return self._by_subject.get(subject_der, ())


def make_anchor_set(
    name: str,
    anchors: list[Anchor] | tuple[Anchor, ...],
    *,
    sources: tuple[str, ...] = (),
    partial_chain: bool = True,
) -> AnchorSet:
    """Build an :class:`AnchorSet`, dropping duplicate fingerprints (first wins)."""
    seen: set[str] = set()
    unique: list[Anchor] = []
    for a in anchors:
        if a.cert.sha256 in seen:
            continue
        seen.add(a.cert.sha256)
        unique.append(a)
    return AnchorSet(name=name, anchors=tuple(unique), sources=sources, partial_chain=partial_chain)
