"""Direct handshakes driven by one thread (sources/multiplex.py): for every
shape of server, good or hostile, the same answer as fetch_raw gives alone;
all at once, the slow ones never hold up the others; and through the
workers of a scan (a name resolved first, a list only pyOpenSSL can read)."""

from __future__ import annotations

import re
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import pytest

import helpers.netlab as netlab
from trustdoctor.lab import pki
from trustdoctor.model.record import replace
from trustdoctor.model.target import parse_target
from trustdoctor.sources.fetchpool import FetchPool
from trustdoctor.sources.multiplex import Multiplexer
from trustdoctor.sources.network import (
    RawFetch,
    direct_stdlib,
    fetch_chain,
    fetch_raw,
    fetch_started,
)

TIMEOUT = 1.5


@pytest.fixture(scope="module")
def h() -> pki.Hierarchy:
    return pki.hierarchy("mux.test", root_cn="Mux Root", inter_cn="Mux Issuing CA")


def _big_chain(n: int) -> list[pki.Issued]:
    root = pki.make_cert("Mux Huge Root")
    leaf = pki.make_cert("huge.test", issuer=root, ca=False, dns=("huge.test",))
    key = pki.new_key("ec", fresh=False, slot=42)
    return [leaf, *(pki.make_cert(f"Mux Filler {i:04d}", issuer=root, key=key) for i in range(n))]


def _outcome(result: RawFetch | None, error: BaseException | None) -> tuple[Any, ...]:
    """What must agree: the whole RawFetch but its timing, or the error's kind,
    code and message (byte counts of a trickle and reset-or-closed wording
    vary from run to run: normalised)."""
    if error is None:
        assert result is not None
        return ("ok", replace(result, elapsed_ms=0.0))
    message = str(getattr(error, "message", error))
    message = re.sub(r"\(\d+ bytes received in all\)", "(N bytes received in all)", message)
    message = re.sub(r"after \d+ bytes", "after N bytes", message)
    return (type(error).__name__, getattr(error, "code", None), message)


def _alone(kw: dict[str, Any]) -> tuple[Any, ...]:
    try:
        return _outcome(fetch_raw(**kw), None)
    except Exception as exc:
        return _outcome(None, exc)


def _together(
    kws: list[dict[str, Any]], *, rounds: list[int] | None = None
) -> list[tuple[RawFetch | None, BaseException | None]]:
    """Every request through one Multiplexer at once (a spill finished in a
    thread, as the workers do).  With ``rounds``, the multiplexer's answers
    are held until its flush, as the workers send them (one write a round):
    ``rounds`` gets the number of answers each flush delivered."""
    got: dict[int, tuple[RawFetch | None, BaseException | None]] = {}
    held: list[tuple[int, RawFetch | None, BaseException | None]] = []
    all_done = threading.Event()

    def done(rid: int, result: RawFetch | None, error: BaseException | None) -> None:
        got[rid] = (result, error)
        if len(got) == len(kws):
            all_done.set()

    def hold(rid: int, result: RawFetch | None, error: BaseException | None) -> None:
        assert threading.current_thread().name == "multiplex"
        held.append((rid, result, error))

    def flush() -> None:
        assert threading.current_thread().name == "multiplex"
        if held:
            assert rounds is not None
            rounds.append(len(held))
            for answer in held:
                done(*answer)
            held.clear()

    def spill(
        rid: int, kw: dict[str, Any], start: float, engine: str, partial: RawFetch | None
    ) -> None:
        def finish() -> None:
            try:
                r = fetch_started(
                    kw["target"], kw["timeout"], None, None, kw["family"], None, start, engine,
                    partial,
                )  # fmt: skip
            except Exception as exc:
                done(rid, None, exc)
            else:
                done(rid, r, None)

        threading.Thread(target=finish, daemon=True).start()

    mux = Multiplexer(done, spill) if rounds is None else Multiplexer(hold, spill, flush)
    mux.start()
    for i, kw in enumerate(kws):
        assert direct_stdlib(kw["target"], timeout=kw["timeout"], engine=kw["engine"])
        mux.submit(i, kw)
    assert all_done.wait(60), f"{len(kws) - len(got)} request(s) never answered"
    return [got[i] for i in range(len(kws))]


def _kw(port: int, servername: str | None = None, timeout: float = TIMEOUT) -> dict[str, Any]:
    t = parse_target(f"127.0.0.1:{port}", servername=servername)
    return {"target": t, "timeout": timeout, "proxy": None, "env": None, "family": 0,
            "engine": "auto"}  # fmt: skip


