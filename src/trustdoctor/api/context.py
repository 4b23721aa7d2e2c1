"""Where the clients are and what they trust: the one place that builds them.

Every question (a chain, an endpoint, a store inventory, a bundle, a fix)
starts here: :class:`TrustOptions` says where the clients live (this host, a
``--root``, an ``--image``, a ``--pid``, their environment, the registry) or
which anchors replace their stores (``--trust``); :func:`open_context` opens
that place (an image is extracted, a process read); :func:`client_set` gives
the ``(client, anchors)`` pairs the engine judges with, the refiners that add
store evidence, and the stores themselves; :func:`fix_context` the facts the
fix planners need.  Nothing else in the package builds any of these.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from collections.abc import Iterator, Mapping, Sequence

from ..clients import CLIENTS, client_specs, verifiers
from ..engine.judge import Refiner
from ..engine.policies import Policy, policy_for
from ..errors import InputError, UsageError
from ..model.anchors import Anchor, AnchorSet, make_anchor_set
from ..model.findings import Code, Finding, Severity, Side
from ..model.record import field, record, replace

TYPE_CHECKING = False  # typing's constant, without importing typing (model/record.py)
if TYPE_CHECKING:
    # (the store models load only where stores are read: not with --trust)
    from ..fixes.model import FixContext
    from ..model.stores import ClientStore, StoreContext
    from ..model.target import Target
    from ..sources.aia import AiaOptions
    from ..sources.files import Loaded
    from ..sources.registry import PullOptions
    from ..stores.distro import Distro

MAX_TRUST_DIR_FILES = 5000


def now() -> dt.datetime:
    """The clock, read once per question at this edge (the engine takes time as a parameter)."""
    return dt.datetime.now(dt.UTC)


def parse_time(text: str, what: str = "--at") -> dt.datetime:
    """ISO-8601 time for ``--at`` (or ``what``); naive times are UTC."""
    try:
        value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"{what}: not an ISO-8601 time: {text!r}") from None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


@record
class TrustOptions:
    """Where the clients are, or what replaces their stores.

    Attributes:
        root: a filesystem root (``/``: this host).
        image: a ``docker save``/OCI archive whose root is the clients'.
        pid: a running process whose root, environment and start time are the client's.
        env: the client's environment (``None``: the context's own: ours
            for ``/``, the process's, the image config's, empty for a root);
            for ``--pid``/``--image`` these values apply on top.
        registry: ``host[:port]`` of the image reference (docker, containerd,
            crio); defaults to the endpoint diagnosed.
        trust: anchor files/directories that replace every client's store, or
            certificates already loaded (:func:`~trustdoctor.sources.files.load_bytes`:
            a root pasted into the web page, anchors read once at start-up).
        password: the PKCS#12 password of ``trust`` files.
        started: when the client process started, for a root that is not a
            ``--pid`` (a process older than its store must restart).
        servers: server software for server-side plans (``--server``).
        dockerfile: a Dockerfile that may set trust variables (fix plans).
        pull: how an ``image`` given by reference is pulled (platform,
            plain-HTTP loopback registry).
        binary: the program the client is (``--binary PATH`` in the root): a
            Go program is judged with its own Go release.
    """

    root: str = "/"
    image: str | None = None
    pid: int | None = None
    env: Mapping[str, str] | None = None
    registry: str | None = None
    trust: tuple[str | Loaded, ...] = ()
    password: bytes | None = None
    started: dt.datetime | None = None
    servers: tuple[str, ...] = ()
    dockerfile: str | None = None
    pull: PullOptions | None = None
    binary: str | None = None

    @property
    def elsewhere(self) -> bool:
        """The clients are not on this host (``--root DIR``, ``--image``, ``--pid``)."""
        return bool(self.pid or self.image or (self.root and self.root != "/"))

    def check(self, *, network: bool = True) -> None:
        """Contradictions are usage errors, found before any work.

        With ``--trust`` no store is read, so ``--root/--image/--pid/--registry``
        would be ignored; ``--env`` still gives the client's proxies when the
        question makes a connection (``network``).
        """
        if self.trust:
            given = [
                o
                for o, v in (
                    ("--root", self.root not in ("", "/")),
                    ("--image", self.image),
                    ("--pid", self.pid),
                    ("--env", self.env is not None and not network),
                    ("--registry", self.registry),
                    ("--started", self.started),
                    ("--binary", self.binary),
                )
                if v
            ]
            if given:
                raise UsageError(
                    f"--trust replaces the clients' stores, so {', '.join(given)} would be "
                    "ignored; drop one or the other"
                )
        if self.servers:
            from ..fixes.tables import SERVERS

            for s in self.servers:
                if s not in SERVERS:
                    raise UsageError(f"--server {s!r}: known: {', '.join(SERVERS)}")


@contextlib.contextmanager
def open_context(opts: TrustOptions, at: dt.datetime) -> Iterator[StoreContext | None]:
    """The clients' place (``None`` with ``--trust``: no store is read)."""
    if opts.trust:
        yield None
        return
    from ..errors import RegistryTrustError
    from ..stores import build_context

    try:
        with build_context(
            root=opts.root or "/",
            env=opts.env,
            pid=opts.pid,
            image=opts.image,
            registry=opts.registry,
            now=at,
            pull=opts.pull,
            binary=opts.binary,
        ) as ctx:
            if opts.started is not None and ctx.process_start is None:
                ctx = replace(ctx, process_start=opts.started)
            yield ctx
    except RegistryTrustError as exc:
        # The registry's own certificate is a trust failure: name the command
        # that diagnoses it for docker (the client whose pull this is).
        from ..explain.match import next_step

        step = next_step(exc.host, exc.port, None, "docker", (), "unknown-issuer")
        raise RegistryTrustError(
            exc.registry, exc.host, exc.port, exc.reason, exc.verify_code, step.command
        ) from None


