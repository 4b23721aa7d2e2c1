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
        help="client model(s): go, openssl, webpki, curl, python, requests, node, java, "
        "docker, containerd, crio (default: go, openssl, webpki)",
    )
    pw = p.add_mutually_exclusive_group()
    pw.add_argument("--password", help="PKCS#12 password")
    pw.add_argument("--password-file", metavar="FILE", help="read the PKCS#12 password from FILE")
    p.add_argument("--format", choices=("text", "json"), default="text")
    # AIA fetching (issue 7): --fetch / --no-fetch (default) / --cache DIR; cli/aiaopts.py.
    from .aiaopts import add_aia_arguments

    add_aia_arguments(p, default_fetch=False)
    from .trustopts import add_trust_context_arguments

    add_trust_context_arguments(p)


def _password(args: argparse.Namespace) -> bytes | None:
    if args.password is not None:
        return str(args.password).encode()
    if args.password_file:
        from ..sources.files import read_source

        return read_source(args.password_file, max_bytes=4096).rstrip(b"\r\n")
    return None


def run(args: argparse.Namespace) -> int:
    from .. import api
    from ..errors import UsageError
    from ..sources.files import load_paths

    if args.files.count("-") > 1:
        raise UsageError("stdin (-) can be given only once")
    if args.trust:
        given = [
            o
            for o, v in (
                ("--root", args.root),
                ("--image", args.image),
                ("--pid", args.pid),
                ("--env", args.env),
                ("--env-file", args.env_file),
                ("--registry", args.registry),
            )
            if v
        ]
        if given:
            raise UsageError(
                f"--trust replaces the clients' stores, so {', '.join(given)} would be ignored; "
                "drop one or the other"
            )
    password = _password(args)
    inputs = load_paths(args.files, password=password)
    inter = load_paths(args.intermediates, password=password) if args.intermediates else []
    at = api.parse_time(args.at) if args.at else None
    clients = args.client or list(api.DEFAULT_CHAIN_CLIENTS)
    host = args.host
    from .aiaopts import chain_diagnoser
    from .views import client_views, plan_for

    diagnose_chain = chain_diagnoser(args)  # api.diagnose_chain, + AIA with --fetch/--cache
    if args.trust:
        diag = diagnose_chain(
            inputs,
            trust=args.trust,
            intermediates=inter,
            host=host,
            at=at,
            clients=clients,
            password=password,
        )
        plan = plan_for(diag, None)
    else:
        with client_views(args, clients) as views:
            diag = diagnose_chain(
                inputs,
                intermediates=inter,
                host=host,
                at=at,
                clients=clients,
                client_anchors=views.anchors,
                refiners=views.refiners,
            )
            plan = plan_for(diag, views)
    for item in inputs:
        for note in item.notes:
            print(f"trustdoctor: note: {note}", file=sys.stderr)
    if args.format == "json":
        from ..render.json import diagnosis_to_dict, dumps

        extra = None
        if plan is not None:
            from ..render.plan_json import plan_to_dict

            extra = {"plan": plan_to_dict(plan)}
        sys.stdout.write(dumps(diagnosis_to_dict(diag, kind="chain", extra=extra)))
    else:
        from ..render.text import render_diagnosis
        from .output import emit

        emit(render_diagnosis(diag, plan=plan))
    return 0 if diag.verdict.trusted else 1
