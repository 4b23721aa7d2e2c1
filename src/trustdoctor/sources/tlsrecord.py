"""Just enough TLS record parsing to see what a server sent (pure).

Two jobs, both on raw bytes the network source captured:

* :func:`sniff` looks at the first bytes a server sent and says whether they
  can be TLS at all, and if not what they look like (plain HTTP, an SMTP or
  FTP banner, SSH...), so "not TLS" comes with a hint.
* :func:`extract_certificates` pulls the server's Certificate message out of
  the handshake *ourselves*.  OpenSSL refuses a certificate list larger than
  its ``max_cert_list`` (100 KiB by default, ``SSL_MAX_CERT_LIST_DEFAULT`` in
  ssl.h; pyOpenSSL has no setter), failing with "excessive message size"; the
  chain is still what the server presented and is worth reporting.  TLS 1.2
  sends it in clear text; TLS 1.3 encrypts it under the server handshake
  traffic secret, which OpenSSL hands us through the key-log callback
  (``SERVER_HANDSHAKE_TRAFFIC_SECRET``, NSS key-log format).

References: RFC 5246 §6.2 and §7.4.2 (TLS 1.2 records, Certificate), RFC 8446
§4.1.3 (ServerHello, HelloRetryRequest), §4.4.2 (TLS 1.3 Certificate), §5.2
(record protection), §7.1 (HKDF-Expand-Label), §7.3 (traffic keys).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from ..model.record import record

# decrypt(sequence number, record header, record body) -> inner plaintext or None
_Decrypt = Callable[[int, bytes, bytes], "bytes | None"]

# TLS record content types (RFC 8446 §5.1).
CHANGE_CIPHER_SPEC = 20
ALERT = 21
HANDSHAKE = 22
APPLICATION_DATA = 23

# Handshake message types.
SERVER_HELLO = 2
CERTIFICATE = 11

# SHA-256("HelloRetryRequest"): the ServerHello.random of an HRR (RFC 8446 §4.1.3).
HRR_RANDOM = bytes.fromhex("cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c")

# TLS 1.3 cipher suites: (AEAD, key length, hash) (RFC 8446 appendix B.4).
_TLS13_SUITES: Mapping[int, tuple[str, int, str]] = {
    0x1301: ("aes-gcm", 16, "sha256"),
    0x1302: ("aes-gcm", 32, "sha384"),
    0x1303: ("chacha20-poly1305", 32, "sha256"),
    0x1304: ("aes-ccm", 16, "sha256"),
}

# First bytes of common plaintext protocols found on a port where TLS was
# expected, and what to tell the user.  Order matters: first match wins.
_BANNERS: tuple[tuple[re.Pattern[bytes], str], ...] = (
    (re.compile(rb"^HTTP/\d"), "plain HTTP"),
    (re.compile(rb"^<(?:!DOCTYPE|html)", re.I), "plain HTTP (an HTML page)"),
    (re.compile(rb"^SSH-\d"), "an SSH server banner"),
    (
        re.compile(rb"^220[ -].*(?:SMTP|mail|MTA|Postfix|Exim|Sendmail)", re.I),
        "an SMTP banner (use smtp://HOST:PORT for STARTTLS)",
    ),
    (re.compile(rb"^220[ -].*FTP", re.I), "an FTP banner (use ftp://HOST:PORT for AUTH TLS)"),
    (re.compile(rb"^220[ -]"), "an SMTP or FTP banner (use smtp:// or ftp:// for STARTTLS)"),
    (
        re.compile(rb"^\* (?:OK|PREAUTH)", re.I),
        "an IMAP banner (use imap://HOST:PORT for STARTTLS)",
    ),
    (re.compile(rb"^\+OK"), "a POP3 banner (use pop3://HOST:PORT for STLS)"),
    (re.compile(rb"^-ERR"), "a POP3 error"),
    (re.compile(rb"^[\x00-\x03].{3}\x0a\d"), "a MySQL handshake"),
    (re.compile(rb"^RFB \d"), "a VNC banner"),
    (re.compile(rb"^(?:-ERR|\+PONG|-NOAUTH)"), "a Redis reply"),
)


@record
class SniffResult:
    """What the first bytes from a server look like.

    Attributes:
        tls: the bytes can start a TLS record (handshake or alert).
        what: a short description when they cannot (``plain HTTP``...).
        excerpt: the first printable bytes, for the message (``HTTP/1.1 400 Bad Request``).
    """

    tls: bool
    what: str | None = None
    excerpt: str | None = None


def sniff(first: bytes) -> SniffResult:
    """Judge the first bytes a server sent (at least one byte)."""
    if not first:
        return SniffResult(tls=True)
    # A TLS record starts with a content type (handshake 22 or alert 21 in a
    # first flight) and a 3.x version; SSLv2 replies are long gone.
    if first[0] in (HANDSHAKE, ALERT) and (len(first) < 2 or first[1] == 3):
        return SniffResult(tls=True)
    excerpt = _excerpt(first)
    for pattern, what in _BANNERS:
        if pattern.search(first[:512]):
            return SniffResult(tls=False, what=what, excerpt=excerpt)
    if _mostly_text(first[:256]):
        return SniffResult(tls=False, what="plain text", excerpt=excerpt)
    return SniffResult(
        tls=False, what="bytes that are not a TLS record", excerpt=first[:8].hex(" ")
    )


def _excerpt(data: bytes) -> str:
    line = data[:200].split(b"\n", 1)[0].rstrip(b"\r")
    text = line.decode("latin-1")
    return "".join(c if 0x20 <= ord(c) < 0x7F else "?" for c in text)[:80]


def _mostly_text(data: bytes) -> bool:
    if not data:
        return False
    printable = sum(1 for b in data if 0x20 <= b < 0x7F or b in (9, 10, 13))
    return printable / len(data) > 0.9


@record
class Record:
    """One TLS record: content type, header and body."""

    content_type: int
    header: bytes
    body: bytes


def parse_records(data: bytes) -> tuple[list[Record], int]:
    """Split ``data`` into complete TLS records; returns them and bytes consumed."""
    out: list[Record] = []
    pos = 0
    while pos + 5 <= len(data):
        length = int.from_bytes(data[pos + 3 : pos + 5], "big")
        if pos + 5 + length > len(data):
            break
        out.append(Record(data[pos], data[pos : pos + 5], data[pos + 5 : pos + 5 + length]))
        pos += 5 + length
    return out, pos


def _handshake_messages(stream: bytes) -> list[tuple[int, bytes]]:
    """Complete handshake messages (type, body) in a reassembled stream."""
    out: list[tuple[int, bytes]] = []
    pos = 0
    while pos + 4 <= len(stream):
        length = int.from_bytes(stream[pos + 1 : pos + 4], "big")
        if pos + 4 + length > len(stream):
            break
        out.append((stream[pos], stream[pos + 4 : pos + 4 + length]))
        pos += 4 + length
    return out


@record
class ServerHello:
    """What a ServerHello tells: the version, the cipher suite, and whether it is a
    HelloRetryRequest."""

    version: int  # 0x0303 for TLS 1.2, 0x0304 for TLS 1.3
    cipher_suite: int
    retry_request: bool


def parse_server_hello(body: bytes) -> ServerHello | None:
    """Parse the fields of a ServerHello we need, or ``None`` if malformed."""
    try:
        legacy_version = int.from_bytes(body[0:2], "big")
        random = body[2:34]
        sid_len = body[34]
        pos = 35 + sid_len
        suite = int.from_bytes(body[pos : pos + 2], "big")
        pos += 3  # cipher suite + compression method
        version = legacy_version
        if pos + 2 <= len(body):
            ext_len = int.from_bytes(body[pos : pos + 2], "big")
            pos += 2
            end = min(len(body), pos + ext_len)
            while pos + 4 <= end:
                etype = int.from_bytes(body[pos : pos + 2], "big")
                elen = int.from_bytes(body[pos + 2 : pos + 4], "big")
                if etype == 43 and elen == 2:  # supported_versions
                    version = int.from_bytes(body[pos + 4 : pos + 6], "big")
                pos += 4 + elen
    except IndexError:
        return None
    if len(random) != 32:
        return None
    return ServerHello(version, suite, random == HRR_RANDOM)


def extract_server_hello(data: bytes) -> ServerHello | None:
    """The ServerHello the server settled on (after a HelloRetryRequest), from
    every byte it sent since its first TLS record; ``None`` if not there yet."""
    records, _ = parse_records(data)
    plain = bytearray()
    hello: ServerHello | None = None
    for rec in records:
        if rec.content_type != HANDSHAKE:
            if rec.content_type == CHANGE_CIPHER_SPEC:
                continue
            break
        plain += rec.body
        msgs = _handshake_messages(bytes(plain))
        hellos = [parse_server_hello(b) for t, b in msgs if t == SERVER_HELLO]
        found = next((h for h in reversed(hellos) if h and not h.retry_request), None)
        if found is not None:
            hello = found
            if found.version >= 0x0304:
                break  # the rest is encrypted
    return hello


def extract_certificates(
    data: bytes, *, server_handshake_secret: bytes | None = None
) -> list[bytes] | None:
    """The DER certificates of the server's Certificate message, leaf first.

    Args:
        data: every byte the server sent from its first TLS record on.
        server_handshake_secret: the TLS 1.3 ``SERVER_HANDSHAKE_TRAFFIC_SECRET``
            (unused for TLS 1.2 and earlier).

    Returns:
        The certificates, or ``None`` while the message is incomplete or
        cannot be read (TLS 1.3 without the secret, unknown cipher suite,
        malformed records).
    """
    records, _ = parse_records(data)
    plain = bytearray()
    hello: ServerHello | None = None
    i = 0
    # Clear-text part: ServerHello (after a possible HelloRetryRequest), and in
    # TLS 1.2 everything up to ChangeCipherSpec.
    while i < len(records):
        rec = records[i]
        if rec.content_type == HANDSHAKE:
            plain += rec.body
            msgs = _handshake_messages(bytes(plain))
            hellos = [parse_server_hello(b) for t, b in msgs if t == SERVER_HELLO]
            hello = next((h for h in reversed(hellos) if h and not h.retry_request), hello)
            if hello is not None and hello.version >= 0x0304:
                i += 1
                break
        elif rec.content_type == CHANGE_CIPHER_SPEC:
            if hello is not None and hello.version < 0x0304:
                break
        else:
            break
        i += 1
    if hello is None:
        return None
    if hello.version < 0x0304:
        for mtype, body in _handshake_messages(bytes(plain)):
            if mtype == CERTIFICATE:
                return _tls12_certificates(body)
        return None
    if server_handshake_secret is None:
        return None
    suite = _TLS13_SUITES.get(hello.cipher_suite)
    if suite is None:
        return None
    stream = bytearray()
    seq = 0
    decrypt = _record_decrypter(suite, server_handshake_secret)
    for rec in records[i:]:
        if rec.content_type == CHANGE_CIPHER_SPEC:  # middlebox compatibility (§D.4)
            continue
        if rec.content_type != APPLICATION_DATA:
            return None
        inner = decrypt(seq, rec.header, rec.body)
        seq += 1
        if inner is None:
            return None
        content = inner.rstrip(b"\x00")
        if not content or content[-1] != HANDSHAKE:
            return None
        stream += content[:-1]
        for mtype, body in _handshake_messages(bytes(stream)):
            if mtype == CERTIFICATE:
                return _tls13_certificates(body)
    return None


def _tls12_certificates(body: bytes) -> list[bytes] | None:
    total = int.from_bytes(body[0:3], "big")
    pos, end = 3, min(len(body), 3 + total)
    out: list[bytes] = []
    while pos + 3 <= end:
        n = int.from_bytes(body[pos : pos + 3], "big")
        out.append(body[pos + 3 : pos + 3 + n])
        pos += 3 + n
    return out


def _tls13_certificates(body: bytes) -> list[bytes] | None:
    ctx_len = body[0] if body else 0
    pos = 1 + ctx_len
    total = int.from_bytes(body[pos : pos + 3], "big")
    pos += 3
    end = min(len(body), pos + total)
    out: list[bytes] = []
    while pos + 3 <= end:
        n = int.from_bytes(body[pos : pos + 3], "big")
        out.append(body[pos + 3 : pos + 3 + n])
        pos += 3 + n
        ext_len = int.from_bytes(body[pos : pos + 2], "big")
        pos += 2 + ext_len
    return out


def _hkdf_expand_label(secret: bytes, label: str, length: int, hash_name: str) -> bytes:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand

    full = b"tls13 " + label.encode("ascii")
    info = length.to_bytes(2, "big") + bytes([len(full)]) + full + b"\x00"
    algo: hashes.HashAlgorithm = hashes.SHA384() if hash_name == "sha384" else hashes.SHA256()
    return HKDFExpand(algo, length, info).derive(secret)


def _record_decrypter(suite: tuple[str, int, str], secret: bytes) -> _Decrypt:
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESCCM, AESGCM, ChaCha20Poly1305

    aead_name, key_len, hash_name = suite
    key = _hkdf_expand_label(secret, "key", key_len, hash_name)
    iv = _hkdf_expand_label(secret, "iv", 12, hash_name)
    aead: AESGCM | AESCCM | ChaCha20Poly1305
    if aead_name == "aes-gcm":
        aead = AESGCM(key)
    elif aead_name == "aes-ccm":
        aead = AESCCM(key)
    else:
        aead = ChaCha20Poly1305(key)

    def decrypt(seq: int, header: bytes, body: bytes) -> bytes | None:
        nonce = bytes(a ^ b for a, b in zip(iv, seq.to_bytes(12, "big"), strict=True))
        try:
            return aead.decrypt(nonce, body, header)
        except InvalidTag:
            return None

    return decrypt
