"""Loopback servers for the AIA tests: an issuer server (HTTP or HTTPS) with
well-behaved and hostile routes, and a small forward proxy (GET + CONNECT).

Everything listens on 127.0.0.1:0 and is stopped by the context managers.
"""

from __future__ import annotations

import contextlib
import http.client
import http.server
import select
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, pkcs7

from trustdoctor.lab import pki

Handler = http.server.BaseHTTPRequestHandler
Route = Callable[[Handler], None]


# -- encodings -----------------------------------------------------------------------


def der(issued: pki.Issued) -> bytes:
    return issued.der


def pem(*issued: pki.Issued) -> bytes:
    return b"".join(i.pem for i in issued)


def p7_der(*issued: pki.Issued) -> bytes:
    return pkcs7.serialize_certificates([i.cert for i in issued], Encoding.DER)


def p7_pem(*issued: pki.Issued) -> bytes:
    return pkcs7.serialize_certificates([i.cert for i in issued], Encoding.PEM)


def certs(*issued: pki.Issued) -> list[x509.Certificate]:
    return [i.cert for i in issued]


# -- routes ------------------------------------------------------------------------------


def static(body: bytes, status: int = 200, ctype: str = "application/pkix-cert") -> Route:
    def route(h: Handler) -> None:
        h.send_response(status)
        h.send_header("Content-Type", ctype)
        h.send_header("Content-Length", str(len(body)))
        h.send_header("Connection", "close")
        h.end_headers()
        h.wfile.write(body)

    return route


def redirect(location: str, status: int = 302) -> Route:
    def route(h: Handler) -> None:
        h.send_response(status)
        h.send_header("Location", location)
        h.send_header("Content-Length", "0")
        h.send_header("Connection", "close")
        h.end_headers()

    return route


class Huge:
    """Streams ``total`` bytes of zeros, with or without a Content-Length, or chunked."""

    def __init__(self, total: int = 1 << 30, mode: str = "close") -> None:
        self.total = total
        self.mode = mode  # "length", "close" (read until EOF) or "chunked"
        self.sent = 0
        self.finished = threading.Event()

    def __call__(self, h: Handler) -> None:
        piece = b"\0" * 65536
        h.send_response(200)
        h.send_header("Content-Type", "application/pkix-cert")
        if self.mode == "length":
            h.send_header("Content-Length", str(self.total))
        elif self.mode == "chunked":
            h.send_header("Transfer-Encoding", "chunked")
        h.send_header("Connection", "close")
        h.end_headers()
        try:
            while self.sent < self.total:
                if self.mode == "chunked":
                    h.wfile.write(b"%x\r\n" % len(piece) + piece + b"\r\n")
                else:
                    h.wfile.write(piece)
                self.sent += len(piece)
        except OSError:
            pass  # the client hung up, as it must
        finally:
            self.finished.set()


class Trickle:
    """Sends a valid header, then the body one byte every ``interval`` seconds."""

    def __init__(self, body: bytes, interval: float = 0.05, headers_too: bool = False) -> None:
        self.body = body
        self.interval = interval
        self.headers_too = headers_too
        self.stop = threading.Event()

    def __call__(self, h: Handler) -> None:
        try:
            if self.headers_too:
                # an endless header, one byte at a time
                h.wfile.write(b"HTTP/1.1 200 OK\r\nX-Slow: ")
                h.wfile.flush()
                while not self.stop.wait(self.interval):
                    h.wfile.write(b"a")
                    h.wfile.flush()
                return
            h.send_response(200)
            h.send_header("Content-Length", str(len(self.body)))
            h.send_header("Connection", "close")
            h.end_headers()
            h.wfile.flush()
            for i in range(len(self.body)):
                if self.stop.wait(self.interval):
                    return
                h.wfile.write(self.body[i : i + 1])
                h.wfile.flush()
        except OSError:
            pass


def silent(seconds: float = 10.0) -> Route:
    """Accepts the request and says nothing."""

    def route(h: Handler) -> None:
        time.sleep(seconds)

    return route


def raw(data: bytes) -> Route:
    """Writes ``data`` as is (not HTTP at all, or a broken HTTP answer)."""

    def route(h: Handler) -> None:
        h.wfile.write(data)

    return route


# -- the server ------------------------------------------------------------------------------


