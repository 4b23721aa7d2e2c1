"""Logs as records for ``trustdoctor explain``: streaming, bounded, forgiving (pure).

The stream comes from the caller (``sources.files.open_log`` opens a file).

Two layers:

* :func:`iter_blocks` — reads a binary stream given by the caller in chunks (any
  size: memory is bounded by :data:`CHUNK` + :data:`MAX_LINE`), transcodes
  UTF-16 (PowerShell's ``>`` writes UTF-16LE), splits lines, and cuts a line
  longer than :data:`MAX_LINE` into overlapping windows so a message in the
  middle of a 10 MB JSON line is still seen.
* :func:`iter_records` — pure.  Finds the lines holding one of the message
  table's needles (at C speed over whole blocks), and around each of them
  rebuilds the logical message it belongs to: a Java stack trace with its
  ``Caused by:`` chain, a Python traceback with its chained exceptions, Node's
  inspected error object, podman's nested error, a kubelet event wrapped onto
  deeper-indented lines.  Lines far from any needle are never decoded.

Joining rules (:class:`_Builder`): a record starts at a line and continues
with every following line that is indented deeper than that first line, or
starts with ``Caused by:``/``Suppressed:``/``}``/``]``/Python's chained
exception banners, or repeats an ``npm ERR!`` prefix; a Python traceback also
takes its closing exception line and, across one blank line, the next
traceback of the chain.  A blank line ends a record.  Records are capped at
:data:`MAX_RECORD_LINES` lines and :data:`MAX_RECORD_BYTES` bytes.  A block of
uniformly indented rows that is not a stack trace (``kubectl describe``
events under ``Events:``) is split back into one record per row.
"""

from __future__ import annotations

import codecs
import itertools
import re
from collections.abc import Iterable, Iterator
from functools import cache
from typing import Protocol

from ..model.record import field, mutable_record, record
from . import catalogue

CHUNK = 1 << 20  # bytes read at a time
MAX_LINE = 16 * 1024  # bytes of a physical line looked at per window
OVERLAP = 1024  # windows of an overlong line overlap by this much
MAX_RECORD_LINES = 200  # a record (stack trace) is cut after this many lines
MAX_RECORD_BYTES = 64 * 1024  # ... or this many bytes
MAX_RECORD_CHARS = 64 * 1024  # the matcher never searches more of one record


class SupportsRead(Protocol):
    """Anything with ``read(n) -> bytes`` (a file, stdin's buffer, a generator)."""

    def read(self, n: int = ..., /) -> bytes: ...


@cache
def _prefilter() -> tuple[re.Pattern[bytes], tuple[bytes, ...]]:
    """The catalogue's needles, compiled on first use.

    Needles whose first byte is rare in logs go into one alternation (the regex
    engine skips positions whose byte cannot start a needle); needles starting
    with a common lowercase letter are each found with bytes.find, which is
    faster than letting them into the alternation.
    """
    cat = catalogue.load()
    return re.compile(b"|".join(re.escape(n) for n in cat.fast_needles)), cat.slow_needles


# ANSI CSI (colours, cursor moves) and OSC (titles, hyperlinks) sequences, then
# every other C0 control except tab and newline, and DEL.
_ANSI_RE = re.compile(
    r"\x1b\[[0-9;:?<=>]{0,32}[ -/]{0,4}[@-~]|\x1b\][^\x07\x1b]{0,512}(?:\x07|\x1b\\)?"
)
_CTRL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


@mutable_record
class Block:
    """Consecutive physical lines read together.

    Attributes:
        first: number of ``lines[0]``.
        lines: the lines (windows of an overlong line each take one slot).
        partial: indexes of slots that are windows of an overlong line.
        text: ``b"\\n".join(lines)`` when the reader has it for free.
        numbers: line number of each slot when windows make them differ from
            ``first + index``.
    """

    first: int
    lines: list[bytes]
    partial: frozenset[int] = frozenset()
    text: bytes | None = None
    numbers: list[int] | None = None

    def joined(self) -> bytes:
        return self.text if self.text is not None else b"\n".join(self.lines)


