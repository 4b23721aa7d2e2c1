"""Every failure shape of the core issue, asserted per client policy."""

from __future__ import annotations

import time

import pytest

from helpers.engine import causes, run
from trustdoctor.lab.pki import DAY, NOW, Hierarchy, hierarchy, make_cert
from trustdoctor.model.findings import Code

# Newest Go wraps x509 errors (crypto/tls CertificateVerificationError, Go >= 1.20).
GO_VERIFY = "tls: failed to verify certificate: "

H = "registry.internal.example.com"


@pytest.fixture(scope="module")
def h() -> Hierarchy:
    return hierarchy()


def all_three(d, code: str) -> None:
    assert causes(d) == {"go": code, "openssl": code, "webpki": code}, causes(d)


def test_complete_chain_is_trusted(h):
    d = run([h.leaf, h.intermediate], [h.root])
    assert d.verdict.trusted
    all_three(d, "ok")
    assert d.findings == ()
    for v in d.clients:
        assert [link.role for link in v.path] == ["leaf", "intermediate", "anchor"]


def test_missing_intermediate_is_server_side(h):
    d = run([h.leaf], [h.root])
    all_three(d, "missing-intermediate")
    assert d.verdict.side.value == "server"
    v = d.clients[0]
    assert v.alternatives == (Code.UNTRUSTED_ROOT,)
    assert "supply-root" in v.settle
    assert v.findings[0].params["issuer"] == "CN=Example Internal Issuing CA"
    assert v.path[-1].role == "missing"


def test_missing_intermediate_with_aia_is_more_confident(h):
    leaf = make_cert(
        H,
        issuer=h.intermediate,
        ca=False,
        dns=[H],
        aia_ca_issuers=["http://pki.example.com/issuing.crt"],
    )
    d = run([leaf], [h.root])
    v = d.clients[0]
    assert v.cause == Code.MISSING_INTERMEDIATE
    assert v.confidence.value == "medium"
    assert v.settle[0] == "fetch-aia"


def test_supplied_intermediate_completes_the_chain(h):
    d = run([h.leaf], [h.root], supplied=[h.intermediate])
    assert d.verdict.trusted


def test_private_root_not_installed_is_client_side(h):
    d = run([h.leaf, h.intermediate], [make_cert("Some Other Root")])
    all_three(d, "untrusted-root")
    assert d.verdict.side.value == "client"
    assert d.clients[0].client_error == GO_VERIFY + "x509: certificate signed by unknown authority"
    assert d.clients[1].client_error == "verify error:num=20:unable to get local issuer certificate"


def test_root_sent_by_server_but_not_trusted(h):
    d = run([h.leaf, h.intermediate, h.root], [make_cert("Other")])
    all_three(d, "untrusted-root")
    assert d.clients[0].confidence.value == "high"
    assert d.clients[1].client_error.startswith("verify error:num=19:")
    assert [f.code for f in d.findings] == [Code.ROOT_SENT]


def test_root_sent_and_trusted_is_only_a_note(h):
    d = run([h.leaf, h.intermediate, h.root], [h.root])
    assert d.verdict.trusted
    assert [f.code for f in d.findings] == [Code.ROOT_SENT]


def test_missing_root_known_to_another_store_is_high_confidence(h):
    # The leaf's issuer is a root that another client trusts: the client lacks it.
    direct = make_cert(H, issuer=h.root, ca=False, dns=[H])
    from helpers.engine import pc
    from trustdoctor.engine.judge import judge
    from trustdoctor.model.anchors import Anchor, make_anchor_set
    from trustdoctor.model.cert import Provenance, from_certificate

    empty = make_anchor_set("go", [Anchor(from_certificate(make_cert("X").cert), Provenance("s"))])
    full = make_anchor_set("java", [Anchor(from_certificate(h.root.cert), Provenance("cacerts"))])
    d = judge([pc(direct)], clients=[("go", empty), ("java", full)], at=NOW, host=H)
    go, java = d.clients
    assert java.trusted and not go.trusted
    assert go.cause == Code.UNTRUSTED_ROOT and go.confidence.value == "high"
    assert go.findings[0].params["known_in"] == ["java"]
    assert any(f.code == Code.CLIENT_DISAGREEMENT for f in d.findings)


