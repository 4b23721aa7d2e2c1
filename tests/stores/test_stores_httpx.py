"""The ``httpx`` client: SSL_CERT_FILE, else SSL_CERT_DIR, else certifi (issue 10's
proof that a client is one unit: a registry row, a store model, a fix recipe).

Oracle: the real httpx, in a subprocess with the same environment, against a
loopback TLS server, compared with ``diagnose --client httpx``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from helpers.stores import (
    Root,
    bundle,
    ca,
    clean_env,
    debian,
    has,
    hash_of,
    leaf,
    stores,
    tls_server,
)
from trustdoctor.cli.main import main

httpx = pytest.importorskip("httpx", reason="httpx is not installed (the test extra has it)")

A, B = ca("Httpx Test Root A"), ca("Httpx Test Root B")

PROBE = """
import sys, httpx
try:
    httpx.get(sys.argv[1], timeout=10)
except httpx.ConnectError as exc:
    print("refused:", exc)
    sys.exit(1)
print("ok")
"""


def _pip_certifi(root: Root, certs: list) -> None:
    """A pip-installed certifi and httpx on the root's import path."""
    site = "/usr/local/lib/python3.11/dist-packages"
    root.file("/usr/bin/python3.11", "", 0o755)
    root.file("/usr/lib/python3.11/ssl.py", "")
    root.file(f"{site}/certifi/__init__.py", '__version__ = "2024.1.1"\n')
    root.file(f"{site}/certifi/core.py", "def where(): ...\n")
    root.file(f"{site}/certifi/cacert.pem", bundle(certs))
    root.file(f"{site}/httpx/__init__.py", "")


def test_precedence_file_then_dir_then_certifi(tmp_path: Path) -> None:
    r = Root(tmp_path / "r")
    debian(r, [A])
    _pip_certifi(r, [B])
    r.file("/opt/one.pem", A.pem)
    r.file(f"/opt/dir/{hash_of(B)}.0", B.pem)
    default = stores(r, ["httpx"])["httpx"]
    assert has(default, B) and not has(default, A)  # certifi's, not the system store
    only_file = stores(r, ["httpx"], {"SSL_CERT_FILE": "/opt/one.pem"})["httpx"]
    assert has(only_file, A) and not has(only_file, B)
    both = stores(r, ["httpx"], {"SSL_CERT_FILE": "/opt/one.pem", "SSL_CERT_DIR": "/opt/dir"})
    assert has(both["httpx"], A) and not has(both["httpx"], B)  # the file wins, alone
    only_dir = stores(r, ["httpx"], {"SSL_CERT_DIR": "/opt/dir"})["httpx"]
    assert has(only_dir, B) and not has(only_dir, A)
    missing = stores(r, ["httpx"], {"SSL_CERT_FILE": "/opt/none.pem"})["httpx"]
    assert len(missing.anchors) == 0 and "FileNotFoundError" in (missing.load_error or "")


def test_found_when_the_root_has_it(tmp_path: Path) -> None:
    from trustdoctor.stores import build_context, clients_present

    r = Root(tmp_path / "r")
    debian(r, [A])
    with build_context(root=r.path, env={}) as ctx:
        assert "httpx" not in clients_present(ctx)
    _pip_certifi(r, [B])
    with build_context(root=r.path, env={}) as ctx:
        assert "httpx" in clients_present(ctx)


@pytest.mark.oracle
@pytest.mark.parametrize(
    ("env", "trusted"),
    [
        ({"SSL_CERT_FILE": "root.pem"}, True),
        ({"SSL_CERT_FILE": "other.pem", "SSL_CERT_DIR": "hashed"}, False),  # the file wins
        ({"SSL_CERT_DIR": "hashed"}, True),
        ({}, False),  # certifi's Mozilla roots lack the private root
    ],
)
def test_diagnose_agrees_with_real_httpx(tmp_path: Path, capsys, env, trusted) -> None:
    (tmp_path / "root.pem").write_bytes(A.pem)
    (tmp_path / "other.pem").write_bytes(B.pem)
    (tmp_path / "hashed").mkdir()
    (tmp_path / "hashed" / f"{hash_of(A)}.0").write_bytes(A.pem)
    real_env = {k: str(tmp_path / v) for k, v in env.items()}
    server = leaf(A)
    with tls_server([server], server) as (host, port):
        url = f"https://{host}:{port}/"
        real = subprocess.run(
            [sys.executable, "-c", PROBE, url],
            env=clean_env(**real_env),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        argv = ["diagnose", f"{host}:{port}", "--client", "httpx", "--proxy", "", "--format"]
        argv += ["json", *(x for k, v in real_env.items() for x in ("--env", f"{k}={v}"))]
        rc = main(argv)
        doc = json.loads(capsys.readouterr().out)
    assert (real.returncode == 0) == trusted, real.stdout + real.stderr
    assert doc["verdict"]["trusted"] == trusted and rc == (0 if trusted else 1)
    if not trusted:
        # The text the model says httpx prints is the real one's core.
        said = doc["clients"][0]["client_error"]
        assert "CERTIFICATE_VERIFY_FAILED" in real.stdout and said.split(": ", 1)[0] in real.stdout


def test_fix_plan_points_the_variable_at_the_system_bundle(tmp_path: Path, capsys) -> None:
    r = Root(tmp_path / "r")
    debian(r, [B])
    _pip_certifi(r, [B])
    (tmp_path / "ca.pem").write_bytes(A.pem)
    argv = ["fix", "--ca", str(tmp_path / "ca.pem"), "--root", str(r.path), "--client", "httpx"]
    assert main([*argv, "--format", "json"]) == 1
    plan = json.loads(capsys.readouterr().out)["plan"]
    commands = " ".join(c for s in plan["steps"] for c in s["commands"])
    assert "update-ca-certificates" in commands
    assert "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt" in commands
    assert "certifi-pip" in [n["code"] for n in plan["notes"]]
