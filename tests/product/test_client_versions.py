"""Which release each model stands for, from the command line (issue 11, phase 2).

``--client go@1.19`` judges as Go 1.19 does; without a version the model is
the newest release, or the one the context shows (a ``--pid``/``--binary`` Go
program's build info, the root's curl); a Go process's GODEBUG settings
count.  Every command shows the release each model stands for.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from helpers import go_build
from helpers.stores import Root, debian
from trustdoctor.cli.main import main
from trustdoctor.conformance.pathsets import encoding_cases
from trustdoctor.engine.versions import NEWEST
from trustdoctor.lab.pki import hierarchy

ENC = {c.id: c for c in encoding_cases()}


def _json(capsys: pytest.CaptureFixture[str], argv: list[str]) -> tuple[int, dict]:
    rc = main(argv)
    return rc, json.loads(capsys.readouterr().out)


def _pem(der: bytes) -> bytes:
    import warnings

    with warnings.catch_warnings():  # the negative serial number is the point
        warnings.simplefilter("ignore")
        return x509.load_der_x509_certificate(der).public_bytes(Encoding.PEM)


@pytest.fixture
def wrong_host(tmp_path: Path) -> list[str]:
    h = hierarchy("registry.test")
    (tmp_path / "full.pem").write_bytes(h.fullchain_pem)
    (tmp_path / "root.pem").write_bytes(h.root.pem)
    root = str(tmp_path / "root.pem")
    return [str(tmp_path / "full.pem"), "--trust", root, "--host", "other.test"]


def test_go_at_a_version_prints_that_versions_text(capsys, wrong_host) -> None:
    _, newest = _json(capsys, ["chain", *wrong_host, "--client", "go", "--format", "json"])
    _, old = _json(capsys, ["chain", *wrong_host, "--client", "go@1.19", "--format", "json"])
    assert newest["clients"][0]["version"] == NEWEST["go"]
    assert old["clients"][0]["version"] == "1.19"
    # Go 1.20 added crypto/tls's "tls: failed to verify certificate: " prefix.
    prefix = "tls: failed to verify certificate: x509:"
    assert newest["clients"][0]["client_error"].startswith(prefix)
    assert old["clients"][0]["client_error"].startswith("x509: certificate is valid for")
    main(["chain", *wrong_host, "--client", "go@1.19,openssl"])
    assert "Clients  (models: go 1.19, openssl 3.0)" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--client", "go@banana"], "not a version"),
        (["--client", "go@1.19", "--client", "go@1.21"], "one version per client"),
        (["--client", "nope@1.2"], "unknown client"),
        # A Go program's own release is not the Go that built it.
        (["--client", "kubectl@1.27"], "1.27 is kubectl's own release, not the Go release"),
        (["--client", "docker@24"], "(docker@go1.22), or the program itself"),
    ],
)
def test_bad_versions_are_one_line_usage_errors(capsys, wrong_host, argv, message) -> None:
    assert main(["chain", *wrong_host, *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_a_go_program_at_the_go_release_that_built_it(capsys, wrong_host) -> None:
    """``kubectl@go1.19`` judges as Go 1.19 (its text), and says so."""
    _, doc = _json(capsys, ["chain", *wrong_host, "--client", "kubectl@go1.19", "--format", "json"])
    assert doc["clients"][0]["version"] == "go1.19"
    assert doc["clients"][0]["client_error"].startswith("x509: certificate is valid for")
    main(["chain", *wrong_host, "--client", "kubelet@go1.19"])
    assert "Clients  (models: kubelet go1.19)" in capsys.readouterr().out


def test_stores_takes_no_version_and_shows_the_model(capsys, tmp_path: Path) -> None:
    r = Root(tmp_path / "r")
    debian(r, [hierarchy().root])
    assert main(["stores", "--root", str(r.path), "--client", "go@1.19"]) == 2
    assert "a version applies to judging a chain" in capsys.readouterr().err
    rc, doc = _json(capsys, ["stores", "--root", str(r.path), "--client", "go", "--format", "json"])
    assert rc == 0 and doc["clients"][0]["version"] == NEWEST["go"]
    main(["stores", "--root", str(r.path), "--client", "go"])
    assert f"(model: go {NEWEST['go']})" in capsys.readouterr().out


def test_godebug_of_the_clients_environment_counts(capsys, tmp_path: Path) -> None:
    """The newest Go refuses a negative serial number at parse time, unless the
    process runs with GODEBUG=x509negativeserial=1."""
    case = ENC["enc/negative-serial"]
    r = Root(tmp_path / "r")
    debian(r, [])
    r.file("/etc/ssl/certs/ca-certificates.crt", b"".join(_pem(d) for d in case.roots))
    (tmp_path / "chain.pem").write_bytes(b"".join(_pem(d) for d in case.chain))
    argv = ["chain", str(tmp_path / "chain.pem"), "--root", str(r.path), "--client", "go"]
    argv += ["--at", case.at.isoformat(), "--format", "json"]
    if case.host:
        argv += ["--host", case.host]
    rc, refused = _json(capsys, argv)
    assert rc == 1 and refused["clients"][0]["cause"] == "unparsable-certificate"
    rc, allowed = _json(capsys, [*argv, "--env", "GODEBUG=x509negativeserial=1"])
    assert rc == 0 and allowed["verdict"]["trusted"], allowed["clients"][0]


def test_a_serial_zero_prints_no_library_warning(tmp_path: Path) -> None:
    """cryptography warns about a serial number that is not positive, also
    when it reads one in an extension: Debian's Go Daddy and Starfield Class 2
    roots name their issuer's serial 0 in the authority key identifier.  The
    command line shows trustdoctor's answer, never that warning."""
    import datetime as dt

    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    from trustdoctor.lab.pki import name

    key = ec.generate_private_key(ec.SECP256R1())
    subject = name("Serial Zero Root")
    now = dt.datetime.now(dt.UTC)
    root = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(5)
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=300))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier(None, [x509.DirectoryName(subject)], 0), critical=False
        )
        .sign(key, hashes.SHA256())
    )
    (tmp_path / "root.pem").write_bytes(root.public_bytes(Encoding.PEM))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONWARNINGS"}
    argv = ["chain", "root.pem", "--trust", "root.pem", "--client", "go,openssl"]
    proc = subprocess.run(
        [sys.executable, "-m", "trustdoctor", *argv],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**env, "NO_COLOR": "1"},
        timeout=120,
    )
    assert proc.returncode in (0, 1), proc.stderr
    assert "Serial Zero Root" in proc.stdout
    assert proc.stderr == ""


