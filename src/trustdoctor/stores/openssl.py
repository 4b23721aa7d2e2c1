"""OpenSSL's default verify paths, and the clients that use them (Python ``ssl``).

``SSL_CTX_set_default_verify_paths`` → ``X509_STORE_set_default_paths_ex``
(crypto/x509/x509_d2.c, x509_def.c):

* CAfile = ``$SSL_CERT_FILE`` if the variable *exists* (even empty: then
  nothing is loaded; checked with OpenSSL 3.0.19), else ``OPENSSLDIR/cert.pem``.
  Loaded whole: one broken PEM block voids the file (see :mod:`.pemfile`).
* CApath = ``$SSL_CERT_DIR`` (``:``-separated) or ``OPENSSLDIR/certs``.  Only
  ``<hash>.<n>`` names count (crypto/x509/by_dir.c ``get_cert_by_subject``:
  ``%08lx.%d`` with n counting from 0 until a name is missing), where hash is
  the subject-name hash (:mod:`.subject_hash`).  A PEM merely copied into the
  directory is invisible until ``openssl rehash``.
* Missing files and directories are silently ignored.
* A path must end at a self-signed anchor (no ``X509_V_FLAG_PARTIAL_CHAIN``),
  except in Python ≥ 3.13 which sets it (cpython#107361).

OPENSSLDIR is compiled into libcrypto (``OpenSSL_version(OPENSSL_DIR)`` prints
the literal ``OPENSSLDIR: "<dir>"`` string kept in the library); it is read
from the root's libcrypto when present, else taken from the distro table.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from ..model.anchors import Anchor
from ..model.cert import Provenance
from ..model.findings import Code, Severity
from ..model.record import mutable_record, record
from ..model.stores import ClientStore, SourceStatus, StoreContext
from . import pemfile
from .base import (
    Builder,
    block_limit_finding,
    entries_limit_finding,
    finding,
    limit_finding,
    oserror_status,
    unreadable_finding,
)
from .certs import anchors_from_blocks, parse_der
from .rootfs import LimitExceeded, Listing, describe_oserror, parent
from .subject_hash import subject_hash

if TYPE_CHECKING:
    from ..engine.policies import Policy

CAFILE_ENV = "SSL_CERT_FILE"  # X509_get_default_cert_file_env()
CAPATH_ENV = "SSL_CERT_DIR"  # X509_get_default_cert_dir_env()
_HASH_NAME = re.compile(r"^([0-9a-f]{8})\.([0-9]+)$")

# Directories a distribution keeps libcrypto in (multiarch first: Debian/Ubuntu).
LIB_DIRS: tuple[str, ...] = (
    "/usr/lib/x86_64-linux-gnu",
    "/usr/lib/aarch64-linux-gnu",
    "/lib/x86_64-linux-gnu",
    "/lib/aarch64-linux-gnu",
    "/usr/lib64",
    "/lib64",
    "/usr/lib",
    "/lib",
    "/usr/local/lib",
    "/usr/local/lib64",
)


@record
class OpenSSLInfo:
    """Where this root's OpenSSL looks by default, and how we know."""

    openssldir: str | None
    libcrypto: str | None
    how: str  # "libcrypto" or "distro table" or "none"


def find_libs(ctx: StoreContext, prefix: str) -> list[str]:
    """Shared libraries named ``prefix*`` in the usual library directories."""
    memo = ctx.fs.memo.setdefault("libs", {})
    assert isinstance(memo, dict)
    if prefix in memo:
        return list(memo[prefix])
    found: list[str] = []
    seen: set[str] = set()
    for d in LIB_DIRS:
        try:
            listing = ctx.fs.listdir(d, limit=20_000)
        except OSError:
            continue
        if listing.path in seen:
            continue  # /lib -> /usr/lib on merged-/usr systems
        seen.add(listing.path)
        for e in listing.entries:
            if e.name.startswith(prefix) and not e.is_dir and not e.name.endswith(".a"):
                found.append(f"{d}/{e.name}")
    memo[prefix] = tuple(found)
    return found


