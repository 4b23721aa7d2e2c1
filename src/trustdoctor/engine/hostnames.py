"""Peer-name matching as the modelled clients do it (pure).

Go (crypto/x509 ``VerifyHostname``) matches SAN dNSName/iPAddress only since
1.15 and ignores the CN; OpenSSL's ``X509_check_host`` falls back to the
subject CN when the certificate has no dNSName SAN (curl, Python and Node use
it; CPython sets X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS).  All of them accept a
wildcard only as the whole left-most label, matching exactly one label.
"""

from __future__ import annotations

from ..clients import CLIENTS
from ..model.cert import CertInfo
from ..model.record import record
from ..model.target import ip_identity


def _norm(name: str) -> str:
    # Compared as given (X509_check_host): what a client does with a final dot
    # is its own step before the check (peer_name).
    return name.lower()


def peer_name(client: str, host: str) -> str:
    """The name ``client`` checks the certificate against when asked for
    ``host``: its final dot dropped or kept as the client does
    (``clients.Client.trailing_dot``; an unknown client keeps it)."""
    if not host.endswith("."):
        return host
    row = CLIENTS.get(client.partition("@")[0])
    how = row.trailing_dot if row is not None else "keep"
    if how == "strip-all":
        return host.rstrip(".")
    if how == "strip-one":
        return host[:-1]
    return host


def dns_match(pattern: str, host: str, wildcards: str = "strict") -> bool:
    """Whether the certificate name ``pattern`` covers ``host`` (``wildcards``:
    ``strict``, or ``java``: :func:`_java_match`)."""
    p, h = _norm(pattern), _norm(host)
    if not p or not h:
        return False
    if wildcards == "java":
        return _java_match(p, h)
    if p.startswith("*."):
        suffix = p[1:]
        if "*" in suffix or "." not in h:
            return False
        first, _, rest = h.partition(".")
        return bool(first) and "." + rest == suffix and suffix.count(".") >= 2
    if "*" in p:
        return False
    return p == h


def _java_match(p: str, h: str) -> bool:
    """JSSE's HTTPS name check (sun.security.util.HostnameChecker, JDK 17/21:
    ``hasIllegalWildcard``, ``matchLeftmostWildcard``, ``matchWildCards``): a
    ``*`` anywhere in the first label matches any run of characters there
    (``f*.example.com`` covers ``f.example.com``), the other labels compare
    exactly; ``*`` or ``*.`` alone, or no dot after the last ``*``, never
    match.  Java also refuses a wildcard right under a public suffix when the
    chain ends at a public CA (its public-suffix list, not modelled here:
    public CAs issue no such names)."""
    last = p.rfind("*")
    if last >= 0 and (p in ("*", "*.") or "." not in p[last:]):
        return False
    # The first labels match by wildcards; the rest, from its dot, exactly.
    pf, pdot, prest = p.partition(".")
    hf, hdot, hrest = h.partition(".")
    if (pdot, prest) != (hdot, hrest):
        return False
    parts = pf.split("*")
    if len(parts) == 1:
        return pf == hf
    if not hf.startswith(parts[0]):
        return False
    pos = len(parts[0])
    for middle in parts[1:-1]:
        found = hf.find(middle, pos)
        if found < 0:
            return False
        pos = found + len(middle)
    return hf[pos:].endswith(parts[-1])


def is_ip(host: str) -> bool:
    return ip_identity(host.strip("[]")) is not None


@record
class NameCheck:
    """The answer to "is this certificate valid for this host name?", and why."""

    ok: bool
    reason: str  # match, no-match, no-san, legacy-cn, ip-not-in-san, cn-fallback
    names: tuple[str, ...]  # what the certificate is valid for


def check_name(
    leaf: CertInfo, host: str, *, cn_fallback: bool, require_san: bool, wildcards: str = "strict"
) -> NameCheck:
    """Decide whether ``leaf`` is valid for ``host``."""
    names = leaf.dns_names + leaf.ip_addresses
    ip = ip_identity(host.strip("[]"))
    if ip is not None:
        for cand in leaf.ip_addresses:
            if ip_identity(cand) == ip:
                return NameCheck(True, "match", names)
        return NameCheck(False, "ip-not-in-san", names)
    if any(dns_match(p, host, wildcards) for p in leaf.dns_names):
        return NameCheck(True, "match", names)
    if not leaf.has_san or not leaf.dns_names:
        cn = leaf.common_name
        if cn and dns_match(cn, host, wildcards):
            if cn_fallback and not require_san:
                return NameCheck(True, "cn-fallback", (cn,))
            return NameCheck(False, "legacy-cn" if not require_san else "no-san", (cn,))
        if not leaf.has_san:
            return NameCheck(False, "no-san", (cn,) if cn else ())
    return NameCheck(False, "no-match", names)
