"""``trustdoctor fix``: the plan for a cause, and with ``--apply`` its safe execution."""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..api.fix import FixReport

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

def add_arguments(p: argparse.ArgumentParser) -> None:
    from .aiaopts import add_aia_arguments
    from .netopts import add_network_arguments, add_target_arguments
    from .trustopts import add_server_argument, add_trust_context_arguments

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
        help="client(s): go, openssl, curl, python, requests, httpx, node, java, docker, "
        "containerd, crio, podman, kubelet, webpki, kubernetes (default: those found in the root)",
    )
    add_server_argument(p)
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
    reach = p.add_argument_group("reaching --for TARGET (as for diagnose)")
    add_target_arguments(reach)
    add_network_arguments(
        reach,
        timeout_help="seconds for --for's handshake (default 10)",
        proxy_help="HTTP CONNECT proxy for --for; '' for none (default: HTTPS_PROXY unless "
        "NO_PROXY)",
    )
    p.add_argument(
        "--at", metavar="ISO-8601", help="judge --for's chain at this time instead of now"
    )
    p.add_argument("--format", choices=("text", "json"), default="text")
    add_trust_context_arguments(p)
    add_aia_arguments(p, default_fetch=False)


def run(args: argparse.Namespace) -> int:
    from ..api.fix import FixRequest, apply_fix, check_applicable, plan_fix, sweep
    from ..errors import UsageError
    from .aiaopts import aia_options_from_args
    from .output import emit_report
    from .trustopts import options_from_args

    if args.yes and not args.apply:
        raise UsageError("--yes only makes sense with --apply")
    opts = options_from_args(args)
    request = FixRequest(
        ca=args.ca,
        target=args.target,
        cause=args.cause,
        clients=tuple(args.client),
        force=args.force,
        servername=args.servername,
        connect_to=args.connect_to,
        starttls=args.starttls,
        proxy=args.proxy,
        timeout=args.timeout,
        aia=aia_options_from_args(args, default_fetch=False),
    )
    if args.apply:
        for gone in sweep(opts):
            print(f"trustdoctor: removed {gone} (left by an interrupted run)", file=sys.stderr)
    from ..api.context import parse_time

    report = plan_fix(request, opts, at=parse_time(args.at) if args.at else None)
    for w in report.warnings:
        print(f"trustdoctor: warning: {w}", file=sys.stderr)
    if args.apply:
        check_applicable(report, opts)
        if report.plan.host_steps():
            _confirm(report, args)
        report = apply_fix(report, opts, run_tools=not args.no_run)
    emit_report(report, args.format)
    return report.exit_code


def _confirm(report: FixReport, args: argparse.Namespace) -> None:
    """Show what will be written and ask on the terminal (never on a pipe)."""
    from ..errors import UsageError

    plan = report.plan
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
