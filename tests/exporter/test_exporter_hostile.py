"""Hostile use of the exporter: forged targets, silent and garbage servers, floods, slow
clients, and a store rewritten while it is scraped.

No packet leaves loopback: link-local and metadata refusals are tested on the
decision function itself; the refused-before-any-socket check uses a counting
listener on 127.0.0.2, which is outside the allowlist.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from tests.helpers import netlab
from tests.helpers.exporter import Exporter, samples
from tests.helpers.stores import FAR_FUTURE, FAR_PAST, Root, ca, debian, fp

from trustdoctor.api.context import TrustOptions
from trustdoctor.errors import UsageError
from trustdoctor.exporter.allow import Allowlist, decide, parse_rule
from trustdoctor.exporter.probe import Module, Prober
from trustdoctor.lab import pki

R = ca("Hostile Root R")
E = ca("Hostile Root E")
I1 = pki.make_cert("Hostile Issuing", issuer=R, not_before=FAR_PAST, not_after=FAR_FUTURE)
L1 = pki.make_cert(
    "127.0.0.1", issuer=I1, ca=False, ips=("127.0.0.1",), not_before=FAR_PAST, not_after=FAR_FUTURE
)


def allow(*rules: str) -> Allowlist:
    return Allowlist.parse(rules)


# -- the decision itself (no resolution, no socket) ---------------------------------------


@pytest.mark.parametrize(
    "address,reason",
    [
        ("169.254.169.254", "denied-link-local"),  # AWS/GCP/Azure metadata
        ("::ffff:169.254.169.254", "denied-link-local"),  # IPv4-mapped
        ("64:ff9b::a9fe:a9fe", "denied-link-local"),  # NAT64 of 169.254.169.254
        ("2002:a9fe:a9fe::1", "denied-link-local"),  # 6to4 of 169.254.169.254
        ("fe80::1", "denied-link-local"),
        ("fe80::1%eth0", "denied-link-local"),
        ("fd00:ec2::254", "denied-metadata"),  # AWS over IPv6
        ("100.100.100.200", "denied-metadata"),  # Alibaba
        ("0.0.0.0", "denied-unspecified"),
        ("::", "denied-unspecified"),
        ("224.0.0.1", "denied-multicast"),
    ],
)
def test_metadata_and_link_local_denied_even_by_broad_rules(address: str, reason: str) -> None:
    broad = allow("0.0.0.0/0", "::/0", "*.example.com", "metadata.example.com")
    d = decide(broad, "metadata.example.com", 80, [address])
    assert (d.allowed, d.reason) == (False, reason)


def test_explicit_address_rule_allows_a_denied_range() -> None:
    assert decide(allow("169.254.169.254"), "169.254.169.254", 80, ["169.254.169.254"]).allowed
    assert decide(allow("169.254.0.0/16"), "x", 80, ["169.254.1.2"]).allowed
    # A wider network naming more than the denied range does not count as explicit.
    assert not decide(allow("128.0.0.0/1"), "x", 80, ["169.254.1.2"]).allowed


def test_every_address_is_checked() -> None:
    rules = allow("10.0.0.0/8")
    assert decide(rules, "svc", 443, ["10.1.2.3"]).allowed
    d = decide(rules, "svc", 443, ["10.1.2.3", "192.168.1.1"])
    assert (d.allowed, d.reason, d.address) == (False, "not-allowed", "192.168.1.1")
    d = decide(allow("*.corp.example"), "a.corp.example", 443, ["10.0.0.1", "169.254.169.254"])
    assert (d.allowed, d.reason) == (False, "denied-link-local")
    assert not decide(rules, "svc", 443, []).allowed


def test_names_wildcards_and_ports() -> None:
    rules = allow("registry.corp.example:5000", "*.svc.cluster.local", "[::1]:8443")
    assert decide(rules, "registry.corp.example", 5000, ["192.0.2.1"]).allowed
    assert not decide(rules, "registry.corp.example", 443, ["192.0.2.1"]).allowed
    assert decide(rules, "API.svc.cluster.local.", 443, ["192.0.2.2"]).allowed
    assert not decide(rules, "svc.cluster.local", 443, ["192.0.2.2"]).allowed  # suffix only
    assert not decide(rules, "evil-svc.cluster.local", 443, ["192.0.2.2"]).allowed
    assert decide(rules, "::1", 8443, ["::1"]).allowed
    assert not decide(rules, "::1", 8444, ["::1"]).allowed


@pytest.mark.parametrize("bad", ["", "a b", "*", "*.", "x:99999", "[::1", "a/b", "*.a.*.b"])
def test_bad_rules_are_usage_errors(bad: str) -> None:
    with pytest.raises(UsageError):
        parse_rule(bad)


def test_allowlist_file(tmp_path: Path) -> None:
    f = tmp_path / "targets"
    f.write_text("# probe these\n10.0.0.0/8\n\n*.corp.example  # all of corp\n")
    rules = Allowlist.parse([f"@{f}"], read=lambda p: Path(p).read_text())
    assert [r.text for r in rules.rules] == ["10.0.0.0/8", "*.corp.example"]


# -- the prober in this process -----------------------------------------------------------


def _prober(*rules: str, timeout: float = 2.0, trust: Path | None = None) -> Prober:
    m = Module("default", ("go", "openssl"), (str(trust),) if trust else (), timeout=timeout)
    return Prober(TrustOptions(), {"default": m}, allow(*rules), max_concurrent=4)


def _probe(p: Prober, target: str, **headers: str) -> tuple[int, str, float]:
    t0 = time.monotonic()
    status, body, _ = asyncio.run(p.handle({"target": [target]}, headers, None))
    return status, body.decode(), time.monotonic() - t0


@pytest.fixture()
def root_pem(tmp_path: Path) -> Path:
    f = tmp_path / "root.pem"
    f.write_bytes(R.pem)
    return f


def test_refused_before_any_socket_opens(root_pem: Path) -> None:
    """127.0.0.2 is outside the allowlist: its listener never sees a connection."""
    accepted: list[object] = []
    ls = socket.socket()
    try:
        ls.bind(("127.0.0.2", 0))
    except OSError:
        pytest.skip("127.0.0.2 cannot be bound here")
    ls.listen(16)
    ls.settimeout(0.1)
    stop = threading.Event()

    def count() -> None:
        while not stop.is_set():
            try:
                c, _ = ls.accept()
            except (TimeoutError, OSError):
                continue
            accepted.append(c)
            c.close()

    t = threading.Thread(target=count, daemon=True)
    t.start()
    p = _prober("127.0.0.1", trust=root_pem)
    try:
        port = ls.getsockname()[1]
        for target in (
            f"127.0.0.2:{port}",
            f"https://127.0.0.2:{port}/x",
            f"[::ffff:127.0.0.2]:{port}",
        ):
            status, body, _ = _probe(p, target)
            assert status == 403, (target, body)
            assert "not-allowed" in body
        time.sleep(0.3)
        assert accepted == []
        assert p.stats.refused["not-allowed"] == 3
    finally:
        stop.set()
        t.join()
        ls.close()
        p.close()


def test_unresolvable_target_answers_200(root_pem: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The resolver is replaced: no DNS query leaves this machine.
    real = socket.getaddrinfo

    def fake(host: object, *a: object, **k: object) -> object:
        if host in ("nowhere.corp.example", b"nowhere.corp.example"):
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, *a, **k)  # type: ignore[arg-type]

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    p = _prober("*.corp.example", trust=root_pem)
    try:
        status, body, _ = _probe(p, "nowhere.corp.example:443")
        assert status == 200
        assert samples(body, "trustdoctor_probe_success")[0][1] == 0
        causes = {
            lab["client"]: lab["cause"]
            for lab, _ in samples(body, "trustdoctor_probe_client_trusted")
        }
        assert causes == {"go": "unreachable", "openssl": "unreachable"}
    finally:
        p.close()


def test_silent_target_is_cut_at_the_deadline(root_pem: Path) -> None:
    p = _prober("127.0.0.1", timeout=1.0, trust=root_pem)
    try:
        with netlab.Server(netlab.silent(stop_after=10)) as srv:
            status, body, took = _probe(p, srv.hostport)
            assert status == 200 and took < 3.0
            assert samples(body, "trustdoctor_probe_success")[0][1] == 0
            causes = {lab["cause"] for lab, _ in samples(body, "trustdoctor_probe_client_trusted")}
            assert causes == {"timeout"}
            # Prometheus' own scrape timeout wins over a longer module timeout.
            p.modules["default"] = Module("default", ("go",), (str(root_pem),), timeout=10)
            status, body, took = _probe(
                p, srv.hostport, **{"x-prometheus-scrape-timeout-seconds": "1.5"}
            )
            assert status == 200 and took < 2.5
    finally:
        p.close()


def test_garbage_target(root_pem: Path) -> None:
    p = _prober("127.0.0.1", trust=root_pem)
    try:
        with netlab.Server(netlab.sends(b"HTTP/1.0 400 Bad Request\r\n\r\nnot tls")) as srv:
            status, body, _ = _probe(p, srv.hostport)
        assert status == 200
        causes = {lab["cause"] for lab, _ in samples(body, "trustdoctor_probe_client_trusted")}
        assert causes == {"not-tls"}
        assert samples(body, "trustdoctor_probe_success")[0][1] == 0
    finally:
        p.close()


@pytest.mark.parametrize(
    "query,status",
    [
        ({}, 400),
        ({"target": ["a", "b"]}, 400),
        ({"target": ["127.0.0.1:1"], "module": ["nope"]}, 400),
        ({"target": ["127.0.0.1:1"], "client": ["nope"]}, 400),
        ({"target": ["127.0.0.1:1"], "client": ["java"]}, 400),  # not in the module
        ({"target": ["http://127.0.0.1:1"]}, 400),
        ({"target": ["127.0.0.1:99999"]}, 400),
        ({"target": ["x" * 5000]}, 400),
    ],
)
def test_malformed_requests(query: dict[str, list[str]], status: int) -> None:
    p = _prober("127.0.0.1")
    try:
        got, body, _ = asyncio.run(p.handle(query, {}, None))
        assert got == status, body
        assert b"\n" in body and len(body) < 600
    finally:
        p.close()


# -- the exporter process -----------------------------------------------------------------


@pytest.mark.slow
def test_500_concurrent_probes(tmp_path: Path) -> None:
    (tmp_path / "r.pem").write_bytes(R.pem)
    cfg = tmp_path / "modules.toml"
    cfg.write_text(
        f'[modules.default]\nclients = ["go"]\ntrust = ["{tmp_path / "r.pem"}"]\ntimeout = 20\n'
    )
    files = netlab.Files()
    ctx = netlab.server_context(files, [L1, I1])
    with (
        netlab.Server(netlab.tls_handler(ctx)) as srv,
        Exporter(
            [
                "--allow-target",
                "127.0.0.1",
                "--config",
                str(cfg),
                "--client",
                "go",
                "--max-connections",
                "2000",
                "--max-pending-probes",
                "1000",
                "--max-concurrent-probes",
                "16",
            ]
        ) as exp,
    ):
        before = exp.rss_kib()
        barrier = threading.Barrier(100)

        def one(i: int) -> tuple[int, float]:
            if i < 100:
                barrier.wait(timeout=30)
            status, body = exp.probe(srv.hostport, timeout=60)  # type: ignore[call-arg]
            ok = samples(body, "trustdoctor_probe_success")
            return status, ok[0][1] if ok else -1

        with ThreadPoolExecutor(max_workers=250) as pool:
            results = list(pool.map(one, range(500)))
        assert all(r == (200, 1.0) for r in results), [r for r in results if r != (200, 1.0)][:5]
        status, body = exp.get("/metrics")
        assert status == 200
        done = {lab["result"]: v for lab, v in samples(body, "trustdoctor_probes_total")}
        assert done["success"] == 500
        after = exp.rss_kib()
        assert after < max(2 * before, before + 150_000), (before, after)
    files.cleanup()


def test_slowloris_does_not_stop_scrapes(tmp_path: Path) -> None:
    root = Root(tmp_path / "root")
    debian(root, [R])
    with Exporter(["--root", str(root.path), "--header-timeout", "1"]) as exp:
        slow: list[socket.socket] = []
        try:
            for _ in range(50):
                s = socket.create_connection(("127.0.0.1", exp.port), timeout=5)
                s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
                slow.append(s)
            t0 = time.monotonic()
            status, body = exp.get("/metrics")
            assert status == 200 and "trustdoctor_build_info" in body
            assert time.monotonic() - t0 < 2.0
            for s in slow[:5]:
                s.sendall(b"X-Slow: 1\r\n")  # still not a whole head
            time.sleep(1.5)
            answers = []
            for s in slow:
                s.settimeout(2)
                try:
                    answers.append(s.recv(100))
                except OSError:
                    answers.append(b"")
            assert all(a.startswith(b"HTTP/1.1 408") or a == b"" for a in answers)
            assert sum(a.startswith(b"HTTP/1.1 408") for a in answers) >= 45
        finally:
            for s in slow:
                s.close()
        # A huge head is refused too.
        s = socket.create_connection(("127.0.0.1", exp.port), timeout=5)
        try:
            s.sendall(b"GET /metrics HTTP/1.1\r\n" + b"X: " + b"a" * 40000 + b"\r\n\r\n")
            assert s.recv(100).startswith(b"HTTP/1.1 431")
        except (ConnectionResetError, BrokenPipeError):
            pass
        finally:
            s.close()


def test_store_rewritten_while_scraped(tmp_path: Path) -> None:
    """A non-atomic writer flips the bundle between 'with R' and 'without R' while
    scrapes run; every scrape is answered, and once the writer stops on 'without
    R' no scrape says R is trusted."""
    root = Root(tmp_path / "root")
    debian(root, [E])  # R is never in the hash directory: only the bundle decides
    bundle = root.p("/etc/ssl/certs/ca-certificates.crt")
    (tmp_path / "r.pem").write_bytes(R.pem)
    with_r, without_r = E.pem + R.pem, E.pem
    with Exporter(
        ["--root", str(root.path), "--ca", str(tmp_path / "r.pem"), "--client", "go"]
    ) as exp:
        stop = threading.Event()

        def writer() -> None:
            flip = True
            while not stop.is_set():
                data = with_r if flip else without_r
                with open(bundle, "wb") as fh:  # truncate, then two writes: readers see halves
                    fh.write(data[: len(data) // 2])
                    fh.flush()
                    time.sleep(0.002)
                    fh.write(data[len(data) // 2 :])
                flip = not flip
                time.sleep(0.003)
            bundle.write_bytes(without_r)

        t = threading.Thread(target=writer)
        t.start()
        before = exp.rss_kib()
        try:
            deadline = time.monotonic() + 4
            n = 0
            while time.monotonic() < deadline:
                status, body = exp.get("/metrics")
                assert status == 200
                assert samples(body, "trustdoctor_ca_trusted")
                n += 1
        finally:
            stop.set()
            t.join()
        assert n > 5
        for _ in range(3):
            status, body = exp.get("/metrics")
            got = [
                (lab["cause"], v)
                for lab, v in samples(body, "trustdoctor_ca_trusted")
                if lab["fingerprint_sha256"] == fp(R)
            ]
            assert got == [("not-present", 0.0)], got
        assert exp.rss_kib() < before + 100_000
