"""The TLS error messages ``trustdoctor explain`` recognises: a typed loader.

The catalogue is data, ``trustdoctor/data/messages.json``, with its schema
``messages.schema.json`` next to it (format: docs/explain.md, "The message
catalogue").  :func:`load` reads it once, on first use, into the frozen
records below:

* :class:`ErrorEntry` — the verifier's own error text (Go crypto/x509,
  OpenSSL, GnuTLS, Java, Node, rustls, .NET, Python).  One entry per pattern:
  the stack that prints it, the stack-independent error class, the ranked
  causes (a :class:`~trustdoctor.model.findings.Code` plus a stable *reason*
  code each, worded by ``render/explain_text.py``), the questions that separate
  those causes, and the source of the string.  OpenSSL's verify codes, rustls's
  error names and .NET's chain statuses are tables (:class:`OpensslCode`...)
  from which entries are generated here.
* :class:`WrapperEntry` — the program around the error (kubelet, containerd,
  docker, kubectl, helm, terraform, vault, git, pip, requests, curl...): it
  names the stack, picks the ``--client`` for the next command and may add
  causes that only exist for that program (a daemon's own store, a daemon
  that must be restarted).
* :class:`HostRule` — where the endpoint is written (``Get "https://…"``,
  ``dial tcp h:p``, ``HTTPSConnectionPool(host=…)``, image references...).

Sources: "ref §x" is ``/work/shared/reference/truststores.md`` section x;
"captured" means the exact text was produced by the real client against a
loopback server in ``tests/explain/test_explain_corpus.py`` (Go 1.19.8,
OpenSSL 3.0.19, curl 7.88.1, CPython 3.11.7, requests 2.34.2/urllib3 2.7.0,
pip 23.2.1, Node 20.20.2, OpenJDK 17.0.15, git 2.39.5 with libcurl-gnutls
7.88.1).

Every regular expression must stay linear: a literal anchor first, only
bounded quantifiers (``{0,N}``) on character classes, never a quantified group
containing a quantifier, never two adjacent unbounded classes.  The matcher
also caps the text it searches (``records.MAX_RECORD_CHARS``).
``tests/explain/test_explain_table.py`` checks each entry against its examples
and against adversarial input; the expressions are compiled once, on first
use, by the matcher (``match._compiled``) and the prefilter
(``records._prefilter``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from typing import Any

from .. import data
from ..errors import TrustDoctorError
from ..model.findings import Code
from ..model.record import record

CauseSpec = tuple[Code, str]

DATA_FILE = "messages.json"


@record
class ErrorEntry:
    """One verifier message.

    Attributes:
        id: stable id (``go.unknown-authority``); shown in JSON as ``pattern``.
        library: verifying library family (go, openssl, gnutls, java, node,
            rustls, dotnet, python).
        stack: what prints it when no wrapper is recognised.
        client: ``--client`` for ``trustdoctor diagnose`` when no wrapper decides.
        error_class: stack-independent class (``unknown-issuer``...).
        regex: the pattern; named groups ``authority``, ``hint``, ``wanted``,
            ``valid_for``, ``now``, ``not_after``, ``not_before``, ``path``,
            ``code`` (an OpenSSL verify code, resolved in
            :attr:`Catalogue.openssl_by_code`) are read into the match.
        causes: ranked (cause, reason code) pairs.
        questions: question codes.
        source: where the string comes from.
        examples: texts that must match (tested).
        narrows: False when the message says nothing about which cause it is.
        priority: the most specific entry of a record wins (higher first).
        openssl_code: the verify code an entry generated from the OpenSSL table is about.
    """

    id: str
    library: str
    stack: str
    client: str
    error_class: str
    regex: str
    causes: tuple[CauseSpec, ...]
    questions: tuple[str, ...]
    source: str
    examples: tuple[str, ...]
    narrows: bool = True
    priority: int = 50
    openssl_code: int | None = None


@record
class WrapperEntry:
    """A program that wraps a verifier's error.

    Attributes:
        id: stable id; program: the stack name shown (``kubelet``).
        libraries: the verifier families it wraps (a Go wrapper never wraps an
            OpenSSL text).
        client: ``--client`` it implies (None: leave it to others).
        regex: the marker.
        priority: the most specific wrapper names the stack.
        client_rank: among wrappers that set a client, the highest rank wins
            (kubelet names the stack, containerd or CRI-O the client).
        lead: causes put first (e.g. a server log verifying a *client* cert).
        extra: causes added after the message's two best ones.
        questions: extra questions.
        library: overrides the library (``CRLfile:`` means GnuTLS).
        lead_classes: error classes ``lead`` applies to (empty: all).
    """

    id: str
    program: str
    libraries: tuple[str, ...]
    client: str | None
    regex: str
    source: str
    examples: tuple[str, ...]
    priority: int = 50
    client_rank: int = 0
    lead: tuple[CauseSpec, ...] = ()
    extra: tuple[CauseSpec, ...] = ()
    questions: tuple[str, ...] = ()
    library: str | None = None
    lead_classes: tuple[str, ...] = ()


@record
class HostRule:
    """Where an endpoint is written.

    Attributes:
        kind: ``url`` (group ``url``), ``hostport`` (group ``hostport``),
            ``hostandport`` (groups ``host``, ``port``), ``image`` (group ``image``).
        priority: the best-placed rule of a record names the target.
    """

    id: str
    kind: str
    regex: str
    priority: int
    source: str
    examples: tuple[str, ...]


@record
class OpensslCode:
    """One ``X509_V_ERR_*`` code: number, macro, every text it has had."""

    code: int
    macro: str
    texts: tuple[str, ...]
    error_class: str
    causes: tuple[CauseSpec, ...]
    questions: tuple[str, ...]
    narrows: bool = True


@record
class Catalogue:
    """Every table of ``data/messages.json``, as frozen records.

    Attributes:
        errors: the verifiers' messages, generated ones in place, in file order.
        openssl_renumbered: (code, text, means): ``code`` means ``means`` when
            the record holds ``text`` (OpenSSL 1.1.1 numbering).
        unknown_code: what a numeric OpenSSL form with an unknown code says
            (its ``code`` is 0, ``narrows`` False).
        fast_needles, slow_needles: the log prefilter's needles
            (``records.hit_positions``).
        url_ignore: URL prefixes that are never the endpoint (help pages).
        scheme_ports: default port by URL scheme.
        library_client: the ``--client`` when the library alone decides.
    """

    errors: tuple[ErrorEntry, ...]
    wrappers: tuple[WrapperEntry, ...]
    hosts: tuple[HostRule, ...]
    openssl_codes: tuple[OpensslCode, ...]
    openssl_by_code: Mapping[int, OpensslCode]
    openssl_renumbered: tuple[tuple[int, str, int], ...]
    unknown_code: OpensslCode
    cause_sets: Mapping[str, tuple[CauseSpec, ...]]
    fast_needles: tuple[bytes, ...]
    slow_needles: tuple[bytes, ...]
    url_ignore: tuple[str, ...]
    scheme_ports: Mapping[str, int]
    library_client: Mapping[str, str]


@cache
def load() -> Catalogue:
    """The catalogue, read from the package on first use (one ``json.loads``)."""
    try:
        return _build(json.loads(data.read(DATA_FILE)))
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise TrustDoctorError(
            f"packaged data file {DATA_FILE} is invalid ({type(exc).__name__}: {exc}): "
            "reinstall trustdoctor"
        ) from None


# -- building the records ------------------------------------------------------------

Doc = Mapping[str, Any]


def _go_hint(hint: str) -> str:
    """Go's ``unknown authority`` with its hint, the hint given as a fragment."""
    # Go prints both with %q; logfmt/JSON logs (containerd, kubelet) escape the
    # quotes once more (\"...\"), hence the optional backslashes.
    return (
        r"x509: certificate signed by unknown authority \(possibly because of "
        rf'\\{{0,3}}"(?P<hint>{hint})\\{{0,3}}" while trying to verify candidate authority '
        r'certificate \\{0,3}"(?P<authority>(?:[^"\\\n]|\\.){0,300}?)\\{0,3}"\)'
    )


