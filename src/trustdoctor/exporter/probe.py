"""``/probe?target=HOST:PORT&module=NAME&client=…``: one endpoint, judged per client.

blackbox_exporter's multi-target pattern: Prometheus relabels each target
into ``__param_target`` and scrapes ``/probe``; the answer is always HTTP 200
with ``trustdoctor_probe_success`` (and every client's series, with the cause,
even when the target cannot be reached) — except for a request the exporter
refuses: a malformed one (400), a target outside the allowlist (403, before
any socket opens), or too many waiting probes (503).

Underneath it is ``api.diagnose_endpoint`` with clients prepared once per
module (``api.prepare_clients``), re-read when their store signature changes,
no proxy, no AIA fetches (a certificate's AIA URL is another request-forgery
vector), no fix plan: the same verdicts ``trustdoctor diagnose`` prints.

Bounds: at most ``max_concurrent`` handshakes at once (threads of a fixed
pool); at most ``max_pending`` probes waiting; each probe has a deadline —
the module's timeout, cut to the scrape timeout Prometheus announces
(``X-Prometheus-Scrape-Timeout-Seconds``) less a margin — covering the wait,
the resolution, the handshake and the judging.  A probe past its deadline
answers ``cause="timeout"`` at once; its thread is bounded by the same
timeout given to the handshake.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import time
import tomllib
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import ConnectError, InputError, TrustDoctorError, UsageError
from ..model.record import field, mutable_record, record, replace
from ..render.prometheus import PREFIX, Family, probe_families
from .allow import Allowlist, decide

if TYPE_CHECKING:
    from ..api.context import TrustOptions
    from ..api.endpoint import EndpointReport, PreparedClients

MARGIN = 0.5  # seconds kept from Prometheus' scrape timeout for the answer itself
MIN_TIMEOUT = 0.2
MAX_TIMEOUT = 60.0
MAX_PREPARED = 64  # (module, registry) client sets kept
MAX_QUERY = 4096


@record
class Module:
    """How a probe judges: which clients, read from where, with which timeout.

    Attributes:
        name: the ``module=`` value.
        clients: the clients judged (``None``: those found in ``root``).
        trust: anchor files/directories replacing the clients' stores.
        root: the root the clients' stores are read from (default: the exporter's).
        timeout: seconds for one probe (resolution, handshake, judging).
        starttls: a STARTTLS protocol to speak first (``smtp``, ``ldap``...).
    """

    name: str
    clients: tuple[str, ...] | None = None
    trust: tuple[str, ...] = ()
    root: str | None = None
    timeout: float = 5.0
    starttls: str | None = None


def load_modules(path: str | None, default: Module) -> dict[str, Module]:
    """Modules from a TOML file (``[modules.NAME]`` tables); ``default`` unless redefined."""
    modules = {default.name: default}
    if path is None:
        return modules
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"--config {path}: cannot read ({exc.strerror})") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"--config {path}: not TOML ({exc})") from None
    table = data.get("modules", {})
    if not isinstance(table, dict):
        raise InputError(f"--config {path}: [modules] must be a table")
    known = {"clients", "trust", "root", "timeout", "starttls"}
    for name, spec in table.items():
        if not isinstance(spec, dict):
            raise InputError(f"--config {path}: modules.{name} must be a table")
        unknown = set(spec) - known
        if unknown:
            raise InputError(f"--config {path}: modules.{name}: unknown key(s) {sorted(unknown)}")
        timeout = spec.get("timeout", default.timeout)
        if not isinstance(timeout, int | float) or not MIN_TIMEOUT <= timeout <= MAX_TIMEOUT:
            raise InputError(
                f"--config {path}: modules.{name}.timeout must be {MIN_TIMEOUT}-{MAX_TIMEOUT}"
            )
        clients = spec.get("clients")
        trust = spec.get("trust", [])
        if clients is not None and not (
            isinstance(clients, list) and all(isinstance(c, str) for c in clients)
        ):
            raise InputError(f"--config {path}: modules.{name}.clients must be a list of names")
        if not (isinstance(trust, list) and all(isinstance(c, str) for c in trust)):
            raise InputError(f"--config {path}: modules.{name}.trust must be a list of paths")
        modules[name] = Module(
            name,
            tuple(clients) if clients is not None else default.clients,
            tuple(trust),
            spec.get("root", default.root),
            float(timeout),
            spec.get("starttls"),
        )
    return modules


@mutable_record
class _Prepared:
    """Clients prepared for /probe, and when their stores were last checked."""

    prepared: PreparedClients
    checked: float


@mutable_record
class ProbeStats:
    """The prober's own counters, exported as metrics."""

    results: collections.Counter[str] = field(default_factory=collections.Counter)
    refused: collections.Counter[str] = field(default_factory=collections.Counter)
    in_flight: int = 0
    waiting: int = 0


