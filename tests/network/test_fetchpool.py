"""Handshakes in worker processes (sources/fetchpool.py): the same answers as in
this process, the same error codes, and no child left behind or hanging."""

from __future__ import annotations

import os
import signal
import socket
import ssl
import time
from collections.abc import Iterator

import pytest

import helpers.netlab as netlab
from trustdoctor.errors import ConnectError, SourceError, UsageError
from trustdoctor.lab import pki
from trustdoctor.model.target import parse_target
from trustdoctor.sources.fetchpool import FetchPool
from trustdoctor.sources.network import FetchResult, fetch_chain


@pytest.fixture(scope="module")
def h() -> pki.Hierarchy:
    return pki.hierarchy("pool.test", root_cn="Pool Root", inter_cn="Pool Issuing CA")


@pytest.fixture
def pool() -> Iterator[FetchPool]:
    with FetchPool(2, 4) as p:
        yield p


def _facts(r: FetchResult) -> tuple[object, ...]:
    return (
        [p.cert.sha256 for p in r.chain],
        [p.provenance for p in r.chain],
        r.address, r.tls_version, r.cipher, r.alpn, r.client_cert_requested, r.proxy_used,
        r.presented_count, r.handshake_error, r.notes, r.target,
    )  # fmt: skip


def _gone(pid: int) -> bool:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return True
    return False


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3])
def test_the_same_facts_as_a_handshake_here(
    pool: FetchPool, files: netlab.Files, h: pki.Hierarchy, version: ssl.TLSVersion
) -> None:
    ctx = netlab.server_context(
        files, [h.leaf, h.intermediate], min_version=version, max_version=version,
        client_ca=h.root, client_optional=True, alpn=["h2"],
    )  # fmt: skip
    with netlab.serving(netlab.tls_handler(ctx)) as srv:
        t = parse_target(f"https://127.0.0.1:{srv.port}", servername="pool.test")
        here = fetch_chain(t, timeout=5)
        there = [pool.fetch(t, timeout=5) for _ in range(4)]  # both children serve
    for r in there:
        assert _facts(r) == _facts(here)
    assert here.client_cert_requested and here.alpn == "h2"


def test_proxies_and_starttls_in_a_child(
    pool: FetchPool, files: netlab.Files, h: pki.Hierarchy
) -> None:
    # The proxy environment travels with each request (the child reads none of
    # its own): the proxy is given the name, and the facts are the same.
    ctx = netlab.server_context(files, [h.leaf, h.intermediate])
    with (
        netlab.serving(netlab.tls_handler(ctx)) as srv,
        netlab.serving(netlab.tls_handler(ctx, starttls="smtp")) as mail,
        netlab.ConnectProxy(routes={"shop.example.com": srv.port}) as proxy,
    ):
        env = {"HTTPS_PROXY": f"http://127.0.0.1:{proxy.port}", "NO_PROXY": "localhost"}
        t = parse_target("https://shop.example.com")
        here, there = fetch_chain(t, env=env, timeout=5), pool.fetch(t, env=env, timeout=5)
        smtp = parse_target(f"smtp://127.0.0.1:{mail.port}", servername="pool.test")
        smtp_here, smtp_there = fetch_chain(smtp, timeout=5), pool.fetch(smtp, timeout=5)
    assert _facts(there) == _facts(here)
    assert there.proxy_used == f"http://127.0.0.1:{proxy.port}"
    assert proxy.requests == ["CONNECT shop.example.com:443 HTTP/1.1"] * 2
    assert _facts(smtp_there) == _facts(smtp_here) and len(smtp_there.chain) == 2


def test_connection_problems_keep_their_codes(pool: FetchPool) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, not listening: refused
        refused = parse_target(f"127.0.0.1:{port}")
        with pytest.raises(ConnectError) as here:
            fetch_chain(refused, timeout=2)
        with pytest.raises(ConnectError) as there:
            pool.fetch(refused, timeout=2)
    assert (there.value.code, there.value.message) == (here.value.code, here.value.message)
    assert there.value.code == "unreachable"
    http_server = netlab.serving(netlab.sends(b"HTTP/1.1 400 Bad Request\r\n\r\n"))
    with http_server as srv, pytest.raises(ConnectError) as http:
        pool.fetch(parse_target(f"127.0.0.1:{srv.port}"), timeout=2)
    assert http.value.code == "not-tls"
    with netlab.serving(netlab.silent(stop_after=5)) as srv:
        start = time.monotonic()
        with pytest.raises(ConnectError) as silent:
            pool.fetch(parse_target(f"127.0.0.1:{srv.port}"), timeout=0.5)
        assert time.monotonic() - start < 3
    assert silent.value.code == "timeout"
    with pytest.raises(UsageError, match="unknown handshake engine"):
        pool.fetch(parse_target("127.0.0.1:1"), timeout=1, engine="nope")


