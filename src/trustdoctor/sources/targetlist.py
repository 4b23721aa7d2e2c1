"""A list of endpoints to scan, read line by line (``trustdoctor scan FILE``).

Three forms, told apart by the first line that is neither blank nor a comment:

* **lines** (the default): ``TARGET [servername=NAME] [connect-to=ADDR[:PORT]]
  [starttls=PROTO]`` with ``TARGET`` anything ``diagnose`` takes (``host``,
  ``host:port``, ``[v6]:port``, ``https://…``, ``smtp://…`` for STARTTLS);
  ``#`` starts a comment (at the start of a line or after a blank);
* **CSV with a header** (the first line holds a comma and a ``target`` or
  ``host`` column): columns ``target`` (or ``host`` and ``port``),
  ``servername``, ``connect-to``/``connect_to``, ``starttls``; other columns
  (owner, team...) are ignored, as inventories carry them;
* **JSON lines** (the first line starts with ``{``): one object per line with
  the same keys.

Nothing is held: lines are read, parsed and handed on one at a time, so the
input may be any length.  A line that cannot be read as a target is an
:class:`InputProblem` naming its line; the scan goes on (``--strict`` stops
it).  Duplicates are found by :class:`Seen`.

A file that is no list at all — binary, or a PEM block (a certificate, a
private key) from its first line — is one :class:`~trustdoctor.errors.InputError`
before anything is scanned.  A PEM block further down is skipped whole, and
no message ever repeats a run of base64 (a key's body): a targets file given
by mistake must not print what it holds.
"""

from __future__ import annotations

import bisect
import contextlib
import csv
import heapq
import json
import re
from array import array
from collections.abc import Hashable, Iterable, Iterator, Mapping
from typing import IO

from ..errors import InputError, UsageError
from ..model.record import record
from ..model.target import Target, parse_target

# A line longer than this is no target (a DNS name is at most 253 octets, a
# URL with columns a few hundred): it is skipped without being held whole.
MAX_LINE = 16 * 1024

# Column names (lower case) and the keyword each one fills.
_KEYS: Mapping[str, str] = {
    "target": "target",
    "url": "target",
    "endpoint": "target",
    "host": "host",
    "port": "port",
    "servername": "servername",
    "sni": "servername",
    "connect-to": "connect_to",
    "connect_to": "connect_to",
    "starttls": "starttls",
}


@record
class TargetLine:
    """One target of the list.

    Attributes:
        target: the parsed target.
        text: the line (or ``--target`` value) as written.
        source: where it came from (a file name, ``-`` for stdin, ``--target``).
        line: the 1-based line number (``None`` for ``--target`` and for
            targets given to the API directly).
    """

    target: Target
    text: str
    source: str = "--target"
    line: int | None = None

    @property
    def where(self) -> str:
        return _where(self.source, self.line)


@record
class InputProblem:
    """A line that is not scanned, and why.

    Attributes:
        code: ``bad-line`` (not a target), ``duplicate`` (a target already
            listed), ``too-long``, ``not-utf8``.
        message: one line saying what is wrong.
        text: the line (shortened) as written.
        source: the file name, ``-`` or ``--target``.
        line: the 1-based line number, if any.
    """

    code: str
    message: str
    text: str
    source: str = "--target"
    line: int | None = None

    @property
    def where(self) -> str:
        return _where(self.source, self.line)

    def to_dict(self) -> dict[str, object]:
        return {
            "code": self.code,
            "message": self.message,
            "text": self.text,
            "source": self.source,
            "line": self.line,
        }


def _where(source: str, line: int | None) -> str:
    """``file:line`` as messages name a line, or the source alone."""
    return f"{source}:{line}" if line is not None else source


def parse_spec(
    target: str,
    *,
    servername: str | None = None,
    connect_to: str | None = None,
    starttls: str | None = None,
) -> Target:
    """A target and its columns (empty values are absent)."""
    return parse_target(
        target,
        servername=servername or None,
        connect_to=connect_to or None,
        starttls=starttls or None,
    )


def parse_line(text: str) -> Target | None:
    """One line of the plain form: ``None`` for a blank or comment line.

    Raises:
        UsageError: the line is not a target (the message says why).
    """
    body = _strip_comment(text).strip()
    if not body:
        return None
    first, *rest = body.split()
    cols: dict[str, str] = {}
    for token in rest:
        key, eq, value = token.partition("=")
        name = _KEYS.get(key.lower())
        if not eq or name is None or name in ("target", "host", "port"):
            raise UsageError(
                f"unexpected {token!r} after the target (columns: servername=NAME, "
                "connect-to=ADDRESS[:PORT], starttls=PROTO)"
            )
        if name in cols:
            raise UsageError(f"{key}= given twice")
        cols[name] = value
    return parse_spec(first, **cols)


