"""The chain a server should present (pure): ``trustdoctor bundle``'s logic.

Given the leaf, every candidate certificate (what the server presents, what
the user supplied, what AIA fetching found) and each selected client's
anchors, :func:`plan_bundle` picks the chain to serve:

* leaf first, then each intermediate in issuing order; no root unless asked
  (``include_root``: a client never uses a root it does not already trust,
  RFC 8446 §4.4.2 lets the server omit it); no unrelated or duplicate
  certificates;
* the chain must be trusted by **every** selected client; among the chains
  that are, the one with no expired certificate, then the shortest, then the
  strongest (SHA-256 or better signatures, RSA >= 2048 or ECDSA), then the
  longest-lived, then the one closest to what the server already sends;
* what was chosen, and why every alternative lost, is said with stable
  reason codes (:data:`REASONS`; English in ``render/bundle.py``).

Candidate chains come from the engine's own path builder
(:func:`trustdoctor.engine.pathbuild.build_paths`), one per path that reaches an
anchor of some client; each is then judged for every client with
:func:`trustdoctor.engine.rules.evaluate`, exactly as ``chain`` would judge it.
Names are not checked (``host=None``): a name problem is not fixed by the
chain; ``diagnose`` reports it.

:func:`load_private_keys` reads ``--key`` keeping only the public halves, so
the key can be checked against the leaf without ever being exposed.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence

from ..errors import InputError
from ..model import digest
from ..model.anchors import AnchorSet
from ..model.cert import CertInfo, key_facts
from ..model.diagnosis import PresentedCert
from ..model.findings import Code
from ..model.pem import PRIVATE_KEY_LABELS, pem_text
from ..model.record import field, record
from .pathbuild import FETCHED, PRESENTED, SUPPLIED, Candidate, build_paths
from .policies import Policy, policy_for
from .rules import Evaluation, evaluate

# Stable reason codes (JSON ``reasons[].code``); add, never rename.
REASONS: Mapping[str, str] = {
    "path-found": "the chain reaches an anchor of every selected client",
    "only-path": "no other chain reaches the clients' anchors",
    "rejected-expired": "another chain contains an expired (or not yet valid) certificate",
    "rejected-untrusted": "another chain is refused by at least one selected client",
    "rejected-longer": "another chain works too but is longer",
    "rejected-weaker": "another chain uses a weaker signature hash or key",
    "rejected-shorter-lived": "another chain expires sooner",
    "rejected-more-changes": "another chain needs more certificates the server does not send today",
    "rejected-equivalent": "another chain is just as good; the choice is stable but arbitrary",
    "root-omitted": "the root is left out: clients use their own copy",
    "root-included": "the root is appended (--include-root)",
    "root-not-self-signed": "--include-root: the chain ends at an anchor that is not a "
    "self-signed root, so nothing was appended",
    "roots-differ": "the selected clients reach the chain through different anchors",
    "no-path": "for this client no chain reaches any of its anchors",
    "refused": "this client refuses the best chain found",
}

# Limits: a handful of cross-signs give a handful of chains; a hostile pool
# is already bounded by the path builder (MAX_PATHS per client).
MAX_OPTIONS = 32
MAX_REASONS = 8
WEAK_HASHES = frozenset({"sha1", "md5", "md4", "md2"})
MIN_RSA_BITS = 2048


@record
class ChainCert:
    """One certificate of the chain to serve.

    Attributes:
        cert: the certificate.
        origin: ``leaf``, ``presented`` (sent by the server today),
            ``supplied`` (given by the user), ``fetched`` (AIA) or ``anchor``
            (the root, with ``include_root``).
        source: where it came from (file and line, URL, the server position).
    """

    cert: CertInfo
    origin: str
    source: str


@record
class Reason:
    """Why a bundle was built as it was, as a code with parameters (rendered by render/)."""

    code: str  # a key of REASONS
    params: Mapping[str, object] = field(default_factory=dict)


@record
class ClientResult:
    """One selected client's view of the chosen chain.

    Attributes:
        client: the client model name.
        trusted: whether it accepts the chain.
        cause: its primary cause (``ok`` when trusted).
        anchor: the anchor the chain reaches for it (trusted only).
        params: the primary finding's params when refused (why).
    """

    client: str
    trusted: bool
    cause: Code
    anchor: CertInfo | None = None
    params: Mapping[str, object] = field(default_factory=dict)


@record
class ChainDiff:
    """The chain to serve compared with what the server presents today.

    Attributes:
        missing: certificates to add (not presented today).
        extra: certificates presented today that the chain leaves out
            (unrelated, stale, or the root).
        duplicates: certificates presented more than once.
        reordered: the certificates both have are in a different order (or
            the leaf is not first today).
    """

    missing: tuple[ChainCert, ...] = ()
    extra: tuple[CertInfo, ...] = ()
    duplicates: tuple[CertInfo, ...] = ()
    reordered: bool = False

    @property
    def unchanged(self) -> bool:
        return not (self.missing or self.extra or self.duplicates or self.reordered)


@record
class BundlePlan:
    """What :func:`plan_bundle` chose.

    Attributes:
        ok: every selected client trusts ``chain``.
        chain: leaf first, then intermediates in order (then the root with
            ``include_root``).  When not ``ok``, the best chain found (it may
            be the leaf alone).
        root: the anchor the chain ends at for the first trusting client
            (included in ``chain`` only when ``root_included``).
        root_included: the root was appended.
        clients: one result per selected client, in the order given.
        reasons: why this chain, why not the others, what about the root.
        diff: against what the server presents today.
        considered: how many candidate chains were judged.
    """

    ok: bool
    chain: tuple[ChainCert, ...]
    root: CertInfo | None
    root_included: bool
    clients: tuple[ClientResult, ...]
    reasons: tuple[Reason, ...]
    diff: ChainDiff
    considered: int

    @property
    def pem(self) -> str:
        """The chain as PEM, ready for nginx ``ssl_certificate`` and the like."""
        return "".join(pem_text(c.cert.der) for c in self.chain)


# -- choosing ------------------------------------------------------------------------------


@record
class _Option:
    """One candidate set of intermediates for a bundle, with how each client judges it."""

    inter: tuple[CertInfo, ...]
    evals: tuple[Evaluation, ...]
    key: tuple[object, ...]
    tops: tuple[CertInfo, ...] = ()  # anchors the trusting clients end at


def plan_bundle(
    leaf: CertInfo,
    *,
    presented: Sequence[PresentedCert],
    clients: Sequence[tuple[str, AnchorSet]],
    at: dt.datetime,
    supplied: Sequence[PresentedCert] = (),
    fetched: Sequence[PresentedCert] = (),
    include_root: bool = False,
    policies: Mapping[str, Policy] | None = None,
) -> BundlePlan:
    """Pick the chain the server should present (see the module docstring).

    Args:
        leaf: the end-entity certificate.
        presented: what the server presents today, in its order (the leaf
            among them, usually first); used as candidates and for the diff.
        clients: ``(name, anchors)`` of every client the chain must satisfy.
        at: the evaluation time.
        supplied: extra untrusted intermediates (files the user gave).
        fetched: untrusted intermediates fetched through AIA.
        include_root: append the self-signed root the chain ends at.
        policies: per-client policy overrides.
    """
    if not clients:
        raise ValueError("no client selected")
    if at.tzinfo is None:
        at = at.replace(tzinfo=dt.UTC)
    # Every candidate once; the first origin wins (presented > supplied > fetched).
    sources: dict[str, tuple[CertInfo, str, str]] = {}
    for origin, items in ((PRESENTED, presented), (SUPPLIED, supplied), (FETCHED, fetched)):
        for p in items:
            if p.cert.sha256 != leaf.sha256:
                sources.setdefault(p.cert.sha256, (p.cert, origin, p.provenance.label()))
    pool = [Candidate(c, origin) for c, origin, _ in sources.values()]
    pols = {n: (policies or {}).get(n) or policy_for(n) for n, _ in clients}
    valid = [c.sha256 for c, _, _ in sources.values() if c.valid_at(at)]
    for _, anchors in clients:
        valid += [a.cert.sha256 for a in anchors.anchors if a.cert.valid_at(at)]

    options: dict[tuple[str, ...], tuple[CertInfo, ...]] = {}
    for name, anchors in clients:
        search = build_paths(leaf, pool, anchors, pols[name], valid_fps=valid)
        for path in search.paths:
            if path.anchored:
                inter = path.certs[1:-1]
                options.setdefault(tuple(c.sha256 for c in inter), inter)
    today = {c.sha256 for c, o, _ in sources.values() if o == PRESENTED}
    # Pre-order on the cheap parts of the final key (everything but the
    # per-client judgement), so the cap keeps the likely winners.
    pre = sorted(
        options.values(),
        key=lambda t: (
            sum(not c.valid_at(at) for c in t),
            len(t),
            sum(_weakness(c) for c in t),
            -min((c.not_after.timestamp() for c in t), default=float("inf")),
            sum(c.sha256 not in today for c in t),
            [c.sha256 for c in t],
        ),
    )[:MAX_OPTIONS]
    judged = [_judge(inter, leaf, clients, pols, at, today) for inter in pre]
    judged.sort(key=lambda o: o.key)
    n = len(clients)

    reasons: list[Reason] = []
    if judged:
        best = judged[0]
        results = _results(best.evals)
        ok = all(r.trusted for r in results)
    else:
        best = None
        # No path reaches any anchor of any client: say why, per client.
        known = [leaf, *(c for c, _, _ in sources.values())]
        results = tuple(_result(e) for e in _evaluate(leaf, pool, known, clients, pols, at))
        ok = False
    inter = best.inter if best is not None else ()

    if ok:
        anchors_used = [f"{r.client}: {r.anchor.subject}" for r in results if r.anchor]
        reasons.append(
            Reason("path-found", {"clients": [r.client for r in results], "anchors": anchors_used})
        )
    else:
        # One reason per distinct failure; the clients sharing it are listed.
        grouped: dict[tuple[str, str, str, str], list[str]] = {}
        for r in results:
            if not r.trusted:
                code = "no-path" if best is None or _no_anchor(r) else "refused"
                key = (
                    code,
                    r.cause.value,
                    str(r.params.get("issuer", "")),
                    str(r.params.get("subject", "")),
                )
                grouped.setdefault(key, []).append(r.client)
        for (code, cause, issuer, subject), names in grouped.items():
            reasons.append(
                Reason(
                    code,
                    {
                        "client": names[0],
                        "clients": names,
                        "cause": cause,
                        "issuer": issuer,
                        "subject": subject,
                    },
                )
            )
    if best is not None:
        others = [o for o in judged[1:]]
        if not others:
            reasons.append(Reason("only-path"))
        for o in others[:MAX_REASONS]:
            reasons.append(_why_not(o, best, n, at))

    # The root.
    root: CertInfo | None = next((r.anchor for r in results if r.anchor is not None), None)
    distinct = {r.anchor.sha256 for r in results if r.anchor is not None}
    if len(distinct) > 1:
        reasons.append(
            Reason(
                "roots-differ",
                {"roots": [f"{r.client}: {r.anchor.subject}" for r in results if r.anchor]},
            )
        )
    root_included = False
    chain = [ChainCert(leaf, "leaf", _label(presented, leaf))]
    for c in inter:
        chain.append(ChainCert(c, sources[c.sha256][1], sources[c.sha256][2]))
    if root is not None:
        if include_root:
            if root.self_issued and root.self_signed:
                chain.append(ChainCert(root, "anchor", _anchor_label(clients, root)))
                root_included = True
                reasons.append(Reason("root-included", {"root": root.subject}))
            else:
                reasons.append(Reason("root-not-self-signed", {"top": root.subject}))
        else:
            reasons.append(Reason("root-omitted", {"root": root.subject}))

    return BundlePlan(
        ok=ok,
        chain=tuple(chain),
        root=root,
        root_included=root_included,
        clients=results,
        reasons=tuple(reasons),
        diff=diff_chains(presented, chain),
        considered=len(judged),
    )


def _no_anchor(r: ClientResult) -> bool:
    return r.cause in (
        Code.MISSING_INTERMEDIATE,
        Code.UNTRUSTED_ROOT,
        Code.OUTDATED_STORE,
        Code.SELF_SIGNED_LEAF,
    )


def _evaluate(
    leaf: CertInfo,
    pool: Sequence[Candidate],
    presented: Sequence[CertInfo],
    clients: Sequence[tuple[str, AnchorSet]],
    pols: Mapping[str, Policy],
    at: dt.datetime,
) -> tuple[Evaluation, ...]:
    """Every client's evaluation of ``leaf`` built from ``pool`` (no host name checked)."""
    return tuple(
        evaluate(
            name,
            leaf,
            pool,
            anchors,
            pols[name],
            at=at,
            host=None,
            presented=list(presented),
            reference={},
        )
        for name, anchors in clients
    )


