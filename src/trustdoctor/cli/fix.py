"""``trustdoctor fix``: the plan for a cause, and with ``--apply`` its safe execution."""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..fixes.model import ApplyReport, FixContext, Plan
    from ..model.cert import CertInfo
    from ..model.stores import ClientStore, StoreContext

DESCRIPTION = """Show the fix for a TLS trust problem, and with --apply carry it out.

Three ways to say what to fix:
  --ca ROOT.pem      make the selected clients trust this CA (each client's
                     store says why it lacks it: not installed, stale bundle,
                     an environment override, a misnamed certs.d...)
  --for TARGET       diagnose TARGET (host[:port], URL, or a chain file) first
                     and plan for the cause found
  --cause CODE       the plan for one cause of docs/causes.md

Without --apply nothing is changed: the plan is printed as shell commands
with comments.  With --apply, file steps are written atomically (temporary
file + rename, the old file kept as <file>.trustdoctor-bak), the refresh tool
is run (chroot for --root), and the clients are checked again.  It asks for
confirmation on the terminal unless --yes.  It never deletes an anchor,
never disables verification, never restarts a service.

examples:
  trustdoctor fix --ca internal-root.pem
  trustdoctor fix --ca internal-root.pem --client docker --registry reg.internal:5000 --apply
  trustdoctor fix --ca corp-root.pem --root /mnt/image-rootfs --apply --yes
  trustdoctor fix --for https://registry.internal.example.com --server nginx
  trustdoctor fix --cause stale-bundle --apply

exit codes: 0 nothing to fix / fixed, 1 a plan to carry out / not fixed yet,
2 usage or input error, refused (leaf, expired, key, unsafe path, no
confirmation), 3 could not complete (write failed, missing privileges, tool failed).
"""

PSEUDO_CLIENTS = ("kubernetes",)


def add_arguments(p: argparse.ArgumentParser) -> None:
    what = p.add_argument_group("what to fix")
    what.add_argument("--ca", metavar="ROOT.pem", help="the CA certificate the clients must trust")
    what.add_argument(
        "--for",
        dest="target",
        metavar="TARGET",
        help="diagnose TARGET (host[:port], URL or chain file) and plan for its cause",
    )
    what.add_argument("--cause", metavar="CODE", help="show the plan for one cause code")
    p.add_argument(
        "--client",
        action="append",
        default=[],
        metavar="NAME",
        help="client(s): go, openssl, curl, python, requests, node, java, docker, containerd, "
        "crio, podman, kubernetes (default: those found in the root)",
    )
    p.add_argument(
        "--server",
        action="append",
        default=[],
        metavar="NAME",
        help="server software for server-side plans: nginx, apache, haproxy, envoy, traefik, caddy",
    )
    p.add_argument(
        "--dockerfile",
        metavar="FILE",
        help="a Dockerfile to search for ENV lines setting trust variables",
    )
    act = p.add_argument_group("applying")
    act.add_argument(
        "--apply",
        action="store_true",
        help="carry out the file steps and the refresh, then re-check",
    )
    act.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    act.add_argument(
        "--force",
        action="store_true",
        help="accept a non-CA (leaf) or not-yet-valid certificate as an anchor, or a CA that does "
        "not match the diagnosed chain",
    )
    act.add_argument(
        "--no-run", action="store_true", help="write files only; print the refresh commands"
    )
    p.add_argument(
        "--timeout", type=float, default=10.0, help="seconds for --for's handshake (default 10)"
    )
    p.add_argument("--format", choices=("text", "json"), default="text")
    from .trustopts import add_trust_context_arguments

    add_trust_context_arguments(p)


# -- the CA ------------------------------------------------------------------------------------


