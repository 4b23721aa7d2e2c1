"""``diagnose --fetch``: a live server that omits its intermediate, confirmed via AIA."""

from __future__ import annotations

import json

from helpers.aia import AiaServer, der, static
from trustdoctor.cli.main import main
from trustdoctor.lab import tls_server
from trustdoctor.lab.pki import make_cert

HOST = "aia.diagnose.test"


def _pki(aia_url: str):
    root = make_cert("Diagnose AIA Root")
    inter = make_cert("Diagnose AIA Issuing CA", issuer=root)
    leaf = make_cert(HOST, issuer=inter, ca=False, dns=[HOST], aia_ca_issuers=[aia_url])
    return root, inter, leaf


def test_fetch_confirms_missing_intermediate_high(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    with AiaServer() as site:
        root, inter, leaf = _pki(site.url("/issuing.crt"))
        site.routes["/issuing.crt"] = static(der(inter))
        (tmp_path / "root.pem").write_bytes(root.pem)
        with tls_server([leaf], leaf, tmp_path) as port:
            argv = [
                "diagnose",
                f"{HOST}:{port}",
                "--connect-to",
                f"127.0.0.1:{port}",
                "--trust",
                str(tmp_path / "root.pem"),
                "--client",
                "go",
                "--format",
                "json",
            ]
            assert main(argv) == 1
            before = json.loads(capsys.readouterr().out)
            assert site.hits == {}  # offline unless asked
            assert main([*argv, "--fetch", "--cache", str(tmp_path / "cache")]) == 1
            after = json.loads(capsys.readouterr().out)
            assert main([*argv[:-2], "--fetch", "--cache", str(tmp_path / "cache")]) == 1
            text = capsys.readouterr().out
    assert before["verdict"]["cause"] == "missing-intermediate"
    assert before["verdict"]["confidence"] != "high"
    v = after["verdict"]
    assert v["cause"] == "missing-intermediate" and v["confidence"] == "high" and not v["trusted"]
    sha = after["clients"][0]["findings"][0]["params"]["fetched_sha256"]
    assert after["certificates"][sha]["subject"] == "CN=Diagnose AIA Issuing CA"
    assert "the server should also send 'Diagnose AIA Issuing CA'" in text
    assert site.hits["/issuing.crt"] == 1  # the second run came from the cache
