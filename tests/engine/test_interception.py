"""The ``intercepted`` rule and its product table (pure; chains from the test PKI)."""

from __future__ import annotations

import ast
import inspect

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID

from trustdoctor.engine import interception
from trustdoctor.engine.interception import (
    INSPECTION_PRODUCTS,
    detect_interception,
    match_product,
    parse_name,
)
from trustdoctor.lab import pki
from trustdoctor.model.anchors import Anchor, AnchorSet, make_anchor_set
from trustdoctor.model.cert import CertInfo, Provenance, from_certificate
from trustdoctor.model.findings import Code, Severity, Side


def info(*issued: pki.Issued) -> list[CertInfo]:
    return [from_certificate(i.cert) for i in issued]


def dn(**attrs: str) -> x509.Name:
    oids = {
        "CN": NameOID.COMMON_NAME,
        "O": NameOID.ORGANIZATION_NAME,
        "OU": NameOID.ORGANIZATIONAL_UNIT_NAME,
        "C": NameOID.COUNTRY_NAME,
    }
    return x509.Name([x509.NameAttribute(oids[k], v) for k, v in attrs.items()])


@pytest.fixture(scope="module")
def public() -> pki.Hierarchy:
    return pki.hierarchy(
        "shop.example.com", root_cn="Fake Public Root G1", inter_cn="Fake Public Issuing CA 1"
    )


@pytest.fixture(scope="module")
def mozilla(public: pki.Hierarchy) -> AnchorSet:
    other = pki.make_cert("Another Public Root")
    return make_anchor_set(
        "mozilla",
        [
            Anchor(from_certificate(r.cert), Provenance("certifi", index=i))
            for i, r in enumerate([public.root, other])
        ],
    )


def issued_by(
    ca_name: x509.Name, host: str = "shop.example.com", **kw: object
) -> tuple[pki.Issued, pki.Issued]:
    ca = pki.make_cert(ca_name)
    leaf = pki.make_cert(host, issuer=ca, ca=False, dns=(host,), **kw)  # type: ignore[arg-type]
    return leaf, ca


def test_public_chain_is_never_intercepted(public: pki.Hierarchy, mozilla: AnchorSet) -> None:
    for chain in (
        [public.leaf, public.intermediate],
        [public.leaf, public.intermediate, public.root],
    ):
        assert (
            detect_interception(
                info(*chain),
                reference_roots=mozilla,
                proxy_in_use=True,
                servername="shop.example.com",
            )
            is None
        )


def test_mitmproxy_without_proxy_is_named(mozilla: AnchorSet) -> None:
    leaf, ca = issued_by(dn(CN="mitmproxy", O="mitmproxy"))
    f = detect_interception(
        info(leaf, ca), reference_roots=mozilla, proxy_in_use=False, servername="shop.example.com"
    )
    assert f is not None
    assert (f.code, f.side, f.severity) == (Code.INTERCEPTED, Side.NETWORK, Severity.WARNING)
    assert f.params["product"] == "mitmproxy"
    assert f.params["confidence"] == "high"
    assert f.params["issuer"] == "O=mitmproxy,CN=mitmproxy"
    ev = f.params["evidence"]
    assert isinstance(ev, list)
    assert {
        "code": "product-marker",
        "name": "O=mitmproxy,CN=mitmproxy",
        "attribute": "CN=mitmproxy",
        "product": "mitmproxy",
    } in ev
    assert {
        "code": "not-a-reference-root",
        "ca": "O=mitmproxy,CN=mitmproxy",
        "reference_count": 2,
    } in ev
    assert f.certs == (from_certificate(ca.cert).sha256,)


