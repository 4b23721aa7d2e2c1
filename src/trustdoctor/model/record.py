"""``@record``: the frozen dataclass every result, finding and table row is.

``@dataclass(frozen=True)`` on CPython 3.11 compiles six methods per class
with ``exec`` (``__init__``, ``__repr__``, ``__eq__``, ``__hash__``,
``__setattr__``, ``__delattr__``): ~1.3 ms per class on the development
machine whatever the number of fields (a compile costs ~0.15 ms however small
the function), and ``trustdoctor diagnose`` defines ~45 of them on its way to
an answer, a quarter of its start-up.  A record compiles nothing when it is
defined: every record shares one ``__eq__``, ``__hash__`` and ``__repr__``,
one frozen ``__setattr__``/``__delattr__``, and one ``__init__`` driven by a
per-class table; a class whose instances are made often (32) gets its own
compiled ``__init__`` then.

They behave as the generated ones: the same fields by the
``compare``/``hash``/``repr`` options of :func:`dataclasses.field`; the same
argument binding and TypeErrors in ``__init__``; equal only to an instance of
the very same class; the same text; assigning or deleting any attribute
raises :class:`dataclasses.FrozenInstanceError` with the same message.
``dataclasses.fields``, ``replace``, ``asdict``, copying and pickling work,
and mypy checks a record as a frozen dataclass (``dataclass_transform``).
Comparisons and hashes read the fields through a C-level
:func:`operator.attrgetter` made once per class, so they cost what the
generated ones cost.  Differences, all invisible to the package:

* ``__init__`` writes the fields into the instance's dict; the shared
  ``__setattr__`` lets a field that ``__init__`` did not set (``init=False``
  without a default) be set once afterwards, and refuses everything else.
* ``__dataclass_params__.frozen`` is False (what ``dataclasses`` was asked
  for), so a ``@dataclass(frozen=True)`` cannot inherit from a record (the
  package has none; tests/engine/test_record.py keeps it so).
* ``InitVar`` and ``KW_ONLY`` fields are refused (no record has them).

Methods a class defines itself are kept.  Measured in docs/performance.md
("Start-up trimmed", "Records without a compile per class").
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
_INIT = "_record_init"


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
    # Once, for a field __init__ did not set (init=False without a default);
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


class _InitSpec:
    """What the shared ``__init__`` needs of a class: its init fields in order,
    their defaults and factories, the ``init=False`` fields that have one,
    whether a field is also a data descriptor, and ``__post_init__``."""

    __slots__ = (
        "after",
        "defaults",
        "described",
        "factories",
        "made",
        "names",
        "post",
        "qualname",
        "set",
        "uses",
    )

    def __init__(
        self, made: type, fields: tuple[dataclasses.Field[Any], ...], described: bool
    ) -> None:
        missing = dataclasses.MISSING
        init = [f for f in fields if f.init]
        self.names = tuple(f.name for f in init)
        self.set = frozenset(self.names)
        self.defaults = {f.name: f.default for f in init if f.default is not missing}
        self.factories = {
            f.name: f.default_factory for f in init if f.default_factory is not missing
        }
        self.after: tuple[tuple[str, Callable[[], Any]], ...] = tuple(
            (f.name, f.default_factory if f.default_factory is not missing else _const(f.default))
            for f in fields
            if not f.init and (f.default is not missing or f.default_factory is not missing)
        )
        self.described = described
        self.post = hasattr(made, "__post_init__")
        self.qualname = made.__qualname__
        self.made = made
        self.uses = 0


def _const(value: Any) -> Callable[[], Any]:
    return lambda: value


# A class whose instances are made this many times gets a compiled __init__.
_COMPILE_AFTER = 32


def _compiled_init(spec: _InitSpec) -> Callable[..., None]:
    """The class's own ``__init__``, as dataclasses would write it, but storing
    into the instance's dict directly (no frozen ``__setattr__`` per field)."""
    glob: dict[str, Any] = {"__builtins__": __builtins__, "_FACTORY": _FACTORY}
    params = []
    body = ["    __td_d = self.__dict__"] if not spec.described else []
    for i, n in enumerate(spec.names):
        if n in spec.defaults:
            glob[f"__td_dflt_{i}"] = spec.defaults[n]
            params.append(f"{n}=__td_dflt_{i}")
        elif n in spec.factories:
            glob[f"__td_fact_{i}"] = spec.factories[n]
            params.append(f"{n}=_FACTORY")
            body.append(f"    if {n} is _FACTORY: {n} = __td_fact_{i}()")
        else:
            params.append(n)
    stores = [(n, n) for n in spec.names]
    for i, (n, make) in enumerate(spec.after):
        glob[f"__td_after_{i}"] = make
        stores.append((n, f"__td_after_{i}()"))
    for n, value in stores:
        if spec.described:
            body.append(f"    object.__setattr__(self, {n!r}, {value})")
        else:
            body.append(f"    __td_d[{n!r}] = {value}")
    if spec.post:
        body.append("    self.__post_init__()")
    src = f"def __init__(self, {', '.join(params)}):\n" + "\n".join(body or ["    pass"])
    exec(src, glob)
    fn: Callable[..., None] = glob["__init__"]
    fn.__qualname__ = f"{spec.qualname}.__init__"
    return fn


