"""The public API: the functions every front end calls.

``diagnose_chain`` judges certificates from files; later front ends add
``diagnose`` (live endpoints), ``inspect_stores``, ``explain`` and
``plan_fix``.  This layer does the I/O (reading files, the clock, the host's
stores) and hands pure data to the engine.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ..engine.judge import Refiner, judge
from ..engine.policies import CLIENT_POLICY, POLICIES
from ..errors import InputError, UsageError
from ..model.anchors import Anchor, AnchorSet, make_anchor_set
from ..model.cert import Provenance
from ..model.diagnosis import Diagnosis, PresentedCert
from ..model.findings import Code, Finding, Severity, Side
from ..sources.files import Loaded, load_bytes, load_paths, read_source
from .reference import LazyReference as LazyReference
from .reference import mozilla_reference as mozilla_reference

if TYPE_CHECKING:
    from ..model.explain import ExplainResult
    from ..model.stores import ClientStore
    from .endpoint import EndpointDiagnosis

DEFAULT_CHAIN_CLIENTS = ("go", "openssl", "webpki")
MAX_TRUST_DIR_FILES = 5000


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def parse_time(text: str) -> dt.datetime:
    """ISO-8601 time for ``--at``; naive times are UTC."""
    try:
        value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"--at: not an ISO-8601 time: {text!r}") from None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def check_clients(clients: Sequence[str]) -> list[str]:
    out = []
    for c in clients:
        if c not in CLIENT_POLICY:
            known = ", ".join(sorted(CLIENT_POLICY))
            raise UsageError(f"unknown client {c!r} (known: {known})")
        if c not in out:
            out.append(c)
    return out


# -- anchors -------------------------------------------------------------------------


def load_trust_paths(paths: Sequence[str], *, password: bytes | None = None) -> list[Anchor]:
    """Anchors from ``--trust`` files or directories (every file in a directory)."""
    anchors: list[Anchor] = []
    for p in paths:
        path = Path(p)
        try:  # EACCES on the directory or a parent raises here, not a one-line error
            is_dir = path.is_dir()
            files = sorted(f for f in path.iterdir() if f.is_file()) if is_dir else []
        except OSError as exc:
            raise InputError(f"{p}: cannot read ({exc.strerror or exc})") from None
        if is_dir:
            for f in files[:MAX_TRUST_DIR_FILES]:
                try:
                    loaded = load_bytes(read_source(str(f)), str(f), password=password)
                except InputError:
                    continue  # a directory may hold keys, READMEs...; skip them
                anchors += [Anchor(c.cert, c.provenance) for c in loaded.certs]
            if not anchors:
                raise InputError(f"{p}: no certificate found in this directory")
            continue
        for item in load_paths([p], password=password):
            anchors += [Anchor(c.cert, c.provenance) for c in item.certs]
    return anchors


def anchors_for_client(
    client: str, anchors: Sequence[Anchor], source: str
) -> tuple[AnchorSet, list[Finding]]:
    """The anchors a client takes from explicitly given files.

    Go's ``AppendCertsFromPEM`` ignores ``TRUSTED CERTIFICATE`` blocks
    (cert_pool.go), so Go clients lose them; OpenSSL keeps them.
    """
    policy = POLICIES[CLIENT_POLICY[client]]
    findings: list[Finding] = []
    use = list(anchors)
    if policy.name == "go":
        dropped = [a for a in anchors if a.cert.trusted_block]
        if dropped:
            use = [a for a in anchors if not a.cert.trusted_block]
            findings.append(
                Finding(
                    Code.TRUSTED_BLOCK_IGNORED,
                    Severity.WARNING,
                    Side.CLIENT,
                    {
                        "client": client,
                        "count": len(dropped),
                        "subjects": [a.cert.subject for a in dropped],
                    },
                    tuple(a.cert.sha256 for a in dropped),
                )
            )
    return (
        make_anchor_set(client, use, sources=(source,), partial_chain=policy.partial_chain),
        findings,
    )


def _system_anchor_set(client: str) -> AnchorSet:
    """The running host's store for ``client`` (via the trust-store models).

    ``webpki`` models a strict verifier shipping Mozilla's roots (as browsers
    and cryptography-with-certifi do), so its store is the reference set.
    """
    if client == "webpki":
        ref = mozilla_reference()
        return make_anchor_set("webpki", list(ref.anchors), sources=ref.sources)
    from ..stores import build_context, inspect_stores

    with build_context(root="/", env=dict(os.environ), now=now()) as ctx:
        (store,) = inspect_stores(ctx, [client])
    return store.anchors


# -- chain -------------------------------------------------------------------------------


def diagnose_chain(
    inputs: Sequence[Loaded],
    *,
    trust: Sequence[str] = (),
    intermediates: Sequence[Loaded] = (),
    host: str | None = None,
    at: dt.datetime | None = None,
    clients: Sequence[str] = DEFAULT_CHAIN_CLIENTS,
    client_anchors: Mapping[str, AnchorSet] | None = None,
    refiners: Mapping[str, Refiner] | None = None,
    password: bytes | None = None,
) -> Diagnosis:
    """Judge certificates loaded from files.

    Args:
        inputs: the loaded inputs; the first input's first certificate is the
            leaf unless the input says otherwise.
        trust: ``--trust`` files/directories; when empty, each client's own
            store (``client_anchors`` or the host's).
        intermediates: extra untrusted intermediates.
        host: the peer name to check.
        at: evaluation time (default: now).
        clients: the client models to evaluate, in priority order.
    """
    return diagnose_chain_and_anchors(
        inputs,
        trust=trust,
        intermediates=intermediates,
        host=host,
        at=at,
        clients=clients,
        client_anchors=client_anchors,
        refiners=refiners,
        password=password,
    )[0]


def diagnose_chain_and_anchors(
    inputs: Sequence[Loaded],
    *,
    trust: Sequence[str] = (),
    intermediates: Sequence[Loaded] = (),
    host: str | None = None,
    at: dt.datetime | None = None,
    clients: Sequence[str] = DEFAULT_CHAIN_CLIENTS,
    client_anchors: Mapping[str, AnchorSet] | None = None,
    refiners: Mapping[str, Refiner] | None = None,
    password: bytes | None = None,
) -> tuple[Diagnosis, list[tuple[str, AnchorSet]]]:
    """:func:`diagnose_chain`, and the ``(client, anchors)`` pairs it judged with
    (for a second judgement, e.g. AIA confirmation, without reading the stores again)."""
    clients = check_clients(clients)
    presented = [pc for item in inputs for pc in item.certs]
    if not presented:
        raise InputError("no certificate to judge")
    supplied = [pc for item in intermediates for pc in item.certs]
    extra: list[Finding] = []
    pairs: list[tuple[str, AnchorSet]] = []
    if trust:
        anchors = load_trust_paths(trust, password=password)
        for c in clients:
            aset, f = anchors_for_client(c, anchors, ", ".join(trust))
            pairs.append((c, aset))
            extra += f
    else:
        for c in clients:
            if client_anchors and c in client_anchors:
                pairs.append((c, client_anchors[c]))
            else:
                pairs.append((c, _system_anchor_set(c)))
    diag = judge(
        presented,
        clients=pairs,
        at=at or now(),
        host=host,
        supplied=supplied,
        reference=LazyReference(),
        refiners=refiners,
        extra_findings=extra,
        explicit_anchors=bool(trust),
    )
    return diag, pairs


__all__ = [
    "DEFAULT_CHAIN_CLIENTS",
    "PresentedCert",
    "Provenance",
    "diagnose",
    "diagnose_chain",
    "explain",
    "inspect_stores",
    "load_trust_paths",
    "mozilla_reference",
    "parse_time",
]


# -- the other front-end functions -----------------------------------------------------------


def diagnose(
    target: str,
    *,
    clients: Sequence[str] | None = None,
    root: str = "/",
    env: Mapping[str, str] | None = None,
    registry: str | None = None,
    servername: str | None = None,
    connect_to: str | None = None,
    starttls: str | None = None,
    trust: Sequence[str] = (),
    timeout: float = 10.0,
    proxy: str | None = None,
    all_addresses: bool = False,
    at: dt.datetime | None = None,
) -> EndpointDiagnosis:
    """Connect to ``target`` and judge what it presents for each client.

    The library form of ``trustdoctor diagnose``: clients default to those
    found under ``root``; ``trust`` replaces the clients' stores.
    """
    from ..sources.target import parse_target
    from ..stores import build_context, clients_present
    from .endpoint import fetch_all, judge_fetch
    from .views import views_for

    t = parse_target(target, starttls=starttls, servername=servername, connect_to=connect_to)
    when = at or now()
    with build_context(root=root, env=env, registry=registry, now=when) as ctx:
        names = check_clients(clients) if clients else list(clients_present(ctx))
        refiners: Mapping[str, Refiner] | None
        if trust:
            anchors = load_trust_paths(trust)
            pairs = [(c, anchors_for_client(c, anchors, ", ".join(trust))[0]) for c in names]
            refiners = None
        else:
            views = views_for(ctx, names)
            pairs = [(c, views.anchors[c]) for c in names if c in views.anchors]
            refiners = views.refiners
        net_env = dict(os.environ) if ctx.fs.is_host else dict(ctx.env)
        results = fetch_all(
            t, timeout=timeout, proxy=proxy, env=net_env, all_addresses=all_addresses
        )
        return judge_fetch(
            t,
            results,
            clients=pairs,
            refiners=refiners,
            reference=LazyReference(),
            mozilla=mozilla_reference(),
            at=when,
        )


def inspect_stores(
    clients: Sequence[str] | None = None,
    *,
    root: str = "/",
    env: Mapping[str, str] | None = None,
    registry: str | None = None,
) -> tuple[ClientStore, ...]:
    """What each client trusts under ``root`` (the library form of ``trustdoctor stores``)."""
    from ..stores import build_context
    from ..stores import inspect_stores as _inspect

    with build_context(root=root, env=env, registry=registry) as ctx:
        return _inspect(ctx, clients)


def explain(text: str | Sequence[str]) -> ExplainResult:
    """Recognise TLS error messages in ``text`` (the library form of ``trustdoctor explain``)."""
    from ..explain.match import explain as _explain

    return _explain(text)
