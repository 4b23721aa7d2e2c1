"""Java (JSSE): which keystore the default TrustManager loads, read without Java.

Order (sun.security.ssl.TrustStoreManager; ../shared/reference/truststores.md §3.4):

1. ``-Djavax.net.ssl.trustStore=<file>``: that file; if it does not exist
   there is no fallback (the trust manager gets an empty store).  ``NONE``
   means no file.
2. else ``<java.home>/lib/security/jssecacerts`` if it exists,
3. else ``<java.home>/lib/security/cacerts`` (JDK 8: ``jre/lib/security``).

System properties come from ``JAVA_TOOL_OPTIONS`` (read by the JVM first),
``JDK_JAVA_OPTIONS`` (JDK 9+ ``java`` launcher, prepended to the command
line), the ``--pid`` command line, then ``_JAVA_OPTIONS`` (read last by
HotSpot); a later definition wins.  ``trustStorePassword`` unset means no
integrity check and no access to password-encrypted PKCS#12 bags.

Which JDK: the ``--pid`` executable, ``JAVA_HOME``, ``/usr/bin/java`` resolved
through ``/etc/alternatives``, then the usual JDK directories.  Debian's JDK
``cacerts`` is a link to ``/etc/ssl/certs/java/cacerts`` (ca-certificates-java),
RHEL's to ``/etc/pki/java/cacerts`` (update-ca-trust); a Temurin/Oracle
tarball JDK (``/opt/java/openjdk``) keeps its own and ignores the OS store.
Keystores are parsed by :mod:`.keystore` (JKS, JCEKS, PKCS#12).
"""

from __future__ import annotations

import contextlib
import re
import shlex

from ..errors import InputError
from ..model.anchors import Anchor
from ..model.cert import Provenance
from ..model.findings import Code, Severity
from ..model.stores import ClientStore, SourceStatus, StoreContext
from .base import Builder, finding, unreadable_finding
from .certs import parse_der
from .rootfs import describe_oserror, parent

# Directories JDKs are installed under (distro packages, Temurin/official images, Oracle RPMs).
JDK_PARENTS: tuple[str, ...] = ("/usr/lib/jvm", "/opt/java", "/usr/java", "/usr/local")
JDK_DIRECT: tuple[str, ...] = ("/opt/java/openjdk",)  # eclipse-temurin images
JAVA_LINKS: tuple[str, ...] = ("/usr/bin/java", "/usr/local/bin/java")
# JVM option variables in the order the JVM applies them (later wins).
OPTION_VARS: tuple[str, ...] = ("JAVA_TOOL_OPTIONS", "JDK_JAVA_OPTIONS")
LAST_OPTION_VAR = "_JAVA_OPTIONS"
_PROP = re.compile(r"^-D(javax\.net\.ssl\.trustStore(?:Password|Type)?)=(.*)$")


def _is_home(ctx: StoreContext, home: str) -> bool:
    return ctx.fs.is_dir(f"{home}/lib/security") or ctx.fs.is_dir(f"{home}/jre/lib/security")


def candidate_homes(ctx: StoreContext) -> list[tuple[str, str]]:
    """JDK homes in this root, best first, with how each was found."""
    out: list[tuple[str, str]] = []
    exe = ctx.process_exe
    if exe and exe.endswith("/bin/java"):
        out.append((parent(parent(exe)), "the process's executable"))
    jh = ctx.env.get("JAVA_HOME")
    if jh:
        out.append((jh.rstrip("/") or "/", "$JAVA_HOME"))
    for link in JAVA_LINKS:
        try:
            target = ctx.fs.resolve(link)
        except OSError:
            continue
        if target != link and target.endswith("/bin/java") and ctx.fs.exists(target):
            out.append((parent(parent(target)), f"{link} -> {target}"))
    for d in JDK_DIRECT:
        out.append((d, "image JDK directory"))
    for base in JDK_PARENTS:
        try:
            entries = ctx.fs.listdir(base, limit=500).entries
        except OSError:
            continue
        for e in sorted(entries, key=lambda e: e.name, reverse=True):
            if base == "/usr/local" and not e.name.startswith(("openjdk", "java", "jdk")):
                continue
            out.append((f"{base}/{e.name}", f"installed under {base}"))
    seen: set[str] = set()
    uniq: list[tuple[str, str]] = []
    for home, why in out:
        try:
            key = ctx.fs.resolve(home)
        except OSError:
            continue
        if key in seen or not _is_home(ctx, home):
            continue
        seen.add(key)
        uniq.append((home, why))
    return uniq


