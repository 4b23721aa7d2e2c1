"""Python ``httpx``: ``SSL_CERT_FILE``, else ``SSL_CERT_DIR``, else certifi.

encode/httpx ``_config.py`` ``create_ssl_context`` (0.28 and later; 0.27 had the
same order): with ``trust_env`` (the default) and ``verify=True``, a non-empty
``SSL_CERT_FILE`` gives ``ssl.create_default_context(cafile=...)``, else a
non-empty ``SSL_CERT_DIR`` gives ``capath=...``, else ``cafile=certifi.where()``.
Each *replaces* the store: ``create_default_context`` loads the default paths
only when given no location.  A missing file raises ``FileNotFoundError:
[Errno 2] No such file or directory`` from ``load_verify_locations``.

Which certifi: the first ``certifi`` on the root's import path, as for
requests (:func:`trustdoctor.stores.pyrequests.certifi_where`).
"""

from __future__ import annotations

from collections.abc import Mapping

from ..model.anchors import Anchor
from ..model.record import replace
from ..model.stores import ClientStore, SourceStatus, StoreContext
from .base import Builder, env_value
from .openssl import _finish_common, _load_cafile, _load_capath, python_policy
from .pyrequests import certifi_where, note_truststore
from .pysite import find_package


def present(ctx: StoreContext) -> bool:
    return find_package(ctx, "httpx") is not None


def _run(
    ctx: StoreContext, env: Mapping[str, str]
) -> tuple[Builder, list[Anchor], list[str], bool]:
    b = Builder("httpx", partial_chain=python_policy(ctx, "httpx").partial_chain)
    unhashed: list[Anchor] = []
    cafile = env_value(env, "SSL_CERT_FILE")
    capath = None if cafile else env_value(env, "SSL_CERT_DIR")
    active = ["SSL_CERT_FILE"] if cafile else (["SSL_CERT_DIR"] if capath else [])
    if capath:
        d = capath if capath.startswith("/") else "/" + capath
        _load_capath(ctx, b, d, "$SSL_CERT_DIR (the only CApath)", unhashed)
        return b, unhashed, active, False
    system = False
    if cafile:
        path, detail = cafile, "$SSL_CERT_FILE"
    else:
        where, detail = certifi_where(ctx)
        if where is None:
            b.source("certifi", "package", SourceStatus.MISSING, 0, detail)
            b.load_error = "ModuleNotFoundError: No module named 'certifi' (httpx cannot import)"
            return b, unhashed, active, False
        path, system = where, "distro-patched" in detail
        b.refresh_command = ctx.distro.facts.refresh if system else "pip install --upgrade certifi"
    full = path if path.startswith("/") else "/" + path
    why = _load_cafile(ctx, b, full, detail)
    if why is not None:
        if not ctx.fs.lexists(full):
            b.load_error = "FileNotFoundError: [Errno 2] No such file or directory"
        else:
            b.load_error = f"ssl.SSLError: load_verify_locations({path}) failed: {why}"
        b.anchors.clear()
    return b, unhashed, active, system


def model(ctx: StoreContext) -> ClientStore:
    b, unhashed, active, system = _run(ctx, ctx.env)
    note_truststore(ctx, b)
    store = _finish_common(ctx, b, unhashed, active, lambda env: _run(ctx, env)[0])
    return replace(store, system_store=system)
