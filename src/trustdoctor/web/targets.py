"""Which live endpoints the page may connect to: the ``--allow-target`` decision.

``trustdoctor serve`` is paste-only unless ``--allow-target`` names hosts or
networks.  Every live request is decided here *before* any socket to the
target opens, and the connection then goes to the very address that was
checked (``connect_to``), so a name cannot resolve to one address for the
check and another for the connection.

The rules (docs/serve.md, "Live endpoints"):

* no ``--allow-target``: every live request is refused, nothing is resolved;
* an IP literal is allowed when a network entry contains it;
* a name is allowed when a name entry matches it (``host`` exactly, or
  ``*.suffix`` for any name below ``suffix``), or when every address it
  resolves to is contained in a network entry; names matching no name entry
  are only resolved when network entries exist;
* every address of the answer is checked, not only the first: loopback,
  link-local, cloud metadata and unspecified addresses are denied unless an
  entry *inside* their range names them (``169.254.169.254/32``,
  ``127.0.0.0/8``): ``0.0.0.0/0`` or a matching name does not open them;
  multicast and broadcast never;
* IPv4 addresses carried in IPv6 form (``::ffff:a.b.c.d``, NAT64
  ``64:ff9b::/96``) are judged as the IPv4 address they carry.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Sequence

from ..model.record import record

IP = ipaddress.IPv4Address | ipaddress.IPv6Address
Net = ipaddress.IPv4Network | ipaddress.IPv6Network

# Addresses no entry opens by accident.  (range, what it is); an address in
# one of them is allowed only by an entry that lies inside that range.
# Sources: RFC 6890 (special-purpose registries), RFC 3927 (IPv4 link-local),
# RFC 4291 (IPv6 loopback, link-local), the clouds' metadata documentation:
# AWS IMDS 169.254.169.254 and fd00:ec2::254, ECS task metadata 169.254.170.2,
# GCP metadata.google.internal = 169.254.169.254, Azure IMDS 169.254.169.254
# and its WireServer 168.63.129.16, Alibaba Cloud 100.100.100.200, Oracle
# Cloud 169.254.169.254, OpenStack 169.254.169.254.
GUARDED: tuple[tuple[Net, str], ...] = tuple(
    (ipaddress.ip_network(n), what)
    for n, what in (
        ("169.254.169.254/32", "a cloud metadata address"),
        ("169.254.170.2/32", "a cloud metadata address"),
        ("168.63.129.16/32", "a cloud metadata address"),
        ("100.100.100.200/32", "a cloud metadata address"),
        ("fd00:ec2::254/128", "a cloud metadata address"),
        ("169.254.0.0/16", "a link-local address"),
        ("fe80::/10", "a link-local address"),
        ("127.0.0.0/8", "a loopback address"),
        ("::1/128", "a loopback address"),
    )
)
# Never connected to, whatever the list says.
FORBIDDEN: tuple[tuple[Net, str], ...] = tuple(
    (ipaddress.ip_network(n), what)
    for n, what in (
        ("0.0.0.0/8", "an unspecified address"),
        ("::/128", "an unspecified address"),
        ("224.0.0.0/4", "a multicast address"),
        ("ff00::/8", "a multicast address"),
        ("255.255.255.255/32", "the broadcast address"),
    )
)
NAT64 = ipaddress.ip_network("64:ff9b::/96")  # RFC 6052 well-known prefix
MAX_ADDRESSES = 16  # addresses of one name looked at

Resolver = Callable[[str, int], Sequence[str]]


@record
class Allowlist:
    """The parsed ``--allow-target`` entries."""

    names: tuple[str, ...] = ()  # exact names, or "*.suffix"
    networks: tuple[Net, ...] = ()

    @property
    def enabled(self) -> bool:
        return bool(self.names or self.networks)

    def describe(self) -> list[str]:
        return [*self.names, *(str(n) for n in self.networks)]


@record
class Decision:
    """Whether a live request may go ahead, and to which address."""

    allowed: bool
    reason: str
    address: str | None = None  # the checked address to connect to


def _norm_name(name: str) -> str:
    return name.strip().rstrip(".").lower()


def parse_allowlist(entries: Sequence[str]) -> Allowlist:
    """``--allow-target`` values: host names, ``*.suffix``, IP addresses or CIDRs.

    Raises:
        ValueError: an entry that is none of these (the message names it).
    """
    names: list[str] = []
    nets: list[Net] = []
    for raw in entries:
        for item in raw.split(","):
            e = item.strip()
            if not e:
                continue
            try:
                nets.append(ipaddress.ip_network(e.strip("[]"), strict=False))
                continue
            except ValueError:
                pass
            name = _norm_name(e)
            body = name[2:] if name.startswith("*.") else name
            labels = body.split(".")
            if not body or not all(
                label and len(label) <= 63 and label.replace("-", "").replace("_", "").isalnum()
                and label.isascii()
                for label in labels
            ):
                raise ValueError(f"--allow-target {e!r}: not a host name, address or CIDR")
            names.append(name)
    return Allowlist(tuple(dict.fromkeys(names)), tuple(dict.fromkeys(nets)))


def _ip(text: str) -> IP | None:
    t = text.strip()
    if t.startswith("[") and t.endswith("]"):
        t = t[1:-1]
    if "%" in t:  # a zone index (fe80::1%eth0): judged without it
        t = t.split("%", 1)[0]
    try:
        return ipaddress.ip_address(t)
    except ValueError:
        return None


def unwrap(ip: IP) -> IP:
    """The IPv4 address an IPv6 form carries (mapped, NAT64), else ``ip``."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return ip.ipv4_mapped
        if ip in NAT64:
            return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip


