"""Client-side explanations for "no path to an anchor", and the ``--ca`` compliance check.

Both are pure: they compare certificates with a :class:`ClientStore` already built.

The engine says *that* a client found no path (``untrusted-root``,
``missing-intermediate``, ``self-signed-leaf``); the store says *why the
client lacks the anchor*, and the most specific reason wins:

1. ``no-trust-store`` — the client has no anchors at all (the slim image);
2. ``stale-bundle`` — the missing issuer sits in an anchor directory but the
   compiled store was not rebuilt (or not rehashed);
3. ``anchor-file-ignored`` — it sits there under a name/format the update tool
   never takes;
4. ``env-override`` — the client's default store has it; an environment
   variable replaced that store;
5. ``daemon-store`` — a per-registry directory exists but cannot match.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from ..model.anchors import Anchor
from ..model.causes import CODE_SIDE, NO_PATH
from ..model.cert import CertInfo, verify_signature
from ..model.diagnosis import ClientVerdict
from ..model.findings import Code, Confidence, Finding, Severity, Side
from ..model.record import field, record, replace
from ..model.stores import ClientStore
from .clienterrors import GO_UNKNOWN_AUTHORITY
from .policies import policy_for


def issues(candidate: CertInfo, top: CertInfo) -> bool:
    """Would ``candidate`` be the anchor that completes a path ending at ``top``?

    ``top`` itself when it is self-issued (the untrusted root a server sent),
    else an issuer of ``top``: same name (and matching key identifier when
    both are present) whose key verifies ``top``'s signature.
    """
    if top.self_issued:
        return candidate.sha256 == top.sha256 or (
            candidate.subject_der == top.subject_der and candidate.spki_sha256 == top.spki_sha256
        )
    if candidate.subject_der != top.issuer_der:
        return False
    if top.aki is not None and candidate.ski is not None and top.aki != candidate.ski:
        return False
    return verify_signature(top, candidate) is None


def _match(anchors: tuple[Anchor, ...], top: CertInfo) -> Anchor | None:
    return next((a for a in anchors if issues(a.cert, top)), None)


def _daemon_store_error(store: ClientStore) -> Finding | None:
    return next(
        (f for f in store.findings if f.code == Code.DAEMON_STORE and f.severity == Severity.ERROR),
        None,
    )


def _file_finding(store: ClientStore, code: Code, path: str) -> Mapping[str, object]:
    """The params of ``store``'s ``code`` finding about ``path`` (its reason's values)."""
    f = next((f for f in store.findings if f.code == code and f.params.get("path") == path), None)
    return f.params if f is not None else {}


def explain_missing(top: CertInfo, store: ClientStore) -> tuple[Code, Finding] | None:
    """The most specific store reason why ``store`` lacks the anchor for ``top``."""
    client = store.client
    if len(store.anchors) == 0:
        existing = next((f for f in store.findings if f.code == Code.NO_TRUST_STORE), None)
        return Code.NO_TRUST_STORE, existing or Finding(
            Code.NO_TRUST_STORE,
            Severity.ERROR,
            Side.CLIENT,
            {"client": client, "reason": "load-error", "load_error": store.load_error}
            if store.load_error
            else {"client": client, "reason": "no-anchors"},
        )
    hit = _match(store.pending, top)
    if hit is not None:
        return Code.STALE_BUNDLE, Finding(
            Code.STALE_BUNDLE,
            Severity.ERROR,
            Side.CLIENT,
            {
                "client": client,
                "path": hit.provenance.source,
                "root": hit.cert.display_name,
                "refresh": store.refresh_command,
            },
            (hit.cert.sha256,),
        )
    hit = _match(store.ignored, top)
    if hit is not None:
        return Code.ANCHOR_FILE_IGNORED, Finding(
            Code.ANCHOR_FILE_IGNORED,
            Severity.ERROR,
            Side.CLIENT,
            {
                **_file_finding(store, Code.ANCHOR_FILE_IGNORED, hit.provenance.source),
                "client": client,
                "path": hit.provenance.source,
                "root": hit.cert.display_name,
                "reason": hit.provenance.detail,
            },
            (hit.cert.sha256,),
        )
    if store.default_anchors is not None:
        hit = _match(store.default_anchors.anchors, top)
        if hit is not None:
            override = next((f for f in store.findings if f.code == Code.ENV_OVERRIDE), None)
            variables = override.params.get("variables") if override else None
            return Code.ENV_OVERRIDE, Finding(
                Code.ENV_OVERRIDE,
                Severity.ERROR,
                Side.CLIENT,
                {
                    "client": client,
                    "root": hit.cert.display_name,
                    "default_source": hit.provenance.source,
                    "variables": variables,
                },
                (hit.cert.sha256,),
            )
    ds = _daemon_store_error(store)
    if ds is not None:
        return Code.DAEMON_STORE, ds
    return None


def refine_verdict(verdict: ClientVerdict, top: CertInfo, store: ClientStore) -> ClientVerdict:
    """Prefer the client-side explanation for a "no path to an anchor" verdict.

    ``top`` is the last certificate of the best path the engine found (the one
    whose issuer is missing, or the untrusted self-signed root).  Verdicts
    that are trusted or fail for another reason come back unchanged.
    """
    if verdict.trusted or verdict.cause not in NO_PATH:
        return verdict
    found = explain_missing(top, store)
    if found is None:
        return verdict
    code, f = found
    alternatives = tuple(dict.fromkeys((verdict.cause, *verdict.alternatives)))
    # A client that fails while loading its store prints that error, before
    # any handshake (curl's "(77) error setting certificate file").
    printed = store.load_error if store.load_error and not store.anchors else verdict.client_error
    return replace(
        verdict,
        client_error=printed,
        cause=code,
        side=CODE_SIDE.get(code, Side.CLIENT),
        findings=(f, *verdict.findings),
        alternatives=tuple(a for a in alternatives if a != code),
        anchor_count=len(store.anchors),
    )


# -- compliance: is this CA trusted by each client? ---------------------------------------


@record
class CaCheck:
    """One client's answer to "do you trust this CA?".

    Attributes:
        client: the client model.
        fingerprint: SHA-256 of the certificate asked about.
        name: its display name (or the fingerprint when only that was given).
        trusted: whether the client has it as an anchor.
        reason: ``present``, ``equivalent`` (same name and key, another
            certificate), or the store reason it is missing: ``no-trust-store``,
            ``stale-bundle``, ``anchor-file-ignored``, ``env-override``,
            ``daemon-store``, ``not-present``; or ``strict-anchor``: present,
            but the client's strict checks refuse a chain ending there
            (``detail``: the rule).
        source: where the anchor was read (trusted), or where the CA sits unused.
        detail: one more fact (the refresh command, the variable...); for
            ``anchor-file-ignored`` and ``daemon-store`` the finding's reason code.
        params: for ``anchor-file-ignored`` and ``daemon-store``, the store
            finding's params (the reason code and the values its words need).
    """

    client: str
    fingerprint: str
    name: str
    trusted: bool
    reason: str
    source: str | None = None
    detail: str | None = None
    params: Mapping[str, object] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        return {
            "client": self.client,
            "fingerprint": self.fingerprint,
            "name": self.name,
            "trusted": self.trusted,
            "reason": self.reason,
            "source": self.source,
            "detail": self.detail,
            "params": dict(self.params),
        }


def normalize_fingerprint(text: str) -> str | None:
    """``AB:CD:...`` or hex → 64 lower-case hex digits, or ``None``."""
    h = "".join(c for c in text.strip().lower() if c not in ": \t")
    if h.startswith("sha256/") or h.startswith("sha256="):
        h = h[7:]
    if len(h) != 64 or any(c not in "0123456789abcdef" for c in h):
        return None
    return h


def _label(a: Anchor) -> str:
    p = a.provenance
    where = p.source
    if p.line is not None:
        where += f":{p.line}"
    if p.detail and p.detail.startswith("alias "):
        where += f" ({p.detail.split(' (')[0]})"
    return where


def check_ca(
    store: ClientStore, *, cert: CertInfo | None = None, fingerprint: str | None = None
) -> CaCheck:
    """Does ``store``'s client trust ``cert`` (or the certificate with ``fingerprint``)?"""
    if cert is None and fingerprint is None:
        raise ValueError("cert or fingerprint required")
    fp = cert.sha256 if cert is not None else str(fingerprint)
    name = cert.display_name if cert is not None else fp[:16]
    client = store.client
    found = store.anchors.find(fp)
    strict = next(
        (f for f in store.findings if f.code == Code.STRICT_ANCHOR and fp in f.certs), None
    )
    if found is not None and strict is not None:
        # In the store, but the client's strict checks refuse a chain ending
        # there (Python 3.13's VERIFY_X509_STRICT): present is not trusted.
        rules = strict.params.get("rules")
        rule = rules[strict.certs.index(fp)] if isinstance(rules, list) else None
        return CaCheck(client, fp, found.cert.display_name, False, Code.STRICT_ANCHOR.value,
                       _label(found), str(rule) if rule else None)  # fmt: skip
    if found is not None:
        return CaCheck(client, fp, found.cert.display_name, True, "present", _label(found))
    if cert is not None:
        eq = next(
            (
                a
                for a in store.anchors.by_subject(cert.subject_der)
                if a.cert.spki_sha256 == cert.spki_sha256
            ),
            None,
        )
        if eq is not None:
            return CaCheck(
                client,
                fp,
                name,
                True,
                "equivalent",
                _label(eq),
                f"another certificate with the same name and key ({eq.cert.sha256[:16]})",
            )
    if len(store.anchors) == 0:
        return CaCheck(
            client,
            fp,
            name,
            False,
            Code.NO_TRUST_STORE.value,
            None,
            store.load_error or "this client has no anchors at all",
        )
    for pool, code in (
        (store.pending, Code.STALE_BUNDLE),
        (store.ignored, Code.ANCHOR_FILE_IGNORED),
    ):
        hit = next((a for a in pool if a.cert.sha256 == fp), None)
        if hit is not None:
            if code == Code.STALE_BUNDLE:
                detail, params = store.refresh_command, {}
            else:
                detail = hit.provenance.detail
                params = {
                    **_file_finding(store, code, hit.provenance.source),
                    "reason": hit.provenance.detail,
                }
            return CaCheck(
                client,
                fp,
                hit.cert.display_name,
                False,
                code.value,
                hit.provenance.source,
                detail,
                params,
            )
    if store.default_anchors is not None:
        hit = store.default_anchors.find(fp)
        if hit is not None:
            override = next((f for f in store.findings if f.code == Code.ENV_OVERRIDE), None)
            variables = override.params.get("variables") if override else None
            detail = f"hidden by {', '.join(variables)}" if isinstance(variables, list) else None
            return CaCheck(
                client,
                fp,
                hit.cert.display_name,
                False,
                Code.ENV_OVERRIDE.value,
                hit.provenance.source,
                detail,
            )
    ds = _daemon_store_error(store)
    if ds is not None:
        return CaCheck(
            client,
            fp,
            name,
            False,
            Code.DAEMON_STORE.value,
            str(ds.params.get("path") or ""),
            str(ds.params.get("reason") or ""),
            ds.params,
        )
    return CaCheck(client, fp, name, False, "not-present", None, None)


