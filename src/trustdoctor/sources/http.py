"""HTTP for every network reader: which proxy, the CONNECT tunnel, one bounded GET.

One stack serves the handshake of ``diagnose``/``bundle`` (:mod:`.network`)
and AIA fetching (:mod:`.aia`), so both take the same route for the same
destination:

* :func:`select_proxy` answers "would a client go through a proxy for
  ``scheme://host:port``?" from ``--proxy`` or the environment mapping it is
  *given* (never ``os.environ`` directly, so a diagnosis can be run for another
  process's environment).  The rules, and which client each follows, are in
  docs/diagnose-targets.md ("Proxies").
* :func:`open_tunnel` speaks ``CONNECT`` on a :class:`~.wire.Wire`, bounded by
  its deadline.
* :func:`http_get` fetches one ``http(s)://`` URL: redirects (to http/https
  only, bounded, loops detected), a per-operation timeout and a per-URL
  deadline on every step (DNS, connect, proxy, TLS, request, body), a size cap,
  HTTPS verified.  Failures are :class:`HttpError` with a stable ``reason``.

Host names in URLs, proxy URLs and targets go through the one parser of
:mod:`.target` (lower-case A-labels, canonical IP literals).
"""

from __future__ import annotations

import base64
import ipaddress
import re
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..errors import ConnectError, InputError, SourceError, UsageError
from ..model.record import record
from ..model.target import format_hostport, is_ip_literal, parse_hostport
from .wire import Wire, dial

if TYPE_CHECKING:
    import http.client
    import io
    import socket
    import ssl
    from pathlib import Path

# Proxy variables per URL scheme, in the order they are consulted.  Clients
# disagree when both spellings are set:
#   - curl (lib/url.c detect_proxy) and Python (urllib.request.
#     getproxies_environment) prefer the lower-case name; curl never reads
#     HTTP_PROXY at all (a CGI program gets it from the request's "Proxy:"
#     header: httpoxy, CVE-2016-5385);
#   - Go (golang.org/x/net/http/httpproxy FromEnvironment:
#     getEnvAny("HTTPS_PROXY", "https_proxy")) prefers the upper-case name.
# We follow curl/Python and report the disagreement when the two differ.
# Other schemes (smtp://, ldaps://, STARTTLS...) read no proxy variable.
PROXY_VARS: Mapping[str, tuple[str, str]] = {
    "https": ("https_proxy", "HTTPS_PROXY"),
    "http": ("http_proxy", "HTTP_PROXY"),
}
NO_PROXY_VARS = ("no_proxy", "NO_PROXY")

# Default port of an http:// proxy URL without one: 80, as Go (url default for
# "http") and Python do.  curl alone defaults to 1080 (CURLOPT_PROXYPORT).
DEFAULT_PROXY_PORT = 80

# Largest CONNECT response header block we read.
MAX_CONNECT_RESPONSE = 64 * 1024

# RFC 9110 §15.4: the redirects a GET may follow.  300 and 305 are not followed.
REDIRECTS = frozenset({301, 302, 303, 307, 308})
_SCHEMES = {"http": 80, "https": 443}
MAX_URL = 2048  # longer AIA URLs are not seen in practice; refuse rather than send
_READ_PIECE = 16384

# -- choosing a proxy -------------------------------------------------------------------


@record
class ProxySpec:
    """An HTTP proxy to go through.

    Attributes:
        host: the proxy host (name or IP literal).
        port: the proxy port.
        authorization: the ``Proxy-Authorization`` header value, if the URL
            carried ``user:password@`` (never printed).
        display: ``http://host:port`` without credentials, for messages.
        source: where it came from: ``--proxy``, ``https_proxy``, ``HTTPS_PROXY``...
        note: a remark worth reporting (e.g. the two spellings disagree).
    """

    host: str
    port: int
    authorization: str | None
    display: str
    source: str
    note: str | None = None


def _redacted(text: str) -> str:
    """A proxy URL for messages: any ``user:password@`` is dropped."""
    scheme, sep, rest = text.partition("://")
    if not sep:
        scheme, rest = "", text
    rest = rest.rsplit("@", 1)[-1]
    return f"{scheme}{sep}{rest}"


