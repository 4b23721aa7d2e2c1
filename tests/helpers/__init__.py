"""Shared test helpers: PKIs, loopback servers, roots, images, oracles.

Paths are given here once, so that a test file can live in any area folder.
"""

from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
REPO = TESTS.parent
SRC = REPO / "src"
DOCS = REPO / "docs"
TESTDATA = TESTS / "data"
SCHEMAS = SRC / "trustdoctor" / "data"
SHARED = REPO.parent / "shared"
