"""End to end on loopback: a server that omits its intermediate, AIA confirms it,
``bundle`` writes the fullchain, the restarted server is trusted by real clients.

Real TLS (python ``ssl`` server, trustdoctor's own handshake), a real HTTP
issuer server for the caIssuers URL, real clients as oracles: curl, ``openssl
s_client`` and a tiny Go program (each skipped cleanly when absent).  Every
real-client check is made *before* the fix too, so it cannot pass vacuously.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from helpers.aia import AiaServer
from helpers.bundle import HOST, info, site_pki, tls_site
from trustdoctor.cli.main import main
from trustdoctor.model.target import parse_target
from trustdoctor.sources.network import fetch_chain

GO_DIAL = r"""
package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
)

// godial ROOTS.pem HOST:PORT SERVERNAME: a crypto/tls handshake, verification on.
func main() {
	data, _ := os.ReadFile(os.Args[1])
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(data)
	conn, err := tls.Dial("tcp", os.Args[2], &tls.Config{RootCAs: pool, ServerName: os.Args[3]})
	if err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	conn.Close()
	fmt.Println("OK")
}
"""


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env["NO_PROXY"] = "*"
    return env


@pytest.fixture(autouse=True)
def _isolated(monkeypatch, tmp_path):
    for var in list(os.environ):
        if "proxy" in var.lower():
            monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    monkeypatch.setenv("NO_COLOR", "1")


@pytest.fixture(scope="module")
def godial(tmp_path_factory) -> Path | None:
    go = shutil.which("go")
    if go is None:
        return None
    d = tmp_path_factory.mktemp("godial")
    (d / "godial.go").write_text(GO_DIAL)
    env = dict(
        _clean_env(),
        GOCACHE=str(d / "cache"),
        GOPATH=str(d / "gopath"),
        HOME=str(d),
        GOPROXY="off",
        CGO_ENABLED="0",
        GO111MODULE="off",
    )
    subprocess.run(
        [go, "build", "-o", str(d / "godial"), str(d / "godial.go")],
        check=True,
        env=env,
        timeout=300,
        capture_output=True,
    )
    return d / "godial"


def _curl(root: Path, port: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            "curl",
            "-sS",
            "--max-time",
            "10",
            "--noproxy",
            "*",
            "--cacert",
            str(root),
            "--resolve",
            f"{HOST}:{port}:127.0.0.1",
            f"https://{HOST}:{port}/",
        ],
        capture_output=True,
        text=True,
        timeout=30,
        env=_clean_env(),
    )


def _s_client(root: Path, port: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            "openssl",
            "s_client",
            "-connect",
            f"127.0.0.1:{port}",
            "-servername",
            HOST,
            "-verify_hostname",
            HOST,
            "-verify_return_error",
            "-CAfile",
            str(root),
        ],
        input="",
        capture_output=True,
        text=True,
        timeout=30,
        env=_clean_env(),
    )


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    rc = main(list(argv))
    out = capsys.readouterr()
    return rc, out.out, out.err


def _real_clients(root: Path, port: int, godial: Path | None) -> dict[str, bool]:
    """Which installed real clients accept the server (True) or refuse it (False)."""
    seen: dict[str, bool] = {}
    if shutil.which("curl"):
        r = _curl(root, port)
        seen["curl"] = r.returncode == 0 and "hello from the bundle test" in r.stdout
        if not seen["curl"]:
            assert r.returncode == 60, r.stderr  # 60: peer certificate cannot be authenticated
    if shutil.which("openssl"):
        r = _s_client(root, port)
        seen["openssl"] = r.returncode == 0
        if not seen["openssl"]:
            assert "unable to" in r.stdout + r.stderr
    if godial is not None:
        r = subprocess.run(
            [str(godial), str(root), f"127.0.0.1:{port}", HOST],
            capture_output=True,
            text=True,
            timeout=30,
        )
        seen["go"] = r.stdout.strip() == "OK"
        if not seen["go"]:
            assert "x509: certificate signed by unknown authority" in r.stdout
    return seen


def test_omitted_intermediate_confirmed_bundled_and_fixed(tmp_path, capsys, godial):
    root_pem = tmp_path / "root.pem"
    out = tmp_path / "deploy" / "fullchain.pem"
    out.parent.mkdir()
    cache = tmp_path / "aia-cache"
    with AiaServer() as issuer:
        site = site_pki(issuer)
        root_pem.write_bytes(site.root.pem)
        broken = tls_site(tmp_path, site.leaf.pem, site.leaf.key_pem, name="broken")
        with broken:
            port = broken.port
            assert port != 443
            # What the server presents: the leaf alone.
            fetched = fetch_chain(parse_target(f"127.0.0.1:{port}"), timeout=10)
            assert [p.cert.sha256 for p in fetched.chain] == [info(site.leaf).sha256]
            captured = tmp_path / "captured.pem"
            captured.write_bytes(site.leaf.pem)

            # Real clients refuse it (none of them fetches AIA).
            before = _real_clients(root_pem, port, godial)
            assert before and not any(before.values()), before
            expected = {"curl", "openssl"} & {c for c in ("curl", "openssl") if shutil.which(c)}
            assert expected <= set(before) and (godial is None or "go" in before)

            # chain --fetch confirms the missing intermediate and names it.
            rc, text, err = _run(
                capsys,
                "chain",
                str(captured),
                "--trust",
                str(root_pem),
                "--host",
                HOST,
                "--fetch",
                "--cache",
                str(cache),
            )
            assert rc == 1, err
            inter = info(site.inter)
            assert "✗ NOT TRUSTED (server side): the server omits the intermediate " in text
            assert (
                f"the server should also send 'Bundle Issuing CA' (fetched from "
                f"{site.inter_url}, sha256 {inter.sha256})" in text
            )
            rc, js, _ = _run(
                capsys,
                "chain",
                str(captured),
                "--trust",
                str(root_pem),
                "--fetch",
                "--cache",
                str(cache),
                "--format",
                "json",
            )
            data = json.loads(js)
            assert data["verdict"]["confidence"] == "high"
            assert data["verdict"]["params"]["fetched_sha256"] == inter.sha256

            # bundle, straight from the live server on its (non-443) port.
            rc, text, err = _run(
                capsys,
                "bundle",
                f"127.0.0.1:{port}",
                "--trust",
                str(root_pem),
                "--key",
                str(tmp_path / "broken-key.pem"),
                "--out",
                str(out),
                "--cache",
                str(cache),
            )
            assert rc == 0, text + err
            assert f"✓ BUNDLE trusted by go, openssl, webpki — https://127.0.0.1:{port}" in text
            assert "+ add 'Bundle Issuing CA' (fetched from " in text
            assert "Key: ✓" in text and "matches the leaf" in text
            assert f"Wrote {out}" in text
            assert "BEGIN PRIVATE KEY" not in text + err
            assert stat.S_IMODE(out.stat().st_mode) == 0o644
            assert out.read_bytes() == site.leaf.pem + site.inter.pem
            assert [p.name for p in out.parent.iterdir()] == ["fullchain.pem"]

    # Restart the server with the fullchain, on the same port, issuer server gone.
    fixed = tls_site(tmp_path, out.read_bytes(), site.leaf.key_pem, port=port, name="fixed")
    with fixed:
        after = fetch_chain(parse_target(f"127.0.0.1:{port}"), timeout=10)
        assert [p.cert.sha256 for p in after.chain] == [
            info(site.leaf).sha256,
            info(site.inter).sha256,
        ]
        captured2 = tmp_path / "captured2.pem"
        captured2.write_bytes(b"".join(_pem(p.cert.der) for p in after.chain))
        rc, text, err = _run(
            capsys, "chain", str(captured2), "--trust", str(root_pem), "--host", HOST
        )
        assert rc == 0, text + err
        assert text.startswith("✓ TRUSTED by go, openssl, webpki")
        now_ok = _real_clients(root_pem, port, godial)
        assert now_ok == {k: True for k in before}, now_ok
        # Bundling the fixed server changes nothing.
        rc, text, _ = _run(
            capsys,
            "bundle",
            f"127.0.0.1:{port}",
            "--trust",
            str(root_pem),
            "--no-fetch",
            "--cache",
            str(cache),
        )
        assert rc == 0 and "= unchanged" in text


def _pem(der: bytes) -> bytes:
    import base64

    b64 = base64.b64encode(der).decode()
    body = "\n".join(b64[i : i + 64] for i in range(0, len(b64), 64))
    return f"-----BEGIN CERTIFICATE-----\n{body}\n-----END CERTIFICATE-----\n".encode()


def test_bundle_fails_cleanly_when_aia_cannot_help(tmp_path, capsys):
    with AiaServer() as issuer:
        site = site_pki(issuer)
        del issuer.routes["/issuing.cer"]  # the CA's AIA URL answers 404
        (tmp_path / "root.pem").write_bytes(site.root.pem)
        with tls_site(tmp_path, site.leaf.pem, site.leaf.key_pem) as srv:
            out = tmp_path / "fullchain.pem"
            rc, text, err = _run(
                capsys,
                "bundle",
                f"127.0.0.1:{srv.port}",
                "--trust",
                str(tmp_path / "root.pem"),
                "--out",
                str(out),
                "--cache",
                str(tmp_path / "c"),
            )
            assert rc == 1
            assert "✗ NO BUNDLE" in text and "nothing was written" in text
            assert "aia-fetch-failed: could not fetch the missing issuer from" in text
            assert "http-status" in text
            assert "no chain is trusted by every selected client" in err
            assert not out.exists()
            # JSON says the same, with the attempt.
            rc, js, _ = _run(
                capsys,
                "bundle",
                f"127.0.0.1:{srv.port}",
                "--trust",
                str(tmp_path / "root.pem"),
                "--cache",
                str(tmp_path / "c"),
                "--format",
                "json",
            )
            data = json.loads(js)
            assert rc == 1 and data["ok"] is False and data["written"] is None
            assert data["aia"]["attempts"][0]["rejected"][0]["reason"] == "http-status"


def test_bundle_no_fetch_does_not_touch_the_network(tmp_path, capsys):
    with AiaServer() as issuer:
        site = site_pki(issuer)
        (tmp_path / "root.pem").write_bytes(site.root.pem)
        (tmp_path / "leaf.pem").write_bytes(site.leaf.pem)
        rc, text, _ = _run(
            capsys,
            "bundle",
            str(tmp_path / "leaf.pem"),
            "--trust",
            str(tmp_path / "root.pem"),
            "--no-fetch",
            "--cache",
            str(tmp_path / "c"),
        )
        assert rc == 1 and issuer.hits == {}
        assert "to settle" not in text  # bundle's own report
        rc, text, _ = _run(
            capsys,
            "bundle",
            str(tmp_path / "leaf.pem"),
            "--trust",
            str(tmp_path / "root.pem"),
            "--cache",
            str(tmp_path / "c"),
            "--format",
            "pem",
        )
        assert rc == 0 and issuer.hits == {"/issuing.cer": 1}
        assert text == (site.leaf.pem + site.inter.pem).decode()


def test_bundle_on_ipv6_loopback(tmp_path, capsys):
    import socket

    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
    except OSError:
        pytest.skip("no IPv6 loopback")
    import ssl

    with AiaServer() as issuer:
        site = site_pki(issuer)
        (tmp_path / "root.pem").write_bytes(site.root.pem)
        (tmp_path / "c.pem").write_bytes(site.leaf.pem)
        (tmp_path / "k.pem").write_bytes(site.leaf.key_pem)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(tmp_path / "c.pem", tmp_path / "k.pem")
        with AiaServer(tls=ctx, host="::1") as srv:
            rc, text, err = _run(
                capsys,
                "bundle",
                f"[::1]:{srv.port}",
                "--trust",
                str(tmp_path / "root.pem"),
                "--cache",
                str(tmp_path / "c"),
                "--format",
                "json",
            )
    data = json.loads(text)
    assert rc == 0, err
    assert data["source"]["source"] == f"https://[::1]:{srv.port}"
    assert [c["origin"] for c in data["chain"]] == ["leaf", "fetched"]
