"""How each client reads a PEM file: the same bytes, four different answers.

The tolerant scanner in :mod:`trustdoctor.model.pem` is right for pasted
text; a trust-store file must be read the way the *client* reads it:

* Go ``AppendCertsFromPEM`` (crypto/x509/cert_pool.go, encoding/pem/pem.go):
  every block whose type is exactly ``CERTIFICATE`` and that has no headers;
  a broken block is skipped and the scan resumes after its BEGIN line;
  ``TRUSTED CERTIFICATE`` and DER are ignored.
* OpenSSL CAfile (``X509_load_cert_crl_file_ex`` → ``PEM_X509_INFO_read_bio_ex``,
  crypto/x509/by_file.c, crypto/pem/pem_info.c): ``CERTIFICATE``,
  ``X509 CERTIFICATE`` and ``TRUSTED CERTIFICATE`` are loaded, but *one*
  broken block anywhere (bad base64, missing END, a certificate that does not
  parse, an encrypted certificate) makes the whole file load nothing.
  Checked with OpenSSL 3.0.19: ``SSL_CERT_FILE`` with a broken block in the
  middle gives an empty store.
* OpenSSL CApath file (``X509_load_cert_file_ex``, by_file.c): certificates
  are read in order (``PEM_read_bio_X509_AUX``: the three labels above) until
  the first error; those read before the error are kept.
* Node ``NODE_EXTRA_CA_CERTS`` (src/crypto/crypto_context.cc
  ``AddCertsFromFile`` → ``PEM_read_bio_X509``): like a CApath file, but
  ``TRUSTED CERTIFICATE`` blocks are skipped (pem_lib.c ``check_pem``
  matches them only when reading "trusted" certificates).

Pure: bytes in, DER certificates out.
"""

from __future__ import annotations

import binascii
import re

from ..model.record import record

_BEGIN = re.compile(rb"^-----BEGIN ([^\r\n-][^\r\n]*?)-----[ \t\r]*$", re.M)
_WS = b" \t\r\n"  # removed from a body with bytes.translate (a regex sub was ~10x slower)

CERT_LABELS = ("CERTIFICATE", "X509 CERTIFICATE", "TRUSTED CERTIFICATE")


@record
class Block:
    """One PEM block as a strict reader sees it."""

    label: str
    der: bytes | None  # None: the base64 did not decode
    line: int  # 1-based line of BEGIN
    headers: bool  # RFC 1421 headers (``Proc-Type:``...) before the body
    complete: bool  # the matching END line was found


@record
class CertBlock:
    """A certificate a reader accepted: DER, where it was, how it was labelled."""

    der: bytes
    line: int
    index: int  # position among the blocks of the file
    label: str


_SCAN_MEMO: dict[bytes, tuple[Block, ...]] = {}
_SCAN_MEMO_BYTES = [0]


MAX_BLOCKS = 20_000  # PEM blocks looked at per file (the Mozilla bundle has ~150)


def scan(data: bytes, max_blocks: int = MAX_BLOCKS) -> tuple[Block, ...]:
    """Every PEM block, strictly (BEGIN at a line start; whitespace-only base64 body).

    Memoised by content: the same bundle is read by several client models.
    """
    if max_blocks != MAX_BLOCKS:  # (the memo holds scans of the default limit)
        return tuple(_scan(data, max_blocks))
    hit = _SCAN_MEMO.get(data)
    if hit is not None:
        return hit
    out = tuple(_scan(data, max_blocks))
    if _SCAN_MEMO_BYTES[0] + len(data) <= 128 << 20:
        _SCAN_MEMO[data] = out
        _SCAN_MEMO_BYTES[0] += len(data)
    return out


def _scan(data: bytes, max_blocks: int) -> list[Block]:
    out: list[Block] = []
    pos = 0
    n = len(data)
    line_pos, line_no = 0, 1  # lines counted incrementally: linear in the file size
    while pos < n and len(out) < max_blocks:
        m = _BEGIN.search(data, pos)
        if m is None:
            break
        label_b = m.group(1)
        line_no += data.count(b"\n", line_pos, m.start())
        line_pos = m.start()
        line = line_no
        body_start = m.end() + 1
        end_marker = b"-----END " + label_b + b"-----"
        end = data.find(end_marker, body_start)
        # Go and OpenSSL both require the END marker at a line start.
        while end > 0 and data[end - 1] != 0x0A:  # (an int: no slice per block)
            end = data.find(end_marker, end + 1)
        label = label_b.decode("latin-1")
        if end < 0:
            out.append(Block(label, None, line, False, False))
            pos = body_start  # resume after the BEGIN line, as encoding/pem does
            continue
        body = data[body_start:end]
        headers = False
        nl = body.find(b"\n")
        first_line = body if nl < 0 else body[:nl]
        if b":" in first_line:
            headers = True
            split = re.split(rb"\r?\n[ \t]*\r?\n", body, maxsplit=1)
            body = split[1] if len(split) == 2 else b""
        cleaned = body.translate(None, _WS)
        der: bytes | None
        # Base64, strictly: the alphabet, then at most two "=" (the regex
        # ``[A-Za-z0-9+/]*={0,2}``, which cost ~7 us a block).  binascii's
        # strict mode refuses any other byte, an "=" before the end and data
        # after padding, but takes three or more "=" after a complete
        # quantum: those are refused first (tests/stores/test_pemfile.py
        # compares the two on random bodies).
        if cleaned.endswith(b"==="):
            der = None
        else:
            try:
                der = binascii.a2b_base64(cleaned, strict_mode=True)
            except (binascii.Error, ValueError):
                der = None
        out.append(Block(label, der, line, headers, True))
        pos = end + len(end_marker)
    return out


