"""A loopback fleet for the scan tests and benchmarks (import it; not a conftest).

:class:`Fleet` listens on many loopback ports at once (one accept thread, a
``selectors`` loop) and runs a handler per connection in a thread, so one
"server" can stand for the many nodes of a service: each port is a distinct
target serving the same chain.  Handlers come from :mod:`netlab` (TLS
servers, STARTTLS dialogues, hostile servers).  Everything binds 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import ssl
import threading
from collections.abc import Iterator

from helpers.netlab import Handler


class Fleet:
    """``count`` loopback ports answered by ``handler``."""

    def __init__(self, handler: Handler, count: int, *, backlog: int = 128) -> None:
        self.handler = handler
        self.socks: list[socket.socket] = []
        self.sel = selectors.DefaultSelector()
        for _ in range(count):
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", 0))
            s.listen(backlog)
            s.setblocking(False)
            self.socks.append(s)
            self.sel.register(s, selectors.EVENT_READ)
        self.ports = [s.getsockname()[1] for s in self.socks]
        self.connections = 0
        self.per_port: dict[int, int] = dict.fromkeys(self.ports, 0)
        self.stop = threading.Event()
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()
        self._loop = threading.Thread(target=self._accept, daemon=True)

    def __enter__(self) -> Fleet:
        self._loop.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self._loop.join(2)
        with self._lock:
            for c in self._conns:
                with contextlib.suppress(OSError):
                    c.close()
        for s in self.socks:
            s.close()
        self.sel.close()

    def _accept(self) -> None:
        while not self.stop.is_set():
            for key, _ in self.sel.select(0.1):
                sock = key.fileobj
                assert isinstance(sock, socket.socket)
                try:
                    conn, _ = sock.accept()
                except (BlockingIOError, OSError):
                    continue
                conn.setblocking(True)
                with self._lock:
                    self.connections += 1
                    self.per_port[sock.getsockname()[1]] += 1
                    self._conns.append(conn)
                threading.Thread(target=self._run, args=(conn,), daemon=True).start()

    def _run(self, conn: socket.socket) -> None:
        try:
            conn.settimeout(15)
            self.handler(conn)
        except (OSError, ssl.SSLError, ValueError, AssertionError):
            pass
        finally:
            with contextlib.suppress(OSError):
                conn.close()
            with self._lock, contextlib.suppress(ValueError):
                self._conns.remove(conn)


@contextlib.contextmanager
def fleet(handler: Handler, count: int) -> Iterator[Fleet]:
    with Fleet(handler, count) as f:
        yield f


def closed_ports(count: int) -> list[int]:
    """Loopback ports nothing listens on (bound then closed: refused)."""
    out = []
    socks = []
    for _ in range(count):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
        out.append(s.getsockname()[1])
    for s in socks:
        s.close()
    return out
