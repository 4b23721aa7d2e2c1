"""Java keystores (JKS, JCEKS, PKCS#12) read without Java.

Pure: bytes in, entries out (no files, no environment).  The question answered
is the one a Java client asks when the store is its truststore: which
certificates does ``TrustManagerFactory.init(keystore)`` turn into trust
anchors?  Checked against OpenJDK 17 and 25 (a ``TrustManagerFactory`` probe
on stores made by keytool and by OpenSSL/``cryptography``):

* a ``trustedCertEntry`` is an anchor;
* for a ``PrivateKeyEntry`` Java trusts the *first* certificate of the chain
  (``sun.security.validator.TrustStoreUtil.getTrustedCerts`` adds
  ``chain[0]``), not the rest of the chain;
* in a PKCS#12 store, a certificate bag without Oracle's trusted-key-usage
  attribute (``2.16.840.1.113894.746875.1.1``) that belongs to no key is
  *ignored*: a truststore made with ``openssl pkcs12 -export -nokeys`` loads
  as an empty keystore in Java;
* with no password (``javax.net.ssl.trustStorePassword`` unset) Java skips
  the JKS/JCEKS integrity check and the PKCS#12 MAC, and cannot read
  password-encrypted PKCS#12 certificate bags: they are skipped.

JKS/JCEKS layout (``sun.security.provider.JavaKeyStore``,
``com.sun.crypto.provider.JceKeyStore``): ``>III`` magic/version/count, then
per entry ``u32 tag``, ``u16-length modified-UTF-8 alias``, ``u64 date``;
tag 1 private key (``u32-length`` protected key, ``u32`` chain length, the
chain), tag 2 trusted certificate, tag 3 (JCEKS) secret key as a serialized
Java object; a certificate is (version 2 only) a ``u16-length`` type string
then ``u32-length`` encoding; the file ends with
``SHA1(utf16be(password) + b"Mighty Aphrodite" + body)``.

Every length read from the input is checked against the bytes that remain
before anything is sliced, so a hostile count or length costs nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import struct
from collections.abc import Iterator
from typing import Any

from trustdoctor.errors import InputError

from ..model.record import mutable_record, record

# ---------------------------------------------------------------------------
# Public results


@record
class KeystoreEntry:
    """One certificate of a keystore, as a Java truststore sees it.

    ``kind`` is ``"trusted-cert"`` (a trustedCertEntry), ``"key-chain"`` (a
    certificate of a PrivateKeyEntry's chain; only the first is ``trusted``,
    as in Java) or ``"ignored-cert"`` (a PKCS#12 certificate Java does not
    load as an entry at all: no trusted attribute and no key).  ``der`` is the
    certificate as stored, not parsed here.
    """

    alias: str
    der: bytes
    trusted: bool
    kind: str


@record
class Keystore:
    """A whole keystore: its type, entries and what could not be read."""

    type: str  # "jks" | "jceks" | "pkcs12"
    entries: tuple[KeystoreEntry, ...]
    integrity_checked: bool  # the password was verified (JKS digest / PKCS#12 MAC)
    warnings: tuple[str, ...]  # one-line notes: skipped entries, assumptions

    @property
    def anchors(self) -> tuple[KeystoreEntry, ...]:
        return tuple(e for e in self.entries if e.trusted)


# ---------------------------------------------------------------------------
# Format facts (data, with their sources)

JKS_MAGIC = 0xFEEDFEED  # sun.security.provider.JavaKeyStore.MAGIC
JCEKS_MAGIC = 0xCECECECE  # com.sun.crypto.provider.JceKeyStore.JCEKS_MAGIC
# The pre-keyed hash of both formats (JavaKeyStore.getPreKeyedHash).
_INTEGRITY_SALT = b"Mighty Aphrodite"
_TAG_PRIVATE_KEY = 1
_TAG_TRUSTED_CERT = 2
_TAG_SECRET_KEY = 3  # JCEKS only

_OID_DATA = "1.2.840.113549.1.7.1"
_OID_ENCRYPTED_DATA = "1.2.840.113549.1.7.6"
_OID_KEY_BAG = "1.2.840.113549.1.12.10.1.1"
_OID_SHROUDED_KEY_BAG = "1.2.840.113549.1.12.10.1.2"
_OID_CERT_BAG = "1.2.840.113549.1.12.10.1.3"
_OID_SAFE_CONTENTS_BAG = "1.2.840.113549.1.12.10.1.6"
_OID_X509_CERT = "1.2.840.113549.1.9.22.1"
_OID_FRIENDLY_NAME = "1.2.840.113549.1.9.20"
_OID_LOCAL_KEY_ID = "1.2.840.113549.1.9.21"
# Oracle's "trusted key usage" bag attribute; its presence makes a cert bag a
# trustedCertEntry (java.base PKCS12KeyStore.TrustedKeyUsage_OID).
_OID_JAVA_TRUSTED = "2.16.840.1.113894.746875.1.1"
_OID_PBES2 = "1.2.840.113549.1.5.13"
_OID_PBKDF2 = "1.2.840.113549.1.5.12"
# PBKDF2 PRFs (RFC 8018 appendix B.1) -> hashlib names.
_PBKDF2_PRF = {
    "1.2.840.113549.2.7": "sha1",
    "1.2.840.113549.2.8": "sha224",
    "1.2.840.113549.2.9": "sha256",
    "1.2.840.113549.2.10": "sha384",
    "1.2.840.113549.2.11": "sha512",
}
# AES-CBC OIDs (NIST) -> key length in bytes.
_AES_CBC = {
    "2.16.840.1.101.3.4.1.2": 16,
    "2.16.840.1.101.3.4.1.22": 24,
    "2.16.840.1.101.3.4.1.42": 32,
}
# Work bounds: keytool uses 10,000 PBKDF2/MAC iterations, OpenSSL 2,048; a
# hostile store must not buy minutes of CPU.
MAX_ITERATIONS = 2_000_000
_MAX_NESTING = 8


# ---------------------------------------------------------------------------
# Entry points


def detect_keystore_type(data: bytes) -> str | None:
    """``"jks"``, ``"jceks"``, ``"pkcs12"`` or None, from the first bytes."""
    if len(data) >= 4:
        magic = struct.unpack(">I", data[:4])[0]
        if magic == JKS_MAGIC:
            return "jks"
        if magic == JCEKS_MAGIC:
            return "jceks"
    # PFX ::= SEQUENCE { version INTEGER (3), ... } (RFC 7292 section 4)
    try:
        tag, start, _end = _tlv(data, 0, len(data))
        if tag == 0x30:
            t2, s2, e2 = _tlv(data, start, len(data))
            if t2 == 0x02 and data[s2:e2] == b"\x03":
                return "pkcs12"
    except _Bad:
        pass
    return None


def read_keystore(
    data: bytes, password: bytes | None = None, *, source: str = "keystore"
) -> list[KeystoreEntry]:
    """Every certificate of a JKS, JCEKS or PKCS#12 keystore, in file order.

    ``password=None`` behaves like Java without ``trustStorePassword``: no
    integrity check, encrypted PKCS#12 bags unreadable (skipped).  A wrong
    password, a truncated or foreign file raise :class:`InputError` (one line,
    naming ``source``).
    """
    return list(inspect_keystore(data, password, source=source).entries)


def inspect_keystore(
    data: bytes, password: bytes | None = None, *, source: str = "keystore"
) -> Keystore:
    """Like :func:`read_keystore`, with the type, integrity status and warnings."""
    kind = detect_keystore_type(data)
    if kind in ("jks", "jceks"):
        return _read_jks(data, password, kind, source)
    if kind == "pkcs12":
        return _read_pkcs12(data, password, source)
    raise InputError(f"{source}: not a Java keystore (no JKS, JCEKS or PKCS#12 header)")


# ---------------------------------------------------------------------------
# JKS / JCEKS


class _Bad(Exception):
    """Internal: the bytes do not have the expected structure."""


class _Reader:
    """Bounds-checked big-endian reader over bytes."""

    def __init__(self, data: bytes, pos: int = 0) -> None:
        self.data = data
        self.pos = pos

    def take(self, n: int) -> bytes:
        if n < 0 or n > len(self.data) - self.pos:
            raise _Bad(f"needs {n} bytes at offset {self.pos}, file ends first")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def u8(self) -> int:
        return self.take(1)[0]

    def u16(self) -> int:
        return int(struct.unpack(">H", self.take(2))[0])

    def u32(self) -> int:
        return int(struct.unpack(">I", self.take(4))[0])

    def i32(self) -> int:
        return int(struct.unpack(">i", self.take(4))[0])

    def u64(self) -> int:
        return int(struct.unpack(">Q", self.take(8))[0])

    def utf(self) -> str:
        return _java_utf(self.take(self.u16()))


def _java_utf(raw: bytes) -> str:
    """Decode Java's modified UTF-8 (DataOutput.writeUTF)."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        # NUL is C0 80; supplementary characters are CESU-8 surrogate pairs.
        fixed = raw.replace(b"\xc0\x80", b"\x00")
        try:
            text = fixed.decode("utf-8", "surrogatepass")
            return text.encode("utf-16-be", "surrogatepass").decode("utf-16-be", "replace")
        except UnicodeDecodeError:
            return raw.decode("utf-8", "replace")


