"""Judge a presented chain for a set of clients (pure).

This is the single entry point the API uses for ``chain`` and ``diagnose``:
certificates and anchor sets in, a :class:`Diagnosis` out.
"""

from __future__ import annotations

import datetime as dt
from collections import ChainMap
from collections.abc import Callable, Mapping, Sequence

from ..model.anchors import AnchorSet
from ..model.cert import CertInfo, Provenance
from ..model.diagnosis import ClientVerdict, Diagnosis, PresentedCert, Verdict
from ..model.findings import Code, Finding, Severity, Side
from ..model.record import replace
from .pathbuild import FETCHED, PRESENTED, SUPPLIED, Candidate
from .policies import Policy, policy_for
from .rules import Evaluation, chain_findings, evaluate, overall

# A hook the trust-store layer gives to refine a client's verdict with store
# evidence (stale bundle, env override, a process older than its store...):
# (verdict, last certificate of the best path) -> verdict.  Called for every
# verdict, trusted ones included.
Refiner = Callable[[ClientVerdict, CertInfo], ClientVerdict]


def pick_leaf(presented: Sequence[PresentedCert]) -> int:
    """Index of the leaf: the first certificate, unless the input says otherwise.

    A chain pasted root-first starts with a CA; when exactly one certificate
    is not a CA, that one is the end entity.
    """
    if not presented:
        raise ValueError("no certificates")
    first = presented[0].cert
    if first.is_ca:
        non_ca = [i for i, p in enumerate(presented) if not p.cert.is_ca]
        if len(non_ca) == 1:
            return non_ca[0]
    return 0


def judge(
    presented: Sequence[PresentedCert],
    *,
    clients: Sequence[tuple[str, AnchorSet]],
    at: dt.datetime,
    host: str | None = None,
    supplied: Sequence[PresentedCert] = (),
    fetched: Sequence[PresentedCert] = (),
    reference: Mapping[str, AnchorSet] | None = None,
    refiners: Mapping[str, Refiner] | None = None,
    leaf_index: int | None = None,
    extra_findings: Sequence[Finding] = (),
    policies: Mapping[str, Policy] | None = None,
    explicit_anchors: bool = False,
) -> Diagnosis:
    """Evaluate the chain under every client model.

    Args:
        presented: certificates as presented (server order); the leaf is
            picked by :func:`pick_leaf` unless ``leaf_index`` is given.
        clients: ``(client name, its anchors)`` in priority order.
        at: the evaluation time (aware datetime).
        host: the peer name to check, or None.
        supplied: extra untrusted intermediates given by the user.
        fetched: untrusted intermediates fetched via AIA.
        reference: named anchor sets that are not the clients' own (the
            Mozilla set as ``mozilla``), used to prove a missing issuer is a root.
        refiners: per-client hooks adding store evidence.
        policies: per-client policy overrides (e.g. a chain-depth limit).
        explicit_anchors: the anchors were given by the user (``--trust``),
            so "supply the root you expect" is no longer advice to give.
    """
    if at.tzinfo is None:
        at = at.replace(tzinfo=dt.UTC)
    li = pick_leaf(presented) if leaf_index is None else leaf_index
    leaf = presented[li].cert
    pool = [Candidate(p.cert, PRESENTED) for i, p in enumerate(presented) if i != li]
    pool += [Candidate(p.cert, SUPPLIED) for p in supplied]
    pool += [Candidate(p.cert, FETCHED) for p in fetched]
    ref: Mapping[str, AnchorSet] = reference or {}
    evals: list[Evaluation] = []
    verdicts: list[ClientVerdict] = []
    for name, anchors in clients:
        own = {n: a for n, a in clients if n != name and len(a)}
        # ChainMap reads ``ref`` only when consulted (the reference may load lazily).
        others: Mapping[str, AnchorSet] = ChainMap(own, ref)  # type: ignore[arg-type]
        policy = (policies or {}).get(name) or policy_for(name)
        ev = evaluate(
            name,
            leaf,
            pool,
            anchors,
            policy,
            at=at,
            host=host,
            presented=[p.cert for p in presented],
            reference=others,
        )
        v = replace(ev.verdict, version=policy.version)
        if refiners and name in refiners:
            v = refiners[name](v, ev.path.top)
        if explicit_anchors and "supply-root" in v.settle:
            v = replace(v, settle=tuple(s for s in v.settle if s != "supply-root"))
        evals.append(ev)
        verdicts.append(v)
    used: set[str] = set()
    for ev in evals:
        used.update(c.sha256 for c in ev.path.certs)
    ordered = list(presented)
    if li != 0:
        ordered = [presented[li], *presented[:li], *presented[li + 1 :]]
    findings = chain_findings(ordered, used, [a for _, a in clients], at, host)
    if li != 0 and not any(f.code == Code.WRONG_ORDER for f in findings):
        # The leaf is not first: the order to serve is the leaf, then the
        # presented certificates along the best path, then the others.
        presented_fps = {p.cert.sha256 for p in presented}
        best = next((ev.path for ev in evals if ev.path.certs), None)
        along = [c for c in (best.certs if best else ()) if c.sha256 in presented_fps]
        rest = [p.cert for p in ordered if p.cert.sha256 not in {c.sha256 for c in along}]
        expected = [leaf, *[c for c in along if c.sha256 != leaf.sha256], *rest]
        findings.insert(
            0,
            Finding(
                Code.WRONG_ORDER,
                Severity.WARNING,
                Side.SERVER,
                {
                    "leaf_position": li + 1,
                    "presented": [p.cert.subject for p in presented],
                    "expected": list(dict.fromkeys(c.subject for c in expected)),
                },
                (leaf.sha256,),
            ),
        )
    findings.extend(extra_findings)
    findings.extend(disagreement(verdicts))
    certificates: dict[str, CertInfo] = {}
    provenance: dict[str, Provenance] = {}
    for p in [*presented, *supplied, *fetched]:
        certificates.setdefault(p.cert.sha256, p.cert)
    for (_name, anchors), ev in zip(clients, evals, strict=True):
        for c in ev.path.certs:
            certificates.setdefault(c.sha256, c)
            a = anchors.find(c.sha256)
            if a is not None:
                provenance.setdefault(c.sha256, a.provenance)
    return Diagnosis(
        leaf=leaf,
        presented=tuple(presented),
        supplied=tuple(supplied) + tuple(fetched),
        host=host,
        at=at,
        clients=tuple(verdicts),
        findings=tuple(findings),
        verdict=overall_verdict(verdicts),
        certificates=certificates,
        anchor_provenance=provenance,
    )


