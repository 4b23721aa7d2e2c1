"""The endpoint question (``trustdoctor diagnose``): what a server presents, judged
for every client.

Two steps, so the expensive second one runs only when the first delivered a
chain: :func:`fetch_all` (the network: one handshake per address, every
problem a :class:`~trustdoctor.errors.ConnectError` result) and
:func:`judge_fetch` (each distinct presented chain through the judging
pipeline of :mod:`.chain`, interception, differing chains, then AIA and the
plan for the chain shown).  :func:`diagnose_endpoint` runs both.
"""

from __future__ import annotations

import datetime as dt
from _thread import allocate_lock  # threading.Lock itself (see sources/network.py)
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence

from ..clients import client_specs
from ..errors import ConnectError, UsageError
from ..model.anchors import AnchorSet
from ..model.causes import NO_PATH
from ..model.diagnosis import ClientVerdict, Diagnosis, PresentedCert
from ..model.findings import Code, Confidence, Finding, Severity, Side
from ..model.record import record, replace
from ..model.target import Target, parse_target
from .chain import confirm, finish, judge_presented, load_inputs
from .context import (
    Clients,
    TrustOptions,
    aia_route,
    check_serverless,
    client_server,
    client_set,
    client_target,
    default_registry,
    fix_context,
    load_trust_paths,
    network_env,
    now,
    open_context,
    select_clients,
    trust_label,
)
from .reference import mozilla_reference

TYPE_CHECKING = False  # typing's constant, without importing typing (model/record.py)
if TYPE_CHECKING:
    from threading import Event
    from typing import Any

    from ..fixes.model import FixContext, Plan
    from ..fixes.planner import PlanParts
    from ..fixes.porttemplate import PortTemplate
    from ..model.stores import StoreContext
    from ..render.doc import Doc
    from ..sources.aia import AiaCompletion, AiaOptions
    from ..sources.files import Loaded
    from ..sources.network import FetchResult


# ``--all-addresses``: handshakes run in parallel, at most this many at once
# (each is one socket and one thread; a name with hundreds of records must not
# open hundreds of connections at the same instant).
MAX_PARALLEL = 8

# The Mozilla reference set, or a function loading it on demand (parsing
# certifi's ~150 roots costs ~30 ms: a trusted chain fetched without a proxy
# never needs it).
MozillaRef = AnchorSet | Callable[[], AnchorSet | None] | None


@record
class AddressResult:
    """One address of the target: what it presented, or why it could not."""

    address: str
    fetch: FetchResult | None
    error: ConnectError | None


@record
class EndpointReport:
    """The answer to ``trustdoctor diagnose``.

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
        plan: the fix plan for ``diagnosis`` (or for the connection error).
        completion: the AIA search, when ``--fetch``/``--cache`` looked issuers up.
    """

    target: Target
    results: tuple[AddressResult, ...]
    diagnosis: Diagnosis | None  # None: nothing could be judged
    error: ConnectError | None
    judged: tuple[tuple[str, Diagnosis], ...] = ()
    address: str | None = None
    plan: Plan | None = None
    completion: AiaCompletion | None = None

    @property
    def trusted(self) -> bool:
        return self.diagnosis is not None and self.diagnosis.verdict.trusted

    def to_dict(self) -> dict[str, Any]:
        """The JSON document ``diagnose --format json`` prints (docs/json-schema.md)."""
        from ..render.endpoint import endpoint_to_dict

        return endpoint_to_dict(self)

    def to_text(self) -> Doc:
        """The report ``diagnose`` prints for people."""
        from ..render.endpoint import render_endpoint

        return render_endpoint(self)


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
    from ..model.target import format_hostport

    where = format_hostport(ip, target.connect_port)
    try:
        r = fetch(target, timeout=timeout, proxy=proxy, env=env, address=ip)
    except ConnectError as exc:
        return AddressResult(where, None, exc)
    return AddressResult(r.address, r, None)


