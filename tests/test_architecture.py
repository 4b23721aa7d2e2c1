"""The one-way import rules of docs/architecture.md, checked on the source.

Every module under ``src/trustdoctor`` is parsed (never imported) and its
imports are classified:

* ``top``     a module-level import: runs when the module is imported;
* ``lazy``    an import inside a function: runs when that function runs;
* ``typing``  an import under ``if TYPE_CHECKING:``: never runs.

``top`` and ``lazy`` are both *run-time* dependencies; only ``typing``
imports are free.  The rules:

1. ``model/`` imports only the standard library, ``cryptography`` and
   ``model/`` itself.
2. Pure modules (the list below, plus every module whose docstring's first
   paragraph calls it pure) import no I/O module and call nothing that does
   I/O, reads the environment or the clock (:data:`FORBIDDEN_CALLS`); the
   project modules they import at run time are pure too (or ``errors``).
   ``os`` is forbidden outright, ``os.path`` included: its useful half
   (``exists``, ``realpath``...) touches the filesystem, and pure string path
   arithmetic is ``posixpath``.  ``pathlib`` is forbidden for the same reason.
3. ``render/`` does not import ``api``, ``sources``, ``stores``, ``cli`` or the
   other edges at run time (``TYPE_CHECKING`` imports are fine).
4. Nothing outside ``cli/`` imports ``cli``; nothing below the API layer
   imports the API layer (``api*``, ``cli``, ``lab``).

Exceptions are listed in :data:`EXCEPTIONS`, each with its reason; an
exception that is no longer needed fails the test, so the list only shrinks.
"""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import trustdoctor

PKG = Path(trustdoctor.__file__).resolve().parent
PKG_MODEL = "trustdoctor.model"
STDLIB = frozenset(sys.stdlib_module_names)

# Pure by rule (docs/architecture.md), whether or not their docstring says so.
# Modules absent from the tree are skipped (some are still being written).
PURE_LISTED = (
    "trustdoctor.model",  # and everything below it
    "trustdoctor.render",  # and everything below it
    "trustdoctor.pathbuild",
    "trustdoctor.rules",
    "trustdoctor.policies",
    "trustdoctor.clienterrors",
    "trustdoctor.strict",
    "trustdoctor.hostnames",
    "trustdoctor.engine",
    "trustdoctor.explain",
    "trustdoctor.interception",
    "trustdoctor.servechecks",
    "trustdoctor.aiaconfirm",
    "trustdoctor.bundle",
    "trustdoctor.fixes.model",
    "trustdoctor.fixes.planner",
    "trustdoctor.fixes.client",
    "trustdoctor.fixes.server",
    "trustdoctor.fixes.tables",
    # Data tables and records the pure modules above need at run time.
    "trustdoctor.errors",
    "trustdoctor.sources.messages",  # explain's table of client messages
    "trustdoctor.sources.pem",  # PEM block scanner: bytes in, blocks out
    "trustdoctor.stores.model",  # the stores' result records (render/stores_*)
    "trustdoctor.stores.refine",  # pure comparison of a verdict with a store
)

# Standard-library modules a pure module may not import at run time.
FORBIDDEN_STDLIB = frozenset(
    {
        "os", "pathlib", "shutil", "tempfile", "glob", "fileinput", "io", "mmap", "fcntl",
        "socket", "ssl", "select", "selectors", "asyncio", "http", "urllib", "ftplib",
        "smtplib", "imaplib", "poplib", "subprocess", "multiprocessing", "threading",
        "signal", "sys", "time", "logging", "tarfile", "zipfile", "sqlite3", "webbrowser",
    }
)  # fmt: skip
# The only third-party modules a pure module may import: cryptography (the
# model's parser) and idna (sources/target.py's UTS #46 mapping, optional).
# pyOpenSSL, rich and certifi are edges.
PURE_THIRD_PARTY = frozenset({"cryptography", "idna"})

