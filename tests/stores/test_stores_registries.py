"""dockerd, containerd and CRI-O/Podman per-registry stores."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path

from helpers.stores import Root, ca, codes, debian, has, stores
from trustdoctor.model.stores import SourceStatus
from trustdoctor.stores import build_context, inspect_stores

A, B, C = (ca(f"Registry Test Root {x}") for x in "ABC")
REG = "registry.internal.example"


def _root(tmp_path: Path) -> Root:
    r = Root(tmp_path / "root")
    debian(r, [A])
    return r


def _daemon_errors(s: object) -> list[dict[str, object]]:
    """The params of the error-severity daemon-store findings (reason code + values)."""
    return [
        dict(f.params)
        for f in s.findings  # type: ignore[attr-defined]
        if f.code.value == "daemon-store" and f.severity.value == "error"
    ]


# -- dockerd ------------------------------------------------------------------------------


def test_docker_certs_d_exact_name(tmp_path: Path) -> None:
    r = _root(tmp_path)
    r.file(f"/etc/docker/certs.d/{REG}/ca.crt", B.pem)
    s = stores(r, ["docker"], registry=REG)["docker"]
    assert has(s, A) and has(s, B)  # system roots plus the per-registry CA
    src = next(x for x in s.sources if x.path == f"/etc/docker/certs.d/{REG}/ca.crt")
    assert src.status == SourceStatus.USED
    # Another registry: the directory is not used.
    s2 = stores(r, ["docker"], registry="other.example")["docker"]
    assert not has(s2, B)


def test_docker_port_443_directory_cannot_match(tmp_path: Path) -> None:
    r = _root(tmp_path)
    r.file(f"/etc/docker/certs.d/{REG}:443/ca.crt", B.pem)
    s = stores(r, ["docker"], registry=REG)["docker"]
    assert not has(s, B)
    errors = _daemon_errors(s)
    assert errors and errors[0]["reason"] == "name-cannot-match"
    assert errors[0]["misses"] == [f"{REG}:443"]
    assert errors[0]["expected"] == f"/etc/docker/certs.d/{REG}"
    warn = next(
        f for f in s.findings if f.code.value == "daemon-store" and f.severity.value == "warning"
    )
    assert warn.params["reason"] == "port-443-in-name"
    assert warn.params["expected"] == f"/etc/docker/certs.d/{REG}"
    # With the port spelled in the reference, it is the right directory.
    assert has(stores(r, ["docker"], registry=f"{REG}:443")["docker"], B)


def test_docker_client_pairs_and_wrong_extensions(tmp_path: Path) -> None:
    r = _root(tmp_path)
    d = f"/etc/docker/certs.d/{REG}:5000"
    r.file(f"{d}/ca.pem", B.pem)  # not *.crt: not a CA for dockerd
    r.file(f"{d}/client.cert", C.pem)  # no client.key
    s = stores(r, ["docker"], registry=f"{REG}:5000")["docker"]
    assert not has(s, B)
    pair = next(e for e in _daemon_errors(s) if e["reason"] == "client-cert-without-key")
    assert (pair["key"], pair["cert"]) == ("client.key", "client.cert")
    # dockerd's own message, quoted (moby registry.go ReadCertsDirectory).
    assert str(pair["client_error"]).startswith(
        "missing key client.key for client certificate client.cert"
    )
    ign = next(f for f in s.findings if f.code.value == "anchor-file-ignored")
    assert ign.params["path"] == f"{d}/ca.pem"
    assert ign.params["reason"] == "not-crt-suffix"


def test_docker_rootless_directory(tmp_path: Path) -> None:
    r = _root(tmp_path)
    r.file(f"/home/u/.config/docker/certs.d/{REG}/ca.crt", B.pem)
    r.file(f"/etc/docker/certs.d/{REG}/ca.crt", C.pem)
    env = {"ROOTLESSKIT_STATE_DIR": "/run/user/1000/dockerd-rootless", "HOME": "/home/u"}
    s = stores(r, ["docker"], env, registry=REG)["docker"]
    assert has(s, B) and not has(s, C)
    s2 = stores(r, ["docker"], {"HOME": "/home/u"}, registry=REG)["docker"]  # rootful
    assert has(s2, C) and not has(s2, B)


# -- containerd ------------------------------------------------------------------------------

V3 = """version = 3
[plugins."io.containerd.cri.v1.images".registry]
  config_path = "{path}"
