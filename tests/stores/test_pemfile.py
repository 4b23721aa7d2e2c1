"""The strict PEM reader's base64 rule: the alphabet, at most two "=", as decoded by binascii."""

from __future__ import annotations

import base64
import random
import re

import pytest

from trustdoctor.stores import pemfile

# The rule as a regular expression (what the reader matched before it
# relied on binascii's strict mode).
REFERENCE = re.compile(rb"[A-Za-z0-9+/]*={0,2}")
ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def _expected(body: bytes) -> bytes | None:
    cleaned = body.translate(None, b" \t\r\n")
    if REFERENCE.fullmatch(cleaned) is None:
        return None
    try:
        return base64.b64decode(cleaned, validate=True)
    except ValueError:
        return None


def _der_of(body: bytes) -> bytes | None:
    text = b"-----BEGIN CERTIFICATE-----\n" + body + b"\n-----END CERTIFICATE-----\n"
    (block,) = pemfile.scan(text)
    assert block.complete and block.label == "CERTIFICATE"
    return block.der


@pytest.mark.parametrize(
    ("body", "der"),
    [
        (b"", b""),
        (b"AAEC", b"\x00\x01\x02"),
        (b"AAE=", b"\x00\x01"),
        (b"AA==", b"\x00"),
        (b"AA\r\n==", b"\x00"),  # line breaks and blanks removed first
        (b"AAEC===", None),  # data after a complete quantum's padding
        (b"AA===", None),
        (b"AA=A", None),  # "=" before the end
        (b"=AAA", None),
        (b"AAE", None),  # incomplete quantum
        (b"AA-_", None),  # the URL-safe alphabet is not PEM's
        (b"AA\x0bAA", None),  # a vertical tab is no blank here
    ],
)
def test_base64_cases(body: bytes, der: bytes | None) -> None:
    assert _der_of(body) == der == _expected(body)


def test_base64_rule_matches_the_reference_on_random_bodies() -> None:
    rnd = random.Random(20261207)
    other = b"=-_.!\x00\xff \t\r\x0b"
    for _ in range(20_000):
        n = rnd.randint(0, 14)
        body = bytes(
            rnd.choice(ALPHABET if rnd.random() < 0.75 else b"=" if rnd.random() < 0.7 else other)
            for _ in range(n)
        ).replace(b"\n", b"")
        assert _der_of(body) == _expected(body), body


def test_the_memo_answers_only_for_its_own_block_limit() -> None:
    two = (b"-----BEGIN CERTIFICATE-----\nAAEC\n-----END CERTIFICATE-----\n") * 2
    assert len(pemfile.scan(two)) == 2
    assert len(pemfile.scan(two, max_blocks=1)) == 1
    assert len(pemfile.scan(two)) == 2
