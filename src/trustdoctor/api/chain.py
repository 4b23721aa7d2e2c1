"""The chain question: certificates from files, judged for each client.

:func:`judge_presented` then :func:`finish` are the one judging pipeline
every question runs (``chain``, ``diagnose`` per distinct chain, ``fix
--for``, the lab): the engine with the clients' anchors and refiners, the
serve-side checks, an optional adjustment (interception, for endpoints), the
AIA confirmation, and the fix plan.  :func:`diagnose_chain` is ``trustdoctor chain``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

from ..clients import client_specs
from ..engine.judge import judge, pick_leaf
from ..engine.servechecks import serve_findings
from ..errors import InputError
from ..model.diagnosis import Diagnosis, PresentedCert
from ..model.findings import Finding
from ..model.record import record
from .context import (
    Clients,
    TrustOptions,
    aia_route,
    client_set,
    fix_context,
    load_trust_paths,
    now,
    open_context,
    select_clients,
    trust_label,
)
from .reference import LazyReference

TYPE_CHECKING = False  # typing's constant, without importing typing (model/record.py)
if TYPE_CHECKING:
    from typing import Any

    from ..fixes.model import FixContext, Plan
    from ..render.doc import Doc
    from ..sources.aia import AiaCompletion, AiaOptions
    from ..sources.files import Loaded


@record
class Judged:
    """A presented chain judged for a set of clients, and what fixes it.

    Attributes:
        diagnosis: the verdict per client, the findings, the certificates.
        plan: the fix plan when some client refuses (``None`` when trusted).
        completion: the AIA search, when issuers were looked up.
    """

    diagnosis: Diagnosis
    plan: Plan | None
    completion: AiaCompletion | None = None


def judge_presented(
    presented: Sequence[PresentedCert],
    clients: Clients,
    *,
    at: dt.datetime,
    host: str | None,
    supplied: Sequence[PresentedCert] = (),
    leaf_index: int | None = None,
    extra: Sequence[Finding] = (),
    adjust: Callable[[Diagnosis], Diagnosis] | None = None,
    known: Sequence[PresentedCert] = (),
) -> Diagnosis:
    """The engine with the clients' anchors and refiners, plus the serve-side
    checks; ``adjust`` refines the result (interception, for endpoints).

    ``supplied`` are untrusted intermediates the clients may use; ``known``
    are certificates only the serve-side checks consider (``bundle`` judges
    what the server sends today, alone).
    """
    li = pick_leaf(presented) if leaf_index is None else leaf_index
    serve = serve_findings(
        list(presented),
        at=at,
        anchors=[a for _, a in clients.pairs],
        supplied=[*supplied, *known],
        leaf_index=li,
    )
    diag = judge(
        presented,
        clients=clients.pairs,
        at=at,
        host=host,
        supplied=supplied,
        reference=LazyReference(),
        refiners=clients.refiners,
        leaf_index=leaf_index,
        extra_findings=[*clients.findings, *extra, *serve],
        explicit_anchors=clients.explicit,
        policies=clients.policies,
    )
    return adjust(diag) if adjust is not None else diag


def confirm(
    diag: Diagnosis, clients: Clients, *, aia: AiaOptions | None
) -> tuple[Diagnosis, AiaCompletion | None]:
    """Confirm a missing issuer through AIA when allowed (``aia``) and needed;
    the diagnosis as it stands otherwise."""
    if aia is None:
        return diag, None
    from ..engine.aiaconfirm import needs_aia

    if not needs_aia(diag):
        return diag, None
    from .aia import confirm_with_aia

    confirmed = confirm_with_aia(
        diag,
        clients.pairs,
        options=aia,
        reference=LazyReference(),
        refiners=clients.refiners,
        policies=clients.policies,
        explicit_anchors=clients.explicit,
    )
    return confirmed.diagnosis, confirmed.completion


def finish(
    diag: Diagnosis,
    clients: Clients,
    *,
    aia: AiaOptions | None,
    fix: Callable[[], FixContext] | None,
) -> Judged:
    """Confirm a missing issuer through AIA (when allowed), then plan the fix.

    ``fix`` gives the planners' context, read only when a plan is needed
    (``None``: no plan is made).
    """
    diag, completion = confirm(diag, clients, aia=aia)
    plan = None
    if fix is not None and not diag.verdict.trusted:
        from ..fixes import plan_for_diagnosis

        plan = plan_for_diagnosis(diag, clients.stores, clients.distro, fix())
    return Judged(diag, plan, completion)


@record
class ChainReport:
    """The answer to ``trustdoctor chain``.

    Attributes:
        diagnosis: the judged chain.
        plan: the fix plan (``None`` when every client trusts the chain).
        notes: remarks from reading the inputs (a private key skipped...).
        completion: the AIA search, when ``--fetch``/``--cache`` looked issuers up.
    """

    diagnosis: Diagnosis
    plan: Plan | None
    notes: tuple[str, ...] = ()
    completion: AiaCompletion | None = None

    @property
    def trusted(self) -> bool:
        return self.diagnosis.verdict.trusted

    def to_dict(self) -> dict[str, Any]:
        """The JSON document ``chain --format json`` prints (docs/json-schema.md)."""
        from ..render.json import diagnosis_to_dict
        from ..render.plan_json import plan_to_dict

        extra = {"plan": plan_to_dict(self.plan)} if self.plan is not None else None
        return diagnosis_to_dict(self.diagnosis, kind="chain", extra=extra)

    def to_text(self) -> Doc:
        """The report ``chain`` prints for people."""
        from ..render.text import render_diagnosis

        return render_diagnosis(self.diagnosis, plan=self.plan)


def diagnose_chain(
    inputs: Sequence[Loaded | str],
    *,
    intermediates: Sequence[Loaded | str] = (),
    host: str | None = None,
    at: dt.datetime | None = None,
    clients: Sequence[str] | str | None = None,
    options: TrustOptions | None = None,
    trust: Sequence[str | Loaded] = (),
    aia: AiaOptions | None = None,
) -> ChainReport:
    """Judge certificates from files (``trustdoctor chain``).

    Args:
        inputs: loaded inputs or paths (``-``: stdin); the first input's first
            certificate is the leaf unless the input is clearly root-first.
        intermediates: extra untrusted intermediates (loaded or paths).
        host: the peer name to check.
        at: evaluation time (default: now).
        clients: the client models, in priority order (default: go, openssl, webpki).
        options: where the clients are (default: this host), or ``trust``.
        trust: anchor files/directories (or loaded inputs) replacing the clients' stores
            (shorthand for ``options=TrustOptions(trust=...)``).
        aia: fetch missing issuers through AIA (``--fetch``/``--cache``).

    Raises:
        InputError, UsageError: unreadable or unusable inputs and options (exit 2).
    """
    from ..model.record import replace

    opts = options or TrustOptions()
    if trust:
        opts = replace(opts, trust=tuple(trust))
    opts.check(network=False)
    when = at or now()
    loaded = load_inputs(inputs, opts.password)
    presented = [pc for item in loaded for pc in item.certs]
    if not presented:
        raise InputError("no certificate to judge")
    supplied = [pc for item in load_inputs(intermediates, opts.password) for pc in item.certs]
    from ..clients import DEFAULT_CHAIN_CLIENTS

    names = select_clients(clients, None, default=DEFAULT_CHAIN_CLIENTS)
    anchors = load_trust_paths(opts.trust, password=opts.password) if opts.trust else None
    with open_context(opts, when) as ctx:
        cs = client_set(
            names,
            ctx=ctx,
            trust=anchors,
            trust_source=trust_label(opts.trust),
            versions=client_specs(clients)[1],
        )
        diag = judge_presented(presented, cs, at=when, host=host, supplied=supplied)
        judged = finish(
            diag,
            cs,
            aia=aia_route(aia, opts, ctx, None),
            fix=lambda: fix_context(cs, opts, at=when, host=host, plan_clients=names),
        )
    notes = tuple(n for item in loaded for n in item.notes)
    return ChainReport(judged.diagnosis, judged.plan, notes, judged.completion)


def load_inputs(items: Sequence[Loaded | str], password: bytes | None) -> list[Loaded]:
    """Loaded inputs, loading the paths among them (``-``: stdin, at most once)."""
    from ..sources.files import load_paths

    paths = [i for i in items if isinstance(i, str)]
    if paths.count("-") > 1:
        from ..errors import UsageError

        raise UsageError("stdin (-) can be given only once")
    loaded = iter(load_paths(paths, password=password)) if paths else iter(())
    return [next(loaded) if isinstance(i, str) else i for i in items]