def _judge(
    inter: tuple[CertInfo, ...],
    leaf: CertInfo,
    clients: Sequence[tuple[str, AnchorSet]],
    pols: Mapping[str, Policy],
    at: dt.datetime,
    today: set[str],
) -> _Option:
    pool = [Candidate(c, PRESENTED) for c in inter]
    evals = _evaluate(leaf, pool, [leaf, *inter], clients, pols, at)
    trusted = sum(e.verdict.trusted for e in evals)
    # Anchors actually used count for strength too (a path to an RSA-1024 root is weaker).
    tops = {e.path.top.sha256: e.path.top for e in evals if e.verdict.trusted}
    key: tuple[object, ...] = (
        sum(not c.valid_at(at) for c in inter),
        -trusted,
        len(inter),
        sum(_weakness(c) for c in inter) + sum(_weakness(t, top=True) for t in tops.values()),
        -min((c.not_after.timestamp() for c in inter), default=float("inf")),
        sum(c.sha256 not in today for c in inter),
        tuple(c.sha256 for c in inter),
    )
    return _Option(inter, evals, key, tuple(tops.values()))


def _weakness(c: CertInfo, *, top: bool = False) -> int:
    w = 0
    # A self-signed root's own signature is never checked by any client.
    if not (top and c.self_issued) and (c.signature_hash or "").lower() in WEAK_HASHES:
        w += 1
    if c.key_type == "RSA" and c.key_bits < MIN_RSA_BITS:
        w += 1
    if c.key_type == "DSA":
        w += 1
    return w


