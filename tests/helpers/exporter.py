"""Helpers for the exporter tests: the exporter as a process, a real Prometheus, metrics parsing.

Everything listens on 127.0.0.1 with ports the kernel picks; the Prometheus
server runs from Debian's ``prometheus`` package with a configuration and a
data directory generated in a temporary directory (never /etc/prometheus),
no Alertmanager, no remote write, scraping only the exporter.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Sequence
from pathlib import Path

PROMETHEUS = shutil.which("prometheus")
PROMTOOL = shutil.which("promtool")
NODE_EXPORTER = shutil.which("prometheus-node-exporter") or shutil.which("node_exporter")
SRC = str(Path(__file__).resolve().parents[2] / "src")


def env(**extra: str) -> dict[str, str]:
    e = {k: v for k, v in os.environ.items() if not k.startswith(("SSL_CERT", "NODE_EXTRA"))}
    e["PYTHONPATH"] = SRC + os.pathsep + e.get("PYTHONPATH", "")
    e.update(extra)
    return e


def http(url: str, timeout: float = 10.0, headers: dict[str, str] | None = None) -> tuple[int, str]:
    """GET ``url`` (loopback only): status and body, whatever the status."""
    assert urllib.parse.urlsplit(url).hostname in ("127.0.0.1", "localhost", "::1")
    req = urllib.request.Request(url, headers=headers or {})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(req, timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


class Exporter:
    """``trustdoctor exporter`` as a child process on 127.0.0.1 (port chosen by the kernel)."""

    def __init__(self, args: Sequence[str], *, extra_env: dict[str, str] | None = None) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "trustdoctor", "exporter", "--listen", "127.0.0.1:0", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env(**(extra_env or {})),
            text=True,
        )
        assert self.proc.stderr is not None
        seen: list[str] = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = self.proc.stderr.readline()
            seen.append(line)
            if not line and self.proc.poll() is not None:
                raise RuntimeError(f"exporter exited {self.proc.returncode}: {''.join(seen)}")
            m = re.search(r"listening on http://127\.0\.0\.1:(\d+)/", line)
            if m:
                self.port = int(m.group(1))
                break
        else:
            self.close()
            raise RuntimeError("exporter did not start")

    def stderr(self) -> str:
        return self.proc.stderr.read() if self.proc.stderr else ""

    @property
    def hostport(self) -> str:
        return f"127.0.0.1:{self.port}"

    def get(self, path: str, **kw: object) -> tuple[int, str]:
        return http(f"http://{self.hostport}{path}", **kw)  # type: ignore[arg-type]

    def probe(self, target: str, **params: str) -> tuple[int, str]:
        q = urllib.parse.urlencode({"target": target, **params})
        return self.get(f"/probe?{q}")

    def rss_kib(self) -> int:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return 0

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self) -> Exporter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$")
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def samples(text: str, name: str) -> list[tuple[dict[str, str], float]]:
    """Every sample of metric ``name`` in an exposition: (labels, value)."""
    out = []
    for line in text.splitlines():
        m = _SAMPLE.match(line)
        if m and m.group(1) == name:
            labels = dict(_LABEL.findall(m.group(2) or ""))
            out.append((labels, float(m.group(3))))
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Prometheus:
    """Debian's Prometheus server on loopback with a generated configuration."""

    def __init__(self, workdir: Path, config: str, *, rules: Sequence[Path] = ()) -> None:
        assert PROMETHEUS is not None
        workdir.mkdir(parents=True, exist_ok=True)
        cfg = workdir / "prometheus.yml"
        rule_lines = "".join(f"  - {r}\n" for r in rules)
        cfg.write_text(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n"
            + (f"rule_files:\n{rule_lines}" if rules else "")
            + config
        )
        self.port = free_port()
        self.log = (workdir / "prometheus.log").open("w")
        self.proc = subprocess.Popen(
            [
                PROMETHEUS,
                f"--config.file={cfg}",
                f"--storage.tsdb.path={workdir / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--storage.tsdb.retention.time=1h",
                "--query.lookback-delta=5s",
                "--log.level=warn",
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            cwd=workdir,
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(workdir)},
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if http(f"http://127.0.0.1:{self.port}/-/ready", timeout=2)[0] == 200:
                    return
            except OSError:
                pass
            if self.proc.poll() is not None:
                break
            time.sleep(0.2)
        self.close()
        raise RuntimeError(f"prometheus did not start: {(workdir / 'prometheus.log').read_text()}")

    def query(self, promql: str) -> list[dict[str, object]]:
        q = urllib.parse.urlencode({"query": promql})
        status, body = http(f"http://127.0.0.1:{self.port}/api/v1/query?{q}")
        assert status == 200, body
        data = json.loads(body)
        assert data["status"] == "success", data
        return list(data["data"]["result"])

    def wait(self, promql: str, count: int, timeout: float = 30.0) -> list[dict[str, object]]:
        """Query until it returns at least ``count`` series."""
        deadline = time.monotonic() + timeout
        result: list[dict[str, object]] = []
        while time.monotonic() < deadline:
            result = self.query(promql)
            if len(result) >= count:
                return result
            time.sleep(0.5)
        raise AssertionError(f"{promql}: {len(result)} series, wanted {count}: {result}")

    def targets(self) -> list[dict[str, object]]:
        _, body = http(f"http://127.0.0.1:{self.port}/api/v1/targets")
        return list(json.loads(body)["data"]["activeTargets"])

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
