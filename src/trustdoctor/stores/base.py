"""Shared pieces of the client models: findings, reading one file, environment lookups."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from ..model.anchors import Anchor, AnchorSet, make_anchor_set
from ..model.causes import CODE_SIDE
from ..model.findings import Code, Finding, Severity, Side
from ..model.record import field, mutable_record
from ..model.stores import ClientStore, SourceStatus, StoreSource
from .rootfs import LimitExceeded, describe_oserror


def finding(
    code: Code,
    severity: Severity,
    certs: Iterable[str] = (),
    **params: str | int | bool | list[str] | None,
) -> Finding:
    """A store finding; the side comes from :data:`CODE_SIDE` (client by default).

    Params are data: ``reason``/``effect`` are stable codes (their words are in
    render/words.py), the rest are the values those words need (paths, counts,
    the OS's or the client's own error text in ``error``/``client_error``).
    """
    return Finding(
        code=code,
        severity=severity,
        side=CODE_SIDE.get(code, Side.CLIENT),
        params={k: v for k, v in params.items() if v is not None},
        certs=tuple(dict.fromkeys(certs)),
    )


def env_value(env: Mapping[str, str], name: str) -> str | None:
    """A variable's value, ``None`` when unset *or empty* (Go's ``os.Getenv(x) != ""``)."""
    v = env.get(name)
    return v if v else None


def oserror_status(exc: OSError) -> SourceStatus:
    if isinstance(exc, LimitExceeded):
        return SourceStatus.TRUNCATED
    if isinstance(exc, FileNotFoundError):
        return SourceStatus.MISSING
    return SourceStatus.UNREADABLE


def limit_finding(client: str, path: str, exc: OSError) -> Finding:
    if isinstance(exc, LimitExceeded):
        return finding(
            Code.STORE_LIMIT,
            Severity.WARNING,
            client=client,
            path=path,
            reason="file-too-large",
            size=exc.size,
            limit=exc.limit,
        )
    return finding(  # not raised today: every limit is a LimitExceeded
        Code.STORE_LIMIT,
        Severity.WARNING,
        client=client,
        path=path,
        reason="os-error",
        error=describe_oserror(exc),
    )


def block_limit_finding(client: str, path: str) -> Finding:
    from .pemfile import MAX_BLOCKS

    return finding(
        Code.STORE_LIMIT,
        Severity.WARNING,
        client=client,
        path=path,
        reason="too-many-pem-blocks",
        limit=MAX_BLOCKS,
    )


def entries_limit_finding(client: str, path: str, entries: int) -> Finding:
    """A directory cut at ``entries`` names (RootFS.listdir ``truncated``)."""
    return finding(
        Code.STORE_LIMIT,
        Severity.WARNING,
        client=client,
        path=path,
        reason="too-many-entries",
        entries=entries,
    )


def unreadable_finding(
    client: str, path: str, exc: OSError, *, effect: str | None = None
) -> Finding:
    """``unreadable-file`` for an OS error (``effect``: an effect code of render/words.py)."""
    if isinstance(exc, LimitExceeded):
        return limit_finding(client, path, exc)
    return finding(
        Code.UNREADABLE_FILE,
        Severity.WARNING,
        client=client,
        path=path,
        reason="os-error",
        error=describe_oserror(exc),
        effect=effect,
    )


@mutable_record
class Builder:
    """Accumulates what one client model found, then freezes it into a :class:`ClientStore`."""

    client: str
    anchors: list[Anchor] = field(default_factory=list)
    sources: list[StoreSource] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    partial_chain: bool = True
    refresh_command: str | None = None
    load_error: str | None = None
    files_read: list[str] = field(default_factory=list)
    registry_dirs: list[str] = field(default_factory=list)

    def source(
        self,
        path: str,
        kind: str,
        status: SourceStatus,
        count: int | None = None,
        detail: str | None = None,
    ) -> None:
        self.sources.append(StoreSource(path, kind, status, count, detail))

    def add(self, f: Finding) -> None:
        self.findings.append(f)

    def anchor_set(self) -> AnchorSet:
        return make_anchor_set(
            self.client,
            self.anchors,
            sources=tuple(s.path for s in self.sources if s.status == SourceStatus.USED),
            partial_chain=self.partial_chain,
        )

    def build(self, **extra: object) -> ClientStore:
        return ClientStore(
            client=self.client,
            anchors=self.anchor_set(),
            sources=tuple(self.sources),
            findings=tuple(self.findings),
            refresh_command=self.refresh_command,
            load_error=self.load_error,
            registry_dirs=tuple(self.registry_dirs),
            **extra,  # type: ignore[arg-type]
        )


def merge_into(dst: Builder, src: Builder, *, prefix: str | None = None) -> None:
    """Fold a sub-model (e.g. Go's system roots inside dockerd) into ``dst``."""
    dst.anchors.extend(src.anchors)
    for s in src.sources:
        detail = s.detail if prefix is None else (f"{prefix}; {s.detail}" if s.detail else prefix)
        dst.sources.append(StoreSource(s.path, s.kind, s.status, s.count, detail))
    dst.findings.extend(src.findings)
    dst.files_read.extend(src.files_read)
    if src.load_error and not dst.load_error:
        dst.load_error = src.load_error
