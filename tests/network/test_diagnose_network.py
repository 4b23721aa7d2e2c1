"""``trustdoctor diagnose`` through the network paths: STARTTLS schemes, CONNECT
and intercepting proxies, hostile servers (exit 3, one line, within the
timeout), connection errors as schema-valid JSON, --all-addresses and
differing chains, and once as a real subprocess."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time

import pytest

import helpers.diagnose as dh
import helpers.netlab as netlab
from trustdoctor.api.context import Clients
from trustdoctor.api.endpoint import AddressResult, fetch_all, judge_fetch
from trustdoctor.lab import pki
from trustdoctor.model.anchors import Anchor, make_anchor_set
from trustdoctor.model.cert import Provenance, from_certificate
from trustdoctor.model.target import parse_target
from trustdoctor.render.endpoint import endpoint_to_dict, render_endpoint
from trustdoctor.sources.network import fetch_chain

HOST = "svc.diag.test"
# A name that looks public: the proxy resolves it (routes), we never do.
PUBLIC = "www.diag-example.org"
# The netlab proxy mints its leaves with the PKI factory's validity window
# (around pki.NOW), so proxy tests judge at that instant.
AT = pki.NOW.isoformat()
TIMEOUT = 1.0
SLACK = 2.0


@pytest.fixture(scope="module")
def h() -> pki.Hierarchy:
    return dh.chain_for(HOST)


@pytest.fixture(scope="module")
def root_pem(tmp_path_factory: pytest.TempPathFactory, h: pki.Hierarchy) -> str:
    return dh.write_pem(tmp_path_factory.mktemp("anchors") / "root.pem", h.root)


def one_line_failure(r: dh.Run, code: str, side: str, timeout: float = TIMEOUT) -> None:
    """Exit 3, exactly one line on stdout naming the code's side, nothing on stderr."""
    assert r.rc == 3, (r.out, r.err)
    assert r.err == ""
    lines = r.out.splitlines()
    assert len(lines) == 1, r.out
    assert lines[0].startswith("✗ COULD NOT DIAGNOSE ") and f"({side} side)" in lines[0]
    assert "Traceback" not in r.out
    assert r.elapsed < timeout + SLACK, f"took {r.elapsed:.2f}s"


# -- STARTTLS schemes through the CLI ------------------------------------------------------

DEFAULT_PORTS = {"smtp": 25, "imap": 143, "pop3": 110, "ftp": 21, "postgres": 5432, "ldap": 389}


@pytest.mark.parametrize("proto", sorted(netlab.STARTTLS_SERVERS))
def test_starttls_url_schemes(capsys, monkeypatch, files, h, root_pem, proto) -> None:
    ctx = netlab.server_context(files, [h.leaf, h.intermediate])
    with netlab.serving(netlab.tls_handler(ctx, starttls=proto)) as srv:
        r = dh.diagnose(
            capsys, monkeypatch, f"{proto}://127.0.0.1:{srv.port}", "--servername", HOST,
            "--client", "go", "--trust", root_pem, "--format", "json",
        )
        t = dh.diagnose(
            capsys, monkeypatch, f"127.0.0.1:{srv.port}", "--starttls", proto, "--servername",
            HOST, "--client", "go", "--trust", root_pem,
        )
    assert r.rc == 0, r.out
    assert r.doc is not None
    assert r.doc["target"]["starttls"] == proto and r.doc["target"]["scheme"] == proto
    assert r.doc["presented_chain"][0]["sha256"] == dh.fps(h.leaf)[0]
    assert t.rc == 0
    assert t.first_line == f"✓ TRUSTED by go — {proto}://127.0.0.1:{srv.port}"


@pytest.mark.parametrize("proto", sorted(netlab.STARTTLS_SERVERS))
def test_starttls_default_ports_in_the_target(capsys, monkeypatch, proto) -> None:
    # The scheme's default port is the target's; the connection is sent to a
    # closed loopback port (--connect-to), so no local service can answer.
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    closed = s.getsockname()[1]
    s.close()
    r = dh.diagnose(
        capsys, monkeypatch, f"{proto}://mail.diag.test", "--connect-to", f"127.0.0.1:{closed}",
        "--timeout", "2", "--format", "json",
    )
    assert r.rc == 3 and r.doc is not None
    assert r.doc["target"]["port"] == DEFAULT_PORTS[proto]
    assert r.doc["target"]["starttls"] == proto
    assert r.doc["target"]["connect"] == f"127.0.0.1:{closed}"
    assert r.doc["error"]["code"] == "unreachable"


