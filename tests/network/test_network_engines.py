"""The two handshake engines report the same facts, server shape by server shape.

``fetch_chain`` runs over the standard library's ``ssl`` when it can (cheap to
import) and over pyOpenSSL otherwise (and for an oversized TLS 1.3 list).
Whatever the engine, ``diagnose`` must say the same thing: each shape below is
fetched with both and every field of the result (or the connection error's
code and message) is compared; only the elapsed time may differ.
"""

from __future__ import annotations

import dataclasses
import re
import ssl
import sys
from collections.abc import Callable

import pytest

import helpers.netlab as netlab
from trustdoctor.errors import ConnectError
from trustdoctor.lab import pki
from trustdoctor.model.target import parse_target
from trustdoctor.sources import network
from trustdoctor.sources.network import FetchResult, fetch_chain

V10 = ssl.TLSVersion.TLSv1
V12 = ssl.TLSVersion.TLSv1_2
V13 = ssl.TLSVersion.TLSv1_3


@pytest.fixture(scope="module")
def h() -> pki.Hierarchy:
    return pki.hierarchy("engines.test")


@pytest.fixture(scope="module")
def rsa() -> pki.Hierarchy:
    return pki.hierarchy("rsa.engines.test", key_kind="rsa2048")


def same_words(text: str) -> str:
    """OpenSSL 3.2 renamed its alert reasons (``sslv3 alert handshake failure`` →
    ``tls alert handshake failure``); the system's ``ssl`` and pyOpenSSL's bundled
    library may be on either side of that change."""
    return re.sub(r"\b(?:sslv3|tlsv1|tlsv13) alert ", "tls alert ", text)


def facts(r: FetchResult) -> dict[str, object]:
    d = dataclasses.asdict(r)
    d.pop("elapsed_ms")
    d["chain"] = [(p.cert.sha256, p.provenance) for p in r.chain]
    if r.handshake_error is not None:
        d["handshake_error"] = same_words(r.handshake_error)
    return d


def both(target: str, **kw: object) -> tuple[object, object]:
    """What each engine makes of ``target``: its facts, or its error's code and message."""
    out = []
    for engine in ("stdlib", "openssl"):
        try:
            r = fetch_chain(parse_target(target, **kw), timeout=3, engine=engine)  # type: ignore[arg-type]
            out.append(facts(r))
        except ConnectError as exc:
            out.append(("error", exc.code, same_words(exc.message)))
    return out[0], out[1]


def test_this_python_uses_the_stdlib_engine() -> None:
    # CPython 3.10+ has everything the stdlib engine needs; if this fails the
    # cold start of diagnose pays for pyOpenSSL again.
    assert network.stdlib_capable() is (sys.implementation.name == "cpython")


Shape = Callable[[netlab.Files, pki.Hierarchy, pki.Hierarchy], ssl.SSLContext]

SHAPES: dict[str, Shape] = {
    "tls1.3": lambda f, h, r: netlab.server_context(f, [h.leaf, h.intermediate]),
    "tls1.2-rsa": lambda f, h, r: netlab.server_context(
        f, [r.leaf, r.intermediate], max_version=V12
    ),
    "root-sent": lambda f, h, r: netlab.server_context(f, [h.leaf, h.intermediate, h.root]),
    "leaf-only": lambda f, h, r: netlab.server_context(f, [h.leaf]),
    "sni": lambda f, h, r: netlab.server_context(
        f, [h.leaf, h.intermediate], sni={"rsa.engines.test": [r.leaf, r.intermediate]}
    ),
    "alpn": lambda f, h, r: netlab.server_context(f, [h.leaf, h.intermediate], alpn=["h2"]),
    "client-cert-1.2": lambda f, h, r: netlab.server_context(
        f, [h.leaf, h.intermediate], max_version=V12, client_ca=h.root
    ),
    "client-cert-1.3": lambda f, h, r: netlab.server_context(
        f, [h.leaf, h.intermediate], client_ca=h.root
    ),
    "client-cert-optional": lambda f, h, r: netlab.server_context(
        f, [h.leaf, h.intermediate], client_ca=h.root, client_optional=True
    ),
    "client-cert-optional-1.2": lambda f, h, r: netlab.server_context(
        f, [h.leaf, h.intermediate], max_version=V12, client_ca=h.root, client_optional=True
    ),
    "client-cert-rsa-1.3": lambda f, h, r: netlab.server_context(
        f, [r.leaf, r.intermediate], client_ca=r.root
    ),
}


