"""Carry out a fix plan on a root, safely (the I/O edge of ``fix --apply``).

What it does:

* file steps (``copy-anchor``, ``write-file``, ``edit-config``, ``keytool-import``):
  each file is written to a temporary file in the same directory, fsynced and
  renamed over the target, so a reader sees the old file or the new one,
  never half of one; a replaced file is kept as ``<file>.trustdoctor-bak``
  (a timestamped name when that exists); a step whose result is already in
  place changes nothing (idempotent);
* ``run`` steps whose purpose is ``refresh`` (the update tool): directly on
  ``/``, through ``chroot`` on another root when the tool exists there;
  otherwise, and for every other command, it says exactly what to run.

What it never does: delete or overwrite an anchor (a different file with the
same name gets another name), follow a symlink out of the root, write
anything that disables verification, restart a service, change another
process's environment, install a package.

Errors are :class:`~trustdoctor.errors.FixError` (exit 3) or
:class:`~trustdoctor.errors.UnsafePathError` (exit 2), one line each.
"""

from __future__ import annotations

import datetime as dt
import errno
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from ..errors import FixError, UnsafePathError
from ..fixes.model import Action, Plan, Purpose, Step, StepOutcome
from ..fixes.tables import FORBIDDEN
from ..model.pem import pem_encode
from ..model.record import field, mutable_record
from ..sources.atomic import WriteError, remove_stale
from ..sources.atomic import atomic_write as write_atomically

BACKUP_SUFFIX = ".trustdoctor-bak"
TOOL_TIMEOUT = 300
# PATH for refresh tools: Debian's are in /usr/sbin, often missing from a
# user's PATH (smallstep/truststore#23).
TOOL_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

Runner = Callable[[Sequence[str], str], "subprocess.CompletedProcess[str]"]


def _errmsg(exc: OSError) -> str:
    names = {
        errno.ENOSPC: "no space left on device",
        errno.EROFS: "read-only file system",
        errno.EACCES: "permission denied",
        errno.EPERM: "operation not permitted",
        errno.EDQUOT: "disk quota exceeded",
        errno.ENOENT: "no such file or directory",
        errno.ENOTDIR: "not a directory",
        errno.EISDIR: "is a directory",
        errno.ELOOP: "too many levels of symbolic links",
    }
    return names.get(exc.errno or 0, (exc.strerror or str(exc)).lower())


# -- paths inside the root ----------------------------------------------------------------------


class SafeRoot:
    """Maps root-relative paths to host paths, refusing symlinks that lead outside the root."""

    def __init__(self, root: str | Path) -> None:
        self.label = str(root)
        self.root = Path(os.path.realpath(root))
        if not self.root.is_dir():
            raise FixError(f"--root {root}: not a directory")

    @property
    def is_host(self) -> bool:
        return str(self.root) == "/"

    def inside(self, p: Path | str) -> bool:
        s = str(p)
        r = str(self.root)
        return r == "/" or s == r or s.startswith(r.rstrip("/") + "/")

    def host(self, path: str) -> Path:
        """The host path for ``path`` (inside the root), following symlinks only inside it."""
        comps = [c for c in path.split("/") if c and c != "."]
        if ".." in comps:
            raise UnsafePathError(f"{path}: '..' in a path to write")
        cur = self.root
        for i, c in enumerate(comps):
            nxt = cur / c
            if nxt.is_symlink():
                real = Path(os.path.realpath(nxt))
                if not self.inside(real):
                    shown = "/" + "/".join(comps[: i + 1])
                    raise UnsafePathError(
                        f"{shown}: symlink to {os.readlink(nxt)} leads outside the root "
                        f"{self.label}; not followed"
                    )
                nxt = real
            cur = nxt
        return cur

    def rel(self, host: Path) -> str:
        if self.is_host:
            return str(host)
        s = str(host)[len(str(self.root)) :]
        return s or "/"


