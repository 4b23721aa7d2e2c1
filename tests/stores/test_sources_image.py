"""extract_image: docker save and OCI archives built for real with tarfile."""

from __future__ import annotations

import gzip
import io
import json
import os
import platform
import stat
import tarfile
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from helpers import DOCS
from helpers.images import docker_save, layer, oci_layout
from trustdoctor.errors import InputError, UnsafePathError
from trustdoctor.lab import pki
from trustdoctor.sources.image import TRUST_PATHS, ExtractedImage, extract_image

CA = pki.make_cert("Image Test Root CA").pem
BUNDLE = CA + pki.make_cert("Image Test Other CA").pem


@pytest.fixture(autouse=True)
def private_tmpdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Extraction temp dirs go to a directory we can inspect, and must vanish."""
    d = tmp_path / "tmpdir"
    d.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(d))
    yield d
    assert list(d.iterdir()) == [], "extract_image left files behind"


def files_under(root: Path) -> dict[str, str]:
    """Every entry under root: path -> 'file' | 'dir' | 'link:<target>'."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for n in dirnames + filenames:
            p = Path(dirpath) / n
            rel = str(p.relative_to(root))
            if p.is_symlink():
                out[rel] = "link:" + os.readlink(p)
            elif p.is_dir():
                out[rel] = "dir"
            else:
                out[rel] = "file"
    return out


BASE = [
    ("dir", "etc"),
    ("file", "etc/os-release", 'ID=debian\nVERSION_ID="12"\n'),
    ("file", "etc/passwd", "root:x:0:0::/root:/bin/sh\n"),
    ("file", "etc/shadow", "root:IMAGE-SHADOW:1::::::\n"),
    ("dir", "etc/ssl"),
    ("dir", "etc/ssl/certs"),
    ("file", "etc/ssl/certs/ca-certificates.crt", BUNDLE),
    ("symlink", "etc/ssl/cert.pem", "certs/ca-certificates.crt"),
    ("dir", "usr/share/ca-certificates/mozilla"),
    ("file", "usr/share/ca-certificates/mozilla/Test_Root.crt", CA),
    ("symlink", "etc/ssl/certs/Test_Root.pem", "/usr/share/ca-certificates/mozilla/Test_Root.crt"),
    ("symlink", "etc/ssl/certs/1a2b3c4d.0", "Test_Root.pem"),
    ("file", "usr/bin/app", b"\x7fELF not trust"),
    ("dir", "usr/lib/ssl"),
    ("symlink", "usr/lib/ssl/certs", "/etc/ssl/certs"),
    ("file", "usr/lib/python3.11/site-packages/certifi/cacert.pem", CA),
    ("file", "usr/lib/python3.11/site-packages/requests/api.py", "x"),
]


def check_base(img: ExtractedImage) -> None:
    root = img.root
    assert (root / "etc/ssl/certs/ca-certificates.crt").read_bytes() == BUNDLE
    assert (root / "etc/os-release").read_text().startswith("ID=debian")
    assert (root / "usr/lib/python3.11/site-packages/certifi/cacert.pem").read_bytes() == CA
    # Links are links, resolving inside the root.
    assert (root / "etc/ssl/cert.pem").is_symlink()
    assert (root / "etc/ssl/cert.pem").read_bytes() == BUNDLE
    assert (root / "etc/ssl/certs/1a2b3c4d.0").read_bytes() == CA
    assert (root / "usr/lib/ssl/certs/ca-certificates.crt").read_bytes() == BUNDLE
    assert img.links["usr/lib/ssl/certs"] == "/etc/ssl/certs"
    assert img.links["etc/ssl/certs/Test_Root.pem"].startswith("/usr/share/")
    # Only trust files: no passwd, no binaries, no unrelated python.
    for absent in (
        "etc/passwd",
        "etc/shadow",
        "usr/bin/app",
        "usr/lib/python3.11/site-packages/requests",
    ):
        assert not (root / absent).exists(), absent
    mode = stat.S_IMODE(os.stat(root.parent).st_mode)
    assert mode == 0o700


