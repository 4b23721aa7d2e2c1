"""Where trustdoctor's caches live for a user (AIA certificates, image layers)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path


def user_cache_dir(name: str, environ: Mapping[str, str] | None = None) -> Path | None:
    """``$XDG_CACHE_HOME/trustdoctor/NAME``, else ``~/.cache/trustdoctor/NAME``.

    The XDG Base Directory spec says a relative ``XDG_CACHE_HOME`` is invalid
    and must be ignored.  ``None`` when no home directory can be determined.
    """
    env = os.environ if environ is None else environ
    xdg = env.get("XDG_CACHE_HOME", "")
    if xdg and os.path.isabs(xdg):
        return Path(xdg) / "trustdoctor" / name
    home = env.get("HOME", "")
    if not home:
        try:
            home = str(Path.home())
        except (RuntimeError, KeyError):
            return None
    return Path(home) / ".cache" / "trustdoctor" / name