# rustls prints CertificateError with Debug: "invalid peer certificate: UnknownIssuer";
# 0.20 said "invalid certificate: ..."; webpki errors sit in Other(OtherError(...)).
_RUSTLS_PREFIX = (
    r"(?:invalid (?:peer )?certificate(?: contents)?: (?:invalid peer certificate: )?"
    r"|InvalidCertificate\(|WebPKIError\()(?:Other\((?:OtherError\()?)?"
)


class _Builder:
    """Turns the parsed JSON into records (cause-set names resolved, entries generated)."""

    def __init__(self, doc: Doc) -> None:
        self.doc = doc
        self.sets = {name: _pairs(s["causes"]) for name, s in doc["cause_sets"].items()}
        self.openssl = tuple(
            OpensslCode(
                c["code"],
                c["macro"],
                tuple(c["texts"]),
                c["error_class"],
                self.causes(c["causes"]),
                tuple(c["questions"]),
                c.get("narrows", True),
            )
            for c in doc["openssl"]["codes"]
        )

    def causes(self, v: str | list[list[str]]) -> tuple[CauseSpec, ...]:
        return self.sets[v] if isinstance(v, str) else _pairs(v)

    def errors(self) -> tuple[ErrorEntry, ...]:
        tables = {
            "openssl-codes": self.openssl_entries,
            "rustls-names": self.rustls_entries,
            "dotnet-status": self.dotnet_entries,
        }
        out: list[ErrorEntry] = []
        for e in self.doc["errors"]:
            out.extend(tables[e["expand"]]() if "expand" in e else [self.error(e)])
        return tuple(out)

    def error(self, e: Doc) -> ErrorEntry:
        return ErrorEntry(
            e["id"],
            e["library"],
            e["stack"],
            e["client"],
            e["error_class"],
            e["regex"] if "regex" in e else _go_hint(e["go_hint"]),
            self.causes(e["causes"]),
            tuple(e["questions"]),
            e["source"],
            tuple(e["examples"]),
            narrows=e.get("narrows", True),
            priority=e.get("priority", 50),
        )

    def openssl_entries(self) -> list[ErrorEntry]:
        """Two entries per verify code: its texts (stack openssl) and its macro
        name (Node's ``err.code``)."""
        ossl = self.doc["openssl"]
        out: list[ErrorEntry] = []
        for c, raw in zip(self.openssl, ossl["codes"], strict=True):
            for macro in (False, True):
                out.append(
                    ErrorEntry(
                        f"openssl.{c.code}.macro" if macro else f"openssl.{c.code}",
                        "openssl",
                        "node" if macro else "openssl",
                        "node" if macro else "openssl",
                        c.error_class,
                        rf"\b(?:X509_V_ERR_)?{c.macro}\b"
                        if macro
                        else rf"(?:{'|'.join(c.texts)}){raw.get('guard', '')}",
                        c.causes,
                        c.questions,
                        ossl["macro_source"] if macro else ossl["source"],
                        (f"code: '{c.macro}'",) if macro else (c.texts[0].replace("[- ]", "-"),),
                        narrows=c.narrows,
                        priority=34 if macro else raw.get("priority", 30),
                        openssl_code=c.code,
                    )
                )
        return out

    def rustls_entries(self) -> list[ErrorEntry]:
        doc = self.doc["rustls"]
        return [
            ErrorEntry(
                f"rustls.{t['name']}",
                "rustls",
                "rustls",
                "webpki",
                t["error_class"],
                rf"{_RUSTLS_PREFIX}{t['name']}(?:Context)?\b",
                self.causes(t["causes"]),
                tuple(t["questions"]),
                doc["source"],
                (f"invalid peer certificate: {t['name']}",),
                narrows=t.get("narrows", True),
                priority=70,
            )
            for t in doc["names"]
        ]

    def dotnet_entries(self) -> list[ErrorEntry]:
        doc = self.doc["dotnet"]
        return [
            ErrorEntry(
                f"dotnet.{t['status']}",
                "dotnet",
                "dotnet",
                "openssl",
                t["error_class"],
                rf"errors in the certificate chain: [A-Za-z, ]{{0,200}}\b{t['status']}\b",
                self.causes(t["causes"]),
                tuple(t["questions"]),
                doc["source"],
                (
                    "The remote certificate is invalid because of errors in the certificate "
                    f"chain: {t['status']}",
                ),
                priority=t["priority"],
            )
            for t in doc["statuses"]
        ]

    def wrapper(self, w: Doc) -> WrapperEntry:
        return WrapperEntry(
            w["id"],
            w["program"],
            tuple(w["libraries"]),
            w["client"],
            w["regex"],
            w["source"],
            tuple(w["examples"]),
            priority=w.get("priority", 50),
            client_rank=w.get("client_rank", 0),
            lead=self.causes(w.get("lead", [])),
            extra=self.causes(w.get("extra", [])),
            questions=tuple(w.get("questions", ())),
            library=w.get("library"),
            lead_classes=tuple(w.get("lead_classes", ())),
        )


