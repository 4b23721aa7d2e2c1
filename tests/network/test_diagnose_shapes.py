"""``trustdoctor diagnose`` end to end against real loopback servers: every
failure shape, TLS 1.2/1.3, RSA/ECDSA, SNI, --connect-to, IPv6, client
certificates, a temporary --root.  Each run asserts the exit code, the first
text line and the schema-valid JSON; anchors are always --trust files or a
temporary --root, never this host's store."""

from __future__ import annotations

import shutil
import ssl
import subprocess
from pathlib import Path

import pytest

import helpers.diagnose as dh
import helpers.netlab as netlab
from trustdoctor.lab import pki

# Newest Go wraps x509 errors (crypto/tls CertificateVerificationError, Go >= 1.20).
GO_VERIFY = "tls: failed to verify certificate: "

HOST = "svc.diag.test"
V12 = ssl.TLSVersion.TLSv1_2
V13 = ssl.TLSVersion.TLSv1_3


@pytest.fixture(scope="module")
def h() -> pki.Hierarchy:
    return dh.chain_for(HOST)


@pytest.fixture(scope="module")
def pems(tmp_path_factory: pytest.TempPathFactory, h: pki.Hierarchy) -> dict[str, str]:
    d = tmp_path_factory.mktemp("anchors")
    other = pki.make_cert("Some Other Root CA", **dh.VALID)
    return {
        "root": dh.write_pem(d / "root.pem", h.root),
        "other": dh.write_pem(d / "other.pem", other),
    }


def go_json(capsys, monkeypatch, port: int, *extra: str, trust: str, host: str = HOST) -> dh.Run:
    return dh.diagnose(
        capsys, monkeypatch, f"127.0.0.1:{port}", "--servername", host, "--client", "go",
        "--trust", trust, "--format", "json", *extra,
    )


def go_text(capsys, monkeypatch, port: int, *extra: str, trust: str, host: str = HOST) -> dh.Run:
    return dh.diagnose(
        capsys, monkeypatch, f"127.0.0.1:{port}", "--servername", host, "--client", "go",
        "--trust", trust, *extra,
    )


def check_common(run: dh.Run, port: int, served: list[pki.Issued]) -> dict:
    doc = run.doc
    assert doc is not None
    assert doc["kind"] == "diagnose"
    assert doc["target"]["address"] == f"127.0.0.1:{port}"
    assert doc["target"]["servername"] == HOST
    assert [p["sha256"] for p in doc["presented_chain"]] == dh.fps(*served)
    assert doc["addresses"][0]["presented"] == dh.fps(*served)
    assert [c["client"] for c in doc["clients"]] == ["go"]
    assert doc["tls"]["version"] in ("TLSv1.2", "TLSv1.3")
    return doc


# -- the verdict for every shape --------------------------------------------------------


def test_complete_chain_trusted(capsys, monkeypatch, files, h, pems) -> None:
    served = [h.leaf, h.intermediate]
    with dh.serve_chain(files, served) as srv:
        j = go_json(capsys, monkeypatch, srv.port, trust=pems["root"])
        t = go_text(capsys, monkeypatch, srv.port, trust=pems["root"])
    assert j.rc == 0 and t.rc == 0
    doc = check_common(j, srv.port, served)
    assert doc["verdict"] == {**doc["verdict"], "trusted": True, "cause": "ok", "side": "none"}
    assert doc["clients"][0]["anchor_source"].startswith(pems["root"])
    assert t.first_line == f"✓ TRUSTED by go — https://127.0.0.1:{srv.port}"
    assert "Connection" in t.out and f"127.0.0.1:{srv.port}: TLSv1.3" in t.out
    assert t.err == ""


def test_private_root_not_installed(capsys, monkeypatch, files, h, pems) -> None:
    served = [h.leaf, h.intermediate]
    with dh.serve_chain(files, served) as srv:
        j = go_json(capsys, monkeypatch, srv.port, trust=pems["other"])
        t = go_text(capsys, monkeypatch, srv.port, trust=pems["other"])
    assert j.rc == 1 and t.rc == 1
    doc = check_common(j, srv.port, served)
    assert doc["verdict"]["cause"] == "untrusted-root"
    assert doc["verdict"]["side"] == "client"
    assert doc["clients"][0]["client_error"] == (
        GO_VERIFY
        + "x509: certificate signed by unknown authority"
    )
    assert t.first_line.startswith("✗ NOT TRUSTED (client side")
    assert "the chain ends at 'Diagnose Test Root CA', which this client does not trust" in (
        t.first_line
    )