# Builtins that print, read or leave.
FORBIDDEN_BUILTINS = frozenset({"open", "print", "input", "exit", "quit", "breakpoint"})
# ``x.<name>(...)`` calls that read files, the directory tree, the environment
# or the clock.  (``list.remove``, ``str.replace`` etc. are not here: too
# ambiguous; the import rule catches their I/O cousins.)
FORBIDDEN_CALLS = frozenset(
    {
        "read_text", "write_text", "read_bytes", "write_bytes", "open", "mkdir",
        "unlink", "iterdir", "touch", "rmdir", "rename", "exists", "is_file", "is_dir",
        "stat", "lstat", "glob", "rglob", "listdir", "scandir", "expanduser",
        "realpath", "readlink", "getcwd", "chdir", "getenv", "putenv", "system", "popen",
        "now", "utcnow", "today",
    }
)  # fmt: skip
# ``x.<name>`` attributes that are process state, called or not.
FORBIDDEN_ATTRS = frozenset({"environ", "environb", "stdout", "stderr", "stdin"})

# render/ may not import these at run time.
RENDER_FORBIDDEN = (
    "trustdoctor.api",
    "trustdoctor.api_endpoint",
    "trustdoctor.api_aia",
    "trustdoctor.sources",
    "trustdoctor.stores",
    "trustdoctor.cli",
    "trustdoctor.lab",
    "trustdoctor.fixes.apply",
    "trustdoctor.fixes.discover",
)
# The layers above the engine: nothing below them may import them at run time.
UPPER = ("trustdoctor.api", "trustdoctor.api_endpoint", "trustdoctor.api_aia",
         "trustdoctor.cli", "trustdoctor.lab")  # fmt: skip
LOWER = ("trustdoctor.model", "trustdoctor.render", "trustdoctor.sources",
         "trustdoctor.stores", "trustdoctor.engine", "trustdoctor.pathbuild",
         "trustdoctor.rules", "trustdoctor.policies", "trustdoctor.strict",
         "trustdoctor.clienterrors", "trustdoctor.hostnames", "trustdoctor.interception",
         "trustdoctor.servechecks", "trustdoctor.aiaconfirm", "trustdoctor.bundle",
         "trustdoctor.explain", "trustdoctor.fixes")  # fmt: skip

# (rule, module, what) -> why.  ``what`` is the imported module or the call.
EXCEPTIONS: dict[tuple[str, str, str], str] = {
    ("cli", "trustdoctor.__main__", "trustdoctor.cli.main"):
        "`python -m trustdoctor` is the command line",
    ("pure-import", "trustdoctor.explain", "trustdoctor.sources.logs"):
        "explain uses the log record splitter (iter_records, split_windows); "
        "sources/logs.py also holds open_log, the I/O edge, which explain never calls",
    ("pure-call", "trustdoctor.stores.model", "now()"):
        "StoreContext.now defaults to the clock; a StoreContext is only built at the "
        "edge (stores.inspect.build_context), which passes the time (reported)",
    ("pure-call", "trustdoctor.fixes.server", "now()"):
        "reissue_steps falls back to the clock when neither FixContext.now nor a "
        "diagnosis gives the time (reported; the caller should always pass it)",
    ("render", "trustdoctor.render.stores_text", "trustdoctor.stores.model"):
        "stores/model.py is the stores' record module (SourceStatus is used at run "
        "time); it is pure and checked as pure here",
    ("render", "trustdoctor.render.stores_text", "trustdoctor.stores.refine"):
        "CaCheck, the record of `stores --ca`; pure and checked as pure here",
    ("render", "trustdoctor.render.stores_json", "trustdoctor.stores.model"):
        "annotations only today; kept with stores_text's reason",
}  # fmt: skip


@dataclass(frozen=True)
class Imp:
    target: str  # absolute dotted name
    line: int
    kind: str  # "top" | "lazy" | "typing"


@dataclass(frozen=True)
class Module:
    name: str
    path: Path
    tree: ast.Module

    @property
    def is_package(self) -> bool:
        return self.path.name == "__init__.py"


