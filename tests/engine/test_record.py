"""``@record`` is ``@dataclass(frozen=True)`` with shared __eq__/__hash__/__repr__.

Each check builds the same class both ways and compares what they do; the
package's own records are checked against the generated methods too, on
instances the engine really makes (a judged lab chain).
"""

from __future__ import annotations

import ast
import copy
import dataclasses
import pickle
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import pytest

import trustdoctor
from trustdoctor.model.record import record

Decorator = Callable[[type[Any]], type[Any]]
BOTH: list[Decorator] = [record, dataclass(frozen=True)]
IDS = ["record", "dataclass"]


def _point(dec: Decorator, make_field: Callable[..., Any] = field) -> type[Any]:
    @dec
    class Point:
        """A record with every field option the package uses."""

        x: int
        label: str = "p"
        notes: list[int] = make_field(default_factory=list, compare=False, repr=False)
        raw: bytes = make_field(default=b"", hash=False)
        secret: str = make_field(default="", repr=False)

    return Point


def _behaviour(cls: type[Any]) -> list[object]:
    a = cls(1, "a", [1], b"r", "s")
    same = cls(1, "a", [2], b"r", "s")  # differs only in a compare=False field
    other_raw = cls(1, "a", [1], b"R", "s")  # differs only in a hash=False field
    out: list[object] = [
        repr(a).split(".")[-1],
        a == same,
        a != same,
        a == other_raw,
        hash(a) == hash(same),
        hash(a) == hash(other_raw),
        a == (1, "a", b"r", "s"),
        a.__eq__(object()),
        dataclasses.asdict(a),
        repr(dataclasses.replace(a, x=2)).split(".")[-1],
        copy.deepcopy(a) == a,
        {a, same} == {a},
        cls.__match_args__,
    ]
    attempts = (
        lambda: setattr(a, "x", 5),
        lambda: setattr(a, "not_a_field", 5),
        lambda: delattr(a, "label"),
        lambda: delattr(a, "not_a_field"),
        lambda: object.__setattr__(a, "x", 6) or setattr(a, "x", 7),
    )
    for attempt in attempts:
        with pytest.raises(dataclasses.FrozenInstanceError) as err:
            attempt()
        out.append(str(err.value))
    out.append((a.x, vars(a).keys() - {"x", "label", "notes", "raw", "secret"}))
    return out


def test_same_behaviour_as_a_frozen_dataclass() -> None:
    assert _behaviour(_point(record)) == _behaviour(_point(dataclass(frozen=True)))


def test_tuples_of_one_field_and_of_none() -> None:
    # The generated methods compare tuples: identity first (a NaN equals
    # itself), 1 == 1.0, and a record without fields equals its like.
    made = []
    for dec in BOTH:

        @dec
        class One:
            v: float

        @dec
        class Empty:
            pass

        nan = float("nan")
        made.append(
            (
                One(nan) == One(nan),
                One(nan) == One(float("nan")),
                One(1) == One(1.0),
                hash(One(3)),
                Empty() == Empty(),
                hash(Empty()),
                repr(Empty()).split(".")[-1],
            )
        )
    assert made[0] == made[1]


def test_methods_a_class_defines_are_kept() -> None:
    for dec in BOTH:

        @dec
        class Own:
            v: int

            def __eq__(self, other: object) -> bool:
                return True

            def __repr__(self) -> str:
                return "own"

        # Python sets __hash__ = None beside an own __eq__; dataclasses (and
        # record) still give the frozen class a hash over its fields.
        assert Own(1) == Own(2) and repr(Own(1)) == "own"
        assert hash(Own(1)) == hash((1,))

    @record
    class Hashed:
        v: int

        def __hash__(self) -> int:
            return 7

    assert hash(Hashed(1)) == 7


def test_equal_only_to_the_very_same_class() -> None:
    @record
    class Base:
        v: int

    @record
    class Derived(Base):
        w: int = 0

    class Plain(Base):
        pass

    assert Base(1) != Derived(1)
    assert Derived(1, 2) == Derived(1, 2) and Derived(1, 2) != Derived(1, 3)
    assert repr(Derived(1, 2)).endswith("Derived(v=1, w=2)")
    assert Plain(1) == Plain(1) and Plain(1) != Base(1)


