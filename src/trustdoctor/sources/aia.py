"""Fetch missing issuers from the AIA "CA Issuers" URLs of a certificate.

Browsers (and Go, curl, Python... on macOS/Windows through the platform
verifier) hide a server that omits its intermediate by downloading the issuer
from the certificate's Authority Information Access ``caIssuers`` URL (RFC 5280
§4.2.2.1).  OpenSSL, curl, Python, Java (by default), Node and Go on Linux never
do (Go: golang/go#31773, declined; see docs/aia.md).  trustdoctor fetches the
issuer itself to *confirm* a missing-intermediate diagnosis with the actual
certificate and to hand the server operator the exact file to deploy.

Everything fetched here is an **untrusted intermediate candidate**, never a
trust anchor: a certificate is kept only when its subject is the wanted issuer
name and its key verifies the child's signature, and the caller must treat it
exactly like an intermediate the server might have sent.

Safety rules (each is tested in tests/test_aia*.py):

* only ``http://`` and ``https://`` URLs are fetched, also after redirects
  (never ``file:``, ``ftp:``, ``ldap:``, ``data:``...); at most
  ``max_redirects`` redirects, loops detected;
* every socket operation is bounded by ``timeout`` and the whole URL (name
  resolution, connect, TLS handshake, request, redirects, body) by ``deadline``:
  each read is armed with the time that is left, so a trickling server cannot
  stretch it;
* the body is read in bounded pieces and abandoned as soon as it exceeds
  ``max_bytes`` (an announced ``Content-Length`` above it is refused unread);
* HTTPS endpoints are verified (system store, or ``https_ca_file``);
* nothing from a body is ever shown to the user except parsed certificate
  names; URLs are shown truncated and escaped.

The transport is the one HTTP/proxy stack of :mod:`.http` (``http_get``):
the same proxy decision, tunnel and deadlines as the handshake of ``diagnose``.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

from ..errors import UsageError
from ..model.cert import CertInfo, verify_signature
from ..model.record import field, record
from .http import HttpError, describe, http_get, parse_proxy_url, parse_url, show_url

# -- stable vocabulary ---------------------------------------------------------

# Why an answer, or a certificate in it, was not kept.  These strings are a
# public contract (JSON output, renderers): add, never rename.
REASONS: Mapping[str, str] = {
    "no-aia": "the certificate names no caIssuers URL",
    "bad-url": "the URL is malformed, too long, has no host or contains control characters",
    "bad-scheme": "not http:// or https:// (also for redirects); ldap:, file:, ftp:, data: are "
    "never fetched",
    "offline": "network fetching is off and the cache holds no fresh answer for the URL",
    "connect-failed": "name resolution, TCP connect or the connection itself failed",
    "proxy-error": "the proxy is unusable or refused the CONNECT tunnel",
    "tls-error": "the HTTPS endpoint's certificate did not verify, or the handshake failed",
    "timeout": "no complete answer within the per-operation timeout or the per-URL deadline",
    "http-status": "an HTTP status other than 2xx or a followable redirect",
    "bad-response": "not a well-formed HTTP/1.x response",
    "too-large": "the body is larger than max_bytes (announced, or while streaming)",
    "redirect-loop": "a redirect led back to a URL already visited",
    "too-many-redirects": "more than max_redirects redirects",
    "unparsable": "the body (or a part of it) is not a DER, PEM or PKCS#7 certificate",
    "too-many-certificates": "the answer holds more certificates than are examined",
    "not-the-issuer": "the certificate's subject is not the issuer name wanted",
    "bad-signature": "right name, but its key does not verify the child's signature",
    "unsupported-algorithm": "the child's signature cannot be checked with this key/algorithm",
}

# How complete_chain ended.
STOPS: Mapping[str, str] = {
    "reached-anchor": "the top certificate is an anchor or is issued by one (per is_anchor)",
    "reached-self-signed": "the path ends at a self-signed certificate that is not an anchor",
    "dead-end": "no (further) issuer could be found: no AIA URL, failed fetches, or a cycle",
    "cap": "a limit stopped the search (max_fetches, max_depth, total_deadline, 64-cert path)",
    "offline": "an issuer is missing and only a network fetch could find it (allow_network=False)",
}

_MAX_CERTS = 64  # certificates examined per answer (a bundle .p7c holds a handful)
_MAX_PATH = 64  # certificates on one path, presented ones included
_USER_AGENT = "trustdoctor-aia/1"
_ACCEPT = (
    "application/pkix-cert, application/pkcs7-mime, application/x-x509-ca-cert, "
    "application/x-pem-file, */*;q=0.5"
)
_CACHE_MAGIC = b"trustdoctor-aia-cache 1"

Rejection = tuple[str, str]  # (reason from REASONS, one-line detail)


# -- public results --------------------------------------------------------------


@record
class AiaOptions:
    """Limits and switches for AIA fetching.

    Attributes:
        timeout: seconds for each socket operation (connect, handshake, one read).
        deadline: seconds for one URL as a whole, redirects included.
        max_bytes: largest body accepted (64 KiB by default; real issuer
            certificates are 1-2 KiB, PKCS#7 bundles a few KiB).
        max_fetches: distinct URLs retrieved per :func:`complete_chain` call
            (cache hits count: the cap bounds work, not just traffic).
        max_depth: fetched certificates stacked on one path above the last
            presented certificate.
        max_redirects: redirects followed per URL (only to http/https).
        total_deadline: seconds for a whole :func:`complete_chain` call.
        cache_dir: directory of the on-disk cache; ``None`` disables it.  The
            CLI passes :func:`default_cache_dir` (or ``--cache DIR``).
        cache_max_age: seconds a cache entry stays fresh (7 days).
        cache_max_entries: entries kept; the oldest are removed beyond it.
        allow_network: ``False`` consults only the cache and reports which
            fetch would have been needed (``offline``).
        proxy: ``http://[user:pass@]host:port`` used for every fetch (HTTPS
            through ``CONNECT``), as ``--proxy``; ``""`` forces direct
            connections; ``None`` connects directly unless ``use_env_proxy``.
        use_env_proxy: when ``proxy`` is ``None``, choose the proxy from
            ``proxy_env`` exactly as ``diagnose`` does
            (:func:`trustdoctor.sources.http.select_proxy`: ``https_proxy``,
            ``http_proxy``, ``no_proxy``... and never for loopback).
        proxy_env: the environment whose proxy variables apply (the client's,
            for ``diagnose --pid``); ``None`` is this process's ``os.environ``.
        https_ca_file: PEM bundle used to verify HTTPS AIA endpoints; ``None``
            uses the default store of Python's ``ssl`` module.  Only for the
            transport: it has nothing to do with the trust being diagnosed.
    """

    timeout: float = 5.0
    deadline: float = 10.0
    max_bytes: int = 65536
    max_fetches: int = 8
    max_depth: int = 6
    max_redirects: int = 3
    total_deadline: float = 30.0
    cache_dir: Path | None = None
    cache_max_age: float = 7 * 86400.0
    cache_max_entries: int = 256
    allow_network: bool = True
    proxy: str | None = None
    use_env_proxy: bool = False
    https_ca_file: Path | None = None
    # may hold credentials: never in repr
    proxy_env: Mapping[str, str] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        for name in ("timeout", "deadline", "total_deadline", "cache_max_age"):
            if not getattr(self, name) > 0:
                raise UsageError(f"AIA option {name} must be a positive number of seconds")
        if not 1 <= self.max_bytes <= 16 * 1024 * 1024:
            raise UsageError("AIA option max_bytes must be between 1 and 16 MiB")
        for name in ("max_fetches", "max_depth", "max_redirects", "cache_max_entries"):
            if getattr(self, name) < 0:
                raise UsageError(f"AIA option {name} must not be negative")
        if self.proxy is not None and self.proxy.strip():
            parse_proxy_url(self.proxy)  # raises UsageError

    def proxy_environ(self) -> Mapping[str, str] | None:
        """The environment :func:`~trustdoctor.sources.http.select_proxy` consults."""
        if not self.use_env_proxy:
            return None
        return os.environ if self.proxy_env is None else self.proxy_env


@record
class AiaFetch:
    """The retrieval of one AIA URL.

    Attributes:
        url: the caIssuers URL as written in the certificate ("" when it had none).
        certificates: the issuers kept: subject equals the wanted issuer name and
            the key verifies the child's signature.  **Untrusted** intermediate
            candidates only; never use them as anchors.
        rejected: ``(reason, detail)`` for the URL (``timeout``, ``too-large``...)
            and for each certificate not kept (``not-the-issuer``...); reasons are
            keys of :data:`REASONS`.
        from_cache: the answer came from the on-disk cache, not the network.
        elapsed_ms: wall time spent, in milliseconds.
        network_needed: with ``allow_network=False``, the cache could not answer
            and only a network fetch could.
    """

    url: str
    certificates: tuple[CertInfo, ...]
    rejected: tuple[Rejection, ...]
    from_cache: bool
    elapsed_ms: int
    network_needed: bool = False

    @property
    def ok(self) -> bool:
        return bool(self.certificates)


@record
class FetchedCert:
    """A certificate obtained through AIA.

    Attributes:
        cert: the certificate, an **untrusted intermediate** candidate.
        url: the caIssuers URL it was fetched from (before any redirect).
        parent_sha256: fingerprint of the certificate whose AIA URL led here,
            i.e. the certificate ``cert`` issued (one step closer to the leaf).
    """

    cert: CertInfo
    url: str
    parent_sha256: str


@record
class AiaCompletion:
    """The outcome of :func:`complete_chain`.

    Attributes:
        fetched: every certificate fetched and kept, de-duplicated by fingerprint,
            in discovery order (untrusted intermediates only).
        attempts: one :class:`AiaFetch` per distinct URL retrieved, in order.
        stopped: one of :data:`STOPS`.
        path: leaf first, then presented and fetched certificates up to where
            the search ended (for ``reached-*`` the complete path; otherwise the
            longest one explored).
        detail: one line saying why it stopped, naming the certificate concerned.
    """

    fetched: tuple[FetchedCert, ...]
    attempts: tuple[AiaFetch, ...]
    stopped: str
    path: tuple[CertInfo, ...] = ()
    detail: str = ""

    @property
    def network_needed(self) -> bool:
        """A network fetch (disallowed) would have been needed to go further."""
        return any(a.network_needed for a in self.attempts)

    @property
    def complete(self) -> bool:
        return self.stopped in ("reached-anchor", "reached-self-signed")


# -- public functions --------------------------------------------------------------


def default_cache_dir(environ: Mapping[str, str] | None = None) -> Path | None:
    """``$XDG_CACHE_HOME/trustdoctor/aia``, else ``~/.cache/trustdoctor/aia``
    (:func:`~trustdoctor.sources.cachedir.user_cache_dir`)."""
    from .cachedir import user_cache_dir

    return user_cache_dir("aia", environ)


def anchor_predicate(anchors: Iterable[CertInfo]) -> Callable[[CertInfo], bool]:
    """An ``is_anchor`` for :func:`complete_chain` from a set of anchor certificates.

    True for a certificate that is one of ``anchors`` (same fingerprint) or is
    directly signed by one of them (name and signature), i.e. when nothing above
    it needs fetching.
    """
    certs = tuple(anchors)
    by_fp = {a.sha256 for a in certs}
    by_subject: dict[bytes, list[CertInfo]] = {}
    for a in certs:
        by_subject.setdefault(a.subject_der, []).append(a)
    memo: dict[str, bool] = {}

    def is_anchor(cert: CertInfo) -> bool:
        if cert.sha256 not in memo:
            memo[cert.sha256] = cert.sha256 in by_fp or any(
                verify_signature(cert, a) is None for a in by_subject.get(cert.issuer_der, ())
            )
        return memo[cert.sha256]

    return is_anchor


def fetch_issuer_candidates(cert: CertInfo, *, options: AiaOptions) -> AiaFetch:
    """Fetch the issuer of ``cert`` from its caIssuers URLs.

    URLs are tried in the order the certificate lists them (at most
    ``max_fetches``) until one yields an issuer.  The result names that URL;
    when none does, it names the last URL tried and carries every rejection
    (each detail prefixed with its URL when several were tried).  Never raises
    for anything the network or the answer does; raises :class:`InputError`
    only for an unusable ``https_ca_file``.

    The certificates returned are **untrusted intermediates**, never anchors.
    """
    start = time.monotonic()
    urls = cert.aia_ca_issuers[: max(options.max_fetches, 0)]
    if not urls:
        why = (
            f"'{cert.display_name}' has no caIssuers URL"
            if not cert.aia_ca_issuers
            else "max_fetches is 0"
        )
        return AiaFetch("", (), (("no-aia", why),), False, 0)
    cache = _Cache.open(options)
    deadline = start + options.total_deadline
    results: list[AiaFetch] = []
    for url in urls:
        raw = _retrieve(url, options, cache, deadline)
        fetch = _select(cert, raw)
        if fetch.certificates:
            return fetch
        results.append(fetch)
    if len(results) == 1:
        return results[0]
    rejected = tuple(
        (reason, f"{show_url(r.url)}: {detail}") for r in results for reason, detail in r.rejected
    )
    return AiaFetch(
        url=results[-1].url,
        certificates=(),
        rejected=rejected,
        from_cache=all(r.from_cache for r in results),
        elapsed_ms=_ms(start),
        network_needed=any(r.network_needed for r in results),
    )


def complete_chain(
    leaf: CertInfo,
    presented: Sequence[CertInfo],
    *,
    is_anchor: Callable[[CertInfo], bool],
    options: AiaOptions,
) -> AiaCompletion:
    """Complete the chain above ``leaf`` with issuers fetched through AIA.

    Depth-first from the leaf: an issuer found in ``presented`` (name and
    signature) is followed without fetching; when the issuer of the current top
    certificate is absent, it is fetched from that certificate's caIssuers URLs
    and the search continues from each fetched issuer in turn.  A branch ends at
    a certificate for which ``is_anchor`` is true (it is an anchor, or is issued
    by one: see :func:`anchor_predicate`), at a self-signed certificate, or at a
    dead end; the whole search ends at the first anchor, else at the caps
    (``max_fetches``, ``max_depth``, ``total_deadline``).  A self-signed root that
    is not an anchor does not end the search at once: another branch (a
    cross-sign) may still reach an anchor.  URLs are retrieved once per call,
    certificates are recorded once per fingerprint, and an AIA cycle (A points
    to B points to A) ends its branch cleanly.

    Fetched certificates are **untrusted intermediates**: the caller must build
    paths with them exactly as with certificates the server sent, and must take
    anchors only from the client's store, never from :attr:`AiaCompletion.fetched`.
    """
    search = _Search(leaf, presented, is_anchor, options)
    return search.run()


# -- the search ----------------------------------------------------------------------


class _Search:
    def __init__(
        self,
        leaf: CertInfo,
        presented: Sequence[CertInfo],
        is_anchor: Callable[[CertInfo], bool],
        options: AiaOptions,
    ) -> None:
        self.leaf = leaf
        self.presented = tuple(presented)
        self.is_anchor = is_anchor
        self.options = options
        self.start = time.monotonic()
        self.deadline = self.start + options.total_deadline
        self.cache = _Cache.open(options)
        self.raw: dict[str, _Raw] = {}
        self.attempts: list[AiaFetch] = []
        self.fetched: dict[str, FetchedCert] = {}
        self.explored: set[str] = set()
        self.anchor_path: tuple[CertInfo, ...] | None = None
        self.self_signed_path: tuple[CertInfo, ...] | None = None
        self.deepest: tuple[CertInfo, ...] = (leaf,)
        self.cap: str | None = None
        self.offline: str | None = None
        self.dead: str | None = None

    def run(self) -> AiaCompletion:
        self._walk(self.leaf, (self.leaf,), 0)
        if self.anchor_path is not None:
            top = self.anchor_path[-1]
            stopped, path = "reached-anchor", self.anchor_path
            detail = f"'{top.display_name}' is an anchor or is issued by one"
        elif self.self_signed_path is not None:
            top = self.self_signed_path[-1]
            stopped, path = "reached-self-signed", self.self_signed_path
            detail = f"the path ends at self-signed '{top.display_name}', which is not an anchor"
        elif self.offline is not None:
            stopped, path, detail = "offline", self.deepest, self.offline
        elif self.cap is not None:
            stopped, path, detail = "cap", self.deepest, self.cap
        else:
            stopped, path = "dead-end", self.deepest
            detail = self.dead or f"no issuer found above '{self.deepest[-1].display_name}'"
        return AiaCompletion(
            fetched=tuple(self.fetched.values()),
            attempts=tuple(self.attempts),
            stopped=stopped,
            path=path,
            detail=detail,
        )

    def _walk(self, top: CertInfo, path: tuple[CertInfo, ...], hops: int) -> bool:
        """Explore above ``top``; True once an anchor is reached (search over)."""
        if len(path) > len(self.deepest):
            self.deepest = path
        if self.is_anchor(top):
            self.anchor_path = path
            return True
        if top.self_signed:
            if self.self_signed_path is None:
                self.self_signed_path = path
            return False
        if top.sha256 in self.explored:
            return False  # reached before through another branch: nothing new above
        if len(path) > _MAX_PATH:
            # A server may send a very long chain; recursion stays bounded.
            self.cap = self.cap or f"path longer than {_MAX_PATH} certificates"
            return False
        self.explored.add(top.sha256)
        on_path = {c.sha256 for c in path}

        issuers = [
            c
            for c in self.presented
            if c.subject_der == top.issuer_der and verify_signature(top, c) is None
        ]
        if issuers:
            for cand in issuers:
                if cand.sha256 in on_path:
                    self.dead = (
                        self.dead or f"presented certificates form a cycle at '{cand.display_name}'"
                    )
                    continue
                if self._walk(cand, (*path, cand), hops):
                    return True
            return False

        if not top.aia_ca_issuers:
            self.dead = self.dead or f"'{top.display_name}' has no caIssuers URL"
            return False
        if hops >= self.options.max_depth:
            self.cap = (
                self.cap or f"max_depth {self.options.max_depth} reached above '{top.display_name}'"
            )
            return False
        for url in top.aia_ca_issuers:
            raw = self._retrieve(url, top)
            if raw is None:
                return False
            fetch = _select(top, raw)
            if not fetch.certificates:
                self.dead = self.dead or (
                    f"no issuer of '{top.display_name}' at {show_url(url)}: "
                    + "; ".join(f"{r}: {d}" for r, d in fetch.rejected[:3])
                )
                continue
            for cand in fetch.certificates:
                if cand.sha256 in on_path:
                    # A points to B points to A: the branch ends here.
                    self.dead = self.dead or (
                        f"AIA cycle: {show_url(url)} leads back to '{cand.display_name}'"
                    )
                    continue
                self.fetched.setdefault(cand.sha256, FetchedCert(cand, url, top.sha256))
                if self._walk(cand, (*path, cand), hops + 1):
                    return True
        return False

    def _retrieve(self, url: str, child: CertInfo) -> _Raw | None:
        """Retrieve ``url`` once per search; ``None`` when a cap forbids it."""
        if url in self.raw:
            return self.raw[url]
        if len(self.raw) >= self.options.max_fetches:
            self.cap = self.cap or f"max_fetches {self.options.max_fetches} reached"
            return None
        if time.monotonic() >= self.deadline:
            self.cap = self.cap or f"total_deadline {self.options.total_deadline:g}s reached"
            return None
        raw = _retrieve(url, self.options, self.cache, self.deadline)
        self.raw[url] = raw
        self.attempts.append(_select(child, raw))
        if raw.network_needed and self.offline is None:
            self.offline = f"network fetching is off; {show_url(url)} would be needed"
        return raw


# -- retrieval: cache, then network ------------------------------------------------------


@record
class _Raw:
    """Every certificate parsed from one URL's answer, before selection."""

    url: str
    certificates: tuple[CertInfo, ...]
    rejected: tuple[Rejection, ...]
    from_cache: bool
    elapsed_ms: int
    network_needed: bool = False


