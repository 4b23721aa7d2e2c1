"""The Starlette application: routes, limits, headers.

Routes (docs/serve.md):

====================  ==========================================================
``GET /``             the page (the form)
``POST /``            the form post: the answers, then the form again (no JS needed)
``POST /api/chain``   ``chain --format json`` for pasted certificates
``POST /api/explain`` ``explain --format json`` for a message or log excerpt
``POST /api/endpoint`` ``diagnose --format json`` (only with ``--allow-target``)
``GET /api/openapi.json``  the OpenAPI description
``GET /api/schema/diagnosis.json``  the JSON Schema of the chain/diagnose document
``GET /healthz``      liveness and counters (no content of any request)
``GET /static/…``     the stylesheet, the script and the icon (served from the package)
====================  ==========================================================

Every response carries a strict Content-Security-Policy (no inline script or
style, nothing from another origin).  Request bodies are bounded before they
are parsed; analyses run in worker threads, at most ``concurrency`` at a time,
with at most ``queue`` waiting (then 503).  Nothing of a request's content is
logged or kept: only counts.
"""

from __future__ import annotations

import collections
import hashlib
import json
import logging
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping
from contextvars import ContextVar
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

import anyio
import anyio.to_thread
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.datastructures import FormData, UploadFile
from starlette.formparsers import FormParser, MultiPartException, MultiPartParser
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .. import __version__
from ..errors import TrustDoctorError
from .service import Blob, ChainQuestion, Refused, Service
from .settings import KIB, Settings

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), clipboard-write=(self)"),
)
STATIC_TYPES = {
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
}
LIVE_CONCURRENCY = 8  # live endpoint checks at once (each waits on one connection)
FORM_FIELDS = 16  # the form has 11
FORM_FILES = 3


class TooLarge(Exception):
    pass


class Timing:
    """Where one request's time went: ``wait`` for an analysis slot, ``app`` the
    rest (parsing, the analysis, the answer) — sent as ``Server-Timing``."""

    def __init__(self) -> None:
        self.start = time.perf_counter()
        self.wait = 0.0

    def header(self) -> bytes:
        total = time.perf_counter() - self.start
        return f"wait;dur={self.wait * 1000:.1f}, app;dur={(total - self.wait) * 1000:.1f}".encode()


TIMING: ContextVar[Timing | None] = ContextVar("trustdoctor_web_timing", default=None)


