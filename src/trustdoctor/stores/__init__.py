"""Client trust models: what each client would trust on a host, a root, an image or a process.

Public API::

    from trustdoctor.stores import build_context, inspect_stores

    with build_context(root="/", registry="reg.example:5000", now=when) as ctx:
        for store in inspect_stores(ctx, ["go", "java", "docker"]):
            print(store.client, len(store.anchors), [f.code for f in store.findings])

The records (:class:`~trustdoctor.model.stores.ClientStore`...) live in
``model/stores.py``; which clients exist, in ``clients.py``.  See docs/stores.md
for every model and finding.
"""

from __future__ import annotations

import importlib

TYPE_CHECKING = False  # typing's constant, without importing typing (model/record.py)
if TYPE_CHECKING:
    from typing import Any

    from .inspect import build_context, clients_present, inspect_stores
    from .rootfs import RootFS

__all__ = ["RootFS", "build_context", "clients_present", "inspect_stores"]

# name -> the submodule defining it.  Imported on first use (PEP 562), not by
# the package itself: a package whose __init__ imports its submodules lets
# two threads take the import locks in opposite orders (one importing the
# package, the other a submodule under it while the package is half made),
# and CPython 3.11 breaks that tie with an ImportError on a partially
# initialised module (python/cpython#83065, fixed upstream in 2025) -- which
# a scan's judging threads, importing the stores layer lazily and
# concurrently, met.
_WHERE = {
    "RootFS": "rootfs",
    "build_context": "inspect",
    "clients_present": "inspect",
    "inspect_stores": "inspect",
}


def __getattr__(name: str) -> Any:
    where = _WHERE.get(name)
    if where is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{where}", __name__), name)
    globals()[name] = value
    return value