def test_recursive_repr_does_not_loop() -> None:
    @record
    class Box:
        items: list[object]

    box = Box([])
    box.items.append(box)
    assert repr(box).endswith("Box(items=[...])")


# A record pickled (the scan's workers send RawFetch to the parent) must be a
# module-level class.
@record
class _Pickled:
    a: int
    b: tuple[str, ...] = ()


def test_pickles() -> None:
    x = _Pickled(3, ("a",))
    y = pickle.loads(pickle.dumps(x))
    assert y == x and hash(y) == hash(x) and y is not x


def _as_generated(obj: Any) -> tuple[str, int]:
    """``repr(obj)`` and ``hash(obj)`` as ``@dataclass(frozen=True)`` makes
    them (its recipe: the repr=True fields, each ``!r``; the hash of the tuple
    of the compare/hash fields)."""
    fields = dataclasses.fields(obj)
    shown = ", ".join(f"{f.name}={getattr(obj, f.name)!r}" for f in fields if f.repr)
    hashed = tuple(
        getattr(obj, f.name) for f in fields if (f.compare if f.hash is None else f.hash)
    )
    try:
        value = hash(hashed)
    except TypeError:  # a list or dict field: unhashable either way
        value = -1
    return f"{type(obj).__qualname__}({shown})", value


def _records(root: object) -> list[Any]:
    """Every record instance reachable from ``root`` (fields, sequences,
    mappings), each once."""
    out: list[Any] = []
    seen: set[int] = set()
    todo = [root]
    while todo:
        obj = todo.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
            if getattr(type(obj), "__eq__", None) is getattr(_Pickled, "__eq__", None):
                out.append(obj)
            todo.extend(getattr(obj, f.name) for f in dataclasses.fields(obj))
        elif isinstance(obj, (list, tuple, frozenset, set)):
            todo.extend(obj)
        elif isinstance(obj, dict):
            todo.extend(obj.keys())
            todo.extend(obj.values())
    return out


def test_the_packages_records_on_a_real_report(tmp_path: Path) -> None:
    """A real `chain` report (a missing intermediate: findings, verdicts, a
    plan): each record in it has the repr and hash the generated methods
    would give, equals a copy of itself and differs from a changed copy."""
    from trustdoctor import api
    from trustdoctor.lab import pki

    h = pki.hierarchy("record.test")
    (tmp_path / "leaf.pem").write_bytes(h.leaf.pem)
    (tmp_path / "root.pem").write_bytes(h.root.pem)
    report = api.diagnose_chain(
        [str(tmp_path / "leaf.pem")],
        trust=[str(tmp_path / "root.pem")],
        host="record.test",
        clients=["go", "openssl", "java"],
    )
    found = _records(report)
    kinds = {type(r).__qualname__ for r in found}
    assert {"ChainReport", "Diagnosis", "ClientVerdict", "Finding", "CertInfo"} <= kinds
    for obj in found:
        text, value = _as_generated(obj)
        assert repr(obj) == text
        own_hash = type(obj).__hash__ is not _Pickled.__hash__  # CertInfo: its fingerprint
        if value != -1 and not own_hash:
            assert hash(obj) == value
        twin = copy.copy(obj)
        assert twin == obj
        if own_hash:
            assert hash(twin) == hash(obj)
        assert not twin.__ne__(obj)
        compared = [f for f in dataclasses.fields(obj) if f.compare]
        if compared:
            first = compared[0]
            changed = object.__new__(type(obj))
            changed.__dict__.update(obj.__dict__)
            changed.__dict__[first.name] = ("changed", getattr(obj, first.name))
            assert changed != obj


def test_no_dataclass_is_declared_by_hand() -> None:
    """Every dataclass of the package is a ``@record`` or a
    ``@mutable_record`` (start-up cost: see trustdoctor/model/record.py), and
    no module imports ``dataclasses`` for its classes."""
    root = Path(trustdoctor.__file__).parent
    found = []
    for path in root.rglob("*.py"):
        if path.name == "record.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef):
                for dec in node.decorator_list:
                    target = dec.func if isinstance(dec, ast.Call) else dec
                    if getattr(target, "id", getattr(target, "attr", "")) == "dataclass":
                        found.append(f"{path.relative_to(root)}:{node.lineno} {node.name}")
            elif isinstance(node, ast.ImportFrom) and node.module == "dataclasses":
                names = {a.name for a in node.names}
                if names & {"dataclass", "field", "replace"}:
                    found.append(f"{path.relative_to(root)}:{node.lineno} {sorted(names)}")
    assert found == []