@pytest.mark.parametrize("outer_gzip", [False, True])
@pytest.mark.parametrize("compress", [None, "gzip"])
def test_docker_save(tmp_path: Path, outer_gzip: bool, compress: str | None) -> None:
    path = docker_save(
        tmp_path / "img.tar",
        [layer(BASE, compress)],
        env=["PATH=/usr/bin", "SSL_CERT_DIR=/etc/ssl/certs", "PATH=/second/ignored"],
        outer_gzip=outer_gzip,
    )
    with extract_image(path) as img:
        check_base(img)
        assert img.format == "docker-save"
        assert img.reference == "example/app:1"
        assert img.env == {"PATH": "/usr/bin", "SSL_CERT_DIR": "/etc/ssl/certs"}
        assert img.config["os"] == "linux"
        assert img.layers == 1
        kept = img.root
    assert not kept.exists()


@pytest.mark.parametrize("outer_gzip", [False, True])
@pytest.mark.parametrize("multi_arch", [False, True])
def test_oci_layout(tmp_path: Path, outer_gzip: bool, multi_arch: bool) -> None:
    host = {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())
    path = oci_layout(
        tmp_path / "oci.tar",
        [layer(BASE[:8], "gzip"), layer(BASE[8:])],
        env=["NODE_EXTRA_CA_CERTS=/opt/corp/ca.pem"],
        outer_gzip=outer_gzip,
        multi_arch=multi_arch,
        arch=host,
    )
    with extract_image(path) as img:
        check_base(img)
        assert img.format == "oci"
        assert img.layers == 2
        assert img.env == {"NODE_EXTRA_CA_CERTS": "/opt/corp/ca.pem"}
        assert img.reference == "example/app:oci"
        assert not (img.root / "etc/ssl/certs/DECOY.pem").exists()


def test_whiteouts_and_opaque_dirs(tmp_path: Path) -> None:
    l1 = layer(
        [
            ("file", "usr/local/share/ca-certificates/a.crt", CA),
            ("file", "usr/local/share/ca-certificates/b.crt", CA),
            ("file", "etc/ssl/certs/x.pem", CA),
            ("file", "etc/ssl/certs/sub/y.pem", CA),
            ("file", "etc/pki/ca-trust/source/anchors/gone.pem", CA),
        ]
    )
    l2 = layer(
        [
            ("whiteout", "usr/local/share/ca-certificates", "a.crt"),
            # New entry first, opaque marker after it: same-layer entries survive.
            ("file", "etc/ssl/certs/z.pem", CA),
            ("opaque", "etc/ssl/certs"),
            ("whiteout", "etc/pki", "ca-trust"),
        ],
        "gzip",
    )
    l3 = layer([("file", "etc/pki/ca-trust/source/anchors/new.pem", CA)])
    with extract_image(docker_save(tmp_path / "i.tar", [l1, l2, l3])) as img:
        tree = files_under(img.root)
    assert "usr/local/share/ca-certificates/b.crt" in tree
    assert "usr/local/share/ca-certificates/a.crt" not in tree
    assert "etc/ssl/certs/z.pem" in tree
    assert "etc/ssl/certs/x.pem" not in tree
    assert "etc/ssl/certs/sub" not in tree
    assert "etc/pki/ca-trust/source/anchors/new.pem" in tree
    assert "etc/pki/ca-trust/source/anchors/gone.pem" not in tree
    assert not any(".wh." in p for p in tree)


def test_later_layer_replaces_dir_with_link_and_link_with_dir(tmp_path: Path) -> None:
    l1 = layer(
        [
            ("file", "etc/ssl/certs/old.pem", CA),
            ("file", "etc/pki/tls/certs/ca-bundle.crt", BUNDLE),
            ("symlink", "etc/pki/tls/cert.pem", "certs/ca-bundle.crt"),
        ]
    )
    l2 = layer(
        [
            ("symlink", "etc/ssl/certs", "/etc/pki/tls/certs"),  # replaces the directory
            ("dir", "etc/pki/tls/cert.pem"),  # a directory replaces the link
        ]
    )
    with extract_image(docker_save(tmp_path / "i.tar", [l1, l2])) as img:
        tree = files_under(img.root)
        assert tree["etc/ssl/certs"].startswith("link:")
        assert (img.root / "etc/ssl/certs/ca-bundle.crt").read_bytes() == BUNDLE
        assert tree["etc/pki/tls/cert.pem"] == "dir"
    assert "etc/ssl/certs/old.pem" not in tree


