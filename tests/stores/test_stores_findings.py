"""Every store finding, on a root built to produce it (and its absence where it must not fire)."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import time
from dataclasses import replace
from pathlib import Path

import pytest

from helpers.stores import (
    CHROOT,
    Root,
    alpine,
    arch,
    bundle,
    ca,
    codes,
    debian,
    go_probe,
    has,
    rhel,
    stores,
    suse,
)
from trustdoctor.stores import build_context, inspect_stores

A, B, C, D = (ca(f"Finding Test Root {x}") for x in "ABCD")


def find(store: object, code: str) -> object:
    return next(f for f in store.findings if f.code.value == code)  # type: ignore[attr-defined]


# -- stale-bundle, per distro ------------------------------------------------------------------


def test_stale_bundle_debian(tmp_path: Path) -> None:
    r = Root(tmp_path / "root")
    debian(r, [A], local=[("corp.crt", C)], compiled_local=False)
    s = stores(r, ["go", "openssl", "curl", "python"])
    for client in ("go", "openssl", "curl", "python"):
        assert not has(s[client], C)
        f = find(s[client], "stale-bundle")
        assert f.params["refresh"] == "update-ca-certificates"  # type: ignore[attr-defined]
        assert f.params["files"] == ["/usr/local/share/ca-certificates/corp.crt"]  # type: ignore[attr-defined]
        assert [a.cert.display_name for a in s[client].pending] == ["Finding Test Root C"]


@pytest.mark.parametrize("family", ["rhel", "suse", "arch"])
def test_stale_bundle_p11kit_distros_take_der(tmp_path: Path, family: str) -> None:
    r = Root(tmp_path / "root")
    anchors = [("corp.der", C.der), ("other", D.pem)]  # any name, PEM or DER
    {
        "rhel": lambda: rhel(r, [A], anchors=anchors),
        "suse": lambda: suse(r, [A], anchors=anchors),
        "arch": lambda: arch(r, [A], anchors=anchors),
    }[family]()
    s = stores(r, ["go"])["go"]
    f = find(s, "stale-bundle")
    refresh = {
        "rhel": "update-ca-trust extract",
        "suse": "update-ca-certificates",
        "arch": "update-ca-trust",
    }
    assert f.params["refresh"] == refresh[family]  # type: ignore[attr-defined]
    assert {a.cert.display_name for a in s.pending} == {
        "Finding Test Root C",
        "Finding Test Root D",
    }
    assert "anchor-file-ignored" not in codes(s)


def test_stale_bundle_rhel_after_rebuild_is_clean(tmp_path: Path) -> None:
    r = Root(tmp_path / "root")
    rhel(r, [A], anchors=[("corp.pem", C.pem)], extracted_extra=[C])
    s = stores(r, ["go", "openssl"])
    assert has(s["go"], C) and has(s["openssl"], C)
    assert "stale-bundle" not in codes(s["go"]) + codes(s["openssl"])


def test_stale_bundle_alpine_without_the_tool(tmp_path: Path) -> None:
    r = Root(tmp_path / "root")
    alpine(r, [A], local=[("corp.pem", C)], tool=False)  # ca-certificates-bundle only
    s = stores(r, ["go"])["go"]
    f = find(s, "stale-bundle")
    assert f.params["refresh"] == "apk add ca-certificates && update-ca-certificates"  # type: ignore[attr-defined]


# -- anchor-file-ignored ---------------------------------------------------------------------


def test_anchor_file_ignored_debian(tmp_path: Path) -> None:
    r = Root(tmp_path / "root")
    debian(r, [A])
    r.file("/usr/local/share/ca-certificates/corp.pem", C.pem)  # not *.crt
    r.file("/usr/local/share/ca-certificates/der.crt", D.der)  # DER content
    r.file("/usr/local/share/ca-certificates/sub/deep.crt", B.pem)  # recursive on Debian: pending
    s = stores(r, ["go"])["go"]
    ignored = {
        f.params["path"]: f.params["reason"]
        for f in s.findings
        if f.code.value == "anchor-file-ignored"
    }
    assert ignored["/usr/local/share/ca-certificates/corp.pem"] == "wrong-suffix"
    assert ignored["/usr/local/share/ca-certificates/der.crt"] == "der-content"
    assert [a.cert.display_name for a in s.pending] == ["Finding Test Root B"]
    assert {a.cert.display_name for a in s.ignored} == {
        "Finding Test Root C",
        "Finding Test Root D",
    }


def test_anchor_file_ignored_alpine_subdirectory(tmp_path: Path) -> None:
    r = Root(tmp_path / "root")
    alpine(r, [A])
    r.file("/usr/local/share/ca-certificates/sub/corp.crt", C.pem)  # Alpine: not recursive
    r.file("/usr/local/share/ca-certificates/corp2", D.pem)  # Alpine: .crt optional
    s = stores(r, ["go"])["go"]
    f = find(s, "anchor-file-ignored")
    assert f.params["reason"] == "in-subdirectory"  # type: ignore[attr-defined]
    assert f.params["dir"] == "/usr/local/share/ca-certificates"  # type: ignore[attr-defined]
    assert [a.cert.display_name for a in s.pending] == ["Finding Test Root D"]


# -- no-trust-store --------------------------------------------------------------------------


def test_no_trust_store_in_a_slim_debian(tmp_path: Path) -> None:
    r = Root(tmp_path / "root")
    r.os_release(ID="debian", VERSION_ID="12")
    r.file("/var/lib/dpkg/status", "")
    r.file("/bin/sh", "")
    s = stores(r, ["go", "openssl", "curl"])
    f = find(s["go"], "no-trust-store")
    assert f.params["install"] == "apt-get install -y ca-certificates"  # type: ignore[attr-defined]
    assert f.severity.value == "error"  # type: ignore[attr-defined]
    assert (
        s["curl"].load_error
        == "curl: (77) error setting certificate file: /etc/ssl/certs/ca-certificates.crt"
    )


# -- env-override / override-harmless ------------------------------------------------------


def test_env_override_names_private_roots_first(tmp_path: Path) -> None:
    r = Root(tmp_path / "root")
    debian(r, [A, B], local=[("corp.crt", C)])
    r.file("/opt/only-a.pem", A.pem)
    s = stores(r, ["python"], {"SSL_CERT_FILE": "/opt/only-a.pem", "SSL_CERT_DIR": "/nonexistent"})[
        "python"
    ]
    f = find(s, "env-override")
    assert f.params["hidden"] == 2  # type: ignore[attr-defined]
    assert f.params["hidden_private"] == 2  # type: ignore[attr-defined]  # B and C are not Mozilla roots
    assert s.default_anchors is not None and len(s.default_anchors) == 3


def test_override_harmless_when_the_file_is_the_default(tmp_path: Path) -> None:
    """distroless/static sets SSL_CERT_FILE to the default bundle: nothing changes."""
    r = Root(tmp_path / "root")
    debian(r, [A])
    s = stores(r, ["go", "openssl"], {"SSL_CERT_FILE": "/etc/ssl/certs/ca-certificates.crt"})
    for c in ("go", "openssl"):
        assert "override-harmless" in codes(s[c]) and "env-override" not in codes(s[c])


# -- empty-bundle / unreadable-file ------------------------------------------------------------


def test_empty_bundle_and_unreadable_files(tmp_path: Path) -> None:
    r = Root(tmp_path / "root")
    r.file("/etc/ssl/certs/ca-certificates.crt", b"# nothing here\n")
    r.link("/etc/pki/tls/certs/ca-bundle.crt", "loop")
    r.link("/etc/pki/tls/certs/loop", "ca-bundle.crt")
    s = stores(r, ["go"])["go"]
    assert find(s, "empty-bundle").params["reason"] == "no-pem-block"  # type: ignore[attr-defined]
    r2 = Root(tmp_path / "loop")
    r2.link("/etc/ssl/certs/ca-certificates.crt", "ca-certificates.crt")
    s2 = stores(r2, ["go"])["go"]
    f = find(s2, "unreadable-file")
    assert f.params["reason"] == "os-error"  # type: ignore[attr-defined]
    assert f.params["error"] == "too many levels of symbolic links"  # type: ignore[attr-defined]
    assert s2.load_error is not None and "too many levels of symbolic links" in s2.load_error


# -- partial-trust ---------------------------------------------------------------------------------


def test_partial_trust(tmp_path: Path) -> None:
    r = Root(tmp_path / "root")
    debian(r, [A], local=[("corp.crt", C)])
    r.file("/usr/bin/node", "", 0o755)
    s = stores(r, ["go", "openssl", "node"])
    assert "partial-trust" not in codes(s["go"]) + codes(s["openssl"])
    f = find(s["node"], "partial-trust")
    assert f.params["trusted_by"] == ["go", "openssl"]  # type: ignore[attr-defined]
    assert f.params["root"] == "Finding Test Root C"  # type: ignore[attr-defined]


def test_partial_trust_groups_many_roots_into_one_finding(tmp_path: Path) -> None:
    """A bundle of many private roots one client lacks is one finding (with the
    count and a few names), not one line per root."""
    many = [ca(f"Grouped Root {i}") for i in range(40)]
    r = Root(tmp_path / "root")
    debian(r, [A], local=[(f"corp{i}.crt", c) for i, c in enumerate(many)])
    r.file("/usr/bin/node", "", 0o755)
    s = stores(r, ["go", "node"])
    found = [f for f in s["node"].findings if f.code.value == "partial-trust"]
    assert len(found) == 1
    p = found[0].params
    assert p["count"] == 40 and len(p["roots"]) == 5  # type: ignore[arg-type]
    assert len(found[0].certs) == 40
    from trustdoctor.api import inspect_stores
    from trustdoctor.api.context import TrustOptions

    text = inspect_stores(["go", "node"], options=TrustOptions(root=str(r.path), env={}))
    lines = [x for x in text.to_text().plain().splitlines() if "partial-trust" in x]
    assert len(lines) == 1 and "40 roots (" in lines[0] and "+35 more" in lines[0]


# -- restart-required ------------------------------------------------------------------------


def test_restart_required_with_a_process_start(tmp_path: Path) -> None:
    r = Root(tmp_path / "root")
    debian(r, [A])
    future = time.time() + 3600
    os.utime(r.p("/etc/ssl/certs/ca-certificates.crt"), (future, future))
    with build_context(root=r.path, env={}) as ctx:
        started = dt.datetime.now(dt.UTC)
        s = {
            x.client: x
            for x in inspect_stores(replace(ctx, process_start=started), ["go", "python"])
        }
    f = find(s["go"], "restart-required")
    assert f.params["files"] == ["/etc/ssl/certs/ca-certificates.crt"]  # type: ignore[attr-defined]
    assert "restart-required" not in codes(s["python"])  # Python reloads per context


def test_restart_required_for_a_real_process(tmp_path: Path) -> None:
    """--pid: a (Go) process chrooted into a test root, whose bundle changes after it started."""
    probe = go_probe()
    if probe is None or os.geteuid() != 0:
        pytest.skip("needs Go and root")
    r = Root(tmp_path / "root")
    debian(r, [A])
    probe.install(r)
    proc = subprocess.Popen(
        [CHROOT, str(r.path), "/probe", "sleep", "30"],
        env={"SSL_CERT_FILE": "/etc/ssl/certs/ca-certificates.crt"},
    )
    try:
        time.sleep(0.3)
        with build_context(pid=proc.pid) as ctx:
            assert ctx.env == {"SSL_CERT_FILE": "/etc/ssl/certs/ca-certificates.crt"}
            before = {x.client: x for x in inspect_stores(ctx)}
        assert list(before) == ["go"]  # a static binary of unknown kind: the Go model
        assert has(before["go"], A) and "restart-required" not in codes(before["go"])
        r.file("/etc/ssl/certs/ca-certificates.crt", bundle([A, B]))  # the store changes
        future = time.time() + 5
        os.utime(r.p("/etc/ssl/certs/ca-certificates.crt"), (future, future))
        with build_context(pid=proc.pid) as ctx:
            after = inspect_stores(ctx, ["go"])[0]
        assert has(after, B)
        assert "restart-required" in codes(after)
    finally:
        proc.kill()
        proc.wait()


def test_pid_client_selection(tmp_path: Path) -> None:
    from trustdoctor.stores import clients_present

    r = Root(tmp_path / "root")
    debian(r, [A])
    r.file("/usr/lib/python3/dist-packages/requests/__init__.py", "")
    with build_context(root=r.path, env={}) as ctx:
        assert clients_present(ctx) == ("go", "requests")
        for exe, expected in (
            ("/usr/bin/node", ("node",)),
            ("/opt/java/openjdk/bin/java", ("java",)),
            ("/usr/bin/python3.11", ("python", "requests")),
            ("/usr/bin/dockerd", ("docker",)),
            ("/app/server", ("go", "requests")),  # unknown: whatever the root has
        ):
            assert clients_present(replace(ctx, process_exe=exe)) == expected, exe
