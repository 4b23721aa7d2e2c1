"""Client verification policies as data.

Clients disagree on what they check and in which order they report it; the
engine evaluates a chain under a named :class:`Policy`.  Every field cites the
client code it mirrors.  Sources: /work/shared/reference/truststores.md §1.5
(Go ``crypto/x509`` verify.go), §2.3 (OpenSSL ``x509_vfy.c`` build_chain /
verify_chain), pylibs.md §1 (cryptography's webpki verifier).
"""

from __future__ import annotations

from collections.abc import Mapping

from .. import clients
from ..errors import UsageError
from ..model.record import record


@record
class Policy:
    """What one family of clients checks.

    Attributes:
        name: ``go``, ``openssl`` or ``webpki``.
        partial_chain: any trusted certificate may end a path.  Go
            (cert_pool: every cert in Roots is an anchor) and cryptography do
            this; OpenSSL without X509_V_FLAG_PARTIAL_CHAIN needs a
            self-signed anchor (else error 2).
        cn_fallback: the subject CN is matched when the leaf has no DNS SAN
            (OpenSSL X509_check_host; Go ≥1.15 ignores the CN).
        require_san: a leaf without subjectAltName is rejected outright (webpki).
        stages: the order in which the client reports problems; the first
            stage holding a problem names the primary cause.
        reject_sha1: SHA-1 signatures (on anything but a self-signed anchor)
            are refused (Go ≥1.18; OpenSSL 3 at security level ≥1; webpki).
        min_rsa_bits: smallest RSA modulus accepted on any certificate.
        leaf_key_usage: the leaf keyUsage, when present, must allow TLS
            server keys (OpenSSL ssl_server purpose; webpki).  Go ignores it.
        ca_eku: CA certificates carrying an EKU must allow serverAuth (Go
            checkChainForKeyUsage; OpenSSL xku_reject on every cert).
        any_eku_ok: anyExtendedKeyUsage satisfies serverAuth (Go yes; OpenSSL's
            xku_reject does not count it).
        v1_intermediates: v1/v2 certificates may act as intermediates
            (Go: NotAuthorizedToSign; OpenSSL: only self-signed v1 are CAs).
        v1_anchors: a v1 self-signed certificate may be a trust anchor.
        max_intermediates: longest chain (None: unbounded; webpki 8; OpenSSL 100).
        require_leaf_aki: the leaf must carry an AKI (webpki profile).
        strict_profile: also cross-check with cryptography's RFC 5280/CABF
            verifier and apply the profile rules it leaves out (webpki only).
        stop_at_self_signed: a self-signed untrusted certificate ends the
            search (OpenSSL build_chain); Go and cryptography look for a
            parent of any certificate.
        loop_by_name_and_key: a candidate with the subject and key of a
            certificate already on the path is a loop (Go ``alreadyInChain``:
            subject, public key and SANs); others compare whole certificates.
        anchor_constraints: the trust anchor's own pathLenConstraint and name
            constraints bind the path (Go, OpenSSL); Java's PKIX takes an
            anchor as a name and a key (``TrustAnchor``): measured, JDK 17/21
            accepts a path under a root limited to pathlen 0 or to other
            names (a root with cA false it still refuses).
        leaf_ku_signature: a leaf keyUsage must include digitalSignature (the
            key signs the handshake: TLS 1.3, ECDHE): Java's end-entity check
            ("KeyUsage does not allow digital signatures"); OpenSSL and Go
            accept keyEncipherment or keyAgreement alone.
        auth_level: the OpenSSL security level the client verifies at
            (``check_auth_level``; ``min_rsa_bits`` follows it): 2 from
            Debian's and RHEL's openssl.cnf, 1 where that file is not read
            (:data:`SECURITY_LEVEL`).
        x509_strict: OpenSSL's X509_V_FLAG_X509_STRICT, the RFC 5280
            profile checks (a CA's basicConstraints critical, its keyUsage
            and SKI present, an AKI below the top...): Python ≥ 3.13's
            ``create_default_context()`` sets it with
            X509_V_FLAG_PARTIAL_CHAIN (``partial_chain``), cpython#107361.
        wildcards: how a ``*`` in a certificate name matches
            (:func:`~trustdoctor.engine.hostnames.dns_match`): ``strict``, the
            whole left-most label over two labels or more; ``java``, JSSE's.
    """

    name: str
    partial_chain: bool
    cn_fallback: bool
    require_san: bool
    stages: tuple[str, ...]
    reject_sha1: bool
    min_rsa_bits: int
    leaf_key_usage: bool
    ca_eku: bool
    any_eku_ok: bool
    v1_intermediates: bool
    v1_anchors: bool
    max_intermediates: int | None
    require_leaf_aki: bool
    strict_profile: bool
    stop_at_self_signed: bool = False
    loop_by_name_and_key: bool = False
    wildcards: str = "strict"
    anchor_constraints: bool = True
    leaf_ku_signature: bool = False
    auth_level: int = 2
    x509_strict: bool = False
    version: str | None = None
    behaviour: tuple[tuple[str, object], ...] = ()

    @property
    def settings(self) -> dict[str, object]:
        """The release's versioned behaviour (engine/versions.py), as a dict."""
        return dict(self.behaviour)


