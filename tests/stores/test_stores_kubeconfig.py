"""``kubectl``: the kubeconfig cluster's CA replaces the system roots (client-go).

Real files in temporary roots (stores/kubeconfig.py): the CA embedded or in a
file (relative to the kubeconfig), none (Go's system roots), KUBECONFIG lists
merged first-wins, insecure-skip-tls-verify, and every way the configuration
breaks; then ``diagnose`` against a loopback API server whose CA was rotated,
and the plan that embeds the new CA — run with a real kubectl when one is
installed (it never is in CI: skipped).
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

import helpers.diagnose as dh
from helpers.stores import Root, codes, debian, fp, has, stores
from trustdoctor.lab import pki

API = "api.cluster.test"


def _kubeconfig(ca: pki.Issued | None = None, *, ca_file: str | None = None,
                insecure: bool = False, current: str = "prod", cluster: str = "prod",
                server: str = f"https://{API}:6443",
                server_name: str | None = None) -> str:  # fmt: skip
    lines = ["apiVersion: v1", "kind: Config", "clusters:", "- cluster:"]
    if server_name is not None:
        lines.append(f"    tls-server-name: {server_name}")
    if ca is not None:
        lines.append(f"    certificate-authority-data: {base64.b64encode(ca.pem).decode()}")
    if ca_file is not None:
        lines.append(f"    certificate-authority: {ca_file}")
    if insecure:
        lines.append("    insecure-skip-tls-verify: true")
    lines += [f"    server: {server}", f"  name: {cluster}", "contexts:", "- context:",
              f"    cluster: {cluster}", "    user: admin", f"  name: {current}",
              f"current-context: {current}", "preferences: {}", "users:", "- name: admin",
              "  user:", "    token: not-a-secret"]  # fmt: skip
    return "\n".join(lines) + "\n"


@pytest.fixture
def root(tmp_path: Path) -> Root:
    r = Root(tmp_path / "r")
    debian(r, [pki.make_cert("Public Root")])
    return r


ENV = {"HOME": "/home/dev"}


def test_embedded_ca_is_the_only_trust(root: Root) -> None:
    cluster_ca = pki.make_cert("kubernetes")
    root.file("/home/dev/.kube/config", _kubeconfig(cluster_ca))
    s = stores(root, ["kubectl"], env=ENV)["kubectl"]
    assert [a.cert.sha256 for a in s.anchors.anchors] == [fp(cluster_ca)]
    assert not s.system_store and s.load_error is None
    used = [x for x in s.sources if x.status.value == "used" and x.kind == "cluster"]
    assert used and "context 'prod' → cluster 'prod'" in (used[0].detail or "")
    assert "the only roots" in (used[0].detail or "")


def test_ca_file_is_relative_to_its_kubeconfig(root: Root) -> None:
    cluster_ca = pki.make_cert("kubernetes")
    root.file("/etc/kube/pki/ca.crt", cluster_ca.pem)
    root.file("/etc/kube/admin.conf", _kubeconfig(ca_file="pki/ca.crt"))
    s = stores(root, ["kubectl"], env={"KUBECONFIG": "/etc/kube/admin.conf"})["kubectl"]
    assert has(s, cluster_ca) and len(s.anchors) == 1
    assert any(x.path == "/etc/kube/pki/ca.crt" for x in s.sources)
    # The file missing: kubectl's own error.
    (root.path / "etc/kube/pki/ca.crt").unlink()
    s = stores(root, ["kubectl"], env={"KUBECONFIG": "/etc/kube/admin.conf"})["kubectl"]
    assert s.load_error and s.load_error.startswith("unable to read certificate-authority")


def test_without_a_ca_the_system_roots_apply(root: Root) -> None:
    root.file("/home/dev/.kube/config", _kubeconfig())
    s = stores(root, ["kubectl", "go"], env=ENV)
    assert {a.cert.sha256 for a in s["kubectl"].anchors.anchors} == {
        a.cert.sha256 for a in s["go"].anchors.anchors
    }
    assert len(s["kubectl"].anchors) == 1


def test_kubeconfig_files_merge_first_wins(root: Root) -> None:
    """client-go merges KUBECONFIG's files: the first current-context, the first
    definition of each cluster and context win; a missing file is skipped."""
    a, b = pki.make_cert("CA of a"), pki.make_cert("CA of b")

    def cluster(name: str, ca: pki.Issued) -> str:
        data = base64.b64encode(ca.pem).decode()
        return f"- name: {name}\n  cluster:\n    certificate-authority-data: {data}\n"

    root.file("/k/one", "clusters:\n" + cluster("a", a) + "current-context: ctx-b\n")
    root.file("/k/two", "clusters:\n" + cluster("a", b) + "contexts:\n- name: ctx-b\n"
              "  context:\n    cluster: a\ncurrent-context: ctx-other\n")  # fmt: skip
    s = stores(root, ["kubectl"], env={"KUBECONFIG": "/k/one:/k/missing:/k/two"})["kubectl"]
    assert has(s, a) and not has(s, b), s.load_error
    assert [x.status.value for x in s.sources if x.kind == "kubeconfig"] == [
        "used", "missing", "used"]  # fmt: skip


def test_insecure_and_broken_configurations(root: Root) -> None:
    root.file("/home/dev/.kube/config", _kubeconfig(insecure=True))
    s = stores(root, ["kubectl"], env=ENV)["kubectl"]
    f = [x for x in s.findings if x.code.value == "daemon-store"]
    assert f and f[0].params["reason"] == "insecure-skip-tls-verify"
    root.file("/home/dev/.kube/config", _kubeconfig(pki.make_cert("x"), insecure=True))
    s = stores(root, ["kubectl"], env=ENV)["kubectl"]
    assert "insecure flag is not allowed" in (s.load_error or "")
    for text, words in (
        ("clusters: [unclosed\n", "yaml: not a valid kubeconfig"),
        # Hostile files: nesting past the parser's recursion, a value that
        # looks like a date and is none, bytes that are no text.
        ("[" * 100_000 + "]" * 100_000, "yaml: not a valid kubeconfig"),
        ("current-context: 2020-13-45\n", "yaml: not a valid kubeconfig"),
        (b"\xff\xfe\x00clusters: [\n", "yaml: not a valid kubeconfig"),
        ("x: " + "a" * (1 << 20), "too large"),
        (_kubeconfig().replace("current-context: prod", "current-context: gone"),
         "context was not found"),
        (_kubeconfig().replace("    cluster: prod", "    cluster: nowhere"), "not found"),
        (_kubeconfig().replace("    server:", "    certificate-authority-data: '%%%'\n    server:"),
         "illegal base64"),
    ):  # fmt: skip
        root.file("/home/dev/.kube/config", text)
        s = stores(root, ["kubectl"], env=ENV)["kubectl"]
        assert words in (s.load_error or ""), (words, s.load_error)
        assert "no-trust-store" in codes(s)
    (root.path / "home/dev/.kube/config").unlink()
    s = stores(root, ["kubectl"], env=ENV)["kubectl"]
    assert "no kubeconfig" in (s.load_error or "")


def test_diagnose_a_rotated_cluster_ca_and_its_plan(capsys, monkeypatch, files, root) -> None:
    """The API server now chains to a new cluster CA; the kubeconfig still holds
    the old one: kubectl refuses (client side, untrusted root); the plan embeds
    the new CA with kubectl config set-cluster.  With the new CA embedded,
    kubectl trusts the server and Go's system roots still do not."""
    # kubeadm's CA keeps its name, "kubernetes", across a rotation; the API
    # server sends its own certificate only.
    old = pki.make_cert("kubernetes", **dh.VALID)
    new = pki.make_cert("kubernetes", **dh.VALID)
    leaf = pki.make_cert(API, issuer=new, ca=False, dns=[API], **dh.VALID)
    root.file("/home/dev/.kube/config", _kubeconfig(old))
    with dh.serve_chain(files, [leaf], key=leaf) as srv:
        base = [f"127.0.0.1:{srv.port}", "--servername", API, "--root", str(root.path),
                "--env", "HOME=/home/dev", "--client", "kubectl,go",
                "--format", "json"]  # fmt: skip
        r = dh.diagnose(capsys, monkeypatch, *base)
        assert r.doc is not None and r.rc == 1, r.err
        by = {v["client"]: v for v in r.doc["clients"]}
        assert by["kubectl"]["cause"] == "untrusted-root" and by["kubectl"]["side"] == "client"
        # The old CA has the new one's name: a rotation, said so.
        params = by["kubectl"]["findings"][0]["params"]
        assert params["same_name_different_key"] and params["trusted_sha256"] == fp(old)
        from trustdoctor.render.words import headline

        assert "re-keyed" in headline("untrusted-root", params), params
        plan = r.doc["plan"]
        steps = [s for s in plan["steps"] if s["reason"] == "kubectl-set-cluster"]
        assert steps, json.dumps(plan["steps"], indent=1)[:2000]
        argv = steps[0]["params"]["argv"]
        assert argv[:4] == ["kubectl", "config", "set-cluster", "prod"]
        assert "--embed-certs=true" in argv and not any(a.startswith("--kubeconfig") for a in argv)
        # The plan names the server of the cluster it changes (made without the
        # endpoint: the reader checks it is the one diagnosed).
        told = [n for n in plan["notes"] if n["code"] == "kubectl-cluster-server"]
        assert told and told[0]["params"] == {"cluster": "prod", "server": f"https://{API}:6443"}
        root.file("/home/dev/.kube/config", _kubeconfig(new))
        r = dh.diagnose(capsys, monkeypatch, *base)
    assert r.doc is not None
    by = {v["client"]: v for v in r.doc["clients"]}
    assert by["kubectl"]["trusted"] and not by["go"]["trusted"]


