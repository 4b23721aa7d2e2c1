"""Benchmark: ``trustdoctor scan`` over a loopback fleet, next to sslyze, and its memory.

    python bench/scan_bench.py [--targets 2000] [--servers 20] [--sslyze-targets 200]
                               [--runs 3] [--venv DIR] [--no-sslyze] [--memory] [--json]

The fleet: ``--servers`` server *processes* on this machine (they share its
cores with the scanner), each serving one chain on ``targets / servers``
loopback ports, i.e. the nodes of one service.  The 20 chains mix shapes: 13
complete chains, 2 with the root sent along, and 5 with a server-side
problem (2 missing intermediates, an expired leaf, a leaf for another name,
a self-signed leaf), each for its own name ``svcNN.bench.test``.  None is
trusted by the host's stores (a private PKI): every client refuses every
target, with a plan each.  The target list gives every port with
``servername=svcNN.bench.test``.

Timed, in the same run, as fresh processes:

* ``trustdoctor scan TARGETS --format jsonl`` (and ``--format text``) with the
  clients found on this host (no ``--client``, no ``--trust``): the wall time
  of the whole command (start-up and reading every store included) and the
  scan's own rate (its summary's ``elapsed_s``);
* ``sslyze --quiet --certinfo --targets_in FILE`` on ``--sslyze-targets``
  of the targets spread over every server (``svcNN.bench.test:PORT{127.0.0.1}``:
  the same SNI name and address), reported per target; sslyze is installed
  with pip in its own virtual environment (``--venv``, default
  ``/tmp/sslyze-venv``).  The runs go in rounds (a jsonl scan, a text scan,
  sslyze), ``--runs`` of them, medians: the machine's speed drifts within
  minutes, so both sides of the ratio meet the same minutes.  The verdict
  is jsonl's; text's ratio is printed for reference;
* two floors, handshakes with nothing else (no analysis, no output): 32
  threads in one process, and one process per core each driving 16 at once
  from one thread (the scan's workers' design, sources/multiplex.py).

``--memory``: peak RSS of a process scanning 1,000 and then 100,000 targets
read from a generator (each a fresh process, through the API, the clients
found on this host): the fleet's ports under 50 names each (wildcard
leaves), the names varying from the first target on, so both runs meet more
distinct chains (name checked x chain) than the memo keeps.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import selectors
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from common import sslyze_command, trustdoctor_command  # noqa: E402

TARGET_RATE = 800.0
TARGET_RATIO = 15.0
TARGET_RSS = 1.20


# -- the server processes ----------------------------------------------------------------------


def serve(chain: str, key: str, count: int) -> None:
    """One fleet process: ``count`` ports serving ``chain``; prints the ports, then
    serves until stdin closes."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(chain, key)
    sel = selectors.DefaultSelector()
    ports = []
    for _ in range(count):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", 0))
        s.listen(256)
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ)
        ports.append(s.getsockname()[1])
    print(" ".join(map(str, ports)), flush=True)

    def one(conn: socket.socket) -> None:
        conn.setblocking(True)
        conn.settimeout(10)
        try:
            with ctx.wrap_socket(conn, server_side=True) as tls:
                tls.recv(1)  # until the client closes
        except (OSError, ssl.SSLError):
            pass
        finally:
            conn.close()

    def loop() -> None:
        while True:
            for k, _ in sel.select():
                try:
                    conn, _ = k.fileobj.accept()  # type: ignore[union-attr]
                except OSError:
                    continue
                threading.Thread(target=one, args=(conn,), daemon=True).start()

    threading.Thread(target=loop, daemon=True).start()
    sys.stdin.read()


def go_server(d: Path) -> str | None:
    """``fleet_server.go`` built into ``d`` (Go's crypto/tls: a server as cheap as
    real ones), or ``None`` without a Go toolchain (Python servers then)."""
    go = shutil.which("go")
    if go is None:
        return None
    exe = d / "fleet_server"
    env = {**os.environ, "CGO_ENABLED": "0", "GOFLAGS": "-mod=mod",
           "GOCACHE": str(d / "gocache"), "GOPATH": str(d / "gopath")}  # fmt: skip
    proc = subprocess.run(
        [go, "build", "-o", str(exe), str(HERE / "fleet_server.go")],
        capture_output=True, text=True, env=env, cwd=d,
    )  # fmt: skip
    return str(exe) if proc.returncode == 0 else None


