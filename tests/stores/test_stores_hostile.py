"""Hostile roots and images: bounded work, clear findings or one-line errors, no host reads."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from helpers.images import docker_save, layer
from helpers.stores import Root, bundle, ca, codes, debian, fp, has, stores
from trustdoctor.cli.main import main
from trustdoctor.stores.rootfs import MAX_DIR_ENTRIES, RootFS

A, B, C = (ca(f"Hostile Test Root {x}") for x in "ABC")
ALL_CLIENTS = [
    "go",
    "openssl",
    "curl",
    "python",
    "requests",
    "node",
    "java",
    "docker",
    "containerd",
    "crio",
    "podman",
]


def snapshot(path: Path) -> dict[str, tuple[int, float]]:
    out = {}
    for dirpath, dirnames, filenames in os.walk(path):
        for n in dirnames + filenames:
            p = os.path.join(dirpath, n)
            st = os.lstat(p)
            out[p] = (st.st_size, st.st_mtime)
    return out


def test_links_never_leave_the_root(tmp_path: Path) -> None:
    secret = tmp_path / "host" / "secret.pem"
    secret.parent.mkdir()
    secret.write_bytes(A.pem)
    r = Root(tmp_path / "root")
    r.link("/etc/ssl/certs/ca-certificates.crt", str(secret))
    r.link("/etc/ssl/certs/up.pem", "../../../../../../../../../" + str(secret).lstrip("/"))
    r.link("/etc/ssl/cert.pem", "/../../../" + str(secret).lstrip("/"))
    r.link("/usr/lib/ssl", "/../..")  # a directory link climbing above the root
    r.link("/etc/pki/tls/certs", str(secret.parent))
    r.link("/opt/java/openjdk", str(tmp_path))
    before = snapshot(tmp_path)
    s = stores(
        r,
        ALL_CLIENTS,
        {"SSL_CERT_FILE": str(secret), "NODE_EXTRA_CA_CERTS": str(secret)},
        registry="reg.example",
    )
    for client, store in s.items():
        assert not has(store, A), client
    assert snapshot(tmp_path) == before  # nothing written, in the root or outside it
    fs = RootFS(r.path)
    with pytest.raises(FileNotFoundError):  # the host directory does not exist *in the root*
        fs.resolve("/etc/ssl/certs/up.pem")
    r.dir(str(secret.parent))
    fs = RootFS(r.path)
    assert fs.resolve("/etc/ssl/certs/up.pem") == str(
        secret
    )  # clamped at the root: an in-root path
    assert fs.resolve("/usr/lib/ssl/x") == "/x"


def test_symlink_loops_are_elooop_not_hangs(tmp_path: Path) -> None:
    r = Root(tmp_path / "root")
    r.link("/etc/ssl/certs", "/etc/ssl/certs2")
    r.link("/etc/ssl/certs2", "/etc/ssl/certs")
    r.link("/usr/local/share/ca-certificates/self", ".")  # a directory loop for the recursive walk
    r.file("/usr/local/share/ca-certificates/x/y.crt", B.pem)
    debian_marker = r.file("/var/lib/dpkg/status", "")
    assert debian_marker.exists()
    t0 = time.monotonic()
    s = stores(r, ALL_CLIENTS)
    assert time.monotonic() - t0 < 10
    assert all(len(x.anchors) == 0 or x.client == "node" for x in s.values())


def test_a_100_mb_bundle_is_a_finding_not_a_read(tmp_path: Path) -> None:
    r = Root(tmp_path / "root")
    big = r.p("/etc/ssl/certs/ca-certificates.crt")
    big.parent.mkdir(parents=True)
    with open(big, "wb") as fh:
        fh.truncate(100 * 1024 * 1024)  # sparse: 100 MB apparent size, nothing to write
    r.file("/etc/pki/tls/certs/ca-bundle.crt", A.pem)
    t0 = time.monotonic()
    s = stores(
        r, ["go", "openssl", "curl"], {"SSL_CERT_FILE": "/etc/ssl/certs/ca-certificates.crt"}
    )
    assert time.monotonic() - t0 < 5
    go = s["go"]
    assert "store-limit" in codes(go)
    f = next(f for f in go.findings if f.code.value == "store-limit")
    assert f.params["reason"] == "file-too-large"
    assert f.params["size"] == 104857600
    # Go reads it and stops there: the next bundle is skipped, as Go would.
    st = {x.path: x.status.value for x in go.sources}
    assert st["/etc/ssl/certs/ca-certificates.crt"] == "truncated"
    assert "store-limit" in codes(s["openssl"]) and "store-limit" in codes(s["curl"])


def test_a_fifo_bundle_does_not_block(tmp_path: Path) -> None:
    r = Root(tmp_path / "root")
    r.dir("/etc/ssl/certs")
    os.mkfifo(r.p("/etc/ssl/certs/ca-certificates.crt"))
    r.file("/etc/pki/tls/certs/ca-bundle.crt", A.pem)
    s = stores(r, ["go", "openssl"])
    assert has(s["go"], A)
    st = {x.path: (x.status.value, x.detail) for x in s["go"].sources}
    assert st["/etc/ssl/certs/ca-certificates.crt"] == ("unreadable", "not a regular file")


def test_garbage_and_block_floods(tmp_path: Path) -> None:
    r = Root(tmp_path / "root")
    r.file("/etc/ssl/certs/ca-certificates.crt", os.urandom(1 << 20))
    r.file("/etc/ssl/certs/flood.pem", b"-----BEGIN X-----\n-----END X-----\n" * 100_000 + A.pem)
    t0 = time.monotonic()
    s = stores(r, ["go", "openssl"])
    assert time.monotonic() - t0 < 10
    assert not has(s["go"], A)  # past the 20,000-block scan limit: said so
    f = next(f for f in s["go"].findings if f.code.value == "store-limit")
    assert f.params["path"] == "/etc/ssl/certs/flood.pem"
    assert f.params["reason"] == "too-many-pem-blocks"


@pytest.mark.slow
def test_a_directory_of_100000_files(tmp_path: Path) -> None:
    r = Root(tmp_path / "root")
    d = r.dir("/etc/ssl/certs")
    for i in range(100_000):
        os.close(os.open(d / f"f{i:06d}.pem", os.O_CREAT | os.O_WRONLY, 0o644))
    (d / "0-ca.pem").write_bytes(A.pem)
    t0 = time.monotonic()
    s = stores(r, ["go", "openssl"])
    elapsed = time.monotonic() - t0
    assert elapsed < 15, elapsed
    go = s["go"]
    f = next(f for f in go.findings if f.code.value == "store-limit")
    assert f.params["reason"] == "too-many-entries"
    assert f.params["entries"] == MAX_DIR_ENTRIES
    assert next(x for x in go.sources if x.path == "/etc/ssl/certs").status.value == "truncated"


def test_deep_anchor_directory_is_bounded(tmp_path: Path) -> None:
    r = Root(tmp_path / "root")
    debian(r, [A])
    p = "/usr/local/share/ca-certificates"
    for i in range(40):
        p += f"/d{i}"
    r.file(p + "/deep.crt", B.pem)
    s = stores(r, ["go"])["go"]
    assert not has(s, B) and not s.pending  # below the walk's depth limit: not even looked at


# -- images ------------------------------------------------------------------------------------


def test_image_inventory_uses_the_image_env(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = layer(
        [
            ("file", "etc/os-release", 'ID=debian\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n'),
            ("file", "etc/ssl/certs/ca-certificates.crt", bundle([A])),
            ("file", "opt/app/ca.pem", C.pem),
            ("file", "usr/local/share/ca-certificates/old.crt", B.pem),
        ]
    )
    top = layer([("whiteout", "usr/local/share/ca-certificates", "old.crt")])
    img = docker_save(
        tmp_path / "img.tar",
        [base, top],
        env=("PATH=/usr/bin", "SSL_CERT_FILE=/opt/app/ca.pem"),
        outer_gzip=True,
    )
    code = main(["stores", "--image", str(img), "--client", "go", "--format", "json", "--anchors"])
    data = json.loads(capsys.readouterr().out)
    assert code == 0
    assert data["root"] == f"--image {img}"
    assert data["environment"] == {
        "origin": "image",
        "given": False,
        "trust_variables": ["SSL_CERT_FILE"],
    }
    go = data["clients"][0]
    assert {a["sha256"] for a in go["anchors"]} == {fp(A), fp(C)}  # A: /etc/ssl/certs is still read
    assert not go["pending"]  # old.crt was deleted by a whiteout


@pytest.mark.parametrize("member", ["../../evil.pem", "/etc/evil.pem"])
def test_image_traversal_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], member: str
) -> None:
    img = docker_save(tmp_path / "img.tar", [layer([("file", member, A.pem)])])
    code = main(["stores", "--image", str(img)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "evil.pem").exists() and not Path("/etc/evil.pem").exists()


def test_not_an_image(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    junk = tmp_path / "junk.tar"
    junk.write_bytes(b"not a tar at all" * 100)
    code = main(["stores", "--image", str(junk)])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("trustdoctor: ") and err.count("\n") == 1
