"""The library API: the same answers as the commands, without the CLI."""

from __future__ import annotations

import datetime as dt

from trustdoctor import api
from trustdoctor.lab import HOST, tls_server
from trustdoctor.lab.pki import hierarchy
from trustdoctor.model.findings import Code
from trustdoctor.sources.files import load_bytes


def test_diagnose_against_loopback(tmp_path):
    h = hierarchy(HOST)
    root = tmp_path / "root.pem"
    root.write_bytes(h.root.pem)
    with tls_server([h.leaf], h.leaf, tmp_path) as port:
        out = api.diagnose(
            f"{HOST}:{port}",
            connect_to=f"127.0.0.1:{port}",
            trust=[str(root)],
            clients=["go", "curl"],
        )
    assert out.diagnosis is not None
    assert out.diagnosis.verdict.cause == Code.MISSING_INTERMEDIATE
    assert [v.client for v in out.diagnosis.clients] == ["go", "curl"]
    assert out.results[0].fetch is not None and out.results[0].fetch.tls_version


def test_diagnose_unreachable_is_a_result():
    out = api.diagnose("127.0.0.1:1", trust=[], clients=["go"], root="/", timeout=2)
    assert out.diagnosis is None
    assert out.error is not None and out.error.code == "unreachable"


def test_inspect_stores_on_a_temporary_root(tmp_path):
    h = hierarchy()
    (tmp_path / "etc/ssl/certs").mkdir(parents=True)
    (tmp_path / "etc/ssl/certs/ca-certificates.crt").write_bytes(h.root.pem)
    (go,) = api.inspect_stores(["go"], root=str(tmp_path))
    assert [a.cert.subject for a in go.anchors.anchors] == ["CN=Example Internal Root CA"]


def test_diagnose_chain_and_explain():
    h = hierarchy()
    leaf = load_bytes(h.fullchain_pem, "chain.pem")
    anchors = load_bytes(h.root.pem, "root.pem")
    from trustdoctor.model.anchors import Anchor, make_anchor_set

    aset = make_anchor_set("go", [Anchor(c.cert, c.provenance) for c in anchors.certs])
    d = api.diagnose_chain(
        [leaf],
        client_anchors={"go": aset},
        clients=["go"],
        host="registry.internal.example.com",
        at=dt.datetime(2026, 6, 1, tzinfo=dt.UTC),
    )
    assert d.verdict.trusted
    r = api.explain("curl: (60) SSL certificate problem: unable to get local issuer certificate")
    assert r.matches and r.matches[0].client == "curl"
