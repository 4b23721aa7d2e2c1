"""Target parsing: every accepted spelling, every rejection as a one-line UsageError."""

from __future__ import annotations

import pytest

from trustdoctor.errors import UsageError
from trustdoctor.model.target import parse_hostport, parse_target


@pytest.mark.parametrize(
    ("text", "host", "port", "scheme", "starttls", "servername"),
    [
        ("example.com", "example.com", 443, "https", None, "example.com"),
        ("Example.COM.", "example.com", 443, "https", None, "example.com"),
        ("example.com:8443", "example.com", 8443, "https", None, "example.com"),
        ("10.0.0.1", "10.0.0.1", 443, "https", None, None),
        ("10.0.0.1:636", "10.0.0.1", 636, "https", None, None),
        ("[2001:db8::1]:8443", "2001:db8::1", 8443, "https", None, None),
        ("[2001:DB8::1]", "2001:db8::1", 443, "https", None, None),
        ("2001:db8::1", "2001:db8::1", 443, "https", None, None),
        ("::1", "::1", 443, "https", None, None),
        ("https://example.com", "example.com", 443, "https", None, "example.com"),
        (
            "https://user:pw@example.com:8443/path?q=1#f",
            "example.com",
            8443,
            "https",
            None,
            "example.com",
        ),
        ("ldaps://dc1.corp.example", "dc1.corp.example", 636, "ldaps", None, "dc1.corp.example"),
        ("smtps://mail.example.com", "mail.example.com", 465, "smtps", None, "mail.example.com"),
        ("imaps://mail.example.com", "mail.example.com", 993, "imaps", None, "mail.example.com"),
        ("pop3s://mail.example.com", "mail.example.com", 995, "pop3s", None, "mail.example.com"),
        ("ftps://ftp.example.com", "ftp.example.com", 990, "ftps", None, "ftp.example.com"),
        ("smtp://mail.example.com", "mail.example.com", 25, "smtp", "smtp", "mail.example.com"),
        (
            "smtp://mail.example.com:587",
            "mail.example.com",
            587,
            "smtp",
            "smtp",
            "mail.example.com",
        ),
        ("imap://mail.example.com", "mail.example.com", 143, "imap", "imap", "mail.example.com"),
        ("pop3://mail.example.com", "mail.example.com", 110, "pop3", "pop3", "mail.example.com"),
        ("ftp://ftp.example.com", "ftp.example.com", 21, "ftp", "ftp", "ftp.example.com"),
        (
            "postgres://db.example.com",
            "db.example.com",
            5432,
            "postgres",
            "postgres",
            "db.example.com",
        ),
        (
            "postgresql://u@db.example.com/app",
            "db.example.com",
            5432,
            "postgresql",
            "postgres",
            "db.example.com",
        ),
        ("ldap://[::1]", "::1", 389, "ldap", "ldap", None),
        (
            "my_service.internal:8443",
            "my_service.internal",
            8443,
            "https",
            None,
            "my_service.internal",
        ),
        ("registry", "registry", 443, "https", None, "registry"),
    ],
)
def test_accepted(
    text: str, host: str, port: int, scheme: str, starttls: str | None, servername: str | None
) -> None:
    t = parse_target(text)
    assert (t.host, t.port, t.scheme, t.starttls, t.servername) == (
        host,
        port,
        scheme,
        starttls,
        servername,
    )
    assert (t.connect_host, t.connect_port) == (host, port)
    # A host written with its final dot is shown with it (the name checked).
    if t.absolute:
        assert t.display.endswith(f"{t.host}.:{t.port}") and t.checked_name == f"{t.host}."
    else:
        assert t.display.endswith(f"{t.hostport}") and t.checked_name == (t.servername or t.host)
    assert t.absolute == (text == "Example.COM.")


def test_idna_to_a_labels() -> None:
    t = parse_target("https://bücher.example:8443")
    assert t.host == "xn--bcher-kva.example"
    assert t.servername == "xn--bcher-kva.example"
    assert t.sni == "xn--bcher-kva.example"


def test_sni_never_an_ip_literal() -> None:
    assert parse_target("127.0.0.1:8443").sni is None
    t = parse_target("127.0.0.1:8443", servername="api.example.com")
    assert t.servername == "api.example.com" and t.sni == "api.example.com"
    t = parse_target("api.example.com", servername="10.1.2.3")
    assert t.servername == "10.1.2.3" and t.sni is None


def test_alpn_only_for_https() -> None:
    assert parse_target("example.com").alpn
    assert parse_target("https://example.com").alpn
    assert not parse_target("ldaps://example.com").alpn
    assert not parse_target("smtp://example.com").alpn


