"""Metric families: the one renderer behind ``/metrics``, ``/probe`` and
``stores --format prometheus`` (docs/exporter.md lists every family).

Pure: it turns API results into :class:`Family` records (name, type, help,
samples); the exporter and the textfile writer hand them to prometheus-client
for the exposition format.  Names follow Prometheus' naming practice: one
``trustdoctor_`` prefix, base units (seconds), ``_timestamp_seconds`` for
points in time, ``_info`` gauges of value 1 carrying labels.  Every label
value is bounded: client names, cause codes, store paths, registry names and
fingerprints of the CAs the operator asked about — never a free-form message.

A failure never removes a series: a client that does not trust an expected
CA reports ``0`` with the reason in ``cause``; a probe that cannot connect
reports every client ``0`` with the connection error as ``cause``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from ..model.findings import Code
from ..model.record import field, record

if TYPE_CHECKING:
    from ..api.endpoint import EndpointReport
    from ..api.stores import StoresAnswer
    from ..model.stores import ClientStore

PREFIX = "trustdoctor_"

Labels = tuple[tuple[str, str], ...]


@record
class Sample:
    """One sample of a metric family: its labels and value."""

    labels: Labels
    value: float


@record
class Family:
    """One metric family: ``kind`` is ``gauge`` or ``counter`` (``_info`` families are gauges)."""

    name: str
    kind: str
    help: str
    label_names: tuple[str, ...] = ()
    samples: list[Sample] = field(default_factory=list)

    def add(self, value: float, **labels: object) -> None:
        self.samples.append(
            Sample(tuple((k, _value(labels.get(k))) for k in self.label_names), float(value))
        )


def _value(v: object) -> str:
    if v is None:
        return ""
    text = str(v)
    # Bounded: a label value is an identifier, never a paragraph.
    return text if len(text) <= 256 else text[:253] + "..."


def _ts(when: dt.datetime) -> float:
    return when.timestamp()


# -- the node (``/metrics``, ``stores --format prometheus``) ------------------------------

# Findings reported as series: the store problems an operator acts on.
NODE_FINDINGS: frozenset[Code] = frozenset(
    {
        Code.NO_TRUST_STORE,
        Code.STALE_BUNDLE,
        Code.ENV_OVERRIDE,
        Code.DAEMON_STORE,
        Code.RESTART_REQUIRED,
        Code.ANCHOR_FILE_IGNORED,
        Code.PARTIAL_TRUST,
        Code.STRICT_ANCHOR,
        Code.UNREADABLE_FILE,
        Code.EMPTY_BUNDLE,
        Code.STORE_LIMIT,
        Code.TRUSTED_BLOCK_IGNORED,
    }
)


@record
class Where:
    """Whose stores an answer describes: the node, a registry's daemons, or a process."""

    registry: str = ""
    process: str = ""
    pid: str = ""


def store_label(s: ClientStore) -> str:
    """The store a client reads: its first source that gave anchors (``bundled`` for
    compiled-in roots, ``""``: none)."""
    for src in s.sources:
        if src.status.value == "used" and src.count:
            return src.path
    return ""


WHERE = ("registry", "process", "pid")


def node_families(
    answers: Sequence[tuple[Where, StoresAnswer]],
    *,
    at: dt.datetime,
    version: str,
    python: str = "",
) -> list[Family]:
    """The node's families from one or more store answers (the node's own first).

    ``at`` is when the answers were made (``trustdoctor_inspection_timestamp_seconds``).
    """
    build = Family(
        PREFIX + "build_info",
        "gauge",
        "trustdoctor's version (value 1).",
        ("version", "python_version"),
    )
    build.add(1, version=version, python_version=python)
    info = Family(
        PREFIX + "stores_info",
        "gauge",
        "The root inspected and its distribution (value 1).",
        ("root", "distro", "distro_version"),
    )
    when = Family(
        PREFIX + "inspection_timestamp_seconds",
        "gauge",
        "When the trust stores were last inspected (Unix time).",
    )
    when.add(_ts(at))
    anchors = Family(
        PREFIX + "client_anchors",
        "gauge",
        "Anchors (trusted roots) each client ends up with.",
        ("client", "store", *WHERE),
    )
    trusted = Family(
        PREFIX + "ca_trusted",
        "gauge",
        "1 when the client trusts the expected CA, else 0; cause says why (present, "
        "equivalent, stale-bundle, env-override, no-trust-store, daemon-store, "
        "anchor-file-ignored, not-present).",
        ("client", "store", "fingerprint_sha256", "ca", "cause", *WHERE),
    )
    findings = Family(
        PREFIX + "store_finding",
        "gauge",
        "A store problem (value 1): cause is the finding code, reason its sub-code.",
        ("cause", "client", "store", "fingerprint_sha256", "reason", "severity", *WHERE),
    )
    expiry = Family(
        PREFIX + "expected_ca_not_after_timestamp_seconds",
        "gauge",
        "When each expected CA certificate expires (Unix time).",
        ("fingerprint_sha256", "ca"),
    )
    earliest = Family(
        PREFIX + "expected_ca_earliest_not_after_timestamp_seconds",
        "gauge",
        "The earliest expiry among the expected CA certificates (Unix time).",
    )
    seen_info = False
    seen_cas: set[str] = set()
    for where, ans in answers:
        r = ans.report
        w = {"registry": where.registry, "process": where.process, "pid": where.pid}
        if not seen_info:
            info.add(1, root=r.root, distro=r.distro.family, distro_version=r.distro.version_id)
            seen_info = True
        labels = {s.client: store_label(s) for s in r.stores}
        for s in r.stores:
            anchors.add(len(s.anchors), client=s.client, store=labels[s.client], **w)
            for f in s.findings:
                if f.code not in NODE_FINDINGS:
                    continue
                reason = f.params.get("reason")
                base = {
                    "cause": f.code.value,
                    "client": s.client,
                    "store": labels[s.client],
                    "reason": reason if isinstance(reason, str) else "",
                    "severity": f.severity.value,
                    **w,
                }
                if f.code == Code.RESTART_REQUIRED and not where.process:
                    base["process"] = str(f.params.get("process") or "")
                fps = f.certs if f.code in (Code.STALE_BUNDLE, Code.ANCHOR_FILE_IGNORED) else ()
                for fp in fps or ("",):
                    findings.add(1, fingerprint_sha256=fp, **base)
        for checks in r.checks:
            for c in checks:
                trusted.add(
                    1 if c.trusted else 0,
                    client=c.client,
                    store=labels.get(c.client, ""),
                    fingerprint_sha256=c.fingerprint,
                    ca=c.name,
                    cause=c.reason,
                    **w,
                )
        for ca in ans.cas:
            if ca.sha256 not in seen_cas:
                seen_cas.add(ca.sha256)
                expiry.add(_ts(ca.not_after), fingerprint_sha256=ca.sha256, ca=ca.display_name)
    if expiry.samples:
        earliest.add(min(s.value for s in expiry.samples))
    return [build, info, when, anchors, trusted, findings, expiry, earliest]