def make_fleet(
    d: Path, servers: int, per: int, *, python: bool = False
) -> tuple[list[subprocess.Popen[str]], list[str], str]:
    """The chains, the server processes, the target lines and the server kind."""
    from trustdoctor.lab.pki import DAY, make_cert

    now = dt.datetime.now(dt.UTC)
    valid = {"not_before": now - DAY, "not_after": now + 200 * DAY}
    root = make_cert("Bench Fleet Root", **valid)
    inter = make_cert("Bench Fleet Issuing CA", issuer=root, **valid)
    # A fleet where a quarter of the services has a server-side problem.
    shapes = ["complete"] * 13 + ["root-sent"] * 2 + ["no-intermediate"] * 2
    shapes += ["expired", "wrong-name", "self-signed"]
    procs: list[subprocess.Popen[str]] = []
    lines: list[str] = []
    exe = None if python else go_server(d)
    for k in range(servers):
        name = f"svc{k:02d}.bench.test"
        shape = shapes[k % len(shapes)]
        dns = (name, f"*.{name}") if shape != "wrong-name" else ("elsewhere.bench.test",)
        kw = dict(valid)
        if shape == "expired":
            kw = {"not_before": now - 90 * DAY, "not_after": now - DAY}
        issuer = None if shape == "self-signed" else inter
        leaf = make_cert(name, issuer=issuer, ca=False, dns=dns, **kw)
        chain = [leaf]
        if shape in ("complete", "expired", "wrong-name", "root-sent"):
            chain.append(inter)
        if shape == "root-sent":
            chain.append(root)
        (d / f"{name}.pem").write_bytes(b"".join(c.pem for c in chain))
        (d / f"{name}.key").write_bytes(leaf.key_pem)
        files = [str(d / f"{name}.pem"), str(d / f"{name}.key"), str(per)]
        argv = [exe, *files] if exe else [sys.executable, __file__, "--serve", *files]
        p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        procs.append(p)
    for k, p in enumerate(procs):
        assert p.stdout is not None
        ports = p.stdout.readline().split()
        name = f"svc{k:02d}.bench.test"
        lines += [f"127.0.0.1:{port} servername={name}" for port in ports]
    return procs, lines, "Go crypto/tls" if exe else "Python ssl"


# -- measurements --------------------------------------------------------------------------------


def bench_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env["NO_COLOR"] = "1"
    # Byte code as an installed package has it (compiled once, then reused).
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.setdefault("PYTHONPYCACHEPREFIX", str(Path(tempfile.gettempdir()) / "td-bench-pyc"))
    return env


def cpu_of(pids: list[int]) -> float:
    """User + system CPU seconds of running processes (``/proc/PID/stat``)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / tick


def run_scan(
    targets: Path, fmt: str, env: dict[str, str], servers: list[int] | None = None
) -> dict[str, float]:
    import resource

    argv = [*trustdoctor_command(), "scan", str(targets), "--format", fmt]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    served = cpu_of(servers or [])
    t0 = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    served = cpu_of(servers or []) - served
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    if proc.returncode not in (0, 1):
        raise SystemExit(f"scan failed (exit {proc.returncode}): {proc.stderr[-2000:]}")
    if fmt == "jsonl":
        last = json.loads(proc.stdout.strip().splitlines()[-1])
    else:
        # The summary line: "Scanned N target(s) in S s (R/s): ..."
        last = {"elapsed_s": float("nan"), "scanned": float("nan"), "chains_judged": float("nan")}
        for line in proc.stdout.splitlines():
            if line.startswith("Scanned "):
                words = line.split()
                last["scanned"] = float(words[1].replace(",", ""))
                last["elapsed_s"] = float(words[4])
    n = float(last["scanned"])
    return {
        "targets": n,
        "wall_s": wall,
        "rate_wall": n / wall,
        "scan_s": float(last["elapsed_s"]),
        "rate_scan": n / float(last["elapsed_s"]),
        "chains_judged": float(last.get("chains_judged", float("nan"))),
        "stdout_bytes": float(len(proc.stdout)),
        "scanner_cpu_s": cpu,
        "servers_cpu_s": served,
    }


_BARE = r"""
import socket, ssl, sys, threading, time, resource
lines = [l.split() for l in open(sys.argv[1]).read().splitlines()]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
todo = list(lines)
lock = threading.Lock()
def work():
    while True:
        with lock:
            if not todo:
                return
            hostport, sn = todo.pop()
        host, port = hostport.rsplit(":", 1)
        with socket.create_connection((host, int(port)), timeout=10) as s:
            with ctx.wrap_socket(s, server_hostname=sn.split("=", 1)[1]) as t:
                t.getpeercert(binary_form=True)
