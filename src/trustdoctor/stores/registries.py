"""Container engines pulling from a registry: dockerd, containerd (CRI), CRI-O and Podman.

All three are Go programs: their anchors are Go's system roots
(:mod:`.go`, loaded once per daemon process) *plus* per-registry CA files,
which are re-read for every pull (../shared/reference/truststores.md §5):

* **dockerd** (moby daemon/pkg/registry/registry.go ``loadTLSConfig``,
  docs.docker.com/engine/security/certificates): ``/etc/docker/certs.d/<host[:port]>/``,
  named exactly as the image reference spells the registry (no ``:443`` for
  the default port); ``*.crt`` are CAs appended to the system pool; ``*.cert``
  needs a ``*.key`` (and the reverse) or the pull fails.  Rootless dockerd
  (``$ROOTLESSKIT_STATE_DIR`` set) uses ``$XDG_CONFIG_HOME/docker/certs.d`` or
  ``~/.config/docker/certs.d`` instead.
* **containerd** (docs/hosts.md, core/remotes/docker/config/hosts.go): the
  CRI plugin's ``registry.config_path`` (``:``-list) in
  ``/etc/containerd/config.toml`` (``version = 3``:
  ``plugins."io.containerd.cri.v1.images".registry``; ``version = 2``:
  ``plugins."io.containerd.grpc.v1.cri".registry``); per root, the first
  existing of ``<host>_<port>_``, ``<host:port>``, ``_default``; the first root
  with a match wins.  In that directory ``hosts.toml`` (``ca`` relative to it),
  or, without one, the Docker layout (``*.crt``).  With ``config_path`` unset
  and no legacy ``mirrors``/``configs``, only containerd ≥ 2.2.0 defaults to
  ``/etc/containerd/certs.d:/etc/docker/certs.d`` (plugins/cri/images/plugin.go).
* **CRI-O / Podman** (containers/image docker/docker_client.go ``dockerCertDir``,
  containers-certs.d(5)): the first existing of
  ``$HOME/.config/containers/certs.d/<host[:port]>``,
  ``/etc/containers/certs.d/<host[:port]>``, ``/etc/docker/certs.d/<host[:port]>``;
  no merge.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Mapping

from ..model.findings import Code, Severity
from ..model.stores import ClientStore, SourceStatus, StoreContext
from . import pemfile
from .base import Builder, finding, merge_into
from .certs import anchors_from_blocks
from .go import load_system_roots
from .rootfs import describe_oserror

TYPE_CHECKING = False  # typing's constant, without importing typing (model/record.py)
if TYPE_CHECKING:
    from typing import Any

DOCKER_CERTS_D = "/etc/docker/certs.d"  # moby registry.CertsDir() (rootful)
CONTAINERD_CONFIG = "/etc/containerd/config.toml"
CONTAINERD_DEFAULT_CONFIG_PATH = "/etc/containerd/certs.d:/etc/docker/certs.d"  # ≥ 2.2.0
# CRI plugin section holding `registry`, per config version.
CONTAINERD_REGISTRY_KEYS: dict[int, tuple[str, ...]] = {
    3: ("plugins", "io.containerd.cri.v1.images", "registry"),
    2: ("plugins", "io.containerd.grpc.v1.cri", "registry"),
    1: ("plugins", "cri", "registry"),
}
# containers/image perHostCertDirs, after $HOME/.config/containers/certs.d.
CONTAINERS_CERT_DIRS: tuple[str, ...] = ("/etc/containers/certs.d", "/etc/docker/certs.d")

DOCKER_BINARIES = ("/usr/bin/dockerd", "/usr/local/bin/dockerd", "/usr/sbin/dockerd")
CONTAINERD_BINARIES = ("/usr/bin/containerd", "/usr/local/bin/containerd", "/usr/sbin/containerd")
CRIO_BINARIES = ("/usr/bin/crio", "/usr/local/bin/crio")
PODMAN_BINARIES = ("/usr/bin/podman", "/usr/local/bin/podman")


def _split_registry(registry: str) -> tuple[str, str | None]:
    if registry.startswith("["):  # [v6]:port
        host, _, rest = registry[1:].partition("]")
        return f"[{host}]", rest[1:] if rest.startswith(":") else None
    if registry.count(":") == 1:
        host, port = registry.split(":")
        return host, port
    return registry, None


def _add_pem(b: Builder, data: bytes, path: str, label: str, detail: str) -> int:
    """Go's ``AppendCertsFromPEM`` of one CA file: its anchors added, the file listed."""
    anchors, _ = anchors_from_blocks(pemfile.go_certs(data), path, label)
    b.anchors.extend(anchors)
    status = SourceStatus.USED if anchors else SourceStatus.EMPTY
    b.source(path, "file", status, len(anchors), detail)
    return len(anchors)


