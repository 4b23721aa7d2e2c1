"""Each client's view of trust for ``chain``, ``diagnose`` and the lab: its anchors from
the trust-store models, and the refiner that adds store evidence to a verdict."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from ..engine.judge import Refiner
from ..model.anchors import AnchorSet
from ..model.cert import CertInfo
from ..model.diagnosis import ClientVerdict, Diagnosis
from ..model.findings import Code, Confidence, Finding, Severity, Side
from ..model.stores import ClientStore, StoreContext

if TYPE_CHECKING:
    from ..fixes.model import Plan


@dataclass(frozen=True)
class ClientViews:
    anchors: Mapping[str, AnchorSet]
    refiners: Mapping[str, Refiner]
    stores: Mapping[str, ClientStore]
    context: StoreContext


# Clients that read another client's store: the kubelet pulls nothing itself
# but every Go tool on a node (kubectl, helm) uses Go's system roots.
STORE_OF = {"kubelet": "go"}


def _refiner(store: ClientStore) -> Refiner:
    from ..stores import refine_verdict

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
    from ..engine.clienterrors import GO_UNKNOWN_AUTHORITY
    from ..engine.policies import policy_for

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


def views_for(ctx: StoreContext, clients: Sequence[str]) -> ClientViews:
    """Anchors and refiners for ``clients`` in the trust context ``ctx``."""
    from ..stores import KNOWN_CLIENTS, inspect_stores

    wanted = {c: STORE_OF.get(c, c) for c in clients}
    modelled = sorted({m for m in wanted.values() if m in KNOWN_CLIENTS})
    by_model = {s.client: s for s in inspect_stores(ctx, modelled)} if modelled else {}
    stores = {c: by_model[m] for c, m in wanted.items() if m in by_model}
    anchors: dict[str, AnchorSet] = {c: s.anchors for c, s in stores.items()}
    if "webpki" in clients:
        from ..model.anchors import make_anchor_set
        from .reference import mozilla_reference

        ref = mozilla_reference()
        anchors["webpki"] = make_anchor_set("webpki", list(ref.anchors), sources=ref.sources)
    refiners = {c: _refiner(s) for c, s in stores.items()}
    return ClientViews(anchors, refiners, stores, ctx)


def plan_for(diag: Diagnosis, views: ClientViews | None) -> Plan | None:
    """The fix plan for a diagnosis that some client refuses (None when trusted).

    With client views the plan uses their stores and distribution; with
    ``--trust`` anchors no store was consulted, so the plan names no
    distribution (``trustdoctor fix --for`` plans for a host).
    """
    if diag.verdict.trusted:
        return None
    from ..fixes import plan_for_diagnosis

    if views is not None:
        return plan_for_diagnosis(diag, views.stores, views.context.distro)
    return plan_for_diagnosis(diag, None, None)