@pytest.mark.parametrize("proto", ["smtp", "imap", "ldap"])
def test_starttls_refused(capsys, monkeypatch, proto) -> None:
    with netlab.serving(netlab.refusing(proto)) as srv:
        r = dh.diagnose(capsys, monkeypatch, f"{proto}://127.0.0.1:{srv.port}",
                        "--timeout", "3", "--client", "go")
        j = dh.diagnose(capsys, monkeypatch, f"{proto}://127.0.0.1:{srv.port}",
                        "--timeout", "3", "--client", "go", "--format", "json")
    one_line_failure(r, "starttls-refused", "server", timeout=3)
    assert "the server refused to start TLS" in r.first_line
    assert j.rc == 3 and j.doc is not None
    assert j.doc["error"]["code"] == "starttls-refused"
    assert j.doc["verdict"] == {**j.doc["verdict"], "cause": "starttls-refused",
                                "side": "server", "trusted": False}


# -- proxies -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def public_chain() -> pki.Hierarchy:
    return pki.hierarchy(PUBLIC, root_cn="Diag Public-ish Root", inter_cn="Diag Issuing CA 2")


@pytest.fixture(scope="module")
def public_root(tmp_path_factory: pytest.TempPathFactory, public_chain: pki.Hierarchy) -> str:
    return dh.write_pem(tmp_path_factory.mktemp("pub") / "root.pem", public_chain.root)


def test_connect_proxy_flag_and_environment(
    capsys, monkeypatch, files, public_chain, public_root
) -> None:
    served = [public_chain.leaf, public_chain.intermediate]
    with dh.serve_chain(files, served) as srv, netlab.ConnectProxy(
        routes={PUBLIC: srv.port}
    ) as proxy:
        purl = f"http://127.0.0.1:{proxy.port}"
        flag = dh.diagnose(
            capsys, monkeypatch, f"{PUBLIC}:443", "--proxy", purl, "--client", "go",
            "--trust", public_root, "--at", AT, "--format", "json",
        )
        env = dh.diagnose(
            capsys, monkeypatch, f"https://{PUBLIC}/", "--client", "go", "--trust", public_root,
            "--at", AT, env={"HTTPS_PROXY": purl},
        )
        # --env describes the client's environment: its proxy is used too.
        via_env_flag = dh.diagnose(
            capsys, monkeypatch, f"https://{PUBLIC}/", "--client", "go", "--trust", public_root,
            "--at", AT, "--env", f"https_proxy={purl}", "--format", "json",
        )
    assert proxy.requests == [f"CONNECT {PUBLIC}:443 HTTP/1.1"] * 3
    assert via_env_flag.rc == 0 and via_env_flag.doc is not None
    assert via_env_flag.doc["addresses"][0]["proxy"] == purl
    assert flag.rc == 0 and flag.doc is not None
    assert flag.doc["addresses"][0]["proxy"] == purl
    assert flag.doc["target"]["address"] == f"127.0.0.1:{proxy.port}"
    assert env.rc == 0
    assert f"127.0.0.1:{proxy.port} via proxy {purl}: TLSv1.3" in env.out


def test_proxy_authentication_failure(capsys, monkeypatch) -> None:
    with netlab.ConnectProxy(routes={PUBLIC: 9}, auth="u:p") as proxy:
        r = dh.diagnose(capsys, monkeypatch, f"{PUBLIC}:443", "--proxy",
                        f"http://127.0.0.1:{proxy.port}", "--timeout", "3")
        j = dh.diagnose(capsys, monkeypatch, f"{PUBLIC}:443", "--proxy",
                        f"http://127.0.0.1:{proxy.port}", "--timeout", "3", "--format", "json")
    one_line_failure(r, "proxy-failed", "network", timeout=3)
    assert "requires authentication" in r.first_line
    assert j.doc is not None and j.doc["error"]["code"] == "proxy-failed"


