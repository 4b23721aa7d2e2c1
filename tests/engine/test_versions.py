"""Versioned client models: policy_for(family, version=, godebug=) and the
behaviour table (engine/versions.py); what changes between Go 1.19 and the
newest Go, checked on chains without running Go (the oracle tests run it)."""

from __future__ import annotations

import pytest

from trustdoctor.conformance.oracles import model_outcome
from trustdoctor.conformance.pathsets import encoding_cases
from trustdoctor.engine.policies import policy_for
from trustdoctor.engine.versions import CHANGES, NEWEST, parse_version, settings
from trustdoctor.errors import UsageError

ENC = {c.id: c for c in encoding_cases()}


def test_default_is_the_newest_release() -> None:
    p = policy_for("go")
    assert p.version == NEWEST["go"]
    assert p.settings["verify_error_prefix"] is True
    assert policy_for("docker").version == NEWEST["go"]  # every Go client


@pytest.mark.parametrize("text", ["1.19", "go1.19.8", "1.19.0"])
def test_go_1_19(text: str) -> None:
    s = policy_for("go", version=text).settings
    assert s["verify_error_prefix"] is False
    assert s["reject_negative_serial"] is False
    assert s["chain_level_name_constraints"] is False
    assert s["sha1_godebug"] is True


def test_releases_in_between_follow_the_table() -> None:
    assert settings("go", "1.20")["verify_error_prefix"] is True
    assert settings("go", "1.22")["reject_negative_serial"] is False
    assert settings("go", "1.23")["reject_negative_serial"] is True
    assert settings("go", "1.23")["sha1_godebug"] is True
    assert settings("go", "1.24")["sha1_godebug"] is False


def test_godebug_is_data_and_honoured_only_where_it_exists() -> None:
    assert settings("go", "1.27", {"x509negativeserial": "1"})["reject_negative_serial"] is False
    assert settings("go", "1.27", {"x509negativeserial": "0"})["reject_negative_serial"] is True
    assert settings("go", "1.19", {"x509sha1": "1"})["allow_sha1"] is True
    assert settings("go", "1.27", {"x509sha1": "1"})["allow_sha1"] is False
    assert settings("go", "1.27", {"tlsmaxrsasize": "16384"})["max_rsa_bits"] == 16384
    assert policy_for("go", version="1.19", godebug={"x509sha1": "1"}).reject_sha1 is False
    assert policy_for("go", godebug={"x509sha1": "1"}).reject_sha1 is True


def test_curl_and_node_versions() -> None:
    assert settings("curl", "7.88.1")["ssl_cert_file_with_dir"] is False
    assert settings("curl", "7.88.1")["hostname_word"] == "host name"
    assert settings("curl", "8.5.0")["ssl_cert_file_with_dir"] is True
    assert settings("node", "20")["use_system_ca"] is False
    assert settings("node", "23.9")["use_system_ca"] is True


@pytest.mark.parametrize("bad", ["", "latest", "1.x", "go"])
def test_bad_versions_are_usage_errors(bad: str) -> None:
    with pytest.raises(UsageError):
        policy_for("go", version=bad)


def test_every_change_names_its_source() -> None:
    for ch in CHANGES:
        parse_version(ch.since)
        assert len(ch.source) > 20, ch
        assert ch.old != ch.new, ch


# -- the verdict bugs of issue 11, on the model alone ----------------------------------------


@pytest.mark.parametrize(
    "case", ["enc/san-x400-and-dns", "enc/san-edi-and-dns", "enc/san-undefined-tag-and-dns"]
)
def test_go_skips_san_entry_types_it_does_not_know(case: str) -> None:
    # Real Go trusts these (tests/engine/test_oracles.py); cryptography cannot
    # parse the SAN, which once made the model say "unhandled critical extension".
    for version in ("1.19", None):
        assert model_outcome(ENC[case], "go", version=version).ok, (case, version)


def test_go_refuses_an_unparsable_uri_san() -> None:
    out = model_outcome(ENC["enc/san-unparsable-uri"], "go")
    assert not out.ok
    assert out.text == (
        'tls: failed to parse certificate from server: x509: cannot parse URI "http://[::1": '
        "parse \"http://[::1\": missing ']' in host"
    )


def test_negative_serial_is_a_parse_error_from_go_1_23() -> None:
    case = ENC["enc/negative-serial"]
    assert model_outcome(case, "go", version="1.19").ok
    assert model_outcome(case, "go", version="1.27", godebug={"x509negativeserial": "1"}).ok
    out = model_outcome(case, "go")
    assert out.text == "tls: failed to parse certificate from server: x509: negative serial number"


def test_parse_error_is_its_own_finding() -> None:
    from trustdoctor.engine.judge import judge
    from trustdoctor.model.anchors import Anchor, make_anchor_set
    from trustdoctor.model.cert import Provenance, parse_certificate
    from trustdoctor.model.diagnosis import PresentedCert

    case = ENC["enc/critical-aki"]
    certs = [
        PresentedCert(parse_certificate(d), Provenance("chain", i))
        for i, d in enumerate(case.chain)
    ]
    root = parse_certificate(case.roots[0])
    anchors = make_anchor_set("t", [Anchor(root, Provenance("root", 0))])
    d = judge(certs, clients=[("go", anchors), ("openssl", anchors)], at=case.at, host=case.host)
    go, openssl = d.clients
    f = go.findings[0]
    assert go.cause.value == "unparsable-certificate"
    assert f.params["message"] == "x509: authority key identifier incorrectly marked critical"
    assert f.params["position"] == 0
    # OpenSSL parses it, and finds no issuer with that key id (the AKI names
    # another key): error 20, as `openssl verify` says (test_oracles.py).
    assert openssl.client_error == "verify error:num=20:unable to get local issuer certificate"
