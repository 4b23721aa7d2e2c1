"""``bundle.plan_bundle`` (the chain to serve), the serve checks, and --key parsing (pure)."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography.hazmat.primitives import serialization

from helpers.bundle import anchors, info, pcs
from trustdoctor.engine.bundle import REASONS, load_private_keys, plan_bundle
from trustdoctor.engine.judge import pick_leaf
from trustdoctor.engine.servechecks import expired_cross_signs, serve_findings
from trustdoctor.errors import InputError
from trustdoctor.lab import pki
from trustdoctor.lab.pki import DAY, NOW
from trustdoctor.model.cert import Provenance
from trustdoctor.model.diagnosis import PresentedCert
from trustdoctor.model.findings import Code
from trustdoctor.render.bundle import REASON_TEXT, reason_text

H = "registry.internal.example.com"
ALL = ("go", "openssl", "webpki")


def _pairs(items, clients=ALL):
    return [(c, anchors(items, c, c)) for c in clients]


def _plan(presented, anchor_items, *, clients=ALL, supplied=(), fetched=(), **kw):
    leaf = pcs(presented)[pick_leaf(pcs(presented))].cert
    return plan_bundle(
        leaf,
        presented=pcs(presented),
        clients=kw.pop("pairs", None) or _pairs(anchor_items, clients),
        at=kw.pop("at", NOW),
        supplied=pcs(supplied, "extra.pem"),
        fetched=pcs(fetched, "http://aia.invalid/x.cer"),
        **kw,
    )


def _subjects(plan):
    return [c.cert.display_name for c in plan.chain]


def _codes(plan):
    return [r.code for r in plan.reasons]


@pytest.fixture(scope="module")
def h() -> pki.Hierarchy:
    return pki.hierarchy(H)


def test_complete_chain_is_unchanged(h):
    plan = _plan([h.leaf, h.intermediate], [h.root])
    assert plan.ok
    assert _subjects(plan) == [H, "Example Internal Issuing CA"]
    assert plan.diff.unchanged
    assert _codes(plan) == ["path-found", "only-path", "root-omitted"]
    assert plan.root is not None and plan.root.sha256 == info(h.root).sha256
    assert all(r.trusted and r.anchor is not None for r in plan.clients)
    # the PEM OpenSSL (through cryptography) writes, byte for byte
    assert plan.pem == (h.leaf.pem + h.intermediate.pem).decode()
    assert plan.pem.count("BEGIN CERTIFICATE") == 2 and plan.pem.endswith("-----\n")


def test_missing_intermediate_from_fetched(h):
    plan = _plan([h.leaf], [h.root], fetched=[h.intermediate])
    assert plan.ok
    assert [c.origin for c in plan.chain] == ["leaf", "fetched"]
    assert plan.chain[1].source == "http://aia.invalid/x.cer (#1)"
    assert [c.cert.sha256 for c in plan.diff.missing] == [info(h.intermediate).sha256]
    assert not plan.diff.extra and not plan.diff.reordered


def test_no_path_is_not_ok_and_says_why(h):
    plan = _plan([h.leaf], [h.root])
    assert not plan.ok
    assert _subjects(plan) == [H]
    (no_path,) = [r for r in plan.reasons if r.code == "no-path"]
    assert no_path.params["clients"] == list(ALL)
    assert no_path.params["issuer"] == "CN=Example Internal Issuing CA"
    assert no_path.params["cause"] == "missing-intermediate"
    assert reason_text(no_path.code, no_path.params) == (
        "go, openssl, webpki: no chain reaches their anchors — missing-intermediate "
        "(missing 'Example Internal Issuing CA')"
    )
    # Different failures stay apart.
    other = pki.make_cert("Other Root")
    split = _plan(
        [h.leaf, h.intermediate],
        [],
        pairs=[("go", anchors([h.root], "go")), ("openssl", anchors([other], "o", "openssl"))],
    )
    assert not split.ok
    assert [r.params["clients"] for r in split.reasons if r.code == "no-path"] == [["openssl"]]


def test_root_unrelated_duplicate_and_order_are_cleaned(h):
    stray = pki.make_cert("Stray Old Intermediate", issuer=pki.make_cert("Elsewhere"))
    presented = [h.leaf, h.root, h.intermediate, stray, h.intermediate]
    plan = _plan(presented, [h.root])
    assert plan.ok
    assert _subjects(plan) == [H, "Example Internal Issuing CA"]
    extra = {c.display_name for c in plan.diff.extra}
    assert extra == {"Example Internal Root CA", "Stray Old Intermediate"}
    assert [c.display_name for c in plan.diff.duplicates] == ["Example Internal Issuing CA"]
    assert plan.diff.reordered is False  # the kept certificates are in order already
    swapped = _plan([h.intermediate, h.leaf], [h.root])
    assert swapped.diff.reordered and not swapped.diff.missing and not swapped.diff.extra


def test_include_root(h):
    plan = _plan([h.leaf, h.intermediate], [h.root], include_root=True)
    assert plan.ok and plan.root_included
    assert _subjects(plan) == [H, "Example Internal Issuing CA", "Example Internal Root CA"]
    assert plan.chain[-1].origin == "anchor"
    assert "root-included" in _codes(plan)
    assert plan.diff.missing[0].cert.sha256 == info(h.root).sha256


def test_include_root_when_the_anchor_is_not_a_root(h):
    # Go takes any pooled certificate as an anchor: trusting the intermediate
    # alone ends the path there; there is no root to append.
    plan = _plan([h.leaf, h.intermediate], [h.intermediate], clients=("go",), include_root=True)
    assert plan.ok and not plan.root_included
    assert _subjects(plan) == [H]
    assert "root-not-self-signed" in _codes(plan)
    assert [c.display_name for c in plan.diff.extra] == ["Example Internal Issuing CA"]


def _cross_signed():
    """An ISRG-like CA: 'New Root' self-signed (valid) and cross-signed by 'Old Root'."""
    new_root = pki.make_cert("New Root", not_before=NOW - 400 * DAY, not_after=NOW + 3000 * DAY)
    old_root = pki.make_cert("Old Root", not_before=NOW - 4000 * DAY, not_after=NOW + 100 * DAY)
    cross_expired = pki.make_cert(
        "New Root",
        key=new_root.key,
        issuer=old_root,
        not_before=NOW - 1000 * DAY,
        not_after=NOW - 10 * DAY,
    )
    cross_valid = pki.make_cert(
        "New Root", key=new_root.key, issuer=old_root, not_after=NOW + 50 * DAY
    )
    r3 = pki.make_cert("R3", issuer=new_root)
    leaf = pki.make_cert(H, issuer=r3, ca=False, dns=[H])
    return new_root, old_root, cross_expired, cross_valid, r3, leaf


def test_expired_cross_sign_is_dropped_for_the_valid_path():
    new_root, old_root, cross_expired, _, r3, leaf = _cross_signed()
    plan = _plan([leaf, r3, cross_expired], [new_root, old_root])
    assert plan.ok
    assert _subjects(plan) == [H, "R3"]
    assert plan.root is not None and plan.root.sha256 == info(new_root).sha256
    rejected = [r for r in plan.reasons if r.code == "rejected-expired"]
    assert rejected and rejected[0].params["alternative"] == ["CN=R3", "CN=New Root"]
    assert rejected[0].params["issuer"] == "CN=Old Root"
    assert [c.display_name for c in plan.diff.extra] == ["New Root"]
    text = reason_text(rejected[0].code, rejected[0].params)
    assert text.startswith("not 'R3 > New Root': it contains 'New Root', expired ")


def test_expired_cross_sign_finding():
    new_root, old_root, cross_expired, _, r3, leaf = _cross_signed()
    presented = pcs([leaf, r3, cross_expired])
    store = anchors([new_root, old_root], "go")
    (f,) = expired_cross_signs(presented, at=NOW, anchors=[store])
    assert f.code == Code.EXPIRED_CROSS_SIGN
    assert f.params["valid_alternative"] is True
    assert f.params["alternative_self_signed"] is True
    assert f.params["alternative_trusted_by"] == ["go"]
    assert f.params["issuer"] == "CN=Old Root"
    assert f.certs == (info(cross_expired).sha256, info(new_root).sha256)
    assert serve_findings(presented, at=NOW, anchors=[store]) == [f]
    # An ordinary expired intermediate (no sibling) is the primary cause's business.
    lone = pki.make_cert("Lone", issuer=old_root, not_before=NOW - 90 * DAY, not_after=NOW - DAY)
    assert expired_cross_signs(pcs([leaf, lone]), at=NOW, anchors=[store]) == []
    # Before it expired, nothing to say.
    assert expired_cross_signs(presented, at=NOW - 400 * DAY, anchors=[store]) == []
    # Served by an AIA URL: reported too.
    (g,) = expired_cross_signs(
        pcs([leaf, r3]), at=NOW, fetched=pcs([cross_expired]), anchors=[anchors([new_root])]
    )
    assert g.params["origin"] == "fetched" and g.params["valid_alternative"] is True
    # Two expired siblings and no valid one: still a cross-sign, flagged as such.
    older = pki.make_cert(
        "New Root",
        key=new_root.key,
        issuer=old_root,
        not_before=NOW - 2000 * DAY,
        not_after=NOW - 900 * DAY,
    )
    found = expired_cross_signs(pcs([leaf, r3, cross_expired, older]), at=NOW)
    assert len(found) == 2 and all(x.params["valid_alternative"] is False for x in found)
    assert all(x.params["alternative_trusted_by"] == [] for x in found)


def test_shorter_path_wins_when_both_work():
    new_root, old_root, _, cross_valid, r3, leaf = _cross_signed()
    plan = _plan([leaf, r3, cross_valid], [new_root, old_root])
    assert plan.ok and _subjects(plan) == [H, "R3"]
    (r,) = [r for r in plan.reasons if r.code.startswith("rejected-")]
    assert r.code == "rejected-longer" and r.params["length"] == 2


def test_longer_path_wins_when_a_client_lacks_the_new_root():
    new_root, old_root, _, cross_valid, r3, leaf = _cross_signed()
    plan_pairs = [
        ("go", anchors([new_root, old_root], "go")),
        ("openssl", anchors([old_root], "o", "openssl")),
    ]
    plan = _plan([leaf, r3], [], supplied=[cross_valid], pairs=plan_pairs)
    assert plan.ok
    assert _subjects(plan) == [H, "R3", "New Root"]
    assert [c.origin for c in plan.chain] == ["leaf", "presented", "supplied"]
    (r,) = [r for r in plan.reasons if r.code.startswith("rejected-")]
    assert r.code == "rejected-untrusted" and r.params["refused_by"] == ["openssl"]
    assert "roots-differ" in _codes(plan)  # go stops at New Root, openssl at Old Root


def test_stronger_path_wins():
    # Go accepts RSA-1024 (crypto/rsa refuses < 1024 only): two working paths,
    # the one through the 1024-bit root is weaker.
    strong = pki.make_cert("Strong Root")
    weak = pki.make_cert("Weak Root", key_kind="rsa1024")
    ca = pki.make_cert("Issuing CA", issuer=strong)
    ca_weak = pki.make_cert("Issuing CA", key=ca.key, issuer=weak)
    leaf = pki.make_cert(H, issuer=ca, ca=False, dns=[H])
    plan = _plan([leaf, ca_weak, ca], [strong, weak], clients=("go",))
    assert plan.ok
    assert plan.chain[1].cert.sha256 == info(ca).sha256
    (r,) = [r for r in plan.reasons if r.code.startswith("rejected-")]
    assert r.code == "rejected-weaker"
    assert r.params["subject"] == "CN=Weak Root" and r.params["detail"] == "RSA-1024 key"


def test_longer_lived_then_fewer_changes():
    root = pki.make_cert("Root")
    ca_long = pki.make_cert("Issuing CA", issuer=root, not_after=NOW + 900 * DAY)
    ca_short = pki.make_cert("Issuing CA", key=ca_long.key, issuer=root, not_after=NOW + 20 * DAY)
    leaf = pki.make_cert(H, issuer=ca_long, ca=False, dns=[H])
    plan = _plan([leaf, ca_short], [root], supplied=[ca_long])
    assert plan.ok and plan.chain[1].cert.sha256 == info(ca_long).sha256
    (r,) = [r for r in plan.reasons if r.code.startswith("rejected-")]
    assert r.code == "rejected-shorter-lived"
    # Same validity: the one the server already sends wins.
    twin = pki.make_cert(
        "Issuing CA",
        key=ca_long.key,
        issuer=root,
        not_before=NOW - 30 * DAY,
        not_after=NOW + 900 * DAY,
    )
    ca_same = pki.make_cert(
        "Issuing CA",
        key=ca_long.key,
        issuer=root,
        not_before=NOW - 30 * DAY,
        not_after=NOW + 900 * DAY,
    )
    plan = _plan([leaf, twin], [root], supplied=[ca_same])
    assert plan.ok and plan.chain[1].origin == "presented" and plan.diff.unchanged
    (r,) = [r for r in plan.reasons if r.code.startswith("rejected-")]
    assert r.code == "rejected-more-changes"


def test_plan_is_deterministic_and_bounded():
    root = pki.make_cert("Root")
    ca = pki.make_cert("Issuing CA", issuer=root)
    copies = [
        pki.make_cert("Issuing CA", key=ca.key, issuer=root, not_after=NOW + (400 + i) * DAY)
        for i in range(40)
    ]
    leaf = pki.make_cert(H, issuer=ca, ca=False, dns=[H])
    a = _plan([leaf], [root], supplied=copies)
    b = _plan([leaf], [root], supplied=list(reversed(copies)))
    assert a.ok and [c.cert.sha256 for c in a.chain] == [c.cert.sha256 for c in b.chain]
    assert a.considered <= 32
    # The cap (32 candidates judged) keeps the winner: the longest-lived copy.
    assert a.chain[1].cert.sha256 == info(copies[-1]).sha256


def test_every_reason_has_english():
    assert set(REASONS) == set(REASON_TEXT)
    for code in REASONS:
        assert "?" not in reason_text(code, {}) or "{" in REASON_TEXT[code]


def test_naive_time_and_no_clients(h):
    leaf = info(h.leaf)
    plan = plan_bundle(
        leaf,
        presented=pcs([h.leaf, h.intermediate]),
        clients=_pairs([h.root]),
        at=NOW.replace(tzinfo=None),
    )
    assert plan.ok
    with pytest.raises(ValueError):
        plan_bundle(leaf, presented=[], clients=[], at=NOW)


def test_expired_everything_is_not_ok(h):
    plan = _plan([h.leaf, h.intermediate], [h.root], at=NOW + 3000 * DAY)
    assert not plan.ok
    assert {r.cause for r in plan.clients} == {Code.EXPIRED}
    assert all(
        r.code in ("refused", "no-path") for r in plan.reasons if r.code in ("refused", "no-path")
    )
    assert any(r.code == "refused" for r in plan.reasons)


# -- private keys ----------------------------------------------------------------------------


def test_key_formats_and_matching(h, tmp_path):
    leaf = info(h.leaf)
    keys = load_private_keys(h.leaf.key_pem, "k.pem")
    assert keys.matches(leaf) and keys.kind_for(leaf) == "ECDSA secp256r1"
    # A HAProxy-style PEM: certificate, then the key.
    assert load_private_keys(h.leaf.pem + h.leaf.key_pem, "hap.pem").matches(leaf)
    der = h.leaf.key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    assert load_private_keys(der, "k.der").matches(leaf)
    sec1 = h.leaf.key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    assert load_private_keys(sec1, "ec.pem").matches(leaf)
    ssh = h.leaf.key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    )
    assert load_private_keys(ssh, "id").matches(leaf)
    other = pki.new_key("rsa2048")
    rsa_pem = other.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    k = load_private_keys(rsa_pem, "rsa.pem")
    assert not k.matches(leaf) and k.kind_for(leaf) == "RSA-2048"
    # Several keys: matches when one does.
    assert load_private_keys(rsa_pem + h.leaf.key_pem, "both.pem").matches(leaf)


def test_encrypted_keys(h):
    enc = h.leaf.key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"s3cret"),
    )
    assert load_private_keys(enc, "e.pem", password=b"s3cret").matches(info(h.leaf))
    with pytest.raises(InputError, match="encrypted; give its password"):
        load_private_keys(enc, "e.pem")
    with pytest.raises(InputError, match="wrong password"):
        load_private_keys(enc, "e.pem", password=b"nope")
    with pytest.raises(InputError, match="not encrypted"):
        load_private_keys(h.leaf.key_pem, "k.pem", password=b"x")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty file"),
        (b"\x00\x01garbage" * 10, "not a readable private key"),
        (b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "no private key"),
        (
            b"-----BEGIN PRIVATE KEY-----\nnot base64 at all !!\n-----END PRIVATE KEY-----\n",
            "not a readable private key",
        ),
    ],
)
def test_bad_keys_are_one_line_input_errors(data, message):
    with pytest.raises(InputError, match=message) as exc:
        load_private_keys(data, "bad.pem")
    assert "\n" not in exc.value.message and exc.value.message.startswith("bad.pem: ")


def test_key_material_never_in_messages(h):
    broken = h.leaf.key_pem.replace(b"\n", b"\n", 1)[:-40] + b"\n-----END PRIVATE KEY-----\n"
    with pytest.raises(InputError) as exc:
        load_private_keys(broken, "k.pem")
    body = b"".join(h.leaf.key_pem.splitlines()[1:-1]).decode()
    for i in range(0, len(body) - 16, 16):
        assert body[i : i + 16] not in exc.value.message


def test_presented_cert_provenance_in_chain(h):
    leaf = info(h.leaf)
    presented = [
        PresentedCert(leaf, Provenance("tls://127.0.0.1:8443", 0)),
        PresentedCert(info(h.intermediate), Provenance("tls://127.0.0.1:8443", 1)),
    ]
    plan = plan_bundle(leaf, presented=presented, clients=_pairs([h.root]), at=NOW)
    assert [c.source for c in plan.chain] == [
        "tls://127.0.0.1:8443 (#1)",
        "tls://127.0.0.1:8443 (#2)",
    ]
    assert isinstance(plan.chain[0].cert.not_after, dt.datetime)