@pytest.mark.parametrize("shape", list(SHAPES))
@pytest.mark.parametrize("scheme", ["", "https://"])
def test_tls_servers(
    files: netlab.Files, h: pki.Hierarchy, rsa: pki.Hierarchy, shape: str, scheme: str
) -> None:
    ctx = SHAPES[shape](files, h, rsa)
    with netlab.serving(netlab.tls_handler(ctx)) as srv:
        for name in (None, "rsa.engines.test"):
            a, b = both(f"{scheme}127.0.0.1:{srv.port}", servername=name)
            assert a == b
            assert not isinstance(a, tuple), a  # a chain, not an error


@pytest.mark.parametrize("optional", [False, True], ids=["required", "optional"])
@pytest.mark.parametrize("version", [V12, V13], ids=["tls1.2", "tls1.3"])
def test_client_certificate_requests_are_seen_by_both(
    files: netlab.Files, h: pki.Hierarchy, version: ssl.TLSVersion, optional: bool
) -> None:
    # The stdlib engine reads the request from its own answer (an empty
    # Certificate message: in clear in TLS 1.2, one more sealed record in 1.3).
    ctx = netlab.server_context(files, [h.leaf, h.intermediate], max_version=version,
                                client_ca=h.root, client_optional=optional)  # fmt: skip
    plain = netlab.server_context(files, [h.leaf, h.intermediate], max_version=version)
    with (
        netlab.serving(netlab.tls_handler(ctx)) as srv,
        netlab.serving(netlab.tls_handler(plain)) as other,
    ):
        for engine in ("stdlib", "openssl"):
            r = fetch_chain(parse_target(f"127.0.0.1:{srv.port}"), timeout=3, engine=engine)
            assert r.client_cert_requested, (version, engine)
            assert len(r.chain) == 2
            r = fetch_chain(parse_target(f"127.0.0.1:{other.port}"), timeout=3, engine=engine)
            assert not r.client_cert_requested, (version, engine)


def test_a_tls13_request_is_seen_when_our_side_ends_the_handshake(
    files: netlab.Files, h: pki.Hierarchy
) -> None:
    """TLS 1.3 seals the CertificateRequest (before the Certificate); when our
    side ends the handshake after the certificates (here: the server's
    CertificateVerify record corrupted on the way, "bad record mac") our own
    last flight never went out, so the stdlib engine cannot tell whether it
    was asked.  The handshake is made again over pyOpenSSL, whose state
    callback sees the request; if that second connection fails, what the
    first one read is the answer (the chain, no request known)."""
    asking = netlab.server_context(files, [h.leaf, h.intermediate], max_version=V13,
                                   client_ca=h.root)  # fmt: skip
    plain = netlab.server_context(files, [h.leaf, h.intermediate], max_version=V13)
    with (
        netlab.serving(netlab.tls_handler(asking)) as srv,
        netlab.serving(netlab.tls_handler(plain)) as other,
    ):
        # Sealed records: EncryptedExtensions, CertificateRequest, Certificate,
        # CertificateVerify (the 4th; the 3rd without a request), Finished.
        for upstream, nth, asked in ((srv, 4, True), (other, 3, False)):
            for engine in ("auto", "openssl"):
                with netlab.serving(netlab.corrupting(upstream.port, nth)) as relay:
                    r = fetch_chain(parse_target(f"127.0.0.1:{relay.port}"), timeout=5,
                                    engine=engine)  # fmt: skip
                    assert r.client_cert_requested is asked, (asked, engine)
                    assert len(r.chain) == 2
                    assert r.handshake_error and "bad record mac" in r.handshake_error
                    # Our side ended it: not worded as the server refusing us.
                    assert "ended the handshake without one" not in r.handshake_error
                    # The stdlib engine hands over to pyOpenSSL (a second connection).
                    assert relay.connections == (2 if engine == "auto" else 1)
        relay_once = netlab.corrupting(srv.port, 4, first_only=True)
        with netlab.serving(relay_once) as relay:
            r = fetch_chain(parse_target(f"127.0.0.1:{relay.port}"), timeout=5)
            assert len(r.chain) == 2 and not r.client_cert_requested
            assert r.handshake_error and "bad record mac" in r.handshake_error
            assert relay.connections == 2


