"""OpenSSL-family models (openssl, python, curl, requests, node) against the real tools.

Oracles: ``openssl x509 -subject_hash`` and ``openssl verify -CApath``;
Python's ``ssl`` (``set_default_verify_paths`` with ``SSL_CERT_FILE``) for
CAfile loading; the ``curl`` and ``node`` binaries against a loopback server.
Every oracle runs with a clean environment (no trust variable of the shell).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.name import _ASN1Type
from cryptography.x509.oid import NameOID

from helpers.stores import (
    Root,
    bundle,
    ca,
    clean_env,
    codes,
    debian,
    fp,
    has,
    hash_of,
    leaf,
    rhel,
    stores,
    tls_server,
    trusted_bundle,
)
from trustdoctor.lab import pki
from trustdoctor.model.stores import SourceStatus
from trustdoctor.stores.subject_hash import subject_hash

OPENSSL = shutil.which("openssl")
CURL = shutil.which("curl")
NODE = shutil.which("node")

A, B, C, D, E, F = (ca(f"OpenSSL Test Root {x}") for x in "ABCDEF")


# -- subject hash ------------------------------------------------------------------------

NAMES = [
    x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "  Hello   World  ")]),
    x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ÜBER Ca\tX", _type=_ASN1Type.BMPString)]),
    x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "DE"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Acme  Corp", _type=_ASN1Type.T61String),
            x509.NameAttribute(NameOID.COMMON_NAME, "ROOT é", _type=_ASN1Type.UniversalString),
        ]
    ),
    x509.Name(
        [
            x509.RelativeDistinguishedName(
                [
                    x509.NameAttribute(NameOID.COMMON_NAME, "B"),
                    x509.NameAttribute(NameOID.ORGANIZATION_NAME, "A"),
                ]
            )
        ]
    ),
    x509.Name(
        [
            x509.NameAttribute(NameOID.EMAIL_ADDRESS, "Admin@Example.COM"),
            x509.NameAttribute(NameOID.COMMON_NAME, "x" * 64),
        ]
    ),
    x509.Name(
        [
            x509.NameAttribute(NameOID.DOMAIN_COMPONENT, "Com"),
            x509.NameAttribute(NameOID.SERIAL_NUMBER, "12 34", _type=_ASN1Type.PrintableString),
        ]
    ),
    x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "MiXeD中文 Root  ")]),
    # Every byte OpenSSL counts as a space (ossl_isspace), runs and ends, and
    # ones it does not: a no-break space, a unit separator, Unicode's spaces.
    x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, " \t Tab\tNL\nVT\x0bFF\x0cCR\r  end \r\n")]),
    x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "No\u00a0Break\x1fUs\u2003Em\u3000Ide")]),
    x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "ÀÉ Ïx  Y", _type=_ASN1Type.BMPString),
               x509.NameAttribute(NameOID.COMMON_NAME, "  A\tB  ", _type=_ASN1Type.IA5String)]),
    x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Ab\u00e9 C", _type=_ASN1Type.T61String)]),
    x509.Name([]),
]


@pytest.mark.oracle
@pytest.mark.skipif(OPENSSL is None, reason="openssl not installed")
def test_subject_hash_matches_openssl(tmp_path: Path) -> None:
    assert OPENSSL
    for i, n in enumerate(NAMES):
        c = pki.make_cert(n, issuer=A) if not list(n) else pki.make_cert(n)
        f = tmp_path / f"n{i}.pem"
        f.write_bytes(c.pem)
        out = subprocess.run(
            [OPENSSL, "x509", "-in", str(f), "-noout", "-subject_hash"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        assert subject_hash(c.cert.subject.public_bytes()) == out, n


# -- CApath (hash directory) against `openssl verify -CApath` ------------------------------


@pytest.mark.oracle
@pytest.mark.skipif(OPENSSL is None, reason="openssl not installed")
def test_capath_semantics_match_openssl_verify(tmp_path: Path) -> None:
    assert OPENSSL
    r = Root(tmp_path / "root")
    d = "/hashes"
    r.file(f"{d}/a.pem", A.pem)
    r.link(f"{d}/{hash_of(A)}.0", "a.pem")  # found
    r.file(f"{d}/b.pem", B.pem)  # no link: invisible
    r.file(f"{d}/{hash_of(C)}.1", C.pem)  # .1 without .0: the lookup stops at .0
    r.file(f"{d}/{hash_of(D).upper()}.0", D.pem)  # upper-case hex is not a hash name
    r.file(f"{d}/{hash_of(E)}.0", bundle([F, E]))  # a file with two: E found under its hash
    r.file(f"{d}/{hash_of(F)}.0", trusted_bundle([F]))  # TRUSTED CERTIFICATE is accepted
    s = stores(r, ["openssl"], {"SSL_CERT_FILE": "", "SSL_CERT_DIR": d})["openssl"]
    host_dir = str(r.p(d))
    for c in (A, B, C, D, E, F):
        lf = tmp_path / "leaf.pem"
        lf.write_bytes(leaf(c).pem)
        out = subprocess.run(
            [OPENSSL, "verify", "-no-CAfile", "-CApath", host_dir, str(lf)],
            capture_output=True,
            text=True,
            env=clean_env(),
        )
        assert has(s, c) == (out.returncode == 0), (c.cert.subject, out.stdout, out.stderr)
    assert [has(s, c) for c in (A, B, C, D, E, F)] == [True, False, False, False, True, True]
    # b.pem would be found after `openssl rehash`: stale-bundle with that command.
    stale = next(f for f in s.findings if f.code.value == "stale-bundle")
    assert stale.params["refresh"] == f"openssl rehash {d}"
    assert stale.params["files"] == [f"{d}/b.pem"]


# -- CAfile loading against Python's ssl (OpenSSL's own loader) -----------------------------


def _python_ssl_count(cafile: Path) -> int:
    code = (
        "import ssl; c = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT); c.set_default_verify_paths();"
        "print(c.cert_store_stats()['x509'])"
    )
    env = clean_env(SSL_CERT_FILE=str(cafile), SSL_CERT_DIR="/nonexistent")
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    return int(out.stdout)


CAFILES: dict[str, bytes] = {
    "good": bundle([A, B]),
    "broken_middle": A.pem
    + b"-----BEGIN CERTIFICATE-----\nAA$$AA\n-----END CERTIFICATE-----\n"
    + B.pem,
    "broken_unknown_label": A.pem
    + b"-----BEGIN FOO BAR-----\nAA$$AA\n-----END FOO BAR-----\n"
    + B.pem,
    "unknown_label_ok": A.pem + b"-----BEGIN FOO BAR-----\nAAAA\n-----END FOO BAR-----\n" + B.pem,
    "not_der_cert": A.pem + b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
    "no_end": A.pem
    + b"-----BEGIN CERTIFICATE-----\n"
    + B.pem.split(b"\n", 1)[1].rsplit(b"-----END", 1)[0],
    "trusted": trusted_bundle([A]) + B.pem,
    "der": A.der,
    "junk_after": bundle([A, B]) + b"hello\n",
    "empty": b"",
}


@pytest.mark.oracle
@pytest.mark.parametrize("name", sorted(CAFILES))
def test_cafile_loading_matches_openssl(tmp_path: Path, name: str) -> None:
    r = Root(tmp_path / "root")
    r.file("/ca.pem", CAFILES[name])
    s = stores(r, ["openssl"], {"SSL_CERT_FILE": "/ca.pem", "SSL_CERT_DIR": "/nonexistent"})[
        "openssl"
    ]
    assert len(s.anchors) == _python_ssl_count(r.p("/ca.pem")), name
    if name.startswith(("broken", "not_der", "no_end")):
        assert s.sources[0].status == SourceStatus.REJECTED
        assert "unreadable-file" in codes(s)


def test_empty_ssl_cert_file_disables_the_cafile(tmp_path: Path) -> None:
    """OpenSSL uses the variable when it exists, even empty (Go and curl treat empty as unset)."""
    r = Root(tmp_path / "root")
    debian(r, [A])
    s = stores(r, ["openssl", "go", "curl"], {"SSL_CERT_FILE": "", "SSL_CERT_DIR": "/nonexistent"})
    assert len(s["openssl"].anchors) == 0
    assert has(s["go"], A) and has(s["curl"], A)


def test_openssldir_from_libcrypto_and_from_the_distro(tmp_path: Path) -> None:
    r = Root(tmp_path / "root")
    r.os_release(ID="debian")
    r.file(
        "/usr/lib/x86_64-linux-gnu/libcrypto.so.3",
        b'\x7fELF junk\x00OPENSSLDIR: "/opt/ssl"\x00more',
    )
    r.file("/opt/ssl/cert.pem", A.pem)
    r.file("/usr/lib/ssl/cert.pem", B.pem)  # the Debian default, not used by this libcrypto
    s = stores(r, ["openssl"])["openssl"]
    assert has(s, A) and not has(s, B)
    assert "libcrypto" in (s.sources[0].detail or "")
    r2 = Root(tmp_path / "rhel")
    rhel(r2, [C])
    s2 = stores(r2, ["openssl"])["openssl"]
    assert has(s2, C)
    assert s2.sources[0].path == "/etc/pki/tls/cert.pem"
    assert not s2.anchors.partial_chain


def test_python_313_sets_partial_chain(tmp_path: Path) -> None:
    r = Root(tmp_path / "root")
    debian(r, [A])
    r.file("/usr/bin/python3.13", "", 0o755)
    r.link("/usr/bin/python3", "python3.13")
    s = stores(r, ["python"])["python"]
    assert s.anchors.partial_chain
    r.link("/usr/bin/python3", "python3.11")
    r.file("/usr/bin/python3.11", "", 0o755)
    assert not stores(r, ["python"])["python"].anchors.partial_chain


def test_python_313_names_the_roots_its_strict_checks_refuse(tmp_path: Path) -> None:
    """``strict-anchor``: roots a chain cannot end at under VERIFY_X509_STRICT
    (basicConstraints not critical, no keyUsage, no SKI, a v1 root); clean
    roots and a pinned self-signed leaf are not named; Python 3.11 and
    requests on urllib3 2.3 verify without the flag: no finding."""
    lax = pki.make_cert("Lax Corp Root", bc_critical=False)
    no_ku = pki.make_cert("No KU Corp Root", key_usage=())
    no_ski = pki.make_cert("No SKI Corp Root", ski=False)
    v1 = pki.make_cert("V1 Corp Root", version1=True)
    pinned = pki.make_cert("pinned.test", ca=False, dns=["pinned.test"])
    r = Root(tmp_path / "root")
    debian(r, [A, lax, no_ku, no_ski, v1, pinned])
    r.file("/usr/bin/python3.13", "", 0o755)
    r.link("/usr/bin/python3", "python3.13")
    site = "/usr/lib/python3/dist-packages"
    r.file(f"{site}/requests/__init__.py", "")
    r.file(f"{site}/certifi/__init__.py", "")
    where = "def where():\n    return '/etc/ssl/certs/ca-certificates.crt'\n"
    r.file(f"{site}/certifi/core.py", where)
    r.file(f"{site}/urllib3/__init__.py", "")
    r.file(f"{site}/urllib3/_version.py", "__version__ = '2.3.0'\n")
    s = stores(r, ["python", "requests", "go"])
    f = [x for x in s["python"].findings if x.code.value == "strict-anchor"]
    assert len(f) == 1, s["python"].findings
    p = f[0].params
    assert p["count"] == 4 and p["flag"] == "VERIFY_X509_STRICT"
    assert sorted(p["roots"]) == [  # type: ignore[call-overload]
        "Lax Corp Root (ca-basic-constraints-not-critical)",
        "No KU Corp Root (ca-missing-key-usage)",
        "No SKI Corp Root (missing-ski)",
        "V1 Corp Root (not-a-ca)",
    ]
    assert set(f[0].certs) == {fp(c) for c in (lax, no_ku, no_ski, v1)}
    # requests on urllib3 2.3, and Go: no strict flag, no finding.
    for c in ("requests", "go"):
        assert "strict-anchor" not in codes(s[c]), c
    r.file(f"{site}/urllib3/_version.py", "__version__ = '2.4.0'\n")
    assert "strict-anchor" in codes(stores(r, ["requests"])["requests"])
    r.link("/usr/bin/python3", "python3.11")
    r.file("/usr/bin/python3.11", "", 0o755)
    assert "strict-anchor" not in codes(stores(r, ["python"])["python"])


def test_a_ca_python_313_cannot_end_a_chain_at_fails_the_compliance_check(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """``stores --ca``: a root in the store that breaks the strict profile is
    not trusted by Python 3.13 (reason ``strict-anchor``, the rule as detail;
    exit 1), and is by 3.11."""
    from trustdoctor.cli.main import main

    lax = pki.make_cert("Lax Corp Root", bc_critical=False)
    (tmp_path / "lax.pem").write_bytes(lax.pem)
    r = Root(tmp_path / "root")
    debian(r, [A, lax])
    r.file("/usr/bin/python3.13", "", 0o755)
    r.link("/usr/bin/python3", "python3.13")
    argv = ["stores", "--root", str(r.path), "--ca", str(tmp_path / "lax.pem"),
            "--client", "python,openssl", "--format", "json"]  # fmt: skip
    assert main(argv) == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["trusted"] is False
    checks = {c["client"]: c["checks"][0] for c in doc["clients"]}
    assert checks["openssl"]["trusted"]
    py = checks["python"]
    assert not py["trusted"] and py["reason"] == "strict-anchor", py
    assert py["detail"] == "ca-basic-constraints-not-critical"
    r.file("/usr/bin/python3.11", "", 0o755)
    r.link("/usr/bin/python3", "python3.11")
    assert main(argv) == 0
    capsys.readouterr()


def test_package_version_reads_version_files_and_dist_info(tmp_path: Path) -> None:
    """The urllib3 release decides whether requests verifies strictly on 3.13."""
    from helpers.stores import build_context
    from trustdoctor.stores.pysite import package_version

    r = Root(tmp_path / "root")
    debian(r, [A])
    r.file("/usr/bin/python3.13", "", 0o755)
    r.link("/usr/bin/python3", "python3.13")
    site = "/usr/local/lib/python3.13/dist-packages"
    r.file(f"{site}/urllib3/__init__.py", "")
    r.file(f"{site}/urllib3/_version.py", "# file generated\n__version__ = version = '2.3.0'\n")
    r.file(f"{site}/certifi/__init__.py", "x = 1\n")
    r.dir(f"{site}/certifi-2026.10.19.dist-info")
    r.file(f"{site}/idna/__init__.py", "")
    with build_context(root=r.path, env={}) as ctx:
        assert package_version(ctx, "urllib3") == "2.3.0"
        assert package_version(ctx, "certifi") == "2026.10.19"
        assert package_version(ctx, "idna") is None  # neither says
        assert package_version(ctx, "absent") is None


def test_multi_cert_local_file_is_invisible_to_capath_only_clients(tmp_path: Path) -> None:
    """Older Debian (no /usr/lib/ssl/cert.pem): OpenSSL and Python depend on hash links only."""
    r = Root(tmp_path / "root")
    debian(r, [A], bookworm_cert_pem=False)
    r.file("/usr/local/share/ca-certificates/two.crt", bundle([B, C]))
    r.file("/etc/ssl/certs/ca-certificates.crt", bundle([A, B, C]))  # update-ca-certificates ran
    r.link(
        "/etc/ssl/certs/two.pem", "/usr/local/share/ca-certificates/two.crt"
    )  # no hash link for it
    s = stores(r, ["go", "openssl", "python", "curl"])
    assert has(s["go"], B) and has(s["curl"], B)
    assert not has(s["openssl"], B) and not has(s["python"], B)
    ignored = next(f for f in s["openssl"].findings if f.code.value == "anchor-file-ignored")
    assert ignored.params["path"] == "/usr/local/share/ca-certificates/two.crt"
    assert ignored.params["reason"] == "multi-cert-no-hash-link"
    pt = [f for f in s["python"].findings if f.code.value == "partial-trust"]
    assert pt and set(pt[0].params["trusted_by"]) == {"go", "curl"}  # type: ignore[arg-type]


# -- curl against the curl binary ------------------------------------------------------------


@pytest.fixture(scope="module")
def served() -> object:
    inter = pki.make_cert(
        "OpenSSL Test Issuing CA",
        issuer=A,
        not_before=A.cert.not_valid_before_utc,
        not_after=A.cert.not_valid_after_utc,
    )
    srv = leaf(inter)
    with tls_server([srv, inter], srv) as hp:
        yield hp


@pytest.mark.oracle
@pytest.mark.skipif(CURL is None, reason="curl not installed")
@pytest.mark.parametrize(
    "env",
    [
        {"CURL_CA_BUNDLE": "{a}"},
        {"CURL_CA_BUNDLE": "{b}", "SSL_CERT_FILE": "{a}"},
        {"SSL_CERT_FILE": "{a}"},
        {"SSL_CERT_DIR": "{dir}"},
        {"SSL_CERT_DIR": "{dir}", "CURL_CA_BUNDLE": "{b}"},
        {"CURL_CA_BUNDLE": "", "SSL_CERT_FILE": "{a}"},
        {"CURL_CA_BUNDLE": "{missing}"},
        {"CURL_CA_BUNDLE": "{broken}"},
        {"SSL_CERT_FILE": "{der}"},
        # curl 7.88 reads SSL_CERT_FILE only when SSL_CERT_DIR is unset (issue 11).
        {"SSL_CERT_FILE": "{a}", "SSL_CERT_DIR": "{bdir}"},
        {"SSL_CERT_FILE": "", "SSL_CERT_DIR": "{dir}"},
        {"SSL_CERT_FILE": "{missing}"},
        {"SSL_CERT_FILE": "{missing}", "SSL_CERT_DIR": "{dir}"},
    ],
    ids=[
        "bundle",
        "bundle-wins",
        "cert-file",
        "cert-dir",
        "dir-ignored",
        "empty-bundle-var",
        "missing",
        "broken",
        "der",
        "file-and-dir",
        "empty-file-hashed-dir",
        "missing-file",
        "missing-file-with-dir",
    ],
)
def test_curl_env_logic_matches_curl(
    tmp_path: Path, served: tuple[str, int], env: dict[str, str]
) -> None:
    assert CURL
    host, port = served
    work = tmp_path / "files"
    paths = {
        "a": work / "a.pem",
        "b": work / "b.pem",
        "dir": work / "hashes",
        "missing": work / "missing.pem",
        "broken": work / "broken.pem",
        "der": work / "a.der",
        "bdir": work / "bhashes",
    }
    r = Root(tmp_path / "root")
    debian(r, [B])  # compiled defaults in the root: without A (as on the host)
    for root_base in (Path("/"), r.path):  # the same absolute paths on the host and in the root
        base = root_base / str(work).lstrip("/")
        (base / "hashes").mkdir(parents=True, exist_ok=True)
        (base / "a.pem").write_bytes(A.pem)
        (base / "b.pem").write_bytes(B.pem)
        (base / "a.der").write_bytes(A.der)
        (base / "broken.pem").write_bytes(
            A.pem + b"-----BEGIN CERTIFICATE-----\nA$\n-----END CERTIFICATE-----\n"
        )
        (base / "hashes" / "a.pem").write_bytes(A.pem)
        link = base / "hashes" / f"{hash_of(A)}.0"
        if not link.exists():
            link.symlink_to("a.pem")
        (base / "bhashes").mkdir(parents=True, exist_ok=True)
        (base / "bhashes" / "b.pem").write_bytes(B.pem)
        link = base / "bhashes" / f"{hash_of(B)}.0"
        if not link.exists():
            link.symlink_to("b.pem")
    real_env = {k: v.format(**{n: str(p) for n, p in paths.items()}) for k, v in env.items()}
    s = stores(r, ["curl"], real_env)["curl"]
    out = subprocess.run(
        [CURL, "-sS", "-o", "/dev/null", f"https://{host}:{port}/"],
        env=clean_env(**real_env),
        capture_output=True,
        text=True,
        timeout=30,
    )
    if out.returncode == 77:
        assert s.load_error is not None and s.load_error.startswith("curl: (77)")
        assert s.load_error in out.stderr
    else:
        assert s.load_error is None
        assert has(s, A) == (out.returncode == 0), out.stderr


def test_curl_compiled_defaults_from_libcurl(tmp_path: Path) -> None:
    r = Root(tmp_path / "root")
    rhel(r, [A])  # table: /etc/pki/tls/certs/ca-bundle.crt
    r.file("/usr/lib64/libcurl.so.4.8.0", b"\x00/etc/ssl/cert.pem\x00/etc/ssl/certs\x00")
    r.file("/etc/ssl/cert.pem", B.pem)
    r.file("/usr/bin/curl", "", 0o755)
    s = stores(r, ["curl"])["curl"]
    assert has(s, B) and not has(s, A)
    assert "compiled into /usr/lib64/libcurl.so.4.8.0" in (s.sources[0].detail or "")


# -- requests: certifi, distro-patched certifi, overrides ---------------------------------


def test_requests_pip_certifi_vs_distro_certifi(tmp_path: Path) -> None:
    r = Root(tmp_path / "root")
    debian(r, [A], local=[("corp.crt", C)])
    r.file("/usr/lib/python3/dist-packages/requests/__init__.py", "")
    r.file("/usr/lib/python3/dist-packages/certifi/__init__.py", "")
    r.file(
        "/usr/lib/python3/dist-packages/certifi/core.py",
        'def where():\n    return "/etc/ssl/certs/ca-certificates.crt"\n',
    )
    s = stores(r, ["requests"])["requests"]
    assert has(s, C) and s.system_store
    assert "distro-patched" in (s.sources[0].detail or "")
    # pip installs certifi into /usr/local: it comes first on sys.path and has Mozilla roots only.
    r.dir("/usr/lib/python3.11")
    r.file(
        "/usr/local/lib/python3.11/dist-packages/certifi/__init__.py", '__version__ = "2024.1.1"\n'
    )
    r.file("/usr/local/lib/python3.11/dist-packages/certifi/core.py", "def where(): ...\n")
    r.file("/usr/local/lib/python3.11/dist-packages/certifi/cacert.pem", bundle([B]))
    s2 = stores(r, ["requests", "go"])
    assert not has(s2["requests"], C) and has(s2["requests"], B)
    assert not s2["requests"].system_store
    assert "partial-trust" in codes(s2["requests"])
    # REQUESTS_CA_BUNDLE replaces certifi; SSL_CERT_FILE is ignored; CURL_CA_BUNDLE is the fallback.
    r.file("/opt/corp.pem", C.pem)
    s3 = stores(r, ["requests"], {"SSL_CERT_FILE": "/opt/corp.pem"})["requests"]
    assert not has(s3, C)
    assert any(x.status == SourceStatus.IGNORED and x.path == "$SSL_CERT_FILE" for x in s3.sources)
    s4 = stores(r, ["requests"], {"CURL_CA_BUNDLE": "/opt/corp.pem"})["requests"]
    assert has(s4, C) and not has(s4, B)
    assert "env-override" in codes(s4)
    s5 = stores(r, ["requests"], {"REQUESTS_CA_BUNDLE": "/opt/missing.pem"})["requests"]
    assert s5.load_error is not None and "invalid path: /opt/missing.pem" in s5.load_error
    assert "no-trust-store" in codes(s5)


# -- node against the node binary -------------------------------------------------------------


def _node_ok(host: str, port: int, env: dict[str, str]) -> tuple[bool, str]:
    assert NODE
    script = (
        "const https=require('https');"
        f"https.get({{host:'{host}',port:{port},path:'/'}},r=>{{console.log('OK');process.exit(0)}})"
        ".on('error',e=>{console.log('FAIL '+e.code);process.exit(0)});"
    )
    out = subprocess.run(
        [NODE, "-e", script], env=clean_env(**env), capture_output=True, text=True, timeout=30
    )
    return out.stdout.startswith("OK"), out.stdout + out.stderr


@pytest.mark.oracle
@pytest.mark.skipif(NODE is None, reason="node not installed")
@pytest.mark.parametrize(
    "content,env",
    [
        ("a", {"NODE_EXTRA_CA_CERTS": "{f}"}),
        ("a+broken", {"NODE_EXTRA_CA_CERTS": "{f}"}),
        ("broken+a", {"NODE_EXTRA_CA_CERTS": "{f}"}),
        ("trusted-a", {"NODE_EXTRA_CA_CERTS": "{f}"}),
        ("a", {"NODE_EXTRA_CA_CERTS": "{missing}"}),
        ("a", {"NODE_OPTIONS": "--use-openssl-ca", "SSL_CERT_FILE": "{f}"}),
        ("a", {"SSL_CERT_FILE": "{f}"}),
    ],
    ids=[
        "extra",
        "extra-then-broken",
        "broken-then-extra",
        "trusted-block",
        "missing",
        "openssl-ca",
        "ssl-cert-file-ignored",
    ],
)
def test_node_model_matches_node(
    tmp_path: Path, served: tuple[str, int], content: str, env: dict[str, str]
) -> None:
    host, port = served
    broken = b"-----BEGIN CERTIFICATE-----\nA$\n-----END CERTIFICATE-----\n"
    data = {
        "a": A.pem,
        "a+broken": A.pem + broken,
        "broken+a": broken + A.pem,
        "trusted-a": trusted_bundle([A]),
    }[content]
    f = tmp_path / "extra.pem"
    r = Root(tmp_path / "root")
    debian(r, [B])
    for base in (Path("/"), r.path):
        t = base / str(f).lstrip("/")
        t.parent.mkdir(parents=True, exist_ok=True)
        t.write_bytes(data)
    real_env = {
        k: v.format(f=str(f), missing=str(tmp_path / "missing.pem")) for k, v in env.items()
    }
    s = stores(r, ["node"], real_env)["node"]
    ok, out = _node_ok(host, port, real_env)
    assert has(s, A) == ok, out


def test_node_modes(tmp_path: Path) -> None:
    r = Root(tmp_path / "root")
    debian(r, [A])
    s = stores(r, ["node"])["node"]
    assert not has(s, A) and not s.system_store
    assert "certifi" in (s.sources[1].detail or "")
    s2 = stores(r, ["node"], {"NODE_OPTIONS": "--max-old-space-size=100 --use-openssl-ca"})["node"]
    assert has(s2, A) and s2.system_store
    s3 = stores(r, ["node"], {"NODE_USE_SYSTEM_CA": "1"})["node"]
    assert has(s3, A) and len(s3.anchors) > 100  # bundled + system
    s4 = stores(r, ["node"], {"NODE_USE_SYSTEM_CA": "1", "NODE_OPTIONS": "--use-bundled-ca"})[
        "node"
    ]
    assert not has(s4, A)


def test_json_of_a_model_is_serialisable(tmp_path: Path) -> None:
    from trustdoctor.render.stores_json import store_to_dict

    r = Root(tmp_path / "root")
    debian(r, [A], local=[("x.pem", C)])
    s = stores(r, ["openssl"])["openssl"]
    json.dumps(store_to_dict(s, anchors=True))