def network_env(opts: TrustOptions, ctx: StoreContext | None) -> dict[str, str]:
    """Whose HTTPS_PROXY/NO_PROXY apply to a connection made for the clients: on
    this host, ours (``--env`` on top); for ``--root/--image/--pid``, the
    client's (a process's own proxy is the one its connections take)."""
    if ctx is None:
        env = {**os.environ, **(opts.env or {})}
    elif opts.elsewhere:
        env = dict(ctx.env)
    else:
        env = {**os.environ, **ctx.env}
    # Only the proxy variables matter to a connection (every one names "proxy",
    # sources/http.PROXY_VARS): the connection code then scans a handful of
    # names per target, not the whole environment (a scan makes thousands).
    return {k: v for k, v in env.items() if "proxy" in k.lower()}


def aia_route(
    aia: AiaOptions | None, opts: TrustOptions, ctx: StoreContext | None, proxy: str | None
) -> AiaOptions | None:
    """AIA fetches take the route the question's own connection takes: its
    ``--proxy``, else the proxy variables of the clients' environment."""
    if aia is None:
        return None
    if aia.proxy is None and proxy is not None:
        aia = replace(aia, proxy=proxy)
    if aia.proxy_env is None:
        aia = replace(aia, proxy_env=network_env(opts, ctx))
    return aia


# -- anchors -------------------------------------------------------------------------------


def trust_label(trust: Sequence[str | Loaded]) -> str:
    """Where the given anchors come from, for reports: the paths, or the names
    loaded inputs were read under."""
    names: list[str] = []
    for t in trust:
        if isinstance(t, str):
            names.append(t)
        else:
            names += [pc.provenance.source for pc in t.certs[:1]]
    return ", ".join(names)


def load_trust_paths(
    paths: Sequence[str | Loaded], *, password: bytes | None = None
) -> list[Anchor]:
    """Anchors from ``--trust`` files or directories (every file in a directory),
    or from inputs already loaded."""
    from ..sources.files import is_dir, load_bytes, load_paths, read_source

    anchors: list[Anchor] = []
    for p in paths:
        if not isinstance(p, str):
            anchors += [Anchor(c.cert, c.provenance) for c in p.certs]
            continue
        try:  # EACCES on the directory or a parent raises here, not a one-line error
            directory = is_dir(p)
            if directory:
                # pathlib for a directory only (rare): listed and named as before.
                from pathlib import Path

                files = sorted(f for f in Path(p).iterdir() if f.is_file())
        except OSError as exc:
            raise InputError(f"{p}: cannot read ({exc.strerror or exc})") from None
        if directory:
            found: list[Anchor] = []
            for f in files[:MAX_TRUST_DIR_FILES]:
                try:
                    loaded = load_bytes(read_source(str(f)), str(f), password=password)
                except InputError:
                    continue  # a directory may hold keys, READMEs...; skip them
                found += [Anchor(c.cert, c.provenance) for c in loaded.certs]
            if not found:
                raise InputError(f"{p}: no certificate found in this directory")
            anchors += found
            continue
        for item in load_paths([p], password=password):
            anchors += [Anchor(c.cert, c.provenance) for c in item.certs]
    return anchors


