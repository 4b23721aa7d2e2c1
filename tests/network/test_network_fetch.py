"""Real handshakes on loopback: versions, key types, SNI, IPv6, client certs, oracles."""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess

import pytest

import helpers.netlab as netlab
from trustdoctor.errors import ConnectError, UsageError
from trustdoctor.lab import pki
from trustdoctor.model.pem import iter_pem_blocks
from trustdoctor.model.target import parse_target
from trustdoctor.sources.network import FetchResult, fetch_chain, resolve_addresses

V12 = ssl.TLSVersion.TLSv1_2
V13 = ssl.TLSVersion.TLSv1_3


@pytest.fixture(scope="module")
def ec() -> pki.Hierarchy:
    return pki.hierarchy("ec.test", root_cn="Lab EC Root", inter_cn="Lab EC Issuing CA")


@pytest.fixture(scope="module")
def rsa() -> pki.Hierarchy:
    return pki.hierarchy(
        "rsa.test", root_cn="Lab RSA Root", inter_cn="Lab RSA Issuing CA", key_kind="rsa2048"
    )


def fps(result: FetchResult) -> list[str]:
    return [p.cert.sha256 for p in result.chain]


def sha(*issued: pki.Issued) -> list[str]:
    import hashlib

    return [hashlib.sha256(i.der).hexdigest() for i in issued]


@pytest.mark.parametrize("version", [V12, V13], ids=["tls1.2", "tls1.3"])
@pytest.mark.parametrize("kind", ["ec", "rsa"])
def test_presented_chain_versions_and_key_types(
    request: pytest.FixtureRequest, files: netlab.Files, version: ssl.TLSVersion, kind: str
) -> None:
    h: pki.Hierarchy = request.getfixturevalue(kind)
    ctx = netlab.server_context(
        files, [h.leaf, h.intermediate], min_version=version, max_version=version
    )
    with netlab.serving(netlab.tls_handler(ctx)) as srv:
        target = parse_target(f"127.0.0.1:{srv.port}", servername=f"{kind}.test")
        r = fetch_chain(target, timeout=5)
    assert fps(r) == sha(h.leaf, h.intermediate)
    assert r.tls_version == ("TLSv1.3" if version is V13 else "TLSv1.2")
    assert r.cipher
    if version is V12:
        assert ("ECDSA" if kind == "ec" else "RSA") in r.cipher
    assert r.address == f"127.0.0.1:{srv.port}"
    assert r.client_cert_requested is False
    assert r.handshake_error is None
    assert r.proxy_used is None
    assert r.presented_count == 2
    assert r.chain[0].cert.key_type == ("EC" if kind == "ec" else "RSA")
    prov = r.chain[1].provenance
    assert (prov.source, prov.index, prov.detail) == (f"tls://127.0.0.1:{srv.port}", 1, "presented")
    assert 0 < r.elapsed_ms < 5000


def test_leaf_only_and_root_sent_kept_in_presented_order(
    files: netlab.Files, ec: pki.Hierarchy
) -> None:
    # Presented order is kept exactly, including a wrong order and the root.
    odd = [ec.leaf, ec.root, ec.intermediate]
    ctx = netlab.server_context(files, odd)
    with netlab.serving(netlab.tls_handler(ctx)) as srv:
        r = fetch_chain(parse_target(f"127.0.0.1:{srv.port}"), timeout=5)
    assert fps(r) == sha(*odd)
    ctx = netlab.server_context(files, [ec.leaf])
    with netlab.serving(netlab.tls_handler(ctx)) as srv:
        r = fetch_chain(parse_target(f"127.0.0.1:{srv.port}"), timeout=5)
    assert fps(r) == sha(ec.leaf)


