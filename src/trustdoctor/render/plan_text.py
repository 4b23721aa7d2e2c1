"""Text view of a fix plan: shell commands, one per line, with comments saying why (pure).

The output is meant to be read, and copied: everything that is not a shell
command (Dockerfile lines, server configuration, alternatives, notes) is a
``#`` comment, so pasting the whole plan into a shell runs only the commands.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from . import doc as d
from .doc import Doc, Span
from .words import fmt

if TYPE_CHECKING:
    from ..fixes.model import ApplyReport, Plan, Step

# Why each step is there ("reason" codes of fixes/model.Step).  {x} = step params.
WHY: Mapping[str, str] = {
    # -- system store, per family
    "anchor-debian": "Debian/Ubuntu: update-ca-certificates takes only *.crt files (PEM, one certificate per file) from /usr/local/share/ca-certificates",
    "anchor-alpine": "Alpine: update-ca-certificates takes every file of /usr/local/share/ca-certificates (PEM, one certificate per file, not recursive)",
    "anchor-rhel": "RHEL/Fedora family: p11-kit reads anchors from /etc/pki/ca-trust/source/anchors",
    "anchor-suse": "SUSE: the administrator's anchors live in /etc/pki/trust/anchors",
    "anchor-arch": "Arch: p11-kit reads anchors from /etc/ca-certificates/trust-source/anchors",
    "anchor-unknown": "unrecognised distribution: Go reads every file in /etc/ssl/certs; OpenSSL needs the hash link made below",
    "bundle-distroless": "distroless has no update tool and no shell: the CA goes into the one bundle every client reads ({path})",
    "bundle-scratch": "this image has no CA bundle: write one (Mozilla's roots from certifi, plus the CA) where Go and OpenSSL look ({path})",
    "bundle-mozilla": "this root has no CA bundle at all: write Mozilla's roots (from certifi) where Go and OpenSSL look ({path})",
    "refresh-debian": "rebuild /etc/ssl/certs/ca-certificates.crt and the OpenSSL hash links (and Java's store, via its hook)",
    "refresh-alpine": "rebuild /etc/ssl/certs/ca-certificates.crt and the hash links",
    "refresh-rhel": "extract the anchors into /etc/pki/ca-trust/extracted (PEM bundle, hash directory, Java keystore)",
    "refresh-suse": "rebuild /var/lib/ca-certificates (bundle, hash directory, Java keystore)",
    "refresh-arch": "extract the anchors into /etc/ca-certificates/extracted and /etc/ssl/certs",
    "refresh-unknown": "make the <subject-hash>.0 link OpenSSL's CApath lookup needs",
    "arch-trust-anchor": "p11-kit's one-command form (stores the CA under /etc/ca-certificates/trust-source and re-extracts)",
    "install-tool-debian": "the update tool is missing: install ca-certificates",
    "install-tool-rhel": "the update tool is missing: install ca-certificates",
    "install-tool-alpine": "Alpine's base image has only ca-certificates-bundle, without update-ca-certificates: install ca-certificates",
    "install-tool-suse": "the update tool is missing: install ca-certificates",
    "install-tool-arch": "the update tool is missing: install ca-certificates",
    "install-bundle-debian": "no CA bundle: install the ca-certificates package (Debian's base images do not ship it)",
    "install-bundle-rhel": "no CA bundle: install the ca-certificates package",
    "install-bundle-alpine": "no CA bundle: install ca-certificates",
    "install-bundle-suse": "no CA bundle: install ca-certificates",
    "install-bundle-arch": "no CA bundle: install ca-certificates",
    "upgrade-roots": "the root is in Mozilla's current list but not in this store: update the packaged roots",
    # -- Dockerfile
    "dockerfile-debian": "Dockerfile (Debian/Ubuntu base): install the CA at build time",
    "dockerfile-alpine": "Dockerfile (Alpine base): install the CA at build time",
    "dockerfile-rhel": "Dockerfile (RHEL/UBI/Fedora base): install the CA at build time",
    "dockerfile-suse": "Dockerfile (SUSE base): install the CA at build time",
    "dockerfile-arch": "Dockerfile (Arch base): install the CA at build time",
    "dockerfile-distroless": "Dockerfile (distroless: no shell, no update tool): build the bundle in a stage, copy it over",
    "dockerfile-scratch": "Dockerfile (scratch: nothing inside): build a bundle in a stage, copy it in",
    "dockerfile-busybox": "Dockerfile (busybox: no CA bundle): build a bundle in a stage, copy it in",
    "dockerfile-unknown": "Dockerfile (unrecognised base): Go reads every file in /etc/ssl/certs",
    "dockerfile-java": "Dockerfile: import the CA into the JDK's keystore at build time",
    "dockerfile-refresh": "Dockerfile: the CA is copied but the store is never rebuilt: add the rebuild",
    "dockerfile-bundle": "Dockerfile: the image has no CA bundle: install one",
    "dockerfile-upgrade": "Dockerfile: update the packaged roots (or rebuild on a current base image)",
    "dockerfile-env-correct": "Dockerfile: an ENV cannot be unset in a child image; point it at the system bundle instead (replaces {file} line {replaces})",
    # -- per client
    "go-restart": "Go loads the system roots once per process",
    "restart-go": "Go programs load the system roots once per process: restart the long-running ones",
    "restart-docker": "dockerd loaded the system roots when it started (Go caches them); certs.d needs no restart",
    "restart-containerd": "containerd loaded the system roots when it started (Go caches them)",
    "restart-crio": "CRI-O loaded the system roots when it started (Go caches them)",
    "restart-kubelet": "kubelet loaded its roots when it started",
    "restart-java": "the JVM reads its keystore once",
    "restart-node": "Node reads its CA options only at start-up",
    "restart-process": "the process read its trust store when it started: restart it",
    "restart-unit": "restart the unit so the new environment applies",
    "docker-certsd": "dockerd adds every *.crt of certs.d/<host[:port]> (named exactly as the image reference spells the registry) to the system roots, re-read on every pull",
    "docker-rename-dir": "dockerd looks for certs.d/{dest_dir} exactly: copy the CA files there (the old directory is kept)",
    "certsd-rename-dir": "the per-registry directory name must match the image reference's host[:port] exactly: copy the CA files there",
    "containerd-ca": "containerd: the CA file next to hosts.toml",
    "containerd-hosts-toml": "containerd: hosts.toml names the CA for {registry} (re-read on every pull, no restart)",
    "containerd-config-path": "containerd reads certs.d only when registry config_path is set (or from containerd 2.2 on)",
    "containerd-legacy-ca-file": "this configuration uses the legacy registry.configs (config_path cannot be combined with it): name the CA there",
    "containers-certsd": "CRI-O/Podman add *.crt of the first existing certs.d/<host[:port]> to the system roots, per operation (no restart)",
    "java-keytool": "Java reads its keystore, not the OS store: import the CA into {keystore} ({password_rule})",
    "java-cacerts-shortcut": "JDK 9+, with the keytool of that same JDK: -cacerts names its own cacerts",
    "java-system-hook": "the distro rebuilds Java's keystore from the system store only with its hook package installed",
    "node-extra-ca": "Node ignores the OS store by default; NODE_EXTRA_CA_CERTS adds one PEM file to its bundled roots (read at start-up; set it where the process starts: its unit's Environment=, its container's env)",
    "node-openssl-ca": "Node uses OpenSSL's store (the system bundle) instead of its bundled roots",
    "node-system-ca": "Node ≥ 23.9 on Linux: add the system store to its bundled roots",
    "node-extra-append": "NODE_EXTRA_CA_CERTS already names {path} (one file only): add the CA to it",
    "requests-bundle": "requests reads certifi's bundle, never the OS store: point it at the system bundle (where the process starts)",
    "requests-append": "the bundle named by the environment lacks the CA: add it",
    "requests-install-certifi": "requests cannot import certifi: install it (or set REQUESTS_CA_BUNDLE)",
    "requests-upgrade-certifi": "pip's certifi carries Mozilla's roots of its release: upgrade it",
    "k8s-configmap": "Kubernetes: the CA as a ConfigMap the DaemonSet mounts",
    "k8s-daemonset": "Kubernetes: a privileged DaemonSet writing hosts.toml + the CA into every node's /etc/containerd/certs.d",
    "k8s-apply": "Kubernetes: deploy it",
    "k8s-bootstrap": "node bootstrap (cloud-init user-data): the same on new nodes, plus the system store and config_path",
    "verify-stores": "check: trustdoctor's client models should now report the CA as trusted",
    "anchor-reformat": "the update tool ignores {from} ({convert}): add a copy it takes (the original is kept)",
    "trusted-to-plain": "Go ignores TRUSTED CERTIFICATE blocks: convert to a plain CERTIFICATE block",
    "make-readable": "the client cannot read {path}",
    # -- environment
    "unset-shell": "{name}={value} hides the default store: remove it from the environment",
    "unset-process": "{name}={value} in the process environment hides the default store: start it without",
    "unset-given": "{name}={value} (given with --env) hides the default store",
    "unset-file": "{name}={value} hides the default store: it is set in a file",
    "unset-systemd": "{name}={value} hides the default store: it is set in a systemd unit",
    "unset-dockerfile": "{name}={value} hides the default store: it is set by a Dockerfile ENV",
    "unset-image": "{name}={value} hides the default store: it is set in the image configuration (an ENV in its Dockerfile or a base image)",
    "systemd-unset-dropin": "a drop-in removes the variable for {unit} without editing the unit",
    "systemd-daemon-reload": "make systemd read the drop-in",
    "env-correct": "keep the variable but point it at the system store",
    "no-proxy": "bypass the inspecting proxy for this host",
    # -- server
    "fetch-intermediate-aia": "the leaf's AIA URL serves the missing intermediate (DER)",
    "build-fullchain": "serve the leaf first, then each intermediate, never the root",
    "server-nginx": "nginx: ssl_certificate takes the full chain",
    "server-apache": "Apache ≥ 2.4.8: SSLCertificateFile takes the full chain",
    "server-haproxy": "HAProxy: one PEM file with the chain and the key",
    "server-envoy": "Envoy: certificate_chain of the listener's DownstreamTlsContext",
    "server-traefik": "Traefik (dynamic configuration): certFile holds the chain",
    "server-caddy": "Caddy: the certificate file may hold the chain",
    "verify-served-count": "check: the server should now send {expected} certificate(s)",
    "verify-diagnose": "check: every client model should accept the chain",
    "check-clock": "not yet valid: first check this machine's clock",
    "check-dns": "does the name resolve?",
    "check-port": "is the port open from here?",
    "check-proxy-env": "is a proxy configured for this client?",
    "check-tls-port": "does the port speak TLS directly?",
    "check-starttls": "or does it expect STARTTLS first (SMTP shown)?",
    "check-tls12": "does a TLS 1.2 handshake work?",
    "check-tls13": "does a TLS 1.3 handshake work?",
    "check-proxy-curl": "what does the proxy answer?",
}

# Reissue facts: one template per cause (the step's params fill it).
REISSUE_WHY: Mapping[str, str] = {
    "expired": "renew {subject!q}: it expired on {not_after}",
    "not-yet-valid": "{subject!q} is valid only from {not_before}: reissue it valid from now (if the clock is right)",
    "hostname-mismatch": "reissue the leaf with every name clients use in subjectAltName",
    "legacy-common-name": "reissue the leaf with its name in subjectAltName (Go ignores the CN)",
    "not-a-ca": "{subject!q} was signed by a certificate that is not a CA: issue it again from a real CA",
    "wrong-usage": "reissue {subject!q} with serverAuth in extendedKeyUsage ({which})",
    "name-constraints": "issue {subject!q} under a CA whose name constraints allow {name!q}",
    "insecure-algorithm": "reissue {subject!q} with a SHA-256 signature (it has {algorithm})",
    "weak-key": "reissue {subject!q} with RSA ≥ 2048 bits or ECDSA P-256",
    "path-too-long": "reissue {subject!q} with a path length that allows the intermediates below it",
    "unhandled-critical-extension": "reissue {subject!q} without the critical extension(s) {oids}",
    "strict-profile": "reissue {subject!q} following the profile ({rule})",
    "self-signed-leaf": "issue the server certificate from a CA the clients trust",
    "expiring-soon": "renew {subject!q} before {not_after}",
    "intermediate-expires-first": "serve (or obtain) the renewed intermediate before {not_after}",
}

NOTES: Mapping[str, str] = {
    "already-trusted": "{client} already trusts this CA ({source}): nothing to change",
    "nothing-ok": "nothing to do: every client trusts the chain",
    "nothing-client-cert-requested": "the server asks for a client certificate: not a trust problem",
    "nothing-client-disagreement": "clients disagree; see each client's cause",
    "nothing-override-harmless": "the override hides no root: nothing to change",
    "no-clients": "no client selected",
    "ca-needed": "give the root's certificate with --ca ROOT.pem (the chain names {name!q} but does not carry it); check its fingerprint with the CA's owner",
    "unknown-distro": "the distribution of {root} was not recognised: only the generic steps are shown",
    "unknown-client": "no specific plan for client {client}: the system store is shown",
    "dockerfile-multistage": "the base ({family}) has no update tool: the bundle is built in a Debian stage and copied in",
    "go-restart": "long-running Go programs (dockerd, containerd, kubelet, registries) load the system roots once: restart them after the rebuild",
    "webpki-browsers": "the webpki model stands for browsers and strict verifiers with Mozilla's roots: a private root must also be added to each browser's store",
    "docker-no-restart": "dockerd re-reads {dir} on every pull: no restart needed",
    "docker-port-443": "image references to {host} without a port use certs.d/{host}, not certs.d/{registry}",
    "registry-needed": "give --registry HOST[:PORT] (as the image reference spells it) for the exact {client} directory",
    "containerd-no-restart": "containerd re-reads {dir}/hosts.toml on every pull (no restart), once config_path points at its root",
    "containerd-config-path": "config_path is added under [{table}] in {config} only when missing; containerd is restarted only when that file changed",
    "containerd-legacy": "{config} uses the deprecated registry.mirrors/configs, which cannot be combined with config_path; migrating to hosts.toml is the long-term fix",
    "containerd-default-shadows": "{reason}: move the host directory into the first root (nothing is deleted automatically)",
    "containers-first-dir": "{client} uses the first existing of ~/.config/containers/certs.d, /etc/containers/certs.d, /etc/docker/certs.d per registry (no merge): {dir}",
    "certsd-live": "per-registry directories (certs.d, hosts.toml) are re-read per pull; only the system roots are cached",
    "certsd-client-pair": "{reason} ({path}): a client certificate needs its key (and the reverse); CA files must end in .crt",
    "daemon-store-manual": "{reason} ({path})",
    "java-managed": "{keystore} is generated from the system store ({family}): install the CA there, not with keytool",
    "java-restart": "restart the JVM: it reads its keystore once",
    "java-password-jks": "JKS keystore (JDK ≤ 17 cacerts): keytool needs its password, 'changeit' unless it was changed",
    "java-password-default-cacerts": "a JDK's own cacerts: JKS with password 'changeit' up to JDK 17, password-less PKCS#12 (any -storepass) from JDK 18: -storepass changeit works for both",
    "java-password-pkcs12-passwordless": "password-less PKCS#12 (JDK ≥ 18 cacerts): keytool accepts any -storepass and the store stays password-less",
    "java-password-pkcs12-password": "PKCS#12 keystore with a MAC: keytool needs its real password",
    "java-password-property-password": "the keystore comes from -Djavax.net.ssl.trustStore: use the password given in -Djavax.net.ssl.trustStorePassword",
    "java-tarball-jdk": "{home} is a tarball JDK: it ignores the OS store, so its own cacerts is changed",
    "java-no-store": "the JVM has no usable keystore",
    "java-update-jdk": "Java's cacerts comes with the JDK ({home}): update the JDK",
    "node-restart": "restart the Node process: NODE_EXTRA_CA_CERTS and NODE_OPTIONS are read at start-up",
    "node-bundled-roots": "Node's default roots are compiled into the binary: update Node, or use --use-openssl-ca with an updated system store",
    "requests-distro-certifi": "requests uses the distribution's certifi, which returns the system bundle ({bundle})",
    "requests-pip-certifi": "pip's certifi holds only Mozilla's roots; the distribution's certifi (python3-certifi) would return {bundle}",
    "k8s-config-path": "nodes with containerd < 2.2 read {dir} only with config_path set (the bootstrap script checks it)",
    "k8s-every-node": "every node pulls images itself: the CA must be on all of them, control-plane nodes included",
    "keep-original": "{path} is kept (trustdoctor never deletes an anchor); remove it yourself once the new file works",
    "stale-files": "waiting in the anchor directory: {files}",
    "no-refresh-tool": "{family} has no update tool: the bundle must be rebuilt in the image build",
    "env-origin-unknown": "where {variables} is set was not found: check the service unit, the shell profile and the image",
    "env-default-has-root": "the default store has the root ({source}): removing the override is enough",
    "restart-why": "started {started}, store changed {changed} ({files})",
    "unreadable": "{path}: {reason}",
    "store-limit": "a store is over trustdoctor's safety limits: the view was partial",
    "mozilla-from-certifi": "Mozilla's roots are taken from the certifi package trustdoctor runs with",
    "rebuild-base": "rebuild the image on a current base image to get the current roots",
    "intercepted-own-proxy": "install the inspection CA {issuer!q} only if your organisation runs that proxy; otherwise bypass it",
    "get-intermediate": "get {issuer!q} from your CA (its AIA URL, or the CA's download page)",
    "root-not-needed": "clients have the root already; sending it only adds bytes",
    "bad-signature-serve": "serve the intermediate that actually signed the leaf",
    "drop-extra": "remove {subject!q} from the served file",
    "public-ca-validity": "a publicly trusted certificate may be valid for at most {days} days",
    "ca-reissue": "{subject!q} is a CA certificate: its issuer (the CA operator) must reissue it",
    "expired-intermediate": "an expired intermediate: your CA usually has a current one; serve that",
    "self-signed-pin": "for a lab only: trust this exact certificate on the clients (trustdoctor fix --ca it.pem --force)",
    "connect-by-listed-name": "or connect by a name it is valid for: {names}",
    "network-unreachable": "no TLS problem yet: {host} could not be reached",
    "network-timeout": "no TLS problem yet: {host} did not answer in time",
    "network-not-tls": "{host} did not answer with TLS on that port",
    "network-handshake-failed": "the handshake with {host} failed before any certificate was judged",
    "network-starttls-refused": "{host} did not agree to STARTTLS",
    "network-proxy-failed": "the proxy did not open a tunnel to {host}",
    "no-plan": "no plan for {cause}",
}

PHASE_TITLE: Mapping[str, str] = {}

_CONVERT = {
    "der-to-pem": "DER, not PEM",
    "split": "several certificates in one file",
    "rename": "a name the tool does not read",
    "move-up": "in a subdirectory the tool does not read",
}


def _q(s: str) -> str:
    return shlex.quote(s)


def _rooted(plan: Plan, path: str) -> str:
    if plan.root in ("/", "") or not path.startswith("/"):
        return path
    return plan.root.rstrip("/") + path


def _as_root(plan: Plan) -> bool:
    return bool(plan.context and plan.context.as_root)


def _sudo(plan: Plan, step: Step) -> str:
    if not step.needs_root or _as_root(plan) or not (step.is_host or step.platform in ("linux", "shell")):
        return ""
    return "sudo "


def _inner(argv: Sequence[object]) -> str:
    parts = [str(a) for a in argv]
    if len(parts) == 3 and parts[0] == "sh" and parts[1] == "-c":
        return parts[2]
    return shlex.join(parts)


def step_commands(plan: Plan, step: Step) -> list[str]:
    """The shell lines of one step (comments start with ``#``)."""
    from ..fixes.model import Action

    p = step.params
    sudo = _sudo(plan, step)
    a = step.action
    if a == Action.COPY_ANCHOR:
        if "from_dir" in p:
            src, dst = _rooted(plan, str(p["from_dir"])), _rooted(plan, str(p["dest_dir"]))
            return [f"{sudo}install -d {_q(dst)}", f"{sudo}cp -p {_q(src)}/*.crt {_q(dst)}/"]
        dest = _rooted(plan, str(p["dest"]))
        if "from" in p:
            src = _rooted(plan, str(p["from"]))
            conv = p.get("convert")
            if conv == "der-to-pem":
                return [f"{sudo}openssl x509 -inform DER -in {_q(src)} -out {_q(dest)}"]
            if conv == "split":
                idx = p.get("index") or 1
                return [
                    f"awk '/-----BEGIN CERTIFICATE-----/{{n++}} n=={idx}' {_q(src)} | {sudo}tee {_q(dest)} >/dev/null"
                ]
            return [f"{sudo}install -m 0644 {_q(src)} {_q(dest)}"]
        return [f"{sudo}install -m 0644 -D {_q(str(p['src']))} {_q(dest)}"]
    if a == Action.WRITE_FILE:
        path = _rooted(plan, str(p["path"])) if step.is_host or step.platform == "linux" else str(p["path"])
        content = p.get("content")
        if content == "text":
            text = str(p.get("text") or "")
            lines = []
            parent = path.rsplit("/", 1)[0]
            if "/" in path and parent:
                lines.append(f"{sudo}install -d {_q(parent)}")
            lines.append(f"{sudo}tee {_q(path)} >/dev/null <<'EOF'" if sudo else f"cat > {_q(path)} <<'EOF'")
            lines += text.rstrip("\n").split("\n")
            lines.append("EOF")
            return lines
        if content == "mozilla":
            return [f'cat "$(python3 -m certifi)" | {sudo}tee {_q(path)} >/dev/null']
        src = str(p.get("src") or "ROOT.pem")
        if p.get("seed") == "mozilla":
            return [
                f"[ -s {_q(path)} ] || cat \"$(python3 -m certifi)\" | {sudo}tee {_q(path)} >/dev/null",
                f"cat {_q(src)} | {sudo}tee -a {_q(path)} >/dev/null",
            ]
        return [f"cat {_q(src)} | {sudo}tee -a {_q(path)} >/dev/null"]
    if a == Action.RUN:
        cmd = _inner(p.get("argv") or [])  # type: ignore[arg-type]
        chroot = plan.root not in ("/", "") and step.is_host
        if chroot:
            cmd = f"chroot {_q(plan.root)} {cmd if ' ' not in cmd or cmd.split()[0] != 'sh' else cmd}"
            if " && " in cmd or "|" in cmd:
                cmd = f"chroot {_q(plan.root)} sh -c {_q(_inner(p.get('argv') or []))}"  # type: ignore[arg-type]
        line = f"{sudo}{cmd}"
        tool = p.get("when_missing")
        if tool:
            line = f"[ -x {_q(_rooted(plan, str(tool)))} ] || {line}"
        return [line]
    if a == Action.RESTART_SERVICE:
        if "service" in p:
            line = f"{sudo}systemctl restart {_q(str(p['service']))}"
            if p.get("when") == "config-changed":
                line += "   # only if the configuration file changed"
            return [line]
        if "pid" in p:
            return [f"# restart {p.get('process')} (PID {p['pid']}) the way it is normally started"]
        return [f"# restart {p.get('process')}"]
    if a == Action.SET_ENV:
        name, value = str(p["name"]), str(p["value"])
        if p.get("scope") == "dockerfile":
            return [f"# Dockerfile:  ENV {name}={value}"]
        return [f"export {name}={_q(value)}"]
    if a == Action.UNSET_ENV:
        return _unset_lines(plan, step)
    if a == Action.KEYTOOL_IMPORT:
        base = (f"{sudo}keytool -importcert -noprompt -trustcacerts -alias {_q(str(p['alias']))} "
                f"-file {_q(str(p['file']))}")
        if p.get("cacerts_shortcut"):
            return [f"{base} -cacerts -storepass {_q(str(p['storepass']))}"]
        ks = str(p["keystore"])
        ks = _rooted(plan, ks) if ks.startswith("/") else ks
        ks_arg = _q(ks) if not ks.startswith("$") else f'"{ks}"'
        return [f"{base} -keystore {ks_arg} -storepass {_q(str(p['storepass']))}"]
    if a == Action.EDIT_CONFIG:
        path = _rooted(plan, str(p["path"]))
        value = p.get("value")
        return [
            f"# if [{p['table']}] already exists in {p['path']}, add only the {p['key']} line to it",
            f"{sudo}tee -a {_q(path)} >/dev/null <<'EOF'" if sudo else f"cat >> {_q(path)} <<'EOF'",
            "",
            f"[{p['table']}]",
            f'  {p["key"]} = "{value}"',
            "EOF",
        ]
    if a == Action.DOCKERFILE_LINE:
        lines = [str(x) for x in p.get("lines") or []]  # type: ignore[attr-defined]
        return [f"#   {x}" for x in lines]
    if a == Action.SERVER_CONFIG:
        out = [f"#   {x}" for x in p.get("lines") or []]  # type: ignore[attr-defined]
        if p.get("build"):
            out.append(f"{p['build']}")
        reload = p.get("reload")
        if reload:
            out.append(f"{sudo}{_inner(reload)}")  # type: ignore[arg-type]
        return out
    if a == Action.REISSUE:
        return _reissue_lines(step)
    return [f"# {a.value}"]  # pragma: no cover


def _unset_lines(plan: Plan, step: Step) -> list[str]:
    p = step.params
    name = str(p["name"])
    out: list[str] = []
    origins = p.get("origins") or []
    assert isinstance(origins, list)
    for o in origins:
        kind = o.get("kind")
        where = f"{o.get('path')}" + (f":{o.get('line')}" if o.get("line") else "")
        if kind == "file" and o.get("path") and o.get("line"):
            path = _rooted(plan, str(o["path"]))
            out.append(f"# set in {where}: comment it out")
            out.append(f"{'' if _as_root(plan) else 'sudo '}sed -i '{o['line']}s/^/# /' {_q(path)}")
        elif kind == "systemd":
            unit = o.get("unit") or "?"
            out.append(f"# set in {where} (unit {unit}): the drop-in below removes it")
        elif kind in ("dockerfile", "image"):
            out.append(f"# set in {where or 'the image configuration'}: see the Dockerfile line below")
        elif kind == "process":
            out.append(f"# set in the environment of {o.get('path') or 'the process'}")
        elif kind == "given":
            out.append("# given with --env: run the client without it")
    if step.platform == "dockerfile":
        return out or ["# the image sets it: see the Dockerfile line"]
    out.append(f"unset {name}")
    return out


def _reissue_lines(step: Step) -> list[str]:
    p = step.params
    out = [f"#   certificate: {p.get('subject')} ({p.get('role')}, depth {p.get('depth')})"]
    if p.get("issuer"):
        out.append(f"#   issued by:   {p.get('issuer')}")
    names = p.get("names") or []
    if names:
        out.append(f"#   names:       {', '.join(str(n) for n in names)}")  # type: ignore[attr-defined]
    out.append(f"#   now valid:   {p.get('not_before')} → {p.get('not_after')}")
    out.append(f"#   new:         from {p.get('new_not_before')}, at most until {p.get('new_not_after_max')} "
               "for a public CA")
    if p.get("key"):
        out.append(f"#   key / sig:   {p.get('key')} / {p.get('signature')}")
    exts = [str(x) for x in p.get("extensions") or []]  # type: ignore[attr-defined]
    for e in exts:
        out.append(f"#   set:         {e}")
    cn = _cn(str(p.get("subject") or ""))
    is_leaf = p.get("role") == "leaf"
    stem = "server" if is_leaf else "ca"
    days = 365 if is_leaf else 1825
    signer = "issuing-ca" if is_leaf else "parent-ca"
    out.append("# with a private CA (openssl); a public CA: request a certificate with these names")
    out.append(
        f"openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout {stem}.key "
        f"-out {stem}.csr -subj {_q('/CN=' + cn)}"
    )
    out.append("printf '%s\\n' " + " ".join(_q(e) for e in exts) + f" > {stem}.ext")
    out.append(
        f"openssl x509 -req -in {stem}.csr -CA {signer}.pem -CAkey {signer}.key -CAcreateserial "
        f"-days {days} -sha256 -extfile {stem}.ext -out {stem}.pem"
    )
    return out


def _cn(subject: str) -> str:
    for part in subject.split(","):
        if part.startswith("CN="):
            return part[3:]
    return subject or "NAME"


def why(step: Step) -> str:
    """The comment explaining a step."""
    from ..fixes.model import Action

    params = dict(step.params)
    if step.action == Action.REISSUE:
        return fmt(REISSUE_WHY.get(str(params.get("cause")), "reissue {subject!q}"), params)
    if step.action == Action.COPY_ANCHOR and "convert" in params:
        params["convert"] = _CONVERT.get(str(params["convert"]), params["convert"])
    template = WHY.get(step.reason)
    if template is None:
        return step.reason or step.action.value
    return fmt(template, params)


def note_text(code: str, params: Mapping[str, object]) -> str:
    return fmt(NOTES.get(code, code), params)


def _header(doc: Doc, plan: Plan) -> None:
    ctx = plan.context
    who = ", ".join(plan.clients) if plan.clients else "-"
    doc.line(Span(f"# trustdoctor fix: {plan.cause.value} ({plan.side.value} side) — clients: {who}", d.BOLD))
    where = plan.platform
    if ctx is not None and ctx.distro_label and plan.platform == ctx.family:
        where = ctx.distro_label
    root = f", root {plan.root}" if plan.root not in ("/", "") else ""
    doc.line(Span(f"# platform: {where}{root}", d.DIM))
    if plan.ca is not None:
        ca = plan.ca
        if ca.sha256 is not None:
            doc.line(Span(f"# CA: {ca.name}  ({ca.file})", d.DIM))
            doc.line(Span(f"#     sha256 {ca.fingerprint}", d.DIM))
            if ca.not_after:
                doc.line(Span(f"#     valid until {ca.not_after[:10]}", d.DIM))
        else:
            doc.line(Span(f"# CA: {ca.name} (not given: {ca.file} stands for its certificate)", d.WARN))


def render_plan(plan: Plan) -> Doc:
    """The plan as shell commands with ``#`` comments (pure)."""
    doc = Doc()
    _header(doc, plan)
    doc.blank()
    if plan.empty:
        doc.line(Span("# nothing to change", d.OK))
    for step in plan.steps:
        lead = "# alternative: " if step.alternative else "# "
        doc.line(Span(lead + why(step), d.DIM))
        for line in step_commands(plan, step):
            if step.alternative and not line.startswith("#"):
                doc.line(Span("#   " + line, d.DIM))
            elif line.startswith("#"):
                doc.line(Span(line, d.DIM))
            else:
                doc.line(Span(line, d.BOLD))
        doc.blank()
    if plan.notes:
        for n in plan.notes:
            doc.line(Span("# note: " + note_text(n.code, n.params), d.WARN))
    return doc


# -- the --apply report ---------------------------------------------------------------------------

_STATUS_STYLE = {"changed": d.OK, "unchanged": d.DIM, "manual": d.WARN, "skipped": d.DIM, "failed": d.BAD}


def render_apply(report: ApplyReport) -> Doc:
    """What ``fix --apply`` did, and the before/after check per client (pure)."""
    doc = Doc()
    doc.line(Span("Applied", d.HEAD))
    for o in report.outcomes:
        doc.line(Span(f"  {o.status:<9}", _STATUS_STYLE.get(o.status, d.DIM)), f" {o.detail}")
        for b in o.backups:
            doc.line(Span(f"             previous version kept as {b}", d.DIM))
    if not report.changed:
        doc.line(Span("  nothing changed: the fix was already in place", d.DIM))
    if report.before or report.after:
        doc.blank()
        doc.line(Span("Check (trust-store models)", d.HEAD))
        after = {c.client: c for c in report.after}
        env_after = {c.client: c for c in report.after_env}
        for b in report.before:
            a = after.get(b.client)
            before_txt = "trusted" if b.trusted else b.reason
            after_txt = ("trusted" if a.trusted else a.reason) if a else "?"
            mark = Span("✓", d.OK) if a and a.trusted else Span("✗", d.BAD)
            line = [Span(f"  {b.client:<11} "), mark, f" before: {before_txt:<20} after: {after_txt}"]
            e = env_after.get(b.client)
            if e is not None and a is not None and e.trusted and not a.trusted:
                line.append(Span("  (trusted once the environment change is made)", d.WARN))
            doc.line(*line)
    doc.blank()
    if report.remaining:
        doc.line(Span("Still to do by hand", d.HEAD))
        for s in report.remaining:
            doc.line(Span("  # " + why(s), d.DIM))
            for line in step_commands(report.plan, s):
                doc.line(Span("  " + line, d.DIM if line.startswith("#") else d.BOLD))
        doc.blank()
    if report.fixed:
        doc.line(Span("✓ the cause is gone: every selected client trusts the CA", d.OK))
    else:
        doc.line(Span("✗ not fixed yet: see the remaining steps above", d.BAD))
    return doc
