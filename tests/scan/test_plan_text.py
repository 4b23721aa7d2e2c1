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


def test_plan_members_other_than_steps_follow_their_notes_and_ca() -> None:
    """The text around the steps is shared too, but never across plans whose
    notes (their parameters, in any order) or CA differ."""
    from trustdoctor.fixes.model import CaRef, Note, Plan
    from trustdoctor.model.findings import Side

    memo = _Counted()
    made = []
    for issuer in ("CN=A", "CN=B", "CN=A,O=x", None, ["CN=A"], {"cn": "A"}):
        for ca in (None, CaRef.placeholder("CN=A"), CaRef.placeholder("CN=B")):
            notes = (Note("get-intermediate", {"issuer": issuer, "n": 1}), Note("nothing-ok"))
            made.append(Plan(Code.MISSING_INTERMEDIATE, Side.SERVER, notes=notes, ca=ca))
    for _ in range(2):
        for plan in made:
            assert plan_json_text(plan, memo) == _expected(plan)
    assert len({plan_json_text(p, memo) for p in made}) == len(made)
    assert memo.hits >= len(made) * 2  # the second round and the set's: from the memo
    # Parameters equal in Python but written otherwise: in another order, 1,
    # 1.0 and True, a tuple and a list (the same), a mapping that is no dict.
    from types import MappingProxyType

    from trustdoctor.fixes.model import Action, Step

    values: list[object] = [{"a": 1, "b": 2}, {"b": 2, "a": 1}, {"a": 1.0, "b": 2},
                            {"a": True, "b": 2}, {"a": (1,), "b": 2}, {"a": [1], "b": 2},
                            MappingProxyType({"a": 1, "b": 2})]  # fmt: skip
    for _ in range(2):
        for v in values:
            note = Plan(Code.EXPIRED, Side.SERVER, notes=(Note("x", {"v": v}),))
            step = Plan(Code.EXPIRED, Side.SERVER, steps=(Step(Action.RUN, {"v": v}),))
            for plan in (note, step):
                assert plan_json_text(plan, memo) == _expected(plan)
