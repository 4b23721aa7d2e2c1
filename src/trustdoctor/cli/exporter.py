"""``trustdoctor exporter``: Prometheus metrics of this node's trust, and ``/probe``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from . import process

# Outside 9100-9999 (the range of the Prometheus wiki's "Default port
# allocations", fully allocated since 2023), away from the exporters this one
# sits next to (blackbox 9115, ssl_exporter 9219, x509-certificate-exporter
# 9793, node_exporter 9100) and from the Kubernetes components' 10248-10260;
# not in /etc/services.  docs/exporter.md, "Port".
DEFAULT_PORT = 10214
DEFAULT_LISTEN = f"127.0.0.1:{DEFAULT_PORT}"

DESCRIPTION = f"""Serve this node's TLS trust as Prometheus metrics.

/metrics: per client found here (or under --root), whether each expected CA
(--ca FILE|DIR, --fingerprint SHA256) is trusted and why not (cause label),
store findings (stale bundle, env override, no trust store, daemon-store per
--registry, restart-required per service), anchors per client, expected
roots' expiry.  Work is cached and redone only when a store changes.

/probe?target=HOST:PORT&module=NAME&client=NAME: one endpoint judged per
client (blackbox_exporter's multi-target pattern).  Off unless
--allow-target says which targets may be probed (hosts, *.domains, IPs,
CIDRs, @FILE); link-local and metadata addresses need an explicit address rule.

Default listen address: {DEFAULT_LISTEN} (loopback; in a pod: --listen 0.0.0.0:{DEFAULT_PORT}).

examples:
  trustdoctor exporter --ca /etc/corp/root.pem
  trustdoctor exporter --root /host --ca /roots/ --registry registry.corp:5000 \\
      --listen 0.0.0.0:{DEFAULT_PORT}
  trustdoctor exporter --allow-target '*.corp.example' --allow-target 10.0.0.0/8
  trustdoctor exporter --ca root.pem --once      # print /metrics once and exit

see docs/exporter.md for the metrics, example PromQL and the deployment.
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--listen",
        default=DEFAULT_LISTEN,
        metavar="ADDR:PORT",
        help=f"where to listen (default {DEFAULT_LISTEN})",
    )
    g = p.add_argument_group("/metrics: this node")
    g.add_argument("--root", metavar="DIR", help="the node's root as mounted (default: /)")
    g.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="an environment variable of the clients (repeatable)",
    )
    g.add_argument("--env-file", metavar="FILE", help="KEY=VALUE lines")
    g.add_argument(
        "--client",
        action="append",
        default=[],
        metavar="NAME",
        help="client model(s) (default: those found in the root)",
    )
    g.add_argument(
        "--ca",
        action="append",
        default=[],
        metavar="FILE|DIR",
        help="an expected CA: a PEM/DER file or a directory of roots (repeatable)",
    )
    g.add_argument(
        "--fingerprint",
        action="append",
        default=[],
        metavar="SHA256",
        help="an expected CA by SHA-256 fingerprint (repeatable)",
    )
    g.add_argument(
        "--registry",
        action="append",
        default=[],
        metavar="HOST[:PORT]",
        help="a registry whose daemon stores (certs.d, hosts.toml) to check (repeatable)",
    )
    g.add_argument(
        "--pid",
        action="append",
        default=[],
        type=int,
        metavar="PID",
        help="a running process to check for restart-required (repeatable)",
    )
    g.add_argument(
        "--scan-processes",
        action="store_true",
        help="find the daemons and Go/Java/Node services in /proc (needs the host's "
        "PID namespace and the privilege to read their /proc entries)",
    )
    g.add_argument(
        "--max-processes",
        type=int,
        default=32,
        metavar="N",
        help="services checked at most (default 32)",
    )
    g.add_argument(
        "--once", action="store_true", help="print the /metrics exposition once and exit"
    )
    q = p.add_argument_group("/probe: endpoints")
    q.add_argument(
        "--allow-target",
        action="append",
        default=[],
        metavar="RULE",
        help="targets /probe may connect to: HOST, *.DOMAIN, IP, CIDR, with optional "
        ":PORT, or @FILE (repeatable; none: /probe is off)",
    )
    q.add_argument("--config", metavar="FILE", help="probe modules ([modules.NAME] TOML tables)")
    q.add_argument(
        "--probe-client",
        action="append",
        default=[],
        metavar="NAME",
        help="clients of the default module (default: those found in the root)",
    )
    q.add_argument(
        "--probe-timeout",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="the default module's timeout per probe (default 5)",
    )
    q.add_argument("--max-concurrent-probes", type=int, default=16, metavar="N")
    q.add_argument("--max-pending-probes", type=int, default=256, metavar="N")
    h = p.add_argument_group("listener limits")
    h.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="worker processes sharing the port (SO_REUSEPORT), for /probe throughput on "
        "several cores; counters on /metrics are per worker (default 1)",
    )
    h.add_argument("--max-connections", type=int, default=256, metavar="N")
    h.add_argument(
        "--header-timeout",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="a request head must arrive within this (slow clients are cut)",
    )