def present(ctx: StoreContext) -> bool:
    return bool(candidate_homes(ctx))


def _security_dir(ctx: StoreContext, home: str) -> str:
    # JDK 8: java.home is <JDK>/jre when JAVA_HOME names the JDK.
    if ctx.fs.is_dir(f"{home}/jre/lib/security"):
        return f"{home}/jre/lib/security"
    return f"{home}/lib/security"


def system_properties(ctx: StoreContext) -> tuple[dict[str, str], list[str]]:
    """``javax.net.ssl.trustStore*`` properties in effect, and where each came from."""
    props: dict[str, str] = {}
    origin: dict[str, str] = {}
    layers: list[tuple[str, list[str]]] = []
    for var in OPTION_VARS:
        if ctx.env.get(var):
            layers.append((f"${var}", _split(ctx.env[var])))
    if ctx.process_exe and ctx.process_exe.endswith("/bin/java"):
        layers.append(("command line", list(ctx.process_cmdline[1:])))
    if ctx.env.get(LAST_OPTION_VAR):
        layers.append((f"${LAST_OPTION_VAR}", _split(ctx.env[LAST_OPTION_VAR])))
    for name, args in layers:
        for a in args:
            m = _PROP.match(a)
            if m:
                props[m.group(1)] = m.group(2)
                origin[m.group(1)] = name
    return props, [f"{k} from {v}" for k, v in origin.items()]


def _split(value: str) -> list[str]:
    try:
        return shlex.split(value)
    except ValueError:
        return value.split()


def _refresh(ctx: StoreContext, system: bool, store: str) -> str:
    if system and ctx.distro.facts.refresh:
        if ctx.distro.family == "debian":
            return "apt-get install ca-certificates-java && update-ca-certificates"
        return ctx.distro.facts.refresh
    return (
        "keytool -importcert -noprompt -trustcacerts -alias <name> -file <ca.pem> "
        f"-keystore {store}"
    )


def model(ctx: StoreContext) -> ClientStore:
    from ..model.record import replace

    b = Builder("java", partial_chain=True)  # PKIX: any trusted certificate is an anchor
    homes = candidate_homes(ctx)
    props, origins = system_properties(ctx)
    store: str | None = None
    store_detail = ""
    if homes:
        home, why = homes[0]
        b.source(home, "jdk", SourceStatus.USED, None, f"java.home ({why})")
        for other, owhy in homes[1:4]:
            b.source(other, "jdk", SourceStatus.IGNORED, None, f"another JDK ({owhy})")
        sec = _security_dir(ctx, home)
    else:
        sec = None
    ts = props.get("javax.net.ssl.trustStore")
    if ts:
        if ts == "NONE":
            b.source(
                "javax.net.ssl.trustStore=NONE",
                "property",
                SourceStatus.USED,
                0,
                "no keystore file",
            )
        else:
            store, store_detail = (
                ts if ts.startswith("/") else "/" + ts,
                "-Djavax.net.ssl.trustStore",
            )
            if not ctx.fs.exists(store):
                b.source(
                    store,
                    "keystore",
                    SourceStatus.MISSING,
                    0,
                    "-Djavax.net.ssl.trustStore names a missing file: "
                    "Java does not fall back to cacerts",
                )
                b.add(
                    finding(
                        Code.UNREADABLE_FILE,
                        Severity.ERROR,
                        client="java",
                        path=store,
                        reason="missing-file",
                        effect="java-truststore-missing",
                    )
                )
                store = None
        if sec:
            for name in ("jssecacerts", "cacerts"):
                if ctx.fs.exists(f"{sec}/{name}"):
                    b.source(
                        f"{sec}/{name}",
                        "keystore",
                        SourceStatus.SHADOWED,
                        None,
                        "not read: javax.net.ssl.trustStore is set",
                    )
    elif sec:
        jsse, cacerts = f"{sec}/jssecacerts", f"{sec}/cacerts"
        if ctx.fs.exists(jsse):
            store, store_detail = jsse, "jssecacerts (read before cacerts)"
            if ctx.fs.exists(cacerts):
                b.source(
                    cacerts, "keystore", SourceStatus.SHADOWED, None, "not read: jssecacerts exists"
                )
        elif ctx.fs.exists(cacerts):
            store, store_detail = cacerts, "cacerts"
        else:
            b.source(cacerts, "keystore", SourceStatus.MISSING, 0, "no cacerts in this JDK")
    elif not homes:
        b.source("JAVA_HOME", "jdk", SourceStatus.MISSING, 0, "no JDK found in this root")
    system = False
    if store is not None:
        system = _read_store(ctx, b, store, store_detail, props)
    if origins:
        b.source("system properties", "property", SourceStatus.USED, None, "; ".join(origins))
    b.refresh_command = _refresh(ctx, system, store or "$JAVA_HOME/lib/security/cacerts")
    if ctx.env.get("USE_SYSTEM_CA_CERTS") and ctx.fs.exists("/__cacert_entrypoint.sh"):
        b.add(
            finding(
                Code.OVERRIDE_HARMLESS,
                Severity.INFO,
                client="java",
                variables=["USE_SYSTEM_CA_CERTS"],
                reason="temurin-entrypoint",
            )
        )
    return replace(b.build(), system_store=system)


