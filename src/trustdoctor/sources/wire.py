"""A TCP connection bounded by one overall deadline.

Every read and write takes the time *left*, not a fresh timeout, so a server
that trickles one byte a second, or accepts and never answers, ends within the
budget the user gave (``--timeout``), never ``timeout × bytes``.  Errors become
:class:`~trustdoctor.errors.ConnectError` with a stable code and a one-line
message naming the peer and the phase ("waiting for the SMTP greeting").
"""

from __future__ import annotations

import contextlib
import select
import socket
import time

from ..errors import ConnectError

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
        buffer: bytes received but not consumed yet.
        received: total bytes received (for "sent only N bytes" messages).
    """

    def __init__(self, sock: socket.socket, *, deadline: float, timeout: float, peer: str) -> None:
        self.sock = sock
        self.deadline = deadline
        self.timeout = timeout
        self.peer = peer
        self.buffer = bytearray()
        self.received = 0

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def _arm(self, during: str) -> None:
        left = self.remaining()
        if left <= 0:
            raise self._timeout(during)
        self.sock.settimeout(left)

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
