"""Handshakes in worker processes, for ``trustdoctor scan`` on several cores.

One Python process runs one thread at a time: a scan whose handshakes,
judging and rendering all share one interpreter is bound to one core however
many threads it starts (on this project's 2-core machine, the threads also
spend ~1 ms of CPU per target handing the interpreter lock to each other).
A :class:`FetchPool` runs the handshakes, the bulk of a scan's CPU, in
``processes`` child interpreters (``python -m trustdoctor.sources.fetchpool``),
each driving its direct handshakes from one thread (:mod:`.multiplex`) and
the others (proxies, STARTTLS) in a few threads; the parent keeps what must be shared (the trust
stores, the memo of judged chains, the summary) and receives each handshake
as a :class:`~trustdoctor.sources.network.RawFetch`: plain bytes and strings,
its certificates parsed in the parent once per content
(:func:`~trustdoctor.sources.network.assemble`), so a chain presented by a
thousand targets is still parsed once.

The protocol: length-prefixed pickles over the children's stdin and stdout
(private pipes between this process and the children it started, nothing
else reads or writes them).  A child handles requests in its threads as they
come, answers each with the request's number, ignores SIGINT (the parent
decides how a Ctrl-C ends the scan) and exits when its stdin closes, so a
child never outlives its parent's pipe.  A child that dies (OOM killer,
signal) fails the requests it held with a one-line
:class:`~trustdoctor.errors.SourceError`.
"""

from __future__ import annotations

import os
import pickle
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from typing import IO, Any

from ..errors import ConnectError, SourceError, UsageError
from ..model.target import Target
from .network import (
    FetchResult,
    RawFetch,
    assemble,
    direct_stdlib,
    fetch_raw,
    fetch_started,
)

# The length prefix of every frame (network byte order, 4 bytes).
_HEAD = struct.Struct("!I")
# A request or answer beyond this is no frame of ours (a request holds one
# target; an answer at most MAX_CHAIN + 1 certificates of a capped handshake).
_MAX_FRAME = 256 * 1024 * 1024
# Seconds the children have to start and answer a first ping (an interpreter
# importing the network layer: ~0.2 s; a loaded machine: more).
_START_TIMEOUT = 20.0
# Seconds a request may outlive its own timeout before the parent stops waiting
# for the child (which enforces the timeout itself: this is a safety net).
_GRACE = 30.0


def _frame(obj: object) -> bytes:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    return _HEAD.pack(len(data)) + data


def _write(out: IO[bytes], obj: object) -> None:
    out.write(_frame(obj))
    out.flush()


def _read(inp: IO[bytes]) -> Any:
    """The next frame, or ``None`` at the end of the stream (or a torn frame)."""
    head = inp.read(_HEAD.size)
    if len(head) < _HEAD.size:
        return None
    (n,) = _HEAD.unpack(head)
    if n > _MAX_FRAME:
        return None
    data = inp.read(n)
    if len(data) < n:
        return None
    # Unpickling runs code the bytes name: these come only from our own child
    # (or parent) over a private pipe, never from the network or a file.
    return pickle.loads(data)


# What receives a child's answer (its kind and payload), in the thread that
# reads it.
_Answer = Callable[[str, Any], None]


class _Worker:
    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self.proc = proc
        self.lock = threading.Lock()  # writes to its stdin, and the fields below
        self.pending: dict[int, _Answer] = {}
        self.alive = True
        self.reader: threading.Thread | None = None


