"""Helpers to run the engine on factory certificates."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

from trustdoctor.engine.judge import judge
from trustdoctor.engine.policies import policy_for
from trustdoctor.lab.pki import NOW, Issued
from trustdoctor.model.anchors import Anchor, make_anchor_set
from trustdoctor.model.cert import Provenance, from_certificate
from trustdoctor.model.diagnosis import Diagnosis, PresentedCert

CLIENTS = ("go", "openssl", "webpki")


def pc(item: Issued, i: int = 0) -> PresentedCert:
    return PresentedCert(from_certificate(item.cert), Provenance("test", i))


def run(
    presented: Sequence[Issued],
    anchors: Sequence[Issued],
    *,
    host: str | None = "registry.internal.example.com",
    at: dt.datetime = NOW,
    supplied: Sequence[Issued] = (),
    clients: Sequence[str] = CLIENTS,
    versions: Mapping[str, str] | None = None,
) -> Diagnosis:
    aset = make_anchor_set(
        "test",
        [Anchor(from_certificate(a.cert), Provenance("store", i)) for i, a in enumerate(anchors)],
    )
    return judge(
        [pc(p, i) for i, p in enumerate(presented)],
        clients=[(c, aset) for c in clients],
        at=at,
        host=host,
        supplied=[pc(s) for s in supplied],
        policies={c: policy_for(c, version=v) for c, v in (versions or {}).items()},
    )


def causes(d: Diagnosis) -> dict[str, str]:
    return {v.client: v.cause.value for v in d.clients}