class Prober:
    """Runs ``/probe`` requests (from the event loop) within the bounds above."""

    def __init__(
        self,
        options: TrustOptions,
        modules: Mapping[str, Module],
        allow: Allowlist,
        *,
        max_concurrent: int = 16,
        max_pending: int = 256,
        recheck: float = 2.0,
    ) -> None:
        self.options = options
        self.modules = dict(modules)
        self.allow = allow
        self.max_concurrent = max_concurrent
        self.max_pending = max_pending
        self.recheck = recheck
        self.stats = ProbeStats()
        self._pool = ThreadPoolExecutor(max_workers=max_concurrent, thread_name_prefix="probe")
        self._slots: asyncio.Semaphore | None = None
        self._prepared: collections.OrderedDict[tuple[str, str | None], _Prepared] = (
            collections.OrderedDict()
        )
        import threading

        self._prep_lock = threading.Lock()

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    # -- the clients, prepared once per (module, registry) -----------------------------

    def _options(self, m: Module) -> TrustOptions:
        opts = self.options
        if m.root is not None:
            opts = replace(opts, root=m.root)
        if m.trust:
            from ..api.context import TrustOptions

            opts = TrustOptions(trust=m.trust)
        return opts

    def prepared(self, m: Module, registry: str | None) -> PreparedClients:
        from ..api.endpoint import prepare_clients
        from ..api.stores import store_signature

        key = (m.name, registry)
        opts = self._options(m)
        if registry is not None and not opts.trust:
            opts = replace(opts, registry=registry)
        with self._prep_lock:
            entry = self._prepared.get(key)
            now = time.monotonic()
            if entry is not None:
                self._prepared.move_to_end(key)
                p = entry.prepared
                if p.signature is None or now - entry.checked < self.recheck:
                    return p
                stores = list({id(s): s for s in p.clients.stores.values()}.values())
                if store_signature(p.options, stores) == p.signature:
                    entry.checked = now
                    return p
            p = prepare_clients(m.clients, options=opts)
            self._prepared[key] = _Prepared(p, now)
            while len(self._prepared) > MAX_PREPARED:
                self._prepared.popitem(last=False)
            return p

    def warm(self) -> None:
        """Prepare the default module now: bad module options fail at start-up (exit 2)."""
        for m in self.modules.values():
            self.prepared(m, None)

    # -- one probe ---------------------------------------------------------------------

    def _run(
        self, m: Module, target: str, clients: tuple[str, ...], deadline: float
    ) -> tuple[EndpointReport | None, tuple[str, ...], tuple[str, str] | None, str | None]:
        """In a pool thread: resolve, check, prepare, diagnose.  Returns (report,
        clients, error, refusal) — a refusal means no socket was opened."""
        from ..api.endpoint import diagnose_endpoint, registry_for, resolve_target
        from ..model.target import format_hostport, parse_target

        t = parse_target(target, starttls=m.starttls)
        left = deadline - time.monotonic()
        if left <= 0:
            return None, clients, ("timeout", "network"), None
        try:
            addresses = resolve_target(t, timeout=left)
        except ConnectError as exc:
            names = clients or (m.clients or ())
            return None, names, (exc.code, "network"), None
        verdict = decide(self.allow, t.host, t.port, addresses)
        if not verdict.allowed:
            return None, clients, None, verdict.reason
        assert verdict.address is not None
        prep = self.prepared(m, registry_for(t, clients or m.clients, self._options(m)))
        names = clients or prep.names
        left = deadline - time.monotonic()
        if left <= 0:
            return None, names, ("timeout", "network"), None
        pinned = parse_target(
            target,
            starttls=m.starttls,
            connect_to=format_hostport(verdict.address, t.connect_port),
        )
        report = diagnose_endpoint(
            pinned, clients=clients or None, prepared=prep, proxy="", timeout=left, plan=False
        )
        return report, names, None, None

    async def handle(
        self, query: Mapping[str, Sequence[str]], headers: Mapping[str, str], accept: str | None
    ) -> tuple[int, bytes, str]:
        """The HTTP answer (status, body, content type) to one ``/probe`` request."""
        from ..clients import check_clients

        start = time.monotonic()
        targets = query.get("target") or []
        if len(targets) != 1 or not targets[0] or len(targets[0]) > 1024:
            return self._bad(400, "exactly one target= is required")
        name = (query.get("module") or ["default"])[-1]
        m = self.modules.get(name)
        if m is None:
            return self._bad(400, f"unknown module {name!r} (known: {', '.join(self.modules)})")
        try:
            clients = check_clients(query.get("client") or [])
            if m.clients is not None and not set(clients) <= set(m.clients):
                raise UsageError(f"module {m.name} judges {', '.join(m.clients)} only")
            from ..model.target import parse_target

            parse_target(targets[0], starttls=m.starttls)
        except UsageError as exc:
            return self._bad(400, exc.message)
        budget = m.timeout
        announced = headers.get("x-prometheus-scrape-timeout-seconds")
        if announced:
            with contextlib.suppress(ValueError):
                budget = min(budget, max(MIN_TIMEOUT, float(announced) - MARGIN))
        deadline = start + budget
        if self.stats.waiting >= self.max_pending:
            self.stats.refused["busy"] += 1
            return self._bad(503, "too many probes waiting; retry later")
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.max_concurrent)
        report: EndpointReport | None = None
        names: tuple[str, ...] = clients or (m.clients or ())
        error: tuple[str, str] | None = None
        self.stats.waiting += 1
        try:
            await asyncio.wait_for(self._slots.acquire(), timeout=budget)
        except TimeoutError:
            error = ("timeout", "network")
        finally:
            self.stats.waiting -= 1
        if error is None:
            self.stats.in_flight += 1
            try:
                loop = asyncio.get_running_loop()
                fut = loop.run_in_executor(self._pool, self._run, m, targets[0], clients, deadline)
                left = max(0.05, deadline - time.monotonic())
                report, names, error, refusal = await asyncio.wait_for(fut, timeout=left + 0.5)
            except TimeoutError:
                error = ("timeout", "network")
                refusal = None
            except TrustDoctorError as exc:
                self.stats.results["error"] += 1
                return self._bad(400 if exc.exit_code == 2 else 500, exc.message)
            finally:
                self.stats.in_flight -= 1
                self._slots.release()
            if refusal is not None:
                self.stats.refused[refusal] += 1
                return self._bad(403, f"target refused: {refusal}")
        fams = probe_families(report, clients=names, duration=time.monotonic() - start, error=error)
        ok = bool(fams[0].samples and fams[0].samples[0].value == 1)
        self.stats.results["success" if ok else "failure"] += 1
        from .expose import encode, registry_of

        body, ctype = encode(registry_of(lambda: fams), accept)
        return 200, body, ctype

    @staticmethod
    def _bad(status: int, message: str) -> tuple[int, bytes, str]:
        clean = "".join(c if c.isprintable() else "?" for c in message)[:500]
        return status, (clean + "\n").encode(), "text/plain; charset=utf-8"

    def own(self) -> list[Family]:
        """The prober's own counters, shown on ``/metrics``."""
        results = Family(
            PREFIX + "probes_total",
            "counter",
            "Probes answered, by result (success, failure, error).",
            ("result",),
        )
        for r in ("success", "failure", "error"):
            results.add(self.stats.results[r], result=r)
        refused = Family(
            PREFIX + "probes_refused_total",
            "counter",
            "Probes refused before any connection, by reason (not-allowed, denied-link-local, "
            "denied-metadata, busy...).",
            ("reason",),
        )
        for r, n in sorted(self.stats.refused.items()):
            refused.add(n, reason=r)
        flight = Family(PREFIX + "probes_in_flight", "gauge", "Probes running now.")
        flight.add(self.stats.in_flight)
        waiting = Family(PREFIX + "probes_waiting", "gauge", "Probes waiting for a slot.")
        waiting.add(self.stats.waiting)
        return [results, refused, flight, waiting]
