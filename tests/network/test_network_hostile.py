"""Hostile and broken servers: each gives a clear code within the timeout."""

from __future__ import annotations

import hashlib
import ssl
import time
from collections.abc import Callable

import pytest

import helpers.netlab as netlab
from trustdoctor.errors import ConnectError
from trustdoctor.lab import pki
from trustdoctor.model.target import parse_target
from trustdoctor.sources.network import MAX_CHAIN, FetchResult, fetch_chain

TIMEOUT = 1.0
# Budget for "ends within ~timeout": the timeout plus scheduling slack on a
# loaded 2-core machine, far below timeout × bytes for the trickler.
SLACK = 1.5


@pytest.fixture(scope="module")
def h() -> pki.Hierarchy:
    return pki.hierarchy("hostile.test")


def expect(code: str, port: int, *, scheme: str = "", timeout: float = TIMEOUT) -> ConnectError:
    start = time.monotonic()
    with pytest.raises(ConnectError) as err:
        fetch_chain(parse_target(f"{scheme}127.0.0.1:{port}"), timeout=timeout)
    elapsed = time.monotonic() - start
    assert err.value.code == code, err.value.message
    assert elapsed < timeout + SLACK, f"took {elapsed:.2f}s"
    assert "\n" not in err.value.message
    assert f"127.0.0.1:{port}" in err.value.message
    return err.value


def test_accepts_and_never_answers() -> None:
    with netlab.serving(netlab.silent()) as srv:
        e = expect("timeout", srv.port)
    assert "no answer" in e.message


def test_sends_garbage() -> None:
    with netlab.serving(netlab.sends(b"\x00\x01\x02\x03garbage\xff" * 10)) as srv:
        e = expect("not-tls", srv.port)
    assert "not a TLS record" in e.message


def test_sends_tls_looking_garbage() -> None:
    with netlab.serving(netlab.sends(b"\x16\x03\x03\x00\x10" + b"\xee" * 16)) as srv:
        e = expect("handshake-failed", srv.port)
    assert "TLS handshake failed" in e.message


def test_plain_http_on_the_port() -> None:
    reply = b"HTTP/1.1 400 Bad Request\r\nServer: nginx\r\nContent-Length: 0\r\n\r\n"
    with netlab.serving(netlab.sends(reply)) as srv:
        e = expect("not-tls", srv.port)
    assert "plain HTTP" in e.message and "HTTP/1.1 400 Bad Request" in e.message


def test_ssh_banner_is_named() -> None:
    with netlab.serving(netlab.sends(b"SSH-2.0-OpenSSH_9.2\r\n", after_hello=False)) as srv:
        e = expect("not-tls", srv.port)
    assert "SSH" in e.message


def test_tls_alert_is_named(files: netlab.Files, h: pki.Hierarchy) -> None:
    # A TLS 1.3-only server against... our client offers 1.0-1.3, so force a
    # real alert instead: the server requires a cipher we cannot have.
    ctx = netlab.server_context(files, [h.leaf, h.intermediate], max_version=ssl.TLSVersion.TLSv1_2)
    ctx.set_ciphers("aNULL")  # nothing a normal client offers with an EC certificate
    with netlab.serving(netlab.tls_handler(ctx)) as srv:
        e = expect("handshake-failed", srv.port)
    assert "alert" in e.message and "handshake failure" in e.message


def test_closes_without_answering() -> None:
    with netlab.serving(netlab.sends(b"")) as srv:
        e = expect("handshake-failed", srv.port)
    assert "without answering" in e.message


@pytest.mark.parametrize("cut", [5, 60], ids=["after-header", "mid-server-hello"])
def test_resets_mid_handshake(files: netlab.Files, h: pki.Hierarchy, cut: int) -> None:
    ctx = netlab.server_context(files, [h.leaf, h.intermediate])
    with (
        netlab.serving(netlab.tls_handler(ctx)) as real,
        netlab.serving(netlab.reset_after(cut, real.port)) as srv,
    ):
        e = expect("handshake-failed", srv.port)
    assert "reset" in e.message or "closed" in e.message


def test_trickles_bytes(files: netlab.Files, h: pki.Hierarchy) -> None:
    ctx = netlab.server_context(files, [h.leaf, h.intermediate])
    with (
        netlab.serving(netlab.tls_handler(ctx)) as real,
        netlab.serving(netlab.trickle(real.port, every=0.1)) as srv,
    ):
        e = expect("timeout", srv.port, timeout=1.5)
    # It did receive bytes (one per 0.1 s), yet ended on the overall deadline.
    assert "bytes received" in e.message


def _big_chain(n: int) -> list[pki.Issued]:
    root = pki.make_cert("Huge Chain Root")
    leaf = pki.make_cert("huge.test", issuer=root, ca=False, dns=("huge.test",))
    key = pki.new_key("ec", fresh=False, slot=42)
    fillers = [pki.make_cert(f"Filler CA {i:04d}", issuer=root, key=key) for i in range(n - 1)]
    return [leaf, *fillers]


