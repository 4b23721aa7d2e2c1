"""Which distribution a root is, from ``os-release`` and, above all, from disk.

``/etc/os-release`` (fallback ``/usr/lib/os-release``, os-release(5)) names the
distribution, but images lie by omission: distroless says ``ID=debian`` and
has no ``update-ca-certificates``; a ``FROM scratch`` image has no os-release;
an image can carry another distro's tree.  So the family is decided by what is
on disk (update tools, anchor directories, package databases) and os-release
only breaks ties (../shared/reference/truststores.md §4.7).

The per-family facts (anchor directories, compiled bundle, rebuild command,
OpenSSL and curl compiled-in defaults, Java and certifi wiring) are data, with
their sources.  Client models read *these* tables and then the files
themselves; nothing here is trusted over a symlink actually on disk.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .rootfs import RootFS


@dataclass(frozen=True)
class AnchorDir:
    """A directory where administrators drop CA files for the update tool.

    Attributes:
        path: the directory inside the root.
        recursive: the update tool descends into subdirectories.
        suffix: only names ending with this are read (Debian: ``.crt``).
        der_ok: DER files are accepted (p11-kit based tools) or not.
        note: where the rule comes from.
    """

    path: str
    recursive: bool = False
    suffix: str | None = None
    der_ok: bool = True
    note: str = ""


@dataclass(frozen=True)
class FamilyFacts:
    """What a distribution family compiles in and where its trust tooling writes.

    Attributes:
        family: ``debian``, ``rhel``, ``alpine``, ``suse``, ``arch``,
            ``distroless``, ``busybox``, ``scratch`` or ``unknown``.
        openssldir: the distro OpenSSL's OPENSSLDIR (CAfile = ``<dir>/cert.pem``,
            CApath = ``<dir>/certs``); refined from libcrypto when present.
        curl_cafile / curl_capath: curl's compiled-in defaults.
        anchor_dirs: where local CA files go, in the tool's priority order.
        bundle: the PEM bundle the update tool writes.
        hash_dir: the OpenSSL hash directory the update tool maintains.
        refresh: the command that rebuilds bundle, hash links and Java store.
        java_cacerts: the distro-managed Java keystore (``None``: not managed).
        certifi_target: where the distro's patched ``certifi.where()`` points.
        update_tool: the update tool's path, to check it is installed.
    """

    family: str
    openssldir: str | None = None
    curl_cafile: str | None = None
    curl_capath: str | None = None
    anchor_dirs: tuple[AnchorDir, ...] = ()
    bundle: str | None = None
    hash_dir: str | None = None
    refresh: str | None = None
    java_cacerts: str | None = None
    certifi_target: str | None = None
    update_tool: str | None = None


# -- the tables --------------------------------------------------------------------

FAMILIES: dict[str, FamilyFacts] = {
    # Debian/Ubuntu: update-ca-certificates (shell; mshuler/ca-certificates
    # sbin/update-ca-certificates): `find -L /usr/local/share/ca-certificates
    # -type f -name '*.crt'` (recursive, .crt mandatory), raw concatenation into
    # the bundle, one /etc/ssl/certs/<name>.pem link per file, `openssl rehash`,
    # then /etc/ca-certificates/update.d hooks (ca-certificates-java: jks-keystore).
    # OPENSSLDIR=/usr/lib/ssl (Debian openssl rules); curl --with-ca-bundle and
    # --with-ca-path (both strings present in bookworm's libcurl.so.4).
    "debian": FamilyFacts(
        family="debian",
        openssldir="/usr/lib/ssl",
        curl_cafile="/etc/ssl/certs/ca-certificates.crt",
        curl_capath="/etc/ssl/certs",
        anchor_dirs=(
            AnchorDir(
                "/usr/local/share/ca-certificates",
                recursive=True,
                suffix=".crt",
                der_ok=False,
                note="update-ca-certificates: find -L ... -name '*.crt'",
            ),
        ),
        bundle="/etc/ssl/certs/ca-certificates.crt",
        hash_dir="/etc/ssl/certs",
        refresh="update-ca-certificates",
        java_cacerts="/etc/ssl/certs/java/cacerts",
        certifi_target="/etc/ssl/certs/ca-certificates.crt",
        update_tool="/usr/sbin/update-ca-certificates",
    ),
    # RHEL/Fedora/CentOS/Rocky/Alma/Amazon/Oracle: p11-kit `update-ca-trust`
    # (Fedora ca-certificates.spec): anchors PEM or DER, any name; output under
    # /etc/pki/ca-trust/extracted/.  OPENSSLDIR=/etc/pki/tls; curl
    # --with-ca-bundle=/etc/pki/tls/certs/ca-bundle.crt [inferred from the spec].
    "rhel": FamilyFacts(
        family="rhel",
        openssldir="/etc/pki/tls",
        curl_cafile="/etc/pki/tls/certs/ca-bundle.crt",
        curl_capath=None,
        anchor_dirs=(
            AnchorDir("/etc/pki/ca-trust/source/anchors", note="p11-kit, high priority"),
            AnchorDir("/usr/share/pki/ca-trust-source/anchors", note="p11-kit, low priority"),
            AnchorDir("/etc/pki/ca-trust/source", note="p11-kit: BEGIN TRUSTED CERTIFICATE files"),
        ),
        bundle="/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
        hash_dir="/etc/pki/ca-trust/extracted/pem/directory-hash",
        refresh="update-ca-trust extract",
        java_cacerts="/etc/pki/ca-trust/extracted/java/cacerts",
        certifi_target="/etc/pki/tls/certs/ca-bundle.crt",
        update_tool="/usr/bin/update-ca-trust",
    ),
    # Alpine: update-ca-certificates (C, alpinelinux/ca-certificates update-ca.c):
    # every non-dot entry of /usr/local/share/ca-certificates, not recursive,
    # .crt optional.  OPENSSLDIR=/etc/ssl.  curl: no --with-ca-bundle in the
    # APKBUILD; configure picks /etc/ssl/certs/ca-certificates.crt (acinclude.m4
    # probes it first) and no capath when a bundle was found.
    "alpine": FamilyFacts(
        family="alpine",
        openssldir="/etc/ssl",
        curl_cafile="/etc/ssl/certs/ca-certificates.crt",
        curl_capath=None,
        anchor_dirs=(
            AnchorDir(
                "/usr/local/share/ca-certificates",
                recursive=False,
                der_ok=False,
                note="update-ca (Alpine): non-dot entries, not recursive",
            ),
        ),
        bundle="/etc/ssl/certs/ca-certificates.crt",
        hash_dir="/etc/ssl/certs",
        refresh="update-ca-certificates",
        java_cacerts="/etc/ssl/certs/java/cacerts",
        certifi_target="/etc/ssl/certs/ca-certificates.crt",
        update_tool="/usr/sbin/update-ca-certificates",
    ),
    # SUSE: p11-kit based update-ca-certificates (openSUSE/ca-certificates):
    # /var/lib/ca-certificates/{ca-bundle.pem,pem/,java-cacerts};
    # /etc/ssl/certs -> /var/lib/ca-certificates/pem.  OPENSSLDIR=/etc/ssl;
    # curl capath /etc/ssl/certs [inferred].
    "suse": FamilyFacts(
        family="suse",
        openssldir="/etc/ssl",
        curl_cafile=None,
        curl_capath="/etc/ssl/certs",
        anchor_dirs=(
            AnchorDir("/etc/pki/trust/anchors", note="p11-kit, admin"),
            AnchorDir("/usr/share/pki/trust/anchors", note="p11-kit, packages"),
        ),
        bundle="/var/lib/ca-certificates/ca-bundle.pem",
        hash_dir="/var/lib/ca-certificates/pem",
        refresh="update-ca-certificates",
        java_cacerts="/var/lib/ca-certificates/java-cacerts",
        certifi_target="/var/lib/ca-certificates/ca-bundle.pem",
        update_tool="/usr/sbin/update-ca-certificates",
    ),
    # Arch: p11-kit `update-ca-trust` / `trust anchor --store` (Arch wiki, TLS):
    # outputs /etc/ca-certificates/extracted/, links into /etc/ssl/certs.
    "arch": FamilyFacts(
        family="arch",
        openssldir="/etc/ssl",
        curl_cafile="/etc/ssl/certs/ca-certificates.crt",
        curl_capath=None,
        anchor_dirs=(
            AnchorDir("/etc/ca-certificates/trust-source/anchors", note="p11-kit, admin"),
            AnchorDir("/usr/share/ca-certificates/trust-source/anchors", note="p11-kit, packages"),
            AnchorDir("/etc/ca-certificates/trust-source", note="p11-kit: trust anchor --store"),
        ),
        bundle="/etc/ca-certificates/extracted/tls-ca-bundle.pem",
        hash_dir="/etc/ssl/certs",
        refresh="update-ca-trust",
        java_cacerts="/etc/ssl/certs/java/cacerts",
        certifi_target="/etc/ssl/certs/ca-certificates.crt",
        update_tool="/usr/bin/update-ca-trust",
    ),
    # Distroless (GoogleContainerTools/distroless): Debian's bundle flattened
    # into one file at image build; no hash links, no update tool, no shell.
    "distroless": FamilyFacts(
        family="distroless",
        openssldir="/usr/lib/ssl",
        bundle="/etc/ssl/certs/ca-certificates.crt",
        refresh=None,
        java_cacerts="/etc/ssl/certs/java/cacerts",
        certifi_target="/etc/ssl/certs/ca-certificates.crt",
    ),
    "busybox": FamilyFacts(family="busybox"),
    "scratch": FamilyFacts(family="scratch"),
    "unknown": FamilyFacts(family="unknown"),
}

# os-release ID / ID_LIKE → family (os-release(5); truststores.md §4.7).
OS_IDS: dict[str, str] = {
    "debian": "debian",
    "ubuntu": "debian",
    "linuxmint": "debian",
    "raspbian": "debian",
    "rhel": "rhel",
    "fedora": "rhel",
    "centos": "rhel",
    "rocky": "rhel",
    "almalinux": "rhel",
    "amzn": "rhel",
    "ol": "rhel",
    "alpine": "alpine",
    "wolfi": "alpine",
    "sles": "suse",
    "sled": "suse",
    "opensuse": "suse",
    "opensuse-leap": "suse",
    "opensuse-tumbleweed": "suse",
    "suse": "suse",
    "arch": "arch",
    "archlinux": "arch",
    "manjaro": "arch",
}

# Disk evidence, strongest first: (path that exists, family, what it shows).
DISK_EVIDENCE: tuple[tuple[str, str, str], ...] = (
    # (update-ca-trust itself is no evidence: Arch ships one too.)
    ("/etc/pki/ca-trust/source", "rhel", "p11-kit ca-trust tree"),
    ("/etc/pki/ca-trust/extracted", "rhel", "p11-kit ca-trust output"),
    ("/etc/pki/trust/anchors", "suse", "SUSE anchors directory"),
    ("/var/lib/ca-certificates/ca-bundle.pem", "suse", "SUSE compiled bundle"),
    ("/etc/ca-certificates/trust-source", "arch", "Arch trust-source tree"),
    ("/etc/ca-certificates/extracted", "arch", "Arch extracted tree"),
    ("/lib/apk/db/installed", "alpine", "apk database"),
    ("/etc/apk", "alpine", "apk configuration"),
    ("/var/lib/dpkg/status.d", "distroless", "distroless per-package dpkg status"),
    ("/var/lib/dpkg/status", "debian", "dpkg database"),
    ("/usr/share/ca-certificates/mozilla", "debian", "Debian ca-certificates tree"),
)

# Where a shell would be: its absence marks distroless/scratch.
SHELLS = ("/bin/sh", "/usr/bin/sh", "/bin/bash", "/bin/ash")


@dataclass(frozen=True)
class Distro:
    """The detected distribution of a root.

    Attributes:
        family: the key of :data:`FAMILIES` chosen.
        id / version_id / pretty_name / id_like: from os-release, if any.
        os_release: the os-release file read (``None``: none found).
        evidence: the disk facts that decided, in words.
        facts: the :class:`FamilyFacts` of ``family``.
    """

    family: str
    id: str | None = None
    version_id: str | None = None
    pretty_name: str | None = None
    id_like: tuple[str, ...] = ()
    os_release: str | None = None
    evidence: tuple[str, ...] = ()
    facts: FamilyFacts = field(default_factory=lambda: FAMILIES["unknown"])

    @property
    def label(self) -> str:
        name = self.pretty_name or self.id or self.family
        return name if self.family in name.lower() else f"{name} ({self.family})"

    def to_dict(self) -> dict[str, object]:
        return {
            "family": self.family,
            "id": self.id,
            "version_id": self.version_id,
            "pretty_name": self.pretty_name,
            "os_release": self.os_release,
            "evidence": list(self.evidence),
        }


def parse_os_release(text: str) -> dict[str, str]:
    """``KEY=value`` lines, shell-style quoting removed (os-release(5))."""
    out: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1].replace('\\"', '"').replace("\\\\", "\\")
        out[key.strip()] = value
    return out


def family_of_ids(ids: list[str]) -> str | None:
    for i in ids:
        fam = OS_IDS.get(i.lower())
        if fam:
            return fam
    return None


def detect_distro(fs: RootFS) -> Distro:
    """Decide the family of ``fs`` from os-release and disk evidence."""
    info: dict[str, str] = {}
    os_release: str | None = None
    for candidate in ("/etc/os-release", "/usr/lib/os-release"):
        try:
            info = parse_os_release(fs.read_text(candidate, 64 * 1024))
        except OSError:
            continue
        os_release = candidate
        break
    os_id = info.get("ID") or None
    id_like = tuple(info.get("ID_LIKE", "").split())
    pretty = info.get("PRETTY_NAME") or None
    os_family = family_of_ids([os_id or "", *id_like])

    evidence: list[str] = []
    disk_family: str | None = None
    for path, fam, what in DISK_EVIDENCE:
        if fs.lexists(path):
            evidence.append(f"{what} ({path})")
            disk_family = disk_family or fam
    has_shell = any(fs.lexists(s) for s in SHELLS)
    busybox = fs.lexists("/bin/busybox")

    family: str
    if pretty and pretty.lower().startswith("distroless"):
        family = "distroless"
        evidence.insert(0, f"os-release PRETTY_NAME={pretty!r}")
    elif disk_family == "distroless" and not has_shell:
        family = "distroless"
    elif disk_family == "distroless":
        family = "debian"
    elif disk_family is not None:
        family = disk_family
        if os_family and os_family != disk_family:
            evidence.append(f"os-release says {os_id!r}, disk says {disk_family}")
    elif os_family is not None:
        family = os_family
        evidence.append(f"os-release ID={os_id!r} (no disk evidence)")
    elif busybox:
        family = "busybox"
        evidence.append("/bin/busybox and no package database")
    elif os_release is None and not has_shell:
        family = "scratch"
        evidence.append("no os-release, no shell, no package database")
    else:
        family = "unknown"
    return Distro(
        family=family,
        id=os_id,
        version_id=info.get("VERSION_ID") or None,
        pretty_name=pretty,
        id_like=id_like,
        os_release=os_release,
        evidence=tuple(evidence),
        facts=FAMILIES[family],
    )
