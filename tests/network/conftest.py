"""Fixtures shared by the network tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import helpers.netlab as netlab


@pytest.fixture(scope="module")
def files() -> Iterator[netlab.Files]:
    """A temporary directory for the servers' PEM files (the stdlib ssl API
    wants paths), one per test module."""
    f = netlab.Files()
    yield f
    f.cleanup()
