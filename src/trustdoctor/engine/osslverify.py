"""OpenSSL's X509_verify_cert, step by step (pure).

OpenSSL does not search every path: ``build_chain`` extends the chain one
issuer at a time, looking in the trust store first (X509_V_FLAG_TRUSTED_FIRST,
the default since 1.1.0) and then among the untrusted certificates the peer
sent, taking at each step the *first* candidate whose name and key
identifier match and that is valid now (else the one expiring last), and
never goes back.  A wrong pick (an expired cross-sign, a same-name CA with
another key) is then reported by the checks that follow, in this order:

1. the leaf's key strength (66) — before anything else;
2. build_chain: 2, 18, 19, 20 (22 when longer than the depth limit); with
   X509_V_FLAG_PARTIAL_CHAIN the first trusted certificate ends the chain,
   and a leaf found in the store is trusted by itself;
3. check_extensions per certificate from the leaf up: unhandled critical
   extension (34), not a CA (79), explicit EC parameters (94), with
   X509_V_FLAG_X509_STRICT the RFC 5280 profile errors (78, 80-93), purpose
   (26), path length (25);
4. check_auth_level: CA key strength (67), signature digest (68);
5. check_id: host name (62) / IP address (64);
6. internal_verify from the top down: keyCertSign (32), signature (7),
   "unable to verify the first certificate" (21), validity (9, 10);
7. check_name_constraints from the top down, the leaf's subject CN counted as
   a DNS name when the leaf has no DNS SAN (47, 48, 51).

:func:`verify` returns every error in that order, as a verify callback that
always continues sees them (Node.js reports the *last* one); a client with
OpenSSL's default callback (curl, Python, ``openssl verify``) stops at the
first.  Sources: openssl/openssl crypto/x509/x509_vfy.c (build_chain,
verify_chain, check_extensions, internal_verify, check_name_constraints),
v3_purp.c (X509_check_ca, X509_supported_extension, check_purpose_ssl_server),
x509_cmp.c, v3_ncons.c (nc_match, nc_dns, NAME_CONSTRAINTS_check_CN),
v3_utl.c (X509_check_host); checked against ``openssl verify`` 3.0 in
tests/engine/test_oracles.py.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping, Sequence

from ..model import certder, der
from ..model.cert import CertInfo, verify_signature
from ..model.der import DerError
from ..model.record import field, identity_record
from ..model.target import parse_ip

# v3_purp.c X509_supported_extension (3.0): a critical extension outside this
# list is error 34.  AKI, SKI and AIA are *not* in it.
SUPPORTED_CRITICAL = frozenset(
    {
        "2.16.840.1.113730.1.1",  # netscape cert type
        "2.5.29.15",  # keyUsage
        "2.5.29.17",  # subjectAltName
        "2.5.29.19",  # basicConstraints
        "2.5.29.32",  # certificatePolicies
        "2.5.29.31",  # cRLDistributionPoints
        "2.5.29.37",  # extKeyUsage
        "1.3.6.1.5.5.7.1.7",  # sbgp-ipAddrBlock
        "1.3.6.1.5.5.7.1.8",  # sbgp-autonomousSysNum
        "2.5.29.36",  # policyConstraints
        "1.3.6.1.5.5.7.1.14",  # proxyCertInfo
        "2.5.29.30",  # nameConstraints
        "2.5.29.33",  # policyMappings
        "2.5.29.54",  # inhibitAnyPolicy
    }
)
SERVER_AUTH = "1.3.6.1.5.5.7.3.1"
NS_SGC = "2.16.840.1.113730.4.1"
MS_SGC = "1.3.6.1.4.1.311.10.3.3"
# Security bits per security level (ssl/ssl_cert.c minbits_table).
LEVEL_BITS = (80, 112, 128, 192, 256)
DIGEST_BITS: Mapping[str, int] = {
    "md2": 0, "md4": 0, "md5": 39, "sha1": 63, "sha224": 112, "sha256": 128,
    "sha384": 192, "sha512": 256,
}

# Verify codes (include/openssl/x509_vfy.h) and texts (crypto/x509/x509_txt.c, 3.0).
TEXTS: Mapping[int, str] = {
    1: "unspecified certificate verification error",
    2: "unable to get issuer certificate",
    7: "certificate signature failure",
    9: "certificate is not yet valid",
    10: "certificate has expired",
    18: "self-signed certificate",
    19: "self-signed certificate in certificate chain",
    20: "unable to get local issuer certificate",
    21: "unable to verify the first certificate",
    22: "certificate chain too long",
    25: "path length constraint exceeded",
    26: "unsuitable certificate purpose",
    32: "key usage does not include certificate signing",
    34: "unhandled critical extension",
    47: "permitted subtree violation",
    48: "excluded subtree violation",
    49: "name constraints minimum and maximum not supported",
    51: "unsupported name constraint type",
    53: "unsupported or invalid name syntax",
    62: "hostname mismatch",
    64: "IP address mismatch",
    66: "EE certificate key too weak",
    67: "CA certificate key too weak",
    68: "CA signature digest algorithm too weak",
    78: "cert info signature and signature algorithm mismatch",
    79: "invalid CA certificate",
    80: "Path length invalid for non-CA cert",
    81: "Path length given without key usage keyCertSign",
    82: "Key usage keyCertSign invalid for non-CA cert",
    83: "Issuer name empty",
    84: "Subject name empty",
    85: "Missing Authority Key Identifier",
    86: "Missing Subject Key Identifier",
    87: "Empty Subject Alternative Name extension",
    88: "Subject empty and Subject Alt Name extension not critical",
    89: "Basic Constraints of CA cert not marked critical",
    90: "Authority Key Identifier marked critical",
    91: "Subject Key Identifier marked critical",
    92: "CA cert does not include key usage extension",
    93: "Using cert extension requires at least X509v3",
    94: "Certificate public key has explicit ECC parameters",
}
# The X509_V_FLAG_X509_STRICT errors (x509_vfy.c check_extensions, RFC 5280
# profile checks), each with the rule name its finding carries.  90 and 91
# cannot happen in OpenSSL 3.0: AKI and SKI are not among the supported
# critical extensions, so a critical one is error 34 first and the loop in
# ossl_x509v3_cache_extensions stops before flagging it.
STRICT_RULES: Mapping[int, str] = {
    78: "signature-algorithm-mismatch",
    80: "pathlen-on-non-ca",
    81: "pathlen-without-key-cert-sign",
    82: "key-cert-sign-on-non-ca",
    83: "empty-issuer",
    84: "empty-subject",
    85: "missing-aki",
    86: "missing-ski",
    87: "empty-san",
    88: "san-not-critical",
    89: "ca-basic-constraints-not-critical",
    90: "aki-critical",
    91: "ski-critical",
    92: "ca-missing-key-usage",
    93: "extensions-in-v1",
}
# OpenSSL 1.1.1 wording where it differs (x509_txt.c at OpenSSL_1_1_1).
TEXTS_111: Mapping[int, str] = {
    18: "self signed certificate",
    19: "self signed certificate in certificate chain",
}


@identity_record
class OsslError:
    """One error of the OpenSSL simulation: its X509_V_ERR code and where in the chain."""

    code: int
    depth: int
    cert: CertInfo

    @property
    def text(self) -> str:
        return TEXTS.get(self.code, f"error {self.code}")


@identity_record
class OsslOutcome:
    """Every error in the order a continuing callback sees them, and the chain."""

    errors: tuple[OsslError, ...]
    chain: tuple[CertInfo, ...]
    trusted_from: int  # index of the first trusted certificate (len(chain) if none)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def first(self) -> OsslError | None:
        return self.errors[0] if self.errors else None

    @property
    def last(self) -> OsslError | None:
        return self.errors[-1] if self.errors else None


@identity_record
class _Facts:
    """What OpenSSL's x509v3_cache_extensions leaves on a certificate."""

    info: CertInfo
    subject: tuple[tuple[tuple[str, str], ...], ...]  # canonical RDNs
    issuer: tuple[tuple[tuple[str, str], ...], ...]
    version: int
    bc: bool = False
    bc_critical: bool = False
    ca: bool = False
    pathlen: int = -1
    ku: frozenset[str] | None = None
    eku: tuple[str, ...] | None = None
    ski: bytes | None = None
    aki_keyid: bytes | None = None
    aki_serial: int | None = None
    aki_issuer: tuple[tuple[tuple[str, str], ...], ...] | None = None
    alg_mismatch: bool = False
    sans: tuple[tuple[int, bytes], ...] | None = None
    # (base tag, base value, the bound OpenSSL does not support or None: _bound)
    nc_permitted: tuple[tuple[int, bytes, str | None], ...] = ()
    nc_excluded: tuple[tuple[int, bytes, str | None], ...] = ()
    has_nc: bool = False
    critical_unsupported: bool = False
    # EXFLAG_{AKID,SKID,SAN}_CRITICAL: set only for critical extensions seen
    # before the first unsupported critical one (cache_extensions stops there).
    aki_critical: bool = False
    ski_critical: bool = False
    san_critical: bool = False
    extensions: int = 0
    explicit_curve: bool = False
    invalid: bool = False
    emails_in_subject: tuple[str, ...] = field(default=())

    @property
    def self_issued(self) -> bool:
        return self.subject == self.issuer

    @property
    def self_signed(self) -> bool:
        """EXFLAG_SS: self-issued, AKID consistent, signature type matches the key."""
        return (
            self.self_issued
            and not self.invalid
            and _akid_ok(self, self)
            and _sig_alg_matches(self.info, self.info)
        )


