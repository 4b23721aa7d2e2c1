"""``trustdoctor diagnose TARGET``: what the server presents, and who trusts it."""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import socket
import sys
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..api.endpoint import EndpointDiagnosis
    from ..fixes.model import Plan
    from ..model.anchors import Anchor, AnchorSet
    from ..model.findings import Finding
    from ..model.stores import ClientStore, StoreContext

DESCRIPTION = """Connect to TARGET, capture exactly what the server presents (one handshake,
verification off), and judge it for every client found on this host (or in
--root / --image / --pid): who trusts it, who does not, why, and the fix.

targets:
  host, host:port, [v6]:port, https://host[:port]/..., ldaps://, smtps://, imaps://,
  pop3s://, ftps://; STARTTLS: smtp://, imap://, pop3://, ftp://, postgres://, ldap://

examples:
  trustdoctor diagnose registry.internal.example.com
  trustdoctor diagnose 10.0.0.5:8443 --servername api.internal --client go
  trustdoctor diagnose api.internal:8443 --connect-to 10.0.0.5 --trust root.pem
  trustdoctor diagnose smtp://mail.example.com:587
  trustdoctor diagnose reg.example:5000 --client docker --registry reg.example:5000
  trustdoctor diagnose db.internal:5432 --starttls postgres --format json

exit codes: 0 every selected client trusts the chain, 1 at least one refuses
(diagnosed), 2 usage or input error, 3 nothing could be judged (DNS, refused,
timeout, not TLS, handshake failed, STARTTLS refused, proxy failed)
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("target", metavar="TARGET", help="host[:port] or URL")
    p.add_argument(
        "--servername", metavar="NAME", help="SNI and the name checked (default: the host)"
    )
    p.add_argument(
        "--connect-to",
        metavar="ADDRESS[:PORT]",
        help="connect there but keep the name (like curl --resolve / --connect-to)",
    )
    p.add_argument(
        "--starttls",
        metavar="PROTO",
        help="speak PROTO before TLS: smtp, imap, pop3, ftp, postgres, ldap",
    )
    p.add_argument(
        "--all-addresses",
        action="store_true",
        help="connect to every A/AAAA address and report differing chains",
    )
    family = p.add_mutually_exclusive_group()  # -4 -6 together is a usage error
    family.add_argument(
        "-4",
        dest="family",
        action="store_const",
        const=socket.AF_INET,
        default=0,
        help="IPv4 only",
    )
    family.add_argument(
        "-6", dest="family", action="store_const", const=socket.AF_INET6, help="IPv6 only"
    )
    from .netopts import add_network_arguments

    add_network_arguments(
        p,
        timeout_help="overall budget per address: DNS, connect, proxy, STARTTLS, handshake "
        "(default 10)",
        proxy_help="HTTP proxy http://[user:pass@]host:port for the connection and for "
        "--fetch; '' for none (default: https_proxy/HTTPS_PROXY, http_proxy for http:// "
        "AIA URLs, unless NO_PROXY matches)",
    )
    p.add_argument(
        "--client",
        action="append",
        default=[],
        metavar="NAME",
        help="client model(s): go, openssl, curl, python, requests, node, java, docker, "
        "containerd, crio, podman, kubelet, webpki (default: the clients found on this "
        "host, or in --root/--image/--pid)",
    )
    p.add_argument(
        "--trust",
        action="append",
        default=[],
        metavar="PATH",
        help="judge against these anchors (file or directory) instead of the clients' stores",
    )
    p.add_argument("--at", metavar="ISO-8601", help="judge at this time instead of now")
    p.add_argument("--format", choices=("text", "json"), default="text")
    from .trustopts import add_trust_context_arguments

    add_trust_context_arguments(p)
    from .aiaopts import add_aia_arguments

    add_aia_arguments(p, default_fetch=False)


def _other_context(args: argparse.Namespace) -> bool:
    """``--root DIR`` (not /), ``--image`` or ``--pid``: the client is elsewhere."""
    return bool(args.pid or args.image or (args.root and args.root != "/"))


def _proxy_env(args: argparse.Namespace, ctx: StoreContext | None) -> dict[str, str]:
    """Whose HTTPS_PROXY/NO_PROXY apply: on this host, ours (``--env`` on top);
    for ``--root/--image/--pid``, the client's (a process's own proxy is the
    one its connections take)."""
    if ctx is None:
        from .trustopts import env_from_args

        return {**os.environ, **(env_from_args(args) or {})}
    if _other_context(args):
        return dict(ctx.env)
    return {**os.environ, **ctx.env}


def _pairs_from_trust(
    clients: Sequence[str], anchors: Sequence[Anchor], source: str
) -> tuple[list[tuple[str, AnchorSet]], list[Finding]]:
    from dataclasses import replace

    from .. import api

    pairs: list[tuple[str, AnchorSet]] = []
    merged: dict[tuple[str, tuple[str, ...]], tuple[Finding, list[str]]] = {}
    for c in clients:
        aset, found = api.anchors_for_client(c, anchors, source)
        pairs.append((c, aset))
        for f in found:
            # One warning per distinct set of dropped anchors, naming every
            # client that drops them (go, docker, containerd... alike).
            _, names = merged.setdefault((f.code.value, f.certs), (f, []))
            names.append(c)
    findings = [
        replace(f, params={**f.params, "client": ", ".join(names)}) for f, names in merged.values()
    ]
    return pairs, findings


def _serve_side(
    outcome: EndpointDiagnosis, pairs: list[tuple[str, AnchorSet]], at: dt.datetime
) -> EndpointDiagnosis:
    """Add the serve-side findings the engine does not make (expired cross-signs)."""
    from ..engine.servechecks import serve_findings

    diag = outcome.diagnosis
    if diag is None:
        return outcome
    found = serve_findings(list(diag.presented), at=at, anchors=[a for _, a in pairs], leaf_index=0)
    if not found:
        return outcome
    return replace(outcome, diagnosis=replace(diag, findings=(*diag.findings, *found)))


def run(args: argparse.Namespace) -> int:
    from .. import api
    from ..api.endpoint import fetch_all, judge_fetch
    from ..sources.target import parse_target
    from .aiaopts import aia_options_from_args
    from .trustopts import open_trust_context

    target = parse_target(
        args.target,
        starttls=args.starttls,
        servername=args.servername,
        connect_to=args.connect_to,
    )
    at = api.parse_time(args.at) if args.at else api.now()
    requested = api.check_clients(args.client) if args.client else []
    # Input errors (exit 2) before any connection is made.
    anchors = api.load_trust_paths(args.trust) if args.trust else None
    # The trust context (the client's files and environment) finds and models
    # the clients; --trust with explicit --client on this host needs neither,
    # and skipping it keeps the common scripted call fast.
    need_ctx = anchors is None or not requested or _other_context(args) or bool(args.registry)
    opened = open_trust_context(args) if need_ctx else contextlib.nullcontext(None)
    plan: Plan | None = None
    with opened as ctx:
        proxy_env = _proxy_env(args, ctx)
        results = fetch_all(
            target,
            timeout=args.timeout,
            proxy=args.proxy,
            env=proxy_env,
            all_addresses=args.all_addresses,
            family=args.family,
        )
        if not any(r.fetch is not None and r.fetch.chain for r in results):
            # Nothing to judge: do not pay for reading every trust store.
            outcome = judge_fetch(
                target, results, clients=[], refiners=None, reference={}, mozilla=None, at=at
            )
        else:
            clients = requested
            if not clients:
                from ..stores import clients_present

                assert ctx is not None
                clients = list(clients_present(ctx))
            extra: list[Finding] = []
            pairs: list[tuple[str, AnchorSet]]
            stores: dict[str, ClientStore] | None = None
            distro = None
            if anchors is not None:
                pairs, extra = _pairs_from_trust(clients, anchors, ", ".join(args.trust))
                refiners = None
            else:
                from ..stores import STORE_MODEL
                from .views import views_for

                assert ctx is not None
                model = {c: STORE_MODEL.get(c, c) for c in clients}
                views = views_for(ctx, list(dict.fromkeys(model.values())))
                pairs = [(c, views.anchors[model[c]]) for c in clients if model[c] in views.anchors]
                refiners = {
                    c: views.refiners[model[c]] for c in clients if model[c] in views.refiners
                }
                stores = {c: views.stores[model[c]] for c in clients if model[c] in views.stores}
                distro = views.context.distro
            if not pairs:  # pragma: no cover - every policy client maps to a model
                from ..errors import UsageError

                raise UsageError(f"no trust-store model for {', '.join(clients)}; use --trust")
            outcome = judge_fetch(
                target,
                results,
                clients=pairs,
                refiners=refiners,
                reference=api.LazyReference(),
                mozilla=api.mozilla_reference,
                at=at,
                extra_findings=extra,
            )
            outcome = _serve_side(outcome, pairs, at)
            aia = aia_options_from_args(args, default_fetch=False, proxy_env=proxy_env)
            if aia is not None and outcome.diagnosis is not None:
                from ..api.aia import confirm_with_aia

                confirmed = confirm_with_aia(
                    outcome.diagnosis,
                    pairs,
                    options=aia,
                    reference=api.LazyReference(),
                    refiners=refiners,
                    explicit_anchors=anchors is not None,
                )
                outcome = replace(outcome, diagnosis=confirmed.diagnosis)
            if outcome.diagnosis is not None and not outcome.diagnosis.verdict.trusted:
                from ..fixes import plan_for_diagnosis

                plan = plan_for_diagnosis(outcome.diagnosis, stores, distro)
    if args.format == "json":
        from ..render.endpoint import endpoint_to_dict
        from ..render.json import dumps

        sys.stdout.write(dumps(endpoint_to_dict(outcome, plan=plan)))
    else:
        from ..render.endpoint import render_endpoint
        from .output import emit

        emit(render_endpoint(outcome, plan=plan))
    if outcome.diagnosis is None:
        return 3
    return 0 if outcome.diagnosis.verdict.trusted else 1