def _listen(text: str) -> tuple[str, int]:
    """``ADDR:PORT`` or ``[V6]:PORT`` (port 0: the kernel picks one, for tests)."""
    import ipaddress

    from ..errors import UsageError

    host, sep, port = text.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    try:
        if not sep or not port.isdigit() or int(port) > 65535:
            raise ValueError
        if host:
            ipaddress.ip_address(host)
    except ValueError:
        raise UsageError(f"--listen {text!r}: expected IP:PORT or [IPv6]:PORT") from None
    return host or "127.0.0.1", int(port)


def _bounded(name: str, value: float, lo: float, hi: float) -> None:
    from ..errors import UsageError

    if not lo <= value <= hi:
        raise UsageError(f"{name} must be between {lo:g} and {hi:g}, not {value!r}")


def run(args: argparse.Namespace) -> int:
    process.long_running()  # serves until stopped: the collector on
    import asyncio
    from pathlib import Path

    from ..api.context import TrustOptions
    from ..clients import check_clients, modelled, verifiers
    from ..exporter.allow import Allowlist
    from ..exporter.node import NodeWatch
    from ..exporter.probe import Module, Prober, load_modules
    from ..exporter.server import Limits, Server
    from ..sources.files import read_source
    from .trustopts import env_from_args

    host, port = _listen(args.listen)
    _bounded("--max-processes", args.max_processes, 0, 4096)
    _bounded("--probe-timeout", args.probe_timeout, 0.2, 60)
    _bounded("--max-concurrent-probes", args.max_concurrent_probes, 1, 1024)
    _bounded("--max-pending-probes", args.max_pending_probes, 1, 100_000)
    _bounded("--max-connections", args.max_connections, 1, 100_000)
    _bounded("--header-timeout", args.header_timeout, 0.1, 120)
    _bounded("--workers", args.workers, 1, 64)
    options = TrustOptions(root=args.root or "/", env=env_from_args(args))
    clients = check_clients(args.client, allowed=modelled())
    from ..stores.inspect import validate_registry

    registries = [validate_registry(r) for r in args.registry]
    node = NodeWatch(
        options,
        clients=clients,
        cas=args.ca,
        fingerprints=args.fingerprint,
        registries=registries,
        pids=args.pid,
        scan_processes=args.scan_processes,
        max_processes=args.max_processes,
    )
    # The first inspection now: a bad --ca, --root or --pid is an input error
    # (exit 2) before anything listens.
    families = node.families()
    if args.once:
        from ..exporter.expose import text

        sys.stdout.write(text(families).decode())
        return 0
    prober = None
    if args.allow_target:
        allow = Allowlist.parse(
            args.allow_target,
            read=lambda path: read_source(path, max_bytes=4 << 20).decode("utf-8", "replace"),
        )
        default = Module(
            "default",
            check_clients(args.probe_client, allowed=verifiers()) or None,
            timeout=args.probe_timeout,
        )
        modules = load_modules(args.config, default)
        for m in modules.values():
            for t in m.trust:
                if not Path(t).exists():
                    from ..errors import InputError

                    raise InputError(f"module {m.name}: trust {t}: no such file or directory")
        prober = Prober(
            options,
            modules,
            allow,
            max_concurrent=args.max_concurrent_probes,
            max_pending=args.max_pending_probes,
        )
        prober.warm()
    server = Server(
        node,
        prober,
        Limits(header_timeout=args.header_timeout, max_connections=args.max_connections),
    )

    def ready(addr: str, bound: int) -> None:
        shown = f"[{addr}]" if ":" in addr else addr
        print(
            f"trustdoctor exporter listening on http://{shown}:{bound}/metrics",
            file=sys.stderr,
            flush=True,
        )

    from ..errors import SourceError

    if args.workers == 1:
        try:
            asyncio.run(server.serve(host, port, ready))
        except OSError as exc:
            raise SourceError(f"--listen {args.listen}: {exc.strerror or exc}") from None
        return 0
    import os
    import signal

    from ..exporter.server import fork_workers, reuseport_socket

    try:
        first = reuseport_socket(host, port)
    except OSError as exc:
        raise SourceError(f"--listen {args.listen}: {exc.strerror or exc}") from None
    bound = first.getsockname()[1]
    index, children = fork_workers(args.workers)
    sock = first if index == 0 else reuseport_socket(host, bound)
    if index != 0:
        first.close()
    try:
        quiet: Callable[[str, int], None] = lambda a, b: None  # noqa: E731
        asyncio.run(server.serve(host, bound, ready if index == 0 else quiet, sock=sock))
    finally:
        for pid in children:
            try:
                os.kill(pid, signal.SIGTERM)
                os.waitpid(pid, 0)
            except OSError:
                pass
    return 0
