"""Stable finding codes, severities, sides, and the Finding record.

Codes are a public contract (JSON output, exit-code mapping, the cause
catalogue in docs/causes.md): never rename one, only add.  English lives in
``render/``; commands live in the fix planners.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from .record import field, record


class Code(StrEnum):
    """Every finding and cause trustdoctor can report."""

    # -- verdicts / primary causes: chain --------------------------------
    OK = "ok"
    MISSING_INTERMEDIATE = "missing-intermediate"
    UNTRUSTED_ROOT = "untrusted-root"
    SELF_SIGNED_LEAF = "self-signed-leaf"
    NOT_A_CA = "not-a-ca"
    EXPIRED = "expired"
    NOT_YET_VALID = "not-yet-valid"
    HOSTNAME_MISMATCH = "hostname-mismatch"
    WRONG_USAGE = "wrong-usage"
    NAME_CONSTRAINTS = "name-constraints"
    BAD_SIGNATURE = "bad-signature"
    INSECURE_ALGORITHM = "insecure-algorithm"
    WEAK_KEY = "weak-key"
    PATH_TOO_LONG = "path-too-long"
    UNHANDLED_CRITICAL_EXTENSION = "unhandled-critical-extension"
    STRICT_PROFILE = "strict-profile"  # webpki/RFC 5280 profile rules only strict clients apply
    UNPARSABLE_CERTIFICATE = "unparsable-certificate"  # the client's parser refuses a sent cert
    # -- primary causes: client side (trust-store models) ------------------
    NO_TRUST_STORE = "no-trust-store"
    STALE_BUNDLE = "stale-bundle"
    ENV_OVERRIDE = "env-override"
    RESTART_REQUIRED = "restart-required"
    DAEMON_STORE = "daemon-store"
    OUTDATED_STORE = "outdated-store"
    # -- primary causes: network --------------------------------------------
    INTERCEPTED = "intercepted"
    UNREACHABLE = "unreachable"
    NOT_TLS = "not-tls"
    HANDSHAKE_FAILED = "handshake-failed"
    TIMEOUT = "timeout"
    STARTTLS_REFUSED = "starttls-refused"  # the plaintext dialogue did not reach TLS
    PROXY_FAILED = "proxy-failed"  # the HTTP proxy refused or broke the CONNECT tunnel
    # -- secondary findings: served chain -------------------------------------
    WRONG_ORDER = "wrong-order"
    ROOT_SENT = "root-sent"
    EXTRA_CERTIFICATE = "extra-certificate"
    DUPLICATE_CERTIFICATE = "duplicate-certificate"
    EXPIRING_SOON = "expiring-soon"
    INTERMEDIATE_EXPIRES_FIRST = "intermediate-expires-first"
    EXPIRED_CROSS_SIGN = "expired-cross-sign"
    LEGACY_COMMON_NAME = "legacy-common-name"
    CLIENT_CERT_REQUESTED = "client-cert-requested"
    TRUSTED_BLOCK_IGNORED = "trusted-block-ignored"
    # -- secondary findings: stores ----------------------------------------------
    ANCHOR_FILE_IGNORED = "anchor-file-ignored"
    UNREADABLE_FILE = "unreadable-file"
    EMPTY_BUNDLE = "empty-bundle"
    OVERRIDE_HARMLESS = "override-harmless"
    PARTIAL_TRUST = "partial-trust"
    # Roots a strict client (Python ≥ 3.13's X509_STRICT) cannot end a chain at.
    STRICT_ANCHOR = "strict-anchor"
    CLIENT_DISAGREEMENT = "client-disagreement"
    DIFFERENT_CHAINS = "different-chains"  # addresses of one name serve different chains
    STORE_LIMIT = "store-limit"  # a store file/directory over the safety limits: partial view
    # -- secondary findings: AIA completion and serving (issue 7) ----------------------
    AIA_FETCH_FAILED = "aia-fetch-failed"  # AIA was tried and gave no usable issuer


class Severity(StrEnum):
    ERROR = "error"  # makes the client refuse the connection
    WARNING = "warning"  # will break, or breaks some clients
    INFO = "info"  # worth knowing, harmless today


class Side(StrEnum):
    """Who must act to make the finding go away."""

    SERVER = "server"
    CLIENT = "client"
    NETWORK = "network"
    NONE = "none"


class Confidence(StrEnum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


# Parameter values are JSON-able: str, int, bool, None, or lists of those (or of
# flat {"code": ..., values} objects).  They are data: stable codes and values,
# never English sentences (render/words.py holds the words).
Params = Mapping[str, object]


@record
class Finding:
    """One observation, as data.

    Attributes:
        code: the stable code.
        severity: error (the client refuses), warning or info.
        side: who must act.
        params: code-specific parameters (documented per code in docs/causes.md).
        certs: SHA-256 fingerprints of the certificates concerned.
    """

    code: Code
    severity: Severity
    side: Side = Side.NONE
    params: Params = field(default_factory=dict)
    certs: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, object]:
        return {
            "code": self.code.value,
            "severity": self.severity.value,
            "side": self.side.value,
            "params": dict(self.params),
            "certificates": list(self.certs),
        }
