"""What each distribution family compiles in and where its trust tooling writes (pure data).

The per-family facts (anchor directories, compiled bundle, rebuild command,
OpenSSL and curl compiled-in defaults, Java and certifi wiring), with their
sources.  The one table of them: :mod:`.distro` picks the family of a root,
the client models read these rows and then the files themselves (nothing here
is trusted over a symlink actually on disk), and the fix planners
(:mod:`trustdoctor.fixes.tables`) build their install rows from them.
"""

from __future__ import annotations

from .record import record


@record
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


@record
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
