"""Client-side fix planners (pure): install a root, rebuild, fix an override, restart.

Every function returns ``(steps, notes)`` for one client in one
:class:`~trustdoctor.fixes.model.FixContext`; :mod:`.planner` merges them into
a :class:`~trustdoctor.fixes.model.Plan`.  Facts (paths, commands) come from
:mod:`.tables`; nothing here reads a file or the environment.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Mapping, Sequence

from ..clients import CLIENTS, DIR_VARIABLES
from ..model.record import replace
from .model import (
    Action,
    CaRef,
    ContainerdInfo,
    EnvOrigin,
    FixContext,
    JavaInfo,
    Note,
    Purpose,
    Step,
)
from .tables import (
    BUILD_STAGE_IMAGE,
    CONTAINERD_CERTS_D,
    CONTAINERD_REGISTRY_TABLE,
    CONTAINERS_CERTS_D,
    JAVA_DEFAULT_PASSWORD,
    JAVA_PASSWORDLESS_FROM,
    JAVA_SYSTEM_PACKAGE,
    NODE_SYSTEM_CA_FROM,
    SYSTEM_INSTALL,
    SystemInstall,
)

Steps = list[Step]
Notes = list[Note]

PLACEHOLDER_REGISTRY = "<registry[:port]>"


def family_facts(ctx: FixContext) -> SystemInstall:
    return SYSTEM_INSTALL.get(ctx.family, SYSTEM_INSTALL["unknown"])


def anchor_path(ca: CaRef, ctx: FixContext) -> str | None:
    """Where the family's update tool reads the CA from (``None``: no anchor directory)."""
    f = family_facts(ctx)
    if f.anchor_dir is None:
        return None
    return f"{f.anchor_dir}/{ca.slug}{f.suffix}"


def system_bundle(ctx: FixContext) -> str:
    """The PEM bundle of the family (what REQUESTS_CA_BUNDLE / SSL_CERT_FILE should name)."""
    return family_facts(ctx).bundle or "/etc/ssl/certs/ca-certificates.crt"


def is_generated_bundle(path: str, ctx: FixContext) -> bool:
    """``path`` is the family's bundle (or a name of it) that the refresh rebuilds."""
    f = family_facts(ctx)
    if f.anchor_dir is None or f.bundle is None:
        return False  # no refresh: the bundle is written directly
    return path in (f.bundle, *f.bundle_aliases)


def _copy_ca(
    ca: CaRef,
    dest: str,
    *,
    reason: str,
    platform: str = "linux",
    registry: str | None = None,
    needs_root: bool = True,
) -> Step:
    """Copy the CA file to ``dest`` (PEM; ``registry``: the per-registry directory's)."""
    params: dict[str, object] = {"src": ca.file, "dest": dest, "format": "pem", "sha256": ca.sha256}
    if registry is not None:
        params["registry"] = registry
    return Step(
        Action.COPY_ANCHOR,
        params,
        needs_root=needs_root,
        changes=(dest,),
        platform=platform,
        reason=reason,
    )


def _run(
    argv: Sequence[str],
    purpose: Purpose,
    *,
    platform: str,
    reason: str,
    needs_root: bool = True,
    tool: str | None = None,
    changes: tuple[str, ...] = (),
    when_missing: str | None = None,
    alternative: bool = False,
) -> Step:
    params: dict[str, object] = {"argv": list(argv), "purpose": purpose.value}
    if tool:
        params["tool"] = tool
    if when_missing:
        params["when_missing"] = when_missing
    phase = {
        Purpose.REFRESH: "refresh",
        Purpose.INSTALL_PACKAGE: "install-package",
        Purpose.CHECK: "check",
        Purpose.VERIFY: "verify",
        Purpose.BUILD: "build",
        Purpose.RELOAD: "server",
    }[purpose]
    return Step(
        Action.RUN,
        params,
        needs_root=needs_root,
        changes=changes,
        platform=platform,
        reason=reason,
        alternative=alternative,
        phase=phase,
    )


def _dockerfile(lines: list[str], ctx: FixContext, reason: str) -> Step:
    """Dockerfile lines for an image of ``ctx.family``."""
    return Step(
        Action.DOCKERFILE_LINE,
        {"lines": lines, "base": ctx.family},
        platform="dockerfile",
        reason=reason,
    )


# -- the system store, per family ----------------------------------------------------------


def install_tool_steps(ctx: FixContext) -> Steps:
    """Install the family's update tool when it is missing (Alpine's base image has none)."""
    f = family_facts(ctx)
    if f.install_tool is None or f.tool is None or ctx.tool_installed is True:
        return []
    if ctx.tool_installed is None and ctx.family != "alpine":
        return []
    return [
        _run(
            f.install_tool,
            Purpose.INSTALL_PACKAGE,
            platform=ctx.family,
            reason=f"install-tool-{ctx.family}",
            tool=f.tool,
            when_missing=f.tool if ctx.tool_installed is None else None,
        )
    ]


def refresh_steps(ctx: FixContext) -> Steps:
    f = family_facts(ctx)
    if f.refresh is None:
        return []
    changes = (f.bundle,) if f.bundle else ()
    steps = [
        _run(
            f.refresh,
            Purpose.REFRESH,
            platform=ctx.family,
            reason=f"refresh-{ctx.family}",
            tool=f.tool,
            changes=changes,
        )
    ]
    return steps


def system_install(ca: CaRef, ctx: FixContext) -> tuple[Steps, Notes]:
    """Install ``ca`` into the distribution's store of ``ctx.root`` (or an image's Dockerfile)."""
    if ctx.image:
        return dockerfile_install(ca, ctx)
    f = family_facts(ctx)
    steps: Steps = []
    notes: Notes = []
    if f.anchor_dir is None:
        # distroless / scratch / busybox: no tool; rewrite the one bundle in
        # the root, and give the Dockerfile lines that make it durable.
        seed = "mozilla" if ctx.family in ("scratch", "busybox") else None
        steps.append(
            Step(
                Action.WRITE_FILE,
                {
                    "path": f.bundle,
                    "content": "append-ca",
                    "seed": seed,
                    "sha256": ca.sha256,
                    "src": ca.file,
                },
                needs_root=True,
                changes=(str(f.bundle),),
                platform=ctx.family,
                reason=f.note,
            )
        )
        d_steps, d_notes = dockerfile_install(ca, ctx)
        steps += d_steps
        notes += d_notes
        return steps, notes
    dest = f"{f.anchor_dir}/{ca.slug}{f.suffix}"
    steps += install_tool_steps(ctx)
    steps.append(_copy_ca(ca, dest, reason=f.note, platform=ctx.family))
    steps += refresh_steps(ctx)
    if ctx.family == "arch":
        steps.append(
            _run(
                ("trust", "anchor", "--store", ca.file),
                Purpose.REFRESH,
                platform="arch",
                reason="arch-trust-anchor",
                alternative=True,
            )
        )
    if ctx.family == "unknown":
        notes.append(Note("unknown-distro", {"root": ctx.root}))
    return steps, notes