def der_element(data: bytes) -> bytes | None:
    """The first DER TLV of ``data`` (a TRUSTED CERTIFICATE is a certificate + aux data)."""
    if len(data) < 2 or data[0] != 0x30:
        return None
    first = data[1]
    if first < 0x80:
        total = 2 + first
    else:
        nlen = first & 0x7F
        if nlen == 0 or nlen > 4 or len(data) < 2 + nlen:
            return None
        total = 2 + nlen + int.from_bytes(data[2 : 2 + nlen], "big")
    if total > len(data):
        return None
    return data[:total]


def looks_like_der_cert(data: bytes) -> bool:
    """A DER certificate (SEQUENCE { SEQUENCE ...) covering the whole file."""
    el = der_element(data)
    return el is not None and len(el) == len(data) and len(data) > 4 and data[2:4] != b"\x00\x00"


def go_certs(data: bytes) -> list[CertBlock]:
    """The certificates Go's ``AppendCertsFromPEM`` would take (parse check left to the caller)."""
    return [
        CertBlock(b.der, b.line, i, b.label)
        for i, b in enumerate(scan(data))
        if b.label == "CERTIFICATE" and not b.headers and b.complete and b.der
    ]


@record
class Problem:
    """Why OpenSSL's PEM reader stops: a stable code and the line of the block.

    Codes: ``pem-no-end``, ``pem-invalid-base64``, ``pem-headers``, ``not-der``,
    ``does-not-parse`` (a certificate that does not parse, found by the
    caller), ``no-certificate``.  Findings carry them as ``reason``/``line``
    (their words: render/words.py REASONS under ``unreadable-file``).
    """

    code: str
    line: int | None = None

    @property
    def detail(self) -> str:
        """The words for a source's ``detail`` (free text, like every source detail)."""
        return PROBLEM_DETAIL[self.code].format(line=self.line)


# Source-detail words of each problem (the same as render/words.py REASONS,
# which tests/test_params_are_data.py checks).
PROBLEM_DETAIL: dict[str, str] = {
    "pem-no-end": "PEM block at line {line} has no END line",
    "pem-invalid-base64": "PEM block at line {line} has invalid base64",
    "pem-headers": "certificate at line {line} has PEM headers",
    "not-der": "certificate at line {line} is not DER",
    "does-not-parse": "certificate at line {line} does not parse",
    "no-certificate": "no certificate found",
}
NO_CERTIFICATE = Problem("no-certificate")


def _openssl_block(b: Block, index: int, labels: tuple[str, ...]) -> CertBlock | Problem | None:
    """One block as OpenSSL's PEM reader takes it: a certificate, the problem that
    stops the reading, or ``None`` (another label, skipped)."""
    if not b.complete:
        return Problem("pem-no-end", b.line)
    if b.der is None:
        return Problem("pem-invalid-base64", b.line)
    if b.label not in labels:
        return None
    if b.headers:
        return Problem("pem-headers", b.line)
    der = der_element(b.der) if b.label == "TRUSTED CERTIFICATE" else b.der
    if not der:
        return Problem("not-der", b.line)
    return CertBlock(der, b.line, index, b.label)


def openssl_cafile(data: bytes) -> tuple[list[CertBlock], Problem | None]:
    """OpenSSL CAfile semantics: every certificate, or nothing and the reason.

    Certificate DER validity is checked by the caller (a block that does not
    parse also voids the file): this returns the candidates and a reason only
    for the structural failures it can see.
    """
    certs: list[CertBlock] = []
    for i, b in enumerate(scan(data)):
        got = _openssl_block(b, i, CERT_LABELS)
        if isinstance(got, Problem):
            return [], got
        if got is not None:
            certs.append(got)
    if not certs:
        return [], NO_CERTIFICATE
    return certs, None


def openssl_sequential(
    data: bytes, *, trusted: bool = True
) -> tuple[list[CertBlock], Problem | None]:
    """OpenSSL ``PEM_read_bio_X509[_AUX]`` loop: certificates until the first error.

    ``trusted=False`` is ``PEM_read_bio_X509`` (Node's extra CA file): only
    ``CERTIFICATE`` and ``X509 CERTIFICATE`` blocks match.
    """
    labels = CERT_LABELS if trusted else CERT_LABELS[:2]
    certs: list[CertBlock] = []
    for i, b in enumerate(scan(data)):
        got = _openssl_block(b, i, labels)
        if isinstance(got, Problem):
            return certs, got
        if got is not None:
            certs.append(got)
    if not certs:
        return certs, NO_CERTIFICATE
    return certs, None


def truncated(data: bytes) -> bool:
    """More PEM blocks than :data:`MAX_BLOCKS`: the rest of the file was not looked at."""
    return len(scan(data)) >= MAX_BLOCKS