def test_self_signed_leaf(h):
    ss = make_cert(H, ca=False, dns=[H])
    d = run([ss], [h.root])
    all_three(d, "self-signed-leaf")
    assert d.clients[1].client_error == "verify error:num=18:self-signed certificate"


def test_self_signed_leaf_pinned_is_trusted():
    ss = make_cert(H, ca=False, dns=[H])
    d = run([ss], [ss])
    assert d.verdict.trusted


def test_not_a_ca_issuer_gives_go_hint(h):
    nonca = make_cert("Not A CA", issuer=h.root, ca=False)
    leaf = make_cert(H, issuer=nonca, ca=False, dns=[H])
    d = run([leaf, nonca], [h.root])
    all_three(d, "not-a-ca")
    assert d.clients[0].client_error == (
        GO_VERIFY
        + 'x509: certificate signed by unknown authority (possibly because of "x509: invalid '
        'signature: parent certificate cannot sign this kind of certificate" while trying to '
        'verify candidate authority certificate "Not A CA")'
    )
    assert d.clients[1].client_error == "verify error:num=79:invalid CA certificate"


@pytest.mark.parametrize("kind", ["no-basic-constraints", "no-key-cert-sign"])
def test_other_not_a_ca_shapes(h, kind):
    if kind == "no-basic-constraints":
        bad = make_cert("Bad CA", issuer=h.root, ca=None)
    else:
        bad = make_cert("Bad CA", issuer=h.root, key_usage=("digital_signature",))
    leaf = make_cert(H, issuer=bad, ca=False, dns=[H])
    d = run([leaf, bad], [h.root])
    all_three(d, "not-a-ca")
    assert d.clients[0].findings[0].params["reason"] == kind


def test_v1_intermediate_is_not_a_ca_but_v1_root_is_an_anchor(h):
    v1root = make_cert("V1 Root", version1=True)
    inter = make_cert("Inter", issuer=v1root)
    leaf = make_cert(H, issuer=inter, ca=False, dns=[H])
    d = run([leaf, inter], [v1root], clients=("go", "openssl"))
    assert d.verdict.trusted, causes(d)
    v1inter = make_cert("V1 Inter", issuer=h.root, version1=True)
    leaf2 = make_cert(H, issuer=v1inter, ca=False, dns=[H])
    d = run([leaf2, v1inter], [h.root], clients=("go",))
    assert causes(d) == {"go": "not-a-ca"}
    assert (
        d.clients[0].client_error
        == GO_VERIFY + "x509: certificate is not authorized to sign other certificates"
    )


def test_expired_leaf_order_differs_between_go_and_openssl(h):
    exp = make_cert(H, issuer=h.intermediate, ca=False, dns=[H], not_after=NOW - DAY)
    d = run([exp, h.intermediate], [make_cert("Other")])
    # Go checks the leaf's validity first; OpenSSL reports the untrusted chain first.
    assert causes(d) == {"go": "expired", "openssl": "untrusted-root", "webpki": "expired"}
    assert d.clients[0].client_error.startswith(
        GO_VERIFY + "x509: certificate has expired or is not yet valid: "
        "current time 2026-06-01T12:00:00Z is after"
    )
    assert d.verdict.cause == Code.EXPIRED  # the first client's


@pytest.mark.parametrize("which", ["leaf", "intermediate", "root"])
def test_expired_anywhere(which):
    past = dict(not_after=NOW - DAY, not_before=NOW - 400 * DAY)
    root = make_cert("Root", **(past if which == "root" else {}))
    inter = make_cert("Inter", issuer=root, **(past if which == "intermediate" else {}))
    leaf = make_cert(H, issuer=inter, ca=False, dns=[H], **(past if which == "leaf" else {}))
    d = run([leaf, inter], [root])
    all_three(d, "expired")
    depth = {"leaf": 0, "intermediate": 1, "root": 2}[which]
    assert d.clients[0].findings[0].params["depth"] == depth
    assert d.clients[1].client_error == "verify error:num=10:certificate has expired"


