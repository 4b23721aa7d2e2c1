"""One pipeline: every front end gives the same answer to the same question (issue 10).

The lab's scenarios are real TLS servers on loopback with real client roots;
the library (``trustdoctor.api``), ``diagnose``, ``fix --for`` and ``lab``
must answer each of them identically.  Each defect found by trying the
commands as a new user would has its regression test below.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from helpers.aia import AiaServer, der, static
from trustdoctor.cli.main import main
from trustdoctor.lab import SCENARIOS, Prepared, diagnose_prepared, prepared, run_scenario, scenario
from trustdoctor.lab.pki import make_cert

NAMES = [s.name for s in SCENARIOS]


def _where(p: Prepared) -> list[str]:
    """The command-line options that describe a prepared scenario exactly."""
    o = p.options
    argv = ["--connect-to", p.connect_to, "--servername", p.servername, "--proxy", ""]
    argv += ["--client", p.scenario.client, "--root", o.root, "--at", p.at.isoformat()]
    for k, v in (o.env or {}).items():
        argv += ["--env", f"{k}={v}"]
    if o.registry:
        argv += ["--registry", o.registry]
    if o.started:
        argv += ["--started", o.started.isoformat()]
    return argv


def _json(capsys: pytest.CaptureFixture[str], argv: list[str]) -> tuple[int, dict[str, Any]]:
    rc = main(argv)
    return rc, json.loads(capsys.readouterr().out)


def _stable(doc: dict[str, Any]) -> dict[str, Any]:
    """The document without what differs between two handshakes (their duration)."""
    for a in doc.get("addresses", []):
        a.pop("elapsed_ms", None)
    return doc


@pytest.fixture(params=NAMES)
def lab_case(request: pytest.FixtureRequest) -> Iterator[Prepared]:
    with prepared(scenario(request.param)) as p:
        yield p


def test_diagnose_json_is_the_library_result(lab_case: Prepared, capsys) -> None:
    """What ``api.diagnose_endpoint`` returns is what ``diagnose --format json`` prints."""
    p = lab_case
    lib = diagnose_prepared(p)
    rc, cli = _json(capsys, ["diagnose", p.target, *_where(p), "--format", "json"])
    assert _stable(cli) == _stable(lib.to_dict())
    assert rc == (0 if lib.trusted else 1)
    found = lib.diagnosis.verdict.cause.value if lib.diagnosis else None
    assert found == p.scenario.expected


def test_fix_for_prints_the_plan_diagnose_shows(lab_case: Prepared, capsys) -> None:
    """The Fix section of ``diagnose`` is ``fix --for``'s plan, step for step."""
    p = lab_case
    _, diag = _json(capsys, ["diagnose", p.target, *_where(p), "--format", "json"])
    rc, fix = _json(capsys, ["fix", "--for", p.target, *_where(p), "--format", "json"])
    if p.scenario.expected == "ok":
        assert "plan" not in diag and fix["plan"]["empty"] and rc == 0
    else:
        assert diag["plan"] == fix["plan"]
        assert diag["plan"]["steps"] or diag["plan"]["notes"]


@pytest.mark.parametrize("name", NAMES)
def test_lab_json_is_its_diagnosis(name: str) -> None:
    res = run_scenario(scenario(name))
    doc = res.to_dict()
    assert doc.pop("lab") == {
        "scenario": name,
        "expected": res.scenario.expected,
        "found": res.found,
        "ok": True,
    }
    assert doc == res.report.to_dict()


# -- check commands keep the endpoint ---------------------------------------------------------