t0 = time.perf_counter()
threads = [threading.Thread(target=work) for _ in range(32)]
[t.start() for t in threads]
[t.join() for t in threads]
wall = time.perf_counter() - t0
r = resource.getrusage(resource.RUSAGE_SELF)
print(len(lines) / wall, (r.ru_utime + r.ru_stime) / len(lines) * 1000)
"""


def run_bare(targets: Path, env: dict[str, str]) -> dict[str, float]:
    """The floor: bare handshakes (stdlib ssl, 32 threads, no analysis, no output)."""
    proc = subprocess.run(
        [sys.executable, "-c", _BARE, str(targets)], capture_output=True, text=True, env=env
    )
    if proc.returncode != 0:
        raise SystemExit(f"bare handshakes failed: {proc.stderr[-2000:]}")
    rate, cpu_ms = map(float, proc.stdout.split())
    return {"rate": rate, "cpu_ms_per_target": cpu_ms}


# The floor of the scan's own design: one process per core, each driving 16
# handshakes at once from one thread (memory BIOs, non-blocking sockets, a
# selector), as the scan's workers do (sources/multiplex.py); still no
# analysis and no output.
_BARE_MUX = r"""
import selectors, socket, ssl, sys
lines = [l.split() for l in open(sys.argv[1]).read().splitlines()]
part, parts = int(sys.argv[2]), int(sys.argv[3])
todo = iter(lines[part::parts])
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
sel = selectors.DefaultSelector()
def start():
    line = next(todo, None)
    if line is None:
        return False
    host, port = line[0].rsplit(":", 1)
    s = socket.socket()
    s.setblocking(False)
    s.connect_ex((host, int(port)))
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out, server_hostname=line[1].split("=", 1)[1])
    sel.register(s, selectors.EVENT_WRITE, (s, inc, out, obj))
    return True
def step(s, inc, out, obj):
    while True:
        try:
            obj.do_handshake()
        except ssl.SSLWantReadError:
            data = out.read()
            if data:
                s.send(data)
            try:
                got = s.recv(65536)
            except BlockingIOError:
                sel.modify(s, selectors.EVENT_READ, (s, inc, out, obj))
                return False
            if not got:
                raise SystemExit("closed")
            inc.write(got)
            continue
        data = out.read()
        if data:
            s.send(data)
        obj._sslobj.get_unverified_chain()
        sel.unregister(s)
        s.close()
        return True
active = sum(start() for _ in range(16))
while active:
    for key, _ in sel.select(10):
        if step(*key.data):
            active -= 1
            active += start()
"""


def run_bare_mux(targets: Path, env: dict[str, str]) -> dict[str, float]:
    """The floor of a multiplexed design: see _BARE_MUX."""
    import resource

    parts = os.cpu_count() or 1
    n = len(targets.read_text().splitlines())
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    procs = [
        subprocess.Popen([sys.executable, "-c", _BARE_MUX, str(targets), str(i), str(parts)],
                         env=env, stderr=subprocess.PIPE, text=True)
        for i in range(parts)
    ]  # fmt: skip
    for p in procs:
        _, err = p.communicate()
        if p.returncode != 0:
            raise SystemExit(f"bare multiplexed handshakes failed: {err[-2000:]}")
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return {"rate": n / wall, "cpu_ms_per_target": 1000 * cpu / n, "processes": float(parts)}


def run_sslyze(base: list[str], lines: list[str], d: Path, env: dict[str, str]) -> dict[str, float]:
    file = d / "sslyze-targets.txt"
    out = []
    for line in lines:
        hostport, _, col = line.partition(" servername=")
        port = hostport.rsplit(":", 1)[1]
        out.append(f"{col}:{port}{{127.0.0.1}}")
    file.write_text("\n".join(out) + "\n")
    argv = [*base, "--quiet", "--certinfo", "--targets_in", str(file)]
    t0 = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"sslyze failed (exit {proc.returncode}): {proc.stderr[-2000:]}")
    return {"targets": float(len(lines)), "wall_s": wall, "per_target_ms": 1000 * wall / len(lines)}


_MEMORY_CHILD = r"""
import resource, sys, json
from trustdoctor.api.scan import scan_endpoints
from trustdoctor.model.target import parse_target
lines = [l.split() for l in open(sys.argv[1]).read().splitlines()]
n = int(sys.argv[2])
def targets():
    # Target k: port k mod P under name n{j}, j = (k // P + k) mod 50: the
    # (port, name) pairs are all distinct up to 50 P targets, and names vary
    # from the first targets on (many distinct chains, as in a real fleet).
    for k in range(n):
        hostport, sn = lines[k % len(lines)]
        j = (k // len(lines) + k) % 50
        yield parse_target(hostport, servername=f"n{j}." + sn.split("=", 1)[1])
with scan_endpoints(targets(), concurrency=32, timeout=10) as s:
    count = sum(1 for _ in s)
summary = s.summary()
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"targets": count, "maxrss_kb": rss, "elapsed_s": summary.elapsed_s,
                  "chains_judged": summary.chains_judged}))