def test_intercepting_proxy_named_product(capsys, monkeypatch, files, public_root) -> None:
    mitm = pki.make_cert(pki.name("mitmproxy", org="mitmproxy"))
    with netlab.ConnectProxy(intercept_ca=mitm, files=files, routes={PUBLIC: 9}) as proxy:
        purl = f"http://127.0.0.1:{proxy.port}"
        j = dh.diagnose(
            capsys, monkeypatch, f"{PUBLIC}:443", "--proxy", purl, "--client", "go",
            "--trust", public_root, "--at", AT, "--format", "json",
        )
        t = dh.diagnose(
            capsys, monkeypatch, f"{PUBLIC}:443", "--proxy", purl, "--client", "go",
            "--trust", public_root, "--at", AT,
        )
        mitm_pem = dh.write_pem(files.dir / "mitm.pem", mitm)
        ok = dh.diagnose(
            capsys, monkeypatch, f"{PUBLIC}:443", "--proxy", purl, "--client", "go",
            "--trust", mitm_pem, "--at", AT, "--format", "json",
        )
    assert j.rc == 1 and j.doc is not None
    v = j.doc["verdict"]
    assert (v["cause"], v["side"]) == ("intercepted", "network")
    finding = j.doc["clients"][0]["findings"][0]
    assert finding["code"] == "intercepted" and finding["params"]["product"] == "mitmproxy"
    assert j.doc["clients"][0]["alternatives"] == ["untrusted-root"]
    assert t.first_line.startswith("✗ NOT TRUSTED (network side): the connection is intercepted")
    assert "! intercepted" in t.out and "evidence:" in t.out and "mitmproxy" in t.out
    # The evidence codes are said in words (render/words.py INTERCEPTION_EVIDENCE).
    assert "evidence: the connection went through an HTTP proxy" in t.out
    assert "a marker of mitmproxy" in t.out and "product-marker" not in t.out
    # With the inspection CA installed the client trusts it: exit 0, still said.
    assert ok.rc == 0 and ok.doc is not None
    assert "intercepted" in [f["code"] for f in ok.doc["findings"]]


def test_intercepting_proxy_unnamed_ca(capsys, monkeypatch, files, public_root) -> None:
    # No product marker: the proxy plus a CA outside the Mozilla reference set
    # for a public-looking name is the evidence (certifi's set is the reference).
    gateway = pki.make_cert(pki.name("Corp Egress Gateway CA", org="Acme Ltd"))
    with netlab.ConnectProxy(intercept_ca=gateway, files=files, routes={PUBLIC: 9}) as proxy:
        j = dh.diagnose(
            capsys, monkeypatch, f"{PUBLIC}:443", "--proxy", f"http://127.0.0.1:{proxy.port}",
            "--client", "go", "--trust", public_root, "--at", AT, "--format", "json",
        )
    assert j.rc == 1 and j.doc is not None
    assert (j.doc["verdict"]["cause"], j.doc["verdict"]["side"]) == ("intercepted", "network")
    params = j.doc["clients"][0]["findings"][0]["params"]
    assert params["product"] is None and params["proxy"] is True
    assert any(e["code"] == "not-a-reference-root" for e in params["evidence"])


def test_no_proxy_no_interception_for_private_root(capsys, monkeypatch, files, h, root_pem) -> None:
    # A private CA without a proxy is the server's own, not interception.
    with dh.serve_chain(files, [h.leaf, h.intermediate]) as srv:
        r = dh.diagnose(capsys, monkeypatch, f"127.0.0.1:{srv.port}", "--servername", HOST,
                        "--client", "go", "--format", "json",
                        "--trust", dh.write_pem(files.dir / "o.pem", pki.make_cert("O")))
    assert r.doc is not None and r.doc["verdict"]["cause"] == "untrusted-root"


# -- hostile servers through the CLI ----------------------------------------------------------


def _hostile(capsys, monkeypatch, port: int, timeout: float = TIMEOUT) -> dh.Run:
    return dh.diagnose(capsys, monkeypatch, f"127.0.0.1:{port}", "--timeout", str(timeout),
                       "--client", "go")


def test_hostile_silent(capsys, monkeypatch) -> None:
    with netlab.serving(netlab.silent()) as srv:
        r = _hostile(capsys, monkeypatch, srv.port)
    one_line_failure(r, "timeout", "network")
    assert "timed out" in r.first_line


def test_hostile_garbage(capsys, monkeypatch) -> None:
    with netlab.serving(netlab.sends(b"\x00\x01\x02garbage\xff" * 20)) as srv:
        r = _hostile(capsys, monkeypatch, srv.port)
    one_line_failure(r, "not-tls", "server")
    assert "the port does not speak TLS" in r.first_line