def test_check_commands_keep_address_sni_and_port(capsys) -> None:
    with prepared(scenario("missing-intermediate")) as p:
        _, doc = _json(capsys, ["diagnose", p.target, *_where(p), "--format", "json"])
    commands = [c for s in doc["plan"]["steps"] for c in s["commands"]]
    port = p.connect_to.rsplit(":", 1)[1]
    served = next(c for c in commands if "s_client" in c)
    assert f"-connect 127.0.0.1:{port}" in served
    assert "-servername registry.internal.example.com" in served
    again = next(c for c in commands if c.startswith("trustdoctor diagnose"))
    assert f"registry.internal.example.com:{port}" in again
    assert f"--connect-to 127.0.0.1:{port}" in again and "--proxy ''" in again
    assert ":443" not in " ".join(commands)  # not even in the server configuration


def test_fix_for_an_unreachable_port_checks_that_port(capsys) -> None:
    rc, doc = _json(capsys, ["fix", "--for", "127.0.0.1:1", "--timeout", "2", "--format", "json"])
    commands = " ".join(c for s in doc["plan"]["steps"] for c in s["commands"])
    assert rc == 1 and doc["plan"]["cause"] == "unreachable"
    assert "/dev/tcp/127.0.0.1/1" in commands and "/443" not in commands


# -- verdicts --------------------------------------------------------------------------------------


def test_diagnose_trust_settles_the_root_question(tmp_path: Path, capsys) -> None:
    """With --trust, "supply the root you expect with --trust" is no advice to give."""
    with prepared(scenario("missing-intermediate")) as p:
        (tmp_path / "root.pem").write_bytes(p.pki.h.root.pem)
        argv = ["diagnose", p.target, "--connect-to", p.connect_to, "--proxy", ""]
        argv += ["--trust", str(tmp_path / "root.pem"), "--client", "go"]
        rc, doc = _json(capsys, [*argv, "--format", "json"])
        main(argv)
        text = capsys.readouterr().out
    assert rc == 1 and doc["verdict"]["cause"] == "missing-intermediate"
    assert "supply-root" not in doc["clients"][0]["settle"]
    assert "supply the root you expect" not in text
    assert doc["verdict"]["confidence"] != "low"


def test_both_sides_must_act_and_the_plan_fixes_both_server_first(tmp_path: Path, capsys) -> None:
    """The server omits its intermediate (fetched via AIA) *and* the client lacks the root."""
    from trustdoctor.lab import HOST, tls_server

    with AiaServer() as site:
        root = make_cert("Both Sides Root")
        inter = make_cert("Both Sides Issuing CA", issuer=root)
        leaf = make_cert(HOST, issuer=inter, ca=False, dns=[HOST], aia_ca_issuers=[site.url("/i")])
        site.routes["/i"] = static(der(inter))
        other = make_cert("Some Other Root")
        (tmp_path / "other.pem").write_bytes(other.pem)
        with tls_server([leaf], leaf, tmp_path) as port:
            argv = ["diagnose", f"{HOST}:{port}", "--connect-to", f"127.0.0.1:{port}"]
            argv += ["--trust", str(tmp_path / "other.pem"), "--client", "go", "--proxy", ""]
            argv += ["--fetch", "--cache", str(tmp_path / "cache")]
            rc, doc = _json(capsys, [*argv, "--format", "json"])
            main(argv)
            text = capsys.readouterr().out
    v = doc["verdict"]
    assert rc == 1 and v["cause"] == "untrusted-root"
    assert v["sides"] == ["server", "client"]
    assert text.startswith("✗ NOT TRUSTED (server and client side")
    assert "\n  and: " in text  # what the server must do too
    reasons = [s["reason"] for s in doc["plan"]["steps"] if not s["alternative"]]
    serve = reasons.index("build-fullchain")
    install = next(i for i, r in enumerate(reasons) if r.startswith("debian") or "anchor" in r
                   or r == "unknown-distro" or r.startswith("copy"))
    assert serve < install, reasons


