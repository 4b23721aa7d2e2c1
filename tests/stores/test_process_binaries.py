"""``--pid`` knows a Go program by its build info, whatever its name (issue 11).

A few lines of Go are built in the test (Debian's golang-go, Go 1.19), run as
``kubelet`` with ``SSL_CERT_FILE`` naming a private root, and asked to connect
to a loopback TLS server itself: the real process's verdict is the oracle for
``diagnose --pid``.  The build-info parser is also checked on garbage.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from helpers import go_build
from helpers.stores import ca, leaf, tls_server
from trustdoctor.cli.main import main
from trustdoctor.stores.binaries import MAGIC, parse_binary

GO = shutil.which("go")

PROGRAM = """
package main

import (
	"crypto/tls"
	"fmt"
	"os"
	"time"
)

func main() {
	conn, err := tls.Dial("tcp", os.Args[1], &tls.Config{ServerName: "127.0.0.1"})
	if err != nil {
		fmt.Println("refused:", err)
	} else {
		fmt.Println("ok")
		conn.Close()
	}
	os.Stdout.Sync()
	time.Sleep(60 * time.Second)
}
"""

A, B = ca("Go Pid Root A"), ca("Go Pid Root B")


@pytest.fixture(scope="module")
def kubelet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if GO is None:
        pytest.skip("go is not installed (Debian's golang-go)")
    work = tmp_path_factory.mktemp("gobuild")
    return go_build(PROGRAM, work, "kubelet", module="example.com/kubelet")


def _go_version() -> str:
    assert GO is not None
    out = subprocess.run([GO, "env", "GOVERSION"], capture_output=True, text=True, check=True)
    return out.stdout.strip()


@pytest.fixture
def running(kubelet: Path, tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], str, str]]:
    """The Go program, started with SSL_CERT_FILE=root A, connected to a server of root A."""
    (tmp_path / "a.pem").write_bytes(A.pem)
    server = leaf(A)
    with tls_server([server], server) as (host, port):
        proc = subprocess.Popen(
            [str(kubelet), f"{host}:{port}"],
            env={"PATH": "/usr/bin:/bin", "SSL_CERT_FILE": str(tmp_path / "a.pem"),
                 "SSL_CERT_DIR": str(tmp_path / "nothing")},
            stdout=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        try:
            assert proc.stdout is not None
            verdict = proc.stdout.readline().strip()  # the real process's own verdict
            yield proc, f"{host}:{port}", verdict
        finally:
            proc.kill()
            proc.wait(timeout=10)


@pytest.mark.oracle
def test_pid_of_a_go_binary_named_kubelet(running, capsys) -> None:
    proc, target, verdict = running
    assert verdict == "ok"  # the real process trusts the server (root A via SSL_CERT_FILE)
    rc = main(["stores", "--pid", str(proc.pid), "--format", "json"])
    doc = json.loads(capsys.readouterr().out)
    assert rc == 0
    assert [c["client"] for c in doc["clients"]] == ["go"], "judged as Go, not Node or Java"
    runtime = doc["clients"][0]["runtime"]
    assert runtime["go"] == _go_version() and runtime["main"] == "example.com/kubelet"
    assert runtime["cgo"] is False and runtime["static"] is True
    main(["stores", "--pid", str(proc.pid)])
    assert f"runtime  {_go_version()} (example.com/kubelet), no cgo, static" in (
        capsys.readouterr().out
    )
    rc = main(["diagnose", target, "--pid", str(proc.pid), "--proxy", "", "--format", "json"])
    diag = json.loads(capsys.readouterr().out)
    assert rc == 0 and diag["verdict"]["trusted"]  # the process's verdict
    assert [c["client"] for c in diag["clients"]] == ["go"]
    # Judged as the Go it was built with (its build info), not the newest Go.
    release = ".".join(_go_version().removeprefix("go").split(".")[:2])
    assert diag["clients"][0]["version"] == release


def test_build_info_of_the_built_binary(kubelet: Path) -> None:
    info = parse_binary(kubelet.read_bytes(), str(kubelet))
    assert info.elf and info.is_go and info.go_version == _go_version()
    assert info.go_release is not None and info.go_release >= (1, 19)
    assert info.main == "example.com/kubelet"
    assert info.settings.get("GOOS") == "linux" and info.cgo is False
    assert info.dynamic is False


def test_not_go_and_garbage() -> None:
    import sys

    py = parse_binary(Path(sys.executable).read_bytes()[: 4 << 20], sys.executable)
    assert py.elf and not py.is_go
    assert not parse_binary(b"not an elf").elf
    # An ELF header that lies (offsets past the end) and a magic with a broken
    # varint: a result, never an exception.
    broken = bytearray(b"\x7fELF\x02\x01" + b"\xff" * 120)
    assert not parse_binary(bytes(broken)).is_go
    fake = bytearray(64) + MAGIC + bytes([8, 2]) + bytes(16) + b"\xff" * 16
    assert not parse_binary(bytes(fake)).is_go


def test_a_script_process_is_not_a_go_program(tmp_path: Path, capsys) -> None:
    """A process whose executable is no Go binary keeps the name rules (and a
    program we cannot name is judged with the host's clients, not as Go)."""
    proc = subprocess.Popen(["sleep", "30"])
    try:
        time.sleep(0.2)
        rc = main(["stores", "--pid", str(proc.pid), "--format", "json"])
        doc = json.loads(capsys.readouterr().out)
        assert rc == 0
        assert all(c.get("runtime") is None for c in doc["clients"])
    finally:
        proc.kill()
        proc.wait(timeout=10)


def test_programs_are_known_by_the_libraries_they_link(tmp_path: Path, capsys) -> None:
    """Any name: a program linking libcurl reads curl's default paths, one linking
    OpenSSL reads OpenSSL's (ELF DT_NEEDED, read from the file)."""
    import sys

    for real, client, lib in (("/usr/bin/curl", "curl", "libcurl.so"),
                              ("/usr/bin/openssl", "openssl", "libssl.so")):  # fmt: skip
        if not Path(real).is_file():
            continue
        copy = tmp_path / f"my-service-{client}"
        shutil.copy(real, copy)
        info = parse_binary(copy.read_bytes(), str(copy))
        assert info.links(lib), info.needed
        rc = main(["stores", "--binary", str(copy), "--format", "json"])
        doc = json.loads(capsys.readouterr().out)
        assert rc == 0 and [c["client"] for c in doc["clients"]] == [client]
        assert doc["clients"][0]["runtime"]["links"].startswith(lib)
    py = parse_binary(Path(sys.executable).read_bytes(), sys.executable)
    assert not py.is_go and all(isinstance(n, str) for n in py.needed)


def test_python_uses_the_openssl_its_ssl_module_links(tmp_path: Path, capsys) -> None:
    """A Python with a private OpenSSL (pyenv, python.org, conda: PREFIX/lib) reads
    the verify paths of *that* OpenSSL's OPENSSLDIR, not the system's."""
    import _ssl

    from helpers.stores import Root, ca, debian

    system, private = ca("System Root"), ca("Private OpenSSL Root")
    r = Root(tmp_path / "r")
    debian(r, [system])
    prefix = "/opt/py"
    r.file(f"{prefix}/bin/python3.11", "", 0o755)
    r.file(
        f"{prefix}/lib/python3.11/lib-dynload/_ssl.cpython-311-x86_64-linux-gnu.so",
        Path(_ssl.__file__).read_bytes(),  # a real _ssl: it links libssl.so.3
    )
    r.file(f"{prefix}/lib/libcrypto.so.3", b'\x7fELF....OPENSSLDIR: "/opt/py/ssl"\x00....')
    r.file("/opt/py/ssl/cert.pem", private.pem)
    argv = ["stores", "--root", str(r.path), "--binary", f"{prefix}/bin/python3.11"]
    rc = main([*argv, "--format", "json", "--anchors"])
    doc = json.loads(capsys.readouterr().out)
    assert rc == 0 and [c["client"] for c in doc["clients"]] == ["python"]
    subjects = {a["subject"] for a in doc["clients"][0]["anchors"]}
    assert subjects == {"CN=Private OpenSSL Root"}
    sources = [s for s in doc["clients"][0]["sources"] if s["kind"] == "runtime"]
    assert any("OPENSSLDIR /opt/py/ssl" in (s["detail"] or "") for s in sources)


def test_truststore_is_noted_for_certifi_clients(tmp_path: Path, capsys) -> None:
    from helpers.stores import Root, ca, debian

    r = Root(tmp_path / "r")
    debian(r, [ca("Some Root")])
    site = "/usr/local/lib/python3.11/dist-packages"
    r.file("/usr/bin/python3.11", "", 0o755)
    r.file("/usr/lib/python3.11/ssl.py", "")
    r.file(f"{site}/requests/__init__.py", "")
    r.file(f"{site}/certifi/__init__.py", '__version__ = "2024.1.1"\n')
    r.file(f"{site}/certifi/core.py", "def where(): ...\n")
    r.file(f"{site}/certifi/cacert.pem", ca("Certifi Root").pem)
    r.file(f"{site}/truststore/__init__.py", "")
    rc = main(["stores", "--root", str(r.path), "--client", "requests", "--format", "json"])
    doc = json.loads(capsys.readouterr().out)
    note = [s for s in doc["clients"][0]["sources"] if s["path"].endswith("/truststore")]
    assert rc == 0 and note and note[0]["status"] == "ignored"
    assert "inject_into_ssl" in note[0]["detail"]