def load_ca(path: str, *, force: bool, now: object = None) -> tuple[CertInfo, list[str]]:
    """Read ``--ca``: one certificate, no key, a CA, not expired.  Returns (cert, warnings)."""
    import datetime as dt

    from ..errors import InputError, PrivateKeyInput
    from ..model.pem import iter_pem_blocks
    from ..sources.files import load_bytes, read_source

    data = read_source(path)
    for b in iter_pem_blocks(data):
        if "PRIVATE KEY" in b.label:
            raise PrivateKeyInput(
                f"{path}: contains a private key (not shown); give only the CA certificate"
            )
    loaded = load_bytes(data, path)
    if any("private key" in n for n in loaded.notes):
        raise PrivateKeyInput(
            f"{path}: contains a private key (not shown); give only the CA certificate"
        )
    certs = [c.cert for c in loaded.certs]
    if len(certs) != 1:
        raise InputError(
            f"{path}: holds {len(certs)} certificates; give one CA certificate per run"
        )
    cert = certs[0]
    when = now if isinstance(now, dt.datetime) else dt.datetime.now(dt.UTC)
    warnings: list[str] = []
    if cert.not_after < when:
        raise InputError(
            f"{path}: {cert.display_name} expired on {cert.not_after:%Y-%m-%d}; "
            "refusing to install an expired root"
        )
    if cert.not_before > when:
        msg = f"{path}: {cert.display_name} is not valid before {cert.not_before:%Y-%m-%d}"
        if not force:
            raise InputError(msg + "; check the clock, or use --force")
        warnings.append(msg)
    not_ca = cert.is_ca is not True or (
        cert.key_usage is not None and "key_cert_sign" not in cert.key_usage
    )
    if not_ca:
        what = (
            "a leaf certificate"
            if cert.is_ca is not True
            else "a CA certificate without keyCertSign"
        )
        names = ", ".join(cert.dns_names[:3])
        msg = f"{path}: {cert.display_name} is {what}" + (f" (for {names})" if names else "")
        if not force:
            raise InputError(
                msg
                + "; installing it as a trust anchor pins one certificate: use --force for a lab"
            )
        warnings.append(msg + ": installed as an anchor because of --force")
    elif not (cert.self_issued and cert.self_signed):
        warnings.append(
            f"{path}: {cert.display_name} is an intermediate (issued by {cert.issuer}): "
            "Go and Java accept it as an anchor, OpenSSL-based clients need the root"
        )
    return cert, warnings


# -- clients ---------------------------------------------------------------------------------------


def _split_clients(values: list[str]) -> tuple[tuple[str, ...] | None, tuple[str, ...]]:
    from ..stores.inspect import check_clients

    names = [n.strip().lower() for v in values for n in v.split(",") if n.strip()]
    pseudo = tuple(n for n in names if n in PSEUDO_CLIENTS)
    real = [n for n in names if n not in PSEUDO_CLIENTS]
    if not names:
        return None, ()
    return (check_clients(real) if real else ()), pseudo


def _servers(values: list[str]) -> tuple[str, ...]:
    from ..errors import UsageError
    from ..fixes.tables import SERVERS

    out = []
    for v in values:
        for n in v.split(","):
            n = n.strip().lower()
            if not n:
                continue
            if n not in SERVERS:
                raise UsageError(f"--server {n!r}: known: {', '.join(SERVERS)}")
            out.append(n)
    return tuple(out)


# -- diagnosis for --for ---------------------------------------------------------------------------


def _diagnose(
    args: argparse.Namespace, ctx: StoreContext, stores: dict[str, ClientStore]
) -> tuple[object, str, object]:
    """Judge ``--for``: a chain file, or a live endpoint (one handshake).

    Returns (diagnosis or ``None``, the host name, the connection error when
    nothing could be judged).
    """
    from .. import api
    from ..sources.files import load_paths
    from .views import views_for

    clients = list(stores) or ["go"]
    views = views_for(ctx, clients)
    target = str(args.target)
    if os.path.exists(target):
        inputs = load_paths([target])
        diag = api.diagnose_chain(
            inputs, clients=clients, client_anchors=views.anchors, refiners=views.refiners
        )
        return diag, target, None
    from ..api.endpoint import fetch_all, judge_fetch
    from ..sources.target import parse_target

    t = parse_target(target)
    results = fetch_all(
        t,
        timeout=args.timeout,
        proxy=None,
        env=ctx.env if ctx.fs.is_host else None,
        all_addresses=False,
    )
    outcome = judge_fetch(
        t,
        results,
        clients=[(c, views.anchors[c]) for c in clients if c in views.anchors],
        refiners=views.refiners,
        reference=api.LazyReference(),
        mozilla=api.mozilla_reference,
        at=api.now(),
    )
    return outcome.diagnosis, t.servername or t.host, outcome.error


