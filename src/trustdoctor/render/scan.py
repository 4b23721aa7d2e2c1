"""Views of a scan (pure): a line per target, CSV rows, JUnit test cases, and
the summary (grouped by cause, side and client; de-duplicated fix plans).

Per-target CSV rows and JUnit cases are flattenings of the very document
``diagnose --format json`` prints for that target (``ScanResult.document()``),
so every format says the same thing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from . import doc as d
from .doc import Doc, Span
from .json import SCHEMA_VERSION

if TYPE_CHECKING:
    from collections import OrderedDict

    from ..api.endpoint import EndpointReport
    from ..api.scan import ScanSummary
    from ..fixes.model import Plan
    from ..sources.targetlist import InputProblem

# Plans shown under the text summary, per kind (the JSON summary has them all).
TEXT_PLANS = 5

# -- one line per target (text) ------------------------------------------------------------


def result_line(r: EndpointReport) -> Doc:
    """``✓``/``✗``/``!``, the target, the verdict and who refuses."""
    doc = Doc()
    name = r.target.label
    if r.diagnosis is None:
        from .endpoint import ERROR_HEADLINE, error_side

        err = r.error
        code = err.code if err is not None else "handshake-failed"
        message = err.message if err is not None else "no certificate presented"
        doc.line(
            Span("! ", d.WARN),
            Span(name, d.BOLD),
            f"  {code} ({error_side(code).value} side): {ERROR_HEADLINE.get(code, code)} — ",
            Span(message, d.DIM),
        )
        return doc
    v = r.diagnosis.verdict
    if v.trusted:
        doc.line(
            Span("✓ ", d.OK),
            Span(name, d.BOLD),
            "  trusted",
            Span(f" — {', '.join(v.clients_trusting)}", d.DIM),
        )
        return doc
    sides = ", ".join(s.value for s in v.sides) or v.side.value
    doc.line(
        Span("✗ ", d.BAD),
        Span(name, d.BOLD),
        "  ",
        Span(v.cause.value, d.BAD),
        f" ({sides} side) — refused by {', '.join(v.clients_refusing)}",
        Span(f"; leaf {r.diagnosis.leaf.display_name!r}", d.DIM),
    )
    return doc


def problem_line(p: InputProblem) -> str:
    return p.message


# -- CSV ---------------------------------------------------------------------------------------

CSV_COLUMNS: tuple[str, ...] = (
    "target",
    "host",
    "port",
    "servername",
    "address",
    "trusted",
    "cause",
    "side",
    "sides",
    "confidence",
    "clients_refusing",
    "clients_trusting",
    "tls_version",
    "leaf_sha256",
    "leaf_subject",
    "leaf_not_after",
    "error",
    "elapsed_ms",
)

# A cell a spreadsheet would run as a formula (OWASP "CSV injection").
_FORMULA = re.compile(r"^[=+\-@\t\r]")


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    return "'" + text if _FORMULA.match(text) else text


def csv_row(doc: Mapping[str, Any]) -> list[str]:
    """One row (:data:`CSV_COLUMNS`) from a target's ``diagnose`` document."""
    t = doc.get("target") or {}
    v = doc.get("verdict") or {}
    tls = doc.get("tls") or {}
    leaf_fp = doc.get("leaf")
    leaf = (doc.get("certificates") or {}).get(leaf_fp) or {}
    addrs = doc.get("addresses") or [{}]
    err = doc.get("error") or {}
    values: dict[str, object] = {
        "target": t.get("display"),
        "host": t.get("host"),
        "port": t.get("port"),
        "servername": t.get("servername"),
        "address": t.get("address") or t.get("connect"),
        "trusted": bool(v.get("trusted")),
        "cause": v.get("cause"),
        "side": v.get("side"),
        "sides": " ".join(v.get("sides") or ()),
        "confidence": v.get("confidence"),
        "clients_refusing": " ".join(v.get("clients_refusing") or ()),
        "clients_trusting": " ".join(v.get("clients_trusting") or ()),
        "tls_version": tls.get("version"),
        "leaf_sha256": leaf_fp,
        "leaf_subject": leaf.get("subject"),
        "leaf_not_after": leaf.get("not_after"),
        "error": err.get("message"),
        "elapsed_ms": addrs[0].get("elapsed_ms") if addrs else None,
    }
    return [_cell(values[c]) for c in CSV_COLUMNS]


# -- JUnit XML ---------------------------------------------------------------------------------