def test_ctrl_c_is_the_parents_to_handle(
    pool: FetchPool, files: netlab.Files, h: pki.Hierarchy
) -> None:
    # A terminal's Ctrl-C reaches the whole process group: the children ignore
    # it (no traceback of theirs, no request lost); the parent ends the scan.
    time.sleep(0.5)  # the children have installed their handler
    for pid in pool.pids():
        os.kill(pid, signal.SIGINT)
    ctx = netlab.server_context(files, [h.leaf, h.intermediate])
    with netlab.serving(netlab.tls_handler(ctx)) as srv:
        t = parse_target(f"127.0.0.1:{srv.port}", servername="pool.test")
        assert all(len(pool.fetch(t, timeout=5).chain) == 2 for _ in range(4))


def test_a_dead_child_fails_what_it_held_in_one_line_and_never_hangs(
    files: netlab.Files, h: pki.Hierarchy
) -> None:
    import threading

    with netlab.serving(netlab.silent(stop_after=20)) as srv, FetchPool(1, 2) as p:
        t = parse_target(f"127.0.0.1:{srv.port}")
        errors: list[BaseException] = []

        def held() -> None:
            try:
                p.fetch(t, timeout=15)
            except BaseException as exc:
                errors.append(exc)

        th = threading.Thread(target=held)
        th.start()
        time.sleep(1.0)  # the request is in the child, waiting on the silent server
        (pid,) = p.pids()
        os.kill(pid, signal.SIGKILL)
        th.join(10)
        assert not th.is_alive()
        assert len(errors) == 1 and isinstance(errors[0], SourceError)
        assert "worker" in errors[0].message and "\n" not in errors[0].message
        with pytest.raises(SourceError, match="ended"):
            p.fetch(t, timeout=1)


def test_close_ends_the_children_even_mid_handshake() -> None:
    import threading

    with netlab.serving(netlab.silent(stop_after=20)) as srv:
        p = FetchPool(2, 2)
        p.start()
        pids = p.pids()
        t = parse_target(f"127.0.0.1:{srv.port}")
        ended: list[BaseException] = []

        def held() -> None:
            try:
                p.fetch(t, timeout=15)
            except SourceError as exc:  # what the closing pool answers
                ended.append(exc)

        threads = [threading.Thread(target=held) for _ in range(2)]
        for th in threads:
            th.start()
        time.sleep(0.5)
        start = time.monotonic()
        p.close()
        assert time.monotonic() - start < 5
        assert all(_gone(pid) for pid in pids)
        with pytest.raises(SourceError, match="stopped"):
            p.fetch(t, timeout=1)
        for th in threads:
            th.join(5)
            assert not th.is_alive()
        assert len(ended) == 2


def test_bad_sizes_are_refused() -> None:
    with pytest.raises(UsageError):
        FetchPool(0, 4)
    with pytest.raises(UsageError):
        FetchPool(2, 0)


def test_children_that_cannot_start_are_a_source_error(monkeypatch: pytest.MonkeyPatch) -> None:
    # An interpreter path that runs but is no Python (a frozen build, a
    # broken installation): the first ping is never answered.
    monkeypatch.setattr("sys.executable", "/bin/true")
    p = FetchPool(2, 2)
    with pytest.raises(SourceError, match="did not start"):
        p.start()
    monkeypatch.setattr("sys.executable", "/nonexistent/python")
    with pytest.raises(SourceError, match="cannot start"):
        FetchPool(1, 1).start()


