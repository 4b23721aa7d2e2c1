"""A real registry on loopback (Debian's ``docker-registry``, the distribution
project's server), a token service for its Bearer flow, a pusher speaking the
distribution API, and a hostile registry for the limits.

Everything listens on 127.0.0.1 only and lives under the test's tmp_path.
Basic-auth users: the bcrypt entry comes from ``htpasswd -nbB`` (apache2-utils)
when installed; otherwise the registry provisions the htpasswd file itself (a
missing file gets user ``docker`` and a random password, logged at start-up).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import http.client
import http.server
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from trustdoctor.lab import pki

from .images import Built

REGISTRY_BIN = shutil.which("docker-registry") or shutil.which("registry")
SKOPEO = shutil.which("skopeo")
HTPASSWD = shutil.which("htpasswd")
NO_REGISTRY = "Debian's docker-registry is not installed (apt-get install docker-registry)"
TOKEN_ISSUER = "trustdoctor-test-issuer"
TOKEN_SERVICE = "trustdoctor-test-registry"
FAR_PAST = pki.NOW - 3650 * pki.DAY
FAR_FUTURE = pki.NOW + 3650 * pki.DAY


def isolate_env(tmp: Path, monkeypatch: Any, *, ca_file: Path | None = None) -> dict[str, str]:
    """HOME, DOCKER_CONFIG, XDG dirs and OpenSSL's default paths all under ``tmp``.

    ``SSL_CERT_FILE`` is the given CA (or an unrelated one) and ``SSL_CERT_DIR``
    an empty directory, so the tool's "own" trust never comes from the host.
    Returns the variables set (for subprocesses).
    """
    home = tmp / "home"
    for d in ("home", "home/.docker", "xdg-cache", "xdg-config", "empty-certs"):
        (tmp / d).mkdir(parents=True, exist_ok=True)
    if ca_file is None:
        ca_file = tmp / "unrelated-ca.pem"
        if not ca_file.exists():
            ca_file.write_bytes(pki.make_cert("Unrelated Test Root").pem)
    env = {
        "HOME": str(home),
        "DOCKER_CONFIG": str(home / ".docker"),
        "XDG_CACHE_HOME": str(tmp / "xdg-cache"),
        "XDG_CONFIG_HOME": str(tmp / "xdg-config"),
        "SSL_CERT_FILE": str(ca_file),
        "SSL_CERT_DIR": str(tmp / "empty-certs"),
    }
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    for k in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY"):
        monkeypatch.delenv(k, raising=False)
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def server_files(
    tmp: Path, name: str = "Registry Test Root CA"
) -> tuple[pki.Issued, Path, Path, Path]:
    """(CA, ca.pem, server chain, server key) for 127.0.0.1 and localhost."""
    ca = pki.make_cert(name, not_before=FAR_PAST, not_after=FAR_FUTURE)
    leaf = pki.make_cert(
        "127.0.0.1",
        issuer=ca,
        ca=False,
        ips=["127.0.0.1"],
        dns=["localhost"],
        not_before=FAR_PAST,
        not_after=FAR_FUTURE,
    )
    tmp.mkdir(parents=True, exist_ok=True)
    (tmp / "ca.pem").write_bytes(ca.pem)
    (tmp / "server.pem").write_bytes(leaf.pem + ca.pem)
    (tmp / "server.key").write_bytes(leaf.key_pem)
    return ca, tmp / "ca.pem", tmp / "server.pem", tmp / "server.key"


# -- the token service -------------------------------------------------------------------------


def libtrust_kid(key: ec.EllipticCurvePrivateKey) -> str:
    """The key ID distribution's token verifier expects: libtrust's fingerprint format."""
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    b32 = base64.b32encode(hashlib.sha256(der).digest()[:30]).decode().rstrip("=")
    return ":".join(b32[i : i + 4] for i in range(0, 48, 4))


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


class TokenServer:
    """HTTPS token endpoint (docker's token flow): Basic credentials in, an ES256 JWT out.

    ``refresh_tokens`` accepted as OAuth2 refresh tokens (POST grant_type=refresh_token).
    Requests are recorded in ``requests`` (method, query, authorization user).
    """

    def __init__(self, tmp: Path, user: str, password: str, tls: ssl.SSLContext) -> None:
        self.user = user
        self.password = password
        self.refresh_tokens: set[str] = set()
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.cert = pki.make_cert("Token Signer", key=self.key, not_before=FAR_PAST,
                                  not_after=FAR_FUTURE)  # fmt: skip
        self.bundle = tmp / "token-signer.pem"
        self.bundle.write_bytes(self.cert.pem)
        self.requests: list[tuple[str, dict[str, str], str | None]] = []
        server = self

        class H(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                self.request.settimeout(10)
                self.request = tls.wrap_socket(self.request, server_side=True)
                super().setup()

            def _answer(self, params: dict[str, str], who: str | None) -> None:
                server.requests.append((self.command, params, who))
                if who is None and (self.headers.get("Authorization") or self.command == "POST"):
                    body = b'{"errors":[{"code":"UNAUTHORIZED","message":"bad credentials"}]}'
                    self.send_response(401)
                else:
                    actions = ["pull", "push"] if who else []
                    body = json.dumps({"token": server.token(params.get("scope", ""), who or "",
                                                             actions)}).encode()  # fmt: skip
                    self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                q = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(self.path).query))
                who = None
                auth = self.headers.get("Authorization", "")
                if auth.startswith("Basic "):
                    u, _, p = base64.b64decode(auth[6:]).decode().partition(":")
                    if (u, p) == (server.user, server.password):
                        who = u
                self._answer(q, who)

            def do_POST(self) -> None:
                n = int(self.headers.get("Content-Length", "0"))
                form = dict(urllib.parse.parse_qsl(self.rfile.read(n).decode()))
                who = None
                if (
                    form.get("grant_type") == "refresh_token"
                    and form.get("refresh_token") in server.refresh_tokens
                ):
                    who = server.user
                self._answer(form, who)

            def log_message(self, format: str, *args: object) -> None:
                pass

        class S(http.server.ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: object, client_address: object) -> None:
                pass

        self.httpd = S(("127.0.0.1", 0), H)
        self.port = self.httpd.server_address[1]
        self.realm = f"https://127.0.0.1:{self.port}/token"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def token(self, scope: str, subject: str, actions: list[str]) -> str:
        access = []
        m = re.match(r"^repository:([^:]+):", scope)
        if m and actions:
            access.append({"type": "repository", "name": m.group(1), "actions": actions})
        now = int(time.time())
        claims = {
            "iss": TOKEN_ISSUER,
            "sub": subject,
            "aud": TOKEN_SERVICE,
            "exp": now + 600,
            "nbf": now - 60,
            "iat": now,
            "jti": os.urandom(8).hex(),
            "access": access,
        }
        header = {"typ": "JWT", "alg": "ES256", "kid": libtrust_kid(self.key)}
        signing = f"{_b64url(json.dumps(header).encode())}.{_b64url(json.dumps(claims).encode())}"
        r, s = decode_dss_signature(self.key.sign(signing.encode(), ec.ECDSA(hashes.SHA256())))
        return f"{signing}.{_b64url(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


# -- the real registry -------------------------------------------------------------------------


class Registry:
    """``docker-registry serve`` on 127.0.0.1 with a generated config.

    ``auth``: ``"htpasswd"`` (Basic), ``"token"`` (Bearer via :class:`TokenServer`)
    or ``None``; ``tls``: serve HTTPS with a certificate from a fresh CA.
    """

    def __init__(self, tmp: Path, *, auth: str | None = "htpasswd", tls: bool = True) -> None:
        assert REGISTRY_BIN is not None, NO_REGISTRY
        self.tmp = tmp
        tmp.mkdir(parents=True, exist_ok=True)
        self.ca, self.ca_file, chain, key = server_files(tmp / "pki")
        self.tls = tls
        self.user = "ci-bot"
        self.password = "s3cret-" + os.urandom(6).hex()
        self.token_server: TokenServer | None = None
        self.log = tmp / "registry.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.auth = auth
        lines = [
            "version: 0.1",
            "log:",
            "  level: info",
            "  accesslog:",
            "    disabled: true",
            "storage:",
            "  filesystem:",
            f"    rootdirectory: {tmp / 'data'}",
            "  maintenance:",
            "    uploadpurging:",
            "      enabled: false",
            "http:",
            "  addr: 127.0.0.1:{port}",
            f"  secret: {os.urandom(16).hex()}",
        ]
        if tls:
            lines += ["  tls:", f"    certificate: {chain}", f"    key: {key}"]
        if auth == "htpasswd":
            hp = tmp / "htpasswd"
            if HTPASSWD:
                out = subprocess.run(
                    [HTPASSWD, "-nbB", self.user, self.password],
                    capture_output=True,
                    check=True,
                    timeout=30,
                ).stdout.decode()
                hp.write_text(out.strip() + "\n")
            else:
                self.user = "docker"  # the registry provisions it; password read from the log
            lines += ["auth:", "  htpasswd:", "    realm: trustdoctor-test", f"    path: {hp}"]
        elif auth == "token":
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(chain, key)
            self.token_server = TokenServer(tmp, self.user, self.password, ctx)
            lines += [
                "auth:",
                "  token:",
                f"    realm: {self.token_server.realm}",
                f"    service: {TOKEN_SERVICE}",
                f"    issuer: {TOKEN_ISSUER}",
                f"    rootcertbundle: {self.token_server.bundle}",
            ]
        self.config_text = "\n".join(lines) + "\n"
        self.port = 0

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> Registry:
        for _attempt in range(5):
            self.port = free_port()
            cfg = self.tmp / "config.yml"
            cfg.write_text(self.config_text.replace("{port}", str(self.port)))
            log = open(self.log, "wb")  # noqa: SIM115 - closed on stop
            self.proc = subprocess.Popen(
                [str(REGISTRY_BIN), "serve", str(cfg)],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
            log.close()
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                text = self.log.read_text(errors="replace")
                if f"listening on 127.0.0.1:{self.port}" in text:
                    if self.auth == "htpasswd" and not HTPASSWD:
                        m = re.search(r"password=(\S+) user=docker", text)
                        assert m, text[-2000:]
                        self.password = m.group(1)
                    return self
                if self.proc.poll() is not None:
                    break
                time.sleep(0.05)
            self.stop()
            if "address already in use" not in self.log.read_text(errors="replace"):
                break
        raise AssertionError(f"docker-registry did not start:\n{self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        if self.token_server is not None:
            self.token_server.stop()
            self.token_server = None

    def __enter__(self) -> Registry:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- pushing (the distribution API, as a client would)

    def _client_ctx(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca_file))

    def _auth_header(self, repo: str) -> dict[str, str]:
        if self.auth == "htpasswd":
            pair = f"{self.user}:{self.password}".encode()
            return {"Authorization": "Basic " + base64.b64encode(pair).decode()}
        if self.auth == "token":
            assert self.token_server is not None
            tok = self.token_server.token(f"repository:{repo}:pull,push", self.user,
                                          ["pull", "push"])  # fmt: skip
            return {"Authorization": f"Bearer {tok}"}
        return {}

    def call(
        self, method: str, path: str, repo: str, body: bytes | None = None, **headers: str
    ) -> tuple[int, dict[str, str], bytes]:
        if self.tls:
            conn: http.client.HTTPConnection = http.client.HTTPSConnection(
                "127.0.0.1", self.port, context=self._client_ctx(), timeout=30
            )
        else:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            hdrs = {
                **self._auth_header(repo),
                **{k.replace("_", "-"): v for k, v in headers.items()},
            }
            conn.request(method, path, body=body, headers=hdrs)
            r = conn.getresponse()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
        finally:
            conn.close()

    def push_blob(self, repo: str, data: bytes) -> str:
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        status, _, _ = self.call("HEAD", f"/v2/{repo}/blobs/{digest}", repo)
        if status == 200:
            return digest
        status, hdrs, body = self.call("POST", f"/v2/{repo}/blobs/uploads/", repo)
        assert status == 202, (status, body)
        loc = urllib.parse.urlsplit(hdrs["location"])
        sep = "&" if loc.query else "?"
        path = f"{loc.path}?{loc.query}" if loc.query else loc.path
        status, _, body = self.call(
            "PUT",
            f"{path}{sep}digest={urllib.parse.quote(digest)}",
            repo,
            body=data,
            Content_Type="application/octet-stream",
        )
        assert status == 201, (status, body)
        return digest

    def push_manifest(self, repo: str, ref: str, media_type: str, body: bytes) -> None:
        status, _, text = self.call(
            "PUT", f"/v2/{repo}/manifests/{ref}", repo, body=body, Content_Type=media_type
        )
        assert status == 201, (status, text)

    def push(self, repo: str, tag: str, image: Built) -> str:
        """Push every blob, child manifest and the top manifest; returns the top digest."""
        for data in image.blobs.values():
            self.push_blob(repo, data)
        for digest, (mtype, body) in image.manifests.items():
            self.push_manifest(repo, digest, mtype, body)
        self.push_manifest(repo, tag, image.media_type, image.top)
        return image.digest

    def docker_config(self, path: Path) -> None:
        """Write ``auths`` credentials for this registry to ``path``/config.json."""
        pair = base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
        path.mkdir(parents=True, exist_ok=True)
        (path / "config.json").write_text(json.dumps({"auths": {self.host: {"auth": pair}}}))


@contextlib.contextmanager
def running(tmp: Path, **kw: Any) -> Iterator[Registry]:
    reg = Registry(tmp, **kw)
    with reg:
        yield reg


# -- a hostile registry ------------------------------------------------------------------------

Route = Callable[[http.server.BaseHTTPRequestHandler], None]


class Hostile:
    """A loopback HTTP(S) "registry" whose answers the test writes: ``routes[path] = fn``.

    Unknown paths answer 404 with a distribution-style error.  ``hits`` counts
    requests per path; ``sent`` counts body bytes written by the helpers below.
    """

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.routes: dict[str, Route] = {}
        self.hits: dict[str, int] = {}
        self.sent = 0
        self.tls = tls
        server = self

        class H(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                self.request.settimeout(20)
                if server.tls is not None:
                    self.request = server.tls.wrap_socket(self.request, server_side=True)
                super().setup()

            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                server.hits[path] = server.hits.get(path, 0) + 1
                self.close_connection = True
                route = server.routes.get(path)
                if route is None:
                    json_answer(b'{"errors":[{"code":"NOT_FOUND","message":"no such thing"}]}',
                                404)(self)  # fmt: skip
                else:
                    route(self)

            def log_message(self, format: str, *args: object) -> None:
                pass

        class S(http.server.ThreadingHTTPServer):
            daemon_threads = True
            block_on_close = False

            def handle_error(self, request: object, client_address: object) -> None:
                pass

        self.httpd = S(("127.0.0.1", 0), H)
        self.port = self.httpd.server_address[1]
        self.host = f"127.0.0.1:{self.port}"
        self.routes["/v2/"] = json_answer(b"{}")
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)

    def __enter__(self) -> Hostile:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def serve_image(self, repo: str, tag: str, image: Built) -> None:
        """Serve ``image`` honestly (tests then break one part of it)."""
        for digest, data in image.blobs.items():
            self.routes[f"/v2/{repo}/blobs/{digest}"] = blob_answer(data, self)
        for digest, (mtype, body) in image.manifests.items():
            self.routes[f"/v2/{repo}/manifests/{digest}"] = json_answer(body, ctype=mtype)
        self.routes[f"/v2/{repo}/manifests/{tag}"] = json_answer(image.top, ctype=image.media_type)


def json_answer(body: bytes, status: int = 200, ctype: str = "application/json") -> Route:
    def route(h: http.server.BaseHTTPRequestHandler) -> None:
        h.send_response(status)
        h.send_header("Content-Type", ctype)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        with contextlib.suppress(OSError):
            h.wfile.write(body)

    return route


def blob_answer(data: bytes, counter: Hostile | None = None, length: int | None = None) -> Route:
    def route(h: http.server.BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "application/octet-stream")
        h.send_header("Content-Length", str(len(data) if length is None else length))
        h.end_headers()
        with contextlib.suppress(OSError):
            h.wfile.write(data)
            if counter is not None:
                counter.sent += len(data)

    return route


def endless(chunk: bytes, counter: Hostile, declared: int | None = None, delay: float = 0.0,
            limit: int = 2 * 1024**3) -> Route:  # fmt: skip
    """Stream ``chunk`` again and again (up to ``limit`` bytes), as fast as the client reads."""

    def route(h: http.server.BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "application/octet-stream")
        if declared is not None:
            h.send_header("Content-Length", str(declared))
        h.end_headers()
        sent = 0
        try:
            while sent < limit:
                h.wfile.write(chunk)
                sent += len(chunk)
                counter.sent += len(chunk)
                if delay:
                    h.wfile.flush()
                    time.sleep(delay)
        except OSError:
            return

    return route


def redirect(location: str, status: int = 307) -> Route:
    def route(h: http.server.BaseHTTPRequestHandler) -> None:
        h.send_response(status)
        h.send_header("Location", location)
        h.send_header("Content-Length", "0")
        h.end_headers()

    return route