@record
class ChainFacts:
    """Everything the judging of one presented chain reads, besides what is fixed
    for the whole question (the clients and their anchors, the time, the
    intermediates given, the AIA options).

    Attributes:
        chain: the certificates as presented (their provenance names the
            target, and is only carried into the diagnosis' ``presented``).
        host: the name checked (``--servername``, else the host), as written
            (its final dot kept: :attr:`~trustdoctor.model.target.Target.checked_name`).
        servername: the SNI name (interception detection weighs it).
        proxied: the chain came through an HTTP proxy.
        cert_requested: the server asked for a client certificate.
        handshake_error: how the handshake ended early, if it did.
    """

    chain: tuple[PresentedCert, ...]
    host: str
    servername: str | None
    proxied: bool
    cert_requested: bool
    handshake_error: str | None

    @classmethod
    def of(cls, target: Target, fetched: FetchResult) -> ChainFacts:
        return cls(
            chain=fetched.chain,
            host=target.checked_name,
            servername=target.servername,
            proxied=fetched.proxy_used is not None,
            cert_requested=fetched.client_cert_requested,
            handshake_error=fetched.handshake_error,
        )

    def key(self) -> tuple[object, ...]:
        """The facts without the provenance: certificates by fingerprint (a
        :class:`~trustdoctor.model.cert.CertInfo` is a function of its DER)."""
        return (
            tuple(p.cert.sha256 for p in self.chain),
            self.host,
            self.servername,
            self.proxied,
            self.cert_requested,
            self.handshake_error,
        )


# Judged chains a scan keeps (least recently used out).  An entry (a diagnosis
# for every client, its rendered JSON) is tens of kB: 256 keep a fleet's
# distinct chains at hand for ~10 MB, whatever the number of targets.
MEMO_SIZE = 256


class JudgedChain:
    """One distinct chain of a scan, judged once: the diagnosis after AIA (with
    the provenance of the first target that presented it), the completion, and
    what is made from it once for every target serving it: the client-side
    plan parts and the rendered JSON of the shared part."""

    def __init__(self, diagnosis: Diagnosis, completion: AiaCompletion | None) -> None:
        self.diagnosis = diagnosis
        self.completion = completion
        self.lock = allocate_lock()
        self.client_parts: PlanParts | None = None
        self.client_plan: Plan | None = None  # the parts merged, when no server part
        self.doc: dict[str, Any] | None = None  # diagnosis_to_dict(diagnosis)
        self.fragments: tuple[str, str] | None = None  # its JSON text (render.scan)
        self.has_server = False  # its plans have server parts
        self.plan_doc: dict[bool, dict[str, Any]] = {}  # client_plan's, by as_root
        self.plan_text: dict[bool, str] = {}  # the same, as JSON text
        # Its targets' own plans' steps, as JSON text (render.scan.plan_json_text).
        self.step_text: OrderedDict[tuple[object, ...], str] = OrderedDict()
        # Its server plans over the port, by endpoint shape (fixes/porttemplate.py):
        # the context they were learnt in (endpoint aside) and the template.
        self.templates: dict[tuple[object, ...], tuple[FixContext, PortTemplate | None]] = {}
        self.targets = 0


