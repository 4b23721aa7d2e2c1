"""``--fetch`` / ``--no-fetch`` / ``--cache DIR``: AIA options shared by ``chain``,
``bundle`` and ``diagnose`` (issue 7; docs/aia.md).

``chain`` is offline by default: without ``--fetch`` it fetches nothing, and
with ``--cache DIR`` (still without ``--fetch``) it uses only that cache.
``bundle`` fetches by default; its ``--no-fetch`` uses only the cache.
"""

from __future__ import annotations

import argparse

TYPE_CHECKING = False  # typing's constant, without importing typing (model/record.py)
if TYPE_CHECKING:
    from ..sources.aia import AiaOptions


def add_aia_arguments(p: argparse.ArgumentParser, *, default_fetch: bool) -> None:
    g = p.add_argument_group("AIA issuer fetching (see docs/aia.md)")
    x = g.add_mutually_exclusive_group()
    x.add_argument(
        "--fetch",
        dest="aia_fetch",
        action="store_true",
        default=default_fetch,
        help="fetch a missing issuer from the certificate's AIA caIssuers URL"
        + (" (default)" if default_fetch else "; confirms a missing-intermediate diagnosis"),
    )
    x.add_argument(
        "--no-fetch",
        dest="aia_fetch",
        action="store_false",
        help="never touch the network for AIA; use only the cache"
        + ("" if default_fetch else " given with --cache (default)"),
    )
    g.add_argument(
        "--cache",
        dest="aia_cache",
        metavar="DIR",
        help="AIA answer cache (default: $XDG_CACHE_HOME/trustdoctor/aia or "
        "~/.cache/trustdoctor/aia)",
    )


def aia_options_from_args(args: argparse.Namespace, *, default_fetch: bool) -> AiaOptions | None:
    """The AIA options, or ``None`` when AIA is not in play at all.

    Fetches take the route the command's own connection takes: ``--proxy``
    when the command has it, else the proxy variables of the clients'
    environment (the API fills it in, as for the handshake).
    """
    fetch = bool(getattr(args, "aia_fetch", default_fetch))
    cache = getattr(args, "aia_cache", None)
    if not default_fetch and not fetch and cache is None:
        return None  # ``chain`` without --fetch/--cache: fully offline and deterministic
    from ..api.aia import aia_options  # (the HTTP stack: only when AIA is in play)

    return aia_options(fetch=fetch, cache=cache, proxy=getattr(args, "proxy", None))
