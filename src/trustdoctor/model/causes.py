"""The cause catalogue as data: one row per finding code (pure).

A cause is one row: who must act (``side``), how it is fixed (``route``, the
kind of plan ``fixes/planner.py`` makes), whether it means "no path to an
anchor" (then store evidence or an interception CA may explain it better, and
the missing-issuer question applies), and whether fetching the missing issuer
through AIA can confirm it.  Every :class:`~trustdoctor.model.findings.Code`
has exactly one row (tests/engine/test_causes.py); docs/causes.md describes
each one.  Adding a cause: the code (model/findings.py), its row here, its
words (render/words.py), its plan (fixes/), and where it is detected.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from .findings import Code, Side
from .record import record


class Route(StrEnum):
    """The kind of fix a cause needs."""

    INSTALL = "install"  # make the client trust a CA
    STORE = "store"  # repair how the client reads its store (rebuild, env, daemon dir, restart)
    SERVE = "serve"  # serve the right chain
    REISSUE = "reissue"  # issue a new certificate
    NETWORK = "network"  # reach the endpoint (DNS, port, proxy, TLS)
    NOTE = "note"  # nothing to change


@record
class Cause:
    """One row of the catalogue.

    Attributes:
        code: the stable code.
        side: who must act when it is reported (server, client, network, none).
        route: the kind of plan that fixes it.
        no_path: it means "no path to an anchor of this client".
        aia: fetching the missing issuer (AIA caIssuers) can confirm it.
    """

    code: Code
    side: Side
    route: Route
    no_path: bool = False
    aia: bool = False


_S, _C, _N, _X = Side.SERVER, Side.CLIENT, Side.NETWORK, Side.NONE
_I, _T, _V, _R, _W, _O = (
    Route.INSTALL,
    Route.STORE,
    Route.SERVE,
    Route.REISSUE,
    Route.NETWORK,
    Route.NOTE,
)

CAUSES: Mapping[Code, Cause] = {
    c.code: c
    for c in (
        Cause(Code.OK, _X, _O),
        # -- the chain ------------------------------------------------------------
        Cause(Code.MISSING_INTERMEDIATE, _S, _V, no_path=True, aia=True),
        Cause(Code.UNTRUSTED_ROOT, _C, _I, no_path=True, aia=True),
        Cause(Code.SELF_SIGNED_LEAF, _S, _R, no_path=True),
        Cause(Code.NOT_A_CA, _S, _R),
        Cause(Code.EXPIRED, _S, _R),
        Cause(Code.NOT_YET_VALID, _S, _R),
        Cause(Code.HOSTNAME_MISMATCH, _S, _R),
        Cause(Code.WRONG_USAGE, _S, _R),
        Cause(Code.NAME_CONSTRAINTS, _S, _R),
        Cause(Code.BAD_SIGNATURE, _S, _V),
        Cause(Code.INSECURE_ALGORITHM, _S, _R),
        Cause(Code.WEAK_KEY, _S, _R),
        Cause(Code.PATH_TOO_LONG, _S, _R),
        Cause(Code.UNHANDLED_CRITICAL_EXTENSION, _S, _R),
        Cause(Code.STRICT_PROFILE, _S, _R),
        Cause(Code.UNPARSABLE_CERTIFICATE, _S, _R),
        # -- the client's store ---------------------------------------------------------
        Cause(Code.NO_TRUST_STORE, _C, _T),
        Cause(Code.STALE_BUNDLE, _C, _T),
        Cause(Code.ENV_OVERRIDE, _C, _T),
        Cause(Code.RESTART_REQUIRED, _C, _T),
        Cause(Code.DAEMON_STORE, _C, _T),
        # A public root the client's (old) store lacks: still "no path".
        Cause(Code.OUTDATED_STORE, _C, _T, no_path=True),
        Cause(Code.ANCHOR_FILE_IGNORED, _C, _T),
        Cause(Code.TRUSTED_BLOCK_IGNORED, _C, _T),
        Cause(Code.UNREADABLE_FILE, _C, _T),
        Cause(Code.EMPTY_BUNDLE, _C, _T),
        Cause(Code.STORE_LIMIT, _C, _T),
        Cause(Code.OVERRIDE_HARMLESS, _C, _O),
        Cause(Code.PARTIAL_TRUST, _C, _I),
        # The root itself must be reissued by its CA: nothing to run here.
        Cause(Code.STRICT_ANCHOR, _C, _O),
        # -- the network --------------------------------------------------------------
        Cause(Code.INTERCEPTED, _N, _I),
        Cause(Code.UNREACHABLE, _N, _W),
        Cause(Code.TIMEOUT, _N, _W),
        Cause(Code.PROXY_FAILED, _N, _W),
        Cause(Code.NOT_TLS, _S, _W),
        Cause(Code.HANDSHAKE_FAILED, _S, _W),
        Cause(Code.STARTTLS_REFUSED, _S, _W),
        # -- the served chain ----------------------------------------------------------
        Cause(Code.WRONG_ORDER, _S, _V),
        Cause(Code.ROOT_SENT, _S, _V),
        Cause(Code.EXTRA_CERTIFICATE, _S, _V),
        Cause(Code.DUPLICATE_CERTIFICATE, _S, _V),
        Cause(Code.EXPIRED_CROSS_SIGN, _S, _V),
        Cause(Code.DIFFERENT_CHAINS, _S, _V),
        Cause(Code.EXPIRING_SOON, _S, _R),
        Cause(Code.INTERMEDIATE_EXPIRES_FIRST, _S, _R),
        Cause(Code.LEGACY_COMMON_NAME, _S, _R),
        # -- notes ----------------------------------------------------------------------
        Cause(Code.CLIENT_CERT_REQUESTED, _X, _O),
        Cause(Code.CLIENT_DISAGREEMENT, _X, _O),
        Cause(Code.AIA_FETCH_FAILED, _S, _O),
    )
}

# Who must act, per code (the renderers, the JSON and the planners agree on it).
CODE_SIDE: Mapping[Code, Side] = {c: row.side for c, row in CAUSES.items()}
# Causes meaning "no path to an anchor": store evidence (engine/refine.py) and an
# interception CA (api/endpoint.py) explain them better than the engine alone.
NO_PATH: frozenset[Code] = frozenset(c for c, row in CAUSES.items() if row.no_path)
# Causes an AIA fetch can confirm or refine (engine/aiaconfirm.py).
AIA_CONFIRMABLE: frozenset[Code] = frozenset(c for c, row in CAUSES.items() if row.aia)


def by_route(route: Route) -> frozenset[Code]:
    """Every code fixed by ``route``."""
    return frozenset(c for c, row in CAUSES.items() if row.route == route)
