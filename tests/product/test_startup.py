"""Start-up stays fast: heavy modules are imported only by the commands that need them.

Each check runs a fresh interpreter with ``-X importtime`` and parses the
module names from its stderr.  The interpreter runs with ``-S`` and an
explicit ``PYTHONPATH`` (the package's source and the site-packages
directories): ``.pth`` files of the environment (a sandbox's certifi hook, an
editable install's finder) would otherwise import modules before trustdoctor
runs and blur what trustdoctor itself imports.  One check runs the installed
``trustdoctor`` script as-is and subtracts what a bare interpreter imports.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import site
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

import trustdoctor
from trustdoctor.lab import pki

SRC = str(Path(trustdoctor.__file__).resolve().parent.parent)
HEAVY = ("OpenSSL", "rich", "certifi", "cryptography.x509.verification", "asyncio")


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    paths = [SRC, *site.getsitepackages()]
    user = site.getusersitepackages()
    if isinstance(user, str):
        paths.append(user)
    env["PYTHONPATH"] = os.pathsep.join(paths)
    env["NO_COLOR"] = "1"
    env.pop("FORCE_COLOR", None)
    env.update(extra)
    return env


def parse_importtime(stderr: str) -> set[str]:
    """Module names from ``-X importtime`` lines (``import time: self | cum | name``)."""
    names = set()
    for line in stderr.splitlines():
        if not line.startswith("import time:"):
            continue
        parts = line.split("|")
        if len(parts) == 3 and parts[2].strip() != "imported package":
            names.add(parts[2].strip())
    return names


# Runs the code given, then writes sys.modules to a file at exit.  -X importtime
# alone misses modules loaded through importlib.import_module (its timing lives
# in the C import path; cli/main.py loads commands that way), so both are used.
_WRAPPER = """
import atexit, sys
def _dump(out=sys.argv[1]):
    with open(out, "w") as fh:
        fh.write("\\n".join(sorted(sys.modules)))
