"""A small HTTP/1.1 listener for ``/metrics`` and ``/probe`` (asyncio, GET only).

Why not ``http.server``: a thread per connection lets a slow client
(slowloris) hold threads; here a connection is a coroutine, the request head
must arrive within ``header_timeout`` and fit in ``MAX_HEAD`` bytes, at most
``max_connections`` are open (more are closed at once), and the answer is
written with a deadline too.  Every response closes its connection
(``Connection: close``): Prometheus opens a new one per scrape when asked.

Work never runs on the event loop: the node's inspection runs on one
dedicated thread (one at a time: concurrent scrapes wait for the same
answer), probes on the prober's pool.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

from .. import __version__
from ..model.record import mutable_record
from ..render.prometheus import PREFIX, Family

if TYPE_CHECKING:
    from .node import NodeWatch
    from .probe import Prober

MAX_HEAD = 16 * 1024
REASONS = {
    200: "OK",
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    408: "Request Timeout",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


@mutable_record
class Limits:
    """The exporter's HTTP limits: time-outs and connection counts."""

    header_timeout: float = 5.0
    write_timeout: float = 10.0
    max_connections: int = 256
    metrics_timeout: float = 30.0


class Server:
    def __init__(self, node: NodeWatch, prober: Prober | None, limits: Limits) -> None:
        self.node = node
        self.prober = prober
        self.limits = limits
        self.open = 0
        self.rejected = 0
        self.timeouts = 0
        self._node_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="inspect")
        self._server: asyncio.Server | None = None

    # -- HTTP ---------------------------------------------------------------------------

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.open >= self.limits.max_connections:
            self.rejected += 1
            writer.close()
            return
        self.open += 1
        try:
            try:
                head = await asyncio.wait_for(
                    reader.readuntil(b"\r\n\r\n"), timeout=self.limits.header_timeout
                )
            except TimeoutError:
                self.timeouts += 1
                await self._send(writer, 408, b"request head too slow\n", "text/plain")
                return
            except asyncio.LimitOverrunError:
                await self._send(writer, 431, b"request head too large\n", "text/plain")
                return
            except (asyncio.IncompleteReadError, ConnectionError):
                return
            status, body, ctype = await self._dispatch(head)
            await self._send(writer, status, body, ctype)
        except Exception:  # one broken request never stops the listener
            with contextlib.suppress(Exception):
                await self._send(writer, 500, b"internal error\n", "text/plain")
        finally:
            self.open -= 1
            writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer.wait_closed(), timeout=1)

    async def _send(
        self, writer: asyncio.StreamWriter, status: int, body: bytes, ctype: str
    ) -> None:
        head = (
            f"HTTP/1.1 {status} {REASONS.get(status, 'Error')}\r\n"
            f"Content-Type: {ctype}\r\nContent-Length: {len(body)}\r\n"
            f"Connection: close\r\nServer: trustdoctor/{__version__}\r\n\r\n"
        )
        writer.write(head.encode("latin-1") + body)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(writer.drain(), timeout=self.limits.write_timeout)

    async def _dispatch(self, head: bytes) -> tuple[int, bytes, str]:
        try:
            text = head.decode("latin-1")
            request_line, *lines = text.split("\r\n")
            method, target, version = request_line.split(" ")
        except ValueError:
            return 400, b"malformed request line\n", "text/plain"
        if not version.startswith("HTTP/1."):
            return 400, b"HTTP/1.x only\n", "text/plain"
        headers: dict[str, str] = {}
        for line in lines:
            if not line:
                continue
            name, sep, value = line.partition(":")
            if not sep:
                return 400, b"malformed header\n", "text/plain"
            headers[name.strip().lower()] = value.strip()
        if method != "GET":
            return 405, b"GET only\n", "text/plain"
        url = urlsplit(target)
        accept = headers.get("accept")
        if url.path == "/metrics":
            return await self._metrics(accept)
        if url.path == "/probe":
            if self.prober is None:
                return 404, b"/probe is off (no --allow-target given)\n", "text/plain"
            query = parse_qs(url.query, keep_blank_values=True, max_num_fields=32)
            return await self.prober.handle(query, headers, accept)
        if url.path in ("/", ""):
            return 200, _landing(self.prober is not None), "text/html; charset=utf-8"
        if url.path == "/healthz":
            return 200, b"ok\n", "text/plain"
        return 404, b"not found\n", "text/plain"

    async def _metrics(self, accept: str | None) -> tuple[int, bytes, str]:
        from .expose import encode, registry_of

        loop = asyncio.get_running_loop()
        node: list[Family] = await asyncio.wait_for(
            loop.run_in_executor(self._node_pool, self.node.families),
            timeout=self.limits.metrics_timeout,
        )
        extra = self.prober.own() if self.prober is not None else []
        took = Family(
            PREFIX + "http_requests_rejected_total",
            "counter",
            "Connections closed at once (over --max-connections) or for a slow request head.",
            ("reason",),
        )
        took.add(self.rejected, reason="too-many-connections")
        took.add(self.timeouts, reason="slow-request-head")
        fams = node + extra + [took]
        body, ctype = encode(registry_of(lambda: fams, process=True), accept)
        return 200, body, ctype

    # -- life cycle --------------------------------------------------------------------

    async def serve(
        self,
        host: str,
        port: int,
        ready: Callable[[str, int], None],
        *,
        sock: socket.socket | None = None,
    ) -> None:
        if sock is not None:
            self._server = await asyncio.start_server(
                self._connection, sock=sock, limit=MAX_HEAD, backlog=512
            )
        else:
            self._server = await asyncio.start_server(
                self._connection, host, port, limit=MAX_HEAD, reuse_address=True, backlog=512
            )
        name = self._server.sockets[0].getsockname()
        ready(str(name[0]), int(name[1]))
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(sig, stop.set)
        async with self._server:
            await stop.wait()
        self._node_pool.shutdown(wait=False, cancel_futures=True)
        if self.prober is not None:
            self.prober.close()


def _landing(probe: bool) -> bytes:
    rows = ['<li><a href="/metrics">/metrics</a>: this node\'s trust stores</li>']
    if probe:
        rows.append("<li>/probe?target=HOST:PORT&amp;module=default: one endpoint, per client</li>")
    return (
        "<!doctype html><html><head><title>trustdoctor exporter</title></head><body>"
        f"<h1>trustdoctor exporter {__version__}</h1><ul>{''.join(rows)}</ul>"
        "</body></html>\n"
    ).encode()


def reuseport_socket(host: str, port: int) -> socket.socket:
    """A listening socket with ``SO_REUSEPORT``: several worker processes bind the
    same address and the kernel spreads connections between them."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(512)
    sock.setblocking(False)
    return sock


def fork_workers(n: int) -> tuple[int, list[int]]:
    """Fork ``n - 1`` worker processes; returns (this worker's index, children's
    pids — empty in a child).  A child dies with its parent (PR_SET_PDEATHSIG)."""
    import ctypes
    import os

    children: list[int] = []
    for i in range(1, n):
        pid = os.fork()
        if pid == 0:
            try:
                libc = ctypes.CDLL(None, use_errno=True)
                libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
            except (OSError, AttributeError):
                pass
            return i, []
        children.append(pid)
    return 0, children
