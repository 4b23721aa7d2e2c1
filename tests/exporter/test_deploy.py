"""The deployment files: alert rules (promtool), the Helm chart rendered by Helm's own
engine (helm-python-sdk) and validated offline against the Kubernetes schemas
(kubernetes-validate) — the exporter's DaemonSet and /probe Deployment, and the web
page (`serve.*`) — the plain manifests kept equal to the chart, the image, the
systemd units."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from tests.helpers.exporter import PROMTOOL

yaml = pytest.importorskip("yaml")

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
CHART = DEPLOY / "helm" / "trustdoctor"
ALERTS = CHART / "files" / "alerts.yaml"
K8S = "1.30.0"
CRDS = {"ServiceMonitor", "PodMonitor", "PrometheusRule"}


@pytest.mark.skipif(PROMTOOL is None, reason="promtool (Debian's prometheus) is not installed")
def test_alert_rules_check_and_unit_tests() -> None:
    assert PROMTOOL is not None
    done = subprocess.run([PROMTOOL, "check", "rules", str(ALERTS)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS: 6 rules found" in done.stdout + done.stderr
    done = subprocess.run(
        [PROMTOOL, "test", "rules", "alerts.test.yaml"],
        cwd=DEPLOY / "prometheus",
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout + done.stderr


def _render(values: dict[str, Any]) -> list[dict[str, Any]]:
    chart = pytest.importorskip("helm_python.chart", reason="helm-python-sdk (Helm's engine)")
    out = chart.Chart.load(str(CHART)).render(values=values, name="td", namespace="monitoring")
    docs = []
    for text in out.values():
        docs += [d for d in yaml.safe_load_all(text) if d]
    return docs


EXAMPLES = sorted((CHART / "examples").glob("values-*.yaml"))


@pytest.mark.parametrize("values_file", [None, *EXAMPLES], ids=lambda p: p.name if p else "default")
def test_chart_renders_valid_kubernetes_objects(values_file: Path | None, tmp_path: Path) -> None:
    kv = pytest.importorskip("kubernetes_validate")
    values = yaml.safe_load(values_file.read_text()) if values_file else {}
    docs = _render(values)
    kinds = {d["kind"] for d in docs}
    assert {"DaemonSet", "Service", "ConfigMap", "ServiceAccount"} <= kinds
    for d in docs:
        if d["kind"] in CRDS:
            continue
        kv.validate(d, K8S, strict=True)
    for d in docs:
        if d["kind"] == "PrometheusRule":
            # The operator's object carries the rule groups promtool checks.
            f = tmp_path / "rules.yaml"
            f.write_text(yaml.safe_dump(d["spec"]))
            if PROMTOOL:
                done = subprocess.run([PROMTOOL, "check", "rules", str(f)], capture_output=True)
                assert done.returncode == 0, done.stdout
    ds = next(d for d in docs if d["kind"] == "DaemonSet")
    pod = ds["spec"]["template"]["spec"]
    host_volumes = [v for v in pod["volumes"] if "hostPath" in v]
    assert host_volumes
    # Nothing is ever created on the host, and every host path is read-only.
    assert all(v["hostPath"]["type"] == "Directory" for v in host_volumes)
    mounts = {m["name"]: m for c in pod["containers"] for m in c["volumeMounts"]}
    assert all(mounts[v["name"]]["readOnly"] is True for v in host_volumes)
    for c in pod["containers"]:
        sc = c["securityContext"]
        assert sc["readOnlyRootFilesystem"] is True and sc["allowPrivilegeEscalation"] is False
        assert c["resources"]["limits"]["memory"] and c["resources"]["limits"]["cpu"]
    hostpid = bool((values.get("node") or {}).get("hostPID"))
    assert bool(pod.get("hostPID")) is hostpid
    if not hostpid:
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["runAsUser"] != 0
        assert all(
            c["securityContext"]["capabilities"]["drop"] == ["ALL"] for c in pod["containers"]
        )
    args = pod["containers"][0]["args"]
    assert ("--scan-processes" in args) is hostpid
    assert "--root=/host" in args
    # Every other workload (the /probe and serve Deployments) is locked down too.
    for dep in (d for d in docs if d["kind"] == "Deployment"):
        pod = dep["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["automountServiceAccountToken"] is False
        for c in pod["containers"]:
            sc = c["securityContext"]
            assert sc["readOnlyRootFilesystem"] is True and sc["allowPrivilegeEscalation"] is False
            assert sc["capabilities"] == {"drop": ["ALL"]}
            assert c["resources"]["limits"]["memory"] and c["resources"]["limits"]["cpu"]


def test_probe_deployment_and_operator_objects() -> None:
    docs = _render(yaml.safe_load((CHART / "examples" / "values-full.yaml").read_text()))
    kinds = [d["kind"] for d in docs]
    assert {"Deployment", "ServiceMonitor", "PrometheusRule"} <= set(kinds)
    dep = next(d for d in docs if d["kind"] == "Deployment")
    args = dep["spec"]["template"]["spec"]["containers"][0]["args"]
    assert "--allow-target=@/etc/trustdoctor/probe/allow-targets" in args
    cm = next(d for d in docs if d["kind"] == "ConfigMap" and "allow-targets" in d.get("data", {}))
    assert cm["data"]["allow-targets"].split() == ["*.corp.example", "10.0.0.0/8"]
    probe_sm = next(
        d for d in docs if d["kind"] == "ServiceMonitor" and "probe" in d["metadata"]["name"]
    )
    eps = probe_sm["spec"]["endpoints"]
    assert [e["params"]["target"] for e in eps] == [
        ["registry.corp.example:443"],
        ["vault.corp.example:8200"],
    ]
    assert all(e["path"] == "/probe" for e in eps)
    rule = next(d for d in docs if d["kind"] == "PrometheusRule")
    assert rule["spec"] == yaml.safe_load(ALERTS.read_text())
    # Nothing but the listed toggles creates operator objects.
    plain = [d["kind"] for d in _render({})]
    assert not CRDS & set(plain) and "Deployment" not in plain


def test_plain_manifests_are_the_chart() -> None:
    pytest.importorskip("helm_python.chart", reason="helm-python-sdk (Helm's engine)")
    done = subprocess.run(
        [sys.executable, str(DEPLOY / "render_manifests.py"), "--check"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, (
        done.stderr + "deploy/manifests is stale: run python deploy/render_manifests.py"
    )
    kv = pytest.importorskip("kubernetes_validate")

    def load(name: str) -> list[dict[str, Any]]:
        return [d for d in yaml.safe_load_all((DEPLOY / "manifests" / name).read_text()) if d]

    fleet, web = load("trustdoctor.yaml"), load("trustdoctor-serve.yaml")
    assert {d["kind"] for d in fleet} >= {"DaemonSet", "Deployment", "Service", "ConfigMap"}
    # The web page is its own file, standing alone: no object shared with the
    # exporter's file (deleting one never removes the other's), paste-only.
    assert sorted(d["kind"] for d in web) == ["Deployment", "Service"]
    assert not [_component(d) for d in fleet if _component(d) == "serve"]
    assert not {d["metadata"]["name"] for d in fleet} & {d["metadata"]["name"] for d in web}
    dep = next(d for d in web if d["kind"] == "Deployment")
    args = dep["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args[0] == "serve" and not [a for a in args if a.startswith("--allow-target")]
    for d in fleet + web:
        kv.validate(d, K8S, strict=True)


# -- the web page (`trustdoctor serve`, values `serve.*`; docs/serve.md) -------------------

SERVE_CASES: dict[str, dict[str, Any]] = {
    "paste-only": {"enabled": True},
    "allow-targets-configmap": {
        "enabled": True,
        "allowTargets": ["registry.corp.example", "*.corp.example", "10.20.0.0/16"],
        "trust": {"configMap": "team-roots"},
        "clients": ["go", "openssl"],
    },
    "secret-ingress": {
        "enabled": True,
        "trust": {"secret": "team-roots"},
        "ingress": {
            "enabled": True,
            "className": "nginx",
            "host": "trust.corp.example",
            "tlsSecretName": "trust-tls",
            "annotations": {"nginx.ingress.kubernetes.io/proxy-body-size": "2m"},
        },
    },
}


def _component(d: dict[str, Any]) -> str | None:
    labels: dict[str, str] = d["metadata"].get("labels") or {}
    return labels.get("app.kubernetes.io/component")


def _serve_args(args: list[str]) -> Any:
    """The rendered container args, parsed by `trustdoctor serve` itself."""
    from trustdoctor.cli.main import build_parser
    from trustdoctor.cli.serve import settings_from_args

    ns = build_parser("serve").parse_args(args)
    return ns, settings_from_args(ns)


@pytest.mark.parametrize("case", SERVE_CASES)
def test_serve_renders_valid_locked_down_and_paste_only_by_default(case: str) -> None:
    kv = pytest.importorskip("kubernetes_validate")
    from trustdoctor.web.settings import WEB_CLIENTS, Settings
    from trustdoctor.web.targets import parse_allowlist

    s = SERVE_CASES[case]
    docs = _render({"serve": s})
    for d in docs:
        if d["kind"] not in CRDS:
            kv.validate(d, K8S, strict=True)
    web = [d for d in docs if _component(d) == "serve"]
    ingress = bool(s.get("ingress", {}).get("enabled"))
    assert sorted(d["kind"] for d in web) == sorted(
        ["Deployment", "Service"] + (["Ingress"] if ingress else [])
    )
    dep = next(d for d in web if d["kind"] == "Deployment")
    pod = dep["spec"]["template"]["spec"]
    # Non-root, read-only root filesystem, no privilege, no token, limits.
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] not in (None, 0)
    assert pod["automountServiceAccountToken"] is False
    assert not pod.get("hostPID") and not pod.get("hostNetwork")
    (c,) = pod["containers"]
    sc = c["securityContext"]
    assert sc["readOnlyRootFilesystem"] is True and sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"] == {"drop": ["ALL"]}
    assert c["resources"]["limits"]["cpu"] and c["resources"]["limits"]["memory"]
    # One image for the exporter and the page.
    ds = next(d for d in docs if d["kind"] == "DaemonSet")
    assert c["image"] == ds["spec"]["template"]["spec"]["containers"][0]["image"]
    # Nothing writable: the only volume is the team's roots, mounted read-only.
    mounts = c.get("volumeMounts", [])
    assert all(m["readOnly"] is True for m in mounts)
    assert all("emptyDir" not in v and "hostPath" not in v for v in pod.get("volumes", []))

    # The args are what `trustdoctor serve` accepts, and mean what the values say.
    args = c["args"]
    assert args[0] == "serve"
    ns, settings = _serve_args(args)
    port = next(p["containerPort"] for p in c["ports"] if p["name"] == "http")
    assert ns.listen == f"0.0.0.0:{port}"
    allow = s.get("allowTargets", [])
    assert list(settings.allow_target) == allow
    assert any(a.startswith("--allow-target") for a in args) is bool(allow)
    assert parse_allowlist(settings.allow_target).enabled is bool(allow)  # paste-only unless given
    assert list(settings.clients) == s.get("clients", list(WEB_CLIENTS))
    if case == "paste-only":  # the chart's defaults are serve's own
        assert settings == Settings(listen=ns.listen)
    trust = s.get("trust", {})
    if trust:
        (path,) = settings.trust
        (mount,) = mounts
        assert mount["mountPath"] == path
        (vol,) = pod["volumes"]
        assert vol["name"] == mount["name"]
        if "configMap" in trust:
            assert vol["configMap"]["name"] == trust["configMap"]
        else:
            assert vol["secret"]["secretName"] == trust["secret"]
    else:
        assert settings.trust == () and not mounts and not pod.get("volumes")

    # /healthz as readiness and liveness; the Service and the Ingress reach the pod.
    for probe in ("readinessProbe", "livenessProbe"):
        assert c[probe]["httpGet"] == {"path": "/healthz", "port": "http"}
    svc = next(d for d in web if d["kind"] == "Service")
    labels = dep["spec"]["template"]["metadata"]["labels"]
    assert svc["spec"]["selector"].items() <= labels.items()
    assert dep["spec"]["selector"]["matchLabels"] == svc["spec"]["selector"]
    assert [p["targetPort"] for p in svc["spec"]["ports"]] == ["http"]
    if ingress:
        ing = next(d for d in web if d["kind"] == "Ingress")
        (rule,) = ing["spec"]["rules"]
        assert rule["host"] == s["ingress"]["host"]
        backend = rule["http"]["paths"][0]["backend"]["service"]
        assert backend == {"name": svc["metadata"]["name"], "port": {"name": "http"}}
        assert ing["spec"]["tls"] == [{"hosts": [rule["host"]], "secretName": "trust-tls"}]
        assert ing["spec"]["ingressClassName"] == "nginx"
        assert ing["metadata"]["annotations"] == s["ingress"]["annotations"]


def test_serve_is_off_by_default_and_refuses_ambiguous_values() -> None:
    assert not [d for d in _render({}) if _component(d) == "serve"]
    # The ingress only with the page.
    off = _render({"serve": {"ingress": {"enabled": True, "host": "trust.corp.example"}}})
    assert not [d for d in off if _component(d) == "serve"]
    with pytest.raises(Exception, match="configMap or secret, not both"):
        _render({"serve": {"enabled": True, "trust": {"configMap": "a", "secret": "b"}}})
    with pytest.raises(Exception, match=r"serve\.ingress\.host is required"):
        _render({"serve": {"enabled": True, "ingress": {"enabled": True}}})


def test_serve_reads_the_team_roots_as_kubelet_mounts_them(tmp_path: Path) -> None:
    """The chart's --trust directory, laid out as the kubelet mounts a ConfigMap (keys
    as symlinks into a ..data directory), gives serve its anchors: a chain from the
    team's private root is trusted with them, and not with the default anchors."""
    from trustdoctor.lab.pki import hierarchy, make_cert
    from trustdoctor.web.service import Blob, ChainQuestion, Service

    c = next(
        d
        for d in _render({"serve": SERVE_CASES["allow-targets-configmap"]})
        if d["kind"] == "Deployment" and _component(d) == "serve"
    )["spec"]["template"]["spec"]["containers"][0]
    (mount,) = c["volumeMounts"]
    mounted = tmp_path / mount["mountPath"].lstrip("/")
    stamp = mounted / "..2024_05_01_12_00_00.000000001"
    stamp.mkdir(parents=True)
    h = hierarchy("registry.corp.example")
    other = make_cert("Another Team Root")
    (stamp / "corp-root.pem").write_bytes(h.root.pem)
    (stamp / "lab-root.pem").write_bytes(other.pem)
    (stamp / "README").write_text("the team's roots\n")
    (mounted / "..data").symlink_to(stamp.name)
    for key in ("corp-root.pem", "lab-root.pem", "README"):
        (mounted / key).symlink_to(f"..data/{key}")
    args = [a.replace(mount["mountPath"], str(mounted)) for a in c["args"]]
    _, settings = _serve_args(args)
    service = Service.start(settings)
    assert len(service.anchors[0].certs) == 2  # each root once, the README skipped
    question = ChainQuestion(chain=[Blob("chain", h.fullchain_pem)], host="registry.corp.example")
    verdict = service.chain(question).to_dict()["verdict"]
    assert verdict["trusted"] is True, verdict
    _, default = _serve_args([a for a in args if not a.startswith("--trust")])
    verdict = Service.start(default).chain(question).to_dict()["verdict"]
    assert verdict["trusted"] is False and verdict["side"] == "client", verdict


