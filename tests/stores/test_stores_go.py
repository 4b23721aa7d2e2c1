"""The ``go`` model against Go itself (a static crypto/x509 probe run with chroot).

Every root built here is asked twice: the model says which CAs Go trusts and
how many roots its pool holds; the probe, chrooted into the same root with the
same environment, says what Go 1.19 really decides.  They must agree.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

from helpers import SRC
from helpers.stores import (
    CHROOT,
    Root,
    alpine,
    arch,
    bundle,
    ca,
    debian,
    distroless,
    fp,
    go_probe,
    has,
    leaf,
    rhel,
    stores,
    suse,
    tls_server,
    trusted_bundle,
)
from trustdoctor.lab import pki
from trustdoctor.model.stores import ClientStore, SourceStatus

pytestmark = pytest.mark.oracle

A, B, C, D, E = (ca(f"Go Test Root {x}") for x in "ABCDE")
ALL = (A, B, C, D, E)


def model(root: Root, env: Mapping[str, str] | None = None) -> ClientStore:
    return stores(root, ["go"], env)["go"]


def agree(
    root: Root, env: Mapping[str, str] | None = None, cas: Sequence[pki.Issued] = ALL
) -> ClientStore:
    """Assert the model and Go agree on every CA in ``cas`` and on the pool size."""
    s = model(root, env)
    probe = go_probe()
    if probe is None:
        pytest.skip("Go is not installed")
    chains = {f"ca{i}": leaf(c).pem for i, c in enumerate(cas)}
    go = probe.verify(root, chains, env)
    for i, c in enumerate(cas):
        go_ok = go[f"ca{i}"] == "OK"
        assert has(s, c) == go_ok, (c.cert.subject, go[f"ca{i}"], [x.to_dict() for x in s.sources])
    count = probe.run(root, ["count"], env)
    if s.load_error is None:
        assert count == f"COUNT {len(s.anchors)}"
    return s


@pytest.fixture
def root(tmp_path: Path) -> Root:
    return Root(tmp_path / "root")


def test_debian_layout(root: Root) -> None:
    debian(root, [A, B], local=[("corp.crt", C)])
    s = agree(root)
    assert has(s, A) and has(s, C) and not has(s, D)
    assert s.sources[0].path == "/etc/ssl/certs/ca-certificates.crt"
    assert s.sources[0].status == SourceStatus.USED


def test_ssl_cert_file_alone_keeps_cert_dirs(root: Root) -> None:
    """Reference README item 2: the internal root in /etc/ssl/certs survives SSL_CERT_FILE."""
    debian(root, [A], local=[("internal.crt", C)])
    root.file("/opt/other.pem", bundle([B]))
    env = {"SSL_CERT_FILE": "/opt/other.pem"}
    s = agree(root, env)
    assert has(s, C) and has(s, B)
    assert "override-harmless" in [f.code.value for f in s.findings]
    assert "env-override" not in [f.code.value for f in s.findings]


def test_ssl_cert_file_and_dir_hide_roots(root: Root) -> None:
    debian(root, [A], local=[("internal.crt", C)])
    root.file("/opt/other.pem", bundle([B]))
    root.dir("/opt/empty")
    env = {"SSL_CERT_FILE": "/opt/other.pem", "SSL_CERT_DIR": "/opt/empty"}
    s = agree(root, env)
    assert not has(s, C) and has(s, B)
    override = next(f for f in s.findings if f.code.value == "env-override")
    assert override.params["variables"] == ["SSL_CERT_FILE", "SSL_CERT_DIR"]
    assert s.default_anchors is not None and s.default_anchors.find(fp(C)) is not None


def test_ssl_cert_dir_is_colon_separated(root: Root) -> None:
    root.file("/d1/a.pem", A.pem)
    root.file("/d2/b.pem", B.pem)
    s = agree(root, {"SSL_CERT_DIR": "/d1::/missing:/d2"})
    assert has(s, A) and has(s, B)


def test_empty_first_bundle_stops_the_search(root: Root) -> None:
    root.file("/etc/ssl/certs/ca-certificates.crt", b"")
    root.file("/etc/ssl/cert.pem", A.pem)  # Alpine's file, never reached
    s = agree(root)
    assert not has(s, A)
    empty = next(f for f in s.findings if f.code.value == "empty-bundle")
    assert empty.params["path"] == "/etc/ssl/certs/ca-certificates.crt"
    assert [x.status for x in s.sources if x.path == "/etc/ssl/cert.pem"] == [SourceStatus.SKIPPED]


def test_trusted_certificate_blocks_are_ignored(root: Root) -> None:
    root.file("/etc/pki/tls/certs/ca-bundle.crt", trusted_bundle([A]))
    s = agree(root)
    assert not has(s, A)
    empty = next(f for f in s.findings if f.code.value == "empty-bundle")
    assert empty.params["reason"] == "only-trusted-certificate"


def test_der_and_headers_are_ignored(root: Root) -> None:
    root.file("/etc/ssl/certs/a.der", A.der)
    pem = B.pem.replace(b"-----\n", b"-----\nProc-Type: 4,CRL\n\n", 1)
    root.file("/etc/ssl/certs/b.pem", pem)
    root.file("/etc/ssl/certs/c.pem", C.pem)
    s = agree(root)
    assert not has(s, A) and not has(s, B) and has(s, C)


def test_scratch_root_is_an_empty_pool_without_error(root: Root) -> None:
    root.dir("/etc")
    s = agree(root)
    assert len(s.anchors) == 0 and s.load_error is None
    assert s.findings[0].code.value == "no-trust-store"
    probe = go_probe()
    assert probe is not None
    res = probe.verify(root, {"x": leaf(A).pem})
    assert res["x"] == "FAIL x509: certificate signed by unknown authority"


def test_cert_dirs_not_recursive_and_same_dir_links_skipped(root: Root) -> None:
    root.file("/etc/ssl/certs/sub/a.pem", A.pem)  # subdirectory: never read
    root.file("/etc/ssl/certs/b.pem", B.pem)
    root.link("/etc/ssl/certs/deadbeef.0", "b.pem")  # same-dir link: skipped as a duplicate
    root.file("/usr/share/x/c.crt", C.pem)
    root.link("/etc/ssl/certs/c.pem", "/usr/share/x/c.crt")  # target with '/': read
    root.link("/etc/ssl/certs/d.pem", "d-real.crt")  # same-dir link whose target is missing
    s = agree(root)
    assert not has(s, A) and has(s, B) and has(s, C)
    used = {a.provenance.source for a in s.anchors.anchors}
    assert "/etc/ssl/certs/deadbeef.0" not in used


def test_ssl_cert_file_directory_is_a_load_error(root: Root) -> None:
    root.dir("/opt/notafile")
    env = {"SSL_CERT_FILE": "/opt/notafile", "SSL_CERT_DIR": "/nonexistent"}
    s = model(root, env)
    assert s.load_error == (
        "x509: failed to load system roots and no roots provided; "
        "read /opt/notafile: is a directory"
    )
    assert "unreadable-file" in [f.code.value for f in s.findings]
    probe = go_probe()
    if probe is None:
        pytest.skip("Go is not installed")
    res = probe.verify(root, {"x": leaf(A).pem}, env)
    assert res["x"] == f"FAIL {s.load_error}"


def test_unreadable_bundle_is_skipped_but_remembered(root: Root) -> None:
    """EISDIR on the first bundle: Go goes on to the next file (and keeps the error)."""
    root.dir("/etc/ssl/certs/ca-certificates.crt")
    root.file("/etc/pki/tls/certs/ca-bundle.crt", A.pem)
    s = agree(root)
    assert has(s, A)
    st = {x.path: x.status for x in s.sources}
    assert st["/etc/ssl/certs/ca-certificates.crt"] == SourceStatus.UNREADABLE
    assert st["/etc/pki/tls/certs/ca-bundle.crt"] == SourceStatus.USED


@pytest.mark.parametrize("layout", ["rhel7", "rhel9", "fedora"])
def test_rhel_layouts(root: Root, layout: str) -> None:
    rhel(root, [A, B], layout=layout)
    s = agree(root)
    assert has(s, A) and has(s, B) and not has(s, C)
    first_used = next(x for x in s.sources if x.status == SourceStatus.USED)
    expected = (
        "/etc/ssl/certs/ca-certificates.crt"
        if layout == "fedora"
        else "/etc/pki/tls/certs/ca-bundle.crt"
    )
    assert first_used.path == expected


def test_alpine_suse_arch_distroless(tmp_path: Path) -> None:
    for name, build in (
        ("alpine", alpine),
        ("suse", suse),
        ("arch", arch),
        ("distroless", distroless),
    ):
        r = Root(tmp_path / name)
        build(r, [A, B])
        s = agree(r)
        assert has(s, A) and has(s, B) and not has(s, C), name


def test_escaping_links_read_nothing_from_the_host(root: Root, tmp_path: Path) -> None:
    """Links to host paths resolve inside the root, for the model and for Go in its chroot."""
    outside = tmp_path / "host-secret.pem"
    outside.write_bytes(D.pem)
    root.link("/etc/ssl/certs/ca-certificates.crt", str(outside))  # absolute: inside the root
    root.link("/etc/ssl/certs/up.pem", "../../../../../../../../" + str(outside).lstrip("/"))
    root.file(str(outside), E.pem)  # the same path *inside* the root holds E
    s = agree(root)
    assert not has(s, D) and has(s, E)


def test_dial_a_loopback_server(root: Root) -> None:
    probe = go_probe()
    if probe is None:
        pytest.skip("Go is not installed")
    inter = pki.make_cert(
        "Go Dial Issuing CA",
        issuer=A,
        not_before=A.cert.not_valid_before_utc,
        not_after=A.cert.not_valid_after_utc,
    )
    srv = leaf(inter)
    debian(root, [B], local=[("a.crt", A)], compiled_local=False)  # A waits in the anchor dir
    s = model(root)
    assert not has(s, A)
    assert "stale-bundle" in [f.code.value for f in s.findings]
    with tls_server([srv, inter], srv) as (host, port):
        out = probe.run(root, ["dial", f"{host}:{port}", host])
        assert out == "FAIL x509: certificate signed by unknown authority"
        debian(root, [B], local=[("a.crt", A)], compiled_local=True)  # after update-ca-certificates
        assert has(model(root), A)
        assert probe.run(root, ["dial", f"{host}:{port}", host]) == "OK"


# -- EACCES: the model and Go, both without CAP_DAC_OVERRIDE, agree -------------------------

NO_DAC = ["--bounding-set=-dac_override,-dac_read_search"]


@pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("setpriv"), reason="needs root and setpriv"
)
def test_permission_denied_skips_to_the_next_bundle(root: Root) -> None:
    """A bundle the client may not read: Go skips it (EACCES), remembers the error, goes on."""
    setpriv = shutil.which("setpriv")
    assert setpriv
    bad = root.file("/etc/ssl/certs/ca-certificates.crt", A.pem, mode=0o600)
    os.chown(bad, 65534, 65534)  # not ours, and we drop the capability that would bypass that
    root.file("/etc/pki/tls/certs/ca-bundle.crt", B.pem, mode=0o644)
    src = SRC
    cmd = [
        setpriv,
        *NO_DAC,
        sys.executable,
        "-m",
        "trustdoctor",
        "stores",
        "--root",
        str(root.path),
        "--client",
        "go",
        "--format",
        "json",
    ]
    env = {"PYTHONPATH": str(src), "PATH": "/usr/bin:/bin", "HOME": "/nonexistent"}
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)["clients"][0]
    st = {s["path"]: s["status"] for s in data["sources"] if s["kind"] == "file"}
    assert st["/etc/ssl/certs/ca-certificates.crt"] == "unreadable"
    assert st["/etc/pki/tls/certs/ca-bundle.crt"] == "used"
    assert data["anchor_count"] == 1
    assert "unreadable-file" in [f["code"] for f in data["findings"]]
    probe = go_probe()
    if probe is None:
        pytest.skip("Go is not installed")
    probe.install(root)
    root.dir("/chains")
    root.file("/chains/a.pem", leaf(A).pem)
    root.file("/chains/b.pem", leaf(B).pem)
    ts = str(int(pki.NOW.timestamp()))
    go = subprocess.run(
        [
            setpriv,
            *NO_DAC,
            CHROOT,
            str(root.path),
            "/probe",
            "verify",
            ts,
            "/chains/a.pem",
            "/chains/b.pem",
        ],
        env={},
        capture_output=True,
        text=True,
        timeout=60,
    )
    lines = dict(line.split(" ", 1) for line in go.stdout.splitlines())
    assert lines["/chains/a.pem"].startswith("FAIL x509: certificate signed by unknown authority")
    assert lines["/chains/b.pem"] == "OK"