def openssl_info(ctx: StoreContext) -> OpenSSLInfo:
    memo = ctx.fs.memo.get("openssl_info")
    if isinstance(memo, OpenSSLInfo):
        return memo
    info = OpenSSLInfo(
        ctx.distro.facts.openssldir, None, "distro table" if ctx.distro.facts.openssldir else "none"
    )
    # Prefer the real library: libcrypto.so.3 over .so.1.1 over others.
    libs = sorted(
        find_libs(ctx, "libcrypto.so"), key=lambda p: ("so.3" not in p, "so.1.1" not in p, p)
    )
    for lib in libs:
        try:
            hit = ctx.fs.search_regex(lib, rb'OPENSSLDIR: "([^"\x00]{1,200})"')
        except OSError:
            continue
        if hit:
            info = OpenSSLInfo(hit.decode("latin-1"), lib, "libcrypto")
            break
    ctx.fs.memo["openssl_info"] = info
    return info


def present(ctx: StoreContext) -> bool:
    return bool(find_libs(ctx, "libcrypto.so")) or ctx.fs.exists("/usr/bin/openssl")


def _load_cafile(ctx: StoreContext, b: Builder, path: str, detail: str) -> str | None:
    """Load a CAfile like ``X509_load_cert_crl_file``; return why nothing loaded, or ``None``.

    The returned words feed a client's ``load_error`` (its own message
    quoting the failure); the findings carry codes.
    """
    fs = ctx.fs
    try:
        data = fs.read_bytes(path)
    except OSError as exc:
        status = oserror_status(exc)
        b.source(
            path,
            "file",
            status,
            None,
            detail if status == SourceStatus.MISSING else describe_oserror(exc),
        )
        if isinstance(exc, LimitExceeded):
            b.add(limit_finding(b.client, path, exc))
        elif status != SourceStatus.MISSING:
            b.add(unreadable_finding(b.client, path, exc, effect="openssl-no-cafile"))
        return describe_oserror(exc)
    b.files_read.append(path)
    if pemfile.truncated(data):
        b.add(block_limit_finding(b.client, path))
    blocks, why = pemfile.openssl_cafile(data)
    anchors, bad = anchors_from_blocks(blocks, path, detail)
    if bad and why is None:
        why = pemfile.Problem("does-not-parse", bad[0].line)
    if why is not None and why != pemfile.NO_CERTIFICATE:
        b.source(
            path,
            "file",
            SourceStatus.REJECTED,
            0,
            f"OpenSSL loads nothing from this file: {why.detail}",
        )
        b.add(
            finding(
                Code.UNREADABLE_FILE,
                Severity.WARNING,
                client=b.client,
                path=path,
                reason=why.code,
                line=why.line,
                effect="openssl-drops-file",
            )
        )
        return why.detail
    if not anchors:
        empty = why.detail if why else "no certificate"
        b.source(path, "file", SourceStatus.EMPTY, 0, f"{detail}; {empty}")
        return pemfile.NO_CERTIFICATE.detail
    b.anchors.extend(anchors)
    b.source(path, "file", SourceStatus.USED, len(anchors), detail)
    return None


@record
class _Capath:
    """What a CApath directory holds for ``by_dir.c``, read once per root (the
    OpenSSL, curl and Python models, and their runs without the environment's
    overrides, read the same ``/etc/ssl/certs``): per hash, in lookup order,
    each file visited and its blocks, or the limit it broke (the lookup stops
    there); and the single-certificate files under other names.  Anchors are
    made from it per model (their provenance names the model's setting).
    ``linked``: the directory has ``<hash>.<n>`` names at all."""

    listing: Listing | None
    error: OSError | None
    hashed: tuple[tuple[str, str, tuple[pemfile.CertBlock, ...] | LimitExceeded], ...]
    unhashed: tuple[tuple[str, pemfile.CertBlock], ...]
    linked: bool


