"""Fetch exactly the chain a TLS server presents (the network chain source).

One handshake, verification off: we want what the server *sends*, not what a
client would accept; judging happens later, offline, for every client model.
The handshake runs in memory-BIO mode on our own socket, over the standard
library's ``ssl`` when this Python can hand over the peer chain as sent
(``get_unverified_chain``, 3.10+), else over pyOpenSSL (importing pyOpenSSL
costs ~20-35 ms of a cold ``diagnose``; ``ssl`` is a few).  Either way:

* every byte is bounded by one overall deadline (:mod:`.wire`);
* the first bytes are inspected before OpenSSL sees them, so "plain HTTP on
  the port" is ``not-tls`` with the server's own first line, not
  "wrong version number";
* a certificate list over OpenSSL's 100 KiB ``max_cert_list`` is still
  recovered from the raw records (:mod:`.tlsrecord`);
* a server that wants a client certificate still yields its chain (TLS 1.2
  sends Certificate before CertificateRequest; in TLS 1.3 the client has the
  server's chain before it answers), and the request is reported in both:
  pyOpenSSL's state callback sees it; with ``ssl``, our own answer shows it
  (a client sends a Certificate message only when asked, readable in clear
  in TLS 1.2 and by the size of our last flight in TLS 1.3), so no Python
  callback runs in the middle of every handshake.

A TLS 1.3 list over the 100 KiB limit is encrypted under a secret only
pyOpenSSL's key-log callback hands over: that rare case takes a second
connection over pyOpenSSL (TLS 1.2 lists are read from the first one).  So
does a TLS 1.3 handshake that *our* side ended after the server's
certificates (a corrupt record, a bad signature): our last flight never
went out, so with ``ssl`` a sealed CertificateRequest cannot be told; if
the second connection fails, the first one's reading stands (:func:`fetch_started`).

Connection problems are results: :class:`~trustdoctor.errors.ConnectError`
with a stable ``code`` (``unreachable``, ``timeout``, ``not-tls``,
``handshake-failed``, ``starttls-refused``, ``proxy-failed``).  Nothing but the
target (or the proxy) is ever contacted.
"""

from __future__ import annotations

import contextlib
import time

# threading.Lock is _thread.allocate_lock (Lib/threading.py): the locks of
# these memos are made without importing threading, ~1.7 ms of a cold
# ``diagnose`` that starts no thread (api/endpoint.py imports it where it
# starts one: an endpoint with several addresses).
from _thread import allocate_lock
from collections import OrderedDict
from collections.abc import Callable, Generator, Iterator, Mapping

from .. import __version__
from ..errors import ConnectError, UsageError
from ..model.cert import CertInfo, Provenance, parse_certificate
from ..model.diagnosis import PresentedCert
from ..model.record import record
from ..model.target import Target, format_hostport, is_ip_literal, parse_hostport
from .wire import Wire, dial, resolve

TYPE_CHECKING = False  # typing's constant, without importing typing (model/record.py)
if TYPE_CHECKING:
    from typing import Any, TypeVar

    T = TypeVar("T")

# More certificates than this are not a chain but an attack or an accident;
# keep the first MAX_CHAIN and say so (real chains have 2-5; Go's and
# OpenSSL's verifiers stop at depth 8-100 anyway).
MAX_CHAIN = 1000

# Bytes we accept from a server before the handshake completes.  TLS caps a
# handshake message at 2^24 bytes; 16 MiB keeps a hostile server from
# exhausting memory while leaving room for absurd-but-real chains.
MAX_HANDSHAKE_BYTES = 16 * 1024 * 1024

# OpenSSL refuses a certificate list longer than this (ssl.h
# SSL_MAX_CERT_LIST_DEFAULT, 100 KiB) with "excessive message size"; pyOpenSSL
# has no setter for SSL_CTX_set_max_cert_list, so we read such lists ourselves.
OPENSSL_MAX_CERT_LIST = 100 * 1024

# Longest --timeout accepted (a day): beyond, socket timeouts overflow and no
# diagnosis needs it.
MAX_TIMEOUT = 86400.0

# ALPN offered to https:// targets, as browsers and curl do; other schemes
# offer none (an unexpected protocol list makes some servers abort, RFC 7301 §3.2).
HTTP_ALPN = (b"h2", b"http/1.1")

# OpenSSL alert/reason texts → what they usually mean, for the message.
_REASON_HINTS: tuple[tuple[str, str], ...] = (
    ("certificate required", "the server requires a client certificate"),
    ("unrecognized name", "the server does not know the name sent in SNI"),
    ("protocol version", "no TLS version in common"),
    ("unsupported protocol", "the server only offers a TLS/SSL version this client disables"),
    ("no protocols available", "no TLS version in common"),
    (
        "handshake failure",
        "no cipher or version in common, or the server wanted something "
        "this client did not send (SNI, a client certificate)",
    ),
    ("insufficient security", "the server wants stronger ciphers"),
    ("no application protocol", "the server accepts none of the offered ALPN protocols"),
    ("access denied", "the server refused this client"),
    ("internal error", "the server failed internally"),
    ("wrong version number", "the server did not answer with TLS"),
    ("packet length too long", "the server did not answer with TLS"),
    ("record layer failure", "the server did not answer with TLS"),
)


