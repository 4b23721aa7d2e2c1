"""Every input encoding, and every kind of bad input (one line, exit 2)."""

from __future__ import annotations

import base64
import io
import os
import subprocess
import sys

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import BestAvailableEncryption, pkcs7, pkcs12

from trustdoctor.cli.main import main
from trustdoctor.errors import InputError, PrivateKeyInput
from trustdoctor.lab.pki import hierarchy
from trustdoctor.sources.files import MAX_INPUT_BYTES, load_bytes, read_source

H = hierarchy()


def subjects(loaded):
    return [pc.cert.subject for pc in loaded.certs]


EXPECTED = ["CN=registry.internal.example.com", "CN=Example Internal Issuing CA"]


def test_pem_inside_s_client_transcript():
    text = (
        b"CONNECTED(00000003)\ndepth=0 CN = registry.internal.example.com\n---\nCertificate chain\n"
        b" 0 s:CN = registry.internal.example.com\n   i:CN = Example Internal Issuing CA\n"
        + H.leaf.pem
        + b" 1 s:CN = Example Internal Issuing CA\n"
        + H.intermediate.pem
        + b"---\nServer certificate\n"
        + b"Verify return code: 21 (unable to verify the first certificate)\n"
    )
    loaded = load_bytes(text, "transcript.txt")
    assert subjects(loaded) == EXPECTED
    assert loaded.certs[0].provenance.line == 7
    assert loaded.certs[0].provenance.detail == "pem"


def test_indented_pem_in_yaml_and_chat_quotes():
    quoted = b"".join(b"> " + line + b"\n" for line in H.leaf.pem.splitlines())
    assert subjects(load_bytes(quoted, "chat")) == EXPECTED[:1]
    yaml = b"data:\n  ca.crt: |\n" + b"".join(
        b"    " + line + b"\n" for line in H.leaf.pem.splitlines()
    )
    assert subjects(load_bytes(yaml, "cm.yaml")) == EXPECTED[:1]


def test_base64_of_pem_in_kubernetes_secret():
    b64 = base64.b64encode(H.fullchain_pem)
    secret = (
        b"apiVersion: v1\nkind: Secret\ntype: kubernetes.io/tls\ndata:\n  tls.crt: "
        + b64
        + b"\n  tls.key: "
        + base64.b64encode(H.leaf.key_pem)
        + b"\n"
    )
    loaded = load_bytes(secret, "secret.yaml")
    assert subjects(loaded) == EXPECTED
    assert loaded.certs[0].provenance.detail == "base64-pem"
    # The private key in tls.key is skipped and never echoed.
    assert any("private key" in n for n in loaded.notes)


def test_whole_file_base64_wrapped():
    wrapped = base64.encodebytes(H.leaf.pem)
    assert subjects(load_bytes(wrapped, "b64")) == EXPECTED[:1]


def test_der():
    loaded = load_bytes(H.leaf.der, "leaf.der")
    assert subjects(loaded) == EXPECTED[:1]
    assert loaded.certs[0].provenance.detail == "der"


def test_pkcs7_der_and_pem():
    der = pkcs7.serialize_certificates(
        [H.leaf.cert, H.intermediate.cert], serialization.Encoding.DER
    )
    pem = pkcs7.serialize_certificates(
        [H.leaf.cert, H.intermediate.cert], serialization.Encoding.PEM
    )
    assert sorted(subjects(load_bytes(der, "c.p7b"))) == sorted(EXPECTED)
    assert sorted(subjects(load_bytes(pem, "c.p7c"))) == sorted(EXPECTED)


def test_pkcs12_with_and_without_password():
    plain = pkcs12.serialize_key_and_certificates(
        b"x", H.leaf.key, H.leaf.cert, [H.intermediate.cert], serialization.NoEncryption()
    )
    assert subjects(load_bytes(plain, "a.p12")) == EXPECTED
    enc = pkcs12.serialize_key_and_certificates(
        b"x", H.leaf.key, H.leaf.cert, [H.intermediate.cert], BestAvailableEncryption(b"s3cret")
    )
    assert subjects(load_bytes(enc, "b.p12", password=b"s3cret")) == EXPECTED
    with pytest.raises(InputError, match="password-protected"):
        load_bytes(enc, "b.p12")
    with pytest.raises(InputError, match="wrong PKCS#12 password"):
        load_bytes(enc, "b.p12", password=b"nope")


def test_trusted_certificate_block_is_loaded_and_marked():
    out = subprocess.run(
        ["openssl", "x509", "-addtrust", "serverAuth"],
        input=H.root.pem,
        capture_output=True,
        check=True,
    ).stdout
    assert b"BEGIN TRUSTED CERTIFICATE" in out
    loaded = load_bytes(out, "trusted.pem")
    assert loaded.certs[0].cert.trusted_block
    assert loaded.certs[0].cert.subject == "CN=Example Internal Root CA"


@pytest.mark.parametrize(
    ("data", "pattern"),
    [
        (b"", "empty input"),
        (b"   \n\n", "empty input"),
        (b"hello, this is not a certificate\n", "no certificate found \\(text"),
        (os.urandom(3000).replace(b"\x30", b"\x31"), "no certificate found \\(binary data"),
        (
            b"-----BEGIN CERTIFICATE-----\nMIIB\n",
            "truncated or corrupt CERTIFICATE block at line 1",
        ),
        (b"-----BEGIN CERTIFICATE-----\n%%%%\n-----END CERTIFICATE-----\n", "truncated or corrupt"),
        (
            b"-----BEGIN CERTIFICATE-----\nAAAAAAAA\n-----END CERTIFICATE-----\n",
            "not a valid certificate",
        ),
        (
            b"-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n",
            "signing request",
        ),
        (H.leaf.der[:200], "truncated DER"),
        (base64.b64encode(H.leaf.pem)[:-7], "base64"),
    ],
)
def test_bad_inputs(data, pattern):
    with pytest.raises(InputError, match=pattern) as exc:
        load_bytes(data, "bad.pem")
    assert "\n" not in str(exc.value)
    assert str(exc.value).startswith("bad.pem")