def _modules() -> dict[str, Module]:
    out = {}
    for path in sorted(PKG.rglob("*.py")):
        rel = path.relative_to(PKG.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts.pop()
        name = ".".join(parts)
        out[name] = Module(name, path, ast.parse(path.read_text(encoding="utf-8"), str(path)))
    return out


MODULES = _modules()


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _resolve(mod: Module, level: int, module: str | None) -> str:
    if level == 0:
        return module or ""
    base = mod.name.split(".")
    if not mod.is_package:
        base = base[:-1]
    base = base[: len(base) - (level - 1)]
    return ".".join(base + ([module] if module else []))


def imports_of(mod: Module) -> list[Imp]:
    out: list[Imp] = []

    def visit(node: ast.AST, kind: str) -> None:
        for child in ast.iter_child_nodes(node):
            visit_stmt(child, kind)

    def visit_stmt(node: ast.AST, kind: str) -> None:
        if isinstance(node, ast.Import):
            out.extend(Imp(a.name, node.lineno, kind) for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(mod, node.level, node.module)
            for a in node.names:
                sub = f"{base}.{a.name}" if base else a.name
                # ``from . import x`` / ``from .pkg import mod``: the submodule if it is one.
                out.append(Imp(sub if sub in MODULES else base, node.lineno, kind))
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for c in node.body:
                visit_stmt(c, "typing")
            for c in node.orelse:
                visit_stmt(c, kind)
            return
        if kind != "typing" and isinstance(
            node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda
        ):
            kind = "lazy"  # runs when the function is called
        visit(node, kind)

    for stmt in mod.tree.body:
        visit_stmt(stmt, "top")
    return out


def _under(name: str, prefixes: tuple[str, ...] | str) -> bool:
    if isinstance(prefixes, str):
        prefixes = (prefixes,)
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def _declares_pure(mod: Module) -> bool:
    doc = ast.get_docstring(mod.tree) or ""
    return re.search(r"\bpure\b", doc.split("\n\n")[0], re.IGNORECASE) is not None


def pure_modules() -> set[str]:
    return {n for n, m in MODULES.items() if _under(n, PURE_LISTED) or _declares_pure(m)}


def io_uses(tree: ast.AST) -> Iterator[tuple[int, str]]:
    """(line, what) for every forbidden call or attribute in ``tree``."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            f = node.func
            if isinstance(f, ast.Name) and f.id in FORBIDDEN_BUILTINS:
                yield node.lineno, f"{f.id}()"
            elif isinstance(f, ast.Attribute) and f.attr in FORBIDDEN_CALLS:
                yield node.lineno, f"{f.attr}()"
        if isinstance(node, ast.Attribute) and node.attr in FORBIDDEN_ATTRS:
            yield node.lineno, node.attr


def _top(name: str) -> str:
    return name.split(".")[0]


def _rel(mod: Module, line: int) -> str:
    return f"{mod.path.relative_to(PKG.parent.parent)}:{line}"


# -- the violations, collected once ------------------------------------------


def violations() -> list[tuple[str, str, str, str]]:
    """Every (rule, module, what, "file:line: message") in the tree."""
    found: list[tuple[str, str, str, str]] = []
    pure = pure_modules()
    for name, mod in MODULES.items():

        def add(rule: str, what: str, line: int, msg: str, mod: Module = mod) -> None:
            found.append((rule, mod.name, what, f"{_rel(mod, line)}: {msg}"))

        imps = [i for i in imports_of(mod) if i.target and i.target != "__future__"]
        runtime = [i for i in imps if i.kind != "typing"]
        if _under(name, "trustdoctor.model"):
            for i in runtime:
                top = _top(i.target)
                if not (top in STDLIB or top == "cryptography" or _under(i.target, PKG_MODEL)):
                    add("model", i.target, i.line, f"model imports {i.target}")
        if name in pure:
            for i in runtime:
                top = _top(i.target)
                third_party = top not in STDLIB and top != "trustdoctor"
                if top in FORBIDDEN_STDLIB or (third_party and top not in PURE_THIRD_PARTY):
                    add("pure-import", i.target, i.line, f"pure module imports {i.target}")
                elif top == "trustdoctor" and i.target not in pure and i.target != "trustdoctor":
                    msg = f"pure module imports the impure {i.target} ({i.kind})"
                    add("pure-import", i.target, i.line, msg)
            for line, what in io_uses(mod.tree):
                add("pure-call", what, line, f"pure module uses {what}")
        if _under(name, "trustdoctor.render"):
            for i in runtime:
                if _under(i.target, RENDER_FORBIDDEN):
                    msg = f"renderer imports {i.target} at run time ({i.kind})"
                    add("render", i.target, i.line, msg)
        if not _under(name, "trustdoctor.cli"):
            for i in imps:  # TYPE_CHECKING imports of cli count too
                if _under(i.target, "trustdoctor.cli"):
                    add("cli", i.target, i.line, f"imports {i.target} ({i.kind})")
        if _under(name, LOWER):
            for i in runtime:
                if _under(i.target, UPPER):
                    msg = f"imports the upper layer {i.target} ({i.kind})"
                    add("upward", i.target, i.line, msg)
    return found


VIOLATIONS = violations()


@pytest.mark.parametrize("rule", ["model", "pure-import", "pure-call", "render", "cli", "upward"])
def test_import_rule(rule: str) -> None:
    bad = sorted(
        msg for r, mod, what, msg in VIOLATIONS if r == rule and (r, mod, what) not in EXCEPTIONS
    )
    assert not bad, f"{rule} rule broken (docs/architecture.md):\n  " + "\n  ".join(bad)


def test_every_exception_is_still_needed() -> None:
    used = {(r, mod, what) for r, mod, what, _ in VIOLATIONS}
    stale = [k for k in EXCEPTIONS if k not in used]
    assert not stale, f"exceptions no longer needed, remove them from EXCEPTIONS: {stale}"


# -- the walker itself, so the rules cannot pass vacuously --------------------


def test_the_walker_sees_the_tree() -> None:
    assert len(MODULES) > 40
    pure = pure_modules()
    for must in ("trustdoctor.engine", "trustdoctor.model.cert", "trustdoctor.render.text",
                 "trustdoctor.pathbuild", "trustdoctor.rules"):  # fmt: skip
        assert must in pure
    assert "trustdoctor.api" not in pure and "trustdoctor.sources.network" not in pure
    cert = {i.target for i in imports_of(MODULES["trustdoctor.model.cert"])}
    assert "cryptography" in cert
    net = {i.target for i in imports_of(MODULES["trustdoctor.sources.network"])}
    assert "socket" in net and "trustdoctor.errors" in net


def _synthetic(source: str, name: str = "trustdoctor.render.fake") -> Module:
    return Module(name, PKG / "render" / "fake.py", ast.parse(source))


def test_classification_of_import_kinds() -> None:
    mod = _synthetic(
        "from __future__ import annotations\n"
        "import json\n"
        "from typing import TYPE_CHECKING\n"
        "from ..model.cert import CertInfo\n"
        "from . import doc\n"
        "if TYPE_CHECKING:\n"
        "    from ..api import diagnose_chain\n"
        "def f():\n"
        "    import socket\n"
        "    from ..sources.files import load_bytes\n"
        "    if TYPE_CHECKING:\n"
        "        import ssl\n"
    )
    kinds = {i.target: i.kind for i in imports_of(mod)}
    assert kinds["json"] == "top"
    assert kinds["trustdoctor.model.cert"] == "top"
    assert kinds["trustdoctor.render.doc"] == "top"
    assert kinds["trustdoctor.api"] == "typing"
    assert kinds["socket"] == "lazy"
    assert kinds["trustdoctor.sources.files"] == "lazy"
    assert kinds["ssl"] == "typing"


def test_io_detector_catches_each_kind() -> None:
    tree = ast.parse(
        "import os, sys, datetime as dt\n"
        "def f(p):\n"
        "    print('x'); open(p); p.read_text(); p.write_bytes(b'')\n"
        "    sys.exit(1); os.environ['A']; dt.datetime.now(); sys.stdout.write('')\n"
        "    [1].remove(1); 'a'.replace('a', 'b'); result.today\n"
    )
    got = {what for _, what in io_uses(tree)}
    assert got == {"print()", "open()", "read_text()", "write_bytes()", "environ", "now()",
                   "stdout"}  # fmt: skip
    # sys.exit is caught through the import rule (sys is forbidden in pure modules).
    assert "sys" in FORBIDDEN_STDLIB and "os" in FORBIDDEN_STDLIB


def test_relative_import_resolution() -> None:
    pkg_init = Module("trustdoctor.stores", PKG / "stores" / "__init__.py", ast.parse(""))
    assert _resolve(pkg_init, 1, "model") == "trustdoctor.stores.model"
    assert _resolve(pkg_init, 2, "errors") == "trustdoctor.errors"
    leaf = Module("trustdoctor.render.text", PKG / "render" / "text.py", ast.parse(""))
    assert _resolve(leaf, 1, "doc") == "trustdoctor.render.doc"
    assert _resolve(leaf, 2, "model.cert") == "trustdoctor.model.cert"
    assert _resolve(leaf, 2, None) == "trustdoctor"
