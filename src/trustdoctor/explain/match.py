"""``explain``: from a TLS error message (or a whole log) to the likely causes
and the exact next command.  Pure: takes text, returns frozen records.

The knowledge is data (``data/messages.json``, loaded by
:mod:`trustdoctor.explain.catalogue`); the line
joining is :func:`trustdoctor.explain.records.iter_records`.  Here: pick the most
specific message of each record, the program around it, the endpoint it
names, rank the causes and build the ``trustdoctor diagnose`` line.

    >>> r = explain('Get "https://reg.example/v2/": x509: certificate signed by unknown authority')
    >>> m = r.matches[0]
    >>> (m.stack, m.error_class, m.host, m.port, m.next.command)
    ('go', 'unknown-issuer', 'reg.example', 443, 'trustdoctor diagnose reg.example:443 --client go')
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Iterator, Sequence
from functools import lru_cache

from ..clients import CLIENTS
from ..model.causes import CODE_SIDE
from ..model.explain import Cause, ExplainMatch, ExplainResult, NextStep, Unrecognised
from ..model.findings import Code, Side
from ..model.record import record, replace
from . import catalogue as M
from .records import Block, LogStats, Record, iter_records, records_from_text

MAX_MATCHES = 1000  # distinct failures kept; more are counted in ``dropped``
MAX_UNRECOGNISED = 5  # samples of TLS-looking lines that matched nothing
MAX_TEXT = 400  # characters of matched text kept per match
MAX_QUESTIONS = 6
_S_CLIENT_SUMMARY = "openssl.num.s_client-summary"
_S_CLIENT_CALLBACK = "openssl.num.s_client-callback"

# Words that make an unmatched TLS-looking record worth reporting as "not
# recognised" (a line that merely mentions SSL_CERT_FILE is not an error).
_ERRORISH = re.compile(r"(?i)error|fail|unable|invalid|refused|denied|exception|not trusted|reject")


class _Lazy:
    """A pattern compiled once, on its first use: one message needs a few of the
    catalogue's ~215 patterns, and compiling them all costs ~50 ms of start-up."""

    __slots__ = ("_rx", "source")

    def __init__(self, source: str) -> None:
        self.source = source
        self._rx: re.Pattern[str] | None = None

    def get(self) -> re.Pattern[str]:
        if self._rx is None:
            self._rx = re.compile(self.source)
        return self._rx


class _Group:
    """The error entries of one priority, with their literals (:func:`_literals`)
    worked out when a record first reaches this priority."""

    __slots__ = ("_items", "entries")

    def __init__(self, entries: list[M.ErrorEntry]) -> None:
        self.entries = tuple(entries)
        self._items: tuple[tuple[M.ErrorEntry, _Lazy, tuple[str, ...]], ...] | None = None

    def items(self) -> tuple[tuple[M.ErrorEntry, _Lazy, tuple[str, ...]], ...]:
        if self._items is None:
            self._items = tuple((e, _Lazy(e.regex), _literals(e.regex)) for e in self.entries)
        return self._items


@record
class _Compiled:
    """The catalogue's patterns, compiled once per process, in matching order."""

    cat: M.Catalogue
    entries: tuple[tuple[int, _Group], ...]  # highest priority first
    wrappers: tuple[tuple[M.WrapperEntry, _Lazy], ...]
    hosts: tuple[tuple[M.HostRule, _Lazy], ...]


def _literals(regex: str) -> tuple[str, ...]:
    """Strings one of which every match of ``regex`` contains (empty: unknown).

    A cheap ``in`` test on them skips most regular expressions of the table
    for a record that cannot match (the table has ~170 entries).
    """
    try:
        from re import _constants as C  # type: ignore[attr-defined]
        from re import _parser as P  # type: ignore[attr-defined]

        tree = P.parse(regex)
    except Exception:  # pragma: no cover - private API changed: no shortcut
        return ()

    def runs(seq: object) -> str:
        best = cur = ""
        for op, av in seq:  # type: ignore[attr-defined]
            if op is C.LITERAL:
                cur += chr(av)
                best = max(best, cur, key=len)
            else:
                cur = ""
        return best

    top = runs(tree)
    if len(top) >= 3:
        return (top,)
    items = [it for it in tree if it[0] is not C.AT]
    if len(items) == 1 and items[0][0] is C.SUBPATTERN:
        inner = items[0][1][-1]
        if len(inner) == 1 and inner[0][0] is C.BRANCH:
            alts = [runs(b) for b in inner[0][1][1]]
            if all(len(a) >= 3 for a in alts):
                return tuple(alts)
    if len(items) >= 1 and items[0][0] is C.BRANCH:
        alts = [runs(b) for b in items[0][1][1]]
        if all(len(a) >= 3 for a in alts):
            return tuple(alts)
    return ()


