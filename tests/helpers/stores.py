"""Helpers for the trust-store tests: temporary roots per distro layout, oracles.

Roots are built from generated certificates only (trustdoctor.lab.pki);
nothing here reads or writes the host's own trust store.  Oracles:

* ``GoProbe``: a static Go binary (CGO_ENABLED=0) run with ``chroot`` inside a
  test root, asking crypto/x509 itself what it trusts;
* ``openssl verify -CApath`` / ``openssl x509 -subject_hash``;
* Python's ``ssl`` with ``SSL_CERT_FILE``/``SSL_CERT_DIR`` for OpenSSL's
  default-path semantics; ``curl``, ``node`` and ``keytool`` where installed.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from trustdoctor import lab
from trustdoctor.lab import pki
from trustdoctor.model.stores import ClientStore
from trustdoctor.stores import build_context, inspect_stores
from trustdoctor.stores.subject_hash import subject_hash

from . import go_build

FAR_PAST = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
FAR_FUTURE = dt.datetime(2099, 1, 1, tzinfo=dt.UTC)
CHROOT = shutil.which("chroot") or "/usr/sbin/chroot"
GO = shutil.which("go") or ("/usr/bin/go" if os.path.exists("/usr/bin/go") else None)


def ca(name: str) -> pki.Issued:
    """A self-signed root CA valid for decades (real clocks move)."""
    return pki.make_cert(name, not_before=FAR_PAST, not_after=FAR_FUTURE)


def leaf(issuer: pki.Issued, host: str = "127.0.0.1") -> pki.Issued:
    ip = host.replace(".", "").isdigit()
    return pki.make_cert(
        host,
        issuer=issuer,
        ca=False,
        dns=() if ip else (host,),
        ips=(host,) if ip else (),
        not_before=FAR_PAST,
        not_after=FAR_FUTURE,
    )


def hash_of(cert: pki.Issued) -> str:
    h = subject_hash(cert.cert.subject.public_bytes())
    assert h is not None
    return h


def fp(cert: pki.Issued) -> str:
    import hashlib

    return hashlib.sha256(cert.der).hexdigest()


class Root:
    """A directory used as a filesystem root, with helpers to lay files out."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.mkdir(parents=True, exist_ok=True)

    def p(self, rel: str) -> Path:
        return self.path / rel.lstrip("/")

    def file(self, rel: str, data: bytes | str, mode: int | None = None) -> Path:
        target = self.p(rel)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data.encode() if isinstance(data, str) else data)
        if mode is not None:
            target.chmod(mode)
        return target

    def link(self, rel: str, target: str) -> None:
        p = self.p(rel)
        p.parent.mkdir(parents=True, exist_ok=True)
        if p.is_symlink() or p.exists():
            p.unlink()
        p.symlink_to(target)

    def dir(self, rel: str) -> Path:
        p = self.p(rel)
        p.mkdir(parents=True, exist_ok=True)
        return p

    def os_release(self, **kv: str) -> None:
        self.file("/etc/os-release", "".join(f'{k}="{v}"\n' for k, v in kv.items()))

    def hash_links(self, d: str, certs: Sequence[tuple[str, pki.Issued]]) -> None:
        """``openssl rehash``-style links ``<hash>.<n> -> name`` in directory ``d``."""
        used: dict[str, int] = {}
        for name, c in certs:
            h = hash_of(c)
            n = used.get(h, 0)
            used[h] = n + 1
            self.link(f"{d}/{h}.{n}", name)


def bundle(certs: Sequence[pki.Issued]) -> bytes:
    return b"".join(c.pem for c in certs)


# -- distro layouts -------------------------------------------------------------------