# Stage names used in ``Policy.stages``; rules.py maps each problem to one.
LEAF_TIME = "leaf-time"  # validity period / critical extensions of the leaf
HOSTNAME = "hostname"
CHAIN = "chain"  # finding an issuer path to an anchor, and candidates' validity
EXTENSIONS = "extensions"  # CA flags, path length, purpose (OpenSSL check_chain_extensions)
LEVEL = "level"  # key sizes and digest strength (OpenSSL check_auth_level)
SIGNATURES = "signatures"  # signatures and validity (OpenSSL internal_verify)
NAMES = "names"  # name constraints
USAGE = "usage"  # EKU after the chain is built (Go checkChainForKeyUsage)

POLICIES: Mapping[str, Policy] = {
    # Go crypto/x509 Verify: leaf isValid → VerifyHostname → buildChains
    # (candidates' isValid errors win over UnknownAuthority) → EKU filtering.
    "go": Policy(
        name="go",
        partial_chain=True,
        cn_fallback=False,
        require_san=False,
        stages=(LEAF_TIME, HOSTNAME, CHAIN, NAMES, EXTENSIONS, LEVEL, SIGNATURES, USAGE),
        reject_sha1=True,
        min_rsa_bits=1024,  # crypto/rsa refuses <1024-bit keys since Go 1.24
        leaf_key_usage=False,
        ca_eku=True,
        any_eku_ok=True,
        v1_intermediates=False,
        v1_anchors=True,
        max_intermediates=None,
        require_leaf_aki=False,
        strict_profile=False,
        loop_by_name_and_key=True,
    ),
    # OpenSSL 3 verify_chain: build_chain → check_extensions → check_auth_level
    # → check_id (host) → internal_verify (signatures, times) → name constraints.
    # Security level 2 is Debian's and RHEL's default (openssl.cnf), hence 2048.
    "openssl": Policy(
        name="openssl",
        partial_chain=False,
        cn_fallback=True,
        require_san=False,
        stages=(CHAIN, EXTENSIONS, LEVEL, HOSTNAME, SIGNATURES, LEAF_TIME, NAMES, USAGE),
        reject_sha1=True,
        min_rsa_bits=2048,
        leaf_key_usage=True,
        ca_eku=True,
        any_eku_ok=False,
        v1_intermediates=False,
        v1_anchors=True,
        max_intermediates=100,
        require_leaf_aki=False,
        strict_profile=False,
        stop_at_self_signed=True,
    ),
    # RFC 5280 + CA/Browser Forum, as cryptography's PolicyBuilder applies them.
    "webpki": Policy(
        name="webpki",
        partial_chain=True,
        cn_fallback=False,
        require_san=True,
        stages=(LEAF_TIME, HOSTNAME, USAGE, CHAIN, EXTENSIONS, LEVEL, SIGNATURES, NAMES),
        reject_sha1=True,
        min_rsa_bits=2048,
        leaf_key_usage=True,
        ca_eku=True,
        any_eku_ok=False,
        v1_intermediates=False,
        v1_anchors=False,
        max_intermediates=8,
        require_leaf_aki=True,
        strict_profile=True,
    ),
}

