"""``@record``: the frozen dataclass every result, finding and table row is
(and ``@mutable_record``, the plain ``@dataclass`` of working state).

``@dataclass(frozen=True)`` on CPython 3.11 compiles six methods per class
with ``exec`` (``__init__``, ``__repr__``, ``__eq__``, ``__hash__``,
``__setattr__``, ``__delattr__``): ~1.3 ms per class on the development
machine whatever the number of fields (a compile costs ~0.15 ms however small
the function), and ``trustdoctor diagnose`` defines ~45 of them on its way to
an answer, a quarter of its start-up.  A record compiles nothing when it is
defined: every record shares one ``__eq__``, ``__hash__`` and ``__repr__``,
one frozen ``__setattr__``/``__delattr__``, and one ``__init__`` driven by a
per-class table; a class whose instances are made often (32) gets its own
compiled ``__init__`` then.  Nor does it import :mod:`dataclasses` (which
imports :mod:`inspect`, ~14 ms of a cold start): the fields are read here by
dataclasses' rules, and :func:`field`/:func:`replace` are this module's
(mypy sees dataclasses' own).

They behave as the generated ones: the same fields by the
``compare``/``hash``/``repr`` options of :func:`dataclasses.field`; the same
argument binding and TypeErrors in ``__init__`` (and at definition, a field
without a default after one with); equal only to an instance of the very
same class; the same text; assigning or deleting any attribute raises
:class:`dataclasses.FrozenInstanceError` with the same message.
``dataclasses.fields``, ``replace``, ``asdict``, ``is_dataclass``, copying
and pickling work (dataclasses' own view of the fields is made the first
time one asks), and mypy checks a record as a frozen dataclass
(``dataclass_transform``).  Comparisons and hashes read the fields through a
C-level :func:`operator.attrgetter` made once per class, so they cost what
the generated ones cost.  Differences, all invisible to the package:

* ``__init__`` writes the fields into the instance's dict; the shared
  ``__setattr__`` lets a field that ``__init__`` did not set (``init=False``
  without a default) be set once afterwards, and refuses everything else.
* ``__dataclass_params__.frozen`` is False (what ``dataclasses`` was asked
  for), so a ``@dataclass(frozen=True)`` cannot inherit from a record (the
  package has none; tests/engine/test_record.py keeps it so).
* ``InitVar`` and ``KW_ONLY`` fields are refused (no record has them).
* A class without a docstring keeps ``__doc__`` None (dataclasses writes
  its signature there; every class of the package has a docstring).

Methods a class defines itself are kept.  Measured in docs/performance.md
("Start-up trimmed", "Records without a compile per class", "Records
without the dataclasses module").
"""

from __future__ import annotations

import re
import reprlib
from collections.abc import Callable
from operator import attrgetter

# ``typing`` is not imported at run time (~5 ms of every command's start-up,
# -X importtime; docs/performance.md): type checkers take the name
# TYPE_CHECKING as true wherever it is defined (mypy: by its name), and
# annotations are strings (``from __future__ import annotations``), so what
# is only for them is imported under it.  Modules of the package that need
# no typing name at run time do the same.
TYPE_CHECKING = False
if TYPE_CHECKING:
    # For mypy, these are dataclasses' own (its plugin checks the fields a
    # replace() names); at run time, the equivalents below.
    from dataclasses import field as field
    from dataclasses import replace as replace
    from typing import Any, TypeVar, dataclass_transform

    _T = TypeVar("_T")
else:

    def dataclass_transform(**_: object) -> Callable[[object], object]:
        """typing.dataclass_transform at run time: a marker for type checkers only."""
        return lambda f: f


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
        raise _frozen(f"cannot assign to field {name!r}")
    d[name] = value


def _setattr_descriptors(self: Any, name: str, value: Any) -> None:
    # The same, for a class where a field's name is also a data descriptor.
    if name in self.__dict__ or name not in type(self)._record_fields:
        raise _frozen(f"cannot assign to field {name!r}")
    object.__setattr__(self, name, value)


def _delattr(self: Any, name: str) -> None:
    raise _frozen(f"cannot delete field {name!r}")


def _frozen(message: str) -> Exception:
    # dataclasses' own exception (callers catch it, or AttributeError, its
    # base), imported only when an attempt is refused: a bug, not start-up.
    from dataclasses import FrozenInstanceError

    return FrozenInstanceError(message)


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

    def __init__(self, made: type, fields: tuple[_Field, ...], described: bool) -> None:
        missing = MISSING
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
    fn._record_spec = spec  # type: ignore[attr-defined]  # (_copied_fields knows it)
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


