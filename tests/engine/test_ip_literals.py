"""model/target.py parse_ip: ipaddress.ip_address's answer, without importing
ipaddress for a host name."""

from __future__ import annotations

import ipaddress
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trustdoctor.model.target import ip_identity, ip_packed, ip_text, is_ip_literal, parse_ip


def reference(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


SAMPLES = [
    "127.0.0.1", "10.1", "999.1.1.1", "01.2.3.4", "1.2.3.4.", "::1", "[::1]", "fe80::1%eth0",
    "::ffff:1.2.3.4", "2001:db8::", "example.com", "1e100.net", "0x7f.0.0.1", "١٢٧.0.0.1",
    "", ".", ":", "1.2.3.4 ", "localhost", "a:b", "::g", "1.2.3.4%x", "255.255.255.255",
]  # fmt: skip


def test_samples_as_ipaddress() -> None:
    for s in SAMPLES:
        assert parse_ip(s) == reference(s), s
        assert is_ip_literal(s) == (reference(s) is not None), s


@settings(max_examples=400)
@given(st.text(alphabet="0123456789.:abcdefx%-[] ٣", max_size=24))
def test_any_string_as_ipaddress(s: str) -> None:
    assert parse_ip(s) == reference(s)


def test_a_host_name_never_reaches_ipaddress(monkeypatch: pytest.MonkeyPatch) -> None:
    """A host name is answered without ipaddress (imported lazily, ~2.3 ms):
    here ipaddress is a module that fails when used, whatever imported it."""
    import types

    from trustdoctor.engine.hostnames import check_name, is_ip
    from trustdoctor.model.target import parse_target

    class Refuse(types.ModuleType):
        def __getattr__(self, name: str) -> object:
            raise AssertionError(f"ipaddress.{name} used for a host name")

    monkeypatch.setitem(sys.modules, "ipaddress", Refuse("ipaddress"))
    t = parse_target("Service.Example.COM:8443")
    assert t.host == "service.example.com" and parse_ip(t.host) is None
    assert not is_ip(t.host) and not is_ip_literal("other.example.com")
    from trustdoctor.lab.pki import make_cert
    from trustdoctor.model.cert import parse_certificate

    leaf = parse_certificate(make_cert("service.example.com", dns=["service.example.com"]).der)
    assert check_name(leaf, t.host, cn_fallback=False, require_san=True).ok
    with pytest.raises(AssertionError):
        parse_ip("10.0.0.1")  # (the stand-in is really in the way)


def _reference_packed(text: str) -> bytes | None:
    ip = reference(text)
    return ip.packed if ip is not None else None


@given(st.text(alphabet="0123456789.:abf%", max_size=20))
def test_ip_literals_read_as_ipaddress_reads_them(text: str) -> None:
    # An IPv4 address is read without ipaddress (a cold diagnose of an IP
    # never imports it): the same answer, for near-misses too.
    assert ip_packed(text) == _reference_packed(text)
    ident = ip_identity(text)
    assert (ident is None) == (_reference_packed(text) is None)


def test_ip_literal_edge_cases() -> None:
    edges = ["0.0.0.0", "255.255.255.255", "256.1.1.1", "01.2.3.4", "1.2.3", "1.2.3.4.5",
             "1..2.3", "١.2.3.4", "1.2.3.4 ", "::ffff:1.2.3.4", "::1", "fe80::1%eth0", ""]
    for text in edges:
        assert ip_packed(text) == _reference_packed(text), text
    assert ip_identity("10.0.0.1") == ip_identity("10.0.0.1")
    assert ip_identity("::1") == ip_identity("0:0::1") != ip_identity("0.0.0.1")


@given(st.binary(min_size=4, max_size=4) | st.binary(min_size=16, max_size=16))
def test_ip_text_is_ipaddress_text(raw: bytes) -> None:
    assert ip_text(raw) == str(ipaddress.ip_address(raw))