@pytest.mark.filterwarnings("ignore:ssl.TLSVersion.TLSv1:DeprecationWarning")
def test_legacy_tls10(files: netlab.Files, rsa: pki.Hierarchy) -> None:
    ctx = netlab.server_context(files, [rsa.leaf, rsa.intermediate], min_version=V10,
                                max_version=V10)  # fmt: skip
    try:
        ctx.set_ciphers("ALL:@SECLEVEL=0")
    except ssl.SSLError:  # pragma: no cover - depends on the system OpenSSL
        pytest.skip("the system OpenSSL cannot serve TLS 1.0")
    with netlab.serving(netlab.tls_handler(ctx)) as srv:
        a, b = both(f"127.0.0.1:{srv.port}")
        if srv.errors:
            pytest.skip(f"the system OpenSSL cannot serve TLS 1.0: {srv.errors[0]}")
    assert a == b


HOSTILE: dict[str, netlab.Handler] = {
    "garbage": netlab.sends(b"\x00\x01\x02\x03garbage\xff" * 10),
    "http": netlab.sends(b"HTTP/1.1 400 Bad Request\r\nServer: nginx\r\n\r\n"),
    "tls-looking-garbage": netlab.sends(b"\x16\x03\x03\x00\x10" + b"\xee" * 16),
    "closes": netlab.sends(b""),
    "ssh": netlab.sends(b"SSH-2.0-OpenSSH_9.2\r\n", after_hello=False),
}


@pytest.mark.parametrize("shape", list(HOSTILE))
def test_hostile_servers(shape: str) -> None:
    with netlab.serving(HOSTILE[shape]) as srv:
        a, b = both(f"127.0.0.1:{srv.port}")
    assert isinstance(a, tuple) and a == b


def test_alert_and_reset(files: netlab.Files, h: pki.Hierarchy) -> None:
    ctx = netlab.server_context(files, [h.leaf, h.intermediate], max_version=V12)
    ctx.set_ciphers("aNULL")
    with netlab.serving(netlab.tls_handler(ctx)) as srv:
        a, b = both(f"127.0.0.1:{srv.port}")
    assert isinstance(a, tuple) and a == b and "handshake failure" in str(a[2])
    real_ctx = netlab.server_context(files, [h.leaf, h.intermediate])
    with (
        netlab.serving(netlab.tls_handler(real_ctx)) as real,
        netlab.serving(netlab.reset_after(60, real.port)) as srv,
    ):
        a, b = both(f"127.0.0.1:{srv.port}")
    assert isinstance(a, tuple) and a == b


def test_starttls(files: netlab.Files, h: pki.Hierarchy) -> None:
    ctx = netlab.server_context(files, [h.leaf, h.intermediate])
    with netlab.serving(netlab.tls_handler(ctx, starttls="smtp")) as srv:
        a, b = both(f"smtp://127.0.0.1:{srv.port}")
    assert a == b and not isinstance(a, tuple)


def _big_chain(n: int) -> list[pki.Issued]:
    root = pki.make_cert("Engines Huge Root")
    leaf = pki.make_cert("huge.engines.test", issuer=root, ca=False, dns=("huge.engines.test",))
    key = pki.new_key("ec", fresh=False, slot=43)
    return [leaf, *(pki.make_cert(f"Filler {i:04d}", issuer=root, key=key) for i in range(n - 1))]


