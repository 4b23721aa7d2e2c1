"""Shared helpers for the benchmarks: cold-start timing of whole commands."""

from __future__ import annotations

import statistics
import subprocess
import time
from collections.abc import Sequence


def time_command(argv: Sequence[str], runs: int = 15, warmup: int = 2, **kw: object) -> list[float]:
    """Wall-clock seconds of ``runs`` fresh processes (after ``warmup`` runs)."""
    for _ in range(warmup):
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kw)  # type: ignore[call-overload]
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kw)  # type: ignore[call-overload]
        out.append(time.perf_counter() - t0)
    return out


def summary(name: str, samples: Sequence[float]) -> str:
    med = statistics.median(samples) * 1000
    lo, hi = min(samples) * 1000, max(samples) * 1000
    return f"{name:<40} median {med:7.1f} ms   (min {lo:.1f}, max {hi:.1f}, n={len(samples)})"
