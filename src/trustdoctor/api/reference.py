"""The reference anchor sets: Mozilla's roots (certifi), loaded once and only when needed."""

from __future__ import annotations

from _thread import allocate_lock  # threading.Lock itself (see sources/network.py)
from collections.abc import Iterator, Mapping

from ..model.anchors import AnchorSet, make_anchor_set


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


_LOCK = allocate_lock()
_LOADED: list[AnchorSet] = []


def mozilla_reference() -> AnchorSet:
    """certifi's Mozilla bundle: the reference of "publicly trusted" roots.

    The bundle the stores layer locates (:mod:`trustdoctor.stores.reference`),
    parsed as the stores are, so it shares their parse memo: a host's own
    bundle is mostly the same Mozilla roots (Debian 12: 92 of certifi's 117),
    parsed once for both.  Loaded once per process, however many threads
    ask at once (a scan's judging threads).
    """
    with _LOCK:
        if not _LOADED:
            _LOADED.append(_load())
        return _LOADED[0]


def _load() -> AnchorSet:
    from ..stores.certs import anchors_from_blocks
    from ..stores.reference import certifi_reference

    ref = certifi_reference()
    if ref is None:  # pragma: no cover - certifi is a dependency
        return make_anchor_set("mozilla", [])
    anchors, _unparsable = anchors_from_blocks(ref.blocks, f"certifi {ref.version}")
    return make_anchor_set("mozilla", anchors, sources=(ref.path,))
