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
    out = subprocess.run(
        [NODE, "-e", "console.log(JSON.stringify(require('tls').rootCertificates))"],
        capture_output=True, text=True, timeout=60, check=True, env={"PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    real = {_fp(p.encode()) for p in json.loads(out.stdout)}
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
