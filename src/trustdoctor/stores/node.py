"""Node.js: bundled Mozilla roots, the OpenSSL store, or both; plus ``NODE_EXTRA_CA_CERTS``.

nodejs doc/api/cli.md and src/crypto/crypto_context.cc
(../shared/reference/truststores.md §3.3):

* default (``--use-bundled-ca``): the Mozilla roots compiled into the binary
  (src/node_root_certs.h: PEM strings in the read-only data).  They are read
  out of the installed ``node`` (or the ``libnode.so`` a distribution build
  links); only when neither can be read does the ``certifi`` bundle stand in
  for them (both are Mozilla's list) — the source says which.
* ``--use-openssl-ca`` (in ``NODE_OPTIONS`` or on the command line): *instead*
  of the bundled roots, OpenSSL's default paths (``SSL_CERT_FILE``/``SSL_CERT_DIR``
  honoured, CApath by hash) of the OpenSSL Node runs with: the one compiled
  into an official binary (its ``OPENSSLDIR``) or the system libcrypto.
* ``--use-system-ca`` or ``NODE_USE_SYSTEM_CA=1`` (Node ≥ 23.8; Linux ≥ 23.9,
  nodejs/node#57009): bundled roots *plus* every certificate in OpenSSL's
  default file and in every file of its default directory (not a hash lookup).
* ``NODE_EXTRA_CA_CERTS=file``: added in every mode, read once at start-up with
  ``PEM_read_bio_X509`` (no ``TRUSTED CERTIFICATE``); a missing or broken file
  only prints a warning (``Warning: Ignoring extra certs from `<f>`, load failed``).

Distribution builds configured with ``--openssl-use-def-ca-store`` default to
the OpenSSL store; that cannot be seen from files, so it is a caveat.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping

from ..model.findings import Code, Severity
from ..model.pem import cert_blocks
from ..model.stores import ClientStore, SourceStatus, StoreContext, StoreSource
from . import pemfile
from .base import Builder, finding, merge_into, unreadable_finding
from .certs import anchors_from_blocks
from .openssl import LIB_DIRS, find_libs, openssl_info, openssl_store
from .reference import certifi_reference
from .rootfs import describe_oserror

BINARIES = ("/usr/local/bin/node", "/usr/bin/node", "/usr/bin/nodejs", "/opt/nodejs/bin/node")
EXTRA_ENV = "NODE_EXTRA_CA_CERTS"


def present(ctx: StoreContext) -> bool:
    return any(ctx.fs.exists(p) for p in BINARIES) or bool(
        ctx.process_exe and ctx.process_exe.endswith("/node")
    )


def _flags(ctx: StoreContext) -> list[str]:
    opts = ctx.env.get("NODE_OPTIONS", "")
    try:
        flags = shlex.split(opts)
    except ValueError:
        flags = opts.split()
    if ctx.process_exe and ctx.process_exe.endswith(("/node", "/nodejs")):
        flags += [a for a in ctx.process_cmdline[1:] if a.startswith("--use-")]
    return flags


def mode(ctx: StoreContext) -> tuple[str, str]:
    """``bundled``, ``openssl`` or ``system``, and what selected it (last flag wins)."""
    chosen, why = "bundled", "default (--use-bundled-ca)"
    if ctx.env.get("NODE_USE_SYSTEM_CA") == "1":
        chosen, why = "system", "NODE_USE_SYSTEM_CA=1"
    for f in _flags(ctx):
        if f == "--use-openssl-ca":
            chosen, why = "openssl", "--use-openssl-ca"
        elif f == "--use-bundled-ca":
            chosen, why = "bundled", "--use-bundled-ca"
        elif f == "--use-system-ca":
            chosen, why = "system", "--use-system-ca"
    return chosen, why


def _node_openssldir(ctx: StoreContext) -> tuple[str | None, str]:
    """OPENSSLDIR of the OpenSSL inside the node binary (official builds link it statically)."""
    for exe in ([ctx.process_exe] if ctx.process_exe else []) + list(BINARIES):
        try:
            hit = ctx.fs.search_regex(exe, _OPENSSLDIR)
        except OSError:
            continue
        if hit:
            return hit.decode("latin-1"), f"OPENSSLDIR compiled into {exe}"
    info = openssl_info(ctx)
    return info.openssldir, f"system libcrypto ({info.how})"


_MAX_BLOCK = 16384  # one PEM block compiled in (a root is ~2 KB)
_MAX_BLOCKS = 1000
_OPENSSLDIR = rb'OPENSSLDIR: "([^"\x00]{1,200})"'  # its group: the directory

# What an image extraction keeps of node and libnode (~100 MB each): the PEM
# blocks compiled_roots reads and the OPENSSLDIR _node_openssldir reads, so
# that an image is judged on its own node's roots, not the certifi stand-in
# ({path or glob: (largest PEM block, other patterns, their longest match)}).
IMAGE_REDUCED: Mapping[str, tuple[int, tuple[bytes, ...], int]] = {
    p: (_MAX_BLOCK, (_OPENSSLDIR,), 256)
    for p in (*BINARIES, *(f"{d}/libnode.so*" for d in LIB_DIRS))
}


def compiled_roots(ctx: StoreContext) -> tuple[bytes, str] | None:
    """The PEM roots compiled into the node binary (or its libnode), and where they are."""
    candidates = [ctx.process_exe] if ctx.process_exe else []
    candidates += list(BINARIES)
    # A distribution's node links the runtime as a shared library (Debian's
    # nodejs: libnode.so.NNN): the roots are compiled into that.
    candidates += find_libs(ctx, "libnode.so")
    # Scanning a 40-100 MB binary costs ~30 ms: once per root and candidates
    # (a scan reads the stores once per registry, the node model each time).
    key = "node_compiled:" + "\0".join(candidates)
    memo = ctx.fs.memo.get(key)
    if isinstance(memo, list):
        return memo[0]  # type: ignore[no-any-return]
    found = _scan_compiled(ctx, candidates)
    ctx.fs.memo[key] = [found]
    return found


def _scan_compiled(ctx: StoreContext, candidates: list[str]) -> tuple[bytes, str] | None:
    from .binaries import section_span

    for path in dict.fromkeys(candidates):
        try:
            with ctx.fs.mapped(path, 1 << 30) as mm:
                if mm is None:
                    continue
                # The roots are string literals (src/node_root_certs.h), so in
                # .rodata: half of a 99 MB node, ~20 ms less to search (and to
                # page in).  The whole file when there is no such section (an
                # image's reduced copy, a stripped or foreign binary) or it
                # holds none.
                blocks: list[bytes] = []
                span = section_span(mm, ".rodata")
                if span is not None:
                    blocks, _ = cert_blocks(
                        mm, max_block=_MAX_BLOCK, limit=_MAX_BLOCKS, start=span[0], end=span[1]
                    )
                if not blocks:
                    blocks, _ = cert_blocks(mm, max_block=_MAX_BLOCK, limit=_MAX_BLOCKS)
        except OSError:
            continue
        if blocks:
            return b"".join(blocks), path
    return None


def _bundled(ctx: StoreContext, b: Builder) -> None:
    compiled = compiled_roots(ctx)
    if compiled is not None:
        data, path = compiled
        anchors, _ = anchors_from_blocks(pemfile.go_certs(data), path, "compiled into node")
        b.anchors.extend(anchors)
        b.source(
            path, "bundled", SourceStatus.USED, len(anchors), "Node's compiled-in Mozilla roots"
        )
        return
    ref = certifi_reference()
    if ref is None:  # pragma: no cover - certifi is a dependency
        b.source(
            "bundled", "bundled", SourceStatus.MISSING, 0, "certifi is not installed: no stand-in"
        )
        return
    anchors, _ = anchors_from_blocks(
        ref.blocks,
        ref.path,
        f"stand-in for Node's bundled roots (certifi {ref.version})",
    )
    b.anchors.extend(anchors)
    b.source(
        "bundled",
        "bundled",
        SourceStatus.USED,
        len(anchors),
        f"Node's compiled-in Mozilla roots (no node binary readable here); certifi "
        f"{ref.version} ({ref.path}) used as the stand-in",
    )


def _system_files(ctx: StoreContext, b: Builder, osdir: str | None) -> None:
    """--use-system-ca on Linux: OpenSSL's default file, then *every file* of its directory."""
    env = ctx.env
    file = env.get("SSL_CERT_FILE") or (f"{osdir}/cert.pem" if osdir else None)
    dirs = [
        d for d in (env.get("SSL_CERT_DIR") or (f"{osdir}/certs" if osdir else "")).split(":") if d
    ]
    targets: list[tuple[str, str]] = []
    if file:
        targets.append((file, "system CA file"))
    for d in dirs:
        try:
            listing = ctx.fs.listdir(d)
        except OSError as exc:
            b.source(
                d,
                "dir",
                SourceStatus.MISSING
                if isinstance(exc, FileNotFoundError)
                else SourceStatus.UNREADABLE,
                None,
                describe_oserror(exc),
            )
            continue
        targets.extend(
            (f"{d.rstrip('/')}/{e.name}", f"system CA directory {d}")
            for e in listing.entries
            if not e.is_dir
        )
        b.source(d, "dir", SourceStatus.USED, None, "--use-system-ca: every file is read")
    for path, detail in targets:
        try:
            data = ctx.fs.read_bytes(path)
        except OSError:
            continue
        blocks, _why = pemfile.openssl_sequential(data, trusted=False)
        anchors, _ = anchors_from_blocks(blocks, path, detail)
        b.anchors.extend(anchors)


