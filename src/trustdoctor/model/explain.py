"""What ``trustdoctor explain`` found in a message or a log, as data.

Pure records: the matcher (:mod:`trustdoctor.explain.match`) builds them, the
renderers (``render/explain_text.py``, ``render/explain_json.py``) word them.
Reasons and questions are stable codes; English lives in the renderer.
"""

from __future__ import annotations

from collections.abc import Mapping

from .findings import Code
from .record import field, record


@record
class Cause:
    """One candidate cause of a recognised message.

    Attributes:
        code: the cause (a :class:`~trustdoctor.model.findings.Code`).
        reason: stable code of the one-line "why this message points here"
            (worded by the renderer, e.g. ``go-no-aia``).
    """

    code: Code
    reason: str


@record
class NextStep:
    """The exact command to run next.

    Attributes:
        argv: the command as arguments (``["trustdoctor", "diagnose", ...]``).
        runnable: False when ``argv`` holds a placeholder the user must fill
            (e.g. ``CHAIN.pem`` when the message named no host).
    """

    argv: tuple[str, ...]
    runnable: bool = True

    @property
    def command(self) -> str:
        """The command as one shell-safe line."""
        import shlex

        return " ".join(shlex.quote(a) for a in self.argv)


@record
class ExplainMatch:
    """One recognised failure (identical repeats are folded into ``count``).

    Attributes:
        pattern: id of the message-table entry that matched (``go.unknown-authority``).
        stack: what printed the message, most specific first (``kubelet``, ``curl``,
            ``go-tls``, ``openssl``...).
        library: the verifying library family (``go``, ``openssl``, ``gnutls``,
            ``java``, ``node``, ``rustls``, ``dotnet``, ``python``).
        client: the ``--client`` name for ``trustdoctor diagnose``.
        error_class: stable, stack-independent class (``unknown-issuer``...).
        host, port: the endpoint the message or its wrapper names (None if absent).
        servername: the name the client wanted when it differs from ``host``.
        authority: the candidate authority named in Go's "possibly because of" hint.
        hint: the hint text itself (Go), or the verify code text (OpenSSL).
        causes: ranked candidate causes, most likely first.
        narrows: False when this message does not tell its causes apart (e.g.
            Java's "PKIX path building failed"): the next command must decide.
        questions: stable codes of the questions that would separate the causes.
        next: the command to run next.
        line: 1-based line of the first occurrence.
        text: the matched text (truncated).
        count: how many times this same failure was seen.
        detail: extra facts read from the message (``wanted``, ``valid_for``,
            ``not_after``, ``now``, ``path``, ``verify_code``...).
    """

    pattern: str
    stack: str
    library: str
    client: str
    error_class: str
    host: str | None
    port: int | None
    servername: str | None
    authority: str | None
    hint: str | None
    causes: tuple[Cause, ...]
    narrows: bool
    questions: tuple[str, ...]
    next: NextStep
    line: int
    text: str
    count: int = 1
    detail: Mapping[str, str] = field(default_factory=dict)

    @property
    def key(self) -> tuple[object, ...]:
        """Identity used to fold repeats of the same failure (the same OpenSSL
        code read from its text and from its number is one failure)."""
        return (
            self.stack,
            self.error_class,
            self.detail.get("verify_code"),
            self.host,
            self.port,
            self.authority,
            self.hint,
        )


@record
class Unrecognised:
    """A line that looks TLS-related but matched no entry (shown, never guessed)."""

    line: int
    text: str


@record
class ExplainResult:
    """Everything ``explain`` found.

    Attributes:
        matches: distinct recognised failures in order of first appearance.
        lines: physical lines read.
        records: logical records examined (multi-line traces joined).
        unrecognised: a sample of TLS-looking records that matched nothing.
        unrecognised_count: how many such records there were in all.
        dropped: distinct failures not kept because the cap was reached.
    """

    matches: tuple[ExplainMatch, ...]
    lines: int = 0
    records: int = 0
    unrecognised: tuple[Unrecognised, ...] = ()
    unrecognised_count: int = 0
    dropped: int = 0

    @property
    def recognised(self) -> bool:
        return bool(self.matches)