def name_allowed(name: str, allow: Allowlist) -> bool:
    n = _norm_name(name)
    for e in allow.names:
        if e.startswith("*."):
            if n.endswith(e[1:]) and len(n) > len(e) - 1:
                return True
        elif n == e:
            return True
    return False


def address_decision(ip: IP, allow: Allowlist, *, by_name: bool) -> Decision:
    """Whether ``ip`` may be connected to (``by_name``: its name is allowlisted)."""
    ip = unwrap(ip)
    for net, what in FORBIDDEN:
        if ip.version == net.version and ip in net:
            return Decision(False, f"{ip} is {what}; never connected to")
    for net, what in GUARDED:
        if ip.version == net.version and ip in net:
            inside = [
                e for e in allow.networks
                if e.version == net.version and ip in e and e.subnet_of(net)  # type: ignore[arg-type]
            ]  # fmt: skip
            if inside:
                return Decision(True, f"{ip} is {what}, named by --allow-target {inside[0]}")
            return Decision(
                False,
                f"{ip} is {what}; it is denied unless --allow-target names it "
                f"(e.g. {ip}/{ip.max_prefixlen})",
            )
    if by_name:
        return Decision(True, f"{ip}: its name is allowed")
    for e in allow.networks:
        if e.version == ip.version and ip in e:
            return Decision(True, f"{ip} is in --allow-target {e}")
    return Decision(False, f"{ip} is not in --allow-target ({', '.join(allow.describe())})")


def system_resolver(host: str, port: int) -> list[str]:
    """The addresses of ``host`` (getaddrinfo), without connecting."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def decide(
    host: str, port: int, allow: Allowlist, *, resolve: Resolver = system_resolver
) -> Decision:
    """Whether a live request to ``host:port`` may go ahead, and to which address.

    Called before any socket to the target opens; ``resolve`` is only called
    for a name that could be allowed.
    """
    if not allow.enabled:
        return Decision(
            False, "live endpoint diagnosis is off: the server was started without --allow-target"
        )
    if not (0 < port < 65536):
        return Decision(False, f"port {port} is not a TCP port")
    ip = _ip(host)
    if ip is not None:
        d = address_decision(ip, allow, by_name=False)
        return Decision(d.allowed, d.reason, str(ip) if d.allowed else None)
    by_name = name_allowed(host, allow)
    if not by_name and not allow.networks:
        return Decision(False, f"{host} is not in --allow-target ({', '.join(allow.describe())})")
    try:
        answers = list(dict.fromkeys(resolve(host, port)))[:MAX_ADDRESSES]
    except (OSError, UnicodeError, ValueError) as exc:
        why = getattr(exc, "strerror", None) or type(exc).__name__
        return Decision(False, f"{host}: cannot resolve ({why})")
    addrs = [a for a in (_ip(x) for x in answers) if a is not None]
    if not addrs:
        return Decision(False, f"{host}: no address")
    for a in addrs:
        d = address_decision(a, allow, by_name=by_name)
        if not d.allowed:
            return Decision(False, f"{host} resolves to {d.reason}")
    return Decision(True, f"{host} → {addrs[0]}", str(addrs[0]))