def _read_jks(data: bytes, password: bytes | None, kind: str, source: str) -> Keystore:
    label = kind.upper()
    r = _Reader(data)
    entries: list[KeystoreEntry] = []
    warnings: list[str] = []
    body_end: int | None = None
    try:
        _magic, version, count = struct.unpack(">III", r.take(12))
        if version not in (1, 2):
            raise InputError(f"{source}: {label} version {version} is not 1 or 2")
        if kind == "jceks" and version != 2:
            raise InputError(f"{source}: JCEKS version {version} is not 2")
        for _ in range(count):  # each pass consumes >= 14 bytes: bounded by the data
            tag = r.u32()
            alias = r.utf()
            r.u64()  # creation date
            if tag == _TAG_TRUSTED_CERT:
                der = _jks_cert(r, version, alias, warnings)
                if der is not None:
                    entries.append(KeystoreEntry(alias, der, True, "trusted-cert"))
            elif tag == _TAG_PRIVATE_KEY:
                r.take(r.u32())  # the protected key: never looked at
                nchain = r.u32()
                for i in range(nchain):
                    der = _jks_cert(r, version, alias, warnings)
                    if der is not None:
                        # Java trusts chain[0] of a key entry (TrustStoreUtil).
                        entries.append(KeystoreEntry(alias, der, i == 0, "key-chain"))
            elif tag == _TAG_SECRET_KEY and kind == "jceks":
                try:
                    _skip_java_object(r)
                except _Bad as exc:
                    # Cannot find where the next entry starts: stop here.
                    warnings.append(
                        f"secret key entry {alias!r} could not be skipped ({exc}); "
                        f"entries after it were not read"
                    )
                    body_end = len(data) - 20
                    break
            else:
                raise InputError(f"{source}: {label} entry {alias!r} has unknown tag {tag}")
    except _Bad as exc:
        raise InputError(f"{source}: truncated or corrupt {label} keystore ({exc})") from None
    if body_end is None:
        body_end = r.pos
        if len(data) - body_end < 20:
            raise InputError(f"{source}: truncated {label} keystore (no integrity digest)")
    checked = False
    if password is not None and 12 <= body_end <= len(data) - 20:
        expected = data[body_end : body_end + 20]
        digest = hashlib.sha1(
            _utf16be(password, source) + _INTEGRITY_SALT + data[:body_end], usedforsecurity=False
        ).digest()
        if not hmac.compare_digest(digest, expected):
            raise InputError(
                f"{source}: {label} integrity check failed: wrong password or a modified file"
            )
        checked = True
    return Keystore(kind, tuple(entries), checked, tuple(warnings))


