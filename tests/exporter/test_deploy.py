"""The deployment files: alert rules (promtool), the Helm chart rendered by Helm's own
engine (helm-python-sdk) and validated offline against the Kubernetes schemas
(kubernetes-validate), the plain manifests kept equal to the chart, the systemd units."""

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
    done = subprocess.run([sys.executable, str(DEPLOY / "render_manifests.py"), "--check"])
    assert done.returncode == 0, "deploy/manifests is stale: run python deploy/render_manifests.py"
    kv = pytest.importorskip("kubernetes_validate")
    docs = [
        d for d in yaml.safe_load_all((DEPLOY / "manifests" / "trustdoctor.yaml").read_text()) if d
    ]
    assert {d["kind"] for d in docs} >= {"DaemonSet", "Deployment", "Service", "ConfigMap"}
    for d in docs:
        kv.validate(d, K8S, strict=True)


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