def _strip_comment(text: str) -> str:
    if text.lstrip().startswith("#"):
        return ""
    cut = text.find(" #")
    tab = text.find("\t#")
    cuts = [c for c in (cut, tab) if c >= 0]
    return text[: min(cuts)] if cuts else text


def _from_mapping(row: Mapping[str, object]) -> Target:
    """A CSV row or JSON object (keys already mapped by :data:`_KEYS`) → target."""
    fields: dict[str, str] = {}
    for k, v in row.items():
        name = _KEYS.get(str(k).strip().lower())
        if name is None or v is None:
            continue
        if not isinstance(v, str | int) or isinstance(v, bool):
            raise UsageError(f"{k!r} must be a string, not {type(v).__name__}")
        fields[name] = str(v).strip()
    target = fields.pop("target", "")
    host, port = fields.pop("host", ""), fields.pop("port", "")
    if not target and host:
        if port and not port.isdigit():
            raise UsageError(f"port {port!r} is not a number")
        target = f"[{host}]:{port}" if port and ":" in host else f"{host}:{port}" if port else host
    elif port:
        raise UsageError("give the port in the target, or use host and port columns")
    if not target:
        raise UsageError("no target (a 'target' or 'host' value)")
    return parse_spec(target, **fields)


def read_target_lines(stream: IO[bytes], source: str) -> Iterator[TargetLine | InputProblem]:
    """Targets and problems, in order, from a binary stream (a file, stdin).

    The form is chosen by the first meaningful line (module doc).  Nothing is
    held but the current line and the CSV header.

    Raises:
        InputError: the first meaningful line shows the input is no list of
            targets (binary, or a PEM block).
    """
    form: str | None = None
    header: list[str] = []
    pem: str | None = None  # inside a PEM block: its label
    for n, raw in _lines(stream):
        text = None
        if raw is not None and b"\x00" not in raw:
            with contextlib.suppress(UnicodeDecodeError):
                text = raw.decode("utf-8")
        if form is None and (raw is None or text is None):
            what = "a line over 16 KiB" if raw is None else "binary data"
            raise InputError(f"{source}: not a list of targets: line {n} is {what}")
        if raw is None:
            yield InputProblem(
                "too-long",
                f"{source}:{n}: a line longer than {MAX_LINE // 1024} KiB is no target; skipped",
                "",
                source,
                n,
            )
            continue
        if text is None:
            yield InputProblem("not-utf8", f"{source}:{n}: not UTF-8; skipped", "", source, n)
            continue
        text = text.rstrip("\r\n").lstrip("\ufeff") if n == 1 else text.rstrip("\r\n")
        stripped = text.strip()
        if pem is not None:
            if stripped.startswith("-----END"):
                pem = None
            continue
        if stripped.startswith("-----BEGIN"):
            pem = stripped.strip("-").removeprefix("BEGIN ").strip() or "PEM"
            label = pem if len(pem) < 40 else "PEM"
            if form is None:
                raise InputError(
                    f"{source}: not a list of targets: line {n} starts a PEM block ({label}); "
                    "give host[:port] lines, CSV or JSON lines"
                )
            yield InputProblem(
                "bad-line",
                f"{source}:{n}: a PEM block ({label}) is no target; skipped to its END line",
                label,
                source,
                n,
            )
            continue
        if not stripped or stripped.startswith("#"):
            continue
        if form is None:
            form = _form_of(stripped)
            if form == "csv":
                header = [h.strip().lower() for h in next(csv.reader([stripped]))]
                continue
        try:
            target = _parse_in_form(form, stripped, header)
        except UsageError as exc:
            message = redact(f"{source}:{n}: {exc.message}")
            yield InputProblem("bad-line", message, _show(text), source, n)
            continue
        except (ValueError, csv.Error) as exc:
            what = "JSON" if form == "jsonl" else "CSV"
            message = redact(f"{source}:{n}: not {what}: {exc}")
            yield InputProblem("bad-line", message, _show(text), source, n)
            continue
        if target is not None:
            yield TargetLine(target, stripped, source, n)


