"""Real clients failing against loopback TLS servers: the capture side of the
``explain`` corpus tests (a helper module, not a conftest).

Each *shape* is one way a chain can fail (untrusted root, missing intermediate,
self-signed leaf...).  :func:`start_shapes` serves every shape on its own
127.0.0.1 port from a Python ``ssl`` server thread; the ``capture_*`` functions
run one real client against all of them and return what the client printed,
per shape.  The client is always given an explicit CA file in a tmp directory
(or an explicitly empty store), so the host's own trust store never decides.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shutil
import socket
import ssl
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from trustdoctor.lab import pki

# The name clients ask for; every "good" leaf carries it (and 127.0.0.1).
NAME = "localhost"
REAL_NOW = dt.datetime.now(dt.UTC)
DAY = dt.timedelta(days=1)


@dataclass
class Shape:
    """One failure shape.

    Attributes:
        name: short id used in test ids.
        chain_pem: what the server sends (leaf first).
        key_pem: the leaf's private key.
        ca_pem: the client's whole trust store for this shape (b"" = empty).
        truth: the cause codes any of which is the true cause.
        port: filled in by :func:`start_shapes`.
    """

    name: str
    chain_pem: bytes
    key_pem: bytes
    ca_pem: bytes
    truth: frozenset[str]
    port: int = 0
    ca_file: Path = field(default_factory=Path)


def _valid() -> dict[str, dt.datetime]:
    return {"not_before": REAL_NOW - 30 * DAY, "not_after": REAL_NOW + 300 * DAY}


def build_shapes() -> list[Shape]:
    v = _valid()
    ca_kw = dict(v)
    good = dict(v, dns=(NAME,), ips=("127.0.0.1",))
    root = pki.make_cert("Explain Test Root CA", **ca_kw)
    inter = pki.make_cert("Explain Test Issuing CA", issuer=root, **ca_kw)
    other_root = pki.make_cert("Some Other Root CA", **ca_kw)

    def leaf(issuer: pki.Issued, **kw: object) -> pki.Issued:
        args: dict[str, object] = dict(good)
        args.update(kw)
        return pki.make_cert(NAME, issuer=issuer, ca=False, **args)  # type: ignore[arg-type]

    shapes: list[Shape] = []
    ok_leaf = leaf(inter)
    shapes.append(
        Shape(
            "untrusted-root",
            ok_leaf.pem + inter.pem,
            ok_leaf.key_pem,
            other_root.pem,
            frozenset({"untrusted-root"}),
        )
    )
    shapes.append(
        Shape(
            "root-sent-untrusted",
            ok_leaf.pem + inter.pem + root.pem,
            ok_leaf.key_pem,
            other_root.pem,
            frozenset({"untrusted-root"}),
        )
    )
    shapes.append(
        Shape(
            "missing-intermediate",
            ok_leaf.pem,
            ok_leaf.key_pem,
            root.pem,
            frozenset({"missing-intermediate"}),
        )
    )
    self_leaf = pki.make_cert(NAME, ca=False, **good)  # type: ignore[arg-type]
    shapes.append(
        Shape(
            "self-signed-leaf",
            self_leaf.pem,
            self_leaf.key_pem,
            root.pem,
            frozenset({"self-signed-leaf"}),
        )
    )
    expired = leaf(inter, not_before=REAL_NOW - 400 * DAY, not_after=REAL_NOW - 3 * DAY)
    shapes.append(
        Shape("expired", expired.pem + inter.pem, expired.key_pem, root.pem, frozenset({"expired"}))
    )
    future = leaf(inter, not_before=REAL_NOW + 10 * DAY, not_after=REAL_NOW + 400 * DAY)
    shapes.append(
        Shape(
            "not-yet-valid",
            future.pem + inter.pem,
            future.key_pem,
            root.pem,
            frozenset({"not-yet-valid"}),
        )
    )
    wrong = leaf(inter, dns=("other.example.com",), ips=())
    shapes.append(
        Shape(
            "wrong-host",
            wrong.pem + inter.pem,
            wrong.key_pem,
            root.pem,
            frozenset({"hostname-mismatch"}),
        )
    )
    legacy = pki.make_cert(NAME, issuer=inter, ca=False, **v)  # CN only, no SAN
    shapes.append(
        Shape(
            "legacy-cn",
            legacy.pem + inter.pem,
            legacy.key_pem,
            root.pem,
            frozenset({"legacy-common-name", "hostname-mismatch"}),
        )
    )
    # An "intermediate" that is not a CA (CA:FALSE, no keyCertSign) signing the leaf.
    not_ca = pki.make_cert(
        "Explain Bad Issuing CA", issuer=root, ca=False, eku=("serverAuth",), **v
    )  # type: ignore[arg-type]
    nc_leaf = leaf(not_ca)
    shapes.append(
        Shape(
            "not-a-ca", nc_leaf.pem + not_ca.pem, nc_leaf.key_pem, root.pem, frozenset({"not-a-ca"})
        )
    )
    # The client trusts a root with the right name but another key (CA regenerated).
    regen = pki.make_cert("Explain Test Root CA", **ca_kw)
    shapes.append(
        Shape(
            "regenerated-ca",
            ok_leaf.pem + inter.pem,
            ok_leaf.key_pem,
            regen.pem,
            frozenset({"bad-signature"}),
        )
    )
    # SHA-1 signed intermediate under an RSA root (cryptography no longer signs
    # with SHA-1, so the openssl CLI does it).
    rsa_root = pki.make_cert("Explain RSA Root CA", key_kind="rsa2048", **ca_kw)
    sha1_inter = _sha1_intermediate(rsa_root)
    sha1_leaf = leaf(sha1_inter)
    shapes.append(
        Shape(
            "sha1-intermediate",
            sha1_leaf.pem + sha1_inter.pem,
            sha1_leaf.key_pem,
            rsa_root.pem,
            frozenset({"insecure-algorithm"}),
        )
    )
    # The client has no trust anchors at all.
    shapes.append(
        Shape(
            "empty-store",
            ok_leaf.pem + inter.pem,
            ok_leaf.key_pem,
            b"",
            frozenset({"no-trust-store", "empty-bundle"}),
        )
    )
    return shapes


def _sha1_intermediate(root: pki.Issued) -> pki.Issued:
    import tempfile

    from cryptography import x509

    key = pki.new_key("rsa2048")
    with tempfile.TemporaryDirectory() as d:
        t = Path(d)
        (t / "root.pem").write_bytes(root.pem)
        (t / "root.key").write_bytes(root.key_pem)
        (t / "inter.key").write_bytes(pki.Issued(root.cert, key).key_pem)
        (t / "ext.cnf").write_text(
            "[v3]\nbasicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n"
            "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n"
        )
        subprocess.run(
            [
                "openssl",
                "req",
                "-new",
                "-key",
                str(t / "inter.key"),
                "-subj",
                "/CN=Explain SHA1 Issuing CA",
                "-out",
                str(t / "inter.csr"),
            ],
            check=True,
            capture_output=True,
        )
        subprocess.run(
            [
                "openssl",
                "x509",
                "-req",
                "-in",
                str(t / "inter.csr"),
                "-CA",
                str(t / "root.pem"),
                "-CAkey",
                str(t / "root.key"),
                "-sha1",
                "-days",
                "300",
                "-set_serial",
                "4242",
                "-extfile",
                str(t / "ext.cnf"),
                "-extensions",
                "v3",
                "-out",
                str(t / "inter.pem"),
            ],
            check=True,
            capture_output=True,
        )
        cert = x509.load_pem_x509_certificate((t / "inter.pem").read_bytes())
    return pki.Issued(cert, key)


# -- servers ---------------------------------------------------------------------


class _Server(threading.Thread):
    def __init__(self, shape: Shape, tmp: Path) -> None:
        super().__init__(daemon=True)
        pem = tmp / f"server-{shape.name}.pem"
        pem.write_bytes(shape.chain_pem + shape.key_pem)
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        # Allow SHA-1 and small keys to be *served*; judging them is the client's job.
        self.ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
        self.ctx.load_cert_chain(pem)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(32)
        self.sock.settimeout(0.5)
        self.port = self.sock.getsockname()[1]
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        conn.settimeout(5)
        with contextlib.suppress(OSError, ssl.SSLError), conn:
            tls = self.ctx.wrap_socket(conn, server_side=True)
            tls.recv(4096)
            tls.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok")
            tls.close()


class _PlainServer(threading.Thread):
    """A plain-HTTP port: what a client sees when it speaks TLS to the wrong port."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(32)
        self.sock.settimeout(0.5)
        self.port = self.sock.getsockname()[1]
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            with contextlib.suppress(OSError), conn:
                conn.settimeout(5)
                conn.recv(4096)
                conn.sendall(b"HTTP/1.0 400 Bad Request\r\nContent-Length: 0\r\n\r\n")