def test_daemon_clients_judge_the_target_as_their_registry(capsys) -> None:
    """``--client docker`` reads certs.d/<host:port> of the target without --registry."""
    with prepared(scenario("private-root")) as p:
        port = p.connect_to.rsplit(":", 1)[1]
        d = Path(p.options.root) / f"etc/docker/certs.d/{p.servername}:{port}"
        d.mkdir(parents=True)
        (d / "ca.crt").write_bytes(p.pki.h.root.pem)
        argv = ["diagnose", f"{p.servername}:{port}", "--connect-to", p.connect_to]
        argv += ["--client", "docker", "--root", p.options.root, "--proxy", ""]
        rc, doc = _json(capsys, [*argv, "--format", "json"])
    assert rc == 0 and doc["verdict"]["trusted"], doc["verdict"]


@pytest.mark.parametrize(
    "target,registry",
    [
        ("registry.test", "registry.test"),  # 443: no port, as the reference writes it
        ("registry.test:5000", "registry.test:5000"),
        ("[::1]:443", "[::1]"),  # an IPv6 registry keeps its brackets on 443 too
        ("[::1]:5000", "[::1]:5000"),
        ("https://10.0.0.7:8443/v2/", "10.0.0.7:8443"),
    ],
)
def test_default_registry_is_spelt_as_the_image_reference(target: str, registry: str) -> None:
    from trustdoctor.api.context import default_registry
    from trustdoctor.model.target import parse_target

    assert default_registry(parse_target(target), ("docker",)) == registry
    assert default_registry(parse_target(target), ()) == registry  # any client may be docker
    assert default_registry(parse_target(target), ("go",)) is None


def test_target_that_no_daemon_can_name_is_a_usage_error(capsys) -> None:
    """Docker's reference grammar has no underscore: say so, and how to go on,
    before any connection (the port below has no listener)."""
    rc = main(["diagnose", "my_registry:1", "--client", "docker", "--root", "/nonexistent"])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and len(err.splitlines()) == 1, err
    assert "'my_registry:1' is not a registry name" in err and "--registry" in err
    assert "--registry 'my" not in err  # the user gave no --registry


def test_target_no_daemon_can_name_is_still_diagnosed_for_the_other_clients(capsys) -> None:
    """Without --client, a Compose-style name (underscore) is no registry: the
    clients found are judged as usual (here: nothing listens, exit 3), no usage
    error."""
    from trustdoctor.api.context import default_registry
    from trustdoctor.model.target import parse_target

    assert default_registry(parse_target("my_service:8443"), ()) is None
    # (connected on loopback, where nothing listens on port 1: no DNS query)
    argv = ["diagnose", "my_service:1", "--connect-to", "127.0.0.1:1", "--timeout", "2"]
    rc = main([*argv, "--format", "json"])
    out = capsys.readouterr()
    assert rc == 3 and "not a registry name" not in out.err, out
    assert json.loads(out.out)["error"]["code"] == "unreachable"


def test_server_option_narrows_the_server_configuration(capsys) -> None:
    with prepared(scenario("missing-intermediate")) as p:
        _, all_ = _json(capsys, ["diagnose", p.target, *_where(p), "--format", "json"])
        _, one = _json(
            capsys, ["diagnose", p.target, *_where(p), "--server", "nginx", "--format", "json"]
        )

    def software(doc: dict[str, Any]) -> list[str]:
        return [s["params"]["software"] for s in doc["plan"]["steps"] if "software" in s["params"]]

    assert len(software(all_)) == 6 and software(one) == ["nginx"]


def test_diagnose_intermediates_complete_the_chain(tmp_path: Path, capsys) -> None:
    with prepared(scenario("missing-intermediate")) as p:
        (tmp_path / "inter.pem").write_bytes(p.pki.h.intermediate.pem)
        argv = ["diagnose", p.target, *_where(p), "--format", "json"]
        rc, doc = _json(capsys, [*argv, "--intermediates", str(tmp_path / "inter.pem")])
    assert rc == 0 and doc["verdict"]["trusted"]
    assert [s["source"] for s in doc["supplied"]] == [str(tmp_path / "inter.pem")]


