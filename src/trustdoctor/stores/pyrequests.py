"""Python ``requests``: certifi, a distro-patched certifi, or an environment override.

psf/requests ``sessions.py`` ``merge_environment_settings``: with
``trust_env`` (the default) and ``verify=True``, the CA path is
``$REQUESTS_CA_BUNDLE or $CURL_CA_BUNDLE`` (empty counts as unset), else
``certifi.where()`` (``certs.py``: "There is only one — the one from the certifi
package").  ``SSL_CERT_FILE`` is ignored.  The path *replaces* the store: urllib3
calls ``load_verify_locations`` on it (a directory becomes a CApath) and does
not load the default paths.  A missing path raises ``OSError: Could not find a
suitable TLS CA certificate bundle, invalid path: <p>`` (adapters.py
``cert_verify``); a file OpenSSL cannot load raises ``ssl.SSLError``.

Which certifi: the first ``certifi`` package on the root's import path
(:mod:`.pysite`).  Debian's ``python3-certifi`` returns
``/etc/ssl/certs/ca-certificates.crt`` from ``where()``, Fedora's
``/etc/pki/tls/certs/ca-bundle.crt``: a patched ``core.py`` names a system
path, a pip-installed one returns its own ``cacert.pem`` (Mozilla roots only).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from ..model.anchors import Anchor
from ..model.stores import ClientStore, SourceStatus, StoreContext
from .base import Builder, env_value
from .openssl import _finish_common, _load_cafile, _load_capath, python_policy
from .pysite import find_package

ENV_VARS = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")
_PATCHED = re.compile(r"""["'](/(?:etc|usr|var)/[^"'\s]+\.(?:crt|pem))["']""")


def certifi_where(ctx: StoreContext) -> tuple[str | None, str]:
    """What ``certifi.where()`` returns in this root, and how we know."""
    found = find_package(ctx, "certifi")
    if found is None:
        return None, "no certifi package found on the import path"
    pkg, why = found
    try:
        core = ctx.fs.read_text(f"{pkg}/core.py", 256 * 1024)
    except OSError:
        core = ""
    m = _PATCHED.search(core)
    if m:
        return m.group(
            1
        ), f"distro-patched certifi at {pkg} ({why}): where() returns the system bundle"
    return f"{pkg}/cacert.pem", f"certifi at {pkg} ({why}): its own Mozilla bundle"


def present(ctx: StoreContext) -> bool:
    return find_package(ctx, "requests") is not None


def note_truststore(ctx: StoreContext, b: Builder) -> None:
    """``truststore`` on the import path: a program that calls
    ``truststore.inject_into_ssl()`` (pip ≥ 24.2 does, for itself) verifies with
    the system store instead of certifi — the ``python`` model's store.  Whether
    a program injects it is in its code, not in its files: it is noted, not assumed."""
    found = find_package(ctx, "truststore")
    if found is not None:
        b.source(
            found[0],
            "package",
            SourceStatus.IGNORED,
            None,
            "truststore is installed: after truststore.inject_into_ssl() the system store "
            "(the python model's) replaces this one",
        )


def _run(
    ctx: StoreContext, env: Mapping[str, str]
) -> tuple[Builder, list[Anchor], list[str], bool]:
    b = Builder("requests", partial_chain=python_policy(ctx, "requests").partial_chain)
    active: list[str] = []
    unhashed: list[Anchor] = []
    path: str | None = None
    detail = ""
    for var in ENV_VARS:
        value = env_value(env, var)
        if value:
            active.append(var)
            path, detail = value, f"${var}"
            break
    system = False
    if path is None:
        path, detail = certifi_where(ctx)
        if path is None:
            b.source("certifi", "package", SourceStatus.MISSING, 0, detail)
            b.load_error = "ModuleNotFoundError: No module named 'certifi' (requests cannot import)"
            return b, unhashed, active, system
        system = "distro-patched" in detail
        b.refresh_command = ctx.distro.facts.refresh if system else "pip install --upgrade certifi"
    if env_value(env, "SSL_CERT_FILE"):
        b.source(
            "$SSL_CERT_FILE",
            "env",
            SourceStatus.IGNORED,
            None,
            "requests does not read SSL_CERT_FILE",
        )
    full = path if path.startswith("/") else "/" + path
    if ctx.fs.is_dir(full):
        _load_capath(ctx, b, full, detail + " (a directory: used as CApath)", unhashed)
        return b, unhashed, active, system
    why = _load_cafile(ctx, b, full, detail)
    if why is not None:
        if not ctx.fs.lexists(full):
            b.load_error = (
                "OSError: Could not find a suitable TLS CA certificate bundle, "
                f"invalid path: {path}"
            )
        else:
            b.load_error = f"ssl.SSLError: load_verify_locations({path}) failed: {why}"
        b.anchors.clear()
    return b, unhashed, active, system


def model(ctx: StoreContext) -> ClientStore:
    from ..model.record import replace

    b, unhashed, active, system = _run(ctx, ctx.env)
    note_truststore(ctx, b)
    store = _finish_common(ctx, b, unhashed, active, lambda env: _run(ctx, env)[0])
    return replace(store, system_store=system)
