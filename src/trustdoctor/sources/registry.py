"""Pull what trust needs from an image registry (the OCI distribution API).

Standard library only (``http.client`` + ``ssl``; docs/dependencies.md says
why).  :class:`RemoteImage` resolves a reference to one image (an index is
narrowed to one platform), reads its config, and opens each layer blob as a
stream that is verified against the manifest (size and digest) as it is read;
``sources.image`` applies the layers and keeps only the trust files.

What it does, as a docker client would (docs/stores-inputs.md, "Registries"):

* **API**: ``GET /v2/`` (the ping, to learn the authentication scheme), then
  ``GET /v2/<name>/manifests/<tag|digest>`` with the four image media types in
  ``Accept``, ``GET /v2/<name>/blobs/<digest>`` for the config and layers.
  Redirects (blob stores often answer 307 to a CDN) are followed up to
  ``max_redirects`` times, never from HTTPS to HTTP; ``Authorization`` goes to
  the registry's own origin only.
* **Credentials** from the Docker config (``$DOCKER_CONFIG/config.json``, else
  ``~/.docker/config.json``): ``credHelpers[<registry>]``, else ``credsStore``
  (``docker-credential-<name> get``, the server address on stdin), else
  ``auths[<registry>]`` (``auth`` = base64 ``user:password``, or
  ``username``/``password``, ``identitytoken``, ``registrytoken``).
* **Authentication**: a ``Basic`` challenge is answered with the credentials;
  a ``Bearer`` challenge by asking its ``realm`` for a token for
  ``repository:<name>:pull`` (``service`` from the challenge), with the
  credentials as Basic (or an identity token as an OAuth2 refresh token, POST).
* **TLS**: the tool's own default verify paths (``SSL_CERT_FILE`` /
  ``SSL_CERT_DIR`` honoured, as OpenSSL does) plus, as dockerd does, every
  ``*.crt`` in ``/etc/docker/certs.d/<registry>/`` as an extra CA and each
  ``*.cert``/``*.key`` pair there as a client certificate.  A certificate that
  does not verify is a :class:`~trustdoctor.errors.RegistryTrustError` (the
  registry, the host:port, the verifier's reason), not a crash.
* **Plain HTTP** only with ``insecure_registry`` and only to a loopback
  registry (a test registry); anything else is refused.
* **Bounds**: a per-operation ``timeout``, one ``deadline`` for the whole pull
  (a watchdog closes every socket when it passes, so a registry that trickles
  bytes cannot hold the pull), manifests ≤ 4 MiB, JSON blobs ≤ 16 MiB, at most
  ``max_layers`` layers, a blob may not send a byte beyond its declared size.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import http.client
import io
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
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import IO, Any

from ..errors import (
    ConnectError,
    InputError,
    RegistryTrustError,
    SourceError,
    UsageError,
)
from ..model.record import field, mutable_record, record
from .imageref import (
    CONFIG_TYPES,
    DOCKER_HUB,
    DOCKER_HUB_AUTH_KEYS,
    INDEX_TYPES,
    LAYER_TYPES,
    MANIFEST_TYPES,
    SCHEMA1_TYPES,
    ImageRef,
    Platform,
    choose_manifest,
    is_loopback,
    join_host_port,
)
from .layercache import DEFAULT_MAX_BYTES, LayerCache, default_cache_dir

# dockerd's per-registry certificate directory (moby registry.CertsDir, Linux,
# rootful): <dir>/<host[:port]>/*.crt extra CAs, *.cert + *.key client pairs.
DOCKER_CERTS_DIRS: tuple[Path, ...] = (Path("/etc/docker/certs.d"),)
MAX_MANIFEST = 4 * 1024 * 1024  # distribution's server refuses larger manifests
MAX_CONFIG = 16 * 1024 * 1024
MAX_TOKEN = 1024 * 1024
MAX_CONFIG_FILE = 4 * 1024 * 1024  # ~/.docker/config.json
MAX_HELPER_OUTPUT = 1024 * 1024
HELPER_TIMEOUT = 30.0
DEFAULT_MAX_LAYERS = 256  # docker itself stops at 125-128 (overlay2 "max depth exceeded")
_ACCEPT = ", ".join(sorted(INDEX_TYPES | MANIFEST_TYPES))
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_DIGEST_RX = re.compile(r"^(sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128})$")
_HELPER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_CHUNK = 256 * 1024


@record
class PullOptions:
    """How ``--image REF`` pulls (the CLI builds it from ``--platform``/``--insecure-registry``).

    Attributes:
        platform: the platform to pick from an index; ``None``: the host's
            (``linux/<machine>``), falling back to the first image with a warning.
        insecure_registry: plain HTTP, allowed for loopback registries only.
        docker_config: directory of ``config.json``; ``None``: ``$DOCKER_CONFIG``,
            else ``~/.docker``.
        certs_dirs: directories holding ``<registry>/`` certificate folders
            (``None``: :data:`DOCKER_CERTS_DIRS`).
        cache: use the layer cache; ``cache_dir`` its directory (``None``: the
            default under ``$XDG_CACHE_HOME``); ``cache_max`` its size bound.
        timeout: seconds for one network operation; ``deadline``: for the pull.
        environ: the environment for the defaults above and for credential
            helpers (``PATH``); ``None``: the tool's own.
    """

    platform: Platform | None = None
    insecure_registry: bool = False
    docker_config: Path | None = None
    certs_dirs: tuple[Path, ...] | None = None
    cache: bool = True
    cache_dir: Path | None = None
    cache_max: int = DEFAULT_MAX_BYTES
    timeout: float = 30.0
    deadline: float = 900.0
    max_redirects: int = 5
    max_layers: int = DEFAULT_MAX_LAYERS
    environ: Mapping[str, str] | None = field(default=None, repr=False)

    def env(self) -> Mapping[str, str]:
        return os.environ if self.environ is None else self.environ


@record
class Descriptor:
    """A content descriptor of a manifest: what to fetch and how to check it."""

    digest: str
    size: int
    media_type: str | None = None


@record
class Credentials:
    """What the Docker config holds for one registry (never printed)."""

    username: str | None = field(default=None, repr=False)
    secret: str | None = field(default=None, repr=False)
    identity_token: str | None = field(default=None, repr=False)
    registry_token: str | None = field(default=None, repr=False)
    origin: str = ""  # "auths in /home/u/.docker/config.json", "helper docker-credential-pass"


# -- credentials -------------------------------------------------------------------------


def docker_config_dir(environ: Mapping[str, str]) -> Path | None:
    """``$DOCKER_CONFIG``, else ``$HOME/.docker`` (docker/cli config.Dir)."""
    if environ.get("DOCKER_CONFIG"):
        return Path(environ["DOCKER_CONFIG"])
    home = environ.get("HOME")
    return Path(home) / ".docker" if home else None


def _auth_keys(ref: ImageRef) -> tuple[str, ...]:
    return DOCKER_HUB_AUTH_KEYS if ref.registry == DOCKER_HUB else (ref.registry,)


def _hostname_of(key: str) -> str:
    """docker/cli ConvertToHostname: drop the scheme and any path."""
    for scheme in ("http://", "https://"):
        if key.startswith(scheme):
            key = key[len(scheme) :]
            break
    return key.split("/", 1)[0]


def load_credentials(
    ref: ImageRef, options: PullOptions, warnings: list[str]
) -> Credentials | None:
    """The credentials docker would use for ``ref``'s registry, or ``None`` (anonymous)."""
    env = options.env()
    cfg_dir = options.docker_config or docker_config_dir(env)
    if cfg_dir is None:
        return None
    path = cfg_dir / "config.json"
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_CONFIG_FILE + 1)
    except FileNotFoundError:
        return None
    except OSError as exc:
        warnings.append(f"{path}: not readable ({exc.strerror}); pulling anonymously")
        return None
    if len(raw) > MAX_CONFIG_FILE:
        warnings.append(f"{path}: larger than {MAX_CONFIG_FILE} bytes; ignored")
        return None
    try:
        cfg = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        warnings.append(f"{path}: not valid JSON; pulling anonymously")
        return None
    if not isinstance(cfg, dict):
        return None
    keys = _auth_keys(ref)
    server = keys[0]
    helpers = cfg.get("credHelpers")
    helper = None
    if isinstance(helpers, dict):
        helper = next((helpers[k] for k in keys if isinstance(helpers.get(k), str)), None)
    if helper is None and isinstance(cfg.get("credsStore"), str) and cfg["credsStore"]:
        helper = cfg["credsStore"]
    if helper is not None:
        return _from_helper(str(helper), server, env, options)
    auths = cfg.get("auths")
    if not isinstance(auths, dict):
        return None
    entry = next((auths[k] for k in keys if isinstance(auths.get(k), dict)), None)
    if entry is None:
        wanted = {_hostname_of(k) for k in keys}
        entry = next(
            (v for k, v in auths.items() if isinstance(v, dict) and _hostname_of(k) in wanted),
            None,
        )
    if entry is None:
        return None
    origin = f"auths in {path}"
    user, secret = entry.get("username"), entry.get("password")
    if isinstance(entry.get("auth"), str) and entry["auth"]:
        try:
            decoded = base64.b64decode(entry["auth"], validate=True).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            raise InputError(
                f"{path}: the auth entry for {server} is not base64 user:password"
            ) from None
        user, sep, secret = decoded.partition(":")
        if not sep:
            raise InputError(f"{path}: the auth entry for {server} is not user:password")
    ident = entry.get("identitytoken")
    regtok = entry.get("registrytoken")
    if not any(isinstance(v, str) and v for v in (secret, ident, regtok)):
        return None
    return Credentials(
        username=user if isinstance(user, str) else None,
        secret=secret if isinstance(secret, str) else None,
        identity_token=ident if isinstance(ident, str) and ident else None,
        registry_token=regtok if isinstance(regtok, str) and regtok else None,
        origin=origin,
    )


