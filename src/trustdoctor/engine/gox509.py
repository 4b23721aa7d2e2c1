"""Go's TLS client verification, step by step, for one Go release (pure).

The ``go`` model answers "what does a Go program print?" by following what
crypto/tls and crypto/x509 do, in their order, on the same bytes:

1. crypto/tls reads the Certificate message (a size limit), parses every
   certificate the server sent (``x509.ParseCertificate``: a certificate Go
   refuses to parse ends the handshake with Go's parse error), then
2. ``Certificate.Verify``: the leaf's own validity, the host name, then
   ``buildChains`` — a depth-first search over candidate parents (roots
   first, each pool ordered by key-identifier match), with Go's budget of
   100 signature checks and its rule for which error wins (the last candidate
   that passed the signature check decides; signature failures only give the
   "possibly because of" hint), then key usage and name constraints,
3. the leaf's key type.

Sources: golang/go src/crypto/x509/parser.go, verify.go, constraints.go,
cert_pool.go, x509.go; src/crypto/tls/handshake_client.go, conn.go — read at
go1.19.8 and go1.27.3; the differences between releases are data in
:mod:`.versions`.  Checked against the real programs in
tests/engine/test_oracles.py.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Mapping, Sequence

from ..model import der
from ..model.cert import CertInfo, verify_signature
from ..model.der import DerError
from ..model.record import field, identity_record
from ..model.target import ip_packed, ip_text

SERVER_AUTH = "1.3.6.1.5.5.7.3.1"
ANY_EKU = "2.5.29.37.0"
MAX_SIGNATURE_CHECKS = 100  # verify.go maxChainSignatureChecks

# x509.go signatureAlgorithmDetails: OID -> (Go's name, hash, public key algorithm).
SIG_ALGS: Mapping[str, tuple[str, str, str]] = {
    "1.2.840.113549.1.1.2": ("MD2-RSA", "", "RSA"),
    "1.2.840.113549.1.1.4": ("MD5-RSA", "md5", "RSA"),
    "1.2.840.113549.1.1.5": ("SHA1-RSA", "sha1", "RSA"),
    "1.3.14.3.2.29": ("SHA1-RSA", "sha1", "RSA"),
    "1.2.840.113549.1.1.11": ("SHA256-RSA", "sha256", "RSA"),
    "1.2.840.113549.1.1.12": ("SHA384-RSA", "sha384", "RSA"),
    "1.2.840.113549.1.1.13": ("SHA512-RSA", "sha512", "RSA"),
    "1.2.840.113549.1.1.10": ("SHA256-RSAPSS", "sha256", "RSA"),
    "1.2.840.10040.4.3": ("DSA-SHA1", "sha1", "DSA"),
    "2.16.840.1.101.3.4.3.2": ("DSA-SHA256", "sha256", "DSA"),
    "1.2.840.10045.4.1": ("ECDSA-SHA1", "sha1", "ECDSA"),
    "1.2.840.10045.4.3.2": ("ECDSA-SHA256", "sha256", "ECDSA"),
    "1.2.840.10045.4.3.3": ("ECDSA-SHA384", "sha384", "ECDSA"),
    "1.2.840.10045.4.3.4": ("ECDSA-SHA512", "sha512", "ECDSA"),
    "1.3.101.112": ("Ed25519", "", "Ed25519"),
}
KEY_ALGS: Mapping[str, str] = {
    "1.2.840.113549.1.1.1": "RSA",
    "1.2.840.10045.2.1": "ECDSA",
    "1.3.101.112": "Ed25519",
    "1.2.840.10040.4.1": "DSA",
}
CURVES = frozenset(
    {"1.3.132.0.33", "1.2.840.10045.3.1.7", "1.3.132.0.34", "1.3.132.0.35"}
)
# The Go type crypto/tls names when the leaf's key is not one it can use.
GO_KEY_TYPES: Mapping[str, str] = {"DSA": "*dsa.PublicKey"}

ERR_UNSUPPORTED_ALG = "x509: cannot verify signature: algorithm unimplemented"
ERR_CONSTRAINT = "x509: invalid signature: parent certificate cannot sign this kind of certificate"
ERR_SIG_LIMIT = "x509: signature check attempts limit reached while verifying certificate chain"


class GoParseError(Exception):
    """x509.ParseCertificate's error text (``x509: ...``)."""


@identity_record
class GoCert:
    """A certificate as Go's parser leaves it (only what verification uses)."""

    info: CertInfo
    raw_subject: bytes
    raw_issuer: bytes
    raw_spki: bytes
    version: int
    serial: int
    sig_alg: str  # Go's name, "" when unknown
    sig_hash: str
    sig_key_alg: str
    key_alg: str  # RSA, ECDSA, Ed25519, DSA, "" unknown
    bc_valid: bool = False
    is_ca: bool = False
    max_path_len: int = -1
    key_usage: int = 0  # Go's KeyUsage bits (0: absent or empty)
    eku: tuple[str, ...] = ()  # dotted OIDs (known and unknown alike)
    san_value: bytes | None = None  # the SAN extension's value, for alreadyInChain
    sans: tuple[tuple[int, bytes], ...] = ()  # (tag, content) in encoding order
    ski: bytes = b""
    aki: bytes = b""
    has_nc: bool = False
    nc_permitted: tuple[tuple[int, bytes], ...] = ()
    nc_excluded: tuple[tuple[int, bytes], ...] = ()
    unhandled: tuple[str, ...] = ()

    @property
    def dns_names(self) -> list[str]:
        return [v.decode("latin-1") for t, v in self.sans if t == 2]

    @property
    def ip_addresses(self) -> list[bytes]:
        return [v for t, v in self.sans if t == 7]

    @property
    def emails(self) -> list[str]:
        return [v.decode("latin-1") for t, v in self.sans if t == 1]

    @property
    def uris(self) -> list[str]:
        return [v.decode("latin-1") for t, v in self.sans if t == 6]

    @property
    def display_name(self) -> str:
        """UnknownAuthorityError's certName: CN, else O[0], else serial."""
        if self.info.common_name:
            return self.info.common_name
        if self.info.organization:
            return self.info.organization
        return f"serial:{self.serial}"


def _ia5(value: bytes) -> bool:
    return all(b < 0x80 for b in value)


def _domain_to_reverse_labels(domain: str) -> list[str] | None:
    """verify.go domainToReverseLabels (a leading dot yields no empty label)."""
    labels: list[str] = []
    while domain:
        i = domain.rfind(".")
        if i == -1:
            labels.append(domain)
            domain = ""
        else:
            labels.append(domain[i + 1 :])
            domain = domain[:i]
    if labels and labels[0] == "":
        return None
    for label in labels:
        if not label or any(ord(c) < 33 or ord(c) > 126 for c in label):
            return None
    return labels