def dockerfile_install(ca: CaRef, ctx: FixContext) -> tuple[Steps, Notes]:
    """Dockerfile lines that put ``ca`` into an image of ``ctx.family``."""
    f = family_facts(ctx)
    lines: list[str] = []
    notes: Notes = []
    fam = ctx.family
    if fam in ("distroless", "scratch", "busybox"):
        deb = SYSTEM_INSTALL["debian"]
        lines += _build_stage(
            f, f"COPY {ca.file} {deb.anchor_dir}/{ca.slug}{deb.suffix}", _run_line(deb.refresh)
        )
        notes.append(Note("dockerfile-multistage", {"family": fam}))
    elif f.anchor_dir is not None and f.refresh is not None:
        if f.install_tool is not None and ctx.tool_installed is not True:
            lines.append(_install_line(f))
        lines.append(f"COPY {ca.file} {f.anchor_dir}/{ca.slug}{f.suffix}")
        lines.append(_run_line(f.refresh))
    reason = f"dockerfile-{fam}" if fam in SYSTEM_INSTALL else "dockerfile-unknown"
    return [_dockerfile(lines, ctx, reason)], notes


def _run_line(argv: Sequence[str] | None) -> str:
    return f"RUN {shlex.join(argv or ())}"


def _install_line(f: SystemInstall) -> str:
    """``RUN`` the tool's install (Debian: between ``apt-get update`` and the list cleanup)."""
    install = shlex.join(f.install_tool or ())
    if f.family == "debian":
        install = "apt-get update && " + install + " && rm -rf /var/lib/apt/lists/*"
    return f"RUN {install}"


def _build_stage(f: SystemInstall, *steps: str) -> list[str]:
    """A Debian build stage that makes the bundle (running ``steps`` in it), then the
    line that copies it into the final image of family ``f``, which has no tool."""
    deb = SYSTEM_INSTALL["debian"]
    return [
        f"FROM {BUILD_STAGE_IMAGE} AS trustdoctor-ca",
        _install_line(deb),
        *steps,
        "# ... then in the final stage (your FROM line):",
        f"COPY --from=trustdoctor-ca {deb.bundle} {f.bundle}",
    ]


# -- per client -----------------------------------------------------------------------------


def restart_steps(client: str, ctx: FixContext, *, when: str | None = None) -> Steps:
    """Restart what caches its anchors: the ``--pid`` process, or the client's daemon."""
    if ctx.image:
        return []
    if ctx.pid is not None:
        return [
            _restart({"pid": ctx.pid, "process": ctx.process or "the process"}, "restart-process")
        ]
    row = CLIENTS.get(client)
    svc = row.service if row is not None else None
    if svc is None:
        return []
    params: dict[str, object] = {"service": svc}
    if when:
        params["when"] = when
    return [_restart(params, f"restart-{client}")]


def _restart(params: dict[str, object], reason: str, *, needs_root: bool = True) -> Step:
    return Step(
        Action.RESTART_SERVICE,
        params,
        needs_root=needs_root,
        platform="linux",
        reason=reason,
        phase="restart",
    )


def _registry_dir(ctx: FixContext) -> str:
    return ctx.registry or PLACEHOLDER_REGISTRY


def docker_steps(ca: CaRef, ctx: FixContext) -> tuple[Steps, Notes]:
    """moby: ``certs.d/<host[:port]>/*.crt``, re-read for every pull (TS §5.1)."""
    reg = _registry_dir(ctx)
    dest = f"{ctx.docker_certs_root}/{reg}/ca.crt"
    notes: Notes = [Note("docker-no-restart", {"dir": f"{ctx.docker_certs_root}/{reg}"})]
    if ctx.registry is None:
        notes.append(Note("registry-needed", {"client": "docker"}))
    elif reg.endswith(":443"):
        notes.append(Note("docker-port-443", {"registry": reg, "host": reg[: -len(":443")]}))
    rootless = ctx.docker_certs_root.startswith(("/home/", "/root/"))
    return [
        _copy_ca(ca, dest, reason="docker-certsd", registry=reg, needs_root=not rootless)
    ], notes


def hosts_toml(registry: str, ca_name: str, ca: CaRef) -> str:
    """A containerd ``hosts.toml`` trusting ``ca_name`` (next to it) for ``registry``."""
    server = f"https://{registry}"
    fp = f" (sha256 {ca.sha256})" if ca.sha256 else ""
    return (
        f"# written by trustdoctor: trust {ca.name}{fp} for {registry}\n"
        f'server = "{server}"\n'
        "\n"
        f'[host."{server}"]\n'
        '  capabilities = ["pull", "resolve", "push"]\n'
        f'  ca = "{ca_name}"\n'
    )