def _pairs(v: list[list[str]]) -> tuple[CauseSpec, ...]:
    return tuple((Code(c), reason) for c, reason in v)


def _build(doc: Doc) -> Catalogue:
    b = _Builder(doc)
    hosts, ossl = doc["hosts"], doc["openssl"]
    unknown = ossl["unknown_code"]
    return Catalogue(
        errors=b.errors(),
        wrappers=tuple(b.wrapper(w) for w in doc["wrappers"]),
        hosts=tuple(
            HostRule(
                h["id"],
                h["kind"],
                h["regex"].replace("{url}", hosts["url"]),
                h["priority"],
                h["source"],
                tuple(h["examples"]),
            )
            for h in hosts["rules"]
        ),
        openssl_codes=b.openssl,
        openssl_by_code={c.code: c for c in b.openssl},
        openssl_renumbered=tuple((r["code"], r["text"], r["means"]) for r in ossl["renumbered"]),
        unknown_code=OpensslCode(
            0,
            "",
            (),
            unknown["error_class"],
            b.causes(unknown["causes"]),
            tuple(unknown["questions"]),
            narrows=False,
        ),
        cause_sets=b.sets,
        fast_needles=tuple(n["needle"].encode("ascii") for n in doc["needles"]["fast"]),
        slow_needles=tuple(n["needle"].encode("ascii") for n in doc["needles"]["slow"]),
        url_ignore=tuple(hosts["url_ignore"]["prefixes"]),
        scheme_ports=dict(hosts["scheme_ports"]),
        library_client=dict(doc["library_client"]),
    )
