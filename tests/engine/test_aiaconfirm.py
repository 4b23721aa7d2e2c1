"""AIA confirmation of a missing-issuer diagnosis (aiaconfirm + api_aia), on loopback.

A real HTTP issuer server on 127.0.0.1 serves the certificates named by the
caIssuers URLs; the engine judges before and after.  Fetched certificates
must never become anchors; the client verdicts stay "not trusted".
"""

from __future__ import annotations

import json

import jsonschema
import pytest

from helpers import SCHEMAS
from helpers.aia import AiaServer, der, redirect, static
from helpers.bundle import DAY, HOST, info, pairs, pcs, real_now, site_pki
from trustdoctor.api.aia import complete_issuers, confirm_with_aia
from trustdoctor.cli.main import main
from trustdoctor.engine.aiaconfirm import candidates, confirm_missing, needs_aia
from trustdoctor.engine.judge import judge
from trustdoctor.lab import pki
from trustdoctor.model.findings import Code, Confidence, Side
from trustdoctor.render.text import render_diagnosis
from trustdoctor.sources.aia import AiaOptions

SCHEMA = json.loads(
    (SCHEMAS / "diagnosis.schema.json").read_text()
)
CLIENTS = ("go", "openssl", "webpki")


@pytest.fixture(autouse=True)
def _no_proxy_no_home_cache(monkeypatch, tmp_path):
    for var in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    monkeypatch.setenv("NO_COLOR", "1")


@pytest.fixture
def issuer():
    with AiaServer() as srv:
        yield srv


def _judge(presented, anchors_items, host=HOST):
    prs = pairs(anchors_items, CLIENTS)
    return judge(pcs(presented), clients=prs, at=real_now(), host=host), prs


OPTS = AiaOptions(timeout=2, deadline=4, total_deadline=8)


def test_missing_intermediate_confirmed_high_with_the_fetched_certificate(issuer):
    site = site_pki(issuer)
    before, prs = _judge([site.leaf], [site.root])
    assert {v.cause for v in before.clients} == {Code.MISSING_INTERMEDIATE}
    assert all(v.confidence == Confidence.MEDIUM for v in before.clients)
    assert all("fetch-aia" in v.settle for v in before.clients)
    assert needs_aia(before) and candidates(before) == CLIENTS

    out = confirm_with_aia(before, prs, options=OPTS)
    diag = out.diagnosis
    inter = info(site.inter)
    assert out.completion is not None and out.completion.stopped == "reached-anchor"
    for v in diag.clients:
        assert not v.trusted  # the client itself still fails: it does not fetch
        assert v.cause == Code.MISSING_INTERMEDIATE
        assert v.side == Side.SERVER
        assert v.confidence == Confidence.HIGH
        assert v.alternatives == ()
        assert "fetch-aia" not in v.settle
        p = v.findings[0].params
        assert p["fetched_issuer"] == inter.subject
        assert p["fetched_from"] == site.inter_url
        assert p["fetched_sha256"] == inter.sha256
        assert p["fetched_sha256s"] == [inter.sha256]
        assert [link.origin for link in v.path] == ["presented", "fetched", "anchor"]
        assert [link.role for link in v.path] == ["leaf", "intermediate", "anchor"]
        old = next(o for o in before.clients if o.client == v.client)
        assert v.client_error == old.client_error
    assert not diag.verdict.trusted
    assert diag.verdict.confidence == Confidence.HIGH
    assert diag.verdict.params["fetched_sha256"] == inter.sha256
    # The fetched certificate is a supplied candidate (URL provenance), never an anchor.
    (sup,) = diag.supplied
    assert sup.cert.sha256 == inter.sha256
    assert sup.provenance.source == site.inter_url and sup.provenance.detail == "aia"
    assert inter.sha256 not in diag.anchor_provenance
    # One fetch; the root is in the store and is never downloaded.
    assert issuer.hits == {"/issuing.cer": 1}
    text = render_diagnosis(diag).plain()
    assert (
        f"the server should also send 'Bundle Issuing CA' (fetched from {site.inter_url}, "
        f"sha256 {inter.sha256})"
    ) in text
    assert "NOT TRUSTED (server side):" in text  # no "likely"/"uncertain" any more


