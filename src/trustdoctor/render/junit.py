"""JUnit XML for CI test reports: ``stores --ca root.pem --format junit``.

One test case per client, failed when the client does not trust every CA
asked about, with the cause codes (``stale-bundle``, ``no-trust-store``...)
in the failure message; GitHub Actions and GitLab CI show them per client
(docs/ci.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..api.stores import StoresAnswer


def junit(answer: StoresAnswer, *, suite: str = "trustdoctor stores") -> str:
    """A JUnit XML report of ``stores --ca``: one test case per client, failed when it
    does not trust every CA asked about (CI test reports)."""
    from xml.sax.saxutils import escape, quoteattr

    r = answer.report
    cases: list[str] = []
    failures = 0
    skipped = 0
    for s in r.stores:
        mine = [c for checks in r.checks for c in checks if c.client == s.client]
        bad = [c for c in mine if not c.trusted]
        body = ""
        if bad:
            failures += 1
            msg = "; ".join(f"{c.name} ({c.fingerprint[:16]}): {c.reason}" for c in bad)
            detail = "\n".join(
                f"{c.name} sha256={c.fingerprint} cause={c.reason}"
                + (f" source={c.source}" if c.source else "")
                + (f" detail={c.detail}" if c.detail else "")
                for c in bad
            )
            body = (
                f'<failure message={quoteattr(msg)} type="untrusted">{escape(detail)}</failure>'
            )
        elif not mine:
            skipped += 1
            body = '<skipped message="no CA asked about (--ca/--fingerprint)"/>'
        cases.append(
            f"    <testcase classname={quoteattr(f'{suite}.{r.root}')} "
            f"name={quoteattr(s.client)} time=\"0\">{body}</testcase>"
        )
    head = (
        f'<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<testsuites>\n  <testsuite name={quoteattr(suite)} tests=\"{len(cases)}\" "
        f'failures="{failures}" errors="0" skipped="{skipped}">\n'
    )
    return head + "\n".join(cases) + "\n  </testsuite>\n</testsuites>\n"
