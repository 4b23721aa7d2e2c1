"""Server-side and network fix planners (pure).

* Chain causes (``missing-intermediate``, ``wrong-order``, ``root-sent``...):
  which certificates to serve in which order, how to build the file, and the
  configuration lines for nginx, Apache, HAProxy, Envoy, Traefik and Caddy.
* Certificate causes (``expired``, ``hostname-mismatch``, ``not-a-ca``...):
  the reissue facts — which certificate, which names, which dates, which
  profile (the extensions to set) — and an ``openssl`` example for a private CA.
* Network causes: read-only checks that narrow the problem down.
"""

from __future__ import annotations

import datetime as dt
import shlex
from collections.abc import Mapping, Sequence

from ..model.findings import Code
from ..model.record import replace
from ..model.target import Target, format_hostport, is_ip_literal
from .model import Action, FixContext, Note, Purpose, Step
from .tables import SERVER_ORDER, SERVERS

TYPE_CHECKING = False  # typing's constant, without importing typing (model/record.py)
if TYPE_CHECKING:
    from ..model.cert import CertInfo, NameConstraints
    from ..model.diagnosis import Diagnosis

Steps = list[Step]
Notes = list[Note]

# Longest validity a publicly trusted TLS certificate may have
# (CA/Browser Forum Baseline Requirements §6.3.2: 398 days).
PUBLIC_MAX_DAYS = 398


def _host_of(ctx: FixContext, params: Mapping[str, object]) -> str:
    host = params.get("host") or ctx.host
    return str(host) if host else "<host>"


# OpenSSL s_client -starttls names for our STARTTLS protocols (apps/s_client.c).
_S_CLIENT_STARTTLS: Mapping[str, str] = {
    "smtp": "smtp",
    "imap": "imap",
    "pop3": "pop3",
    "ftp": "ftp",
    "postgres": "postgres",
    "ldap": "ldap",
}


def endpoint_of(ctx: FixContext, params: Mapping[str, object]) -> Target:
    """The endpoint the check commands must reach: the one diagnosed, as connected to
    (port, SNI, ``--connect-to``, STARTTLS), else the name the finding knows on 443."""
    if ctx.endpoint is not None:
        return ctx.endpoint
    host = _host_of(ctx, params)
    port_s = str(params.get("port") or "443")
    port = int(port_s) if port_s.isdigit() else 443
    ip = is_ip_literal(host)
    return Target(
        host=host,
        port=port,
        scheme="https",
        servername=None if ip else host,
        starttls=None,
        connect_host=host,
        connect_port=port,
        display=f"https://{format_hostport(host, port)}",
    )


def diagnose_argv(ctx: FixContext, params: Mapping[str, object]) -> list[str]:
    """``trustdoctor diagnose`` of the same endpoint, through the same proxy."""
    t = endpoint_of(ctx, params)
    # The shortest spelling that means the same: a bare host for https on 443.
    where = t.host if t.port == 443 else format_hostport(t.host, t.port)
    if t.scheme != "https":
        where = f"{t.scheme}://{format_hostport(t.host, t.port)}"
    argv = ["trustdoctor", "diagnose", where]
    if t.servername != (None if is_ip_literal(t.host) else t.host):
        argv += ["--servername", t.servername or t.host]
    if (t.connect_host, t.connect_port) != (t.host, t.port):
        argv += ["--connect-to", t.connect_hostport]
    if ctx.proxy is not None:
        argv += ["--proxy", ctx.proxy]
    return argv


def s_client(ctx: FixContext, params: Mapping[str, object], *extra: str) -> str:
    """``openssl s_client`` to the same address, SNI, STARTTLS and proxy."""
    t = endpoint_of(ctx, params)
    parts = ["openssl", "s_client", "-connect", t.connect_hostport]
    if t.sni:
        parts += ["-servername", t.sni]
    if t.starttls:
        parts += ["-starttls", _S_CLIENT_STARTTLS.get(t.starttls, t.starttls)]
    proxy = _proxy_hostport(ctx.proxy)
    if proxy:
        parts += ["-proxy", proxy]
    return shlex.join([*parts, *extra]) + " </dev/null"


