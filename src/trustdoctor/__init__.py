"""trustdoctor: diagnose TLS trust failures.

The public API is :mod:`trustdoctor.api`; it is imported lazily so that the
command line starts fast.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