class ChainMemo:
    """The judging pipeline of a scan, memoised by :meth:`ChainFacts.key`.

    Two targets with the same key get the diagnosis the first one got, its
    ``presented`` replaced by their own certificates (the only place the
    provenance appears), so each gets exactly what ``diagnose`` alone gives
    it.  One memo per client set (the anchors, refiners and time are fixed).
    Bounded: the least recently used chains are forgotten past ``size``.
    Thread-safe; a chain being judged makes the other targets presenting it
    wait for that one judgement.
    """

    def __init__(self, size: int = MEMO_SIZE) -> None:
        self.size = size
        self.hits = 0
        self.misses = 0
        self._lock = allocate_lock()
        self._done: OrderedDict[tuple[object, ...], JudgedChain] = OrderedDict()
        self._pending: dict[tuple[object, ...], Event] = {}

    def __len__(self) -> int:
        return len(self._done)

    def get(self, facts: ChainFacts, judge: Callable[[], JudgedChain]) -> JudgedChain:
        key = facts.key()
        while True:
            with self._lock:
                hit = self._done.get(key)
                if hit is not None:
                    self._done.move_to_end(key)
                    self.hits += 1
                    hit.targets += 1
                    return hit
                wait = self._pending.get(key)
                if wait is None:
                    from threading import Event

                    event = self._pending[key] = Event()
                    self.misses += 1
                    break
            wait.wait()
        try:
            entry = judge()
            entry.targets = 1
            with self._lock:
                self._done[key] = entry
                if len(self._done) > self.size:
                    self._done.popitem(last=False)
            return entry
        finally:
            with self._lock:
                del self._pending[key]
            event.set()


def judge_fetch(
    target: Target,
    results: Sequence[AddressResult],
    clients: Clients,
    *,
    at: dt.datetime,
    aia: AiaOptions | None = None,
    fix: Callable[[], FixContext] | None = None,
    mozilla: MozillaRef = mozilla_reference,
    supplied: Sequence[PresentedCert] = (),
    memo: ChainMemo | None = None,
) -> EndpointReport:
    """Judge every distinct chain the addresses presented.

    The diagnosis shown is the first chain some client refuses (a node that
    omits the intermediate breaks clients whichever node is healthy), else the
    first chain.  Addresses serving different chains add a
    ``different-chains`` finding naming each address and its verdict.  AIA
    confirmation and the plan are made for the chain shown.

    Args:
        mozilla: the Mozilla reference roots for interception detection, or a
            function loading them (called only when a client refuses the
            chain or a proxy was used), or ``None``.
        memo: a scan's judged chains (one address per target): a chain judged
            for another target with the same :meth:`ChainFacts.key` is not
            judged again.
    """
    ok = [r for r in results if r.fetch is not None and r.fetch.chain]
    if not ok:
        err = next((r.error for r in results if r.error is not None), None)
        if err is None:
            err = ConnectError(
                f"{target.display}: the server presented no certificate", "handshake-failed"
            )
        return EndpointReport(target, tuple(results), None, err)

    groups: dict[tuple[str, ...], list[AddressResult]] = {}
    for r in ok:
        assert r.fetch is not None
        groups.setdefault(tuple(p.cert.sha256 for p in r.fetch.chain), []).append(r)
    if len(groups) == 1:  # one chain: the common case, and every target of a scan
        (members,) = groups.values()
        report, _, _ = judge_chain_of(
            target, results, members, clients, at=at, aia=aia, fix=fix, mozilla=mozilla,
            supplied=supplied, memo=memo,
        )  # fmt: skip
        return report
    diags: list[tuple[list[AddressResult], Diagnosis]] = []
    for members in groups.values():
        fetched = members[0].fetch
        assert fetched is not None
        facts = ChainFacts.of(target, fetched)
        one = _judge_one(facts, clients, at=at, mozilla=mozilla, supplied=supplied)
        diags.append((members, one))
    members, primary = next(((m, d) for m, d in diags if not d.verdict.trusted), diags[0])
    primary = replace(primary, findings=(*primary.findings, _different_chains(diags)))
    done = finish(primary, clients, aia=aia, fix=fix)
    primary = done.diagnosis
    diags = [(m, primary if m is members else d) for m, d in diags]
    judged_at = tuple((r.address, d) for m, d in diags for r in m)
    return EndpointReport(
        target,
        tuple(results),
        primary,
        None,
        judged=judged_at,
        address=members[0].address,
        plan=done.plan,
        completion=done.completion,
    )


