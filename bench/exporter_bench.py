"""The exporter's budgets (issue 12), side by side with what they sit on.

    python bench/exporter_bench.py [--scrapes 50] [--probes 10000] [--rate 200]

* /metrics of an unchanged node (this machine's own root, one expected CA):
  client-side latency, next to a bare HTTP round trip to the same listener
  (/healthz); target ≤ 20 ms median.
* /metrics after a store change (a temporary Debian root whose bundle is
  rewritten before each scrape); target ≤ 300 ms median.
* /probe of a loopback TLS server, next to a bare TLS handshake with Python's
  ssl module to the same server; target ≤ 15 ms median above the handshake.
* sustained probes at --rate per second for --probes probes (16 client
  threads): achieved rate, failures, RSS after 1,000 and after all (target:
  within 10%).
"""

from __future__ import annotations

import argparse
import socket
import ssl
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.helpers import netlab
from tests.helpers.exporter import Exporter, free_port, samples
from tests.helpers.stores import FAR_FUTURE, FAR_PAST, Root, ca, debian

from trustdoctor.lab import pki


def med(xs: list[float]) -> str:
    p90 = sorted(xs)[int(len(xs) * 0.9)] * 1000
    return f"median {statistics.median(xs) * 1000:7.2f} ms  (p90 {p90:.2f}, n={len(xs)})"


def timed(fn, n: int) -> list[float]:  # type: ignore[no-untyped-def]
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scrapes", type=int, default=50)
    ap.add_argument("--probes", type=int, default=10000)
    ap.add_argument("--rate", type=float, default=200)
    ap.add_argument("--workers", type=int, default=2)
    a = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="td-bench-"))
    R = ca("Bench Root")
    inter = pki.make_cert("Bench Issuing", issuer=R, not_before=FAR_PAST, not_after=FAR_FUTURE)
    leaf = pki.make_cert("127.0.0.1", issuer=inter, ca=False, ips=("127.0.0.1",),
                         not_before=FAR_PAST, not_after=FAR_FUTURE)  # fmt: skip
    (tmp / "r.pem").write_bytes(R.pem)

    # 1. unchanged node: this machine's own root.
    with Exporter(["--ca", str(tmp / "r.pem")]) as exp:
        exp.get("/metrics")
        bare = timed(lambda: exp.get("/healthz"), a.scrapes)
        scr = timed(lambda: exp.get("/metrics"), a.scrapes)
        body = exp.get("/metrics")[1]
        own = samples(body, "trustdoctor_scrape_duration_seconds")[0][1]
        print(f"{'GET /healthz (HTTP round trip)':<44} {med(bare)}")
        print(f"{'GET /metrics, unchanged node (this host)':<44} {med(scr)}")
        print(f"{'  of which store work (self-reported)':<44} {own * 1000:7.2f} ms (last scrape)")

    # 2. after a store change: a Debian root whose bundle changes before each scrape.
    root = Root(tmp / "root")
    extra = [ca(f"Bench Extra {i}") for i in range(a.scrapes + 1)]
    debian(root, [R])
    bundle = root.p("/etc/ssl/certs/ca-certificates.crt")
    with Exporter(["--root", str(root.path), "--ca", str(tmp / "r.pem")]) as exp:
        exp.get("/metrics")
        changed = []
        for i in range(a.scrapes):
            bundle.write_bytes(R.pem + extra[i].pem)
            t0 = time.perf_counter()
            exp.get("/metrics")
            changed.append(time.perf_counter() - t0)
        same = timed(lambda: exp.get("/metrics"), a.scrapes)
        print(f"{'GET /metrics, after a store change':<44} {med(changed)}")
        print(f"{'GET /metrics, same root unchanged':<44} {med(same)}")

    # 3. /probe vs a bare handshake, and 4. sustained probes.
    files = netlab.Files()
    cfg = tmp / "modules.toml"
    cfg.write_text(f'[modules.default]\nclients = ["go", "openssl"]\ntrust = ["{tmp / "r.pem"}"]\n')
    with (
        netlab.Server(netlab.tls_handler(netlab.server_context(files, [leaf, inter]))) as srv,
        Exporter(["--allow-target", "127.0.0.1", "--config", str(cfg), "--client", "go",
                  "--max-connections", "4096", "--max-pending-probes", "4096",
                  "--workers", str(a.workers)]) as exp,  # fmt: skip
    ):
        port = int(srv.hostport.rsplit(":", 1)[1])
        ctx = ssl.create_default_context(cafile=str(tmp / "r.pem"))

        def handshake() -> None:
            with socket.create_connection(("127.0.0.1", port)) as s, ctx.wrap_socket(
                s, server_hostname="127.0.0.1"
            ):
                pass

        for _ in range(20):
            handshake()
            exp.probe(srv.hostport)
        hs = timed(handshake, a.scrapes * 2)
        pr = timed(lambda: exp.probe(srv.hostport), a.scrapes * 2)
        print(f"{'TLS handshake (Python ssl, verified)':<44} {med(hs)}")
        print(f"{'GET /probe (loopback target)':<44} {med(pr)}")
        print(f"{'  /probe above the handshake':<44} "
              f"{(statistics.median(pr) - statistics.median(hs)) * 1000:7.2f} ms")  # fmt: skip

        # The sustained run: the TLS server is openssl s_server (C, so the load
        # generator and the server take little of the two cores from the exporter).
        import http.client
        import shutil
        import subprocess

        cert, key = files.chain([leaf, inter])
        sport = free_port()
        server = subprocess.Popen(
            [shutil.which("openssl") or "openssl", "s_server", "-quiet", "-accept",
             f"127.0.0.1:{sport}", "-cert", cert, "-cert_chain", cert, "-key", key],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        time.sleep(0.5)
        target = f"127.0.0.1:{sport}"
        path = f"/probe?target={target}"

        def probe_fast() -> tuple[int, str]:
            c = http.client.HTTPConnection("127.0.0.1", exp.port, timeout=30)
            try:
                c.request("GET", path)
                r = c.getresponse()
                return r.status, r.read().decode()
            finally:
                c.close()

        done = [0]
        fails = [0]
        rss: dict[int, int] = {}
        lock = threading.Lock()
        interval = 1.0 / a.rate
        start = time.perf_counter()

        def one(i: int) -> None:
            delay = start + i * interval - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            status, body = probe_fast()
            ok = status == 200 and samples(body, "trustdoctor_probe_success") == [({}, 1.0)]
            with lock:
                done[0] += 1
                fails[0] += 0 if ok else 1
                if done[0] in (1000, a.probes):
                    rss[done[0]] = exp.rss_kib()

        with ThreadPoolExecutor(max_workers=16) as pool:
            list(pool.map(one, range(a.probes)))
        took = time.perf_counter() - start
        print(f"{'sustained probes':<44} {a.probes} in {took:.1f} s = {a.probes / took:.0f}/s "
              f"(asked {a.rate:.0f}/s), {fails[0]} failed")  # fmt: skip
        r1, rn = rss.get(1000, 0), rss.get(a.probes, 0)
        print(f"{'RSS after 1,000 / after all':<44} {r1 / 1024:.1f} MiB / {rn / 1024:.1f} MiB "
              f"({(rn - r1) / max(r1, 1) * 100:+.1f}%)")  # fmt: skip
        server.terminate()
        server.wait()
    files.cleanup()


if __name__ == "__main__":
    main()
