"""Real clients as oracles: Go's crypto/x509 and OpenSSL's verifier.

The same generated chains go through trustdoctor's ``go``/``openssl`` policies
and through the real verifiers; verdicts (and, for Go, the error text) must
agree.  Skipped cleanly when a client is not installed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from helpers import TESTS
from helpers.engine import run
from trustdoctor.lab.pki import DAY, NOW, hierarchy, make_cert

H = "registry.internal.example.com"


def _shapes():
    h = hierarchy()
    other = make_cert("Other Root")
    nonca = make_cert("Not A CA", issuer=h.root, ca=False)
    pl0 = make_cert("PL0", issuer=h.root, path_length=0)
    sub = make_cert("Sub", issuer=pl0)
    nc = make_cert("NC CA", issuer=h.root, permitted_dns=["example.org"])
    sha1i = make_cert("SHA1 Inter", issuer=h.root, hash_alg="sha1")
    rsa_root = make_cert("RSA1024 Root", key_kind="rsa1024")
    impostor = make_cert("Example Internal Issuing CA", issuer=h.root)
    exp_inter = make_cert(
        "Expired Inter", issuer=h.root, not_after=NOW - DAY, not_before=NOW - 400 * DAY
    )

    def leaf(issuer, **kw):
        kw.setdefault("dns", [H])
        return make_cert(H, issuer=issuer, ca=False, **kw)

    return {
        "ok": ([h.leaf, h.intermediate], [h.root], H),
        "missing-intermediate": ([h.leaf], [h.root], H),
        "untrusted-root": ([h.leaf, h.intermediate], [other], H),
        "root-sent-untrusted": ([h.leaf, h.intermediate, h.root], [other], H),
        "self-signed-leaf": ([make_cert(H, ca=False, dns=[H])], [h.root], H),
        "not-a-ca": ([leaf(nonca), nonca], [h.root], H),
        "expired-leaf": (
            [leaf(h.intermediate, not_after=NOW - DAY, not_before=NOW - 90 * DAY), h.intermediate],
            [h.root],
            H,
        ),
        "expired-intermediate": ([leaf(exp_inter), exp_inter], [h.root], H),
        "not-yet-valid": (
            [leaf(h.intermediate, not_before=NOW + DAY), h.intermediate],
            [h.root],
            H,
        ),
        "hostname": ([h.leaf, h.intermediate], [h.root], "other.example.com"),
        "ip-host": ([h.leaf, h.intermediate], [h.root], "127.0.0.1"),
        "cn-only": ([make_cert(H, issuer=h.intermediate, ca=False), h.intermediate], [h.root], H),
        "client-auth": ([leaf(h.intermediate, eku=["clientAuth"]), h.intermediate], [h.root], H),
        "path-len": ([leaf(sub), sub, pl0], [h.root], H),
        "name-constraints": ([leaf(nc), nc], [h.root], H),
        "sha1-intermediate": ([leaf(sha1i), sha1i], [h.root], H),
        "rsa1024-root": ([leaf(rsa_root)], [rsa_root], H),
        "bad-signature": ([h.leaf, impostor], [h.root], H),
        "intermediate-anchor": ([h.leaf, h.intermediate], [h.intermediate], H),
        "critical-ext": (
            [leaf(h.intermediate, unknown_critical=True), h.intermediate],
            [h.root],
            H,
        ),
    }


SHAPES = _shapes()


def _write(tmp: Path, name: str, items) -> Path:
    p = tmp / name
    p.write_bytes(b"".join(i.pem for i in items))
    return p


@pytest.fixture(scope="session")
def goverify(tmp_path_factory) -> Path:
    go = shutil.which("go")
    if go is None:
        pytest.skip("Go is not installed (apt-get install golang-go)")
    d = tmp_path_factory.mktemp("gobuild")
    env = dict(
        os.environ,
        GOCACHE=str(d / "cache"),
        GOPATH=str(d / "gopath"),
        HOME=str(d),
        GOPROXY="off",
        GOFLAGS="-mod=mod",
        CGO_ENABLED="0",
        GO111MODULE="off",
    )
    src = TESTS / "oracles" / "goverify.go"
    out = d / "goverify"
    subprocess.run(
        [go, "build", "-o", str(out), str(src)],
        check=True,
        env=env,
        timeout=300,
        capture_output=True,
    )
    return out


@pytest.mark.oracle
@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_go_policy_matches_real_go(goverify, tmp_path, shape):
    chain, roots, host = SHAPES[shape]
    rp, cp = _write(tmp_path, "roots.pem", roots), _write(tmp_path, "chain.pem", chain)
    real = subprocess.run(
        [str(goverify), str(rp), str(cp), host, str(int(NOW.timestamp()))],
        capture_output=True,
        text=True,
        timeout=30,
    ).stdout.strip()
    d = run(chain, roots, host=host, clients=("go",))
    v = d.clients[0]
    assert v.trusted == (real == "OK"), (shape, real, v.cause)
    if real != "OK":
        # Go 1.19 adds "(temporarily override with GODEBUG=x509sha1=1)" to the
        # SHA-1 hint (removed in 1.24); compare without it.
        real_cmp = real.replace(" (temporarily override with GODEBUG=x509sha1=1)", "")
        ours = v.client_error or ""
        if "current time" in ours:  # Go prints now in the local zone
            assert real_cmp.split(": current time")[0] == ours.split(": current time")[0]
        else:
            assert real_cmp == ours, (shape, v.cause)


def _openssl_verify(tmp: Path, chain, roots, host) -> tuple[bool, int | None]:
    rp, leaf = _write(tmp, "roots.pem", roots), _write(tmp, "leaf.pem", chain[:1])
    args = [
        "openssl",
        "verify",
        "-no-CApath",
        "-no-CAstore",
        "-CAfile",
        str(rp),
        "-purpose",
        "sslserver",
        "-auth_level",
        "2",
        "-attime",
        str(int(NOW.timestamp())),
    ]
    if len(chain) > 1:
        args += ["-untrusted", str(_write(tmp, "inter.pem", chain[1:]))]
    if host:
        flag = "-verify_ip" if host.replace(".", "").isdigit() else "-verify_hostname"
        args += [flag, host]
    proc = subprocess.run([*args, str(leaf)], capture_output=True, text=True, timeout=30)
    if proc.returncode == 0:
        return True, None
    import re

    m = re.search(r"error (\d+) at", proc.stdout + proc.stderr)
    return False, int(m.group(1)) if m else None


@pytest.mark.oracle
@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_openssl_policy_matches_openssl_verify(tmp_path, shape):
    if shutil.which("openssl") is None:
        pytest.skip("openssl not installed")
    chain, roots, host = SHAPES[shape]
    ok, code = _openssl_verify(tmp_path, chain, roots, host)
    d = run(chain, roots, host=host, clients=("openssl",))
    v = d.clients[0]
    assert v.trusted == ok, (shape, code, v.cause)
    if not ok and code is not None:
        ours = int((v.client_error or "num=0:").split("num=")[1].split(":")[0])
        assert ours == code, (shape, v.cause, v.client_error)
