"""Go's ``crypto/x509`` system roots on Linux, exactly.

Source: golang/go ``src/crypto/x509/root_linux.go`` (the two lists below) and
``root_unix.go`` ``loadSystemRoots`` (the algorithm), unchanged from Go 1.18 to
1.24 for GOOS=linux (../shared/reference/truststores.md §1.1-1.3):

1. ``files`` = :data:`CERT_FILES`, or ``[$SSL_CERT_FILE]`` when that is non-empty.
   The first file ``os.ReadFile`` *reads* wins, even if it holds no
   certificate; a missing file is skipped silently; any other error
   (EACCES, EISDIR...) is remembered as ``firstErr`` and the loop goes on.
2. ``dirs`` = :data:`CERT_DIRECTORIES`, or ``$SSL_CERT_DIR`` split on ``:``.
   ``SSL_CERT_FILE`` does *not* touch this list.
3. Every entry of every directory is read, whatever its name, not
   recursively, except symlinks whose target has no ``/`` (same-directory
   hash links, skipped as duplicates); read errors are ignored.
4. Only headerless ``CERTIFICATE`` PEM blocks count (cert_pool.go
   ``AppendCertsFromPEM``).
5. Nothing loaded and some non-ENOENT error → ``x509: failed to load system
   roots and no roots provided; <err>``; nothing loaded and no error → an
   *empty pool*, so a scratch image says "certificate signed by unknown
   authority".

The pool is loaded once per process (root.go ``sync.Once``).
"""

from __future__ import annotations

import errno
from collections.abc import Mapping

from ..model.findings import Code, Severity
from ..model.stores import ClientStore, SourceStatus, StoreContext
from . import pemfile
from .base import (
    Builder,
    block_limit_finding,
    entries_limit_finding,
    env_value,
    finding,
    limit_finding,
    oserror_status,
    unreadable_finding,
)
from .certs import anchors_from_blocks
from .rootfs import LimitExceeded, describe_oserror

# golang/go src/crypto/x509/root_linux.go: "Possible certificate files; stop after finding one."
CERT_FILES: tuple[str, ...] = (
    "/etc/ssl/certs/ca-certificates.crt",  # Debian/Ubuntu/Gentoo etc.
    "/etc/pki/tls/certs/ca-bundle.crt",  # Fedora/RHEL 6
    "/etc/ssl/ca-bundle.pem",  # OpenSUSE
    "/etc/pki/tls/cacert.pem",  # OpenELEC
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",  # CentOS/RHEL 7
    "/etc/ssl/cert.pem",  # Alpine Linux
)

# golang/go src/crypto/x509/root_linux.go:
# "Possible directories with certificate files; all will be read."
CERT_DIRECTORIES: tuple[str, ...] = (
    "/etc/ssl/certs",  # SLES10/SLES11, https://golang.org/issue/12139
    "/etc/pki/tls/certs",  # Fedora/RHEL
)

# root_unix.go: certFileEnv / certDirEnv
CERT_FILE_ENV = "SSL_CERT_FILE"
CERT_DIR_ENV = "SSL_CERT_DIR"


def _go_error_text(path: str, exc: OSError) -> str:
    """The text of Go's *PathError for a failed os.ReadFile."""
    if isinstance(exc, IsADirectoryError) or exc.errno == errno.EISDIR:
        return f"read {path}: is a directory"
    return f"open {path}: {describe_oserror(exc)}"


def _abs(path: str) -> tuple[str, str | None]:
    if path.startswith("/"):
        return path, None
    return (
        "/" + path,
        "relative path: resolved against / (the process's working directory is unknown)",
    )