def test_no_frozen_dataclass_is_declared_by_hand() -> None:
    """Every frozen dataclass of the package is a ``@record`` (start-up cost:
    see trustdoctor/model/record.py); eq=False/repr=False ones (identity
    semantics, on purpose) are left as they are."""
    root = Path(trustdoctor.__file__).parent
    found = []
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.ClassDef):
                continue
            for dec in node.decorator_list:
                if (
                    isinstance(dec, ast.Call)
                    and getattr(dec.func, "id", getattr(dec.func, "attr", "")) == "dataclass"
                    and {k.arg for k in dec.keywords} == {"frozen"}
                ):
                    found.append(f"{path.relative_to(root)}:{node.lineno} {node.name}")
    assert found == []


def test_every_dataclass_has_a_docstring() -> None:
    """dataclasses (3.11) makes a missing docstring from
    ``inspect.signature(cls)``, ~0.5 ms per class at import: every record
    and dataclass of the package says what it is instead."""
    root = Path(trustdoctor.__file__).parent
    missing = []
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.ClassDef):
                continue
            names = {
                getattr(d.func if isinstance(d, ast.Call) else d, "id", "")
                for d in node.decorator_list
            }
            kinds = {"record", "mutable_record", "identity_record", "dataclass"}
            if names & kinds and ast.get_docstring(node) is None:
                missing.append(f"{path.relative_to(root)}:{node.lineno} {node.name}")
    assert missing == []


def test_a_field_that_is_a_data_descriptor_is_set_through_it() -> None:
    class Doubling:
        def __set_name__(self, owner: type, name: str) -> None:
            self.slot = "_" + name

        def __get__(self, obj: object, owner: type | None = None) -> object:
            return 0 if obj is None else obj.__dict__.get(self.slot, 0)

        def __set__(self, obj: object, value: int) -> None:
            obj.__dict__[self.slot] = value * 2

    seen = []
    for dec in BOTH:

        @dec
        class Holder:
            """A record whose field is a descriptor (dataclasses' 'descriptor-typed field')."""

            x: int = Doubling()  # type: ignore[assignment]

        seen.append((Holder(3).x, Holder().x))
    assert seen[0] == seen[1] == (6, 0)


def _init_outcomes(cls: type[Any]) -> list[object]:
    """Every way of calling ``__init__`` the package and its users may use,
    and the ways that must fail; the outcome of each (fields, or the
    TypeError's kind)."""
    calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = [
        ((1,), {}),
        ((1, "a"), {}),
        ((), {"x": 1}),
        ((1,), {"raw": b"r", "label": "l"}),
        ((), {"secret": "s", "x": 3, "notes": [9]}),
        ((1, "a", [2], b"r", "s"), {}),
        ((), {}),  # x missing
        ((1, "a", [], b"", "s", "extra"), {}),  # too many
        ((1,), {"x": 2}),  # x twice
        ((1,), {"nope": 2}),  # unknown
    ]
    out: list[object] = []
    for args, kwargs in calls:
        try:
            made = cls(*args, **kwargs)
        except TypeError as exc:
            text = str(exc)
            kind = next(
                k
                for k in ("missing", "positional", "multiple", "unexpected")
                if k in text
            )
            out.append(("TypeError", kind))
            continue
        out.append(
            (
                [(f.name, getattr(made, f.name)) for f in dataclasses.fields(made)],
                list(vars(made)),  # the order the fields were set in
            )
        )
    return out


def test_init_binds_arguments_as_the_generated_init() -> None:
    want = _init_outcomes(_point(dataclass(frozen=True)))
    point = _point(record)
    assert _init_outcomes(point) == want  # the shared __init__
    assert point.__init__ is _point(record).__init__
    for i in range(40):  # made often: the class gets its own compiled __init__
        point(i)
    assert point.__init__ is not _point(record).__init__
    assert _init_outcomes(point) == want
    # Factories make a new value per instance, as the generated __init__ does.
    assert point(1).notes is not point(2).notes


