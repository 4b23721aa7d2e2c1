"""The command line's parser: one command's parser when a command is given,
the whole one otherwise, and help wrapped as argparse would wrap it (the
width is measured without ``shutil``: ``$COLUMNS``, else the terminal, else
80, minus 2)."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import pytest

from trustdoctor.cli import main as cli


def _run(*argv: str, columns: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    if columns is not None:
        env["COLUMNS"] = columns
    return subprocess.run(
        [sys.executable, "-m", "trustdoctor", *argv],
        capture_output=True,
        text=True,
        env={**env, "NO_COLOR": "1"},
        stdin=subprocess.DEVNULL,
        timeout=60,
    )


def _help(parser: argparse.ArgumentParser, command: str) -> str:
    sub = next(a for a in parser._actions if a.dest == "command")
    return sub.choices[command].format_help()  # type: ignore[index]


@pytest.mark.parametrize("columns", ["40", "60", "120", None, "0", "-5", "wide"])
@pytest.mark.parametrize("command", ["chain", "diagnose", "scan"])
def test_help_is_wrapped_as_argparse_wraps_it(
    monkeypatch: pytest.MonkeyPatch, columns: str | None, command: str
) -> None:
    """The same text as argparse's own formatter (which asks
    ``shutil.get_terminal_size()``) for every $COLUMNS, usable or not."""
    if columns is None:
        monkeypatch.delenv("COLUMNS", raising=False)
    else:
        monkeypatch.setenv("COLUMNS", columns)
    monkeypatch.setattr(cli, "_WIDTH", None)
    parser = cli.build_parser(command)
    ours = _help(parser, command)
    sub = next(a for a in parser._actions if a.dest == "command")
    sub.choices[command].formatter_class = argparse.RawDescriptionHelpFormatter  # type: ignore[index]
    assert ours == _help(parser, command)


def test_one_command_builds_one_parser() -> None:
    parser = cli.build_parser("chain")
    sub = next(a for a in parser._actions if a.dest == "command")
    assert list(sub.choices) == ["chain"]  # type: ignore[union-attr]
    every = cli.build_parser(None)
    sub = next(a for a in every._actions if a.dest == "command")
    assert list(sub.choices) == list(cli.COMMANDS)  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("argv", "code", "needle"),
    [
        (["--help"], 0, "exporter"),  # the top-level help lists every command
        (["--version", "diagnose"], 0, "trustdoctor "),
        (["bogus"], 2, "invalid choice: 'bogus'"),
        (["-x", "diagnose"], 2, "error:"),
    ],
)
def test_anything_before_a_command_gets_the_whole_parser(
    argv: list[str], code: int, needle: str, tmp_path: Path
) -> None:
    proc = _run(*argv)
    assert proc.returncode == code
    assert needle in proc.stdout + proc.stderr
