"""When a scan starts its handshake workers: past POOL_AFTER targets, or with the
first target when the input is known to be larger (a list, a targets file)."""

from __future__ import annotations

import argparse
import contextlib
import io
from collections.abc import Iterator
from pathlib import Path

import pytest

import helpers.netlab as netlab
from trustdoctor import api
from trustdoctor.api.scan import POOL_AFTER
from trustdoctor.cli import scan as cli_scan
from trustdoctor.lab import pki
from trustdoctor.sources.fetchpool import FetchPool


@pytest.fixture(scope="module")
def h() -> pki.Hierarchy:
    return pki.hierarchy("start.test", root_cn="Start Root", inter_cn="Start Issuing CA")


@pytest.fixture
def taken_at_start(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many targets the scan had taken when each pool started."""
    seen: list[int] = []
    real = FetchPool.start

    def start(self: FetchPool) -> None:
        seen.append(current[-1]._taken)
        real(self)

    current: list[api.Scan] = []
    real_enter = api.Scan.__enter__

    def enter(self: api.Scan) -> api.Scan:
        current.append(self)
        return real_enter(self)

    monkeypatch.setattr(FetchPool, "start", start)
    monkeypatch.setattr(api.Scan, "__enter__", enter)
    return seen


@pytest.fixture
def in_process(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The targets whose handshake ran in the scanning process."""
    seen: list[str] = []
    real = api.Scan._fetch

    def fetch(self: api.Scan, t: object, timeout: float) -> object:
        seen.append(str(t))
        return real(self, t, timeout)  # type: ignore[arg-type]

    monkeypatch.setattr(api.Scan, "_fetch", fetch)
    return seen


def _lines(port: int, n: int) -> list[str]:
    return [f"127.0.0.1:{port} servername=n{k}.start.test" for k in range(n)]


def _gen(lines: list[str]) -> Iterator[str]:
    yield from lines  # no length: the scan cannot know how many come


def _scan(items: object, **kw: object) -> list[object]:
    with api.scan_endpoints(items, clients=["go"], timeout=5, processes=2, **kw) as s:  # type: ignore[arg-type]
        return list(s)


def _larger_scan(files: netlab.Files, h: pki.Hierarchy, known_length: bool) -> list[str]:
    """A scan of POOL_AFTER + 20 targets (a list, or a generator), each diagnosed."""
    ctx = netlab.server_context(files, [h.leaf, h.intermediate])
    with netlab.serving(netlab.tls_handler(ctx)) as srv:
        lines = _lines(srv.port, POOL_AFTER + 20)
        results = _scan(lines if known_length else _gen(lines), concurrency=8)
    assert len(results) == len(lines)
    assert all(isinstance(r, api.ScanResult) and r.report.diagnosis for r in results)
    return lines


@pytest.mark.parametrize("known_length", [True, False])
def test_when_a_larger_scan_starts_its_workers(
    files: netlab.Files,
    h: pki.Hierarchy,
    taken_at_start: list[int],
    in_process: list[str],
    known_length: bool,
) -> None:
    """A list larger than POOL_AFTER: started by the first thread with a
    target, while the others took theirs, and every handshake is the workers'
    (the threads wait for them rather than shake hands here while they start:
    that took the interpreter from the thread reading the stores, which every
    judging waits for); a generator (its length unknown): past POOL_AFTER
    targets, its first POOL_AFTER handshakes here, as before."""
    lines = _larger_scan(files, h, known_length)
    assert len(taken_at_start) == 1
    if known_length:
        assert taken_at_start[0] <= 8 and in_process == []
    else:
        assert taken_at_start[0] > POOL_AFTER
        assert POOL_AFTER <= len(in_process) < len(lines)


def test_a_small_scan_starts_no_worker(
    files: netlab.Files, h: pki.Hierarchy, taken_at_start: list[int]
) -> None:
    ctx = netlab.server_context(files, [h.leaf, h.intermediate])
    with netlab.serving(netlab.tls_handler(ctx)) as srv:
        lines = _lines(srv.port, 20)
        results = _scan(lines, concurrency=8)
        # A generator said to be large is believed.
        big = _scan(_gen(_lines(srv.port, 10)), concurrency=4, expected=POOL_AFTER + 1)
    assert len(results) == 20 and len(big) == 10
    # Only the second scan started workers, with its first targets.
    assert len(taken_at_start) == 1 and taken_at_start[0] <= 4


def test_the_cli_counts_a_regular_file_but_not_stdin(tmp_path: Path) -> None:
    f = tmp_path / "targets.txt"
    f.write_text("".join(f"host{k}.example:443\n" for k in range(100)))
    with contextlib.ExitStack() as stack:
        stream, _total, lines = cli_scan._open(str(f), stack)
        assert lines == 100 and stream is not None and stream.read(5) == b"host0"
        _s, _t, piped = cli_scan._open("-", stack)
        assert piped is None
    assert cli_scan._open(None, contextlib.ExitStack())[2] == 0


def test_a_read_error_while_counting_is_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import os

    from trustdoctor.errors import InputError

    f = tmp_path / "targets.txt"
    f.write_text("host.example:443\n")
    real = os.fdopen

    class Failing(io.RawIOBase):
        def read(self, n: int = -1) -> bytes:
            raise OSError(5, "Input/output error")

    def fdopen(fd: int, *a: object, **k: object) -> object:
        real(fd, "rb").close()
        return Failing()

    monkeypatch.setattr(os, "fdopen", fdopen)
    with contextlib.ExitStack() as stack, pytest.raises(InputError) as err:
        cli_scan._open(str(f), stack)
    assert err.value.message == f"{f}: cannot read (Input/output error)"


def test_the_cli_passes_what_it_counted(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    f = tmp_path / "targets.txt"
    f.write_text("".join(f"host{k}.invalid:443\n" for k in range(70)))
    got: dict[str, object] = {}

    def fake(targets: object, **kw: object) -> object:
        got.update(kw)
        raise SystemExit(0)

    monkeypatch.setattr("trustdoctor.api.scan.scan_endpoints", fake)
    parser = argparse.ArgumentParser()
    cli_scan.add_arguments(parser)
    args = parser.parse_args([str(f), "--target", "one.invalid:443", "--client", "go"])
    with pytest.raises(SystemExit), contextlib.redirect_stdout(io.StringIO()):
        cli_scan.run(args)
    assert got["expected"] == 71


def test_workers_that_cannot_start_leave_the_scan_here(
    files: netlab.Files, h: pki.Hierarchy, in_process: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The threads waiting for the workers go on in this process when they
    fail to start: every target diagnosed, none lost, no hang."""
    from trustdoctor.errors import SourceError

    def fail(self: FetchPool) -> None:
        raise SourceError("cannot start the handshake workers (test)")

    monkeypatch.setattr(FetchPool, "start", fail)
    assert len(_larger_scan(files, h, True)) == len(in_process)


def test_the_stores_are_read_ahead_of_the_first_target(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The scan's client set is read by its own thread as the scan starts (not
    by the first target judged), once; with a client reading per-registry
    directories the target decides which set, so none is read ahead."""
    import threading

    from trustdoctor.api import scan as scan_mod

    readers: list[tuple[str, tuple[str, ...]]] = []
    real = scan_mod.client_set

    def client_set(names: tuple[str, ...], **kw: object) -> object:
        readers.append((threading.current_thread().name, tuple(names)))
        return real(names, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(scan_mod, "client_set", client_set)
    # Nothing listens on port 9 of loopback: no target reaches judging.
    dead = ["127.0.0.1:9"]
    with api.scan_endpoints(dead, clients=["go", "openssl"], timeout=2) as s:
        out = list(s)
    assert len(out) == 1 and not out[0].report.diagnosis  # type: ignore[union-attr]
    assert readers == [("scan-stores", ("go", "openssl"))]
    readers.clear()
    with api.scan_endpoints(dead, clients=["go", "docker"], timeout=2) as s:
        list(s)
    assert readers == []