def _domain_name_valid(s: str, constraint: bool) -> bool:
    """parser.go domainNameValid (newest releases)."""
    if not s:
        return True
    if s.endswith("."):
        return False
    if constraint and s.startswith("."):
        s = s[1:]
    for label in s.split("."):
        if not label or any(ord(c) < 33 or ord(c) > 126 for c in label):
            return False
    return True


def _uri_host(uri: str) -> tuple[bool, str]:
    """(has an authority, its host) of a URI: no userinfo, port or brackets."""
    _scheme, sep, rest = uri.partition(":")
    if not sep or not rest.startswith("//"):
        return False, ""
    authority = re.split(r"[/?#]", rest[2:], maxsplit=1)[0]
    host = authority.rpartition("@")[2]
    if host.startswith("["):
        return True, host[1:].partition("]")[0]
    return True, host.partition(":")[0]


def _go_url_error(value: str) -> str | None:
    """The error Go's net/url.Parse gives for ``value`` (the common ones), else None."""
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        return "net/url: invalid control character in URL"
    i = 0
    while i < len(value):
        if value[i] == "%":
            esc = value[i : i + 3]
            if len(esc) < 3 or not all(c in "0123456789abcdefABCDEF" for c in esc[1:]):
                return f"invalid URL escape {_q(esc)}"
            i += 3
            continue
        i += 1
    scheme, sep, rest = value.partition(":")
    if sep and scheme and not scheme[0].isalpha():
        return "first path segment in URL cannot contain colon"
    if sep and rest.startswith("//"):
        authority = rest[2:].split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
        host = authority.rpartition("@")[2]
        if host.startswith("[") and "]" not in host:
            return "missing ']' in host"
        port = host.rpartition("]")[2] if host.startswith("[") else host
        if ":" in port:
            digits = port.rpartition(":")[2]
            if not digits.isdigit() and digits != "":
                return f"invalid port {_q(':' + digits)} after host"
    return None


def _parse_uri(value: str, b: Mapping[str, object]) -> None:
    err = _go_url_error(value)
    if err is not None:
        raise GoParseError(f"x509: cannot parse URI {_q(value)}: parse {_q(value)}: {err}")
    has_authority, host = _uri_host(value)
    if has_authority and host and not _host_is_ip(host):
        ok = (
            _domain_name_valid(host, False)
            if b.get("chain_level_name_constraints")
            else _domain_to_reverse_labels(host) is not None
        )
        if not ok:
            raise GoParseError(f"x509: cannot parse URI {_q(value)}: invalid domain")


def _host_is_ip(host: str) -> bool:
    return ip_packed(host.strip("[]")) is not None


def _q(s: str) -> str:
    """Go's %q for the strings that appear in x509 errors."""
    out = ['"']
    for ch in s:
        if ch in ('"', "\\"):
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def parse(info: CertInfo, b: Mapping[str, object]) -> GoCert:
    """x509.ParseCertificate of ``info.der`` under release settings ``b``."""
    got = _parse_cached(info, tuple(sorted(b.items(), key=lambda kv: kv[0])))
    if isinstance(got, str):
        raise GoParseError(got)
    return got


@functools.lru_cache(maxsize=2048)
def _parse_cached(info: CertInfo, b: tuple[tuple[str, object], ...]) -> GoCert | str:
    try:
        return _parse(info, dict(b))
    except GoParseError as exc:
        return str(exc)
    except (DerError, IndexError, ValueError):
        return "x509: malformed certificate"


def _parse(info: CertInfo, b: Mapping[str, object]) -> GoCert:
    cert = der.one(info.der, der.SEQUENCE)
    parts = der.children(cert.value)
    if len(parts) != 3:
        raise GoParseError("x509: malformed certificate")
    tbs, outer_alg, _sig = parts
    fields = der.children(tbs.value)
    i = 0
    version = 1
    if fields and fields[0].tag == 0xA0:
        version = der.integer(der.one(fields[0].value, der.INTEGER).value) + 1
        i = 1
        if version > 3 or version < 1:
            raise GoParseError("x509: invalid version")
    serial_t = fields[i]
    serial = der.integer(serial_t.value)
    if serial < 0 and b.get("reject_negative_serial"):
        raise GoParseError("x509: negative serial number")
    inner_alg = fields[i + 1]
    if inner_alg.raw != outer_alg.raw:
        raise GoParseError("x509: inner and outer signature algorithm identifiers don't match")
    alg_oid = der.oid(der.children(inner_alg.value)[0].value)
    sig_name, sig_hash, sig_key = SIG_ALGS.get(alg_oid, ("", "", ""))
    if alg_oid == "1.2.840.113549.1.1.10":
        sig_name, sig_hash = _pss(inner_alg)
    issuer, _validity, subject, spki = fields[i + 2], fields[i + 3], fields[i + 4], fields[i + 5]
    key_alg = _parse_public_key(spki)
    g = GoCert(
        info=info,
        raw_subject=subject.raw,
        raw_issuer=issuer.raw,
        raw_spki=spki.raw,
        version=version,
        serial=serial,
        sig_alg=sig_name,
        sig_hash=sig_hash,
        sig_key_alg=sig_key,
        key_alg=key_alg,
    )
    exts: list[der.Tlv] = []
    for f in fields[i + 6 :]:
        # x509/parser.go reads extensions of a v3 certificate only: a v1 or
        # v2 one's are not looked at (oracle case enc/v2-inter-with-extensions).
        if f.tag == 0xA3 and version == 3:
            exts = der.children(der.one(f.value, der.SEQUENCE).value)
    seen: set[str] = set()
    parsed: list[tuple[str, bool, bytes]] = []
    for e in exts:
        items = der.children(e.value)
        ext_oid = der.oid(items[0].value)
        critical = len(items) == 3 and items[1].tag == der.BOOLEAN and items[1].value != b"\x00"
        value = items[-1].value
        if ext_oid in seen:
            if b.get("duplicate_extension_oid_in_text"):
                raise GoParseError(
                    f"x509: certificate contains duplicate extension with OID {_q(ext_oid)}"
                )
            raise GoParseError("x509: certificate contains duplicate extensions")
        seen.add(ext_oid)
        parsed.append((ext_oid, critical, value))
    return _extensions(g, parsed, b)


def _pss(alg: der.Tlv) -> tuple[str, str]:
    names = {"2.16.840.1.101.3.4.2.1": "256", "2.16.840.1.101.3.4.2.2": "384",
             "2.16.840.1.101.3.4.2.3": "512"}
    try:
        params = der.children(der.children(alg.value)[1].value)
        h = der.oid(der.children(der.one(params[0].value).value)[0].value)
        bits = names[h]
    except (DerError, IndexError, KeyError):
        return "", ""
    return f"SHA{bits}-RSAPSS", f"sha{bits}"