atexit.register(_dump)
code = sys.argv[2]
sys.argv = sys.argv[3:]
exec(compile(code, "<check>", "exec"), {"__name__": "__main__"})
"""
_RUN_CLI = "import runpy; runpy.run_module('trustdoctor', run_name='__main__', alter_sys=True)"


def imported(
    code: str, argv: Sequence[str] = (), *, cwd: Path
) -> tuple[set[str], subprocess.CompletedProcess[str]]:
    """Modules imported by ``code`` run with ``argv`` in a fresh interpreter."""
    dump = cwd / "modules.txt"
    proc = subprocess.run(
        [sys.executable, "-S", "-X", "importtime", "-c", _WRAPPER, str(dump), code,
         "trustdoctor", *argv],
        capture_output=True,
        text=True,
        env=_env(),
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        timeout=60,
    )  # fmt: skip
    mods = parse_importtime(proc.stderr)
    assert mods, "no -X importtime output: the check would be vacuous"
    if dump.exists():
        mods |= set(dump.read_text().split())
    return mods, proc


def heavy(mods: set[str], forbidden: tuple[str, ...] = HEAVY) -> list[str]:
    return sorted(m for m in mods if any(m == f or m.startswith(f + ".") for f in forbidden))


def test_parser_reads_importtime_lines() -> None:
    text = (
        "import time: self [us] | cumulative | imported package\n"
        "import time:       114 |      14720 |     certifi.core\n"
        "import time:       404 |      15124 |   certifi\n"
        "trustdoctor: something else\n"
    )
    assert parse_importtime(text) == {"certifi.core", "certifi"}


def test_the_check_is_not_vacuous(tmp_path: Path) -> None:
    # The same measurement sees a heavy module when one is imported.
    mods, proc = imported("import trustdoctor.cli.main, rich.console", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-500:]
    assert "trustdoctor.cli.main" in mods
    assert "rich" in heavy(mods) and "rich.console" in heavy(mods)
    # A module loaded by importlib.import_module (as cli/main.py loads commands)
    # is seen too.
    mods, proc = imported("import importlib; importlib.import_module('asyncio')", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-500:]
    assert "asyncio" in heavy(mods)


def test_importing_the_cli_is_light(tmp_path: Path) -> None:
    mods, proc = imported("import trustdoctor.cli.main", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-500:]
    assert "trustdoctor.cli.main" in mods
    assert heavy(mods) == []
    # Not even the model's cryptography: the dispatcher knows only the command table.
    assert "cryptography" not in mods


@pytest.mark.parametrize("argv", [["--help"], ["--version"], []])
def test_help_is_light(argv: list[str], tmp_path: Path) -> None:
    mods, proc = imported(_RUN_CLI, argv, cwd=tmp_path)
    assert proc.returncode in (0, 2), proc.stderr[-500:]
    assert "trustdoctor.cli.main" in mods
    assert heavy(mods) == []


def test_chain_json_imports_no_rich_or_openssl(tmp_path: Path) -> None:
    h = pki.hierarchy()
    (tmp_path / "chain.pem").write_bytes(h.leaf.pem + h.intermediate.pem)
    (tmp_path / "root.pem").write_bytes(h.root.pem)
    args = ["chain", "chain.pem", "--trust", "root.pem", "--at", "2026-06-01T00:00:00Z",
            "--format", "json"]  # fmt: skip
    mods, proc = imported(_RUN_CLI, args, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-800:]
    assert '"schema_version"' in proc.stdout or proc.stdout.lstrip().startswith("{")
    assert "trustdoctor.cli.chain" in mods  # the command really ran
    assert heavy(mods, ("rich", "OpenSSL", "asyncio")) == []
    # The text view on a non-terminal (NO_COLOR) does not need rich either.
    mods, proc = imported(_RUN_CLI, args[:-2], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-800:]
    assert heavy(mods, ("rich", "OpenSSL", "asyncio")) == []


def test_installed_script_help_is_light() -> None:
    script = shutil.which("trustdoctor")
    if script is None:
        pytest.skip("no trustdoctor script on PATH (package not installed)")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPROFILEIMPORTTIME"}
    env["NO_COLOR"] = "1"
    base = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "pass"],
        capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    run = subprocess.run(
        [script, "--help"],
        capture_output=True, text=True, env={**env, "PYTHONPROFILEIMPORTTIME": "1"}, timeout=60,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-500:]
    mods = parse_importtime(run.stderr)
    assert "trustdoctor.cli.main" in mods
    # Whatever the interpreter imports before any code runs (site hooks) is not ours.
    assert heavy(mods - parse_importtime(base.stderr)) == []


def test_diagnose_of_a_trusted_endpoint_imports_no_pyopenssl_nor_planners(tmp_path: Path) -> None:
    """The handshake runs over the standard library's ``ssl`` (issue 13, "diagnose
    cold start"); a trusted chain needs no fix planner, no AIA/HTTP stack."""
    import helpers.netlab as netlab
    from helpers.diagnose import chain_for

    h = chain_for("startup.test")
    (tmp_path / "root.pem").write_bytes(h.root.pem)
    files = netlab.Files()
    try:
        ctx = netlab.server_context(files, [h.leaf, h.intermediate])
        with netlab.serving(netlab.tls_handler(ctx)) as srv:
            args = ["diagnose", f"127.0.0.1:{srv.port}", "--servername", "startup.test",
                    "--client", "go", "--trust", "root.pem"]  # fmt: skip
            mods, proc = imported(_RUN_CLI, args, cwd=tmp_path)
    finally:
        files.cleanup()
    assert proc.returncode == 0, proc.stdout[-800:] + proc.stderr[-800:]
    assert "trustdoctor.sources.network" in mods  # the handshake really ran
    # shutil: argparse's help formatter imports it (cli/main.py measures the
    # width itself); json: the text output never needs it; ast, dis, tokenize:
    # what `inspect` imports, deferred by the entry (cli/process.py);
    # cryptography.x509 and email: certificates are read by model/certder.py;
    # cryptography's cffi backend: ECDSA checks without it (model/cert.py);
    # pathlib and urllib: a --trust file is read with os (sources/files.py);
    # dataclasses: records read their fields themselves (model/record.py;
    # ``inspect`` is the entry's stand-in, and ast/dis/tokenize would show a
    # real one); hashlib: it loads OpenSSL's libcrypto through _hashlib, the
    # digests come from CPython's own modules (model/digest.py); cryptography
    # at all: the chain's ECDSA signatures are confirmed by model/fastverify.py;
    # typing: only type checkers need it (model/record.py, TYPE_CHECKING);
    # threading: the memos' locks are _thread's, a thread starts only for an
    # endpoint with several addresses (api/endpoint.py); socket (and its four
    # IntEnums): the connection is made with _socket (sources/wire.py);
    # ipaddress: an IPv4 target and IPv4 SANs are read without it (model/target.py);
    # locale: argparse does not ask gettext for its words (cli/process.py).
    heavy_here = ("OpenSSL", "rich", "certifi", "asyncio", "trustdoctor.fixes.planner",
                  "trustdoctor.api.aia", "trustdoctor.sources.aia", "shutil", "json",
                  "ast", "dis", "tokenize", "cryptography.x509", "email",
                  "cryptography.hazmat.backends", "pathlib", "urllib",
                  "dataclasses", "hashlib", "_hashlib", "cryptography", "typing",
                  "threading", "socket", "ipaddress", "locale")  # fmt: skip
    assert heavy(mods, heavy_here) == []


