"""The built-in lab: every failure shape of the seed guide, reproduced offline.

Each scenario builds a throwaway PKI, a throwaway filesystem root laid out
like a real distribution (Debian, RHEL, a slim image, Docker and containerd
stores...), starts a TLS server on loopback, and asks
:func:`trustdoctor.api.diagnose_endpoint` about it — the very call
``trustdoctor diagnose`` makes.  The lab checks that the diagnosis names the
expected cause — so it is both the demo and an end-to-end self-test.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import ssl
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..model.record import field, mutable_record, record
from .pki import DAY, Hierarchy, Issued, make_cert

if TYPE_CHECKING:
    from ..api.context import TrustOptions
    from ..api.endpoint import EndpointReport
    from ..render.doc import Doc

HOST = "registry.internal.example.com"
AIA_URL = "http://pki.internal.example.com/issuing-ca.crt"

OS_RELEASE = {
    "debian": b'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\n',
    "rhel": b'NAME="Rocky Linux"\nID="rocky"\nID_LIKE="rhel centos fedora"\nVERSION_ID="9.4"\n',
}


@mutable_record
class Setup:
    """What a scenario builds: the chain served, the client's root and environment."""

    served: list[Issued]
    key: Issued
    files: dict[str, bytes] = field(default_factory=dict)
    links: dict[str, str] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    servername: str = HOST
    registry: str | None = None
    process_started_before_store: bool = False


@record
class Scenario:
    """One failure shape of the offline demo: how to build it and the cause it must produce."""

    name: str
    summary: str
    client: str
    expected: str  # the cause code the diagnosis must name
    build: Callable[[PKI], Setup]


@mutable_record
class PKI:
    """The lab's throwaway PKI: a private hierarchy and two "public" roots."""

    now: dt.datetime

    def __post_init__(self) -> None:
        root = self.cert("Example Internal Root CA")
        inter = self.cert("Example Internal Issuing CA", issuer=root)
        leaf = self.cert(HOST, issuer=inter, ca=False, dns=[HOST], aia_ca_issuers=[AIA_URL])
        self.h = Hierarchy(root, inter, leaf)
        self.public = [self.cert(f"Lab Public Root CA {i}") for i in (1, 2)]

    def cert(self, subject: str, **kw: Any) -> Issued:
        """A certificate valid around the lab's ``now`` (the run's real time)."""
        kw.setdefault("not_before", self.now - 30 * DAY)
        kw.setdefault("not_after", self.now + 365 * DAY)
        return make_cert(subject, **kw)

    def bundle(self, *, with_private: bool) -> bytes:
        roots = [*self.public, *([self.h.root] if with_private else [])]
        return b"".join(r.pem for r in roots)


def _debian(pki: PKI, *, with_private: bool) -> dict[str, bytes]:
    return {
        "etc/os-release": OS_RELEASE["debian"],
        "etc/ssl/certs/ca-certificates.crt": pki.bundle(with_private=with_private),
    }


def _debian_links(pki: PKI, *, with_private: bool) -> tuple[dict[str, bytes], dict[str, str]]:
    """Debian as update-ca-certificates leaves it: one PEM per root under
    /usr/share/ca-certificates, a link per root in /etc/ssl/certs, the
    OpenSSL subject-hash links OpenSSL's CApath needs, and OPENSSLDIR's
    certs -> /etc/ssl/certs."""
    from ..stores.subject_hash import subject_hash

    files = _debian(pki, with_private=with_private)
    links = {"usr/lib/ssl/certs": "/etc/ssl/certs"}
    roots = [*pki.public, *([pki.h.root] if with_private else [])]
    for i, r in enumerate(roots):
        name = f"lab-root-{i}"
        files[f"usr/share/ca-certificates/lab/{name}.crt"] = r.pem
        links[f"etc/ssl/certs/{name}.pem"] = f"/usr/share/ca-certificates/lab/{name}.crt"
        h = subject_hash(r.cert.subject.public_bytes())
        links[f"etc/ssl/certs/{h}.0"] = f"{name}.pem"
    return files, links


def _rhel(pki: PKI, *, with_private: bool) -> tuple[dict[str, bytes], dict[str, str]]:
    files = {
        "etc/os-release": OS_RELEASE["rhel"],
        "etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem": pki.bundle(with_private=with_private),
        "usr/bin/update-ca-trust": b"#!/bin/sh\n",
    }
    links = {"etc/pki/tls/certs/ca-bundle.crt": "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem"}
    return files, links


# -- scenarios ---------------------------------------------------------------------------