def debian(
    root: Root,
    system: Sequence[pki.Issued],
    *,
    local: Sequence[tuple[str, pki.Issued]] = (),
    compiled_local: bool = True,
    bookworm_cert_pem: bool = True,
    java: bool = False,
) -> None:
    """Debian/Ubuntu after ``update-ca-certificates``: mozilla/*.crt, .pem and hash links, bundle.

    ``local`` = (name.crt, CA) files in /usr/local/share/ca-certificates, compiled
    into the outputs when ``compiled_local``.
    """
    root.os_release(ID="debian", VERSION_ID="12", PRETTY_NAME="Debian GNU/Linux 12 (bookworm)")
    root.file("/var/lib/dpkg/status", "Package: ca-certificates\nStatus: install ok installed\n\n")
    root.file("/usr/sbin/update-ca-certificates", "#!/bin/sh\n", 0o755)
    root.file("/bin/sh", "", 0o755)
    links: list[tuple[str, pki.Issued]] = []
    outputs: list[pki.Issued] = []
    for i, c in enumerate(system):
        name = f"Mozilla_Root_{i}"
        root.file(f"/usr/share/ca-certificates/mozilla/{name}.crt", c.pem)
        root.link(f"/etc/ssl/certs/{name}.pem", f"/usr/share/ca-certificates/mozilla/{name}.crt")
        links.append((f"{name}.pem", c))
        outputs.append(c)
    for name, c in local:
        root.file(f"/usr/local/share/ca-certificates/{name}", c.pem)
        if compiled_local:
            stem = name.rsplit(".", 1)[0]
            root.link(f"/etc/ssl/certs/{stem}.pem", f"/usr/local/share/ca-certificates/{name}")
            links.append((f"{stem}.pem", c))
            outputs.append(c)
    root.hash_links("/etc/ssl/certs", links)
    root.file("/etc/ssl/certs/ca-certificates.crt", bundle(outputs))
    root.link("/usr/lib/ssl/certs", "/etc/ssl/certs")
    if bookworm_cert_pem:
        root.link("/usr/lib/ssl/cert.pem", "/etc/ssl/certs/ca-certificates.crt")
    if java:
        root.dir("/usr/lib/jvm/java-17-openjdk-amd64/lib/security")
        root.link(
            "/usr/lib/jvm/java-17-openjdk-amd64/lib/security/cacerts", "/etc/ssl/certs/java/cacerts"
        )
        root.file("/usr/lib/jvm/java-17-openjdk-amd64/bin/java", "", 0o755)
        root.link("/usr/bin/java", "/etc/alternatives/java")
        root.link("/etc/alternatives/java", "/usr/lib/jvm/java-17-openjdk-amd64/bin/java")


def rhel(
    root: Root,
    system: Sequence[pki.Issued],
    *,
    anchors: Sequence[tuple[str, bytes]] = (),
    extracted_extra: Sequence[pki.Issued] = (),
    layout: str = "rhel9",
) -> None:
    """RHEL 7-9 (``/etc/ssl/certs -> ../pki/tls/certs``) or current Fedora (directory-hash)."""
    ids = {
        "rhel9": ("rhel", "9.4", "Red Hat Enterprise Linux 9.4 (Plow)"),
        "rhel7": ("rhel", "7.9", "Red Hat Enterprise Linux Server 7.9 (Maipo)"),
        "fedora": ("fedora", "42", "Fedora Linux 42 (Container Image)"),
    }[layout]
    root.os_release(ID=ids[0], VERSION_ID=ids[1], PRETTY_NAME=ids[2], ID_LIKE="fedora")
    root.file("/usr/bin/update-ca-trust", "#!/bin/sh\n", 0o755)
    root.file("/bin/sh", "", 0o755)
    ex = "/etc/pki/ca-trust/extracted"
    certs = list(system) + list(extracted_extra)
    root.file(f"{ex}/pem/tls-ca-bundle.pem", bundle(certs))
    root.file(f"{ex}/openssl/ca-bundle.trust.crt", trusted_bundle(certs))
    root.dir("/etc/pki/ca-trust/source/anchors")
    for name, data in anchors:
        root.file(f"/etc/pki/ca-trust/source/anchors/{name}", data)
    root.link("/etc/pki/tls/certs/ca-bundle.crt", f"{ex}/pem/tls-ca-bundle.pem")
    root.link("/etc/pki/tls/certs/ca-bundle.trust.crt", f"{ex}/openssl/ca-bundle.trust.crt")
    if layout == "fedora":
        names = []
        for i, c in enumerate(certs):
            root.file(f"{ex}/pem/directory-hash/Root_{i}.pem", c.pem)
            names.append((f"Root_{i}.pem", c))
        root.hash_links(f"{ex}/pem/directory-hash", names)
        root.link(f"{ex}/pem/directory-hash/ca-certificates.crt", "../tls-ca-bundle.pem")
        root.link("/etc/ssl/certs", f"{ex}/pem/directory-hash")
        root.link("/etc/ssl/cert.pem", f"{ex}/pem/tls-ca-bundle.pem")
    else:
        root.link("/etc/ssl/certs", "../pki/tls/certs")
        root.link("/etc/pki/tls/cert.pem", f"{ex}/pem/tls-ca-bundle.pem")


def trusted_bundle(certs: Sequence[pki.Issued]) -> bytes:
    """The p11-kit ``openssl`` format: ``BEGIN TRUSTED CERTIFICATE`` (cert + empty aux)."""
    import base64

    out = b""
    for c in certs:
        der = c.der + b"\x30\x00"  # X509_CERT_AUX: an empty SEQUENCE
        body = base64.encodebytes(der).replace(b"\n", b"")
        lines = [body[i : i + 64] for i in range(0, len(body), 64)]
        out += (
            b"-----BEGIN TRUSTED CERTIFICATE-----\n"
            + b"\n".join(lines)
            + b"\n-----END TRUSTED CERTIFICATE-----\n"
        )
    return out


