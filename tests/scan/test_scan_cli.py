"""``trustdoctor scan`` on the command line: formats, input errors, exit codes,
deadline and rate, Ctrl-C and SIGTERM, the progress bar."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import helpers.netlab as netlab
import helpers.scanlab as scanlab
from helpers import SRC
from helpers.diagnose import NOW, PROXY_VARS, VALID, chain_for, validate
from trustdoctor.cli.main import main
from trustdoctor.lab import pki
from trustdoctor.render.scan import CSV_COLUMNS

AT = NOW.replace(microsecond=0).isoformat()


@dataclass
class Mini:
    root: str  # the anchor file
    good: list[int]  # ports serving a trusted chain
    broken: list[int]  # ports serving a leaf without its intermediate
    refused: list[int]
    silent: list[int]


@pytest.fixture(scope="module")
def mini(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mini]:
    files = netlab.Files()
    h = chain_for("mini.scan.test", root_cn="Mini Root", inter_cn="Mini Issuing CA")
    nointer = pki.make_cert("mini.scan.test", issuer=h.intermediate, ca=False,
                            dns=("mini.scan.test",), **VALID)  # fmt: skip
    d = tmp_path_factory.mktemp("mini")
    (d / "root.pem").write_bytes(h.root.pem)
    good = netlab.tls_handler(netlab.server_context(files, [h.leaf, h.intermediate]))
    bad = netlab.tls_handler(netlab.server_context(files, [nointer]))
    with (
        scanlab.fleet(good, 6) as g,
        scanlab.fleet(bad, 4) as b,
        scanlab.fleet(netlab.silent(stop_after=30), 4) as s,
    ):
        yield Mini(str(d / "root.pem"), g.ports, b.ports, scanlab.closed_ports(2), s.ports)
    files.cleanup()


@dataclass
class Run:
    rc: int
    out: str
    err: str


def scan(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, *argv: str) -> Run:
    for var in PROXY_VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
    capsys.readouterr()
    rc = main(["scan", *argv])
    cap = capsys.readouterr()
    return Run(rc, cap.out, cap.err)


def lines_for(m: Mini, *, refused: bool = True) -> list[str]:
    out = [f"127.0.0.1:{p} servername=mini.scan.test" for p in m.good + m.broken]
    if refused:
        out += [f"127.0.0.1:{p}" for p in m.refused]
    return out


def write(tmp_path: Path, lines: list[str], name: str = "targets.txt") -> str:
    p = tmp_path / name
    p.write_text("\n".join(lines) + "\n")
    return str(p)


COMMON = ("--client", "go,openssl", "--timeout", "5", "--at", AT)


def test_jsonl_each_line_is_the_diagnose_document(
    mini: Mini, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    f = write(tmp_path, lines_for(mini))
    r = scan(capsys, monkeypatch, f, "--trust", mini.root, *COMMON, "--format", "jsonl")
    assert r.rc == 1, r.err
    docs = [json.loads(line) for line in r.out.splitlines()]
    results, summary = docs[:-1], docs[-1]
    assert len(results) == len(lines_for(mini))
    for d in results:
        validate(d)
        assert d["kind"] == "diagnose"
    by = {d["target"]["port"]: d for d in results}
    assert all(by[p]["verdict"]["trusted"] for p in mini.good)
    assert all(by[p]["verdict"]["cause"] == "missing-intermediate" for p in mini.broken)
    assert all(by[p]["error"]["code"] == "unreachable" for p in mini.refused)
    # A target's line is what `diagnose --format json` prints for it alone.
    port = mini.broken[0]
    capsys.readouterr()
    rc = main(["diagnose", f"127.0.0.1:{port}", "--servername", "mini.scan.test", "--trust",
               mini.root, *COMMON, "--format", "json"])  # fmt: skip
    alone = json.loads(capsys.readouterr().out)
    assert rc == 1
    for d in (alone, by[port]):
        for a in d["addresses"]:
            a.pop("elapsed_ms")
    assert by[port] == alone
    assert summary["kind"] == "scan-summary"
    assert (summary["scanned"], summary["trusted"], summary["not_trusted"], summary["failed"]) == (
        len(results), len(mini.good), len(mini.broken), len(mini.refused),
    )  # fmt: skip
    assert summary["exit_code"] == 1
    # Two chains judged: the trusted one and the one without its intermediate.
    assert summary["chains_judged"] == 2
    assert [f["causes"] for f in summary["server_fixes"]] == [["missing-intermediate"]]
    # The summary for people goes to stderr with machine formats.
    assert "By cause, side and client" in r.err


def test_json_csv_junit_and_text_say_the_same(
    mini: Mini, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    f = write(tmp_path, lines_for(mini))
    base = (f, "--trust", mini.root, *COMMON)
    j = scan(capsys, monkeypatch, *base, "--format", "json")
    assert j.rc == 1
    doc = json.loads(j.out)
    assert doc["kind"] == "scan" and doc["summary"]["scanned"] == len(doc["results"])
    for d in doc["results"]:
        validate(d)
    verdicts = {d["target"]["display"]: d["verdict"] for d in doc["results"]}

    c = scan(capsys, monkeypatch, *base, "--format", "csv")
    assert c.rc == 1
    rows = list(csv.DictReader(io.StringIO(c.out)))
    assert list(rows[0]) == list(CSV_COLUMNS)
    assert {r["target"]: (r["trusted"] == "true", r["cause"]) for r in rows} == {
        k: (v["trusted"], v["cause"]) for k, v in verdicts.items()
    }

    x = scan(capsys, monkeypatch, *base, "--format", "junit")
    assert x.rc == 1
    tree = ET.fromstring(x.out)
    suite = tree.find("testsuite")
    assert suite is not None
    cases = suite.findall("testcase")
    assert int(suite.get("tests", "0")) == len(cases) == len(verdicts)
    failures = [c for c in cases if c.find("failure") is not None]
    errors = [c for c in cases if c.find("error") is not None]
    assert int(suite.get("failures", "-1")) == len(failures) == len(mini.broken)
    assert int(suite.get("errors", "-1")) == len(errors) == len(mini.refused)
    # A case is named by the target and the name sent (the list's spelling).
    labels = {}
    for d in doc["results"]:
        t, sent = d["target"], d["target"]["servername"]
        labels[t["display"] + (f" servername={sent}" if sent else "")] = d["verdict"]
    assert {c.get("name") for c in cases} == set(labels)
    for case in failures:
        failure = case.find("failure")
        assert failure is not None and failure.get("type") == "missing-intermediate"
        assert labels[case.get("name", "")]["cause"] == "missing-intermediate"
    out = suite.find("system-out")
    assert out is not None and "By cause, side and client" in (out.text or "")

    t = scan(capsys, monkeypatch, *base)
    assert t.rc == 1
    lines = t.out.splitlines()
    marks = {x.split()[1]: x.split()[0] for x in lines if x and x[0] in "✓✗!"}
    assert marks == {
        k: ("✓" if v["trusted"] else "!" if v["cause"] == "unreachable" else "✗")
        for k, v in verdicts.items()
    }
    assert any(line.startswith("Scanned ") for line in lines)
    assert "Server fixes" in t.out


def test_one_address_under_several_names_is_told_apart(
    mini: Mini, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A load balancer scanned under each of its names: every line, summary
    example and JUnit case names the target with the name sent, as the list
    spells it (the display alone, https://127.0.0.1:PORT, is the same for all)."""
    port = mini.good[0]
    names = ["mini.scan.test", "other.scan.test", "third.scan.test"]
    f = write(tmp_path, [f"127.0.0.1:{port} servername={n}" for n in names]
              + [f"127.0.0.1:{port} servername=other.scan.test"])  # fmt: skip
    base = (f, "--trust", mini.root, *COMMON)
    t = scan(capsys, monkeypatch, *base)
    assert t.rc == 1
    lines = [x for x in t.out.splitlines() if x[:1] in ("✓", "✗")]
    assert sorted(x.split()[2] for x in lines) == sorted(f"servername={n}" for n in names)
    verdict = {x.split()[2]: x.split()[0] for x in lines}
    assert verdict == {"servername=mini.scan.test": "✓", "servername=other.scan.test": "✗",
                       "servername=third.scan.test": "✗"}  # fmt: skip
    # The summary's examples tell the refused names apart too.
    row = next(x for x in t.out.splitlines() if "hostname-mismatch" in x and x[:1] == " ")
    assert "servername=other.scan.test" in row and "servername=third.scan.test" in row
    # The repeated line is a duplicate of the one with the same name only.
    dup = next(x for x in t.err.splitlines() if "duplicate target" in x)
    assert f"https://127.0.0.1:{port} servername=other.scan.test" in dup
    x = scan(capsys, monkeypatch, *base, "--format", "junit")
    cases = ET.fromstring(x.out).findall("testsuite/testcase")
    scanned = [c.get("name") for c in cases if c.get("classname") == "trustdoctor.scan"]
    assert sorted(scanned) == sorted(f"https://127.0.0.1:{port} servername={n}" for n in names)