# Characters XML 1.0 cannot carry at all (§2.2): dropped.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _x(text: object) -> str:
    # (xml.sax.saxutils imports urllib.request, http.client and email: ~25 ms
    # a scan in another format need not pay; imported once, then cached.)
    from xml.sax.saxutils import escape

    return escape(_NOT_XML.sub("", str(text)))


def _attr(text: object) -> str:
    from xml.sax.saxutils import quoteattr

    return quoteattr(_NOT_XML.sub("", str(text)))


def junit_case(doc: Mapping[str, Any]) -> str:
    """One ``<testcase>``: a failure when some client refuses the chain, an
    error when nothing could be judged."""
    t = doc.get("target") or {}
    v = doc.get("verdict") or {}
    addrs = doc.get("addresses") or [{}]
    ms = addrs[0].get("elapsed_ms") if addrs else None
    seconds = f"{(ms or 0) / 1000:.3f}"
    from ..model.target import target_label

    label = target_label(str(t.get("display")), str(t.get("host")), t.get("servername"))
    head = f'    <testcase classname="trustdoctor.scan" name={_attr(label)} time="{seconds}"'
    if v.get("trusted"):
        return head + "/>\n"
    err = doc.get("error")
    if err:
        said = f"{err.get('side')} side: {err.get('message')}"
        return (
            head + ">\n"
            f"      <error type={_attr(err.get('code'))} message={_attr(said)}/>\n"
            "    </testcase>\n"
        )
    refusing = ", ".join(v.get("clients_refusing") or ())
    sides = ", ".join(v.get("sides") or ()) or v.get("side")
    message = f"not trusted: {v.get('cause')} ({sides} side) — refused by {refusing}"
    lines = [message]
    for c in doc.get("clients") or ():
        if not c.get("trusted"):
            lines.append(f"{c.get('client')}: {c.get('cause')}: {c.get('client_error') or ''}")
    return (
        head + ">\n"
        f"      <failure type={_attr(v.get('cause'))} message={_attr(message)}>"
        f"{_x(chr(10).join(lines))}</failure>\n"
        "    </testcase>\n"
    )


def junit_problem(p: InputProblem) -> str:
    """An input line that was not scanned: a skipped test case."""
    name = f"{p.source}:{p.line}" if p.line is not None else p.source
    return (
        f'    <testcase classname="trustdoctor.scan.input" name={_attr(name)} time="0">\n'
        f"      <skipped message={_attr(p.message)}/>\n"
        "    </testcase>\n"
    )


def junit_head(tests: int, failures: int, errors: int, skipped: int, seconds: float,
               timestamp: str) -> str:  # fmt: skip
    counts = (
        f'tests="{tests}" failures="{failures}" errors="{errors}" skipped="{skipped}" '
        f'time="{seconds:.3f}"'
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<testsuites name="trustdoctor scan" {counts}>\n'
        f'  <testsuite name="trustdoctor scan" {counts} timestamp={_attr(timestamp)}>\n'
    )


def junit_tail(summary: ScanSummary) -> str:
    text = "\n".join(line_text(line) for line in render_summary(summary).lines)
    return f"    <system-out>{_x(text)}</system-out>\n  </testsuite>\n</testsuites>\n"


def line_text(line: Sequence[Span]) -> str:
    return "".join(s.text for s in line).rstrip()


# -- the summary -------------------------------------------------------------------------------


def summary_to_dict(s: ScanSummary) -> dict[str, Any]:
    """``kind: scan-summary`` (docs/scan.md, "Summary")."""
    from .plan_json import plan_to_dict

    return {
        "schema_version": SCHEMA_VERSION,
        "kind": "scan-summary",
        "scanned": s.scanned,
        "trusted": s.trusted,
        "not_trusted": s.not_trusted,
        "failed": s.failed,
        "problems": dict(s.problems),
        "stopped": s.stopped,
        "exit_code": s.exit_code,
        "at": s.at.isoformat(),
        "elapsed_s": s.elapsed_s,
        "rate": round(s.rate, 1),
        "chains_judged": s.chains_judged,
        "groups": [
            {
                "cause": g.cause,
                "side": g.side,
                "client": g.client,
                "count": g.count,
                "examples": list(g.examples),
            }
            for g in s.groups
        ],
        "server_fixes": [
            {
                "chain": list(f.chain),
                "leaf": f.leaf,
                "causes": list(f.causes),
                "count": f.count,
                "examples": list(f.examples),
                "plan": plan_to_dict(f.plan),
            }
            for f in s.server_fixes
        ],
        "more_chains": s.more_chains,
        "client_fixes": [
            {
                "root": f.root,
                "sha256": f.sha256,
                "causes": list(f.causes),
                "clients": list(f.clients),
                "count": f.count,
                "examples": list(f.examples),
                "plan": plan_to_dict(f.plan),
            }
            for f in s.client_fixes
        ],
        "more_roots": s.more_roots,
    }


