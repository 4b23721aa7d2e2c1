"""The English for codes.  The only place (with the other renderers) where
finding codes become sentences; params fill the templates."""

from __future__ import annotations

# What ``string.Formatter`` parses with (string.py imports it unconditionally).
import _string  # type: ignore[import-not-found]  # (no stub)
from collections.abc import Iterator, Mapping, Sequence

from ..model.findings import Code

TYPE_CHECKING = False  # typing's constant, without importing typing (model/record.py)
if TYPE_CHECKING:
    from typing import Any

# A tuple holds alternatives: the first whose placeholders are all set is used.
Template = str | tuple[str, ...]

# One-line verdict per primary cause.  "{x}" placeholders come from the
# primary finding's params (see docs/causes.md for each code's params).
HEADLINE: Mapping[str, Template] = {
    Code.OK: "trusted",
    Code.MISSING_INTERMEDIATE: "the server omits the intermediate {issuer!q} — fix the server, not the clients",
    Code.UNTRUSTED_ROOT: (
        "the chain is signed by {issuer!q}, and this client trusts a CA of that name but with another key (sha256 {trusted_sha256:.16}): the CA was re-keyed (a rotation) or another CA reuses the name — give the client the CA that signs the chain now",
        "the chain ends at {issuer!q}, which this client does not trust — install that root on the client",
    ),
    Code.OUTDATED_STORE: "the root {issuer!q} is publicly trusted but missing from this client's store — update the client's CA bundle",
    Code.SELF_SIGNED_LEAF: "the server presents a self-signed certificate ({subject}) — replace it with a CA-issued one, or trust it explicitly",
    Code.NOT_A_CA: "{subject!q} signed a certificate but is not allowed to ({reason}) — reissue from a real CA",
    Code.EXPIRED: "{subject!q} expired on {not_after} — renew it",
    Code.NOT_YET_VALID: "{subject!q} is not valid before {not_before} — check the clock, or reissue",
    Code.HOSTNAME_MISMATCH: (
        "this client checks {host!q} with its final dot, which no certificate name has (valid for: {names}) — connect to {without_dot!q}, or use the name without the dot for this client",
        "the certificate is not valid for {host!q} (valid for: {names}) — reissue with the right name or connect by a listed name",
    ),
    Code.WRONG_USAGE: "{subject!q} is not allowed for TLS server authentication ({which}) — reissue with serverAuth",
    Code.NAME_CONSTRAINTS: (
        # (reason subtree-bounds: OpenSSL's 49; {bound} is "minimum" or "maximum")
        "{subject!q} bounds its name constraints with a {bound}, which OpenSSL does not support: it refuses the names they cover — reissue that CA without it",
        "{subject!q} may not issue for {name!q} (constraint {constraint!q}) — reissue under a CA allowed for that name",
    ),
    Code.BAD_SIGNATURE: "a certificate's signature does not verify with its issuer's key — the chain mixes certificates of different CAs",
    Code.INSECURE_ALGORITHM: "{subject!q} is signed with {hash} — reissue with SHA-256",
    Code.WEAK_KEY: (
        "{subject!q} has a {bits}-bit RSA key, a size this client refuses (not divisible by {divisible_by}) — reissue with a 2048-, 3072- or 4096-bit key",
        "{subject!q} has a {bits}-bit {key_type} key, below this client's minimum of {minimum} bits — reissue with a stronger key",
        "{subject!q} has a {bits}-bit {key_type} key, below this client's minimum — reissue with a stronger key",
        "{subject!q} has an ECDSA key on {curve}, a curve this client refuses — reissue with P-256 or P-384",
        "{subject!q} has a key of type {key_type}, which this client refuses — reissue with RSA (≥ 2048 bits) or ECDSA P-256/P-384",
        "{subject!q} has a key this client refuses ({detail}) — reissue with RSA (≥ 2048 bits) or ECDSA P-256/P-384",
    ),
    Code.PATH_TOO_LONG: "the chain is longer than {subject!q} allows — shorten the hierarchy",
    Code.UNHANDLED_CRITICAL_EXTENSION: "{subject!q} carries a critical extension the client does not know — reissue without it",
    Code.UNPARSABLE_CERTIFICATE: "{subject!q} is refused by this client's certificate parser ({message}) — reissue it without the rejected encoding",
    Code.STRICT_PROFILE: "{subject!q} breaks a strict RFC 5280 / CA/B Forum rule ({rule}: {detail}) — lenient clients accept it",
    Code.NO_TRUST_STORE: "{client} has no trust store at all ({reason}) — install the CA bundle",
    Code.STALE_BUNDLE: "the root {root!q} sits in {path} but the compiled bundle was never rebuilt — run: {refresh}",
    Code.ANCHOR_FILE_IGNORED: "the root {root!q} in {path} is ignored by the update tool ({reason}) — fix the file",
    Code.ENV_OVERRIDE: "{variables} hide the root {root!q} that {client} would read from {default_source} — unset or fix the override",
    Code.RESTART_REQUIRED: "{process} started {started}, before its trust store changed ({changed}) — restart it",
    Code.DAEMON_STORE: "{client}'s own trust store is wrong: {path} — {reason}",
    Code.PARTIAL_TRUST: "the root is trusted by some clients and not others",
    Code.STRICT_ANCHOR: "{client} verifies with {flag}: a chain ending at {root!q} fails ({rule})",
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

NEXT: Mapping[str, Template] = {
    Code.OK: "nothing to do",
    Code.MISSING_INTERMEDIATE: "serve the full chain (leaf, then each intermediate; not the root): e.g. nginx ssl_certificate fullchain.pem",
    Code.UNTRUSTED_ROOT: "install the root {issuer!q} into this client's trust store (trustdoctor fix shows the commands)",
    Code.OUTDATED_STORE: "update the CA bundle package (ca-certificates) on the client",
    Code.SELF_SIGNED_LEAF: "issue the server certificate from a CA the clients trust",
    Code.HOSTNAME_MISMATCH: (
        "give this client {without_dot!q}, without the final dot (the certificate needs no change)",
        "reissue the certificate with {host!q} in its subjectAltName",
    ),
    Code.EXPIRED: "renew {subject!q} and deploy it",
    Code.STALE_BUNDLE: "{refresh}",
    Code.NO_TRUST_STORE: "install the CA bundle (e.g. apt-get install ca-certificates / apk add ca-certificates)",
    Code.ENV_OVERRIDE: "unset {variables}, or point them at a bundle that contains the root",
    Code.RESTART_REQUIRED: "restart {process} (systemctl restart {service})",
    Code.DAEMON_STORE: "put the root where {client} looks for this registry (trustdoctor fix --ca ROOT.pem --client {client} shows the exact path)",
    Code.INTERCEPTED: "trust the inspection CA {issuer!q} in this client, or bypass the proxy for this host",
}


# -- store findings: reason / effect / fix codes -> sentences ------------------------
#
# Store findings carry stable codes in their params (``reason``: why;
# ``effect``: what the client then does; some ``reason``s imply a ``fix``)
# plus the values the sentence needs (docs/stores.md lists them per code).
# One table, keyed by finding code then reason code, so the stores view, the
# diagnosis text and the fix notes say the same thing.  A tuple holds
# alternatives: the first whose placeholders are all set is used.

REASONS: Mapping[str, Mapping[str, Template]] = {
    # trustdoctor's own safety limits (stores/rootfs.py); {error}: the OS's text
    "store-limit": {
        "file-too-large": (
            "too large ({size} bytes, over the {limit}-byte limit)",
            "too large (over the {limit}-byte limit)",
        ),
        "too-many-entries": "more than {entries} entries: only the first were read",
        "os-error": "{error}",
        "too-many-pem-blocks": "more than {limit} PEM blocks: the rest of the file was not read",
    },
    # {error}: the OS's (or the keystore/TOML parser's) own text
    "unreadable-file": {
        "os-error": "{error}",
        "missing-file": "no such file",
        "keystore-rejected": "{error}",
        "invalid-toml": "invalid TOML: {error}",
        # OpenSSL's PEM reader stopping at a block (stores/pemfile.py)
        "pem-no-end": "PEM block at line {line} has no END line",
        "pem-invalid-base64": "PEM block at line {line} has invalid base64",
        "pem-headers": "certificate at line {line} has PEM headers",
        "not-der": "certificate at line {line} is not DER",
        "does-not-parse": "certificate at line {line} does not parse",
        "no-certificate": "no certificate found",
    },
    # why Go's first readable bundle gave nothing
    "empty-bundle": {
        "empty-file": "the file is empty",
        "der-not-pem": "DER, not PEM: Go reads only PEM",
        "no-pem-block": "no PEM block",
        "only-trusted-certificate": "only BEGIN TRUSTED CERTIFICATE blocks, which Go ignores",
        "pem-headers": "CERTIFICATE blocks with PEM headers, which Go ignores",
        "no-parsable-certificate": "no parsable CERTIFICATE block",
    },
    # why the update tool (or a certs.d reader) never takes the file
    "anchor-file-ignored": {
        "der-content": "DER content: the update tool copies it but no client can parse it",
        "in-subdirectory": "in a subdirectory: {dir} is not read recursively",
        "wrong-suffix": (
            "name does not end in {suffix}: {tool} ignores it",
            "name does not end in {suffix}: the update tool ignores it",
        ),
        "hidden-file": "hidden file: the update tool skips it",
        "multi-cert-no-hash-link": "several certificates in one file: it gets no <hash>.0 link, so clients that only use the hash directory never see it",
        "no-pem-certificate": "no PEM CERTIFICATE block (DER or TRUSTED CERTIFICATE are ignored)",
        "not-crt-suffix": "only *.crt files in a certs.d directory are CA certificates",
    },
    "stale-bundle": {
        "not-in-bundle": "not in {bundle}",
        "bundle-missing": "{bundle} does not exist",
        "no-hash-link": "certificate files without a <hash>.0 link: invisible to OpenSSL's CApath lookup",
    },
    "override-harmless": {
        "nothing-hidden": "every root of the default store is still trusted with the override",
        "go-cert-dir-still-read": "SSL_CERT_FILE replaces only Go's list of bundle files: every file in {dirs:and} is still read because SSL_CERT_DIR is not set",
        "temurin-entrypoint": "the Temurin entrypoint imports /certificates/*.crt and the OS store into cacerts when the container starts; this view is the store before that",
    },
    # {load_error}: the client's own error text
    "no-trust-store": {
        "load-error": "{load_error}",
        "no-anchors": "no CA certificate found in any source this client reads",
    },
    # per-registry stores of dockerd, containerd, CRI-O, Podman
    "daemon-store": {
        "ca-file-unreadable": "cannot read CA file: {error}",
        # {client_error}: the daemon's exact message (moby, containers/image)
        "client-cert-without-key": "{client_error}",
        "key-without-client-cert": "{client_error}",
        "port-443-in-name": "'{dir}' matches only image references that spell ':443'; references to {host} without a port use {expected}",
        "containerd-style-name": "containerd-style name (host_port_): dockerd's certs.d uses host:port",
        "name-cannot-match": "dockerd looks for {expected} exactly; {misses} cannot match",
        "name-must-match": "the directory name must match the image reference's host[:port] exactly ({registry}); {found} cannot match",
        "skip-verify": "skip_verify = true for {url}: certificates are not verified at all",
        "insecure-skip-tls-verify": "insecure-skip-tls-verify: true for cluster {cluster}: certificates are not verified at all",
        # containerd's own messages (core/remotes/docker/config/hosts.go)
        "hosts-ca-unreadable": 'unable to read CA cert "{path}": {error}',
        "hosts-ca-no-pem": 'unable to load CA cert "{path}": no PEM certificate',
        "legacy-ca-file-unreadable": "ca_file: {error}",
        "registry-settings-ignored": "registry settings under {section} are ignored by a version {version} configuration (expected {expected_section})",
        "config-path-unset-version-unknown": "registry config_path is unset: containerd ≥ 2.2 then reads {default_config_path}, older versions ignore certs.d; the version could not be determined from the files, so certs.d is assumed ignored",
        "config-path-unset": "config_path is unset in {config}: containerd {version} never reads {path}",
        "default-shadows": "{path} shadows {shadowed}: the first root with any match wins",
    },
}

# What a reason implies to do, for the few store findings that say it.
FIXES: Mapping[str, Mapping[str, str]] = {
    "daemon-store": {
        "config-path-unset": 'set config_path = "/etc/containerd/certs.d" under [{section}]',
    },
}

# ``effect`` codes: what the client does with the file (any finding code).
EFFECTS: Mapping[str, str] = {
    "go-tries-next-file": "skipped; Go tries the next certificate file",
    "go-stops-at-first-file": "Go stops at the first readable certificate file: the files after it are never read",
    "openssl-no-cafile": "no CAfile is loaded",
    "openssl-drops-file": "OpenSSL drops the whole file when one PEM block is broken",
    "java-truststore-missing": "javax.net.ssl.trustStore points to a missing file: the JVM trusts nothing",
    "java-no-trust-manager": "the JVM cannot initialise its trust manager",
    "java-keystore-unloadable": "the JVM cannot load its truststore: every TLS connection fails",
    "node-ignores-extra": "Node prints a warning and ignores $NODE_EXTRA_CA_CERTS",
    "node-keeps-partial": "Node warns 'Ignoring extra certs from `{extra_ca_certs}`' and keeps only the {kept} certificate(s) read before the error",
    "containerd-refuses-start": "containerd refuses to start with this file",
}

# ``intercepted``'s ``evidence``: a list of {"code": ..., values}.
INTERCEPTION_EVIDENCE: Mapping[str, str] = {
    "product-marker": "the CA name '{name}' has {attribute}, a marker of {product}",
    "not-a-reference-root": "the chain ends at '{ca}', which is not among the {reference_count} Mozilla reference roots",
    "impostor-name": "its issuer name matches Mozilla root '{root}' but the signature does not verify with that root's key",
    "via-proxy": "the connection went through an HTTP proxy",
    "not-tied-to-name": "nothing in the CA's name or constraints ties it to {servername}",
}

# ``stores``' distro detection: ``distro.evidence`` items {"code": ..., values}.
DISTRO_EVIDENCE: Mapping[str, str] = {
    "disk": "{marker} ({path})",
    "pretty-name": "os-release PRETTY_NAME={pretty_name!r}",
    "os-release-disagrees": "os-release says {id!r}, disk says {disk_family}",
    "os-release-only": "os-release ID={id!r} (no disk evidence)",
    "busybox": "/bin/busybox and no package database",
    "nothing": "no os-release, no shell, no package database",
}
# The disk markers of stores/distro.py DISK_EVIDENCE.
DISK_MARKERS: Mapping[str, str] = {
    "p11-kit-source": "p11-kit ca-trust tree",
    "p11-kit-extracted": "p11-kit ca-trust output",
    "suse-anchors": "SUSE anchors directory",
    "suse-bundle": "SUSE compiled bundle",
    "arch-trust-source": "Arch trust-source tree",
    "arch-extracted": "Arch extracted tree",
    "apk-database": "apk database",
    "apk-config": "apk configuration",
    "distroless-dpkg": "distroless per-package dpkg status",
    "dpkg-database": "dpkg database",
    "debian-ca-tree": "Debian ca-certificates tree",
}


class _Formatter:
    """``{x}`` fills a parameter, ``{x!q}`` quotes it (a DN shown by its CN);
    lists are joined with commas (``{x:and}``: "a, b and c"); a missing
    parameter shows as ``?``.

    ``string.Formatter``'s algorithm on the parser it uses (``_string``, the
    C half of ``str.format``): importing ``string`` (its ``Template``
    metaclass compiles a pattern) was ~1 ms of every command's start-up.
    ``tests/engine/test_words_format.py`` compares the two on every template."""

    def parse(self, template: str) -> Iterator[tuple[str, str | None, str | None, str | None]]:
        return _string.formatter_parser(template)  # type: ignore[no-any-return]

    def vformat(self, template: str, kwargs: Mapping[str, Any], depth: int = 2) -> str:
        if depth < 0:
            raise ValueError("Max string recursion exceeded")
        out: list[str] = []
        auto = 0
        for literal, name, spec, conversion in _string.formatter_parser(template):
            if literal:
                out.append(literal)
            if name is None:
                continue
            first, rest = _string.formatter_field_name_split(name)
            if first == "":
                first, auto = auto, auto + 1
            value = self.get_value(first, (), kwargs)
            for is_attr, key in rest:
                value = getattr(value, key) if is_attr else value[key]
            value = self.convert_field(value, conversion)
            if spec and "{" in spec:
                spec = self.vformat(spec, kwargs, depth - 1)
            out.append(self.format_field(value, spec or ""))
        return "".join(out)

    def get_value(self, key: int | str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> Any:
        value = kwargs.get(str(key), "?")
        if isinstance(value, list | tuple):
            return [safe(x) for x in value]
        return safe(value) if isinstance(value, str) else value

    def convert_field(self, value: Any, conversion: str | None) -> Any:
        if isinstance(value, list) and conversion is not None:
            value = _join(value, "")
        if conversion == "q":
            return f"'{_short(value)}'"
        if conversion is None:
            return value
        if conversion == "s":
            return str(value)
        if conversion == "r":
            return repr(value)
        if conversion == "a":
            return ascii(value)
        raise ValueError(f"Unknown conversion specifier {conversion!s}")

    def format_field(self, value: Any, format_spec: str) -> Any:
        if isinstance(value, list):
            return _join(value, format_spec)
        return format(value, format_spec)


def _join(items: list[str], spec: str) -> str:
    if not items:
        return "none"
    if spec == "and" and len(items) > 1:
        return ", ".join(items[:-1]) + " and " + items[-1]
    return ", ".join(items)


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
    return _FORMATTER.vformat(template, dict(params))


def _short(value: object) -> str:
    """A DN shown as its CN when it has one: 'CN=X,O=Y' -> 'X'."""
    text = str(value)
    for part in text.split(","):
        if part.startswith("CN="):
            return part[3:]
    return text


def headline(code: str, params: Mapping[str, object]) -> str:
    return fmt(pick(HEADLINE.get(code, code), params), explained(code, params))


def finding_text(code: str, params: Mapping[str, object]) -> str:
    template = FINDING.get(code) or HEADLINE.get(code) or code
    return fmt(pick(template, params), explained(code, params))


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


def _fields(template: str) -> list[str]:
    return [name for _, name, _, _ in _FORMATTER.parse(template) if name]


def pick(template: Template, params: Mapping[str, object]) -> str:
    """The template itself, or of alternatives the first whose placeholders are all set."""
    if isinstance(template, str):
        return template
    for t in template:
        if all(params.get(f) is not None for f in _fields(t)):
            return t
    return template[-1]


def reason_text(code: str, params: Mapping[str, object]) -> str | None:
    """The sentence for a store finding's ``reason`` code, or ``None`` when it has none."""
    reason = params.get("reason")
    if not isinstance(reason, str):
        return None
    template = REASONS.get(str(code), {}).get(reason)
    return None if template is None else fmt(pick(template, params), params)


def explained(code: str, params: Mapping[str, object]) -> dict[str, object]:
    """``params`` with their ``reason``/``effect`` codes replaced by sentences (and the
    ``fix`` a reason implies added), ready for a template that says ``{reason}``."""
    out = dict(params)
    why = reason_text(code, params)
    if why is not None:
        out["reason"] = why
        fix = FIXES.get(str(code), {}).get(str(params.get("reason")))
        if fix is not None and "fix" not in params:
            out["fix"] = fmt(fix, params)
    effect = params.get("effect")
    if isinstance(effect, str) and effect in EFFECTS:
        out["effect"] = fmt(EFFECTS[effect], params)
    return out


def _item_text(table: Mapping[str, str], item: object) -> str:
    if isinstance(item, Mapping):
        code = str(item.get("code"))
        template = table.get(code)
        return fmt(template, item) if template is not None else safe(code)
    return safe(item)


def interception_evidence(item: object) -> str:
    """One ``intercepted`` evidence item ({"code": ..., values}) as a sentence."""
    return _item_text(INTERCEPTION_EVIDENCE, item)


def distro_evidence(item: object) -> str:
    """One distro-detection evidence item ({"code": ..., values}) as words."""
    if isinstance(item, Mapping) and item.get("code") == "disk":
        marker = str(item.get("marker"))
        return fmt(DISTRO_EVIDENCE["disk"], {**item, "marker": DISK_MARKERS.get(marker, marker)})
    return _item_text(DISTRO_EVIDENCE, item)
