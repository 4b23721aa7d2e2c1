"""``trustdoctor scan [TARGETS_FILE|-] [--target T]...``: a whole inventory at once."""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Iterator
from typing import IO, TYPE_CHECKING, Any

from . import process

if TYPE_CHECKING:
    from ..api.scan import Scan, ScanResult, ScanSummary
    from ..sources.targetlist import InputProblem, TargetLine

DESCRIPTION = """Diagnose every endpoint of a list, as `diagnose` does each one alone: one
handshake per target, many at once, each distinct chain judged once for every
client found on this host (or in --root / --image / --pid), then a summary by
cause, side and client with the fixes de-duplicated (one server-side plan per
distinct chain, one client plan per missing root).

targets (one per line; blank lines and # comments ignored):
  host, host:port, [v6]:port, https://..., ldaps://, smtps://..., smtp:// etc. for
  STARTTLS, each optionally followed by servername=NAME connect-to=ADDR[:PORT]
  starttls=PROTO; or CSV with a header (target or host,port; servername,
  connect-to, starttls; other columns ignored); or JSON lines
  ({"target": "host:port", "servername": ...})

output (--format): text (a line per target, then the summary), jsonl (each line
the `diagnose --format json` object of one target, then a "scan-summary" line),
json (one document: results and summary), csv (a row per target), junit (a test
case per target); machine formats print the summary on stderr too.  A progress
bar is shown on a terminal (stderr).

examples:
  trustdoctor scan endpoints.txt
  trustdoctor scan inventory.csv --client go,java --format csv > report.csv
  kubectl get ingress -A -o json | jq -r '.items[].spec.tls[]?.hosts[]' | trustdoctor scan -
  trustdoctor scan --target reg.internal:5000 --target git.internal --client docker
  trustdoctor scan hosts.txt --concurrency 100 --timeout 5 --deadline 300 --format junit

exit codes: 0 every target trusted, 1 some target not trusted or not reachable,
2 usage or input error (a bad line with --strict, no target), 3 every target
failed to connect or --deadline ended the scan, 130/143 interrupted (the summary
so far is printed)
"""


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {text!r}")
    return value


def _positive(text: str) -> float:
    import math

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, not {text!r}")
    return value


def _processes(text: str) -> int | None:
    return None if text == "auto" else _positive_int(text)


def add_arguments(p: argparse.ArgumentParser) -> None:
    from ..api.scan import AUTO_PROCESSES, DEFAULT_CONCURRENCY, POOL_AFTER
    from .aiaopts import add_aia_arguments
    from .netopts import (
        add_endpoint_judging_arguments,
        add_family_arguments,
        add_network_arguments,
    )
    from .trustopts import add_server_argument, add_trust_context_arguments

    p.add_argument(
        "targets_file",
        nargs="?",
        metavar="TARGETS_FILE",
        help="the targets, one per line (or CSV, or JSON lines); - for stdin",
    )
    p.add_argument(
        "--target",
        action="append",
        default=[],
        metavar="T",
        help="a target (as a line of the file: 'host:port servername=NAME'); repeatable",
    )
    p.add_argument(
        "--concurrency",
        type=_positive_int,
        default=DEFAULT_CONCURRENCY,
        metavar="N",
        help=f"targets in flight at once (default {DEFAULT_CONCURRENCY})",
    )
    p.add_argument(
        "--processes",
        type=_processes,
        default=None,
        metavar="N|auto",
        help="handshake worker processes, once past the first "
        f"{POOL_AFTER} targets, or at once for a larger targets file (default auto: "
        f"one per CPU this process may use, at most {AUTO_PROCESSES}; 1: all in this process)",
    )
    add_network_arguments(
        p,
        timeout_help="budget per target: DNS, connect, proxy, STARTTLS, handshake (default 10)",
        proxy_help="HTTP CONNECT proxy http://[user:pass@]host:port; '' for none "
        "(default: HTTPS_PROXY/https_proxy unless NO_PROXY matches)",
    )
    p.add_argument(
        "--rate", type=_positive, metavar="N", help="at most N new connections per second"
    )
    p.add_argument(
        "--deadline",
        type=_positive,
        metavar="SECONDS",
        help="for the whole scan: targets not started by then are not scanned (exit 3)",
    )
    p.add_argument(
        "--strict", action="store_true", help="stop at the first bad or duplicate line (exit 2)"
    )
    add_family_arguments(p)
    add_endpoint_judging_arguments(p)
    p.add_argument("--format", choices=("text", "jsonl", "json", "csv", "junit"), default="text")
    add_server_argument(p)
    add_trust_context_arguments(p)
    add_aia_arguments(p, default_fetch=False)


