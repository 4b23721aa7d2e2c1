"""The fix question (``trustdoctor fix``): the plan for a CA, a target or a cause,
and its safe execution.

The plan for ``--for TARGET`` is the plan ``diagnose TARGET`` (or ``chain
FILE``) shows under its verdict: the same pipeline makes both.  The plan for
``--ca ROOT`` is the plan ``stores --ca ROOT`` shows.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..clients import CLIENTS, check_clients
from ..errors import InputError, PrivateKeyInput, UsageError
from ..model.record import record, replace
from .context import TrustOptions, client_set, fix_context, now, open_context

if TYPE_CHECKING:
    from ..fixes.model import ApplyReport, FixContext, Plan
    from ..model.cert import CertInfo
    from ..model.stores import ClientStore, StoreContext
    from ..render.doc import Doc
    from ..sources.aia import AiaOptions
    from .chain import ChainReport
    from .endpoint import EndpointReport


@record
class FixReport:
    """The answer to ``trustdoctor fix``.

    Attributes:
        plan: the plan.
        diagnosis: for ``--for``, the diagnosis the plan answers.
        applied: for ``--apply``, what was done and the re-check.
        ca: the CA certificate given with ``--ca``.
        warnings: remarks about the CA (``--force`` accepted a leaf...).
    """

    plan: Plan
    diagnosis: ChainReport | EndpointReport | None = None
    applied: ApplyReport | None = None
    ca: CertInfo | None = None
    warnings: tuple[str, ...] = ()

    @property
    def exit_code(self) -> int:
        """0 nothing to do / fixed, 1 a plan to carry out / not fixed yet."""
        if self.applied is not None:
            return 0 if self.applied.fixed else 1
        from ..fixes.planner import NOTE_ONLY

        return 0 if self.plan.empty and self.plan.cause in NOTE_ONLY else 1

    def to_dict(self) -> dict[str, Any]:
        """The JSON document ``fix --format json`` prints."""
        from ..render.plan_json import fix_document

        return fix_document(self.plan, self.applied)

    def to_text(self) -> Doc:
        """The plan as commented shell commands, and what ``--apply`` did."""
        from ..render.plan_text import render_apply, render_plan

        doc = render_plan(self.plan)
        if self.applied is not None:
            doc.lines.extend(render_apply(self.applied).lines)
        return doc


# -- the CA ------------------------------------------------------------------------------


def load_ca(path: str, *, force: bool, at: dt.datetime) -> tuple[CertInfo, list[str]]:
    """Read ``--ca``: one certificate, no key, a CA, not expired.  Returns (cert, warnings)."""
    from ..model.pem import iter_pem_blocks
    from ..sources.files import load_bytes, read_source

    data = read_source(path)
    key_msg = f"{path}: contains a private key (not shown); give only the CA certificate"
    if any("PRIVATE KEY" in b.label for b in iter_pem_blocks(data)):
        raise PrivateKeyInput(key_msg)
    loaded = load_bytes(data, path)
    if any("private key" in n for n in loaded.notes):
        raise PrivateKeyInput(key_msg)
    certs = [c.cert for c in loaded.certs]
    if len(certs) != 1:
        raise InputError(
            f"{path}: holds {len(certs)} certificates; give one CA certificate per run"
        )
    cert = certs[0]
    warnings: list[str] = []
    if cert.not_after < at:
        raise InputError(
            f"{path}: {cert.display_name} expired on {cert.not_after:%Y-%m-%d}; "
            "refusing to install an expired root"
        )
    if cert.not_before > at:
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


# -- planning ----------------------------------------------------------------------------


@record
class FixRequest:
    """What ``trustdoctor fix`` was asked (exactly one of ``ca``/``target``/``cause``
    names the subject; ``ca`` may accompany ``target``)."""

    ca: str | None = None
    target: str | None = None
    cause: str | None = None
    clients: tuple[str, ...] = ()
    force: bool = False
    # --for TARGET: how to reach it, as for diagnose.
    servername: str | None = None
    connect_to: str | None = None
    starttls: str | None = None
    proxy: str | None = None
    timeout: float = 10.0
    aia: AiaOptions | None = None


def _split_clients(values: Sequence[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(verifying clients, fix-only targets such as ``kubernetes``)."""
    names = check_clients(values, allowed=tuple(CLIENTS))
    pseudo = tuple(n for n in names if CLIENTS[n].policy is None)
    return tuple(n for n in names if n not in pseudo), pseudo