_STOPPED = {
    "deadline": "the --deadline ended the scan: targets after it were not scanned",
    "interrupted": "interrupted: the summary covers the targets finished so far",
    "strict": "stopped at a bad input line (--strict)",
}


def _n(x: int) -> str:
    return f"{x:,}"


def render_summary(s: ScanSummary) -> Doc:
    """The summary table and the de-duplicated plans, for people."""
    from .plan_text import render_plan

    doc = Doc()
    head = (
        f"Scanned {_n(s.scanned)} target(s) in {s.elapsed_s:.2f} s ({s.rate:,.0f}/s): "
        f"{_n(s.trusted)} trusted, {_n(s.not_trusted)} not trusted, "
        f"{_n(s.failed)} could not be diagnosed"
    )
    style = d.OK if s.scanned and s.trusted == s.scanned else d.BAD
    doc.line(Span(head, style))
    extra = [f"{_n(s.chains_judged)} distinct chain(s) judged, judged at {s.at:%Y-%m-%d %H:%M} UTC"]
    if s.problems:
        total = sum(s.problems.values())
        kinds = ", ".join(f"{_n(n)} {k}" for k, n in sorted(s.problems.items()))
        extra.append(f"{_n(total)} input line(s) skipped ({kinds})")
    for e in extra:
        doc.line(Span(f"  {e}", d.DIM))
    if s.stopped:
        doc.line(Span(f"  {_STOPPED.get(s.stopped, s.stopped)}", d.WARN))
    if s.groups:
        doc.blank()
        doc.line(Span("By cause, side and client", d.HEAD))
        width = max(len(g.cause) for g in s.groups)
        cw = max(len(g.client or "(all)") for g in s.groups)
        doc.line(
            Span(
                f"  {'targets':>8}  {'cause':<{width}}  {'side':<8}  {'client':<{cw}}  examples",
                d.DIM,
            )
        )
        for g in s.groups:
            doc.line(
                f"  {_n(g.count):>8}  ",
                Span(f"{g.cause:<{width}}", d.BAD if g.client else d.WARN),
                f"  {g.side:<8}  {g.client or '(all)':<{cw}}  ",
                Span(", ".join(g.examples) + (", …" if g.count > len(g.examples) else ""), d.DIM),
            )
    if s.server_fixes:
        doc.blank()
        doc.line(
            Span(f"Server fixes — one per distinct presented chain ({len(s.server_fixes)})", d.HEAD)
        )
        for f in s.server_fixes[:TEXT_PLANS]:
            doc.blank()
            doc.line(
                Span("• ", d.BOLD),
                f"{_n(f.count)} target(s) serve the chain of {f.leaf!r} "
                f"(leaf sha256 {f.chain[0][:16]}): {', '.join(f.causes)}",
            )
            doc.line(Span(f"  e.g. {', '.join(f.examples)}", d.DIM))
            _indent(doc, render_plan(f.plan))
    more = max(0, len(s.server_fixes) - TEXT_PLANS) + s.more_chains
    if more:
        doc.line(Span(f"  … and {_n(more)} more chain(s): see --format json", d.DIM))
    if s.client_fixes:
        doc.blank()
        doc.line(Span(f"Client fixes — one per missing root ({len(s.client_fixes)})", d.HEAD))
        for c in s.client_fixes[:TEXT_PLANS]:
            doc.blank()
            fp = f" (sha256 {c.sha256[:16]})" if c.sha256 else ""
            doc.line(
                Span("• ", d.BOLD),
                f"{c.root!r}{fp} for {', '.join(c.clients)}: {_n(c.count)} target(s), "
                f"{', '.join(c.causes)}",
            )
            doc.line(Span(f"  e.g. {', '.join(c.examples)}", d.DIM))
            _indent(doc, render_plan(c.plan))
    more = max(0, len(s.client_fixes) - TEXT_PLANS) + s.more_roots
    if more:
        doc.line(Span(f"  … and {_n(more)} more root(s): see --format json", d.DIM))
    return doc


def _indent(doc: Doc, inner: Doc, by: str = "    ") -> None:
    for line in inner.lines:
        doc.lines.append([Span(by), *line] if line else [])