def _canon(name: bytes, *, lax: bool = True) -> tuple[tuple[tuple[str, str], ...], ...]:
    """X509_NAME canonical form of a Name's DER: per RDN, (type, lower-cased
    space-folded value)."""
    return _canon_rdns(certder.name_rdns(name, lax=lax))


def _canon_rdns(
    rdns: list[list[certder.Attribute]],
) -> tuple[tuple[tuple[str, str], ...], ...]:
    out = []
    for rdn in rdns:
        attrs = []
        for oid, value in rdn:
            v = value if isinstance(value, str) else value.decode("latin-1")
            attrs.append((oid, " ".join(v.lower().split())))
        out.append(tuple(sorted(attrs)))
    return tuple(out)


@functools.lru_cache(maxsize=2048)
def _facts(info: CertInfo) -> _Facts:
    subject_rdns = certder.name_rdns(info.subject_der)
    subject = _canon_rdns(subject_rdns)
    issuer = _canon(info.issuer_der, lax=False)
    emails = [
        str(value) for rdn in subject_rdns for oid, value in rdn if oid == "1.2.840.113549.1.9.1"
    ]
    upd: dict[str, object] = {}
    try:
        _scan(info.der, upd)
    except (DerError, IndexError, ValueError):
        upd["invalid"] = True
    return _Facts(
        info=info,
        subject=subject,
        issuer=issuer,
        version=info.version,
        emails_in_subject=tuple(emails),
        **upd,  # type: ignore[arg-type]
    )