@contextlib.contextmanager
def start_shapes(tmp: Path) -> Iterator[list[Shape]]:
    shapes = build_shapes()
    servers: list[_Server | _PlainServer] = []
    plain = _PlainServer()
    plain.start()
    servers.append(plain)
    ok = shapes[0]
    shapes.append(Shape("plain-http", ok.chain_pem, ok.key_pem, ok.ca_pem,
                        frozenset({"not-tls"}), port=plain.port))
    for s in shapes:
        if s.name == "plain-http":
            s.ca_file = tmp / "ca-plain-http.pem"
            s.ca_file.write_bytes(s.ca_pem)
            continue
        srv = _Server(s, tmp)
        srv.start()
        servers.append(srv)
        s.port = srv.port
        s.ca_file = tmp / f"ca-{s.name}.pem"
        s.ca_file.write_bytes(s.ca_pem)
    try:
        yield shapes
    finally:
        for srv in servers:
            srv.stop.set()
            srv.sock.close()


# -- clients ---------------------------------------------------------------------


def _run(
    argv: list[str],
    *,
    env: dict[str, str] | None = None,
    timeout: float = 60,
    cwd: Path | None = None,
    stdin: str = "",
) -> str:
    p = subprocess.run(
        argv,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=cwd,
        errors="replace",
    )
    return p.stdout + p.stderr


