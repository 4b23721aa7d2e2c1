"""``trustdoctor stores``: what each client trusts on a host, root, image or process."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..api.stores import StoresAnswer

DESCRIPTION = """What each TLS client would trust, file for file and variable for variable.

Without --ca: an inventory per client — the sources it reads, in its order,
with their status, the anchor count, and findings (no-trust-store,
stale-bundle, env-override, daemon-store, restart-required...).
With --ca FILE or --fingerprint SHA256: for each client, trusted or not and
why; exit 1 if any selected client does not trust it (a CI compliance check).

clients: go, openssl, curl, python, requests, httpx, node, java, docker, containerd,
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


def add_arguments(p: argparse.ArgumentParser) -> None:
    from .trustopts import add_server_argument, add_trust_context_arguments

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
    p.add_argument(
        "--format",
        choices=("text", "json", "prometheus", "junit"),
        default="text",
        help="prometheus: the exporter's node metrics (node_exporter textfile collector); "
        "junit: one test case per client (CI test reports)",
    )
    p.add_argument(
        "--out",
        metavar="FILE",
        help="write the output to FILE atomically (temporary file + rename) instead of stdout",
    )
    add_server_argument(p)


def run(args: argparse.Namespace) -> int:
    from ..api.stores import inspect_stores
    from ..render.json import dumps
    from .output import emit
    from .trustopts import options_from_args

    answer = inspect_stores(
        args.client,
        options=options_from_args(args),
        ca=args.ca,
        fingerprint=args.fingerprint,
    )
    if args.format == "prometheus":
        # The node's families, as /metrics shows them; the answer is in the
        # metrics, so a timer's run succeeds whatever the clients trust.
        _write(args.out, _prometheus(answer))
        return 0
    if args.format == "junit":
        from ..render.junit import junit

        _write(args.out, junit(answer).encode())
    elif args.format == "json":
        _write(args.out, dumps(answer.to_dict(anchors=args.anchors)).encode())
    elif args.out:
        _write(args.out, answer.to_text().plain().encode())
    else:
        emit(answer.to_text())
    return 0 if answer.compliant else 1


def _prometheus(answer: StoresAnswer) -> bytes:
    from .. import __version__
    from ..api.context import now
    from ..exporter.expose import text
    from ..render.prometheus import Where, node_families

    fams = node_families(
        [(Where(registry=answer.report.registry or ""), answer)],
        at=now(),
        version=__version__,
        python=".".join(map(str, sys.version_info[:3])),
    )
    return text(fams)


def _write(out: str | None, data: bytes) -> None:
    """stdout, or ``--out FILE`` replaced atomically (node_exporter reads whole files only)."""
    if out is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    from pathlib import Path

    from ..errors import InputError
    from ..sources.atomic import WriteError, atomic_write

    try:
        atomic_write(Path(out), data, mode=0o644)
    except WriteError as exc:
        raise InputError(f"--out {out}: cannot write ({exc.strerror or exc})") from None
