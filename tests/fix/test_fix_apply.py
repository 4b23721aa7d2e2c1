"""``fix --apply`` against temporary roots of every layout, re-checked with the trust-store models.

Each test: the models say the CA is missing; ``fix --apply`` writes the files
(atomically, backups kept); the models are run again on the root and must say
the CA is trusted (or, where the family's tool cannot run here, that a rebuild
would add it — then the tool's effect on the bundle is simulated and the
models must say trusted).  A second run must change nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from helpers.fix import (
    ANCHOR_DIRS,
    BUNDLES,
    KEYTOOL,
    UPDATE_CA,
    can_unshare,
    check,
    guarded_host,
    make_ca,
    make_root,
    ns_debian_root,
    run_cli,
    run_in_ns,
    simulate_refresh,
    tree,
)
from trustdoctor.lab import pki
from trustdoctor.stores.apply import fingerprints

REG = "reg.example:5000"


@pytest.fixture(autouse=True)
def _host_untouched() -> object:
    with guarded_host():
        yield


def _apply(root: Path, ca: Path, *extra: str) -> tuple[int, dict[str, object], str]:
    r = run_cli(
        [
            "fix",
            "--ca",
            str(ca),
            "--root",
            str(root),
            "--apply",
            "--yes",
            "--format",
            "json",
            *extra,
        ]
    )
    assert r.out, r.err
    return r.code, json.loads(r.out), r.err


def _statuses(doc: dict[str, object]) -> list[str]:
    applied = doc["applied"]
    assert isinstance(applied, dict)
    return [o["status"] for o in applied["outcomes"]]  # type: ignore[index]


# -- each distribution family ---------------------------------------------------------------------


@pytest.mark.parametrize("family", ["debian", "rhel", "alpine", "suse", "arch"])
def test_family_layout_then_rebuild(tmp_path: Path, family: str) -> None:
    """The anchor lands where the family's tool reads it; after the rebuild the models trust it."""
    ca = make_ca(tmp_path)
    root = make_root(tmp_path, family)
    assert check(root, ca.info, ["go"])["go"].reason == "not-present"
    code, doc, err = _apply(root, ca.path, "--client", "go")
    # The update tool is not installed in these roots: files are written, the
    # rebuild is left to the user, so the cause is not gone yet (exit 1).
    assert code == 1, err
    dest = root / ANCHOR_DIRS[family].lstrip("/") / "example-internal-root-ca.crt"
    assert dest.read_bytes().count(b"BEGIN CERTIFICATE") == 1
    assert fingerprints(dest.read_bytes()) == [ca.info.sha256]
    assert "changed" in _statuses(doc) and "manual" in _statuses(doc)
    applied = doc["applied"]
    assert isinstance(applied, dict)
    assert any("update-ca" in " ".join(s["params"].get("argv", [])) for s in applied["remaining"])
    # The models agree: the file is taken by the tool, the bundle lacks it.
    after = check(root, ca.info, ["go"])["go"]
    assert after.reason == "stale-bundle" and after.source == "/" + str(dest.relative_to(root))
    simulate_refresh(root, family)
    assert check(root, ca.info, ["go"])["go"].trusted
    # Idempotent: a second run changes no file.
    before = tree(root)
    code2, doc2, _ = _apply(root, ca.path, "--client", "go")
    assert code2 == 0
    assert "changed" not in _statuses(doc2)
    assert tree(root) == before


def test_distroless_bundle_rewritten_with_backup(tmp_path: Path) -> None:
    ca = make_ca(tmp_path)
    root = make_root(tmp_path, "distroless")
    bundle = root / BUNDLES["distroless"].lstrip("/")
    original = bundle.read_bytes()
    assert not check(root, ca.info, ["go", "openssl"])["go"].trusted
    code, doc, err = _apply(root, ca.path, "--client", "go,openssl")
    assert code == 0, err
    new = bundle.read_bytes()
    assert new.startswith(original) and fingerprints(new)[-1] == ca.info.sha256
    backup = bundle.parent / "ca-certificates.crt.trustdoctor-bak"
    assert backup.read_bytes() == original
    res = check(root, ca.info, ["go", "openssl"])
    assert res["go"].trusted and res["openssl"].trusted
    applied = doc["applied"]
    assert isinstance(applied, dict) and applied["fixed"] is True
    assert [c["trusted"] for c in applied["before"]] == [False, False]
    assert [c["trusted"] for c in applied["after"]] == [True, True]
    # second run: unchanged, no second backup
    before = tree(root)
    code2, doc2, _ = _apply(root, ca.path, "--client", "go,openssl")
    assert code2 == 0 and "changed" not in _statuses(doc2)
    assert tree(root) == before
    assert not list(bundle.parent.glob("*.trustdoctor-bak-*"))


