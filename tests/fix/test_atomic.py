"""The one atomic writer (sources/atomic.py) behind fix --apply, bundle --out and the
AIA cache: mode, symlinks, backups, failures and leftovers of killed writers."""

from __future__ import annotations

import datetime as dt
import os
import stat
import subprocess
from pathlib import Path

import pytest

from trustdoctor.sources.atomic import TMP_MARK, WriteError, atomic_write, remove_stale


def _dead_pid() -> int:
    p = subprocess.Popen(["true"])
    p.wait()
    return p.pid


def _names(d: Path) -> list[str]:
    return sorted(p.name for p in d.iterdir())


def test_mode_is_exact_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o077)
    try:
        atomic_write(tmp_path / "a.pem", b"A", mode=0o644)
        atomic_write(tmp_path / "b", b"B", mode=0o600)
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "a.pem").stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "b").stat().st_mode) == 0o600
    assert _names(tmp_path) == ["a.pem", "b"]


def test_replaced_by_rename_mode_preserved_or_set(tmp_path: Path) -> None:
    f = tmp_path / "bundle.crt"
    f.write_bytes(b"old")
    os.chmod(f, 0o640)
    inode = f.stat().st_ino
    atomic_write(f, b"new", mode=0o644, preserve=True)
    assert f.read_bytes() == b"new" and f.stat().st_ino != inode
    assert stat.S_IMODE(f.stat().st_mode) == 0o640  # kept
    atomic_write(f, b"newer", mode=0o644)
    assert stat.S_IMODE(f.stat().st_mode) == 0o644  # explicit


def test_a_symlink_at_the_path_is_replaced_never_followed(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_bytes(b"precious")
    link = tmp_path / "out.pem"
    link.symlink_to(victim)
    atomic_write(link, b"data")
    assert victim.read_bytes() == b"precious"
    assert not link.is_symlink() and link.read_bytes() == b"data"


def test_a_symlink_planted_at_the_temporary_name_is_never_followed(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_bytes(b"precious")
    for pid in (os.getpid(), _dead_pid()):
        (tmp_path / f".out.pem{TMP_MARK}{pid}").symlink_to(victim)
    atomic_write(tmp_path / "out.pem", b"data")
    assert victim.read_bytes() == b"precious"
    assert _names(tmp_path) == ["out.pem", "victim"]  # the planted links are gone, unfollowed


def test_backups_link_the_old_file_and_never_overwrite_one(tmp_path: Path) -> None:
    f = tmp_path / "ca.crt"
    f.write_bytes(b"v1")
    now = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    assert atomic_write(f, b"v2", backup_suffix=".bak", now=now) == "ca.crt.bak"
    assert atomic_write(f, b"v3", backup_suffix=".bak", now=now) == "ca.crt.bak-20260102T030405Z"
    assert atomic_write(f, b"v4", backup_suffix=".bak", now=now) == "ca.crt.bak-20260102T030405Z-1"
    assert [(tmp_path / n).read_bytes() for n in _names(tmp_path)] == [b"v4", b"v1", b"v2", b"v3"]
    assert atomic_write(tmp_path / "new.crt", b"x", backup_suffix=".bak") is None  # nothing to keep


def test_failures_leave_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    f = tmp_path / "out.pem"
    f.write_bytes(b"old")

    def veto() -> None:
        raise RuntimeError("changed under us")

    with pytest.raises(RuntimeError):
        atomic_write(f, b"new", before_rename=veto)
    assert f.read_bytes() == b"old" and _names(tmp_path) == ["out.pem"]
    with pytest.raises(WriteError) as err:
        atomic_write(tmp_path / "missing-dir" / "x", b"new")
    assert err.value.stage == "directory"
    (tmp_path / "dir.pem").mkdir()  # a directory cannot be replaced by a file
    with pytest.raises(WriteError) as err:
        atomic_write(tmp_path / "dir.pem", b"new")
    assert err.value.stage == "replace" and isinstance(err.value, OSError)
    assert _names(tmp_path) == ["dir.pem", "out.pem"]


def test_leftovers_of_dead_writers_are_removed_and_nothing_else(tmp_path: Path) -> None:
    dead, alive = _dead_pid(), os.getppid()
    keep = [f".a.crt{TMP_MARK}{alive}", "a.crt", f"a.crt{TMP_MARK}{dead}", "notes.txt"]
    stale = [f".a.crt{TMP_MARK}{dead}", f".b.crt{TMP_MARK}{dead}"]
    for n in keep + stale:
        (tmp_path / n).write_bytes(b"x")
    # a write removes the leftovers of its own file only
    atomic_write(tmp_path / "a.crt", b"new")
    assert f".a.crt{TMP_MARK}{dead}" not in _names(tmp_path)
    assert f".b.crt{TMP_MARK}{dead}" in _names(tmp_path)
    # a sweep removes every dead writer's leftover, and only those
    assert remove_stale(tmp_path) == [f".b.crt{TMP_MARK}{dead}"]
    assert _names(tmp_path) == sorted(keep)
