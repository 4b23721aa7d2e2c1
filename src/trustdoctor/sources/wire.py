"""TCP connections bounded by one overall deadline: name resolution, connect, I/O.

Every read and write takes the time *left*, not a fresh timeout, so a server
that trickles one byte a second, or accepts and never answers, ends within the
budget the user gave (``--timeout``), never ``timeout × bytes``; an optional
per-operation cap (``op_timeout``) bounds each single wait as well (AIA: 5 s per
operation, 10 s per URL).  Errors become
:class:`~trustdoctor.errors.ConnectError` with a stable code (``unreachable``,
``timeout``...) and a one-line message naming the peer and the phase ("waiting
for the SMTP greeting").  Both the handshake of ``diagnose`` and the HTTP
client of AIA (:mod:`.http`) dial through :func:`dial`.
"""

from __future__ import annotations

import _socket
import contextlib
import select
import sys
import time

from ..errors import ConnectError
from ..model.target import format_hostport, is_ip_literal

TYPE_CHECKING = False  # typing's constant, without importing typing (model/record.py)
if TYPE_CHECKING:
    from typing import Any


def _sockets() -> Any:
    """Where sockets and ``getaddrinfo`` come from: the :mod:`socket` module
    when this process has loaded it (an application's, patched or not: gevent,
    a test's stand-in resolver, are used as they are), else ``_socket``, the C
    module under it.  socket.py makes four IntEnums when imported, ~4 ms of a
    cold ``diagnose`` that needs none of them (-X importtime); what is used
    here is the same in both (``socket.socket`` is a subclass of
    ``_socket.socket``, the errors and constants are ``_socket``'s)."""
    return sys.modules.get("socket") or _socket


# A line in a plaintext dialogue (SMTP, IMAP, FTP...) longer than this is not
# a real server: RFC 5321 §4.5.3.1.5 caps SMTP reply lines at 512 octets and
# IMAP servers stay far below; 64 KiB leaves room for odd banners.
MAX_LINE = 64 * 1024


class Wire:
    """A socket plus a deadline and a push-back buffer.

    Attributes:
        sock: the connected socket (owned: :meth:`close` closes it).
        deadline: ``time.monotonic()`` value after which every operation fails.
        timeout: the whole budget in seconds (for messages).
        peer: how the peer is named in messages (``mail.example.com:25``).
        op_timeout: at most this long for any one send or receive (``None``:
            only the deadline bounds it).
        buffer: bytes received but not consumed yet.
        received: total bytes received (for "sent only N bytes" messages).
    """

    def __init__(
        self,
        sock: _socket.socket,
        *,
        deadline: float,
        timeout: float,
        peer: str,
        op_timeout: float | None = None,
    ) -> None:
        self.sock = sock
        self.deadline = deadline
        self.timeout = timeout
        self.peer = peer
        self.op_timeout = op_timeout
        self.buffer = bytearray()
        self.received = 0

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def _arm(self, during: str) -> None:
        left = self.remaining()
        if left <= 0:
            raise self._timeout(during)
        self.sock.settimeout(left if self.op_timeout is None else min(left, self.op_timeout))

    def _timeout(self, during: str) -> ConnectError:
        if self.received:
            return ConnectError(
                f"{self.peer}: timed out {during} after {self.timeout:g} s "
                f"({self.received} bytes received in all)",
                "timeout",
            )
        return ConnectError(f"{self.peer}: no answer {during} within {self.timeout:g} s", "timeout")

    def send(self, data: bytes, *, during: str, fail_code: str = "handshake-failed") -> None:
        """Send everything or raise (timeout, reset)."""
        view = memoryview(data)
        while view:
            self._arm(during)
            try:
                n = self.sock.send(view)
            except TimeoutError:
                raise self._timeout(during) from None
            except OSError as exc:
                raise ConnectError(
                    f"{self.peer}: connection lost {during} ({_oserror_text(exc)})", fail_code
                ) from None
            view = view[n:]

    def recv(self, *, during: str, fail_code: str = "handshake-failed", size: int = 65536) -> bytes:
        """Buffered bytes first, else whatever arrives next; ``b""`` on a clean close."""
        if self.buffer:
            data = bytes(self.buffer[:size])
            del self.buffer[:size]
            return data
        return self._recv_raw(during=during, fail_code=fail_code, size=size)

    def readable_now(self) -> bool:
        """True if bytes are buffered or the socket has more right now (no waiting)."""
        if self.buffer:
            return True
        try:
            ready, _, _ = select.select([self.sock], [], [], 0)
        except (OSError, ValueError):
            return False
        return bool(ready)

    def read_line(self, *, during: str, fail_code: str) -> bytes:
        """One line without its CR LF; raises on close, timeout or an endless line."""
        while True:
            nl = self.buffer.find(b"\n")
            if nl >= 0:
                line = bytes(self.buffer[:nl])
                del self.buffer[: nl + 1]
                return line.rstrip(b"\r")
            if len(self.buffer) > MAX_LINE:
                raise ConnectError(
                    f"{self.peer}: a line longer than {MAX_LINE} bytes {during}", fail_code
                )
            data = self._recv_raw(during=during, fail_code=fail_code)
            if not data:
                if self.buffer:
                    line = bytes(self.buffer)
                    self.buffer.clear()
                    return line.rstrip(b"\r")
                raise ConnectError(f"{self.peer}: connection closed {during}", fail_code)
            self.buffer += data

    def read_exact(self, n: int, *, during: str, fail_code: str) -> bytes:
        while len(self.buffer) < n:
            data = self._recv_raw(during=during, fail_code=fail_code)
            if not data:
                raise ConnectError(f"{self.peer}: connection closed {during}", fail_code)
            self.buffer += data
        out = bytes(self.buffer[:n])
        del self.buffer[:n]
        return out

    def _recv_raw(self, *, during: str, fail_code: str, size: int = 65536) -> bytes:
        """Whatever arrives next on the socket (``b""`` on a clean close), counted."""
        self._arm(during)
        try:
            data = self.sock.recv(size)
        except TimeoutError:
            raise self._timeout(during) from None
        except OSError as exc:
            raise ConnectError(
                f"{self.peer}: connection {_oserror_text(exc)} {during}", fail_code
            ) from None
        self.received += len(data)
        return data

    def close(self) -> None:
        with contextlib.suppress(OSError):  # close never matters
            self.sock.close()


