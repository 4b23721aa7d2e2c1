"""The log question (``trustdoctor explain``): error lines and logs to causes."""

from __future__ import annotations

from collections.abc import Iterable
from typing import BinaryIO

from ..errors import InputError
from ..model.explain import ExplainResult

__all__ = ["ExplainResult", "explain", "explain_stream"]

# Inputs up to this size are matched line by line without the needle
# prefilter: a pasted message ("hostname mismatch") must count even bare.
SMALL_INPUT = 64 * 1024


def explain(
    text: str | bytes | Iterable[str] | Iterable[bytes], *, prefilter: bool = False
) -> ExplainResult:
    """Recognise TLS error messages in ``text`` (a message, or log lines).

    A message given whole is matched line by line (``prefilter=False``); a
    log is better served by :func:`explain_stream`.
    """
    from ..explain.match import explain as match

    return match(text, prefilter=prefilter)


def explain_stream(stream: BinaryIO, name: str) -> ExplainResult:
    """Recognise TLS error messages in a log stream of any size (read in chunks).

    Up to :data:`SMALL_INPUT` bytes count as a pasted message (every line is
    looked at); beyond, only records holding a needle of the message table are.
    """
    from ..explain.match import explain_records
    from ..explain.records import LogStats, records_from_stream

    try:
        head = stream.read(SMALL_INPUT + 1)
        if len(head) <= SMALL_INPUT:
            return explain(head)
        stats = LogStats()
        return explain_records(records_from_stream(_Prefixed(head, stream), stats), stats)
    except OSError as exc:
        raise InputError(f"{name}: cannot read ({exc.strerror or exc})") from None


def explain_log(path: str) -> ExplainResult:
    """:func:`explain_stream` of the log file at ``path``."""
    from ..sources.files import open_log

    with open_log(path) as stream:
        return explain_stream(stream, path)


class _Prefixed:
    """A binary stream whose first bytes were already read."""

    def __init__(self, head: bytes, rest: BinaryIO) -> None:
        self.head = head
        self.rest = rest

    def read(self, n: int = -1) -> bytes:
        if self.head:
            out, self.head = self.head, b""
            return out
        return self.rest.read(n)
