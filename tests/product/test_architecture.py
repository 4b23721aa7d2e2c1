"""The one-way import rules of docs/architecture.md, checked on the source.

Every module under ``src/trustdoctor`` is parsed (never imported) and its
imports are classified:

* ``top``     a module-level import: runs when the module is imported;
* ``lazy``    an import inside a function: runs when that function runs;
* ``typing``  an import under ``if TYPE_CHECKING:``: never runs.

``top`` and ``lazy`` are both *run-time* dependencies; only ``typing``
imports are free.  The rules are stated per package, never per module:

1. **Layers** (:data:`LAYERS`, lowest first): a module imports at run time only
   from its own layer or a lower one.  Front ends → API → readers (sources,
   stores) → pure logic (engine, explain, fixes, render) → the model.
2. **Purity**: every module of a pure package (:data:`PURE`) imports no I/O
   module and calls nothing that does I/O, reads the environment or the clock
   (:data:`FORBIDDEN_CALLS`).  ``os`` and ``pathlib`` are forbidden outright
   (their useful halves touch the filesystem; path arithmetic is ``posixpath``).
3. ``model/`` imports only the standard library, ``cryptography``, ``idna``,
   ``errors.py`` and itself.
4. Nothing outside ``cli/`` imports ``cli`` (not even for typing).
5. **No cycles**: the graph of run-time imports between modules has no cycle
   (a package's ``__init__`` counts as a module).

Exceptions are listed in :data:`EXCEPTIONS`, each with its reason; an
exception that is no longer needed fails the test, so the list only shrinks.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import trustdoctor

PKG = Path(trustdoctor.__file__).resolve().parent
PKG_MODEL = "trustdoctor.model"
STDLIB = frozenset(sys.stdlib_module_names)

# The layers, lowest first.  Every module belongs to exactly one (tested).
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("model", ("trustdoctor", "trustdoctor.model", "trustdoctor.errors", "trustdoctor.clients",
               "trustdoctor.data")),
    ("logic", ("trustdoctor.engine", "trustdoctor.explain", "trustdoctor.fixes",
               "trustdoctor.render")),
    ("readers", ("trustdoctor.sources", "trustdoctor.stores")),
    ("api", ("trustdoctor.api",)),
    ("front", ("trustdoctor.cli", "trustdoctor.lab", "trustdoctor.conformance",
               "trustdoctor.__main__", "trustdoctor.web", "trustdoctor.exporter")),
)  # fmt: skip
# Pure packages: the two lowest layers.
PURE: tuple[str, ...] = tuple(p for name, pkgs in LAYERS[:2] for p in pkgs)

# Standard-library modules a pure module may not import at run time.
FORBIDDEN_STDLIB = frozenset(
    {
        "os", "pathlib", "shutil", "tempfile", "glob", "fileinput", "io", "mmap", "fcntl",
        "socket", "ssl", "select", "selectors", "asyncio", "http", "urllib", "ftplib",
        "smtplib", "imaplib", "poplib", "subprocess", "multiprocessing", "threading",
        "signal", "sys", "time", "logging", "tarfile", "zipfile", "sqlite3", "webbrowser",
        # the C modules under them, imported directly to spare a start-up
        # (sources/wire.py uses _socket, sources/network.py _ssl and _thread)
        "_socket", "_ssl", "_thread", "_signal", "posix", "_io", "_posixsubprocess",
    }
)  # fmt: skip
# The only third-party modules a pure module may import: cryptography (the
# model's parser) and idna (UTS #46 host-name mapping).  pyOpenSSL, rich and
# certifi are edges.
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
        "now", "utcnow", "today", "get_data",
    }
)  # fmt: skip
# ``x.<name>`` attributes that are process state, called or not.
FORBIDDEN_ATTRS = frozenset({"environ", "environb", "stdout", "stderr", "stdin"})

# (rule, module, what) -> why.  ``what`` is the imported module or the call.
EXCEPTIONS: dict[tuple[str, str, str], str] = {
    ("cli", "trustdoctor.__main__", "trustdoctor.cli.main"):
        "`python -m trustdoctor` is the command line",
    ("pure-call", "trustdoctor.data", "get_data()"):
        "data.read() is the one reader of packaged data (the message catalogue): packaged, "
        "read-only data is part of the program, like its code",
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


def layer_of(name: str) -> int:
    """Index in :data:`LAYERS` of the package holding ``name`` (longest prefix wins)."""
    best, index = "", -1
    for i, (_, pkgs) in enumerate(LAYERS):
        for p in pkgs:
            if _under(name, p) and len(p) > len(best):
                best, index = p, i
    return index


def pure_modules() -> set[str]:
    return {n for n in MODULES if layer_of(n) < 2}


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
        own = layer_of(name)
        for i in runtime:
            if _top(i.target) == "trustdoctor" and layer_of(i.target) > own:
                up = LAYERS[layer_of(i.target)][0]
                msg = f"{LAYERS[own][0]} module imports {i.target} of the {up} layer ({i.kind})"
                add("upward", i.target, i.line, msg)
        if _under(name, PKG_MODEL):
            for i in runtime:
                top = _top(i.target)
                if not (
                    top in STDLIB
                    or top in PURE_THIRD_PARTY
                    or _under(i.target, (PKG_MODEL, "trustdoctor.errors"))
                ):
                    add("model", i.target, i.line, f"model imports {i.target}")
        if name in pure:
            for i in runtime:
                top = _top(i.target)
                third_party = top not in STDLIB and top != "trustdoctor"
                if top in FORBIDDEN_STDLIB or (third_party and top not in PURE_THIRD_PARTY):
                    add("pure-import", i.target, i.line, f"pure module imports {i.target}")
            for line, what in io_uses(mod.tree):
                add("pure-call", what, line, f"pure module uses {what}")
        if not _under(name, "trustdoctor.cli"):
            for i in imps:  # TYPE_CHECKING imports of cli count too
                if _under(i.target, "trustdoctor.cli"):
                    add("cli", i.target, i.line, f"imports {i.target} ({i.kind})")
    for cycle in cycles():
        found.append(("cycle", cycle[0], " -> ".join(cycle), "cycle: " + " -> ".join(cycle)))
    return found


def runtime_graph() -> dict[str, set[str]]:
    """module -> the project modules it imports at run time (top or lazy)."""
    graph: dict[str, set[str]] = {n: set() for n in MODULES}
    for name, mod in MODULES.items():
        for i in imports_of(mod):
            if i.kind != "typing" and i.target in MODULES and i.target != name:
                graph[name].add(i.target)
    return graph


def cycles(graph: dict[str, set[str]] | None = None) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    graph = runtime_graph() if graph is None else graph
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10000))
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


VIOLATIONS = violations()


@pytest.mark.parametrize("rule", ["upward", "model", "pure-import", "pure-call", "cli", "cycle"])
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
    for must in ("trustdoctor.engine.judge", "trustdoctor.model.cert", "trustdoctor.render.text",
                 "trustdoctor.engine.pathbuild", "trustdoctor.engine.rules"):  # fmt: skip
        assert must in pure
    assert "trustdoctor.api" not in pure and "trustdoctor.sources.network" not in pure
    cert = {i.target for i in imports_of(MODULES["trustdoctor.model.cert"])}
    assert "cryptography" in cert
    net = {i.target for i in imports_of(MODULES["trustdoctor.sources.wire"])}
    assert "_socket" in net and "trustdoctor.errors" in net


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