"""


def run_memory(targets: Path, n: int, env: dict[str, str]) -> dict[str, float]:
    proc = subprocess.run(
        [sys.executable, "-c", _MEMORY_CHILD, str(targets), str(n)],
        capture_output=True, text=True, env=env,
    )  # fmt: skip
    if proc.returncode != 0:
        raise SystemExit(f"memory run failed: {proc.stderr[-2000:]}")
    return json.loads(proc.stdout)  # type: ignore[no-any-return]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--serve", nargs=3, metavar=("CHAIN", "KEY", "N"), help=argparse.SUPPRESS)
    ap.add_argument("--targets", type=int, default=2000)
    ap.add_argument("--servers", type=int, default=20)
    ap.add_argument("--sslyze-targets", type=int, default=200)
    ap.add_argument("--venv", type=Path, default=Path("/tmp/sslyze-venv"))
    ap.add_argument("--no-sslyze", action="store_true")
    ap.add_argument("--memory", action="store_true", help="also measure RSS for 1,000 / 100,000")
    ap.add_argument("--runs", type=int, default=3, help="timed scan runs (median)")
    ap.add_argument("--python-servers", action="store_true", help="Python ssl servers, not Go")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    if a.serve:
        serve(a.serve[0], a.serve[1], int(a.serve[2]))
        return 0

    import statistics

    d = Path(tempfile.mkdtemp(prefix="td-bench-scan-"))
    env = bench_env()
    procs, lines, kind = make_fleet(d, a.servers, a.targets // a.servers, python=a.python_servers)
    figures: dict[str, object] = {"targets": len(lines), "servers": a.servers, "server": kind,
                                  "cpus": os.cpu_count()}  # fmt: skip
    try:
        targets = d / "targets.txt"
        targets.write_text("\n".join(lines) + "\n")
        warm = d / "warm.txt"
        warm.write_text("\n".join(lines[:50]) + "\n")
        run_scan(warm, "jsonl", env)  # byte code, page cache
        print(f"{len(lines)} loopback targets over {a.servers} server processes ({kind}; "
              f"{os.cpu_count()} cores shared by all); clients found on this host\n")  # fmt: skip
        # One round is a jsonl scan, a text scan and sslyze on its share of the
        # targets, one after the other: the machine's speed drifts within
        # minutes (docs/performance.md), so the ratio is taken from rounds
        # that met the same minutes, not from runs minutes apart.
        sy_base, sy_note = (None, "not run (--no-sslyze)")
        if not a.no_sslyze:
            sy_base, sy_note = sslyze_command(a.venv)
        n = min(a.sslyze_targets, len(lines))
        pick = lines[:: max(1, len(lines) // n)][:n]  # the same targets, spread over every server
        pids = [p.pid for p in procs]
        rounds: dict[str, list[dict[str, float]]] = {"jsonl": [], "text": [], "sslyze": []}
        for _ in range(a.runs):
            for fmt in ("jsonl", "text"):
                rounds[fmt].append(run_scan(targets, fmt, env, pids))
            if sy_base is not None:
                rounds["sslyze"].append(run_sslyze(sy_base, pick, d, env))
        for fmt in ("jsonl", "text"):
            runs = rounds[fmt]
            med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
            figures[f"scan_{fmt}"] = med
            print(
                f"trustdoctor scan --format {fmt:<5}  wall {med['wall_s']:6.2f} s "
                f"= {med['rate_wall']:6.0f} targets/s (scan itself {med['scan_s']:.2f} s "
                f"= {med['rate_scan']:.0f}/s; {a.runs} runs, median)\n"
                f"    CPU: scanner {med['scanner_cpu_s']:.2f} s "
                f"({1000 * med['scanner_cpu_s'] / med['targets']:.2f} ms/target), "
                f"the {a.servers} servers {med['servers_cpu_s']:.2f} s"
            )
        bare = run_bare(targets, env)
        figures["bare_handshakes"] = bare
        print(
            f"bare handshakes (stdlib ssl, 32 threads, nothing else): {bare['rate']:.0f}/s, "
            f"{bare['cpu_ms_per_target']:.2f} ms CPU each"
        )
        mux = run_bare_mux(targets, env)
        figures["bare_handshakes_multiplexed"] = mux
        print(
            f"bare handshakes, multiplexed ({mux['processes']:.0f} processes, 16 in flight "
            f"each, one thread, nothing else): {mux['rate']:.0f}/s, "
            f"{mux['cpu_ms_per_target']:.2f} ms CPU each: the floor of the scan's design"
        )
        ours = figures["scan_jsonl"]
        assert isinstance(ours, dict)
        met = ours["rate_wall"] >= TARGET_RATE
        verdict = "met" if met else "MISSED"
        print(f"  target >= {TARGET_RATE:.0f} targets/s (whole command): {verdict}")
        if sy_base is None:
            print(f"sslyze: {sy_note}")
        else:
            sy = {k: statistics.median(r[k] for r in rounds["sslyze"]) for k in rounds["sslyze"][0]}
            figures["sslyze"] = sy
            print(
                f"sslyze --certinfo ({n} of the targets)  wall {sy['wall_s']:6.2f} s "
                f"= {sy['per_target_ms']:.1f} ms/target ({a.runs} runs in the same rounds, "
                f"median; {sy_note})"
            )
            # The verdict is jsonl's (a line of JSON per target: the heavier
            # output; sslyze --quiet prints nothing); text's is shown too.  The
            # ratio is each round's (the two sides of one round met the same
            # minutes), the median of the rounds' ratios; the ratio of the
            # medians is printed too.
            for fmt in ("jsonl", "text"):
                mine = figures[f"scan_{fmt}"]
                assert isinstance(mine, dict)
                per_ours = 1000 * mine["wall_s"] / mine["targets"]
                of_medians = sy["per_target_ms"] / per_ours
                paired = [
                    y["per_target_ms"] / (1000 * o["wall_s"] / o["targets"])
                    for o, y in zip(rounds[fmt], rounds["sslyze"], strict=True)
                ]
                ratio = statistics.median(paired)
                figures[f"speedup_vs_sslyze_{fmt}"] = ratio
                figures[f"speedup_vs_sslyze_{fmt}_rounds"] = paired
                verdict = ("met" if ratio >= TARGET_RATIO else "MISSED") if fmt == "jsonl" else (
                    "(for reference)")  # fmt: skip
                each = ", ".join(f"{r:.1f}" for r in paired)
                print(
                    f"  trustdoctor --format {fmt:<5} {per_ours:.2f} ms/target: {ratio:.1f}x "
                    f"faster, the median of the rounds' {each} (ratio of the medians "
                    f"{of_medians:.1f}x; target >= {TARGET_RATIO:.0f}x): {verdict}"
                )
            figures["speedup_vs_sslyze"] = figures["speedup_vs_sslyze_jsonl"]
        if a.memory:
            small = run_memory(targets, 1000, env)
            big = run_memory(targets, 100_000, env)
            figures["memory"] = {"1000": small, "100000": big}
            r = big["maxrss_kb"] / small["maxrss_kb"]
            print(
                f"memory: peak RSS {small['maxrss_kb'] / 1024:.1f} MB for {small['targets']:,} "
                f"targets, {big['maxrss_kb'] / 1024:.1f} MB for {big['targets']:,} "
                f"({big['elapsed_s']:.0f} s, {big['chains_judged']} chains judged): "
                f"x{r:.2f} (target <= x{TARGET_RSS:.2f}): {'met' if r <= TARGET_RSS else 'MISSED'}"
            )
        print("\ncommands:")
        print(f"  {' '.join(trustdoctor_command())} scan TARGETS --format jsonl|text")
        print("  sslyze --quiet --certinfo --targets_in FILE  (svcNN.bench.test:PORT{127.0.0.1})")
        if a.json:
            print(json.dumps(figures, indent=2))
    finally:
        for p in procs:
            if p.stdin is not None:
                p.stdin.close()
            p.terminate()
        for p in procs:
            p.wait(5)
        shutil.rmtree(d, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