@record
class Record:
    """One logical message.

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


@mutable_record
class LogStats:
    """Counters filled while a stream is read (the only mutable state)."""

    lines: int = 0
    bytes: int = 0
    candidates: int = 0
    overlong: int = 0
    extra: dict[str, int] = field(default_factory=dict)


def _sniff_utf16(head: bytes) -> str | None:
    """The UTF-16 codec a stream starts in, or None for byte-oriented text."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    sample = head[:4096]
    if len(sample) >= 16:
        # ASCII text in UTF-16LE: almost every odd byte is NUL, few even ones.
        odd, even = sample[1::2], sample[0::2]
        if odd.count(0) > 0.8 * len(odd) and even.count(0) < 0.1 * len(even):
            return "utf-16-le"
        if even.count(0) > 0.8 * len(even) and odd.count(0) < 0.1 * len(odd):
            return "utf-16-be"
    return None


def _chunks(stream: SupportsRead, st: LogStats, chunk_size: int) -> Iterator[bytes]:
    first = stream.read(chunk_size)
    if not first:
        return
    codec = _sniff_utf16(first)
    if codec is None:
        st.bytes += len(first)
        yield first
        while chunk := stream.read(chunk_size):
            st.bytes += len(chunk)
            yield chunk
        return
    decoder = codecs.getincrementaldecoder(codec)(errors="replace")
    chunk = first
    while chunk:
        st.bytes += len(chunk)
        yield decoder.decode(chunk).encode("utf-8", "replace")
        chunk = stream.read(chunk_size)
    tail = decoder.decode(b"", final=True)
    if tail:
        yield tail.encode("utf-8", "replace")


def split_windows(data: bytes, step: int | None = None) -> list[bytes]:
    """Overlapping windows of one overlong line: any text shorter than
    :data:`OVERLAP` lies whole inside one of them."""
    step = step or MAX_LINE - OVERLAP
    out = []
    pos = 0
    while len(data) - pos > MAX_LINE:
        out.append(data[pos : pos + MAX_LINE])
        pos += step
    out.append(data[pos:])
    return out


def _long_windows(number: int, carry: bytes, st: LogStats, counted: bool) -> tuple[Block, bytes]:
    """Whole windows of an unfinished overlong line, and the rest to keep."""
    if not counted:
        st.overlong += 1
    step = MAX_LINE - OVERLAP
    pos = 0
    wins = []
    while len(carry) - pos > MAX_LINE:
        wins.append(carry[pos : pos + MAX_LINE])
        pos += step
    return Block(number, wins, frozenset(range(len(wins))), numbers=[number] * len(wins)), carry[
        pos:
    ]


def iter_blocks(
    stream: SupportsRead, stats: LogStats | None = None, *, chunk_size: int = CHUNK
) -> Iterator[Block]:
    """Blocks of whole lines of ``stream``, in bounded memory whatever the input."""
    st = stats if stats is not None else LogStats()
    number = 1  # number of the next line
    carry = b""
    in_long = False  # carry is the rest of a line already partly emitted
    for chunk in _chunks(stream, st, chunk_size):
        buf = carry + chunk if carry else chunk
        cut = buf.rfind(b"\n")
        if cut < 0:
            carry = buf
            if len(carry) > MAX_LINE:
                # An overlong line whose end has not arrived: emit its whole
                # windows now, keep the rest (a 1 GB line needs MAX_LINE + CHUNK).
                blk, carry = _long_windows(number, carry, st, in_long)
                in_long = True
                yield blk
            continue
        text = buf[:cut]
        carry = buf[cut + 1 :]
        lines = text.split(b"\n")
        first = number
        number += len(lines)
        if in_long or max(map(len, lines)) > MAX_LINE:
            yield _windowed(first, lines, in_long, st)
            in_long = False
        else:
            yield Block(first, lines, text=text)
        if len(carry) > MAX_LINE:
            blk, carry = _long_windows(number, carry, st, False)
            in_long = True
            yield blk
    if carry or in_long:
        last = carry[:-1] if carry.endswith(b"\r") else carry
        if in_long or len(last) > MAX_LINE:
            if not in_long:
                st.overlong += 1
            wins = split_windows(last)
            yield Block(number, wins, frozenset(range(len(wins))), numbers=[number] * len(wins))
        else:
            yield Block(number, [last])
        number += 1
    st.lines = number - 1