def _jks_cert(r: _Reader, version: int, alias: str, warnings: list[str]) -> bytes | None:
    ctype = r.utf() if version == 2 else "X.509"
    der = r.take(r.u32())
    if ctype != "X.509":
        warnings.append(f"entry {alias!r}: certificate type {ctype!r} is not X.509; skipped")
        return None
    return der


def _utf16be(password: bytes, source: str) -> bytes:
    # Java hashes the password chars as big-endian UTF-16 code units.
    try:
        return password.decode("utf-8").encode("utf-16-be")
    except UnicodeDecodeError:
        raise InputError(f"{source}: the keystore password is not valid UTF-8") from None


# -- Java serialization, just enough to step over a JCEKS SecretKeyEntry ------
#
# JceKeyStore writes ``new ObjectOutputStream(dos).writeObject(sealedKey)``;
# the grammar is the Java Object Serialization Specification, chapter 6.

_TC_NULL, _TC_REFERENCE, _TC_CLASSDESC, _TC_OBJECT = 0x70, 0x71, 0x72, 0x73
_TC_STRING, _TC_ARRAY, _TC_CLASS, _TC_BLOCKDATA = 0x74, 0x75, 0x76, 0x77
_TC_ENDBLOCKDATA, _TC_RESET, _TC_BLOCKDATALONG = 0x78, 0x79, 0x7A
_TC_LONGSTRING, _TC_PROXYCLASSDESC, _TC_ENUM = 0x7C, 0x7D, 0x7E
_SC_WRITE_METHOD, _SC_SERIALIZABLE, _SC_EXTERNALIZABLE, _SC_BLOCK_DATA = 1, 2, 4, 8
_PRIM_SIZE = {"B": 1, "C": 2, "D": 8, "F": 4, "I": 4, "J": 8, "S": 2, "Z": 1}