def _private_root(pki: PKI) -> Setup:
    return Setup([pki.h.leaf, pki.h.intermediate], pki.h.leaf, _debian(pki, with_private=False))


def _missing_intermediate(pki: PKI) -> Setup:
    return Setup([pki.h.leaf], pki.h.leaf, _debian(pki, with_private=True))


def _slim_image(pki: PKI) -> Setup:
    return Setup(
        [pki.h.leaf, pki.h.intermediate], pki.h.leaf, {"etc/os-release": OS_RELEASE["debian"]}
    )


def _env_override(pki: PKI) -> Setup:
    files = _debian(pki, with_private=True)
    files["opt/legacy/ca.pem"] = pki.public[0].pem
    files["opt/legacy/certs/legacy.pem"] = pki.public[1].pem
    # SSL_CERT_FILE alone would not hide the root from Go (it still reads
    # /etc/ssl/certs); both variables together do (root_unix.go).
    env = {"SSL_CERT_FILE": "/opt/legacy/ca.pem", "SSL_CERT_DIR": "/opt/legacy/certs"}
    return Setup([pki.h.leaf, pki.h.intermediate], pki.h.leaf, files, env=env)


def _stale_debian(pki: PKI) -> Setup:
    files = _debian(pki, with_private=False)
    files["usr/local/share/ca-certificates/internal-root.crt"] = pki.h.root.pem
    files["usr/sbin/update-ca-certificates"] = b"#!/bin/sh\n"
    return Setup([pki.h.leaf, pki.h.intermediate], pki.h.leaf, files)


def _stale_rhel(pki: PKI) -> Setup:
    files, links = _rhel(pki, with_private=False)
    files["etc/pki/ca-trust/source/anchors/internal-root.pem"] = pki.h.root.pem
    return Setup([pki.h.leaf, pki.h.intermediate], pki.h.leaf, files, links)


def _docker_certs_d(pki: PKI) -> Setup:
    files = _debian(pki, with_private=False)
    # The seed guide's directory: with the default port the name must be the
    # bare host (docs.docker.com: "do not add the port").
    files[f"etc/docker/certs.d/{HOST}:443/ca.crt"] = pki.h.root.pem
    return Setup([pki.h.leaf, pki.h.intermediate], pki.h.leaf, files, registry=HOST)


def _containerd_hosts_toml(pki: PKI) -> Setup:
    files = _debian(pki, with_private=False)
    files["etc/containerd/config.toml"] = (
        b'version = 2\n[plugins."io.containerd.grpc.v1.cri".registry]\n'
        b'  config_path = "/etc/containerd/certs.d"\n'
    )
    files[f"etc/containerd/certs.d/{HOST}/hosts.toml"] = (
        f'server = "https://{HOST}"\n[host."https://{HOST}"]\n'
        f'  capabilities = ["pull", "resolve"]\n  ca = "internal-root.crt"\n'
    ).encode()
    return Setup([pki.h.leaf, pki.h.intermediate], pki.h.leaf, files, registry=HOST)


def _restart_required(pki: PKI) -> Setup:
    files = _debian(pki, with_private=True)
    return Setup(
        [pki.h.leaf, pki.h.intermediate], pki.h.leaf, files, process_started_before_store=True
    )


def _expired(pki: PKI) -> Setup:
    leaf = pki.cert(
        HOST,
        issuer=pki.h.intermediate,
        ca=False,
        dns=[HOST],
        not_before=pki.now - 400 * DAY,
        not_after=pki.now - 3 * DAY,
    )
    return Setup([leaf, pki.h.intermediate], leaf, _debian(pki, with_private=True))


def _wrong_host(pki: PKI) -> Setup:
    return Setup(
        [pki.h.leaf, pki.h.intermediate],
        pki.h.leaf,
        _debian(pki, with_private=True),
        servername="harbor.internal.example.com",
    )


def _self_signed(pki: PKI) -> Setup:
    leaf = pki.cert(HOST, ca=False, dns=[HOST])
    return Setup([leaf], leaf, _debian(pki, with_private=True))


def _not_a_ca(pki: PKI) -> Setup:
    nonca = pki.cert("Example Internal Issuing CA", issuer=pki.h.root, ca=False)
    leaf = pki.cert(HOST, issuer=nonca, ca=False, dns=[HOST])
    return Setup([leaf, nonca], leaf, _debian(pki, with_private=True))


def _root_sent(pki: PKI) -> Setup:
    files, links = _debian_links(pki, with_private=False)
    return Setup([pki.h.leaf, pki.h.intermediate, pki.h.root], pki.h.leaf, files, links)