def test_scratch_gets_a_bundle(tmp_path: Path) -> None:
    ca = make_ca(tmp_path)
    root = make_root(tmp_path, "scratch")
    assert check(root, ca.info, ["go"])["go"].reason == "no-trust-store"
    code, _, err = _apply(root, ca.path, "--client", "go")
    assert code == 0, err
    bundle = root / "etc/ssl/certs/ca-certificates.crt"
    fps = fingerprints(bundle.read_bytes())
    assert ca.info.sha256 in fps and len(fps) > 100  # Mozilla's roots (certifi) + the CA
    assert check(root, ca.info, ["go"])["go"].trusted


def test_second_backup_is_timestamped(tmp_path: Path) -> None:
    ca1, ca2 = make_ca(tmp_path, "First Root"), make_ca(tmp_path, "Second Root")
    root = make_root(tmp_path, "distroless")
    bundle = root / BUNDLES["distroless"].lstrip("/")
    original = bundle.read_bytes()
    assert _apply(root, ca1.path, "--client", "go")[0] == 0
    after_first = bundle.read_bytes()
    assert _apply(root, ca2.path, "--client", "go")[0] == 0
    baks = sorted(p.name for p in bundle.parent.glob("ca-certificates.crt.trustdoctor-bak*"))
    assert len(baks) == 2
    contents = {(bundle.parent / b).read_bytes() for b in baks}
    assert contents == {original, after_first}  # nothing lost


def test_existing_anchor_with_same_name_is_never_overwritten(tmp_path: Path) -> None:
    ca = make_ca(tmp_path)
    other = pki.make_cert("Example Internal Root CA")  # same name, another key
    root = make_root(tmp_path, "debian")
    taken = root / "usr/local/share/ca-certificates/example-internal-root-ca.crt"
    taken.write_bytes(other.pem)
    _apply(root, ca.path, "--client", "go")
    assert taken.read_bytes() == other.pem  # the other anchor is untouched
    written = (
        root / f"usr/local/share/ca-certificates/example-internal-root-ca-{ca.info.sha256[:12]}.crt"
    )
    assert fingerprints(written.read_bytes()) == [ca.info.sha256]


# -- the real update-ca-certificates, in a private mount namespace ---------------------------------


needs_ns = pytest.mark.skipif(
    not (can_unshare() and UPDATE_CA.exists()),
    reason="needs root, unshare -m and Debian's update-ca-certificates",
)


@needs_ns
@pytest.mark.slow
def test_debian_real_tool_in_chroot(tmp_path: Path) -> None:
    """update-ca-certificates runs via chroot; go and openssl (hash link) then trust the CA."""
    ca = make_ca(tmp_path)
    root = ns_debian_root(tmp_path)
    args = [
        "python3",
        "-m",
        "trustdoctor",
        "fix",
        "--ca",
        str(ca.path),
        "--root",
        str(root),
        "--client",
        "go,openssl",
        "--apply",
        "--yes",
        "--format",
        "json",
    ]
    r = run_in_ns(root, args)
    assert r.returncode == 0, r.stderr + r.stdout
    doc = json.loads(r.stdout)
    applied = doc["applied"]
    assert applied["fixed"] is True
    assert {c["client"]: c["trusted"] for c in applied["after"]} == {"go": True, "openssl": True}
    ran = [o for o in applied["outcomes"] if o["reason"] == "refresh-debian"]
    assert ran and ran[0]["status"] == "changed" and "chroot" in ran[0]["detail"]
    # What the real tool wrote, seen from outside the namespace:
    certs = root / "etc/ssl/certs"
    assert ca.info.sha256 in fingerprints((certs / "ca-certificates.crt").read_bytes())
    links = [p for p in certs.iterdir() if p.name.endswith(".0")]
    assert links and os.readlink(links[0]) == "example-internal-root-ca.pem"
    assert (root / ".anchors/example-internal-root-ca.crt").exists()
    # Second run: nothing written, the tool not run again.
    r2 = run_in_ns(root, args)
    assert r2.returncode == 0, r2.stderr
    doc2 = json.loads(r2.stdout)
    assert "changed" not in [o["status"] for o in doc2["applied"]["outcomes"]]


