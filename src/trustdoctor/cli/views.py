"""Each client's view of trust for ``chain`` and ``diagnose``: its anchors from
the trust-store models, and the refiner that adds store evidence to a verdict."""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace

from ..engine import Refiner
from ..model.anchors import AnchorSet
from ..model.cert import CertInfo
from ..model.diagnosis import ClientVerdict
from ..model.findings import Confidence

from ..stores.model import ClientStore, StoreContext


@dataclass(frozen=True)
class ClientViews:
    anchors: Mapping[str, AnchorSet]
    refiners: Mapping[str, Refiner]
    stores: Mapping[str, ClientStore]
    context: StoreContext


def _refiner(store: ClientStore) -> Refiner:
    from ..stores import refine_verdict

    def refine(verdict: ClientVerdict, top: CertInfo) -> ClientVerdict:
        out = refine_verdict(verdict, top, store)
        if out.cause != verdict.cause:
            # Store evidence (a file in an anchor directory, an override that
            # hides a root, an empty store) settles the missing-issuer question.
            out = replace(out, confidence=Confidence.HIGH, settle=())
        return out

    return refine


def views_for(ctx: StoreContext, clients: Sequence[str]) -> ClientViews:
    """Anchors and refiners for ``clients`` in the trust context ``ctx``."""
    from ..stores import KNOWN_CLIENTS, inspect_stores

    modelled = [c for c in clients if c in KNOWN_CLIENTS]
    stores = {s.client: s for s in inspect_stores(ctx, modelled)} if modelled else {}
    anchors: dict[str, AnchorSet] = {c: s.anchors for c, s in stores.items()}
    if "webpki" in clients:
        from ..api import mozilla_reference
        from ..model.anchors import make_anchor_set

        ref = mozilla_reference()
        anchors["webpki"] = make_anchor_set("webpki", list(ref.anchors), sources=ref.sources)
    refiners = {c: _refiner(s) for c, s in stores.items()}
    return ClientViews(anchors, refiners, stores, ctx)


@contextlib.contextmanager
def client_views(args: argparse.Namespace, clients: Sequence[str]) -> Iterator[ClientViews]:
    """Open the trust context the options describe and model ``clients`` in it."""
    from .trustopts import open_trust_context

    with open_trust_context(args) as ctx:
        yield views_for(ctx, clients)