def _given_anchors(
    client: str, anchors: Sequence[Anchor], source: str
) -> tuple[AnchorSet, list[Anchor]]:
    """The anchors a client takes from explicitly given files, and those it drops.

    Go's ``AppendCertsFromPEM`` ignores ``TRUSTED CERTIFICATE`` blocks
    (cert_pool.go), so Go clients lose them; OpenSSL keeps them.
    """
    policy = policy_for(client)
    go = policy.name == "go"
    dropped = [a for a in anchors if go and a.cert.trusted_block]
    use = [a for a in anchors if not (go and a.cert.trusted_block)]
    aset = make_anchor_set(client, use, sources=(source,), partial_chain=policy.partial_chain)
    return aset, dropped


def _reference_set(client: str) -> AnchorSet:
    """``webpki`` models a strict verifier shipping Mozilla's roots (browsers,
    cryptography with certifi): its store is the reference set."""
    from .reference import mozilla_reference

    ref = mozilla_reference()
    return make_anchor_set(client, list(ref.anchors), sources=ref.sources)


@record
class Clients:
    """The clients judged, and what each one trusts.

    Attributes:
        names: the clients, in the order asked (priority order for the verdict).
        pairs: ``(client, anchors)`` for the engine.
        refiners: per client, the hook adding its store's evidence.
        stores: per client, the store it reads (the kubelet's is Go's).
        findings: chain-level findings about the anchors themselves (blocks Go drops).
        explicit: the anchors were given (``--trust``): no store was read.
        context: the clients' place, when stores were read.
        policies: per client, the release its model stands for (``--client
            go@1.19``, a ``--pid`` Go program's own Go, the root's curl) with
            the process's GODEBUG settings.
    """

    names: tuple[str, ...]
    pairs: tuple[tuple[str, AnchorSet], ...]
    refiners: Mapping[str, Refiner] = field(default_factory=dict)
    stores: Mapping[str, ClientStore] = field(default_factory=dict)
    findings: tuple[Finding, ...] = ()
    explicit: bool = False
    context: StoreContext | None = None
    policies: Mapping[str, Policy] = field(default_factory=dict)

    @property
    def distro(self) -> Distro | None:
        return self.context.distro if self.context is not None else None

    def subset(self, names: Sequence[str]) -> Clients:
        """The same clients' anchors and stores, for ``names`` only (in that order).

        Raises:
            UsageError: a name that is not one of these clients.
        """
        pairs = dict(self.pairs)
        missing = [n for n in names if n not in pairs]
        if missing:
            raise UsageError(
                f"client(s) {', '.join(missing)} not prepared (prepared: {', '.join(self.names)})"
            )
        return replace(
            self,
            names=tuple(names),
            pairs=tuple((n, pairs[n]) for n in names),
            refiners={n: r for n, r in self.refiners.items() if n in names},
            stores={n: s for n, s in self.stores.items() if n in names},
            policies={n: p for n, p in self.policies.items() if n in names},
        )


def select_clients(
    requested: Sequence[str] | str | None,
    ctx: StoreContext | None,
    *,
    default: Sequence[str] | None = None,
) -> tuple[str, ...]:
    """``--client`` values (their ``@VERSION`` dropped: :func:`client_set` takes the
    versions), else ``default``, else the clients found in ``ctx``."""
    names, _ = client_specs(requested, allowed=verifiers())
    if names:
        return names
    if default is not None:
        return tuple(default)
    if ctx is None:
        return ("go",)
    from ..stores import clients_present

    return tuple(clients_present(ctx))