# -- fields, without the dataclasses module ------------------------------------------
#
# ``import dataclasses`` brings ``inspect`` (and ast, dis, tokenize, linecache):
# ~14 ms of a ~140 ms ``diagnose`` cold start on the development machine
# (docs/performance.md, "Records without the dataclasses module"), for the
# Field objects of its class processing.  A record reads its fields itself, by
# dataclasses' rules (Python 3.11, ``dataclasses._process_class`` and
# ``_get_field``); the dataclasses view of them (``__dataclass_fields__``,
# ``__dataclass_params__``), for ``dataclasses.fields``, ``asdict``,
# ``replace`` and ``is_dataclass``, is made by dataclasses itself the first
# time something asks for it.


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()  # "no default" (dataclasses.MISSING, which is not imported)


class _Field:
    """One field of a record: the options of :func:`dataclasses.field` that a
    record honours, its name and its annotation (a string, as written)."""

    __slots__ = (
        "compare",
        "default",
        "default_factory",
        "hash",
        "init",
        "kw_only",
        "metadata",
        "name",
        "repr",
        "type",
    )

    def __init__(
        self,
        *,
        default: Any = MISSING,
        default_factory: Any = MISSING,
        init: bool = True,
        repr: bool = True,
        hash: bool | None = None,
        compare: bool = True,
        metadata: Any = None,
        kw_only: Any = MISSING,
    ) -> None:
        """:func:`dataclasses.field` for records (mypy sees that one)."""
        if default is not MISSING and default_factory is not MISSING:
            raise ValueError("cannot specify both default and default_factory")
        self.default = default
        self.default_factory = default_factory
        self.init = init
        self.repr = repr
        self.hash = hash
        self.compare = compare
        self.metadata = metadata
        self.kw_only = kw_only
        self.name = ""
        self.type: Any = None

    def named(self, name: str, annotation: Any) -> _Field:
        """A copy for the field ``name`` of one class (a spec may be shared)."""
        made = _Field.__new__(_Field)
        for attr in _Field.__slots__:
            setattr(made, attr, getattr(self, attr))
        made.name, made.type = name, annotation
        return made


def _replace(obj: Any, /, **changes: Any) -> Any:
    """:func:`dataclasses.replace` (mypy sees that one): a copy of ``obj`` with
    ``changes``, made through its ``__init__``; any other dataclass goes to
    dataclasses itself."""
    cls = type(obj)
    names = cls.__dict__.get(_COPY, MISSING)
    if names is MISSING:
        names = _copied_fields(cls)
    if names is not None and (not changes or cls._record_init.set.issuperset(changes)):
        # What __init__ would store, without the call: the fields in order.
        d = obj.__dict__
        made = object.__new__(cls)
        made.__dict__.update({n: changes[n] if n in changes else d[n] for n in names})
        return made
    fields: tuple[_Field, ...] | None = getattr(cls, _ALL, None)
    if fields is None:
        import dataclasses

        return dataclasses.replace(obj, **changes)
    for f in fields:
        name = f.name
        if not f.init:
            if name in changes:
                raise ValueError(
                    f"field {name} is declared with init=False,"
                    " it cannot be specified with replace()"
                )
        elif name not in changes:
            changes[name] = getattr(obj, name)
    return obj.__class__(**changes)


def _copied_fields(cls: type) -> tuple[str, ...] | None:
    """The fields a copy of a ``cls`` instance takes straight from its dict,
    when its ``__init__`` only stores its arguments (the shared or compiled
    one, every field an init field, no ``__post_init__``, no descriptor, no
    ``__new__``); else ``None`` (through ``__init__``).  Once per class."""
    spec: _InitSpec | None = getattr(cls, _INIT, None)
    init = cls.__dict__.get("__init__")
    names: tuple[str, ...] | None = None
    if (
        spec is not None
        and spec.made is cls
        and (init is _init or getattr(init, "_record_spec", None) is spec)
        and getattr(cls, "__new__") is object.__new__  # noqa: B009 (mypy: a method)
        and not (spec.post or spec.described or spec.after)
        and len(spec.names) == len(cls.__dict__[_ALL])
    ):
        names = spec.names
    type.__setattr__(cls, _COPY, names)
    return names


# The fields :func:`_replace` copies for a class (or None): a class attribute.
_COPY = "_record_copy"

if not TYPE_CHECKING:
    field = _Field
    replace = _replace

# The record's fields, in order (a tuple of _Field): a class attribute.
_ALL = "_record_all"

# dataclasses' reading of a string annotation: an optional module alias, a name.
_IDENTIFIER = re.compile(r"^(?:\s*(\w+)\s*\.)?\s*(\w+)")