def containerd_steps(ca: CaRef, ctx: FixContext) -> tuple[Steps, Notes]:
    """containerd: a host directory with ``hosts.toml`` + the CA, and ``config_path`` (TS §5.2)."""
    info = ctx.containerd
    reg = _registry_dir(ctx)
    steps: Steps = []
    notes: Notes = []
    effective = info.effective_config_path if info else None
    root_dir = (effective.split(":")[0] if effective else None) or CONTAINERD_CERTS_D
    host_dir = f"{root_dir}/{reg}"
    ca_name = f"{ca.slug}.crt"
    steps.append(_copy_ca(ca, f"{host_dir}/{ca_name}", reason="containerd-ca", registry=reg))
    steps.append(
        Step(
            Action.WRITE_FILE,
            {
                "path": f"{host_dir}/hosts.toml",
                "content": "text",
                "text": hosts_toml(reg, ca_name, ca),
                "registry": reg,
            },
            needs_root=True,
            changes=(f"{host_dir}/hosts.toml",),
            platform="linux",
            reason="containerd-hosts-toml",
        )
    )
    if info is not None and info.legacy:
        version = info.version or 2
        table = CONTAINERD_REGISTRY_TABLE.get(version, CONTAINERD_REGISTRY_TABLE[2])
        steps.append(
            Step(
                Action.EDIT_CONFIG,
                {
                    "path": info.config,
                    "format": "toml",
                    "table": f'{table}.configs."{reg}".tls',
                    "key": "ca_file",
                    "value": f"{host_dir}/{ca_name}",
                    "version": version,
                    "legacy": True,
                },
                needs_root=True,
                changes=(info.config,),
                platform="linux",
                reason="containerd-legacy-ca-file",
                phase="config",
            )
        )
        steps += restart_steps("containerd", ctx, when="config-changed")
        notes.append(Note("containerd-legacy", {"config": info.config}))
    elif effective is None:
        s, n = _config_path_steps(info, ctx)
        steps += s
        notes += n
    notes.append(Note("containerd-no-restart", {"dir": host_dir}))
    if ctx.registry is None:
        notes.append(Note("registry-needed", {"client": "containerd"}))
    return steps, notes


def _config_path_steps(info: ContainerdInfo | None, ctx: FixContext) -> tuple[Steps, Notes]:
    """Set containerd's ``config_path`` to certs.d (in the table of its config version)."""
    config = info.config if info else "/etc/containerd/config.toml"
    version = (info.version if info else None) or _containerd_default_version(info)
    table = CONTAINERD_REGISTRY_TABLE.get(version, CONTAINERD_REGISTRY_TABLE[2])
    steps = [
        Step(
            Action.EDIT_CONFIG,
            {
                "path": config,
                "format": "toml",
                "table": table,
                "key": "config_path",
                "value": CONTAINERD_CERTS_D,
                "version": version,
            },
            needs_root=True,
            changes=(config,),
            platform="linux",
            reason="containerd-config-path",
            phase="config",
        )
    ]
    steps += restart_steps("containerd", ctx, when="config-changed")
    return steps, [Note("containerd-config-path", {"config": config, "table": table})]


def _containerd_default_version(info: ContainerdInfo | None) -> int:
    if info is not None and info.containerd_version and info.containerd_version >= (2, 0, 0):
        return 3
    return 2


def containers_steps(client: str, ca: CaRef, ctx: FixContext) -> tuple[Steps, Notes]:
    """CRI-O / Podman: the first existing ``certs.d/<host[:port]>`` wins, no merge (TS §5.3)."""
    reg = _registry_dir(ctx)
    d = ctx.containers_dir or f"{CONTAINERS_CERTS_D}/{reg}"
    dest = f"{d}/ca.crt"
    notes: Notes = [Note("containers-first-dir", {"dir": d, "client": client})]
    if ctx.registry is None:
        notes.append(Note("registry-needed", {"client": client}))
    rootless = d.startswith(("/home/", "/root/"))
    return [
        _copy_ca(ca, dest, reason="containers-certsd", registry=reg, needs_root=not rootless)
    ], notes


def java_steps(ca: CaRef, ctx: FixContext) -> tuple[Steps, Notes]:
    """JSSE: import into the keystore the JVM loads, with its real password rule (TS §3.4)."""
    info = ctx.java or JavaInfo()
    notes: Notes = []
    if info.managed and not info.property_store:
        # The distro regenerates this keystore from the system store: an
        # import would be overwritten by the next refresh.
        steps, n = system_install(ca, ctx)
        notes += n
        pkg = JAVA_SYSTEM_PACKAGE.get(ctx.family)
        if pkg is not None and not ctx.image and info.hook_installed is not True:
            steps.insert(
                0,
                _run(
                    pkg,
                    Purpose.INSTALL_PACKAGE,
                    platform=ctx.family,
                    reason="java-system-hook",
                    alternative=False,
                    when_missing=None,
                ),
            )
        notes.append(
            Note("java-managed", {"keystore": info.keystore or "cacerts", "family": ctx.family})
        )
        notes.append(Note("java-restart", {}))
        return steps, notes
    keystore = info.keystore or "$JAVA_HOME/lib/security/cacerts"
    store_type = (info.store_type or "").lower() or None
    if info.password_free:
        rule, storepass = "pkcs12-passwordless", JAVA_DEFAULT_PASSWORD
    elif store_type in ("jks", "jceks") and info.password is None:
        # discover.java_info tried the known password and it was refused
        rule, storepass = "unknown-password", "<store password>"
    elif store_type in ("jks", "jceks"):
        rule, storepass = "jks", info.password or JAVA_DEFAULT_PASSWORD
    elif store_type == "pkcs12":
        rule, storepass = "pkcs12-password", info.password or "<store password>"
    elif info.version is not None and info.version >= JAVA_PASSWORDLESS_FROM:
        rule, storepass = "pkcs12-passwordless", JAVA_DEFAULT_PASSWORD
    elif info.version is not None:
        rule, storepass = "jks", info.password or JAVA_DEFAULT_PASSWORD
    else:
        rule, storepass = "default-cacerts", info.password or JAVA_DEFAULT_PASSWORD
    if info.property_store and info.password is None and rule != "pkcs12-passwordless":
        storepass = "<javax.net.ssl.trustStorePassword>"
        rule = "property-password"
    params: dict[str, object] = {
        "keystore": keystore,
        "alias": ca.slug,
        "file": ca.file,
        "storepass": storepass,
        "password_rule": rule,
        "store_type": store_type,
        "jdk_version": info.version,
        "sha256": ca.sha256,
    }
    system_path = keystore.startswith(("/usr/", "/opt/", "/etc/", "/var/", "/lib/", "$JAVA_HOME"))
    steps = []
    if ctx.image:
        steps += _java_dockerfile(ca, ctx, keystore, storepass)
    else:
        steps.append(
            Step(
                Action.KEYTOOL_IMPORT,
                params,
                needs_root=system_path,
                changes=(keystore,),
                platform="linux",
                reason="java-keytool",
            )
        )
        own_cacerts = keystore.endswith("/cacerts") and not info.property_store
        if own_cacerts and (info.version is None or info.version >= 9):
            alt = dict(params)
            alt["cacerts_shortcut"] = True
            steps.append(
                Step(
                    Action.KEYTOOL_IMPORT,
                    alt,
                    needs_root=system_path,
                    changes=(keystore,),
                    platform="linux",
                    reason="java-cacerts-shortcut",
                    alternative=True,
                )
            )
    notes.append(Note(f"java-password-{rule}", {"keystore": keystore, "version": info.version}))
    if not info.property_store and info.home and keystore.startswith(("/opt/", "/usr/local/")):
        notes.append(Note("java-tarball-jdk", {"home": info.home}))
    notes.append(Note("java-restart", {}))
    return steps, notes


