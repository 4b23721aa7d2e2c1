"""The test run's private home, and the guard that the real one is never written.

``tests/conftest.py`` points ``HOME`` and the XDG base directories at a
temporary directory for the whole session (subprocesses inherit it), and
compares :func:`snapshot` of the real home before and after the run.
"""

from __future__ import annotations

import contextlib
import os
import pwd
from pathlib import Path

# Where trustdoctor, or a client whose store a test touches, would write under
# a home directory: trustdoctor's own XDG directories (the AIA cache), rootless
# Docker/Podman certificate directories (fix --apply), NSS databases.  Only
# these are watched: other programs (pip, go, editors) may write elsewhere in
# the real home while the suite runs.
WATCHED = (
    ".cache/trustdoctor",
    ".config/trustdoctor",
    ".local/share/trustdoctor",
    ".local/state/trustdoctor",
    ".docker",
    ".config/docker",
    ".config/containers",
    ".pki",
)
XDG = {
    "XDG_CACHE_HOME": ".cache",
    "XDG_CONFIG_HOME": ".config",
    "XDG_DATA_HOME": ".local/share",
    "XDG_STATE_HOME": ".local/state",
}


Snapshot = dict[str, tuple[str, int, int]]


# $HOME as the run found it (this module is imported by conftest.py, before
# the private home is set).
_STARTING_HOME = os.environ.get("HOME")


def real_homes() -> list[Path]:
    """The user's home from the password database, and ``$HOME`` as the run
    found it, if it differs."""
    homes = [Path(pwd.getpwuid(os.getuid()).pw_dir)]
    env = _STARTING_HOME
    if env and Path(env) not in homes:
        homes.append(Path(env))
    return homes


def private_env(home: Path) -> dict[str, str]:
    """``HOME`` and the XDG base directories under ``home``."""
    return {"HOME": str(home), **{k: str(home / v) for k, v in XDG.items()}}


def snapshot(home: Path) -> Snapshot:
    """Every entry under the watched directories of ``home`` (and any top-level
    entry named like trustdoctor): path -> (kind, size, mtime in ns)."""
    out: Snapshot = {}

    def record(p: Path) -> None:
        try:
            st = p.lstat()
        except OSError:
            return
        kind = "link" if p.is_symlink() else "dir" if p.is_dir() else "file"
        out[str(p)] = (kind, st.st_size, st.st_mtime_ns)

    tops = [home / w for w in WATCHED]
    with contextlib.suppress(OSError):
        tops += [p for p in home.iterdir() if "trustdoctor" in p.name.lower()]
    for top in tops:
        record(top)
        if top.is_dir() and not top.is_symlink():
            for dirpath, dirnames, filenames in os.walk(top):
                for n in dirnames + filenames:
                    record(Path(dirpath) / n)
    return out


def changes(before: Snapshot, after: Snapshot) -> list[str]:
    """What differs between two snapshots, one line each."""
    out = [f"created {p}" for p in sorted(after.keys() - before.keys())]
    out += [f"removed {p}" for p in sorted(before.keys() - after.keys())]
    out += [
        f"changed {p}"
        for p in sorted(before.keys() & after.keys())
        if before[p] != after[p] and before[p][0] != "dir"  # a dir's mtime follows its entries
    ]
    return out