def _scan(data: bytes, upd: dict[str, object]) -> None:
    cert = der.one(data, der.SEQUENCE)
    tbs = der.children(cert.value)[0]
    fields = der.children(tbs.value)
    i = 1 if fields and fields[0].tag == 0xA0 else 0
    if fields[i + 1].raw != der.children(cert.value)[1].raw:
        upd["alg_mismatch"] = True
    spki = fields[i + 5]
    alg = der.children(der.children(spki.value)[0].value)
    if der.oid(alg[0].value) == "1.2.840.10045.2.1" and len(alg) > 1 and alg[1].tag != der.OID:
        upd["explicit_curve"] = True
    seen: set[str] = set()
    for f in fields[i + 6 :]:
        if f.tag != 0xA3:
            continue
        for e in der.children(der.one(f.value, der.SEQUENCE).value):
            items = der.children(e.value)
            oid = der.oid(items[0].value)
            if oid in seen:
                upd["invalid"] = True  # EXFLAG_DUPLICATE → invalid certificate
            seen.add(oid)
            upd["extensions"] = len(seen)
            critical = len(items) == 3 and items[1].value != b"\x00"
            value = items[-1].value
            if critical and not upd.get("critical_unsupported"):
                if oid not in SUPPORTED_CRITICAL:
                    upd["critical_unsupported"] = True
                elif oid in _CRITICAL_FLAGS:
                    upd[_CRITICAL_FLAGS[oid]] = True
            _ext(oid, value, upd)


# v3_purp.c ossl_x509v3_cache_extensions: the critical flags the strict checks read.
_CRITICAL_FLAGS: Mapping[str, str] = {
    "2.5.29.19": "bc_critical",
    "2.5.29.35": "aki_critical",
    "2.5.29.14": "ski_critical",
    "2.5.29.17": "san_critical",
}