def _java_dockerfile(ca: CaRef, ctx: FixContext, keystore: str, storepass: str) -> Steps:
    tmp = f"/tmp/{ca.slug}.pem"
    if ctx.family in ("distroless", "scratch", "busybox"):
        lines = [
            "FROM eclipse-temurin:21-jdk AS trustdoctor-java",
            "# copy the keystore of the final image's JDK, import, copy it back",
            f"COPY --from=<your final base image> {keystore} /tmp/cacerts",
            f"COPY {ca.file} {tmp}",
            f"RUN keytool -importcert -noprompt -trustcacerts -alias {ca.slug} -file {tmp} "
            f"-keystore /tmp/cacerts -storepass {storepass}",
            "# ... then in the final stage:",
            f"COPY --from=trustdoctor-java /tmp/cacerts {keystore}",
        ]
    else:
        lines = [
            f"COPY {ca.file} {tmp}",
            f"RUN keytool -importcert -noprompt -trustcacerts -alias {ca.slug} -file {tmp} "
            f"-keystore {keystore} -storepass {storepass} && rm {tmp}",
        ]
    return [_dockerfile(lines, ctx, "dockerfile-java")]


def node_steps(ca: CaRef, ctx: FixContext) -> tuple[Steps, Notes]:
    """Node ignores the OS store; NODE_EXTRA_CA_CERTS adds one PEM file at start-up (TS §3.3)."""
    steps, notes = system_install(ca, ctx)
    # The installed anchor file; without an anchor directory (distroless...),
    # the bundle itself, which now holds the CA.
    path = anchor_path(ca, ctx) or system_bundle(ctx)
    existing = ctx.env.get("NODE_EXTRA_CA_CERTS")
    if existing and is_generated_bundle(existing, ctx):
        # It names the bundle the refresh above rebuilds with the CA in it:
        # appending now would be undone by that very refresh.
        named = {"variable": "NODE_EXTRA_CA_CERTS", "path": existing}
        note = Note("env-names-system-bundle", named)
        return steps + restart_steps("node", ctx), [*notes, note, Note("node-restart", {})]
    if existing and existing != path:
        # One file only: add the CA to the file already named, keep the others.
        steps.append(_append_ca(existing, ca, "node-extra-append"))
        return steps + restart_steps("node", ctx), [*notes, Note("node-restart", {})]
    steps.append(_set_env("NODE_EXTRA_CA_CERTS", path, ctx, reason="node-extra-ca"))
    steps.append(
        _set_env(
            "NODE_OPTIONS", "--use-openssl-ca", ctx, reason="node-openssl-ca", alternative=True
        )
    )
    if ctx.node_version is None or (ctx.node_version, 9) >= NODE_SYSTEM_CA_FROM:
        steps.append(
            _set_env(
                "NODE_OPTIONS", "--use-system-ca", ctx, reason="node-system-ca", alternative=True
            )
        )
    steps += restart_steps("node", ctx)
    notes.append(Note("node-restart", {}))
    return steps, notes


def _append_ca(path: str, ca: CaRef, reason: str) -> Step:
    """Add ``ca`` to the PEM file ``path``, which a variable names (one file only)."""
    return Step(
        Action.WRITE_FILE,
        {"path": path, "content": "append-ca", "sha256": ca.sha256, "src": ca.file},
        needs_root=True,
        changes=(path,),
        platform="linux",
        reason=reason,
    )


def requests_steps(ca: CaRef, ctx: FixContext, *, distro_certifi: bool) -> tuple[Steps, Notes]:
    """requests reads certifi (or REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE), not the OS store (TS §3.2)."""
    return certifi_steps("requests", ca, ctx, distro_certifi=distro_certifi)


def httpx_steps(ca: CaRef, ctx: FixContext, *, distro_certifi: bool) -> tuple[Steps, Notes]:
    """httpx reads SSL_CERT_FILE, else SSL_CERT_DIR, else certifi (httpx _config.py)."""
    return certifi_steps("httpx", ca, ctx, distro_certifi=distro_certifi)


def certifi_steps(
    client: str, ca: CaRef, ctx: FixContext, *, distro_certifi: bool
) -> tuple[Steps, Notes]:
    """A Python library that reads certifi unless one of its variables names a bundle.

    The CA goes into the system store; then, when a variable of the client's
    (its ``trust_env`` row, first one first) names another bundle, the CA is
    added there (or the variable pointed at the system bundle); otherwise a
    distribution's certifi already returns the system bundle (``distro_certifi``),
    and a pip certifi is bypassed by pointing the first variable at it.
    """
    steps, notes = system_install(ca, ctx)
    names = CLIENTS[client].trust_env
    override = next((v for v in names if ctx.env.get(v)), None)
    bundle = system_bundle(ctx)
    params = {"client": client, "bundle": bundle}
    if override is not None and is_generated_bundle(ctx.env[override], ctx):
        named = {"variable": override, "path": ctx.env[override]}
        return steps, [*notes, Note("env-names-system-bundle", named)]
    if override is not None and ctx.env[override] != bundle:
        path = ctx.env[override]
        if override in DIR_VARIABLES:
            steps.append(_set_env(override, bundle, ctx, reason="certifi-bundle"))
            return steps, notes
        steps.append(_append_ca(path, ca, "certifi-append"))
        steps.append(_set_env(override, bundle, ctx, reason="certifi-bundle", alternative=True))
        return steps, notes
    if distro_certifi:
        notes.append(Note("certifi-distro", params))
        return steps, notes
    steps.append(_set_env(names[0], bundle, ctx, reason="certifi-bundle"))
    notes.append(Note("certifi-pip", params))
    return steps, notes


