"""Local CA files waiting in the distro's anchor directories, and what became of them.

An administrator drops a CA into ``/usr/local/share/ca-certificates`` (Debian,
Alpine), ``/etc/pki/ca-trust/source/anchors`` (RHEL family),
``/etc/pki/trust/anchors`` (SUSE) or ``/etc/ca-certificates/trust-source/anchors``
(Arch) and must then run the update tool.  For each certificate found there
this module says whether the tool will take it (Debian: only ``*.crt``, PEM;
p11-kit: PEM or DER, any name) and whether the compiled bundle already holds it.
Per client, :func:`classify` splits them into

* *pending* — the tool takes it, the client does not have it: a rebuild
  (``stale-bundle``'s command) would add it;
* *ignored* — the tool will never take it (``anchor-file-ignored``), or it is
  in the bundle but in a multi-certificate file, which gets no ``<hash>.0``
  link, and this client only finds anchors through hash links.
"""

from __future__ import annotations

from ..model import digest
from ..model.anchors import Anchor, AnchorSet
from ..model.cert import Provenance
from ..model.families import AnchorDir
from ..model.record import record
from ..model.stores import StoreContext
from . import pemfile
from .certs import parse_der

MAX_FILES = 2000  # anchor files looked at per root
MAX_DEPTH = 8

# How to install the update tool when it is missing (package names per family).
INSTALL: dict[str, str] = {
    "debian": "apt-get install -y ca-certificates",
    "rhel": "dnf install -y ca-certificates",
    "alpine": "apk add ca-certificates",
    "suse": "zypper install -y ca-certificates",
    "arch": "pacman -S ca-certificates",
}


@record
class AnchorFile:
    """One file in an anchor directory.

    Attributes:
        path: the file inside the root.
        anchors: the certificates it holds (PEM or DER), with provenance.
        accepted: the update tool will include it.
        reason: why it is not accepted (``accepted=False``): an
            ``anchor-file-ignored`` reason code (``der-content``,
            ``in-subdirectory``, ``wrong-suffix``, ``hidden-file``), or ``None``.
        multi: it holds more than one certificate.
        in_bundle: fingerprints already in the compiled bundle.
    """

    path: str
    anchors: tuple[Anchor, ...]
    accepted: bool
    reason: str | None
    multi: bool
    in_bundle: frozenset[str]
    values: tuple[tuple[str, str], ...] = ()  # what the reason's words need (dir, suffix, tool)


@record
class AnchorScan:
    """What an anchor directory (a distro's update-ca-* input) holds, and its bundle."""

    files: tuple[AnchorFile, ...]
    bundle: str | None
    bundle_exists: bool
    tool_installed: bool
    refresh: str | None
    truncated: bool


def _certs_in(data: bytes, path: str, der_ok: bool) -> tuple[list[Anchor], str | None]:
    blocks = [b for b in pemfile.scan(data) if b.label in pemfile.CERT_LABELS and b.der]
    anchors: list[Anchor] = []
    for i, b in enumerate(blocks):
        der = pemfile.der_element(b.der or b"") if b.label == "TRUSTED CERTIFICATE" else b.der
        info = parse_der(der) if der else None
        if info is not None:
            anchors.append(Anchor(info, Provenance(path, i, b.line, "anchor directory")))
    if anchors:
        return anchors, None
    if pemfile.looks_like_der_cert(data):
        info = parse_der(data)
        if info is not None:
            anchor = Anchor(info, Provenance(path, 0, None, "anchor directory (DER)"))
            # The update tool copies it, but no client can parse it.
            return [anchor], None if der_ok else "der-content"
    return [], None


def _walk(ctx: StoreContext, ad: AnchorDir, out: list[tuple[str, bool]], budget: list[int]) -> bool:
    """Files under ``ad.path`` as (path, below-top-level); returns True when cut short."""
    stack: list[tuple[str, int]] = [(ad.path, 0)]
    while stack:
        d, depth = stack.pop()
        try:
            listing = ctx.fs.listdir(d, limit=MAX_FILES)
        except OSError:
            continue
        for e in listing.entries:
            full = f"{d}/{e.name}"
            if budget[0] <= 0:
                return True
            if ctx.fs.is_dir(full):
                if depth + 1 <= MAX_DEPTH and (ad.recursive or depth == 0):
                    if ad.recursive:
                        stack.append((full, depth + 1))
                    else:
                        out.append((full, True))
                continue
            budget[0] -= 1
            out.append((full, depth > 0))
        if listing.truncated:
            return True
    return False


