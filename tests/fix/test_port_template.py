"""A chain's server plan learnt once over the port (fixes/porttemplate.py) gives,
for every other port, exactly what the planner makes for it: the plan and its
parts, their text and JSON, for every server-side shape and endpoint shape;
and no template where the port enters the plan otherwise than as its text."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path

import pytest

import helpers.netlab as netlab
from trustdoctor import api
from trustdoctor.fixes import porttemplate as pt
from trustdoctor.fixes.model import FixContext, Plan
from trustdoctor.fixes.planner import (
    PlanParts,
    context_for,
    diagnosis_context,
    plan_from_parts,
    plan_parts,
)
from trustdoctor.lab import pki
from trustdoctor.model.diagnosis import Diagnosis
from trustdoctor.model.target import format_hostport, parse_target
from trustdoctor.render.plan_json import plan_to_dict
from trustdoctor.render.plan_text import render_plan
from trustdoctor.sources.files import load_bytes

NAME = "svc.port.test"
DAY = dt.timedelta(days=1)


def _diagnoses(tmp: Path) -> dict[str, Diagnosis]:
    """Server-side shapes (and one with a client side too), judged offline."""
    now = pki.NOW
    valid = {"not_before": now - DAY, "not_after": now + 200 * DAY}
    root = pki.make_cert("Port Root", **valid)
    inter = pki.make_cert("Port Issuing CA", issuer=root, **valid)
    leaf = pki.make_cert(NAME, issuer=inter, ca=False, dns=[NAME], **valid)
    expired = pki.make_cert(NAME, issuer=inter, ca=False, dns=[NAME],
                            not_before=now - 90 * DAY, not_after=now - DAY)  # fmt: skip
    elsewhere = pki.make_cert("elsewhere", issuer=inter, ca=False, dns=["elsewhere.test"], **valid)
    selfish = pki.make_cert(NAME, ca=False, dns=[NAME], **valid)
    (tmp / "root.pem").write_bytes(root.pem)
    shapes = {
        "missing-intermediate": [leaf],
        "expired": [expired, inter],
        "hostname-mismatch": [elsewhere, inter],
        "self-signed-leaf": [selfish],
        "root-sent": [leaf, inter, root],
        "untrusted-root": [leaf, inter],  # the client side (no --trust of it)
    }
    out = {}
    for shape, chain in shapes.items():
        trust = [] if shape == "untrusted-root" else [str(tmp / "root.pem")]
        if shape == "untrusted-root":
            (tmp / "other.pem").write_bytes(pki.make_cert("Other Root", **valid).pem)
            trust = [str(tmp / "other.pem")]
        data = b"".join(c.pem for c in chain)
        out[shape] = api.diagnose_chain(
            [load_bytes(data, "chain.pem")], trust=trust, host=NAME, at=now,
            clients=["go", "openssl", "java"],
        ).diagnosis  # fmt: skip
    return out


ENDPOINTS = {
    "ip-with-name": ("https://10.1.2.3:34817", NAME),
    "name": (f"https://{NAME}:8443", None),
    "ipv6": ("https://[fd00::5]:6443", NAME),
    "smtps": (f"smtps://{NAME}:4650", None),
    "starttls": (f"smtp://{NAME}:2525", None),
}


def _maker(diag: Diagnosis, base: FixContext) -> Callable[[int], tuple[Plan, PlanParts]]:
    def make(port: int) -> tuple[Plan, PlanParts]:
        b = diagnosis_context(diag, None, pt.context_on_port(base, port))
        parts = plan_parts(diag, None, b)
        return plan_from_parts(diag, parts, b), parts

    return make


def _same(a: tuple[Plan, PlanParts], b: tuple[Plan, PlanParts]) -> None:
    assert a == b
    assert render_plan(a[0]).plain() == render_plan(b[0]).plain()
    assert plan_to_dict(a[0]) == plan_to_dict(b[0])
    for x, y in zip(a[1].server, b[1].server, strict=True):
        assert plan_to_dict(x) == plan_to_dict(y)


@pytest.mark.parametrize("registry", [False, True])
def test_filled_plans_are_the_planners(tmp_path: Path, registry: bool) -> None:
    diags = _diagnoses(tmp_path)
    learnt = 0
    for text, servername in ENDPOINTS.values():
        t = parse_target(text, servername=servername)
        assert pt.eligible(t)
        reg = format_hostport(t.host, t.port) if registry else None
        base = context_for("debian", endpoint=t, host=t.servername or t.host, registry=reg)
        digits = len(str(t.port))
        others = [p for p in (1025, 2222, 9999, 31337, 40259, 65535) if len(str(p)) == digits]
        for shape, diag in diags.items():
            make = _maker(diag, base)
            first, template = pt.learn(make, t.port)
            _same(first, make(t.port))
            assert template is not None, (shape, text)
            learnt += 1
            for port in others:
                _same(template.fill(port), make(port))
                # The endpoint's check commands name the new port.
                shown = render_plan(template.fill(port)[0]).plain()
                if shape != "untrusted-root" and not diag.verdict.trusted:
                    assert f":{port}" in shown
    assert learnt == len(ENDPOINTS) * 6
    refused = {k for k, d in diags.items() if not d.verdict.trusted}
    assert refused == set(diags) - {"root-sent"}  # (a root sent along: a warning)


def test_no_template_where_the_port_is_more_than_its_text(tmp_path: Path) -> None:
    diag = _diagnoses(tmp_path)["missing-intermediate"]
    # The port's digits inside the host name: a replacement would change it too.
    t = parse_target("https://node8443.port.test:8443")
    base = context_for("debian", endpoint=t, host=t.host)
    first, template = pt.learn(_maker(diag, base), 8443)
    assert template is None and first[0].steps
    # Special ports and --connect-to are planned per endpoint.
    assert not pt.eligible(parse_target(f"https://{NAME}"))  # 443: a bare host
    assert not pt.eligible(parse_target(f"https://{NAME}:636"))  # a scheme's port
    assert not pt.eligible(parse_target(f"https://{NAME}:8443", connect_to="10.0.0.9"))
    # Ports of another number of digits have another key.
    a, b = (parse_target(f"https://{NAME}:{p}") for p in (8443, 18443))
    assert pt.shape_key(a) != pt.shape_key(b)
    assert pt.shape_key(a) == pt.shape_key(parse_target(f"https://{NAME}:9443"))


def test_a_scan_fills_its_plans_from_the_template(
    monkeypatch: pytest.MonkeyPatch, files: netlab.Files, tmp_path: Path
) -> None:
    """In the scan pipeline (api/endpoint.py _plan): one learning per chain and
    endpoint shape, then fills; every target's plan is what diagnose makes."""
    calls = {"learn": 0, "fill": 0}
    real_learn, real_fill = pt.learn, pt.PortTemplate.fill

    def learn(make: Callable[[int], object], port: int) -> object:
        calls["learn"] += 1
        return real_learn(make, port)

    def fill(self: pt.PortTemplate, port: int) -> object:
        calls["fill"] += 1
        return real_fill(self, port)

    monkeypatch.setattr(pt, "learn", learn)
    monkeypatch.setattr(pt.PortTemplate, "fill", fill)
    h = pki.hierarchy(NAME)
    (tmp_path / "root.pem").write_bytes(h.root.pem)
    ctx = netlab.server_context(files, [h.leaf])  # no intermediate: server side
    with contextlib.ExitStack() as stack:
        ports = [stack.enter_context(netlab.serving(netlab.tls_handler(ctx))).port
                 for _ in range(6)]  # fmt: skip
        lines = [f"127.0.0.1:{p} servername={NAME}" for p in ports]
        trust = [str(tmp_path / "root.pem")]
        with api.scan_endpoints(lines, clients=["go", "openssl"], trust=trust, at=pki.NOW,
                                concurrency=1) as scan:  # fmt: skip
            results = [r for r in scan if isinstance(r, api.ScanResult)]
        assert len(results) == 6
        for r in results:
            alone = api.diagnose_endpoint(r.report.target, clients=["go", "openssl"],
                                          trust=trust, at=pki.NOW)  # fmt: skip
            assert alone.plan is not None and r.report.plan is not None
            assert plan_to_dict(r.report.plan) == plan_to_dict(alone.plan)
            assert render_plan(r.report.plan).plain() == render_plan(alone.plan).plain()
            assert r.report.plan.context is not None
            assert r.report.plan.context.endpoint == r.report.target
            assert r.parts is not None
            assert all(p.context is r.report.plan.context for p in r.parts.server)
            mine, theirs = json.loads(r.json_line()), json.loads(_json_line(alone))
            for doc in (mine, theirs):
                for a in doc["addresses"]:
                    a.pop("elapsed_ms")
            assert mine == theirs
    # Ports of 5 digits (the loopback's ephemeral range): one template.
    digits = {len(str(p)) for p in ports}
    assert calls["learn"] == len(digits) and calls["fill"] == 6 - len(digits)


def _json_line(report: object) -> str:
    from trustdoctor.render.scan import dumps_line

    return dumps_line(report.to_dict())  # type: ignore[attr-defined]