def _set_env(
    name: str, value: str, ctx: FixContext, *, reason: str, alternative: bool = False
) -> Step:
    scope = "dockerfile" if ctx.image else ("process" if ctx.pid is not None else "service")
    return Step(
        Action.SET_ENV,
        {"name": name, "value": value, "scope": scope},
        platform="dockerfile" if ctx.image else "shell",
        reason=reason,
        alternative=alternative,
        phase="env",
    )


def kubectl_set_cluster(cluster: str, file: str, ctx: FixContext, *flags: str) -> list[str]:
    """``kubectl config set-cluster CLUSTER FLAGS``, with ``--kubeconfig`` unless
    ``file`` is the one kubectl reads by default."""
    argv = ["kubectl", "config", "set-cluster", cluster, *flags]
    kc = ctx.kubeconfig
    if kc is None or kc.file != file or not kc.default_file:
        argv.append(f"--kubeconfig={file}")
    return argv


def kubectl_steps(ca: CaRef, ctx: FixContext) -> tuple[Steps, Notes]:
    """kubectl trusts the kubeconfig cluster's CA alone when one is set
    (client-go rootCertPool): the CA goes into the kubeconfig, embedded;
    without one it reads Go's system roots, which get the CA instead."""
    kc = ctx.kubeconfig
    if kc is None or not (kc.ca_data or kc.ca_file):
        steps, notes = system_install(ca, ctx)
        if kc is None:
            notes.append(Note("kubeconfig-unknown", {}))
        return steps, notes
    argv = kubectl_set_cluster(
        kc.cluster, kc.file, ctx, f"--certificate-authority={ca.file}", "--embed-certs=true"
    )
    step = Step(
        Action.RUN,
        {
            "argv": argv,
            "purpose": Purpose.CONFIGURE.value,
            "cluster": kc.cluster,
            "kubeconfig": kc.file,
        },
        changes=(kc.file,),
        platform="shell",
        reason="kubectl-set-cluster",
        phase="config",
    )
    told: Notes = [Note("kubectl-ca-replaces", {"cluster": kc.cluster, "file": kc.file})]
    if kc.server:
        # The plan changes the *current* cluster: the endpoint diagnosed must
        # be its server (a client plan is made without the endpoint).
        told.append(Note("kubectl-cluster-server", {"cluster": kc.cluster, "server": kc.server}))
    if kc.ca_file and not kc.ca_data:
        told.append(Note("kubectl-ca-file", {"path": kc.ca_file}))
    return [step], told


def kubernetes_steps(ca: CaRef, ctx: FixContext) -> tuple[Steps, Notes]:
    """Every node's runtime must trust the registry (TS §5.4).

    A DaemonSet writes hosts.toml on running nodes; the bootstrap does it on new ones.
    """
    reg = _registry_dir(ctx)
    ca_name = f"{ca.slug}.crt"
    name = "trustdoctor-registry-ca"
    host_dir = f"{CONTAINERD_CERTS_D}/{reg}"
    toml = hosts_toml(reg, ca_name, ca)
    manifest = _daemonset(name, reg, ca_name, toml)
    steps: Steps = [
        _run(
            (
                "sh",
                "-c",
                f"kubectl -n kube-system create configmap {name} --from-file={ca_name}={ca.file} "
                "--dry-run=client -o yaml | kubectl apply -f -",
            ),
            Purpose.BUILD,
            platform="kubernetes",
            reason="k8s-configmap",
            needs_root=False,
        ),
        Step(
            Action.WRITE_FILE,
            {"path": f"{name}.yaml", "content": "text", "text": manifest},
            platform="kubernetes",
            reason="k8s-daemonset",
        ),
        _run(
            ("kubectl", "apply", "-f", f"{name}.yaml"),
            Purpose.BUILD,
            platform="kubernetes",
            reason="k8s-apply",
            needs_root=False,
        ),
        Step(
            Action.WRITE_FILE,
            {
                "path": "trustdoctor-node-bootstrap.sh",
                "content": "text",
                "text": _bootstrap(ca, reg, ca_name, toml, host_dir),
            },
            platform="kubernetes",
            reason="k8s-bootstrap",
        ),
    ]
    notes: Notes = [Note("k8s-config-path", {"dir": host_dir}), Note("k8s-every-node", {})]
    if ctx.registry is None:
        notes.append(Note("registry-needed", {"client": "kubernetes"}))
    return steps, notes


def _daemonset(name: str, reg: str, ca_name: str, toml: str) -> str:
    indented = "".join(f"          {line}\n" for line in toml.splitlines())
    return (
        "apiVersion: apps/v1\n"
        "kind: DaemonSet\n"
        "metadata:\n"
        f"  name: {name}\n"
        "  namespace: kube-system\n"
        "spec:\n"
        "  selector:\n"
        f"    matchLabels: {{app: {name}}}\n"
        "  template:\n"
        "    metadata:\n"
        f"      labels: {{app: {name}}}\n"
        "    spec:\n"
        "      tolerations: [{operator: Exists}]\n"
        "      initContainers:\n"
        "      - name: install\n"
        "        image: busybox:1.36\n"
        "        securityContext: {privileged: true}\n"
        "        command:\n"
        "        - sh\n"
        "        - -c\n"
        "        - |\n"
        f"          mkdir -p '/host/certs.d/{reg}'\n"
        f"          cp /ca/{ca_name} '/host/certs.d/{reg}/{ca_name}'\n"
        f"          cat > '/host/certs.d/{reg}/hosts.toml' <<'EOF'\n"
        f"{indented}"
        "          EOF\n"
        "        volumeMounts:\n"
        "        - {name: certs-d, mountPath: /host/certs.d}\n"
        "        - {name: ca, mountPath: /ca, readOnly: true}\n"
        "      containers:\n"
        "      - name: pause\n"
        "        image: registry.k8s.io/pause:3.9\n"
        "      volumes:\n"
        "      - name: certs-d\n"
        f"        hostPath: {{path: {CONTAINERD_CERTS_D}, type: DirectoryOrCreate}}\n"
        f"      - name: ca\n        configMap: {{name: {name}}}\n"
    )