PROGRAM = 'package main\n\nfunc main() {}\n'


def test_binary_is_judged_with_its_own_go(capsys, tmp_path: Path, wrong_host) -> None:
    import shutil

    if shutil.which("go") is None:
        pytest.skip("go is not installed (Debian's golang-go)")
    exe = go_build(PROGRAM, tmp_path / "build", "my-service", module="example.com/svc")
    rc, doc = _json(capsys, ["stores", "--binary", str(exe), "--format", "json"])
    assert rc == 0 and [c["client"] for c in doc["clients"]] == ["go"]
    built = doc["clients"][0]["runtime"]["go"]  # go1.19.8
    release = ".".join(built.removeprefix("go").split(".")[:2])
    assert doc["clients"][0]["version"] == release
    assert main(["stores", "--binary", str(tmp_path / "nothing")]) == 2
    assert "--binary" in capsys.readouterr().err


# -- Python 3.13's strict flags, from the root's interpreter and urllib3 ---------------------


# A distro-patched certifi: where() names the system bundle.
WHERE_SYSTEM = "def where():\n    return '/etc/ssl/certs/ca-certificates.crt'\n"


def _lax_chain(tmp_path: Path) -> tuple[Root, str]:
    """A private CA whose basicConstraints is not critical (Python < 3.13,
    OpenSSL and Go accept it; 3.13's VERIFY_X509_STRICT does not)."""
    from trustdoctor.lab import pki

    root = pki.make_cert("Lax Root")
    inter = pki.make_cert("Lax Issuing CA", issuer=root, bc_critical=False)
    leaf = pki.make_cert("app.lax.test", issuer=inter, ca=False, dns=["app.lax.test"])
    (tmp_path / "chain.pem").write_bytes(leaf.pem + inter.pem)
    r = Root(tmp_path / "r")
    debian(r, [root])
    return r, str(tmp_path / "chain.pem")


def _site(r: Root, minor: int, urllib3: str | None) -> None:
    r.file(f"/usr/bin/python3.{minor}", "", 0o755)
    r.link("/usr/bin/python3", f"python3.{minor}")
    site = "/usr/lib/python3/dist-packages"
    r.file(f"{site}/requests/__init__.py", "")
    r.file(f"{site}/certifi/__init__.py", "")
    r.file(f"{site}/certifi/core.py", WHERE_SYSTEM)
    if urllib3 is not None:
        r.file(f"{site}/urllib3/__init__.py", "from ._version import __version__\n")
        r.file(f"{site}/urllib3/_version.py", f"__version__ = version = {urllib3!r}\n")


