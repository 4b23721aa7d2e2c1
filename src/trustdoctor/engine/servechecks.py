"""Serve-side checks that need more than the presented chain (pure).

``rules.chain_findings`` (called by :func:`trustdoctor.engine.judge`) already
reports what the presented list alone shows: wrong order, root sent, extra and
duplicate certificates, an intermediate that expires before the leaf,
certificates expiring soon.  This module adds the checks that need other
evidence, and returns plain findings so a front end can hand them to
``judge(..., extra_findings=...)``:

``expired-cross-sign``
    An expired CA certificate (presented by the server, or served by an AIA
    URL) has a *sibling* with the same subject and the same key: the classic
    cross-sign.  When a sibling is valid (a self-signed root in the clients'
    stores, or a newer cross-sign), clients that pick their path well
    (Go, OpenSSL >= 1.1.0, browsers) succeed through it while older or
    stricter path builders (OpenSSL 1.0.x, GnuTLS before 3.6.14, some Java
    and embedded stacks: the Let's Encrypt "DST Root CA X3" expiry of
    September 2021) follow the expired certificate and fail.  The fix is to
    stop serving the expired certificate.
(Different chains on different addresses, ``diagnose --all-addresses``, are
reported by ``api_endpoint`` as ``different-chains``.)

Nothing here does I/O or reads the clock: time is a parameter.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

from ..model.anchors import AnchorSet
from ..model.cert import CertInfo
from ..model.diagnosis import PresentedCert
from ..model.findings import Code, Finding, Severity, Side
from .pathbuild import FETCHED, PRESENTED


def expired_cross_signs(
    presented: Sequence[PresentedCert],
    *,
    at: dt.datetime,
    anchors: Sequence[AnchorSet] = (),
    supplied: Sequence[PresentedCert] = (),
    fetched: Sequence[PresentedCert] = (),
    leaf_index: int | None = None,
    paths: Mapping[str, Sequence[str]] | None = None,
) -> list[Finding]:
    """``expired-cross-sign`` findings for expired CA certificates that have a sibling.

    Args:
        presented: the chain as the server sends it.
        at: the evaluation time.
        anchors: the clients' anchor sets (a sibling found there is named
            with the sets that hold it in ``alternative_trusted_by``).
        supplied: extra untrusted intermediates known to the caller.
        fetched: certificates fetched through AIA (also examined: an AIA URL
            may serve the expired cross-sign).
        leaf_index: the leaf's position in ``presented`` (default: 0).
        paths: client name -> fingerprints of its best path; a client whose
            path goes through the expired certificate is listed in ``used_by``.

    A sibling has the same subject (DER) and the same public key but another
    fingerprint.  One finding per expired certificate, server side, severity
    *warning* (a client whose every path needs it already reports ``expired``
    as its primary cause).
    """
    li = 0 if leaf_index is None else leaf_index
    examined: list[tuple[CertInfo, str]] = [
        (p.cert, PRESENTED) for i, p in enumerate(presented) if i != li
    ]
    examined += [(p.cert, FETCHED) for p in fetched]
    known: list[CertInfo] = [p.cert for p in (*presented, *supplied, *fetched)]
    for s in anchors:
        known.extend(a.cert for a in s.anchors)
    by_key: dict[tuple[bytes, str], dict[str, CertInfo]] = {}
    for c in known:
        by_key.setdefault((c.subject_der, c.spki_sha256), {}).setdefault(c.sha256, c)
    out: list[Finding] = []
    seen: set[str] = set()
    for cert, origin in examined:
        if cert.sha256 in seen:
            continue
        seen.add(cert.sha256)
        if cert.self_issued or cert.is_ca is False or not at > cert.not_after:
            continue
        siblings = [
            c
            for fp, c in by_key.get((cert.subject_der, cert.spki_sha256), {}).items()
            if fp != cert.sha256
        ]
        if not siblings:
            continue  # an ordinary expired intermediate: the primary cause says it
        valid = sorted(
            (c for c in siblings if c.valid_at(at)),
            key=lambda c: (not c.self_issued, -c.not_after.timestamp(), c.sha256),
        )
        best = valid[0] if valid else siblings[0]
        trusted_by = [s.name for s in anchors if s.contains(best)]
        used_by = [n for n, fps in (paths or {}).items() if cert.sha256 in fps]
        params: dict[str, object] = {
            "subject": cert.subject,
            "issuer": cert.issuer,
            "not_after": cert.not_after.isoformat(),
            "origin": origin,
            "valid_alternative": bool(valid),
            "alternative_issuer": best.issuer,
            "alternative_sha256": best.sha256,
            "alternative_self_signed": best.self_issued,
            "alternative_trusted_by": trusted_by,
            "used_by": used_by,
        }
        out.append(
            Finding(
                Code.EXPIRED_CROSS_SIGN,
                Severity.WARNING,
                Side.SERVER,
                params,
                (cert.sha256, best.sha256),
            )
        )
    return out


def serve_findings(
    presented: Sequence[PresentedCert],
    *,
    at: dt.datetime,
    anchors: Sequence[AnchorSet] = (),
    supplied: Sequence[PresentedCert] = (),
    fetched: Sequence[PresentedCert] = (),
    leaf_index: int | None = None,
    paths: Mapping[str, Sequence[str]] | None = None,
) -> list[Finding]:
    """Every serve-side finding :func:`trustdoctor.engine.judge` does not produce itself.

    Pass the result as ``judge(..., extra_findings=...)``.  Today this is
    :func:`expired_cross_signs` (``different-chains`` needs several handshakes
    and comes from ``api_endpoint``).
    """
    return expired_cross_signs(
        presented,
        at=at,
        anchors=anchors,
        supplied=supplied,
        fetched=fetched,
        leaf_index=leaf_index,
        paths=paths,
    )


__all__ = ["expired_cross_signs", "serve_findings"]
