"""Node's bundled roots are read out of the installed node binary (issue 11).

Oracle: the real ``node`` prints ``tls.rootCertificates``; the model's
bundled anchors are exactly those certificates.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import warnings
from pathlib import Path

import pytest
from cryptography import x509

from helpers.stores import Root, ca, debian, stores
from trustdoctor.stores.node import compiled_roots

NODE = shutil.which("node")
A, B, C = ca("Node Binary Root A"), ca("Node Binary Root B"), ca("Node Binary Root C")


def _fp(pem: bytes) -> str:
    from cryptography.hazmat.primitives.serialization import Encoding

    with warnings.catch_warnings():  # a Mozilla root with a negative serial number
        warnings.simplefilter("ignore")
        der = x509.load_pem_x509_certificate(pem).public_bytes(Encoding.DER)
    return hashlib.sha256(der).hexdigest()


def _real_node_roots() -> set[str]:
    """SHA-256 fingerprints of what the installed node prints as tls.rootCertificates."""
    assert NODE is not None
    out = subprocess.run(
        [NODE, "-e", "console.log(JSON.stringify(require('tls').rootCertificates))"],
        capture_output=True, text=True, timeout=60, check=True, env={"PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    return {_fp(p.encode()) for p in json.loads(out.stdout)}


def test_roots_compiled_into_a_binary_are_the_bundled_store(tmp_path: Path) -> None:
    r = Root(tmp_path / "r")
    debian(r, [C])
    blob = b"\x7fELF" + b"\x00" * 1000 + A.pem + b"\x00garbage\x00" + B.pem + b"\x00" * 50
    blob += b"-----BEGIN CERTIFICATE-----\nnot base64 at all"  # a torn block: ignored
    r.file("/usr/bin/node", blob, 0o755)
    s = stores(r, ["node"])["node"]
    src = next(x for x in s.sources if x.kind == "bundled")
    assert src.path == "/usr/bin/node" and src.count == 2
    assert "stand-in" not in (src.detail or "")
    fps = {a.cert.sha256 for a in s.anchors.anchors}
    assert {A.cert.fingerprint(_sha()).hex(), B.cert.fingerprint(_sha()).hex()} <= fps
    assert C.cert.fingerprint(_sha()).hex() not in fps  # the OS store is not read by default


def _elf64(sections: list[tuple[str, bytes]]) -> bytes:
    """A little-endian ELF64 file with these sections (their bytes in order after
    the header), a section name table and the section headers at the end."""
    import struct

    names = b"\0" + b"".join(n.encode() + b"\0" for n, _ in sections) + b".shstrtab\0"
    body = bytearray(b"\0" * 64)
    heads = [struct.pack("<IIQQQQIIQQ", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)]
    at = 1
    for name, data in [*sections, (".shstrtab", names)]:
        heads.append(struct.pack("<IIQQQQIIQQ", at, 1, 0, 0, len(body), len(data), 0, 0, 1, 0))
        at += len(name) + 1
        body += data
    shoff = len(body)
    ident = b"\x7fELF\x02\x01\x01" + b"\0" * 9
    head = ident + struct.pack("<HHIQQQIHHHHHH", 2, 62, 1, 0, 0, shoff, 0, 64, 0, 0, 64,
                               len(heads), len(heads) - 1)  # fmt: skip
    body[:64] = head
    return bytes(body) + b"".join(heads)


def test_roots_are_read_from_rodata_else_from_the_whole_program(tmp_path: Path) -> None:
    """In an ELF program only .rodata holds the compiled roots (string literals):
    a PEM block elsewhere (a test vector in .data) is not a root; with no
    .rodata, or none there, the whole file is searched as for any program."""
    from trustdoctor.stores.binaries import section_span

    program = _elf64([(".text", b"\x90" * 300), (".rodata", b"x" + A.pem + b"\0" + B.pem),
                      (".data", b"\0" + C.pem)])  # fmt: skip
    start, end = section_span(program, ".rodata") or (0, 0)
    assert program[start:end] == b"x" + A.pem + b"\0" + B.pem
    assert section_span(program, ".nothing") is None
    assert section_span(b"\x7fELF" + b"\xff" * 100, ".rodata") is None  # garbage headers
    cases = {
        "rodata": (program, [A, B]),
        "elsewhere": (_elf64([(".rodata", b"no roots"), (".data", C.pem)]), [C]),
        "no-sections": (b"\x7fELF" + b"\0" * 200 + C.pem, [C]),
    }
    for name, (blob, want) in cases.items():
        r = Root(tmp_path / name)
        debian(r, [])
        r.file("/usr/bin/node", blob, 0o755)
        s = stores(r, ["node"])["node"]
        src = next(x for x in s.sources if x.kind == "bundled")
        assert src.path == "/usr/bin/node" and src.count == len(want), name
        fps = {a.cert.sha256 for a in s.anchors.anchors}
        assert fps == {x.cert.fingerprint(_sha()).hex() for x in want}, name


def test_without_a_node_binary_certifi_stands_in(tmp_path: Path) -> None:
    r = Root(tmp_path / "r")
    debian(r, [C])
    r.file("/usr/lib/node_modules/npm/package.json", "{}")
    s = stores(r, ["node"])["node"]
    src = next(x for x in s.sources if x.kind == "bundled")
    assert "stand-in" in (src.detail or "")


@pytest.mark.oracle
@pytest.mark.skipif(NODE is None, reason="node is not installed")
def test_bundled_roots_equal_the_real_nodes() -> None:
    assert NODE is not None
    real = _real_node_roots()
    from trustdoctor.stores import build_context

    exe = str(Path(NODE).resolve())
    with build_context(root="/", env={}) as ctx:
        from dataclasses import replace

        found = compiled_roots(replace(ctx, process_exe=exe))
    assert found is not None
    data, path = found
    assert path == exe
    ours = {_fp(b"-----BEGIN CERTIFICATE-----" + block) for block in
            data.split(b"-----BEGIN CERTIFICATE-----")[1:]}  # fmt: skip
    assert ours == real and len(real) > 100


def _sha():
    from cryptography.hazmat.primitives import hashes

    return hashes.SHA256()


# -- in an image: the node program is kept only as what the model reads of it -------------------

CHUNK = 1024 * 1024  # sources.image reads a reduced member in chunks of this size


def _program(size: int, blocks: list[tuple[int, bytes]], tail: bytes = b"") -> bytes:
    """``size`` bytes of a pretend ELF program with ``blocks`` at their offsets."""
    out = bytearray(b"\x7fELF" + b"\x00" * (size - 4))
    for offset, data in blocks:
        out[offset : offset + len(data)] = data
    return bytes(out) + tail


def _node_store(**where: object) -> tuple[set[str], list[tuple[str, str, int]]]:
    """The node model's anchors (fingerprints) and sources, for a root or an image."""
    from trustdoctor.stores import build_context
    from trustdoctor.stores.inspect import inspect_stores

    with build_context(env={}, **where) as ctx:  # type: ignore[arg-type]
        s = next(iter(inspect_stores(ctx, ["node"])))
    fps = {a.cert.sha256 for a in s.anchors.anchors}
    return fps, [(x.kind, x.path, x.count) for x in s.sources]


