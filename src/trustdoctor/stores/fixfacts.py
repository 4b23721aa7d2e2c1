"""Build a :class:`FixContext` from a :class:`StoreContext` (the I/O edge of the planners).

Reads, always through :class:`~trustdoctor.stores.rootfs.RootFS` and bounded:

* where each trust variable is set: the process environment (``--pid``), the
  shell, ``/etc/environment`` and profile scripts, systemd units
  (``Environment=``/``EnvironmentFile=``, drop-ins included), a Dockerfile's
  ``ENV`` lines (``--dockerfile``), the image configuration (``--image``);
* the Java keystore's type and password rule (``JAVA_VERSION`` of the JDK's
  ``release`` file, the keystore's own header and MAC);
* containerd's configuration version, ``config_path`` and legacy settings.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
from collections.abc import Iterable, Mapping, Sequence

from ..clients import trust_variables
from ..fixes.model import ContainerdInfo, EnvOrigin, FixContext, JavaInfo, KubeconfigInfo
from ..fixes.tables import CONTAINERD_REGISTRY_TABLE, JAVA_SYSTEM_HOOK, SYSTEM_INSTALL

TYPE_CHECKING = False  # typing's constant, without importing typing (model/record.py)
if TYPE_CHECKING:
    from ..model.stores import ClientStore, StoreContext

MAX_UNIT_FILES = 3000
MAX_FILE = 256 * 1024
# systemd unit search path (systemd.unit(5)), most specific first.
UNIT_DIRS: tuple[str, ...] = (
    "/etc/systemd/system",
    "/run/systemd/system",
    "/usr/local/lib/systemd/system",
    "/usr/lib/systemd/system",
    "/lib/systemd/system",
)
# Files a login shell reads that commonly export variables (bash(1), pam_env(8)).
PROFILE_FILES: tuple[str, ...] = (
    "/etc/environment",
    "/etc/profile",
    "/etc/bash.bashrc",
    "/etc/bashrc",
    "/root/.bashrc",
    "/root/.profile",
    "/root/.bash_profile",
)
_ASSIGN = r"^\s*(?:export\s+)?{var}=(.*)$"


def _pid_of(ctx: StoreContext) -> int | None:
    if ctx.label.startswith("--pid "):
        try:
            return int(ctx.label.split()[1])
        except (IndexError, ValueError):
            return None
    return None


def fix_context(
    ctx: StoreContext,
    stores: Sequence[ClientStore] = (),
    *,
    env_given: bool = False,
    dockerfile: str | None = None,
    servers: Sequence[str] = (),
    host: str | None = None,
    clients: Sequence[str] = (),
    origins: bool = True,
) -> FixContext:
    """Everything the planners need, read from the root of ``ctx``.

    ``origins=False`` skips :func:`env_origins` (every profile script and
    systemd unit of the root, ~12 ms on a Debian host): only a plan that
    unsets an override (``env-override``) shows where variables are set.
    """
    from .registries import docker_certs_root

    facts = SYSTEM_INSTALL.get(ctx.distro.family, SYSTEM_INSTALL["unknown"])
    tool_installed = ctx.fs.exists(facts.tool) if facts.tool else None
    pid = _pid_of(ctx)
    by_client = {s.client: s for s in stores}
    names = trust_variables()
    env = {k: v for k, v in ctx.env.items() if k in names and v}
    return FixContext(
        family=ctx.distro.family,
        distro_label=ctx.distro.label,
        # An image is changed by its Dockerfile, never through the temporary
        # directory it was extracted to: name the image, not that directory.
        root=ctx.label if ctx.label.startswith("--image") else str(ctx.fs.root),
        image=ctx.label.startswith("--image"),
        pid=pid,
        process=ctx.process_exe,
        tool_installed=tool_installed,
        registry=ctx.registry,
        env=env,
        env_origins=tuple(env_origins(ctx, env, env_given=env_given, dockerfile=dockerfile))
        if origins
        else (),
        java=java_info(ctx, by_client["java"]) if "java" in by_client else None,
        # Only containerd's recipe reads it (its config and package version:
        # ~15 ms, 35-70 ms beside a scan's threads): skipped when neither the
        # plan's clients nor the stores judged include containerd.
        containerd=containerd_info(ctx)
        if "containerd" in clients or "containerd" in by_client or not (clients or stores)
        else None,
        docker_certs_root=docker_certs_root(ctx.env)[0],
        containers_dir=_containers_dir(stores, ctx.registry),
        servers=tuple(servers),
        host=host,
        as_root=os.geteuid() == 0,
        now=ctx.now,
        clients=tuple(clients),
        kubeconfig=kubeconfig_info(ctx) if "kubectl" in by_client or "kubectl" in clients else None,
    )


def kubeconfig_info(ctx: StoreContext) -> KubeconfigInfo | None:
    """The cluster a kubectl plan changes: the current context's (stores/kubeconfig.py)."""
    from .kubeconfig import kubeconfig_paths, read_kubeconfig

    kc = read_kubeconfig(ctx)
    if kc.cluster is None or kc.origin is None:
        return None
    files, why = kubeconfig_paths(ctx)
    return KubeconfigInfo(
        cluster=kc.cluster,
        file=kc.origin,
        default_file=why == "$HOME/.kube/config" or kc.origin == files[0],
        ca_file=kc.ca_file,
        ca_data=kc.ca_data is not None,
        insecure=kc.insecure,
        server=kc.server,
    )


