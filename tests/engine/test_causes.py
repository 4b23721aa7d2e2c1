"""The cause catalogue is one table (model/causes.py): every code one row, and the
engine, the planners and the docs read it instead of keeping their own lists."""

from __future__ import annotations

import re

from helpers import DOCS
from trustdoctor.engine import aiaconfirm, refine
from trustdoctor.fixes import planner
from trustdoctor.model.causes import AIA_CONFIRMABLE, CAUSES, CODE_SIDE, NO_PATH, Route, by_route
from trustdoctor.model.findings import Code, Side


def test_every_code_has_exactly_one_row() -> None:
    assert set(CAUSES) == set(Code)
    assert all(code == row.code for code, row in CAUSES.items())
    assert dict(CODE_SIDE) == {c: r.side for c, r in CAUSES.items()}


def test_routes_partition_the_codes_and_the_planner_uses_them() -> None:
    groups = [by_route(r) for r in Route]
    assert sum(len(g) for g in groups) == len(Code)
    assert by_route(Route.INSTALL) == planner.CLIENT_INSTALL
    assert by_route(Route.SERVE) == planner.SERVE_CHAIN
    assert by_route(Route.STORE) == planner.STORE_CAUSES
    assert by_route(Route.NOTE) == planner.NOTE_ONLY


def test_no_path_is_defined_once() -> None:
    """Store evidence, interception and AIA all ask the table."""
    assert {Code.UNTRUSTED_ROOT, Code.MISSING_INTERMEDIATE, Code.SELF_SIGNED_LEAF} <= NO_PATH
    assert aiaconfirm.CONFIRMABLE is AIA_CONFIRMABLE
    assert AIA_CONFIRMABLE <= NO_PATH
    assert not hasattr(refine, "NO_PATH_CAUSES")


def test_docs_describe_every_code_with_the_tables_side() -> None:
    text = (DOCS / "causes.md").read_text()
    for code in Code:
        assert f"`{code.value}`" in text, f"docs/causes.md does not describe {code.value}"
    for heading in re.findall(r"^### (.+) — side (\w+)", text, re.M):
        names, side = heading
        for name in re.findall(r"`([a-z0-9-]+)`", names):
            assert CAUSES[Code(name)].side == Side(side), name
