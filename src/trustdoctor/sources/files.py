"""Certificates from files and stdin, in every encoding people paste.

Recognised: PEM with any text around it (an ``openssl s_client -showcerts``
transcript, a log, a YAML file), base64 of a PEM (a Kubernetes secret's
``tls.crt:``), DER, PKCS#7 (PEM or DER), PKCS#12 (no password or a given
one) and ``TRUSTED CERTIFICATE`` blocks (loaded, and marked: Go ignores them,
crypto/x509/cert_pool.go).  Anything else is a one-line :class:`InputError`
naming the file and what was found; a private key is reported as a key and
never echoed.
"""

from __future__ import annotations

import binascii
import errno
import os
import re
import stat
import sys
from collections.abc import Sequence

from ..errors import InputError, PrivateKeyInput
from ..model.cert import CertInfo, Provenance, from_certificate, parse_certificate
from ..model.diagnosis import PresentedCert
from ..model.pem import PRIVATE_KEY_LABELS, iter_pem_blocks, pem_encode
from ..model.record import record

TYPE_CHECKING = False  # typing's constant, without importing typing (model/record.py)
if TYPE_CHECKING:
    from typing import BinaryIO

    from cryptography import x509

MAX_INPUT_BYTES = 16 * 1024 * 1024  # a bundle of every public root is ~250 KB
MAX_CERTS = 5000

CERT_LABELS = {"CERTIFICATE", "X509 CERTIFICATE", "TRUSTED CERTIFICATE"}
PKCS7_LABELS = {"PKCS7", "PKCS #7 SIGNED DATA", "CMS"}
OTHER_LABELS = {
    "CERTIFICATE REQUEST": "a certificate signing request (CSR)",
    "NEW CERTIFICATE REQUEST": "a certificate signing request (CSR)",
    "PUBLIC KEY": "a public key",
    "RSA PUBLIC KEY": "a public key",
    "X509 CRL": "a certificate revocation list",
    "EC PARAMETERS": "EC parameters",
    "DH PARAMETERS": "DH parameters",
}

# base64 runs long enough to hold a certificate (a YAML/JSON value, a secret).
_B64_RUN = re.compile(rb"[A-Za-z0-9+/]{60,}={0,2}")


@record
class Loaded:
    """What one input yielded."""

    certs: tuple[PresentedCert, ...]
    notes: tuple[str, ...]  # e.g. "skipped a private key at line 30 (not shown)"


def read_source(path: str, *, stdin: object = None, max_bytes: int = MAX_INPUT_BYTES) -> bytes:
    """Read a file or ``-`` (stdin) with a size limit (I/O edge)."""
    if path == "-":
        stream = stdin if stdin is not None else sys.stdin.buffer
        data = stream.read(max_bytes + 1)  # type: ignore[union-attr]
        if not isinstance(data, bytes):
            data = str(data).encode()
        name = "stdin"
    else:
        name = path
        data = read_file(
            path, max_bytes, name=name, dir_msg="is a directory, not a certificate file"
        )
    if len(data) > max_bytes:
        mib, kib = max_bytes // (1024 * 1024), max_bytes // 1024
        limit = f"{mib} MiB" if mib else f"{kib} KiB"  # not "0 MiB" for small limits
        raise InputError(f"{name}: larger than {limit}; not a certificate input")
    return data


# The errors pathlib's is_dir() answers False for (a path that does not lead
# anywhere); any other OSError is raised (CPython 3.11 Lib/pathlib.py
# _IGNORED_ERRNOS).  pathlib itself is not imported on the way to an answer:
# with urllib.parse it is ~3 ms of a cold start.
_NOT_THERE = frozenset({errno.ENOENT, errno.ENOTDIR, errno.EBADF, errno.ELOOP})


def is_dir(path: str) -> bool:
    """``pathlib.Path(path).is_dir()``, without pathlib."""
    try:
        return stat.S_ISDIR(os.stat(path).st_mode)
    except OSError as exc:
        if exc.errno not in _NOT_THERE:
            raise
        return False
    except ValueError:  # an embedded NUL
        return False