@mutable_record
class _ClassDesc:
    """A Java serialization class descriptor (JCEKS sealed entries)."""

    name: str
    flags: int
    fields: list[str]  # type codes, in order
    parent: _ClassDesc | None


def _skip_java_object(r: _Reader) -> None:
    if r.take(4) != b"\xac\xed\x00\x05":
        raise _Bad("no Java serialization header")
    handles: list[object] = []
    _java_content(r, handles, 0)


def _java_content(r: _Reader, handles: list[object], depth: int) -> object:
    if depth > 32:
        raise _Bad("serialized object nested too deeply")
    tc = r.u8()
    if tc == _TC_NULL:
        return None
    if tc == _TC_REFERENCE:
        idx = r.u32() - 0x7E0000
        if not 0 <= idx < len(handles):
            raise _Bad("bad back-reference")
        return handles[idx]
    if tc in (_TC_CLASSDESC, _TC_PROXYCLASSDESC):
        return _java_classdesc_body(r, handles, depth, tc)
    if tc == _TC_STRING:
        handles.append(r.utf())
        return handles[-1]
    if tc == _TC_LONGSTRING:
        handles.append(_java_utf(r.take(r.u64())))
        return handles[-1]
    if tc == _TC_OBJECT:
        desc = _java_classdesc(r, handles, depth)
        handles.append(desc)
        chain: list[_ClassDesc] = []
        cur: _ClassDesc | None = desc
        while cur is not None and len(chain) < 64:
            chain.append(cur)
            cur = cur.parent
        for cd in reversed(chain):  # superclass data first
            if cd.flags & _SC_SERIALIZABLE:
                for code in cd.fields:
                    if code in _PRIM_SIZE:
                        r.take(_PRIM_SIZE[code])
                    else:
                        _java_content(r, handles, depth + 1)
                if cd.flags & _SC_WRITE_METHOD:
                    _java_annotation(r, handles, depth)
            elif cd.flags & _SC_EXTERNALIZABLE:
                if not cd.flags & _SC_BLOCK_DATA:
                    raise _Bad("old-style externalizable data")
                _java_annotation(r, handles, depth)
        return desc
    if tc == _TC_ARRAY:
        desc = _java_classdesc(r, handles, depth)
        handles.append(desc)
        size = r.i32()
        if size < 0:
            raise _Bad("negative array size")
        comp = desc.name[1:2] if desc else ""
        if comp in _PRIM_SIZE:
            r.take(size * _PRIM_SIZE[comp])
        else:
            for _ in range(size):  # each element consumes >= 1 byte
                _java_content(r, handles, depth + 1)
        return desc
    if tc == _TC_CLASS:
        handles.append(_java_classdesc(r, handles, depth))
        return handles[-1]
    if tc == _TC_ENUM:
        _java_classdesc(r, handles, depth)
        handles.append(None)
        _java_content(r, handles, depth + 1)
        return None
    if tc == _TC_BLOCKDATA:
        r.take(r.u8())
        return None
    if tc == _TC_BLOCKDATALONG:
        r.take(r.u32())
        return None
    if tc == _TC_RESET:
        handles.clear()
        return None
    raise _Bad(f"unsupported serialization code 0x{tc:02x}")


def _java_classdesc(r: _Reader, handles: list[object], depth: int) -> _ClassDesc:
    got = _java_content(r, handles, depth + 1)
    if got is None:
        return _ClassDesc("", 0, [], None)
    if not isinstance(got, _ClassDesc):
        raise _Bad("expected a class descriptor")
    return got


def _java_classdesc_body(r: _Reader, handles: list[object], depth: int, tc: int) -> _ClassDesc:
    if tc == _TC_PROXYCLASSDESC:
        desc = _ClassDesc("<proxy>", _SC_SERIALIZABLE, [], None)
        handles.append(desc)
        for _ in range(r.i32()):
            r.utf()
    else:
        name = r.utf()
        r.take(8)  # serialVersionUID
        desc = _ClassDesc(name, 0, [], None)
        handles.append(desc)
        desc.flags = r.u8()
        for _ in range(r.u16()):
            code = chr(r.u8())
            r.utf()  # field name
            if code in "[L":
                _java_content(r, handles, depth + 1)  # field type string
            elif code not in _PRIM_SIZE:
                raise _Bad(f"bad field type code {code!r}")
            desc.fields.append(code)
    _java_annotation(r, handles, depth)
    parent = _java_content(r, handles, depth + 1)
    if parent is not None and not isinstance(parent, _ClassDesc):
        raise _Bad("bad superclass descriptor")
    desc.parent = parent
    return desc