def _python313_strict(pki: PKI) -> Setup:
    """An image on Python 3.13 (VERIFY_X509_STRICT): the private root is
    installed, but the issuing CA's basicConstraints is not critical."""
    lax = pki.cert("Example Internal Issuing CA", issuer=pki.h.root, bc_critical=False)
    leaf = pki.cert(HOST, issuer=lax, ca=False, dns=[HOST])
    files, links = _debian_links(pki, with_private=True)
    files["usr/bin/python3.13"] = b"\x7fELF python3.13"
    links["usr/bin/python3"] = "python3.13"
    return Setup([leaf, lax], leaf, files, links)


def _kubectl_rotated_ca(pki: PKI) -> Setup:
    """The cluster CA was rotated (kubeadm keeps its name, "kubernetes"); the
    kubeconfig still embeds the old one, which kubectl trusts alone."""
    import base64

    old = pki.cert("kubernetes")
    new = pki.cert("kubernetes")
    leaf = pki.cert(HOST, issuer=new, ca=False, dns=[HOST])
    data = base64.b64encode(old.pem).decode()
    config = (
        "apiVersion: v1\nkind: Config\nclusters:\n- name: prod\n  cluster:\n"
        f"    server: https://{HOST}:6443\n    certificate-authority-data: {data}\n"
        "contexts:\n- name: prod\n  context:\n    cluster: prod\n    user: admin\n"
        "current-context: prod\n"
    )
    files = _debian(pki, with_private=True)
    files["home/ops/.kube/config"] = config.encode()
    return Setup([leaf], leaf, files, env={"HOME": "/home/ops"})


def _healthy(pki: PKI) -> Setup:
    return Setup([pki.h.leaf, pki.h.intermediate], pki.h.leaf, _debian(pki, with_private=True))


SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        "private-root",
        "private root never installed on the client",
        "go",
        "untrusted-root",
        _private_root,
    ),
    Scenario(
        "missing-intermediate",
        "server omits the intermediate",
        "go",
        "missing-intermediate",
        _missing_intermediate,
    ),
    Scenario("slim-image", "image without a CA bundle", "go", "no-trust-store", _slim_image),
    Scenario(
        "env-override",
        "SSL_CERT_FILE + SSL_CERT_DIR point at a bundle without the root",
        "go",
        "env-override",
        _env_override,
    ),
    Scenario(
        "stale-bundle-debian",
        "root dropped in, update-ca-certificates never run",
        "go",
        "stale-bundle",
        _stale_debian,
    ),
    Scenario(
        "stale-bundle-rhel",
        "root dropped in, update-ca-trust never run",
        "go",
        "stale-bundle",
        _stale_rhel,
    ),
    Scenario(
        "docker-certs-d",
        "Docker certs.d directory named host:443",
        "docker",
        "daemon-store",
        _docker_certs_d,
    ),
    Scenario(
        "containerd-hosts-toml",
        "containerd hosts.toml names a CA file that is missing",
        "containerd",
        "daemon-store",
        _containerd_hosts_toml,
    ),
    Scenario(
        "restart-required",
        "daemon started before the root was installed",
        "docker",
        "restart-required",
        _restart_required,
    ),
    Scenario("expired", "leaf certificate expired", "go", "expired", _expired),
    Scenario("wrong-host", "certificate for another name", "go", "hostname-mismatch", _wrong_host),
    Scenario(
        "self-signed",
        "server presents a self-signed certificate",
        "go",
        "self-signed-leaf",
        _self_signed,
    ),
    Scenario("not-a-ca", "issuer is not a CA", "go", "not-a-ca", _not_a_ca),
    Scenario(
        "root-sent",
        "server sends its private root; the client lacks it",
        "openssl",
        "untrusted-root",
        _root_sent,
    ),
    Scenario(
        "python313-strict",
        "Python 3.13: the issuing CA's basicConstraints is not critical",
        "python",
        "strict-profile",
        _python313_strict,
    ),
    Scenario(
        "kubectl-rotated-ca",
        "cluster CA rotated; the kubeconfig embeds the old one",
        "kubectl",
        "untrusted-root",
        _kubectl_rotated_ca,
    ),
    Scenario("healthy", "complete chain, root installed", "go", "ok", _healthy),
)


def scenario(name: str) -> Scenario:
    from ..errors import UsageError

    for s in SCENARIOS:
        if s.name == name:
            return s
    raise UsageError(
        f"unknown lab scenario {name!r} (known: {', '.join(s.name for s in SCENARIOS)})"
    )


# -- running ------------------------------------------------------------------------------