def client_set(
    names: Sequence[str],
    *,
    ctx: StoreContext | None,
    trust: Sequence[Anchor] | None = None,
    trust_source: str = "",
    versions: Mapping[str, str] | None = None,
) -> Clients:
    """The ``(client, anchors)`` pairs, refiners and stores for ``names``.

    With ``trust`` (``--trust``), every client takes those anchors (Go clients
    without ``TRUSTED CERTIFICATE`` blocks: one ``trusted-block-ignored``
    finding per distinct set dropped, naming every client that drops it).
    Otherwise each client's store model runs once in ``ctx`` (a client that
    reads another's store shares its model), and ``webpki`` takes Mozilla's roots.
    """
    if trust is not None:
        pairs: list[tuple[str, AnchorSet]] = []
        merged: dict[tuple[str, ...], tuple[list[Anchor], list[str]]] = {}
        for c in names:
            aset, dropped = _given_anchors(c, trust, trust_source)
            pairs.append((c, aset))
            if dropped:
                key = tuple(a.cert.sha256 for a in dropped)
                merged.setdefault(key, (dropped, []))[1].append(c)
        findings = tuple(
            Finding(
                Code.TRUSTED_BLOCK_IGNORED,
                Severity.WARNING,
                Side.CLIENT,
                {
                    "client": ", ".join(who),
                    "count": len(dropped),
                    "subjects": [a.cert.subject for a in dropped],
                },
                key,
            )
            for key, (dropped, who) in merged.items()
        )
        policies = {c: model_policy(c, ctx, (versions or {}).get(c)) for c in names}
        return Clients(
            tuple(names), tuple(pairs), findings=findings, explicit=True, policies=policies
        )
    from ..stores import inspect_stores

    model = {c: CLIENTS[c].model for c in names}
    wanted = sorted({m for m in model.values() if CLIENTS[m].store is not None})
    if wanted and ctx is None:
        raise ValueError("client stores need a context")
    by_model = {s.client: s for s in inspect_stores(ctx, wanted)} if wanted and ctx else {}
    stores = {c: by_model[m] for c, m in model.items() if m in by_model}
    pairs = []
    for c in names:
        if c in stores:
            pairs.append((c, stores[c].anchors))
        else:  # no store model of its own: a strict verifier with the reference roots
            pairs.append((c, _reference_set(c)))
    from ..engine.refine import store_refiner

    refiners = {c: store_refiner(s) for c, s in stores.items()}
    policies = {c: model_policy(c, ctx, (versions or {}).get(c)) for c in names}
    return Clients(tuple(names), tuple(pairs), refiners, stores, context=ctx, policies=policies)


def model_policy(client: str, ctx: StoreContext | None, version: str | None = None) -> Policy:
    """The policy ``client`` judges with: the release asked (``--client go@1.19``),
    else the one the context shows (a ``--pid`` Go program's build info, the
    root's libcurl), else the newest; Go clients with the GODEBUG settings of
    the process (its build's ``DefaultGODEBUG``, then its environment's)."""
    row = CLIENTS[client]
    godebug: dict[str, str] | None = None
    libraries: dict[str, str] = {}
    if ctx is not None:
        binary = ctx.process_binary if _is_process(ctx, client) else None
        if version is None and binary is not None and binary.go_release is not None:
            version = "{}.{}".format(*binary.go_release)
        if version is None and row.texts == "curl":
            from ..stores.curl import curl_version

            version = curl_version(ctx)
        if row.texts == "python":
            # The root's Python (a --pid interpreter's own): 3.13 verifies strictly.
            from ..stores.openssl import python_release

            found, libraries = python_release(ctx, client)
            version = version or found
        if row.policy == "go":
            godebug = {}
            if binary is not None:
                godebug.update(_godebug(binary.settings.get("DefaultGODEBUG", "")))
            godebug.update(_godebug(ctx.env.get("GODEBUG", "")))
    return policy_for(client, version=version, godebug=godebug, libraries=libraries)


def _is_process(ctx: StoreContext, client: str) -> bool:
    from ..stores.inspect import process_client

    return process_client(ctx) == client


def _godebug(text: str) -> dict[str, str]:
    """``GODEBUG=x509sha1=1,tlsrsakex=1`` → ``{"x509sha1": "1", ...}`` (runtime/debug rules:
    comma-separated, the last setting of a name wins)."""
    out: dict[str, str] = {}
    for item in text.split(","):
        name, sep, value = item.strip().partition("=")
        if sep and name:
            out[name] = value
    return out


