"""Java keystores made by the real keytool, and a JVM oracle for what Java trusts.

``make_stores(dir)`` builds JKS, JCEKS, PKCS#12 (encrypted, password-less,
OpenSSL-made) truststores and mixed key+trust stores from test PKI
certificates.  ``java_view(stores)`` runs one JVM that loads every store
with ``KeyStore.getInstance(File, char[])`` and initialises a PKIX
``TrustManagerFactory`` with it: the anchors it prints are what a Java
client trusts.
"""

from __future__ import annotations

import base64
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.serialization import (
    BestAvailableEncryption,
    NoEncryption,
    pkcs12,
)

from trustdoctor.lab import pki

KEYTOOL = shutil.which("keytool")
JAVA = shutil.which("java")
JAVAC = shutil.which("javac")
PW = "changeit"

ORACLE = r"""
import java.io.File;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.Base64;
import java.util.Collections;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;

public class TrustOracle {
    public static void main(String[] args) throws Exception {
        Base64.Encoder b64 = Base64.getEncoder();
        for (int i = 0; i + 1 < args.length; i += 2) {
            System.out.println("STORE " + args[i]);
            char[] pw = args[i + 1].equals("-") ? null : args[i + 1].toCharArray();
            KeyStore ks;
            try {
                ks = KeyStore.getInstance(new File(args[i]), pw);
            } catch (Exception e) {
                System.out.println("ERROR " + e.getClass().getSimpleName());
                continue;
            }
            for (String alias : Collections.list(ks.aliases())) {
                String kind = ks.isCertificateEntry(alias) ? "trusted"
                    : ks.isKeyEntry(alias) ? "key" : "other";
                System.out.println("ENTRY " + kind + " " + alias);
            }
            TrustManagerFactory f = TrustManagerFactory.getInstance("PKIX");
            f.init(ks);
            X509TrustManager tm = (X509TrustManager) f.getTrustManagers()[0];
            for (X509Certificate c : tm.getAcceptedIssuers()) {
                System.out.println("ANCHOR " + b64.encodeToString(c.getEncoded()));
            }
        }
    }
}
"""


@dataclass
class Stores:
    dir: Path
    certs: dict[str, pki.Issued]
    paths: dict[str, Path]


def keytool(*args: str) -> str:
    assert KEYTOOL
    out = subprocess.run([KEYTOOL, *args], capture_output=True, text=True, timeout=120, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"keytool {' '.join(args)}: {out.stdout}{out.stderr}")
    return out.stdout


def make_stores(d: Path) -> Stores:
    h = pki.hierarchy("keystore.test.example")
    other = pki.make_cert("Keystore Other Root")
    certs = {"root": h.root, "inter": h.intermediate, "leaf": h.leaf, "other": other}
    for name, c in certs.items():
        (d / f"{name}.pem").write_bytes(c.pem)
    p: dict[str, Path] = {}

    def path(name: str) -> Path:
        p[name] = d / name
        return p[name]

    # Truststore: three trusted certificates, keytool's default PKCS#12.
    trust = path("trust.p12")
    for alias in ("root", "inter", "other"):
        keytool(
            "-importcert",
            "-noprompt",
            "-alias",
            alias,
            "-file",
            str(d / f"{alias}.pem"),
            "-keystore",
            str(trust),
            "-storetype",
            "PKCS12",
            "-storepass",
            PW,
        )
    for kind, name in (("JKS", "trust.jks"), ("JCEKS", "trust.jceks")):
        keytool(
            "-importkeystore",
            "-noprompt",
            "-srckeystore",
            str(trust),
            "-srcstoretype",
            "PKCS12",
            "-srcstorepass",
            PW,
            "-destkeystore",
            str(path(name)),
            "-deststoretype",
            kind,
            "-deststorepass",
            PW,
        )
    # JDK 18+-style password-less PKCS#12 (no MAC, certificates not encrypted).
    keytool(
        "-J-Dkeystore.pkcs12.certProtectionAlgorithm=NONE",
        "-J-Dkeystore.pkcs12.macAlgorithm=NONE",
        "-importkeystore",
        "-noprompt",
        "-srckeystore",
        str(trust),
        "-srcstoretype",
        "PKCS12",
        "-srcstorepass",
        PW,
        "-destkeystore",
        str(path("nopw.p12")),
        "-deststoretype",
        "PKCS12",
        "-deststorepass",
        PW,
    )
    # A PrivateKeyEntry (leaf -> inter -> root) plus a trusted certificate.
    key_p12 = d / "key-openssl.p12"
    key_p12.write_bytes(
        pkcs12.serialize_key_and_certificates(
            b"mykey",
            h.leaf.key,
            h.leaf.cert,
            [h.intermediate.cert, h.root.cert],
            BestAvailableEncryption(PW.encode()),
        )
    )
    for kind, name in (("PKCS12", "mixed.p12"), ("JKS", "mixed.jks"), ("JCEKS", "mixed.jceks")):
        mixed = path(name)
        keytool(
            "-importkeystore",
            "-noprompt",
            "-srckeystore",
            str(key_p12),
            "-srcstoretype",
            "PKCS12",
            "-srcstorepass",
            PW,
            "-destkeystore",
            str(mixed),
            "-deststoretype",
            kind,
            "-deststorepass",
            PW,
            "-destkeypass",
            PW,
        )
        keytool(
            "-importcert",
            "-noprompt",
            "-alias",
            "other",
            "-file",
            str(d / "other.pem"),
            "-keystore",
            str(mixed),
            "-storetype",
            kind,
            "-storepass",
            PW,
        )
    # JCEKS with a secret key *before* trusted certificates: keytool makes the
    # secret entry, we splice it in front of trust.jceks's entries (keytool's
    # own order follows a Hashtable and could put it last).
    only_secret = d / "only-secret.jceks"
    keytool(
        "-genseckey",
        "-alias",
        "sk",
        "-keyalg",
        "AES",
        "-keysize",
        "128",
        "-storetype",
        "JCEKS",
        "-keystore",
        str(only_secret),
        "-storepass",
        PW,
        "-keypass",
        PW,
    )
    path("secret.jceks").write_bytes(
        _secret_first(only_secret.read_bytes(), p["trust.jceks"].read_bytes())
    )
    # Made by OpenSSL (cryptography): no Java trusted-certificate attribute.
    path("openssl.p12").write_bytes(
        pkcs12.serialize_key_and_certificates(
            None, None, None, [h.root.cert, other.cert], BestAvailableEncryption(PW.encode())
        )
    )
    path("openssl-nopw.p12").write_bytes(
        pkcs12.serialize_key_and_certificates(None, None, None, [h.root.cert], NoEncryption())
    )
    return Stores(d, certs, p)


