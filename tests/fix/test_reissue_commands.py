"""The reissue commands of a plan, run for real: a CA re-signed with its own key
and subject keeps what it issued valid (issue 13's strict-profile work).

A chain that Python 3.13 refuses (an intermediate without keyUsage; a root
whose basicConstraints is not critical) is judged by ``trustdoctor chain
--client python@3.13``; the plan's commands are run with the real openssl in
a temporary directory holding the CA's certificate and key; the *old* leaf
then verifies against the reissued CA with ``openssl verify -x509_strict
-partial_chain`` (Python 3.13's flags) and with the ``python@3.13`` model.
"""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
from pathlib import Path

import pytest

from helpers.engine import run
from trustdoctor.cli.main import main
from trustdoctor.lab import pki

OPENSSL = shutil.which("openssl")
# Around the real clock: `trustdoctor chain` and `openssl verify` judge now.
_T = dt.datetime.now(dt.UTC)
VALID = {"not_before": _T - dt.timedelta(days=2), "not_after": _T + dt.timedelta(days=90)}
HOST = "app.reissue.test"
pytestmark = pytest.mark.skipif(OPENSSL is None, reason="openssl is not installed")


def _plan_commands(capsys: pytest.CaptureFixture[str], chain: Path, root: Path) -> list[str]:
    rc = main(["chain", str(chain), "--trust", str(root), "--host", HOST,
               "--client", "python@3.13"])  # fmt: skip
    out = capsys.readouterr().out
    assert rc == 1, out
    lines = [ln.strip() for ln in out.splitlines()]
    start = next(i for i, ln in enumerate(lines) if ln.startswith("# the CA's own key"))
    cmds = []
    for ln in lines[start + 1 :]:
        if not ln:
            break
        if not ln.startswith("#"):
            cmds.append(ln)
    assert cmds and all(c.startswith(("openssl ", "printf ")) for c in cmds), cmds
    return cmds


def _run(cmds: list[str], cwd: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "OPENSSL_CONF": "/dev/null", "HOME": str(cwd)}
    for c in cmds:
        proc = subprocess.run(["sh", "-c", c], cwd=cwd, env=env, capture_output=True, text=True,
                              timeout=60)  # fmt: skip
        assert proc.returncode == 0, (c, proc.stderr)


def _strict_verify(cwd: Path, cafile: str, untrusted: str | None, leaf: str) -> str:
    args = [str(OPENSSL), "verify", "-no-CApath", "-no-CAstore", "-x509_strict", "-partial_chain",
            "-purpose", "sslserver", "-verify_hostname", HOST, "-CAfile", cafile]  # fmt: skip
    if untrusted:
        args += ["-untrusted", untrusted]
    proc = subprocess.run([*args, leaf], cwd=cwd, env={"OPENSSL_CONF": "/dev/null"},
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    return (proc.stdout + proc.stderr).strip()


def _write(
    d: Path,
    root: pki.Issued,
    inter: pki.Issued,
    leaf: pki.Issued,
    *,
    ca: pki.Issued,
    parent: pki.Issued | None = None,
) -> None:
    """The served chain and its root, the certificates by name, and the files
    the plan's commands read: the CA to reissue (ca.pem/.key), its parent."""
    files = {"chain.pem": leaf.pem + inter.pem, "root.pem": root.pem, "leaf.pem": leaf.pem,
             "inter.pem": inter.pem, "ca.pem": ca.pem, "ca.key": ca.key_pem}  # fmt: skip
    if parent is not None:
        files |= {"parent-ca.pem": parent.pem, "parent-ca.key": parent.key_pem}
    for name, data in files.items():
        (d / name).write_bytes(data)


def _now() -> dt.datetime:
    # The reissued CA is valid from the real clock (openssl x509 -req).
    return dt.datetime.now(dt.UTC)


def _load(path: Path) -> pki.Issued:
    from cryptography import x509

    return pki.Issued(x509.load_pem_x509_certificate(path.read_bytes()), None)  # type: ignore[arg-type]


def test_an_intermediate_reissued_with_its_key_keeps_the_leaf(capsys, tmp_path: Path) -> None:
    root = pki.make_cert("Reissue Root", **VALID)
    inter = pki.make_cert("Reissue Issuing CA", issuer=root, key_usage=(), **VALID)
    leaf = pki.make_cert(HOST, issuer=inter, ca=False, dns=[HOST], **VALID)
    _write(tmp_path, root, inter, leaf, ca=inter, parent=root)
    before = _strict_verify(tmp_path, "root.pem", "ca.pem", "leaf.pem")
    assert "error 92" in before, before
    _run(_plan_commands(capsys, tmp_path / "chain.pem", tmp_path / "root.pem"), tmp_path)
    assert _strict_verify(tmp_path, "root.pem", "ca-new.pem", "leaf.pem") == "leaf.pem: OK"
    new = _load(tmp_path / "ca-new.pem")
    assert new.cert.subject == inter.cert.subject
    d = run([leaf, new], [root], host=HOST, at=_now(), clients=("python",),
            versions={"python": "3.13"})  # fmt: skip
    assert d.clients[0].trusted, d.clients[0]


def test_a_root_re_signed_with_its_key_keeps_the_chain(capsys, tmp_path: Path) -> None:
    root = pki.make_cert("Reissue Lax Root", bc_critical=False, **VALID)
    inter = pki.make_cert("Reissue Issuing CA 2", issuer=root, **VALID)
    leaf = pki.make_cert(HOST, issuer=inter, ca=False, dns=[HOST], **VALID)
    _write(tmp_path, root, inter, leaf, ca=root)
    assert "error 89" in _strict_verify(tmp_path, "root.pem", "inter.pem", "leaf.pem")
    cmds = _plan_commands(capsys, tmp_path / "chain.pem", tmp_path / "root.pem")
    assert not any("parent-ca" in c for c in cmds), cmds  # a root signs itself
    _run(cmds, tmp_path)
    assert _strict_verify(tmp_path, "ca-new.pem", "inter.pem", "leaf.pem") == "leaf.pem: OK"
    new = _load(tmp_path / "ca-new.pem")
    d = run([leaf, inter], [new], host=HOST, at=_now(), clients=("python",),
            versions={"python": "3.13"})  # fmt: skip
    assert d.clients[0].trusted, d.clients[0]
