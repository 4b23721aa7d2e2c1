"""``model.certder`` reads the same facts as cryptography's parsed objects did.

The DER reader replaced ``from_certificate`` over cryptography's objects (whose
``cryptography.x509`` import was a third of a ``diagnose`` cold start).  The
old reader is kept in ``tests/helpers/certref.py`` as the oracle: every field
of every certificate of the x509-limbo corpus and certifi, of generated edge
cases (each extension malformed in the ways cryptography refuses), and every
signature check of every limbo case must agree.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import re
import ssl
import subprocess
import sys
import warnings
from dataclasses import fields
from pathlib import Path

import certifi
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from helpers import SHARED
from helpers.certref import reference_facts
from trustdoctor.lab.pki import hierarchy, make_cert
from trustdoctor.model import certder
from trustdoctor.model.cert import CertInfo, parse_certificate, verify_signature

LIMBO = SHARED / "limbo" / "limbo.json"
FIELDS = [f.name for f in fields(CertInfo) if f.name != "trusted_block"]


def _facts(info: CertInfo) -> dict[str, object]:
    out: dict[str, object] = {}
    for name in FIELDS:
        value = getattr(info, name)
        if name == "name_constraints" and value is not None:
            value = {f.name: getattr(value, f.name) for f in fields(value)}
        out[name] = value
    return out


KEY_FIELDS = ("key_type", "key_bits", "key_curve", "spki_sha256")


def _same_as_reference(der: bytes, *, damaged: bool = False) -> None:
    """``damaged``: bytes changed at random, where one difference is known:
    a key whose bytes cryptography cannot load (an EC point off its curve)
    was "unknown" to it; the reader reports the key as declared (its
    signatures then fail to verify, as before)."""
    try:
        want = reference_facts(der)
    except Exception as exc:  # cryptography refuses it: so must the DER reader,
        if "EncodedDefault" in str(exc):  # unless Go and OpenSSL read it (below)
            assert damaged, "an explicit DEFAULT in a generated case: see its own test"
            parse_certificate(der)  # read (what it holds is the flipped byte's business)
            return
        with pytest.raises(ValueError):
            parse_certificate(der)
        return
    got = _facts(parse_certificate(der))
    if damaged and want["key_type"] == "unknown" != got["key_type"]:
        for k in KEY_FIELDS:
            want[k] = got[k]
    if damaged and want["unhandled_critical"] == ("unparsable-extensions",) != got[
        "unhandled_critical"
    ]:
        # cryptography refused the extensions for an explicit DEFAULT inside
        # one (basicConstraints' cA FALSE); the reader reads them.
        assert _extensions_error(der).find("EncodedDefault") >= 0
        return
    if want["unhandled_critical"] == ("unparsable-extensions",) != got["unhandled_critical"] and (
        "path_length must be None" in _extensions_error(der)
    ):
        # A pathLenConstraint beside cA FALSE: cryptography refuses the
        # extensions; Go, OpenSSL 3 and Java read them (measured), so does the reader.
        assert got["is_ca"] is False and got["path_length"] is not None
        return
    diff = {k: (want[k], got[k]) for k in FIELDS if want[k] != got[k]}
    assert not diff, diff


def _extensions_error(der: bytes) -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            list(x509.load_der_x509_certificate(der).extensions)
        except Exception as exc:
            return str(exc)
    return ""


def _limbo_cases() -> list[dict[str, object]]:
    if not LIMBO.is_file():  # pragma: no cover - the corpus sits next to the checkout
        pytest.skip("x509-limbo corpus not present")
    cases: list[dict[str, object]] = json.loads(LIMBO.read_text())["testcases"]
    return cases


def _ders(case: dict[str, object]) -> list[bytes]:
    pems = [*case["trusted_certs"], *case["untrusted_intermediates"], case["peer_certificate"]]  # type: ignore[misc]
    return [ssl.PEM_cert_to_DER_cert(p) for p in pems]


def test_every_limbo_and_certifi_certificate_reads_the_same() -> None:
    ders: dict[bytes, None] = {}
    for case in _limbo_cases():
        ders.update(dict.fromkeys(_ders(case)))
    text = Path(certifi.where()).read_text()
    for m in re.finditer(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", text, re.S):
        ders[ssl.PEM_cert_to_DER_cert(m.group(0))] = None
    assert len(ders) > 900
    for der in ders:
        _same_as_reference(der)


def test_every_limbo_signature_check_gives_the_same_answer() -> None:
    """Same answers as ``verify_directly_issued_by`` (+ the SHA-1/MD5 path)."""
    from helpers.certref import reference_verify

    checked = 0
    for case in _limbo_cases():
        infos = []
        for der in _ders(case):
            try:
                infos.append(parse_certificate(der))
            except ValueError:
                continue
        for child in infos:
            for parent in infos:
                if child.issuer_der != parent.subject_der:
                    continue
                assert verify_signature(child, parent) == reference_verify(child.der, parent.der)
                checked += 1
    assert checked > 1000


def test_generated_hierarchies_of_every_key_kind_and_hash() -> None:
    for kind in ("ec", "ec384", "rsa2048", "ed25519"):
        h = hierarchy("kinds.test", key_kind=kind) if kind != "ec" else hierarchy("kinds.test")
        for issued in (h.root, h.intermediate, h.leaf):
            _same_as_reference(issued.cert.public_bytes(Encoding.DER))
    for hash_alg in ("sha1", "md5", "sha384"):
        root = make_cert("Legacy Root", key_kind="rsa2048")
        leaf = make_cert("legacy.test", issuer=root, ca=False, hash_alg=hash_alg)
        _same_as_reference(leaf.cert.public_bytes(Encoding.DER))
        child, parent = (parse_certificate(x.cert.public_bytes(Encoding.DER)) for x in (leaf, root))
        assert child.signature_hash == hash_alg
        assert verify_signature(child, parent) is None  # weak but correct: not "bad"
    v1 = make_cert("Old Root", version1=True)
    _same_as_reference(v1.cert.public_bytes(Encoding.DER))
    assert parse_certificate(v1.cert.public_bytes(Encoding.DER)).version == 1


def test_the_same_text_in_another_string_type_is_another_issuer() -> None:
    # Go and OpenSSL chain by encoding: a PrintableString CN is not the
    # UTF8String CN of the same text, and the model must not merge them.
    printable = x509.Name(
        [x509.NameAttribute(NameOID.COMMON_NAME, "Twin CA", x509.name._ASN1Type.PrintableString)]
    )
    der = make_cert("Twin CA", issuer_name=printable).cert.public_bytes(Encoding.DER)
    _same_as_reference(der)
    info = parse_certificate(der)
    assert info.subject == info.issuer == "CN=Twin CA"
    assert info.subject_der != info.issuer_der
    assert not info.self_issued


def test_names_escaping_and_string_types() -> None:
    attrs = [
        (NameOID.COMMON_NAME, ' #lead, "quoted" + semi; <a> trail ', None),
        (NameOID.ORGANIZATION_NAME, "Ünïcødé BMP", x509.name._ASN1Type.BMPString),
        (NameOID.ORGANIZATIONAL_UNIT_NAME, "Universal", x509.name._ASN1Type.UniversalString),
        (NameOID.EMAIL_ADDRESS, "ops@example.test", None),
        (NameOID.DOMAIN_COMPONENT, "example", None),
        (NameOID.X500_UNIQUE_IDENTIFIER, b"\x00\x01\xff", x509.name._ASN1Type.BitString),
    ]
    name = x509.Name(
        [
            x509.NameAttribute(oid, value, _type=t) if t else x509.NameAttribute(oid, value)
            for oid, value, t in attrs
        ]
    )
    multi = x509.Name(
        [
            x509.RelativeDistinguishedName(
                [
                    x509.NameAttribute(NameOID.COMMON_NAME, "a+b"),
                    x509.NameAttribute(NameOID.SERIAL_NUMBER, "42"),
                ]
            )
        ]
    )
    for subject in (name, multi):
        _same_as_reference(make_cert(subject).cert.public_bytes(Encoding.DER))


# Extension values, raw, each placed in an otherwise plain certificate: the
# ways cryptography refuses one (and a few it accepts), per extension.
EDGE_EXTENSIONS: list[tuple[str, list[tuple[str, bytes, bool]]]] = [
    ("empty SAN", [("2.5.29.17", b"\x30\x00", False)]),
    ("empty EKU", [("2.5.29.37", b"\x30\x00", False)]),
    ("empty AIA", [("1.3.6.1.5.5.7.1.1", b"\x30\x00", False)]),
    ("BC empty", [("2.5.29.19", b"\x30\x00", True)]),
    ("BC pathLen 0", [("2.5.29.19", b"\x30\x06\x01\x01\xff\x02\x01\x00", True)]),
    ("BC pathLen without cA", [("2.5.29.19", b"\x30\x03\x02\x01\x00", True)]),
    ("KU no bits", [("2.5.29.15", b"\x03\x01\x00", True)]),
    ("KU trailing zero octet", [("2.5.29.15", b"\x03\x03\x00\x80\x00", True)]),
    ("KU one bit", [("2.5.29.15", b"\x03\x02\x07\x80", True)]),
    ("KU padding not zero", [("2.5.29.15", b"\x03\x02\x01\x81", True)]),
    ("KU encipherOnly alone", [("2.5.29.15", b"\x03\x02\x00\x01", True)]),
    ("KU decipherOnly (bit 8)", [("2.5.29.15", b"\x03\x03\x07\x08\x80", True)]),
    ("SKI empty", [("2.5.29.14", b"\x04\x00", False)]),
    ("AKI empty", [("2.5.29.35", b"\x30\x00", False)]),
    ("AKI issuer only", [("2.5.29.35", b"\x30\x08\xa1\x06\xa4\x04" b"\x30\x02\x31\x00", False)]),
    ("SAN IP of 5 octets", [("2.5.29.17", b"\x30\x07\x87\x05\x01\x02\x03\x04\x05", False)]),
    ("SAN IP network", [("2.5.29.17", b"\x30\x0a\x87\x08\xc0\x00\x02\x00\xff\xff\xff\x00", False)]),
    ("SAN URI", [("2.5.29.17", b"\x30\x07\x86\x05http:", False)]),
    ("SAN x400Address", [("2.5.29.17", b"\x30\x02\xa3\x00", False)]),
    ("SAN registeredID", [("2.5.29.17", b"\x30\x05\x88\x03\x2a\x03\x04", False)]),
    ("SAN directoryName", [("2.5.29.17", b"\x30\x06\xa4\x04\x30\x02\x31\x00", False)]),
    ("SAN empty directoryName", [("2.5.29.17", b"\x30\x04\xa4\x02\x30\x00", False)]),
    ("SAN dNSName not UTF-8", [("2.5.29.17", b"\x30\x05\x82\x03a\xe9b", False)]),
    ("SAN dNSName UTF-8", [("2.5.29.17", b"\x30\x06\x82\x04a\xc3\xa9b", False)]),
    ("NC empty", [("2.5.29.30", b"\x30\x00", True)]),
    ("NC IP address", [("2.5.29.30", b"\x30\x0a\xa0\x08\x30\x06\x87\x04\x0a\x00\x00\x00", True)]),
    (
        "NC IP host bits",
        [("2.5.29.30", b"\x30\x0e\xa0\x0c\x30\x0a\x87\x08\x0a\x00\x00\x01\xff\0\0\0", True)],
    ),
    (
        "NC IP mask not a prefix",
        [("2.5.29.30", b"\x30\x0e\xa0\x0c\x30\x0a\x87\x08\x0a\0\0\0\xff\0\xff\0", True)],
    ),
    ("NC minimum 1", [("2.5.29.30", b"\x30\x0c\xa0\x0a\x30\x08\x82\x03a.b\x80\x01\x01", True)]),
    ("NC maximum", [("2.5.29.30", b"\x30\x0c\xa0\x0a\x30\x08\x82\x03a.b\x81\x01\x01", True)]),
    ("NC URI", [("2.5.29.30", b"\x30\x09\xa0\x07\x30\x05\x86\x03a.b", True)]),
    ("NC wildcard", [("2.5.29.30", b"\x30\x0b\xa0\x09\x30\x07\x82\x05*.a.b", True)]),
    ("policyConstraints empty", [("2.5.29.36", b"\x30\x00", True)]),
    ("inhibitAnyPolicy negative", [("2.5.29.54", b"\x02\x01\xff", True)]),
    ("policies empty", [("2.5.29.32", b"\x30\x00", False)]),
    ("policies not PolicyInformation", [("2.5.29.32", b"\x30\x03\x02\x01\x01", False)]),
    ("CRL DP empty", [("2.5.29.31", b"\x30\x00", False)]),
    ("CRL DP not DistributionPoint", [("2.5.29.31", b"\x30\x03\x02\x01\x01", False)]),
    ("TLS feature", [("1.3.6.1.5.5.7.1.24", b"\x30\x03\x02\x01\x05", False)]),
    ("TLS feature not INTEGER", [("1.3.6.1.5.5.7.1.24", b"\x30\x03\x04\x01\x05", False)]),
    ("unknown critical", [("1.2.3.4", b"\x05\x00", True)]),
    ("unknown, not DER", [("1.2.3.4", b"\xff", False)]),
    (
        "AIA of a dNSName",
        [
            (
                "1.3.6.1.5.5.7.1.1",
                b"\x30\x11\x30\x0f\x06\x08\x2b\x06\x01\x05\x05\x07\x30\x02\x82\x03a.b",
                False,
            )
        ],
    ),
    ("EKU twice the same", [("2.5.29.37", b"\x30\x0a" + b"\x06\x03\x2a\x03\x04" * 2, False)]),
    ("policyMappings empty", [("2.5.29.33", b"\x30\x00", False)]),
    ("SIA empty", [("1.3.6.1.5.5.7.1.11", b"\x30\x00", False)]),
    ("IAN empty", [("2.5.29.18", b"\x30\x00", False)]),
    ("OCSP no-check", [("1.3.6.1.5.5.7.48.1.5", b"\x05\x00", False)]),
    ("OCSP no-check not NULL", [("1.3.6.1.5.5.7.48.1.5", b"\x02\x01\x01", False)]),
    ("SCT list not a list", [("1.3.6.1.4.1.11129.2.4.2", b"\x04\x01\x01", False)]),
    ("poison not NULL", [("1.3.6.1.4.1.11129.2.4.3", b"\x02\x01\x01", True)]),
]


@pytest.mark.parametrize("label,exts", EDGE_EXTENSIONS, ids=[x[0] for x in EDGE_EXTENSIONS])
def test_edge_extensions_read_as_cryptography_read_them(
    label: str, exts: list[tuple[str, bytes, bool]]
) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "edge")])
    b = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(7)
        .not_valid_before(dt.datetime(2020, 1, 1))
        .not_valid_after(dt.datetime(2040, 1, 1))
    )
    for oid, value, critical in exts:
        b = b.add_extension(
            x509.UnrecognizedExtension(x509.ObjectIdentifier(oid), value), critical=critical
        )
    _same_as_reference(b.sign(key, hashes.SHA256()).public_bytes(Encoding.DER))


def test_a_duplicate_extension_makes_the_set_unparsable() -> None:
    der = make_cert("dup.test", ca=False, dns=("dup.test",)).cert.public_bytes(Encoding.DER)
    info = parse_certificate(der)
    assert info.dns_names == ("dup.test",)
    # Rename the SKI extension's OID (2.5.29.14) to the AKI's (2.5.29.35): same length.
    twice = der.replace(b"\x06\x03\x55\x1d\x0e", b"\x06\x03\x55\x1d\x23", 1)
    assert twice != der
    got = parse_certificate(twice)
    assert got.unhandled_critical == ("unparsable-extensions",)
    assert got.dns_names == () and got.ski is None
    with pytest.raises(x509.DuplicateExtension), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        list(x509.load_der_x509_certificate(twice).extensions)


def test_any_damage_is_a_value_error_and_nothing_else() -> None:
    """Every truncation and a few thousand byte flips: the reader answers or
    raises ValueError (the callers' 'not a certificate'), never IndexError
    and never a hang; where cryptography accepts the damaged bytes, the
    facts agree."""
    # Fixed bytes (the flips are seeded): a limbo leaf with the usual extensions.
    case = next(c for c in _limbo_cases() if c["id"] == "rfc5280::nc::permitted-dns-match")
    der = ssl.PEM_cert_to_DER_cert(case["peer_certificate"])  # type: ignore[arg-type]
    for cut in range(len(der)):
        with pytest.raises(ValueError):
            parse_certificate(der[:cut])
    with pytest.raises(ValueError):
        parse_certificate(der + b"\x00")
    rng = random.Random(13)
    for _ in range(4000):
        damaged = bytearray(der)
        for _ in range(rng.randint(1, 3)):
            damaged[rng.randrange(len(der))] = rng.randrange(256)
        _same_as_reference(bytes(damaged), damaged=True)


def test_signature_failures_are_named() -> None:
    h = hierarchy("sig.test")
    leaf, inter, root = (
        parse_certificate(x.cert.public_bytes(Encoding.DER))
        for x in (h.leaf, h.intermediate, h.root)
    )
    assert verify_signature(leaf, inter) is None
    assert verify_signature(leaf, root) == "name-mismatch"
    impostor = make_cert(h.intermediate.cert.subject, issuer=h.root)  # same name, other key
    other = parse_certificate(impostor.cert.public_bytes(Encoding.DER))
    assert verify_signature(leaf, other) == "bad-signature"
    ed_root = make_cert(h.intermediate.cert.subject, key_kind="ed25519")
    ed = parse_certificate(ed_root.cert.public_bytes(Encoding.DER))
    # An ECDSA signature, an Ed25519 key:
    assert verify_signature(leaf, ed) == "unsupported-algorithm"


def test_reading_and_checking_does_not_import_cryptography_x509() -> None:
    """The point of the reader: a diagnose cold start without cryptography.x509."""
    h = hierarchy("imports.test")
    ders = [x.cert.public_bytes(Encoding.DER).hex() for x in (h.leaf, h.intermediate)]
    # Nor the cffi OpenSSL backend, which ``ec.ECDSA()`` imports to check a
    # signing option (8-12 ms).
    code = f"""
import sys
PREFIXES = ("cryptography.x509", "email", "cryptography.hazmat.backends")
from trustdoctor.model.cert import parse_certificate, verify_signature
leaf, inter = (parse_certificate(bytes.fromhex(d)) for d in {ders!r})
assert leaf.dns_names and verify_signature(leaf, inter) is None
print(sorted(m for m in sys.modules if m.startswith(PREFIXES)))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_name_rdns_reads_a_name() -> None:
    info = parse_certificate(make_cert("rdns.test").cert.public_bytes(Encoding.DER))
    assert certder.name_rdns(info.subject_der) == [[("2.5.4.3", "rdns.test")]]
    with pytest.raises(ValueError):
        certder.name_rdns(b"\x31\x00")


def test_explicit_defaults_are_read_as_go_and_openssl_read_them() -> None:
    """An extension's ``critical FALSE``, basicConstraints' ``cA FALSE`` and a
    v1 version field, written out although DER leaves DEFAULT values out:
    rust-asn1 (cryptography) refuses the certificate, Go and OpenSSL read it
    (the oracle case ``enc/explicit-defaults`` runs both), and so does the
    reader, with the values they stand for."""
    from trustdoctor.conformance.pathsets import encoding_cases
    from trustdoctor.model import der as D

    case = next(c for c in encoding_cases() if c.id == "enc/explicit-defaults")
    leaf_der, inter_der = case.chain
    with pytest.raises(ValueError, match="EncodedDefault"):
        reference_facts(leaf_der)
    leaf, inter = parse_certificate(leaf_der), parse_certificate(inter_der)
    assert (leaf.is_ca, leaf.bc_critical, leaf.unhandled_critical) == (False, True, ())
    assert leaf.dns_names == ("enc.paths.test",)
    assert verify_signature(leaf, inter) is None

    # A v1 certificate whose version field says 0 (v1) instead of leaving it out.
    v1 = make_cert("Explicit v1", version1=True).cert.public_bytes(Encoding.DER)
    (_, ts, te, _), alg, sig = D.elements(v1, *D.single(v1, 0, len(v1), 0x30))
    body = b"\xa0\x03\x02\x01\x00" + v1[ts:te]
    length = len(body)
    header = bytes([0x30, 0x82, length >> 8, length & 0xFF]) if length > 255 else (
        bytes([0x30, 0x81, length]) if length > 127 else bytes([0x30, length])
    )
    tbs = header + body
    rest = v1[alg[3] : sig[2]]
    total = len(tbs) + len(rest)
    outer = bytes([0x30, 0x82, total >> 8, total & 0xFF])
    explicit = outer + tbs + rest
    with pytest.raises(ValueError, match="EncodedDefault"):
        reference_facts(explicit)
    got = parse_certificate(explicit)
    plain = parse_certificate(v1)
    assert got.version == plain.version == 1
    same = ("subject", "serial", "not_after", "key_type")
    assert [getattr(got, k) for k in same] == [getattr(plain, k) for k in same]


def test_a_latin1_t61string_is_read_as_openssl_reads_it() -> None:
    """A T61String that is not UTF-8 (old CAs wrote Latin-1 there): OpenSSL
    reads it as Latin-1, Go takes its bytes (oracle case
    ``enc/t61string-latin1``); cryptography refused the certificate."""
    from trustdoctor.conformance.pathsets import encoding_cases

    case = next(c for c in encoding_cases() if c.id == "enc/t61string-latin1")
    with pytest.raises(ValueError):
        reference_facts(case.chain[0])
    info = parse_certificate(case.chain[0])
    assert info.subject == "O=\u00e9!!,CN=enc.paths.test"
    assert info.organization == "\u00e9!!"
    assert verify_signature(info, parse_certificate(case.chain[1])) is None


def test_a_name_constraint_minimum_of_zero_is_read_as_go_and_openssl_read_it() -> None:
    """A GeneralSubtree's ``minimum 0`` written out (a DEFAULT value): Go and
    OpenSSL read the CA (oracle case ``enc/nc-minimum-zero``), cryptography
    refused it; the reader reads the constraint.  A maximum, or a minimum of
    1, is read too: the OpenSSL model refuses those names with 49 (oracle
    cases ``enc/nc-maximum``, ``enc/nc-minimum-one``), Go ignores them."""
    from trustdoctor.conformance import oracles as O
    from trustdoctor.conformance.pathsets import encoding_cases

    cases = {c.id: c for c in encoding_cases()}
    ca_der = cases["enc/nc-minimum-zero"].chain[1]
    # cryptography loads the certificate and refuses its extensions.
    assert reference_facts(ca_der)["unhandled_critical"] == ("unparsable-extensions",)
    ca = parse_certificate(ca_der)
    assert ca.unhandled_critical == ()
    assert ca.name_constraints is not None
    assert ca.name_constraints.permitted_dns == ("paths.test",)
    assert verify_signature(parse_certificate(cases["enc/nc-minimum-zero"].chain[0]), ca) is None
    for cid, code in (("enc/nc-minimum-zero", None), ("enc/nc-maximum", 49),
                      ("enc/nc-minimum-one", 49), ("enc/nc-minimum-zero-violated", 47)):
        case = cases[cid]
        assert parse_certificate(case.chain[1]).unhandled_critical == ()
        assert O.model_outcome(case, "openssl", host=True).code == code, cid
        assert O.model_outcome(case, "go").ok is (code != 47), cid


def test_a_v2_certificate_is_read_as_go_and_openssl_read_it() -> None:
    """Version field 1 (X.509 v2): cryptography refused it; Go and OpenSSL
    read it (oracle cases ``enc/v2-*``).  Its extensions are read as OpenSSL
    reads them; the Go model does not look at them, as Go does not."""
    from trustdoctor.conformance import oracles as O
    from trustdoctor.conformance.pathsets import encoding_cases

    cases = {c.id: c for c in encoding_cases()}
    bare = cases["enc/v2-root"].roots[0]
    with pytest.raises(x509.InvalidVersion):
        reference_facts(bare)
    root = parse_certificate(bare)
    assert (root.version, root.is_ca, root.ski) == (2, None, None)
    assert verify_signature(root, root) is None
    inter = parse_certificate(cases["enc/v2-inter-with-extensions"].chain[1])
    assert (inter.version, inter.is_ca) == (2, True)
    expected = {  # case: (Go trusts, OpenSSL's verify code)
        "enc/v2-root": (True, 79),
        "enc/v2-root-with-extensions": (True, None),
        "enc/v2-inter-with-extensions": (False, None),
    }
    for cid, (go_ok, code) in expected.items():
        assert O.model_outcome(cases[cid], "go").ok is go_ok, cid
        assert O.model_outcome(cases[cid], "openssl", host=True).code == code, cid