@pytest.mark.parametrize("which", ["leaf", "intermediate", "root"])
def test_not_yet_valid_anywhere(which):
    future = dict(not_before=NOW + DAY)
    root = make_cert("Root", **(future if which == "root" else {}))
    inter = make_cert("Inter", issuer=root, **(future if which == "intermediate" else {}))
    leaf = make_cert(H, issuer=inter, ca=False, dns=[H], **(future if which == "leaf" else {}))
    d = run([leaf, inter], [root])
    all_three(d, "not-yet-valid")


def test_hostname_mismatch(h):
    d = run([h.leaf, h.intermediate], [h.root], host="other.example.com")
    all_three(d, "hostname-mismatch")
    assert d.clients[0].client_error == (
        GO_VERIFY
        + "x509: certificate is valid for registry.internal.example.com, not other.example.com"
    )
    assert d.clients[1].client_error == "verify error:num=62:hostname mismatch"


def test_ip_host_needs_ip_san(h):
    d = run([h.leaf, h.intermediate], [h.root], host="127.0.0.1")
    all_three(d, "hostname-mismatch")
    assert d.clients[0].client_error == (
        GO_VERIFY
        + "x509: cannot validate certificate for 127.0.0.1 because it doesn't contain any IP SANs"
    )
    ip_leaf = make_cert("ip", issuer=h.intermediate, ca=False, ips=["127.0.0.1"])
    assert run([ip_leaf, h.intermediate], [h.root], host="127.0.0.1").verdict.trusted


def test_wildcards(h):
    wc = make_cert("wc", issuer=h.intermediate, ca=False, dns=["*.example.com"])
    assert run([wc, h.intermediate], [h.root], host="a.example.com").verdict.trusted
    assert not run([wc, h.intermediate], [h.root], host="a.b.example.com").verdict.trusted
    assert not run([wc, h.intermediate], [h.root], host="example.com").verdict.trusted


def test_cn_only_leaf_go_refuses_openssl_accepts(h):
    cn = make_cert(H, issuer=h.intermediate, ca=False)
    d = run([cn, h.intermediate], [h.root])
    assert causes(d) == {"go": "hostname-mismatch", "openssl": "ok", "webpki": "hostname-mismatch"}
    assert d.clients[0].client_error == (
        GO_VERIFY + "x509: certificate relies on legacy Common Name field, use SANs instead"
    )
    assert Code.LEGACY_COMMON_NAME in [f.code for f in d.findings]


def test_client_auth_only_eku(h):
    leaf = make_cert(H, issuer=h.intermediate, ca=False, dns=[H], eku=["clientAuth"])
    d = run([leaf, h.intermediate], [h.root])
    all_three(d, "wrong-usage")
    assert d.clients[0].client_error == (
        GO_VERIFY
        + "x509: certificate specifies an incompatible key usage"
    )


def test_intermediate_eku_must_allow_server_auth(h):
    inter = make_cert("EKU Inter", issuer=h.root, eku=["clientAuth"])
    leaf = make_cert(H, issuer=inter, ca=False, dns=[H])
    d = run([leaf, inter], [h.root])
    all_three(d, "wrong-usage")
    assert d.clients[0].findings[0].params["which"] == "ca-eku"


def test_any_eku_go_accepts_openssl_refuses(h):
    leaf = make_cert(H, issuer=h.intermediate, ca=False, dns=[H], eku=["any"])
    d = run([leaf, h.intermediate], [h.root], clients=("go", "openssl"))
    assert causes(d) == {"go": "ok", "openssl": "wrong-usage"}