@needs_ns
@pytest.mark.slow
def test_stale_bundle_rebuilt_by_real_tool(tmp_path: Path) -> None:
    """Seed guide cause 5: the file is there, the rebuild was skipped: --cause stale-bundle."""
    ca = make_ca(tmp_path)
    root = ns_debian_root(tmp_path)
    (root / ".anchors").mkdir()
    (root / ".anchors/internal-root.crt").write_bytes(ca.pem)
    args = [
        "python3",
        "-m",
        "trustdoctor",
        "fix",
        "--cause",
        "stale-bundle",
        "--root",
        str(root),
        "--client",
        "go",
        "--apply",
        "--yes",
        "--format",
        "json",
    ]
    r = run_in_ns(root, args)
    assert r.returncode == 0, r.stderr + r.stdout
    doc = json.loads(r.stdout)
    assert doc["applied"]["fixed"] is True
    assert ca.info.sha256 in fingerprints((root / "etc/ssl/certs/ca-certificates.crt").read_bytes())


# -- container engines -----------------------------------------------------------------------------


def _engine_root(tmp_path: Path, binary: str) -> Path:
    root = make_root(tmp_path, "debian")
    b = root / binary.lstrip("/")
    b.parent.mkdir(parents=True, exist_ok=True)
    b.write_bytes(b"")
    b.chmod(0o755)
    return root


@pytest.mark.parametrize("registry,dirname", [(REG, REG), ("reg.example", "reg.example")])
def test_docker_certs_d(tmp_path: Path, registry: str, dirname: str) -> None:
    ca = make_ca(tmp_path)
    root = _engine_root(tmp_path, "/usr/bin/dockerd")
    assert not check(root, ca.info, ["docker"], registry=registry)["docker"].trusted
    code, doc, err = _apply(root, ca.path, "--client", "docker", "--registry", registry)
    assert code == 0, err
    assert (root / f"etc/docker/certs.d/{dirname}/ca.crt").exists()
    assert not (root / "etc/docker/certs.d/reg.example:443").exists()
    assert check(root, ca.info, ["docker"], registry=registry)["docker"].trusted
    assert "restart" not in json.dumps(doc["plan"]["steps"])  # certs.d needs no restart


@pytest.mark.parametrize("version", [2, 3])
def test_containerd_hosts_toml_and_config_path(tmp_path: Path, version: int) -> None:
    import tomllib

    ca = make_ca(tmp_path)
    root = _engine_root(tmp_path, "/usr/bin/containerd")
    cfg = root / "etc/containerd/config.toml"
    cfg.parent.mkdir(parents=True)
    plugin = "io.containerd.cri.v1.images" if version == 3 else "io.containerd.grpc.v1.cri"
    original = f'version = {version}\n\n[plugins."{plugin}"]\n  # keep this comment\n'
    cfg.write_text(original)
    assert not check(root, ca.info, ["containerd"], registry=REG)["containerd"].trusted
    code, doc, err = _apply(root, ca.path, "--client", "containerd", "--registry", REG)
    assert code == 0, err
    hosts = root / f"etc/containerd/certs.d/{REG}/hosts.toml"
    parsed = tomllib.loads(hosts.read_text())
    assert parsed["host"][f"https://{REG}"]["ca"] == "example-internal-root-ca.crt"
    assert "skip_verify" not in hosts.read_text()
    new_cfg = tomllib.loads(cfg.read_text())
    assert new_cfg["plugins"][plugin]["registry"]["config_path"] == "/etc/containerd/certs.d"
    assert "# keep this comment" in cfg.read_text()
    assert (cfg.parent / "config.toml.trustdoctor-bak").read_text() == original
    assert check(root, ca.info, ["containerd"], registry=REG)["containerd"].trusted
    applied = doc["applied"]
    assert isinstance(applied, dict)
    # the restart is left to the user, and only because config.toml changed
    assert any(s["action"] == "restart-service" for s in applied["remaining"])
    # second run: nothing changes, and no restart is asked for
    code2, doc2, _ = _apply(root, ca.path, "--client", "containerd", "--registry", REG)
    assert code2 == 0 and "changed" not in _statuses(doc2)
    applied2 = doc2["applied"]
    assert isinstance(applied2, dict)
    assert not any(s["action"] == "restart-service" for s in applied2["remaining"])