def test_symlink_chains_java_and_alias_dirs(tmp_path: Path) -> None:
    jks = b"\xfe\xed\xfe\xed fake"
    entries = [
        ("file", "etc/ssl/certs/java/cacerts", jks),
        ("dir", "usr/lib/jvm/java-17-openjdk-amd64/lib/security"),
        (
            "symlink",
            "usr/lib/jvm/java-17-openjdk-amd64/lib/security/cacerts",
            "/etc/ssl/certs/java/cacerts",
        ),
        ("file", "usr/lib/jvm/java-17-openjdk-amd64/lib/libjava.so", b"elf"),
        # An alias directory (not itself a trust path) that leads to trust files.
        ("symlink", "usr/lib/jvm/default-java", "java-17-openjdk-amd64"),
        ("symlink", "usr/lib/jvm/java-1.17", "default-java"),
        ("symlink", "usr/lib/libfoo.so", "libfoo.so.1"),  # irrelevant link: not written
        ("file", "opt/java/openjdk/lib/security/cacerts", b"temurin"),
        ("file", "opt/java/openjdk/lib/modules", b"x" * 1000),
    ]
    with extract_image(docker_save(tmp_path / "i.tar", [layer(entries)])) as img:
        r = img.root
        assert (r / "usr/lib/jvm/java-1.17/lib/security/cacerts").read_bytes() == jks
        assert (r / "usr/lib/jvm/default-java").is_symlink()
        assert (r / "opt/java/openjdk/lib/security/cacerts").read_bytes() == b"temurin"
        assert not (r / "usr/lib/libfoo.so").is_symlink()
        assert not (r / "opt/java/openjdk/lib/modules").exists()
        assert not (r / "usr/lib/jvm/java-17-openjdk-amd64/lib/libjava.so").exists()


def test_env_named_paths_and_extra_paths(tmp_path: Path) -> None:
    entries = [
        ("file", "app/certs/corp.pem", CA),
        ("file", "srv/java/truststore.p12", b"p12"),
        ("file", "opt/jdk/lib/security/cacerts", b"jks"),
        ("file", "data/dir/one.pem", CA),
        ("file", "data/dir/deeper/two.pem", CA),
        ("file", "elsewhere/wanted.pem", CA),
        ("file", "elsewhere/unwanted.pem", CA),
    ]
    env = [
        "SSL_CERT_FILE=certs/corp.pem",  # relative to WorkingDir
        "JAVA_TOOL_OPTIONS=-Xmx1g -Djavax.net.ssl.trustStore=/srv/java/truststore.p12",
        "JAVA_HOME=/opt/jdk",
        "SSL_CERT_DIR=/nonexistent:/data/dir",
    ]
    path = docker_save(tmp_path / "i.tar", [layer(entries)], env=env, workdir="/app")
    with extract_image(path, extra_paths=["/elsewhere/wanted.pem"]) as img:
        tree = files_under(img.root)
    for p in (
        "app/certs/corp.pem",
        "srv/java/truststore.p12",
        "opt/jdk/lib/security/cacerts",
        "data/dir/one.pem",
        "elsewhere/wanted.pem",
    ):
        assert tree.get(p) == "file", p
    assert "data/dir/deeper/two.pem" not in tree  # SSL_CERT_DIR is not recursive
    assert "elsewhere/unwanted.pem" not in tree


def test_hard_links_resolved_inside_the_image(tmp_path: Path) -> None:
    entries = [
        ("file", "usr/share/blob/data.pem", CA),  # not a trust path
        ("hardlink", "etc/ssl/certs/hl.pem", "usr/share/blob/data.pem"),
        ("file", "etc/ssl/certs/real.pem", BUNDLE),
        ("hardlink", "etc/ssl/certs/hl2.pem", "etc/ssl/certs/real.pem"),
        ("hardlink", "etc/ssl/certs/dangling.pem", "no/such/file"),
    ]
    with extract_image(docker_save(tmp_path / "i.tar", [layer(entries)])) as img:
        assert (img.root / "etc/ssl/certs/hl.pem").read_bytes() == CA
        assert (img.root / "etc/ssl/certs/hl2.pem").read_bytes() == BUNDLE
        assert not (img.root / "etc/ssl/certs/dangling.pem").exists()
        assert any("no/such/file" in w for w in img.warnings)