def _parse_public_key(spki: der.Tlv) -> str:
    items = der.children(spki.value)
    alg_items = der.children(items[0].value)
    key_oid = der.oid(alg_items[0].value)
    params = alg_items[1] if len(alg_items) > 1 else None
    key = items[1].value[1:]
    algo = KEY_ALGS.get(key_oid, "")
    if algo == "RSA":
        if params is None or params.raw != b"\x05\x00":
            raise GoParseError("x509: RSA key missing NULL parameters")
        try:
            seq = der.one(key, der.SEQUENCE)
            n_e = der.children(seq.value)
        except DerError:
            raise GoParseError("x509: invalid RSA public key") from None
        if len(n_e) < 1 or n_e[0].tag != der.INTEGER:
            raise GoParseError("x509: invalid RSA modulus")
        if len(n_e) < 2 or n_e[1].tag != der.INTEGER:
            raise GoParseError("x509: invalid RSA public exponent")
        if der.integer(n_e[0].value) <= 0:
            raise GoParseError("x509: RSA modulus is not a positive number")
        if der.integer(n_e[1].value) <= 0:
            raise GoParseError("x509: RSA public exponent is not a positive number")
    elif algo == "ECDSA":
        if params is None or params.tag != der.OID:
            raise GoParseError("x509: invalid ECDSA parameters")
        if der.oid(params.value) not in CURVES:
            raise GoParseError("x509: unsupported elliptic curve")
    elif algo == "Ed25519":
        if params is not None:
            raise GoParseError("x509: Ed25519 key encoded with illegal parameters")
        if len(key) != 32:
            raise GoParseError("x509: wrong Ed25519 public key size")
    return algo


def _extensions(
    g: GoCert, exts: Sequence[tuple[str, bool, bytes]], b: Mapping[str, object]
) -> GoCert:
    from ..model.record import replace

    upd: dict[str, object] = {}
    unhandled: list[str] = []
    handles_policies = bool(b.get("handles_policy_extensions"))
    strict_ids = bool(b.get("reject_critical_key_ids"))
    for ext_oid, critical, value in exts:
        is_unhandled = False
        try:
            if ext_oid == "2.5.29.15":
                bs = der.one(value, der.BIT_STRING).value
                if not bs:
                    raise GoParseError("x509: invalid key usage")
                upd["key_usage"] = sum(1 << i for i in range(9) if der.bit(bs, i))
            elif ext_oid == "2.5.29.19":
                upd.update(_basic_constraints(value))
            elif ext_oid == "2.5.29.17":
                sans = _sans(value, b)
                upd["san_value"] = value
                upd["sans"] = sans
                if not any(t in (1, 2, 6, 7) for t, _ in sans):
                    is_unhandled = True
            elif ext_oid == "2.5.29.30":
                is_unhandled = _name_constraints(value, b, upd)
            elif ext_oid == "2.5.29.35":
                if critical and strict_ids:
                    raise GoParseError(
                        "x509: authority key identifier incorrectly marked critical"
                    )
                try:
                    seq = der.one(value, der.SEQUENCE)
                    for item in der.children(seq.value):
                        if item.tag == 0x80:
                            upd["aki"] = item.value
                except DerError:
                    raise GoParseError("x509: invalid authority key identifier") from None
            elif ext_oid == "2.5.29.14":
                if critical and strict_ids:
                    raise GoParseError("x509: subject key identifier incorrectly marked critical")
                try:
                    upd["ski"] = der.one(value, der.OCTET_STRING).value
                except DerError:
                    raise GoParseError("x509: invalid subject key identifier") from None
            elif ext_oid == "2.5.29.37":
                try:
                    seq = der.one(value, der.SEQUENCE)
                    upd["eku"] = tuple(der.oid(x.value) for x in der.children(seq.value))
                except DerError:
                    raise GoParseError("x509: invalid extended key usages") from None
            elif ext_oid in ("2.5.29.32", "2.5.29.31"):
                pass
            elif ext_oid in ("2.5.29.36", "2.5.29.33", "2.5.29.54"):
                is_unhandled = not handles_policies
            elif ext_oid == "1.3.6.1.5.5.7.1.1":
                if critical and strict_ids:
                    raise GoParseError("x509: authority info access incorrectly marked critical")
                try:
                    seq = der.one(value, der.SEQUENCE)
                    for ad in der.children(seq.value):
                        der.oid(der.children(ad.value)[0].value)
                except (DerError, IndexError):
                    raise GoParseError("x509: invalid authority info access") from None
            else:
                is_unhandled = True
        except DerError:
            raise GoParseError("x509: malformed extension") from None
        if critical and is_unhandled:
            unhandled.append(ext_oid)
    upd["unhandled"] = tuple(unhandled)
    return replace(g, **upd)  # type: ignore[arg-type]


def _basic_constraints(value: bytes) -> dict[str, object]:
    try:
        seq = der.one(value, der.SEQUENCE)
        items = der.children(seq.value)
    except DerError:
        raise GoParseError("x509: invalid basic constraints") from None
    is_ca = False
    max_len = -1
    for it in items:
        if it.tag == der.BOOLEAN:
            is_ca = it.value != b"\x00"
        elif it.tag == der.INTEGER:
            max_len = der.integer(it.value)
        else:
            raise GoParseError("x509: invalid basic constraints")
    return {"bc_valid": True, "is_ca": is_ca, "max_path_len": max_len}


def _sans(value: bytes, b: Mapping[str, object]) -> tuple[tuple[int, bytes], ...]:
    try:
        seq = der.one(value, der.SEQUENCE)
    except DerError:
        raise GoParseError("x509: invalid subject alternative names") from None
    try:
        entries = der.children(seq.value)
    except DerError:
        raise GoParseError("x509: invalid subject alternative name") from None
    out = []
    for e in entries:
        tag = e.tag & 0x1F if e.tag & 0x80 else -1
        data = e.value
        if tag == 1 and not _ia5(data):
            raise GoParseError("x509: SAN rfc822Name is malformed")
        if tag == 2 and not _ia5(data):
            raise GoParseError("x509: SAN dNSName is malformed")
        if tag == 6:
            if not _ia5(data):
                raise GoParseError("x509: SAN uniformResourceIdentifier is malformed")
            _parse_uri(data.decode("ascii"), b)
        if tag == 7:
            if len(data) not in (4, 16):
                raise GoParseError(f"x509: cannot parse IP address of length {len(data)}")
            if (
                b.get("reject_ipv4_mapped_ip")
                and len(data) == 16
                and data[:12] == b"\x00" * 10 + b"\xff\xff"
            ):
                raise GoParseError("x509: SAN iPAddress contains IPv4-mapped IPv6 address")
        out.append((tag, data))
    return tuple(out)


def _valid_mask(mask: bytes) -> bool:
    seen_zero = False
    for byte in mask:
        for k in range(7, -1, -1):
            if (byte >> k) & 1:
                if seen_zero:
                    return False
            else:
                seen_zero = True
    return True


