"""A small PKI factory for tests and the lab.

Makes every certificate shape the engine must recognise: CA hierarchies,
cross-signs, name constraints, SHA-1, RSA-1024, path-length violations,
clientAuth-only leaves, expired or not-yet-valid certificates, v1
certificates, unknown critical extensions.  Keys are cached per kind so a test
run stays fast (EC P-256 by default).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Sequence
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ..model.certder import KEY_USAGE_NAMES
from ..model.record import field, mutable_record

NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)

PrivateKey = Any  # ec/rsa/ed25519 private keys

_KEY_CACHE: dict[tuple[str, int], PrivateKey] = {}


def new_key(kind: str = "ec", *, fresh: bool = True, slot: int = 0) -> PrivateKey:
    """Make a key; with ``fresh=False`` reuse a cached one for ``(kind, slot)``."""
    if not fresh and (kind, slot) in _KEY_CACHE:
        return _KEY_CACHE[(kind, slot)]
    if kind == "ec":
        key: PrivateKey = ec.generate_private_key(ec.SECP256R1())
    elif kind == "ec384":
        key = ec.generate_private_key(ec.SECP384R1())
    elif kind.startswith("rsa"):
        key = rsa.generate_private_key(public_exponent=65537, key_size=int(kind[3:] or 2048))
    elif kind == "ed25519":
        key = ed25519.Ed25519PrivateKey.generate()
    else:  # pragma: no cover
        raise ValueError(kind)
    if not fresh:
        _KEY_CACHE[(kind, slot)] = key
    return key


@mutable_record
class Issued:
    """A certificate with its key."""

    cert: x509.Certificate
    key: PrivateKey
    name: x509.Name = field(init=False)

    def __post_init__(self) -> None:
        self.name = self.cert.subject

    @property
    def pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    @property
    def der(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.DER)

    @property
    def key_pem(self) -> bytes:
        return self.key.private_bytes(  # type: ignore[no-any-return]
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )


def name(cn: str, org: str | None = None) -> x509.Name:
    attrs = []
    if org:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, org))
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, cn))
    return x509.Name(attrs)


_serial = [1000]


def make_cert(
    subject: str | x509.Name,
    *,
    issuer: Issued | None = None,
    key: PrivateKey | None = None,
    key_kind: str = "ec",
    ca: bool | None = True,
    path_length: int | None = None,
    key_usage: Sequence[str] | None = None,
    eku: Sequence[str] | None = None,
    dns: Sequence[str] = (),
    ips: Sequence[str] = (),
    not_before: dt.datetime | None = None,
    not_after: dt.datetime | None = None,
    hash_alg: str = "sha256",
    ski: bool = True,
    aki: bool = True,
    permitted_dns: Sequence[str] = (),
    excluded_dns: Sequence[str] = (),
    permitted_ip: Sequence[str] = (),
    excluded_ip: Sequence[str] = (),
    unknown_critical: bool = False,
    version1: bool = False,
    aia_ca_issuers: Sequence[str] = (),
    san_critical: bool = False,
    issuer_name: x509.Name | None = None,
    bc_critical: bool = True,
    raw_extensions: Sequence[tuple[str, bytes, bool]] = (),
) -> Issued:
    """Issue one certificate.  ``issuer=None`` makes it self-signed.

    ``raw_extensions``: (OID, DER value, critical) written as given, for
    encodings the builder refuses (a pathLenConstraint on a non-CA, an empty
    subjectAltName)."""
    subj = subject if isinstance(subject, x509.Name) else name(subject)
    key = key if key is not None else new_key(key_kind)
    sign_key = issuer.key if issuer is not None else key
    iss_name = issuer_name or (issuer.cert.subject if issuer is not None else subj)
    _serial[0] += 1
    b = (
        x509.CertificateBuilder()
        .subject_name(subj)
        .issuer_name(iss_name)
        .public_key(key.public_key())
        .serial_number(_serial[0] * 7919 + 17)
        .not_valid_before(not_before or NOW - 30 * DAY)
        .not_valid_after(not_after or NOW + 365 * DAY)
    )
    if not version1:
        if ca is not None:
            b = b.add_extension(
                x509.BasicConstraints(ca=ca, path_length=path_length if ca else None),
                critical=bc_critical,
            )
        if key_usage is None:
            key_usage = ("key_cert_sign", "crl_sign") if ca else ("digital_signature",)
        if key_usage:
            flags = {n: n in key_usage for n in KEY_USAGE_NAMES}
            b = b.add_extension(
                x509.KeyUsage(**flags, encipher_only=False, decipher_only=False), critical=True
            )
        if eku is None and not ca:
            eku = ("serverAuth",)
        if eku:
            oids = [
                {
                    "serverAuth": ExtendedKeyUsageOID.SERVER_AUTH,
                    "clientAuth": ExtendedKeyUsageOID.CLIENT_AUTH,
                    "codeSigning": ExtendedKeyUsageOID.CODE_SIGNING,
                    "any": ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE,
                }[e]
                for e in eku
            ]
            b = b.add_extension(x509.ExtendedKeyUsage(oids), critical=False)
        sans: list[x509.GeneralName] = [x509.DNSName(d) for d in dns]
        sans += [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
        if sans:
            b = b.add_extension(x509.SubjectAlternativeName(sans), critical=san_critical)
        if ski:
            b = b.add_extension(
                x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
            )
        if aki:
            b = b.add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(sign_key.public_key()),
                critical=False,
            )
        if permitted_dns or excluded_dns or permitted_ip or excluded_ip:
            perm: list[x509.GeneralName] = [x509.DNSName(d) for d in permitted_dns]
            perm += [x509.IPAddress(ipaddress.ip_network(n)) for n in permitted_ip]
            excl: list[x509.GeneralName] = [x509.DNSName(d) for d in excluded_dns]
            excl += [x509.IPAddress(ipaddress.ip_network(n)) for n in excluded_ip]
            b = b.add_extension(
                x509.NameConstraints(
                    permitted_subtrees=perm or None, excluded_subtrees=excl or None
                ),
                critical=True,
            )
        if aia_ca_issuers:
            from cryptography.x509.oid import AuthorityInformationAccessOID as AIA

            b = b.add_extension(
                x509.AuthorityInformationAccess(
                    [
                        x509.AccessDescription(AIA.CA_ISSUERS, x509.UniformResourceIdentifier(u))
                        for u in aia_ca_issuers
                    ]
                ),
                critical=False,
            )
        for oid, value, critical in raw_extensions:
            b = b.add_extension(
                x509.UnrecognizedExtension(x509.ObjectIdentifier(oid), value), critical=critical
            )
        if unknown_critical:
            b = b.add_extension(
                x509.UnrecognizedExtension(
                    x509.ObjectIdentifier("1.3.6.1.4.1.55738.666.1"), b"\x05\x00"
                ),
                critical=True,
            )
    algo: hashes.SHA256 | hashes.SHA384 | None
    if isinstance(sign_key, ed25519.Ed25519PrivateKey):
        algo = None
    else:
        algo = hashes.SHA384() if hash_alg == "sha384" else hashes.SHA256()
    cert = _sign_v1(b, sign_key, algo) if version1 else b.sign(sign_key, algo)
    if hash_alg in ("sha1", "md5"):
        cert = _resign_legacy(cert, sign_key, hash_alg)
    return Issued(cert, key)


# AlgorithmIdentifier DER for the legacy digests (RFC 3279 / RFC 5758): the
# cryptography build refuses to sign with them, so tests re-sign by hand.
_LEGACY_ALG = {
    ("rsa", "sha1"): bytes.fromhex("300d06092a864886f70d0101050500"),
    ("rsa", "md5"): bytes.fromhex("300d06092a864886f70d0101040500"),
    ("ec", "sha1"): bytes.fromhex("300906072a8648ce3d0401"),
}


def _elements(body: bytes) -> list[bytes]:
    out = []
    while body:
        n = _der_len_total(body)
        out.append(body[:n])
        body = body[n:]
    return out


def _resign_legacy(cert: x509.Certificate, key: PrivateKey, digest: str) -> x509.Certificate:
    from cryptography.hazmat.primitives.asymmetric import padding, utils

    kind = "rsa" if isinstance(key, rsa.RSAPrivateKey) else "ec"
    alg = _LEGACY_ALG[(kind, digest)]
    tbs = cert.tbs_certificate_bytes
    hdr = 2 if tbs[1] < 0x80 else 2 + (tbs[1] & 0x7F)
    parts = _elements(tbs[hdr:])
    idx = 2 if parts[0][:1] == b"\xa0" else 1
    parts[idx] = alg
    new_tbs = _der_seq(b"".join(parts))
    h = hashes.Hash(hashes.SHA1() if digest == "sha1" else hashes.MD5())
    h.update(new_tbs)
    d = h.finalize()
    pre = utils.Prehashed(hashes.SHA1() if digest == "sha1" else hashes.MD5())
    sig = key.sign(d, padding.PKCS1v15(), pre) if kind == "rsa" else key.sign(d, ec.ECDSA(pre))
    bitstring = b"\x03" + _der_len(len(sig) + 1) + b"\x00" + sig
    return x509.load_der_x509_certificate(_der_seq(new_tbs + alg + bitstring))


def _sign_v1(
    b: x509.CertificateBuilder, key: PrivateKey, algo: hashes.SHA256 | hashes.SHA384 | None
) -> x509.Certificate:
    # cryptography always writes v3; patch the version field of a v3 TBS with no
    # extensions into v1 and re-sign with the same key.  The TBS of a builder with
    # no extensions encodes "[0] INTEGER 2"; rebuild it without that element.
    cert = b.sign(key, algo)
    from cryptography.hazmat.primitives.asymmetric import padding

    tbs = cert.tbs_certificate_bytes
    # TBS: 30 len { a0 03 02 01 02 ... }: drop the 5-byte explicit version.
    hdr_len = 2 if tbs[1] < 0x80 else 2 + (tbs[1] & 0x7F)
    body = tbs[hdr_len:]
    assert body[:5] == b"\xa0\x03\x02\x01\x02", "unexpected TBS layout"
    body = body[5:]
    new_tbs = _der_seq(body)
    if isinstance(key, rsa.RSAPrivateKey):
        assert algo is not None
        sig = key.sign(new_tbs, padding.PKCS1v15(), algo)
    elif isinstance(key, ec.EllipticCurvePrivateKey):
        assert algo is not None
        sig = key.sign(new_tbs, ec.ECDSA(algo))
    else:
        sig = key.sign(new_tbs)
    der = cert.public_bytes(serialization.Encoding.DER)
    # Reuse the signatureAlgorithm element of the original certificate.
    outer_hdr = 2 if der[1] < 0x80 else 2 + (der[1] & 0x7F)
    rest = der[outer_hdr + len(tbs) :]
    alg_len = _der_len_total(rest)
    alg = rest[:alg_len]
    bitstring = b"\x03" + _der_len(len(sig) + 1) + b"\x00" + sig
    return x509.load_der_x509_certificate(_der_seq(new_tbs + alg + bitstring))


def _der_len(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw


def _der_seq(body: bytes) -> bytes:
    return b"\x30" + _der_len(len(body)) + body


def _der_len_total(data: bytes) -> int:
    if data[1] < 0x80:
        return 2 + data[1]
    n = data[1] & 0x7F
    return 2 + n + int.from_bytes(data[2 : 2 + n], "big")


# -- common shapes ---------------------------------------------------------------


@mutable_record
class Hierarchy:
    """Root, intermediate and leaf, issued in that order."""

    root: Issued
    intermediate: Issued
    leaf: Issued

    @property
    def fullchain_pem(self) -> bytes:
        return self.leaf.pem + self.intermediate.pem


def hierarchy(
    host: str = "registry.internal.example.com",
    *,
    root_cn: str = "Example Internal Root CA",
    inter_cn: str = "Example Internal Issuing CA",
    key_kind: str = "ec",
    **leaf_kw: Any,
) -> Hierarchy:
    """Root → intermediate → leaf for ``host``, as in the seed guide."""
    root = make_cert(root_cn, key_kind=key_kind)
    inter = make_cert(inter_cn, issuer=root, key_kind=key_kind)
    leaf_kw.setdefault("dns", (host,))
    leaf = make_cert(host, issuer=inter, ca=False, key_kind=key_kind, **leaf_kw)
    return Hierarchy(root, inter, leaf)