def test_devices_and_fifos_skipped(tmp_path: Path) -> None:
    entries = [
        ("chr", "etc/ssl/certs/null"),
        ("fifo", "etc/ssl/certs/pipe"),
        ("file", "etc/ssl/certs/a.pem", CA),
    ]
    with extract_image(docker_save(tmp_path / "i.tar", [layer(entries)])) as img:
        assert files_under(img.root / "etc/ssl/certs") == {"a.pem": "file"}


# -- hostile images --------------------------------------------------------------


def test_hostile_links_never_reach_the_host(tmp_path: Path) -> None:
    entries = [
        ("file", "etc/shadow", "root:IMAGE-SHADOW:1::::::\n"),
        ("symlink", "etc/ssl/certs/abs.pem", "/etc/shadow"),
        ("symlink", "etc/ssl/certs/up.pem", "../../../../../../../../etc/shadow"),
        ("symlink", "etc/ssl/certs/mid.pem", "sub/../../../../../../../etc/shadow"),
        ("dir", "etc/ssl/certs/sub"),
        ("symlink", "etc/ssl/certs/root", "/"),
        ("symlink", "etc/ssl/certs/loop1", "loop2"),
        ("symlink", "etc/ssl/certs/loop2", "loop1"),
        ("symlink", "etc/ssl/certs/gone.pem", "/usr/share/ca-certificates/missing.crt"),
    ]
    with extract_image(docker_save(tmp_path / "i.tar", [layer(entries)])) as img:
        root = img.root.resolve()
        certs = img.root / "etc/ssl/certs"
        for name in ("abs.pem", "up.pem", "mid.pem"):
            p = certs / name
            assert p.is_symlink()
            real = Path(os.path.realpath(p))
            assert real.is_relative_to(root), (name, real)
            # The image's own shadow, fetched by a second pass; never the host's.
            assert b"IMAGE-SHADOW" in p.read_bytes()
        assert Path(os.path.realpath(certs / "root")) == root
        assert not (certs / "loop1").exists()
        assert not (certs / "gone.pem").exists() and (certs / "gone.pem").is_symlink()
        assert Path(os.path.realpath(certs / "gone.pem")).is_relative_to(root)
        assert img.links["etc/ssl/certs/abs.pem"] == "/etc/shadow"
        assert any("loops" in w for w in img.warnings)


@pytest.mark.parametrize(
    "bad",
    [
        ("file", "../../tmp/{evil}", "evil"),
        ("file", "/tmp/{evil}", "evil"),
        ("file", "etc/ssl/../../../tmp/{evil}", "evil"),
        ("hardlink", "etc/ssl/certs/x.pem", "../../../tmp/{evil}"),
        ("hardlink", "etc/ssl/certs/x.pem", "/tmp/{evil}"),
    ],
)
def test_traversal_refuses_the_whole_image(
    tmp_path: Path, bad: tuple[str, ...], private_tmpdir: Path
) -> None:
    evil = f"trustdoctor-evil-{uuid.uuid4().hex}"
    bad = tuple(x.replace("{evil}", evil) for x in bad)
    entries = [("file", "etc/ssl/certs/ok.pem", CA), bad, ("file", "etc/ssl/certs/after.pem", CA)]
    path = docker_save(tmp_path / "i.tar", [layer(entries)])
    with pytest.raises(UnsafePathError) as ei, extract_image(path):
        pass
    msg = str(ei.value)
    assert "\n" not in msg and "image refused" in msg and "i.tar" in msg
    assert not Path("/tmp", evil).exists()
    assert not list(tmp_path.rglob(evil)) and not list(Path("/tmp").glob(evil))