def _scan_capath(ctx: StoreContext, d: str) -> _Capath:
    fs = ctx.fs
    key = f"capath:{d}"
    hit = fs.memo.get(key)
    if isinstance(hit, _Capath):
        return hit
    try:
        listing = fs.listdir(d)
    except OSError as exc:
        scan = _Capath(None, exc, (), (), False)
        fs.memo[key] = scan
        return scan
    names = {e.name for e in listing.entries}
    hashes: dict[str, int] = {}
    for n in names:
        m = _HASH_NAME.match(n)
        if m:
            hashes[m.group(1)] = hashes.get(m.group(1), 0) + 1
    hashed: list[tuple[str, str, tuple[pemfile.CertBlock, ...] | LimitExceeded]] = []
    for h in sorted(hashes):
        k = 0
        while f"{h}.{k}" in names:  # by_dir.c: stop at the first missing suffix
            full = f"{d.rstrip('/')}/{h}.{k}"
            k += 1
            try:
                data = fs.read_bytes(full)
            except LimitExceeded as exc:
                hashed.append((h, full, exc))
                break
            except OSError:
                break  # X509_load_cert_file fails → the lookup stops
            blocks, _why = pemfile.openssl_sequential(data, trusted=True)
            if not blocks:
                break
            hashed.append((h, full, tuple(blocks)))
    # Certificates sitting in the directory under other names: invisible to
    # OpenSSL until rehashed (only single-certificate files get a link).
    unhashed: list[tuple[str, pemfile.CertBlock]] = []
    for e in listing.entries:
        if e.name in hashes or _HASH_NAME.match(e.name) or e.is_dir:
            continue
        if not e.name.endswith((".pem", ".crt", ".cer")):
            continue
        full = f"{d.rstrip('/')}/{e.name}"
        try:
            data = fs.read_bytes(full, 1024 * 1024)
        except OSError:
            continue
        blocks, _why = pemfile.openssl_sequential(data, trusted=True)
        if len(blocks) == 1:
            unhashed.append((full, blocks[0]))
    scan = _Capath(listing, None, tuple(hashed), tuple(unhashed), bool(hashes))
    fs.memo[key] = scan
    return scan


def _load_capath(
    ctx: StoreContext, b: Builder, d: str, detail: str, unhashed: list[Anchor]
) -> None:
    if not d.startswith("/"):
        d = "/" + d
    scan = _scan_capath(ctx, d)
    listing = scan.listing
    if listing is None:
        assert scan.error is not None
        status = oserror_status(scan.error)
        b.source(
            d,
            "hashdir",
            status,
            None,
            detail if status == SourceStatus.MISSING else describe_oserror(scan.error),
        )
        return
    if listing.truncated:
        b.add(entries_limit_finding(b.client, d, len(listing.entries)))
    count = 0
    reachable: set[str] = set()
    for h, full, got in scan.hashed:
        if isinstance(got, LimitExceeded):
            b.add(limit_finding(b.client, full, got))
            continue
        anchors, _bad = anchors_from_blocks(got, full, f"{detail} hash link")
        for a in anchors:
            if subject_hash(a.cert.subject_der) == h:
                b.anchors.append(a)
                reachable.add(a.cert.sha256)
                count += 1
    for full, block in scan.unhashed:
        info = parse_der(block.der)
        if info is None or info.sha256 in reachable:
            continue
        unhashed.append(Anchor(info, Provenance(full, 0, block.line, f"no hash link in {d}")))
    status = SourceStatus.USED if count else SourceStatus.EMPTY
    if listing.truncated:
        status = SourceStatus.TRUNCATED
    links = "" if scan.linked else "; no <hash>.<n> links"
    b.source(d, "hashdir", status, count, detail + links)


@mutable_record
class OpenSSLStore:
    """OpenSSL's store while it is assembled: the anchors and the facts behind them."""

    builder: Builder
    unhashed: list[Anchor]
    info: OpenSSLInfo
    active_vars: list[str]