@pytest.mark.parametrize(
    ("kw", "host"),
    [
        ({"permitted_dns": ["example.org"]}, H),
        ({"excluded_dns": ["internal.example.com"]}, H),
        ({"permitted_ip": ["10.0.0.0/8"]}, None),
        ({"excluded_ip": ["192.0.2.0/24"]}, None),
    ],
)
def test_name_constraints(h, kw, host):
    ca = make_cert("Constrained CA", issuer=h.root, **kw)
    if "permitted_ip" in kw or "excluded_ip" in kw:
        leaf = make_cert("ip", issuer=ca, ca=False, ips=["192.0.2.10"])
        host = "192.0.2.10"
    else:
        leaf = make_cert(H, issuer=ca, ca=False, dns=[H])
    d = run([leaf, ca], [h.root], host=host)
    all_three(d, "name-constraints")
    expected_kind = "excluded" if any(k.startswith("excluded") for k in kw) else "not-permitted"
    assert d.clients[0].findings[0].params["kind"] == expected_kind


def test_name_constraints_permit(h):
    ca = make_cert("Constrained CA", issuer=h.root, permitted_dns=["example.com"])
    leaf = make_cert(H, issuer=ca, ca=False, dns=[H])
    assert run([leaf, ca], [h.root]).verdict.trusted


def test_path_length(h):
    p0 = make_cert("PL0", issuer=h.root, path_length=0)
    sub = make_cert("Sub", issuer=p0)
    leaf = make_cert(H, issuer=sub, ca=False, dns=[H])
    d = run([leaf, sub, p0], [h.root])
    all_three(d, "path-too-long")
    assert d.clients[0].client_error == (
        GO_VERIFY
        + "x509: too many intermediates for path length constraint"
    )


def test_sha1_intermediate_rejected_sha1_root_fine(h):
    sha1i = make_cert("SHA1 Inter", issuer=h.root, hash_alg="sha1")
    leaf = make_cert(H, issuer=sha1i, ca=False, dns=[H])
    d = run([leaf, sha1i], [h.root])
    all_three(d, "insecure-algorithm")
    assert "insecure algorithm ECDSA-SHA1" in d.clients[0].client_error
    # A self-signed SHA-1 root: its own signature is never checked.
    root = make_cert("SHA1 Root", hash_alg="sha1")
    inter = make_cert("Inter", issuer=root)
    leaf = make_cert(H, issuer=inter, ca=False, dns=[H])
    assert run([leaf, inter], [root]).verdict.trusted


def test_md5_rejected_everywhere(h):
    rsa_root = make_cert("RSA Root", key_kind="rsa2048")
    inter = make_cert("MD5 Inter", issuer=rsa_root, hash_alg="md5", key_kind="rsa2048")
    leaf = make_cert(H, issuer=inter, ca=False, dns=[H])
    d = run([leaf, inter], [rsa_root])
    all_three(d, "insecure-algorithm")


def test_rsa1024_go_accepts_others_refuse():
    root = make_cert("RSA1024 Root", key_kind="rsa1024")
    leaf = make_cert(H, issuer=root, ca=False, dns=[H])
    d = run([leaf], [root])
    assert causes(d) == {"go": "ok", "openssl": "weak-key", "webpki": "weak-key"}
    assert d.clients[1].client_error == "verify error:num=67:CA certificate key too weak"


def _weak(d, client: str = "webpki"):
    v = next(v for v in d.clients if v.client == client)
    f = next(f for f in v.findings if f.code == Code.WEAK_KEY)
    from trustdoctor.render.words import headline

    return f, headline(f.code, f.params)


@pytest.mark.parametrize("where", ["intermediate", "root", "every"])
def test_ed25519_keys_outside_the_web_pki_profile(where: str):
    """Go and OpenSSL verify Ed25519 certificates (``openssl verify`` agrees);
    cryptography's Web PKI verifier (CA/B Forum BR §6.1.5: RSA and ECDSA)
    refuses an Ed25519 key that verifies a signature in the path, a CA's: the
    finding names that CA and its key type, not "a ?-bit ? key".  (A leaf's
    own Ed25519 key it leaves to the handshake.)"""
    ed = {"intermediate": ("ec", "ed25519", "ec"), "root": ("ed25519", "ec", "ec"),
          "every": ("ed25519", "ed25519", "ed25519")}[where]  # fmt: skip
    root = make_cert("Ed Root", key_kind=ed[0])
    inter = make_cert("Ed Inter", issuer=root, key_kind=ed[1])
    leaf = make_cert(H, issuer=inter, ca=False, dns=[H], key_kind=ed[2])
    d = run([leaf, inter], [root])
    assert causes(d) == {"go": "ok", "openssl": "ok", "webpki": "weak-key"}
    f, text = _weak(d)
    named = root if where == "root" else inter
    assert f.params["subject"] == named.cert.subject.rfc4514_string()
    assert f.params["key_type"] == "Ed25519" and f.params["rule"] == "key-algorithm"
    assert "key of type Ed25519" in text and "?" not in text, text
    # The client's error is the verifier's own, not "RSA key is too weak".
    webpki = next(v for v in d.clients if v.client == "webpki")
    assert "Forbidden public key algorithm" in webpki.client_error, webpki.client_error
    ec_root = make_cert("EC Root")
    ed_leaf = make_cert(H, issuer=ec_root, ca=False, dns=[H], key_kind="ed25519")
    assert causes(run([ed_leaf], [ec_root])) == {"go": "ok", "openssl": "ok", "webpki": "ok"}