def _dir_source(b: Builder, d: str, n: int, detail: str) -> None:
    """List the per-registry directory ``d`` that gave ``n`` anchors."""
    b.source(d, "certs.d", SourceStatus.USED if n else SourceStatus.EMPTY, n, detail)


def read_certs_dir(
    ctx: StoreContext,
    b: Builder,
    d: str,
    *,
    client: str,
    missing_key_msg: str | None,
    missing_cert_msg: str | None,
) -> int:
    """Read a Docker-layout per-registry directory: ``*.crt`` CAs, ``.cert``/``.key`` pairs.

    ``missing_key_msg``/``missing_cert_msg`` are the daemon's own error
    messages (formats with ``{key}``/``{cert}``), quoted as ``client_error``.
    """
    try:
        entries = ctx.fs.listdir(d, limit=1000).entries
    except OSError as exc:
        b.source(d, "certs.d", SourceStatus.UNREADABLE, None, describe_oserror(exc))
        return 0
    names = {e.name for e in entries}
    count = 0

    def flag(code: Code, severity: Severity, path: str, reason: str, **values: str) -> None:
        b.add(finding(code, severity, client=client, path=path, reason=reason, **values))

    for e in entries:
        full = f"{d}/{e.name}"
        if e.name.endswith(".crt"):
            try:
                data = ctx.fs.read_bytes(full)
            except OSError as exc:
                b.source(full, "file", SourceStatus.UNREADABLE, None, describe_oserror(exc))
                flag(
                    Code.DAEMON_STORE,
                    Severity.ERROR,
                    full,
                    "ca-file-unreadable",
                    error=describe_oserror(exc),
                )
                continue
            n = _add_pem(
                b,
                data,
                full,
                f"{client} per-registry CA",
                "per-registry CA (*.crt), added to the system roots",
            )
            count += n
            if not n:
                flag(Code.ANCHOR_FILE_IGNORED, Severity.WARNING, full, "no-pem-certificate")
        elif e.name.endswith(".cert"):
            key = e.name[:-5] + ".key"
            if key not in names and missing_key_msg:
                flag(
                    Code.DAEMON_STORE,
                    Severity.ERROR,
                    full,
                    "client-cert-without-key",
                    key=key,
                    cert=e.name,
                    client_error=missing_key_msg.format(key=key, cert=e.name),
                )
            else:
                b.source(full, "file", SourceStatus.IGNORED, None, "client certificate (not a CA)")
        elif e.name.endswith(".key"):
            cert = e.name[:-4] + ".cert"
            if cert not in names and missing_cert_msg:
                flag(
                    Code.DAEMON_STORE,
                    Severity.ERROR,
                    full,
                    "key-without-client-cert",
                    key=e.name,
                    cert=cert,
                    client_error=missing_cert_msg.format(key=e.name, cert=cert),
                )
        elif not e.is_dir and e.name != "hosts.toml":
            b.source(full, "file", SourceStatus.IGNORED, None, "not *.crt: not read as a CA")
            if e.name.endswith((".pem", ".cer", ".ca", ".der")):
                flag(Code.ANCHOR_FILE_IGNORED, Severity.WARNING, full, "not-crt-suffix")
    return count


def daemon_env(ctx: StoreContext, daemon: str | None) -> tuple[Mapping[str, str], str | None]:
    """The environment a daemon runs with.

    Inspecting ``/`` with the tool's own environment, the user's shell
    variables are not the daemon's: use the running daemon's
    ``/proc/PID/environ`` when it was found, else an empty environment (what a
    systemd unit starts with), and say so.
    """
    if ctx.env_origin != "tool" or daemon is None:
        return ctx.env, None
    if daemon in ctx.daemon_env:
        return ctx.daemon_env[daemon], f"environment of the running {daemon}"
    return {}, f"{daemon} not running here: its environment is assumed empty, not this shell's"


