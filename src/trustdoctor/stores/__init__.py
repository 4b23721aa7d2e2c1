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

from .inspect import build_context, clients_present, inspect_stores
from .rootfs import RootFS

__all__ = ["RootFS", "build_context", "clients_present", "inspect_stores"]