def alpine(
    root: Root,
    system: Sequence[pki.Issued],
    *,
    local: Sequence[tuple[str, pki.Issued]] = (),
    tool: bool = True,
) -> None:
    root.os_release(ID="alpine", VERSION_ID="3.20.0", PRETTY_NAME="Alpine Linux v3.20")
    root.file("/lib/apk/db/installed", "P:ca-certificates-bundle\nV:20240705-r0\n\n")
    root.file("/bin/busybox", "", 0o755)
    root.link("/bin/sh", "/bin/busybox")
    root.file("/etc/ssl/certs/ca-certificates.crt", bundle(system))
    root.link("/etc/ssl/cert.pem", "certs/ca-certificates.crt")
    if tool:
        root.file("/usr/sbin/update-ca-certificates", "", 0o755)
    for name, c in local:
        root.file(f"/usr/local/share/ca-certificates/{name}", c.pem)


def suse(
    root: Root, system: Sequence[pki.Issued], *, anchors: Sequence[tuple[str, bytes]] = ()
) -> None:
    root.os_release(
        ID="opensuse-leap",
        VERSION_ID="15.6",
        PRETTY_NAME="openSUSE Leap 15.6",
        ID_LIKE="suse opensuse",
    )
    root.file("/usr/sbin/update-ca-certificates", "#!/bin/sh\n", 0o755)
    root.file("/bin/sh", "", 0o755)
    root.file("/var/lib/ca-certificates/ca-bundle.pem", bundle(system))
    names = []
    for i, c in enumerate(system):
        root.file(f"/var/lib/ca-certificates/pem/Root_{i}.pem", c.pem)
        names.append((f"Root_{i}.pem", c))
    root.hash_links("/var/lib/ca-certificates/pem", names)
    root.link("/etc/ssl/certs", "/var/lib/ca-certificates/pem")
    root.link("/etc/ssl/ca-bundle.pem", "/var/lib/ca-certificates/ca-bundle.pem")
    root.dir("/etc/pki/trust/anchors")
    for name, data in anchors:
        root.file(f"/etc/pki/trust/anchors/{name}", data)


def arch(
    root: Root, system: Sequence[pki.Issued], *, anchors: Sequence[tuple[str, bytes]] = ()
) -> None:
    root.os_release(ID="arch", PRETTY_NAME="Arch Linux")
    root.file("/usr/bin/update-ca-trust", "#!/bin/sh\n", 0o755)
    root.file("/bin/sh", "", 0o755)
    ex = "/etc/ca-certificates/extracted"
    root.file(f"{ex}/tls-ca-bundle.pem", bundle(system))
    names = []
    for i, c in enumerate(system):
        root.file(f"{ex}/cadir/Root_{i}.pem", c.pem)
        root.link(f"/etc/ssl/certs/Root_{i}.pem", f"{ex}/cadir/Root_{i}.pem")
        names.append((f"Root_{i}.pem", c))
    root.hash_links("/etc/ssl/certs", names)
    root.link("/etc/ssl/certs/ca-certificates.crt", f"{ex}/tls-ca-bundle.pem")
    root.link("/etc/ssl/cert.pem", "certs/ca-certificates.crt")
    root.dir("/etc/ca-certificates/trust-source/anchors")
    for name, data in anchors:
        root.file(f"/etc/ca-certificates/trust-source/anchors/{name}", data)


def distroless(root: Root, system: Sequence[pki.Issued]) -> None:
    root.os_release(ID="debian", VERSION_ID="12", PRETTY_NAME="Distroless")
    root.dir("/var/lib/dpkg/status.d")
    root.file("/var/lib/dpkg/status.d/ca-certificates", "Package: ca-certificates\n")
    root.file("/etc/ssl/certs/ca-certificates.crt", bundle(system))


def busybox(root: Root) -> None:
    root.file("/bin/busybox", "", 0o755)
    root.link("/bin/sh", "busybox")
    root.dir("/etc")


# -- running the models -----------------------------------------------------------------


def stores(
    root: Root | Path, clients: Sequence[str], env: Mapping[str, str] | None = None, **kw: object
) -> dict[str, ClientStore]:
    path = root.path if isinstance(root, Root) else root
    with build_context(root=path, env=dict(env or {}), **kw) as ctx:  # type: ignore[arg-type]
        return {s.client: s for s in inspect_stores(ctx, clients)}


def codes(store: ClientStore) -> list[str]:
    return [f.code.value for f in store.findings]


def has(store: ClientStore, cert: pki.Issued) -> bool:
    return store.anchors.find(fp(cert)) is not None


