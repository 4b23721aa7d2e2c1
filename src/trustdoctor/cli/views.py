"""The CLI side of the client views: open the trust context the options
describe and model the clients in it (see :mod:`trustdoctor.api.views`)."""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Iterator, Sequence

from ..api.views import ClientViews, plan_for, views_for

__all__ = ["ClientViews", "client_views", "plan_for", "views_for"]


@contextlib.contextmanager
def client_views(args: argparse.Namespace, clients: Sequence[str]) -> Iterator[ClientViews]:
    """Open the trust context the options describe and model ``clients`` in it."""
    from .trustopts import open_trust_context

    with open_trust_context(args) as ctx:
        yield views_for(ctx, clients)