# Java's PKIX (sun.security.provider.certpath) as used by JSSE: reports the
# path-building failure first like OpenSSL, but any trusted certificate is a
# TrustAnchor (no self-signed root needed), jdk.certpath.disabledAlgorithms
# (java.security) refuses RSA < 1024 and MD2/MD5, and SHA-1 only for chains
# ending at a JDK-bundled root ("SHA1 jdkCA & usage TLSServer") — a private
# CA signing with SHA-1 still works.  HTTPS host checks fall back to the CN
# when there is no DNS SAN (RFC 2818, sun.security.util.HostnameChecker).
POLICIES = {
    **POLICIES,
    "java": Policy(
        name="java",
        partial_chain=True,
        cn_fallback=True,
        require_san=False,
        stages=(CHAIN, EXTENSIONS, LEVEL, SIGNATURES, LEAF_TIME, NAMES, USAGE, HOSTNAME),
        reject_sha1=False,
        min_rsa_bits=1024,
        leaf_key_usage=True,
        ca_eku=False,  # PKIX checks the EKU of the end entity only (measured, JDK 17/21)
        any_eku_ok=True,
        v1_intermediates=False,
        v1_anchors=True,
        max_intermediates=None,
        require_leaf_aki=False,
        strict_profile=False,
        wildcards="java",
        anchor_constraints=False,
        leaf_ku_signature=True,
    ),
}

# Clients of the OpenSSL family that run at another security level than the
# system's openssl.cnf sets (Debian's and RHEL's: 2).  Node (≥ 18) reads only
# its own ``nodejs_conf`` section of that file unless --openssl-shared-config,
# so OpenSSL's built-in level 1 applies: measured, Debian's node 20 (system
# libcrypto 3.0.19) accepts an RSA-1024 leaf that Python, curl and
# `openssl s_client` refuse (tests/network/test_client_texts.py).
SECURITY_LEVEL: Mapping[str, int] = {"node": 1}
# The smallest RSA key each level accepts (OpenSSL's 80/112/128/192/256 bits).
LEVEL_RSA_BITS: Mapping[int, int] = {0: 0, 1: 1024, 2: 2048, 3: 3072, 4: 7680, 5: 15360}


# Clients that build their TLS context with a library of their own rather than
# ``ssl.create_default_context()``: the Python release's default verify flags
# (3.13: X509_STRICT, PARTIAL_CHAIN) reach them only from the library release
# that copies them (engine/versions.py ``python_default_flags``).  httpx calls
# create_default_context itself (httpx/_config.py), so it has no entry.
FLAG_CARRIERS: Mapping[str, str] = {"requests": "urllib3"}


def policy_for(
    client: str,
    *,
    version: str | None = None,
    godebug: Mapping[str, str] | None = None,
    libraries: Mapping[str, str] | None = None,
) -> Policy:
    """The policy ``client`` verifies with (its row in :mod:`trustdoctor.clients`),
    at ``version`` (the newest release by default).

    ``godebug``: GODEBUG settings of the Go process (name → value), as data;
    they matter only for Go clients.  ``libraries``: releases of the libraries
    the client builds its context with (``{"urllib3": "2.3"}``), newest when
    not given.  ``UsageError`` for an unknown client, one that verifies
    nothing, or an unreadable version.
    """
    from ..model.record import replace
    from .versions import NEWEST, parse_version, settings

    row = clients.client(client)
    if row.policy is None:
        raise UsageError(f"{client!r} is a fix target, not a verifier")
    base = POLICIES[row.policy]
    family = base.name
    if version is not None:
        parse_version(version)
    # The version asked is the client's own release: it dates its verifier
    # only when the client is that verifier (go, openssl, webpki); a client
    # built on another's library (curl, Python, Node on OpenSSL) has its own
    # changes, and its verifier is taken at the newest modelled release.
    own = row.texts != family
    b = settings(family, None if own else version, godebug if family == "go" else None)
    if own:
        b.update(settings(row.texts, version))
    carrier = FLAG_CARRIERS.get(row.name)
    if carrier is not None:
        lib = settings(carrier, (libraries or {}).get(carrier))
        if not lib.get("python_default_flags"):
            b.update(x509_strict=False, partial_chain=False)
    level = SECURITY_LEVEL.get(row.name)
    if level is not None:
        base = replace(base, auth_level=level, min_rsa_bits=LEVEL_RSA_BITS[level])
    return replace(
        base,
        x509_strict=base.x509_strict or bool(b.get("x509_strict")),
        partial_chain=base.partial_chain or bool(b.get("partial_chain")),
        # The release shown is the client's own where it has one (curl 8.17,
        # Node 24...), else its verifier's (Go 1.27, OpenSSL 3.0).
        version=version or NEWEST.get(row.texts) or NEWEST.get(family),
        behaviour=tuple(sorted(b.items())),
        reject_sha1=base.reject_sha1 and not b.get("allow_sha1", False),
    )