# -- run -------------------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from ..errors import UsageError
    from ..fixes.model import CaRef
    from ..fixes.planner import plan_for, plan_for_stores
    from ..stores.fixfacts import fix_context
    from ..stores.inspect import inspect_stores
    from .trustopts import env_from_args, open_trust_context

    modes = [m for m in (args.ca and not args.target, args.target, args.cause) if m]
    if not modes:
        raise UsageError("say what to fix: --ca ROOT.pem, --for TARGET or --cause CODE")
    if args.cause and args.target:
        raise UsageError("--cause and --for cannot be combined")
    if args.yes and not args.apply:
        raise UsageError("--yes only makes sense with --apply")
    clients, pseudo = _split_clients(args.client)
    servers = _servers(args.server)
    if args.dockerfile:
        # fixes.discover skips an unreadable Dockerfile silently; say so here (exit 2).
        from ..sources.files import read_source
        from ..stores.fixfacts import MAX_FILE

        read_source(args.dockerfile, max_bytes=MAX_FILE)
    ca_cert = None
    if args.ca:
        ca_cert, warnings = load_ca(args.ca, force=args.force)
        for w in warnings:
            print(f"trustdoctor: warning: {w}", file=sys.stderr)
    env_given = env_from_args(args) is not None
    if args.apply and not args.image and not args.pid:
        from ..stores.apply import sweep_stale

        for gone in sweep_stale(args.root or "/"):
            print(f"trustdoctor: removed {gone} (left by an interrupted run)", file=sys.stderr)
    with open_trust_context(args) as ctx:
        if args.apply and ctx.label.startswith("--image"):
            raise UsageError(
                "--apply cannot change an image archive: rebuild it with the Dockerfile lines "
                "shown (or extract it and use --root DIR)"
            )
        stores = inspect_stores(ctx, clients) if clients is None or clients else ()
        by_client = {s.client: s for s in stores}
        fctx = fix_context(
            ctx,
            stores,
            env_given=env_given,
            dockerfile=args.dockerfile,
            servers=servers,
            clients=tuple(by_client) + pseudo,
        )
        diag = None
        if args.target:
            diag, host, error = _diagnose(args, ctx, by_client)
            fctx = replace(fctx, host=host, target=str(args.target))
            if diag is None:
                code = getattr(error, "code", "unreachable")
                plan = plan_for(code, fctx, params={"host": host, "error": str(error)})
            else:
                plan = _plan_for_target(diag, by_client, ctx, fctx, ca_cert, args, pseudo)
        elif args.cause:
            ca_ref = CaRef.from_cert(ca_cert, args.ca) if ca_cert is not None else None
            names = list(by_client) + list(pseudo) if (args.client or pseudo) else None
            plan = plan_for(args.cause, fctx, clients=names, ca=ca_ref)
        else:
            assert ca_cert is not None
            plan = plan_for_stores(stores, ca_cert, fctx, ca_file=args.ca, extra_clients=pseudo)
        report = None
        if args.apply:
            report = _apply(args, ctx, plan, ca_cert, stores, fctx)
    _output(args, plan, report)
    if report is not None:
        return 0 if report.fixed else 1
    from ..fixes.planner import NOTE_ONLY

    # 0: nothing to do (trusted already, or a finding that needs no change);
    # 1: a plan to carry out, or a problem only a person can solve.
    return 0 if plan.empty and plan.cause in NOTE_ONLY else 1


def _plan_for_target(
    diag: object,
    by_client: dict[str, ClientStore],
    ctx: StoreContext,
    fctx: FixContext,
    ca_cert: CertInfo | None,
    args: argparse.Namespace,
    pseudo: tuple[str, ...],
) -> Plan:
    from ..engine.refine import issues
    from ..errors import InputError
    from ..fixes.planner import CLIENT_INSTALL, STORE_CAUSES, plan_for_diagnosis, plan_for_stores
    from ..model.diagnosis import Diagnosis

    assert isinstance(diag, Diagnosis)
    refusing = [v for v in diag.clients if not v.trusted]
    client_side = [v for v in refusing if v.cause in CLIENT_INSTALL | STORE_CAUSES]
    if ca_cert is not None and client_side:
        v = client_side[0]
        tops = [
            diag.certificates.get(link.sha256)
            for link in v.path
            if link.sha256 and link.role != "missing"
        ]
        top = tops[-1] if tops else None
        if top is not None and not issues(ca_cert, top) and not args.force:
            raise InputError(
                f"{args.ca}: {ca_cert.display_name} does not issue the chain's top certificate "
                f"({top.subject}, issued by {top.issuer}); use --force to install it anyway"
            )
        stores = [by_client[x.client] for x in client_side if x.client in by_client]
        return plan_for_stores(stores, ca_cert, fctx, ca_file=args.ca, extra_clients=pseudo)
    return plan_for_diagnosis(diag, by_client, ctx.distro, fctx)