def test_containerd_existing_registry_table(tmp_path: Path) -> None:
    import tomllib

    ca = make_ca(tmp_path)
    root = _engine_root(tmp_path, "/usr/bin/containerd")
    cfg = root / "etc/containerd/config.toml"
    cfg.parent.mkdir(parents=True)
    cfg.write_text(
        'version = 2\n[plugins."io.containerd.grpc.v1.cri".registry]\n# empty\n[metrics]\n'
        'address = "127.0.0.1:1338"\n'
    )
    code, _, err = _apply(root, ca.path, "--client", "containerd", "--registry", REG)
    assert code == 0, err
    parsed = tomllib.loads(cfg.read_text())
    assert (
        parsed["plugins"]["io.containerd.grpc.v1.cri"]["registry"]["config_path"]
        == "/etc/containerd/certs.d"
    )
    assert parsed["metrics"]["address"] == "127.0.0.1:1338"


def test_containerd_legacy_is_left_to_the_user(tmp_path: Path) -> None:
    ca = make_ca(tmp_path)
    root = _engine_root(tmp_path, "/usr/bin/containerd")
    cfg = root / "etc/containerd/config.toml"
    cfg.parent.mkdir(parents=True)
    legacy = (
        'version = 2\n[plugins."io.containerd.grpc.v1.cri".registry.mirrors."docker.io"]\n'
        'endpoint = ["https://mirror.example"]\n'
    )
    cfg.write_text(legacy)
    code, doc, _ = _apply(root, ca.path, "--client", "containerd", "--registry", REG)
    assert code == 1
    assert cfg.read_text() == legacy  # never edited automatically
    assert "manual" in _statuses(doc)


def test_hosts_toml_of_someone_else_is_not_replaced(tmp_path: Path) -> None:
    ca = make_ca(tmp_path)
    root = _engine_root(tmp_path, "/usr/bin/containerd")
    d = root / f"etc/containerd/certs.d/{REG}"
    d.mkdir(parents=True)
    mine = f'server = "https://{REG}"\n[host."https://mirror.example"]\ncapabilities = ["pull"]\n'
    (d / "hosts.toml").write_text(mine)
    code, doc, _ = _apply(root, ca.path, "--client", "containerd", "--registry", REG)
    assert (d / "hosts.toml").read_text() == mine
    assert code == 1 and "manual" in _statuses(doc)


@pytest.mark.parametrize(
    "client,binary", [("crio", "/usr/bin/crio"), ("podman", "/usr/bin/podman")]
)
def test_containers_certs_d(tmp_path: Path, client: str, binary: str) -> None:
    ca = make_ca(tmp_path)
    root = _engine_root(tmp_path, binary)
    code, _, err = _apply(
        root, ca.path, "--client", client, "--registry", REG, "--env", "HOME=/root"
    )
    assert code == 0, err
    assert (root / f"etc/containers/certs.d/{REG}/ca.crt").exists()
    assert check(root, ca.info, [client], registry=REG, env={"HOME": "/root"})[client].trusted


def test_docker_misnamed_dir_copied_not_moved(tmp_path: Path) -> None:
    """The seed guide's `<host>:443` directory: the exact name is added, the old one kept."""
    ca = make_ca(tmp_path)
    root = _engine_root(tmp_path, "/usr/bin/dockerd")
    wrong = root / "etc/docker/certs.d/reg.example:443"
    wrong.mkdir(parents=True)
    (wrong / "ca.crt").write_bytes(ca.pem)
    assert not check(root, ca.info, ["docker"], registry="reg.example")["docker"].trusted
    code, _, err = _apply(root, ca.path, "--client", "docker", "--registry", "reg.example")
    assert code == 0, err
    assert (wrong / "ca.crt").read_bytes() == ca.pem
    assert check(root, ca.info, ["docker"], registry="reg.example")["docker"].trusted


# -- Java ------------------------------------------------------------------------------------------


