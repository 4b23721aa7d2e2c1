"""The client registry: one row per TLS client trustdoctor models (pure data).

A client is one unit: this row, its trust-store model (``stores/``) and its
fix recipe (``fixes/client.py``).  Everything else — the verifier it uses,
the text it prints, whether it caches its roots per process, which daemon and
systemd unit carry it, how a ``--pid`` process is recognised, which files an
image must keep to detect it, which environment variables change its trust —
is read from here, so adding a client touches this file, a store model and a
fix recipe (docs/architecture.md, "Adding a client").

The store model and the presence test are named ``"module:function"``
(modules of ``trustdoctor.stores``); the fix recipe is a function name in
``trustdoctor.fixes.client``.  Names, not imports: this table sits in the
lowest layer and every layer reads it.

Sources: /work/shared/reference/truststores.md (TS) sections per client, and
the module docstring of each store model.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from .errors import UsageError
from .model.record import record


@record
class Client:
    """What trustdoctor knows about one client.

    Attributes:
        name: the ``--client`` name.
        policy: the verifier it uses (``engine.policies.POLICIES`` key):
            ``go`` (crypto/x509), ``openssl`` (X509_verify_cert), ``java``
            (PKIX), ``webpki``; ``None`` for a fix-only target.
        texts: whose wording its errors use (``engine.clienterrors``).
        store: its trust-store model, ``"module:function"`` in ``trustdoctor.stores``.
        store_of: the client whose store it reads when it has no model of its own.
        present: its presence test (``"module:function"``); ``None``: never
            found by itself (selected by name only), ``"always"``: always a
            candidate (any binary may be a Go program).
        caches_store: loads its anchors once per process, so a store change
            needs a restart (Go's ``sync.Once`` in crypto/x509 root.go, the
            JVM's default SSLContext, Node's start-up read).
        daemon: the process name (``/proc/PID/comm``) of its long-running daemon.
        service: the systemd unit to restart after a store change.
        process: a regular expression matching the executable's basename of
            a ``--pid`` process that *is* this client.
        registry_store: it also reads per-registry directories
            (``certs.d``/``hosts.toml``), which depend on ``--registry``.
        system_store: by default it reads the distribution's system store.
        trust_env: variables that override which anchors it loads (a fix may
            unset or replace them).
        context_env: variables it reads to find its files (not overrides).
        image_paths: small files an image must keep so the client is detected.
        image_reduced: ``"module:TABLE"`` in ``trustdoctor.stores``: programs an
            image extraction keeps only in part (``{path or glob: (largest PEM
            certificate block, byte patterns, their longest match)}``), such as
            the roots compiled into ``node``.
        fix: its fix recipe in ``trustdoctor.fixes.client``.
        summary: one line for ``--help`` and docs.
        trailing_dot: what it does with the final dot of a fully qualified
            name it is asked to reach (``svc.ns.svc.cluster.local.``) before
            checking the certificate against it: ``strip-one`` (the name
            without that dot is checked), ``strip-all`` (every final dot
            dropped) or ``keep`` (the name is compared with its dot, which no
            certificate name carries: a mismatch).  See :data:`TRAILING_DOT`.
    """

    name: str
    policy: str | None
    texts: str
    store: str | None
    present: str | None
    fix: str
    summary: str
    store_of: str | None = None
    caches_store: bool = False
    daemon: str | None = None
    service: str | None = None
    process: str | None = None
    registry_store: bool = False
    system_store: bool = True
    trust_env: tuple[str, ...] = ()
    context_env: tuple[str, ...] = ()
    image_paths: tuple[str, ...] = ()
    image_reduced: str | None = None
    trailing_dot: str = "strip-one"

    @property
    def model(self) -> str:
        """The client whose store model describes this one (itself, or ``store_of``)."""
        return self.store_of or self.name


_OPENSSL_ENV = ("SSL_CERT_FILE", "SSL_CERT_DIR")  # OpenSSL's X509_get_default_cert_file_env

# The final dot of the name checked (Client.trailing_dot), measured against a
# loopback server whose certificate names ``leaf.test``, asked for
# ``leaf.test.``: Go crypto/x509 ``matchHostnames`` trims one
# (``strings.TrimSuffix(host, ".")``; two dots leave an empty label: no
# match); curl (lib/vtls/hostcheck.c) and Node (lib/tls.js ``unfqdn``) drop
# one; JSSE's HTTPS endpoint identification (JDK 17/21) and browsers (the
# pkix/webpki reference-name rules) accept it; urllib3 2 (requests) checks
# ``host.rstrip(".")``.  OpenSSL's ``X509_check_host`` compares the name as
# given (``openssl verify -verify_hostname leaf.test.``: error 62, 3.0.19),
# and so do CPython's ``ssl`` (``server_hostname`` is handed to it as is:
# "Hostname mismatch, certificate is not valid for 'leaf.test.'") and httpx
# (httpcore passes the URL's host as ``server_hostname``).
TRAILING_DOT = ("strip-one", "strip-all", "keep")
_LIBCRYPTO = (
    "/usr/lib/*/libcrypto.so*",
    "/usr/lib/libcrypto.so*",
    "/lib/libcrypto.so*",
    "/usr/lib64/libcrypto.so*",
)
_PYTHON = ("/usr/lib/python3*/ssl.py", "/usr/local/lib/python3*/ssl.py")

CLIENTS: Mapping[str, Client] = {
    c.name: c
    for c in (
        # Go's crypto/x509 on Linux: SSL_CERT_FILE replaces the file list,
        # SSL_CERT_DIR the directory list (root_unix.go, TS §1.2).
        Client(
            "go",
            "go",
            "go",
            "go:model",
            "always",
            "system",
            "Go programs (crypto/x509): kubectl, helm, terraform, vault...",
            caches_store=True,
            trust_env=_OPENSSL_ENV,
        ),
        Client(
            "openssl",
            "openssl",
            "openssl",
            "openssl:model",
            "openssl:present",
            "system",
            "OpenSSL's default verify paths (openssl s_client, git, wget...)",
            process=r"^openssl$",
            trust_env=_OPENSSL_ENV,
            image_paths=("/usr/bin/openssl", *_LIBCRYPTO),
            trailing_dot="keep",
        ),
        # curl: --cacert/CURL_CA_BUNDLE, then its built-in CA path; curl 7.88
        # reads SSL_CERT_FILE only when SSL_CERT_DIR is unset (TS §2.5).
        Client(
            "curl",
            "openssl",
            "curl",
            "curl:model",
            "curl:present",
            "system",
            "curl and libcurl with OpenSSL",
            process=r"^curl$",
            trust_env=("CURL_CA_BUNDLE", *_OPENSSL_ENV),
            image_paths=(
                "/usr/bin/curl",
                "/usr/lib/*/libcurl.so*",
                "/usr/lib/libcurl.so*",
                "/usr/lib64/libcurl.so*",
            ),
        ),
        Client(
            "python",
            "openssl",
            "python",
            "openssl:python_model",
            "openssl:python_present",
            "system",
            "Python's ssl module (urllib, ssl.create_default_context)",
            process=r"^python3?(\.\d+)?$",
            trust_env=_OPENSSL_ENV,
            context_env=("VIRTUAL_ENV", "PYTHONPATH"),
            image_paths=_PYTHON,
            trailing_dot="keep",
        ),
        # requests: REQUESTS_CA_BUNDLE or CURL_CA_BUNDLE, else certifi.where()
        # (sessions.py merge_environment_settings); SSL_CERT_FILE is ignored.
        Client(
            "requests",
            "openssl",
            "python",
            "pyrequests:model",
            "pyrequests:present",
            "requests",
            "Python requests (certifi unless REQUESTS_CA_BUNDLE)",
            system_store=False,
            trust_env=("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"),
            context_env=("VIRTUAL_ENV", "PYTHONPATH"),
            image_paths=(
                "**/site-packages/requests/__init__.py",
                "**/dist-packages/requests/__init__.py",
                # urllib3's release: from 2.4 it copies Python 3.13's strict flags.
                "**/site-packages/urllib3/__init__.py",
                "**/dist-packages/urllib3/__init__.py",
                "**/site-packages/urllib3/_version.py",
                "**/dist-packages/urllib3/_version.py",
                *_PYTHON,
            ),
            trailing_dot="strip-all",
        ),
        # httpx ≥0.28 (_config.py create_ssl_context): SSL_CERT_FILE, else
        # SSL_CERT_DIR, else certifi.where(); each one *replaces* the store.
        Client(
            "httpx",
            "openssl",
            "python",
            "pyhttpx:model",
            "pyhttpx:present",
            "httpx",
            "Python httpx (certifi unless SSL_CERT_FILE/SSL_CERT_DIR)",
            system_store=False,
            trust_env=_OPENSSL_ENV,
            context_env=("VIRTUAL_ENV", "PYTHONPATH"),
            image_paths=(
                "**/site-packages/httpx/__init__.py",
                "**/dist-packages/httpx/__init__.py",
                *_PYTHON,
            ),
            trailing_dot="keep",
        ),
        # Node: its bundled Mozilla roots + NODE_EXTRA_CA_CERTS, read at
        # start-up; --use-openssl-ca / --use-system-ca switch stores (TS §2.6).
        Client(
            "node",
            "openssl",
            "node",
            "node:model",
            "node:present",
            "node",
            "Node.js (bundled roots + NODE_EXTRA_CA_CERTS)",
            caches_store=True,
            process=r"^node(js)?$",
            system_store=False,
            trust_env=("NODE_EXTRA_CA_CERTS", "NODE_OPTIONS", "NODE_USE_SYSTEM_CA", *_OPENSSL_ENV),
            image_paths=(
                "/usr/local/lib/node_modules/npm/package.json",
                "/usr/lib/node_modules/npm/package.json",
                "/usr/local/include/node/node_version.h",
            ),
            image_reduced="node:IMAGE_REDUCED",
        ),
        Client(
            "java",
            "java",
            "java",
            "java:model",
            "java:present",
            "java",
            "Java (JSSE: cacerts or -Djavax.net.ssl.trustStore)",
            caches_store=True,
            process=r"^java$",
            system_store=False,
            trust_env=("JAVA_TOOL_OPTIONS", "JDK_JAVA_OPTIONS", "_JAVA_OPTIONS"),
            context_env=("JAVA_HOME",),
        ),
        # The daemons are Go programs: the system pool (loaded once per
        # process) plus their per-registry directories, re-read per pull (TS §5).
        Client(
            "docker",
            "go",
            "go",
            "registries:docker_model",
            "registries:docker_present",
            "docker",
            "the Docker daemon (system roots + /etc/docker/certs.d/<registry>)",
            caches_store=True,
            daemon="dockerd",
            service="docker",
            process=r"^dockerd$",
            registry_store=True,
            trust_env=_OPENSSL_ENV,
            context_env=("ROOTLESSKIT_STATE_DIR", "XDG_CONFIG_HOME"),
        ),
        Client(
            "containerd",
            "go",
            "go",
            "registries:containerd_model",
            "registries:containerd_present",
            "containerd",
            "containerd and the kubelet's image pulls (hosts.toml)",
            caches_store=True,
            daemon="containerd",
            service="containerd",
            process=r"^containerd$",
            registry_store=True,
            trust_env=_OPENSSL_ENV,
        ),
        Client(
            "crio",
            "go",
            "go",
            "registries:crio_model",
            "registries:crio_present",
            "containers",
            "CRI-O (/etc/containers/certs.d)",
            caches_store=True,
            daemon="crio",
            service="crio",
            process=r"^crio$",
            registry_store=True,
            trust_env=_OPENSSL_ENV,
        ),
        Client(
            "podman",
            "go",
            "go",
            "registries:podman_model",
            "registries:podman_present",
            "containers",
            "Podman, Buildah, Skopeo (containers certs.d)",
            process=r"^podman$",
            registry_store=True,
            trust_env=_OPENSSL_ENV,
            context_env=("XDG_CONFIG_HOME",),
        ),
        # The kubelet is a Go program using the system pool (root_linux.go).
        Client(
            "kubelet",
            "go",
            "go",
            None,
            None,
            "system",
            "the kubelet (Go's system roots)",
            store_of="go",
            caches_store=True,
            service="kubelet",
            trust_env=_OPENSSL_ENV,
        ),
        # kubectl, helm and client-go programs: the kubeconfig cluster's CA
        # alone when set, else Go's system roots (stores/kubeconfig.py, TS §3.7).
        Client(
            "kubectl",
            "go",
            "go",
            "kubeconfig:model",
            "kubeconfig:present",
            "kubectl",
            "kubectl, helm, client-go programs (the kubeconfig cluster's CA, else system roots)",
            process=r"^(kubectl|helm)$",
            system_store=False,
            trust_env=_OPENSSL_ENV,
            context_env=("KUBECONFIG", "HOME"),
            image_paths=("/root/.kube/config",),
        ),
        # A strict verifier with Mozilla's roots: browsers, cryptography+certifi.
        Client(
            "webpki",
            "webpki",
            "webpki",
            None,
            None,
            "webpki",
            "a strict RFC 5280/CA-B Forum verifier with Mozilla's roots (browsers)",
        ),
        # Not a verifier: `fix --client kubernetes` plans the node-wide rollout.
        Client(
            "kubernetes",
            None,
            "go",
            None,
            None,
            "kubernetes",
            "every node of a cluster (fix plans only)",
        ),
    )
}

# Clients judged when the user names none and no store is read (``chain``, ``bundle``).
DEFAULT_CHAIN_CLIENTS: tuple[str, ...] = ("go", "openssl", "webpki")

# Variables naming a CA directory rather than a file (a fix replaces them with a directory).
DIR_VARIABLES: frozenset[str] = frozenset({"SSL_CERT_DIR"})


def verifiers() -> tuple[str, ...]:
    """Clients that verify chains (``--client`` of chain/diagnose), registry order."""
    return tuple(n for n, c in CLIENTS.items() if c.policy is not None)


def modelled() -> tuple[str, ...]:
    """Clients with a trust-store model of their own (``stores --client``), registry order."""
    return tuple(n for n, c in CLIENTS.items() if c.store is not None)


def trust_variables() -> tuple[str, ...]:
    """Every variable that overrides some client's anchors (the fix planners' list)."""
    return tuple(dict.fromkeys(v for c in CLIENTS.values() for v in c.trust_env))


def env_variables() -> tuple[str, ...]:
    """Every variable any client model reads (shown in the ``stores`` header)."""
    return tuple(
        dict.fromkeys(v for c in CLIENTS.values() for v in (*c.trust_env, *c.context_env))
    )


def check_clients(
    names: str | Iterable[str] | None, *, allowed: tuple[str, ...] | None = None
) -> tuple[str, ...]:
    """``--client`` values (repeatable, comma-separated, any case) → registry names, in order.

    Raises :class:`UsageError` naming the known clients for an unknown one, and
    for a ``NAME@VERSION`` where versions do not apply (see :func:`client_specs`).
    """
    out, versions = client_specs(names, allowed=allowed)
    if versions:
        spec = next(iter(versions.items()))
        raise UsageError(f"--client {spec[0]}@{spec[1]}: a version applies to judging a chain")
    return out


def client_specs(
    names: str | Iterable[str] | None, *, allowed: tuple[str, ...] | None = None
) -> tuple[tuple[str, ...], dict[str, str]]:
    """``--client NAME[@VERSION]`` values → registry names in order, and the versions asked.

    ``go@1.19`` judges as Go 1.19 does (engine/versions.py); one version per
    client in one question.  A program built with Go (docker, kubectl...)
    takes the Go release that built it (``kubectl@go1.22``), never its own.
    """
    known = allowed if allowed is not None else verifiers()
    values = [names] if isinstance(names, str) else list(names or ())
    out: list[str] = []
    versions: dict[str, str] = {}
    for v in values:
        for raw in str(v).split(","):
            name, _, version = raw.strip().lower().partition("@")
            if not name:
                continue
            if name not in known:
                raise UsageError(f"unknown client {raw.strip()!r} (known: {', '.join(known)})")
            if version:
                if versions.get(name, version) != version:
                    raise UsageError(f"--client {name}: one version per client ({raw.strip()!r})")
                row = CLIENTS[name]
                if row.policy == "go" and name != "go" and not version.startswith("go"):
                    # A Go program verifies as the Go release that built it, and
                    # its own release does not say which: one Kubernetes minor
                    # is built with several over its patches (release-1.30
                    # moved from go1.22 to go1.23 in February 2025,
                    # kubernetes/kubernetes#130195).
                    raise UsageError(
                        f"--client {raw.strip()}: {version} is {name}'s own release, not the "
                        f"Go release that built it: give that ({name}@go1.22), or the "
                        "program itself (--binary PATH or --pid PID reads its build info)"
                    )
                versions[name] = version
            if name not in out:
                out.append(name)
    return tuple(out), versions


def client(name: str) -> Client:
    """The registry row of ``name``; :class:`UsageError` for an unknown client."""
    try:
        return CLIENTS[name]
    except KeyError:
        raise UsageError(f"unknown client {name!r} (known: {', '.join(verifiers())})") from None