def _read_store(
    ctx: StoreContext, b: Builder, store: str, detail: str, props: dict[str, str]
) -> bool:
    """Load the keystore's anchors into ``b``; return whether it is the distro-managed one."""
    from .keystore import inspect_keystore

    try:
        resolved = ctx.fs.resolve(store)
    except OSError:
        resolved = store
    managed = ctx.distro.facts.java_cacerts
    system = resolved.startswith(("/etc/", "/var/lib/ca-certificates/"))
    if managed:
        with contextlib.suppress(OSError):
            system = system or resolved == ctx.fs.resolve(managed)
    where = detail + (f"; -> {resolved}" if resolved != store else "")
    try:
        data = ctx.fs.read_bytes(store)
    except OSError as exc:
        b.source(store, "keystore", SourceStatus.UNREADABLE, None, describe_oserror(exc))
        b.add(unreadable_finding("java", store, exc, effect="java-no-trust-manager"))
        b.load_error = f"java.security.KeyStoreException: {store}: {describe_oserror(exc)}"
        return system
    b.files_read.append(store)
    pw = props.get("javax.net.ssl.trustStorePassword")
    password = pw.encode() if pw is not None else None
    try:
        ks = inspect_keystore(data, password, source=store)
    except InputError as exc:
        b.source(store, "keystore", SourceStatus.REJECTED, 0, exc.message)
        b.add(
            finding(
                Code.UNREADABLE_FILE,
                Severity.ERROR,
                client="java",
                path=store,
                reason="keystore-rejected",
                error=exc.message,  # the keystore parser's message
                effect="java-keystore-unloadable",
            )
        )
        b.load_error = f"java.io.IOException: {exc.message}"
        return system
    n = 0
    ignored = 0
    for i, e in enumerate(ks.entries):
        if not e.trusted:
            ignored += e.kind == "ignored-cert"
            continue
        info = parse_der(e.der)
        if info is None:
            continue
        kind = (
            "trustedCertEntry"
            if e.kind == "trusted-cert"
            else "PrivateKeyEntry (first certificate)"
        )
        b.anchors.append(Anchor(info, Provenance(store, i, None, f"alias {e.alias} ({kind})")))
        n += 1
    note = f"{where}; {ks.type.upper()}" + (
        "" if ks.integrity_checked else ", integrity not checked (no password)"
    )
    if ignored:
        note += f"; {ignored} certificate bag(s) without Java's trusted attribute are ignored"
    b.source(store, "keystore", SourceStatus.USED if n else SourceStatus.EMPTY, n, note)
    return system
