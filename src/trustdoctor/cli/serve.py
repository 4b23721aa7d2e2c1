"""``trustdoctor serve``: the incident assistant as a web page and a JSON API."""

from __future__ import annotations

import argparse
import importlib
import sys

from . import process

DESCRIPTION = """Serve the incident assistant: a page where people paste what they have
(a chain, an error line, a log excerpt, the root they expect) and get the
verdict (server side, client side or both), the chain as a picture, what each
client prints, and the fix — the same answers as `chain` and `explain` — plus
a JSON API under /api/ (OpenAPI at /api/openapi.json) and /healthz.

Paste-only by default: the server makes no outbound connection.  Live
endpoint checks only for the hosts and networks --allow-target names
(loopback, link-local and cloud metadata addresses only when named).
Nothing pasted is stored or logged.  Needs the web extra:
pip install 'trustdoctor[web]'.  See docs/serve.md.

examples:
  trustdoctor serve                                  # http://127.0.0.1:8080
  trustdoctor serve --listen 0.0.0.0:8080 --trust /etc/ssl/certs/ca-certificates.crt
  trustdoctor serve --allow-target registry.internal --allow-target 10.20.0.0/16
"""

# Modules the command needs, and the package each comes from.
WEB_MODULES = {
    "starlette": "starlette",
    "jinja2": "Jinja2",
    "uvicorn": "uvicorn",
    "python_multipart": "python-multipart",
}


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--listen",
        default="127.0.0.1:8080",
        metavar="ADDR:PORT",
        help="where to listen (default: 127.0.0.1:8080, this machine only)",
    )
    p.add_argument(
        "--allow-target",
        action="append",
        default=[],
        metavar="HOST|CIDR",
        help="allow live endpoint checks of this host name (*.suffix for a domain), address "
        "or network; repeatable (default: none, paste-only)",
    )
    p.add_argument(
        "--trust",
        action="append",
        default=[],
        metavar="PATH",
        help="anchors for pastes without a root (file or directory; default: Mozilla's roots "
        "as certifi ships them)",
    )
    p.add_argument(
        "--client",
        action="append",
        default=[],
        metavar="NAME",
        help="client models of the table (default: go, openssl, curl, python, node, java, webpki)",
    )
    p.add_argument("--max-body", type=int, metavar="BYTES", help="largest request (default 2 MiB)")
    p.add_argument(
        "--concurrency",
        type=int,
        metavar="N",
        help="analyses at once per worker process (default 1: they are CPU work)",
    )
    p.add_argument(
        "--queue",
        type=int,
        metavar="N",
        help="requests waiting for an analysis before 503 (default 256); with --max-body it "
        "bounds memory: at most (N + concurrency + 64) requests are read at once",
    )
    p.add_argument("--workers", type=int, default=1, metavar="N", help="worker processes")
    p.add_argument(
        "--timeout", type=float, metavar="SECONDS", help="live check budget (default 10)"
    )


def missing_modules() -> list[str]:
    """The packages of the web extra that cannot be imported."""
    out = []
    for mod, pkg in WEB_MODULES.items():
        try:
            importlib.import_module(mod)
        except ImportError:
            out.append(pkg)
    return out


def settings_from_args(args: argparse.Namespace) -> object:
    from ..clients import check_clients, verifiers
    from ..errors import UsageError
    from ..web.settings import Settings

    extra: dict[str, object] = {}
    if args.max_body is not None:
        if args.max_body < 1024:
            raise UsageError("--max-body must be at least 1024 bytes")
        extra["max_body"] = args.max_body
        extra["max_log"] = args.max_body
    if args.concurrency is not None:
        if not 1 <= args.concurrency <= 64:
            raise UsageError("--concurrency must be between 1 and 64")
        extra["concurrency"] = args.concurrency
    if args.queue is not None:
        if not 0 <= args.queue <= 4096:
            raise UsageError("--queue must be between 0 and 4096")
        extra["queue"] = args.queue
    if args.timeout is not None:
        if not 0 < args.timeout <= 60:
            raise UsageError("--timeout must be a number of seconds between 0 and 60")
        extra["timeout"] = args.timeout
    if not 1 <= args.workers <= 32:
        raise UsageError("--workers must be between 1 and 32")
    clients = check_clients(args.client, allowed=verifiers()) if args.client else None
    if clients:
        extra["clients"] = tuple(clients)
    return Settings(
        listen=args.listen,
        allow_target=tuple(args.allow_target),
        trust=tuple(args.trust),
        workers=args.workers,
        **extra,  # type: ignore[arg-type]
    )


def run(args: argparse.Namespace) -> int:
    process.long_running()  # serves until stopped: the collector on
    from ..errors import UsageError

    missing = missing_modules()
    if missing:
        print(
            f"trustdoctor: serve needs the web extra ({', '.join(missing)} missing): "
            "pip install 'trustdoctor[web]'",
            file=sys.stderr,
        )
        return 3
    from ..model.target import parse_hostport
    from ..web.server import serve

    settings = settings_from_args(args)
    host, port = parse_hostport(args.listen, what="--listen")
    if port is None:
        raise UsageError("--listen: give ADDR:PORT, e.g. 127.0.0.1:8080")
    return serve(settings, host, port)  # type: ignore[arg-type]