def test_zscaler_leaf_only_chain_is_named_from_the_issuer(mozilla: AnchorSet) -> None:
    root = pki.make_cert(dn(C="US", O="Zscaler Inc.", OU="Zscaler Inc.", CN="Zscaler Root CA"))
    inter = pki.make_cert(
        dn(O="Zscaler Inc.", CN="Zscaler Intermediate Root CA (zscaler.net)"), issuer=root
    )
    leaf = pki.make_cert("shop.example.com", issuer=inter, ca=False, dns=("shop.example.com",))
    f = detect_interception(
        info(leaf), reference_roots=mozilla, proxy_in_use=False, servername="shop.example.com"
    )
    assert f is not None and f.params["product"] == "Zscaler"
    f = detect_interception(
        info(leaf, inter), reference_roots=mozilla, proxy_in_use=True, servername="shop.example.com"
    )
    assert f is not None and f.params["product"] == "Zscaler"
    assert f.params[
        "issuer"
    ] == "C=US,OU=Zscaler Inc.,O=Zscaler Inc.,CN=Zscaler Root CA" or "Zscaler Root CA" in str(
        f.params["issuer"]
    )
    assert {"code": "via-proxy"} in f.params["evidence"]  # type: ignore[operator]


def test_unknown_ca_needs_a_proxy(mozilla: AnchorSet) -> None:
    leaf, ca = issued_by(dn(CN="Corporate Egress CA", O="Acme Networks"))
    chain = info(leaf, ca)
    assert (
        detect_interception(
            chain, reference_roots=mozilla, proxy_in_use=False, servername="shop.example.com"
        )
        is None
    )
    f = detect_interception(
        chain, reference_roots=mozilla, proxy_in_use=True, servername="shop.example.com"
    )
    assert f is not None
    assert f.params["product"] is None and f.params["confidence"] == "medium"
    # Without the reference set nothing says the CA is not public: no finding.
    assert (
        detect_interception(
            chain, reference_roots=None, proxy_in_use=True, servername="shop.example.com"
        )
        is None
    )


def test_the_servers_own_private_ca_is_not_interception(mozilla: AnchorSet) -> None:
    h = pki.hierarchy("registry.internal.example.com")  # "Example Internal Root CA"
    for chain in ([h.leaf, h.intermediate], [h.leaf]):
        assert (
            detect_interception(
                info(*chain),
                reference_roots=mozilla,
                proxy_in_use=True,
                servername="registry.internal.example.com",
            )
            is None
        )


def test_name_constrained_private_ca_is_the_servers_own(mozilla: AnchorSet) -> None:
    root = pki.make_cert("Corp Root", permitted_dns=("corp-widgets.net",))
    leaf = pki.make_cert(
        "api.corp-widgets.net", issuer=root, ca=False, dns=("api.corp-widgets.net",)
    )
    assert (
        detect_interception(
            info(leaf, root),
            reference_roots=mozilla,
            proxy_in_use=True,
            servername="api.corp-widgets.net",
        )
        is None
    )
    f = detect_interception(
        info(leaf, root),
        reference_roots=mozilla,
        proxy_in_use=True,
        servername="api.other-site.org",
    )
    assert f is not None


def test_internal_names_with_unknown_ca_are_left_alone(mozilla: AnchorSet) -> None:
    leaf, ca = issued_by(dn(CN="Ops CA"), host="gitlab.corp")
    assert (
        detect_interception(
            info(leaf, ca), reference_roots=mozilla, proxy_in_use=True, servername="gitlab.corp"
        )
        is None
    )
    # ...unless the CA names an inspection product.
    leaf, ca = issued_by(dn(CN="Fortinet_CA_SSL", O="Fortinet Ltd."), host="gitlab.corp")
    f = detect_interception(
        info(leaf, ca), reference_roots=mozilla, proxy_in_use=False, servername="gitlab.corp"
    )
    assert f is not None and f.params["product"] == "Fortinet FortiGate"


def test_real_rfc4514_escaping_is_matched(mozilla: AnchorSet) -> None:
    # "ESET, spol. s r. o." comes out of rfc4514_string() with an escaped comma.
    leaf, ca = issued_by(dn(C="SK", O="ESET, spol. s r. o.", CN="ESET SSL Filter CA"))
    f = detect_interception(
        info(leaf, ca), reference_roots=mozilla, proxy_in_use=False, servername="shop.example.com"
    )
    assert f is not None and f.params["product"] == "ESET"


def test_self_signed_leaf_is_not_interception(mozilla: AnchorSet) -> None:
    leaf = pki.make_cert("shop.example.com", ca=False, dns=("shop.example.com",))
    assert (
        detect_interception(
            info(leaf), reference_roots=mozilla, proxy_in_use=True, servername="shop.example.com"
        )
        is None
    )


