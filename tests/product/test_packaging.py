"""The package as a user gets it: a wheel, installed into a clean virtualenv.

Built with ``pip wheel`` from a *copy* of the source tree (setuptools writes
``build/`` and ``*.egg-info`` next to the sources; the repository stays
untouched), installed with ``pip install`` into a plain ``python -m venv``
(no ``--system-site-packages``: the declared dependencies must be enough),
then run: ``trustdoctor --version``, ``trustdoctor lab`` (must exit 0),
``python -m trustdoctor --help`` and ``trustdoctor explain`` (which reads the
message catalogue, package data).  The wheel must carry ``py.typed``, the JSON
files of ``data/`` (schemas, the catalogue) and every module of the source tree.

Slow (a build, an install that may download the dependencies): marked
``slow``.  Set ``TRUSTDOCTOR_SKIP_PACKAGING=1`` where the package index is not
reachable.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

import trustdoctor

pytestmark = pytest.mark.slow

SRC = Path(trustdoctor.__file__).resolve().parent  # src/trustdoctor
ROOT = SRC.parent.parent  # the repository
INSTALL_BUDGET = 180.0  # seconds for `pip install` of the wheel and its dependencies


def _run(argv: list[str], *, timeout: float, cwd: Path, env: dict[str, str]) -> str:
    proc = subprocess.run(
        argv, capture_output=True, text=True, timeout=timeout, cwd=cwd, env=env,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert proc.returncode == 0, f"{argv}: exit {proc.returncode}\n{proc.stderr[-2000:]}"
    return proc.stdout


@pytest.fixture(scope="module")
def clean_env() -> dict[str, str]:
    # Nothing of this interpreter's environment may leak into the venv's runs.
    drop = ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "VIRTUAL_ENV", "PIP_REQUIRE_VIRTUALENV")
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env["NO_COLOR"] = "1"
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory, clean_env: dict[str, str]) -> Path:
    if os.environ.get("TRUSTDOCTOR_SKIP_PACKAGING"):
        pytest.skip("TRUSTDOCTOR_SKIP_PACKAGING is set (no package index here)")
    work = tmp_path_factory.mktemp("pkg")
    tree = work / "tree"
    tree.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, tree / name)
    shutil.copytree(
        ROOT / "src", tree / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info")
    )
    dist = work / "dist"
    _run(
        [sys.executable, "-m", "pip", "wheel", str(tree), "--no-deps", "-w", str(dist), "-q"],
        timeout=300, cwd=work, env=clean_env,
    )  # fmt: skip
    wheels = list(dist.glob("trustdoctor-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


def test_wheel_contents(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        meta_name = next(n for n in names if n.endswith(".dist-info/METADATA"))
        meta = zf.read(meta_name).decode()
        entry = zf.read(meta_name.replace("METADATA", "entry_points.txt")).decode()
    assert "trustdoctor/py.typed" in names
    schemas = sorted(p.name for p in (SRC / "data").glob("*.json"))
    assert schemas, "no JSON schema in src/trustdoctor/data"
    for s in schemas:
        assert f"trustdoctor/data/{s}" in names
    # Every module of the source tree (subpackages included) made it in.
    modules = {
        "trustdoctor/" + p.relative_to(SRC).as_posix()
        for p in SRC.rglob("*.py")
        if "__pycache__" not in p.parts
    }
    missing = sorted(modules - names)
    assert not missing, f"modules missing from the wheel: {missing}"
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    assert "trustdoctor = trustdoctor.cli.main:entry" in entry
    for dep in ("cryptography", "pyOpenSSL", "rich", "certifi"):
        assert f"Requires-Dist: {dep}" in meta, dep


@pytest.fixture(scope="module")
def venv(wheel: Path, clean_env: dict[str, str]) -> Path:
    where = wheel.parent.parent / "venv"
    _run([sys.executable, "-m", "venv", str(where)], timeout=120, cwd=wheel.parent, env=clean_env)
    pip = where / "bin" / "pip"
    start = time.monotonic()
    try:
        proc = subprocess.run(
            [str(pip), "install", "-q", str(wheel)], capture_output=True, text=True,
            timeout=INSTALL_BUDGET, cwd=wheel.parent, env=clean_env, stdin=subprocess.DEVNULL,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        pytest.skip(
            f"pip install of the wheel took more than {INSTALL_BUDGET:.0f}s (dependencies "
            "downloaded from the package index): too slow for this machine's CI"
        )
    if proc.returncode != 0 and "No matching distribution" in proc.stderr:
        pytest.skip(f"the dependencies are not installable here: {proc.stderr[-300:]}")
    assert proc.returncode == 0, proc.stderr[-2000:]
    print(f"pip install: {time.monotonic() - start:.1f}s")
    return where


def test_installed_package_runs(venv: Path, clean_env: dict[str, str], tmp_path: Path) -> None:
    bin_ = venv / "bin"
    # The package really comes from the venv, not from this checkout.
    where = _run(
        [str(bin_ / "python"), "-c", "import trustdoctor; print(trustdoctor.__file__)"],
        timeout=60, cwd=tmp_path, env=clean_env,
    )  # fmt: skip
    assert where.strip().startswith(str(venv)), where
    out = _run([str(bin_ / "trustdoctor"), "--version"], timeout=60, cwd=tmp_path, env=clean_env)
    assert out.strip() == f"trustdoctor {trustdoctor.__version__}"
    out = _run(
        [str(bin_ / "python"), "-m", "trustdoctor", "--help"],
        timeout=60, cwd=tmp_path, env=clean_env,
    )  # fmt: skip
    assert "chain" in out and "exit codes" in out
    out = _run([str(bin_ / "trustdoctor"), "lab"], timeout=300, cwd=tmp_path, env=clean_env)
    assert "diagnoses right" in out
    # explain reads its message catalogue (data/messages.json) from the installed copy.
    out = _run(
        [str(bin_ / "trustdoctor"), "explain", "--format", "json",
         "x509: certificate signed by unknown authority"],
        timeout=60, cwd=tmp_path, env=clean_env,
    )  # fmt: skip
    assert '"pattern": "go.unknown-authority"' in out
    # The schemas are readable as package data from the installed copy.
    _run(
        [str(bin_ / "python"), "-c",
         "import importlib.resources as r, json; "
         "[json.loads(p.read_text()) for p in r.files('trustdoctor').joinpath('data').iterdir() "
         "if p.name.endswith('.json')]"],
        timeout=60, cwd=tmp_path, env=clean_env,
    )  # fmt: skip
