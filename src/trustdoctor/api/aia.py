"""The API for AIA completion and bundles (issue 7): what ``chain --fetch``,
``bundle`` and ``diagnose`` call.

This layer does the I/O (the AIA fetches through :mod:`trustdoctor.sources.aia`,
the handshake through :mod:`trustdoctor.sources.network`, files, the clock,
the host's stores) and hands pure data to :mod:`trustdoctor.engine.aiaconfirm`,
:mod:`trustdoctor.engine.bundle` and :mod:`trustdoctor.engine.servechecks`.

Typical use from a front end that already judged a chain::

    diag = judge(presented, clients=pairs, at=at, host=host, reference=ref)
    if aiaconfirm.needs_aia(diag):
        diag = confirm_with_aia(diag, pairs, options=AiaOptions(...), reference=ref).diagnosis
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ..engine.aiaconfirm import candidates, confirm_missing, needs_aia
from ..engine.judge import Refiner
from ..engine.policies import Policy
from ..errors import InputError, TrustDoctorError, UnsafePathError, UsageError
from ..model.anchors import AnchorSet
from ..model.cert import CertInfo
from ..model.diagnosis import Diagnosis, PresentedCert
from ..model.record import record, replace
from ..sources.aia import (
    AiaCompletion,
    AiaOptions,
    FetchedCert,
    anchor_predicate,
    complete_chain,
    default_cache_dir,
)

if TYPE_CHECKING:
    from ..engine.bundle import PrivateKeys

MAX_KEY_BYTES = 1024 * 1024


# -- options ------------------------------------------------------------------------------


def aia_options(
    *,
    fetch: bool,
    cache: str | Path | None = None,
    use_default_cache: bool = True,
    use_env_proxy: bool = True,
    environ: Mapping[str, str] | None = None,
    proxy: str | None = None,
    proxy_env: Mapping[str, str] | None = None,
) -> AiaOptions:
    """The :class:`AiaOptions` of a command line.

    ``fetch=False`` consults the cache only.  ``cache`` is ``--cache DIR``;
    without it the default cache (``$XDG_CACHE_HOME/trustdoctor/aia``, from
    ``environ``, default ``os.environ``) is used when ``use_default_cache``.  A
    ``--cache`` that exists and is not a directory is a usage error.  ``proxy``
    is ``--proxy`` and ``proxy_env`` the environment whose proxy variables
    apply (default ``os.environ``): the same choice as for the handshake.
    """
    cache_dir: Path | None
    if cache is not None:
        cache_dir = Path(cache)
        try:
            not_dir = cache_dir.exists() and not cache_dir.is_dir()
        except OSError as exc:  # EACCES on a parent: exists() raises it
            raise UsageError(f"--cache {cache}: cannot access ({exc.strerror})") from None
        if not_dir:
            raise UsageError(f"--cache {cache}: not a directory")
    else:
        cache_dir = default_cache_dir(environ) if use_default_cache else None
    return AiaOptions(
        cache_dir=cache_dir,
        allow_network=fetch,
        proxy=proxy,
        use_env_proxy=use_env_proxy,
        proxy_env=proxy_env,
    )


# -- completion ---------------------------------------------------------------------------


def complete_issuers(
    leaf: CertInfo,
    pool: Sequence[CertInfo],
    anchor_sets: Sequence[AnchorSet],
    *,
    options: AiaOptions,
) -> AiaCompletion:
    """Fetch the issuers missing above ``leaf`` for the given anchor sets.

    One search stops at an anchor of *any* set; when some set's anchors are
    still not reached (cross-signs lead different clients to different
    roots), a further search runs for that set, starting from everything
    found so far (so nothing is fetched twice).  The merged completion lists
    every fetched certificate once.  Fetched certificates are untrusted
    intermediates only.
    """
    sets = _distinct(anchor_sets)
    union = anchor_predicate(a.cert for s in sets for a in s.anchors)
    first = complete_chain(leaf, pool, is_anchor=union, options=options)
    fetched: dict[str, FetchedCert] = {f.cert.sha256: f for f in first.fetched}
    attempts = list(first.attempts)
    result = first
    if len(sets) > 1:
        for s in sets:
            pred = anchor_predicate(a.cert for a in s.anchors)
            known = [*pool, *(f.cert for f in fetched.values())]
            if any(pred(c) for c in (leaf, *known)):
                continue
            more = complete_chain(leaf, known, is_anchor=pred, options=options)
            for f in more.fetched:
                fetched.setdefault(f.cert.sha256, f)
            attempts += more.attempts
            if more.stopped == "reached-anchor" and result.stopped != "reached-anchor":
                result = more
    return replace(result, fetched=tuple(fetched.values()), attempts=tuple(attempts))


def _distinct(sets: Sequence[AnchorSet]) -> list[AnchorSet]:
    out: list[AnchorSet] = []
    seen: set[frozenset[str]] = set()
    for s in sets:
        key = frozenset(a.cert.sha256 for a in s.anchors)
        if key not in seen and key:
            seen.add(key)
            out.append(s)
    return out


@record
class AiaConfirmation:
    """A diagnosis after AIA, and the search behind it.

    Attributes:
        diagnosis: the confirmed diagnosis (``before`` unchanged when nothing
            needed fetching).
        completion: the AIA search, or ``None`` when none was needed.
    """

    diagnosis: Diagnosis
    completion: AiaCompletion | None


def confirm_with_aia(
    before: Diagnosis,
    clients: Sequence[tuple[str, AnchorSet]],
    *,
    options: AiaOptions,
    reference: Mapping[str, AnchorSet] | None = None,
    refiners: Mapping[str, Refiner] | None = None,
    policies: Mapping[str, Policy] | None = None,
    explicit_anchors: bool = False,
) -> AiaConfirmation:
    """Fetch the missing issuers of ``before`` and confirm its diagnosis.

    Does nothing (no I/O) unless some client's verdict is a missing issuer
    (:func:`trustdoctor.engine.aiaconfirm.needs_aia`).  ``clients`` are the pairs
    ``before`` was judged with; ``reference``, ``refiners``, ``policies`` and
    ``explicit_anchors`` as given to ``judge``.  With ``options.allow_network=False`` only the
    cache is consulted and, on a miss, the ``fetch-aia`` settle step stays.
    """
    if not needs_aia(before):
        return AiaConfirmation(before, None)
    wanted = set(candidates(before))
    sets = [a for n, a in clients if n in wanted]
    leaf = before.leaf
    pool = [p.cert for p in before.presented if p.cert.sha256 != leaf.sha256]
    pool += [p.cert for p in before.supplied]
    completion = complete_issuers(leaf, pool, sets, options=options)
    diag = confirm_missing(
        before,
        completion,
        clients=clients,
        reference=reference,
        refiners=refiners,
        policies=policies,
        explicit_anchors=explicit_anchors,
    )
    return AiaConfirmation(diag, completion)


# -- bundle: inputs -----------------------------------------------------------------------


@record
class ServedChain:
    """What a server presents, from a live handshake or from a file.

    Attributes:
        presented: the certificates, in the order presented.
        kind: ``target`` or ``file``.
        source: the target as shown (``https://host:port``) or the file path.
        address: the ``ip:port`` connected to (targets only).
        notes: remarks from the loader or the handshake.
    """

    presented: tuple[PresentedCert, ...]
    kind: str
    source: str
    address: str | None = None
    notes: tuple[str, ...] = ()


# File names that are certainly files, never host names (a typo'd path must
# not turn into a DNS lookup of "fullchain.pem").
_FILE_SUFFIXES = (".pem", ".crt", ".cer", ".der", ".p7b", ".p7c", ".p12", ".pfx", ".chain", ".txt")


def is_file_spec(spec: str) -> bool:
    """Whether ``bundle``'s positional argument names a file rather than a target."""
    if spec == "-" or os.path.exists(spec):
        return True
    if "://" in spec:
        return False
    return "/" in spec or os.sep in spec or spec.lower().endswith(_FILE_SUFFIXES)


def load_served_chain(
    spec: str,
    *,
    password: bytes | None = None,
    timeout: float = 10.0,
    proxy: str | None = None,
    environ: Mapping[str, str] | None = None,
    servername: str | None = None,
    connect_to: str | None = None,
    starttls: str | None = None,
) -> ServedChain:
    """Load ``TARGET|FILE``: a file (or ``-``) is read; anything else is connected to.

    A target is ``host[:port]`` or a URL, on **any** port (``parse_target``);
    one handshake fetches exactly what the server presents.

    Raises:
        InputError: a missing or unusable file (exit 2).
        UsageError: a malformed target (exit 2).
        ConnectError: the server could not be reached (exit 3).
    """
    if is_file_spec(spec):
        from ..sources.files import load_paths

        if spec != "-" and not os.path.exists(spec):
            raise InputError(f"{spec}: no such file")
        loaded = load_paths([spec], password=password)
        presented = tuple(pc for item in loaded for pc in item.certs)
        if not presented:
            raise InputError(f"{spec}: no certificate found")
        notes = tuple(n for item in loaded for n in item.notes)
        return ServedChain(presented, "file", "stdin" if spec == "-" else spec, notes=notes)
    from ..model.target import parse_target
    from ..sources.network import fetch_chain

    target = parse_target(spec, servername=servername, connect_to=connect_to, starttls=starttls)
    result = fetch_chain(target, timeout=timeout, proxy=proxy, env=environ)
    if not result.chain:
        from ..errors import SourceError

        raise SourceError(f"{target.display}: the server presented no certificate")
    return ServedChain(
        tuple(result.chain), "target", target.display, result.address, tuple(result.notes)
    )


def read_key_file(path: str, *, password_file: str | None = None) -> PrivateKeys:
    """Read ``--key`` (at most 1 MiB) and keep only its public halves; never shows the key.

    Called before any network work, so a bad key fails fast.

    Raises:
        InputError: unreadable file, no key, garbage, encrypted without password (exit 2).
    """
    from ..engine.bundle import load_private_keys

    password = None
    if password_file:
        password = _read_small(password_file, "--key-password-file").rstrip(b"\r\n")
    data = _read_small(path, "--key")
    return load_private_keys(data, path, password=password)


def _read_small(path: str, what: str) -> bytes:
    from ..sources.files import read_file

    data = read_file(path, MAX_KEY_BYTES, name=f"{what} {path}", dir_msg="is a directory")
    if len(data) > MAX_KEY_BYTES:
        raise InputError(f"{what} {path}: larger than 1 MiB; not a key file")
    return data


# -- bundle: building -------------------------------------------------------------------


# -- bundle: writing --------------------------------------------------------------------


def check_out_path(path: str, *, protect: Sequence[str] = ()) -> Path:
    """Validate ``--out`` before any work: refuse a directory, a symlink, a device.

    ``protect`` lists files that must never be overwritten (the ``--key``,
    the ``--trust`` files).  Raises :class:`UsageError` /
    :class:`UnsafePathError` / :class:`InputError` (exit 2).
    """
    if not path or path.endswith(("/", os.sep)):
        raise UsageError(f"--out {path!r}: give a file name")
    p = Path(path)
    try:
        st = os.lstat(p)
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise InputError(f"--out {path}: cannot inspect ({exc.strerror or exc})") from None
    if st is not None:
        if stat.S_ISLNK(st.st_mode):
            raise UnsafePathError(
                f"--out {path}: is a symbolic link; give the real file (nothing is written "
                "through links)"
            )
        if stat.S_ISDIR(st.st_mode):
            raise UsageError(f"--out {path}: is a directory; give a file name")
        if not stat.S_ISREG(st.st_mode):
            raise UsageError(f"--out {path}: not a regular file")
        for other in protect:
            with contextlib.suppress(OSError):
                if os.path.samefile(p, other):
                    raise UsageError(f"--out {path}: is also {other}; refusing to overwrite it")
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        raise InputError(f"--out {path}: directory {parent} does not exist")
    return p


def write_bundle(path: str, pem: str, *, protect: Sequence[str] = ()) -> Path:
    """Write ``pem`` to ``path`` atomically (:mod:`trustdoctor.sources.atomic`), mode 0644.

    Nothing but a temporary file in the same directory and ``path`` itself is
    ever written; on any failure the temporary file is removed and ``path``
    is left as it was.  ``path`` is checked again just before the rename.
    Raises :class:`TrustDoctorError` (exit 3) when the file cannot be written.
    """
    from ..sources.atomic import atomic_write

    p = check_out_path(path, protect=protect)
    try:
        # A certificate chain is public: readable by the web server's user.
        atomic_write(
            p,
            pem.encode("ascii"),
            mode=0o644,
            before_rename=lambda: check_out_path(path, protect=protect),  # nothing changed under us
        )
    except OSError as exc:
        raise TrustDoctorError(f"--out {path}: cannot write ({exc.strerror or exc})") from None
    return p


__all__ = [
    "AiaConfirmation",
    "ServedChain",
    "aia_options",
    "check_out_path",
    "complete_issuers",
    "confirm_with_aia",
    "is_file_spec",
    "load_served_chain",
    "read_key_file",
    "write_bundle",
]
