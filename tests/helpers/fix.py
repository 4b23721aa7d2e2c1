"""Shared pieces of the fix tests: distro roots, CAs, re-checks, namespaces, goldens.

Every root is a temporary directory laid out like one distribution family
(the files trustdoctor's distro detection and client models look at).  The
host's own trust store is never touched: tests that run a real tool do it in
a private mount namespace (``unshare -m``) where the temporary root's
directories are the only writable ones (see :data:`NS_ROOT_SCRIPT`).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from trustdoctor.cli.main import main
from trustdoctor.engine.refine import CaCheck, check_ca
from trustdoctor.lab import pki
from trustdoctor.model.cert import CertInfo, from_certificate
from trustdoctor.stores import build_context, inspect_stores

from . import SRC

HOST_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
HOST_LOCAL = Path("/usr/local/share/ca-certificates")
UNSHARE = shutil.which("unshare")
KEYTOOL = shutil.which("keytool")
UPDATE_CA = Path("/usr/sbin/update-ca-certificates")


def can_unshare() -> bool:
    if UNSHARE is None or os.geteuid() != 0:
        return False
    r = subprocess.run([UNSHARE, "-m", "true"], capture_output=True, check=False)
    return r.returncode == 0


@dataclass
class CA:
    issued: pki.Issued
    path: Path
    info: CertInfo

    @property
    def pem(self) -> bytes:
        return self.issued.pem


def make_ca(tmp: Path, cn: str = "Example Internal Root CA", **kw: object) -> CA:
    issued = pki.make_cert(cn, **kw)  # type: ignore[arg-type]
    path = tmp / "internal-root.pem"
    n = 1
    while path.exists():
        n += 1
        path = tmp / f"internal-root-{n}.pem"
    path.write_bytes(issued.pem)
    return CA(issued, path, from_certificate(issued.cert))


def public_root() -> pki.Issued:
    return pki.make_cert("Public Test Root")


def _w(root: Path, rel: str, data: bytes | str = b"", mode: int = 0o644) -> Path:
    p = root / rel.lstrip("/")
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(data.encode() if isinstance(data, str) else data)
    p.chmod(mode)
    return p


def _link(root: Path, rel: str, target: str) -> None:
    p = root / rel.lstrip("/")
    p.parent.mkdir(parents=True, exist_ok=True)
    p.symlink_to(target)


def os_release(id_: str, pretty: str, like: str = "") -> str:
    return f'ID={id_}\nPRETTY_NAME="{pretty}"\n' + (f"ID_LIKE={like}\n" if like else "")


# Family → the bundle Go and OpenSSL read after the family's refresh
# (fixes/tables.py SYSTEM_INSTALL; TS §4).
BUNDLES = {
    "debian": "/etc/ssl/certs/ca-certificates.crt",
    "alpine": "/etc/ssl/certs/ca-certificates.crt",
    "rhel": "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
    "suse": "/var/lib/ca-certificates/ca-bundle.pem",
    "arch": "/etc/ca-certificates/extracted/tls-ca-bundle.pem",
    "distroless": "/etc/ssl/certs/ca-certificates.crt",
}
ANCHOR_DIRS = {
    "debian": "/usr/local/share/ca-certificates",
    "alpine": "/usr/local/share/ca-certificates",
    "rhel": "/etc/pki/ca-trust/source/anchors",
    "suse": "/etc/pki/trust/anchors",
    "arch": "/etc/ca-certificates/trust-source/anchors",
}


def make_root(tmp: Path, family: str, *, bundle: bytes | None = None, tool: bool = False) -> Path:
    """A root laid out like ``family`` with a bundle holding one public root."""
    root = tmp / f"root-{family}"
    root.mkdir()
    content = bundle if bundle is not None else public_root().pem
    if family == "debian":
        _w(root, "/etc/os-release", os_release("debian", "Debian GNU/Linux 12 (bookworm)"))
        _w(root, "/var/lib/dpkg/status", "")
        _w(root, "/bin/sh", "", 0o755)
        _w(root, BUNDLES["debian"], content)
        (root / ANCHOR_DIRS["debian"].lstrip("/")).mkdir(parents=True)
        # as Debian 12's openssl package on this machine: OPENSSLDIR=/usr/lib/ssl
        _link(root, "/usr/lib/ssl/certs", "/etc/ssl/certs")
        _link(root, "/usr/lib/ssl/cert.pem", "/etc/ssl/certs/ca-certificates.crt")
    elif family == "alpine":
        _w(root, "/etc/os-release", os_release("alpine", "Alpine Linux v3.20"))
        _w(root, "/lib/apk/db/installed", "")
        _w(root, "/bin/sh", "", 0o755)
        _w(root, BUNDLES["alpine"], content)
        _link(root, "/etc/ssl/cert.pem", "certs/ca-certificates.crt")
    elif family == "rhel":
        _w(root, "/etc/os-release", os_release("fedora", "Fedora Linux 40"))
        _w(root, "/bin/sh", "", 0o755)
        (root / ANCHOR_DIRS["rhel"].lstrip("/")).mkdir(parents=True)
        _w(root, BUNDLES["rhel"], content)
        _link(
            root,
            "/etc/pki/tls/certs/ca-bundle.crt",
            "../../ca-trust/extracted/pem/tls-ca-bundle.pem",
        )
    elif family == "suse":
        _w(
            root,
            "/etc/os-release",
            os_release("opensuse-leap", "openSUSE Leap 15.6", "suse opensuse"),
        )
        _w(root, "/bin/sh", "", 0o755)
        (root / ANCHOR_DIRS["suse"].lstrip("/")).mkdir(parents=True)
        _w(root, BUNDLES["suse"], content)
        _link(root, "/etc/ssl/ca-bundle.pem", "../../var/lib/ca-certificates/ca-bundle.pem")
    elif family == "arch":
        _w(root, "/etc/os-release", os_release("arch", "Arch Linux"))
        _w(root, "/bin/sh", "", 0o755)
        (root / ANCHOR_DIRS["arch"].lstrip("/")).mkdir(parents=True)
        _w(root, BUNDLES["arch"], content)
        _link(
            root,
            "/etc/ssl/certs/ca-certificates.crt",
            "../../ca-certificates/extracted/tls-ca-bundle.pem",
        )
    elif family == "distroless":
        _w(root, "/etc/os-release", os_release("debian", "Distroless"))
        (root / "var/lib/dpkg/status.d").mkdir(parents=True)
        _w(root, BUNDLES["distroless"], content)
        # distroless/base carries Debian's libssl: OPENSSLDIR /usr/lib/ssl
        _link(root, "/usr/lib/ssl/cert.pem", "/etc/ssl/certs/ca-certificates.crt")
    elif family == "scratch":
        (root / "app").mkdir()
    else:  # pragma: no cover
        raise ValueError(family)
    return root


def simulate_refresh(root: Path, family: str) -> None:
    """Stand-in for update-ca-trust / SUSE's and Alpine's tools, which cannot run here.

    Does what they do to the one file Go reads: appends every certificate of
    the anchor directory that the bundle lacks (docs/fix.md says which tools
    are only simulated).
    """
    from trustdoctor.model.pem import pem_encode
    from trustdoctor.stores.apply import certs_der, fingerprints

    bundle = root / BUNDLES[family].lstrip("/")
    data = bundle.read_bytes()
    have = set(fingerprints(data))
    adir = root / ANCHOR_DIRS[family].lstrip("/")
    for f in sorted(adir.iterdir()):
        if f.name.startswith("."):
            continue
        for der in certs_der(f.read_bytes()):
            if hashlib.sha256(der).hexdigest() not in have:
                data += pem_encode(der)
    bundle.write_bytes(data)


def check(
    root: Path | str,
    ca: CertInfo,
    clients: Sequence[str],
    *,
    env: dict[str, str] | None = None,
    registry: str | None = None,
) -> dict[str, CaCheck]:
    """What trustdoctor's own client models say about ``ca`` in ``root`` (fresh read)."""
    with build_context(root=str(root), env=env or {}, registry=registry) as ctx:
        stores = inspect_stores(ctx, list(clients))
        return {s.client: check_ca(s, cert=ca) for s in stores}


