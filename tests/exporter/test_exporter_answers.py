"""The exporter answers what the commands answer: /probe = ``diagnose``, /metrics =
``stores --format prometheus``; the textfile through a real node_exporter; JUnit;
restart-required for a running process; the cache redoes work only on change."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from tests.helpers import netlab
from tests.helpers.exporter import NODE_EXPORTER, Exporter, env, free_port, http, samples
from tests.helpers.stores import FAR_FUTURE, FAR_PAST, Root, ca, debian, fp

from trustdoctor.api.context import TrustOptions
from trustdoctor.exporter.node import NodeWatch
from trustdoctor.lab import pki

R = ca("Answers Root R")
S = ca("Answers Root S")
I1 = pki.make_cert("Answers Issuing", issuer=R, not_before=FAR_PAST, not_after=FAR_FUTURE)
L1 = pki.make_cert(
    "127.0.0.1", issuer=I1, ca=False, ips=("127.0.0.1",), not_before=FAR_PAST, not_after=FAR_FUTURE
)


def cli(*args: str, **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "trustdoctor", *args],
        capture_output=True,
        text=True,
        env=env(),
        timeout=120,
        **kw,  # type: ignore[call-overload]
    )


@pytest.fixture()
def root(tmp_path: Path) -> Root:
    r = Root(tmp_path / "root")
    debian(r, [R], local=[("s.crt", S)], compiled_local=False)
    r.file("/usr/bin/openssl", "", 0o755)
    return r


@pytest.mark.parametrize("chain", ["full", "leaf-only"])
def test_probe_says_what_diagnose_says(root: Root, chain: str) -> None:
    files = netlab.Files()
    served = [L1, I1] if chain == "full" else [L1]
    with (
        netlab.Server(netlab.tls_handler(netlab.server_context(files, served))) as srv,
        Exporter(
            [
                "--root",
                str(root.path),
                "--allow-target",
                "127.0.0.1",
                "--probe-client",
                "go,openssl,curl",
            ]
        ) as exp,
    ):
        status, body = exp.probe(srv.hostport)
        assert status == 200
        probe = {
            lab["client"]: (v == 1, lab["cause"], lab["side"])
            for lab, v in samples(body, "trustdoctor_probe_client_trusted")
        }
        out = cli(
            "diagnose",
            srv.hostport,
            "--root",
            str(root.path),
            "--client",
            "go",
            "--client",
            "openssl",
            "--client",
            "curl",
            "--no-fetch",
            "--format",
            "json",
        )
        doc = json.loads(out.stdout)
        want = {
            c["client"]: (c["trusted"], c["cause"], "none" if c["trusted"] else c["side"])
            for c in doc["clients"]
        }
        assert probe == want
        assert (samples(body, "trustdoctor_probe_success")[0][1] == 1) == doc["verdict"]["trusted"]
        # Clients named in the request: a subset of the module's.
        status, body = exp.probe(srv.hostport, client="go")
        assert [lab["client"] for lab, _ in samples(body, "trustdoctor_probe_client_trusted")] == [
            "go"
        ]
    files.cleanup()


def _node_series(text: str) -> set[tuple[str, tuple[tuple[str, str], ...], float]]:
    names = (
        "trustdoctor_ca_trusted",
        "trustdoctor_store_finding",
        "trustdoctor_client_anchors",
        "trustdoctor_expected_ca_not_after_timestamp_seconds",
        "trustdoctor_stores_info",
    )
    return {(n, tuple(sorted(lab.items())), v) for n in names for lab, v in samples(text, n)}


def test_textfile_is_metrics(root: Root, tmp_path: Path) -> None:
    ca_file = tmp_path / "cas.pem"
    ca_file.write_bytes(R.pem + S.pem)
    out = tmp_path / "textfile" / "trustdoctor.prom"
    out.parent.mkdir()
    done = cli(
        "stores",
        "--root",
        str(root.path),
        "--ca",
        str(ca_file),
        "--format",
        "prometheus",
        "--out",
        str(out),
    )
    assert done.returncode == 0, done.stderr  # the answer is in the metrics
    assert done.stdout == ""
    assert sorted(p.name for p in out.parent.iterdir()) == ["trustdoctor.prom"]  # no temp left
    text = out.read_text()
    with Exporter(["--root", str(root.path), "--ca", str(ca_file)]) as exp:
        metrics = exp.get("/metrics")[1]
    assert _node_series(text) == _node_series(metrics)
    assert (
        "trustdoctor_ca_trusted",
        (
            ("ca", S.cert.subject.rfc4514_string().split("=", 1)[1]),
            ("cause", "stale-bundle"),
            ("client", "go"),
            ("fingerprint_sha256", fp(S)),
            ("pid", ""),
            ("process", ""),
            ("registry", ""),
            ("store", "/etc/ssl/certs/ca-certificates.crt"),
        ),
        0.0,
    ) in _node_series(text)


@pytest.mark.skipif(NODE_EXPORTER is None, reason="prometheus-node-exporter is not installed")
def test_node_exporter_textfile_collector_reads_it(root: Root, tmp_path: Path) -> None:
    d = tmp_path / "textfile"
    d.mkdir()
    (tmp_path / "r.pem").write_bytes(R.pem)
    done = cli(
        "stores",
        "--root",
        str(root.path),
        "--ca",
        str(tmp_path / "r.pem"),
        "--format",
        "prometheus",
        "--out",
        str(d / "trustdoctor.prom"),
    )
    assert done.returncode == 0, done.stderr
    port = free_port()
    assert NODE_EXPORTER is not None
    proc = subprocess.Popen(
        [
            NODE_EXPORTER,
            "--collector.disable-defaults",
            "--collector.textfile",
            f"--collector.textfile.directory={d}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        body = ""
        for _ in range(50):
            try:
                status, body = http(f"http://127.0.0.1:{port}/metrics", timeout=2)
                if status == 200:
                    break
            except OSError:
                time.sleep(0.1)
        assert samples(body, "node_textfile_scrape_error") == [({}, 0.0)]
        got = samples(body, "trustdoctor_ca_trusted")
        assert {lab["client"] for lab, v in got if v == 1} >= {"go", "openssl"}
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_junit_one_case_per_client(root: Root, tmp_path: Path) -> None:
    (tmp_path / "s.pem").write_bytes(S.pem)
    done = cli(
        "stores", "--root", str(root.path), "--ca", str(tmp_path / "s.pem"), "--format", "junit"
    )
    assert done.returncode == 1  # a client lacks the root: the CI step fails
    suite = ET.fromstring(done.stdout).find("testsuite")
    assert suite is not None
    cases = {c.get("name"): c for c in suite.findall("testcase")}
    assert set(cases) >= {"go", "openssl"}
    fail = cases["go"].find("failure")
    assert fail is not None and "stale-bundle" in (fail.get("message") or "")
    assert suite.get("failures") == str(len(cases))
    (tmp_path / "r.pem").write_bytes(R.pem)
    ok = cli(
        "stores", "--root", str(root.path), "--ca", str(tmp_path / "r.pem"), "--format", "junit"
    )
    assert ok.returncode == 0
    suite = ET.fromstring(ok.stdout).find("testsuite")
    assert suite is not None and suite.get("failures") == "0"


def test_cache_redoes_work_only_on_change(root: Root, tmp_path: Path) -> None:
    (tmp_path / "s.pem").write_bytes(S.pem)
    w = NodeWatch(TrustOptions(root=str(root.path)), cas=[str(tmp_path / "s.pem")])
    first = w.families()
    n = w.stats.inspections
    for _ in range(3):
        again = w.families()
        assert [f.samples for f in again[3:6]] == [f.samples for f in first[3:6]]
    assert w.stats.inspections == n  # unchanged node: no inspection
    assert w.stats.cached["node"] is True

    def trusted(fams: list[object]) -> dict[str, float]:
        fam = next(f for f in fams if f.name == "trustdoctor_ca_trusted")  # type: ignore[attr-defined]
        return {dict(s.labels)["client"]: s.value for s in fam.samples}  # type: ignore[attr-defined]

    assert trusted(first)["go"] == 0
    # The administrator rebuilds the bundle: the next scrape sees it.
    bundle = root.p("/etc/ssl/certs/ca-certificates.crt")
    bundle.write_bytes(bundle.read_bytes() + S.pem)
    after = w.families()
    assert w.stats.inspections > n
    assert trusted(after)["go"] == 1


@pytest.mark.skipif(not os.path.exists("/usr/bin/node"), reason="node is not installed")
def test_restart_required_for_a_running_process(tmp_path: Path) -> None:
    extra = tmp_path / "extra.pem"
    extra.write_bytes(R.pem)
    proc = subprocess.Popen(
        ["/usr/bin/node", "-e", "setInterval(() => {}, 1000)"],
        env={"PATH": "/usr/bin:/bin", "NODE_EXTRA_CA_CERTS": str(extra), "HOME": str(tmp_path)},
    )
    try:
        time.sleep(0.5)
        w = NodeWatch(TrustOptions(root=str(tmp_path)), pids=[proc.pid])
        fam = next(f for f in w.families() if f.name == "trustdoctor_store_finding")
        assert not [s for s in fam.samples if dict(s.labels)["cause"] == "restart-required"]
        # The file node read at start-up changes afterwards.
        later = time.time() + 60
        os.utime(extra, (later, later))
        fam = next(f for f in w.families() if f.name == "trustdoctor_store_finding")
        hits = [
            dict(s.labels) for s in fam.samples if dict(s.labels)["cause"] == "restart-required"
        ]
        assert hits and hits[0]["client"] == "node" and hits[0]["pid"] == str(proc.pid)
        assert hits[0]["process"] == "node"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
