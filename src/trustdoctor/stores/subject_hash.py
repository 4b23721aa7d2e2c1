"""OpenSSL's subject-name hash: the ``XXXXXXXX`` of a CApath ``XXXXXXXX.0`` link.

``X509_NAME_hash_ex`` (crypto/x509/x509_cmp.c) is the SHA-1 of the *canonical*
encoding of the name, first four bytes read little-endian.  The canonical
encoding (crypto/x509/x_name.c ``x509_name_canon`` / ``asn1_string_canon``):

* each RDN is re-encoded as a DER ``SET OF`` (members sorted), and the SETs are
  concatenated *without* the outer ``SEQUENCE`` header;
* every value whose type is UTF8String, BMPString, UniversalString,
  PrintableString, T61String, IA5String or VisibleString becomes a UTF8String
  (``ASN1_STRING_to_UTF8``: 1-byte types are read as Latin-1) with leading and
  trailing ASCII whitespace removed, inner runs of whitespace collapsed to one
  space and ASCII letters lower-cased; other types are copied unchanged;
* an empty name hashes the empty string.

This is what ``openssl x509 -subject_hash`` prints and what ``openssl rehash``
names links after; tests check it against the real ``openssl`` binary.
Pure.
"""

from __future__ import annotations

from ..model import digest

# Universal tags of the string types OpenSSL canonicalises (ASN1_MASK_CANON).
_UTF8, _PRINTABLE, _T61, _IA5, _UNIVERSAL, _VISIBLE, _BMP = 0x0C, 0x13, 0x14, 0x16, 0x1C, 0x1A, 0x1E
_CANON_TAGS = {_UTF8, _PRINTABLE, _T61, _IA5, _UNIVERSAL, _VISIBLE, _BMP}
_SPACE = b" \t\n\v\f\r"  # ossl_isspace


class NameError_(ValueError):
    """The DER is not a Name OpenSSL could canonicalise."""


def _tlv(data: bytes, pos: int) -> tuple[int, int, int]:
    """(tag, content_start, content_end) of the TLV at ``pos``."""
    if pos + 2 > len(data):
        raise NameError_("truncated TLV")
    tag = data[pos]
    first = data[pos + 1]
    if first < 0x80:
        start, length = pos + 2, first
    else:
        n = first & 0x7F
        if n == 0 or n > 4 or pos + 2 + n > len(data):
            raise NameError_("bad length")
        length = int.from_bytes(data[pos + 2 : pos + 2 + n], "big")
        start = pos + 2 + n
    end = start + length
    if end > len(data):
        raise NameError_("truncated value")
    return tag, start, end


def _len(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw


def _canon_value(tag: int, content: bytes, raw: bytes) -> bytes:
    if tag not in _CANON_TAGS:
        return raw
    try:
        if tag == _UTF8:
            text = content.decode("utf-8")
        elif tag == _BMP:
            text = content.decode("utf-16-be")
        elif tag == _UNIVERSAL:
            text = content.decode("utf-32-be")
        else:
            text = content.decode("latin-1")
    except UnicodeDecodeError as exc:
        raise NameError_("undecodable string") from exc
    # bytes.split() splits at runs of exactly the six ossl_isspace bytes and
    # drops them at both ends; bytes.lower() lower-cases A-Z only (the bytes
    # of a multi-byte UTF-8 character are all >= 0x80: left as they are).
    out = b" ".join(text.encode("utf-8").split()).lower()
    return bytes([_UTF8]) + _len(len(out)) + out


def canonical_encoding(name_der: bytes) -> bytes:
    """The canonical encoding OpenSSL hashes (concatenated, re-encoded RDN SETs)."""
    tag, start, end = _tlv(name_der, 0)
    if tag != 0x30:
        raise NameError_("not a SEQUENCE")
    out = bytearray()
    pos = start
    while pos < end:
        stag, sstart, send = _tlv(name_der, pos)
        if stag != 0x31:
            raise NameError_("RDN is not a SET")
        members: list[bytes] = []
        apos = sstart
        while apos < send:
            atag, astart, aend = _tlv(name_der, apos)
            if atag != 0x30:
                raise NameError_("attribute is not a SEQUENCE")
            otag, _ostart, oend = _tlv(name_der, astart)
            if otag != 0x06:
                raise NameError_("attribute type is not an OID")
            oid = name_der[astart:oend]
            vtag, vstart, vend = _tlv(name_der, oend)
            value = _canon_value(vtag, name_der[vstart:vend], name_der[oend:vend])
            body = oid + value
            members.append(b"\x30" + _len(len(body)) + body)
            apos = aend
        members.sort()  # DER SET OF: members in ascending order of their encodings
        set_body = b"".join(members)
        out += b"\x31" + _len(len(set_body)) + set_body
        pos = send
    return bytes(out)


def subject_hash(name_der: bytes) -> str | None:
    """``openssl x509 -subject_hash`` of a DER-encoded Name, as 8 lower-case hex digits.

    ``None`` when OpenSSL could not canonicalise the name either (it then
    cannot be found in a CApath directory at all).
    """
    if name_der in _MEMO:
        return _MEMO[name_der]
    try:
        canon = canonical_encoding(name_der)
    except NameError_:
        out = None
    else:
        md = digest.sha1(canon).digest()
        out = f"{md[0] | (md[1] << 8) | (md[2] << 16) | (md[3] << 24):08x}"
    if len(_MEMO) < 100_000:
        _MEMO[name_der] = out
    return out


_MEMO: dict[bytes, str | None] = {}
