"""HTTP CONNECT proxies: which one a client would use, and the tunnel itself.

:func:`select_proxy` answers "would this client go through a proxy for this
target?" from ``--proxy`` or the environment mapping it is *given* (never
``os.environ`` directly, so a diagnosis can be run for another process's
environment); :func:`open_tunnel` speaks ``CONNECT`` on a connected socket.
"""

from __future__ import annotations

import base64
import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import unquote

from ..errors import ConnectError, UsageError
from ..model.target import Target, format_hostport, is_ip_literal, parse_hostport
from .wire import Wire

# Proxy variables for an https:// target, in the order they are consulted.
# Clients disagree when both spellings are set:
#   - curl (lib/url.c detect_proxy) and Python (urllib.request.
#     getproxies_environment) prefer the lower-case name;
#   - Go (golang.org/x/net/http/httpproxy FromEnvironment:
#     getEnvAny("HTTPS_PROXY", "https_proxy")) prefers the upper-case name.
# We follow curl/Python and report the disagreement when the two differ.
HTTPS_PROXY_VARS = ("https_proxy", "HTTPS_PROXY")
NO_PROXY_VARS = ("no_proxy", "NO_PROXY")

# Default port of an http:// proxy URL without one: 80, as Go (url default for
# "http") and Python do.  curl alone defaults to 1080 (CURLOPT_PROXYPORT).
DEFAULT_PROXY_PORT = 80

# Largest CONNECT response header block we read.
MAX_CONNECT_RESPONSE = 64 * 1024


@dataclass(frozen=True)
class ProxySpec:
    """An HTTP proxy to tunnel through.

    Attributes:
        host: the proxy host (name or IP literal).
        port: the proxy port.
        authorization: the ``Proxy-Authorization`` header value, if the URL
            carried ``user:password@`` (never printed).
        display: ``http://host:port`` without credentials, for messages.
        source: where it came from: ``--proxy``, ``https_proxy``, ``HTTPS_PROXY``.
        note: a remark worth reporting (e.g. the two spellings disagree).
    """

    host: str
    port: int
    authorization: str | None
    display: str
    source: str
    note: str | None = None


def parse_proxy_url(text: str, *, source: str = "--proxy") -> ProxySpec:
    """Parse ``[http://][user[:password]@]host[:port][/]``.

    Raises:
        UsageError: another scheme (https://, socks5://), or a bad host/port.
    """
    raw = text.strip()
    if not raw or any(c.isspace() for c in raw):
        raise UsageError(f"{source}: {text!r} is not a proxy URL")
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
    """Whether ``NO_PROXY`` exempts ``host:port``.

    Follows curl's documented rules (CURLOPT_NOPROXY): comma-separated
    entries; ``*`` alone matches everything; a name matches itself and every
    sub-domain (``example.com`` matches ``www.example.com``, not
    ``notexample.com``); a leading ``.`` (or ``*.``) is ignored, so
    ``.example.com`` also matches ``example.com`` (Go's httpproxy matches only
    sub-domains there); IP addresses match exactly, CIDR ranges by prefix
    (curl ≥ 7.86, Go); an entry ``name:port`` only applies to that port (Go).
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
        if "/" in entry:
            if host_ip is None:
                continue
            try:
                if host_ip in ipaddress.ip_network(entry, strict=False):
                    return True
            except ValueError:
                continue
            continue
        if is_ip_literal(entry):
            if host_ip is not None and host_ip == ipaddress.ip_address(entry):
                return True
            continue
        entry = entry.removeprefix("*").lstrip(".").rstrip(".")
        if not entry:
            continue
        if host == entry or host.endswith("." + entry):
            return True
    return False


def select_proxy(
    target: Target, *, proxy: str | None = None, env: Mapping[str, str] | None = None
) -> ProxySpec | None:
    """The proxy a client would use for ``target``, or ``None`` for a direct connection.

    ``proxy`` (``--proxy``) always wins; an empty string forces a direct
    connection (as ``curl --proxy ""``).  Otherwise the ``env`` mapping is
    consulted for https:// targets only (the proxy variables name a protocol;
    ``smtp://`` or ``ldaps://`` clients do not read ``HTTPS_PROXY``), with
    ``NO_PROXY`` exemptions, and never for loopback destinations (Go's
    httpproxy never proxies localhost/loopback; curl would unless NO_PROXY
    says so, but a remote proxy cannot reach this machine's loopback anyway).
    """
    if proxy is not None:
        if not proxy.strip():
            return None
        return parse_proxy_url(proxy, source="--proxy")
    if env is None or target.scheme != "https" or target.starttls is not None:
        return None
    name = next((n for n in HTTPS_PROXY_VARS if env.get(n, "").strip()), None)
    if name is None:
        return None
    value = env[name].strip()
    if _is_loopback(target.host) or _is_loopback(target.connect_host):
        return None
    no_proxy = next((env[n] for n in NO_PROXY_VARS if env.get(n, "").strip()), "")
    if no_proxy and no_proxy_matches(no_proxy, target.host, target.port):
        return None
    spec = parse_proxy_url(value, source=name)
    others = [n for n in HTTPS_PROXY_VARS if n != name and env.get(n, "").strip()]
    if others and env[others[0]].strip() != value:
        note = (
            f"{name} and {others[0]} differ; curl and Python use https_proxy, Go uses HTTPS_PROXY"
        )
        spec = ProxySpec(spec.host, spec.port, spec.authorization, spec.display, spec.source, note)
    return spec


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
            f"proxy {spec.display} sent a malformed status line {status_line[:80]!r}",
            "proxy-failed",
        )
    status = int(m.group(1))
    if 200 <= status < 300:
        return
    if status == 407:
        what = "rejected the credentials" if spec.authorization else "requires authentication"
        raise ConnectError(
            f"proxy {spec.display} {what} ({status_line[:80]}); "
            "give them as http://user:password@host:port",
            "proxy-failed",
        )
    raise ConnectError(
        f"proxy {spec.display} refused CONNECT {dest}: {status_line[:80]}", "proxy-failed"
    )