def parse_proxy_url(text: str, *, source: str = "--proxy") -> ProxySpec:
    """Parse ``[http://][user[:password]@]host[:port][/]``.

    Raises:
        UsageError: another scheme (https://, socks5://), or a bad host/port.
            Credentials never appear in the message.
    """
    raw = text.strip()
    if not raw or any(c.isspace() for c in raw):
        raise UsageError(f"{source}: {_redacted(text)!r} is not a proxy URL")
    m = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*)://(.*)$", raw)
    rest = raw
    if m:
        scheme = m.group(1).lower()
        rest = m.group(2)
        if scheme != "http":
            raise UsageError(
                f"{source}: {scheme}:// proxies are not supported; "
                "only http:// proxies (HTTP CONNECT) are"
            )
    rest = rest.split("/", 1)[0]
    auth: str | None = None
    if "@" in rest:
        from urllib.parse import unquote

        userinfo, rest = rest.rsplit("@", 1)
        user, _, password = userinfo.partition(":")
        token = f"{unquote(user)}:{unquote(password)}".encode()
        auth = "Basic " + base64.b64encode(token).decode("ascii")
    try:
        host, port = parse_hostport(rest)
    except UsageError as exc:
        raise UsageError(f"{source}: bad proxy address ({exc.message})") from None
    port = port if port is not None else DEFAULT_PROXY_PORT
    return ProxySpec(
        host=host,
        port=port,
        authorization=auth,
        display=f"http://{format_hostport(host, port)}",
        source=source,
    )


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def no_proxy_matches(no_proxy: str, host: str, port: int) -> bool:
    """Whether ``NO_PROXY`` exempts ``host:port`` (rules: docs/diagnose-targets.md).

    Entries are separated by commas or blanks (curl).  ``*`` exempts every
    host (curl: only as the whole value; Go: as any entry).  A name exempts
    itself and every sub-domain (``example.com``: ``www.example.com``, not
    ``notexample.com``), with a leading ``.`` or ``*.`` ignored (curl; Go
    exempts only sub-domains of ``.example.com``).  Name entries never match
    an IP-literal host, and IP entries match IP hosts only: exactly, or by
    CIDR prefix (curl ≥ 7.86, Go).  ``name:port`` / ``[v6]:port`` applies to
    that port only (Go; curl never matches such an entry).
    """
    host = host.lower().rstrip(".")
    host_ip: ipaddress.IPv4Address | ipaddress.IPv6Address | None
    try:
        host_ip = ipaddress.ip_address(host)
    except ValueError:
        host_ip = None
    for entry in re.split(r"[,\s]+", no_proxy):
        entry = entry.strip().lower()
        if not entry:
            continue
        if entry == "*":
            return True
        entry_port: int | None = None
        if entry.startswith("["):
            end = entry.find("]")
            if end > 0:
                tail = entry[end + 1 :]
                entry = entry[1:end]
                if tail.startswith(":") and tail[1:].isdigit():
                    entry_port = int(tail[1:])
        elif entry.count(":") == 1:
            name, _, p = entry.partition(":")
            if p.isdigit():
                entry, entry_port = name, int(p)
        if entry_port is not None and entry_port != port:
            continue
        if "/" in entry or is_ip_literal(entry):
            if host_ip is None:
                continue
            try:
                if host_ip in ipaddress.ip_network(entry, strict=False):
                    return True
            except ValueError:
                continue
            continue
        entry = entry.removeprefix("*").lstrip(".").rstrip(".")
        if not entry or host_ip is not None:
            continue
        if host == entry or host.endswith("." + entry):
            return True
    return False


