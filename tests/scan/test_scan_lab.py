"""A scan of a few hundred loopback targets of every shape gives each target what
``diagnose`` alone gives it, and the hostile ones do not hold the others up.

The lab (module fixture): a fake Debian root trusting "Scan Lab Root"; fleets
of loopback ports (one port per target, so each target is a node of its
service) serving a trusted chain, a chain without its intermediate, a chain
to an unknown root, an expired leaf, a leaf for another name, a self-signed
leaf, the trusted chain after SMTP STARTTLS, the trusted chain to clients
without a certificate it requires; and hostile ports: silent, reset mid
handshake, garbage, a trickle, refused, plain HTTP.
"""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import os
import re
import ssl
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

import helpers.netlab as netlab
import helpers.scanlab as scanlab
import helpers.stores as st
from helpers.diagnose import NOW, VALID, chain_for, validate
from trustdoctor import api
from trustdoctor.api.scan import POOL_AFTER, ScanResult, ScanSummary
from trustdoctor.lab import pki
from trustdoctor.render.scan import dumps_line
from trustdoctor.sources.targetlist import InputProblem

TIMEOUT = 2.0
V12 = ssl.TLSVersion.TLSv1_2
AT = NOW.replace(microsecond=0)
CLIENTS = ["go", "openssl"]
SVC = "svc.scan.test"

# Hostile kinds: their error messages depend on timing (bytes received before
# the deadline, a reset seen as a reset or as a close): compared by code.
TIMING = frozenset({"reset", "trickle"})


@dataclass
class Lab:
    root: Path
    lines: list[str]
    kind: dict[str, str]  # line -> kind
    fleets: dict[str, scanlab.Fleet]
    options: api.TrustOptions
    expected_keys: set[tuple[str, str]] = field(default_factory=set)
    during_scan: dict[int, int] = field(default_factory=dict)  # port -> connections


def _tls(files: netlab.Files, certs: list[pki.Issued], **kw: Any) -> netlab.Handler:
    return netlab.tls_handler(netlab.server_context(files, certs, **kw))


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    files = netlab.Files()
    h = chain_for(SVC, root_cn="Scan Lab Root", inter_cn="Scan Lab Issuing CA",
                  dns=(SVC, f"*.{SVC}"))  # fmt: skip
    other = chain_for("other.scan.test", root_cn="Unknown Root", inter_cn="Unknown Issuing CA",
                      dns=(SVC,))  # fmt: skip
    nointer = pki.make_cert(SVC, issuer=h.intermediate, ca=False, dns=(SVC,), **VALID)
    expired = pki.make_cert(
        SVC, issuer=h.intermediate, ca=False, dns=(SVC,),
        not_before=NOW - dt.timedelta(days=90), not_after=NOW - dt.timedelta(days=1),
    )  # fmt: skip
    wrong = pki.make_cert("wrong.scan.test", issuer=h.intermediate, ca=False,
                          dns=("wrong.scan.test",), **VALID)  # fmt: skip
    selfsigned = pki.make_cert(SVC, ca=False, dns=(SVC,), **VALID)
    root = st.Root(tmp_path_factory.mktemp("scanroot"))
    st.debian(root, [h.root])

    good = _tls(files, [h.leaf, h.intermediate])
    smtp = netlab.tls_handler(
        netlab.server_context(files, [h.leaf, h.intermediate]), starttls="smtp"
    )
    needs_cert = _tls(files, [h.leaf, h.intermediate], max_version=V12, client_ca=h.root)
    kinds: dict[str, tuple[netlab.Handler, int]] = {
        "trusted": (good, 60),
        "missing-intermediate": (_tls(files, [nointer]), 30),
        "untrusted-root": (_tls(files, [other.leaf, other.intermediate]), 25),
        "expired": (_tls(files, [expired, h.intermediate]), 20),
        "wrong-name": (_tls(files, [wrong, h.intermediate]), 20),
        "self-signed": (_tls(files, [selfsigned]), 15),
        "starttls": (smtp, 15),
        "client-cert": (needs_cert, 10),
        "garbage": (netlab.sends(b"\x00\x01\x02garbage\xff" * 8), 8),
        "http": (netlab.sends(b"HTTP/1.1 400 Bad Request\r\n\r\n"), 5),
        "silent": (netlab.silent(stop_after=TIMEOUT + 5), 3),
    }
    with contextlib_exit() as stack:
        fleets = {k: stack.enter_context(scanlab.fleet(hd, n)) for k, (hd, n) in kinds.items()}
        # The real server the reset and trickle relays talk to (not a target).
        upstream = stack.enter_context(netlab.serving(good)).port
        fleets["reset"] = stack.enter_context(scanlab.fleet(netlab.reset_after(60, upstream), 3))
        fleets["trickle"] = stack.enter_context(
            scanlab.fleet(netlab.trickle(upstream, every=0.3, stop_after=TIMEOUT + 5), 2)
        )
        lines: list[str] = []
        kind: dict[str, str] = {}
        keys: set[tuple[str, str]] = set()

        def add(k: str, line: str, key: str | None = None) -> None:
            lines.append(line)
            kind[line] = k
            if key is not None:
                keys.add((k, key))

        chains = {"trusted", "missing-intermediate", "untrusted-root", "expired", "wrong-name",
                  "self-signed", "client-cert"}  # fmt: skip
        for k, f in fleets.items():
            for i, port in enumerate(f.ports):
                judged = k in chains
                if k == "trusted" and i % 10 == 1:
                    # Another name on the wildcard: another judgement.
                    add(k, f"127.0.0.1:{port} servername=h{i}.{SVC}", f"h{i}.{SVC}")
                elif k == "trusted" and i % 10 == 2:
                    add(k, f"https://{SVC}:{port}/path connect-to=127.0.0.1", SVC)
                elif k == "starttls":
                    add(k, f"smtp://127.0.0.1:{port} servername={SVC}", SVC)
                else:
                    add(k, f"127.0.0.1:{port} servername={SVC}", SVC if judged else None)
        for port in scanlab.closed_ports(8):
            add("refused", f"127.0.0.1:{port}")
        opts = api.TrustOptions(root=str(root.path))
        yield Lab(root.path, lines, kind, fleets, opts, keys)
    files.cleanup()


