"""``@record``: the frozen dataclass every result, finding and table row is.

``@dataclass(frozen=True)`` on CPython 3.11 compiles six methods per class
with ``exec`` (``__init__``, ``__repr__``, ``__eq__``, ``__hash__``,
``__setattr__``, ``__delattr__``): ~1.3 ms per class on the development
machine whatever the number of fields (measured: a compile costs ~0.15 ms
however small the function), and ``trustdoctor diagnose`` defines ~45 of
them on its way to an answer, a quarter of its start-up.  A record is exactly
a ``@dataclass(frozen=True)`` (``dataclasses.fields``, ``replace``,
``asdict`` and pickling work, mypy checks it as one through
``dataclass_transform``), except that ``dataclasses`` compiles only what must
be specific to the class (``__init__`` and the frozen ``__setattr__`` and
``__delattr__``) and every record shares one ``__eq__``, one ``__hash__`` and
one ``__repr__``.  They behave as the generated ones (the same fields, by the
``compare``/``hash``/``repr`` options of :func:`dataclasses.field`; equal
only to an instance of the very same class; the same text) and read the
fields through a C-level :func:`operator.attrgetter` made once per class, so a
comparison or a hash costs what the generated one costs.  Measured in
docs/performance.md ("Start-up trimmed").  Methods a class defines itself
are kept.
"""

from __future__ import annotations

import dataclasses
import reprlib
from collections.abc import Callable
from operator import attrgetter
from typing import Any, TypeVar, dataclass_transform

_T = TypeVar("_T")

# The per-class readers are class attributes under these names.
_COMPARE = "_record_compare"
_HASH = "_record_hash"
_REPR = "_record_repr"


def _tuple_of(names: tuple[str, ...]) -> Callable[[Any], tuple[Any, ...]]:
    # attrgetter returns a tuple for two names or more and the bare value for
    # one; the generated methods compare and hash tuples (identity first, as
    # tuples do), so one name and none are made tuples too.
    if len(names) > 1:
        return attrgetter(*names)
    if names:
        one = attrgetter(names[0])
        return lambda obj: (one(obj),)
    return lambda obj: ()


def _eq(self: Any, other: Any) -> Any:
    if other.__class__ is self.__class__:
        key = getattr(self.__class__, _COMPARE)
        return key(self) == key(other)
    return NotImplemented


def _hash(self: Any) -> int:
    return hash(getattr(self.__class__, _HASH)(self))


@reprlib.recursive_repr()
def _repr(self: Any) -> str:
    cls = self.__class__
    parts = ", ".join(f"{name}={getattr(self, name)!r}" for name in getattr(cls, _REPR))
    return f"{cls.__qualname__}({parts})"


@dataclass_transform(frozen_default=True, field_specifiers=(dataclasses.field, dataclasses.Field))
def record(cls: type[_T], /) -> type[_T]:
    """Make ``cls`` a frozen dataclass with the shared ``__eq__``,
    ``__hash__`` and ``__repr__`` (see the module's docstring)."""
    own = {k for k, v in cls.__dict__.items() if not (k == "__hash__" and v is None)}
    # (A class that defines __eq__ gets __hash__ = None from Python itself;
    # dataclasses does not count that as a hash of the class's own.)
    made = dataclasses.dataclass(frozen=True, eq=False, repr=False)(cls)
    fields = dataclasses.fields(made)  # type: ignore[arg-type]
    compare = tuple(f.name for f in fields if f.compare)
    hashed = tuple(f.name for f in fields if (f.compare if f.hash is None else f.hash))
    setattr(made, _COMPARE, _tuple_of(compare))
    setattr(made, _HASH, _tuple_of(hashed))
    setattr(made, _REPR, tuple(f.name for f in fields if f.repr))
    for name, method in (("__eq__", _eq), ("__hash__", _hash), ("__repr__", _repr)):
        if name not in own:
            setattr(made, name, method)
    return made
