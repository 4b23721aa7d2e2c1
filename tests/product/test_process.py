"""The console entry turns the cyclic collector off (start-up makes tens of
thousands of objects that live until exit and next to no garbage); commands
that handle an unbounded stream turn it back on, frozen past start-up; the
library, ``main()`` called in-process, leaves its host's collector alone.
The entry also defers ``inspect`` until a name of it is used."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
from pathlib import Path

import pytest

from trustdoctor.cli import process
from trustdoctor.cli.main import main

# Runs the console entry with argv, and reports the collector's state at exit.
_PROBE = """
import atexit, gc, sys
def report():
    state = (gc.isenabled(), gc.get_threshold()[0], gc.get_freeze_count())
    sys.stderr.write("\\ngc-state %s %s %s\\n" % state)
atexit.register(report)
sys.argv = ["trustdoctor", *sys.argv[1:]]
from trustdoctor.cli.main import entry
entry()
"""


def _state(tmp_path: Path, *argv: str) -> tuple[int, bool, int, int]:
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE, *argv],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        env={**os.environ, "NO_COLOR": "1"},
        timeout=120,
    )
    line = next(x for x in proc.stderr.splitlines() if x.startswith("gc-state "))
    _, enabled, threshold, frozen = line.split()
    return proc.returncode, enabled == "True", int(threshold), int(frozen)


def test_a_short_command_runs_without_the_collector(tmp_path: Path) -> None:
    code, enabled, _, _ = _state(tmp_path, "lab", "--list")
    assert code == 0 and enabled is False
    message = "x509: certificate signed by unknown authority"
    code, enabled, _, _ = _state(tmp_path, "explain", message)
    assert code == 0 and enabled is False


@pytest.mark.parametrize("kind", ["explain-file", "scan"])
def test_a_long_command_turns_it_on_frozen(tmp_path: Path, kind: str) -> None:
    if kind == "explain-file":
        log = tmp_path / "app.log"
        log.write_text("ok\nx509: certificate signed by unknown authority\n" * 50)
        argv = ["explain", "--file", str(log)]
    else:
        # A closed loopback port: every target fails to connect (exit 3).
        argv = ["scan", "--target", "127.0.0.1:1", "--timeout", "2"]
    code, enabled, threshold, frozen = _state(tmp_path, *argv)
    assert code in (0, 3)
    assert enabled is True
    assert threshold == process.LONG_RUNNING_THRESHOLD
    assert frozen > 10_000  # start-up's modules and classes, never traversed again


def test_main_in_process_leaves_the_collector_alone(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_text("x509: certificate signed by unknown authority\n")
    before = (gc.isenabled(), gc.get_threshold(), gc.get_freeze_count())
    assert main(["explain", "--file", str(log)]) == 0
    process.long_running()
    assert (gc.isenabled(), gc.get_threshold(), gc.get_freeze_count()) == before


# What a program gets from a deferred `inspect`, before and after first use.
_DEFERRED = """
import sys, threading
from trustdoctor.cli import process
process.starting()
import inspect
out = [type(sys.modules["inspect"]).__name__, "ast" in sys.modules]
from dataclasses import dataclass

@dataclass
class NoDoc:  # dataclasses writes its docstring with inspect.signature
    a: int

got = []
def touch():
    got.append(inspect.getmodule)
threads = [threading.Thread(target=touch) for _ in range(4)]
[t.start() for t in threads]
[t.join() for t in threads]
from inspect import signature
import inspect as again
out += [NoDoc.__doc__, str(signature(len)), len(set(got)), sys.modules["inspect"] is again,
        type(again).__name__, inspect.isclass(NoDoc), "ast" in sys.modules]
print(out)
"""


def test_inspect_is_imported_on_first_use() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", _DEFERRED], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == str(
        ["_Deferred", False, "NoDoc(a: int)", "(obj, /)", 1, True, "module", True, True]
    )


def test_a_command_runs_without_inspect(tmp_path: Path) -> None:
    probe = _PROBE.replace(
        "state = (",
        'state = ("ast" in sys.modules, type(sys.modules.get("inspect")).__name__, ',
    ).replace("gc-state %s %s %s", "gc-state %s %s %s %s %s")
    message = "x509: certificate signed by unknown authority"
    proc = subprocess.run(
        [sys.executable, "-c", probe, "explain", message],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    line = next(x for x in proc.stderr.splitlines() if x.startswith("gc-state "))
    assert line.split()[1:3] == ["False", "_Deferred"], proc.stderr[-500:]