def select_proxy(
    scheme: str,
    host: str,
    port: int,
    *,
    proxy: str | None = None,
    env: Mapping[str, str] | None = None,
    connect_host: str | None = None,
) -> ProxySpec | None:
    """The proxy a client would use for ``scheme://host:port``, or ``None`` for direct.

    ``proxy`` (``--proxy``) always wins, for every scheme (a CONNECT tunnel
    carries SMTP as well); an empty string forces a direct connection (as
    ``curl --proxy ""``).  Otherwise the ``env`` mapping is consulted for
    ``https``/``http`` only (:data:`PROXY_VARS`), with ``NO_PROXY`` exemptions
    (:func:`no_proxy_matches`), and never for a loopback destination, ``host``
    or ``connect_host`` (Go's httpproxy never proxies localhost/loopback; curl
    would unless NO_PROXY says so, but a remote proxy cannot reach this
    machine's loopback anyway).

    Raises:
        UsageError: the proxy URL (flag or variable) is unusable.
    """
    if proxy is not None:
        if not proxy.strip():
            return None
        return parse_proxy_url(proxy, source="--proxy")
    names: tuple[str, ...] = PROXY_VARS.get(scheme, ())
    if env is None or not names:
        return None
    if scheme == "http" and env.get("REQUEST_METHOD"):
        # In a CGI program HTTP_PROXY may come from the request (httpoxy):
        # Python's urllib and Go ignore it there, curl always does.
        names = (names[0],)
    name = next((n for n in names if env.get(n, "").strip()), None)
    if name is None:
        return None
    if _is_loopback(host) or (connect_host is not None and _is_loopback(connect_host)):
        return None
    no_proxy = next((env[n] for n in NO_PROXY_VARS if env.get(n, "").strip()), "")
    if no_proxy and no_proxy_matches(no_proxy, host, port):
        return None
    value = env[name].strip()
    spec = parse_proxy_url(value, source=name)
    others = [n for n in names if n != name and env.get(n, "").strip()]
    if others and env[others[0]].strip() != value:
        note = f"{name} and {others[0]} differ; curl and Python use {name}, Go uses {others[0]}"
        spec = ProxySpec(spec.host, spec.port, spec.authorization, spec.display, spec.source, note)
    return spec


# -- the CONNECT tunnel -------------------------------------------------------------------


def open_tunnel(wire: Wire, spec: ProxySpec, host: str, port: int, *, user_agent: str) -> None:
    """Ask the proxy on ``wire`` for a tunnel to ``host:port``.

    Bytes the proxy sent after its response headers stay in ``wire.buffer``.

    Raises:
        ConnectError: ``proxy-failed`` (refused, authentication, not HTTP) or
            ``timeout``.
    """
    dest = format_hostport(host, port)
    lines = [f"CONNECT {dest} HTTP/1.1", f"Host: {dest}", f"User-Agent: {user_agent}"]
    if spec.authorization:
        lines.append(f"Proxy-Authorization: {spec.authorization}")
    request = ("\r\n".join(lines) + "\r\n\r\n").encode("ascii")
    during = f"waiting for proxy {spec.display} to open a tunnel to {dest}"
    wire.send(request, during=f"sending CONNECT to proxy {spec.display}", fail_code="proxy-failed")
    data = bytearray()
    while True:
        end = data.find(b"\r\n\r\n")
        if end >= 0:
            break
        if len(data) > MAX_CONNECT_RESPONSE:
            raise ConnectError(
                f"proxy {spec.display}: response headers longer than {MAX_CONNECT_RESPONSE} bytes",
                "proxy-failed",
            )
        chunk = wire.recv(during=during, fail_code="proxy-failed")
        if not chunk:
            raise ConnectError(
                f"proxy {spec.display} closed the connection instead of answering CONNECT {dest}",
                "proxy-failed",
            )
        if not data and not chunk.startswith(b"HTTP/"[: len(chunk)]):
            raise ConnectError(
                f"proxy {spec.display} did not answer in HTTP "
                "(is it a SOCKS or TLS proxy? only http:// CONNECT proxies are supported)",
                "proxy-failed",
            )
        data += chunk
    head = bytes(data[:end])
    wire.buffer[:0] = data[end + 4 :]
    status_line = head.split(b"\r\n", 1)[0].decode("latin-1").strip()
    m = re.match(r"^HTTP/\d(?:\.\d)?\s+(\d{3})\b", status_line)
    if not m:
        raise ConnectError(
            f"proxy {spec.display} sent a malformed status line {clean(status_line, 80)!r}",
            "proxy-failed",
        )
    status = int(m.group(1))
    if 200 <= status < 300:
        return
    if status == 407:
        what = "rejected the credentials" if spec.authorization else "requires authentication"
        raise ConnectError(
            f"proxy {spec.display} {what} ({clean(status_line, 80)}); "
            "give them as http://user:password@host:port",
            "proxy-failed",
        )
    raise ConnectError(
        f"proxy {spec.display} refused CONNECT {dest}: {clean(status_line, 80)}", "proxy-failed"
    )


