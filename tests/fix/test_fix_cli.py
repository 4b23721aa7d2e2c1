"""``trustdoctor fix --for``: diagnose first (a chain file or a loopback server), plan, apply."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

import helpers.netlab as netlab
from helpers.fix import check, guarded_host, make_root, run_cli
from trustdoctor.lab import pki
from trustdoctor.model.findings import Code


@pytest.fixture(autouse=True)
def _host_untouched() -> object:
    with guarded_host():
        yield


def _loopback_pki() -> pki.Hierarchy:
    return pki.hierarchy("localhost", ips=("127.0.0.1",), dns=("localhost",), not_before=None)


def test_for_chain_file_missing_intermediate(tmp_path: Path) -> None:
    h = pki.hierarchy()
    leaf = tmp_path / "leaf.pem"
    leaf.write_bytes(h.leaf.pem)
    root = make_root(tmp_path, "debian", bundle=h.root.pem)
    r = run_cli(
        ["fix", "--for", str(leaf), "--root", str(root), "--client", "go", "--server", "nginx"]
    )
    assert r.code == 1, r.err
    assert "missing-intermediate (server side)" in r.out
    assert "cat leaf.pem intermediate.pem > fullchain.pem" in r.out
    assert "ssl_certificate " in r.out and "SSLCertificateFile" not in r.out


def test_for_chain_file_trusted_is_nothing_to_do(tmp_path: Path) -> None:
    h = pki.hierarchy()
    chain = tmp_path / "chain.pem"
    chain.write_bytes(h.fullchain_pem)
    root = make_root(tmp_path, "debian", bundle=h.root.pem)
    r = run_cli(["fix", "--for", str(chain), "--root", str(root), "--client", "go"])
    assert r.code == 0, r.err
    assert "nothing to change" in r.out


def test_for_live_server_then_apply_then_trusted(tmp_path: Path) -> None:
    """diagnose → plan (client side) → --apply with the root → the same server is now trusted."""
    h = _loopback_pki()
    files = netlab.Files()
    try:
        ctx = netlab.server_context(files, [h.leaf, h.intermediate])
        with netlab.serving(netlab.tls_handler(ctx)) as srv:
            target = f"127.0.0.1:{srv.port}"
            root = make_root(tmp_path, "distroless")
            r = run_cli(
                ["fix", "--for", target, "--root", str(root), "--client", "go", "--format", "json"]
            )
            assert r.code == 1, r.err
            doc = json.loads(r.out)
            assert doc["kind"] == "fix" and doc["plan"]["side"] == "client"
            assert doc["plan"]["cause"] in (
                Code.UNTRUSTED_ROOT.value,
                Code.MISSING_INTERMEDIATE.value,
            )
            ca = tmp_path / "root.pem"
            ca.write_bytes(h.root.pem)
            # a CA that does not issue this chain is refused
            other = tmp_path / "other.pem"
            other.write_bytes(pki.make_cert("Unrelated Root").pem)
            bad = run_cli(
                ["fix", "--for", target, "--ca", str(other), "--root", str(root), "--client", "go"]
            )
            assert bad.code == 2 and "does not issue" in bad.err
            r = run_cli(
                [
                    "fix",
                    "--for",
                    target,
                    "--ca",
                    str(ca),
                    "--root",
                    str(root),
                    "--client",
                    "go",
                    "--apply",
                    "--yes",
                ]
            )
            assert r.code == 0, r.err + r.out
            from trustdoctor.model.cert import from_certificate

            assert check(root, from_certificate(h.root.cert), ["go"])["go"].trusted
            again = run_cli(["fix", "--for", target, "--root", str(root), "--client", "go"])
            assert again.code == 0, again.out
            assert "nothing to change" in again.out
    finally:
        files.cleanup()


def test_for_unreachable_gives_network_checks(tmp_path: Path) -> None:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    root = make_root(tmp_path, "debian")
    r = run_cli(
        [
            "fix",
            "--for",
            f"127.0.0.1:{port}",
            "--root",
            str(root),
            "--client",
            "go",
            "--timeout",
            "3",
        ]
    )
    assert r.code == 1, r.err
    assert "(network side)" in r.out or "(server side)" in r.out
    assert "is the port open from here?" in r.out


@pytest.mark.parametrize("code", [c.value for c in Code])
def test_cause_json_document(code: str, tmp_path: Path) -> None:
    r = run_cli(
        ["fix", "--cause", code, "--root", str(tmp_path), "--client", "go", "--format", "json"]
    )
    assert r.code in (0, 1), r.err
    doc = json.loads(r.out)
    assert doc["schema_version"] == 1 and doc["kind"] == "fix"
    plan = doc["plan"]
    assert plan["cause"] == code
    for s in plan["steps"]:
        assert set(s) >= {
            "action",
            "params",
            "needs_root",
            "changes",
            "platform",
            "why",
            "commands",
        }
        assert all(isinstance(c, str) for c in s["commands"])
    from trustdoctor.fixes.planner import NOTE_ONLY

    assert (r.code == 0) == (Code(code) in NOTE_ONLY)
    assert plan["empty"] or Code(code) not in NOTE_ONLY


def test_kubernetes_pseudo_client(tmp_path: Path) -> None:
    ca = tmp_path / "root.pem"
    ca.write_bytes(pki.make_cert("K8s Registry Root").pem)
    r = run_cli(
        [
            "fix",
            "--ca",
            str(ca),
            "--client",
            "kubernetes",
            "--registry",
            "reg.example:5000",
            "--root",
            str(tmp_path),
        ]
    )
    assert r.code == 1
    assert "kind: DaemonSet" in r.out and "/etc/containerd/certs.d" in r.out


def test_dockerfile_env_origin_is_named(tmp_path: Path) -> None:
    from trustdoctor.model.cert import from_certificate

    ca = pki.make_cert("Env Root")
    root = make_root(tmp_path, "debian", bundle=pki.make_cert("Pub").pem + ca.pem)
    (root / "opt/legacy").mkdir(parents=True)
    (root / "opt/legacy/ca.pem").write_bytes(pki.make_cert("Legacy").pem)
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text(
        'FROM debian:12\nENV LANG=C.UTF-8 SSL_CERT_FILE=/opt/legacy/ca.pem\nCMD ["app"]\n'
    )
    capath = tmp_path / "ca.pem"
    capath.write_bytes(ca.pem)
    env = {"SSL_CERT_FILE": "/opt/legacy/ca.pem"}
    assert (
        check(root, from_certificate(ca.cert), ["python"], env=env)["python"].reason
        == "env-override"
    )
    r = run_cli(
        [
            "fix",
            "--ca",
            str(capath),
            "--root",
            str(root),
            "--client",
            "python",
            "--env",
            "SSL_CERT_FILE=/opt/legacy/ca.pem",
            "--dockerfile",
            str(dockerfile),
        ]
    )
    assert r.code == 1, r.err
    assert f"set in {dockerfile}:2" in r.out
    assert "ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt" in r.out


def test_pid_environment_origin(tmp_path: Path) -> None:
    """--pid: the variable is found in the process environment (read-only on this host)."""
    import subprocess
    import sys

    from trustdoctor.model.pem import pem_encode
    from trustdoctor.stores.apply import certs_der

    mozilla = sorted(Path("/usr/share/ca-certificates/mozilla").glob("*.crt"))
    if not mozilla or not Path("/etc/ssl/certs/ca-certificates.crt").exists():
        pytest.skip("no Debian CA store on this host")
    first = pem_encode(certs_der(mozilla[0].read_bytes())[0])
    capath = tmp_path / "public.pem"
    capath.write_bytes(first)
    empty = tmp_path / "empty.pem"
    empty.write_bytes(pki.make_cert("Nothing Useful").pem)
    (tmp_path / "emptydir").mkdir()
    env = {
        "PATH": "/usr/bin:/bin",
        "SSL_CERT_FILE": str(empty),
        "SSL_CERT_DIR": str(tmp_path / "emptydir"),
    }
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], env=env)
    try:
        r = run_cli(
            [
                "fix",
                "--ca",
                str(capath),
                "--pid",
                str(proc.pid),
                "--client",
                "python",
                "--format",
                "json",
            ]
        )
    finally:
        proc.kill()
        proc.wait()
    assert r.code == 1, r.err
    doc = json.loads(r.out)
    assert doc["plan"]["cause"] == "env-override"
    unsets = [s for s in doc["plan"]["steps"] if s["action"] == "unset-env"]
    assert {s["params"]["name"] for s in unsets} == {"SSL_CERT_FILE", "SSL_CERT_DIR"}
    origin = unsets[0]["params"]["origins"][0]
    assert origin["kind"] == "process" and origin["path"] == f"/proc/{proc.pid}/environ"
