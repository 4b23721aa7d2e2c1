"""complete_chain: depth-first AIA completion against a loopback server.

Anchors only ever come from ``is_anchor``; fetched certificates never end a
path as trusted on their own."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from helpers import DOCS
from helpers.aia import AiaServer, Trickle, der, pem, static, timer
from trustdoctor.lab import pki
from trustdoctor.model.cert import CertInfo, from_certificate
from trustdoctor.sources.aia import STOPS, AiaOptions, anchor_predicate, complete_chain

OPTS = AiaOptions(timeout=2.0, deadline=3.0)


def info(issued: pki.Issued) -> CertInfo:
    return from_certificate(issued.cert)


def never(_: CertInfo) -> bool:
    return False


@pytest.fixture(scope="module")
def srv() -> Iterator[AiaServer]:
    with AiaServer() as s:
        yield s


class Chain:
    """root -> inter -> leaf; inter's AIA -> /<tag>/root.cer, leaf's -> /<tag>/inter.cer."""

    def __init__(self, srv: AiaServer, tag: str, root_encoding=der) -> None:
        self.tag = tag
        self.root = pki.make_cert(f"{tag} Root")
        self.inter = pki.make_cert(
            f"{tag} Issuing CA", issuer=self.root, aia_ca_issuers=[srv.url(f"/{tag}/root.cer")]
        )
        self.leaf = pki.make_cert(
            f"{tag}.example",
            issuer=self.inter,
            ca=False,
            aia_ca_issuers=[srv.url(f"/{tag}/inter.cer")],
        )
        srv.routes[f"/{tag}/inter.cer"] = static(der(self.inter))
        srv.routes[f"/{tag}/root.cer"] = static(root_encoding(self.root))


def test_fetches_the_missing_intermediate_and_stops_at_the_anchor(srv):
    c = Chain(srv, "anchor")
    leaf = info(c.leaf)
    with timer() as t:
        done = complete_chain(
            leaf, [leaf], is_anchor=anchor_predicate([info(c.root)]), options=OPTS
        )
    assert done.stopped == "reached-anchor" and done.complete
    assert [f.cert.sha256 for f in done.fetched] == [info(c.inter).sha256]
    assert done.fetched[0].url == srv.url("/anchor/inter.cer")
    assert done.fetched[0].parent_sha256 == leaf.sha256
    assert [p.sha256 for p in done.path] == [leaf.sha256, info(c.inter).sha256]
    assert len(done.attempts) == 1 and done.attempts[0].ok
    # the root is in the store: it is never downloaded
    assert srv.hits.get("/anchor/root.cer") is None
    assert srv.hits["/anchor/inter.cer"] == 1
    assert t[0] < 2.0


def test_fetched_root_is_not_an_anchor(srv):
    c = Chain(srv, "noanchor", root_encoding=pem)
    leaf = info(c.leaf)
    done = complete_chain(leaf, [leaf], is_anchor=never, options=OPTS)
    # The root is fetched and is self-signed, but nothing makes it trusted.
    assert done.stopped == "reached-self-signed"
    assert [f.cert.subject for f in done.fetched] == ["CN=noanchor Issuing CA", "CN=noanchor Root"]
    assert done.fetched[1].parent_sha256 == info(c.inter).sha256
    assert done.path[-1].self_signed
    assert "not an anchor" in done.detail
    assert len(done.attempts) == 2


def test_presented_intermediates_are_used_without_fetching(srv):
    c = Chain(srv, "presented")
    leaf, inter = info(c.leaf), info(c.inter)
    # complete chain to an anchor: nothing is fetched at all
    done = complete_chain(
        leaf, [leaf, inter], is_anchor=anchor_predicate([info(c.root)]), options=OPTS
    )
    assert done.stopped == "reached-anchor" and done.attempts == () and done.fetched == ()
    # root unknown: only the root is fetched, from the intermediate's AIA
    done = complete_chain(leaf, [inter, leaf], is_anchor=never, options=OPTS)
    assert done.stopped == "reached-self-signed"
    assert [f.cert.subject for f in done.fetched] == ["CN=presented Root"]
    assert done.fetched[0].parent_sha256 == inter.sha256
    assert srv.hits.get("/presented/inter.cer") is None
    assert srv.hits["/presented/root.cer"] == 1


def test_self_signed_leaf_needs_nothing(srv):
    selfie = info(pki.make_cert("selfie.example", ca=False, aia_ca_issuers=[srv.url("/x")]))
    done = complete_chain(selfie, [selfie], is_anchor=never, options=OPTS)
    assert done.stopped == "reached-self-signed" and done.attempts == ()


def test_impostor_issuer_is_a_dead_end(srv):
    root = pki.make_cert("imp Root")
    inter = pki.make_cert("imp Issuing CA", issuer=root)
    impostor = pki.make_cert("imp Issuing CA", issuer=root)  # same name, other key
    leaf = info(
        pki.make_cert("imp.example", issuer=inter, ca=False, aia_ca_issuers=[srv.url("/imp/i")])
    )
    srv.routes["/imp/i"] = static(der(impostor))
    done = complete_chain(leaf, [leaf], is_anchor=anchor_predicate([info(root)]), options=OPTS)
    assert done.stopped == "dead-end"
    assert done.fetched == ()
    assert done.attempts[0].rejected[0][0] == "bad-signature"
    assert "bad-signature" in done.detail


def test_dead_ends(srv):
    # intermediate without AIA, root unknown
    root = pki.make_cert("dead Root")
    inter = pki.make_cert("dead Issuing CA", issuer=root)
    leaf = info(
        pki.make_cert("dead.example", issuer=inter, ca=False, aia_ca_issuers=[srv.url("/dead/i")])
    )
    srv.routes["/dead/i"] = static(der(inter))
    done = complete_chain(leaf, [leaf], is_anchor=never, options=OPTS)
    assert done.stopped == "dead-end"
    assert "no caIssuers URL" in done.detail and "dead Issuing CA" in done.detail
    assert len(done.fetched) == 1 and len(done.path) == 2
    # leaf whose AIA answers 404
    leaf2 = info(
        pki.make_cert(
            "dead2.example", issuer=inter, ca=False, aia_ca_issuers=[srv.url("/dead/404")]
        )
    )
    done = complete_chain(leaf2, [leaf2], is_anchor=never, options=OPTS)
    assert done.stopped == "dead-end" and "404" in done.detail and done.path == (leaf2,)


def test_aia_cycle_ends_cleanly(srv):
    """A's AIA names B's URL and B's names A's: two CAs cross-signing each other."""
    key_a, key_b = pki.new_key(), pki.new_key()
    b0 = pki.make_cert("cycle CA B", key=key_b)  # only lends B's name and key
    a = pki.make_cert("cycle CA A", key=key_a, issuer=b0, aia_ca_issuers=[srv.url("/cycle/b")])
    b = pki.make_cert("cycle CA B", key=key_b, issuer=a, aia_ca_issuers=[srv.url("/cycle/a")])
    leaf = info(
        pki.make_cert("cycle.example", issuer=a, ca=False, aia_ca_issuers=[srv.url("/cycle/a")])
    )
    srv.routes["/cycle/a"] = static(der(a))
    srv.routes["/cycle/b"] = static(der(b))
    with timer() as t:
        done = complete_chain(leaf, [leaf], is_anchor=never, options=OPTS)
    assert done.stopped == "dead-end"
    assert "AIA cycle" in done.detail, done.detail
    assert [f.cert.subject for f in done.fetched] == ["CN=cycle CA A", "CN=cycle CA B"]
    # each URL retrieved once
    assert [x.url for x in done.attempts] == [srv.url("/cycle/a"), srv.url("/cycle/b")]
    assert srv.hits["/cycle/a"] == 1 and srv.hits["/cycle/b"] == 1
    assert t[0] < 2.0
    # with A's issuer as anchor the same graph is complete after one fetch
    done = complete_chain(leaf, [leaf], is_anchor=anchor_predicate([info(b)]), options=OPTS)
    assert done.stopped == "reached-anchor"


def _long_chain(srv: AiaServer, tag: str, n: int) -> list[pki.Issued]:
    """root -> ca1 -> ... -> ca<n> -> leaf, each AIA pointing at the next one up."""
    chain = [pki.make_cert(f"{tag} 0")]
    srv.routes[f"/{tag}/0"] = static(der(chain[0]))
    for i in range(1, n + 1):
        ca = pki.make_cert(
            f"{tag} {i}", issuer=chain[-1], aia_ca_issuers=[srv.url(f"/{tag}/{i - 1}")]
        )
        srv.routes[f"/{tag}/{i}"] = static(der(ca))
        chain.append(ca)
    leaf = pki.make_cert(
        f"{tag}.example", issuer=chain[-1], ca=False, aia_ca_issuers=[srv.url(f"/{tag}/{n}")]
    )
    chain.append(leaf)
    return chain


def test_caps(srv):
    chain = _long_chain(srv, "long", 9)
    leaf = info(chain[-1])
    done = complete_chain(leaf, [leaf], is_anchor=never, options=AiaOptions(max_fetches=3))
    assert done.stopped == "cap" and "max_fetches 3" in done.detail
    assert len(done.attempts) == 3 and len(done.fetched) == 3
    done = complete_chain(leaf, [leaf], is_anchor=never, options=AiaOptions(max_depth=2))
    assert done.stopped == "cap" and "max_depth 2" in done.detail
    assert len(done.fetched) == 2
    # the defaults (8 fetches, depth 6) stop a 10-level chain too
    done = complete_chain(leaf, [leaf], is_anchor=never, options=AiaOptions())
    assert done.stopped == "cap" and len(done.fetched) == 6
    # and are enough for a shorter one
    short = _long_chain(srv, "short", 4)
    leaf = info(short[-1])
    done = complete_chain(leaf, [leaf], is_anchor=never, options=AiaOptions())
    assert done.stopped == "reached-self-signed" and len(done.path) == 6


def test_a_very_long_presented_chain_is_bounded():
    chain = [pki.make_cert("deep 0")]
    for i in range(1, 200):
        chain.append(pki.make_cert(f"deep {i}", issuer=chain[-1]))
    presented = [info(c) for c in reversed(chain)]
    done = complete_chain(presented[0], presented, is_anchor=never, options=OPTS)
    assert done.stopped == "cap" and "longer than 64" in done.detail
    assert done.attempts == ()


def test_depth_first_backtracks_to_a_cross_sign(srv):
    """The answer holds two issuers with the same key: one chains to a root nobody
    has (and whose URL is dead), the other to the anchor."""
    key = pki.new_key()
    old_root, new_root = pki.make_cert("xs Old Root"), pki.make_cert("xs New Root")
    via_old = pki.make_cert(
        "xs Issuing CA", key=key, issuer=old_root, aia_ca_issuers=[srv.url("/xs/old-root-gone")]
    )
    via_new = pki.make_cert(
        "xs Issuing CA", key=key, issuer=new_root, aia_ca_issuers=[srv.url("/xs/new-root")]
    )
    leaf = info(
        pki.make_cert("xs.example", issuer=via_old, ca=False, aia_ca_issuers=[srv.url("/xs/i")])
    )
    # PEM keeps the order (a PKCS#7 SET OF is sorted by its DER encoding)
    srv.routes["/xs/i"] = static(pem(via_old, via_new, via_old))
    done = complete_chain(leaf, [leaf], is_anchor=anchor_predicate([info(new_root)]), options=OPTS)
    assert done.stopped == "reached-anchor"
    assert done.path[-1].sha256 == info(via_new).sha256
    # both candidates recorded once (de-duplicated by fingerprint)
    assert [f.cert.sha256 for f in done.fetched] == [info(via_old).sha256, info(via_new).sha256]
    assert srv.hits["/xs/old-root-gone"] == 1
    assert srv.hits.get("/xs/new-root") is None


def test_anchor_preferred_over_an_unknown_self_signed_root(srv):
    key = pki.new_key()
    stray_root, store_root = pki.make_cert("pref Stray Root"), pki.make_cert("pref Store Root")
    a = pki.make_cert(
        "pref CA", key=key, issuer=stray_root, aia_ca_issuers=[srv.url("/pref/stray")]
    )
    b = pki.make_cert(
        "pref CA", key=key, issuer=store_root, aia_ca_issuers=[srv.url("/pref/store")]
    )
    srv.routes["/pref/i"] = static(pem(a, b))
    srv.routes["/pref/stray"] = static(der(stray_root))
    srv.routes["/pref/store"] = static(der(store_root))
    leaf = info(
        pki.make_cert("pref.example", issuer=a, ca=False, aia_ca_issuers=[srv.url("/pref/i")])
    )
    done = complete_chain(
        leaf, [leaf], is_anchor=anchor_predicate([info(store_root)]), options=OPTS
    )
    assert done.stopped == "reached-anchor" and done.path[-1].sha256 == info(b).sha256
    # without the anchor, the first complete path (to the stray root) is reported
    done = complete_chain(leaf, [leaf], is_anchor=never, options=OPTS)
    assert done.stopped == "reached-self-signed"
    assert done.path[-1].sha256 == info(stray_root).sha256


def test_total_deadline_bounds_the_whole_search(srv):
    trickles = [Trickle(b"x" * 5000, interval=0.05) for _ in range(3)]
    for i, tr in enumerate(trickles):
        srv.routes[f"/slowchain/{i}"] = tr
    inter = pki.make_cert("slowchain CA", issuer=pki.make_cert("slowchain Root"))
    leaf = info(
        pki.make_cert(
            "slowchain.example",
            issuer=inter,
            ca=False,
            aia_ca_issuers=[srv.url(f"/slowchain/{i}") for i in range(3)],
        )
    )
    opts = AiaOptions(timeout=0.5, deadline=1.0, total_deadline=1.5)
    try:
        with timer() as t:
            done = complete_chain(leaf, [leaf], is_anchor=never, options=opts)
    finally:
        for tr in trickles:
            tr.stop.set()
    assert 1.4 <= t[0] < 2.5, t[0]
    assert done.stopped == "cap" and "total_deadline" in done.detail
    assert [a.rejected[0][0] for a in done.attempts] == ["timeout", "timeout"]


def test_offline_says_a_fetch_was_needed(srv):
    c = Chain(srv, "offline")
    leaf = info(c.leaf)
    done = complete_chain(
        leaf,
        [leaf],
        is_anchor=anchor_predicate([info(c.root)]),
        options=AiaOptions(allow_network=False),
    )
    assert done.stopped == "offline" and done.network_needed
    assert srv.url("/offline/inter.cer") in done.detail
    assert srv.hits.get("/offline/inter.cer") is None
    # nothing missing: offline changes nothing
    done = complete_chain(
        leaf,
        [leaf, info(c.inter)],
        is_anchor=anchor_predicate([info(c.root)]),
        options=AiaOptions(allow_network=False),
    )
    assert done.stopped == "reached-anchor" and not done.network_needed


def test_stop_vocabulary_is_documented():

    doc = (DOCS / "aia.md").read_text()
    for stop in STOPS:
        assert f"`{stop}`" in doc, stop
