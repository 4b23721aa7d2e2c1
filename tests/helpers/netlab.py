"""Loopback network lab for the network-source tests (not a conftest: import it).

Everything binds to 127.0.0.1 or ::1 on port 0 and is torn down by the
context managers; nothing here ever connects beyond loopback (the CONNECT
proxy refuses any destination that is not loopback or a named route).

* :class:`Server` - a threaded accept loop calling ``handler(conn)`` per connection.
* :func:`tls_handler` - a stdlib ``ssl`` TLS server (optionally after a
  STARTTLS dialogue), with SNI-selected chains and client-cert requirements.
* ``STARTTLS_SERVERS`` - just enough SMTP, IMAP, POP3, FTP, PostgreSQL, LDAP.
* hostile handlers - silent, garbage, reset, trickle, plain HTTP.
* :class:`ConnectProxy` - an HTTP CONNECT proxy, optionally with basic auth,
  optionally *intercepting* (re-signing with its own CA, like mitmproxy).
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import select
import socket
import ssl
import struct
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from trustdoctor.lab import pki

Handler = Callable[[socket.socket], None]

_counter = itertools.count()


def ipv6_available() -> bool:
    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
    except OSError:
        return False
    return True


class Server:
    """Accept connections on loopback and run ``handler`` for each in a thread."""

    def __init__(self, handler: Handler, host: str = "127.0.0.1", port: int = 0) -> None:
        self.handler = handler
        self.host = host
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(fam, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.sock.listen(64)
        self.sock.settimeout(0.1)
        self.port: int = self.sock.getsockname()[1]
        self.stop = threading.Event()
        self.connections = 0
        self.errors: list[BaseException] = []
        self._threads: list[threading.Thread] = []
        self._conns: list[socket.socket] = []
        self._loop = threading.Thread(target=self._accept_loop, daemon=True)

    @property
    def hostport(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    def __enter__(self) -> Server:
        self._loop.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self._loop.join(2)
        for c in self._conns:
            with contextlib.suppress(OSError):
                c.close()
        for t in self._threads:
            t.join(2)
        self.sock.close()

    def _accept_loop(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            self._conns.append(conn)
            t = threading.Thread(target=self._run, args=(conn,), daemon=True)
            self._threads.append(t)
            t.start()

    def _run(self, conn: socket.socket) -> None:
        try:
            conn.settimeout(15)
            self.handler(conn)
        except (OSError, ssl.SSLError, ValueError, AssertionError) as exc:
            self.errors.append(exc)
        finally:
            with contextlib.suppress(OSError):
                conn.close()


# -- certificates on disk ----------------------------------------------------------


class Files:
    """A temporary directory for PEM files (the stdlib ssl API wants paths)."""

    def __init__(self) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="td-netlab-")
        self.dir = Path(self._tmp.name)

    def chain(self, certs: Sequence[pki.Issued], key: pki.Issued | None = None) -> tuple[str, str]:
        n = next(_counter)
        cert = self.dir / f"chain{n}.pem"
        keyf = self.dir / f"key{n}.pem"
        cert.write_bytes(b"".join(c.pem for c in certs))
        keyf.write_bytes((key or certs[0]).key_pem)
        return str(cert), str(keyf)

    def pem(self, certs: Sequence[pki.Issued]) -> str:
        path = self.dir / f"ca{next(_counter)}.pem"
        path.write_bytes(b"".join(c.pem for c in certs))
        return str(path)

    def cleanup(self) -> None:
        self._tmp.cleanup()


def server_context(
    files: Files,
    certs: Sequence[pki.Issued],
    *,
    min_version: ssl.TLSVersion | None = None,
    max_version: ssl.TLSVersion | None = None,
    client_ca: pki.Issued | None = None,
    client_optional: bool = False,
    sni: Mapping[str, Sequence[pki.Issued]] | None = None,
    seen_sni: list[str | None] | None = None,
    alpn: Sequence[str] | None = None,
    ciphers: str | None = None,
) -> ssl.SSLContext:
    """A stdlib server context serving ``certs`` (leaf first; the key is the leaf's).
    ``ciphers``: an OpenSSL cipher string (``DEFAULT:@SECLEVEL=0`` serves keys
    the default security level refuses to load)."""

    def make(chain: Sequence[pki.Issued]) -> ssl.SSLContext:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        if ciphers is not None:
            ctx.set_ciphers(ciphers)
        if min_version is not None:
            ctx.minimum_version = min_version
        if max_version is not None:
            ctx.maximum_version = max_version
        ctx.load_cert_chain(*files.chain(chain))
        if client_ca is not None:
            ctx.verify_mode = ssl.CERT_OPTIONAL if client_optional else ssl.CERT_REQUIRED
            ctx.load_verify_locations(files.pem([client_ca]))
        if alpn:
            ctx.set_alpn_protocols(list(alpn))
        return ctx

    main = make(certs)
    others = {name: make(chain) for name, chain in (sni or {}).items()}

    def pick(sslobj: ssl.SSLObject, name: str | None, _ctx: ssl.SSLContext) -> None:
        if seen_sni is not None:
            seen_sni.append(name)
        if name in others:
            sslobj.context = others[name]

    main.sni_callback = pick  # type: ignore[assignment]
    return main


def tls_handler(ctx: ssl.SSLContext, *, starttls: str | None = None) -> Handler:
    def handle(conn: socket.socket) -> None:
        if starttls is not None and not STARTTLS_SERVERS[starttls](conn):
            return
        tls = ctx.wrap_socket(conn, server_side=True)
        with contextlib.suppress(OSError, ssl.SSLError):
            tls.recv(1)  # until the client closes
        with contextlib.suppress(OSError):
            tls.close()

    return handle


# -- plaintext dialogues ------------------------------------------------------------


def read_line(conn: socket.socket) -> bytes:
    buf = bytearray()
    while not buf.endswith(b"\n"):
        b = conn.recv(1)
        if not b:
            break
        buf += b
    return bytes(buf).rstrip(b"\r\n")


def read_exact(conn: socket.socket, n: int) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        b = conn.recv(n - len(buf))
        if not b:
            raise ValueError("closed")
        buf += b
    return bytes(buf)


# Lines each in-test STARTTLS server received, for assertions.
TRANSCRIPTS: list[tuple[str, bytes]] = []


def _smtp(conn: socket.socket, refuse: bool = False) -> bool:
    conn.sendall(b"220 mail.test ESMTP ready\r\n")
    ehlo = read_line(conn)
    TRANSCRIPTS.append(("smtp", ehlo))
    ext = b"250-mail.test greets you\r\n250-PIPELINING\r\n"
    conn.sendall(ext + (b"250 8BITMIME\r\n" if refuse else b"250-8BITMIME\r\n250 STARTTLS\r\n"))
    cmd = read_line(conn)
    TRANSCRIPTS.append(("smtp", cmd))
    if refuse or cmd.upper() != b"STARTTLS":
        conn.sendall(b"454 4.7.0 TLS not available due to local problem\r\n")
        return False
    conn.sendall(b"220 2.0.0 Ready to start TLS\r\n")
    return True


def _imap(conn: socket.socket, refuse: bool = False) -> bool:
    conn.sendall(b"* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] imap.test ready\r\n")
    cmd = read_line(conn)
    TRANSCRIPTS.append(("imap", cmd))
    tag = cmd.split(b" ", 1)[0]
    if refuse or not cmd.upper().endswith(b"STARTTLS"):
        conn.sendall(tag + b" BAD STARTTLS unavailable\r\n")
        return False
    conn.sendall(b"* NOTE an untagged line first\r\n" + tag + b" OK Begin TLS negotiation now\r\n")
    return True


def _pop3(conn: socket.socket, refuse: bool = False) -> bool:
    conn.sendall(b"+OK POP3 server ready\r\n")
    cmd = read_line(conn)
    TRANSCRIPTS.append(("pop3", cmd))
    if refuse or cmd.upper() != b"STLS":
        conn.sendall(b"-ERR STLS not supported\r\n")
        return False
    conn.sendall(b"+OK Begin TLS negotiation\r\n")
    return True


def _ftp(conn: socket.socket, refuse: bool = False) -> bool:
    conn.sendall(b"220-Welcome to the test FTP server\r\n free text line\r\n220 ready\r\n")
    cmd = read_line(conn)
    TRANSCRIPTS.append(("ftp", cmd))
    if refuse or cmd.upper() != b"AUTH TLS":
        conn.sendall(b"502 Command not implemented\r\n")
        return False
    conn.sendall(b"234 AUTH TLS successful\r\n")
    return True


def _postgres(conn: socket.socket, refuse: bool = False) -> bool:
    req = read_exact(conn, 8)
    TRANSCRIPTS.append(("postgres", req))
    length, code = struct.unpack("!II", req)
    if refuse or (length, code) != (8, 80877103):
        conn.sendall(b"N")
        return False
    conn.sendall(b"S")
    return True


def _ber(tag: int, value: bytes) -> bytes:
    n = len(value)
    if n < 0x80:
        return bytes([tag, n]) + value
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(raw)]) + raw + value


STARTTLS_OID = b"1.3.6.1.4.1.1466.20037"


def _ldap(conn: socket.socket, refuse: bool = False) -> bool:
    head = read_exact(conn, 2)
    body = read_exact(conn, head[1])
    TRANSCRIPTS.append(("ldap", head + body))
    ok = STARTTLS_OID in body and not refuse
    result = _ber(0x0A, b"\x00" if ok else b"\x02")
    diag = b"" if ok else b"StartTLS not supported here"
    op = result + _ber(0x04, b"") + _ber(0x04, diag) + _ber(0x8A, STARTTLS_OID)
    conn.sendall(_ber(0x30, _ber(0x02, b"\x01") + _ber(0x78, op)))
    return ok


STARTTLS_SERVERS: dict[str, Callable[[socket.socket], bool]] = {
    "smtp": _smtp,
    "imap": _imap,
    "pop3": _pop3,
    "ftp": _ftp,
    "postgres": _postgres,
    "ldap": _ldap,
}


def refusing(proto: str) -> Handler:
    def handle(conn: socket.socket) -> None:
        dialogue: Any = STARTTLS_SERVERS[proto]
        dialogue(conn, refuse=True)
        time.sleep(0.2)

    return handle


# -- hostile servers ------------------------------------------------------------------


def _hold(conn: socket.socket, seconds: float) -> None:
    """Keep the connection open until the peer closes it (or ``seconds`` pass)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        r, _, _ = select.select([conn], [], [], 0.05)
        if r:
            try:
                if not conn.recv(65536):
                    return
            except OSError:
                return


def silent(stop_after: float = 30.0) -> Handler:
    """Accept and never say anything."""

    def handle(conn: socket.socket) -> None:
        deadline = time.monotonic() + stop_after
        while time.monotonic() < deadline:
            r, _, _ = select.select([conn], [], [], 0.1)
            if r and not conn.recv(65536):
                return

    return handle


def sends(data: bytes, *, after_hello: bool = True, then_close: bool = True) -> Handler:
    """Answer the ClientHello with ``data`` (garbage, plain HTTP...)."""

    def handle(conn: socket.socket) -> None:
        if after_hello:
            conn.recv(65536)
        conn.sendall(data)
        if not then_close:
            _hold(conn, 5.0)

    return handle


def reset_after(nbytes_from_upstream: int, upstream_port: int) -> Handler:
    """Relay the ClientHello to a real TLS server, pass on the first N bytes, then RST."""

    def handle(conn: socket.socket) -> None:
        hello = conn.recv(65536)
        with socket.create_connection(("127.0.0.1", upstream_port), timeout=5) as up:
            up.sendall(hello)
            got = bytearray()
            while len(got) < nbytes_from_upstream:
                chunk = up.recv(65536)
                if not chunk:
                    break
                got += chunk
        conn.sendall(bytes(got[:nbytes_from_upstream]))
        time.sleep(0.05)
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.close()  # RST

    return handle


def trickle(upstream_port: int, every: float = 0.2, stop_after: float = 30.0) -> Handler:
    """Relay a real server's first flight one byte every ``every`` seconds."""

    def handle(conn: socket.socket) -> None:
        hello = conn.recv(65536)
        with socket.create_connection(("127.0.0.1", upstream_port), timeout=5) as up:
            up.sendall(hello)
            time.sleep(0.2)
            flight = up.recv(65536)
        deadline = time.monotonic() + stop_after
        for b in flight:
            if time.monotonic() > deadline:
                return
            try:
                conn.sendall(bytes([b]))
            except OSError:
                return
            time.sleep(every)

    return handle


def corrupting(upstream_port: int, sealed: int, *, first_only: bool = False) -> Handler:
    """Relay to a real TLS server, flipping the last byte (the AEAD tag) of the
    server's ``sealed``-th encrypted record: a TLS 1.3 client reads the records
    before it, then aborts ("bad record mac").  With ``first_only`` a later
    connection is closed at once (the relay's ``connections`` counts them)."""
    seen = [0]

    def handle(conn: socket.socket) -> None:
        seen[0] += 1
        if first_only and seen[0] > 1:
            return
        with socket.create_connection(("127.0.0.1", upstream_port), timeout=5) as up:
            pending, count, stop = bytearray(), 0, time.monotonic() + 10
            while time.monotonic() < stop:
                r, _, _ = select.select([conn, up], [], [], 0.1)
                if conn in r:
                    data = conn.recv(65536)
                    if not data:
                        return
                    up.sendall(data)
                if up in r:
                    data = up.recv(65536)
                    if not data:
                        return
                    pending += data
                    out = bytearray()
                    while len(pending) >= 5:
                        end = 5 + int.from_bytes(pending[3:5], "big")
                        if len(pending) < end:
                            break
                        record = bytearray(pending[:end])
                        del pending[:end]
                        if record[0] == 23:
                            count += 1
                            if count == sealed:
                                record[-1] ^= 0x01
                        out += record
                    with contextlib.suppress(OSError):
                        conn.sendall(bytes(out))

    return handle


# -- HTTP CONNECT proxy --------------------------------------------------------------------


class ConnectProxy(Server):
    """A loopback HTTP CONNECT proxy.

    Args:
        routes: host name -> loopback port, for names that do not exist (the
            proxy resolves them, the client never does).
        auth: ``user:password`` required in ``Proxy-Authorization``.
        intercept_ca: re-sign with this CA instead of tunnelling (a mitmproxy
            imitation: the leaf is minted for the SNI name on the fly).
    """

    def __init__(
        self,
        *,
        routes: Mapping[str, int] | None = None,
        auth: str | None = None,
        intercept_ca: pki.Issued | None = None,
        files: Files | None = None,
    ) -> None:
        super().__init__(self._handle)
        self.routes = dict(routes or {})
        self.auth = auth
        self.intercept_ca = intercept_ca
        self.files = files
        self.requests: list[str] = []
        self._minted: dict[str, ssl.SSLContext] = {}

    def _handle(self, conn: socket.socket) -> None:
        head = bytearray()
        while b"\r\n\r\n" not in head:
            chunk = conn.recv(4096)
            if not chunk:
                return
            head += chunk
        lines = bytes(head).split(b"\r\n")
        request = lines[0].decode()
        self.requests.append(request)
        method, target, _ = request.split(" ", 2)
        headers = {
            k.strip().lower(): v.strip()
            for k, _, v in (ln.decode().partition(":") for ln in lines[1:] if ln)
        }
        if self.auth is not None:
            want = "Basic " + base64.b64encode(self.auth.encode()).decode()
            if headers.get("proxy-authorization") != want:
                conn.sendall(
                    b"HTTP/1.1 407 Proxy Authentication Required\r\n"
                    b'Proxy-Authenticate: Basic realm="lab"\r\n\r\n'
                )
                return
        if method != "CONNECT":
            conn.sendall(b"HTTP/1.1 405 Method Not Allowed\r\n\r\n")
            return
        host, _, port_s = target.rpartition(":")
        host = host.strip("[]")
        if host in self.routes:
            dest = ("127.0.0.1", self.routes[host])
        elif host in ("127.0.0.1", "::1", "localhost"):
            dest = (host, int(port_s))
        else:
            # Never reach beyond loopback, whatever the client asks.
            conn.sendall(b"HTTP/1.1 502 Bad Gateway\r\n\r\n")
            return
        if self.intercept_ca is not None:
            conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            self._intercept(conn)
            return
        try:
            up = socket.create_connection(dest, timeout=5)
        except OSError:
            conn.sendall(b"HTTP/1.1 502 Bad Gateway\r\n\r\n")
            return
        conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        with up:
            _relay(conn, up, self.stop)

    def _intercept(self, conn: socket.socket) -> None:
        assert self.intercept_ca is not None and self.files is not None
        ca = self.intercept_ca
        files = self.files
        base = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        fallback = pki.make_cert("mitm-fallback", issuer=ca, ca=False, dns=("mitm-fallback",))
        base.load_cert_chain(*files.chain([fallback, ca]))

        def pick(sslobj: ssl.SSLObject, name: str | None, _ctx: ssl.SSLContext) -> None:
            if not name:
                return
            if name not in self._minted:
                leaf = pki.make_cert(name, issuer=ca, ca=False, dns=(name,))
                ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
                ctx.load_cert_chain(*files.chain([leaf, ca]))
                self._minted[name] = ctx
            sslobj.context = self._minted[name]

        base.sni_callback = pick  # type: ignore[assignment]
        tls = base.wrap_socket(conn, server_side=True)
        with contextlib.suppress(OSError, ssl.SSLError):
            tls.recv(1)
        with contextlib.suppress(OSError):
            tls.close()


def _relay(a: socket.socket, b: socket.socket, stop: threading.Event) -> None:
    socks = [a, b]
    while not stop.is_set():
        r, _, _ = select.select(socks, [], [], 0.1)
        for s in r:
            try:
                data = s.recv(65536)
            except OSError:
                return
            if not data:
                return
            (b if s is a else a).sendall(data)


@contextlib.contextmanager
def serving(handler: Handler, host: str = "127.0.0.1", port: int = 0) -> Iterator[Server]:
    """Serve ``handler`` on ``host`` (port 0: any free port; a fixed port lets two
    loopback addresses, 127.0.0.1 and 127.0.0.2 or ::1, play one dual-homed name)."""
    with Server(handler, host, port) as srv:
        yield srv


def loopback_names(monkeypatch: Any, *domains: str) -> None:
    """Resolve ``domains`` and their sub-domains to 127.0.0.1 in this process, and
    refuse every other name (no DNS query leaves the machine): a hosts file, or
    curl's ``--resolve``, for names that must look public (a NO_PROXY decision
    depends on the name).  IP literals and ``localhost`` resolve as usual."""
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else host
        if name is None or name == "localhost" or _is_ip(name):
            return real(host, port, *args, **kwargs)
        if any(name == d or name.endswith("." + d) for d in domains):
            return real("127.0.0.1", port, *args, **kwargs)
        raise socket.gaierror(socket.EAI_NONAME, f"{name}: not a loopback lab name")

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


def _is_ip(name: str) -> bool:
    import ipaddress

    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


@contextlib.contextmanager
def black_hole() -> Iterator[int]:
    """A loopback port whose SYNs are dropped: a listener with a full accept queue.

    Linux drops SYNs to a listener whose backlog is full (with the default
    ``net.ipv4.tcp_abort_on_overflow = 0``), so ``connect`` hangs like it
    does towards a firewalled address.
    """
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(0)
    port = ls.getsockname()[1]
    held = []
    for _ in range(8):
        s = socket.socket()
        s.setblocking(False)
        with contextlib.suppress(BlockingIOError, OSError):
            s.connect(("127.0.0.1", port))
        held.append(s)
    time.sleep(0.1)
    try:
        yield port
    finally:
        for s in held:
            s.close()
        ls.close()