# -- the refiner hook the engine calls --------------------------------------------------


def store_refiner(store: ClientStore) -> Callable[[ClientVerdict, CertInfo], ClientVerdict]:
    """The engine's refiner hook for a client whose store is ``store``: store evidence
    for a refused chain, ``restart-required`` for one the files trust."""

    def refine(verdict: ClientVerdict, top: CertInfo) -> ClientVerdict:
        if verdict.trusted:
            return _restart_required(verdict, top, store)
        out = refine_verdict(verdict, top, store)
        if out.cause != verdict.cause:
            # Store evidence (a file in an anchor directory, an override that
            # hides a root, an empty store) settles the missing-issuer question.
            out = replace(out, confidence=Confidence.HIGH, settle=())
        return out

    return refine


def _restart_required(
    verdict: ClientVerdict, anchor: CertInfo, store: ClientStore
) -> ClientVerdict:
    """The files trust the chain, but the running process loaded its pool before
    the anchor's file changed (Go caches the system pool per process,
    crypto/x509 root.go ``sync.Once``): it still refuses until restarted."""
    f = next((x for x in store.findings if x.code == Code.RESTART_REQUIRED), None)
    a = store.anchors.find(anchor.sha256)
    if f is None or a is None:
        return verdict
    files = f.params.get("files")
    if not isinstance(files, list) or a.provenance.source not in files:
        return verdict
    err = Finding(
        Code.RESTART_REQUIRED,
        Severity.ERROR,
        Side.CLIENT,
        {**f.params, "anchor_file": a.provenance.source},
        (anchor.sha256,),
    )
    text = (
        GO_UNKNOWN_AUTHORITY
        if policy_for(store.client).name == "go"
        else "verify error:num=20:unable to get local issuer certificate"
    )
    return replace(
        verdict,
        trusted=False,
        cause=Code.RESTART_REQUIRED,
        side=Side.CLIENT,
        confidence=Confidence.MEDIUM,
        findings=(err, *verdict.findings),
        client_error=text,
    )
