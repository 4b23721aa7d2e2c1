"""The ``curl`` command-line tool (OpenSSL backend).

CA selection (curl src/tool_operate.c, ``cacertpaths``/the block before
``CURLOPT_CAINFO``; ../shared/reference/truststores.md §2.5), when neither
``--cacert`` nor ``--capath`` is given:

* ``CURL_CA_BUNDLE`` set → it is the CAfile, and ``SSL_CERT_*`` are not looked at;
* otherwise ``SSL_CERT_DIR`` → CApath and ``SSL_CERT_FILE`` → CAfile — but
  curl 7.88 (Debian 12) reads ``SSL_CERT_FILE`` only when ``SSL_CERT_DIR``
  is unset (an ``else`` branch; reference/README.md §9); later releases'
  ``cacertpaths`` read both (engine/versions.py ``ssl_cert_file_with_dir``).
  The curl release is read from the root's libcurl (``CLIENT libcurl X.Y.Z``),
  else from the distribution's release (:data:`DISTRO_CURL`);
* empty variables count as unset (``curl_getenv``);
* what is not replaced keeps libcurl's compiled-in default: ``SSL_CERT_DIR``
  alone keeps the compiled CAfile, ``CURL_CA_BUNDLE`` keeps the compiled CApath.

libcurl then calls ``SSL_CTX_load_verify_file`` / ``_dir`` (lib/vtls/openssl.c):
a CAfile that does not load (missing, no certificate, one broken block) fails
the transfer before any handshake: ``curl: (77) error setting certificate
file: <path>``.  A CApath is only a lookup directory (hash links).  Since
curl 7.68 the OpenSSL backend sets ``X509_V_FLAG_PARTIAL_CHAIN``
(``CURLSSLOPT_NO_PARTIALCHAIN`` turns it off), so any anchor ends a path.
All of this was checked against curl 7.88.1 (Debian 12).

The compiled-in defaults are read from the root's libcurl: configure stores
them as plain C strings (``CURL_CA_BUNDLE``/``CURL_CA_PATH`` defines), and
only the candidates curl's configure probes are looked for
(acinclude.m4 ``CURL_CHECK_CA_BUNDLE``).  Without libcurl, the distro table.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..model.anchors import Anchor
from ..model.record import mutable_record, record
from ..model.stores import ClientStore, SourceStatus, StoreContext
from .base import Builder, env_value
from .openssl import _finish_common, _load_cafile, _load_capath, find_libs

CA_BUNDLE_ENV = "CURL_CA_BUNDLE"
CERT_FILE_ENV = "SSL_CERT_FILE"
CERT_DIR_ENV = "SSL_CERT_DIR"

# acinclude.m4 CURL_CHECK_CA_BUNDLE: bundle candidates, in probe order.
BUNDLE_CANDIDATES: tuple[str, ...] = (
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/usr/share/ssl/certs/ca-bundle.crt",
    "/usr/local/share/certs/ca-root-nss.crt",
    "/etc/ssl/cert.pem",
    "/etc/ssl/ca-bundle.pem",
    "/var/lib/ca-certificates/ca-bundle.pem",
)
CAPATH_CANDIDATES: tuple[str, ...] = ("/etc/ssl/certs",)

BINARIES = ("/usr/bin/curl", "/usr/local/bin/curl", "/bin/curl")

# The curl release a distribution ships, when its libcurl cannot be read
# (packages.debian.org / packages.ubuntu.com, the release's curl package).
DISTRO_CURL: Mapping[tuple[str, str], str] = {
    ("debian", "11"): "7.74.0",
    ("debian", "12"): "7.88.1",
    ("debian", "13"): "8.14.1",
    ("ubuntu", "20.04"): "7.68.0",
    ("ubuntu", "22.04"): "7.81.0",
    ("ubuntu", "24.04"): "8.5.0",
}


@record
class CurlDefaults:
    """The CA file and directory a curl build uses by default, and how that was found."""

    cafile: str | None
    capath: str | None
    how: str


def compiled_defaults(ctx: StoreContext) -> CurlDefaults:
    memo = ctx.fs.memo.get("curl_defaults")
    if isinstance(memo, CurlDefaults):
        return memo
    facts = ctx.distro.facts
    out = CurlDefaults(
        facts.curl_cafile, facts.curl_capath, f"{ctx.distro.family} defaults (table)"
    )
    for lib in find_libs(ctx, "libcurl.so"):
        needles = tuple(
            b"\x00" + p.encode() + b"\x00" for p in BUNDLE_CANDIDATES + CAPATH_CANDIDATES
        )
        try:
            hits = ctx.fs.find_bytes(lib, needles)
        except OSError:
            continue
        found = [p for p in BUNDLE_CANDIDATES if b"\x00" + p.encode() + b"\x00" in hits]
        capath = [p for p in CAPATH_CANDIDATES if b"\x00" + p.encode() + b"\x00" in hits]
        if found or capath:
            out = CurlDefaults(
                found[0] if found else None, capath[0] if capath else None, f"compiled into {lib}"
            )
            break
    ctx.fs.memo["curl_defaults"] = out
    return out


def curl_version(ctx: StoreContext) -> str | None:
    """The root's curl release: from its libcurl, else from the distribution."""
    memo = ctx.fs.memo.get("curl_version")
    if isinstance(memo, str):
        return memo or None
    found = ""
    for lib in find_libs(ctx, "libcurl.so"):
        try:
            hit = ctx.fs.search_regex(lib, rb"CLIENT libcurl (\d+\.\d+\.\d+)")
        except OSError:
            continue
        if hit:
            found = hit.decode("ascii", "replace")
            break
    if not found:
        d = ctx.distro
        found = DISTRO_CURL.get((d.id or "", d.version_id or ""), "")
    ctx.fs.memo["curl_version"] = found
    return found or None


