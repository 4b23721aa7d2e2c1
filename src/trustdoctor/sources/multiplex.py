"""Many handshakes in one thread, for the handshake workers of a scan.

A worker process (sources/fetchpool.py) with a thread per handshake in flight
spends a good part of its CPU handing the interpreter from thread to thread
at every read: on this project's 2-core machine, ~2.0-2.2 ms of CPU per
loopback handshake with sixteen threads, ~1.5-1.8 ms with one thread and a
selector (docs/performance.md).  A :class:`Multiplexer` drives the direct
fetches (:func:`~trustdoctor.sources.network.direct_stdlib`) from one
thread: a non-blocking connect, then the standard library's handshake as the
generator :func:`~trustdoctor.sources.network.stdlib_flow`, resumed when its
socket is readable or its deadline has passed.  The handshake code, the
messages and the deadlines are therefore those of
:func:`~trustdoctor.sources.network.fetch_raw`.

What would block this thread is done elsewhere: a host *name* is resolved
and connected by the caller's thread (``getaddrinfo`` has no non-blocking
form), which hands the socket over (:meth:`Multiplexer.adopt`); a
certificate list only pyOpenSSL can read, or a TLS 1.3 handshake whose
certificate request only pyOpenSSL can see, goes back to a thread (``spill``).
"""

from __future__ import annotations

import _socket
import contextlib
import errno
import heapq
import itertools
import os
import selectors
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Generator
from typing import Any

from ..errors import ConnectError
from ..model.target import Target, format_hostport
from .network import NeedOpenSSL, RawFetch, stdlib_flow
from .wire import Wire, connect_error_text, connect_failure, no_delay, resolve, unique_addresses

# Called once per request: (request id, the result or None, the error or None).
Done = Callable[[int, RawFetch | None, BaseException | None], None]
# Called for a request a thread must finish: (request id, its arguments, when
# it started, the engine to finish it with, and for "openssl" what the
# standard library's handshake read, the answer if the redo fails:
# network.fetch_started).
Spill = Callable[[int, dict[str, Any], float, str, RawFetch | None], None]


class _Fetch:
    """One request in flight."""

    __slots__ = ("addr", "deadline", "done", "flow", "kw", "rid", "sock", "start", "wire")

    def __init__(self, rid: int, kw: dict[str, Any], start: float) -> None:
        self.rid = rid
        self.kw = kw
        self.start = start
        self.deadline = start + float(kw["timeout"])
        self.sock: _socket.socket | None = None
        self.addr = ""
        self.wire: Wire | None = None  # set once connected
        self.flow: Generator[None, None, RawFetch] | None = None
        self.done = False

    @property
    def target(self) -> Target:
        t: Target = self.kw["target"]
        return t