def _bootstrap(ca: CaRef, reg: str, ca_name: str, toml: str, host_dir: str) -> str:
    deb = SYSTEM_INSTALL["debian"]
    rhel = SYSTEM_INSTALL["rhel"]
    return (
        "#!/bin/sh\n"
        "# node bootstrap (cloud-init runcmd / user-data): trust the registry's CA on this node\n"
        "set -eu\n"
        f"CA={shlex.quote(ca.file)}\n"
        f"if [ -d {deb.anchor_dir} ]; then\n"
        f'  install -m 0644 "$CA" {deb.anchor_dir}/{ca.slug}{deb.suffix}\n'
        f"  {shlex.join(deb.refresh or ())}\n"
        f"elif [ -d {rhel.anchor_dir} ]; then\n"
        f'  install -m 0644 "$CA" {rhel.anchor_dir}/{ca.slug}{rhel.suffix}\n'
        f"  {shlex.join(rhel.refresh or ())}\n"
        "fi\n"
        f"install -d '{host_dir}'\n"
        f"install -m 0644 \"$CA\" '{host_dir}/{ca_name}'\n"
        f"cat > '{host_dir}/hosts.toml' <<'EOF'\n{toml}EOF\n"
        "# containerd < 2.2 reads certs.d only with config_path set:\n"
        f"grep -q 'config_path' /etc/containerd/config.toml 2>/dev/null || echo 'set config_path = "
        f'"{CONTAINERD_CERTS_D}" in /etc/containerd/config.toml\' >&2\n'
        "systemctl restart containerd\n"
    )


def caches_store(client: str) -> bool:
    """Whether ``client`` loads its anchors once per process (its registry row)."""
    row = CLIENTS.get(client)
    return row is not None and row.caches_store


def registry_store(client: str) -> bool:
    """Whether ``client`` reads per-registry directories (certs.d, hosts.toml)."""
    return client == "kubernetes" or (client in CLIENTS and CLIENTS[client].registry_store)


def install_for_client(
    client: str,
    ca: CaRef,
    ctx: FixContext,
    *,
    system_store: bool = True,
) -> tuple[Steps, Notes]:
    """Make ``client`` trust ``ca``: the store it actually reads, plus a restart where it
    caches.  The recipe is the client's ``fix`` in :mod:`trustdoctor.clients`."""
    row = CLIENTS.get(client)
    recipe = row.fix if row is not None else "system"
    if recipe == "system" or recipe == "webpki":
        steps, notes = system_install(ca, ctx)
        if row is not None and row.caches_store and row.service is None and not ctx.image:
            steps += restart_steps(client, ctx)
            notes.append(Note("go-restart", {}))
        elif row is not None and row.service is not None:
            steps += restart_steps(client, ctx)
        if recipe == "webpki":
            notes.append(Note("webpki-browsers", {}))
        if row is None:
            notes.append(Note("unknown-client", {"client": client}))
        return steps, notes
    recipes: dict[str, Callable[[], tuple[Steps, Notes]]] = {
        "requests": lambda: requests_steps(ca, ctx, distro_certifi=system_store),
        "httpx": lambda: httpx_steps(ca, ctx, distro_certifi=system_store),
        "node": lambda: node_steps(ca, ctx),
        "java": lambda: java_steps(ca, ctx),
        "docker": lambda: docker_steps(ca, ctx),
        "containerd": lambda: containerd_steps(ca, ctx),
        "containers": lambda: containers_steps(client, ca, ctx),
        "kubernetes": lambda: kubernetes_steps(ca, ctx),
        "kubectl": lambda: kubectl_steps(ca, ctx),
    }
    return recipes[recipe]()


# -- the other client causes ------------------------------------------------------------------


def stale_steps(client: str, ctx: FixContext, params: Mapping[str, object]) -> tuple[Steps, Notes]:
    """The CA is in the anchor directory; only the rebuild is missing (the seed guide's cause 5)."""
    notes: Notes = []
    if client == "java" and ctx.family in JAVA_SYSTEM_PACKAGE:
        steps = [
            _run(
                JAVA_SYSTEM_PACKAGE[ctx.family],
                Purpose.INSTALL_PACKAGE,
                platform=ctx.family,
                reason="java-system-hook",
            )
        ]
        steps += refresh_steps(ctx)
        return steps + restart_steps("java", ctx), [*notes, Note("java-restart", {})]
    if ctx.image:
        f = family_facts(ctx)
        lines = [f"RUN {shlex.join(f.refresh)}"] if f.refresh else []
        return [_dockerfile(lines, ctx, "dockerfile-refresh")], notes
    steps = install_tool_steps(ctx) + refresh_steps(ctx)
    if not steps:
        notes.append(Note("no-refresh-tool", {"family": ctx.family}))
    if caches_store(client):
        steps += restart_steps(client, ctx)
    files = params.get("files") or params.get("path")
    if files:
        notes.append(Note("stale-files", {"files": files}))
    return steps, notes


def ignored_file_steps(
    client: str, ctx: FixContext, params: Mapping[str, object], fingerprints: Sequence[str]
) -> tuple[Steps, Notes]:
    """An anchor file the tool never takes (suffix, DER, several per file): add a good copy."""
    path = str(params.get("path") or "")
    reason = str(params.get("reason") or "")
    f = family_facts(ctx)
    d, _, name = path.rpartition("/")
    stem = (name.rsplit(".", 1)[0] if "." in name.lstrip(".") else name).lstrip(".") or "anchor"
    steps: Steps = []
    if "certs.d" in d or client in ("docker", "crio", "podman", "containerd"):
        dests = (
            [f"{d}/{stem}.crt"]
            if not fingerprints or len(fingerprints) == 1
            else [f"{d}/{stem}-{i + 1}.crt" for i in range(len(fingerprints))]
        )
        refresh: Steps = []
    else:
        base = f.anchor_dir if (f.anchor_dir and not d.startswith(f.anchor_dir)) else d
        base = base or (f.anchor_dir or d)
        suffix = f.suffix if f.anchor_dir else ".crt"
        if len(fingerprints) > 1:
            dests = [f"{base}/{stem}-{i + 1}{suffix}" for i in range(len(fingerprints))]
        else:
            dests = [f"{base}/{stem}{suffix}"]
        if dests == [path]:
            dests = [f"{base}/{stem}-pem{suffix}"]
        refresh = refresh_steps(ctx)
    fps: list[str | None] = list(fingerprints) or [None]
    for dest, fp in zip(dests, fps, strict=False):
        steps.append(
            Step(
                Action.COPY_ANCHOR,
                {
                    "from": path,
                    "dest": dest,
                    "format": "pem",
                    "sha256": fp,
                    "convert": _conversion(reason),
                },
                needs_root=True,
                changes=(dest,),
                platform=ctx.family if ctx.family in SYSTEM_INSTALL else "linux",
                reason="anchor-reformat",
            )
        )
    steps += refresh
    return steps, [Note("keep-original", {"path": path})]


