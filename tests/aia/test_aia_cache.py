"""The AIA on-disk cache: served without network, expires, survives damage."""

from __future__ import annotations

import hashlib
import os
import stat
import time
from pathlib import Path

import pytest

from helpers.aia import AiaServer, der, pem, static
from trustdoctor.lab import pki
from trustdoctor.model.cert import CertInfo, from_certificate
from trustdoctor.sources.aia import (
    AiaOptions,
    anchor_predicate,
    complete_chain,
    default_cache_dir,
    fetch_issuer_candidates,
)


def info(issued: pki.Issued) -> CertInfo:
    return from_certificate(issued.cert)


def entry(cache: Path, url: str) -> Path:
    return cache / (hashlib.sha256(url.encode()).hexdigest() + ".aia")


@pytest.fixture
def chain() -> tuple[pki.Issued, pki.Issued]:
    root = pki.make_cert("cache Root")
    return root, pki.make_cert("cache Issuing CA", issuer=root)


def leaf_at(inter: pki.Issued, url: str) -> CertInfo:
    return info(pki.make_cert("cache.example", issuer=inter, ca=False, aia_ca_issuers=[url]))


def test_second_call_is_served_from_the_cache_without_network(tmp_path, chain):
    root, inter = chain
    cache = tmp_path / "xdg" / "trustdoctor" / "aia"
    opts = AiaOptions(cache_dir=cache, timeout=1, deadline=1)
    srv = AiaServer().start()
    try:
        srv.routes["/i.cer"] = static(der(inter))
        url = srv.url("/i.cer")
        leaf = leaf_at(inter, url)
        first = fetch_issuer_candidates(leaf, options=opts)
        assert first.ok and not first.from_cache
    finally:
        srv.stop()
    # directory created private, entry private, nothing half-written left behind
    assert stat.S_IMODE(cache.stat().st_mode) == 0o700
    assert stat.S_IMODE(entry(cache, url).stat().st_mode) == 0o600
    assert sorted(p.name for p in cache.iterdir()) == [entry(cache, url).name]
    # the server is gone: only the cache can answer
    second = fetch_issuer_candidates(leaf, options=opts)
    assert second.ok and second.from_cache
    assert second.certificates == first.certificates
    assert second.elapsed_ms < 200
    # offline mode reads the cache as well
    third = fetch_issuer_candidates(leaf, options=AiaOptions(cache_dir=cache, allow_network=False))
    assert third.ok and third.from_cache and not third.network_needed
    # and complete_chain too
    done = complete_chain(
        leaf,
        [leaf],
        is_anchor=anchor_predicate([info(root)]),
        options=AiaOptions(cache_dir=cache, allow_network=False),
    )
    assert done.stopped == "reached-anchor" and done.attempts[0].from_cache


def test_offline_without_cache_entry(tmp_path, chain):
    _, inter = chain
    with AiaServer() as srv:
        srv.routes["/i.cer"] = static(der(inter))
        got = fetch_issuer_candidates(
            leaf_at(inter, srv.url("/i.cer")),
            options=AiaOptions(cache_dir=tmp_path / "c", allow_network=False),
        )
        assert srv.hits == {}
    assert got.network_needed and not got.ok
    assert got.rejected[0][0] == "offline" and "/i.cer" in got.rejected[0][1]