@contextlib.contextmanager
def tls_server(
    served: Sequence[Issued], key: Issued, workdir: Path, *, reply: bytes | None = None
) -> Iterator[int]:
    """A loopback TLS server presenting ``served``; yields its port, always stopped.

    After the handshake it reads one byte; with ``reply``, it reads the request
    instead and answers ``reply`` (an HTTP response: curl and Node wait for one).
    """
    import socket

    pem = workdir / "server.pem"
    pem.write_bytes(b"".join(c.pem for c in served) + key.key_pem)
    os.chmod(pem, 0o600)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(pem))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    sock.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
            except (TimeoutError, OSError):
                continue
            conn.settimeout(5)
            try:
                with ctx.wrap_socket(conn, server_side=True) as tls, contextlib.suppress(OSError):
                    if reply is None:
                        tls.recv(1)
                    else:
                        tls.recv(65536)
                        tls.sendall(reply)
                        tls.unwrap()
            except (OSError, ssl.SSLError):
                pass
            finally:
                conn.close()

    t = threading.Thread(target=serve, name="lab-tls", daemon=True)
    t.start()
    try:
        yield sock.getsockname()[1]
    finally:
        stop.set()
        t.join(timeout=2)
        sock.close()


def _write_root(root: Path, setup: Setup) -> None:
    for rel, data in setup.files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    for rel, target in setup.links.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(target, p)


@record
class Prepared:
    """A scenario set up and running: its TLS server and its client's root.

    ``target``/``connect_to``/``servername`` reach the server; ``options``
    are the clients' place (the scenario's root, environment, registry and,
    for ``restart-required``, a process started before its store changed).
    """

    scenario: Scenario
    target: str
    connect_to: str
    servername: str
    options: TrustOptions
    at: dt.datetime
    pki: PKI


@contextlib.contextmanager
def prepared(s: Scenario, *, now: dt.datetime | None = None) -> Iterator[Prepared]:
    """Build the scenario's PKI, root and server; remove everything afterwards."""
    from ..api.context import TrustOptions

    when = now or dt.datetime.now(dt.UTC)
    pki = PKI(when)
    setup = s.build(pki)
    with tempfile.TemporaryDirectory(prefix="trustdoctor-lab-") as tmp:
        work = Path(tmp)
        root = work / "root"
        root.mkdir()
        _write_root(root, setup)
        started = None
        if setup.process_started_before_store:
            # The daemon started two hours ago; its store changed five minutes ago.
            started = when - dt.timedelta(hours=2)
            bundle = root / "etc/ssl/certs/ca-certificates.crt"
            t = (when - dt.timedelta(minutes=5)).timestamp()
            os.utime(bundle, (t, t))
        with tls_server(setup.served, setup.key, work) as port:
            yield Prepared(
                s,
                f"{HOST}:{port}",
                f"127.0.0.1:{port}",
                setup.servername,
                TrustOptions(
                    root=str(root), env=setup.env or None, registry=setup.registry, started=started
                ),
                when,
                pki,
            )


@record
class LabResult:
    """One scenario diagnosed: the report ``diagnose`` would print, and the check."""

    scenario: Scenario
    found: str
    ok: bool
    report: EndpointReport

    def to_dict(self) -> dict[str, Any]:
        """``lab SCENARIO --format json``: the diagnose document plus the lab's check."""
        data = self.report.to_dict()
        data["lab"] = {
            "scenario": self.scenario.name,
            "expected": self.scenario.expected,
            "found": self.found,
            "ok": self.ok,
        }
        return data

    def to_text(self) -> Doc:
        from ..render.lab import render_scenario

        return render_scenario(self)


def diagnose_prepared(p: Prepared) -> EndpointReport:
    """What ``trustdoctor diagnose`` answers for a prepared scenario (the same call)."""
    from ..api.endpoint import diagnose_endpoint

    return diagnose_endpoint(
        p.target,
        clients=[p.scenario.client],
        options=p.options,
        servername=p.servername,
        connect_to=p.connect_to,
        timeout=5,
        proxy="",
        at=p.at,
    )


def run_scenario(s: Scenario, *, now: dt.datetime | None = None) -> LabResult:
    """Build, serve, diagnose with :func:`trustdoctor.api.diagnose_endpoint`, clean up."""
    with prepared(s, now=now) as p:
        report = diagnose_prepared(p)
    if report.diagnosis is None:
        found = report.error.code if report.error else "error"
        return LabResult(s, found, False, report)
    found = report.diagnosis.verdict.cause.value
    return LabResult(s, found, found == s.expected, report)