# -- environment origins -------------------------------------------------------------------


def env_origins(
    ctx: StoreContext,
    env: Mapping[str, str],
    *,
    env_given: bool = False,
    dockerfile: str | None = None,
) -> list[EnvOrigin]:
    """Where each variable of ``env`` is set (several places may set the same one)."""
    out: list[EnvOrigin] = []
    if not env:
        return out
    pid = _pid_of(ctx)
    unit = _unit_of_pid(pid) if pid is not None else None
    for var, value in env.items():
        if pid is not None:
            out.append(EnvOrigin(var, value, "process", f"/proc/{pid}/environ", unit=unit))
        elif ctx.label.startswith("--image"):
            out.append(EnvOrigin(var, value, "image"))
        elif env_given:
            out.append(EnvOrigin(var, value, "given"))
        elif ctx.fs.is_host:
            out.append(EnvOrigin(var, value, "shell"))
    names = list(env)
    out += _profile_origins(ctx, names)
    out += _systemd_origins(ctx, names, only_unit=unit)
    if dockerfile:
        out += dockerfile_origins(dockerfile, names)
    return out


def _unit_of_pid(pid: int, proc: str = "/proc") -> str | None:
    """The systemd unit of a process, from its cgroup (``0::/system.slice/docker.service``)."""
    try:
        with open(f"{proc}/{pid}/cgroup", encoding="utf-8", errors="replace") as fh:
            text = fh.read()
    except OSError:
        return None
    for line in text.splitlines():
        path = line.rsplit(":", 1)[-1]
        for part in reversed(path.split("/")):
            if part.endswith(".service"):
                return part
    return None


def _read(ctx: StoreContext, path: str) -> str | None:
    try:
        return ctx.fs.read_text(path, MAX_FILE)
    except OSError:
        return None


def _assignments(text: str, names: Iterable[str]) -> Iterable[tuple[str, str, int]]:
    pats = {n: re.compile(_ASSIGN.format(var=re.escape(n))) for n in names}
    for i, line in enumerate(text.splitlines(), 1):
        for n, pat in pats.items():
            m = pat.match(line)
            if m:
                yield n, _unquote(m.group(1).strip()), i


def _unquote(v: str) -> str:
    if len(v) >= 2 and v[0] == v[-1] and v[0] in "\"'":
        return v[1:-1]
    return v


def _profile_origins(ctx: StoreContext, names: Sequence[str]) -> list[EnvOrigin]:
    files = list(PROFILE_FILES)
    with contextlib.suppress(OSError):
        files += [
            f"/etc/profile.d/{e.name}"
            for e in ctx.fs.listdir("/etc/profile.d", limit=500).entries
            if e.name.endswith(".sh")
        ]
    home = ctx.env.get("HOME")
    if home and home.startswith("/") and home != "/root":
        files += [f"{home}/.bashrc", f"{home}/.profile", f"{home}/.bash_profile"]
    out: list[EnvOrigin] = []
    for f in files:
        text = _read(ctx, f)
        if text is None:
            continue
        for var, value, line in _assignments(text, names):
            out.append(EnvOrigin(var, value, "file", f, line))
    return out