def _named(annotation: Any) -> str:
    """The name an annotation starts with: ``ClassVar`` for ``ClassVar[int]``,
    ``"typing.ClassVar[int]"`` or ``typing.ClassVar``; ``InitVar``, ``KW_ONLY``...

    dataclasses also checks that the name is bound to typing's ClassVar where
    the class was written (it reads the module's namespace); a record takes
    the name at its word (no class of the package is named so)."""
    if isinstance(annotation, str):
        if "Var" not in annotation and "KW_ONLY" not in annotation:
            return ""  # (most annotations: no match to make)
        match = _IDENTIFIER.match(annotation)
        return match.group(2) if match else ""
    # typing.ClassVar or ClassVar[...], recognised without importing typing.
    origin = getattr(annotation, "__origin__", annotation)
    if type(origin).__module__ == "typing" and repr(origin) == "typing.ClassVar":
        return "ClassVar"
    kind = annotation if isinstance(annotation, type) else type(annotation)
    if kind.__module__ == "dataclasses":
        return {"InitVar": "InitVar", "_KW_ONLY_TYPE": "KW_ONLY"}.get(kind.__name__, "")
    return ""


def _foreign_field(value: Any) -> bool:
    # A dataclasses.Field (tests write records with it); no import to ask.
    kind = type(value)
    return kind.__name__ == "Field" and kind.__module__ == "dataclasses"


def _options(f: Any, missing: Any, into: Any) -> dict[str, Any]:
    """The options of field ``f`` (ours or a dataclasses.Field) as keywords of
    the other kind's ``field()``: its "no default" ``missing`` becomes ``into``."""
    out = {k: getattr(f, k) for k in ("init", "repr", "hash", "compare")}
    for k in ("default", "default_factory"):
        value = getattr(f, k)
        out[k] = into if value is missing else value
    out["metadata"] = f.metadata or None
    return out


def _from_dataclasses(f: Any) -> _Field:
    import dataclasses  # (already imported: f is one of its Fields)

    kw_only = MISSING if f.kw_only is dataclasses.MISSING else f.kw_only
    return _Field(**_options(f, dataclasses.MISSING, MISSING), kw_only=kw_only)


def _fields_of(cls: type) -> tuple[_Field, ...]:
    """The fields of ``cls`` as dataclasses reads them: the bases' first (a
    field redefined keeps its place), then its own annotations in order,
    ClassVars left out; a ``field()`` default is replaced on the class by its
    plain default (or removed), as dataclasses leaves it."""
    found: dict[str, _Field] = {}
    for base in cls.__mro__[-1:0:-1]:
        inherited = base.__dict__.get(_ALL)
        if inherited is not None:
            found.update((f.name, f) for f in inherited)
        elif "__dataclass_fields__" in base.__dict__:  # a dataclass base
            import dataclasses

            for dc_field in dataclasses.fields(base):
                made = _from_dataclasses(dc_field)
                made.name, made.type = dc_field.name, dc_field.type
                found[made.name] = made
    # (Not inspect.get_annotations: importing inspect is what this avoids.)
    annotations: dict[str, Any] = cls.__dict__.get("__annotations__", {})  # noqa: RUF063
    for name, annotation in annotations.items():
        named = _named(annotation)
        if named == "ClassVar":
            continue
        if named in ("InitVar", "KW_ONLY"):
            raise TypeError(f"{cls.__qualname__}: a record takes no InitVar or KW_ONLY field")
        default = getattr(cls, name, MISSING)
        if type(default) is _Field:
            f = default.named(name, annotation)  # (a spec may be shared)
        else:
            f = _from_dataclasses(default) if _foreign_field(default) else _Field(default=default)
            f.name, f.type = name, annotation
        if f.kw_only is True:
            raise TypeError(f"{cls.__qualname__}: a record takes no InitVar or KW_ONLY field")
        if f.default is not MISSING and type(f.default).__hash__ is None:
            raise ValueError(
                f"mutable default {type(f.default)} for field {name} is not allowed:"
                " use default_factory"
            )
        own = cls.__dict__.get(name, MISSING)
        if own is not MISSING and (type(own) is _Field or _foreign_field(own)):
            if f.default is MISSING:
                delattr(cls, name)
            else:
                setattr(cls, name, f.default)
        found[name] = f
    for name, value in cls.__dict__.items():
        field_like = type(value) is _Field or _foreign_field(value)
        if field_like and name not in annotations:
            raise TypeError(f"{name!r} is a field but has no type annotation")
    fields = tuple(found.values())
    seen_default = False
    for f in fields:
        if not f.init:
            continue
        if f.default is not MISSING or f.default_factory is not MISSING:
            seen_default = True
        elif seen_default:
            raise TypeError(f"non-default argument {f.name!r} follows default argument")
    return fields