def _jdk_root(
    tmp_path: Path, version: str, *, pkcs12: bool, password: str = "changeit"
) -> tuple[Path, Path]:
    import subprocess

    root = make_root(tmp_path, "debian")
    home = root / "opt/java/openjdk"
    sec = home / "lib/security"
    sec.mkdir(parents=True)
    (home / "release").write_text(f'JAVA_VERSION="{version}"\n')
    pub = tmp_path / "pub.pem"
    pub.write_bytes(pki.make_cert("Public Java Root").pem)
    ks = sec / "cacerts"
    argv = [
        str(KEYTOOL),
        "-importcert",
        "-noprompt",
        "-trustcacerts",
        "-alias",
        "pub",
        "-file",
        str(pub),
        "-keystore",
        str(ks),
        "-storepass",
        password,
    ]
    if pkcs12:
        argv[1:1] = [
            "-J-Dkeystore.pkcs12.certProtectionAlgorithm=NONE",
            "-J-Dkeystore.pkcs12.macAlgorithm=NONE",
        ]
        argv += ["-storetype", "PKCS12"]
    else:
        argv += ["-storetype", "JKS"]
    subprocess.run(argv, check=True, capture_output=True)
    return root, ks


needs_keytool = pytest.mark.skipif(KEYTOOL is None, reason="keytool not installed")


@needs_keytool
@pytest.mark.parametrize("version,pkcs12", [("17.0.9", False), ("21.0.2", True)])
def test_java_keystore_import(tmp_path: Path, version: str, pkcs12: bool) -> None:
    from trustdoctor.stores.keystore import inspect_keystore

    ca = make_ca(tmp_path)
    root, ks = _jdk_root(tmp_path, version, pkcs12=pkcs12)
    original = ks.read_bytes()
    assert not check(root, ca.info, ["java"])["java"].trusted
    code, _doc, err = _apply(root, ca.path, "--client", "java")
    assert code == 0, err
    assert check(root, ca.info, ["java"])["java"].trusted
    assert (ks.parent / "cacerts.trustdoctor-bak").read_bytes() == original
    store = inspect_keystore(ks.read_bytes(), None)
    assert store.type == ("pkcs12" if pkcs12 else "jks")
    if pkcs12:
        # still password-less: the JVM loads it without trustStorePassword
        assert not store.integrity_checked
    else:
        assert inspect_keystore(ks.read_bytes(), b"changeit").integrity_checked
    before = tree(root)
    code2, doc2, _ = _apply(root, ca.path, "--client", "java")
    assert code2 == 0 and "changed" not in _statuses(doc2)
    assert tree(root) == before


@needs_keytool
def test_java_import_writes_nothing_through_planted_symlinks(tmp_path: Path) -> None:
    """Names next to the keystore that a temporary file could take are symlinks
    out of the root: keytool works elsewhere, the files they point to stay."""
    ca = make_ca(tmp_path)
    root, ks = _jdk_root(tmp_path, "17.0.9", pkcs12=False)
    outside = tmp_path / "outside"
    outside.mkdir()
    planted = []
    for name in ("keystore", "ca.pem"):
        victim = outside / name
        victim.write_text("do not touch\n")
        planted.append(victim)
    # The predictable names a copy took next to cacerts (this process runs the fix).
    pid = os.getpid()
    (ks.parent / f".cacerts.trustdoctor-tmp-{pid}").symlink_to(planted[0])
    (ks.parent / f".cacerts.ca.trustdoctor-tmp-{pid}").symlink_to(planted[1])
    code, _doc, err = _apply(root, ca.path, "--client", "java")
    assert code == 0, err
    assert check(root, ca.info, ["java"])["java"].trusted
    assert all(v.read_text() == "do not touch\n" for v in planted)


@needs_keytool
def test_java_unknown_password_is_left_to_the_user(tmp_path: Path) -> None:
    ca = make_ca(tmp_path)
    root, ks = _jdk_root(tmp_path, "17.0.9", pkcs12=False, password="s3cret-pw")
    original = ks.read_bytes()
    code, doc, _ = _apply(root, ca.path, "--client", "java")
    assert code == 1
    assert ks.read_bytes() == original
    assert "manual" in _statuses(doc)


# -- other causes ----------------------------------------------------------------------------------


def test_anchor_with_wrong_suffix_gets_a_proper_copy(tmp_path: Path) -> None:
    ca = make_ca(tmp_path)
    root = make_root(tmp_path, "debian")
    ignored = root / "usr/local/share/ca-certificates/internal-root.pem"
    ignored.write_bytes(ca.pem)
    assert check(root, ca.info, ["go"])["go"].reason == "anchor-file-ignored"
    code, _, err = _apply(root, ca.path, "--client", "go")
    assert code == 1, err  # the rebuild is still to run (no tool in this root)
    assert ignored.read_bytes() == ca.pem  # kept
    good = root / "usr/local/share/ca-certificates/internal-root.crt"
    assert fingerprints(good.read_bytes()) == [ca.info.sha256]
    assert check(root, ca.info, ["go"])["go"].reason == "stale-bundle"