def _ext(oid: str, value: bytes, upd: dict[str, object]) -> None:
    if oid == "2.5.29.19":
        upd["bc"] = True
        ca, plen = False, None
        for it in der.children(der.one(value, der.SEQUENCE).value):
            if it.tag == der.BOOLEAN:
                ca = it.value != b"\x00"
            elif it.tag == der.INTEGER:
                plen = der.integer(it.value)
        if plen is not None and plen < 0:
            upd["invalid"] = True  # X509V3_R_NEGATIVE_PATHLEN
            plen = None
        # OpenSSL 3.0 keeps a pathLenConstraint on a non-CA (the strict checks
        # report it: error 80; measured, 3.0.19 accepts it otherwise); 1.1.1
        # made such a certificate invalid.
        upd["ca"], upd["pathlen"] = ca, -1 if plen is None else plen
    elif oid == "2.5.29.15":
        bs = der.one(value, der.BIT_STRING).value
        names = ("digital_signature", "content_commitment", "key_encipherment",
                 "data_encipherment", "key_agreement", "key_cert_sign", "crl_sign")
        upd["ku"] = frozenset(n for k, n in enumerate(names) if der.bit(bs, k))
        if not any(der.bit(bs, k) for k in range(9)):
            upd["invalid"] = True  # v3_purp.c: empty key usage (RFC 5280 4.2.1.3)
    elif oid == "2.5.29.37":
        seq = der.one(value, der.SEQUENCE)
        upd["eku"] = tuple(der.oid(x.value) for x in der.children(seq.value))
    elif oid == "2.5.29.14":
        upd["ski"] = der.one(value, der.OCTET_STRING).value
    elif oid == "2.5.29.35":
        for it in der.children(der.one(value, der.SEQUENCE).value):
            if it.tag == 0x80:
                upd["aki_keyid"] = it.value
            elif it.tag == 0x82:
                upd["aki_serial"] = der.integer(it.value)
            elif it.tag == 0xA1:
                for g in der.children(it.value):
                    if g.tag == 0xA4:
                        upd["aki_issuer"] = _canon(g.value)
                        break
    elif oid == "2.5.29.17":
        seq = der.one(value, der.SEQUENCE)
        entries = der.children(seq.value)
        if not all(_general_name_ok(e) for e in entries):
            upd["invalid"] = True  # d2i of GENERAL_NAMES fails: the certificate is invalid
        upd["sans"] = tuple((e.tag, e.value) for e in entries)
    elif oid == "2.5.29.30":
        upd["has_nc"] = True
        for part in der.children(der.one(value, der.SEQUENCE).value):
            subtrees = []
            for s in der.children(part.value):
                base, *bounds = der.children(s.value)
                value = base.value if base.tag != 0xA4 else base.raw
                subtrees.append((base.tag, value, _bound(bounds)))
            key = "nc_permitted" if part.tag == 0xA0 else "nc_excluded"
            upd[key] = tuple(subtrees)


def _bound(bounds: list[der.Tlv]) -> str | None:
    """nc_minmax_valid (v3_ncons.c): OpenSSL supports neither a maximum nor a
    minimum other than 0 (written out or not); a subtree with either fails
    every name of its type with 49 (Go ignores both).  Which one, or None."""
    for b in bounds:
        if b.tag == 0x81:
            return "maximum"
        if b.tag == 0x80 and der.integer(b.value) != 0:
            return "minimum"
    return None


def subtree_bounds(cert: CertInfo) -> str | None:
    """``"maximum"`` or ``"minimum"`` when one of ``cert``'s name-constraint
    subtrees has a bound OpenSSL does not support (see :func:`_bound`)."""
    f = _facts(cert)
    return next((b for *_, b in (*f.nc_permitted, *f.nc_excluded) if b is not None), None)


def _general_name_ok(e: der.Tlv) -> bool:
    """Whether OpenSSL's GENERAL_NAME template decodes ``e`` (crypto/x509/v3_genn.c)."""
    try:
        if e.tag in (0x81, 0x82, 0x86, 0x87):
            return True
        if e.tag == 0xA0:  # otherName: type-id OID, [0] EXPLICIT value
            items = der.children(e.value)
            return len(items) == 2 and items[0].tag == der.OID and items[1].tag == 0xA0
        if e.tag == 0xA3:  # x400Address: kept as an opaque SEQUENCE
            return True
        if e.tag == 0xA4:  # directoryName: [4] EXPLICIT Name
            der.one(e.value, der.SEQUENCE)
            return True
        if e.tag == 0xA5:  # ediPartyName: [0] nameAssigner OPTIONAL, [1] partyName
            items = der.children(e.value)
            tags = [i.tag for i in items]
            return tags in ([0xA1], [0xA0, 0xA1])
        if e.tag == 0x88:  # registeredID
            der.oid(e.value)
            return True
    except DerError:
        return False
    return False


def _akid_ok(issuer: _Facts, subject: _Facts) -> bool:
    """X509_check_akid: the subject's AKI, where present, points at ``issuer``."""
    if subject.aki_keyid is not None and issuer.ski is not None and subject.aki_keyid != issuer.ski:
        return False
    if subject.aki_serial is not None and subject.aki_serial != issuer.info.serial:
        return False
    return subject.aki_issuer is None or subject.aki_issuer == issuer.issuer


def _sig_alg_matches(issuer: CertInfo, subject: CertInfo) -> bool:
    """check_sig_alg_match: the subject's signature type fits the issuer's key type."""
    alg = subject.signature_algorithm.lower()
    kt = issuer.key_type
    if "ecdsa" in alg:
        return kt == "EC"
    if "rsa" in alg or "pss" in alg:
        return kt == "RSA"
    if "ed25519" in alg:
        return kt == "Ed25519"
    if "ed448" in alg:
        return kt == "Ed448"
    if "dsa" in alg:
        return kt == "DSA"
    return True


def _likely_issued(issuer: _Facts, subject: _Facts) -> bool:
    """ossl_x509_likely_issued: name, AKID and key type (no signature check)."""
    if issuer.subject != subject.issuer:
        return False
    if issuer.invalid or subject.invalid:
        return False
    return _akid_ok(issuer, subject) and _sig_alg_matches(issuer.info, subject.info)


