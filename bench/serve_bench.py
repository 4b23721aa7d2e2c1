"""Benchmark: ``trustdoctor serve``, paste-a-chain (3 certificates, the form post
and the JSON API), the page weight, and latency under concurrent clients.

    PYTHONPATH=src python3 bench/serve_bench.py [--requests N] [--workers W]

Targets (issue 14): ≤ 30 ms median server time, ≤ 100 ms p95 under 50
concurrent clients on 2 cores; page weight ≤ 100 KB without images.

"Server time" is what the server reports in its ``Server-Timing`` header as
``app``: from the request reaching the application to its answer, minus
the time spent waiting for an analysis slot (``wait``, reported apart).
Client-observed latency (the socket, HTTP, the queue) is reported beside it
for three shapes: one request at a time on an idle server, 50 clients each
pasting once a second (50 requests/s, open loop), and 50 clients pasting
back to back (closed loop: the throughput limit).

The server runs as ``trustdoctor serve`` in its own process(es)
(``--workers``), the clients in this one.  Every chain request pastes a
chain never seen before (a fresh hierarchy each time): the engine remembers
signature checks, and the same chain again would be cheaper than an
incident's first paste.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from trustdoctor.lab.pki import hierarchy  # noqa: E402

HOST = "registry.internal.example.com"


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pct(samples: list[float], q: float) -> float:
    s = sorted(samples)
    return s[min(len(s) - 1, int(q * len(s)))]


def app_time(r: httpx.Response) -> float:
    """The ``app`` duration of the Server-Timing header, in seconds."""
    for part in r.headers["server-timing"].split(","):
        name, _, dur = part.strip().partition(";dur=")
        if name == "app":
            return float(dur) / 1000
    raise ValueError(r.headers["server-timing"])


def fmt(name: str, samples: list[float]) -> str:
    ms = [x * 1000 for x in samples]
    return (f"{name:<46} median {statistics.median(ms):6.1f} ms  p95 {pct(ms, .95):6.1f} ms  "
            f"max {max(ms):6.1f} ms  (n={len(ms)})")  # fmt: skip


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=300)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    h = hierarchy(HOST)
    chain = (h.fullchain_pem + h.root.pem).decode()  # 3 certificates, as pasted from s_client
    total = 3 * (args.requests + 20) + 400 + 500 + 10
    fresh = [hierarchy(HOST) for _ in range(total)]
    chains = iter([(x.fullchain_pem + x.root.pem).decode() for x in fresh])
    leaves = iter([x.leaf.pem.decode() for x in fresh])
    port = _port()
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "trustdoctor", "serve", "--listen", f"127.0.0.1:{port}",
         "--workers", str(args.workers)],
        env=env, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                httpx.get(url + "/healthz", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        print(f"trustdoctor serve --workers {args.workers}, {os.cpu_count()} cores; "
              "7 client models, Mozilla's roots")  # fmt: skip
        # Page weight: the page after a paste, its stylesheet and its script.
        with httpx.Client(timeout=30) as c:
            page = c.post(url + "/", files={"chain": (None, chain), "host": (None, HOST)})
            css, js = c.get(url + "/static/style.css"), c.get(url + "/static/app.js")
            empty = c.get(url + "/")
            print(f"page weight: empty form {len(empty.content) / 1024:.1f} KiB, answer page "
                  f"{len(page.content) / 1024:.1f} KiB, css {len(css.content) / 1024:.1f} KiB, js "
                  f"{len(js.content) / 1024:.1f} KiB; total with the answer "
                  f"{(len(page.content) + len(css.content) + len(js.content)) / 1024:.1f} KiB "
                  "(icon 0.4 KiB; no fonts, no third-party assets)")  # fmt: skip

        # Server time: one request at a time on an idle server.
        def serial(name: str, path: str, make: Any) -> None:
            client, server = [], []
            with httpx.Client(timeout=30) as c:
                for _ in range(20):
                    c.post(url + path, **make())
                for _ in range(args.requests):
                    kw = make()
                    t = time.perf_counter()
                    r = c.post(url + path, **kw)
                    client.append(time.perf_counter() - t)
                    server.append(app_time(r))
                    assert r.status_code == 200, r.text[:200]
            print(fmt(f"{name}: server time", server))
            print(fmt(f"{name}: at the client", client))

        serial("API, 3 certs, idle", "/api/chain",
               lambda: {"json": {"chain": next(chains), "host": HOST}})
        serial("form, 3 certs, idle", "/",
               lambda: {"files": {"chain": (None, next(chains)), "host": (None, HOST)}})
        serial("API, leaf only, idle", "/api/chain",
               lambda: {"json": {"chain": next(leaves), "host": HOST}})
        serial("explain, one Go line, idle", "/api/explain",
               lambda: {"json": {"text": "x509: certificate signed by unknown authority"}})

        # The load generator shares the two cores with the server: plain
        # http.client keep-alive connections, the request body prepared once.
        lock = threading.Lock()

        def post(conn: http.client.HTTPConnection) -> tuple[int, float, float]:
            with lock:
                body = json.dumps({"chain": next(chains), "host": HOST}).encode()
            t = time.perf_counter()
            conn.request("POST", "/api/chain", body, {"content-type": "application/json"})
            r = conn.getresponse()
            r.read()
            d = time.perf_counter() - t
            timing = r.getheader("server-timing") or ""
            app = next(float(p.split(";dur=")[1]) / 1000 for p in timing.split(", ")
                       if p.startswith("app;"))  # fmt: skip
            return r.status, d, app

        # 50 clients, each pasting once a second (open loop), for 8 seconds.
        lat: list[float] = []
        app: list[float] = []
        errors = [0]

        def user(i: int) -> None:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            time.sleep(i / 50)  # spread the starts over the first second
            nxt = time.perf_counter()
            for _ in range(8):
                status, d, a = post(conn)
                with lock:
                    lat.append(d)
                    app.append(a)
                    errors[0] += status != 200
                nxt += 1.0
                time.sleep(max(0.0, nxt - time.perf_counter()))
            conn.close()

        with concurrent.futures.ThreadPoolExecutor(50) as pool:
            list(pool.map(user, range(50)))
        print(fmt("50 clients × 1 paste/s: server time", app))
        print(fmt("50 clients × 1 paste/s: at the client", lat) + f"  errors {errors[0]}")

        # 50 clients back to back (closed loop).
        lat2: list[float] = []
        app2: list[float] = []
        errors2 = [0]

        def busy(_: int) -> None:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            for _ in range(10):
                status, d, a = post(conn)
                with lock:
                    lat2.append(d)
                    app2.append(a)
                    errors2[0] += status != 200
            conn.close()

        t0 = time.perf_counter()
        with concurrent.futures.ThreadPoolExecutor(50) as pool:
            list(pool.map(busy, range(50)))
        wall = time.perf_counter() - t0
        print(fmt("50 clients back to back: server time", app2))
        print(fmt("50 clients back to back: at the client", lat2)
              + f"  {len(lat2) / wall:.0f} req/s, errors {errors2[0]}")  # fmt: skip
    finally:
        proc.terminate()
        proc.wait(20)
    return 0


if __name__ == "__main__":
    sys.exit(main())