def _proxy_hostport(proxy: str | None) -> str | None:
    """``host:port`` of an ``http://[user:pass@]host:port`` proxy URL (s_client -proxy)."""
    if not proxy:
        return None
    rest = proxy.split("://", 1)[-1].split("/", 1)[0]
    return rest.rsplit("@", 1)[-1] or None


def serve_order(diag: Diagnosis | None, params: Mapping[str, object]) -> list[dict[str, object]]:
    """The certificates a server must present, leaf first, intermediates next, no root."""
    if diag is None:
        # Without the chain: the generic order, naming what the finding knows.
        out: list[dict[str, object]] = [
            {
                "role": "leaf",
                "subject": params.get("top") if params.get("issuer") else None,
                "sha256": None,
                "file": "leaf.pem",
            },
            {
                "role": "intermediate",
                "subject": params.get("issuer"),
                "sha256": None,
                "file": "intermediate.pem",
                "missing": bool(params.get("aia") or params.get("issuer")) and "top" in params,
            },
        ]
        return out
    # Prefer a path that reached an anchor (it has every intermediate), else the longest.
    best = None
    for v in diag.clients:
        anchored = bool(v.path) and v.path[-1].role == "anchor"
        score = (anchored, len(v.path))
        if best is None or score > best[0]:
            best = (score, v)
    links = best[1].path if best else ()
    out = []
    n_inter = 0
    for link in links:
        if link.role == "anchor":
            break
        cert = diag.certificates.get(link.sha256) if link.sha256 else None
        if link.role == "leaf":
            out.append(
                {
                    "role": "leaf",
                    "subject": cert.subject if cert else diag.leaf.subject,
                    "sha256": link.sha256 or diag.leaf.sha256,
                    "file": "leaf.pem",
                }
            )
        elif link.role == "missing":
            aia = list(cert.aia_ca_issuers) if cert else []
            out.append(
                {
                    "role": "intermediate",
                    "subject": params.get("issuer"),
                    "sha256": None,
                    "file": "intermediate.pem",
                    "missing": True,
                    "aia": aia or params.get("aia") or [],
                }
            )
        else:
            if cert is not None and cert.self_issued:
                break  # a root: never served
            n_inter += 1
            out.append(
                {
                    "role": "intermediate",
                    "subject": cert.subject if cert else None,
                    "sha256": link.sha256,
                    "origin": link.origin,
                    "file": "intermediate.pem" if n_inter == 1 else f"intermediate{n_inter}.pem",
                }
            )
    if not out:
        out.append(
            {
                "role": "leaf",
                "subject": diag.leaf.subject,
                "sha256": diag.leaf.sha256,
                "file": "leaf.pem",
            }
        )
    return out


def chain_steps(
    code: Code, ctx: FixContext, params: Mapping[str, object], diag: Diagnosis | None
) -> tuple[Steps, Notes]:
    """Serve the right chain: build fullchain.pem in order, configure the server, reload, verify."""
    host = _host_of(ctx, params)
    order = serve_order(diag, params)
    steps: Steps = []
    notes: Notes = []
    for entry in order:
        if entry.get("missing"):
            aia = entry.get("aia") or params.get("aia") or []
            url = aia[0] if isinstance(aia, list) and aia else None
            if url:
                steps.append(
                    Step(
                        Action.RUN,
                        {
                            "argv": [
                                "sh",
                                "-c",
                                f"curl -fsS {shlex.quote(str(url))} -o intermediate.der && "
                                "openssl x509 -inform DER -in intermediate.der "
                                "-out intermediate.pem",
                            ],
                            "purpose": Purpose.BUILD.value,
                            "url": url,
                        },
                        platform="server",
                        reason="fetch-intermediate-aia",
                        phase="build",
                    )
                )
            else:
                notes.append(Note("get-intermediate", {"issuer": entry.get("subject")}))
    files = [str(e["file"]) for e in order]
    steps.append(
        Step(
            Action.RUN,
            {
                "argv": ["sh", "-c", f"cat {' '.join(files)} > fullchain.pem"],
                "purpose": Purpose.BUILD.value,
                "order": order,
            },
            platform="server",
            reason="build-fullchain",
            phase="build",
        )
    )
    steps += server_config_steps(ctx, host)
    steps += verify_server_steps(ctx, host, expected=len(order))
    if code == Code.ROOT_SENT:
        notes.append(Note("root-not-needed", {}))
    if code == Code.BAD_SIGNATURE:
        notes.append(Note("bad-signature-serve", {"issuer": params.get("issuer")}))
    if code == Code.DIFFERENT_CHAINS:
        notes.append(Note("different-chains", {"verdicts": params.get("verdicts") or []}))
    if code in (Code.EXTRA_CERTIFICATE, Code.DUPLICATE_CERTIFICATE):
        notes.append(Note("drop-extra", {"subject": params.get("subject")}))
    return steps, notes


