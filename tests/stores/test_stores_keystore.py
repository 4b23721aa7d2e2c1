"""Java keystores read without Java, checked against keytool and a real JVM."""

from __future__ import annotations

import hashlib
import random
import struct
import time
from pathlib import Path

import pytest

from helpers.keystores import JAVA, JAVAC, KEYTOOL, PW, Stores, java_view, keytool_list, make_stores
from trustdoctor.errors import InputError
from trustdoctor.lab import pki
from trustdoctor.stores.keystore import (
    MAX_ITERATIONS,
    KeystoreEntry,
    detect_keystore_type,
    inspect_keystore,
    read_keystore,
)

needs_keytool = pytest.mark.skipif(KEYTOOL is None, reason="keytool not installed")
needs_jvm = pytest.mark.skipif(not (JAVA and JAVAC), reason="java/javac not installed")


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> Stores:
    if KEYTOOL is None:
        pytest.skip("keytool not installed")
    return make_stores(tmp_path_factory.mktemp("keystores"))


KEYTOOL_STORES = [
    "trust.jks",
    "trust.jceks",
    "trust.p12",
    "nopw.p12",
    "mixed.jks",
    "mixed.jceks",
    "mixed.p12",
    "secret.jceks",
]


# -- keytool -list -rfc as the oracle for entries ----------------------------------


@needs_keytool
@pytest.mark.oracle
@pytest.mark.parametrize("name", KEYTOOL_STORES)
def test_entries_match_keytool_list(stores: Stores, name: str) -> None:
    path = stores.paths[name]
    ks = inspect_keystore(path.read_bytes(), PW.encode(), source=name)
    assert ks.integrity_checked == (name != "nopw.p12")
    assert ks.warnings == ()
    listed = keytool_list(path)
    ours: dict[str, list[KeystoreEntry]] = {}
    for e in ks.entries:
        ours.setdefault(e.alias.lower(), []).append(e)
    expected = {a.lower(): v for a, v in listed.items() if v[0] != "SecretKeyEntry"}
    assert set(ours) == set(expected)
    for alias, (kind, ders) in expected.items():
        got = ours[alias]
        assert [e.der for e in got] == ders, alias
        if kind == "trustedCertEntry":
            assert [(e.kind, e.trusted) for e in got] == [("trusted-cert", True)]
        else:
            assert kind == "PrivateKeyEntry"
            assert [e.kind for e in got] == ["key-chain"] * len(ders) and len(ders) == 3
            # Java's TrustManager trusts chain[0] of a key entry, nothing else of it.
            assert [e.trusted for e in got] == [True, False, False]
    if name == "secret.jceks":
        # The secret key sits between trusted entries: the Java-serialization
        # skipper must have found the entries after it.
        raw = path.read_bytes()
        assert raw.find(b"\x00\x02sk") < max(raw.find(e.der) for e in ks.entries)


@needs_keytool
@pytest.mark.parametrize(
    "name,expected",
    [
        ("trust.jks", "jks"),
        ("trust.jceks", "jceks"),
        ("trust.p12", "pkcs12"),
        ("nopw.p12", "pkcs12"),
        ("openssl.p12", "pkcs12"),
    ],
)
def test_detect(stores: Stores, name: str, expected: str) -> None:
    assert detect_keystore_type(stores.paths[name].read_bytes()) == expected


def test_detect_rejects_other_things() -> None:
    for data in (
        b"",
        b"\xfe\xed",
        pki.make_cert("x").pem,
        pki.make_cert("x").der,
        b"\x30\x03\x02\x01\x02",
        b"garbage" * 10,
    ):
        assert detect_keystore_type(data) is None
    with pytest.raises(InputError, match="not a Java keystore"):
        read_keystore(pki.make_cert("x").pem, source="ca.pem")


# -- a real JVM as the oracle for what Java trusts ------------------------------------


@needs_keytool
@needs_jvm
@pytest.mark.oracle
def test_trusted_flags_match_java_trustmanager(stores: Stores, tmp_path: Path) -> None:
    cases: list[tuple[str, str | None]] = [(n, PW) for n in KEYTOOL_STORES]
    cases += [
        ("openssl.p12", PW),
        ("nopw.p12", None),
        ("nopw.p12", "any"),
        ("mixed.p12", None),
        ("trust.p12", None),
        ("trust.jks", None),
        ("openssl-nopw.p12", None),
    ]
    views = java_view(tmp_path, [(stores.paths[n], pw) for n, pw in cases])
    checked = 0
    for name, pw in cases:
        view = views[f"{stores.paths[name]}|{pw}"]
        assert view.error is None, (name, pw, view.error)
        entries = read_keystore(stores.paths[name].read_bytes(), pw.encode() if pw else None)
        ours = {e.der for e in entries if e.trusted}
        assert ours == view.anchors, (name, pw)
        checked += 1
    assert checked == len(cases)
    # The interesting facts, spelled out: OpenSSL-made PKCS#12 gives Java nothing;
    # an encrypted PKCS#12 without a password gives Java nothing either.
    assert views[f"{stores.paths['openssl.p12']}|{PW}"].anchors == set()
    assert views[f"{stores.paths['mixed.p12']}|None"].anchors == set()
    leaf = stores.certs["leaf"].der
    assert leaf in views[f"{stores.paths['mixed.jks']}|{PW}"].anchors


