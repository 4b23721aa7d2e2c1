"""The inventory question (``trustdoctor scan``): many endpoints, each judged
as ``diagnose`` judges it, fast, and a summary by cause.

:func:`scan_endpoints` takes targets from any iterable (a file read line by line, a
generator) and returns a :class:`Scan`: a context manager yielding, as each
target finishes, a :class:`ScanResult` (its :class:`EndpointReport`, exactly
what :func:`~trustdoctor.api.endpoint.diagnose_endpoint` returns for it
alone) or an :class:`~trustdoctor.sources.targetlist.InputProblem`; then
:meth:`Scan.summary` groups what was found.

Fast by design:

* **one handshake per target**, in ``concurrency`` threads (the handshake
  and DNS release the GIL; name look-ups run in parallel with them);
* **stores read once**: the clients' trust stores are read the first time a
  chain needs judging (never, if nothing answers), once per client set (the
  registry-dependent clients docker, containerd, CRI-O, Podman get one per
  registry);
* **each distinct chain judged once**: the judging pipeline is memoised by
  :meth:`~trustdoctor.api.endpoint.ChainFacts.key` (the chain's fingerprints,
  the name checked, the SNI name, the proxy, the client-certificate request)
  in a :class:`~trustdoctor.api.endpoint.ChainMemo`, and so are the
  client-side fix plans and the rendered JSON of the shared part;
* **handshakes on every core**: with ``processes`` > 1, once a scan is past
  its first :data:`POOL_AFTER` targets (from its first, when it is known to
  be larger), the handshakes run in child processes
  (:mod:`~trustdoctor.sources.fetchpool`) and only the judging stays here
  (it shares the stores and the memo): one interpreter runs one thread at a
  time;
* **bounded memory**: targets are read as the threads take them, results
  leave through a bounded queue, duplicates are found in 8 bytes per target
  (:class:`~trustdoctor.sources.targetlist.Seen`), the memo and the summary's
  examples and plans are capped.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import queue
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence, Sized
from typing import TYPE_CHECKING, Any

from ..clients import CLIENTS, client_specs
from ..errors import ConnectError, SourceError, UsageError
from ..model.record import field, mutable_record, record, replace
from ..sources.targetlist import InputProblem, Seen, TargetLine, from_items
from .context import (
    Clients,
    TrustOptions,
    aia_route,
    client_set,
    client_target,
    default_registry,
    fix_context,
    load_trust_paths,
    network_env,
    now,
    open_context,
    select_clients,
    trust_label,
)
from .endpoint import (
    AddressResult,
    ChainMemo,
    EndpointReport,
    JudgedChain,
    _error_plan,
    fetch_all,
    judge_chain_of,
    judge_fetch,
)

if TYPE_CHECKING:
    from ..fixes.model import FixContext, Plan
    from ..fixes.planner import PlanParts
    from ..model.diagnosis import PresentedCert
    from ..model.stores import StoreContext
    from ..model.target import Target
    from ..render.doc import Doc
    from ..sources.aia import AiaOptions
    from ..sources.fetchpool import FetchPool
    from ..sources.files import Loaded
    from ..sources.network import FetchResult

DEFAULT_CONCURRENCY = 32
MAX_CONCURRENCY = 1024
MAX_PROCESSES = 64
# processes=None: one per CPU this process may run on, at most this many (the
# parent's judging and the servers a scan meets on loopback need CPU too).
AUTO_PROCESSES = 8
# Handshake worker processes start once this many targets were taken: a
# smaller scan ends before starting them would pay off (each child costs
# ~150 ms of CPU to start, and a cold scan of a few targets is all start-up).
# A scan known to be larger (a list's length, a targets file's lines: the
# ``expected`` of scan_endpoints) starts them with its first target instead,
# while the trust stores are read on the other core (2,000 targets: workers
# answering from ~0.2 s instead of ~0.85 s; docs/performance.md).
POOL_AFTER = 64
# Seconds past the last target's timeout the feeder waits for the workers'
# last answers before calling them lost (they enforce the timeout themselves).
DRAIN_GRACE = 30.0
# Longest --deadline accepted (a week): a whole scan needs no more.
MAX_DEADLINE = 7 * 86400.0
# Example targets kept per summary row, and distinct chains / roots whose
# plans the summary keeps (the rest are counted).
EXAMPLES = 3
MAX_PLANS = 50


@record
class ScanResult:
    """One target, diagnosed.

    Attributes:
        line: where the target came from (file and line).
        report: what ``diagnose`` alone reports for it.
        parts: the plan's parts (server-side, client-side), when it refuses;
            the client parts are the chain's, shared by its targets.
        chain: the judged chain it shares with other targets, if any.
        shared_plan: ``report.plan`` is the chain's client plan (the same
            document for every target presenting the chain).
    """

    line: TargetLine
    report: EndpointReport
    parts: PlanParts | None = None
    chain: JudgedChain | None = field(default=None, repr=False, compare=False)
    shared_plan: bool = False  # report.plan is the chain's client plan

    @property
    def trusted(self) -> bool:
        return self.report.trusted

    def to_dict(self) -> dict[str, Any]:
        """The ``diagnose --format json`` document of this target (a fresh copy)."""
        return self.report.to_dict()

    def document(self) -> dict[str, Any]:
        """The same document, its diagnosis part rendered once per judged chain
        and shared with the other targets presenting it: read-only."""
        from ..render.endpoint import endpoint_to_dict

        entry = self.chain
        if entry is None or self.report.diagnosis is None:
            return self.report.to_dict()
        shared, _, plan = self._shared(entry, text=False)
        return endpoint_to_dict(self.report, shared=shared, plan=plan)

    def json_line(self) -> str:
        """:meth:`document` as one line of JSON (``--format jsonl``), its shared
        part serialised once per judged chain."""
        from ..render.scan import document_line, dumps_line

        entry = self.chain
        if entry is None or self.report.diagnosis is None:
            return dumps_line(self.report.to_dict())
        _, fragments, plan = self._shared(entry, text=True)
        assert fragments is not None
        plan_text = None
        own = self.report.plan
        if plan is not None:
            as_root = bool(own and own.context and own.context.as_root)
            with entry.lock:
                plan_text = entry.plan_text.get(as_root)
                if plan_text is None:
                    from ..render.scan import json_text

                    plan_text = entry.plan_text[as_root] = json_text(plan)
        elif own is not None:  # its own plan (server parts): steps shared where equal
            from ..render.scan import plan_json_text

            with entry.lock:
                plan_text = plan_json_text(own, entry.step_text)
        return document_line(self.report, fragments, plan_text=plan_text)

    def _shared(
        self, entry: JudgedChain, *, text: bool
    ) -> tuple[dict[str, Any], tuple[str, str] | None, dict[str, Any] | None]:
        """The chain's document (and its text), and the plan's document when the
        plan is the chain's client plan (the same for every target: the planners
        read nothing of the context but ``as_root`` when rendering)."""
        from ..render.json import diagnosis_to_dict

        plan = self.report.plan
        with entry.lock:
            if entry.doc is None:
                entry.doc = diagnosis_to_dict(entry.diagnosis, kind="diagnose")
            if text and entry.fragments is None:
                from ..render.scan import shared_fragments

                entry.fragments = shared_fragments(entry.doc)
            plan_doc = None
            if self.shared_plan and plan is not None:
                as_root = bool(plan.context is not None and plan.context.as_root)
                plan_doc = entry.plan_doc.get(as_root)
                if plan_doc is None:
                    from ..render.plan_json import plan_to_dict

                    plan_doc = entry.plan_doc[as_root] = plan_to_dict(plan)
            return entry.doc, entry.fragments, plan_doc


# -- the summary ------------------------------------------------------------------------


@record
class Group:
    """Targets sharing a cause, its side and a client (``None``: every client:
    a connection problem)."""

    cause: str
    side: str
    client: str | None
    count: int
    examples: tuple[str, ...]


@record
class ServerFix:
    """The server-side plan for one distinct presented chain."""

    chain: tuple[str, ...]  # fingerprints, leaf first
    leaf: str  # the leaf's subject
    causes: tuple[str, ...]
    count: int
    examples: tuple[str, ...]
    plan: Plan


@record
class ClientFix:
    """The client-side plan for one missing root (or one store cause)."""

    root: str  # the CA's name, or the cause when no CA is involved
    sha256: str | None
    causes: tuple[str, ...]
    clients: tuple[str, ...]
    count: int
    examples: tuple[str, ...]
    plan: Plan


@record
class ScanSummary:
    """What a scan found, grouped.

    Attributes:
        scanned: targets diagnosed (trusted + not_trusted + failed).
        trusted: every client trusts the chain.
        not_trusted: some client refuses it.
        failed: nothing could be judged (DNS, refused, timeout, not TLS...).
        problems: input lines not scanned (bad lines, duplicates), by code.
        groups: by cause, side and client, most targets first.
        server_fixes: one server-side plan per distinct presented chain.
        client_fixes: one client plan per missing root.
        more_chains / more_roots: distinct chains / roots beyond the plans kept.
        chains_judged: distinct chains judged (the rest came from the memo).
        stopped: ``None`` (the input was read to its end), ``deadline``,
            ``interrupted`` or ``strict`` (a bad line with ``--strict``).
        elapsed_s: wall time of the scan.
        at: the time every chain was judged at.
    """

    scanned: int
    trusted: int
    not_trusted: int
    failed: int
    problems: Mapping[str, int]
    groups: tuple[Group, ...]
    server_fixes: tuple[ServerFix, ...]
    client_fixes: tuple[ClientFix, ...]
    more_chains: int
    more_roots: int
    chains_judged: int
    stopped: str | None
    elapsed_s: float
    at: dt.datetime

    @property
    def rate(self) -> float:
        return self.scanned / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @property
    def exit_code(self) -> int:
        """As ``diagnose``: 0 every target trusted, 1 some target not trusted or
        not reachable, 2 a bad line with ``--strict`` or no target at all, 3
        every target failed to connect or the deadline ended the scan; 130
        interrupted."""
        if self.stopped == "strict" or (self.scanned == 0 and self.stopped is None):
            return 2
        if self.stopped == "interrupted":
            return 130
        if self.stopped == "deadline" or (self.scanned and self.failed == self.scanned):
            return 3
        return 0 if self.trusted == self.scanned else 1

    def to_dict(self) -> dict[str, Any]:
        from ..render.scan import summary_to_dict

        return summary_to_dict(self)

    def to_text(self) -> Doc:
        from ..render.scan import render_summary

        return render_summary(self)


class _Summary:
    """The summary, built as results arrive (the consumer's thread only)."""

    def __init__(self) -> None:
        self.trusted = self.not_trusted = self.failed = 0
        self.problems: dict[str, int] = {}
        self.groups: dict[tuple[str, str, str | None], list[Any]] = {}
        self.servers: dict[tuple[str, ...], list[Any]] = {}
        self.roots: dict[tuple[str, str | None], list[Any]] = {}
        self.more_chains = Seen()  # distinct chains past MAX_PLANS: 8 bytes each
        self.more_roots = 0

    def add(self, item: ScanResult | InputProblem) -> None:
        if isinstance(item, InputProblem):
            self.problems[item.code] = self.problems.get(item.code, 0) + 1
            return
        r = item.report
        name = r.target.label
        if r.diagnosis is None:
            self.failed += 1
            code = r.error.code if r.error is not None else "handshake-failed"
            from ..render.endpoint import error_side

            self._group((code, error_side(code).value, None), name)
            return
        if r.trusted:
            self.trusted += 1
            return
        self.not_trusted += 1
        for v in r.diagnosis.clients:
            if not v.trusted:
                self._group((v.cause.value, v.side.value, v.client), name)
        parts = item.parts
        if parts is None:
            return
        if parts.server:
            key = tuple(p.cert.sha256 for p in r.diagnosis.presented)
            row = self.servers.get(key)
            if row is None and len(self.servers) >= MAX_PLANS:
                self.more_chains.add(key)
            elif row is None:
                from ..fixes import merge_plans

                leaf = r.diagnosis.leaf.subject
                causes = tuple(dict.fromkeys(p.cause.value for p in parts.server))
                self.servers[key] = [leaf, causes, 1, [name], merge_plans(list(parts.server))]
            else:
                row[2] += 1
                if len(row[3]) < EXAMPLES:
                    row[3].append(name)
        for p in parts.client:
            rkey = _root_key(p)
            row = self.roots.get(rkey)
            if row is None:
                if len(self.roots) >= MAX_PLANS:
                    self.more_roots += 1
                    continue
                row = self.roots[rkey] = [{}, 0, [], None]
            plans: dict[str, Plan] = row[0]
            for c in p.clients:
                plans.setdefault(c, p)
            if row[3] is not name:  # count each target once per root
                row[1] += 1
                if len(row[2]) < EXAMPLES:
                    row[2].append(name)
                row[3] = name

    def _group(self, key: tuple[str, str, str | None], name: str) -> None:
        row = self.groups.get(key)
        if row is None:
            self.groups[key] = [1, [name]]
            return
        row[0] += 1
        if len(row[1]) < EXAMPLES:
            row[1].append(name)

    def freeze(
        self, *, stopped: str | None, elapsed: float, at: dt.datetime, judged: int
    ) -> ScanSummary:
        from ..fixes import merge_plans

        groups = sorted(
            (Group(c, s, cl, n, tuple(ex)) for (c, s, cl), (n, ex) in self.groups.items()),
            key=lambda g: (-g.count, g.cause, g.client or ""),
        )
        servers = [
            ServerFix(key, leaf, causes, n, tuple(ex), plan)
            for key, (leaf, causes, n, ex, plan) in self.servers.items()
        ]
        clients = []
        for (name, sha), (plans, n, ex, _) in self.roots.items():
            unique = list({id(p): p for p in plans.values()}.values())
            merged = merge_plans(unique)
            causes = tuple(dict.fromkeys(p.cause.value for p in unique))
            clients.append(ClientFix(name, sha, causes, tuple(plans), n, tuple(ex), merged))
        return ScanSummary(
            scanned=self.trusted + self.not_trusted + self.failed,
            trusted=self.trusted,
            not_trusted=self.not_trusted,
            failed=self.failed,
            problems=dict(self.problems),
            groups=tuple(groups),
            server_fixes=tuple(sorted(servers, key=lambda s: -s.count)),
            client_fixes=tuple(sorted(clients, key=lambda c: -c.count)),
            more_chains=self.more_chains.count,
            more_roots=self.more_roots,
            chains_judged=judged,
            stopped=stopped,
            elapsed_s=round(elapsed, 3),
            at=at,
        )


def _root_key(plan: Plan) -> tuple[str, str | None]:
    """Which root a client plan installs (its CA), or which cause it answers."""
    if plan.ca is not None:
        return plan.ca.name, plan.ca.sha256
    return plan.cause.value, None


# -- the scan -----------------------------------------------------------------------------


class _Done:
    """A worker ran out of targets."""


class _Failure:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


@mutable_record
class _ClientSet:
    """One client set of a scan: its clients, the memo of the chains judged for it, and the facts
    its fix plans are made from."""

    clients: Clients
    memo: ChainMemo
    facts: FixContext


class Scan:
    """A running scan: iterate it for results as they finish (see :func:`scan_endpoints`)."""

    def __init__(
        self,
        items: Iterator[TargetLine | InputProblem],
        *,
        opts: TrustOptions,
        requested: tuple[str, ...],
        versions: Mapping[str, str],
        anchors: list[Any] | None,
        supplied: list[PresentedCert],
        when: dt.datetime,
        timeout: float,
        concurrency: int,
        rate: float | None,
        deadline: float | None,
        proxy: str | None,
        family: int,
        aia: AiaOptions | None,
        strict: bool,
        engine: str,
        processes: int = 1,
        pool_after: int = POOL_AFTER,
    ) -> None:
        self._items = items
        self._opts = opts
        self._requested = requested
        self._versions = versions
        self._anchors = anchors
        self._supplied = supplied
        self.at = when
        self._timeout = timeout
        self._concurrency = concurrency
        self._interval = 1.0 / rate if rate else 0.0
        self._deadline_s = deadline
        self._proxy = proxy
        self._family = family
        self._aia_in = aia
        self._strict = strict
        self._engine = engine
        self._stack = contextlib.ExitStack()
        self._ctx: StoreContext | None = None
        self._env: dict[str, str] = {}
        self._aia: AiaOptions | None = None
        self._read_lock = threading.Lock()
        self._seen = Seen()
        self._sets: dict[str | None, _ClientSet] = {}
        self._sets_lock = threading.Lock()
        self._names: tuple[str, ...] | None = None
        self._rate_lock = threading.Lock()
        self._next_slot = 0.0
        self._stop = threading.Event()
        self._results: queue.Queue[Any] = queue.Queue(maxsize=max(8, 2 * concurrency))
        self._threads: list[threading.Thread] = []
        self._stores_thread: threading.Thread | None = None
        self._summary = _Summary()
        self.stopped: str | None = None
        self._start = 0.0
        self._end: float | None = None
        self._ends_at = float("inf")
        self._iterated = False
        self._processes = processes
        self._pool_after = pool_after
        self._taken = 0  # targets handed to the threads
        self._pool: FetchPool | None = None
        # off | waiting (for pool_after targets) → starting → running | failed
        self._pool_state = "off" if processes <= 1 else "waiting"
        self._pool_lock = threading.Lock()
        self._pool_ready = threading.Event()  # set once the workers ran or failed
        # The feeder (see _work): targets in flight in the workers, and when to
        # wake it for more (a quarter of the window free).
        self._room = threading.Condition()
        self._inflight = 0
        self._refill = concurrency - max(1, concurrency // 4)
        self._feeder_claimed = False
        self._last_fed = 0.0

    # -- life cycle

    def __enter__(self) -> Scan:
        self._ctx = self._stack.enter_context(open_context(self._opts, self.at))
        self._env = network_env(self._opts, self._ctx)
        self._aia = aia_route(self._aia_in, self._opts, self._ctx, self._proxy)
        self._start = time.monotonic()
        if self._deadline_s is not None:
            self._ends_at = self._start + self._deadline_s
        # The stores are read while the first handshakes run: read by the first
        # target judged, they began ~60 ms into a scan and every judging thread
        # (and through them the workers) waited ~0.2 s for them.
        self._stores_thread = threading.Thread(
            target=self._read_stores, name="scan-stores", daemon=True
        )
        self._stores_thread.start()
        for i in range(self._concurrency):
            t = threading.Thread(target=self._work, name=f"scan-{i}", daemon=True)
            self._threads.append(t)
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop("interrupted")  # (no-op once the iteration ended)
        with self._pool_lock:
            pool, self._pool = self._pool, None
            self._pool_state = "off"
        if pool is not None:
            pool.close()
        if self._stores_thread is not None:
            # It reads the context's root (an extracted image): done before
            # the root goes away.
            self._stores_thread.join()
        self._stack.close()

    def stop(self, reason: str | None = "interrupted") -> None:
        """Stop taking targets; targets in flight are abandoned (their threads
        end on their own timeout)."""
        if self._end is None:
            self._end = time.monotonic()
            if reason is not None and self.stopped is None:
                self.stopped = reason
        self._stop.set()

    def __iter__(self) -> Iterator[ScanResult | InputProblem]:
        if self._iterated:
            raise RuntimeError("a scan is iterated once")
        self._iterated = True
        running = len(self._threads)
        ended = False
        try:
            while running:
                item = self._results.get()
                if isinstance(item, _Done):
                    running -= 1
                    continue
                if isinstance(item, _Failure):
                    raise item.exc
                if self._stop.is_set():
                    break
                self._summary.add(item)
                if isinstance(item, InputProblem) and self._strict:
                    self.stopped = "strict"
                    yield item
                    break
                yield item
            ended = True
        finally:
            # Left early (Ctrl-C, SIGTERM, the consumer stopped): interrupted.
            self.stop(None if ended else "interrupted")

    @property
    def worker_pids(self) -> tuple[int, ...]:
        """The handshake worker processes this scan started (empty: none, or
        not yet): for diagnostics (``ps``) and tests."""
        pool = self._pool
        return tuple(pool.pids()) if pool is not None else ()

    def summary(self) -> ScanSummary:
        """What was found so far (the whole scan once the iteration ended)."""
        end = self._end if self._end is not None else time.monotonic()
        judged = sum(s.memo.misses for s in list(self._sets.values()))
        return self._summary.freeze(
            stopped=self.stopped, elapsed=end - self._start, at=self.at, judged=judged
        )

    # -- the workers

    def _read_stores(self) -> None:
        """The scan's one client set, read ahead of the first judging (none ahead
        when a client reads per-registry directories: the target says which)."""
        try:
            with self._sets_lock:
                names = self._client_names()
            if not any(CLIENTS[n].registry_store for n in names):
                self._client_set(None)
        except Exception:  # the first judging reads them again and reports it
            pass

    def _client_names(self) -> tuple[str, ...]:
        """(Holding ``_sets_lock``.)  The clients judged: asked for, else found."""
        if self._names is None:
            self._names = self._requested or select_clients(None, self._ctx)
        return self._names

    def _next(self) -> TargetLine | InputProblem | None:
        with self._read_lock:
            while not self._stop.is_set():
                if time.monotonic() >= self._ends_at:
                    self.stopped = self.stopped or "deadline"
                    return None
                item = next(self._items, None)
                if item is None or isinstance(item, InputProblem):
                    return item
                # As the client asked about connects (diagnose does the same).
                seen_as = client_target(item.target, self._requested, self._ctx)
                if seen_as is not item.target:
                    item = replace(item, target=seen_as)
                if not self._seen.add(item.target):
                    return InputProblem(
                        "duplicate",
                        f"{item.where}: duplicate target {item.target.label} "
                        "(listed before); skipped",
                        item.text,
                        item.source,
                        item.line,
                    )
                self._taken += 1
                return item
            return None

    def _work(self) -> None:
        feeder = False  # this thread hands the workers their targets
        try:
            while not self._stop.is_set():
                item = self._next()
                if item is None:
                    break
                if isinstance(item, InputProblem):
                    self._put(item)
                    continue
                self._throttle()
                if self._stop.is_set():
                    break
                pool = self._pool_now()
                if pool is not None and (feeder or self._claim_feeder()):
                    # Once the workers run, one thread hands them the targets
                    # and the threads reading their answers judge (see _feed):
                    # no thread per target in flight, hence no hand-offs.
                    feeder = True
                    self._feed(pool, item)
                    continue
                if pool is not None:
                    # The feeder has taken over: this thread's target goes to
                    # the workers too, and the thread waits for that answer
                    # (the feeder's drain may have ended before it was fed).
                    answered = threading.Event()
                    self._feed(pool, item, answered)
                    while not answered.wait(0.2) and not self._stop.is_set():
                        pass
                    break
                self._put(self._outcome(item, None))  # its handshake here
            if feeder:
                self._drain()
        except BaseException as exc:  # delivered to the consumer, never printed here
            if not self._stop.is_set():
                self._put(_Failure(exc))
        finally:
            self._put(_Done())

    def _outcome(
        self, item: TargetLine, results: list[AddressResult] | None
    ) -> ScanResult | InputProblem:
        """``item`` judged (its handshake done here when ``results`` is ``None``),
        or the input problem that only this target has (a bad registry name...)."""
        try:
            if results is None:
                return self._one(item)
            return self._judged(item, results)
        except UsageError as exc:
            return _bad_line(item, exc)

    # -- the workers' feeder (see _work)

    def _claim_feeder(self) -> bool:
        with self._room:
            if self._feeder_claimed:
                return False
            self._feeder_claimed = True
            return True

    def _feed(
        self, pool: FetchPool, item: TargetLine, answered: threading.Event | None = None
    ) -> None:
        """Hand ``item`` to the workers once fewer than ``concurrency`` targets are
        in flight; its answer is judged in the thread that reads it, then
        ``answered`` is set (also when it could not be handed over)."""
        with self._room:
            while self._inflight >= self._concurrency and not self._stop.is_set():
                # A full window that no answer empties: the workers hang.
                self._hung_check()
                self._room.wait(0.2)
            if self._stop.is_set():
                return
            self._inflight += 1
            self._last_fed = time.monotonic()
        t = item.target

        def done(result: FetchResult | None, error: BaseException | None) -> None:
            try:
                results: list[AddressResult] | None = None
                if result is not None:
                    results = [AddressResult(result.address, result, None)]
                elif isinstance(error, ConnectError):  # as fetch_all maps it
                    results = [AddressResult(t.connect_hostport, None, error)]
                if results is not None:
                    self._put(self._outcome(item, results))
                elif isinstance(error, UsageError):
                    self._put(_bad_line(item, error))
                elif error is not None and not self._stop.is_set():
                    self._put(_Failure(error))
            except BaseException as exc:  # never in the reading thread: to the consumer
                if not self._stop.is_set():
                    self._put(_Failure(exc))
            finally:
                with self._room:
                    self._inflight -= 1
                    # Wake the feeder for a batch, not for every answer.
                    if self._inflight <= self._refill:
                        self._room.notify_all()
                if answered is not None:
                    answered.set()

        try:
            pool.submit(
                t, done, timeout=self._budget(), proxy=self._proxy, env=self._env,
                family=self._family, engine=self._engine,
            )  # fmt: skip
        except BaseException:
            with self._room:
                self._inflight -= 1
            if answered is not None:
                answered.set()
            raise

    def _drain(self) -> None:
        """Wait for the targets in flight in the workers (not when stopped): every
        answer is delivered before this thread says it is done."""
        with self._room:
            while self._inflight and not self._stop.is_set():
                self._hung_check()
                self._room.wait(0.2)

    def _hung_check(self) -> None:
        """(Holding ``_room``.)  The workers enforce each target's timeout: no
        answer for that long and a grace period after the last target was
        handed out means a hung child, whether the feeder waits for room in
        the window or for the last answers."""
        if time.monotonic() > self._last_fed + self._timeout + DRAIN_GRACE:
            raise SourceError(
                f"{self._inflight} target(s) had no answer from the handshake workers"
            )

    def _put(self, item: object) -> None:
        while True:
            try:
                self._results.put(item, timeout=0.2)
                return
            except queue.Full:
                if self._stop.is_set():
                    return

    def _throttle(self) -> None:
        if not self._interval:
            return
        with self._rate_lock:
            t = time.monotonic()
            slot = max(t, self._next_slot)
            self._next_slot = slot + self._interval
        if slot > t:
            self._stop.wait(slot - t)

    def _budget(self) -> float:
        """A target's timeout: ``--timeout``, or what is left of ``--deadline``."""
        timeout = self._timeout
        if self._ends_at != float("inf"):
            timeout = min(timeout, max(0.05, self._ends_at - time.monotonic()))
        return timeout

    def _one(self, item: TargetLine) -> ScanResult:
        return self._judged(item, self._fetch(item.target, self._budget()))

    def _judged(self, item: TargetLine, results: list[AddressResult]) -> ScanResult:
        t = item.target
        if not any(r.fetch is not None and r.fetch.chain for r in results):
            report = judge_fetch(t, results, Clients((), ()), at=self.at)
            host = t.servername or t.host
            fctx = fix_context(
                None, self._opts, at=self.at, host=host, endpoint=t, proxy=self._proxy,
                plan_clients=self._requested,
            )  # fmt: skip
            return ScanResult(item, replace(report, plan=_error_plan(report, fctx)))
        registry = self._registry(t)
        if registry is not None:  # as diagnose's store context checks it
            from ..stores.inspect import validate_registry

            registry = validate_registry(registry)
        cs = self._client_set(registry)
        host = t.servername or t.host

        def fix() -> FixContext:
            return replace(cs.facts, host=host, endpoint=t, registry=registry)

        members = [r for r in results if r.fetch is not None and r.fetch.chain]
        report, entry, parts = judge_chain_of(
            t, results, members, cs.clients, at=self.at, aia=self._aia, fix=fix,
            mozilla=_mozilla, supplied=self._supplied, memo=cs.memo,
        )  # fmt: skip
        shared = parts is not None and not entry.has_server and entry.client_plan is not None
        return ScanResult(item, report, parts, entry, shared)

    def _fetch(self, t: Target, timeout: float) -> list[AddressResult]:
        """The handshake in this process (the workers' are handed out by _feed)."""
        if self._engine == "auto":
            return fetch_all(
                t, timeout=timeout, proxy=self._proxy, env=self._env, all_addresses=False,
                family=self._family,
            )  # fmt: skip
        from ..sources.network import fetch_chain

        try:
            r = fetch_chain(
                t, timeout=timeout, proxy=self._proxy, env=self._env, family=self._family,
                engine=self._engine,
            )  # fmt: skip
        except ConnectError as exc:
            return [AddressResult(t.connect_hostport, None, exc)]
        return [AddressResult(r.address, r, None)]

    def _pool_now(self) -> FetchPool | None:
        """The handshake workers once running (``None``: this handshake runs in
        this process).  The first thread past ``pool_after`` targets starts them;
        the others go on here meanwhile; if none can start, the scan stays in
        this process (same results, one core)."""
        if self._pool_state == "running":
            return self._pool
        if self._pool_state == "waiting" and self._taken > self._pool_after:
            with self._pool_lock:
                start = self._pool_state == "waiting" and not self._stop.is_set()
                if start:
                    self._pool_state = "starting"
            if start:
                return self._start_pool()
        if self._pool_state == "starting" and self._pool_after == 0:
            # A scan known to be large: the workers take every handshake.  A
            # handshake here meanwhile would take the interpreter from the
            # thread reading the stores, which every judging waits for.
            self._pool_ready.wait()
            return self._pool if self._pool_state == "running" else None
        return None

    def _start_pool(self) -> FetchPool | None:
        from ..sources.fetchpool import FetchPool

        # Each child gets its share of the handshakes in flight.
        pool = FetchPool(self._processes, -(-self._concurrency // self._processes))
        try:
            try:
                pool.start()
            except SourceError:
                with self._pool_lock:
                    if self._pool_state == "starting":
                        self._pool_state = "failed"
                return None
            with self._pool_lock:
                if self._pool_state == "starting":  # not closed meanwhile (__exit__)
                    self._pool, self._pool_state = pool, "running"
                    return pool
            pool.close()
            return None
        finally:
            self._pool_ready.set()

    def _registry(self, t: Target) -> str | None:
        """The registry ``diagnose`` would take for ``t`` (``--registry``, else the
        target for the daemon clients)."""
        if self._opts.registry is not None:
            return self._opts.registry
        if self._opts.trust:
            return None
        return default_registry(t, self._requested)

    def _client_set(self, registry: str | None) -> _ClientSet:
        """The clients judged, for ``registry`` when one of them reads per-registry
        directories (else one set for the whole scan): read once."""
        with self._sets_lock:
            names = self._client_names()
            key = registry if any(CLIENTS[n].registry_store for n in names) else None
            found = self._sets.get(key)
            if found is not None:
                return found
            ctx = self._ctx
            if ctx is not None and key is not None:
                ctx = replace(ctx, registry=key)
            cs = client_set(
                names,
                ctx=ctx,
                trust=self._anchors,
                trust_source=trust_label(self._opts.trust),
                versions=self._versions,
            )
            facts = fix_context(
                cs, self._opts, at=self.at, proxy=self._proxy, plan_clients=self._requested
            )
            made = self._sets[key] = _ClientSet(cs, ChainMemo(), facts)
            return made


def auto_processes() -> int:
    """One handshake worker per CPU this process may run on (its affinity, as
    ``taskset`` and container CPU sets restrict it), at most AUTO_PROCESSES;
    1 (no worker) on a single CPU."""
    import os

    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, AUTO_PROCESSES))


def _bad_line(item: TargetLine, exc: UsageError) -> InputProblem:
    where, text = f"{item.where}: {exc.message}", item.text
    return InputProblem("bad-line", where, text, item.source, item.line)


def _mozilla() -> Any:
    from .reference import mozilla_reference

    return mozilla_reference()


def scan_endpoints(
    targets: Iterable[str | Target | TargetLine | InputProblem],
    *,
    clients: Sequence[str] | str | None = None,
    options: TrustOptions | None = None,
    trust: Sequence[str | Loaded] = (),
    timeout: float = 10.0,
    concurrency: int = DEFAULT_CONCURRENCY,
    rate: float | None = None,
    deadline: float | None = None,
    proxy: str | None = None,
    family: int = 0,
    at: dt.datetime | None = None,
    aia: AiaOptions | None = None,
    intermediates: Sequence[Loaded | str] = (),
    strict: bool = False,
    engine: str = "auto",
    processes: int | None = 1,
    expected: int | None = None,
) -> Scan:
    """Diagnose many endpoints; use as ``with scan_endpoints(...) as s: for item in s: ...``.

    Args:
        targets: lines of the plain form (``host:port servername=NAME``...),
            :class:`~trustdoctor.model.target.Target` values, or what
            :func:`~trustdoctor.sources.targetlist.read_target_lines` yields;
            read as the scan goes (a generator of any length).
        clients, options, trust, proxy, family, aia, intermediates: as
            :func:`~trustdoctor.api.endpoint.diagnose_endpoint`.
        timeout: the budget of each target (DNS, connect, STARTTLS, handshake).
        concurrency: targets in flight at once.
        rate: at most this many new connections per second (``None``: no limit).
        deadline: seconds for the whole scan; targets not started by then are
            not scanned (``ScanSummary.stopped == "deadline"``).
        at: the time every chain is judged at (default: when the scan starts).
        strict: stop at the first input problem.
        engine: the handshake engine (``sources.network.fetch_chain``).
        processes: handshake worker processes (1: every handshake in this
            process; ``None``: :func:`auto_processes`); they start once the
            scan is past :data:`POOL_AFTER` targets, or with the first target
            when more than that are ``expected``; the results are the same
            either way.
        expected: about how many targets ``targets`` holds, if known
            (default: its length when it has one); only when the workers
            start depends on it.

    Raises:
        UsageError, InputError: bad options or unreadable ``--trust`` or
            ``--intermediates`` files, before any connection.
    """
    from ..sources.network import ENGINES, MAX_TIMEOUT

    opts = options or TrustOptions()
    if trust:
        opts = replace(opts, trust=tuple(trust))
    opts.check()
    if not (0 < timeout <= MAX_TIMEOUT):
        raise UsageError(f"--timeout must be between 0 and {MAX_TIMEOUT:g} seconds")
    if not (1 <= concurrency <= MAX_CONCURRENCY):
        raise UsageError(f"--concurrency must be between 1 and {MAX_CONCURRENCY}")
    if rate is not None and not (0 < rate <= 1e6):
        raise UsageError("--rate must be a positive number of connections per second")
    if deadline is not None and not (0 < deadline <= MAX_DEADLINE):
        raise UsageError(f"--deadline must be between 0 and {MAX_DEADLINE:g} seconds")
    if engine not in ENGINES:
        raise UsageError(f"unknown handshake engine {engine!r}")
    if processes is None:
        processes = auto_processes()
    if not (1 <= processes <= MAX_PROCESSES):
        raise UsageError(f"--processes must be between 1 and {MAX_PROCESSES}")
    if proxy:
        from ..sources.http import parse_proxy_url

        parse_proxy_url(proxy)  # a bad --proxy is the whole scan's usage error
    requested = select_clients(clients, None, default=())
    versions = client_specs(clients)[1]  # --client go@1.19
    anchors = load_trust_paths(opts.trust, password=opts.password) if opts.trust else None
    from .chain import load_inputs

    supplied = [pc for item in load_inputs(intermediates, opts.password) for pc in item.certs]
    if expected is None and isinstance(targets, Sized):
        expected = len(targets)
    return Scan(
        from_items(targets),
        opts=opts,
        requested=requested,
        versions=versions,
        anchors=anchors,
        supplied=supplied,
        when=at or now(),
        timeout=timeout,
        concurrency=concurrency,
        rate=rate,
        deadline=deadline,
        proxy=proxy,
        family=family,
        aia=aia,
        strict=strict,
        engine=engine,
        processes=processes,
        pool_after=0 if expected is not None and expected > POOL_AFTER else POOL_AFTER,
    )


__all__ = [
    "AUTO_PROCESSES",
    "DEFAULT_CONCURRENCY",
    "POOL_AFTER",
    "ClientFix",
    "Group",
    "Scan",
    "ScanResult",
    "ScanSummary",
    "ServerFix",
    "auto_processes",
    "scan_endpoints",
]