def _retrieve(url: str, options: AiaOptions, cache: _Cache | None, total_deadline: float) -> _Raw:
    start = time.monotonic()
    try:
        parse_url(url)
    except HttpError as r:
        return _Raw(url, (), ((r.reason, r.message),), False, _ms(start))
    if cache is not None:
        body = cache.get(url)
        if body is not None:
            certs, problems = parse_certificates(body)
            if certs:
                return _Raw(url, certs, problems, True, _ms(start))
            cache.drop(url)  # corrupt or foreign: fetch again
    if not options.allow_network:
        detail = f"network fetching is off and {show_url(url)} is not cached"
        return _Raw(url, (), (("offline", detail),), False, _ms(start), network_needed=True)
    deadline = min(start + options.deadline, total_deadline)
    try:
        body = http_get(
            url,
            timeout=options.timeout,
            deadline=deadline,
            max_bytes=options.max_bytes,
            max_redirects=options.max_redirects,
            user_agent=_USER_AGENT,
            accept=_ACCEPT,
            proxy=options.proxy,
            env=options.proxy_environ(),
            ca_file=options.https_ca_file,
        )
    except HttpError as r:
        return _Raw(url, (), ((r.reason, r.message),), False, _ms(start))
    certs, problems = parse_certificates(body)
    if certs and cache is not None:
        cache.put(url, body)
    return _Raw(url, certs, problems, False, _ms(start))


