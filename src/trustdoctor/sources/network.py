"""Fetch exactly the chain a TLS server presents (the network chain source).

One handshake, verification off: we want what the server *sends*, not what a
client would accept; judging happens later, offline, for every client model.
The handshake runs over pyOpenSSL in memory-BIO mode on our own socket, so:

* every byte is bounded by one overall deadline (:mod:`.wire`);
* the first bytes are inspected before OpenSSL sees them, so "plain HTTP on
  the port" is ``not-tls`` with the server's own first line, not
  "wrong version number";
* a certificate list over OpenSSL's 100 KiB ``max_cert_list`` is still
  recovered from the raw records (:mod:`.tlsrecord`);
* a server that wants a client certificate still yields its chain (TLS 1.2
  sends Certificate before CertificateRequest; in TLS 1.3 the client has the
  server's chain before it answers).

Connection problems are results: :class:`~trustdoctor.errors.ConnectError`
with a stable ``code`` (``unreachable``, ``timeout``, ``not-tls``,
``handshake-failed``, ``starttls-refused``, ``proxy-failed``).  Nothing but the
target (or the proxy) is ever contacted.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .. import __version__
from ..errors import ConnectError, UsageError
from ..model.cert import Provenance, from_certificate
from ..model.diagnosis import PresentedCert
from ..model.target import Target, format_hostport, is_ip_literal, parse_hostport
from .http import open_tunnel, select_proxy
from .wire import Wire, dial, resolve

if TYPE_CHECKING:
    from cryptography import x509

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


@dataclass(frozen=True)
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
) -> FetchResult:
    """Connect to ``target``, do one handshake, and return what the server presented.

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

    Raises:
        ConnectError: the handshake could not deliver a chain (see module doc).
        UsageError: a bad proxy URL, address or timeout.
    """
    if not (0 < timeout <= MAX_TIMEOUT):  # also rejects NaN
        raise UsageError(
            f"--timeout must be a number of seconds between 0 and {MAX_TIMEOUT:g}, not {timeout!r}"
        )
    start = time.monotonic()
    deadline = start + timeout
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
        return _handshake(
            wire,
            target,
            address=connected,
            proxy_used=spec.display if spec is not None else None,
            start=start,
            notes=notes,
        )
    finally:
        wire.close()


# -- the handshake ---------------------------------------------------------------


class _State:
    """What the OpenSSL callbacks saw during one handshake."""

    def __init__(self) -> None:
        self.cert_requested = False
        self.server_hs_secret: bytes | None = None


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
            wire.send(out, during="during the TLS handshake")
        except ConnectError:
            if best_effort:
                return
            raise


def _ssl_reason(exc: Exception) -> str:
    """OpenSSL's reason strings from an ``SSL.Error``, joined."""
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