def judge_chain_of(
    target: Target,
    results: Sequence[AddressResult],
    members: Sequence[AddressResult],
    clients: Clients,
    *,
    at: dt.datetime,
    aia: AiaOptions | None,
    fix: Callable[[], FixContext] | None,
    mozilla: MozillaRef,
    supplied: Sequence[PresentedCert],
    memo: ChainMemo | None,
) -> tuple[EndpointReport, JudgedChain, PlanParts | None]:
    """The report for a target whose addresses (``members`` of ``results``) all
    presented one chain; also the judged chain and, with a ``memo``, the plan's
    parts (a scan's summary groups them).  Without a memo this is exactly what
    :func:`~trustdoctor.api.chain.finish` does after the judging."""
    fetched = members[0].fetch
    assert fetched is not None
    facts = ChainFacts.of(target, fetched)

    def judged() -> JudgedChain:
        one = _judge_one(facts, clients, at=at, mozilla=mozilla, supplied=supplied)
        return JudgedChain(*confirm(one, clients, aia=aia))

    entry = judged() if memo is None else memo.get(facts, judged)
    diag = entry.diagnosis
    if memo is not None:  # judged for the first target with these facts: its provenance
        diag = replace(diag, presented=facts.chain)
    plan, parts = _plan(diag, clients, fix, entry if memo is not None else None)
    report = EndpointReport(
        target,
        tuple(results),
        diag,
        None,
        judged=tuple((r.address, diag) for r in members),
        address=members[0].address,
        plan=plan,
        completion=entry.completion,
    )
    return report, entry, parts


def _plan(
    diag: Diagnosis,
    clients: Clients,
    fix: Callable[[], FixContext] | None,
    entry: JudgedChain | None,
) -> tuple[Plan | None, PlanParts | None]:
    """The plan :func:`~trustdoctor.api.chain.finish` makes (``plan_for_diagnosis``),
    with the client parts made once per judged chain when ``entry`` is given
    (then the parts are returned too)."""
    if fix is None or diag.verdict.trusted:
        return None, None
    from ..fixes.planner import diagnosis_context, plan_for_diagnosis, plan_from_parts, plan_parts

    if entry is None:
        return plan_for_diagnosis(diag, clients.stores, clients.distro, fix()), None
    base = diagnosis_context(diag, clients.distro, fix())
    with entry.lock:
        cached = entry.client_parts
        if cached is None:
            cached = entry.client_parts = plan_parts(diag, clients.stores, base, server=False)
            # Whether server parts are made depends on the diagnosis alone.
            entry.has_server = bool(plan_parts(diag, clients.stores, base, client=False).server)
    if not entry.has_server:
        # Only client parts: made without an endpoint (plan_parts), in a context
        # that differs from this target's only by it; merged once.
        with entry.lock:
            if entry.client_plan is None:
                entry.client_plan = plan_from_parts(diag, cached, base)
            merged = entry.client_plan
        return replace(merged, context=base), cached
    client_parts = tuple(replace(p, context=base) for p in cached.client)

    def made(b: FixContext) -> tuple[Plan, PlanParts]:
        parts = replace(
            plan_parts(diag, clients.stores, b, client=False),
            client=client_parts,
            client_at=cached.client_at,
        )
        return plan_from_parts(diag, parts, b), parts

    plan, parts = _port_templated(entry, base, made)
    if plan.context is not base:  # filled from a template: this endpoint's contexts
        server = tuple(replace(p, context=base) for p in parts.server)
        plan = replace(plan, context=base)
        parts = replace(parts, server=server, client=client_parts)
    return plan, parts