class SecurityHeaders:
    """Adds :data:`SECURITY_HEADERS` to every response (pure ASGI middleware),
    and keeps unexpected exceptions from reaching the server's log with their
    message (it could quote what was pasted): only their type is logged."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        started = False
        timing = Timing()
        TIMING.set(timing)

        async def wrapped(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = [h for h in message.get("headers", []) if h[0] != b"server"]
                have = {k for k, _ in headers}
                headers += [(k, v) for k, v in SECURITY_HEADERS if k not in have]
                headers.append((b"server-timing", timing.header()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, wrapped)
        except Exception as exc:
            logging.getLogger("trustdoctor.web").error(
                "internal error: %s in %s", type(exc).__name__, scope.get("path", "?")
            )
            if not started:
                await _error(500, f"internal error ({type(exc).__name__})")(scope, receive, wrapped)


class _InMemoryParser(MultiPartParser):
    """Starlette's multipart parser with uploads kept in memory (the body is
    bounded before parsing, so nothing pasted ever reaches a temporary file)."""

    def __init__(self, *args: Any, spool: int, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.spool_max_size = spool


class Counters:
    """What the health endpoint reports: counts, never content."""

    def __init__(self) -> None:
        self.counts: collections.Counter[str] = collections.Counter()
        self.running = 0
        self.waiting = 0


class Web:
    """The application's state and handlers."""

    def __init__(self, service: Service) -> None:
        self.service = service
        self.settings: Settings = service.settings
        self.limiter = anyio.CapacityLimiter(self.settings.concurrency)
        self.live = anyio.CapacityLimiter(LIVE_CONCURRENCY)
        self.stats = Counters()
        folder = resources.files("trustdoctor.web")
        self.env = Environment(
            loader=FileSystemLoader(str(folder / "templates")),
            autoescape=select_autoescape(["html"], default=True),
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.static: dict[str, tuple[bytes, str, str]] = {}
        for entry in (folder / "static").iterdir():
            suffix = "." + entry.name.rsplit(".", 1)[-1]
            if suffix in STATIC_TYPES:
                data = entry.read_bytes()
                etag = '"' + hashlib.sha256(data).hexdigest()[:16] + '"'
                self.static[entry.name] = (data, STATIC_TYPES[suffix], etag)
        self.asset_version = hashlib.sha256(
            b"".join(v[2].encode() for _, v in sorted(self.static.items()))
        ).hexdigest()[:10]

    # -- plumbing ---------------------------------------------------------------------

    async def run(self, fn: Callable[..., Any], *args: Any, live: bool = False) -> Any:
        """Run an analysis in a worker thread, bounded by the limiter and the queue.

        Analyses are CPU work: a few at a time per process (more threads would
        only share the interpreter's lock); live checks wait on the network
        and have their own, larger limiter.
        """
        st = self.stats
        if st.waiting >= self.settings.queue:
            st.counts["busy"] += 1
            raise Refused(503, "busy: too many analyses waiting; try again in a moment")
        limiter = self.live if live else self.limiter
        st.waiting += 1
        t = time.perf_counter()
        try:
            await limiter.acquire()
        finally:
            st.waiting -= 1
            timing = TIMING.get()
            if timing is not None:
                timing.wait += time.perf_counter() - t
        st.running += 1
        try:
            return await anyio.to_thread.run_sync(fn, *args)
        finally:
            st.running -= 1
            limiter.release()

    async def body(self, request: Request) -> bytes:
        limit = self.settings.max_body
        cl = request.headers.get("content-length")
        if cl is not None and (not cl.isdigit() or int(cl) > limit):
            raise TooLarge
        buf = bytearray()
        async for chunk in request.stream():
            buf += chunk
            if len(buf) > limit:
                raise TooLarge
        return bytes(buf)

    async def form(self, request: Request, body: bytes) -> FormData:
        async def stream() -> AsyncGenerator[bytes, None]:
            yield body

        ctype = request.headers.get("content-type", "")
        if ctype.startswith("multipart/form-data"):
            parser = _InMemoryParser(
                request.headers,
                stream(),
                spool=len(body) + 1,
                max_files=FORM_FILES,
                max_fields=FORM_FIELDS,
                max_part_size=self.settings.max_body,
            )
            return await parser.parse()
        if ctype.startswith("application/x-www-form-urlencoded"):
            return await FormParser(request.headers, stream()).parse()
        raise Refused(415, "send the form as multipart/form-data or x-www-form-urlencoded")

    @staticmethod
    def same_origin(request: Request) -> bool:
        """A browser's cross-site POST is refused (the page never makes one)."""
        if request.headers.get("sec-fetch-site") == "cross-site":
            return False
        origin = request.headers.get("origin")
        if origin is None:
            return True  # not a browser (curl, scripts): nothing to forge
        host = request.headers.get("host", "")
        return urlsplit(origin).netloc.lower() == host.lower()

    def page(self, status: int = 200, **ctx: Any) -> HTMLResponse:
        template = self.env.get_template("page.html")
        html = template.render(
            version=__version__,
            v=self.asset_version,
            endpoint_enabled=self.service.allow.enabled,
            allow=self.service.allow.describe(),
            anchors_label=self.service.anchors_label,
            limits={
                "body": _size(self.settings.max_body),
                "cert_kib": self.settings.max_cert_input // KIB,
                "certs": self.settings.max_certs,
            },
            **ctx,
        )
        return HTMLResponse(html, status_code=status, headers={"cache-control": "no-store"})

    # -- routes -----------------------------------------------------------------------

    async def index(self, request: Request) -> Response:
        self.stats.counts["page"] += 1
        return self.page(form={})

    async def submit(self, request: Request) -> Response:
        self.stats.counts["form"] += 1
        if not self.same_origin(request):
            self.stats.counts["refused-origin"] += 1
            return self.page(403, form={}, error="refused: a form post from another site")
        try:
            body = await self.body(request)
            form = await self.form(request, body)
        except TooLarge:
            self.stats.counts["too-large"] += 1
            lim = self.settings.max_body // KIB
            return self.page(413, form={}, error=f"the request is larger than {lim} KiB")
        except (MultiPartException, Refused) as exc:
            return self.page(400, form={}, error=str(exc))
        fields = await _fields(form)
        ctx: dict[str, Any] = {"form": {k: v for k, v in fields.items() if isinstance(v, str)}}
        status = 200
        q = _question(fields)
        wants_chain = any(b.given for b in q.chain)
        log = _log_bytes(fields)
        target = str(fields.get("target", "")).strip()
        if not (wants_chain or log.strip() or target):
            return self.page(400, error="paste a chain, an error line or a log excerpt", **ctx)
        if wants_chain:
            try:
                ctx["chain"] = await self.run(lambda: _chain_view(self.service.chain(q)))
                self.stats.counts["chain"] += 1
            except (TrustDoctorError, Refused) as exc:
                ctx["chain_error"] = _message(exc)
                status = _status(exc)
        if log.strip():
            try:
                from ..render.page import explain_view

                ctx["explain"] = await self.run(lambda: explain_view(self.service.explain(log)))
                self.stats.counts["explain"] += 1
                if self.service.allow.enabled:
                    ctx["runnable"] = {
                        m["endpoint"]: self.service.decide(m["endpoint"])[0].allowed
                        for m in ctx["explain"]["matches"]
                        if m["endpoint"] and m["port"]
                    }
            except (TrustDoctorError, Refused) as exc:
                ctx["explain_error"] = _message(exc)
                status = _status(exc)
        if target:
            try:
                ctx["endpoint"] = await self.run(
                    lambda: _endpoint_view(self.service.endpoint(target, q)), live=True
                )
                self.stats.counts["endpoint"] += 1
            except (TrustDoctorError, Refused) as exc:
                ctx["endpoint_error"] = _message(exc)
                status = _status(exc)
                self.stats.counts["endpoint-refused"] += 1
        return self.page(status, **ctx)

    async def api_chain(self, request: Request) -> Response:
        async def answer(doc: Mapping[str, Any]) -> Any:
            q = ChainQuestion(
                chain=_blobs(doc, "chain", "pasted chain"),
                root=_blobs(doc, "root", "pasted root"),
                host=_str(doc, "host"),
                password=_str(doc, "password"),
            )
            doc = await self.run(lambda: self.service.chain(q).to_dict())
            self.stats.counts["api-chain"] += 1
            return doc

        return await self.api(request, answer)

    async def api_explain(self, request: Request) -> Response:
        async def answer(doc: Mapping[str, Any]) -> Any:
            from ..render.explain_json import explain_to_dict

            text = _str(doc, "text").encode("utf-8", "replace")
            doc = await self.run(lambda: explain_to_dict(self.service.explain(text)))
            self.stats.counts["api-explain"] += 1
            return doc

        return await self.api(request, answer)

    async def api_endpoint(self, request: Request) -> Response:
        async def answer(doc: Mapping[str, Any]) -> Any:
            root = _blobs(doc, "root", "pasted root")
            q = ChainQuestion(root=root, password=_str(doc, "password"))
            target = _str(doc, "target")
            if not target:
                raise Refused(400, "no target: give host:port")
            doc = await self.run(lambda: self.service.endpoint(target, q).to_dict(), live=True)
            self.stats.counts["api-endpoint"] += 1
            return doc

        if not self.service.allow.enabled:
            self.stats.counts["endpoint-refused"] += 1
            return _error(
                403, "live endpoint diagnosis is off: the server was started without --allow-target"
            )
        return await self.api(request, answer)

    async def api(
        self, request: Request, answer: Callable[[Mapping[str, Any]], Awaitable[Any]]
    ) -> Response:
        if not self.same_origin(request):
            return _error(403, "refused: a request from another site")
        try:
            body = await self.body(request)
        except TooLarge:
            self.stats.counts["too-large"] += 1
            return _error(413, f"the request is larger than {self.settings.max_body // KIB} KiB")
        try:
            doc = json.loads(body or b"{}")
        except (ValueError, RecursionError):
            return _error(400, "the body is not JSON")
        if not isinstance(doc, dict):
            return _error(400, "the body must be a JSON object")
        try:
            result = await answer(doc)
        except (TrustDoctorError, Refused) as exc:
            self.stats.counts["api-error"] += 1
            return _error(_status(exc), _message(exc))
        return JSONResponse(result, headers={"cache-control": "no-store"})

    async def openapi(self, request: Request) -> Response:
        from .openapi import document

        return JSONResponse(document(endpoint=self.service.allow.enabled, version=__version__))

    async def schema(self, request: Request) -> Response:
        from .. import data

        text = data.read("diagnosis.schema.json")
        return Response(text, media_type="application/schema+json")

    async def health(self, request: Request) -> Response:
        st = self.stats
        return JSONResponse(
            {
                "status": "ok",
                "version": __version__,
                "endpoint": self.service.allow.enabled,
                "running": st.running,
                "waiting": st.waiting,
                "counts": dict(st.counts),
            },
            headers={"cache-control": "no-store"},
        )

    async def static_file(self, request: Request) -> Response:
        name = request.path_params["name"]
        item = self.static.get(name)
        if item is None:
            return Response("not found", status_code=404, media_type="text/plain")
        data, ctype, etag = item
        headers = {"etag": etag, "cache-control": "public, max-age=86400"}
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers=headers)
        return Response(data, media_type=ctype, headers=headers)


