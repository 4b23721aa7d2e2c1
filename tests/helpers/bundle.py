"""Shared pieces for the bundle / AIA-confirmation tests (not a conftest: import it).

* :func:`site_pki` - root -> issuing CA -> leaf for 127.0.0.1 / ``bundle.test``,
  every certificate valid around the *real* clock (real clients judge them),
  the leaf's (and the CA's) caIssuers URL pointing at a loopback issuer server;
* :func:`tls_site` - a loopback HTTPS server (python ``ssl``) presenting a
  chosen chain, answering ``GET /`` so curl and Go can complete a request;
* small converters between factory certificates and the engine's types.
"""

from __future__ import annotations

import datetime as dt
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from helpers.aia import AiaServer, der, static
from trustdoctor.engine.policies import policy_for
from trustdoctor.lab import pki
from trustdoctor.model.anchors import Anchor, AnchorSet, make_anchor_set
from trustdoctor.model.cert import CertInfo, Provenance, from_certificate
from trustdoctor.model.diagnosis import PresentedCert

HOST = "bundle.test"
DAY = dt.timedelta(days=1)


def real_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


@dataclass
class Site:
    root: pki.Issued
    inter: pki.Issued
    leaf: pki.Issued
    inter_url: str
    root_url: str


def site_pki(issuer: AiaServer, *, root_cn: str = "Bundle Test Root") -> Site:
    """A hierarchy whose AIA URLs point at ``issuer`` (routes installed)."""
    now = real_now()
    nb, na = now - 2 * DAY, now + 90 * DAY
    inter_url = issuer.url("/issuing.cer")
    root_url = issuer.url("/root.cer")
    root = pki.make_cert(root_cn, not_before=nb, not_after=now + 400 * DAY)
    inter = pki.make_cert(
        "Bundle Issuing CA",
        issuer=root,
        not_before=nb,
        not_after=now + 300 * DAY,
        aia_ca_issuers=[root_url],
    )
    leaf = pki.make_cert(
        HOST,
        issuer=inter,
        ca=False,
        dns=[HOST],
        ips=["127.0.0.1"],
        not_before=nb,
        not_after=na,
        aia_ca_issuers=[inter_url],
    )
    issuer.routes["/issuing.cer"] = static(der(inter))
    issuer.routes["/root.cer"] = static(der(root))
    return Site(root, inter, leaf, inter_url, root_url)


def tls_site(
    tmp: Path, chain_pem: bytes, key_pem: bytes, *, port: int = 0, name: str = "site"
) -> AiaServer:
    """An HTTPS server on 127.0.0.1 presenting ``chain_pem`` (leaf first) as is."""
    (tmp / f"{name}-chain.pem").write_bytes(chain_pem)
    (tmp / f"{name}-key.pem").write_bytes(key_pem)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(tmp / f"{name}-chain.pem", tmp / f"{name}-key.pem")
    srv = AiaServer(tls=ctx, port=port)
    srv.routes["/"] = static(b"hello from the bundle test\n", ctype="text/plain")
    return srv


def info(item: pki.Issued) -> CertInfo:
    return from_certificate(item.cert)


def pcs(items: Sequence[pki.Issued], source: str = "server") -> list[PresentedCert]:
    return [PresentedCert(info(x), Provenance(source, i)) for i, x in enumerate(items)]


def anchors(items: Sequence[pki.Issued], name: str = "test", client: str = "go") -> AnchorSet:
    return make_anchor_set(
        name,
        [Anchor(info(a), Provenance("store.pem", i)) for i, a in enumerate(items)],
        partial_chain=policy_for(client).partial_chain,
    )


def pairs(
    items: Sequence[pki.Issued], clients: Sequence[str] = ("go", "openssl", "webpki")
) -> list[tuple[str, AnchorSet]]:
    return [(c, anchors(items, c, c)) for c in clients]