def test_leaf_subject_never_counts_as_a_marker(mozilla: AnchorSet) -> None:
    leaf, ca = issued_by(dn(CN="Docs Hosting CA"), host="mitmproxy.org")
    assert (
        detect_interception(
            info(leaf, ca), reference_roots=mozilla, proxy_in_use=False, servername="mitmproxy.org"
        )
        is None
    )


def test_impostor_of_a_public_root_name(public: pki.Hierarchy, mozilla: AnchorSet) -> None:
    fake_root = pki.make_cert("Fake Public Root G1")  # same name, different key
    leaf = pki.make_cert("shop.example.com", issuer=fake_root, ca=False, dns=("shop.example.com",))
    f = detect_interception(
        info(leaf), reference_roots=mozilla, proxy_in_use=True, servername="shop.example.com"
    )
    assert f is not None
    assert {"code": "impostor-name", "root": "Fake Public Root G1"} in f.params["evidence"]  # type: ignore[operator]


def test_product_marker_without_reference_set() -> None:
    leaf, ca = issued_by(
        dn(CN="Cloudflare for Teams ECC Certificate Authority", O="Cloudflare, Inc")
    )
    f = detect_interception(
        info(leaf, ca), reference_roots=None, proxy_in_use=False, servername="shop.example.com"
    )
    assert f is not None and f.params["confidence"] == "medium"
    assert f.params["product"] == "Cloudflare Gateway (Zero Trust / WARP)"
    # Cloudflare's *public* edge CA must not look like Gateway.
    leaf, ca = issued_by(dn(CN="Cloudflare Inc ECC CA-3", O="Cloudflare, Inc."))
    assert (
        detect_interception(
            info(leaf, ca), reference_roots=None, proxy_in_use=False, servername="shop.example.com"
        )
        is None
    )


def test_empty_chain() -> None:
    assert detect_interception([], reference_roots=None, proxy_in_use=True, servername=None) is None


def test_parse_name_handles_escapes() -> None:
    assert parse_name(r"CN=Charles Proxy CA (1 Jan 2026\, host),O=XK72 Ltd+OU=x") == [
        ("CN", "Charles Proxy CA (1 Jan 2026, host)"),
        ("O", "XK72 Ltd"),
        ("OU", "x"),
    ]
    assert parse_name("CN=a\\2Cb") == [("CN", "a,b")]


def test_table_is_well_formed_and_every_product_is_reachable() -> None:
    names = [p.name for p in INSPECTION_PRODUCTS]
    assert len(names) == len(set(names))
    required = {
        "Zscaler",
        "Netskope",
        "Palo Alto",
        "Fortinet",
        "Blue Coat",
        "Cisco Umbrella",
        "Sophos",
        "Check Point",
        "mitmproxy",
        "Charles",
        "Fiddler",
        "Burp",
        "Kaspersky",
        "ESET",
        "Avast",
        "Bitdefender",
        "Forcepoint",
        "McAfee",
        "Cloudflare",
        "iboss",
        "Lightspeed",
        "Securly",
        "GoGuardian",
    }
    for r in required:
        assert any(r in n for n in names), r
    for product in INSPECTION_PRODUCTS:
        assert product.markers and product.source
        for marker in product.markers:
            assert marker.field in ("CN", "O", "OU", "*")
            field = "CN" if marker.field == "*" else marker.field
            escaped = marker.text.replace(",", "\\,")  # as rfc4514_string() writes it
            hit = match_product([f"{field}=Acme {escaped} Gateway"])
            # No earlier entry shadows this marker.
            assert hit is not None and hit[0].name == product.name, (product.name, marker)


def test_module_is_pure() -> None:
    tree = ast.parse(inspect.getsource(interception))
    imported = {
        (n.module or "") if isinstance(n, ast.ImportFrom) else a.name
        for n in ast.walk(tree)
        if isinstance(n, ast.Import | ast.ImportFrom)
        for a in n.names
    }
    assert not imported & {"os", "socket", "subprocess", "pathlib", "ssl", "sys"}