def _clean_env(tmp: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SSL_", "REQUESTS_", "CURL_", "NODE_", "GIT_", "PIP_"))
    }
    env["HOME"] = str(tmp / "home")
    (tmp / "home").mkdir(exist_ok=True)
    return env


def capture_openssl_s_client(shapes: list[Shape], tmp: Path) -> dict[str, str]:
    out = {}
    for s in shapes:
        if not s.ca_pem:
            continue
        out[s.name] = _run(
            [
                "openssl",
                "s_client",
                "-connect",
                f"127.0.0.1:{s.port}",
                "-servername",
                NAME,
                "-verify_hostname",
                NAME,
                "-CAfile",
                str(s.ca_file),
                "-no-CApath",
                "-no-CAstore",
            ],
            env=_clean_env(tmp),
        )
    return out


def capture_openssl_verify(shapes: list[Shape], tmp: Path) -> dict[str, str]:
    out = {}
    for s in shapes:
        if not s.ca_pem or s.name == "plain-http":
            continue
        blocks = s.chain_pem.split(b"-----END CERTIFICATE-----\n")
        leaf = tmp / f"v-leaf-{s.name}.pem"
        leaf.write_bytes(blocks[0] + b"-----END CERTIFICATE-----\n")
        untrusted = tmp / f"v-untrusted-{s.name}.pem"
        untrusted.write_bytes(b"-----END CERTIFICATE-----\n".join(blocks[1:]))
        argv = [
            "openssl",
            "verify",
            "-no-CApath",
            "-no-CAstore",
            "-CAfile",
            str(s.ca_file),
            "-verify_hostname",
            NAME,
        ]
        if len(blocks) > 2:
            argv += ["-untrusted", str(untrusted)]
        out[s.name] = _run([*argv, str(leaf)], env=_clean_env(tmp))
    return out


def capture_curl(shapes: list[Shape], tmp: Path) -> dict[str, str]:
    empty_dir = tmp / "empty-capath"
    empty_dir.mkdir(exist_ok=True)
    out = {}
    for s in shapes:
        out[s.name] = _run(
            [
                "curl",
                "-sS",
                "-o",
                "/dev/null",
                "--max-time",
                "10",
                "--cacert",
                str(s.ca_file),
                "--capath",
                str(empty_dir),
                "--resolve",
                f"{NAME}:{s.port}:127.0.0.1",
                f"https://{NAME}:{s.port}/",
            ],
            env=_clean_env(tmp),
        )
    return out


