"""Where a Python in the root imports packages from (for ``requests``/``certifi``).

Order follows ``site.py`` for the usual layouts: ``PYTHONPATH``, then a
virtualenv (``VIRTUAL_ENV``, or the venv of the ``--pid`` executable: a
``pyvenv.cfg`` next to its ``bin/``), then ``/usr/local`` (pip) before the
distribution's own directory (Debian: ``/usr/local/lib/python3.N/dist-packages``
then ``/usr/lib/python3/dist-packages``; Fedora/RHEL/Alpine/Arch:
``site-packages`` under ``/usr/local/lib*`` then ``/usr/lib*``).
"""

from __future__ import annotations

import re

from ..model.stores import StoreContext
from .rootfs import parent

_PY = re.compile(r"^python3\.(\d+)$")

# (base directory, leaf) in sys.path order; {v} is "python3.N".
SITE_LAYOUT: tuple[tuple[str, str], ...] = (
    ("/usr/local/lib/{v}", "dist-packages"),  # Debian/Ubuntu pip
    ("/usr/local/lib/{v}", "site-packages"),  # python.org images, RHEL pip
    ("/usr/local/lib64/{v}", "site-packages"),
    ("/usr/lib/python3", "dist-packages"),  # Debian/Ubuntu python3-* packages
    ("/usr/lib64/{v}", "site-packages"),  # RHEL/Fedora arch-specific
    ("/usr/lib/{v}", "site-packages"),  # RHEL/Fedora noarch, Alpine, Arch, SUSE
)


def _versions(ctx: StoreContext, base: str) -> list[str]:
    try:
        entries = ctx.fs.listdir(base, limit=20_000).entries
    except OSError:
        return []
    found = [(int(m.group(1)), e.name) for e in entries if (m := _PY.match(e.name))]
    return [name for _, name in sorted(found, reverse=True)]


def _venv_dirs(ctx: StoreContext, venv: str) -> list[str]:
    out = []
    for lib in ("lib", "lib64"):
        for v in _versions(ctx, f"{venv.rstrip('/')}/{lib}"):
            out.append(f"{venv.rstrip('/')}/{lib}/{v}/site-packages")
    return out


def site_dirs(ctx: StoreContext) -> list[tuple[str, str]]:
    """Candidate import directories, in order, with why each is there."""
    memo = ctx.fs.memo.get("site_dirs")
    if isinstance(memo, list):
        return memo
    out: list[tuple[str, str]] = []
    for p in (ctx.env.get("PYTHONPATH") or "").split(":"):
        if p.startswith("/"):
            out.append((p, "$PYTHONPATH"))
    venvs: list[tuple[str, str]] = []
    if ctx.env.get("VIRTUAL_ENV"):
        venvs.append((ctx.env["VIRTUAL_ENV"], "$VIRTUAL_ENV"))
    if ctx.process_exe and "/bin/" in ctx.process_exe:
        venv = parent(parent(ctx.process_exe))
        if ctx.fs.is_file(f"{venv}/pyvenv.cfg"):
            venvs.append((venv, "venv of the process"))
    for venv, why in venvs:
        out.extend((d, why) for d in _venv_dirs(ctx, venv))
    versions: dict[str, list[str]] = {}
    for base, leaf in SITE_LAYOUT:
        if "{v}" not in base:
            out.append((f"{base}/{leaf}", "system"))
            continue
        root = base.split("/{v}")[0]
        if root not in versions:
            versions[root] = _versions(ctx, root)
        for v in versions[root]:
            out.append((f"{root}/{v}/{leaf}", "system"))
    ctx.fs.memo["site_dirs"] = out
    return out


def find_package(ctx: StoreContext, name: str) -> tuple[str, str] | None:
    """The first directory (and why) where ``name/`` is importable."""
    for d, why in site_dirs(ctx):
        if ctx.fs.is_file(f"{d}/{name}/__init__.py"):
            return f"{d}/{name}", why
    return None


_VERSION = re.compile(rb"""__version__[^"'\n]*["'](\d+(?:\.\d+)+)""")


def package_version(ctx: StoreContext, name: str) -> str | None:
    """The release of the importable ``name`` package: its ``_version.py``
    (urllib3, Debian's python3-urllib3 1.26 too), else a ``name-X.Y.dist-info``
    beside it; ``None`` when neither says."""
    found = find_package(ctx, name)
    if found is None:
        return None
    pkg = found[0]
    for f in (f"{pkg}/_version.py", f"{pkg}/__init__.py"):
        try:
            m = _VERSION.search(ctx.fs.read_bytes(f, 64 * 1024))
        except OSError:
            continue
        if m:
            return m.group(1).decode()
    try:
        entries = ctx.fs.listdir(parent(pkg), limit=20_000).entries
    except OSError:
        return None
    dist = re.compile(rf"^{re.escape(name)}-(\d+(?:\.\d+)+)\.(?:dist|egg)-info$", re.I)
    for e in entries:
        if m2 := dist.match(e.name):
            return m2.group(1)
    return None

