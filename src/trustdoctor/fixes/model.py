"""Fix plans as data (pure).

A :class:`Plan` is what trustdoctor would do about one cause: an ordered
tuple of :class:`Step` records.  A step names a stable *action* code, its
parameters (JSON-able), whether it needs root, which paths it writes and the
platform it belongs to (a distribution family, ``dockerfile``, ``kubernetes``,
a server software, ``ca`` for the certificate issuer...).  Steps carry a
``reason`` code; the English for it lives in ``render/plan_text.py``.

Planners (``fixes/client.py``, ``fixes/server.py``) are pure: everything they
need to know about the machine arrives in a :class:`FixContext`, built at the
I/O edge by ``stores/fixfacts.py``.  ``stores/apply.py`` carries out the file
steps of a plan.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from enum import StrEnum

from ..model.findings import Code, Side
from ..model.pem import pem_encode
from ..model.record import field, record

TYPE_CHECKING = False  # typing's constant, without importing typing (model/record.py)
if TYPE_CHECKING:
    from ..engine.refine import CaCheck
    from ..model.cert import CertInfo
    from ..model.target import Target


class Action(StrEnum):
    """What a step does.  Stable codes (JSON ``steps[].action``); only ever added."""

    WRITE_FILE = "write-file"  # write generated content (hosts.toml, a drop-in, a bundle)
    COPY_ANCHOR = "copy-anchor"  # put a CA certificate file where a client reads anchors
    RUN = "run"  # run a command (refresh tool, package install, check, build)
    RESTART_SERVICE = "restart-service"  # restart a daemon or process that cached its roots
    SET_ENV = "set-env"  # set an environment variable for a client
    UNSET_ENV = "unset-env"  # remove an environment variable where it is set
    KEYTOOL_IMPORT = "keytool-import"  # import a CA into a Java keystore
    EDIT_CONFIG = "edit-config"  # add a setting to an existing configuration file
    DOCKERFILE_LINE = "dockerfile-line"  # lines for an image's Dockerfile
    SERVER_CONFIG = "server-config"  # server configuration lines (nginx, Apache...)
    REISSUE = "reissue"  # facts for issuing a new certificate


class Purpose(StrEnum):
    """Why a ``run`` step runs; ``apply`` only ever runs ``refresh`` and ``keytool`` steps."""

    REFRESH = "refresh"  # rebuild a compiled store from its anchor directories
    INSTALL_PACKAGE = "install-package"  # needs a package manager and the network: printed only
    CHECK = "check"  # a read-only diagnostic command
    BUILD = "build"  # build a file on the server side (fullchain.pem)
    VERIFY = "verify"  # prove the fix worked
    RELOAD = "reload"  # reload a server after a configuration change
    CONFIGURE = "configure"  # change a client's own configuration with its own tool


# Step order inside a merged plan: packages first, then files, then the
# rebuild, then environment, restarts, and the proof last.
PHASES: Mapping[str, int] = {
    "install-package": 0,
    "file": 1,
    "refresh": 2,
    "config": 3,
    "env": 4,
    "restart": 5,
    "build": 1,
    "server": 3,
    "reissue": 1,
    "check": 6,
    "verify": 7,
}


# Platforms that are a host root (steps ``apply`` may carry out).
HOST_PLATFORMS: frozenset[str] = frozenset(
    {
        "debian",
        "rhel",
        "alpine",
        "suse",
        "arch",
        "distroless",
        "scratch",
        "busybox",
        "unknown",
        "linux",
    }
)


# Exact types whose value is its own canonical form (a subclass, e.g. a
# StrEnum, takes the general path below, with the same result).
_PLAIN: frozenset[type] = frozenset({str, int, bool, float, type(None)})


def _canonical(value: object) -> object:
    """``value`` as a comparable, hashable form whatever the order of its
    mappings: what makes two steps' parameters the same step.  Values that
    are not plain data compare by their text (a ``Path`` and its string)."""
    # Exact types first: a server plan's ~10 steps a target, ~100 values each,
    # went through the ABC checks below (half of a scan's per-target planning).
    t = type(value)
    if t in _PLAIN:
        return value
    if isinstance(value, list | tuple):  # (a subclass: the same form below)
        return tuple([_canonical(v) for v in value])
    if isinstance(value, dict | Mapping):  # (dict first: no ABC check)
        return tuple(sorted([(str(k), _canonical(v)) for k, v in value.items()]))
    if isinstance(value, set | frozenset):
        return tuple(sorted([_canonical(v) for v in value], key=repr))
    if isinstance(value, bool | int | float | str):
        return value
    return str(value)


def _exact(value: object) -> object:
    """``value`` as a hashable form equal only for values JSON writes the same
    (``json.dumps(..., default=str)``): mappings keep their order, numbers their
    type (``1``, ``1.0`` and ``True`` are equal in Python, not in JSON), and what
    JSON has no form for is its text.  What a rendered text may be memoised by."""
    t = type(value)
    if t is str:
        return value
    if t in _PLAIN:
        return t, value
    if isinstance(value, dict):  # (json writes any other Mapping with default=str)
        return "{", tuple([(_exact(k), _exact(v)) for k, v in value.items()])
    if isinstance(value, list | tuple):
        return "[", tuple([_exact(v) for v in value])
    if isinstance(value, str):  # a StrEnum: written as its string
        return str.__str__(value)
    if isinstance(value, bool | int | float):
        return t, value
    return "?", str(value)


@record
class Step:
    """One step of a plan.

    Attributes:
        action: what the step does (:class:`Action`).
        params: action parameters (JSON-able; documented per action in docs/fix.md).
        needs_root: writing system paths / running system tools needs privileges.
        changes: the paths (inside the root) the step writes.
        platform: where it applies: a distro family (``debian``...), ``linux``
            (any host root), ``dockerfile``, ``kubernetes``, a server software
            (``nginx``...), ``ca`` (the issuer of certificates), ``shell``.
        reason: the stable code of the "why" comment (render/plan_text.py).
        alternative: an alternative to the step before it (shown, never applied).
        phase: ordering key inside a merged plan (see :data:`PHASES`).
    """

    action: Action
    params: Mapping[str, object] = field(default_factory=dict)
    needs_root: bool = False
    changes: tuple[str, ...] = ()
    platform: str = "linux"
    reason: str = ""
    alternative: bool = False
    phase: str = "file"

    def key(self) -> str:
        """Identity for de-duplication when plans are merged (computed once per
        step: a scan merges the same client steps for every target)."""
        key: str | None = self.__dict__.get("_key")
        if key is None:
            # (Not json.dumps(sort_keys=True, default=str), which identified
            # the same steps: importing json was ~3 ms of every planned command.)
            params = _canonical(self.params)
            key = repr((self.action.value, self.platform, self.alternative, params))
            object.__setattr__(self, "_key", key)  # a memo, not a field (frozen)
        return key

    def text_key(self) -> object:
        """Identity of the step's rendered text (its fields; the parameters by
        :func:`_exact`, order and types kept), computed once per step."""
        key: object = self.__dict__.get("_text_key")
        if key is None:
            key = (self.action.value, self.needs_root, self.changes, self.platform,
                   self.reason, self.alternative, self.phase, _exact(self.params))  # fmt: skip
            object.__setattr__(self, "_text_key", key)  # a memo, not a field (frozen)
        return key

    @property
    def is_host(self) -> bool:
        return self.platform in HOST_PLATFORMS


class StepSet:
    """Steps added so far, told apart by :meth:`Step.key`.

    The full key canonicalises the parameters (the costly part: a scan merges
    a new server plan for every target it refuses); it is computed only for a
    step sharing action, platform and alternative with an earlier one, the
    only steps whose keys can be equal.
    """

    __slots__ = ("_groups",)

    def __init__(self) -> None:
        self._groups: dict[tuple[Action, str, bool], Step | set[str]] = {}

    def add(self, step: Step) -> bool:
        """Whether no step with the same key was added before (``step`` now is)."""
        cheap = (step.action, step.platform, step.alternative)
        got = self._groups.get(cheap)
        if got is None:
            self._groups[cheap] = step
            return True
        if not isinstance(got, set):
            got = self._groups[cheap] = {got.key()}
        key = step.key()
        if key in got:
            return False
        got.add(key)
        return True


@record
class Note:
    """A remark attached to a plan (the English is in render/plan_text.py)."""

    code: str
    params: Mapping[str, object] = field(default_factory=dict)

    def text_key(self) -> object:
        """Identity of the remark's rendered text (the parameters by :func:`_exact`)."""
        return self.code, _exact(self.params)


