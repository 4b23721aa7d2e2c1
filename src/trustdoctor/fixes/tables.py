"""Platform facts for the fix planners: paths, commands, packages (data only).

The distribution families' store facts (anchor directories, rebuild commands,
bundles) are :data:`trustdoctor.model.families.FAMILIES`; the rows here add
what only a fix needs.  Each table cites where its facts come from;
../shared/reference/truststores.md is abbreviated ``TS``.  Nothing here is
decided per machine: the planners pick rows with the
:class:`~trustdoctor.fixes.model.FixContext` found at the I/O edge.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..model.families import FAMILIES
from ..model.record import record


@record
class SystemInstall:
    """How one distribution family takes a new CA into its system store.

    Attributes:
        family: the family.
        anchor_dir: where an administrator puts a CA file (``None``: no
            anchor directory, the bundle itself must be rewritten).
        suffix: the file name suffix the update tool requires.
        refresh: the rebuild command (``None``: no tool exists).
        tool: the update tool's path, to check it is installed.
        install_tool: the package command that installs the tool.
        bundle: the compiled PEM bundle clients read.
        upgrade: the command that updates the packaged roots (``outdated-store``).
        note: the rule a user must know (reason code of the copy step).
        bundle_aliases: other paths of the same generated bundle (distribution
            symlinks), which the refresh rebuilds too.
    """

    family: str
    anchor_dir: str | None
    suffix: str = ".crt"
    refresh: tuple[str, ...] | None = None
    tool: str | None = None
    install_tool: tuple[str, ...] | None = None
    bundle: str | None = None
    upgrade: tuple[str, ...] | None = None
    note: str = ""
    bundle_aliases: tuple[str, ...] = ()


def _from_family(
    family: str, *, install_tool: tuple[str, ...], upgrade: tuple[str, ...], note: str
) -> SystemInstall:
    """A family's row: anchor directory, rebuild command, tool and bundle are the
    store model's facts (:data:`~trustdoctor.model.families.FAMILIES`), stated once."""
    f = FAMILIES[family]
    return SystemInstall(
        family=family,
        anchor_dir=f.anchor_dirs[0].path,  # the tool's first (highest-priority) directory
        refresh=tuple(f.refresh.split()) if f.refresh else None,
        tool=f.update_tool,
        install_tool=install_tool,
        bundle=f.bundle,
        upgrade=upgrade,
        note=note,
        bundle_aliases=BUNDLE_ALIASES.get(family, ()),
    )


# Symlinks the distributions ship to their generated bundle (package file
# lists: RHEL/Fedora ca-certificates, Alpine ca-certificates-bundle, SUSE
# ca-certificates; Debian has none besides the bundle itself).
BUNDLE_ALIASES: Mapping[str, tuple[str, ...]] = {
    "rhel": (
        "/etc/pki/tls/certs/ca-bundle.crt",
        "/etc/pki/tls/cert.pem",
        "/etc/ssl/certs/ca-bundle.crt",
    ),
    "alpine": ("/etc/ssl/cert.pem",),
    "suse": ("/etc/ssl/ca-bundle.pem",),
}