def _extra(ctx: StoreContext, b: Builder) -> None:
    value = ctx.env.get(EXTRA_ENV)
    if not value:
        return
    path = value if value.startswith("/") else "/" + value
    try:
        data = ctx.fs.read_bytes(path)
    except OSError as exc:
        b.source(
            path,
            "file",
            SourceStatus.MISSING if isinstance(exc, FileNotFoundError) else SourceStatus.UNREADABLE,
            None,
            f"${EXTRA_ENV}: {describe_oserror(exc)}",
        )
        b.add(unreadable_finding("node", path, exc, effect="node-ignores-extra"))
        return
    b.files_read.append(path)
    blocks, why = pemfile.openssl_sequential(data, trusted=False)
    anchors, bad = anchors_from_blocks(blocks, path, f"${EXTRA_ENV}")
    b.anchors.extend(anchors)
    status = SourceStatus.USED if anchors else SourceStatus.EMPTY
    b.source(path, "file", status, len(anchors), f"${EXTRA_ENV} (read once, at start-up)")
    if (why and why != pemfile.NO_CERTIFICATE) or bad or not anchors:
        if why is None and bad:
            why = pemfile.Problem("does-not-parse", bad[0].line)
        why = why or pemfile.NO_CERTIFICATE
        b.add(
            finding(
                Code.UNREADABLE_FILE,
                Severity.WARNING,
                client="node",
                path=path,
                reason=why.code,
                line=why.line,
                effect="node-keeps-partial",
                extra_ca_certs=value,  # the variable's value, as Node's warning quotes it
                kept=len(anchors),
            )
        )