def test_weak_key_headlines_say_what_is_wrong():
    """Each way a key is refused has its own words: below the minimum (with it),
    an RSA size not divisible by 8 (the Web PKI), a curve outside it."""
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    small = make_cert("Small Root", key_kind="rsa1024")
    _, text = _weak(run([make_cert(H, issuer=small, ca=False, dns=[H])], [small]), "openssl")
    assert "1024-bit RSA key, below this client's minimum" in text and "?" not in text, text
    _, text = _weak(run([make_cert(H, issuer=small, ca=False, dns=[H])], [small]))
    assert "below this client's minimum of 2048 bits" in text, text
    odd = make_cert("Odd Root", key=rsa.generate_private_key(public_exponent=65537, key_size=2052))
    d = run([make_cert(H, issuer=odd, ca=False, dns=[H])], [odd])
    assert causes(d)["webpki"] == "weak-key" and causes(d)["go"] == "ok"
    _, text = _weak(d)
    assert "2052-bit RSA key" in text and "not divisible by 8" in text, text
    p224 = make_cert("P224 Root", key=ec.generate_private_key(ec.SECP224R1()))
    d = run([make_cert(H, issuer=p224, ca=False, dns=[H])], [p224])
    assert causes(d)["webpki"] == "weak-key"
    _, text = _weak(d)
    assert "ECDSA key on secp224r1, a curve this client refuses" in text, text


def test_unknown_critical_extension(h):
    leaf = make_cert(H, issuer=h.intermediate, ca=False, dns=[H], unknown_critical=True)
    d = run([leaf, h.intermediate], [h.root])
    all_three(d, "unhandled-critical-extension")


def test_bad_signature_same_name_other_key(h):
    # An intermediate re-keyed under the same name: the leaf no longer verifies.
    impostor = make_cert("Example Internal Issuing CA", issuer=h.root)
    d = run([h.leaf, impostor], [h.root])
    all_three(d, "bad-signature")
    assert (
        "crypto/rsa: verification error" in d.clients[0].client_error
        or "ECDSA verification failure" in d.clients[0].client_error
    )


def test_root_rekeyed_under_same_name_is_client_side(h):
    newroot = make_cert("Example Internal Root CA")  # same name, new key
    d = run([h.leaf, h.intermediate], [newroot])
    v = d.clients[0]
    assert v.cause == Code.UNTRUSTED_ROOT
    assert v.findings[0].params["same_name_different_key"] is True


def test_openssl_needs_the_root_go_accepts_an_intermediate_anchor(h):
    d = run([h.leaf, h.intermediate], [h.intermediate])
    assert causes(d) == {"go": "ok", "openssl": "untrusted-root", "webpki": "ok"}
    assert d.clients[1].client_error == "verify error:num=2:unable to get issuer certificate"