SYSTEM_INSTALL: Mapping[str, SystemInstall] = {
    # TS §4.1: `find -L /usr/local/share/ca-certificates -type f -name '*.crt'`
    # (.crt mandatory, PEM, one certificate per file for the hash links),
    # then the bundle and `openssl rehash`; the seed guide's Step 4.
    "debian": _from_family(
        "debian",
        install_tool=("apt-get", "install", "-y", "--no-install-recommends", "ca-certificates"),
        upgrade=("apt-get", "install", "-y", "--only-upgrade", "ca-certificates"),
        note="anchor-debian",
    ),
    # TS §4.2: p11-kit, anchors PEM or DER, any name; `update-ca-trust extract`
    # writes /etc/pki/ca-trust/extracted/ (the seed guide's Step 4).
    "rhel": _from_family(
        "rhel",
        install_tool=("dnf", "install", "-y", "ca-certificates"),
        upgrade=("dnf", "upgrade", "-y", "ca-certificates"),
        note="anchor-rhel",
    ),
    # TS §4.3: the base image has ca-certificates-bundle only (no tool);
    # `apk add ca-certificates` brings update-ca-certificates, which reads every
    # non-dot entry of /usr/local/share/ca-certificates (not recursive).
    "alpine": _from_family(
        "alpine",
        install_tool=("apk", "add", "--no-cache", "ca-certificates"),
        upgrade=("apk", "upgrade", "--no-cache", "ca-certificates", "ca-certificates-bundle"),
        note="anchor-alpine",
    ),
    # TS §4.4: /etc/pki/trust/anchors (admin), p11-kit based update-ca-certificates;
    # /etc/ca-certificates.conf is not used.
    "suse": _from_family(
        "suse",
        install_tool=("zypper", "--non-interactive", "install", "ca-certificates"),
        upgrade=("zypper", "--non-interactive", "update", "ca-certificates"),
        note="anchor-suse",
    ),
    # TS §4.5: p11-kit; `trust anchor --store` writes into
    # /etc/ca-certificates/trust-source/ and re-extracts; a file in
    # trust-source/anchors/ + `update-ca-trust` is the same result.
    "arch": _from_family(
        "arch",
        install_tool=("pacman", "-S", "--noconfirm", "ca-certificates"),
        upgrade=("pacman", "-Syu", "--noconfirm", "ca-certificates"),
        note="anchor-arch",
    ),
    # TS §4.6: one flattened bundle, no hash links, no update tool, no shell.
    "distroless": SystemInstall(
        family="distroless",
        anchor_dir=None,
        bundle=FAMILIES["distroless"].bundle,
        note="bundle-distroless",
    ),
    # TS §4.6: nothing at all; Go says "certificate signed by unknown authority".
    # The bundle is written where Debian (and distroless) keep it.
    "scratch": SystemInstall(
        family="scratch",
        anchor_dir=None,
        bundle=FAMILIES["debian"].bundle,
        note="bundle-scratch",
    ),
    "busybox": SystemInstall(
        family="busybox",
        anchor_dir=None,
        bundle=FAMILIES["debian"].bundle,
        note="bundle-scratch",
    ),
    # Unrecognised: Go reads every file in /etc/ssl/certs (TS §1.2); OpenSSL
    # needs the <hash>.0 link `openssl rehash` makes (TS §2.1).
    "unknown": SystemInstall(
        family="unknown",
        anchor_dir="/etc/ssl/certs",
        suffix=".pem",
        refresh=("openssl", "rehash", "/etc/ssl/certs"),
        tool="/usr/bin/openssl",
        bundle=None,
        note="anchor-unknown",
    ),
}

# Where update-ca-certificates' hooks rebuild Java's store, per family (TS §3.4).
JAVA_SYSTEM_PACKAGE: Mapping[str, tuple[str, ...]] = {
    # Debian/Ubuntu: ca-certificates-java's jks-keystore hook.
    "debian": ("apt-get", "install", "-y", "--no-install-recommends", "ca-certificates-java"),
    # Alpine: java-cacerts keeps /etc/ssl/certs/java/cacerts in sync.
    "alpine": ("apk", "add", "--no-cache", "java-cacerts"),
}
# The hook each of those packages installs: present means the package is installed
# (Debian: ca-certificates-java's file list; Alpine: java-cacerts' [inferred]).
JAVA_SYSTEM_HOOK: Mapping[str, str] = {
    "debian": "/etc/ca-certificates/update.d/jks-keystore",
    "alpine": "/etc/ca-certificates/update.d/java-cacerts",
}

# Base images that give a build stage the family's update tool (Dockerfile lines).
BUILD_STAGE_IMAGE = "debian:bookworm-slim"

# containerd: the CRI registry table per configuration version (TS §5.2).
CONTAINERD_REGISTRY_TABLE: Mapping[int, str] = {
    3: 'plugins."io.containerd.cri.v1.images".registry',
    2: 'plugins."io.containerd.grpc.v1.cri".registry',
    1: "plugins.cri.registry",
}
CONTAINERD_CERTS_D = "/etc/containerd/certs.d"

# CRI-O / Podman: first existing of these wins, no merge (TS §5.3).
CONTAINERS_CERTS_D = "/etc/containers/certs.d"

