"""A container image as a filesystem root, without a container engine.

``extract_image(image)`` reads a ``docker save`` archive (``manifest.json`` +
layer tars) or an OCI image layout (``index.json`` -> manifest -> layer blobs
under ``blobs/<alg>/``), as a tar (optionally gzip-compressed) or as a
directory, or pulls an image reference (``[registry/]repository[:tag|@digest]``)
from its registry (``sources.registry``: only the config and the layers of one
platform, each verified against its digest as it streams); layers may be
plain, gzip, bzip2 or xz tars, and zstd where Python 3.14's
``compression.zstd`` or the ``zstandard`` package is there.  The layers are applied in order with
OCI whiteouts (``.wh.<name>`` deletes a lower entry, ``.wh..wh..opq`` hides
everything below a directory from lower layers), but only the files trust
depends on (:data:`TRUST_PATHS`, plus the paths the image's own environment
names) are kept, in memory, then written to a private temporary directory
(mode 0700) that is removed when the ``with`` block ends.

Safety rules (see docs/stores-inputs.md):

* A layer member with an absolute name or a ``..`` component, or a hard link
  whose target has one, refuses the **whole image** (:class:`UnsafePathError`):
  such a layer is hostile or broken, and partial results would mislead.
* Nothing is ever written through a symlink: symlinks are kept in memory
  until the end, a member below a symlink (or below a file) is skipped with a
  warning, files are created with ``O_NOFOLLOW`` under real directories only.
* Symlinks are recreated as symlinks whose target is the link's resolution
  *inside the image root* (chroot semantics), written relative, so even a
  naive ``open()`` under ``root`` cannot reach the host (a link to
  ``/etc/shadow`` points at the image's ``etc/shadow``).  The image's own
  target text is kept in :attr:`ExtractedImage.links`.
* Hard links are resolved inside the image; devices and FIFOs are skipped.
* Bounded work: decompressed bytes read (``max_total``, counted while
  streaming, so a gzip bomb stops early), bytes of one kept file
  (``max_member``), bytes kept in all (``max_extracted``), tar members
  (``max_members``), JSON documents (16 MiB).
"""

from __future__ import annotations

import contextlib
import gzip
import importlib
import io
import json
import os
import platform as _platform
import posixpath
import re
import shutil
import stat
import tarfile
import tempfile
import zlib
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, cast

from trustdoctor.errors import InputError, UnsafePathError, UsageError

from ..model.record import field, mutable_record, record
from .imageref import ImageRef, Platform, choose_manifest, host_platform, parse_reference

if TYPE_CHECKING:
    from .registry import PullOptions, RemoteImage

# ---------------------------------------------------------------------------
# What trust needs (data tables)

# Files and trees a TLS client model may read, as globs over the image root:
# ``*`` one path component (or part of one), ``**`` any number of components
# (``dir/**`` includes ``dir`` itself).  Sources: truststores.md sections 1-5.
TRUST_PATHS: tuple[str, ...] = (
    # Distro detection: os-release(5), /etc first, /usr/lib fallback.
    "/etc/os-release",
    "/usr/lib/os-release",
    # OpenSSL/Go/curl bundles and hash dirs: Debian, Alpine, SUSE, Arch
    # (/etc/ssl/certs, /etc/ssl/cert.pem, /etc/ssl/ca-bundle.pem ...).
    "/etc/ssl/**",
    # RHEL family: /etc/pki/tls, /etc/pki/ca-trust (source + extracted), /etc/pki/java.
    "/etc/pki/**",
    # OPENSSLDIR of Debian's libssl (/usr/lib/ssl -> /etc/ssl links) and of
    # upstream builds (/usr/local/ssl).
    "/usr/lib/ssl/**",
    "/usr/local/ssl/**",
    # Debian/Ubuntu anchor inputs and the update-ca-certificates config.
    "/usr/local/share/ca-certificates/**",
    "/usr/share/ca-certificates/**",
    "/etc/ca-certificates.conf",
    "/etc/ca-certificates/**",
    # p11-kit anchors shipped by packages (RHEL, SUSE, Arch).
    "/usr/share/pki/**",
    # SUSE's extracted stores (java-cacerts, pem bundles).
    "/var/lib/ca-certificates/**",
    # Docker Engine per-registry CAs, system-wide and rootless.
    "/etc/docker/certs.d/**",
    "/root/.config/docker/certs.d/**",
    "/home/*/.config/docker/certs.d/**",
    # containerd (config.toml, hosts.toml trees).
    "/etc/containerd/**",
    # containers/image (CRI-O, Podman, Buildah, Skopeo): certs.d, registries.
    "/etc/containers/**",
    "/root/.config/containers/**",
    "/home/*/.config/containers/**",
    # Java: distro JDKs, Temurin-style tarball JDKs, Debian's JKS store,
    # official openjdk images (/usr/local/openjdk-N), Temurin's /certificates.
    "/usr/lib/jvm/**/lib/security/*",
    "/opt/java/**/lib/security/*",
    "/usr/local/openjdk*/**/lib/security/*",
    "/usr/java/**/lib/security/*",
    "/etc/ssl/certs/java/*",
    "/certificates/**",
    # JDK config that distros keep in /etc and link from lib/security and
    # conf/security (java.security, blocked.certs: the JDK's distrust list):
    # Debian /etc/java-17-openjdk/security, RHEL /etc/java/java-17-openjdk/...
    "/etc/java*/**/security/*",
    "/usr/lib/jvm/**/conf/security/*",
    # certifi (requests, and our stand-in for Node's bundled roots).
    "**/site-packages/certifi/*",
    "**/dist-packages/certifi/*",
)

# Environment variables (of the image config) naming trust files: their
# paths are kept too.  "file": the path; "dirs": colon-separated
# directories, each with its entries; "java-home": $X/lib/security and
# $X/jre/lib/security; "java-opts": -Djavax.net.ssl.trustStore=PATH.
ENV_PATH_VARS: tuple[tuple[str, str], ...] = (
    ("SSL_CERT_FILE", "file"),  # OpenSSL, Go, Python ssl
    ("SSL_CERT_DIR", "dirs"),  # OpenSSL, Go (colon-separated since Go 1.?)
    ("CURL_CA_BUNDLE", "file"),  # curl, requests
    ("REQUESTS_CA_BUNDLE", "file"),  # requests
    ("NODE_EXTRA_CA_CERTS", "file"),  # Node
    ("GIT_SSL_CAINFO", "file"),
    ("GIT_SSL_CAPATH", "dirs"),
    ("JAVA_HOME", "java-home"),
    ("JAVA_TOOL_OPTIONS", "java-opts"),
    ("JDK_JAVA_OPTIONS", "java-opts"),
    ("_JAVA_OPTIONS", "java-opts"),
    ("JAVA_OPTS", "java-opts"),
)

