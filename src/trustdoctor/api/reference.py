"""The reference anchor sets: Mozilla's roots (certifi), loaded once and only when needed."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from functools import lru_cache
from pathlib import Path

from ..errors import InputError
from ..model.anchors import Anchor, AnchorSet, make_anchor_set
from ..sources.files import load_bytes


class LazyReference(Mapping[str, AnchorSet]):
    """The reference sets, loaded on first use.

    Only a chain that reaches no anchor needs them (to tell a missing root
    from a missing intermediate), so a trusted chain never pays for parsing
    certifi's bundle.
    """

    _names = ("mozilla",)

    def __getitem__(self, key: str) -> AnchorSet:
        if key == "mozilla":
            return mozilla_reference()
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


@lru_cache(maxsize=1)
def mozilla_reference() -> AnchorSet:
    """certifi's Mozilla bundle: the reference of "publicly trusted" roots."""
    import certifi

    path = certifi.where()
    try:
        loaded = load_bytes(Path(path).read_bytes(), f"certifi {certifi.__version__}")
    except (OSError, InputError):
        return make_anchor_set("mozilla", [])
    return make_anchor_set(
        "mozilla", [Anchor(c.cert, c.provenance) for c in loaded.certs], sources=(path,)
    )
