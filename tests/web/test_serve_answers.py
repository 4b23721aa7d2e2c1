"""``trustdoctor serve`` gives the CLI's answers: the JSON API returns the very
documents ``chain --format json`` and ``explain --format json`` print for the
same inputs, and the form post (no JavaScript) shows the same verdict.

Every test runs the real application under uvicorn on 127.0.0.1 and talks to
it over HTTP with httpx.
"""

from __future__ import annotations

import base64
import json
import re
import subprocess
from html import escape as html_escape
from pathlib import Path
from typing import Any

import certifi
import httpx
import jsonschema
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs7, pkcs12

from helpers import SCHEMAS
from helpers.web import HOST, Pki, make_pki, running
from trustdoctor.cli.main import main
from trustdoctor.web.settings import WEB_CLIENTS, Settings

SCHEMA = json.loads((SCHEMAS / "diagnosis.schema.json").read_text())
CLIENTS = ",".join(WEB_CLIENTS)
GO_LINE = (
    'Get "https://registry.internal.example.com:5000/v2/": '
    "x509: certificate signed by unknown authority"
)


@pytest.fixture(scope="module")
def server():
    with running() as s:
        yield s


def _cli(capsys: pytest.CaptureFixture[str], argv: list[str]) -> dict[str, Any]:
    rc = main(argv)
    out = capsys.readouterr().out
    assert rc in (0, 1), out
    return json.loads(out)


def _normal(doc: dict[str, Any]) -> dict[str, Any]:
    """Without what names the input (paths vs "pasted chain") and the clock
    (a reissue plan's "from now" differs by the second between two runs)."""
    text = json.dumps(doc)
    text = re.sub(r'"(source|anchor_source)": "[^"]*"', r'"\1": "-"', text)
    text = re.sub(r"T\d\d:\d\d:\d\d\+00:00", "T-", text)
    out = json.loads(text)
    out.pop("at", None)
    return out


def _api_chain(url: str, **body: str) -> dict[str, Any]:
    r = httpx.post(f"{url}/api/chain", json=body, timeout=30)
    assert r.status_code == 200, r.text
    doc = r.json()
    jsonschema.validate(doc, SCHEMA)
    return doc


def _cases(p: Pki) -> dict[str, tuple[dict[str, str], list[str]]]:
    h = p.h
    leaf, full = p.write("leaf.pem", h.leaf.pem), p.write("full.pem", h.fullchain_pem)
    root = p.write("root.pem", h.root.pem)
    mozilla = certifi.where()
    transcript = (
        b"CONNECTED(00000003)\n---\nCertificate chain\n 0 s:CN = " + HOST.encode() + b"\n"
        + h.leaf.pem + b" 1 s:CN = Example Internal Issuing CA\n" + h.intermediate.pem
        + b"---\nServer certificate\nsubject=CN = " + HOST.encode() + b"\n"
    )  # fmt: skip
    secret = base64.b64encode(h.fullchain_pem)
    der = h.leaf.der
    p7 = pkcs7.serialize_certificates(
        [h.leaf.cert, h.intermediate.cert], serialization.Encoding.DER
    )
    p12 = pkcs12.serialize_key_and_certificates(
        b"web", h.leaf.key, h.leaf.cert, [h.intermediate.cert],
        serialization.BestAvailableEncryption(b"s3cret"),
    )  # fmt: skip
    files = {
        "transcript": p.write("transcript.txt", transcript),
        "secret": p.write("secret.b64", secret),
        "der": p.write("leaf.der", der),
        "p7": p.write("chain.p7b", p7),
        "p12": p.write("chain.p12", p12),
    }
    b64 = lambda b: base64.b64encode(b).decode()  # noqa: E731
    return {
        "missing intermediate, root given": (
            {"chain": h.leaf.pem.decode(), "root": h.root.pem.decode(), "host": HOST},
            [leaf, "--trust", root, "--host", HOST],
        ),
        "missing intermediate, no root": (
            {"chain": h.leaf.pem.decode(), "host": HOST},
            [leaf, "--trust", mozilla, "--host", HOST],
        ),
        "untrusted root, without the root": (
            {"chain": h.fullchain_pem.decode(), "host": HOST},
            [full, "--trust", mozilla, "--host", HOST],
        ),
        "untrusted root, with the root": (
            {"chain": h.fullchain_pem.decode(), "root": h.root.pem.decode(), "host": HOST},
            [full, "--trust", root, "--host", HOST],
        ),
        "wrong host": (
            {"chain": h.fullchain_pem.decode(), "root": h.root.pem.decode(), "host": "x.example"},
            [full, "--trust", root, "--host", "x.example"],
        ),
        "s_client transcript": (
            {"chain": transcript.decode(), "root": h.root.pem.decode()},
            [files["transcript"], "--trust", root],
        ),
        "kubernetes secret": (
            {"chain": secret.decode(), "root": h.root.pem.decode()},
            [files["secret"], "--trust", root],
        ),
        "DER upload": ({"chain_base64": b64(der)}, [files["der"], "--trust", mozilla]),
        "PKCS#7 upload": (
            {"chain_base64": b64(p7), "root_base64": b64(h.root.der)},
            [files["p7"], "--trust", root],
        ),
        "PKCS#12 upload": (
            {"chain_base64": b64(p12), "password": "s3cret", "root": h.root.pem.decode()},
            [files["p12"], "--password", "s3cret", "--trust", root],
        ),
    }