def _select(child: CertInfo, raw: _Raw) -> AiaFetch:
    """Keep the certificates that really issued ``child``."""
    kept: list[CertInfo] = []
    rejected = list(raw.rejected)
    seen: set[str] = set()
    for c in raw.certificates:
        if c.sha256 in seen:
            continue
        seen.add(c.sha256)
        if c.subject_der != child.issuer_der:
            rejected.append(
                (
                    "not-the-issuer",
                    f"got '{c.subject}', '{child.display_name}' names '{child.issuer}'",
                )
            )
            continue
        why = verify_signature(child, c)
        if why is None:
            kept.append(c)
        elif why == "bad-signature":
            rejected.append(
                (
                    "bad-signature",
                    f"'{c.subject}' ({c.short_fp}) has the right name but its key did not "
                    f"sign '{child.display_name}'",
                )
            )
        elif why == "name-mismatch":  # pragma: no cover - subject compared above
            rejected.append(("not-the-issuer", f"'{c.subject}' does not match '{child.issuer}'"))
        else:
            rejected.append(
                ("unsupported-algorithm", f"cannot check '{child.display_name}' with '{c.subject}'")
            )
    return AiaFetch(
        url=raw.url,
        certificates=tuple(kept),
        rejected=tuple(rejected),
        from_cache=raw.from_cache,
        elapsed_ms=raw.elapsed_ms,
        network_needed=raw.network_needed,
    )


