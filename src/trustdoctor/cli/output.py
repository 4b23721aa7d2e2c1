"""Printing: plain text when piped or NO_COLOR is set, rich on a colour terminal."""

from __future__ import annotations

import os
import sys

from ..render.doc import Doc

TYPE_CHECKING = False  # typing's constant, without importing typing (model/record.py)
if TYPE_CHECKING:
    from typing import Any, Protocol, TextIO

    class Report(Protocol):
        """What every API result offers a front end: its JSON document and its text."""

        def to_dict(self) -> dict[str, Any]: ...

        def to_text(self) -> Doc: ...


def use_color(stream: TextIO) -> bool:
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return stream.isatty()


def emit(doc: Doc, stream: TextIO | None = None) -> None:
    out = stream or sys.stdout
    if not use_color(out):
        out.write(doc.plain())
        return
    from rich.console import Console
    from rich.text import Text

    console = Console(file=out, highlight=False, soft_wrap=True)
    for line in doc.lines:
        text = Text()
        for span in line:
            text.append(span.text, style=span.style or "")
        console.print(text)


def emit_report(report: Report, fmt: str) -> None:
    """``--format json``: the result's own document; ``text``: its report for people."""
    if fmt == "json":
        from ..render.json import dumps

        sys.stdout.write(dumps(report.to_dict()))
    else:
        emit(report.to_text())