class _DataclassView:
    """``__dataclass_fields__`` or ``__dataclass_params__`` of a record, made
    by dataclasses on first use (one throwaway class with the same fields,
    processed as ``dataclass(init=False, repr=False, eq=False)`` would have
    processed the record), then kept on the record's class."""

    __slots__ = ("attr", "owner")

    def __init__(self, owner: type, attr: str) -> None:
        self.owner = owner
        self.attr = attr

    def __get__(self, obj: object, objtype: type | None = None) -> Any:
        import dataclasses

        cls = self.owner
        fields: tuple[_Field, ...] = cls.__dict__[_ALL]
        namespace: dict[str, Any] = {
            f.name: dataclasses.field(**_options(f, MISSING, dataclasses.MISSING)) for f in fields
        }
        namespace["__annotations__"] = {f.name: f.type for f in fields}
        namespace["__module__"] = cls.__module__
        namespace["__doc__"] = cls.__doc__ or cls.__qualname__
        twin: Any = dataclasses.dataclass(init=False, repr=False, eq=False, match_args=False)(
            type(cls.__name__, (), namespace)
        )
        type.__setattr__(cls, "__dataclass_fields__", twin.__dataclass_fields__)
        type.__setattr__(cls, "__dataclass_params__", twin.__dataclass_params__)
        return cls.__dict__[self.attr]


def _make(cls: type[_T], frozen: bool) -> type[_T]:
    own = {k for k, v in cls.__dict__.items() if not (k == "__hash__" and v is None)}
    # (A class that defines __eq__ gets __hash__ = None from Python itself;
    # dataclasses does not count that as a hash of the class's own.)
    fields = _fields_of(cls)
    setattr(cls, _ALL, fields)
    for attr in ("__dataclass_fields__", "__dataclass_params__"):
        setattr(cls, attr, _DataclassView(cls, attr))
    init: list[str] = []
    compare: list[str] = []
    hashed: list[str] = []
    shown: list[str] = []
    described = False
    for f in fields:
        name = f.name
        if f.init:
            init.append(name)
        if f.compare:
            compare.append(name)
        if f.compare if f.hash is None else f.hash:
            hashed.append(name)
        if f.repr:
            shown.append(name)
        described = described or _data_descriptor(cls, name)
    if "__match_args__" not in own:
        setattr(cls, "__match_args__", tuple(init))  # noqa: B010
    if "__init__" not in own:
        setattr(cls, _INIT, _InitSpec(cls, fields, described))
        setattr(cls, "__init__", _init)  # noqa: B010 (mypy: a method is not assigned)
    setattr(cls, _FIELDS, frozenset(f.name for f in fields))
    setattr(cls, _COMPARE, _tuple_of(tuple(compare)))
    setattr(cls, _HASH, _tuple_of(tuple(hashed)))
    setattr(cls, _REPR, tuple(shown))
    shared: tuple[tuple[str, Any], ...] = (("__eq__", _eq), ("__repr__", _repr))
    if frozen:
        shared += (
            ("__hash__", _hash),
            ("__setattr__", _setattr_descriptors if described else _setattr),
            ("__delattr__", _delattr),
        )
    elif "__hash__" not in own:
        shared += (("__hash__", None),)  # equal by value, changeable: no hash
    for name, method in shared:
        if name not in own:
            setattr(cls, name, method)
    return cls


def record_fields(cls: type) -> frozenset[str] | None:
    """The field names of a record class (``None``: ``cls`` is no record)."""
    names: frozenset[str] | None = getattr(cls, _FIELDS, None)
    return names


@dataclass_transform(frozen_default=True, field_specifiers=(field,))
def record(cls: type[_T], /) -> type[_T]:
    """Make ``cls`` a record (see the module's docstring)."""
    return _make(cls, frozen=True)


@dataclass_transform(field_specifiers=(field,))
def mutable_record(cls: type[_T], /) -> type[_T]:
    """``@dataclass`` (not frozen): the same fields, ``__init__``, ``__eq__``
    and ``__repr__`` as a record, attributes assignable, no hash.  For the
    working state of one computation (a path search, a store being read, a
    document being built)."""
    return _make(cls, frozen=False)


@dataclass_transform(frozen_default=True, field_specifiers=(field,))
def identity_record(cls: type[_T], /) -> type[_T]:
    """A record equal only to itself and hashed by identity (what
    ``@dataclass(frozen=True, eq=False)`` gives): for the working objects of
    a computation (a parsed element, a model's view of a certificate), which
    are compared by who they are, not by value."""
    cls.__eq__ = object.__eq__  # type: ignore[method-assign]
    cls.__hash__ = object.__hash__  # type: ignore[method-assign]
    return record(cls)
