"""The command line stays light: ``serve`` is the only command that imports the
web stack, and without the ``web`` extra it says how to install it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import trustdoctor

SRC = str(Path(trustdoctor.__file__).resolve().parent.parent)
WEB = ("starlette", "uvicorn", "jinja2", "python_multipart", "multipart", "anyio")

# Runs the CLI with the web extra's modules made unimportable (as if absent).
_HIDE = """
import sys, importlib.abc
class Hide(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {"starlette", "uvicorn", "jinja2", "python_multipart"}:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None
sys.meta_path.insert(0, Hide())
from trustdoctor.cli.main import main
sys.exit(main(sys.argv[1:]))
"""

_MODULES = """
import sys
from trustdoctor.cli.main import main
rc = main(sys.argv[1:])
print("\\n".join(sorted(sys.modules)), file=sys.stderr)
"""


def _run(code: str, *argv: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": SRC}
    return subprocess.run(
        [sys.executable, "-c", code, *argv],
        capture_output=True, text=True, timeout=60, cwd=cwd, env=env,
    )  # fmt: skip


def test_help_imports_no_web_module(tmp_path):
    for argv in (["--help"], ["serve", "--help"], ["chain", "--help"]):
        proc = _run(_MODULES, *argv, cwd=tmp_path)
        loaded = set(proc.stderr.split())
        assert "trustdoctor.cli.main" in loaded, proc.stderr[-500:]
        assert not [m for m in loaded if m.split(".")[0] in WEB], argv
        assert not [m for m in loaded if m.startswith("trustdoctor.web")], argv
    assert "--allow-target" in _run(_MODULES, "serve", "--help", cwd=tmp_path).stdout


def test_without_the_extra_serve_says_how_to_install_it(tmp_path):
    proc = _run(_HIDE, "serve", "--listen", "127.0.0.1:0", cwd=tmp_path)
    assert proc.returncode == 3
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("trustdoctor: serve needs the web extra (")
    assert lines[0].endswith("pip install 'trustdoctor[web]'")
    assert "starlette" in lines[0] and "uvicorn" in lines[0]
    # The other commands do not care.
    assert _run(_HIDE, "explain", "x509: certificate signed by unknown authority",
                cwd=tmp_path).returncode == 0  # fmt: skip


def test_bad_options_are_usage_errors(tmp_path):
    for argv, msg in (
        (["serve", "--workers", "0"], "--workers must be between 1 and 32"),
        (["serve", "--max-body", "10"], "--max-body must be at least 1024 bytes"),
        (["serve", "--listen", "nowhere"], "--listen: give ADDR:PORT"),
        (["serve", "--client", "nosuch"], "nosuch"),
        (["serve", "--queue", "-1"], "--queue must be between 0 and 4096"),
    ):
        proc = _run(_MODULES, *argv, cwd=tmp_path)
        first = proc.stderr.splitlines()[0] if proc.stderr else ""
        assert first.startswith("trustdoctor") and msg in first, (argv, proc.stderr[:300])


def test_queue_and_concurrency_reach_the_settings():
    """What bounds the memory of a flood: the waiting queue, the analyses at once
    and the body limit (uvicorn refuses connections past queue + concurrency + 64)."""
    from trustdoctor.cli.main import build_parser
    from trustdoctor.cli.serve import settings_from_args

    args = build_parser("serve").parse_args(
        ["serve", "--queue", "3", "--concurrency", "2", "--max-body", "4096"]
    )
    settings = settings_from_args(args)
    assert (settings.queue, settings.concurrency, settings.max_body) == (3, 2, 4096)
    default = settings_from_args(build_parser("serve").parse_args(["serve"]))
    assert default.queue == 256