def overall_verdict(verdicts: Sequence[ClientVerdict]) -> Verdict:
    """The diagnosis-level verdict of the per-client ones (``params``: the first refusal's)."""
    trusted, cause, side, conf = overall(verdicts)
    refusing = [v for v in verdicts if not v.trusted]
    params: dict[str, object] = {}
    if refusing and refusing[0].findings:
        params = dict(refusing[0].findings[0].params)
    return Verdict(
        trusted=trusted,
        cause=cause,
        side=side,
        confidence=conf,
        clients_trusting=tuple(v.client for v in verdicts if v.trusted),
        clients_refusing=tuple(v.client for v in refusing),
        params=params,
        sides=acting_sides(refusing),
    )


# Who acts first when several must: the server's chain, then the network, then
# the clients (a client given the root still fails while the chain is broken).
SIDE_ORDER: tuple[Side, ...] = (Side.SERVER, Side.NETWORK, Side.CLIENT)


def acting_sides(refusing: Sequence[ClientVerdict]) -> tuple[Side, ...]:
    """Every side an error of a refusing client belongs to, in :data:`SIDE_ORDER`."""
    found = {v.side for v in refusing}
    errors = (f for v in refusing for f in v.findings if f.severity == Severity.ERROR)
    found |= {f.side for f in errors}  # (the code's side, unless the finding knows better)
    return tuple(s for s in SIDE_ORDER if s in found)


def disagreement(verdicts: Sequence[ClientVerdict]) -> list[Finding]:
    """``client-disagreement`` when the clients' causes differ (none when they agree)."""
    causes = {v.client: v.cause.value for v in verdicts}
    if len(set(causes.values())) <= 1:
        return []
    return [
        Finding(
            Code.CLIENT_DISAGREEMENT,
            Severity.INFO,
            Side.NONE,
            {
                "trusting": [v.client for v in verdicts if v.trusted],
                "refusing": [v.client for v in verdicts if not v.trusted],
                "causes": [f"{k}={c}" for k, c in causes.items()],
            },
        )
    ]
