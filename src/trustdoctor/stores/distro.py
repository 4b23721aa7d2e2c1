"""Which distribution a root is, from ``os-release`` and, above all, from disk.

``/etc/os-release`` (fallback ``/usr/lib/os-release``, os-release(5)) names the
distribution, but images lie by omission: distroless says ``ID=debian`` and
has no ``update-ca-certificates``; a ``FROM scratch`` image has no os-release;
an image can carry another distro's tree.  So the family is decided by what is
on disk (update tools, anchor directories, package databases) and os-release
only breaks ties (../shared/reference/truststores.md §4.7).

The per-family facts (anchor directories, compiled bundle, rebuild command,
OpenSSL and curl compiled-in defaults, Java and certifi wiring) are the data
table of :mod:`.families`.
"""

from __future__ import annotations

from ..model.families import FAMILIES, FamilyFacts
from ..model.record import field, record

TYPE_CHECKING = False  # typing's constant, without importing typing (model/record.py)
if TYPE_CHECKING:
    from .rootfs import RootFS


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

# Disk evidence, strongest first: (path that exists, family, marker code).
# The marker's words are render/words.py DISK_MARKERS.
DISK_EVIDENCE: tuple[tuple[str, str, str], ...] = (
    # (update-ca-trust itself is no evidence: Arch ships one too.)
    ("/etc/pki/ca-trust/source", "rhel", "p11-kit-source"),
    ("/etc/pki/ca-trust/extracted", "rhel", "p11-kit-extracted"),
    ("/etc/pki/trust/anchors", "suse", "suse-anchors"),
    ("/var/lib/ca-certificates/ca-bundle.pem", "suse", "suse-bundle"),
    ("/etc/ca-certificates/trust-source", "arch", "arch-trust-source"),
    ("/etc/ca-certificates/extracted", "arch", "arch-extracted"),
    ("/lib/apk/db/installed", "alpine", "apk-database"),
    ("/etc/apk", "alpine", "apk-config"),
    ("/var/lib/dpkg/status.d", "distroless", "distroless-dpkg"),
    ("/var/lib/dpkg/status", "debian", "dpkg-database"),
    ("/usr/share/ca-certificates/mozilla", "debian", "debian-ca-tree"),
)

# Where a shell would be: its absence marks distroless/scratch.
SHELLS = ("/bin/sh", "/usr/bin/sh", "/bin/bash", "/bin/ash")


@record
class Evidence:
    """One fact that decided the family: a stable code and its values (as text).

    Codes: ``disk`` (``marker``, ``path``), ``pretty-name`` (``pretty_name``),
    ``os-release-disagrees`` (``id``, ``disk_family``), ``os-release-only``
    (``id``), ``busybox``, ``nothing``; words in render/words.py.
    """

    code: str
    values: tuple[tuple[str, str | None], ...] = ()

    def to_dict(self) -> dict[str, str | None]:
        return {"code": self.code, **dict(self.values)}


@record
class Distro:
    """The detected distribution of a root.

    Attributes:
        family: the key of :data:`FAMILIES` chosen.
        id / version_id / pretty_name / id_like: from os-release, if any.
        os_release: the os-release file read (``None``: none found).
        evidence: the facts that decided (:class:`Evidence`).
        facts: the :class:`FamilyFacts` of ``family``.
    """

    family: str
    id: str | None = None
    version_id: str | None = None
    pretty_name: str | None = None
    id_like: tuple[str, ...] = ()
    os_release: str | None = None
    evidence: tuple[Evidence, ...] = ()
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
            "evidence": [e.to_dict() for e in self.evidence],
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

    evidence: list[Evidence] = []
    disk_family: str | None = None
    for path, fam, what in DISK_EVIDENCE:
        if fs.lexists(path):
            evidence.append(Evidence("disk", (("marker", what), ("path", path))))
            disk_family = disk_family or fam
    has_shell = any(fs.lexists(s) for s in SHELLS)
    busybox = fs.lexists("/bin/busybox")

    family: str
    if pretty and pretty.lower().startswith("distroless"):
        family = "distroless"
        evidence.insert(0, Evidence("pretty-name", (("pretty_name", pretty),)))
    elif disk_family == "distroless" and not has_shell:
        family = "distroless"
    elif disk_family == "distroless":
        family = "debian"
    elif disk_family is not None:
        family = disk_family
        if os_family and os_family != disk_family:
            evidence.append(
                Evidence("os-release-disagrees", (("id", os_id), ("disk_family", disk_family)))
            )
    elif os_family is not None:
        family = os_family
        evidence.append(Evidence("os-release-only", (("id", os_id),)))
    elif busybox:
        family = "busybox"
        evidence.append(Evidence("busybox"))
    elif os_release is None and not has_shell:
        family = "scratch"
        evidence.append(Evidence("nothing"))
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