def test_found_only_with_a_kubeconfig_and_an_unusable_one_is_no_bundle_to_install(
    capsys, root: Root, tmp_path: Path
) -> None:
    """A kubectl binary without a kubeconfig talks to no cluster: not among the
    clients found; with a kubeconfig it is.  A configuration kubectl cannot use
    is no CA bundle to install: the plan says what to fix instead."""
    from helpers.stores import build_context
    from trustdoctor.cli.main import main
    from trustdoctor.stores import clients_present

    root.file("/usr/bin/kubectl", b"\x7fELF kubectl", 0o755)
    with build_context(root=root.path, env=ENV) as ctx:
        assert "kubectl" not in clients_present(ctx)
    root.file("/home/dev/.kube/config", "apiVersion: v1\nkind: Config\n")
    with build_context(root=root.path, env=ENV) as ctx:
        assert "kubectl" in clients_present(ctx)
    h = pki.hierarchy(API)
    (tmp_path / "chain.pem").write_bytes(h.fullchain_pem)
    rc = main(["chain", str(tmp_path / "chain.pem"), "--root", str(root.path),
               "--env", "HOME=/home/dev", "--host", API, "--client", "kubectl",
               "--format", "json"])  # fmt: skip
    doc = json.loads(capsys.readouterr().out)
    assert rc == 1 and doc["clients"][0]["cause"] == "no-trust-store"
    plan = doc["plan"]
    assert not plan["steps"], plan["steps"]
    assert [n["code"] for n in plan["notes"]] == ["kubeconfig-unusable"]