def _oserror_text(exc: OSError) -> str:
    if isinstance(exc, ConnectionResetError):
        return "reset by peer"
    if isinstance(exc, ConnectionAbortedError):
        return "aborted"
    if isinstance(exc, BrokenPipeError):
        return "closed by peer (broken pipe)"
    return (exc.strerror or type(exc).__name__).lower()


# -- DNS and TCP ---------------------------------------------------------------


def resolve(
    host: str,
    port: int,
    *,
    family: int = 0,
    deadline: float,
    timeout: float,
    what: str = "",
    op_timeout: float | None = None,
) -> list[Any]:
    """``getaddrinfo`` bounded by the deadline (it has no timeout of its own).

    ``what`` prefixes the host in messages (``"proxy "``).

    Raises:
        ConnectError: ``unreachable`` (the name does not resolve) or ``timeout``.
    """
    if is_ip_literal(host):
        try:
            return _sockets().getaddrinfo(  # type: ignore[no-any-return]
                host.encode("ascii"), port, family, _socket.SOCK_STREAM, 0, _socket.AI_NUMERICHOST
            )
        except _socket.gaierror as exc:
            raise ConnectError(
                f"cannot connect to {what}{format_hostport(host, port)}: {exc.strerror}",
                "unreachable",
            ) from None
    # The resolver may block for many seconds (retries per server); run it in
    # a daemon thread and stop waiting at the deadline.
    import threading

    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["infos"] = _sockets().getaddrinfo(
                _host_bytes(host), port, family, _socket.SOCK_STREAM
            )
        except (UnicodeError, OSError) as exc:  # delivered to the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=run, name=f"dns {host}", daemon=True)
    thread.start()
    wait = deadline - time.monotonic()
    thread.join(max(0.0, wait if op_timeout is None else min(wait, op_timeout)))
    if thread.is_alive():
        limit = timeout if op_timeout is None else min(timeout, op_timeout)
        raise ConnectError(
            f"DNS lookup of {what}{host} did not finish within {limit:g} s", "timeout"
        )
    if "error" in box:
        err = box["error"]
        text = err.strerror if isinstance(err, OSError) and err.strerror else str(err)
        raise ConnectError(
            f"DNS lookup failed: cannot resolve {what}{host!r} ({text})", "unreachable"
        )
    infos: list[Any] = box["infos"]
    if not infos:  # pragma: no cover - getaddrinfo raises instead
        raise ConnectError(f"DNS lookup failed: no address for {what}{host!r}", "unreachable")
    return infos


