"""A scan's own plans (server parts) as JSON text, their steps rendered once
per chain where equal (render/scan.py plan_json_text): the very text
json.dumps gives the plan's document, for every endpoint, root and privilege."""

from __future__ import annotations

import json
from collections import OrderedDict

from trustdoctor.fixes import FixContext, merge_plans, plan_for
from trustdoctor.model.findings import Code
from trustdoctor.model.target import parse_target
from trustdoctor.render.plan_json import plan_to_dict
from trustdoctor.render.scan import STEP_MEMO, plan_json_text


def _expected(plan: object) -> str:
    return json.dumps(plan_to_dict(plan), separators=(",", ":"), default=str)  # type: ignore[arg-type]


class _Counted(OrderedDict[tuple[object, ...], str]):
    hits = 0

    def get(self, key: tuple[object, ...], default: object = None) -> str | None:  # type: ignore[override]
        got = super().get(key)
        self.hits += got is not None
        return got


def test_plan_text_is_the_documents_text_with_steps_shared() -> None:
    memo = _Counted()
    texts = set()
    for port in range(1000, 1000 + 3 * STEP_MEMO):
        for root, as_root in (("/", False), ("/", True), ("/srv/img", False)):
            ctx = FixContext(
                family="debian", host="svc.example", root=root, as_root=as_root,
                endpoint=parse_target(f"10.0.0.1:{port}", servername="svc.example"),
            )  # fmt: skip
            server = plan_for(Code.MISSING_INTERMEDIATE, ctx, params={"host": "svc.example"})
            client = plan_for(Code.UNTRUSTED_ROOT, ctx, client="go", params={"issuer": "CN=R"})
            plan = merge_plans([server, client])
            text = plan_json_text(plan, memo)
            assert text == _expected(plan)
            texts.add(text)
            assert len(memo) <= STEP_MEMO
    # The endpoint (its port) and the privileges show in the text: no step was
    # taken from the memo for a plan it differs in.
    assert len(texts) == 3 * 3 * STEP_MEMO
    assert any("sudo " in t for t in texts) and any("/srv/img" in t for t in texts)
    # ... and every other step was (the same client and server steps each time).
    assert memo.hits > 3 * 3 * STEP_MEMO * 4


def test_plan_text_of_a_plan_without_steps() -> None:
    plan = merge_plans([])
    assert plan_json_text(plan, OrderedDict()) == _expected(plan)