def _windowed(first: int, lines: list[bytes], first_is_long: bool, st: LogStats) -> Block:
    """A block whose overlong lines are replaced by their windows (same number each)."""
    out: list[bytes] = []
    partial: set[int] = set()
    numbers: list[int] = []
    for i, line in enumerate(lines):
        n = first + i
        cont = i == 0 and first_is_long
        if cont or len(line) > MAX_LINE:
            if not cont:
                st.overlong += 1
            for w in split_windows(line):
                partial.add(len(out))
                out.append(w)
                numbers.append(n)
        else:
            out.append(line)
            numbers.append(n)
    return Block(first, out, frozenset(partial), numbers=numbers)


# -- records (pure) ------------------------------------------------------------------

_CONTINUATIONS = (
    b"Caused by:",  # Java exception chain
    b"Suppressed:",
    b"}",  # Node's util.inspect of an Error
    b"]",
    b"During handling of the above exception",  # Python chained exceptions
    b"The above exception was the direct cause",
)
_CHAIN_BANNERS = (
    b"During handling of the above exception",
    b"The above exception was the direct cause",
)
_TB = b"Traceback (most recent call last)"
# Consecutive lines with one of these prefixes belong together.
_SAME_PREFIX = (b"npm ERR! ", b"npm error ")
# Lines (stripped) that make a record a stack trace rather than a table.
_TRACE_MARKS = (
    b"at ",
    b"Caused by:",
    b'File "',
    _TB,
    b"During handling",
    b"The above exception",
    b"... ",
    b"[cause]:",
    b"code: ",
    b"}",
)
_WS = (b" ", b"\t")


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


def hit_positions(text: bytes) -> list[int]:
    """Offsets in ``text`` where a needle starts (unsorted)."""
    fast, slow = _prefilter()
    pos = [m.start() for m in fast.finditer(text)]
    for needle in slow:
        i = text.find(needle)
        while i >= 0:
            pos.append(i)
            i = text.find(needle, i + len(needle))
    return pos


def has_needle(line: bytes) -> bool:
    fast, slow = _prefilter()
    return fast.search(line) is not None or any(n in line for n in slow)


def _hit_lines(text: bytes, base: int) -> list[int]:
    """Indexes (offset by ``base``) of the lines of ``text`` holding a needle."""
    positions = hit_positions(text)
    if not positions:
        return []
    positions.sort()
    out: list[int] = []
    idx = 0
    last = 0
    for p in positions:
        idx += text.count(b"\n", last, p)
        last = p
        if not out or out[-1] != base + idx:
            out.append(base + idx)
    return out


class _Builder:
    """Forward joining state for one record (see the module docstring)."""

    __slots__ = ("after_exc", "head_indent", "in_tb", "n", "nbytes", "pending_blank", "prefix")

    def __init__(self, head: bytes) -> None:
        self.n = 1
        self.nbytes = len(head)
        self.head_indent = _indent(head) if head[:1] in _WS else 0
        self.in_tb = head.startswith(_TB)
        self.after_exc = False
        self.pending_blank = False
        self.prefix = next((p for p in _SAME_PREFIX if head.startswith(p)), None)

    def continues(self, data: bytes) -> bool:
        if self.n >= MAX_RECORD_LINES or self.nbytes + len(data) > MAX_RECORD_BYTES:
            return False
        if data[:1] in _WS:
            if self.pending_blank:
                # Node prints a blank line between a multi-line message and its
                # stack ("Error: write EPROTO ...\n\n    at WriteWrap...").
                return data.lstrip(b" \t").startswith(b"at ") and _indent(data) > self.head_indent
            return self.head_indent == 0 or _indent(data) > self.head_indent
        if self.prefix is not None:
            return data.startswith(self.prefix)
        if self.pending_blank:
            if not self.in_tb:
                return False
            if data.startswith(_CHAIN_BANNERS):
                return True
            if data.startswith(_TB):
                self.after_exc = False
                return True
            return False
        if data.startswith(_CONTINUATIONS):
            if data.startswith(_CHAIN_BANNERS):
                self.in_tb = True
            return True
        if self.in_tb:
            if data.startswith(_TB):
                self.after_exc = False
                return True
            if not self.after_exc:
                self.after_exc = True  # the exception line closing the traceback
                return True
        return False

    def add(self, data: bytes) -> None:
        self.n += 1
        self.nbytes += len(data)
        self.pending_blank = False