def run(args: argparse.Namespace) -> int:
    process.long_running()  # a stream of targets: the collector on
    from ..api.context import parse_time
    from ..api.scan import scan_endpoints
    from ..errors import UsageError
    from .aiaopts import aia_options_from_args
    from .trustopts import options_from_args

    if args.targets_file is None and not args.target:
        raise UsageError("give a targets file, - for stdin, or --target (see --help)")
    with contextlib.ExitStack() as stack:
        stream, total, lines = _open(args.targets_file, stack)
        the_scan = scan_endpoints(
            _targets(args.target, stream, args.targets_file),
            clients=args.client,
            options=options_from_args(args),
            timeout=args.timeout,
            concurrency=args.concurrency,
            processes=args.processes,
            rate=args.rate,
            deadline=args.deadline,
            proxy=args.proxy,
            family=args.family,
            at=parse_time(args.at) if args.at else None,
            aia=aia_options_from_args(args, default_fetch=False),
            intermediates=args.intermediates,
            strict=args.strict,
            expected=lines + len(args.target) if lines is not None else None,
        )
        out = _Output.make(args.format, stack)
        code = _drive(the_scan, out, total + len(args.target) if total is not None else None)
    return code


def _open(
    path: str | None, stack: contextlib.ExitStack
) -> tuple[IO[bytes] | None, int | None, int | None]:
    """The targets file (binary, read lazily); its line count for the progress
    bar (only for a regular file on a terminal: counting reads it once); and
    for a regular file, its lines as far as its first megabyte tells (how
    large a scan to expect: when the handshake workers start)."""
    from ..errors import InputError

    if path is None:
        return None, 0, 0
    if path == "-":
        return sys.stdin.buffer, None, None
    import os
    import stat

    try:
        # Non-blocking open: a named pipe nobody writes to reads as empty
        # instead of hanging (a pipe with a writer, <(command), reads as usual).
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        os.set_blocking(fd, True)
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            os.close(fd)
            raise IsADirectoryError(21, "Is a directory")
        stream = stack.enter_context(os.fdopen(fd, "rb"))
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from None
    total = lines = None
    if stat.S_ISREG(mode):
        try:
            if sys.stderr.isatty():
                chunks = iter(lambda: stream.read(1 << 20), b"")
                total = lines = sum(chunk.count(b"\n") for chunk in chunks)
            else:
                lines = stream.read(1 << 20).count(b"\n")
            stream.seek(0)
        except OSError as exc:  # EIO on a failing disk, a vanished mount...
            raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from None
    return stream, total, lines


def _targets(
    given: list[str], stream: IO[bytes] | None, name: str | None
) -> Iterator[str | TargetLine | InputProblem]:
    from ..errors import InputError
    from ..sources.targetlist import read_target_lines

    yield from given
    if stream is not None:
        try:
            yield from read_target_lines(stream, "-" if name == "-" else str(name))
        except OSError as exc:  # EIO mid-file, a vanished mount...
            raise InputError(f"{name}: cannot read ({exc.strerror or exc})") from None


def _drive(the_scan: Scan, out: _Output, total: int | None) -> int:
    from ..sources.targetlist import InputProblem

    progress = _Progress.make(total)
    code: int | None = None
    hidden = 0
    with the_scan, progress:
        try:
            for item in the_scan:
                if isinstance(item, InputProblem):
                    if out.shown_problems < MAX_PROBLEM_LINES:
                        progress.note(f"trustdoctor: {item.message}")
                        out.shown_problems += 1
                    else:
                        hidden += 1
                    out.problem(item)
                    continue
                out.result(item)
                progress.advance()
        except KeyboardInterrupt:
            the_scan.stop("interrupted")
            code = 130
        except SystemExit as exc:  # SIGTERM (cli/main.py): end like Ctrl-C does
            the_scan.stop("interrupted")
            code = int(exc.code or 143) if isinstance(exc.code, int) else 143
        summary = the_scan.summary()
    if code is None and summary.scanned == 0 and summary.stopped is None and not summary.problems:
        from ..errors import UsageError

        raise UsageError("no target to scan (only blank lines and comments)")
    if hidden:
        print(f"trustdoctor: {hidden} more input problem(s) not shown", file=sys.stderr)
    out.close(summary)
    return summary.exit_code if code is None else code


