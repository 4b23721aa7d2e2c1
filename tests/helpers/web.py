"""``trustdoctor serve`` on loopback for the web tests (import it; not a conftest).

:func:`running` starts the real application under a real uvicorn server in a
thread on 127.0.0.1 and a free port, yields its base URL and the service, and
stops it.  :class:`Counting` is a plain TCP listener that counts the
connections it receives (the request-forgery tests assert it sees none).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

uvicorn = pytest.importorskip("uvicorn", reason="the web extra (uvicorn) is not installed")
pytest.importorskip("starlette", reason="the web extra (starlette) is not installed")
pytest.importorskip("jinja2", reason="the web extra (jinja2) is not installed")
pytest.importorskip("python_multipart", reason="the web extra (python-multipart) is not installed")

from trustdoctor.lab import pki  # noqa: E402
from trustdoctor.web.app import create_app  # noqa: E402
from trustdoctor.web.service import Service  # noqa: E402
from trustdoctor.web.settings import Settings  # noqa: E402

HOST = "registry.internal.example.com"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


@dataclass
class Running:
    url: str
    service: Service
    server: Any

    @property
    def stats(self) -> Any:
        return self.server.config.app.app.state.web.stats


def _free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def running(settings: Settings | None = None, *, resolve: Any = None) -> Iterator[Running]:
    """The application under uvicorn on 127.0.0.1, stopped at the end."""
    settings = settings or Settings()
    service = Service.start(settings)
    if resolve is not None:
        service.resolve = resolve
    port = _free_port()
    config = uvicorn.Config(
        create_app(settings, service=service),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        server_header=False,
        lifespan="off",
        limit_concurrency=settings.queue + settings.concurrency + 64,
        backlog=512,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield Running(f"http://127.0.0.1:{port}", service, server)
    finally:
        server.should_exit = True
        thread.join(10)


class Counting:
    """A TCP listener on ``host`` that counts connections (and closes them)."""

    def __init__(self, host: str) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, 0))
        self.sock.listen(16)
        self.sock.settimeout(0.1)
        self.port = int(self.sock.getsockname()[1])
        self.count = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            self.count += 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self.sock.close()

    def __enter__(self) -> Counting:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass
class Pki:
    """One hierarchy and the files the CLI reads for the same inputs."""

    h: pki.Hierarchy
    dir: Path

    def write(self, name: str, data: bytes) -> str:
        p = self.dir / name
        p.write_bytes(data)
        return str(p)


def make_pki(tmp_path: Path, **kw: Any) -> Pki:
    return Pki(pki.hierarchy(HOST, **kw), tmp_path)


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def chromium_or_skip() -> Any:
    """Playwright's sync API, or skip with the reason (no package, no Chromium)."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    return sync_api
