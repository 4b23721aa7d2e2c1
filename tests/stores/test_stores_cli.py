"""``trustdoctor stores``: inventory, compliance check, JSON contract, errors and exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import SRC
from helpers.stores import Root, ca, debian, fp
from trustdoctor.cli.main import main
from trustdoctor.cli.trustopts import parse_env_file

A, C = ca("CLI Test Root A"), ca("CLI Corp Root")


@pytest.fixture
def root(tmp_path: Path) -> Root:
    r = Root(tmp_path / "root")
    debian(r, [A], local=[("corp.crt", C)], compiled_local=False)
    r.file("/usr/bin/node", "", 0o755)
    return r


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_inventory_text(root: Root, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["stores", "--root", str(root.path)], capsys)
    assert code == 0
    assert f"Trust stores in --root {root.path}" in out
    assert "Debian GNU/Linux 12 (bookworm)" in out
    assert "go — 1 anchor" in out and "node — " in out
    assert "stale-bundle" in out and "run: update-ca-certificates" in out
    assert "environment (empty)" in out


def test_inventory_json_contract(root: Root, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        [
            "stores",
            "--root",
            str(root.path),
            "--client",
            "go,openssl",
            "--format",
            "json",
            "--anchors",
        ],
        capsys,
    )
    assert code == 0
    data = json.loads(out)
    assert data["schema_version"] == 1 and data["kind"] == "stores"
    assert data["root"] == f"--root {root.path}"
    assert data["distro"]["family"] == "debian"
    assert [c["client"] for c in data["clients"]] == ["go", "openssl"]
    go = data["clients"][0]
    assert go["anchor_count"] == 1 and go["anchors"][0]["sha256"] == fp(A)
    assert go["sources"][0] == {
        "path": "/etc/ssl/certs/ca-certificates.crt",
        "kind": "file",
        "status": "used",
        "count": 1,
        "detail": "certFiles",
    }
    stale = next(f for f in go["findings"] if f["code"] == "stale-bundle")
    assert stale["certificates"] == [fp(C)] and stale["side"] == "client"
    assert go["pending"][0]["source"] == "/usr/local/share/ca-certificates/corp.crt"
    assert "trusted" not in go


def test_compliance_check(root: Root, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    caf = tmp_path / "a.pem"
    caf.write_bytes(A.pem)
    code, out, _ = run(
        [
            "stores",
            "--root",
            str(root.path),
            "--client",
            "go",
            "--client",
            "openssl",
            "--ca",
            str(caf),
        ],
        capsys,
    )
    assert code == 0 and "trusted by every selected client" in out
    corp = tmp_path / "corp.pem"
    corp.write_bytes(C.pem)
    code, out, _ = run(["stores", "--root", str(root.path), "--ca", str(corp)], capsys)
    assert code == 1
    assert "✗ go" in out and "stale-bundle" in out and "not trusted by: go, node\n" in out
    code, out, _ = run(
        [
            "stores",
            "--root",
            str(root.path),
            "--client",
            "node",
            "--fingerprint",
            ":".join(fp(A)[i : i + 2] for i in range(0, 64, 2)),
            "--format",
            "json",
        ],
        capsys,
    )
    data = json.loads(out)
    assert code == 1 and data["trusted"] is False
    assert data["clients"][0]["checks"][0]["reason"] == "not-present"
    assert data["clients"][0]["trusted"] is False


def test_env_options(root: Root, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root.file("/opt/corp.pem", C.pem)
    env_file = tmp_path / "env"
    env_file.write_text("# comment\nexport SSL_CERT_FILE='/opt/corp.pem'\n\n")
    code, out, _ = run(
        [
            "stores",
            "--root",
            str(root.path),
            "--client",
            "go",
            "--env-file",
            str(env_file),
            "--env",
            "SSL_CERT_DIR=/nonexistent",
            "--format",
            "json",
            "--anchors",
        ],
        capsys,
    )
    data = json.loads(out)
    assert code == 0 and data["environment"]["trust_variables"] == ["SSL_CERT_FILE", "SSL_CERT_DIR"]
    assert data["environment"]["origin"] == "given"
    assert [a["sha256"] for a in data["clients"][0]["anchors"]] == [fp(C)]
    assert parse_env_file('A=1\nexport B="x y"\n', "f") == {"A": "1", "B": "x y"}


@pytest.mark.parametrize(
    "argv,message",
    [
        (["--root", "/nonexistent/td"], "--root /nonexistent/td: no such directory"),
        (["--client", "bogus"], "unknown client 'bogus'"),
        (["--env", "NOEQUALS"], "--env 'NOEQUALS': expected KEY=VALUE"),
        (["--env", "1BAD=x"], "expected KEY=VALUE"),
        (["--registry", "https://reg.example/v2"], "--registry"),
        (["--registry", "reg example"], "--registry"),
        (["--fingerprint", "zz"], "expected 64 hex digits"),
        (["--pid", "2147483646"], "no such process"),
        (["--ca", "/nonexistent/ca.pem"], "/nonexistent/ca.pem"),
    ],
)
def test_usage_and_input_errors(
    root: Root, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    base = [] if "--root" in argv or "--pid" in argv else ["--root", str(root.path)]
    code, out, err = run(["stores", *base, *argv], capsys)
    assert code == 2, err
    assert message in err
    assert err.count("\n") == 1 and "Traceback" not in err and out == ""


def test_bad_files_are_one_line_errors(
    root: Root, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key = tmp_path / "key.pem"
    key.write_bytes(A.key_pem)
    code, _, err = run(["stores", "--root", str(root.path), "--ca", str(key)], capsys)
    assert code == 2 and "private key" in err and "BEGIN" not in err
    env_file = tmp_path / "env"
    env_file.write_text("GOOD=1\nnot a pair\n")
    code, _, err = run(["stores", "--root", str(root.path), "--env-file", str(env_file)], capsys)
    assert code == 2 and f"{env_file}: line 2: expected KEY=VALUE" in err
    afile = tmp_path / "afile"
    afile.write_text("x")
    code, _, err = run(["stores", "--root", str(afile)], capsys)
    assert code == 2 and "not a directory" in err
    code, _, err = run(["stores", "--root", str(root.path), "--pid", "1"], capsys)
    assert code == 2  # mutually exclusive (argparse)


def test_subprocess_entry_point(root: Root) -> None:
    """The real command line, once, as a user runs it."""
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "trustdoctor",
            "stores",
            "--root",
            str(root.path),
            "--client",
            "go",
            "--format",
            "json",
        ],
        env={"PYTHONPATH": str(SRC), "HOME": os.environ["HOME"]},  # the run's private home
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["clients"][0]["client"] == "go"