# ``json.dumps(v, separators=(",", ":"), default=str)``, without building an
# encoder per call (json.dumps makes one for any non-default argument: a scan
# line took eight).  No circular check: documents are trees of fresh dicts and
# lists (a cycle would be a bug, and raise RecursionError instead of ValueError).
_ENCODER = json.JSONEncoder(separators=(",", ":"), default=str, check_circular=False)
_value = _ENCODER.encode


def dumps_line(data: Mapping[str, Any]) -> str:
    """One JSON line (``--format jsonl``)."""
    return _value(data) + "\n"


def _members(items: Sequence[tuple[str, object]]) -> str:
    """The members of a JSON object, without its braces (``""`` for none):
    the object's own text, which the encoder writes in one call."""
    return _value(dict(items))[1:-1]


def _around(doc: Mapping[str, Any], key: str) -> tuple[str, str]:
    """The members of ``doc`` before and after ``key``, as JSON text."""
    items = list(doc.items())
    i = [k for k, _ in items].index(key)
    return _members(items[:i]), _members(items[i + 1 :])


def _object(parts: Sequence[str]) -> str:
    """A JSON object from member texts (empty ones left out)."""
    return "{" + ",".join(p for p in parts if p) + "}"


def shared_fragments(shared: Mapping[str, Any]) -> tuple[str, str]:
    """The JSON text of a shared diagnosis document (``diagnosis_to_dict``) before
    and after ``presented_chain``, the one member that differs per target."""
    return _around(shared, "presented_chain")


def json_text(data: object) -> str:
    """Compact JSON text, as :func:`dumps_line` writes values."""
    return _value(data)


# Steps whose JSON text a memo keeps (per judged chain: see plan_json_text).
STEP_MEMO = 256


def plan_json_text(plan: Plan, memo: OrderedDict[tuple[object, ...], str]) -> str:
    """:func:`json_text` of ``plan_to_dict(plan)``, each step's text taken from
    ``memo`` when an equal step was rendered before under the same root and
    privileges (then the text is the same: render/plan_text.py reads nothing
    else of the plan for a step).  A scan's targets refused for one chain
    share their client steps, and their server steps but for the few naming
    the endpoint; the plan's other members (its notes' text...) likewise.
    ``memo`` keeps the :data:`STEP_MEMO` most recently used."""
    from .plan_json import plan_to_dict, step_to_dict

    as_root = bool(plan.context and plan.context.as_root)
    steps = []
    for s in plan.steps:
        key = (s.text_key(), plan.root, as_root)
        text = memo.get(key)
        if text is None:
            text = memo[key] = _value(step_to_dict(plan, s))
            if len(memo) > STEP_MEMO:
                memo.popitem(last=False)
        else:
            memo.move_to_end(key)
        steps.append(text)
    # The members around the steps, the notes' English among them, are the same
    # for the chain's targets too (what plan_to_dict reads of the plan but steps).
    around_key = ("plan", plan.cause, plan.side, plan.clients, plan.platform, plan.root, plan.ca,
           plan.empty, tuple(n.text_key() for n in plan.notes))  # fmt: skip
    around = memo.get(around_key)
    if around is None:
        head, tail = _around(plan_to_dict(plan, steps=False), "steps")
        around = memo[around_key] = f"{head}\0{tail}"  # (JSON text has no NUL: escaped)
        if len(memo) > STEP_MEMO:
            memo.popitem(last=False)
    else:
        memo.move_to_end(around_key)
    head, _, tail = around.partition("\0")
    return _object([head, f'"steps":[{",".join(steps)}]', tail])


def document_line(
    report: EndpointReport, fragments: tuple[str, str], *, plan_text: str | None = None
) -> str:
    """:func:`dumps_line` of ``endpoint_to_dict(report, shared=...)``, with the
    shared part's text serialised once per judged chain (``fragments`` from
    :func:`shared_fragments`) and, when given, the plan's (``plan_text``, the
    :func:`json_text` of its document): JSON text is built member by member,
    so the concatenation is the very text ``json.dumps`` gives for the whole."""
    from .endpoint import endpoint_extra
    from .json import presented_to_list

    assert report.diagnosis is not None
    head, tail = fragments
    extra = endpoint_extra(report, plan={} if plan_text is not None else None)
    if plan_text is not None:
        del extra["plan"]
    parts = [head, _members([("presented_chain", presented_to_list(report.diagnosis.presented))])]
    parts += [tail, _members(list(extra.items()))]
    if plan_text is not None:
        parts.append(f'"plan":{plan_text}')
    return _object(parts) + "\n"
