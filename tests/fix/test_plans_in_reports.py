"""chain, diagnose and stores show the fix plan for their verdict."""

from __future__ import annotations

import json

from trustdoctor.cli.main import main
from trustdoctor.lab.pki import hierarchy, make_cert


def test_chain_json_and_text_carry_the_plan(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    h = hierarchy()
    (tmp_path / "leaf.pem").write_bytes(h.leaf.pem)
    (tmp_path / "root.pem").write_bytes(h.root.pem)
    argv = [
        "chain",
        str(tmp_path / "leaf.pem"),
        "--trust",
        str(tmp_path / "root.pem"),
        "--host",
        "registry.internal.example.com",
        "--at",
        "2026-06-01T12:00:00Z",
    ]
    assert main([*argv, "--format", "json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["plan"]["cause"] == "missing-intermediate"
    assert data["plan"]["side"] == "server"
    assert main(argv) == 1
    out = capsys.readouterr().out
    assert "\nFix  (the plan trustdoctor fix prints" in out
    assert "ssl_certificate" in out  # the nginx line of the server plan


def test_trusted_chain_has_no_plan(tmp_path, capsys):
    h = hierarchy()
    (tmp_path / "full.pem").write_bytes(h.fullchain_pem)
    (tmp_path / "root.pem").write_bytes(h.root.pem)
    assert (
        main(
            [
                "chain",
                str(tmp_path / "full.pem"),
                "--trust",
                str(tmp_path / "root.pem"),
                "--at",
                "2026-06-01T12:00:00Z",
                "--format",
                "json",
            ]
        )
        == 0
    )
    assert "plan" not in json.loads(capsys.readouterr().out)


def test_stores_ca_check_prints_the_plan_for_the_clients_that_lack_it(
    tmp_path, capsys, monkeypatch
):
    monkeypatch.setenv("NO_COLOR", "1")
    root = tmp_path / "root"
    (root / "etc/ssl/certs").mkdir(parents=True)
    (root / "etc/os-release").write_text("ID=debian\nVERSION_ID=12\n")
    public = make_cert("Public Root")
    (root / "etc/ssl/certs/ca-certificates.crt").write_bytes(public.pem)
    ca = make_cert("Internal Root")
    (tmp_path / "ca.pem").write_bytes(ca.pem)
    argv = ["stores", "--root", str(root), "--client", "go", "--ca", str(tmp_path / "ca.pem")]
    assert main(argv) == 1
    out = capsys.readouterr().out
    assert "/usr/local/share/ca-certificates/internal-root.crt" in out
    assert main([*argv, "--format", "json"]) == 1
    assert json.loads(capsys.readouterr().out)["plan"]["steps"]
    # Once the CA is there, nothing to plan.
    (root / "etc/ssl/certs/ca-certificates.crt").write_bytes(public.pem + ca.pem)
    assert main([*argv, "--format", "json"]) == 0
    assert "plan" not in json.loads(capsys.readouterr().out)


def test_no_trust_store_in_a_debian_image_refreshes_the_package_lists():
    from trustdoctor.fixes import plan_for
    from trustdoctor.fixes.model import FixContext
    from trustdoctor.render.plan_text import render_plan

    plan = plan_for("no-trust-store", FixContext(family="debian", image=True), client="go")
    text = render_plan(plan).plain()
    # Slim images ship without package lists: an install without update fails.
    assert "apt-get update && apt-get install" in text, text