def test_missing_intermediate(capsys, monkeypatch, files, h, pems) -> None:
    with dh.serve_chain(files, [h.leaf]) as srv:
        j = go_json(capsys, monkeypatch, srv.port, trust=pems["root"])
        t = go_text(capsys, monkeypatch, srv.port, trust=pems["root"])
    assert j.rc == 1 and t.rc == 1
    doc = check_common(j, srv.port, [h.leaf])
    assert doc["verdict"]["cause"] == "missing-intermediate"
    assert doc["verdict"]["side"] == "server"
    assert t.first_line.startswith("✗ NOT TRUSTED (server side")
    assert "the server omits the intermediate 'Diagnose Test Issuing CA'" in t.first_line
    assert "fix the server, not the clients" in t.first_line


def test_expired_leaf(capsys, monkeypatch, files, h, pems) -> None:
    leaf = pki.make_cert(
        HOST, issuer=h.intermediate, ca=False, dns=[HOST],
        not_before=dh.NOW - 400 * dh.DAY, not_after=dh.NOW - 3 * dh.DAY,
    )
    with dh.serve_chain(files, [leaf, h.intermediate]) as srv:
        j = go_json(capsys, monkeypatch, srv.port, trust=pems["root"])
        t = go_text(capsys, monkeypatch, srv.port, trust=pems["root"])
    assert j.rc == 1
    doc = check_common(j, srv.port, [leaf, h.intermediate])
    assert doc["verdict"]["cause"] == "expired"
    assert doc["clients"][0]["client_error"].startswith(
        GO_VERIFY + "x509: certificate has expired or is not yet valid: current time "
    )
    assert "expired on" in t.first_line and "renew it" in t.first_line


def test_wrong_host_name(capsys, monkeypatch, files, h, pems) -> None:
    with dh.serve_chain(files, [h.leaf, h.intermediate]) as srv:
        j = go_json(capsys, monkeypatch, srv.port, trust=pems["root"], host="other.diag.test")
        t = go_text(capsys, monkeypatch, srv.port, trust=pems["root"], host="other.diag.test")
    assert j.rc == 1 and j.doc is not None
    assert j.doc["verdict"]["cause"] == "hostname-mismatch"
    assert j.doc["clients"][0]["client_error"] == (
        GO_VERIFY + f"x509: certificate is valid for {HOST}, not other.diag.test"
    )
    assert "is not valid for 'other.diag.test'" in t.first_line


def test_ip_target_without_servername_checks_the_ip(capsys, monkeypatch, files, h, pems) -> None:
    with dh.serve_chain(files, [h.leaf, h.intermediate]) as srv:
        r = dh.diagnose(
            capsys, monkeypatch, f"127.0.0.1:{srv.port}", "--client", "go",
            "--trust", pems["root"], "--format", "json",
        )
    assert r.rc == 1 and r.doc is not None
    assert r.doc["target"]["servername"] is None and r.doc["target"]["sni"] is None
    assert r.doc["verdict"]["cause"] == "hostname-mismatch"
    assert r.doc["clients"][0]["client_error"] == (
        GO_VERIFY
        + "x509: cannot validate certificate for 127.0.0.1 because it doesn't contain any IP SANs"
    )


def test_self_signed_leaf(capsys, monkeypatch, files, pems) -> None:
    leaf = pki.make_cert(HOST, ca=False, dns=[HOST], **dh.VALID)
    with dh.serve_chain(files, [leaf]) as srv:
        j = go_json(capsys, monkeypatch, srv.port, trust=pems["root"])
        t = go_text(capsys, monkeypatch, srv.port, trust=pems["root"])
    assert j.rc == 1
    doc = check_common(j, srv.port, [leaf])
    assert doc["verdict"]["cause"] == "self-signed-leaf"
    assert doc["verdict"]["side"] == "server"
    assert "self-signed certificate" in t.first_line


