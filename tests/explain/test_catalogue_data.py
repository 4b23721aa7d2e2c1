"""The message catalogue as a data file: valid against its schema, every code
known, loaded lazily and once, and a broken file is one error, not a traceback.

(What each entry *matches* is checked by test_explain_table.py.)
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import jsonschema
import pytest

from helpers import SRC
from trustdoctor import data
from trustdoctor.errors import TrustDoctorError
from trustdoctor.explain import catalogue as M
from trustdoctor.model.findings import Code
from trustdoctor.render import explain_text as words

DOC: dict[str, Any] = json.loads(data.read(M.DATA_FILE))
SCHEMA: dict[str, Any] = json.loads(data.read("messages.schema.json"))


def test_the_schema_is_draft_2020_12_and_the_data_follows_it() -> None:
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    errors = sorted(
        jsonschema.Draft202012Validator(SCHEMA).iter_errors(DOC), key=lambda e: e.json_path
    )
    assert not errors, "\n".join(f"{e.json_path}: {e.message[:200]}" for e in errors[:20])


def test_the_schema_rejects_what_the_loader_would_misread() -> None:
    v = jsonschema.Draft202012Validator(SCHEMA)
    first = next(e for e in DOC["errors"] if "regex" in e)
    bad_entries = [
        {**first, "regex": None},  # not a string
        {**first, "go_hint": "x"},  # both regex and go_hint
        {k: x for k, x in first.items() if k != "source"},  # no citation
        {**first, "examples": []},  # nothing to test it against
        {**first, "causes": [["untrusted-root"]]},  # a cause without its reason
        {**first, "priorty": 10},  # a misspelt key is not silently ignored
        {"expand": "no-such-table"},
    ]
    for bad in bad_entries:
        doc = {**DOC, "errors": [bad]}
        assert not v.is_valid(doc), bad


def _cause_lists(doc: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    """(where, causes) for every place a cause list or a cause-set name is written."""
    for name, s in doc["cause_sets"].items():
        yield f"cause_sets.{name}", s["causes"]
    for c in doc["openssl"]["codes"]:
        yield f"openssl.{c['code']}", c["causes"]
    yield "openssl.unknown_code", doc["openssl"]["unknown_code"]["causes"]
    for t in doc["rustls"]["names"]:
        yield f"rustls.{t['name']}", t["causes"]
    for t in doc["dotnet"]["statuses"]:
        yield f"dotnet.{t['status']}", t["causes"]
    for e in doc["errors"]:
        if "id" in e:
            yield e["id"], e["causes"]
    for w in doc["wrappers"]:
        for key in ("lead", "extra"):
            if key in w:
                yield f"wrapper {w['id']}.{key}", w[key]


def _question_lists(doc: dict[str, Any]) -> Iterator[tuple[str, list[str]]]:
    yield "openssl.unknown_code", doc["openssl"]["unknown_code"]["questions"]
    for c in doc["openssl"]["codes"]:
        yield f"openssl.{c['code']}", c["questions"]
    for t in (*doc["rustls"]["names"], *doc["dotnet"]["statuses"]):
        yield str(t.get("name", t.get("status"))), t["questions"]
    for e in (*doc["errors"], *doc["wrappers"]):
        if "id" in e:
            yield e["id"], e.get("questions", [])


def test_every_code_used_exists() -> None:
    codes = {c.value for c in Code}
    sets = set(DOC["cause_sets"])
    used_sets: set[str] = set()
    bad: list[str] = []
    for where, causes in _cause_lists(DOC):
        if isinstance(causes, str):
            used_sets.add(causes)
            if causes not in sets:
                bad.append(f"{where}: no cause set {causes!r}")
            continue
        for code, reason in causes:
            if code not in codes:
                bad.append(f"{where}: {code!r} is not a Code (model/findings.py)")
            if reason not in words.REASON:
                bad.append(f"{where}: reason {reason!r} has no sentence (render/explain_text.py)")
    for where, qs in _question_lists(DOC):
        bad += [f"{where}: question {q!r} has no sentence" for q in qs if q not in words.QUESTION]
    classes = [("unknown_code", DOC["openssl"]["unknown_code"]["error_class"])]
    for t in (*DOC["openssl"]["codes"], *DOC["rustls"]["names"], *DOC["dotnet"]["statuses"]):
        classes.append((str(t.get("code", t.get("name", t.get("status")))), t["error_class"]))
    classes += [(e["id"], e["error_class"]) for e in DOC["errors"] if "id" in e]
    bad += [f"{w}: class {c!r} has no title" for w, c in classes if c not in words.CLASS_TITLE]
    bad += [f"cause set {s!r} is never used" for s in sorted(sets - used_sets)]
    assert not bad, "\n".join(bad)
    # The check sees the data: every kind of place was visited.
    assert len(used_sets) >= 15 and len(list(_cause_lists(DOC))) > 150


def test_generated_entries_and_templates() -> None:
    cat = M.load()
    ids = {e.id for e in cat.errors}
    for c in DOC["openssl"]["codes"]:
        assert {f"openssl.{c['code']}", f"openssl.{c['code']}.macro"} <= ids
    assert {f"rustls.{t['name']}" for t in DOC["rustls"]["names"]} <= ids
    assert {f"dotnet.{t['status']}" for t in DOC["dotnet"]["statuses"]} <= ids
    plain = [e for e in DOC["errors"] if "id" in e]
    generated = 2 * len(DOC["openssl"]["codes"]) + len(DOC["rustls"]["names"])
    assert len(cat.errors) == len(plain) + generated + len(DOC["dotnet"]["statuses"])
    # Placeholders are filled in; cause-set names are resolved to Codes.
    assert all("{url}" not in h.regex for h in cat.hosts)
    assert sum("(?P<url>" in h.regex for h in cat.hosts) >= 4
    hinted = [e for e in cat.errors if "(?P<hint>" in e.regex]
    assert len(hinted) == sum("go_hint" in e for e in plain) >= 4
    assert all(isinstance(c, Code) for e in cat.errors for c, _ in e.causes)
    assert cat.unknown_code.causes == cat.cause_sets["generic-verify"]
    assert cat.openssl_by_code[20].macro == "UNABLE_TO_GET_ISSUER_CERT_LOCALLY"


_LAZY = """
from trustdoctor.explain import catalogue, match, records
assert catalogue.load.cache_info().currsize == 0, "read at import"
assert match._compiled.cache_info().currsize == 0 and records._prefilter.cache_info().currsize == 0
for _ in range(3):
    r = match.explain("x509: certificate signed by unknown authority")
    assert r.matches[0].pattern == "go.unknown-authority"
