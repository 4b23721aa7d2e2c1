"""HTTP CONNECT proxies: selection from flags/environment, tunnels, auth, interception."""

from __future__ import annotations

import hashlib
import re
import time
from pathlib import Path

import pytest

import helpers.netlab as netlab
from trustdoctor.engine.interception import detect_interception
from trustdoctor.errors import ConnectError, UsageError
from trustdoctor.lab import pki
from trustdoctor.model.anchors import Anchor, make_anchor_set
from trustdoctor.model.cert import Provenance, from_certificate
from trustdoctor.model.target import parse_target
from trustdoctor.sources.http import no_proxy_matches, parse_proxy_url, select_proxy
from trustdoctor.sources.network import fetch_chain

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


ENV = {
    "HTTPS_PROXY": "http://upper:1",
    "https_proxy": "http://lower:2",
    "http_proxy": "http://plain:3",
    "HTTP_PROXY": "http://plainup:4",
}


# (scheme, host, port, environment, --proxy, connect host) -> the proxy chosen.
# One function decides for the handshake of diagnose/bundle (scheme "https" or
# a STARTTLS protocol) and for every AIA fetch (the URL's "http"/"https").
@pytest.mark.parametrize(
    ("scheme", "host", "port", "env", "flag", "connect", "chosen"),
    [
        # spellings: lower case first (curl, Python); Go's preference is noted
        ("https", "api.example.com", 443, ENV, None, None, "http://lower:2"),
        ("https", "api.example.com", 443, {"HTTPS_PROXY": "http://upper:1"}, None, None,
         "http://upper:1"),
        ("http", "pki.example.com", 80, ENV, None, None, "http://plain:3"),
        ("http", "pki.example.com", 80, {"HTTP_PROXY": "http://plainup:4"}, None, None,
         "http://plainup:4"),
        # httpoxy: in a CGI program HTTP_PROXY may come from a request header
        ("http", "pki.example.com", 80, {"HTTP_PROXY": "http://x:4", "REQUEST_METHOD": "GET"},
         None, None, None),
        # each scheme reads its own variables; others read none
        ("https", "api.example.com", 443, {"http_proxy": "http://plain:3"}, None, None, None),
        ("http", "pki.example.com", 80, {"https_proxy": "http://lower:2"}, None, None, None),
        ("ldaps", "dc.example.com", 636, ENV, None, None, None),
        ("smtp", "mail.example.com", 25, ENV, None, None, None),
        ("https", "api.example.com", 443, {}, None, None, None),
        ("https", "api.example.com", 443, None, None, None, None),
        # --proxy wins for every scheme and destination; "" forces direct
        ("smtp", "mail.example.com", 25, ENV, "http://flag:9", None, "http://flag:9"),
        ("http", "127.0.0.1", 80, {}, "flag:9", None, "http://flag:9"),
        ("https", "api.example.com", 443, ENV, "", None, None),
        # NO_PROXY / no_proxy, the same for both schemes
        ("https", "api.example.com", 443, {**ENV, "NO_PROXY": ".example.com"}, None, None, None),
        ("http", "pki.example.com", 80, {**ENV, "NO_PROXY": ".example.com"}, None, None, None),
        ("http", "pki.example.com", 80, {**ENV, "no_proxy": "*"}, None, None, None),
        ("https", "api.example.com", 443, {**ENV, "no_proxy": "pki.example.com"}, None, None,
         "http://lower:2"),
        ("http", "pki.example.com", 80, {**ENV, "no_proxy": "pki.example.com"}, None, None, None),
        ("https", "api.example.com", 443, {**ENV, "no_proxy": "api.example.com:8443"}, None,
         None, "http://lower:2"),
        ("https", "api.example.com", 8443, {**ENV, "no_proxy": "api.example.com:8443"}, None,
         None, None),
        ("http", "10.1.2.3", 80, {**ENV, "no_proxy": "10.0.0.0/8"}, None, None, None),
        ("http", "ten.example", 80, {**ENV, "no_proxy": "10.0.0.0/8"}, None, None,
         "http://plain:3"),
        # the lower-case no_proxy is read first, as the proxy variables
        ("https", "api.example.com", 443, {**ENV, "no_proxy": "x.org", "NO_PROXY": "*"}, None,
         None, "http://lower:2"),
        # loopback never takes an environment proxy (Go)
        ("https", "127.0.0.1", 8443, ENV, None, None, None),
        ("http", "localhost", 8080, ENV, None, None, None),
        ("http", "::1", 8080, ENV, None, None, None),
        ("https", "api.example.com", 443, ENV, None, "::1", None),
    ],
)  # fmt: skip
def test_one_proxy_decision_for_every_connection(
    scheme: str,
    host: str,
    port: int,
    env: dict[str, str] | None,
    flag: str | None,
    connect: str | None,
    chosen: str | None,
) -> None:
    spec = select_proxy(scheme, host, port, proxy=flag, env=env, connect_host=connect)
    assert (spec.display if spec else None) == chosen


def test_disagreeing_spellings_are_noted() -> None:
    spec = select_proxy("https", "api.example.com", 443, env=ENV)
    assert spec is not None and spec.source == "https_proxy"
    assert spec.note is not None and "Go uses HTTPS_PROXY" in spec.note
    spec = select_proxy("http", "pki.example.com", 80, env=ENV)
    assert spec is not None and spec.note is not None and "Go uses HTTP_PROXY" in spec.note
    spec = select_proxy("https", "api.example.com", 443, env={**ENV, "HTTPS_PROXY": "lower:2"})
    assert spec is not None and spec.note is not None  # same proxy, spelled differently
    assert select_proxy("https", "a.example", 443, env={"HTTPS_PROXY": "http://u:1"}).note is None  # type: ignore[union-attr]


def test_bad_proxy_urls_never_show_credentials() -> None:
    for bad in ("http://alice:s3cret @proxy:1", "socks5://alice:s3cret@proxy:1",
                "http://alice:s3cret@proxy:99999"):  # fmt: skip
        with pytest.raises(UsageError) as err:
            select_proxy("https", "a.example", 443, env={"https_proxy": bad})
        assert "s3cret" not in err.value.message and "https_proxy" in err.value.message


def test_no_other_proxy_logic_in_the_product() -> None:
    """Only sources/http.py reads proxy variables: one decision for every path."""
    import trustdoctor

    src = Path(trustdoctor.__file__).parent
    reads = re.compile(r"""(getproxies|proxy_bypass|\.get\(\s*["'](?i:no|https?|all)_proxy)""")
    for path in src.rglob("*.py"):
        if path != src / "sources" / "http.py":
            assert not reads.search(path.read_text()), path


# -- tunnels on loopback -------------------------------------------------------------------


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