def test_issuer_is_not_a_ca(capsys, monkeypatch, files, h, pems) -> None:
    nonca = pki.make_cert("Diagnose Not A CA", issuer=h.root, ca=False, **dh.VALID)
    leaf = pki.make_cert(HOST, issuer=nonca, ca=False, dns=[HOST], **dh.VALID)
    with dh.serve_chain(files, [leaf, nonca]) as srv:
        j = go_json(capsys, monkeypatch, srv.port, trust=pems["root"])
        t = go_text(capsys, monkeypatch, srv.port, trust=pems["root"])
    assert j.rc == 1
    doc = check_common(j, srv.port, [leaf, nonca])
    assert doc["verdict"]["cause"] == "not-a-ca"
    assert "'Diagnose Not A CA' signed a certificate but is not allowed to" in t.first_line


def test_root_sent_by_the_server(capsys, monkeypatch, files, h, pems) -> None:
    served = [h.leaf, h.intermediate, h.root]
    with dh.serve_chain(files, served) as srv:
        ok = go_json(capsys, monkeypatch, srv.port, trust=pems["root"])
        bad = go_json(capsys, monkeypatch, srv.port, trust=pems["other"])
    assert ok.rc == 0 and ok.doc is not None
    check_common(ok, srv.port, served)
    assert "root-sent" in [f["code"] for f in ok.doc["findings"]]
    # Sending the root does not make it trusted: the client still lacks it.
    assert bad.rc == 1 and bad.doc is not None
    assert bad.doc["verdict"]["cause"] == "untrusted-root"


# -- protocol versions, key types, names, addresses -------------------------------------


@pytest.mark.parametrize("version", [V12, V13], ids=["tls1.2", "tls1.3"])
@pytest.mark.parametrize("kind", ["ec", "rsa2048"], ids=["ecdsa", "rsa"])
def test_versions_and_key_types(capsys, monkeypatch, files, tmp_path, version, kind) -> None:
    hh = dh.chain_for(HOST, key_kind=kind, root_cn=f"Root {kind}", inter_cn=f"Issuing {kind}")
    root = dh.write_pem(tmp_path / "root.pem", hh.root)
    served = [hh.leaf, hh.intermediate]
    with dh.serve_chain(files, served, min_version=version, max_version=version) as srv:
        j = go_json(capsys, monkeypatch, srv.port, trust=root)
        t = go_text(capsys, monkeypatch, srv.port, trust=root)
    assert j.rc == 0 and t.rc == 0
    doc = check_common(j, srv.port, served)
    name = "TLSv1.3" if version is V13 else "TLSv1.2"
    assert doc["tls"]["version"] == name
    assert doc["addresses"][0]["tls"]["version"] == name
    if version is V12:
        assert ("ECDSA" if kind == "ec" else "RSA") in doc["tls"]["cipher"]
    key = doc["certificates"][doc["leaf"]]["key"]
    assert key["type"] == ("EC" if kind == "ec" else "RSA")
    assert f"127.0.0.1:{srv.port}: {name}, {doc['tls']['cipher']}; 2 certificate(s)" in t.out


def test_sni_selects_the_chain(capsys, monkeypatch, files, h, pems) -> None:
    other = dh.chain_for("b.diag.test", root_cn="B Root", inter_cn="B Issuing")
    seen: list[str | None] = []
    ctx = netlab.server_context(
        files, [h.leaf, h.intermediate],
        sni={"b.diag.test": [other.leaf, other.intermediate]}, seen_sni=seen,
    )
    with netlab.serving(netlab.tls_handler(ctx)) as srv:
        a = go_json(capsys, monkeypatch, srv.port, trust=pems["root"])
        b = dh.diagnose(
            capsys, monkeypatch, f"127.0.0.1:{srv.port}", "--servername", "b.diag.test",
            "--client", "go", "--trust", pems["root"], "--format", "json",
        )
    assert seen[:2] == [HOST, "b.diag.test"]
    assert a.rc == 0 and a.doc is not None
    assert a.doc["leaf"] == dh.fps(h.leaf)[0]
    # The B chain is served for that name, and its root is not the --trust one.
    assert b.rc == 1 and b.doc is not None
    assert b.doc["leaf"] == dh.fps(other.leaf)[0]
    assert b.doc["host"] == "b.diag.test" and b.doc["target"]["sni"] == "b.diag.test"
    assert b.doc["verdict"]["cause"] == "untrusted-root"