_SLUG = re.compile(r"[^a-z0-9]+")


def slugify(text: str, default: str = "trustdoctor-ca") -> str:
    """A file stem from a CA name: ``Example Internal Root CA`` → ``example-internal-root-ca``."""
    s = _SLUG.sub("-", text.lower()).strip("-")[:64].strip("-")
    return s or default


@record
class CaRef:
    """The CA certificate a client plan installs.

    ``sha256`` is ``None`` for a placeholder (the root is named by the chain
    but its certificate was not given): the plan can be shown, not applied.

    Attributes:
        name: the display name (CN, else O).
        subject: the RFC 4514 subject.
        sha256: the fingerprint, or ``None`` for a placeholder.
        not_after: end of validity (ISO 8601), if known.
        file: how commands refer to the CA file (the ``--ca`` path, else ``ROOT.pem``).
        slug: the stem of the files written for it.
        pem: the certificate, PEM (one block), for ``apply``.
        is_ca: basicConstraints CA:TRUE.
        self_signed: a root (self-issued and self-verifying).
    """

    name: str
    subject: str
    sha256: str | None = None
    not_after: str | None = None
    file: str = "ROOT.pem"
    slug: str = "trustdoctor-ca"
    pem: bytes | None = field(default=None, repr=False, compare=False)
    is_ca: bool = True
    self_signed: bool = True

    @classmethod
    def from_cert(cls, cert: CertInfo, file: str | None = None) -> CaRef:
        return cls(
            name=cert.display_name,
            subject=cert.subject,
            sha256=cert.sha256,
            not_after=cert.not_after.isoformat(),
            file=file or "ROOT.pem",
            slug=slugify(cert.display_name),
            pem=pem_encode(cert.der),
            is_ca=cert.is_ca is True,
            self_signed=cert.self_issued and cert.self_signed,
        )

    @classmethod
    def placeholder(cls, name: str, subject: str | None = None, file: str | None = None) -> CaRef:
        short = name
        for part in name.split(","):
            if part.startswith("CN="):
                short = part[3:]
                break
        return cls(
            name=short, subject=subject or name, file=file or "ROOT.pem", slug=slugify(short)
        )

    @property
    def fingerprint(self) -> str | None:
        """``AB:CD:...`` form of the SHA-256, as ``openssl x509 -fingerprint`` prints it."""
        if self.sha256 is None:
            return None
        h = self.sha256.upper()
        return ":".join(h[i : i + 2] for i in range(0, len(h), 2))

    def to_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "subject": self.subject,
            "sha256": self.sha256,
            "not_after": self.not_after,
            "file": self.file,
            "is_ca": self.is_ca,
            "self_signed": self.self_signed,
        }