@dataclass
class Run:
    code: int
    out: str
    err: str


def run_cli(args: Sequence[str]) -> Run:
    """``trustdoctor ARGS`` in this process (plain output)."""
    out, err = io.StringIO(), io.StringIO()
    old = os.environ.get("NO_COLOR")
    os.environ["NO_COLOR"] = "1"
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(list(args))
    finally:
        if old is None:
            os.environ.pop("NO_COLOR", None)
        else:
            os.environ["NO_COLOR"] = old
    return Run(code, out.getvalue(), err.getvalue())


def run_sub(
    args: Sequence[str], *, env: dict[str, str] | None = None, timeout: float = 120, **kw: object
) -> subprocess.CompletedProcess[str]:
    """``python -m trustdoctor ARGS`` in a child process."""
    e = dict(os.environ)
    e["PYTHONPATH"] = str(SRC) + os.pathsep + e.get("PYTHONPATH", "")
    e["NO_COLOR"] = "1"
    e.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "trustdoctor", *args],
        capture_output=True,
        text=True,
        env=e,
        timeout=timeout,
        check=False,
        **kw,
    )  # type: ignore[call-overload]


# A private mount namespace that makes ROOT a chroot where Debian's real
# update-ca-certificates runs: the host's /usr (read-only) provides the tool,
# sh, openssl and run-parts; ROOT's own /etc is the store written; the
# host's /usr/local/share/ca-certificates is covered by ROOT/.anchors.
NS_ROOT_SCRIPT = r"""
set -e
R="$1"; shift
mkdir -p "$R/usr" "$R/.anchors" "$R/tmp" "$R/etc/ca-certificates/update.d"
mount --bind /usr "$R/usr"
mount -o remount,bind,ro "$R/usr"
mount --bind "$R/.anchors" "$R/usr/local/share/ca-certificates"
mkdir -p "$R/dev" && touch "$R/dev/null" && mount --bind /dev/null "$R/dev/null"
for l in bin sbin lib lib64; do [ -e "$R/$l" ] || [ -L "$R/$l" ] || ln -s "usr/$l" "$R/$l"; done
"$@"
"""


