"""The TLS error messages ``trustdoctor explain`` recognises, as data.

Three tables:

* :data:`ERRORS` — the verifier's own error text (Go crypto/x509, OpenSSL,
  GnuTLS, Java, Node, rustls, .NET, Python).  One entry per pattern: the stack
  that prints it, the stack-independent error class, the ranked causes (a
  :class:`~trustdoctor.model.findings.Code` plus a stable *reason* code each,
  worded by ``render/explain_text.py``), the questions that separate those
  causes, and the source of the string.  OpenSSL's verify codes are one table
  (:data:`OPENSSL_CODES`) from which the text, numeric and macro-name patterns
  are generated.
* :data:`WRAPPERS` — the program around the error (kubelet, containerd,
  docker, kubectl, helm, terraform, vault, git, pip, requests, curl...): it
  names the stack, picks the ``--client`` for the next command and may add
  causes that only exist for that program (a daemon's own store, a daemon
  that must be restarted).
* :data:`HOSTS` — where the endpoint is written (``Get "https://…"``,
  ``dial tcp h:p``, ``HTTPSConnectionPool(host=…)``, image references...).

Sources: "ref §x" is ``/work/shared/reference/truststores.md`` section x;
"captured" means the exact text was produced by the real client against a
loopback server in ``tests/test_explain_corpus.py`` (Go 1.19.8, OpenSSL
3.0.19, curl 7.88.1, CPython 3.11.7, requests 2.34.2/urllib3 2.7.0, pip 23.2.1,
Node 20.20.2, OpenJDK 17.0.15, git 2.39.5 with libcurl-gnutls 7.88.1).

Every regular expression here must stay linear: a literal anchor first, only
bounded quantifiers (``{0,N}``) on character classes, never a quantified group
containing a quantifier, never two adjacent unbounded classes.  The matcher
also caps the text it searches (:data:`MAX_RECORD_CHARS`).  ``tests/
test_explain_table.py`` checks each entry against its examples and against
adversarial input.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ..model.findings import Code as C

CauseSpec = tuple[C, str]

# The matcher never searches more than this many characters of one record.
MAX_RECORD_CHARS = 64 * 1024

# Literal needles: a line is looked at only when it contains one of them
# (bytes, case-sensitive; the prefilter of explain/records.py).  Needles whose
# first byte is rare in logs (upper case, digits, "x", "v") share one regex
# alternation; needles starting with a common lowercase letter are found one by
# one with bytes.find, which keeps the prefilter above 100 MB/s (bench/
# explain_bench.py).  Every example of every entry must contain a needle
# (tested); a bare OpenSSL phrase needs its usual context ("SSL certificate
# problem:", "verify error:num=", Node's "TLSSocket" frame...) in a log, while
# a message given on the command line is matched without the prefilter.
FAST_NEEDLES: tuple[bytes, ...] = (
    b"ERTIFIC",  # CERTIFICATE_VERIFY_FAILED
    b"x509",
    b"X509",
    b"PKIX",
    b"SSL",  # [SSL: ...], SSL routines, SSLHandshakeException, SSL_ERROR_SYSCALL
    b"TLS",  # TLSSocket (Node frames), "not look like a TLS handshake"
    b"Verify return",  # s_client summary
    b"Verification error",  # s_client 3.x
    b"verify error",  # s_client per-depth callback
    b"CERT",  # CERT_HAS_EXPIRED, SELF_SIGNED_CERT_IN_CHAIN, NO_CERTSIGN
    b"UNABLE_TO",
    b"Keystore",
    b"WebPKI",
    b"HTTPS client",
    b"UnknownIssuer",
    b"NotValidFor",
    b"BadSignature",
    b"UntrustedRoot",
    b"PartialChain",
    b"NotTimeValid",
    b"Received fatal",
    b"No subject alt",
    b"No name matching",
    b"Algorithm constraints",
    b"CertPath",
    b"Hostname mismatch",
    b"IP address mismatch",
    b"ALERT_",
    b"WRONG_VERSION",
    b"_TOO_",
    b"MISMATCH",
    b"VIOLATION",
    b"INVALID_",
    b"IDENTIFIER",
    b"CRITICAL",
    b"PATH_LENGTH",
    b"BCONS",
    b"PUBLIC_KEY",
    b"Missing Authority",
    b"Missing Subject",
    b"Empty Subject",
    b"Basic Constraints",
    b"CA signature",
    b"CA cert",
    b"EE cert",
    b"SUBJECT_ALT",
)
SLOW_NEEDLES: tuple[bytes, ...] = (
    b"ertific",  # certificate, Certificate, certification
    b"tls: ",  # Go crypto/tls errors
    b"depth lookup",  # openssl verify
    b"trustAnchors",
    b"mismatch",
    b"too weak",
    b"critical extension",
    b"subtree violation",
    b"path length constraint",
    b"issuer public key",
    b"curl: (35)",
    b"gnutls_handshake",
)

# -- questions (codes; worded by render/explain_text.py) ------------------------
Q_CHAIN = "server-sends-intermediate"
Q_ROOT = "root-in-client-store"
Q_WHICH_STORE = "which-store-client-reads"
Q_IMAGE = "image-has-ca-bundle"
Q_ENV = "env-overrides-set"
Q_PROXY = "proxy-in-path"
Q_SAME_NAME = "same-name-different-key"
Q_ISSUER_CA = "issuer-is-ca"
Q_CLOCK = "client-clock-right"
Q_SAN = "san-covers-name"
Q_SNI = "sni-sent"
Q_READABLE = "bundle-readable"
Q_RESTARTED = "daemon-restarted"
Q_CERTS_D = "registry-certs-d"
Q_EVERY_NODE = "every-node"
Q_HASH = "chain-signature-hash"
Q_KEY = "chain-key-sizes"
Q_CODE = "get-verify-code"
Q_STRICT = "python-313-strict"
Q_JAVA_STORE = "java-truststore"
Q_NODE_CA = "node-extra-ca"
Q_GIT_CA = "git-ca-config"
Q_CERTIFI = "certifi-bundle"
Q_KUBECONFIG = "kubeconfig-ca"
Q_PORT_TLS = "port-speaks-tls"
Q_CLIENT_CERT = "client-cert-required"
Q_PEER = "which-peer-rejects"
Q_WEBPKI = "webpki-roots"
Q_VERSION = "which-cert-expired"
Q_NC = "name-constraints"
Q_EKU = "eku-server-auth"


@dataclass(frozen=True)
class ErrorEntry:
    """One verifier message.

    Attributes:
        id: stable id (``go.unknown-authority``); shown in JSON as ``pattern``.
        library: verifying library family (go, openssl, gnutls, java, node,
            rustls, dotnet, python).
        stack: what prints it when no wrapper is recognised.
        client: ``--client`` for ``trustdoctor diagnose`` when no wrapper decides.
        error_class: stack-independent class (``unknown-issuer``...).
        regex: the pattern; named groups ``authority``, ``hint``, ``wanted``,
            ``valid_for``, ``now``, ``not_after``, ``not_before``, ``path``,
            ``code`` (an OpenSSL verify code, resolved in :data:`OPENSSL_BY_CODE`)
            are read into the match.
        causes: ranked (cause, reason code) pairs.
        questions: question codes.
        source: where the string comes from.
        examples: texts that must match (tested).
        narrows: False when the message says nothing about which cause it is.
        priority: the most specific entry of a record wins (higher first).
    """

    id: str
    library: str
    stack: str
    client: str
    error_class: str
    regex: str
    causes: tuple[CauseSpec, ...]
    questions: tuple[str, ...]
    source: str
    examples: tuple[str, ...]
    narrows: bool = True
    priority: int = 50
    openssl_code: int | None = None


@dataclass(frozen=True)
class WrapperEntry:
    """A program that wraps a verifier's error.

    Attributes:
        id: stable id; program: the stack name shown (``kubelet``).
        libraries: the verifier families it wraps (a Go wrapper never wraps an
            OpenSSL text).
        client: ``--client`` it implies (None: leave it to others).
        regex: the marker.
        priority: the most specific wrapper names the stack.
        client_rank: among wrappers that set a client, the highest rank wins
            (kubelet names the stack, containerd or CRI-O the client).
        lead: causes put first (e.g. a server log verifying a *client* cert).
        extra: causes added after the message's two best ones.
        questions: extra questions.
        library: overrides the library (``CRLfile:`` means GnuTLS).
        lead_classes: error classes ``lead`` applies to (empty: all).
    """

    id: str
    program: str
    libraries: tuple[str, ...]
    client: str | None
    regex: str
    source: str
    examples: tuple[str, ...]
    priority: int = 50
    client_rank: int = 0
    lead: tuple[CauseSpec, ...] = ()
    extra: tuple[CauseSpec, ...] = ()
    questions: tuple[str, ...] = ()
    library: str | None = None
    lead_classes: tuple[str, ...] = ()


@dataclass(frozen=True)
class HostRule:
    """Where an endpoint is written.

    Attributes:
        kind: ``url`` (group ``url``), ``hostport`` (group ``hostport``),
            ``hostandport`` (groups ``host``, ``port``), ``image`` (group ``image``).
        priority: the best-placed rule of a record names the target.
    """

    id: str
    kind: str
    regex: str
    priority: int
    source: str
    examples: tuple[str, ...]


# -- reusable cause lists ---------------------------------------------------------

# The issuer could not be found: Go "unknown authority", OpenSSL 20, Java
# PKIX building, rustls UnknownIssuer, GnuTLS "signer not trusted".
_UNKNOWN_ISSUER: tuple[CauseSpec, ...] = (
    (C.UNTRUSTED_ROOT, "private-root-not-in-store"),
    (C.MISSING_INTERMEDIATE, "server-omits-intermediate"),
    (C.SELF_SIGNED_LEAF, "self-signed-server-cert"),
    (C.NO_TRUST_STORE, "empty-store-same-text"),
    (C.STALE_BUNDLE, "bundle-not-rebuilt"),
    (C.ENV_OVERRIDE, "env-points-elsewhere"),
    (C.INTERCEPTED, "inspecting-proxy"),
)
_UNKNOWN_ISSUER_Q = (Q_CHAIN, Q_ROOT, Q_WHICH_STORE, Q_IMAGE, Q_ENV, Q_PROXY)

# GnuTLS (git on Debian/Ubuntu) prints one sentence for every verify failure.
_ANY_VERIFY_FAILURE: tuple[CauseSpec, ...] = (
    (C.UNTRUSTED_ROOT, "private-root-not-in-store"),
    (C.MISSING_INTERMEDIATE, "server-omits-intermediate"),
    (C.SELF_SIGNED_LEAF, "self-signed-server-cert"),
    (C.EXPIRED, "cert-expired"),
    (C.NOT_YET_VALID, "cert-not-yet-valid"),
    (C.NOT_A_CA, "issuer-not-a-ca"),
    (C.BAD_SIGNATURE, "ca-regenerated-same-name"),
    (C.INSECURE_ALGORITHM, "weak-signature-hash"),
    (C.NO_TRUST_STORE, "ca-file-empty-or-missing"),
    (C.EMPTY_BUNDLE, "ca-file-has-no-pem"),
)

_EXPIRED: tuple[CauseSpec, ...] = (
    (C.EXPIRED, "cert-expired"),
    (C.EXPIRED_CROSS_SIGN, "expired-cross-sign-sent"),
    (C.OUTDATED_STORE, "store-lacks-new-root"),
)
_NOT_YET: tuple[CauseSpec, ...] = (
    (C.NOT_YET_VALID, "cert-not-yet-valid"),
    (C.NOT_YET_VALID, "client-clock-behind"),
)
_VALIDITY: tuple[CauseSpec, ...] = (
    (C.EXPIRED, "cert-expired"),
    (C.NOT_YET_VALID, "cert-not-yet-valid"),
    (C.EXPIRED_CROSS_SIGN, "expired-cross-sign-sent"),
)
_HOSTNAME: tuple[CauseSpec, ...] = (
    (C.HOSTNAME_MISMATCH, "name-not-in-san"),
    (C.HOSTNAME_MISMATCH, "default-cert-without-sni"),
    (C.INTERCEPTED, "proxy-cert-for-other-name"),
)
_HOSTNAME_Q = (Q_SAN, Q_SNI)
_NOT_A_CA: tuple[CauseSpec, ...] = (
    (C.NOT_A_CA, "issuer-not-a-ca"),
    (C.UNTRUSTED_ROOT, "wrong-cert-installed-as-ca"),
)
_BAD_SIG: tuple[CauseSpec, ...] = (
    (C.BAD_SIGNATURE, "ca-regenerated-same-name"),
    (C.STALE_BUNDLE, "client-has-old-ca"),
    (C.MISSING_INTERMEDIATE, "server-sends-old-intermediate"),
)
_WEAK_HASH: tuple[CauseSpec, ...] = ((C.INSECURE_ALGORITHM, "weak-signature-hash"),)
_WEAK_KEY: tuple[CauseSpec, ...] = ((C.WEAK_KEY, "key-too-small"),)
_NAME_CONSTRAINTS: tuple[CauseSpec, ...] = ((C.NAME_CONSTRAINTS, "ca-constrained"),)
_USAGE: tuple[CauseSpec, ...] = ((C.WRONG_USAGE, "no-server-auth"),)
_PATHLEN: tuple[CauseSpec, ...] = ((C.PATH_TOO_LONG, "path-length-exceeded"),)
_CRIT: tuple[CauseSpec, ...] = ((C.UNHANDLED_CRITICAL_EXTENSION, "unknown-critical-extension"),)
_STRICT: tuple[CauseSpec, ...] = ((C.STRICT_PROFILE, "strict-x509-rules"),)
_CA_FILE: tuple[CauseSpec, ...] = (
    (C.UNREADABLE_FILE, "ca-file-missing-or-unreadable"),
    (C.ENV_OVERRIDE, "env-points-at-missing-file"),
    (C.EMPTY_BUNDLE, "ca-file-has-no-pem"),
    (C.NO_TRUST_STORE, "ca-file-empty-or-missing"),
)
_PEER_REJECTED: tuple[CauseSpec, ...] = (
    (C.UNTRUSTED_ROOT, "peer-lacks-our-root"),
    (C.MISSING_INTERMEDIATE, "we-omit-intermediate"),
    (C.CLIENT_CERT_REQUESTED, "server-rejects-client-cert"),
)
_NOT_TLS: tuple[CauseSpec, ...] = (
    (C.NOT_TLS, "plain-port"),
    (C.INTERCEPTED, "proxy-answers-plain"),
)
_HANDSHAKE: tuple[CauseSpec, ...] = (
    (C.HANDSHAKE_FAILED, "no-common-parameters"),
    (C.CLIENT_CERT_REQUESTED, "server-wants-client-cert"),
    (C.INTERCEPTED, "middlebox-reset"),
)
# A verify failure whose detail the message does not give.
GENERIC_VERIFY: tuple[CauseSpec, ...] = (
    (C.UNTRUSTED_ROOT, "private-root-not-in-store"),
    (C.MISSING_INTERMEDIATE, "server-omits-intermediate"),
    (C.EXPIRED, "cert-expired"),
    (C.HOSTNAME_MISMATCH, "name-not-in-san"),
    (C.NO_TRUST_STORE, "ca-file-empty-or-missing"),
)

# -- OpenSSL verify codes ----------------------------------------------------------


@dataclass(frozen=True)
class OpensslCode:
    """One ``X509_V_ERR_*`` code: number, macro, every text it has had."""

    code: int
    macro: str
    texts: tuple[str, ...]
    error_class: str
    causes: tuple[CauseSpec, ...]
    questions: tuple[str, ...]
    narrows: bool = True


_OPENSSL_SRC = (
    "openssl/openssl include/openssl/x509_vfy.h + crypto/x509/x509_txt.c (ref §2.2, §2.3); "
    "numbers and 3.0 texts captured from libcrypto 3.0.19 X509_verify_cert_error_string"
)

# Texts are regular-expression fragments: "self[- ]signed" covers 1.1.1 and 3.x
# (ref §2.2: the hyphen arrived in 3.0); code 9 gained "or the system clock is
# incorrect" in 3.6 (PR #27141) — the fragment is a prefix of both.  Code 24 was
# INVALID_CA ("invalid CA certificate") in 1.1.1 and is NO_ISSUER_PUBLIC_KEY in
# 3.x, where INVALID_CA moved to 79 (checked in x509_vfy.h of 3.0.19).
OPENSSL_CODES: tuple[OpensslCode, ...] = (
    OpensslCode(
        2,
        "UNABLE_TO_GET_ISSUER_CERT",
        ("unable to get issuer certificate",),
        "issuer-not-anchor",
        (
            (C.PARTIAL_TRUST, "store-holds-intermediate-only"),
            (C.UNTRUSTED_ROOT, "private-root-not-in-store"),
        ),
        (Q_ROOT, Q_WHICH_STORE),
    ),
    OpensslCode(
        4,
        "UNABLE_TO_DECRYPT_CERT_SIGNATURE",
        ("unable to decrypt certificate's signature",),
        "bad-signature",
        _BAD_SIG,
        (Q_SAME_NAME,),
    ),
    OpensslCode(
        6,
        "UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY",
        ("unable to decode issuer public key",),
        "bad-signature",
        _BAD_SIG,
        (Q_SAME_NAME,),
    ),
    OpensslCode(
        7,
        "CERT_SIGNATURE_FAILURE",
        ("certificate signature failure",),
        "bad-signature",
        _BAD_SIG,
        (Q_SAME_NAME,),
    ),
    OpensslCode(
        9,
        "CERT_NOT_YET_VALID",
        ("certificate is not yet valid",),
        "not-yet-valid",
        _NOT_YET,
        (Q_CLOCK,),
    ),
    OpensslCode(
        10,
        "CERT_HAS_EXPIRED",
        ("certificate has expired",),
        "expired",
        _EXPIRED,
        (Q_VERSION, Q_CLOCK),
    ),
    OpensslCode(
        18,
        "DEPTH_ZERO_SELF_SIGNED_CERT",
        ("self[- ]signed certificate",),
        "self-signed-leaf",
        (
            (C.SELF_SIGNED_LEAF, "self-signed-server-cert"),
            (C.UNTRUSTED_ROOT, "trust-the-self-signed-cert"),
        ),
        (Q_ROOT,),
    ),
    OpensslCode(
        19,
        "SELF_SIGNED_CERT_IN_CHAIN",
        ("self[- ]signed certificate in certificate chain",),
        "self-signed-in-chain",
        (
            (C.UNTRUSTED_ROOT, "server-sends-private-root"),
            (C.INTERCEPTED, "inspecting-proxy"),
            (C.OUTDATED_STORE, "store-lacks-new-root"),
        ),
        (Q_ROOT, Q_PROXY, Q_WHICH_STORE),
    ),
    OpensslCode(
        20,
        "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
        ("unable to get local issuer certificate",),
        "unknown-issuer",
        (
            (C.UNTRUSTED_ROOT, "private-root-not-in-store"),
            (C.MISSING_INTERMEDIATE, "server-omits-intermediate"),
            (C.BAD_SIGNATURE, "ca-regenerated-same-name"),
            (C.NO_TRUST_STORE, "ca-file-empty-or-missing"),
            (C.STALE_BUNDLE, "bundle-not-rebuilt"),
            (C.ENV_OVERRIDE, "env-points-elsewhere"),
            (C.INTERCEPTED, "inspecting-proxy"),
        ),
        (Q_CHAIN, Q_ROOT, Q_WHICH_STORE, Q_ENV, Q_PROXY),
        narrows=False,
    ),
    OpensslCode(
        21,
        "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
        ("unable to verify the first certificate",),
        "first-cert-unverifiable",
        (
            (C.MISSING_INTERMEDIATE, "leaf-only-chain"),
            (C.UNTRUSTED_ROOT, "leaf-issued-by-unknown-root"),
        ),
        (Q_CHAIN, Q_ROOT),
    ),
    OpensslCode(
        22, "CERT_CHAIN_TOO_LONG", ("certificate chain too long",), "path-too-long", _PATHLEN, ()
    ),
    OpensslCode(
        24,
        "NO_ISSUER_PUBLIC_KEY",
        ("issuer certificate doesn't have a public key",),
        "invalid-ca",
        _NOT_A_CA,
        (Q_ISSUER_CA,),
    ),
    OpensslCode(
        25,
        "PATH_LENGTH_EXCEEDED",
        ("path length constraint exceeded",),
        "path-too-long",
        _PATHLEN,
        (),
    ),
    OpensslCode(
        26,
        "INVALID_PURPOSE",
        ("unsuitable certificate purpose",),
        "wrong-usage",
        ((C.WRONG_USAGE, "no-server-auth"), (C.NOT_A_CA, "issuer-not-a-ca")),
        (Q_EKU,),
    ),
    OpensslCode(
        27,
        "CERT_UNTRUSTED",
        ("certificate not trusted",),
        "untrusted",
        ((C.UNTRUSTED_ROOT, "trust-settings-reject"),),
        (Q_ROOT,),
    ),
    OpensslCode(
        28,
        "CERT_REJECTED",
        ("certificate rejected",),
        "untrusted",
        ((C.UNTRUSTED_ROOT, "explicitly-distrusted"),),
        (Q_ROOT,),
    ),
    OpensslCode(
        32,
        "KEYUSAGE_NO_CERTSIGN",
        ("key usage does not include certificate signing",),
        "invalid-ca",
        _NOT_A_CA,
        (Q_ISSUER_CA,),
    ),
    OpensslCode(
        34,
        "UNHANDLED_CRITICAL_EXTENSION",
        ("unhandled critical extension",),
        "unhandled-critical-extension",
        _CRIT,
        (),
    ),
    OpensslCode(
        47,
        "PERMITTED_VIOLATION",
        ("permitted subtree violation",),
        "name-constraints",
        _NAME_CONSTRAINTS,
        (Q_NC,),
    ),
    OpensslCode(
        48,
        "EXCLUDED_VIOLATION",
        ("excluded subtree violation",),
        "name-constraints",
        _NAME_CONSTRAINTS,
        (Q_NC,),
    ),
    OpensslCode(
        62, "HOSTNAME_MISMATCH", ("hostname mismatch",), "hostname-mismatch", _HOSTNAME, _HOSTNAME_Q
    ),
    OpensslCode(
        64,
        "IP_ADDRESS_MISMATCH",
        ("IP address mismatch",),
        "hostname-mismatch",
        ((C.HOSTNAME_MISMATCH, "ip-not-in-san"),),
        _HOSTNAME_Q,
    ),
    OpensslCode(
        66, "EE_KEY_TOO_SMALL", ("EE certificate key too weak",), "weak-key", _WEAK_KEY, (Q_KEY,)
    ),
    OpensslCode(
        67, "CA_KEY_TOO_SMALL", ("CA certificate key too weak",), "weak-key", _WEAK_KEY, (Q_KEY,)
    ),
    OpensslCode(
        68,
        "CA_MD_TOO_WEAK",
        ("CA signature digest algorithm too weak",),
        "insecure-algorithm",
        _WEAK_HASH,
        (Q_HASH,),
    ),
    OpensslCode(
        79, "INVALID_CA", ("invalid CA certificate",), "invalid-ca", _NOT_A_CA, (Q_ISSUER_CA,)
    ),
    OpensslCode(
        85,
        "MISSING_AUTHORITY_KEY_IDENTIFIER",
        ("Missing Authority Key Identifier",),
        "strict-profile",
        _STRICT,
        (Q_STRICT,),
    ),
    OpensslCode(
        86,
        "MISSING_SUBJECT_KEY_IDENTIFIER",
        ("Missing Subject Key Identifier",),
        "strict-profile",
        _STRICT,
        (Q_STRICT,),
    ),
    OpensslCode(
        87,
        "EMPTY_SUBJECT_ALT_NAME",
        ("Empty Subject Alternative Name extension",),
        "strict-profile",
        _STRICT,
        (Q_STRICT,),
    ),
    OpensslCode(
        89,
        "CA_BCONS_NOT_CRITICAL",
        ("Basic Constraints of CA cert not marked critical",),
        "strict-profile",
        _STRICT,
        (Q_STRICT,),
    ),
    OpensslCode(
        92,
        "CA_CERT_MISSING_KEY_USAGE",
        ("CA cert does not include key usage extension",),
        "strict-profile",
        _STRICT,
        (Q_STRICT,),
    ),
)
OPENSSL_BY_CODE: Mapping[int, OpensslCode] = {c.code: c for c in OPENSSL_CODES}
# 1.1.1 meaning of 24 (INVALID_CA); used only when the text says so.
OPENSSL_111_TEXTS: Mapping[str, int] = {"invalid CA certificate": 79}


def _openssl_entries() -> list[ErrorEntry]:
    out: list[ErrorEntry] = []
    for c in OPENSSL_CODES:
        text_re = "|".join(c.texts)
        # A text followed by a word character is another text ("self-signed
        # certificate" is a prefix of "... in certificate chain"): the longer
        # code wins by priority (19 > 18) and by the lookahead here.
        guard = r"(?! in certificate chain)" if c.code == 18 else ""
        out.append(
            ErrorEntry(
                id=f"openssl.{c.code}",
                library="openssl",
                stack="openssl",
                client="openssl",
                error_class=c.error_class,
                regex=rf"(?:{text_re}){guard}",
                causes=c.causes,
                questions=c.questions,
                source=_OPENSSL_SRC,
                examples=(c.texts[0].replace("[- ]", "-"),),
                narrows=c.narrows,
                priority=30 + (1 if c.code in (19, 21) else 0),
                openssl_code=c.code,
            )
        )
        out.append(
            ErrorEntry(
                id=f"openssl.{c.code}.macro",
                library="openssl",
                stack="node",
                client="node",
                error_class=c.error_class,
                regex=rf"\b(?:X509_V_ERR_)?{c.macro}\b",
                causes=c.causes,
                questions=c.questions,
                source="Node err.code = OpenSSL macro without X509_V_ERR_ (nodejs/node "
                "src/crypto, ref §3.3); "
                "captured node v20.20.2",
                examples=(f"code: '{c.macro}'",),
                narrows=c.narrows,
                priority=34,
                openssl_code=c.code,
            )
        )
    return out


# Numeric forms: the verify code is read from group "code" and looked up.
_OPENSSL_NUMERIC: tuple[ErrorEntry, ...] = (
    ErrorEntry(
        "openssl.num.s_client-callback",
        "openssl",
        "openssl-s_client",
        "openssl",
        "openssl-verify-error",
        r"verify error:num=(?P<code>\d{1,3}):",
        (),
        (),
        "openssl apps/lib/s_cb.c verify_callback 'verify error:num=%d:%s' (ref §2.4); captured "
        "3.0.19",
        ("verify error:num=20:unable to get local issuer certificate",),
        priority=36,
    ),
    ErrorEntry(
        "openssl.num.s_client-summary",
        "openssl",
        "openssl-s_client",
        "openssl",
        "openssl-verify-error",
        r"Verify return code: (?P<code>[1-9]\d{0,2}) \(",
        (),
        (),
        "openssl apps/s_client.c 'Verify return code: %ld (%s)' (ref §2.4); captured 3.0.19",
        ("Verify return code: 21 (unable to verify the first certificate)",),
        priority=37,
    ),
    ErrorEntry(
        "openssl.num.verify",
        "openssl",
        "openssl-verify",
        "openssl",
        "openssl-verify-error",
        r"error (?P<code>\d{1,3}) at (?P<depth>\d{1,3}) depth lookup",
        (),
        (),
        "openssl apps/verify.c 'error %d at %d depth lookup: %s'; captured 3.0.19",
        ("error 20 at 0 depth lookup: unable to get local issuer certificate",),
        priority=36,
    ),
    ErrorEntry(
        "openssl.num.curl-817",
        "openssl",
        "curl",
        "curl",
        "openssl-verify-error",
        r"SSL certificate OpenSSL verify result: [^()\n]{1,120} \((?P<code>\d{1,3})\)",
        (),
        (),
        "curl/curl lib/vtls/openssl.c, curl >= 8.17 (ref §2.5)",
        (
            "curl: (60) SSL certificate OpenSSL verify result: unable to get local issuer "
            "certificate (20)",
        ),
        priority=37,
    ),
    ErrorEntry(
        "openssl.num.rust-openssl",
        "openssl",
        "rust-openssl",
        "openssl",
        "openssl-verify-error",
        r"X509VerifyResult \{ code: (?P<code>\d{1,3}),",
        (),
        (),
        "rust-openssl X509VerifyResult Debug form, as in seanmonstar/reqwest#1840",
        ('X509VerifyResult { code: 20, error: "unable to get local issuer certificate" }',),
        priority=37,
    ),
)


def _go_hint(hint: str) -> str:
    # Go prints both with %q; logfmt/JSON logs (containerd, kubelet) escape the
    # quotes once more (\"...\"), hence the optional backslashes.
    return (
        r"x509: certificate signed by unknown authority \(possibly because of "
        rf'\\{{0,3}}"(?P<hint>{hint})\\{{0,3}}" while trying to verify candidate authority '
        r'certificate \\{0,3}"(?P<authority>(?:[^"\\\n]|\\.){0,300}?)\\{0,3}"\)'
    )


_GO_SRC = "golang/go src/crypto/x509/verify.go, x509.go (ref §1.6)"
_GO_CAPTURED = _GO_SRC + "; captured go1.19.8"

_GO: tuple[ErrorEntry, ...] = (
    ErrorEntry(
        "go.unknown-authority.not-a-ca",
        "go",
        "go",
        "go",
        "invalid-ca",
        _go_hint(r"[^\"\n]{0,40}parent certificate cannot sign this kind of certificate"),
        (
            (C.NOT_A_CA, "issuer-not-a-ca"),
            (C.UNTRUSTED_ROOT, "wrong-cert-installed-as-ca"),
            (C.SELF_SIGNED_LEAF, "self-signed-server-cert"),
        ),
        (Q_ISSUER_CA, Q_ROOT),
        _GO_CAPTURED,
        (
            'Get "https://registry.internal.example.com/v2/": x509: certificate signed by unknown '
            'authority (possibly because of "x509: invalid signature: parent certificate cannot '
            'sign this kind of certificate" while trying to verify candidate authority '
            'certificate "Example Internal Root CA")',
        ),
        priority=92,
    ),
    ErrorEntry(
        "go.unknown-authority.bad-signature",
        "go",
        "go",
        "go",
        "bad-signature",
        _go_hint(
            r"(?:crypto/rsa: verification error|x509: ECDSA verification failure"
            r"|x509: Ed25519 verification failure|[^\"\n]{0,40}verification (?:error|failure))"
        ),
        _BAD_SIG,
        (Q_SAME_NAME, Q_CHAIN),
        _GO_CAPTURED,
        (
            'x509: certificate signed by unknown authority (possibly because of "x509: ECDSA '
            'verification failure" while trying to verify candidate authority certificate '
            '"Example Internal Root CA")',
            'x509: certificate signed by unknown authority (possibly because of "crypto/rsa: '
            'verification error" while trying to verify candidate authority certificate "Corp CA")',
        ),
        priority=92,
    ),
    ErrorEntry(
        "go.unknown-authority.insecure-algorithm",
        "go",
        "go",
        "go",
        "insecure-algorithm",
        _go_hint(
            r"x509: cannot verify signature: (?:insecure algorithm|algorithm unimplemented)"
            r"[^\"\n]{0,120}"
        ),
        ((C.INSECURE_ALGORITHM, "weak-signature-hash"), (C.WEAK_KEY, "unsupported-key")),
        (Q_HASH,),
        _GO_CAPTURED,
        (
            'x509: certificate signed by unknown authority (possibly because of "x509: cannot '
            "verify signature: insecure algorithm SHA1-RSA (temporarily override with "
            'GODEBUG=x509sha1=1)" while trying to verify candidate authority certificate '
            '"Explain RSA Root CA")',
        ),
        priority=92,
    ),
    ErrorEntry(
        "go.unknown-authority.hint",
        "go",
        "go",
        "go",
        "unknown-issuer",
        _go_hint(r"[^\"\n]{0,400}?"),
        _UNKNOWN_ISSUER,
        _UNKNOWN_ISSUER_Q,
        _GO_SRC,
        (
            'x509: certificate signed by unknown authority (possibly because of "x509: '
            'something new" while trying to verify candidate authority certificate "serial:1234")',
        ),
        narrows=False,
        priority=88,
    ),
    ErrorEntry(
        "go.unknown-authority",
        "go",
        "go",
        "go",
        "unknown-issuer",
        r"x509: certificate signed by unknown authority",
        _UNKNOWN_ISSUER,
        _UNKNOWN_ISSUER_Q,
        _GO_CAPTURED,
        (
            'Get "https://localhost:44831/": x509: certificate signed by unknown authority',
            "tls: failed to verify certificate: x509: certificate signed by unknown authority",
        ),
        narrows=False,
        priority=80,
    ),
    ErrorEntry(
        "go.expired",
        "go",
        "go",
        "go",
        "expired",
        r"x509: certificate has expired or is not yet valid: current time "
        r"(?P<now>[0-9T:.+Z-]{10,40}) is after (?P<not_after>[0-9T:.+Z-]{10,40})",
        _EXPIRED,
        (Q_VERSION, Q_CLOCK),
        _GO_CAPTURED,
        (
            'Get "https://localhost:46611/": x509: certificate has expired or is not yet valid: '
            "current time 2026-11-28T04:08:00Z is after 2026-11-25T04:07:53Z",
        ),
        priority=85,
    ),
    ErrorEntry(
        "go.not-yet-valid",
        "go",
        "go",
        "go",
        "not-yet-valid",
        r"x509: certificate has expired or is not yet valid: current time "
        r"(?P<now>[0-9T:.+Z-]{10,40}) is before (?P<not_before>[0-9T:.+Z-]{10,40})",
        _NOT_YET,
        (Q_CLOCK,),
        _GO_CAPTURED,
        (
            "x509: certificate has expired or is not yet valid: current time "
            "2026-11-28T04:08:00Z is before 2026-12-08T04:07:53Z",
        ),
        priority=85,
    ),
    ErrorEntry(
        "go.validity",
        "go",
        "go",
        "go",
        "validity",
        r"x509: certificate has expired or is not yet valid",
        _VALIDITY,
        (Q_VERSION, Q_CLOCK),
        _GO_SRC + " (older Go prints no detail)",
        ("x509: certificate has expired or is not yet valid",),
        narrows=False,
        priority=80,
    ),
    ErrorEntry(
        "go.hostname.valid-for",
        "go",
        "go",
        "go",
        "hostname-mismatch",
        r"x509: certificate is valid for (?P<valid_for>[^\n]{1,600}?), not "
        r"(?P<wanted>[A-Za-z0-9_.:*\[\]-]{1,253})",
        _HOSTNAME,
        _HOSTNAME_Q,
        _GO_CAPTURED,
        (
            'Get "https://localhost:44505/": x509: certificate is valid for other.example.com, '
            "not localhost",
        ),
        priority=85,
    ),
    ErrorEntry(
        "go.hostname.no-ip-sans",
        "go",
        "go",
        "go",
        "hostname-mismatch",
        r"x509: cannot validate certificate for (?P<wanted>[0-9A-Fa-f.:]{2,45}) because it "
        r"doesn't contain any IP SANs",
        ((C.HOSTNAME_MISMATCH, "ip-not-in-san"),),
        _HOSTNAME_Q,
        _GO_SRC,
        ("x509: cannot validate certificate for 10.0.0.5 because it doesn't contain any IP SANs",),
        priority=85,
    ),
    ErrorEntry(
        "go.hostname.no-names",
        "go",
        "go",
        "go",
        "hostname-mismatch",
        r"x509: certificate is not valid for any names, but wanted to match "
        r"(?P<wanted>[A-Za-z0-9_.:*\[\]-]{1,253})",
        ((C.HOSTNAME_MISMATCH, "cert-has-no-names"),),
        _HOSTNAME_Q,
        _GO_SRC,
        ("x509: certificate is not valid for any names, but wanted to match registry.local",),
        priority=85,
    ),
    ErrorEntry(
        "go.legacy-cn",
        "go",
        "go",
        "go",
        "legacy-common-name",
        r"x509: certificate relies on legacy Common Name field, use SANs instead",
        ((C.LEGACY_COMMON_NAME, "go-ignores-cn"), (C.HOSTNAME_MISMATCH, "name-not-in-san")),
        (Q_SAN,),
        _GO_CAPTURED,
        ("x509: certificate relies on legacy Common Name field, use SANs instead",),
        priority=85,
    ),
    ErrorEntry(
        "go.not-authorized-to-sign",
        "go",
        "go",
        "go",
        "invalid-ca",
        r"x509: certificate is not authorized to sign other certificates",
        ((C.NOT_A_CA, "v1-intermediate"),),
        (Q_ISSUER_CA,),
        _GO_SRC,
        ("x509: certificate is not authorized to sign other certificates",),
        priority=85,
    ),
    ErrorEntry(
        "go.name-constraints",
        "go",
        "go",
        "go",
        "name-constraints",
        r"x509: (?:a root or intermediate certificate is not authorized to sign for this name"
        r"|issuer has name constraints but leaf (?:doesn't have a SAN extension"
        r"|contains unknown or unconstrained name))",
        _NAME_CONSTRAINTS,
        (Q_NC,),
        _GO_SRC,
        (
            "x509: a root or intermediate certificate is not authorized to sign for this name: "
            'DNS name "x.example.org" is excluded by constraint "example.org"',
        ),
        priority=85,
    ),
    ErrorEntry(
        "go.unknown-error",
        "go",
        "go",
        "go",
        "name-constraints",
        r"x509: unknown error",
        ((C.NAME_CONSTRAINTS, "too-many-constraints"),),
        (Q_NC,),
        _GO_SRC + " (TooManyConstraints has no text, ref §7 item 8)",
        ("x509: unknown error",),
        priority=60,
    ),
    ErrorEntry(
        "go.usage",
        "go",
        "go",
        "go",
        "wrong-usage",
        r"x509: (?:certificate specifies an incompatible key usage"
        r"|a root or intermediate certificate is not authorized for an extended key usage"
        r"|no valid chains built)",
        ((C.WRONG_USAGE, "no-server-auth"), (C.STRICT_PROFILE, "policy-constraints")),
        (Q_EKU,),
        _GO_SRC,
        (
            "x509: certificate specifies an incompatible key usage",
            "x509: no valid chains built: 1 chains with incompatible key usage",
        ),
        priority=85,
    ),
    ErrorEntry(
        "go.path-length",
        "go",
        "go",
        "go",
        "path-too-long",
        r"x509: too many intermediates for path length constraint",
        _PATHLEN,
        (),
        _GO_SRC,
        ("x509: too many intermediates for path length constraint",),
        priority=85,
    ),
    ErrorEntry(
        "go.issuer-name",
        "go",
        "go",
        "go",
        "issuer-name-mismatch",
        r"x509: issuer name does not match subject from issuing certificate",
        (
            (C.STRICT_PROFILE, "issuer-name-encoding-differs"),
            (C.WRONG_ORDER, "server-sends-wrong-issuer"),
        ),
        (Q_CHAIN,),
        _GO_SRC,
        ("x509: issuer name does not match subject from issuing certificate",),
        priority=85,
    ),
    ErrorEntry(
        "go.critical-extension",
        "go",
        "go",
        "go",
        "unhandled-critical-extension",
        r"x509: unhandled critical extension",
        _CRIT,
        (),
        _GO_SRC,
        ("x509: unhandled critical extension",),
        priority=85,
    ),
    ErrorEntry(
        "go.signature-limit",
        "go",
        "go",
        "go",
        "path-too-long",
        r"x509: signature check attempts limit reached",
        (
            (C.PATH_TOO_LONG, "too-many-candidates"),
            (C.EXTRA_CERTIFICATE, "server-sends-extra-certs"),
        ),
        (Q_CHAIN,),
        _GO_SRC,
        ("x509: signature check attempts limit reached while verifying certificate chain",),
        priority=85,
    ),
    ErrorEntry(
        "go.system-roots",
        "go",
        "go",
        "go",
        "roots-unavailable",
        r"x509: failed to load system roots and no roots provided"
        r"(?:; (?:open|read) (?P<path>/[^\s:]{1,300}))?",
        (
            (C.UNREADABLE_FILE, "bundle-unreadable"),
            (C.ENV_OVERRIDE, "ssl-cert-file-not-a-file"),
            (C.NO_TRUST_STORE, "no-roots-loaded"),
        ),
        (Q_READABLE, Q_ENV),
        _GO_CAPTURED + " (README item 6: not produced by an empty image)",
        (
            "x509: failed to load system roots and no roots provided; read /etc/ssl/certs: is a "
            "directory",
            "x509: failed to load system roots and no roots provided",
        ),
        priority=85,
    ),
    ErrorEntry(
        "go.insecure-algorithm",
        "go",
        "go",
        "go",
        "insecure-algorithm",
        r"x509: cannot verify signature: (?:insecure algorithm|algorithm unimplemented)",
        ((C.INSECURE_ALGORITHM, "weak-signature-hash"), (C.WEAK_KEY, "unsupported-key")),
        (Q_HASH,),
        _GO_SRC,
        ("x509: cannot verify signature: insecure algorithm SHA1-RSA",),
        priority=70,
    ),
    ErrorEntry(
        "go.bad-signature",
        "go",
        "go",
        "go",
        "bad-signature",
        r"(?:x509: (?:ECDSA|Ed25519) verification failure|crypto/rsa: verification error)",
        _BAD_SIG,
        (Q_SAME_NAME,),
        _GO_SRC,
        ("x509: ECDSA verification failure",),
        priority=60,
    ),
    ErrorEntry(
        "go.not-tls",
        "go",
        "go",
        "go",
        "not-tls",
        r"(?:tls: first record does not look like a TLS handshake"
        r"|http: server gave HTTP response to HTTPS client)",
        _NOT_TLS,
        (Q_PORT_TLS,),
        "golang/go src/crypto/tls/conn.go, src/net/http/transport.go; captured go1.19.8",
        (
            'Get "https://localhost:8080/": http: server gave HTTP response to HTTPS client',
            "tls: first record does not look like a TLS handshake",
        ),
        priority=70,
    ),
    ErrorEntry(
        "go.server.peer-rejected",
        "go",
        "go-server",
        "go",
        "peer-rejected-certificate",
        r"TLS handshake error from [^\s]{1,100}: remote error: tls: "
        r"(?:bad certificate|unknown certificate authority|unknown certificate"
        r"|certificate unknown|unsupported certificate|certificate expired)",
        (
            (C.UNTRUSTED_ROOT, "peer-lacks-our-root"),
            (C.MISSING_INTERMEDIATE, "we-omit-intermediate"),
            (C.EXPIRED, "cert-expired"),
        ),
        (Q_PEER, Q_CHAIN),
        "golang/go src/net/http/server.go 'http: TLS handshake error from %s: %v', "
        "crypto/tls alert.go texts",
        (
            "http: TLS handshake error from 10.1.2.3:51514: remote error: tls: unknown "
            "certificate authority",
            "http: TLS handshake error from 10.1.2.3:51514: remote error: tls: bad certificate",
        ),
        priority=75,
    ),
    ErrorEntry(
        "go.client.remote-alert",
        "go",
        "go",
        "go",
        "peer-alert",
        r"remote error: tls: (?:bad certificate|certificate required|unknown certificate authority"
        r"|certificate unknown)",
        (
            (C.CLIENT_CERT_REQUESTED, "server-rejects-client-cert"),
            (C.UNTRUSTED_ROOT, "peer-lacks-our-root"),
        ),
        (Q_CLIENT_CERT,),
        "golang/go src/crypto/tls/alert.go alert texts, prefixed 'remote error: ' by conn.go",
        ("remote error: tls: certificate required",),
        narrows=False,
        priority=45,
    ),
    ErrorEntry(
        "go.handshake-failure",
        "go",
        "go",
        "go",
        "handshake-failed",
        r"remote error: tls: (?:handshake failure|protocol version not supported)",
        _HANDSHAKE,
        (Q_CLIENT_CERT,),
        "golang/go src/crypto/tls/alert.go",
        ("remote error: tls: handshake failure",),
        narrows=False,
        priority=40,
    ),
)

_PY_SRC = "python/cpython Modules/_ssl.c (ref §3.1); captured CPython 3.11.7"
_PYTHON: tuple[ErrorEntry, ...] = (
    ErrorEntry(
        "python.verify-failed",
        "openssl",
        "python",
        "python",
        "verify-failed",
        r"\[SSL: CERTIFICATE_VERIFY_FAILED\] certificate verify failed",
        GENERIC_VERIFY,
        (Q_CODE, Q_CHAIN, Q_ROOT),
        _PY_SRC,
        ("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed (_ssl.c:1006)",),
        narrows=False,
        priority=20,
    ),
    ErrorEntry(
        "python.hostname",
        "python",
        "python",
        "python",
        "hostname-mismatch",
        r"certificate verify failed: (?:Hostname|IP address) mismatch, certificate is not valid "
        r"for '(?P<wanted>[^'\n]{1,253})'",
        _HOSTNAME,
        _HOSTNAME_Q,
        _PY_SRC,
        (
            "ssl.SSLCertVerificationError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify "
            "failed: Hostname mismatch, certificate is not valid for 'localhost'. (_ssl.c:1006)",
        ),
        priority=70,
    ),
    ErrorEntry(
        "python.match-hostname",
        "python",
        "python",
        "python",
        "hostname-mismatch",
        r"hostname '(?P<wanted>[^'\n]{1,253})' doesn't match (?:either of )?"
        r"(?P<valid_for>'[^\n)]{1,300})",
        _HOSTNAME,
        _HOSTNAME_Q,
        "CPython <=3.11 ssl.match_hostname / urllib3 1.26 util/ssl_match_hostname.py; "
        "captured pip 23.2.1",
        (
            "Caused by SSLError(CertificateError(\"hostname 'localhost' doesn't match "
            "'other.example.com'\"))",
        ),
        priority=70,
    ),
    ErrorEntry(
        "python.no-certificates",
        "python",
        "python",
        "python",
        "no-trust-store",
        r"\[X509: NO_CERTIFICATE_OR_CRL_FOUND\] no certificate or crl found",
        (
            (C.EMPTY_BUNDLE, "ca-file-has-no-pem"),
            (C.ENV_OVERRIDE, "env-points-at-missing-file"),
            (C.NO_TRUST_STORE, "ca-file-empty-or-missing"),
        ),
        (Q_READABLE, Q_ENV),
        _PY_SRC,
        (
            "ssl.SSLError: [X509: NO_CERTIFICATE_OR_CRL_FOUND] no certificate or crl found "
            "(_ssl.c:4154)",
        ),
        priority=70,
    ),
    ErrorEntry(
        "requests.invalid-bundle",
        "python",
        "requests",
        "requests",
        "ca-file-unreadable",
        r"Could not find a suitable TLS CA certificate bundle, invalid path: "
        r"(?P<path>[^\s]{1,300})",
        _CA_FILE,
        (Q_ENV, Q_CERTIFI),
        "psf/requests src/requests/adapters.py cert_verify (read in requests 2.34.2)",
        (
            "OSError: Could not find a suitable TLS CA certificate bundle, invalid path: "
            "/etc/ssl/corp.pem",
        ),
        priority=70,
    ),
)

_NODE_SRC = "nodejs/node lib/tls.js checkServerIdentity (ref §3.3); captured node v20.20.2"
_NODE: tuple[ErrorEntry, ...] = (
    ErrorEntry(
        "node.altname",
        "node",
        "node",
        "node",
        "hostname-mismatch",
        r"(?:Host: (?P<wanted>[A-Za-z0-9_.*-]{1,253}?)\. is not in the cert's altnames"
        r"|IP: (?P<wanted_ip>[0-9A-Fa-f.:]{2,45}) is not in the cert's list)",
        _HOSTNAME,
        _HOSTNAME_Q,
        _NODE_SRC,
        (
            "Error [ERR_TLS_CERT_ALTNAME_INVALID]: Hostname/IP does not match certificate's "
            "altnames: Host: localhost. is not in the cert's altnames: DNS:other.example.com",
        ),
        priority=70,
    ),
    ErrorEntry(
        "node.altname-code",
        "node",
        "node",
        "node",
        "hostname-mismatch",
        r"ERR_TLS_CERT_ALTNAME_INVALID",
        _HOSTNAME,
        _HOSTNAME_Q,
        _NODE_SRC,
        ("code: 'ERR_TLS_CERT_ALTNAME_INVALID'",),
        priority=60,
    ),
    ErrorEntry(
        "node.wrong-version",
        "openssl",
        "node",
        "node",
        "not-tls",
        r"ERR_SSL_WRONG_VERSION_NUMBER",
        _NOT_TLS,
        (Q_PORT_TLS,),
        "Node err.code 'ERR_SSL_' + OpenSSL reason; captured node v20.20.2",
        ("code: 'ERR_SSL_WRONG_VERSION_NUMBER'",),
        priority=45,
    ),
)

_JDK = "OpenJDK 17 "
_JAVA_CAPTURED = "captured OpenJDK 17.0.15 (sun.security.validator.PKIXValidator)"
_JAVA: tuple[ErrorEntry, ...] = (
    ErrorEntry(
        "java.pkix-building",
        "java",
        "java",
        "java",
        "unknown-issuer",
        r"(?:PKIX path building failed"
        r"|unable to find valid certification path to requested target)",
        (
            (C.UNTRUSTED_ROOT, "private-root-not-in-store"),
            (C.MISSING_INTERMEDIATE, "java-no-aia-by-default"),
            (C.SELF_SIGNED_LEAF, "self-signed-server-cert"),
            (C.NO_TRUST_STORE, "java-truststore-empty"),
            (C.STALE_BUNDLE, "jdk-own-cacerts"),
            (C.ENV_OVERRIDE, "java-truststore-property"),
            (C.INTERCEPTED, "inspecting-proxy"),
        ),
        (Q_CHAIN, Q_JAVA_STORE, Q_ROOT, Q_PROXY),
        _JAVA_CAPTURED + " (ref §3.4)",
        (
            "javax.net.ssl.SSLHandshakeException: PKIX path building failed: "
            "sun.security.provider.certpath.SunCertPathBuilderException: unable to find valid "
            "certification path to requested target",
        ),
        narrows=False,
        priority=70,
    ),
    ErrorEntry(
        "java.no-anchor",
        "java",
        "java",
        "java",
        "bad-signature",
        r"Path does not chain with any of the trust anchors",
        (
            (C.BAD_SIGNATURE, "ca-regenerated-same-name"),
            (C.UNTRUSTED_ROOT, "private-root-not-in-store"),
            (C.STALE_BUNDLE, "client-has-old-ca"),
        ),
        (Q_SAME_NAME, Q_JAVA_STORE),
        _JDK + "sun/security/provider/certpath/PKIXCertPathValidator; captured OpenJDK 17.0.15",
        (
            "java.security.cert.CertPathValidatorException: Path does not chain with any of the "
            "trust anchors",
        ),
        priority=75,
    ),
    ErrorEntry(
        "java.expired",
        "java",
        "java",
        "java",
        "expired",
        r"(?:CertificateExpiredException|certificate expired on)",
        _EXPIRED,
        (Q_VERSION, Q_CLOCK),
        _JDK + "java/security/cert/CertificateExpiredException",
        ("java.security.cert.CertificateExpiredException: NotAfter: Tue Nov 25 04:07:53 UTC 2026",),
        priority=76,
    ),
    ErrorEntry(
        "java.not-yet-valid",
        "java",
        "java",
        "java",
        "not-yet-valid",
        r"CertificateNotYetValidException",
        _NOT_YET,
        (Q_CLOCK,),
        _JDK + "java/security/cert/CertificateNotYetValidException",
        (
            "java.security.cert.CertificateNotYetValidException: NotBefore: Tue Dec 08 04:07:53 "
            "UTC 2026",
        ),
        priority=76,
    ),
    ErrorEntry(
        "java.validity",
        "java",
        "java",
        "java",
        "validity",
        r"CertPathValidatorException: validity check failed",
        _VALIDITY,
        (Q_VERSION, Q_CLOCK),
        _JAVA_CAPTURED,
        (
            "javax.net.ssl.SSLHandshakeException: PKIX path validation failed: "
            "java.security.cert.CertPathValidatorException: validity check failed",
        ),
        narrows=False,
        priority=74,
    ),
    ErrorEntry(
        "java.hostname",
        "java",
        "java",
        "java",
        "hostname-mismatch",
        r"(?:No subject alternative DNS name matching (?P<wanted>[A-Za-z0-9_.*-]{1,253}?) found"
        r"|No subject alternative names matching IP address (?P<wanted_ip>[0-9A-Fa-f.:]{2,45}) "
        r"found"
        r"|No subject alternative names present"
        r"|No name matching (?P<wanted_cn>[A-Za-z0-9_.*-]{1,253}?) found)",
        _HOSTNAME,
        _HOSTNAME_Q,
        _JDK + "sun/security/util/HostnameChecker (ref §3.4); captured OpenJDK 17.0.15",
        (
            "javax.net.ssl.SSLHandshakeException: No subject alternative DNS name matching "
            "localhost found.",
            "No subject alternative names matching IP address 10.0.0.5 found",
        ),
        priority=75,
    ),
    ErrorEntry(
        "java.not-a-ca",
        "java",
        "java",
        "java",
        "invalid-ca",
        r"(?:CA key usage check failed: keyCertSign bit is not set"
        r"|basic constraints check failed: this is not a CA certificate)",
        _NOT_A_CA,
        (Q_ISSUER_CA,),
        _JDK
        + "sun/security/provider/certpath/KeyChecker, ConstraintsChecker; captured OpenJDK 17.0.15",
        (
            "java.security.cert.CertPathValidatorException: CA key usage check failed: "
            "keyCertSign bit is not set",
        ),
        priority=75,
    ),
    ErrorEntry(
        "java.path-length",
        "java",
        "java",
        "java",
        "path-too-long",
        r"basic constraints check failed: pathLenConstraint violated",
        _PATHLEN,
        (),
        _JDK + "sun/security/provider/certpath/ConstraintsChecker",
        (
            "java.security.cert.CertPathValidatorException: basic constraints check failed: "
            "pathLenConstraint violated - this cert must be the last cert in the "
            "certification path",
        ),
        priority=75,
    ),
    ErrorEntry(
        "java.algorithm",
        "java",
        "java",
        "java",
        "insecure-algorithm",
        r"Algorithm constraints check failed on (?:disabled )?(?:signature )?algorithm",
        _WEAK_HASH,
        (Q_HASH,),
        _JDK + "sun/security/provider/certpath/AlgorithmChecker, "
        "sun/security/util/DisabledAlgorithmConstraints",
        (
            "Algorithm constraints check failed on signature algorithm: SHA1withRSA",
            "Algorithm constraints check failed on disabled algorithm: MD5",
        ),
        priority=75,
    ),
    ErrorEntry(
        "java.keysize",
        "java",
        "java",
        "java",
        "weak-key",
        r"Algorithm constraints check failed on (?:keysize limits|key [A-Z]{2,5} with size)",
        _WEAK_KEY,
        (Q_KEY,),
        _JDK + "sun/security/util/DisabledAlgorithmConstraints",
        ("Algorithm constraints check failed on keysize limits: RSA 1024 bit key used",),
        priority=76,
    ),
    ErrorEntry(
        "java.empty-truststore",
        "java",
        "java",
        "java",
        "no-trust-store",
        r"the trustAnchors parameter must be non-empty",
        (
            (C.NO_TRUST_STORE, "java-truststore-empty"),
            (C.UNREADABLE_FILE, "java-truststore-missing"),
            (C.ENV_OVERRIDE, "java-truststore-property"),
        ),
        (Q_JAVA_STORE,),
        _JDK + "java/security/cert/PKIXParameters.setTrustAnchors",
        (
            "java.security.InvalidAlgorithmParameterException: the trustAnchors parameter must be "
            "non-empty",
        ),
        priority=80,
    ),
    ErrorEntry(
        "java.keystore-password",
        "java",
        "java",
        "java",
        "ca-file-unreadable",
        r"Keystore was tampered with, or password was incorrect",
        (
            (C.UNREADABLE_FILE, "truststore-password-wrong"),
            (C.ENV_OVERRIDE, "java-truststore-property"),
        ),
        (Q_JAVA_STORE,),
        _JDK + "sun/security/provider/JavaKeyStore.engineLoad",
        ("java.io.IOException: Keystore was tampered with, or password was incorrect",),
        priority=80,
    ),
    ErrorEntry(
        "java.not-tls",
        "java",
        "java",
        "java",
        "not-tls",
        r"Unsupported or unrecognized SSL message",
        _NOT_TLS,
        (Q_PORT_TLS,),
        _JDK + "sun/security/ssl/SSLSocketInputRecord; captured OpenJDK 17.0.15",
        ("javax.net.ssl.SSLException: Unsupported or unrecognized SSL message",),
        priority=70,
    ),
    ErrorEntry(
        "java.peer-alert",
        "java",
        "java",
        "java",
        "peer-alert",
        r"Received fatal alert: "
        r"(?:certificate_unknown|bad_certificate|unknown_ca|certificate_required)",
        _PEER_REJECTED,
        (Q_PEER, Q_CLIENT_CERT),
        _JDK + "sun/security/ssl/Alert (TLS alert names)",
        ("javax.net.ssl.SSLHandshakeException: Received fatal alert: certificate_unknown",),
        narrows=False,
        priority=60,
    ),
)

_RUSTLS_SRC = (
    "rustls/rustls rustls/src/error/mod.rs CertificateError (ref §3.5); "
    "webpki Error names (rustls/webpki src/error.rs)"
)
# rustls prints CertificateError with Debug: "invalid peer certificate: UnknownIssuer";
# 0.20 said "invalid certificate: ..."; webpki errors sit in Other(OtherError(...)).
_RUSTLS_PREFIX = (
    r"(?:invalid (?:peer )?certificate(?: contents)?: (?:invalid peer certificate: )?"
    r"|InvalidCertificate\(|WebPKIError\()(?:Other\((?:OtherError\()?)?"
)
_RUSTLS_NAMES: tuple[tuple[str, str, tuple[CauseSpec, ...], tuple[str, ...], bool], ...] = (
    (
        "UnknownIssuer",
        "unknown-issuer",
        (
            (C.UNTRUSTED_ROOT, "private-root-not-in-store"),
            (C.MISSING_INTERMEDIATE, "server-omits-intermediate"),
            (C.OUTDATED_STORE, "webpki-roots-compiled-in"),
            (C.SELF_SIGNED_LEAF, "self-signed-server-cert"),
            (C.ENV_OVERRIDE, "env-points-elsewhere"),
            (C.INTERCEPTED, "inspecting-proxy"),
        ),
        (Q_CHAIN, Q_WEBPKI, Q_ROOT),
        False,
    ),
    ("BadSignature", "bad-signature", _BAD_SIG, (Q_SAME_NAME,), True),
    ("NotValidForName", "hostname-mismatch", _HOSTNAME, _HOSTNAME_Q, True),
    ("Expired", "expired", _EXPIRED, (Q_VERSION, Q_CLOCK), True),
    ("NotValidYet", "not-yet-valid", _NOT_YET, (Q_CLOCK,), True),
    ("UnhandledCriticalExtension", "unhandled-critical-extension", _CRIT, (), True),
    ("InvalidPurpose", "wrong-usage", _USAGE, (Q_EKU,), True),
    (
        "CaUsedAsEndEntity",
        "wrong-usage",
        ((C.SELF_SIGNED_LEAF, "ca-cert-served-as-leaf"), (C.WRONG_USAGE, "no-server-auth")),
        (),
        True,
    ),
    ("EndEntityUsedAsCa", "invalid-ca", _NOT_A_CA, (Q_ISSUER_CA,), True),
    ("UnsupportedSignatureAlgorithm", "insecure-algorithm", _WEAK_HASH, (Q_HASH,), True),
    ("NameConstraintViolation", "name-constraints", _NAME_CONSTRAINTS, (Q_NC,), True),
    (
        "UnsupportedCertVersion",
        "strict-profile",
        ((C.STRICT_PROFILE, "v1-cert-rejected"),),
        (Q_STRICT,),
        True,
    ),
    ("BadEncoding", "strict-profile", ((C.STRICT_PROFILE, "bad-der"),), (), True),
    ("MaximumPathDepthExceeded", "path-too-long", _PATHLEN, (), True),
)


def _rustls_entries() -> list[ErrorEntry]:
    out = [
        ErrorEntry(
            f"rustls.{name}",
            "rustls",
            "rustls",
            "webpki",
            cls,
            rf"{_RUSTLS_PREFIX}{name}(?:Context)?\b",
            causes,
            qs,
            _RUSTLS_SRC,
            (f"invalid peer certificate: {name}",),
            narrows=narrows,
            priority=70,
        )
        for name, cls, causes, qs, narrows in _RUSTLS_NAMES
    ]
    out += [
        ErrorEntry(
            "rustls.name-context",
            "rustls",
            "rustls",
            "webpki",
            "hostname-mismatch",
            r'certificate not valid for name "(?P<wanted>[^"\n]{1,253})"',
            _HOSTNAME,
            _HOSTNAME_Q,
            _RUSTLS_SRC + " (0.23 context variant)",
            (
                'invalid peer certificate: certificate not valid for name "reg.local"; certificate '
                'is only valid for DnsName("other.local")',
            ),
            priority=72,
        ),
        ErrorEntry(
            "rustls.expired-context",
            "rustls",
            "rustls",
            "webpki",
            "expired",
            r"certificate expired: verification time",
            _EXPIRED,
            (Q_VERSION, Q_CLOCK),
            _RUSTLS_SRC + " (0.23 context variant)",
            (
                "invalid peer certificate: certificate expired: verification time 1764302880 "
                "(UNIX), "
                "but certificate is not valid after 1764043673 (259207 seconds ago)",
            ),
            priority=72,
        ),
        ErrorEntry(
            "rustls.not-yet-context",
            "rustls",
            "rustls",
            "webpki",
            "not-yet-valid",
            r"certificate not valid yet: verification time",
            _NOT_YET,
            (Q_CLOCK,),
            _RUSTLS_SRC + " (0.23 context variant)",
            ("invalid peer certificate: certificate not valid yet: verification time 1764302880",),
            priority=72,
        ),
    ]
    return out


_DOTNET_SRC = (
    "dotnet/runtime System.Net.Security SR net_ssl_io_cert_chain_validation / "
    "net_ssl_io_cert_validation; X509ChainStatusFlags and SslPolicyErrors names "
    "(ref §3.6, texts as in aws/aws-sdk-net#3115, dotnet/runtime#112856)"
)
_DOTNET_STATUS: tuple[tuple[str, str, tuple[CauseSpec, ...], tuple[str, ...], int], ...] = (
    ("NotTimeValid", "validity", _VALIDITY, (Q_VERSION, Q_CLOCK), 78),
    ("NotSignatureValid", "bad-signature", _BAD_SIG, (Q_SAME_NAME,), 78),
    ("InvalidBasicConstraints", "invalid-ca", _NOT_A_CA, (Q_ISSUER_CA,), 78),
    ("NotValidForUsage", "wrong-usage", _USAGE, (Q_EKU,), 78),
    ("HasWeakSignature", "insecure-algorithm", _WEAK_HASH, (Q_HASH,), 78),
    ("HasNotSupportedCriticalExtension", "unhandled-critical-extension", _CRIT, (), 78),
    ("HasExcludedNameConstraint", "name-constraints", _NAME_CONSTRAINTS, (Q_NC,), 78),
    ("HasNotPermittedNameConstraint", "name-constraints", _NAME_CONSTRAINTS, (Q_NC,), 78),
    ("InvalidNameConstraints", "name-constraints", _NAME_CONSTRAINTS, (Q_NC,), 78),
    (
        "ExplicitDistrust",
        "untrusted",
        ((C.UNTRUSTED_ROOT, "explicitly-distrusted"),),
        (Q_ROOT,),
        78,
    ),
    (
        "UntrustedRoot",
        "self-signed-in-chain",
        (
            (C.UNTRUSTED_ROOT, "server-sends-private-root"),
            (C.SELF_SIGNED_LEAF, "self-signed-server-cert"),
            (C.INTERCEPTED, "inspecting-proxy"),
        ),
        (Q_ROOT, Q_PROXY),
        76,
    ),
    (
        "PartialChain",
        "unknown-issuer",
        (
            (C.MISSING_INTERMEDIATE, "dotnet-partial-chain"),
            (C.UNTRUSTED_ROOT, "private-root-not-in-store"),
            (C.NO_TRUST_STORE, "ca-file-empty-or-missing"),
        ),
        (Q_CHAIN, Q_ROOT),
        75,
    ),
)


def _dotnet_entries() -> list[ErrorEntry]:
    out = [
        ErrorEntry(
            f"dotnet.{status}",
            "dotnet",
            "dotnet",
            "openssl",
            cls,
            rf"errors in the certificate chain: [A-Za-z, ]{{0,200}}\b{status}\b",
            causes,
            qs,
            _DOTNET_SRC,
            (
                f"The remote certificate is invalid because of errors in the certificate chain: "
                f"{status}",
            ),
            priority=prio,
        )
        for status, cls, causes, qs, prio in _DOTNET_STATUS
    ]
    out += [
        ErrorEntry(
            "dotnet.name-mismatch",
            "dotnet",
            "dotnet",
            "openssl",
            "hostname-mismatch",
            r"RemoteCertificateNameMismatch",
            _HOSTNAME,
            _HOSTNAME_Q,
            _DOTNET_SRC,
            (
                "The remote certificate is invalid according to the validation procedure: "
                "RemoteCertificateNameMismatch",
            ),
            priority=74,
        ),
        ErrorEntry(
            "dotnet.chain-errors",
            "dotnet",
            "dotnet",
            "openssl",
            "unknown-issuer",
            r"(?:RemoteCertificateChainErrors|The remote certificate is invalid according to the "
            r"validation procedure)",
            GENERIC_VERIFY,
            (Q_CODE, Q_CHAIN, Q_ROOT),
            _DOTNET_SRC,
            (
                "System.Security.Authentication.AuthenticationException: The remote certificate is "
                "invalid according to the validation procedure.",
            ),
            narrows=False,
            priority=40,
        ),
    ]
    return out


_CURL_SRC = "curl/curl lib/vtls/openssl.c (ref §2.5); captured curl 7.88.1"
_GTLS_SRC = "curl/curl lib/vtls/gtls.c (ref §2.5); captured git 2.39.5 + libcurl-gnutls 7.88.1"
_CURL_GNUTLS: tuple[ErrorEntry, ...] = (
    ErrorEntry(
        "curl.hostname",
        "openssl",
        "curl",
        "curl",
        "hostname-mismatch",
        r"SSL: no alternative certificate subject name matches target host ?name "
        r"'(?P<wanted>[^'\n]{1,253})'",
        _HOSTNAME,
        _HOSTNAME_Q,
        _CURL_SRC,
        (
            "curl: (60) SSL: no alternative certificate subject name matches target host name "
            "'localhost'",
            "curl: (51) SSL: no alternative certificate subject name matches target hostname "
            "'x.local'",
        ),
        priority=72,
    ),
    ErrorEntry(
        "curl.hostname-cn",
        "openssl",
        "curl",
        "curl",
        "hostname-mismatch",
        r"SSL: certificate subject name (?:'[^'\n]{0,253}'|\([^)\n]{0,253}\)) does not match "
        r"target "
        r"host ?name '(?P<wanted>[^'\n]{1,253})'",
        _HOSTNAME,
        _HOSTNAME_Q,
        _CURL_SRC + "; gtls.c variant captured with git 2.39.5",
        (
            "fatal: unable to access 'https://localhost:44505/repo.git/': SSL: certificate subject "
            "name (localhost) does not match target host name 'localhost'",
        ),
        priority=72,
    ),
    ErrorEntry(
        "curl.problem",
        "openssl",
        "curl",
        "curl",
        "verify-failed",
        r"SSL certificate problem: ",
        GENERIC_VERIFY,
        (Q_CODE, Q_CHAIN, Q_ROOT),
        _CURL_SRC,
        ("curl: (60) SSL certificate problem: something new",),
        narrows=False,
        priority=20,
    ),
    ErrorEntry(
        "curl.peer-not-ok",
        "openssl",
        "curl",
        "curl",
        "verify-failed",
        r"SSL peer certificate or SSH remote key was not OK",
        GENERIC_VERIFY,
        (Q_CODE, Q_CHAIN, Q_ROOT),
        "curl/curl lib/strerror.c CURLE_PEER_FAILED_VERIFICATION (ref §2.5)",
        ("[60] SSL peer certificate or SSH remote key was not OK",),
        narrows=False,
        priority=18,
    ),
    ErrorEntry(
        "curl.77",
        "openssl",
        "curl",
        "curl",
        "ca-file-unreadable",
        r"(?:error setting certificate (?:verify locations|file|path)[: ]{0,3}"
        r"(?:CAfile: )?(?P<path>[^\s]{0,300})"
        r"|Problem with the SSL CA cert \(path\? access rights\?\))",
        _CA_FILE,
        (Q_READABLE, Q_ENV),
        _CURL_SRC + "; 'error setting certificate verify locations:  CAfile: %s CApath: %s' in "
        "older curl; lib/strerror.c CURLE_SSL_CACERT_BADFILE",
        (
            "curl: (77) error setting certificate file: /tmp/ca-empty-store.pem",
            "curl: (77) error setting certificate verify locations:  CAfile: "
            "/etc/ssl/certs/ca-certificates.crt",
        ),
        priority=70,
    ),
    ErrorEntry(
        "gnutls.cafile-none",
        "gnutls",
        "curl",
        "curl",
        "no-trust-store",
        r"(?:certificate verification failed|verification failed: [^.\n]{1,80})"
        r"\.? ?\(?CAfile: none",
        (
            (C.NO_TRUST_STORE, "gnutls-cafile-none"),
            (C.ENV_OVERRIDE, "env-points-elsewhere"),
            (C.UNTRUSTED_ROOT, "private-root-not-in-store"),
        ),
        (Q_GIT_CA, Q_IMAGE),
        _GTLS_SRC,
        (
            "fatal: unable to access 'https://git.example.com/r.git/': server certificate "
            "verification failed. CAfile: none CRLfile: none",
        ),
        priority=80,
    ),
    ErrorEntry(
        "gnutls.verification-failed",
        "gnutls",
        "curl",
        "curl",
        "verify-failed",
        r"server certificate verification failed\. CAfile: (?P<path>[^\s]{1,300}) CRLfile:",
        _ANY_VERIFY_FAILURE,
        (Q_CODE, Q_CHAIN, Q_ROOT, Q_GIT_CA),
        _GTLS_SRC,
        (
            "fatal: unable to access 'https://localhost:44831/repo.git/': server certificate "
            "verification failed. CAfile: /tmp/ca.pem CRLfile: none",
        ),
        narrows=False,
        priority=60,
    ),
    ErrorEntry(
        "gnutls.unexpected-packet",
        "gnutls",
        "curl",
        "curl",
        "not-tls",
        r"gnutls_handshake\(\) failed: An unexpected TLS packet was received",
        _NOT_TLS,
        (Q_PORT_TLS,),
        "GnuTLS GNUTLS_E_UNEXPECTED_PACKET text via curl lib/vtls/gtls.c; captured git 2.39.5 + "
        "libcurl-gnutls 7.88.1",
        (
            "fatal: unable to access 'https://localhost:47809/repo.git/': gnutls_handshake() "
            "failed: An unexpected TLS packet was received.",
        ),
        priority=60,
    ),
    ErrorEntry(
        "gnutls.handshake",
        "gnutls",
        "curl",
        "curl",
        "handshake-failed",
        r"gnutls_handshake\(\) failed: ",
        _HANDSHAKE,
        (Q_PORT_TLS, Q_CLIENT_CERT),
        "curl lib/vtls/gtls.c 'gnutls_handshake() failed: %s'",
        ("gnutls_handshake() failed: The TLS connection was non-properly terminated.",),
        narrows=False,
        priority=40,
    ),
    ErrorEntry(
        "gnutls.signer-not-trusted",
        "gnutls",
        "curl",
        "curl",
        "unknown-issuer",
        r"certificate signer not trusted",
        _UNKNOWN_ISSUER,
        (*_UNKNOWN_ISSUER_Q, Q_GIT_CA),
        _GTLS_SRC + " (curl >= 8.10 wording, commit 623b877504)",
        (
            "server verification failed: certificate signer not trusted. "
            "(CAfile: /etc/ssl/certs/ca-certificates.crt CRLfile: none)",
        ),
        narrows=False,
        priority=62,
    ),
    ErrorEntry(
        "gnutls.not-activated",
        "gnutls",
        "curl",
        "curl",
        "not-yet-valid",
        r"certificate not activated",
        _NOT_YET,
        (Q_CLOCK,),
        _GTLS_SRC + " (curl >= 8.10 wording)",
        (
            "SSL certificate verification failed: certificate not activated. (CAfile: x CRLfile: "
            "none)",
        ),
        priority=62,
    ),
)

_OSSL_ERR_SRC = (
    "openssl/openssl ssl/ssl_err.c reason strings (3.x 'error:0A000086:SSL routines::"
    "certificate verify failed', 1.1.1 'error:1416F086:...'); PHP/Ruby/curl print them"
)
_OSSL_LIB: tuple[ErrorEntry, ...] = (
    ErrorEntry(
        "openssl.verify-failed",
        "openssl",
        "openssl",
        "openssl",
        "verify-failed",
        r"(?:certificate verify failed|CERTIFICATE_VERIFY_FAILED)",
        GENERIC_VERIFY,
        (Q_CODE, Q_CHAIN, Q_ROOT),
        _OSSL_ERR_SRC,
        ("error:0A000086:SSL routines::certificate verify failed",),
        narrows=False,
        priority=15,
    ),
    ErrorEntry(
        "openssl.wrong-version",
        "openssl",
        "openssl",
        "openssl",
        "not-tls",
        r"(?:wrong version number|WRONG_VERSION_NUMBER)",
        _NOT_TLS,
        (Q_PORT_TLS,),
        _OSSL_ERR_SRC + "; captured curl 7.88.1 and CPython 3.11.7",
        (
            "curl: (35) error:0A00010B:SSL routines::wrong version number",
            "ssl.SSLError: [SSL: WRONG_VERSION_NUMBER] wrong version number (_ssl.c:1006)",
        ),
        priority=45,
    ),
    ErrorEntry(
        "openssl.alert-unknown-ca",
        "openssl",
        "openssl",
        "openssl",
        "peer-alert",
        r"(?:alert unknown ca|ALERT_UNKNOWN_CA|alert bad certificate|ALERT_BAD_CERTIFICATE"
        r"|alert certificate unknown|ALERT_CERTIFICATE_UNKNOWN)",
        _PEER_REJECTED,
        (Q_PEER, Q_CLIENT_CERT),
        _OSSL_ERR_SRC,
        (
            "error:0A000418:SSL routines::tlsv1 alert unknown ca",
            "[SSL: SSLV3_ALERT_BAD_CERTIFICATE] sslv3 alert bad certificate (_ssl.c:2580)",
        ),
        narrows=False,
        priority=45,
    ),
    ErrorEntry(
        "openssl.alert-cert-required",
        "openssl",
        "openssl",
        "openssl",
        "peer-alert",
        r"(?:alert certificate required|ALERT_CERTIFICATE_REQUIRED)",
        ((C.CLIENT_CERT_REQUESTED, "server-wants-client-cert"),),
        (Q_CLIENT_CERT,),
        _OSSL_ERR_SRC,
        ("error:0A00045C:SSL routines::tlsv13 alert certificate required",),
        priority=46,
    ),
    ErrorEntry(
        "openssl.alert-handshake",
        "openssl",
        "openssl",
        "openssl",
        "handshake-failed",
        r"(?:alert handshake failure|ALERT_HANDSHAKE_FAILURE)",
        _HANDSHAKE,
        (Q_CLIENT_CERT,),
        _OSSL_ERR_SRC,
        ("curl: (35) error:0A000410:SSL routines::sslv3 alert handshake failure",),
        narrows=False,
        priority=40,
    ),
    ErrorEntry(
        "curl.35-syscall",
        "openssl",
        "curl",
        "curl",
        "handshake-failed",
        r"curl: \(35\) [^\n]{0,200}SSL_ERROR_SYSCALL",
        (
            (C.INTERCEPTED, "middlebox-reset"),
            (C.HANDSHAKE_FAILED, "server-closed"),
            (C.UNREACHABLE, "connection-reset"),
        ),
        (Q_PROXY, Q_PORT_TLS),
        "curl/curl lib/vtls/openssl.c 'OpenSSL SSL_connect: %s in connection to %s:%d'",
        ("curl: (35) OpenSSL SSL_connect: SSL_ERROR_SYSCALL in connection to example.com:443",),
        narrows=False,
        priority=42,
    ),
    ErrorEntry(
        "curl.35",
        "openssl",
        "curl",
        "curl",
        "handshake-failed",
        r"curl: \(35\)",
        _HANDSHAKE,
        (Q_PORT_TLS, Q_CLIENT_CERT),
        "curl/curl lib/strerror.c CURLE_SSL_CONNECT_ERROR",
        ("curl: (35) something else went wrong",),
        narrows=False,
        priority=10,
    ),
)

ERRORS: tuple[ErrorEntry, ...] = (
    *_GO,
    *_openssl_entries(),
    *_OPENSSL_NUMERIC,
    *_PYTHON,
    *_NODE,
    *_JAVA,
    *_rustls_entries(),
    *_dotnet_entries(),
    *_CURL_GNUTLS,
    *_OSSL_LIB,
)

# -- wrappers ------------------------------------------------------------------------

_GO_W = ("go",)
_OSSL_W = ("openssl", "gnutls", "python")
_RUNTIME_EXTRA: tuple[CauseSpec, ...] = (
    (C.DAEMON_STORE, "registry-certs-d"),
    (C.RESTART_REQUIRED, "go-caches-pool"),
)
_RUNTIME_Q = (Q_CERTS_D, Q_RESTARTED)

WRAPPERS: tuple[WrapperEntry, ...] = (
    WrapperEntry(
        "kubelet",
        "kubelet",
        _GO_W,
        "containerd",
        r'(?:kubelet(?:\[\d{1,10}\])?:|Failed to pull image "|ErrImagePull|ImagePullBackOff'
        r"|Back-off pulling image)",
        "kubelet pull events (ref §3.7, §5.4: kubelet asks the CRI runtime, which verifies)",
        ('Warning  Failed  12s  kubelet  Failed to pull image "reg.example/app:1": rpc error',),
        priority=95,
        client_rank=50,
        extra=_RUNTIME_EXTRA,
        questions=(Q_EVERY_NODE, *_RUNTIME_Q),
    ),
    WrapperEntry(
        "containerd",
        "containerd",
        _GO_W,
        "containerd",
        r"(?:failed to pull and unpack image|failed to resolve reference|failed to do request: "
        r"|io\.containerd|containerd\[\d{1,10}\]|ctr: )",
        "containerd internal/cri/server/images/image_pull.go, core/remotes/docker/resolver.go "
        "(ref §3.7)",
        (
            'failed to resolve reference "reg.example/app:1": failed to do request: Head '
            '"https://reg.example/v2/app/manifests/1"',
        ),
        priority=90,
        client_rank=90,
        extra=_RUNTIME_EXTRA,
        questions=_RUNTIME_Q,
    ),
    WrapperEntry(
        "crio",
        "cri-o/podman",
        _GO_W,
        "crio",
        r"(?:pinging container registry|initializing source docker://|crio\[\d{1,10}\]"
        r"|reading manifest [^\s]{1,300} in )",
        "containers/image docker/docker_client.go 'pinging container registry %s' (ref §5.3)",
        (
            "Error: initializing source docker://localhost/web:latest: pinging container registry "
            'localhost: Get "https://localhost/v2/": tls: failed to verify certificate',
        ),
        priority=91,
        client_rank=91,
        extra=((C.DAEMON_STORE, "containers-certs-d"),),
        questions=(Q_CERTS_D,),
    ),
    WrapperEntry(
        "docker",
        "docker",
        _GO_W,
        "docker",
        r"(?:Error response from daemon: |docker: Error|dockerd\[\d{1,10}\]|failed to solve: )",
        "moby daemon error relay 'Error response from daemon: %s' (ref §3.7)",
        (
            'Error response from daemon: Get "https://reg:5000/v2/": x509: certificate signed by '
            "unknown authority",
        ),
        priority=85,
        client_rank=85,
        extra=_RUNTIME_EXTRA,
        questions=_RUNTIME_Q,
    ),
    WrapperEntry(
        "kubectl",
        "kubectl",
        _GO_W,
        "go",
        r"Unable to connect to the server: ",
        "kubernetes/kubectl pkg/cmd/util/helpers.go 'Unable to connect to the server: %v' (ref "
        "§3.7)",
        ("Unable to connect to the server: x509: certificate signed by unknown authority",),
        priority=80,
        client_rank=80,
        questions=(Q_KUBECONFIG,),
    ),
    WrapperEntry(
        "helm",
        "helm",
        _GO_W,
        "go",
        r"(?:Kubernetes cluster unreachable|is not a valid chart repository or cannot be reached)",
        "helm pkg/action, pkg/repo chartrepo.go (ref §3.7)",
        (
            'Error: Kubernetes cluster unreachable: Get "https://10.0.0.1:6443/version": x509: '
            "certificate signed by unknown authority",
        ),
        priority=80,
        client_rank=80,
        questions=(Q_KUBECONFIG,),
    ),
    WrapperEntry(
        "terraform",
        "terraform",
        _GO_W,
        "go",
        r"(?:Failed to query available provider packages|failed to request discovery document"
        r"|Failed to install provider|registry\.terraform\.io)",
        "hashicorp/terraform internal/getproviders registry_client.go (ref §3.7)",
        (
            "Error: Failed to query available provider packages ... failed to request discovery "
            'document: Get "https://registry.terraform.io/.well-known/terraform.json"',
        ),
        priority=80,
        client_rank=80,
    ),
    WrapperEntry(
        "vault",
        "vault",
        _GO_W,
        "go",
        r"(?:Error (?:checking seal status|authenticating|making API request|reading|writing"
        r"|initializing)|VAULT_(?:ADDR|CACERT|CAPATH)|/v1/sys/)",
        "hashicorp/vault command/*.go error prefixes; api client VAULT_CACERT",
        (
            'Error checking seal status: Get "https://127.0.0.1:8200/v1/sys/seal-status": x509: '
            "certificate signed by unknown authority",
        ),
        priority=80,
        client_rank=80,
    ),
    WrapperEntry(
        "git-lfs",
        "git-lfs",
        _GO_W,
        "go",
        r"(?:batch response: |git-lfs|LFS: )",
        "git-lfs/git-lfs lfshttp/client.go (Go)",
        (
            'batch response: Post "https://git.example/r.git/info/lfs/objects/batch": x509: '
            "certificate signed by unknown authority",
        ),
        priority=80,
        client_rank=80,
    ),
    WrapperEntry(
        "go-command",
        "go-command",
        _GO_W,
        "go",
        r"(?:unrecognized import path|https fetch: |proxy\.golang\.org|go: downloading )",
        "golang/go src/cmd/go/internal/vcs, modfetch",
        (
            'go: example.com/x@v1.0.0: unrecognized import path "example.com/x": https fetch: Get '
            '"https://example.com/x?go-get=1": x509: certificate signed by unknown authority',
        ),
        priority=75,
        client_rank=75,
    ),
    WrapperEntry(
        "go-server",
        "go-server",
        _GO_W,
        "go",
        r"TLS handshake error from ",
        "golang/go src/net/http/server.go 'http: TLS handshake error from %s: %v'",
        (
            "http: TLS handshake error from 10.1.2.3:5555: tls: failed to verify certificate: "
            "x509: "
            "certificate signed by unknown authority",
        ),
        priority=70,
        client_rank=0,
        lead=((C.CLIENT_CERT_REQUESTED, "server-verifies-client-cert"),),
        lead_classes=(
            "unknown-issuer",
            "invalid-ca",
            "bad-signature",
            "expired",
            "not-yet-valid",
            "validity",
            "insecure-algorithm",
            "wrong-usage",
        ),
        questions=(Q_CLIENT_CERT,),
    ),
    WrapperEntry(
        "go-tls",
        "go-tls",
        _GO_W,
        "go",
        r"tls: failed to verify certificate: ",
        "golang/go src/crypto/tls CertificateVerificationError, Go >= 1.20 (ref §1.6)",
        ("tls: failed to verify certificate: x509: certificate signed by unknown authority",),
        priority=40,
        client_rank=10,
    ),
    WrapperEntry(
        "go-http",
        "go",
        _GO_W,
        "go",
        r'(?:Get|Head|Post|Put|Patch|Delete) "https://',
        "golang/go src/net/url url.Error 'Op \"URL\": err' (ref §1.6); captured go1.19.8",
        ('Get "https://localhost:44831/": x509: certificate signed by unknown authority',),
        priority=30,
        client_rank=5,
    ),
    WrapperEntry(
        "git",
        "git",
        ("openssl", "gnutls"),
        "curl",
        r"(?:fatal: unable to access '|git-remote-https|GIT_SSL_|http\.sslCAInfo)",
        "git http.c 'unable to access '%s': %s' over libcurl (ref §3.7); captured git 2.39.5",
        (
            "fatal: unable to access 'https://localhost:1/repo.git/': server certificate "
            "verification failed. CAfile: /tmp/ca.pem CRLfile: none",
        ),
        priority=85,
        client_rank=85,
        questions=(Q_GIT_CA,),
    ),
    WrapperEntry(
        "cargo",
        "cargo",
        ("openssl",),
        "curl",
        r"(?:\[60\] SSL peer certificate|failed to download from `|spurious network error)",
        "rust-lang/cargo over libcurl: '[60] ' + curl_easy_strerror (lib/strerror.c)",
        (
            "[60] SSL peer certificate or SSH remote key was not OK (SSL certificate problem: "
            "unable to get local issuer certificate)",
        ),
        priority=75,
        client_rank=75,
    ),
    WrapperEntry(
        "curl",
        "curl",
        ("openssl", "gnutls"),
        "curl",
        r"curl: \(\d{1,3}\)",
        "curl src/tool_main.c 'curl: (%d) %s' (ref §2.5); captured curl 7.88.1",
        ("curl: (60) SSL certificate problem: unable to get local issuer certificate",),
        priority=80,
        client_rank=80,
    ),
    WrapperEntry(
        "curl-gnutls",
        "curl",
        ("gnutls", "openssl"),
        "curl",
        r"CRLfile: ",
        "curl lib/vtls/gtls.c 'CAfile: %s CRLfile: %s' names the GnuTLS backend (ref §2.5)",
        ("server certificate verification failed. CAfile: none CRLfile: none",),
        priority=12,
        client_rank=12,
        library="gnutls",
        questions=(Q_GIT_CA,),
    ),
    WrapperEntry(
        "openssl-s_client",
        "openssl-s_client",
        ("openssl",),
        "openssl",
        r"(?:verify error:num=|Verify return code: |verify return:\d|CONNECTED\(0|Verification "
        r"error: )",
        "openssl apps/s_client.c, apps/lib/s_cb.c (ref §2.4); captured 3.0.19",
        ("Verify return code: 21 (unable to verify the first certificate)",),
        priority=80,
        client_rank=80,
    ),
    WrapperEntry(
        "openssl-verify",
        "openssl-verify",
        ("openssl",),
        "openssl",
        r"(?:error \d{1,3} at \d{1,3} depth lookup|: verification failed)",
        "openssl apps/verify.c; captured 3.0.19",
        ("error 20 at 0 depth lookup: unable to get local issuer certificate",),
        priority=80,
        client_rank=80,
    ),
    WrapperEntry(
        "pip",
        "pip",
        _OSSL_W,
        "requests",
        r"(?:Could not fetch URL |There was a problem confirming the ssl certificate"
        r"|pip\._vendor|pip\._internal|Retrying \(Retry\(total=)",
        "pypa/pip src/pip/_internal/index/collector.py (read in pip 23.2.1); captured pip 23.2.1",
        (
            "Could not fetch URL https://localhost:1/simple/x/: There was a problem confirming the "
            "ssl certificate: HTTPSConnectionPool(host='localhost', port=1)",
        ),
        priority=75,
        client_rank=75,
        extra=((C.OUTDATED_STORE, "certifi-lacks-private-ca"),),
        questions=(Q_CERTIFI,),
    ),
    WrapperEntry(
        "requests",
        "requests",
        _OSSL_W,
        "requests",
        r"(?:requests\.exceptions\.|requests/adapters\.py|requests/sessions\.py)",
        "psf/requests exceptions.SSLError (ref §3.2); captured requests 2.34.2",
        ("requests.exceptions.SSLError: HTTPSConnectionPool(host='localhost', port=1)",),
        priority=65,
        client_rank=65,
        extra=((C.OUTDATED_STORE, "certifi-lacks-private-ca"),),
        questions=(Q_CERTIFI,),
    ),
    WrapperEntry(
        "httpx",
        "httpx",
        _OSSL_W,
        "requests",
        r"(?:httpx\.|httpcore\.)",
        "encode/httpx _config.py: SSL_CERT_FILE/SSL_CERT_DIR else certifi (ref §3.2)",
        ("httpx.ConnectError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed",),
        priority=65,
        client_rank=65,
        questions=(Q_CERTIFI,),
    ),
    WrapperEntry(
        "aiohttp",
        "aiohttp",
        _OSSL_W,
        "python",
        r"(?:aiohttp\.|ClientConnectorCertificateError|ClientConnectorSSLError)",
        "aio-libs/aiohttp client_exceptions.py (text as in aio-libs/aiohttp#955 reports)",
        (
            "aiohttp.client_exceptions.ClientConnectorCertificateError: Cannot connect to host "
            "example.com:443 ssl:True",
        ),
        priority=65,
        client_rank=65,
    ),
    WrapperEntry(
        "urllib3",
        "urllib3",
        _OSSL_W,
        "python",
        r"(?:urllib3\.exceptions|HTTPSConnectionPool\()",
        "urllib3 connectionpool.py MaxRetryError; captured urllib3 2.7.0",
        (
            "urllib3.exceptions.SSLError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify "
            "failed",
        ),
        priority=45,
        client_rank=45,
    ),
    WrapperEntry(
        "urllib",
        "urllib",
        _OSSL_W,
        "python",
        r"(?:<urlopen error |urllib\.error\.URLError)",
        "cpython Lib/urllib/request.py URLError; captured CPython 3.11.7",
        (
            "urllib.error.URLError: <urlopen error [SSL: CERTIFICATE_VERIFY_FAILED] certificate "
            "verify failed",
        ),
        priority=40,
        client_rank=40,
    ),
    WrapperEntry(
        "python",
        "python",
        _OSSL_W,
        "python",
        r"(?:\[SSL: [A-Z0-9_]{3,60}\]|\[X509: [A-Z0-9_]{3,60}\]|SSLCertVerificationError"
        r"|ssl\.SSLError|\(_ssl\.c:\d{1,6}\))",
        "cpython Modules/_ssl.c error format '[%s: %s] %s (%s:%d)'; captured CPython 3.11.7",
        (
            "ssl.SSLCertVerificationError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify "
            "failed",
        ),
        priority=20,
        client_rank=20,
    ),
    WrapperEntry(
        "ruby",
        "ruby",
        ("openssl",),
        "openssl",
        r"(?:SSL_connect returned=\d|OpenSSL::SSL::SSLError)",
        "ruby/openssl ext/openssl/ossl_ssl.c 'SSL_connect returned=%d errno=%d peeraddr=%s "
        "state=%s'",
        (
            "OpenSSL::SSL::SSLError: SSL_connect returned=1 errno=0 peeraddr=10.0.0.5:443 "
            "state=error: certificate verify failed (unable to get local issuer certificate)",
        ),
        priority=60,
        client_rank=60,
    ),
    WrapperEntry(
        "php",
        "php",
        ("openssl",),
        "openssl",
        r"(?:SSL operation failed with code \d|stream_socket_client\(\)|file_get_contents\(\))",
        "php/php-src ext/openssl/xp_ssl.c 'SSL operation failed with code %d. %s%s'",
        (
            "SSL operation failed with code 1. OpenSSL Error messages: error:0A000086:SSL "
            "routines::certificate verify failed",
        ),
        priority=60,
        client_rank=60,
    ),
    WrapperEntry(
        "npm",
        "npm",
        ("openssl", "node"),
        "node",
        r"npm (?:ERR!|error|WARN) ",
        "npm/cli lib/utils/error-message.js 'npm ERR! code %s'",
        ("npm ERR! code UNABLE_TO_GET_ISSUER_CERT_LOCALLY",),
        priority=75,
        client_rank=75,
        questions=(Q_NODE_CA,),
    ),
    WrapperEntry(
        "yarn",
        "yarn",
        ("openssl", "node"),
        "node",
        r"error An unexpected error occurred: ",
        "yarnpkg/yarn src/reporters (classic)",
        (
            'error An unexpected error occurred: "https://registry.yarnpkg.com/x: self-signed '
            'certificate in certificate chain".',
        ),
        priority=75,
        client_rank=75,
        questions=(Q_NODE_CA,),
    ),
    WrapperEntry(
        "node-fetch",
        "node-fetch",
        ("openssl", "node"),
        "node",
        r"FetchError: request to ",
        "node-fetch src/index.js 'request to %s failed, reason: %s'",
        (
            "FetchError: request to https://api.example.com/ failed, reason: unable to verify the "
            "first certificate",
        ),
        priority=60,
        client_rank=60,
        questions=(Q_NODE_CA,),
    ),
    WrapperEntry(
        "node",
        "node",
        ("openssl", "node"),
        "node",
        r"(?:node:_tls_wrap|TLSSocket\.|code: '[A-Z_]{5,60}'|ERR_TLS_|\[cause\]: |node:internal)",
        "nodejs/node lib/_tls_wrap.js onConnectSecure; captured node v20.20.2",
        ("    at TLSSocket.onConnectSecure (node:_tls_wrap:1699:34) {",),
        priority=30,
        client_rank=30,
        questions=(Q_NODE_CA,),
    ),
    WrapperEntry(
        "maven",
        "maven",
        ("java",),
        "java",
        r"(?:Could not transfer artifact|Could not resolve dependencies|Failed to execute goal"
        r"|from/to [^\s]{1,100} \(https://)",
        "apache/maven-resolver error messages",
        (
            "Could not transfer artifact org.x:y:pom:1 from/to central "
            "(https://repo.maven.apache.org/maven2): "
            "PKIX path building failed",
        ),
        priority=70,
        client_rank=70,
    ),
    WrapperEntry(
        "gradle",
        "gradle",
        ("java",),
        "java",
        r"(?:Could not (?:GET|HEAD|resolve|download) '|> Could not resolve )",
        "gradle dependency resolution errors",
        ("> Could not GET 'https://plugins.gradle.org/m2/x.pom'. Received fatal alert",),
        priority=70,
        client_rank=70,
    ),
    WrapperEntry(
        "java",
        "java",
        ("java",),
        "java",
        r"(?:javax\.net\.ssl\.|sun\.security\.|java\.security\.cert\.|at java\.base/)",
        "JSSE exception classes; captured OpenJDK 17.0.15",
        ("javax.net.ssl.SSLHandshakeException: PKIX path building failed",),
        priority=30,
        client_rank=30,
        questions=(Q_JAVA_STORE,),
    ),
    WrapperEntry(
        "reqwest",
        "reqwest",
        ("rustls", "openssl"),
        None,
        r"(?:error sending request for url \(|error trying to connect: )",
        "seanmonstar/reqwest error Display (as in astral-sh/uv#1819, atuinsh/atuin#1142)",
        (
            "error sending request for url (https://x.example/): error trying to connect: invalid "
            "peer certificate: UnknownIssuer",
        ),
        priority=50,
        client_rank=0,
    ),
    WrapperEntry(
        "uv",
        "uv",
        ("rustls",),
        "webpki",
        r"(?:uv::|astral|--native-tls)",
        "astral-sh/uv (rustls + webpki-roots unless --native-tls)",
        ("hint: try --native-tls",),
        priority=70,
        client_rank=70,
    ),
    WrapperEntry(
        "nuget",
        "nuget",
        ("dotnet", "openssl"),
        "openssl",
        r"(?:error NU1301|Unable to load the service index for source )",
        "NuGet/NuGet.Client NU1301 'Unable to load the service index for source %s.'",
        (
            "error NU1301: Unable to load the service index for source "
            "https://api.nuget.org/v3/index.json.",
        ),
        priority=70,
        client_rank=70,
    ),
    WrapperEntry(
        "dotnet",
        "dotnet",
        ("dotnet", "openssl"),
        "openssl",
        r"(?:System\.Net\.|System\.Security\.Authentication|HttpRequestException)",
        "dotnet/runtime System.Net.Http / SslStream exceptions (ref §3.6)",
        ("System.Net.Http.HttpRequestException: The SSL connection could not be established",),
        priority=30,
        client_rank=30,
    ),
)

# -- endpoints -------------------------------------------------------------------------

_URL = r"(?P<url>(?:https|wss|ldaps|imaps|smtps|pop3s|ftps)://[^\s\"'<>()\[\]{}\\,;`]{1,2000})"
HOSTS: tuple[HostRule, ...] = (
    HostRule(
        "go-url",
        "url",
        # Logfmt/JSON logs escape the quotes: Head \"https://...\".
        r'(?:Get|Head|Post|Put|Patch|Delete|Options) \\{0,3}"' + _URL,
        100,
        "Go url.Error 'Op \"URL\": err' (ref §1.6)",
        ('Get "https://reg.example:5000/v2/": x509',),
    ),
    HostRule(
        "urllib3-pool",
        "hostandport",
        r"HTTPSConnectionPool\(host='(?P<host>[^'\s]{1,253})', port=(?P<port>\d{1,5})\)",
        100,
        "urllib3 connectionpool.py; captured requests 2.34.2",
        ("HTTPSConnectionPool(host='localhost', port=443)",),
    ),
    HostRule(
        "aiohttp",
        "hostport",
        r"Cannot connect to host (?P<hostport>[^\s]{1,300}) ssl:",
        100,
        "aiohttp client_exceptions.ClientConnectorError",
        ("Cannot connect to host example.com:443 ssl:True",),
    ),
    HostRule(
        "git",
        "url",
        r"unable to access '" + _URL + "'",
        100,
        "git http.c; captured git 2.39.5",
        ("fatal: unable to access 'https://h.example/r.git/': x",),
    ),
    HostRule(
        "fetch-url",
        "url",
        r"(?:request to|Could not fetch URL|service index for source) " + _URL,
        95,
        "node-fetch, pip, NuGet",
        ("FetchError: request to https://api.example.com/x failed",),
    ),
    HostRule(
        "dial",
        "hostport",
        r"dial tcp (?P<hostport>\[[0-9A-Fa-f:.%]{2,60}\]:\d{1,5}|[A-Za-z0-9_.-]{1,253}:\d{1,5})",
        90,
        "Go net.OpError 'dial tcp host:port'",
        ("dial tcp 10.0.0.5:443: i/o timeout",),
    ),
    HostRule(
        "s_client",
        "hostport",
        r"-connect[ =](?P<hostport>\[[0-9A-Fa-f:.%]{2,60}\]:\d{1,5}"
        r"|[A-Za-z0-9_.-]{1,253}(?::\d{1,5})?)",
        90,
        "openssl s_client -connect host:port (a pasted command line)",
        ("openssl s_client -connect reg.example:5000 -showcerts",),
    ),
    HostRule(
        "peeraddr",
        "hostport",
        r"peeraddr=(?P<hostport>[0-9A-Fa-f:.\[\]]{2,60}:\d{1,5})",
        80,
        "ruby/openssl ossl_ssl.c",
        ("peeraddr=10.0.0.5:443 state=error",),
    ),
    HostRule(
        "curl-conn",
        "hostandport",
        r"in connection to (?P<host>[A-Za-z0-9_.:-]{1,253}):(?P<port>\d{1,5})",
        85,
        "curl lib/vtls/openssl.c 'in connection to %s:%d'",
        ("SSL_ERROR_SYSCALL in connection to example.com:443",),
    ),
    HostRule(
        "image",
        "image",
        r"(?:Failed to pull image|failed to pull and unpack image|failed to resolve reference"
        r'|pull access denied for|docker pull|initializing source docker://)[ "\\]{0,6}'
        r"(?P<image>[A-Za-z0-9][A-Za-z0-9_.:/@-]{0,499})",
        60,
        "kubelet/containerd/docker/containers-image image references (ref §3.7)",
        ('Failed to pull image "registry.internal.example.com/team/app:1.4"',),
    ),
    HostRule(
        "any-url", "url", _URL, 50, "any URL with a TLS scheme", ("see https://reg.example:8443/x",)
    ),
)

# URLs clients print that are never the endpoint (help pages).
URL_IGNORE: tuple[str, ...] = (
    "https://curl.se/docs/",  # curl src/tool_operate.c "More details here"
    "https://curl.haxx.se/docs/",
    "https://github.com/golang/go/issues",
    "https://docs.python.org/",
    "https://aka.ms/",
)

# Default ports by scheme (IANA registrations).
SCHEME_PORTS: Mapping[str, int] = {
    "https": 443,
    "wss": 443,
    "ldaps": 636,
    "imaps": 993,
    "smtps": 465,
    "pop3s": 995,
    "ftps": 990,
}

# The --client when the library alone decides.
LIBRARY_CLIENT: Mapping[str, str] = {
    "go": "go",
    "openssl": "openssl",
    "gnutls": "curl",
    "java": "java",
    "node": "node",
    "rustls": "webpki",
    "dotnet": "openssl",
    "python": "python",
}
