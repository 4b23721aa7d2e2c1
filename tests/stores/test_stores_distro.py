"""Distro detection: os-release, and above all what is on disk."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers.stores import Root, alpine, arch, busybox, ca, debian, distroless, rhel, suse
from trustdoctor.stores.distro import detect_distro, parse_os_release
from trustdoctor.stores.rootfs import RootFS

A = ca("Distro Test Root")


@pytest.mark.parametrize(
    "build,family",
    [
        (lambda r: debian(r, [A]), "debian"),
        (lambda r: rhel(r, [A], layout="rhel7"), "rhel"),
        (lambda r: rhel(r, [A], layout="rhel9"), "rhel"),
        (lambda r: rhel(r, [A], layout="fedora"), "rhel"),
        (lambda r: alpine(r, [A]), "alpine"),
        (lambda r: suse(r, [A]), "suse"),
        (lambda r: arch(r, [A]), "arch"),
        (lambda r: distroless(r, [A]), "distroless"),
        (busybox, "busybox"),
        (lambda r: r.dir("/app"), "scratch"),
    ],
    ids=[
        "debian",
        "rhel7",
        "rhel9",
        "fedora",
        "alpine",
        "suse",
        "arch",
        "distroless",
        "busybox",
        "scratch",
    ],
)
def test_layouts(tmp_path: Path, build: object, family: str) -> None:
    r = Root(tmp_path / "root")
    build(r)  # type: ignore[operator]
    d = detect_distro(RootFS(r.path))
    assert d.family == family
    assert d.facts.family == family


def test_disk_wins_over_os_release(tmp_path: Path) -> None:
    r = Root(tmp_path / "root")
    rhel(r, [A])
    r.os_release(ID="ubuntu", ID_LIKE="debian", PRETTY_NAME="Ubuntu 24.04 LTS")
    d = detect_distro(RootFS(r.path))
    assert d.family == "rhel"
    assert {"code": "os-release-disagrees", "id": "ubuntu", "disk_family": "rhel"} in [
        e.to_dict() for e in d.evidence
    ]


def test_os_release_fallback_and_id_like(tmp_path: Path) -> None:
    r = Root(tmp_path / "root")
    r.file("/usr/lib/os-release", 'ID=rocky\nID_LIKE="rhel centos fedora"\nVERSION_ID="9.3"\n')
    r.file("/bin/sh", "")
    d = detect_distro(RootFS(r.path))
    assert (d.family, d.id, d.version_id, d.os_release) == (
        "rhel",
        "rocky",
        "9.3",
        "/usr/lib/os-release",
    )
    r.file("/etc/os-release", "ID=mydistro\nID_LIKE=ubuntu\n")
    assert detect_distro(RootFS(r.path)).family == "debian"


def test_distroless_with_a_shell_is_debian(tmp_path: Path) -> None:
    r = Root(tmp_path / "root")
    r.os_release(ID="debian", PRETTY_NAME="Debian GNU/Linux 12 (bookworm)")
    r.dir("/var/lib/dpkg/status.d")
    r.file("/bin/sh", "")
    assert detect_distro(RootFS(r.path)).family == "debian"
    r.os_release(ID="debian", PRETTY_NAME="Distroless")
    assert detect_distro(RootFS(r.path)).family == "distroless"


def test_parse_os_release_quoting() -> None:
    text = '# c\nNAME="Debian GNU/Linux"\nID=debian\nPRETTY_NAME=\'x "y"\'\nBAD LINE\n'
    assert parse_os_release(text) == {
        "NAME": "Debian GNU/Linux",
        "ID": "debian",
        "PRETTY_NAME": 'x "y"',
    }
