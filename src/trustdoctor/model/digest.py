"""Message digests for fingerprints and signature checks, without loading
OpenSSL's ``hashlib`` at start-up.

``import hashlib`` loads ``_hashlib``, which loads and initialises the
system's libcrypto: ~5 ms of a ~130 ms ``diagnose`` cold start
(docs/performance.md, "Digests from CPython's own modules").  CPython ships
its own implementations of the digests certificates use (``_sha2`` from
3.12, ``_sha256``/``_sha512`` before; ``_sha1``, ``_md5``, ``_sha3``): the
same functions ``hashlib`` falls back to when it is built without OpenSSL
(Lib/hashlib.py ``__get_builtin_constructor``).  A Python built without them
(``--with-builtin-hashlib-hashes`` can leave them out) gets ``hashlib``'s.
The digests are the same bytes either way; for a certificate (~1-2 KB) the
builtin ones are as fast.
"""

from __future__ import annotations

from collections.abc import Callable

TYPE_CHECKING = False  # typing's constant, without importing typing (model/record.py)
if TYPE_CHECKING:
    from typing import Any, Protocol

    class Hash(Protocol):
        """What a digest object offers (``hashlib``'s interface)."""

        def update(self, data: bytes, /) -> None: ...

        def digest(self) -> bytes: ...

        def hexdigest(self) -> str: ...


# Digest name -> the builtin modules that may hold its constructor, in the
# order tried (3.11's first: a failed import costs a search of sys.path;
# CPython 3.12 merged _sha256 and _sha512 into _sha2).
_BUILTIN: dict[str, tuple[str, ...]] = {
    "sha224": ("_sha256", "_sha2"),
    "sha256": ("_sha256", "_sha2"),
    "sha384": ("_sha512", "_sha2"),
    "sha512": ("_sha512", "_sha2"),
    "sha1": ("_sha1",),
    "md5": ("_md5",),
    "sha3_224": ("_sha3",),
    "sha3_256": ("_sha3",),
    "sha3_384": ("_sha3",),
    "sha3_512": ("_sha3",),
}

_FOUND: dict[str, Callable[..., Any] | None] = {}


def _constructor(name: str) -> Callable[..., Any] | None:
    """The builtin constructor of digest ``name``, or ``None``."""
    if name in _FOUND:
        return _FOUND[name]
    made: Callable[..., Any] | None = None
    for module in _BUILTIN.get(name, ()):
        try:
            made = getattr(__import__(module), name, None)
        except ImportError:
            continue
        if made is not None:
            break
    _FOUND[name] = made
    return made


def new(name: str, data: bytes = b"") -> Hash:
    """A digest object for ``name`` (a ``hashlib`` name: ``sha256``, ``sha1``...)
    fed ``data``; ``ValueError`` for a digest neither CPython nor OpenSSL has."""
    make = _constructor(name)
    if make is not None:
        h: Hash = make(data)
        return h
    import hashlib

    return hashlib.new(name, data)


def available(name: str) -> bool:
    """Whether :func:`new` can make digest ``name``."""
    if _constructor(name) is not None:
        return True
    import hashlib

    return name in hashlib.algorithms_available


def sha256(data: bytes = b"") -> Hash:
    return new("sha256", data)


def sha1(data: bytes = b"") -> Hash:
    return new("sha1", data)
