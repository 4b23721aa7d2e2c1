"""A running process as a trust source: its root, environment and start time.

``--pid PID`` asks "what does *this* process trust?": the files it sees are
under ``/proc/PID/root`` (its mount namespace and chroot, so a container's
filesystem from the host), its variables are in ``/proc/PID/environ``, and
its start time tells whether it loaded its roots before the store changed
(``restart-required``).  Facts from proc(5):

* ``environ`` is the environment *given at exec*, NUL-separated; later
  ``setenv()`` calls inside the process are not visible.  When a name occurs
  twice the first wins (glibc ``getenv`` and Go's ``syscall.copyenv`` both
  scan from the start).
* ``stat`` field 22 ``starttime`` is in clock ticks (``SC_CLK_TCK``) after
  boot; boot time is ``btime`` in ``/proc/stat``.  ``comm`` (field 2) may
  contain spaces and parentheses, so fields are counted after the *last* ``)``.
* ``environ``, ``exe`` and ``root`` of another user's process need ptrace
  access (root or the same user): permission errors are reported, not hidden.
"""

from __future__ import annotations

import datetime as dt
import errno
import os
from pathlib import Path

from trustdoctor.errors import SourceError, UsageError

from ..model.record import record

# /proc/PID/environ is bounded by the kernel's ARG_MAX-ish stack share; more
# than this is not an environment, and we will not read it.
MAX_ENVIRON = 4 * 1024 * 1024
MAX_CMDLINE = 1024 * 1024
_STARTTIME_FIELD = 22  # proc(5), 1-based


@record
class ProcessInfo:
    """What trustdoctor needs to know about one process."""

    pid: int
    root: Path  # /proc/PID/root: read files through it, never resolve it on the host
    env: dict[str, str]  # its exec-time environment
    start_time: dt.datetime  # UTC
    exe: str | None  # readlink /proc/PID/exe, None when not readable
    cmdline: list[str]


def read_process(
    pid: int, proc_root: Path = Path("/proc"), *, clk_tck: int | None = None
) -> ProcessInfo:
    """Read ``pid``'s root, environment, start time, executable and command line.

    No such process is a :class:`UsageError` (exit 2: the ``--pid`` is
    wrong); a process we may not inspect is a :class:`SourceError` (exit 3).
    ``clk_tck`` overrides ``os.sysconf("SC_CLK_TCK")`` (for fake proc trees).
    """
    if isinstance(pid, bool) or not isinstance(pid, int) or pid <= 0:
        raise UsageError(f"--pid {pid!r}: not a process id")
    pdir = proc_root / str(pid)
    stat = _read(pdir / "stat", pid, "stat", 64 * 1024)
    start_ticks = _parse_starttime(stat, pid)
    btime = _boot_time(proc_root, pid)
    tck = clk_tck or os.sysconf("SC_CLK_TCK")
    start = dt.datetime.fromtimestamp(btime + start_ticks / tck, tz=dt.UTC)
    env = parse_environ(_read(pdir / "environ", pid, "environment", MAX_ENVIRON))
    cmdline = [
        a.decode("utf-8", "surrogateescape")
        for a in _read(pdir / "cmdline", pid, "command line", MAX_CMDLINE).split(b"\0")
    ]
    if cmdline and cmdline[-1] == "":
        cmdline.pop()
    try:
        exe: str | None = os.readlink(pdir / "exe")
    except OSError:
        exe = None  # kernel thread, zombie, or not ours: not needed to judge trust
    root = pdir / "root"
    try:
        os.stat(root)
    except PermissionError:
        raise SourceError(
            f"process {pid}: permission denied reading its root {root} "
            f"(run as root or as the process's user)"
        ) from None
    except FileNotFoundError:
        raise UsageError(f"--pid {pid}: no such process (it exited?)") from None
    except OSError as exc:
        raise SourceError(f"process {pid}: cannot read its root {root}: {exc.strerror}") from None
    return ProcessInfo(pid, root, env, start, exe, cmdline)


def parse_environ(raw: bytes) -> dict[str, str]:
    """``/proc/PID/environ`` bytes to a dict; first occurrence of a name wins."""
    env: dict[str, str] = {}
    for item in raw.split(b"\0"):
        name, sep, value = item.partition(b"=")
        if not sep or not name:
            continue  # not NAME=VALUE: libc getenv cannot see it either
        key = name.decode("utf-8", "surrogateescape")
        if key not in env:
            env[key] = value.decode("utf-8", "surrogateescape")
    return env


def _read(path: Path, pid: int, what: str, limit: int) -> bytes:
    try:
        with open(path, "rb") as fh:
            data = fh.read(limit + 1)
    except PermissionError:
        raise SourceError(
            f"process {pid}: permission denied reading its {what} "
            f"(run as root or as the process's user)"
        ) from None
    except (FileNotFoundError, ProcessLookupError):
        raise UsageError(f"--pid {pid}: no such process") from None
    except OSError as exc:
        if exc.errno == errno.ESRCH:
            raise UsageError(f"--pid {pid}: no such process (it exited?)") from None
        raise SourceError(f"process {pid}: cannot read its {what}: {exc.strerror}") from None
    if len(data) > limit:
        raise SourceError(f"process {pid}: its {what} is larger than {limit} bytes")
    return data


