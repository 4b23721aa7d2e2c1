"""Shared helpers for the benchmarks: cold-start timing of whole commands, a loopback server."""

from __future__ import annotations

import os
import socket
import ssl
import statistics
import subprocess
import sys
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


def trustdoctor_command() -> list[str]:
    """The console script next to this interpreter (a pyenv shim's bash wrapper
    would add its own start-up), else ``python -m trustdoctor``."""
    script = Path(sys.executable).parent / "trustdoctor"
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    return [sys.executable, "-m", "trustdoctor"]


def sslyze_command(venv_dir: Path) -> tuple[list[str] | None, str]:
    """The sslyze executable in its own venv, installing it if needed."""
    exe = venv_dir / "bin" / "sslyze"
    if exe.is_file():
        return [str(exe)], f"reused {venv_dir}"
    import venv

    try:
        venv.EnvBuilder(with_pip=True, clear=True).create(venv_dir)
    except (OSError, subprocess.CalledProcessError) as exc:
        return None, f"could not create a virtual environment in {venv_dir}: {exc}"
    pip = [str(venv_dir / "bin" / "python"), "-m", "pip", "install", "--quiet", "sslyze"]
    proc = subprocess.run(pip, capture_output=True, text=True, timeout=900)
    if proc.returncode != 0 or not exe.is_file():
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return None, f"pip could not install sslyze ({' '.join(pip)}): {last}"
    return [str(exe)], f"installed into {venv_dir}"
