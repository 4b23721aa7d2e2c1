"""Just enough of six plaintext protocols to reach their STARTTLS.

Each dialogue reads the greeting (if the protocol has one), asks for TLS and
checks the one answer that means "go ahead"; anything else is
``starttls-refused`` with the server's own words, and bytes that are not the
protocol at all (an HTTP reply, a TLS record on an implicit-TLS port...) are
``not-tls`` with a hint.  Nothing is authenticated and nothing else is sent.

References:
    SMTP  RFC 5321 (replies, EHLO), RFC 3207 (STARTTLS → 220)
    IMAP  RFC 3501 §6.2.1 / RFC 9051 (``a001 STARTTLS`` → ``a001 OK``)
    POP3  RFC 2595 §4 (``STLS`` → ``+OK``)
    FTP   RFC 4217 §4 (``AUTH TLS`` → 234)
    PostgreSQL  protocol docs, "SSL Session Encryption": SSLRequest = Int32 8,
          Int32 80877103; the server answers one byte, ``S`` or ``N``
    LDAP  RFC 4511 §4.14 (StartTLS extended operation 1.3.6.1.4.1.1466.20037,
          ExtendedResponse resultCode 0 = success)
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable, Mapping

from ..errors import ConnectError
from .tlsrecord import sniff
from .wire import Wire

REFUSED = "starttls-refused"
NOT_TLS = "not-tls"

# The EHLO argument: RFC 5321 §4.1.1.1 wants a domain or address literal; a
# name under the reserved .invalid TLD (RFC 2606) says who we are without
# leaking the local host name.
EHLO_NAME = b"trustdoctor.invalid"

_REPLY = re.compile(rb"^(\d{3})([ -]?)(.*)$")


def negotiate(proto: str, wire: Wire) -> None:
    """Run the ``proto`` dialogue on ``wire`` until the server says "start TLS".

    Raises:
        ConnectError: ``starttls-refused``, ``not-tls`` or ``timeout``.
    """
    try:
        DIALOGUES[proto](wire)
    except ConnectError as exc:
        if exc.code == "timeout" and wire.received == 0 and proto in _SPEAKS_FIRST:
            # Silence where a greeting was due: most often an implicit-TLS
            # port (465, 993, 995, 990, 636) addressed with a STARTTLS scheme.
            raise ConnectError(
                f"{exc.message} (no {proto.upper()} greeting: if this port speaks TLS "
                f"directly, use {_IMPLICIT.get(proto, 'https')}:// instead)",
                exc.code,
            ) from None
        raise


# Protocols whose server speaks first, and their implicit-TLS scheme.
_SPEAKS_FIRST = frozenset({"smtp", "imap", "pop3", "ftp"})
_IMPLICIT: Mapping[str, str] = {"smtp": "smtps", "imap": "imaps", "pop3": "pop3s", "ftp": "ftps"}


def _show(line: bytes) -> str:
    text = line.decode("utf-8", "replace")
    text = "".join(c if c.isprintable() else "?" for c in text)
    return text[:120]


def _not_protocol(wire: Wire, proto: str, first: bytes) -> ConnectError:
    """The server said something that is not ``proto``: say what it looks like."""
    s = sniff(first)
    if s.tls:
        return ConnectError(
            f"{wire.peer}: answered with TLS, not the {proto} greeting "
            f"(implicit TLS on this port? drop the {proto.lower()}:// scheme or --starttls)",
            NOT_TLS,
        )
    return ConnectError(
        f"{wire.peer}: not a {proto} server: it sent {s.what}: {s.excerpt!r}", NOT_TLS
    )


def _numeric_reply(wire: Wire, *, during: str, proto: str) -> tuple[int, list[bytes]]:
    """An SMTP/FTP reply: ``NNN-...`` lines up to ``NNN ...``; returns code and lines."""
    first = wire.read_line(during=during, fail_code=REFUSED)
    m = _REPLY.match(first)
    if not m:
        raise _not_protocol(wire, proto, first)
    code = int(m.group(1))
    lines = [first]
    if m.group(2) == b"-":
        # Continuation lines until "NNN " (FTP allows free text in between,
        # RFC 959 §4.2); bounded so an endless reply cannot keep us here.
        end = m.group(1) + b" "
        for _ in range(1000):
            line = wire.read_line(during=during, fail_code=REFUSED)
            lines.append(line)
            if line.startswith(end) or line == m.group(1):
                break
        else:
            raise ConnectError(f"{wire.peer}: endless {proto} reply {during}", REFUSED)
    return code, lines


def _smtp(wire: Wire) -> None:
    code, lines = _numeric_reply(wire, during="waiting for the SMTP greeting", proto="SMTP")
    if code != 220:
        raise ConnectError(f"{wire.peer}: SMTP greeting refused us: {_show(lines[-1])}", REFUSED)
    wire.send(b"EHLO " + EHLO_NAME + b"\r\n", during="sending EHLO", fail_code=REFUSED)
    code, lines = _numeric_reply(wire, during="after EHLO", proto="SMTP")
    if code != 250:
        raise ConnectError(f"{wire.peer}: SMTP EHLO refused: {_show(lines[-1])}", REFUSED)
    advertised = any(line[4:].strip().upper().startswith(b"STARTTLS") for line in lines[1:])
    wire.send(b"STARTTLS\r\n", during="sending STARTTLS", fail_code=REFUSED)
    code, lines = _numeric_reply(wire, during="after STARTTLS", proto="SMTP")
    if code != 220:
        hint = "" if advertised else " (STARTTLS is not among the EHLO extensions)"
        raise ConnectError(
            f"{wire.peer}: SMTP server refused STARTTLS: {_show(lines[-1])}{hint}", REFUSED
        )


def _ftp(wire: Wire) -> None:
    code, lines = _numeric_reply(wire, during="waiting for the FTP greeting", proto="FTP")
    if code != 220:
        raise ConnectError(f"{wire.peer}: FTP greeting refused us: {_show(lines[-1])}", REFUSED)
    wire.send(b"AUTH TLS\r\n", during="sending AUTH TLS", fail_code=REFUSED)
    code, lines = _numeric_reply(wire, during="after AUTH TLS", proto="FTP")
    if code != 234:
        raise ConnectError(f"{wire.peer}: FTP server refused AUTH TLS: {_show(lines[-1])}", REFUSED)


def _imap(wire: Wire) -> None:
    greeting = wire.read_line(during="waiting for the IMAP greeting", fail_code=REFUSED)
    upper = greeting.upper()
    if upper.startswith(b"* BYE"):
        raise ConnectError(f"{wire.peer}: IMAP server said goodbye: {_show(greeting)}", REFUSED)
    if not (upper.startswith(b"* OK") or upper.startswith(b"* PREAUTH")):
        raise _not_protocol(wire, "IMAP", greeting)
    if upper.startswith(b"* PREAUTH"):
        # RFC 3501 §6.2.1: STARTTLS is only valid in the not-authenticated state.
        raise ConnectError(
            f"{wire.peer}: IMAP server pre-authenticated the session; STARTTLS is not possible",
            REFUSED,
        )
    wire.send(b"a001 STARTTLS\r\n", during="sending STARTTLS", fail_code=REFUSED)
    for _ in range(1000):  # skip untagged "* ..." lines
        line = wire.read_line(during="after STARTTLS", fail_code=REFUSED)
        if line.upper().startswith(b"A001 "):
            if line[5:].upper().startswith(b"OK"):
                return
            raise ConnectError(f"{wire.peer}: IMAP server refused STARTTLS: {_show(line)}", REFUSED)
    raise ConnectError(f"{wire.peer}: no answer to IMAP STARTTLS among 1000 lines", REFUSED)


def _pop3(wire: Wire) -> None:
    greeting = wire.read_line(during="waiting for the POP3 greeting", fail_code=REFUSED)
    if greeting.startswith(b"-ERR"):
        raise ConnectError(f"{wire.peer}: POP3 greeting refused us: {_show(greeting)}", REFUSED)
    if not greeting.startswith(b"+OK"):
        raise _not_protocol(wire, "POP3", greeting)
    wire.send(b"STLS\r\n", during="sending STLS", fail_code=REFUSED)
    line = wire.read_line(during="after STLS", fail_code=REFUSED)
    if not line.startswith(b"+OK"):
        raise ConnectError(f"{wire.peer}: POP3 server refused STLS: {_show(line)}", REFUSED)


# PostgreSQL SSLRequest: length 8, then the magic 1234 << 16 | 5679.
PG_SSL_REQUEST = struct.pack("!II", 8, 80877103)


def _postgres(wire: Wire) -> None:
    wire.send(PG_SSL_REQUEST, during="sending SSLRequest", fail_code=REFUSED)
    answer = wire.read_exact(1, during="after SSLRequest", fail_code=REFUSED)
    if answer == b"S":
        if wire.buffer:
            # libpq refuses bytes buffered before the handshake (CVE-2021-23222):
            # they could only be injected by a man in the middle.
            raise ConnectError(
                f"{wire.peer}: PostgreSQL server sent data after 'S' and before TLS", REFUSED
            )
        return
    if answer == b"N":
        raise ConnectError(
            f"{wire.peer}: PostgreSQL server does not accept TLS (answered 'N' to SSLRequest; "
            "ssl = off in postgresql.conf?)",
            REFUSED,
        )
    if answer == b"E":
        raise ConnectError(
            f"{wire.peer}: PostgreSQL server answered SSLRequest with an error", REFUSED
        )
    raise _not_protocol(wire, "PostgreSQL", answer + bytes(wire.buffer[:200]))


# LDAPMessage { messageID 1, extendedReq [APPLICATION 23] { requestName [0]
# "1.3.6.1.4.1.1466.20037" } }, BER by hand (RFC 4511 §4.12, §4.14.1).
_LDAP_STARTTLS_OID = b"1.3.6.1.4.1.1466.20037"


def _ber(tag: int, value: bytes) -> bytes:
    n = len(value)
    if n < 0x80:
        length = bytes([n])
    else:
        raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
        length = bytes([0x80 | len(raw)]) + raw
    return bytes([tag]) + length + value


LDAP_STARTTLS_REQUEST = _ber(0x30, _ber(0x02, b"\x01") + _ber(0x77, _ber(0x80, _LDAP_STARTTLS_OID)))

# resultCode names (RFC 4511 §4.1.9) worth naming in a message.
LDAP_RESULTS: Mapping[int, str] = {
    0: "success",
    1: "operationsError",
    2: "protocolError",
    7: "authMethodNotSupported",
    8: "strongerAuthRequired",
    51: "busy",
    52: "unavailable",
    53: "unwillingToPerform",
    80: "other",
}

MAX_LDAP_MESSAGE = 64 * 1024


def _ber_tlv(data: bytes, pos: int) -> tuple[int, bytes, int]:
    """(tag, value, next position) of the TLV at ``pos``; ValueError if truncated."""
    if pos + 2 > len(data):
        raise ValueError("truncated")
    tag = data[pos]
    first = data[pos + 1]
    pos += 2
    if first < 0x80:
        length = first
    else:
        n = first & 0x7F
        if n == 0 or n > 4 or pos + n > len(data):
            raise ValueError("bad length")
        length = int.from_bytes(data[pos : pos + n], "big")
        pos += n
    if pos + length > len(data):
        raise ValueError("truncated")
    return tag, data[pos : pos + length], pos + length


def _ldap(wire: Wire) -> None:
    wire.send(LDAP_STARTTLS_REQUEST, during="sending the StartTLS request", fail_code=REFUSED)
    head = wire.read_exact(2, during="after the StartTLS request", fail_code=REFUSED)
    if head[0] != 0x30:
        raise _not_protocol(wire, "LDAP", head + bytes(wire.buffer[:200]))
    if head[1] < 0x80:
        length, extra = head[1], b""
    else:
        n = head[1] & 0x7F
        if n == 0 or n > 4:
            raise ConnectError(f"{wire.peer}: malformed LDAP response length", REFUSED)
        extra = wire.read_exact(n, during="after the StartTLS request", fail_code=REFUSED)
        length = int.from_bytes(extra, "big")
    if length > MAX_LDAP_MESSAGE:
        raise ConnectError(
            f"{wire.peer}: LDAP response of {length} bytes is not plausible", REFUSED
        )
    body = wire.read_exact(length, during="reading the StartTLS response", fail_code=REFUSED)
    try:
        tag, msgid, pos = _ber_tlv(body, 0)
        optag, op, _ = _ber_tlv(body, pos)
        rtag, rcode, rpos = _ber_tlv(op, 0)
        _, _, rpos = _ber_tlv(op, rpos)  # matchedDN
        _, diag, _ = _ber_tlv(op, rpos)  # diagnosticMessage
    except ValueError:
        raise ConnectError(f"{wire.peer}: malformed LDAP StartTLS response", REFUSED) from None
    if tag != 0x02 or rtag != 0x0A:
        raise ConnectError(f"{wire.peer}: malformed LDAP StartTLS response", REFUSED)
    code = int.from_bytes(rcode, "big") if rcode else -1
    if optag != 0x78 or int.from_bytes(msgid, "big") != 1:
        # messageID 0 is an unsolicited notification (RFC 4511 §4.4), e.g. a
        # notice of disconnection; any other operation is not an answer.
        raise ConnectError(
            f"{wire.peer}: LDAP server did not answer the StartTLS request "
            f"({LDAP_RESULTS.get(code, code)}: {_show(diag)})",
            REFUSED,
        )
    if code != 0:
        raise ConnectError(
            f"{wire.peer}: LDAP server refused StartTLS: {LDAP_RESULTS.get(code, str(code))}"
            + (f" ({_show(diag)})" if diag else ""),
            REFUSED,
        )


DIALOGUES: Mapping[str, Callable[[Wire], None]] = {
    "smtp": _smtp,
    "imap": _imap,
    "pop3": _pop3,
    "ftp": _ftp,
    "postgres": _postgres,
    "ldap": _ldap,
}