_FACTORY: Any = object()  # the default of a field made by a factory, in a compiled __init__


def _init(self: Any, *args: Any, **kwargs: Any) -> None:
    # The first __init__ of every record, driven by the class's _InitSpec: no
    # function is compiled when a class is defined (dataclasses compiles one
    # with ``exec``, ~0.3-0.5 ms each at import, and a command uses a fraction
    # of the classes it imports); a class made often gets its own compiled
    # __init__ after _COMPILE_AFTER instances.  Arguments bind as the
    # generated __init__ binds them, with the same TypeErrors.
    spec: _InitSpec = type(self)._record_init
    spec.uses += 1
    if spec.uses == _COMPILE_AFTER and type(self).__init__ is _init:
        # (A race makes it twice: the same function.)
        type.__setattr__(spec.made, "__init__", _compiled_init(spec))
    names = spec.names
    if len(args) > len(names):
        raise TypeError(
            f"{spec.qualname}.__init__() takes {len(names) + 1} positional arguments"
            f" but {len(args) + 1} were given"
        )
    if kwargs:  # (a fresh dict per call: ours to fill)
        if not spec.set.issuperset(kwargs):
            k = next(k for k in kwargs if k not in spec.set)
            raise TypeError(f"{spec.qualname}.__init__() got an unexpected keyword argument {k!r}")
        for n, v in zip(names, args, strict=False):
            if n in kwargs:
                raise TypeError(
                    f"{spec.qualname}.__init__() got multiple values for argument {n!r}"
                )
            kwargs[n] = v
        values = kwargs
    else:
        values = dict(zip(names, args, strict=False))
    if len(values) < len(names):
        lacking = []
        for n in names:
            if n not in values:
                if n in spec.defaults:
                    values[n] = spec.defaults[n]
                elif n in spec.factories:
                    values[n] = spec.factories[n]()
                else:
                    lacking.append(n)
        if lacking:
            raise TypeError(
                f"{spec.qualname}.__init__() missing {len(lacking)} required argument"
                f"{'s' if len(lacking) > 1 else ''}: {', '.join(map(repr, lacking))}"
            )
    if kwargs:
        # The generated __init__ sets the fields in field order (vars(), copies).
        values = {n: values[n] for n in names}
    for n, make in spec.after:
        values[n] = make()
    if spec.described:
        for n, v in values.items():
            object.__setattr__(self, n, v)
    else:
        self.__dict__.update(values)
    if spec.post:
        self.__post_init__()


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
    made = dataclasses.dataclass(eq=False, repr=False, init=False)(cls)
    fields = dataclasses.fields(made)  # type: ignore[arg-type]
    if any(
        f.kw_only or f._field_type is not dataclasses._FIELD  # type: ignore[attr-defined]
        for f in made.__dataclass_fields__.values()  # type: ignore[attr-defined]
    ):
        raise TypeError(f"{cls.__qualname__}: a record takes no InitVar or KW_ONLY field")
    names = frozenset(f.name for f in fields)
    described = any(_data_descriptor(made, n) for n in names)
    if "__init__" not in own:
        setattr(made, _INIT, _InitSpec(made, fields, described))
        setattr(made, "__init__", _init)  # noqa: B010 (mypy: a method is not assigned)
    compare = tuple(f.name for f in fields if f.compare)
    hashed = tuple(f.name for f in fields if (f.compare if f.hash is None else f.hash))
    setattr(made, _FIELDS, names)
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


@dataclass_transform(frozen_default=True, field_specifiers=(dataclasses.field, dataclasses.Field))
def identity_record(cls: type[_T], /) -> type[_T]:
    """A record equal only to itself and hashed by identity (what
    ``@dataclass(frozen=True, eq=False)`` gives): for the working objects of
    a computation (a parsed element, a model's view of a certificate), which
    are compared by who they are, not by value."""
    cls.__eq__ = object.__eq__  # type: ignore[method-assign]
    cls.__hash__ = object.__hash__  # type: ignore[method-assign]
    return record(cls)
