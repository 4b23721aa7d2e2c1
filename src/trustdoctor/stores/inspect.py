"""The stores API: build a context (the I/O edge), run the client models, cross-check them.

* :func:`build_context` — the only place that touches ``/proc``, image files and
  ``os.environ``: it yields a :class:`StoreContext` for a root, an image or a process.
* :func:`clients_present` — which clients this root has (the default selection).
* :func:`inspect_stores` — one :class:`ClientStore` per client, with the findings
  that need more than one model: ``no-trust-store``, ``stale-bundle`` and
  ``anchor-file-ignored`` from the anchor directories, ``restart-required``,
  ``partial-trust``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import stat
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence

from ..clients import CLIENTS, check_clients, modelled
from ..errors import InputError, TrustDoctorError, UsageError
from ..model.anchors import Anchor
from ..model.findings import Code, Finding, Severity
from ..model.record import replace
from ..model.stores import ClientStore, SourceStatus, StoreContext
from . import anchordirs
from .base import finding
from .distro import detect_distro
from .reference import is_public
from .rootfs import RootFS, describe_oserror

TYPE_CHECKING = False  # typing's constant, without importing typing (model/record.py)
if TYPE_CHECKING:
    from pathlib import Path

    from ..model.binary import BinaryInfo
    from ..sources.image import Reduction
    from ..sources.registry import PullOptions


def _resolve(ref: str) -> Callable[[StoreContext], object]:
    """A ``"module:function"`` of the client registry, from ``trustdoctor.stores``."""
    import importlib

    module, _, func = ref.partition(":")
    fn: Callable[[StoreContext], object] = getattr(
        importlib.import_module(f"{__package__}.{module}"), func
    )
    return fn


def _model(name: str) -> Callable[[StoreContext], ClientStore]:
    ref = CLIENTS[name].store
    assert ref is not None, f"{name} has no store model"
    return _resolve(ref)  # type: ignore[return-value]


def _present(ctx: StoreContext, name: str) -> bool:
    ref = CLIENTS[name].present
    if ref is None:
        return False
    return ref == "always" or bool(_resolve(ref)(ctx))


START_SLACK = dt.timedelta(seconds=2)

# Files an image must carry for distribution detection (the trust files
# themselves are in sources.image.TRUST_PATHS, each client's markers in its
# registry row).
DISTRO_MARKERS: tuple[str, ...] = (
    "/var/lib/dpkg/status",
    "/var/lib/dpkg/status.d/*",
    "/lib/apk/db/installed",
    "/bin/sh",
    "/bin/busybox",
    "/__cacert_entrypoint.sh",
)


def image_paths() -> list[str]:
    """Every small file an image extraction keeps for client and distribution detection."""
    paths = [p for c in CLIENTS.values() for p in c.image_paths]
    return list(dict.fromkeys([*paths, *DISTRO_MARKERS]))


def image_reduced() -> dict[str, Reduction]:
    """Programs an image extraction keeps only in part (each client's ``image_reduced``)."""
    import importlib

    from ..sources.image import Reduction

    out: dict[str, Reduction] = {}
    for c in CLIENTS.values():
        if c.image_reduced is None:
            continue
        module, _, attr = c.image_reduced.partition(":")
        table = getattr(importlib.import_module(f"{__package__}.{module}"), attr)
        for path, (cert_block, patterns, longest) in table.items():
            out[path] = Reduction(cert_block, tuple(patterns), longest)
    return out


_REGISTRY = re.compile(
    r"^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252}))(?::[0-9]{1,5})?$"
)


def is_registry_name(name: str) -> bool:
    """Whether ``name`` is a registry ``host[:port]`` as an image reference spells
    it (docker's reference grammar: RFC 1123 labels or a bracketed IPv6 address;
    no underscore, no scheme, no path)."""
    return "://" not in name and "/" not in name and bool(_REGISTRY.match(name))


def validate_registry(registry: str) -> str:
    if not is_registry_name(registry):
        raise UsageError(
            f"--registry {registry!r}: expected HOST or HOST:PORT as written in the "
            "image reference "
            "(no scheme, no path)"
        )
    return registry


# Long-running daemons found on the host (process name → client).
DAEMONS: Mapping[str, str] = {c.daemon: n for n, c in CLIENTS.items() if c.daemon}


def _find_daemons(proc: str = "/proc") -> tuple[dict[str, dt.datetime], dict[str, dict[str, str]]]:
    """Start times and environments of dockerd/containerd/crio running on this host."""
    out: dict[str, dt.datetime] = {}
    envs: dict[str, dict[str, str]] = {}
    try:
        pids = [int(n) for n in os.listdir(proc) if n.isdigit()]
    except OSError:
        return out, envs
    for pid in pids:
        try:
            # A cheap first look (no file opened): a daemon's executable is
            # named like its comm, and a process whose exe we may not read is
            # one whose environ read_process may not read either.
            exe = os.readlink(f"{proc}/{pid}/exe")
        except OSError:
            continue
        if exe.rsplit("/", 1)[-1].removesuffix(" (deleted)") not in DAEMONS:
            continue
        try:
            with open(f"{proc}/{pid}/comm", "rb") as fh:
                comm = fh.read(64).decode("utf-8", "replace").strip()
        except OSError:
            continue
        if comm in DAEMONS and comm not in out:
            try:
                # (imported here: most hosts run none of these daemons)
                from pathlib import Path

                from ..sources.process import read_process

                info = read_process(pid, Path(proc))
            except TrustDoctorError:
                continue
            out[comm] = info.start_time
            envs[comm] = dict(info.env)
    return out, envs


def _env_paths(env: Mapping[str, str]) -> list[str]:
    """Paths named by trust variables, for an image extraction to keep."""
    out: list[str] = []
    for var in ("SSL_CERT_FILE", "CURL_CA_BUNDLE", "REQUESTS_CA_BUNDLE", "NODE_EXTRA_CA_CERTS"):
        v = env.get(var)
        if v and v.startswith("/"):
            out.append(v)
    for d in (env.get("SSL_CERT_DIR") or "").split(":"):
        if d.startswith("/"):
            out += [d, d.rstrip("/") + "/*"]
    for var in ("JAVA_TOOL_OPTIONS", "JDK_JAVA_OPTIONS", "_JAVA_OPTIONS"):
        for m in re.finditer(r"-Djavax\.net\.ssl\.trustStore=(\S+)", env.get(var) or ""):
            if m.group(1).startswith("/"):
                out.append(m.group(1))
    return out


@contextlib.contextmanager
def build_context(
    root: str | Path = "/",
    env: Mapping[str, str] | None = None,
    pid: int | None = None,
    image: str | Path | None = None,
    registry: str | None = None,
    now: dt.datetime | None = None,
    pull: PullOptions | None = None,
    binary: str | None = None,
) -> Iterator[StoreContext]:
    """Yield the :class:`StoreContext` for a root, an image or a process (the I/O edge).

    * ``root`` (default ``/``): a directory; ``env=None`` means the tool's own
      environment for ``/`` and an empty one for any other root.
    * ``image``: a ``docker save``/OCI tar, an OCI layout directory or an
      image reference (pulled as ``pull`` says), its trust files extracted to
      a private temporary directory for the duration of the ``with`` block;
      the image config's ``Env`` is the base environment, ``env`` entries
      override it.
    * ``pid``: ``/proc/PID/root``, its environment (``env`` entries override
      it), its start time, executable and command line.

    Raises :class:`UsageError` for contradictory options or a bad registry,
    :class:`InputError` for a root that is not a directory, and whatever the
    image/process readers raise.
    """
    is_default_root = str(root) in ("/", "")
    if sum((not is_default_root, pid is not None, image is not None)) > 1:
        raise UsageError("--root, --image and --pid are mutually exclusive")
    if registry is not None:
        registry = validate_registry(registry)
    when = now or dt.datetime.now(dt.UTC)
    if pid is not None:
        from ..sources.process import read_process

        info = read_process(pid)
        fs = RootFS(info.root)
        found: BinaryInfo | None = None
        if info.exe:
            from .binaries import read_binary

            with contextlib.suppress(OSError):
                found = read_binary(fs, info.exe.removesuffix(" (deleted)"))
        penv = dict(info.env)
        penv.update(env or {})
        yield StoreContext(
            fs=fs,
            env=penv,
            distro=detect_distro(fs),
            registry=registry,
            process_start=info.start_time,
            now=when,
            process_exe=info.exe,
            process_binary=found,
            process_cmdline=tuple(info.cmdline),
            label=f"--pid {pid}",
            env_origin="process",
        )
        return
    if image is not None:
        from ..sources.image import extract_image

        extra = image_paths() + _env_paths(env or {})
        with extract_image(image, extra_paths=extra, reduced=image_reduced(), pull=pull) as ex:
            fs = RootFS(ex.root)
            ienv = dict(ex.env)
            ienv.update(env or {})
            yield StoreContext(
                fs=fs,
                env=ienv,
                distro=detect_distro(fs),
                registry=registry,
                now=when,
                label=f"--image {image}",
                env_origin="image",
            )
        return
    path = os.fspath(root)
    if not is_default_root:
        try:
            mode = os.stat(path).st_mode
        except (FileNotFoundError, NotADirectoryError):
            raise InputError(f"--root {root}: no such directory") from None
        except OSError as exc:  # EACCES on a parent directory
            raise InputError(f"--root {root}: cannot access ({exc.strerror})") from None
        except ValueError:  # a NUL byte: no such path on any system
            raise InputError(f"--root {root}: no such directory") from None
        if not stat.S_ISDIR(mode):
            raise InputError(f"--root {root}: not a directory")
    fs = RootFS(path if not is_default_root else "/")
    origin = "given"
    if env is None:
        env, origin = (dict(os.environ), "tool") if fs.is_host else ({}, "empty")
    starts, envs = _find_daemons() if fs.is_host else ({}, {})
    exe: str | None = None
    program: BinaryInfo | None = None
    if binary:
        exe, program = _program(fs, binary)
    yield StoreContext(
        fs=fs,
        env=dict(env),
        distro=detect_distro(fs),
        registry=registry,
        now=when,
        daemons=starts,
        label="/" if fs.is_host else f"--root {root}",
        env_origin=origin,
        daemon_env=envs,
        process_exe=exe,
        process_binary=program,
    )


def _program(fs: RootFS, path: str) -> tuple[str, BinaryInfo]:
    """``--binary PATH``: the program the client is, read from the root (never run)."""
    from .binaries import read_binary

    where = (
        path
        if path.startswith("/")
        else os.path.join(os.getcwd(), path) if fs.is_host else "/" + path
    )
    try:
        if not fs.is_file(where):
            raise InputError(f"--binary {path}: no such file")
        return where, read_binary(fs, where)
    except OSError as exc:
        raise InputError(f"--binary {path}: cannot read ({describe_oserror(exc)})") from None


def process_client(ctx: StoreContext) -> str | None:
    """The client model that describes the ``--pid`` process (or ``--binary``
    program): by its executable's name, else a Go program by its build info."""
    if not ctx.process_exe:
        return None
    base = ctx.process_exe.rsplit("/", 1)[-1].removesuffix(" (deleted)")
    for name, row in CLIENTS.items():
        if row.process and re.match(row.process, base):
            return name
    # Any name: a Go program says so in its build info (kubelet, a service...);
    # a program linking libcurl or OpenSSL reads their default trust paths.
    binary = ctx.process_binary
    if binary is not None and binary.is_go:
        return "go"
    if binary is not None and binary.links("libcurl.so"):
        return "curl"
    if binary is not None and binary.links("libssl.so"):
        return "openssl"
    return None


def clients_present(ctx: StoreContext) -> tuple[str, ...]:
    """The clients this root carries, in registry order (always ``go``).

    For ``--pid``, the client the process *is* when its executable says so
    (plus ``requests`` for a Python process that has it).
    """
    proc = process_client(ctx)
    if proc is not None:
        # A Python process also speaks through the libraries it has.
        extra = [n for n in ("requests", "httpx") if proc == "python" and _present(ctx, n)]
        return (proc, *extra)
    return tuple(n for n in modelled() if _present(ctx, n))


def _restart(ctx: StoreContext, s: ClientStore) -> Finding | None:
    row = CLIENTS[s.client]
    if not row.caches_store:
        return None
    start = ctx.process_start
    who = ctx.label
    if start is None:
        daemon = row.daemon
        if daemon is None or daemon not in ctx.daemons:
            return None
        start, who = ctx.daemons[daemon], daemon
    elif process_client(ctx) not in (None, s.client):
        return None
    if s.client == "node" and any("--use-openssl-ca" in (src.detail or "") for src in s.sources):
        return None  # read from disk for every new root store
    paths: set[str] = set()
    for src in s.sources:
        if src.status in (SourceStatus.USED, SourceStatus.EMPTY) and src.kind in (
            "file",
            "dir",
            "hashdir",
            "keystore",
        ):
            if "per-registry" in (src.detail or "") or "hosts.toml" in (src.detail or ""):
                continue  # certs.d and hosts.toml are re-read for every pull
            paths.add(src.path)
    for a in s.anchors.anchors:
        d = a.provenance.detail or ""
        if (
            "per-registry" not in d
            and "hosts.toml" not in d
            and a.provenance.source.startswith("/")
        ):
            paths.add(a.provenance.source)
    changed = []
    # /proc/stat's btime has a 1-second resolution: a file written within
    # START_SLACK of the start is not evidence of a change after it.
    after = start + START_SLACK
    for p in sorted(paths):
        m = ctx.fs.mtime(p)
        if m is not None and m > after:
            changed.append((m, p))
    if not changed:
        return None
    changed.sort(reverse=True)
    return finding(
        Code.RESTART_REQUIRED,
        Severity.WARNING,
        client=s.client,
        process=who,
        started=start.isoformat(timespec="seconds"),
        changed=changed[0][0].isoformat(timespec="seconds"),
        files=[p for _, p in changed[:10]],
        count=len(changed),
        service=row.service,
    )


def _refresh_for(ctx: StoreContext, s: ClientStore, scan: anchordirs.AnchorScan) -> str | None:
    if s.client == "java" and s.refresh_command and "keytool" not in s.refresh_command:
        return s.refresh_command
    base = scan.refresh
    svc = CLIENTS[s.client].service
    if svc:
        return f"{base} && systemctl restart {svc}" if base else f"systemctl restart {svc}"
    return base


def _post(ctx: StoreContext, s: ClientStore) -> ClientStore:
    findings = list(s.findings)
    pending = list(s.pending)
    ignored = list(s.ignored)
    refresh = s.refresh_command
    if s.system_store:
        scan = anchordirs.scan(ctx)
        p, ig = anchordirs.classify(scan, s.anchors, s.default_anchors)
        known = {a.cert.sha256 for a in pending}
        p = [a for a in p if a.cert.sha256 not in known]
        if p:
            refresh = _refresh_for(ctx, s, scan)
            findings.append(
                finding(
                    Code.STALE_BUNDLE,
                    Severity.WARNING,
                    certs=[a.cert.sha256 for a in p],
                    client=s.client,
                    count=len(p),
                    files=sorted({a.provenance.source for a in p})[:10],
                    names=[a.cert.display_name for a in p[:5]],
                    refresh=refresh,
                    bundle=scan.bundle,
                    reason=("not-in-bundle" if scan.bundle_exists else "bundle-missing")
                    if scan.bundle
                    else None,
                )
            )
            pending += p
        by_file: dict[str, list[Anchor]] = {}
        for a in ig:
            by_file.setdefault(a.provenance.source, []).append(a)
        values = {f.path: dict(f.values) for f in scan.files}
        for path, anchors in by_file.items():
            findings.append(
                finding(
                    Code.ANCHOR_FILE_IGNORED,
                    Severity.WARNING,
                    certs=[a.cert.sha256 for a in anchors],
                    client=s.client,
                    path=path,
                    reason=anchors[0].provenance.detail,
                    names=[a.cert.display_name for a in anchors[:5]],
                    **values.get(path, {}),
                )
            )
        ignored += ig
    if len(s.anchors) == 0:
        scan = anchordirs.scan(ctx)
        hint = None
        if s.system_store and not scan.bundle_exists and ctx.distro.family in anchordirs.INSTALL:
            hint = anchordirs.INSTALL[ctx.distro.family]
        findings.insert(
            0,
            finding(
                Code.NO_TRUST_STORE,
                Severity.ERROR,
                client=s.client,
                # The client's own error when it has one, quoted as load_error.
                reason="load-error" if s.load_error else "no-anchors",
                load_error=s.load_error,
                install=hint,
                distro=ctx.distro.family,
            ),
        )
    r = _restart(ctx, s)
    if r is not None:
        findings.append(r)
    return replace(
        s,
        findings=tuple(findings),
        pending=tuple(pending),
        ignored=tuple(ignored),
        refresh_command=refresh,
        runtime=_runtime(ctx, s),
    )


def _runtime(ctx: StoreContext, s: ClientStore) -> dict[str, object] | None:
    """The ``--pid`` process is this client: what its binary says it is (a Go
    program's Go version, cgo, static or dynamic linking)."""
    binary = ctx.process_binary
    if binary is None or process_client(ctx) != s.client:
        return None
    if not binary.is_go:
        lib = binary.links("libcurl.so") or binary.links("libssl.so")
        return {"binary": binary.path, "links": lib} if lib else None
    return {
        "binary": binary.path,
        "go": binary.go_version,
        "main": binary.main,
        "cgo": binary.cgo,
        "static": binary.dynamic is False,
        "godebug": binary.settings.get("DefaultGODEBUG"),
    }


def _interesting(ctx: StoreContext, stores: Sequence[ClientStore]) -> dict[str, Anchor]:
    """Private roots worth comparing across clients: local additions, not the Mozilla list."""
    out: dict[str, Anchor] = {}
    scan = anchordirs.scan(ctx)
    for f in scan.files:
        for a in f.anchors:
            out.setdefault(a.cert.sha256, a)
    for s in stores:
        for a in s.anchors.anchors:
            d = a.provenance.detail or ""
            local = (
                d.startswith("$") or "per-registry" in d or "hosts.toml" in d or "trustStore" in d
            )
            if local and not is_public(a.cert.sha256):
                out.setdefault(a.cert.sha256, a)
    return dict(list(out.items())[:MAX_PARTIAL_ROOTS])


# Roots compared across clients, at most (each costs one lookup per client).
MAX_PARTIAL_ROOTS = 1000


def _partial_trust(ctx: StoreContext, stores: list[ClientStore]) -> list[ClientStore]:
    """One ``partial-trust`` finding per client and per split (which clients trust,
    which do not), naming its roots: a bundle of 100 roots one client lacks is
    one finding, not 100."""
    if len(stores) < 2:
        return stores
    roots = _interesting(ctx, stores)
    groups: dict[tuple[tuple[str, ...], tuple[str, ...]], list[Anchor]] = {}
    for fp, a in roots.items():
        trusting = tuple(s.client for s in stores if s.anchors.find(fp) is not None)
        refusing = tuple(s.client for s in stores if s.anchors.find(fp) is None)
        if trusting and refusing:
            groups.setdefault((trusting, refusing), []).append(a)
    extra: dict[str, list[Finding]] = {s.client: [] for s in stores}
    for (trusting, refusing), anchors in groups.items():
        first = anchors[0]
        for c in refusing:
            extra[c].append(
                finding(
                    Code.PARTIAL_TRUST,
                    Severity.WARNING,
                    certs=[a.cert.sha256 for a in anchors],
                    client=c,
                    root=first.cert.display_name,
                    source=first.provenance.source,
                    count=len(anchors),
                    roots=[a.cert.display_name for a in anchors[:5]],
                    trusted_by=list(trusting),
                    not_trusted_by=list(refusing),
                )
            )
    return [
        replace(s, findings=s.findings + tuple(extra[s.client])) if extra[s.client] else s
        for s in stores
    ]


def _strict_anchors(ctx: StoreContext, stores: list[ClientStore]) -> list[ClientStore]:
    """One ``strict-anchor`` finding per strict Python client (3.13's
    VERIFY_X509_STRICT, for requests with urllib3 ≥ 2.4) naming the roots of
    its store a chain cannot end at: OpenSSL's strict checks of the top
    certificate (basicConstraints critical, keyUsage and SKI present, a v3
    CA), as osslverify runs them on the anchor of every chain."""
    from ..engine.osslverify import anchor_strict_errors
    from .openssl import python_policy

    out = []
    for s in stores:
        row = CLIENTS.get(s.client)
        if row is None or row.texts != "python" or not python_policy(ctx, s.client).x509_strict:
            out.append(s)
            continue
        bad = [(a, rule) for a in s.anchors.anchors if (rule := anchor_strict_errors(a.cert))]
        if not bad:
            out.append(s)
            continue
        f = finding(
            Code.STRICT_ANCHOR,
            Severity.WARNING,
            certs=[a.cert.sha256 for a, _ in bad],
            client=s.client,
            flag="VERIFY_X509_STRICT",
            root=bad[0][0].cert.display_name,
            rule=bad[0][1],
            count=len(bad),
            roots=[f"{a.cert.display_name} ({rule})" for a, rule in bad[:5]],
            rules=[rule for _, rule in bad],  # one per certificate, in ``certs`` order
        )
        out.append(replace(s, findings=(*s.findings, f)))
    return out


def inspect_stores(
    ctx: StoreContext, clients: Iterable[str] | None = None
) -> tuple[ClientStore, ...]:
    """Model every selected client (default: :func:`clients_present`) in ``ctx``."""
    names = (check_clients(clients, allowed=modelled()) if clients is not None else ()) or (
        clients_present(ctx)
    )
    stores = [_post(ctx, _model(n)(ctx)) for n in names]
    return tuple(_strict_anchors(ctx, _partial_trust(ctx, stores)))
