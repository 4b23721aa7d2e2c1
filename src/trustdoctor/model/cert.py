"""Certificates as immutable facts.

:class:`CertInfo` is built once from a certificate's DER (``model.certder``
reads it) and carries every fact the rules look at, so the rest of the engine
never has to touch ASN.1.  Parsing is pure (bytes in, values out); signatures
are checked by cryptography on the issuer's SubjectPublicKeyInfo.
"""

from __future__ import annotations

import contextlib
import datetime as dt

from . import certder, digest, fastverify
from .record import field, record

TYPE_CHECKING = False  # typing's constant, without importing typing (model/record.py)
if TYPE_CHECKING:
    from typing import Any

    from cryptography import x509

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

    def __hash__(self) -> int:
        # Equal certificates have the same DER, so the same fingerprint: its
        # text's hash (cached by str) stands for the 37 fields.  The client
        # models memoise per certificate (a whole store of them per
        # verification), where hashing every field was ~2% of a scan.
        return hash(self.sha256)

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


def parse_certificate(der: bytes, *, trusted_block: bool = False) -> CertInfo:
    """Read a DER certificate's facts (pure); ``certder.CertificateError`` (a
    ValueError) if the bytes are not a certificate."""
    p = certder.parse(der, HANDLED_EXTENSIONS)
    x = p.extensions
    spki_sha256 = p.spki_sha256
    if p.key is not None:
        key_type, bits, curve = p.key
    else:
        key_type, bits, curve, spki_sha256 = _loaded_key_facts(der, p.spki_sha256)
    return CertInfo(
        der=der,
        sha256=p.sha256,
        subject=p.subject.text,
        issuer=p.issuer.text,
        subject_der=p.subject_der,
        issuer_der=p.issuer_der,
        common_name=certder.first_attribute(p.subject, certder.COMMON_NAME),
        organization=certder.first_attribute(p.subject, certder.ORGANIZATION),
        serial=p.serial,
        version=p.version,
        not_before=p.not_before,
        not_after=p.not_after,
        is_ca=x.is_ca,
        path_length=x.path_length,
        bc_critical=x.bc_critical,
        key_usage=x.key_usage,
        eku=x.eku,
        ski=x.ski,
        aki=x.aki,
        dns_names=x.dns_names,
        ip_addresses=x.ip_addresses,
        emails=x.emails,
        has_san=x.has_san,
        aia_ca_issuers=x.aia_ca_issuers,
        aia_ocsp=x.aia_ocsp,
        signature_algorithm=p.signature_algorithm,
        signature_hash=p.signature_hash,
        key_type=key_type,
        key_bits=bits,
        key_curve=curve,
        self_issued=p.subject_der == p.issuer_der,
        unhandled_critical=x.unhandled_critical,
        name_constraints=_name_constraints(x.name_constraints),
        spki_sha256=spki_sha256,
        trusted_block=trusted_block,
        aki_has_issuer=x.aki_has_issuer,
    )


def _loaded_key_facts(der: bytes, fallback: str) -> tuple[str, int, str | None, str]:
    """Type, size, curve and SPKI hash of a key the DER reader does not know
    (explicit EC parameters, a new algorithm), from the key cryptography loads;
    ("unknown", 0, None) and ``fallback`` if it cannot."""
    try:
        from cryptography.hazmat.primitives import _serialization as ser

        key = _public_key(certder.spki(der))
        spki = key.public_bytes(ser.Encoding.DER, ser.PublicFormat.SubjectPublicKeyInfo)
    except Exception:
        return "unknown", 0, None, fallback
    return (*key_facts(key), digest.sha256(spki).hexdigest())


def key_facts(key: object) -> tuple[str, int, str | None]:
    """(type, bits, curve) of a public key cryptography has loaded: RSA, EC,
    Ed25519, Ed448, DSA, else ("unknown", 0, None)."""
    from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa

    if isinstance(key, rsa.RSAPublicKey):
        return "RSA", key.key_size, None
    if isinstance(key, ec.EllipticCurvePublicKey):
        return "EC", key.key_size, key.curve.name
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "Ed25519", 256, None
    if isinstance(key, ed448.Ed448PublicKey):
        return "Ed448", 456, None
    if isinstance(key, dsa.DSAPublicKey):
        return "DSA", key.key_size, None
    return "unknown", 0, None


def from_certificate(cert: x509.Certificate, *, trusted_block: bool = False) -> CertInfo:
    """:func:`parse_certificate` of a certificate cryptography has loaded (a
    PKCS#7 or PKCS#12 bundle's, a library caller's)."""
    from cryptography.hazmat.primitives import _serialization

    return parse_certificate(
        cert.public_bytes(_serialization.Encoding.DER), trusted_block=trusted_block
    )


