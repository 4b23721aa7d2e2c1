"""The public API: one function per question, each returning one typed result.

=====================  ==========================  ===========================
question               function                    result (``.to_dict()`` is
                                                   what ``--format json`` prints)
=====================  ==========================  ===========================
a chain from files     :func:`diagnose_chain`      :class:`ChainReport`
a live endpoint        :func:`diagnose_endpoint`   :class:`EndpointReport`
many endpoints         :func:`scan_endpoints`      :class:`Scan` of
                                                   :class:`ScanResult`, then
                                                   :class:`ScanSummary`
what clients trust     :func:`inspect_stores`      :class:`StoresAnswer`
an error line or log   :func:`explain`             :class:`ExplainResult`
the chain to serve     :func:`make_bundle`         :class:`BundleResult`
the fix                :func:`plan_fix`,           :class:`FixReport`
                       :func:`apply_fix`
=====================  ==========================  ===========================

Where the clients are (this host, ``--root``, ``--image``, ``--pid``, their
environment, the registry) or which anchors replace their stores
(``--trust``) is one :class:`TrustOptions`, shared by every question.  Every
front end (the CLI, the lab, and the exporter, scanner and web page) calls
these functions and only renders what they return.

Names are imported on first use, so ``import trustdoctor.api`` stays cheap.
"""

from __future__ import annotations

import importlib

TYPE_CHECKING = False  # typing's constant, without importing typing (model/record.py)
if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "BundleResult",
    "ChainReport",
    "EndpointReport",
    "ExplainResult",
    "FixReport",
    "FixRequest",
    "PreparedClients",
    "Scan",
    "ScanResult",
    "ScanSummary",
    "StoresAnswer",
    "TrustOptions",
    "apply_fix",
    "diagnose_chain",
    "diagnose_endpoint",
    "explain",
    "inspect_stores",
    "make_bundle",
    "now",
    "parse_time",
    "plan_fix",
    "prepare_clients",
    "scan_endpoints",
    "store_signature",
]

# name -> the submodule defining it.
_WHERE = {
    "BundleResult": "bundle",
    "ChainReport": "chain",
    "EndpointReport": "endpoint",
    "ExplainResult": "logs",
    "FixReport": "fix",
    "FixRequest": "fix",
    "PreparedClients": "endpoint",
    "Scan": "scan",
    "ScanResult": "scan",
    "ScanSummary": "scan",
    "StoresAnswer": "stores",
    "TrustOptions": "context",
    "apply_fix": "fix",
    "diagnose_chain": "chain",
    "diagnose_endpoint": "endpoint",
    "explain": "logs",
    "inspect_stores": "stores",
    "make_bundle": "bundle",
    "now": "context",
    "parse_time": "context",
    "plan_fix": "fix",
    "prepare_clients": "endpoint",
    "store_signature": "stores",
    "scan_endpoints": "scan",
}


def __getattr__(name: str) -> Any:
    where = _WHERE.get(name)
    if where is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{where}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