@pytest.mark.parametrize(
    "command", ["chain", "diagnose", "scan", "stores", "explain", "lab", "fix", "bundle"]
)
def test_command_help_is_light(command: str, tmp_path: Path) -> None:
    from trustdoctor.cli.main import COMMANDS

    module = COMMANDS[command][0] if command in COMMANDS else None
    if module is None or importlib.util.find_spec(module) is None:
        pytest.skip(f"no `{command}` command in this tree")
    mods, proc = imported(_RUN_CLI, [command, "--help"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-500:]
    assert module in mods
    assert heavy(mods, ("rich", "OpenSSL", "asyncio", "certifi")) == []


def test_scan_in_jsonl_imports_no_xml_nor_http_stack(tmp_path: Path) -> None:
    """``xml.sax.saxutils`` (for ``--format junit`` only) pulls ``urllib.request``,
    ``http.client`` and ``email``: ~25 ms no other format of a scan needs."""
    import socket

    with socket.socket() as s:  # a port nothing listens on: refused at once
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    args = ["scan", "--target", f"127.0.0.1:{port}", "--format", "jsonl", "--processes", "1"]
    mods, proc = imported(_RUN_CLI, args, cwd=tmp_path)
    assert proc.returncode == 3, proc.stdout[-800:] + proc.stderr[-800:]
    assert "trustdoctor.render.scan" in mods  # the line really was rendered
    assert heavy(mods, ("xml", "urllib.request", "http.client", "email", "OpenSSL")) == []


def test_reading_a_roots_stores_imports_no_pathlib(tmp_path: Path) -> None:
    """The store readers join paths as text (stores/rootfs.py): pathlib and
    what it imports (urllib.parse, fnmatch, ipaddress) are ~6 ms of every
    command that reads a store, ``diagnose`` without ``--trust`` among them."""
    from helpers.stores import Root, ca, debian

    r = Root(tmp_path / "root")
    debian(r, [ca("Startup Store Root")])
    args = ["stores", "--root", str(r.path), "--client", "go,openssl,curl", "--format", "json"]
    mods, proc = imported(_RUN_CLI, args, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-800:] + proc.stderr[-800:]
    assert "trustdoctor.stores.openssl" in mods  # the stores really were read
    assert heavy(mods, ("pathlib", "urllib", "fnmatch", "ipaddress", "OpenSSL")) == []


@pytest.mark.parametrize("package", ["trustdoctor.stores", "trustdoctor.api", "trustdoctor.fixes"])
def test_packages_whose_modules_threads_import_lazily_import_no_submodule(
    package: str, tmp_path: Path
) -> None:
    """A package whose ``__init__`` imports its own submodules lets two threads
    take the import locks in opposite orders (one importing the package, the
    other a submodule while the package is half made): CPython 3.11 then
    raises ImportError on a partially initialised module (python/cpython#83065).
    A scan's judging threads import these layers lazily, concurrently: their
    public names are loaded on first use instead (PEP 562)."""
    mods, proc = imported(f"import {package}", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-500:]
    assert sorted(m for m in mods if m.startswith(package + ".")) == []


def test_the_stores_package_still_offers_its_public_names() -> None:
    import trustdoctor.stores as stores
    from trustdoctor.stores.inspect import build_context
    from trustdoctor.stores.rootfs import RootFS

    assert stores.build_context is build_context and stores.RootFS is RootFS
    assert set(stores.__all__) <= set(dir(stores)) | set(stores._WHERE)
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        _ = stores.nothing  # type: ignore[attr-defined]