def default_registry(target: Target, requested: Sequence[str]) -> str | None:
    """The registry a daemon client means when it connects to ``target``: the
    image reference's ``host[:port]`` (no port for 443, docker's own rule).

    ``requested``: the clients asked for (empty: any found may be one).  A
    target that no image reference can spell (an underscore...) is a usage
    error when a daemon client was asked for by name; otherwise there is
    simply no registry (a daemon found here could not pull from that name).
    """
    if requested and not any(CLIENTS[c].registry_store for c in requested if c in CLIENTS):
        return None
    from ..model.target import format_hostport
    from ..stores.inspect import is_registry_name

    # The reference names an IPv6 registry in brackets, on 443 too ([::1]/app).
    host = f"[{target.host}]" if ":" in target.host else target.host
    name = host if target.port == 443 else format_hostport(target.host, target.port)
    if is_registry_name(name):
        return name
    if not requested:
        return None
    raise UsageError(
        f"{target.display}: {name!r} is not a registry name docker, containerd and "
        "CRI-O accept (letters, digits, dots and hyphens): name the registry "
        "with --registry"
    )


def check_serverless(requested: Sequence[str]) -> None:
    """A question without a target must name a client that knows its server.

    Raises:
        UsageError: none does (only kubectl: its kubeconfig's cluster).
    """
    if "kubectl" not in requested:
        raise UsageError("give a target (host[:port] or URL); without one, --client kubectl "
                         "diagnoses the server of kubectl's current cluster")  # fmt: skip


def client_server(
    requested: Sequence[str],
    ctx: StoreContext | None,
    *,
    servername: str | None = None,
    connect_to: str | None = None,
) -> Target:
    """The endpoint the client asked about talks to when no target is named:
    kubectl's (``--client kubectl``), its kubeconfig's current cluster ``server``.

    Raises:
        UsageError: no such client asked about, or no server to name.
    """
    check_serverless(requested)
    if ctx is None:
        raise UsageError("kubectl's cluster is read from its kubeconfig: not with --trust alone")
    from ..model.target import parse_target
    from ..stores.kubeconfig import current_server

    server = current_server(ctx)
    try:
        return parse_target(server, servername=servername, connect_to=connect_to)
    except UsageError as exc:
        raise UsageError(f"kubectl's cluster server {server!r}: {exc.message}") from None


def client_target(t: Target, requested: Sequence[str], ctx: StoreContext | None) -> Target:
    """``t`` as the client asked about connects to it: kubectl (``--client
    kubectl``) sends its cluster's ``tls-server-name`` and checks the
    certificate against it when ``t`` is that cluster's server and no name was
    given; otherwise ``t`` itself.  The same for ``diagnose``, a scan's lines
    and the exporter's probes."""
    if ctx is None or "kubectl" not in requested or t.given_name:
        return t
    from ..model.target import with_client_name
    from ..stores.kubeconfig import server_name_for

    found = server_name_for(ctx, t)
    if found is None:
        return t
    try:
        return with_client_name(t, *found)
    except UsageError:  # no host name: kubectl's own handshake fails on it
        return t


def fix_context(
    clients: Clients | None,
    opts: TrustOptions,
    *,
    at: dt.datetime,
    host: str | None = None,
    endpoint: Target | None = None,
    proxy: str | None = None,
    plan_clients: Sequence[str] = (),
    ctx: StoreContext | None = None,
    origins: bool | None = None,
) -> FixContext:
    """The facts the fix planners need, read once, the same for every question.

    Where the trust variables are set (``env_origins``) is read when
    ``origins`` says so, by default only when a store reports ``env-override``:
    the only plan that shows origins unsets an override (fixes/client.py
    ``env_steps``), and that cause comes from that finding (engine/refine.py).
    """
    from ..fixes.model import FixContext

    ctx = ctx or (clients.context if clients is not None else None)
    as_root = os.geteuid() == 0
    if ctx is None:
        # --trust: no store was consulted, so the plan names no distribution.
        return FixContext(
            as_root=as_root,
            servers=opts.servers,
            host=host,
            endpoint=endpoint,
            proxy=proxy,
            now=at,
            clients=tuple(plan_clients),
        )
    from ..stores.fixfacts import fix_context as read_facts

    stores = list({id(s): s for s in (clients.stores if clients else {}).values()}.values())
    if origins is None:
        origins = not stores or any(f.code == Code.ENV_OVERRIDE for s in stores for f in s.findings)
    fctx = read_facts(
        ctx,
        stores,
        env_given=opts.env is not None,
        dockerfile=opts.dockerfile,
        servers=opts.servers,
        host=host,
        clients=tuple(plan_clients),
        origins=origins,
    )
    return replace(fctx, endpoint=endpoint, proxy=proxy, as_root=as_root, now=at)
