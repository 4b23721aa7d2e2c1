"""``trustdoctor serve`` is safe to run for a team.

* what people paste is text on the page, never markup (subjects, SANs, log
  lines, file names), and the page runs no inline script (CSP);
* bodies and inputs are bounded before they are parsed (oversized bodies,
  deeply nested PKCS#7, 1,000-certificate pastes, hostile chains);
* paste-only unless ``--allow-target``: a live request is refused before any
  socket opens — checked with a counting listener on 127.0.0.2 — and
  loopback, link-local and metadata addresses are refused unless named
  (link-local and metadata on the decision function only: no test sends a
  packet beyond loopback);
* nothing pasted is logged or written to disk; cross-site posts are refused;
* concurrency is bounded: excess requests get 503, never an error, and 200
  concurrent analyses all complete (p95 printed).
"""

from __future__ import annotations

import concurrent.futures
import ipaddress
import json
import logging
import statistics
import subprocess
import sys
import tempfile
import time

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs7
from cryptography.x509.oid import NameOID

from helpers.web import HOST, Counting, make_pki, running
from trustdoctor.lab import pki, tls_server
from trustdoctor.web.settings import WEB_CLIENTS, Settings
from trustdoctor.web.targets import (
    Allowlist,
    address_decision,
    decide,
    parse_allowlist,
    system_resolver,
)

XSS_CN = "<script>alert(1)</script>"
XSS_O = '"><img src=x onerror=alert(2)>'
XSS_SAN = "<svg onload=alert(3)>.example"
XSS_LOG = "<script>alert(4)</script> x509: certificate signed by unknown authority"


def _loopback2_available() -> bool:
    import socket

    try:
        with socket.socket() as s:
            s.bind(("127.0.0.2", 0))
    except OSError:
        return False
    return True


needs_127_0_0_2 = pytest.mark.skipif(
    not _loopback2_available(), reason="127.0.0.2 cannot be bound here"
)


def xss_cert() -> pki.Issued:
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, XSS_O),
            x509.NameAttribute(NameOID.COMMON_NAME, XSS_CN),
        ]
    )
    return pki.make_cert(subject, ca=False, dns=[XSS_SAN])


@pytest.fixture(scope="module")
def server():
    with running() as s:
        yield s


# -- escaping -----------------------------------------------------------------------------


def test_certificate_fields_and_log_text_render_as_text(server):
    c = xss_cert()
    files = {
        "chain_file": ("<b>x</b>.pem", c.pem, "application/x-pem-file"),
        "host": (None, "registry.example"),
        "log": (None, XSS_LOG),
    }
    r = httpx.post(server.url + "/", files=files, timeout=30)
    assert r.status_code == 200
    html = r.text
    for raw in (XSS_CN, XSS_O, "<svg onload", "<script>alert(4)", "<img src=x", "<b>x</b>"):
        assert raw not in html, raw
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html  # shown, as text
    assert "&lt;script&gt;alert(4)&lt;/script&gt;" in html
    # The only scripts are the page's own file.
    assert html.count("<script") == 1 and '<script src="/static/app.js' in html
    # A hostile host name is refused with its value escaped.
    files = {"chain": (None, c.pem.decode()), "host": (None, "<i>h</i>")}
    r = httpx.post(server.url + "/", files=files, timeout=30)
    assert r.status_code == 400 and "<i>h</i>" not in r.text and "&lt;i&gt;" in r.text
    # The JSON API carries the values as JSON strings (served as application/json).
    r = httpx.post(f"{server.url}/api/chain", json={"chain": c.pem.decode()}, timeout=30)
    assert r.headers["content-type"] == "application/json"
    assert XSS_SAN in r.json()["certificates"][r.json()["leaf"]]["dns_names"]


def test_every_response_has_the_strict_headers(server):
    responses = [
        httpx.get(server.url + "/"),
        httpx.get(server.url + "/static/style.css"),
        httpx.get(server.url + "/nowhere"),
        httpx.get(server.url + "/healthz"),
        httpx.post(server.url + "/api/chain", json={"chain": "x"}),
        httpx.post(server.url + "/api/endpoint", json={"target": "127.0.0.1:1"}),
    ]
    for r in responses:
        csp = r.headers["content-security-policy"]
        assert "default-src 'none'" in csp and "script-src 'self'" in csp
        assert "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["x-frame-options"] == "DENY"
        assert "server" not in r.headers