def load_system_roots(
    ctx: StoreContext, client: str = "go", env: Mapping[str, str] | None = None
) -> Builder:
    """Run ``loadSystemRoots`` against the root; the result keeps its sources and findings."""
    env = ctx.env if env is None else env
    fs = ctx.fs
    b = Builder(client, partial_chain=True)
    first_err: str | None = None

    env_file = env_value(env, CERT_FILE_ENV)
    files = (env_file,) if env_file else CERT_FILES
    file_detail = f"${CERT_FILE_ENV}" if env_file else "certFiles"
    winner: str | None = None
    for f in files:
        path, note = _abs(f)
        if winner is not None:
            if fs.lexists(path):
                b.source(
                    path, "file", SourceStatus.SKIPPED, None, f"not read: {winner} was read first"
                )
            continue
        try:
            data = fs.read_bytes(path)
        except LimitExceeded as exc:
            # Go would read it (and stop here); we do not parse it.
            winner = path
            b.files_read.append(path)
            b.source(path, "file", SourceStatus.TRUNCATED, None, describe_oserror(exc))
            b.add(limit_finding(client, path, exc))
            continue
        except OSError as exc:
            status = oserror_status(exc)
            detail = file_detail if status == SourceStatus.MISSING else describe_oserror(exc)
            if note:
                detail = f"{detail}; {note}"
            b.source(path, "file", status, None, detail)
            if status != SourceStatus.MISSING:
                first_err = first_err or _go_error_text(f, exc)
                b.add(unreadable_finding(client, path, exc, effect="go-tries-next-file"))
            continue
        winner = path
        b.files_read.append(path)
        if pemfile.truncated(data):
            b.add(block_limit_finding(client, path))
        blocks = pemfile.go_certs(data)
        anchors, _bad = anchors_from_blocks(blocks, path, file_detail)
        b.anchors.extend(anchors)
        if anchors:
            b.source(path, "file", SourceStatus.USED, len(anchors), note or file_detail)
        else:
            why = _why_empty(data)
            b.source(path, "file", SourceStatus.EMPTY, 0, EMPTY_DETAIL[why])
            b.add(
                finding(
                    Code.EMPTY_BUNDLE,
                    Severity.WARNING,
                    client=client,
                    path=path,
                    reason=why,
                    effect="go-stops-at-first-file",
                )
            )

    env_dir = env_value(env, CERT_DIR_ENV)
    dirs = tuple(env_dir.split(":")) if env_dir else CERT_DIRECTORIES
    dir_detail = f"${CERT_DIR_ENV}" if env_dir else "certDirectories"
    for d in dirs:
        if not d:
            continue  # os.ReadDir("") fails with ENOENT: silently skipped
        path, note = _abs(d)
        try:
            listing = fs.listdir(path)
        except OSError as exc:
            status = oserror_status(exc)
            b.source(
                path,
                "dir",
                status,
                None,
                dir_detail if status == SourceStatus.MISSING else describe_oserror(exc),
            )
            if status != SourceStatus.MISSING:
                first_err = first_err or f"open {d}: {describe_oserror(exc)}"
            continue
        if listing.truncated:
            b.add(entries_limit_finding(client, path, len(listing.entries)))
        count = 0
        for entry in listing.entries:
            name = entry.name
            full = path.rstrip("/") + "/" + name
            if entry.is_symlink:
                try:
                    target = fs.readlink(full)
                except OSError:
                    target = "/"
                if "/" not in target:
                    continue  # isSameDirSymlink: a hash link to a file read anyway
            if entry.is_dir:
                continue  # os.ReadFile fails with EISDIR; ignored
            try:
                data = fs.read_bytes(full)
            except LimitExceeded as exc:
                b.add(limit_finding(client, full, exc))
                continue
            except OSError:
                continue  # dangling links, subdirectories, EACCES: ignored by Go
            b.files_read.append(full)
            if pemfile.truncated(data):
                b.add(block_limit_finding(client, full))
            anchors, _bad = anchors_from_blocks(pemfile.go_certs(data), full, dir_detail)
            count += len(anchors)
            b.anchors.extend(anchors)
        status = SourceStatus.USED if count else SourceStatus.EMPTY
        detail = dir_detail + (f"; {note}" if note else "")
        if listing.truncated:
            status = SourceStatus.TRUNCATED
        b.source(path, "dir", status, count, detail)

    if not b.anchors and first_err is not None:
        b.load_error = f"x509: failed to load system roots and no roots provided; {first_err}"
    return b


# Source-detail words of each ``empty-bundle`` reason (the same as
# render/words.py REASONS, which tests/test_params_are_data.py checks).
EMPTY_DETAIL: dict[str, str] = {
    "empty-file": "the file is empty",
    "der-not-pem": "DER, not PEM: Go reads only PEM",
    "no-pem-block": "no PEM block",
    "only-trusted-certificate": "only BEGIN TRUSTED CERTIFICATE blocks, which Go ignores",
    "pem-headers": "CERTIFICATE blocks with PEM headers, which Go ignores",
    "no-parsable-certificate": "no parsable CERTIFICATE block",
}


def _why_empty(data: bytes) -> str:
    """The ``empty-bundle`` reason code for a file Go read but took nothing from."""
    if not data.strip():
        return "empty-file"
    blocks = pemfile.scan(data)
    if not blocks:
        if pemfile.looks_like_der_cert(data):
            return "der-not-pem"
        return "no-pem-block"
    labels = {b.label for b in blocks}
    if "TRUSTED CERTIFICATE" in labels and "CERTIFICATE" not in labels:
        return "only-trusted-certificate"
    if any(b.headers for b in blocks):
        return "pem-headers"
    return "no-parsable-certificate"


def model(ctx: StoreContext) -> ClientStore:
    """The ``go`` client: a Go program (static or not) run in this root with this environment."""
    from .overrides import compare_default

    b = load_system_roots(ctx)
    b.refresh_command = ctx.distro.facts.refresh
    active = [v for v in GO_ENV_VARS if env_value(ctx.env, v)]
    harmless: dict[str, str | list[str]] | None = None
    if active == [CERT_FILE_ENV]:
        # SSL_CERT_FILE replaces only the list of bundle files: the
        # directories are still read.
        harmless = {"reason": "go-cert-dir-still-read", "dirs": list(CERT_DIRECTORIES)}
    return compare_default(
        ctx, b, lambda env: load_system_roots(ctx, env=env), active, harmless=harmless
    )


GO_ENV_VARS = (CERT_FILE_ENV, CERT_DIR_ENV)