# Java keystore password rules (TS §3.4; checked with keytool 17: a PKCS#12
# store without a MAC accepts any -storepass and stays password-less; a JKS
# store refuses a wrong password: "Keystore was tampered with, or password
# was incorrect").
JAVA_DEFAULT_PASSWORD = "changeit"
JAVA_PASSWORDLESS_FROM = 18  # JDK-8275252: cacerts is a password-less PKCS12 from JDK 18

# Node.js (TS §3.3): --use-system-ca exists from 23.8 (Linux from 23.9).
NODE_SYSTEM_CA_FROM = (23, 9)


@record
class ServerSoftware:
    """How one server is told which certificates to present.

    ``lines`` are templates: ``{fullchain}``, ``{key}``, ``{pem}`` (leaf,
    chain and key in one file), ``{host}``, ``{port}`` (the port clients use).
    """

    name: str
    lines: tuple[str, ...]
    reload: tuple[str, ...]
    file_kind: str = "fullchain"  # fullchain | combined (cert chain + key in one file)
    note: str = ""


# Server configuration (each server's documentation):
#   nginx: ssl_certificate takes the leaf followed by intermediates
#     (nginx.org/en/docs/http/configuring_https_servers.html#chains).
#   Apache ≥ 2.4.8: SSLCertificateFile may hold the chain; SSLCertificateChainFile
#     is deprecated (httpd.apache.org/docs/2.4/mod/mod_ssl.html#sslcertificatefile).
#   HAProxy: `crt` names a PEM with the certificate, its chain and the key
#     (docs.haproxy.org, bind option "crt").
#   Envoy: certificate_chain of a TlsCertificate (api v3 extensions.transport_sockets.tls.v3).
#   Traefik: tls.certificates certFile/keyFile (doc.traefik.io "TLS").
#   Caddy: `tls <cert_file> <key_file>`, the cert file may hold the chain
#     (caddyserver.com/docs/caddyfile/directives/tls).
SERVERS: Mapping[str, ServerSoftware] = {
    "nginx": ServerSoftware(
        "nginx",
        ("ssl_certificate     {fullchain};", "ssl_certificate_key {key};"),
        ("sh", "-c", "nginx -t && systemctl reload nginx"),
    ),
    "apache": ServerSoftware(
        "apache",
        ("SSLCertificateFile    {fullchain}", "SSLCertificateKeyFile {key}"),
        ("sh", "-c", "apachectl configtest && apachectl graceful"),
        note="apache-chainfile",
    ),
    "haproxy": ServerSoftware(
        "haproxy",
        ("bind :{port} ssl crt {pem}",),
        ("sh", "-c", "haproxy -c -f /etc/haproxy/haproxy.cfg && systemctl reload haproxy"),
        file_kind="combined",
    ),
    "envoy": ServerSoftware(
        "envoy",
        (
            "common_tls_context:",
            "  tls_certificates:",
            "  - certificate_chain: {{ filename: {fullchain} }}",
            "    private_key: {{ filename: {key} }}",
        ),
        ("sh", "-c", "envoy --mode validate -c /etc/envoy/envoy.yaml && systemctl restart envoy"),
    ),
    "traefik": ServerSoftware(
        "traefik",
        (
            "tls:",
            "  certificates:",
            "    - certFile: {fullchain}",
            "      keyFile: {key}",
        ),
        (),
        note="traefik-watch",
    ),
    "caddy": ServerSoftware(
        "caddy",
        ("tls {fullchain} {key}",),
        ("sh", "-c", "caddy validate --config /etc/caddy/Caddyfile && systemctl reload caddy"),
    ),
}
SERVER_ORDER: tuple[str, ...] = ("nginx", "apache", "haproxy", "envoy", "traefik", "caddy")

# Strings a plan must never contain: they disable verification instead of
# fixing trust (docker daemon.json, containerd hosts.toml, curl, Node, requests).
FORBIDDEN: tuple[str, ...] = (
    "insecure-registries",
    "skip_verify",
    "insecure_skip_verify",
    "NODE_TLS_REJECT_UNAUTHORIZED",
    "verify=False",
    "--insecure",
    " -k ",
    "-Dcom.sun.net.ssl.checkRevocation=false",
    "GIT_SSL_NO_VERIFY",
    "PYTHONHTTPSVERIFY=0",
)