# -- atomic writes ------------------------------------------------------------------------------


def atomic_write(
    target: Path,
    data: bytes,
    *,
    mode: int = 0o644,
    backup: bool = True,
    label: str | None = None,
    now: dt.datetime | None = None,
    check_text: bool = True,
) -> str | None:
    """Write ``data`` to ``target`` with :func:`trustdoctor.sources.atomic.atomic_write`
    (an existing file keeps its mode and owner, and is kept as a backup); return
    the backup's name (or ``None``).  Content that disables verification is
    refused; errors are one-line :class:`FixError`.
    """
    shown = label or str(target)
    if check_text:
        for bad in FORBIDDEN:
            if bad.strip() and bad.strip().encode() in data:
                raise FixError(
                    f"{shown}: refusing to write content that disables verification ({bad.strip()})"
                )
    try:
        return write_atomically(
            target,
            data,
            mode=mode,
            preserve=True,
            backup_suffix=BACKUP_SUFFIX if backup else None,
            now=now,
        )
    except WriteError as exc:
        what = {
            "directory": "cannot open its directory: {}",
            "write": "cannot write: {}; nothing was changed",
        }.get(exc.stage, "cannot replace: {}; the previous file is unchanged")
        raise FixError(f"{shown}: {what.format(_errmsg(exc))}") from None


def make_dirs(sr: SafeRoot, path: str) -> list[str]:
    """Create the missing directories of ``path`` (0755) inside the root; return those made."""
    comps = [c for c in path.split("/") if c]
    made: list[str] = []
    for i in range(1, len(comps) + 1):
        sub = "/" + "/".join(comps[:i])
        host = sr.host(sub)
        if host.is_dir():
            continue
        if host.exists() or host.is_symlink():
            raise FixError(f"{sub}: exists and is not a directory")
        try:
            os.mkdir(host, 0o755)
        except OSError as exc:
            raise FixError(f"{sub}: cannot create directory: {_errmsg(exc)}") from None
        made.append(sub)
    return made


# -- certificates ----------------------------------------------------------------------------------


def fingerprints(data: bytes) -> list[str]:
    """SHA-256 of every certificate in a PEM (or DER) file."""
    from . import pemfile

    out = [hashlib.sha256(b.der).hexdigest() for b in pemfile.go_certs(data)]
    if not out and pemfile.looks_like_der_cert(data):
        out.append(hashlib.sha256(data).hexdigest())
    return out


def certs_der(data: bytes) -> list[bytes]:
    from . import pemfile

    ders = [b.der for b in pemfile.scan(data) if b.label in pemfile.CERT_LABELS and b.der]
    out: list[bytes] = []
    for b in pemfile.scan(data):
        if b.label == "TRUSTED CERTIFICATE" and b.der:
            el = pemfile.der_element(b.der)
            if el:
                out.append(el)
        elif b.label in pemfile.CERT_LABELS and b.der:
            out.append(b.der)
    if not ders and pemfile.looks_like_der_cert(data):
        out.append(data)
    return out


def _has_key_material(data: bytes) -> bool:
    return b"PRIVATE KEY-----" in data


# -- the applier -----------------------------------------------------------------------------------


