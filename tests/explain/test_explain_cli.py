"""``trustdoctor explain`` on the command line: inputs, formats, exit codes, --run."""

from __future__ import annotations

import importlib.util
import json
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import SRC
from trustdoctor.cli import main as cli_main

GO_UA = "x509: certificate signed by unknown authority"
SRC_PATH = str(SRC)


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (SRC_PATH, env.get("PYTHONPATH", "")) if p)
    env.pop("FORCE_COLOR", None)
    return env


def _cli(
    *argv: str, stdin: bytes | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "trustdoctor", "explain", *argv],
        input=stdin,
        capture_output=True,
        env=env or _env(),
        timeout=120,
    )


def test_message_as_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    rc = cli_main.main(["explain", f'Get "https://reg.example:5000/v2/": {GO_UA}'])
    out = capsys.readouterr().out
    assert rc == 0
    assert "next: trustdoctor diagnose reg.example:5000 --client go" in out
    assert "untrusted-root" in out and "\x1b[" not in out  # no colour when not a TTY


def test_unquoted_words_are_one_message(capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        cli_main.main(["explain", "x509:", "certificate", "signed", "by", "unknown", "authority"])
        == 0
    )
    assert "unknown-issuer" in capsys.readouterr().out


def test_nothing_recognised_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main.main(["explain", "the build succeeded"]) == 1
    assert "nothing recognised" in capsys.readouterr().out


def test_json_schema(capsys: pytest.CaptureFixture[str]) -> None:
    text = (
        'x509: certificate signed by unknown authority (possibly because of "x509: invalid '
        'signature: '
        'parent certificate cannot sign this kind of certificate" while trying to verify candidate '
        'authority certificate "Example Internal Root CA")'
    )
    assert cli_main.main(["explain", "--format", "json", text]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["schema_version"] == 1 and doc["kind"] == "explain" and doc["recognised"] is True
    m = doc["matches"][0]
    for key in (
        "client",
        "error_class",
        "host",
        "port",
        "authority",
        "causes",
        "questions",
        "next",
        "line",
        "text",
        "stack",
        "library",
        "narrows",
        "count",
    ):
        assert key in m
    assert m["authority"] == "Example Internal Root CA" and m["error_class"] == "invalid-ca"
    assert m["causes"][0] == {
        "code": "not-a-ca",
        "reason": "issuer-not-a-ca",
        "why": m["causes"][0]["why"],
    }
    assert '"Example Internal Root CA"' in m["causes"][0]["why"]
    assert all(set(q) == {"code", "text"} for q in m["questions"])
    assert m["next"] == "trustdoctor stores --client go" or m["next"].startswith(
        "trustdoctor chain"
    )


def test_stdin_pipe_and_dash() -> None:
    p = _cli(stdin=b"curl: (60) SSL certificate problem: unable to get local issuer certificate\n")
    assert p.returncode == 0, p.stderr
    assert b"curl (OpenSSL)" in p.stdout
    p = _cli("-", "--format", "json", stdin=b"nothing to see\n")
    assert p.returncode == 1 and json.loads(p.stdout)["recognised"] is False


def test_file_log(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    body = "\n".join(f"line {i} ok" for i in range(30000))  # > 64 KiB: streamed with the prefilter
    log.write_text(body + f'\nGet "https://late.example/": {GO_UA}\n')
    p = _cli("--file", str(log), "--format", "json")
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert [(m["host"], m["line"]) for m in doc["matches"]] == [("late.example", 30001)]


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["--file", "/nonexistent/x.log"], b"no such file"),
        (["--file", "/"], b"is a directory"),
        (["--file", "/etc/hostname", "some message"], b"only one of them"),
        (["--run", "--format", "json", GO_UA], b"--run"),
        (["--format", "yaml", GO_UA], b"invalid choice"),
    ],
)
def test_usage_and_input_errors_exit_2(argv: list[str], needle: bytes) -> None:
    p = _cli(*argv)
    assert p.returncode == 2, (p.stdout, p.stderr)
    assert needle in p.stderr and b"Traceback" not in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1


def test_no_input_on_a_terminal_exit_2() -> None:
    # A real pseudo-terminal as stdin: explain must not wait for input.
    master, slave = pty.openpty()
    try:
        p = subprocess.run(
            [sys.executable, "-m", "trustdoctor", "explain"],
            stdin=slave,
            capture_output=True,
            env=_env(),
            timeout=60,
        )
    finally:
        os.close(master)
        os.close(slave)
    assert p.returncode == 2 and b"no message" in p.stderr


def test_binary_junk_file(tmp_path: Path) -> None:
    junk = tmp_path / "junk.bin"
    junk.write_bytes(os.urandom(300_000) + b"\x00" * 1000)
    p = _cli("--file", str(junk))
    assert p.returncode == 1 and p.stderr == b""
    assert b"nothing recognised" in p.stdout


def test_ascii_terminal_does_not_crash() -> None:
    env = _env()
    env["PYTHONIOENCODING"] = "ascii"
    p = _cli("--file", "/dev/stdin", stdin=("caf\u00e9 \u2014 " + GO_UA + "\n").encode(), env=env)
    assert p.returncode == 0 and b"Traceback" not in p.stderr


def test_run_without_diagnose_exits_3(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Point "diagnose" at a module that does not exist: the build without it.
    commands = dict(cli_main.COMMANDS)
    commands["diagnose"] = ("trustdoctor.cli.no_such_module", "absent")
    monkeypatch.setattr(cli_main, "COMMANDS", commands)
    rc = cli_main.main(["explain", "--run", f'Get "https://127.0.0.1:9/": {GO_UA}'])
    err = capsys.readouterr().err
    assert rc == 3 and "not available" in err and len(err.strip().splitlines()) == 1


def test_run_without_endpoint_exits_3(capsys: pytest.CaptureFixture[str]) -> None:
    msg = (
        "javax.net.ssl.SSLHandshakeException: PKIX path validation failed: "
        "java.security.cert.CertPathValidatorException: validity check failed"
    )
    rc = cli_main.main(["explain", "--run", msg])
    assert rc == 3
    assert "fill in and run: trustdoctor chain CHAIN.pem --client java" in capsys.readouterr().err


@pytest.mark.skipif(
    importlib.util.find_spec("trustdoctor.cli.diagnose") is None,
    reason="the diagnose command is not in this build yet",
)
def test_run_real_diagnose(tmp_path: Path) -> None:
    import helpers.explain_oracles as o

    with o.start_shapes(tmp_path) as shapes:
        shape = next(s for s in shapes if s.name == "untrusted-root")
        msg = f'Get "https://127.0.0.1:{shape.port}/": {GO_UA}'
        p = _cli("--run", msg)
    assert b"== running: trustdoctor diagnose 127.0.0.1:%d --client go" % shape.port in p.stdout
    assert p.returncode == 1, (p.stdout, p.stderr)  # diagnose: not trusted
    assert b"Traceback" not in p.stderr