def _unit_files(ctx: StoreContext) -> Iterable[tuple[str, str]]:
    """(unit name, file) for every ``*.service`` and ``*.service.d/*.conf`` (bounded)."""
    budget = MAX_UNIT_FILES
    seen: set[str] = set()
    for d in UNIT_DIRS:
        try:
            listing = ctx.fs.listdir(d, limit=MAX_UNIT_FILES)
        except OSError:
            continue
        # Merged /usr: /lib is a link to usr/lib, so /lib/systemd/system is
        # /usr/lib/systemd/system again; systemd drops such duplicates too
        # (lookup_paths_init: path_strv_resolve_uniq).
        if listing.path in seen:
            continue
        seen.add(listing.path)
        for e in listing.entries:
            if budget <= 0:
                return
            if e.name.endswith(".service") and not e.is_dir:
                budget -= 1
                yield e.name, f"{d}/{e.name}"
            elif e.name.endswith(".service.d"):
                try:
                    sub = ctx.fs.listdir(f"{d}/{e.name}", limit=100).entries
                except OSError:
                    continue
                for s in sub:
                    if s.name.endswith(".conf"):
                        budget -= 1
                        yield e.name[: -len(".d")], f"{d}/{e.name}/{s.name}"


def _systemd_origins(
    ctx: StoreContext, names: Sequence[str], *, only_unit: str | None
) -> list[EnvOrigin]:
    out: list[EnvOrigin] = []
    wanted = set(names)
    for unit, path in _unit_files(ctx):
        if only_unit is not None and unit != only_unit:
            continue
        text = _read(ctx, path)
        if text is None or ("Environment" not in text):
            continue
        for i, raw in enumerate(text.splitlines(), 1):
            line = raw.strip()
            if line.startswith("Environment="):
                try:
                    words = shlex.split(line[len("Environment=") :])
                except ValueError:
                    words = line[len("Environment=") :].split()
                for w in words:
                    k, sep, v = w.partition("=")
                    if sep and k in wanted:
                        out.append(EnvOrigin(k, v, "systemd", path, i, unit))
            elif line.startswith("EnvironmentFile="):
                ef = line[len("EnvironmentFile=") :].strip().lstrip("-")
                if not ef.startswith("/"):
                    continue
                etext = _read(ctx, ef)
                if etext is None:
                    continue
                for var, value, eline in _assignments(etext, names):
                    out.append(EnvOrigin(var, value, "systemd", ef, eline, unit))
    return out


def dockerfile_origins(path: str, names: Sequence[str]) -> list[EnvOrigin]:
    """``ENV`` lines of a Dockerfile (``ENV K=V [K2=V2...]`` and the legacy ``ENV K V``)."""
    from ..sources.files import read_source

    try:
        text = read_source(path, max_bytes=MAX_FILE).decode("utf-8", "replace")
    except Exception:  # InputError: reported by the caller's own read
        return []
    out: list[EnvOrigin] = []
    wanted = set(names)
    for i, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line.upper().startswith("ENV "):
            continue
        rest = line[4:].strip()
        try:
            words = shlex.split(rest)
        except ValueError:
            words = rest.split()
        if words and "=" not in words[0] and len(words) >= 2:
            if words[0] in wanted:
                out.append(EnvOrigin(words[0], " ".join(words[1:]), "dockerfile", path, i))
            continue
        for w in words:
            k, sep, v = w.partition("=")
            if sep and k in wanted:
                out.append(EnvOrigin(k, v, "dockerfile", path, i))
    return out


# -- Java ----------------------------------------------------------------------------------------


def _java_version(ctx: StoreContext, home: str | None) -> int | None:
    if not home:
        return None
    for base in (home, home.removesuffix("/jre")):
        text = _read(ctx, f"{base}/release")
        if text is None:
            continue
        m = re.search(r'^JAVA_VERSION="?(\d+)(?:\.(\d+))?', text, re.M)
        if m:
            major = int(m.group(1))
            if major == 1 and m.group(2):
                return int(m.group(2))
            return major
    return None