def test_starttls_forced_and_its_default_port() -> None:
    t = parse_target("mail.example.com", starttls="SMTP")
    assert (t.port, t.starttls, t.scheme) == (25, "smtp", "smtp")
    assert t.display == "smtp://mail.example.com:25"
    t = parse_target("mail.example.com:587", starttls="smtp")
    assert (t.port, t.starttls) == (587, "smtp")
    t = parse_target("db:6432", starttls="postgresql")
    assert (t.port, t.starttls) == (6432, "postgres")
    # --starttls forces the dialogue even on an https:// URL's port
    t = parse_target("https://mail.example.com", starttls="imap")
    assert (t.port, t.starttls) == (443, "imap")


def test_connect_to_keeps_the_name() -> None:
    t = parse_target("https://api.example.com", connect_to="127.0.0.1:9443")
    assert (t.host, t.port, t.servername) == ("api.example.com", 443, "api.example.com")
    assert (t.connect_host, t.connect_port) == ("127.0.0.1", 9443)
    assert "via 127.0.0.1:9443" in t.display
    t = parse_target("api.example.com:8443", connect_to="[::1]")
    assert (t.connect_host, t.connect_port) == ("::1", 8443)


def test_label_adds_the_name_sent_only_when_it_is_not_the_host() -> None:
    assert parse_target("10.0.0.5").label == "https://10.0.0.5:443"
    assert parse_target("api.example:8443").label == "https://api.example:8443"
    t = parse_target("10.0.0.5", servername="API.example")
    assert t.label == "https://10.0.0.5:443 servername=api.example"
    assert parse_target("a.example", servername="b.example").label == (
        "https://a.example:443 servername=b.example"
    )
    # --connect-to keeps the name: the display says where it goes.
    t = parse_target("api.example", connect_to="10.0.0.5")
    assert t.label == t.display == "https://api.example:443 (via 10.0.0.5:443)"


def test_parse_hostport() -> None:
    assert parse_hostport("[::1]:80") == ("::1", 80)
    assert parse_hostport("Proxy.Example:3128") == ("proxy.example", 3128)
    assert parse_hostport("10.0.0.1") == ("10.0.0.1", None)


@pytest.mark.parametrize(
    ("text", "kwargs", "needle"),
    [
        ("", {}, "empty target"),
        ("   ", {}, "empty target"),
        ("https://", {}, "no host name"),
        ("https:///path", {}, "no host name"),
        ("host:99999", {}, "outside 1-65535"),
        ("host:0", {}, "outside 1-65535"),
        ("host:abc", {}, "not a number"),
        ("host:", {}, "not a number"),
        ("exa mple.com", {}, "spaces"),
        ("example.com\n", {}, None),  # trailing newline is stripped, fine
        ("foo://example.com", {}, "unsupported scheme"),
        ("http://example.com", {}, "not TLS"),
        ("example.com/path", {}, "did you mean https://"),
        ("[::1", {}, "missing ']'"),
        ("[::1]x", {}, "expected ':PORT'"),
        ("[example.com]:443", {}, "not an IPv6 address"),
        ("2001:db8::1:443:99:zz", {}, "must be bracketed"),
        ("999.1.1.1", {}, "not a valid IPv4"),
        ("-bad-.example", {}, "not a valid host name (the label '-bad-' begins or ends with '-')"),
        ("a..b", {}, "not a valid host name (an empty label)"),
        ("svc.example..", {}, "not a valid host name (an empty label)"),
        ("x" * 64 + ".example", {}, "(the label 'xxxxxxxxxxxxxxxxxxxxx...' is longer than 63"),
        ("ex$ample.com", {}, "not a valid host name ('$' is not allowed in a host name)"),
        ("a." * 127 + "example", {}, "not a valid host name (longer than 253 characters)"),
        ("example.com", {"starttls": "xmpp"}, "unknown --starttls"),
        ("a\u200db.example", {}, "not a valid internationalised name"),
        ("example.com", {"servername": "bad name"}, "--servername"),
        ("example.com", {"servername": "bad\u2003name"}, "--servername"),
        ("example.com", {"servername": "999.1.1.1"}, "--servername '999.1.1.1': "),
        ("example.com", {"connect_to": "a..b:443"}, "--connect-to 'a..b:443': 'a..b' is not"),
        ("example.com", {"connect_to": "a b"}, "--connect-to"),
        ("example.com", {"connect_to": "host:70000"}, "outside 1-65535"),
        ("example.com", {"connect_to": ""}, "--connect-to"),
    ],
)
def test_rejected(text: str, kwargs: dict[str, str], needle: str | None) -> None:
    if needle is None:
        parse_target(text, **kwargs)
        return
    for _ in range(2):  # the second time from the memo of host forms: the same error
        with pytest.raises(UsageError) as err:
            parse_target(text, **kwargs)
        msg = err.value.message
        assert needle in msg
        assert "\n" not in msg
        assert err.value.exit_code == 2
