"""``/metrics``: this node's trust stores, inspected through the API and cached.

Each *question* — the node's clients, the container daemons for each
``--registry``, each running service that caches its roots — is one
``api.inspect_stores`` call with the expected CAs.  Its answer is kept with
the store signature (``api.store_signature``) of everything it read; a
scrape recomputes only the questions whose signature changed, so an
unchanged node costs a few ``stat`` calls.

A store rewritten *while* it is inspected must not leave a stale answer in
the cache: the signature is taken before and after the inspection over the
paths known so far, and the inspection is repeated until both agree and the
new answer reads no path outside them (normally once; twice at start-up).
An answer that never settles is served but not cached.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from .. import __version__
from ..clients import CLIENTS
from ..model.record import field, mutable_record, record, replace
from ..render.prometheus import PREFIX, Family, Where, node_families

if TYPE_CHECKING:
    from ..api.context import TrustOptions
    from ..api.stores import StoresAnswer
    from ..model.stores import ClientStore

MAX_SETTLE = 4  # inspections per question per scrape while the store keeps changing


@record
class Question:
    """One trust-store question the node watch answers on each scrape."""

    key: str
    where: Where
    options: TrustOptions
    clients: tuple[str, ...] | None


@mutable_record
class Entry:
    """The last answer to a Question and what to watch to know it still holds."""

    answer: StoresAnswer
    watch: list[ClientStore]
    signature: str | None  # None: not settled, recompute next time
    at: dt.datetime


@mutable_record
class Stats:
    """The node watch's own counters, exported as metrics."""

    inspections: int = 0
    errors: int = 0
    last_duration: float = 0.0
    last_error: str = ""
    unsettled: int = 0
    scrape_duration: float = 0.0
    cached: dict[str, bool] = field(default_factory=dict)