"""
V2 = """version = 2
[plugins."io.containerd.grpc.v1.cri".registry]
  config_path = "{path}"
"""


def test_containerd_hosts_toml_v2_and_v3(tmp_path: Path) -> None:
    for cfg in (V2, V3):
        r = _root(tmp_path / cfg[:11].replace(" ", ""))
        r.file("/etc/containerd/config.toml", cfg.format(path="/etc/containerd/certs.d"))
        r.file(
            f"/etc/containerd/certs.d/{REG}/hosts.toml",
            f'server = "https://{REG}"\n[host."https://{REG}"]\n  ca = "ca.pem"\n'
            '[host."https://mirror.example"]\n  ca = "/etc/mirror-ca.pem"\n',
        )
        r.file(f"/etc/containerd/certs.d/{REG}/ca.pem", B.pem)
        r.file("/etc/mirror-ca.pem", C.pem)
        s = stores(r, ["containerd"], registry=REG)["containerd"]
        assert has(s, A) and has(s, B) and not has(s, C), cfg
        assert any(
            x.status == SourceStatus.IGNORED and x.path == "/etc/mirror-ca.pem" for x in s.sources
        )


def test_containerd_wrong_version_section(tmp_path: Path) -> None:
    r = _root(tmp_path)
    r.file(
        "/etc/containerd/config.toml", V2.replace("version = 2", "version = 3").format(path="/x")
    )
    s = stores(r, ["containerd"], registry=REG)["containerd"]
    f = next(f for f in s.findings if f.params.get("reason") == "registry-settings-ignored")
    assert f.params["version"] == "3"
    assert f.params["section"] == "plugins.io.containerd.grpc.v1.cri.registry"
    assert f.params["expected_section"] == "plugins.io.containerd.cri.v1.images.registry"


def test_containerd_lookup_order_and_default_shadowing(tmp_path: Path) -> None:
    r = _root(tmp_path)
    r.file(
        "/etc/containerd/config.toml", V3.format(path="/etc/containerd/certs.d:/etc/docker/certs.d")
    )
    r.file(f"/etc/containerd/certs.d/{REG}_5000_/ca.crt", B.pem)  # tried first
    r.file(f"/etc/containerd/certs.d/{REG}:5000/ca.crt", C.pem)
    s = stores(r, ["containerd"], registry=f"{REG}:5000")["containerd"]
    assert has(s, B) and not has(s, C)
    r2 = _root(tmp_path / "shadow")
    r2.file(
        "/etc/containerd/config.toml", V3.format(path="/etc/containerd/certs.d:/etc/docker/certs.d")
    )
    r2.file("/etc/containerd/certs.d/_default/hosts.toml", 'server = "https://example.invalid"\n')
    r2.file(f"/etc/docker/certs.d/{REG}/ca.crt", B.pem)
    s2 = stores(r2, ["containerd"], registry=REG)["containerd"]
    assert not has(s2, B)
    shadow = next(e for e in _daemon_errors(s2) if e["reason"] == "default-shadows")
    assert shadow["path"] == "/etc/containerd/certs.d/_default"
    assert shadow["shadowed"] == f"/etc/docker/certs.d/{REG}"


def test_containerd_missing_ca_file(tmp_path: Path) -> None:
    r = _root(tmp_path)
    r.file("/etc/containerd/config.toml", V3.format(path="/etc/containerd/certs.d"))
    r.file(f"/etc/containerd/certs.d/{REG}/hosts.toml", 'ca = "missing.pem"\n')
    s = stores(r, ["containerd"], registry=REG)["containerd"]
    missing = next(e for e in _daemon_errors(s) if e["reason"] == "hosts-ca-unreadable")
    assert missing["path"] == f"/etc/containerd/certs.d/{REG}/missing.pem"
    assert missing["error"] == "no such file or directory"


def test_containerd_config_path_unset(tmp_path: Path) -> None:
    r = _root(tmp_path)
    r.file(f"/etc/containerd/certs.d/{REG}/ca.crt", B.pem)
    r.file("/etc/containerd/config.toml", "version = 2\n")
    s = stores(r, ["containerd"], registry=REG)["containerd"]
    assert not has(s, B)
    caveat = next(f for f in s.findings if f.code.value == "daemon-store")
    assert caveat.params["reason"] == "config-path-unset-version-unknown"
    assert caveat.severity.value == "warning"
    # The package database says 1.7: certs.d is ignored for sure (an error).
    r.file(
        "/var/lib/dpkg/status",
        "Package: containerd.io\nStatus: install ok installed\nVersion: 1.7.24-1\n\n",
    )
    s2 = stores(r, ["containerd"], registry=REG)["containerd"]
    unset = next(e for e in _daemon_errors(s2) if e["reason"] == "config-path-unset")
    assert not has(s2, B) and unset["version"] == "1.7.24"
    assert unset["path"] == f"/etc/containerd/certs.d/{REG}"
    # 2.2 defaults config_path to /etc/containerd/certs.d:/etc/docker/certs.d.
    r.file(
        "/var/lib/dpkg/status",
        "Package: containerd\nStatus: install ok installed\nVersion: 2.2.0-1\n\n",
    )
    s3 = stores(r, ["containerd"], registry=REG)["containerd"]
    assert has(s3, B)
    # A real status file: many stanzas, a removed containerd.io (its config
    # kept) before the installed containerd, the last stanza unterminated.
    others = "".join(
        f"Package: lib{k}\nStatus: install ok installed\nVersion: 1.{k}.0\n\n" for k in range(50)
    )
    r.file(
        "/var/lib/dpkg/status",
        "Package: containerd.io\nStatus: deinstall ok config-files\nVersion: 2.2.0-1\n\n"
        + others
        + "Package: containerd\nStatus: install ok installed\nVersion: 1.7.24~ds1-1\n\n"
        + others
        + "Package: containerd-shim\nStatus: install ok installed\nVersion: 2.2.0-1",
    )
    s4 = stores(r, ["containerd"], registry=REG)["containerd"]
    unset = next(e for e in _daemon_errors(s4) if e["reason"] == "config-path-unset")
    assert unset["version"] == "1.7.24" and not has(s4, B)
    r.file(
        "/var/lib/dpkg/status",
        others + "Package: containerd\nStatus: install ok installed\nVersion: 1:2.2.1-1",
    )
    assert has(stores(r, ["containerd"], registry=REG)["containerd"], B)


def test_containerd_invalid_toml(tmp_path: Path) -> None:
    r = _root(tmp_path)
    r.file("/etc/containerd/config.toml", "version = [\n")
    s = stores(r, ["containerd"], registry=REG)["containerd"]
    bad = next(f for f in s.findings if f.code.value == "unreadable-file")
    assert bad.params["reason"] == "invalid-toml"
    assert bad.params["effect"] == "containerd-refuses-start"
    assert bad.params["error"]  # tomllib's message


def test_containerd_facts_read_only_for_a_containerd_plan(tmp_path: Path) -> None:
    """The fix planners' containerd facts (config version, config_path, package
    version) are read when containerd may be planned for: every client (no
    --client) or containerd named; a plan for other clients skips them."""
    from trustdoctor.stores.fixfacts import fix_context

    r = _root(tmp_path)
    table = '[plugins."io.containerd.grpc.v1.cri".registry]'
    config = f'version = 2\n{table}\nconfig_path = "/etc/containerd/certs.d"\n'
    r.file("/etc/containerd/config.toml", config)
    with build_context(r.path, env={}, registry=REG) as ctx:
        for clients in ((), ("containerd",), ("go", "containerd")):
            info = fix_context(ctx, clients=clients).containerd
            assert info is not None and info.exists and info.version == 2
            assert info.config_path == "/etc/containerd/certs.d"
        assert fix_context(ctx, clients=("go", "java")).containerd is None
        # No --client: the stores judged decide (a scan of the host's clients
        # found no containerd: its facts are not read).
        judged = stores(r, ["go", "java"], registry=REG)
        assert fix_context(ctx, list(judged.values())).containerd is None
        judged = stores(r, ["go", "containerd"], registry=REG)
        info = fix_context(ctx, list(judged.values())).containerd
        assert info is not None and info.config_path == "/etc/containerd/certs.d"


# -- CRI-O / Podman --------------------------------------------------------------------------------


def test_containers_first_existing_directory_wins(tmp_path: Path) -> None:
    r = _root(tmp_path)
    r.file(f"/etc/containers/certs.d/{REG}/ca.crt", B.pem)
    r.file(f"/etc/docker/certs.d/{REG}/ca.crt", C.pem)
    s = stores(r, ["crio", "podman"], {"HOME": "/root"}, registry=REG)
    for client in ("crio", "podman"):
        assert has(s[client], B) and not has(s[client], C)
        st = {x.path: x.status for x in s[client].sources}
        assert st[f"/etc/docker/certs.d/{REG}"] == SourceStatus.SHADOWED
    r.file(f"/root/.config/containers/certs.d/{REG}/ca.crt", C.pem)
    assert has(stores(r, ["podman"], {"HOME": "/root"}, registry=REG)["podman"], C)


def test_containers_port_mismatch(tmp_path: Path) -> None:
    r = _root(tmp_path)
    r.file(f"/etc/containers/certs.d/{REG}:5000/ca.crt", B.pem)
    s = stores(r, ["crio"], registry=REG)["crio"]
    assert not has(s, B) and _daemon_errors(s)


# -- restart-required for daemons found on the host --------------------------------------------


def test_restart_required_for_a_daemon(tmp_path: Path) -> None:
    r = _root(tmp_path)
    with build_context(root=r.path, env={}) as ctx:
        started = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
        ctx2 = replace(ctx, daemons={"dockerd": started})
        s = {x.client: x for x in inspect_stores(ctx2, ["docker", "go", "containerd"])}
    assert "restart-required" in codes(s["docker"])
    rr = next(f for f in s["docker"].findings if f.code.value == "restart-required")
    assert rr.params["service"] == "docker" and rr.params["process"] == "dockerd"
    assert "/etc/ssl/certs/ca-certificates.crt" in rr.params["files"]  # type: ignore[operator]
    assert "restart-required" not in codes(s["go"])  # no Go process known to be running
    assert "restart-required" not in codes(s["containerd"])  # no containerd running


def test_daemons_do_not_inherit_the_shell_environment(tmp_path: Path) -> None:
    """Inspecting / with the tool's environment: the user's SSL_CERT_* are not dockerd's."""
    r = _root(tmp_path)
    r.file("/opt/b.pem", B.pem)
    shell = {"SSL_CERT_FILE": "/opt/b.pem", "SSL_CERT_DIR": "/nonexistent"}
    with build_context(root=r.path, env=shell) as ctx:
        as_tool = replace(ctx, env_origin="tool")
        s = {x.client: x for x in inspect_stores(as_tool, ["go", "docker"])}
        assert has(s["go"], B) and not has(s["go"], A)  # the shell's Go program
        assert has(s["docker"], A) and not has(s["docker"], B)  # dockerd: empty environment
        assert any("assumed empty" in (x.detail or "") for x in s["docker"].sources)
        running = replace(as_tool, daemon_env={"dockerd": shell}, daemons={})
        d = inspect_stores(running, ["docker"])[0]
        assert has(d, B)  # the running daemon's own environment