def test_fetched_root_the_client_lacks_is_untrusted_root_high(issuer):
    site = site_pki(issuer)
    other = pki.make_cert("Some Other Root")
    before, prs = _judge([site.leaf], [other])
    assert all(v.cause == Code.MISSING_INTERMEDIATE for v in before.clients)
    diag = confirm_with_aia(before, prs, options=OPTS).diagnosis
    root, inter = info(site.root), info(site.inter)
    for v in diag.clients:
        assert not v.trusted
        assert v.cause == Code.UNTRUSTED_ROOT
        assert v.side == Side.CLIENT
        assert v.confidence == Confidence.HIGH
        head = v.findings[0].params
        assert head["fetched_root"] == root.subject
        assert head["fetched_root_from"] == site.root_url
        assert head["fetched_root_sha256"] == root.sha256
        # Both sides must act: the server also omits the intermediate.
        mi = [f for f in v.findings if f.code == Code.MISSING_INTERMEDIATE]
        assert mi and mi[0].params["fetched_sha256s"] == [inter.sha256]
        assert mi[0].side == Side.SERVER
        # The fetched root ends the path untrusted: it is not an anchor.
        assert v.path[-1].role != "anchor" and v.path[-1].sha256 == root.sha256
    text = render_diagnosis(diag).plain()
    assert "the chain ends at the root 'Bundle Test Root' (fetched from" in text
    assert "the server should also send 'Bundle Issuing CA'" in text
    # The intermediate had to be fetched too: both sides must act, server first.
    assert "(server and client side)" in text
    assert diag.verdict.sides == (Side.SERVER, Side.CLIENT)


def test_second_missing_intermediate_turns_untrusted_root_into_missing_intermediate(issuer):
    now = real_now()
    root = pki.make_cert("Two Level Root", not_before=now - DAY, not_after=now + 300 * DAY)
    upper = pki.make_cert("Upper CA", issuer=root, not_before=now - DAY)
    lower = pki.make_cert(
        "Lower CA", issuer=upper, not_before=now - DAY, aia_ca_issuers=[issuer.url("/upper.der")]
    )
    leaf = pki.make_cert(HOST, issuer=lower, ca=False, dns=[HOST], not_before=now - DAY)
    issuer.routes["/upper.der"] = static(der(upper))
    before, prs = _judge([leaf, lower], [root])
    assert {v.cause for v in before.clients} == {Code.UNTRUSTED_ROOT}
    assert all(v.confidence == Confidence.MEDIUM for v in before.clients)
    assert all(Code.MISSING_INTERMEDIATE in v.alternatives for v in before.clients)
    diag = confirm_with_aia(before, prs, options=OPTS).diagnosis
    for v in diag.clients:
        assert v.cause == Code.MISSING_INTERMEDIATE
        assert v.confidence == Confidence.HIGH
        assert v.findings[0].params["fetched_issuer"] == info(upper).subject
        assert v.findings[0].params["issuer"] == info(upper).subject


def test_fetch_that_stops_short_keeps_the_classification_and_adds_the_confirmed_part(issuer):
    now = real_now()
    root = pki.make_cert("Unknown Root", not_before=now - DAY)
    inter = pki.make_cert("No AIA CA", issuer=root, not_before=now - DAY)  # no caIssuers
    leaf = pki.make_cert(
        HOST, issuer=inter, ca=False, dns=[HOST], aia_ca_issuers=[issuer.url("/i")]
    )
    issuer.routes["/i"] = static(der(inter))
    before, prs = _judge([leaf], [pki.make_cert("Unrelated Root")])
    diag = confirm_with_aia(before, prs, options=OPTS).diagnosis
    for v in diag.clients:
        assert not v.trusted
        assert v.cause == Code.UNTRUSTED_ROOT  # the fetched CA's own issuer is nowhere
        assert v.confidence == Confidence.MEDIUM
        assert "fetch-aia" not in v.settle
        mi = [f for f in v.findings if f.code == Code.MISSING_INTERMEDIATE]
        assert mi and mi[0].params["fetched_sha256"] == info(inter).sha256


