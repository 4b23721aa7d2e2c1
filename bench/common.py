"""Shared helpers for the benchmarks: cold-start timing of whole commands, a loopback server."""

from __future__ import annotations

import socket
import ssl
import statistics
import subprocess
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from trustdoctor.lab.pki import Hierarchy


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


def serve(ctx: ssl.SSLContext) -> tuple[socket.socket, int]:
    """A threaded loopback TLS server; returns the listening socket and port."""
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(128)

    def one(conn: socket.socket) -> None:
        conn.settimeout(10)
        try:
            with ctx.wrap_socket(conn, server_side=True) as tls:
                tls.recv(1)
        except (OSError, ssl.SSLError):
            pass
        finally:
            conn.close()

    def loop() -> None:
        while True:
            try:
                conn, _ = ls.accept()
            except OSError:
                return
            threading.Thread(target=one, args=(conn,), daemon=True).start()

    threading.Thread(target=loop, daemon=True).start()
    return ls, ls.getsockname()[1]


def serve_hierarchy(h: Hierarchy, d: Path, tls: str) -> tuple[socket.socket, int]:
    """Serve ``h``'s leaf + intermediate over TLS ``tls`` (``1.2``/``1.3``) on loopback.

    Writes ``chain.pem``, ``key.pem`` and ``root.pem`` into ``d``.
    """
    (d / "chain.pem").write_bytes(h.leaf.pem + h.intermediate.pem)
    (d / "key.pem").write_bytes(h.leaf.key_pem)
    (d / "root.pem").write_bytes(h.root.pem)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(d / "chain.pem"), str(d / "key.pem"))
    version = ssl.TLSVersion.TLSv1_3 if tls == "1.3" else ssl.TLSVersion.TLSv1_2
    ctx.minimum_version = ctx.maximum_version = version
    return serve(ctx)
