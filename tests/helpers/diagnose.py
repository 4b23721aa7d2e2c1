"""Shared helpers for the ``trustdoctor diagnose`` tests (import it; not a conftest).

* :func:`chain_for` - a root → intermediate → leaf hierarchy valid *now* (real
  clients used as oracles check the real clock, so these certificates never
  depend on the PKI factory's fixed ``NOW``).
* :func:`diagnose` - run ``trustdoctor.cli.main.main(["diagnose", ...])`` in
  process, with proxies removed from the environment and colours off; returns
  the exit code, stdout, stderr and (for ``--format json``) the document,
  already validated against ``data/diagnosis.schema.json``.
* :func:`serve_chain` - a loopback TLS server presenting a chain.

Servers come from :mod:`netlab` (the network-source lab).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import ssl
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import pytest

import helpers.netlab as netlab
from trustdoctor.cli.main import main
from trustdoctor.lab import pki

from . import SCHEMAS

SCHEMA_PATH = SCHEMAS / "diagnosis.schema.json"
SCHEMA = json.loads(SCHEMA_PATH.read_text())
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
DAY = dt.timedelta(days=1)
VALID = {"not_before": NOW - 2 * DAY, "not_after": NOW + 90 * DAY}

PROXY_VARS = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY",
              "all_proxy", "NO_PROXY", "no_proxy")


def chain_for(
    host: str,
    *,
    key_kind: str = "ec",
    root_cn: str = "Diagnose Test Root CA",
    inter_cn: str = "Diagnose Test Issuing CA",
    **leaf_kw: Any,
) -> pki.Hierarchy:
    """Root → intermediate → leaf for ``host`` (DNS SAN), valid around the real now."""
    root = pki.make_cert(root_cn, key_kind=key_kind, **VALID)
    inter = pki.make_cert(inter_cn, issuer=root, key_kind=key_kind, **VALID)
    kw: dict[str, Any] = {"dns": (host,), **VALID}
    kw.update(leaf_kw)
    leaf = pki.make_cert(host, issuer=inter, ca=False, key_kind=key_kind, **kw)
    return pki.Hierarchy(root, inter, leaf)


def write_pem(path: Path, *certs: pki.Issued) -> str:
    path.write_bytes(b"".join(c.pem for c in certs))
    return str(path)


@dataclass
class Run:
    rc: int
    out: str
    err: str
    doc: dict[str, Any] | None
    elapsed: float

    @property
    def first_line(self) -> str:
        return self.out.splitlines()[0] if self.out else ""


def validate(doc: dict[str, Any]) -> None:
    """Schema-valid, with a readable message on failure."""
    errors = sorted(VALIDATOR.iter_errors(doc), key=lambda e: list(e.path))
    assert not errors, "; ".join(f"{list(e.path)}: {e.message}" for e in errors[:5])


def diagnose(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    *argv: str,
    env: dict[str, str] | None = None,
) -> Run:
    """``trustdoctor diagnose ARGV`` in this process; JSON is parsed and validated."""
    for var in PROXY_VARS:
        monkeypatch.delenv(var, raising=False)
    for k, v in (env or {}).items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("NO_COLOR", "1")
    capsys.readouterr()
    start = time.monotonic()
    rc = main(["diagnose", *argv])
    elapsed = time.monotonic() - start
    cap = capsys.readouterr()
    doc = None
    if "--format" in argv and argv[argv.index("--format") + 1] == "json" and cap.out.strip():
        doc = json.loads(cap.out)
        validate(doc)
    return Run(rc, cap.out, cap.err, doc, elapsed)


@contextlib.contextmanager
def serve_chain(
    files: netlab.Files,
    certs: Sequence[pki.Issued],
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    key: pki.Issued | None = None,
    **ctx_kw: Any,
) -> Iterator[netlab.Server]:
    """A loopback TLS server presenting ``certs`` (leaf first)."""
    if key is not None:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(*files.chain(list(certs), key))
    else:
        ctx = netlab.server_context(files, certs, **ctx_kw)
    with netlab.serving(netlab.tls_handler(ctx), host=host, port=port) as srv:
        yield srv


def fps(*issued: pki.Issued) -> list[str]:
    import hashlib

    return [hashlib.sha256(i.der).hexdigest() for i in issued]


# A real Python ssl client (run as ``python -c PYTHON_CLIENT PORT NAME ROOTS``):
# connects to 127.0.0.1:PORT, checks the chain against ROOTS for NAME (SNI and
# host name as given), prints OK or "ERR <the ssl.SSLError>".
PYTHON_CLIENT = r"""
import socket, ssl, sys
port, name, roots = int(sys.argv[1]), sys.argv[2], sys.argv[3]
ctx = ssl.create_default_context(cafile=roots)
try:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        ctx.wrap_socket(s, server_hostname=name).close()
    print("OK")
except ssl.SSLError as e:
    print("ERR", e)
"""
