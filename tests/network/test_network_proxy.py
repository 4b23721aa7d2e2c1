"""HTTP CONNECT proxies: selection from flags/environment, tunnels, auth, interception."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator

import pytest

import helpers.netlab as netlab
from trustdoctor.engine.interception import detect_interception
from trustdoctor.errors import ConnectError, UsageError
from trustdoctor.lab import pki
from trustdoctor.model.anchors import Anchor, make_anchor_set
from trustdoctor.model.cert import Provenance, from_certificate
from trustdoctor.model.target import parse_target
from trustdoctor.sources.network import fetch_chain
from trustdoctor.sources.proxy import no_proxy_matches, parse_proxy_url, select_proxy

# -- selection (pure) ------------------------------------------------------------


@pytest.mark.parametrize(
    ("no_proxy", "host", "port", "bypass"),
    [
        ("*", "anything.example", 443, True),
        ("example.com", "example.com", 443, True),
        ("example.com", "www.example.com", 443, True),
        ("example.com", "notexample.com", 443, False),
        ("example.com", "example.com.evil.org", 443, False),
        (".example.com", "example.com", 443, True),
        (".example.com", "a.b.example.com", 443, True),
        ("*.example.com", "a.example.com", 443, True),
        ("EXAMPLE.com", "Www.Example.Com", 443, True),
        ("foo, bar.org ,baz", "x.bar.org", 443, True),
        ("foo bar.org", "bar.org", 443, True),
        ("10.1.2.3", "10.1.2.3", 443, True),
        ("10.1.2.3", "10.1.2.30", 443, False),
        ("10.0.0.0/8", "10.200.1.1", 443, True),
        ("10.0.0.0/8", "11.0.0.1", 443, False),
        ("10.0.0.0/8", "ten.example", 443, False),
        ("::1", "::1", 443, True),
        ("[2001:db8::1]:8443", "2001:db8::1", 8443, True),
        ("fd00::/8", "fd12::1", 443, True),
        ("example.com:8443", "example.com", 8443, True),
        ("example.com:8443", "example.com", 443, False),
        ("", "example.com", 443, False),
        (",,", "example.com", 443, False),
    ],
)
def test_no_proxy_rules(no_proxy: str, host: str, port: int, bypass: bool) -> None:
    assert no_proxy_matches(no_proxy, host, port) is bypass


def test_parse_proxy_url() -> None:
    p = parse_proxy_url("http://alice:p%40ss@Proxy.Corp:3128/")
    assert (p.host, p.port, p.display) == ("proxy.corp", 3128, "http://proxy.corp:3128")
    assert p.authorization == "Basic YWxpY2U6cEBzcw=="  # alice:p@ss
    assert "p@ss" not in repr(p.display)
    p = parse_proxy_url("proxy.corp")
    assert (p.port, p.authorization) == (80, None)
    p = parse_proxy_url("[::1]:8080")
    assert (p.host, p.port) == ("::1", 8080)
    for bad, needle in (
        ("https://proxy:443", "not supported"),
        ("socks5://proxy:1080", "not supported"),
        ("http://proxy:99999", "outside"),
        ("", "not a proxy URL"),
    ):
        with pytest.raises(UsageError) as err:
            parse_proxy_url(bad)
        assert needle in err.value.message


def test_select_proxy_precedence_and_scope() -> None:
    t = parse_target("https://api.example.com")
    env = {"HTTPS_PROXY": "http://upper:1", "https_proxy": "http://lower:2"}
    spec = select_proxy(t, env=env)
    assert spec is not None and spec.host == "lower" and spec.source == "https_proxy"
    assert spec.note is not None and "Go uses HTTPS_PROXY" in spec.note
    spec = select_proxy(t, env={"HTTPS_PROXY": "http://upper:1"})
    assert spec is not None and spec.host == "upper" and spec.note is None
    assert select_proxy(t, env={}) is None
    assert select_proxy(t, env=None) is None
    # --proxy wins; "" forces a direct connection.
    assert select_proxy(t, proxy="http://flag:9", env=env).host == "flag"  # type: ignore[union-attr]
    assert select_proxy(t, proxy="", env=env) is None
    # NO_PROXY / no_proxy.
    assert select_proxy(t, env={**env, "NO_PROXY": ".example.com"}) is None
    assert select_proxy(t, env={**env, "no_proxy": "*"}) is None
    # Only https:// targets read HTTPS_PROXY; --proxy applies to every scheme.
    assert select_proxy(parse_target("ldaps://dc.example.com"), env=env) is None
    assert select_proxy(parse_target("smtp://mail.example.com"), env=env) is None
    assert select_proxy(parse_target("smtp://mail.example.com"), proxy="http://p:1") is not None
    # Never for loopback destinations (Go's rule).
    assert select_proxy(parse_target("127.0.0.1:8443"), env=env) is None
    assert select_proxy(parse_target("localhost:8443"), env=env) is None
    assert select_proxy(parse_target("api.example.com", connect_to="::1"), env=env) is None


# -- tunnels on loopback -------------------------------------------------------------------


@pytest.fixture(scope="module")
def files() -> Iterator[netlab.Files]:
    f = netlab.Files()
    yield f
    f.cleanup()


@pytest.fixture(scope="module")
def h() -> pki.Hierarchy:
    return pki.hierarchy(
        "shop.example.com", root_cn="Fake Public Root G1", inter_cn="Fake Public Issuing CA 1"
    )


def sha(*issued: pki.Issued) -> list[str]:
    return [hashlib.sha256(i.der).hexdigest() for i in issued]


def test_env_proxy_tunnels_without_resolving_the_target(
    files: netlab.Files, h: pki.Hierarchy
) -> None:
    ctx = netlab.server_context(files, [h.leaf, h.intermediate])
    with (
        netlab.serving(netlab.tls_handler(ctx)) as srv,
        netlab.ConnectProxy(routes={"shop.example.com": srv.port}) as proxy,
    ):
        env = {"HTTPS_PROXY": f"http://127.0.0.1:{proxy.port}", "NO_PROXY": "localhost"}
        r = fetch_chain(parse_target("https://shop.example.com"), env=env, timeout=5)
    assert [p.cert.sha256 for p in r.chain] == sha(h.leaf, h.intermediate)
    assert r.proxy_used == f"http://127.0.0.1:{proxy.port}"
    assert r.address == f"127.0.0.1:{proxy.port}"
    # The proxy got the *name*: we never resolved shop.example.com ourselves.
    assert proxy.requests == ["CONNECT shop.example.com:443 HTTP/1.1"]


def test_explicit_proxy_with_basic_auth(files: netlab.Files, h: pki.Hierarchy) -> None:
    ctx = netlab.server_context(files, [h.leaf, h.intermediate])
    with (
        netlab.serving(netlab.tls_handler(ctx)) as srv,
        netlab.ConnectProxy(auth="alice:p@ss:word") as proxy,
    ):
        target = parse_target(f"127.0.0.1:{srv.port}")
        ok = fetch_chain(
            target, proxy=f"http://alice:p%40ss%3Aword@127.0.0.1:{proxy.port}", timeout=5
        )
        assert ok.chain[0].cert.sha256 == sha(h.leaf)[0]
        with pytest.raises(ConnectError) as err:
            fetch_chain(target, proxy=f"http://127.0.0.1:{proxy.port}", timeout=5)
        assert err.value.code == "proxy-failed"
        assert "requires authentication" in err.value.message
        with pytest.raises(ConnectError) as err:
            fetch_chain(
                target, proxy=f"http://alice:wrong-secret@127.0.0.1:{proxy.port}", timeout=5
            )
        assert err.value.code == "proxy-failed"
        assert "rejected the credentials" in err.value.message
        assert "wrong-secret" not in err.value.message


def test_starttls_through_a_proxy(files: netlab.Files, h: pki.Hierarchy) -> None:
    ctx = netlab.server_context(files, [h.leaf, h.intermediate])
    with (
        netlab.serving(netlab.tls_handler(ctx, starttls="smtp")) as srv,
        netlab.ConnectProxy(routes={"mail.example.com": srv.port}) as proxy,
    ):
        r = fetch_chain(
            parse_target("smtp://mail.example.com:587"), proxy=f"127.0.0.1:{proxy.port}", timeout=5
        )
    assert r.chain[0].cert.sha256 == sha(h.leaf)[0]
    assert proxy.requests == ["CONNECT mail.example.com:587 HTTP/1.1"]


def test_proxy_failures_have_codes() -> None:
    # No routes: anything non-loopback → 502.
    with netlab.ConnectProxy() as proxy, pytest.raises(ConnectError) as err:
        fetch_chain(
            parse_target("https://elsewhere.example"),
            proxy=f"http://127.0.0.1:{proxy.port}",
            timeout=3,
        )
    assert err.value.code == "proxy-failed" and "502" in err.value.message
    not_http_handler = netlab.sends(b"\x05\x00", after_hello=True)
    with netlab.serving(not_http_handler) as not_http, pytest.raises(ConnectError) as err:
        fetch_chain(
            parse_target("https://elsewhere.example"),
            proxy=f"http://127.0.0.1:{not_http.port}",
            timeout=3,
        )
    assert err.value.code == "proxy-failed" and "SOCKS" in err.value.message
    with netlab.serving(netlab.silent()) as silent:
        start = time.monotonic()
        with pytest.raises(ConnectError) as err:
            fetch_chain(
                parse_target("https://elsewhere.example"),
                proxy=f"http://127.0.0.1:{silent.port}",
                timeout=1,
            )
    assert err.value.code == "timeout" and "proxy" in err.value.message
    assert time.monotonic() - start < 2.5
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    dead = s.getsockname()[1]
    s.close()
    with pytest.raises(ConnectError) as err:
        fetch_chain(
            parse_target("https://elsewhere.example"), proxy=f"http://127.0.0.1:{dead}", timeout=3
        )
    assert err.value.code == "unreachable" and f"proxy http://127.0.0.1:{dead}" in err.value.message


def test_intercepting_proxy_is_detected(files: netlab.Files, h: pki.Hierarchy) -> None:
    mitm_ca = pki.make_cert(pki.name("mitmproxy", org="mitmproxy"))
    mozilla = make_anchor_set(
        "mozilla", [Anchor(from_certificate(h.root.cert), Provenance("certifi"))]
    )
    ctx = netlab.server_context(files, [h.leaf, h.intermediate])
    with netlab.serving(netlab.tls_handler(ctx)) as srv:
        routes = {"shop.example.com": srv.port}
        with netlab.ConnectProxy(routes=routes, intercept_ca=mitm_ca, files=files) as mitm:
            seen = fetch_chain(
                parse_target("https://shop.example.com"),
                proxy=f"http://127.0.0.1:{mitm.port}",
                timeout=5,
            )
        with netlab.ConnectProxy(routes=routes) as honest:
            real = fetch_chain(
                parse_target("https://shop.example.com"),
                proxy=f"http://127.0.0.1:{honest.port}",
                timeout=5,
            )
    # The interceptor minted a leaf for the SNI name and signed it with its CA.
    assert seen.chain[0].cert.dns_names == ("shop.example.com",)
    assert seen.chain[0].cert.issuer == "CN=mitmproxy,O=mitmproxy"
    assert seen.chain[0].cert.sha256 != sha(h.leaf)[0]
    f = detect_interception(
        [p.cert for p in seen.chain],
        reference_roots=mozilla,
        proxy_in_use=seen.proxy_used is not None,
        servername=seen.target.servername,
    )
    assert f is not None and f.params["product"] == "mitmproxy"
    assert f.params["confidence"] == "high"
    # Through an honest tunnel the real (publicly rooted) chain arrives: no finding.
    assert [p.cert.sha256 for p in real.chain] == sha(h.leaf, h.intermediate)
    assert (
        detect_interception(
            [p.cert for p in real.chain],
            reference_roots=mozilla,
            proxy_in_use=True,
            servername="shop.example.com",
        )
        is None
    )
