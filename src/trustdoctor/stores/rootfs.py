"""A filesystem root read with chroot semantics, and bounded.

Every store read of trustdoctor goes through :class:`RootFS`.  Paths are
absolute *inside* the root (``/etc/ssl/certs/ca-certificates.crt``); they are
resolved one component at a time, the way the kernel resolves them for a
process chrooted into the root:

* an absolute symlink target restarts from the root, not from ``/`` of the host;
* ``..`` never climbs above the root (``/..`` is ``/``);
* at most :data:`MAX_SYMLINKS` links are followed per lookup (Linux's
  ``MAXSYMLINKS`` is 40): a loop is ``ELOOP``, never a hang.

So a link to ``/etc/shadow`` or ``../../../`` inside an image reads the image's
own file (or nothing), never the host's.  The final ``open`` uses
``O_NOFOLLOW | O_NONBLOCK``: the last component was resolved already, a FIFO
cannot block the tool, and only regular files are read.

Errors are ``OSError`` with the errno a real client would see
(``FileNotFoundError``, ``PermissionError``, ``IsADirectoryError``, ``ELOOP``),
because the client models depend on the distinction (Go skips a missing
bundle silently but remembers any other error).  Limits raise
:class:`LimitExceeded` (``EFBIG``), which the models turn into a
``store-limit`` finding.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import os
import stat
from collections import deque
from collections.abc import Iterator

from ..model.record import record

TYPE_CHECKING = False  # typing's constant, without importing typing (model/record.py)
if TYPE_CHECKING:
    import mmap

# Linux follows at most 40 symlinks in one path lookup (include/linux/namei.h).
MAX_SYMLINKS = 40
# Largest store file read.  The Mozilla bundle is ~220 KB, Fedora's
# ca-bundle.trust.crt ~500 KB, a JDK cacerts ~200 KB: 32 MB is two orders of
# magnitude of headroom and still bounds memory and parse time.
MAX_FILE_BYTES = 32 * 1024 * 1024
# Most entries read from one directory.  /etc/ssl/certs holds ~300-600.
MAX_DIR_ENTRIES = 10_000
# Contents kept in memory for reuse by several client models.
_CACHE_BYTES = 96 * 1024 * 1024


class LimitExceeded(OSError):
    """A file or directory exceeds trustdoctor's safety limits."""

    def __init__(self, path: str, what: str, *, limit: int, size: int | None = None) -> None:
        super().__init__(errno.EFBIG, what, path)
        self.what = what
        self.limit = limit  # the limit in bytes
        self.size = size  # the file's size, when known before reading


@record
class DirEntry:
    """One name in a directory listing (``is_symlink`` from the entry itself, not followed)."""

    name: str
    is_symlink: bool
    is_dir: bool  # without following a symlink


@record
class Listing:
    """A bounded directory listing, sorted by name like Go's ``os.ReadDir``."""

    path: str
    entries: tuple[DirEntry, ...]
    truncated: bool


def _split(path: str) -> list[str]:
    return [c for c in path.split("/") if c and c != "."]


def join(*parts: str) -> str:
    """Join root-relative path parts (``join("/etc", "ssl")`` → ``/etc/ssl``)."""
    out = "/".join(p.strip("/") for p in parts if p.strip("/"))
    return "/" + out


def parent(path: str) -> str:
    comps = _split(path)
    return "/" + "/".join(comps[:-1])


def basename(path: str) -> str:
    comps = _split(path)
    return comps[-1] if comps else ""