@needs_keytool
def test_openssl_made_pkcs12_is_ignored_by_java(stores: Stores) -> None:
    ks = inspect_keystore(stores.paths["openssl.p12"].read_bytes(), PW.encode())
    assert [e.kind for e in ks.entries] == ["ignored-cert", "ignored-cert"]
    assert not ks.anchors
    assert any("Java ignores them" in w for w in ks.warnings)


@needs_keytool
def test_password_semantics(stores: Stores) -> None:
    nopw = stores.paths["nopw.p12"].read_bytes()
    # JDK 18+ password-less store: no password, or any password, reads the same.
    assert (
        read_keystore(nopw) == read_keystore(nopw, b"whatever") == read_keystore(nopw, b"changeit")
    )
    assert len(read_keystore(nopw)) == 3
    # JKS without a password: entries, no integrity check (Java does the same).
    ks = inspect_keystore(stores.paths["trust.jks"].read_bytes(), None)
    assert len(ks.entries) == 3 and not ks.integrity_checked
    # Encrypted PKCS#12 without a password: encrypted bags skipped, said so.
    ks = inspect_keystore(stores.paths["trust.p12"].read_bytes(), None)
    assert ks.entries == () and any("skipped" in w for w in ks.warnings)
    for name in ("trust.jks", "trust.jceks", "trust.p12", "mixed.p12", "secret.jceks"):
        with pytest.raises(InputError) as ei:
            read_keystore(stores.paths[name].read_bytes(), b"wrong", source=name)
        msg = str(ei.value)
        assert name in msg and "password" in msg and "\n" not in msg


# -- hand-built JKS: version 1, modified UTF-8, foreign certificate types -------------


def _jks(
    entries: list[tuple[int, bytes, bytes]],
    *,
    version: int = 2,
    password: str = PW,
    magic: int = 0xFEEDFEED,
    cert_type: bytes = b"X.509",
    count: int | None = None,
) -> bytes:
    body = struct.pack(">III", magic, version, len(entries) if count is None else count)
    for tag, alias, der in entries:
        body += struct.pack(">IH", tag, len(alias)) + alias + struct.pack(">Q", 0)
        if tag == 1:
            body += struct.pack(">I", 4) + b"KEY!" + struct.pack(">I", 1)
        if version == 2:
            body += struct.pack(">H", len(cert_type)) + cert_type
        body += struct.pack(">I", len(der)) + der
    digest = hashlib.sha1(password.encode("utf-16-be") + b"Mighty Aphrodite" + body).digest()
    return body + digest


def test_jks_version1_and_modified_utf8_alias() -> None:
    der = pki.make_cert("V1 Root").der
    # "a\0b" and U+1F600 as Java writes them: C0 80 and a CESU-8 surrogate pair.
    alias = b"a\xc0\x80b\xed\xa0\xbd\xed\xb8\x80"
    data = _jks([(2, alias, der), (1, b"k", der)], version=1)
    ks = inspect_keystore(data, PW.encode())
    assert ks.integrity_checked
    assert ks.entries == (
        KeystoreEntry("a\x00b\U0001f600", der, True, "trusted-cert"),
        KeystoreEntry("k", der, True, "key-chain"),
    )


def test_non_x509_certificate_type_is_skipped_with_a_warning() -> None:
    ks = inspect_keystore(_jks([(2, b"pgp", b"xx")], cert_type=b"PGP"), PW.encode())
    assert ks.entries == () and "not X.509" in ks.warnings[0]


def test_hostile_counts_and_lengths_cost_nothing() -> None:
    der = pki.make_cert("H").der
    cases = {
        "huge count": _jks([(2, b"a", der)], count=0xFFFFFFFF),
        "huge cert length": struct.pack(">III", 0xFEEDFEED, 2, 1)
        + struct.pack(">IH", 2, 1)
        + b"a"
        + struct.pack(">Q", 0)
        + struct.pack(">H", 5)
        + b"X.509"
        + struct.pack(">I", 0x7FFFFFFF),
        "huge key length": struct.pack(">III", 0xFEEDFEED, 2, 1)
        + struct.pack(">IH", 1, 1)
        + b"a"
        + struct.pack(">Q", 0)
        + struct.pack(">I", 0xFFFFFFFF),
        "huge chain": struct.pack(">III", 0xFEEDFEED, 2, 1)
        + struct.pack(">IH", 1, 1)
        + b"a"
        + struct.pack(">Q", 0)
        + struct.pack(">I", 0)
        + struct.pack(">I", 0xFFFFFFFF)
        + b"\0" * 40,
        "bad version": _jks([], version=7),
        "unknown tag": _jks([(9, b"a", der)]),
        "no digest": _jks([(2, b"a", der)])[:-20],
    }
    for what, data in cases.items():
        t0 = time.monotonic()
        with pytest.raises(InputError) as ei:
            read_keystore(data, PW.encode(), source="x.jks")
        assert time.monotonic() - t0 < 0.1, what
        assert "\n" not in str(ei.value) and "x.jks" in str(ei.value)