def _system(ctx: StoreContext, b: Builder, label: str) -> None:
    daemon = {"docker": "dockerd", "containerd": "containerd", "crio": "crio"}.get(b.client)
    env, note = daemon_env(ctx, daemon)
    if note:
        b.source("environment", "env", SourceStatus.USED, None, note)
    sys_b = load_system_roots(ctx, client=b.client, env=env)
    once = " (loaded once per daemon process)" if label != "podman" else ""
    merge_into(b, sys_b, prefix=f"{label}: Go system roots{once}")


def _refresh(ctx: StoreContext, service: str) -> str | None:
    base = ctx.distro.facts.refresh
    return f"{base} && systemctl restart {service}" if base else f"systemctl restart {service}"


# -- dockerd ------------------------------------------------------------------------


def docker_certs_root(env: Mapping[str, str]) -> tuple[str, str]:
    """moby ``registry.CertsDir()``: rootless when running under RootlessKit."""
    if env.get("ROOTLESSKIT_STATE_DIR"):
        xdg = env.get("XDG_CONFIG_HOME")
        if xdg:
            return f"{xdg.rstrip('/')}/docker/certs.d", "rootless ($XDG_CONFIG_HOME)"
        home = env.get("HOME")
        if home:
            return f"{home.rstrip('/')}/.config/docker/certs.d", "rootless ($HOME)"
    return DOCKER_CERTS_D, "rootful dockerd"


def docker_present(ctx: StoreContext) -> bool:
    return (
        any(ctx.fs.exists(p) for p in DOCKER_BINARIES)
        or ctx.fs.is_dir(DOCKER_CERTS_D)
        or "dockerd" in ctx.daemons
    )


def _near_misses(registry: str, names: list[str]) -> list[str]:
    host, port = _split_registry(registry)
    out = []
    for n in names:
        if n == registry:
            continue
        nh, np = (
            _split_registry(n.replace("_", ":").rstrip(":"))
            if n.endswith("_")
            else _split_registry(n)
        )
        if nh == host and np != port:
            out.append(n)
    return out


def docker_model(ctx: StoreContext) -> ClientStore:
    b = Builder("docker", partial_chain=True, refresh_command=_refresh(ctx, "docker"))
    _system(ctx, b, "dockerd")
    root, how = docker_certs_root(daemon_env(ctx, "dockerd")[0])
    if root != DOCKER_CERTS_D and ctx.fs.is_dir(DOCKER_CERTS_D):
        b.source(DOCKER_CERTS_D, "certs.d", SourceStatus.IGNORED, None, f"not used: {how}")
    try:
        dirs = [
            e.name for e in ctx.fs.listdir(root, limit=5000).entries if e.is_dir or e.is_symlink
        ]
    except OSError as exc:
        dirs = []
        st = SourceStatus.MISSING if isinstance(exc, FileNotFoundError) else SourceStatus.UNREADABLE
        b.source(root, "certs.d", st, None, how)
    b.registry_dirs.extend(f"{root}/{d}" for d in dirs)
    for d in dirs:
        host, port = _split_registry(d)
        if port == "443":
            b.add(
                finding(
                    Code.DAEMON_STORE,
                    Severity.WARNING,
                    client="docker",
                    path=f"{root}/{d}",
                    reason="port-443-in-name",
                    dir=d,
                    host=host,
                    expected=f"{root}/{host}",
                )
            )
        elif re.match(r"^.+_\d+_?$", d):
            b.add(
                finding(
                    Code.DAEMON_STORE,
                    Severity.WARNING,
                    client="docker",
                    path=f"{root}/{d}",
                    reason="containerd-style-name",
                    expected=f"{root}/{':'.join(d.rstrip('_').rsplit('_', 1))}",
                )
            )
    reg = ctx.registry
    if reg:
        if reg in dirs:
            n = read_certs_dir(
                ctx,
                b,
                f"{root}/{reg}",
                client="docker",
                missing_key_msg="missing key {key} for client certificate {cert}. "
                "CA certificates must use the extension .crt",
                missing_cert_msg="missing client certificate {cert} for key {key}",
            )
            _dir_source(
                b, f"{root}/{reg}", n, f"per-registry directory for {reg} (re-read on every pull)"
            )
        else:
            b.source(
                f"{root}/{reg}",
                "certs.d",
                SourceStatus.MISSING,
                None,
                f"per-registry directory for {reg}",
            )
            misses = _near_misses(reg, dirs)
            if misses:
                b.add(
                    finding(
                        Code.DAEMON_STORE,
                        Severity.ERROR,
                        client="docker",
                        path=f"{root}/{misses[0]}",
                        reason="name-cannot-match",
                        misses=misses,
                        expected=f"{root}/{reg}",
                        registry=reg,
                    )
                )
        for d in dirs:
            if d != reg:
                b.source(
                    f"{root}/{d}",
                    "certs.d",
                    SourceStatus.IGNORED,
                    None,
                    f"for registry {d}, not {reg}",
                )
    else:
        for d in dirs:
            b.source(
                f"{root}/{d}",
                "certs.d",
                SourceStatus.IGNORED,
                None,
                f"used only for registry {d} (give --registry to include it)",
            )
    return b.build()