def test_connect_to_keeps_the_name(capsys, monkeypatch, files, h, pems) -> None:
    with dh.serve_chain(files, [h.leaf, h.intermediate]) as srv:
        j = dh.diagnose(
            capsys, monkeypatch, f"{HOST}:8443", "--connect-to", f"127.0.0.1:{srv.port}",
            "--client", "go", "--trust", pems["root"], "--format", "json",
        )
        t = dh.diagnose(
            capsys, monkeypatch, f"https://{HOST}:8443/v2/", "--connect-to",
            f"127.0.0.1:{srv.port}", "--client", "go", "--trust", pems["root"],
        )
    assert j.rc == 0 and j.doc is not None
    tgt = j.doc["target"]
    assert (tgt["host"], tgt["port"], tgt["servername"]) == (HOST, 8443, HOST)
    assert tgt["connect"] == tgt["address"] == f"127.0.0.1:{srv.port}"
    assert t.rc == 0
    assert t.first_line == f"✓ TRUSTED by go — https://{HOST}:8443 (via 127.0.0.1:{srv.port})"


def test_ipv6_loopback(capsys, monkeypatch, files, tmp_path) -> None:
    if not netlab.ipv6_available():
        pytest.skip("no IPv6 loopback here")
    hh = dh.chain_for(HOST, ips=("::1",), dns=(HOST,))
    root = dh.write_pem(tmp_path / "root.pem", hh.root)
    with dh.serve_chain(files, [hh.leaf, hh.intermediate], host="::1") as srv:
        by_ip = dh.diagnose(
            capsys, monkeypatch, f"[::1]:{srv.port}", "--client", "go", "--trust", root,
            "--format", "json",
        )
        by_name = dh.diagnose(
            capsys, monkeypatch, f"[::1]:{srv.port}", "--servername", HOST, "-6",
            "--client", "go", "--trust", root, "--format", "json",
        )
    for r in (by_ip, by_name):
        assert r.rc == 0 and r.doc is not None, r.out
        assert r.doc["target"]["address"] == f"[::1]:{srv.port}"
    assert by_ip.doc is not None and by_ip.doc["host"] == "::1"
    assert by_name.doc is not None and by_name.doc["host"] == HOST


@pytest.mark.parametrize("version", [V12, V13], ids=["tls1.2", "tls1.3"])
def test_client_certificate_required(capsys, monkeypatch, files, h, pems, version) -> None:
    client_ca = pki.make_cert("Client CA", **dh.VALID)
    ctx = netlab.server_context(
        files, [h.leaf, h.intermediate], client_ca=client_ca, min_version=version,
        max_version=version,
    )
    with netlab.serving(netlab.tls_handler(ctx)) as srv:
        j = go_json(capsys, monkeypatch, srv.port, trust=pems["root"])
        t = go_text(capsys, monkeypatch, srv.port, trust=pems["root"])
    # The chain is still reported and judged: the server side of trust is fine.
    assert j.rc == 0 and j.doc is not None
    check_common(j, srv.port, [h.leaf, h.intermediate])
    assert j.doc["addresses"][0]["client_cert_requested"] is True
    assert "client-cert-requested" in [f["code"] for f in j.doc["findings"]]
    if version is V12:
        assert "client certificate" in (j.doc["addresses"][0]["handshake_error"] or "")
    assert "the server asks for a client certificate" in t.out


# -- anchors from a temporary --root (the stores path) ---------------------------------------


def _debian_root(tmp: Path, *roots: pki.Issued) -> str:
    """Debian as ca-certificates and openssl leave it: the bundle, and
    OPENSSLDIR (/usr/lib/ssl) cert.pem and certs/ pointing at it."""
    (tmp / "etc/ssl/certs").mkdir(parents=True)
    (tmp / "usr/lib/ssl").mkdir(parents=True)
    (tmp / "etc/os-release").write_text('ID=debian\nVERSION_ID="12"\n')
    (tmp / "etc/ssl/certs/ca-certificates.crt").write_bytes(b"".join(r.pem for r in roots))
    (tmp / "usr/lib/ssl/cert.pem").symlink_to("/etc/ssl/certs/ca-certificates.crt")
    (tmp / "usr/lib/ssl/certs").symlink_to("/etc/ssl/certs")
    return str(tmp)