class FetchPool:
    """``processes`` child interpreters doing handshakes; use as a context manager.

    :meth:`fetch` is :func:`~trustdoctor.sources.network.fetch_chain` run in
    a child (same arguments, same result, same exceptions); call it from as
    many threads as there should be handshakes in flight.
    """

    def __init__(self, processes: int, threads: int) -> None:
        if processes < 1 or threads < 1:
            raise UsageError("a fetch pool needs at least one process and one thread")
        self.processes = processes
        self.threads = threads
        self._workers: list[_Worker] = []
        self._lock = threading.Lock()
        self._next_id = 0
        self._closed = False

    def __enter__(self) -> FetchPool:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> None:
        """Start the children (raises :class:`SourceError` if none can be)."""
        env = dict(os.environ)
        # The children import this very package: where it lies goes first on
        # their path (a checkout run from its directory, a zip of the source).
        here = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        env["PYTHONPATH"] = os.pathsep.join(p for p in (here, env.get("PYTHONPATH")) if p)
        argv = [sys.executable, "-m", __name__, str(self.threads)]
        for _ in range(self.processes):
            try:
                proc = subprocess.Popen(
                    argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                    stderr=subprocess.DEVNULL, env=env, close_fds=True,
                )  # fmt: skip
            except OSError as exc:
                self.close()
                raise SourceError(f"cannot start a handshake worker process ({exc})") from None
            w = _Worker(proc)
            w.reader = threading.Thread(
                target=self._read_answers, args=(w,), name=f"fetchpool-{proc.pid}", daemon=True
            )
            w.reader.start()
            self._workers.append(w)
        # Each child proves it runs (imports, reads, answers) before any target
        # depends on it: a Python that cannot start one (a frozen build, a
        # broken path) costs the caller a fallback, not a failed scan.
        for w in self._workers:
            try:
                kind, _ = self._send(w, "ping", _START_TIMEOUT)
            except (SourceError, ConnectError) as exc:
                kind = exc.message
            if kind != "pong":
                self.close()
                raise SourceError(f"the handshake worker processes did not start ({kind})")

    def close(self) -> None:
        """Stop the children: their stdin closes, and any still running after
        a second is killed (a handshake in flight is abandoned)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        for w in self._workers:
            if w.proc.stdin is not None:
                try:
                    with w.lock:
                        w.proc.stdin.close()
                except OSError:
                    pass
        for w in self._workers:
            try:
                w.proc.wait(1.0)
            except subprocess.TimeoutExpired:
                w.proc.kill()
                w.proc.wait()
            if w.reader is not None:
                w.reader.join(1.0)
            if w.proc.stdout is not None:
                w.proc.stdout.close()

    def fetch(
        self,
        target: Target,
        *,
        timeout: float,
        proxy: str | None = None,
        env: Mapping[str, str] | None = None,
        family: int = 0,
        engine: str = "auto",
    ) -> FetchResult:
        """One handshake in a child, assembled here (see the module doc)."""
        request = _request(target, timeout, proxy, env, family, engine)
        kind, payload = self._call(request, timeout + _GRACE, target)
        result, error = _outcome(kind, payload, target)
        if error is not None:
            raise error
        assert result is not None
        return result

    def submit(
        self,
        target: Target,
        done: Callable[[FetchResult | None, BaseException | None], None],
        *,
        timeout: float,
        proxy: str | None = None,
        env: Mapping[str, str] | None = None,
        family: int = 0,
        engine: str = "auto",
    ) -> None:
        """:meth:`fetch` without waiting: ``done(result, None)`` or ``done(None,
        error)`` is called, once, in the thread that reads the child's answers
        (it must not raise, and should not take long: that child's next
        answers wait for it).  The child enforces ``timeout`` itself.

        Raises:
            SourceError: the pool is closed or every child has ended.
        """

        def answer(kind: str, payload: Any) -> None:
            done(*_outcome(kind, payload, target))

        w = self._choose()
        self._register(w, _request(target, timeout, proxy, env, family, engine), answer)

    def _choose(self) -> _Worker:
        with self._lock:
            if self._closed:
                raise SourceError("the handshake workers are stopped")
            live = [w for w in self._workers if w.alive]
            if not live:
                raise SourceError(self._dead_message())
            # The child with the fewest requests in flight.
            return min(live, key=lambda x: len(x.pending))

    def _call(self, request: dict[str, Any], wait: float, target: Target) -> tuple[str, Any]:
        w = self._choose()
        try:
            return self._send(w, request, wait)
        except ConnectError as exc:  # no answer in time: name the target
            raise ConnectError(f"{target.display}: {exc.message}", exc.code) from None

    def _register(self, w: _Worker, request: object, answer: _Answer) -> int:
        with self._lock:
            self._next_id += 1
            rid = self._next_id
        with w.lock:
            if not w.alive:  # died between the choice and now
                raise SourceError(self._dead_message())
            w.pending[rid] = answer
            try:
                assert w.proc.stdin is not None
                _write(w.proc.stdin, (rid, request))
            except (OSError, ValueError):
                w.pending.pop(rid, None)
                raise SourceError(self._dead_message()) from None
        return rid

    def _send(self, w: _Worker, request: object, wait: float) -> tuple[str, Any]:
        """``request`` to ``w``, waiting for its answer."""
        got: list[tuple[str, Any]] = []
        arrived = threading.Event()

        def answer(kind: str, payload: Any) -> None:
            got.append((kind, payload))
            arrived.set()

        rid = self._register(w, request, answer)
        if not arrived.wait(wait):
            with w.lock:
                w.pending.pop(rid, None)
            raise ConnectError(f"no answer from the handshake worker within {wait:g} s", "timeout")
        return got[0]

    def _read_answers(self, w: _Worker) -> None:
        out = w.proc.stdout
        assert out is not None
        while True:
            try:
                frame = _read(out)
            except (OSError, ValueError, pickle.UnpicklingError, EOFError):
                frame = None
            if frame is None:
                break
            rid, kind, payload = frame
            with w.lock:
                answer = w.pending.pop(rid, None)
            if answer is not None:
                answer(kind, payload)
        # The child is gone: what it held fails (unless the pool is closing).
        with w.lock:
            w.alive = False
            held = list(w.pending.values())
            w.pending.clear()
        why = _ended(w.proc)
        for answer in held:
            answer("died", why)

    def _dead_message(self) -> str:
        dead = [w for w in self._workers if not w.alive] or self._workers
        return f"a handshake worker process ended unexpectedly ({_ended(dead[0].proc)})"

    def pids(self) -> list[int]:
        """The children's process ids (for tests and diagnostics)."""
        return [w.proc.pid for w in self._workers]


