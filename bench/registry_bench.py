"""Benchmark ``trustdoctor stores --image REF`` against a real registry, next to ``skopeo copy``.

A 5-layer Debian-like image of ~100 MB (random, incompressible filler in four
layers; the Debian trust store, a corporate root among its anchors, in the
base layer) is pushed to Debian's ``docker-registry`` on loopback (TLS from a
generated CA, htpasswd login).  Every client then talks to the registry
through a counting TCP relay, so bytes on the wire are measured the same way
for both tools:

* ``trustdoctor stores --image 127.0.0.1:RELAY/bench/debian:1 --ca corp.pem
  --format json``, cold (an empty layer cache each run) and warm (the cache
  kept from the previous run);
* the same with the cache off (``XDG_CACHE_HOME`` on a directory that cannot
  be created), i.e. nothing written but the trust files;
* ``skopeo copy docker://127.0.0.1:RELAY/bench/debian:1 oci:DIR`` (the whole
  image, to an OCI layout directory; a fresh DIR each run).

Reported per command: median wall time, bytes received from the registry
(relay), and bytes left on disk (the cache directory or the OCI directory).

    python bench/registry_bench.py [--runs 5] [--size-mb 100]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
sys.path[:0] = [str(ROOT / "tests"), str(SRC)]

from helpers.images import build_image, layer_from_dir  # noqa: E402
from helpers.registry import REGISTRY_BIN, SKOPEO, Registry  # noqa: E402
from helpers.stores import Root, ca, debian  # noqa: E402


class Relay:
    """127.0.0.1:port -> 127.0.0.1:target, counting bytes in each direction."""

    def __init__(self, target: int) -> None:
        self.target = target
        self.down = 0  # registry -> client
        self.up = 0
        self.lock = threading.Lock()
        self.ls = socket.socket()
        self.ls.bind(("127.0.0.1", 0))
        self.ls.listen(64)
        self.port = self.ls.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def reset(self) -> None:
        with self.lock:
            self.down = self.up = 0

    def _accept(self) -> None:
        while True:
            try:
                c, _ = self.ls.accept()
            except OSError:
                return
            s = socket.create_connection(("127.0.0.1", self.target))
            threading.Thread(target=self._pipe, args=(c, s, "up"), daemon=True).start()
            threading.Thread(target=self._pipe, args=(s, c, "down"), daemon=True).start()

    def _pipe(self, a: socket.socket, b: socket.socket, way: str) -> None:
        try:
            while data := a.recv(262144):
                b.sendall(data)
                with self.lock:
                    if way == "down":
                        self.down += len(data)
                    else:
                        self.up += len(data)
        except OSError:
            pass
        finally:
            for x in (a, b):
                with contextlib.suppress(OSError):
                    x.shutdown(socket.SHUT_RDWR)
                x.close()


def du(path: Path) -> int:
    if not path.exists():
        return 0
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def run(argv: Sequence[str], env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run(argv, env=env, capture_output=True, timeout=600)
    elapsed = time.perf_counter() - t0
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{argv[0]} failed ({proc.returncode}): {proc.stderr.decode()[-800:]}")
    return elapsed


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--size-mb", type=int, default=100)
    args = ap.parse_args()
    if REGISTRY_BIN is None or SKOPEO is None:
        print("needs Debian's docker-registry and skopeo (apt-get install docker-registry skopeo)")
        return 2
    work = Path(tempfile.mkdtemp(prefix="trustdoctor-registry-bench-"))
    try:
        corp = ca("Bench Corp Root CA")
        (work / "corp.pem").write_bytes(corp.pem)
        base = Root(work / "base")
        debian(base, [ca(f"Public Root {i}") for i in range(40)], local=[("corp.crt", corp)])
        layers = [layer_from_dir(base.path)]
        per = args.size_mb * 1024 * 1024 // 4
        for i in range(4):
            d = Root(work / f"filler{i}")
            for j in range(4):
                d.file(f"/usr/lib/app{i}/blob{j}.bin", os.urandom(per // 4))
            layers.append(layer_from_dir(d.path))
        image = build_image(layers, arch="amd64")
        total = sum(len(b) for b in layers)
        with Registry(work / "registry", auth="htpasswd") as reg:
            reg.push("bench/debian", "1", image)
            relay = Relay(reg.port)
            ref = f"127.0.0.1:{relay.port}/bench/debian:1"
            home = work / "home"
            (home / ".docker").mkdir(parents=True)
            # Credentials for the relay's host:port (what the reference names).
            import base64
            import json

            pair = base64.b64encode(f"{reg.user}:{reg.password}".encode()).decode()
            (home / ".docker" / "config.json").write_text(
                json.dumps({"auths": {f"127.0.0.1:{relay.port}": {"auth": pair}}})
            )
            certs = work / "skopeo-certs"
            certs.mkdir()
            (certs / "ca.crt").write_bytes(reg.ca_file.read_bytes())
            env = {
                **os.environ,
                "HOME": str(home),
                "DOCKER_CONFIG": str(home / ".docker"),
                "SSL_CERT_FILE": str(reg.ca_file),
                "PYTHONPATH": str(SRC),
            }
            td = [sys.executable, "-m", "trustdoctor", "stores", "--image", ref,
                  "--ca", str(work / "corp.pem"), "--format", "json"]  # fmt: skip
            sk = [SKOPEO, "--insecure-policy", "copy", "--src-cert-dir", str(certs),
                  "--src-creds", f"{reg.user}:{reg.password}", f"docker://{ref}"]  # fmt: skip
            results: dict[str, list[tuple[float, int, int]]] = {}

            def measure(name: str, argv: Sequence[str], env: dict[str, str], disk: Path,
                        before: object = None) -> None:  # fmt: skip
                for _ in range(args.runs):
                    if callable(before):
                        before()
                    relay.reset()
                    t = run(argv, env)
                    time.sleep(0.05)
                    results.setdefault(name, []).append((t, relay.down, du(disk)))

            cold_cache = work / "cache-cold"
            measure(
                "stores --image REF (cold cache)",
                td,
                {**env, "XDG_CACHE_HOME": str(cold_cache)},
                cold_cache / "trustdoctor" / "layers",
                before=lambda: shutil.rmtree(cold_cache, ignore_errors=True),
            )
            warm = work / "cache-warm"
            run(td, {**env, "XDG_CACHE_HOME": str(warm)})
            measure("stores --image REF (warm cache)", td, {**env, "XDG_CACHE_HOME": str(warm)},
                    warm / "trustdoctor" / "layers")  # fmt: skip
            blocker = work / "not-a-dir"
            blocker.write_text("")
            measure("stores --image REF (cache off)", td,
                    {**env, "XDG_CACHE_HOME": str(blocker)}, blocker / "none")  # fmt: skip
            oci = work / "oci"
            measure(
                "skopeo copy docker://REF oci:DIR",
                [*sk, f"oci:{oci}:bench"],
                env,
                oci,
                before=lambda: shutil.rmtree(oci, ignore_errors=True),
            )
        print(f"image: 5 layers, {total / 1e6:.1f} MB compressed (gzip), pushed to "
              f"docker-registry {REGISTRY_BIN}; {args.runs} runs each\n")  # fmt: skip
        print(
            f"{'command':<36} {'median s':>9} {'min s':>7} {'received MB':>12} {'on disk MB':>11}"
        )
        for name, rows in results.items():
            times = [r[0] for r in rows]
            down = statistics.median(r[1] for r in rows) / 1e6
            disk = statistics.median(r[2] for r in rows) / 1e6
            print(f"{name:<36} {statistics.median(times):9.2f} {min(times):7.2f} "
                  f"{down:12.1f} {disk:11.1f}")  # fmt: skip
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
