"""Cross-check with cryptography's RFC 5280 / CA/B Forum verifier (pure).

The ``webpki`` policy is our own path analysis *plus* this verifier: it
catches profile rules we do not model one by one (serial number encoding,
extension criticality, AKI/SKI shape...).  Its message is mapped to our most
specific code (pylibs.md §1.2 lists the texts); unmapped texts become
``strict-profile`` with the verifier's words in ``params.detail``.
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Sequence

from ..model.cert import CertInfo
from ..model.findings import Code
from .hostnames import is_ip

# Substring of cryptography's VerificationError -> (code, rule).  Order matters:
# first match wins.  Substrings rather than whole texts: the wording moved
# between cryptography 43, 44 and 45 (pylibs.md §1.4).
MESSAGE_MAP: tuple[tuple[str, Code, str], ...] = (
    ("not valid at validation time", Code.EXPIRED, "validity"),
    ("basicConstraints.cA must be asserted", Code.NOT_A_CA, "ca-false"),
    ("basicConstraints.cA must not be asserted", Code.WRONG_USAGE, "ca-as-leaf"),
    ("keyCertSign must be asserted", Code.NOT_A_CA, "no-key-cert-sign"),
    ("CA certificate has no basicConstraints", Code.NOT_A_CA, "no-basic-constraints"),
    ("path length constraint violated", Code.PATH_TOO_LONG, "path-length"),
    ("exceeds max depth", Code.PATH_TOO_LONG, "max-depth"),
    ("name constraint", Code.NAME_CONSTRAINTS, "name-constraints"),
    ("required EKU not found", Code.WRONG_USAGE, "eku"),
    ("signature does not match", Code.BAD_SIGNATURE, "signature"),
    ("key is too weak", Code.WEAK_KEY, "key-size"),
    ("Forbidden public key algorithm", Code.WEAK_KEY, "key-algorithm"),
    ("Forbidden signature algorithm", Code.INSECURE_ALGORITHM, "signature-algorithm"),
    ("unaccounted-for critical extensions", Code.UNHANDLED_CRITICAL_EXTENSION, "critical"),
    ("no matching subjectAltName", Code.HOSTNAME_MISMATCH, "san"),
    ("has no subjectAltName", Code.HOSTNAME_MISMATCH, "no-san"),
    ("2.5.29.30: Certificate contains prohibited", Code.STRICT_PROFILE, "name-constraints-on-leaf"),
    ("prohibited extension", Code.STRICT_PROFILE, "prohibited-extension"),
    ("2.5.29.35", Code.STRICT_PROFILE, "authority-key-identifier"),
    ("authorityKeyIdentifier", Code.STRICT_PROFILE, "authority-key-identifier"),
    ("2.5.29.14", Code.STRICT_PROFILE, "subject-key-identifier"),
    ("serial", Code.STRICT_PROFILE, "serial-number"),
    ("X509v3", Code.STRICT_PROFILE, "version"),
    ("Issuer", Code.STRICT_PROFILE, "issuer-name"),
    ("subjectAltName", Code.STRICT_PROFILE, "subject-alt-name"),
    ("keyUsage", Code.STRICT_PROFILE, "key-usage"),
    ("criticality", Code.STRICT_PROFILE, "criticality"),
    ("duplicate extension", Code.STRICT_PROFILE, "duplicate-extension"),
    ("mismatch between signatureAlgorithm", Code.STRICT_PROFILE, "signature-algorithm-mismatch"),
    ("malformed", Code.STRICT_PROFILE, "malformed"),
    ("ASN.1", Code.STRICT_PROFILE, "asn1"),
    ("maximum signature check limit", Code.PATH_TOO_LONG, "signature-budget"),
    ("all candidates exhausted with no interior errors", Code.UNTRUSTED_ROOT, "no-anchor"),
)


def map_message(message: str) -> tuple[Code, str]:
    for needle, code, rule in MESSAGE_MAP:
        if needle in message:
            return code, rule
    return Code.STRICT_PROFILE, "other"


def webpki_verify(
    leaf: CertInfo,
    intermediates: Sequence[CertInfo],
    anchors: Sequence[CertInfo],
    *,
    host: str | None,
    at: dt.datetime,
    max_chain_depth: int | None = None,
) -> str | None:
    """Run cryptography's verifier; return its error text, or None if it accepts.

    Returns ``"unsupported: ..."`` when the verifier cannot be run for these
    inputs (no anchors, a host name it cannot express such as one with ``_``).
    """
    from cryptography import x509
    from cryptography.x509 import verification as v

    def load(c: CertInfo) -> x509.Certificate | None:
        try:
            with warnings.catch_warnings():
                # A serial that is not positive: the rules report it themselves.
                warnings.simplefilter("ignore")
                return x509.load_der_x509_certificate(c.der)
        except (ValueError, x509.InvalidVersion):  # refused by cryptography: not checked
            return None

    peer = load(leaf)
    roots = [r for r in map(load, anchors) if r is not None]
    if peer is None or not roots:
        return "unsupported: no anchors"
    try:
        store = v.Store(roots)
        builder = v.PolicyBuilder().store(store).time(at)
        if max_chain_depth is not None:
            builder = builder.max_chain_depth(max_chain_depth)
        subject: x509.DNSName | x509.IPAddress
        if host is None:
            # A client verifier would demand clientAuth: nothing to compare.
            return "unsupported: no peer name"
        if is_ip(host):
            import ipaddress

            subject = x509.IPAddress(ipaddress.ip_address(host.strip("[]")))
        else:
            subject = x509.DNSName(host)
        sv = builder.build_server_verifier(subject)
    except ValueError as exc:
        return f"unsupported: {exc}"
    try:
        sv.verify(peer, [c for c in map(load, intermediates) if c is not None])
    except v.VerificationError as exc:
        return str(exc)
    return None