def test_image_node_program_is_read_not_stood_in(tmp_path: Path) -> None:
    """An official-image layout: /usr/local/bin/node of 70 MB (over the 64 MB limit
    for a kept file), one root across the boundary between two chunks, one
    near the end, and OPENSSLDIR.  The image and the same tree as a root give
    the same store; the program is not refused and not replaced by certifi."""
    from helpers.images import docker_save, layer_from_dir
    from trustdoctor.stores import build_context
    from trustdoctor.stores.inspect import inspect_stores

    size = 70 * CHUNK
    program = _program(
        size,
        [
            (CHUNK - 700, A.pem),  # straddles the first chunk boundary
            (40 * CHUNK, b'OPENSSLDIR: "/usr/local/ssl-node"\x00'),
            (size - 3000, B.pem),
        ],
        tail=b"-----BEGIN CERTIFICATE-----\nMIIB",  # torn at the very end: not a root
    )
    r = Root(tmp_path / "r")
    debian(r, [C])
    r.file("/usr/local/bin/node", program, 0o755)
    r.file("/usr/local/lib/node_modules/npm/package.json", "{}")
    image = docker_save(tmp_path / "node.tar", [layer_from_dir(r.path, compress=None)])

    from_root = _node_store(root=str(r.path))
    from_image = _node_store(image=str(image))
    assert from_image == from_root
    fps, sources = from_image
    assert ("bundled", "/usr/local/bin/node", 2) in sources
    assert fps == {A.cert.fingerprint(_sha()).hex(), B.cert.fingerprint(_sha()).hex()}
    # --use-openssl-ca: the OPENSSLDIR compiled into that program, kept too.
    with build_context(image=str(image), env={"NODE_OPTIONS": "--use-openssl-ca"}) as ctx:
        s = next(iter(inspect_stores(ctx, ["node"])))
    assert any("/usr/local/ssl-node" in (x.path or "") for x in s.sources), s.sources


