"""The bundle question (``trustdoctor bundle``): the chain a server should present.

The presented chain (a live handshake or a file) is judged through the same
pipeline as ``chain`` (:mod:`.chain`), the best chain every client trusts is
planned (:mod:`trustdoctor.engine.bundle`), missing issuers are fetched
through AIA when allowed (:mod:`.aia`), and the result is written atomically.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..clients import client_specs
from ..engine.aiaconfirm import confirm_missing, fetched_presented, needs_aia
from ..engine.judge import pick_leaf
from ..errors import UsageError
from ..model.diagnosis import Diagnosis, PresentedCert
from ..model.record import record
from .aia import (
    ServedChain,
    check_out_path,
    complete_issuers,
    load_served_chain,
    read_key_file,
    write_bundle,
)
from .context import Clients, TrustOptions
from .reference import LazyReference

if TYPE_CHECKING:
    from ..engine.bundle import BundlePlan, PrivateKeys
    from ..engine.policies import Policy
    from ..render.doc import Doc
    from ..sources.aia import AiaCompletion, AiaOptions

__all__ = ["DEFAULT_BUNDLE_CLIENTS", "BundleResult", "make_bundle", "plan_served"]


@record
class BundleResult:
    """Everything ``trustdoctor bundle`` reports.

    Attributes:
        plan: the chain to serve and why (:class:`trustdoctor.engine.bundle.BundlePlan`).
        today: the presented chain judged as it is, with the serve-side
            checks, confirmed through AIA when issuers were fetched.
        completion: the AIA search, or ``None`` when none was needed/allowed.
        served: where the presented chain came from.
        keys: the ``--key`` checked against the leaf.
        written: the file written (``--out``), when the chain was usable.
    """

    plan: BundlePlan
    today: Diagnosis
    completion: AiaCompletion | None
    served: ServedChain
    keys: PrivateKeys | None = None
    written: str | None = None

    @property
    def key_ok(self) -> bool:
        """No ``--key``, or it matches the leaf."""
        return self.keys is None or self.keys.matches(self.plan.chain[0].cert)

    @property
    def ok(self) -> bool:
        """A chain every client trusts, served with the key given: usable as is."""
        return self.plan.ok and self.key_ok

    def to_dict(self) -> dict[str, Any]:
        """The JSON document ``bundle --format json`` prints."""
        from ..render.bundle import bundle_to_dict

        return bundle_to_dict(self)

    def to_text(self) -> Doc:
        from ..render.bundle import render_bundle

        return render_bundle(self)


# Clients a bundle must satisfy by default, besides the clients found where
# the options say (none with --trust).
DEFAULT_BUNDLE_CLIENTS = ("go", "openssl", "webpki")


def make_bundle(
    source: str,
    *,
    clients: Sequence[str] | str | None = None,
    options: TrustOptions | None = None,
    intermediates: Sequence[str] = (),
    include_root: bool = False,
    aia: AiaOptions | None = None,
    at: dt.datetime | None = None,
    servername: str | None = None,
    connect_to: str | None = None,
    starttls: str | None = None,
    timeout: float = 10.0,
    proxy: str | None = None,
    key: str | None = None,
    key_password_file: str | None = None,
    out: str | None = None,
) -> BundleResult:
    """Plan the chain ``source`` (a target or a file) should serve (``trustdoctor bundle``).

    Every input the user can get wrong (``--out``, ``--key``, ``--trust``,
    ``--intermediates``) is checked before any network work.  The chain is
    written to ``out`` only when every client trusts it and the key matches.
    """
    from ..model.record import replace as _replace
    from .chain import load_inputs
    from .context import (
        aia_route,
        client_set,
        load_trust_paths,
        network_env,
        now,
        open_context,
        select_clients,
        trust_label,
    )

    opts = options or TrustOptions()
    opts.check()
    paths = [t for t in opts.trust if isinstance(t, str)]
    protect = [*(x for x in (key, key_password_file) if x), *paths]
    if out is not None:
        check_out_path(out, protect=protect)
    if key_password_file and not key:
        raise UsageError("--key-password-file needs --key")
    keys = read_key_file(key, password_file=key_password_file) if key else None
    when = at or now()
    requested = select_clients(clients, None, default=())
    anchors = load_trust_paths(opts.trust, password=opts.password) if opts.trust else None
    supplied = [pc for item in load_inputs(intermediates, opts.password) for pc in item.certs]
    with open_context(opts, when) as ctx:
        served = load_served_chain(
            source,
            password=opts.password,
            timeout=timeout,
            proxy=proxy,
            environ=network_env(opts, ctx),
            servername=servername,
            connect_to=connect_to,
            starttls=starttls,
        )
        names = requested
        if not names:
            names = DEFAULT_BUNDLE_CLIENTS
            if ctx is not None:
                found = select_clients(None, ctx)
                names = (*names, *(c for c in found if c not in names))
        cs = client_set(
            names,
            ctx=ctx,
            trust=anchors,
            trust_source=trust_label(opts.trust),
            versions=client_specs(clients)[1],
        )
        aia = aia_route(aia, opts, ctx, proxy)
    result = plan_served(
        served,
        cs,
        at=when,
        supplied=supplied,
        include_root=include_root,
        aia=aia,
    )
    result = _replace(result, keys=keys)
    if result.ok and out is not None:
        result = _replace(result, written=str(write_bundle(out, result.plan.pem, protect=protect)))
    return result


def plan_served(
    served: ServedChain,
    clients: Clients,
    *,
    at: dt.datetime,
    supplied: Sequence[PresentedCert] = (),
    include_root: bool = False,
    aia: AiaOptions | None = None,
    policies: Mapping[str, Policy] | None = None,
) -> BundleResult:
    """Plan the chain to serve for ``served``; fetch missing issuers when needed.

    AIA is consulted only when the presented and supplied certificates do not
    already give a chain every client trusts (and ``aia`` is given).  "Today"
    is what the server sends, alone, through the same judging pipeline as
    ``chain``: supplied certificates are context for the serve checks, not
    something clients receive.
    """
    from ..engine.bundle import plan_bundle
    from .chain import judge_presented

    pairs = list(clients.pairs)
    policies = {**clients.policies, **(policies or {})}
    presented = served.presented
    li = pick_leaf(presented)
    leaf = presented[li].cert
    plan = plan_bundle(
        leaf,
        presented=presented,
        supplied=supplied,
        clients=pairs,
        at=at,
        include_root=include_root,
        policies=policies,
    )
    completion: AiaCompletion | None = None
    if not plan.ok and aia is not None:
        refusing = {r.client for r in plan.clients if not r.trusted}
        pool = [p.cert for i, p in enumerate(presented) if i != li]
        pool += [p.cert for p in supplied]
        completion = complete_issuers(
            leaf, pool, [a for n, a in pairs if n in refusing], options=aia
        )
        fetched = fetched_presented(completion)
        if fetched:
            plan = plan_bundle(
                leaf,
                presented=presented,
                supplied=supplied,
                fetched=fetched,
                clients=pairs,
                at=at,
                include_root=include_root,
                policies=policies,
            )
    today = judge_presented(
        presented,
        clients,
        at=at,
        host=None,
        leaf_index=li,
        known=supplied,
    )
    if completion is not None and needs_aia(today):
        today = confirm_missing(
            today,
            completion,
            clients=pairs,
            reference=LazyReference(),
            refiners=clients.refiners,
            policies=policies,
            explicit_anchors=clients.explicit,
        )
    return BundleResult(plan=plan, today=today, completion=completion, served=served)