def test_init_false_fields_and_post_init() -> None:
    def make(dec: Decorator) -> type[Any]:
        @dec
        class Counted:
            """init=False fields with a default or a factory, and a __post_init__."""

            n: int
            seen: list[int] = field(init=False, default_factory=list)
            kind: str = field(init=False, default="counted")

            def __post_init__(self) -> None:
                self.seen.append(self.n)

        return Counted

    for dec in BOTH:
        cls = make(dec)
        for i in range(40):  # through the shared __init__, then the compiled one
            c = cls(i)
            assert (c.n, c.seen, c.kind) == (i, [i], "counted")


def test_no_function_is_compiled_per_record() -> None:
    """The point of the shared __init__: defining a record compiles nothing
    (dataclasses compiles its __init__ with exec, 0.3-0.5 ms a class); only
    a class made often gets its own."""
    a, b = _point(record), _point(record)
    assert a.__init__ is b.__init__
    assert a.__init__.__code__ is b.__init__.__code__


# -- fields read without the dataclasses module -----------------------------------------


def test_the_packages_field_makes_the_same_record_as_dataclasses_field() -> None:
    from trustdoctor.model.record import field as own_field

    want = _behaviour(_point(dataclass(frozen=True)))
    assert _behaviour(_point(record, own_field)) == want
    made = _point(record, own_field)
    assert _init_outcomes(made) == _init_outcomes(_point(dataclass(frozen=True)))
    # The class keeps the plain defaults, as dataclasses leaves them.
    assert made.raw == b"" and "notes" not in made.__dict__


def _definition_error(dec: Decorator, body: str) -> tuple[str, str]:
    """The exception (kind, text) defining a class with ``body`` raises."""
    from trustdoctor.model.record import field as own_field

    namespace: dict[str, Any] = {"dec": dec, "field": own_field, "dc_field": field}
    src = "@dec\nclass Bad:\n    '''A class dataclasses refuses.'''\n" + body
    with pytest.raises((TypeError, ValueError)) as err:
        exec(compile(src, "<bad>", "exec"), namespace)
    return type(err.value).__name__, str(err.value)


@pytest.mark.parametrize(
    "body",
    [
        "    items: list = []\n",  # a mutable default
        "    n: dict = field(default={})\n",
        "    a: int = 0\n    b: int\n",  # a field without a default after one with
        "    a: int = field(default=1)\n    b: str = field(repr=False)\n",
        "    a: int\n    b = field(default=3)\n",  # a field() without an annotation
        "    a: int = field(default=1, default_factory=int)\n",
    ],
)
def test_definitions_dataclasses_refuses_are_refused_alike(body: str) -> None:
    # dataclasses' own field() on its side: the messages must be the same.
    theirs = _definition_error(dataclass(frozen=True), body.replace("field(", "dc_field("))
    assert _definition_error(record, body) == theirs


def test_inherited_fields_keep_their_place_and_classvars_are_not_fields() -> None:
    # (ClassVar and typing are imported at the module's top: dataclasses
    # looks a string annotation's names up there.)
    made = []
    for dec in BOTH:

        @dec
        class Base:
            """Two fields and two class variables."""

            x: int
            y: int = 0
            kind: ClassVar[str] = "base"
            count: typing.ClassVar[int] = 0

        @dec
        class Derived(Base):
            """Redefines x with a default (it stays first) and adds z."""

            z: int = 5
            x: int = 1

        fields = [(f.name, f.default) for f in dataclasses.fields(Derived)]
        made.append((fields, repr(Derived()).split(".")[-1], Derived.__match_args__))
        assert Derived.kind == "base" and Base.count == 0
    assert made[0] == made[1]
    assert made[0][0] == [("x", 1), ("y", 0), ("z", 5)]


def test_replace_as_dataclasses_replace() -> None:
    from trustdoctor.model.record import field as own_field
    from trustdoctor.model.record import replace

    @record
    class Counted:
        """A record with an init=False field."""

        n: int
        kind: str = own_field(init=False, default="counted")

    c = replace(Counted(1), n=2)
    assert (c.n, c.kind) == (2, "counted") and type(c) is Counted
    with pytest.raises(ValueError) as ours:
        replace(Counted(1), kind="other")

    @dataclass(frozen=True)
    class Theirs:
        """The same, by dataclasses."""

        n: int
        kind: str = field(init=False, default="counted")

    with pytest.raises(ValueError) as theirs:
        dataclasses.replace(Theirs(1), kind="other")
    assert str(ours.value) == str(theirs.value)
    # Any other dataclass is replaced by dataclasses itself.
    assert replace(Theirs(1), n=3) == Theirs(3)


