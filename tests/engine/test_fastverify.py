"""model/fastverify.py confirms what cryptography (OpenSSL) accepts, and only that.

``confirms`` answering ``True`` replaces cryptography's check, so every
valid signature of the kinds it knows must be confirmed, and nothing else
ever: an invalid signature, a non-canonical encoding OpenSSL refuses, a key
OpenSSL would not load.  (``False`` is always safe: cryptography decides.)
"""

from __future__ import annotations

import os

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from trustdoctor.model import fastverify as fv

HASHES: dict[
    str, type[hashes.SHA1 | hashes.SHA224 | hashes.SHA256 | hashes.SHA384 | hashes.SHA512]
] = {
    "sha1": hashes.SHA1,
    "sha224": hashes.SHA224,
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}
OID = {(kind, h): oid for oid, (kind, h) in fv.ALGORITHMS.items()}


def spki_of(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def cryptography_accepts(key: object, sig: bytes, msg: bytes, kind: str, h: str) -> bool:
    pub = key.public_key()  # type: ignore[attr-defined]
    try:
        if kind == "ecdsa":
            pub.verify(sig, msg, ec.ECDSA(HASHES[h]()))
        else:
            pub.verify(sig, msg, padding.PKCS1v15(), HASHES[h]())
    except InvalidSignature:
        return False
    return True


@pytest.mark.parametrize("curve", [ec.SECP256R1(), ec.SECP384R1()], ids=lambda c: c.name)
@pytest.mark.parametrize("h", sorted(HASHES))
def test_valid_ecdsa_is_confirmed_and_a_changed_one_is_not(curve: ec.EllipticCurve, h: str) -> None:
    for _ in range(4):
        key = ec.generate_private_key(curve)
        msg = os.urandom(200)
        sig = key.sign(msg, ec.ECDSA(HASHES[h]()))
        assert fv.confirms(OID["ecdsa", h], msg, sig, spki_of(key))
        assert not fv.confirms(OID["ecdsa", h], msg + b"!", sig, spki_of(key))
        other = ec.generate_private_key(curve)
        assert not fv.confirms(OID["ecdsa", h], msg, sig, spki_of(other))


@pytest.mark.parametrize("bits", [1024, 2048, 3072])
def test_valid_rsa_pkcs1_is_confirmed_and_a_changed_one_is_not(bits: int) -> None:
    key = rsa.generate_private_key(65537, bits)
    for h in HASHES:
        msg = os.urandom(300)
        sig = key.sign(msg, padding.PKCS1v15(), HASHES[h]())
        assert fv.confirms(OID["rsa", h], msg, sig, spki_of(key))
        assert not fv.confirms(OID["rsa", h], msg[1:], sig, spki_of(key))
        flipped = bytes([sig[0] ^ 1]) + sig[1:]
        assert not fv.confirms(OID["rsa", h], msg, flipped, spki_of(key))


def test_the_curves_are_the_standard_ones() -> None:
    # d*G here and in OpenSSL, and n*G is the point at infinity: the constants
    # (p, b, n, G) are checked, not only trusted.
    for curve, ours in ((ec.SECP256R1(), fv.P256), (ec.SECP384R1(), fv.P384)):
        assert ours.on_curve(*ours.g)
        for d in (1, 2, 3, 0xC0FFEE, ours.n - 1):
            pub = ec.derive_private_key(d, curve).public_key().public_numbers()
            assert fv._combination(ours, d, 0, ours.g) == (pub.x, pub.y)
        assert fv._combination(ours, ours.n, 0, ours.g) is None


@pytest.mark.parametrize("d", [1, 2, "n-1"])
def test_keys_that_meet_the_generator_in_the_combination(d: int | str) -> None:
    """Q = G (G + Q is a doubling) and Q = -G (G + Q is the point at infinity)."""
    for curve, ours in ((ec.SECP256R1(), fv.P256), (ec.SECP384R1(), fv.P384)):
        key = ec.derive_private_key(ours.n - 1 if d == "n-1" else int(d), curve)
        for _ in range(3):
            msg = os.urandom(64)
            sig = key.sign(msg, ec.ECDSA(hashes.SHA256()))
            assert fv.confirms(OID["ecdsa", "sha256"], msg, sig, spki_of(key))


def _der_int(v: int, pad: bytes = b"") -> bytes:
    body = pad + v.to_bytes((v.bit_length() + 8) // 8, "big")
    return b"\x02" + bytes([len(body)]) + body


def _seq(*parts: bytes) -> bytes:
    body = b"".join(parts)
    return b"\x30" + bytes([len(body)]) + body


def test_ecdsa_encodings_openssl_refuses_are_not_confirmed() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    msg = b"tbs"
    sig = key.sign(msg, ec.ECDSA(hashes.SHA256()))
    r, s = decode_dss_signature(sig)
    n = fv.P256.n
    oid, spki = OID["ecdsa", "sha256"], spki_of(key)
    assert fv.confirms(oid, msg, _seq(_der_int(r), _der_int(s)), spki)
    refused = {
        "extra leading zero": _seq(_der_int(r, b"\x00"), _der_int(s)),
        "trailing data": sig + b"\x00",
        "s + n (same point)": encode_dss_signature(r, s + n),
        "n - s (the other valid s)": encode_dss_signature(r, n - s),
        "r = 0": encode_dss_signature(0, s),
        "s = 0": encode_dss_signature(r, 0),
        "three integers": _seq(_der_int(r), _der_int(s), _der_int(1)),
        "not a sequence": sig[2:],
    }
    for why, bad in refused.items():
        if why == "n - s (the other valid s)":
            # Valid (ECDSA is malleable): both OpenSSL and we accept it.
            assert cryptography_accepts(key, bad, msg, "ecdsa", "sha256")
            assert fv.confirms(oid, msg, bad, spki), why
            continue
        assert not fv.confirms(oid, msg, bad, spki), why


def test_keys_openssl_would_not_load_or_that_are_left_to_it() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    msg = b"tbs"
    sig = key.sign(msg, ec.ECDSA(hashes.SHA256()))
    oid = OID["ecdsa", "sha256"]
    spki = spki_of(key)
    point = key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    head = spki[: len(spki) - len(point)]
    off_curve = point[:-1] + bytes([point[-1] ^ 1])
    assert not fv.confirms(oid, msg, sig, head + off_curve)
    assert fv.confirms(oid, msg, sig, head + point)
    compressed_point = key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.CompressedPoint
    )
    # A compressed point is valid for OpenSSL; left to cryptography here.
    short_head = bytearray(spki[: len(spki) - len(point)])
    short_head[1] -= len(point) - len(compressed_point)  # outer SEQUENCE length
    short_head[-2] -= len(point) - len(compressed_point)  # BIT STRING length
    compressed = bytes(short_head) + compressed_point
    assert serialization.load_der_public_key(compressed) == key.public_key()
    assert not fv.confirms(oid, msg, sig, compressed)
    # P-521 and other curves: left to cryptography.
    k521 = ec.generate_private_key(ec.SECP521R1())
    s521 = k521.sign(msg, ec.ECDSA(hashes.SHA512()))
    assert not fv.confirms(OID["ecdsa", "sha512"], msg, s521, spki_of(k521))
    # A key of the other kind than the algorithm names.
    rkey = rsa.generate_private_key(65537, 2048)
    assert not fv.confirms(oid, msg, sig, spki_of(rkey))
    assert not fv.confirms(OID["rsa", "sha256"], msg, sig, spki)
    # Unknown algorithms (RSA-PSS, Ed25519, MD5 with RSA) and garbage.
    assert not fv.confirms("1.2.840.113549.1.1.10", msg, sig, spki)
    assert not fv.confirms("1.3.101.112", msg, sig, spki)
    assert not fv.confirms("1.2.840.113549.1.1.4", msg, sig, spki_of(rkey))
    assert not fv.confirms(oid, msg, sig, b"\x30\x03\x02\x01\x00")
    assert not fv.confirms(oid, msg, sig, spki + b"\x00")


def test_rsa_encodings_openssl_refuses_are_not_confirmed() -> None:
    key = rsa.generate_private_key(65537, 2048)
    n = key.public_key().public_numbers().n
    d = key.private_numbers().d
    msg = b"tbs"
    oid, spki = OID["rsa", "sha256"], spki_of(key)
    sig = key.sign(msg, padding.PKCS1v15(), hashes.SHA256())
    assert fv.confirms(oid, msg, sig, spki)

    def raw_sign(em: bytes) -> bytes:
        return pow(int.from_bytes(em, "big"), d, n).to_bytes(256, "big")

    from trustdoctor.model import digest

    h = digest.sha256(msg).digest()
    # DigestInfo without the NULL parameters: OpenSSL re-encodes with NULL and
    # compares; left to cryptography.
    t = bytes.fromhex("302f300b0609608648016503040201") + b"\x04\x20" + h
    em = b"\x00\x01" + b"\xff" * (256 - len(t) - 3) + b"\x00" + t
    assert not fv.confirms(oid, msg, raw_sign(em), spki)
    # A signature of the other hash, and one a byte short.
    assert not fv.confirms(OID["rsa", "sha384"], msg, sig, spki)
    assert not fv.confirms(oid, msg, sig[1:], spki)
    # s >= n: the same value modulo n, refused by OpenSSL.
    big = int.from_bytes(sig, "big") + n
    if big < 1 << 2048:
        assert not fv.confirms(oid, msg, big.to_bytes(256, "big"), spki)


def test_never_confirms_a_limbo_signature_cryptography_refuses() -> None:
    """Every issuer-named pair of the x509-limbo cases (at most 8 a case, each
    pair once): confirmed here only if cryptography verifies it too, and the
    valid ones of the kinds this module knows are confirmed.  (Unsampled, all
    20,939 pairs: 10,921 valid for cryptography, 10,915 confirmed here, none
    confirmed that cryptography refuses; docs/performance.md.)"""
    import binascii
    import contextlib
    import json
    import re

    from helpers import SHARED
    from trustdoctor.model import cert as C
    from trustdoctor.model import certder

    limbo = SHARED / "limbo" / "limbo.json"
    if not limbo.exists():
        pytest.skip("x509-limbo cases not available")
    block = re.compile(r"-----BEGIN CERTIFICATE-----(.*?)-----END CERTIFICATE-----", re.S)
    seen: set[tuple[str, str]] = set()
    checked = confirmed = 0
    for case in json.loads(limbo.read_text())["testcases"]:
        infos = []
        pems = [*case["trusted_certs"], *case["untrusted_intermediates"], case["peer_certificate"]]
        for pem in pems:
            for b64 in block.findall(pem):
                with contextlib.suppress(ValueError):
                    infos.append(C.parse_certificate(binascii.a2b_base64(b64)))
        pairs = [
            (child, parent)
            for child in infos
            for parent in infos
            if parent.subject_der == child.issuer_der and (child.sha256, parent.sha256) not in seen
        ][:8]
        for child, parent in pairs:
            seen.add((child.sha256, parent.sha256))
            signed = certder.signed(child.der)
            spki = certder.spki(parent.der)
            ours = fv.confirms(signed.algorithm.oid, signed.tbs, signed.signature, spki)
            try:
                theirs = signed.inner_matches and C._check(C._public_key(spki), signed)
            except Exception:
                theirs = False
            assert theirs or not ours, (case["id"], child.subject, parent.subject)
            if theirs and signed.algorithm.oid in fv.ALGORITHMS and _known(spki):
                assert ours, (case["id"], child.subject)
            checked += 1
            confirmed += ours
    assert checked > 500 and confirmed > checked // 4


def _known(spki: bytes) -> bool:
    """An RSA key, or an uncompressed P-256 or P-384 key."""
    oid, params, key = fv._spki(spki)
    if oid == "1.2.840.113549.1.1.1":
        return True
    named = {bytes.fromhex("06082a8648ce3d030107"), bytes.fromhex("06052b81040022")}
    return oid == "1.2.840.10045.2.1" and params in named and key[:1] == b"\x04"


def test_verify_signature_uses_it_for_a_few_checks_then_cryptography(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """model/cert.py: the first checks of a process go through this module;
    once cryptography had to answer (an invalid signature here), or past the
    budget, cryptography answers everything, and the answers are the same."""
    from trustdoctor.lab.pki import hierarchy, make_cert
    from trustdoctor.model import cert as C

    h = hierarchy("fastverify.test")
    leaf, inter, root = (C.parse_certificate(c.der) for c in (h.leaf, h.intermediate, h.root))
    # The same name as the intermediate, another key: a signature that fails.
    stranger = C.parse_certificate(make_cert("Example Internal Issuing CA", issuer=h.root).der)
    monkeypatch.setattr(C, "_ANSWERS", {})
    monkeypatch.setattr(C, "_FAST_LEFT", 3)
    assert C.verify_signature(leaf, inter) is None
    assert C._FAST_LEFT == 2  # confirmed here
    assert stranger.subject_der == inter.subject_der
    assert C.verify_signature(leaf, stranger) == "bad-signature"
    assert C._FAST_LEFT == 0  # cryptography answered, and now answers all
    assert C.verify_signature(inter, root) is None
    monkeypatch.setattr(C, "_ANSWERS", {})
    monkeypatch.setattr(C, "_FAST_LEFT", 0)
    assert C.verify_signature(leaf, inter) is None  # cryptography's answer: the same
    assert C.verify_signature(inter, root) is None


def test_the_naf_and_the_batch_inversion() -> None:
    import itertools
    import random

    rng = random.Random(13)
    for k in [
        1,
        2,
        15,
        16,
        17,
        31,
        (1 << 256) - 1,
        *(rng.randrange(1, 1 << 384) for _ in range(50)),
    ]:
        digits = fv._naf(k)
        assert sum(d << i for i, d in enumerate(digits)) == k
        assert all(d == 0 or (d % 2 and abs(d) < 1 << (fv._W - 1)) for d in digits)
        nonzero = [i for i, d in enumerate(digits) if d]
        assert all(b - a >= fv._W for a, b in itertools.pairwise(nonzero))
    p = fv.P256.p
    pts = [(3, 5, 7), (1, 1, 0), (11, 13, 1), (2, 9, p - 2)]
    assert fv._affine_all(pts, p) == [fv._affine(pt, p) for pt in pts]
    assert fv._affine_all([], p) == []
