"""Shared fixtures.  Tests never read the host's trust store: every test that
needs anchors passes them explicitly (``--trust`` or a temporary root).  Tests
never write outside temporary directories: the whole run has a private home."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import helpers.netlab as netlab
from helpers import home as home_guard
from trustdoctor.lab import pki


@pytest.fixture(scope="session", autouse=True)
def private_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """``HOME`` and ``XDG_*_HOME`` point into a temporary directory for the whole
    run (subprocesses inherit them), so a default such as the AIA cache
    (``~/.cache/trustdoctor/aia``) lands there; at the end, the run fails if
    anything under the real home's watched directories was created or changed."""
    real = home_guard.real_homes()
    before = {h: home_guard.snapshot(h) for h in real}
    home = tmp_path_factory.mktemp("home")
    with pytest.MonkeyPatch.context() as mp:
        for k, v in home_guard.private_env(home).items():
            mp.setenv(k, v)
        yield home
    found = [c for h in real for c in home_guard.changes(before[h], home_guard.snapshot(h))]
    if found:
        pytest.fail("the tests wrote into the real home directory: " + "; ".join(found[:20]))


@pytest.fixture(scope="session")
def seed_pki() -> pki.Hierarchy:
    """The seed guide's hierarchy: Example Internal Root CA → Issuing CA → registry leaf."""
    return pki.hierarchy()


@pytest.fixture(scope="module")
def files() -> Iterator[netlab.Files]:
    """A temporary directory for loopback servers' PEM files (the stdlib ssl
    API wants paths), one per test module."""
    f = netlab.Files()
    yield f
    f.cleanup()
