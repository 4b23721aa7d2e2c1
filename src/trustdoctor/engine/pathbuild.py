"""Path building: every candidate path from a leaf towards the anchors.

Pure.  Candidates are indexed by subject name (DER) and ordered by key
identifier match, origin and validity, as Go's ``buildChains`` and OpenSSL's
``build_chain`` prefer.  The search explores cross-signs, skips loops (the same
certificate, or the same subject+key, twice on one path, RFC 4158 §5.2) and is
bounded by three budgets so hostile inputs (1,000 certificates sharing a
subject, a cyclic cross-sign graph) finish quickly with an answer:
``MAX_SIGNATURE_CHECKS``, ``MAX_NODES`` and ``MAX_PATHS``.

A :class:`Path` ends in one of:

``anchor``
    the last certificate is a trust anchor for the policy;
``missing-issuer``
    no certificate with the issuer's name was available (the central case:
    a server that omitted an intermediate, or a client that lacks a root);
``self-signed``
    the last certificate is self-signed and not an anchor;
``rejected-issuer``
    issuers with the right name exist but none verifies the signature;
``too-long`` / ``budget``
    the search stopped.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ..model.anchors import AnchorSet
from ..model.cert import CertInfo, verify_signature
from ..model.record import field, mutable_record, record
from .policies import Policy

MAX_SIGNATURE_CHECKS = 3000
MAX_NODES = 4000
MAX_PATHS = 64
HARD_MAX_DEPTH = 16  # no real chain is longer; bounds cyclic graphs

PRESENTED = "presented"
SUPPLIED = "supplied"
ANCHOR = "anchor"
FETCHED = "fetched"


@record
class Candidate:
    """A certificate the path builder may use, and where it came from."""

    cert: CertInfo
    origin: str  # presented, supplied, anchor, fetched


@record
class Rejected:
    """An issuer candidate with the right name whose signature did not verify."""

    cert: CertInfo
    origin: str
    reason: str  # bad-signature, unsupported-algorithm


@record
class Path:
    """One path from the leaf up: its certificates, where each came from, and how it ends."""

    certs: tuple[CertInfo, ...]
    origins: tuple[str, ...]
    end: str
    rejected: tuple[Rejected, ...] = ()

    @property
    def top(self) -> CertInfo:
        return self.certs[-1]

    @property
    def anchored(self) -> bool:
        return self.end == "anchor"


@mutable_record
class _Search:
    """The state of one path search (working data of build_paths, never returned)."""

    policy: Policy
    anchors: AnchorSet
    pool: dict[bytes, list[Candidate]]  # the untrusted certificates, by subject
    by_subject: dict[bytes, list[Candidate]] = field(default_factory=dict)  # made per name
    sig_cache: dict[tuple[str, str], str | None] = field(default_factory=dict)
    sig_checks: int = 0
    nodes: int = 0
    paths: list[Path] = field(default_factory=list)
    exhausted: bool = False

    def candidates(self, name: bytes) -> list[Candidate]:
        """The issuers named ``name``: the anchors first (in load order), then
        the untrusted certificates that are not anchors; made the first time
        the name is asked for (a store of 150 roots is asked for one or two
        names, not indexed again for every search)."""
        got = self.by_subject.get(name)
        if got is None:
            got = []
            shas: set[str] = set()
            for a in self.anchors.by_subject(name):
                if a.cert.sha256 not in shas:
                    shas.add(a.cert.sha256)
                    got.append(Candidate(a.cert, ANCHOR))
            got += [c for c in self.pool.get(name, ()) if c.cert.sha256 not in shas]
            self.by_subject[name] = got
        return got

    def verify(self, child: CertInfo, parent: CertInfo) -> str | None:
        key = (child.sha256, parent.sha256)
        if key in self.sig_cache:
            return self.sig_cache[key]
        self.sig_checks += 1
        if self.sig_checks > MAX_SIGNATURE_CHECKS:
            self.exhausted = True
            return "budget"
        result = verify_signature(child, parent)
        self.sig_cache[key] = result
        return result


@record
class PathSearch:
    """Every path found, and whether a budget cut the search short."""

    paths: tuple[Path, ...]
    exhausted: bool
    signature_checks: int


def is_anchor_end(
    cert: CertInfo, anchors: AnchorSet, policy: Policy, search: _Search | None = None
) -> bool:
    """Whether ``cert`` may end a path for ``policy``."""
    if not anchors.contains(cert):
        return False
    if policy.partial_chain:
        return True
    # OpenSSL without PARTIAL_CHAIN: only a self-signed trusted cert ends a path.
    if not cert.self_issued:
        return False
    return (search.verify(cert, cert) if search else verify_signature(cert, cert)) is None


def _order(cands: list[Candidate], child: CertInfo, at_ok: Iterable[str]) -> list[Candidate]:
    valid = set(at_ok)

    def key(c: Candidate) -> tuple[int, int, int]:
        aki_match = 0 if (child.aki is None or c.cert.ski is None or child.aki == c.cert.ski) else 1
        origin_rank = {ANCHOR: 0, PRESENTED: 1, SUPPLIED: 2, FETCHED: 3}.get(c.origin, 4)
        return (aki_match, 0 if c.cert.sha256 in valid else 1, origin_rank)

    return sorted(cands, key=key)


def build_paths(
    leaf: CertInfo,
    pool: Sequence[Candidate],
    anchors: AnchorSet,
    policy: Policy,
    *,
    valid_fps: Iterable[str] = (),
) -> PathSearch:
    """Explore every path from ``leaf`` to the anchors.

    Args:
        leaf: the end-entity certificate.
        pool: untrusted certificates (presented, supplied, fetched).
        anchors: the client's trust anchors.
        policy: decides what ends a path.
        valid_fps: fingerprints valid at the evaluation time (preferred first).
    """
    untrusted: dict[bytes, list[Candidate]] = {}
    seen: set[str] = set()
    for cand in pool:
        if cand.cert.sha256 not in seen:
            seen.add(cand.cert.sha256)
            untrusted.setdefault(cand.cert.subject_der, []).append(cand)
    search = _Search(policy=policy, anchors=anchors, pool=untrusted)
    valid = frozenset(valid_fps)
    leaf_origin = ANCHOR if anchors.contains(leaf) else PRESENTED
    _extend(search, (leaf,), (leaf_origin,), valid)
    return PathSearch(tuple(search.paths), search.exhausted, search.sig_checks)


def _extend(
    s: _Search, certs: tuple[CertInfo, ...], origins: tuple[str, ...], valid: frozenset[str]
) -> None:
    if len(s.paths) >= MAX_PATHS:
        s.exhausted = True
        return
    s.nodes += 1
    if s.nodes > MAX_NODES:
        s.exhausted = True
        return
    top = certs[-1]
    if is_anchor_end(top, s.anchors, s.policy, s):
        s.paths.append(Path(certs, origins, "anchor"))
        return
    if len(certs) > HARD_MAX_DEPTH:
        s.paths.append(Path(certs, origins, "too-long"))
        return
    fps = {c.sha256 for c in certs}
    pairs = (
        {(c.subject_der, c.spki_sha256, c.dns_names + c.ip_addresses) for c in certs}
        if s.policy.loop_by_name_and_key
        else set()
    )
    cands = s.candidates(top.issuer_der)
    top_self_signed = top.self_issued and s.verify(top, top) is None
    rejected: list[Rejected] = []
    extended = False
    for cand in _order(cands, top, valid):
        c = cand.cert
        if c.sha256 in fps:
            continue
        if (c.subject_der, c.spki_sha256, c.dns_names + c.ip_addresses) in pairs:
            continue
        if top_self_signed and s.policy.stop_at_self_signed and cand.origin != ANCHOR:
            # OpenSSL ends the untrusted chain at a self-signed certificate;
            # only a trusted one with the same name and key (a re-issued
            # root) extends it.
            continue
        why = s.verify(top, c)
        if why == "budget":
            break
        if why is not None:
            rejected.append(Rejected(c, cand.origin, why))
            continue
        extended = True
        _extend(s, (*certs, c), (*origins, cand.origin), valid)
        if s.exhausted:
            break
    if not extended:
        if s.exhausted and not rejected:
            end = "budget"
        elif top_self_signed:
            end = "self-signed"
        elif rejected:
            end = "rejected-issuer"
        else:
            end = "missing-issuer"
        s.paths.append(Path(certs, origins, end, tuple(rejected)))
