"""fetch_issuer_candidates against a real loopback HTTP(S) server: every
encoding, and hostile answers that must end quickly and keep nothing."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

import helpers.netlab as netlab
from helpers import DOCS
from helpers.aia import (
    AiaServer,
    Huge,
    Proxy,
    Trickle,
    der,
    p7_der,
    p7_pem,
    pem,
    raw,
    redirect,
    silent,
    static,
    timer,
    tls_server_context,
)
from trustdoctor.errors import InputError, UsageError
from trustdoctor.lab import pki
from trustdoctor.model.cert import CertInfo, from_certificate
from trustdoctor.sources.aia import REASONS, AiaOptions, fetch_issuer_candidates

FAST = AiaOptions(timeout=2.0, deadline=3.0)


@pytest.fixture(scope="module")
def srv() -> Iterator[AiaServer]:
    with AiaServer() as s:
        yield s


@pytest.fixture(scope="module")
def pki_() -> tuple[pki.Issued, pki.Issued]:
    root = pki.make_cert("AIA Test Root")
    inter = pki.make_cert("AIA Test Issuing CA", issuer=root)
    return root, inter


def leaf_at(issuer: pki.Issued, *urls: str) -> CertInfo:
    """A leaf issued by ``issuer`` whose AIA names ``urls``."""
    leaf = pki.make_cert("host.example", issuer=issuer, ca=False, aia_ca_issuers=list(urls))
    return from_certificate(leaf.cert)


def reasons(fetch: object) -> list[str]:
    return [r for r, _ in fetch.rejected]  # type: ignore[attr-defined]


# -- every encoding ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "encode", "extra_rejected"),
    [
        ("der.cer", lambda root, inter: der(inter), 0),
        ("one.pem", lambda root, inter: pem(inter), 0),
        ("two.pem", lambda root, inter: pem(root, inter), 1),
        ("transcript.txt", lambda root, inter: b"depth=1 blah\n> " + pem(inter) + b"\ntrailer", 0),
        ("bundle.p7c", lambda root, inter: p7_der(inter, root), 1),
        ("bundle-pem.p7c", lambda root, inter: p7_pem(inter), 0),
        ("dup.p7c", lambda root, inter: p7_der(inter, inter), 0),
    ],
)
def test_each_encoding_yields_the_issuer(srv, pki_, name, encode, extra_rejected):
    root, inter = pki_
    srv.routes[f"/enc/{name}"] = static(encode(root, inter))
    leaf = leaf_at(inter, srv.url(f"/enc/{name}"))
    with timer() as t:
        got = fetch_issuer_candidates(leaf, options=FAST)
    assert [c.sha256 for c in got.certificates] == [from_certificate(inter.cert).sha256]
    assert got.url == srv.url(f"/enc/{name}")
    assert not got.from_cache and not got.network_needed and got.ok
    # the root in the same answer is reported, not kept
    assert reasons(got) == ["not-the-issuer"] * extra_rejected
    assert t[0] < 2.0


def test_not_the_issuer_is_rejected(srv, pki_):
    _root, inter = pki_
    other = pki.make_cert("Some Other CA")
    srv.routes["/other.cer"] = static(der(other))
    got = fetch_issuer_candidates(leaf_at(inter, srv.url("/other.cer")), options=FAST)
    assert got.certificates == ()
    assert reasons(got) == ["not-the-issuer"]
    assert "Some Other CA" in got.rejected[0][1]


def test_right_name_wrong_key_is_rejected(srv, pki_):
    root, inter = pki_
    # Same subject as the real issuer, different key: an impostor.
    impostor = pki.make_cert("AIA Test Issuing CA", issuer=root)
    assert impostor.cert.subject == inter.cert.subject
    srv.routes["/impostor.cer"] = static(pem(impostor))
    got = fetch_issuer_candidates(leaf_at(inter, srv.url("/impostor.cer")), options=FAST)
    assert got.certificates == ()
    assert reasons(got) == ["bad-signature"]
    # an answer with both: only the genuine one is kept
    srv.routes["/both.pem"] = static(pem(impostor, inter))
    got = fetch_issuer_candidates(leaf_at(inter, srv.url("/both.pem")), options=FAST)
    assert [c.sha256 for c in got.certificates] == [from_certificate(inter.cert).sha256]
    assert reasons(got) == ["bad-signature"]


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (b"\x00\x01garbage that is no certificate at all", "neither DER"),
        (b"", "empty"),
        (b"-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n", "broken PEM"),
        (b"-----BEGIN CERTIFICATE-----\nMIIB\n", "broken PEM"),
        (b"-----BEGIN PKCS7-----\nAAAA\n-----END PKCS7-----\n", "PKCS7"),
        (b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", "without"),
        (b"\x30\x82\xff\xff" + b"\x00" * 100, "neither DER"),
    ],
)
def test_garbage_is_unparsable(srv, pki_, body, why):
    _, inter = pki_
    path = f"/garbage/{abs(hash(body))}"
    srv.routes[path] = static(body)
    got = fetch_issuer_candidates(leaf_at(inter, srv.url(path)), options=FAST)
    assert got.certificates == ()
    assert reasons(got) == ["unparsable"]
    assert why in got.rejected[0][1]


def test_http_status(srv, pki_):
    _, inter = pki_
    got = fetch_issuer_candidates(leaf_at(inter, srv.url("/nowhere.cer")), options=FAST)
    assert reasons(got) == ["http-status"]
    assert "404" in got.rejected[0][1]
    srv.routes["/500"] = static(b"oops", status=500)
    got = fetch_issuer_candidates(leaf_at(inter, srv.url("/500")), options=FAST)
    assert reasons(got) == ["http-status"] and "500" in got.rejected[0][1]


def test_not_http(srv, pki_):
    _, inter = pki_
    srv.routes["/nothttp"] = raw(b"SSH-2.0-OpenSSH_9.6\r\n\r\n")
    got = fetch_issuer_candidates(leaf_at(inter, srv.url("/nothttp")), options=FAST)
    assert reasons(got) == ["bad-response"]
    srv.routes["/badchunk"] = raw(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\nzz\r\n"
    )
    got = fetch_issuer_candidates(leaf_at(inter, srv.url("/badchunk")), options=FAST)
    assert reasons(got) == ["bad-response"]
    # bytes the server chose never reach the terminal unescaped
    srv.routes["/escape"] = raw(b"\x1b[2J\x1b]0;pwned\x07 HTTP/1.1 200\r\n\r\n")
    got = fetch_issuer_candidates(leaf_at(inter, srv.url("/escape")), options=FAST)
    assert reasons(got) == ["bad-response"]
    assert "\x1b" not in got.rejected[0][1] and "\x07" not in got.rejected[0][1]
    srv.routes["/reason"] = raw(b"HTTP/1.1 404 \x1b[31mgone\r\nContent-Length: 0\r\n\r\n")
    got = fetch_issuer_candidates(leaf_at(inter, srv.url("/reason")), options=FAST)
    assert reasons(got) == ["http-status"] and "\x1b" not in got.rejected[0][1]


# -- size and time limits --------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["length", "close", "chunked"])
def test_one_gigabyte_is_cut_off_early(srv, pki_, mode):
    _, inter = pki_
    huge = Huge(1 << 30, mode=mode)
    srv.routes[f"/huge-{mode}"] = huge
    with timer() as t:
        got = fetch_issuer_candidates(leaf_at(inter, srv.url(f"/huge-{mode}")), options=FAST)
    assert reasons(got) == ["too-large"]
    assert t[0] < 1.5, t[0]
    if mode == "length":
        assert "announced 1073741824" in got.rejected[0][1]
    # The server notices the hang-up: far less than 1 GB ever left it.
    assert huge.finished.wait(10)
    assert huge.sent < 64 << 20, huge.sent


def test_max_bytes_is_exact(srv, pki_):
    _, inter = pki_
    body = pem(inter)
    srv.routes["/exact.pem"] = static(body)
    leaf = leaf_at(inter, srv.url("/exact.pem"))
    ok = fetch_issuer_candidates(leaf, options=AiaOptions(max_bytes=len(body)))
    assert ok.ok
    small = fetch_issuer_candidates(leaf, options=AiaOptions(max_bytes=len(body) - 1))
    assert reasons(small) == ["too-large"]
    huge = Huge(1 << 20, mode="chunked")
    srv.routes["/chunked-small-limit"] = huge
    got = fetch_issuer_candidates(
        leaf_at(inter, srv.url("/chunked-small-limit")), options=AiaOptions(max_bytes=1000)
    )
    assert reasons(got) == ["too-large"] and "1000" in got.rejected[0][1]


def test_slow_body_ends_at_the_deadline(srv, pki_):
    _, inter = pki_
    trickle = Trickle(b"x" * 5000, interval=0.05)
    srv.routes["/trickle"] = trickle
    opts = AiaOptions(timeout=0.5, deadline=1.0)
    try:
        with timer() as t:
            got = fetch_issuer_candidates(leaf_at(inter, srv.url("/trickle")), options=opts)
    finally:
        trickle.stop.set()
    # each byte arrives well within the 0.5 s timeout: only the deadline can end it
    assert reasons(got) == ["timeout"]
    assert 0.9 <= t[0] < 1.8, t[0]


def test_slow_headers_end_at_the_deadline(srv, pki_):
    _, inter = pki_
    trickle = Trickle(b"", interval=0.05, headers_too=True)
    srv.routes["/trickle-headers"] = trickle
    opts = AiaOptions(timeout=0.5, deadline=1.0)
    try:
        with timer() as t:
            got = fetch_issuer_candidates(leaf_at(inter, srv.url("/trickle-headers")), options=opts)
    finally:
        trickle.stop.set()
    assert reasons(got) == ["timeout"]
    assert 0.9 <= t[0] < 1.8, t[0]


def test_silent_server_ends_at_the_read_timeout(srv, pki_):
    _, inter = pki_
    srv.routes["/silent"] = silent(5.0)
    with timer() as t:
        got = fetch_issuer_candidates(
            leaf_at(inter, srv.url("/silent")), options=AiaOptions(timeout=0.4, deadline=5.0)
        )
    assert reasons(got) == ["timeout"]
    assert 0.35 <= t[0] < 1.2, t[0]


def test_ipv6_loopback_and_a_resolved_name(pki_):
    _, inter = pki_
    try:
        v6 = AiaServer(host="::1")
    except OSError:
        pytest.skip("no IPv6 loopback")
    with v6:
        v6.routes["/i.cer"] = static(der(inter))
        got = fetch_issuer_candidates(leaf_at(inter, v6.url("/i.cer")), options=FAST)
        assert got.ok and got.url.startswith("http://[::1]:")
    with AiaServer() as v4:
        # "localhost" goes through name resolution (bounded by the deadline); if it
        # resolves to ::1 first, the refused connection falls through to 127.0.0.1.
        v4.routes["/i.cer"] = static(der(inter))
        got = fetch_issuer_candidates(
            leaf_at(inter, f"http://localhost:{v4.port}/i.cer"), options=FAST
        )
        assert got.ok, got.rejected


def test_refused_connection(pki_):
    _, inter = pki_
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    with timer() as t:
        got = fetch_issuer_candidates(leaf_at(inter, f"http://127.0.0.1:{port}/x"), options=FAST)
    assert reasons(got) == ["connect-failed"]
    assert t[0] < 1.0


# -- redirects and schemes ----------------------------------------------------------------------


def test_redirects_are_followed_within_the_limit(srv, pki_):
    _, inter = pki_
    srv.routes["/final.cer"] = static(der(inter))
    srv.routes["/r1"] = redirect("/r2", 301)
    srv.routes["/r2"] = redirect(srv.url("/r3"), 307)
    srv.routes["/r3"] = redirect("final.cer", 308)  # relative
    leaf = leaf_at(inter, srv.url("/r1"))
    got = fetch_issuer_candidates(leaf, options=AiaOptions(max_redirects=3))
    assert got.ok and got.url == srv.url("/r1")
    got = fetch_issuer_candidates(leaf, options=AiaOptions(max_redirects=2))
    assert reasons(got) == ["too-many-redirects"]
    got = fetch_issuer_candidates(leaf, options=AiaOptions(max_redirects=0))
    assert reasons(got) == ["too-many-redirects"]


def test_redirect_loop(srv, pki_):
    _, inter = pki_
    srv.routes["/loop-a"] = redirect("/loop-b")
    srv.routes["/loop-b"] = redirect("/loop-a")
    srv.routes["/self"] = redirect("/self", 303)
    for path in ("/loop-a", "/self"):
        with timer() as t:
            got = fetch_issuer_candidates(leaf_at(inter, srv.url(path)), options=FAST)
        assert reasons(got) == ["redirect-loop"]
        assert t[0] < 1.0
    assert srv.hits["/loop-a"] == 1 and srv.hits["/loop-b"] == 1


@pytest.mark.parametrize(
    "target",
    [
        "file:///etc/passwd",
        "ftp://127.0.0.1/ca.cer",
        "data:application/pkix-cert;base64,MIIB",
        "ldap://127.0.0.1/cn=ca?cACertificate",
        "gopher://127.0.0.1:70/",
    ],
)
def test_redirect_to_another_scheme_is_refused(srv, pki_, target):
    _, inter = pki_
    path = f"/to-{target.split(':')[0]}"
    srv.routes[path] = redirect(target)
    got = fetch_issuer_candidates(leaf_at(inter, srv.url(path)), options=FAST)
    assert got.certificates == ()
    assert reasons(got) == ["bad-scheme"]
    assert "refused" in got.rejected[0][1] and target.split(":")[0] in got.rejected[0][1]


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("file:///etc/passwd", "bad-scheme"),
        ("ldap://ldap.example.com/cn=CA,o=Example?cACertificate;binary", "bad-scheme"),
        ("ftp://127.0.0.1/ca.cer", "bad-scheme"),
        ("http:///no-host", "bad-url"),
        ("http://127.0.0.1:99999/x", "bad-url"),
        ("http://127.0.0.1/" + "a" * 3000, "bad-url"),
    ],
)
def test_aia_urls_that_are_never_fetched(srv, pki_, url, reason):
    _, inter = pki_
    before = dict(srv.hits)
    got = fetch_issuer_candidates(leaf_at(inter, url), options=FAST)
    assert reasons(got) == [reason]
    assert got.elapsed_ms < 100
    assert srv.hits == before


def test_no_aia_and_several_urls(srv, pki_):
    _, inter = pki_
    got = fetch_issuer_candidates(leaf_at(inter), options=FAST)
    assert reasons(got) == ["no-aia"] and got.url == ""
    srv.routes["/second.cer"] = static(der(inter))
    leaf = leaf_at(inter, "ldap://x.example/cn=ca", srv.url("/missing"), srv.url("/second.cer"))
    got = fetch_issuer_candidates(leaf, options=FAST)
    assert got.ok and got.url == srv.url("/second.cer")
    leaf = leaf_at(inter, "ldap://x.example/cn=ca", srv.url("/missing"))
    got = fetch_issuer_candidates(leaf, options=FAST)
    assert reasons(got) == ["bad-scheme", "http-status"]
    assert got.rejected[0][1].startswith("ldap://x.example")
    assert got.rejected[1][1].startswith(srv.url("/missing"))


# -- HTTPS AIA ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tls_srv(tmp_path_factory) -> Iterator[tuple[AiaServer, Path]]:
    ctx, ca_file = tls_server_context(tmp_path_factory.mktemp("tls"))
    with AiaServer(tls=ctx) as s:
        yield s, ca_file


def test_https_verified_with_the_given_ca(tls_srv, pki_):
    s, ca_file = tls_srv
    _, inter = pki_
    s.routes["/inter.p7c"] = static(p7_der(inter))
    leaf = leaf_at(inter, s.url("/inter.p7c"))
    got = fetch_issuer_candidates(leaf, options=AiaOptions(https_ca_file=ca_file))
    assert got.ok and got.url.startswith("https://127.0.0.1:")
    # Without the endpoint's CA (default store) the endpoint does not verify.
    with timer() as t:
        got = fetch_issuer_candidates(leaf, options=AiaOptions(timeout=2))
    assert reasons(got) == ["tls-error"]
    assert "certificate verify failed" in got.rejected[0][1] or "self" in got.rejected[0][1]
    assert t[0] < 2.0


def test_https_name_must_match(tmp_path, pki_):
    _, inter = pki_
    ctx, ca_file = tls_server_context(tmp_path, names=("aia.other.example",))
    with AiaServer(tls=ctx) as s:
        s.routes["/i.cer"] = static(der(inter))
        got = fetch_issuer_candidates(
            leaf_at(inter, s.url("/i.cer")), options=AiaOptions(https_ca_file=ca_file)
        )
    assert reasons(got) == ["tls-error"]
    assert "127.0.0.1" in got.rejected[0][1]


def test_https_to_plain_http_server(srv, pki_):
    _, inter = pki_
    srv.routes["/plain.cer"] = static(der(inter))
    url = srv.url("/plain.cer").replace("http://", "https://")
    with timer() as t:
        got = fetch_issuer_candidates(leaf_at(inter, url), options=FAST)
    assert reasons(got) == ["tls-error"]
    assert t[0] < 2.0


def test_unusable_https_ca_file_is_an_input_error(tls_srv, pki_, tmp_path):
    s, _ = tls_srv
    _, inter = pki_
    bad = tmp_path / "not-a-ca.pem"
    bad.write_text("hello\n")
    with pytest.raises(InputError) as err:
        fetch_issuer_candidates(
            leaf_at(inter, s.url("/inter.p7c")), options=AiaOptions(https_ca_file=bad)
        )
    assert str(bad) in str(err.value) and "\n" not in str(err.value)


# -- proxies ---------------------------------------------------------------------------------------


def test_http_through_a_proxy(srv, pki_):
    _, inter = pki_
    srv.routes["/via-proxy.cer"] = static(der(inter))
    with Proxy() as proxy:
        got = fetch_issuer_candidates(
            leaf_at(inter, srv.url("/via-proxy.cer")), options=AiaOptions(proxy=proxy.url)
        )
        assert got.ok
        assert proxy.requests == [f"GET {srv.url('/via-proxy.cer')}"]


def test_https_through_a_proxy_tunnel(tls_srv, pki_):
    s, ca_file = tls_srv
    _, inter = pki_
    s.routes["/tunnel.cer"] = static(der(inter))
    with Proxy() as proxy:
        got = fetch_issuer_candidates(
            leaf_at(inter, s.url("/tunnel.cer")),
            options=AiaOptions(proxy=proxy.url, https_ca_file=ca_file),
        )
        assert got.ok
        assert proxy.requests == [f"CONNECT 127.0.0.1:{s.port}"]
        refused = fetch_issuer_candidates(
            leaf_at(inter, f"https://localhost:{s.port}/tunnel.cer"),
            options=AiaOptions(proxy=proxy.url, https_ca_file=ca_file),
        )
        assert reasons(refused) == ["proxy-error"] and "403" in refused.rejected[0][1]


def test_proxy_from_the_environment(srv, pki_, monkeypatch):
    """The environment's proxy is chosen as for diagnose (sources.http.select_proxy)."""
    _, inter = pki_
    srv.routes["/env-proxy.cer"] = static(der(inter))
    # A name that looks public: the proxy resolves it; directly, the lab resolver does.
    url = f"http://aia.env.test:{srv.port}/env-proxy.cer"
    leaf = leaf_at(inter, url)
    netlab.loopback_names(monkeypatch, "env.test")
    for var in ("no_proxy", "NO_PROXY", "HTTP_PROXY", "HTTPS_PROXY", "https_proxy"):
        monkeypatch.delenv(var, raising=False)
    with Proxy(names=["aia.env.test"]) as proxy:
        monkeypatch.setenv("http_proxy", proxy.url)
        assert fetch_issuer_candidates(leaf, options=AiaOptions(use_env_proxy=True)).ok
        assert proxy.requests == [f"GET {url}"]
        # not used unless asked for
        assert fetch_issuer_candidates(leaf, options=AiaOptions()).ok
        assert len(proxy.requests) == 1
        # the options may carry another environment (a diagnosed process's)
        other = {"http_proxy": proxy.url, "no_proxy": "elsewhere.example"}
        opts = AiaOptions(use_env_proxy=True, proxy_env=other)
        monkeypatch.delenv("http_proxy")
        assert fetch_issuer_candidates(leaf, options=opts).ok
        assert len(proxy.requests) == 2
        monkeypatch.setenv("http_proxy", proxy.url)
        for no_proxy in ("env.test", ".env.test", "aia.env.test", f"aia.env.test:{srv.port}", "*"):
            monkeypatch.setenv("no_proxy", no_proxy)
            assert fetch_issuer_candidates(leaf, options=AiaOptions(use_env_proxy=True)).ok
            assert len(proxy.requests) == 2, no_proxy
        monkeypatch.setenv("no_proxy", "aia.env.test:1")  # another port: proxied
        assert fetch_issuer_candidates(leaf, options=AiaOptions(use_env_proxy=True)).ok
        assert len(proxy.requests) == 3
        monkeypatch.delenv("no_proxy")
        # loopback never goes through an environment proxy (Go's rule, as diagnose)
        loop = leaf_at(inter, srv.url("/env-proxy.cer"))
        assert fetch_issuer_candidates(loop, options=AiaOptions(use_env_proxy=True)).ok
        assert len(proxy.requests) == 3
        # --proxy "" forces direct connections, whatever the environment says
        direct = AiaOptions(use_env_proxy=True, proxy="")
        assert fetch_issuer_candidates(leaf, options=direct).ok
        assert len(proxy.requests) == 3
        monkeypatch.setenv("http_proxy", "socks5://user:s3cret@127.0.0.1:1080")
        got = fetch_issuer_candidates(leaf, options=AiaOptions(use_env_proxy=True))
        assert reasons(got) == ["proxy-error"] and "s3cret" not in got.rejected[0][1]