def java_info(ctx: StoreContext, store: ClientStore) -> JavaInfo:
    """Which keystore the JVM loads, its type and its password rule."""
    from ..errors import InputError
    from ..model.stores import SourceStatus
    from .java import system_properties
    from .keystore import detect_keystore_type, inspect_keystore

    home = next(
        (s.path for s in store.sources if s.kind == "jdk" and s.status == SourceStatus.USED), None
    )
    keystore = next(
        (
            s.path
            for s in store.sources
            if s.kind == "keystore"
            and s.status in (SourceStatus.USED, SourceStatus.EMPTY, SourceStatus.REJECTED)
        ),
        None,
    )
    props, _ = system_properties(ctx)
    prop_store = "javax.net.ssl.trustStore" in props
    given_pw = props.get("javax.net.ssl.trustStorePassword")
    version = _java_version(ctx, home)
    store_type: str | None = None
    password: str | None = given_pw if given_pw is not None else "changeit"
    password_free = False
    if keystore is not None:
        try:
            data = ctx.fs.read_bytes(keystore)
        except OSError:
            data = b""
        store_type = detect_keystore_type(data) if data else None
        if store_type is not None and password is not None:
            try:
                ks = inspect_keystore(data, password.encode(), source=keystore)
                password_free = store_type == "pkcs12" and not ks.integrity_checked
            except InputError:
                password = None  # a MAC/digest with another password
    hook = JAVA_SYSTEM_HOOK.get(ctx.distro.family)
    return JavaInfo(
        hook_installed=ctx.fs.exists(hook) if hook else None,
        home=home,
        version=version,
        keystore=keystore,
        store_type=store_type,
        password=password,
        password_free=password_free,
        managed=store.system_store and not prop_store,
        property_store=prop_store,
    )


# -- containerd -----------------------------------------------------------------------------------


def containerd_info(
    ctx: StoreContext, config: str = "/etc/containerd/config.toml"
) -> ContainerdInfo:
    import tomllib

    from .registries import containerd_version

    ver, _ = containerd_version(ctx)
    text = _read(ctx, config)
    if text is None:
        return ContainerdInfo(config=config, exists=ctx.fs.lexists(config), containerd_version=ver)
    try:
        cfg = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return ContainerdInfo(config=config, exists=True, containerd_version=ver)
    version = cfg.get("version")
    version = version if isinstance(version, int) else 1
    reg = _dig(cfg, CONTAINERD_REGISTRY_TABLE.get(version, CONTAINERD_REGISTRY_TABLE[2]))
    config_path = reg.get("config_path") if isinstance(reg, dict) else None
    legacy = isinstance(reg, dict) and bool(reg.get("mirrors") or reg.get("configs"))
    return ContainerdInfo(
        config=config,
        exists=True,
        version=version,
        config_path=config_path if isinstance(config_path, str) and config_path else None,
        legacy=legacy,
        containerd_version=ver,
    )


def table_keys(table: str) -> tuple[str, ...]:
    """``plugins."io.containerd.grpc.v1.cri".registry`` → its keys."""
    keys: list[str] = []
    for m in re.finditer(r'"([^"]*)"|([^.]+)', table):
        keys.append(m.group(1) if m.group(1) is not None else m.group(2))
    return tuple(k for k in keys if k)


def _dig(cfg: Mapping[str, object], table: str) -> object:
    cur: object = cfg
    for k in table_keys(table):
        if not isinstance(cur, Mapping) or k not in cur:
            return None
        cur = cur[k]
    return cur


def _containers_dir(stores: Sequence[ClientStore], registry: str | None) -> str | None:
    from ..model.stores import SourceStatus

    if not registry:
        return None
    for s in stores:
        if s.client not in ("crio", "podman"):
            continue
        for src in s.sources:
            if (
                src.kind == "certs.d"
                and src.status in (SourceStatus.USED, SourceStatus.EMPTY)
                and src.path.endswith("/" + registry)
            ):
                return src.path
    return None
