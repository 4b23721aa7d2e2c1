"""Shared test helpers: PKIs, loopback servers, roots, images, oracles.

Paths are given here once, so that a test file can live in any area folder.
"""

import os
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
REPO = TESTS.parent
SRC = REPO / "src"
DOCS = REPO / "docs"
TESTDATA = TESTS / "data"
SCHEMAS = SRC / "trustdoctor" / "data"
# CI has shared/ beside the clone; a worktree elsewhere may point at it.
SHARED = Path(os.environ.get("TRUSTDOCTOR_SHARED") or REPO.parent / "shared")


def go_build(source: str, work: Path, name: str, *, module: str = "example.com/probe") -> Path:
    """Build a small Go program with the installed Go, offline, inside ``work``.

    Every Go directory (cache, GOPATH, HOME) lives under ``work``; cgo is off
    (a static binary) and no toolchain or module is downloaded.  Raises
    ``RuntimeError`` with Go's message when the build fails; callers skip
    when Go is not installed (``shutil.which("go")``).
    """
    import os
    import shutil
    import subprocess

    go = shutil.which("go")
    if go is None:
        raise RuntimeError("go is not installed")
    work.mkdir(parents=True, exist_ok=True)
    (work / "main.go").write_text(source)
    (work / "go.mod").write_text(f"module {module}\n\ngo 1.19\n")
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(work),
        "GOCACHE": str(work / "cache"),
        "GOPATH": str(work / "gopath"),
        "GOFLAGS": "-mod=mod",
        "CGO_ENABLED": "0",
        "GOTOOLCHAIN": "local",
        "GOPROXY": "off",
    }
    out = work / name
    proc = subprocess.run(
        [go, "build", "-o", str(out), "."],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    shutil.rmtree(work / "cache", ignore_errors=True)
    if proc.returncode != 0:
        raise RuntimeError(f"go build failed: {proc.stderr}")
    return out
