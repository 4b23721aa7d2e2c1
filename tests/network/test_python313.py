"""Python 3.13's strict verification against a real CPython 3.13 (cpython#107361).

``ssl.create_default_context()`` sets ``VERIFY_X509_STRICT`` and
``VERIFY_X509_PARTIAL_CHAIN`` from 3.13 on: a private CA whose basicConstraints
is not critical, that has no keyUsage or no SKI, or a leaf without an AKI,
fails with 3.13 where 3.11 connects; an intermediate (or the leaf itself) in
the trust file now ends the chain.  Each shape is served on loopback and
checked by a real 3.13 and by this interpreter (3.11 here), in child
processes given only the roots file, and by trustdoctor's ``python@3.13`` and
``python@3.11`` models: verdict and text must agree (the model's text is
CPython's less the ``(_ssl.c:NNNN)`` of its build).  Skipped cleanly when no
CPython 3.13 is installed.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import helpers.diagnose as dh
from helpers.engine import run
from helpers.stores import clean_env, tls_server
from trustdoctor.lab import pki

pytestmark = pytest.mark.oracle

HOST = "svc.strict.test"
THIS = f"{sys.version_info[0]}.{sys.version_info[1]}"


def _python313() -> str | None:
    """A CPython 3.13: $TRUSTDOCTOR_PYTHON313, on PATH, or a pyenv build."""
    cands = [os.environ.get("TRUSTDOCTOR_PYTHON313", ""), "/usr/bin/python3.13",
             "/usr/local/bin/python3.13"]  # fmt: skip
    pyenv = shutil.which("pyenv")
    if pyenv:
        root = subprocess.run([pyenv, "root"], capture_output=True, text=True).stdout.strip()
        cands += sorted(glob.glob(f"{root}/versions/3.13*/bin/python3.13"), reverse=True)
    for c in cands:
        if c and Path(c).is_file():
            probe = subprocess.run([c, "-I", "-c", "import sys; print(sys.version_info[:2])"],
                                   capture_output=True, text=True)  # fmt: skip
            if probe.stdout.strip() == "(3, 13)":
                return c
    return None


PY313 = _python313()


def _shapes() -> dict[str, tuple[list[pki.Issued], list[pki.Issued], str]]:
    root = pki.make_cert("Strict Test Root", **dh.VALID)

    def ca(cn: str, issuer: pki.Issued = root, **kw: object) -> pki.Issued:
        return pki.make_cert(cn, issuer=issuer, **{**dh.VALID, **kw})  # type: ignore[arg-type]

    def leaf(issuer: pki.Issued, **kw: object) -> pki.Issued:
        kw.setdefault("ca", False)
        kw.setdefault("dns", [HOST])
        return pki.make_cert(HOST, issuer=issuer, **{**dh.VALID, **kw})  # type: ignore[arg-type]

    good = ca("Strict Test Issuing CA")
    bc = ca("Strict CA, basicConstraints not critical", bc_critical=False)
    no_ku = ca("Strict CA without keyUsage", key_usage=())
    no_ski = ca("Strict CA without SKI", ski=False)
    root_bc = pki.make_cert("Strict Root, basicConstraints not critical", bc_critical=False,
                            **dh.VALID)  # fmt: skip
    under_root_bc = ca("Strict CA under a lax root", root_bc)
    v1 = pki.make_cert("Strict v1 Root", version1=True, **dh.VALID)
    under_v1 = ca("Strict CA under a v1 root", v1)
    lone = leaf(good)
    return {
        "trusted": ([leaf(good), good], [root], HOST),
        "intermediate-bc-not-critical": ([leaf(bc), bc], [root], HOST),
        "root-bc-not-critical": ([leaf(under_root_bc), under_root_bc], [root_bc], HOST),
        "ca-without-key-usage": ([leaf(no_ku), no_ku], [root], HOST),
        "ca-without-ski": ([leaf(no_ski), no_ski], [root], HOST),
        "leaf-without-aki": ([leaf(good, aki=False), good], [root], HOST),
        "leaf-key-cert-sign": (
            [leaf(good, key_usage=("digital_signature", "key_cert_sign")), good], [root], HOST
        ),
        "v1-root": ([leaf(under_v1), under_v1], [v1], HOST),
        # Partial chains: the trust file holds the intermediate, or the leaf.
        "intermediate-anchor": ([leaf(good), good], [good], HOST),
        "intermediate-anchor-not-sent": ([leaf(good)], [good], HOST),
        "leaf-anchor": ([lone], [lone], HOST),
        # Strictness does not hide the usual causes, nor change their order
        # where the chain is clean.
        "hostname": ([leaf(good), good], [root], "other.strict.test"),
        "missing-intermediate": ([leaf(good)], [root], HOST),
        "ca-without-key-usage-wrong-name": ([leaf(no_ku), no_ku], [root], "other.strict.test"),
    }


SHAPES = _shapes()


def _real(python: str, shape: str, tmp_path: Path) -> str:
    chain, roots, name = SHAPES[shape]
    root_file = dh.write_pem(tmp_path / "roots.pem", *roots)
    with tls_server(chain, chain[0]) as (_, port):
        return subprocess.run(
            [python, "-I", "-c", dh.PYTHON_CLIENT, str(port), name, root_file],
            env=clean_env(), capture_output=True, text=True, timeout=30,
        ).stdout.strip()  # fmt: skip


def _model(shape: str, version: str) -> tuple[bool, str]:
    chain, roots, name = SHAPES[shape]
    d = run(chain, roots, host=name, at=dh.NOW, clients=("python",),
            versions={"python": version})  # fmt: skip
    v = d.clients[0]
    return v.trusted, v.client_error or ""


def _agree(real: str, model: tuple[bool, str], shape: str) -> None:
    trusted, text = model
    assert trusted == (real == "OK"), (shape, real, text)
    if not trusted:
        assert real.removeprefix("ERR ").startswith(text.rstrip(".")), (shape, real, text)


@pytest.mark.skipif(PY313 is None, reason="no CPython 3.13 installed")
@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_python_3_13_model_matches_cpython_3_13(tmp_path: Path, shape: str) -> None:
    assert PY313
    _agree(_real(PY313, shape, tmp_path), _model(shape, "3.13"), shape)


@pytest.mark.skipif(sys.version_info >= (3, 13), reason="this interpreter verifies strictly")
@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_older_python_model_matches_this_python(tmp_path: Path, shape: str) -> None:
    _agree(_real(sys.executable, shape, tmp_path), _model(shape, THIS), shape)


def test_the_strict_shapes_split_the_releases() -> None:
    """Not vacuous: the lax CAs pass 3.11 and fail 3.13; the partial chains the reverse."""
    for shape in ("intermediate-bc-not-critical", "ca-without-key-usage", "ca-without-ski",
                  "leaf-without-aki", "root-bc-not-critical", "v1-root"):  # fmt: skip
        assert _model(shape, "3.11")[0] and not _model(shape, "3.13")[0], shape
    for shape in ("intermediate-anchor", "intermediate-anchor-not-sent", "leaf-anchor"):
        assert _model(shape, "3.13")[0] and not _model(shape, "3.11")[0], shape


def test_diagnose_names_the_strict_rule_and_the_ca(capsys, monkeypatch, files, tmp_path) -> None:
    """``diagnose --client python@3.13``: the cause, the CA to reissue, the rule;
    the same chain is trusted by Go (and by 3.11: the test above)."""
    chain, roots, name = SHAPES["intermediate-bc-not-critical"]
    root = dh.write_pem(tmp_path / "roots.pem", *roots)
    with dh.serve_chain(files, chain, key=chain[0]) as srv:
        r = dh.diagnose(capsys, monkeypatch, f"127.0.0.1:{srv.port}", "--servername", name,
                        "--client", "python@3.13,go", "--trust", root,
                        "--format", "json")  # fmt: skip
    assert r.doc is not None and r.rc == 1, r.err
    by = {v["client"]: v for v in r.doc["clients"]}
    strict = by["python"]
    assert strict["version"] == "3.13" and strict["cause"] == "strict-profile"
    f = strict["findings"][0]
    assert f["params"]["rule"] == "ca-basic-constraints-not-critical"
    assert f["params"]["subject"] == chain[1].cert.subject.rfc4514_string()
    assert f["params"]["depth"] == 1
    assert strict["client_error"] == (
        "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: "
        "Basic Constraints of CA cert not marked critical"
    )
    assert by["go"]["trusted"]


def test_a_proxy_minted_leaf_is_the_proxys_to_fix(capsys, monkeypatch, files, tmp_path) -> None:
    """Python 3.13 behind a TLS-inspection proxy whose CA the client trusts, and
    whose minted leaves carry no AKI (openssl/openssl#28391): the cause is the
    strict profile, the side the network, and the plan reissues nothing at the
    server; Go (the same trust) connects."""
    proxy_root = pki.make_cert("Zscaler Root CA", **dh.VALID)
    proxy_ca = pki.make_cert("Zscaler Intermediate Root CA", issuer=proxy_root, **dh.VALID)
    minted = pki.make_cert(HOST, issuer=proxy_ca, ca=False, dns=[HOST], aki=False, **dh.VALID)
    root = dh.write_pem(tmp_path / "proxy-root.pem", proxy_root)
    with dh.serve_chain(files, [minted, proxy_ca], key=minted) as srv:
        argv = [f"127.0.0.1:{srv.port}", "--servername", HOST, "--client", "python@3.13,go",
                "--trust", root, "--format", "json"]  # fmt: skip
        r = dh.diagnose(capsys, monkeypatch, *argv)
    assert r.doc is not None and r.rc == 1, r.err
    by = {v["client"]: v for v in r.doc["clients"]}
    assert by["go"]["trusted"]
    py = by["python"]
    assert py["cause"] == "strict-profile" and py["side"] == "network", py
    f = py["findings"][0]
    assert f["params"]["rule"] == "missing-aki" and f["params"]["minted_by"] == "Zscaler"
    assert r.doc["verdict"]["side"] == "network"
    plan = r.doc["fix"] if "fix" in r.doc else r.doc.get("plan")
    assert plan is not None, sorted(r.doc)
    assert not [s for s in plan["steps"] if s["action"] == "reissue"], plan["steps"]
    assert any(n["code"] == "proxy-minted" for n in plan["notes"]), plan["notes"]