@record
class FetchResult:
    """What one handshake showed.

    Attributes:
        target: the target fetched.
        address: ``ip:port`` actually connected to (with a proxy: the proxy's
            address, since the proxy resolved the target).
        tls_version: ``TLSv1.3``, ``TLSv1.2``..., ``None`` if unknown.
        cipher: the negotiated cipher suite (OpenSSL name), ``None`` if unknown.
        alpn: the negotiated ALPN protocol (``h2``...), ``None`` if none.
        chain: the certificates as presented, leaf first, in presented order
            (capped at :data:`MAX_CHAIN`).
        client_cert_requested: the server asked for a client certificate.
        proxy_used: the proxy tunnelled through (``http://host:port``, never
            credentials), or ``None``.
        elapsed_ms: wall time from the first DNS query to the end of the handshake.
        presented_count: how many certificates the server sent (may exceed
            ``len(chain)`` when capped or when one could not be parsed).
        handshake_error: the handshake did not complete although the chain
            was received (client certificate required, an alert after the
            Certificate message, a list too long for OpenSSL...); ``None`` when
            it completed.
        notes: one-line remarks worth showing (chain capped, proxy variables
            disagree, a certificate could not be parsed...).
    """

    target: Target
    address: str
    tls_version: str | None
    cipher: str | None
    alpn: str | None
    chain: tuple[PresentedCert, ...]
    client_cert_requested: bool
    proxy_used: str | None
    elapsed_ms: float
    presented_count: int = 0
    handshake_error: str | None = None
    notes: tuple[str, ...] = ()


@record
class RawFetch:
    """What one handshake read, before any certificate is parsed.

    Plain values only (bytes, strings, numbers and the target), so the
    handshake can run in another process (:mod:`.fetchpool`) while the
    certificates are parsed, once per content, where they are judged
    (:func:`assemble`).  ``certs``: each certificate as sent (DER, the first
    ``MAX_CHAIN + 1``), or why it could not be encoded; ``count``: how many the
    server sent; ``peer``: the target as messages name it.  The other fields
    are :class:`FetchResult`'s.
    """

    target: Target
    peer: str
    address: str
    certs: tuple[bytes | str, ...]
    count: int
    tls_version: str | None
    cipher: str | None
    alpn: str | None
    client_cert_requested: bool
    proxy_used: str | None
    elapsed_ms: float
    handshake_error: str | None
    notes: tuple[str, ...]


def resolve_addresses(target: Target, *, family: int = 0, timeout: float = 10.0) -> list[str]:
    """Every A/AAAA address of ``target.connect_host`` (for ``--all-addresses``).

    Returns IP literals (IPv6 without brackets) in resolver order, without
    duplicates; an IP-literal target gives itself.

    Raises:
        ConnectError: ``unreachable`` (the name does not resolve) or ``timeout``.
    """
    deadline = time.monotonic() + timeout
    infos = resolve(
        target.connect_host, target.connect_port, family=family, deadline=deadline, timeout=timeout
    )
    out: list[str] = []
    for info in infos:
        ip = str(info[4][0])
        if ip not in out:
            out.append(ip)
    return out


def fetch_chain(
    target: Target,
    *,
    timeout: float = 10.0,
    proxy: str | None = None,
    env: Mapping[str, str] | None = None,
    family: int = 0,
    address: str | None = None,
    engine: str = "auto",
) -> FetchResult:
    """Connect to ``target``, do one handshake, and return what the server presented.

    :func:`fetch_raw` then :func:`assemble`: see there for the arguments.
    """
    raw = fetch_raw(
        target, timeout=timeout, proxy=proxy, env=env, family=family, address=address,
        engine=engine,
    )  # fmt: skip
    return assemble(raw)


def fetch_raw(
    target: Target,
    *,
    timeout: float = 10.0,
    proxy: str | None = None,
    env: Mapping[str, str] | None = None,
    family: int = 0,
    address: str | None = None,
    engine: str = "auto",
) -> RawFetch:
    """Connect to ``target``, do one handshake, and return what it read, unparsed.

    Args:
        target: from :func:`~trustdoctor.model.target.parse_target`.
        timeout: the overall budget in seconds (DNS, connect, proxy, STARTTLS,
            handshake together).
        proxy: ``--proxy URL`` (wins over ``env``; ``""`` forces direct).
        env: the environment whose ``HTTPS_PROXY``/``NO_PROXY`` apply (pass
            ``os.environ`` for this process; ``None`` ignores proxies).
        family: ``socket.AF_INET``/``AF_INET6`` to force one family, 0 for any.
        address: connect to this IP (``ip`` or ``ip:port``/``[v6]:port``)
            instead of resolving, e.g. one of :func:`resolve_addresses`.
        engine: ``auto`` (the standard library when it can, see the module
            doc), ``stdlib`` or ``openssl`` (pyOpenSSL); both report the same
            facts (tests/network/test_network_engines.py).

    Raises:
        ConnectError: the handshake could not deliver a chain (see module doc;
            a server that sent no certificate at all is :func:`assemble`'s).
        UsageError: a bad proxy URL, address or timeout.
    """
    if not (0 < timeout <= MAX_TIMEOUT):  # also rejects NaN
        raise UsageError(
            f"--timeout must be a number of seconds between 0 and {MAX_TIMEOUT:g}, not {timeout!r}"
        )
    if engine not in ENGINES:
        raise UsageError(f"unknown handshake engine {engine!r} (known: {', '.join(ENGINES)})")
    start = time.monotonic()
    use = ("stdlib" if stdlib_capable() else "openssl") if engine == "auto" else engine
    if use == "stdlib" and not stdlib_capable():
        raise UsageError("this Python's ssl module cannot report the peer chain as sent")
    return fetch_started(target, timeout, proxy, env, family, address, start, use)


