"""What ``trustdoctor diagnose TARGET`` connects to, parsed once (pure).

A target is what a person types: ``host``, ``host:port``, ``[v6]:port``, a bare
IPv6 address, or a URL whose scheme says which port and which (if any) STARTTLS
dialogue to speak first.  Everything here is pure: no DNS, no sockets; bad input
becomes a one-line :class:`~trustdoctor.errors.UsageError`.

Two names travel separately, as in curl's ``--connect-to``:

* ``host``/``port``: the name the user asked for.  ``servername`` (default:
  ``host`` unless it is an IP literal) is both the SNI sent and the name the
  certificate must match.
* ``connect_host``/``connect_port``: where the TCP connection actually goes
  (``--connect-to ADDRESS[:PORT]``; default: ``host``/``port``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache

from ..errors import UsageError
from .record import record, replace

TYPE_CHECKING = False  # typing's constant, without importing typing (model/record.py)
if TYPE_CHECKING:
    from ipaddress import IPv4Address, IPv6Address


@record
class SchemeInfo:
    """What a URL scheme implies.

    Attributes:
        port: the IANA default port of the scheme.
        starttls: the plaintext dialogue that precedes TLS, or ``None`` for
            implicit TLS (the ClientHello is the first thing sent).
        alpn: offer HTTP ALPN protocols (``h2``, ``http/1.1``) in the ClientHello.
    """

    port: int
    starttls: str | None
    alpn: bool = False


# URL schemes and their default ports.  Ports are the IANA registrations
# (https://www.iana.org/assignments/service-names-port-numbers): https 443,
# ldaps 636, smtps/submissions 465 (RFC 8314), imaps 993, pop3s 995, ftps 990
# (implicit FTPS, RFC 4217 describes AUTH TLS on 21), smtp 25 (RFC 3207
# STARTTLS; submission on 587 is spelled smtp://host:587), imap 143 (RFC 2595),
# pop3 110 (RFC 2595 "STLS"), ftp 21 (RFC 4217 "AUTH TLS"), postgres 5432
# (SSLRequest, PostgreSQL protocol docs "SSL Session Encryption"), ldap 389
# (RFC 4511 §4.14 StartTLS extended operation).
SCHEMES: Mapping[str, SchemeInfo] = {
    "https": SchemeInfo(443, None, alpn=True),
    "ldaps": SchemeInfo(636, None),
    "smtps": SchemeInfo(465, None),
    "submissions": SchemeInfo(465, None),
    "imaps": SchemeInfo(993, None),
    "pop3s": SchemeInfo(995, None),
    "ftps": SchemeInfo(990, None),
    "smtp": SchemeInfo(25, "smtp"),
    "submission": SchemeInfo(587, "smtp"),
    "imap": SchemeInfo(143, "imap"),
    "pop3": SchemeInfo(110, "pop3"),
    "ftp": SchemeInfo(21, "ftp"),
    "postgres": SchemeInfo(5432, "postgres"),
    "postgresql": SchemeInfo(5432, "postgres"),
    "ldap": SchemeInfo(389, "ldap"),
}

# --starttls PROTO values and the port used when the target names none.
STARTTLS_PORTS: Mapping[str, int] = {
    "smtp": 25,
    "imap": 143,
    "pop3": 110,
    "ftp": 21,
    "postgres": 5432,
    "ldap": 389,
}
_STARTTLS_ALIASES: Mapping[str, str] = {"postgresql": "postgres", "pop": "pop3"}

# Schemes people type that are not TLS at all: say what to type instead.
_NOT_TLS_SCHEMES: Mapping[str, str] = {
    "http": "https://",
    "ws": "https://",
    "wss": "https://",
}

DEFAULT_PORT = 443

# What a target never contains: white space (str.isspace, which \s matches) or
# a control character.
_SPACE_OR_CONTROL = re.compile(r"[\s\x00-\x1f\x7f]")
# Whitespace as str.isspace() has it (sre's \s is Py_UNICODE_ISSPACE).
_SPACE = re.compile(r"\s")

# A DNS label as found on real networks: letters, digits, hyphens and also
# underscores (common in internal and container names, e.g. Docker Compose
# service names); RFC 1035 limits a label to 63 octets and a name to 253.
_LABEL = re.compile(r"^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$")


@record
class NameSource:
    """Where a target's ``servername`` came from when nobody gave it: the
    configuration of the client asked about (``kind`` ``kubeconfig``: the
    ``tls-server-name`` of ``cluster``, in ``file``)."""

    kind: str
    file: str
    cluster: str


@record
class Target:
    """A parsed endpoint.

    Attributes:
        host: the host asked for: an A-label host name (lower case, no
            trailing dot) or an IP literal (IPv6 without brackets).
        port: the port asked for.
        scheme: the URL scheme (``https`` for a bare ``host[:port]``).
        servername: the SNI sent and the name the certificate is checked
            against; ``None`` for a bare IP literal (no SNI, the IP address is
            checked) unless ``--servername`` was given.
        starttls: the STARTTLS protocol spoken first (``smtp``, ``imap``,
            ``pop3``, ``ftp``, ``postgres``, ``ldap``) or ``None``.
        connect_host: where the TCP connection goes (``--connect-to``).
        connect_port: the port the TCP connection goes to.
        display: the target as shown to people (``https://host:port``,
            ``smtp://[::1]:25``...).
        absolute: the name checked was written with its final dot
            (``svc.ns.svc.cluster.local.``, a fully qualified name that skips
            the resolver's search list): ``host``/``servername`` drop it, but
            clients differ in whether they compare it (see :attr:`checked_name`).
        name_source: where ``servername`` came from when it is the client's
            own setting (:func:`with_client_name`), else ``None``.
    """

    host: str
    port: int
    scheme: str
    servername: str | None
    starttls: str | None
    connect_host: str
    connect_port: int
    display: str
    absolute: bool = False
    name_source: NameSource | None = None

    @property
    def given_name(self) -> bool:
        """A name to send and check was chosen (``--servername``, a client's
        setting): not just the host's."""
        return self.name_source is not None or self.servername not in (None, self.host)

    @property
    def checked_name(self) -> str:
        """The name a client is asked to check, as written: ``servername`` (else
        the host), with its final dot when it had one."""
        name = self.servername or self.host
        return name + "." if self.absolute else name

    @property
    def alpn(self) -> bool:
        """Whether HTTP ALPN protocols are offered (https only)."""
        info = SCHEMES.get(self.scheme)
        return bool(info and info.alpn and self.starttls is None)

    @property
    def sni(self) -> str | None:
        """The SNI host name to send: never an IP literal (RFC 6066 §3)."""
        if self.servername is None or is_ip_literal(self.servername):
            return None
        return self.servername

    @property
    def hostport(self) -> str:
        return format_hostport(self.host, self.port)

    @property
    def label(self) -> str:
        """:func:`target_label`: the display, and the name checked when it is not
        the host as shown (a final dot counts: see :attr:`checked_name`)."""
        # (The display shows the host's final dot when it was written with one.)
        dotted = self.display.startswith(f"{self.scheme}://{self.host}.")
        shown = self.host + "." if dotted else self.host
        checked = self.checked_name if self.servername is not None else None
        return target_label(self.display, shown, checked)

    @property
    def connect_hostport(self) -> str:
        return format_hostport(self.connect_host, self.connect_port)


def target_label(display: str, host: str, servername: str | None) -> str:
    """A target as named where several share one address: a scan's lines, its
    summary's examples, its JUnit test cases.  One load balancer scanned under
    each of its names (``10.0.0.5:443 servername=api.example``...) has the same
    ``display`` for all of them, so the name sent is added when it is not the
    host, as the target list spells it."""
    if servername and servername != host:
        return f"{display} servername={servername}"
    return display


_IPV4_CHARS = frozenset("0123456789.")


def parse_ip(text: str) -> IPv4Address | IPv6Address | None:
    """``ipaddress.ip_address(text)``, or ``None`` when it is no IP literal.

    ``ipaddress`` (~2.3 ms of a cold start) is imported only for a string
    that could be one: an IPv4 literal is decimal digits and dots, an IPv6
    one holds a colon (Lib/ipaddress.py ``_parse_octet``, ``_ip_int_from_string``),
    so a host name never needs it."""
    if ":" not in text and not _IPV4_CHARS.issuperset(text):
        return None
    import ipaddress

    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _ipv4_text(text: str) -> bool:
    """Whether ``text`` is an IPv4 address as :mod:`ipaddress` reads one (four
    decimal octets of at most three digits, none above 255, no leading zero:
    Lib/ipaddress.py ``_ip_int_from_string``, ``_parse_octet``); its canonical
    form is then the text itself.  Without importing ``ipaddress`` (~2.3 ms
    of a cold ``diagnose`` of an IP address)."""
    parts = text.split(".")
    return len(parts) == 4 and all(
        p.isdigit() and p.isascii() and len(p) <= 3 and (p == "0" or p[0] != "0") and int(p) <= 255
        for p in parts
    )


def ip_packed(text: str) -> bytes | None:
    """The address bytes of an IP literal (4 or 16: ``ipaddress``'s ``packed``),
    or ``None``; an IPv4 one without importing ``ipaddress``."""
    if _ipv4_text(text):
        return bytes(int(p) for p in text.split("."))
    ip = parse_ip(text)
    return ip.packed if ip is not None else None


def ip_text(packed: bytes) -> str:
    """``str(ipaddress.ip_address(packed))`` of 4 or 16 bytes (ValueError else);
    an IPv4 address without importing ``ipaddress``."""
    if len(packed) == 4:
        return ".".join(map(str, packed))
    import ipaddress

    return str(ipaddress.ip_address(packed))


def ip_identity(text: str) -> str | IPv4Address | IPv6Address | None:
    """A value equal for two texts of one IP address, ``None`` for no IP
    literal: an IPv4 address is its text (it has one form), any other the
    ``ipaddress`` object (IPv6 is written many ways)."""
    return text if _ipv4_text(text) else parse_ip(text)


@lru_cache(maxsize=4096)
def is_ip_literal(host: str) -> bool:
    """True for an IPv4/IPv6 literal (IPv6 without brackets, scope id allowed).

    Memoised (a pure function of the string): a scan asks it several times
    per target, and ``ipaddress`` parsing is slow."""
    return _ipv4_text(host) or parse_ip(host) is not None


def format_hostport(host: str, port: int) -> str:
    """``host:port`` with IPv6 literals bracketed (``[::1]:443``)."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def parse_target(
    text: str,
    *,
    starttls: str | None = None,
    servername: str | None = None,
    connect_to: str | None = None,
) -> Target:
    """Parse what the user typed into a :class:`Target`.

    Args:
        text: ``host``, ``host:port``, ``[v6]:port``, a bare IPv6 address, or a
            URL (``https://``, ``ldaps://``, ``smtp://``... see :data:`SCHEMES`).
        starttls: force a STARTTLS protocol (``--starttls``); without a port in
            ``text`` and without a URL scheme, the protocol's port is used.
        servername: the SNI and name to check (``--servername``).
        connect_to: ``ADDRESS[:PORT]`` to connect to instead (``--connect-to``).

    Raises:
        UsageError: the target, the protocol, the name or the address is not
            usable (one line naming what is wrong).
    """
    raw = text
    text = text.strip()
    if not text:
        raise UsageError("empty target: give host, host:port or a URL such as https://host")
    if _SPACE_OR_CONTROL.search(text):
        raise UsageError(f"target {raw!r} contains spaces or control characters")

    proto: str | None = None
    if starttls is not None:
        key = starttls.strip().lower()
        key = _STARTTLS_ALIASES.get(key, key)
        if key not in STARTTLS_PORTS:
            raise UsageError(
                f"unknown --starttls protocol {starttls!r} "
                f"(known: {', '.join(sorted(STARTTLS_PORTS))})"
            )
        proto = key

    scheme: str | None = None
    rest = text
    m = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*)://(.*)$", text)
    if m:
        scheme = m.group(1).lower()
        rest = m.group(2)
        if scheme in _NOT_TLS_SCHEMES:
            raise UsageError(
                f"{scheme}:// is not TLS: use {_NOT_TLS_SCHEMES[scheme]}"
                f"{rest.split('/', 1)[0] or 'HOST'} to check the certificate"
            )
        if scheme not in SCHEMES:
            raise UsageError(
                f"unsupported scheme {scheme}:// in {text!r} "
                f"(known: {', '.join(s + '://' for s in SCHEMES)})"
            )
        # Only the authority matters: drop path, query and fragment.
        rest = re.split(r"[/?#]", rest, maxsplit=1)[0]
        if "@" in rest:
            # user:password@ in a URL is never sent anywhere; drop it.
            rest = rest.rsplit("@", 1)[1]
        if not rest:
            raise UsageError(f"target {text!r} has no host name")
    elif "/" in text or "@" in text:
        raise UsageError(
            f"target {text!r} is not host[:port] nor a URL (did you mean https://{text}?)"
        )

    host, port = _split_hostport(rest, what="target", original=text)
    host = _normalise_host(host, what="target", original=text)

    info = SCHEMES.get(scheme) if scheme else None
    if port is None:
        if info is not None:
            port = info.port
        elif proto is not None:
            port = STARTTLS_PORTS[proto]
        else:
            port = DEFAULT_PORT
    if proto is None and info is not None:
        proto = info.starttls

    # A host written with its final dot is shown with it (the name checked
    # then differs from the same host without it).
    host_dotted = not is_ip_literal(host) and _written_host(rest).endswith(".")
    sname: str | None
    if servername is not None:
        sname, absolute = _server_name(servername, "--servername")
    else:
        sname = None if is_ip_literal(host) else host
        absolute = host_dotted
    shown = host + "." if host_dotted else host

    chost, cport = host, port
    if connect_to is not None:
        c = connect_to.strip()
        if not c or _SPACE.search(c) or "/" in c or "@" in c:
            raise UsageError(f"--connect-to {connect_to!r} is not ADDRESS[:PORT]")
        h, p = _split_hostport(c, what="--connect-to", original=connect_to)
        chost = _normalise_host(h, what="--connect-to", original=connect_to)
        cport = p if p is not None else port

    final_scheme = scheme or "https"
    if scheme is None and proto is not None:
        # ``--starttls smtp host``: show it as the URL that means the same.
        final_scheme = proto
    display = f"{final_scheme}://{format_hostport(shown, port)}"
    if (chost, cport) != (host, port):
        display += f" (via {format_hostport(chost, cport)})"
    return Target(
        host=host,
        port=port,
        scheme=final_scheme,
        servername=sname,
        starttls=proto,
        connect_host=chost,
        connect_port=cport,
        display=display,
        absolute=absolute,
    )


def with_client_name(t: Target, name: str, source: NameSource) -> Target:
    """``t`` as a client connects to it when its configuration names the server
    (SNI, and the name the certificate is checked against): validated and
    normalised as ``--servername`` is.

    Raises:
        UsageError: ``name`` is no host name.
    """
    sname, absolute = _server_name(name, "the server name")
    return replace(t, servername=sname, absolute=absolute, name_source=source)


def _server_name(name: str, what: str) -> tuple[str, bool]:
    """A name to send and check, normalised, and whether it had its final dot."""
    s = name.strip()
    if not s or _SPACE.search(s):
        raise UsageError(f"{what} {name!r} is not a host name")
    if s.startswith("[") and s.endswith("]"):
        s = s[1:-1]
    sname = _normalise_host(s, what=what, original=name)
    return sname, s.endswith(".") and not is_ip_literal(sname)


def _written_host(authority: str) -> str:
    """The host of ``host[:port]`` as written (``[v6]`` and bare IPv6 aside)."""
    if authority.startswith("[") or authority.count(":") > 1:
        return authority
    return authority.rsplit(":", 1)[0] if ":" in authority else authority


def parse_hostport(text: str, *, what: str = "address") -> tuple[str, int | None]:
    """Parse ``host[:port]``/``[v6][:port]``/bare IPv6 into a normalised host and port.

    Raises:
        UsageError: not a host, a bad port, spaces.
    """
    t = text.strip()
    if not t or _SPACE.search(t):
        raise UsageError(f"{what} {text!r} is not host[:port]")
    h, p = _split_hostport(t, what=what, original=text)
    return _normalise_host(h, what=what, original=text), p


def _split_hostport(text: str, *, what: str, original: str) -> tuple[str, int | None]:
    """Split ``host[:port]``, ``[v6][:port]`` or a bare IPv6 literal."""
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            raise UsageError(f"{what} {original!r}: missing ']' after the IPv6 address")
        host = text[1:end]
        tail = text[end + 1 :]
        if not tail:
            return host, None
        if not tail.startswith(":"):
            raise UsageError(f"{what} {original!r}: expected ':PORT' after ']'")
        if not is_ip_literal(host) or ":" not in host:
            raise UsageError(f"{what} {original!r}: [{host}] is not an IPv6 address")
        return host, _parse_port(tail[1:], what=what, original=original)
    if text.count(":") > 1:
        # More than one colon and no brackets: only a bare IPv6 address makes
        # sense (``::1``); ``::1:443`` would be ambiguous, so no port here.
        if is_ip_literal(text):
            return text, None
        raise UsageError(
            f"{what} {original!r}: an IPv6 address with a port must be bracketed, "
            "e.g. [2001:db8::1]:443"
        )
    if ":" in text:
        host, port = text.split(":", 1)
        return host, _parse_port(port, what=what, original=original)
    return text, None


def _parse_port(text: str, *, what: str, original: str) -> int:
    if not text.isascii() or not text.isdigit():
        raise UsageError(f"{what} {original!r}: port {text!r} is not a number")
    port = int(text)
    if not 1 <= port <= 65535:
        raise UsageError(f"{what} {original!r}: port {port} is outside 1-65535")
    return port


def _normalise_host(host: str, *, what: str, original: str) -> str:
    """Lower-case A-label host name or canonical IP literal."""
    if not host:
        raise UsageError(f"{what} {original!r} has no host name")
    name, why = _host_form(host)
    if why:
        raise UsageError(f"{what} {original!r}: {why}")
    return name


@lru_cache(maxsize=4096)
def _host_form(host: str) -> tuple[str, str]:
    """``(canonical form, "")`` of a non-empty host, or ``("", why it is none)``.

    Memoised (a pure function of the string), as :func:`is_ip_literal`: the
    lines of a scan repeat hosts and server names (one address, many ports),
    and parsing an IP literal with ``ipaddress`` was a third of a line's
    reading."""
    if _ipv4_text(host):
        return host, ""
    ip = parse_ip(host)
    if ip is not None:
        return str(ip), ""
    if re.fullmatch(r"[0-9.]+", host):
        # 999.1.1.1 or 10.1: not an address, and not a sensible DNS name either.
        return "", f"{host!r} is not a valid IPv4 address"
    name = host[:-1] if host.endswith(".") else host
    if not name or ".." in name or name.startswith(".") or name.endswith("."):
        return "", f"{host!r} is not a valid host name (an empty label)"
    if not name.isascii():
        name, why = _to_alabels(name)
        if why:
            return "", why
    name = name.lower()
    if len(name) > 253:
        return "", f"{host!r} is not a valid host name (longer than 253 characters)"
    for label in name.split("."):
        if not _LABEL.match(label):
            return "", f"{host!r} is not a valid host name ({_label_fault(label)})"
    return name, ""


def _label_fault(label: str) -> str:
    """Why a lower-cased ASCII label breaks the host-name rule (RFC 1123 §2.1,
    and ``_`` as resolvers allow it): what a user fixes first."""
    shown = label if len(label) <= 24 else label[:21] + "..."
    if len(label) > 63:
        return f"the label {shown!r} is longer than 63 characters"
    bad = next((c for c in label if not (c.isalnum() or c in "-_")), None)
    if bad is not None:
        return f"{bad!r} is not allowed in a host name"
    return f"the label {shown!r} begins or ends with '-'"


def _to_alabels(name: str) -> tuple[str, str]:
    """Internationalised name → A-labels (``xn--``), as browsers and curl send
    it, or ``("", why not)``.

    Uses the ``idna`` package (IDNA 2008 with UTS #46 mapping, what curl via
    libidn2 and browsers do) when installed, else Python's IDNA 2003 codec.
    """
    try:
        import idna
    except ImportError:  # pragma: no cover - idna is usually present
        try:
            return name.encode("idna").decode("ascii"), ""
        except UnicodeError:
            return "", "not a valid internationalised name"
    try:
        out = idna.encode(name, uts46=True)
    except idna.IDNAError as exc:
        return "", f"not a valid internationalised name ({exc})"
    return str(out.decode("ascii")), ""