def plan_fix(
    request: FixRequest,
    options: TrustOptions | None = None,
    *,
    at: dt.datetime | None = None,
) -> FixReport:
    """The plan for ``request`` where ``options`` says the clients are."""
    opts = options or TrustOptions()
    opts.check()
    given = [m for m in (request.target, request.cause) if m]
    if not (given or request.ca):
        raise UsageError("say what to fix: --ca ROOT.pem, --for TARGET or --cause CODE")
    if request.cause and request.target:
        raise UsageError("--cause and --for cannot be combined")
    if opts.dockerfile:
        # The fact reader skips an unreadable Dockerfile silently; say so here (exit 2).
        from ..sources.files import read_source
        from ..stores.fixfacts import MAX_FILE

        read_source(opts.dockerfile, max_bytes=MAX_FILE)
    when = at or now()
    real, pseudo = _split_clients(request.clients)
    ca_cert: CertInfo | None = None
    warnings: list[str] = []
    if request.ca:
        ca_cert, warnings = load_ca(request.ca, force=request.force, at=when)
    if request.target:
        report = _plan_for_target(request, opts, real, pseudo, ca_cert, when)
        return replace(report, warnings=tuple(warnings))
    with open_context(opts, when) as ctx:
        assert ctx is not None
        # --cause env-override plans the unset whatever the stores say: a
        # cause asked for reads where the variables are set.
        origins = True if request.cause else None
        stores, fix = _stores_and_facts(
            ctx, real, pseudo, opts, when, request.clients, origins=origins
        )
        if request.cause:
            from ..fixes import plan_for
            from ..fixes.model import CaRef

            ca_ref = CaRef.from_cert(ca_cert, request.ca) if ca_cert is not None else None
            names = [s.client for s in stores] + list(pseudo) if request.clients else None
            plan = plan_for(request.cause, fix, clients=names, ca=ca_ref)
        else:
            from .stores import ca_plan

            assert ca_cert is not None
            plan = ca_plan(stores, ca_cert, fix, ca_file=request.ca, extra_clients=pseudo)
    return FixReport(plan, ca=ca_cert, warnings=tuple(warnings))


def _stores_and_facts(
    ctx: StoreContext,
    real: tuple[str, ...],
    pseudo: tuple[str, ...],
    opts: TrustOptions,
    at: dt.datetime,
    asked: Sequence[str],
    *,
    origins: bool | None = None,
) -> tuple[tuple[ClientStore, ...], FixContext]:
    from ..stores import inspect_stores

    # --client kubernetes alone: no local store is read.
    stores = inspect_stores(ctx, real or None) if (real or not asked) else ()
    cs = client_set((), ctx=ctx)
    cs = replace(cs, stores={s.client: s for s in stores})
    plan_clients = (*(s.client for s in stores), *pseudo)
    return stores, fix_context(cs, opts, at=at, plan_clients=plan_clients, origins=origins)


def _plan_for_target(
    request: FixRequest,
    opts: TrustOptions,
    real: tuple[str, ...],
    pseudo: tuple[str, ...],
    ca_cert: CertInfo | None,
    at: dt.datetime,
) -> FixReport:
    """``--for``: the diagnosis (a chain file, or an endpoint) and its plan.

    Without ``--ca`` the plan is the diagnosis' own.  With ``--ca`` and a
    client-side cause, the plan installs that CA (after checking it issues
    the chain) in the stores of the clients that refuse.
    """
    target = str(request.target)
    diagnosis: ChainReport | EndpointReport
    if os.path.exists(target):
        from .chain import diagnose_chain

        diagnosis = diagnose_chain([target], clients=real or None, options=opts, at=at)
    else:
        from .endpoint import diagnose_endpoint

        diagnosis = diagnose_endpoint(
            target,
            clients=real or None,
            options=opts,
            servername=request.servername,
            connect_to=request.connect_to,
            starttls=request.starttls,
            proxy=request.proxy,
            timeout=request.timeout,
            at=at,
            aia=request.aia,
        )
    diag = diagnosis.diagnosis
    plan = diagnosis.plan
    if diag is None:
        assert plan is not None, "a connection error carries its plan"
        return FixReport(plan, diagnosis, ca=ca_cert)
    if plan is None:
        from ..fixes import plan_for

        return FixReport(plan_for(diag, None), diagnosis, ca=ca_cert)  # trusted: nothing to do
    from ..fixes.planner import CLIENT_INSTALL, STORE_CAUSES

    refusing = [v for v in diag.clients if not v.trusted]
    client_side = [v for v in refusing if v.cause in CLIENT_INSTALL | STORE_CAUSES]
    if ca_cert is None or not client_side:
        if pseudo:
            plan = _with_pseudo(plan, pseudo, diag, opts, at, ca_cert, request.ca)
        return FixReport(plan, diagnosis, ca=ca_cert)
    from ..engine.refine import issues

    v = client_side[0]
    tops = [diag.certificates.get(x.sha256) for x in v.path if x.sha256 and x.role != "missing"]
    top = tops[-1] if tops else None
    if top is not None and not issues(ca_cert, top) and not request.force:
        raise InputError(
            f"{request.ca}: {ca_cert.display_name} does not issue the chain's top certificate "
            f"({top.subject}, issued by {top.issuer}); use --force to install it anyway"
        )
    from .stores import ca_plan

    when = at
    with open_context(opts, when) as ctx:
        assert ctx is not None
        names = tuple(x.client for x in client_side)
        cs = client_set(names, ctx=ctx)
        stores = tuple({id(s): s for s in cs.stores.values()}.values())
        fix = fix_context(cs, opts, at=when, plan_clients=(*names, *pseudo))
        plan = ca_plan(stores, ca_cert, fix, ca_file=request.ca, extra_clients=pseudo)
    return FixReport(plan, diagnosis, ca=ca_cert)


