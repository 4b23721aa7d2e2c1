"""``trustdoctor`` entry point.

Each subcommand lives in its own module exposing ``HELP``, ``add_arguments(p)``
and ``run(args) -> int``; only the module of the command being run is imported,
so start-up stays fast.  Errors from the exception tree become one line on
stderr and the exit code the tree assigns (see docs/cli.md, "Exit codes").
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import importlib.util
import sys
from collections.abc import Sequence

from .. import __version__
from ..errors import TrustDoctorError

TYPE_CHECKING = False  # typing's constant, without importing typing (model/record.py)
if TYPE_CHECKING:
    from typing import Any

EXIT_TRUSTED = 0
EXIT_NOT_TRUSTED = 1
EXIT_USAGE = 2
EXIT_INCOMPLETE = 3

# command -> (module, one-line summary).  Order is the order shown in --help.
COMMANDS: dict[str, tuple[str, str]] = {
    "diagnose": (
        "trustdoctor.cli.diagnose",
        "connect to an endpoint and judge its chain for every client",
    ),
    "scan": (
        "trustdoctor.cli.scan",
        "diagnose a whole list of endpoints at once, with a summary by cause",
    ),
    "chain": ("trustdoctor.cli.chain", "judge certificates from files or stdin"),
    "stores": (
        "trustdoctor.cli.stores",
        "what each client trusts on a host, root, image or process",
    ),
    "explain": (
        "trustdoctor.cli.explain",
        "read a TLS error message or log and name the likely causes",
    ),
    "fix": ("trustdoctor.cli.fix", "plan, and with --apply carry out, the fix for a cause"),
    "bundle": ("trustdoctor.cli.bundle", "build the chain a server should present"),
    "lab": ("trustdoctor.cli.lab", "offline demo: reproduce every failure shape on loopback"),
    "serve": ("trustdoctor.cli.serve", "the incident assistant as a web page and JSON API"),
    "exporter": (
        "trustdoctor.cli.exporter",
        "Prometheus metrics of this node's trust, and /probe for endpoints",
    ),
}


def _help_width() -> int:
    """The width argparse would take from ``shutil.get_terminal_size()``
    (``$COLUMNS``, else the terminal on stdout, else 80), without importing
    ``shutil``: argparse imports it for every formatter it makes, once per
    ``add_argument``, and with it ``bz2``, ``lzma`` and ``fnmatch`` (3-5 ms of
    every command's start-up, -X importtime).  Asked once per process."""
    global _WIDTH
    if _WIDTH is None:
        import os

        columns = 0
        with contextlib.suppress(ValueError):
            columns = int(os.environ.get("COLUMNS", "0"))
        if columns <= 0:
            try:
                columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
            except (AttributeError, ValueError, OSError):  # no stdout, closed, not a terminal
                columns = 0
        _WIDTH = (columns or 80) - 2
    return _WIDTH


_WIDTH: int | None = None


class _Formatter(argparse.RawDescriptionHelpFormatter):
    def __init__(
        self,
        prog: str,
        indent_increment: int = 2,
        max_help_position: int = 24,
        width: int | None = None,
    ) -> None:
        super().__init__(
            prog, indent_increment, max_help_position, _help_width() if width is None else width
        )


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _Formatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> None:  # type: ignore[override]
        # One line and exit 2, as documented (argparse's own default is exit 2 too,
        # but it prints the whole usage block first).
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see --help)\n")


def _available(names: Sequence[str]) -> dict[str, tuple[str, str]]:
    out = {}
    for name in names:
        mod, summary = COMMANDS[name]
        if importlib.util.find_spec(mod) is not None:
            out[name] = (mod, summary)
    return out


def build_parser(command: str | None) -> argparse.ArgumentParser:
    """The parser for ``command`` alone (what ``trustdoctor COMMAND ...``
    needs), or, with ``None`` or a command not installed, for every command
    whose module is installed (the top-level help, usage errors)."""
    cmds = _available([command]) if command is not None else {}
    if not cmds:
        cmds = _available(list(COMMANDS))
    parser = _Parser(
        prog="trustdoctor",
        description="Diagnose TLS trust failures: server or client, which client, why, the fix.",
        epilog="start with: trustdoctor lab   (offline demo of every failure shape)\n\n"
        "exit codes: 0 trusted/ok, 1 not trusted (diagnosed), 2 usage or input error, "
        "3 could not complete",
    )
    parser.add_argument("--version", action="version", version=f"trustdoctor {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name, (mod, summary) in cmds.items():
        module = importlib.import_module(mod)
        p = sub.add_parser(name, help=summary, description=getattr(module, "DESCRIPTION", summary))
        module.add_arguments(p)
        p.set_defaults(_module=module)
    return parser


def _printable(text: str) -> str:
    # A file name may hold ESC sequences (or undecodable bytes): escaped, never
    # sent raw to the terminal.
    return "".join(c if c.isprintable() else ascii(c)[1:-1] for c in text)


def _terminate(signum: int, frame: object) -> None:
    # SIGTERM (systemd, `timeout`, CI) ends the command like Ctrl-C does, so
    # every ``finally`` runs: temporary roots, image extractions and lab
    # servers are removed (exit 143 = 128 + SIGTERM).
    raise SystemExit(143)


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    if any("\x00" in a for a in args_list):
        # Only reachable through main([...]): no path, host or value can hold a
        # NUL, and os/pathlib would raise ValueError deep inside a command.
        print("trustdoctor: an argument contains a NUL byte", file=sys.stderr)
        return EXIT_USAGE
    # `trustdoctor COMMAND ...` needs COMMAND's parser only (the other nine
    # cost ~5 ms of argparse set-up); anything else before it (--help,
    # --version, a typo) gets the whole parser and its help or error.
    command = args_list[0] if args_list and args_list[0] in COMMANDS else None
    parser = build_parser(command)
    try:
        args = parser.parse_args(args_list)
    except SystemExit as exc:  # --help, --version, usage errors
        return int(exc.code or 0)
    module = getattr(args, "_module", None)
    if module is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        return int(module.run(args))
    except TrustDoctorError as exc:
        print(f"trustdoctor: {_printable(exc.message)}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("trustdoctor: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_INCOMPLETE


def entry() -> None:
    # ``_signal``, the C module ``signal`` wraps in enums (signal.py builds
    # three IntEnums at import: ~1.3 ms of every command's start-up).
    try:
        import _signal as signals  # type: ignore[import-not-found]  # (no stub)
    except ImportError:  # pragma: no cover - an interpreter without it
        import signal as signals

    from . import process

    process.starting()
    signals.signal(signals.SIGTERM, _terminate)
    code = main()
    # What is alive now lives until exit: a collector turned back on by a
    # long-running command need not traverse it again at exit.
    import gc

    gc.freeze()
    sys.exit(code)
