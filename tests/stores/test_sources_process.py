"""read_process against a real child process and against fake /proc trees."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from helpers import SRC
from trustdoctor.errors import SourceError, UsageError
from trustdoctor.sources.process import MAX_ENVIRON, parse_environ, read_process


@pytest.fixture
def child() -> Iterator[subprocess.Popen[bytes]]:
    env = {
        "TD_MARKER": "a value with = and spaces",
        "SSL_CERT_FILE": "/custom/ca.pem",
        "PATH": os.environ.get("PATH", "/usr/bin"),
    }
    proc = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)", "extra arg"],
        env=env,
        stdin=subprocess.DEVNULL,
    )
    time.sleep(0.2)
    try:
        yield proc
    finally:
        proc.kill()
        proc.wait()


def test_real_child(child: subprocess.Popen[bytes]) -> None:
    info = read_process(child.pid)
    assert info.pid == child.pid
    assert info.env["TD_MARKER"] == "a value with = and spaces"
    assert info.env["SSL_CERT_FILE"] == "/custom/ca.pem"
    assert "HOME" not in info.env  # only what it was given
    assert info.cmdline == [sys.executable, "-c", "import time; time.sleep(60)", "extra arg"]
    assert info.exe == os.path.realpath(sys.executable)
    assert info.root == Path(f"/proc/{child.pid}/root")
    assert os.path.samefile(info.root / "etc", "/etc")
    # ps is the oracle for the start time: elapsed seconds since start.
    if shutil.which("ps"):
        etimes = int(subprocess.check_output(["ps", "-o", "etimes=", "-p", str(child.pid)]))
        age = (dt.datetime.now(dt.UTC) - info.start_time).total_seconds()
        assert abs(age - etimes) <= 1.5, (age, etimes)
    assert info.start_time.tzinfo is not None
    assert abs((dt.datetime.now(dt.UTC) - info.start_time).total_seconds()) < 30


def test_exited_process_is_a_usage_error(child: subprocess.Popen[bytes]) -> None:
    child.kill()
    child.wait()
    with pytest.raises(UsageError) as ei:
        read_process(child.pid)
    assert str(child.pid) in str(ei.value) and "no such process" in str(ei.value)
    assert ei.value.exit_code == 2


@pytest.mark.parametrize("pid", [0, -5, True])
def test_bad_pids(pid: int) -> None:
    with pytest.raises(UsageError, match="not a process id"):
        read_process(pid)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run a probe as another user")
def test_permission_denied_is_a_source_error(child: subprocess.Popen[bytes]) -> None:
    """An unprivileged user may not read a root process's environment."""
    probe = (
        "import sys\n"
        "from trustdoctor.sources.process import read_process\n"
        "from trustdoctor.errors import TrustDoctorError\n"
        "try:\n"
        f"    read_process({child.pid})\n"
        "except TrustDoctorError as e:\n"
        "    print(type(e).__name__, e.exit_code, e)\n"
    )
    # The probe runs as nobody, so it needs an interpreter nobody may execute
    # (a pyenv under /root is not); the module needs only the standard library.
    python = next((p for p in ("/usr/bin/python3", sys.executable) if _runs_as_nobody(p)), None)
    if python is None:
        pytest.skip("no Python interpreter that user nobody can run")
    out = subprocess.run(
        [python, "-c", probe],
        user=65534,
        group=65534,
        env={"PYTHONPATH": str(SRC), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        cwd="/",
    )
    if "ModuleNotFoundError" in out.stderr or "Permission denied" in out.stderr:
        pytest.skip(f"nobody cannot import the package here: {out.stderr.strip()[-200:]}")
    line = out.stdout.strip()
    assert line.startswith("SourceError 3 "), (line, out.stderr)
    assert str(child.pid) in line and "permission denied" in line
    assert "\n" not in line


def _runs_as_nobody(python: str) -> bool:
    try:
        probe = [python, "-c", "import sys; assert sys.version_info >= (3, 11)"]
        res = subprocess.run(probe, user=65534, group=65534, capture_output=True, timeout=30)
    except OSError:
        return False
    return res.returncode == 0


# -- fake /proc trees -------------------------------------------------------------


def fake_proc(
    tmp: Path,
    pid: int = 4242,
    *,
    comm: str = "sleep",
    starttime: int = 1234,
    environ: bytes = b"A=1\0",
    btime: str | None = "1700000000",
    with_root: bool = True,
    stat: str | None = None,
) -> Path:
    proc = tmp / "proc"
    d = proc / str(pid)
    d.mkdir(parents=True)
    fields = ["S", "1", "1", "1", "0", "-1", "4194304"] + ["0"] * 12 + [str(starttime), "0", "0"]
    (d / "stat").write_text(
        stat if stat is not None else f"{pid} ({comm}) " + " ".join(fields) + "\n"
    )
    (d / "environ").write_bytes(environ)
    (d / "cmdline").write_bytes(b"sleep\x00100\x00")
    if with_root:
        (tmp / "rootfs" / "etc").mkdir(parents=True)
        (d / "root").symlink_to(tmp / "rootfs")
    stat_lines = (
        "cpu  1 2 3 4\n" + (f"btime {btime}\n" if btime is not None else "") + "processes 9\n"
    )
    (proc / "stat").write_text(stat_lines)
    return proc


def test_fake_proc_start_time_and_tricky_comm(tmp_path: Path) -> None:
    proc = fake_proc(tmp_path, comm="a) (b c) 9 9 9", starttime=250)
    info = read_process(4242, proc, clk_tck=100)
    assert info.start_time == dt.datetime.fromtimestamp(1700000000 + 2.5, tz=dt.UTC)
    assert info.cmdline == ["sleep", "100"]
    assert info.exe is None  # no exe link in the fake tree
    assert info.root == proc / "4242" / "root"


def test_environ_parsing_rules(tmp_path: Path) -> None:
    raw = b"A=1\0NOEQUALS\0=novar\0A=2\0B=x=y\0C=\0\xff\xfe=bin\xff\0"
    proc = fake_proc(tmp_path, environ=raw)
    env = read_process(4242, proc, clk_tck=100).env
    assert env["A"] == "1"  # first wins, like getenv
    assert env["B"] == "x=y" and env["C"] == ""
    assert "NOEQUALS" not in env and "" not in env
    assert env["\udcff\udcfe"] == "bin\udcff"  # undecodable bytes survive (surrogateescape)
    assert parse_environ(b"") == {}


def test_environ_over_the_limit(tmp_path: Path) -> None:
    proc = fake_proc(tmp_path, environ=b"X=" + b"a" * MAX_ENVIRON)
    with pytest.raises(SourceError, match="larger than"):
        read_process(4242, proc, clk_tck=100)


@pytest.mark.parametrize(
    "kw,exc,msg",
    [
        ({"btime": None}, SourceError, "no boot time"),
        ({"btime": "soon"}, SourceError, "no boot time"),
        ({"stat": "4242 (sleep S 1 1"}, SourceError, "unreadable /proc stat"),
        ({"stat": "4242 (sleep) S 1 1 1 0"}, SourceError, "unreadable /proc stat"),
        ({"stat": "4242 (a) b) S " + "x " * 30}, SourceError, "unreadable /proc stat"),
        ({"with_root": False}, UsageError, "no such process"),
    ],
)
def test_fake_proc_broken(
    tmp_path: Path, kw: dict[str, object], exc: type[Exception], msg: str
) -> None:
    proc = fake_proc(tmp_path, **kw)  # type: ignore[arg-type]
    with pytest.raises(exc) as ei:
        read_process(4242, proc, clk_tck=100)
    assert msg in str(ei.value) and "4242" in str(ei.value) and "\n" not in str(ei.value)


def test_missing_pid_dir_and_unreadable_files(tmp_path: Path) -> None:
    proc = fake_proc(tmp_path)
    with pytest.raises(UsageError, match="--pid 999: no such process"):
        read_process(999, proc)
    (proc / "4242" / "environ").unlink()
    (proc / "4242" / "environ").mkdir()  # reading a directory: EISDIR
    with pytest.raises(SourceError, match="cannot read its environment"):
        read_process(4242, proc, clk_tck=100)