def scan(ctx: StoreContext) -> AnchorScan:
    """Every certificate in the distro's anchor directories (memoised per root)."""
    memo = ctx.fs.memo.get("anchor_scan")
    if isinstance(memo, AnchorScan):
        return memo
    facts = ctx.distro.facts
    bundle_fps: frozenset[str] = frozenset()
    bundle_exists = False
    if facts.bundle:
        try:
            data = ctx.fs.read_bytes(facts.bundle)
            bundle_exists = True
            bundle_fps = frozenset(
                digest.sha256(b.der).hexdigest() for b in pemfile.go_certs(data)
            )
        except OSError:
            pass
    tool = bool(facts.update_tool and ctx.fs.exists(facts.update_tool))
    refresh = facts.refresh
    if refresh and not tool and facts.family in INSTALL:
        refresh = f"{INSTALL[facts.family]} && {refresh}"
    files: list[AnchorFile] = []
    budget = [MAX_FILES]
    truncated = False
    seen: set[str] = set()
    anchor_paths = {ad.path for ad in facts.anchor_dirs}
    for ad in facts.anchor_dirs:
        found: list[tuple[str, bool]] = []
        truncated |= _walk(ctx, ad, found, budget)
        for path, nested in found:
            if path in seen:
                continue
            seen.add(path)
            name = path.rsplit("/", 1)[-1]
            if nested and not ad.recursive:
                # A subdirectory of a non-recursive anchor directory, unless it
                # is an anchor directory itself (source/anchors) or p11-kit's
                # distrust list (source/blocklist, older blacklist).
                if path in anchor_paths or name in ("blocklist", "blacklist"):
                    continue
                try:
                    sub = ctx.fs.listdir(path, limit=50).entries
                except OSError:
                    sub = ()
                for e in sub:
                    full = f"{path}/{e.name}"
                    try:
                        data = ctx.fs.read_bytes(full, 1 << 20)
                    except OSError:
                        continue
                    anchors, _ = _certs_in(data, full, ad.der_ok)
                    if anchors:
                        files.append(
                            AnchorFile(
                                full,
                                tuple(anchors),
                                False,
                                "in-subdirectory",  # ad.path is not read recursively
                                len(anchors) > 1,
                                frozenset(),
                                (("dir", ad.path),),
                            )
                        )
                continue
            try:
                data = ctx.fs.read_bytes(path, 1 << 20)
            except OSError:
                continue
            anchors, der_reason = _certs_in(data, path, ad.der_ok)
            if not anchors:
                continue
            reason: str | None = der_reason
            values: tuple[tuple[str, str], ...] = ()
            if reason is None and ad.suffix and not name.endswith(ad.suffix):
                reason = "wrong-suffix"  # the update tool ignores it
                values = (("suffix", ad.suffix),)
                if facts.refresh:
                    values += (("tool", facts.refresh),)
            if reason is None and name.startswith("."):
                reason = "hidden-file"  # the update tool skips it
            fps = frozenset(a.cert.sha256 for a in anchors if a.cert.sha256 in bundle_fps)
            files.append(
                AnchorFile(
                    path, tuple(anchors), reason is None, reason, len(anchors) > 1, fps, values
                )
            )
    result = AnchorScan(tuple(files), facts.bundle, bundle_exists, tool, refresh, truncated)
    ctx.fs.memo["anchor_scan"] = result
    return result


def classify(
    sc: AnchorScan, anchors: AnchorSet, default: AnchorSet | None = None
) -> tuple[list[Anchor], list[Anchor]]:
    """(pending, ignored) anchors of the scan for a client holding ``anchors``.

    ``default`` is what the client would hold without its environment
    overrides: a certificate there is missing because of the override
    (``env-override``), not because the store is stale.

    An ignored anchor's provenance ``detail`` is its ``anchor-file-ignored``
    reason code (``multi-cert-no-hash-link`` for the multi-certificate case).
    """
    pending: list[Anchor] = []
    ignored: list[Anchor] = []
    for f in sc.files:
        for a in f.anchors:
            if anchors.contains(a.cert):
                continue
            if default is not None and default.contains(a.cert):
                continue
            if not f.accepted:
                ignored.append(
                    Anchor(
                        a.cert, Provenance(f.path, a.provenance.index, a.provenance.line, f.reason)
                    )
                )
            elif f.multi and a.cert.sha256 in f.in_bundle:
                ignored.append(
                    Anchor(
                        a.cert,
                        # Several certificates in one file get no <hash>.0
                        # link: clients using only the hash directory miss it.
                        Provenance(
                            f.path,
                            a.provenance.index,
                            a.provenance.line,
                            "multi-cert-no-hash-link",
                        ),
                    )
                )
            else:
                # Not in the bundle (stale), or in it while this client reads
                # something the same rebuild writes (Java's keystore hook).
                pending.append(a)
    return pending, ignored
