"""Client trust models: what each client would trust on a host, a root, an image or a process.

Public API (imported lazily by the CLI)::

    from trustdoctor.stores import KNOWN_CLIENTS, build_context, inspect_stores, refine_verdict

    with build_context(root="/", registry="reg.example:5000") as ctx:
        for store in inspect_stores(ctx, ["go", "java", "docker"]):
            print(store.client, len(store.anchors), [f.code for f in store.findings])

See docs/stores.md for every model and finding.
"""

from __future__ import annotations

from ..engine.refine import CaCheck, check_ca, refine_verdict
from ..model.stores import ClientStore, SourceStatus, StoreContext, StoreSource
from .inspect import KNOWN_CLIENTS, STORE_MODEL, build_context, clients_present, inspect_stores
from .rootfs import RootFS

__all__ = [
    "KNOWN_CLIENTS",
    "STORE_MODEL",
    "CaCheck",
    "ClientStore",
    "RootFS",
    "SourceStatus",
    "StoreContext",
    "StoreSource",
    "build_context",
    "check_ca",
    "clients_present",
    "inspect_stores",
    "refine_verdict",
]
