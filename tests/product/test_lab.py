"""The lab is the end-to-end self-test: every scenario's diagnosis must be right."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from trustdoctor.cli.main import main
from trustdoctor.lab import SCENARIOS, run_scenario


@pytest.mark.parametrize("s", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_scenario_diagnosis_is_right(s):
    res = run_scenario(s)
    assert res.ok, (s.name, s.expected, res.found, res.detail)
    diag = res.report.diagnosis
    assert diag is not None
    # The served chain was really fetched over TLS from loopback.
    assert res.report.results[0].address.startswith("127.0.0.1:")


def test_lab_table_and_exit_code(capsys, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    assert main(["lab"]) == 0
    out = capsys.readouterr().out
    for s in SCENARIOS:
        assert s.name in out
    assert f"all {len(SCENARIOS)} diagnoses right" in out
    assert "✗" not in out


def test_lab_single_scenario_text_and_json(capsys, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    assert main(["lab", "stale-bundle-debian"]) == 0
    out = capsys.readouterr().out
    assert "stale-bundle" in out and "NOT TRUSTED (client side)" in out
    # The full view carries the fix plan: the refresh command for the distro.
    assert "\nFix  " in out and "update-ca-certificates" in out.split("\nFix  ")[1]
    assert main(["lab", "missing-intermediate", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["lab"] == {
        "scenario": "missing-intermediate",
        "expected": "missing-intermediate",
        "found": "missing-intermediate",
        "ok": True,
    }
    assert data["verdict"]["side"] == "server"
    assert data["plan"]["cause"] == "missing-intermediate"


def test_unknown_scenario_exit_2(capsys):
    assert main(["lab", "nope"]) == 2
    err = capsys.readouterr().err
    assert "unknown lab scenario" in err and len(err.strip().splitlines()) == 1


def _interrupted_lab(tmp_path: Path, sig: int) -> tuple[int, bytes, list[Path]]:
    """Run ``trustdoctor lab`` with a private TMPDIR, signal it mid-run, and
    return its exit code, stderr and whatever it left in that TMPDIR."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    proc = subprocess.Popen(
        [sys.executable, "-m", "trustdoctor", "lab"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "NO_COLOR": "1", "TMPDIR": str(tmp)},
    )
    assert proc.stdout is not None
    # Wait until the first rows are out, then interrupt mid-run.
    proc.stdout.readline()
    proc.stdout.readline()
    time.sleep(0.1)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=30)
    return proc.returncode, err, sorted(tmp.iterdir())


def test_lab_cleans_up_even_on_ctrl_c(tmp_path):
    rc, err, left = _interrupted_lab(tmp_path, signal.SIGINT)
    assert rc == 130, err
    assert b"Traceback" not in err
    assert left == []


def test_lab_certificates_follow_the_clock():
    import datetime as dt

    from trustdoctor.lab import scenario

    later = dt.datetime(2031, 3, 1, tzinfo=dt.UTC)
    for name in ("healthy", "expired"):
        res = run_scenario(scenario(name), now=later)
        assert res.ok, (name, res.found)


def test_lab_cleans_up_on_sigterm(tmp_path):
    rc, err, left = _interrupted_lab(tmp_path, signal.SIGTERM)
    assert rc == 143, err
    assert b"Traceback" not in err
    assert left == []


def test_lab_table_as_json(capsys):
    assert main(["lab", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["kind"] == "lab" and data["wrong"] == 0
    assert [r["scenario"] for r in data["scenarios"]] == [s.name for s in SCENARIOS]
    assert all(r["found"] == r["expected"] for r in data["scenarios"])
