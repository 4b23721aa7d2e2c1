"""The on-disk cache of registry blobs, by digest (docs/stores-inputs.md, "Cache").

``$XDG_CACHE_HOME/trustdoctor/layers`` (else ``~/.cache/trustdoctor/layers``),
a directory of mode 0700 holding one file per blob, named
``<algorithm>-<hex>``.  Only **complete, verified** blobs enter it: a blob is
written to a private ``.tmp-*.part`` file while it streams and renamed into
place only after its size and digest matched the manifest; an interrupted
pull leaves a temporary file that the next pruning removes (after an hour).

The size is bounded (``max_bytes``, default 1 GiB): after each insertion the
least recently used entries (by modification time, refreshed on every hit)
are removed until the total fits, and a blob larger than the bound is never
cached.  A hit is re-hashed before use, so a truncated or altered entry is
dropped and fetched again, never believed.  Every error of the cache itself is
ignored: a cache that cannot be read or written only costs a download.  Only
names the cache itself makes are ever deleted, so pointing it at a directory
that holds other files loses none of them.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import stat
import time
from collections.abc import Mapping
from pathlib import Path
from typing import IO

DEFAULT_MAX_BYTES = 1024**3
_ENTRY = re.compile(r"^(sha256-[0-9a-f]{64}|sha512-[0-9a-f]{128})$")
_TMP = re.compile(r"^\.tmp-[0-9a-f]{16}\.part$")
_STALE_TMP = 3600.0
_CHUNK = 1024 * 1024


def default_cache_dir(environ: Mapping[str, str] | None = None) -> Path | None:
    """``$XDG_CACHE_HOME/trustdoctor/layers``, else ``~/.cache/trustdoctor/layers``
    (:func:`~trustdoctor.sources.cachedir.user_cache_dir`)."""
    from .cachedir import user_cache_dir

    return user_cache_dir("layers", environ)


def _name(digest: str) -> str:
    return digest.replace(":", "-", 1)


class LayerCache:
    """Verified blobs by digest, LRU-bounded to ``max_bytes``."""

    def __init__(self, root: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.root = root
        self.max_bytes = max_bytes
        self.usable = self._prepare()

    def _prepare(self) -> bool:
        """Create the directory (0700), or check that an existing one is private and ours."""
        try:
            os.makedirs(self.root, mode=0o700, exist_ok=True)
            st = os.lstat(self.root)
            if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.geteuid():
                return False  # a symlink, a file, or another user's directory: not used
            if stat.S_IMODE(st.st_mode) != 0o700:
                os.chmod(self.root, 0o700)
        except OSError:
            return False
        return True

    def path(self, digest: str) -> Path:
        return self.root / _name(digest)

    def get(self, digest: str, size: int) -> IO[bytes] | None:
        """An open file holding the verified blob, or ``None`` (absent, corrupt: dropped)."""
        if not self.usable or not _ENTRY.match(_name(digest)):
            return None
        path = self.path(digest)
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError:
            return None
        fh = os.fdopen(fd, "rb")
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode) or st.st_size != size:
                raise ValueError("wrong size")
            alg, _, hexd = digest.partition(":")
            h = hashlib.new(alg)
            while chunk := fh.read(_CHUNK):
                h.update(chunk)
            if h.hexdigest() != hexd:
                raise ValueError("wrong digest")
            fh.seek(0)
            with contextlib.suppress(OSError):
                os.utime(fd)  # most recently used
            return fh
        except (OSError, ValueError):
            fh.close()
            self._unlink(path)
            return None

    def writer(self, digest: str, size: int) -> CacheWriter | None:
        """A temporary file for the blob as it streams, or ``None`` (cache off, too big)."""
        if not self.usable or size > self.max_bytes or not _ENTRY.match(_name(digest)):
            return None
        for _ in range(4):
            tmp = self.root / f".tmp-{os.urandom(8).hex()}.part"
            try:
                fd = os.open(
                    tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600
                )
            except FileExistsError:
                continue
            except OSError:
                return None
            return CacheWriter(self, digest, tmp, os.fdopen(fd, "wb"))
        return None

    def _commit(self, digest: str, tmp: Path) -> None:
        try:
            os.replace(tmp, self.path(digest))
        except OSError:
            self._unlink(tmp)
            return
        self.prune(keep=self.path(digest))

    def prune(self, keep: Path | None = None) -> None:
        """Remove stale temporaries and the least recently used entries beyond ``max_bytes``."""
        now = time.time()
        entries: list[tuple[float, int, Path]] = []
        try:
            listing = list(os.scandir(self.root))
        except OSError:
            return
        for e in listing:
            try:
                st = e.stat(follow_symlinks=False)
            except OSError:
                continue
            if _TMP.match(e.name):
                if now - st.st_mtime > _STALE_TMP:
                    self._unlink(Path(e.path))
            elif _ENTRY.match(e.name) and stat.S_ISREG(st.st_mode):
                entries.append((st.st_mtime, st.st_size, Path(e.path)))
        total = sum(size for _, size, _ in entries)
        for _mtime, size, path in sorted(entries, key=lambda t: t[0]):
            if total <= self.max_bytes:
                break
            if path == keep:
                continue
            self._unlink(path)
            total -= size

    def entries(self) -> dict[str, int]:
        """``digest -> size`` of what the cache holds (for tests and ``--verbose`` uses)."""
        out: dict[str, int] = {}
        try:
            for e in os.scandir(self.root):
                if _ENTRY.match(e.name):
                    out[e.name.replace("-", ":", 1)] = e.stat(follow_symlinks=False).st_size
        except OSError:
            pass
        return out

    @staticmethod
    def _unlink(path: Path) -> None:
        with contextlib.suppress(OSError):
            os.unlink(path)


class CacheWriter:
    """The temporary file of one blob; :meth:`commit` only after verification."""

    def __init__(self, cache: LayerCache, digest: str, tmp: Path, fh: IO[bytes]) -> None:
        self.cache = cache
        self.digest = digest
        self.tmp = tmp
        self.fh: IO[bytes] | None = fh

    def write(self, data: bytes) -> None:
        if self.fh is None:
            return
        try:
            self.fh.write(data)
        except OSError:  # disk full: give up caching this blob, keep pulling
            self.abort()

    def commit(self) -> None:
        if self.fh is None:
            return
        try:
            self.fh.close()
        except OSError:
            self.abort()
            return
        self.fh = None
        self.cache._commit(self.digest, self.tmp)

    def abort(self) -> None:
        if self.fh is not None:
            with contextlib.suppress(OSError):
                self.fh.close()
            self.fh = None
        LayerCache._unlink(self.tmp)