class NodeWatch:
    """The cached answers for one node; :meth:`families` is what a scrape shows."""

    def __init__(
        self,
        options: TrustOptions,
        *,
        clients: Sequence[str] = (),
        cas: Sequence[str] = (),
        fingerprints: Sequence[str] = (),
        registries: Sequence[str] = (),
        pids: Sequence[int] = (),
        scan_processes: bool = False,
        max_processes: int = 32,
    ) -> None:
        self.options = options
        self.clients = tuple(clients) or None
        self.cas = tuple(cas)
        self.fingerprints = tuple(fingerprints)
        self.registries = tuple(registries)
        self.pids = tuple(pids)
        self.scan_processes = scan_processes
        self.max_processes = max_processes
        self.stats = Stats()
        self._cache: dict[str, Entry] = {}
        self._lock = threading.Lock()
        self._go_cache: dict[tuple[int, int], bool] = {}

    # -- the questions -------------------------------------------------------------------

    def _node(self) -> Question:
        return Question("node", Where(), self.options, self.clients)

    def _registry_questions(self, node: StoresAnswer | None) -> list[Question]:
        if node is None or not self.registries:
            return []
        daemons = tuple(s.client for s in node.report.stores if CLIENTS[s.client].registry_store)
        if not daemons:
            return []
        return [
            Question(f"registry {r}", Where(registry=r), replace(self.options, registry=r), daemons)
            for r in self.registries
        ]

    def _process_questions(self) -> list[Question]:
        from ..api.context import TrustOptions

        out: list[Question] = []
        seen: set[int] = set()
        for pid in self.pids:
            seen.add(pid)
            try:
                with open(f"/proc/{pid}/comm", "rb") as fh:
                    name = fh.read(64).decode("utf-8", "replace").strip()
            except OSError:
                name = ""  # gone: the question's own error says so
            out.append(
                Question(
                    f"pid {pid}", Where(process=name, pid=str(pid)), TrustOptions(pid=pid), None
                )
            )
        if self.scan_processes:
            from ..sources.process import list_services

            rules = [
                (row.process, name)
                for name, row in CLIENTS.items()
                if row.process and row.caches_store and row.store
            ]
            daemons = {row.daemon: name for name, row in CLIENTS.items() if row.daemon}
            for svc in list_services(
                rules,
                daemons,
                limit=self.max_processes,
                exclude=frozenset({os.getpid(), *seen}),
                go_cache=self._go_cache,
            ):
                out.append(
                    Question(
                        f"pid {svc.pid}",
                        Where(process=svc.name, pid=str(svc.pid)),
                        TrustOptions(pid=svc.pid),
                        (svc.client,),
                    )
                )
        return out

    # -- answers -------------------------------------------------------------------------

    def _inspect(self, q: Question) -> StoresAnswer:
        from ..api.stores import inspect_stores

        return inspect_stores(
            q.clients, options=q.options, ca=self.cas or None, fingerprint=self.fingerprints or None
        )

    def _fresh(self, q: Question) -> tuple[StoresAnswer, bool]:
        """The answer to ``q``: cached when its signature still holds; (answer, cached)."""
        from ..api.stores import store_signature

        entry = self._cache.get(q.key)
        if (
            entry is not None
            and entry.signature is not None
            and store_signature(q.options, entry.watch) == entry.signature
        ):
            return entry.answer, True
        watch: list[ClientStore] = list(entry.watch) if entry is not None else []
        answer: StoresAnswer | None = None
        settled: str | None = None
        t0 = time.perf_counter()
        for _ in range(MAX_SETTLE):
            before = store_signature(q.options, watch)
            answer = self._inspect(q)
            after = store_signature(q.options, watch)
            wider = [*watch, *answer.report.stores]
            if before == after and store_signature(q.options, wider) == after:
                # Nothing read changed during the inspection, and it read no
                # path outside those watched.  Keep only the answer's own paths.
                mine = list(answer.report.stores)
                final = store_signature(q.options, mine)
                if store_signature(q.options, wider) == after:
                    settled, watch = final, mine
                    break
            watch = list(answer.report.stores)
        assert answer is not None
        self.stats.inspections += 1
        self.stats.last_duration = time.perf_counter() - t0
        if settled is None:
            self.stats.unsettled += 1
        self._cache[q.key] = Entry(answer, watch, settled, dt.datetime.now(dt.UTC))
        return answer, False

    def answers(self) -> list[tuple[Where, StoresAnswer, dt.datetime]]:
        """Every question's answer, fresh or cached (one scrape at a time does the work)."""
        from ..errors import TrustDoctorError

        with self._lock:
            out: list[tuple[Where, StoresAnswer, dt.datetime]] = []
            node, cached = self._fresh(self._node())
            self.stats.cached = {"node": cached}
            out.append((Where(), node, self._cache["node"].at))
            questions = self._registry_questions(node) + self._process_questions()
            keep = {"node"}
            for q in questions:
                keep.add(q.key)
                try:
                    ans, cached = self._fresh(q)
                except TrustDoctorError as exc:
                    # A process that exited or may not be read, a registry name
                    # the models refuse: that question is left out, counted.
                    self.stats.errors += 1
                    self.stats.last_error = type(exc).__name__
                    self._cache.pop(q.key, None)
                    continue
                self.stats.cached[q.key] = cached
                out.append((q.where, ans, self._cache[q.key].at))
            for k in list(self._cache):
                if k not in keep:
                    del self._cache[k]  # processes that exited
            return out

    def families(self) -> list[Family]:
        """The node families (``render.prometheus.node_families``) and the exporter's own."""
        t0 = time.perf_counter()
        answers = self.answers()
        at = min(a for _, _, a in answers)
        fams = node_families(
            [(w, a) for w, a, _ in answers],
            at=at,
            version=__version__,
            python=".".join(map(str, sys.version_info[:3])),
        )
        self.stats.scrape_duration = time.perf_counter() - t0
        return fams + self.own()

    def own(self) -> list[Family]:
        s = self.stats
        rows: list[tuple[str, str, str, float]] = [
            ("inspections_total", "counter",
             "Store inspections run (a scrape of an unchanged node runs none).", s.inspections),
            ("inspection_errors_total", "counter",
             "Questions left out of a scrape (a process gone or unreadable).", s.errors),
            ("inspection_unsettled_total", "counter",
             "Inspections whose stores kept changing while read (answer served, not cached).",
             s.unsettled),
            ("inspection_duration_seconds", "gauge",
             "How long the last store inspection took, in seconds.", s.last_duration),
            ("scrape_duration_seconds", "gauge",
             "How long this scrape's store work took (signatures, cached or fresh answers).",
             s.scrape_duration),
            ("scrape_cached", "gauge",
             "1 when the node's answer came from the cache in this scrape.",
             1 if s.cached.get("node") else 0),
        ]  # fmt: skip
        out = []
        for name, kind, help_text, value in rows:
            fam = Family(PREFIX + name, kind, help_text)
            fam.add(value)
            out.append(fam)
        return out
