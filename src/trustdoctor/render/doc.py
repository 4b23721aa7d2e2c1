"""A tiny styled-text document: what text renderers produce (pure).

Renderers build :class:`Doc` values; the CLI prints them plain (not a TTY,
``NO_COLOR``) or through rich (a colour terminal).  Keeping rich out of the
renderers keeps them pure and keeps start-up fast when output is piped.
"""

from __future__ import annotations

from ..model.record import field, mutable_record, record

# Styles are rich style names; plain output ignores them.
OK = "bold green"
BAD = "bold red"
WARN = "yellow"
DIM = "dim"
BOLD = "bold"
HEAD = "bold underline"


@record
class Span:
    """A piece of text with an optional style name (the terminal renderer maps names to colours)."""

    text: str
    style: str | None = None


@mutable_record
class Doc:
    """Lines of spans: what the text renderers build and the terminal or plain output prints."""

    lines: list[list[Span]] = field(default_factory=list)

    def line(self, *parts: str | Span) -> None:
        self.lines.append([p if isinstance(p, Span) else Span(p) for p in parts])

    def blank(self) -> None:
        if self.lines and self.lines[-1]:
            self.lines.append([])

    def plain(self) -> str:
        return "\n".join("".join(s.text for s in line).rstrip() for line in self.lines) + "\n"