def fetch_started(
    target: Target,
    timeout: float,
    proxy: str | None,
    env: Mapping[str, str] | None,
    family: int,
    address: str | None,
    start: float,
    engine: str,
    partial: RawFetch | None = None,
) -> RawFetch:
    """:func:`fetch_raw` from the moment it started (``time.monotonic()``: the
    budget counts from there), its arguments checked and ``engine`` chosen
    (``stdlib`` or ``openssl``).

    The stdlib engine hands a handshake over to pyOpenSSL (:class:`NeedOpenSSL`,
    both rare) for a TLS 1.3 certificate list over OpenSSL's limit (only
    pyOpenSSL's key-log callback yields the secret that decrypts it), or a
    TLS 1.3 handshake our side ended after the server's certificates (its
    state callback sees a certificate request the stdlib engine cannot): the
    handshake is made again within what is left of the budget.  When that
    connection fails, ``partial`` (what the first one read) is the answer, if
    there is one."""
    try:
        return _fetch_once(target, timeout, proxy, env, family, address, start, engine)
    except NeedOpenSSL as need:
        return fetch_started(
            target, timeout, proxy, env, family, address, start, "openssl", need.partial
        )
    except ConnectError:
        if partial is None:
            raise
        return partial


def _fetch_once(
    target: Target,
    timeout: float,
    proxy: str | None,
    env: Mapping[str, str] | None,
    family: int,
    address: str | None,
    start: float,
    engine: str,
) -> RawFetch:
    deadline = start + timeout
    spec = None
    if _may_proxy(proxy, env):
        from .http import select_proxy

        # A STARTTLS dialogue is no https:// request: only --proxy applies to it.
        spec = select_proxy(
            target.starttls or target.scheme,
            target.host,
            target.port,
            connect_host=target.connect_host,
            proxy=proxy,
            env=env,
        )
    notes: list[str] = []
    if spec is not None and spec.note:
        notes.append(spec.note)

    dest_host, dest_port = target.connect_host, target.connect_port
    if address is not None:
        ip, port = parse_hostport(address, what="address")
        if not is_ip_literal(ip):
            raise UsageError(f"address {address!r} is not an IP address")
        dest_host, dest_port = ip, port if port is not None else target.connect_port
    peer = target.display
    if address is not None:
        peer = f"{target.display} at {format_hostport(dest_host, dest_port)}"

    if spec is not None:
        sock, connected = dial(
            spec.host, spec.port, family=family, deadline=deadline, timeout=timeout,
            dns_what="proxy ", what=f"proxy {spec.display}",
        )  # fmt: skip
        wire = Wire(sock, deadline=deadline, timeout=timeout, peer=f"proxy {spec.display}")
        try:
            from .http import open_tunnel

            open_tunnel(wire, spec, dest_host, dest_port, user_agent=f"trustdoctor/{__version__}")
        except BaseException:
            wire.close()
            raise
        wire.peer = peer
    else:
        sock, connected = dial(
            dest_host, dest_port, family=family, deadline=deadline, timeout=timeout, what=peer
        )
        wire = Wire(sock, deadline=deadline, timeout=timeout, peer=peer)

    try:
        if target.starttls is not None:
            from .starttls import negotiate

            negotiate(target.starttls, wire)
        handshake = _handshake_stdlib if engine == "stdlib" else _handshake_openssl
        return handshake(
            wire,
            target,
            address=connected,
            proxy_used=spec.display if spec is not None else None,
            start=start,
            notes=notes,
        )
    finally:
        wire.close()


def _may_proxy(proxy: str | None, env: Mapping[str, str] | None) -> bool:
    # Every proxy variable names "proxy" (http.PROXY_VARS): without one, and
    # without --proxy, the connection is direct and the HTTP stack (proxy
    # parsing, CONNECT) is not even imported.
    return proxy is not None or bool(env and any("proxy" in k.lower() for k in env))


def direct_stdlib(
    target: Target,
    *,
    timeout: float,
    proxy: str | None = None,
    env: Mapping[str, str] | None = None,
    engine: str = "auto",
    address: str | None = None,
) -> bool:
    """Whether :func:`fetch_raw` with these (valid) arguments makes one direct
    TCP connection and the standard library's handshake: no proxy, no
    STARTTLS, no address given.  Such a fetch can also be driven without a
    thread of its own (sources/multiplex.py)."""
    return (
        0 < timeout <= MAX_TIMEOUT
        and engine in ("auto", "stdlib")
        and address is None
        and target.starttls is None
        and not _may_proxy(proxy, env)
        and stdlib_capable()
    )


# -- what both engines share -----------------------------------------------------------

ENGINES = ("auto", "stdlib", "openssl")

# The Certificate handshake message (RFC 8446 §4.4.2, RFC 5246 §7.4.2).
_CERTIFICATE = 11
# How a failure in the handshake's I/O is phrased ("timed out during the TLS handshake").
_DURING = "during the TLS handshake"

# Protocol version numbers → the names OpenSSL's SSL_get_version gives them.
_VERSION_NAMES = {0x0300: "SSLv3", 0x0301: "TLSv1", 0x0302: "TLSv1.1", 0x0303: "TLSv1.2",
                  0x0304: "TLSv1.3"}  # fmt: skip
_VERSION_NUMBERS = {name: number for number, name in _VERSION_NAMES.items()}


class NeedOpenSSL(Exception):
    """The stdlib engine cannot read this handshake; pyOpenSSL must redo it.

    ``partial``: what the stdlib engine did read when only one fact is
    missing (whether a TLS 1.3 server asked for a client certificate before
    our side ended the handshake): the answer if the redo cannot be made."""

    def __init__(self, partial: RawFetch | None = None) -> None:
        super().__init__()
        self.partial = partial