@pytest.fixture(scope="module")
def servers(h: pki.Hierarchy) -> Iterator[dict[str, dict[str, Any]]]:
    """One server of every shape, each as fetch_raw's keyword arguments."""
    files = netlab.Files()
    with ExitStack() as stack:
        serve: Callable[..., Any] = lambda handler: stack.enter_context(netlab.serving(handler))  # noqa: E731
        chain = [h.leaf, h.intermediate]
        tls13 = netlab.server_context(files, chain, client_ca=h.root, client_optional=True,
                                      alpn=["h2"])  # fmt: skip
        tls12 = netlab.server_context(files, chain, max_version=ssl.TLSVersion.TLSv1_2)
        real = serve(netlab.tls_handler(tls13))
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            refused = s.getsockname()[1]  # bound, never listening: refused
        shapes = {
            "tls1.3": _kw(real.port, "mux.test"),
            "tls1.2": _kw(serve(netlab.tls_handler(tls12)).port, "mux.test"),
            "self-named": _kw(real.port),
            "refused": _kw(refused),
            "silent": _kw(serve(netlab.silent(stop_after=10)).port),
            "closes": _kw(serve(netlab.sends(b"")).port),
            "http": _kw(serve(netlab.sends(b"HTTP/1.1 400 Bad Request\r\n\r\n")).port),
            "garbage": _kw(serve(netlab.sends(b"\x16\x03\x01\x00\x05hello" * 40)).port),
            "reset": _kw(serve(netlab.reset_after(60, real.port)).port),
            "trickle": _kw(serve(netlab.trickle(real.port, every=0.1)).port),
            "huge-1.2": _kw(serve(netlab.tls_handler(netlab.server_context(
                files, _big_chain(400), max_version=ssl.TLSVersion.TLSv1_2))).port, timeout=10),
            "huge-1.3": _kw(serve(netlab.tls_handler(netlab.server_context(
                files, _big_chain(400)))).port, timeout=10),
            # Its CertificateVerify corrupted: our side ends it, pyOpenSSL redoes it.
            "aborted-1.3": _kw(serve(netlab.corrupting(real.port, 4)).port, "mux.test"),
        }  # fmt: skip
        black = stack.enter_context(netlab.black_hole())
        shapes["black-hole"] = _kw(black)
        yield shapes
    files.cleanup()


def test_every_shape_answers_as_fetch_raw_alone(servers: dict[str, dict[str, Any]]) -> None:
    names = list(servers)
    alone = [_alone(servers[n]) for n in names]
    start = time.monotonic()
    together = _together([servers[n] for n in names])
    elapsed = time.monotonic() - start
    for name, a, (result, error) in zip(names, alone, together, strict=True):
        assert _outcome(result, error) == a, name
    kinds = dict(zip(names, (a[0] for a in alone), strict=True))
    # The shapes are what they say (one check per kind of ending).
    assert kinds["tls1.3"] == kinds["huge-1.3"] == "ok"
    assert alone[names.index("silent")][1] == "timeout"
    assert alone[names.index("refused")][1] == "unreachable"
    assert alone[names.index("http")][1] == "not-tls"
    # All at once: within the longest budget, not the sum of the slow ones'.
    assert elapsed < 10 + 3


def test_slow_servers_do_not_hold_up_the_others(servers: dict[str, dict[str, Any]]) -> None:
    slow = ["silent", "trickle", "black-hole"] * 4
    fast = ["tls1.3", "tls1.2", "self-named"] * 8
    kws = [servers[n] for n in slow + fast]
    together = _together(kws)
    for (result, error), name in zip(together[len(slow):], fast, strict=True):
        assert error is None and result is not None, name
        assert result.elapsed_ms < 1000 * TIMEOUT / 2, (name, result.elapsed_ms)
    for (result, error), name in zip(together[: len(slow)], slow, strict=True):
        assert result is None and getattr(error, "code", None) == "timeout", name


def test_answers_held_to_the_end_of_their_round(servers: dict[str, dict[str, Any]]) -> None:
    """The workers' way: answers kept by ``done`` and sent by ``flush`` once per
    round arrive all, as soon as their round ends (a silent server's timeout
    holds up no other answer), the same as without holding."""
    names = ["tls1.3", "tls1.2", "self-named", "refused", "closes", "http"] * 4 + ["silent"]
    kws = [servers[n] for n in names]
    alone = {n: _alone(servers[n]) for n in set(names)}
    rounds: list[int] = []
    together = _together(kws, rounds=rounds)
    for name, (result, error) in zip(names, together, strict=True):
        assert _outcome(result, error) == alone[name], name
        if name != "silent":
            assert result is None or result.elapsed_ms < 1000 * TIMEOUT / 2, name
    assert sum(rounds) == len(names)  # every answer by a flush, none left held


def test_through_the_workers(servers: dict[str, dict[str, Any]]) -> None:
    """The children route a name through a thread (resolved, connected, then
    handed over) and finish in a thread a TLS 1.3 list over OpenSSL's limit
    and a TLS 1.3 handshake our side ended (its certificate request seen by
    pyOpenSSL): the facts are those of a handshake here."""
    port = servers["tls1.3"]["target"].port
    named = parse_target(f"localhost:{port}", servername="mux.test")
    huge = servers["huge-1.3"]["target"]
    aborted = servers["aborted-1.3"]["target"]
    with FetchPool(1, 2) as pool:
        for t, timeout in ((named, TIMEOUT), (huge, 10.0), (aborted, TIMEOUT)):
            here, there = fetch_chain(t, timeout=timeout), pool.fetch(t, timeout=timeout)
            assert [p.cert.sha256 for p in there.chain] == [p.cert.sha256 for p in here.chain]
            assert (there.address, there.tls_version, there.handshake_error, there.notes,
                    there.client_cert_requested) == (
                here.address, here.tls_version, here.handshake_error, here.notes,
                here.client_cert_requested)  # fmt: skip
        assert there.client_cert_requested and there.handshake_error
        # The redo refused: what the multiplexed handshake read is the answer.
        with netlab.serving(netlab.corrupting(port, 4, first_only=True)) as relay:
            r = pool.fetch(parse_target(f"127.0.0.1:{relay.port}", servername="mux.test"),
                           timeout=TIMEOUT)  # fmt: skip
            assert len(r.chain) == 2 and not r.client_cert_requested
            assert r.handshake_error and "bad record mac" in r.handshake_error
            assert relay.connections == 2