# -- containerd ------------------------------------------------------------------------


def containerd_present(ctx: StoreContext) -> bool:
    return (
        any(ctx.fs.exists(p) for p in CONTAINERD_BINARIES)
        or ctx.fs.exists(CONTAINERD_CONFIG)
        or "containerd" in ctx.daemons
    )


def containerd_version(ctx: StoreContext) -> tuple[tuple[int, int, int] | None, str]:
    """containerd's version from the root's package database, if any."""
    try:
        status = ctx.fs.read_text("/var/lib/dpkg/status", 64 << 20)
    except OSError:
        status = ""
    # Only the stanzas naming containerd are cut out (a host's status file is
    # ~1 MB of ~1,000 stanzas: splitting it all took ~8 ms).
    for m in re.finditer(r"^Package: (containerd(?:\.io)?)$", status, re.M):
        start = status.rfind("\n\n", 0, m.start()) + 1
        stop = status.find("\n\n", m.end())
        block = status[start : stop if stop >= 0 else len(status)]
        if re.search(r"^Status: .*installed$", block, re.M):
            v = re.search(r"^Version: (?:\d+:)?(\d+)\.(\d+)\.(\d+)", block, re.M)
            if v:
                return (int(v[1]), int(v[2]), int(v[3])), f"dpkg package {m[1]}"
    try:
        apk = ctx.fs.read_text("/lib/apk/db/installed", 64 << 20)
    except OSError:
        apk = ""
    for block in apk.split("\n\n"):
        if re.search(r"^P:containerd$", block, re.M):
            v = re.search(r"^V:(\d+)\.(\d+)\.(\d+)", block, re.M)
            if v:
                return (int(v[1]), int(v[2]), int(v[3])), "apk package containerd"
    return None, "not found in a package database"


def _dig(d: Mapping[str, Any], keys: tuple[str, ...]) -> Any:
    cur: Any = d
    for k in keys:
        if not isinstance(cur, Mapping) or k not in cur:
            return None
        cur = cur[k]
    return cur


