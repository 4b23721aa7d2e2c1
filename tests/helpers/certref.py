"""The certificate reader trustdoctor used before ``model.certder``: every
fact read from cryptography's parsed objects.  Kept here as the oracle the
DER reader is compared with (``tests/engine/test_certder.py``): the same
facts from both, certificate by certificate.  Returns plain dicts."""

from __future__ import annotations

import hashlib
import warnings
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from trustdoctor.model.cert import HANDLED_EXTENSIONS


def reference_facts(der: bytes) -> dict[str, Any]:
    """Every CertInfo field as cryptography's objects give it; raises what
    cryptography raises for bytes it refuses."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cert = x509.load_der_x509_certificate(der)
        return _from_certificate(cert, False, der)


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


def _from_certificate(
    cert: x509.Certificate, trusted_block: bool, der: bytes | None
) -> dict[str, object]:
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
    return dict(
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
    )


def _name_constraints(nc: x509.NameConstraints) -> dict[str, object]:
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
    return dict(
        permitted_dns=tuple(pd),
        excluded_dns=tuple(ed),
        permitted_ip=tuple(pi),
        excluded_ip=tuple(ei),
        permitted_email=tuple(pe),
        excluded_email=tuple(ee),
        has_dn_constraints=pdn or edn,
        unsupported=pu or eu,
    )




def reference_verify(child_der: bytes, parent_der: bytes) -> str | None:
    """The signature check as it was: ``verify_directly_issued_by``, and the
    SHA-1/MD5 signatures by hand (prehashed)."""
    from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        child = x509.load_der_x509_certificate(child_der)
        parent = x509.load_der_x509_certificate(parent_der)
        try:
            child.verify_directly_issued_by(parent)
        except InvalidSignature:
            return "bad-signature"
        except (UnsupportedAlgorithm, TypeError):
            return "unsupported-algorithm"
        except ValueError as exc:
            if "subject does not match" in str(exc):
                return "name-mismatch"
            return _verify_legacy(child, parent)
    return None


def _verify_legacy(child: x509.Certificate, parent: x509.Certificate) -> str | None:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils

    algo: hashes.HashAlgorithm
    try:
        name = child.signature_hash_algorithm
    except Exception:
        return "unsupported-algorithm"
    if isinstance(name, hashes.SHA1):
        algo = hashes.SHA1()
    elif isinstance(name, hashes.MD5):
        algo = hashes.MD5()
    else:
        return "unsupported-algorithm"
    h = hashes.Hash(algo)
    h.update(child.tbs_certificate_bytes)
    digest = h.finalize()
    key = parent.public_key()
    try:
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(child.signature, digest, padding.PKCS1v15(), utils.Prehashed(algo))
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(child.signature, digest, ec.ECDSA(utils.Prehashed(algo)))
        else:
            return "unsupported-algorithm"
    except InvalidSignature:
        return "bad-signature"
    except Exception:
        return "unsupported-algorithm"
    return None
