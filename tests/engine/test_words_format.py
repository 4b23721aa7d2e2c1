"""render/words.py fills templates exactly as ``string.Formatter`` would.

Its formatter runs ``string.Formatter``'s algorithm on the same parser
(``_string``) without importing ``string``; this compares the two on every
template of the module's tables and on the format features they could use.
"""

from __future__ import annotations

import string
from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from trustdoctor.render import words


class Reference(string.Formatter):
    """The formatter as it was: string.Formatter with words' three hooks."""

    def get_value(self, key: int | str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> Any:
        return words._FORMATTER.get_value(key, args, kwargs)

    def convert_field(self, value: Any, conversion: str | None) -> Any:
        if isinstance(value, list) and conversion is not None:
            value = words._join(value, "")
        if conversion == "q":
            return f"'{words._short(value)}'"
        return super().convert_field(value, conversion)

    def format_field(self, value: Any, format_spec: str) -> Any:
        if isinstance(value, list):
            return words._join(value, format_spec)
        return super().format_field(value, format_spec)


REFERENCE = Reference()


def templates() -> list[str]:
    from trustdoctor.render import plan_text

    out: list[str] = []
    tables = [v for m in (words, plan_text) for k, v in vars(m).items() if not k.startswith("__")]
    for value in tables:
        if isinstance(value, Mapping):
            for t in value.values():
                if isinstance(t, str):
                    out.append(t)
                elif isinstance(t, tuple):
                    out += [x for x in t if isinstance(x, str)]
    return sorted(set(out))


def params_for(template: str, kind: int) -> dict[str, object]:
    names = [n for _, n, _, _ in string.Formatter().parse(template) if n]
    values: list[object] = [
        "CN=Example Root,O=Example",
        ["a.example", "b.example", "c\x1b[31m"],
        3,
        [],
        "plain \x07 text",
    ]
    return {
        n.split(".")[0].split("[")[0]: values[(i + kind) % len(values)] for i, n in enumerate(names)
    }


def test_every_template_of_the_tables_is_filled_the_same() -> None:
    ts = templates()
    assert len(ts) > 150
    for t in ts:
        for kind in range(5):
            params = params_for(t, kind)
            try:
                want: str | type[BaseException] = REFERENCE.vformat(t, (), dict(params))
            except (ValueError, TypeError, IndexError, KeyError, AttributeError) as exc:
                want = type(exc)
            if isinstance(want, str):
                assert words.fmt(t, params) == want, t
            else:
                with pytest.raises(want):
                    words.fmt(t, params)
        # a parameter missing altogether shows as "?"
        assert words.fmt(t, {}) == REFERENCE.vformat(t, (), {})


@pytest.mark.parametrize(
    "template",
    [
        "{{literal}} {x}",
        "{x!r} {x!s} {x!a} {x!q}",
        "{x:>12} {n:05d} {n:{w}}",
        "{} and {}",
        "{0} {1}",
        "{x[0]} {x.upper}",
        "{items:and} {items} {items!q}",
        "{missing} {missing!q}",
        "tail {",
        "{x!z}",
        "{n:{w:{w}}}",
    ],
)
def test_format_features_as_string_formatter(template: str) -> None:
    params: dict[str, object] = {"x": "CN=Some CA,O=Org", "n": 42, "w": 6, "items": ["a", "b"]}
    try:
        want: str | type[BaseException] = REFERENCE.vformat(template, (), dict(params))
    except (ValueError, TypeError, IndexError, KeyError, AttributeError) as exc:
        want = type(exc)
    if isinstance(want, str):
        assert words.fmt(template, params) == want
    else:
        with pytest.raises(want):
            words.fmt(template, params)