def _impostor_site(issuer: AiaServer, kind: str) -> tuple[pki.Issued, pki.Issued]:
    now = real_now()
    root = pki.make_cert("Hostile Test Root", not_before=now - DAY)
    inter = pki.make_cert("Hostile Issuing CA", issuer=root, not_before=now - DAY)
    leaf = pki.make_cert(
        HOST, issuer=inter, ca=False, dns=[HOST], aia_ca_issuers=[issuer.url("/x")]
    )
    if kind == "not-the-issuer":
        issuer.routes["/x"] = static(der(pki.make_cert("Somebody Else", issuer=root)))
    elif kind == "impostor":  # right name, another key
        issuer.routes["/x"] = static(der(pki.make_cert("Hostile Issuing CA", issuer=root)))
    elif kind == "404":
        pass
    elif kind == "file-redirect":
        issuer.routes["/x"] = redirect("file:///etc/passwd")
    elif kind == "garbage":
        issuer.routes["/x"] = static(b"\x00" * 300)
    return root, leaf


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        ("not-the-issuer", "not-the-issuer"),
        ("impostor", "bad-signature"),
        ("404", "http-status"),
        ("file-redirect", "bad-scheme"),
        ("garbage", "unparsable"),
    ],
)
def test_hostile_aia_confirms_nothing_and_trusts_nothing(issuer, kind, reason):
    root, leaf = _impostor_site(issuer, kind)
    before, prs = _judge([leaf], [root])
    diag = confirm_with_aia(before, prs, options=OPTS).diagnosis
    for old, v in zip(before.clients, diag.clients, strict=True):
        assert not v.trusted
        assert v.cause == old.cause == Code.MISSING_INTERMEDIATE
        assert v.confidence == old.confidence == Confidence.MEDIUM
        assert "fetch-aia" not in v.settle  # tried; it does not settle anything
        assert v.path == old.path
    assert diag.supplied == ()
    (failed,) = [f for f in diag.findings if f.code == Code.AIA_FETCH_FAILED]
    assert failed.params["reason"] == reason
    assert failed.params["url"] == issuer.url("/x")
    text = render_diagnosis(diag).plain()
    assert "aia-fetch-failed: could not fetch the missing issuer from" in text


def test_offline_uses_only_the_cache_and_keeps_the_settle_step(issuer, tmp_path):
    site = site_pki(issuer)
    before, prs = _judge([site.leaf], [site.root])
    cache = tmp_path / "aia-cache"
    offline = AiaOptions(cache_dir=cache, allow_network=False)
    out = confirm_with_aia(before, prs, options=offline)
    assert out.completion is not None and out.completion.stopped == "offline"
    assert issuer.hits == {}
    assert [v.settle for v in out.diagnosis.clients] == [v.settle for v in before.clients]
    assert not [f for f in out.diagnosis.findings if f.code == Code.AIA_FETCH_FAILED]
    # Warm the cache over the network, stop the server, and confirm offline.
    confirm_with_aia(before, prs, options=AiaOptions(cache_dir=cache))
    assert issuer.hits == {"/issuing.cer": 1}
    issuer.stop()
    again = confirm_with_aia(before, prs, options=offline).diagnosis
    assert all(v.confidence == Confidence.HIGH for v in again.clients)
    assert all(v.cause == Code.MISSING_INTERMEDIATE for v in again.clients)


def test_complete_chain_is_never_fetched_from(issuer):
    site = site_pki(issuer)
    before, prs = _judge([site.leaf, site.inter], [site.root])
    assert before.verdict.trusted and not needs_aia(before)
    out = confirm_with_aia(before, prs, options=OPTS)
    assert out.completion is None and out.diagnosis is before
    assert issuer.hits == {}


def test_other_causes_are_left_alone(issuer):
    # An expired leaf is Go's first complaint: AIA must not turn it into missing-intermediate.
    now = real_now()
    site = site_pki(issuer)
    expired = pki.make_cert(
        HOST,
        issuer=site.inter,
        ca=False,
        dns=[HOST],
        not_before=now - 90 * DAY,
        not_after=now - DAY,
        aia_ca_issuers=[site.inter_url],
    )
    before, prs = _judge([expired], [site.root])
    go = next(v for v in before.clients if v.client == "go")
    assert go.cause == Code.EXPIRED
    diag = confirm_with_aia(before, prs, options=OPTS).diagnosis
    go2 = next(v for v in diag.clients if v.client == "go")
    assert go2 == go


def test_confirm_missing_checks_the_client_pairs(issuer):
    site = site_pki(issuer)
    before, prs = _judge([site.leaf], [site.root])
    completion = complete_issuers(info(site.leaf), [], [a for _, a in prs], options=OPTS)
    with pytest.raises(ValueError):
        confirm_missing(before, completion, clients=prs[:1])


# -- the chain command ---------------------------------------------------------------------