# anchor-file-ignored reason code → how a good copy is made (else "rename").
CONVERSIONS: dict[str, str] = {
    "der-content": "der-to-pem",
    "no-pem-certificate": "der-to-pem",  # a certs.d *.crt holding DER (or TRUSTED CERTIFICATE)
    "multi-cert-no-hash-link": "split",
    "in-subdirectory": "move-up",
}


def _conversion(reason: str) -> str:
    return CONVERSIONS.get(reason, "rename")


def env_steps(
    client: str,
    ctx: FixContext,
    variables: Sequence[str],
    *,
    default_source: str | None = None,
) -> tuple[Steps, Notes]:
    """An override hides a root of the default store: remove it (where it is set) or correct it."""
    steps: Steps = []
    notes: Notes = []
    for var in variables:
        value = ctx.env.get(var, "")
        origins = [o for o in ctx.env_origins if o.variable == var]
        replacement = _replacement(var, ctx)
        steps.append(
            Step(
                Action.UNSET_ENV,
                {
                    "name": var,
                    "value": value,
                    "origins": [o.to_dict() for o in origins],
                    "replacement": replacement,
                },
                platform="dockerfile" if ctx.image else "shell",
                reason=f"unset-{_origin_kind(origins, ctx)}",
                phase="env",
            )
        )
        for o in origins:
            if o.kind in ("systemd", "process") and o.unit:
                stem = var.lower().replace("_", "-")
                dropin = f"/etc/systemd/system/{o.unit}.d/50-trustdoctor-{stem}.conf"
                steps.append(
                    Step(
                        Action.WRITE_FILE,
                        {
                            "path": dropin,
                            "content": "text",
                            "text": f"# written by trustdoctor: {var} hid the system CA store\n"
                            f"[Service]\nUnsetEnvironment={var}\n",
                            "unit": o.unit,
                        },
                        needs_root=True,
                        changes=(dropin,),
                        platform="linux",
                        reason="systemd-unset-dropin",
                    )
                )
                steps.append(
                    _run(
                        ("systemctl", "daemon-reload"),
                        Purpose.RELOAD,
                        platform="linux",
                        reason="systemd-daemon-reload",
                    )
                )
                steps.append(_restart({"service": o.unit.removesuffix(".service")}, "restart-unit"))
            elif o.kind in ("dockerfile", "image") and replacement:
                line = f"ENV {var}={replacement}"
                steps.append(
                    Step(
                        Action.DOCKERFILE_LINE,
                        {"lines": [line], "base": ctx.family, "replaces": o.line, "file": o.path},
                        platform="dockerfile",
                        reason="dockerfile-env-correct",
                    )
                )
        if replacement and not ctx.image:
            steps.append(
                Step(
                    Action.SET_ENV,
                    {"name": var, "value": replacement, "scope": "service"},
                    platform="shell",
                    reason="env-correct",
                    alternative=True,
                    phase="env",
                )
            )
    if not ctx.env_origins:
        notes.append(Note("env-origin-unknown", {"variables": list(variables)}))
    if default_source:
        notes.append(Note("env-default-has-root", {"source": default_source}))
    restarted = any(s.action == Action.RESTART_SERVICE for s in steps)
    if (caches_store(client) or ctx.pid is not None) and not restarted:
        steps += restart_steps(client, ctx)
    return steps, notes


def _replacement(var: str, ctx: FixContext) -> str | None:
    """The value that restores the distribution's store for ``var`` (``None``: just remove it)."""
    if var in DIR_VARIABLES:
        return "/etc/ssl/certs"
    if var in ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        return system_bundle(ctx)
    return None


def _origin_kind(origins: Sequence[EnvOrigin], ctx: FixContext) -> str:
    kinds = {o.kind for o in origins}
    for k in ("systemd", "dockerfile", "image", "file", "process", "given", "shell"):
        if k in kinds:
            return k
    if ctx.image:
        return "image"
    if ctx.pid is not None:
        return "process"
    return "shell"


def restart_required_steps(
    client: str, ctx: FixContext, params: Mapping[str, object]
) -> tuple[Steps, Notes]:
    svc = params.get("service")
    if ctx.pid is None and isinstance(svc, str) and svc:
        known = client in CLIENTS and CLIENTS[client].service
        reason = f"restart-{client}" if known else "restart-unit"
        steps = [_restart({"service": svc}, reason)]
    else:
        steps = restart_steps(client, ctx)
        if not steps:
            proc = str(params.get("process") or client)
            steps = [_restart({"process": proc}, "restart-process", needs_root=False)]
    notes = []
    if params.get("started") and params.get("changed"):
        notes.append(
            Note(
                "restart-why",
                {
                    "started": params.get("started"),
                    "changed": params.get("changed"),
                    "files": params.get("files") or [],
                },
            )
        )
    if client in ("docker", "containerd", "crio"):
        notes.append(Note("certsd-live", {"client": client}))
    return steps, notes