def _port_templated(
    entry: JudgedChain,
    base: FixContext,
    made: Callable[[FixContext], tuple[Plan, PlanParts]],
) -> tuple[Plan, PlanParts]:
    """The server-side plan of ``base``'s endpoint, from the chain's template
    for endpoints differing only by port when there is one (fixes/porttemplate.py:
    the planner's answer, without planning again), else planned (and the
    template learnt for the next endpoints)."""
    from ..fixes import porttemplate as pt

    t = base.endpoint
    if t is None or not pt.eligible(t):
        return made(base)
    key = pt.shape_key(t)
    free = pt.context_key(base)
    with entry.lock:
        known = entry.templates.get(key)
    if known is not None:
        context, template = known
        if template is not None and context == free:
            filled: tuple[Plan, PlanParts] = template.fill(t.port)
            return filled
        return made(base)
    first, template = pt.learn(lambda port: made(pt.context_on_port(base, port)), t.port)
    with entry.lock:
        if len(entry.templates) < 8:  # endpoint shapes per chain: a few
            entry.templates[key] = (free, template)
    return first  # type: ignore[no-any-return]


def _judge_one(
    facts: ChainFacts,
    clients: Clients,
    *,
    at: dt.datetime,
    mozilla: MozillaRef,
    supplied: Sequence[PresentedCert] = (),
) -> Diagnosis:
    """The judging of one presented chain: a function of ``facts`` and of what
    is fixed for the question (the clients, the time, the intermediates)."""
    from ..engine.interception import detect_interception

    extra: list[Finding] = []
    if facts.cert_requested:
        extra.append(
            Finding(
                Code.CLIENT_CERT_REQUESTED,
                Severity.INFO,
                Side.NONE,
                {"handshake_error": facts.handshake_error},
            )
        )

    def intercepted(diag: Diagnosis) -> Diagnosis:
        roots: AnchorSet | None
        if callable(mozilla):
            # Without a proxy and with every client trusting, only a product
            # marker in the CA name is worth reporting: skip loading the reference.
            roots = mozilla() if (facts.proxied or not diag.verdict.trusted) else None
        else:
            roots = mozilla
        f = detect_interception(
            [p.cert for p in facts.chain],
            reference_roots=roots,
            proxy_in_use=facts.proxied,
            servername=facts.servername,
        )
        return _with_interception(diag, f) if f is not None else diag

    return judge_presented(
        list(facts.chain),
        clients,
        at=at,
        host=facts.host,
        supplied=supplied,
        leaf_index=0,
        extra=extra,
        adjust=intercepted,
    )


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
    minted = {p.cert.sha256 for p in diag.presented}
    for v in diag.clients:
        if not v.trusted and v.cause == Code.STRICT_PROFILE and v.findings and (
            set(v.findings[0].certs) & minted
        ):
            # The client trusts the inspection CA, and the certificate it
            # refuses was minted by the proxy (Python 3.13 and a leaf without
            # AKI: openssl/openssl#28391): the proxy's profile is what changes.
            primary = v.findings[0]
            proxy = f.params.get("product") or f.params.get("issuer")
            params = {**primary.params, "minted_by": proxy}
            moved = replace(primary, side=Side.NETWORK, params=params)
            v = replace(v, side=Side.NETWORK, findings=(moved, *v.findings[1:]))
        elif not v.trusted and v.cause in NO_PATH:
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
            side=first.side,
            confidence=first.confidence,
            params=dict(first.findings[0].params) if first.findings else {},
        )
    return replace(
        diag,
        clients=tuple(clients),
        verdict=verdict,
        findings=(*diag.findings, f) if diag.verdict.trusted else diag.findings,
    )


@record
class PreparedClients:
    """Clients and their anchors read once, for many endpoints (the exporter's ``/probe``).

    Attributes:
        clients: the clients, their anchors, refiners and stores.
        options: where they were read (``root``/``pid``/``env``/``registry``) or ``trust``.
        signature: :func:`~trustdoctor.api.store_signature` of the stores read
            (``None`` with ``trust``): when a later signature differs, prepare again.
    """

    clients: Clients
    options: TrustOptions
    signature: str | None = None

    @property
    def names(self) -> tuple[str, ...]:
        return self.clients.names