def _time_ok(f: _Facts, at: dt.datetime) -> bool:
    """X509_cmp_time: valid from notBefore, expired at notAfter itself."""
    return f.info.not_before.replace(microsecond=0) <= at < f.info.not_after.replace(microsecond=0)


def _best(cands: Sequence[_Facts], x: _Facts, at: dt.datetime) -> _Facts | None:
    """The first time-valid candidate, else the one expiring last (first of equals)."""
    best: _Facts | None = None
    for c in cands:
        if not _likely_issued(c, x):
            continue
        if _time_ok(c, at):
            return c
        if best is None or c.info.not_after > best.info.not_after:
            best = c
    return best


def _ku_reject(f: _Facts, usage: set[str]) -> bool:
    return f.ku is not None and not (f.ku & usage)


def _check_ca(f: _Facts) -> int:
    """X509_check_ca: 0 not a CA; 1 CA; 3 v1 self-signed root; 4 keyCertSign without BC."""
    if _ku_reject(f, {"key_cert_sign"}):
        return 0
    if f.bc:
        return 1 if f.ca else 0
    if f.version == 1 and f.self_signed:
        return 3
    if f.ku is not None:
        return 4
    return 0


def _xku_reject(f: _Facts) -> bool:
    return f.eku is not None and not ({SERVER_AUTH, NS_SGC, MS_SGC} & set(f.eku))


def _purpose_ok(f: _Facts, ca: bool) -> bool:
    """check_purpose_ssl_server."""
    if _xku_reject(f):
        return False
    if ca:
        return _check_ca(f) != 0
    return not _ku_reject(f, {"digital_signature", "key_encipherment", "key_agreement"})


def _security_bits(info: CertInfo) -> int:
    if info.key_type in ("RSA", "DSA"):
        n = info.key_bits
        for limit, bits in ((15360, 256), (7680, 192), (3072, 128), (2048, 112), (1024, 80)):
            if n >= limit:
                return bits
        return 0
    if info.key_type == "EC":
        return info.key_bits // 2
    if info.key_type == "Ed25519":
        return 128
    if info.key_type == "Ed448":
        return 224
    return 0


def _sig_bits(info: CertInfo) -> int:
    if info.key_type in ("Ed25519",) or "ed25519" in info.signature_algorithm.lower():
        return 128
    if "ed448" in info.signature_algorithm.lower():
        return 224
    return DIGEST_BITS.get((info.signature_hash or "").lower(), 128)


# -- host names (v3_utl.c X509_check_host, flags 0) ------------------------------------------


def _host_match(pattern: str, host: str, partial: bool = True) -> bool:
    # (No final-dot folding: X509_check_host compares the name as given, and
    # `openssl verify -verify_hostname name.` fails on a certificate for name.)
    p, h = pattern.lower(), host.lower()
    if p == h:
        return True
    star = p.find("*")
    if star < 0:
        return False
    # valid_star: one '*' in the leftmost label, at least two labels after it,
    # not inside an IDNA label; the '*' matches at least... zero or more chars
    # of one label.
    labels = p.split(".")
    if "*" in ".".join(labels[1:]) or len(labels) < 3:
        return False
    first = labels[0]
    if first.startswith("xn--") and first != "*":
        return False
    hl = h.split(".")
    if len(hl) != len(labels) or hl[1:] != labels[1:]:
        return False
    prefix, _, suffix = first.partition("*")
    if not partial and first != "*":  # X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS
        return False
    label = hl[0]
    if label.startswith("xn--") and (prefix or suffix):
        return False
    return (
        len(label) >= len(prefix) + len(suffix)
        and label.startswith(prefix)
        and label.endswith(suffix)
    )


def _check_host(
    f: _Facts, host: str, partial: bool = True, cn_beside_ip_sans: bool = True
) -> int | None:
    """62/64 or ``None``: X509_check_host/X509_check_ip as the client runs them
    (``partial``: see :func:`_host_match`; ``cn_beside_ip_sans=False``: no
    subject CN once the certificate has an IP address SAN, as curl's own
    check, which OpenSSL and Node do not mind)."""
    ip = parse_ip(host.strip("[]"))
    sans = f.sans or ()
    if ip is not None:
        if any(t == 0x87 and v == ip.packed for t, v in sans):
            return None
        return 64
    dns = [v.decode("latin-1") for t, v in sans if t == 0x82]
    if dns:
        return None if any(_host_match(d, host, partial) for d in dns) else 62
    if not cn_beside_ip_sans and any(t == 0x87 for t, _ in sans):
        return 62
    cn = f.info.common_name
    if cn is not None and _host_match(cn, host, partial):
        return None
    return 62


