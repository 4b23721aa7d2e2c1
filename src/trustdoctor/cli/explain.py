"""``trustdoctor explain``: read a TLS error message or a log, name the likely
causes and the exact next command."""

from __future__ import annotations

import argparse
import importlib.util
import sys
from typing import TYPE_CHECKING

from . import process

if TYPE_CHECKING:
    from ..model.explain import ExplainResult

DESCRIPTION = """Read a TLS error message or a whole log and name the likely causes.

Recognises the messages of Go (crypto/x509, crypto/tls and the programs built
on it: docker, containerd, kubelet, kubectl, helm, terraform, vault, git-lfs),
OpenSSL (texts and numeric verify codes), curl, git (GnuTLS), Python (ssl,
urllib, urllib3, requests, httpx, aiohttp, pip), Java, Node, rustls and .NET.
For each failure: the stack that printed it, the error class, the endpoint,
Go's candidate authority, the ranked causes with why, the questions that tell
them apart, and the exact `trustdoctor diagnose` command to run next.

examples:
  trustdoctor explain 'x509: certificate signed by unknown authority'
  kubectl describe pod web-0 | trustdoctor explain
  trustdoctor explain --file /var/log/syslog --format json
  trustdoctor explain --run 'Get "https://reg.example/v2/": x509: certificate signed by unknown
  authority'

exit codes: 0 something recognised, 1 nothing recognised, 2 usage or input
error; with --run, the exit code of the diagnosis (3 if it could not run).
"""

MAX_RUNS = 3


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "message",
        nargs="*",
        metavar="MESSAGE",
        help="the error message (quote it); '-' or nothing with a pipe reads stdin",
    )
    p.add_argument("--file", "-f", metavar="LOG", help="read a log file of any size (streamed)")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument(
        "--run",
        action="store_true",
        help="go on and run the suggested `trustdoctor diagnose` (at most 3 distinct ones)",
    )


def _result(args: argparse.Namespace) -> ExplainResult:
    from ..api.logs import explain, explain_log, explain_stream
    from ..errors import UsageError

    message = [m for m in args.message if m != "-"]
    want_stdin = "-" in args.message
    if sum(bool(x) for x in (message, want_stdin, args.file)) > 1:
        raise UsageError(
            "give the message as arguments, '-' for stdin, or --file LOG — only one of them"
        )
    if message:
        return explain(" ".join(message))
    process.long_running()  # a log of any length: the collector on
    if args.file:
        return explain_log(args.file)
    if not want_stdin and sys.stdin.isatty():
        raise UsageError("no message: give it as arguments, pipe it on stdin, or use --file LOG")
    return explain_stream(sys.stdin.buffer, "stdin")


def run(args: argparse.Namespace) -> int:
    from ..errors import UsageError

    if args.run and args.format == "json":
        raise UsageError(
            "--run prints the diagnosis as text; drop --format json (or run the 'next' command)"
        )
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(errors="replace")
    result = _result(args)
    if args.format == "json":
        from ..render.explain_json import render_json

        sys.stdout.write(render_json(result))
    else:
        from ..render.explain_text import render_text
        from .output import emit

        emit(render_text(result))
    if not result.matches:
        return 1
    if args.run:
        return _run_next(result)
    return 0


def _run_next(result: ExplainResult) -> int:
    from .main import COMMANDS, main

    steps: list[tuple[str, ...]] = []
    blocked: list[str] = []
    for m in result.matches:
        if not m.next.runnable:
            blocked.append(m.next.command)
        elif m.next.argv not in steps:
            steps.append(m.next.argv)
    if not steps:
        print(
            f"trustdoctor: --run: the message names no endpoint; fill in and run: {blocked[0]}",
            file=sys.stderr,
        )
        return 3
    rc = 0
    for argv in steps[:MAX_RUNS]:
        command = argv[1]
        module = COMMANDS.get(command, ("", ""))[0]
        if not module or importlib.util.find_spec(module) is None:
            print(
                f"trustdoctor: --run: the '{command}' command is not available in this build",
                file=sys.stderr,
            )
            return 3
        print(f"== running: {' '.join(argv)}", flush=True)
        rc = max(rc, main(list(argv[1:])))
    if len(steps) > MAX_RUNS:
        print(
            f"trustdoctor: --run: ran the first {MAX_RUNS} of {len(steps)} distinct commands",
            file=sys.stderr,
        )
    return rc