def ns_debian_root(tmp: Path) -> Path:
    """A Debian root for the namespace chroot (no bundle yet, like a fresh image)."""
    root = tmp / "nsroot"
    (root / "etc/ssl/certs").mkdir(parents=True)
    (root / "var/lib/dpkg").mkdir(parents=True)
    (root / "var/lib/dpkg/status").write_text("")
    (root / "etc/ca-certificates.conf").write_text("")
    (root / "etc/os-release").write_text(os_release("debian", "Debian GNU/Linux 12 (bookworm)"))
    return root


def run_in_ns(
    root: Path, argv: Sequence[str], *, env: dict[str, str] | None = None, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    assert UNSHARE is not None
    e = dict(os.environ)
    e["PYTHONPATH"] = str(SRC) + os.pathsep + e.get("PYTHONPATH", "")
    e["NO_COLOR"] = "1"
    e.update(env or {})
    return subprocess.run(
        [UNSHARE, "-m", "sh", "-c", NS_ROOT_SCRIPT, "ns", str(root), *argv],
        capture_output=True,
        text=True,
        env=e,
        timeout=timeout,
        check=False,
    )


def host_store_digest() -> tuple[str, tuple[str, ...]]:
    """The host's compiled bundle hash and local anchor names (must never change)."""
    h = hashlib.sha256(HOST_BUNDLE.read_bytes()).hexdigest() if HOST_BUNDLE.exists() else ""
    names = tuple(sorted(p.name for p in HOST_LOCAL.iterdir())) if HOST_LOCAL.is_dir() else ()
    return h, names


@contextlib.contextmanager
def guarded_host() -> Iterator[None]:
    before = host_store_digest()
    yield
    assert host_store_digest() == before, "the host's trust store changed"


def tree(root: Path) -> dict[str, bytes]:
    """Every regular file under ``root`` with its bytes (symlinks as their target)."""
    out: dict[str, bytes] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for n in filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
            p = Path(dirpath) / n
            rel = "/" + str(p.relative_to(root))
            out[rel] = ("->" + os.readlink(p)).encode() if p.is_symlink() else p.read_bytes()
    return out