@pytest.mark.parametrize(("version", "connections"), [(V12, 1), (V13, 2)], ids=["1.2", "1.3"])
def test_oversized_lists(files: netlab.Files, version: ssl.TLSVersion, connections: int) -> None:
    """Over 100 KiB: TLS 1.2 is read from the first connection's clear text; TLS 1.3
    needs the handshake secret, so the stdlib engine hands over to pyOpenSSL."""
    ctx = netlab.server_context(files, _big_chain(500), max_version=version)
    with netlab.serving(netlab.tls_handler(ctx)) as srv:
        target = parse_target(f"127.0.0.1:{srv.port}", servername="huge.engines.test")
        a = facts(fetch_chain(target, timeout=10, engine="stdlib"))
        assert srv.connections == connections
        b = facts(fetch_chain(target, timeout=10, engine="openssl"))
    assert a == b
    assert len(a["chain"]) == 500  # type: ignore[arg-type]


def test_unknown_engine_is_a_usage_error() -> None:
    from trustdoctor.errors import UsageError

    with pytest.raises(UsageError):
        fetch_chain(parse_target("127.0.0.1:1"), engine="gnutls")


def test_presented_certificates_are_parsed_once(files: netlab.Files, h: pki.Hierarchy) -> None:
    ctx = netlab.server_context(files, [h.leaf, h.intermediate])
    with netlab.serving(netlab.tls_handler(ctx)) as srv:
        r1 = fetch_chain(parse_target(f"127.0.0.1:{srv.port}"), timeout=3)
        r2 = fetch_chain(parse_target(f"localhost:{srv.port}"), timeout=3)
    # The same content is the same CertInfo object; provenance is per target.
    assert all(a.cert is b.cert for a, b in zip(r1.chain, r2.chain, strict=True))
    assert r1.chain[0].provenance != r2.chain[0].provenance


def _record(ctype: int, body: bytes) -> bytes:
    return bytes([ctype, 3, 3]) + len(body).to_bytes(2, "big") + body


def test_the_certificate_request_read_from_our_own_flight() -> None:
    from trustdoctor.sources.network import _sent_certificate

    hello = _record(22, b"\x01" + (40).to_bytes(3, "big") + b"\x00" * 40)
    # TLS 1.2: an empty Certificate (type 11) before ClientKeyExchange, in clear.
    cert = b"\x0b" + (3).to_bytes(3, "big") + b"\x00\x00\x00"
    cke = b"\x10" + (33).to_bytes(3, "big") + b"\x20" + b"\x00" * 32
    finished = _record(22, b"\xaa" * 40)  # encrypted after ChangeCipherSpec: not parsed
    ccs = _record(20, b"\x01")
    assert _sent_certificate(hello + _record(22, cert + cke) + ccs + finished, 0x0303, None)
    assert not _sent_certificate(hello + _record(22, cke) + ccs + finished, 0x0303, None)
    # TLS 1.3: Finished alone is one sealed record of hash + 4 + 1 + 16 bytes.
    fin256, fin384 = _record(23, b"\x00" * 53), _record(23, b"\x00" * 69)
    sealed_cert = _record(23, b"\x00" * 25)
    assert not _sent_certificate(hello + ccs + fin256, 0x0304, "TLS_AES_128_GCM_SHA256")
    assert not _sent_certificate(hello + ccs + fin384, 0x0304, "TLS_AES_256_GCM_SHA384")
    assert _sent_certificate(hello + ccs + sealed_cert + fin384, 0x0304, "TLS_AES_256_GCM_SHA384")
    # ... or both in one record (a stack that coalesces): longer than a Finished.
    both = _record(23, b"\x00" * (53 + 8))
    assert _sent_certificate(hello + ccs + both, 0x0304, "TLS_CHACHA20_POLY1305_SHA256")
