"""--image REF against a real registry (Debian's docker-registry) on loopback.

Images are built by the tests, pushed with the distribution API (Basic auth
from htpasswd, or the Bearer-token flow through a test token service), and
read back with ``trustdoctor stores --image 127.0.0.1:PORT/...``; the answer
must be the one the same image gives as an archive.  HOME, DOCKER_CONFIG, the
XDG dirs, OpenSSL's default paths and docker's certs.d are all temporary.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from helpers import SRC
from helpers.images import (
    build_image,
    build_index,
    docker_save,
    layer,
    layer_from_dir,
    write_layout_dir,
    write_layout_tar,
)
from helpers.registry import (
    NO_REGISTRY,
    REGISTRY_BIN,
    SKOPEO,
    Registry,
    isolate_env,
)
from helpers.stores import Root, alpine, busybox, ca, debian, distroless
from trustdoctor.cli.main import main
from trustdoctor.errors import InputError, RegistryTrustError, SourceError, UsageError
from trustdoctor.sources import registry as registry_mod
from trustdoctor.sources.image import extract_image
from trustdoctor.sources.imageref import parse_platform
from trustdoctor.sources.layercache import LayerCache
from trustdoctor.sources.registry import PullOptions

pytestmark = pytest.mark.skipif(REGISTRY_BIN is None, reason=NO_REGISTRY)

CORP = ca("Corp Internal Root CA")
MOZ = [ca("Public Root A"), ca("Public Root B")]
HOST_ARCH = {"x86_64": "amd64", "aarch64": "arm64"}.get(os.uname().machine, os.uname().machine)


@pytest.fixture(scope="module")
def reg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    with Registry(tmp_path_factory.mktemp("registry"), auth="htpasswd") as r:
        yield r


@pytest.fixture(scope="module")
def token_reg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    with Registry(tmp_path_factory.mktemp("token-registry"), auth="token") as r:
        yield r


@pytest.fixture(autouse=True)
def private(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Docker's certs.d under tmp; extraction temp dirs inspected and gone afterwards."""
    certs = tmp_path / "certs.d"
    certs.mkdir()
    monkeypatch.setattr(registry_mod, "DOCKER_CERTS_DIRS", (certs,))
    d = tmp_path / "tmpdir"
    d.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(d))
    yield certs
    assert list(d.iterdir()) == [], "extraction left files behind"