DEFAULT_MAX_TOTAL = 4 * 1024**3  # decompressed bytes read, all layers
DEFAULT_MAX_MEMBER = 64 * 1024**2  # one kept file
DEFAULT_MAX_EXTRACTED = 256 * 1024**2  # all kept files
DEFAULT_MAX_MEMBERS = 1_000_000  # tar members, all layers
MAX_JSON = 16 * 1024**2
_MAX_DEPTH = 256  # path components
_MAX_PASSES = 3  # a rescan fetches link/hard-link targets outside TRUST_PATHS
_MAX_SEEN = 500_000  # member paths remembered per pass to decide whether to rescan
_SPECULATIVE_FILE = 1024 * 1024  # small neighbours of wanted files kept in memory...
_SPECULATIVE_TOTAL = 32 * 1024 * 1024  # ...up to this much per pass
# A reduced member (a program kept only as what its patterns match) is read in
# chunks of this size, with the longest match's length carried over.
_REDUCE_CHUNK = 1024 * 1024
_REDUCE_MAX_MATCHES = 2000  # blocks and matches per member (Node's roots: ~150)

_MAGIC_GZIP = b"\x1f\x8b"
_MAGIC_BZIP2 = b"BZh"
_MAGIC_XZ = b"\xfd7zXZ\x00"
_MAGIC_ZSTD = b"\x28\xb5\x2f\xfd"
_ZSTD_MAX_WINDOW = 1 << 27
# Stream-mode tar reads (and skips unwanted members) in blocks of this size:
# tarfile's default, 10 KiB, costs ~10,000 Python-level reads per 100 MB.
_TAR_BUFSIZE = 1024 * 1024
_DIGEST = re.compile(r"^(sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128})$")


@record
class ExtractedImage:
    """The trust-relevant part of an image, written under ``root``.

    ``env`` is the image config's ``Env`` (first occurrence wins, as in
    getenv), ``config`` the whole config JSON, ``links`` the original target
    text of every symlink written (path without leading ``/`` -> target).
    """

    root: Path
    env: dict[str, str]
    config: dict[str, Any]
    format: str  # "docker-save" | "oci" | "registry"
    reference: str | None  # a repo tag or ref.name annotation, or the pulled reference
    layers: int
    files: int
    links: dict[str, str] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    digest: str | None = None  # the manifest pulled (registry)
    transferred: int = 0  # bytes received from the registry
    cached_layers: int = 0  # layer and config blobs read from the layer cache


# An --image value ending so is a file name, never an image reference.
ARCHIVE_SUFFIXES: tuple[str, ...] = (
    ".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz", ".tar.zst", ".gz",
)  # fmt: skip
# Explicit transport prefix (skopeo's spelling) for a reference that is also a file name.
REFERENCE_PREFIX = "docker://"


def classify_image(image: str | Path) -> tuple[str, Path | ImageRef]:
    """What an ``--image`` value is: ``("archive", path)``, ``("layout", dir)`` or
    ``("reference", ImageRef)``.

    A :class:`~pathlib.Path` is always a file or directory.  A string is a
    path when something exists there, when it starts with ``/``, ``./``,
    ``../`` or ``~`` or ends like an archive (``.tar``, ``.tar.gz``...);
    ``docker://REF`` is always a reference; anything else is parsed as a
    reference (``ubuntu`` is ``docker.io/library/ubuntu:latest``).
    """
    if isinstance(image, Path):
        return ("layout" if image.is_dir() else "archive"), image
    if image.startswith(REFERENCE_PREFIX):
        return "reference", parse_reference(image[len(REFERENCE_PREFIX) :])
    path = Path(image)
    try:
        exists = os.path.lexists(image)
        is_dir = exists and path.is_dir()
    except (OSError, ValueError):
        exists = is_dir = False
    if exists:
        return ("layout" if is_dir else "archive"), path
    lowered = image.lower()
    if image.startswith(("/", "./", "../", "~")) or lowered.endswith(ARCHIVE_SUFFIXES):
        return "archive", path
    try:
        return "reference", parse_reference(image)
    except UsageError as exc:
        raise InputError(
            f"{image[:200]}: no such file or directory, and not an image reference "
            f"({exc.message.split(': ', 1)[-1]})"
        ) from None


@contextlib.contextmanager
def extract_image(
    path: str | Path,
    *,
    max_total: int = DEFAULT_MAX_TOTAL,
    max_member: int = DEFAULT_MAX_MEMBER,
    max_members: int = DEFAULT_MAX_MEMBERS,
    max_extracted: int = DEFAULT_MAX_EXTRACTED,
    extra_paths: Iterable[str] = (),
    reduced: Mapping[str, Reduction] | None = None,
    pull: PullOptions | None = None,
) -> Iterator[ExtractedImage]:
    """Extract the trust files of the image ``path`` names; yield an :class:`ExtractedImage`.

    ``path`` is an archive, an image layout directory or an image reference
    (:func:`classify_image`).  ``extra_paths`` are more absolute paths (or
    globs in :data:`TRUST_PATHS` syntax) to keep, e.g. the files a ``--env``
    override names.  ``reduced`` maps more paths (or globs) to a
    :class:`Reduction`: such a file is kept only as what its patterns match,
    streamed however large it is (a program's compiled-in roots).  ``pull``
    says how to pull a reference (and its
    ``platform`` also picks the image of a multi-platform archive).  Errors:
    :class:`InputError` (not an image, corrupt, over a limit, zstd) and
    :class:`UnsafePathError` (traversal), one line each, naming the image;
    pulling adds :class:`~trustdoctor.errors.SourceError` (network, login)
    and :class:`~trustdoctor.errors.RegistryTrustError`.
    """
    kind, target = classify_image(path)
    tmp = Path(tempfile.mkdtemp(prefix="trustdoctor-image-"))
    try:
        os.chmod(tmp, 0o700)
        limits = _Limits(max_total, max_member, max_members, max_extracted)
        yield _Extractor(
            kind, target, tmp, limits, tuple(extra_paths), pull, dict(reduced or {})
        ).run()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# ---------------------------------------------------------------------------
# Reduced members: large programs kept only as the bytes that matter


@record
class Reduction:
    """What to keep of a file too large to keep whole (a ``node`` binary is
    ~100 MB; its compiled-in roots ~200 KB of PEM text).

    Attributes:
        cert_block: keep the ``CERTIFICATE`` PEM blocks of at most this many
            bytes (:func:`~trustdoctor.model.pem.cert_blocks`; 0: none).
        patterns: more byte patterns to keep, each bounded, starting with a
            literal and with an explicit end (a partial match is no match).
        longest: no match of ``patterns`` is longer than this many bytes.
    """

    cert_block: int = 0
    patterns: tuple[bytes, ...] = ()
    longest: int = 0


