"""x509-limbo conformance of the ``webpki`` policy (report: docs/conformance.md)."""

from __future__ import annotations

import json

import pytest

from helpers import SHARED
from trustdoctor.conformance.limbo import run_all

LIMBO = SHARED / "limbo" / "limbo.json"
GENERIC = {"unparsable", None, "ok"}


@pytest.fixture(scope="module")
def results():
    if not LIMBO.exists():
        pytest.skip(f"{LIMBO} not present")
    return list(run_all(json.loads(LIMBO.read_text())))


def test_agreement_target(results):
    server = [r for r in results if not (r.reason or "").startswith("CLIENT")]
    agree = [r for r in server if r.actual != "SKIPPED" and r.actual == r.expected]
    assert len(server) == 198
    assert len(agree) >= 145, len(agree)


def test_every_agreed_failure_has_a_specific_cause(results):
    for r in results:
        if r.expected == "FAILURE" and r.actual == "FAILURE":
            assert r.cause not in GENERIC, r
            if r.cause == "strict-profile":
                assert r.reason and r.reason != "other", r


def test_skips_have_reasons(results):
    for r in results:
        if r.actual == "SKIPPED":
            assert r.reason


def test_no_false_acceptance_of_a_denial_of_service_case(results):
    dos = [r for r in results if "pathological" in r.id or "dos" in r.id]
    assert dos
    for r in dos:
        if r.actual != "SKIPPED":
            assert r.actual == r.expected, r
