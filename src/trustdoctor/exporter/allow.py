"""Which ``/probe`` targets the exporter may connect to.

``/probe?target=`` makes the exporter open a connection wherever a scraper
(or anyone who can reach the listener) says: a request-forgery vector
(blackbox_exporter's CVE-2020-16248 let a request reach the cloud metadata
service).  So:

* a target is refused unless the allowlist (``--allow-target``: host names,
  ``*.suffix`` wildcards, IP addresses, CIDR networks, optional ``:PORT``, or
  ``@FILE`` with one entry per line) allows it;
* the name is resolved first and **every** address is checked (a name that
  resolves to one allowed and one forbidden address is refused): the
  connection then goes to a checked address, never to a second resolution;
* link-local, metadata, unspecified, multicast and broadcast addresses are
  refused even when a host rule or a broad network (``0.0.0.0/0``) would
  allow them, unless an address rule names them (``169.254.169.254`` or a
  network inside the denied range), as postgres_exporter #1302 does;
* IPv4-mapped and 6to4/NAT64-wrapped forms are unwrapped before checking.

:func:`decide` is the decision itself, pure (no resolution, no socket): the
hostile tests call it directly for the metadata addresses.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

from ..errors import UsageError
from ..model.record import record

Net = ipaddress.IPv4Network | ipaddress.IPv6Network
Addr = ipaddress.IPv4Address | ipaddress.IPv6Address

# Refused unless named by an address rule (sources: RFC 3927 and RFC 4291
# link-local; the cloud metadata endpoints of AWS (169.254.169.254,
# fd00:ec2::254), GCP (169.254.169.254), Azure (169.254.169.254), Alibaba
# (100.100.100.200), Oracle (192.0.0.192); RFC 1122 "this network"; multicast).
DENIED: tuple[tuple[str, Net], ...] = (
    ("link-local", ipaddress.ip_network("169.254.0.0/16")),
    ("link-local", ipaddress.ip_network("fe80::/10")),
    ("metadata", ipaddress.ip_network("fd00:ec2::254/128")),
    ("metadata", ipaddress.ip_network("100.100.100.200/32")),
    ("metadata", ipaddress.ip_network("192.0.0.192/32")),
    ("unspecified", ipaddress.ip_network("0.0.0.0/8")),
    ("unspecified", ipaddress.ip_network("::/128")),
    ("multicast", ipaddress.ip_network("224.0.0.0/4")),
    ("multicast", ipaddress.ip_network("ff00::/8")),
    ("broadcast", ipaddress.ip_network("255.255.255.255/32")),
)
MAX_RULES = 10_000


@record
class Rule:
    """One allowlist entry: a host name, a ``*.suffix``, or a network; optionally a port."""

    text: str
    host: str | None = None  # exact name, lower case
    suffix: str | None = None  # ".example.com" for "*.example.com"
    net: Net | None = None
    port: int | None = None

    def names(self, host: str, port: int) -> bool:
        if self.port is not None and port != self.port:
            return False
        if self.host is not None:
            return host == self.host
        if self.suffix is not None:
            return host.endswith(self.suffix) and len(host) > len(self.suffix)
        return False

    def covers(self, addr: Addr, port: int) -> bool:
        if self.net is None or (self.port is not None and port != self.port):
            return False
        return addr.version == self.net.version and addr in self.net


@record
class Decision:
    """Whether a target may be probed; ``reason`` is a bounded code when not."""

    allowed: bool
    reason: str  # allowed | not-allowed | denied-link-local | denied-metadata | ... | no-address
    address: str | None = None  # the address refused (or the first allowed)


def _unwrap(addr: Addr) -> Addr:
    if isinstance(addr, ipaddress.IPv6Address):
        if addr.ipv4_mapped is not None:
            return addr.ipv4_mapped
        if addr.sixtofour is not None:
            return addr.sixtofour
        if addr in ipaddress.ip_network("64:ff9b::/96"):  # NAT64 (RFC 6052)
            return ipaddress.IPv4Address(int(addr) & 0xFFFFFFFF)
    return addr


def _parse_port(text: str, entry: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise UsageError(f"--allow-target {entry!r}: bad port {text!r}")
    return int(text)


def parse_rule(entry: str) -> Rule:
    """One rule: ``host[:port]``, ``*.suffix[:port]``, ``IP[:port]``, ``[v6]:port``, ``CIDR``."""
    text = entry.strip()
    if not text or any(c.isspace() for c in text):
        raise UsageError(f"--allow-target {entry!r}: empty or contains spaces")
    port: int | None = None
    body = text
    if body.startswith("["):
        close = body.find("]")
        if close < 0:
            raise UsageError(f"--allow-target {entry!r}: missing ']'")
        rest = body[close + 1 :]
        body = body[1:close]
        if rest:
            if not rest.startswith(":"):
                raise UsageError(f"--allow-target {entry!r}: expected ':PORT' after ']'")
            port = _parse_port(rest[1:], entry)
    elif body.count(":") == 1:
        body, p = body.split(":")
        port = _parse_port(p, entry)
    try:
        net = ipaddress.ip_network(body, strict=False)
    except ValueError:
        net = None
    if net is not None:
        if isinstance(net, ipaddress.IPv6Network) and net.prefixlen == 128:
            net = ipaddress.ip_network(_unwrap(net.network_address))
        return Rule(text, net=net, port=port)
    name = body.lower().rstrip(".")
    if name.startswith("*."):
        rest = name[2:]
        if not rest or "*" in rest:
            raise UsageError(f"--allow-target {entry!r}: a wildcard is '*.' and a domain")
        return Rule(text, suffix="." + rest, port=port)
    if "*" in name or "/" in name or not name:
        raise UsageError(f"--allow-target {entry!r}: not a host name, address or network")
    return Rule(text, host=name, port=port)


@record
class Allowlist:
    """The targets /probe may connect to (--allow-target), as parsed rules."""

    rules: tuple[Rule, ...]

    @classmethod
    def parse(cls, entries: Iterable[str], *, read: object = None) -> Allowlist:
        """Rules from ``--allow-target`` values; ``@FILE`` reads one entry per line
        (``#`` comments, blank lines ignored) through ``read(path) -> str``."""
        rules: list[Rule] = []
        for e in entries:
            if e.startswith("@"):
                if not callable(read):
                    raise UsageError(f"--allow-target {e!r}: files are not read here")
                for line in str(read(e[1:])).splitlines():
                    line = line.split("#", 1)[0].strip()
                    if line:
                        rules.append(parse_rule(line))
            else:
                rules.append(parse_rule(e))
            if len(rules) > MAX_RULES:
                raise UsageError(f"--allow-target: more than {MAX_RULES} entries")
        return cls(tuple(rules))


def denied_range(addr: Addr) -> tuple[str, Net] | None:
    a = _unwrap(addr)
    return next(((why, n) for why, n in DENIED if a.version == n.version and a in n), None)


def decide(allow: Allowlist, host: str, port: int, addresses: Sequence[str]) -> Decision:
    """May ``host:port``, which resolved to ``addresses``, be probed?

    Allowed when every address is allowed: by a host rule naming ``host``
    (and ``port``), or by an address rule covering it; an address in a denied
    range needs an address rule *inside* that range.
    """
    name = host.lower().rstrip(".")
    if not addresses:
        return Decision(False, "no-address")
    by_name = any(r.names(name, port) for r in allow.rules)
    first: str | None = None
    for text in addresses:
        try:
            addr = _unwrap(ipaddress.ip_address(text.split("%", 1)[0]))
        except ValueError:
            return Decision(False, "not-an-address", text)
        denied = denied_range(addr)
        if denied is not None:
            why, net = denied
            explicit = any(
                r.covers(addr, port)
                and r.net is not None
                and r.net.version == net.version
                and r.net.subnet_of(net)  # type: ignore[arg-type]
                for r in allow.rules
            )
            if not explicit:
                return Decision(False, f"denied-{why}", text)
            first = first or text
            continue
        if by_name or any(r.covers(addr, port) for r in allow.rules):
            first = first or text
            continue
        return Decision(False, "not-allowed", text)
    return Decision(True, "allowed", first)