# -- name constraints (v3_ncons.c) ---------------------------------------------------------


def _nc_dns(name: str, base: str) -> bool:
    if not base:
        return True
    if len(name) < len(base):
        return False
    if len(name) > len(base):
        tail = name[len(name) - len(base) :]
        if base[0] != "." and name[len(name) - len(base) - 1] != ".":
            return False
        name = tail
    return name.lower() == base.lower()


def _nc_email(addr: str, base: str) -> bool:
    local, at, domain = addr.rpartition("@")
    if not at:
        return False
    if "@" in base:
        blocal, _, bdomain = base.rpartition("@")
        return blocal == local and bdomain.lower() == domain.lower()
    if base.startswith("."):
        return domain.lower().endswith(base.lower())
    return domain.lower() == base.lower()


def _nc_uri(uri: str, base: str) -> bool | int:
    scheme_end = uri.find("://")
    if scheme_end < 0:
        return 53
    rest = uri[scheme_end + 3 :]
    host = rest.split("/", 1)[0].split(":", 1)[0]
    if not host:
        return 53
    if base.startswith("."):
        return host.lower().endswith(base.lower())
    return host.lower() == base.lower()


def _nc_ip(raw: bytes, base: bytes) -> bool | int:
    if len(raw) not in (4, 16) or len(base) not in (8, 32):
        return 53
    half = len(base) // 2
    if len(raw) != half:
        return False
    net, mask = base[:half], base[half:]
    return all((raw[i] & mask[i]) == (net[i] & mask[i]) for i in range(half))


def _nc_single(tag: int, value: bytes, base: bytes) -> bool | int:
    if tag == 0x82:
        return _nc_dns(value.decode("latin-1"), base.decode("latin-1"))
    if tag == 0x81:
        return _nc_email(value.decode("latin-1"), base.decode("latin-1"))
    if tag == 0x86:
        return _nc_uri(value.decode("latin-1"), base.decode("latin-1"))
    if tag == 0x87:
        return _nc_ip(value, base)
    if tag == 0xA4:
        return _nc_dn(value, base)
    return 51


def _nc_dn(subject_raw: bytes, base_raw: bytes) -> bool:
    """nc_dn: the constraint's canonical RDNs are a prefix of the subject's."""
    try:
        base = _canon(der.one(base_raw).value)
        subj = _canon(subject_raw)
    except (DerError, IndexError, ValueError):
        return False
    return len(base) <= len(subj) and subj[: len(base)] == base


def _nc_match(tag: int, value: bytes, nc: _Facts) -> int:
    """nc_match: 0 OK, else 47 / 48 / 49 / 51 / 53."""
    match = 0
    for btag, base, bound in nc.nc_permitted:
        if btag != tag:
            continue
        if bound is not None:
            return 49
        if match == 2:
            continue
        match = 1
        r = _nc_single(tag, value, base)
        if r is True:
            match = 2
        elif isinstance(r, int) and not isinstance(r, bool):
            return r
    if match == 1:
        return 47
    for btag, base, bound in nc.nc_excluded:
        if btag != tag:
            continue
        if bound is not None:
            return 49
        r = _nc_single(tag, value, base)
        if r is True:
            return 48
        if isinstance(r, int) and not isinstance(r, bool):
            return r
    return 0


NAME_CHECK_MAX = 1 << 20  # v3_ncons.c: names × constraints above this is refused (error 1)


def _nc_check(x: _Facts, nc: _Facts, leaf: bool) -> int:
    """NAME_CONSTRAINTS_check (+ the CN as a DNS name for the leaf)."""
    names = sum(len(r) for r in x.subject) + len(x.sans or ())
    constraints = len(nc.nc_permitted) + len(nc.nc_excluded)
    if names > 0 and constraints > NAME_CHECK_MAX // names:
        return 1
    if x.subject:
        try:
            r = _nc_match(0xA4, x.info.subject_der, nc)
        except DerError:
            r = 0
        if r:
            return r
    for e in x.emails_in_subject:
        r = _nc_match(0x81, e.encode(), nc)
        if r:
            return r
    for tag, value in x.sans or ():
        r = _nc_match(tag, value, nc)
        if r:
            return r
    has_dns_san = any(t == 0x82 for t, _ in x.sans or ())
    if leaf and not has_dns_san:
        cn = x.info.common_name
        if cn is not None and _cn_is_dns(cn):
            r = _nc_match(0x82, cn.lower().encode("latin-1", "replace"), nc)
            if r:
                return r
    return 0


def _cn_is_dns(cn: str) -> bool:
    """cn2dnsid: only a CN that looks like a host name (two labels or more)."""
    if "." not in cn.strip("."):
        return False
    for label in cn.split("."):
        if not label:
            return False
        if not all(ch.isascii() and (ch.isalnum() or ch in "-_*") for ch in label):
            return False
    return True