def _confirm(plan: Plan, args: argparse.Namespace) -> None:
    """Show what will be written and ask on the terminal (never on a pipe)."""
    from ..errors import UsageError

    if args.yes:
        return
    lines = ["trustdoctor fix --apply will:"]
    if plan.ca is not None and plan.ca.sha256:
        lines.append(f"  install {plan.ca.name}")
        lines.append(f"    sha256 {plan.ca.fingerprint}")
    for s in plan.host_steps():
        for path in s.changes:
            lines.append(f"  write {path}" + (f" (in {plan.root})" if plan.root != "/" else ""))
        argv = s.params.get("argv")
        if isinstance(argv, list) and s.params.get("purpose") == "refresh":
            lines.append(f"  run   {' '.join(str(a) for a in argv)}")
    try:
        fd = os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY)
    except OSError:
        raise UsageError(
            "--apply asks for confirmation on a terminal and none is available: "
            "check the fingerprint and run again with --yes"
        ) from None
    try:
        os.write(fd, ("\n".join(lines) + "\nProceed? [y/N] ").encode())
        raw = b""
        while not raw.endswith(b"\n") and len(raw) < 64:
            chunk = os.read(fd, 1)
            if not chunk:
                break
            raw += chunk
        answer = raw.decode("utf-8", "replace").strip().lower()
    finally:
        os.close(fd)
    if answer not in ("y", "yes"):
        raise UsageError("not confirmed: nothing was changed")


def _needs_ca(plan: Plan) -> bool:
    from ..fixes.model import Action

    for s in plan.host_steps():
        if s.action == Action.COPY_ANCHOR and "src" in s.params:
            return True
        if s.action == Action.WRITE_FILE and s.params.get("content") == "append-ca":
            return True
        if s.action == Action.KEYTOOL_IMPORT:
            return True
    return False


def _apply(
    args: argparse.Namespace,
    ctx: StoreContext,
    plan: Plan,
    ca_cert: CertInfo | None,
    stores: tuple[ClientStore, ...],
    fctx: FixContext,
) -> ApplyReport:
    from dataclasses import replace

    from ..engine.refine import check_ca
    from ..errors import UsageError
    from ..fixes.model import Action, ApplyReport
    from ..model.findings import Code
    from ..stores.apply import apply_plan
    from ..stores.inspect import inspect_stores
    from .trustopts import open_trust_context

    if _needs_ca(plan) and (ca_cert is None or plan.ca is None or plan.ca.sha256 != ca_cert.sha256):
        raise UsageError(
            "--apply needs the CA certificate itself: give it with --ca ROOT.pem "
            "(and check its fingerprint with the CA's owner)"
        )
    if not plan.host_steps():
        return ApplyReport(
            plan,
            (),
            remaining=tuple(s for s in plan.steps if not s.alternative),
            changed=False,
            fixed=plan.empty,
        )
    _confirm(plan, args)
    before = tuple(check_ca(s, cert=ca_cert) for s in stores) if ca_cert is not None else ()
    stale = any(c.reason == Code.STALE_BUNDLE.value for c in before) or plan.cause in (
        Code.STALE_BUNDLE,
        Code.EMPTY_BUNDLE,
    )
    ca_pem = plan.ca.pem if plan.ca is not None and plan.ca.sha256 else None
    outcomes, _changed = apply_plan(
        plan, ctx.fs.root, ca_pem=ca_pem, run_tools=not args.no_run, force_refresh=stale
    )
    names = [s.client for s in stores]
    with open_trust_context(args) as ctx2:
        after_stores = inspect_stores(ctx2, names) if names else ()
        env = dict(ctx2.env)
        for s in plan.steps:
            if s.alternative:
                continue
            if s.action == Action.SET_ENV:
                env[str(s.params["name"])] = str(s.params["value"])
            elif s.action == Action.UNSET_ENV:
                env.pop(str(s.params["name"]), None)
        env_stores = (
            inspect_stores(replace(ctx2, env=env), names) if names and env != dict(ctx2.env) else ()
        )
    if ca_cert is not None:
        after = tuple(check_ca(s, cert=ca_cert) for s in after_stores)
        after_env = tuple(check_ca(s, cert=ca_cert) for s in env_stores)
        fixed = bool(after) and all(c.trusted for c in after)
    else:
        after, after_env = (), ()
        fixed = not any(f.code == plan.cause for s in after_stores for f in s.findings)
    remaining = tuple(o.step for o in outcomes if o.status == "manual")
    if remaining and ca_cert is None:
        fixed = False
    return ApplyReport(
        plan=plan,
        outcomes=tuple(outcomes),
        before=before,
        after=after,
        after_env=after_env,
        remaining=remaining,
        changed=any(o.status == "changed" for o in outcomes),
        fixed=fixed,
    )


def _output(args: argparse.Namespace, plan: Plan, report: ApplyReport | None) -> None:
    if args.format == "json":
        from ..render.plan_json import dumps, fix_document

        sys.stdout.write(dumps(fix_document(plan, report)))
        return
    from ..render.plan_text import render_apply, render_plan
    from .output import emit

    emit(render_plan(plan))
    if report is not None:
        emit(render_apply(report))