def test_a_scan_whose_workers_cannot_start_stays_in_this_process(
    monkeypatch: pytest.MonkeyPatch, files: netlab.Files, h: pki.Hierarchy
) -> None:
    from trustdoctor import api
    from trustdoctor.api.scan import POOL_AFTER

    monkeypatch.setattr("sys.executable", "/bin/true")
    ctx = netlab.server_context(files, [h.leaf, h.intermediate])
    with netlab.serving(netlab.tls_handler(ctx)) as srv:
        lines = [f"127.0.0.1:{srv.port} servername=n{k}.pool.test" for k in range(POOL_AFTER + 30)]
        with api.scan_endpoints(lines, clients=["go"], timeout=5, processes=2) as s:
            results = list(s)
            assert s.worker_pids == ()
    assert len(results) == len(lines)
    assert all(isinstance(r, api.ScanResult) and r.report.diagnosis for r in results)


def _silent_lines(port: int, n: int) -> list[str]:
    return [f"127.0.0.1:{port} servername=n{k}.pool.test" for k in range(n)]


def test_a_scan_through_the_workers_keeps_its_deadline() -> None:
    from trustdoctor import api
    from trustdoctor.api.scan import POOL_AFTER

    with netlab.serving(netlab.silent(stop_after=20)) as srv:
        lines = _silent_lines(srv.port, 4 * POOL_AFTER)
        start = time.monotonic()
        with api.scan_endpoints(
            lines, clients=["go"], timeout=10, deadline=2, concurrency=POOL_AFTER + 40, processes=2
        ) as s:
            results = list(s)
            workers = s.worker_pids
        elapsed = time.monotonic() - start
    summary = s.summary()
    assert workers and summary.stopped == "deadline" and summary.exit_code == 3
    # Targets in flight get what is left of the deadline, in the workers too.
    assert elapsed < 2 + 3, elapsed
    assert results and all(
        isinstance(r, api.ScanResult) and r.report.error is not None for r in results
    )


@pytest.fixture
def kill_first_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    """Kill the first worker of every pool as soon as it has started."""
    real = FetchPool.start

    def start(self: FetchPool) -> None:
        real(self)
        os.kill(self.pids()[0], signal.SIGKILL)

    monkeypatch.setattr(FetchPool, "start", start)


@pytest.mark.usefixtures("kill_first_worker")
def test_a_scan_whose_worker_dies_ends_in_one_line() -> None:
    from trustdoctor import api
    from trustdoctor.api.scan import POOL_AFTER

    with netlab.serving(netlab.silent(stop_after=20)) as srv:
        lines = _silent_lines(srv.port, 2 * POOL_AFTER)
        start = time.monotonic()
        scan = api.scan_endpoints(
            lines, clients=["go"], timeout=15, concurrency=POOL_AFTER + 16, processes=2
        )
        with pytest.raises(SourceError) as err, scan as s:
            for _ in s:
                pass
        assert time.monotonic() - start < 10
    assert "worker process ended unexpectedly (killed by signal 9)" in err.value.message


@pytest.mark.parametrize("known_length", [True, False])
def test_a_hung_worker_does_not_hang_the_scan(
    monkeypatch: pytest.MonkeyPatch, known_length: bool
) -> None:
    """A child that stops answering (SIGSTOP here) costs the scan the targets'
    timeout and a grace period, then a one-line error, never a hang: with a
    list, the workers start at once and the window (32 targets) fills up
    with targets that get no answer; with a generator, they start past
    POOL_AFTER targets and the last 20 wait in the window."""
    from trustdoctor import api
    from trustdoctor.api import scan as scan_module
    from trustdoctor.api.scan import POOL_AFTER

    monkeypatch.setattr(scan_module, "DRAIN_GRACE", 1.0)
    real = FetchPool.start

    def start(self: FetchPool) -> None:
        real(self)
        for pid in self.pids():
            os.kill(pid, signal.SIGSTOP)

    monkeypatch.setattr(FetchPool, "start", start)
    with netlab.serving(netlab.silent(stop_after=20)) as srv:
        lines = _silent_lines(srv.port, POOL_AFTER + 20)
        start_t = time.monotonic()
        items = lines if known_length else iter(lines)
        scan = api.scan_endpoints(items, clients=["go"], timeout=1, processes=2)
        with pytest.raises(SourceError, match="no answer from the handshake workers"), scan as s:
            for _ in s:
                pass
        assert time.monotonic() - start_t < 15
