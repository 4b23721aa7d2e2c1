"""Certificates as immutable facts.

:class:`CertInfo` is built once from a parsed ``cryptography`` certificate and
carries every fact the rules look at, so the rest of the engine never has to
touch ASN.1.  Parsing is pure (bytes in, values out).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import ipaddress
import warnings
from dataclasses import field
from typing import TYPE_CHECKING

from .record import record

if TYPE_CHECKING:
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

# Extension OIDs every modelled client understands.  A *critical* extension
# outside this set is an "unhandled critical extension" (Go: x509.go
# `unhandledCriticalExtensions`; OpenSSL: X509_V_ERR_UNHANDLED_CRITICAL_EXTENSION).
HANDLED_EXTENSIONS = frozenset(
    {
        "2.5.29.15",  # keyUsage
        "2.5.29.19",  # basicConstraints
        "2.5.29.17",  # subjectAltName
        "2.5.29.37",  # extKeyUsage
        "2.5.29.30",  # nameConstraints
        "2.5.29.32",  # certificatePolicies
        "2.5.29.35",  # authorityKeyIdentifier
        "2.5.29.14",  # subjectKeyIdentifier
        "2.5.29.36",  # policyConstraints
        "2.5.29.54",  # inhibitAnyPolicy
        "2.5.29.33",  # policyMappings
        "1.3.6.1.5.5.7.1.1",  # authorityInfoAccess
        "2.5.29.31",  # cRLDistributionPoints
    }
)

SERVER_AUTH = "1.3.6.1.5.5.7.3.1"
CLIENT_AUTH = "1.3.6.1.5.5.7.3.2"
ANY_EKU = "2.5.29.37.0"


@record
class Provenance:
    """Where a certificate came from.

    Attributes:
        source: a file path, ``stdin``, ``tls://host:port``, or a store file.
        index: position of the certificate inside that source (0-based).
        line: 1-based line of the PEM block, when the source is text.
        detail: how it was found (``pem``, ``der``, ``pkcs7``, ``pkcs12``,
            ``trusted-certificate``, ``base64-pem``, ``env SSL_CERT_FILE``...).
    """

    source: str
    index: int | None = None
    line: int | None = None
    detail: str | None = None

    def label(self) -> str:
        parts = [self.source]
        if self.line is not None:
            parts.append(f"line {self.line}")
        elif self.index is not None:
            parts.append(f"#{self.index + 1}")
        return ":".join(parts[:1]) + (f" ({', '.join(parts[1:])})" if len(parts) > 1 else "")


@record
class NameConstraints:
    """DNS, IP and e-mail subtrees of a nameConstraints extension."""

    permitted_dns: tuple[str, ...] = ()
    excluded_dns: tuple[str, ...] = ()
    permitted_ip: tuple[str, ...] = ()  # CIDR strings
    excluded_ip: tuple[str, ...] = ()
    permitted_email: tuple[str, ...] = ()
    excluded_email: tuple[str, ...] = ()
    has_dn_constraints: bool = False
    unsupported: bool = False  # a subtree type no modelled client understands


@record
class CertInfo:
    """Everything trustdoctor knows about one certificate.

    Names are kept twice: as RFC 4514 text for people and as DER for exact
    matching (issuer/subject chaining compares encodings, as Go and OpenSSL do
    after canonicalisation).
    """

    der: bytes = field(repr=False)
    sha256: str
    subject: str
    issuer: str
    subject_der: bytes = field(repr=False)
    issuer_der: bytes = field(repr=False)
    common_name: str | None
    organization: str | None
    serial: int
    version: int
    not_before: dt.datetime
    not_after: dt.datetime
    is_ca: bool | None  # None: no basicConstraints extension
    path_length: int | None
    bc_critical: bool
    key_usage: frozenset[str] | None  # None: no keyUsage extension
    eku: frozenset[str] | None  # dotted OIDs; None: no EKU extension
    ski: bytes | None = field(repr=False)
    aki: bytes | None = field(repr=False)
    dns_names: tuple[str, ...]
    ip_addresses: tuple[str, ...]
    emails: tuple[str, ...]
    has_san: bool
    aia_ca_issuers: tuple[str, ...]
    aia_ocsp: tuple[str, ...]
    signature_algorithm: str
    signature_hash: str | None  # "sha256", "sha1", "md5", None for Ed25519...
    key_type: str  # RSA, EC, Ed25519, Ed448, DSA, unknown
    key_bits: int
    key_curve: str | None
    self_issued: bool
    unhandled_critical: tuple[str, ...]
    name_constraints: NameConstraints | None
    spki_sha256: str
    trusted_block: bool = False  # came from a BEGIN TRUSTED CERTIFICATE block
    aki_has_issuer: bool = False  # AKI carries authorityCertIssuer/serial (not just keyid)
    cert: x509.Certificate | None = field(default=None, repr=False, compare=False, hash=False)

    @property
    def short_fp(self) -> str:
        return self.sha256[:16]

    @property
    def display_name(self) -> str:
        """The name Go shows in its hints: CN, else O, else serial."""
        if self.common_name:
            return self.common_name
        if self.organization:
            return self.organization
        return f"serial:{self.serial}"

    def valid_at(self, when: dt.datetime) -> bool:
        return self.not_before <= when <= self.not_after

    @property
    def can_sign_certs(self) -> bool:
        return self.key_usage is None or "key_cert_sign" in self.key_usage

    @property
    def self_signed(self) -> bool:
        """Self-issued and its own key verifies its signature."""
        return self.self_issued and verify_signature(self, self) is None


def _name_attr(name: x509.Name, oid: object) -> str | None:
    try:
        attrs = name.get_attributes_for_oid(oid)  # type: ignore[arg-type]
    except Exception:  # pragma: no cover - malformed names
        return None
    if not attrs:
        return None
    value = attrs[0].value
    return value if isinstance(value, str) else value.decode("latin-1")


def _rfc4514(name: x509.Name) -> str:
    try:
        text = name.rfc4514_string()
    except Exception:  # pragma: no cover - malformed names
        return "<unparsable name>"
    return text or "<empty>"


def _encodings() -> tuple[type[Encoding], type[PublicFormat]]:
    """``Encoding`` and ``PublicFormat`` from their home module, which
    ``cryptography.x509`` has already loaded: the public
    ``cryptography.hazmat.primitives.serialization`` package re-exports them but
    also imports the SSH key and cipher modules, 10-25 ms of every start-up
    that parses a certificate (``python -X importtime``, cryptography 44-50)."""
    try:
        from cryptography.hazmat.primitives import _serialization

        return _serialization.Encoding, _serialization.PublicFormat
    except ImportError:  # pragma: no cover - a cryptography that moved them
        from cryptography.hazmat.primitives import serialization

        return serialization.Encoding, serialization.PublicFormat


def from_certificate(
    cert: x509.Certificate, *, trusted_block: bool = False, der: bytes | None = None
) -> CertInfo:
    """Derive a :class:`CertInfo` from a parsed certificate (pure).

    ``der``: the bytes ``cert`` was loaded from, when the caller has them
    (cryptography's parser takes DER only, and gives the same bytes back)."""
    with warnings.catch_warnings():
        # cryptography warns about a serial number that is not positive when
        # it parses the rest of the certificate lazily (its extensions, 50.x):
        # such roots sit in real stores (Debian's bundle has one) and
        # trustdoctor reports them itself (clients that refuse them).
        warnings.simplefilter("ignore")
        return _from_certificate(cert, trusted_block, der)


def raw_names(der: bytes) -> tuple[bytes, bytes] | None:
    """The issuer and subject fields of a certificate as encoded (Go's
    RawIssuer and RawSubject), read from the TBS's first elements without
    parsing them; None if they cannot be read."""

    def end(pos: int) -> int:
        n = der[pos + 1]
        if n < 0x80:
            return pos + 2 + n
        k = n & 0x7F
        return pos + 2 + k + int.from_bytes(der[pos + 2 : pos + 2 + k], "big")

    def content(pos: int) -> int:
        n = der[pos + 1]
        return pos + 2 + (n & 0x7F if n >= 0x80 else 0)

    try:
        pos = content(content(0))  # Certificate, tbsCertificate
        if der[pos] == 0xA0:  # [0] version
            pos = end(pos)
        pos = end(end(pos))  # serialNumber, signature
        issuer_end = end(pos)
        subject_at = end(issuer_end)  # validity
        subject_end = end(subject_at)
    except IndexError:
        return None
    if subject_end > len(der):
        return None
    return der[pos:issuer_end], der[subject_at:subject_end]


def _issuer_is_subject(der: bytes) -> bool:
    """Whether the issuer and subject fields are the same bytes (a root, a
    self-issued CA): then one parsed Name serves as both (a store is mostly
    roots)."""
    names = raw_names(der)
    return names is not None and names[0] == names[1]


def _from_certificate(cert: x509.Certificate, trusted_block: bool, der: bytes | None) -> CertInfo:
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
    from cryptography.x509.oid import ExtensionOID, NameOID

    encoding, public_format = _encodings()
    if der is None:
        der = cert.public_bytes(encoding.DER)
    exts: dict[str, x509.Extension[x509.ExtensionType]] = {}
    bad_ext = False
    try:
        for ext in cert.extensions:
            exts[ext.oid.dotted_string] = ext
    except Exception:
        bad_ext = True

    def value(oid: x509.ObjectIdentifier) -> x509.ExtensionType | None:
        e = exts.get(oid.dotted_string)
        return e.value if e is not None else None

    bc = value(ExtensionOID.BASIC_CONSTRAINTS)
    is_ca = bc.ca if isinstance(bc, x509.BasicConstraints) else None
    path_len = bc.path_length if isinstance(bc, x509.BasicConstraints) else None
    bc_ext = exts.get(ExtensionOID.BASIC_CONSTRAINTS.dotted_string)
    ku_val = value(ExtensionOID.KEY_USAGE)
    key_usage: frozenset[str] | None = None
    if isinstance(ku_val, x509.KeyUsage):
        names = [
            "digital_signature",
            "content_commitment",
            "key_encipherment",
            "data_encipherment",
            "key_agreement",
            "key_cert_sign",
            "crl_sign",
        ]
        key_usage = frozenset(n for n in names if getattr(ku_val, n))
    eku_val = value(ExtensionOID.EXTENDED_KEY_USAGE)
    eku = (
        frozenset(o.dotted_string for o in eku_val)
        if isinstance(eku_val, x509.ExtendedKeyUsage)
        else None
    )
    ski_val = value(ExtensionOID.SUBJECT_KEY_IDENTIFIER)
    ski = ski_val.digest if isinstance(ski_val, x509.SubjectKeyIdentifier) else None
    aki_val = value(ExtensionOID.AUTHORITY_KEY_IDENTIFIER)
    aki = aki_val.key_identifier if isinstance(aki_val, x509.AuthorityKeyIdentifier) else None
    aki_has_issuer = isinstance(aki_val, x509.AuthorityKeyIdentifier) and (
        aki_val.authority_cert_issuer is not None
        or aki_val.authority_cert_serial_number is not None
    )
    san_val = value(ExtensionOID.SUBJECT_ALTERNATIVE_NAME)
    dns: tuple[str, ...] = ()
    ips: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()
    if isinstance(san_val, x509.SubjectAlternativeName):
        dns = tuple(san_val.get_values_for_type(x509.DNSName))
        ips = tuple(str(i) for i in san_val.get_values_for_type(x509.IPAddress))
        emails = tuple(san_val.get_values_for_type(x509.RFC822Name))
    aia_val = value(ExtensionOID.AUTHORITY_INFORMATION_ACCESS)
    ca_issuers: list[str] = []
    ocsp: list[str] = []
    if isinstance(aia_val, x509.AuthorityInformationAccess):
        from cryptography.x509.oid import AuthorityInformationAccessOID as AIA

        for desc in aia_val:
            loc = desc.access_location
            if isinstance(loc, x509.UniformResourceIdentifier):
                if desc.access_method == AIA.CA_ISSUERS:
                    ca_issuers.append(loc.value)
                elif desc.access_method == AIA.OCSP:
                    ocsp.append(loc.value)
    nc_val = value(ExtensionOID.NAME_CONSTRAINTS)
    nc = _name_constraints(nc_val) if isinstance(nc_val, x509.NameConstraints) else None

    unhandled = tuple(
        sorted(o for o, e in exts.items() if e.critical and o not in HANDLED_EXTENSIONS)
    )
    if bad_ext:
        unhandled = (*unhandled, "unparsable-extensions")

    try:
        sig_alg = cert.signature_algorithm_oid._name
    except Exception:  # pragma: no cover
        sig_alg = "unknown"
    try:
        h = cert.signature_hash_algorithm
        sig_hash = h.name if h is not None else None
    except Exception:
        # cryptography refuses to name unsupported hashes (MD5 is still named;
        # MD2/MD4 are not): call it by the OID name.
        sig_hash = (
            "md5"
            if "md5" in sig_alg.lower()
            else ("md2" if "md2" in sig_alg.lower() else "unknown")
        )

    key_type, bits, curve = "unknown", 0, None
    spki_sha = ""
    try:
        pub = cert.public_key()
        spki = pub.public_bytes(encoding.DER, public_format.SubjectPublicKeyInfo)
        spki_sha = hashlib.sha256(spki).hexdigest()
        if isinstance(pub, rsa.RSAPublicKey):
            key_type, bits = "RSA", pub.key_size
        elif isinstance(pub, ec.EllipticCurvePublicKey):
            key_type, bits, curve = "EC", pub.key_size, pub.curve.name
        elif isinstance(pub, ed25519.Ed25519PublicKey):
            key_type, bits = "Ed25519", 256
        elif isinstance(pub, ed448.Ed448PublicKey):
            key_type, bits = "Ed448", 456
        elif isinstance(pub, dsa.DSAPublicKey):
            key_type, bits = "DSA", pub.key_size
    except Exception:
        spki_sha = hashlib.sha256(der).hexdigest()

    serial = cert.serial_number

    # Each ``cert.subject`` builds a new Name (its RDNs and attributes) in the
    # binding: read once (a store of 150 roots parses 300 names, not 1,000).
    subject = cert.subject
    subject_der = subject.public_bytes()
    subject_text = _rfc4514(subject)
    if _issuer_is_subject(der):
        issuer_der, issuer_text = subject_der, subject_text
    else:
        issuer = cert.issuer
        issuer_der, issuer_text = issuer.public_bytes(), _rfc4514(issuer)
    return CertInfo(
        der=der,
        sha256=hashlib.sha256(der).hexdigest(),
        subject=subject_text,
        issuer=issuer_text,
        subject_der=subject_der,
        issuer_der=issuer_der,
        common_name=_name_attr(subject, NameOID.COMMON_NAME),
        organization=_name_attr(subject, NameOID.ORGANIZATION_NAME),
        serial=serial,
        version=1 if cert.version == x509.Version.v1 else 3,
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        is_ca=is_ca,
        path_length=path_len,
        bc_critical=bool(bc_ext and bc_ext.critical),
        key_usage=key_usage,
        eku=eku,
        ski=ski,
        aki=aki,
        dns_names=dns,
        ip_addresses=ips,
        emails=emails,
        has_san=san_val is not None,
        aia_ca_issuers=tuple(ca_issuers),
        aia_ocsp=tuple(ocsp),
        signature_algorithm=sig_alg,
        signature_hash=sig_hash,
        key_type=key_type,
        key_bits=bits,
        key_curve=curve,
        self_issued=subject_der == issuer_der,
        unhandled_critical=unhandled,
        name_constraints=nc,
        spki_sha256=spki_sha,
        trusted_block=trusted_block,
        aki_has_issuer=aki_has_issuer,
        cert=cert,
    )


def _name_constraints(nc: x509.NameConstraints) -> NameConstraints:
    from cryptography import x509

    def split(
        subtrees: list[x509.GeneralName] | None,
    ) -> tuple[list[str], list[str], list[str], bool, bool]:
        d: list[str] = []
        i: list[str] = []
        e: list[str] = []
        has_dn = False
        unsupported = False
        for g in subtrees or []:
            if isinstance(g, x509.DNSName):
                d.append(g.value)
            elif isinstance(g, x509.IPAddress):
                i.append(str(g.value))
            elif isinstance(g, x509.RFC822Name):
                e.append(g.value)
            elif isinstance(g, x509.DirectoryName):
                has_dn = True
            else:
                unsupported = True
        return d, i, e, has_dn, unsupported

    pd, pi, pe, pdn, pu = split(nc.permitted_subtrees)
    ed, ei, ee, edn, eu = split(nc.excluded_subtrees)
    return NameConstraints(
        permitted_dns=tuple(pd),
        excluded_dns=tuple(ed),
        permitted_ip=tuple(pi),
        excluded_ip=tuple(ei),
        permitted_email=tuple(pe),
        excluded_email=tuple(ee),
        has_dn_constraints=pdn or edn,
        unsupported=pu or eu,
    )


def verify_signature(child: CertInfo, parent: CertInfo) -> str | None:
    """Check that ``parent``'s key signed ``child``.

    Returns ``None`` when the signature verifies, else a short reason code:
    ``bad-signature`` (wrong key), ``unsupported-algorithm`` or
    ``name-mismatch``.  Pure: no I/O, only computation; the answer for a pair
    is remembered (every client model asks about the same links) by the two
    fingerprints only: no certificate is kept once its question is answered
    (``trustdoctor serve`` keeps nothing pasted).
    """
    key = (child.sha256, parent.sha256)
    found = _ANSWERS.get(key, _UNKNOWN)
    if found is not _UNKNOWN:
        return found  # type: ignore[return-value]
    answer = _verify_pair(child, parent)
    _ANSWERS[key] = answer
    if len(_ANSWERS) > _MAX_ANSWERS:
        # Oldest first.  Threads (scan, serve) may race here: single dict
        # operations are atomic, and a lost eviction is only a larger dict.
        with contextlib.suppress(KeyError, RuntimeError, StopIteration):
            del _ANSWERS[next(iter(_ANSWERS))]
    return answer


# Signature answers by (child, parent) fingerprint, oldest first.
_MAX_ANSWERS = 4096
_ANSWERS: dict[tuple[str, str], str | None] = {}
_UNKNOWN = object()


def _verify_pair(child: CertInfo, parent: CertInfo) -> str | None:
    if child.cert is None or parent.cert is None:
        return "unsupported-algorithm"
    if child.issuer_der != parent.subject_der:
        return "name-mismatch"
    from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm

    try:
        child.cert.verify_directly_issued_by(parent.cert)
    except InvalidSignature:
        return "bad-signature"
    except (UnsupportedAlgorithm, TypeError):
        return "unsupported-algorithm"
    except ValueError as exc:
        # cryptography raises ValueError for a name mismatch and for
        # signature algorithms its OpenSSL build refuses (SHA-1, MD5).
        if "subject does not match" in str(exc):
            return "name-mismatch"
        return _verify_legacy(child, parent)
    return None


def _verify_legacy(child: CertInfo, parent: CertInfo) -> str | None:
    """Verify SHA-1/MD5 signatures by hand (prehashed), so that a weak but
    correct signature is reported as *insecure*, not as *wrong*."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils

    assert child.cert is not None and parent.cert is not None
    algo: hashes.HashAlgorithm
    if child.signature_hash == "sha1":
        algo = hashes.SHA1()
    elif child.signature_hash == "md5":
        algo = hashes.MD5()
    else:
        return "unsupported-algorithm"
    h = hashes.Hash(algo)
    h.update(child.cert.tbs_certificate_bytes)
    digest = h.finalize()
    key = parent.cert.public_key()
    try:
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(child.cert.signature, digest, padding.PKCS1v15(), utils.Prehashed(algo))
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(child.cert.signature, digest, ec.ECDSA(utils.Prehashed(algo)))
        else:
            return "unsupported-algorithm"
    except InvalidSignature:
        return "bad-signature"
    except Exception:
        return "unsupported-algorithm"
    return None


def ip_in_cidr(ip: str, cidr: str) -> bool:
    try:
        return ipaddress.ip_address(ip) in ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        return False
