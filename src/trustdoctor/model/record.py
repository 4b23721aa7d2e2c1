"""``@record``: the frozen dataclass every result, finding and table row is.

``@dataclass(frozen=True)`` on CPython 3.11 compiles six methods per class
with ``exec`` (``__init__``, ``__repr__``, ``__eq__``, ``__hash__``,
``__setattr__``, ``__delattr__``): ~1.3 ms per class on the development
machine whatever the number of fields (a compile costs ~0.15 ms however small
the function), and ``trustdoctor diagnose`` defines ~45 of them on its way to
an answer, a quarter of its start-up.  A record is a dataclass whose only
compiled method is ``__init__``; every record shares one ``__eq__``,
``__hash__`` and ``__repr__`` and one frozen ``__setattr__``/``__delattr__``.

They behave as the generated ones: the same fields by the
``compare``/``hash``/``repr`` options of :func:`dataclasses.field`; equal only
to an instance of the very same class; the same text; assigning or deleting
any attribute raises :class:`dataclasses.FrozenInstanceError` with the same
message.  ``dataclasses.fields``, ``replace``, ``asdict``, copying and
pickling work, and mypy checks a record as a frozen dataclass
(``dataclass_transform``).  Comparisons and hashes read the fields through a
C-level :func:`operator.attrgetter` made once per class, so they cost what
the generated ones cost.  Two differences, both invisible to the package:

* ``__init__`` assigns each field through the shared ``__setattr__``, which
  lets a field be set once (what ``__init__`` does) and never again, writing
  into the instance's dict: a 10-field instance takes 2.4 µs to make instead
  of 1.7 µs, against ~0.4 ms less per class at import.  A field ``__init__``
  does not set (``init=False`` without a default) can thus be set once
  afterwards.
* ``__dataclass_params__.frozen`` is False (what ``dataclasses`` was asked
  for), so a ``@dataclass(frozen=True)`` cannot inherit from a record (the
  package has none; tests/engine/test_record.py keeps it so).

Methods a class defines itself are kept.  Measured in docs/performance.md
("Start-up trimmed").
"""

from __future__ import annotations

import dataclasses
import reprlib
from collections.abc import Callable
from dataclasses import FrozenInstanceError
from operator import attrgetter
from typing import Any, TypeVar, dataclass_transform

_T = TypeVar("_T")

# The per-class readers are class attributes under these names.
_FIELDS = "_record_fields"
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


def _setattr(self: Any, name: str, value: Any) -> None:
    # Once per field, from __init__ (the field is not in the instance yet);
    # anything else is what a frozen dataclass refuses.  The value goes into
    # the instance's dict directly: what object.__setattr__ does for a name
    # without a data descriptor (checked per class), at ~60% of its cost.
    d = self.__dict__
    if name in d or name not in type(self)._record_fields:
        raise FrozenInstanceError(f"cannot assign to field {name!r}")
    d[name] = value


def _setattr_descriptors(self: Any, name: str, value: Any) -> None:
    # The same, for a class where a field's name is also a data descriptor.
    if name in self.__dict__ or name not in type(self)._record_fields:
        raise FrozenInstanceError(f"cannot assign to field {name!r}")
    object.__setattr__(self, name, value)


def _delattr(self: Any, name: str) -> None:
    raise FrozenInstanceError(f"cannot delete field {name!r}")


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


def _data_descriptor(cls: type, name: str) -> bool:
    # As attribute lookup finds it: in the class's MRO, without calling it.
    for klass in cls.__mro__:
        if name in klass.__dict__:
            return hasattr(type(klass.__dict__[name]), "__set__")
    return False


@dataclass_transform(frozen_default=True, field_specifiers=(dataclasses.field, dataclasses.Field))
def record(cls: type[_T], /) -> type[_T]:
    """Make ``cls`` a record (see the module's docstring)."""
    own = {k for k, v in cls.__dict__.items() if not (k == "__hash__" and v is None)}
    # (A class that defines __eq__ gets __hash__ = None from Python itself;
    # dataclasses does not count that as a hash of the class's own.)
    made = dataclasses.dataclass(eq=False, repr=False)(cls)
    fields = dataclasses.fields(made)  # type: ignore[arg-type]
    compare = tuple(f.name for f in fields if f.compare)
    hashed = tuple(f.name for f in fields if (f.compare if f.hash is None else f.hash))
    names = frozenset(f.name for f in fields)
    setattr(made, _FIELDS, names)
    described = any(_data_descriptor(made, n) for n in names)
    setattr(made, _COMPARE, _tuple_of(compare))
    setattr(made, _HASH, _tuple_of(hashed))
    setattr(made, _REPR, tuple(f.name for f in fields if f.repr))
    shared = (
        ("__eq__", _eq),
        ("__hash__", _hash),
        ("__repr__", _repr),
        ("__setattr__", _setattr_descriptors if described else _setattr),
        ("__delattr__", _delattr),
    )
    for name, method in shared:
        if name not in own:
            setattr(made, name, method)
    return made