def read_file(path: str, max_bytes: int, *, name: str, dir_msg: str) -> bytes:
    """At most ``max_bytes + 1`` bytes of the file ``path`` (I/O edge; the caller checks the size).

    Every failure is a one-line :class:`InputError` starting with ``name``
    (``dir_msg`` for a directory).
    """
    try:
        if is_dir(path):
            raise InputError(f"{name}: {dir_msg}")
        # O_NONBLOCK so that opening a FIFO nobody writes to cannot hang
        # (reads then see EOF); blocking again for the read itself.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        os.set_blocking(fd, True)
        with open(fd, "rb") as fh:
            return fh.read(max_bytes + 1)
    except FileNotFoundError:
        raise InputError(f"{name}: no such file") from None
    except PermissionError:
        raise InputError(f"{name}: permission denied") from None
    except OSError as exc:
        raise InputError(f"{name}: cannot read ({exc.strerror or exc})") from None


def _der_length(data: bytes) -> int | None:
    """Total length of the DER element at the start of ``data``."""
    if len(data) < 2 or data[0] != 0x30:
        return None
    first = data[1]
    if first < 0x80:
        return 2 + first
    n = first & 0x7F
    if n == 0 or n > 4 or len(data) < 2 + n:
        return None
    return 2 + n + int.from_bytes(data[2 : 2 + n], "big")


def _parse_der_cert(der: bytes, *, trusted: bool = False) -> CertInfo | ValueError:
    """The certificate ``der`` starts with, or why it is not one.  A TRUSTED
    CERTIFICATE block is the certificate's DER followed by OpenSSL's trust data."""
    length = _der_length(der)
    if length is None or length > len(der):
        return ValueError("not DER")
    try:
        return parse_certificate(der[:length], trusted_block=trusted)
    except ValueError as exc:
        return exc


def _from_loaded(c: x509.Certificate, name: str, prov: Provenance) -> CertInfo:
    """A certificate of a PKCS#7 or PKCS#12 bundle."""
    try:
        return from_certificate(c)
    except ValueError as exc:
        where = prov.label()
        raise InputError(f"{name}: the certificate {where} cannot be parsed ({exc})") from None


def _pkcs7(data: bytes, pem: bool) -> list[x509.Certificate] | None:
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives.serialization import pkcs7

    try:
        if pem:
            return list(pkcs7.load_pem_pkcs7_certificates(data))
        return list(pkcs7.load_der_pkcs7_certificates(data))
    except (ValueError, TypeError, UnsupportedAlgorithm):  # the last: not signedData
        return None


def _is_der_private_key(data: bytes) -> bool:
    from cryptography.hazmat.primitives import serialization

    try:
        serialization.load_der_private_key(data, password=None)
    except TypeError:
        return True  # encrypted key: "password was not given"
    except Exception:
        return False
    return True


def load_bytes(data: bytes, name: str, *, password: bytes | None = None) -> Loaded:
    """Parse ``data`` (the content of ``name``) into certificates."""
    if not data.strip():
        raise InputError(f"{name}: empty input, no certificate")
    certs: list[PresentedCert] = []
    notes: list[str] = []
    if b"-----BEGIN " in data:
        _from_pem(data, name, certs, notes, detail_prefix="")
        if not certs:
            _raise_nothing(name, notes, pem=True)
    else:
        try:
            decoded = _from_base64_text(data)
        except InputError as exc:
            raise InputError(f"{name}: {exc.message}") from None
        if decoded is not None:
            inner = load_bytes(decoded, name, password=password)
            return Loaded(
                tuple(
                    PresentedCert(
                        p.cert,
                        Provenance(name, p.provenance.index, None, f"base64-{p.provenance.detail}"),
                    )
                    for p in inner.certs
                ),
                inner.notes,
            )
        _from_binary(data, name, password, certs, notes)
    _refuse_too_many(name, certs)
    return Loaded(tuple(certs), tuple(notes))


def _refuse_too_many(name: str, certs: Sequence[PresentedCert]) -> None:
    if len(certs) > MAX_CERTS:
        raise InputError(f"{name}: more than {MAX_CERTS} certificates; refusing to load")