def test_one_host_parser_for_urls_targets_and_proxies(srv, pki_, monkeypatch):
    """An AIA URL's host is normalised as a target's (model.target: lower case, no
    trailing dot), directly and through a proxy; its user info is never sent."""
    _, inter = pki_
    srv.routes["/norm.cer"] = static(der(inter))
    netlab.loopback_names(monkeypatch, "aia.norm.test")
    leaf = leaf_at(inter, f"http://user:pw@AIA.Norm.Test.:{srv.port}/norm.cer#frag")
    assert fetch_issuer_candidates(leaf, options=FAST).ok
    with Proxy(names=["aia.norm.test"]) as proxy:
        assert fetch_issuer_candidates(leaf, options=AiaOptions(proxy=proxy.url)).ok
    assert proxy.requests == [f"GET http://aia.norm.test:{srv.port}/norm.cer"]
    bad = leaf_at(inter, f"http://aia..norm.test:{srv.port}/x")
    assert reasons(fetch_issuer_candidates(bad, options=FAST)) == ["bad-url"]


def test_hostile_proxies_end_within_the_deadline(pki_):
    """The CONNECT tunnel is the one of diagnose (sources.http.open_tunnel), bounded
    by the AIA per-operation timeout and per-URL deadline."""
    _, inter = pki_
    leaf = leaf_at(inter, "https://aia.proxied.example/i.cer")
    opts = {"timeout": 0.5, "deadline": 1.0}
    with netlab.serving(netlab.silent()) as mute, timer() as t:
        got = fetch_issuer_candidates(
            leaf, options=AiaOptions(proxy=f"http://127.0.0.1:{mute.port}", **opts)
        )
    assert reasons(got) == ["timeout"] and t[0] < 1.5
    early = netlab.sends(b"HTTP/1.1 200 Connection established\r\n\r\n\x16\x03\x03")
    not_http = netlab.sends(b"\x05\x00")
    for handler, needle in ((early, "before the TLS handshake"), (not_http, "SOCKS")):
        with netlab.serving(handler) as bad:
            got = fetch_issuer_candidates(
                leaf, options=AiaOptions(proxy=f"http://127.0.0.1:{bad.port}", **opts)
            )
        assert reasons(got) == ["proxy-error"] and needle in got.rejected[0][1]


# -- options ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {"timeout": 0},
        {"deadline": -1},
        {"total_deadline": 0},
        {"max_bytes": 0},
        {"max_bytes": 1 << 30},
        {"max_fetches": -1},
        {"max_redirects": -1},
        {"proxy": "socks5://127.0.0.1:1080"},
        {"proxy": "http://127.0.0.1:notaport"},
    ],
)
def test_bad_options_are_usage_errors(kwargs):
    with pytest.raises(UsageError) as err:
        AiaOptions(**kwargs)
    assert "\n" not in str(err.value)


def test_proxy_credentials_never_echoed():
    with pytest.raises(UsageError) as err:
        AiaOptions(proxy="https://user:s3cret@proxy.example:3128")
    assert "s3cret" not in str(err.value)


def test_reason_vocabulary_is_documented():
    doc = (DOCS / "aia.md").read_text()
    for reason in REASONS:
        assert f"`{reason}`" in doc, reason