class _State:
    """What pyOpenSSL's callbacks saw during one handshake."""

    def __init__(self) -> None:
        self.cert_requested = False
        self.server_hs_secret: bytes | None = None  # from the key log


def _ssl_reason(exc: Exception) -> str:
    """OpenSSL's reason strings from an ``SSL.Error`` (pyOpenSSL), joined."""
    args = exc.args[0] if exc.args else None
    if isinstance(args, list):
        reasons = [str(t[2]) for t in args if isinstance(t, tuple) and len(t) == 3 and t[2]]
        if reasons:
            return "; ".join(dict.fromkeys(reasons))
    return str(exc) or type(exc).__name__


def _explain(reason: str) -> str:
    low = reason.lower()
    for key, hint in _REASON_HINTS:
        if key in low:
            return f"{reason} ({hint})"
    return reason


def _looks_like_tls(first: bytes) -> bool:
    """The cheap common case of :func:`.tlsrecord.sniff`: a handshake (22) or
    alert (21) record of version 3.x.  Anything else goes to ``sniff`` (whose
    module is imported only then) to be named."""
    return bool(first) and first[0] in (21, 22) and (len(first) < 2 or first[1] == 3)


def _safe(fn: Any) -> Any:
    try:
        return fn()
    except Exception:
        return None


def _check_first_bytes(wire: Wire, rx: bytearray, data: bytes) -> None:
    """``not-tls`` with a description when the server's first bytes cannot be TLS."""
    if len(rx) < 5 and not _looks_like_tls(bytes(rx + data)):
        from .tlsrecord import sniff

        s = sniff(bytes(rx + data)[:512])
        if not s.tls:
            raise ConnectError(
                f"{wire.peer}: not TLS: the server sent {s.what}: {s.excerpt!r}", "not-tls"
            ) from None


def _closed_error(wire: Wire, rx: bytearray) -> ConnectError:
    if rx:
        return ConnectError(
            f"{wire.peer}: connection closed during the TLS handshake after {len(rx)} bytes",
            "handshake-failed",
        )
    return ConnectError(
        f"{wire.peer}: closed the connection without answering the TLS ClientHello",
        "handshake-failed",
    )


def _too_much(wire: Wire) -> ConnectError:
    return ConnectError(
        f"{wire.peer}: more than {MAX_HANDSHAKE_BYTES // (1024 * 1024)} MiB "
        "received without completing the handshake",
        "handshake-failed",
    )


def _failed_after_certs(reason: str, state: _State) -> str:
    # The server ending it (an alert) after asking is about the certificate we
    # did not send; our own side ending it (a bad record, a bad signature) is not.
    if state.cert_requested and "alert" in reason.lower():
        return (
            f"{reason} (the server asked for a client certificate and ended the "
            "handshake without one)"
        )
    return _explain(reason)


def _oversized_note() -> str:
    return (
        "the server's certificate list is larger than OpenSSL's "
        f"{OPENSSL_MAX_CERT_LIST // 1024} KiB limit: OpenSSL-based clients (curl, "
        "Python, Node, openssl) fail with 'excessive message size'; read from the raw "
        "handshake instead"
    )


def _raw(
    wire: Wire,
    target: Target,
    certs: list[bytes | str],
    count: int,
    *,
    address: str,
    proxy_used: str | None,
    start: float,
    notes: list[str],
    version: str | None,
    cipher: str | None,
    alpn: str | None,
    cert_requested: bool,
    error: str | None,
) -> RawFetch:
    """The :class:`RawFetch` both engines build from what they read."""
    return RawFetch(
        target=target,
        peer=wire.peer,
        address=address,
        certs=tuple(certs),
        count=count,
        tls_version=version,
        cipher=cipher,
        alpn=alpn,
        client_cert_requested=cert_requested,
        proxy_used=proxy_used,
        elapsed_ms=round((time.monotonic() - start) * 1000, 1),
        handshake_error=error,
        notes=tuple(notes),
    )


def assemble(raw: RawFetch) -> FetchResult:
    """The :class:`FetchResult` of a handshake: its certificates parsed (once per
    content, :func:`parse_presented`), capped, and the unparsable ones noted.

    Raises:
        ConnectError: the server presented no certificate that parses.
    """
    notes = list(raw.notes)
    certs: list[tuple[int, CertInfo | Exception]] = [
        (i, parse_presented(c) if isinstance(c, bytes) else ValueError(c))
        for i, c in enumerate(raw.certs)
    ]
    count, error = raw.count, raw.handshake_error
    if len(certs) > MAX_CHAIN:
        notes.append(f"the server sent {count} certificates; only the first {MAX_CHAIN} are kept")
        certs = certs[:MAX_CHAIN]
    source = f"tls://{raw.target.hostport}"
    presented: list[PresentedCert] = []
    for i, info in certs:
        if isinstance(info, Exception):  # names are parsed lazily: a bad UTF8String fails here
            notes.append(f"certificate #{i + 1} could not be parsed ({info}); skipped")
            continue
        presented.append(
            PresentedCert(
                cert=info, provenance=Provenance(source=source, index=i, detail="presented")
            )
        )
    chain = tuple(presented)
    if not chain:
        raise ConnectError(
            f"{raw.peer}: the server presented no certificate"
            + (f" ({error})" if error else "")
            + (" (anonymous or PSK cipher suite?)" if error is None else ""),
            "handshake-failed",
        )
    return FetchResult(
        target=raw.target,
        address=raw.address,
        tls_version=raw.tls_version,
        cipher=raw.cipher,
        alpn=raw.alpn,
        chain=chain,
        client_cert_requested=raw.client_cert_requested,
        proxy_used=raw.proxy_used,
        elapsed_ms=raw.elapsed_ms,
        presented_count=count,
        handshake_error=error,
        notes=tuple(notes),
    )