def test_the_plans_check_finds_the_kubeconfig_in_a_root(capsys, root: Root, tmp_path) -> None:
    """``fix --client kubectl --root R``: the plan's check carries KUBECONFIG,
    so run as printed it reads the root's kubeconfig whatever the HOME of
    whoever runs it; it fails before the change and passes after."""
    from trustdoctor.cli.main import main

    old, new = pki.make_cert("kubernetes"), pki.make_cert("kubernetes")
    (tmp_path / "new.pem").write_bytes(new.pem)
    root.file("/home/ops/.kube/config", _kubeconfig(old))
    argv = ["fix", "--client", "kubectl", "--ca", str(tmp_path / "new.pem"), "--root",
            str(root.path), "--env", "HOME=/home/ops", "--format", "json"]  # fmt: skip
    main(argv)
    plan = json.loads(capsys.readouterr().out)["plan"]
    checks = [s for s in plan["steps"] if s["reason"] == "verify-stores"]
    assert len(checks) == 1, plan["steps"]
    check = checks[0]["params"]["argv"]
    assert "--env" in check and "KUBECONFIG=/home/ops/.kube/config" in check, check
    assert main(check[1:]) == 1  # (argv[0] is the program) not yet
    root.file("/home/ops/.kube/config", _kubeconfig(new))  # what set-cluster does
    capsys.readouterr()
    assert main(check[1:]) == 0
    capsys.readouterr()


