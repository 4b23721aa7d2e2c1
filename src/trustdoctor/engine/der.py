"""A minimal DER reader (pure): enough to see a certificate as a client does.

cryptography parses certificates strictly and re-encodes names; the client
models need the raw encoding as Go's and OpenSSL's parsers see it (the exact
bytes of a name, the order of SAN entries, extensions cryptography refuses).
Only definite-length DER is read; anything else is reported as malformed.
"""

from __future__ import annotations

from dataclasses import dataclass


class DerError(ValueError):
    """The bytes are not the DER element expected."""


@dataclass(frozen=True, eq=False, repr=False)
class Tlv:
    """One DER element: its tag, its content and its whole encoding."""

    tag: int  # the identifier octet (single-octet tags only)
    value: bytes  # the content octets
    raw: bytes  # the whole element, header included


def read(data: bytes, pos: int = 0) -> tuple[Tlv, int]:
    """Read one element at ``pos``; return it and the position after it."""
    if pos + 2 > len(data):
        raise DerError("truncated")
    tag = data[pos]
    if tag & 0x1F == 0x1F:
        raise DerError("multi-octet tag")
    first = data[pos + 1]
    hdr = 2
    if first < 0x80:
        length = first
    else:
        n = first & 0x7F
        if n == 0 or n > 4 or pos + 2 + n > len(data):
            raise DerError("bad length")
        length = int.from_bytes(data[pos + 2 : pos + 2 + n], "big")
        if length < 0x80 or data[pos + 2] == 0:
            raise DerError("non-minimal length")
        hdr += n
    end = pos + hdr + length
    if end > len(data):
        raise DerError("truncated")
    return Tlv(tag, data[pos + hdr : end], data[pos:end]), end


def children(data: bytes) -> list[Tlv]:
    """Every element of a concatenation (the content of a SEQUENCE or SET)."""
    out = []
    pos = 0
    while pos < len(data):
        t, pos = read(data, pos)
        out.append(t)
    return out


def one(data: bytes, tag: int | None = None) -> Tlv:
    """Exactly one element filling ``data`` (with ``tag`` when given)."""
    t, end = read(data, 0)
    if end != len(data):
        raise DerError("trailing data")
    if tag is not None and t.tag != tag:
        raise DerError(f"tag {t.tag:#x}, expected {tag:#x}")
    return t


def oid(value: bytes) -> str:
    """Dotted text of an OBJECT IDENTIFIER's content."""
    if not value or value[-1] & 0x80:
        raise DerError("bad OID")
    parts: list[int] = []
    n = 0
    for b in value:
        n = (n << 7) | (b & 0x7F)
        if not b & 0x80:
            parts.append(n)
            n = 0
    first = parts[0]
    head = [0, first] if first < 40 else [1, first - 40] if first < 80 else [2, first - 80]
    return ".".join(str(p) for p in [*head, *parts[1:]])


def integer(value: bytes) -> int:
    if not value:
        raise DerError("empty INTEGER")
    return int.from_bytes(value, "big", signed=True)


def bit(value: bytes, i: int) -> bool:
    """Bit ``i`` (0 = most significant of the first data octet) of a BIT STRING."""
    data = value[1:]
    if i // 8 >= len(data):
        return False
    return bool((data[i // 8] >> (7 - i % 8)) & 1)


SEQUENCE = 0x30
SET = 0x31
INTEGER = 0x02
BIT_STRING = 0x03
OCTET_STRING = 0x04
NULL = 0x05
OID = 0x06
BOOLEAN = 0x01