def test_sni_selects_the_chain(files: netlab.Files, ec: pki.Hierarchy, rsa: pki.Hierarchy) -> None:
    seen: list[str | None] = []
    ctx = netlab.server_context(
        files,
        [ec.leaf, ec.intermediate],
        sni={"rsa.test": [rsa.leaf, rsa.intermediate]},
        seen_sni=seen,
    )
    with netlab.serving(netlab.tls_handler(ctx)) as srv:
        by_name = fetch_chain(
            parse_target(f"rsa.test:{srv.port}", connect_to="127.0.0.1"), timeout=5
        )
        default = fetch_chain(
            parse_target(f"ec.test:{srv.port}", connect_to="127.0.0.1"), timeout=5
        )
        by_ip = fetch_chain(parse_target(f"127.0.0.1:{srv.port}"), timeout=5)
        forced = fetch_chain(
            parse_target(f"127.0.0.1:{srv.port}", servername="rsa.test"), timeout=5
        )
    assert fps(by_name) == sha(rsa.leaf, rsa.intermediate)
    assert fps(default) == sha(ec.leaf, ec.intermediate)
    assert fps(by_ip) == sha(ec.leaf, ec.intermediate)
    assert fps(forced) == sha(rsa.leaf, rsa.intermediate)
    # SNI sent as the name; never for an IP literal.
    assert seen == ["rsa.test", "ec.test", None, "rsa.test"]


def test_alpn_offered_for_https_only(files: netlab.Files, ec: pki.Hierarchy) -> None:
    ctx = netlab.server_context(files, [ec.leaf, ec.intermediate], alpn=["h2", "http/1.1"])
    with netlab.serving(netlab.tls_handler(ctx)) as srv:
        r = fetch_chain(parse_target(f"https://127.0.0.1:{srv.port}"), timeout=5)
        plain = fetch_chain(parse_target(f"ldaps://127.0.0.1:{srv.port}"), timeout=5)
    assert r.alpn == "h2"
    assert plain.alpn is None


@pytest.mark.parametrize("version", [V12, V13], ids=["tls1.2", "tls1.3"])
def test_client_certificate_required_still_returns_the_chain(
    files: netlab.Files, ec: pki.Hierarchy, version: ssl.TLSVersion
) -> None:
    ctx = netlab.server_context(
        files, [ec.leaf, ec.intermediate], max_version=version, client_ca=ec.root
    )
    with netlab.serving(netlab.tls_handler(ctx)) as srv:
        r = fetch_chain(parse_target(f"127.0.0.1:{srv.port}"), timeout=5)
    assert fps(r) == sha(ec.leaf, ec.intermediate)
    assert r.client_cert_requested is True
    if version is V12:
        # TLS 1.2: the server's Certificate came first, then it aborted.
        assert r.handshake_error is not None and "client certificate" in r.handshake_error
    # TLS 1.3: the client has the full server flight before the server decides.


def test_client_certificate_optional(files: netlab.Files, ec: pki.Hierarchy) -> None:
    ctx = netlab.server_context(
        files, [ec.leaf, ec.intermediate], client_ca=ec.root, client_optional=True
    )
    with netlab.serving(netlab.tls_handler(ctx)) as srv:
        r = fetch_chain(parse_target(f"127.0.0.1:{srv.port}"), timeout=5)
    assert r.client_cert_requested is True and r.handshake_error is None


def test_ipv6_loopback(files: netlab.Files, ec: pki.Hierarchy) -> None:
    if not netlab.ipv6_available():
        pytest.skip("no IPv6 loopback on this machine")
    ctx = netlab.server_context(files, [ec.leaf, ec.intermediate])
    with netlab.serving(netlab.tls_handler(ctx), host="::1") as srv:
        r = fetch_chain(parse_target(f"[::1]:{srv.port}"), timeout=5)
        via = fetch_chain(
            parse_target(f"ec.test:{srv.port}", connect_to="::1"), timeout=5, family=socket.AF_INET6
        )
    assert r.address == f"[::1]:{srv.port}"
    assert fps(r) == sha(ec.leaf, ec.intermediate) == fps(via)


def test_address_parameter_and_resolve_addresses(files: netlab.Files, ec: pki.Hierarchy) -> None:
    ctx = netlab.server_context(files, [ec.leaf, ec.intermediate])
    with netlab.serving(netlab.tls_handler(ctx)) as srv:
        target = parse_target(f"localhost:{srv.port}")
        addrs = resolve_addresses(target, family=socket.AF_INET)
        assert addrs == ["127.0.0.1"]
        r = fetch_chain(target, timeout=5, address="127.0.0.1")
        assert r.address == f"127.0.0.1:{srv.port}"
        assert r.target.servername == "localhost"
    assert resolve_addresses(parse_target("10.9.8.7")) == ["10.9.8.7"]
    with pytest.raises(UsageError):
        fetch_chain(target, address="not-an-ip")
    for bad in (0, -1, float("nan"), float("inf"), 1e12):
        with pytest.raises(UsageError):
            fetch_chain(target, timeout=bad)
    # A failure at one address of --all-addresses names that address.
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    dead = s.getsockname()[1]
    s.close()
    with pytest.raises(ConnectError) as err:
        fetch_chain(parse_target(f"api.example.com:{dead}"), address="127.0.0.1", timeout=3)
    assert f"api.example.com:{dead} at 127.0.0.1:{dead}" in err.value.message


