"""A real Prometheus scrapes the exporter: static /metrics jobs and the /probe multi-target job.

Prometheus (Debian's package) runs on loopback with a generated configuration
in a temporary directory; the tests read what it stored through its HTTP API,
so label names, values and the relabelling of the multi-target pattern are
checked as a user's Prometheus sees them.  The node is a temporary Debian
root built from generated certificates (stale bundle, env override, a
misnamed certs.d directory); the endpoints are loopback TLS servers
(trusted, missing intermediate, untrusted root, expired).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.helpers import netlab
from tests.helpers.exporter import PROMETHEUS, Exporter, Prometheus
from tests.helpers.stores import FAR_FUTURE, FAR_PAST, Root, ca, debian, fp

from trustdoctor.lab import pki

pytestmark = pytest.mark.skipif(PROMETHEUS is None, reason="Debian's prometheus is not installed")

R = ca("Corp Root R")
S = ca("Corp Root S (dropped, not compiled)")
E = ca("Corp Root E (hidden by an override)")
U = ca("Unknown Root U")
I1 = pki.make_cert("Corp Issuing CA 1", issuer=R, not_before=FAR_PAST, not_after=FAR_FUTURE)
I2 = pki.make_cert("Unknown Issuing CA 2", issuer=U, not_before=FAR_PAST, not_after=FAR_FUTURE)


def _leaf(issuer: pki.Issued, *, expired: bool = False) -> pki.Issued:
    now = dt.datetime.now(dt.UTC)
    return pki.make_cert(
        "127.0.0.1",
        issuer=issuer,
        ca=False,
        ips=("127.0.0.1",),
        not_before=FAR_PAST if not expired else now - dt.timedelta(days=30),
        not_after=FAR_FUTURE if not expired else now - dt.timedelta(days=1),
    )


L1, L2, L3 = _leaf(I1), _leaf(I2), _leaf(I1, expired=True)
SHAPES = {
    "trusted": [L1, I1],
    "missing-intermediate": [L1],
    "untrusted-root": [L2, I2],
    "expired": [L3, I1],
}


def make_root(path: Path) -> Root:
    root = Root(path)
    debian(root, [R, E], local=[("corp-s.crt", S)], compiled_local=False)
    root.file("/etc/docker/certs.d/reg.internal_5000/ca.crt", R.pem)  # containerd's naming
    root.file("/etc/docker/certs.d/reg.internal/ca.crt", R.pem)  # the port forgotten
    root.file("/opt/app/only-r.pem", R.pem)
    return root


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    tmp = tmp_path_factory.mktemp("prom")
    root = make_root(tmp / "root")
    (tmp / "r.pem").write_bytes(R.pem)
    (tmp / "s.pem").write_bytes(S.pem)
    (tmp / "e.pem").write_bytes(E.pem)
    files = netlab.Files()
    servers = {
        name: netlab.Server(netlab.tls_handler(netlab.server_context(files, chain)))
        for name, chain in SHAPES.items()
    }
    for s in servers.values():
        s.__enter__()
    node = Exporter(
        [
            "--root",
            str(root.path),
            "--ca",
            str(tmp / "r.pem"),
            "--ca",
            str(tmp / "s.pem"),
            "--registry",
            "reg.internal:5000",
            "--allow-target",
            "127.0.0.1",
            "--probe-client",
            "go",
            "--probe-client",
            "openssl",
        ]
    )
    override = Exporter(
        [
            "--root",
            str(root.path),
            "--ca",
            str(tmp / "e.pem"),
            "--client",
            "go",
            "--env",
            "SSL_CERT_FILE=/opt/app/only-r.pem",
            "--env",
            "SSL_CERT_DIR=/nonexistent",
        ]
    )
    targets = "".join(f"        - {s.hostport}\n" for s in servers.values())
    config = f"""scrape_configs:
  - job_name: trustdoctor
    static_configs:
      - targets: ['{node.hostport}']
        labels: {{node: a}}
      - targets: ['{override.hostport}']
        labels: {{node: b}}
  - job_name: trustdoctor-probe
    metrics_path: /probe
    params:
      module: [default]
    static_configs:
      - targets:
{targets}    relabel_configs:
      - source_labels: [__address__]
        target_label: __param_target
      - source_labels: [__param_target]
        target_label: instance
      - target_label: __address__
        replacement: {node.hostport}
