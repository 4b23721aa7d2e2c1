"""A cheap fingerprint of everything a store inspection read: has anything changed?

The exporter (and anything else that keeps an inspection) asks this before
running the client models again.  The signature is the ``lstat``/``stat`` of

* every source the client models consulted (files, directories, keystores,
  per-registry directories — including the ones that were *missing*, so a
  file appearing changes it), and the entries of every directory source
  (a hash link added to ``/etc/ssl/certs`` changes the directory's mtime, a
  file rewritten in place changes only its own);
* the distribution's anchor directories (``stale-bundle`` appears when a file
  lands in ``/usr/local/share/ca-certificates`` without a rebuild), one level
  deep, bounded;
* the daemons found and their start times (``restart-required``), and the
  process's own identity and start time for ``--pid``;
* the trust variables of the environment the models ran with.

``(st_mtime_ns, st_size, st_ino, st_mode)`` per path: a rewrite through a
temporary file and a rename changes the inode, an in-place write the mtime
(nanoseconds) and usually the size.  Reads go through :class:`RootFS`, so a
``--root`` is looked at from inside, symlinks resolved in the root.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence

from ..clients import env_variables
from ..model import digest
from ..model.stores import ClientStore, StoreContext

MAX_ENTRIES = 4000  # directory entries looked at per signature (a hash dir has ~300)
_DIR_KINDS = frozenset({"dir", "hashdir", "certs.d", "hosts.toml"})


def _stat(ctx: StoreContext, path: str) -> tuple[int, ...]:
    try:
        st = ctx.fs.stat(path)
    except (OSError, ValueError):
        try:
            lst = ctx.fs.lstat(path)  # a dangling link still has an identity
        except (OSError, ValueError):
            return (-1,)
        return (-2, lst.st_mtime_ns, lst.st_ino)
    return (st.st_mtime_ns, st.st_size, st.st_ino, st.st_mode)


def _entries(ctx: StoreContext, path: str, budget: list[int]) -> list[tuple[str, tuple[int, ...]]]:
    """``lstat`` of a directory's entries (the directory resolved in the root once;
    an entry that is a symlink counts as itself: re-pointing it makes a new link)."""
    try:
        host = ctx.fs.host_path(path)
        it = os.scandir(host)
    except (OSError, ValueError):
        return []
    out: list[tuple[str, tuple[int, ...]]] = []
    with it:
        for e in it:
            if budget[0] <= 0:
                break
            budget[0] -= 1
            try:
                st = e.stat(follow_symlinks=False)
            except OSError:
                out.append((e.name, (-1,)))
                continue
            out.append((e.name, (st.st_mtime_ns, st.st_size, st.st_ino, st.st_mode)))
    out.sort()
    return out


def watched_paths(ctx: StoreContext, stores: Sequence[ClientStore]) -> tuple[list[str], list[str]]:
    """The files and the directories a signature of ``stores`` in ``ctx`` covers."""
    files: list[str] = []
    dirs: list[str] = []
    for s in stores:
        for src in s.sources:
            if not src.path.startswith("/"):
                continue  # $VAR, bundled: the environment part covers them
            (dirs if src.kind in _DIR_KINDS else files).append(src.path)
        for d in s.registry_dirs:
            dirs.append(d)
        for a in s.anchors.anchors:
            if a.provenance.source.startswith("/"):
                files.append(a.provenance.source)
    facts = ctx.distro.facts
    dirs += [ad.path for ad in facts.anchor_dirs]
    if facts.bundle:
        files.append(facts.bundle)
    if facts.hash_dir:
        dirs.append(facts.hash_dir)
    return list(dict.fromkeys(files)), list(dict.fromkeys(dirs))


def signature(ctx: StoreContext, stores: Iterable[ClientStore]) -> str:
    """A short hex digest that changes when anything ``stores`` were read from changes."""
    h = digest.sha256()
    files, dirs = watched_paths(ctx, list(stores))
    budget = [MAX_ENTRIES]
    for p in files:
        h.update(f"f {p} {_stat(ctx, p)}\n".encode("utf-8", "surrogateescape"))
    for d in dirs:
        h.update(f"d {d} {_stat(ctx, d)}\n".encode("utf-8", "surrogateescape"))
        for name, st in _entries(ctx, d, budget):
            h.update(f"  {name} {st}\n".encode("utf-8", "surrogateescape"))
            if st[0] >= 0 and st[3] & 0o170000 == 0o040000 and budget[0] > 0:
                # One level below (certs.d/<registry>/ca.crt, anchors/sub/x.crt).
                for sub, sst in _entries(ctx, f"{d.rstrip('/')}/{name}", budget):
                    h.update(f"    {sub} {sst}\n".encode("utf-8", "surrogateescape"))
    for name, start in sorted(ctx.daemons.items()):
        h.update(f"daemon {name} {start.isoformat()}\n".encode())
    if ctx.process_start is not None:
        h.update(f"process {ctx.label} {ctx.process_start.isoformat()}\n".encode())
    for k in env_variables():
        v = ctx.env.get(k)
        if v is not None:
            h.update(f"env {k}={v}\n".encode("utf-8", "surrogateescape"))
    for daemon, env in sorted(ctx.daemon_env.items()):
        for k in env_variables():
            if env.get(k) is not None:
                h.update(f"denv {daemon} {k}={env[k]}\n".encode("utf-8", "surrogateescape"))
    h.update(f"distro {ctx.distro.family}\n".encode())
    return h.hexdigest()[:32]
