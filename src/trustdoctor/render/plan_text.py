"""Text view of a fix plan: shell commands, one per line, with comments saying why (pure).

The output is meant to be read, and copied: everything that is not a shell
command (Dockerfile lines, server configuration, alternatives, notes) is a
``#`` comment, so pasting the whole plan into a shell runs only the commands.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence

from ..fixes.model import Action
from . import doc as d
from .doc import Doc, Span
from .plan_words import NOTE_FINDING, NOTES, REISSUE_WHY, WHY
from .words import explained, fmt

TYPE_CHECKING = False  # typing's constant, without importing typing (model/record.py)
if TYPE_CHECKING:
    from ..fixes.model import ApplyReport, Plan, Step

_CONVERT = {
    "der-to-pem": "DER, not PEM",
    "split": "several certificates in one file",
    "rename": "a name the tool does not read",
    "move-up": "in a subdirectory the tool does not read",
}


def _q(s: str) -> str:
    return shlex.quote(s)


def _rooted(plan: Plan, path: str) -> str:
    if plan.root in ("/", "") or not path.startswith("/"):
        return path
    return plan.root.rstrip("/") + path


def _as_root(plan: Plan) -> bool:
    return bool(plan.context and plan.context.as_root)


def _sudo(plan: Plan, step: Step) -> str:
    if (
        not step.needs_root
        or _as_root(plan)
        or not (step.is_host or step.platform in ("linux", "shell"))
    ):
        return ""
    return "sudo "


def _inner(argv: Sequence[object]) -> str:
    parts = [str(a) for a in argv]
    if len(parts) == 3 and parts[0] == "sh" and parts[1] == "-c":
        return parts[2]
    return shlex.join(parts)


def step_commands(plan: Plan, step: Step) -> list[str]:
    """The shell lines of one step (comments start with ``#``)."""
    p = step.params
    sudo = _sudo(plan, step)
    a = step.action
    if a == Action.COPY_ANCHOR:
        if "from_dir" in p:
            src, dst = _rooted(plan, str(p["from_dir"])), _rooted(plan, str(p["dest_dir"]))
            return [f"{sudo}install -d {_q(dst)}", f"{sudo}cp -p {_q(src)}/*.crt {_q(dst)}/"]
        dest = _rooted(plan, str(p["dest"]))
        if "from" in p:
            src = _rooted(plan, str(p["from"]))
            conv = p.get("convert")
            if conv == "der-to-pem":
                return [f"{sudo}openssl x509 -inform DER -in {_q(src)} -out {_q(dest)}"]
            if conv == "split":
                idx = p.get("index") or 1
                return [
                    f"awk '/-----BEGIN CERTIFICATE-----/{{n++}} n=={idx}' {_q(src)} "
                    f"| {sudo}tee {_q(dest)} >/dev/null"
                ]
            return [f"{sudo}install -m 0644 {_q(src)} {_q(dest)}"]
        return [f"{sudo}install -m 0644 -D {_q(str(p['src']))} {_q(dest)}"]
    if a == Action.WRITE_FILE:
        path = (
            _rooted(plan, str(p["path"]))
            if step.is_host or step.platform == "linux"
            else str(p["path"])
        )
        content = p.get("content")
        if content == "text":
            text = str(p.get("text") or "")
            lines = []
            parent = path.rsplit("/", 1)[0]
            if "/" in path and parent:
                lines.append(f"{sudo}install -d {_q(parent)}")
            lines.append(
                f"{sudo}tee {_q(path)} >/dev/null <<'EOF'" if sudo else f"cat > {_q(path)} <<'EOF'"
            )
            lines += text.rstrip("\n").split("\n")
            lines.append("EOF")
            return lines
        if content == "mozilla":
            return [f'cat "$(python3 -m certifi)" | {sudo}tee {_q(path)} >/dev/null']
        src = str(p.get("src") or "ROOT.pem")
        if p.get("seed") == "mozilla":
            return [
                f'[ -s {_q(path)} ] || cat "$(python3 -m certifi)" '
                f"| {sudo}tee {_q(path)} >/dev/null",
                f"cat {_q(src)} | {sudo}tee -a {_q(path)} >/dev/null",
            ]
        return [f"cat {_q(src)} | {sudo}tee -a {_q(path)} >/dev/null"]
    if a == Action.RUN:
        cmd = _inner(p.get("argv") or [])  # type: ignore[arg-type]
        in_root = p.get("purpose") in ("refresh", "install-package")
        chroot = plan.root not in ("/", "") and step.is_host and in_root
        if not in_root and not step.is_host:
            sudo = sudo if step.platform == "linux" and step.needs_root else ""
        if chroot:
            shell = any(c in cmd for c in ("&&", "|", ";", ">"))
            cmd = f"chroot {_q(plan.root)} " + (f"sh -c {_q(cmd)}" if shell else cmd)
        line = f"{sudo}{cmd}"
        order = p.get("order")
        if isinstance(order, list):
            listing = []
            for i, e in enumerate(order, 1):
                fp = e.get("sha256")
                tag = (
                    f"  sha256 {str(fp)[:16]}"
                    if fp
                    else ("  (missing: obtain it)" if e.get("missing") else "")
                )
                what = e.get("subject") or (
                    "(your server certificate)" if e.get("role") == "leaf" else "(its issuing CA)"
                )
                listing.append(f"#   {i}. {e.get('file')}: {e.get('role')} {what}{tag}")
            return [*listing, line]
        tool = p.get("when_missing")
        if tool:
            line = f"[ -x {_q(_rooted(plan, str(tool)))} ] || {line}"
        return [line]
    if a == Action.RESTART_SERVICE:
        if "service" in p:
            line = f"{sudo}systemctl restart {_q(str(p['service']))}"
            if p.get("when") == "config-changed":
                line += "   # only if the configuration file changed"
            return [line]
        if "pid" in p:
            return [f"# restart {p.get('process')} (PID {p['pid']}) the way it is normally started"]
        return [f"# restart {p.get('process')}"]
    if a == Action.SET_ENV:
        name, value = str(p["name"]), str(p["value"])
        if p.get("scope") == "dockerfile":
            return [f"# Dockerfile:  ENV {name}={value}"]
        return [f"export {name}={_q(value)}"]
    if a == Action.UNSET_ENV:
        return _unset_lines(plan, step)
    if a == Action.KEYTOOL_IMPORT:
        base = (
            f"{sudo}keytool -importcert -noprompt -trustcacerts -alias {_q(str(p['alias']))} "
            f"-file {_q(str(p['file']))}"
        )
        if p.get("cacerts_shortcut"):
            return [f"{base} -cacerts -storepass {_q(str(p['storepass']))}"]
        ks = str(p["keystore"])
        ks = _rooted(plan, ks) if ks.startswith("/") else ks
        ks_arg = _q(ks) if not ks.startswith("$") else f'"{ks}"'
        return [f"{base} -keystore {ks_arg} -storepass {_q(str(p['storepass']))}"]
    if a == Action.EDIT_CONFIG:
        path = _rooted(plan, str(p["path"]))
        setting = p.get("value")
        return [
            f"# if [{p['table']}] already exists in {p['path']}, "
            f"add only the {p['key']} line to it",
            f"{sudo}tee -a {_q(path)} >/dev/null <<'EOF'" if sudo else f"cat >> {_q(path)} <<'EOF'",
            "",
            f"[{p['table']}]",
            f'  {p["key"]} = "{setting}"',
            "EOF",
        ]
    if a == Action.DOCKERFILE_LINE:
        lines = [str(x) for x in p.get("lines") or []]  # type: ignore[attr-defined]
        return [f"#   {x}" for x in lines]
    if a == Action.SERVER_CONFIG:
        out = [f"#   {x}" for x in p.get("lines") or []]  # type: ignore[attr-defined]
        if p.get("build"):
            out.append(f"{p['build']}")
        reload = p.get("reload")
        if reload:
            out.append(f"{sudo}{_inner(reload)}")  # type: ignore[arg-type]
        return out
    return _reissue_lines(step)


def _unset_lines(plan: Plan, step: Step) -> list[str]:
    p = step.params
    name = str(p["name"])
    out: list[str] = []
    origins = p.get("origins") or []
    assert isinstance(origins, list)
    for o in origins:
        kind = o.get("kind")
        where = f"{o.get('path')}" + (f":{o.get('line')}" if o.get("line") else "")
        if kind == "file" and o.get("path") and o.get("line"):
            path = _rooted(plan, str(o["path"]))
            out.append(f"# set in {where}: comment it out")
            out.append(f"{'' if _as_root(plan) else 'sudo '}sed -i '{o['line']}s/^/# /' {_q(path)}")
        elif kind == "systemd":
            unit = o.get("unit") or "?"
            out.append(f"# set in {where} (unit {unit}): the drop-in below removes it")
        elif kind in ("dockerfile", "image"):
            out.append(
                f"# set in {where if o.get('path') else 'the image configuration'}: "
                "see the Dockerfile line below"
            )
        elif kind == "process":
            out.append(f"# set in the environment of {o.get('path') or 'the process'}")
        elif kind == "given":
            out.append("# given with --env: run the client without it")
    if step.platform == "dockerfile":
        return out or ["# the image sets it: see the Dockerfile line"]
    kinds = {o.get("kind") for o in origins}
    if not kinds or kinds & {"shell", "given", "process"}:
        out.append(f"unset {name}")
    return out


def _reissue_lines(step: Step) -> list[str]:
    p = step.params
    subject = p.get("subject") or "the certificate it signed"
    out = [f"#   certificate: {subject} ({p.get('role')}, depth {p.get('depth')})"]
    if p.get("issuer"):
        out.append(f"#   issued by:   {p.get('issuer')}")
    names = p.get("names") or []
    if names:
        out.append(f"#   names:       {', '.join(str(n) for n in names)}")  # type: ignore[attr-defined]
    if p.get("not_before") or p.get("not_after"):
        out.append(f"#   now valid:   {p.get('not_before') or '?'} → {p.get('not_after') or '?'}")
    out.append(
        f"#   new:         from {p.get('new_not_before')}, "
        f"at most until {p.get('new_not_after_max')} "
        "for a public CA"
    )
    if p.get("key"):
        out.append(f"#   key / sig:   {p.get('key')} / {p.get('signature')}")
    exts = [str(x) for x in p.get("extensions") or []]  # type: ignore[attr-defined]
    for e in exts:
        out.append(f"#   set:         {e}")
    dns = [str(n)[4:] for n in names if str(n).startswith("DNS:")]  # type: ignore[attr-defined]
    cn = _cn(str(p.get("subject") or "")) if p.get("subject") else (dns[0] if dns else "NAME")
    is_leaf = p.get("role") == "leaf"
    stem = "server" if is_leaf else "ca"
    days = 365 if is_leaf else 1825
    signer = "issuing-ca" if is_leaf else "parent-ca"
    if p.get("keep_key"):
        ext_line = "printf '%s\\n' " + " ".join(_q(e) for e in exts) + f" > {stem}.ext"
        out.append("# the CA's own key and exact subject: what it issued stays valid")
        out.append(f"openssl x509 -x509toreq -in {stem}.pem -signkey {stem}.key -out {stem}.csr")
        out.append(ext_line)
        if p.get("self_signed"):
            sign = f"-signkey {stem}.key -days 3650"
        else:
            sign = f"-CA {signer}.pem -CAkey {signer}.key -CAcreateserial -days {days}"
        out.append(
            f"openssl x509 -req -in {stem}.csr {sign} -sha256 -extfile {stem}.ext "
            f"-out {stem}-new.pem"
        )
        return out
    out.append("# with a private CA (openssl); a public CA: request a certificate with these names")
    out.append(
        f"openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout {stem}.key "
        f"-out {stem}.csr -subj {_q('/CN=' + cn)}"
    )
    out.append("printf '%s\\n' " + " ".join(_q(e) for e in exts) + f" > {stem}.ext")
    out.append(
        f"openssl x509 -req -in {stem}.csr -CA {signer}.pem -CAkey {signer}.key -CAcreateserial "
        f"-days {days} -sha256 -extfile {stem}.ext -out {stem}.pem"
    )
    return out


def _cn(subject: str) -> str:
    for part in subject.split(","):
        if part.startswith("CN="):
            return part[3:]
    return subject or "NAME"


def why(step: Step) -> str:
    """The comment explaining a step."""
    params = dict(step.params)
    if step.action == Action.REISSUE:
        cause = str(params.get("cause"))
        why = REISSUE_WHY.get(f"{cause}/{params.get('reason')}") or REISSUE_WHY.get(cause)
        return fmt(why or "reissue {subject!q}", params)
    if step.action == Action.COPY_ANCHOR and "convert" in params:
        params["convert"] = _CONVERT.get(str(params["convert"]), params["convert"])
    template = WHY.get(step.reason)
    if template is None:
        return step.reason or step.action.value
    return fmt(template, params)


def note_text(code: str, params: Mapping[str, object]) -> str:
    finding = NOTE_FINDING.get(code)
    return fmt(NOTES.get(code, code), explained(finding, params) if finding else params)


def _header(doc: Doc, plan: Plan) -> None:
    ctx = plan.context
    who = ", ".join(plan.clients) if plan.clients else "-"
    side = f" ({plan.side.value} side)" if plan.side.value != "none" else ""
    doc.line(
        Span(
            f"# trustdoctor fix: {plan.cause.value}{side} — clients: {who}",
            d.BOLD,
        )
    )
    where = plan.platform
    if ctx is not None and ctx.distro_label and plan.platform == ctx.family:
        where = ctx.distro_label
    # The root matters to the steps that change files there, not to a server's.
    changes_root = any(s.is_host for s in plan.steps)
    root = f", root {plan.root}" if changes_root and plan.root not in ("/", "") else ""
    doc.line(Span(f"# platform: {where}{root}", d.DIM))
    if plan.ca is not None:
        ca = plan.ca
        if ca.sha256 is not None:
            doc.line(Span(f"# CA: {ca.name}  ({ca.file})", d.DIM))
            doc.line(Span(f"#     sha256 {ca.fingerprint}", d.DIM))
            if ca.not_after:
                doc.line(Span(f"#     valid until {ca.not_after[:10]}", d.DIM))
        else:
            doc.line(
                Span(f"# CA: {ca.name} (not given: {ca.file} stands for its certificate)", d.WARN)
            )


def render_fix_section(plan: Plan) -> Doc:
    """The "Fix" section under a verdict or a ``--ca`` check: the whole plan, indented.

    It is the plan ``trustdoctor fix`` prints for the same facts (``fix --for
    TARGET`` for a diagnosis, ``fix --ca FILE`` for a check): one pipeline makes both.
    """
    doc = Doc()
    hint = "  (the plan trustdoctor fix prints; fix --apply carries out the file steps)"
    doc.line(Span("Fix", d.HEAD), Span(hint, d.DIM))
    for line in render_plan(plan).lines:
        doc.lines.append([Span("  "), *line] if line else [])
    return doc


def render_plan(plan: Plan) -> Doc:
    """The plan as shell commands with ``#`` comments (pure)."""
    doc = Doc()
    _header(doc, plan)
    doc.blank()
    if plan.empty:
        doc.line(Span("# nothing to change", d.OK))
    for step in plan.steps:
        lead = "# alternative: " if step.alternative else "# "
        doc.line(Span(lead + why(step), d.DIM))
        for line in step_commands(plan, step):
            if step.alternative and not line.startswith("#"):
                doc.line(Span("#   " + line, d.DIM))
            elif line.startswith("#"):
                doc.line(Span(line, d.DIM))
            else:
                doc.line(Span(line, d.BOLD))
        doc.blank()
    if plan.notes:
        for n in plan.notes:
            doc.line(Span("# note: " + note_text(n.code, n.params), d.WARN))
    return doc


# -- the --apply report ---------------------------------------------------------------------------

_STATUS_STYLE = {
    "changed": d.OK,
    "unchanged": d.DIM,
    "manual": d.WARN,
    "skipped": d.DIM,
    "failed": d.BAD,
}


def render_apply(report: ApplyReport) -> Doc:
    """What ``fix --apply`` did, and the before/after check per client (pure)."""
    doc = Doc()
    doc.line(Span("Applied", d.HEAD))
    for o in report.outcomes:
        doc.line(Span(f"  {o.status:<9}", _STATUS_STYLE.get(o.status, d.DIM)), f" {o.detail}")
        for bak in o.backups:
            doc.line(Span(f"             previous version kept as {bak}", d.DIM))
    if not report.changed:
        doc.line(Span("  nothing changed: the fix was already in place", d.DIM))
    if report.before or report.after:
        doc.blank()
        doc.line(Span("Check (trust-store models)", d.HEAD))
        after = {c.client: c for c in report.after}
        env_after = {c.client: c for c in report.after_env}
        for b in report.before:
            a = after.get(b.client)
            before_txt = "trusted" if b.trusted else b.reason
            after_txt = ("trusted" if a.trusted else a.reason) if a else "?"
            mark = Span("✓", d.OK) if a and a.trusted else Span("✗", d.BAD)
            row: list[str | Span] = [
                Span(f"  {b.client:<11} "),
                mark,
                f" before: {before_txt:<20} after: {after_txt}",
            ]
            e = env_after.get(b.client)
            if e is not None and a is not None and e.trusted and not a.trusted:
                row.append(Span("  (trusted once the environment change is made)", d.WARN))
            doc.line(*row)
    doc.blank()
    if report.remaining:
        doc.line(Span("Still to do by hand", d.HEAD))
        for s in report.remaining:
            doc.line(Span("  # " + why(s), d.DIM))
            for line in step_commands(report.plan, s):
                doc.line(Span("  " + line, d.DIM if line.startswith("#") else d.BOLD))
        doc.blank()
    if report.fixed:
        doc.line(Span("✓ the cause is gone: every selected client trusts the CA", d.OK))
    else:
        doc.line(Span("✗ not fixed yet: see the remaining steps above", d.BAD))
    return doc


def next_step(plan: Plan) -> str:
    """One line for a diagnosis' ``Next:``: the first step's why and its first command."""
    step = next((s for s in plan.steps if not s.alternative), None)
    if step is None:
        if plan.notes:
            return note_text(plan.notes[0].code, plan.notes[0].params)
        return "nothing to do"
    cmds = [c for c in step_commands(plan, step) if not c.startswith("#")]
    more = " (trustdoctor fix shows every step)" if len(plan.steps) > 1 else ""
    return why(step) + (f": {cmds[0]}" if cmds else "") + more