def openssl_store(
    ctx: StoreContext,
    client: str,
    env: Mapping[str, str] | None = None,
    *,
    partial_chain: bool = False,
    openssldir: str | None = None,
) -> OpenSSLStore:
    """The anchors ``SSL_CTX_set_default_verify_paths`` gives in this root."""
    env = ctx.env if env is None else env
    info = openssl_info(ctx)
    osdir = openssldir if openssldir is not None else info.openssldir
    b = Builder(client, partial_chain=partial_chain, refresh_command=ctx.distro.facts.refresh)
    active: list[str] = []
    unhashed: list[Anchor] = []
    if CAFILE_ENV in env:
        active.append(CAFILE_ENV)
        cafile = env[CAFILE_ENV]
        if cafile:
            _load_cafile(
                ctx, b, cafile if cafile.startswith("/") else "/" + cafile, f"${CAFILE_ENV}"
            )
        else:
            b.source(
                f"${CAFILE_ENV}",
                "env",
                SourceStatus.EMPTY,
                0,
                "set but empty: OpenSSL loads no CAfile",
            )
    elif osdir:
        _load_cafile(ctx, b, f"{osdir.rstrip('/')}/cert.pem", f"OPENSSLDIR ({info.how}) CAfile")
    if CAPATH_ENV in env:
        active.append(CAPATH_ENV)
        for d in env[CAPATH_ENV].split(":"):
            if d:
                _load_capath(ctx, b, d, f"${CAPATH_ENV}", unhashed)
    elif osdir:
        _load_capath(
            ctx, b, f"{osdir.rstrip('/')}/certs", f"OPENSSLDIR ({info.how}) CApath", unhashed
        )
    if osdir is None and not active:
        b.source("OPENSSLDIR", "env", SourceStatus.MISSING, 0, "no OpenSSL found in this root")
    return OpenSSLStore(b, unhashed, info, active)


def _finish_common(
    ctx: StoreContext,
    b: Builder,
    unhashed: list[Anchor],
    active_vars: list[str],
    rerun: Callable[[Mapping[str, str]], Builder],
) -> ClientStore:
    """Report unhashed certificates (``stale-bundle``) and env overrides, then freeze."""
    from .overrides import compare_default

    current = b.anchor_set()
    pending = [a for a in unhashed if not current.contains(a.cert)]
    if pending:
        dirs = sorted({parent(a.provenance.source) for a in pending})
        refresh = " && ".join(f"openssl rehash {d}" for d in dirs)
        b.add(
            finding(
                Code.STALE_BUNDLE,
                Severity.WARNING,
                certs=[a.cert.sha256 for a in pending],
                client=b.client,
                count=len(pending),
                files=[a.provenance.source for a in pending[:10]],
                refresh=refresh,
                reason="no-hash-link",
            )
        )
        b.refresh_command = refresh
    return compare_default(ctx, b, rerun, active_vars, pending=tuple(pending))


def _finish(
    ctx: StoreContext, st: OpenSSLStore, rerun_client: str, partial_chain: bool
) -> ClientStore:
    return _finish_common(
        ctx,
        st.builder,
        st.unhashed,
        st.active_vars,
        lambda env: openssl_store(ctx, rerun_client, env, partial_chain=partial_chain).builder,
    )


def model(ctx: StoreContext) -> ClientStore:
    """``openssl`` (s_client, and every program using the default verify paths)."""
    st = openssl_store(ctx, "openssl")
    return _finish(ctx, st, "openssl", False)


# -- Python ssl ------------------------------------------------------------------

_PY_DIR = re.compile(r"^python3\.(\d+)$")


def python_version(ctx: StoreContext) -> tuple[int, int] | None:
    """The minor version of the root's ``python3`` (the --pid executable first)."""
    exe = ctx.process_exe or ""
    m = re.search(r"python3\.(\d+)", exe)
    if m:
        return (3, int(m.group(1)))
    for link in ("/usr/local/bin/python3", "/usr/bin/python3"):
        try:
            target = ctx.fs.resolve(link)
        except OSError:
            continue
        m = re.search(r"python3\.(\d+)$", target)
        if m and ctx.fs.exists(target):
            return (3, int(m.group(1)))
    best: tuple[int, int] | None = None
    for d in ("/usr/lib", "/usr/local/lib"):
        try:
            entries = ctx.fs.listdir(d, limit=20_000).entries
        except OSError:
            continue
        for e in entries:
            mm = _PY_DIR.match(e.name)
            if mm and (best is None or int(mm.group(1)) > best[1]):
                best = (3, int(mm.group(1)))
    return best