def _from_helper(
    name: str, server: str, env: Mapping[str, str], options: PullOptions
) -> Credentials | None:
    """``docker-credential-<name> get`` (docker-credential-helpers protocol)."""
    program = f"docker-credential-{name}"
    if not _HELPER_NAME.match(name):
        raise InputError(f"Docker config: credential helper name {name[:40]!r} is not valid")
    exe = shutil.which(program, path=env.get("PATH", os.defpath))
    if exe is None:
        raise SourceError(
            f"credential helper {program} (configured in the Docker config for {server}) "
            "is not on PATH"
        )
    try:
        proc = subprocess.run(
            [exe, "get"],
            input=server.encode(),
            capture_output=True,
            timeout=min(HELPER_TIMEOUT, options.deadline),
            env=dict(env),
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise SourceError(
            f"credential helper {program} did not answer within {HELPER_TIMEOUT:g} s"
        ) from None
    except OSError as exc:
        raise SourceError(f"credential helper {program} could not run ({exc.strerror})") from None
    out = proc.stdout[:MAX_HELPER_OUTPUT]
    if proc.returncode != 0:
        text = (out + proc.stderr[:4096]).decode("utf-8", "replace")
        if "credentials not found" in text.lower():
            return None  # the helpers' ErrCredentialsNotFound: pull anonymously
        first = " ".join(text.split())[:160] or f"exit status {proc.returncode}"
        raise SourceError(f"credential helper {program} failed: {first}")
    try:
        doc = json.loads(out)
    except (ValueError, UnicodeDecodeError):
        raise SourceError(f"credential helper {program} did not answer JSON") from None
    if not isinstance(doc, dict):
        raise SourceError(f"credential helper {program} did not answer a JSON object")
    user, secret = doc.get("Username"), doc.get("Secret")
    if not isinstance(secret, str) or not secret:
        return None
    origin = f"credential helper {program}"
    if user == "<token>":  # the helpers' convention for an identity token
        return Credentials(identity_token=secret, origin=origin)
    return Credentials(username=user if isinstance(user, str) else "", secret=secret, origin=origin)


# -- TLS -----------------------------------------------------------------------------------


def registry_ssl_context(ref: ImageRef, options: PullOptions) -> tuple[ssl.SSLContext, list[Path]]:
    """The trust a docker client has for ``ref``'s registry; also the certs.d files used."""
    ctx = ssl.create_default_context()
    used: list[Path] = []
    names = [ref.registry] + ([ref.host] if ref.registry == DOCKER_HUB else [])
    dirs = options.certs_dirs if options.certs_dirs is not None else DOCKER_CERTS_DIRS
    for base in dirs:
        for name in names:
            d = base / name
            try:
                entries = sorted(os.listdir(d))
            except OSError:
                continue
            for entry in entries:
                p = d / entry
                try:
                    if entry.endswith(".crt"):
                        ctx.load_verify_locations(cafile=str(p))
                        used.append(p)
                    elif entry.endswith(".cert"):
                        key = d / (entry[: -len(".cert")] + ".key")
                        if not key.exists():
                            raise InputError(f"{p}: client certificate without {key.name}")
                        ctx.load_cert_chain(str(p), str(key))
                        used.append(p)
                    elif entry.endswith(".key"):
                        cert = d / (entry[: -len(".key")] + ".cert")
                        if not cert.exists():
                            raise InputError(f"{p}: client key without {cert.name}")
                except (OSError, ssl.SSLError) as exc:
                    raise InputError(f"{p}: not usable as a certificate ({_why(exc)})") from None
    return ctx, used


# -- the deadline watchdog -----------------------------------------------------------------


class _Deadline:
    """One deadline for the whole pull: when it passes, every open socket is shut down."""

    def __init__(self, seconds: float, label: str) -> None:
        self.seconds = seconds
        self.label = label
        self.end = time.monotonic() + seconds
        self.expired = False
        self._socks: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._fire)
        self._timer.daemon = True
        self._timer.start()

    def _fire(self) -> None:
        with self._lock:
            self.expired = True
            socks = list(self._socks)
        for s in socks:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)

    def track(self, s: socket.socket) -> None:
        with self._lock:
            if self.expired:
                raise self.error()
            self._socks.add(s)

    def forget(self, s: socket.socket) -> None:
        with self._lock:
            self._socks.discard(s)

    def remaining(self) -> float:
        return self.end - time.monotonic()

    def error(self) -> SourceError:
        return SourceError(
            f"{self.label}: the pull did not finish within {self.seconds:g} s "
            "(a slow or stalled registry)"
        )

    def check(self) -> None:
        if self.expired or self.remaining() <= 0:
            raise self.error()

    def cancel(self) -> None:
        self._timer.cancel()