def _ended(proc: subprocess.Popen[bytes]) -> str:
    """How a child ended, in words (it may still be closing its pipe)."""
    try:
        code = proc.wait(1.0)
    except subprocess.TimeoutExpired:
        return "its output closed"
    if code < 0:
        return f"killed by signal {-code}"
    return f"exit status {code}"


def _request(
    target: Target,
    timeout: float,
    proxy: str | None,
    env: Mapping[str, str] | None,
    family: int,
    engine: str,
) -> dict[str, Any]:
    """:func:`~trustdoctor.sources.network.fetch_raw`'s keyword arguments."""
    return {
        "target": target, "timeout": timeout, "proxy": proxy,
        "env": dict(env) if env is not None else None, "family": family, "engine": engine,
    }  # fmt: skip


def _outcome(
    kind: str, payload: Any, target: Target
) -> tuple[FetchResult | None, BaseException | None]:
    """A child's answer as what :func:`~trustdoctor.sources.network.fetch_chain`
    would have returned or raised."""
    if kind == "ok":
        assert isinstance(payload, RawFetch)
        try:
            return assemble(payload), None
        except ConnectError as exc:  # no certificate at all
            return None, exc
    if kind == "connect":
        message, code = payload
        return None, ConnectError(message, code)
    if kind == "usage":
        return None, UsageError(payload)
    if kind == "died":
        return None, SourceError(
            f"{target.display}: the handshake worker process ended unexpectedly ({payload})"
        )
    return None, SourceError(f"{target.display}: the handshake worker failed: {payload}")


# -- the child ------------------------------------------------------------------------------


def _answer_of(result: RawFetch | None, error: BaseException | None) -> tuple[str, Any]:
    """What the parent receives for ``fetch_raw``'s result or exception."""
    if error is None:
        return ("ok", result)
    if isinstance(error, ConnectError):
        return ("connect", (error.message, error.code))
    if isinstance(error, UsageError):
        return ("usage", error.message)
    # A bug: one line to the parent, never a traceback.
    return ("error", f"{type(error).__name__}: {error}")


