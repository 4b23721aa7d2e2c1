"""The English for codes.  The only place (with the other renderers) where
finding codes become sentences; params fill the templates."""

from __future__ import annotations

import string
from collections.abc import Mapping, Sequence
from typing import Any

from ..model.findings import Code

# One-line verdict per primary cause.  "{x}" placeholders come from the
# primary finding's params (see docs/causes.md for each code's params).
HEADLINE: Mapping[str, str] = {
    Code.OK: "trusted",
    Code.MISSING_INTERMEDIATE: "the server omits the intermediate {issuer!q} — fix the server, not the clients",
    Code.UNTRUSTED_ROOT: "the chain ends at {issuer!q}, which this client does not trust — install that root on the client",
    Code.OUTDATED_STORE: "the root {issuer!q} is publicly trusted but missing from this client's store — update the client's CA bundle",
    Code.SELF_SIGNED_LEAF: "the server presents a self-signed certificate ({subject}) — replace it with a CA-issued one, or trust it explicitly",
    Code.NOT_A_CA: "{subject!q} signed a certificate but is not allowed to ({reason}) — reissue from a real CA",
    Code.EXPIRED: "{subject!q} expired on {not_after} — renew it",
    Code.NOT_YET_VALID: "{subject!q} is not valid before {not_before} — check the clock, or reissue",
    Code.HOSTNAME_MISMATCH: "the certificate is not valid for {host!q} (valid for: {names}) — reissue with the right name or connect by a listed name",
    Code.WRONG_USAGE: "{subject!q} is not allowed for TLS server authentication ({which}) — reissue with serverAuth",
    Code.NAME_CONSTRAINTS: "{subject!q} may not issue for {name!q} (constraint {constraint!q}) — reissue under a CA allowed for that name",
    Code.BAD_SIGNATURE: "a certificate's signature does not verify with its issuer's key — the chain mixes certificates of different CAs",
    Code.INSECURE_ALGORITHM: "{subject!q} is signed with {hash} — reissue with SHA-256",
    Code.WEAK_KEY: "{subject!q} has a {bits}-bit {key_type} key, below this client's minimum — reissue with a stronger key",
    Code.PATH_TOO_LONG: "the chain is longer than {subject!q} allows — shorten the hierarchy",
    Code.UNHANDLED_CRITICAL_EXTENSION: "{subject!q} carries a critical extension the client does not know — reissue without it",
    Code.STRICT_PROFILE: "{subject!q} breaks a strict RFC 5280 / CA/B Forum rule ({rule}: {detail}) — lenient clients accept it",
    Code.NO_TRUST_STORE: "{client} has no trust store at all ({reason}) — install the CA bundle",
    Code.STALE_BUNDLE: "the root {root!q} sits in {path} but the compiled bundle was never rebuilt — run: {refresh}",
    Code.ANCHOR_FILE_IGNORED: "the root {root!q} in {path} is ignored by the update tool ({reason}) — fix the file",
    Code.ENV_OVERRIDE: "{variables} hide the root {root!q} that {client} would read from {default_source} — unset or fix the override",
    Code.RESTART_REQUIRED: "{process} started {started}, before its trust store changed ({changed}) — restart it",
    Code.DAEMON_STORE: "{client}'s own trust store is wrong: {path} — {reason}",
    Code.PARTIAL_TRUST: "the root is trusted by some clients and not others",
    Code.INTERCEPTED: "the connection is intercepted by {issuer!q} — trust the inspection CA or bypass the proxy",
    Code.UNREACHABLE: "could not connect",
    Code.NOT_TLS: "the port does not speak TLS",
    Code.HANDSHAKE_FAILED: "the TLS handshake failed",
    Code.TIMEOUT: "timed out",
    Code.STARTTLS_REFUSED: "the server did not switch to TLS (STARTTLS refused)",
    Code.PROXY_FAILED: "the HTTP proxy refused or broke the tunnel",
}

FINDING: Mapping[str, str] = {
    Code.WRONG_ORDER: "the server sends the chain out of order (expected: {expected})",
    Code.ROOT_SENT: "the server also sends the root {subject!q} (harmless, but useless)",
    Code.EXTRA_CERTIFICATE: "the server sends {subject!q}, which is not on the path",
    Code.DUPLICATE_CERTIFICATE: "certificate {position} repeats certificate {first_position} ({subject})",
    Code.EXPIRING_SOON: "{subject!q} expires in {days} days ({not_after})",
    Code.INTERMEDIATE_EXPIRES_FIRST: "intermediate {subject!q} expires ({not_after}) before the leaf ({leaf_not_after})",
    Code.LEGACY_COMMON_NAME: "the leaf has no DNS subjectAltName; only its CN {common_name!q} names the host — Go and strict clients ignore the CN",
    Code.TRUSTED_BLOCK_IGNORED: "{count} TRUSTED CERTIFICATE block(s) were ignored by {client} (Go reads only CERTIFICATE blocks)",
    Code.CLIENT_DISAGREEMENT: "clients disagree: trusting {trusting}; refusing {refusing}",
    Code.CLIENT_CERT_REQUESTED: "the server asks for a client certificate",
    Code.DIFFERENT_CHAINS: "the addresses of this name serve different chains: {chains}",
    Code.EXPIRED_CROSS_SIGN: "expired cross-sign {subject!q} (issued by {issuer!q}, expired {not_after}) — stop sending it; the same CA key is also certified by {alternative_issuer!q}",
    Code.AIA_FETCH_FAILED: "could not fetch the missing issuer from {url} ({reason}: {detail})",
}

