"""Golden text output, the JSON schema, and the exit codes of ``chain``."""

from __future__ import annotations

import json
import os

import jsonschema
import pytest

from helpers import SCHEMAS, TESTDATA
from trustdoctor.cli.main import main
from trustdoctor.model.findings import Code

# Newest Go wraps x509 errors (crypto/tls CertificateVerificationError, Go >= 1.20).
GO_VERIFY = "tls: failed to verify certificate: "

DATA = TESTDATA / "golden"
SCHEMA = json.loads(
    (SCHEMAS / "diagnosis.schema.json").read_text()
)
AT = "2026-06-01T12:00:00Z"
HOST = "registry.internal.example.com"

CASES = {
    "trusted": (["fullchain.pem"], ["root.pem"], HOST, 0),
    "missing-intermediate": (["leaf.pem"], ["root.pem"], HOST, 1),
    "untrusted-root": (["fullchain.pem"], ["other-root.pem"], HOST, 1),
    "hostname-mismatch": (["fullchain.pem"], ["root.pem"], "wrong.example.com", 1),
}


def _run(capsys, monkeypatch, files, trust, host, *extra):
    monkeypatch.chdir(DATA)
    monkeypatch.setenv("NO_COLOR", "1")
    # The goldens show the plan as an unprivileged user sees it (with sudo),
    # whoever runs the tests.
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    argv = [
        "chain",
        *files,
        *[arg for t in trust for arg in ("--trust", t)],
        "--host",
        host,
        "--at",
        AT,
        *extra,
    ]
    rc = main(argv)
    out = capsys.readouterr()
    return rc, out.out, out.err


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden_text(name, capsys, monkeypatch):
    files, trust, host, code = CASES[name]
    rc, out, _ = _run(capsys, monkeypatch, files, trust, host)
    assert rc == code
    golden = DATA / f"{name}.txt"
    if os.environ.get("TRUSTDOCTOR_UPDATE_GOLDEN"):
        golden.write_text(out)
    assert out == golden.read_text(), f"update with TRUSTDOCTOR_UPDATE_GOLDEN=1 if intended:\n{out}"


@pytest.mark.parametrize("name", sorted(CASES))
def test_json_follows_schema(name, capsys, monkeypatch):
    files, trust, host, code = CASES[name]
    rc, out, _ = _run(capsys, monkeypatch, files, trust, host, "--format", "json")
    assert rc == code
    data = json.loads(out)
    jsonschema.validate(data, SCHEMA)
    assert data["schema_version"] == 1
    assert data["verdict"]["trusted"] is (code == 0)
    expected = "ok" if name == "trusted" else name
    assert data["verdict"]["cause"] == expected
    for c in data["clients"]:
        for f in c["findings"]:
            assert f["code"] in {x.value for x in Code}


def test_json_verdict_with_single_client_is_that_clients(capsys, monkeypatch):
    _, out, _ = _run(
        capsys, monkeypatch, ["leaf.pem"], ["root.pem"], HOST, "--format", "json", "--client", "go"
    )
    data = json.loads(out)
    assert [c["client"] for c in data["clients"]] == ["go"]
    assert data["verdict"]["cause"] == "missing-intermediate"
    assert data["verdict"]["side"] == "server"
    assert data["clients"][0]["client_error"] == (
        GO_VERIFY
        + "x509: certificate signed by unknown authority"
    )


def test_text_is_plain_when_not_a_tty(capsys, monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.chdir(DATA)
    main(["chain", "leaf.pem", "--trust", "root.pem", "--host", HOST, "--at", AT])
    out = capsys.readouterr().out
    assert "\x1b[" not in out
