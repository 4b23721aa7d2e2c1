"""The chains the oracle comparisons judge, and what a judge said (data)."""

from __future__ import annotations

import datetime as dt

from ..model.record import record


@record
class OracleCase:
    """One chain to judge: DER certificates, so unparsable ones pass through."""

    id: str
    chain: tuple[bytes, ...]  # leaf first, then the untrusted certificates as sent
    roots: tuple[bytes, ...]
    host: str | None
    at: dt.datetime
    max_depth: int | None = None


@record
class Outcome:
    """What one verifier (a model or the real client) said about one case."""

    ok: bool
    text: str  # the error text (Go) or "code:text" (OpenSSL); "" when ok
    code: int | None = None  # OpenSSL verify code