def test_cross_site_posts_are_refused(server):
    r = httpx.post(
        server.url + "/",
        files={"log": (None, XSS_LOG)},
        headers={"origin": "http://evil.example", "sec-fetch-site": "cross-site"},
    )
    assert r.status_code == 403 and "another site" in r.text
    r = httpx.post(
        server.url + "/api/chain", json={"chain": "x"}, headers={"origin": "http://evil.example"}
    )
    assert r.status_code == 403


# -- bounds -------------------------------------------------------------------------------


def test_oversized_bodies_are_refused_unread(tmp_path):
    with running(Settings(max_body=64 * 1024)) as s:
        big = b"A" * (200 * 1024)
        r = httpx.post(s.url + "/", files={"log": (None, big.decode())}, timeout=30)
        assert r.status_code == 413 and "larger than 64 KiB" in r.text
        r = httpx.post(s.url + "/api/chain", content=big, timeout=30)
        assert r.status_code == 413 and "larger than 64 KiB" in r.json()["error"]

        def chunks():  # no Content-Length: counted while it streams
            for _ in range(100):
                yield b"B" * 4096

        r = httpx.post(
            s.url + "/api/explain",
            content=chunks(),
            headers={"content-type": "application/json"},
            timeout=30,
        )
        assert r.status_code == 413
        assert httpx.get(s.url + "/healthz").json()["counts"]["too-large"] == 3