def contextlib_exit() -> Any:
    import contextlib

    return contextlib.ExitStack()


_BYTES = re.compile(r" \(\d+ bytes received in all\)")


def comparable(doc: dict[str, Any], kind: str) -> Any:
    """The document minus what depends on timing."""
    doc = {k: v for k, v in doc.items()}
    doc["addresses"] = [{k: v for k, v in a.items() if k != "elapsed_ms"} for a in doc["addresses"]]
    if kind in TIMING:
        return (doc["verdict"]["cause"], doc["verdict"]["side"], doc.get("error", {}).get("code"))
    text = _BYTES.sub("", repr(doc))
    return text


@pytest.fixture(scope="module", params=[1, 2], ids=["in-process", "2-worker-processes"])
def scanned(
    lab: Lab, request: pytest.FixtureRequest
) -> tuple[list[ScanResult | InputProblem], ScanSummary, float]:
    """The scan, with its handshakes in this process, then in 2 worker
    processes (past the first POOL_AFTER targets): every test holds for both."""
    processes: int = request.param
    assert len(lab.lines) > 2 * POOL_AFTER  # most targets go through the workers
    before = {p: n for f in lab.fleets.values() for p, n in f.per_port.items()}
    start = time.monotonic()
    with api.scan_endpoints(
        lab.lines, clients=CLIENTS, options=lab.options, timeout=TIMEOUT, at=AT, concurrency=32,
        processes=processes,
    ) as s:  # fmt: skip
        items = list(s)
        workers = s.worker_pids
    elapsed = time.monotonic() - start
    assert len(workers) == (processes if processes > 1 else 0)
    for pid in workers:  # the workers end with the scan
        with pytest.raises(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
    lab.during_scan = {p: n - before[p] for f in lab.fleets.values() for p, n in f.per_port.items()}
    return items, s.summary(), elapsed


def test_every_target_gets_what_diagnose_alone_gives_it(
    lab: Lab, scanned: tuple[list[ScanResult | InputProblem], ScanSummary, float]
) -> None:
    items, _, _ = scanned
    results = [i for i in items if isinstance(i, ScanResult)]
    assert [i for i in items if isinstance(i, InputProblem)] == []
    assert sorted(r.line.text for r in results) == sorted(lab.lines)

    def alone(r: ScanResult) -> dict[str, Any]:
        return api.diagnose_endpoint(
            r.line.target, clients=CLIENTS, options=lab.options, timeout=TIMEOUT, at=AT
        ).to_dict()

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        expected = list(pool.map(alone, results))
    kinds: Counter[str] = Counter()
    for r, want in zip(results, expected, strict=True):
        kind = lab.kind[r.line.text]
        kinds[kind] += 1
        got = r.to_dict()
        shared = r.document()
        validate(got)
        assert comparable(got, kind) == comparable(want, kind), r.line.text
        # The fast renderings (shared per judged chain) are the same document,
        # to the byte for the JSON line.
        assert shared == got, r.line.text
        assert r.json_line() == dumps_line(got), r.line.text
    assert kinds == Counter(lab.kind.values())


def test_verdicts_by_kind(
    lab: Lab, scanned: tuple[list[ScanResult | InputProblem], ScanSummary, float]
) -> None:
    items, summary, _ = scanned
    want = {
        "trusted": "ok",
        "missing-intermediate": "missing-intermediate",
        "untrusted-root": "untrusted-root",
        "expired": "expired",
        "wrong-name": "hostname-mismatch",
        "self-signed": "self-signed-leaf",
        "starttls": "ok",
        "client-cert": "ok",
        "garbage": "not-tls",
        "http": "not-tls",
        "silent": "timeout",
        "trickle": "timeout",
        "reset": "handshake-failed",
        "refused": "unreachable",
    }
    for r in items:
        assert isinstance(r, ScanResult)
        kind = lab.kind[r.line.text]
        doc = r.to_dict()
        assert doc["verdict"]["cause"] == want[kind], (kind, r.line.text, doc["verdict"])
    failing = {"garbage", "http", "silent", "trickle", "reset", "refused"}
    assert summary.failed == sum(1 for k in lab.kind.values() if k in failing)
    assert summary.trusted == sum(1 for k in lab.kind.values() if want[k] == "ok")
    assert summary.scanned == len(lab.lines)
    assert summary.exit_code == 1
    assert summary.stopped is None


def test_each_distinct_chain_is_judged_once(
    lab: Lab, scanned: tuple[list[ScanResult | InputProblem], ScanSummary, float]
) -> None:
    _, summary, _ = scanned
    # (kind, name checked): the kinds serve distinct chains, except STARTTLS
    # which serves the trusted chain under the same name.
    keys = {(("trusted" if k == "starttls" else k), name) for k, name in lab.expected_keys}
    assert summary.chains_judged == len(keys)


def test_one_handshake_per_target(
    lab: Lab, scanned: tuple[list[ScanResult | InputProblem], ScanSummary, float]
) -> None:
    assert lab.during_scan and set(lab.during_scan.values()) == {1}


def test_hostile_targets_do_not_hold_the_others_up(
    scanned: tuple[list[ScanResult | InputProblem], ScanSummary, float], lab: Lab
) -> None:
    items, _, elapsed = scanned
    # The silent and trickling ports take the whole timeout, in parallel with
    # everything else: the scan ends about one timeout after it started.
    assert elapsed < TIMEOUT + 8, elapsed
    good = [
        r.report.results[0].fetch.elapsed_ms
        for r in items
        if isinstance(r, ScanResult) and r.report.results[0].fetch is not None
    ]
    assert good and sorted(good)[len(good) // 2] < 1000 * TIMEOUT / 2


def test_summary_groups_and_plans(
    lab: Lab, scanned: tuple[list[ScanResult | InputProblem], ScanSummary, float]
) -> None:
    _, summary, _ = scanned
    groups = {(g.cause, g.side, g.client): g for g in summary.groups}
    n_missing = sum(1 for k in lab.kind.values() if k == "missing-intermediate")
    for client in CLIENTS:
        g = groups[("missing-intermediate", "server", client)]
        assert g.count == n_missing and len(g.examples) == 3
    assert groups[("timeout", "network", None)].count == 5  # silent + trickle
    assert groups[("unreachable", "network", None)].count == 8
    # One server plan per distinct chain with a server-side problem...
    server = {f.causes: f for f in summary.server_fixes}
    assert {c for f in summary.server_fixes for c in f.causes} >= {
        "missing-intermediate", "expired", "hostname-mismatch", "self-signed-leaf",
    }  # fmt: skip
    chains = [f.chain for f in summary.server_fixes]
    assert len(chains) == len(set(chains))
    assert server[("missing-intermediate",)].count == n_missing
    # ... and one client plan per missing root: the unknown root, for both clients.
    roots = {f.root: f for f in summary.client_fixes}
    assert set(roots) == {"Unknown Root"}
    assert roots["Unknown Root"].count == sum(1 for k in lab.kind.values() if k == "untrusted-root")
    assert set(roots["Unknown Root"].clients) == set(CLIENTS)
    doc = summary.to_dict()
    assert doc["kind"] == "scan-summary" and doc["scanned"] == len(lab.lines)
    text = summary.to_text().plain()
    assert "By cause, side and client" in text and "Server fixes" in text


def test_registry_clients_get_a_store_per_registry(tmp_path: Path) -> None:
    """docker reads certs.d/<host:port>: the same chain is trusted at the registry
    whose directory holds its root, and not at the other."""
    files = netlab.Files()
    try:
        h = chain_for("reg.scan.test", root_cn="Registry Root", inter_cn="Registry Issuing CA")
        root = st.Root(tmp_path / "root")
        st.debian(root, [st.ca("Some Public Root")])
        with scanlab.fleet(_tls(files, [h.leaf, h.intermediate]), 4) as f:
            good, bad = f.ports[0], f.ports[1]
            root.file(f"/etc/docker/certs.d/127.0.0.1:{good}/ca.crt", h.root.pem)
            lines = [f"127.0.0.1:{p} servername=reg.scan.test" for p in f.ports]
            opts = api.TrustOptions(root=str(root.path))
            with api.scan_endpoints(lines, clients=["docker"], options=opts, timeout=5, at=AT) as s:
                got = {r.line.target.port: r for r in s if isinstance(r, ScanResult)}
            for r in got.values():
                want = api.diagnose_endpoint(
                    r.line.target, clients=["docker"], options=opts, timeout=5, at=AT
                ).to_dict()
                assert comparable(r.to_dict(), "x") == comparable(want, "x")
        assert got[good].trusted and not got[bad].trusted
        # The registry of each target is part of what is judged: one chain, but
        # one judgement per registry (client set).
        assert s.summary().chains_judged == 4
    finally:
        files.cleanup()