def _weak_detail(c: CertInfo) -> str:
    h = (c.signature_hash or "").lower()
    if h in WEAK_HASHES:
        return f"signed with {h}"
    if c.key_type == "RSA" and c.key_bits < MIN_RSA_BITS:
        return f"RSA-{c.key_bits} key"
    return f"{c.key_type} key"


def _why_not(o: _Option, best: _Option, n: int, at: dt.datetime) -> Reason:
    alt = [c.subject for c in o.inter]
    base: dict[str, object] = {"alternative": alt}
    k, b = o.key, best.key
    if k[0] != b[0]:
        bad = next(c for c in o.inter if not c.valid_at(at))
        return Reason(
            "rejected-expired",
            {
                **base,
                "subject": bad.subject,
                "issuer": bad.issuer,
                "not_after": bad.not_after.isoformat(),
            },
        )
    if k[1] != b[1]:
        refusing = [e.verdict for e in o.evals if not e.verdict.trusted]
        return Reason(
            "rejected-untrusted",
            {
                **base,
                "refused_by": [v.client for v in refusing],
                "cause": refusing[0].cause.value if refusing else "",
            },
        )
    if k[2] != b[2]:
        return Reason(
            "rejected-longer", {**base, "length": len(o.inter), "chosen_length": len(best.inter)}
        )
    if k[3] != b[3]:
        weak = [c for c in o.inter if _weakness(c)]
        weak += [t for t in o.tops if _weakness(t, top=True)]
        return Reason(
            "rejected-weaker",
            {
                **base,
                "subject": weak[0].subject if weak else "",
                "detail": _weak_detail(weak[0]) if weak else "",
            },
        )
    if k[4] != b[4] and o.inter:
        soonest = min(o.inter, key=lambda c: c.not_after)
        return Reason(
            "rejected-shorter-lived",
            {**base, "subject": soonest.subject, "not_after": soonest.not_after.isoformat()},
        )
    if k[5] != b[5]:
        return Reason("rejected-more-changes", {**base, "changes": k[5]})
    return Reason("rejected-equivalent", base)