@record
class EnvOrigin:
    """Where an environment variable of the client is set.

    Attributes:
        variable: the variable (``SSL_CERT_FILE``...).
        value: its value there.
        kind: ``process`` (a running process's environment), ``shell`` (the
            environment trustdoctor runs in), ``given`` (``--env``),
            ``systemd`` (a unit's ``Environment=``/``EnvironmentFile=``),
            ``file`` (``/etc/environment``, a profile script), ``dockerfile``
            (an ``ENV`` line), ``image`` (the image configuration).
        path: the file (inside the root) or ``/proc/PID/environ``.
        line: 1-based line in ``path``.
        unit: the systemd unit name (``docker.service``) when known.
    """

    variable: str
    value: str
    kind: str
    path: str | None = None
    line: int | None = None
    unit: str | None = None

    def to_dict(self) -> dict[str, object]:
        return {
            "variable": self.variable,
            "value": self.value,
            "kind": self.kind,
            "path": self.path,
            "line": self.line,
            "unit": self.unit,
        }


@record
class JavaInfo:
    """The Java keystore a ``keytool-import`` step targets.

    Attributes:
        home: the JDK home (``java.home``) inside the root.
        version: the JDK feature version (8, 11, 17, 21...), if known.
        keystore: the keystore the JVM loads.
        store_type: ``jks``, ``jceks`` or ``pkcs12`` as read from the file.
        password: the store password to use (``None``: unknown, a placeholder is shown).
        password_free: a PKCS#12 store without a MAC (JDK 18+ cacerts): any
            password is accepted.
        managed: the keystore is generated by the distro's refresh (Debian's
            ca-certificates-java, RHEL's update-ca-trust): change the system
            store instead, keytool edits would be overwritten.
        property_store: the keystore comes from ``-Djavax.net.ssl.trustStore``.
        hook_installed: the distro's package that rebuilds the keystore from
            the system store is installed (``None``: unknown).
    """

    home: str | None = None
    version: int | None = None
    keystore: str | None = None
    store_type: str | None = None
    password: str | None = "changeit"
    password_free: bool = False
    managed: bool = False
    property_store: bool = False
    hook_installed: bool | None = None