# -- helpers -----------------------------------------------------------------------------


async def _fields(form: FormData) -> dict[str, str | Blob]:
    out: dict[str, str | Blob] = {}
    for key, value in form.multi_items():
        if isinstance(value, UploadFile):
            data = await value.read()
            await value.close()
            if data:
                out[key] = Blob(_safe_name(value.filename or key), data)
        elif key not in out:
            out[key] = value
    return out


def _size(n: int) -> str:
    return f"{n // (1024 * KIB)} MiB" if n % (1024 * KIB) == 0 else f"{n // KIB} KiB"


def _safe_name(name: str) -> str:
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    clean = "".join(c for c in base if c.isprintable())[:80]
    return clean or "upload"


def _question(fields: Mapping[str, str | Blob]) -> ChainQuestion:
    def blobs(text_key: str, file_key: str, name: str) -> list[Blob]:
        out = []
        text = fields.get(text_key)
        if isinstance(text, str) and text.strip():
            out.append(Blob(name, text.encode("utf-8", "replace")))
        f = fields.get(file_key)
        if isinstance(f, Blob):
            out.append(f)
        return out

    host = fields.get("host")
    password = fields.get("password")
    return ChainQuestion(
        chain=blobs("chain", "chain_file", "pasted chain"),
        root=blobs("root", "root_file", "pasted root"),
        host=host if isinstance(host, str) else "",
        password=password if isinstance(password, str) else "",
    )