def test_api_chain_is_the_cli_document(server, tmp_path, capsys):
    p = make_pki(tmp_path)
    causes = {}
    for name, (body, argv) in _cases(p).items():
        web = _api_chain(server.url, **body)
        cli = _cli(capsys, ["chain", *argv, "--client", CLIENTS, "--format", "json"])
        assert _normal(web) == _normal(cli), name
        causes[name] = (web["verdict"]["cause"], web["verdict"]["sides"])
    # The cases are what they say (the comparison is not of two empty answers).
    assert causes["missing intermediate, root given"] == ("missing-intermediate", ["server"])
    assert causes["untrusted root, without the root"] == ("untrusted-root", ["client"])
    assert causes["untrusted root, with the root"] == ("ok", [])
    assert causes["wrong host"][0] == "hostname-mismatch"
    assert causes["PKCS#12 upload"] == ("ok", [])
    assert causes["DER upload"][0] == "missing-intermediate"


def test_served_with_trust_is_chain_with_trust(tmp_path, capsys):
    """``serve --trust FILE`` judges pastes without a root like ``chain --trust FILE``."""
    p = make_pki(tmp_path)
    root = p.write("root.pem", p.h.root.pem)
    full = p.write("full.pem", p.h.fullchain_pem)
    with running(Settings(trust=(root,))) as s:
        web = _api_chain(s.url, chain=p.h.fullchain_pem.decode(), host=HOST)
    cli = _cli(capsys, ["chain", full, "--trust", root, "--host", HOST, "--client", CLIENTS,
                        "--format", "json"])  # fmt: skip
    assert web["verdict"]["trusted"] is True
    assert _normal(web) == _normal(cli)


def test_api_explain_is_the_cli_document(server, capsys):
    log = "\n".join(
        [
            "level=info msg=pulling",
            GO_LINE,
            "curl: (60) SSL certificate problem: unable to get local issuer certificate",
            "javax.net.ssl.SSLHandshakeException: PKIX path building failed: "
            "sun.security.provider.certpath.SunCertPathBuilderException: unable to find valid "
            "certification path to requested target",
            GO_LINE,
        ]
    )
    r = httpx.post(f"{server.url}/api/explain", json={"text": log}, timeout=30)
    assert r.status_code == 200
    rc = main(["explain", "--format", "json", log])
    cli = json.loads(capsys.readouterr().out)
    assert rc == 0
    assert r.json() == cli
    assert [m["error_class"] for m in cli["matches"]][:1] == ["unknown-issuer"]


def test_form_post_without_javascript(server, tmp_path):
    """The form works as a plain multipart post: verdict, missing link, clients
    (with the release each model stands for and the exact error it prints), fix."""
    p = make_pki(tmp_path)
    api = _api_chain(server.url, chain=p.h.leaf.pem.decode(), root=p.h.root.pem.decode())
    files = {
        "chain": (None, p.h.leaf.pem.decode()),
        "root": (None, p.h.root.pem.decode()),
        "host": (None, HOST),
        "log": (None, GO_LINE),
    }
    r = httpx.post(server.url + "/", files=files, timeout=30)
    assert r.status_code == 200
    html = r.text
    assert "Not trusted" in html and "server side" in html
    assert "the server omits the intermediate &#39;Example Internal Issuing CA&#39;" in html
    assert 'class="link missing' in html
    for client in WEB_CLIENTS:
        assert f'<span class="cname">{client}</span>' in html
    for row in api["clients"]:  # the same words as the JSON (and so as the CLI)
        assert html_escape(row["client_error"], quote=True) in html, row["client"]
        if row.get("version"):
            assert f'<span class="cversion">{row["version"]}</span>' in html
    assert "x509: certificate signed by unknown authority" in html
    assert "cat leaf.pem intermediate.pem &gt; fullchain.pem" in html  # the plan's command
    # The explain part: Go's line, its causes and the next command.
    assert "trustdoctor diagnose registry.internal.example.com:5000 --client go" in html
    # A urlencoded post (the form without files) works too.
    r = httpx.post(server.url + "/", data={"log": GO_LINE}, timeout=30)
    assert r.status_code == 200 and "untrusted-root" in r.text