def _with_pseudo(
    plan: Plan,
    pseudo: tuple[str, ...],
    diag: Any,
    opts: TrustOptions,
    at: dt.datetime,
    ca_cert: CertInfo | None,
    ca_file: str | None,
) -> Plan:
    """``--client kubernetes`` next to a diagnosis: the node-wide rollout too."""
    from ..fixes import merge_plans, plan_for
    from ..fixes.model import CaRef
    from ..model.findings import Code

    if not any(not v.trusted and v.cause == Code.UNTRUSTED_ROOT for v in diag.clients):
        return plan
    ca = CaRef.from_cert(ca_cert, ca_file) if ca_cert is not None else None
    ctx = plan.context
    extra = [plan_for(Code.UNTRUSTED_ROOT, ctx, client=c, ca=ca) for c in pseudo]
    return merge_plans([plan, *extra])


# -- applying ------------------------------------------------------------------------------


def needs_ca(plan: Plan) -> bool:
    """The plan writes the CA itself somewhere: ``--apply`` needs the certificate."""
    from ..fixes.model import Action

    for s in plan.host_steps():
        if s.action == Action.COPY_ANCHOR and "src" in s.params:
            return True
        if s.action == Action.WRITE_FILE and s.params.get("content") == "append-ca":
            return True
        if s.action == Action.KEYTOOL_IMPORT:
            return True
    return False


def check_applicable(report: FixReport, opts: TrustOptions) -> None:
    """What ``--apply`` refuses, before asking anything."""
    if opts.image:
        raise UsageError(
            "--apply cannot change an image archive: rebuild it with the Dockerfile lines "
            "shown (or extract it and use --root DIR)"
        )
    plan, ca = report.plan, report.ca
    if needs_ca(plan) and (ca is None or plan.ca is None or plan.ca.sha256 != ca.sha256):
        raise UsageError(
            "--apply needs the CA certificate itself: give it with --ca ROOT.pem "
            "(and check its fingerprint with the CA's owner)"
        )


def sweep(opts: TrustOptions) -> list[str]:
    """Remove temporary files a killed ``--apply`` left in the root's store directories."""
    if opts.image or opts.pid:
        return []
    from ..stores.apply import sweep_stale

    return sweep_stale(opts.root or "/")


def apply_fix(
    report: FixReport,
    options: TrustOptions,
    *,
    run_tools: bool = True,
    at: dt.datetime | None = None,
) -> FixReport:
    """Carry out the host steps of ``report.plan`` (files atomically, the refresh
    tool), then judge the clients again.  Confirmation is the caller's business."""
    from ..engine.refine import check_ca
    from ..fixes.model import Action, ApplyReport
    from ..model.findings import Code
    from ..stores import inspect_stores
    from ..stores.apply import apply_plan

    opts = options
    check_applicable(report, opts)
    plan, ca_cert = report.plan, report.ca
    if not plan.host_steps():
        applied = ApplyReport(
            plan,
            (),
            remaining=tuple(s for s in plan.steps if not s.alternative),
            changed=False,
            fixed=plan.empty,
        )
        return replace(report, applied=applied)
    when = at or now()
    with open_context(opts, when) as ctx:
        assert ctx is not None
        models = (CLIENTS[c].model for c in plan.clients if c in CLIENTS)
        names = list(dict.fromkeys(m for m in models if CLIENTS[m].store is not None))
        before_stores = inspect_stores(ctx, names) if names else ()
        root = str(ctx.fs.root)
    before = tuple(check_ca(s, cert=ca_cert) for s in before_stores) if ca_cert else ()
    stale = any(c.reason == Code.STALE_BUNDLE.value for c in before) or plan.cause in (
        Code.STALE_BUNDLE,
        Code.EMPTY_BUNDLE,
    )
    ca_pem = plan.ca.pem if plan.ca is not None and plan.ca.sha256 else None
    outcomes, _changed = apply_plan(
        plan, root, ca_pem=ca_pem, run_tools=run_tools, force_refresh=stale
    )
    with open_context(opts, when) as ctx2:
        assert ctx2 is not None
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
    applied = ApplyReport(
        plan=plan,
        outcomes=tuple(outcomes),
        before=before,
        after=after,
        after_env=after_env,
        remaining=remaining,
        changed=any(o.status == "changed" for o in outcomes),
        fixed=fixed,
    )
    return replace(report, applied=applied)