# AIA confirmation (issue 7): what the fetch found, said right after the
# headline.  Params: fetched_subjects/fetched_urls/fetched_sha256s (parallel
# lists) and fetched_root/fetched_root_from/fetched_root_sha256.
FETCHED_SEND = "the server should also send {subject!q} (fetched from {url}, sha256 {sha256})"
FETCHED_ROOT = "the chain ends at the root {subject!q} (fetched from {url}, sha256 {sha256}); the client does not trust it"

SETTLE: Mapping[str, str] = {
    "fetch-aia": "fetch the issuer from the AIA URL ({aia}) — run again with --fetch, or use trustdoctor bundle",
    "supply-root": "supply the root you expect with --trust ROOT.pem and run again",
    "ask-server-for-chain": "ask the server operator which chain the server is configured with",
}

CONFIDENCE_NOTE: Mapping[str, str] = {
    "high": "",
    "medium": "likely",
    "low": "uncertain",
}

NEXT: Mapping[str, str] = {
    Code.OK: "nothing to do",
    Code.MISSING_INTERMEDIATE: "serve the full chain (leaf, then each intermediate; not the root): e.g. nginx ssl_certificate fullchain.pem",
    Code.UNTRUSTED_ROOT: "install the root {issuer!q} into this client's trust store (trustdoctor fix shows the commands)",
    Code.OUTDATED_STORE: "update the CA bundle package (ca-certificates) on the client",
    Code.SELF_SIGNED_LEAF: "issue the server certificate from a CA the clients trust",
    Code.HOSTNAME_MISMATCH: "reissue the certificate with {host!q} in its subjectAltName",
    Code.EXPIRED: "renew {subject!q} and deploy it",
    Code.STALE_BUNDLE: "{refresh}",
    Code.NO_TRUST_STORE: "install the CA bundle (e.g. apt-get install ca-certificates / apk add ca-certificates)",
    Code.ENV_OVERRIDE: "unset {variables}, or point them at a bundle that contains the root",
    Code.RESTART_REQUIRED: "restart {process} (systemctl restart {service})",
    Code.DAEMON_STORE: "put the root where {client} looks for this registry (trustdoctor fix --ca ROOT.pem --client {client} shows the exact path)",
    Code.INTERCEPTED: "trust the inspection CA {issuer!q} in this client, or bypass the proxy for this host",
}


class _Formatter(string.Formatter):
    """``{x}`` fills a parameter, ``{x!q}`` quotes it (a DN shown by its CN);
    lists are joined; a missing parameter shows as ``?``."""

    def get_value(self, key: int | str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> Any:
        value = kwargs.get(str(key), "?")
        if isinstance(value, list | tuple):
            return ", ".join(safe(x) for x in value) or "none"
        return safe(value) if isinstance(value, str) else value

    def convert_field(self, value: Any, conversion: str | None) -> Any:
        if conversion == "q":
            return f"'{_short(value)}'"
        return super().convert_field(value, conversion)


_FORMATTER = _Formatter()


def safe(value: object) -> str:
    """Text from certificates, servers and files, with control characters
    escaped: a hostile AIA URL or subject must not drive the terminal."""
    text = str(value)
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in text)


def fmt(template: str, params: Mapping[str, object]) -> str:
    """Fill ``template`` with ``params`` (see :class:`_Formatter`)."""
    return _FORMATTER.vformat(template, (), dict(params))


def _short(value: object) -> str:
    """A DN shown as its CN when it has one: 'CN=X,O=Y' -> 'X'."""
    text = str(value)
    for part in text.split(","):
        if part.startswith("CN="):
            return part[3:]
    return text


def headline(code: str, params: Mapping[str, object]) -> str:
    return fmt(HEADLINE.get(code, code), params)


def finding_text(code: str, params: Mapping[str, object]) -> str:
    template = FINDING.get(code) or HEADLINE.get(code) or code
    return fmt(template, params)


def fetched_lines(params: Mapping[str, object]) -> list[str]:
    """The "server should also send" / "fetched root" sentences for a finding's params."""
    out: list[str] = []
    subjects, urls, fps = (
        params.get(k) for k in ("fetched_subjects", "fetched_urls", "fetched_sha256s")
    )
    if isinstance(subjects, list) and isinstance(urls, list) and isinstance(fps, list):
        for subject, url, fp in zip(subjects, urls, fps, strict=False):
            out.append(fmt(FETCHED_SEND, {"subject": subject, "url": url, "sha256": fp}))
    if params.get("fetched_root"):
        out.append(
            fmt(
                FETCHED_ROOT,
                {
                    "subject": params["fetched_root"],
                    "url": params.get("fetched_root_from", "?"),
                    "sha256": params.get("fetched_root_sha256", "?"),
                },
            )
        )
    return out
