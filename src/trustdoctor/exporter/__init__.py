"""``trustdoctor exporter``: the node's trust as Prometheus metrics, and ``/probe``.

* :mod:`.node` — ``/metrics``: the store inspections of this node (or
  ``--root``), per registry and per running service, cached and redone only
  when their store signature changes;
* :mod:`.probe` — ``/probe?target=``: ``api.diagnose_endpoint`` for one
  allowed target, with prepared clients, bounded concurrency and a deadline;
* :mod:`.allow` — the request-forgery allowlist;
* :mod:`.server` — a small asyncio HTTP/1.1 listener (header deadline,
  connection cap: a slow client holds one coroutine, never a thread);
* :mod:`.expose` — metric families (``render.prometheus``) to the exposition
  format through prometheus-client.

docs/exporter.md documents the metrics, the flags and the deployment.
"""