def _run(ctx: StoreContext, chosen: str) -> Builder:
    b = Builder("node", partial_chain=False)
    if chosen in ("bundled", "system"):
        _bundled(ctx, b)
    if chosen == "openssl":
        osdir, how = _node_openssldir(ctx)
        st = openssl_store(ctx, "node", openssldir=osdir or "")
        merge_into(b, st.builder, prefix=f"--use-openssl-ca: {how}")
    elif chosen == "system":
        osdir, how = _node_openssldir(ctx)
        _system_files(ctx, b, osdir)
    _extra(ctx, b)
    return b


def model(ctx: StoreContext) -> ClientStore:
    from ..model.record import replace
    from .overrides import compare_default

    chosen, why = mode(ctx)
    b = _run(ctx, chosen)
    b.sources.insert(0, _mode_source(chosen, why))
    if chosen == "bundled":
        b.refresh_command = (
            "upgrade Node.js (its bundled roots are fixed at release), or set NODE_EXTRA_CA_CERTS"
        )
    active: list[str] = []
    if chosen != "bundled":
        active.append("NODE_OPTIONS" if "--" in why else "NODE_USE_SYSTEM_CA")
    store = compare_default(ctx, b, lambda env: _run(ctx, "bundled"), active)
    return replace(store, system_store=chosen != "bundled")


def _mode_source(chosen: str, why: str) -> StoreSource:
    detail = {
        "bundled": "bundled Mozilla roots; the OS store is not read",
        "openssl": "OpenSSL default store instead of the bundled roots",
        "system": "bundled roots plus the OpenSSL default file and directory",
    }[chosen]
    return StoreSource("store selection", "mode", SourceStatus.USED, None, f"{why}: {detail}")
