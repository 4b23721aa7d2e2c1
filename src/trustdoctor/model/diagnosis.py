"""A diagnosis: per-client verdicts and the overall verdict."""

from __future__ import annotations

import datetime as dt

from .cert import CertInfo, Provenance
from .findings import Code, Confidence, Finding, Side
from .record import field, record


@record
class PresentedCert:
    """A certificate as presented (by a server or in files), with its provenance."""

    cert: CertInfo
    provenance: Provenance


@record
class PathLink:
    """One certificate on a path, and what role it plays."""

    sha256: str
    role: str  # leaf, intermediate, anchor, missing
    origin: str  # presented, supplied, anchor, fetched


@record
class ClientVerdict:
    """What one client would decide about the chain.

    Attributes:
        client: the client model name (``go``, ``openssl``, ``webpki``, ``curl``...).
        trusted: whether the client would accept the chain.
        cause: the primary cause (``ok`` when trusted).
        side: who must act.
        confidence: how sure the cause is (the missing-issuer question is the
            one that can be uncertain).
        findings: every error-level finding for this client, primary first.
        path: the best path found (leaf first), possibly ending in a missing link.
        client_error: the text the real client would print for this failure.
        alternatives: other causes consistent with the evidence.
        settle: stable codes of the checks that would settle the question.
        anchor_source: where the anchor ending the path was read (store file...).
    """

    client: str
    trusted: bool
    cause: Code
    side: Side
    confidence: Confidence = Confidence.HIGH
    findings: tuple[Finding, ...] = ()
    path: tuple[PathLink, ...] = ()
    client_error: str | None = None
    alternatives: tuple[Code, ...] = ()
    settle: tuple[str, ...] = ()
    anchor_source: str | None = None
    anchor_count: int | None = None
    # The release the model stands for (``1.27`` for the newest Go, ``1.19``
    # with ``--client go@1.19`` or for a --pid program built with Go 1.19).
    version: str | None = None


@record
class Verdict:
    """The one-line answer."""

    trusted: bool
    cause: Code
    side: Side
    confidence: Confidence
    clients_trusting: tuple[str, ...]
    clients_refusing: tuple[str, ...]
    params: dict[str, object] = field(default_factory=dict)
    # Every side that must act, server first (``side`` is the primary cause's):
    # a server omitting its intermediate *and* a client lacking the root is both.
    sides: tuple[Side, ...] = ()


@record
class Diagnosis:
    """Everything ``chain`` / ``diagnose`` found.

    Attributes:
        leaf: the end-entity certificate judged.
        presented: the chain as presented (leaf first, in presented order).
        supplied: extra intermediates given by the user (never anchors).
        host: the peer name checked (``None``: no name check).
        at: the time the chain was judged at.
        clients: one verdict per client model.
        findings: chain-level findings shared by every client (order, extras...).
        verdict: the overall verdict.
        certificates: every certificate mentioned, by fingerprint.
    """

    leaf: CertInfo
    presented: tuple[PresentedCert, ...]
    supplied: tuple[PresentedCert, ...]
    host: str | None
    at: dt.datetime
    clients: tuple[ClientVerdict, ...]
    findings: tuple[Finding, ...]
    verdict: Verdict
    certificates: dict[str, CertInfo] = field(default_factory=dict)
    anchor_provenance: dict[str, Provenance] = field(default_factory=dict)
