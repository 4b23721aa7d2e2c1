"""Image references and platforms as docker spells them; what an --image value is."""

from __future__ import annotations

from pathlib import Path

import pytest

from trustdoctor.errors import InputError, UsageError
from trustdoctor.sources.image import classify_image
from trustdoctor.sources.imageref import (
    ImageRef,
    host_platform,
    parse_platform,
    parse_reference,
)

D = "sha256:" + "ab" * 32

# (text, registry, repository, tag, digest): distribution/reference's
# ParseNormalizedNamed as `docker pull` applies it.
CASES = [
    ("ubuntu", "docker.io", "library/ubuntu", "latest", None),
    ("ubuntu:22.04", "docker.io", "library/ubuntu", "22.04", None),
    ("myorg/app", "docker.io", "myorg/app", "latest", None),
    ("docker.io/ubuntu", "docker.io", "library/ubuntu", "latest", None),
    ("index.docker.io/library/ubuntu:1", "docker.io", "library/ubuntu", "1", None),
    ("localhost/app", "localhost", "app", "latest", None),
    ("localhost:5000/app:dev", "localhost:5000", "app", "dev", None),
    ("reg.example/team/app:1.4", "reg.example", "team/app", "1.4", None),
    ("127.0.0.1:5000/a/b/c", "127.0.0.1:5000", "a/b/c", "latest", None),
    ("[::1]:5000/app", "[::1]:5000", "app", "latest", None),
    ("Reg/app", "Reg", "app", "latest", None),  # upper case: a host, as in docker
    (f"app@{D}", "docker.io", "library/app", None, D),
    (f"reg.example:443/app:1@{D}", "reg.example:443", "app", "1", D),
    ("a/b__c/d-e.f:x_Y.z-1", "docker.io", "a/b__c/d-e.f", "x_Y.z-1", None),
]


@pytest.mark.parametrize(("text", "registry", "repo", "tag", "digest"), CASES)
def test_docker_normalization(
    text: str, registry: str, repo: str, tag: str | None, digest: str | None
) -> None:
    ref = parse_reference(text)
    assert (ref.registry, ref.repository, ref.tag, ref.digest) == (registry, repo, tag, digest)
    assert ref.manifest_ref == (digest or tag)


def test_endpoints() -> None:
    hub = parse_reference("ubuntu")
    assert (hub.host, hub.port, hub.endpoint) == (
        "registry-1.docker.io",
        None,
        "registry-1.docker.io",
    )
    assert str(hub) == "docker.io/library/ubuntu:latest"
    local = parse_reference("127.0.0.1:5000/app")
    assert (local.host, local.port, local.endpoint) == ("127.0.0.1", 5000, "127.0.0.1:5000")
    v6 = parse_reference("[::1]:5000/app")
    assert (v6.host, v6.port, v6.endpoint) == ("::1", 5000, "[::1]:5000")
    assert ImageRef("r.example", "a", "1", None).endpoint == "r.example"


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("", "not an image reference"),
        ("Ubuntu", "lowercase"),
        ("reg.example/App", "lowercase"),
        ("app:bad tag", "not an image reference"),
        ("app:" + "x" * 129, "malformed tag"),
        ("app@sha256:1234", "malformed digest"),
        ("app@md5:" + "a" * 32, "cannot be verified"),
        ("app@sha256:" + "AB" * 32, "cannot be verified"),
        ("a" * 64, "image ID"),
        ("reg.example//app", "not a repository name"),
        ("-reg.example/app", "not a registry host"),
        ("a/" * 130 + "b", "longer than 255"),
    ],
)
def test_malformed_references(text: str, why: str) -> None:
    with pytest.raises(UsageError, match=why) as ei:
        parse_reference(text)
    assert "\n" not in str(ei.value)


def test_platforms() -> None:
    assert str(parse_platform("linux/amd64")) == "linux/amd64"
    assert str(parse_platform("linux/x86_64")) == "linux/amd64"
    assert str(parse_platform("linux/arm64/v8")) == "linux/arm64"
    assert str(parse_platform("linux/aarch64")) == "linux/arm64"
    assert str(parse_platform("linux/arm")) == "linux/arm/v7"
    assert str(parse_platform("linux/armhf")) == "linux/arm/v7"
    assert str(parse_platform("Linux/ARM/6")) == "linux/arm/v6"
    assert str(host_platform("x86_64")) == "linux/amd64"
    assert str(host_platform("aarch64")) == "linux/arm64"
    assert str(host_platform("armv7l")) == "linux/arm/v7"
    arm64 = parse_platform("linux/arm64")
    assert arm64.matches("linux", "arm64", "v8") and arm64.matches("linux", "arm64")
    assert not arm64.matches("linux", "amd64") and not arm64.matches(None, "arm64")
    assert not parse_platform("linux/arm/v7").matches("linux", "arm", "v6")
    for bad in ("linux", "linux/", "a/b/c/d", "linux/amd64;rm"):
        with pytest.raises(UsageError, match="OS/ARCH"):
            parse_platform(bad)


def test_classification(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "ubuntu").write_bytes(b"")  # an existing file wins over the reference
    (tmp_path / "layout").mkdir()
    assert classify_image("ubuntu") == ("archive", Path("ubuntu"))
    assert classify_image("layout") == ("layout", Path("layout"))
    assert classify_image(tmp_path / "layout") == ("layout", tmp_path / "layout")
    assert classify_image("docker://ubuntu")[1] == parse_reference("ubuntu")
    assert classify_image("alpine:3.20") == ("reference", parse_reference("alpine:3.20"))
    # File-like names never become Docker Hub pulls.
    for name in ("app.tar", "app.tar.gz", "images/app.TGZ", "./app", "/nonexistent/app", "~/x"):
        assert classify_image(name)[0] == "archive", name
    with pytest.raises(InputError, match="no such file or directory, and not an image reference"):
        classify_image("Not A Reference")
