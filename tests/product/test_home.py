"""Tests never write outside temporary directories: the run's home is private
(tests/conftest.py), defaults that live under $HOME land there, subprocesses
inherit it, and the guard that compares the real home before and after works."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from helpers import SRC
from helpers import home as home_guard
from helpers.aia import AiaServer, der, static
from trustdoctor.lab import pki
from trustdoctor.sources.aia import default_cache_dir


def test_home_and_xdg_directories_are_private(private_home: Path) -> None:
    assert os.environ["HOME"] == str(private_home)
    for var in home_guard.XDG:
        assert Path(os.environ[var]).is_relative_to(private_home), var
    assert all(not private_home.is_relative_to(h) or str(h) == "/" for h in home_guard.real_homes())
    cache = default_cache_dir()
    assert cache is not None and cache.is_relative_to(private_home)


def test_a_default_cache_written_by_a_subprocess_lands_in_the_private_home(
    private_home: Path, tmp_path: Path
) -> None:
    """``chain --fetch`` without ``--cache`` writes the default AIA cache: in a
    child process, that is the private home's, never the real one's."""
    real = home_guard.real_homes()
    before = {h: home_guard.snapshot(h) for h in real}
    root = pki.make_cert("Home Guard Root")
    inter = pki.make_cert("Home Guard Issuing CA", issuer=root)
    with AiaServer() as site:
        site.routes["/i.cer"] = static(der(inter))
        url = site.url("/i.cer")
        leaf = pki.make_cert("home.test", issuer=inter, ca=False, aia_ca_issuers=[url])
        (tmp_path / "leaf.pem").write_bytes(leaf.pem)
        (tmp_path / "root.pem").write_bytes(root.pem)
        env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
        env["PYTHONPATH"] = str(SRC)
        out = subprocess.run(
            [sys.executable, "-m", "trustdoctor", "chain", str(tmp_path / "leaf.pem"),
             "--trust", str(tmp_path / "root.pem"), "--host", "home.test", "--fetch"],
            capture_output=True, text=True, env=env, timeout=60,
        )  # fmt: skip
    assert out.returncode == 1, out.stderr  # missing intermediate, confirmed by the fetch
    assert site.hits["/i.cer"] == 1
    cached = list((private_home / ".cache" / "trustdoctor" / "aia").glob("*.aia"))
    assert len(cached) >= 1
    assert all(not home_guard.changes(before[h], home_guard.snapshot(h)) for h in real)


def test_the_guard_sees_every_write(tmp_path: Path) -> None:
    fake = tmp_path / "home"
    (fake / ".docker").mkdir(parents=True)
    (fake / ".docker" / "config.json").write_text("{}")
    (fake / ".bashrc").write_text("# not watched\n")
    before = home_guard.snapshot(fake)
    assert home_guard.changes(before, home_guard.snapshot(fake)) == []
    (fake / ".bashrc").write_text("# changed, but not trustdoctor's business\n")
    aia = fake / ".cache" / "trustdoctor" / "aia"
    aia.mkdir(parents=True)
    (aia / "x.aia").write_bytes(b"entry")
    (fake / ".docker" / "config.json").write_text('{"auths": {}}')
    (fake / ".trustdoctor-tmp").write_text("x")
    found = home_guard.changes(before, home_guard.snapshot(fake))
    assert found == [
        f"created {fake}/.cache/trustdoctor",
        f"created {aia}",
        f"created {aia}/x.aia",
        f"created {fake}/.trustdoctor-tmp",
        f"changed {fake}/.docker/config.json",
    ]