def test_cross_signed_chain_picks_valid_path():
    old_root = make_cert("Old Root", not_after=NOW - DAY, not_before=NOW - 900 * DAY)
    new_root = make_cert("New Root")
    inter_key_holder = make_cert("Issuing CA", issuer=new_root)
    cross = make_cert(
        "Issuing CA",
        issuer=old_root,
        key=inter_key_holder.key,
        not_after=NOW - DAY,
        not_before=NOW - 900 * DAY,
    )
    leaf = make_cert(H, issuer=inter_key_holder, ca=False, dns=[H])
    # Server sends the expired cross-sign; the client has the new root.
    d = run([leaf, cross], [new_root, old_root], supplied=[inter_key_holder])
    assert d.verdict.trusted, causes(d)
    # Only the expired cross-sign, and only the old root: expired.
    d = run([leaf, cross], [old_root])
    all_three(d, "expired")


def test_wrong_order_duplicates_extra_and_root_first(h):
    unrelated = make_cert("Unrelated CA")
    d = run([h.leaf, h.root, h.intermediate, h.intermediate, unrelated], [h.root])
    assert d.verdict.trusted
    codes = [f.code for f in d.findings]
    assert Code.WRONG_ORDER in codes
    assert Code.DUPLICATE_CERTIFICATE in codes
    assert Code.EXTRA_CERTIFICATE in codes
    assert Code.ROOT_SENT in codes
    # Root-first paste: the leaf is still found.
    d = run([h.root, h.intermediate, h.leaf], [h.root])
    assert d.leaf.subject == f"CN={H}"
    assert d.verdict.trusted
    assert Code.WRONG_ORDER in [f.code for f in d.findings]


def test_expiring_soon_and_intermediate_expiring_first():
    root = make_cert("Root")
    inter = make_cert("Inter", issuer=root, not_after=NOW + 10 * DAY)
    leaf = make_cert(H, issuer=inter, ca=False, dns=[H], not_after=NOW + 300 * DAY)
    d = run([leaf, inter], [root])
    assert d.verdict.trusted
    codes = [f.code for f in d.findings]
    assert Code.EXPIRING_SOON in codes and Code.INTERMEDIATE_EXPIRES_FIRST in codes


def test_hostile_pool_of_1000_same_subject_is_bounded(h):
    # No key identifiers anywhere, so nothing tells the decoys apart but a
    # signature check; the real issuer comes last.  Real clients give up on
    # such a chain, each its own way, and the models must say so quickly.
    real = make_cert("Shared Name CA", issuer=h.root, ski=False)
    leaf = make_cert(H, issuer=real, ca=False, dns=[H], aki=False)
    decoys = [make_cert("Shared Name CA", issuer=h.root, ski=False) for _ in range(1000)]
    t0 = time.process_time()  # work done, not the wall clock of a busy machine
    d = run([leaf, *decoys], [h.root], supplied=[real], clients=("go", "openssl", "java"))
    elapsed = time.process_time() - t0
    assert elapsed < 3.0, elapsed
    go, openssl, java = d.clients
    # crypto/tls refuses a Certificate message over 256 KiB before parsing it.
    assert go.cause == Code.UNPARSABLE_CERTIFICATE
    assert go.client_error.startswith("tls: handshake message of length ")
    # OpenSSL takes the first decoy (a valid, same-name CA) and never goes back.
    assert openssl.client_error == "verify error:num=7:certificate signature failure"
    # A searching verifier still finds the right one among the decoys.
    assert java.trusted
    # The same decoys supplied rather than sent: Go stops at its budget of
    # 100 signature checks.
    t0 = time.monotonic()
    d = run([leaf], [h.root], supplied=[*decoys, real], clients=("go", "openssl"))
    assert time.monotonic() - t0 < 3.0
    assert d.clients[0].client_error == (
        GO_VERIFY + "x509: signature check attempts limit reached "
        "while verifying certificate chain"
    )
    assert d.clients[0].cause == Code.PATH_TOO_LONG
    assert d.clients[1].cause == Code.BAD_SIGNATURE