def login(tmp: Path, reg: Registry, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Isolated env trusting the registry's CA, with its credentials in the Docker config."""
    env = isolate_env(tmp, monkeypatch, ca_file=reg.ca_file)
    reg.docker_config(Path(env["DOCKER_CONFIG"]))
    return env


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def stores_json(capsys: pytest.CaptureFixture[str], image: str, *extra: str) -> tuple[int, dict]:
    code, out, err = cli(
        capsys, "stores", "--image", image, "--ca", str(CA_FILE), "--format", "json", *extra
    )
    assert code in (0, 1), err
    doc = json.loads(out)
    doc.pop("root")  # names the input (--image FILE or --image REF); all else must agree
    if "plan" in doc:
        # The plan names the image as given (--image FILE or --image REF), never
        # the temporary directory it was extracted to.
        assert str(doc["plan"]["root"]).startswith("--image ")
        doc["plan"]["root"] = "<the image>"
    return code, doc


CA_FILE = Path(tempfile.gettempdir()) / f"trustdoctor-corp-{os.getpid()}.pem"


@pytest.fixture(scope="module", autouse=True)
def corp_ca_file() -> Iterator[None]:
    CA_FILE.write_bytes(CORP.pem)
    yield
    CA_FILE.unlink(missing_ok=True)


def _root_layers(tmp: Path, kind: str) -> list[bytes]:
    """A base layer in a distro's layout, plus an app layer."""
    base = Root(tmp / f"{kind}-base")
    if kind == "debian":
        debian(base, MOZ, local=[("corp.crt", CORP)])
    elif kind == "alpine":
        alpine(base, [*MOZ, CORP])
    elif kind == "distroless":
        distroless(base, MOZ)
    elif kind == "empty":
        busybox(base)
    app = Root(tmp / f"{kind}-app")
    app.file("/app/server", b"\x7fELF app")
    return [layer_from_dir(base.path), layer_from_dir(app.path)]


@pytest.mark.parametrize("kind", ["debian", "alpine", "distroless", "empty"])
def test_same_answer_as_the_archive(
    kind: str,
    reg: Registry,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    login(tmp_path, reg, monkeypatch)
    layers = _root_layers(tmp_path, kind)
    env = ["PATH=/usr/bin"] + (["SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt"]
                               if kind == "alpine" else [])  # fmt: skip
    image = build_image(layers, env=env, arch=HOST_ARCH, docker_types=kind == "debian")
    reg.push(f"team/{kind}", "1.4", image)
    archive = docker_save(tmp_path / f"{kind}.tar", layers, env=env)
    layout = write_layout_dir(tmp_path / f"{kind}-oci", image)
    code_a, from_archive = stores_json(capsys, str(archive))
    code_r, from_registry = stores_json(capsys, f"{reg.host}/team/{kind}:1.4")
    code_d, from_layout = stores_json(capsys, str(layout))
    assert json.dumps(from_registry, indent=1) == json.dumps(from_archive, indent=1)
    assert from_registry == from_layout
    assert code_r == code_a == code_d
    # The checks really differ between the roots: not a vacuous equality.
    expect_trusted = kind in ("debian", "alpine")
    assert code_r == (0 if expect_trusted else 1), from_registry
    assert from_registry["distro"]["id"] == {"empty": None}.get(kind, from_archive["distro"]["id"])


def test_pull_by_digest_and_unknown_tag(
    reg: Registry,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    login(tmp_path, reg, monkeypatch)
    image = build_image(_root_layers(tmp_path, "alpine"), arch=HOST_ARCH)
    digest = reg.push("team/pinned", "v1", image)
    with extract_image(f"{reg.host}/team/pinned@{digest}") as img:
        assert img.format == "registry"
        assert img.digest == digest
        assert (img.root / "etc/ssl/certs/ca-certificates.crt").read_bytes().count(b"BEGIN") == 3
        assert img.warnings == ()
    code, _out, err = cli(capsys, "stores", "--image", f"{reg.host}/team/pinned:nope")
    assert code == 2
    assert err.count("\n") == 1 and "not found in the registry" in err and "MANIFEST_UNKNOWN" in err
    code, _out, err = cli(capsys, "stores", "--image", f"{reg.host}/team/pinned@sha256:{'0' * 64}")
    assert code == 2 and "not found" in err


def test_multi_platform_index(
    reg: Registry,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    login(tmp_path, reg, monkeypatch)
    other_arch = "s390x" if HOST_ARCH != "s390x" else "amd64"
    host_img = build_image(_root_layers(tmp_path, "debian"), arch=HOST_ARCH)
    other = Root(tmp_path / "other")
    alpine(other, MOZ)  # this platform's image lacks the corporate root
    other_img = build_image([layer_from_dir(other.path)], arch=other_arch)
    arm = build_image([layer([("file", "etc/ssl/certs/ARM.pem", CORP.pem)])], arch="arm")
    index = build_index(
        [
            (other_img, f"linux/{other_arch}"),
            (host_img, f"linux/{HOST_ARCH}"),
            (arm, "linux/arm/v7"),
        ]
    )
    reg.push("team/multi", "1", index)
    ref = f"{reg.host}/team/multi:1"
    with extract_image(ref) as img:  # default: the host's platform
        assert (img.root / "etc/os-release").read_text().count("debian")
        assert not (img.root / "etc/ssl/certs/ARM.pem").exists()
    code, _out, _ = cli(capsys, "stores", "--image", ref, "--ca", str(CA_FILE), "--format", "json")
    assert code == 0
    code, _out, _ = cli(
        capsys, "stores", "--image", ref, "--platform", f"linux/{other_arch}", "--ca", str(CA_FILE)
    )
    assert code == 1  # the other platform's image does not trust the corporate root
    with extract_image(ref, pull=PullOptions(platform=parse_platform("linux/armhf"))) as img:
        assert (img.root / "etc/ssl/certs/ARM.pem").exists()
    code, _, err = cli(capsys, "stores", "--image", ref, "--platform", "linux/riscv64")
    assert code == 2 and err.count("\n") == 1
    assert "no linux/riscv64 image in the index" in err and f"linux/{other_arch}" in err
    code, _, err = cli(capsys, "stores", "--image", ref, "--platform", "amd64")
    assert code == 2 and "OS/ARCH" in err


def test_whiteouts_across_pushed_layers(
    reg: Registry,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    login(tmp_path, reg, monkeypatch)
    l1 = layer(
        [
            ("file", "etc/os-release", "ID=alpine\nVERSION_ID=3.20.0\n"),
            ("file", "etc/ssl/certs/ca-certificates.crt", CORP.pem + MOZ[0].pem),
            ("file", "usr/local/share/ca-certificates/corp.crt", CORP.pem),
            ("file", "etc/ssl/certs/extra/old.pem", CORP.pem),
        ],
        "gzip",
    )
    l2 = layer(
        [
            ("whiteout", "usr/local/share/ca-certificates", "corp.crt"),
            ("file", "etc/ssl/certs/ca-certificates.crt", MOZ[0].pem),
            ("opaque", "etc/ssl/certs/extra"),
        ],
        "gzip",
    )
    image = build_image([l1, l2], arch=HOST_ARCH)
    reg.push("team/whiteouts", "1", image)
    archive = docker_save(tmp_path / "w.tar", [l1, l2])
    ref = f"{reg.host}/team/whiteouts:1"
    with extract_image(ref) as img:
        assert not (img.root / "usr/local/share/ca-certificates/corp.crt").exists()
        assert not (img.root / "etc/ssl/certs/extra/old.pem").exists()
        assert (img.root / "etc/ssl/certs/ca-certificates.crt").read_bytes() == MOZ[0].pem
    code_r, from_registry = stores_json(capsys, ref)
    code_a, from_archive = stores_json(capsys, str(archive))
    assert from_registry == from_archive and code_r == code_a == 1


def test_layout_directory_from_skopeo(
    reg: Registry,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """skopeo (the real client) copies the pushed image to an OCI layout directory and archive."""
    if SKOPEO is None:
        pytest.skip("skopeo is not installed (apt-get install skopeo)")
    env = login(tmp_path, reg, monkeypatch)
    image = build_image(_root_layers(tmp_path, "debian"), arch=HOST_ARCH)
    reg.push("team/copied", "2", image)
    certs = tmp_path / "skopeo-certs"
    certs.mkdir()
    (certs / "ca.crt").write_bytes(reg.ca_file.read_bytes())
    out = tmp_path / "copied-oci"
    subprocess.run(
        [SKOPEO, "--insecure-policy", "copy", "--src-cert-dir", str(certs),
         "--src-creds", f"{reg.user}:{reg.password}",
         f"docker://{reg.host}/team/copied:2", f"oci:{out}:copied"],
        check=True, capture_output=True, timeout=120, env={**os.environ, **env},
    )  # fmt: skip
    assert (out / "index.json").exists()
    code_d, from_dir = stores_json(capsys, str(out))
    code_r, from_registry = stores_json(capsys, f"{reg.host}/team/copied:2")
    tarball = write_layout_tar(tmp_path / "copied.tar", out)
    code_t, from_tar = stores_json(capsys, str(tarball))
    assert from_dir == from_registry == from_tar and code_d == code_r == code_t == 0


def test_bearer_token_flow_and_credentials(
    token_reg: Registry,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    env = isolate_env(tmp_path, monkeypatch, ca_file=token_reg.ca_file)
    image = build_image(_root_layers(tmp_path, "alpine"), arch=HOST_ARCH)
    token_reg.push("team/private", "1", image)
    ref = f"{token_reg.host}/team/private:1"
    ts = token_reg.token_server
    assert ts is not None
    # Anonymous: the token service hands out a token without pull rights.
    code, _, err = cli(capsys, "stores", "--image", ref)
    assert code == 3 and err.count("\n") == 1
    assert "refused the pull without credentials" in err and f"docker login {token_reg.host}" in err
    # auths: base64 user:password, sent to the realm as Basic; scope and service as challenged.
    token_reg.docker_config(Path(env["DOCKER_CONFIG"]))
    ts.requests.clear()
    with extract_image(ref) as img:
        assert (img.root / "etc/ssl/certs/ca-certificates.crt").exists()
    assert ts.requests, "the token service was not asked"
    method, params, who = ts.requests[-1]
    assert (method, who) == ("GET", token_reg.user)
    assert params["scope"] == "repository:team/private:pull"
    assert params["service"] == "trustdoctor-test-registry"
    # Wrong password: the token service says no; one line, the user named, no password.
    cfg = Path(env["DOCKER_CONFIG"]) / "config.json"
    bad = json.loads(cfg.read_text())
    import base64

    bad["auths"][token_reg.host]["auth"] = base64.b64encode(b"ci-bot:wrong").decode()
    cfg.write_text(json.dumps(bad))
    code, _, err = cli(capsys, "stores", "--image", ref)
    assert code == 3 and "refused the pull as 'ci-bot'" in err and "wrong" not in err
    # An identity token (docker login with OAuth) is a refresh token, POSTed.
    ts.refresh_tokens.add("refresh-me")
    cfg.write_text(json.dumps({"auths": {token_reg.host: {"identitytoken": "refresh-me"}}}))
    with extract_image(ref) as img:
        assert img.files > 0
    assert ts.requests[-1][0] == "POST" and ts.requests[-1][1]["grant_type"] == "refresh_token"


def _helper(bin_dir: Path, name: str, user: str, secret: str, log: Path) -> None:
    """A docker-credential-<name> program (the helpers' protocol: `get`, URL on stdin)."""
    bin_dir.mkdir(exist_ok=True)
    script = bin_dir / f"docker-credential-{name}"
    answer = json.dumps({"ServerURL": "x", "Username": user, "Secret": secret})
    script.write_text(
        f'#!/bin/sh\n[ "$1" = get ] || exit 3\ncat > {log}\n'
        f"if [ -n '{secret}' ]; then echo '{answer}'; else "
        "echo 'credentials not found in native keychain'; exit 1; fi\n"
    )
    script.chmod(0o755)


def test_credential_helpers(
    reg: Registry,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    env = isolate_env(tmp_path, monkeypatch, ca_file=reg.ca_file)
    image = build_image(_root_layers(tmp_path, "distroless"), arch=HOST_ARCH)
    reg.push("team/helped", "1", image)
    ref = f"{reg.host}/team/helped:1"
    bin_dir = tmp_path / "bin"
    log = tmp_path / "helper-stdin"
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    cfg = Path(env["DOCKER_CONFIG"]) / "config.json"
    # credsStore: the helper is asked with the registry's host:port on stdin.
    _helper(bin_dir, "store", reg.user, reg.password, log)
    cfg.write_text(json.dumps({"credsStore": "store", "auths": {reg.host: {}}}))
    with extract_image(ref) as img:
        assert img.files > 0
    assert log.read_text() == reg.host
    # credHelpers[host] wins over credsStore; "not found" means anonymous (refused here).
    _helper(bin_dir, "empty", "", "", log)
    cfg.write_text(json.dumps({"credsStore": "store", "credHelpers": {reg.host: "empty"}}))
    code, _, err = cli(capsys, "stores", "--image", ref)
    assert code == 3 and "no credentials for" in err
    # A helper that is not installed: said plainly.
    cfg.write_text(json.dumps({"credHelpers": {reg.host: "absent"}}))
    code, _, err = cli(capsys, "stores", "--image", ref)
    assert code == 3 and "docker-credential-absent" in err and "not on PATH" in err
    # No credentials at all for a Basic registry.
    cfg.write_text(json.dumps({"auths": {"other.example": {"auth": "eDp5"}}}))
    code, _, err = cli(capsys, "stores", "--image", ref)
    assert code == 3 and "no credentials for" in err and reg.password not in err


def test_untrusted_registry_is_a_diagnosis(
    reg: Registry,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    private: Path,
) -> None:
    env = isolate_env(tmp_path, monkeypatch)  # an unrelated CA: the registry's is unknown
    reg.docker_config(Path(env["DOCKER_CONFIG"]))
    image = build_image(_root_layers(tmp_path, "alpine"), arch=HOST_ARCH)
    reg.push("team/tls", "1", image)
    ref = f"{reg.host}/team/tls:1"
    with pytest.raises(RegistryTrustError) as ei, extract_image(ref):
        pass
    err = ei.value
    assert (err.registry, err.host, err.port) == (reg.host, "127.0.0.1", reg.port)
    # The registry sends its root too: OpenSSL's words for an unknown root then.
    assert err.reason == "self-signed certificate in certificate chain"
    assert err.verify_code == 19
    # The command line: one line, exit 3, naming the diagnose command for docker.
    code, out, text = cli(capsys, "stores", "--image", ref)
    assert code == 3 and out == "" and text.count("\n") == 1
    assert "its TLS certificate is not trusted (self-signed certificate in certificate" in text
    assert f"next: trustdoctor diagnose {reg.host} --registry {reg.host} --client docker" in text
    # As dockerd does: /etc/docker/certs.d/<host:port>/*.crt adds the CA.
    (private / reg.host).mkdir()
    (private / reg.host / "ca.crt").write_bytes(reg.ca_file.read_bytes())
    code, _, err_text = cli(capsys, "stores", "--image", ref)
    assert code == 0, err_text
    # A broken certs.d file is an input error naming it.
    (private / reg.host / "bad.crt").write_bytes(b"not a cert")
    code, _, err_text = cli(capsys, "stores", "--image", ref)
    assert code == 2 and "bad.crt" in err_text


def test_plain_http_only_for_loopback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    isolate_env(tmp_path, monkeypatch)
    with pytest.raises(UsageError, match="loopback test registries only"):
        extract_image("reg.example/app:1", pull=PullOptions(insecure_registry=True)).__enter__()
    code, _, err = cli(capsys, "stores", "--root", str(tmp_path), "--insecure-registry")
    assert code == 2 and "go with --image" in err
    with Registry(tmp_path / "plain", auth=None, tls=False) as plain:
        image = build_image(_root_layers(tmp_path, "alpine"), arch=HOST_ARCH)
        plain.push("app", "1", image)
        ref = f"{plain.host}/app:1"
        # Without the flag: HTTPS to an HTTP port is "not TLS", with the hint.
        code, _, err = cli(capsys, "stores", "--image", ref)
        assert code == 3 and "does not speak TLS" in err and "--insecure-registry" in err
        code, _, err = cli(capsys, "stores", "--image", ref, "--insecure-registry", "--ca",
                           str(CA_FILE))  # fmt: skip
        assert code == 0, err


def test_layer_cache(reg: Registry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env = login(tmp_path, reg, monkeypatch)
    image = build_image(_root_layers(tmp_path, "debian"), arch=HOST_ARCH)
    reg.push("team/cached", "1", image)
    ref = f"{reg.host}/team/cached:1"
    with extract_image(ref) as first:
        cold = first.transferred
        assert first.cached_layers == 0
        tree = sorted(str(p.relative_to(first.root)) for p in first.root.rglob("*"))
    cache_dir = Path(env["XDG_CACHE_HOME"]) / "trustdoctor" / "layers"
    assert stat.S_IMODE(cache_dir.stat().st_mode) == 0o700
    blobs = {d: len(b) for d, b in image.blobs.items()}
    assert LayerCache(cache_dir).entries() == blobs  # config + 2 layers, verified, complete
    assert not [p for p in cache_dir.iterdir() if p.name.startswith(".tmp-")]
    with extract_image(ref) as second:
        assert second.cached_layers == 3
        assert second.transferred < cold - sum(blobs.values()) + 1  # only manifests this time
        assert sorted(str(p.relative_to(second.root)) for p in second.root.rglob("*")) == tree
    # A damaged entry is detected, dropped and fetched again.
    victim = cache_dir / next(iter(blobs)).replace(":", "-")
    victim.write_bytes(b"x" * victim.stat().st_size)
    with extract_image(ref) as third:
        assert third.cached_layers == 2
    assert LayerCache(cache_dir).entries() == blobs
    # Bounded: a small cache keeps the most recently used blobs that fit.
    small = tmp_path / "small-cache"
    biggest = max(blobs.values())
    opts = PullOptions(cache_dir=small, cache_max=biggest)
    with extract_image(ref, pull=opts):
        pass
    kept = LayerCache(small).entries()
    assert 1 <= len(kept) < len(blobs) and sum(kept.values()) <= biggest
    # No cache at all: nothing written.
    with extract_image(ref, pull=PullOptions(cache=False, cache_dir=tmp_path / "none")):
        pass
    assert not (tmp_path / "none").exists()


def test_errors_are_one_line_in_a_subprocess(reg: Registry, tmp_path: Path) -> None:
    """The real command line (a fresh process): untrusted registry, no traceback, exit 3."""
    mp = pytest.MonkeyPatch()
    try:
        env = isolate_env(tmp_path, mp)
    finally:
        mp.undo()
    env["PYTHONPATH"] = str(SRC)
    proc = subprocess.run(
        [sys.executable, "-m", "trustdoctor", "stores", "--image", f"{reg.host}/team/none:1"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **env},
    )
    assert proc.returncode == 3, proc.stderr
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert "trustdoctor diagnose" in proc.stderr and "--client docker" in proc.stderr


def test_api_errors_classes(reg: Registry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    login(tmp_path, reg, monkeypatch)
    with pytest.raises(InputError, match="not found"), extract_image(f"{reg.host}/no/such:1"):
        pass
    # A registry that is not there: a connection error, exit 3.
    with (
        pytest.raises(SourceError, match="cannot connect"),
        extract_image("127.0.0.1:1/app:1", pull=PullOptions(timeout=2)),
    ):
        pass