def test_replace_copies_what_init_would_store() -> None:
    """``replace`` copies a plain record's fields without calling ``__init__``;
    what only ``__init__`` knows (``__post_init__``, an own ``__init__``, an
    unknown keyword) still goes through it, as dataclasses.replace does."""
    from trustdoctor.model.record import replace

    @record
    class Plain:
        """Fields only; a memo kept in the instance's dict."""

        a: int
        b: tuple[int, ...] = ()

    p = Plain(1, (2,))
    object.__setattr__(p, "_memo", "cached")
    for _ in range(40):  # past the compiled __init__ as well
        q = replace(p, a=5)
    assert (q.a, q.b, type(q)) == (5, (2,), Plain) and "_memo" not in vars(q)
    assert list(vars(q)) == ["a", "b"] and replace(p) == p and replace(p) is not p
    with pytest.raises(dataclasses.FrozenInstanceError):
        q.a = 1  # type: ignore[misc]

    @dataclass(frozen=True)
    class Theirs:
        """The same, by dataclasses."""

        a: int
        b: tuple[int, ...] = ()

    with pytest.raises(TypeError) as ours:
        replace(p, c=1)  # type: ignore[call-arg]
    with pytest.raises(TypeError) as theirs:
        dataclasses.replace(Theirs(1), c=1)  # type: ignore[call-arg]
    assert str(ours.value).split(".")[-1] == str(theirs.value).split(".")[-1]

    seen: list[int] = []

    @record
    class Checked:
        """A __post_init__ runs on the copy too."""

        n: int

        def __post_init__(self) -> None:
            seen.append(self.n)

    replace(Checked(1), n=2)
    assert seen == [1, 2]

    @record
    class Own:
        """An own __init__ is called by replace."""

        n: int

        def __init__(self, n: int) -> None:
            object.__setattr__(self, "n", n * 10)

    assert replace(Own(1), n=2).n == 20


def test_a_mutable_record_is_a_dataclass() -> None:
    from trustdoctor.model.record import field as own_field
    from trustdoctor.model.record import mutable_record

    def make(dec: Decorator, make_field: Callable[..., Any]) -> type[Any]:
        @dec
        class State:
            """Working state: a counter and what was seen."""

            name: str
            seen: list[int] = make_field(default_factory=list)
            count: int = 0

            def add(self, v: int) -> None:
                self.seen.append(v)
                self.count += 1

        return State

    outcomes = []
    for dec, make_field in ((mutable_record, own_field), (dataclass, field)):
        cls = make(dec, make_field)
        a, b = cls("a"), cls("a")
        a.add(1)
        b.add(1)
        with pytest.raises(TypeError):
            hash(a)
        a.name = "renamed"
        outcomes.append(
            (
                repr(a).split(".")[-1],
                a == b,
                a.name,
                dataclasses.asdict(a),
                [f.name for f in dataclasses.fields(cls)],
                dataclasses.is_dataclass(a),
                a.seen is not b.seen,
            )
        )
    assert outcomes[0] == outcomes[1]


def test_records_do_not_import_dataclasses(tmp_path: Path) -> None:
    """The point (start-up): the package's model, engine and API define their
    classes without the dataclasses module, which brings inspect; it comes
    only when something asks dataclasses about a record."""
    import subprocess
    import sys

    code = (
        "import sys, trustdoctor.api.endpoint, trustdoctor.api.context, trustdoctor.stores.base\n"
        "print('dataclasses' in sys.modules)\n"
        "from trustdoctor.model.cert import CertInfo\n"
        "import dataclasses\n"
        "print([f.name for f in dataclasses.fields(CertInfo)][:3])\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=60
    )
    assert out.returncode == 0, out.stderr[-800:]
    assert out.stdout.split("\n")[:2] == ["False", "['der', 'sha256', 'subject']"]