class _Progress:
    """A rich progress bar on stderr, only on a terminal (nothing otherwise)."""

    def __init__(self, bar: Any = None, task: Any = None) -> None:
        self.bar = bar
        self.task = task

    @classmethod
    def make(cls, total: int | None) -> _Progress:
        import os

        if not sys.stderr.isatty() or os.environ.get("TERM") == "dumb":
            return cls()
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        bar = Progress(
            TextColumn("scanning"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            transient=True,
            # Results on the same terminal go above the bar; to a pipe or a
            # file they must stay on stdout.
            redirect_stdout=sys.stdout.isatty(),
        )
        return cls(bar, bar.add_task("scan", total=total, rate=""))

    def __enter__(self) -> _Progress:
        if self.bar is not None:
            self.bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()

    def advance(self) -> None:
        if self.bar is None:
            return
        self.bar.advance(self.task)
        speed = self.bar.tasks[0].speed if self.bar.tasks else None
        self.bar.update(self.task, rate=f"{speed:,.0f}/s" if speed else "")

    def note(self, text: str) -> None:
        if self.bar is not None:
            self.bar.console.print(text, markup=False, highlight=False)
        else:
            print(text, file=sys.stderr)


# Input problems shown on stderr one by one; the rest are counted (a wrong file
# of a million lines must not print a million lines).
MAX_PROBLEM_LINES = 20


class _Output:
    """Where results go, by format."""

    def __init__(self, fmt: str, spool: IO[str] | None = None) -> None:
        self.fmt = fmt
        self.spool = spool
        self.first = True
        self.started = False
        self.counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        self.writer: Any = None
        self.shown_problems = 0

    @classmethod
    def make(cls, fmt: str, stack: contextlib.ExitStack) -> _Output:
        spool = None
        if fmt == "junit":
            # The suite's counts open the document: cases wait in a file, not in memory.
            import tempfile

            spool = stack.enter_context(
                tempfile.TemporaryFile("w+", encoding="utf-8", prefix="trustdoctor-scan-")  # noqa: SIM115
            )
        return cls(fmt, spool)

    def _start(self) -> None:
        """The document's opening, written with the first result or at the end
        (an input that is no list at all leaves stdout empty)."""
        if self.started:
            return
        self.started = True
        if self.fmt == "csv":
            import csv

            from ..render.scan import CSV_COLUMNS

            self.writer = csv.writer(sys.stdout, lineterminator="\n")
            self.writer.writerow(CSV_COLUMNS)
        elif self.fmt == "json":
            sys.stdout.write('{"schema_version": 1, "kind": "scan", "results": [')

    def result(self, item: ScanResult) -> None:
        self._start()
        if self.fmt == "text":
            from ..render.scan import result_line
            from .output import emit

            emit(result_line(item.report))
            return
        if self.fmt == "jsonl":
            sys.stdout.write(item.json_line())
            return
        if self.fmt == "json":
            sys.stdout.write(("\n" if self.first else ",\n") + item.json_line().rstrip("\n"))
            self.first = False
            return
        doc = item.document()
        if self.fmt == "csv":
            from ..render.scan import csv_row

            self.writer.writerow(csv_row(doc))
        else:
            from ..render.scan import junit_case

            assert self.spool is not None
            self.spool.write(junit_case(doc))
            self.counts["tests"] += 1
            if doc.get("error"):
                self.counts["errors"] += 1
            elif not doc["verdict"]["trusted"]:
                self.counts["failures"] += 1

    def problem(self, item: InputProblem) -> None:
        if self.fmt == "junit":
            from ..render.scan import junit_problem

            assert self.spool is not None
            self.spool.write(junit_problem(item))
            self.counts["tests"] += 1
            self.counts["skipped"] += 1

    def close(self, summary: ScanSummary) -> None:
        from .output import emit

        self._start()
        if self.fmt == "text":
            sys.stdout.write("\n")
            emit(summary.to_text())
            sys.stdout.flush()
            return
        if self.fmt == "jsonl":
            from ..render.scan import dumps_line

            sys.stdout.write(dumps_line(summary.to_dict()))
        elif self.fmt == "json":
            import json

            sys.stdout.write(("\n" if not self.first else "") + '], "summary": ')
            sys.stdout.write(json.dumps(summary.to_dict(), default=str) + "}\n")
        elif self.fmt == "junit":
            from ..render.scan import junit_head, junit_tail

            assert self.spool is not None
            c = self.counts
            sys.stdout.write(
                junit_head(c["tests"], c["failures"], c["errors"], c["skipped"],
                           summary.elapsed_s, summary.at.isoformat())
            )  # fmt: skip
            self.spool.seek(0)
            for chunk in iter(lambda: self.spool.read(1 << 16), ""):  # type: ignore[union-attr]
                sys.stdout.write(chunk)
            sys.stdout.write(junit_tail(summary))
        sys.stdout.flush()
        emit(summary.to_text(), sys.stderr)
