"""The ``java`` model: which keystore a JVM loads and what is in it (stores made by keytool)."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from helpers.stores import Root, ca, codes, debian, has, stores
from trustdoctor.model.stores import SourceStatus

KEYTOOL = shutil.which("keytool")
pytestmark = pytest.mark.skipif(KEYTOOL is None, reason="keytool not installed")

A, B, C = (ca(f"Java Test Root {x}") for x in "ABC")


@dataclass
class Keystores:
    jks_a: bytes  # JKS, password changeit, trustedCertEntry "a"
    p12_ab: bytes  # PKCS#12, password "secret" (certificates encrypted), "a" and "b"


def _keytool(*args: str) -> None:
    assert KEYTOOL
    subprocess.run([KEYTOOL, *args], capture_output=True, text=True, check=True, timeout=120)


@pytest.fixture(scope="module")
def keystores(tmp_path_factory: pytest.TempPathFactory) -> Keystores:
    d = tmp_path_factory.mktemp("ks")
    for name, c in (("a", A), ("b", B)):
        (d / f"{name}.pem").write_bytes(c.pem)
    for alias in ("a",):
        _keytool(
            "-importcert",
            "-noprompt",
            "-alias",
            alias,
            "-file",
            str(d / f"{alias}.pem"),
            "-keystore",
            str(d / "a.jks"),
            "-storetype",
            "JKS",
            "-storepass",
            "changeit",
        )
    for alias in ("a", "b"):
        _keytool(
            "-importcert",
            "-noprompt",
            "-alias",
            alias,
            "-file",
            str(d / f"{alias}.pem"),
            "-keystore",
            str(d / "ab.p12"),
            "-storetype",
            "PKCS12",
            "-storepass",
            "secret",
        )
    return Keystores((d / "a.jks").read_bytes(), (d / "ab.p12").read_bytes())


def temurin(root: Root, cacerts: bytes) -> None:
    root.file("/opt/java/openjdk/lib/security/cacerts", cacerts)
    root.file("/opt/java/openjdk/bin/java", "", 0o755)


def test_debian_jdk_reads_the_system_keystore(tmp_path: Path, keystores: Keystores) -> None:
    r = Root(tmp_path / "root")
    debian(r, [B], local=[("a.crt", A)], java=True)
    r.file("/etc/ssl/certs/java/cacerts", keystores.jks_a)
    s = stores(r, ["java"])["java"]
    assert has(s, A) and not has(s, B)  # the keystore, not the PEM bundle
    assert s.system_store
    src = next(x for x in s.sources if x.kind == "keystore")
    assert src.path == "/usr/lib/jvm/java-17-openjdk-amd64/lib/security/cacerts"
    assert "-> /etc/ssl/certs/java/cacerts" in (src.detail or "") and "JKS" in (src.detail or "")
    a = s.anchors.anchors[0]
    assert a.provenance.detail == "alias a (trustedCertEntry)"
    # B is a system root the keystore hook never received: stale for Java only.
    stale = [f for f in s.findings if f.code.value == "stale-bundle"]
    assert not stale  # B is not in an anchor directory: nothing pending
    r.file("/usr/local/share/ca-certificates/b.crt", B.pem)
    s2 = stores(r, ["java", "go"])
    st = next(f for f in s2["java"].findings if f.code.value == "stale-bundle")
    assert st.params["refresh"] == "apt-get install ca-certificates-java && update-ca-certificates"
    assert "stale-bundle" not in codes(s2["go"])  # B is in the PEM bundle already


def test_tarball_jdk_ignores_the_os_store(tmp_path: Path, keystores: Keystores) -> None:
    r = Root(tmp_path / "root")
    debian(r, [B], local=[("corp.crt", C)])
    temurin(r, keystores.jks_a)
    s = stores(r, ["java", "go"])
    assert has(s["java"], A) and not has(s["java"], C)
    assert not s["java"].system_store
    assert "stale-bundle" not in codes(s["java"])  # a rebuild would not help this JDK
    pt = next(f for f in s["java"].findings if f.code.value == "partial-trust")
    assert pt.params["trusted_by"] == ["go"] and "keytool" in (s["java"].refresh_command or "")


def test_jssecacerts_shadows_cacerts(tmp_path: Path, keystores: Keystores) -> None:
    r = Root(tmp_path / "root")
    temurin(r, keystores.jks_a)
    r.file("/opt/java/openjdk/lib/security/jssecacerts", keystores.p12_ab)
    s = stores(r, ["java"], {"JAVA_HOME": "/opt/java/openjdk"})["java"]
    st = {x.path: x.status for x in s.sources}
    assert st["/opt/java/openjdk/lib/security/cacerts"] == SourceStatus.SHADOWED
    # PKCS#12 with encrypted certificate bags and no trustStorePassword: Java reads none.
    assert len(s.anchors) == 0 and "no-trust-store" in codes(s)


def test_truststore_properties(tmp_path: Path, keystores: Keystores) -> None:
    r = Root(tmp_path / "root")
    temurin(r, keystores.jks_a)
    r.file("/app/trust.p12", keystores.p12_ab)
    opts = "-Djavax.net.ssl.trustStore=/app/trust.p12 -Djavax.net.ssl.trustStorePassword=secret"
    s = stores(r, ["java"], {"JAVA_TOOL_OPTIONS": opts})["java"]
    assert has(s, A) and has(s, B)
    st = {x.path: x.status for x in s.sources}
    assert st["/opt/java/openjdk/lib/security/cacerts"] == SourceStatus.SHADOWED
    assert any("trustStore from $JAVA_TOOL_OPTIONS" in (x.detail or "") for x in s.sources)
    # JDK_JAVA_OPTIONS comes later and wins.
    s2 = stores(
        r,
        ["java"],
        {"JAVA_TOOL_OPTIONS": opts, "JDK_JAVA_OPTIONS": "-Djavax.net.ssl.trustStore=/missing.jks"},
    )["java"]
    assert len(s2.anchors) == 0
    missing = next(f for f in s2.findings if f.code.value == "unreadable-file")
    assert missing.params["path"] == "/missing.jks" and missing.severity.value == "error"
    assert "no-trust-store" in codes(s2)
    # A wrong password: the JVM cannot load the store at all.
    s3 = stores(
        r,
        ["java"],
        {
            "JAVA_TOOL_OPTIONS": "-Djavax.net.ssl.trustStore=/app/trust.p12 "
            "-Djavax.net.ssl.trustStorePassword=wrong"
        },
    )["java"]
    assert s3.load_error is not None and len(s3.anchors) == 0


def test_jdk8_layout_and_missing_jdk(tmp_path: Path, keystores: Keystores) -> None:
    r = Root(tmp_path / "root")
    r.file("/usr/lib/jvm/java-8-openjdk-amd64/jre/lib/security/cacerts", keystores.jks_a)
    s = stores(r, ["java"])["java"]
    assert has(s, A)
    assert next(x for x in s.sources if x.kind == "keystore").path.endswith(
        "/jre/lib/security/cacerts"
    )
    empty = Root(tmp_path / "empty")
    empty.dir("/etc")
    s2 = stores(empty, ["java"])["java"]
    assert len(s2.anchors) == 0 and "no-trust-store" in codes(s2)


def test_cacerts_link_to_host_path_stays_in_the_root(tmp_path: Path, keystores: Keystores) -> None:
    """The host has /etc/ssl/certs/java/cacerts; a root's link to it must not read the host's."""
    r = Root(tmp_path / "root")
    r.dir("/opt/java/openjdk/lib/security")
    r.link("/opt/java/openjdk/lib/security/cacerts", "/etc/ssl/certs/java/cacerts")
    s = stores(r, ["java"], {"JAVA_HOME": "/opt/java/openjdk"})["java"]
    assert len(s.anchors) == 0