def _parse_starttime(stat: bytes, pid: int) -> int:
    close = stat.rfind(b")")
    fields = stat[close + 1 :].split() if close >= 0 else []
    # Fields after "comm)" start at field 3.
    idx = _STARTTIME_FIELD - 3
    try:
        if close < 0:
            raise ValueError
        return int(fields[idx])
    except (IndexError, ValueError):
        raise SourceError(f"process {pid}: unreadable /proc stat line") from None


def _boot_time(proc_root: Path, pid: int) -> int:
    try:
        with open(proc_root / "stat", "rb") as fh:
            data = fh.read(1024 * 1024)
    except OSError as exc:
        raise SourceError(f"process {pid}: cannot read {proc_root}/stat: {exc.strerror}") from None
    for line in data.splitlines():
        if line.startswith(b"btime "):
            try:
                return int(line.split()[1])
            except (IndexError, ValueError):
                break
    raise SourceError(f"process {pid}: no boot time (btime) in {proc_root}/stat")


# -- services that cache their roots (the exporter's restart-required scan) ---------------

# The ELF section Go's linker writes for every binary since Go 1.13 (the build
# information `go version -m` reads: cmd/go/internal/version, debug/buildinfo).
GO_BUILDINFO_SECTION = b".go.buildinfo"
_ELF_MAGIC = b"\x7fELF"
MAX_SECTIONS = 4096


@record
class Service:
    """A running process whose TLS client loads its roots once (``restart-required``).

    Attributes:
        pid: the process id.
        name: its ``comm`` (what ``ps`` shows).
        client: the client model judging it (``go``, ``java``, ``node``, ``docker``...).
        exe: the executable's basename (``None`` when not readable).
    """

    pid: int
    name: str
    client: str
    exe: str | None


def is_go_binary(path: str | Path) -> bool:
    """An ELF executable with a ``.go.buildinfo`` section (bounded reads, no mmap)."""
    import struct

    try:
        with open(path, "rb") as fh:
            head = fh.read(64)
            if len(head) < 64 or head[:4] != _ELF_MAGIC or head[4] != 2:  # 64-bit only
                return False
            end = "<" if head[5] == 1 else ">"
            (shoff,) = struct.unpack_from(end + "Q", head, 0x28)
            shentsize, shnum, shstrndx = struct.unpack_from(end + "HHH", head, 0x3A)
            if not (0 < shnum <= MAX_SECTIONS) or shentsize < 64 or shstrndx >= shnum:
                return False
            fh.seek(shoff)
            table = fh.read(shentsize * shnum)
            if len(table) < shentsize * shnum:
                return False
            str_off, str_size = struct.unpack_from(end + "QQ", table, shstrndx * shentsize + 0x18)
            if str_size > 1 << 20:
                return False
            fh.seek(str_off)
            names = fh.read(str_size)
    except OSError:
        return False
    want = GO_BUILDINFO_SECTION + b"\0"
    for i in range(shnum):
        (name_off,) = struct.unpack_from(end + "I", table, i * shentsize)
        if names[name_off : name_off + len(want)] == want:
            return True
    return False


def list_services(
    rules: list[tuple[str, str]],
    daemons: dict[str, str],
    *,
    proc_root: Path = Path("/proc"),
    go: bool = True,
    limit: int = 64,
    exclude: frozenset[int] = frozenset(),
    go_cache: dict[tuple[int, int], bool] | None = None,
) -> list[Service]:
    """Running processes whose client caches its roots, at most ``limit``.

    Args:
        rules: ``(regex on the executable's basename, client)``, first match wins.
        daemons: executable basename → client for the container daemons.
        go: also recognise Go programs by their ``.go.buildinfo`` section.
        exclude: pids to skip (ours).
        go_cache: ``(st_dev, st_ino)`` of an executable → is it Go (kept by the caller
            between scans, so each binary is opened once).

    Processes that exit or cannot be read (another user's, without privilege)
    are skipped: this is a survey, ``--pid`` is the question about one.
    """
    import re

    compiled = [(re.compile(rx), client) for rx, client in rules]
    proc = str(proc_root)
    try:
        pids = sorted(int(n) for n in os.listdir(proc) if n.isdigit())
    except OSError:
        return []
    cache = go_cache if go_cache is not None else {}
    out: list[Service] = []
    for pid in pids:
        if pid in exclude or len(out) >= limit:
            continue
        exe_link = f"{proc}/{pid}/exe"
        try:
            exe = os.readlink(exe_link)  # cheaper than opening comm; kernel threads have none
        except OSError:
            continue
        base = exe.rsplit("/", 1)[-1].removesuffix(" (deleted)")
        client = daemons.get(base) or next((c for rx, c in compiled if rx.match(base)), None)
        if client is None and go:
            try:
                st = os.stat(exe_link)
            except OSError:
                continue
            key = (st.st_dev, st.st_ino)
            if key not in cache:
                if len(cache) > 4096:
                    cache.clear()
                cache[key] = is_go_binary(exe_link)
            client = "go" if cache[key] else None
        if client is None:
            continue
        try:
            with open(f"{proc}/{pid}/comm", "rb") as fh:
                comm = fh.read(64).decode("utf-8", "replace").strip()
        except OSError:
            continue  # exited meanwhile
        out.append(Service(pid, comm, client, base))
    return out