def server_config_steps(ctx: FixContext, host: str) -> Steps:
    names = [s for s in SERVER_ORDER if not ctx.servers or s in ctx.servers]
    base = f"/etc/tls/{host}"
    out: Steps = []
    for name in names:
        sw = SERVERS[name]
        values = {
            "fullchain": f"{base}/fullchain.pem",
            "key": f"{base}/privkey.pem",
            "pem": f"{base}/{host}.pem",
            "host": host,
            "port": ctx.endpoint.port if ctx.endpoint is not None else 443,
        }
        lines = [line.format(**values) for line in sw.lines]
        params: dict[str, object] = {
            "software": name,
            "lines": lines,
            "reload": list(sw.reload),
            "file_kind": sw.file_kind,
            "dir": base,
        }
        if sw.file_kind == "combined":
            params["build"] = f"cat fullchain.pem privkey.pem > {values['pem']}"
        out.append(
            Step(
                Action.SERVER_CONFIG,
                params,
                needs_root=True,
                platform=name,
                reason=f"server-{name}",
                phase="server",
            )
        )
    return out


def verify_server_steps(ctx: FixContext, host: str, *, expected: int | None = None) -> Steps:
    where = {"host": host}
    check = s_client(ctx, where, "-showcerts") + " 2>/dev/null | grep -c 'BEGIN CERTIFICATE'"
    params: dict[str, object] = {"argv": ["sh", "-c", check], "purpose": Purpose.VERIFY.value}
    if expected is not None:
        params["expected"] = expected
    return [
        Step(
            Action.RUN,
            params,
            platform="server",
            reason="verify-served-count" if expected is not None else "verify-served",
            phase="verify",
        ),
        Step(
            Action.RUN,
            {"argv": diagnose_argv(ctx, where), "purpose": Purpose.VERIFY.value},
            platform="server",
            reason="verify-diagnose",
            phase="verify",
        ),
    ]


# -- reissue ----------------------------------------------------------------------------------

# What to change in the new certificate, per cause (stable profile codes,
# explained in render/plan_text.py and docs/fix.md).
PROFILE: Mapping[Code, tuple[str, ...]] = {
    Code.EXPIRED: ("renew",),
    Code.NOT_YET_VALID: ("valid-from-now",),
    Code.HOSTNAME_MISMATCH: ("san-names",),
    Code.LEGACY_COMMON_NAME: ("san-names",),
    Code.NOT_A_CA: ("issue-from-ca",),
    Code.WRONG_USAGE: ("eku-server-auth",),
    Code.NAME_CONSTRAINTS: ("ca-permits-name",),
    Code.INSECURE_ALGORITHM: ("sha256",),
    Code.WEAK_KEY: ("strong-key",),
    Code.PATH_TOO_LONG: ("path-length",),
    Code.UNHANDLED_CRITICAL_EXTENSION: ("drop-critical-extension",),
    Code.STRICT_PROFILE: ("strict-profile",),
    Code.UNPARSABLE_CERTIFICATE: ("parsable-encoding",),
    Code.SELF_SIGNED_LEAF: ("issue-from-ca",),
    Code.EXPIRING_SOON: ("renew",),
    Code.INTERMEDIATE_EXPIRES_FIRST: ("renew",),
}

# strict-profile rule → the extension change that satisfies it.
STRICT_RULE_FIX: Mapping[str, str] = {
    "missing-aki": "authorityKeyIdentifier=keyid",
    "missing-ski": "subjectKeyIdentifier=hash",
    "root-aki": "authorityKeyIdentifier=keyid (or none on a self-signed root)",
    "cn-not-in-san": "subjectAltName must include the common name",
    "invalid-dns-name": "DNS names: letters, digits and hyphens only (no underscore)",
    "criticality": "basicConstraints=critical",
    "serial-number": "a positive serial of at most 20 octets",
}


