"""``fix --apply`` under faults: killed between write and rename, read-only root, full disk,
symlinks out of the root, no privileges, no terminal; and every bad input → one line, exit code.

After each fault: no half-written store, nothing lost, one clear line.
"""

from __future__ import annotations

import json
import os
import pty
import select
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from helpers.fix import (
    BUNDLES,
    SRC,
    can_unshare,
    check,
    guarded_host,
    make_ca,
    make_root,
    run_cli,
    run_sub,
    tree,
)
from trustdoctor.lab import pki
from trustdoctor.sources.atomic import PAUSE_ENV
from trustdoctor.stores.apply import fingerprints

needs_ns = pytest.mark.skipif(not can_unshare(), reason="needs root and unshare -m")


@pytest.fixture(autouse=True)
def _host_untouched() -> object:
    with guarded_host():
        yield


def _one_line(err: str) -> str:
    lines = [x for x in err.splitlines() if x.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    assert lines[0].startswith("trustdoctor: ")
    return lines[0]


# -- interrupted write -----------------------------------------------------------------------------


def _kill_paused_fix(tmp_path: Path, ca: Any, root: Path) -> int:
    """Run ``fix --apply`` in a child that pauses between write and rename,
    SIGKILL it there, and return its pid."""
    marker = tmp_path / "paused"
    env = dict(os.environ, PYTHONPATH=str(SRC), NO_COLOR="1", **{PAUSE_ENV: str(marker)})
    argv = ["fix", "--ca", str(ca.path), "--root", str(root), "--client", "go", "--apply", "--yes"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "trustdoctor", *argv],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while not marker.exists():
        assert proc.poll() is None, "the writer exited before pausing"
        assert time.monotonic() < deadline
        time.sleep(0.02)
    pid = int(marker.read_text())
    os.kill(pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    return pid


def test_killed_between_write_and_rename(tmp_path: Path) -> None:
    """SIGKILL once the temporary file is complete, before the rename: the bundle is the old one."""
    ca = make_ca(tmp_path)
    root = make_root(tmp_path, "distroless")
    bundle = root / BUNDLES["distroless"].lstrip("/")
    original = bundle.read_bytes()
    pid = _kill_paused_fix(tmp_path, ca, root)
    # The store is exactly the old one; the only trace is our complete temporary file.
    assert bundle.read_bytes() == original
    leftovers = [p.name for p in bundle.parent.iterdir() if ".trustdoctor-tmp-" in p.name]
    assert leftovers == [f".ca-certificates.crt.trustdoctor-tmp-{pid}"]
    # ... and it is complete (fsynced before the rename): never half a bundle
    tmp_data = (bundle.parent / leftovers[0]).read_bytes()
    assert tmp_data.startswith(original) and fingerprints(tmp_data)[-1] == ca.info.sha256
    # A new run cleans up after the dead one and completes.
    r = run_cli(
        ["fix", "--ca", str(ca.path), "--root", str(root), "--client", "go", "--apply", "--yes"]
    )
    assert r.code == 0, r.err
    assert not [p for p in bundle.parent.iterdir() if ".trustdoctor-tmp-" in p.name]
    assert fingerprints(bundle.read_bytes())[-1] == ca.info.sha256
    assert (bundle.parent / "ca-certificates.crt.trustdoctor-bak").read_bytes() == original


def test_killed_while_installing_an_anchor(tmp_path: Path) -> None:
    """A new anchor file is either absent or complete; the temp name is not one the tool reads."""
    ca = make_ca(tmp_path)
    root = make_root(tmp_path, "debian")
    _kill_paused_fix(tmp_path, ca, root)
    adir = root / "usr/local/share/ca-certificates"
    names = [p.name for p in adir.iterdir()]
    assert "example-internal-root-ca.crt" not in names
    assert all(not n.endswith(".crt") for n in names)  # update-ca-certificates takes only *.crt
    r = run_cli(
        ["fix", "--ca", str(ca.path), "--root", str(root), "--client", "go", "--apply", "--yes"]
    )
    assert sorted(p.name for p in adir.iterdir()) == ["example-internal-root-ca.crt"]
    assert r.code == 1  # the rebuild is left to the user here (no tool in this root)


# -- read-only root, full disk ---------------------------------------------------------------------


@needs_ns
def test_read_only_root(tmp_path: Path) -> None:
    ca = make_ca(tmp_path)
    root = make_root(tmp_path, "distroless")
    before = tree(root)
    script = (
        f'mount --bind "{root}" "{root}" && mount -o remount,bind,ro "{root}" && '
        f'exec "{sys.executable}" -m trustdoctor fix --ca "{ca.path}" --root "{root}" '
        "--client go --apply --yes"
    )
    env = dict(os.environ, PYTHONPATH=str(SRC), NO_COLOR="1")
    r = subprocess.run(
        ["unshare", "-m", "sh", "-c", script],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert r.returncode == 3, r.stderr
    line = _one_line(r.stderr)
    assert "read-only file system" in line and "nothing was changed" in line
    assert tree(root) == before


@needs_ns
def test_full_disk(tmp_path: Path) -> None:
    """A 64 KiB tmpfs holding a 40 KiB bundle: no room for the new bundle; the old one survives."""
    ca = make_ca(tmp_path)
    big = b"".join(pki.make_cert(f"Filler Root {i}").pem for i in range(60))
    assert 30_000 < len(big) < 60_000
    root = make_root(tmp_path, "distroless", bundle=big)
    certs = root / "etc/ssl/certs"
    out = tmp_path / "result.json"
    script = f"""
set -e
cp "{certs}/ca-certificates.crt" /tmp/.td-bundle-$$
mount -t tmpfs -o size=64k tmpfs "{certs}"
cp /tmp/.td-bundle-$$ "{certs}/ca-certificates.crt"; rm /tmp/.td-bundle-$$
set +e
"{sys.executable}" -m trustdoctor fix --ca "{ca.path}" --root "{root}" --client go --apply --yes \
    >/dev/null 2>"{tmp_path}/err"
rc=$?
"{sys.executable}" - <<'PY' "$rc"
import hashlib, json, os, sys
d = "{certs}"
json.dump({{"rc": int(sys.argv[1]), "files": sorted(os.listdir(d)),
           "sha": hashlib.sha256(open(d + "/ca-certificates.crt", "rb").read()).hexdigest()}},
          open("{out}", "w"))
PY
"""
    env = dict(os.environ, PYTHONPATH=str(SRC), NO_COLOR="1")
    r = subprocess.run(
        ["unshare", "-m", "sh", "-c", script],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert r.returncode == 0, r.stderr
    res = json.loads(out.read_text())
    import hashlib

    assert res["rc"] == 3
    assert res["sha"] == hashlib.sha256(big).hexdigest()  # the old bundle, intact
    assert res["files"] == ["ca-certificates.crt"]  # no temporary file left behind
    line = _one_line((tmp_path / "err").read_text())
    assert "no space left on device" in line


# -- symlinks, privileges --------------------------------------------------------------------------


def test_symlinked_directory_outside_root(tmp_path: Path) -> None:
    ca = make_ca(tmp_path)
    root = make_root(tmp_path, "debian")
    outside = tmp_path / "outside"
    outside.mkdir()
    (root / "etc/docker/certs.d").mkdir(parents=True)
    (root / "etc/docker/certs.d/reg.example:5000").symlink_to(outside)
    (root / "usr/bin").mkdir(parents=True, exist_ok=True)
    (root / "usr/bin/dockerd").write_bytes(b"")
    before = tree(root)
    r = run_cli(
        [
            "fix",
            "--ca",
            str(ca.path),
            "--root",
            str(root),
            "--client",
            "docker",
            "--registry",
            "reg.example:5000",
            "--apply",
            "--yes",
        ]
    )
    assert r.code == 2
    line = _one_line(r.err)
    assert "leads outside the root" in line and "reg.example:5000" in line
    assert list(outside.iterdir()) == []
    assert tree(root) == before


def test_symlinked_target_file_outside_root(tmp_path: Path) -> None:
    ca = make_ca(tmp_path)
    root = make_root(tmp_path, "distroless")
    victim = tmp_path / "victim.pem"
    victim.write_bytes(b"precious\n")
    bundle = root / BUNDLES["distroless"].lstrip("/")
    bundle.unlink()
    bundle.symlink_to(victim)
    r = run_cli(
        ["fix", "--ca", str(ca.path), "--root", str(root), "--client", "go", "--apply", "--yes"]
    )
    assert r.code == 2
    assert "leads outside the root" in _one_line(r.err)
    assert victim.read_bytes() == b"precious\n"
    assert bundle.is_symlink()


def test_symlink_inside_root_is_followed(tmp_path: Path) -> None:
    """Alpine's /etc/ssl/cert.pem style: a link inside the root is written through and kept."""
    ca = make_ca(tmp_path)
    root = make_root(tmp_path, "distroless")
    bundle = root / BUNDLES["distroless"].lstrip("/")
    real = root / "etc/ssl/certs/real-bundle.pem"
    bundle.rename(real)
    bundle.symlink_to("real-bundle.pem")
    r = run_cli(
        ["fix", "--ca", str(ca.path), "--root", str(root), "--client", "go", "--apply", "--yes"]
    )
    assert r.code == 0, r.err
    assert bundle.is_symlink() and os.readlink(bundle) == "real-bundle.pem"
    assert ca.info.sha256 in fingerprints(real.read_bytes())


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to drop to another user")
def test_needs_privileges(tmp_path: Path) -> None:
    """Not root, writing a root-owned system path: exit 3 with a clear message, nothing written."""
    import tempfile

    # pytest's tmp_path lives under a 0700 directory: use one "nobody" can traverse.
    tmp_path = Path(tempfile.mkdtemp(prefix="td-priv-"))
    tmp_path.chmod(0o755)
    try:
        _needs_privileges(tmp_path)
    finally:
        import shutil

        shutil.rmtree(tmp_path, ignore_errors=True)


def _needs_privileges(tmp_path: Path) -> None:
    ca = make_ca(tmp_path)
    root = make_root(tmp_path, "debian")
    for p in [root, *root.rglob("*")]:
        if p.is_dir() and not p.is_symlink():
            p.chmod(0o755)
    ca.path.chmod(0o644)
    tmp_path.chmod(0o755)
    before = tree(root)
    # Import everything the run needs first: the child drops privileges and
    # cannot read the interpreter's site-packages under /root any more.
    warm = make_root(tmp_path / "warm", "debian") if (tmp_path / "warm").mkdir() is None else None
    assert warm is not None
    run_cli(["fix", "--ca", str(ca.path), "--root", str(warm), "--client", "go"])
    r_fd, w_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        try:
            os.close(r_fd)
            os.setegid(65534)
            os.seteuid(65534)
            from trustdoctor.cli.main import main

            sys.stderr = os.fdopen(w_fd, "w", buffering=1)
            with open(os.devnull, "w") as null:
                sys.stdout = null
                rc = main(
                    [
                        "fix",
                        "--ca",
                        str(ca.path),
                        "--root",
                        str(root),
                        "--client",
                        "go",
                        "--apply",
                        "--yes",
                    ]
                )
        except BaseException:
            rc = 99
        sys.stderr.flush()
        os._exit(rc)
    os.close(w_fd)
    _, status = os.waitpid(pid, 0)
    err = os.read(r_fd, 65536).decode()
    os.close(r_fd)
    assert os.waitstatus_to_exitcode(status) == 3, err
    line = _one_line(err)
    assert "needs root privileges" in line
    assert tree(root) == before


# -- confirmation ----------------------------------------------------------------------------------


def test_no_terminal_and_no_yes_refuses(tmp_path: Path) -> None:
    ca = make_ca(tmp_path)
    root = make_root(tmp_path, "distroless")
    before = tree(root)
    r = run_sub(
        ["fix", "--ca", str(ca.path), "--root", str(root), "--client", "go", "--apply"],
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    assert r.returncode == 2
    assert "--yes" in _one_line(r.stderr)
    assert tree(root) == before


def _pty_run(args: list[str], answer: bytes) -> tuple[int, str]:
    pid, fd = pty.fork()
    if pid == 0:  # pragma: no cover - child
        os.environ["PYTHONPATH"] = str(SRC)
        os.environ["NO_COLOR"] = "1"
        os.execv(sys.executable, [sys.executable, "-m", "trustdoctor", *args])
    out = b""
    answered = False
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        r, _, _ = select.select([fd], [], [], 0.5)
        if r:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
        if not answered and b"Proceed? [y/N]" in out:
            os.write(fd, answer)
            answered = True
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), out.decode("utf-8", "replace")


def test_terminal_confirmation_yes(tmp_path: Path) -> None:
    ca = make_ca(tmp_path)
    root = make_root(tmp_path, "distroless")
    code, out = _pty_run(
        ["fix", "--ca", str(ca.path), "--root", str(root), "--client", "go", "--apply"], b"y\n"
    )
    assert code == 0, out
    assert f"sha256 {ca.info.sha256[:2].upper()}:" in out  # the fingerprint is shown before asking
    assert check(root, ca.info, ["go"])["go"].trusted


def test_terminal_confirmation_no(tmp_path: Path) -> None:
    ca = make_ca(tmp_path)
    root = make_root(tmp_path, "distroless")
    before = tree(root)
    code, out = _pty_run(
        ["fix", "--ca", str(ca.path), "--root", str(root), "--client", "go", "--apply"], b"n\n"
    )
    assert code == 2, out
    assert "not confirmed" in out
    assert tree(root) == before


# -- refusals and bad input ------------------------------------------------------------------------


def test_refuses_a_leaf_unless_forced(tmp_path: Path) -> None:
    h = pki.hierarchy()
    leaf = tmp_path / "leaf.pem"
    leaf.write_bytes(h.leaf.pem)
    root = make_root(tmp_path, "distroless")
    before = tree(root)
    r = run_cli(
        ["fix", "--ca", str(leaf), "--root", str(root), "--client", "go", "--apply", "--yes"]
    )
    assert r.code == 2 and "leaf certificate" in _one_line(r.err) and "--force" in r.err
    assert tree(root) == before
    r = run_cli(
        [
            "fix",
            "--ca",
            str(leaf),
            "--root",
            str(root),
            "--client",
            "go",
            "--apply",
            "--yes",
            "--force",
        ]
    )
    assert r.code == 0, r.err
    assert "warning" in r.err


def test_refuses_an_expired_root_even_forced(tmp_path: Path) -> None:
    old = pki.make_cert(
        "Old Root", not_before=pki.NOW.replace(year=2010), not_after=pki.NOW.replace(year=2020)
    )
    p = tmp_path / "old.pem"
    p.write_bytes(old.pem)
    for extra in ([], ["--force"]):
        r = run_cli(["fix", "--ca", str(p), "--client", "go", *extra])
        assert r.code == 2 and "expired" in _one_line(r.err)


def test_refuses_private_keys_without_showing_them(tmp_path: Path) -> None:
    ca = pki.make_cert("Keyed Root")
    both = tmp_path / "both.pem"
    both.write_bytes(ca.pem + ca.key_pem)
    key = tmp_path / "key.pem"
    key.write_bytes(ca.key_pem)
    secret = ca.key_pem.decode().splitlines()[1]
    for p in (both, key):
        r = run_cli(["fix", "--ca", str(p), "--client", "go"])
        assert r.code == 2
        line = _one_line(r.err)
        assert "private key" in line and secret[:20] not in r.err + r.out


@pytest.mark.parametrize(
    "args,code,needle",
    [
        (["fix"], 2, "--ca ROOT.pem"),
        (["fix", "--ca", "/nonexistent/root.pem"], 2, "no such file"),
        (["fix", "--cause", "no-such-cause"], 2, "unknown cause"),
        (["fix", "--cause", "stale-bundle", "--client", "nosuch"], 2, "unknown client"),
        (["fix", "--cause", "missing-intermediate", "--server", "iis"], 2, "--server"),
        (["fix", "--cause", "stale-bundle", "--yes"], 2, "--apply"),
        (["fix", "--cause", "stale-bundle", "--root", "/nonexistent/dir"], 2, "no such directory"),
        (["fix", "--for", "x", "--cause", "ok"], 2, "cannot be combined"),
    ],
)
def test_bad_usage_one_line(args: list[str], code: int, needle: str) -> None:
    r = run_cli(args)
    assert r.code == code, r.err
    assert needle in _one_line(r.err)


def test_garbage_and_multi_cert_ca(tmp_path: Path) -> None:
    g = tmp_path / "garbage.pem"
    g.write_bytes(os.urandom(300))
    r = run_cli(["fix", "--ca", str(g)])
    assert r.code == 2 and _one_line(r.err)
    h = pki.hierarchy()
    two = tmp_path / "two.pem"
    two.write_bytes(h.root.pem + h.intermediate.pem)
    r = run_cli(["fix", "--ca", str(two)])
    assert r.code == 2 and "2 certificates" in _one_line(r.err)


def test_apply_needs_the_ca_itself(tmp_path: Path) -> None:
    root = make_root(tmp_path, "debian")
    r = run_cli(
        [
            "fix",
            "--cause",
            "untrusted-root",
            "--root",
            str(root),
            "--client",
            "go",
            "--apply",
            "--yes",
        ]
    )
    assert r.code == 2 and "--ca" in _one_line(r.err)


def test_apply_refuses_an_image(tmp_path: Path) -> None:
    from helpers.images import docker_save, layer

    ca = make_ca(tmp_path)
    img = docker_save(
        tmp_path / "img.tar",
        [layer([("file", "etc/os-release", "ID=alpine\n"), ("file", "lib/apk/db/installed", "")])],
    )
    r = run_cli(["fix", "--ca", str(ca.path), "--image", str(img), "--apply", "--yes"])
    assert r.code == 2 and "image" in _one_line(r.err)
    r = run_cli(["fix", "--ca", str(ca.path), "--image", str(img), "--client", "go"])
    assert r.code == 1 and "COPY" in r.out and "sudo" not in r.out
