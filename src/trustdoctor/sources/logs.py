"""Reading logs for ``trustdoctor explain``: streaming, bounded, forgiving.

Two layers:

* :func:`iter_physical_lines` — the I/O edge.  Reads a binary stream in
  chunks (any size: memory is bounded by :data:`CHUNK` + :data:`MAX_LINE`),
  transcodes UTF-16 (PowerShell's ``>`` writes UTF-16LE), splits lines, and
  cuts a line longer than :data:`MAX_LINE` into overlapping windows so a
  message in the middle of a 10 MB JSON line is still seen.
* :func:`iter_records` — pure.  Joins the physical lines of one logical
  message (a Java stack trace with its ``Caused by:`` chain, a Python
  traceback with its chained exceptions, Node's inspected error object, a
  kubelet event wrapped onto indented lines, podman's nested error) and yields
  only the records that contain one of the message table's needles, decoded
  and cleaned (ANSI colours, NULs and control bytes removed).

Every cap is a constant here; nothing grows with the input except counters.
"""

from __future__ import annotations

import codecs
import os
import re
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

from ..errors import InputError
from .messages import MAX_RECORD_CHARS, NEEDLES

CHUNK = 1 << 20  # bytes read at a time
MAX_LINE = 16 * 1024  # bytes of a physical line looked at per window
OVERLAP = 1024  # windows of an overlong line overlap by this much
MAX_RECORD_LINES = 200  # a record (stack trace) is cut after this many lines
MAX_RECORD_BYTES = 64 * 1024  # ... or this many bytes

_NEEDLE_RE = re.compile(b"|".join(re.escape(n) for n in NEEDLES))
# ANSI CSI (colours, cursor moves) and OSC (titles, hyperlinks) sequences, then
# every other C0 control except tab and newline, and DEL.
_ANSI_RE = re.compile(r"\x1b\[[0-9;:?<=>]{0,32}[ -/]{0,4}[@-~]|\x1b\][^\x07\x1b]{0,512}(?:\x07|\x1b\\)?")
_CTRL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class PhysicalLine:
    """One line (or one window of an overlong line) as bytes, without its newline."""

    number: int
    data: bytes
    partial: bool = False


@dataclass(frozen=True)
class Record:
    """One logical message that contains at least one needle.

    Attributes:
        line: 1-based number of its first physical line.
        lines: its physical lines, decoded and cleaned (``(number, text)``).
    """

    line: int
    lines: tuple[tuple[int, str], ...]

    @property
    def flat(self) -> str:
        """The lines joined by single spaces (indentation dropped), capped."""
        return " ".join(t.strip() for _, t in self.lines)[:MAX_RECORD_CHARS]


@dataclass
class LogStats:
    """Counters filled while a stream is read (the only mutable state)."""

    lines: int = 0
    bytes: int = 0
    candidates: int = 0
    overlong: int = 0


# -- the I/O edge ----------------------------------------------------------------


def open_log(path: str) -> BinaryIO:
    """Open a log file for streaming; a one-line :class:`InputError` if impossible."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from None
    if stat.S_ISDIR(st.st_mode):
        raise InputError(f"{path}: is a directory, not a log file")
    try:
        return open(path, "rb")  # noqa: SIM115 - the caller closes it
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from None


def _sniff_utf16(head: bytes) -> str | None:
    """The UTF-16 codec a stream starts in, or None for byte-oriented text."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    sample = head[:4096]
    if len(sample) >= 16:
        # ASCII text in UTF-16LE: almost every odd byte is NUL, few even ones.
        odd = sample[1::2]
        even = sample[0::2]
        if odd.count(0) > 0.8 * len(odd) and even.count(0) < 0.1 * len(even):
            return "utf-16-le"
        if even.count(0) > 0.8 * len(even) and odd.count(0) < 0.1 * len(odd):
            return "utf-16-be"
    return None


def _chunks(stream: BinaryIO, stats: LogStats) -> Iterator[bytes]:
    first = stream.read(CHUNK)
    if not first:
        return
    codec = _sniff_utf16(first)
    if codec is None:
        stats.bytes += len(first)
        yield first
        while chunk := stream.read(CHUNK):
            stats.bytes += len(chunk)
            yield chunk
        return
    decoder = codecs.getincrementaldecoder(codec)(errors="replace")
    chunk = first
    while chunk:
        stats.bytes += len(chunk)
        yield decoder.decode(chunk).encode("utf-8", "replace")
        chunk = stream.read(CHUNK)
    tail = decoder.decode(b"", final=True)
    if tail:
        yield tail.encode("utf-8", "replace")


def iter_physical_lines(stream: BinaryIO, stats: LogStats | None = None) -> Iterator[PhysicalLine]:
    """Lines of ``stream``, in bounded memory whatever the line lengths.

    A line longer than :data:`MAX_LINE` comes out as overlapping windows
    (``partial=True``, all with the line's number): any text shorter than
    :data:`OVERLAP` lies whole inside one window.
    """
    st = stats if stats is not None else LogStats()
    number = 0
    carry = b""
    in_long = False  # the line in ``carry`` has already been partly emitted
    step = MAX_LINE - OVERLAP
    for chunk in _chunks(stream, st):
        buf = carry + chunk if carry else chunk
        start = 0
        find = buf.find
        while (nl := find(b"\n", start)) >= 0:
            number += 1
            line = buf[start:nl]
            if line.endswith(b"\r"):
                line = line[:-1]
            if in_long or len(line) > MAX_LINE:
                if not in_long:
                    st.overlong += 1
                yield from split_windows(number, line, step)
                in_long = False
            else:
                yield PhysicalLine(number, line)
            start = nl + 1
        carry = buf[start:]
        if len(carry) > MAX_LINE:
            # An overlong line whose end has not arrived: emit whole windows now
            # and keep only the rest, so a 1 GB line needs MAX_LINE + CHUNK bytes.
            if not in_long:
                st.overlong += 1
                in_long = True
            pos = 0
            while len(carry) - pos > MAX_LINE:
                yield PhysicalLine(number + 1, carry[pos:pos + MAX_LINE], True)
                pos += step
            carry = carry[pos:]
    if carry:
        number += 1
        if carry.endswith(b"\r"):
            carry = carry[:-1]
        if in_long or len(carry) > MAX_LINE:
            if not in_long:
                st.overlong += 1
            yield from split_windows(number, carry, step)
        else:
            yield PhysicalLine(number, carry)
    st.lines = number


