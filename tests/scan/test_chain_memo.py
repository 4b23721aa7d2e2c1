"""The memo of a scan's judging pipeline: what it keys on, once per key, bounded."""

from __future__ import annotations

import dataclasses
import threading
import time

from trustdoctor.api.endpoint import ChainFacts, ChainMemo, JudgedChain
from trustdoctor.lab import pki
from trustdoctor.model.cert import Provenance, from_certificate
from trustdoctor.model.diagnosis import PresentedCert
from trustdoctor.model.target import parse_target
from trustdoctor.sources.network import FetchResult


def fetched(target: str, certs: list[pki.Issued], **kw: object) -> tuple[object, FetchResult]:
    t = parse_target(target)
    chain = tuple(
        PresentedCert(from_certificate(c.cert), Provenance(f"tls://{t.hostport}", i, detail="x"))
        for i, c in enumerate(certs)
    )
    base = FetchResult(t, "127.0.0.1:1", "TLSv1.3", "X", None, chain, False, None, 1.0, len(chain))
    return t, dataclasses.replace(base, **kw)  # type: ignore[arg-type]


def test_the_key_is_everything_the_judging_reads_but_provenance() -> None:
    h = pki.hierarchy("memo.test")
    certs = [h.leaf, h.intermediate]
    t1, f1 = fetched("memo.test:443", certs)
    t2, f2 = fetched("memo.test:8443", certs)  # another node: other provenance, same facts
    k1 = ChainFacts.of(t1, f1).key()  # type: ignore[arg-type]
    assert k1 == ChainFacts.of(t2, f2).key()  # type: ignore[arg-type]
    assert ChainFacts.of(t1, f1).chain != ChainFacts.of(t2, f2).chain  # type: ignore[arg-type]
    variants = [
        fetched("other.test:443", certs),  # the name checked
        fetched("memo.test:443", [h.leaf]),  # the chain
        fetched("memo.test:443", certs, proxy_used="http://p:3128"),  # interception weighs it
        fetched("memo.test:443", certs, client_cert_requested=True),
        fetched("memo.test:443", certs, handshake_error="x"),
    ]
    keys = {ChainFacts.of(t, f).key() for t, f in variants}  # type: ignore[arg-type]
    assert len(keys) == len(variants) and k1 not in keys
    # A node reached by its address with the service's name: the same check.
    t3 = parse_target("10.0.0.1:443", servername="memo.test")
    assert ChainFacts.of(t3, f1).key() == k1  # type: ignore[arg-type]


def test_each_key_is_judged_once_even_concurrently() -> None:
    h = pki.hierarchy("memo.test")
    t, f = fetched("memo.test:443", [h.leaf, h.intermediate])
    facts = ChainFacts.of(t, f)  # type: ignore[arg-type]
    memo = ChainMemo()
    calls = []

    def judge() -> JudgedChain:
        calls.append(1)
        time.sleep(0.2)  # the others arrive meanwhile
        return JudgedChain(object(), None)  # type: ignore[arg-type]

    got: list[JudgedChain] = []

    def ask() -> None:
        got.append(memo.get(facts, judge))

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert len(calls) == 1 and len({id(g) for g in got}) == 1
    assert (memo.misses, memo.hits) == (1, 7) and got[0].targets == 8


def test_the_memo_is_bounded() -> None:
    memo = ChainMemo(size=4)
    h = pki.hierarchy("memo.test")
    for i in range(10):
        t, f = fetched(f"n{i}.memo.test:443", [h.leaf])
        memo.get(ChainFacts.of(t, f), lambda: JudgedChain(object(), None))  # type: ignore[arg-type]
    assert len(memo) == 4 and memo.misses == 10
