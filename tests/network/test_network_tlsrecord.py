"""Raw TLS record parsing: first-byte sniffing and our own Certificate extraction."""

from __future__ import annotations

import os

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from trustdoctor.lab import pki
from trustdoctor.sources import tlsrecord
from trustdoctor.sources.tlsrecord import extract_certificates, sniff


@pytest.mark.parametrize(
    ("data", "tls", "what"),
    [
        (b"\x16\x03\x03\x00\x5a\x02", True, None),
        (b"\x15\x03\x03\x00\x02\x02\x28", True, None),
        (b"\x16", True, None),
        (b"HTTP/1.1 400 Bad Request\r\n\r\n", False, "plain HTTP"),
        (b"<html><body>hi", False, "HTML"),
        (b"SSH-2.0-OpenSSH_9.6\r\n", False, "SSH"),
        (b"220 mx.example.com ESMTP Postfix\r\n", False, "SMTP banner"),
        (b"220 ProFTPD Server (FTP) ready\r\n", False, "FTP banner"),
        (b"* OK IMAP4rev1 ready\r\n", False, "IMAP banner"),
        (b"+OK POP3 ready\r\n", False, "POP3 banner"),
        (b"hello there, plain words\r\n", False, "plain text"),
        (b"\x00\x01\x02\xff\xfe", False, "not a TLS record"),
        (b"\x16\x01\x00", False, "not a TLS record"),
    ],
)
def test_sniff(data: bytes, tls: bool, what: str | None) -> None:
    s = sniff(data)
    assert s.tls is tls
    if what is not None:
        assert s.what is not None and what in s.what


def test_sniff_excerpt_is_the_first_line_printable() -> None:
    s = sniff(b"HTTP/1.1 400 Bad\x07Request\r\nServer: x\r\n")
    assert s.excerpt == "HTTP/1.1 400 Bad?Request"


def _record(ctype: int, body: bytes) -> bytes:
    return bytes([ctype, 3, 3]) + len(body).to_bytes(2, "big") + body


def _hs(mtype: int, body: bytes) -> bytes:
    return bytes([mtype]) + len(body).to_bytes(3, "big") + body


def _server_hello(version13: bool, suite: int = 0x1301, random: bytes | None = None) -> bytes:
    body = b"\x03\x03" + (random or os.urandom(32)) + b"\x00" + suite.to_bytes(2, "big") + b"\x00"
    ext = b""
    if version13:
        ext = (43).to_bytes(2, "big") + b"\x00\x02\x03\x04"
    body += len(ext).to_bytes(2, "big") + ext
    return _hs(2, body)


@pytest.fixture(scope="module")
def ders() -> list[bytes]:
    h = pki.hierarchy("raw.test")
    return [h.leaf.der, h.intermediate.der, h.root.der]


def test_tls12_certificate_split_over_records(ders: list[bytes]) -> None:
    cert_list = b"".join(len(d).to_bytes(3, "big") + d for d in ders)
    stream = _server_hello(False, 0xC02B) + _hs(11, len(cert_list).to_bytes(3, "big") + cert_list)
    stream += _hs(14, b"")  # ServerHelloDone
    records = b"".join(_record(22, stream[i : i + 100]) for i in range(0, len(stream), 100))
    assert extract_certificates(records) == ders
    # Incomplete: the last certificate is cut off.
    assert extract_certificates(records[: len(records) // 2]) is None
    assert extract_certificates(b"") is None


def _tls13_records(ders: list[bytes], secret: bytes, *, hrr: bool = False) -> bytes:
    key = tlsrecord._hkdf_expand_label(secret, "key", 16, "sha256")
    iv = tlsrecord._hkdf_expand_label(secret, "iv", 12, "sha256")
    aead = AESGCM(key)
    out = b""
    if hrr:
        out += _record(22, _server_hello(True, random=tlsrecord.HRR_RANDOM))
        out += _record(20, b"\x01")
    out += _record(22, _server_hello(True)) + _record(20, b"\x01")  # middlebox CCS
    entries = b"".join(len(d).to_bytes(3, "big") + d + b"\x00\x00" for d in ders)
    cert_msg = _hs(11, b"\x00" + len(entries).to_bytes(3, "big") + entries)
    plain = _hs(8, b"\x00\x00") + cert_msg  # EncryptedExtensions, Certificate
    for seq, i in enumerate(range(0, len(plain), 300)):
        inner = plain[i : i + 300] + b"\x16" + b"\x00" * 3  # content type + padding
        header = bytes([23, 3, 3]) + (len(inner) + 16).to_bytes(2, "big")
        nonce = bytes(a ^ b for a, b in zip(iv, seq.to_bytes(12, "big"), strict=True))
        out += header + aead.encrypt(nonce, inner, header)
    return out


@pytest.mark.parametrize("hrr", [False, True], ids=["plain", "hello-retry"])
def test_tls13_certificate_is_decrypted_with_the_handshake_secret(
    ders: list[bytes], hrr: bool
) -> None:
    secret = os.urandom(32)
    data = _tls13_records(ders, secret, hrr=hrr)
    assert extract_certificates(data, server_handshake_secret=secret) == ders
    assert extract_certificates(data, server_handshake_secret=os.urandom(32)) is None
    assert extract_certificates(data) is None  # no secret, no plaintext
    assert extract_certificates(data[:-50], server_handshake_secret=secret) is None


def test_parse_server_hello_rejects_junk() -> None:
    assert tlsrecord.parse_server_hello(b"\x03\x03") is None