def _record_end(
    lines: list[bytes], s: int, limit: int, partial: frozenset[int]
) -> tuple[list[int], int]:
    """Slots of the record headed at ``s`` and the slot after it."""
    b = _Builder(lines[s])
    got = [s]
    k = s + 1
    while k < limit and k not in partial:
        d = lines[k]
        if not d.strip():
            if not b.pending_blank:
                b.pending_blank = True  # one blank may sit inside a message
                k += 1
                continue
            break
        if not b.continues(d):
            break
        b.add(d)
        got.append(k)
        k += 1
    return got, k


def _may_continue(lines: list[bytes], j: int) -> bool:
    """Could slot ``j`` belong to the record of slot ``j - 1``?  (Over-approximate.)"""
    d = lines[j]
    if not d.strip():
        nxt = lines[j + 1] if j + 1 < len(lines) else b""
        return nxt.startswith((*_CHAIN_BANNERS, _TB)) or (
            nxt[:1] in _WS and nxt.lstrip(b" \t").startswith(b"at ")
        )
    if d[:1] in _WS or d.startswith(_CONTINUATIONS):
        return True
    prev = lines[j - 1]
    if prev[:1] in _WS:
        return True  # maybe a traceback's closing exception line
    if d.startswith(_TB) and not prev.strip():
        return True
    return any(d.startswith(p) and prev.startswith(p) for p in _SAME_PREFIX)


def _head_of(lines: list[bytes], i: int, floor: int, partial: frozenset[int]) -> int:
    j = i
    while j > floor and i - j < MAX_RECORD_LINES and j not in partial and (j - 1) not in partial:
        if not _may_continue(lines, j):
            break
        j -= 1
    return j


def _is_trace(lines: list[bytes], slots: list[int]) -> bool:
    for k in slots[1:]:
        if lines[k].lstrip(b" \t").startswith(_TRACE_MARKS):
            return True
    # podman/containers-image nest each wrapped error one level deeper.
    indents = [_indent(lines[k]) for k in slots]
    return len(indents) > 2 and all(b > a for a, b in itertools.pairwise(indents))


def _segments(lines: list[bytes], slots: list[int]) -> list[list[int]]:
    """Split a section (``Events:`` and its table rows, as ``kubectl describe``
    prints) into one record per row; any other record stays whole."""
    head = lines[slots[0]].strip()
    if len(slots) <= 1 or not (head.endswith(b":") and len(head) <= 40) or _is_trace(lines, slots):
        return [slots]
    out = [[slots[0]]]
    sub = [lines[k] for k in slots[1:]]
    i = 0
    while i < len(sub):
        got, nxt = _record_end(sub, i, len(sub), frozenset())
        out.append([slots[1 + g] for g in got])
        i = max(nxt, i + 1)
    return out


