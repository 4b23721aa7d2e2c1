"""The library API: the same answers as the commands, without the CLI."""

from __future__ import annotations

import datetime as dt

import pytest

from trustdoctor import api
from trustdoctor.lab import HOST, tls_server
from trustdoctor.lab.pki import hierarchy
from trustdoctor.model.findings import Code
from trustdoctor.sources.files import load_bytes


def test_all_is_sorted_complete_and_importable() -> None:
    assert api.__all__ == sorted(api.__all__)
    for name in api.__all__:
        assert getattr(api, name) is not None
    with pytest.raises(AttributeError):
        api.nothing_here  # noqa: B018


def test_diagnose_endpoint_against_loopback(tmp_path):
    h = hierarchy(HOST)
    root = tmp_path / "root.pem"
    root.write_bytes(h.root.pem)
    with tls_server([h.leaf], h.leaf, tmp_path) as port:
        out = api.diagnose_endpoint(
            f"{HOST}:{port}",
            connect_to=f"127.0.0.1:{port}",
            trust=[str(root)],
            clients=["go", "curl"],
        )
    assert out.diagnosis is not None
    assert out.diagnosis.verdict.cause == Code.MISSING_INTERMEDIATE
    assert [v.client for v in out.diagnosis.clients] == ["go", "curl"]
    assert out.results[0].fetch is not None and out.results[0].fetch.tls_version
    # The result carries its plan, and its JSON document is what the CLI prints.
    assert out.plan is not None and out.plan.cause == Code.MISSING_INTERMEDIATE
    assert out.to_dict()["plan"]["cause"] == "missing-intermediate"


def test_diagnose_endpoint_unreachable_is_a_result():
    out = api.diagnose_endpoint("127.0.0.1:1", clients=["go"], timeout=2)
    assert out.diagnosis is None
    assert out.error is not None and out.error.code == "unreachable"
    # ... with the checks that narrow it down, on the port asked (not 443).
    assert out.plan is not None
    argvs = [" ".join(map(str, s.params.get("argv", []))) for s in out.plan.steps]
    assert any("/dev/tcp/127.0.0.1/1" in a for a in argvs), argvs


def test_inspect_stores_on_a_temporary_root(tmp_path):
    h = hierarchy()
    (tmp_path / "etc/ssl/certs").mkdir(parents=True)
    (tmp_path / "etc/ssl/certs/ca-certificates.crt").write_bytes(h.root.pem)
    answer = api.inspect_stores(["go"], options=api.TrustOptions(root=str(tmp_path)))
    (go,) = answer.report.stores
    assert [a.cert.subject for a in go.anchors.anchors] == ["CN=Example Internal Root CA"]
    assert answer.plan is None and answer.compliant


def test_diagnose_chain_and_explain(tmp_path):
    h = hierarchy()
    (tmp_path / "root.pem").write_bytes(h.root.pem)
    leaf = load_bytes(h.fullchain_pem, "chain.pem")
    report = api.diagnose_chain(
        [leaf],
        trust=[str(tmp_path / "root.pem")],
        clients=["go"],
        host="registry.internal.example.com",
        at=dt.datetime(2026, 6, 1, tzinfo=dt.UTC),
    )
    assert report.trusted and report.plan is None
    r = api.explain("curl: (60) SSL certificate problem: unable to get local issuer certificate")
    assert r.matches and r.matches[0].client == "curl"


def test_trust_given_as_loaded_inputs_is_the_same_as_files(tmp_path):
    """A root pasted into a page (loaded in memory) judges like ``--trust FILE``."""
    h = hierarchy()
    (tmp_path / "root.pem").write_bytes(h.root.pem)
    chain = load_bytes(h.fullchain_pem, "chain.pem")
    at = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
    by_file = api.diagnose_chain([chain], trust=[str(tmp_path / "root.pem")], at=at)
    by_memory = api.diagnose_chain([chain], trust=[load_bytes(h.root.pem, "root.pem")], at=at)
    assert by_memory.trusted and by_file.trusted
    a, b = by_file.to_dict(), by_memory.to_dict()
    for doc in (a, b):
        for c in doc["clients"]:
            c["anchor_source"] = (c["anchor_source"] or "").replace(str(tmp_path) + "/", "")
    assert a == b
    # Without the intermediate, the same cause either way; the label names the input.
    leaf = load_bytes(h.leaf.pem, "leaf.pem")
    r = api.diagnose_chain([leaf], trust=[load_bytes(h.root.pem, "root.pem")], at=at)
    assert r.diagnosis.verdict.cause == Code.MISSING_INTERMEDIATE
