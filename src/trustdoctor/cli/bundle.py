"""``trustdoctor bundle TARGET|FILE``: the chain a server should present."""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..model.diagnosis import PresentedCert

DESCRIPTION = """Build the chain a server should present: leaf first, then each intermediate
in order, no root (unless --include-root), nothing unrelated, nothing twice;
trusted by every selected client.  Missing intermediates are fetched from the
certificates' AIA caIssuers URLs (never trusted as anchors).  Compares the
result with what the server presents today.

TARGET is host[:port] or a URL, on any port (one handshake, verification off);
FILE is a certificate file (PEM, DER, PKCS#7, PKCS#12) or - for stdin.

examples:
  trustdoctor bundle registry.internal.example.com:5000 --trust root.pem --out fullchain.pem
  trustdoctor bundle leaf.pem --key privkey.pem --out fullchain.pem
  trustdoctor bundle 10.0.0.5:8443 --servername api.internal --format pem > fullchain.pem
  trustdoctor bundle host:443 --client go --client java --no-fetch

exit codes: 0 a chain trusted by every selected client was built (and written
with --out), 1 none could be built or --key does not match (nothing written),
2 usage or input error (bad key file, --out a directory...), 3 the target could
not be reached or the file could not be written
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("source", metavar="TARGET|FILE", help="host[:port], a URL, a file, or -")
    p.add_argument(
        "--out", metavar="FILE", help="write the chain (PEM) here, atomically, mode 0644"
    )
    p.add_argument(
        "--include-root", action="store_true", help="append the self-signed root (not needed)"
    )
    p.add_argument(
        "--client",
        action="append",
        default=[],
        metavar="NAME",
        help="client(s) the chain must satisfy: go, openssl, webpki, curl, python, requests, "
        "node, java, docker, containerd, crio (default: go, openssl, webpki, plus the "
        "clients found on this host when no --trust is given)",
    )
    p.add_argument(
        "--trust",
        action="append",
        default=[],
        metavar="PATH",
        help="anchors (file or directory) for every client, instead of their stores",
    )
    p.add_argument(
        "--intermediates",
        action="append",
        default=[],
        metavar="PATH",
        help="extra untrusted intermediates to build from",
    )
    p.add_argument("--key", metavar="KEY.pem", help="check this private key matches the leaf")
    p.add_argument("--key-password-file", metavar="FILE", help="password of an encrypted --key")
    p.add_argument("--servername", metavar="NAME", help="SNI to send (TARGET only)")
    from .netopts import add_network_arguments

    add_network_arguments(
        p,
        timeout_help="handshake budget for TARGET (default 10)",
        proxy_help="HTTP proxy for TARGET and AIA fetches; '' for none "
        "(default: https_proxy/HTTPS_PROXY, http_proxy for http:// AIA URLs, unless NO_PROXY)",
    )
    p.add_argument("--at", metavar="ISO-8601", help="judge at this time instead of now")
    p.add_argument(
        "--format",
        choices=("text", "json", "pem"),
        default="text",
        help="text report, JSON document, or only the PEM chain on stdout",
    )
    from .aiaopts import add_aia_arguments

    add_aia_arguments(p, default_fetch=True)


def run(args: argparse.Namespace) -> int:
    from .. import api
    from ..api import aia as api_aia
    from .aiaopts import aia_options_from_args

    # Everything the user can get wrong fails here, before any network work.
    protect = [*(x for x in (args.key, args.key_password_file) if x), *args.trust]
    if args.out is not None:
        api_aia.check_out_path(args.out, protect=protect)
    if args.key_password_file and not args.key:
        from ..errors import UsageError

        raise UsageError("--key-password-file needs --key")
    keys = (
        api_aia.read_key_file(args.key, password_file=args.key_password_file) if args.key else None
    )
    at = api.parse_time(args.at) if args.at else None
    aia = aia_options_from_args(args, default_fetch=True)
    pairs, notes = api_aia.bundle_clients(args.client, trust=args.trust)
    supplied: list[PresentedCert] = []
    if args.intermediates:
        from ..sources.files import load_paths

        supplied = [pc for item in load_paths(args.intermediates) for pc in item.certs]

    served = api_aia.load_served_chain(
        args.source,
        timeout=args.timeout,
        proxy=args.proxy,
        environ=dict(os.environ),
        servername=args.servername,
    )
    for note in served.notes:
        print(f"trustdoctor: note: {note}", file=sys.stderr)
    result = api_aia.make_bundle(
        served,
        pairs,
        at=at,
        supplied=supplied,
        include_root=args.include_root,
        aia=aia,
        extra_findings=notes,
        explicit_anchors=bool(args.trust),
    )
    plan = result.plan
    leaf = plan.chain[0].cert
    key_ok = keys is None or keys.matches(leaf)
    written = None
    if plan.ok and key_ok and args.out is not None:
        written = str(api_aia.write_bundle(args.out, plan.pem, protect=protect))

    if args.format == "pem":
        if plan.ok:
            sys.stdout.write(plan.pem)
    elif args.format == "json":
        from ..render.bundle import bundle_to_dict
        from ..render.json import dumps

        sys.stdout.write(dumps(bundle_to_dict(result, keys=keys, written=written)))
    else:
        from ..render.bundle import render_bundle
        from .output import emit

        emit(render_bundle(result, keys=keys, written=written))
    if keys is not None and not key_ok:
        print(
            f"trustdoctor: --key {keys.name}: the private key does not match the leaf "
            f"'{leaf.display_name}' (sha256 {leaf.sha256[:16]}); nothing written",
            file=sys.stderr,
        )
        return 1
    if not plan.ok:
        why = "; ".join(f"{r.client}: {r.cause.value}" for r in plan.clients if not r.trusted)
        print(
            f"trustdoctor: no chain is trusted by every selected client ({why}); nothing written",
            file=sys.stderr,
        )
        return 1
    return 0