# Presented certificates parsed once per process and content: a scan meets
# the same intermediates (and, across nodes, the same leaves) over and over.
# Bounded, least recently used first out, so memory stays flat whatever the
# number of targets.
_PARSED: OrderedDict[bytes, CertInfo | Exception] = OrderedDict()
_PARSED_MAX = 512
_PARSED_LOCK = allocate_lock()


def parse_presented(der: bytes) -> CertInfo | Exception:
    """DER → :class:`CertInfo` (memoised), or the exception saying why not."""
    with _PARSED_LOCK:
        hit = _PARSED.get(der)
        if hit is not None:
            _PARSED.move_to_end(der)
            return hit
    info: CertInfo | Exception
    try:
        info = parse_certificate(der)
    except ValueError as exc:
        info = exc
    with _PARSED_LOCK:
        _PARSED[der] = info
        if len(_PARSED) > _PARSED_MAX:
            _PARSED.popitem(last=False)
    return info


def _read_raw_chain(
    wire: Wire, rx: bytearray, state: _State
) -> Generator[None, None, list[bytes]]:
    """Keep reading until the Certificate message is complete, then parse it
    ourselves (a generator: see _wait_readable)."""
    from .tlsrecord import extract_certificates

    last_try = 0
    while True:
        # Re-parsing is O(size): try when the data grew by half, or when the
        # server paused (its flight is complete), not after every segment.
        if len(rx) >= last_try * 1.5 or not wire.readable_now():
            last_try = len(rx)
            ders = extract_certificates(bytes(rx), server_handshake_secret=state.server_hs_secret)
            if ders is not None:
                return ders
        yield from _wait_readable(wire)
        data = wire.recv(during="reading an oversized certificate list")
        if not data:
            ders = extract_certificates(bytes(rx), server_handshake_secret=state.server_hs_secret)
            if ders is not None:
                return ders
            raise ConnectError(
                f"{wire.peer}: connection closed in the middle of an oversized certificate list "
                f"({len(rx)} bytes received)",
                "handshake-failed",
            )
        rx += data
        if len(rx) > MAX_HANDSHAKE_BYTES:
            raise ConnectError(
                f"{wire.peer}: certificate list larger than "
                f"{MAX_HANDSHAKE_BYTES // (1024 * 1024)} MiB",
                "handshake-failed",
            )


# -- the standard library's ssl ----------------------------------------------------------


def stdlib_capable() -> bool:
    """This Python's ``ssl`` gives the unverified peer chain as sent
    (CPython 3.10+: ``_SSLSocket.get_unverified_chain``), through the C module
    the engine drives directly (see :func:`_stdlib_context`)."""
    global _CAPABLE
    if _CAPABLE is None:
        try:
            import _ssl

            context = getattr(_ssl, "_SSLContext", None)
            _CAPABLE = (
                hasattr(getattr(_ssl, "_SSLSocket", None), "get_unverified_chain")
                and hasattr(context, "_wrap_bio")
                and hasattr(context, "_set_alpn_protocols")
                and all(hasattr(_ssl, n) for n in _SSL_NAMES)
            )
        except ImportError:  # pragma: no cover - a Python without ssl
            _CAPABLE = False
    return _CAPABLE


_CAPABLE: bool | None = None
_CONTEXTS: dict[bool, Any] = {}
_CONTEXT_LOCK = allocate_lock()

# What the engine uses of ``_ssl`` (CPython's C module behind ``ssl``).
_SSL_NAMES = (
    "CERT_NONE",
    "ENCODING_DER",
    "MemoryBIO",
    "OP_NO_COMPRESSION",
    "OP_NO_TICKET",
    "PROTOCOL_TLS_CLIENT",
    "PROTO_TLSv1",
    "SSLError",
    "SSLWantReadError",
)

# SSL_OP_LEGACY_SERVER_CONNECT (ssl.h); ``ssl`` names it only from 3.12.
_OP_LEGACY_SERVER_CONNECT = 0x4

# TLS record content types (RFC 8446 §5.1) and the client Certificate message.
_CCS, _HANDSHAKE, _APPLICATION_DATA = 20, 22, 23


def _stdlib_context(alpn: bool) -> Any:
    """One client context per process and ALPN choice (contexts are thread-safe
    and costly to make; every connection gets its own SSL object).

    The context is ``_ssl``'s own, not ``ssl.SSLContext``: the ``ssl`` module
    adds enums (six made from ``_ssl``'s constants when it is imported, ~5 ms
    of a ``diagnose`` cold start, -X importtime) and wrappers this engine does
    not use; what it calls are the C methods those wrappers call
    (``_wrap_bio``, ``_set_alpn_protocols``), checked by
    :func:`stdlib_capable`, else the pyOpenSSL engine runs."""
    ctx: Any
    with _CONTEXT_LOCK:
        ctx = _CONTEXTS.get(alpn)
        if ctx is not None:
            return ctx
        import _ssl
        import warnings

        ctx = _ssl._SSLContext(_ssl.PROTOCOL_TLS_CLIENT)
        # Capture only: verification happens offline against every client model.
        ctx.check_hostname = False
        ctx.verify_mode = _ssl.CERT_NONE
        # No tickets: a resumed session carries no peer chain (and no session
        # is ever offered back: each SSL object starts afresh).
        ctx.options |= _ssl.OP_NO_TICKET | _ssl.OP_NO_COMPRESSION | _OP_LEGACY_SERVER_CONNECT
        # Reach old servers too (TLS 1.0/1.1, small keys, legacy ciphers): we only
        # look at what they present; OpenSSL 3 hides these behind SECLEVEL=0.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            ctx.minimum_version = _ssl.PROTO_TLSv1
        with contextlib.suppress(_ssl.SSLError):  # depends on the OpenSSL build
            ctx.set_ciphers("ALL:@SECLEVEL=0")
        if alpn:
            # The wire format (RFC 7301 §3.1): each name after its length.
            ctx._set_alpn_protocols(b"".join(bytes((len(p),)) + p for p in HTTP_ALPN))
        _CONTEXTS[alpn] = ctx
        return ctx