def test_hostile_plain_http(capsys, monkeypatch) -> None:
    reply = b"HTTP/1.1 400 Bad Request\r\nServer: nginx\r\n\r\n"
    with netlab.serving(netlab.sends(reply)) as srv:
        r = _hostile(capsys, monkeypatch, srv.port)
    one_line_failure(r, "not-tls", "server")
    assert "HTTP/1.1 400 Bad Request" in r.first_line


def test_hostile_reset_mid_handshake(capsys, monkeypatch, files, h) -> None:
    ctx = netlab.server_context(files, [h.leaf, h.intermediate])
    with netlab.serving(netlab.tls_handler(ctx)) as real, netlab.serving(
        netlab.reset_after(60, real.port)
    ) as srv:
        r = _hostile(capsys, monkeypatch, srv.port)
    one_line_failure(r, "handshake-failed", "server")


def test_hostile_trickle(capsys, monkeypatch, files, h) -> None:
    ctx = netlab.server_context(files, [h.leaf, h.intermediate])
    with netlab.serving(netlab.tls_handler(ctx)) as real, netlab.serving(
        netlab.trickle(real.port, every=0.1)
    ) as srv:
        r = _hostile(capsys, monkeypatch, srv.port, timeout=1.5)
    one_line_failure(r, "timeout", "network", timeout=1.5)


def test_refused_port_json(capsys, monkeypatch) -> None:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens: connection refused
    r = dh.diagnose(capsys, monkeypatch, f"127.0.0.1:{port}", "--format", "json")
    assert r.rc == 3 and r.doc is not None
    assert r.doc["error"]["code"] == "unreachable" and r.doc["error"]["side"] == "network"
    assert r.doc["tls"] is None
    assert r.doc["addresses"] == [{"address": f"127.0.0.1:{port}", "error": r.doc["error"]}]
    assert "presented_chain" not in r.doc


@pytest.mark.slow
def test_hostile_500_certificates(capsys, monkeypatch, files) -> None:
    root = pki.make_cert("Huge Chain Root")
    leaf = pki.make_cert("huge.test", issuer=root, ca=False, dns=("huge.test",))
    key = pki.new_key("ec", fresh=False, slot=42)
    fillers = [pki.make_cert(f"Filler CA {i:04d}", issuer=root, key=key) for i in range(499)]
    root_pem = dh.write_pem(files.dir / "huge-root.pem", root)
    with dh.serve_chain(files, [leaf, *fillers]) as srv:
        r = dh.diagnose(capsys, monkeypatch, f"127.0.0.1:{srv.port}", "--servername",
                        "huge.test", "--client", "go", "--trust", root_pem, "--at", AT,
                        "--timeout", "10", "--format", "json")
    # A clear result, not a hang: the chain is judged (the leaf's issuer is
    # the anchor) and the 499 useless certificates are reported.
    assert r.rc == 0 and r.doc is not None
    assert len(r.doc["presented_chain"]) == 500
    assert r.doc["addresses"][0]["presented_count"] == 500
    assert any("100 KiB" in n for n in r.doc["addresses"][0]["notes"])
    extra = [f for f in r.doc["findings"] if f["code"] == "extra-certificate"]
    assert len(extra) >= 1
    assert r.elapsed < 20


# -- --all-addresses and differing chains ----------------------------------------------------


def _localhost_addresses() -> list[str]:
    out: list[str] = []
    for info in socket.getaddrinfo("localhost", 443, 0, socket.SOCK_STREAM):
        ip = str(info[4][0])
        if ip not in out:
            out.append(ip)
    return out


def test_all_addresses_follows_the_resolver(capsys, monkeypatch, files, h, root_pem) -> None:
    """localhost resolves to 127.0.0.1 (and ::1 where the resolver says so):
    every address is tried, and a node without the intermediate is reported."""
    ips = _localhost_addresses()
    with dh.serve_chain(files, [h.leaf, h.intermediate]) as v4:
        port = v4.port
        with contextlib.ExitStack() as stack:
            if "::1" in ips and netlab.ipv6_available():
                stack.enter_context(dh.serve_chain(files, [h.leaf], host="::1", port=port))
            r = dh.diagnose(capsys, monkeypatch, f"localhost:{port}", "--servername", HOST,
                            "--all-addresses", "--client", "go", "--trust", root_pem,
                            "--format", "json")
    assert r.doc is not None
    got = [a["address"] for a in r.doc["addresses"]]
    want = [f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}" for ip in ips]
    assert got == want
    codes = [f["code"] for f in r.doc["findings"]]
    if len(ips) > 1 and "::1" in ips:
        assert "different-chains" in codes
        assert r.rc == 1 and r.doc["verdict"]["cause"] == "missing-intermediate"
    else:
        assert "different-chains" not in codes
        assert r.rc == 0