def parse_certificates(body: bytes) -> tuple[tuple[CertInfo, ...], tuple[Rejection, ...]]:
    """Parse an AIA answer: DER certificate, PEM (one or several), PKCS#7 (DER or PEM).

    Returns the certificates (at most 64) and ``unparsable`` /
    ``too-many-certificates`` problems.  Pure; never raises.
    """
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import pkcs7

    from ..model.pem import iter_pem_blocks, looks_like_pem

    found: list[x509.Certificate] = []
    problems: list[Rejection] = []
    if looks_like_pem(body):
        for block in iter_pem_blocks(body):
            if block.broken:
                problems.append(
                    ("unparsable", f"broken PEM block '{block.label}' at line {block.line}")
                )
                continue
            try:
                if block.label in ("CERTIFICATE", "X509 CERTIFICATE"):
                    found.append(x509.load_der_x509_certificate(block.data))
                elif block.label in ("PKCS7", "PKCS #7 SIGNED DATA", "CMS"):
                    found.extend(pkcs7.load_der_pkcs7_certificates(block.data))
                # other labels (keys, CRLs) are ignored: not issuer candidates
            except Exception as exc:  # hostile bytes: any parser failure is "unparsable"
                problems.append(
                    (
                        "unparsable",
                        f"PEM block '{block.label}' at line {block.line}: {describe(exc)}",
                    )
                )
        if not found and not problems:
            problems.append(("unparsable", "PEM answer without a CERTIFICATE or PKCS7 block"))
    elif not body:
        problems.append(("unparsable", "empty answer"))
    else:
        try:
            found.append(x509.load_der_x509_certificate(body))
        except Exception:
            try:
                found.extend(pkcs7.load_der_pkcs7_certificates(body))
            except Exception:
                problems.append(
                    ("unparsable", f"{len(body)} bytes that are neither DER, PEM nor PKCS#7")
                )
    if len(found) > _MAX_CERTS:
        problems.append(
            ("too-many-certificates", f"{len(found)} certificates; first {_MAX_CERTS} examined")
        )
        found = found[:_MAX_CERTS]
    infos: list[CertInfo] = []
    from ..model.cert import from_certificate

    for c in found:
        try:
            infos.append(from_certificate(c))
        except Exception as exc:  # a certificate cryptography loads but cannot describe
            problems.append(("unparsable", f"certificate not understood: {describe(exc)}"))
    return tuple(infos), tuple(problems)


