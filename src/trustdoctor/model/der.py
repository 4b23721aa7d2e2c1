"""A minimal DER reader (pure): enough to see a certificate as a client does.

The client models need the raw encoding as Go's and OpenSSL's parsers see it
(the exact bytes of a name, the order of SAN entries, extensions other
readers refuse), and ``model.certder`` reads every certificate's facts with
it.  Only definite-length DER is read; anything else is reported as
malformed.
"""

from __future__ import annotations

from .record import identity_record


class DerError(ValueError):
    """The bytes are not the DER element expected."""


@identity_record
class Tlv:
    """One DER element: its tag, its content and its whole encoding."""

    tag: int  # the identifier octet (single-octet tags only)
    value: bytes  # the content octets
    raw: bytes  # the whole element, header included


def header(d: bytes, pos: int, end: int) -> tuple[int, int, int]:
    """The element at ``pos`` of ``d`` (not past ``end``): its tag, and where its
    content starts and ends.  Nothing is copied: readers that walk a whole
    certificate (``model.certder``) work on positions."""
    if pos + 2 > end:
        raise DerError("truncated")
    tag = d[pos]
    if tag & 0x1F == 0x1F:
        raise DerError("multi-octet tag")
    n = d[pos + 1]
    if n < 0x80:
        start = pos + 2
        stop = start + n
    else:
        k = n & 0x7F
        if k == 0 or k > 4 or pos + 2 + k > end:
            raise DerError("bad length")
        length = int.from_bytes(d[pos + 2 : pos + 2 + k], "big")
        if length < 0x80 or d[pos + 2] == 0:
            raise DerError("non-minimal length")
        start = pos + 2 + k
        stop = start + length
    if stop > end:
        raise DerError("truncated")
    return tag, start, stop


def elements(d: bytes, start: int, end: int) -> list[tuple[int, int, int, int]]:
    """The elements of [start, end) of ``d``: (tag, content start, content end,
    element start) each."""
    out = []
    pos = start
    while pos < end:
        # header()'s short-length case inline (most elements of a certificate:
        # a call per element was a third of reading one); header() for the rest.
        tag = d[pos]
        if pos + 2 <= end and tag & 0x1F != 0x1F and d[pos + 1] < 0x80:
            s = pos + 2
            e = s + d[pos + 1]
            if e > end:
                raise DerError("truncated")
        else:
            tag, s, e = header(d, pos, end)
        out.append((tag, s, e, pos))
        pos = e
    return out


def single(d: bytes, start: int, end: int, tag: int) -> tuple[int, int]:
    """Exactly one element with ``tag`` filling [start, end): its content."""
    t, s, e = header(d, start, end)
    if e != end:
        raise DerError("trailing data")
    if t != tag:
        raise DerError(f"tag {t:#x}, expected {tag:#x}")
    return s, e


def read(data: bytes, pos: int = 0) -> tuple[Tlv, int]:
    """Read one element at ``pos``; return it and the position after it."""
    tag, s, end = header(data, pos, len(data))
    return Tlv(tag, data[s:end], data[pos:end]), end


def children(data: bytes) -> list[Tlv]:
    """Every element of a concatenation (the content of a SEQUENCE or SET)."""
    return [Tlv(t, data[s:e], data[p:e]) for t, s, e, p in elements(data, 0, len(data))]


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
    return oid_at(value, 0, len(value))


def oid_at(d: bytes, s: int, e: int) -> str:
    """Dotted text of the OBJECT IDENTIFIER content at [s, e) of ``d``."""
    if s == e or d[e - 1] & 0x80:
        raise DerError("bad OID")
    parts: list[int] = []
    n = 0
    for b in d[s:e]:
        n = (n << 7) | (b & 0x7F)
        if not b & 0x80:
            parts.append(n)
            n = 0
    first = parts[0]
    head = (0, first) if first < 40 else (1, first - 40) if first < 80 else (2, first - 80)
    return ".".join(map(str, (*head, *parts[1:])))


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