def test_expired_entries_are_fetched_again(tmp_path, chain):
    _, inter = chain
    cache = tmp_path / "c"
    with AiaServer() as srv:
        srv.routes["/i.cer"] = static(der(inter))
        url = srv.url("/i.cer")
        leaf = leaf_at(inter, url)
        opts = AiaOptions(cache_dir=cache)
        assert not fetch_issuer_candidates(leaf, options=opts).from_cache
        assert fetch_issuer_candidates(leaf, options=opts).from_cache
        assert srv.hits["/i.cer"] == 1
        eight_days_ago = time.time() - 8 * 86400
        os.utime(entry(cache, url), (eight_days_ago, eight_days_ago))
        again = fetch_issuer_candidates(leaf, options=opts)
        assert again.ok and not again.from_cache and srv.hits["/i.cer"] == 2
        # a shorter max age applies the same way (the entry a minute old, the
        # limit half a minute: the entry written anew survives its own prune
        # however loaded the machine)
        a_minute_ago = time.time() - 60
        os.utime(entry(cache, url), (a_minute_ago, a_minute_ago))
        short = AiaOptions(cache_dir=cache, cache_max_age=30)
        assert not fetch_issuer_candidates(leaf, options=short).from_cache
        assert srv.hits["/i.cer"] == 3
        # offline, an expired entry is not used
        os.utime(entry(cache, url), (eight_days_ago, eight_days_ago))
        off = fetch_issuer_candidates(
            leaf, options=AiaOptions(cache_dir=cache, allow_network=False)
        )
        assert off.network_needed


@pytest.mark.parametrize(
    "damage",
    ["garbage", "truncated", "other-url", "symlink", "directory", "huge", "future"],
)
def test_damaged_entries_are_ignored(tmp_path, chain, damage):
    _, inter = chain
    cache = tmp_path / "c"
    with AiaServer() as srv:
        srv.routes["/i.cer"] = static(der(inter))
        url = srv.url("/i.cer")
        leaf = leaf_at(inter, url)
        opts = AiaOptions(cache_dir=cache)
        assert fetch_issuer_candidates(leaf, options=opts).ok
        path = entry(cache, url)
        good = path.read_bytes()
        path.unlink()
        if damage == "garbage":
            path.write_bytes(b"\x00garbage")
        elif damage == "truncated":
            path.write_bytes(good[:-10])
        elif damage == "other-url":
            path.write_bytes(good.replace(url.encode(), url.encode() + b"x"))
        elif damage == "symlink":
            target = tmp_path / "elsewhere"
            target.write_bytes(good)
            path.symlink_to(target)
        elif damage == "directory":
            path.mkdir()
        elif damage == "huge":
            path.write_bytes(good + b"\0" * 200_000)
        elif damage == "future":
            path.write_bytes(good)
            later = time.time() + 86400
            os.utime(path, (later, later))
        got = fetch_issuer_candidates(leaf, options=opts)
        assert got.ok and not got.from_cache
        assert srv.hits["/i.cer"] == 2


def test_a_body_that_parses_to_nothing_is_refetched(tmp_path, chain):
    """A well-formed entry whose body is not certificates (tampered) is dropped."""
    _, inter = chain
    cache = tmp_path / "c"
    with AiaServer() as srv:
        srv.routes["/i.cer"] = static(der(inter))
        url = srv.url("/i.cer")
        body = b"not a certificate"
        cache.mkdir(mode=0o700)
        entry(cache, url).write_bytes(
            b"trustdoctor-aia-cache 1 %d\n" % len(body) + url.encode() + b"\n" + body
        )
        got = fetch_issuer_candidates(leaf_at(inter, url), options=AiaOptions(cache_dir=cache))
        assert got.ok and not got.from_cache and srv.hits["/i.cer"] == 1


def test_cached_answers_are_checked_like_fresh_ones(tmp_path, chain):
    """A planted entry cannot introduce an issuer: name and signature still decide."""
    root, inter = chain
    impostor = pki.make_cert("cache Issuing CA", issuer=root)
    cache = tmp_path / "c"
    cache.mkdir(mode=0o700)
    url = "http://127.0.0.1:9/planted.cer"  # nothing listens on port 9
    body = pem(impostor, root)
    entry(cache, url).write_bytes(
        b"trustdoctor-aia-cache 1 %d\n" % len(body) + url.encode() + b"\n" + body
    )
    got = fetch_issuer_candidates(
        leaf_at(inter, url), options=AiaOptions(cache_dir=cache, allow_network=False)
    )
    assert got.from_cache and got.certificates == ()
    assert sorted(r for r, _ in got.rejected) == ["bad-signature", "not-the-issuer"]