def _nested(depth: int, *, indefinite: bool) -> bytes:
    """A PKCS#7 ContentInfo whose content is ``depth`` nested SEQUENCEs."""
    if indefinite:
        inner = b"\x30\x80" * depth + b"\x00\x00" * depth
    else:
        inner = b"\x05\x00"
        for _ in range(depth):
            n = len(inner)
            length = bytes([n]) if n < 0x80 else bytes([0x80 | ((n.bit_length() + 7) // 8)]) + (
                n.to_bytes((n.bit_length() + 7) // 8, "big")
            )
            inner = b"\x30" + length + inner
    oid = bytes.fromhex("06092a864886f70d010702")  # signedData
    body = oid + b"\xa0\x80" + inner + b"\x00\x00"
    return b"\x30\x80" + body + b"\x00\x00"


@pytest.mark.parametrize("indefinite", [True, False], ids=["ber-indefinite", "der-definite"])
def test_deeply_nested_pkcs7_is_refused_quickly(server, indefinite):
    import base64

    blob = _nested(20_000 if not indefinite else 100_000, indefinite=indefinite)
    pem = b"-----BEGIN PKCS7-----\n" + base64.encodebytes(blob) + b"-----END PKCS7-----\n"
    for body in (
        {"chain_base64": base64.b64encode(blob).decode()},
        {"chain": pem.decode()},
    ):
        t = time.monotonic()
        r = httpx.post(f"{server.url}/api/chain", json=body, timeout=60)
        assert time.monotonic() - t < 10
        assert r.status_code in (400, 413), r.text
        assert r.json()["error"]
    assert httpx.get(server.url + "/healthz").json()["status"] == "ok"


def test_thousand_certificate_pastes_are_bounded(server, tmp_path):
    import base64

    root = pki.make_cert("Bulk Root")
    key = pki.new_key(fresh=False, slot=7)
    certs = [
        pki.make_cert(f"bulk-{i}.example", issuer=root, key=key, ca=False) for i in range(1000)
    ]
    pem = b"".join(c.pem for c in certs)
    t = time.monotonic()
    r = httpx.post(server.url + "/api/chain", json={"chain": pem.decode()}, timeout=60)
    assert r.status_code == 413 and "64 at most" in r.json()["error"]
    assert time.monotonic() - t < 2  # counted, not parsed
    p7 = pkcs7.serialize_certificates([c.cert for c in certs], serialization.Encoding.DER)
    t = time.monotonic()
    r = httpx.post(
        server.url + "/api/chain", json={"chain_base64": base64.b64encode(p7).decode()}, timeout=60
    )
    assert r.status_code == 413 and "1000 certificates" in r.json()["error"]
    assert time.monotonic() - t < 10
    # The form: the same refusal, shown on the page.
    r = httpx.post(server.url + "/", files={"chain_file": ("bulk.p7b", p7)}, timeout=60)
    assert r.status_code == 413 and "at most 64 are judged" in r.text


def test_hostile_chain_within_the_count_is_judged_in_bounded_time(server):
    """Sixty certificates cross-signing each other (two names, two keys): many
    candidate paths, still one answer, quickly."""
    ka, kb = pki.new_key(fresh=False, slot=4), pki.new_key(fresh=False, slot=5)
    a = pki.make_cert(pki.name("Loop A"), key=ka)
    b = pki.make_cert(pki.name("Loop B"), key=kb)
    cross = []
    for _ in range(30):
        cross.append(pki.make_cert(pki.name("Loop A"), key=ka, issuer=b))
        cross.append(pki.make_cert(pki.name("Loop B"), key=kb, issuer=a))
    leaf = pki.make_cert("loop.example", issuer=a, ca=False, dns=["loop.example"])
    chain = leaf.pem + b"".join(c.pem for c in cross[:62])
    t = time.monotonic()
    r = httpx.post(server.url + "/api/chain", json={"chain": chain.decode()}, timeout=120)
    assert r.status_code == 200
    assert r.json()["verdict"]["trusted"] is False
    assert time.monotonic() - t < 20


def test_nothing_pasted_is_logged_or_written(tmp_path, caplog, capfd, monkeypatch):
    marker = "zq-marker-7731"
    c = pki.make_cert(f"{marker}.example", ca=False, dns=[f"{marker}.example"])
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where spooled uploads would go
    caplog.set_level(logging.DEBUG)
    with running(Settings(max_body=4 * 1024 * 1024, max_log=4 * 1024 * 1024)) as s:
        big_log = (f"{marker} x509: certificate signed by unknown authority\n" * 40000).encode()
        files = {
            "chain_file": ("c.pem", c.pem),
            "log_file": ("app.log", big_log),  # > 1 MiB: Starlette would spool it to disk
            "password": (None, marker),
        }
        r = httpx.post(s.url + "/", files=files, timeout=60)
        assert r.status_code == 200
        httpx.post(s.url + "/api/chain", json={"chain": "junk " + marker}, timeout=30)
        httpx.post(s.url + "/api/chain", json={"chain": 1, "x": marker}, timeout=30)
    out, err = capfd.readouterr()
    assert marker not in out + err
    assert all(marker not in rec.getMessage() for rec in caplog.records)
    assert list(tmp_path.iterdir()) == []


# -- live endpoints -----------------------------------------------------------------------


@needs_127_0_0_2
def test_live_request_without_allow_target_opens_no_socket(server):
    with Counting("127.0.0.2") as listener:
        target = f"127.0.0.2:{listener.port}"
        r = httpx.post(server.url + "/api/endpoint", json={"target": target}, timeout=30)
        assert r.status_code == 403 and "without --allow-target" in r.json()["error"]
        # The form does not show the field, but a crafted post is refused the same way.
        r = httpx.post(server.url + "/", files={"target": (None, target)}, timeout=30)
        assert r.status_code == 403 and "without --allow-target" in r.text
        # And the explain part offers no live check.
        r = httpx.post(server.url + "/", files={"log": (None, f"Get https://{target}/: x509: "
                       "certificate signed by unknown authority")}, timeout=30)  # fmt: skip
        assert "live</button>" not in r.text
        time.sleep(0.3)
        assert listener.count == 0
    doc = httpx.get(server.url + "/api/openapi.json").json()
    assert "/api/endpoint" not in doc["paths"]


@needs_127_0_0_2
def test_loopback_outside_the_allowlist_is_refused_before_connecting(tmp_path, capsys):
    from trustdoctor.cli.main import main

    p = make_pki(tmp_path)
    root = p.write("root.pem", p.h.root.pem)
    with (
        tls_server([p.h.leaf], p.h.leaf, tmp_path) as port,
        Counting("127.0.0.2") as listener,
        running(
            Settings(allow_target=("127.0.0.1/32",)),
            # HOST is not in DNS: this resolver answers for it; numeric spellings
            # (2130706434, 127.2, 0x7f000002) getaddrinfo reads without a query.
            resolve=lambda host, port: (
                ["127.0.0.1"] if host == HOST else system_resolver(host, port)
            ),
        ) as s,
    ):
        # Allowed: the name resolves into 127.0.0.1/32; the live check is `diagnose`
        # connecting to the address checked, with the same answer.
        r = httpx.post(
            s.url + "/api/endpoint",
            json={"target": f"{HOST}:{port}", "root": p.h.root.pem.decode()},
            timeout=60,
        )
        assert r.status_code == 200, r.text
        web = r.json()
        rc = main(["diagnose", f"{HOST}:{port}", "--connect-to", f"127.0.0.1:{port}", "--trust",
                   root, "--client", ",".join(WEB_CLIENTS), "--format", "json"])  # fmt: skip
        cli = json.loads(capsys.readouterr().out)
        assert rc == 1
        assert web["verdict"] == cli["verdict"]
        assert web["verdict"]["cause"] == "missing-intermediate"
        assert [c["client_error"] for c in web["clients"]] == [
            c["client_error"] for c in cli["clients"]
        ]
        # Refused, whatever the spelling of 127.0.0.2 (or of "any address").
        lp = listener.port
        for target in (
            f"127.0.0.2:{lp}",
            f"[::ffff:127.0.0.2]:{lp}",
            f"[::ffff:7f00:2]:{lp}",
            f"2130706434:{lp}",  # 127.0.0.2 as one number
            f"127.2:{lp}",
            f"0x7f000002:{lp}",
            f"0.0.0.0:{lp}",
            f"https://127.0.0.2:{lp}/v2/",
        ):
            r = httpx.post(s.url + "/api/endpoint", json={"target": target}, timeout=30)
            assert r.status_code in (400, 403), (target, r.text)
            r = httpx.post(s.url + "/", files={"target": (None, target)}, timeout=30)
            assert r.status_code in (400, 403), target
        time.sleep(0.3)
        assert listener.count == 0
        assert s.stats.counts["endpoint-refused"] >= 8


@needs_127_0_0_2
def test_a_name_resolving_to_loopback_is_refused(tmp_path):
    """An allowed *name* that resolves to a guarded address (DNS rebinding) is refused."""
    calls: list[str] = []

    def resolver(host: str, port: int) -> list[str]:
        calls.append(host)
        return {"registry.internal.example.com": ["127.0.0.2"]}.get(host, [])

    with (
        Counting("127.0.0.2") as listener,
        running(Settings(allow_target=(HOST,)), resolve=resolver) as s,
    ):
        r = httpx.post(
            s.url + "/api/endpoint", json={"target": f"{HOST}:{listener.port}"}, timeout=30
        )
        assert r.status_code == 403 and "loopback" in r.json()["error"]
        # A name that is not allowed is not even resolved.
        r = httpx.post(s.url + "/api/endpoint", json={"target": "other.example:443"}, timeout=30)
        assert r.status_code == 403
        time.sleep(0.3)
        assert listener.count == 0
    assert calls == [HOST]


def _resolver(table: dict[str, list[str]]):
    calls: list[str] = []

    def resolve(host: str, port: int) -> list[str]:
        calls.append(host)
        if host not in table:
            raise OSError("no such name")
        return table[host]

    return resolve, calls


@pytest.mark.parametrize(
    "address",
    [
        "169.254.169.254",  # AWS, GCP, Azure, OCI, OpenStack metadata
        "169.254.170.2",  # ECS task metadata
        "fd00:ec2::254",  # AWS IMDS over IPv6
        "100.100.100.200",  # Alibaba Cloud
        "168.63.129.16",  # Azure WireServer
        "169.254.10.1",  # any IPv4 link-local
        "fe80::1",
        "fe80::1%eth0",
        "::ffff:169.254.169.254",  # IPv4-mapped
        "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
        "127.0.0.1",
        "::1",
    ],
)
def test_guarded_addresses_need_an_entry_inside_their_range(address):
    everything = parse_allowlist(["0.0.0.0/0", "::/0"])
    d = decide(address, 443, everything, resolve=lambda h, p: pytest.fail("resolved an IP"))
    assert not d.allowed and d.address is None
    assert "denied unless --allow-target names it" in d.reason
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and (ip.ipv4_mapped or address.startswith("64:")):
        ip = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    named = parse_allowlist([f"{ip}/{ip.max_prefixlen}"])
    assert decide(address, 443, named).allowed


def test_metadata_names_are_refused_even_when_named_by_name():
    resolve, _calls = _resolver(
        {"metadata.google.internal": ["169.254.169.254"], "ok.internal": ["10.1.2.3"],
         "mixed.internal": ["10.1.2.3", "169.254.169.254"]}
    )  # fmt: skip
    allow = parse_allowlist(["metadata.google.internal", "*.internal", "10.0.0.0/8"])
    assert not decide("metadata.google.internal", 80, allow, resolve=resolve).allowed
    d = decide("ok.internal", 443, allow, resolve=resolve)
    assert d.allowed and d.address == "10.1.2.3"
    # One bad address in the answer refuses the name (no connection to "the good one").
    assert not decide("mixed.internal", 443, allow, resolve=resolve).allowed
    assert not decide("nxdomain.internal", 443, allow, resolve=resolve).allowed


def test_decision_rules():
    resolve, calls = _resolver({"a.example": ["10.0.0.5"], "b.example": ["192.0.2.7"]})
    # Off: nothing allowed, nothing resolved.
    off = Allowlist()
    assert not decide("a.example", 443, off, resolve=resolve).allowed
    assert not decide("10.0.0.5", 443, off, resolve=resolve).allowed
    assert calls == []
    # Names only: other names are refused without a lookup; IPs need a network entry.
    names = parse_allowlist(["a.example", "*.corp.example"])
    assert decide("a.example", 443, names, resolve=resolve).allowed
    assert not decide("b.example", 443, names, resolve=resolve).allowed
    assert calls == ["a.example"]
    assert not decide("10.0.0.5", 443, names, resolve=resolve).allowed
    assert not decide("corp.example", 443, names, resolve=resolve).allowed  # the suffix itself
    # Networks: a name is allowed when its addresses are inside.
    nets = parse_allowlist(["10.0.0.0/8"])
    assert decide("a.example", 443, nets, resolve=resolve).allowed
    assert not decide("b.example", 443, nets, resolve=resolve).allowed
    # Never: unspecified, multicast, broadcast, whatever the list.
    every = parse_allowlist(["0.0.0.0/0", "::/0", "0.0.0.0/8", "224.0.0.0/4"])
    for a in ("0.0.0.0", "::", "224.0.0.1", "255.255.255.255", "ff02::1"):
        assert not address_decision(ipaddress.ip_address(a), every, by_name=False).allowed
    assert not decide("10.0.0.5", 0, nets).allowed
    with pytest.raises(ValueError):
        parse_allowlist(["not a host!"])


def test_bad_allow_target_is_a_usage_error(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "trustdoctor", "serve", "--allow-target", "bad host"],
        capture_output=True, text=True, timeout=60, cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 2
    assert proc.stderr.strip() == "trustdoctor: --allow-target 'bad host': not a host name, " \
        "address or CIDR"


# -- concurrency --------------------------------------------------------------------------


def test_excess_requests_wait_or_get_503_never_an_error(seed_pki):
    chain = seed_pki.fullchain_pem.decode()
    with running(Settings(concurrency=1, queue=2)) as s:

        def one(_: int) -> int:
            r = httpx.post(s.url + "/api/chain", json={"chain": chain}, timeout=60)
            return r.status_code

        with concurrent.futures.ThreadPoolExecutor(24) as pool:
            codes = list(pool.map(one, range(24)))
        assert set(codes) <= {200, 503} and 200 in codes and 503 in codes, codes
        health = httpx.get(s.url + "/healthz").json()
        assert health["counts"]["busy"] == codes.count(503)
        assert health["running"] == 0 and health["waiting"] == 0


@pytest.mark.slow
def test_two_hundred_concurrent_chain_analyses(seed_pki):
    """200 clients paste a 3-certificate chain at once: every one is answered."""
    chain = (seed_pki.fullchain_pem + seed_pki.root.pem).decode()
    with running() as s:
        limits = httpx.Limits(max_connections=250, max_keepalive_connections=0)
        with httpx.Client(limits=limits, timeout=120) as client:

            def one(_: int) -> tuple[int, float]:
                t = time.perf_counter()
                r = client.post(s.url + "/api/chain", json={"chain": chain, "host": HOST})
                return r.status_code, time.perf_counter() - t

            start = time.perf_counter()
            with concurrent.futures.ThreadPoolExecutor(200) as pool:
                results = list(pool.map(one, range(200)))
            wall = time.perf_counter() - start
    codes = [c for c, _ in results]
    assert codes == [200] * 200, {c: codes.count(c) for c in set(codes)}
    lat = sorted(t for _, t in results)
    p50, p95 = statistics.median(lat), lat[int(0.95 * len(lat)) - 1]
    print(f"\n200 concurrent chain analyses: {wall:.2f} s wall, p50 {p50 * 1000:.0f} ms, "
          f"p95 {p95 * 1000:.0f} ms")  # fmt: skip


@needs_127_0_0_2
def test_explain_offers_a_live_check_only_for_allowed_endpoints():
    with running(Settings(allow_target=("127.0.0.1/32",))) as s:
        log = "\n".join(
            f'Get "https://{host}:5000/v2/": x509: certificate signed by unknown authority'
            for host in ("127.0.0.1", "127.0.0.2")
        )
        r = httpx.post(s.url + "/", files={"log": (None, log)}, timeout=30)
        assert r.status_code == 200
        assert "Check 127.0.0.1:5000 live</button>" in r.text
        assert "Check 127.0.0.2:5000 live" not in r.text
        assert 'id="target"' in r.text  # the field is shown when live checks are on
        doc = httpx.get(s.url + "/api/openapi.json").json()
        assert "/api/endpoint" in doc["paths"]