def test_tls_server_name_is_sent_and_checked_at_the_clusters_server(
    capsys, monkeypatch, files, root, tmp_path
) -> None:
    """client-go sends the cluster's tls-server-name (SNI) and checks the
    certificate against it: an API server reached by its address, whose
    certificate names only "kubernetes", is trusted by kubectl.  Applied when
    kubectl is asked about, the target is the cluster's server and no name was
    given; said in the output; the same in a scan."""
    import os
    import shutil
    import subprocess
    import sys

    import helpers.netlab as netlab

    ca = pki.make_cert("kubernetes", **dh.VALID)
    api_leaf = pki.make_cert("kube-apiserver", issuer=ca, ca=False,
                             dns=["kubernetes", "kubernetes.default"], **dh.VALID)  # fmt: skip
    other = pki.make_cert("other.cluster.test", issuer=ca, ca=False,
                          dns=["other.cluster.test"], **dh.VALID)  # fmt: skip
    seen: list[str | None] = []
    ctx = netlab.server_context(files, [other], sni={"kubernetes": [api_leaf]}, seen_sni=seen)
    config = "/home/dev/.kube/config"
    with netlab.serving(netlab.tls_handler(ctx)) as srv:
        here = f"127.0.0.1:{srv.port}"
        root.file(config, _kubeconfig(ca, server=f"https://{here}", server_name="kubernetes"))
        base = [here, "--root", str(root.path), "--env", "HOME=/home/dev", "--client", "kubectl",
                "--format", "json"]  # fmt: skip
        r = dh.diagnose(capsys, monkeypatch, *base)
        assert r.doc is not None and r.rc == 0, r.err
        t = r.doc["target"]
        assert (t["servername"], t["sni"]) == ("kubernetes", "kubernetes")
        assert t["servername_from"] == {"kind": "kubeconfig", "file": config, "cluster": "prod"}
        assert seen[-1] == "kubernetes"
        text = dh.diagnose(capsys, monkeypatch, *base[:-2])
        assert "name sent and checked: kubernetes (tls-server-name of cluster 'prod'" in text.out
        # Every client of the question gets kubectl's name.
        both = dh.diagnose(capsys, monkeypatch, *base[:-3], "kubectl,go", "--format", "json")
        assert both.doc is not None and both.doc["target"]["servername"] == "kubernetes"
        # A name given wins: the server's other certificate, checked for it.
        given = dh.diagnose(capsys, monkeypatch, *base, "--servername", "other.cluster.test")
        assert given.doc is not None and given.rc == 0 and seen[-1] == "other.cluster.test"
        assert given.doc["target"]["servername_from"] is None
        # Not asked about kubectl: the address, as every other client connects.
        go = dh.diagnose(capsys, monkeypatch, *base[:-3], "go", "--format", "json")
        assert go.doc is not None and go.doc["target"]["servername"] is None
        assert go.doc["target"]["servername_from"] is None and seen[-1] is None
        # The scan sends and checks the same name, line for line as diagnose.
        targets = tmp_path / "targets.txt"
        targets.write_text(f"{here}\n")
        scan = subprocess.run(
            [sys.executable, "-m", "trustdoctor", "scan", str(targets), *base[1:-1], "jsonl"],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        line = json.loads(scan.stdout.splitlines()[0])
        assert scan.returncode == 0, scan.stderr
        assert line["target"] == r.doc["target"] and line["verdict"] == r.doc["verdict"]
        # Another server of the kubeconfig (another port): the address again,
        # and the certificate (for "other.cluster.test") fails the name check.
        root.file(config, _kubeconfig(ca, server="https://127.0.0.1:1", server_name="kubernetes"))
        away = dh.diagnose(capsys, monkeypatch, *base)
        assert away.doc is not None and away.rc == 1 and seen[-1] is None
        assert away.doc["target"]["servername_from"] is None
        by = {v["client"]: v for v in away.doc["clients"]}
        assert by["kubectl"]["cause"] == "hostname-mismatch"
        # No tls-server-name: the address is checked, as kubectl checks it.
        root.file(config, _kubeconfig(ca, server=f"https://{here}"))
        plain = dh.diagnose(capsys, monkeypatch, *base)
        assert plain.doc is not None and plain.rc == 1 and seen[-1] is None
        # A tls-server-name the certificate does not have (the server sends
        # its default one for it): kubectl refuses the name; the plan's
        # alternative points the cluster at one that certificate has.
        root.file(config, _kubeconfig(ca, server=f"https://{here}", server_name="api.old.test"))
        wrong = dh.diagnose(capsys, monkeypatch, *base)
        assert wrong.doc is not None and wrong.rc == 1 and seen[-1] == "api.old.test"
        by = {v["client"]: v for v in wrong.doc["clients"]}
        assert by["kubectl"]["cause"] == "hostname-mismatch"
        step = next(x for x in wrong.doc["plan"]["steps"]
                    if x["reason"] == "kubectl-tls-server-name")  # fmt: skip
        argv = step["params"]["argv"]
        assert argv == ["kubectl", "config", "set-cluster", "prod",
                        "--tls-server-name=other.cluster.test"]  # fmt: skip
        assert step["alternative"] and step["params"]["purpose"] == "configure"
        text = dh.diagnose(capsys, monkeypatch, *base[:-2])
        assert "kubectl config set-cluster prod --tls-server-name=other.cluster.test" in text.out
        kubectl = shutil.which("kubectl")
        if kubectl is not None:  # the real one, on the file the root holds
            real = str(root.path) + config
            env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path)}
            subprocess.run([kubectl, *argv[1:], f"--kubeconfig={real}"], check=True,
                           capture_output=True, env=env)  # fmt: skip
            fixed = dh.diagnose(capsys, monkeypatch, *base)
            assert fixed.doc is not None and fixed.rc == 0 and seen[-1] == "other.cluster.test"
            assert fixed.doc["target"]["servername_from"]["cluster"] == "prod"
        # A tls-server-name that is no host name is not used (kubectl fails
        # on it before any handshake).
        root.file(config, _kubeconfig(ca, server=f"https://{here}", server_name="'a b'"))
        bad = dh.diagnose(capsys, monkeypatch, *base)
        assert bad.doc is not None and bad.doc["target"]["servername_from"] is None