@lru_cache(maxsize=1)
def _compiled() -> _Compiled:
    """The catalogue in matching order; each pattern is compiled on its first use."""
    cat = M.load()
    by_prio: dict[int, list[M.ErrorEntry]] = {}
    for e in cat.errors:
        by_prio.setdefault(e.priority, []).append(e)
    entries = tuple((p, _Group(by_prio[p])) for p in sorted(by_prio, reverse=True))
    wrappers = tuple(
        sorted(((w, _Lazy(w.regex)) for w in cat.wrappers), key=lambda t: -t[0].priority)
    )
    hosts = tuple(sorted(((h, _Lazy(h.regex)) for h in cat.hosts), key=lambda t: -t[0].priority))
    return _Compiled(cat, entries, wrappers, hosts)


# -- the public functions ------------------------------------------------------------


def explain(
    text_or_lines: str | bytes | Iterable[str] | Iterable[bytes],
    *,
    prefilter: bool = True,
    max_matches: int = MAX_MATCHES,
) -> ExplainResult:
    """Recognise every TLS failure in a message, a list of lines, or a log.

    Args:
        text_or_lines: one string (may hold many lines), bytes, or an iterable
            of lines (str or bytes, with or without their newline).
        prefilter: look only at records holding one of the message table's
            needles (what a log needs); False matches every record (a message
            typed by hand, where a bare "hostname mismatch" must still count).
        max_matches: distinct failures to keep.

    Returns:
        An :class:`ExplainResult`; ``matches`` is empty when nothing was
        recognised (the caller must say so: never guess silently).
    """
    stats = LogStats()
    if isinstance(text_or_lines, str | bytes):
        records = records_from_text(text_or_lines, stats, prefilter=prefilter)
    else:
        records = iter_records(_blocks(text_or_lines, stats), stats, prefilter=prefilter)
    return explain_records(records, stats, max_matches=max_matches)


def explain_records(
    records: Iterable[Record], stats: LogStats | None = None, *, max_matches: int = MAX_MATCHES
) -> ExplainResult:
    """Fold the matches of ``records`` (from :func:`iter_records`) into a result.

    Memory is bounded by ``max_matches`` distinct failures, however long the
    stream: repeats of the same failure only bump a counter.
    """
    found: dict[tuple[object, ...], int] = {}
    order: list[ExplainMatch] = []
    counts: list[int] = []
    unrecognised: list[Unrecognised] = []
    n_unrec = 0
    dropped = 0
    n_records = 0
    summary_seen = False
    for rec in records:
        n_records += 1
        m = match_record(rec)
        if m is None:
            flat = rec.flat
            if _ERRORISH.search(flat):
                n_unrec += 1
                if len(unrecognised) < MAX_UNRECOGNISED:
                    unrecognised.append(Unrecognised(rec.line, _shorten(flat)))
            continue
        summary_seen = summary_seen or m.pattern == _S_CLIENT_SUMMARY
        i = found.get(m.key)
        if i is not None:
            counts[i] += 1
        elif len(order) < max_matches:
            found[m.key] = len(order)
            order.append(m)
            counts.append(1)
        else:
            dropped += 1
    pairs = list(zip(order, counts, strict=True))
    if summary_seen:
        # s_client's "Verify return code" is its verdict; the per-depth
        # "verify error:num=" lines before it are steps towards it.
        pairs = [(m, c) for m, c in pairs if m.pattern != _S_CLIENT_CALLBACK]
    matches = tuple(replace(m, count=c) if c != 1 else m for m, c in pairs)
    st = stats if stats is not None else LogStats()
    return ExplainResult(
        matches=matches,
        lines=st.lines,
        records=n_records,
        unrecognised=tuple(unrecognised),
        unrecognised_count=n_unrec,
        dropped=dropped,
    )


def match_record(rec: Record) -> ExplainMatch | None:
    """The most specific recognised failure of one record, or None."""
    flat = rec.flat
    return _match_flat(flat, rec)


# -- matching ------------------------------------------------------------------------


