"""``trustdoctor stores``: what each client trusts on a host, root, image or process."""

from __future__ import annotations

import argparse
import sys

DESCRIPTION = """What each TLS client would trust, file for file and variable for variable.

Without --ca: an inventory per client — the sources it reads, in its order,
with their status, the anchor count, and findings (no-trust-store,
stale-bundle, env-override, daemon-store, restart-required...).
With --ca FILE or --fingerprint SHA256: for each client, trusted or not and
why; exit 1 if any selected client does not trust it (a CI compliance check).

clients: go, openssl, curl, python, requests, node, java, docker, containerd,
crio, podman (default: the ones found in the root; go always).

examples:
  trustdoctor stores
  trustdoctor stores --image app.tar --ca corp-root.pem
  trustdoctor stores --root /mnt/node --client containerd --registry reg.internal:5000
  trustdoctor stores --pid $(pidof dockerd) --format json
  trustdoctor stores --env SSL_CERT_FILE=/tmp/ca.pem --client go --client python

exit codes: 0 inventory shown / CA trusted by every selected client, 1 some
client does not trust the CA, 2 usage or input error, 3 could not complete.
"""

# Variables any client model reads (shown in the header).
TRUST_ENV_VARS: tuple[str, ...] = (
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "CURL_CA_BUNDLE",
    "REQUESTS_CA_BUNDLE",
    "NODE_EXTRA_CA_CERTS",
    "NODE_OPTIONS",
    "NODE_USE_SYSTEM_CA",
    "JAVA_HOME",
    "JAVA_TOOL_OPTIONS",
    "JDK_JAVA_OPTIONS",
    "_JAVA_OPTIONS",
    "ROOTLESSKIT_STATE_DIR",
    "XDG_CONFIG_HOME",
    "VIRTUAL_ENV",
    "PYTHONPATH",
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    from .trustopts import add_trust_context_arguments

    add_trust_context_arguments(p)
    p.add_argument(
        "--client",
        action="append",
        default=[],
        metavar="NAME",
        help="client model(s), repeatable or comma-separated (default: those found in the root)",
    )
    which = p.add_mutually_exclusive_group()
    which.add_argument(
        "--ca", metavar="FILE", help="check whether each client trusts the CA(s) in FILE"
    )
    which.add_argument(
        "--fingerprint", metavar="SHA256", help="check by SHA-256 fingerprint (hex, colons allowed)"
    )
    p.add_argument("--anchors", action="store_true", help="list every anchor in the JSON output")
    p.add_argument("--format", choices=("text", "json"), default="text")


def _clients(values: list[str]) -> tuple[str, ...] | None:
    from ..stores.inspect import check_clients

    names = [n for v in values for n in v.split(",") if n.strip()]
    return check_clients(names) if names else None


def run(args: argparse.Namespace) -> int:
    from ..engine.refine import CaCheck, check_ca, normalize_fingerprint
    from ..errors import InputError, UsageError
    from ..model.cert import CertInfo
    from ..model.stores import StoresReport
    from ..stores.inspect import inspect_stores
    from .trustopts import env_from_args, open_trust_context

    clients = _clients(args.client)
    cas: list[CertInfo] = []
    fingerprint: str | None = None
    if args.ca:
        from ..sources.files import certs_of, load_paths

        cas = certs_of(load_paths([args.ca]))
        if not cas:
            raise InputError(f"{args.ca}: no certificate found")
    elif args.fingerprint:
        fingerprint = normalize_fingerprint(args.fingerprint)
        if fingerprint is None:
            raise UsageError(
                f"--fingerprint {args.fingerprint!r}: expected 64 hex digits (SHA-256)"
            )
    with open_trust_context(args) as ctx:
        stores = inspect_stores(ctx, clients)
        checks: list[tuple[CaCheck, ...]] = []
        for ca in cas:
            checks.append(tuple(check_ca(s, cert=ca) for s in stores))
        if fingerprint is not None:
            checks.append(tuple(check_ca(s, fingerprint=fingerprint) for s in stores))
        given = env_from_args(args) is not None
        origin = {
            "process": "the process's",
            "image": "the image config's",
            "tool": "the tool's own",
            "empty": "empty",
            "given": "given",
        }.get(ctx.env_origin, ctx.env_origin)
        if given and ctx.env_origin in ("process", "image"):
            origin += ", with --env values"
        report = StoresReport(
            root=ctx.label,
            distro=ctx.distro,
            stores=stores,
            env_keys=tuple(k for k in TRUST_ENV_VARS if ctx.env.get(k)),
            env_origin=origin,
            registry=ctx.registry,
            checks=tuple(checks),
        )
        plan = None
        missing = (
            [s for s, c in zip(stores, checks[0], strict=True) if not c.trusted] if cas else []
        )
        if missing:
            # The fix for a --ca check: make every client that lacks the root trust it.
            from ..fixes import plan_for_stores
            from ..stores.fixfacts import fix_context

            plan = plan_for_stores(missing, cas[0], fix_context(ctx, stores), ca_file=args.ca)
    if args.format == "json":
        from ..render.stores_json import dumps, stores_to_dict

        data = stores_to_dict(report, anchors=args.anchors)
        if plan is not None:
            from ..render.plan_json import plan_to_dict

            data["plan"] = plan_to_dict(plan)
        sys.stdout.write(dumps(data))
    else:
        from ..render.stores_text import render_stores
        from .output import emit

        emit(render_stores(report))
        if plan is not None:
            from ..render.doc import DIM, HEAD, Doc, Span
            from ..render.plan_text import render_plan

            doc = Doc()
            doc.blank()
            hint = "  (trustdoctor fix --ca FILE prints it; --apply carries out the file steps)"
            doc.line(Span("Fix", HEAD), Span(hint, DIM))
            for line in render_plan(plan).lines:
                doc.lines.append([Span("  "), *line] if line else [])
            emit(doc)
    if checks:
        return 0 if all(c.trusted for group in checks for c in group) else 1
    return 0