def test_wrong_order_names_the_expected_order(tmp_path: Path, capsys) -> None:
    from trustdoctor.lab.pki import hierarchy

    h = hierarchy("registry.test")
    (tmp_path / "x.pem").write_bytes(h.intermediate.pem + h.leaf.pem)
    (tmp_path / "root.pem").write_bytes(h.root.pem)
    argv = ["chain", str(tmp_path / "x.pem"), "--trust", str(tmp_path / "root.pem")]
    main([*argv, "--host", "registry.test"])
    text = capsys.readouterr().out
    line = next(x for x in text.splitlines() if "wrong-order" in x)
    assert "?" not in line and "registry.test" in line and "Example Internal Issuing CA" in line


# -- plans made from the same facts ---------------------------------------------------------------


def _debian_java_root(tmp_path: Path) -> Path:
    import shutil
    import subprocess

    from helpers.stores import Root, debian

    keytool = shutil.which("keytool")
    if keytool is None:
        pytest.skip("keytool not installed")
    public = make_cert("Some Public Root")
    (tmp_path / "public.pem").write_bytes(public.pem)
    cacerts = tmp_path / "cacerts"
    subprocess.run(
        [keytool, "-importcert", "-noprompt", "-alias", "public", "-file",
         str(tmp_path / "public.pem"), "-keystore", str(cacerts), "-storetype", "JKS",
         "-storepass", "changeit"],
        capture_output=True, check=True, timeout=120,
    )  # fmt: skip
    r = Root(tmp_path / "root")
    debian(r, [public], java=True)
    r.file("/etc/ssl/certs/java/cacerts", cacerts.read_bytes())
    r.file("/etc/ca-certificates/update.d/jks-keystore", "#!/bin/sh\n", 0o755)
    r.file("/usr/share/ca-certificates-java/ca-certificates-java.jar", "")
    return r.path


def test_java_on_debian_is_fixed_through_the_system_store(tmp_path: Path, capsys) -> None:
    """cacerts is generated from the system store there: every command plans the
    system store (no keytool into cacerts), and none installs the hook twice."""
    from trustdoctor.lab.pki import hierarchy

    root = _debian_java_root(tmp_path)
    h = hierarchy()
    (tmp_path / "chain.pem").write_bytes(h.fullchain_pem)
    (tmp_path / "ca.pem").write_bytes(h.root.pem)
    common = ["--root", str(root), "--client", "java", "--format", "json"]
    _, chain = _json(capsys, ["chain", str(tmp_path / "chain.pem"), *common])
    _, fix_for = _json(capsys, ["fix", "--for", str(tmp_path / "chain.pem"), *common])
    _, fix_ca = _json(capsys, ["fix", "--ca", str(tmp_path / "ca.pem"), *common])
    _, stores = _json(capsys, ["stores", "--ca", str(tmp_path / "ca.pem"), *common])
    assert chain["plan"] == fix_for["plan"]
    assert stores["plan"] == fix_ca["plan"]
    for plan in (chain["plan"], fix_ca["plan"]):
        actions = [s["action"] for s in plan["steps"]]
        assert "keytool-import" not in actions
        assert "java-managed" in [n["code"] for n in plan["notes"]]
        text = " ".join(c for s in plan["steps"] for c in s["commands"])
        assert "ca-certificates-java" not in text, "the hook is installed already"
        assert "update-ca-certificates" in text


def test_a_variable_naming_the_system_bundle_is_not_appended_to(tmp_path: Path, capsys) -> None:
    """NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt: the refresh rebuilds that
    very file with the CA, so no plan appends to it just before."""
    from helpers.stores import Root, debian

    r = Root(tmp_path / "root")
    debian(r, [make_cert("Some Public Root")])
    r.file("/usr/bin/node", "", 0o755)
    r.file("/usr/lib/node_modules/npm/package.json", "{}")
    ca = make_cert("Node Root")
    (tmp_path / "ca.pem").write_bytes(ca.pem)
    argv = ["fix", "--ca", str(tmp_path / "ca.pem"), "--root", str(r.path), "--client", "node"]
    argv += ["--env", "NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt", "--format", "json"]
    _, doc = _json(capsys, argv)
    commands = " ".join(c for s in doc["plan"]["steps"] for c in s["commands"])
    assert "tee -a /etc/ssl/certs/ca-certificates.crt" not in commands
    assert "export NODE_EXTRA_CA_CERTS" not in commands
    assert "env-names-system-bundle" in [n["code"] for n in doc["plan"]["notes"]]