def reduce_stream(fh: IO[bytes], reduction: Reduction) -> bytes:
    """What ``reduction`` keeps of ``fh``, read in chunks: memory stays within a
    chunk plus the overlap carried to the next one (the longest block or match),
    and the time is linear in the size, whatever the bytes."""
    from ..model.pem import cert_blocks

    rx = (
        re.compile(b"|".join(b"(?:" + p + b")" for p in reduction.patterns))
        if reduction.patterns
        else None
    )
    certs: list[bytes] = []
    others: list[bytes] = []
    cert_tail = other_tail = b""
    while len(certs) + len(others) < _REDUCE_MAX_MATCHES:
        chunk = fh.read(_REDUCE_CHUNK)
        if not chunk:
            break
        if reduction.cert_block:
            data = cert_tail + chunk
            left = _REDUCE_MAX_MATCHES - len(certs) - len(others)
            found, stop = cert_blocks(data, max_block=reduction.cert_block, limit=left)
            certs += found
            # A block may begin in the last `cert_block` bytes and end in the next chunk.
            cert_tail = data[max(stop, len(data) - reduction.cert_block) :]
        if rx is not None:
            data = other_tail + chunk
            start = 0  # bytes before this are consumed
            for m in rx.finditer(data):
                if len(certs) + len(others) >= _REDUCE_MAX_MATCHES:
                    break
                others.append(m.group(0) + b"\n")
                start = m.end()
            other_tail = data[max(start, len(data) - reduction.longest) :]
    return b"".join(certs + others)


# ---------------------------------------------------------------------------
# Path matching


def _glob_regex(pattern: str) -> str:
    """A glob over a root-relative path, matched against ``path + "/"``."""
    out = []
    for part in pattern.strip("/").split("/"):
        if part == "**":
            out.append("(?:[^/]+/)*")
        elif part == "*":
            out.append("[^/]+/")
        else:
            rx = "".join(
                "[^/]*" if ch == "*" else "[^/]" if ch == "?" else re.escape(ch) for ch in part
            )
            out.append(rx + "/")
    return "".join(out)


def _literal_ancestors(pattern: str) -> set[str]:
    """Directories a pattern's matches must lie under (for symlinked ancestors)."""
    out: set[str] = set()
    parts = pattern.strip("/").split("/")
    for i, part in enumerate(parts):
        if any(c in part for c in "*?"):
            break
        out.add("/".join(parts[: i + 1]))
    return out


def _norm(path: str) -> str:
    """An absolute path as root-relative canonical text (``/usr/bin/x`` → ``usr/bin/x``)."""
    return posixpath.normpath("/" + path).lstrip("/")


def _norm_abs(path: str, workdir: str = "/") -> str | None:
    """A path from the environment, as root-relative canonical text."""
    if not path:
        return None
    if not path.startswith("/"):
        path = posixpath.join(workdir or "/", path)
    norm = posixpath.normpath(path).lstrip("/")
    return norm or None


class _Matcher:
    """What to keep: globs, exact paths, and directories whose entries are kept."""

    def __init__(self, globs: Iterable[str], exact: Iterable[str], child_dirs: Iterable[str]):
        self.globs: list[str] = []
        self.exact: set[str] = set()
        self.child_dirs: set[str] = set()
        self.ancestors: set[str] = set()
        self.parents: set[str] = set()  # directories of exact paths
        self._rx = re.compile("(?!)")
        self.add(globs, exact, child_dirs)

    def add(self, globs: Iterable[str], exact: Iterable[str], child_dirs: Iterable[str]) -> bool:
        """Add patterns; True if anything is new."""
        new_globs = [g.strip("/") for g in globs if g.strip("/") not in self.globs]
        new_exact = set(exact) - self.exact
        new_dirs = set(child_dirs) - self.child_dirs
        if not (new_globs or new_exact or new_dirs):
            return False
        self.globs += list(dict.fromkeys(new_globs))
        self.exact |= new_exact
        self.child_dirs |= new_dirs
        if new_globs:
            self._rx = re.compile("|".join(f"(?:{_glob_regex(g)})" for g in self.globs))
        for g in new_globs:
            self.ancestors |= _literal_ancestors(g)
        for p in new_exact | new_dirs:
            parts = p.split("/")
            self.ancestors |= {"/".join(parts[: i + 1]) for i in range(len(parts))}
        self.parents |= {posixpath.dirname(p) for p in new_exact}
        return True

    def copy(self) -> _Matcher:
        return _Matcher(self.globs, self.exact, self.child_dirs)

    def __call__(self, path: str) -> bool:
        return (
            path in self.exact
            or posixpath.dirname(path) in self.child_dirs
            or path in self.child_dirs
            or self._rx.fullmatch(path + "/") is not None
        )

    def redirect(self, link: str, resolved: str) -> tuple[list[str], set[str], set[str]]:
        """Patterns that a symlink at ``link`` (resolving to ``resolved``) makes necessary.

        A pattern below the link is looked up through it, so it must also be
        kept at the link's target (``/bin/sh`` with ``/bin -> usr/bin`` needs
        ``/usr/bin/sh``); a link that is itself a trust path needs its target
        (and, if a directory, the target's entries).
        """

        def moved(p: str) -> str:
            rest = p[len(link) + 1 :]
            return f"{resolved}/{rest}" if resolved else rest

        under = link + "/"
        globs = [moved(g) for g in self.globs if g.startswith(under)]
        exact = {moved(e) for e in self.exact if e.startswith(under)}
        dirs = {moved(d) for d in self.child_dirs if d.startswith(under)}
        if resolved and self(link) and not self(resolved):
            exact.add(resolved)
            dirs.add(resolved)
        return globs, exact, dirs


def env_paths(env: dict[str, str], workdir: str = "/") -> tuple[set[str], set[str]]:
    """(files, directories) that the trust-related variables of ``env`` name."""
    files: set[str] = set()
    dirs: set[str] = set()
    for var, kind in ENV_PATH_VARS:
        value = env.get(var)
        if not value:
            continue
        if kind == "file":
            p = _norm_abs(value, workdir)
            if p:
                files.add(p)
        elif kind == "dirs":
            for d in value.split(":"):
                p = _norm_abs(d, workdir)
                if p:
                    dirs.add(p)
        elif kind == "java-home":
            home = _norm_abs(value, workdir)
            if home:
                dirs.update({f"{home}/lib/security", f"{home}/jre/lib/security"})
        elif kind == "java-opts":
            for m in re.finditer(r"-Djavax\.net\.ssl\.trustStore=(\"[^\"]*\"|'[^']*'|\S+)", value):
                p = _norm_abs(m.group(1).strip("\"'"), workdir)
                if p:
                    files.add(p)
    return files, dirs


# ---------------------------------------------------------------------------
# Bounded streams


@mutable_record
class _Limits:
    """The bounds an image read stays within (sizes and counts)."""

    max_total: int
    max_member: int
    max_members: int
    max_extracted: int


