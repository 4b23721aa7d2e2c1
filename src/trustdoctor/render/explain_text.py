"""Text view of an :class:`~trustdoctor.model.explain.ExplainResult` (pure).

The English of ``explain``: one sentence per reason code, per question code
and per error class.  Placeholders (``{authority}``, ``{wanted}``, ``{path}``,
``{verify_code}``...) are filled from the match; a missing one renders as
"?" rather than failing.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..model.explain import ExplainMatch, ExplainResult
from .doc import BAD, BOLD, DIM, HEAD, WARN, Doc, Span

# What each error class means, stack-independently.
CLASS_TITLE: Mapping[str, str] = {
    "unknown-issuer": "the client found no trusted issuer for the server's chain",
    "first-cert-unverifiable": "the client could not find the issuer of the server's own "
    "certificate",
    "self-signed-leaf": "the server presented a self-signed certificate the client does not trust",
    "self-signed-in-chain": "the chain ends in a self-signed root the client does not trust",
    "issuer-not-anchor": "the chain reached a certificate in the store that is not a root",
    "invalid-ca": "a certificate that is not a CA signed another one",
    "bad-signature": "a signature in the chain does not verify",
    "insecure-algorithm": "a certificate is signed with an algorithm the client refuses",
    "weak-key": "a certificate's key is too small for the client",
    "expired": "a certificate in the chain has expired",
    "not-yet-valid": "a certificate in the chain is not valid yet",
    "validity": "a certificate is expired or not yet valid",
    "hostname-mismatch": "the certificate is not valid for the name the client asked for",
    "legacy-common-name": "the certificate names the host only in its Common Name",
    "name-constraints": "a CA's name constraints forbid this name",
    "name-constraint-bounds": "a CA's name constraints bound a subtree (a minimum or "
    "maximum), which OpenSSL does not support",
    "wrong-usage": "a certificate is not allowed for TLS server authentication",
    "path-too-long": "the chain is longer than a CA allows",
    "unhandled-critical-extension": "a certificate carries a critical extension the client does "
    "not know",
    "strict-profile": "a certificate breaks a strict X.509 rule this client enforces",
    "unparsable-certificate": "the client refuses to parse a certificate the server sent",
    "issuer-name-mismatch": "an issuer name does not match its issuer's subject byte for byte",
    "roots-unavailable": "the client could not load any trust anchors",
    "no-trust-store": "the client's CA file holds no certificates",
    "ca-file-unreadable": "the client could not read its CA file",
    "untrusted": "the store marks the root as not trusted",
    "verify-failed": "certificate verification failed (the message gives no detail)",
    "not-tls": "the port did not answer with TLS",
    "handshake-failed": "the TLS handshake failed before any certificate was judged",
    "peer-alert": "the peer refused the handshake with a certificate alert",
    "peer-rejected-certificate": "a client refused this server's certificate",
    "openssl-verify-error": "OpenSSL certificate verification failed",
}

# One line on why a message points at a cause.
REASON: Mapping[str, str] = {
    "private-root-not-in-store": "the chain ends at a private root this client's store does not "
    "hold",
    "server-omits-intermediate": "the server sends only its leaf; clients that do not fetch "
    "intermediates "
    "(Go, curl, Python, Java by default) cannot reach the root",
    "self-signed-server-cert": "the server's certificate is self-signed and not trusted as such",
    "empty-store-same-text": "an image with no CA bundle at all produces this very message",
    "bundle-not-rebuilt": "the root was added to an anchor directory but the bundle was not "
    "regenerated",
    "env-points-elsewhere": "SSL_CERT_FILE / SSL_CERT_DIR (or the client's own variable) points "
    "at another bundle",
    "inspecting-proxy": "a TLS-inspecting proxy re-signs traffic with its own root",
    "cert-expired": "a certificate of the chain is past its notAfter{not_after_note}",
    "cert-not-yet-valid": "a certificate of the chain is before its notBefore{not_before_note}",
    "client-clock-behind": "the client's clock is behind (a freshly issued certificate looks "
    "future-dated)",
    "expired-cross-sign-sent": "the server sends an old cross-signed intermediate that has expired",
    "store-lacks-new-root": "the client's store predates the root the chain now ends at",
    "name-not-in-san": "the certificate's subjectAltName does not list {wanted}",
    "trailing-dot": "{wanted} ends with a dot (a fully qualified name), which this client "
    "compares as part of the name: no certificate lists it — give the client the name "
    "without the dot (Go, curl, Node and Java drop it themselves)",
    "default-cert-without-sni": "the server returned its default certificate (wrong SNI or "
    "virtual host)",
    "proxy-cert-for-other-name": "a proxy answered with a certificate for another name",
    "ip-not-in-san": "the client connected by IP address and the certificate has no "
    "matching IP SAN",
    "cert-has-no-names": "the certificate has no subjectAltName at all",
    "go-ignores-cn": "Go (>= 1.15) ignores the Common Name; the name must be in a subjectAltName",
    "issuer-not-a-ca": "{authority_or_issuer} is not a CA (CA:FALSE, no basicConstraints, or no "
    "keyCertSign)",
    "wrong-cert-installed-as-ca": "the certificate installed as the CA named "
    "{authority_or_issuer} is not the "
    "CA itself (often the server's leaf was installed)",
    "v1-intermediate": "a version 1 certificate without basicConstraints acts as an intermediate",
    "ca-regenerated-same-name": "the client trusts a CA named {authority_or_issuer} whose key "
    "differs from "
    "the one that signed the chain (a CA regenerated under the same name)",
    "client-has-old-ca": "the client holds an old copy of a re-keyed CA",
    "server-sends-old-intermediate": "the server sends an intermediate from before the CA was "
    "re-keyed",
    "weak-signature-hash": "the chain is signed with SHA-1 or MD5, which this client refuses",
    "unsupported-key": "the chain uses a key or signature algorithm this client does not implement",
    "key-too-small": "a key in the chain is below the client's minimum size",
    "ca-constrained": "an issuing CA's name constraints exclude, or do not permit, this name",
    "subtree-bounds": "a CA gives a name-constraint subtree a minimum or maximum: OpenSSL "
    "refuses every name of that type below it (Go ignores the bounds)",
    "too-many-constraints": "Go gave up on very many name constraints (its 'unknown error')",
    "no-server-auth": "a certificate's extendedKeyUsage does not include serverAuth",
    "policy-constraints": "certificate policy constraints leave no valid chain",
    "path-length-exceeded": "a CA's pathLenConstraint is exceeded by the chain below it",
    "too-many-candidates": "too many candidate issuers (a huge bundle or a crafted chain)",
    "server-sends-extra-certs": "the server sends many unrelated certificates",
    "unknown-critical-extension": "a certificate marks an extension critical that the client does "
    "not implement",
    "strict-x509-rules": "the CA lacks a field strict verifiers require (critical "
    "basicConstraints, AKI, "
    "SKI, key usage) — Python 3.13 and webpki enforce this",
    "v1-cert-rejected": "a version 1 certificate is in the chain; webpki refuses them",
    "bad-der": "a certificate is not valid DER",
    "issuer-name-encoding-differs": "the child's issuer name and the parent's subject are encoded "
    "differently",
    "server-sends-wrong-issuer": "the server sends an intermediate that is not the leaf's issuer",
    "bundle-unreadable": "a CA bundle exists but could not be read{path_note}",
    "ssl-cert-file-not-a-file": "SSL_CERT_FILE names a directory or an unreadable file",
    "no-roots-loaded": "no root could be loaded from any default location",
    "ca-file-missing-or-unreadable": "the CA file{path_note} does not exist or is not readable",
    "env-points-at-missing-file": "an environment variable (SSL_CERT_FILE, CURL_CA_BUNDLE, "
    "REQUESTS_CA_BUNDLE...) names a file that is not there",
    "ca-file-has-no-pem": "the CA file holds no PEM certificate (empty, DER, or not a certificate)",
    "ca-file-empty-or-missing": "the client's CA file or directory is empty or missing",
    "gnutls-cafile-none": "'CAfile: none': this git/libcurl build found no CA bundle at all",
    "store-holds-intermediate-only": "the store holds the intermediate but not its root, and "
    "OpenSSL "
    "needs a self-signed anchor",
    "server-sends-private-root": "the server sends its private root, which the client does not "
    "trust",
    "trust-the-self-signed-cert": "trusting this exact certificate on the client would also work",
    "leaf-only-chain": "the server sent only its leaf and the leaf's issuer is not in the store",
    "leaf-issued-by-unknown-root": "the leaf is issued directly by a root the client lacks",
    "issuer-of-leaf-missing": "the missing issuer is the leaf's own (depth 0): an intermediate is "
    "absent",
    "issuer-of-intermediate-missing": "the missing issuer is above depth {depth}: the root is not "
    "trusted",
    "trust-settings-reject": "the trust settings of the store do not allow this root for TLS "
    "servers",
    "explicitly-distrusted": "the root is explicitly distrusted in the store",
    "java-no-aia-by-default": "Java does not fetch missing intermediates unless "
    "com.sun.security.enableAIAcaIssuers=true",
    "java-truststore-empty": "the JVM's truststore holds no trusted certificates",
    "java-truststore-missing": "javax.net.ssl.trustStore names a file that is missing (no "
    "fallback to cacerts)",
    "java-truststore-property": "-Djavax.net.ssl.trustStore points the JVM at another truststore",
    "jdk-own-cacerts": "a tarball JDK (Temurin, /opt/java) uses its own cacerts, not the OS store",
    "truststore-password-wrong": "the truststore password is wrong or the file is not a keystore",
    "webpki-roots-compiled-in": "the program uses the webpki-roots list compiled into it; the OS "
    "store "
    "is ignored",
    "dotnet-partial-chain": ".NET on Linux could not build the chain (an intermediate or the root "
    "is missing)",
    "ca-cert-served-as-leaf": "the server presents a CA certificate as its own",
    "peer-lacks-our-root": "the peer does not trust the root of this side's certificate",
    "we-omit-intermediate": "this side does not send its intermediate",
    "server-rejects-client-cert": "the server refused the client certificate (mutual TLS)",
    "server-verifies-client-cert": "this is a server verifying a client certificate (mutual TLS)",
    "server-wants-client-cert": "the server requires a client certificate",
    "plain-port": "the port speaks plain HTTP (or another protocol), not TLS",
    "proxy-answers-plain": "a proxy or load balancer answered in plain text",
    "no-common-parameters": "no common protocol version, cipher or signature algorithm",
    "middlebox-reset": "a firewall or proxy reset the connection during the handshake",
    "server-closed": "the server closed the connection during the handshake",
    "connection-reset": "the connection was reset",
    "registry-certs-d": "the daemon reads per-registry CAs from certs.d / hosts.toml, which may "
    "miss "
    "this registry",
    "containers-certs-d": "CRI-O/podman read per-registry CAs from the first certs.d directory "
    "that exists",
    "go-caches-pool": "the daemon is a Go process that loaded the system roots at start-up; a "
    "restart "
    "is needed after update-ca-certificates",
    "certifi-lacks-private-ca": "requests/pip use certifi's Mozilla bundle, which never holds a "
    "private CA",
}

QUESTION: Mapping[str, str] = {
    "server-sends-intermediate": "Does the server send its intermediate? (the next command counts "
    "what it presents)",
    "root-in-client-store": "Is the issuing root in this client's trust store?",
    "which-store-client-reads": "Which bundle does this client actually read (its own, the OS "
    "one, an override)?",
    "image-has-ca-bundle": "Does the image or host running the client have a CA bundle at all?",
    "env-overrides-set": "Are SSL_CERT_FILE, SSL_CERT_DIR, REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE or "
    "NODE_EXTRA_CA_CERTS set for this process?",
    "proxy-in-path": "Is a TLS-inspecting proxy in the path (is the issuer your proxy's CA)?",
    "same-name-different-key": "Was the CA regenerated under the same name (compare key "
    "identifiers)?",
    "issuer-is-ca": "Does the named issuer have basicConstraints CA:TRUE and keyCertSign?",
    "client-clock-right": "Is the client's clock right?",
    "which-cert-expired": "Which certificate expired: the leaf, an intermediate, or a cross-sign?",
    "san-covers-name": "Which names does the certificate list, and which name did the client use?",
    "sni-sent": "Does the client send the right SNI (servers return a default certificate "
    "otherwise)?",
    "bundle-readable": "Can the process read its CA bundle (permissions, SSL_CERT_FILE naming a "
    "directory)?",
    "daemon-restarted": "Was the daemon restarted after the system trust store changed?",
    "registry-certs-d": "Is there a /etc/docker/certs.d/<host[:port]>/ or "
    "/etc/containerd/certs.d/<host>/ "
    "entry for this registry?",
    "every-node": "Does every node that may pull this image trust the registry's CA?",
    "chain-signature-hash": "Which certificate of the chain is signed with SHA-1 or MD5?",
    "chain-key-sizes": "Which certificate has the small key?",
    "get-verify-code": "Which verify code is it? (the next command, or curl -v / openssl "
    "s_client, shows it)",
    "python-313-strict": "Is this Python 3.13+ (strict X.509 flags), and does the private CA have "
    "critical basicConstraints, AKI and SKI?",
    "java-truststore": "Which truststore does the JVM use (javax.net.ssl.trustStore, jssecacerts, "
    "the JDK's own cacerts)?",
    "node-extra-ca": "Is NODE_EXTRA_CA_CERTS set when the process starts (Node ignores the OS "
    "store "
    "by default)?",
    "git-ca-config": "What do http.sslCAInfo / GIT_SSL_CAINFO point at?",
    "certifi-bundle": "Does the process use certifi's bundle, or a distro-patched one?",
    "kubeconfig-ca": "Does the kubeconfig's certificate-authority(-data) match the API "
    "server's CA?",
    "port-speaks-tls": "Does this port speak TLS at all (or plain HTTP, or STARTTLS)?",
    "client-cert-required": "Does the server require a client certificate, and which CA must "
    "issue it?",
    "which-peer-rejects": "Which peer sent the alert, and which store does it use?",
    "webpki-roots": "Is the program built with webpki-roots (compiled-in list) or native roots?",
    "name-constraints": "Which CA carries name constraints, and do they cover this name?",
    "eku-server-auth": "Does every certificate's extendedKeyUsage allow serverAuth?",
}

LIBRARY_NAME: Mapping[str, str] = {
    "go": "Go crypto/x509",
    "openssl": "OpenSSL",
    "gnutls": "GnuTLS",
    "java": "Java JSSE",
    "node": "Node.js",
    "rustls": "rustls/webpki",
    "dotnet": ".NET",
    "python": "Python ssl",
}

MAX_CAUSES_SHOWN = 5


class _Params(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "?"


def params(m: ExplainMatch) -> dict[str, str]:
    """The placeholders of one match's sentences."""
    d = _Params({k: str(v) for k, v in m.detail.items()})
    d.setdefault("wanted", m.host or "the name the client used")
    d["authority_or_issuer"] = f'"{m.authority}"' if m.authority else "the issuer"
    d["path_note"] = f" ({m.detail['path']})" if m.detail.get("path") else ""
    d["not_after_note"] = f" ({m.detail['not_after']})" if m.detail.get("not_after") else ""
    d["not_before_note"] = f" ({m.detail['not_before']})" if m.detail.get("not_before") else ""
    if m.host:
        d["host"] = m.host
    return d


