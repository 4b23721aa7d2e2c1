"""From a cause (or a diagnosis, or a client store and a CA) to a :class:`Plan` (pure).

Entry points:

* :func:`plan_for` — a :class:`~trustdoctor.model.findings.Code`, a
  :class:`~trustdoctor.model.findings.Finding` or a whole
  :class:`~trustdoctor.model.diagnosis.Diagnosis`, in a :class:`FixContext`;
* :func:`plan_for_store` / :func:`plan_for_stores` — make the client(s) of
  these stores trust this CA (the ``fix --ca`` path: each store says *why* the
  CA is missing, and that picks the plan);
* :func:`plan_for_diagnosis` — what ``diagnose``/``chain`` show under their verdict.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from ..clients import CLIENTS, modelled
from ..model.causes import CODE_SIDE, Route, by_route
from ..model.findings import Code, Finding, Severity, Side
from ..model.record import record, replace
from . import client as C
from . import server as S
from .model import PHASES, Action, CaRef, FixContext, Note, Plan, Purpose, Step, StepSet

TYPE_CHECKING = False  # typing's constant, without importing typing (model/record.py)
if TYPE_CHECKING:
    from ..model.cert import CertInfo
    from ..model.diagnosis import ClientVerdict, Diagnosis
    from ..model.stores import ClientStore
    from ..stores.distro import Distro

# Causes by the kind of plan that answers them (the ``route`` of model/causes.py).
CLIENT_INSTALL = by_route(Route.INSTALL)
SERVE_CHAIN = by_route(Route.SERVE)
REISSUE = by_route(Route.REISSUE)
NETWORK = by_route(Route.NETWORK)
STORE_CAUSES = by_route(Route.STORE)
NOTE_ONLY = by_route(Route.NOTE)


def context_for(distro: Distro | str | None = None, **kw: object) -> FixContext:
    """A :class:`FixContext` for a detected :class:`Distro` (or a family name)."""
    family, label = "unknown", None
    if distro is not None and not isinstance(distro, str):
        family, label = distro.family, distro.label
    elif isinstance(distro, str):
        family = distro
    return FixContext(family=family, distro_label=label, **kw)  # type: ignore[arg-type]


def _default_client(code: Code) -> str:
    return "go"


def plan_for(
    subject: Diagnosis | Finding | Code | str,
    ctx: FixContext | None = None,
    *,
    client: str | None = None,
    clients: Sequence[str] | None = None,
    params: Mapping[str, object] | None = None,
    ca: CaRef | CertInfo | None = None,
    diag: Diagnosis | None = None,
    fingerprints: Sequence[str] = (),
    system_store: bool = True,
) -> Plan:
    """The plan for a cause.

    ``subject`` is a diagnosis (its verdict's cause, see :func:`plan_for_diagnosis`),
    a finding (its code and params) or a code.  ``client``/``clients`` choose
    the client(s) of a client-side plan (default ``go``: the system store).
    ``ca`` is the CA a client plan installs (a placeholder named by
    ``params['issuer']`` otherwise).
    """
    ctx = ctx or FixContext()
    from ..model.diagnosis import Diagnosis as _Diagnosis

    if isinstance(subject, _Diagnosis):
        return plan_for_diagnosis(subject, None, None, ctx)
    if isinstance(subject, Finding):
        code = subject.code
        p: Mapping[str, object] = dict(subject.params) | dict(params or {})
        fingerprints = fingerprints or subject.certs
        client = client or (str(subject.params["client"]) if subject.params.get("client") else None)
    else:
        try:
            code = Code(subject)
        except ValueError:
            from ..errors import UsageError

            known = ", ".join(c.value for c in Code)
            raise UsageError(f"unknown cause {subject!r} (known: {known})") from None
        p = dict(params or {})
    names = list(
        clients or ([client] if client else []) or list(ctx.clients) or [_default_client(code)]
    )
    caref = _caref(ca, p, ctx)
    plans = [
        _plan_one(code, c, ctx, p, caref, diag, fingerprints, system_store=system_store)
        for c in names
    ]
    return merge_plans(plans)


def _caref(ca: CaRef | CertInfo | None, params: Mapping[str, object], ctx: FixContext) -> CaRef:
    if isinstance(ca, CaRef):
        return ca
    if ca is not None:
        return CaRef.from_cert(ca)
    name = params.get("root") or params.get("issuer") or params.get("top") or "ROOT"
    return CaRef.placeholder(str(name))


def _plan_one(
    code: Code,
    client: str,
    ctx: FixContext,
    params: Mapping[str, object],
    ca: CaRef,
    diag: Diagnosis | None,
    fingerprints: Sequence[str],
    *,
    system_store: bool = True,
) -> Plan:
    side = CODE_SIDE[code]
    steps: list[Step] = []
    notes: list[Note] = []
    platform = _platform(ctx)
    plan_ca: CaRef | None = None
    if code in NOTE_ONLY:
        notes.append(Note(f"nothing-{code.value}", dict(params)))
        side = Side.NONE if code == Code.OK else side
    elif code in CLIENT_INSTALL:
        s, n = C.install_for_client(client, ca, ctx, system_store=system_store)
        steps += s
        notes += n
        plan_ca = ca
        side = Side.CLIENT if code != Code.INTERCEPTED else Side.NETWORK
        if code == Code.INTERCEPTED:
            notes.insert(0, Note("intercepted-own-proxy", {"issuer": params.get("issuer")}))
            steps.append(
                Step(
                    Action.SET_ENV,
                    {"name": "NO_PROXY", "value": ctx.host or "<host>", "scope": "service"},
                    platform="shell",
                    reason="no-proxy",
                    alternative=True,
                    phase="env",
                )
            )
        if ca.sha256 is None:
            notes.append(Note("ca-needed", {"name": ca.name}))
        elif not ctx.image and client in CLIENTS and CLIENTS[client].model in modelled():
            steps.append(_verify_step(ca, ctx, client))
    elif code in STORE_CAUSES:
        s, n, plan_ca = _store_cause(code, client, ctx, params, ca, fingerprints)
        steps += s
        notes += n
        side = Side.CLIENT
    elif code in SERVE_CHAIN:
        s, n = S.chain_steps(code, ctx, params, diag)
        steps += s
        notes += n
        side = Side.SERVER
        platform = "server"
    elif code == Code.HOSTNAME_MISMATCH and params.get("reason") == "trailing-dot":
        # No certificate names a host with its final dot (a dNSName never
        # carries it): the client is given the name without it.
        bare = params.get("without_dot")
        notes.append(Note("trailing-dot-name", {"host": params.get("host"), "client": client,
                                                "without_dot": bare}))  # fmt: skip
        side = Side.CLIENT
    elif code in REISSUE:
        s, n = S.reissue_steps(code, ctx, params, diag)
        steps += s
        notes += n
        side = Side.SERVER
        platform = "server"
        if code == Code.SELF_SIGNED_LEAF:
            alt, _ = C.install_for_client(client, ca, ctx, system_store=system_store)
            steps += [
                replace(x, alternative=True)
                for x in alt
                if x.action != Action.RUN
                or x.params.get("purpose") != Purpose.INSTALL_PACKAGE.value
            ]
    elif code in NETWORK:
        s, n = S.network_steps(code, ctx, params)
        steps += s
        notes += n
        platform = "network"
    else:  # pragma: no cover - guarded by the coverage test
        notes.append(Note("no-plan", {"cause": code.value}))
    if ctx.image:
        steps = _image_steps(steps)
    seen = StepSet()
    steps = [st for st in steps if seen.add(st)]
    return Plan(
        cause=code,
        side=side,
        steps=tuple(steps),
        notes=tuple(notes),
        clients=(client,),
        platform=platform,
        root=ctx.root,
        ca=plan_ca,
        context=ctx,
    )


def _platform(ctx: FixContext) -> str:
    return "dockerfile" if ctx.image else ctx.family


def _store_cause(
    code: Code,
    client: str,
    ctx: FixContext,
    params: Mapping[str, object],
    ca: CaRef,
    fingerprints: Sequence[str],
) -> tuple[list[Step], list[Note], CaRef | None]:
    real_ca = ca if ca.sha256 is not None else None
    if code == Code.NO_TRUST_STORE:
        s, n = C.no_store_steps(client, ctx, real_ca)
        return s, n, real_ca
    if code in (Code.STALE_BUNDLE, Code.EMPTY_BUNDLE):
        s, n = C.stale_steps(client, ctx, params)
        return s, n, None
    if code == Code.ANCHOR_FILE_IGNORED:
        s, n = C.ignored_file_steps(client, ctx, params, fingerprints)
        return s, n, None
    if code == Code.ENV_OVERRIDE:
        variables = params.get("variables")
        names = [str(v) for v in variables] if isinstance(variables, list) else []
        if not names:
            names = [v for v in ("SSL_CERT_FILE", "SSL_CERT_DIR") if ctx.env.get(v)] or [
                "SSL_CERT_FILE"
            ]
        src = params.get("default_source")
        s, n = C.env_steps(client, ctx, names, default_source=str(src) if src else None)
        return s, n, None
    if code == Code.RESTART_REQUIRED:
        s, n = C.restart_required_steps(client, ctx, params)
        return s, n, None
    if code == Code.DAEMON_STORE:
        s, n = C.daemon_store_steps(client, ctx, params, real_ca)
        return s, n, real_ca
    if code == Code.OUTDATED_STORE:
        s, n = C.outdated_steps(client, ctx)
        return s, n, None
    if code == Code.TRUSTED_BLOCK_IGNORED:
        path = str(params.get("path") or ca.file)
        step = Step(
            Action.RUN,
            {
                "argv": ["openssl", "x509", "-in", path, "-out", f"{ca.slug}.pem"],
                "purpose": Purpose.BUILD.value,
            },
            platform="shell",
            reason="trusted-to-plain",
            phase="build",
        )
        s, n = C.install_for_client(client, replace(ca, file=f"{ca.slug}.pem"), ctx)
        return [step, *s], n, None
    if code == Code.UNREADABLE_FILE:
        path = str(params.get("path") or "")
        return (
            [
                Step(
                    Action.RUN,
                    {"argv": ["chmod", "a+r", path], "purpose": Purpose.CHECK.value, "path": path},
                    needs_root=True,
                    platform="linux",
                    reason="make-readable",
                    phase="check",
                )
            ],
            [Note("unreadable", {k: v for k, v in params.items() if v is not None})],
            None,
        )
    # store-limit
    return [], [Note("store-limit", dict(params))], None


def _verify_step(ca: CaRef, ctx: FixContext, client: str) -> Step:
    argv = ["trustdoctor", "stores", "--ca", ca.file, "--client", client]
    if ctx.root != "/":
        argv += ["--root", ctx.root]
    if ctx.pid is not None:
        argv += ["--pid", str(ctx.pid)]
    if ctx.registry and C.registry_store(client):
        argv += ["--registry", ctx.registry]
    if client == "kubectl" and ctx.kubeconfig is not None and ctx.root != "/":
        # The kubeconfig read in the root: the check finds it whatever the
        # HOME of whoever runs it.
        argv += ["--env", f"KUBECONFIG={ctx.kubeconfig.file}"]
    return Step(
        Action.RUN,
        {"argv": argv, "purpose": Purpose.VERIFY.value},
        platform="linux",
        reason="verify-stores",
        phase="verify",
    )


# -- stores and a CA (fix --ca) --------------------------------------------------------------------


def _finding(store: ClientStore, code: Code) -> Finding | None:
    return next((f for f in store.findings if f.code == code), None)


def plan_for_store(
    store: ClientStore,
    ca: CertInfo | CaRef,
    ctx: FixContext | None = None,
    *,
    ca_file: str | None = None,
) -> Plan:
    """Make ``store``'s client trust ``ca``; the store's reason for lacking it picks the plan.

    Already trusted → an empty ``ok`` plan (plus a restart when the store
    changed under a running process).
    """
    from ..engine.refine import check_ca

    ctx = ctx or FixContext()
    caref = ca if isinstance(ca, CaRef) else CaRef.from_cert(ca, ca_file)
    if ca_file and caref.file != ca_file:
        caref = replace(caref, file=ca_file)
    client = store.client
    if caref.sha256 is not None and not isinstance(ca, CaRef):
        check = check_ca(store, cert=ca)
    elif caref.sha256 is not None:
        check = check_ca(store, fingerprint=caref.sha256)
    else:
        check = None
    restart = _finding(store, Code.RESTART_REQUIRED)
    reason = check.reason if check else "not-present"
    if check is not None and check.trusted:
        plan = plan_for(Code.OK, ctx, client=client, params={"client": client})
        plan = replace(
            plan, notes=(Note("already-trusted", {"client": client, "source": check.source}),)
        )
        if restart is not None:
            plan = merge_plans([plan, plan_for(restart, ctx, client=client)])
            plan = replace(plan, cause=Code.RESTART_REQUIRED, side=Side.CLIENT)
        return replace(plan, ca=caref)
    if reason == Code.NO_TRUST_STORE.value:
        plan = plan_for(Code.NO_TRUST_STORE, ctx, client=client, ca=caref)
    elif reason == Code.STALE_BUNDLE.value:
        f = _finding(store, Code.STALE_BUNDLE)
        params = dict(f.params) if f else {}
        plan = plan_for(Code.STALE_BUNDLE, ctx, client=client, params=params)
    elif (
        reason == Code.ANCHOR_FILE_IGNORED.value
        and check is not None
        and not _our_temp_file(check.source)
    ):
        params = {"path": check.source, "reason": check.detail, "client": client}
        plan = plan_for(
            Code.ANCHOR_FILE_IGNORED,
            ctx,
            client=client,
            params=params,
            fingerprints=[caref.sha256] if caref.sha256 else [],
        )
    elif reason == Code.ENV_OVERRIDE.value:
        f = _finding(store, Code.ENV_OVERRIDE)
        params = {
            "variables": list(f.params.get("variables") or []) if f else [],  # type: ignore[call-overload]
            "default_source": check.source if check else None,
        }
        plan = plan_for(Code.ENV_OVERRIDE, ctx, client=client, params=params)
    elif reason == Code.DAEMON_STORE.value:
        f = next(
            (
                x
                for x in store.findings
                if x.code == Code.DAEMON_STORE and x.severity.value == "error"
            ),
            None,
        )
        plan = plan_for(f or Code.DAEMON_STORE, ctx, client=client, ca=caref)
    else:
        plan = plan_for(
            Code.UNTRUSTED_ROOT, ctx, client=client, ca=caref, system_store=store.system_store
        )
    if restart is not None and plan.cause != Code.RESTART_REQUIRED:
        plan = merge_plans([plan, plan_for(restart, ctx, client=client)])
    return replace(plan, ca=caref)


def _our_temp_file(path: str | None) -> bool:
    """A temporary file a killed ``fix --apply`` left (the next write removes it)."""
    import re

    return bool(path) and re.search(r"/\.[^/]*\.trustdoctor-tmp-\d+(:\d+)?$", str(path)) is not None


def plan_for_stores(
    stores: Iterable[ClientStore],
    ca: CertInfo | CaRef,
    ctx: FixContext | None = None,
    *,
    ca_file: str | None = None,
    extra_clients: Sequence[str] = (),
) -> Plan:
    """One plan making every client of ``stores`` (and ``extra_clients``) trust ``ca``."""
    ctx = ctx or FixContext()
    plans = [plan_for_store(s, ca, ctx, ca_file=ca_file) for s in stores]
    caref = ca if isinstance(ca, CaRef) else CaRef.from_cert(ca, ca_file)
    for c in extra_clients:
        plans.append(plan_for(Code.UNTRUSTED_ROOT, ctx, client=c, ca=caref))
    if not plans:
        return Plan(
            Code.OK,
            Side.NONE,
            notes=(Note("no-clients", {}),),
            root=ctx.root,
            ca=caref,
            context=ctx,
        )
    merged = merge_plans(plans)
    return replace(merged, ca=caref)


# -- a diagnosis (for diagnose / chain) ------------------------------------------------------------


def _top_cert(diag: Diagnosis, v: ClientVerdict) -> CertInfo | None:
    links = [link for link in v.path if link.role != "missing" and link.sha256]
    if not links:
        return None
    return diag.certificates.get(links[-1].sha256)


@record
class PlanParts:
    """The sub-plans of a diagnosis' plan, before :func:`merge_plans` joins them.

    Attributes:
        server: one per server- or network-side cause (the chain served, the
            certificate to reissue): what the server's operator does.  Their
            check commands name the endpoint diagnosed.
        client: one per refusing client that must change (its store, its
            environment, an inspection CA to trust).  Made from the context
            *without* its endpoint, so they are the same for every endpoint
            serving the same chain under the same name (a scan makes them once).
    """

    server: tuple[Plan, ...] = ()
    client: tuple[Plan, ...] = ()
    # Where each part came in the walk over the refusing clients: merging
    # keeps that order among parts of the same side rank.
    server_at: tuple[int, ...] = ()
    client_at: tuple[int, ...] = ()

    def ordered(self) -> list[Plan]:
        """Every part, in the order the walk made them."""
        both = [*zip(self.server_at, self.server, strict=True)]
        both += zip(self.client_at, self.client, strict=True)
        return [p for _, p in sorted(both, key=lambda t: t[0])]


def diagnosis_context(
    diag: Diagnosis, distro: Distro | str | None, ctx: FixContext | None = None
) -> FixContext:
    """The context a diagnosis' plan is made in: ``ctx`` with the distribution's
    family when it names none, the diagnosis' host and time when it has none."""
    base = ctx or context_for(distro)
    if ctx is not None and distro is not None and ctx.family == "unknown":
        base = replace(
            ctx, family=context_for(distro).family, distro_label=context_for(distro).distro_label
        )
    if diag.host and base.host is None:
        base = replace(base, host=diag.host)
    if base.now is None:
        base = replace(base, now=diag.at)
    return base


def plan_parts(
    diag: Diagnosis,
    stores: Mapping[str, ClientStore] | None,
    base: FixContext,
    *,
    server: bool = True,
    client: bool = True,
) -> PlanParts:
    """The server and client sub-plans for the refusing clients of ``diag``, in
    ``base`` (from :func:`diagnosis_context`); ``server``/``client`` say which
    to make.  Client sub-plans carry ``base`` as their context."""
    plans: list[Plan] = []
    server_at: list[int] = []
    seen_server: dict[Code, int] = {}
    client_plans: list[Plan] = []
    client_at: list[int] = []
    made = 0  # parts made so far, of both kinds
    # What a client changes never depends on the endpoint it was seen at.
    cbase = replace(base, endpoint=None)

    also: dict[int, list[str]] = {}  # the other clients of a server plan

    def server_plan(code: Code, who: str, params: dict[str, object]) -> None:
        nonlocal made
        if code in seen_server:
            also.setdefault(seen_server[code], []).append(who)
            return
        seen_server[code] = len(seen_server)
        made += 1
        if server:
            plans.append(plan_for(code, base, client=who, params=params, diag=diag))
            server_at.append(made)

    for v in diag.clients:
        if v.trusted:
            continue
        primary = v.findings[0] if v.findings else None
        params: dict[str, object] = dict(primary.params) if primary else {}
        if diag.host and "host" not in params:
            params["host"] = diag.host
        code = v.cause
        # The finding's side where it is the cause's (a host name the client
        # checks with its final dot is the client's to change), else the code's.
        side = CODE_SIDE.get(code, v.side)
        if primary is not None and primary.code == code:
            side = primary.side
        # Both sides must act (the server omits an intermediate *and* the client
        # lacks the root): the other side's errors get their own plans too.
        for f in v.findings:
            other = CODE_SIDE[f.code]
            if (
                f.severity == Severity.ERROR
                and f.code != code
                and other != side
                and other in (Side.SERVER, Side.NETWORK)
                and f.code not in CLIENT_INSTALL
            ):
                server_plan(f.code, v.client, {"host": diag.host, **dict(f.params)})
        if side in (Side.SERVER, Side.NETWORK) and code not in CLIENT_INSTALL:
            server_plan(code, v.client, params)
            continue
        made += 1
        if client:
            client_plans.append(_client_plan(diag, v, code, params, primary, stores, cbase))
            client_at.append(made)
    if server:
        for i, who in also.items():
            plans[i] = replace(plans[i], clients=(*plans[i].clients, *who))
    return PlanParts(
        tuple(plans),
        tuple(replace(p, context=base) for p in client_plans),
        tuple(server_at),
        tuple(client_at),
    )


def _client_plan(
    diag: Diagnosis,
    v: ClientVerdict,
    code: Code,
    params: dict[str, object],
    primary: Finding | None,
    stores: Mapping[str, ClientStore] | None,
    base: FixContext,
) -> Plan:
    top = _top_cert(diag, v)
    ca: CaRef | None = None
    if top is not None and top.self_issued and code in (Code.UNTRUSTED_ROOT, Code.SELF_SIGNED_LEAF):
        ca = CaRef.from_cert(top)
    client = v.client
    store = (stores or {}).get(client)
    if store is not None and ca is not None and code in CLIENT_INSTALL | STORE_CAUSES:
        return plan_for_store(store, ca, base)
    if store is not None and code in CLIENT_INSTALL:
        return plan_for(
            code, base, client=client, params=params, ca=ca, system_store=store.system_store
        )
    return plan_for(
        code,
        base,
        client=_fix_client(client),
        params=params,
        ca=ca,
        fingerprints=primary.certs if primary else (),
    )


def plan_from_parts(diag: Diagnosis, parts: PlanParts, base: FixContext) -> Plan:
    """The one plan shown under a verdict: the parts merged (server first), or
    "nothing to do" when every client trusts the chain."""
    if all(v.trusted for v in diag.clients):
        return Plan(
            Code.OK,
            Side.NONE,
            notes=(Note("nothing-ok", {}),),
            clients=tuple(v.client for v in diag.clients),
            platform=_platform(base),
            root=base.root,
            context=base,
        )
    return merge_plans(parts.ordered())


def plan_for_diagnosis(
    diag: Diagnosis,
    stores: Mapping[str, ClientStore] | None,
    distro: Distro | str | None,
    ctx: FixContext | None = None,
) -> Plan:
    """The plan for a diagnosis' verdict: one sub-plan per refusing client, merged.

    ``stores`` (client name → store) lets client-side causes name the exact
    store change; ``distro`` picks the family's commands.  The CA for a
    client-side plan is the root the path ended at when the server sent it,
    else a placeholder named after the missing issuer (``fix --ca`` supplies
    the real certificate).
    """
    base = diagnosis_context(diag, distro, ctx)
    return plan_from_parts(diag, plan_parts(diag, stores, base), base)


def _fix_client(client: str) -> str:
    # The chain command's models: webpki stands for browsers / strict verifiers.
    return client


# When several sides must act, the plan fixes the server first: a client
# given the root still fails while the chain it receives is incomplete.
_SIDE_RANK: Mapping[Side, int] = {Side.SERVER: 0, Side.NETWORK: 1, Side.CLIENT: 2, Side.NONE: 3}


def merge_plans(plans: Sequence[Plan]) -> Plan:
    """One plan from several: steps de-duplicated and ordered by side (server
    first) then phase, notes de-duplicated."""
    if not plans:
        return Plan(Code.OK, Side.NONE)
    if len(plans) == 1:
        return plans[0]
    plans = sorted(plans, key=lambda p: _SIDE_RANK.get(p.side, 3) if not p.empty else 4)
    first = next((p for p in plans if not p.empty), plans[0])
    seen = StepSet()
    steps: list[tuple[int, int, Step]] = []
    for i, p in enumerate(plans):
        for j, s in enumerate(p.steps):
            if not seen.add(s):
                continue
            phase = PHASES.get(s.phase, 3)
            # Checks and verification come last, whichever side they belong to.
            rank = min(_SIDE_RANK.get(p.side, 3), 3) if phase < PHASES["check"] else 9
            steps.append((rank * 100 + phase, i * 1000 + j, s))
    steps.sort(key=lambda t: (t[0], t[1]))
    ordered = _combine_verify([s for _, _, s in steps])
    notes: list[Note] = []
    nseen: set[str] = set()
    for p in plans:
        for n in p.notes:
            k = repr((n.code, sorted((str(a), str(b)) for a, b in n.params.items())))
            if k not in nseen:
                nseen.add(k)
                notes.append(n)
    clients = tuple(dict.fromkeys(c for p in plans for c in p.clients))
    ca = next((p.ca for p in plans if p.ca is not None), None)
    return Plan(
        cause=first.cause,
        side=first.side,
        steps=tuple(ordered),
        notes=tuple(notes),
        clients=clients,
        platform=first.platform,
        root=first.root,
        ca=ca,
        context=first.context,
    )


def _combine_verify(steps: list[Step]) -> list[Step]:
    """One ``trustdoctor stores --ca`` check for every client instead of one per client."""
    # (A check with its own environment, kubectl's KUBECONFIG, stays apart:
    # --env replaces every variable for every client of the command.)
    checks = [
        s
        for s in steps
        if s.reason == "verify-stores" and "--env" not in (s.params.get("argv") or ())  # type: ignore[operator]
    ]
    if len(checks) < 2:
        return steps
    argv: list[str] = []
    for s in checks:
        a = [str(x) for x in s.params.get("argv") or []]  # type: ignore[attr-defined]
        if not argv:
            argv = a
            continue
        i = 0
        while i < len(a):
            if a[i] == "--client" and i + 1 < len(a):
                if a[i + 1] not in argv:
                    argv += ["--client", a[i + 1]]
                i += 2
                continue
            if a[i] in ("--registry",) and i + 1 < len(a) and a[i] not in argv:
                argv += [a[i], a[i + 1]]
                i += 2
                continue
            i += 1
    first = checks[0]
    merged = replace(first, params={**dict(first.params), "argv": argv})
    out = [s for s in steps if s not in checks]
    return [*out, merged]


def _image_steps(steps: list[Step]) -> list[Step]:
    """An image is changed by its Dockerfile: host file steps become Dockerfile lines.

    ``COPY <<EOF`` (a Dockerfile here-document) needs BuildKit (Docker ≥ 23's
    default builder); restarts and verification of a running host are dropped.
    """
    out: list[Step] = []
    for s in steps:
        host = s.is_host or s.platform == "linux"
        if not host:
            out.append(s)
            continue
        p = s.params
        lines: list[str] = []
        if s.action == Action.COPY_ANCHOR and "src" in p:
            lines = [f"COPY {p['src']} {p['dest']}"]
        elif s.action == Action.COPY_ANCHOR and "from" in p:
            lines = [f"RUN openssl x509 -in {p['from']} -out {p['dest']}"]
        elif s.action == Action.WRITE_FILE and p.get("content") == "text":
            text = str(p.get("text") or "").rstrip("\n")
            lines = [f"COPY <<EOF {p['path']}", *text.split("\n"), "EOF"]
        elif s.action == Action.WRITE_FILE:
            lines = [
                f"COPY {p.get('src') or 'ROOT.pem'} /tmp/trustdoctor-ca.pem",
                f"RUN cat /tmp/trustdoctor-ca.pem >> {p['path']} && rm /tmp/trustdoctor-ca.pem",
            ]
        elif s.action == Action.EDIT_CONFIG:
            setting = f'  {p["key"]} = "{p["value"]}"'
            lines = [f"RUN printf '\\n[{p['table']}]\\n{setting}\\n' >> {p['path']}"]
        elif s.action == Action.RUN and p.get("purpose") in ("refresh", "install-package"):
            argv = p.get("argv")
            lines = [f"RUN {' '.join(str(a) for a in argv)}"] if isinstance(argv, list) else []
        if lines:
            out.append(
                Step(
                    Action.DOCKERFILE_LINE,
                    {"lines": lines, "base": s.platform, "from_step": s.reason},
                    platform="dockerfile",
                    reason=s.reason,
                    alternative=s.alternative,
                    phase=s.phase,
                )
            )
    return out
