"""A certificate's facts read from its DER encoding (pure).

Why trustdoctor reads certificates itself: ``import cryptography.x509`` costs
35-50 ms on the 2-core machine of ``docs/performance.md`` (its RFC 4514
parser compiles a large regular expression, ``email.utils`` comes with its
general names), a third of a ``diagnose`` cold start, and cryptography's
certificate loader imports it.  The facts the engine needs (names, validity,
the extensions clients act on, the key's kind and size) are a walk over a few
dozen DER elements; signatures are still checked by cryptography (OpenSSL),
on the key loaded from the SubjectPublicKeyInfo (``model.cert``).

The reader is as strict as cryptography's loader was where that decided what
trustdoctor calls a certificate (definite, minimal DER), and
reads the values the way cryptography presented them (RFC 4514 text with its
escaping and attribute names; a malformed extension among those cryptography
parses makes the set ``unparsable``), so that reports do not change with the
reader.  Deliberate differences, where Go's and OpenSSL's parsers read
what cryptography refused, and trustdoctor must see what they see
(``conformance/pathsets.py`` ``encoding_cases``, checked against both): a
DEFAULT value encoded explicitly (an extension's ``critical FALSE``,
basicConstraints' ``cA FALSE``, version v1, a name-constraint subtree's
``minimum 0``), a T61String that is not UTF-8 (read as Latin-1), and an
X.509 v2 certificate.
``tests/engine/test_certder.py`` compares both readers on every certificate
of the x509-limbo corpus, certifi, and generated edge cases.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from . import der, digest
from .der import DerError
from .record import record
from .target import ip_text


class CertificateError(DerError):
    """The bytes are not an X.509 certificate this reader accepts."""


# Elements are read by position (``der.header``/``der.elements``: tag, content
# start, content end, element start) over the certificate's own bytes.
_items = der.elements
_one = der.single


# OID texts by encoding: a certificate holds a dozen or more, nearly all of
# them the same few dozen across certificates.
_OIDS: dict[bytes, str] = {}
_MAX_OIDS = 4096


def _oid(d: bytes, s: int, e: int) -> str:
    """An OBJECT IDENTIFIER, minimally encoded (rust-asn1 refuses a
    sub-identifier that starts with 0x80)."""
    raw = d[s:e]
    text = _OIDS.get(raw)
    if text is None:
        prev = 0
        for b in raw:
            if b == 0x80 and not prev & 0x80:
                raise CertificateError("non-minimal OID")
            prev = b
        text = der.oid_at(raw, 0, len(raw))
        if len(_OIDS) < _MAX_OIDS:
            _OIDS[raw] = text
    return text


def _integer(d: bytes, s: int, e: int) -> int:
    if s == e:
        raise CertificateError("empty INTEGER")
    if e - s > 1 and (
        (d[s] == 0 and not d[s + 1] & 0x80) or (d[s] == 0xFF and d[s + 1] & 0x80)
    ):
        raise CertificateError("non-minimal INTEGER")
    return int.from_bytes(d[s:e], "big", signed=True)


def _boolean(d: bytes, s: int, e: int) -> bool:
    if e - s != 1 or d[s] not in (0, 0xFF):
        raise CertificateError("bad BOOLEAN")
    return d[s] == 0xFF


def _bits(d: bytes, s: int, e: int) -> bytes:
    """A BIT STRING's content: the unused-bit count, then the bits; the
    unused bits must be zero (DER)."""
    if s == e or d[s] > 7 or (e - s == 1 and d[s]):
        raise CertificateError("bad BIT STRING")
    if d[s] and d[e - 1] & ((1 << d[s]) - 1):
        raise CertificateError("BIT STRING padding is not zero")
    return d[s:e]


def _ia5(d: bytes, s: int, e: int) -> str:
    """An IA5String of a general name, read as cryptography reads it: UTF-8
    (a non-ASCII name is the client models' business, not a parse error)."""
    try:
        return d[s:e].decode("utf-8")
    except UnicodeDecodeError:
        raise CertificateError("a general name is not text") from None


def _well_formed(d: bytes, s: int, e: int) -> None:
    """Every element of [s, e) is DER, recursively (constructed ones)."""
    for tag, cs, ce, _ in _items(d, s, e):
        if tag & 0x20:
            _well_formed(d, cs, ce)


# --- Names ------------------------------------------------------------------

# RFC 4514 short names, as cryptography prints them (``x509.name._NAMEOID_TO_NAME``,
# RFC 4514 section 3 plus STREET, DC and UID); any other attribute type is
# printed as its dotted OID.
_SHORT_NAMES = {
    "2.5.4.3": "CN",
    "2.5.4.7": "L",
    "2.5.4.8": "ST",
    "2.5.4.10": "O",
    "2.5.4.11": "OU",
    "2.5.4.6": "C",
    "2.5.4.9": "STREET",
    "0.9.2342.19200300.100.1.25": "DC",
    "0.9.2342.19200300.100.1.1": "UID",
}
COMMON_NAME = "2.5.4.3"
ORGANIZATION = "2.5.4.10"


# Attribute value types cryptography's name reader takes (rust-asn1 refuses
# the others): OCTET STRING, UTF8String, NumericString, PrintableString,
# T61String, IA5String, UTCTime, GeneralizedTime, VisibleString read as
# UTF-8; UniversalString and BMPString; a BIT STRING for
# x500UniqueIdentifier only.  Measured against cryptography 50.
_TEXT_TAGS = frozenset({0x04, 0x0C, 0x12, 0x13, 0x14, 0x16, 0x17, 0x18, 0x1A})
_PRINTABLE = frozenset(
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 '()+,-./:=?"
)
_UNIQUE_IDENTIFIER = "2.5.4.45"


def _attr_value(
    d: bytes, oid: str, tag: int, s: int, e: int, lax: bool = False
) -> str | bytes:
    """An attribute value as cryptography decodes it; a value it refuses
    raises, or with ``lax`` is read as UTF-8 with replacement characters."""
    raw = d[s:e]
    try:
        if tag == 0x03 and oid == _UNIQUE_IDENTIFIER:
            return raw
        if tag == 0x1E and len(raw) % 2 == 0:
            return raw.decode("utf-16-be")
        if tag == 0x1C and len(raw) % 4 == 0:
            return raw.decode("utf-32-be")
        if tag in _TEXT_TAGS and (tag != 0x13 or _PRINTABLE.issuperset(raw)):
            return raw.decode("utf-8")
    except UnicodeDecodeError:
        if tag == 0x14:
            # A T61String that is not UTF-8: Latin-1, as OpenSSL converts it
            # (and Go reads its bytes as they are); cryptography refused it.
            # The oracle case enc/t61string-latin1 checks both clients.
            return raw.decode("latin-1")
    if lax:
        return raw.decode("utf-8", "replace")
    raise CertificateError("a name attribute's value is not of a type or encoding read here")


def _escape(value: str | bytes) -> str:
    """RFC 4514 section 2.4 escaping, as cryptography does it."""
    if not value:
        return ""
    if isinstance(value, bytes):
        return "#" + value.hex()
    for ch, esc in (
        ("\\", "\\\\"),
        ('"', '\\"'),
        ("+", "\\+"),
        (",", "\\,"),
        (";", "\\;"),
        ("<", "\\<"),
        (">", "\\>"),
        ("\0", "\\00"),
    ):
        if ch in value:
            value = value.replace(ch, esc)
    if value[0] == "#" or (value[0] == " " and len(value) > 1):
        value = "\\" + value
    if value[-1] == " ":
        value = value[:-1] + "\\ "
    return value


Attribute = tuple[str, "str | bytes"]  # (type OID, value as decoded below)


@record
class _Name:
    """A distinguished name: its RFC 4514 text and its attributes."""

    text: str  # RFC 4514 (RDNs last to first); "<empty>" for an empty name
    attrs: tuple[Attribute, ...]  # in encoding order


def _rdns(d: bytes, s: int, e: int, lax: bool = False) -> list[list[Attribute]]:
    """A Name's content: SEQUENCE OF non-empty SET OF {type, value}."""
    out: list[list[Attribute]] = []
    for tag, rs, re_, _ in _items(d, s, e):
        if tag != 0x31:
            raise CertificateError("a name holds something other than a SET")
        members = _items(d, rs, re_)
        if not members:
            raise CertificateError("an empty relative distinguished name")
        rdn: list[Attribute] = []
        for atag, a_s, a_e, _ in members:
            inner = _items(d, a_s, a_e)
            if atag != 0x30 or len(inner) != 2 or inner[0][0] != 0x06:
                raise CertificateError("bad attribute")
            vtag, vs, ve, _ = inner[1]
            oid = _oid(d, inner[0][1], inner[0][2])
            rdn.append((oid, _attr_value(d, oid, vtag, vs, ve, lax)))
        out.append(rdn)
    return out


def name_rdns(name: bytes, *, lax: bool = False) -> list[list[Attribute]]:
    """The relative distinguished names of a Name's DER (``CertInfo.subject_der``),
    each a list of (type OID, value); CertificateError if it is not a Name."""
    s, e = _one(name, 0, len(name), 0x30)
    return _rdns(name, s, e, lax)


def _name(d: bytes, s: int, e: int) -> _Name:
    rdns = _rdns(d, s, e)
    text = ",".join(
        "+".join(f"{_SHORT_NAMES.get(o, o)}={_escape(v)}" for o, v in rdn)
        for rdn in reversed(rdns)
    )
    return _Name(text or "<empty>", tuple(a for rdn in rdns for a in rdn))


# --- Time -------------------------------------------------------------------


def _time(d: bytes, tag: int, s: int, e: int) -> dt.datetime:
    """UTCTime ``YYMMDDHHMMSSZ`` or GeneralizedTime ``YYYYMMDDHHMMSSZ``, the
    only forms RFC 5280 section 4.1.2.5 allows (and cryptography reads)."""
    text = d[s:e]
    if not (text[:-1].isdigit() and text[-1:] == b"Z"):
        raise CertificateError("bad time")
    if tag == 0x17 and len(text) == 13:
        yy = int(text[:2])
        year, rest = (1900 + yy if yy >= 50 else 2000 + yy), text[2:]
    elif tag == 0x18 and len(text) == 15:
        year, rest = int(text[:4]), text[4:]
    else:
        raise CertificateError("bad time")
    try:
        return dt.datetime(
            year,
            int(rest[0:2]),
            int(rest[2:4]),
            int(rest[4:6]),
            int(rest[6:8]),
            int(rest[8:10]),
            tzinfo=dt.UTC,
        )
    except ValueError:
        raise CertificateError("bad time") from None


# --- Algorithms and keys ----------------------------------------------------

# Signature algorithms: OID → (name as cryptography's ``_OID_NAMES`` gives it,
# hash).  The hash of RSASSA-PSS is in its parameters.  Sources: RFC 3279,
# RFC 4055, RFC 5758, RFC 8410; cryptography ``hazmat/_oid.py``.
SIGNATURE_ALGORITHMS: dict[str, tuple[str, str | None]] = {
    # md2/md4 and the OIW SHA-1 OID: names of RFC 3279 / OIW (cryptography
    # has none for them and said "Unknown OID", hash "unknown").
    "1.2.840.113549.1.1.2": ("md2WithRSAEncryption", "md2"),
    "1.2.840.113549.1.1.3": ("md4WithRSAEncryption", "md4"),
    "1.2.840.113549.1.1.4": ("md5WithRSAEncryption", "md5"),
    "1.2.840.113549.1.1.5": ("sha1WithRSAEncryption", "sha1"),
    "1.3.14.3.2.29": ("sha1WithRSASignature", "sha1"),
    "1.2.840.113549.1.1.14": ("sha224WithRSAEncryption", "sha224"),
    "1.2.840.113549.1.1.11": ("sha256WithRSAEncryption", "sha256"),
    "1.2.840.113549.1.1.12": ("sha384WithRSAEncryption", "sha384"),
    "1.2.840.113549.1.1.13": ("sha512WithRSAEncryption", "sha512"),
    "1.2.840.113549.1.1.10": ("rsassaPss", None),
    "1.2.840.10045.4.1": ("ecdsa-with-SHA1", "sha1"),
    "1.2.840.10045.4.3.1": ("ecdsa-with-SHA224", "sha224"),
    "1.2.840.10045.4.3.2": ("ecdsa-with-SHA256", "sha256"),
    "1.2.840.10045.4.3.3": ("ecdsa-with-SHA384", "sha384"),
    "1.2.840.10045.4.3.4": ("ecdsa-with-SHA512", "sha512"),
    "1.2.840.10040.4.3": ("dsa-with-sha1", "sha1"),
    "2.16.840.1.101.3.4.3.1": ("dsa-with-sha224", "sha224"),
    "2.16.840.1.101.3.4.3.2": ("dsa-with-sha256", "sha256"),
    "1.3.101.112": ("ed25519", None),
    "1.3.101.113": ("ed448", None),
}
RSA_PSS = "1.2.840.113549.1.1.10"

# Hash OIDs (RFC 3279, RFC 5754) for RSASSA-PSS parameters.
HASHES = {
    "1.3.14.3.2.26": "sha1",
    "2.16.840.1.101.3.4.2.4": "sha224",
    "2.16.840.1.101.3.4.2.1": "sha256",
    "2.16.840.1.101.3.4.2.2": "sha384",
    "2.16.840.1.101.3.4.2.3": "sha512",
}
MGF1 = "1.2.840.113549.1.1.8"

# Named curves: OID → (name as cryptography gives it, key size in bits).
# SEC 2 and RFC 5639.
CURVES = {
    "1.2.840.10045.3.1.1": ("secp192r1", 192),
    "1.3.132.0.33": ("secp224r1", 224),
    "1.2.840.10045.3.1.7": ("secp256r1", 256),
    "1.3.132.0.34": ("secp384r1", 384),
    "1.3.132.0.35": ("secp521r1", 521),
    "1.3.132.0.10": ("secp256k1", 256),
    "1.3.36.3.3.2.8.1.1.7": ("brainpoolP256r1", 256),
    "1.3.36.3.3.2.8.1.1.11": ("brainpoolP384r1", 384),
    "1.3.36.3.3.2.8.1.1.13": ("brainpoolP512r1", 512),
}
_RSA = "1.2.840.113549.1.1.1"
_EC = "1.2.840.10045.2.1"
_DSA = "1.2.840.10040.4.1"
_ED25519 = "1.3.101.112"
_ED448 = "1.3.101.113"


@record
class Algorithm:
    """An AlgorithmIdentifier: its OID and its parameters' encoding."""

    oid: str
    params: bytes | None  # the parameters element, whole; None when absent


# Parameters cryptography's loader requires of the algorithms it knows
# (``AlgorithmParameters`` in its Rust source): absent or NULL for RSA and
# ECDSA/DSA signatures and RSA keys; absent for EdDSA; a named curve (OID),
# NULL or explicit parameters for EC keys; DSA parameters or nothing for DSA
# keys; RSASSA-PSS parameters, when present, a SEQUENCE.
_NULL_OR_ABSENT = frozenset(
    {
        "1.2.840.113549.1.1.1",
        *(o for o, (_, h) in SIGNATURE_ALGORITHMS.items() if h and not o.startswith("1.3.101.")),
    }
)
_PARAMS_OF: dict[str, frozenset[int]] = {
    "1.3.101.112": frozenset(),
    "1.3.101.113": frozenset(),
    "1.2.840.10045.2.1": frozenset({0x06, 0x05, 0x30}),
    "1.2.840.10040.4.1": frozenset({0x30}),
    "1.2.840.10046.2.1": frozenset({0x30}),  # X9.42 Diffie-Hellman
    "1.2.840.113549.1.3.1": frozenset({0x30}),  # PKCS #3 Diffie-Hellman
    "1.2.840.113549.1.1.10": frozenset({0x30}),
}


def _algorithm(d: bytes, s: int, e: int) -> Algorithm:
    items = _items(d, s, e)
    if not items or len(items) > 2 or items[0][0] != 0x06:
        raise CertificateError("bad AlgorithmIdentifier")
    oid = _oid(d, items[0][1], items[0][2])
    if len(items) == 1:
        return Algorithm(oid, None)
    ptag, ps, pe, pstart = items[1]
    allowed = frozenset({0x05}) if oid in _NULL_OR_ABSENT else _PARAMS_OF.get(oid)
    if allowed is not None and (ptag not in allowed or (ptag == 0x05 and ps != pe)):
        raise CertificateError(f"parameters of {oid} are not what it takes")
    if ptag == 0x06 and allowed is not None:  # a named curve
        _oid(d, ps, pe)
    return Algorithm(oid, d[pstart:pe])


def pss_parameters(params: bytes | None) -> tuple[str, str, int]:
    """RSASSA-PSS-params (RFC 4055 section 3.1): hash, MGF1 hash, salt length;
    the defaults are SHA-1 and 20.  Raises CertificateError."""
    h, mgf_hash, salt = "sha1", "sha1", 20
    if params is None:
        return h, mgf_hash, salt
    ps, pe = _one(params, 0, len(params), 0x30)
    for tag, s, e, _ in _items(params, ps, pe):
        if tag == 0xA0:
            hs, he = _one(params, s, e, 0x30)
            h = HASHES.get(_algorithm(params, hs, he).oid, "")
        elif tag == 0xA1:
            ms, me = _one(params, s, e, 0x30)
            mgf = _algorithm(params, ms, me)
            if mgf.oid != MGF1 or mgf.params is None:
                raise CertificateError("unsupported mask generation function")
            gs, ge = _one(mgf.params, 0, len(mgf.params), 0x30)
            mgf_hash = HASHES.get(_algorithm(mgf.params, gs, ge).oid, "")
        elif tag == 0xA2:
            is_, ie = _one(params, s, e, 0x02)
            salt = _integer(params, is_, ie)
        elif tag != 0xA3:
            raise CertificateError("bad RSASSA-PSS parameters")
    if not h or not mgf_hash or salt < 0:
        raise CertificateError("unsupported RSASSA-PSS parameters")
    return h, mgf_hash, salt


def _key_facts(alg: Algorithm, bits: bytes) -> tuple[str, int, str | None] | None:
    """(type, bits, curve) of a SubjectPublicKeyInfo (its algorithm, and its
    BIT STRING's content as :func:`_bits` returns it), or None for a key
    cryptography could not load (unknown algorithm or curve, malformed)."""
    if bits[0]:
        return None
    key = bits[1:]
    try:
        if alg.oid == _RSA:
            ns, ne = _one(key, 0, len(key), 0x30)
            n_e = _items(key, ns, ne)
            if len(n_e) != 2 or n_e[0][0] != 0x02 or n_e[1][0] != 0x02:
                return None
            modulus = _integer(key, n_e[0][1], n_e[0][2])
            return ("RSA", modulus.bit_length(), None) if modulus > 0 else None
        if alg.oid == _EC:
            if alg.params is None or alg.params[0] != 0x06:
                return None
            cs, ce = _one(alg.params, 0, len(alg.params), 0x06)
            curve = CURVES.get(_oid(alg.params, cs, ce))
            if curve is None or not key or key[0] not in (2, 3, 4):
                return None
            return "EC", curve[1], curve[0]
        if alg.oid == _ED25519:
            return ("Ed25519", 256, None) if len(key) == 32 else None
        if alg.oid == _ED448:
            return ("Ed448", 456, None) if len(key) == 57 else None
        if alg.oid == _DSA and alg.params is not None:
            ps, pe = _one(alg.params, 0, len(alg.params), 0x30)
            pqg = _items(alg.params, ps, pe)
            if len(pqg) != 3:
                return None
            return "DSA", _integer(alg.params, pqg[0][1], pqg[0][2]).bit_length(), None
    except DerError:
        return None
    return None


# --- Extensions -------------------------------------------------------------

# Extensions cryptography 50 parses into values: one that is malformed, or a
# second of the same type, made its whole extension list unreadable, which
# trustdoctor reports (``unparsable-extensions``).  Those whose values
# trustdoctor does not use are checked against their shape only (below),
# the rarest for well-formed DER only.  Source: cryptography
# ``src/rust/src/x509/certificate.rs`` ``parse_cert_ext`` and the ASN.1 of
# RFC 5280 section 4.2, RFC 6962, RFC 7633.
_WELL_FORMED_ONLY = frozenset(
    {
        "2.5.29.9",  # subjectDirectoryAttributes
        "1.3.6.1.4.1.311.21.7",  # Microsoft certificate template
        "1.3.36.8.3.3",  # admissions
    }
)


def _seq_of(d: bytes, s: int, e: int, tag: int = 0x30) -> list[tuple[int, int, int, int]]:
    """A SEQUENCE OF elements with ``tag`` (empty or not: cryptography does not
    enforce RFC 5280's SIZE (1..MAX) but for extKeyUsage)."""
    items = _items(d, *_one(d, s, e, 0x30))
    if any(t != tag for t, *_ in items):
        raise CertificateError("bad SEQUENCE OF")
    return items


def _check_policies(d: bytes, s: int, e: int) -> None:
    for _, cs, ce, _ in _seq_of(d, s, e):
        inner = _items(d, cs, ce)
        if not 1 <= len(inner) <= 2 or inner[0][0] != 0x06:
            raise CertificateError("bad PolicyInformation")
        _oid(d, inner[0][1], inner[0][2])
        if len(inner) == 2:
            _seq_of(d, inner[1][3], inner[1][2])


def _check_crl_dps(d: bytes, s: int, e: int) -> None:
    for _, cs, ce, _ in _seq_of(d, s, e):
        for tag, fs, fe, _ in _items(d, cs, ce):
            if tag == 0xA0:  # distributionPoint: [0] fullName or [1] relative name
                (t, ns, ne, _), *rest = _items(d, fs, fe) or [(0, 0, 0, 0)]
                if rest or t not in (0xA0, 0xA1):
                    raise CertificateError("bad DistributionPointName")
                if t == 0xA0:
                    _general_names(d, ns, ne)
            elif tag == 0x81:
                _bits(d, fs, fe)
            elif tag == 0xA2:
                _general_names(d, fs, fe)
            else:
                raise CertificateError("bad DistributionPoint")


def _check_policy_constraints(d: bytes, s: int, e: int) -> None:
    items = _items(d, *_one(d, s, e, 0x30))
    if [t for t, *_ in items] not in ([0x80], [0x81], [0x80, 0x81]):
        raise CertificateError("bad policyConstraints")
    for _, cs, ce, _ in items:
        if _integer(d, cs, ce) < 0:
            raise CertificateError("bad policyConstraints")


def _check_inhibit(d: bytes, s: int, e: int) -> None:
    if _integer(d, *_one(d, s, e, 0x02)) < 0:
        raise CertificateError("negative inhibitAnyPolicy")


def _check_access(d: bytes, s: int, e: int) -> None:
    _aia(d, s, e, {})


def _check_names(d: bytes, s: int, e: int) -> None:
    _general_names(d, *_one(d, s, e, 0x30))


def _check_null(d: bytes, s: int, e: int) -> None:
    if _one(d, s, e, 0x05)[0] != e:
        raise CertificateError("bad NULL")


def _check_tls_feature(d: bytes, s: int, e: int) -> None:
    for _, cs, ce, _ in _seq_of(d, s, e, 0x02):
        _integer(d, cs, ce)


def _check_key_usage_period(d: bytes, s: int, e: int) -> None:
    """PrivateKeyUsagePeriod (RFC 3280 section 4.2.1.4): [0] and/or [1]
    GeneralizedTime, implicitly tagged."""
    items = _items(d, *_one(d, s, e, 0x30))
    if [t for t, *_ in items] not in ([0x80], [0x81], [0x80, 0x81]):
        raise CertificateError("bad privateKeyUsagePeriod")
    for _, cs, ce, _ in items:
        _time(d, 0x18, cs, ce)


def _check_scts(d: bytes, s: int, e: int) -> None:
    """RFC 6962 section 3.3: an OCTET STRING holding a TLS-encoded list of
    length-prefixed SCTs."""
    os_, oe = _one(d, s, e, 0x04)
    if oe - os_ < 2 or int.from_bytes(d[os_ : os_ + 2], "big") != oe - os_ - 2:
        raise CertificateError("bad SCT list")
    pos = os_ + 2
    while pos < oe:
        n = int.from_bytes(d[pos : pos + 2], "big")
        if pos + 2 > oe or n == 0 or pos + 2 + n > oe:
            raise CertificateError("bad SCT list")
        pos += 2 + n


_CHECKERS: dict[str, Callable[[bytes, int, int], None]] = {
    "2.5.29.32": _check_policies,
    "2.5.29.31": _check_crl_dps,
    "2.5.29.46": _check_crl_dps,  # freshestCRL
    "2.5.29.36": _check_policy_constraints,
    "2.5.29.54": _check_inhibit,
    "1.3.6.1.5.5.7.1.11": _check_access,  # subjectInfoAccess
    "2.5.29.18": _check_names,  # issuerAltName
    "1.3.6.1.5.5.7.48.1.5": _check_null,  # OCSP no-check
    "1.3.6.1.4.1.11129.2.4.3": _check_null,  # precertificate poison
    "1.3.6.1.5.5.7.1.24": _check_tls_feature,
    "2.5.29.16": _check_key_usage_period,
    "1.3.6.1.4.1.11129.2.4.2": _check_scts,  # precertificate SCTs
    "1.3.6.1.4.1.11129.2.4.5": _check_scts,  # SCTs (OCSP)
}

# keyUsage bits 0-6 by name (RFC 5280 section 4.2.1.3; the names are
# cryptography's KeyUsage arguments, which the lab's PKI passes them to).
KEY_USAGE_NAMES = (
    "digital_signature",
    "content_commitment",
    "key_encipherment",
    "data_encipherment",
    "key_agreement",
    "key_cert_sign",
    "crl_sign",
)


@record
class GeneralName:
    """One GeneralName (RFC 5280 §4.2.1.6): its tag and its value."""

    tag: int  # the context tag number (0 otherName ... 8 registeredID)
    value: str | bytes  # text for rfc822/DNS/URI, "a.b.c.d" / "net/len" for IPs, raw else


def _ip_network_text(raw: bytes) -> str:
    """An iPAddress of name constraints: address then mask (RFC 5280 section
    4.2.1.10); the mask must be a prefix and the address have no host bits,
    as cryptography requires."""
    import ipaddress

    half = len(raw) // 2
    mask = int.from_bytes(raw[half:], "big")
    width = half * 8
    prefix = width - (((1 << width) - 1) ^ mask).bit_length()
    if mask != ((1 << width) - 1) ^ ((1 << (width - prefix)) - 1):
        raise CertificateError("an iPAddress constraint's mask is not a prefix")
    try:
        return str(ipaddress.ip_network(f"{ipaddress.ip_address(raw[:half])}/{prefix}"))
    except ValueError:
        raise CertificateError("an iPAddress constraint has host bits set") from None


def _general_name(d: bytes, tag: int, s: int, e: int, *, network: bool) -> GeneralName:
    n = tag & 0x1F
    if tag in (0x81, 0x82, 0x86):
        return GeneralName(n, _ia5(d, s, e))
    if tag == 0x87:
        # By its length wherever it stands (an address: 4 or 16 octets; a
        # network: 8 or 32), as cryptography reads it; a constraint must be
        # a network.
        if e - s in (4, 16) and not network:
            return GeneralName(7, ip_text(d[s:e]))
        if e - s not in (8, 32):
            raise CertificateError("bad iPAddress")
        return GeneralName(7, _ip_network_text(d[s:e]))
    if tag == 0xA4:
        _rdns(d, *_one(d, s, e, 0x30))
        return GeneralName(4, d[s:e])
    if tag == 0xA0:
        inner = _items(d, s, e)
        if len(inner) != 2 or inner[0][0] != 0x06 or inner[1][0] != 0xA0:
            raise CertificateError("bad otherName")
        _oid(d, inner[0][1], inner[0][2])
        return GeneralName(0, d[s:e])
    if tag == 0x88:
        _oid(d, s, e)
        return GeneralName(8, d[s:e])
    # x400Address and ediPartyName: cryptography refuses them.
    raise CertificateError(f"unsupported general name [{n}]")


def _general_names(d: bytes, s: int, e: int, *, network: bool = False) -> list[GeneralName]:
    return [_general_name(d, t, cs, ce, network=network) for t, cs, ce, _ in _items(d, s, e)]


@record
class Extensions:
    """The facts of the extensions clients act on (defaults: extension absent)."""

    is_ca: bool | None = None
    path_length: int | None = None
    bc_critical: bool = False
    key_usage: frozenset[str] | None = None
    eku: frozenset[str] | None = None
    ski: bytes | None = None
    aki: bytes | None = None
    aki_has_issuer: bool = False
    has_san: bool = False
    dns_names: tuple[str, ...] = ()
    ip_addresses: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()
    aia_ca_issuers: tuple[str, ...] = ()
    aia_ocsp: tuple[str, ...] = ()
    name_constraints: tuple[tuple[GeneralName, ...], tuple[GeneralName, ...]] | None = None
    unhandled_critical: tuple[str, ...] = ()


def _basic_constraints(d: bytes, s: int, e: int, out: dict[str, object]) -> None:
    is_ca = False
    path: int | None = None
    items = _items(d, *_one(d, s, e, 0x30))
    if len(items) > 2:
        raise CertificateError("bad basicConstraints")
    for i, (tag, cs, ce, _) in enumerate(items):
        if tag == 0x01 and i == 0:
            is_ca = _boolean(d, cs, ce)  # FALSE encoded: read, as Go and OpenSSL do
        elif tag == 0x02 and path is None:
            path = _integer(d, cs, ce)
        else:
            raise CertificateError("bad basicConstraints")
    if path is not None and path < 0:
        raise CertificateError("negative pathLenConstraint")
    # A pathLenConstraint beside cA FALSE is read, not refused: Go, OpenSSL 3
    # and Java accept such a leaf (measured; only OpenSSL's X509_STRICT
    # refuses it, error 80, and cryptography's builder will not write it).
    out["is_ca"], out["path_length"] = is_ca, path


def _key_usage(d: bytes, s: int, e: int, out: dict[str, object]) -> None:
    bits = _bits(d, *_one(d, s, e, 0x03))
    if (der.bit(bits, 7) or der.bit(bits, 8)) and not der.bit(bits, 4):
        raise CertificateError("encipherOnly/decipherOnly without keyAgreement")
    out["key_usage"] = frozenset(n for i, n in enumerate(KEY_USAGE_NAMES) if der.bit(bits, i))


def _eku(d: bytes, s: int, e: int, out: dict[str, object]) -> None:
    oids = set()
    items = _items(d, *_one(d, s, e, 0x30))
    if not items:  # SIZE (1..MAX), RFC 5280 section 4.2.1.12
        raise CertificateError("empty extKeyUsage")
    for tag, cs, ce, _ in items:
        if tag != 0x06:
            raise CertificateError("bad extKeyUsage")
        oids.add(_oid(d, cs, ce))
    out["eku"] = frozenset(oids)


def _ski(d: bytes, s: int, e: int, out: dict[str, object]) -> None:
    out["ski"] = d[slice(*_one(d, s, e, 0x04))]


def _aki(d: bytes, s: int, e: int, out: dict[str, object]) -> None:
    seen: list[int] = []
    for tag, cs, ce, _ in _items(d, *_one(d, s, e, 0x30)):
        if tag == 0x80 and not seen:
            out["aki"] = d[cs:ce]
        elif tag == 0xA1 and (not seen or seen[-1] < 1):
            _general_names(d, cs, ce)
        elif tag == 0x82 and (not seen or seen[-1] < 2):
            _integer(d, cs, ce)
        else:
            raise CertificateError("bad authorityKeyIdentifier")
        seen.append(tag & 0x1F)
    if (1 in seen) != (2 in seen):
        raise CertificateError("authorityCertIssuer and serial must come together")
    out["aki_has_issuer"] = 1 in seen


def _san(d: bytes, s: int, e: int, out: dict[str, object]) -> None:
    names = _general_names(d, *_one(d, s, e, 0x30))
    out["has_san"] = True
    out["dns_names"] = tuple(str(g.value) for g in names if g.tag == 2)
    out["ip_addresses"] = tuple(str(g.value) for g in names if g.tag == 7)
    out["emails"] = tuple(str(g.value) for g in names if g.tag == 1)


def _aia(d: bytes, s: int, e: int, out: dict[str, object]) -> None:
    issuers: list[str] = []
    ocsp: list[str] = []
    for tag, cs, ce, _ in _items(d, *_one(d, s, e, 0x30)):
        inner = _items(d, cs, ce)
        if tag != 0x30 or len(inner) != 2 or inner[0][0] != 0x06:
            raise CertificateError("bad AccessDescription")
        method = _oid(d, inner[0][1], inner[0][2])
        gn = _general_name(d, inner[1][0], inner[1][1], inner[1][2], network=False)
        if gn.tag == 6:
            if method == "1.3.6.1.5.5.7.48.2":
                issuers.append(str(gn.value))
            elif method == "1.3.6.1.5.5.7.48.1":
                ocsp.append(str(gn.value))
    out["aia_ca_issuers"], out["aia_ocsp"] = tuple(issuers), tuple(ocsp)


def _subtrees(d: bytes, s: int, e: int) -> tuple[GeneralName, ...]:
    out = []
    for tag, cs, ce, _ in _items(d, s, e):
        inner = _items(d, cs, ce)
        if tag != 0x30 or not inner:
            raise CertificateError("bad GeneralSubtree")
        t0, s0, e0, _ = inner[0]
        base = _general_name(d, t0, s0, e0, network=True)
        if base.tag == 2 and "*" in str(base.value):
            raise CertificateError("a dNSName constraint with '*'")
        out.append(base)
        # minimum [0] DEFAULT 0, maximum [1] OPTIONAL: read, not used (Go
        # ignores both; OpenSSL's own reading, osslverify, refuses a subtree
        # with a maximum or a minimum other than 0).  A minimum of 0 written
        # out is read, as Go and OpenSSL read it (oracle case
        # enc/nc-minimum-zero); cryptography refused the certificate.
        last = 0x7F
        for t, ms, me, _ in inner[1:]:
            if t not in (0x80, 0x81) or t <= last:
                raise CertificateError("bad GeneralSubtree")
            if t == 0x80:
                _integer(d, ms, me)
            last = t
    if not out:
        raise CertificateError("empty subtrees")
    return tuple(out)


def _name_constraints(d: bytes, s: int, e: int, out: dict[str, object]) -> None:
    permitted: tuple[GeneralName, ...] = ()
    excluded: tuple[GeneralName, ...] = ()
    items = _items(d, *_one(d, s, e, 0x30))
    tags = [t for t, *_ in items]
    if tags not in ([0xA0], [0xA1], [0xA0, 0xA1]):
        raise CertificateError("bad nameConstraints")
    for tag, cs, ce, _ in items:
        if tag == 0xA0:
            permitted = _subtrees(d, cs, ce)
        else:
            excluded = _subtrees(d, cs, ce)
    out["name_constraints"] = (permitted, excluded)


_READERS: dict[str, Callable[[bytes, int, int, dict[str, object]], None]] = {
    "2.5.29.19": _basic_constraints,
    "2.5.29.15": _key_usage,
    "2.5.29.37": _eku,
    "2.5.29.14": _ski,
    "2.5.29.35": _aki,
    "2.5.29.17": _san,
    "1.3.6.1.5.5.7.1.1": _aia,
    "2.5.29.30": _name_constraints,
}


def _extensions(d: bytes, s: int, e: int, handled: frozenset[str]) -> Extensions:
    """The [3] extensions field's content.  The list itself must be DER; a
    problem inside one extension's value makes the whole set unreadable (no
    facts, ``unparsable-extensions``), as it did with cryptography."""
    entries = []
    for tag, cs, ce, _ in _items(d, *_one(d, s, e, 0x30)):
        inner = _items(d, cs, ce)
        if tag != 0x30 or len(inner) not in (2, 3) or inner[0][0] != 0x06:
            raise CertificateError("bad Extension")
        critical = False
        if len(inner) == 3:
            if inner[1][0] != 0x01:
                raise CertificateError("bad Extension")
            critical = _boolean(d, inner[1][1], inner[1][2])  # FALSE encoded: read
        vt, vs, ve, _ = inner[-1]
        if vt != 0x04:
            raise CertificateError("bad Extension")
        entries.append((_oid(d, inner[0][1], inner[0][2]), critical, vs, ve))
    out: dict[str, object] = {}
    try:
        seen = set()
        for oid, critical, vs, ve in entries:
            if oid in seen:
                raise CertificateError(f"duplicate extension {oid}")
            seen.add(oid)
            reader = _READERS.get(oid)
            if reader is not None:
                reader(d, vs, ve, out)
                if oid == "2.5.29.19":
                    out["bc_critical"] = critical
            elif oid in _CHECKERS:
                _CHECKERS[oid](d, vs, ve)
            elif oid in _WELL_FORMED_ONLY:
                _well_formed(d, vs, ve)
    except DerError:
        return Extensions(unhandled_critical=("unparsable-extensions",))
    out["unhandled_critical"] = tuple(
        sorted(o for o, critical, _, _ in entries if critical and o not in handled)
    )
    return Extensions(**out)  # type: ignore[arg-type]


# --- The certificate --------------------------------------------------------


@record
class Parsed:
    """Every fact of one certificate (``model.cert.CertInfo`` is made from it)."""

    sha256: str
    subject: _Name
    issuer: _Name
    subject_der: bytes
    issuer_der: bytes
    serial: int
    version: int
    not_before: dt.datetime
    not_after: dt.datetime
    signature_algorithm: str
    signature_hash: str | None
    key: tuple[str, int, str | None] | None
    spki_sha256: str
    extensions: Extensions


@record
class Signed:
    """What a signature check needs from the signed certificate."""

    tbs: bytes  # the TBSCertificate, whole
    algorithm: Algorithm  # outer signatureAlgorithm
    inner_matches: bool  # the TBS's own signature field is the same
    signature: bytes  # the BIT STRING's bits


def _top(der: bytes) -> tuple[tuple[int, int, int, int], ...]:
    """Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm,
    signatureValue }, filling ``der`` exactly."""
    cs, ce = _one(der, 0, len(der), 0x30)
    parts = _items(der, cs, ce)
    if [t for t, *_ in parts] != [0x30, 0x30, 0x03]:
        raise CertificateError("not a certificate")
    return tuple(parts)


def _tbs_fields(der: bytes, s: int, e: int) -> list[tuple[int, int, int, int]]:
    fields = _items(der, s, e)
    if len(fields) < 6:
        raise CertificateError("not a certificate")
    return fields


def signed(der: bytes) -> Signed:
    """The signed part of a certificate and its signature."""
    tbs, alg, sig = _top(der)
    fields = _tbs_fields(der, tbs[1], tbs[2])
    inner = fields[2] if fields[0][0] == 0xA0 else fields[1]
    return Signed(
        der[tbs[3] : tbs[2]],
        _algorithm(der, alg[1], alg[2]),
        der[inner[3] : inner[2]] == der[alg[3] : alg[2]],
        _bits(der, sig[1], sig[2])[1:],
    )


def spki(der: bytes) -> bytes:
    """The SubjectPublicKeyInfo element of a certificate."""
    tbs = _top(der)[0]
    fields = _tbs_fields(der, tbs[1], tbs[2])
    f = fields[6] if fields[0][0] == 0xA0 else fields[5]
    return der[f[3] : f[2]]


def parse(der: bytes, handled: frozenset[str]) -> Parsed:
    """Read every fact of a DER certificate; CertificateError if it is not one.

    ``handled``: the extension OIDs every modelled client understands (a
    critical one outside it is reported)."""
    tbs, alg, sig = _top(der)
    _bits(der, sig[1], sig[2])
    outer = _algorithm(der, alg[1], alg[2])
    fields = _tbs_fields(der, tbs[1], tbs[2])
    i = 0
    version = 1
    if fields[0][0] == 0xA0:
        vs, ve = _one(der, fields[0][1], fields[0][2], 0x02)
        v = _integer(der, vs, ve)
        if v not in (0, 1, 2):
            raise CertificateError(f"unsupported X.509 version field {v}")
        # v2 (1) is read as Go and OpenSSL read it (oracle cases enc/v2-*;
        # cryptography refused it): unique identifiers, and extensions too,
        # which OpenSSL uses and Go ignores below v3 (engine/gox509.py).
        version, i = v + 1, 1
    if len(fields) < i + 6:
        raise CertificateError("not a certificate")
    tags = [f[0] for f in fields[i : i + 6]]
    if tags != [0x02, 0x30, 0x30, 0x30, 0x30, 0x30]:
        raise CertificateError("not a certificate")
    serial_f, inner_alg, issuer_f, validity_f, subject_f, spki_f = fields[i : i + 6]
    serial = _integer(der, serial_f[1], serial_f[2])
    _algorithm(der, inner_alg[1], inner_alg[2])
    times = _items(der, validity_f[1], validity_f[2])
    if len(times) != 2:
        raise CertificateError("bad validity")
    not_before = _time(der, *times[0][:3])
    not_after = _time(der, *times[1][:3])
    issuer_der = der[issuer_f[3] : issuer_f[2]]
    subject_der = der[subject_f[3] : subject_f[2]]
    subject = _name(der, subject_f[1], subject_f[2])
    issuer = subject if issuer_der == subject_der else _name(der, issuer_f[1], issuer_f[2])
    exts = Extensions()
    last = 0
    for tag, s, e, _ in fields[i + 6 :]:
        order = {0x81: 1, 0x82: 2, 0xA3: 3}.get(tag)
        if order is None or order <= last or (version == 1):
            raise CertificateError("unexpected field after subjectPublicKeyInfo")
        last = order
        if tag == 0xA3:
            exts = _extensions(der, s, e, handled)
        else:
            _bits(der, s, e)
    sig_name, sig_hash = SIGNATURE_ALGORITHMS.get(outer.oid, ("Unknown OID", None))
    if outer.oid == RSA_PSS:
        try:
            sig_hash = pss_parameters(outer.params)[0]
        except DerError:
            sig_hash = "unknown"
    elif outer.oid not in SIGNATURE_ALGORITHMS:
        sig_hash = "unknown"
    spki_items = _items(der, spki_f[1], spki_f[2])
    if [t for t, *_ in spki_items] != [0x30, 0x03]:
        raise CertificateError("bad SubjectPublicKeyInfo")
    key = _key_facts(
        _algorithm(der, spki_items[0][1], spki_items[0][2]),
        _bits(der, spki_items[1][1], spki_items[1][2]),
    )
    spki_raw = der[spki_f[3] : spki_f[2]]
    return Parsed(
        sha256=digest.sha256(der).hexdigest(),
        subject=subject,
        issuer=issuer,
        subject_der=subject_der,
        issuer_der=issuer_der,
        serial=serial,
        version=version,
        not_before=not_before,
        not_after=not_after,
        signature_algorithm=sig_name,
        signature_hash=sig_hash,
        key=key,
        spki_sha256=digest.sha256(spki_raw if key is not None else der).hexdigest(),
        extensions=exts,
    )


def first_attribute(name: _Name, oid: str) -> str | None:
    """The first value of attribute ``oid`` (in encoding order), as text (a
    BIT STRING's octets as Latin-1)."""
    for o, v in name.attrs:
        if o == oid:
            return v if isinstance(v, str) else v.decode("latin-1")
    return None