def _stdlib_reason(exc: Exception) -> str:
    """OpenSSL's reason string from an ``ssl.SSLError`` (as pyOpenSSL words it):
    ``[SSL: WRONG_VERSION_NUMBER] wrong version number (_ssl.c:1006)`` →
    ``wrong version number``."""
    text = str(exc.args[1]) if len(exc.args) > 1 else str(exc)
    if text.startswith("["):
        text = text.split("] ", 1)[-1]
    cut = text.rfind(" (_ssl.c:")
    if cut > 0:
        text = text[:cut]
    return text or type(exc).__name__


def _stdlib_certs(obj: Any) -> list[bytes]:
    """The peer chain as the server sent it (leaf first), DER; [] if none yet."""
    import _ssl

    try:
        chain = obj.get_unverified_chain()
    except Exception:  # pragma: no cover
        return []
    return [c.public_bytes(_ssl.ENCODING_DER) for c in chain or ()]


def _records(data: bytes) -> list[tuple[int, bytes]]:
    """Complete TLS records ``(content type, body)`` in ``data``."""
    out: list[tuple[int, bytes]] = []
    pos = 0
    while pos + 5 <= len(data):
        n = int.from_bytes(data[pos + 3 : pos + 5], "big")
        out.append((data[pos], data[pos + 5 : pos + 5 + n]))
        pos += 5 + n
    return out


def _server_hello_version(rx: bytes) -> int | None:
    """The version the server chose (its ServerHello, always in clear text)."""
    from .tlsrecord import extract_server_hello

    hello = extract_server_hello(rx)
    return hello.version if hello is not None else None


def _sent_certificate(sent: bytes, version: int | None, cipher: str | None) -> bool:
    """Whether our own flight holds a Certificate message, i.e. the server asked
    for one (we have none, so it is empty; a client sends one only when asked,
    RFC 5246 §7.4.6, RFC 8446 §4.4.2).

    TLS 1.2 and earlier: our handshake messages before ChangeCipherSpec are in
    clear text.  TLS 1.3: what follows ServerHello is encrypted, but our last
    flight is the Finished message alone unless a Certificate precedes it:
    more than one encrypted record, or one longer than a Finished (the hash
    of the suite, its header, the inner type and the 16-byte tag).
    """
    records = _records(sent)
    if version is not None and version >= 0x0304:
        sealed = [body for t, body in records if t == _APPLICATION_DATA]
        if len(sealed) >= 2:
            return True
        finished = (48 if cipher and cipher.endswith("SHA384") else 32) + 4 + 1 + 16
        return bool(sealed) and len(sealed[0]) > finished
    stream = bytearray()
    for t, body in records:
        if t == _CCS:
            break
        if t == _HANDSHAKE:
            stream += body
    pos = 0
    while pos + 4 <= len(stream):
        if stream[pos] == _CERTIFICATE:
            return True
        pos += 4 + int.from_bytes(stream[pos + 1 : pos + 4], "big")
    return False


def _sent_finished(sent: bytes | bytearray, cipher: str | None) -> bool:
    """Whether our TLS 1.3 flight after the server's went out: a sealed record
    at least as long as a Finished (see :func:`_sent_certificate`); an alert
    alone (2 bytes, the inner type, the tag: 19) is shorter."""
    finished = (48 if cipher and cipher.endswith("SHA384") else 32) + 4 + 1 + 16
    return any(t == _APPLICATION_DATA and len(b) >= finished for t, b in _records(bytes(sent)))


def _send_out(out: Any, wire: Wire, sent: bytearray, *, best_effort: bool = False) -> None:
    data = out.read()
    if not data:
        return
    if len(sent) < 65536:  # our own flights: a few hundred bytes (kept to read them back)
        sent += data
    try:
        wire.send(data, during=_DURING)
    except ConnectError:
        if not best_effort:
            raise


# -- reads a driver may wait for -----------------------------------------------------
#
# The handshake code reads the server through ``wire`` and yields just before
# each read that would wait: it runs as a generator, driven by _blocking
# (Wire's own read then waits, bounded by the deadline) or by a selector that
# resumes it once the socket is readable or the deadline has passed, when the
# same read raises the same timeout (sources/multiplex.py).  One handshake
# code for both.  (Its writes never wait: a handshake flight is a few hundred
# bytes into an empty socket buffer.)


def _wait_readable(wire: Wire) -> Iterator[None]:
    """Where a driver may wait before reading ``wire`` (not with bytes buffered)."""
    if not wire.buffer:
        yield


def _blocking(flow: Generator[None, None, T]) -> T:
    """Run a handshake generator whose reads wait themselves."""
    while True:
        try:
            next(flow)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]