def test_one_image_runs_the_exporter_and_the_page() -> None:
    """The chart runs `serve` from the exporter's image: the image has the web extra."""
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    install = next(line for line in dockerfile.splitlines() if "pip install" in line)
    assert '".[web]"' in install
    assert not (DEPLOY / "serve").exists()  # no second image or chart


@pytest.mark.skipif(
    shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed"
)
def test_systemd_units_verify(tmp_path: Path) -> None:
    units = sorted((DEPLOY / "systemd").glob("*.*"))
    done = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *map(str, units)], capture_output=True, text=True
    )
    # verify complains about the binary path not existing here; nothing else.
    problems = [
        line
        for line in (done.stdout + done.stderr).splitlines()
        if line.strip() and "/usr/local/bin/trustdoctor" not in line and "Command " not in line
    ]
    assert problems == []


def test_systemd_units_write_atomically_where_node_exporter_reads() -> None:
    svc = (DEPLOY / "systemd" / "trustdoctor-textfile.service").read_text()
    line = next(x for x in svc.splitlines() if x.startswith("ExecStart="))
    argv = line.removeprefix("ExecStart=").split()
    assert argv[1:3] == ["stores", "--ca"] and "--format" in argv and "--out" in argv
    out = argv[argv.index("--out") + 1]
    assert out.endswith(".prom")
    assert f"ReadWritePaths={out.rsplit('/', 1)[0]}" in svc
    assert "OnUnitActiveSec=" in (DEPLOY / "systemd" / "trustdoctor-textfile.timer").read_text()