@pytest.mark.parametrize(
    ("link", "to"),
    [
        ("/usr/local/bin/node", "/opt/node-v20/bin/node"),  # absolute
        ("/usr/local/bin/node", "../../../opt/node-v20/bin/node"),  # relative
        ("/usr/local/bin", "/opt/node-v20/bin"),  # a directory on the way
        ("/usr/local/bin/node", "/etc/ssl/certs/ca-certificates.crt"),  # a trust file
    ],
)
def test_image_node_behind_a_symlink(tmp_path: Path, link: str, to: str) -> None:
    """A node installed elsewhere and linked from a path the model reads (the
    program comes first in the layer, before the link): the image keeps the
    program's roots, as the same tree read as a root does, not certifi's.  A
    link to a trust file keeps that file whole."""
    from helpers.images import docker_save, layer_from_dir
    from trustdoctor.stores import build_context

    program = _program(70 * CHUNK, [(5 * CHUNK, A.pem), (60 * CHUNK, B.pem)])
    r = Root(tmp_path / "r")
    debian(r, [C])
    # (A bundle with text between its blocks, as RHEL's: a reduced copy would lose it.)
    bundle = r.path / "etc/ssl/certs/ca-certificates.crt"
    bundle.write_bytes(b"# Subject: the root\n" + bundle.read_bytes() + b"# end\n")
    r.file("/opt/node-v20/bin/node", program, 0o755)
    first = Root(tmp_path / "first")  # a layer of the link alone
    for where in (r, first):
        (where.path / link.strip("/")).parent.mkdir(parents=True, exist_ok=True)
        (where.path / link.strip("/")).symlink_to(to)
    full = layer_from_dir(r.path, compress=None)
    # The program before the link (a layer lists opt/ before usr/), and after.
    images = [
        docker_save(tmp_path / "one.tar", [full]),
        docker_save(tmp_path / "two.tar", [layer_from_dir(first.path, compress=None), full]),
    ]

    from_root = _node_store(root=str(r.path))
    for image in images:
        from_image = _node_store(image=str(image))
        assert from_image == from_root, image.name
        fps, sources = from_image
        if to.endswith(".crt"):  # node reads the bundle as its program: the bundle's root
            assert fps == {C.cert.fingerprint(_sha()).hex()}
            with build_context(image=str(image), env={}) as ctx:
                kept = ctx.fs.read_bytes("/etc/ssl/certs/ca-certificates.crt")
            assert kept == bundle.read_bytes(), image.name
            continue
        assert ("bundled", "/usr/local/bin/node", 2) in sources
        assert fps == {A.cert.fingerprint(_sha()).hex(), B.cert.fingerprint(_sha()).hex()}


def test_image_debian_node_reads_libnode(tmp_path: Path) -> None:
    """Debian's nodejs: /usr/bin/node -> nodejs, a small program linking
    libnode.so.108, where the roots are compiled in."""
    from helpers.images import docker_save, layer_from_dir
    from trustdoctor.stores import build_context
    from trustdoctor.stores.inspect import inspect_stores

    r = Root(tmp_path / "r")
    debian(r, [C])
    r.file("/usr/bin/nodejs", _program(20_000, []), 0o755)
    r.link("/usr/bin/node", "nodejs")
    lib = "/usr/lib/x86_64-linux-gnu/libnode.so.108"
    r.file(lib, _program(3 * CHUNK, [(5000, A.pem), (2 * CHUNK + 17, B.pem)]))
    r.file("/usr/lib/node_modules/npm/package.json", "{}")
    image = docker_save(tmp_path / "deb.tar", [layer_from_dir(r.path, compress="gzip")])
    with build_context(image=str(image), env={}) as ctx:
        s = next(iter(inspect_stores(ctx, ["node"])))
    src = next(x for x in s.sources if x.kind == "bundled")
    assert (src.path, src.count) == (lib, 2) and "stand-in" not in (src.detail or "")


