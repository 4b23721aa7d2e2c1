"""Run x509-limbo cases through the ``webpki`` policy.

Used by the conformance test and by ``python -m trustdoctor.conformance.limbo
LIMBO.json`` to print the agreement report in docs/conformance.md.  Skips are
by feature, like cryptography's own harness (tests/x509/verification/
test_limbo.py), each with its reason.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections import Counter
from collections.abc import Iterator, Mapping
from typing import Any

from ..model.record import record

# Features a strict verifier also skips, with the reason.
SKIP_FEATURES: Mapping[str, str] = {
    "has-crl": "revocation (CRLs) is out of scope: trustdoctor judges trust paths, not revocation",
    "name-constraint-dn": "directoryName constraints are not modelled",
    "pedantic-webpki-subscriber-key": "pedantic CA/B Forum key-encoding rule",
    "pedantic-webpki-eku": "pedantic CA/B Forum EKU rule",
    "pedantic-serial-number": "pedantic serial-number encoding rule",
    "pedantic-public-suffix-wildcard": "public-suffix list not consulted",
    "pedantic-rfc5280": "pedantic RFC 5280 rule",
    "rfc5280-incompatible-with-webpki": "conflicts with the Web PKI profile",
    "has-policy-constraints": "certificate policies are not modelled",
}


@record
class CaseResult:
    """One x509-limbo case: the expected result, ours, and why."""

    id: str
    expected: str
    actual: str  # SUCCESS, FAILURE, SKIPPED
    cause: str | None
    reason: str | None  # skip reason or the cause detail


def _skip_reason(case: Mapping[str, Any]) -> str | None:
    if case["validation_kind"] != "SERVER":
        return "CLIENT validation (mutual TLS) is out of scope"
    for f in case.get("features") or []:
        if f in SKIP_FEATURES:
            return SKIP_FEATURES[f]
    if case.get("signature_algorithms"):
        return "per-case signature algorithm allow-lists are not modelled"
    eku = set(case.get("extended_key_usage") or [])
    if eku - {"serverAuth"}:
        return "only serverAuth validation is modelled"
    if case.get("expected_peer_name") is None:
        return "no peer name"
    if case["expected_peer_name"]["kind"] not in ("DNS", "IP"):
        return "RFC 822 peer names are out of scope"
    return None


def run_case(case: Mapping[str, Any]) -> CaseResult:
    from ..engine.judge import judge
    from ..model.anchors import Anchor, make_anchor_set
    from ..model.cert import Provenance
    from ..sources.files import load_bytes

    reason = _skip_reason(case)
    if reason:
        return CaseResult(case["id"], case["expected_result"], "SKIPPED", None, reason)
    try:
        leaf = load_bytes(case["peer_certificate"].encode(), "peer").certs
        inters = [
            pc
            for p in case["untrusted_intermediates"]
            for pc in load_bytes(p.encode(), "intermediate").certs
        ]
        roots = [
            pc for p in case["trusted_certs"] for pc in load_bytes(p.encode(), "trusted").certs
        ]
    except Exception as exc:  # the case's certificates do not parse
        return CaseResult(
            case["id"], case["expected_result"], "FAILURE", "unparsable", str(exc)[:120]
        )
    at = (
        dt.datetime.fromisoformat(case["validation_time"])
        if case.get("validation_time")
        else dt.datetime.now(dt.UTC)
    )
    anchors = make_anchor_set(
        "webpki", [Anchor(r.cert, Provenance("trusted", i)) for i, r in enumerate(roots)]
    )
    from ..engine.policies import POLICIES
    from ..model.record import replace

    overrides = {}
    if case.get("max_chain_depth") is not None:
        overrides["webpki"] = replace(POLICIES["webpki"], max_intermediates=case["max_chain_depth"])
    diag = judge(
        list(leaf),
        clients=[("webpki", anchors)],
        at=at,
        host=case["expected_peer_name"]["value"],
        supplied=inters,
        leaf_index=0,
        policies=overrides,
    )
    v = diag.clients[0]
    detail = None
    if v.findings:
        detail = str(v.findings[0].params.get("rule") or v.findings[0].params.get("reason") or "")
    return CaseResult(
        case["id"],
        case["expected_result"],
        "SUCCESS" if v.trusted else "FAILURE",
        v.cause.value,
        detail,
    )


def run_all(data: Mapping[str, Any]) -> Iterator[CaseResult]:
    for case in data["testcases"]:
        yield run_case(case)


def report(results: list[CaseResult]) -> str:
    server = [
        r
        for r in results
        if not (r.actual == "SKIPPED" and r.reason and r.reason.startswith("CLIENT"))
    ]
    agree = [r for r in server if r.actual != "SKIPPED" and r.actual == r.expected]
    disagree = [r for r in server if r.actual != "SKIPPED" and r.actual != r.expected]
    skipped = [r for r in results if r.actual == "SKIPPED"]
    lines = [
        f"cases: {len(results)}; SERVER cases: {len(server)}",
        f"agree: {len(agree)}  disagree: {len(disagree)}  skipped: {len(skipped)}",
        "",
        "skipped, by reason:",
    ]
    for reason, n in Counter(r.reason for r in skipped).most_common():
        lines.append(f"  {n:4}  {reason}")
    lines += ["", "causes given for agreed FAILURE cases:"]
    for cause, n in Counter(r.cause for r in agree if r.expected == "FAILURE").most_common():
        lines.append(f"  {n:4}  {cause}")
    lines += ["", "disagreements:"]
    for r in disagree:
        lines.append(f"  {r.id}: expected {r.expected}, got {r.actual} ({r.cause}: {r.reason})")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    path = args[0] if args else "../shared/limbo/limbo.json"
    with open(path, encoding="utf-8") as fh:
        data = json.load(fh)
    results = list(run_all(data))
    sys.stdout.write(report(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