# -- NetworkPolicies ---------------------------------------------------------------------------

ALLOW = [
    "*.corp.example",  # names: not expressible, their addresses go in egressCIDRs
    "registry.corp:5000",
    "10.0.0.0/8",
    "10.1.2.3",
    "10.9.9.9:8443",
    "10.20.0.0/16:443",
    "10.0.0.1/8",  # host bits set: the network, as the parser reads it
    "2001:db8::/32",
    "2001:db8::7",
    "[2001:db8::1]:443",
    "[2001:db8:1::/48]:8443",
    # IPv4 addresses wrapped in IPv6 forms: the parser checks the IPv4 one.
    "::ffff:10.7.7.7",
    "[::FFFF:10.7.7.8]:443",
    "64:ff9b::10.8.8.8",
    "0:0:0:0:0:ffff:10.7.7.9/128",
]


def _egress_of(policy: dict[str, Any]) -> tuple[bool, set[tuple[str, int | None]]]:
    """(DNS allowed, {(network, port)}) of a NetworkPolicy's egress rules."""
    import ipaddress

    dns = False
    nets: set[tuple[str, int | None]] = set()
    for rule in policy["spec"]["egress"]:
        (peer,) = rule["to"]
        if "ipBlock" in peer:
            ports = [p["port"] for p in rule.get("ports", [])]
            assert len(ports) <= 1
            net = str(ipaddress.ip_network(peer["ipBlock"]["cidr"], strict=False))
            nets.add((net, ports[0] if ports else None))
        else:
            assert peer["podSelector"]["matchLabels"] == {"k8s-app": "kube-dns"}
            assert {(p["protocol"], p["port"]) for p in rule["ports"]} == {("UDP", 53), ("TCP", 53)}
            dns = True
    return dns, nets