def _chain(capsys, *argv: str) -> tuple[int, str, str]:
    rc = main(["chain", *argv])
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_chain_fetch_json_is_confirmed_and_follows_the_schema(issuer, tmp_path, capsys):
    site = site_pki(issuer)
    (tmp_path / "leaf.pem").write_bytes(site.leaf.pem)
    (tmp_path / "root.pem").write_bytes(site.root.pem)
    rc, out, err = _chain(
        capsys,
        str(tmp_path / "leaf.pem"),
        "--trust",
        str(tmp_path / "root.pem"),
        "--host",
        HOST,
        "--fetch",
        "--cache",
        str(tmp_path / "c"),
        "--format",
        "json",
    )
    assert rc == 1, err
    data = json.loads(out)
    jsonschema.validate(data, SCHEMA)
    assert data["verdict"]["cause"] == "missing-intermediate"
    assert data["verdict"]["confidence"] == "high"
    assert data["verdict"]["params"]["fetched_from"] == site.inter_url
    assert data["supplied"] == [
        {"sha256": info(site.inter).sha256, "source": site.inter_url, "format": "aia"}
    ]
    for c in data["clients"]:
        assert c["trusted"] is False
        assert [p["origin"] for p in c["path"]] == ["presented", "fetched", "anchor"]
    assert list((tmp_path / "c").glob("*.aia")), "the answer is cached under --cache"


def test_chain_is_offline_by_default(issuer, tmp_path, capsys):
    site = site_pki(issuer)
    (tmp_path / "leaf.pem").write_bytes(site.leaf.pem)
    (tmp_path / "root.pem").write_bytes(site.root.pem)
    for extra in ([], ["--no-fetch"]):
        rc, out, _ = _chain(
            capsys, str(tmp_path / "leaf.pem"), "--trust", str(tmp_path / "root.pem"), *extra
        )
        assert rc == 1
        assert "(server side, likely)" in out
        assert f"to settle it: fetch the issuer from the AIA URL ({site.inter_url})" in out
        assert "run again with --fetch" in out
    assert issuer.hits == {}
    assert not (tmp_path / "xdg-cache").exists()


def test_chain_cache_only(issuer, tmp_path, capsys):
    site = site_pki(issuer)
    (tmp_path / "leaf.pem").write_bytes(site.leaf.pem)
    (tmp_path / "root.pem").write_bytes(site.root.pem)
    base = [str(tmp_path / "leaf.pem"), "--trust", str(tmp_path / "root.pem")]
    cache = ["--cache", str(tmp_path / "c")]
    rc, out, _ = _chain(capsys, *base, "--no-fetch", *cache)
    assert rc == 1 and "likely" in out and issuer.hits == {}
    _chain(capsys, *base, "--fetch", *cache)
    assert issuer.hits == {"/issuing.cer": 1}
    issuer.stop()
    rc, out, _ = _chain(capsys, *base, *cache)
    assert rc == 1
    assert "(server side):" in out and "the server should also send 'Bundle Issuing CA'" in out


def test_chain_fetch_flags_are_exclusive_and_cache_must_be_a_directory(tmp_path, capsys):
    (tmp_path / "f").write_text("x")
    assert main(["chain", "x.pem", "--fetch", "--no-fetch"]) == 2
    leaf = pki.make_cert(HOST, issuer=pki.make_cert("R"), ca=False, dns=[HOST])
    (tmp_path / "leaf.pem").write_bytes(leaf.pem)
    rc = main(
        [
            "chain",
            str(tmp_path / "leaf.pem"),
            "--trust",
            str(tmp_path / "leaf.pem"),
            "--cache",
            str(tmp_path / "f"),
        ]
    )
    err = capsys.readouterr().err
    assert rc == 2 and "not a directory" in err and "Traceback" not in err


def test_hostile_url_is_escaped_in_the_failure_finding(issuer):
    now = real_now()
    root = pki.make_cert("Esc Root", not_before=now - DAY)
    inter = pki.make_cert("Esc CA", issuer=root, not_before=now - DAY)
    evil = "http://127.0.0.1:1/\x1b[31mred\x07.cer"  # ASCII controls: x509 URIs are ASCII
    leaf = pki.make_cert(HOST, issuer=inter, ca=False, dns=[HOST], aia_ca_issuers=[evil])
    before, prs = _judge([leaf], [root])
    diag = confirm_with_aia(before, prs, options=OPTS).diagnosis
    (failed,) = [f for f in diag.findings if f.code == Code.AIA_FETCH_FAILED]
    text = render_diagnosis(diag).plain()
    for s in (
        str(failed.params["url"]),
        *map(str, failed.params["urls"]),
        text.split("aia-fetch")[1],
    ):
        assert "\x1b" not in s and "\x07" not in s
    assert failed.params["reason"] == "bad-url"
