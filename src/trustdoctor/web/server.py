"""Run the application under uvicorn (one process, or ``--workers N``)."""

from __future__ import annotations

import ipaddress
import os
import sys
from typing import Any

from .settings import Settings


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(settings: Settings, host: str, port: int) -> int:
    """Serve until interrupted; returns the exit code."""
    import uvicorn

    from .app import create_app
    from .service import Service

    # Start-up errors (a bad --allow-target or --trust) before listening.
    service = Service.start(settings)
    shown = f"[{host}]" if ":" in host else host
    mode = (
        "live checks allowed for " + ", ".join(service.allow.describe())
        if service.allow.enabled
        else "paste-only: no outbound connection"
    )
    print(f"trustdoctor serve: http://{shown}:{port}/ ({mode}; anchors: {service.anchors_label})",
          file=sys.stderr)  # fmt: skip
    if not _is_loopback(host):
        print(
            "trustdoctor serve: note: listening beyond this machine; put TLS in front of it "
            "(a reverse proxy or an ingress)",
            file=sys.stderr,
        )
    common: dict[str, Any] = {
        "host": host,
        "port": port,
        "log_level": "warning",
        "access_log": False,  # nothing of a request is logged (not even its path)
        "server_header": False,
        "proxy_headers": False,
        "timeout_keep_alive": 5,
        "limit_concurrency": settings.queue + settings.concurrency + 64,
    }
    if settings.workers > 1:
        os.environ["TRUSTDOCTOR_SERVE_SETTINGS"] = settings.to_json()
        uvicorn.run(
            "trustdoctor.web.app:app_from_env", factory=True, workers=settings.workers, **common
        )
    else:
        uvicorn.run(create_app(settings, service=service), **common)
    return 0