def split_windows(number: int, data: bytes, step: int = MAX_LINE - OVERLAP) -> Iterator[PhysicalLine]:
    """Overlapping windows of one overlong line (all ``partial``)."""
    pos = 0
    while len(data) - pos > MAX_LINE:
        yield PhysicalLine(number, data[pos:pos + MAX_LINE], True)
        pos += step
    yield PhysicalLine(number, data[pos:], True)


# -- records (pure) ------------------------------------------------------------------

# A line starting with one of these continues the record even when not indented.
_CONTINUATIONS = (
    b"Caused by:",  # Java exception chain
    b"Suppressed:",
    b"}",  # Node's util.inspect of an Error
    b"]",
    b"During handling of the above exception",  # Python chained exceptions
    b"The above exception was the direct cause",
)
# Consecutive lines with one of these prefixes belong together.
_SAME_PREFIX = (b"npm ERR! ", b"npm error ")


def _indent(line: bytes) -> int:
    return len(line) - len(line.lstrip(b" \t"))


def clean(data: bytes) -> str:
    """Decode one line of a log, whatever its encoding, into printable text."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        # Mixed logs: a Latin-1 (or binary) line among UTF-8 ones.  The words
        # that matter are ASCII; replacement characters are harmless.
        text = data.decode("utf-8", "replace")
    if "\x1b" in text:
        text = _ANSI_RE.sub("", text)
    return _CTRL_RE.sub("", text)


class _Builder:
    __slots__ = ("after_exc", "head_indent", "hit", "in_tb", "lines", "nbytes", "pending_blank",
                 "prefix", "start")

    def __init__(self) -> None:
        self.lines: list[tuple[int, bytes]] = []
        self.hit = False
        self.start = 0
        self.head_indent = 0
        self.nbytes = 0
        self.in_tb = False  # inside a Python traceback
        self.after_exc = False  # the traceback's exception line was seen
        self.pending_blank = False
        self.prefix: bytes | None = None

    def reset(self, line: PhysicalLine, hit: bool) -> None:
        data = line.data
        self.lines = [(line.number, data)]
        self.hit = hit
        self.start = line.number
        self.head_indent = _indent(data) if data[:1] in (b" ", b"\t") else 0
        self.nbytes = len(data)
        self.in_tb = data.startswith(b"Traceback (most recent call last)")
        self.after_exc = False
        self.pending_blank = False
        self.prefix = next((p for p in _SAME_PREFIX if data.startswith(p)), None)

    def continues(self, data: bytes) -> bool:
        if not self.lines:
            return False
        if len(self.lines) >= MAX_RECORD_LINES or self.nbytes + len(data) > MAX_RECORD_BYTES:
            return False
        first = data[:1]
        if first in (b" ", b"\t"):
            if self.pending_blank and not self.in_tb:
                return False
            return self.head_indent == 0 or _indent(data) > self.head_indent
        if self.prefix is not None:
            return data.startswith(self.prefix)
        if data.startswith(_CONTINUATIONS):
            return True
        if self.in_tb:
            if data.startswith(b"Traceback (most recent call last)"):
                return self.pending_blank or not self.after_exc
            if not self.after_exc and not self.pending_blank:
                self.after_exc = True  # the exception line closing the traceback
                return True
        return False

    def record(self) -> Record:
        return Record(self.start, tuple((n, clean(d)) for n, d in self.lines))


def iter_records(lines: Iterable[PhysicalLine], stats: LogStats | None = None) -> Iterator[Record]:
    """Join physical lines into records; yield those containing a needle."""
    st = stats if stats is not None else LogStats()
    search = _NEEDLE_RE.search
    b = _Builder()
    for line in lines:
        data = line.data
        hit = search(data) is not None
        if line.partial:
            # A window of an overlong line stands alone.
            if b.hit:
                st.candidates += 1
                yield b.record()
            b.lines = []
            b.hit = False
            if hit:
                st.candidates += 1
                yield Record(line.number, ((line.number, clean(data)),))
            continue
        if not data.strip():
            if b.in_tb and b.lines and not b.pending_blank:
                b.pending_blank = True  # maybe "During handling ..." follows
                continue
            if b.hit:
                st.candidates += 1
                yield b.record()
            b.lines = []
            b.hit = False
            b.in_tb = False
            continue
        if b.continues(data):
            if b.pending_blank:
                b.pending_blank = False
                if data.startswith(b"Traceback (most recent call last)"):
                    b.after_exc = False
            b.lines.append((line.number, data))
            b.nbytes += len(data)
            b.hit = b.hit or hit
            continue
        if b.hit:
            st.candidates += 1
            yield b.record()
        b.reset(line, hit)
    if b.hit:
        st.candidates += 1
        yield b.record()


def lines_from_text(text: str | bytes) -> Iterator[PhysicalLine]:
    """Physical lines of an in-memory text (the pure path of ``explain()``)."""
    data = text.encode("utf-8", "replace") if isinstance(text, str) else text
    import io

    yield from iter_physical_lines(io.BytesIO(data))