def registry_for(
    target: str | Target, clients: Sequence[str] | str | None, options: TrustOptions | None
) -> str | None:
    """The registry whose per-registry stores a question about ``target`` reads:
    ``options.registry``, else the target's ``host[:port]`` when a daemon client
    (docker, containerd, crio, podman) is among ``clients`` (none: any may be)."""
    opts = options or TrustOptions()
    if opts.registry is not None or opts.trust:
        return opts.registry
    t = target if isinstance(target, Target) else parse_target(target)
    names = select_clients(clients, None, default=())
    return default_registry(t, names)


def resolve_target(target: Target, *, timeout: float = 10.0) -> list[str]:
    """Every address ``target``'s connection would go to (its ``connect_host``
    resolved; an IP literal gives itself), for a caller that must check them
    before any connection (the exporter's allowlist) and then connect to one
    with ``connect_to``.  Only DNS traffic, no connection.

    Raises:
        ConnectError: ``unreachable`` (the name does not resolve) or ``timeout``.
    """
    from ..sources.network import resolve_addresses

    return resolve_addresses(target, timeout=timeout)


def prepare_clients(
    clients: Sequence[str] | str | None = None,
    *,
    options: TrustOptions | None = None,
    trust: Sequence[str] = (),
    at: dt.datetime | None = None,
) -> PreparedClients:
    """Read the clients' stores (or the ``trust`` files) once, for
    :func:`diagnose_endpoint` ``(prepared=...)`` to judge many endpoints with.

    The answers are those :func:`diagnose_endpoint` gives without it, as long
    as the stores do not change (compare ``signature``).  An ``--image`` is not
    kept open: prepare from a root or from ``trust`` files.

    Raises:
        UsageError, InputError: bad options or unreadable ``trust`` files.
    """
    opts = options or TrustOptions()
    if trust:
        opts = replace(opts, trust=tuple(trust))
    opts.check()
    if opts.image:
        raise UsageError("prepared clients are read from a root or --trust files, not --image")
    when = at or now()
    requested = select_clients(clients, None, default=())
    anchors = load_trust_paths(opts.trust, password=opts.password) if opts.trust else None
    with open_context(opts, when) as ctx:
        names = requested or select_clients(None, ctx)
        cs = client_set(
            names,
            ctx=ctx,
            trust=anchors,
            trust_source=trust_label(opts.trust),
            versions=client_specs(clients)[1],
        )
        sig = None
        if ctx is not None:
            from ..stores.signature import signature

            sig = signature(ctx, list({id(x): x for x in cs.stores.values()}.values()))
    return PreparedClients(cs, opts, sig)


