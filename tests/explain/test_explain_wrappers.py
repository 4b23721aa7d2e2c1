"""``explain`` on hand-collected messages of programs not run in the tests.

Each case names its source.  Where a program only relays a verifier's error
(kubelet, containerd, docker, helm...), the inner error text is one the real
verifier produces (captured in test_explain_corpus.py) and the wrapper text
is the program's own format string, cited.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from trustdoctor.explain.match import explain


@dataclass(frozen=True)
class Case:
    id: str
    text: str
    stack: str
    client: str
    error_class: str
    host: str | None
    port: int | None
    truth: str  # a cause that must be among the top candidates (all, if not narrowed)
    source: str
    authority: str | None = None


GO_UA = "x509: certificate signed by unknown authority"

CASES = [
    Case(
        "kubelet-event",
        "  Warning  Failed     12s (x2 over 26s)  kubelet            Failed to pull image "
        '"registry.internal.example.com/team/app:1.4": rpc error: code = Unknown desc = failed to '
        'pull '
        'and unpack image "registry.internal.example.com/team/app:1.4": failed to resolve '
        'reference '
        '"registry.internal.example.com/team/app:1.4": failed to do request: Head '
        '"https://registry.internal.example.com/v2/team/app/manifests/1.4": tls: failed to verify '
        f"certificate: {GO_UA}",
        "kubelet",
        "containerd",
        "unknown-issuer",
        "registry.internal.example.com",
        443,
        "daemon-store",
        "kubectl describe pod event; containerd image_pull.go:289, resolver.go:719 "
        "(truststores.md §3.7)",
    ),
    Case(
        "kubelet-journal-port",
        'Nov 28 04:08:00 node1 kubelet[812]: E1128 04:08:00.123456     812 pod_workers.go:1298] '
        '"Error '
        'syncing pod" err="failed to \\"StartContainer\\" for \\"app\\" with ErrImagePull: \\"rpc '
        'error: '
        'code = Unknown desc = failed to pull and unpack image '
        '\\\\\\"registry.internal.example.com:5000/team/'
        'app:1.4\\\\\\": failed to resolve reference ... failed to do request: Head '
        '\\\\\\"https://registry.internal.example.com:5000/v2/team/app/manifests/1.4\\\\\\": tls: '
        'failed to '
        f'verify certificate: {GO_UA}\\""',
        "kubelet",
        "containerd",
        "unknown-issuer",
        "registry.internal.example.com",
        5000,
        "untrusted-root",
        "kubelet journald line (pod_workers.go 'Error syncing pod') quoting the containerd error",
    ),
    Case(
        "kubelet-image-only",
        'Failed to pull image "registry.internal.example.com:5000/team/app:1.4": rpc error: code '
        '= Unknown '
        f"desc = {GO_UA}",
        "kubelet",
        "containerd",
        "unknown-issuer",
        "registry.internal.example.com",
        5000,
        "untrusted-root",
        "kubelet event without the containerd URL: the registry comes from the image reference",
    ),
    Case(
        "containerd-journal",
        'Nov 28 04:08:00 node1 containerd[633]: time="2026-11-28T04:08:00Z" level=error '
        'msg="PullImage '
        '\\"reg.example.com/app:1\\" failed" error="failed to pull and unpack image '
        '\\"reg.example.com/app:1'
        '\\": failed to resolve reference \\"reg.example.com/app:1\\": failed to do request: Head '
        '\\"https://reg.example.com/v2/app/manifests/1\\": tls: failed to verify certificate: '
        'x509: '
        'certificate signed by unknown authority (possibly because of \\"x509: ECDSA verification '
        'failure\\" '
        'while trying to verify candidate authority certificate \\"Corp Root CA\\")"',
        "containerd",
        "containerd",
        "bad-signature",
        "reg.example.com",
        443,
        "bad-signature",
        "containerd CRI log line (level=error msg=PullImage); Go hint text from verify.go",
        authority="Corp Root CA",
    ),
    Case(
        "crio-podman-nested",
        "Error: initializing source docker://localhost/web:latest:\n"
        "  pinging container registry localhost:\n"
        '    Get "https://localhost/v2/":\n'
        "      tls: failed to verify certificate:\n"
        "        x509: certificate is valid for *.apps-crc.testing, not localhost",
        "cri-o/podman",
        "crio",
        "hostname-mismatch",
        "localhost",
        443,
        "hostname-mismatch",
        "podman 5 nested error rendering of containers/image 'pinging container registry %s' "
        "(as quoted in a public troubleshooting note)",
    ),
    Case(
        "docker-pull",
        'Error response from daemon: Get "https://reg.example.com:5000/v2/": tls: failed to verify '
        f"certificate: {GO_UA}",
        "docker",
        "docker",
        "unknown-issuer",
        "reg.example.com",
        5000,
        "daemon-store",
        "docker CLI relaying the daemon error (truststores.md §3.7)",
    ),
    Case(
        "kubectl",
        f"Unable to connect to the server: tls: failed to verify certificate: {GO_UA}",
        "kubectl",
        "kubectl",
        "unknown-issuer",
        None,
        None,
        "untrusted-root",
        "kubectl pkg/cmd/util/helpers.go 'Unable to connect to the server: %v'",
    ),
    Case(
        "helm-cluster",
        'Error: Kubernetes cluster unreachable: Get "https://10.0.0.1:6443/version": x509: '
        'certificate is '
        "valid for kubernetes, kubernetes.default, not 10.0.0.1",
        "helm",
        "go",
        "hostname-mismatch",
        "10.0.0.1",
        6443,
        "hostname-mismatch",
        "helm 'Kubernetes cluster unreachable: %v' (truststores.md §3.7)",
    ),
    Case(
        "helm-repo",
        'Error: looks like "https://charts.example.com" is not a valid chart repository or cannot '
        'be '
        'reached: Get "https://charts.example.com/index.yaml": x509: certificate has expired or '
        'is not '
        "yet valid: current time 2026-11-28T04:08:00Z is after 2026-11-01T00:00:00Z",
        "helm",
        "go",
        "expired",
        "charts.example.com",
        443,
        "expired",
        "helm pkg/repo chartrepo.go (truststores.md §3.7)",
    ),
    Case(
        "terraform",
        "Error: Failed to query available provider packages\n\nCould not retrieve the list of "
        "available "
        "versions for provider hashicorp/aws: could not connect to registry.terraform.io: failed "
        "to "
        'request discovery document: Get '
        '"https://registry.terraform.io/.well-known/terraform.json": '
        f"tls: failed to verify certificate: {GO_UA}",
        "terraform",
        "go",
        "unknown-issuer",
        "registry.terraform.io",
        443,
        "intercepted",
        "terraform internal/getproviders (truststores.md §3.7); behind an inspecting proxy",
    ),
    Case(
        "vault",
        'Error checking seal status: Get "https://127.0.0.1:8200/v1/sys/seal-status": x509: cannot '
        "validate certificate for 127.0.0.1 because it doesn't contain any IP SANs",
        "vault",
        "go",
        "hostname-mismatch",
        "127.0.0.1",
        8200,
        "hostname-mismatch",
        "vault CLI 'Error checking seal status: %s'; Go HostnameError text",
    ),
    Case(
        "git-openssl",
        "fatal: unable to access 'https://git.example.com/team/repo.git/': SSL certificate "
        "problem: "
        "self-signed certificate in certificate chain",
        "git",
        "curl",
        "self-signed-in-chain",
        "git.example.com",
        443,
        "untrusted-root",
        "git http.c over an OpenSSL libcurl (truststores.md §3.7)",
    ),
    Case(
        "git-gnutls-none",
        "fatal: unable to access 'https://git.example.com/r.git/': server certificate verification "
        "failed. CAfile: none CRLfile: none",
        "git",
        "curl",
        "no-trust-store",
        "git.example.com",
        443,
        "no-trust-store",
        "curl gtls.c 'CAfile: %s CRLfile: %s' (truststores.md §2.5): no CA bundle found",
    ),
    Case(
        "git-lfs",
        'batch response: Post "https://git.example.com/team/repo.git/info/lfs/objects/batch": '
        f"{GO_UA}",
        "git-lfs",
        "go",
        "unknown-issuer",
        "git.example.com",
        443,
        "untrusted-root",
        "git-lfs lfshttp (Go)",
    ),
    Case(
        "go-get",
        'go: example.com/mod@v1.2.3: unrecognized import path "example.com/mod": https fetch: Get '
        f'"https://example.com/mod?go-get=1": {GO_UA}',
        "go-command",
        "go",
        "unknown-issuer",
        "example.com",
        443,
        "untrusted-root",
        "cmd/go vcs.go 'unrecognized import path %q: %v'",
    ),
    Case(
        "go-sha1",
        'Get "https://old.example.com/": x509: certificate signed by unknown authority (possibly '
        'because '
        'of "x509: cannot verify signature: insecure algorithm SHA1-RSA (temporarily override with '
        'GODEBUG=x509sha1=1)" while trying to verify candidate authority certificate "Old '
        '\\"Legacy\\" CA")',
        "go",
        "go",
        "insecure-algorithm",
        "old.example.com",
        443,
        "insecure-algorithm",
        "Go 1.18-1.23 SHA-1 rejection (truststores.md §1.6); %q-escaped authority",
        authority='Old "Legacy" CA',
    ),
    Case(
        "go-roots",
        "x509: failed to load system roots and no roots provided; open "
        "/etc/ssl/certs/ca-certificates.crt: "
        "permission denied",
        "go",
        "go",
        "roots-unavailable",
        None,
        None,
        "unreadable-file",
        "Go SystemRootsError (truststores.md §1.6, README item 6)",
    ),
    Case(
        "go-server",
        "2026/11/28 04:08:00 http: TLS handshake error from 10.1.2.3:51514: remote error: tls: "
        "unknown "
        "certificate authority",
        "go-server",
        "go",
        "peer-rejected-certificate",
        None,
        None,
        "untrusted-root",
        "net/http server.go 'http: TLS handshake error from %s: %v'",
    ),
    Case(
        "pip",
        "WARNING: Retrying (Retry(total=4, connect=None, read=None, redirect=None, status=None)) "
        "after "
        "connection broken by 'SSLError(SSLCertVerificationError(1, '[SSL: "
        "CERTIFICATE_VERIFY_FAILED] "
        "certificate verify failed: unable to get local issuer certificate (_ssl.c:1006)'))': "
        "/simple/flask/",
        "pip",
        "requests",
        "unknown-issuer",
        None,
        None,
        "outdated-store",
        "pip retry warning (urllib3 connectionpool.py)",
    ),
    Case(
        "httpx",
        "httpx.ConnectError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: unable "
        "to get "
        "local issuer certificate (_ssl.c:1006)",
        "httpx",
        "requests",
        "unknown-issuer",
        None,
        None,
        "untrusted-root",
        "httpx maps ssl errors to ConnectError (httpcore _exceptions.map_exceptions)",
    ),
    Case(
        "aiohttp",
        "aiohttp.client_exceptions.ClientConnectorCertificateError: Cannot connect to host "
        "api.example.com:8443 ssl:True [SSLCertVerificationError: (1, '[SSL: "
        "CERTIFICATE_VERIFY_FAILED] "
        "certificate verify failed: certificate has expired (_ssl.c:1000)')]",
        "aiohttp",
        "python",
        "expired",
        "api.example.com",
        8443,
        "expired",
        "aiohttp ClientConnectorCertificateError (text as in Gozargah/Marzban#1947)",
    ),
    Case(
        "dotnet",
        "System.Net.Http.HttpRequestException: The SSL connection could not be established, see "
        "inner "
        "exception.\n ---> System.Security.Authentication.AuthenticationException: The remote "
        "certificate "
        "is invalid because of errors in the certificate chain: PartialChain",
        "dotnet",
        "openssl",
        "unknown-issuer",
        None,
        None,
        "missing-intermediate",
        "dotnet SslStream (truststores.md §3.6; aws/aws-sdk-net#3115)",
    ),
    Case(
        "nuget",
        "error NU1301: Unable to load the service index for source "
        "https://nuget.corp.example/v3/index.json.\n"
        "  The SSL connection could not be established, see inner exception.\n"
        "  The remote certificate is invalid because of errors in the certificate chain: "
        "UntrustedRoot",
        "nuget",
        "openssl",
        "self-signed-in-chain",
        "nuget.corp.example",
        443,
        "untrusted-root",
        "NuGet NU1301 with its inner exceptions indented",
    ),
    Case(
        "rustls-reqwest",
        "error sending request for url (https://x.example.com/config): error trying to connect: "
        "invalid "
        "peer certificate: UnknownIssuer",
        "reqwest",
        "webpki",
        "unknown-issuer",
        "x.example.com",
        443,
        "outdated-store",
        "reqwest + rustls Display (rustic-rs/rustic#679; truststores.md §3.5)",
    ),
    Case(
        "rustls-name",
        'invalid peer certificate: certificate not valid for name "reg.local"; certificate is '
        'only valid '
        'for DnsName("other.local")',
        "rustls",
        "webpki",
        "hostname-mismatch",
        "reg.local",
        None,
        "hostname-mismatch",
        "rustls 0.23 NotValidForNameContext Display (truststores.md §3.5)",
    ),
    Case(
        "npm",
        "npm ERR! code UNABLE_TO_GET_ISSUER_CERT_LOCALLY\n"
        "npm ERR! errno UNABLE_TO_GET_ISSUER_CERT_LOCALLY\n"
        "npm ERR! request to https://registry.npmjs.org/left-pad failed, reason: unable to get "
        "local "
        "issuer certificate",
        "npm",
        "node",
        "unknown-issuer",
        "registry.npmjs.org",
        443,
        "untrusted-root",
        "npm error-message.js 'npm ERR! code %s' + node-fetch reason",
    ),
    Case(
        "java-spring",
        "org.springframework.web.client.ResourceAccessException: I/O error on GET request for "
        '"https://api.corp.example:9443/v1/x": PKIX path building failed: '
        'sun.security.provider.certpath.'
        "SunCertPathBuilderException: unable to find valid certification path to requested target",
        "java",
        "java",
        "unknown-issuer",
        "api.corp.example",
        9443,
        "untrusted-root",
        "Spring RestTemplate wrapping the JSSE message (captured inner text, OpenJDK 17)",
    ),
    Case(
        "maven",
        "[ERROR] Failed to execute goal on project app: Could not resolve dependencies: Could not "
        "transfer "
        "artifact org.x:y:pom:1.0 from/to central (https://repo.maven.apache.org/maven2): PKIX "
        "path "
        "building failed",
        "maven",
        "java",
        "unknown-issuer",
        "repo.maven.apache.org",
        443,
        "untrusted-root",
        "maven-resolver transfer error",
    ),
    Case(
        "java-empty-truststore",
        "javax.net.ssl.SSLException: java.lang.RuntimeException: Unexpected error: "
        "java.security.InvalidAlgorithmParameterException: the trustAnchors parameter must be "
        "non-empty",
        "java",
        "java",
        "no-trust-store",
        None,
        None,
        "no-trust-store",
        "JDK PKIXParameters.setTrustAnchors (an empty or missing cacerts)",
    ),
    Case(
        "ruby",
        "OpenSSL::SSL::SSLError: SSL_connect returned=1 errno=0 peeraddr=10.0.0.5:443 state=error: "
        "certificate verify failed (unable to get local issuer certificate)",
        "ruby",
        "openssl",
        "unknown-issuer",
        "10.0.0.5",
        443,
        "untrusted-root",
        "ruby/openssl ossl_ssl.c SSL_connect error format",
    ),
    Case(
        "cargo",
        "warning: spurious network error (2 tries remaining): [60] SSL peer certificate or SSH "
        "remote key "
        "was not OK (SSL certificate problem: unable to get local issuer certificate)",
        "cargo",
        "curl",
        "unknown-issuer",
        None,
        None,
        "untrusted-root",
        "cargo over libcurl: '[60] ' + curl_easy_strerror",
    ),
    Case(
        "curl-35-syscall",
        "curl: (35) OpenSSL SSL_connect: SSL_ERROR_SYSCALL in connection to api.example.com:443",
        "curl",
        "curl",
        "handshake-failed",
        "api.example.com",
        443,
        "intercepted",
        "curl lib/vtls/openssl.c 'OpenSSL SSL_connect: %s in connection to %s:%d'",
    ),
    Case(
        "curl-51-new",
        "curl: (60) SSL: no alternative certificate subject name matches target hostname "
        "'api.example.com'",
        "curl",
        "curl",
        "hostname-mismatch",
        "api.example.com",
        None,
        "hostname-mismatch",
        "curl >= 8 wording 'target hostname' (truststores.md §2.5)",
    ),
    Case(
        "curl-77-old",
        "curl: (77) error setting certificate verify locations:  CAfile: "
        "/etc/ssl/certs/ca-certificates.crt "
        "CApath: none",
        "curl",
        "curl",
        "ca-file-unreadable",
        None,
        None,
        "unreadable-file",
        "older curl 77 wording (quoted in many reports)",
    ),
    Case(
        "openssl-111",
        "verify error:num=19:self signed certificate in certificate chain",
        "openssl-s_client",
        "openssl",
        "self-signed-in-chain",
        None,
        None,
        "untrusted-root",
        "OpenSSL 1.1.1 spelling 'self signed' (truststores.md §2.2)",
    ),
    Case(
        "openssl-111-24",
        "error 24 at 1 depth lookup: invalid CA certificate",
        "openssl-verify",
        "openssl",
        "invalid-ca",
        None,
        None,
        "not-a-ca",
        "OpenSSL 1.1.1 numbered INVALID_CA 24 (3.x: 79)",
    ),
    Case(
        "python-313-strict",
        "ssl.SSLCertVerificationError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify "
        "failed: Basic "
        "Constraints of CA cert not marked critical (_ssl.c:1028)",
        "python",
        "python",
        "strict-profile",
        None,
        None,
        "strict-profile",
        "Python 3.13 VERIFY_X509_STRICT (truststores.md §3.1)",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_wrapper_case(case: Case) -> None:
    res = explain(case.text)
    assert res.matches, f"not recognised: {case.text!r}"
    m = res.matches[0]
    assert (m.stack, m.client, m.error_class) == (case.stack, case.client, case.error_class)
    assert (m.host, m.port) == (case.host, case.port)
    codes = [c.code.value for c in m.causes]
    pool = codes[:3] if m.narrows else codes
    assert case.truth in pool, (case.truth, codes)
    if case.authority is not None:
        assert m.authority == case.authority
    # The next command is concrete: a diagnose line when the endpoint is known.
    if case.host is not None:
        target = case.host if case.port is None else f"{case.host}:{case.port}"
        assert m.next.argv[:3] == ("trustdoctor", "diagnose", target)
        assert m.next.argv[-2] == "--client"
        assert m.next.argv[-1].partition("@")[0] == case.client
        assert m.next.runnable
    else:
        # (A strict-profile text names the release: python@3.13.)
        assert m.next.argv[0] == "trustdoctor" and m.next.argv[-2] == "--client"
        assert m.next.argv[-1].partition("@")[0] == case.client


def test_one_match_per_wrapped_event() -> None:
    """A kubectl describe block: each event row is its own record; the failing
    one is recognised once however many times it repeats."""
    text = (
        "Events:\n"
        "  Type     Reason     Age   From     Message\n"
        "  ----     ------     ----  ----     -------\n"
        '  Normal   Pulling    30s   kubelet  Pulling image "reg.example.com/app:1"\n'
        '  Warning  Failed     29s   kubelet  Failed to pull image "reg.example.com/app:1": rpc '
        'error: '
        'code = Unknown desc = failed to pull and unpack image "reg.example.com/app:1": failed to '
        'resolve '
        'reference "reg.example.com/app:1": failed to do request: Head '
        '"https://reg.example.com/v2/app/'
        'manifests/1":\n'
        f"                                     tls: failed to verify certificate: {GO_UA}\n"
        "  Warning  Failed     29s   kubelet  Error: ErrImagePull\n"
        '  Warning  Failed     10s   kubelet  Failed to pull image "other.example.com/x:2": rpc '
        'error: code '
        '= Unknown desc = failed to pull and unpack image "other.example.com/x:2": failed to '
        'resolve '
        'reference "other.example.com/x:2": failed to do request: Head '
        '"https://other.example.com/v2/x/'
        'manifests/2": tls: failed to verify certificate: x509: certificate has expired or is not '
        'yet '
        "valid: current time 2026-11-28T04:08:00Z is after 2026-11-01T00:00:00Z\n"
    )
    res = explain(text)
    got = [(m.host, m.error_class, m.line) for m in res.matches]
    # The line is the one holding the error text (the wrapped continuation).
    assert got == [("reg.example.com", "unknown-issuer", 6), ("other.example.com", "expired", 8)]


def test_kubectl_is_diagnosed_at_its_clusters_server() -> None:
    """kubectl names no server in its errors: the next command is diagnose
    with no target, which takes the kubeconfig's (runnable as printed)."""
    m = explain(f"Unable to connect to the server: tls: failed to verify certificate: {GO_UA}")
    assert m.matches[0].next.argv == ("trustdoctor", "diagnose", "--client", "kubectl")
    assert m.matches[0].next.runnable


def test_a_strict_profile_text_is_judged_as_python_3_13() -> None:
    """Only Python ≥ 3.13 verifies with X509_STRICT by default: the next
    command judges the chain as it does, for requests with its host too."""
    m = explain(
        "ssl.SSLCertVerificationError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify "
        "failed: Missing Authority Key Identifier (_ssl.c:1028)"
    ).matches[0]
    assert m.next.argv[-2:] == ("--client", "python@3.13")
    m = explain(
        "requests.exceptions.SSLError: HTTPSConnectionPool(host='api.corp.test', port=443): "
        "Max retries exceeded with url: / (Caused by SSLError(SSLCertVerificationError(1, "
        "'[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: Basic Constraints of "
        "CA cert not marked critical (_ssl.c:1028)')))"
    ).matches[0]
    assert m.next.argv == ("trustdoctor", "diagnose", "api.corp.test:443", "--client",
                           "requests@3.13")  # fmt: skip
    # An ordinary Python failure keeps the plain client (the root's release decides).
    m = explain(
        "ssl.SSLCertVerificationError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify "
        "failed: unable to get local issuer certificate (_ssl.c:1028)"
    ).matches[0]
    assert m.next.argv[-1] == "python"