"""
    prom = Prometheus(tmp / "prometheus", config)
    try:
        yield {"prom": prom, "servers": servers, "node": node}
    finally:
        prom.close()
        node.close()
        override.close()
        for s in servers.values():
            s.__exit__(None, None, None)
        files.cleanup()


def _one(result: list[dict[str, object]]) -> float:
    assert len(result) == 1, result
    value = result[0]["value"]
    assert isinstance(value, list)
    return float(value[1])


def test_node_series_in_prometheus(world: dict[str, object]) -> None:
    prom = world["prom"]
    assert isinstance(prom, Prometheus)
    up = prom.wait('up{job="trustdoctor"} == 1', 2)
    assert len(up) == 2
    r, s, e = fp(R), fp(S), fp(E)
    # R is in the compiled bundle: every client of the root trusts it.
    got = prom.wait(f'trustdoctor_ca_trusted{{node="a",fingerprint_sha256="{r}",registry=""}}', 2)
    assert {m["metric"]["client"] for m in got} == {"go", "docker"}  # type: ignore[index]
    assert all(float(m["value"][1]) == 1 for m in got)  # type: ignore[index]
    assert all(m["metric"]["cause"] == "present" for m in got)  # type: ignore[index]
    # S sits in /usr/local/share/ca-certificates without a rebuild.
    stale = prom.query(f'trustdoctor_ca_trusted{{node="a",client="go",fingerprint_sha256="{s}"}}')
    assert _one(stale) == 0
    assert stale[0]["metric"]["cause"] == "stale-bundle"  # type: ignore[index]
    finding = prom.query(
        f'trustdoctor_store_finding{{node="a",cause="stale-bundle",client="go",'
        f'fingerprint_sha256="{s}"}}'
    )
    assert _one(finding) == 1
    # The override hides E from Go on node b.
    hidden = prom.wait(
        f'trustdoctor_ca_trusted{{node="b",client="go",fingerprint_sha256="{e}"}}', 1
    )
    assert _one(hidden) == 0
    assert hidden[0]["metric"]["cause"] == "env-override"  # type: ignore[index]
    assert prom.query('trustdoctor_store_finding{node="b",cause="env-override",client="go"}')
    # certs.d/reg.internal can never match the registry reg.internal:5000, and
    # certs.d/reg.internal_5000 is containerd's naming, which docker never reads.
    ds = prom.query(
        'trustdoctor_store_finding{node="a",cause="daemon-store",client="docker",'
        'registry="reg.internal:5000"}'
    )
    reasons = {m["metric"]["reason"] for m in ds}  # type: ignore[index]
    assert reasons == {"name-cannot-match", "containerd-style-name"}
    plain = prom.query(
        'trustdoctor_store_finding{node="a",cause="daemon-store",client="docker",registry=""}'
    )
    assert {m["metric"]["reason"] for m in plain} == {"containerd-style-name"}  # type: ignore[index]
    # The expected roots' expiry, and the earliest of them.
    exp = prom.query('trustdoctor_expected_ca_earliest_not_after_timestamp_seconds{node="a"}')
    assert _one(exp) == pytest.approx(
        min(R.cert.not_valid_after_utc, S.cert.not_valid_after_utc).timestamp()
    )
    assert prom.query('trustdoctor_build_info{node="a"}')
    assert prom.query('trustdoctor_client_anchors{node="a",client="go",registry=""} == 2')


def test_probe_series_in_prometheus(world: dict[str, object]) -> None:
    prom = world["prom"]
    servers = world["servers"]
    assert isinstance(prom, Prometheus) and isinstance(servers, dict)
    prom.wait('up{job="trustdoctor-probe"} == 1', 4)
    succ = prom.wait('trustdoctor_probe_success{job="trustdoctor-probe"}', 4)
    by_instance = {m["metric"]["instance"]: float(m["value"][1]) for m in succ}  # type: ignore[index]
    want = {servers[k].hostport: 1.0 if k == "trusted" else 0.0 for k in SHAPES}
    assert by_instance == want
    for shape, server in servers.items():
        got = prom.query(f'trustdoctor_probe_client_trusted{{instance="{server.hostport}"}}')
        causes = {m["metric"]["client"]: m["metric"]["cause"] for m in got}  # type: ignore[index]
        expected = "ok" if shape == "trusted" else shape
        assert causes == {"go": expected, "openssl": expected}, (shape, got)
    inc = prom.query(
        f'trustdoctor_probe_chain_issue{{instance="{servers["missing-intermediate"].hostport}",'
        'issue="incomplete"}'
    )
    assert _one(inc) == 1
    ok = prom.query(
        f'trustdoctor_probe_chain_issue{{instance="{servers["trusted"].hostport}",'
        'issue="incomplete"}'
    )
    assert _one(ok) == 0
    exp = prom.query(
        "trustdoctor_probe_chain_earliest_not_after_timestamp_seconds"
        f'{{instance="{servers["expired"].hostport}"}}'
    )
    assert _one(exp) == pytest.approx(L3.cert.not_valid_after_utc.timestamp())
    tls = prom.query(
        f'trustdoctor_probe_tls_version_info{{instance="{servers["trusted"].hostport}"}}'
    )
    assert tls and tls[0]["metric"]["version"] in ("TLSv1.3", "TLSv1.2")  # type: ignore[index]
