"""Shared fixtures.  Tests never read the host's trust store: every test that
needs anchors passes them explicitly (``--trust`` or a temporary root)."""

from __future__ import annotations

import pytest

from trustdoctor.lab import pki


@pytest.fixture(scope="session")
def seed_pki() -> pki.Hierarchy:
    """The seed guide's hierarchy: Example Internal Root CA → Issuing CA → registry leaf."""
    return pki.hierarchy()
