"""Text view of ``trustdoctor stores``: an inventory per client, or the CA table. Pure."""

from __future__ import annotations

from collections.abc import Mapping

from ..engine.refine import CaCheck
from ..model.findings import Finding, Severity
from ..model.stores import ClientStore, SourceStatus, StoreSource, StoresReport
from .doc import BAD, BOLD, DIM, HEAD, OK, WARN, Doc, Span
from .words import distro_evidence, explained, reason_text

_STATUS_STYLE = {
    SourceStatus.USED: OK,
    SourceStatus.EMPTY: WARN,
    SourceStatus.MISSING: DIM,
    SourceStatus.UNREADABLE: BAD,
    SourceStatus.SKIPPED: DIM,
    SourceStatus.SHADOWED: DIM,
    SourceStatus.IGNORED: DIM,
    SourceStatus.REJECTED: BAD,
    SourceStatus.TRUNCATED: WARN,
}
_SEV_STYLE = {Severity.ERROR: BAD, Severity.WARNING: WARN, Severity.INFO: DIM}

# How to make one client trust a CA (shown when it does not).
ADD_CA: dict[str, str] = {
    "go": "put the CA in the distro anchor directory and rebuild the bundle "
    "(or copy the PEM into /etc/ssl/certs)",
    "openssl": "put the CA in the distro anchor directory (one certificate per .crt file) "
    "and rebuild",
    "curl": "put the CA in the distro anchor directory and rebuild, or set CURL_CA_BUNDLE",
    "python": "put the CA in the distro anchor directory and rebuild, or set SSL_CERT_FILE",
    "requests": "set REQUESTS_CA_BUNDLE to a bundle that holds the CA "
    "(pip's certifi has only Mozilla roots)",
    "node": "set NODE_EXTRA_CA_CERTS=/path/ca.pem (or NODE_OPTIONS=--use-openssl-ca) "
    "and restart the process",
    "java": "keytool -importcert -noprompt -trustcacerts -alias <name> -file ca.pem "
    "-cacerts -storepass changeit",
    "docker": "copy the CA to /etc/docker/certs.d/<host[:port]>/ca.crt (no restart needed)",
    "containerd": "reference the CA from /etc/containerd/certs.d/<host[:port]>/hosts.toml "
    "(ca = ...)",
    "crio": "copy the CA to /etc/containers/certs.d/<host[:port]>/ca.crt",
    "podman": "copy the CA to /etc/containers/certs.d/<host[:port]>/ca.crt",
}


def _p(params: Mapping[str, object], key: str, default: str = "") -> str:
    v = params.get(key)
    if v is None:
        return default
    if isinstance(v, list):
        return ", ".join(str(x) for x in v)
    return str(v)


def _opt(params: Mapping[str, object], key: str, template: str) -> str:
    """``template`` with ``params[key]`` in it when that is set and not empty, else ``""``."""
    return template.format(_p(params, key)) if params.get(key) else ""


def describe_finding(f: Finding) -> str:
    """One sentence for a store finding (English lives here, codes in the model).

    ``reason``/``effect`` codes become their sentences (:func:`words.explained`).
    """
    code = f.code.value
    p = explained(code, f.params)
    if code == "no-trust-store":
        return f"no trust anchors at all: {_p(p, 'reason')}" + _opt(
            p, "install", " — install a CA bundle: {}"
        )
    if code == "stale-bundle":
        return (
            f"{_p(p, 'count')} certificate(s) waiting in {_p(p, 'files')} "
            "are not in the store this client reads"
            + _opt(p, "reason", " ({})")
            + _opt(p, "refresh", " — run: {}")
        )
    if code == "anchor-file-ignored":
        names = _p(p, "names")
        return (
            f"{_p(p, 'path')}{' (' + names + ')' if names else ''} is never used: {_p(p, 'reason')}"
        )
    if code == "env-override":
        return (
            f"{_p(p, 'variables')} hide(s) {_p(p, 'hidden')} root(s) the default store has"
            f" ({_p(p, 'hidden_private')} private)" + _opt(p, "examples", ", e.g. {}")
        )
    if code == "strict-anchor":
        count = p.get("count")
        more = f" (+{count - 5} more)" if isinstance(count, int) and count > 5 else ""
        return (
            f"{_p(p, 'count')} root(s) break the RFC 5280 profile {_p(p, 'client')} enforces "
            f"({_p(p, 'flag')}): {_p(p, 'roots')}{more} — a chain ending at one fails"
        )
    if code == "override-harmless":
        return f"{_p(p, 'variables')} set, but harmless: {_p(p, 'reason')}"
    if code == "empty-bundle":
        return f"{_p(p, 'path')} holds no usable certificate ({_p(p, 'reason')}); {_p(p, 'effect')}"
    if code == "unreadable-file":
        return f"{_p(p, 'path')}: {_p(p, 'reason')}" + _opt(p, "effect", " — {}")
    if code == "daemon-store":
        return f"{_p(p, 'path')}: {_p(p, 'reason')}" + _opt(p, "fix", " — {}")
    if code == "restart-required":
        return (
            f"{_p(p, 'count')} store file(s) changed at {_p(p, 'changed')}, "
            f"after {_p(p, 'process')} "
            f"started ({_p(p, 'started')}): it still uses the old roots"
            + _opt(p, "service", " — run: systemctl restart {}")
        )
    if code == "partial-trust":
        count = p.get("count")
        if isinstance(count, int) and count > 1:
            more = f", +{count - 5} more" if count > 5 else ""
            return (
                f"{count} roots ({_p(p, 'roots')}{more}) are trusted by {_p(p, 'trusted_by')} "
                f"but not by {_p(p, 'not_trusted_by')}"
            )
        return (
            f"{_p(p, 'root')} ({_p(p, 'source')}) is trusted by {_p(p, 'trusted_by')} "
            f"but not by {_p(p, 'not_trusted_by')}"
        )
    if code == "store-limit":
        return (
            f"{_p(p, 'path')}: {_p(p, 'reason')} (trustdoctor's safety limit; the view is partial)"
        )
    return f"{code}: " + ", ".join(f"{k}={_p(p, k)}" for k in p)


