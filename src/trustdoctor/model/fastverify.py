"""Confirming the common signatures without loading cryptography (pure).

A cold ``diagnose`` checks two or three signatures; loading cryptography's
Rust binding and the ``ec``/``hashes`` modules for them was ~20 ms of a
~140 ms command (docs/performance.md, "Signatures confirmed without
cryptography").  This module *confirms* the signatures almost every chain
carries, ECDSA on P-256/P-384 and RSA PKCS#1 v1.5, with SHA-1 or SHA-2, by
the arithmetic of FIPS 186-4 section 6.4 and RFC 8017 section 8.2.2, and
says nothing about anything else: :func:`confirms` returns ``True`` only
when the signature is valid *and* the key, the encodings and the numbers
are all in the strict form OpenSSL (under cryptography) accepts; any other
case, an invalid signature included, returns ``False`` and the caller asks
cryptography, whose answer (and error) is the one reported.  So a mistake
here can only cost time, never turn a bad signature into a good one: the
verification equation cannot hold by accident.

What OpenSSL requires and is checked here: ECDSA (crypto/ec/ecdsa_ossl.c
``ossl_ecdsa_verify``): the signature re-encodes to the same DER, 0 < r, s <
n, the digest truncated to the order's bit length; a public point on the
curve (crypto/ec/ec_key.c).  RSA (crypto/rsa/rsa_sign.c ``ossl_rsa_verify``):
the signature is exactly the modulus' length and below the modulus, the
encoded message is the one RSA_sign would make (its DigestInfo with NULL
parameters).
"""

from __future__ import annotations

from . import digest
from .der import DerError, elements, header, oid_at

# -- curves (SEC 2 v2 section 2.4.2 and 2.5.1; FIPS 186-4 D.1.2.3-4) -------------------


class _Curve:
    """A short Weierstrass curve y^2 = x^3 - 3x + b over GF(p), order n."""

    __slots__ = ("b", "g", "n", "p", "size")

    def __init__(self, p: int, b: int, n: int, gx: int, gy: int) -> None:
        self.p, self.b, self.n, self.g = p, b, n, (gx, gy)
        self.size = (p.bit_length() + 7) // 8

    def on_curve(self, x: int, y: int) -> bool:
        p = self.p
        return 0 <= x < p and 0 <= y < p and (y * y - (x * x * x - 3 * x + self.b)) % p == 0


P256 = _Curve(
    p=0xFFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF,
    b=0x5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B,
    n=0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551,
    gx=0x6B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C296,
    gy=0x4FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB6406837BF51F5,
)
P384 = _Curve(
    p=int(
        "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFE"
        "FFFFFFFF0000000000000000FFFFFFFF",
        16,
    ),
    b=int(
        "B3312FA7E23EE7E4988E056BE3F82D19181D9C6EFE8141120314088F5013875A"
        "C656398D8A2ED19D2A85C8EDD3EC2AEF",
        16,
    ),
    n=int(
        "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC7634D81F4372DDF"
        "581A0DB248B0A77AECEC196ACCC52973",
        16,
    ),
    gx=int(
        "AA87CA22BE8B05378EB1C71EF320AD746E1D3B628BA79B9859F741E082542A38"
        "5502F25DBF55296C3A545E3872760AB7",
        16,
    ),
    gy=int(
        "3617DE4A96262C6F5D9E98BF9292DC29F8F41DBD289A147CE9DA3113B5F0B8C0"
        "0A60B1CE1D7E819D7A431D7C90EA0E5F",
        16,
    ),
)
# Named-curve OIDs (RFC 5480 section 2.1.1.1) -> curve.
CURVES: dict[str, _Curve] = {"1.2.840.10045.3.1.7": P256, "1.3.132.0.34": P384}