class AiaServer:
    """A threaded HTTP(S) server on 127.0.0.1 serving ``routes`` (path -> route)."""

    def __init__(
        self, tls: ssl.SSLContext | None = None, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.host = host
        self.routes: dict[str, Route] = {}
        self.hits: dict[str, int] = {}
        self.tls = tls
        server = self

        class H(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                if server.tls is not None:
                    self.request.settimeout(5)
                    self.request = server.tls.wrap_socket(self.request, server_side=True)
                super().setup()

            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                server.hits[path] = server.hits.get(path, 0) + 1
                route = server.routes.get(path)
                self.close_connection = True
                if route is None:
                    static(b"not here\n", status=404, ctype="text/plain")(self)
                else:
                    route(self)

            def log_message(self, format: str, *args: object) -> None:
                pass

        class S(http.server.ThreadingHTTPServer):
            daemon_threads = True
            address_family = socket.AF_INET6 if ":" in host else socket.AF_INET

            def handle_error(self, request: object, client_address: object) -> None:
                pass  # hostile tests make clients hang up mid-answer

        self.httpd = S((host, port), H)
        self.port = self.httpd.server_address[1]
        self.scheme = "https" if tls else "http"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)

    def url(self, path: str) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}{path}"

    def start(self) -> AiaServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> AiaServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def tls_server_context(
    tmp: Path, names: tuple[str, ...] = ("127.0.0.1",)
) -> tuple[ssl.SSLContext, Path]:
    """A server context for 127.0.0.1 signed by a fresh test CA; returns (ctx, ca_file)."""
    ca = pki.make_cert("AIA Endpoint Test CA")
    ips = [n for n in names if n[0].isdigit()]
    dns = [n for n in names if not n[0].isdigit()]
    leaf = pki.make_cert(names[0], issuer=ca, ca=False, ips=ips, dns=dns)
    (tmp / "ep-ca.pem").write_bytes(ca.pem)
    (tmp / "ep.pem").write_bytes(leaf.pem + ca.pem)
    (tmp / "ep.key").write_bytes(leaf.key_pem)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(tmp / "ep.pem", tmp / "ep.key")
    return ctx, tmp / "ep-ca.pem"


# -- a forward proxy ---------------------------------------------------------------------------


class Proxy:
    """GET http://... is forwarded; CONNECT host:port is tunnelled.  Loopback only:
    127.0.0.1, and the ``names`` it resolves to 127.0.0.1 itself (names that do
    not exist, so that only a request through the proxy can reach them)."""

    def __init__(self, names: Iterable[str] = ()) -> None:
        self.requests: list[str] = []
        self.names = frozenset(names)
        proxy = self

        def upstream(host: str) -> str | None:
            return "127.0.0.1" if host == "127.0.0.1" or host in proxy.names else None

        class H(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                proxy.requests.append(f"GET {self.path}")
                self.close_connection = True
                assert self.path.startswith("http://"), self.path
                hostport = self.path.split("/")[2]
                host, port = hostport.rsplit(":", 1)
                dest = upstream(host)
                if dest is None:
                    self.send_response(403)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                conn = http.client.HTTPConnection(dest, int(port), timeout=5)
                conn.request("GET", "/" + self.path.split("/", 3)[3])
                resp = conn.getresponse()
                body = resp.read()
                self.send_response(resp.status)
                for k in ("Location", "Content-Type"):
                    if resp.getheader(k):
                        self.send_header(k, resp.getheader(k) or "")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(body)

            def do_CONNECT(self) -> None:
                proxy.requests.append(f"CONNECT {self.path}")
                self.close_connection = True
                host, port = self.path.rsplit(":", 1)
                dest = upstream(host)
                if dest is None:
                    self.send_response(403)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                up = socket.create_connection((dest, int(port)), timeout=5)
                self.send_response(200, "Connection established")
                self.end_headers()
                self.wfile.flush()
                client = self.connection
                with contextlib.suppress(OSError), up:
                    socks = [client, up]
                    while True:
                        readable, _, _ = select.select(socks, [], [], 5)
                        if not readable:
                            return
                        for s in readable:
                            data = s.recv(65536)
                            if not data:
                                return
                            (up if s is client else client).sendall(data)

            def log_message(self, format: str, *args: object) -> None:
                pass

        class S(http.server.ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: object, client_address: object) -> None:
                pass

        self.httpd = S(("127.0.0.1", 0), H)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Proxy:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@contextlib.contextmanager
def timer() -> Iterator[list[float]]:
    """``with timer() as t: ...`` then ``t[0]`` is the elapsed seconds."""
    box = [0.0]
    start = time.monotonic()
    try:
        yield box
    finally:
        box[0] = time.monotonic() - start