@record
class ContainerdInfo:
    """containerd's registry configuration as found in the root.

    Attributes:
        config: the configuration file.
        exists: it exists.
        version: its ``version`` (1, 2 or 3); 2 when absent and unknown.
        config_path: the registry ``config_path`` in effect, if set.
        legacy: legacy ``mirrors``/``configs`` are set (cannot be combined
            with ``config_path``).
        containerd_version: the package version, if found.
    """

    config: str = "/etc/containerd/config.toml"
    exists: bool = False
    version: int | None = None
    config_path: str | None = None
    legacy: bool = False
    containerd_version: tuple[int, int, int] | None = None

    @property
    def effective_config_path(self) -> str | None:
        if self.config_path:
            return self.config_path
        if not self.legacy and self.containerd_version and self.containerd_version >= (2, 2, 0):
            return "/etc/containerd/certs.d:/etc/docker/certs.d"
        return None


@record
class KubeconfigInfo:
    """The kubeconfig cluster a ``kubectl`` plan changes.

    Attributes:
        cluster: the current context's cluster.
        file: the kubeconfig defining it.
        default_file: ``file`` is the one kubectl reads by default (no
            ``--kubeconfig`` needed).
        ca_file: the cluster's ``certificate-authority`` file, when it names one.
        ca_data: the cluster embeds its CA (``certificate-authority-data``).
        insecure: ``insecure-skip-tls-verify: true``.
        server: the cluster's ``server`` URL (what kubectl talks to).
    """

    cluster: str
    file: str
    default_file: bool = True
    ca_file: str | None = None
    ca_data: bool = False
    insecure: bool = False
    server: str | None = None


