"""Debian's real ``update-ca-certificates`` as the oracle for the anchor-directory rules.

The script runs in a private mount namespace (``unshare -m``) where the test
root's ``/etc/ssl/certs``, ``/usr/share/ca-certificates`` and
``/usr/local/share/ca-certificates`` are bind-mounted over the host's, with an
empty hooks directory; every step is chained with ``set -e`` so that a failed
mount stops before the script runs.  The host's own store is never written.

Before the run the model predicts, per client, what is *pending* (the tool
will add it) and what is *ignored* (it never will); after the run the new
anchors must be exactly the pending ones.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from helpers.stores import Root, bundle, ca, debian, fp, stores

UPDATE = shutil.which("update-ca-certificates") or (
    "/usr/sbin/update-ca-certificates"
    if os.path.exists("/usr/sbin/update-ca-certificates")
    else None
)
UNSHARE = shutil.which("unshare")
MOUNTS = ("/etc/ssl/certs", "/usr/share/ca-certificates", "/usr/local/share/ca-certificates")

pytestmark = [
    pytest.mark.oracle,
    pytest.mark.skipif(
        os.geteuid() != 0
        or UPDATE is None
        or UNSHARE is None
        or not all(os.path.isdir(m) for m in MOUNTS),
        reason="needs root, unshare and Debian's update-ca-certificates",
    ),
]

SYS1, SYS2, GOOD, DEEP, M1, M2, PEMNAME, DER = (
    ca(f"Debian Oracle {x}")
    for x in ("Sys1", "Sys2", "Good", "Deep", "Multi1", "Multi2", "PemName", "Der")
)


def run_update(r: Root, hooks: Path) -> str:
    assert UPDATE and UNSHARE
    lines = ["set -e", "mount --make-rprivate /"]
    lines += [f"mount --bind '{r.p(m)}' '{m}'" for m in MOUNTS]
    conf = r.p("/etc/ca-certificates.conf")
    lines.append(f"exec '{UPDATE}' --fresh --certsconf '{conf}' --hooksdir '{hooks}'")
    out = subprocess.run(
        [UNSHARE, "-m", "sh", "-c", "\n".join(lines)],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"},
    )
    assert out.returncode == 0, out.stderr
    return out.stdout + out.stderr


def test_update_ca_certificates_adds_exactly_the_pending_certificates(tmp_path: Path) -> None:
    r = Root(tmp_path / "root")
    debian(r, [SYS1, SYS2], bookworm_cert_pem=False)
    r.file("/etc/ca-certificates.conf", "mozilla/Mozilla_Root_0.crt\nmozilla/Mozilla_Root_1.crt\n")
    local = "/usr/local/share/ca-certificates"
    r.file(f"{local}/good.crt", GOOD.pem)
    r.file(f"{local}/team/deep.crt", DEEP.pem)  # find -L is recursive
    r.file(f"{local}/multi.crt", bundle([M1, M2]))  # into the bundle, but no hash link
    r.file(f"{local}/corp.pem", PEMNAME.pem)  # not *.crt: never read
    r.file(f"{local}/der.crt", DER.der)  # DER: concatenated as garbage, never a PEM certificate
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    before = stores(r, ["go", "openssl"])
    pending = {a.cert.sha256 for a in before["go"].pending}
    ignored = {a.cert.sha256 for a in before["go"].ignored}
    assert pending == {fp(GOOD), fp(DEEP), fp(M1), fp(M2)}
    assert ignored == {fp(PEMNAME), fp(DER)}

    log = run_update(r, hooks)
    assert "added" in log

    after = stores(r, ["go", "openssl", "curl"])
    go_before = {a.cert.sha256 for a in before["go"].anchors.anchors}
    go_after = {a.cert.sha256 for a in after["go"].anchors.anchors}
    assert go_after - go_before == pending  # exactly what the model said was pending
    assert not (go_after & ignored)
    assert not after["go"].pending and "stale-bundle" not in [
        f.code.value for f in after["go"].findings
    ]
    assert {a.cert.sha256 for a in after["go"].ignored} == ignored
    # OpenSSL with the hash directory only (no /usr/lib/ssl/cert.pem): the multi-certificate
    # file got no <hash>.0 link from `openssl rehash`, as the model said.
    assert after["openssl"].anchors.find(fp(GOOD)) is not None
    assert after["openssl"].anchors.find(fp(M1)) is None
    multi = {
        a.cert.sha256
        for a in after["openssl"].ignored
        if a.provenance.detail == "multi-cert-no-hash-link"
    }
    assert multi == {fp(M1), fp(M2)}
    assert after["curl"].anchors.find(fp(M1)) is not None  # curl reads the bundle