def _serve(threads: int) -> int:
    """A child: direct handshakes (most of a scan) in one multiplexing thread
    (sources/multiplex.py), the others (proxies, STARTTLS, names to resolve
    first) in ``threads`` threads, each doing one at a time."""
    import queue
    import signal

    from ..model.target import is_ip_literal
    from .multiplex import Multiplexer
    from .wire import dial

    # Ctrl-C reaches the whole foreground process group: the parent decides.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    inp, out = sys.stdin.buffer, sys.stdout.buffer
    # The protocol owns stdout: a stray print anywhere would corrupt it.
    sys.stdout = sys.stderr
    # (request id, fetch_raw's arguments, what to do: "fetch", "dial" then hand
    # to the multiplexer, or "finish" what it handed back, from ``start``).
    Job = tuple[int, dict[str, Any], str, float, RawFetch | None]
    jobs: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
    out_lock = threading.Lock()

    def send(rid: int, result: RawFetch | None, error: BaseException | None) -> None:
        put(_frame((rid, *_answer_of(result, error))))

    def put(data: bytes) -> None:
        with out_lock:
            try:
                out.write(data)
                out.flush()
            except (OSError, ValueError):  # the parent is gone
                os._exit(0)

    # The multiplexer's answers of one round go in one write (see Multiplexer):
    # ~1 context switch a target fewer for the scan (docs/performance.md).
    round_answers: list[bytes] = []

    def keep(rid: int, result: RawFetch | None, error: BaseException | None) -> None:
        round_answers.append(_frame((rid, *_answer_of(result, error))))

    def flush() -> None:
        if round_answers:
            data = b"".join(round_answers)
            round_answers.clear()
            put(data)

    mux = Multiplexer(
        keep, lambda rid, kw, start, engine, partial: jobs.put((rid, kw, engine, start, partial)),
        flush,
    )  # fmt: skip
    mux.start()

    def work() -> None:
        while True:
            job = jobs.get()
            if job is None:
                return
            rid, kw, what, start, partial = job
            try:
                if what == "dial":  # the budget counts from here, as in fetch_raw
                    t, start = kw["target"], time.monotonic()
                    sock, address = dial(
                        t.connect_host, t.connect_port, family=kw["family"],
                        deadline=start + kw["timeout"], timeout=kw["timeout"], what=t.display,
                    )  # fmt: skip
                    mux.adopt(rid, kw, start, sock, address)
                    continue
                if what == "fetch":
                    result = fetch_raw(**kw)
                else:  # handed back by the multiplexer, with the engine to use
                    result = fetch_started(
                        kw["target"], kw["timeout"], kw["proxy"], kw["env"], kw["family"],
                        None, start, what, partial,
                    )  # fmt: skip
            except Exception as exc:
                send(rid, None, exc)
                continue
            send(rid, result, None)

    for i in range(threads):
        threading.Thread(target=work, name=f"fetch-{i}", daemon=True).start()
    while True:
        try:
            frame = _read(inp)
        except (OSError, ValueError, pickle.UnpicklingError, EOFError):
            frame = None
        if frame is None:
            # The parent closed the pipe (or died): handshakes in flight are
            # abandoned, as the parent's own threads abandon them.
            return 0
        rid, kw = frame
        if kw == "ping":
            with out_lock:
                _write(out, (rid, "pong", os.getpid()))
            continue
        t = kw["target"]
        direct = direct_stdlib(
            t, timeout=kw["timeout"], proxy=kw["proxy"], env=kw["env"], engine=kw["engine"]
        )
        if direct and is_ip_literal(t.connect_host):
            mux.submit(rid, kw)
        else:
            jobs.put((rid, kw, "dial" if direct else "fetch", 0.0, None))


if __name__ == "__main__":  # python -m trustdoctor.sources.fetchpool THREADS
    sys.exit(_serve(int(sys.argv[1]) if len(sys.argv) > 1 else 8))
