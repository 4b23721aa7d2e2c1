"""``trustdoctor diagnose [TARGET]``: what the server presents, and who trusts it."""

from __future__ import annotations

import argparse

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
  trustdoctor diagnose reg.example:5000 --client docker      # certs.d/reg.example:5000
  trustdoctor diagnose db.internal:5432 --starttls postgres --format json
  trustdoctor diagnose --client kubectl    # kubectl's cluster server, as kubectl connects

exit codes: 0 every selected client trusts the chain, 1 at least one refuses
(diagnosed), 2 usage or input error, 3 nothing could be judged (DNS, refused,
timeout, not TLS, handshake failed, STARTTLS refused, proxy failed)
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    from .aiaopts import add_aia_arguments
    from .netopts import (
        add_endpoint_judging_arguments,
        add_family_arguments,
        add_network_arguments,
        add_target_arguments,
    )
    from .trustopts import add_server_argument, add_trust_context_arguments

    p.add_argument(
        "target",
        metavar="TARGET",
        nargs="?",
        help="host[:port] or URL (omitted with --client kubectl: the server of "
        "kubectl's current cluster)",
    )
    add_target_arguments(p)
    p.add_argument(
        "--all-addresses",
        action="store_true",
        help="connect to every A/AAAA address and report differing chains",
    )
    add_family_arguments(p)
    add_network_arguments(
        p,
        timeout_help="overall budget per address: DNS, connect, proxy, STARTTLS, handshake "
        "(default 10)",
        proxy_help="HTTP CONNECT proxy http://[user:pass@]host:port; '' for none "
        "(default: HTTPS_PROXY/https_proxy unless NO_PROXY matches)",
    )
    add_endpoint_judging_arguments(p)
    p.add_argument("--format", choices=("text", "json"), default="text")
    add_server_argument(p)
    add_trust_context_arguments(p)
    add_aia_arguments(p, default_fetch=False)


def run(args: argparse.Namespace) -> int:
    from ..api.context import parse_time
    from ..api.endpoint import diagnose_endpoint
    from .aiaopts import aia_options_from_args
    from .output import emit_report
    from .trustopts import options_from_args

    report = diagnose_endpoint(
        args.target,
        clients=args.client,
        options=options_from_args(args),
        servername=args.servername,
        connect_to=args.connect_to,
        starttls=args.starttls,
        timeout=args.timeout,
        proxy=args.proxy,
        all_addresses=args.all_addresses,
        family=args.family,
        at=parse_time(args.at) if args.at else None,
        aia=aia_options_from_args(args, default_fetch=False),
        intermediates=args.intermediates,
    )
    emit_report(report, args.format)
    if report.diagnosis is None:
        return 3
    return 0 if report.trusted else 1