def _result(ev: Evaluation) -> ClientResult:
    v = ev.verdict
    anchor = ev.path.top if v.trusted and ev.path.anchored else None
    params = dict(v.findings[0].params) if v.findings else {}
    return ClientResult(v.client, v.trusted, v.cause, anchor, params)


def _results(evals: Sequence[Evaluation]) -> tuple[ClientResult, ...]:
    return tuple(_result(e) for e in evals)


def _label(presented: Sequence[PresentedCert], cert: CertInfo) -> str:
    for p in presented:
        if p.cert.sha256 == cert.sha256:
            return p.provenance.label()
    return ""


def _anchor_label(clients: Sequence[tuple[str, AnchorSet]], cert: CertInfo) -> str:
    for _, s in clients:
        a = s.find(cert.sha256)
        if a is not None:
            return a.provenance.label()
    return ""


def diff_chains(presented: Sequence[PresentedCert], chain: Sequence[ChainCert]) -> ChainDiff:
    """Compare today's presented list with the chain to serve."""
    want = [c.cert.sha256 for c in chain]
    want_set = set(want)
    counts: dict[str, int] = {}
    unique: list[CertInfo] = []
    for p in presented:
        counts[p.cert.sha256] = counts.get(p.cert.sha256, 0) + 1
        if counts[p.cert.sha256] == 1:
            unique.append(p.cert)
    have = {c.sha256 for c in unique}
    missing = tuple(c for c in chain if c.cert.sha256 not in have)
    extra = tuple(c for c in unique if c.sha256 not in want_set)
    dups = tuple(c for c in unique if counts[c.sha256] > 1)
    common_today = [c.sha256 for c in unique if c.sha256 in want_set]
    common_want = [fp for fp in want if fp in have]
    reordered = common_today != common_want or (
        bool(presented) and bool(chain) and presented[0].cert.sha256 != chain[0].cert.sha256
    )
    return ChainDiff(missing=missing, extra=extra, duplicates=dups, reordered=reordered)