# -- the verification ---------------------------------------------------------------------


def verify(
    leaf: CertInfo,
    untrusted: Sequence[CertInfo],
    trusted: Sequence[CertInfo],
    *,
    at: dt.datetime,
    host: str | None = None,
    auth_level: int = 2,
    depth: int = 100,
    partial_wildcards: bool = True,
    partial_chain: bool = False,
    x509_strict: bool = False,
) -> OsslOutcome:
    """X509_verify_cert with purpose sslserver, trusted-first
    (``partial_wildcards=False``: X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS;
    ``partial_chain``: X509_V_FLAG_PARTIAL_CHAIN, any trusted certificate ends
    the chain; ``x509_strict``: X509_V_FLAG_X509_STRICT, the RFC 5280 profile
    checks of :func:`_strict_errors` — Python ≥ 3.13 sets both)."""
    at = at.replace(microsecond=0)
    errors: list[OsslError] = []
    lf = _facts(leaf)
    store = [_facts(t) for t in trusted]
    pool = [_facts(u) for u in untrusted]
    chain = [lf]

    def err(code: int, d: int, cert: CertInfo | None = None) -> None:
        errors.append(OsslError(code, d, cert or chain[d].info))

    min_bits = LEVEL_BITS[auth_level - 1] if auth_level > 0 else 0
    if auth_level > 0 and _security_bits(leaf) < min_bits:
        err(66, 0)
    num_untrusted = _build(chain, pool, store, at, depth, err, partial_chain)
    n = len(chain)
    # check_extensions
    plen = 0
    for i, x in enumerate(chain):
        if x.critical_unsupported:
            err(34, i)
        ret = _check_ca(x)
        if i > 0:
            # X509_V_FLAG_X509_STRICT is implicit for intermediate CAs: only a
            # trust anchor may be a v1 root or a keyCertSign-only CA (3, 4).
            if ret == 0 or ((i + 1 < n or x509_strict) and ret != 1):
                err(79, i)
        elif x509_strict and ret not in (0, 1):
            err(79, i)
        if n > 1 and x.explicit_curve:
            err(94, i)
        if x509_strict and n > 1:
            for strict_error in _strict_errors(x, i, n):
                err(strict_error, i)
        # X509_check_purpose is -1 for a certificate whose extensions do not
        # decode: check_purpose lets it pass unless strict.
        purpose_ok = not x509_strict if x.invalid else _purpose_ok(x, i > 0)
        if not purpose_ok:
            err(26, i)
        if i > 1 and x.pathlen != -1 and plen > x.pathlen:
            err(25, i)
        if i > 0 and not x.self_issued:
            plen += 1
    # check_auth_level
    if auth_level > 0:
        for i, x in enumerate(chain):
            if i > 0 and _security_bits(x.info) < min_bits:
                err(67, i)
            if i < n - 1 and _sig_bits(x.info) < min_bits:
                err(68, i)
    # check_id
    if host:
        code = _check_host(lf, host, partial_wildcards)
        if code is not None:
            err(code, 0)
    # internal_verify
    top = n - 1
    xi = chain[top]
    if _likely_issued(xi, xi) or partial_chain:
        # (A partial chain's top is a trusted certificate: its own times only.)
        xs_i = top
    elif top == 0:
        err(21, 0)
        xs_i = -1
        _time(chain[0], 0, at, err)
    else:
        xs_i = top - 1
    k = xs_i
    issuer = xi
    while k >= 0:
        xs = chain[k]
        if xs is not issuer:
            if _ku_reject(issuer, {"key_cert_sign"}):
                err(32, k + 1)
            # cryptography cannot check some algorithms OpenSSL can (DSA...):
            # only a signature that does not verify counts.
            if xs.alg_mismatch or verify_signature(xs.info, issuer.info) == "bad-signature":
                err(7, k)
        _time(xs, k, at, err)
        issuer = xs
        k -= 1
    # check_name_constraints
    for i in range(n - 1, -1, -1):
        x = chain[i]
        if i != 0 and x.self_issued:
            continue
        for j in range(n - 1, i, -1):
            if chain[j].has_nc:
                r = _nc_check(x, chain[j], i == 0)
                if r:
                    err(r, i)
    return OsslOutcome(tuple(errors), tuple(c.info for c in chain), num_untrusted)