# Signature algorithm OIDs (RFC 3279, RFC 4055, RFC 5758) -> (kind, hash).
ALGORITHMS: dict[str, tuple[str, str]] = {
    "1.2.840.10045.4.1": ("ecdsa", "sha1"),
    "1.2.840.10045.4.3.1": ("ecdsa", "sha224"),
    "1.2.840.10045.4.3.2": ("ecdsa", "sha256"),
    "1.2.840.10045.4.3.3": ("ecdsa", "sha384"),
    "1.2.840.10045.4.3.4": ("ecdsa", "sha512"),
    "1.2.840.113549.1.1.5": ("rsa", "sha1"),
    "1.2.840.113549.1.1.14": ("rsa", "sha224"),
    "1.2.840.113549.1.1.11": ("rsa", "sha256"),
    "1.2.840.113549.1.1.12": ("rsa", "sha384"),
    "1.2.840.113549.1.1.13": ("rsa", "sha512"),
}

# DigestInfo prefixes (RFC 8017 section 9.2, note 1): the DER before the digest.
DIGEST_INFO: dict[str, bytes] = {
    "sha1": bytes.fromhex("3021300906052b0e03021a05000414"),
    "sha224": bytes.fromhex("302d300d06096086480165030402040500041c"),
    "sha256": bytes.fromhex("3031300d060960864801650304020105000420"),
    "sha384": bytes.fromhex("3041300d060960864801650304020205000430"),
    "sha512": bytes.fromhex("3051300d060960864801650304020305000440"),
}

_EC_KEY = "1.2.840.10045.2.1"
_RSA_KEY = "1.2.840.113549.1.1.1"
# RSA moduli confirmed here: what OpenSSL verifies without question (its
# OPENSSL_RSA_MAX_MODULUS_BITS is 16384; small keys are the rules' business).
_RSA_BITS = (1024, 8192)
# Public exponents confirmed here (65537 in practice; OpenSSL caps them at
# 64 bits above 3072-bit moduli).
_RSA_E_BITS = 32


# -- DER, strictly ------------------------------------------------------------------------


def _only(d: bytes, s: int, e: int, tag: int) -> tuple[int, int]:
    t, cs, ce = header(d, s, e)
    if t != tag or ce != e:
        raise DerError("not the element expected")
    return cs, ce


def _positive(d: bytes, s: int, e: int) -> int:
    """A DER INTEGER's content that is positive and minimally encoded."""
    if s == e or d[s] & 0x80 or (e - s > 1 and d[s] == 0 and not d[s + 1] & 0x80):
        raise DerError("not a minimal positive INTEGER")
    return int.from_bytes(d[s:e], "big")


def _two_positives(d: bytes) -> tuple[int, int] | None:
    """A SEQUENCE of exactly two minimal positive INTEGERs filling ``d``, or None."""
    try:
        s, e = _only(d, 0, len(d), 0x30)
        items = elements(d, s, e)
        if len(items) != 2 or items[0][0] != 0x02 or items[1][0] != 0x02:
            return None
        return _positive(d, items[0][1], items[0][2]), _positive(d, items[1][1], items[1][2])
    except DerError:
        return None


def _spki(spki: bytes) -> tuple[str, bytes | None, bytes]:
    """(algorithm OID, parameters element or None, key bits) of a
    SubjectPublicKeyInfo filling ``spki``; DerError otherwise."""
    s, e = _only(spki, 0, len(spki), 0x30)
    items = elements(spki, s, e)
    if len(items) != 2 or items[0][0] != 0x30 or items[1][0] != 0x03:
        raise DerError("bad SubjectPublicKeyInfo")
    alg = elements(spki, items[0][1], items[0][2])
    if not alg or len(alg) > 2 or alg[0][0] != 0x06:
        raise DerError("bad AlgorithmIdentifier")
    oid = oid_at(spki, alg[0][1], alg[0][2])
    params = spki[alg[1][3] : alg[1][2]] if len(alg) == 2 else None
    bs, be = items[1][1], items[1][2]
    if be - bs < 2 or spki[bs] != 0:
        raise DerError("key bits with unused bits")
    return oid, params, spki[bs + 1 : be]


# -- ECDSA -------------------------------------------------------------------------------

_Jacobian = tuple[int, int, int]