def _from_pem(
    data: bytes,
    name: str,
    certs: list[PresentedCert],
    notes: list[str],
    detail_prefix: str,
) -> None:
    for block in iter_pem_blocks(data):
        _refuse_too_many(name, certs)  # as soon as it is known, not after parsing all
        if block.label in CERT_LABELS:
            if block.broken:
                raise InputError(
                    f"{name}: truncated or corrupt {block.label} block at line {block.line}"
                )
            trusted = block.label == "TRUSTED CERTIFICATE"
            cert = _parse_der_cert(block.data, trusted=trusted)
            if isinstance(cert, ValueError):
                raise InputError(
                    f"{name}: {block.label} block at line {block.line} is not a valid"
                    f" certificate ({cert})"
                )
            detail = "trusted-certificate" if trusted else "pem"
            prov = Provenance(name, len(certs), block.line, detail_prefix + detail)
            certs.append(PresentedCert(cert, prov))
        elif block.label in PKCS7_LABELS:
            found = _pkcs7(block.data, pem=False) if not block.broken else None
            if found is None:
                raise InputError(f"{name}: corrupt PKCS#7 block at line {block.line}")
            for c in found:
                prov = Provenance(name, len(certs), block.line, "pkcs7")
                certs.append(PresentedCert(_from_loaded(c, name, prov), prov))
        elif block.label in PRIVATE_KEY_LABELS or block.label.endswith("PRIVATE KEY"):
            notes.append(f"skipped a private key at line {block.line} (not shown)")
        elif block.label in OTHER_LABELS:
            notes.append(f"skipped {OTHER_LABELS[block.label]} at line {block.line}")
        else:
            notes.append(f"skipped a {block.label} block at line {block.line}")


def _raise_nothing(name: str, notes: Sequence[str], *, pem: bool) -> None:
    if any("private key" in n for n in notes):
        raise PrivateKeyInput(
            f"{name}: contains a private key, not a certificate (the key is not shown)"
        )
    for what in OTHER_LABELS.values():
        if any(what in n for n in notes):
            raise InputError(f"{name}: contains {what}, not a certificate")
    raise InputError(f"{name}: no certificate found in the PEM blocks")


def _from_base64_text(data: bytes) -> bytes | None:
    """Decode a base64-wrapped PEM or DER certificate found in text, if any.

    Two shapes: the whole document is base64 (wrapped or not), or base64
    values sit inside text (``tls.crt: LS0t...`` in a Secret, JSON).
    """
    if b"\x00" in data[:4096]:
        return None
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    joined = b"".join(data.split())
    if len(joined) >= 60 and re.fullmatch(rb"[A-Za-z0-9+/]+={0,2}", joined):
        try:
            raw = binascii.a2b_base64(joined, strict_mode=True)
        except (binascii.Error, ValueError):
            raise InputError("truncated or corrupt base64 input") from None
        return _as_pem(raw)
    pems = [p for p in (_as_pem(_b64(m.group(0))) for m in _B64_RUN.finditer(data)) if p]
    return b"\n".join(pems) if pems else None


def _b64(token: bytes) -> bytes:
    try:
        return binascii.a2b_base64(token + b"=" * (-len(token) % 4), strict_mode=True)
    except (binascii.Error, ValueError):
        return b""


def _as_pem(raw: bytes) -> bytes | None:
    if raw.lstrip().startswith(b"-----BEGIN"):
        return raw
    if (
        raw[:1] == b"\x30"
        and _der_length(raw) == len(raw)
        and not isinstance(_parse_der_cert(raw), ValueError)
    ):
        return pem_encode(raw)
    return None


