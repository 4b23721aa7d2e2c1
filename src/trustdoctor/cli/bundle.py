"""``trustdoctor bundle TARGET|FILE``: the chain a server should present."""

from __future__ import annotations

import argparse
import sys

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
        "httpx, node, java, docker, containerd, crio, podman, kubelet (default: go, openssl, "
        "webpki, plus the clients found on this host, or in --root/--image/--pid, when no "
        "--trust is given)",
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
    from .netopts import add_network_arguments, add_target_arguments
    from .trustopts import add_trust_context_arguments

    add_target_arguments(p)

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
    add_trust_context_arguments(p)


def run(args: argparse.Namespace) -> int:
    from ..api.bundle import make_bundle
    from ..api.context import parse_time
    from .aiaopts import aia_options_from_args
    from .output import emit_report
    from .trustopts import options_from_args

    result = make_bundle(
        args.source,
        clients=args.client,
        options=options_from_args(args),
        intermediates=args.intermediates,
        include_root=args.include_root,
        aia=aia_options_from_args(args, default_fetch=True),
        at=parse_time(args.at) if args.at else None,
        servername=args.servername,
        connect_to=args.connect_to,
        starttls=args.starttls,
        timeout=args.timeout,
        proxy=args.proxy,
        key=args.key,
        key_password_file=args.key_password_file,
        out=args.out,
    )
    for note in result.served.notes:
        print(f"trustdoctor: note: {note}", file=sys.stderr)
    plan = result.plan
    if args.format == "pem":
        if result.ok:
            sys.stdout.write(plan.pem)
    else:
        emit_report(result, args.format)
    if not result.key_ok:
        assert result.keys is not None
        leaf = plan.chain[0].cert
        print(
            f"trustdoctor: --key {result.keys.name}: the private key does not match the leaf "
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
