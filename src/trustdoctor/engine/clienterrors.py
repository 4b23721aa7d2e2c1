"""The error text each modelled verifier prints for a cause (pure data + format).

These are the strings users paste into search engines; showing the exact one
lets a reader match the diagnosis to their log.  Sources:
- Go: crypto/x509 verify.go / x509.go error strings (truststores.md §1.6).
- OpenSSL: verify codes and X509_verify_cert_error_string texts of OpenSSL 3.0
  (crypto/x509/x509_txt.c; numbers from include/openssl/x509_vfy.h, e.g.
  X509_V_ERR_INVALID_CA = 79), as printed by curl, Python and Node.
- webpki: cryptography's ``VerificationError`` texts (pylibs.md §1.2).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from ..clients import CLIENTS
from ..model.findings import Code, Finding
from .pathbuild import Path

TYPE_CHECKING = False  # typing's constant, without importing typing (model/record.py)
if TYPE_CHECKING:
    from ..model.cert import CertInfo
    from .osslverify import OsslError, OsslOutcome

# OpenSSL: cause -> (verify code, text).  Variants chosen from the params below.
OPENSSL_CODES: Mapping[str, tuple[int, str]] = {
    "issuer-missing": (20, "unable to get local issuer certificate"),
    "anchor-not-root": (2, "unable to get issuer certificate"),
    "self-signed-leaf": (18, "self-signed certificate"),
    "self-signed-in-chain": (19, "self-signed certificate in certificate chain"),
    Code.NOT_A_CA: (79, "invalid CA certificate"),
    Code.PATH_TOO_LONG: (25, "path length constraint exceeded"),
    Code.WRONG_USAGE: (26, "unsuitable certificate purpose"),
    Code.UNHANDLED_CRITICAL_EXTENSION: (34, "unhandled critical extension"),
    "nc-permitted": (47, "permitted subtree violation"),
    "nc-excluded": (48, "excluded subtree violation"),
    "ee-key": (66, "EE certificate key too weak"),
    "ca-key": (67, "CA certificate key too weak"),
    Code.INSECURE_ALGORITHM: (68, "CA signature digest algorithm too weak"),
    Code.BAD_SIGNATURE: (7, "certificate signature failure"),
    Code.EXPIRED: (10, "certificate has expired"),
    Code.NOT_YET_VALID: (9, "certificate is not yet valid"),
    "hostname": (62, "hostname mismatch"),
    "ip": (64, "IP address mismatch"),
}

GO_UNKNOWN_AUTHORITY = "x509: certificate signed by unknown authority"
GO_HINT = ' (possibly because of "{hint}" while trying to verify candidate authority certificate "{name}")'
GO_TEXTS: Mapping[str, str] = {
    "parent-cannot-sign": "x509: invalid signature: parent certificate cannot sign this kind of certificate",
    "v1-intermediate": "x509: certificate is not authorized to sign other certificates",
    Code.EXPIRED: "x509: certificate has expired or is not yet valid: current time {at} is after {limit}",
    Code.NOT_YET_VALID: "x509: certificate has expired or is not yet valid: current time {at} is before {limit}",
    Code.PATH_TOO_LONG: "x509: too many intermediates for path length constraint",
    Code.WRONG_USAGE: "x509: certificate specifies an incompatible key usage",
    Code.UNHANDLED_CRITICAL_EXTENSION: "x509: unhandled critical extension",
    "nc-excluded": 'x509: a root or intermediate certificate is not authorized to sign for this name: {kind} name "{name}" is excluded by constraint "{constraint}"',
    "nc-permitted": 'x509: a root or intermediate certificate is not authorized to sign for this name: {kind} name "{name}" is not permitted by any constraint',
    "sha1": "x509: cannot verify signature: insecure algorithm {algo}",
    "md5": "x509: cannot verify signature: insecure algorithm {algo}",
    "bad-sig-rsa": "crypto/rsa: verification error",
    "bad-sig-ec": "x509: ECDSA verification failure",
    "host-no-match": "x509: certificate is valid for {names}, not {host}",
    "host-legacy-cn": "x509: certificate relies on legacy Common Name field, use SANs instead",
    "host-no-names": "x509: certificate is not valid for any names, but wanted to match {host}",
    "host-ip": "x509: cannot validate certificate for {host} because it doesn't contain any IP SANs",
    "host-ip-list": "x509: certificate is valid for {names}, not {host}",
}

WEBPKI_TEXTS: Mapping[str, str] = {
    "no-anchor": "validation failed: candidates exhausted: all candidates exhausted with no interior errors",
    Code.EXPIRED: "validation failed: cert is not valid at validation time",
    Code.NOT_YET_VALID: "validation failed: cert is not valid at validation time",
    Code.HOSTNAME_MISMATCH: "validation failed: leaf certificate has no matching subjectAltName",
    "no-san": "validation failed: missing required extension: leaf server certificate has no subjectAltName",
    Code.NOT_A_CA: "validation failed: candidates exhausted: basicConstraints.cA must be asserted in a CA certificate",
    "no-key-cert-sign": "validation failed: candidates exhausted: keyUsage.keyCertSign must be asserted in a CA certificate",
    Code.WRONG_USAGE: "validation failed: required EKU not found",
    Code.PATH_TOO_LONG: "validation failed: candidates exhausted: path length constraint violated",
    Code.BAD_SIGNATURE: "validation failed: candidates exhausted: signature does not match",
    Code.WEAK_KEY: "validation failed: candidates exhausted: RSA key is too weak",
    Code.UNHANDLED_CRITICAL_EXTENSION: "validation failed: certificate contains unaccounted-for critical extensions",
    Code.NAME_CONSTRAINTS: "validation failed: candidates exhausted: excluded name constraint matched SAN",
}


def _rfc3339(value: object) -> str:
    """Go prints times as RFC 3339 (``time.RFC3339``)."""
    when = value
    if isinstance(value, str):
        try:
            when = dt.datetime.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(when, dt.datetime):
        return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return str(value)


def _go_algo(hash_name: str, path: Path, depth: int) -> str:
    cert = path.certs[depth] if depth < len(path.certs) else None
    # Go's SignatureAlgorithm.String(): "SHA1-RSA", "MD5-RSA", "ECDSA-SHA1".
    if cert is not None and "ecdsa" in cert.signature_algorithm.lower():
        return f"ECDSA-{hash_name.upper()}"
    return f"{hash_name.upper()}-RSA"


# OpenSSL verify code -> the macro Node.js reports as ``err.code`` (X509_V_ERR_
# prefix dropped): node's src/crypto/crypto_common.cc CASE_X509_ERR list, which
# stops at 28 (and 62); any other code is reported as UNSPECIFIED with
# OpenSSL's text, measured with Node 20 (34 unhandled critical extension, 32
# keyCertSign, 47 permitted subtree violation: "UNSPECIFIED: ...").
NODE_CODES: Mapping[int, str] = {
    2: "UNABLE_TO_GET_ISSUER_CERT",
    3: "UNABLE_TO_GET_CRL",
    4: "UNABLE_TO_DECRYPT_CERT_SIGNATURE",
    5: "UNABLE_TO_DECRYPT_CRL_SIGNATURE",
    6: "UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY",
    7: "CERT_SIGNATURE_FAILURE",
    8: "CRL_SIGNATURE_FAILURE",
    9: "CERT_NOT_YET_VALID",
    10: "CERT_HAS_EXPIRED",
    11: "CRL_NOT_YET_VALID",
    12: "CRL_HAS_EXPIRED",
    13: "ERROR_IN_CERT_NOT_BEFORE_FIELD",
    14: "ERROR_IN_CERT_NOT_AFTER_FIELD",
    15: "ERROR_IN_CRL_LAST_UPDATE_FIELD",
    16: "ERROR_IN_CRL_NEXT_UPDATE_FIELD",
    17: "OUT_OF_MEM",
    18: "DEPTH_ZERO_SELF_SIGNED_CERT",
    19: "SELF_SIGNED_CERT_IN_CHAIN",
    20: "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
    21: "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
    22: "CERT_CHAIN_TOO_LONG",
    23: "CERT_REVOKED",
    24: "INVALID_CA",
    25: "PATH_LENGTH_EXCEEDED",
    26: "INVALID_PURPOSE",
    27: "CERT_UNTRUSTED",
    28: "CERT_REJECTED",
    62: "HOSTNAME_MISMATCH",
}

# Java (JSSE/PKIX) texts, truststores.md §3.4.
JAVA_PKIX_BUILD = (
    "PKIX path building failed: sun.security.provider.certpath.SunCertPathBuilderException: "
    "unable to find valid certification path to requested target"
)
JAVA_PKIX_VALIDATION = "PKIX path validation failed: java.security.cert.CertPathValidatorException: "
JAVA_VALIDITY = JAVA_PKIX_VALIDATION + "validity check failed"


def java_host_text(leaf: CertInfo | None, host: str) -> str:
    """sun.security.util.HostnameChecker's message (JDK 11-21) for a name mismatch.

    matchIP: no SAN at all → "No subject alternative names present"; else
    "No subject alternative names matching IP address <ip> found" (no final
    period).  matchDNS: DNS SANs present → "No subject alternative DNS name
    matching <host> found."; none → the CN is tried, then "No name matching
    <host> found".
    """
    from .hostnames import is_ip

    if is_ip(host):
        if leaf is not None and not leaf.has_san:
            return "No subject alternative names present"
        return f"No subject alternative names matching IP address {host.strip('[]')} found"
    if leaf is not None and leaf.dns_names:
        return f"No subject alternative DNS name matching {host} found."
    return f"No name matching {host} found"


def client_error(
    policy: str, f: Finding, path: Path, host: str | None, client: str | None = None
) -> str:
    """The message ``client`` (verifying with ``policy``) prints for finding ``f``.

    The wording is the client's ``texts`` style in :mod:`trustdoctor.clients`
    (curl, Python, Node and Java word OpenSSL's verify codes their own way).
    """
    text = _policy_error("openssl" if policy == "java" else policy, f, path, host)
    row = CLIENTS.get(client) if client is not None else None
    style = row.texts if row is not None else client
    if style is None or not text.startswith("verify error:num="):
        return text
    num_s, _, msg = text.removeprefix("verify error:num=").partition(":")
    num = int(num_s)
    if num == 20 and len(path.certs) == 1 and style == "node":
        # Node continues after 20 and ends on 21 for a lone leaf (§2.3).
        num, msg = 21, "unable to verify the first certificate"
    if style == "curl":
        if num in (62, 64):
            # curl 7.88 (Debian 12, Ubuntu 22.04/24.04) says "host name";
            # curl ≥ 8.x changed the text to "hostname" (truststores.md §2.5).
            return f"curl: (60) SSL: no alternative certificate subject name matches target host name '{host}'"
        return f"curl: (60) SSL certificate problem: {msg}"
    if style == "python":
        if num == 62:
            msg = f"Hostname mismatch, certificate is not valid for '{host}'."
        elif num == 64:
            msg = f"IP address mismatch, certificate is not valid for '{host}'."
        return f"[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: {msg}"
    if style == "node":
        if num in (62, 64):
            leaf = path.certs[0] if path.certs else None
            prefix = "ERR_TLS_CERT_ALTNAME_INVALID: Hostname/IP does not match certificate's altnames: "
            if num == 64:
                # Node 20, seen: "IP: 127.0.0.1 is not in the cert's list: ".
                ips = ", ".join(leaf.ip_addresses) if leaf else ""
                return f"{prefix}IP: {host} is not in the cert's list: {ips}"
            names = ", ".join(f"DNS:{n}" for n in leaf.dns_names) if leaf else ""
            return f"{prefix}Host: {host}. is not in the cert's altnames: {names}"
        return f"{NODE_CODES.get(num, 'UNSPECIFIED')}: {msg}"
    if style == "java":
        if num in (9, 10):
            return JAVA_VALIDITY
        if f.code == Code.UNHANDLED_CRITICAL_EXTENSION:
            return JAVA_PKIX_VALIDATION + "unrecognized critical extension(s)"
        if f.code == Code.NOT_A_CA:
            # PKIXCertPathValidator runs KeyChecker (a keyUsage without
            # keyCertSign) before ConstraintsChecker (no cA), measured.
            depth = f.params.get("depth")
            issuer = path.certs[depth] if isinstance(depth, int) and depth < len(path.certs) else None
            if issuer is not None and issuer.key_usage is not None and not issuer.can_sign_certs:
                return JAVA_PKIX_VALIDATION + "CA key usage check failed: keyCertSign bit is not set"
            return JAVA_PKIX_VALIDATION + "basic constraints check failed: this is not a CA certificate"
        if num == 26 and f.params.get("reason") == "no-digital-signature":
            # sun.security.validator.EndEntityChecker, for a key that signs the
            # handshake (TLS 1.3, ECDHE): the text JSSE raises, measured.
            return "KeyUsage does not allow digital signatures"
        if num in (62, 64):
            return java_host_text(path.certs[0] if path.certs else None, host or "")
        if num in (2, 18, 19, 20, 21):
            return JAVA_PKIX_BUILD
    return text


def _policy_error(policy: str, f: Finding, path: Path, host: str | None) -> str:
    p = f.params
    if policy == "go":
        return _go(f, path, host)
    if policy == "openssl":
        key: str = f.code
        if f.code in (
            Code.MISSING_INTERMEDIATE,
            Code.UNTRUSTED_ROOT,
            Code.OUTDATED_STORE,
            Code.SELF_SIGNED_LEAF,
        ):
            if f.code == Code.SELF_SIGNED_LEAF:
                key = "self-signed-leaf"
            elif p.get("anchor_not_self_signed"):
                key = "anchor-not-root"
            elif path.end == "self-signed":
                key = "self-signed-in-chain"
            else:
                key = "issuer-missing"
        elif f.code == Code.NAME_CONSTRAINTS:
            key = "nc-excluded" if p.get("kind") == "excluded" else "nc-permitted"
        elif f.code == Code.WEAK_KEY:
            key = "ee-key" if p.get("depth") == 0 else "ca-key"
        elif f.code == Code.HOSTNAME_MISMATCH:
            key = "ip" if p.get("reason") == "ip-not-in-san" else "hostname"
        elif f.code == Code.BAD_SIGNATURE and path.rejected:
            # OpenSSL's check_issued() skips a candidate whose SKI differs from
            # the child's AKI, so the issuer is simply "not found" (20).
            aki = path.top.aki
            if aki is not None and all(r.cert.ski not in (None, aki) for r in path.rejected):
                key = "issuer-missing"
        num, text = OPENSSL_CODES.get(key, (0, str(f.code)))
        return f"verify error:num={num}:{text}"
    key = f.code
    if f.code in (
        Code.MISSING_INTERMEDIATE,
        Code.UNTRUSTED_ROOT,
        Code.OUTDATED_STORE,
        Code.SELF_SIGNED_LEAF,
    ):
        key = "no-anchor"
    elif f.code == Code.HOSTNAME_MISMATCH and p.get("reason") == "no-san":
        key = "no-san"
    elif f.code == Code.NOT_A_CA and p.get("reason") == "no-key-cert-sign":
        key = "no-key-cert-sign"
    detail = p.get("detail")
    if isinstance(detail, str) and detail and "rule" in p:
        # A finding only cryptography's verifier made (engine/rules.py
        # _strict_problems): its own words, not our stand-in for the code's.
        return f"validation failed: {detail}"
    return WEBPKI_TEXTS.get(key, f"validation failed: {f.code}")


def _go(f: Finding, path: Path, host: str | None) -> str:
    p = f.params
    raw_depth = p.get("depth", 0)
    depth = raw_depth if isinstance(raw_depth, int) else 0
    hint_name = path.certs[depth].display_name if depth < len(path.certs) else ""
    if f.code in (
        Code.MISSING_INTERMEDIATE,
        Code.UNTRUSTED_ROOT,
        Code.OUTDATED_STORE,
        Code.SELF_SIGNED_LEAF,
    ):
        if path.rejected:
            r = path.rejected[0]
            hint = GO_TEXTS["bad-sig-ec"] if r.cert.key_type == "EC" else GO_TEXTS["bad-sig-rsa"]
            return GO_UNKNOWN_AUTHORITY + GO_HINT.format(hint=hint, name=r.cert.display_name)
        return GO_UNKNOWN_AUTHORITY
    if f.code == Code.BAD_SIGNATURE:
        if path.rejected:
            bad = path.rejected[0]
            hint = GO_TEXTS["bad-sig-ec"] if bad.cert.key_type == "EC" else GO_TEXTS["bad-sig-rsa"]
            return GO_UNKNOWN_AUTHORITY + GO_HINT.format(hint=hint, name=bad.cert.display_name)
        return GO_UNKNOWN_AUTHORITY
    if f.code == Code.NOT_A_CA:
        if p.get("reason") == "v1-certificate":
            return GO_TEXTS["v1-intermediate"]
        return GO_UNKNOWN_AUTHORITY + GO_HINT.format(
            hint=GO_TEXTS["parent-cannot-sign"], name=hint_name
        )
    if f.code == Code.INSECURE_ALGORITHM:
        h = str(p.get("hash", "sha1"))
        # The hint names the certificate whose signature failed: the child's
        # issuer is the candidate, so name the issuer (depth+1) when present.
        cand = path.certs[depth + 1].display_name if depth + 1 < len(path.certs) else hint_name
        hint = GO_TEXTS["sha1"].format(algo=_go_algo(h, path, depth))
        return GO_UNKNOWN_AUTHORITY + GO_HINT.format(hint=hint, name=cand)
    if f.code in (Code.EXPIRED, Code.NOT_YET_VALID):
        limit = p.get("not_after") if f.code == Code.EXPIRED else p.get("not_before")
        return GO_TEXTS[f.code].format(at=_rfc3339(p.get("at")), limit=_rfc3339(limit))
    if f.code == Code.NAME_CONSTRAINTS:
        name = str(p.get("name", ""))
        kind = "IP address" if ":" in name or name.replace(".", "").isdigit() else "DNS"
        key = "nc-excluded" if p.get("kind") == "excluded" else "nc-permitted"
        return GO_TEXTS[key].format(kind=kind, name=name, constraint=p.get("constraint", ""))
    if f.code == Code.HOSTNAME_MISMATCH:
        raw = p.get("names")
        names = [str(n) for n in raw] if isinstance(raw, list) else []
        reason = p.get("reason")
        h = host or str(p.get("host", ""))
        if reason == "legacy-cn":
            return GO_TEXTS["host-legacy-cn"]
        if reason == "ip-not-in-san":
            ips = [n for n in names if ":" in n or n.replace(".", "").isdigit()]
            if not ips:
                return GO_TEXTS["host-ip"].format(host=h)
            return GO_TEXTS["host-ip-list"].format(names=", ".join(ips), host=h)
        if not names:
            return GO_TEXTS["host-no-names"].format(host=h)
        return GO_TEXTS["host-no-match"].format(names=", ".join(names), host=h)
    if f.code in GO_TEXTS:
        return GO_TEXTS[f.code]
    if f.code == Code.WEAK_KEY:
        return GO_UNKNOWN_AUTHORITY
    return GO_UNKNOWN_AUTHORITY


# -- texts of the OpenSSL-based clients, from OpenSSL's own error list ------------------------
#
# osslverify.verify lists every error in the order OpenSSL reports them.  A
# client with OpenSSL's default verify callback stops at the first one (curl,
# Python, ``openssl verify``); Node.js's callback continues and Node reports
# the last one (src/crypto/crypto_tls.cc VerifyCallback always returns 1, the
# result is SSL_get_verify_result).  curl and Node check the host name
# themselves after the handshake; Python and openssl give it to OpenSSL
# (X509_VERIFY_PARAM_set1_host), whose check_id runs before the signature
# and validity checks.


def openssl_style(client: str | None) -> str:
    """The text style (the registry's ``texts``) of an OpenSSL-based client:
    openssl, curl, python or node."""
    row = CLIENTS.get(client) if client is not None else None
    style = row.texts if row is not None else (client or "openssl")
    return style if style in ("curl", "python", "node") else "openssl"


def host_checked_by_openssl(style: str) -> bool:
    """Whether the client hands the host name to OpenSSL (else checks it itself after)."""
    return style in ("openssl", "python")


# Whether a wildcard may be part of the left-most label (``f*.example.com``
# matching ``foo.example.com``), per text style; measured against the real
# clients (tests/network/test_diagnose_oracles.py): OpenSSL's X509_check_host
# with flags 0 (openssl s_client -verify_hostname) and Node (lib/tls.js
# check(): a '*' anywhere in the first label) accept it; CPython sets
# X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS (Modules/_ssl.c, the context's default
# host flags) and curl's own check (lib/vtls/hostcheck.c) wants "*." as the
# whole first label.
PARTIAL_WILDCARDS: Mapping[str, bool] = {"openssl": True, "node": True, "python": False, "curl": False}

# Whether the subject CN still names the host when the certificate has an IP
# address SAN but no DNS one: OpenSSL counts only SANs of the type asked for
# (v3_utl.c do_x509_check), Node only DNS names (lib/tls.js); curl's own
# check (lib/vtls/openssl.c ossl_verifyhost) takes the CN only when there is
# neither a DNS nor an IP SAN.  Measured with a certificate for an IP only.
CN_BESIDE_IP_SANS: Mapping[str, bool] = {"openssl": True, "node": True, "python": True, "curl": False}


def _curl_host_text(host: str, version: str | None) -> str:
    from .versions import settings

    word = str(settings("curl", version).get("hostname_word", "hostname"))
    return f"curl: (60) SSL: no alternative certificate subject name matches target {word} '{host}'"


def openssl_style_text(
    style: str,
    outcome: OsslOutcome,
    *,
    host: str | None,
    leaf: CertInfo,
    host_error: int | None = None,
    version: str | None = None,
) -> tuple[OsslError | None, str]:
    """The error the client reports and its exact text (``(None, "")``: trusted).

    ``outcome`` is OpenSSL's run as this client configures it (with the host
    for openssl/python, without for curl/node); ``host_error`` is the client's
    own host-name check (62/64) for curl and Node, run when OpenSSL passed.
    """
    from .osslverify import error_text

    if outcome.errors:
        e = outcome.last if style == "node" else outcome.first
        assert e is not None
        msg = error_text(e.code, version=version if style == "openssl" else None)
        if style == "curl":
            from .versions import settings

            if settings("curl", version).get("verify_result_text"):
                return e, f"curl: (60) SSL certificate OpenSSL verify result: {msg} ({e.code})"
            return e, f"curl: (60) SSL certificate problem: {msg}"
        if style == "python":
            if e.code == 62:
                msg = f"Hostname mismatch, certificate is not valid for '{host}'."
            elif e.code == 64:
                msg = f"IP address mismatch, certificate is not valid for '{host}'."
            return e, f"[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: {msg}"
        if style == "node":
            return e, f"{NODE_CODES.get(e.code, 'UNSPECIFIED')}: {msg}"
        return e, f"verify error:num={e.code}:{msg}"
    if host_error is None or not host:
        return None, ""
    from .osslverify import OsslError

    he = OsslError(host_error, 0, leaf)
    if style == "curl":
        return he, _curl_host_text(host, version)
    if style == "node":
        return he, node_host_text(leaf, host)
    return he, f"verify error:num={host_error}:{error_text(host_error)}"


def node_host_text(leaf: CertInfo, host: str) -> str:
    """tls.checkServerIdentity's reason (node lib/tls.js), prefixed with err.code."""
    import ipaddress

    from .hostnames import is_ip
    from .osslverify import _facts

    prefix = "ERR_TLS_CERT_ALTNAME_INVALID: Hostname/IP does not match certificate's altnames: "
    alt: list[str] = []
    for tag, value in _facts(leaf).sans or ():
        if tag == 0x82:
            alt.append("DNS:" + value.decode("latin-1"))
        elif tag == 0x87 and len(value) in (4, 16):
            alt.append("IP Address:" + str(ipaddress.ip_address(value)).upper())
        elif tag == 0x81:
            alt.append("email:" + value.decode("latin-1"))
        elif tag == 0x86:
            alt.append("URI:" + value.decode("latin-1"))
    if is_ip(host):
        ips = ", ".join(a.removeprefix("IP Address:") for a in alt if a.startswith("IP Address:"))
        return f"{prefix}IP: {host} is not in the cert's list: {ips}"
    if leaf.dns_names:
        return f"{prefix}Host: {host}. is not in the cert's altnames: {', '.join(alt)}"
    if leaf.common_name:
        return f"{prefix}Host: {host}. is not cert's CN: {leaf.common_name}"
    return f"{prefix}Cert does not contain a DNS name"