@pytest.mark.parametrize(
    ("minor", "urllib3", "python_strict", "requests_strict"),
    [(11, "2.8.0", False, False), (13, "2.8.0", True, True), (13, "2.3.0", True, False),
     (13, "1.26.12", True, False), (13, None, True, True)],
)  # fmt: skip
def test_the_roots_python_and_urllib3_decide_strictness(
    capsys, tmp_path: Path, minor, urllib3, python_strict, requests_strict
) -> None:
    """``python`` is judged as the root's ``python3`` (3.13: VERIFY_X509_STRICT and
    VERIFY_X509_PARTIAL_CHAIN); ``requests`` takes them only from urllib3 2.4 on
    (an unknown urllib3 counts as the newest)."""
    r, chain = _lax_chain(tmp_path)
    _site(r, minor, urllib3)
    argv = ["chain", chain, "--root", str(r.path), "--host", "app.lax.test",
            "--client", "python,requests,go", "--format", "json"]  # fmt: skip
    _, doc = _json(capsys, argv)
    by = {v["client"]: v for v in doc["clients"]}
    assert by["python"]["version"] == f"3.{minor}"
    assert by["python"]["trusted"] is not python_strict, by["python"]
    assert by["requests"]["trusted"] is not requests_strict, by["requests"]
    assert by["go"]["trusted"]
    for c in ("python", "requests"):
        if not by[c]["trusted"]:
            assert by[c]["cause"] == "strict-profile"
            assert by[c]["findings"][0]["params"]["rule"] == "ca-basic-constraints-not-critical"
    # The stores command shows the same partial-chain flag the verdict used.
    _, st = _json(capsys, ["stores", "--root", str(r.path), "--client", "requests",
                           "--format", "json"])  # fmt: skip
    assert st["clients"][0]["partial_chain"] is requests_strict


def test_python_version_on_the_command_line_wins(capsys, tmp_path: Path) -> None:
    r, chain = _lax_chain(tmp_path)
    _site(r, 13, "2.8.0")
    base = ["chain", chain, "--root", str(r.path), "--host", "app.lax.test", "--format", "json"]
    _, doc = _json(capsys, [*base, "--client", "python@3.12"])
    assert doc["clients"][0]["version"] == "3.12" and doc["clients"][0]["trusted"]
    rc, doc = _json(capsys, [*base, "--client", "python@3.13"])
    assert rc == 1 and doc["clients"][0]["cause"] == "strict-profile"


@pytest.mark.parametrize(("urllib3", "strict"), [("2.3.0", False), ("2.8.0", True)])
def test_a_python_313_image_is_judged_with_its_urllib3(capsys, tmp_path: Path, urllib3,
                                                      strict) -> None:  # fmt: skip
    """``python:3.13-slim`` with requests: the extraction keeps urllib3's version
    files, so requests on urllib3 2.3 is lax and on 2.8 strict; ``python`` (the
    image's own 3.13) is strict either way."""
    from helpers.images import docker_save, layer
    from trustdoctor.lab import pki

    root = pki.make_cert("Image Lax Root")
    inter = pki.make_cert("Image Lax Issuing CA", issuer=root, bc_critical=False)
    leaf = pki.make_cert("app.lax.test", issuer=inter, ca=False, dns=["app.lax.test"])
    (tmp_path / "chain.pem").write_bytes(leaf.pem + inter.pem)
    site = "usr/local/lib/python3.13/site-packages"
    entries = [
        ("file", "etc/os-release", 'ID=debian\nVERSION_ID="12"\n'),
        ("file", "etc/ssl/certs/ca-certificates.crt", root.pem),
        ("symlink", "usr/lib/ssl/cert.pem", "/etc/ssl/certs/ca-certificates.crt"),
        ("file", "usr/local/bin/python3.13", b"\x7fELF python"),
        ("symlink", "usr/local/bin/python3", "python3.13"),
        ("file", "usr/local/lib/python3.13/ssl.py", "# ssl\n"),
        ("file", f"{site}/requests/__init__.py", ""),
        ("file", f"{site}/certifi/__init__.py", ""),
        ("file", f"{site}/certifi/core.py", WHERE_SYSTEM),
        ("file", f"{site}/urllib3/__init__.py", "from ._version import __version__\n"),
        ("file", f"{site}/urllib3/_version.py", f"__version__ = version = {urllib3!r}\n"),
    ]  # fmt: skip
    image = docker_save(tmp_path / "img.tar", [layer(entries)], env=["PATH=/usr/local/bin"])
    argv = ["chain", str(tmp_path / "chain.pem"), "--image", str(image), "--host",
            "app.lax.test", "--client", "python,requests", "--format", "json"]  # fmt: skip
    _, doc = _json(capsys, argv)
    by = {v["client"]: v for v in doc["clients"]}
    assert by["python"]["version"] == "3.13" and not by["python"]["trusted"], by["python"]
    assert by["requests"]["trusted"] is not strict, by["requests"]