class Multiplexer:
    """A thread driving direct handshakes; :meth:`start` it once.

    ``done`` is called in that thread (it must not block); ``spill`` too, for
    a request it hands to a thread of the caller's.  ``flush``, when given, is
    called in that thread after each round of ready sockets and deadlines:
    ``done`` may keep its answers until then, to send those of one round at
    once (one write, one wake-up of the reader, instead of one per answer).
    """

    def __init__(self, done: Done, spill: Spill, flush: Callable[[], None] | None = None) -> None:
        self._done = done
        self._flush = flush
        self._spill = spill
        self._sel = selectors.DefaultSelector()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._sel.register(self._wake_r, selectors.EVENT_READ, None)
        self._inbox: deque[tuple[_Fetch, _socket.socket | None, str]] = deque()
        self._deadlines: list[tuple[float, int, _Fetch]] = []
        self._order = itertools.count()
        self._thread = threading.Thread(target=self._run, name="multiplex", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def submit(self, rid: int, kw: dict[str, Any]) -> None:
        """A direct fetch whose connect host is an IP literal (``kw``: fetch_raw's
        keyword arguments; :func:`~trustdoctor.sources.network.direct_stdlib`)."""
        self._post(_Fetch(rid, kw, time.monotonic()), None, "")

    def adopt(
        self, rid: int, kw: dict[str, Any], start: float, sock: _socket.socket, address: str
    ) -> None:
        """A direct fetch already connected (by :func:`~.wire.dial`) at ``start``."""
        self._post(_Fetch(rid, kw, start), sock, address)

    def _post(self, f: _Fetch, sock: _socket.socket | None, address: str) -> None:
        self._inbox.append((f, sock, address))
        with contextlib.suppress(BlockingIOError, InterruptedError):  # one is pending
            self._wake_w.send(b"\0")

    # -- the thread

    def _run(self) -> None:
        while True:
            heap = self._deadlines
            while heap and heap[0][2].done:
                heapq.heappop(heap)
            wait = max(0.0, heap[0][0] - time.monotonic()) if heap else None
            for key, _ in self._sel.select(wait):
                if key.data is None:
                    self._take()
                elif not key.data.done:
                    self._guarded(key.data, self._ready)
            now = time.monotonic()
            while heap and heap[0][0] <= now:
                f = heapq.heappop(heap)[2]
                if not f.done:
                    self._guarded(f, self._expired)
                if not f.done:  # it had bytes buffered, and waits again: expire it again
                    heapq.heappush(heap, (f.deadline, next(self._order), f))
            if self._flush is not None:
                self._flush()

    def _guarded(self, f: _Fetch, step: Callable[[_Fetch], None]) -> None:
        # What fetch_raw would raise (no socket left: EMFILE...) ends this
        # request, never the thread the others depend on.
        try:
            step(f)
        except Exception as exc:
            if not f.done:
                self._finish(f, None, exc)

    def _take(self) -> None:
        with contextlib.suppress(BlockingIOError, InterruptedError):
            while self._wake_r.recv(4096):
                pass
        while self._inbox:
            f, sock, address = self._inbox.popleft()
            heapq.heappush(self._deadlines, (f.deadline, next(self._order), f))
            if sock is None:
                self._guarded(f, self._connect)
            else:
                f.sock, f.addr = sock, address
                self._guarded(f, self._handshake)

    def _connect(self, f: _Fetch) -> None:
        """The non-blocking form of :func:`~.wire.dial` for an IP literal (one
        address; resolving it does not wait)."""
        t = f.target
        try:
            infos = resolve(
                t.connect_host, t.connect_port, family=int(f.kw["family"]),
                deadline=f.deadline, timeout=float(f.kw["timeout"]),
            )  # fmt: skip
        except ConnectError as exc:
            self._finish(f, None, exc)
            return
        unique = unique_addresses(infos)
        if len(unique) != 1:  # (not from an IP literal): the thread's way
            f.done = True
            self._spill(f.rid, f.kw, f.start, "stdlib", None)
            return
        fam, stype, proto, sockaddr = unique[0]
        f.addr = format_hostport(str(sockaddr[0]), int(sockaddr[1]))
        sock = f.sock = socket.socket(fam, stype, proto)
        sock.setblocking(False)
        code = sock.connect_ex(sockaddr)
        if code in (0, errno.EINPROGRESS):
            self._sel.register(sock, selectors.EVENT_WRITE, f)
        else:
            self._connect_failed(f, code)

    def _connect_failed(self, f: _Fetch, code: int) -> None:
        # As connect_any words it: refused, or "addr: why".
        refused, errors = [], []
        if code == errno.ECONNREFUSED:
            refused.append(f.addr)
        else:
            errors.append(f"{f.addr}: {connect_error_text(OSError(code, os.strerror(code)))}")
        self._finish(
            f, None, connect_failure(refused, errors, [], what=f.target.display,
                                     timeout=float(f.kw["timeout"]))
        )  # fmt: skip

    def _ready(self, f: _Fetch) -> None:
        if f.wire is None:  # the connect ended
            assert f.sock is not None
            code = f.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            self._sel.unregister(f.sock)
            if code:
                self._connect_failed(f, code)
                return
            self._handshake(f)
            return
        self._step(f)

    def _handshake(self, f: _Fetch) -> None:
        assert f.sock is not None
        no_delay(f.sock)
        t = f.target
        f.wire = Wire(f.sock, deadline=f.deadline, timeout=float(f.kw["timeout"]), peer=t.display)
        f.flow = stdlib_flow(f.wire, t, address=f.addr, proxy_used=None, start=f.start, notes=[])
        self._sel.register(f.sock, selectors.EVENT_READ, f)
        self._step(f)

    def _step(self, f: _Fetch) -> None:
        """Run the handshake until it waits for the server again, or ends."""
        assert f.flow is not None
        try:
            next(f.flow)
        except StopIteration as end:
            self._finish(f, end.value, None)
        except NeedOpenSSL as need:
            self._close(f)
            self._spill(f.rid, f.kw, f.start, "openssl", need.partial)
        except Exception as exc:  # ConnectError, or a bug: the caller words it
            self._finish(f, None, exc)

    def _expired(self, f: _Fetch) -> None:
        if f.wire is None:  # still connecting
            self._finish(
                f, None, connect_failure([], [], [f.addr], what=f.target.display,
                                         timeout=float(f.kw["timeout"]))
            )  # fmt: skip
            return
        # The read it waits for now fails as Wire fails it at the deadline.
        self._step(f)

    def _close(self, f: _Fetch) -> None:
        f.done = True
        if f.sock is not None:
            with contextlib.suppress(KeyError, ValueError):  # (not registered)
                self._sel.unregister(f.sock)
            f.sock.close()
        if f.flow is not None:
            f.flow.close()

    def _finish(self, f: _Fetch, result: RawFetch | None, error: BaseException | None) -> None:
        self._close(f)
        self._done(f.rid, result, error)