def _from_binary(
    data: bytes,
    name: str,
    password: bytes | None,
    certs: list[PresentedCert],
    notes: list[str],
) -> None:
    length = _der_length(data)
    if length is not None and length == len(data):
        cert = _parse_der_cert(data)
        if not isinstance(cert, ValueError):
            certs.append(PresentedCert(cert, Provenance(name, 0, None, "der")))
            return
        p7 = _pkcs7(data, pem=False)
        if p7:
            for c in p7:
                prov = Provenance(name, len(certs), None, "pkcs7")
                certs.append(PresentedCert(_from_loaded(c, name, prov), prov))
            return
        if _is_der_private_key(data):
            raise PrivateKeyInput(f"{name}: is a DER private key, not a certificate (not shown)")
    if data[:1] == b"\x30":
        if _pkcs12(data, name, password, certs):
            return
        if length is not None and length > len(data):
            raise InputError(f"{name}: truncated DER data ({len(data)} of {length} bytes)")
    kind = "text" if _mostly_text(data) else "binary data"
    raise InputError(f"{name}: no certificate found ({kind}, {len(data)} bytes)")


def _pkcs12(
    data: bytes,
    name: str,
    password: bytes | None,
    certs: list[PresentedCert],
) -> bool:
    from cryptography.hazmat.primitives.serialization import pkcs12

    if password is not None and b"\x00" in password:
        # cryptography panics (a BaseException) on a NUL in the password.
        if _looks_like_pkcs12(data):
            raise InputError(f"{name}: the PKCS#12 password contains a NUL byte; none can")
        return False
    tries = [password] if password is not None else [None, b""]
    last: Exception | None = None
    for pw in tries:
        try:
            p12 = pkcs12.load_pkcs12(data, pw)
        except ValueError as exc:
            last = exc
            continue
        except Exception as exc:  # unsupported algorithms in legacy files
            last = exc
            continue
        found = ([p12.cert] if p12.cert is not None else []) + list(p12.additional_certs)
        for item in found:
            prov = Provenance(name, len(certs), None, "pkcs12")
            certs.append(PresentedCert(_from_loaded(item.certificate, name, prov), prov))
        if not certs:
            raise InputError(f"{name}: PKCS#12 file holds no certificate")
        return True
    if last is not None and _looks_like_pkcs12(data):
        if password is None:
            raise InputError(
                f"{name}: PKCS#12 file is password-protected; give --password or --password-file"
            )
        raise InputError(f"{name}: wrong PKCS#12 password or corrupt PKCS#12 data")
    return False


def _looks_like_pkcs12(data: bytes) -> bool:
    # PFX ::= SEQUENCE { version INTEGER (3), authSafe ContentInfo, ... }
    length = _der_length(data)
    if length is None:
        return False
    hdr = 2 if data[1] < 0x80 else 2 + (data[1] & 0x7F)
    return data[hdr : hdr + 3] == b"\x02\x01\x03"


def _mostly_text(data: bytes) -> bool:
    sample = data[:4096]
    printable = sum(1 for b in sample if 32 <= b < 127 or b in (9, 10, 13))
    return printable >= 0.9 * len(sample)


def load_paths(
    paths: Sequence[str], *, password: bytes | None = None, stdin: object = None
) -> list[Loaded]:
    """Load every path (``-`` is stdin) in order."""
    out = []
    for p in paths:
        data = read_source(p, stdin=stdin)
        out.append(load_bytes(data, "stdin" if p == "-" else p, password=password))
    return out


def certs_of(loaded: Sequence[Loaded]) -> list[CertInfo]:
    return [pc.cert for item in loaded for pc in item.certs]


# -- logs (for explain) -------------------------------------------------------------


def _is_devnull(st: os.stat_result) -> bool:
    try:
        null = os.stat(os.devnull)
    except OSError:
        return False
    return (st.st_dev, st.st_ino, st.st_rdev) == (null.st_dev, null.st_ino, null.st_rdev)


def open_log(path: str) -> BinaryIO:
    """Open a log file for streaming; a one-line :class:`InputError` if impossible."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from None
    if stat.S_ISDIR(st.st_mode):
        raise InputError(f"{path}: is a directory, not a log file")
    if (stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode)) and not _is_devnull(st):
        # /dev/zero or /dev/urandom would stream forever; a log is a file, a
        # FIFO, stdin — or /dev/null, which is simply empty.
        raise InputError(f"{path}: is a device, not a log file")
    try:
        # O_NONBLOCK: opening a FIFO nobody writes to must not hang (reads then
        # see EOF); the reads themselves block as usual.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        os.set_blocking(fd, True)
        return open(fd, "rb")
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from None
