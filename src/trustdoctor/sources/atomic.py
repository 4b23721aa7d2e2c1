"""The one atomic file writer: ``fix --apply``, ``bundle --out`` and the AIA cache.

A reader of the path sees the old file or the new one, never part of one, and
a crash at any point leaves the old file intact:

* the data goes to a temporary file in the same directory (a rename never
  crosses file systems), created with ``O_EXCL | O_NOFOLLOW`` (never through a
  symlink planted under that name) and named ``.<name>.trustdoctor-tmp-<pid>``:
  hidden, with no suffix a tool reads (``update-ca-certificates`` takes only
  ``*.crt``), and recognisably ours, so the next write to the same path (or
  :func:`remove_stale`) removes it once its process is gone;
* its mode is set with ``fchmod`` (the umask does not apply): ``mode``, or
  with ``preserve`` the old file's mode (and owner, when running as root);
* it is fsynced, optionally the old file is kept as a backup (a hard link, or
  a copy where links are not supported), a last check may veto the rename,
  then it is renamed over the path (a symlink *at* the path is replaced, never
  followed) and the directory is fsynced;
* on any error the temporary file is removed and the path is untouched.

The directory itself is taken as given: callers that must not follow symlinks
out of a tree resolve it first (``stores.apply.SafeRoot``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import time
from collections.abc import Callable
from pathlib import Path

TMP_MARK = ".trustdoctor-tmp-"
_TMP_NAME = re.compile(r"^\.(.+)" + re.escape(TMP_MARK) + r"(\d+)$")
# Test hook (docs/fix.md): when set to a path, the writer creates that file
# and sleeps after fsyncing the temporary file and before the rename, so a
# test can kill the process exactly there.
PAUSE_ENV = "TRUSTDOCTOR_TEST_PAUSE_BEFORE_RENAME"
_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


class WriteError(OSError):
    """An :class:`OSError` saying how far the write got.

    Attributes:
        stage: ``directory`` (the directory could not be opened), ``write``
            (the temporary file could not be written: nothing changed) or
            ``replace`` (the backup or the rename failed: the old file is
            unchanged).
    """

    def __init__(self, stage: str, exc: OSError) -> None:
        super().__init__(exc.errno, exc.strerror or str(exc))
        self.stage = stage


def atomic_write(
    path: Path,
    data: bytes,
    *,
    mode: int = 0o644,
    preserve: bool = False,
    backup_suffix: str | None = None,
    now: dt.datetime | None = None,
    before_rename: Callable[[], object] | None = None,
) -> str | None:
    """Replace ``path`` with ``data`` atomically; return the backup's name, if one was made.

    Args:
        mode: the permission bits of the new file.
        preserve: an existing file keeps its mode (and owner, as root) instead.
        backup_suffix: keep an existing file as ``<name><suffix>`` (or, when
            that exists, ``<name><suffix>-<UTC time>[-N]``) in the same directory.
        now: the time for backup names (default: the clock).
        before_rename: called once the temporary file is complete; an
            exception from it cancels the write (and propagates).

    Raises:
        WriteError: see its ``stage``.
    """
    name = path.name
    try:
        dfd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY | _O_CLOEXEC)
    except OSError as exc:
        raise WriteError("directory", exc) from None
    tmp = f".{name}{TMP_MARK}{os.getpid()}"
    created = False
    try:
        remove_stale(dfd, name=name)
        old: os.stat_result | None
        try:
            old = os.stat(name, dir_fd=dfd, follow_symlinks=False)
        except FileNotFoundError:
            old = None
        try:
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | _O_CLOEXEC
            fd = os.open(tmp, flags, 0o600, dir_fd=dfd)
            created = True
            try:
                _write_all(fd, data)
                if preserve and old is not None:
                    os.fchmod(fd, old.st_mode & 0o7777)
                    if os.geteuid() == 0:
                        os.fchown(fd, old.st_uid, old.st_gid)
                else:
                    os.fchmod(fd, mode)
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            raise WriteError("write", exc) from None
        pause = os.environ.get(PAUSE_ENV)
        if pause:
            Path(pause).write_text(str(os.getpid()))
            time.sleep(60)
        if before_rename is not None:
            before_rename()
        bak: str | None = None
        try:
            if backup_suffix is not None and old is not None:
                bak = _backup_name(dfd, name + backup_suffix, now or dt.datetime.now(dt.UTC))
                _backup(dfd, name, bak, old)
            os.rename(tmp, name, src_dir_fd=dfd, dst_dir_fd=dfd)
            created = False
        except OSError as exc:
            raise WriteError("replace", exc) from None
        # The rename is done; a file system that cannot sync a directory
        # (EINVAL) changes nothing about what a reader sees.
        with contextlib.suppress(OSError):
            os.fsync(dfd)
        return bak
    finally:
        if created:
            with contextlib.suppress(OSError):
                os.unlink(tmp, dir_fd=dfd)
        os.close(dfd)


def remove_stale(directory: int | Path, *, name: str | None = None) -> list[str]:
    """Remove temporary files that dead writers left in ``directory``; return their names.

    Only our own names (``.<name>.trustdoctor-tmp-<pid>``, of ``name`` when
    given) whose process no longer exists are removed; never anything else.
    With ``name``, one of this process's own is stale too (a writer of that
    path is about to start, and one path is written by one thread at a time).
    """
    try:
        entries = os.listdir(directory)
    except OSError:
        return []
    removed: list[str] = []
    for entry in entries:
        m = _TMP_NAME.match(entry)
        if not m or (name is not None and m.group(1) != name):
            continue
        pid = int(m.group(2))
        if pid == os.getpid() and name is None:
            continue
        if pid != os.getpid():
            try:
                os.kill(pid, 0)
                continue  # a live run owns it
            except ProcessLookupError:
                pass
            except PermissionError:
                continue  # alive, another user's
        with contextlib.suppress(OSError):
            if isinstance(directory, int):
                os.unlink(entry, dir_fd=directory)
            else:
                os.unlink(directory / entry)
            removed.append(entry)
    return removed


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def _backup_name(dfd: int, base: str, now: dt.datetime) -> str:
    stamp = f"{base}-{now:%Y%m%dT%H%M%SZ}"
    for candidate in [base, stamp, *(f"{stamp}-{i}" for i in range(1, 100))]:
        try:
            os.stat(candidate, dir_fd=dfd, follow_symlinks=False)
        except FileNotFoundError:
            return candidate
    raise FileExistsError(0, f"too many backups of {base}")


def _backup(dfd: int, name: str, bak: str, old: os.stat_result) -> None:
    try:
        os.link(name, bak, src_dir_fd=dfd, dst_dir_fd=dfd, follow_symlinks=False)
        return
    except OSError:
        pass  # hard links unsupported here: copy the old bytes instead
    flags = os.O_RDONLY | os.O_NOFOLLOW | _O_CLOEXEC
    src = os.open(name, flags, dir_fd=dfd)
    try:
        with os.fdopen(src, "rb", closefd=False) as f:
            content = f.read()
    finally:
        os.close(src)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | _O_CLOEXEC
    bfd = os.open(bak, flags, 0o600, dir_fd=dfd)
    try:
        _write_all(bfd, content)
        os.fchmod(bfd, old.st_mode & 0o7777)
        os.fsync(bfd)
    finally:
        os.close(bfd)
