"""The questions the page and the JSON API ask, as calls of the API (no web types).

Each function takes what a request carried (bytes and strings, in memory),
enforces the per-request bounds (sizes, certificate counts) *before* the
work, and calls :mod:`trustdoctor.api`; what it returns is the API's own
result.  Nothing here writes a file or logs what was pasted.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..errors import InputError, UsageError
from ..model.record import field, mutable_record, record
from .settings import KIB, Settings
from .targets import Allowlist, Decision, decide, parse_allowlist

if TYPE_CHECKING:
    from ..api.chain import ChainReport
    from ..api.endpoint import EndpointReport
    from ..model.explain import ExplainResult
    from ..sources.files import Loaded
    from .targets import Resolver

_PEM_BEGIN = re.compile(rb"-----BEGIN ")
PEM_SLACK = 8  # PEM blocks that are not certificates (a key, parameters) beside them
_HOST = re.compile(r"^[A-Za-z0-9_.*-]{1,253}$")


class Refused(Exception):
    """A request the server will not carry out (status code and one line)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@record
class Blob:
    """One input as received: a pasted text or an uploaded file."""

    name: str
    data: bytes

    @property
    def given(self) -> bool:
        return bool(self.data.strip())


@record
class ChainQuestion:
    """What the chain form (or ``POST /api/chain``) carries."""

    chain: Sequence[Blob] = ()
    root: Sequence[Blob] = ()
    host: str = ""
    password: str = ""


@mutable_record
class Service:
    """One server process's configuration, anchors and counters."""

    settings: Settings
    allow: Allowlist = field(default_factory=Allowlist)
    anchors: tuple[Loaded, ...] = ()
    anchors_label: str = ""
    resolve: Resolver | None = None

    @classmethod
    def start(cls, settings: Settings) -> Service:
        """Read the default anchors once (``--trust`` files, else certifi's
        Mozilla roots) and parse ``--allow-target``.

        Raises:
            UsageError, InputError: a bad ``--allow-target`` or ``--trust``.
        """
        from ..clients import check_clients, verifiers
        from ..sources.files import load_bytes, read_source

        try:
            allow = parse_allowlist(settings.allow_target)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        check_clients(settings.clients, allowed=verifiers())
        if settings.trust:
            from ..api.context import load_trust_paths
            from ..model.diagnosis import PresentedCert
            from ..sources.files import Loaded

            # Read once at start-up (a directory: every certificate file in it).
            found = load_trust_paths(list(settings.trust))
            certs = tuple(PresentedCert(a.cert, a.provenance) for a in found)
            anchors: tuple[Loaded, ...] = (Loaded(certs, ()),)
            label = ", ".join(settings.trust)
        else:
            import certifi

            path = certifi.where()
            anchors = (load_bytes(read_source(path), path),)
            label = f"Mozilla's roots (certifi {certifi.__version__})"
        return cls(settings, allow, anchors, label)

    # -- bounds -----------------------------------------------------------------------

    def load(self, blob: Blob, password: str) -> Loaded:
        """One certificate input, within the size and count bounds."""
        from ..sources.files import load_bytes

        s = self.settings
        # Counted before parsing: a paste of 1,000 certificates costs nothing.
        if len(_PEM_BEGIN.findall(blob.data)) > s.max_certs + PEM_SLACK:
            most = s.max_certs
            raise Refused(413, f"{blob.name}: more than {most} certificates; {most} at most")
        if len(blob.data) > s.max_cert_input:
            limit = s.max_cert_input // KIB
            raise Refused(413, f"{blob.name}: larger than {limit} KiB; not a certificate input")
        loaded = load_bytes(blob.data, blob.name, password=password.encode() if password else None)
        if len(loaded.certs) > s.max_certs:
            raise Refused(
                413,
                f"{blob.name}: {len(loaded.certs)} certificates; at most {s.max_certs} are judged",
            )
        return loaded

    def check_host(self, host: str) -> str | None:
        h = host.strip()
        if not h:
            return None
        try:
            ipaddress.ip_address(h.strip("[]"))
            return h.strip("[]")
        except ValueError:
            pass
        if not _HOST.match(h):
            raise InputError(f"host name {h[:80]!r} is not a DNS name or an IP address")
        return h

    # -- the questions ----------------------------------------------------------------

    def chain(self, q: ChainQuestion) -> ChainReport:
        """``trustdoctor chain`` on the pasted inputs (``--trust`` the pasted root,
        else the server's anchors)."""
        from ..api.chain import diagnose_chain

        chain = [self.load(b, q.password) for b in q.chain if b.given]
        if not chain:
            raise InputError("no chain: paste the certificates or upload a file")
        total = sum(len(c.certs) for c in chain)
        most = self.settings.max_certs
        if total > most:
            raise Refused(413, f"{total} certificates; at most {most} are judged")
        roots = [self.load(b, q.password) for b in q.root if b.given]
        trust: list[str | Loaded] = list(roots) if roots else list(self.anchors)
        return diagnose_chain(
            chain, host=self.check_host(q.host), clients=self.settings.clients, trust=trust
        )

    def explain(self, text: bytes) -> ExplainResult:
        """``trustdoctor explain`` on a pasted message or log excerpt."""
        import io

        from ..api.logs import explain_stream

        if len(text) > self.settings.max_log:
            raise Refused(413, f"the log is larger than {self.settings.max_log // KIB} KiB")
        if not text.strip():
            raise InputError("no error line or log text")
        return explain_stream(io.BytesIO(text), "pasted text")

    def decide(self, target: str) -> tuple[Decision, str, int]:
        """The ``--allow-target`` decision for ``target`` (before any socket opens)."""
        from ..model.target import parse_target

        t = parse_target(target)
        kw = {"resolve": self.resolve} if self.resolve is not None else {}
        decision = decide(t.connect_host, t.connect_port, self.allow, **kw)
        return decision, t.connect_host, t.connect_port

    def endpoint(self, target: str, q: ChainQuestion) -> EndpointReport:
        """``trustdoctor diagnose`` for an allowed target, connecting to the checked address."""
        from ..api.endpoint import diagnose_endpoint

        if not self.allow.enabled:
            raise Refused(
                403, "live endpoint diagnosis is off: the server was started without --allow-target"
            )
        decision, _host, port = self.decide(target)
        if not decision.allowed or decision.address is None:
            raise Refused(403, f"refused: {decision.reason}")
        addr = decision.address
        connect = f"[{addr}]:{port}" if ":" in addr else f"{addr}:{port}"
        roots = [self.load(b, q.password) for b in q.root if b.given]
        trust: list[str | Loaded] = list(roots) if roots else list(self.anchors)
        return diagnose_endpoint(
            target,
            connect_to=connect,
            clients=self.settings.clients,
            trust=trust,
            timeout=self.settings.timeout,
            proxy="",  # direct: the allowlist decides where connections go
        )
