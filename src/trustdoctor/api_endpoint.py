"""``diagnose``: fetch what an endpoint presents and judge it for every client.

The I/O edge for live endpoints: DNS, the handshake (sources/network.py), the
trust-store models (stores/), then the pure engine.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from .engine import Refiner, judge
from .errors import ConnectError
from .model.anchors import AnchorSet
from .model.diagnosis import ClientVerdict, Diagnosis
from .model.findings import CODE_SIDE, Code, Confidence, Finding, Severity, Side
from .sources.network import FetchResult
from .sources.target import Target

# Causes that mean "no path to an anchor": an interception CA explains them.
NO_PATH = frozenset(
    {Code.UNTRUSTED_ROOT, Code.MISSING_INTERMEDIATE, Code.SELF_SIGNED_LEAF, Code.OUTDATED_STORE}
)


@dataclass(frozen=True)
class AddressResult:
    """One address of the target: what it presented, or why it could not."""

    address: str
    fetch: FetchResult | None
    error: ConnectError | None


@dataclass(frozen=True)
class EndpointDiagnosis:
    target: Target
    results: tuple[AddressResult, ...]
    diagnosis: Diagnosis | None  # None: nothing could be judged
    error: ConnectError | None


def fetch_all(
    target: Target,
    *,
    timeout: float,
    proxy: str | None,
    env: Mapping[str, str] | None,
    all_addresses: bool,
    family: int = 0,
) -> list[AddressResult]:
    from .sources.network import fetch_chain, resolve_addresses

    if not all_addresses:
        try:
            r = fetch_chain(target, timeout=timeout, proxy=proxy, env=env, family=family)
            return [AddressResult(r.address, r, None)]
        except ConnectError as exc:
            return [AddressResult(target.connect_hostport, None, exc)]
    out = []
    try:
        addresses = resolve_addresses(target, family=family, timeout=timeout)
    except ConnectError as exc:
        return [AddressResult(target.connect_hostport, None, exc)]
    for ip in addresses:
        try:
            r = fetch_chain(target, timeout=timeout, proxy=proxy, env=env, address=ip)
            out.append(AddressResult(r.address, r, None))
        except ConnectError as exc:
            out.append(AddressResult(ip, None, exc))
    return out


def judge_fetch(
    target: Target,
    results: Sequence[AddressResult],
    *,
    clients: Sequence[tuple[str, AnchorSet]],
    refiners: Mapping[str, Refiner] | None,
    reference: Mapping[str, AnchorSet],
    mozilla: AnchorSet | None,
    at: dt.datetime,
) -> EndpointDiagnosis:
    """Judge the first address that delivered a chain; note differing chains."""
    from .interception import detect_interception

    ok = [r for r in results if r.fetch is not None and r.fetch.chain]
    if not ok:
        err = next((r.error for r in results if r.error is not None), None)
        if err is None:
            err = ConnectError(f"{target.display}: the server presented no certificate",
                               code="handshake-failed")
        return EndpointDiagnosis(target, tuple(results), None, err)
    first = ok[0].fetch
    assert first is not None
    extra: list[Finding] = []
    fps = {r.address: tuple(p.cert.sha256 for p in r.fetch.chain) for r in ok if r.fetch}
    if len(set(fps.values())) > 1:
        extra.append(Finding(Code.DIFFERENT_CHAINS, Severity.WARNING, Side.SERVER,
                             {"addresses": sorted(fps),
                              "chains": [f"{a}: {len(v)} certificate(s), leaf {v[0][:16]}"
                                         for a, v in sorted(fps.items())]}))
    if first.client_cert_requested:
        extra.append(Finding(Code.CLIENT_CERT_REQUESTED, Severity.INFO, Side.NONE,
                             {"handshake_error": first.handshake_error}))
    host = target.servername or target.host
    intercept = detect_interception(
        [p.cert for p in first.chain],
        reference_roots=mozilla,
        proxy_in_use=first.proxy_used is not None,
        servername=target.servername,
    )
    diag = judge(
        list(first.chain),
        clients=clients,
        at=at,
        host=host,
        reference=reference,
        refiners=refiners,
        leaf_index=0,
        extra_findings=extra,
    )
    if intercept is not None:
        diag = _with_interception(diag, intercept)
    return EndpointDiagnosis(target, tuple(results), diag, None)


def _with_interception(diag: Diagnosis, f: Finding) -> Diagnosis:
    """An inspection CA explains "no path to an anchor" better than the store does."""
    clients: list[ClientVerdict] = []
    for v in diag.clients:
        if not v.trusted and v.cause in NO_PATH:
            err = Finding(Code.INTERCEPTED, Severity.ERROR, Side.NETWORK, f.params, f.certs)
            v = replace(v, cause=Code.INTERCEPTED, side=Side.NETWORK, confidence=Confidence.HIGH,
                        findings=(err, *v.findings), alternatives=(v.cause,), settle=())
        clients.append(v)
    refusing = [v for v in clients if not v.trusted]
    verdict = diag.verdict
    if refusing:
        first = refusing[0]
        verdict = replace(verdict, cause=first.cause, side=CODE_SIDE.get(first.cause, first.side),
                          confidence=first.confidence,
                          params=dict(first.findings[0].params) if first.findings else {})
    return replace(diag, clients=tuple(clients), verdict=verdict,
                   findings=(*diag.findings, f) if diag.verdict.trusted else diag.findings)