assert catalogue.load.cache_info().misses == 1
assert match._compiled.cache_info().misses == 1 and records._prefilter.cache_info().misses == 1
# Each pattern is compiled on its first use: one message needs few of them.
comp = match._compiled()
lazies = [lz for _, g in comp.entries for _, lz, _ in (g._items or ())]
lazies += [lz for _, lz in (*comp.wrappers, *comp.hosts)]
used = [lz for lz in lazies if lz._rx is not None]
cat = catalogue.load()
assert 1 <= 3 * len(used) < len(cat.errors) + len(cat.wrappers) + len(cat.hosts), len(used)
print("ok")
"""


def test_loaded_lazily_and_compiled_once() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", _LAZY],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(SRC), "PATH": "/usr/bin:/bin"},
        timeout=60,
    )
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr[-2000:]


def test_missing_data_file_is_one_error() -> None:
    with pytest.raises(TrustDoctorError, match=r"no-such\.json is missing or unreadable"):
        data.read("no-such.json")


@pytest.mark.parametrize(
    "text",
    [
        b"{",  # not JSON
        b"[]",  # not the catalogue
        json.dumps({**DOC, "errors": [{"expand": "nothing"}]}).encode(),
        json.dumps({**DOC, "cause_sets": {}}).encode(),  # a set name that resolves to nothing
        json.dumps(DOC).replace('"untrusted-root"', '"no-such-code"').encode(),
        json.dumps({**DOC, "cause_sets": []}).encode(),  # a list where an object belongs
    ],
    ids=["truncated", "array", "unknown-table", "unknown-set", "unknown-code", "wrong-shape"],
)
def test_broken_data_file_is_one_error(text: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(data, "read", lambda name: text)
    with pytest.raises(TrustDoctorError, match=r"messages\.json is invalid") as got:
        M.load.__wrapped__()
    assert "\n" not in got.value.message