_PY_SCRIPT = r"""
import ssl, socket, sys, traceback, urllib.request
kind, name, port, cafile = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
url = "https://%s:%d/" % (name, port)
if kind == "ssl":
    ctx = ssl.create_default_context(cafile=cafile)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        ctx.wrap_socket(sock, server_hostname=name)
elif kind == "urllib":
    ctx = ssl.create_default_context(cafile=cafile)
    urllib.request.urlopen(url, context=ctx, timeout=10)
elif kind == "requests":
    import requests
    requests.get(url, verify=cafile, timeout=10)
"""


def capture_python(shapes: list[Shape], tmp: Path, kind: str) -> dict[str, str]:
    script = tmp / "pyclient.py"
    script.write_text(_PY_SCRIPT)
    out = {}
    for s in shapes:
        out[s.name] = _run(
            [sys.executable, str(script), kind, NAME, str(s.port), str(s.ca_file)],
            env=_clean_env(tmp),
        )
    return out


_NODE_SCRIPT = r"""
const https = require('https');
const fs = require('fs');
const jobs = JSON.parse(process.argv[1]);
let pending = jobs.length;
for (const [name, port, cafile] of jobs) {
  const ca = fs.readFileSync(cafile);
  const opts = {host: '127.0.0.1', servername: 'localhost', port, path: '/', timeout: 10000};
  if (ca.length) opts.ca = ca; else opts.ca = [];
  opts.headers = {Host: 'localhost'};
  const req = https.get(opts, (res) => { res.resume(); done(name, 'OK ' + res.statusCode); });
  req.on('error', (err) => done(name, require('util').inspect(err)));
}
function done(name, text) {
  process.stdout.write('@@@ ' + name + '\n' + text + '\n');
  if (--pending === 0) process.exit(0);
}
"""