def _cert_at(diag: Diagnosis | None, params: Mapping[str, object]) -> CertInfo | None:
    if diag is None:
        return None
    depth = params.get("depth")
    if isinstance(depth, int) and depth == 0:
        return diag.leaf
    subject = params.get("subject")
    for c in diag.certificates.values():
        if c.subject == subject:
            return c
    return diag.leaf if not isinstance(depth, int) else None


def _names(cert: CertInfo | None, host: str | None, code: Code) -> list[str]:
    names: list[str] = []
    if cert is not None:
        names += [f"DNS:{n}" for n in cert.dns_names]
        names += [f"IP:{n}" for n in cert.ip_addresses]
        if (
            not names
            and cert.common_name
            and code in (Code.HOSTNAME_MISMATCH, Code.LEGACY_COMMON_NAME)
        ):
            names.append(f"DNS:{cert.common_name}")
    if host and host != "<host>":
        bare = host.strip("[]")
        want = f"IP:{bare}" if is_ip_literal(bare) else f"DNS:{host}"
        if want not in names:
            names.append(want)
    return names


def reissue_steps(
    code: Code, ctx: FixContext, params: Mapping[str, object], diag: Diagnosis | None
) -> tuple[Steps, Notes]:
    """Which certificate to reissue, with which names, dates and profile; then deploy it."""
    if params.get("minted_by"):
        # A TLS-inspection proxy made the certificate: reissuing at the server
        # changes nothing the client sees.
        minted = [Note("proxy-minted", {"proxy": params["minted_by"], "rule": params.get("rule")})]
        if params.get("client_flag"):
            minted.append(Note("strict-client-flag", {"flag": params["client_flag"]}))
        return [], minted
    depth = params.get("depth") if isinstance(params.get("depth"), int) else 0
    assert isinstance(depth, int)
    cert = _cert_at(diag, params)
    host = str(params.get("host") or ctx.host or (diag.host if diag else None) or "") or None
    now = ctx.now or (diag.at if diag else None)
    profile = list(PROFILE.get(code, ("renew",)))
    if code == Code.NAME_CONSTRAINTS and params.get("reason") == "subtree-bounds":
        profile = ["nc-without-bounds"]  # the CA at `depth` is the one to reissue
    signer: object = None
    if code == Code.NOT_A_CA:
        # The certificate at `depth` signed another one but is no CA: the one
        # *below* it must be issued again, from a real CA.
        signer = params.get("subject")
        depth = max(depth - 1, 0)
        cert = diag.leaf if diag is not None and depth == 0 else None
    is_leaf = depth == 0
    names = _names(cert if is_leaf else None, host if is_leaf else None, code) if is_leaf else []
    facts: dict[str, object] = {
        "cause": code.value,
        "subject": (cert.subject if cert else (None if signer else params.get("subject"))),
        "depth": depth,
        "role": "leaf" if is_leaf else "ca",
        "names": names,
        "profile": profile,
        "not_before": cert.not_before.isoformat() if cert else params.get("not_before"),
        "not_after": cert.not_after.isoformat() if cert else params.get("not_after"),
        # Without a time (a bare `fix --cause`), the dates are left to the CA.
        "new_not_before": now.replace(microsecond=0).isoformat() if now else None,
        "new_not_after_max": (now + dt.timedelta(days=PUBLIC_MAX_DAYS))
        .replace(microsecond=0)
        .isoformat()
        if now
        else None,
        "key": f"{cert.key_type} {cert.key_bits}" if cert else None,
        "signature": cert.signature_algorithm if cert else None,
        "issuer": cert.issuer if cert else (signer or params.get("issuer")),
    }
    extensions = _extensions(code, params, names, is_leaf, cert)
    facts["extensions"] = extensions
    if not is_leaf:
        # A CA re-signed with its own key and subject keeps every certificate
        # it issued valid (their signatures and AKIs name that key): only a
        # weak key must change, and then everything below it too.
        facts["keep_key"] = code != Code.WEAK_KEY
        facts["self_signed"] = bool(cert is not None and cert.self_issued)
    for k in (
        "reason",
        "which",
        "rule",
        "detail",
        "oids",
        "name",
        "constraint",
        "hash",
        "bits",
        "minimum",
        "bound",
        "algorithm",
        "path_length",
        "message",
    ):
        if params.get(k) is not None:
            facts[k] = params[k]
    steps: Steps = [
        Step(Action.REISSUE, facts, platform="ca", reason=f"reissue-{code.value}", phase="reissue")
    ]
    notes: Notes = []
    if code == Code.NOT_YET_VALID:
        steps.insert(
            0,
            Step(
                Action.RUN,
                {
                    "argv": [
                        "sh",
                        "-c",
                        "date -u; timedatectl status 2>/dev/null | grep -i synchronized",
                    ],
                    "purpose": Purpose.CHECK.value,
                },
                platform="linux",
                reason="check-clock",
                phase="check",
            ),
        )
    if is_leaf:
        steps += server_config_steps(ctx, host or "<host>")
        expected = len(serve_order(diag, params)) if diag is not None else None
        steps += verify_server_steps(ctx, host or "<host>", expected=expected)
        notes.append(Note("public-ca-validity", {"days": PUBLIC_MAX_DAYS}))
    elif facts.get("self_signed"):
        # A root is its own issuer; clients trust the certificate, not only the key.
        notes.append(Note("root-reissue", {"subject": facts["subject"]}))
    else:
        notes.append(Note("ca-reissue", {"subject": facts["subject"]}))
        if code == Code.EXPIRED:
            notes.append(Note("expired-intermediate", {"subject": facts["subject"]}))
    if code == Code.SELF_SIGNED_LEAF:
        notes.append(Note("self-signed-pin", {}))
    if code == Code.STRICT_PROFILE and isinstance(others := params.get("others"), list):
        # A strict client reports the first violation only: reissuing that
        # certificate alone would surface the next.
        listed = [f"{o.get('subject')!s} ({o.get('rule')!s})" for o in others
                  if isinstance(o, Mapping)]  # fmt: skip
        notes.append(Note("strict-profile-others", {"certificates": listed}))
    if code == Code.STRICT_PROFILE and params.get("client_flag"):
        notes.append(Note("strict-client-flag", {"flag": params["client_flag"]}))
    if code == Code.HOSTNAME_MISMATCH and params.get("names"):
        notes.append(Note("connect-by-listed-name", {"names": params.get("names")}))
        steps += _kubectl_server_name(ctx, params)
    return steps, notes


