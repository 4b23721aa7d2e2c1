"""Metric families (``render.prometheus``) to bytes, through prometheus-client.

prometheus-client is imported here and only here (70 ms of imports): the
exporter and ``stores --format prometheus`` load it, no other command does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from ..render.prometheus import Family


class FamiliesCollector:
    """A prometheus-client collector yielding the families a function returns."""

    def __init__(self, families: Callable[[], Iterable[Family]]) -> None:
        self._families = families

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        for f in self._families():
            if f.kind == "counter":
                m: Any = CounterMetricFamily(f.name.removesuffix("_total"), f.help,
                                             labels=list(f.label_names))  # fmt: skip
            else:
                m = GaugeMetricFamily(f.name, f.help, labels=list(f.label_names))
            for s in f.samples:
                m.add_metric([v for _, v in s.labels], s.value)
            yield m

    def describe(self) -> list[Any]:
        return []  # unchecked collector: its families change with the node


def registry_of(*families: Callable[[], Iterable[Family]], process: bool = False) -> Any:
    """A fresh registry with these family sources (and the process/platform
    collectors when ``process``)."""
    from prometheus_client import CollectorRegistry
    from prometheus_client import platform_collector as pc
    from prometheus_client import process_collector as proc

    reg = CollectorRegistry(auto_describe=False)
    for fn in families:
        reg.register(FamiliesCollector(fn))
    if process:
        proc.ProcessCollector(registry=reg)
        pc.PlatformCollector(registry=reg)
    return reg


def encode(registry: Any, accept: str | None = None) -> tuple[bytes, str]:
    """The exposition of ``registry`` in the format ``accept`` asks for (text 0.0.4
    by default, OpenMetrics when the scraper asks for it)."""
    from prometheus_client.exposition import choose_encoder

    encoder, content_type = choose_encoder(accept or "")
    return encoder(registry), content_type


def text(families: Iterable[Family]) -> bytes:
    """The text format 0.0.4 of ``families`` (node_exporter's textfile collector)."""
    from prometheus_client import generate_latest

    fams = list(families)
    return bytes(generate_latest(registry_of(lambda: fams)))
