"""model/digest.py: the same digests as hashlib, from CPython's own modules."""

from __future__ import annotations

import hashlib

import pytest

from trustdoctor.model import digest

NAMES = ["sha224", "sha256", "sha384", "sha512", "sha1", "md5", "sha3_256"]


@pytest.mark.parametrize("name", NAMES)
def test_the_same_bytes_as_hashlib(name: str) -> None:
    data = bytes(range(256)) * 9
    h = digest.new(name, data[:100])
    h.update(data[100:])
    assert h.hexdigest() == hashlib.new(name, data).hexdigest()
    assert digest.new(name, data).digest() == hashlib.new(name, data).digest()
    assert digest.available(name)


def test_the_builtin_modules_are_used_where_cpython_has_them() -> None:
    # The point of the module: no _hashlib (OpenSSL) for a fingerprint.
    h = digest.sha256(b"x")
    assert type(h).__module__ in ("_sha256", "_sha2", "_hashlib")
    if type(h).__module__ != "_hashlib":
        assert digest.sha1(b"x").hexdigest() == hashlib.sha1(b"x").hexdigest()


def test_without_a_builtin_module_hashlib_makes_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(digest, "_BUILTIN", {"sha256": ("_no_such_module_td",)})
    monkeypatch.setattr(digest, "_FOUND", {})
    assert digest.sha256(b"abc").hexdigest() == hashlib.sha256(b"abc").hexdigest()
    assert digest.available("sha256")
    # A digest only OpenSSL has (or nobody): hashlib's answer.
    assert digest.available("blake2b") == ("blake2b" in hashlib.algorithms_available)
    assert not digest.available("no-such-digest")
    with pytest.raises(ValueError):
        digest.new("no-such-digest")
