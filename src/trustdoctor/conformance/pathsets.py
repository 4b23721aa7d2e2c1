"""Generated path-building cases with several candidate issuers.

Each case is a leaf for ``H`` whose issuer name is shared by several
candidates, some of them unusable (expired, not a CA, another key, signed by
an untrusted root, without keyCertSign, clientAuth only, SHA-1, path length
0...), offered in different orders, with and without key identifiers, and
with trust stores holding re-issued roots or intermediates.  Clients that
search every path (Go) and clients that pick one issuer per step (OpenSSL's
build_chain) answer these differently; the oracle tests hold each model to
its real program on them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from ..lab.pki import DAY, NOW, Issued, PrivateKey, make_cert, new_key
from .cases import OracleCase

H = "svc.paths.test"


def _leaf(issuer: Issued, *, aki: bool = True, **kw: object) -> Issued:
    return make_cert(H, issuer=issuer, ca=False, dns=[H], aki=aki, **kw)  # type: ignore[arg-type]


def _case(
    cid: str,
    leaf: Issued,
    untrusted: list[Issued],
    roots: list[Issued],
    *,
    host: str | None = H,
    at: dt.datetime = NOW,
) -> OracleCase:
    return OracleCase(
        cid,
        (leaf.der, *(u.der for u in untrusted)),
        tuple(r.der for r in roots),
        host,
        at,
    )


def multi_issuer_cases() -> list[OracleCase]:
    """About fifty cases; keys are fresh, verdicts do not depend on them."""
    out: list[OracleCase] = []
    root_key: PrivateKey = new_key()
    root = make_cert("Paths Root", key=root_key)
    root_old = make_cert(
        "Paths Root", key=root_key, not_before=NOW - 900 * DAY, not_after=NOW - 10 * DAY
    )
    root_other_key = make_cert("Paths Root")  # same name, another key
    untrusted_root = make_cert("Paths Untrusted Root")
    root2 = make_cert("Paths Second Root")
    ikey: PrivateKey = new_key()

    def inter(**kw: object) -> Issued:
        kw.setdefault("issuer", root)
        kw.setdefault("key", ikey)
        return make_cert("Paths Issuing CA", **kw)  # type: ignore[arg-type]

    good = inter()
    variants: dict[str, Callable[[], Issued]] = {
        "expired": lambda: inter(not_before=NOW - 400 * DAY, not_after=NOW - DAY),
        "not-yet-valid": lambda: inter(not_before=NOW + DAY, not_after=NOW + 400 * DAY),
        "wrong-key": lambda: inter(key=new_key()),
        "not-ca": lambda: inter(ca=False, key_usage=("digital_signature", "key_cert_sign")),
        "no-keycertsign": lambda: inter(key_usage=("digital_signature",)),
        "client-auth-eku": lambda: inter(eku=("clientAuth",)),
        "untrusted-parent": lambda: inter(issuer=untrusted_root),
        "sha1": lambda: inter(hash_alg="sha1", key_kind="ec"),
        "critical-ext": lambda: inter(unknown_critical=True),
        "nc-excluded": lambda: inter(excluded_dns=["paths.test"]),
        "v1-like-no-bc": lambda: inter(ca=None),
        "cross-signed-root2": lambda: inter(issuer=root2),
        "expired-cross-root2": lambda: inter(
            issuer=root2, not_before=NOW - 400 * DAY, not_after=NOW - DAY
        ),
    }
    for vname, make in sorted(variants.items()):
        bad = make()
        for with_aki in (True, False):
            leaf = _leaf(good, aki=with_aki)
            tag = "" if with_aki else "-no-aki"
            out.append(_case(f"bad-first/{vname}{tag}", leaf, [bad, good], [root]))
            out.append(_case(f"bad-last/{vname}{tag}", leaf, [good, bad], [root]))
            out.append(_case(f"bad-only/{vname}{tag}", leaf, [bad], [root]))
        # Both roots trusted: the second root may be the only way through.
        out.append(_case(f"two-roots/{vname}", _leaf(good), [bad], [root, root2]))
    # Trust stores with several roots of one name.
    leaf = _leaf(good)
    out.append(_case("store/expired-root-first", leaf, [good], [root_old, root]))
    out.append(_case("store/expired-root-last", leaf, [good], [root, root_old]))
    out.append(_case("store/expired-root-only", leaf, [good], [root_old]))
    out.append(_case("store/other-key-root-first", leaf, [good], [root_other_key, root]))
    out.append(_case("store/other-key-root-only", leaf, [good], [root_other_key]))
    # The intermediate itself trusted (no partial chain in OpenSSL: code 2).
    out.append(_case("store/intermediate-trusted", leaf, [good], [good]))
    out.append(_case("store/intermediate-and-root", leaf, [], [good, root]))
    # The server sends its root, trusted or not, or a cross-signed copy.
    cross = make_cert("Paths Root", key=root_key, issuer=root2)
    out.append(_case("sent/root", leaf, [good, root], [root]))
    out.append(_case("sent/cross-signed-root-trusted-r1", leaf, [good, cross], [root]))
    out.append(_case("sent/cross-signed-root-trusted-r2", leaf, [good, cross], [root2]))
    out.append(_case("sent/cross-signed-root-both", leaf, [good, cross], [root2, root]))
    out.append(_case("sent/untrusted-root", leaf, [good, root], [untrusted_root]))
    # A path-length 0 intermediate above another intermediate, and a way round.
    pl0 = make_cert("Paths PL0 CA", issuer=root, path_length=0)
    sub_key: PrivateKey = new_key()
    sub_via_pl0 = make_cert("Paths Sub CA", issuer=pl0, key=sub_key)
    sub_direct = make_cert("Paths Sub CA", issuer=root, key=sub_key)
    leaf_sub = _leaf(sub_via_pl0)
    out.append(_case("pathlen/pl0-first", leaf_sub, [sub_via_pl0, pl0, sub_direct], [root]))
    out.append(_case("pathlen/direct-first", leaf_sub, [sub_direct, sub_via_pl0, pl0], [root]))
    out.append(_case("pathlen/pl0-only", leaf_sub, [sub_via_pl0, pl0], [root]))
    return out


def basic_cases() -> list[OracleCase]:
    """One chain per common failure shape (the seed guide's and a few more)."""
    from ..lab.pki import hierarchy

    host = "registry.internal.example.com"
    h = hierarchy(host)
    other = make_cert("Other Root")
    nonca = make_cert("Not A CA", issuer=h.root, ca=False)
    pl0 = make_cert("PL0", issuer=h.root, path_length=0)
    sub = make_cert("Sub", issuer=pl0)
    nc = make_cert("NC CA", issuer=h.root, permitted_dns=["example.org"])
    sha1i = make_cert("SHA1 Inter", issuer=h.root, hash_alg="sha1")
    rsa_root = make_cert("RSA1024 Root", key_kind="rsa1024")
    impostor = make_cert("Example Internal Issuing CA", issuer=h.root)
    exp_inter = make_cert(
        "Expired Inter", issuer=h.root, not_after=NOW - DAY, not_before=NOW - 400 * DAY
    )

    def leaf(issuer: Issued, **kw: object) -> Issued:
        kw.setdefault("dns", [host])
        return make_cert(host, issuer=issuer, ca=False, **kw)  # type: ignore[arg-type]

    def case(cid: str, chain: list[Issued], roots: list[Issued], name: str = host) -> OracleCase:
        return OracleCase(
            f"shape/{cid}", tuple(c.der for c in chain), tuple(r.der for r in roots), name, NOW
        )

    expired = leaf(h.intermediate, not_after=NOW - DAY, not_before=NOW - 90 * DAY)
    return [
        case("ok", [h.leaf, h.intermediate], [h.root]),
        case("missing-intermediate", [h.leaf], [h.root]),
        case("untrusted-root", [h.leaf, h.intermediate], [other]),
        case("root-sent-untrusted", [h.leaf, h.intermediate, h.root], [other]),
        case("self-signed-leaf", [make_cert(host, ca=False, dns=[host])], [h.root]),
        case("not-a-ca", [leaf(nonca), nonca], [h.root]),
        case("expired-leaf", [expired, h.intermediate], [h.root]),
        case("expired-leaf-missing-intermediate", [expired], [h.root]),
        case("expired-intermediate", [leaf(exp_inter), exp_inter], [h.root]),
        case("not-yet-valid", [leaf(h.intermediate, not_before=NOW + DAY), h.intermediate],
             [h.root]),
        case("hostname", [h.leaf, h.intermediate], [h.root], "other.example.com"),
        case("ip-host", [h.leaf, h.intermediate], [h.root], "127.0.0.1"),
        case("ip-san-other-ip", [leaf(h.intermediate, ips=["10.0.0.1"]), h.intermediate],
             [h.root], "127.0.0.1"),
        case("cn-only", [make_cert(host, issuer=h.intermediate, ca=False), h.intermediate],
             [h.root]),
        case("client-auth", [leaf(h.intermediate, eku=["clientAuth"]), h.intermediate],
             [h.root]),
        case("path-len", [leaf(sub), sub, pl0], [h.root]),
        case("name-constraints", [leaf(nc), nc], [h.root]),
        case("name-constraints-cn-only", [make_cert("www.example.com", issuer=nc, ca=False),
                                          nc], [h.root], "www.example.com"),
        case("sha1-intermediate", [leaf(sha1i), sha1i], [h.root]),
        case("rsa1024-root", [leaf(rsa_root)], [rsa_root]),
        case("bad-signature", [h.leaf, impostor], [h.root]),
        case("intermediate-anchor", [h.leaf, h.intermediate], [h.intermediate]),
        case("critical-ext", [leaf(h.intermediate, unknown_critical=True), h.intermediate],
             [h.root]),
    ]


def _leaf_with(
    issuer: Issued,
    host: str,
    extensions: list[tuple[str, bytes, bool]],
    *,
    serial: int | None = None,
    organization_t61: str | None = None,
) -> Issued:
    """A leaf for ``host`` with raw extensions (OID, DER value, critical), for
    encodings cryptography's builder will not write; a negative ``serial`` is
    patched into the TBS and the certificate signed again; an organization
    written as a T61String when given."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    from ..lab.pki import _der_len, _der_seq, _elements, name

    key = new_key()
    b = (
        x509.CertificateBuilder()
        .subject_name(
            name(host)
            if organization_t61 is None
            else x509.Name(
                [
                    *name(host),
                    x509.NameAttribute(
                        x509.NameOID.ORGANIZATION_NAME,
                        organization_t61,
                        _type=x509.name._ASN1Type.T61String,
                    ),
                ]
            )
        )
        .issuer_name(issuer.cert.subject)
        .public_key(key.public_key())
        .serial_number(4242)
        .not_valid_before(NOW - 30 * DAY)
        .not_valid_after(NOW + 300 * DAY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
    )
    for oid, value, critical in extensions:
        b = b.add_extension(
            x509.UnrecognizedExtension(x509.ObjectIdentifier(oid), value), critical=critical
        )
    cert = b.sign(issuer.key, hashes.SHA256())
    if serial is not None:
        parts = _elements(_content(cert.tbs_certificate_bytes))
        raw = serial.to_bytes((serial.bit_length() + 8) // 8, "big", signed=True)
        parts[1] = b"\x02" + _der_len(len(raw)) + raw
        der = _signed_again(Issued(cert, key), issuer, _der_seq(b"".join(parts)))
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # cryptography warns about the negative serial
            cert = x509.load_der_x509_certificate(der)
    return Issued(cert, key)


def _signed_again(leaf: Issued, issuer: Issued, tbs: bytes) -> bytes:
    """``tbs`` (``leaf``'s, changed) signed by ``issuer``, as DER: encodings
    cryptography will not load are returned without loading them."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import Encoding

    from ..lab.pki import _der_len, _der_seq, _elements

    sig = issuer.key.sign(tbs, ec.ECDSA(hashes.SHA256()))
    alg = _elements(_content(leaf.cert.public_bytes(Encoding.DER)))[1]
    return _der_seq(tbs + alg + b"\x03" + _der_len(len(sig) + 1) + b"\x00" + sig)


def _content(element: bytes) -> bytes:
    return element[2 if element[1] < 0x80 else 2 + (element[1] & 0x7F) :]


def _tagged(tag: int, body: bytes) -> bytes:
    from ..lab.pki import _der_len

    return bytes([tag]) + _der_len(len(body)) + body


def _extensions_rewritten(
    cert: Issued, issuer: Issued, rewrite: Callable[[list[bytes]], list[bytes]]
) -> bytes:
    """``cert`` signed again by ``issuer`` with each extension's elements
    (extnID, [critical], extnValue) passed through ``rewrite``."""
    from ..lab.pki import _der_seq, _elements

    parts = _elements(_content(cert.cert.tbs_certificate_bytes))
    exts = [
        _der_seq(b"".join(rewrite(_elements(_content(ext)))))
        for ext in _elements(_content(_content(parts[-1])))
    ]
    parts[-1] = _tagged(0xA3, _der_seq(b"".join(exts)))
    return _signed_again(cert, issuer, _der_seq(b"".join(parts)))


def _explicit_defaults(leaf: Issued, issuer: Issued) -> bytes:
    """``leaf`` signed again by ``issuer`` with each extension's critical flag
    written out when FALSE and basicConstraints' cA FALSE written out: DEFAULT
    values DER leaves out, which Go and OpenSSL read and rust-asn1 refuses."""
    from ..lab.pki import _der_seq

    def rewrite(items: list[bytes]) -> list[bytes]:
        if len(items) == 2:  # no critical flag: FALSE, written out
            items = [items[0], b"\x01\x01\x00", items[1]]
        if items[0] == b"\x06\x03\x55\x1d\x13":  # basicConstraints
            value = _content(items[-1])
            if value == b"\x30\x00":  # cA FALSE left out: written out
                items[-1] = _tagged(0x04, _der_seq(b"\x01\x01\x00"))
        return items

    return _extensions_rewritten(leaf, issuer, rewrite)


def _latin1_t61(leaf: Issued, issuer: Issued, marker: bytes) -> bytes:
    """``leaf``, whose subject has a T61String holding ``marker`` (UTF-8 "é!"),
    with those bytes replaced by Latin-1 "é!!" (same length): a T61String
    that is not UTF-8, which Go and OpenSSL read and cryptography refuses."""
    tbs = leaf.cert.tbs_certificate_bytes
    assert tbs.count(marker) == 1
    return _signed_again(leaf, issuer, tbs.replace(marker, marker[:2] + b"\xe9!!"))


def _subtree_bounds(ca: Issued, issuer: Issued, base_dns: str, bounds: bytes) -> bytes:
    """``ca`` signed again by ``issuer`` with its nameConstraints replaced by
    one permitted dNSName subtree ``base_dns`` carrying ``bounds`` (encoded
    minimum [0] / maximum [1]): what DER leaves out or what OpenSSL does not
    support, and Go ignores."""
    from ..lab.pki import _der_seq

    def rewrite(items: list[bytes]) -> list[bytes]:
        if items[0] == b"\x06\x03\x55\x1d\x1e":  # nameConstraints
            subtree = _der_seq(_tagged(0x82, base_dns.encode()) + bounds)
            items[-1] = _tagged(0x04, _der_seq(_tagged(0xA0, subtree)))
        return items

    return _extensions_rewritten(ca, issuer, rewrite)


def _as_v2(cert: Issued, signer: Issued, *, extensions: bool) -> bytes:
    """``cert`` as an X.509 v2 certificate (version field 1), with or without
    its extensions, signed again by ``signer``: Go reads a v2 certificate but
    not its extensions, OpenSSL reads both, cryptography refuses it."""
    from ..lab.pki import _der_seq, _elements

    parts = _elements(_content(cert.cert.tbs_certificate_bytes))
    body = [_tagged(0xA0, b"\x02\x01\x01"), *parts[1:7], *(parts[7:] if extensions else [])]
    return _signed_again(cert, signer, _der_seq(b"".join(body)))


def _ia5(tag: int, text: str) -> bytes:
    return _tagged(tag, text.encode())


def encoding_cases() -> list[OracleCase]:
    """Encodings Go's parser treats its own way (issue 11's verdict bugs)."""
    from ..lab.pki import _der_seq, hierarchy

    host = "enc.paths.test"
    h = hierarchy(host)
    san = "2.5.29.17"
    x400 = b"\xa3\x03\x30\x01\x00"  # x400Address [3], an opaque constructed value
    edi = b"\xa5\x04\x30\x02\x81\x00"  # ediPartyName [5]
    odd_tag = b"\x89\x01\x00"  # [9]: no GeneralName has this tag
    dns = _ia5(0x82, host)

    def san_value(*entries: bytes) -> bytes:
        return _der_seq(b"".join(entries))

    bad_uri = _ia5(0x86, "http://[::1")
    mapped = b"\x87\x10" + b"\x00" * 10 + b"\xff\xff" + bytes([127, 0, 0, 1])
    negative = _leaf_with(h.intermediate, host, [(san, san_value(dns), False)], serial=-4242)
    crit_aki = _leaf_with(
        h.intermediate,
        host,
        [(san, san_value(dns), False),
         ("2.5.29.35", _der_seq(b"\x80\x14" + b"\x11" * 20), True)],
    )
    crit_ski = _leaf_with(
        h.intermediate,
        host,
        [(san, san_value(dns), False), ("2.5.29.14", b"\x04\x14" + b"\x22" * 20, True)],
    )
    shapes = {
        "san-x400-and-dns": [(san, san_value(x400, dns), True)],
        "san-edi-and-dns": [(san, san_value(dns, edi), False)],
        "san-undefined-tag-and-dns": [(san, san_value(odd_tag, dns), False)],
        "san-x400-only-critical": [(san, san_value(x400), True)],
        "san-unparsable-uri": [(san, san_value(dns, bad_uri), False)],
        "san-ipv4-mapped-ipv6": [(san, san_value(dns, mapped), False)],
    }
    out = []
    for cid, exts in shapes.items():
        leaf = _leaf_with(h.intermediate, host, exts)
        out.append(
            OracleCase(f"enc/{cid}", (leaf.der, h.intermediate.der), (h.root.der,), host, NOW)
        )
    for cid, leaf in (("negative-serial", negative), ("critical-aki", crit_aki),
                      ("critical-ski", crit_ski)):
        out.append(
            OracleCase(f"enc/{cid}", (leaf.der, h.intermediate.der), (h.root.der,), host, NOW)
        )
    explicit = _explicit_defaults(_leaf_with(h.intermediate, host, [(san, san_value(dns), False)]),
                                  h.intermediate)  # fmt: skip
    chain = (explicit, h.intermediate.der)
    out.append(OracleCase("enc/explicit-defaults", chain, (h.root.der,), host, NOW))
    t61 = _latin1_t61(_leaf_with(h.intermediate, host, [(san, san_value(dns), False)],
                                 organization_t61="\u00e9!"),
                      h.intermediate, b"\x14\x03\xc3\xa9!")  # fmt: skip
    chain = (t61, h.intermediate.der)
    out.append(OracleCase("enc/t61string-latin1", chain, (h.root.der,), host, NOW))
    # GeneralSubtree bounds: a minimum of 0 written out (all read it), a
    # maximum and a minimum of 1 (OpenSSL: 49 for the names of their type;
    # Go ignores them), and one where the name is outside (47 either way).
    nc = make_cert("NC Bounds CA", issuer=h.root, permitted_dns=["paths.test"])
    nc_leaf = make_cert(host, issuer=nc, ca=False, dns=(host,))
    for cid, base, bounds in (
        ("nc-minimum-zero", "paths.test", b"\x80\x01\x00"),
        ("nc-maximum", "paths.test", b"\x81\x01\x05"),
        ("nc-minimum-one", "paths.test", b"\x80\x01\x01"),
        ("nc-minimum-zero-violated", "other.test", b"\x80\x01\x00"),
    ):
        ca = _subtree_bounds(nc, h.root, base, bounds)
        out.append(OracleCase(f"enc/{cid}", (nc_leaf.der, ca), (h.root.der,), host, NOW))
    # X.509 v2: a root without extensions (Go trusts it as it trusts a v1 root;
    # OpenSSL: not a CA, 79), one with its extensions (both read it: Go does
    # not look at them, OpenSSL does), an intermediate with its extensions (Go
    # ignores its basicConstraints: not authorized to sign; OpenSSL: fine).
    pair = (h.leaf.der, h.intermediate.der)
    for cid, root in (
        ("v2-root", _as_v2(h.root, h.root, extensions=False)),
        ("v2-root-with-extensions", _as_v2(h.root, h.root, extensions=True)),
    ):
        out.append(OracleCase(f"enc/{cid}", pair, (root,), host, NOW))
    inter = _as_v2(h.intermediate, h.root, extensions=True)
    chain = (h.leaf.der, inter)
    out.append(OracleCase("enc/v2-inter-with-extensions", chain, (h.root.der,), host, NOW))
    return out


def strict_cases() -> list[OracleCase]:
    """The RFC 5280 profile shapes OpenSSL's X509_V_FLAG_X509_STRICT checks (Python
    ≥ 3.13 sets it with X509_V_FLAG_PARTIAL_CHAIN): private CAs and leaves made
    by hand or by older tools, one deviation each, at each place in the chain,
    and the partial chains a store holding an intermediate or a leaf allows."""
    from ..lab.pki import _der_seq

    host = "strict.paths.test"
    root = make_cert("Strict Root")
    out: list[OracleCase] = []

    def add(cid: str, chain: list[Issued], roots: list[Issued], name: str = host) -> None:
        out.append(OracleCase(f"strict/{cid}", tuple(c.der for c in chain),
                              tuple(r.der for r in roots), name, NOW))  # fmt: skip

    def inter(issuer: Issued = root, **kw: object) -> Issued:
        return make_cert("Strict Issuing CA", issuer=issuer, **kw)  # type: ignore[arg-type]

    def leaf(issuer: Issued, **kw: object) -> Issued:
        kw.setdefault("dns", [host])
        kw.setdefault("ca", False)
        return make_cert(host, issuer=issuer, **kw)  # type: ignore[arg-type]

    good = inter()
    add("ok", [leaf(good), good], [root])
    add("ok-root-sent", [leaf(good), good, root], [root])
    # The CA deviations, in the intermediate and in the root.
    for cid, kw in (
        ("bc-not-critical", {"bc_critical": False}),
        ("no-key-usage", {"key_usage": ()}),
        ("no-ski", {"ski": False}),
        ("no-aki", {"aki": False}),
    ):
        ca = inter(**kw)
        add(f"intermediate-{cid}", [leaf(ca), ca], [root])
        r = make_cert(f"Strict Root {cid}", **kw)
        ca2 = inter(r)
        add(f"root-{cid}", [leaf(ca2), ca2], [r])
    add("leaf-no-aki", [leaf(good, aki=False), good], [root])
    add("leaf-no-ski", [leaf(good, ski=False), good], [root])
    add("leaf-bc-not-critical", [leaf(good, bc_critical=False), good], [root])
    add("leaf-no-basic-constraints", [leaf(good, ca=None), good], [root])
    add("leaf-no-key-usage", [leaf(good, key_usage=()), good], [root])
    add("leaf-key-cert-sign", [leaf(good, key_usage=("digital_signature", "key_cert_sign")),
                               good], [root])  # fmt: skip
    # A pathLenConstraint on a non-CA: cryptography's builder refuses to write it.
    bc_pathlen = ("2.5.29.19", _der_seq(b"\x02\x01\x00"), True)
    add("leaf-pathlen", [leaf(good, ca=None, raw_extensions=[bc_pathlen]), good], [root])
    from cryptography import x509

    empty = x509.Name([])  # RFC 5280 allows it beside a critical SAN
    add("leaf-empty-subject-san-critical",
        [make_cert(empty, issuer=good, ca=False, dns=[host], san_critical=True), good], [root])
    add("leaf-empty-subject-san-not-critical",
        [make_cert(empty, issuer=good, ca=False, dns=[host]), good], [root])  # fmt: skip
    empty_san = ("2.5.29.17", _der_seq(b""), False)
    add("leaf-empty-san", [make_cert(host, issuer=good, ca=False, raw_extensions=[empty_san]),
                           good], [root])  # fmt: skip
    # Several at once: OpenSSL's order decides the first error.
    sloppy = inter(bc_critical=False, key_usage=(), ski=False)
    add("intermediate-everything", [leaf(sloppy, aki=False), sloppy], [root])
    # With other failures: check_extensions runs before check_id and internal_verify.
    nku = inter(key_usage=())
    add("no-key-usage-and-expired-leaf",
        [leaf(nku, not_before=NOW - 90 * DAY, not_after=NOW - DAY), nku], [root])
    add("no-key-usage-and-wrong-name", [leaf(nku), nku], [root], "other.paths.test")
    add("no-key-usage-missing-intermediate", [leaf(nku)], [root])
    # Partial chains: a store holding the intermediate, or the leaf itself.
    add("intermediate-anchor", [leaf(good), good], [good])
    add("intermediate-anchor-not-sent", [leaf(good)], [good])
    add("intermediate-anchor-no-key-usage", [leaf(nku), nku], [nku])
    lone = leaf(good)
    add("leaf-anchor", [lone], [lone])
    add("leaf-anchor-with-intermediate", [lone, good], [lone])
    add("leaf-anchor-wrong-name", [lone], [lone], "other.paths.test")
    add("self-signed-leaf-anchor", [s := make_cert(host, ca=False, dns=[host])], [s])
    # A v1 root: a trust anchor without strict, "invalid CA" with it.
    v1 = make_cert("Strict V1 Root", version1=True)
    ca_v1 = inter(v1)
    add("v1-root", [leaf(ca_v1), ca_v1], [v1])
    return out