def _log_bytes(fields: Mapping[str, str | Blob]) -> bytes:
    parts = []
    text = fields.get("log")
    if isinstance(text, str) and text.strip():
        parts.append(text.encode("utf-8", "replace"))
    f = fields.get("log_file")
    if isinstance(f, Blob):
        parts.append(f.data)
    return b"\n".join(parts)


def _str(doc: Mapping[str, Any], key: str) -> str:
    value = doc.get(key, "")
    if value is None:
        return ""
    if not isinstance(value, str):
        raise Refused(400, f"{key}: must be a string")
    return value


def _blobs(doc: Mapping[str, Any], key: str, name: str) -> list[Blob]:
    import base64
    import binascii

    out = []
    text = _str(doc, key)
    if text.strip():
        out.append(Blob(name, text.encode("utf-8", "replace")))
    b64 = _str(doc, key + "_base64")
    if b64.strip():
        try:
            out.append(Blob(name + " (base64)", base64.b64decode(b64, validate=False)))
        except (binascii.Error, ValueError):
            raise Refused(400, f"{key}_base64: not base64") from None
    return out


def _message(exc: Exception) -> str:
    if isinstance(exc, TrustDoctorError):
        return exc.message
    if isinstance(exc, Refused):
        return exc.message
    return "internal error"


def _status(exc: Exception) -> int:
    if isinstance(exc, Refused):
        return exc.status
    if isinstance(exc, TrustDoctorError):
        return 400 if exc.exit_code == 2 else 502
    return 500


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message, "status": status}, status_code=status)


def _chain_view(report: Any) -> dict[str, Any]:
    from ..render.page import chain_view

    doc = report.to_dict()
    view = chain_view(report.diagnosis, report.plan, doc.get("plan"))
    view["notes"] = list(report.notes)
    return view


def _endpoint_view(report: Any) -> dict[str, Any]:
    from ..render.page import chain_view, plan_view

    doc = report.to_dict()
    out: dict[str, Any] = {"target": doc.get("target", {})}
    if report.diagnosis is not None:
        out["chain"] = chain_view(report.diagnosis, report.plan, doc.get("plan"))
    else:
        out["error"] = report.error.message if report.error is not None else "no chain"
        out["plan"] = plan_view(report.plan, doc.get("plan"))
    return out


async def _catch_all(request: Request, exc: Exception) -> Response:
    # The type only: an exception message could quote what was pasted.
    return _error(500, f"internal error ({type(exc).__name__})")


def create_app(settings: Settings, *, service: Service | None = None) -> ASGIApp:
    """The ASGI application for ``settings`` (``service``: already started, for tests)."""
    web = Web(service or Service.start(settings))
    routes = [
        Route("/", web.index, methods=["GET"]),
        Route("/", web.submit, methods=["POST"]),
        Route("/api/chain", web.api_chain, methods=["POST"]),
        Route("/api/explain", web.api_explain, methods=["POST"]),
        Route("/api/endpoint", web.api_endpoint, methods=["POST"]),
        Route("/api/openapi.json", web.openapi, methods=["GET"]),
        Route("/api/schema/diagnosis.json", web.schema, methods=["GET"]),
        Route("/healthz", web.health, methods=["GET"]),
        Route("/static/{name}", web.static_file, methods=["GET"]),
    ]
    app = Starlette(routes=routes, exception_handlers={Exception: _catch_all})
    app.state.web = web
    return SecurityHeaders(app)


def app_from_env() -> ASGIApp:
    """The factory uvicorn's worker processes call (settings from the environment)."""
    import os

    return create_app(Settings.from_json(os.environ["TRUSTDOCTOR_SERVE_SETTINGS"]))

