"""``trustdoctor diagnose TARGET``: what the server presents, and who trusts it."""

from __future__ import annotations

import argparse
import os
import socket
import sys

DESCRIPTION = """Connect to TARGET, capture exactly what the server presents (one handshake,
verification off), and judge it for every client found on this host (or in
--root / --image / --pid): who trusts it, who does not, why, and the fix.

targets:
  host, host:port, [v6]:port, https://host[:port]/..., ldaps://, smtps://, imaps://,
  pop3s://, ftps://; STARTTLS: smtp://, imap://, pop3://, ftp://, postgres://, ldap://

examples:
  trustdoctor diagnose registry.internal.example.com
  trustdoctor diagnose 10.0.0.5:8443 --servername api.internal --client go
  trustdoctor diagnose smtp://mail.example.com:587
  trustdoctor diagnose reg.example:5000 --client docker --registry reg.example:5000
  trustdoctor diagnose db.internal:5432 --starttls postgres --format json
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("target", metavar="TARGET", help="host[:port] or URL")
    p.add_argument("--servername", metavar="NAME", help="SNI and the name checked (default: the host)")
    p.add_argument("--connect-to", metavar="ADDRESS[:PORT]",
                   help="connect there but keep the name (like curl --resolve)")
    p.add_argument("--starttls", metavar="PROTO",
                   choices=("smtp", "imap", "pop3", "ftp", "postgres", "ldap"),
                   help="speak PROTO before TLS: smtp, imap, pop3, ftp, postgres, ldap")
    p.add_argument("--all-addresses", action="store_true",
                   help="connect to every A/AAAA address and report differing chains")
    p.add_argument("-4", dest="family", action="store_const", const=socket.AF_INET, default=0,
                   help="IPv4 only")
    p.add_argument("-6", dest="family", action="store_const", const=socket.AF_INET6, help="IPv6 only")
    p.add_argument("--timeout", type=float, default=10.0, metavar="SECONDS")
    p.add_argument("--proxy", metavar="URL",
                   help="HTTP CONNECT proxy (default: HTTPS_PROXY/https_proxy unless NO_PROXY)")
    p.add_argument("--client", action="append", default=[], metavar="NAME",
                   help="client model(s) (default: the clients found on this host, "
                        "or in --root/--image/--pid)")
    p.add_argument("--trust", action="append", default=[], metavar="PATH",
                   help="judge against these anchors instead of the clients' stores")
    p.add_argument("--at", metavar="ISO-8601", help="judge at this time instead of now")
    p.add_argument("--format", choices=("text", "json"), default="text")
    from .trustopts import add_trust_context_arguments

    add_trust_context_arguments(p)


def run(args: argparse.Namespace) -> int:
    from .. import api
    from ..api_endpoint import fetch_all, judge_fetch
    from ..sources.target import parse_target
    from .views import client_views

    target = parse_target(args.target, starttls=args.starttls, servername=args.servername,
                          connect_to=args.connect_to)
    at = api.parse_time(args.at) if args.at else api.now()
    requested = api.check_clients(args.client) if args.client else []
    with client_views(args, []) as base:
        ctx = base.context
        env = dict(os.environ) if ctx.fs.is_host else dict(ctx.env)
        if requested:
            clients = requested
        else:
            from ..stores import clients_present

            clients = list(clients_present(ctx))
        if args.trust:
            anchors = api.load_trust_paths(args.trust)
            pairs = [(c, api.anchors_for_client(c, anchors, ", ".join(args.trust))[0])
                     for c in clients]
            refiners = None
        else:
            from .views import views_for

            views = views_for(ctx, clients)
            pairs = [(c, views.anchors[c]) for c in clients if c in views.anchors]
            refiners = views.refiners
        results = fetch_all(target, timeout=args.timeout, proxy=args.proxy, env=env,
                            all_addresses=args.all_addresses, family=args.family)
        mozilla = api.mozilla_reference()
        outcome = judge_fetch(target, results, clients=pairs, refiners=refiners,
                              reference=api.LazyReference(), mozilla=mozilla, at=at)
    if args.format == "json":
        from ..render.endpoint import endpoint_to_dict
        from ..render.json import dumps

        sys.stdout.write(dumps(endpoint_to_dict(outcome)))
    else:
        from ..render.endpoint import render_endpoint
        from .output import emit

        emit(render_endpoint(outcome))
    if outcome.diagnosis is None:
        return 3
    return 0 if outcome.diagnosis.verdict.trusted else 1