class _Budget:
    def __init__(self, limits: _Limits, image: str) -> None:
        self.limits = limits
        self.image = image
        self.bytes = 0
        self.members = 0
        self.kept = 0

    def read(self, n: int) -> None:
        self.bytes += n
        if self.bytes > self.limits.max_total:
            raise InputError(
                f"{self.image}: more than {self.limits.max_total} bytes after decompression "
                f"(a compression bomb? raise the limit to read it)"
            )

    def member(self) -> None:
        self.members += 1
        if self.members > self.limits.max_members:
            raise InputError(f"{self.image}: more than {self.limits.max_members} tar members")

    def keep(self, n: int, name: str) -> None:
        if n > self.limits.max_member:
            raise InputError(
                f"{self.image}: /{name} is {n} bytes, over the {self.limits.max_member}-byte "
                f"limit for one trust file"
            )
        self.kept += n
        if self.kept > self.limits.max_extracted:
            raise InputError(
                f"{self.image}: trust files exceed {self.limits.max_extracted} bytes in all"
            )


class _Counting(io.RawIOBase):
    """Counts every byte read from ``inner`` against the budget."""

    def __init__(self, inner: IO[bytes], budget: _Budget) -> None:
        self.inner = inner
        self.budget = budget

    def readable(self) -> bool:
        return True

    def readinto(self, buf: Any) -> int:
        data = self.inner.read(len(buf))
        n = len(data)
        self.budget.read(n)
        buf[:n] = data
        return n


class _Slice(io.RawIOBase):
    """Bytes ``[offset, offset+size)`` of an open file, read with pread."""

    def __init__(self, fd: int, offset: int, size: int) -> None:
        self.fd = fd
        self.offset = offset
        self.size = size
        self.pos = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buf: Any) -> int:
        n = min(len(buf), self.size - self.pos)
        if n <= 0:
            return 0
        data = os.pread(self.fd, n, self.offset + self.pos)
        if not data:
            return 0
        buf[: len(data)] = data
        self.pos += len(data)
        return len(data)


def _decompressor(raw: IO[bytes], magic: bytes, what: str) -> IO[bytes]:
    if magic.startswith(_MAGIC_GZIP):
        return cast(IO[bytes], gzip.GzipFile(fileobj=raw, mode="rb"))
    if magic.startswith(_MAGIC_BZIP2):
        import bz2

        return bz2.BZ2File(raw)
    if magic.startswith(_MAGIC_XZ):
        import lzma

        return lzma.LZMAFile(raw)
    if magic.startswith(_MAGIC_ZSTD):
        try:  # Python 3.14+
            zstd = importlib.import_module("compression.zstd")
            return zstd.ZstdFile(raw)  # type: ignore[no-any-return]
        except ImportError:
            pass
        try:
            zstandard = importlib.import_module("zstandard")
        except ImportError:
            raise InputError(
                f"{what} is zstd-compressed; reading zstd needs the zstandard package "
                f"(pip install 'trustdoctor[zstd]') or Python 3.14 "
                f"(or re-export the image with gzip layers)"
            ) from None
        # The window is bounded (128 MiB, zstd's own default limit): a frame
        # asking for more is refused instead of allocated.
        dctx = zstandard.ZstdDecompressor(max_window_size=_ZSTD_MAX_WINDOW)
        return cast(IO[bytes], dctx.stream_reader(raw, closefd=False))
    return raw


class _Prefixed(io.RawIOBase):
    """``head`` (bytes already read to sniff the compression), then the rest of ``rest``."""

    def __init__(self, head: bytes, rest: IO[bytes]) -> None:
        self.head = head
        self.rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buf: Any) -> int:
        if self.head:
            n = min(len(buf), len(self.head))
            buf[:n] = self.head[:n]
            self.head = self.head[n:]
            return n
        data = self.rest.read(len(buf))
        buf[: len(data)] = data
        return len(data)


# ---------------------------------------------------------------------------
# The outer archive


@mutable_record
class _OuterMember:
    """A member of an image archive's outer tar: a file at an offset, or a link."""

    kind: str  # "file" | "link"
    offset: int = 0
    size: int = 0
    target: str = ""


class _Outer:
    """Random access to the members of the (uncompressed) outer tar."""

    def __init__(self, tar_path: Path, image: str, budget: _Budget) -> None:
        self.image = image
        self.members: dict[str, _OuterMember] = {}
        self.fh = open(tar_path, "rb")  # noqa: SIM115 - closed in close()
        try:
            with tarfile.open(fileobj=self.fh, mode="r:") as tf:
                while True:
                    ti = tf.next()
                    if ti is None:
                        break
                    _forget_members(tf)  # we keep our own index
                    budget.member()
                    name = posixpath.normpath(ti.name).lstrip("/")
                    if ti.isreg():
                        self.members[name] = _OuterMember("file", ti.offset_data, ti.size)
                    elif ti.issym():
                        here = posixpath.dirname(name)
                        target = posixpath.normpath(posixpath.join(here, ti.linkname))
                        self.members[name] = _OuterMember("link", target=target.lstrip("/"))
                    elif ti.islnk():
                        self.members[name] = _OuterMember("link", target=ti.linkname.lstrip("/"))
        except (tarfile.TarError, EOFError, OSError) as exc:
            self.fh.close()
            raise InputError(f"{image}: not a readable tar archive ({_why(exc)})") from None

    def close(self) -> None:
        self.fh.close()

    def find(self, name: str) -> _OuterMember | None:
        name = posixpath.normpath(name).lstrip("/")
        for _ in range(16):  # links inside the archive (older docker save layer.tar links)
            m = self.members.get(name)
            if m is None or m.kind == "file":
                return m
            name = m.target
        return None

    def open(self, name: str, what: str) -> IO[bytes]:
        m = self.find(name)
        if m is None:
            raise InputError(f"{self.image}: {what} {name!r} is missing from the archive")
        return io.BufferedReader(_Slice(self.fh.fileno(), m.offset, m.size), 1024 * 1024)

    def json(self, name: str, what: str) -> Any:
        m = self.find(name)
        if m is None:
            raise InputError(f"{self.image}: {what} {name!r} is missing from the archive")
        if m.size > MAX_JSON:
            raise InputError(f"{self.image}: {what} {name!r} is larger than {MAX_JSON} bytes")
        raw = os.pread(self.fh.fileno(), m.size, m.offset)
        try:
            return json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise InputError(f"{self.image}: {what} {name!r} is not valid JSON") from None