# -- the on-disk cache ---------------------------------------------------------------------


class _Cache:
    """Answers keyed by SHA-256 of the AIA URL, one file each, bounded in size and age.

    Entry: ``trustdoctor-aia-cache 1 <length>\\n<url>\\n<body>``; the URL line
    guards against a foreign or colliding file, the length against a torn one.
    Writes are atomic (:mod:`.atomic`), files 0600 in a 0700 directory.  Every error is ignored:
    a cache that cannot be read or written only costs a fetch.  Cached answers
    are re-checked like fresh ones (name and signature), so a tampered entry can
    at worst lose an issuer, never make anything trusted.
    """

    def __init__(self, root: Path, options: AiaOptions) -> None:
        self.root = root
        self.options = options

    @classmethod
    def open(cls, options: AiaOptions) -> _Cache | None:
        return cls(options.cache_dir, options) if options.cache_dir is not None else None

    def _path(self, url: str) -> Path:
        return self.root / (hashlib.sha256(url.encode("utf-8")).hexdigest() + ".aia")

    def get(self, url: str) -> bytes | None:
        import stat

        path = self._path(url)
        try:
            flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
            fd = os.open(path, flags)
        except OSError:
            return None
        try:
            st = os.fstat(fd)
            limit = self.options.max_bytes + len(url) + 64
            if not stat.S_ISREG(st.st_mode) or st.st_size > limit:
                return None
            age = time.time() - st.st_mtime
            if age > self.options.cache_max_age or age < -300:  # stale, or from the future
                self._unlink(path)
                return None
            with os.fdopen(fd, "rb", closefd=False) as f:
                data = f.read(limit + 1)
        except OSError:
            return None
        finally:
            os.close(fd)
        header, _, rest = data.partition(b"\n")
        url_line, _, body = rest.partition(b"\n")
        magic, _, length = header.rpartition(b" ")
        if magic != _CACHE_MAGIC or url_line != url.encode("utf-8"):
            return None
        if not length.isdigit() or int(length) != len(body):
            return None
        return body

    def put(self, url: str, body: bytes) -> None:
        from .atomic import atomic_write

        try:
            if not self.root.is_dir():
                self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
            header = _CACHE_MAGIC + b" %d\n" % len(body) + url.encode("utf-8") + b"\n"
            atomic_write(self._path(url), header + body, mode=0o600)
        except OSError:
            return
        self._prune()

    def drop(self, url: str) -> None:
        self._unlink(self._path(url))

    def _prune(self) -> None:
        """Drop expired entries, leftovers of interrupted writes, the oldest beyond the cap."""
        from .atomic import remove_stale

        remove_stale(self.root)
        now = time.time()
        entries: list[tuple[float, Path]] = []
        try:
            listing = list(os.scandir(self.root))
        except OSError:
            return
        for e in listing:
            name = e.name
            try:
                # Only our own names: never delete anything else in a user-given --cache DIR.
                if not (len(name) == 68 and name.endswith(".aia") and _is_hex(name[:64])):
                    continue
                mtime = e.stat(follow_symlinks=False).st_mtime
            except OSError:
                continue
            if now - mtime > self.options.cache_max_age:
                self._unlink(Path(e.path))
            else:
                entries.append((mtime, Path(e.path)))
        entries.sort()
        for _, path in entries[: max(len(entries) - self.options.cache_max_entries, 0)]:
            self._unlink(path)

    @staticmethod
    def _unlink(path: Path) -> None:
        with contextlib.suppress(OSError):
            path.unlink()


# -- small helpers ------------------------------------------------------------------------


def _is_hex(text: str) -> bool:
    return all(c in "0123456789abcdef" for c in text)


def _ms(start: float) -> int:
    return round((time.monotonic() - start) * 1000)