def _secret_first(secret_store: bytes, trust_store: bytes) -> bytes:
    """A JCEKS: the only entry of ``secret_store`` then every entry of ``trust_store``."""
    import hashlib
    import struct

    sk_entry = secret_store[12:-20]
    count = struct.unpack(">I", trust_store[8:12])[0]
    pos = 12
    for _ in range(count):  # all trusted-certificate entries (tag 2)
        (alias_len,) = struct.unpack(">H", trust_store[pos + 4 : pos + 6])
        pos += 6 + alias_len + 8
        (type_len,) = struct.unpack(">H", trust_store[pos : pos + 2])
        pos += 2 + type_len
        (der_len,) = struct.unpack(">I", trust_store[pos : pos + 4])
        pos += 4 + der_len
    body = trust_store[:8] + struct.pack(">I", count + 1) + sk_entry + trust_store[12:pos]
    digest = hashlib.sha1(PW.encode("utf-16-be") + b"Mighty Aphrodite" + body).digest()
    return body + digest


def keytool_list(store: Path, password: str = PW) -> dict[str, tuple[str, list[bytes]]]:
    """``keytool -list -rfc``: alias -> (entry type, certificate DERs)."""
    out = keytool("-list", "-rfc", "-keystore", str(store), "-storepass", password)
    result: dict[str, tuple[str, list[bytes]]] = {}
    for block in re.split(r"\n(?=Alias name: )", out):
        m = re.search(r"Alias name: (.*)\n", block)
        if not m:
            continue
        kind = re.search(r"Entry type: (\w+)", block)
        ders = [
            base64.b64decode("".join(b.split()))
            for b in re.findall(
                r"-----BEGIN CERTIFICATE-----(.*?)-----END CERTIFICATE-----", block, re.S
            )
        ]
        result[m.group(1).strip()] = (kind.group(1) if kind else "?", ders)
    return result


@dataclass
class JavaView:
    error: str | None
    entries: dict[str, str]  # alias -> "trusted" | "key" | "other"
    anchors: set[bytes]


def java_view(workdir: Path, stores: list[tuple[Path, str | None]]) -> dict[str, JavaView]:
    """One JVM, many stores: key ``f"{path}|{password}"``."""
    assert JAVA and JAVAC
    src = workdir / "TrustOracle.java"
    if not (workdir / "TrustOracle.class").exists():
        src.write_text(ORACLE)
        subprocess.run([JAVAC, "-d", str(workdir), str(src)], check=True, timeout=120)
    args: list[str] = []
    for path, pw in stores:
        args += [str(path), pw if pw is not None else "-"]
    out = subprocess.run(
        [JAVA, "-cp", str(workdir), "TrustOracle", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        env={**os.environ, "JAVA_TOOL_OPTIONS": ""},
    ).stdout
    views: dict[str, JavaView] = {}
    order = iter(stores)
    cur: JavaView | None = None
    for line in out.splitlines():
        if line.startswith("STORE "):
            path, pw = next(order)
            cur = JavaView(None, {}, set())
            views[f"{path}|{pw}"] = cur
        elif cur is None:
            continue
        elif line.startswith("ERROR "):
            cur.error = line[6:]
        elif line.startswith("ENTRY "):
            _, kind, alias = line.split(" ", 2)
            cur.entries[alias] = kind
        elif line.startswith("ANCHOR "):
            cur.anchors.add(base64.b64decode(line[7:]))
    return views