def test_cyclic_cross_sign_graph_is_bounded(h):
    # 50 CAs, each cross-signed by the next and by the one after: cycles everywhere.
    from trustdoctor.lab.pki import new_key

    n = 50
    keys = [new_key() for _ in range(n)]
    names = [f"Ring CA {i}" for i in range(n)]
    selfs = [make_cert(names[i], key=keys[i]) for i in range(n)]
    cross = []
    for i in range(n):
        for step in (1, 2):
            j = (i + step) % n
            cross.append(make_cert(names[i], issuer=selfs[j], key=keys[i]))
    leaf = make_cert(H, issuer=selfs[0], ca=False, dns=[H])
    t0 = time.monotonic()
    d = run([leaf, *cross], [make_cert("Unrelated Root")])
    elapsed = time.monotonic() - t0
    assert elapsed < 2.0, elapsed
    assert not d.verdict.trusted
    assert d.verdict.cause in (Code.UNTRUSTED_ROOT, Code.PATH_TOO_LONG)


def test_java_policy_differences(h):
    # Any trusted certificate is a TrustAnchor in PKIX.
    d = run([h.leaf, h.intermediate], [h.intermediate], clients=("java", "openssl"))
    assert causes(d) == {"java": "ok", "openssl": "untrusted-root"}
    # SHA-1 from a private CA passes (jdk.certpath.disabledAlgorithms: "SHA1 jdkCA").
    sha1i = make_cert("SHA1 Inter", issuer=h.root, hash_alg="sha1")
    leaf = make_cert(H, issuer=sha1i, ca=False, dns=[H])
    assert causes(run([leaf, sha1i], [h.root], clients=("java",))) == {"java": "ok"}
    d = run([h.leaf], [h.root], clients=("java",))
    assert d.clients[0].client_error.startswith("PKIX path building failed")


def test_signature_answers_keep_no_certificate() -> None:
    """Answers are remembered by fingerprint: a certificate asked about is not kept
    alive by the cache (``serve`` keeps nothing pasted)."""
    import gc
    import weakref

    from trustdoctor.model import cert as cert_module
    from trustdoctor.model.cert import from_certificate, verify_signature

    h = hierarchy("sigcache.test")
    child, parent = from_certificate(h.leaf.cert), from_certificate(h.intermediate.cert)
    assert verify_signature(child, parent) is None
    refs = [weakref.ref(child), weakref.ref(parent)]
    assert (child.sha256, parent.sha256) in cert_module._ANSWERS
    del child, parent
    gc.collect()
    assert all(r() is None for r in refs)


ALL_CLIENTS = ("go", "openssl", "curl", "python", "requests", "httpx", "node", "java", "webpki")


@pytest.mark.parametrize(
    ("host", "trusting"),
    [
        (H + ".", {"go", "curl", "requests", "node", "java", "webpki"}),
        (H + "..", {"requests"}),  # one dot dropped leaves an empty label; urllib3 drops all
        (H, set(ALL_CLIENTS)),
    ],
)
def test_final_dot_of_the_name_checked_per_client(h, host: str, trusting: set[str]):
    """clients.TRAILING_DOT: OpenSSL, Python's ssl and httpx compare the name with
    its final dot (a mismatch no certificate can fix: the plan says so and
    reissues nothing); Go, curl, Node, Java and browsers drop one dot."""
    from trustdoctor.fixes import plan_for_diagnosis

    d = run([h.leaf, h.intermediate], [h.root], host=host, clients=ALL_CLIENTS)
    assert {v.client for v in d.clients if v.trusted} == trusting, causes(d)
    for v in d.clients:
        if v.trusted:
            continue
        f = v.findings[0]
        assert f.code == Code.HOSTNAME_MISMATCH and f.params["host"] == host
        # Only the dots stand between the name and the certificate's.
        assert f.params["reason"] == "trailing-dot" and f.params["without_dot"] == H
        assert v.side.value == "client"
    if host != H:
        plan = plan_for_diagnosis(d, None, "debian")
        assert plan.side.value == "client" and plan.empty
        assert not any(s.action.value == "reissue" for s in plan.steps)
        assert [n.code for n in plan.notes if n.code == "trailing-dot-name"]
        assert d.verdict.sides == (d.verdict.side,)


def test_every_client_says_what_it_does_with_a_final_dot():
    from trustdoctor.clients import CLIENTS, TRAILING_DOT

    odd = {n: c.trailing_dot for n, c in CLIENTS.items() if c.trailing_dot not in TRAILING_DOT}
    assert odd == {}