def _host_bytes(host: str) -> bytes | str:
    """Hosts are already A-labels (sources/target.py): pass them as bytes so
    ``getaddrinfo`` does not load the ``idna`` codec (~3 ms of start-up) for
    ASCII it would leave unchanged; anything else keeps the stdlib's path."""
    return host.encode("ascii") if host.isascii() else host


def connect_any(
    infos: list[Any],
    *,
    deadline: float,
    timeout: float,
    what: str,
    op_timeout: float | None = None,
) -> tuple[_socket.socket, str]:
    """Connect to the first address that answers; returns the socket and ``ip:port``.

    Addresses are tried in resolver order.  With several, each attempt gets a
    share of the time left (at least 1 s), so one black-holed address (an
    IPv6 route that drops packets, a dead node) does not use up the whole
    budget: a poor man's Happy Eyeballs (RFC 8305), without parallelism.
    ``op_timeout`` caps every attempt.

    Raises:
        ConnectError: ``unreachable`` (refused, no route...) or ``timeout``.
    """
    unique = unique_addresses(infos)
    refused: list[str] = []
    errors: list[str] = []
    timed_out: list[str] = []
    for n, (fam, stype, proto, sockaddr) in enumerate(unique):
        addr = format_hostport(str(sockaddr[0]), int(sockaddr[1]))
        left = deadline - time.monotonic()
        if left <= 0:
            break
        others = len(unique) - n - 1
        attempt = left if others == 0 else min(left, max(1.0, left / (others + 1)))
        if op_timeout is not None:
            attempt = min(attempt, op_timeout)
        sock = _sockets().socket(fam, stype, proto)
        sock.settimeout(attempt)
        try:
            sock.connect(sockaddr)
        except TimeoutError:
            sock.close()
            timed_out.append(addr)
            continue
        except ConnectionRefusedError:
            sock.close()
            refused.append(addr)
            continue
        except OSError as exc:
            sock.close()
            errors.append(f"{addr}: {connect_error_text(exc)}")
            continue
        no_delay(sock)
        return sock, addr
    raise connect_failure(
        refused, errors, timed_out, what=what, timeout=timeout, op_timeout=op_timeout
    )


def unique_addresses(infos: list[Any]) -> list[tuple[Any, ...]]:
    """``getaddrinfo`` results without repeats: ``(family, type, proto, sockaddr)``."""
    unique: list[tuple[Any, ...]] = []
    seen: set[tuple[Any, ...]] = set()
    for fam, stype, proto, _canon, sockaddr in infos:
        key = (fam, *sockaddr[:2])
        if key not in seen:
            seen.add(key)
            unique.append((fam, stype, proto, sockaddr))
    return unique


def no_delay(sock: _socket.socket) -> None:
    """TCP_NODELAY on a connected socket (a handshake is small flights)."""
    with contextlib.suppress(OSError):  # not every socket type has it
        sock.setsockopt(_socket.IPPROTO_TCP, _socket.TCP_NODELAY, 1)


def connect_error_text(exc: OSError) -> str:
    """How a failed connect is named after its address (``no route to host``)."""
    return (exc.strerror or type(exc).__name__).lower()


def connect_failure(
    refused: list[str],
    errors: list[str],
    timed_out: list[str],
    *,
    what: str,
    timeout: float,
    op_timeout: float | None = None,
) -> ConnectError:
    """The error once every address failed: refused by some, other errors
    (``addr: why``) at others, no answer in time at the rest."""
    if refused:
        more = f"; {'; '.join(errors)}" if errors else ""
        return ConnectError(
            f"{what}: connection refused by {', '.join(refused)}{more}", "unreachable"
        )
    if errors and not timed_out:
        return ConnectError(f"{what}: cannot connect ({'; '.join(errors)})", "unreachable")
    where = f" to {', '.join(timed_out)}" if timed_out else ""
    limit = timeout if op_timeout is None else min(timeout, op_timeout)
    return ConnectError(f"{what}: connecting{where} timed out after {limit:g} s", "timeout")


def dial(
    host: str,
    port: int,
    *,
    deadline: float,
    timeout: float,
    what: str,
    family: int = 0,
    dns_what: str = "",
    op_timeout: float | None = None,
) -> tuple[_socket.socket, str]:
    """:func:`resolve` then :func:`connect_any`: a connected socket and its ``ip:port``."""
    infos = resolve(
        host, port, family=family, deadline=deadline, timeout=timeout, what=dns_what,
        op_timeout=op_timeout,
    )  # fmt: skip
    return connect_any(infos, deadline=deadline, timeout=timeout, what=what, op_timeout=op_timeout)