def _deep_merge(a: dict[str, Any], b: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(a)
    for k, v in b.items():
        if isinstance(v, Mapping) and isinstance(out.get(k), Mapping):
            out[k] = _deep_merge(dict(out[k]), v)
        else:
            out[k] = v
    return out


def _load_toml(ctx: StoreContext, b: Builder, path: str) -> dict[str, Any] | None:
    import tomllib

    try:
        text = ctx.fs.read_text(path, 4 << 20)
    except OSError as exc:
        if not isinstance(exc, FileNotFoundError):
            b.add(
                finding(
                    Code.UNREADABLE_FILE,
                    Severity.WARNING,
                    client=b.client,
                    path=path,
                    reason="os-error",
                    error=describe_oserror(exc),
                )
            )
        return None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        b.add(
            finding(
                Code.UNREADABLE_FILE,
                Severity.ERROR,
                client=b.client,
                path=path,
                reason="invalid-toml",
                error=str(exc),  # tomllib's message
                effect="containerd-refuses-start",
            )
        )
        return None


def _containerd_config(ctx: StoreContext, b: Builder) -> tuple[dict[str, Any], str]:
    path = CONTAINERD_CONFIG
    args = list(ctx.process_cmdline)
    for i, a in enumerate(args):  # containerd --config/-c FILE
        if a in ("--config", "-c") and i + 1 < len(args):
            path = args[i + 1]
        elif a.startswith("--config="):
            path = a.split("=", 1)[1]
    cfg = _load_toml(ctx, b, path)
    if cfg is None:
        b.source(
            path,
            "file",
            SourceStatus.MISSING,
            None,
            "containerd configuration (built-in defaults apply)",
        )
        return {}, path
    b.source(
        path,
        "file",
        SourceStatus.USED,
        None,
        f"containerd configuration, version {cfg.get('version', 1)}",
    )
    imports = cfg.get("imports") or []
    if isinstance(imports, list):
        import fnmatch

        for pattern in imports:
            if not isinstance(pattern, str):
                continue
            base = pattern.rsplit("/", 1)[0] or "/"
            try:
                names = [e.name for e in ctx.fs.listdir(base, limit=1000).entries]
            except OSError:
                continue
            for n in sorted(names):
                full = f"{base}/{n}"
                if fnmatch.fnmatch(full, pattern):
                    sub = _load_toml(ctx, b, full)
                    if sub:
                        cfg = _deep_merge(cfg, sub)
                        b.source(full, "file", SourceStatus.USED, None, "imported configuration")
    return cfg, path


def _host_dirs(root: str, registry: str) -> list[str]:
    """hosts.go ``hostPaths``: ``<host>_<port>_`` (with a port), ``<host:port>``, ``_default``."""
    host, port = _split_registry(registry)
    out = []
    if port is not None:
        out.append(f"{root}/{host}_{port}_")
    out += [f"{root}/{registry}", f"{root}/_default"]
    return out


def _read_hosts_toml(ctx: StoreContext, b: Builder, d: str, registry: str) -> int:
    """Apply a hosts.toml: ``ca`` files for the registry itself; mirrors listed, not used."""
    path = f"{d}/hosts.toml"
    cfg = _load_toml(ctx, b, path)
    if cfg is None:
        return -1
    b.source(path, "hosts.toml", SourceStatus.USED, None, f"hosts configuration for {registry}")
    host, port = _split_registry(registry)
    count = 0
    sections: list[tuple[str, Mapping[str, Any], bool]] = []
    server = cfg.get("server")
    # Root-level settings belong to `server`, the upstream of this namespace.
    sections.append((str(server or f"https://{registry}"), cfg, True))
    own_names = {registry} | ({host, f"{host}:443"} if port in (None, "443") else set())
    hosts = cfg.get("host")
    if isinstance(hosts, Mapping):
        for url, sec in hosts.items():
            if isinstance(sec, Mapping):
                sections.append((url, sec, _url_host(url) in own_names))
    for url, sec, applies in sections:
        if sec.get("skip_verify") is True:
            b.add(
                finding(
                    Code.DAEMON_STORE,
                    Severity.INFO,
                    client="containerd",
                    path=path,
                    reason="skip-verify",
                    url=url,
                )
            )
        ca = sec.get("ca")
        cas = (
            [ca]
            if isinstance(ca, str)
            else [c for c in ca if isinstance(c, str)]
            if isinstance(ca, list)
            else []
        )
        for c in cas:
            full = c if c.startswith("/") else f"{d}/{c}"
            try:
                data = ctx.fs.read_bytes(full)
            except OSError as exc:
                b.source(
                    full,
                    "file",
                    SourceStatus.MISSING
                    if isinstance(exc, FileNotFoundError)
                    else SourceStatus.UNREADABLE,
                    None,
                    f"ca for {url}",
                )
                b.add(
                    finding(
                        Code.DAEMON_STORE,
                        Severity.ERROR,
                        client="containerd",
                        path=full,
                        reason="hosts-ca-unreadable",
                        error=describe_oserror(exc),
                        registry=registry,
                    )
                )
                continue
            if not applies:
                b.source(
                    full,
                    "file",
                    SourceStatus.IGNORED,
                    None,
                    f"ca for mirror {url}, not {registry} itself",
                )
                continue
            n = _add_pem(
                b,
                data,
                full,
                f"hosts.toml ca for {url}",
                f"hosts.toml ca for {url}, added to the system roots",
            )
            count += n
            if not n:
                b.add(
                    finding(
                        Code.DAEMON_STORE,
                        Severity.ERROR,
                        client="containerd",
                        path=full,
                        reason="hosts-ca-no-pem",
                    )
                )
    return count


def _url_host(url: str) -> str:
    m = re.match(r"^(?:[a-z]+://)?([^/]+)", url)
    return m.group(1) if m else url


def containerd_model(ctx: StoreContext) -> ClientStore:
    b = Builder("containerd", partial_chain=True, refresh_command=_refresh(ctx, "containerd"))
    _system(ctx, b, "containerd")
    cfg, cfg_path = _containerd_config(ctx, b)
    version = cfg.get("version", 1)
    keys = CONTAINERD_REGISTRY_KEYS.get(
        version if isinstance(version, int) else 1, CONTAINERD_REGISTRY_KEYS[1]
    )
    reg_cfg = _dig(cfg, keys) or {}
    other_keys = [k for v, k in CONTAINERD_REGISTRY_KEYS.items() if v != version and _dig(cfg, k)]
    if other_keys:
        b.add(
            finding(
                Code.DAEMON_STORE,
                Severity.WARNING,
                client="containerd",
                path=cfg_path,
                reason="registry-settings-ignored",
                section=".".join(other_keys[0]),
                version=str(version),
                expected_section=".".join(keys),
            )
        )
    config_path = reg_cfg.get("config_path") if isinstance(reg_cfg, Mapping) else None
    legacy = isinstance(reg_cfg, Mapping) and bool(reg_cfg.get("mirrors") or reg_cfg.get("configs"))
    ver, ver_how = containerd_version(ctx)
    reg = ctx.registry
    roots: list[str] = []
    if isinstance(config_path, str) and config_path:
        roots = [r for r in config_path.split(":") if r]
        b.source(f"config_path = {config_path}", "config", SourceStatus.USED, None, ".".join(keys))
    elif legacy:
        b.source(
            "registry.configs",
            "config",
            SourceStatus.USED,
            None,
            "legacy mirrors/configs (deprecated)",
        )
        configs = reg_cfg.get("configs") or {}
        tls = _dig(configs, (reg, "tls")) if reg and isinstance(configs, Mapping) else None
        if isinstance(tls, Mapping) and isinstance(tls.get("ca_file"), str):
            ca = tls["ca_file"]
            try:
                data = ctx.fs.read_bytes(ca)
                anchors, _ = anchors_from_blocks(
                    pemfile.go_certs(data), ca, "legacy configs.tls.ca_file"
                )
                b.anchors.extend(anchors)
                b.source(ca, "file", SourceStatus.USED, len(anchors), f"legacy ca_file for {reg}")
            except OSError as exc:
                b.add(
                    finding(
                        Code.DAEMON_STORE,
                        Severity.ERROR,
                        client="containerd",
                        path=ca,
                        reason="legacy-ca-file-unreadable",
                        error=describe_oserror(exc),
                        registry=reg,
                    )
                )
    elif ver is not None and ver >= (2, 2, 0):
        roots = CONTAINERD_DEFAULT_CONFIG_PATH.split(":")
        b.source(
            f"config_path (default) = {CONTAINERD_DEFAULT_CONFIG_PATH}",
            "config",
            SourceStatus.USED,
            None,
            f"containerd {'.'.join(map(str, ver))} ({ver_how}) defaults config_path when unset",
        )
    else:
        unset_roots = CONTAINERD_DEFAULT_CONFIG_PATH.split(":")
        existing = [
            d for r in unset_roots for d in (_host_dirs(r, reg) if reg else [r]) if ctx.fs.is_dir(d)
        ]
        if ver is None:
            b.source(
                "config_path",
                "config",
                SourceStatus.MISSING,
                None,
                f"unset; containerd version unknown ({ver_how})",
            )
            b.add(
                finding(
                    Code.DAEMON_STORE,
                    Severity.WARNING if existing else Severity.INFO,
                    client="containerd",
                    path=cfg_path,
                    reason="config-path-unset-version-unknown",
                    default_config_path=CONTAINERD_DEFAULT_CONFIG_PATH,
                    dirs=existing or None,
                )
            )
        else:
            b.source(
                "config_path",
                "config",
                SourceStatus.MISSING,
                None,
                f"unset; containerd {'.'.join(map(str, ver))} ({ver_how}) ignores certs.d",
            )
            if existing:
                b.add(
                    finding(
                        Code.DAEMON_STORE,
                        Severity.ERROR,
                        client="containerd",
                        path=existing[0],
                        reason="config-path-unset",
                        config=cfg_path,
                        version=".".join(map(str, ver)),
                        section=".".join(keys),
                    )
                )
    for r in roots:
        try:
            names = [e.name for e in ctx.fs.listdir(r, limit=5000).entries]
        except OSError:
            b.source(r, "certs.d", SourceStatus.MISSING, None, "config_path root")
            continue
        b.registry_dirs.extend(f"{r}/{n}" for n in names)
    if reg and roots:
        chosen: str | None = None
        tried: list[str] = []
        for r in roots:
            for d in _host_dirs(r, reg):
                tried.append(d)
                if ctx.fs.is_dir(d):
                    chosen = d
                    break
            if chosen:
                break
        if chosen is None:
            b.source(
                " | ".join(tried),
                "certs.d",
                SourceStatus.MISSING,
                None,
                f"no host directory for {reg}",
            )
        else:
            for d in tried[:-1]:
                b.source(d, "certs.d", SourceStatus.MISSING, None, "tried first")
            if chosen.endswith("/_default"):
                later = [
                    d
                    for r in roots[roots.index(chosen.rsplit("/", 1)[0]) + 1 :]
                    for d in _host_dirs(r, reg)[:-1]
                    if ctx.fs.is_dir(d)
                ]
                if later:
                    b.add(
                        finding(
                            Code.DAEMON_STORE,
                            Severity.ERROR,
                            client="containerd",
                            path=chosen,
                            reason="default-shadows",
                            shadowed=later[0],
                            registry=reg,
                        )
                    )
            n = _read_hosts_toml(ctx, b, chosen, reg)
            if n < 0:  # no hosts.toml: the Docker layout fallback
                n = read_certs_dir(
                    ctx, b, chosen, client="containerd", missing_key_msg=None, missing_cert_msg=None
                )
            _dir_source(b, chosen, n, f"host directory for {reg} (re-read on every pull)")
    return b.build()


# -- CRI-O / Podman (containers/image) ---------------------------------------------------


def crio_present(ctx: StoreContext) -> bool:
    return (
        any(ctx.fs.exists(p) for p in CRIO_BINARIES)
        or ctx.fs.is_dir("/etc/crio")
        or "crio" in ctx.daemons
    )


def podman_present(ctx: StoreContext) -> bool:
    return any(ctx.fs.exists(p) for p in PODMAN_BINARIES)


def containers_model(ctx: StoreContext, client: str) -> ClientStore:
    service = "crio" if client == "crio" else None
    b = Builder(
        client,
        partial_chain=True,
        refresh_command=_refresh(ctx, service) if service else ctx.distro.facts.refresh,
    )
    _system(ctx, b, client)
    env = daemon_env(ctx, "crio")[0] if client == "crio" else ctx.env
    home = env.get("HOME") or "/root"  # homedir.Get(): $HOME, else the user's home (root)
    roots = [(f"{home.rstrip('/')}/.config/containers/certs.d", "$HOME")] + [
        (r, "system") for r in CONTAINERS_CERT_DIRS
    ]
    for r, _ in roots:
        with contextlib.suppress(OSError):
            b.registry_dirs.extend(f"{r}/{e.name}" for e in ctx.fs.listdir(r, limit=5000).entries)
    reg = ctx.registry
    if reg:
        chosen = None
        for r, why in roots:
            d = f"{r}/{reg}"
            if chosen is None and ctx.fs.is_dir(d):
                chosen = d
                n = read_certs_dir(
                    ctx,
                    b,
                    d,
                    client=client,
                    missing_key_msg="missing key {key} for client certificate {cert}. Note that CA "
                    "certificates should use the extension .crt",
                    missing_cert_msg="missing client certificate {cert} for key {key}",
                )
                _dir_source(
                    b, d, n, f"first existing per-registry directory ({why}); read per operation"
                )
            elif ctx.fs.is_dir(d):
                b.source(
                    d,
                    "certs.d",
                    SourceStatus.SHADOWED,
                    None,
                    f"not read: {chosen} exists (no merge)",
                )
            else:
                b.source(d, "certs.d", SourceStatus.MISSING, None, why)
        if chosen is None:
            misses = [d for d in b.registry_dirs if _near_misses(reg, [d.rsplit("/", 1)[1]])]
            if misses:
                b.add(
                    finding(
                        Code.DAEMON_STORE,
                        Severity.ERROR,
                        client=client,
                        path=misses[0],
                        reason="name-must-match",
                        found=misses[0].rsplit("/", 1)[1],
                        expected=f"/etc/containers/certs.d/{reg}",
                        registry=reg,
                    )
                )
    return b.build()


def crio_model(ctx: StoreContext) -> ClientStore:
    return containers_model(ctx, "crio")


def podman_model(ctx: StoreContext) -> ClientStore:
    return containers_model(ctx, "podman")
