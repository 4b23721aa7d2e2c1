"""Known differences between trustdoctor's client models and the real programs.

The oracle tests (tests/engine/test_oracles.py) and the conformance report
(``python -m trustdoctor.conformance.oracles``) fail on any disagreement
between a model and the real program of its version, unless the case is
listed here with the reason.  Keys: the tally name, then the case id.
"""

from __future__ import annotations

from collections.abc import Mapping

KNOWN_DIFFERENCES: Mapping[str, Mapping[str, str]] = {}