def _blocks(src: Iterable[str] | Iterable[bytes], stats: LogStats) -> Iterator[Block]:
    """Blocks of an iterable of lines (each item may hold several lines)."""
    from .records import MAX_LINE, split_windows

    batch: list[bytes] = []
    numbers: list[int] = []
    partial: set[int] = set()
    n = 0
    for item in src:
        data = item.encode("utf-8", "replace") if isinstance(item, str) else item
        parts = data.split(b"\n")
        if len(parts) > 1 and not parts[-1]:
            parts.pop()  # the item's own newline
        for part in parts:
            n += 1
            if len(part) > MAX_LINE:
                stats.overlong += 1
                for w in split_windows(part):
                    partial.add(len(batch))
                    batch.append(w)
                    numbers.append(n)
            else:
                batch.append(part)
                numbers.append(n)
        if len(batch) >= 8192:
            yield Block(numbers[0], batch, frozenset(partial), numbers=numbers)
            batch, numbers, partial = [], [], set()
    if batch:
        yield Block(numbers[0], batch, frozenset(partial), numbers=numbers)
    stats.lines = n


def _best_entry(flat: str) -> tuple[M.ErrorEntry, re.Match[str], M.OpensslCode | None] | None:
    fallback: tuple[M.ErrorEntry, re.Match[str]] | None = None
    comp = _compiled()
    for _prio, group in comp.entries:
        best: tuple[M.ErrorEntry, re.Match[str], M.OpensslCode | None] | None = None
        for entry, lazy, lits in group.items():
            if lits and not any(lit in flat for lit in lits):
                continue
            mt = lazy.get().search(flat)
            if mt is None:
                continue
            code: M.OpensslCode | None = None
            if "code" in mt.re.groupindex:
                num = int(mt.group("code"))
                if num == 0:
                    continue  # "Verify return code: 0 (ok)" is success
                found = comp.cat.openssl_by_code.get(num)
                if found is None:
                    fallback = fallback or (entry, mt)
                    continue
                for old, text, means in comp.cat.openssl_renumbered:  # OpenSSL 1.1.1 numbering
                    if num == old and text in flat:
                        found = comp.cat.openssl_by_code[means]
                code = found
            if best is None or mt.start() < best[1].start():
                best = (entry, mt, code)
        if best is not None:
            return best
    if fallback is not None:
        return fallback[0], fallback[1], None
    return None


def _match_flat(flat: str, rec: Record) -> ExplainMatch | None:
    got = _best_entry(flat)
    if got is None:
        return None
    entry, mt, code = got
    comp = _compiled()
    error_class = entry.error_class
    entry_causes = entry.causes
    questions: list[str] = list(entry.questions)
    narrows = entry.narrows
    detail: dict[str, str] = {}
    if entry.openssl_code is not None:
        detail["verify_code"] = str(entry.openssl_code)
    if code is not None:
        error_class, entry_causes, narrows = code.error_class, code.causes, code.narrows
        questions = list(code.questions)
        detail["verify_code"] = str(code.code)
        depth = mt.groupdict().get("depth")
        if code.code == 20 and depth is not None:
            # `openssl verify` names the depth whose issuer is missing: the
            # leaf's (0) means the intermediate is absent; deeper means the root.
            detail["depth"] = depth
            first = Code.MISSING_INTERMEDIATE if depth == "0" else Code.UNTRUSTED_ROOT
            reason = "issuer-of-leaf-missing" if depth == "0" else "issuer-of-intermediate-missing"
            entry_causes = ((first, reason), *(c for c in entry_causes if c[0] != first))
    elif "code" in mt.re.groupindex:
        unknown = comp.cat.unknown_code
        error_class, entry_causes, narrows = unknown.error_class, unknown.causes, unknown.narrows
        detail["verify_code"] = mt.group("code")
        questions = list(unknown.questions)

    # The program around the message.
    wrappers = [
        w for w, rx in comp.wrappers if entry.library in w.libraries and rx.get().search(flat)
    ]
    stack = wrappers[0].program if wrappers else entry.stack
    library = next((w.library for w in wrappers if w.library), entry.library)
    client = entry.client
    ranked = sorted((w for w in wrappers if w.client), key=lambda w: -w.client_rank)
    if ranked:
        client = ranked[0].client or client
    elif library != entry.library:
        client = comp.cat.library_client.get(library, client)
    lead: list[tuple[Code, str]] = []
    extra: list[tuple[Code, str]] = []
    for w in wrappers:
        if w.lead and (not w.lead_classes or error_class in w.lead_classes):
            lead.extend(w.lead)
        extra.extend(w.extra)
        questions.extend(w.questions)
    ordered = [*lead, *entry_causes[:2], *extra, *entry_causes[2:]]
    causes: list[Cause] = []
    seen: set[tuple[Code, str]] = set()
    for c, reason in ordered:
        if (c, reason) not in seen:
            seen.add((c, reason))
            causes.append(Cause(c, reason))
    qs = tuple(dict.fromkeys(questions))[:MAX_QUESTIONS]

    # Facts read from the message itself.
    groups = {k: v for k, v in mt.groupdict().items() if v}
    authority = _go_unquote(groups["authority"]) if "authority" in groups else None
    hint = _go_unquote(groups["hint"]) if "hint" in groups else None
    for k in ("now", "not_after", "not_before", "path", "valid_for"):
        if k in groups:
            detail[k] = groups[k].strip()
    key = next((k for k in ("wanted", "wanted_ip", "wanted_cn") if groups.get(k)), None)
    wanted = groups.get(key) if key else None
    absolute = False
    if wanted and key is not None:
        # A quoted name keeps its final dot (Python's 'name.'): a fully
        # qualified name the client compared as such; unquoted, a final dot
        # ends the sentence.
        after = flat[mt.end(key) : mt.end(key) + 1]
        absolute = after in ("'", '"') and wanted.strip().endswith(".")
        wanted = wanted.strip() if absolute else wanted.strip().rstrip(".")
        detail["wanted"] = wanted

    host, port = _endpoint(flat, comp)
    servername: str | None = None
    wanted_host = _valid_host(wanted) if wanted else None
    if absolute and wanted_host is not None and not _is_ip(wanted_host):
        # The name as the client had it (diagnose checks it with its dot),
        # and the cause no certificate fixes, first.
        wanted_host += "."
        if error_class == "hostname-mismatch":
            causes.insert(0, Cause(Code.HOSTNAME_MISMATCH, "trailing-dot"))
    if host is None and wanted_host is not None:
        host = wanted_host
    elif (
        host is not None
        and wanted_host is not None
        and wanted_host != host
        and _is_ip(host)
        and not _is_ip(wanted_host)
    ):
        servername = wanted_host

    nxt = next_step(host, port, servername, client, causes, error_class)
    line_no, text = _line_of(rec, flat, mt.start())
    return ExplainMatch(
        pattern=entry.id,
        stack=stack,
        library=library,
        client=client,
        error_class=error_class,
        host=host,
        port=port,
        servername=servername,
        authority=authority,
        hint=hint,
        causes=tuple(causes),
        narrows=narrows,
        questions=qs,
        next=nxt,
        line=line_no,
        text=text,
        detail=detail,
    )