def _split_marked(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    cur = None
    for line in text.splitlines():
        if line.startswith("@@@ "):
            cur = line[4:].strip()
            out[cur] = ""
        elif cur is not None:
            out[cur] += line + "\n"
    return out


def capture_node(shapes: list[Shape], tmp: Path) -> dict[str, str]:
    import json

    jobs = [[s.name, s.port, str(s.ca_file)] for s in shapes if s.ca_pem]
    text = _run(["node", "-e", _NODE_SCRIPT, json.dumps(jobs)], env=_clean_env(tmp))
    return _split_marked(text)


_GO_PROGRAM = r"""
package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"time"
)

func main() {
	// args: name url cafile|system ...
	for i := 1; i+2 < len(os.Args); i += 3 {
		name, url, ca := os.Args[i], os.Args[i+1], os.Args[i+2]
		cfg := &tls.Config{}
		if ca != "system" {
			pool := x509.NewCertPool()
			data, _ := os.ReadFile(ca)
			pool.AppendCertsFromPEM(data)
			cfg.RootCAs = pool
		}
		c := &http.Client{Timeout: 10 * time.Second,
			Transport: &http.Transport{TLSClientConfig: cfg}}
		_, err := c.Get(url)
		fmt.Printf("@@@ %s\n%v\n", name, err)
	}
}
"""


def go_binary(tmp: Path) -> Path | None:
    go = shutil.which("go") or ("/usr/bin/go" if Path("/usr/bin/go").exists() else None)
    if go is None:
        return None
    src = tmp / "goclient"
    src.mkdir(exist_ok=True)
    (src / "main.go").write_text(_GO_PROGRAM)
    env = _clean_env(tmp)
    env.update(
        GOCACHE=str(tmp / "gocache"),
        GOPATH=str(tmp / "gopath"),
        GO111MODULE="off",
        CGO_ENABLED="0",
        GOFLAGS="",
    )
    _run([go, "build", "-o", str(src / "client"), "main.go"], env=env, cwd=src, timeout=300)
    binary = src / "client"
    return binary if binary.exists() else None


def capture_go(shapes: list[Shape], tmp: Path, binary: Path) -> dict[str, str]:
    argv: list[str] = [str(binary)]
    for s in shapes:
        if s.name == "empty-store":
            continue
        argv += [s.name, f"https://{NAME}:{s.port}/", str(s.ca_file)]
    out = _split_marked(_run(argv, env=_clean_env(tmp)))
    # Empty store: the system pool with every default location made empty.
    empty = next(s for s in shapes if s.name == "empty-store")
    env = _clean_env(tmp)
    nothing = tmp / "go-empty-dir"
    nothing.mkdir(exist_ok=True)
    env.update(SSL_CERT_FILE=str(tmp / "does-not-exist.pem"), SSL_CERT_DIR=str(nothing))
    out.update(
        _split_marked(
            _run([str(binary), "empty-store", f"https://{NAME}:{empty.port}/", "system"], env=env)
        )
    )
    # SSL_CERT_FILE naming a directory: the roots cannot be loaded at all.
    env["SSL_CERT_FILE"] = str(nothing)
    out.update(
        _split_marked(
            _run(
                [str(binary), "unreadable-roots", f"https://{NAME}:{empty.port}/", "system"],
                env=env,
            )
        )
    )
    return out


_JAVA_PROGRAM = textwrap.dedent(r"""
    import java.net.URL;
    import javax.net.ssl.HttpsURLConnection;

    public class ExplainClient {
        public static void main(String[] args) throws Exception {
            for (int i = 0; i + 1 < args.length; i += 2) {
                System.out.println("@@@ " + args[i]);
                try {
                    HttpsURLConnection c =
                        (HttpsURLConnection) new URL(args[i + 1]).openConnection();
                    c.setConnectTimeout(10000);
                    c.setReadTimeout(10000);
                    c.getResponseCode();
                    System.out.println("OK");
                } catch (Exception e) {
                    e.printStackTrace(System.out);
                }
            }
        }
    }
    """)


def capture_java(shapes: list[Shape], tmp: Path) -> dict[str, str]:
    """One JVM per trust store (the JVM reads javax.net.ssl.trustStore once)."""
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import BestAvailableEncryption, pkcs12

    src = tmp / "ExplainClient.java"
    src.write_text(_JAVA_PROGRAM)
    by_store: dict[bytes, list[Shape]] = {}
    for s in shapes:
        by_store.setdefault(s.ca_pem, []).append(s)
    out: dict[str, str] = {}
    for i, (ca_pem, group) in enumerate(by_store.items()):
        store = tmp / f"trust-{i}.p12"
        enc = BestAvailableEncryption(b"changeit")
        if ca_pem:
            certs = [
                pkcs12.PKCS12Certificate(c, f"ca{j}".encode())
                for j, c in enumerate(x509.load_pem_x509_certificates(ca_pem))
            ]
            store.write_bytes(pkcs12.serialize_java_truststore(certs, enc))
        else:
            # No trusted entries at all (only a key entry): the JVM has no anchors.
            k = pki.make_cert("Explain Key Only", ca=False)
            store.write_bytes(pkcs12.serialize_key_and_certificates(b"k", k.key, k.cert, None, enc))
        props = [
            f"-Djavax.net.ssl.trustStore={store}",
            "-Djavax.net.ssl.trustStorePassword=changeit",
            "-Djavax.net.ssl.trustStoreType=PKCS12",
        ]
        argv = ["java", *props, str(src)]
        for s in group:
            argv += [s.name, f"https://{NAME}:{s.port}/"]
        out.update(_split_marked(_run(argv, env=_clean_env(tmp), timeout=120)))
    return out


def capture_git(shapes: list[Shape], tmp: Path) -> dict[str, str]:
    out = {}
    for s in shapes:
        env = _clean_env(tmp)
        env.update(
            GIT_SSL_CAINFO=str(s.ca_file),
            GIT_TERMINAL_PROMPT="0",
            GIT_CONFIG_NOSYSTEM="1",
            GIT_SSL_CAPATH=str(tmp / "empty-capath"),
        )
        (tmp / "empty-capath").mkdir(exist_ok=True)
        out[s.name] = _run(["git", "ls-remote", f"https://{NAME}:{s.port}/repo.git"], env=env)
    return out


def capture_pip(shapes: list[Shape], tmp: Path, names: set[str]) -> dict[str, str]:
    out = {}
    for s in shapes:
        if s.name not in names:
            continue
        env = _clean_env(tmp)
        env["PIP_CONFIG_FILE"] = os.devnull
        out[s.name] = _run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--no-deps",
                "--retries",
                "0",
                "--timeout",
                "5",
                "--disable-pip-version-check",
                "--no-cache-dir",
                "-d",
                str(tmp / "pipdl"),
                "--cert",
                str(s.ca_file),
                "--index-url",
                f"https://{NAME}:{s.port}/simple/",
                "nothing-here",
            ],
            env=env,
            timeout=120,
        )
    return out