@mutable_record
class Applier:
    """Applies one plan to one root; keeps what it changed for the report."""

    sr: SafeRoot
    ca_pem: bytes | None
    run_tools: bool = True
    runner: Runner | None = None
    now: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    force_refresh: bool = False
    changed_files: list[str] = field(default_factory=list)

    # -- checks before anything is written -------------------------------------------------

    def preflight(self, plan: Plan) -> None:
        """Refuse unsafe paths and missing privileges before the first write."""
        for step in plan.steps:
            if step.alternative or not self.applicable(step):
                continue
            for path in self.paths_of(step):
                host = self.sr.host(path)
                if os.geteuid() != 0:
                    probe = host
                    while not probe.exists() and probe != probe.parent:
                        probe = probe.parent
                    where = probe if probe.is_dir() else probe.parent
                    if not os.access(where, os.W_OK, effective_ids=True):
                        raise FixError(
                            f"{path}: writing it needs root privileges (permission denied on "
                            f"{self.sr.rel(probe)}); "
                            "run as root or with sudo"
                        )

    def applicable(self, step: Step) -> bool:
        if step.platform not in ("linux",) and not step.is_host:
            return False
        if step.action in (
            Action.COPY_ANCHOR,
            Action.WRITE_FILE,
            Action.EDIT_CONFIG,
            Action.KEYTOOL_IMPORT,
        ):
            return not any(
                str(v).startswith(("<", "$")) or "<registry" in str(v)
                for k, v in step.params.items()
                if k in ("dest", "path", "keystore", "dest_dir")
            )
        return False

    @staticmethod
    def paths_of(step: Step) -> list[str]:
        p = step.params
        out = []
        for k in ("dest", "path", "keystore", "dest_dir"):
            v = p.get(k)
            if isinstance(v, str) and v.startswith("/"):
                out.append(v)
        return out

    # -- steps ---------------------------------------------------------------------------------

    def apply(self, plan: Plan) -> list[StepOutcome]:
        self.preflight(plan)
        outcomes: list[StepOutcome] = []
        file_steps = [s for s in plan.steps if not s.alternative and self.applicable(s)]
        for step in plan.steps:
            if step.alternative:
                outcomes.append(StepOutcome(step, "skipped", "alternative (not applied)"))
                continue
            if step in file_steps:
                outcomes.append(self._file_step(step))
        any_change = any(o.status == "changed" for o in outcomes)
        for step in plan.steps:
            if step.alternative or step in file_steps:
                continue
            outcomes.append(self._other_step(step, any_change))
        # Keep the plan's order in the report.
        order = {id(s): i for i, s in enumerate(plan.steps)}
        outcomes.sort(key=lambda o: order.get(id(o.step), 0))
        return outcomes

    def _file_step(self, step: Step) -> StepOutcome:
        a = step.action
        if a == Action.COPY_ANCHOR:
            if "from_dir" in step.params:
                return self._copy_dir(step)
            return self._copy_anchor(step)
        if a == Action.WRITE_FILE:
            return self._write_file(step)
        if a == Action.EDIT_CONFIG:
            return self._edit_config(step)
        if a == Action.KEYTOOL_IMPORT:
            return self._keytool(step)
        return StepOutcome(step, "skipped", "not a file step")  # pragma: no cover

    def _ca(self, step: Step) -> bytes:
        if self.ca_pem is None:
            raise FixError("this step needs the CA certificate: give it with --ca ROOT.pem")
        return self.ca_pem

    def _put_anchor(self, dest: str, der: bytes) -> tuple[str, str, str | None]:
        """Write one certificate as PEM at ``dest`` (or a free name next to it).

        Returns (status, path written, note).
        """
        fp = hashlib.sha256(der).hexdigest()
        stem, dot, ext = dest.rpartition(".")
        if not dot or "/" in ext:
            stem, ext = dest, ""
        candidates = [dest, f"{stem}-{fp[:12]}{'.' + ext if ext else ''}"]
        for cand in candidates:
            host = self.sr.host(cand)
            if host.is_symlink() and not host.exists():
                raise UnsafePathError(f"{cand}: a dangling symlink; not written")
            if host.exists():
                try:
                    existing = host.read_bytes()
                except OSError as exc:
                    raise FixError(f"{cand}: cannot read: {_errmsg(exc)}") from None
                if fingerprints(existing) == [fp]:
                    return "unchanged", cand, None
                continue  # another anchor with this name: never overwritten
            make_dirs(self.sr, cand.rsplit("/", 1)[0] or "/")
            host, pem = self.sr.host(cand), pem_encode(der)
            atomic_write(host, pem, mode=0o644, backup=False, label=cand, now=self.now)
            self.changed_files.append(cand)
            return "changed", cand, (None if cand == dest else f"{dest} holds another certificate")
        raise FixError(f"{dest}: the name and {candidates[1]} are taken by other certificates")

    def _copy_anchor(self, step: Step) -> StepOutcome:
        p = step.params
        dest = str(p["dest"])
        if "from" in p:
            src = str(p["from"])
            try:
                data = self.sr.host(src).read_bytes()
            except OSError as exc:
                raise FixError(f"{src}: cannot read: {_errmsg(exc)}") from None
            ders = certs_der(data)
            want = p.get("sha256")
            if want:
                ders = [x for x in ders if hashlib.sha256(x).hexdigest() == want]
            if not ders:
                raise FixError(f"{src}: the certificate to copy is not in it any more")
            status, path, note = self._put_anchor(dest, ders[0])
            detail = f"{path}: PEM copy of {src}" + (f" ({note})" if note else "")
            return StepOutcome(
                step,
                status,
                detail if status == "changed" else f"{path}: already in place",
                (path,),
            )
        ders = certs_der(self._ca(step))
        status, path, note = self._put_anchor(dest, ders[0])
        detail = f"{path}: CA installed" + (f" ({note})" if note else "")
        return StepOutcome(
            step, status, detail if status == "changed" else f"{path}: already in place", (path,)
        )

    def _copy_dir(self, step: Step) -> StepOutcome:
        src_dir, dest_dir = str(step.params["from_dir"]), str(step.params["dest_dir"])
        host = self.sr.host(src_dir)
        paths: list[str] = []
        changed = False
        try:
            names = sorted(os.listdir(host))
        except OSError as exc:
            raise FixError(f"{src_dir}: cannot list: {_errmsg(exc)}") from None
        for n in names:
            if not n.endswith(".crt"):
                continue
            try:
                data = self.sr.host(f"{src_dir}/{n}").read_bytes()
            except OSError:
                continue
            if _has_key_material(data):
                continue
            for der in certs_der(data)[:1]:
                status, path, _ = self._put_anchor(f"{dest_dir}/{n}", der)
                changed |= status == "changed"
                paths.append(path)
        if self.ca_pem is not None:
            status, path, _ = self._put_anchor(f"{dest_dir}/ca.crt", certs_der(self.ca_pem)[0])
            changed |= status == "changed"
            paths.append(path)
        if not paths:
            return StepOutcome(step, "manual", f"{src_dir} has no *.crt to copy to {dest_dir}")
        return StepOutcome(
            step,
            "changed" if changed else "unchanged",
            f"{dest_dir}: {', '.join(p.rsplit('/', 1)[1] for p in paths)}",
            tuple(paths),
        )

    def _write_file(self, step: Step) -> StepOutcome:
        p = step.params
        path = str(p["path"])
        host = self.sr.host(path)
        content = p.get("content")
        exists = host.exists()
        old = b""
        if exists:
            try:
                old = host.read_bytes()
            except OSError as exc:
                raise FixError(f"{path}: cannot read: {_errmsg(exc)}") from None
        if content == "text":
            new = str(p.get("text") or "").encode()
            if exists and old == new:
                return StepOutcome(step, "unchanged", f"{path}: already in place", (path,))
            if exists and not old.startswith(b"# written by trustdoctor"):
                if self._hosts_toml_has_ca(path, old, p):
                    return StepOutcome(step, "unchanged", f"{path}: already names the CA", (path,))
                return StepOutcome(
                    step,
                    "manual",
                    f"{path} exists with other content: merge the lines shown by hand",
                )
        elif content in ("append-ca", "mozilla"):
            base = old
            if not exists or not fingerprints(old):
                base = (
                    _mozilla()
                    if (p.get("seed") == "mozilla" or content == "mozilla" or not exists)
                    else old
                )
            new = base
            if content == "append-ca":
                ca_der = certs_der(self._ca(step))[0]
                fp = hashlib.sha256(ca_der).hexdigest()
                if exists and fp in fingerprints(old):
                    return StepOutcome(step, "unchanged", f"{path}: already holds the CA", (path,))
                if new and not new.endswith(b"\n"):
                    new += b"\n"
                new += pem_encode(ca_der)
            elif exists and fingerprints(old):
                return StepOutcome(
                    step, "unchanged", f"{path}: already holds certificates", (path,)
                )
        else:  # pragma: no cover
            return StepOutcome(step, "skipped", f"unknown content {content!r}")
        make_dirs(self.sr, path.rsplit("/", 1)[0] or "/")
        bak = atomic_write(
            self.sr.host(path), new, mode=0o644, backup=exists, label=path, now=self.now
        )
        self.changed_files.append(path)
        backups = (f"{path.rsplit('/', 1)[0]}/{bak}",) if bak else ()
        return StepOutcome(step, "changed", f"{path}: written", (path,), backups)

    @staticmethod
    def _hosts_toml_has_ca(path: str, old: bytes, params: object) -> bool:
        if not path.endswith("/hosts.toml"):
            return False
        import tomllib

        try:
            cfg = tomllib.loads(old.decode("utf-8", "replace"))
        except tomllib.TOMLDecodeError:
            return False
        text = str(getattr(params, "get", lambda k, d=None: d)("text", "") or "")
        m = re.search(r'ca = "([^"]+)"', text)
        if not m:
            return False
        want = m.group(1)
        hosts = cfg.get("host")
        sections = [cfg] + (list(hosts.values()) if isinstance(hosts, dict) else [])
        for sec in sections:
            ca = sec.get("ca") if isinstance(sec, dict) else None
            cas = [ca] if isinstance(ca, str) else ca if isinstance(ca, list) else []
            if want in cas:
                return True
        return False

    def _edit_config(self, step: Step) -> StepOutcome:
        import tomllib

        from .fixfacts import table_keys

        p = step.params
        path = str(p["path"])
        if p.get("legacy"):
            return StepOutcome(
                step, "manual", f"{path}: legacy registry settings: edit by hand as shown"
            )
        table, key, value = str(p["table"]), str(p["key"]), str(p["value"])
        host = self.sr.host(path)
        exists = host.exists()
        text = ""
        if exists:
            try:
                text = host.read_text("utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise FixError(f"{path}: cannot read: {exc}") from None
            try:
                cfg = tomllib.loads(text)
            except tomllib.TOMLDecodeError as exc:
                return StepOutcome(
                    step, "manual", f"{path}: not valid TOML ({exc}); fix it by hand first"
                )
        else:
            cfg = {}
        keys = table_keys(table)
        cur: object = cfg
        for k in keys:
            cur = cur.get(k) if isinstance(cur, dict) else None
        if isinstance(cur, dict) and cur.get(key) == value:
            return StepOutcome(step, "unchanged", f"{path}: {key} already set", (path,))
        if isinstance(cur, dict) and key in cur:
            return StepOutcome(
                step, "manual", f"{path}: {key} is set to {cur[key]!r}; change it by hand"
            )
        if isinstance(cur, dict) and (cur.get("mirrors") or cur.get("configs")):
            return StepOutcome(
                step, "manual", f"{path}: legacy mirrors/configs cannot be combined with {key}"
            )
        line = f'  {key} = "{value}"\n'
        header = re.compile(
            r"^\s*\[\s*"
            + r"\s*\.\s*".join(
                # a key with a dot must be quoted; a plain one may be either
                re.escape(f'"{k}"') if "." in k else f'(?:"{re.escape(k)}"|{re.escape(k)})'
                for k in keys
            )
            + r"\s*\]\s*(#.*)?$",
            re.M,
        )
        m = header.search(text)
        if isinstance(cur, dict) and m is None:
            return StepOutcome(
                step, "manual", f"{path}: [{table}] is defined in a form not edited automatically"
            )
        if m is not None:
            new = text[: m.end()] + "\n" + line.rstrip("\n") + text[m.end() :]
        else:
            prefix = text if text.endswith("\n") or not text else text + "\n"
            if not exists:
                prefix = f"version = {p.get('version') or 2}\n"
            new = prefix + f"\n[{table}]\n" + line
        try:
            check = tomllib.loads(new)
        except tomllib.TOMLDecodeError as exc:  # pragma: no cover - guarded by the tests
            raise FixError(
                f"{path}: the edit would not be valid TOML ({exc}); nothing changed"
            ) from None
        cur = check
        for k in keys:
            cur = cur.get(k) if isinstance(cur, dict) else None
        if not isinstance(cur, dict) or cur.get(key) != value:  # pragma: no cover
            raise FixError(f"{path}: the edit did not take; nothing changed")
        make_dirs(self.sr, path.rsplit("/", 1)[0] or "/")
        bak = atomic_write(
            host if exists else self.sr.host(path),
            new.encode(),
            mode=0o644,
            backup=exists,
            label=path,
            now=self.now,
        )
        self.changed_files.append(path)
        backups = (f"{path.rsplit('/', 1)[0]}/{bak}",) if bak else ()
        return StepOutcome(
            step, "changed", f'{path}: {key} = "{value}" under [{table}]', (path,), backups
        )

    def _keytool(self, step: Step) -> StepOutcome:
        from ..errors import InputError
        from .keystore import inspect_keystore

        p = step.params
        keystore = str(p["keystore"])
        storepass = str(p.get("storepass") or "")
        if storepass.startswith("<"):
            return StepOutcome(
                step,
                "manual",
                f"{keystore}: the store password is not known: run the command shown",
            )
        host = self.sr.host(keystore)
        try:
            data = host.read_bytes()
        except OSError as exc:
            raise FixError(f"{keystore}: cannot read: {_errmsg(exc)}") from None
        ca_der = certs_der(self._ca(step))[0]
        fp = hashlib.sha256(ca_der).hexdigest()
        try:
            ks = inspect_keystore(data, storepass.encode(), source=keystore)
        except InputError as exc:
            raise FixError(f"{exc.message}; nothing changed") from None
        if any(hashlib.sha256(e.der).hexdigest() == fp and e.trusted for e in ks.entries):
            return StepOutcome(step, "unchanged", f"{keystore}: already holds the CA", (keystore,))
        keytool = self._keytool_binary()
        if keytool is None:
            return StepOutcome(step, "manual", "keytool not found: run the command shown")
        # keytool edits copies in a private directory (mkdtemp: 0700, a name no
        # one can guess): a name next to the keystore could be a symlink planted
        # in the root, and writing through it would write outside where the user
        # asked.  The result reaches the keystore only through atomic_write.
        work = Path(tempfile.mkdtemp(prefix="trustdoctor-keytool-"))
        tmp = work / "keystore"
        ca_tmp = work / "ca.pem"
        aliases = {e.alias.lower() for e in ks.entries}
        alias = str(p.get("alias") or "trustdoctor")
        if alias.lower() in aliases:
            alias = f"{alias}-{fp[:8]}"
        try:
            shutil.copyfile(host, tmp)
            ca_tmp.write_bytes(pem_encode(ca_der))
            argv = [
                keytool,
                "-importcert",
                "-noprompt",
                "-trustcacerts",
                "-alias",
                alias,
                "-file",
                str(ca_tmp),
                "-keystore",
                str(tmp),
                "-storepass",
                storepass,
            ]
            try:
                res = subprocess.run(
                    argv,
                    capture_output=True,
                    text=True,
                    timeout=TOOL_TIMEOUT,
                    check=False,
                    env={"PATH": TOOL_PATH, "LANG": "C"},
                )
            except (OSError, subprocess.TimeoutExpired) as exc:
                raise FixError(f"{keystore}: keytool could not run: {exc}") from None
            if res.returncode != 0:
                last = (res.stderr or res.stdout).strip().splitlines()[-1:] or ["no output"]
                raise FixError(f"{keystore}: keytool failed: {last[0]}; nothing changed")
            new = tmp.read_bytes()
            try:
                check = inspect_keystore(new, storepass.encode(), source=keystore)
            except InputError as exc:
                raise FixError(
                    f"{keystore}: the new keystore does not load ({exc.message}); nothing changed"
                ) from None
            if not any(hashlib.sha256(e.der).hexdigest() == fp for e in check.entries):
                raise FixError(f"{keystore}: keytool did not add the CA; nothing changed")
        except OSError as exc:
            raise FixError(f"{keystore}: cannot prepare the new keystore: {_errmsg(exc)}") from None
        finally:
            shutil.rmtree(work, ignore_errors=True)
        bak = atomic_write(host, new, backup=True, label=keystore, now=self.now, check_text=False)
        self.changed_files.append(keystore)
        backups = (f"{keystore.rsplit('/', 1)[0]}/{bak}",) if bak else ()
        return StepOutcome(
            step, "changed", f"{keystore}: CA imported as alias {alias}", (keystore,), backups
        )

    def _keytool_binary(self) -> str | None:
        # keytool only edits the file; the host's keytool handles JKS and PKCS#12
        # alike, and the root's own JDK may not run here (another libc, arch).
        return shutil.which("keytool", path=os.environ.get("PATH", "") + ":" + TOOL_PATH)

    def _other_step(self, step: Step, any_change: bool) -> StepOutcome:
        p = step.params
        if step.action == Action.RUN and p.get("purpose") == Purpose.REFRESH.value and step.is_host:
            if not (any_change or self.force_refresh):
                return StepOutcome(step, "unchanged", "no file changed: nothing to rebuild")
            return self._refresh(step)
        if step.action == Action.RESTART_SERVICE:
            if (
                p.get("when") == "config-changed"
                and not any(f in self.changed_files for f in step.changes or ())
                and not self._config_changed()
            ):
                return StepOutcome(step, "skipped", "configuration unchanged: no restart needed")
            return StepOutcome(
                step, "manual", "restart it yourself (trustdoctor never restarts services)"
            )
        if step.action in (Action.SET_ENV, Action.UNSET_ENV):
            return StepOutcome(
                step, "manual", "environment of another process: change it where it is set"
            )
        if step.action == Action.RUN and p.get("purpose") == Purpose.INSTALL_PACKAGE.value:
            tool = p.get("when_missing") or p.get("tool")
            if isinstance(tool, str) and self._exists(tool):
                return StepOutcome(step, "skipped", f"{tool} is installed")
            return StepOutcome(step, "manual", "package installation is left to you")
        if step.action == Action.RUN and p.get("purpose") == Purpose.VERIFY.value:
            return StepOutcome(step, "skipped", "trustdoctor re-checks below")
        if not step.is_host and step.platform != "linux":
            return StepOutcome(step, "skipped", f"for {step.platform}, not this root")
        return StepOutcome(step, "manual", "run it yourself")

    def _config_changed(self) -> bool:
        return any(f.endswith(".toml") and "certs.d" not in f for f in self.changed_files)

    def _exists(self, path: str) -> bool:
        try:
            return self.sr.host(path).exists()
        except (UnsafePathError, OSError):
            return False

    def _refresh(self, step: Step) -> StepOutcome:
        argv = [str(a) for a in step.params.get("argv") or []]  # type: ignore[attr-defined]
        tool = str(step.params.get("tool") or "")
        if not self.run_tools:
            return StepOutcome(step, "manual", "refresh not run (--no-run)")
        if not argv:  # pragma: no cover
            return StepOutcome(step, "skipped", "no command")
        if tool and not self._exists(tool):
            where = "this host" if self.sr.is_host else f"the root {self.sr.label}"
            return StepOutcome(
                step, "manual", f"{tool} is not installed in {where}: run the command shown there"
            )
        if not self.sr.is_host and os.geteuid() != 0 and self.runner is None:
            return StepOutcome(step, "manual", "chroot needs root: run the command shown as root")
        runner = self.runner or default_runner
        try:
            res = runner(argv, str(self.sr.root))
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise FixError(f"{' '.join(argv)}: could not run: {exc}") from None
        out = (res.stdout or "").strip().splitlines()
        err = (res.stderr or "").strip().splitlines()
        if res.returncode != 0:
            raise FixError(
                f"{' '.join(argv)} failed (exit {res.returncode}): "
                f"{(err or out or ['no output'])[-1]}"
            )
        via = "" if self.sr.is_host else f" (chroot {self.sr.label})"
        last = (out or err or [""])[-1]
        return StepOutcome(
            step, "changed", f"ran {' '.join(argv)}{via}" + (f": {last}" if last else "")
        )


# Directories whose every file some client reads (Go reads all of /etc/ssl/certs,
# p11-kit every anchor file): a temporary file a killed run left there would be
# read as part of the store, so --apply removes them before looking.
SWEEP_DIRS: tuple[str, ...] = (
    "/etc/ssl/certs",
    "/etc/pki/tls/certs",
    "/etc/containerd",
)
SWEEP_PARENTS: tuple[str, ...] = (
    "/etc/docker/certs.d",
    "/etc/containerd/certs.d",
    "/etc/containers/certs.d",
)


def sweep_stale(root: str | Path) -> list[str]:
    """Remove temporary files of killed ``fix --apply`` runs from the store directories."""
    from ..fixes.tables import SYSTEM_INSTALL

    sr = SafeRoot(root)
    dirs = set(SWEEP_DIRS)
    for f in SYSTEM_INSTALL.values():
        if f.anchor_dir:
            dirs.add(f.anchor_dir)
        if f.bundle:
            dirs.add(f.bundle.rsplit("/", 1)[0])
    for parent in SWEEP_PARENTS:
        try:
            host = sr.host(parent)
            dirs.update(f"{parent}/{n}" for n in os.listdir(host) if (host / n).is_dir())
        except (OSError, UnsafePathError):
            continue
    removed: list[str] = []
    for d in sorted(dirs):
        try:
            host = sr.host(d)
        except UnsafePathError:
            continue
        removed.extend(f"{d}/{n}" for n in remove_stale(host))
    return removed


def default_runner(argv: Sequence[str], root: str) -> subprocess.CompletedProcess[str]:
    """Run a refresh tool on ``/``, or inside another root with ``chroot``."""
    env = {"PATH": TOOL_PATH, "LANG": "C", "LC_ALL": "C"}
    full = list(argv) if root == "/" else ["chroot", root, *argv]
    return subprocess.run(
        full,
        capture_output=True,
        text=True,
        timeout=TOOL_TIMEOUT,
        check=False,
        env=env,
        stdin=subprocess.DEVNULL,
    )


def _mozilla() -> bytes:
    import certifi

    return Path(certifi.where()).read_bytes()


def apply_plan(
    plan: Plan,
    root: str | Path,
    *,
    ca_pem: bytes | None,
    run_tools: bool = True,
    runner: Runner | None = None,
    force_refresh: bool = False,
    now: dt.datetime | None = None,
) -> tuple[list[StepOutcome], list[str]]:
    """Carry out the host steps of ``plan`` on ``root``; (outcomes, files changed)."""
    a = Applier(
        SafeRoot(root),
        ca_pem,
        run_tools=run_tools,
        runner=runner,
        force_refresh=force_refresh,
        now=now or dt.datetime.now(dt.UTC),
    )
    outcomes = a.apply(plan)
    return outcomes, list(a.changed_files)