def _next_bytes(
    wire: Wire, rx: bytearray, certs_seen: Callable[[], bool]
) -> Generator[None, None, tuple[bytes, str | None]]:
    """The server's next bytes, appended to ``rx`` (both engines read alike).

    Once its certificates have arrived, a timeout, reset or close ends the
    handshake early instead: ``(b"", why)``.  Before that they are errors
    (raised), as are bytes that cannot be TLS and a handshake over the limit.
    """
    try:
        yield from _wait_readable(wire)
        data = wire.recv(during=_DURING)
    except ConnectError as exc:
        if certs_seen():
            return b"", exc.message
        raise
    if not data:
        if certs_seen():
            return b"", "the server closed the connection after sending its certificates"
        raise _closed_error(wire, rx) from None
    _check_first_bytes(wire, rx, data)
    rx += data
    if len(rx) > MAX_HANDSHAKE_BYTES:
        raise _too_much(wire) from None
    return data, None


def _handshake_stdlib(
    wire: Wire,
    target: Target,
    *,
    address: str,
    proxy_used: str | None,
    start: float,
    notes: list[str],
) -> RawFetch:
    return _blocking(
        stdlib_flow(
            wire, target, address=address, proxy_used=proxy_used, start=start, notes=notes
        )
    )


def stdlib_flow(
    wire: Wire,
    target: Target,
    *,
    address: str,
    proxy_used: str | None,
    start: float,
    notes: list[str],
) -> Generator[None, None, RawFetch]:
    """The handshake over the standard library's ssl (memory BIOs), as a
    generator (see _wait_readable)."""
    import _ssl

    ctx = _stdlib_context(target.alpn)
    incoming, out = _ssl.MemoryBIO(), _ssl.MemoryBIO()
    # (An A-label name: _ssl passes it through the idna codec, as ssl does.)
    obj = ctx._wrap_bio(incoming, out, False, target.sni)
    rx = bytearray(wire.buffer)  # every byte the server sent since TLS began
    wire.buffer.clear()
    if rx:
        incoming.write(bytes(rx))
    sent = bytearray()  # every byte we sent
    error: str | None = None
    oversized = unsure = False
    while True:
        try:
            obj.do_handshake()
            break
        except _ssl.SSLWantReadError:
            _send_out(out, wire, sent)
            data, error = yield from _next_bytes(wire, rx, lambda: bool(_stdlib_certs(obj)))
            if error is not None:
                break
            incoming.write(data)
        except _ssl.SSLError as exc:
            reason = _stdlib_reason(exc)
            if "excessive message size" in reason.lower():
                # Keep quiet (no alert) so the server goes on sending the list.
                oversized = True
                error = reason
                break
            _send_out(out, wire, sent, best_effort=True)  # let the alert reach the server
            if _stdlib_certs(obj):
                chosen = _server_hello_version(bytes(rx))
                suite = _safe(obj.cipher)
                name = suite[0] if isinstance(suite, tuple) and suite else None
                state = _State()
                state.cert_requested = _sent_certificate(bytes(sent), chosen, name)
                # TLS 1.3 and our side ended it before its last flight: a
                # request (sealed, before the Certificate) cannot be told.
                unsure = chosen is not None and chosen >= 0x0304 and not _sent_finished(sent, name)
                error = _failed_after_certs(reason, state)
                break
            raise ConnectError(
                f"{wire.peer}: TLS handshake failed: {_explain(reason)}", "handshake-failed"
            ) from None

    if error is None:  # our last flight (Finished, and a Certificate if asked)
        _send_out(out, wire, sent, best_effort=True)
    negotiated = None
    if oversized:
        negotiated = _server_hello_version(bytes(rx))
        if negotiated is None or negotiated >= 0x0304:
            raise NeedOpenSSL  # TLS 1.3: encrypted under a secret ssl does not give
        ders = yield from _read_raw_chain(wire, rx, _State())  # TLS 1.2: in clear text
        notes.append(_oversized_note())
    else:
        ders = _stdlib_certs(obj)
    certs: list[bytes | str] = list(ders[: MAX_CHAIN + 1])
    count = len(ders)

    version: str | None = obj.version()
    if version is None:  # the handshake did not finish: the version negotiated
        if negotiated is None:
            negotiated = _server_hello_version(bytes(rx))
        version = _VERSION_NAMES.get(negotiated) if negotiated is not None else None
    number = _VERSION_NUMBERS.get(version) if version else None
    cipher = _safe(obj.cipher)
    cipher_name = cipher[0] if isinstance(cipher, tuple) and cipher else None
    alpn = _safe(obj.selected_alpn_protocol) if target.alpn else None
    # (before close_notify, itself one more sealed record in TLS 1.3)
    requested = _sent_certificate(bytes(sent), number, cipher_name)
    if error is None:
        with contextlib.suppress(_ssl.SSLError):
            obj.shutdown()  # close_notify
        _send_out(out, wire, sent, best_effort=True)
    raw = _raw(
        wire,
        target,
        certs,
        count,
        address=address,
        proxy_used=proxy_used,
        start=start,
        notes=notes,
        version=version,
        cipher=cipher_name,
        alpn=alpn if isinstance(alpn, str) and alpn else None,
        cert_requested=requested,
        error=error,
    )
    if unsure:
        raise NeedOpenSSL(raw)
    return raw


# -- pyOpenSSL ---------------------------------------------------------------------------