def _java_annotation(r: _Reader, handles: list[object], depth: int) -> None:
    while True:
        if r.pos < len(r.data) and r.data[r.pos] == _TC_ENDBLOCKDATA:
            r.pos += 1
            return
        _java_content(r, handles, depth + 1)


# ---------------------------------------------------------------------------
# PKCS#12


def _tlv(data: bytes, pos: int, end: int) -> tuple[int, int, int]:
    """One DER tag-length-value at ``pos``: (tag, content start, content end)."""
    if pos + 2 > end:
        raise _Bad("DER item truncated")
    tag = data[pos]
    if tag & 0x1F == 0x1F:
        raise _Bad("multi-byte DER tags are not used in PKCS#12")
    first = data[pos + 1]
    pos += 2
    if first < 0x80:
        length = first
    else:
        n = first & 0x7F
        if n == 0 or n > 4:
            raise _Bad("indefinite or oversized DER length (BER is not supported)")
        if pos + n > end:
            raise _Bad("DER length truncated")
        length = int.from_bytes(data[pos : pos + n], "big")
        pos += n
    if length > end - pos:
        raise _Bad("DER item longer than its container")
    return tag, pos, pos + length


def _children(data: bytes, start: int, end: int) -> Iterator[tuple[int, int, int]]:
    pos = start
    while pos < end:
        tag, s, e = _tlv(data, pos, end)
        yield tag, s, e
        pos = e


def _expect(data: bytes, pos: int, end: int, tag: int) -> tuple[int, int]:
    t, s, e = _tlv(data, pos, end)
    if t != tag:
        raise _Bad(f"expected DER tag 0x{tag:02x}, found 0x{t:02x}")
    return s, e