def no_store_steps(client: str, ctx: FixContext, ca: CaRef | None) -> tuple[Steps, Notes]:
    """The client has no anchors at all: install the bundle (and the CA, when one is given)."""
    f = family_facts(ctx)
    steps: Steps = []
    notes: Notes = []
    if client == "kubectl":
        # No CA bundle is missing: the kubeconfig is (or its CA holds no PEM).
        if ctx.kubeconfig is not None and ca is not None:
            return kubectl_steps(ca, ctx)
        return [], [Note("kubeconfig-unusable", {})]
    if client == "requests":
        bundle = system_bundle(ctx)
        steps.append(
            _run(
                ("python3", "-m", "pip", "install", "certifi"),
                Purpose.INSTALL_PACKAGE,
                platform="linux",
                reason="requests-install-certifi",
                needs_root=False,
            )
        )
        steps.append(
            _set_env("REQUESTS_CA_BUNDLE", bundle, ctx, reason="certifi-bundle", alternative=True)
        )
        return steps, notes
    if client == "java":
        pkg = JAVA_SYSTEM_PACKAGE.get(ctx.family)
        if pkg:
            steps.append(
                _run(pkg, Purpose.INSTALL_PACKAGE, platform=ctx.family, reason="java-system-hook")
            )
        notes.append(Note("java-no-store", {}))
        if ca is not None:
            s, n = java_steps(ca, ctx)
            steps += s
            notes += n
        return steps, notes
    if ctx.image:
        if ca is not None:
            return dockerfile_install(ca, ctx)
        if f.anchor_dir is None:
            lines = _build_stage(f)
        elif f.install_tool is not None:
            # Slim images ship no package lists: the same line as dockerfile_install.
            lines = [_install_line(f)]
        else:
            lines = []
        return [_dockerfile(lines, ctx, "dockerfile-bundle")], notes
    if f.anchor_dir is None:
        # distroless/scratch/busybox root: write a bundle (Mozilla's roots from
        # certifi, plus the CA when given).
        steps.append(
            Step(
                Action.WRITE_FILE,
                {
                    "path": f.bundle,
                    "content": "append-ca" if ca else "mozilla",
                    "seed": "mozilla",
                    "sha256": ca.sha256 if ca else None,
                    "src": ca.file if ca else None,
                },
                needs_root=True,
                changes=(str(f.bundle),),
                platform=ctx.family,
                reason="bundle-mozilla",
            )
        )
        notes.append(Note("mozilla-from-certifi", {}))
        s, n = no_store_steps(client, replace(ctx, image=True), ca)
        steps += s
        notes += n
        return steps, notes
    if f.install_tool is not None and ctx.tool_installed is not True:
        steps.append(
            _run(
                f.install_tool,
                Purpose.INSTALL_PACKAGE,
                platform=ctx.family,
                reason=f"install-bundle-{ctx.family}",
                tool=f.tool,
            )
        )
    if ca is not None:
        s, n = install_for_client(client, ca, ctx)
        steps += [x for x in s if x.params.get("purpose") != Purpose.INSTALL_PACKAGE.value]
        notes += n
    else:
        steps += refresh_steps(ctx)
        if caches_store(client):
            steps += restart_steps(client, ctx)
    return steps, notes


def outdated_steps(client: str, ctx: FixContext) -> tuple[Steps, Notes]:
    """A public root newer than the client's store: update the packaged roots."""
    f = family_facts(ctx)
    if client == "requests":
        return [
            _run(
                ("python3", "-m", "pip", "install", "--upgrade", "certifi"),
                Purpose.INSTALL_PACKAGE,
                platform="linux",
                reason="requests-upgrade-certifi",
                needs_root=False,
            )
        ], []
    if client == "node":
        return [], [Note("node-bundled-roots", {})]
    if client == "java":
        return [], [Note("java-update-jdk", {"home": ctx.java.home if ctx.java else None})]
    if ctx.image:
        lines = [f"RUN {shlex.join(f.upgrade)}"] if f.upgrade else []
        return [_dockerfile(lines, ctx, "dockerfile-upgrade")], [Note("rebuild-base", {})]
    steps: Steps = []
    notes: Notes = []
    if f.upgrade:
        steps.append(
            _run(f.upgrade, Purpose.INSTALL_PACKAGE, platform=ctx.family, reason="upgrade-roots")
        )
        steps += refresh_steps(ctx)
    else:
        notes.append(Note("rebuild-base", {}))
    if caches_store(client):
        steps += restart_steps(client, ctx)
    return steps, notes


def daemon_store_steps(
    client: str, ctx: FixContext, params: Mapping[str, object], ca: CaRef | None
) -> tuple[Steps, Notes]:
    """A per-registry directory that cannot match, config_path unset, an unreadable CA file."""
    path = str(params.get("path") or "")
    expected = params.get("expected")
    reason = str(params.get("reason") or "")
    steps: Steps = []
    notes: Notes = []
    if isinstance(expected, str) and expected:
        # A misnamed directory: copy its CA files under the exact name; the
        # old directory is kept (it may serve references that spell it).
        steps.append(
            Step(
                Action.COPY_ANCHOR,
                {"from_dir": path, "dest_dir": expected, "format": "pem", "pattern": "*.crt"},
                needs_root=True,
                changes=(expected,),
                platform="linux",
                reason=f"{client}-rename-dir" if client == "docker" else "certsd-rename-dir",
            )
        )
        if ca is not None:
            copy_reason = "docker-certsd" if client == "docker" else "containers-certsd"
            steps.append(_copy_ca(ca, f"{expected}/ca.crt", reason=copy_reason))
        notes.append(Note("keep-original", {"path": path}))
        return steps, notes
    # The notes carry the finding's params: their words come from its reason code.
    facts = {k: v for k, v in params.items() if v is not None}
    if reason in ("config-path-unset", "config-path-unset-version-unknown") and (
        client == "containerd"
    ):
        s, n = _config_path_steps(ctx.containerd, ctx)
        return steps + s, n
    if reason == "default-shadows":
        return [], [Note("containerd-default-shadows", facts)]
    if reason in ("hosts-ca-unreadable", "hosts-ca-no-pem") and ca is not None:
        steps.append(_copy_ca(ca, path, reason="containerd-ca"))
        return steps, notes
    if reason in ("client-cert-without-key", "key-without-client-cert"):
        return [], [Note("certsd-client-pair", facts)]
    if ca is not None:
        return install_for_client(client, ca, ctx)
    return [], [Note("daemon-store-manual", facts)]