def clean_env(**extra: str) -> dict[str, str]:
    """An environment without any trust variable of the developer's shell."""
    return {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/nonexistent", **extra}


# -- the Go oracle -----------------------------------------------------------------------

GO_PROBE = r"""
package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"strconv"
	"time"
)

func main() {
	switch os.Args[1] {
	case "count":
		p, err := x509.SystemCertPool()
		if err != nil {
			fmt.Println("ERR", err)
			return
		}
		fmt.Println("COUNT", len(p.Subjects()))
	case "verify":
		ts, _ := strconv.ParseInt(os.Args[2], 10, 64)
		for _, f := range os.Args[3:] {
			data, _ := os.ReadFile(f)
			var certs []*x509.Certificate
			for {
				b, rest := pem.Decode(data)
				if b == nil {
					break
				}
				c, err := x509.ParseCertificate(b.Bytes)
				if err == nil {
					certs = append(certs, c)
				}
				data = rest
			}
			inter := x509.NewCertPool()
			for _, c := range certs[1:] {
				inter.AddCert(c)
			}
			opts := x509.VerifyOptions{Intermediates: inter, CurrentTime: time.Unix(ts, 0)}
			_, err := certs[0].Verify(opts)
			if err != nil {
				fmt.Printf("%s FAIL %v\n", f, err)
			} else {
				fmt.Printf("%s OK\n", f)
			}
		}
	case "sleep":
		secs, _ := strconv.Atoi(os.Args[2])
		time.Sleep(time.Duration(secs) * time.Second)
	case "dial":
		conn, err := tls.Dial("tcp", os.Args[2], &tls.Config{ServerName: os.Args[3]})
		if err != nil {
			fmt.Println("FAIL", err)
			return
		}
		fmt.Println("OK")
		conn.Close()
	}
}
"""


@dataclass
class GoProbe:
    binary: Path

    def install(self, root: Root) -> None:
        shutil.copy2(self.binary, root.p("/probe"))

    def run(
        self,
        root: Root,
        args: Sequence[str],
        env: Mapping[str, str] | None = None,
        user: str | None = None,
    ) -> str:
        self.install(root)
        cmd = [CHROOT]
        if user:
            cmd.append(f"--userspec={user}")
        cmd += [str(root.path), "/probe", *args]
        out = subprocess.run(cmd, env=dict(env or {}), capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        return out.stdout.strip()

    def verify(
        self,
        root: Root,
        chains: Mapping[str, bytes],
        env: Mapping[str, str] | None = None,
        user: str | None = None,
    ) -> dict[str, str]:
        """Go's verdict per named chain (leaf first), with the root's system pool."""
        root.dir("/chains")
        for name, data in chains.items():
            root.file(f"/chains/{name}.pem", data)
        ts = str(int(pki.NOW.timestamp()))
        out = self.run(root, ["verify", ts, *(f"/chains/{n}.pem" for n in chains)], env, user)
        res = {}
        for line in out.splitlines():
            path, _, verdict = line.partition(" ")
            res[path.rsplit("/", 1)[1][:-4]] = verdict
        shutil.rmtree(root.p("/chains"))
        return res


_PROBE: list[GoProbe] = []


def go_probe() -> GoProbe | None:
    """The static Go probe, built once per source version; ``None`` when Go is not installed.

    Kept in the temporary directory under a name derived from its source, so
    test sessions reuse it; the Go build cache is removed after the build.
    """
    if _PROBE:
        return _PROBE[0]
    if GO is None:
        return None
    import hashlib

    tag = hashlib.sha256(GO_PROBE.encode()).hexdigest()[:16]
    final = Path(tempfile.gettempdir()) / f"trustdoctor-goprobe-{os.getuid()}-{tag}"
    if not (final / "probe").is_file():
        work = Path(tempfile.mkdtemp(prefix="td-goprobe-build-"))
        try:
            probe = go_build(GO_PROBE, work, "probe", module="probe")
            final.mkdir(exist_ok=True)
            os.replace(probe, final / "probe")
        finally:
            shutil.rmtree(work, ignore_errors=True)
    _PROBE.append(GoProbe(final / "probe"))
    return _PROBE[0]


# -- a loopback TLS server -------------------------------------------------------------


# curl and node send a request and wait for an answer.
HTTP_OK = b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"


@contextlib.contextmanager
def tls_server(chain: Sequence[pki.Issued], key: pki.Issued) -> Iterator[tuple[str, int]]:
    """Serve ``chain`` (leaf first) on 127.0.0.1 until the block ends, answering HTTP."""
    tmp = Path(tempfile.mkdtemp(prefix="td-srv-"))
    try:
        with lab.tls_server(chain, key, tmp, reply=HTTP_OK) as port:
            yield "127.0.0.1", port
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