def test_all_trusted_exits_0_and_stdin_works(
    mini: Mini, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    text = "\n".join(f"127.0.0.1:{p} servername=mini.scan.test" for p in mini.good) + "\n"
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(text.encode())))
    r = scan(capsys, monkeypatch, "-", "--trust", mini.root, *COMMON, "--format", "jsonl")
    assert r.rc == 0, r.err
    assert len(r.out.splitlines()) == len(mini.good) + 1


def test_every_target_failing_to_connect_exits_3(
    mini: Mini, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    args = [a for p in mini.refused for a in ("--target", f"127.0.0.1:{p}")]
    r = scan(capsys, monkeypatch, *args, "--trust", mini.root, *COMMON)
    assert r.rc == 3
    assert "could not be diagnosed" in r.out


def test_input_problems_name_their_line_and_do_not_stop_the_scan(
    mini: Mini, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    good = f"127.0.0.1:{mini.good[0]} servername=mini.scan.test"
    f = tmp_path / "t.txt"
    f.write_bytes(
        b"# inventory\n\n"
        + good.encode() + b"  # the registry\n"
        + b"http://plain.example\n"  # 4: not TLS
        + b"host.example:99999\n"  # 5: bad port
        + good.encode() + b"\n"  # 6: duplicate
        + f"https://127.0.0.1:{mini.good[0]}/x servername=mini.scan.test".encode() + b"\n"  # 7
        + b"\xff\xfe not utf-8\n"  # 8
        + b"a" * 20000 + b"\n"  # 9: too long
        + b"host.example owner=me\n"  # 10: unknown column
        + f"127.0.0.1:{mini.good[1]} servername=mini.scan.test".encode() + b"\n"
    )  # fmt: skip
    r = scan(capsys, monkeypatch, str(f), "--trust", mini.root, *COMMON, "--format", "jsonl")
    assert r.rc == 0, r.err
    err = r.err
    for n, words in [(4, "not TLS"), (5, "outside 1-65535"), (6, "duplicate"), (7, "duplicate"),
                     (8, "not UTF-8"), (9, "longer than"), (10, "owner=me")]:  # fmt: skip
        line = next((x for x in err.splitlines() if f"t.txt:{n}:" in x), "")
        assert words in line, (n, err)
    summary = json.loads(r.out.splitlines()[-1])
    assert summary["scanned"] == 2
    assert summary["problems"] == {"bad-line": 3, "duplicate": 2, "not-utf8": 1, "too-long": 1}
    # --strict: the first bad line stops the scan, exit 2.
    r = scan(capsys, monkeypatch, str(f), "--trust", mini.root, *COMMON, "--strict")
    assert r.rc == 2
    assert "t.txt:4:" in r.err and "t.txt:5:" not in r.err


def test_csv_and_jsonl_inputs(
    mini: Mini, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    p0, p1, p2 = mini.good[:3]
    csv_file = tmp_path / "inv.csv"
    csv_file.write_text(
        "owner,host,port,servername\n"
        f"team-a,127.0.0.1,{p0},mini.scan.test\n"
        f'"team b, ops",127.0.0.1,{p1},mini.scan.test\n'
        "team-c,,,\n"
    )
    r = scan(capsys, monkeypatch, str(csv_file), "--trust", mini.root, *COMMON, "--format", "jsonl")
    assert r.rc == 0, r.err
    assert "inv.csv:4: no target" in r.err
    assert {json.loads(x)["target"]["port"] for x in r.out.splitlines()[:-1]} == {p0, p1}
    jl = tmp_path / "inv.jsonl"
    jl.write_text(
        json.dumps({"target": f"127.0.0.1:{p2}", "servername": "mini.scan.test"}) + "\n"
        + "[1, 2]\n" + "{not json\n"
    )  # fmt: skip
    r = scan(capsys, monkeypatch, str(jl), "--trust", mini.root, *COMMON, "--format", "jsonl")
    assert r.rc == 0, r.err
    assert "inv.jsonl:2: a JSON line must be an object" in r.err
    assert "inv.jsonl:3: not JSON" in r.err


def test_unreadable_or_empty_input_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    r = scan(capsys, monkeypatch, str(tmp_path))  # a directory
    assert r.rc == 2 and r.err.count("\n") == 1 and "cannot read" in r.err
    r = scan(capsys, monkeypatch, str(tmp_path / "missing.txt"))
    assert r.rc == 2 and "cannot read" in r.err
    r = scan(capsys, monkeypatch)
    assert r.rc == 2 and "give a targets file" in r.err
    empty = write(tmp_path, ["# nothing here", ""])
    r = scan(capsys, monkeypatch, empty, "--client", "go")
    assert r.rc == 2 and "no target" in r.err
    for bad in (["--concurrency", "0"], ["--rate", "-1"], ["--deadline", "nan"],
                ["--proxy", "ftp://x"], ["--processes", "0"], ["--processes", "some"],
                ["--processes", "65"]):  # fmt: skip
        r = scan(capsys, monkeypatch, "--target", "127.0.0.1:1", *bad)
        assert r.rc == 2, bad
        assert "Traceback" not in r.err


def test_deadline_ends_the_scan(
    mini: Mini, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Silent ports, one at a time, each allowed 10 s: the 1 s deadline ends it all.
    args = [a for p in mini.silent for a in ("--target", f"127.0.0.1:{p}")]
    start = time.monotonic()
    opts = ("--timeout", "10", "--concurrency", "1", "--deadline", "1", "--format", "jsonl")
    r = scan(capsys, monkeypatch, *args, "--trust", mini.root, "--client", "go", *opts)
    elapsed = time.monotonic() - start
    assert r.rc == 3, r.err
    summary = json.loads(r.out.splitlines()[-1])
    assert summary["stopped"] == "deadline"
    assert summary["scanned"] <= 2
    assert elapsed < 4, elapsed


def test_rate_spaces_connections(
    mini: Mini, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    args = [a for p in mini.good for a in ("--target", f"127.0.0.1:{p} servername=mini.scan.test")]
    start = time.monotonic()
    r = scan(capsys, monkeypatch, *args, "--trust", mini.root, "--client", "go", "--rate", "10")
    elapsed = time.monotonic() - start
    assert r.rc == 0, r.err
    # 6 connections at 10/s: the last starts 0.5 s after the first.
    assert elapsed >= 0.5


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in PROXY_VARS}
    env["PYTHONPATH"] = str(SRC)
    env["NO_COLOR"] = "1"
    return env


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_ctrl_c_and_sigterm_print_the_summary_so_far(
    mini: Mini, tmp_path: Path, sig: int, code: int
) -> None:
    lines = lines_for(mini, refused=False) + [f"127.0.0.1:{p}" for p in mini.silent]
    f = write(tmp_path, lines)
    proc = subprocess.Popen(
        [sys.executable, "-m", "trustdoctor", "scan", f, "--trust", mini.root, "--client", "go",
         "--timeout", "30", "--at", AT],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(),
    )  # fmt: skip
    # Wait for the quick targets (their lines), while the silent ones hang.
    assert proc.stdout is not None
    seen = 0
    deadline = time.monotonic() + 30
    while seen < len(mini.good) + len(mini.broken) and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if line and line[0] in "✓✗":
            seen += 1
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=15)
    assert proc.returncode == code, err
    assert "Traceback" not in err
    assert "interrupted: the summary covers the targets finished so far" in out
    assert f"Scanned {seen} target(s)" in out


def _children(pid: int) -> list[int]:
    """The children of every thread of ``pid`` (a child belongs to the thread
    that started it)."""
    out: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            out += [int(x) for x in (task / "children").read_text().split()]
        except OSError:
            continue
    return out


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_ctrl_c_with_handshake_workers(mini: Mini, tmp_path: Path) -> None:
    """Past POOL_AFTER targets the handshakes run in worker processes: a Ctrl-C
    from the terminal (SIGINT to the whole process group) still ends the scan
    with its summary, no worker prints anything, and none outlives it."""
    from trustdoctor.api.scan import POOL_AFTER

    # Distinct targets (by SNI name) on the trusted ports, then the silent ones.
    n = POOL_AFTER + 40
    good = [f"127.0.0.1:{mini.good[k % len(mini.good)]} servername=n{k}.mini.scan.test"
            for k in range(n)]  # fmt: skip
    f = write(tmp_path, good + [f"127.0.0.1:{p}" for p in mini.silent])
    proc = subprocess.Popen(
        [sys.executable, "-m", "trustdoctor", "scan", f, "--trust", mini.root, "--client", "go",
         "--timeout", "30", "--at", AT, "--processes", "2", "--concurrency", "8"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(),
        start_new_session=True,
    )  # fmt: skip
    assert proc.stdout is not None
    seen = 0
    deadline = time.monotonic() + 60
    while seen < n and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if line and line[0] in "✓✗":
            seen += 1
    # The pool starts in the thread that takes target POOL_AFTER + 1 while the
    # others go on in-process: on a loaded machine the quick targets can all
    # be answered before its children are spawned (the silent ones keep the
    # scan going for --timeout).
    workers = _children(proc.pid)
    end = time.monotonic() + 20
    while len(workers) < 2 and time.monotonic() < end:
        time.sleep(0.05)
        workers = _children(proc.pid)
    assert len(workers) == 2, workers  # the pool is running
    os.killpg(proc.pid, signal.SIGINT)
    out, err = proc.communicate(timeout=15)
    assert proc.returncode == 130, err
    assert err.count("Traceback") == 0 and "KeyboardInterrupt" not in err
    assert f"Scanned {seen} target(s)" in out
    end = time.monotonic() + 5
    while any(_running(w) for w in workers) and time.monotonic() < end:
        time.sleep(0.1)
    assert not any(_running(w) for w in workers)


def test_progress_bar_only_on_a_terminal(mini: Mini, tmp_path: Path) -> None:
    import pty

    f = write(tmp_path, [f"127.0.0.1:{p} servername=mini.scan.test" for p in mini.good])
    argv = [sys.executable, "-m", "trustdoctor", "scan", f, "--trust", mini.root, "--client", "go",
            "--format", "jsonl"]  # fmt: skip
    plain = subprocess.run(argv, capture_output=True, text=True, env=_env(), timeout=60)
    assert plain.returncode == 0
    assert "scanning" not in plain.stderr  # not a terminal: no bar
    primary, secondary = pty.openpty()
    env = {**_env(), "TERM": "xterm", "COLUMNS": "100"}
    env.pop("NO_COLOR")
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=secondary, env=env)
    os.close(secondary)
    seen = bytearray()

    def drain() -> None:  # the terminal must be read while the bar is drawn
        while True:
            try:
                chunk = os.read(primary, 65536)
            except OSError:
                return
            if not chunk:
                return
            seen.extend(chunk)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    out, _ = proc.communicate(timeout=60)
    reader.join(5)
    os.close(primary)
    assert proc.returncode == 0
    assert b"scanning" in seen
    # stdout stays clean JSON lines.
    assert all(json.loads(x) for x in out.decode().splitlines())