def _name_constraints(value: bytes, b: Mapping[str, object], upd: dict[str, object]) -> bool:
    try:
        top = der.one(value, der.SEQUENCE)
        parts = der.children(top.value)
    except DerError:
        raise GoParseError("x509: invalid NameConstraints extension") from None
    permitted = next((p for p in parts if p.tag == 0xA0), None)
    excluded = next((p for p in parts if p.tag == 0xA1), None)
    if (permitted is None and excluded is None) or (
        not (permitted and permitted.value) and not (excluded and excluded.value)
    ):
        raise GoParseError("x509: empty name constraints extension")
    new = bool(b.get("chain_level_name_constraints"))
    unhandled = False

    def values(subtrees: der.Tlv | None) -> tuple[tuple[int, bytes], ...]:
        nonlocal unhandled
        out: list[tuple[int, bytes]] = []
        if subtrees is None:
            return ()
        try:
            seqs = der.children(subtrees.value)
        except DerError:
            raise GoParseError("x509: invalid NameConstraints extension") from None
        for s in seqs:
            try:
                base = der.children(s.value)[0]
            except (DerError, IndexError):
                raise GoParseError("x509: invalid NameConstraints extension") from None
            tag, v = base.tag & 0x1F, base.value
            if base.tag == 0x82:
                text = v.decode("latin-1")
                if not _ia5(v):
                    raise GoParseError("x509: invalid constraint value: invalid IA5String")
                ok = (
                    _domain_name_valid(text, True)
                    if new
                    else _domain_to_reverse_labels(text[1:] if text.startswith(".") else text)
                    is not None
                )
                if not ok:
                    raise GoParseError(f"x509: failed to parse dnsName constraint {_q(text)}")
            elif base.tag == 0x87:
                if len(v) not in (8, 32):
                    raise GoParseError(f"x509: IP constraint contained value of length {len(v)}")
                mask = v[len(v) // 2 :]
                if not _valid_mask(mask):
                    raise GoParseError(f"x509: IP constraint contained invalid mask {mask.hex()}")
            elif base.tag in (0x81, 0x86):
                if not _ia5(v):
                    raise GoParseError("x509: invalid constraint value: invalid IA5String")
            else:
                unhandled = True
                continue
            out.append((tag, v))
        return tuple(out)

    upd["nc_permitted"] = values(permitted)
    upd["nc_excluded"] = values(excluded)
    upd["has_nc"] = True
    return unhandled


# -- verification ---------------------------------------------------------------------


@identity_record
class GoOutcome:
    """What the Go program prints, and which rule decided it.

    ``kind``: ok, message-too-large, parse, key-size, unhandled-critical,
    expired, not-yet-valid, hostname, unknown-authority, not-authorized-to-sign,
    too-many-intermediates, name-constraints, incompatible-usage, sig-limit,
    unknown-error, key-type, name-mismatch.
    """

    ok: bool
    text: str
    kind: str
    position: int | None = None  # the certificate concerned (0 = leaf; chain order)
    sha256: str | None = None
    params: Mapping[str, object] = field(default_factory=dict)
    chain: tuple[str, ...] = ()  # the first verified chain (fingerprints)


@identity_record
class _Err:
    """An error of the Go simulation, as Go would return it, before it becomes a GoOutcome."""

    kind: str
    text: str
    cert: GoCert | None = None
    params: dict[str, object] = field(default_factory=dict)


class _Pool:
    def __init__(self, certs: Sequence[GoCert]) -> None:
        self.certs: list[GoCert] = []
        self.by_name: dict[bytes, list[GoCert]] = {}
        seen: set[str] = set()
        for c in certs:
            if c.info.sha256 in seen:
                continue
            seen.add(c.info.sha256)
            self.certs.append(c)
            self.by_name.setdefault(c.raw_subject, []).append(c)

    def contains(self, c: GoCert) -> bool:
        return any(x.info.sha256 == c.info.sha256 for x in self.certs)

    def potential_parents(self, c: GoCert) -> list[GoCert]:
        match, one, mismatch = [], [], []
        for cand in self.by_name.get(c.raw_issuer, []):
            if cand.ski == c.aki:
                match.append(cand)
            elif (not cand.ski and c.aki) or (cand.ski and not c.aki):
                one.append(cand)
            else:
                mismatch.append(cand)
        return match + one + mismatch


class _Roots(_Pool):
    """RootCAs, each root parsed when the search first looks at it.

    Go parses every root as it loads the pool and leaves out those it cannot
    parse (AppendCertsFromPEM); what the verification says depends only on
    the roots the search meets (the candidates for an issuer's name, and the
    leaf itself), so those are parsed, with the same rules, when met: a
    system store of 146 roots costs one or two parses, not 146 (~36 ms).
    The index is the raw subject (``CertInfo.subject_der``, the bytes as
    encoded, Go's RawSubject).
    """

    def __init__(self, roots: Sequence[CertInfo], b: Mapping[str, object]) -> None:
        super().__init__(())
        self._b = b
        self._by_sha: dict[str, CertInfo] = {}
        self._unparsed: dict[bytes, list[CertInfo]] = {}
        for r in roots:
            if r.sha256 in self._by_sha:
                continue
            self._by_sha[r.sha256] = r
            self._unparsed.setdefault(r.subject_der, []).append(r)

    def _parsed(self, info: CertInfo) -> GoCert | None:
        try:
            return parse(info, self._b)
        except GoParseError:
            return None

    def contains(self, c: GoCert) -> bool:
        info = self._by_sha.get(c.info.sha256)
        return info is not None and self._parsed(info) is not None

    def potential_parents(self, c: GoCert) -> list[GoCert]:
        waiting = self._unparsed.pop(c.raw_issuer, None)
        if waiting is not None:
            # In pool order, as Go's own index keeps them.
            found = [g for g in map(self._parsed, waiting) if g is not None]
            self.by_name[c.raw_issuer] = found
            self.certs.extend(found)
        return super().potential_parents(c)


def _rfc3339(t: dt.datetime) -> str:
    return t.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _cert_invalid(c: GoCert, kind: str, detail: str = "") -> _Err:
    texts = {
        "not-authorized-to-sign": "x509: certificate is not authorized to sign other certificates",
        "too-many-intermediates": "x509: too many intermediates for path length constraint",
        "incompatible-usage": "x509: certificate specifies an incompatible key usage",
        "name-mismatch": "x509: issuer name does not match subject from issuing certificate",
        "unknown-error": "x509: unknown error",
    }
    if kind in ("expired", "not-yet-valid"):
        return _Err(kind, "x509: certificate has expired or is not yet valid: " + detail, c)
    if kind == "name-constraints":
        return _Err(
            kind,
            "x509: a root or intermediate certificate is not authorized to sign for this name: "
            + detail,
            c,
        )
    return _Err(kind, texts[kind], c)


class _Verifier:
    def __init__(
        self,
        roots: _Pool,
        inters: _Pool,
        at: dt.datetime,
        b: Mapping[str, object],
    ) -> None:
        self.roots = roots
        self.inters = inters
        self.at = at.replace(microsecond=0)
        self.b = b
        self.sig_checks = 0
        self.sig_cache: dict[tuple[str, str], str | None] = {}

    # x509.go CheckSignatureFrom
    def check_signature_from(self, child: GoCert, parent: GoCert) -> str | None:
        if (parent.version == 3 and not parent.bc_valid) or (parent.bc_valid and not parent.is_ca):
            return ERR_CONSTRAINT
        if parent.key_usage and not parent.key_usage & (1 << 5):
            return ERR_CONSTRAINT
        if not parent.key_alg:
            return ERR_UNSUPPORTED_ALG
        if not child.sig_alg and child.sig_key_alg != "Ed25519":
            return ERR_UNSUPPORTED_ALG
        if child.sig_hash == "md5" or (child.sig_hash == "sha1" and not self.b.get("allow_sha1")):
            text = f"x509: cannot verify signature: insecure algorithm {child.sig_alg}"
            if self.b.get("sha1_godebug") and child.sig_alg in ("SHA1-RSA", "ECDSA-SHA1"):
                text += " (temporarily override with GODEBUG=x509sha1=1)"
            return text
        if child.sig_alg == "MD2-RSA":
            return ERR_UNSUPPORTED_ALG
        if parent.key_alg == "DSA" or child.sig_key_alg == "DSA":
            return ERR_UNSUPPORTED_ALG
        if child.sig_key_alg != parent.key_alg:
            go_type = {"RSA": "*rsa.PublicKey", "ECDSA": "*ecdsa.PublicKey",
                       "Ed25519": "ed25519.PublicKey"}.get(parent.key_alg, "")
            return (
                f"x509: signature algorithm specifies an {child.sig_key_alg} public key, "
                f"but have public key of type {go_type}"
            )
        key = (child.info.sha256, parent.info.sha256)
        if key not in self.sig_cache:
            self.sig_cache[key] = verify_signature(child.info, parent.info)
        bad = self.sig_cache[key]
        if bad is None:
            return None
        if bad == "unsupported-algorithm":
            return ERR_UNSUPPORTED_ALG
        return {
            "RSA": "crypto/rsa: verification error",
            "ECDSA": "x509: ECDSA verification failure",
            "Ed25519": "x509: Ed25519 verification failure",
        }.get(parent.key_alg, "crypto/rsa: verification error")

    # verify.go isValid
    def is_valid(self, c: GoCert, cert_type: str, chain: Sequence[GoCert]) -> _Err | None:
        if c.unhandled:
            return _Err("unhandled-critical", "x509: unhandled critical extension", c)
        if chain and chain[-1].raw_issuer != c.raw_subject:
            return _cert_invalid(c, "name-mismatch")
        now = _rfc3339(self.at)
        if self.at < c.info.not_before.replace(microsecond=0):
            return _cert_invalid(
                c, "not-yet-valid", f"current time {now} is before {_rfc3339(c.info.not_before)}"
            )
        if self.at > c.info.not_after:
            return _cert_invalid(
                c, "expired", f"current time {now} is after {_rfc3339(c.info.not_after)}"
            )
        if cert_type != "leaf" and c.has_nc and not self.b.get("chain_level_name_constraints"):
            err = _nc_legacy(c, chain)
            if err is not None:
                return err
        if cert_type == "intermediate" and (not c.bc_valid or not c.is_ca):
            return _cert_invalid(c, "not-authorized-to-sign")
        if c.bc_valid and c.max_path_len >= 0 and len(chain) - 1 > c.max_path_len:
            return _cert_invalid(c, "too-many-intermediates")
        return None

    # verify.go buildChains
    def build(self, chain: list[GoCert]) -> tuple[list[list[GoCert]], _Err | None]:
        c = chain[-1]
        chains: list[list[GoCert]] = []
        err: _Err | None = None
        hint: tuple[str, GoCert] | None = None
        hints_from_valid = bool(self.b.get("validity_errors_are_hints"))
        limit_first = hints_from_valid  # newest: count before the loop check
        stop = False
        for cert_type, pool in (("root", self.roots), ("intermediate", self.inters)):
            for cand in pool.potential_parents(c):
                if limit_first:
                    self.sig_checks += 1
                    if self.sig_checks > MAX_SIGNATURE_CHECKS:
                        err = _Err("sig-limit", ERR_SIG_LIMIT)
                        stop = True
                        break
                    if _already_in_chain(cand, chain):
                        continue
                else:
                    if _already_in_chain(cand, chain):
                        continue
                    self.sig_checks += 1
                    if self.sig_checks > MAX_SIGNATURE_CHECKS:
                        err = _Err("sig-limit", ERR_SIG_LIMIT)
                        continue
                sig_err = self.check_signature_from(c, cand)
                if sig_err is not None:
                    if hint is None:
                        hint = (sig_err, cand)
                    continue
                err = self.is_valid(cand, cert_type, chain)
                if err is not None:
                    if hints_from_valid and hint is None:
                        hint = (err.text, cand)
                    continue
                if cert_type == "root":
                    chains.append([*chain, cand])
                else:
                    sub, err = self.build([*chain, cand])
                    chains.extend(sub)
            if stop:
                break
        if chains:
            return chains, None
        if err is None:
            text = "x509: certificate signed by unknown authority"
            params: dict[str, object] = {}
            if hint is not None:
                text += (
                    f" (possibly because of {_q(hint[0])} while trying to verify candidate "
                    f"authority certificate {_q(hint[1].display_name)})"
                )
                params = {"hint": hint[0], "hint_cert": hint[1].info.sha256}
            return [], _Err("unknown-authority", text, c, params)
        return [], err


def _already_in_chain(cand: GoCert, chain: Sequence[GoCert]) -> bool:
    for c in chain:
        if c.raw_subject != cand.raw_subject or c.raw_spki != cand.raw_spki:
            continue
        if cand.san_value is None and c.san_value is None:
            return True
        if cand.san_value is None or c.san_value is None:
            return False
        if cand.san_value == c.san_value:
            return True
    return False


# -- host names ---------------------------------------------------------------------------


def _lower(s: str) -> str:
    return "".join(ch.lower() if "A" <= ch <= "Z" else ch for ch in s)


def _valid_hostname(host: str, pattern: bool, b: Mapping[str, object]) -> bool:
    if not pattern:
        host = host.removesuffix(".")
    if not host:
        return False
    if host == "*" and b.get("bare_wildcard_rejected"):
        return False
    for i, part in enumerate(host.split(".")):
        if not part:
            return False
        if pattern and i == 0 and part == "*":
            continue
        for j, ch in enumerate(part):
            if ch.isascii() and (ch.isalnum() or ch == "_" or (ch == "-" and j != 0)):
                continue
            return False
    return True


def _match_hostnames(pattern: str, host: str) -> bool:
    pattern = _lower(pattern)
    host_parts = _lower(host.removesuffix(".")).split(".")
    if not pattern or not host or host_parts == [""]:
        return False
    pp = pattern.split(".")
    if len(pp) != len(host_parts):
        return False
    return all(
        (i == 0 and p == "*") or p == h for i, (p, h) in enumerate(zip(pp, host_parts, strict=True))
    )


def _parse_ip(host: str) -> bytes | None:
    """The address bytes of an IP host (brackets allowed), else ``None``."""
    h = host[1:-1] if len(host) >= 3 and host[0] == "[" and host[-1] == "]" else host
    return ip_packed(h)


_V4_MAPPED = b"\x00" * 10 + b"\xff\xff"


def _unmapped(packed: bytes) -> bytes:
    """An IPv4-mapped IPv6 address (::ffff:a.b.c.d) as its IPv4 bytes: Go's
    net.IP.Equal compares the two forms as one address."""
    return packed[12:] if len(packed) == 16 and packed[:12] == _V4_MAPPED else packed


def _ip_text(raw: bytes) -> str:
    try:
        return ip_text(_unmapped(raw))
    except ValueError:
        return "?" + raw.hex()


def _ip_equal(raw: bytes, ip: bytes) -> bool:
    return _unmapped(raw) == _unmapped(ip)


def verify_hostname(c: GoCert, host: str, b: Mapping[str, object]) -> _Err | None:
    ip = _parse_ip(host)
    if ip is not None:
        if any(_ip_equal(raw, ip) for raw in c.ip_addresses):
            return None
        return _hostname_error(c, ip_text(ip) if b.get("bare_wildcard_rejected") else host, b)
    name = _lower(host)
    valid = _valid_hostname(name, False, b)
    for m in c.dns_names:
        if valid and _valid_hostname(m, True, b):
            if _match_hostnames(m, name):
                return None
        elif m not in ("", ".") and name not in ("", ".") and _lower(m) == name:
            return None
    return _hostname_error(c, host, b)


def _hostname_error(c: GoCert, host: str, b: Mapping[str, object]) -> _Err:
    params: dict[str, object] = {"host": host}
    cn = c.info.common_name or ""
    if c.san_value is None and _match_hostnames(cn, host):
        params["reason"] = "legacy-cn"
        return _Err(
            "hostname",
            "x509: certificate relies on legacy Common Name field, use SANs instead",
            c,
            params,
        )
    limit = 100 if b.get("bare_wildcard_rejected") else None
    if _parse_ip(host) is not None and not host.startswith("["):
        ips = c.ip_addresses
        params["reason"] = "ip-not-in-san"
        if not ips:
            return _Err(
                "hostname",
                f"x509: cannot validate certificate for {host} because it doesn't contain "
                "any IP SANs",
                c,
                params,
            )
        if limit is not None and len(ips) >= limit:
            return _Err(
                "hostname",
                f"x509: certificate is valid for {len(ips)} IP SANs, but none matched {host}",
                c,
                params,
            )
        valid = ", ".join(_ip_text(i) for i in ips)
    else:
        dns = c.dns_names
        params["reason"] = "no-match" if dns else "no-names"
        if limit is not None and len(dns) >= limit:
            return _Err(
                "hostname",
                f"x509: certificate is valid for {len(dns)} names, but none matched {host}",
                c,
                params,
            )
        valid = ", ".join(dns)
    params["names"] = valid.split(", ") if valid else []
    if not valid:
        return _Err(
            "hostname",
            f"x509: certificate is not valid for any names, but wanted to match {host}",
            c,
            params,
        )
    return _Err("hostname", f"x509: certificate is valid for {valid}, not {host}", c, params)


# -- name constraints -------------------------------------------------------------------------


def _nc_legacy(c: GoCert, chain: Sequence[GoCert]) -> _Err | None:
    """Go ≤1.25 (verify.go isValid): the leaf's SANs, then the CA's own SANs."""
    to_check = [x for x in (chain[0], c) if x.san_value is not None]
    indexes = (_legacy_dns_index(c.nc_excluded), _legacy_dns_index(c.nc_permitted))
    count = 0
    for sc in to_check:
        for tag, data in sc.sans:
            if tag == 1:
                name = data.decode("latin-1")
                box = _mailbox(name)
                if box is None:
                    return _Err("name-constraints", f"x509: cannot parse rfc822Name {_q(name)}", c)
                err = _check_nc_legacy(
                    c, "email address", name, lambda k, m=box: _email_match_legacy(m, k), 1, count
                )
            elif tag == 2:
                name = data.decode("latin-1")
                if _domain_to_reverse_labels(name) is None:
                    return _Err(
                        "name-constraints",
                        f"x509: cannot parse dnsName {_q(name)}",
                        c,
                    )
                err = _check_dns_legacy(c, name, count, indexes)
            elif tag == 6:
                name = data.decode("latin-1")
                host = _uri_host(name)[1].lower()
                err = _check_nc_legacy(
                    c, "URI", name, lambda k, h=host: _uri_match_legacy(h, k), 6, count
                )
            elif tag == 7:
                ip_raw = data
                err = _check_nc_legacy(
                    c, "IP address", _ip_text(ip_raw),
                    lambda k, r=ip_raw: _ip_match(r, k), 7, count,
                )
            else:
                continue
            if isinstance(err, _Err):
                return err
            count = err
    return None


def _check_nc_legacy(
    c: GoCert, name_type: str, name: str, match: object, tag: int, count: int
) -> _Err | int:
    from collections.abc import Callable

    assert callable(match)
    fn: Callable[[bytes], bool | str] = match
    excluded = [v for t, v in c.nc_excluded if t == tag]
    permitted = [v for t, v in c.nc_permitted if t == tag]
    count += len(excluded)
    if count > 250000:
        return _cert_invalid(c, "unknown-error")
    for k in excluded:
        r = fn(k)
        if isinstance(r, str):
            return _cert_invalid(c, "name-constraints", r)
        if r:
            return _cert_invalid(
                c,
                "name-constraints",
                f"{name_type} {_q(name)} is excluded by constraint {_q(_nc_text(tag, k))}",
            )
    count += len(permitted)
    if count > 250000:
        return _cert_invalid(c, "unknown-error")
    ok = True
    for k in permitted:
        r = fn(k)
        if isinstance(r, str):
            return _cert_invalid(c, "name-constraints", r)
        ok = bool(r)
        if ok:
            break
    if not ok:
        return _cert_invalid(
            c, "name-constraints", f"{name_type} {_q(name)} is not permitted by any constraint"
        )
    return count


def _legacy_dns_index(raw: tuple[tuple[int, bytes], ...]) -> dict[str, tuple[int, str]]:
    out: dict[str, tuple[int, str]] = {}
    for i, (_t, v) in enumerate(x for x in raw if x[0] == 2):
        text = v.decode("latin-1")
        out.setdefault(text.lower(), (i, text))
    return out


def _check_dns_legacy(
    c: GoCert,
    name: str,
    count: int,
    indexes: tuple[dict[str, tuple[int, str]], dict[str, tuple[int, str]]],
) -> _Err | int:
    """_check_nc_legacy for a DNS name, by lookup: matchDomainConstraint holds
    when the constraint's labels are the name's last labels (a leading dot:
    and at least one more label), case-insensitively."""
    excluded = [v for t, v in c.nc_excluded if t == 2]
    permitted = [v for t, v in c.nc_permitted if t == 2]
    count += len(excluded)
    if count > 250000:
        return _cert_invalid(c, "unknown-error")
    labels = _domain_to_reverse_labels(name)
    if labels is None:
        return _cert_invalid(
            c, "name-constraints", f"x509: internal error: cannot parse domain {_q(name)}"
        )
    suffixes = {"": 0}
    for k in range(1, len(labels) + 1):
        tail = ".".join(reversed(labels[:k])).lower()
        suffixes[tail] = k

    def hits(index: dict[str, tuple[int, str]]) -> list[tuple[int, str]]:
        found = [index[""]] if "" in index else []
        for tail, k in suffixes.items():
            if tail and tail in index:
                found.append(index[tail])
            if tail and k < len(labels) and "." + tail in index:
                found.append(index["." + tail])
        return sorted(found)

    if excluded:
        ex = hits(indexes[0])
        if ex:
            return _cert_invalid(
                c,
                "name-constraints",
                f"DNS name {_q(name)} is excluded by constraint {_q(ex[0][1])}",
            )
    count += len(permitted)
    if count > 250000:
        return _cert_invalid(c, "unknown-error")
    if permitted and not hits(indexes[1]):
        return _cert_invalid(
            c, "name-constraints", f"DNS name {_q(name)} is not permitted by any constraint"
        )
    return count


def _nc_text(tag: int, v: bytes) -> str:
    if tag == 7:
        half = len(v) // 2
        ip = ip_text(v[:half])
        mask = v[half:]
        ones = sum(bin(x).count("1") for x in mask)
        if _valid_mask(mask):
            return f"{ip}/{ones}"
        return f"{ip}/{mask.hex()}"
    return v.decode("latin-1")


def _dns_match_legacy(domain: str, constraint_raw: bytes) -> bool | str:
    constraint = constraint_raw.decode("latin-1")
    if not constraint:
        return True
    labels = _domain_to_reverse_labels(domain)
    if labels is None:
        return f"x509: internal error: cannot parse domain {_q(domain)}"
    must_sub = constraint.startswith(".")
    if must_sub:
        constraint = constraint[1:]
    clabels = _domain_to_reverse_labels(constraint)
    if clabels is None:
        return f"x509: internal error: cannot parse domain {_q(constraint)}"
    if len(labels) < len(clabels) or (must_sub and len(labels) == len(clabels)):
        return False
    return all(cl.lower() == labels[i].lower() for i, cl in enumerate(clabels))


def _uri_match_legacy(host: str, constraint_raw: bytes) -> bool | str:
    if not host:
        return "URI with empty host cannot be matched against constraints"
    if _parse_ip(host) is not None:
        return "URI with IP cannot be matched against constraints"
    return _dns_match_legacy(host, constraint_raw)


def _mailbox(addr: str) -> tuple[str, str] | None:
    local, sep, domain = addr.rpartition("@")
    if not sep or not local or not domain:
        return None
    return local, domain


def _email_match_legacy(box: tuple[str, str] | None, constraint_raw: bytes) -> bool | str:
    if box is None:
        return False
    constraint = constraint_raw.decode("latin-1")
    if "@" in constraint:
        cbox = _mailbox(constraint)
        if cbox is None:
            return f"x509: internal error: cannot parse constraint {_q(constraint)}"
        return box[0] == cbox[0] and box[1].lower() == cbox[1].lower()
    return _dns_match_legacy(box[1], constraint_raw)


def _ip_match(raw: bytes, constraint: bytes) -> bool:
    half = len(constraint) // 2
    net, mask = constraint[:half], constraint[half:]
    if len(raw) != len(net):
        return False
    return all((raw[i] & mask[i]) == (net[i] & mask[i]) for i in range(len(raw)))


class _DnsConstraints:
    """constraints.go dnsConstraints: query(name) gives the matching constraint.

    dnsHasSuffix(c, name) holds exactly when the lower-cased ``c`` is ``name``
    itself or one of its parent domains, with or without the leading dot: a
    dictionary lookup over those, as fast as Go's sorted search.
    """

    def __init__(self, constraints: list[str], permitted: bool) -> None:
        self.any = any(c == "" for c in constraints)
        self.present = bool(constraints)
        self.permitted = permitted
        self.index: dict[str, str] = {}
        self.parents: dict[str, str] = {}
        for c in constraints:
            lc = c.lower()
            self.index.setdefault(lc, c)
            if not permitted and "." in lc:
                self.parents.setdefault(lc[lc.find(".") :], lc)

    def query(self, name: str) -> str | None:
        if self.any:
            return ""
        low = name.lower()
        if low in self.index:
            return self.index[low]
        for i, ch in enumerate(low):
            if ch == ".":
                for cand in (low[i:], low[i + 1 :]):
                    if cand in self.index:
                        return self.index[cand]
        if not self.permitted and name.startswith("*") and "." in low:
            return self.parents.get(low[low.find(".") :])
        return None


def _nc_chain(chain: Sequence[GoCert]) -> _Err | None:
    """Go ≥1.26 (constraints.go checkChainConstraints) on one built chain."""
    constrained = [(i, c) for i, c in enumerate(chain) if c.has_nc]
    if not constrained:
        return None
    leaf = chain[0]
    for i, c in enumerate(chain):
        if c.san_value is None:
            continue
        above = [cc for j, cc in constrained if j > i]
        if not above:
            return None
        for host in c.uris:
            h = _uri_host(host)[1].lower()
            if not h:
                return _cert_invalid(
                    leaf,
                    "name-constraints",
                    f"URI with empty host ({_q(host)}) cannot be matched against constraints",
                )
        for n in above:
            err = _nc_check_node(n, c)
            if err is not None:
                return _cert_invalid(leaf, "name-constraints", err)
    return None


def _nc_check_node(n: GoCert, c: GoCert) -> str | None:
    def lists(tag: int, which: tuple[tuple[int, bytes], ...]) -> list[bytes]:
        return [v for t, v in which if t == tag]

    p_ip, e_ip = lists(7, n.nc_permitted), lists(7, n.nc_excluded)
    for raw in c.ip_addresses:
        text = _ip_text(raw)
        if p_ip and not any(_ip_match(raw, k) for k in p_ip):
            return f"IP address {_q(text)} is not permitted by any constraint"
        for k in e_ip:
            if _ip_match(raw, k):
                return f"IP address {_q(text)} is excluded by constraint {_q(_nc_text(7, k))}"
    p_dns = _DnsConstraints([v.decode("latin-1") for v in lists(2, n.nc_permitted)], True)
    e_dns = _DnsConstraints([v.decode("latin-1") for v in lists(2, n.nc_excluded)], False)
    for d in c.dns_names:
        if not _domain_name_valid(d, False):
            return f"x509: cannot parse dnsName {_q(d)}"
        if p_dns.present and p_dns.query(d) is None:
            return f"DNS name {_q(d)} is not permitted by any constraint"
        hit = e_dns.query(d) if e_dns.present else None
        if hit is not None:
            return f"DNS name {_q(d)} is excluded by constraint {_q(hit)}"
    p_uri = _DnsConstraints([v.decode("latin-1") for v in lists(6, n.nc_permitted)], True)
    e_uri = _DnsConstraints([v.decode("latin-1") for v in lists(6, n.nc_excluded)], False)
    for u in c.uris:
        h = _uri_host(u)[1].lower()
        if p_uri.present and p_uri.query(h) is None:
            return f"URI {_q(u)} is not permitted by any constraint"
        hit = e_uri.query(h) if e_uri.present else None
        if hit is not None:
            return f"URI {_q(u)} is excluded by constraint {_q(hit)}"
    p_em = [v.decode("latin-1") for v in lists(1, n.nc_permitted)]
    e_em = [v.decode("latin-1") for v in lists(1, n.nc_excluded)]
    for e in c.emails:
        box = _mailbox(e)
        if box is None:
            continue
        if p_em and not any(_email_match_legacy(box, pe.encode()) is True for pe in p_em):
            return f"email address {_q(e)} is not permitted by any constraint"
        for ex in e_em:
            if _email_match_legacy(box, ex.encode()) is True:
                return f"email address {_q(e)} is excluded by constraint {_q(ex)}"
    return None


# -- key usage -----------------------------------------------------------------------------


def _chain_key_usage_ok(chain: Sequence[GoCert]) -> bool:
    """verify.go checkChainForKeyUsage for serverAuth."""
    for c in reversed(chain):
        if not c.eku:
            continue
        if ANY_EKU in c.eku:
            continue
        if SERVER_AUTH not in c.eku:
            return False
    return True


# -- the whole client ----------------------------------------------------------------------


def _message_length(chain: Sequence[CertInfo]) -> int:
    """Length of a TLS 1.3 Certificate message body (context, list, entries)."""
    return 4 + sum(len(c.der) + 5 for c in chain)


def go_client(
    chain: Sequence[CertInfo],
    roots: Sequence[CertInfo],
    *,
    host: str | None,
    at: dt.datetime,
    behaviour: Mapping[str, object],
    extra: Sequence[CertInfo] = (),
) -> GoOutcome:
    """What a Go TLS client of the release ``behaviour`` describes says of ``chain``.

    ``chain`` is what the server sent (leaf first); ``roots`` are the
    certificates in RootCAs (one Go cannot parse is skipped, as
    AppendCertsFromPEM does); ``extra`` are intermediates the program adds
    to its pool itself (supplied by the user, fetched): after the sent ones.
    """
    b = behaviour
    n = _message_length(chain)
    limit = int(b.get("max_certificate_message") or 65536)  # type: ignore[call-overload]
    if n > limit:
        return GoOutcome(
            False,
            f"tls: handshake message of length {n} bytes exceeds maximum of {limit} bytes",
            "message-too-large",
        )
    parsed: list[GoCert] = []
    max_rsa = b.get("max_rsa_bits")
    for i, c in enumerate(chain):
        try:
            g = parse(c, b)
        except GoParseError as exc:
            return GoOutcome(
                False,
                f"tls: failed to parse certificate from server: {exc}",
                "parse",
                i,
                c.sha256,
                {"message": str(exc)},
            )
        if isinstance(max_rsa, int) and g.key_alg == "RSA" and c.key_bits > max_rsa:
            return GoOutcome(
                False,
                f"tls: server sent certificate containing RSA key larger than {max_rsa} bits",
                "key-size",
                i,
                c.sha256,
            )
        parsed.append(g)
    extras: list[GoCert] = []
    for x in extra:
        try:
            extras.append(parse(x, b))
        except GoParseError:
            continue
    err, verified = _verify(parsed, _Roots(roots, b), _Pool([*parsed[1:], *extras]), host, at, b)
    if err is not None:
        text = err.text
        if b.get("verify_error_prefix") and err.kind not in ("parse",):
            text = "tls: failed to verify certificate: " + text
        pos = None
        sha = None
        if err.cert is not None:
            sha = err.cert.info.sha256
            pos = next((i for i, c in enumerate(chain) if c.sha256 == sha), None)
        return GoOutcome(False, text, err.kind, pos, sha, err.params)
    leaf = parsed[0]
    if leaf.key_alg not in ("RSA", "ECDSA", "Ed25519"):
        go_type = GO_KEY_TYPES.get(leaf.key_alg, "<nil>")
        return GoOutcome(
            False,
            f"tls: server's certificate contains an unsupported type of public key: {go_type}",
            "key-type",
            0,
            leaf.info.sha256,
            {"key_type": leaf.key_alg},
        )
    return GoOutcome(True, "", "ok", chain=verified)


def _verify(
    parsed: list[GoCert],
    roots: _Pool,
    inters: _Pool,
    host: str | None,
    at: dt.datetime,
    b: Mapping[str, object],
) -> tuple[_Err | None, tuple[str, ...]]:
    leaf = parsed[0]
    v = _Verifier(roots, inters, at, b)
    err = v.is_valid(leaf, "leaf", [])
    if err is not None:
        return err, ()
    if host:
        err = verify_hostname(leaf, host, b)
        if err is not None:
            return err, ()
    if roots.contains(leaf):
        chains = [[leaf]]
    else:
        chains, err = v.build([leaf])
        if err is not None:
            return err, ()
    if b.get("chain_level_name_constraints"):
        incompatible = 0
        nc_err: _Err | None = None
        kept = []
        for ch in chains:
            if not _chain_key_usage_ok(ch):
                incompatible += 1
                continue
            e = _nc_chain(ch)
            if e is not None:
                nc_err = nc_err or e
                continue
            kept.append(ch)
        if not kept:
            if nc_err is not None:
                return nc_err, ()
            return _cert_invalid(leaf, "incompatible-usage"), ()
        chains = kept
    else:
        chains = [ch for ch in chains if _chain_key_usage_ok(ch)]
        if not chains:
            return _cert_invalid(leaf, "incompatible-usage"), ()
    return None, tuple(c.info.sha256 for c in chains[0])