def test_jceks_secret_key_that_cannot_be_skipped_stops_safely() -> None:
    der = pki.make_cert("S").der
    good = _jks([(2, b"first", der)], magic=0xCECECECE)[:-20]
    good = good[:8] + struct.pack(">I", 3) + good[12:]
    nasty = [
        b"\xac\xed\x00\x05" + b"\x75" * 5000,  # arrays of arrays...: too deep
        b"\xac\xed\x00\x05\x75\x70" + struct.pack(">i", 0x7FFFFFF0),  # huge array of nothing
        b"\xac\xed\x00\x05\x7b",  # TC_EXCEPTION
        b"NOPE",
    ]
    for blob in nasty:
        data = good + struct.pack(">IH", 3, 2) + b"sk" + struct.pack(">Q", 0) + blob + b"\0" * 40
        data += struct.pack(">IH", 2, 1) + b"z" + b"\0" * 30
        ks = inspect_keystore(data, None, source="s.jceks")
        assert [e.alias for e in ks.entries] == ["first"]
        assert "entries after it were not read" in ks.warnings[0]


# -- every prefix and random corruption: entries or one-line InputError ----------------


def _entries_or_input_error(data: bytes, password: bytes | None) -> None:
    try:
        read_keystore(data, password, source="f")
    except InputError as exc:
        assert "\n" not in str(exc)


@needs_keytool
@pytest.mark.parametrize(
    "name", ["trust.jks", "secret.jceks", "nopw.p12", "trust.p12", "mixed.p12"]
)
def test_every_prefix(stores: Stores, name: str) -> None:
    data = stores.paths[name].read_bytes()
    t0 = time.monotonic()
    for n in range(len(data)):
        _entries_or_input_error(data[:n], None)
        _entries_or_input_error(data[:n], PW.encode())
    assert time.monotonic() - t0 < 10
    # A truncated JKS never passes as complete when a password is given.
    if name == "trust.jks":
        for n in range(len(data) - 1):
            with pytest.raises(InputError):
                read_keystore(data[:n], PW.encode())


@needs_keytool
@pytest.mark.parametrize(
    "name,trials",
    [("trust.jks", 3000), ("secret.jceks", 3000), ("nopw.p12", 3000), ("mixed.p12", 150)],
)
def test_random_corruption(stores: Stores, name: str, trials: int) -> None:
    rng = random.Random(1234)
    data = stores.paths[name].read_bytes()
    for _ in range(trials):
        buf = bytearray(data)
        for _ in range(rng.randint(1, 4)):
            buf[rng.randrange(len(buf))] = rng.randrange(256)
        _entries_or_input_error(bytes(buf), None)
        if name != "mixed.p12" or rng.random() < 0.5:
            _entries_or_input_error(bytes(buf), PW.encode())


def _der(tag: int, body: bytes) -> bytes:
    n = len(body)
    if n < 0x80:
        return bytes([tag, n]) + body
    ln = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(ln)]) + ln + body


def _children(data: bytes) -> list[bytes]:
    out, pos = [], 0
    while pos < len(data):
        first = data[pos + 1]
        if first < 0x80:
            hl, ln = 2, first
        else:
            k = first & 0x7F
            hl, ln = 2 + k, int.from_bytes(data[pos + 2 : pos + 2 + k], "big")
        out.append(data[pos : pos + hl + ln])
        pos += hl + ln
    return out


@needs_keytool
def test_huge_mac_iteration_count_is_refused_fast(stores: Stores) -> None:
    pfx = stores.paths["trust.p12"].read_bytes()
    top = _children(pfx)[0]
    version, auth, mac = _children(top[4:] if top[1] & 0x80 else top[2:])[:3]
    mac_body = mac[2:] if mac[1] < 0x80 else mac[2 + (mac[1] & 0x7F) :]
    digest, salt, _iters = _children(mac_body)
    mac2 = _der(0x30, digest + salt + _der(0x02, (2**31 - 1).to_bytes(4, "big")))
    hostile = _der(0x30, version + auth + mac2)
    t0 = time.monotonic()
    with pytest.raises(InputError, match=f"limit of {MAX_ITERATIONS}"):
        read_keystore(hostile, PW.encode(), source="big.p12")
    assert time.monotonic() - t0 < 1