class RootFS:
    """Read-only, bounded access to a filesystem root (``/`` or a mounted image)."""

    def __init__(self, root: os.PathLike[str] | str = "/") -> None:
        # Not resolved: /proc/PID/root is a magic link the kernel must follow itself.
        # (A string, not a pathlib.Path: pathlib and what it imports are ~6 ms
        # of a command's start-up, and every path here is joined as text.)
        self.root: str = os.path.abspath(os.fspath(root))
        # Host paths are this prefix and the components (none holds a "/"):
        # what os.path.join(root, *comps) gives, without a call and an
        # os.fspath per component (~2,000 per system store read).
        top = str(self.root)
        self._prefix = top if top.endswith("/") else top + "/"
        self._resolved: dict[tuple[str, bool], str] = {}
        # lstat modes and link targets by host path: a root is read as a
        # snapshot, and the same links are met by several lookups (a hash
        # link's own lstat and readlink, then again to read through it) and by
        # several models (Go's store is read twice: with and without
        # SSL_CERT_FILE/SSL_CERT_DIR).
        self._modes: dict[str, int] = {}
        self._links: dict[str, str] = {}
        self._listings: dict[tuple[str, int], Listing] = {}
        self._contents: dict[str, bytes] = {}
        self._cached_bytes = 0
        # Facts computed once per root by the models (OPENSSLDIR, library lists...).
        self.memo: dict[str, object] = {}

    @property
    def is_host(self) -> bool:
        return str(self.root) == "/"

    def __repr__(self) -> str:
        return f"RootFS({str(self.root)!r})"

    # -- path resolution ---------------------------------------------------------

    def _host(self, comps: list[str]) -> str:
        return self._prefix + "/".join(comps) if comps else str(self.root)

    def _host_of(self, resolved: str) -> str:
        """``_host(_split(resolved))`` for what :meth:`resolve` returns ("/" and
        its components joined: none empty, none "." or ".."), without
        splitting and joining it again."""
        return self._prefix + resolved[1:] if resolved != "/" else str(self.root)

    def resolve(self, path: str, *, follow_final: bool = True) -> str:
        """Resolve ``path`` inside the root; return the root-relative result.

        Raises ``OSError``: ``ENOENT`` for a missing directory on the way
        (a missing *final* component is returned as is), ``ENOTDIR``,
        ``ELOOP`` after :data:`MAX_SYMLINKS` links.
        """
        key = (path, follow_final)
        hit = self._resolved.get(key)
        if hit is not None:
            return hit
        comps = _split(path)
        resolved: list[str] = []
        if 1 < len(comps) <= 64:
            # Resolution is left to right: resolve the (memoised) parent, then
            # the last component from there.  One lstat per file of a directory.
            up = self.resolve("/" + "/".join(comps[:-1]))
            resolved = up[1:].split("/") if up != "/" else []
            comps = comps[-1:]
        pending: deque[str] = deque(comps)
        links = 0
        while pending:
            comp = pending.popleft()
            if comp == "..":
                if resolved:
                    resolved.pop()
                continue
            candidate = [*resolved, comp]
            is_last = not pending
            host = self._host(candidate)
            mode = self._modes.get(host)
            if mode is None:
                try:
                    mode = os.lstat(host).st_mode
                except FileNotFoundError:
                    if is_last:
                        resolved = candidate
                        break
                    raise FileNotFoundError(
                        errno.ENOENT, "No such file or directory", path
                    ) from None
                if len(self._modes) < 100_000:
                    self._modes[host] = mode
            if stat.S_ISLNK(mode) and (follow_final or not is_last):
                links += 1
                if links > MAX_SYMLINKS:
                    raise OSError(errno.ELOOP, "Too many levels of symbolic links", path)
                target = self._link(host)
                if target.startswith("/"):
                    resolved = []  # absolute targets restart from the root, not the host's /
                pending.extendleft(reversed(_split(target)))
                continue
            if not is_last and not stat.S_ISDIR(mode):
                raise NotADirectoryError(errno.ENOTDIR, "Not a directory", path)
            resolved = candidate
        out = "/" + "/".join(resolved)
        if len(self._resolved) < 100_000:
            self._resolved[key] = out
        return out

    def host_path(self, path: str, *, follow_final: bool = True) -> str:
        """The host path of ``path`` after resolution inside the root."""
        return self._host_of(self.resolve(path, follow_final=follow_final))

    # -- metadata ---------------------------------------------------------------

    def stat(self, path: str) -> os.stat_result:
        return os.stat(self.host_path(path), follow_symlinks=False)

    def lstat(self, path: str) -> os.stat_result:
        return os.lstat(self.host_path(path, follow_final=False))

    def _mode(self, path: str, *, follow: bool = True) -> int | None:
        """``st_mode`` of ``path`` (``lstat`` unless ``follow``), ``None`` when it cannot be had."""
        try:
            return (self.stat(path) if follow else self.lstat(path)).st_mode
        except (OSError, ValueError):
            return None

    def exists(self, path: str) -> bool:
        return self._mode(path) is not None

    def lexists(self, path: str) -> bool:
        return self._mode(path, follow=False) is not None

    def is_file(self, path: str) -> bool:
        mode = self._mode(path)
        return mode is not None and stat.S_ISREG(mode)

    def is_dir(self, path: str) -> bool:
        mode = self._mode(path)
        return mode is not None and stat.S_ISDIR(mode)

    def is_link(self, path: str) -> bool:
        mode = self._mode(path, follow=False)
        return mode is not None and stat.S_ISLNK(mode)

    def readlink(self, path: str) -> str:
        """The raw target of the symlink ``path`` (its parents resolved in the root)."""
        return self._link(self.host_path(path, follow_final=False))

    def _link(self, host: str) -> str:
        target = self._links.get(host)
        if target is None:
            target = os.readlink(host)
            if len(self._links) < 100_000:
                self._links[host] = target
        return target

    def mtime(self, path: str) -> dt.datetime | None:
        """Modification time of what ``path`` points to (UTC), or ``None``."""
        try:
            st = self.stat(path)
        except (OSError, ValueError):
            return None
        return dt.datetime.fromtimestamp(st.st_mtime, dt.UTC)

    # -- contents ------------------------------------------------------------------

    def listdir(self, path: str, limit: int = MAX_DIR_ENTRIES) -> Listing:
        """List at most ``limit`` names of a directory, sorted.

        Raises ``OSError`` like ``opendir`` (``ENOENT``, ``ENOTDIR``, ``EACCES``).
        A directory with more entries is cut at ``limit`` (``truncated``): a
        directory of 100,000 files costs ``limit`` entries, not 100,000.
        Listed once per root, as files are read once (several client models
        read ``/etc/ssl/certs``).
        """
        resolved = self.resolve(path)
        hit = self._listings.get((resolved, limit))
        if hit is not None:
            return hit
        host = self._host_of(resolved)
        entries: list[DirEntry] = []
        truncated = False
        with os.scandir(host) as it:
            for e in it:
                if len(entries) >= limit:
                    truncated = True
                    break
                try:
                    is_link = e.is_symlink()
                    is_dir = e.is_dir(follow_symlinks=False)
                except OSError:
                    is_link, is_dir = False, False
                entries.append(DirEntry(e.name, is_link, is_dir))
        entries.sort(key=lambda d: d.name)
        listing = Listing(resolved, tuple(entries), truncated)
        if len(self._listings) < 10_000:
            self._listings[(resolved, limit)] = listing
        return listing

    def read_bytes(self, path: str, max_size: int = MAX_FILE_BYTES) -> bytes:
        """Read a regular file inside the root, at most ``max_size`` bytes.

        Raises ``OSError`` (``ENOENT``, ``EACCES``, ``EISDIR``, ``ELOOP``,
        ``EINVAL`` for a FIFO/device) or :class:`LimitExceeded`.
        """
        resolved = self.resolve(path)
        hit = self._contents.get(resolved)
        if hit is not None and len(hit) <= max_size:
            return hit
        host = self._host_of(resolved)
        flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
        fd = os.open(host, flags)
        try:
            st = os.fstat(fd)
            if stat.S_ISDIR(st.st_mode):
                raise IsADirectoryError(errno.EISDIR, "Is a directory", path)
            if not stat.S_ISREG(st.st_mode):
                raise OSError(errno.EINVAL, "Not a regular file", path)
            if st.st_size > max_size:
                raise LimitExceeded(
                    path,
                    f"{st.st_size} bytes, over the {max_size}-byte limit",
                    limit=max_size,
                    size=st.st_size,
                )
            chunks: list[bytes] = []
            total = 0
            while True:
                chunk = os.read(fd, min(1 << 20, max_size + 1 - total))
                if not chunk:
                    break
                chunks.append(chunk)
                total += len(chunk)
                if total > max_size:
                    raise LimitExceeded(path, f"over the {max_size}-byte limit", limit=max_size)
        finally:
            os.close(fd)
        data = b"".join(chunks)
        if self._cached_bytes + len(data) <= _CACHE_BYTES:
            self._contents[resolved] = data
            self._cached_bytes += len(data)
        return data

    def read_text(self, path: str, max_size: int = 1024 * 1024) -> str:
        return self.read_bytes(path, max_size).decode("utf-8", "replace")

    def find_bytes(
        self, path: str, needles: tuple[bytes, ...], max_size: int = 256 << 20
    ) -> set[bytes]:
        """Which of ``needles`` occur in a (large, binary) file, via mmap, without caching it.

        Used to read compiled-in defaults out of libcrypto/libcurl.  Raises ``OSError``.
        """
        with self._mapped(path, max_size) as mm:
            return {n for n in needles if mm.find(n) >= 0} if mm is not None else set()

    def search_regex(self, path: str, pattern: bytes, max_size: int = 256 << 20) -> bytes | None:
        """First match (group 1) of ``pattern`` in a binary file, via mmap.  Raises ``OSError``."""
        import re

        with self._mapped(path, max_size) as mm:
            m = re.search(pattern, mm) if mm is not None else None
            return bytes(m.group(1)) if m else None

    def mapped(
        self, path: str, max_size: int
    ) -> contextlib.AbstractContextManager[mmap.mmap | None]:
        """``path`` mapped read-only (``None`` for an empty or not regular file).
        Raises ``OSError`` (:class:`LimitExceeded` over ``max_size``)."""
        return self._mapped(path, max_size)

    @contextlib.contextmanager
    def _mapped(self, path: str, max_size: int) -> Iterator[mmap.mmap | None]:
        """``path`` mapped read-only; ``None`` for an empty or not regular file."""
        import mmap

        host = self.host_path(path)
        flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
        fd = os.open(host, flags)
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode) or st.st_size == 0:
                yield None
                return
            if st.st_size > max_size:
                raise LimitExceeded(
                    path,
                    f"{st.st_size} bytes, over the {max_size}-byte limit",
                    limit=max_size,
                    size=st.st_size,
                )
            with mmap.mmap(fd, 0, prot=mmap.PROT_READ) as mm:
                yield mm
        finally:
            os.close(fd)


def describe_oserror(exc: OSError) -> str:
    """A short, stable reason for an ``OSError`` (``permission denied``, ``is a directory``...)."""
    if isinstance(exc, LimitExceeded):
        return f"too large ({exc.what})"
    names = {
        errno.ENOENT: "no such file or directory",
        errno.EACCES: "permission denied",
        errno.EPERM: "operation not permitted",
        errno.EISDIR: "is a directory",
        errno.ENOTDIR: "not a directory",
        errno.ELOOP: "too many levels of symbolic links",
        errno.EINVAL: "not a regular file",
    }
    return names.get(exc.errno or 0, (exc.strerror or str(exc)).lower())