def test_failures_are_not_cached(tmp_path, chain):
    _, inter = chain
    cache = tmp_path / "c"
    with AiaServer() as srv:
        srv.routes["/garbage"] = static(b"garbage")
        for path in ("/missing", "/garbage"):
            got = fetch_issuer_candidates(
                leaf_at(inter, srv.url(path)), options=AiaOptions(cache_dir=cache)
            )
            assert not got.ok
    assert not cache.exists() or list(cache.iterdir()) == []


def test_unusable_cache_dir_only_costs_a_fetch(tmp_path, chain):
    _, inter = chain
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the cache directory should be\n")
    with AiaServer() as srv:
        srv.routes["/i.cer"] = static(der(inter))
        leaf = leaf_at(inter, srv.url("/i.cer"))
        for cache in (blocker, blocker / "aia"):
            got = fetch_issuer_candidates(leaf, options=AiaOptions(cache_dir=cache))
            assert got.ok and not got.from_cache
    assert blocker.read_text().startswith("a file")


def test_existing_directory_mode_is_left_alone_and_foreign_files_kept(tmp_path, chain):
    _, inter = chain
    cache = tmp_path / "shared"
    cache.mkdir(mode=0o755)
    os.chmod(cache, 0o755)
    (cache / "README").write_text("mine\n")
    (cache / ("0" * 64 + ".txt")).write_text("mine too\n")
    with AiaServer() as srv:
        urls = []
        for i in range(4):
            srv.routes[f"/i{i}.cer"] = static(der(inter))
            urls.append(srv.url(f"/i{i}.cer"))
        opts = AiaOptions(cache_dir=cache, cache_max_entries=2)
        for i, url in enumerate(urls):
            assert fetch_issuer_candidates(leaf_at(inter, url), options=opts).ok
            # distinct mtimes so "oldest" is well defined
            t = time.time() - 100 + i
            os.utime(entry(cache, url), (t, t))
    assert stat.S_IMODE(cache.stat().st_mode) == 0o755
    names = sorted(p.name for p in cache.iterdir())
    assert "README" in names and "0" * 64 + ".txt" in names
    kept = [u for u in urls if entry(cache, u).exists()]
    # bounded: at most 2 entries (pruned after each write), and the newest survive
    assert len(kept) == 2 and urls[-1] in kept


def test_default_cache_dir():
    assert default_cache_dir({"XDG_CACHE_HOME": "/x/cache", "HOME": "/home/u"}) == Path(
        "/x/cache/trustdoctor/aia"
    )
    # a relative XDG_CACHE_HOME is invalid per the XDG spec and ignored
    assert default_cache_dir({"XDG_CACHE_HOME": "rel", "HOME": "/home/u"}) == Path(
        "/home/u/.cache/trustdoctor/aia"
    )
    assert default_cache_dir({"HOME": "/home/u"}) == Path("/home/u/.cache/trustdoctor/aia")
    assert default_cache_dir({}) is not None  # falls back to the password database


def test_leftovers_of_killed_writers_are_swept(tmp_path, chain):
    """A write killed before its rename leaves a hidden temporary file: the next
    write sweeps it once its process is gone (sources/atomic.py), and never
    takes it for an entry."""
    import subprocess

    from trustdoctor.sources.atomic import TMP_MARK

    _, inter = chain
    cache = tmp_path / "c"
    cache.mkdir()
    p = subprocess.Popen(["true"])
    p.wait()
    with AiaServer() as srv:
        srv.routes["/i.cer"] = static(der(inter))
        url = srv.url("/i.cer")
        dead = cache / f".{entry(cache, url).name}{TMP_MARK}{p.pid}"
        live = cache / f".{entry(cache, url).name}{TMP_MARK}{os.getppid()}"
        for f in (dead, live):
            f.write_bytes(b"trustdoctor-aia-cache 1 99\nhalf")
        got = fetch_issuer_candidates(leaf_at(inter, url), options=AiaOptions(cache_dir=cache))
    assert got.ok and not got.from_cache
    assert sorted(p.name for p in cache.iterdir()) == sorted([entry(cache, url).name, live.name])