class _DirStore:
    """The same access as :class:`_Outer`, over an image layout directory.

    Names are resolved inside the directory (a symlink may point elsewhere in
    it, as old ``docker save`` layer links do, never out of it), and only
    regular files are read (a FIFO is refused before any read).
    """

    def __init__(self, root: Path, image: str) -> None:
        self.image = image
        self.root = Path(os.path.realpath(root))

    def close(self) -> None:
        pass

    def _path(self, name: str) -> Path | None:
        parts = [p for p in name.split("/") if p not in ("", ".")]
        if ".." in parts:
            return None
        real = os.path.realpath(self.root.joinpath(*parts))
        if os.path.commonpath([str(self.root), real]) != str(self.root):
            return None
        return Path(real)

    def find(self, name: str) -> Path | None:
        p = self._path(name)
        return p if p is not None and p.is_file() else None

    def _fd(self, name: str, what: str) -> int:
        p = self.find(name)
        if p is None:
            raise InputError(f"{self.image}: {what} {name!r} is missing from the directory")
        try:
            fd = os.open(p, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError as exc:
            raise InputError(f"{self.image}: {what} {name!r}: {exc.strerror}") from None
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise InputError(f"{self.image}: {what} {name!r} is not a regular file")
        os.set_blocking(fd, True)
        return fd

    def open(self, name: str, what: str) -> IO[bytes]:
        return open(self._fd(name, what), "rb", buffering=1024 * 1024)

    def json(self, name: str, what: str) -> Any:
        with open(self._fd(name, what), "rb") as fh:
            raw = fh.read(MAX_JSON + 1)
        if len(raw) > MAX_JSON:
            raise InputError(f"{self.image}: {what} {name!r} is larger than {MAX_JSON} bytes")
        try:
            return json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise InputError(f"{self.image}: {what} {name!r} is not valid JSON") from None


def _zstd_errors() -> tuple[type[BaseException], ...]:
    """``zstandard.ZstdError`` when that package is loaded (it is not an OSError)."""
    import sys

    mod = sys.modules.get("zstandard")
    err = getattr(mod, "ZstdError", None) if mod is not None else None
    return (err,) if isinstance(err, type) and issubclass(err, BaseException) else ()


def _forget_members(tf: tarfile.TarFile) -> None:
    """Drop TarFile's list of seen members (it grows by one per member otherwise)."""
    members = getattr(tf, "members", None)
    if isinstance(members, list):
        members.clear()


def _why(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:160]


# ---------------------------------------------------------------------------
# Layer application


@mutable_record
class _Node:
    """One path of the merged image file system, and the layer it comes from."""

    kind: str  # "file" | "dir" | "link"
    layer: int
    data: bytes = b""
    target: str = ""
    # Kept in case a link met later in the pass points at it (``sh -> dash``
    # with dash first in the tar); dropped at the end unless wanted.
    speculative: bool = False


@mutable_record
class _Layer:
    """One layer blob of an image, and how messages name it."""

    name: str  # archive path of the blob
    label: str  # for messages: "layer 2 (sha256:abcd1234...)"
    desc: Any = None  # the registry descriptor (registry.Descriptor) of a pulled layer


class _Tree:
    """The merged filesystem, for the paths we track, in memory."""

    def __init__(self) -> None:
        self.nodes: dict[str, _Node] = {}
        self.kids: dict[str, set[str]] = {}
        self.missing: set[str] = set()  # hard-link targets we did not keep
        self.seen: set[str] = set()  # non-directory members of this pass (bounded)
        self.seen_overflow = False
        self.redirects_left = 1000  # in-pass matcher extensions (each recompiles a regex)
        self.speculative_bytes = 0

    def saw(self, path: str) -> None:
        if len(self.seen) < _MAX_SEEN:
            self.seen.add(path)
        else:
            self.seen_overflow = True

    def add(self, path: str, node: _Node) -> None:
        self.nodes[path] = node
        child = path
        while child:
            parent = posixpath.dirname(child)
            siblings = self.kids.setdefault(parent, set())
            if child in siblings:
                break
            siblings.add(child)
            child = parent

    def drop(self, path: str, older_than: int | None = None) -> None:
        """Remove ``path`` and what is below it (only entries older than a layer, if given)."""
        stack = [(path, False)]
        while stack:
            p, done = stack.pop()
            if not done:
                stack.append((p, True))
                stack.extend((c, False) for c in self.kids.get(p, ()))
                continue
            node = self.nodes.get(p)
            if node is not None and (older_than is None or node.layer < older_than):
                del self.nodes[p]
            if p not in self.nodes and not self.kids.get(p):
                self.kids.pop(p, None)
                if p:
                    self.kids.get(posixpath.dirname(p), set()).discard(p)

    def blocked_by(self, path: str) -> str | None:
        """An ancestor of ``path`` that is a symlink or a file, if any."""
        parent = posixpath.dirname(path)
        while parent:
            node = self.nodes.get(parent)
            if node is not None and node.kind != "dir":
                return parent
            parent = posixpath.dirname(parent)
        return None

    def resolve(self, path: str) -> tuple[str | None, list[str]]:
        """Resolve ``path`` inside the root (chroot semantics); None on a loop."""
        todo = path.split("/")
        todo.reverse()
        cur: list[str] = []
        traversed: list[str] = []
        hops = 0
        while todo:
            c = todo.pop()
            if c in ("", "."):
                continue
            if c == "..":
                if cur:
                    cur.pop()
                continue
            cand = "/".join([*cur, c])
            node = self.nodes.get(cand)
            if node is not None and node.kind == "link":
                hops += 1
                if hops > 40:  # Linux MAXSYMLINKS
                    return None, traversed
                traversed.append(cand)
                if node.target.startswith("/"):
                    cur = []
                parts = node.target.split("/")
                parts.reverse()
                todo.extend(parts)
                continue
            cur.append(c)
        return "/".join(cur), traversed


class _Extractor:
    def __init__(
        self,
        kind: str,
        target: Path | ImageRef,
        tmp: Path,
        limits: _Limits,
        extra: tuple[str, ...],
        pull: PullOptions | None = None,
        reduced: dict[str, Reduction] | None = None,
    ) -> None:
        self.kind = kind
        # (which paths, what to keep of them), in the order given; one matcher
        # for them all first (every member of every layer is tried).
        table = reduced or {}
        globs = [p for p in table if any(c in p for c in "*?")]
        exact = [_norm(p) for p in table if p not in globs]
        self.reduced_any = _Matcher(globs, exact, ())
        self.reduced = [
            (_Matcher([p], (), ()) if p in globs else _Matcher((), [_norm(p)], ()), r)
            for p, r in table.items()
        ]
        self.target = target
        self.src = target if isinstance(target, Path) else Path(".")
        self.image = (
            (self.src.name or str(self.src)) if isinstance(target, Path) else str(target)
        )
        self.tmp = tmp
        self.limits = limits
        self.extra = extra
        self.pull = pull
        self.platform: Platform = (pull.platform if pull is not None else None) or host_platform(
            _platform.machine()
        )
        self.explicit_platform = pull is not None and pull.platform is not None
        self.warnings: list[str] = []
        self.budget = _Budget(limits, self.image)
        self.store: _Outer | _DirStore | None = None
        self.remote: RemoteImage | None = None
        self.outer_path: Path | None = None

    # -- top level ------------------------------------------------------

    def _open_source(self) -> tuple[str, dict[str, Any], list[_Layer], str | None]:
        if self.kind == "reference":
            from .registry import PullOptions, RemoteImage

            assert isinstance(self.target, ImageRef)
            self.remote = RemoteImage(
                self.target, self.pull or PullOptions(), host_machine=_platform.machine()
            )
            config, descs = self.remote.layout()
            self.remote.check_total(descs, self.limits.max_total)
            layers = [
                _Layer(d.digest, f"layer {i} ({d.digest[:19]}…)", d)
                for i, d in enumerate(descs, 1)
            ]
            return "registry", config, layers, self.image
        if self.kind == "layout":
            self.store = _DirStore(self.src, self.image)
        else:
            self.outer_path = self._outer_tar()
            self.store = _Outer(self.outer_path, self.image, self.budget)
        return self._layout(self.store)

    def _close_source(self) -> None:
        if self.store is not None:
            self.store.close()
        if self.outer_path is not None and self.outer_path.parent == self.tmp:
            self.outer_path.unlink(missing_ok=True)
        if self.remote is not None:
            self.warnings.extend(self.remote.warnings)
            self.remote.close()

    @contextlib.contextmanager
    def _open_layer(self, layer: _Layer) -> Iterator[IO[bytes]]:
        if self.remote is not None:
            with self.remote.open_blob(layer.desc, layer.label) as fh:
                yield fh
            return
        assert self.store is not None
        fh = self.store.open(layer.name, layer.label)
        try:
            yield fh
        finally:
            fh.close()

    def run(self) -> ExtractedImage:
        try:
            fmt, config, layers, reference = self._open_source()
            env = _config_env(config)
            workdir = str((config.get("config") or {}).get("WorkingDir") or "/")
            files, dirs = env_paths(env, workdir)
            globs = list(TRUST_PATHS)
            for p in self.extra:
                if any(c in p for c in "*?"):
                    globs.append(p)
                else:
                    n = _norm_abs(p)
                    if n:
                        files.add(n)
                        dirs.add(n)
            matcher = _Matcher(globs, files, dirs)
            tree = _Tree()
            for attempt in range(_MAX_PASSES):
                self.budget = _Budget(self.limits, self.image)
                pass_warnings: list[str] = []
                before, reduced_before = matcher.copy(), self.reduced_any.copy()
                tree = self._apply(layers, matcher, pass_warnings)
                rescan = self._needs_rescan(tree, before, matcher, reduced_before)
                if not rescan or attempt == _MAX_PASSES - 1:
                    self.warnings.extend(pass_warnings)
                    break
            unwanted = [p for p, n in tree.nodes.items() if n.speculative and not matcher(p)]
            for p in unwanted:
                tree.drop(p)
        finally:
            self._close_source()
        root = self.tmp / "root"
        os.mkdir(root, 0o700)
        nfiles, links = self._materialize(tree, matcher, root)
        return ExtractedImage(
            root=root,
            env=env,
            config=config,
            format=fmt,
            reference=reference,
            layers=len(layers),
            files=nfiles,
            links=links,
            warnings=tuple(dict.fromkeys(self.warnings)),
            digest=self.remote.digest if self.remote is not None else None,
            transferred=self.remote.client.transferred if self.remote is not None else 0,
            cached_layers=self.remote.from_cache if self.remote is not None else 0,
        )

    def _outer_tar(self) -> Path:
        """The outer archive as a seekable plain tar (decompressed into tmp if needed)."""
        try:
            # O_NONBLOCK: opening a FIFO nobody writes to would otherwise block
            # forever.  The archive needs random access, so only regular files
            # are accepted (a pipe or /dev/zero is refused before any read).
            try:
                fd = os.open(self.src, os.O_RDONLY | os.O_NONBLOCK)
            except (FileNotFoundError, PermissionError):
                raise
            except OSError as exc:  # ELOOP, EIO...: not "corrupt", just unreadable
                raise InputError(f"{self.src}: cannot read ({exc.strerror or _why(exc)})") from None
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                os.close(fd)
                if stat.S_ISDIR(st.st_mode):
                    raise IsADirectoryError
                raise InputError(
                    f"{self.src}: not a regular file (a pipe or a device); save the image "
                    f"to a file first (docker save -o image.tar IMAGE)"
                )
            os.set_blocking(fd, True)
            with open(fd, "rb") as fh:
                magic = fh.read(8)
                if not magic.startswith((_MAGIC_GZIP, _MAGIC_BZIP2, _MAGIC_XZ, _MAGIC_ZSTD)):
                    return self.src
                fh.seek(0)
                out = self.tmp / "outer.tar"
                src = _Counting(_decompressor(fh, magic, self.image), self.budget)
                with open(out, "xb") as dst:
                    shutil.copyfileobj(src, dst, 1024 * 1024)
                return out
        except IsADirectoryError:
            raise InputError(
                f"{self.image}: is a directory; give the image as a tar "
                f"(docker save, or tar -C DIR -cf image.tar .)"
            ) from None
        except FileNotFoundError:
            raise InputError(f"{self.src}: no such file") from None
        except PermissionError:
            raise InputError(f"{self.src}: permission denied") from None
        except (EOFError, zlib.error, OSError) as exc:
            raise InputError(f"{self.image}: corrupt compressed archive ({_why(exc)})") from None

    # -- layout ---------------------------------------------------------

    def _layout(
        self, outer: _Outer | _DirStore
    ) -> tuple[str, dict[str, Any], list[_Layer], str | None]:
        if outer.find("manifest.json") is not None:
            return self._docker_save(outer)
        if outer.find("index.json") is not None:
            return self._oci(outer)
        if isinstance(outer, _DirStore):
            raise InputError(
                f"{self.image}: is a directory but not an OCI image layout or docker save "
                f"directory (no index.json or manifest.json)"
            )
        raise InputError(
            f"{self.image}: not a docker save archive or OCI image layout "
            f"(no manifest.json or index.json)"
        )

    def _docker_save(
        self, outer: _Outer | _DirStore
    ) -> tuple[str, dict[str, Any], list[_Layer], str | None]:
        manifest = outer.json("manifest.json", "manifest")
        if not isinstance(manifest, list) or not manifest or not isinstance(manifest[0], dict):
            raise InputError(f"{self.image}: manifest.json is not a list of images")
        entry = manifest[0]
        tags = entry.get("RepoTags") or []
        if len(manifest) > 1:
            self.warnings.append(
                f"the archive holds {len(manifest)} images; only the first was read"
            )
        config_name = entry.get("Config")
        layer_names = entry.get("Layers")
        if not isinstance(config_name, str) or not isinstance(layer_names, list):
            raise InputError(f"{self.image}: manifest.json has no Config/Layers")
        config = outer.json(config_name, "image config")
        if not isinstance(config, dict):
            raise InputError(f"{self.image}: image config is not a JSON object")
        layers = []
        for i, name in enumerate(layer_names, 1):
            if not isinstance(name, str):
                raise InputError(f"{self.image}: manifest.json layer {i} is not a path")
            layers.append(_Layer(name, f"layer {i} ({name})"))
        ref = tags[0] if tags and isinstance(tags[0], str) else None
        return "docker-save", config, layers, ref

    def _blob(self, digest: Any, what: str) -> str:
        if not isinstance(digest, str) or not _DIGEST.match(digest):
            raise InputError(f"{self.image}: {what} has a malformed digest {str(digest)[:80]!r}")
        alg, hexd = digest.split(":", 1)
        return f"blobs/{alg}/{hexd}"

    def _oci(
        self, outer: _Outer | _DirStore
    ) -> tuple[str, dict[str, Any], list[_Layer], str | None]:
        doc = outer.json("index.json", "OCI index")
        ref: str | None = None
        for _depth in range(4):  # index -> (nested index) -> manifest
            if not isinstance(doc, dict):
                raise InputError(f"{self.image}: OCI index/manifest is not a JSON object")
            if "layers" in doc:
                break
            descs = doc.get("manifests")
            if not isinstance(descs, list) or not descs:
                raise InputError(f"{self.image}: OCI index lists no manifests")
            desc = choose_manifest(
                descs,
                self.platform,
                explicit=self.explicit_platform,
                image=self.image,
                warnings=self.warnings,
            )
            ann = desc.get("annotations") or {}
            if isinstance(ann, dict) and ref is None:
                name = ann.get("io.containerd.image.name") or ann.get(
                    "org.opencontainers.image.ref.name"
                )
                ref = name if isinstance(name, str) else None
            doc = outer.json(self._blob(desc.get("digest"), "manifest"), "manifest")
        else:
            raise InputError(f"{self.image}: OCI indexes nested too deeply")
        cfg_desc = doc.get("config")
        layer_descs = doc.get("layers")
        if not isinstance(cfg_desc, dict) or not isinstance(layer_descs, list):
            raise InputError(f"{self.image}: OCI manifest has no config/layers")
        config = outer.json(self._blob(cfg_desc.get("digest"), "config"), "image config")
        if not isinstance(config, dict):
            raise InputError(f"{self.image}: image config is not a JSON object")
        layers = []
        for i, ld in enumerate(layer_descs, 1):
            if not isinstance(ld, dict):
                raise InputError(f"{self.image}: OCI manifest layer {i} is not an object")
            digest = ld.get("digest")
            name = self._blob(digest, f"layer {i}")
            layers.append(_Layer(name, f"layer {i} ({str(digest)[:19]}…)"))
        return "oci", config, layers, ref

    # -- layers ---------------------------------------------------------

    def _apply(self, layers: list[_Layer], match: _Matcher, warnings: list[str]) -> _Tree:
        tree = _Tree()
        for number, layer in enumerate(layers, 1):
            what = f"{self.image}: {layer.label}"
            with self._open_layer(layer) as raw:
                try:
                    magic = raw.read(8)
                    if not magic:
                        continue  # an empty blob is an empty layer
                    head = cast(IO[bytes], io.BufferedReader(_Prefixed(magic, raw)))
                    stream = _Counting(_decompressor(head, magic, what), self.budget)
                    with tarfile.open(fileobj=stream, mode="r|", bufsize=_TAR_BUFSIZE) as tf:
                        self._apply_layer(tf, number, layer, tree, match, warnings)
                except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
                    raise InputError(f"{what}: corrupt or truncated layer ({_why(exc)})") from None
                except ImportError:  # pragma: no cover - lzma/bz2 missing from this Python
                    raise InputError(f"{what}: compression not supported by this Python") from None
                except _zstd_errors() as exc:
                    raise InputError(f"{what}: corrupt zstd layer ({_why(exc)})") from None
        return tree

    def _member_path(self, name: str, layer: _Layer, what: str = "member") -> str:
        if name.startswith("/"):
            raise UnsafePathError(
                f"{self.image}: {layer.label}: {what} {name[:120]!r} has an absolute path; "
                f"image refused"
            )
        parts = [p for p in name.split("/") if p not in ("", ".")]
        if ".." in parts:
            raise UnsafePathError(
                f"{self.image}: {layer.label}: {what} {name[:120]!r} contains '..'; image refused"
            )
        if len(parts) > _MAX_DEPTH:
            raise InputError(f"{self.image}: {layer.label}: {what} path is too deep")
        return "/".join(parts)

    def _apply_layer(
        self,
        tf: tarfile.TarFile,
        number: int,
        layer: _Layer,
        tree: _Tree,
        match: _Matcher,
        warnings: list[str],
    ) -> None:
        while True:
            ti = tf.next()
            if ti is None:
                return
            _forget_members(tf)  # stream mode: we never look back; keep memory flat
            self.budget.member()
            path = self._member_path(ti.name, layer)
            if not path:
                continue
            base = posixpath.basename(path)
            parent = posixpath.dirname(path)
            if base.startswith(".wh."):
                if base == ".wh..wh..opq":
                    for child in list(tree.kids.get(parent, ())):
                        tree.drop(child, older_than=number)
                elif not base.startswith(".wh..wh."):
                    tree.drop(posixpath.join(parent, base[4:]), older_than=number)
                continue
            existing = tree.nodes.get(path)
            if ti.isdir():
                if existing is not None and existing.kind != "dir":
                    tree.drop(path)
                if match(path) and tree.blocked_by(path) is None:
                    tree.add(path, _Node("dir", number))
                continue
            # Any non-directory replaces whatever the lower layers had here.
            if existing is not None or path in tree.kids:
                tree.drop(path)
            if not ti.isdir():
                tree.saw(path)
            if ti.issym():
                if tree.blocked_by(path) is None:
                    tree.add(path, _Node("link", number, target=ti.linkname))
                    left = tree.redirects_left > 0
                    trust = left and (match(path) or path in match.ancestors)
                    reduced = left and self._reduced_link(path)
                    if trust or reduced:
                        # Keep what lies behind the link from now on in this
                        # pass; a program kept in part (/usr/local/bin/node ->
                        # /opt/node-v20/bin/node) likewise, reduced so.
                        resolved = tree.resolve(path)[0]
                        if resolved is not None:
                            if trust and match.add(*match.redirect(path, resolved)):
                                tree.redirects_left -= 1
                            if reduced and self._reduce_through(path, resolved, match):
                                tree.redirects_left -= 1
                continue
            if not (ti.isreg() or ti.islnk()):
                continue  # devices, FIFOs
            reduction = None
            if self.reduced_any(path):
                reduction = next((r for m, r in self.reduced if m(path)), None)
            if reduction is not None and ti.isreg():
                if tree.blocked_by(path) is None:
                    fh = tf.extractfile(ti)
                    data = reduce_stream(fh, reduction) if fh is not None else b""
                    self.budget.keep(len(data), path)
                    tree.add(path, _Node("file", number, data=data))
                continue
            speculative = False
            if not match(path) and reduction is None:
                speculative = (
                    ti.isreg()
                    and parent in match.parents
                    and ti.size <= _SPECULATIVE_FILE
                    and tree.speculative_bytes + ti.size <= _SPECULATIVE_TOTAL
                )
                if not speculative:
                    continue  # a file trust does not need
            blocker = tree.blocked_by(path)
            if blocker is not None:
                warnings.append(
                    f"{layer.label}: /{path} lies below /{blocker}, which is not a directory; "
                    f"not written through it"
                )
                continue
            if ti.islnk():
                target = self._member_path(ti.linkname, layer, "hard link target")
                src = tree.nodes.get(target)
                if src is not None and src.kind == "file":
                    tree.add(path, _Node("file", number, data=src.data))
                else:
                    tree.missing.add(target)
                continue
            if speculative:
                tree.speculative_bytes += ti.size
            else:
                self.budget.keep(ti.size, path)
            fh = tf.extractfile(ti)
            data = fh.read() if fh is not None else b""
            tree.add(path, _Node("file", number, data=data, speculative=speculative))

    # -- after the layers -------------------------------------------------

    def _relevant_links(self, tree: _Tree, match: _Matcher) -> dict[str, str | None]:
        """Links to write: path -> resolved in-root target (None: a loop)."""
        present: set[str] = set()
        for p, n in tree.nodes.items():
            if n.kind != "link":
                present.add(p)
                while p:
                    p = posixpath.dirname(p)
                    if p in present:
                        break
                    present.add(p)
        links = {p: tree.resolve(p) for p, n in tree.nodes.items() if n.kind == "link"}
        out: dict[str, str | None] = {}

        def want(p: str) -> None:
            resolved, traversed = links[p]
            out[p] = resolved
            for hop in (p, *traversed):
                out.setdefault(hop, links[hop][0] if hop in links else None)
                while hop and hop not in present:  # its directory will exist
                    present.add(hop)
                    hop = posixpath.dirname(hop)

        # Links that are trust paths (or their ancestors) first; then, until
        # nothing changes, links that lead to something we keep (alias
        # directories such as /usr/lib/jvm/default-java).
        for p in links:
            if match(p) or p in match.ancestors:
                want(p)
        for _round in range(4):
            before = len(out)
            for p, (resolved, _t) in links.items():
                if p not in out and resolved is not None and resolved in present:
                    want(p)
            if len(out) == before:
                break
        return out

    def _reduced_link(self, link: str) -> bool:
        """Whether a symlink at ``link`` is (or leads to) a path kept in part."""
        return self.reduced_any(link) or link in self.reduced_any.ancestors

    def _reduce_through(self, link: str, resolved: str, match: _Matcher) -> bool:
        """Reduce what the paths kept in part name through ``link`` at its target
        (``resolved``), as they are reduced; True if that is new.  Never a file
        kept whole (a link from a program's path to a CA bundle)."""
        added = False
        for m, reduction in list(self.reduced):
            globs, exact, _dirs = m.redirect(link, resolved)  # (a program: no entries)
            exact = {e for e in exact if not match(e)}
            if (globs or exact) and self.reduced_any.add(globs, exact, ()):
                self.reduced.append((_Matcher(globs, exact, ()), reduction))
                added = True
        return added

    def _needs_rescan(
        self, tree: _Tree, before: _Matcher, match: _Matcher, reduced_before: _Matcher
    ) -> bool:
        """Extend ``match`` (and the paths kept in part) with what the final links
        need; rescan if a seen file was missed."""
        for p, n in list(tree.nodes.items()):
            if n.kind != "link":
                continue
            trust = match(p) or p in match.ancestors
            reduced = self._reduced_link(p)
            resolved = tree.resolve(p)[0] if trust or reduced else None
            if resolved is None:
                continue
            if trust:
                match.add(*match.redirect(p, resolved))
            if reduced:
                self._reduce_through(p, resolved, match)
        match.add((), tree.missing, ())
        new = [
            _Matcher(
                [g for g in now.globs if g not in was.globs],
                now.exact - was.exact,
                now.child_dirs - was.child_dirs,
            )
            for now, was in ((match, before), (self.reduced_any, reduced_before))
        ]
        new = [m for m in new if m.globs or m.exact or m.child_dirs]
        if not new:
            return False
        if tree.seen_overflow:
            return True
        return any(m(p) for p in tree.seen if p not in tree.nodes for m in new)

    def _materialize(self, tree: _Tree, match: _Matcher, root: Path) -> tuple[int, dict[str, str]]:
        nfiles = 0
        for p, n in sorted(tree.nodes.items()):
            if n.kind == "dir":
                _safe_makedirs(root, p)
            elif n.kind == "file":
                _safe_makedirs(root, posixpath.dirname(p))
                fd = os.open(root / p, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
                with os.fdopen(fd, "wb") as fh:
                    fh.write(n.data)
                nfiles += 1
        links: dict[str, str] = {}
        for p, resolved in sorted(self._relevant_links(tree, match).items()):
            original = tree.nodes[p].target
            if resolved is None:
                self.warnings.append(f"symlink /{p} -> {original} loops; not written")
                continue
            parent = posixpath.dirname(p)
            _safe_makedirs(root, parent)
            # Relative to the link's own (real) directory, never above the root.
            rel = posixpath.relpath(resolved or ".", parent or ".")
            try:
                os.symlink(rel, root / p)
            except FileExistsError:
                continue
            links[p] = original
        for t in sorted(tree.missing):
            if t not in tree.nodes:
                self.warnings.append(f"hard link target /{t} is not in the image; link skipped")
        return nfiles, links


def _safe_makedirs(root: Path, rel: str) -> None:
    """Create ``root/rel`` as real directories; refuse to pass through a symlink."""
    cur = root
    for part in [p for p in rel.split("/") if p]:
        cur = cur / part
        try:
            os.mkdir(cur, 0o700)
        except FileExistsError:
            if not stat.S_ISDIR(os.lstat(cur).st_mode):
                raise UnsafePathError(f"{cur}: not a directory while extracting; stopped") from None


def _config_env(config: dict[str, Any]) -> dict[str, str]:
    inner = config.get("config") or {}
    raw = inner.get("Env") if isinstance(inner, dict) else None
    env: dict[str, str] = {}
    if isinstance(raw, list):
        for item in raw:
            if isinstance(item, str) and "=" in item:
                k, v = item.split("=", 1)
                if k and k not in env:
                    env[k] = v
    return env
