"""PEM: a tolerant block scanner, and the one encoder.

Finds ``-----BEGIN X-----`` / ``-----END X-----`` blocks anywhere in text (a
pasted ``openssl s_client -showcerts`` transcript, a log, YAML), with the line
each block starts on and whether it carries RFC 1421 headers.  Pure: bytes in,
blocks out.  Go's ``AppendCertsFromPEM`` uses only ``CERTIFICATE`` blocks with
no headers (crypto/x509/cert_pool.go); OpenSSL also takes ``TRUSTED
CERTIFICATE``; each reader decides with these facts.  :func:`pem_encode`
writes the strict form of RFC 7468 §2 that every reader accepts.
"""

from __future__ import annotations

import binascii
import re
from collections.abc import Iterator

from .record import record

# Bounded, linear patterns: labels are short, no nested quantifiers.
_BEGIN = re.compile(rb"-----BEGIN ([A-Z0-9 #]{1,40})-----")
# Every byte but the base64 alphabet and "=": dropped from a body (what the
# pattern [^A-Za-z0-9+/=] removed, with bytes.translate).
_BASE64 = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="
_NOT_BASE64 = bytes(b for b in range(256) if b not in _BASE64)
_END_TMPL = b"-----END %s-----"

# Labels of private-key blocks: never shown, never parsed as certificates.
PRIVATE_KEY_LABELS = frozenset(
    {
        "PRIVATE KEY",
        "RSA PRIVATE KEY",
        "EC PRIVATE KEY",
        "DSA PRIVATE KEY",
        "ENCRYPTED PRIVATE KEY",
        "OPENSSH PRIVATE KEY",
    }
)


@record
class PemBlock:
    """One PEM block as found in a file, broken or not."""

    label: str  # CERTIFICATE, TRUSTED CERTIFICATE, PKCS7, PRIVATE KEY, ...
    data: bytes  # decoded body (may be empty when the base64 was broken)
    line: int  # 1-based line of the BEGIN marker
    has_headers: bool  # RFC 1421 "Key: value" headers before the body
    broken: bool  # base64 did not decode, or END marker missing


def iter_pem_blocks(text: bytes) -> Iterator[PemBlock]:
    """Yield every PEM block in ``text`` in order."""
    pos = 0
    line, counted = 1, 0  # the line number at offset `counted`: counted on, not from 0
    while True:
        m = _BEGIN.search(text, pos)
        if m is None:
            return
        label = m.group(1).decode("ascii")
        end_marker = _END_TMPL % m.group(1)
        end = text.find(end_marker, m.end())
        line += text.count(b"\n", counted, m.start())
        counted = m.start()
        if end < 0:
            yield PemBlock(label, b"", line, False, True)
            return
        body = text[m.end() : end]
        has_headers = b":" in body.split(b"\n\n", 1)[0] if b"\n\n" in body else False
        if has_headers:
            body = body.split(b"\n\n", 1)[1]
        # Tolerate transcripts that prefix lines (e.g. "> " in chat, YAML indent).
        cleaned = body.translate(None, _NOT_BASE64)
        try:
            data = binascii.a2b_base64(cleaned, strict_mode=True) if cleaned else b""
            broken = not data
        except (binascii.Error, ValueError):
            data, broken = b"", True
        yield PemBlock(label, data, line, has_headers, broken)
        pos = end + len(end_marker)


CERT_BEGIN = b"-----BEGIN CERTIFICATE-----"
CERT_END = b"-----END CERTIFICATE-----"


TYPE_CHECKING = False  # typing's constant, without importing typing (model/record.py)
if TYPE_CHECKING:
    from typing import Protocol

    class Searchable(Protocol):
        """``bytes`` or an ``mmap``: what :func:`cert_blocks` searches."""

        def find(self, sub: bytes, start: int = ..., end: int = ...) -> int: ...
        def rfind(self, sub: bytes, start: int = ..., end: int = ...) -> int: ...
        def __getitem__(self, key: slice) -> bytes: ...
        def __len__(self) -> int: ...


def cert_blocks(
    data: Searchable, *, max_block: int, limit: int, start: int = 0, end: int | None = None
) -> tuple[list[bytes], int]:
    """``CERTIFICATE`` PEM blocks of at most ``max_block`` bytes in ``data``
    (a program's read-only data: text among binary bytes), each with a final
    newline, at most ``limit``; and the offset after the last END marker seen.
    Only ``data[start:end]`` is searched (``end`` ``None``: to the end).

    Linear whatever the input: each END marker is found once, and the block is
    the *last* BEGIN before it (blocks do not nest; an earlier BEGIN with no END
    of its own is a torn block).  Searching forward from every BEGIN for an END
    instead costs ``max_block`` bytes per BEGIN: a file of BEGIN markers would
    take minutes.
    """
    blocks: list[bytes] = []
    pos = start
    last = len(data) if end is None else end
    while len(blocks) < limit:
        at = data.find(CERT_END, pos, last)
        if at < 0:
            break
        begin = data.rfind(CERT_BEGIN, max(pos, at - max_block), at)
        stop = at + len(CERT_END)
        if begin >= 0 and stop - begin <= max_block:
            blocks.append(data[begin:stop] + b"\n")
        pos = stop
    return blocks, pos


def looks_like_pem(text: bytes) -> bool:
    return _BEGIN.search(text) is not None


def pem_encode(der: bytes, label: str = "CERTIFICATE") -> bytes:
    """``der`` as one PEM block: RFC 7468 §2 strict encoding (base64 in lines of
    64 characters, LF line ends, a final newline), as OpenSSL writes it."""
    b64 = binascii.b2a_base64(der, newline=False)
    body = b"".join(b64[i : i + 64] + b"\n" for i in range(0, len(b64), 64))
    tag = label.encode("ascii")
    return b"-----BEGIN " + tag + b"-----\n" + body + b"-----END " + tag + b"-----\n"


def pem_text(der: bytes, label: str = "CERTIFICATE") -> str:
    """:func:`pem_encode` as text."""
    return pem_encode(der, label).decode("ascii")