def present(ctx: StoreContext) -> bool:
    return any(ctx.fs.exists(p) for p in BINARIES)


@mutable_record
class _CurlRun:
    """Working state while curl's store is assembled."""

    builder: Builder
    unhashed: list[Anchor]
    active: list[str]


def _run(ctx: StoreContext, env: Mapping[str, str]) -> _CurlRun:
    d = compiled_defaults(ctx)
    b = Builder("curl", partial_chain=True, refresh_command=ctx.distro.facts.refresh)
    active: list[str] = []
    cafile, cafile_detail = d.cafile, f"compiled-in CAfile ({d.how})"
    capath, capath_detail = d.capath, f"compiled-in CApath ({d.how})"
    bundle = env_value(env, CA_BUNDLE_ENV)
    if bundle:
        active.append(CA_BUNDLE_ENV)
        cafile, cafile_detail = bundle, f"${CA_BUNDLE_ENV}"
        for ignored in (CERT_FILE_ENV, CERT_DIR_ENV):
            if env_value(env, ignored):
                b.source(
                    f"${ignored}",
                    "env",
                    SourceStatus.IGNORED,
                    None,
                    f"not read: ${CA_BUNDLE_ENV} is set",
                )
    else:
        from ..engine.versions import settings

        version = curl_version(ctx)
        both = bool(settings("curl", version).get("ssl_cert_file_with_dir"))
        if env_value(env, CERT_DIR_ENV):
            active.append(CERT_DIR_ENV)
            capath, capath_detail = env[CERT_DIR_ENV], f"${CERT_DIR_ENV}"
        if env_value(env, CERT_FILE_ENV):
            if both or not env_value(env, CERT_DIR_ENV):
                active.append(CERT_FILE_ENV)
                cafile, cafile_detail = env[CERT_FILE_ENV], f"${CERT_FILE_ENV}"
            else:
                b.source(
                    f"${CERT_FILE_ENV}",
                    "env",
                    SourceStatus.IGNORED,
                    None,
                    f"not read: curl {version} reads it only when ${CERT_DIR_ENV} is unset",
                )
    unhashed: list[Anchor] = []
    error: str | None = None
    if cafile:
        path = cafile if cafile.startswith("/") else "/" + cafile
        why = _load_cafile(ctx, b, path, cafile_detail)
        if why is not None:
            error = f"curl: (77) error setting certificate file: {cafile}"
    if capath:
        for part in capath.split(":"):
            if part:
                _load_capath(ctx, b, part, capath_detail, unhashed)
    if not cafile and not capath:
        b.source(
            "CAfile/CApath",
            "env",
            SourceStatus.MISSING,
            0,
            "curl was built without a default CA location",
        )
    if error:
        # The transfer fails before the handshake: no anchor is ever used.
        b.load_error = error
        b.anchors.clear()
    return _CurlRun(b, unhashed, active)


def model(ctx: StoreContext) -> ClientStore:
    run = _run(ctx, ctx.env)
    return _finish_common(
        ctx, run.builder, run.unhashed, run.active, lambda env: _run(ctx, env).builder
    )