def _line_of(rec: Record, flat: str, pos: int) -> tuple[int, str]:
    """The physical line holding ``flat[pos]`` (flat joins stripped lines with a
    space), shortened around that position."""
    offset = 0
    for number, text in rec.lines:
        t = text.strip()
        if pos < offset + len(t) + 1:
            return number, _window(t, pos - offset)
        offset += len(t) + 1
    number, text = rec.lines[-1]
    return number, _window(text.strip(), 0)


def _window(text: str, at: int) -> str:
    """At most MAX_TEXT characters of ``text``, keeping position ``at`` in view."""
    if len(text) <= MAX_TEXT:
        return text
    start = max(0, min(at - 40, len(text) - MAX_TEXT + 1))
    end = start + MAX_TEXT - (2 if start else 1)
    return ("…" if start else "") + text[start:end] + ("…" if end < len(text) else "")


def _shorten(text: str) -> str:
    return _window(text, 0)


_GO_ESCAPE = re.compile(r"\\(?:x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|.)")


def _go_unquote(s: str) -> str:
    """Undo Go's %q escaping (the hint and authority name are %q-quoted)."""
    if "\\" not in s:
        return s

    def one(m: re.Match[str]) -> str:
        t = m.group(0)[1:]
        if t[0] in "xuU":
            return chr(int(t[1:], 16))
        return {"n": "\n", "t": "\t", "r": "\r"}.get(t, t)

    return _GO_ESCAPE.sub(one, s)


# -- endpoints -----------------------------------------------------------------------

_LABEL = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]{0,62}")


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _valid_host(host: str) -> str | None:
    """A clean host name or IP literal, or None for anything else."""
    h = host.strip().strip("[]")
    if not h or len(h) > 253:
        return None
    if _is_ip(h):
        return str(ipaddress.ip_address(h))
    if h.startswith("*"):
        return None
    labels = h.rstrip(".").split(".")
    if h.replace(".", "").isdigit() or not all(_LABEL.fullmatch(x) for x in labels):
        return None
    return h.rstrip(".").lower()