@pytest.mark.parametrize("client", ["go", "openssl", "curl", "kubelet"])
def test_temporary_root_layout(capsys, monkeypatch, files, h, tmp_path, client) -> None:
    other = pki.make_cert("Unrelated Public Root", **dh.VALID)
    without = _debian_root(tmp_path / "without", other)
    with_root = _debian_root(tmp_path / "with", other, h.root)
    with dh.serve_chain(files, [h.leaf, h.intermediate]) as srv:
        args = (f"127.0.0.1:{srv.port}", "--servername", HOST, "--client", client, "--format",
                "json")
        bad = dh.diagnose(capsys, monkeypatch, *args, "--root", without)
        good = dh.diagnose(capsys, monkeypatch, *args, "--root", with_root)
    assert bad.rc == 1 and bad.doc is not None
    assert bad.doc["verdict"]["cause"] == "untrusted-root"
    assert bad.doc["clients"][0]["anchor_count"] == 1
    assert good.rc == 0 and good.doc is not None
    # Go names the bundle; OpenSSL names OPENSSLDIR's cert.pem (a link to it).
    source = good.doc["clients"][0]["anchor_source"]
    assert "ca-certificates.crt" in source or "/usr/lib/ssl/cert.pem" in source


def test_trusted_certificate_block_is_ignored_by_go(
    capsys, monkeypatch, files, h, tmp_path
) -> None:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is needed to write a TRUSTED CERTIFICATE block")
    plain = dh.write_pem(tmp_path / "root.pem", h.root)
    trusted = tmp_path / "root-trusted.pem"
    subprocess.run(
        [openssl, "x509", "-in", plain, "-addtrust", "serverAuth", "-trustout", "-out",
         str(trusted)],
        check=True, capture_output=True,
    )
    assert b"BEGIN TRUSTED CERTIFICATE" in trusted.read_bytes()
    with dh.serve_chain(files, [h.leaf, h.intermediate]) as srv:
        r = dh.diagnose(
            capsys, monkeypatch, f"127.0.0.1:{srv.port}", "--servername", HOST,
            "--client", "go", "--client", "openssl", "--client", "docker", "--trust", str(trusted),
            "--format", "json",
        )
    assert r.rc == 1 and r.doc is not None
    verdicts = {c["client"]: (c["trusted"], c["cause"]) for c in r.doc["clients"]}
    assert verdicts == {
        "go": (False, "untrusted-root"),
        "openssl": (True, "ok"),
        "docker": (False, "untrusted-root"),
    }
    # One warning naming every Go-based client that drops the block.
    ignored = [f for f in r.doc["findings"] if f["code"] == "trusted-block-ignored"]
    assert len(ignored) == 1 and ignored[0]["params"]["client"] == "go, docker"


def test_schema_is_valid_and_documents_the_diagnose_keys() -> None:
    import jsonschema

    jsonschema.Draft202012Validator.check_schema(dh.SCHEMA)
    for key in ("target", "tls", "addresses", "error"):
        assert key in dh.SCHEMA["properties"]
    # A diagnose document without its target is not valid; an error document
    # without an error is not either.
    bad = {"schema_version": 1, "kind": "diagnose", "verdict": {}, "target": {}}
    assert list(dh.VALIDATOR.iter_errors(bad))


# -- usage errors: exit 2, one line, nothing contacted ------------------------------------


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["http://example.test/"], "is not TLS"),
        (["example.test:99999"], "outside 1-65535"),
        (["example.test", "--starttls", "gopher"], "unknown --starttls protocol"),
        (["example.test", "--timeout", "0"], "--timeout"),
        (["example.test", "--timeout", "nan"], "--timeout"),
        (["example.test", "--proxy", "socks5://127.0.0.1:1080"], "proxy"),
        (["example.test", "--client", "lynx"], "unknown client 'lynx'"),
        (["example.test", "--trust", "/nonexistent/root.pem"], "/nonexistent/root.pem"),
        (["example.test", "--servername", "bad name"], "--servername"),
        (["example.test", "--connect-to", "a b"], "--connect-to"),
        (["example.test", "--at", "yesterday"], "--at"),
    ],
)
def test_usage_errors(capsys, monkeypatch, argv, words) -> None:
    r = dh.diagnose(capsys, monkeypatch, *argv)
    assert r.rc == 2, (r.out, r.err)
    assert r.out == ""
    lines = r.err.strip().splitlines()
    assert len(lines) == 1 and words in lines[0], r.err
    assert "Traceback" not in r.err
