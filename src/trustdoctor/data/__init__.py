"""Read-only data shipped inside the package: JSON tables and their schemas.

:func:`read` is the one place that reads package data (an exception to the
purity rule of tests/product/test_architecture.py: packaged, read-only data
is part of the program, like its code).  It goes through the package's
loader, so it works from a source tree, a wheel or a zip.  ``pkgutil`` rather
than ``importlib.resources``: the same loader call, without the ~15 ms that
importing ``importlib.resources`` (tempfile, zipfile...) adds to a cold start
on Python 3.11 (docs/performance.md).
"""

from __future__ import annotations

import pkgutil

from ..errors import TrustDoctorError


def read(name: str) -> bytes:
    """The bytes of the packaged data file ``name`` (``"messages.json"``).

    Raises:
        TrustDoctorError: the file is missing or unreadable (a broken install).
    """
    try:
        data = pkgutil.get_data(__name__, name)
    except OSError as exc:
        raise TrustDoctorError(
            f"packaged data file {name} is missing or unreadable ({exc.strerror or exc}): "
            "reinstall trustdoctor"
        ) from None
    if data is None:  # pragma: no cover - a loader without get_data
        raise TrustDoctorError(f"packaged data file {name} cannot be read by this loader")
    return data