def diagnose_endpoint(
    target: str | Target | None,
    *,
    clients: Sequence[str] | str | None = None,
    options: TrustOptions | None = None,
    trust: Sequence[str | Loaded] = (),
    servername: str | None = None,
    connect_to: str | None = None,
    starttls: str | None = None,
    timeout: float = 10.0,
    proxy: str | None = None,
    all_addresses: bool = False,
    family: int = 0,
    at: dt.datetime | None = None,
    aia: AiaOptions | None = None,
    intermediates: Sequence[Loaded | str] = (),
    prepared: PreparedClients | None = None,
    plan: bool = True,
) -> EndpointReport:
    """Connect to ``target`` and judge what it presents for each client.

    The library form of ``trustdoctor diagnose``: clients default to those
    found where ``options`` says they are (this host by default); ``trust``
    replaces their stores.  For docker, containerd and CRI-O the registry is
    the target (``host`` on 443, ``host:port`` otherwise) unless
    ``options.registry`` says otherwise.  Connection problems are a result
    (``diagnosis`` ``None``, ``error`` set), not an exception.

    ``target`` ``None``: the endpoint the client asked about talks to — with
    ``clients`` naming kubectl, its kubeconfig's current cluster ``server``
    (:func:`~trustdoctor.api.context.client_server`).

    ``prepared`` (from :func:`prepare_clients`) replaces ``options``/``trust``:
    its clients' anchors are used as read then (``clients`` picks some of
    them).  ``plan=False`` skips the fix plan (the verdicts are the same).

    Raises:
        UsageError, InputError: bad options or unreadable ``--trust`` files
            (before any connection is made).
    """
    opts = prepared.options if prepared is not None else (options or TrustOptions())
    if trust and prepared is None:
        opts = replace(opts, trust=tuple(trust))
    opts.check()
    target_in = (
        None
        if target is None
        else target
        if isinstance(target, Target)
        else parse_target(target, starttls=starttls, servername=servername, connect_to=connect_to)
    )
    when = at or now()
    requested = select_clients(clients, None, default=())
    if target_in is None:
        check_serverless(requested)  # before any store is read
    # Input errors (exit 2) before any connection is made.
    anchors = (
        load_trust_paths(opts.trust, password=opts.password)
        if opts.trust and prepared is None
        else None
    )
    supplied = [pc for item in load_inputs(intermediates, opts.password) for pc in item.certs]
    if opts.registry is None and not opts.trust and prepared is None and target_in is not None:
        opts = replace(opts, registry=default_registry(target_in, requested))
    chosen: Clients | None = None
    if prepared is not None:
        if client_specs(clients)[1]:
            raise UsageError("client versions are chosen when the clients are prepared")
        chosen = prepared.clients.subset(requested) if requested else prepared.clients

    def run(ctx: StoreContext | None) -> EndpointReport:
        named = target_in
        if named is None:  # the server of the client asked about
            named = client_server(requested, ctx, servername=servername, connect_to=connect_to)
        # As the client asked about connects (kubectl's tls-server-name).
        t = client_target(named, requested, ctx)
        host = t.servername or t.host

        def fixes(cs: Clients | None) -> Callable[[], FixContext]:
            return lambda: fix_context(
                cs, opts, at=when, host=host, endpoint=t, proxy=proxy, plan_clients=requested
            )

        results = fetch_all(
            t,
            timeout=timeout,
            proxy=proxy,
            env=network_env(opts, ctx),
            all_addresses=all_addresses,
            family=family,
        )
        if not any(r.fetch is not None and r.fetch.chain for r in results):
            # Nothing to judge: do not pay for reading every trust store.
            report = judge_fetch(t, results, Clients((), ()), at=when)
            return replace(report, plan=_error_plan(report, fixes(None)())) if plan else report
        if chosen is not None:
            cs = chosen
        else:
            names = requested or select_clients(None, ctx)
            cs = client_set(
                names,
                ctx=ctx,
                trust=anchors,
                trust_source=trust_label(opts.trust),
                versions=client_specs(clients)[1],
            )
        route = aia_route(aia, opts, ctx, proxy)
        return judge_fetch(
            t,
            results,
            cs,
            at=when,
            aia=route,
            fix=fixes(cs) if plan else None,
            supplied=supplied,
        )

    if chosen is not None:
        return run(chosen.context)
    with open_context(opts, when) as ctx:
        return run(ctx)


def _error_plan(report: EndpointReport, fix: FixContext) -> Plan:
    """The checks that narrow a connection problem down (``fix --for`` shows the same)."""
    from ..fixes import plan_for

    err = report.error
    code = err.code if err is not None else "handshake-failed"
    return plan_for(code, fix, params={"host": fix.host, "error": err.message if err else None})


__all__ = [
    "AddressResult",
    "ChainFacts",
    "ChainMemo",
    "EndpointReport",
    "PreparedClients",
    "diagnose_endpoint",
    "fetch_all",
    "judge_chain_of",
    "judge_fetch",
    "prepare_clients",
    "registry_for",
    "resolve_target",
]