def test_diagnose_without_a_target_takes_kubectls_server(capsys, monkeypatch, files, root) -> None:
    """``diagnose --client kubectl`` with no target: the current cluster's
    server, connected as kubectl connects (its tls-server-name); without
    kubectl asked about, or without a server, a one-line usage error."""
    import helpers.netlab as netlab

    ca = pki.make_cert("kubernetes", **dh.VALID)
    api_leaf = pki.make_cert("kube-apiserver", issuer=ca, ca=False, dns=["kubernetes"], **dh.VALID)
    ctx = netlab.server_context(files, [api_leaf])
    config = "/home/dev/.kube/config"
    where = ["--root", str(root.path), "--env", "HOME=/home/dev"]
    with netlab.serving(netlab.tls_handler(ctx)) as srv:
        server = f"https://127.0.0.1:{srv.port}"
        root.file(config, _kubeconfig(ca, server=server, server_name="kubernetes"))
        r = dh.diagnose(capsys, monkeypatch, *where, "--client", "kubectl", "--format", "json")
        assert r.doc is not None and r.rc == 0, r.err
        t = r.doc["target"]
        assert (t["display"], t["servername"]) == (server, "kubernetes")
        assert t["servername_from"]["cluster"] == "prod"
        # --servername still wins over tls-server-name.
        named = dh.diagnose(capsys, monkeypatch, *where, "--client", "kubectl",
                            "--servername", "kubernetes", "--format", "json")  # fmt: skip
        assert named.doc is not None and named.doc["target"]["servername_from"] is None
    for argv, words in (
        ([*where, "--client", "go"], "give a target (host[:port] or URL)"),
        ([*where[:2], "--client", "kubectl", "--env", "HOME=/nowhere"],
         "kubectl's cluster: no kubeconfig"),
        (["--client", "kubectl", "--trust", str(root.path) + config], "not with --trust alone"),
    ):  # fmt: skip
        bad = dh.diagnose(capsys, monkeypatch, *argv)
        assert bad.rc == 2 and words in bad.err and len(bad.err.strip().splitlines()) == 1
    root.file(config, _kubeconfig(ca, server="http://127.0.0.1:8080"))
    plain = dh.diagnose(capsys, monkeypatch, *where, "--client", "kubectl")
    assert plain.rc == 2 and "kubectl's cluster server 'http://127.0.0.1:8080'" in plain.err