def _kubectl_server_name(ctx: FixContext, params: Mapping[str, object]) -> Steps:
    """The name checked was kubectl's cluster ``tls-server-name``: pointing it
    at a name the certificate has is the client's fix (an alternative to
    reissuing; ``kubectl config set-cluster`` takes ``--tls-server-name``)."""
    src = ctx.endpoint.name_source if ctx.endpoint is not None else None
    if src is None or src.kind != "kubeconfig":
        return []
    listed = params.get("names")
    names = [n for n in listed if isinstance(n, str)] if isinstance(listed, list) else []
    usable = [n for n in names if "*" not in n and not is_ip_literal(n)]
    if not usable:
        return []
    from .client import kubectl_set_cluster

    argv = kubectl_set_cluster(src.cluster, src.file, ctx, f"--tls-server-name={usable[0]}")
    return [
        Step(
            Action.RUN,
            {
                "argv": argv,
                "purpose": Purpose.CONFIGURE.value,
                "cluster": src.cluster,
                "kubeconfig": src.file,
                "name": usable[0],
            },
            changes=(src.file,),
            platform="shell",
            reason="kubectl-tls-server-name",
            alternative=True,
            phase="env",
        )
    ]


def _extensions(
    code: Code,
    params: Mapping[str, object],
    names: Sequence[str],
    is_leaf: bool,
    cert: CertInfo | None,
) -> list[str]:
    if is_leaf:
        ku = "critical,digitalSignature" + (
            ",keyEncipherment" if cert and cert.key_type == "RSA" else ""
        )
        ext = [
            "basicConstraints=critical,CA:FALSE",
            f"keyUsage={ku}",
            "extendedKeyUsage=serverAuth",
            "subjectKeyIdentifier=hash",
            "authorityKeyIdentifier=keyid",
        ]
        if names:
            ext.insert(0, "subjectAltName=" + ",".join(names))
        return ext
    bc = "basicConstraints=critical,CA:TRUE"
    if code == Code.PATH_TOO_LONG:
        below = params.get("intermediates")
        if isinstance(below, int):
            bc += f",pathlen:{below}"
    ext = [
        bc,
        "keyUsage=critical,keyCertSign,cRLSign",
        "subjectKeyIdentifier=hash",
        "authorityKeyIdentifier=keyid",
    ]
    if code == Code.WRONG_USAGE:
        ext.append("extendedKeyUsage=serverAuth,clientAuth")
    nc = cert.name_constraints if cert is not None else None
    subtrees = _subtrees_config(nc) if code == Code.NAME_CONSTRAINTS and nc else []
    if subtrees:
        # The same subtrees, in OpenSSL's configuration syntax (which writes
        # neither a minimum nor a maximum).
        ext.append("nameConstraints=critical," + ",".join(subtrees))
    return ext


