"""Image references and platforms, spelled as docker spells them (no I/O).

``parse_reference("ubuntu")`` gives ``docker.io/library/ubuntu:latest``, as
``docker pull ubuntu`` would: the rules are those of the distribution
project's ``reference`` package (``ParseNormalizedNamed``), kept here as data
and regular expressions:

* the first ``/``-separated component is a **registry** only if it contains a
  ``.`` or a ``:``, is ``localhost``, or has an upper-case letter (so
  ``myorg/app`` is a Docker Hub repository and ``reg.example/app`` is not);
* without a registry the image is on Docker Hub (``docker.io``), and a
  one-component Docker Hub name gets ``library/`` (the official images);
  ``index.docker.io`` is the old name of ``docker.io``;
* without ``:tag`` or ``@digest`` the tag is ``latest``; with a digest the
  tag (if also given) is only informative: the digest is what is pulled;
* repository components are lower case, ``[a-z0-9]`` with ``.``, ``_``,
  ``__`` or runs of ``-`` between; a tag is ``[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}``;
  the whole name is at most 255 characters.

Docker Hub's API is served at ``registry-1.docker.io``; its key in the
Docker config's ``auths`` (and the server URL given to credential helpers) is
``https://index.docker.io/v1/`` (docker/cli ``registry.IndexServer``).

Platforms (``--platform os/arch[/variant]``) are normalized as containerd's
``platforms.Normalize`` does (``x86_64`` → ``amd64``, ``aarch64`` → ``arm64``,
``arm64/v8`` → ``arm64``, ``armhf`` → ``arm/v7``...).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from ..errors import InputError, UsageError
from ..model.record import record

DOCKER_HUB = "docker.io"
# The host that serves Docker Hub's registry API (docker/docker registry/config.go
# DefaultRegistryHost / DefaultV2Registry).
DOCKER_HUB_API = "registry-1.docker.io"
# The auths key and credential-helper server URL of Docker Hub (docker/cli
# registry.IndexServer); older configs used index.docker.io without a scheme.
DOCKER_HUB_AUTH_KEYS: tuple[str, ...] = (
    "https://index.docker.io/v1/",
    "index.docker.io",
    "docker.io",
    "registry-1.docker.io",
)
LEGACY_HUB_NAMES = frozenset({"index.docker.io", "registry-1.docker.io"})
DEFAULT_TAG = "latest"
MAX_NAME = 255  # distribution/reference NameTotalLengthMax

_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[0-9A-Fa-f:.]+\])(?::[0-9]+)?"
_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"
_DOMAIN_RX = re.compile(rf"^{_DOMAIN}$")
_PATH_RX = re.compile(rf"^{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*$")
_TAG_RX = re.compile(rf"^{_TAG}$")
_DIGEST_RX = re.compile(rf"^{_DIGEST}$")
# Digests we can verify: (algorithm, hex length).
VERIFIABLE_DIGESTS: dict[str, int] = {"sha256": 64, "sha512": 128}
_IMAGE_ID = re.compile(r"^[a-f0-9]{64}$")

# (alias, variant) -> (arch, variant): containerd platforms/database.go normalizeArch.
_ARCH_ALIASES: dict[str, tuple[str, str | None]] = {
    "i386": ("386", ""),
    "x86_64": ("amd64", None),
    "x86-64": ("amd64", None),
    "amd64": ("amd64", None),
    "aarch64": ("arm64", None),
    "arm64": ("arm64", None),
    "armhf": ("arm", "v7"),
    "armel": ("arm", "v6"),
    "arm": ("arm", None),
    "armv7l": ("arm", "v7"),
    "armv6l": ("arm", "v6"),
    "armv5tel": ("arm", "v5"),
}


@record
class ImageRef:
    """A parsed, normalized image reference.

    Attributes:
        registry: the registry as written in (or implied by) the reference:
            ``docker.io``, ``reg.example:5000``, ``127.0.0.1:5000``.
        repository: the path in the registry (``library/ubuntu``).
        tag: the tag (``latest`` when neither a tag nor a digest was given).
        digest: ``sha256:...`` when pinned by digest (then the digest is pulled).
    """

    registry: str
    repository: str
    tag: str | None
    digest: str | None

    @property
    def host(self) -> str:
        """The host the API is served from (``registry-1.docker.io`` for Docker Hub)."""
        if self.registry == DOCKER_HUB:
            return DOCKER_HUB_API
        return split_host_port(self.registry)[0]

    @property
    def port(self) -> int | None:
        """The port written in the reference (``None``: the scheme's default)."""
        return None if self.registry == DOCKER_HUB else split_host_port(self.registry)[1]

    @property
    def endpoint(self) -> str:
        """``host[:port]`` of the API server."""
        return self.host if self.port is None else join_host_port(self.host, self.port)

    @property
    def manifest_ref(self) -> str:
        """What is asked for at ``/v2/<repository>/manifests/<ref>``."""
        return self.digest or self.tag or DEFAULT_TAG

    def __str__(self) -> str:
        text = f"{self.registry}/{self.repository}"
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text


def split_host_port(registry: str) -> tuple[str, int | None]:
    """``reg:5000`` → (``reg``, 5000); ``[::1]:5000`` → (``::1``, 5000)."""
    if registry.startswith("["):
        end = registry.index("]")
        host, rest = registry[1:end], registry[end + 1 :]
        return host, int(rest[1:]) if rest.startswith(":") else None
    host, sep, port = registry.rpartition(":")
    if sep and port.isdigit():
        return host, int(port)
    return registry, None


def join_host_port(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _split_domain(name: str) -> tuple[str, str]:
    """distribution/reference splitDockerDomain."""
    first, sep, rest = name.partition("/")
    if not sep or (
        not any(c in first for c in ".:") and first != "localhost" and first.lower() == first
    ):
        domain, remainder = DOCKER_HUB, name
    else:
        domain, remainder = first, rest
    if domain in LEGACY_HUB_NAMES:
        domain = DOCKER_HUB
    if domain == DOCKER_HUB and "/" not in remainder:
        remainder = "library/" + remainder
    return domain, remainder


def parse_reference(text: str) -> ImageRef:
    """Parse ``[registry/]repository[:tag][@digest]``; :class:`UsageError` if malformed."""
    shown = text[:200]
    if not text or any(c.isspace() for c in text) or not text.isprintable():
        raise UsageError(f"{shown!r}: not an image reference")
    if _IMAGE_ID.match(text):
        raise UsageError(
            f"{shown!r} is an image ID, not a reference: name the image "
            "(registry/repository:tag or @sha256:...)"
        )
    name, at, digest = text.partition("@")
    if at and not _DIGEST_RX.match(digest):
        raise UsageError(f"{shown!r}: malformed digest {digest[:80]!r}")
    tag: str | None = None
    # A tag is after the last ':' that follows the last '/' (a port is before it).
    slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > slash:
        name, tag = name[:colon], name[colon + 1 :]
        if not _TAG_RX.match(tag):
            raise UsageError(f"{shown!r}: malformed tag {tag[:80]!r}")
    if len(name) > MAX_NAME:
        raise UsageError(f"{shown[:80]!r}...: repository name longer than {MAX_NAME} characters")
    domain, path = _split_domain(name)
    if not _DOMAIN_RX.match(domain):
        raise UsageError(f"{shown!r}: {domain[:80]!r} is not a registry host[:port]")
    if not _PATH_RX.match(path):
        if path.lower() != path:
            raise UsageError(f"{shown!r}: repository name must be lowercase")
        raise UsageError(f"{shown!r}: {path[:80]!r} is not a repository name")
    if at:
        alg, _, hexd = digest.partition(":")
        if VERIFIABLE_DIGESTS.get(alg) != len(hexd) or hexd.lower() != hexd:
            raise UsageError(
                f"{shown!r}: digest algorithm {alg!r} cannot be verified "
                "(sha256 or sha512, lower-case hex)"
            )
    elif tag is None:
        tag = DEFAULT_TAG
    return ImageRef(domain, path, tag, digest if at else None)


def is_loopback(host: str) -> bool:
    """``localhost``, 127.0.0.0/8 or ``::1`` (by name, no DNS)."""
    import ipaddress

    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# -- platforms -----------------------------------------------------------------------------


@record
class Platform:
    """``os/arch[/variant]``, normalized; ``variant`` is ``""`` when unspecified."""

    os: str
    arch: str
    variant: str = ""

    def __str__(self) -> str:
        return f"{self.os}/{self.arch}" + (f"/{self.variant}" if self.variant else "")

    def matches(self, os_name: object, arch: object, variant: object = None) -> bool:
        """Whether an index entry's platform is this one (containerd's exact matcher)."""
        if not isinstance(os_name, str) or not isinstance(arch, str):
            return False
        other = normalize_platform(os_name, arch, variant if isinstance(variant, str) else "")
        if (other.os, other.arch) != (self.os, self.arch):
            return False
        return not self.variant or not other.variant or other.variant == self.variant


def normalize_platform(os_name: str, arch: str, variant: str = "") -> Platform:
    os_name = os_name.lower()
    arch = arch.lower()
    variant = variant.lower()
    if os_name == "macos":
        os_name = "darwin"
    alias = _ARCH_ALIASES.get(arch)
    if alias is not None:
        arch, implied = alias
        if implied is not None and not variant:
            variant = implied
    if arch == "arm64" and variant in ("8", "v8"):
        variant = ""
    elif arch == "arm" and variant in ("5", "6", "7", "8"):
        variant = "v" + variant
    elif arch == "arm" and not variant:
        variant = "v7"
    return Platform(os_name, arch, variant)


_PLATFORM_PART = re.compile(r"^[A-Za-z0-9_.-]{1,32}$")


def parse_platform(text: str) -> Platform:
    """``linux/amd64``, ``linux/arm64/v8``, ``linux/arm/v7``; :class:`UsageError` otherwise."""
    parts = text.split("/")
    if not 2 <= len(parts) <= 3 or not all(_PLATFORM_PART.match(p) for p in parts):
        raise UsageError(f"--platform {text[:80]!r}: expected OS/ARCH[/VARIANT], e.g. linux/amd64")
    return normalize_platform(*parts)


def host_platform(machine: str) -> Platform:
    """The platform images are pulled for by default: ``linux`` and this machine's arch.

    ``machine`` is ``platform.machine()`` (a parameter: this module does no I/O).
    """
    return normalize_platform("linux", machine or "amd64")


# -- media types and manifest choice ------------------------------------------------------

# OCI image-spec (media-types.md) and Docker's manifest v2 schema 2.
INDEX_TYPES = frozenset(
    {
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
    }
)
MANIFEST_TYPES = frozenset(
    {
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    }
)
# Schema 1 (signed JWS manifests): removed from docker 20.10 pulls by default.
SCHEMA1_TYPES = frozenset(
    {
        "application/vnd.docker.distribution.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v1+prettyjws",
    }
)
CONFIG_TYPES = frozenset(
    {
        "application/vnd.oci.image.config.v1+json",
        "application/vnd.docker.container.image.v1+json",
    }
)
LAYER_TYPES = frozenset(
    {
        "application/vnd.oci.image.layer.v1.tar",
        "application/vnd.oci.image.layer.v1.tar+gzip",
        "application/vnd.oci.image.layer.v1.tar+zstd",
        "application/vnd.oci.image.layer.nondistributable.v1.tar",
        "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
        "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
        "application/vnd.docker.image.rootfs.diff.tar",
        "application/vnd.docker.image.rootfs.diff.tar.gzip",
        "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
    }
)


def choose_manifest(
    descs: Sequence[Any],
    platform: Platform,
    *,
    explicit: bool,
    image: str,
    warnings: list[str],
) -> dict[str, Any]:
    """The entry of an image index for ``platform``; attestations are never images.

    With an ``explicit`` platform (``--platform``) a missing match is an
    :class:`InputError` (as ``docker pull --platform``); for the default (the
    host's) the first image is read, with a warning.
    """
    usable = []
    for d in descs:
        if not isinstance(d, dict):
            continue
        ann = d.get("annotations") or {}
        if isinstance(ann, dict) and "vnd.docker.reference.type" in ann:
            continue  # buildkit attestation manifest
        plat = d.get("platform") or {}
        if isinstance(plat, dict) and plat.get("os") == "unknown":
            continue
        mt = d.get("mediaType")
        if mt is not None and mt not in INDEX_TYPES | MANIFEST_TYPES:
            continue
        usable.append(d)
    if not usable:
        raise InputError(f"{image}: the image index lists no image manifest")
    for d in usable:
        plat = d.get("platform") or {}
        if isinstance(plat, dict) and platform.matches(
            plat.get("os"), plat.get("architecture"), plat.get("variant")
        ):
            return dict(d)
    offered = []
    for d in usable:
        plat = d.get("platform") or {}
        if isinstance(plat, dict) and isinstance(plat.get("os"), str):
            offered.append(
                "/".join(
                    str(plat.get(k)) for k in ("os", "architecture", "variant") if plat.get(k)
                )[:40]
            )
    listed = ", ".join(offered[:8]) or "no platforms named"
    if explicit:
        raise InputError(f"{image}: no {platform} image in the index (it has: {listed})")
    if len(usable) > 1:
        warnings.append(f"no {platform} image in the index; read the first of {len(usable)}")
    return dict(usable[0])
