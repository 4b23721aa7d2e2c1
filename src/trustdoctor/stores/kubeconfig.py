"""``kubectl`` (and helm, and every client-go program run with a kubeconfig):
the certificate authority of the current context's cluster.

k8s.io/client-go ``tools/clientcmd`` (loader.go, client_config.go) and
``transport/transport.go`` (TS §3.7):

* the kubeconfig files: ``$KUBECONFIG`` (``:``-separated; missing files are
  skipped; merged, the *first* file that sets a value wins: the first
  ``current-context``, the first definition of each cluster and context),
  else ``$HOME/.kube/config``;
* the current context names a cluster; that cluster's
  ``certificate-authority-data`` (base64 of PEM) or, without it,
  ``certificate-authority`` (a file; a relative path is relative to the
  kubeconfig that names it, ``ResolvePaths``) is then the **only** trust:
  ``rootCertPool`` puts just those certificates in ``RootCAs`` (PEM parsed as
  Go's ``AppendCertsFromPEM`` does: no ``TRUSTED CERTIFICATE`` blocks);
* neither: ``RootCAs`` stays nil, so Go's system roots (:mod:`.go`) apply;
* ``insecure-skip-tls-verify: true``: nothing is verified; with a CA as well
  kubectl refuses the configuration ("specifying a root certificates file
  with the insecure flag is not allowed");
* ``tls-server-name``: client-go puts it in ``tls.Config.ServerName``: the
  SNI sent *and* the name the certificate is checked against, instead of the
  ``server`` URL's host (:func:`server_name_for`).

YAML is read with PyYAML's safe loader (kubeconfig is YAML or JSON), imported
only here.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any

from ..errors import UsageError
from ..model.findings import Code, Severity
from ..model.record import record
from ..model.stores import ClientStore, SourceStatus, StoreContext
from ..model.target import NameSource, Target, parse_target
from . import pemfile
from .base import Builder, env_value, finding, merge_into, oserror_status
from .certs import anchors_from_blocks
from .rootfs import describe_oserror, parent

# client-go reads the whole file; ours stop here (real ones are kilobytes; the
# pure-Python parser takes ~0.5 s per MiB).
MAX_KUBECONFIG = 1024 * 1024


@record
class Kubeconfig:
    """What the merged kubeconfig says about the cluster kubectl talks to.

    Attributes:
        files: the kubeconfig files, in the order they are merged.
        context: the current context (``None``: none set).
        cluster: the cluster that context names.
        server: the cluster's ``server`` URL.
        origin: the file the cluster was defined in.
        ca_data: the decoded ``certificate-authority-data`` (``None``: not set).
        ca_file: ``certificate-authority``, resolved against ``origin``'s directory.
        insecure: ``insecure-skip-tls-verify: true``.
        server_name: ``tls-server-name``.
        error: why the configuration cannot be used (kubectl's own words).
    """

    files: tuple[str, ...]
    context: str | None = None
    cluster: str | None = None
    server: str | None = None
    origin: str | None = None
    ca_data: bytes | None = None
    ca_file: str | None = None
    insecure: bool = False
    server_name: str | None = None
    error: str | None = None


def kubeconfig_paths(ctx: StoreContext) -> tuple[list[str], str]:
    """The files client-go merges, and why those."""
    value = env_value(ctx.env, "KUBECONFIG")
    if value:
        return [p if p.startswith("/") else "/" + p for p in value.split(":") if p], "$KUBECONFIG"
    home = ctx.env.get("HOME") or "/root"
    return [f"{home.rstrip('/')}/.kube/config"], "$HOME/.kube/config"


def present(ctx: StoreContext) -> bool:
    """A kubeconfig to read (a kubectl binary alone talks to no cluster), or a
    ``--pid`` kubectl/helm process."""
    files, _ = kubeconfig_paths(ctx)
    exe = (ctx.process_exe or "").rsplit("/", 1)[-1]
    return exe in ("kubectl", "helm") or any(ctx.fs.exists(f) for f in files)


def _named(items: object) -> list[tuple[str, Mapping[str, Any]]]:
    """``[{name: N, cluster|context: {...}}, ...]`` → ``[(N, {...})]``."""
    out: list[tuple[str, Mapping[str, Any]]] = []
    for it in items if isinstance(items, list) else []:
        if isinstance(it, dict) and isinstance(it.get("name"), str):
            body = it.get("cluster") or it.get("context") or {}
            out.append((it["name"], body if isinstance(body, dict) else {}))
    return out


def read_kubeconfig(ctx: StoreContext, b: Builder | None = None) -> Kubeconfig:
    """Merge the kubeconfig files as client-go does (sources go to ``b``)."""
    files, why = kubeconfig_paths(ctx)
    current: str | None = None
    clusters: dict[str, tuple[Mapping[str, Any], str]] = {}
    contexts: dict[str, Mapping[str, Any]] = {}
    read: list[str] = []
    for path in files:
        try:
            data = ctx.fs.read_bytes(path, MAX_KUBECONFIG)
        except OSError as exc:
            status = oserror_status(exc)
            missing = status == SourceStatus.MISSING
            if b is not None:
                detail = why if missing else describe_oserror(exc)
                b.source(path, "kubeconfig", status, None, detail)
            if not missing:
                error = f'error loading config file "{path}": {describe_oserror(exc)}'
                return Kubeconfig(tuple(read), error=error)
            continue
        read.append(path)
        if b is not None:
            b.files_read.append(path)
        doc, where = _parse(ctx, path, data)
        if doc is None:
            if b is not None:
                b.source(path, "kubeconfig", SourceStatus.REJECTED, None, f"not YAML{where}")
            error = f'error loading config file "{path}": yaml: not a valid kubeconfig{where}'
            return Kubeconfig(tuple(read), error=error)
        if b is not None:
            b.source(path, "kubeconfig", SourceStatus.USED, None, why)
        if not current and isinstance(doc.get("current-context"), str):
            current = doc["current-context"] or None
        for name, body in _named(doc.get("clusters")):
            clusters.setdefault(name, (body, path))
        for name, body in _named(doc.get("contexts")):
            contexts.setdefault(name, body)
    if not read:
        return Kubeconfig((), error="no kubeconfig: kubectl would talk to http://localhost:8080")
    if current is None:
        return Kubeconfig(tuple(read), error="current-context is not set")
    ctx_body = contexts.get(current)
    if ctx_body is None:
        error = f"context was not found for specified context: {current}"
        return Kubeconfig(tuple(read), current, error=error)
    cname = ctx_body.get("cluster")
    if not isinstance(cname, str) or cname not in clusters:
        known = cname if isinstance(cname, str) else None
        return Kubeconfig(tuple(read), current, known, error=f'cluster "{cname}" not found')
    body, origin = clusters[cname]
    ca_data: bytes | None = None
    raw = body.get("certificate-authority-data")
    if isinstance(raw, str) and raw.strip():
        try:
            ca_data = base64.b64decode("".join(raw.split()), validate=True)
        except (binascii.Error, ValueError):
            error = "certificate-authority-data: illegal base64 data"
            return Kubeconfig(tuple(read), current, cname, origin=origin, error=error)
    named = body.get("certificate-authority")
    ca_file: str | None = None
    if isinstance(named, str) and named:
        ca_file = named if named.startswith("/") else f"{parent(origin)}/{named}"
    insecure = body.get("insecure-skip-tls-verify") is True
    server = _text(body.get("server"))
    refused = None
    if insecure and (ca_data or ca_file):
        refused = (
            "specifying a root certificates file with the insecure flag is not allowed "
            f"(cluster {cname})"
        )
    return Kubeconfig(
        tuple(read), current, cname, server, origin, ca_data, ca_file, insecure,
        _text(body.get("tls-server-name")), refused,
    )  # fmt: skip


def current_server(ctx: StoreContext) -> str:
    """The ``server`` URL kubectl talks to (the current context's cluster's).

    Raises:
        UsageError: no usable kubeconfig, or its cluster names no server
            (kubectl's own words where it has them).
    """
    kc = read_kubeconfig(ctx)
    if kc.error is not None:
        raise UsageError(f"kubectl's cluster: {kc.error}")
    if not kc.server:
        raise UsageError(
            f"kubectl's cluster {kc.cluster!r} ({kc.origin}) has no server: "
            "name the target to diagnose"
        )
    return kc.server


def server_name_for(ctx: StoreContext, target: Target) -> tuple[str, NameSource] | None:
    """The current cluster's ``tls-server-name`` when ``target`` is that
    cluster's ``server`` (same host and port, https): the name kubectl sends
    and checks there (rest.Config ``TLSClientConfig.ServerName``)."""
    kc = read_kubeconfig(ctx)
    if kc.error is not None or not kc.server_name or not kc.server or target.scheme != "https":
        return None
    try:
        server = parse_target(kc.server)
    except UsageError:  # not an https URL kubectl could reach: nothing to match
        return None
    if (server.scheme, server.host, server.port) != ("https", target.host, target.port):
        return None
    return kc.server_name, NameSource("kubeconfig", kc.origin or "", kc.cluster or "")


def _parse(ctx: StoreContext, path: str, data: bytes) -> tuple[dict[str, Any] | None, str]:
    """The kubeconfig document (``{}`` for one that is no mapping), or ``None``
    and where the YAML broke; parsed once per root (the store model and the
    fix planner both read it)."""
    key = f"kubeconfig:{path}"
    hit = ctx.fs.memo.get(key)
    if isinstance(hit, tuple) and hit[0] == data:
        return hit[1], hit[2]
    import yaml

    doc: dict[str, Any] | None
    where = ""
    try:
        # The pure-Python safe loader: libyaml's composer recurses in C and
        # overflows the stack on a deeply nested file (measured: a crash),
        # where this one raises RecursionError.
        loaded = yaml.safe_load(data.decode("utf-8", "replace")) or {}
        doc = loaded if isinstance(loaded, dict) else {}
    except (yaml.YAMLError, RecursionError, ValueError, OverflowError, TypeError) as exc:
        # A hostile file too: nesting deeper than the parser's recursion, a
        # timestamp-looking value that is no date (safe_load builds it).
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        doc = None
    ctx.fs.memo[key] = (data, doc, where)
    return doc, where


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def model(ctx: StoreContext) -> ClientStore:
    """``kubectl``: the current context's cluster CA, else Go's system roots."""
    b = Builder("kubectl", partial_chain=True)
    kc = read_kubeconfig(ctx, b)
    where = f"context {kc.context!r} → cluster {kc.cluster!r}"
    if kc.server:
        where += f" ({kc.server})"
    if kc.server_name:
        # client-go checks the certificate against this name, not the server's host.
        where += f", tls-server-name {kc.server_name}"
    if kc.error is not None:
        b.load_error = kc.error
        return b.build(system_store=False)
    if kc.insecure:
        b.add(
            finding(
                Code.DAEMON_STORE,
                Severity.WARNING,
                client="kubectl",
                path=kc.origin or "",
                reason="insecure-skip-tls-verify",
                cluster=kc.cluster,
            )
        )
        b.source(kc.origin or "", "cluster", SourceStatus.IGNORED, None,
                 f"{where}: insecure-skip-tls-verify: true (nothing is verified)")  # fmt: skip
        return b.build(system_store=False)
    if kc.ca_data is not None:
        label = f"{kc.origin}#certificate-authority-data"
        if kc.ca_file:
            b.source(kc.ca_file, "file", SourceStatus.SHADOWED, None,
                     "certificate-authority-data is set: it overrides the file")  # fmt: skip
        _load(b, kc.ca_data, label, f"{where}: certificate-authority-data (the only roots)")
        return b.build(system_store=False)
    if kc.ca_file:
        try:
            data = ctx.fs.read_bytes(kc.ca_file)
        except OSError as exc:
            b.source(kc.ca_file, "file", oserror_status(exc), None, describe_oserror(exc))
            b.load_error = (f"unable to read certificate-authority {kc.ca_file} for "
                            f"{kc.cluster} due to {describe_oserror(exc)}")  # fmt: skip
            return b.build(system_store=False)
        b.files_read.append(kc.ca_file)
        _load(b, data, kc.ca_file, f"{where}: certificate-authority (the only roots)")
        return b.build(system_store=False)
    # No CA in the kubeconfig: RootCAs stays nil, Go's system roots apply.
    from .go import load_system_roots

    b.source(kc.origin or "", "cluster", SourceStatus.USED, None,
             f"{where}: no certificate-authority: the system roots")  # fmt: skip
    sub = load_system_roots(ctx, "kubectl")
    merge_into(b, sub)
    b.refresh_command = ctx.distro.facts.refresh
    return b.build()


def _load(b: Builder, data: bytes, source: str, detail: str) -> None:
    anchors, _bad = anchors_from_blocks(pemfile.go_certs(data), source, detail)
    b.anchors.extend(anchors)
    b.source(source, "cluster", SourceStatus.USED if anchors else SourceStatus.EMPTY,
             len(anchors), detail)  # fmt: skip

