"""What a client's trust store looks like, as data.

These records are the output of the client models (``stores/go.py``,
``stores/openssl.py``...) and the input of the renderers, of
:func:`trustdoctor.engine.refine.refine_verdict` and of the compliance check.
They are frozen: a model reads files once, through :class:`RootFS`, and then
everything downstream is pure.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from enum import StrEnum

from .anchors import Anchor, AnchorSet
from .binary import BinaryInfo
from .findings import Finding
from .record import field, record

TYPE_CHECKING = False  # typing's constant, without importing typing (model/record.py)
if TYPE_CHECKING:
    from ..engine.refine import CaCheck
    from ..stores.distro import Distro
    from ..stores.rootfs import RootFS


class SourceStatus(StrEnum):
    """What happened to one source a client consults (a file, a directory, a variable)."""

    USED = "used"  # read, and contributed anchors
    EMPTY = "empty"  # read, but held no certificate this client accepts
    MISSING = "missing"  # does not exist (silently skipped by the client)
    UNREADABLE = "unreadable"  # exists but could not be read (EACCES, EISDIR, loop...)
    SKIPPED = "skipped"  # exists but the client never gets to it (an earlier file won)
    SHADOWED = "shadowed"  # replaced by an environment variable or an earlier directory
    IGNORED = "ignored"  # present, but this client never reads it (wrong name, not selected)
    REJECTED = "rejected"  # read, but the client refuses the whole source (broken PEM...)
    TRUNCATED = "truncated"  # over trustdoctor's safety limits: read in part or not at all


@record
class StoreSource:
    """One place a client looks for anchors, in the order it looks.

    Attributes:
        path: the path inside the root (``/etc/ssl/certs/ca-certificates.crt``),
            or ``$VAR`` for an environment variable.
        kind: ``file``, ``dir``, ``hashdir`` (OpenSSL CApath), ``keystore``,
            ``env``, ``bundled`` (compiled into the client), ``certs.d``, ``hosts.toml``.
        status: see :class:`SourceStatus`.
        count: certificates this source contributed (``None``: not applicable).
        detail: a short note (why skipped, where a symlink points, which variable...).
    """

    path: str
    kind: str
    status: SourceStatus
    count: int | None = None
    detail: str | None = None

    def to_dict(self) -> dict[str, object]:
        return {
            "path": self.path,
            "kind": self.kind,
            "status": self.status.value,
            "count": self.count,
            "detail": self.detail,
        }


@record
class StoreContext:
    """Where to look and with which environment: the input of every client model.

    Attributes:
        fs: the filesystem root every read goes through.
        env: the environment of the client (the tool's own for ``/``, the
            process's for ``--pid``, ``--env`` values, or empty).
        distro: what :func:`trustdoctor.stores.distro.detect_distro` found.
        registry: ``host[:port]`` of an image reference, for docker/containerd/crio.
        process_start: when the inspected process (``--pid``) started.
        now: the time of the inspection (a parameter: models never read the clock).
        daemons: start time of long-running daemons found on the host
            (``dockerd``, ``containerd``, ``crio``, ``kubelet``), used for
            ``restart-required`` when no ``--pid`` is given.
        process_exe: the executable of ``--pid`` (inside the root), if known.
        process_binary: what that executable is (a Go program and its version...).
        process_cmdline: its command line, if known.
        label: how the root was given (``/``, ``--root DIR``, ``--image F``, ``--pid N``).
        env_origin: where ``env`` came from: ``tool`` (the tool's own, for ``/``),
            ``given``, ``process``, ``image`` or ``empty``.
        daemon_env: the environment of each daemon in ``daemons`` (from
            ``/proc/PID/environ``), used instead of the tool's own environment
            for the daemon's model.
    """

    fs: RootFS
    env: Mapping[str, str]
    distro: Distro
    now: dt.datetime  # a parameter: the model layer never reads the clock
    registry: str | None = None
    process_start: dt.datetime | None = None
    daemons: Mapping[str, dt.datetime] = field(default_factory=dict)
    process_exe: str | None = None
    process_binary: BinaryInfo | None = None
    process_cmdline: tuple[str, ...] = ()
    label: str = "/"
    env_origin: str = "given"
    daemon_env: Mapping[str, Mapping[str, str]] = field(default_factory=dict)


@record
class ClientStore:
    """What one client would trust, and why.

    Attributes:
        client: the client model name (``go``, ``openssl``, ``java``...).
        anchors: the anchors it ends up with, with provenance (file, line,
            keystore alias).
        sources: every source consulted, in the client's order.
        findings: store findings (``no-trust-store``, ``stale-bundle``...).
        pending: certificates in anchor source directories (e.g.
            ``/usr/local/share/ca-certificates``) the compiled store this
            client reads does not contain: a rebuild would add them.
        default_anchors: what the client would trust without the environment
            overrides in effect; ``None`` when no override applies.
        refresh_command: the command that rebuilds the store this client reads.
        ignored: certificates in anchor source directories the update tool
            will never pick up (wrong suffix, DER, several per file for a
            CApath reader), with the ``anchor-file-ignored`` reason code in
            ``provenance.detail``.
        load_error: the error the client itself reports while loading its
            store, when loading fails outright (Go's SystemRootsError, curl's
            exit 77, requests' "invalid path").
        registry_dirs: per-registry directories that exist for this client
            (docker/containerd/crio) whether or not they match.
        system_store: the anchors come from the distribution-managed store, so
            its anchor directories and rebuild command apply to this client.
        runtime: what the running client is, when known from its binary
            (``--pid``): ``go1.19.8``, with cgo and static/dynamic linking.
    """

    client: str
    anchors: AnchorSet
    sources: tuple[StoreSource, ...] = ()
    findings: tuple[Finding, ...] = ()
    pending: tuple[Anchor, ...] = ()
    default_anchors: AnchorSet | None = None
    refresh_command: str | None = None
    ignored: tuple[Anchor, ...] = ()
    load_error: str | None = None
    registry_dirs: tuple[str, ...] = ()
    system_store: bool = True
    runtime: Mapping[str, object] | None = None


@record
class StoresReport:
    """What ``trustdoctor stores`` shows: the root, its distro, each client, and the CA checks.

    Attributes:
        root: how the root was given (``/``, ``--root DIR``, ``--image F``, ``--pid N``).
        distro: the detected distribution.
        env_keys: names of the trust-related variables set in the client's environment.
        env_origin: where the environment came from: ``tool``, ``given``,
            ``process``, ``image`` or ``empty`` (StoreContext.env_origin).
        env_given: ``--env``/``--env-file`` values were applied on top.
        versions: per client, the release its model stands for (``go`` 1.27...).
        registry: the ``--registry`` value, if any.
        stores: one :class:`ClientStore` per client.
        checks: per CA asked about (``--ca``/``--fingerprint``), one check per client.
    """

    root: str
    distro: Distro
    stores: tuple[ClientStore, ...]
    env_keys: tuple[str, ...] = ()
    env_origin: str = ""
    env_given: bool = False
    registry: str | None = None
    versions: Mapping[str, str] = field(default_factory=dict)
    checks: tuple[tuple[CaCheck, ...], ...] = ()