def _double(pt: _Jacobian, p: int) -> _Jacobian:
    # dbl-2001-b (a = -3), Jacobian coordinates.
    x, y, z = pt
    if z == 0 or y == 0:
        return (1, 1, 0)
    delta = z * z % p
    gamma = y * y % p
    beta = x * gamma % p
    alpha = 3 * (x - delta) * (x + delta) % p
    x3 = (alpha * alpha - 8 * beta) % p
    z3 = 2 * y * z % p  # = (y + z)^2 - gamma - delta, one product fewer in Python
    y3 = (alpha * (4 * beta - x3) - 8 * gamma * gamma) % p
    return (x3, y3, z3)


def _add_affine(pt: _Jacobian, q: tuple[int, int], p: int) -> _Jacobian:
    # madd-2007-bl: Jacobian + affine.
    x1, y1, z1 = pt
    if z1 == 0:
        return (q[0], q[1], 1)
    x2, y2 = q
    z1z1 = z1 * z1 % p
    u2 = x2 * z1z1 % p
    s2 = y2 * z1 * z1z1 % p
    h = (u2 - x1) % p
    r = 2 * (s2 - y1) % p
    if h == 0:
        return _double(pt, p) if r == 0 else (1, 1, 0)
    hh = h * h % p
    i = 4 * hh % p
    j = h * i % p
    v = x1 * i % p
    x3 = (r * r - j - 2 * v) % p
    y3 = (r * (v - x3) - 2 * y1 * j) % p
    z3 = ((z1 + h) * (z1 + h) - z1z1 - hh) % p
    return (x3, y3, z3)


def _affine(pt: _Jacobian, p: int) -> tuple[int, int] | None:
    x, y, z = pt
    if z == 0:
        return None
    zi = pow(z, -1, p)
    zi2 = zi * zi % p
    return x * zi2 % p, y * zi2 * zi % p


# Window of the width-w NAF of each scalar (Hankerson, Menezes, Vanstone,
# "Guide to Elliptic Curve Cryptography", algorithms 3.35 and 3.51): a
# non-zero digit every w+1 bits on average, so ~86 additions for two 256-bit
# scalars instead of ~192 with one bit at a time; 8 odd multiples a point.
_W = 5


def _naf(k: int) -> list[int]:
    """The width-_W NAF of ``k`` > 0, least significant digit first."""
    digits: list[int] = []
    full, half = 1 << _W, 1 << (_W - 1)
    while k:
        if k & 1:
            d = k & (full - 1)
            if d >= half:
                d -= full
            k -= d
        else:
            d = 0
        digits.append(d)
        k >>= 1
    return digits


def _odd_multiples(pt: tuple[int, int], p: int) -> list[_Jacobian]:
    """P, 3P, 5P ... (2^(_W-1) - 1)P, Jacobian."""
    twice = _affine(_double((pt[0], pt[1], 1), p), p)
    out: list[_Jacobian] = [(pt[0], pt[1], 1)]
    for _ in range((1 << (_W - 2)) - 1):
        out.append(_add_affine(out[-1], twice, p) if twice is not None else out[-1])
    return out


def _affine_all(points: list[_Jacobian], p: int) -> list[tuple[int, int] | None]:
    """:func:`_affine` of every point with one inversion (Montgomery's trick:
    an inversion costs ~30 multiplications here)."""
    zs = [z for _, _, z in points if z]
    prefix: list[int] = []
    acc = 1
    for z in zs:
        prefix.append(acc)
        acc = acc * z % p
    inv = pow(acc, -1, p) if zs else 0
    inverses = [0] * len(zs)
    for i in range(len(zs) - 1, -1, -1):
        inverses[i] = inv * prefix[i] % p
        inv = inv * zs[i] % p
    out: list[tuple[int, int] | None] = []
    it = iter(inverses)
    for x, y, z in points:
        if not z:
            out.append(None)
            continue
        zi = next(it)
        zi2 = zi * zi % p
        out.append((x * zi2 % p, y * zi2 * zi % p))
    return out