def python_release(ctx: StoreContext, client: str) -> tuple[str | None, dict[str, str]]:
    """The root's Python release (``"3.13"``) and the releases of the libraries
    a Python client builds its TLS context with (``{"urllib3": "2.8.0"}``):
    what :func:`python_policy` judges with, and ``model_policy`` too."""
    from ..engine.policies import FLAG_CARRIERS
    from .pysite import package_version

    # Asked by each Python store model (twice where an override is compared),
    # the strict-anchor pass and model_policy: read once per root and client.
    key = f"python_release:{client}:{ctx.process_exe or ''}"
    hit = ctx.fs.memo.get(key)
    if isinstance(hit, tuple):
        return hit[0], dict(hit[1])
    ver = python_version(ctx)
    libraries: dict[str, str] = {}
    carrier = FLAG_CARRIERS.get(client)
    if carrier is not None and (lib := package_version(ctx, carrier)) is not None:
        libraries[carrier] = lib
    found = "{}.{}".format(*ver) if ver else None
    ctx.fs.memo[key] = (found, dict(libraries))
    return found, libraries


def python_policy(ctx: StoreContext, client: str) -> Policy:
    """How the root's Python verifies for ``client`` (python, requests, httpx):
    3.13's create_default_context sets X509_STRICT and PARTIAL_CHAIN, which
    reach requests from urllib3 2.4 on (engine/versions.py)."""
    from ..engine.policies import policy_for

    version, libraries = python_release(ctx, client)
    return policy_for(client, version=version, libraries=libraries)


def python_present(ctx: StoreContext) -> bool:
    return any(ctx.fs.exists(p) for p in ("/usr/bin/python3", "/usr/local/bin/python3")) or bool(
        ctx.process_exe and "python" in ctx.process_exe
    )


def python_openssl(ctx: StoreContext, ver: tuple[int, int] | None) -> tuple[str, str, str] | None:
    """The OpenSSL *this* Python's ``ssl`` module links, when it is not the system's.

    The ``_ssl`` extension names its libssl (ELF ``DT_NEEDED``); its libcrypto
    of the same soname, next to the interpreter (``PREFIX/lib``, where a
    pyenv, python.org or conda build keeps a private OpenSSL) or in the
    system library directories, holds the ``OPENSSLDIR`` that decides the
    default verify paths.  Returns ``(_ssl module, libcrypto, OPENSSLDIR)``.
    """
    from .binaries import read_binary

    if ver is None:
        return None
    prefixes = ["/usr/local", "/usr"]
    exe = ctx.process_exe or ""
    if "/bin/python" in exe:
        prefixes.insert(0, exe.rsplit("/bin/", 1)[0])
    for prefix in prefixes:
        dynload = f"{prefix}/lib/python{ver[0]}.{ver[1]}/lib-dynload"
        try:
            names = [e.name for e in ctx.fs.listdir(dynload, limit=5000).entries]
        except OSError:
            continue
        module = next((f"{dynload}/{n}" for n in names if n.startswith("_ssl.")), None)
        if module is None:
            continue
        try:
            libssl = read_binary(ctx.fs, module).links("libssl.so")
        except OSError:
            return None
        if libssl is None:
            return None
        soname = "libcrypto.so" + libssl.removeprefix("libssl.so")
        for d in (f"{prefix}/lib", *LIB_DIRS):
            lib = f"{d}/{soname}"
            try:
                hit = ctx.fs.search_regex(lib, rb'OPENSSLDIR: "([^"\x00]{1,200})"')
            except OSError:
                continue
            if hit:
                return module, lib, hit.decode("latin-1")
        return None
    return None


def python_model(ctx: StoreContext) -> ClientStore:
    """``python``: ``ssl.create_default_context()`` = OpenSSL's default paths, of the
    OpenSSL its ``ssl`` module links."""
    ver = python_version(ctx)
    partial = python_policy(ctx, "python").partial_chain
    own = python_openssl(ctx, ver)
    st = openssl_store(ctx, "python", partial_chain=partial, openssldir=own[2] if own else None)
    if own is not None:
        module, lib, osdir = own
        st.builder.source(
            module,
            "runtime",
            SourceStatus.USED,
            None,
            f"the ssl module links {lib.rsplit('/', 1)[1]} ({lib}): OPENSSLDIR {osdir}",
        )
    if ver is not None:
        st.builder.source(
            f"python{ver[0]}.{ver[1]}",
            "runtime",
            SourceStatus.USED,
            None,
            "ssl.create_default_context() → set_default_verify_paths"
            + ("; 3.13+: VERIFY_X509_PARTIAL_CHAIN and VERIFY_X509_STRICT set" if partial else ""),
        )
    return _finish(ctx, st, "python", partial)