def _name_constraints(
    nc: tuple[tuple[certder.GeneralName, ...], tuple[certder.GeneralName, ...]] | None,
) -> NameConstraints | None:
    if nc is None:
        return None
    permitted, excluded = nc

    def of(names: tuple[certder.GeneralName, ...], tag: int) -> tuple[str, ...]:
        return tuple(str(g.value) for g in names if g.tag == tag)

    both = permitted + excluded
    return NameConstraints(
        permitted_dns=of(permitted, 2),
        excluded_dns=of(excluded, 2),
        permitted_ip=of(permitted, 7),
        excluded_ip=of(excluded, 7),
        permitted_email=of(permitted, 1),
        excluded_email=of(excluded, 1),
        has_dn_constraints=any(g.tag == 4 for g in both),
        unsupported=any(g.tag not in (1, 2, 4, 7) for g in both),
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
    if child.issuer_der != parent.subject_der:
        return "name-mismatch"
    try:
        signed = certder.signed(child.der)
        spki = certder.spki(parent.der)
    except Exception:
        return "unsupported-algorithm"
    global _FAST_LEFT
    if signed.inner_matches and _FAST_LEFT > 0:
        # Valid, in the form OpenSSL accepts: what cryptography would answer,
        # without loading it (model/fastverify.py); anything else is its call.
        _FAST_LEFT -= 1
        if fastverify.confirms(signed.algorithm.oid, signed.tbs, signed.signature, spki):
            return None
        _FAST_LEFT = 0  # cryptography is loaded now, and faster from here on
    try:
        key = _public_key(spki)
    except Exception:  # cryptography refuses the key (unknown curve, malformed)
        return "unsupported-algorithm"
    if not signed.inner_matches:
        return "unsupported-algorithm"
    from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm

    try:
        ok = _check(key, signed)
    except InvalidSignature:
        return "bad-signature"
    except (UnsupportedAlgorithm, TypeError, ValueError):
        # TypeError: a key of another kind than the algorithm names.
        return "unsupported-algorithm"
    return None if ok else "unsupported-algorithm"


# Signature checks left to model/fastverify.py in this process.  Its Python
# arithmetic (~4 ms for a P-256 check here) beats loading cryptography (~20 ms)
# for the few checks of a command's chain, not for a store's or a scan's
# hundreds, nor for the decoys of a hostile chain: past this budget, or once
# cryptography had to answer (it is loaded then), cryptography checks all.
_FAST_BUDGET = 8
_FAST_LEFT = _FAST_BUDGET

# Issuer keys by SubjectPublicKeyInfo (a CA's key checks many children).
_KEYS: dict[bytes, Any] = {}
_MAX_KEYS = 512


def _public_key(spki: bytes) -> Any:
    key = _KEYS.get(spki)
    if key is None:
        try:
            # The binding the public loader is (``serialization.base``); the
            # public package would also import the SSH and PKCS#12 modules.
            from cryptography.hazmat.bindings._rust import openssl as rust_openssl

            load = rust_openssl.keys.load_der_public_key
        except (ImportError, AttributeError):  # pragma: no cover - another release
            from cryptography.hazmat.primitives.serialization import load_der_public_key as load
        key = load(spki)
        if len(_KEYS) < _MAX_KEYS:
            _KEYS[spki] = key
    return key


def _check(key: Any, signed: certder.Signed) -> bool:
    """Verify; False for an algorithm trustdoctor does not check.

    The digest is computed here and handed over prehashed, so that a SHA-1 or
    MD5 signature that is correct is reported as *insecure* (by the rules),
    not as *wrong*: OpenSSL 3 refuses to compute those for a signature."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import utils

    oid = signed.algorithm.oid
    if oid in ("1.3.101.112", "1.3.101.113"):  # Ed25519, Ed448: no digest
        key.verify(signed.signature, signed.tbs)
        return True
    if oid == certder.RSA_PSS:
        h, mgf_hash, salt = certder.pss_parameters(signed.algorithm.params)
    else:
        h = certder.SIGNATURE_ALGORITHMS.get(oid, ("", None))[1] or ""
        mgf_hash, salt = h, 0
    algo = getattr(hashes, h.upper(), None)
    if algo is None or not digest.available(h):
        return False
    tbs_digest = digest.new(h, signed.tbs).digest()
    prehashed = utils.Prehashed(algo())
    if oid.startswith("1.2.840.10045.4."):
        key.verify(signed.signature, tbs_digest, _ecdsa(prehashed))
    elif oid.startswith(("1.2.840.10040.4.", "2.16.840.1.101.3.4.3.")):
        key.verify(signed.signature, tbs_digest, prehashed)  # DSA
    else:
        from cryptography.hazmat.primitives.asymmetric import padding

        pad: Any = (
            padding.PSS(mgf=padding.MGF1(getattr(hashes, mgf_hash.upper())()), salt_length=salt)
            if oid == certder.RSA_PSS
            else padding.PKCS1v15()
        )
        key.verify(signed.signature, tbs_digest, pad, prehashed)
    return True


_ECDSA: Any = None


def _ecdsa(algorithm: Any) -> Any:
    """``ec.ECDSA(algorithm)`` for verifying.  ``ECDSA.__init__`` imports
    cryptography's cffi OpenSSL backend (8-12 ms at start-up, cryptography
    50) only to check an option of *signing* (RFC 6979); a subclass that
    leaves it out is the same algorithm to ``verify``."""
    global _ECDSA
    if _ECDSA is None:
        from cryptography.hazmat.primitives.asymmetric import ec

        class _Verifying(ec.ECDSA):
            def __init__(self, algorithm: Any) -> None:
                self._verify_algorithm = algorithm

            @property
            def algorithm(self) -> Any:
                return self._verify_algorithm

            @property
            def deterministic_signing(self) -> bool:
                return False

        _ECDSA = _Verifying
    return _ECDSA(algorithm)


def ip_in_cidr(ip: str, cidr: str) -> bool:
    try:
        import ipaddress  # (name constraints on IPs only: ~2 ms of a cold start)

        return ipaddress.ip_address(ip) in ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        return False