def test_der_anchor_converted(tmp_path: Path) -> None:
    ca = make_ca(tmp_path)
    root = make_root(tmp_path, "debian")
    der = root / "usr/local/share/ca-certificates/corp.crt"
    der.write_bytes(ca.issued.der)
    assert check(root, ca.info, ["go"])["go"].reason == "anchor-file-ignored"
    _apply(root, ca.path, "--client", "go")
    assert der.read_bytes() == ca.issued.der
    new = [p for p in der.parent.iterdir() if p != der]
    assert len(new) == 1 and new[0].read_bytes().startswith(b"-----BEGIN CERTIFICATE-----")
    assert check(root, ca.info, ["go"])["go"].reason == "stale-bundle"


def test_env_override_systemd_dropin(tmp_path: Path) -> None:
    """SSL_CERT_FILE set in a unit hides the root: a drop-in UnsetEnvironment= is written."""
    ca = make_ca(tmp_path)
    root = make_root(tmp_path, "debian", bundle=pki.make_cert("Pub").pem + ca.pem)
    legacy = root / "opt/legacy/ca.pem"
    legacy.parent.mkdir(parents=True)
    legacy.write_bytes(pki.make_cert("Legacy Root").pem)
    unit = root / "etc/systemd/system/myapp.service"
    unit.parent.mkdir(parents=True)
    unit.write_text(
        "[Service]\nEnvironment=SSL_CERT_FILE=/opt/legacy/ca.pem\nExecStart=/usr/bin/myapp\n"
    )
    env = ["--env", "SSL_CERT_FILE=/opt/legacy/ca.pem"]
    res = check(root, ca.info, ["python"], env={"SSL_CERT_FILE": "/opt/legacy/ca.pem"})
    assert res["python"].reason == "env-override"
    code, doc, err = _apply(root, ca.path, "--client", "python", *env)
    assert code == 1, err  # the environment of another process is not changed by trustdoctor
    dropin = root / "etc/systemd/system/myapp.service.d/50-trustdoctor-ssl-cert-file.conf"
    assert "UnsetEnvironment=SSL_CERT_FILE" in dropin.read_text()
    applied = doc["applied"]
    assert isinstance(applied, dict)
    env_after = {c["client"]: c["trusted"] for c in applied["after_with_env_changes"]}
    assert env_after == {"python": True}
    assert "myapp.service:2" in json.dumps(doc["plan"])


def test_text_report_before_after(tmp_path: Path) -> None:
    ca = make_ca(tmp_path)
    root = make_root(tmp_path, "distroless")
    r = run_cli(
        ["fix", "--ca", str(ca.path), "--root", str(root), "--client", "go", "--apply", "--yes"]
    )
    assert r.code == 0, r.err
    assert "before: not-present" in r.out and "after: trusted" in r.out
    assert "the cause is gone" in r.out
    assert "ca-certificates.crt.trustdoctor-bak" in r.out
    r2 = run_cli(
        ["fix", "--ca", str(ca.path), "--root", str(root), "--client", "go", "--apply", "--yes"]
    )
    assert "nothing changed" in r2.out and r2.code == 0


def test_plan_only_changes_nothing(tmp_path: Path) -> None:
    ca = make_ca(tmp_path)
    root = make_root(tmp_path, "debian")
    before = tree(root)
    r = run_cli(
        [
            "fix",
            "--ca",
            str(ca.path),
            "--root",
            str(root),
            "--client",
            "go,java,docker",
            "--registry",
            REG,
        ]
    )
    assert r.code == 1
    assert tree(root) == before
    assert f"install -m 0644 -D {ca.path} {root}/usr/local/share/ca-certificates/" in r.out
    assert f"chroot {root} update-ca-certificates" in r.out


def test_hash_of_written_anchor_is_the_ca(tmp_path: Path) -> None:
    ca = make_ca(tmp_path)
    root = make_root(tmp_path, "rhel")
    _apply(root, ca.path, "--client", "go")
    data = (root / "etc/pki/ca-trust/source/anchors/example-internal-root-ca.crt").read_bytes()
    import base64

    body = b"".join(data.split(b"\n")[1:-2])
    assert hashlib.sha256(base64.b64decode(body)).hexdigest() == ca.info.sha256