def test_sudo_follows_who_runs_the_tool(tmp_path: Path, capsys, monkeypatch) -> None:
    import os

    from trustdoctor.lab.pki import hierarchy

    h = hierarchy()
    (tmp_path / "leaf.pem").write_bytes(h.leaf.pem + h.intermediate.pem + h.root.pem)
    argv = ["chain", str(tmp_path / "leaf.pem"), "--client", "go", "--root", str(tmp_path)]
    for uid, sudo in ((0, False), (1000, True)):
        monkeypatch.setattr(os, "geteuid", lambda uid=uid: uid)
        _, chain = _json(capsys, [*argv, "--format", "json"])
        _, fix = _json(capsys, ["fix", "--for", *argv[1:], "--format", "json"])
        assert chain["plan"] == fix["plan"]
        text = " ".join(c for s in chain["plan"]["steps"] for c in s["commands"])
        assert ("sudo " in text) == sudo


# -- bundle ----------------------------------------------------------------------------------------


def test_bundle_with_the_wrong_key_is_not_a_bundle(tmp_path: Path, capsys) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    from trustdoctor.lab.pki import hierarchy

    h = hierarchy()
    (tmp_path / "full.pem").write_bytes(h.fullchain_pem)
    (tmp_path / "root.pem").write_bytes(h.root.pem)
    key = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    (tmp_path / "wrong.key").write_bytes(key)
    argv = ["bundle", str(tmp_path / "full.pem"), "--trust", str(tmp_path / "root.pem")]
    argv += ["--key", str(tmp_path / "wrong.key"), "--no-fetch"]
    assert main(argv) == 1
    text = capsys.readouterr().out
    assert not text.startswith("✓ BUNDLE")
    assert "does not match the leaf" in text.splitlines()[0]
    assert "write it with --out" not in text
    rc, doc = _json(capsys, [*argv, "--format", "json"])
    assert rc == 1 and doc["ok"] is False and doc["chain_trusted"] is True
    assert "BEGIN" not in json.dumps(doc["key"])  # the key itself is never shown


def test_bundle_reads_the_clients_of_a_root(tmp_path: Path, capsys) -> None:
    from helpers.stores import Root, debian
    from trustdoctor.lab.pki import hierarchy

    h = hierarchy()
    r = Root(tmp_path / "root")
    debian(r, [h.root])
    (tmp_path / "full.pem").write_bytes(h.fullchain_pem)
    rc, doc = _json(
        capsys,
        ["bundle", str(tmp_path / "full.pem"), "--root", str(r.path), "--client", "go",
         "--no-fetch", "--format", "json"],
    )  # fmt: skip
    assert rc == 0 and doc["ok"] and [c["client"] for c in doc["clients"]] == ["go"]
    assert doc["clients"][0]["anchor"]["subject"] == "CN=Example Internal Root CA"


# -- the contract is documented ------------------------------------------------------------


def test_plan_and_sides_are_in_the_json_schema_and_docs() -> None:
    from helpers import DOCS, SCHEMAS

    schema = json.loads((SCHEMAS / "diagnosis.schema.json").read_text())
    assert "plan" in schema["properties"] and "plan" in schema["$defs"]
    assert "sides" in schema["properties"]["verdict"]["properties"]
    doc = (DOCS / "json-schema.md").read_text()
    assert "`plan`" in doc and "`verdict.sides`" in doc and "Fix section" in doc