def _combination(c: _Curve, u1: int, u2: int, q: tuple[int, int]) -> tuple[int, int] | None:
    """u1*G + u2*Q (interleaved width-w NAFs), affine, or None for the point at infinity."""
    p = c.p
    scalars = [(k, pt) for k, pt in ((u1, c.g), (u2, q)) if k]
    size = 1 << (_W - 2)
    tables = _affine_all([m for _, pt in scalars for m in _odd_multiples(pt, p)], p)
    plan = [(_naf(k), tables[i * size : (i + 1) * size]) for i, (k, _) in enumerate(scalars)]
    acc: _Jacobian = (1, 1, 0)
    for i in range(max((len(d) for d, _ in plan), default=0) - 1, -1, -1):
        acc = _double(acc, p)
        for digits, table in plan:
            d = digits[i] if i < len(digits) else 0
            if d:
                add = table[abs(d) >> 1]
                if add is not None:
                    acc = _add_affine(acc, add if d > 0 else (add[0], p - add[1]), p)
    return _affine(acc, p)


def _ecdsa(curve: _Curve, key: bytes, signature: bytes, hashed: bytes) -> bool:
    n = curve.n
    size = curve.size
    if len(key) != 1 + 2 * size or key[0] != 4:
        return False  # compressed or hybrid points: cryptography decides
    qx = int.from_bytes(key[1 : 1 + size], "big")
    qy = int.from_bytes(key[1 + size :], "big")
    if not curve.on_curve(qx, qy):
        return False
    pair = _two_positives(signature)  # ECDSA-Sig-Value (RFC 3279 section 2.2.3)
    if pair is None:
        return False
    r, s = pair
    if not (0 < r < n and 0 < s < n):
        return False
    e = int.from_bytes(hashed, "big")
    excess = 8 * len(hashed) - n.bit_length()
    if excess > 0:
        e >>= excess
    w = pow(s, -1, n)
    point = _combination(curve, e * w % n, r * w % n, (qx, qy))
    return point is not None and point[0] % n == r


# -- RSA ---------------------------------------------------------------------------------


def _rsa(key: bytes, params: bytes | None, signature: bytes, hashed: bytes, h: str) -> bool:
    if params not in (None, b"\x05\x00"):
        return False
    pair = _two_positives(key)  # RSAPublicKey (RFC 8017 appendix A.1.1)
    if pair is None:
        return False
    n, e = pair
    bits = n.bit_length()
    if not (_RSA_BITS[0] <= bits <= _RSA_BITS[1]) or e < 3 or not e & 1 or not n & 1:
        return False
    if e.bit_length() > _RSA_E_BITS:
        return False  # (a huge exponent is slow in Python: cryptography's call)
    k = (bits + 7) // 8
    if len(signature) != k:
        return False
    s = int.from_bytes(signature, "big")
    if s >= n:
        return False
    t = DIGEST_INFO[h] + hashed
    if k < len(t) + 11:
        return False
    expected = b"\x00\x01" + b"\xff" * (k - len(t) - 3) + b"\x00" + t
    return pow(s, e, n).to_bytes(k, "big") == expected


# -- the entry point -----------------------------------------------------------------------


def confirms(algorithm: str, tbs: bytes, signature: bytes, spki: bytes) -> bool:
    """Whether the key of ``spki`` made ``signature`` of ``tbs`` with the
    signature algorithm ``algorithm`` (an OID), as far as this module can
    confirm it: ``False`` means "ask cryptography", not "invalid"."""
    kind_hash = ALGORITHMS.get(algorithm)
    if kind_hash is None:
        return False
    kind, h = kind_hash
    try:
        key_oid, params, key = _spki(spki)
    except DerError:
        return False
    if kind == "ecdsa":
        if key_oid != _EC_KEY or params is None:
            return False
        try:
            cs, ce = _only(params, 0, len(params), 0x06)
            curve = CURVES.get(oid_at(params, cs, ce))
        except DerError:
            return False
        if curve is None:
            return False
        return _ecdsa(curve, key, signature, digest.new(h, tbs).digest())
    if key_oid != _RSA_KEY:
        return False
    return _rsa(key, params, signature, digest.new(h, tbs).digest(), h)
