"""STARTTLS on loopback: in-test SMTP, IMAP, POP3, FTP, PostgreSQL and LDAP servers."""

from __future__ import annotations

import hashlib
import ssl
import time

import pytest

import helpers.netlab as netlab
from trustdoctor.errors import ConnectError
from trustdoctor.lab import pki
from trustdoctor.model.target import parse_target
from trustdoctor.sources.network import fetch_chain
from trustdoctor.sources.starttls import LDAP_STARTTLS_REQUEST, PG_SSL_REQUEST

PROTOCOLS = ["smtp", "imap", "pop3", "ftp", "postgres", "ldap"]


@pytest.fixture(scope="module")
def h() -> pki.Hierarchy:
    return pki.hierarchy("mail.test", root_cn="Lab Mail Root", inter_cn="Lab Mail Issuing CA")


def sha(i: pki.Issued) -> str:
    return hashlib.sha256(i.der).hexdigest()


@pytest.mark.parametrize(
    "version", [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3], ids=["tls1.2", "tls1.3"]
)
@pytest.mark.parametrize("proto", PROTOCOLS)
def test_starttls_url_scheme(
    files: netlab.Files, h: pki.Hierarchy, proto: str, version: ssl.TLSVersion
) -> None:
    ctx = netlab.server_context(files, [h.leaf, h.intermediate], max_version=version)
    netlab.TRANSCRIPTS.clear()
    with netlab.serving(netlab.tls_handler(ctx, starttls=proto)) as srv:
        r = fetch_chain(
            parse_target(f"{proto}://mail.test:{srv.port}", connect_to="127.0.0.1"), timeout=5
        )
    assert [p.cert.sha256 for p in r.chain] == [sha(h.leaf), sha(h.intermediate)]
    assert r.tls_version == ("TLSv1.3" if version is ssl.TLSVersion.TLSv1_3 else "TLSv1.2")
    assert r.alpn is None
    said = [line for p, line in netlab.TRANSCRIPTS if p == proto]
    expected = {
        "smtp": [b"EHLO trustdoctor.invalid", b"STARTTLS"],
        "imap": [b"a001 STARTTLS"],
        "pop3": [b"STLS"],
        "ftp": [b"AUTH TLS"],
        "postgres": [PG_SSL_REQUEST],
        "ldap": [LDAP_STARTTLS_REQUEST],
    }[proto]
    assert said == expected


def test_forced_starttls_flag(files: netlab.Files, h: pki.Hierarchy) -> None:
    ctx = netlab.server_context(files, [h.leaf, h.intermediate])
    with netlab.serving(netlab.tls_handler(ctx, starttls="smtp")) as srv:
        r = fetch_chain(parse_target(f"127.0.0.1:{srv.port}", starttls="smtp"), timeout=5)
    assert r.chain[0].cert.sha256 == sha(h.leaf)


@pytest.mark.parametrize(
    ("proto", "needle"),
    [
        ("smtp", "454 4.7.0"),
        ("imap", "a001 BAD"),
        ("pop3", "-ERR STLS"),
        ("ftp", "502"),
        ("postgres", "answered 'N'"),
        ("ldap", "protocolError"),
    ],
)
def test_starttls_refused(proto: str, needle: str) -> None:
    with netlab.serving(netlab.refusing(proto)) as srv, pytest.raises(ConnectError) as err:
        fetch_chain(parse_target(f"{proto}://127.0.0.1:{srv.port}"), timeout=5)
    assert err.value.code == "starttls-refused"
    assert needle in err.value.message
    assert "\n" not in err.value.message
    if proto == "smtp":
        assert "not among the EHLO extensions" in err.value.message


def test_smtp_scheme_on_an_http_port_is_not_tls() -> None:
    handler = netlab.sends(b"HTTP/1.1 400 Bad Request\r\n\r\n", after_hello=False)
    with netlab.serving(handler) as srv, pytest.raises(ConnectError) as err:
        fetch_chain(parse_target(f"smtp://127.0.0.1:{srv.port}"), timeout=5)
    assert err.value.code == "not-tls"
    assert "plain HTTP" in err.value.message


def test_starttls_scheme_on_an_implicit_tls_port_times_out_with_a_hint(
    files: netlab.Files, h: pki.Hierarchy
) -> None:
    ctx = netlab.server_context(files, [h.leaf, h.intermediate])
    with netlab.serving(netlab.tls_handler(ctx)) as srv:
        start = time.monotonic()
        with pytest.raises(ConnectError) as err:
            fetch_chain(parse_target(f"imap://127.0.0.1:{srv.port}"), timeout=1)
        elapsed = time.monotonic() - start
    assert err.value.code == "timeout"
    assert "imaps://" in err.value.message
    assert elapsed < 3


def test_smtp_server_that_answers_with_tls_is_named(files: netlab.Files, h: pki.Hierarchy) -> None:
    # A server speaking TLS first (nonsense, but seen behind odd middleboxes).
    handler = netlab.sends(b"\x16\x03\x01\x00\x05hello\r\n", after_hello=False)
    with netlab.serving(handler) as srv, pytest.raises(ConnectError) as err:
        fetch_chain(parse_target(f"pop3://127.0.0.1:{srv.port}"), timeout=3)
    assert err.value.code == "not-tls"
    assert "answered with TLS" in err.value.message


def test_imap_preauth_and_bye() -> None:
    for greeting, needle in (
        (b"* PREAUTH ready\r\n", "pre-authenticated"),
        (b"* BYE go away\r\n", "goodbye"),
    ):
        handler = netlab.sends(greeting, after_hello=False)
        with netlab.serving(handler) as srv, pytest.raises(ConnectError) as err:
            fetch_chain(parse_target(f"imap://127.0.0.1:{srv.port}"), timeout=3)
        assert err.value.code == "starttls-refused"
        assert needle in err.value.message


def test_endless_smtp_line_is_bounded() -> None:
    with netlab.serving(
        netlab.sends(b"220-" + b"x" * 200_000, after_hello=False, then_close=False)
    ) as srv:
        start = time.monotonic()
        with pytest.raises(ConnectError) as err:
            fetch_chain(parse_target(f"smtp://127.0.0.1:{srv.port}"), timeout=3)
    assert err.value.code == "starttls-refused"
    assert "longer than" in err.value.message
    assert time.monotonic() - start < 3