def _source_line(doc: Doc, s: StoreSource) -> None:
    count = "" if s.count is None else f"{s.count:>4}"
    doc.line(
        "    ",
        Span(f"{s.status.value:<10}", _STATUS_STYLE.get(s.status)),
        f" {count:>4}  ",
        s.path,
        Span(f"  {s.detail}" if s.detail else "", DIM),
    )


def _findings(doc: Doc, findings: tuple[Finding, ...]) -> None:
    order = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}
    for f in sorted(findings, key=lambda f: order[f.severity]):
        doc.line(
            "    ",
            Span(f"{f.severity.value:<7}", _SEV_STYLE[f.severity]),
            Span(f" {f.code.value}", BOLD),
            f": {describe_finding(f)}",
        )


def _header(doc: Doc, r: StoresReport) -> None:
    doc.line(Span(f"Trust stores in {r.root}", HEAD), f" — {r.distro.label}")
    if r.distro.evidence:
        shown = "; ".join(distro_evidence(e.to_dict()) for e in r.distro.evidence[:3])
        doc.line(Span(f"  detected from: {shown}", DIM))
    env = ", ".join(r.env_keys) if r.env_keys else "no trust-related variables"
    doc.line(Span(f"  environment ({env_origin_words(r)}): {env}", DIM))
    if r.registry:
        doc.line(Span(f"  registry: {r.registry}", DIM))
    doc.blank()


def _client(doc: Doc, s: ClientStore, version: str | None = None) -> None:
    n = len(s.anchors)
    doc.line(
        Span(s.client, BOLD),
        " — ",
        Span(f"{n} anchor{'s' if n != 1 else ''}", OK if n else BAD),
        Span(f"  (model: {s.client} {version})" if version else "", DIM),
    )
    if s.runtime is not None and s.runtime.get("links"):
        r = s.runtime
        doc.line(Span("    runtime  ", DIM), f"{r.get('binary')} links {r.get('links')}")
    elif s.runtime is not None:
        r = s.runtime
        linking = "static" if r.get("static") else "dynamic"
        flag = r.get("cgo")
        cgo = "cgo" if flag is True else ("no cgo" if flag is False else "cgo unknown")
        doc.line(
            Span("    runtime  ", DIM),
            f"{r.get('go')} ({r.get('main') or r.get('binary')}), {cgo}, {linking}",
        )
    if s.load_error:
        doc.line("    ", Span("error", BAD), f"  {s.load_error}")
    for src in s.sources:
        _source_line(doc, src)
    if s.default_anchors is not None:
        doc.line(Span(f"    without the overrides: {len(s.default_anchors)} anchors", DIM))
    _findings(doc, s.findings)
    doc.blank()


# Where the client's environment came from (StoreContext.env_origin codes).
ENV_ORIGIN: dict[str, str] = {
    "process": "the process's",
    "image": "the image config's",
    "tool": "the tool's own",
    "empty": "empty",
    "given": "given",
}


def env_origin_words(r: StoresReport) -> str:
    words = ENV_ORIGIN.get(r.env_origin, r.env_origin)
    if r.env_given and r.env_origin in ("process", "image"):
        words += ", with --env values"
    return words


def render_stores(r: StoresReport) -> Doc:
    """The inventory (no ``--ca``) or the compliance table (with ``--ca``/``--fingerprint``)."""
    doc = Doc()
    _header(doc, r)
    if not r.checks:
        for s in r.stores:
            _client(doc, s, r.versions.get(s.client))
        return doc
    for checks in r.checks:
        if not checks:
            continue
        first = checks[0]
        doc.line(Span(f"CA {first.name}", HEAD), Span(f"  sha256 {first.fingerprint}", DIM))
        for c in checks:
            _check_line(doc, c)
        doc.blank()
    refusing = list(dict.fromkeys(c.client for checks in r.checks for c in checks if not c.trusted))
    if refusing:
        doc.line(Span("not trusted by: ", BAD), ", ".join(refusing))
    else:
        doc.line(Span("trusted by every selected client", OK))
    return doc


def _check_line(doc: Doc, c: CaCheck) -> None:
    mark = Span("✓", OK) if c.trusted else Span("✗", BAD)
    where = f"  {c.source}" if c.source else ""
    doc.line(
        "  ", mark, f" {c.client:<11}", Span(f"{c.reason:<20}", OK if c.trusted else BAD), where
    )
    detail = (reason_text(c.reason, c.params) if c.params else None) or c.detail
    if detail:
        prefix = "run: " if c.reason == "stale-bundle" else ""
        doc.line(Span(f"      {prefix}{detail}", DIM))
    if not c.trusted and c.reason == "not-present" and c.client in ADD_CA:
        doc.line(Span(f"      to add it: {ADD_CA[c.client]}", DIM))