def test_upload_binary_files_through_the_form(server, tmp_path):
    p = make_pki(tmp_path)
    files = {
        "chain_file": ("leaf.der", p.h.leaf.der, "application/octet-stream"),
        "root_file": ("root.der", p.h.root.der, "application/octet-stream"),
    }
    r = httpx.post(server.url + "/", files=files, timeout=30)
    assert r.status_code == 200
    assert "missing-intermediate" in r.text and "server side" in r.text


def test_input_errors_are_one_line_answers(server):
    r = httpx.post(f"{server.url}/api/chain", json={"chain": "hello"}, timeout=10)
    assert r.status_code == 400 and "no certificate" in r.json()["error"]
    r = httpx.post(f"{server.url}/api/chain", content=b"{", timeout=10)
    assert r.status_code == 400 and r.json()["error"] == "the body is not JSON"
    r = httpx.post(f"{server.url}/api/chain", json={"chain": 5}, timeout=10)
    assert r.status_code == 400
    r = httpx.post(f"{server.url}/api/explain", json={"text": ""}, timeout=10)
    assert r.status_code == 400
    r = httpx.post(server.url + "/", files={"chain": (None, "-----BEGIN CERTIFICATE-----\nxx")})
    assert r.status_code == 400 and "could not be judged" in r.text
    r = httpx.post(server.url + "/", files={"host": (None, "x")})
    assert r.status_code == 400 and "paste a chain" in r.text
    # An unrecognised log is an answer, not an error.
    r = httpx.post(f"{server.url}/api/explain", json={"text": "all good"}, timeout=10)
    assert r.status_code == 200 and r.json()["recognised"] is False


def test_openapi_schema_and_health(server):
    doc = httpx.get(f"{server.url}/api/openapi.json").json()
    assert doc["openapi"].startswith("3.1")
    assert set(doc["paths"]) == {"/api/chain", "/api/explain", "/healthz"}  # no endpoint: off
    ref = doc["paths"]["/api/chain"]["post"]["responses"]["200"]["content"]["application/json"]
    schema = httpx.get(server.url + ref["schema"]["$ref"]).json()
    assert schema == SCHEMA
    health = httpx.get(f"{server.url}/healthz").json()
    assert health["status"] == "ok" and health["endpoint"] is False
    assert all(isinstance(v, int) for v in health["counts"].values())


def test_page_weight_and_assets(server):
    page = httpx.get(server.url + "/")
    assert page.status_code == 200
    css = httpx.get(server.url + "/static/style.css")
    js = httpx.get(server.url + "/static/app.js")
    assert css.headers["content-type"].startswith("text/css")
    assert js.headers["content-type"].startswith("text/javascript")
    weight = len(page.content) + len(css.content) + len(js.content)
    assert weight <= 100 * 1024, weight
    # Nothing from another origin: every src/href is local.
    for ref in re.findall(r'(?:src|href)="([^"]+)"', page.text):
        assert ref.startswith(("/", "#")), ref
    etag = css.headers["etag"]
    again = httpx.get(server.url + "/static/style.css", headers={"if-none-match": etag})
    assert again.status_code == 304
    assert httpx.get(server.url + "/static/../app.py").status_code == 404


def test_cli_serve_runs_and_answers(tmp_path):
    """``trustdoctor serve`` as a process: prints where it listens, answers, stops on SIGTERM."""
    import socket
    import sys
    import time

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "trustdoctor", "serve", "--listen", f"127.0.0.1:{port}"],
        stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, cwd=tmp_path,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
                assert time.monotonic() < deadline
                time.sleep(0.2)
        assert r.json()["status"] == "ok"
        assert "server" not in r.headers
    finally:
        proc.terminate()
        err = proc.communicate(timeout=20)[1]
    assert f"http://127.0.0.1:{port}/" in err and "paste-only" in err
    assert list(Path(tmp_path).iterdir()) == []  # nothing written where it ran