def _handshake(
    wire: Wire,
    target: Target,
    *,
    address: str,
    proxy_used: str | None,
    start: float,
    notes: list[str],
) -> FetchResult:
    from OpenSSL import SSL

    state = _State()
    conn = _make_connection(target, state)
    rx = bytearray(wire.buffer)  # every byte the server sent since TLS began
    wire.buffer.clear()
    fed = 0
    during = "during the TLS handshake"
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
            try:
                data = wire.recv(during=during)
            except ConnectError as exc:
                if _peer_certs(conn):
                    error = exc.message
                    break
                raise
            if not data:
                if _peer_certs(conn):
                    error = "the server closed the connection after sending its certificates"
                    break
                if rx:
                    raise ConnectError(
                        f"{wire.peer}: connection closed during the TLS handshake "
                        f"after {len(rx)} bytes",
                        "handshake-failed",
                    ) from None
                raise ConnectError(
                    f"{wire.peer}: closed the connection without answering the TLS ClientHello",
                    "handshake-failed",
                ) from None
            if len(rx) < 5 and not _looks_like_tls(bytes(rx + data)):
                from .tlsrecord import sniff

                s = sniff(bytes(rx + data)[:512])
                if not s.tls:
                    raise ConnectError(
                        f"{wire.peer}: not TLS: the server sent {s.what}: {s.excerpt!r}",
                        "not-tls",
                    ) from None
            rx += data
            if len(rx) > MAX_HANDSHAKE_BYTES:
                raise ConnectError(
                    f"{wire.peer}: more than {MAX_HANDSHAKE_BYTES // (1024 * 1024)} MiB "
                    "received without completing the handshake",
                    "handshake-failed",
                ) from None
        except SSL.Error as exc:
            reason = _ssl_reason(exc)
            if "excessive message size" in reason.lower():
                # Keep quiet (no alert) so the server goes on sending the list.
                oversized = True
                error = reason
                break
            _flush(conn, wire, best_effort=True)  # let the alert reach the server
            if _peer_certs(conn):
                if state.cert_requested:
                    error = (
                        f"{reason} (the server asked for a client certificate and ended the "
                        "handshake without one)"
                    )
                else:
                    error = _explain(reason)
                break
            raise ConnectError(
                f"{wire.peer}: TLS handshake failed: {_explain(reason)}", "handshake-failed"
            ) from None

    if oversized:
        ders = _read_raw_chain(wire, rx, state)
        notes.append(
            "the server's certificate list is larger than OpenSSL's "
            f"{OPENSSL_MAX_CERT_LIST // 1024} KiB limit: OpenSSL-based clients (curl, "
            "Python, Node, openssl) fail with 'excessive message size'; read from the raw "
            "handshake instead"
        )
        certs, count = _parse_ders(ders, notes)
    else:
        certs, count = _from_openssl(conn, notes)

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

    if len(certs) > MAX_CHAIN:
        notes.append(f"the server sent {count} certificates; only the first {MAX_CHAIN} are kept")
        certs = certs[:MAX_CHAIN]
    source = f"tls://{target.hostport}"
    presented: list[PresentedCert] = []
    for i, c in certs:
        try:
            info = from_certificate(c)
        except ValueError as exc:  # names are parsed lazily: a bad UTF8String fails here
            notes.append(f"certificate #{i + 1} could not be parsed ({exc}); skipped")
            continue
        presented.append(
            PresentedCert(
                cert=info, provenance=Provenance(source=source, index=i, detail="presented")
            )
        )
    chain = tuple(presented)
    if not chain:
        raise ConnectError(
            f"{wire.peer}: the server presented no certificate"
            + (f" ({error})" if error else "")
            + (" (anonymous or PSK cipher suite?)" if error is None else ""),
            "handshake-failed",
        )
    return FetchResult(
        target=target,
        address=address,
        tls_version=version if isinstance(version, str) else None,
        cipher=cipher if isinstance(cipher, str) else None,
        alpn=alpn,
        chain=chain,
        client_cert_requested=state.cert_requested,
        proxy_used=proxy_used,
        elapsed_ms=round((time.monotonic() - start) * 1000, 1),
        presented_count=count,
        handshake_error=error,
        notes=tuple(notes),
    )


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


def _peer_certs(conn: Any) -> list[Any]:
    try:
        chain = conn.get_peer_cert_chain()
    except Exception:  # pragma: no cover
        return []
    return list(chain or [])


def _from_openssl(conn: Any, notes: list[str]) -> tuple[list[tuple[int, x509.Certificate]], int]:
    """The peer chain as OpenSSL parsed it, converted one by one."""
    out: list[tuple[int, x509.Certificate]] = []
    raw = _peer_certs(conn)
    for i, c in enumerate(raw):
        try:
            out.append((i, c.to_cryptography()))
        except Exception as exc:
            notes.append(
                f"certificate #{i + 1} could not be parsed ({type(exc).__name__}); skipped"
            )
    return out, len(raw)


def _parse_ders(
    ders: list[bytes], notes: list[str]
) -> tuple[list[tuple[int, x509.Certificate]], int]:
    from cryptography import x509

    out: list[tuple[int, x509.Certificate]] = []
    for i, der in enumerate(ders[: MAX_CHAIN + 1]):
        try:
            out.append((i, x509.load_der_x509_certificate(der)))
        except (ValueError, x509.InvalidVersion) as exc:  # InvalidVersion is no ValueError
            notes.append(f"certificate #{i + 1} could not be parsed ({exc}); skipped")
    return out, len(ders)


def _read_raw_chain(wire: Wire, rx: bytearray, state: _State) -> list[bytes]:
    """Keep reading until the Certificate message is complete, then parse it ourselves."""
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