def _split_hostport(text: str) -> tuple[str | None, int | None]:
    t = text.strip()
    if t.startswith("["):
        end = t.find("]")
        if end < 0:
            return None, None
        host, rest = t[1:end], t[end + 1 :]
        port = _port(rest[1:]) if rest.startswith(":") else None
        return _valid_host(host), port
    if t.count(":") == 1:
        host, _, p = t.partition(":")
        return _valid_host(host), _port(p)
    if t.count(":") > 1:
        # An unbracketed IPv6 address with a port (aiohttp prints host:port).
        host, _, p = t.rpartition(":")
        if _is_ip(host):
            return _valid_host(host), _port(p)
        return (_valid_host(t), None) if _is_ip(t) else (None, None)
    return _valid_host(t), None


def _port(text: str) -> int | None:
    if not text.isdigit() or len(text) > 5:
        return None
    p = int(text)
    return p if 0 < p < 65536 else None


def _from_url(url: str) -> tuple[str | None, int | None]:
    cat = M.load()
    if any(url.startswith(p) for p in cat.url_ignore):
        return None, None
    scheme, _, rest = url.partition("://")
    authority = rest.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
    authority = authority.rsplit("@", 1)[-1]
    host, port = _split_hostport(authority)
    if host is None:
        return None, None
    return host, port if port is not None else cat.scheme_ports.get(scheme.lower())


def _from_image(ref: str) -> tuple[str | None, int | None]:
    """Registry host of an image reference (docker/distribution reference grammar).

    The first path component is a registry when it contains a dot or a colon
    or is ``localhost``; otherwise the image lives on Docker Hub, whose API
    endpoint is registry-1.docker.io.
    """
    first, sep, _ = ref.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        host, port = _split_hostport(first)
        return host, port if port is not None else 443
    return "registry-1.docker.io", 443


def _endpoint(flat: str, comp: _Compiled) -> tuple[str | None, int | None]:
    for rule, rx in comp.hosts:
        for mt in rx.get().finditer(flat):
            if rule.kind == "url":
                host, port = _from_url(mt.group("url").rstrip(".:"))
            elif rule.kind == "hostport":
                host, port = _split_hostport(mt.group("hostport").rstrip(".:"))
            elif rule.kind == "hostandport":
                host, port = _valid_host(mt.group("host")), _port(mt.group("port"))
            else:
                host, port = _from_image(mt.group("image").rstrip(".:"))
            if host is not None:
                if port is None and rule.kind == "hostport" and rule.id == "s_client":
                    port = 443
                return host, port
    return None, None


# -- the next command ----------------------------------------------------------------


def _target(host: str, port: int | None) -> str:
    h = f"[{host}]" if ":" in host else host
    return h if port is None else f"{h}:{port}"


def next_step(
    host: str | None,
    port: int | None,
    servername: str | None,
    client: str,
    causes: Sequence[Cause],
    error_class: str,
) -> NextStep:
    """The command that settles the question, concrete even without a host."""
    if error_class == "strict-profile" and client in CLIENTS and CLIENTS[client].texts == "python":
        # Only Python ≥ 3.13 verifies with X509_STRICT by default: judge as it does.
        client = f"{client}@3.13"
    if host is not None:
        argv = ["trustdoctor", "diagnose", _target(host, port)]
        if servername:
            argv += ["--servername", servername]
        if client in CLIENTS and CLIENTS[client].registry_store:
            # The daemons' per-registry stores (certs.d, hosts.toml) are looked
            # up by the image reference's host[:port]: no port for 443.
            argv += ["--registry", host if port in (None, 443) else _target(host, port)]
        return NextStep((*argv, "--client", client))
    if client == "kubectl":
        # kubectl names no server in its errors; diagnose finds it in the
        # kubeconfig and connects as kubectl does.
        return NextStep(("trustdoctor", "diagnose", "--client", client))
    top = causes[0].code if causes else None
    side = CODE_SIDE.get(top) if top is not None else None
    client_side = {
        Code.NO_TRUST_STORE,
        Code.UNREADABLE_FILE,
        Code.EMPTY_BUNDLE,
        Code.ENV_OVERRIDE,
        Code.STALE_BUNDLE,
    }
    if side == Side.CLIENT or top in client_side:
        return NextStep(("trustdoctor", "stores", "--client", client))
    if error_class in ("not-tls", "handshake-failed", "peer-alert"):
        return NextStep(
            ("trustdoctor", "diagnose", "HOST:PORT", "--client", client), runnable=False
        )
    return NextStep(("trustdoctor", "chain", "CHAIN.pem", "--client", client), runnable=False)
