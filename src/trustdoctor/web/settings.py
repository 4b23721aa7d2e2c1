"""What ``trustdoctor serve`` was started with, and the limits it enforces."""

from __future__ import annotations

import json
from dataclasses import asdict

from ..model.record import record

# The clients of the page's table: the six stacks people meet at an incident
# (curl has its own row: its error text is not OpenSSL's).
WEB_CLIENTS: tuple[str, ...] = ("go", "openssl", "curl", "python", "node", "java", "webpki")

KIB = 1024
MIB = 1024 * KIB


@record
class Settings:
    """The server's configuration (JSON-able: worker processes read it back).

    Attributes:
        listen: ``ADDR:PORT`` to listen on.
        allow_target: ``--allow-target`` entries (empty: paste-only).
        trust: anchor files for pastes without a root (empty: Mozilla's roots,
            as certifi ships them).
        clients: the client models judged.
        max_body: largest request body accepted (bytes).
        max_cert_input: largest certificate input (one field or file), bytes.
        max_certs: most certificates judged in one request.
        max_log: largest log text (bytes).
        concurrency: analyses running at once per process (they are CPU work
            under one interpreter lock: more at once only makes each slower;
            use ``workers`` for cores).
        queue: requests waiting for an analysis slot before 503.
        timeout: seconds for one live endpoint diagnosis.
        workers: uvicorn worker processes.
    """

    listen: str = "127.0.0.1:8080"
    allow_target: tuple[str, ...] = ()
    trust: tuple[str, ...] = ()
    clients: tuple[str, ...] = WEB_CLIENTS
    max_body: int = 2 * MIB
    max_cert_input: int = 512 * KIB
    max_certs: int = 64
    max_log: int = 2 * MIB
    concurrency: int = 1
    queue: int = 256
    timeout: float = 10.0
    workers: int = 1

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> Settings:
        raw = json.loads(text)
        for k in ("allow_target", "trust", "clients"):
            raw[k] = tuple(raw.get(k, ()))
        return cls(**raw)
