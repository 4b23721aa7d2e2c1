"""``diagnose``: fetch what an endpoint presents and judge it for every client.

The I/O edge for live endpoints: DNS, the handshake (sources/network.py), the
trust-store models (stores/), then the pure engine.

Two steps, so a caller can skip the expensive second one when the first
failed: :func:`fetch_all` (the network: one handshake per address, every
problem a :class:`~trustdoctor.errors.ConnectError` result) and
:func:`judge_fetch` (pure given its inputs: each distinct presented chain
through the engine, interception, differing chains).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from ..engine.judge import Refiner, judge
from ..errors import ConnectError
from ..model.anchors import AnchorSet
from ..model.diagnosis import ClientVerdict, Diagnosis
from ..model.findings import CODE_SIDE, Code, Confidence, Finding, Severity, Side
from ..sources.target import Target

if TYPE_CHECKING:
    from ..sources.network import FetchResult

# Causes that mean "no path to an anchor": an interception CA explains them.
NO_PATH = frozenset(
    {Code.UNTRUSTED_ROOT, Code.MISSING_INTERMEDIATE, Code.SELF_SIGNED_LEAF, Code.OUTDATED_STORE}
)

# ``--all-addresses``: handshakes run in parallel, at most this many at once
# (each is one socket and one thread; a name with hundreds of records must not
# open hundreds of connections at the same instant).
MAX_PARALLEL = 8

# The Mozilla reference set, or a function loading it on demand (parsing
# certifi's ~150 roots costs ~30 ms: a trusted chain fetched without a proxy
# never needs it).
MozillaRef = AnchorSet | Callable[[], AnchorSet | None] | None


@dataclass(frozen=True)
class AddressResult:
    """One address of the target: what it presented, or why it could not."""

    address: str
    fetch: FetchResult | None
    error: ConnectError | None


@dataclass(frozen=True)
class EndpointDiagnosis:
    """The outcome of ``diagnose``.

    Attributes:
        target: what was asked for.
        results: one entry per address tried (one unless ``--all-addresses``).
        diagnosis: the judged chain: the first address whose chain is *not*
            trusted, else the first address that delivered a chain; ``None``
            when no address delivered a chain (then ``error`` says why).
        error: the first connection error when nothing could be judged.
        judged: ``(address, diagnosis)`` for every address that delivered a
            chain (addresses serving the same chain share one diagnosis).
        address: the address whose chain ``diagnosis`` judges.
    """

    target: Target
    results: tuple[AddressResult, ...]
    diagnosis: Diagnosis | None  # None: nothing could be judged
    error: ConnectError | None
    judged: tuple[tuple[str, Diagnosis], ...] = ()
    address: str | None = None


def fetch_all(
    target: Target,
    *,
    timeout: float,
    proxy: str | None,
    env: Mapping[str, str] | None,
    all_addresses: bool,
    family: int = 0,
) -> list[AddressResult]:
    """One handshake (or, with ``all_addresses``, one per A/AAAA record).

    Connection problems become :class:`AddressResult` entries with ``error``
    set.  Raises only :class:`~trustdoctor.errors.UsageError` (a bad
    ``--proxy``, ``--timeout``...).
    """
    from ..sources.network import fetch_chain, resolve_addresses

    if not all_addresses:
        try:
            r = fetch_chain(target, timeout=timeout, proxy=proxy, env=env, family=family)
            return [AddressResult(r.address, r, None)]
        except ConnectError as exc:
            return [AddressResult(target.connect_hostport, None, exc)]
    try:
        addresses = resolve_addresses(target, family=family, timeout=timeout)
    except ConnectError as exc:
        return [AddressResult(target.connect_hostport, None, exc)]
    if len(addresses) == 1:
        return [_fetch_one(fetch_chain, target, addresses[0], timeout, proxy, env)]
    # Every address gets the whole budget, in parallel: N slow nodes must not
    # take N × --timeout.
    import threading

    out: list[AddressResult | None] = [None] * len(addresses)
    failures: list[BaseException] = []

    def work(i: int, ip: str) -> None:
        try:
            out[i] = _fetch_one(fetch_chain, target, ip, timeout, proxy, env)
        except BaseException as exc:  # re-raised in the caller's thread below
            failures.append(exc)

    for start in range(0, len(addresses), MAX_PARALLEL):
        threads = [
            threading.Thread(target=work, args=(i, ip), name=f"fetch {ip}", daemon=True)
            for i, ip in enumerate(addresses[start : start + MAX_PARALLEL], start)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if failures:
            raise failures[0]
    return [r for r in out if r is not None]


def _fetch_one(
    fetch: Callable[..., FetchResult],
    target: Target,
    ip: str,
    timeout: float,
    proxy: str | None,
    env: Mapping[str, str] | None,
) -> AddressResult:
    from ..sources.target import format_hostport

    where = format_hostport(ip, target.connect_port)
    try:
        r = fetch(target, timeout=timeout, proxy=proxy, env=env, address=ip)
    except ConnectError as exc:
        return AddressResult(where, None, exc)
    return AddressResult(r.address, r, None)


def judge_fetch(
    target: Target,
    results: Sequence[AddressResult],
    *,
    clients: Sequence[tuple[str, AnchorSet]],
    refiners: Mapping[str, Refiner] | None,
    reference: Mapping[str, AnchorSet],
    mozilla: MozillaRef,
    at: dt.datetime,
    extra_findings: Sequence[Finding] = (),
) -> EndpointDiagnosis:
    """Judge every distinct chain the addresses presented.

    The diagnosis shown is the first chain some client refuses (a node that
    omits the intermediate breaks clients whichever node is healthy), else the
    first chain.  Addresses serving different chains add a
    ``different-chains`` finding naming each address and its verdict.

    Args:
        mozilla: the Mozilla reference roots for interception detection, or a
            function loading them (called only when a client refuses the
            chain or a proxy was used), or ``None``.
        extra_findings: chain-level findings from the caller (e.g. anchors Go
            ignores in a ``--trust`` file).
    """
    ok = [r for r in results if r.fetch is not None and r.fetch.chain]
    if not ok:
        err = next((r.error for r in results if r.error is not None), None)
        if err is None:
            err = ConnectError(
                f"{target.display}: the server presented no certificate", "handshake-failed"
            )
        return EndpointDiagnosis(target, tuple(results), None, err)

    groups: dict[tuple[str, ...], list[AddressResult]] = {}
    for r in ok:
        assert r.fetch is not None
        groups.setdefault(tuple(p.cert.sha256 for p in r.fetch.chain), []).append(r)
    diags: list[tuple[list[AddressResult], Diagnosis]] = []
    for members in groups.values():
        fetched = members[0].fetch
        assert fetched is not None
        diag = _judge_one(
            target,
            fetched,
            clients=clients,
            refiners=refiners,
            reference=reference,
            mozilla=mozilla,
            at=at,
            extra_findings=extra_findings,
        )
        diags.append((members, diag))
    members, primary = next(((m, d) for m, d in diags if not d.verdict.trusted), diags[0])
    if len(diags) > 1:
        primary = replace(primary, findings=(*primary.findings, _different_chains(diags)))
        diags = [(m, primary if m is members else d) for m, d in diags]
    judged = tuple((r.address, d) for m, d in diags for r in m)
    return EndpointDiagnosis(
        target, tuple(results), primary, None, judged=judged, address=members[0].address
    )


def _judge_one(
    target: Target,
    fetched: FetchResult,
    *,
    clients: Sequence[tuple[str, AnchorSet]],
    refiners: Mapping[str, Refiner] | None,
    reference: Mapping[str, AnchorSet],
    mozilla: MozillaRef,
    at: dt.datetime,
    extra_findings: Sequence[Finding],
) -> Diagnosis:
    from ..engine.interception import detect_interception

    extra = list(extra_findings)
    if fetched.client_cert_requested:
        extra.append(
            Finding(
                Code.CLIENT_CERT_REQUESTED,
                Severity.INFO,
                Side.NONE,
                {"handshake_error": fetched.handshake_error},
            )
        )
    diag = judge(
        list(fetched.chain),
        clients=clients,
        at=at,
        host=target.servername or target.host,
        reference=reference,
        refiners=refiners,
        leaf_index=0,
        extra_findings=extra,
    )
    proxied = fetched.proxy_used is not None
    roots: AnchorSet | None
    if callable(mozilla):
        # Without a proxy and with every client trusting, only a product
        # marker in the CA name is worth reporting: skip loading the reference.
        roots = mozilla() if (proxied or not diag.verdict.trusted) else None
    else:
        roots = mozilla
    intercept = detect_interception(
        [p.cert for p in fetched.chain],
        reference_roots=roots,
        proxy_in_use=proxied,
        servername=target.servername,
    )
    if intercept is not None:
        diag = _with_interception(diag, intercept)
    return diag


def _different_chains(diags: Sequence[tuple[list[AddressResult], Diagnosis]]) -> Finding:
    """One finding naming what each address serves and what the clients make of it."""
    addresses: list[str] = []
    chains: list[str] = []
    verdicts: list[str] = []
    certs: list[str] = []
    for members, d in diags:
        names = [r.address for r in members]
        addresses += names
        leaf = d.leaf
        chains.append(
            f"{', '.join(names)}: {len(d.presented)} certificate(s), leaf {leaf.short_fp} "
            f"'{leaf.display_name}'"
        )
        v = d.verdict
        verdicts.append(f"{', '.join(names)}: {'trusted' if v.trusted else v.cause.value}")
        certs += [p.cert.sha256 for p in d.presented if p.cert.sha256 not in certs]
    return Finding(
        Code.DIFFERENT_CHAINS,
        Severity.WARNING,
        Side.SERVER,
        {"addresses": addresses, "chains": chains, "verdicts": verdicts, "count": len(diags)},
        tuple(certs),
    )


def _with_interception(diag: Diagnosis, f: Finding) -> Diagnosis:
    """An inspection CA explains "no path to an anchor" better than the store does."""
    clients: list[ClientVerdict] = []
    for v in diag.clients:
        if not v.trusted and v.cause in NO_PATH:
            err = Finding(Code.INTERCEPTED, Severity.ERROR, Side.NETWORK, f.params, f.certs)
            v = replace(
                v,
                cause=Code.INTERCEPTED,
                side=Side.NETWORK,
                confidence=Confidence.HIGH,
                findings=(err, *v.findings),
                alternatives=(v.cause,),
                settle=(),
            )
        clients.append(v)
    refusing = [v for v in clients if not v.trusted]
    verdict = diag.verdict
    if refusing:
        first = refusing[0]
        verdict = replace(
            verdict,
            cause=first.cause,
            side=CODE_SIDE.get(first.cause, first.side),
            confidence=first.confidence,
            params=dict(first.findings[0].params) if first.findings else {},
        )
    return replace(
        diag,
        clients=tuple(clients),
        verdict=verdict,
        findings=(*diag.findings, f) if diag.verdict.trusted else diag.findings,
    )


__all__ = [
    "AddressResult",
    "EndpointDiagnosis",
    "fetch_all",
    "judge_fetch",
]