# -- one bounded GET ----------------------------------------------------------------------


class HttpError(SourceError):
    """A URL that gave no body: ``reason`` is one of ``sources.aia.REASONS``
    (``bad-url``, ``timeout``, ``proxy-error``...), ``message`` one line."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(" ".join(detail.split()))
        self.reason = reason


@record
class Url:
    """An ``http(s)://`` URL, checked.

    Attributes:
        scheme: ``http`` or ``https``.
        host: normalised (lower-case A-label or canonical IP literal).
        port: explicit, else the scheme's default.
        hostport: ``host[:port]`` (the port only when the URL gives one), for ``Host:``.
        target: ``path?query`` (``/`` when empty), for the request line.
    """

    scheme: str
    host: str
    port: int
    hostport: str
    target: str


def parse_url(url: str) -> Url:
    """Check ``url`` before anything is sent.

    Raises:
        HttpError: ``bad-url`` (too long, control characters, no or bad host,
            bad port) or ``bad-scheme`` (not http/https).
    """
    from urllib.parse import urlsplit

    if len(url) > MAX_URL:
        raise HttpError("bad-url", f"URL of {len(url)} characters")
    if any(ord(ch) < 0x21 or ord(ch) == 0x7F for ch in url):
        raise HttpError("bad-url", f"{show_url(url)} contains spaces or control characters")
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise HttpError("bad-url", f"{show_url(url)}: {describe(exc)}") from None
    scheme = parts.scheme.lower()
    if scheme not in _SCHEMES:
        raise HttpError("bad-scheme", f"{show_url(url)}: only http:// and https:// are fetched")
    hostport = parts.netloc.rpartition("@")[2]
    if not hostport or hostport.startswith(":"):
        raise HttpError("bad-url", f"{show_url(url)} has no host")
    try:
        host, port = parse_hostport(hostport, what="host")
    except UsageError as exc:
        raise HttpError("bad-url", f"{show_url(url)}: {clean(exc.message)}") from None
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    if port is None:
        return Url(scheme, host, _SCHEMES[scheme], f"[{host}]" if ":" in host else host, target)
    return Url(scheme, host, port, format_hostport(host, port), target)


def http_get(
    url: str,
    *,
    timeout: float,
    deadline: float,
    max_bytes: int,
    max_redirects: int,
    user_agent: str,
    accept: str = "*/*",
    proxy: str | None = None,
    env: Mapping[str, str] | None = None,
    ca_file: Path | None = None,
) -> bytes:
    """GET ``url`` following http(s) redirects only; the 2xx body.

    Args:
        timeout: seconds for each operation (connect, handshake, one read...).
        deadline: ``time.monotonic()`` value that ends the whole URL,
            redirects included.
        max_bytes: a larger body (announced or streamed) is refused.
        max_redirects: redirects followed.
        proxy, env: as :func:`select_proxy` (``env=None``: no proxy variables).
        ca_file: PEM bundle verifying HTTPS endpoints (``None``: Python's
            default store).

    Raises:
        HttpError: every network or protocol failure, with its reason.
        InputError: ``ca_file`` is unusable.
    """
    from urllib.parse import urldefrag, urljoin

    get = _Get(
        timeout, deadline, max(deadline - time.monotonic(), 0.0), max_bytes, user_agent, accept,
        proxy, env, ca_file,
    )  # fmt: skip
    seen = {urldefrag(url)[0]}
    current = url
    for _ in range(max_redirects + 1):
        status, location, body = get.once(current)
        if status not in REDIRECTS:
            return body
        if not location:
            raise HttpError("http-status", f"HTTP {status} without a Location")
        target = urljoin(current, location.strip())
        try:
            parse_url(target)
        except HttpError as e:
            if e.reason == "bad-scheme":
                detail = "only http:// and https:// are followed"
                raise HttpError(
                    "bad-scheme", f"redirect to {show_url(target)} refused: {detail}"
                ) from None
            raise
        key = urldefrag(target)[0]
        if key in seen:
            raise HttpError("redirect-loop", f"redirect back to {show_url(target)}")
        seen.add(key)
        current = target
    raise HttpError("too-many-redirects", f"more than {max_redirects} redirects")


@record
class _Get:
    """The settings of one :func:`http_get` (see there)."""

    timeout: float
    deadline: float
    budget: float  # seconds the URL had at the start, for messages
    max_bytes: int
    user_agent: str
    accept: str
    proxy: str | None
    env: Mapping[str, str] | None
    ca_file: Path | None

    def once(self, url: str) -> tuple[int, str | None, bytes]:
        """One request; (status, Location, body).  Body read only for 2xx."""
        import http.client
        import ssl

        u = parse_url(url)
        try:
            spec = select_proxy(u.scheme, u.host, u.port, proxy=self.proxy, env=self.env)
        except UsageError as exc:
            raise HttpError("proxy-error", exc.message) from None
        late = (
            f"no complete answer from {u.hostport} within the limits "
            f"(timeout {self.timeout:g}s per operation, {self.budget:.3g}s for the URL)"
        )
        sock: socket.socket | ssl.SSLSocket | None = None
        try:
            sock = self._connect(u, spec)
            conn = http.client.HTTPConnection(u.host, u.port)
            wire = self._wire(sock, u.hostport)
            conn.sock = _HttpSocket(wire)  # type: ignore[assignment,unused-ignore]
            headers = {
                "Host": u.hostport,
                "User-Agent": self.user_agent,
                "Accept": self.accept,
                "Accept-Encoding": "identity",
                "Connection": "close",
            }
            target = u.target
            if spec is not None and u.scheme == "http":
                target = f"{u.scheme}://{u.hostport}{u.target}"  # a forward proxy: absolute URI
                if spec.authorization:
                    headers["Proxy-Authorization"] = spec.authorization
            conn.request("GET", target, headers=headers)
            resp = conn.getresponse()
            return self._answer(resp)
        except ConnectError as exc:
            if exc.code == "timeout":
                raise HttpError("timeout", late) from None
            reason = "proxy-error" if exc.code == "proxy-failed" else "connect-failed"
            raise HttpError(reason, exc.message) from None
        except TimeoutError:
            raise HttpError("timeout", late) from None
        except ssl.SSLCertVerificationError as exc:
            detail = exc.verify_message or describe(exc)
            raise HttpError("tls-error", f"{u.hostport}: {detail}") from None
        except ssl.SSLError as exc:
            raise HttpError("tls-error", f"{u.hostport}: {describe(exc)}") from None
        except (http.client.HTTPException, ValueError, UnicodeError) as exc:
            detail = f"{type(exc).__name__} {describe(exc)}"
            raise HttpError("bad-response", f"{u.hostport}: {detail}") from None
        except OSError as exc:
            raise HttpError("connect-failed", f"{u.hostport}: {describe(exc)}") from None
        finally:
            if sock is not None:
                sock.close()

    def _wire(self, sock: socket.socket, peer: str) -> Wire:
        return Wire(
            sock, deadline=self.deadline, timeout=self.timeout, peer=peer, op_timeout=self.timeout
        )

    def _connect(self, u: Url, spec: ProxySpec | None) -> socket.socket:
        """A socket to the origin: direct, or through ``spec`` (CONNECT for https), TLS on."""
        # ssl's wrap_socket takes socket.socket objects: dial makes those once
        # the socket module is loaded (sources/wire.py _sockets).
        import socket

        host, port = (u.host, u.port) if spec is None else (spec.host, spec.port)
        what = u.hostport if spec is None else f"proxy {spec.display}"
        sock, _ = dial(
            host, port, deadline=self.deadline, timeout=self.timeout, what=what,
            dns_what="" if spec is None else "proxy ", op_timeout=self.timeout,
        )  # fmt: skip
        assert isinstance(sock, socket.socket)
        try:
            if spec is not None and u.scheme == "https":
                wire = self._wire(sock, what)
                open_tunnel(wire, spec, u.host, u.port, user_agent=self.user_agent)
                if wire.buffer:  # in TLS the client speaks first: nothing may be waiting
                    raise HttpError("proxy-error", f"{what} sent data before the TLS handshake")
            if u.scheme == "https":
                return _tls(sock, u.host, self.ca_file, self.deadline, self.timeout)
        except BaseException:
            sock.close()
            raise
        return sock

    def _answer(self, resp: http.client.HTTPResponse) -> tuple[int, str | None, bytes]:
        status = resp.status
        if status in REDIRECTS:
            return status, resp.getheader("Location"), b""
        if not 200 <= status < 300:
            raise HttpError("http-status", f"HTTP {status} {clean(str(resp.reason), 80)}".strip())
        announced = resp.getheader("Content-Length")
        limit = self.max_bytes
        if announced and announced.strip().isdigit() and int(announced) > limit:
            raise HttpError(
                "too-large", f"announced {int(announced)} bytes, limit {limit}; not read"
            )
        body = bytearray()
        while True:
            piece = resp.read1(min(_READ_PIECE, limit + 1 - len(body)))
            if not piece:
                break
            body += piece
            if len(body) > limit:
                raise HttpError("too-large", f"more than {limit} bytes; stopped reading")
        return status, None, bytes(body)


def _tls(
    sock: socket.socket, host: str, ca_file: Path | None, deadline: float, timeout: float
) -> ssl.SSLSocket:
    wait = min(timeout, deadline - time.monotonic())
    if wait <= 0:
        raise TimeoutError("deadline reached")
    ctx = _ssl_context(ca_file)
    tls = ctx.wrap_socket(sock, server_hostname=host, do_handshake_on_connect=False)
    # CPython bounds a whole handshake by the socket timeout (one deadline for
    # all its internal retries), so arming once is enough.
    tls.settimeout(wait)
    tls.do_handshake()
    return tls


_SSL_CONTEXTS: dict[str, ssl.SSLContext] = {}


def _ssl_context(ca_file: Path | None) -> ssl.SSLContext:
    import ssl

    key = str(ca_file) if ca_file is not None else ""
    if key not in _SSL_CONTEXTS:
        try:
            ctx = ssl.create_default_context(cafile=key or None)
        except (OSError, ssl.SSLError) as exc:
            raise InputError(
                f"cannot use {ca_file} to verify HTTPS endpoints: {describe(exc)}"
            ) from None
        _SSL_CONTEXTS[key] = ctx
    return _SSL_CONTEXTS[key]


class _HttpSocket:
    """The parts of a socket ``http.client`` uses, over a :class:`Wire`: every
    send and every read is armed with the time left, so headers and body,
    however slowly they trickle in, end at the deadline."""

    def __init__(self, wire: Wire) -> None:
        self._wire = wire

    def sendall(self, data: bytes) -> None:
        self._wire.send(data, during="sending the request", fail_code="connect-failed")

    def makefile(self, mode: str = "rb", *args: object, **kwargs: object) -> io.BufferedReader:
        import io

        wire = self._wire

        class Reader(io.RawIOBase):
            def readable(self) -> bool:
                return True

            def readinto(self, b: Any) -> int:
                data = wire.recv(
                    during="reading the answer", fail_code="connect-failed", size=len(b)
                )
                b[: len(data)] = data
                return len(data)

        return io.BufferedReader(Reader(), buffer_size=_READ_PIECE)

    def close(self) -> None:
        # The real socket is closed by _get_once once the answer is read;
        # http.client closes its reference early on "Connection: close".
        pass


# -- text from the network, for messages ----------------------------------------------------


def show_url(url: str) -> str:
    """A URL for messages: escaped (it comes from a certificate or a server) and truncated."""
    text = url if len(url) <= 120 else url[:117] + "..."
    if text.isascii() and text.isprintable():
        return text
    return ascii(text)


def describe(exc: BaseException) -> str:
    """An exception as one clean line."""
    return clean(str(exc)) or type(exc).__name__


def clean(text: str, limit: int = 160) -> str:
    """One line of at most ``limit`` characters, non-printables escaped: error texts
    can carry bytes a hostile server chose (a status line, a reason phrase)."""
    text = " ".join(text.split())
    if not text.isprintable():
        text = "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text)
    return text[:limit]