@pytest.fixture(scope="module")
def chain500() -> list[pki.Issued]:
    return _big_chain(500)


@pytest.mark.parametrize(
    "version", [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3], ids=["tls1.2", "tls1.3"]
)
def test_500_certificates_are_returned(
    files: netlab.Files, chain500: list[pki.Issued], version: ssl.TLSVersion
) -> None:
    size = sum(len(c.der) for c in chain500)
    assert size > 100 * 1024, "the test must exceed OpenSSL's max_cert_list"
    ctx = netlab.server_context(files, chain500, max_version=version)
    with netlab.serving(netlab.tls_handler(ctx)) as srv:
        start = time.monotonic()
        r = fetch_chain(parse_target(f"127.0.0.1:{srv.port}", servername="huge.test"), timeout=10)
        elapsed = time.monotonic() - start
    assert len(r.chain) == 500 == r.presented_count
    assert [p.cert.sha256 for p in r.chain] == [hashlib.sha256(c.der).hexdigest() for c in chain500]
    assert r.handshake_error is not None and "excessive message size" in r.handshake_error
    assert any("100 KiB" in n for n in r.notes)
    assert r.tls_version == ("TLSv1.3" if version is ssl.TLSVersion.TLSv1_3 else "TLSv1.2")
    assert elapsed < 10


def test_more_than_max_chain_is_capped(files: netlab.Files) -> None:
    chain = _big_chain(MAX_CHAIN + 50)
    ctx = netlab.server_context(files, chain, max_version=ssl.TLSVersion.TLSv1_2)
    with netlab.serving(netlab.tls_handler(ctx)) as srv:
        r: FetchResult = fetch_chain(parse_target(f"127.0.0.1:{srv.port}"), timeout=20)
    assert len(r.chain) == MAX_CHAIN
    assert r.presented_count == MAX_CHAIN + 50
    assert any(f"only the first {MAX_CHAIN}" in n for n in r.notes)


def test_huge_garbage_stream_is_bounded() -> None:
    # A "TLS" server streaming endless handshake records must not eat memory
    # or time: OpenSSL rejects the message, or the deadline ends it.
    def endless(conn: object) -> None:
        import socket as _s

        assert isinstance(conn, _s.socket)
        conn.recv(65536)
        record = b"\x16\x03\x03\x40\x00" + b"\x0b" + b"\xff\xff\xff" + b"\x00" * (0x4000 - 4)
        try:
            for _ in range(2000):
                conn.sendall(record)
        except OSError:
            pass

    handler: Callable[..., None] = endless
    with netlab.serving(handler) as srv:
        start = time.monotonic()
        with pytest.raises(ConnectError) as err:
            fetch_chain(parse_target(f"127.0.0.1:{srv.port}"), timeout=3)
    assert err.value.code in ("handshake-failed", "timeout")
    assert time.monotonic() - start < 3 + SLACK


def _probe_black_hole(port: int) -> bool:
    import socket

    s = socket.socket()
    s.settimeout(0.3)
    try:
        s.connect(("127.0.0.1", port))
    except TimeoutError:
        return True
    except OSError:
        return False
    finally:
        s.close()
    return False


def test_connect_to_a_black_hole_times_out() -> None:
    with netlab.black_hole() as port:
        if not _probe_black_hole(port):
            pytest.skip("this kernel does not drop SYNs to a full accept queue")
        start = time.monotonic()
        with pytest.raises(ConnectError) as err:
            fetch_chain(parse_target(f"127.0.0.1:{port}"), timeout=TIMEOUT)
    assert err.value.code == "timeout"
    assert f"connecting to 127.0.0.1:{port} timed out" in err.value.message
    assert time.monotonic() - start < TIMEOUT + SLACK


def test_one_black_holed_address_does_not_use_up_the_budget(
    files: netlab.Files, h: pki.Hierarchy
) -> None:
    import socket

    from trustdoctor.sources import wire

    ctx = netlab.server_context(files, [h.leaf, h.intermediate])
    with netlab.black_hole() as dead, netlab.serving(netlab.tls_handler(ctx)) as srv:
        if not _probe_black_hole(dead):
            pytest.skip("this kernel does not drop SYNs to a full accept queue")
        infos = [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", dead)),
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", srv.port)),
        ]
        start = time.monotonic()
        sock, addr = wire.connect_any(
            infos, deadline=time.monotonic() + 2.5, timeout=2.5, what="test"
        )
        sock.close()
    assert addr == f"127.0.0.1:{srv.port}"
    # The dead address got half the budget (1.25 s), not all of it.
    assert time.monotonic() - start < 1.25 + SLACK