def _form_of(first: str) -> str:
    if first.startswith("{"):
        return "jsonl"
    if "," in first:
        cols = {c.strip().lower() for c in next(csv.reader([first]))}
        if cols & {"target", "host", "url", "endpoint"}:
            return "csv"
    return "lines"


def _parse_in_form(form: str, text: str, header: list[str]) -> Target | None:
    if form == "jsonl":
        obj = json.loads(text)
        if not isinstance(obj, dict):
            raise UsageError('a JSON line must be an object such as {"target": "host:port"}')
        return _from_mapping(obj)
    if form == "csv":
        row = next(csv.reader([text]))
        if len(row) > len(header):
            raise UsageError(f"{len(row)} fields for {len(header)} columns")
        return _from_mapping(dict(zip(header, row, strict=False)))
    return parse_line(text)


def _lines(stream: IO[bytes]) -> Iterator[tuple[int, bytes | None]]:
    """Numbered lines; ``None`` for a line over :data:`MAX_LINE` (its rest is
    read and dropped, never held)."""
    n = 0
    while True:
        raw = stream.readline(MAX_LINE + 1)
        if not raw:
            return
        n += 1
        if len(raw) > MAX_LINE and not raw.endswith(b"\n"):
            while True:  # drop the rest of this line
                more = stream.readline(MAX_LINE)
                if not more or more.endswith(b"\n"):
                    break
            yield n, None
            continue
        yield n, raw


# A run of base64 as a key's (or a certificate's) body has it: long, mixed
# case or with + and /.  Host names are lower case A-labels, far from it.
_BASE64_RUN = re.compile(r"[A-Za-z0-9+/=]{24,}")


def redact(text: str) -> str:
    """``text`` without its runs of base64 (never repeat what may be a key)."""

    def hide(m: re.Match[str]) -> str:
        run = m.group(0)
        looks = "+" in run or "/" in run or (run != run.lower() and run != run.upper())
        return "[…]" if looks else run

    return _BASE64_RUN.sub(hide, text)


def _show(text: str | bytes, limit: int = 120) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    text = redact(text.rstrip("\r\n"))
    shown = "".join(c if c.isprintable() else "?" for c in text[:limit])
    return shown + ("…" if len(text) > limit else "")


def from_items(
    items: Iterable[str | Target | TargetLine | InputProblem],
) -> Iterator[TargetLine | InputProblem]:
    """Targets given to the API: strings are lines of the plain form."""
    for item in items:
        if isinstance(item, TargetLine | InputProblem):
            yield item
        elif isinstance(item, Target):
            yield TargetLine(item, item.display, "--target")
        else:
            try:
                t = parse_line(item)
            except UsageError as exc:
                yield InputProblem("bad-line", redact(f"--target: {exc.message}"), _show(item))
                continue
            if t is None:
                yield InputProblem("bad-line", "--target: an empty target", _show(item))
                continue
            yield TargetLine(t, item.strip())


class Seen:
    """Which targets (or other hashable values) were met already, in 8 bytes each.

    Exact duplicate detection over a stream needs to remember every target;
    this keeps a 64-bit hash of each in sorted ``array('q')`` runs (merged
    as they grow, like an LSM tree: O(log² n) to look up, O(log n)
    amortised to add) instead of the targets themselves, so 100,000 targets
    take ~0.8 MB.  Two different targets whose hashes collide (probability
    ~n²/2⁶⁵) would be taken for duplicates.
    """

    _BATCH = 4096

    def __init__(self) -> None:
        self._recent: set[int] = set()
        self._runs: list[array[int]] = []
        self.count = 0

    def add(self, item: Hashable) -> bool:
        """Remember ``item``; ``False`` if it was met before."""
        h = hash(item)
        if h in self._recent or any(_contains(r, h) for r in self._runs):
            return False
        self._recent.add(h)
        self.count += 1
        if len(self._recent) >= self._BATCH:
            run = array("q", sorted(self._recent))
            self._recent = set()
            while self._runs and len(self._runs[-1]) <= len(run):
                run = array("q", heapq.merge(self._runs.pop(), run))
            self._runs.append(run)
        return True


def _contains(run: array[int], h: int) -> bool:
    i = bisect.bisect_left(run, h)
    return i < len(run) and run[i] == h


__all__ = [
    "InputProblem",
    "Seen",
    "TargetLine",
    "from_items",
    "parse_line",
    "read_target_lines",
]