class _Cutter:
    """Turns blocks into records around needle hits, carrying open records."""

    def __init__(self, st: LogStats, prefilter: bool) -> None:
        self.st = st
        self.prefilter = prefilter
        self.carry: list[bytes] = []
        self.carry_numbers: list[int] = []
        self.carry_partial: set[int] = set()

    def feed(self, blk: Block, final: bool = False) -> Iterator[Record]:
        nums = blk.numbers or list(range(blk.first, blk.first + len(blk.lines)))
        if self.carry:
            base = len(self.carry)
            lines = self.carry + blk.lines
            numbers = self.carry_numbers + nums
            partial = frozenset(self.carry_partial | {base + i for i in blk.partial})
        else:
            base = 0
            lines, numbers, partial = blk.lines, nums, blk.partial
        if not lines:
            return
        if self.prefilter:
            hits = _hit_lines(b"\n".join(self.carry), 0) if self.carry else []
            hits += _hit_lines(blk.joined(), base)
        else:
            hits = [i for i, d in enumerate(lines) if d.strip()]
        end_open = len(lines) if final else self._open_tail(lines, partial)
        pos = 0
        for h in hits:
            if h >= end_open:
                break
            if h < pos:
                continue
            if h in partial:
                self.st.candidates += 1
                yield Record(numbers[h], ((numbers[h], clean(lines[h])),))
                pos = h + 1
                continue
            s = _head_of(lines, h, pos, partial)
            while True:
                got, nxt = _record_end(lines, s, end_open, partial)
                if got[-1] >= h:
                    yield from self._emit(lines, numbers, got)
                    pos = nxt
                    break
                s = nxt
                while s < h and not lines[s].strip():
                    s += 1
        keep = max(pos, end_open)
        self.carry = lines[keep:]
        self.carry_numbers = numbers[keep:]
        self.carry_partial = {i - keep for i in partial if i >= keep}

    def _emit(self, lines: list[bytes], numbers: list[int], slots: list[int]) -> Iterator[Record]:
        for seg in _segments(lines, slots):
            if (
                self.prefilter
                and len(seg) != len(slots)
                and not any(has_needle(lines[k]) for k in seg)
            ):
                continue
            self.st.candidates += 1
            yield Record(numbers[seg[0]], tuple((numbers[k], clean(lines[k])) for k in seg))

    @staticmethod
    def _open_tail(lines: list[bytes], partial: frozenset[int]) -> int:
        last = len(lines) - 1
        if last in partial:
            return len(lines)  # windows stand alone
        # Trailing blank lines cannot be judged before the next line arrives
        # (a Python chain or a Node stack may follow): carry them with the
        # record before them.
        while last > 0 and not lines[last].strip() and last - 1 not in partial:
            last -= 1
        return _head_of(lines, last, 0, partial)


def iter_records(
    blocks: Iterable[Block], stats: LogStats | None = None, *, prefilter: bool = True
) -> Iterator[Record]:
    """Records (joined logical messages) of ``blocks``.

    With ``prefilter`` (the default), only records containing a needle of
    the message table are produced; without it, every record is.
    """
    st = stats if stats is not None else LogStats()
    cutter = _Cutter(st, prefilter)
    pending: Block | None = None
    for blk in blocks:
        if pending is not None:
            yield from cutter.feed(pending)
        pending = blk
    if pending is not None:
        yield from cutter.feed(pending, final=True)


def records_from_text(
    text: str | bytes, stats: LogStats | None = None, *, prefilter: bool = True
) -> Iterator[Record]:
    """Records of an in-memory text (the pure path of ``explain()``)."""
    data = text.encode("utf-8", "replace") if isinstance(text, str) else text
    st = stats if stats is not None else LogStats()
    yield from iter_records(iter_blocks(_Memory(data), st), st, prefilter=prefilter)


def records_from_stream(
    stream: SupportsRead,
    stats: LogStats | None = None,
    *,
    prefilter: bool = True,
    chunk_size: int = CHUNK,
) -> Iterator[Record]:
    """Records of a binary stream (a file, stdin), read in bounded memory."""
    st = stats if stats is not None else LogStats()
    yield from iter_records(iter_blocks(stream, st, chunk_size=chunk_size), st, prefilter=prefilter)


class _Memory:
    """``bytes`` as a :class:`SupportsRead` stream (``io.BytesIO`` without the ``io`` module)."""

    def __init__(self, data: bytes) -> None:
        self._data = memoryview(data)
        self._pos = 0

    def read(self, size: int = -1) -> bytes:
        end = len(self._data) if size < 0 else self._pos + size
        chunk = bytes(self._data[self._pos : end])
        self._pos += len(chunk)
        return chunk
