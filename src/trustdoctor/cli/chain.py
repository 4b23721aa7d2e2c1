"""``trustdoctor chain``: judge certificates from files or stdin."""

from __future__ import annotations

import argparse
import sys

DESCRIPTION = """Judge certificates from files or stdin, for each client model.

The first file's first certificate is the leaf (unless the input is clearly
root-first); everything else is "presented".  Inputs may be PEM with any text
around it (an `openssl s_client -showcerts` transcript), base64 of a PEM (a
Kubernetes secret), DER, PKCS#7 or PKCS#12.

examples:
  trustdoctor chain fullchain.pem --host www.example.com
  openssl s_client -connect host:443 -showcerts </dev/null | trustdoctor chain - --trust root.pem
  trustdoctor chain leaf.pem --intermediates inter.pem --client go --format json
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    from .aiaopts import add_aia_arguments
    from .trustopts import add_server_argument, add_trust_context_arguments

    p.add_argument("files", nargs="+", metavar="FILE", help="certificate files; - for stdin")
    p.add_argument(
        "--trust",
        action="append",
        default=[],
        metavar="PATH",
        help="trust anchors (file or directory); default: each client's store",
    )
    p.add_argument(
        "--intermediates",
        action="append",
        default=[],
        metavar="PATH",
        help="extra untrusted intermediates",
    )
    p.add_argument("--host", metavar="NAME|IP", help="the peer name to check")
    p.add_argument("--at", metavar="ISO-8601", help="judge at this time instead of now")
    p.add_argument(
        "--client",
        action="append",
        default=[],
        metavar="NAME",
        help="client model(s), repeatable or comma-separated: go, openssl, webpki, curl, "
        "python, requests, httpx, node, java, docker, containerd, crio, podman, kubelet "
        "(default: go, openssl, webpki)",
    )
    pw = p.add_mutually_exclusive_group()
    pw.add_argument("--password", help="PKCS#12 password")
    pw.add_argument("--password-file", metavar="FILE", help="read the PKCS#12 password from FILE")
    p.add_argument("--format", choices=("text", "json"), default="text")
    add_server_argument(p)
    # AIA fetching (issue 7): --fetch / --no-fetch (default) / --cache DIR; cli/aiaopts.py.
    add_aia_arguments(p, default_fetch=False)
    add_trust_context_arguments(p)


def run(args: argparse.Namespace) -> int:
    from ..api.chain import diagnose_chain
    from ..api.context import parse_time
    from .aiaopts import aia_options_from_args
    from .output import emit_report
    from .trustopts import options_from_args

    report = diagnose_chain(
        args.files,
        intermediates=args.intermediates,
        host=args.host,
        at=parse_time(args.at) if args.at else None,
        clients=args.client,
        options=options_from_args(args),
        aia=aia_options_from_args(args, default_fetch=False),
    )
    for note in report.notes:
        print(f"trustdoctor: note: {note}", file=sys.stderr)
    emit_report(report, args.format)
    return 0 if report.trusted else 1
