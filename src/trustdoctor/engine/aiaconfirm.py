"""Confirm a missing-issuer diagnosis with certificates fetched through AIA (pure).

Without the missing certificate, :func:`trustdoctor.engine.rules.classify_missing`
can only say that a server *probably* omitted an intermediate, or that a
client *probably* lacks a root.  Once :func:`trustdoctor.sources.aia.complete_chain`
has fetched the issuers from the caIssuers URLs, this module judges the chain
again with those certificates as **untrusted intermediates** (``fetched=``;
never anchors) and rewrites the verdict of each client the fetch speaks for:

* the fetched certificates lead to one of the client's anchors: the server
  omitted them.  Cause ``missing-intermediate``, confidence *high*, params
  ``fetched_issuer`` / ``fetched_from`` / ``fetched_sha256`` (the first
  missing certificate) and the lists ``fetched_subjects`` / ``fetched_urls``
  / ``fetched_sha256s`` (every one to add, leaf side first);
* they lead to a self-signed root the client lacks: cause ``untrusted-root``
  (client side, *high*), the root named in ``fetched_root`` /
  ``fetched_root_from`` / ``fetched_root_sha256``; when intermediates had to
  be fetched on the way, a second finding ``missing-intermediate`` (server
  side) lists them: both sides must act;
* they stop short again (the fetched intermediate's own issuer is nowhere):
  the classification made with the longer path stands, plus the confirmed
  ``missing-intermediate`` finding for what was fetched.

The client's *verdict* never changes: Go, OpenSSL, Java and Node on Linux do
not fetch AIA, so the client still refuses today (``trusted`` stays false and
``client_error`` is still what it prints).  What changes is how sure the
diagnosis is, and that it names the exact certificate.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from ..model.anchors import AnchorSet
from ..model.causes import AIA_CONFIRMABLE, CODE_SIDE
from ..model.cert import CertInfo, Provenance
from ..model.diagnosis import ClientVerdict, Diagnosis, PresentedCert
from ..model.findings import Code, Confidence, Finding, Severity, Side
from ..model.record import replace
from .judge import Refiner, disagreement, judge, overall_verdict
from .pathbuild import FETCHED
from .policies import Policy
from .rules import SETTLE_FETCH_AIA
from .servechecks import expired_cross_signs

if TYPE_CHECKING:  # types only: this module stays pure and never fetches
    from ..sources.aia import AiaCompletion, FetchedCert

# Causes an AIA fetch can confirm or refine (model/causes.py): the two answers
# to "who lacks the missing issuer?".  A cause already refined from store
# evidence (stale-bundle, env-override...) is left alone.
CONFIRMABLE = AIA_CONFIRMABLE

# Provenance.detail of a certificate obtained through AIA (its source is the URL).
AIA_DETAIL = "aia"


def candidates(diag: Diagnosis) -> tuple[str, ...]:
    """Clients whose verdict an AIA fetch could settle.

    A refusing client whose cause is ``missing-intermediate`` or
    ``untrusted-root`` and whose best path ends at a missing issuer.
    """
    return tuple(v.client for v in diag.clients if _confirmable(v))


def needs_aia(diag: Diagnosis) -> bool:
    """Whether fetching issuers could settle anything in ``diag``."""
    return bool(candidates(diag))


def _confirmable(v: ClientVerdict) -> bool:
    return (
        not v.trusted and v.cause in CONFIRMABLE and bool(v.path) and v.path[-1].role == "missing"
    )


def fetched_presented(completion: AiaCompletion) -> list[PresentedCert]:
    """The fetched certificates as untrusted candidates for ``judge(fetched=...)``."""
    return [
        PresentedCert(f.cert, Provenance(f.url, index=None, line=None, detail=AIA_DETAIL))
        for f in completion.fetched
    ]


def confirm_missing(
    before: Diagnosis,
    completion: AiaCompletion,
    *,
    clients: Sequence[tuple[str, AnchorSet]],
    reference: Mapping[str, AnchorSet] | None = None,
    refiners: Mapping[str, Refiner] | None = None,
    policies: Mapping[str, Policy] | None = None,
    explicit_anchors: bool = False,
) -> Diagnosis:
    """Re-judge ``before`` with ``completion.fetched`` and confirm what the fetch proves.

    Args:
        before: the diagnosis made without AIA (``judge`` or ``diagnose_chain``).
        completion: the AIA search from ``before.leaf`` (may be empty, offline
            or failed: the diagnosis then only says so).
        clients: the same ``(name, anchors)`` pairs ``before`` was judged with.
        reference, refiners, policies, explicit_anchors: as given to
            ``judge`` for ``before``.

    Returns a new :class:`Diagnosis`: the presented chain, host and time of
    ``before``; ``supplied`` extended with the fetched certificates
    (provenance: the URL, detail ``aia``); per-client verdicts rewritten as
    the module docstring says; chain findings of ``before`` kept, except an
    ``extra-certificate`` that the completed path now uses; an
    ``aia-fetch-failed`` finding when the fetch was tried and gave nothing.
    """
    names = [n for n, _ in clients]
    if names != [v.client for v in before.clients]:
        raise ValueError("clients must be the pairs the diagnosis was judged with")
    fetched = fetched_presented(completion)
    by_fp: dict[str, FetchedCert] = {f.cert.sha256: f for f in completion.fetched}
    tried = bool(completion.attempts) and completion.stopped != "offline"
    if not fetched:
        unchanged = [_without_fetch(v, tried) for v in before.clients]
        failed = _failure_findings(completion) if tried and needs_aia(before) else []
        return _assemble(before, before, unchanged, failed, used=None)
    li = next((i for i, p in enumerate(before.presented) if p.cert.sha256 == before.leaf.sha256), 0)
    after = judge(
        before.presented,
        clients=clients,
        at=before.at,
        host=before.host,
        supplied=before.supplied,
        fetched=fetched,
        reference=reference,
        refiners=refiners,
        leaf_index=li,
        policies=policies,
        explicit_anchors=explicit_anchors,
    )
    verdicts: list[ClientVerdict] = []
    for old, new in zip(before.clients, after.clients, strict=True):
        if not _confirmable(old):
            verdicts.append(old)
        else:
            verdicts.append(_confirm(old, new, after, by_fp, tried))
    used: set[str] = set()
    for v in verdicts:
        used.update(link.sha256 for link in v.path if link.sha256)
    extra: list[Finding] = []
    if not any(link.origin == FETCHED for v in verdicts for link in v.path):
        extra += _failure_findings(completion) if tried else []
    known = {(f.code, f.certs) for f in before.findings}
    paths = {v.client: [link.sha256 for link in v.path if link.sha256] for v in verdicts}
    for f in expired_cross_signs(
        after.presented,
        at=after.at,
        anchors=[a for _, a in clients],
        supplied=[p for p in before.supplied],
        fetched=fetched,
        leaf_index=li,
        paths=paths,
    ):
        if (f.code, f.certs) not in known:
            extra.append(f)
    return _assemble(before, after, verdicts, extra, used=used)


# -- per-client rewriting ---------------------------------------------------------------


def _without_fetch(v: ClientVerdict, tried: bool) -> ClientVerdict:
    """A verdict the fetch could not help: only drop the settle step already taken."""
    if not tried or SETTLE_FETCH_AIA not in v.settle or not _confirmable(v):
        return v
    return replace(v, settle=tuple(s for s in v.settle if s != SETTLE_FETCH_AIA))


def _fetched_params(
    links: Iterable[CertInfo], by_fp: Mapping[str, FetchedCert]
) -> tuple[dict[str, object], list[CertInfo], CertInfo | None]:
    """Params naming the fetched intermediates (and a fetched self-signed top)."""
    inter: list[CertInfo] = []
    root: CertInfo | None = None
    for c in links:
        if c.sha256 not in by_fp:
            continue
        if c.self_issued and c.self_signed:
            root = c
        else:
            inter.append(c)
    params: dict[str, object] = {}
    if inter:
        first = inter[0]
        params.update(
            fetched_issuer=first.subject,
            fetched_from=by_fp[first.sha256].url,
            fetched_sha256=first.sha256,
            fetched_subjects=[c.subject for c in inter],
            fetched_urls=[by_fp[c.sha256].url for c in inter],
            fetched_sha256s=[c.sha256 for c in inter],
        )
    if root is not None:
        params.update(
            fetched_root=root.subject,
            fetched_root_from=by_fp[root.sha256].url,
            fetched_root_sha256=root.sha256,
        )
    return params, inter, root


def _confirm(
    old: ClientVerdict,
    new: ClientVerdict,
    after: Diagnosis,
    by_fp: Mapping[str, FetchedCert],
    tried: bool,
) -> ClientVerdict:
    path_certs = [after.certificates[link.sha256] for link in new.path if link.sha256]
    fparams, inter, _root = _fetched_params(path_certs, by_fp)
    if not fparams:
        # The fetched certificates are not on this client's best path.
        return _without_fetch(old, tried)
    old_params = dict(old.findings[0].params) if old.findings else {}
    # Once fetched, "fetch the issuer" is done; after an offline (cache-only)
    # search, fetching could still take the path further.
    settle = tuple(s for s in new.settle if s != SETTLE_FETCH_AIA) if tried else new.settle
    anchored = bool(new.path) and new.path[-1].role == "anchor"
    mi_params: dict[str, object] = {
        **old_params,
        **{k: v for k, v in fparams.items() if not k.startswith("fetched_root")},
        "confirmed_by": "aia",
    }
    if inter:
        mi_params["issuer"] = inter[0].subject
    mi_finding = Finding(
        Code.MISSING_INTERMEDIATE,
        Severity.ERROR,
        Side.SERVER,
        mi_params,
        tuple(c.sha256 for c in inter),
    )
    if anchored:
        # The fetched certificates complete a path to this client's anchor:
        # the server omitted exactly them.  Problems left on that path (an
        # expired fetched intermediate...) follow as secondary findings.
        rest = tuple(f for f in new.findings) if not new.trusted else ()
        return replace(
            old,
            cause=Code.MISSING_INTERMEDIATE,
            side=Side.SERVER,
            confidence=Confidence.HIGH,
            findings=(mi_finding, *rest),
            path=new.path,
            alternatives=(),
            settle=settle,
            anchor_source=new.anchor_source,
        )
    side = CODE_SIDE.get(new.cause, Side.CLIENT)
    if side == Side.CLIENT or new.cause == Code.MISSING_INTERMEDIATE:
        # The longer path is the better evidence: take its classification
        # (a fetched self-signed root the client lacks is untrusted-root, high).
        primary = new.findings[0] if new.findings else None
        head_params = dict(primary.params) if primary else {}
        head_params.update(fparams)
        head_params["confirmed_by"] = "aia"
        head = (
            replace(primary, params=head_params)
            if primary is not None
            else Finding(new.cause, Severity.ERROR, side, head_params)
        )
        findings: tuple[Finding, ...] = (head,)
        if inter and new.cause != Code.MISSING_INTERMEDIATE:
            findings += (mi_finding,)
        findings += tuple(new.findings[1:])
        return replace(
            old,
            cause=new.cause,
            side=side,
            confidence=new.confidence,
            findings=findings,
            path=new.path,
            alternatives=tuple(a for a in new.alternatives if a != new.cause),
            settle=settle,
        )
    # The completed path fails for a server-side reason (an expired fetched
    # certificate, a CA flag...): keep today's cause, add what was fetched.
    return replace(
        old,
        findings=(*old.findings, mi_finding, *new.findings[:1]),
        settle=_without_fetch(old, tried).settle,
    )


# -- the diagnosis-level parts ------------------------------------------------------------


def _failure_findings(completion: AiaCompletion) -> list[Finding]:
    """``aia-fetch-failed``: the fetch was tried and nothing usable came back."""
    rejected = [(a.url, r, d) for a in completion.attempts for r, d in a.rejected]
    if not completion.attempts:
        return []
    url, reason, detail = rejected[0] if rejected else (completion.attempts[0].url, "", "")
    url = _safe_url(url)
    return [
        Finding(
            Code.AIA_FETCH_FAILED,
            Severity.INFO,
            Side.NONE,
            {
                "url": url,
                "reason": reason or completion.stopped,
                "detail": detail or completion.detail,
                "stopped": completion.stopped,
                "urls": [_safe_url(a.url) for a in completion.attempts],
                "reasons": sorted({r for _, r, _ in rejected}),
            },
        )
    ]


def _safe_url(url: str) -> str:
    """A URL from a certificate, fit for a terminal: escaped unless printable ASCII
    (a failed URL may hold anything a CA, or an attacker, wrote), and truncated."""
    text = url if len(url) <= 200 else url[:197] + "..."
    return text if text.isascii() and text.isprintable() else ascii(text)


def _assemble(
    before: Diagnosis,
    after: Diagnosis,
    verdicts: Sequence[ClientVerdict],
    extra: Sequence[Finding],
    *,
    used: set[str] | None,
) -> Diagnosis:
    findings = [
        f
        for f in before.findings
        if f.code != Code.CLIENT_DISAGREEMENT
        and not (used is not None and f.code == Code.EXTRA_CERTIFICATE and f.certs[0] in used)
    ]
    findings += extra
    findings += disagreement(verdicts)
    certificates = dict(before.certificates)
    for fp, c in after.certificates.items():
        certificates.setdefault(fp, c)
    provenance = dict(before.anchor_provenance)
    for fp, p in after.anchor_provenance.items():
        provenance.setdefault(fp, p)
    return replace(
        before,
        supplied=after.supplied,
        clients=tuple(verdicts),
        findings=tuple(findings),
        # Recomputed for the rewritten verdicts, as judge() computes them.
        verdict=overall_verdict(verdicts),
        certificates=certificates,
        anchor_provenance=provenance,
    )


__all__ = [
    "AIA_DETAIL",
    "CONFIRMABLE",
    "candidates",
    "confirm_missing",
    "fetched_presented",
    "needs_aia",
]