def test_dns_failure_and_refused_are_unreachable() -> None:
    with pytest.raises(ConnectError) as err:
        fetch_chain(parse_target("does-not-exist.invalid"), timeout=3)
    assert err.value.code == "unreachable"
    assert "DNS" in err.value.message and "does-not-exist.invalid" in err.value.message
    with pytest.raises(ConnectError) as err:
        resolve_addresses(parse_target("does-not-exist.invalid"), timeout=3)
    assert err.value.code == "unreachable"
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    with pytest.raises(ConnectError) as err:
        fetch_chain(parse_target(f"127.0.0.1:{port}"), timeout=3)
    assert err.value.code == "unreachable"
    assert "refused" in err.value.message and str(port) in err.value.message


def _openssl_chain(port: int, servername: str | None) -> list[str]:
    """SHA-256 of every certificate ``openssl s_client -showcerts`` prints."""
    import hashlib

    cmd = ["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-showcerts"]
    cmd += ["-servername", servername] if servername else ["-noservername"]
    out = subprocess.run(cmd, input=b"", capture_output=True, timeout=20).stdout
    return [
        hashlib.sha256(b.data).hexdigest()
        for b in iter_pem_blocks(out)
        if b.label == "CERTIFICATE" and not b.broken
    ]


@pytest.mark.oracle
@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl not installed")
@pytest.mark.parametrize("version", [V12, V13], ids=["tls1.2", "tls1.3"])
def test_openssl_s_client_sees_the_same_chain(
    files: netlab.Files, ec: pki.Hierarchy, rsa: pki.Hierarchy, version: ssl.TLSVersion
) -> None:
    ctx = netlab.server_context(
        files,
        [ec.leaf, ec.intermediate, ec.root],
        max_version=version,
        sni={"rsa.test": [rsa.leaf, rsa.intermediate]},
    )
    with netlab.serving(netlab.tls_handler(ctx)) as srv:
        for name in ("rsa.test", None):
            oracle = _openssl_chain(srv.port, name)
            ours = fetch_chain(parse_target(f"127.0.0.1:{srv.port}", servername=name), timeout=5)
            assert oracle, "openssl printed no certificate"
            assert fps(ours) == oracle


# The stdlib deprecates configuring these versions; serving them is the point.
@pytest.mark.filterwarnings("ignore:ssl.TLSVersion.TLSv1:DeprecationWarning")
@pytest.mark.parametrize(
    ("version", "name"),
    [(ssl.TLSVersion.TLSv1, "TLSv1"), (ssl.TLSVersion.TLSv1_1, "TLSv1.1")],
    ids=["tls1.0", "tls1.1"],
)
def test_legacy_servers_are_still_captured(
    files: netlab.Files, rsa: pki.Hierarchy, version: ssl.TLSVersion, name: str
) -> None:
    ctx = netlab.server_context(
        files, [rsa.leaf, rsa.intermediate], min_version=version, max_version=version
    )
    try:
        ctx.set_ciphers("ALL:@SECLEVEL=0")
    except ssl.SSLError:  # pragma: no cover - depends on the system OpenSSL
        pytest.skip("the system OpenSSL cannot serve this version")
    with netlab.serving(netlab.tls_handler(ctx)) as srv:
        try:
            r = fetch_chain(parse_target(f"127.0.0.1:{srv.port}"), timeout=5)
        except ConnectError as exc:
            if srv.errors:  # the *server* side refused to speak it
                pytest.skip(f"the system OpenSSL cannot serve {name}: {srv.errors[0]}")
            raise exc
    assert r.tls_version == name
    assert fps(r) == sha(rsa.leaf, rsa.intermediate)