def _strict_errors(x: _Facts, i: int, n: int) -> list[int]:
    """check_extensions under X509_V_FLAG_X509_STRICT, for the certificate at
    depth ``i`` of an ``n``-certificate chain (n > 1), in OpenSSL's order."""
    out: list[int] = []
    ku = x.ku or frozenset()  # ex_kusage: 0 without the extension
    if x.pathlen != -1:
        if not x.ca:
            out.append(80)
        if "key_cert_sign" not in ku:
            out.append(81)
    if x.ca and x.bc and not x.bc_critical:
        out.append(89)
    if x.ca:
        if x.ku is None:
            out.append(92)
    elif "key_cert_sign" in ku:
        out.append(82)
    if not x.issuer:
        out.append(83)
    if not x.subject and (x.ca or "crl_sign" in ku or x.sans is None):
        out.append(84)
    if not x.subject and x.sans is not None and not x.san_critical:
        out.append(88)
    if x.sans is not None and not x.sans:
        out.append(87)
    if x.alg_mismatch:
        out.append(78)
    if x.aki_critical:
        out.append(90)
    if x.ski_critical:
        out.append(91)
    if x.version >= 3:
        if i + 1 < n and x.aki_keyid is None:
            out.append(85)
        if x.ca and x.ski is None:
            out.append(86)
    elif x.extensions:
        out.append(93)
    return out


def anchor_strict_errors(cert: CertInfo) -> str | None:
    """The strict-profile rule a trust anchor breaks at the top of a chain
    (X509_V_FLAG_X509_STRICT: what check_extensions reports for the last
    certificate, 79 for a v1 or keyCertSign-only root included), or None."""
    f = _facts(cert)
    ca = _check_ca(f)
    if ca == 0:
        # No issuer with or without strict (79); a pinned self-signed leaf is
        # trusted alone, a chain of one, which the strict checks skip.
        return None
    if ca != 1:
        return "not-a-ca"  # a v1 or keyCertSign-only root: an anchor only without strict
    errors = _strict_errors(f, 1, 2)
    return STRICT_RULES[errors[0]] if errors else None


def _time(f: _Facts, d: int, at: dt.datetime, err: object) -> None:
    assert callable(err)
    if f.info.not_before.replace(microsecond=0) > at:
        err(9, d, f.info)
    elif f.info.not_after.replace(microsecond=0) <= at:
        err(10, d, f.info)


def _build(
    chain: list[_Facts],
    pool: list[_Facts],
    store: list[_Facts],
    at: dt.datetime,
    depth: int,
    err: object,
    partial: bool = False,
) -> int:
    """build_chain (trusted first); returns num_untrusted, reports its error.

    ``partial`` (X509_V_FLAG_PARTIAL_CHAIN): check_trust accepts the chain as
    soon as a certificate from the store is on it, and as a last resort a
    leaf that is itself in the store."""
    assert callable(err)
    max_depth = depth + 1
    untrusted = list(pool)
    num_untrusted = 1
    do_untrusted = bool(untrusted)
    do_trusted = True
    trusted_verdict = False
    while do_trusted or do_untrusted:
        num = len(chain)
        if do_trusted:
            curr = chain[-1]
            issuer = None if num > max_depth else _best(store, curr, at)
            if issuer is not None:
                ok = True
                self_signed = curr.self_signed
                if not self_signed:
                    chain.append(issuer)
                    self_signed = issuer.self_signed
                elif curr.info.der != issuer.info.der:
                    ok = False
                else:
                    chain[-1] = issuer
                    num_untrusted = len(chain) - 1
                if ok:
                    do_untrusted = False
                    if partial or chain[-1].self_signed:
                        trusted_verdict = True
                        break
                    if not self_signed:
                        continue
            if not do_untrusted:
                break
        if do_untrusted:
            curr = chain[-1]
            found = None
            if not curr.self_signed and len(chain) <= max_depth:
                cands = [
                    c
                    for c in untrusted
                    if not (any(c.info.der == x.info.der for x in chain)
                            and not (curr.self_issued and len(chain) == 1))
                ]
                found = _best(cands, curr, at)
            if found is None:
                do_untrusted = False
                do_trusted = True
                continue
            untrusted.remove(found)
            chain.append(found)
            num_untrusted += 1
    if trusted_verdict:
        return num_untrusted
    n = len(chain)
    leaf_der = chain[0].info.der
    if partial and num_untrusted == n <= max_depth and any(t.info.der == leaf_der for t in store):
        # check_trust's last resort: the leaf itself is trusted (lookup_cert_match);
        # it replaces chain[0] and the rest stays, unverified as untrusted.
        return 0
    if n > max_depth:
        err(22, n - 1)
    elif chain[-1].self_signed:
        err(18 if n == 1 else 19, n - 1)
    else:
        err(2 if num_untrusted < n else 20, n - 1)
    return num_untrusted


def error_text(code: int, *, version: str | None = None) -> str:
    """X509_verify_cert_error_string for ``code`` in OpenSSL ``version`` (3.0 by default)."""
    if version is not None and version.startswith("1."):
        return TEXTS_111.get(code, TEXTS.get(code, f"error {code}"))
    return TEXTS.get(code, f"error {code}")