# -- the private key --------------------------------------------------------------------


@record
class PrivateKeys:
    """The public halves of the private keys in a ``--key`` file (never the keys).

    Attributes:
        name: the file, for messages.
        spki_sha256: SHA-256 of each key's SubjectPublicKeyInfo, in file order.
        kinds: each key's type (``RSA``, ``EllipticCurve``, ``Ed25519``...).
    """

    name: str
    spki_sha256: tuple[str, ...]
    kinds: tuple[str, ...]

    def matches(self, leaf: CertInfo) -> bool:
        return leaf.spki_sha256 in self.spki_sha256

    def kind_for(self, leaf: CertInfo) -> str:
        if self.matches(leaf):
            return self.kinds[self.spki_sha256.index(leaf.spki_sha256)]
        return self.kinds[0] if self.kinds else ""


_PEM_ANY = re.compile(rb"-----BEGIN ([A-Z0-9 ]{1,40})-----.{0,200000}?-----END \1-----", re.S)


def load_private_keys(data: bytes, name: str, *, password: bytes | None = None) -> PrivateKeys:
    """Parse the private key(s) in ``data`` and keep only their public halves.

    Accepts PEM (PKCS#8, PKCS#1 RSA, SEC1 EC, encrypted PKCS#8 or legacy
    encrypted PEM with ``password``, OpenSSH) with any text around it (a
    HAProxy PEM holding certificate and key together), or DER.

    Raises:
        InputError: no key, an unreadable key, an encrypted key without (or
            with the wrong) password.  Messages name ``name`` only; nothing
            from the key is ever included.
    """
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives import serialization

    keys: list[object] = []
    blocks = [m for m in _PEM_ANY.finditer(data) if m.group(1).decode() in PRIVATE_KEY_LABELS]
    try:
        if blocks:
            for m in blocks:
                text = m.group(0)
                if m.group(1) == b"OPENSSH PRIVATE KEY":
                    keys.append(serialization.load_ssh_private_key(text, password))
                else:
                    keys.append(serialization.load_pem_private_key(text, password))
        elif b"-----BEGIN" in data:
            raise InputError(f"{name}: no private key in this file (only other PEM blocks)")
        elif not data.strip():
            raise InputError(f"{name}: empty file, not a private key")
        else:
            keys.append(serialization.load_der_private_key(data, password))
    except TypeError:
        # cryptography: "Password was not given but private key is encrypted"
        # (or a password given for a key that is not encrypted).
        if not password:  # None, or b"" from an empty password file
            raise InputError(
                f"{name}: the private key is encrypted; give its password with --key-password-file"
            ) from None
        raise InputError(
            f"{name}: the private key is not encrypted; drop --key-password-file"
        ) from None
    except (ValueError, UnsupportedAlgorithm):
        what = "not a readable private key" + (" (or a wrong password)" if password else "")
        raise InputError(f"{name}: {what}") from None
    fps: list[str] = []
    kinds: list[str] = []
    for k in keys:
        pub = k.public_key()  # type: ignore[attr-defined]
        der = pub.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        fps.append(digest.sha256(der).hexdigest())
        kinds.append(_key_kind(pub))
    return PrivateKeys(name, tuple(fps), tuple(kinds))


def _key_kind(pub: object) -> str:
    kind, bits, curve = key_facts(pub)
    if kind == "RSA":
        return f"RSA-{bits}"
    if kind == "EC":
        return f"ECDSA {curve}"
    return kind


__all__ = [
    "REASONS",
    "BundlePlan",
    "ChainCert",
    "ChainDiff",
    "ClientResult",
    "PrivateKeys",
    "Reason",
    "diff_chains",
    "load_private_keys",
    "plan_bundle",
]