def test_network_policies_follow_the_allowlists() -> None:
    """Off by default; on, each workload takes connections on its port from the
    peers given, the DaemonSet and a paste-only page connect nowhere, and /probe
    (and a page with live checks) reach DNS and exactly the networks that
    trustdoctor's own --allow-target parser reads from the same entries."""
    kv = pytest.importorskip("kubernetes_validate")
    from trustdoctor.exporter.allow import parse_rule

    assert not [d for d in _render({}) if d["kind"] == "NetworkPolicy"]
    peers = [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}]
    extra = ["192.0.2.0/24"]
    expected = {(str(r.net), r.port) for r in map(parse_rule, ALLOW) if r.net is not None}
    expected |= {(c, None) for c in extra}
    for serve_allow in ([], ALLOW[2:5]):
        values = {
            "networkPolicy": {"enabled": True, "ingressFrom": peers, "egressCIDRs": extra},
            "probe": {"enabled": True, "allowTargets": ALLOW},
            "serve": {"enabled": True, "allowTargets": serve_allow},
        }
        docs = _render(values)
        policies = {_component(d): d for d in docs if d["kind"] == "NetworkPolicy"}
        assert set(policies) == {"node", "probe", "serve"}
        for d in policies.values():
            kv.validate(d, K8S, strict=True)
            assert d["spec"]["policyTypes"] == ["Ingress", "Egress"]
        workloads = {_component(d): d for d in docs if d["kind"] in ("DaemonSet", "Deployment")}
        for name, policy in policies.items():
            pod = workloads[name]["spec"]["template"]
            assert policy["spec"]["podSelector"]["matchLabels"].items() <= pod["metadata"][
                "labels"
            ].items()
            port = pod["spec"]["containers"][0]["ports"][0]["containerPort"]
            (rule,) = policy["spec"]["ingress"]
            assert rule["ports"] == [{"protocol": "TCP", "port": port}]
            assert rule["from"] == peers
        assert policies["node"]["spec"]["egress"] == []
        assert _egress_of(policies["probe"]) == (True, expected)
        if serve_allow:
            mine = {(str(r.net), r.port) for r in map(parse_rule, serve_allow)}
            assert _egress_of(policies["serve"]) == (True, mine | {(c, None) for c in extra})
        else:
            assert policies["serve"]["spec"]["egress"] == []  # paste-only
    # A wrapped IPv4 address written in hex cannot be unwrapped by the template:
    # the rendering stops with the entry named, rather than allow the wrong network.
    for hexed in ("::ffff:a07:707", "2002:a07:707::1", "64:ff9b::a08:808"):
        assert parse_rule(hexed).net is not None
        probe = {"enabled": True, "allowTargets": [hexed]}
        bad = {"networkPolicy": {"enabled": True}, "probe": probe}
        with pytest.raises(Exception, match="wraps an IPv4 address in hex"):
            _render(bad)
    # Without peers the port alone is open (no "from").
    open_docs = _render({"networkPolicy": {"enabled": True}})
    (node,) = [d for d in open_docs if d["kind"] == "NetworkPolicy"]
    assert "from" not in node["spec"]["ingress"][0]