def _subtrees_config(nc: NameConstraints) -> list[str]:
    """``permitted;DNS:…``/``excluded;IP:addr/mask``… items of an OpenSSL
    ``nameConstraints`` line (x509v3_config(5)); directoryName subtrees are
    not named (the CA's owner writes them as a [section])."""
    def ip(cidr: str) -> str:
        import ipaddress

        try:
            return "IP:" + ipaddress.ip_network(cidr, strict=False).with_netmask
        except ValueError:
            return "IP:" + cidr

    out = []
    for kind, dns, ips, emails in (
        ("permitted", nc.permitted_dns, nc.permitted_ip, nc.permitted_email),
        ("excluded", nc.excluded_dns, nc.excluded_ip, nc.excluded_email),
    ):
        out += [f"{kind};DNS:{d}" for d in dns]
        out += [f"{kind};{ip(c)}" for c in ips]
        out += [f"{kind};email:{e}" for e in emails]
    return out


# -- network ---------------------------------------------------------------------------------------


def network_steps(code: Code, ctx: FixContext, params: Mapping[str, object]) -> tuple[Steps, Notes]:
    t = endpoint_of(ctx, params)
    host = t.host
    ch, cp = t.connect_host, t.connect_port
    q = shlex.quote(ch)
    checks: list[tuple[str, str]] = []
    if code in (Code.UNREACHABLE, Code.TIMEOUT):
        checks = [
            (f"getent ahosts {q}", "check-dns"),
            (
                f"timeout 5 sh -c 'cat < /dev/null > /dev/tcp/{ch}/{cp}' && echo open",
                "check-port",
            ),
            ("env | grep -i _proxy", "check-proxy-env"),
        ]
    elif code in (Code.NOT_TLS, Code.STARTTLS_REFUSED):
        # The port without STARTTLS, then with the protocol the port speaks.
        plain = replace(t, starttls=None)
        tls = s_client(replace(ctx, endpoint=plain), params)
        proto = t.starttls or "smtp"
        checks = [
            (tls, "check-tls-port"),
            (s_client(replace(ctx, endpoint=replace(t, starttls=proto)), params), "check-starttls"),
        ]
    elif code == Code.HANDSHAKE_FAILED:
        checks = [
            (s_client(ctx, params, "-tls1_2"), "check-tls12"),
            (s_client(ctx, params, "-tls1_3"), "check-tls13"),
        ]
    elif code == Code.PROXY_FAILED:
        url = f"https://{format_hostport(host, t.port)}/"
        curl = ["curl", "-v", "-o", "/dev/null"]
        if ctx.proxy:
            curl += ["--proxy", ctx.proxy]
        if (ch, cp) != (host, t.port):
            curl += ["--connect-to", f"{format_hostport(host, t.port)}:{format_hostport(ch, cp)}"]
        checks = [
            ("env | grep -i _proxy", "check-proxy-env"),
            (shlex.join([*curl, url]), "check-proxy-curl"),
        ]
    steps = [
        Step(
            Action.RUN,
            {"argv": ["sh", "-c", cmd], "purpose": Purpose.CHECK.value},
            platform="shell",
            reason=reason,
            phase="check",
        )
        for cmd, reason in checks
    ]
    return steps, [Note(f"network-{code.value}", {"host": host})]