def test_member_below_a_symlink_is_not_written_through_it(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    l1 = layer(
        [
            ("symlink", "etc/ssl", str(outside)),
            ("symlink", "etc/pki", "../../../../" + str(outside)),
        ]
    )
    l2 = layer([("file", "etc/ssl/certs/planted.pem", CA), ("file", "etc/pki/tls/planted.pem", CA)])
    with extract_image(docker_save(tmp_path / "i.tar", [l1, l2])) as img:
        assert (img.root / "etc/ssl").is_symlink()
        assert sum("not written through" in w for w in img.warnings) == 2
        assert Path(os.path.realpath(img.root / "etc/ssl")).is_relative_to(img.root.resolve())
    assert list(outside.iterdir()) == []


def test_gzip_bomb_stops_early(tmp_path: Path) -> None:
    # 256 MiB of zeros inside a ~250 KiB gzip layer.
    buf = io.BytesIO()
    ti = tarfile.TarInfo("usr/share/bomb")
    ti.size = 256 * 1024 * 1024
    with tarfile.open(fileobj=buf, mode="w") as tf:
        tf.addfile(ti)  # header only; then the zeros by hand
    header = buf.getvalue()[:512]
    gz = io.BytesIO()
    with gzip.GzipFile(fileobj=gz, mode="wb", compresslevel=6, mtime=0) as g:
        g.write(header)
        chunk = bytes(1024 * 1024)
        for _ in range(256):
            g.write(chunk)
        g.write(bytes(1024))
    path = docker_save(tmp_path / "bomb.tar", [gz.getvalue()])
    assert path.stat().st_size < 2 * 1024 * 1024
    t0 = time.monotonic()
    with (
        pytest.raises(InputError, match="compression bomb"),
        extract_image(path, max_total=32 * 1024 * 1024),
    ):
        pass
    assert time.monotonic() - t0 < 5


def test_outer_gzip_bomb_stops_early(tmp_path: Path) -> None:
    gz = io.BytesIO()
    with gzip.GzipFile(fileobj=gz, mode="wb", compresslevel=6, mtime=0) as g:
        for _ in range(64):
            g.write(bytes(1024 * 1024))
    path = tmp_path / "bomb.tar.gz"
    path.write_bytes(gz.getvalue())
    with (
        pytest.raises(InputError, match="compression bomb"),
        extract_image(path, max_total=8 * 1024 * 1024),
    ):
        pass


def test_oversized_trust_file_is_an_error(tmp_path: Path) -> None:
    big = ("file", "etc/ssl/certs/huge.pem", b"A" * (2 * 1024 * 1024))
    path = docker_save(tmp_path / "i.tar", [layer([big])])
    with (
        pytest.raises(InputError, match=r"huge\.pem.*limit"),
        extract_image(path, max_member=1024 * 1024),
    ):
        pass
    with pytest.raises(InputError, match="in all"), extract_image(path, max_extracted=1024 * 1024):
        pass
    # Large non-trust files cost reading time only, never memory or disk.
    other = ("file", "usr/share/big.bin", b"B" * (2 * 1024 * 1024))
    with extract_image(docker_save(tmp_path / "j.tar", [layer([other])]), max_member=1024) as img:
        assert img.files == 0


def test_huge_member_count_is_bounded(tmp_path: Path) -> None:
    entries = [("file", f"usr/share/doc/f{i}", b"") for i in range(5000)]
    path = docker_save(tmp_path / "i.tar", [layer(entries, "gzip")])
    t0 = time.monotonic()
    with (
        pytest.raises(InputError, match="more than 2000 tar members"),
        extract_image(path, max_members=2000),
    ):
        pass
    assert time.monotonic() - t0 < 2
    with extract_image(path) as img:  # under the default limit it just works
        assert img.files == 0


def test_zstd_layer_without_a_decoder_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    zstd_frame = b"\x28\xb5\x2f\xfd" + b"\x00" * 32
    path = docker_save(tmp_path / "z.tar", [zstd_frame])
    # Neither Python 3.14's compression.zstd nor the zstandard package.
    monkeypatch.setitem(sys.modules, "zstandard", None)
    monkeypatch.setitem(sys.modules, "compression.zstd", None)
    with pytest.raises(InputError, match=r"zstd-compressed.*zstandard") as ei, extract_image(path):
        pass
    assert "\n" not in str(ei.value)


def test_zstd_layers_with_the_zstandard_package(tmp_path: Path) -> None:
    zstandard = pytest.importorskip("zstandard", reason="the optional zstandard package")
    data = zstandard.ZstdCompressor(level=3).compress(layer(BASE))
    path = oci_layout(
        tmp_path / "z.tar",
        [data],
        layer_media_type="application/vnd.oci.image.layer.v1.tar+zstd",
    )
    with extract_image(path) as img:
        check_base(img)
    # A corrupt frame is a one-line InputError, not the package's own exception.
    bad = docker_save(tmp_path / "bad.tar", [data[: len(data) // 2] + bytes(64)])
    with pytest.raises(InputError, match="layer 1") as ei, extract_image(bad):
        pass
    assert "\n" not in str(ei.value)
    # A frame asking for a 2 GiB window is refused, not allocated.
    huge_window = b"\x28\xb5\x2f\xfd" + bytes([0x00, 0xF8]) + bytes(16)
    with pytest.raises(InputError), extract_image(docker_save(tmp_path / "w.tar", [huge_window])):
        pass


def _corrupt_cases(tmp_path: Path) -> list[tuple[str, Path]]:
    good = docker_save(tmp_path / "good.tar", [layer(BASE, "gzip")], outer_gzip=True)
    raw = good.read_bytes()
    plain = gzip.decompress(raw)
    cases = []

    def put(name: str, data: bytes) -> None:
        p = tmp_path / name
        p.write_bytes(data)
        cases.append((name, p))

    put("empty.tar", b"")
    put("garbage.tar", os.urandom(4096))
    put("text.tar", b"hello world\n" * 100)
    put("trunc.tar.gz", raw[: len(raw) // 2])
    put("trunc-plain.tar", plain[: len(plain) // 3])
    put("noimage.tar", layer([("file", "hello", "x")]))
    cases.append(("badjson.tar", docker_save(tmp_path / "badjson.tar", [], manifest="{nope")))
    cases.append(("notlist.tar", docker_save(tmp_path / "notlist.tar", [], manifest={"a": 1})))
    cases.append(
        (
            "nolayer.tar",
            docker_save(
                tmp_path / "nolayer.tar", [], manifest=[{"Config": "x.json", "Layers": []}]
            ),
        )
    )
    # A layer that is not a tar (gzip of text), and a truncated gzip layer.
    cases.append(
        (
            "badlayer.tar",
            docker_save(tmp_path / "badlayer.tar", [gzip.compress(b"not a tar" * 100)]),
        )
    )
    glayer = layer(BASE, "gzip")
    cases.append(
        ("trunclayer.tar", docker_save(tmp_path / "trunclayer.tar", [glayer[: len(glayer) // 2]]))
    )
    return cases


def test_corrupt_inputs_are_one_line_errors(tmp_path: Path) -> None:
    for name, path in _corrupt_cases(tmp_path):
        with pytest.raises(InputError) as ei, extract_image(path):
            pass
        msg = str(ei.value)
        assert "\n" not in msg and name in msg, (name, msg)
    with pytest.raises(InputError, match="no such file"), extract_image(tmp_path / "absent.tar"):
        pass
    with pytest.raises(InputError, match="directory"), extract_image(tmp_path):
        pass


def test_oci_bad_digest_and_missing_blob(tmp_path: Path) -> None:
    path = oci_layout(tmp_path / "o.tar", [layer(BASE)])
    data = path.read_bytes()
    # Point index.json at a digest with a path in it.
    with tarfile.open(path) as tf:
        index = json.loads(tf.extractfile("index.json").read())  # type: ignore[union-attr]
    for digest, expect in (
        ("sha256:../../../etc/passwd", "malformed digest"),
        ("sha256:" + "0" * 64, "missing"),
    ):
        index["manifests"][0]["digest"] = digest
        out = io.BytesIO()
        with (
            tarfile.open(fileobj=io.BytesIO(data)) as src,
            tarfile.open(fileobj=out, mode="w") as dst,
        ):
            for m in src.getmembers():
                if m.name == "index.json":
                    body = json.dumps(index).encode()
                    m.size = len(body)
                    dst.addfile(m, io.BytesIO(body))
                else:
                    dst.addfile(m, src.extractfile(m))
        bad = tmp_path / "bad.tar"
        bad.write_bytes(out.getvalue())
        with pytest.raises(InputError, match=expect), extract_image(bad):
            pass


def test_trust_paths_table_is_absolute_and_documented() -> None:
    assert all(p.startswith(("/", "**/")) for p in TRUST_PATHS)
    docs = (DOCS / "stores-inputs.md").read_text()
    for p in ("/etc/ssl/**", "/etc/pki/**", "/etc/docker/certs.d/**", "**/site-packages/certifi/*"):
        assert p in TRUST_PATHS and p in docs


def test_fifty_megabyte_image_is_quick(tmp_path: Path) -> None:
    """~50 MB uncompressed, 4 gzip layers, ~8,000 members: a couple of seconds at most."""
    rnd = os.urandom(1024 * 1024)
    layers = []
    for n in range(4):
        entries: list[tuple[object, ...]] = [
            ("file", f"usr/lib/blob{n}/big{i}.bin", rnd) for i in range(10)
        ]
        entries += [("file", f"usr/share/doc/p{n}/f{i}.txt", b"text " * 100) for i in range(2000)]
        entries += [("file", f"etc/ssl/certs/c{n}-{i}.pem", CA) for i in range(50)]
        layers.append(layer(entries, "gzip"))
    path = docker_save(tmp_path / "big.tar", layers)
    t0 = time.monotonic()
    with extract_image(path) as img:
        elapsed = time.monotonic() - t0
        assert img.files == 200
    assert elapsed < 6, f"extraction took {elapsed:.2f}s"


def _count_passes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    from trustdoctor.sources import image as image_mod

    calls: list[int] = []
    real = image_mod._Extractor._apply

    def counting(self: object, *a: object, **kw: object) -> object:
        calls.append(1)
        return real(self, *a, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(image_mod._Extractor, "_apply", counting)
    return calls


def test_paths_behind_merged_usr_links(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """/bin -> usr/bin: '/bin/sh' means usr/bin/sh, and nothing else of /usr/bin."""
    base = layer(
        [
            ("symlink", "bin", "usr/bin"),
            ("symlink", "lib", "usr/lib"),
            ("file", "usr/bin/bash", b"BASH"),
            ("file", "usr/bin/other", b"x" * 1000),
            ("symlink", "usr/bin/sh", "bash"),  # the target comes first: kept speculatively
            ("file", "usr/lib/libcrypto.so.3", b"CRYPTO"),
            ("file", "usr/lib/libz.so.1", b"Z"),
        ]
    )
    passes = _count_passes(monkeypatch)
    path = docker_save(tmp_path / "i.tar", [base])
    with extract_image(path, extra_paths=["/bin/sh", "/lib/libcrypto.so*"]) as img:
        assert (img.root / "bin/sh").read_bytes() == b"BASH"
        assert (img.root / "lib/libcrypto.so.3").read_bytes() == b"CRYPTO"
        tree = files_under(img.root)
    assert "usr/bin/other" not in tree and "usr/lib/libz.so.1" not in tree
    assert len(passes) == 1


def test_target_before_its_link_in_one_pass(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = layer(
        [
            ("file", "usr/bin/dash", b"DASH"),  # walk order puts dash before sh
            ("file", "usr/bin/zsh", b"ZSH"),
            ("symlink", "usr/bin/sh", "dash"),
            ("symlink", "bin", "usr/bin"),  # and the dir link after both
        ]
    )
    passes = _count_passes(monkeypatch)
    with extract_image(docker_save(tmp_path / "i.tar", [base]), extra_paths=["/bin/sh"]) as img:
        assert (img.root / "bin/sh").read_bytes() == b"DASH"
        assert "usr/bin/zsh" not in files_under(img.root)
    assert len(passes) == 2  # "bin" comes last here: usr/bin was not known to matter


def test_link_target_outside_wanted_dirs_costs_one_rescan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = layer(
        [
            ("file", "opt/vendor/ca.pem", CA),
            ("symlink", "etc/ssl/certs/vendor.pem", "/opt/vendor/ca.pem"),
        ]
    )
    passes = _count_passes(monkeypatch)
    with extract_image(docker_save(tmp_path / "i.tar", [base])) as img:
        assert (img.root / "etc/ssl/certs/vendor.pem").read_bytes() == CA
    assert len(passes) == 2