@record
class FixContext:
    """Everything a planner needs to know about where the fix goes (pure data).

    Attributes:
        family: the distro family (``debian``, ``rhel``, ``alpine``, ``suse``,
            ``arch``, ``distroless``, ``scratch``, ``busybox``, ``unknown``).
        distro_label: how to name it to people (``Debian GNU/Linux 12``).
        root: the root directory the host steps apply to (``/`` or ``--root``).
        image: the root is an image: the durable fix is Dockerfile lines.
        pid: ``--pid`` process, and its executable.
        tool_installed: the family's update tool is installed (``None``: unknown).
        registry: ``host[:port]`` of the image reference (docker, containerd, crio).
        env: the client's environment (trust variables only matter).
        env_origins: where each trust variable is set.
        java: the keystore for ``keytool-import``.
        containerd: containerd's registry configuration.
        docker_certs_root: dockerd's certs.d (rootless: under ``$HOME``).
        containers_dirs: for CRI-O/Podman, the first existing per-registry
            directory (``None``: none yet; ``/etc/containers/certs.d/<reg>``).
        servers: server software to show configuration for (default: all).
        host: the name clients connect to (reissue facts, verify commands).
        endpoint: the endpoint diagnosed, as connected to (port, SNI,
            ``--connect-to``, STARTTLS): check commands repeat all of it.
        proxy: the ``--proxy`` of the diagnosis (``""``: none), repeated likewise.
        as_root: trustdoctor runs as root: no ``sudo`` in the commands shown.
        now: the time plans are made at (reissue dates).
        node_version: the Node.js major version, if known.
        clients: the clients asked about (``--client``).
        kubeconfig: the cluster kubectl talks to (its kubeconfig's CA).
    """

    family: str = "unknown"
    distro_label: str | None = None
    root: str = "/"
    image: bool = False
    pid: int | None = None
    process: str | None = None
    tool_installed: bool | None = None
    registry: str | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    env_origins: tuple[EnvOrigin, ...] = ()
    java: JavaInfo | None = None
    containerd: ContainerdInfo | None = None
    docker_certs_root: str = "/etc/docker/certs.d"
    containers_dir: str | None = None
    servers: tuple[str, ...] = ()
    host: str | None = None
    endpoint: Target | None = None
    proxy: str | None = None
    as_root: bool = False
    now: dt.datetime | None = None
    node_version: int | None = None
    clients: tuple[str, ...] = ()
    kubeconfig: KubeconfigInfo | None = None


@record
class Plan:
    """The fix for one cause.

    Attributes:
        cause: the cause fixed (a :class:`Code`).
        side: who acts (server, client, network, none).
        steps: what to do, in order.
        notes: remarks (caveats, alternatives, what cannot be done).
        clients: the clients the plan is for.
        platform: the family / environment the plan was made for.
        root: the root the host steps apply to.
        ca: the CA certificate a client plan installs.
        context: the :class:`FixContext` it was planned with.
    """

    cause: Code
    side: Side
    steps: tuple[Step, ...] = ()
    notes: tuple[Note, ...] = ()
    clients: tuple[str, ...] = ()
    platform: str = "linux"
    root: str = "/"
    ca: CaRef | None = None
    context: FixContext | None = field(default=None, repr=False, compare=False)

    @property
    def empty(self) -> bool:
        return not any(not s.alternative for s in self.steps)

    def host_steps(self) -> tuple[Step, ...]:
        return tuple(s for s in self.steps if s.is_host and not s.alternative)


# -- what --apply did ---------------------------------------------------------------------


@record
class StepOutcome:
    """What ``apply`` did with one step.

    Attributes:
        step: the step.
        status: ``changed``, ``unchanged`` (already in place), ``manual``
            (printed for the user: a package install, a restart, an
            environment change, anything outside the root), ``skipped``
            (an alternative, or not applicable) or ``failed``.
        detail: one line saying what was done (paths, the command run).
        paths: the paths written (inside the root).
        backups: backups of replaced files (inside the root).
    """

    step: Step
    status: str
    detail: str = ""
    paths: tuple[str, ...] = ()
    backups: tuple[str, ...] = ()


@record
class ApplyReport:
    """The result of ``fix --apply``.

    Attributes:
        plan: the plan applied.
        outcomes: one per step, in order.
        before: per client, the CA check before applying.
        after: the same check on the root as it is now.
        after_env: the check with the plan's environment changes made
            (``set-env``/``unset-env`` cannot be applied to other processes).
        remaining: steps the user must still carry out.
        changed: something was written or run.
        fixed: every selected client trusts the CA now.
    """

    plan: Plan
    outcomes: tuple[StepOutcome, ...]
    before: tuple[CaCheck, ...] = ()
    after: tuple[CaCheck, ...] = ()
    after_env: tuple[CaCheck, ...] = ()
    remaining: tuple[Step, ...] = ()
    changed: bool = False
    fixed: bool = False