@pytest.fixture
def two_node_resolver(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """``nodes.diag.test`` resolves to 127.0.0.1 and 127.0.0.2 (both loopback on
    Linux): the one stand-in of these tests, since no test may edit /etc/hosts."""
    from trustdoctor.sources import network

    real = network.resolve_addresses
    ips = ["127.0.0.1", "127.0.0.2"]

    def resolve(target, *, family=0, timeout=10.0):  # type: ignore[no-untyped-def]
        if target.connect_host == "nodes.diag.test":
            return list(ips)
        return real(target, family=family, timeout=timeout)

    monkeypatch.setattr(network, "resolve_addresses", resolve)
    return ips


def test_all_addresses_different_chains_cli(
    capsys, monkeypatch, files, h, root_pem, two_node_resolver
) -> None:
    with contextlib.ExitStack() as stack:
        a = stack.enter_context(dh.serve_chain(files, [h.leaf, h.intermediate]))
        stack.enter_context(dh.serve_chain(files, [h.leaf], host="127.0.0.2", port=a.port))
        j = dh.diagnose(capsys, monkeypatch, f"nodes.diag.test:{a.port}", "--servername",
                        HOST, "--all-addresses", "--client", "go", "--trust", root_pem,
                        "--format", "json")
        t = dh.diagnose(capsys, monkeypatch, f"nodes.diag.test:{a.port}", "--servername",
                        HOST, "--all-addresses", "--client", "go", "--trust", root_pem)
    assert j.rc == 1 and j.doc is not None
    first, second = f"127.0.0.1:{a.port}", f"127.0.0.2:{a.port}"
    assert [x["address"] for x in j.doc["addresses"]] == [first, second]
    assert [x["verdict"]["cause"] for x in j.doc["addresses"]] == ["ok", "missing-intermediate"]
    assert j.doc["target"]["address"] == second  # the node some client refuses leads
    diff = [f for f in j.doc["findings"] if f["code"] == "different-chains"]
    assert len(diff) == 1 and diff[0]["params"]["addresses"] == [first, second]
    assert t.first_line.startswith("✗ NOT TRUSTED (server side")
    assert f"{first}: TLSv1.3" in t.out and "— trusted" in t.out
    assert "! different-chains" in t.out


def test_all_addresses_one_dead_node_in_parallel(
    capsys, monkeypatch, files, h, root_pem, two_node_resolver
) -> None:
    """Addresses are tried concurrently: a node that never answers costs one
    timeout in all, and the live node is still judged (exit by its verdict)."""
    with contextlib.ExitStack() as stack:
        live = stack.enter_context(dh.serve_chain(files, [h.leaf, h.intermediate]))
        stack.enter_context(netlab.serving(netlab.silent(), host="127.0.0.2", port=live.port))
        start = time.monotonic()
        results = fetch_all(parse_target(f"nodes.diag.test:{live.port}"), timeout=1.0,
                            proxy=None, env={}, all_addresses=True)
        elapsed = time.monotonic() - start
        r = dh.diagnose(capsys, monkeypatch, f"nodes.diag.test:{live.port}", "--servername",
                        HOST, "--all-addresses", "--client", "go", "--trust", root_pem,
                        "--timeout", "1")
    assert [x.error.code if x.error else "ok" for x in results] == ["ok", "timeout"]
    assert elapsed < 1.0 + SLACK
    assert r.rc == 0
    assert f"127.0.0.2:{live.port}: timeout:" in r.out


def test_different_chains_between_two_addresses(files, h) -> None:
    """Two real fetches of one name from two nodes, one healthy, one without
    the intermediate: the broken node's diagnosis leads, and the finding names
    both addresses and their verdicts."""
    good_node = netlab.server_context(files, [h.leaf, h.intermediate])
    bad_node = netlab.server_context(files, [h.leaf])
    with netlab.serving(netlab.tls_handler(good_node)) as a, netlab.serving(
        netlab.tls_handler(bad_node)
    ) as b:
        target = parse_target(f"{HOST}:443", connect_to=f"127.0.0.1:{a.port}")
        ra = fetch_chain(target, timeout=5, address=f"127.0.0.1:{a.port}")
        rb = fetch_chain(target, timeout=5, address=f"127.0.0.1:{b.port}")
    anchors = make_anchor_set(
        "go", [Anchor(from_certificate(h.root.cert), Provenance("root.pem"))]
    )
    results = [AddressResult(ra.address, ra, None), AddressResult(rb.address, rb, None)]
    e = judge_fetch(target, results, Clients(("go",), (("go", anchors),)), mozilla=None,
                    at=dh.NOW)
    assert e.diagnosis is not None and e.address == rb.address
    assert e.diagnosis.verdict.cause.value == "missing-intermediate"
    diff = [f for f in e.diagnosis.findings if f.code.value == "different-chains"]
    assert len(diff) == 1
    assert diff[0].params["addresses"] == [ra.address, rb.address]
    assert diff[0].params["verdicts"] == [f"{ra.address}: trusted",
                                          f"{rb.address}: missing-intermediate"]
    judged = dict(e.judged)
    assert judged[ra.address].verdict.trusted and not judged[rb.address].verdict.trusted
    doc = endpoint_to_dict(e)
    dh.validate(doc)
    assert [a.get("verdict", {}).get("cause") for a in doc["addresses"]] == [
        "ok", "missing-intermediate"]
    text = render_endpoint(e).plain()
    assert text.startswith("✗ NOT TRUSTED (server side")
    assert "! different-chains" in text and f"{ra.address}: 2 certificate(s)" in text
    assert "— not trusted: missing-intermediate (shown below)" in text


def test_same_chain_everywhere_is_not_a_finding(files, h) -> None:
    ctx = netlab.server_context(files, [h.leaf, h.intermediate])
    with netlab.serving(netlab.tls_handler(ctx)) as a, netlab.serving(
        netlab.tls_handler(ctx)
    ) as b:
        target = parse_target(f"{HOST}:443")
        results = [
            AddressResult(r.address, r, None)
            for r in (fetch_chain(target, timeout=5, address=f"127.0.0.1:{p}")
                      for p in (a.port, b.port))
        ]
    anchors = make_anchor_set("go", [Anchor(from_certificate(h.root.cert), Provenance("r"))])
    e = judge_fetch(target, results, Clients(("go",), (("go", anchors),)), mozilla=None,
                    at=dh.NOW)
    assert e.diagnosis is not None and e.diagnosis.verdict.trusted
    assert "different-chains" not in [f.code.value for f in e.diagnosis.findings]
    assert len(e.judged) == 2 and e.judged[0][1] is e.judged[1][1]


# -- a real subprocess ---------------------------------------------------------------------


def test_as_a_subprocess(files, h, root_pem) -> None:
    env = {k: v for k, v in os.environ.items() if k not in dh.PROXY_VARS}
    env["NO_COLOR"] = "1"
    with dh.serve_chain(files, [h.leaf]) as srv, netlab.serving(netlab.silent()) as dead:
        p = subprocess.run(
            [sys.executable, "-m", "trustdoctor", "diagnose", f"127.0.0.1:{srv.port}",
             "--servername", HOST, "--client", "go", "--trust", root_pem],
            capture_output=True, text=True, env=env, timeout=60,
        )
        start = time.monotonic()
        q = subprocess.run(
            [sys.executable, "-m", "trustdoctor", "diagnose", f"127.0.0.1:{dead.port}",
             "--timeout", "1"],
            capture_output=True, text=True, env=env, timeout=60,
        )
        elapsed = time.monotonic() - start
    assert p.returncode == 1, p.stderr
    assert p.stdout.splitlines()[0].startswith(
        "✗ NOT TRUSTED (server side, uncertain): the server omits the intermediate "
        "'Diagnose Test Issuing CA'"
    )
    assert p.stderr == ""
    assert q.returncode == 3 and q.stderr == ""
    assert len(q.stdout.splitlines()) == 1 and "timed out" in q.stdout
    assert elapsed < 1 + SLACK + 1.5  # + interpreter start-up
