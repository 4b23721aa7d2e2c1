"""The store question (``trustdoctor stores``): what each client trusts, and
whether it trusts a given CA (the compliance check), with the fix when not."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..clients import check_clients, env_variables, modelled
from ..errors import InputError, UsageError
from ..model.record import record
from ..model.stores import ClientStore, StoresReport
from .context import TrustOptions, fix_context, model_policy, now, open_context

if TYPE_CHECKING:
    from ..fixes.model import FixContext, Plan
    from ..model.cert import CertInfo
    from ..model.stores import StoreContext
    from ..render.doc import Doc


@record
class StoresAnswer:
    """The answer to ``trustdoctor stores``.

    Attributes:
        report: the inventory and the CA checks.
        plan: with ``--ca``, the plan making every selected client trust it
            (``None`` when every client trusts it already, or without ``--ca``).
        cas: the certificates asked about (``--ca`` files and directories), in
            the order of ``report.checks``; a ``--fingerprint`` has none.
        signature: :func:`store_signature` of what the inspection read, taken
            right after it (compare a later signature to know whether the
            answer still holds).
    """

    report: StoresReport
    plan: Plan | None = None
    cas: tuple[CertInfo, ...] = ()
    signature: str | None = None

    @property
    def compliant(self) -> bool:
        """Every selected client trusts every CA asked about."""
        return all(c.trusted for group in self.report.checks for c in group)

    def to_dict(self, *, anchors: bool = False) -> dict[str, Any]:
        """The JSON document ``stores --format json`` prints (``--anchors``: every anchor)."""
        from ..render.plan_json import plan_to_dict
        from ..render.stores_json import stores_to_dict

        data = stores_to_dict(self.report, anchors=anchors)
        if self.plan is not None:
            data["plan"] = plan_to_dict(self.plan)
        return data

    def to_text(self) -> Doc:
        """The inventory for people, and the Fix section for a ``--ca`` some client lacks."""
        from ..render.stores_text import render_stores

        doc = render_stores(self.report)
        if self.plan is not None:
            from ..render.plan_text import render_fix_section

            doc.blank()
            doc.lines.extend(render_fix_section(self.plan).lines)
        return doc


def load_cas(path: str) -> list[CertInfo]:
    """The CA certificate(s) of ``--ca FILE`` or of every file of a directory
    of roots (one-line errors, exit 2)."""
    import os

    from ..sources.files import certs_of, load_paths

    if os.path.isdir(path):
        from .context import load_trust_paths

        return [a.cert for a in load_trust_paths([path])]
    cas = certs_of(load_paths([path]))
    if not cas:
        raise InputError(f"{path}: no certificate found")
    return cas


def _many(value: str | Sequence[str] | None) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def inspect_stores(
    clients: Sequence[str] | str | None = None,
    *,
    options: TrustOptions | None = None,
    ca: str | Sequence[str] | None = None,
    fingerprint: str | Sequence[str] | None = None,
    at: dt.datetime | None = None,
) -> StoresAnswer:
    """What each client trusts where ``options`` says the clients are (default:
    this host); with ``ca`` (files or directories of roots) or ``fingerprint``
    (one or several), whether each trusts each of them.  The plan is made for
    the first CA of the first file.

    Raises:
        UsageError, InputError: bad options or an unusable ``--ca`` (exit 2).
    """
    from ..engine.refine import CaCheck, check_ca, normalize_fingerprint

    opts = options or TrustOptions()
    if opts.trust:
        raise UsageError("stores reads the clients' own stores: --trust does not apply")
    names = check_clients(clients, allowed=modelled()) or None
    ca_files = _many(ca)
    cas: list[CertInfo] = []
    for f in ca_files:
        cas += [c for c in load_cas(f) if c.sha256 not in {x.sha256 for x in cas}]
    fps: list[str] = []
    for given in _many(fingerprint):
        fp = normalize_fingerprint(given)
        if fp is None:
            raise UsageError(f"--fingerprint {given!r}: expected 64 hex digits (SHA-256)")
        if fp not in fps and fp not in {c.sha256 for c in cas}:
            fps.append(fp)
    when = at or now()
    from ..stores import inspect_stores as models
    from ..stores.signature import signature

    with open_context(opts, when) as ctx:
        assert ctx is not None
        stores = models(ctx, names)
        sig = signature(ctx, stores)
        checks: list[tuple[CaCheck, ...]] = [
            tuple(check_ca(s, cert=c) for s in stores) for c in cas
        ]
        for fp in fps:
            checks.append(tuple(check_ca(s, fingerprint=fp) for s in stores))
        report = StoresReport(
            root=ctx.label,
            distro=ctx.distro,
            stores=stores,
            env_keys=tuple(k for k in env_variables() if ctx.env.get(k)),
            env_origin=ctx.env_origin,
            env_given=opts.env is not None,
            registry=ctx.registry,
            versions={s.client: model_policy(s.client, ctx).version or "" for s in stores},
            checks=tuple(checks),
        )
        plan = None
        if cas and not all(c.trusted for c in checks[0]):
            plan = ca_plan(stores, cas[0], _facts(ctx, stores, opts, when), ca_file=ca_files[0])
    return StoresAnswer(report, plan, tuple(cas), sig)


def store_signature(
    options: TrustOptions | None, stores: Sequence[ClientStore], *, at: dt.datetime | None = None
) -> str:
    """A digest of every file, directory, daemon and variable ``stores`` were read
    from, where ``options`` says the clients are: equal digests mean an
    inspection would read the same things (``stores.signature``).  Costs a few
    ``stat`` calls, no certificate parsing: the exporter asks it on every scrape.
    """
    from ..stores.signature import signature

    opts = options or TrustOptions()
    with open_context(opts, at or now()) as ctx:
        assert ctx is not None
        return signature(ctx, stores)


def _facts(
    ctx: StoreContext, stores: Sequence[ClientStore], opts: TrustOptions, at: dt.datetime
) -> FixContext:
    from .context import Clients

    cs = Clients(
        tuple(s.client for s in stores), (), stores={s.client: s for s in stores}, context=ctx
    )
    return fix_context(cs, opts, at=at, plan_clients=cs.names)


def ca_plan(
    stores: Sequence[ClientStore],
    ca: CertInfo,
    fix: FixContext,
    *,
    ca_file: str | None,
    extra_clients: Sequence[str] = (),
) -> Plan:
    """The plan making every client of ``stores`` trust ``ca``: each store's reason
    for lacking it picks its part (``stores --ca`` and ``fix --ca`` show this plan)."""
    from ..fixes import plan_for_stores

    return plan_for_stores(stores, ca, fix, ca_file=ca_file, extra_clients=extra_clients)