@pytest.mark.parametrize("which", ["pem", "der", "rsa-pem", "encrypted"])
def test_private_keys_are_named_never_printed(which):
    if which == "pem":
        data = H.leaf.key_pem
    elif which == "der":
        data = H.leaf.key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    elif which == "rsa-pem":
        from cryptography.hazmat.primitives.asymmetric import rsa

        k = rsa.generate_private_key(public_exponent=65537, key_size=1024)
        data = k.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    else:
        data = H.leaf.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            BestAvailableEncryption(b"pw"),
        )
    with pytest.raises(PrivateKeyInput) as exc:
        load_bytes(data, "key.pem")
    msg = str(exc.value)
    assert "private key" in msg
    if data.startswith(b"-----"):
        body = b"".join(data.splitlines()[1:-1])[:40].decode("latin-1")
        assert body and body not in msg
    assert base64.b64encode(data[:30]).decode()[:20] not in msg


def test_size_limit(tmp_path):
    big = tmp_path / "big.pem"
    with big.open("wb") as fh:
        fh.truncate(MAX_INPUT_BYTES + 10)
    with pytest.raises(InputError, match="larger than"):
        read_source(str(big))


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        read_source(str(tmp_path / "nope.pem"))
    with pytest.raises(InputError, match="is a directory"):
        read_source(str(tmp_path))


def test_stdin(capsys, tmp_path, monkeypatch):
    root = tmp_path / "root.pem"
    root.write_bytes(H.root.pem)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(H.fullchain_pem)))
    rc = main(
        [
            "chain",
            "-",
            "--trust",
            str(root),
            "--host",
            "registry.internal.example.com",
            "--at",
            "2026-06-01T12:00:00Z",
        ]
    )
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "TRUSTED" in out and "from stdin" in out


@pytest.mark.parametrize(
    "argv",
    [
        ["chain"],
        ["chain", "x.pem", "--client", "nosuchclient"],
        ["chain", "x.pem", "--format", "xml"],
        ["chain", "x.pem", "--at", "yesterday"],
        ["nosuchcommand"],
        ["chain", "x.pem", "--password", "a", "--password-file", "b"],
    ],
)
def test_wrong_flags_exit_2_one_line(argv, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "x.pem").write_bytes(H.leaf.pem)
    (tmp_path / "r.pem").write_bytes(H.root.pem)
    rc = main([*argv, "--trust", "r.pem"] if argv[0] == "chain" and len(argv) > 1 else argv)
    err = capsys.readouterr().err
    assert rc == 2
    assert len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err


def test_cli_subprocess_private_key_exit_2(tmp_path):
    key = tmp_path / "key.pem"
    key.write_bytes(H.leaf.key_pem)
    proc = subprocess.run(
        [sys.executable, "-m", "trustdoctor", "chain", str(key), "--trust", str(key)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1
    assert "private key" in proc.stderr and "BEGIN" not in proc.stderr + proc.stdout


def test_trust_with_a_store_context_is_a_usage_error(tmp_path, capsys):
    (tmp_path / "x.pem").write_bytes(H.leaf.pem)
    rc = main(
        [
            "chain",
            str(tmp_path / "x.pem"),
            "--trust",
            str(tmp_path / "x.pem"),
            "--root",
            str(tmp_path),
        ]
    )
    assert rc == 2
    assert "--trust replaces the clients' stores" in capsys.readouterr().err


def test_explain_refuses_a_device(capsys):
    assert main(["explain", "--file", "/dev/zero"]) == 2
    assert "is a device" in capsys.readouterr().err


@pytest.mark.parametrize("key_kind", ["ec", "rsa2048"])
def test_the_one_pem_encoder_writes_what_openssl_writes(key_kind, tmp_path):
    """model.pem.pem_encode is byte for byte OpenSSL's PEM (through cryptography and
    the openssl command), for every DER length, and round-trips through the scanner."""
    from trustdoctor.lab.pki import make_cert
    from trustdoctor.model.pem import iter_pem_blocks, pem_encode, pem_text

    cert = make_cert(f"PEM {key_kind}", key_kind=key_kind)
    assert pem_encode(cert.der) == cert.pem
    assert pem_text(cert.der) == cert.pem.decode()
    for n in (0, 1, 47, 48, 49, 96, 1000):  # line boundaries: 48 bytes make 64 characters
        der = bytes(range(256)) * 4
        block = pem_encode(der[:n], "PKCS7")
        assert all(len(line) <= 64 for line in block.splitlines())
        (got,) = iter_pem_blocks(block)
        assert (got.label, got.data) == ("PKCS7", der[:n]) or (n == 0 and got.broken)
    openssl = __import__("shutil").which("openssl")
    if openssl:
        (tmp_path / "c.der").write_bytes(cert.der)
        out = subprocess.run(
            [openssl, "x509", "-inform", "DER", "-in", str(tmp_path / "c.der")],
            capture_output=True, check=True,
        ).stdout  # fmt: skip
        assert pem_encode(cert.der) == out