def _oid(raw: bytes) -> str:
    if not raw:
        raise _Bad("empty OID")
    parts: list[int] = []
    value = 0
    for b in raw:
        value = (value << 7) | (b & 0x7F)
        if not b & 0x80:
            parts.append(value)
            value = 0
    first = min(parts[0] // 40, 2)
    return ".".join(str(p) for p in [first, parts[0] - 40 * first, *parts[1:]])


def _seq_items(data: bytes, start: int, end: int) -> list[tuple[int, int, int]]:
    return list(_children(data, start, end))


@mutable_record
class _Bag:
    """One PKCS#12 safe bag: a certificate or a key, with its attributes."""

    kind: str  # "cert" | "key"
    der: bytes
    friendly_name: str | None
    local_key_id: bytes | None
    java_trusted: bool


@mutable_record
class _Pfx:
    """Where a PKCS#12 file's AuthenticatedSafe lies, and its MAC iteration count."""

    auth_safe: tuple[int, int]  # content range of the AuthenticatedSafe SEQUENCE
    mac_iterations: int | None  # None: no MacData


def _parse_pfx(data: bytes) -> _Pfx:
    s, e = _expect(data, 0, len(data), 0x30)
    items = _seq_items(data, s, e)
    if len(items) < 2:
        raise _Bad("PFX too short")
    ci_s, ci_e = items[1][1], items[1][2]
    oid_s, oid_e = _expect(data, ci_s, ci_e, 0x06)
    if _oid(data[oid_s:oid_e]) != _OID_DATA:
        raise _Bad("public-key-protected PKCS#12 is not supported")
    ex_s, ex_e = _expect(data, oid_e, ci_e, 0xA0)
    os_s, os_e = _expect(data, ex_s, ex_e, 0x04)
    as_s, as_e = _expect(data, os_s, os_e, 0x30)
    mac_iterations: int | None = None
    if len(items) >= 3:
        # MacData ::= SEQUENCE { mac DigestInfo, macSalt OCTET STRING,
        #                      iterations INTEGER DEFAULT 1 }
        mac_items = _seq_items(data, items[2][1], items[2][2])
        mac_iterations = 1
        if len(mac_items) >= 3 and mac_items[2][0] == 0x02:
            mac_iterations = int.from_bytes(data[mac_items[2][1] : mac_items[2][2]], "big")
    return _Pfx((as_s, as_e), mac_iterations)


def _read_pkcs12(data: bytes, password: bytes | None, source: str) -> Keystore:
    warnings: list[str] = []
    try:
        pfx = _parse_pfx(data)
    except _Bad as exc:
        raise InputError(f"{source}: truncated or corrupt PKCS#12 keystore ({exc})") from None
    checked = False
    if password is not None and pfx.mac_iterations is not None:
        if pfx.mac_iterations > MAX_ITERATIONS:
            raise InputError(
                f"{source}: PKCS#12 MAC iteration count {pfx.mac_iterations} is over the "
                f"limit of {MAX_ITERATIONS}"
            )
        _check_mac(data, password, source)
        checked = True
    elif pfx.mac_iterations is not None:
        warnings.append("no password given: the PKCS#12 MAC was not checked")
    try:
        bags = _pkcs12_bags(data, pfx, password, warnings)
    except _Bad as exc:
        if password is None:
            raise InputError(f"{source}: corrupt PKCS#12 keystore ({exc})") from None
        # Structure we do not read ourselves (BER, legacy ciphers): let
        # OpenSSL decode the certificates and fall back to a heuristic.
        return _pkcs12_fallback(data, password, source, str(exc))
    except _WrongPassword:
        raise InputError(f"{source}: PKCS#12 decryption failed: wrong password") from None
    return Keystore("pkcs12", tuple(_java_view(bags, warnings)), checked, tuple(warnings))


class _WrongPassword(Exception):
    pass


def _no_nul(password: bytes, source: str) -> None:
    # cryptography panics (PanicException, a BaseException) on a NUL in the
    # password; OpenSSL's C-string passwords cannot hold one anyway.
    if b"\x00" in password:
        raise InputError(f"{source}: the PKCS#12 password contains a NUL byte; none can")


def _check_mac(data: bytes, password: bytes, source: str) -> None:
    from cryptography.hazmat.primitives.serialization import pkcs12

    _no_nul(password, source)
    try:
        pkcs12.load_pkcs12(data, password)
    except (ValueError, TypeError):
        raise InputError(
            f"{source}: PKCS#12 MAC check failed: wrong password or unsupported PKCS#12"
        ) from None


def _pkcs12_bags(data: bytes, pfx: _Pfx, password: bytes | None, warnings: list[str]) -> list[_Bag]:
    bags: list[_Bag] = []
    skipped = 0
    for tag, s, e in _children(data, *pfx.auth_safe):
        if tag != 0x30:
            raise _Bad("ContentInfo is not a SEQUENCE")
        oid_s, oid_e = _expect(data, s, e, 0x06)
        oid = _oid(data[oid_s:oid_e])
        ex_s, ex_e = _expect(data, oid_e, e, 0xA0)
        if oid == _OID_DATA:
            os_s, os_e = _expect(data, ex_s, ex_e, 0x04)
            _safe_contents(data[os_s:os_e], bags, 0)
        elif oid == _OID_ENCRYPTED_DATA:
            if password is None:
                skipped += 1
                continue
            plain = _decrypt_encrypted_data(data, ex_s, ex_e, password)
            _safe_contents(plain, bags, 0)
        else:
            warnings.append(f"PKCS#12 content of type {oid} is not readable; skipped")
    if skipped:
        warnings.append(
            f"{skipped} password-encrypted PKCS#12 part(s) skipped: no password given "
            f"(Java without trustStorePassword skips them too)"
        )
    return bags


def _safe_contents(data: bytes, bags: list[_Bag], depth: int) -> None:
    if depth > _MAX_NESTING:
        raise _Bad("SafeContents nested too deeply")
    s, e = _expect(data, 0, len(data), 0x30)
    for tag, bs, be in _children(data, s, e):
        if tag != 0x30:
            raise _Bad("SafeBag is not a SEQUENCE")
        items = _seq_items(data, bs, be)
        if len(items) < 2 or items[0][0] != 0x06 or items[1][0] != 0xA0:
            raise _Bad("malformed SafeBag")
        bag_oid = _oid(data[items[0][1] : items[0][2]])
        friendly, key_id, trusted = _bag_attributes(data, items[2] if len(items) > 2 else None)
        vs, ve = items[1][1], items[1][2]
        if bag_oid == _OID_CERT_BAG:
            cs, ce = _expect(data, vs, ve, 0x30)
            ctype_s, ctype_e = _expect(data, cs, ce, 0x06)
            if _oid(data[ctype_s:ctype_e]) != _OID_X509_CERT:
                continue
            x_s, x_e = _expect(data, ctype_e, ce, 0xA0)
            d_s, d_e = _expect(data, x_s, x_e, 0x04)
            bags.append(_Bag("cert", data[d_s:d_e], friendly, key_id, trusted))
        elif bag_oid in (_OID_KEY_BAG, _OID_SHROUDED_KEY_BAG):
            bags.append(_Bag("key", b"", friendly, key_id, False))
        elif bag_oid == _OID_SAFE_CONTENTS_BAG:
            _safe_contents(data[vs:ve], bags, depth + 1)


def _bag_attributes(
    data: bytes, attrs: tuple[int, int, int] | None
) -> tuple[str | None, bytes | None, bool]:
    friendly: str | None = None
    key_id: bytes | None = None
    trusted = False
    if attrs is None or attrs[0] != 0x31:
        return friendly, key_id, trusted
    for _tag, s, e in _children(data, attrs[1], attrs[2]):
        oid_s, oid_e = _expect(data, s, e, 0x06)
        oid = _oid(data[oid_s:oid_e])
        set_s, set_e = _expect(data, oid_e, e, 0x31)
        values = _seq_items(data, set_s, set_e)
        if oid == _OID_FRIENDLY_NAME and values and values[0][0] == 0x1E:
            friendly = data[values[0][1] : values[0][2]].decode("utf-16-be", "replace")
        elif oid == _OID_LOCAL_KEY_ID and values and values[0][0] == 0x04:
            key_id = data[values[0][1] : values[0][2]]
        elif oid == _OID_JAVA_TRUSTED:
            trusted = True
    return friendly, key_id, trusted


def _decrypt_encrypted_data(data: bytes, s: int, e: int, password: bytes) -> bytes:
    # EncryptedData ::= SEQUENCE { version, EncryptedContentInfo }
    ed_s, ed_e = _expect(data, s, e, 0x30)
    items = _seq_items(data, ed_s, ed_e)
    if len(items) < 2:
        raise _Bad("malformed EncryptedData")
    eci = _seq_items(data, items[1][1], items[1][2])
    if len(eci) < 3 or eci[1][0] != 0x30 or eci[2][0] not in (0x80, 0xA0):
        raise _Bad("malformed EncryptedContentInfo")
    if eci[2][0] == 0xA0:
        raise _Bad("constructed encryptedContent (BER)")
    ciphertext = data[eci[2][1] : eci[2][2]]
    alg = _seq_items(data, eci[1][1], eci[1][2])
    alg_oid = _oid(data[alg[0][1] : alg[0][2]])
    if alg_oid != _OID_PBES2 or len(alg) < 2:
        raise _Bad(f"encryption {alg_oid} is not PBES2")
    return _pbes2_decrypt(data, alg[1], ciphertext, password)


def _pbes2_decrypt(
    data: bytes, params: tuple[int, int, int], ciphertext: bytes, password: bytes
) -> bytes:
    kdf, enc = _seq_items(data, params[1], params[2])[:2]
    kdf_items = _seq_items(data, kdf[1], kdf[2])
    if _oid(data[kdf_items[0][1] : kdf_items[0][2]]) != _OID_PBKDF2:
        raise _Bad("PBES2 key derivation is not PBKDF2")
    kp = _seq_items(data, kdf_items[1][1], kdf_items[1][2])
    if kp[0][0] != 0x04 or kp[1][0] != 0x02:
        raise _Bad("malformed PBKDF2 parameters")
    salt = data[kp[0][1] : kp[0][2]]
    iterations = int.from_bytes(data[kp[1][1] : kp[1][2]], "big")
    prf = "sha1"  # RFC 8018 default
    for tag, s, e in kp[2:]:
        if tag == 0x30:
            po_s, po_e = _expect(data, s, e, 0x06)
            prf_oid = _oid(data[po_s:po_e])
            if prf_oid not in _PBKDF2_PRF:
                raise _Bad(f"PBKDF2 PRF {prf_oid} is not supported")
            prf = _PBKDF2_PRF[prf_oid]
    if iterations > MAX_ITERATIONS:
        raise _Bad(f"PBKDF2 iteration count {iterations} is over the limit")
    enc_items = _seq_items(data, enc[1], enc[2])
    enc_oid = _oid(data[enc_items[0][1] : enc_items[0][2]])
    if enc_oid not in _AES_CBC or len(enc_items) < 2 or enc_items[1][0] != 0x04:
        raise _Bad(f"PBES2 cipher {enc_oid} is not AES-CBC")
    iv = data[enc_items[1][1] : enc_items[1][2]]
    if len(iv) != 16 or len(ciphertext) % 16:
        raise _Bad("bad AES-CBC IV or ciphertext length")
    key = hashlib.pbkdf2_hmac(prf, password, salt, iterations, _AES_CBC[enc_oid])
    from cryptography.hazmat.primitives import padding
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    dec = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    padded = dec.update(ciphertext) + dec.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    try:
        return unpadder.update(padded) + unpadder.finalize()
    except ValueError:
        raise _WrongPassword() from None


def _java_view(bags: list[_Bag], warnings: list[str]) -> list[KeystoreEntry]:
    """Turn bags into entries the way java.base PKCS12KeyStore.engineLoad does."""
    from .certs import parse_der

    certs = [b for b in bags if b.kind == "cert"]
    # (subject, issuer) DER of each certificate; None when it does not parse.
    names: list[tuple[bytes, bytes] | None] = []
    for b in certs:
        # Parsed through the stores' memo: the Java model reads these again.
        info = parse_der(b.der)
        names.append((info.subject_der, info.issuer_der) if info is not None else None)
    by_subject: dict[bytes, int] = {}
    for i, n in enumerate(names):
        if n is not None:
            by_subject.setdefault(n[0], i)
    role: dict[int, KeystoreEntry] = {}
    for key in (b for b in bags if b.kind == "key"):
        # The key's certificate shares its localKeyId (else its friendlyName).
        start = next(
            (
                i
                for i, b in enumerate(certs)
                if (key.local_key_id is not None and b.local_key_id == key.local_key_id)
                or (
                    key.local_key_id is None
                    and key.friendly_name is not None
                    and b.friendly_name == key.friendly_name
                )
            ),
            None,
        )
        alias = key.friendly_name or "(unnamed key)"
        pos = 0
        seen: set[int] = set()
        while start is not None and start not in seen and pos < 32:
            seen.add(start)
            role.setdefault(start, KeystoreEntry(alias, certs[start].der, pos == 0, "key-chain"))
            name = names[start]
            if name is None or name[0] == name[1]:
                break
            start = by_subject.get(name[1])
            pos += 1
    out: list[KeystoreEntry] = []
    ignored = 0
    for i, b in enumerate(certs):
        alias = b.friendly_name or "(unnamed)"
        if b.java_trusted:
            out.append(KeystoreEntry(alias, b.der, True, "trusted-cert"))
        elif i in role:
            out.append(role[i])
        else:
            ignored += 1
            out.append(KeystoreEntry(alias, b.der, False, "ignored-cert"))
    if ignored:
        warnings.append(
            f"{ignored} certificate(s) lack Java's trusted-certificate attribute and belong "
            f"to no key: Java ignores them (a PKCS#12 made by openssl? import with keytool)"
        )
    return out


def _pkcs12_fallback(data: bytes, password: bytes, source: str, why: str) -> Keystore:
    """OpenSSL decodes; attributes are unknown, so assume keytool-made trust entries."""
    from cryptography.hazmat.primitives.serialization import Encoding, pkcs12

    _no_nul(password, source)
    try:
        p12 = pkcs12.load_pkcs12(data, password)
    except (ValueError, TypeError):
        raise InputError(
            f"{source}: PKCS#12 could not be read: wrong password or corrupt"
        ) from None

    def der(c: Any) -> bytes:
        return c.certificate.public_bytes(Encoding.DER)  # type: ignore[no-any-return]

    def name(c: Any, default: str) -> str:
        fn: bytes | None = c.friendly_name
        return fn.decode("utf-8", "replace") if fn else default

    entries: list[KeystoreEntry] = []
    chain_subjects: set[bytes] = set()
    try:
        if p12.cert is not None:
            alias = name(p12.cert, "(unnamed key)")
            entries.append(KeystoreEntry(alias, der(p12.cert), True, "key-chain"))
            cert = p12.cert.certificate
            by_subject = {c.certificate.subject.public_bytes(): c for c in p12.additional_certs}
            for _ in range(32):
                if cert.issuer == cert.subject:
                    break
                nxt = by_subject.get(cert.issuer.public_bytes())
                if nxt is None:
                    break
                chain_subjects.add(cert.issuer.public_bytes())
                cert = nxt.certificate
        for c in p12.additional_certs:
            if c.certificate.subject.public_bytes() in chain_subjects:
                entries.append(KeystoreEntry(name(c, "(chain)"), der(c), False, "key-chain"))
            else:
                entries.append(KeystoreEntry(name(c, "(unnamed)"), der(c), True, "trusted-cert"))
    except Exception:  # malformed names raise ValueError, TypeError...
        raise InputError(f"{source}: PKCS#12 holds a certificate that does not parse") from None
    warning = (
        f"PKCS#12 bag attributes not readable ({why}); assumed every certificate outside "
        f"the key chain is a Java trusted entry"
    )
    return Keystore("pkcs12", tuple(entries), True, (warning,))