# -- one endpoint (``/probe``) ---------------------------------------------------------------

CHAIN_ISSUES: Mapping[str, Code] = {
    "incomplete": Code.MISSING_INTERMEDIATE,
    "root-sent": Code.ROOT_SENT,
    "extra-certificates": Code.EXTRA_CERTIFICATE,
    "wrong-order": Code.WRONG_ORDER,
    "duplicate-certificates": Code.DUPLICATE_CERTIFICATE,
}


def probe_families(
    report: EndpointReport | None,
    *,
    clients: Sequence[str],
    duration: float,
    error: tuple[str, str] | None = None,
) -> list[Family]:
    """The families of one ``/probe``: every client's verdict, the chain, the handshake.

    Args:
        report: the endpoint's answer (``None`` when the probe did not run:
            ``error`` says why).
        clients: the clients asked about, so each has a series even when the
            target could not be reached.
        duration: the probe's wall time in seconds.
        error: ``(cause, side)`` when the probe could not run (``timeout``,
            ``unreachable``...); a report's own connection error wins.
    """
    success = Family(
        PREFIX + "probe_success",
        "gauge",
        "1 when every client asked about trusts the endpoint's chain, else 0.",
    )
    took = Family(
        PREFIX + "probe_duration_seconds", "gauge", "How long the probe took, in seconds."
    )
    took.add(duration)
    per_client = Family(
        PREFIX + "probe_client_trusted",
        "gauge",
        "1 when the client trusts the endpoint, else 0; cause is the reason code, side who "
        "must act (server, client, network).",
        ("client", "cause", "side"),
    )
    issues = Family(
        PREFIX + "probe_chain_issue",
        "gauge",
        "1 when the served chain has the issue (incomplete, root-sent, extra-certificates, "
        "wrong-order, duplicate-certificates), else 0.",
        ("issue",),
    )
    expiry = Family(
        PREFIX + "probe_chain_earliest_not_after_timestamp_seconds",
        "gauge",
        "The earliest expiry among the certificates the endpoint presented (Unix time).",
    )
    leaf = Family(
        PREFIX + "probe_leaf_info",
        "gauge",
        "The leaf certificate presented (value 1).",
        ("fingerprint_sha256", "subject", "issuer"),
    )
    tls = Family(
        PREFIX + "probe_tls_version_info",
        "gauge",
        "The TLS version negotiated (value 1).",
        ("version",),
    )
    presented = Family(
        PREFIX + "probe_chain_certificates",
        "gauge",
        "How many certificates the endpoint presented.",
    )
    diag = report.diagnosis if report is not None else None
    if diag is None:
        cause, side = error or ("handshake-failed", "network")
        if report is not None and report.error is not None:
            cause, side = report.error.code, "network"
        for c in clients:
            per_client.add(0, client=c, cause=cause, side=side)
        success.add(0)
        return [success, took, per_client]
    for v in diag.clients:
        per_client.add(
            1 if v.trusted else 0,
            client=v.client,
            cause=v.cause.value,
            side=v.side.value if not v.trusted else "none",
        )
    success.add(1 if diag.verdict.trusted else 0)
    codes = {f.code for f in diag.findings}
    codes |= {v.cause for v in diag.clients}
    for issue, code in CHAIN_ISSUES.items():
        issues.add(1 if code in codes else 0, issue=issue)
    certs = [p.cert for p in diag.presented]
    if certs:
        expiry.add(min(_ts(c.not_after) for c in certs))
    presented.add(len(certs))
    leaf.add(1, fingerprint_sha256=diag.leaf.sha256, subject=diag.leaf.subject,
             issuer=diag.leaf.issuer)  # fmt: skip
    assert report is not None
    addr = next((r for r in report.results if r.address == report.address), None)
    version = addr.fetch.tls_version if addr is not None and addr.fetch is not None else None
    if version:
        tls.add(1, version=version)
    return [success, took, per_client, issues, expiry, presented, leaf, tls]