def test_reduce_stream_keeps_whole_matches_only() -> None:
    import io

    from trustdoctor.sources.image import Reduction, reduce_stream
    from trustdoctor.stores.node import IMAGE_REDUCED

    red = Reduction(*IMAGE_REDUCED["/usr/local/bin/node"])
    begin = b"-----BEGIN CERTIFICATE-----"
    far = begin + b"A" * 20_000 + b"-----END CERTIFICATE-----"  # longer than a block: not one
    data = _program(
        3 * CHUNK,
        [(100, far), (CHUNK - 10, A.pem), (2 * CHUNK - len(B.pem) // 2, B.pem)],
    )
    kept = reduce_stream(io.BytesIO(data), red)
    assert kept == A.pem.rstrip(b"\n") + b"\n" + B.pem.rstrip(b"\n") + b"\n"
    assert reduce_stream(io.BytesIO(b""), red) == b""


@pytest.mark.oracle
@pytest.mark.skipif(NODE is None, reason="node is not installed")
def test_image_with_the_real_node_has_its_roots(tmp_path: Path) -> None:
    """The installed node (~100 MB), put in an image: the model's bundled roots
    are exactly what that node prints as ``tls.rootCertificates``."""
    assert NODE is not None
    from helpers.images import docker_save, layer
    from trustdoctor.stores import build_context
    from trustdoctor.stores.inspect import inspect_stores

    real = _real_node_roots()
    program = Path(NODE).resolve().read_bytes()
    entries = [
        ("file", "usr/local/bin/node", program),
        ("file", "usr/local/lib/node_modules/npm/package.json", "{}"),
    ]
    image = docker_save(tmp_path / "node.tar", [layer(entries)])
    del program, entries
    with warnings.catch_warnings():  # a Mozilla root with a negative serial number
        warnings.simplefilter("ignore")
        with build_context(image=str(image), env={}) as ctx:
            s = next(iter(inspect_stores(ctx, ["node"])))
    src = next(x for x in s.sources if x.kind == "bundled")
    assert src.path == "/usr/local/bin/node" and "stand-in" not in (src.detail or "")
    assert {a.cert.sha256 for a in s.anchors.anchors} == real and len(real) > 100


@pytest.mark.parametrize(
    "hostile",
    [
        b"-----BEGIN CERTIFICATE-----" * 800_000,  # 21 MB of BEGIN, no END
        b"-----END CERTIFICATE-----" * 200_000,
        (b"-----BEGIN CERTIFICATE-----" + b"x" * 100) * 40_000,
        b'OPENSSLDIR: "' * 400_000,
    ],
    ids=["begins", "ends", "torn-blocks", "openssldir-prefixes"],
)
def test_hostile_programs_cost_linear_time(tmp_path: Path, hostile: bytes) -> None:
    """A crafted node (in an image, or on a host) cannot make the scan quadratic:
    megabytes of markers are read in well under a second, both ways (searching
    16 KB for an END after each BEGIN took ~6 s for the 21 MB on the host and
    minutes as a regular expression in the image reducer)."""
    import io
    import time

    from trustdoctor.sources.image import Reduction, reduce_stream
    from trustdoctor.stores.node import IMAGE_REDUCED

    t0 = time.perf_counter()
    kept = reduce_stream(io.BytesIO(hostile), Reduction(*IMAGE_REDUCED["/usr/bin/node"]))
    assert kept.count(b"\n") <= 2000  # at most so many matches kept
    if not hostile.startswith(b"OPENSSLDIR"):
        assert kept == b""
    r = Root(tmp_path / "r")
    debian(r, [C])
    r.file("/usr/bin/node", hostile, 0o755)
    s = stores(r, ["node"])["node"]
    assert "stand-in" in (next(x for x in s.sources if x.kind == "bundled").detail or "")
    assert time.perf_counter() - t0 < 3