def _make_connection(target: Target, state: _State) -> Any:
    from OpenSSL import SSL

    ctx = SSL.Context(SSL.TLS_CLIENT_METHOD)
    # Capture only: verification happens offline against every client model.
    ctx.set_verify(SSL.VERIFY_NONE)
    # No tickets, no cache: a resumed session carries no peer chain, and a
    # fresh context per call keeps every fetch independent.
    ctx.set_options(SSL.OP_NO_TICKET | SSL.OP_NO_COMPRESSION | SSL.OP_LEGACY_SERVER_CONNECT)
    ctx.set_session_cache_mode(SSL.SESS_CACHE_OFF)
    # Reach old servers too (TLS 1.0/1.1, small keys, legacy ciphers): we only
    # look at what they present; OpenSSL 3 hides these behind SECLEVEL=0.
    ctx.set_min_proto_version(SSL.TLS1_VERSION)
    with contextlib.suppress(SSL.Error):  # depends on the OpenSSL build
        ctx.set_cipher_list(b"ALL:@SECLEVEL=0")
    if target.alpn:
        ctx.set_alpn_protos(list(HTTP_ALPN))

    def info(conn: Any, where: int, ret: int) -> None:
        # "SSLv3/TLS read server certificate request" in TLS 1.2 and 1.3 alike.
        if b"certificate request" in conn.get_state_string():
            state.cert_requested = True

    def keylog(conn: Any, line: bytes) -> None:
        # Only the server handshake secret, only in memory, only to decrypt a
        # TLS 1.3 Certificate message OpenSSL refused as too large.
        if line.startswith(b"SERVER_HANDSHAKE_TRAFFIC_SECRET "):
            parts = line.split()
            if len(parts) == 3:
                state.server_hs_secret = bytes.fromhex(parts[2].decode("ascii"))

    ctx.set_info_callback(info)
    ctx.set_keylog_callback(keylog)
    conn = SSL.Connection(ctx, None)
    conn.set_connect_state()
    if target.sni is not None:
        conn.set_tlsext_host_name(target.sni.encode("ascii"))
    return conn


def _flush(conn: Any, wire: Wire, *, best_effort: bool = False) -> None:
    from OpenSSL import SSL

    while True:
        try:
            out = conn.bio_read(65536)
        except SSL.WantReadError:
            return
        except SSL.Error:  # pragma: no cover
            return
        if not out:
            return
        try:
            wire.send(out, during=_DURING)
        except ConnectError:
            if best_effort:
                return
            raise


def _handshake_openssl(
    wire: Wire,
    target: Target,
    *,
    address: str,
    proxy_used: str | None,
    start: float,
    notes: list[str],
) -> RawFetch:
    from OpenSSL import SSL

    state = _State()
    conn = _make_connection(target, state)
    rx = bytearray(wire.buffer)  # every byte the server sent since TLS began
    wire.buffer.clear()
    fed = 0
    error: str | None = None
    oversized = False
    while True:
        try:
            conn.do_handshake()
            break
        except SSL.WantReadError:
            _flush(conn, wire)
            if fed < len(rx):
                conn.bio_write(bytes(rx[fed:]))
                fed = len(rx)
                continue
            _, error = _blocking(_next_bytes(wire, rx, lambda: bool(_peer_certs(conn))))
            if error is not None:
                break
        except SSL.Error as exc:
            reason = _ssl_reason(exc)
            if "excessive message size" in reason.lower():
                # Keep quiet (no alert) so the server goes on sending the list.
                oversized = True
                error = reason
                break
            _flush(conn, wire, best_effort=True)  # let the alert reach the server
            if _peer_certs(conn):
                error = _failed_after_certs(reason, state)
                break
            raise ConnectError(
                f"{wire.peer}: TLS handshake failed: {_explain(reason)}", "handshake-failed"
            ) from None

    certs: list[bytes | str]
    if oversized:
        ders = _blocking(_read_raw_chain(wire, rx, state))
        notes.append(_oversized_note())
        certs, count = list(ders[: MAX_CHAIN + 1]), len(ders)
    else:
        raw = _peer_certs(conn)
        certs, count = [_openssl_der(c) for c in raw[: MAX_CHAIN + 1]], len(raw)

    version = _safe(conn.get_protocol_version_name)
    if version in ("unknown", "Unknown", ""):
        version = None
    cipher = _safe(conn.get_cipher_name)
    alpn_raw = _safe(conn.get_alpn_proto_negotiated) if target.alpn else None
    alpn = alpn_raw.decode("ascii", "replace") if isinstance(alpn_raw, bytes) and alpn_raw else None
    if error is None:
        with contextlib.suppress(SSL.Error):
            conn.shutdown()
        _flush(conn, wire, best_effort=True)
    return _raw(
        wire,
        target,
        certs,
        count,
        address=address,
        proxy_used=proxy_used,
        start=start,
        notes=notes,
        version=version if isinstance(version, str) else None,
        cipher=cipher if isinstance(cipher, str) else None,
        alpn=alpn,
        cert_requested=state.cert_requested,
        error=error,
    )


def _peer_certs(conn: Any) -> list[Any]:
    try:
        chain = conn.get_peer_cert_chain()
    except Exception:  # pragma: no cover
        return []
    return list(chain or [])


def _openssl_der(c: Any) -> bytes | str:
    """A pyOpenSSL certificate's DER, or why it cannot be had."""
    try:
        der: bytes = c.to_cryptography().public_bytes(_DER())
    except Exception as exc:
        return type(exc).__name__
    return der


def _DER() -> Any:
    from cryptography.hazmat.primitives.serialization import Encoding

    return Encoding.DER