# -- HTTP ----------------------------------------------------------------------------------


@mutable_record
class _Response:
    """An open HTTP response from a registry, with the connection it holds."""

    status: int
    headers: http.client.HTTPMessage
    resp: http.client.HTTPResponse
    conn: http.client.HTTPConnection
    sock: socket.socket
    url: str


@record
class _Challenge:
    """A WWW-Authenticate challenge: its scheme and parameters."""

    scheme: str  # "basic" | "bearer"
    params: dict[str, str]


_PARAM = re.compile(r'\s*([A-Za-z][A-Za-z0-9_-]*)\s*=\s*("(?:[^"\\]|\\.)*"|[^,\s]*)\s*,?')


def parse_challenge(header: str) -> _Challenge | None:
    """``WWW-Authenticate: Bearer realm="...",service="...",scope="..."`` (RFC 7235)."""
    scheme, _, rest = header.strip().partition(" ")
    if scheme.lower() not in ("basic", "bearer"):
        return None
    params: dict[str, str] = {}
    for m in _PARAM.finditer(rest):
        value = m.group(2)
        if value.startswith('"'):
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        params[m.group(1).lower()] = value
    return _Challenge(scheme.lower(), params)


class RegistryClient:
    """HTTP to one registry: authentication, redirects, bounds, TLS failures as findings."""

    def __init__(self, ref: ImageRef, options: PullOptions, warnings: list[str]) -> None:
        self.ref = ref
        self.options = options
        self.warnings = warnings
        self.label = str(ref)
        if options.insecure_registry and not is_loopback(ref.host):
            raise UsageError(
                f"--insecure-registry is for loopback test registries only, not {ref.registry}"
            )
        self.scheme = "http" if options.insecure_registry else "https"
        self.port = ref.port or (80 if self.scheme == "http" else 443)
        self.origin = (self.scheme, ref.host.lower(), self.port)
        self.ctx: ssl.SSLContext | None = None
        if self.scheme == "https":
            self.ctx, _used = registry_ssl_context(ref, options)
        self.creds = load_credentials(ref, options, warnings)
        self.challenge: _Challenge | None = None
        self.authorization: str | None = None
        self.deadline = _Deadline(options.deadline, self.label)
        self.transferred = 0  # bytes of HTTP bodies received (blobs, manifests, tokens)

    def close(self) -> None:
        self.deadline.cancel()

    # -- URLs and connections

    def url(self, path: str) -> str:
        return f"{self.scheme}://{join_host_port(self.ref.host, self.port)}{path}"

    def _open(
        self, scheme: str, host: str, port: int
    ) -> tuple[http.client.HTTPConnection, socket.socket]:
        self.deadline.check()
        timeout = max(0.001, min(self.options.timeout, self.deadline.remaining()))
        where = join_host_port(host, port)
        try:
            raw = socket.create_connection((host, port), timeout=timeout)
        except TimeoutError:
            raise ConnectError(
                f"{where}: connection timed out after {timeout:g} s", "timeout"
            ) from None
        except OSError as exc:
            if self.deadline.expired:
                raise self.deadline.error() from None
            raise ConnectError(f"{where}: cannot connect ({_why(exc)})", "unreachable") from None
        sock: socket.socket = raw
        try:
            if scheme == "https":
                assert self.ctx is not None
                # Tracked before the handshake, so the watchdog bounds it too.
                sock = self.ctx.wrap_socket(
                    raw, server_hostname=host, do_handshake_on_connect=False
                )
                self.deadline.track(sock)
                sock.do_handshake()
            else:
                self.deadline.track(sock)
        except ssl.SSLCertVerificationError as exc:
            sock.close()
            self.deadline.forget(sock)
            registry = self.ref.registry if (host.lower(), port) == self.origin[1:] else where
            reason = exc.verify_message or _why(exc)
            raise RegistryTrustError(registry, host, port, reason, exc.verify_code) from None
        except ssl.SSLError as exc:
            sock.close()
            self.deadline.forget(sock)
            hint = ""
            if "WRONG_VERSION_NUMBER" in str(exc) or "record layer failure" in str(exc):
                hint = (
                    " — the port does not speak TLS (a plain-HTTP registry? "
                    "--insecure-registry allows one on loopback only)"
                )
            raise ConnectError(
                f"{where}: TLS handshake failed ({_why(exc)}){hint}",
                "not-tls" if hint else "handshake-failed",
            ) from None
        except (TimeoutError, OSError) as exc:
            sock.close()
            self.deadline.forget(sock)
            if self.deadline.expired:
                raise self.deadline.error() from None
            raise ConnectError(
                f"{where}: TLS handshake failed ({_why(exc)})", "handshake-failed"
            ) from None
        conn = (
            http.client.HTTPSConnection(host, port, timeout=timeout, context=self.ctx)
            if scheme == "https"
            else http.client.HTTPConnection(host, port, timeout=timeout)
        )
        conn.sock = sock
        return conn, sock

    def _check_url(self, url: str) -> tuple[str, str, int, str]:
        parts = urllib.parse.urlsplit(url)
        scheme = parts.scheme.lower()
        host = parts.hostname or ""
        try:
            port = parts.port or (443 if scheme == "https" else 80)
        except ValueError:
            raise SourceError(f"{self.label}: the registry sent a malformed URL") from None
        if scheme not in ("http", "https") or not host:
            raise SourceError(f"{self.label}: the registry sent a non-HTTP URL ({url[:120]})")
        if scheme == "http" and not (self.options.insecure_registry and is_loopback(host)):
            raise SourceError(
                f"{self.label}: the registry sent the pull to plain HTTP ({host}); refused"
            )
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        return scheme, host, port, path

    def request(
        self,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        method: str = "GET",
        body: bytes | None = None,
        auth: bool = True,
        what: str = "request",
    ) -> _Response:
        """One request, redirects followed; the caller reads and closes the response."""
        seen: list[str] = []
        while True:
            scheme, host, port, path = self._check_url(url)
            hdrs = {"User-Agent": _user_agent(), "Accept-Encoding": "identity"}
            hdrs.update(headers or {})
            same_origin = (scheme, host.lower(), port) == self.origin
            if auth and same_origin and self.authorization:
                hdrs["Authorization"] = self.authorization
            conn, sock = self._open(scheme, host, port)
            try:
                conn.request(method, path, body=body, headers=hdrs)
                resp = conn.getresponse()
            except (OSError, http.client.HTTPException) as exc:
                self._close(conn, sock)
                raise self._net_error(host, port, what, exc) from None
            if resp.status in _REDIRECTS and method in ("GET", "HEAD"):
                location = resp.getheader("Location")
                self._close(conn, sock, resp)
                if not location:
                    raise SourceError(f"{self.label}: {what}: redirect without a Location")
                seen.append(url)
                url = urllib.parse.urljoin(url, location)
                if len(seen) > self.options.max_redirects:
                    loop = " (a redirect loop)" if url in seen else ""
                    raise SourceError(
                        f"{self.label}: {what}: more than {self.options.max_redirects} "
                        f"redirects{loop}"
                    )
                continue
            return _Response(resp.status, resp.headers, resp, conn, sock, url)

    def _close(
        self,
        conn: http.client.HTTPConnection,
        sock: socket.socket,
        resp: http.client.HTTPResponse | None = None,
    ) -> None:
        with contextlib.suppress(Exception):
            if resp is not None:
                resp.close()
        with contextlib.suppress(Exception):
            conn.close()
        with contextlib.suppress(Exception):
            sock.close()
        self.deadline.forget(sock)

    def _net_error(self, host: str, port: int, what: str, exc: BaseException) -> SourceError:
        if self.deadline.expired or self.deadline.remaining() < 0.05:
            # The watchdog fired, or the last read's timeout was cut to the deadline.
            return self.deadline.error()
        where = join_host_port(host, port)
        if isinstance(exc, TimeoutError):
            return ConnectError(
                f"{self.label}: {what}: {where} did not answer within {self.options.timeout:g} s",
                "timeout",
            )
        return SourceError(f"{self.label}: {what}: {where}: {_why(exc)}")

    def read_body(self, r: _Response, limit: int, what: str) -> bytes:
        """The whole body, at most ``limit`` bytes (more is an error), under the deadline."""
        length = r.resp.getheader("Content-Length")
        if length is not None and length.isdigit() and int(length) > limit:
            self._close(r.conn, r.sock, r.resp)
            raise InputError(
                f"{self.label}: {what} is {int(length)} bytes, over the {limit}-byte limit"
            )
        chunks: list[bytes] = []
        total = 0
        try:
            while True:
                self._arm(r.sock)
                data = r.resp.read1(_CHUNK)
                if not data:
                    if self.deadline.expired:
                        raise self.deadline.error()
                    break
                total += len(data)
                self.transferred += len(data)
                if total > limit:
                    raise InputError(f"{self.label}: {what} is over the {limit}-byte limit")
                chunks.append(data)
        except (OSError, http.client.HTTPException) as exc:
            raise self._net_error(r.conn.host, r.conn.port, what, exc) from None
        finally:
            self._close(r.conn, r.sock, r.resp)
        return b"".join(chunks)

    def _arm(self, sock: socket.socket) -> None:
        """Per-read timeout: the operation timeout, but never past the deadline."""
        self.deadline.check()
        with contextlib.suppress(OSError):
            sock.settimeout(max(0.001, min(self.options.timeout, self.deadline.remaining())))

    def _error_text(self, r: _Response) -> str:
        """The registry's own words (``errors[0].code: message``), short and printable."""
        try:
            body = self.read_body(r, 64 * 1024, "error body")
        except (InputError, SourceError):
            return ""
        try:
            doc = json.loads(body)
            err = doc["errors"][0]
            text = f"{err.get('code', '')}: {err.get('message', '')}".strip(": ")
        except (ValueError, KeyError, IndexError, TypeError, AttributeError, UnicodeDecodeError):
            text = body[:200].decode("utf-8", "replace")
        text = " ".join(text.split())
        return "".join(c for c in text if c.isprintable())[:200]

    # -- authentication

    def ping(self) -> None:
        """``GET /v2/``: is it a registry, and which authentication does it want?"""
        r = self.request(self.url("/v2/"), auth=False, what="API check (/v2/)")
        if r.status == 200:
            self.read_body(r, 64 * 1024, "API check")
            return
        if r.status == 401:
            header = r.headers.get("WWW-Authenticate", "")
            self._error_text(r)
            self.challenge = parse_challenge(header)
            if self.challenge is None:
                raise SourceError(
                    f"{self.label}: the registry asks for an authentication scheme this tool "
                    f"does not speak ({header.split(' ', 1)[0][:40] or 'none named'})"
                )
            self._authorize()
            return
        text = self._error_text(r)
        if r.status == 404:
            raise SourceError(
                f"{self.label}: {self.ref.endpoint} has no registry API at /v2/ (HTTP 404)"
            )
        raise SourceError(f"{self.label}: API check (/v2/) answered HTTP {r.status}{_detail(text)}")

    def _authorize(self, scope_hint: str | None = None) -> None:
        ch = self.challenge
        if ch is None:
            return
        creds = self.creds
        if ch.scheme == "basic":
            if creds is None or creds.secret is None:
                raise SourceError(
                    f"{self.label}: the registry requires a login and the Docker config has "
                    f"no credentials for {self.ref.registry} (docker login {self.ref.registry} "
                    "stores them)"
                )
            pair = f"{creds.username or ''}:{creds.secret}".encode()
            self.authorization = "Basic " + base64.b64encode(pair).decode("ascii")
            return
        if creds is not None and creds.registry_token:
            self.authorization = f"Bearer {creds.registry_token}"
            return
        realm = ch.params.get("realm", "")
        if not realm:
            raise SourceError(f"{self.label}: the registry's Bearer challenge names no realm")
        scope = f"repository:{self.ref.repository}:pull"
        token = self._token(realm, ch.params.get("service"), scope_hint or scope)
        self.authorization = f"Bearer {token}"

    def _token(self, realm: str, service: str | None, scope: str) -> str:
        creds = self.creds
        query = [("scope", scope)]
        if service:
            query.insert(0, ("service", service))
        headers: dict[str, str] = {}
        body: bytes | None = None
        method = "GET"
        if creds is not None and creds.identity_token:
            method = "POST"
            form = [*query, ("grant_type", "refresh_token"), ("client_id", "trustdoctor"),
                    ("refresh_token", creds.identity_token)]  # fmt: skip
            body = urllib.parse.urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            url = realm
        else:
            sep = "&" if urllib.parse.urlsplit(realm).query else "?"
            url = realm + sep + urllib.parse.urlencode(query)
            if creds is not None and creds.secret is not None:
                pair = f"{creds.username or ''}:{creds.secret}".encode()
                headers["Authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
        r = self.request(url, headers=headers, method=method, body=body, auth=False,
                         what="token request")  # fmt: skip
        if r.status in (401, 403):
            self._error_text(r)
            who = (
                f"as {creds.username!r} ({creds.origin})"
                if creds and creds.username
                else (f"with the {creds.origin}" if creds else "anonymously")
            )
            raise SourceError(
                f"{self.label}: the token service refused the pull {who} (HTTP {r.status}); "
                f"check the login for {self.ref.registry}"
            )
        if r.status != 200:
            text = self._error_text(r)
            raise SourceError(
                f"{self.label}: token request answered HTTP {r.status}{_detail(text)}"
            )
        raw = self.read_body(r, MAX_TOKEN, "token answer")
        try:
            doc = json.loads(raw)
            token = doc.get("token") or doc.get("access_token")
        except (ValueError, UnicodeDecodeError, AttributeError):
            token = None
        if not isinstance(token, str) or not token or not token.isprintable() or " " in token:
            raise SourceError(f"{self.label}: the token service did not answer a token")
        return token

    def get(self, path: str, *, accept: str | None = None, what: str) -> _Response:
        """GET on the registry with authentication; a 401 re-authorizes once."""
        headers = {"Accept": accept} if accept else {}
        for attempt in range(2):
            r = self.request(self.url(path), headers=headers, what=what)
            if r.status != 401:
                return r
            header = r.headers.get("WWW-Authenticate", "")
            self._error_text(r)
            challenge = parse_challenge(header)
            if (
                attempt == 1
                or challenge is None
                or (self.authorization is not None and challenge.scheme == "basic")
            ):
                who = (
                    f"as {self.creds.username!r} ({self.creds.origin})"
                    if self.creds and self.creds.username
                    else "without credentials"
                )
                raise SourceError(
                    f"{self.label}: {what}: the registry refused the pull {who} (HTTP 401); "
                    f"docker login {self.ref.registry} stores credentials"
                )
            self.challenge = challenge
            self._authorize(challenge.params.get("scope"))
        raise AssertionError("unreachable")  # pragma: no cover


# -- the image -----------------------------------------------------------------------------


def _detail(text: str) -> str:
    return f" ({text})" if text else ""


def _why(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:160]


def _user_agent() -> str:
    from .. import __version__

    return f"trustdoctor/{__version__}"


def _digest_of(data: bytes, alg: str = "sha256") -> str:
    return f"{alg}:{hashlib.new(alg, data).hexdigest()}"


def _descriptor(d: Any, what: str, label: str) -> Descriptor:
    if not isinstance(d, dict):
        raise InputError(f"{label}: {what} is not a descriptor object")
    digest, size, mt = d.get("digest"), d.get("size"), d.get("mediaType")
    if not isinstance(digest, str) or not _DIGEST_RX.match(digest):
        raise InputError(f"{label}: {what} has a malformed digest {str(digest)[:80]!r}")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise InputError(f"{label}: {what} has no valid size")
    return Descriptor(digest, size, mt if isinstance(mt, str) else None)


class _BlobStream(io.RawIOBase):
    """A blob as it arrives: counted, bounded by its declared size, hashed, tee'd to the cache.

    :meth:`finish` reads what the consumer left (a tar stops at its end
    marker), then checks size and digest; only then does the cache keep it.
    """

    def __init__(
        self,
        client: RegistryClient,
        r: _Response,
        desc: Descriptor,
        what: str,
        tee: Any,
    ) -> None:
        self.client = client
        self.r = r
        self.desc = desc
        self.what = what
        self.tee = tee
        self.count = 0
        alg = desc.digest.split(":", 1)[0]
        self.hasher = hashlib.new(alg)
        self.eof = False

    def readable(self) -> bool:
        return True

    def readinto(self, buf: Any) -> int:
        if self.eof:
            return 0
        want = min(len(buf), self.desc.size - self.count + 1)
        try:
            self.client._arm(self.r.sock)
            data = self.r.resp.read1(max(1, want))
        except (OSError, http.client.HTTPException) as exc:
            raise self.client._net_error(
                self.r.conn.host, self.r.conn.port, self.what, exc
            ) from None
        n = len(data)
        if n == 0 and self.client.deadline.expired:
            raise self.client.deadline.error()  # the watchdog shut the socket: not an EOF
        if n == 0:
            self.eof = True
            self._verify()
            return 0
        self.count += n
        self.client.transferred += n
        if self.count > self.desc.size:
            raise InputError(
                f"{self.client.label}: {self.what}: the registry sent more than the "
                f"{self.desc.size} bytes the manifest declares; image refused"
            )
        self.hasher.update(data)
        if self.tee is not None:
            self.tee.write(data)
        buf[:n] = data
        return n

    def _verify(self) -> None:
        if self.count != self.desc.size:
            raise SourceError(
                f"{self.client.label}: {self.what}: the transfer ended after {self.count} of "
                f"{self.desc.size} bytes"
            )
        got = f"{self.desc.digest.split(':', 1)[0]}:{self.hasher.hexdigest()}"
        if got != self.desc.digest:
            raise InputError(
                f"{self.client.label}: {self.what}: content does not match its digest "
                f"(got {got[:19]}…, manifest says {self.desc.digest[:19]}…); image refused"
            )

    def finish(self) -> None:
        buf = bytearray(_CHUNK)
        while self.readinto(buf):
            pass
        if self.tee is not None:
            self.tee.commit()
            self.tee = None

    def abort(self) -> None:
        if self.tee is not None:
            self.tee.abort()
            self.tee = None
        self.client._close(self.r.conn, self.r.sock, self.r.resp)

    def close(self) -> None:
        if not self.closed:
            self.abort()
        super().close()


class _CachedStream(io.RawIOBase):
    """A verified cached blob (hashed when taken from the cache)."""

    def __init__(self, fh: IO[bytes]) -> None:
        self.fh = fh

    def readable(self) -> bool:
        return True

    def readinto(self, buf: Any) -> int:
        data = self.fh.read(len(buf))
        buf[: len(data)] = data
        return len(data)

    def finish(self) -> None:
        pass

    def abort(self) -> None:
        self.fh.close()

    def close(self) -> None:
        self.fh.close()
        super().close()


class RemoteImage:
    """One image in a registry, narrowed to one platform; its blobs verified as read."""

    def __init__(self, ref: ImageRef, options: PullOptions, *, host_machine: str) -> None:
        from .imageref import host_platform

        self.ref = ref
        self.options = options
        self.label = str(ref)
        self.warnings: list[str] = []
        self.platform = options.platform or host_platform(host_machine)
        self.client = RegistryClient(ref, options, self.warnings)
        self.cache: LayerCache | None = None
        if options.cache:
            root = options.cache_dir or default_cache_dir(options.env())
            if root is not None:
                cache = LayerCache(root, options.cache_max)
                if cache.usable:
                    self.cache = cache
                else:
                    self.warnings.append(f"layer cache {root} is not a private directory of "
                                         "this user; not used")  # fmt: skip
        self.digest: str | None = None
        self.from_cache = 0

    def close(self) -> None:
        self.client.close()

    def _manifest(self, reference: str, desc: Descriptor | None) -> tuple[str, dict[str, Any]]:
        what = f"manifest {reference[:19]}{'…' if len(reference) > 19 else ''}"
        r = self.client.get(
            f"/v2/{self.ref.repository}/manifests/{reference}", accept=_ACCEPT, what=what
        )
        if r.status == 404:
            text = self.client._error_text(r)
            raise InputError(f"{self.label}: not found in the registry{_detail(text)}")
        if r.status != 200:
            text = self.client._error_text(r)
            raise SourceError(f"{self.label}: {what}: HTTP {r.status}{_detail(text)}")
        ctype = (r.headers.get("Content-Type") or "").split(";", 1)[0].strip()
        header_digest = r.headers.get("Docker-Content-Digest")
        body = self.client.read_body(r, MAX_MANIFEST, what)
        if desc is not None:
            if len(body) != desc.size or _digest_of(body, desc.digest.split(":")[0]) != desc.digest:
                raise InputError(
                    f"{self.label}: {what}: content does not match its digest; image refused"
                )
        elif (
            reference.startswith(("sha256:", "sha512:"))
            and _digest_of(body, reference.split(":")[0]) != reference
        ):
            raise InputError(
                f"{self.label}: the manifest does not match the digest asked for; image refused"
            )
        if (
            header_digest
            and header_digest.startswith("sha256:")
            and _digest_of(body) != header_digest
        ):
            raise InputError(
                f"{self.label}: {what}: content does not match the registry's "
                "Docker-Content-Digest; image refused"
            )
        try:
            doc = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise InputError(f"{self.label}: {what} is not valid JSON") from None
        if not isinstance(doc, dict):
            raise InputError(f"{self.label}: {what} is not a JSON object")
        mt = doc.get("mediaType") if isinstance(doc.get("mediaType"), str) else None
        kind = mt or ctype
        if kind in SCHEMA1_TYPES or doc.get("schemaVersion") == 1:
            raise InputError(
                f"{self.label}: a schema 1 manifest (deprecated, refused by docker since "
                "20.10); push the image again with a current client"
            )
        if kind not in INDEX_TYPES | MANIFEST_TYPES:
            kind = "index" if "manifests" in doc else "manifest" if "layers" in doc else kind
        if self.digest is None:
            self.digest = _digest_of(body)
        return ("index" if kind == "index" or kind in INDEX_TYPES else "manifest"), doc

    def layout(self) -> tuple[dict[str, Any], list[Descriptor]]:
        """Resolve the reference: ``(image config, layer descriptors)``."""
        self.client.ping()
        kind, doc = self._manifest(self.ref.manifest_ref, None)
        for _depth in range(3):
            if kind == "manifest":
                break
            descs = doc.get("manifests")
            if not isinstance(descs, list) or not descs:
                raise InputError(f"{self.label}: the image index lists no manifests")
            if len(descs) > 4096:
                raise InputError(f"{self.label}: the image index lists {len(descs)} manifests")
            chosen = choose_manifest(
                descs,
                self.platform,
                explicit=self.options.platform is not None,
                image=self.label,
                warnings=self.warnings,
            )
            d = _descriptor(chosen, "index entry", self.label)
            if d.size > MAX_MANIFEST:
                raise InputError(f"{self.label}: a manifest of {d.size} bytes is over the limit")
            self.digest = None
            kind, doc = self._manifest(d.digest, d)
        else:
            raise InputError(f"{self.label}: image indexes nested too deeply")
        cfg = _descriptor(doc.get("config"), "config", self.label)
        if cfg.media_type is not None and cfg.media_type not in CONFIG_TYPES:
            raise InputError(
                f"{self.label}: not a container image (config media type "
                f"{cfg.media_type[:80]}: an OCI artifact?)"
            )
        raw_layers = doc.get("layers")
        if not isinstance(raw_layers, list):
            raise InputError(f"{self.label}: the manifest has no layers list")
        if len(raw_layers) > self.options.max_layers:
            raise InputError(
                f"{self.label}: the manifest names {len(raw_layers)} layers, over the limit of "
                f"{self.options.max_layers}; image refused"
            )
        layers = [_descriptor(d, f"layer {i}", self.label) for i, d in enumerate(raw_layers, 1)]
        for i, d in enumerate(layers, 1):
            if d.media_type is not None and d.media_type not in LAYER_TYPES:
                what = "encrypted" if "encrypted" in d.media_type else "not a filesystem layer"
                raise InputError(
                    f"{self.label}: layer {i} is {what} (media type {d.media_type[:80]})"
                )
        if cfg.size > MAX_CONFIG:
            raise InputError(f"{self.label}: image config of {cfg.size} bytes is over the limit")
        with self.open_blob(cfg, "image config") as stream:
            raw = stream.read(MAX_CONFIG + 1)
        try:
            config = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise InputError(f"{self.label}: the image config is not valid JSON") from None
        if not isinstance(config, dict):
            raise InputError(f"{self.label}: the image config is not a JSON object")
        if self.options.platform is not None:
            got = (config.get("os"), config.get("architecture"), config.get("variant"))
            if not self.options.platform.matches(*got):
                self.warnings.append(
                    f"the image is {'/'.join(str(g) for g in got if g)}, not "
                    f"{self.options.platform} (a single-platform image)"
                )
        return config, layers

    def check_total(self, layers: list[Descriptor], max_total: int) -> None:
        for i, d in enumerate(layers, 1):
            if d.size > max_total:
                raise InputError(
                    f"{self.label}: layer {i} declares {d.size} bytes, over the {max_total}-byte "
                    "limit; image refused"
                )
        total = sum(d.size for d in layers)
        if total > max_total:
            raise InputError(
                f"{self.label}: the layers declare {total} bytes in all, over the "
                f"{max_total}-byte limit; image refused"
            )

    @contextlib.contextmanager
    def open_blob(self, desc: Descriptor, what: str) -> Iterator[IO[bytes]]:
        """The blob as a verified stream; on a clean exit the rest is read and checked."""
        stream: _BlobStream | _CachedStream
        cached = self.cache.get(desc.digest, desc.size) if self.cache is not None else None
        if cached is not None:
            self.from_cache += 1
            stream = _CachedStream(cached)
        else:
            r = self.client.get(f"/v2/{self.ref.repository}/blobs/{desc.digest}", what=what)
            if r.status != 200:
                text = self.client._error_text(r)
                if r.status == 404:
                    raise InputError(
                        f"{self.label}: {what} is missing from the registry{_detail(text)}"
                    )
                raise SourceError(f"{self.label}: {what}: HTTP {r.status}{_detail(text)}")
            length = r.headers.get("Content-Length")
            if length is not None and length.strip().isdigit() and int(length) != desc.size:
                self.client._close(r.conn, r.sock, r.resp)
                raise InputError(
                    f"{self.label}: {what}: the registry announces {int(length)} bytes for a "
                    f"blob the manifest declares as {desc.size}; image refused"
                )
            tee = self.cache.writer(desc.digest, desc.size) if self.cache is not None else None
            stream = _BlobStream(self.client, r, desc, what, tee)
        reader = io.BufferedReader(stream, _CHUNK)
        try:
            yield reader
            stream.finish()
        finally:
            stream.abort()