def reason_text(m: ExplainMatch, reason: str) -> str:
    return REASON.get(reason, reason).format_map(params(m))


def _stack_line(m: ExplainMatch) -> str:
    lib = LIBRARY_NAME.get(m.library, m.library)
    if m.stack == m.library:
        return lib
    if m.stack == "go-tls":
        return "Go crypto/tls (>= 1.20)"
    return f"{m.stack} ({lib})"


def render_text(result: ExplainResult) -> Doc:
    """Build the text report of ``result``."""
    doc = Doc()
    if not result.matches:
        doc.line(
            Span("nothing recognised", BAD),
            f": no TLS certificate error found in {result.lines} line(s)",
        )
        _unrecognised(doc, result)
        return doc
    for i, m in enumerate(result.matches, 1):
        seen = f" · seen {m.count} times" if m.count > 1 else ""
        doc.line(Span(f"[{i}] line {m.line}", HEAD), f" · {_stack_line(m)}{seen}")
        doc.line("    ", Span(m.text, DIM))
        doc.line(
            "    what:      ", Span(m.error_class, BOLD), f" — {CLASS_TITLE.get(m.error_class, '')}"
        )
        if m.host:
            ep = (
                m.host
                if m.port is None
                else (f"[{m.host}]:{m.port}" if ":" in m.host else f"{m.host}:{m.port}")
            )
            note = "" if m.port is not None else "  (no port in the message: 443 assumed)"
            sn = f"  (name wanted: {m.servername})" if m.servername else ""
            doc.line(f"    endpoint:  {ep}{sn}{note}")
        if m.authority:
            doc.line(f'    authority: "{m.authority}"  (Go\'s candidate issuer)')
        if m.hint:
            doc.line(f"    hint:      {m.hint}")
        if "verify_code" in m.detail:
            doc.line(f"    code:      OpenSSL verify code {m.detail['verify_code']}")
        doc.line(
            "    likely causes"
            + (
                ""
                if m.narrows
                else " (this message does not tell them apart; the next command does)"
            )
            + ":"
        )
        for n, c in enumerate(m.causes[:MAX_CAUSES_SHOWN], 1):
            doc.line(
                f"      {n}. ",
                Span(c.code.value, WARN if n == 1 else None),
                f" — {reason_text(m, c.reason)}",
            )
        more = len(m.causes) - MAX_CAUSES_SHOWN
        if more > 0:
            doc.line(Span(f"      (+{more} less likely; --format json lists them)", DIM))
        if m.questions:
            doc.line("    to tell them apart:")
            for q in m.questions:
                doc.line(f"      - {QUESTION.get(q, q)}")
        label = "next:" if m.next.runnable else "next (fill in the placeholder):"
        doc.line(f"    {label} ", Span(m.next.command, BOLD))
        doc.blank()
    total = sum(m.count for m in result.matches)
    doc.line(
        f"{len(result.matches)} distinct failure(s), {total} occurrence(s), in {result.lines} "
        f"line(s)"
    )
    if result.dropped:
        doc.line(Span(f"{result.dropped} more distinct failure(s) not kept (limit reached)", WARN))
    _unrecognised(doc, result)
    return doc


def _unrecognised(doc: Doc, result: ExplainResult) -> None:
    if not result.unrecognised_count:
        return
    doc.line(
        Span(
            f"{result.unrecognised_count} other record(s) look TLS-related but were not "
            f"recognised, e.g.:",
            DIM,
        )
    )
    for u in result.unrecognised:
        doc.line(Span(f"  line {u.line}: {u.text}", DIM))
