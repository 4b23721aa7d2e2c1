"""--image REF against hostile registries: each attack bounded, one clear line, nothing
written outside the layer cache (and only complete, verified blobs in it).

The "registry" is a small loopback HTTP server whose answers each test writes
(helpers.registry.Hostile), pulled with --insecure-registry (plain HTTP is
allowed for loopback only); the TLS cases serve HTTPS with generated certificates.
"""

from __future__ import annotations

import hashlib
import json
import os
import resource
import ssl
import tarfile
import tempfile
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from helpers.images import Built, build_image, layer, sha256
from helpers.registry import Hostile, blob_answer, endless, isolate_env, json_answer, redirect
from helpers.registry import server_files as make_server_files
from trustdoctor.cli.main import main
from trustdoctor.errors import (
    ConnectError,
    InputError,
    RegistryTrustError,
    SourceError,
    UnsafePathError,
)
from trustdoctor.lab import pki
from trustdoctor.sources import registry as registry_mod
from trustdoctor.sources.image import extract_image
from trustdoctor.sources.layercache import LayerCache
from trustdoctor.sources.registry import PullOptions

CA = pki.make_cert("Hostile Test Root").pem
GiB = 1024**3
HOST_ARCH = {"x86_64": "amd64", "aarch64": "arm64"}.get(os.uname().machine, os.uname().machine)


@pytest.fixture(autouse=True)
def sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Isolated env; after the test, nothing new outside the cache, no temp leftovers."""
    isolate_env(tmp_path, monkeypatch)
    monkeypatch.setattr(registry_mod, "DOCKER_CERTS_DIRS", (tmp_path / "certs.d",))
    tmpdir = tmp_path / "tmpdir"
    tmpdir.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmpdir))
    cache = tmp_path / "xdg-cache" / "trustdoctor" / "layers"  # the default one
    inputs = tmp_path / "inputs"  # what the test itself writes (certificates)
    inputs.mkdir()
    before = {p for p in tmp_path.rglob("*")}
    yield cache
    after = {p for p in tmp_path.rglob("*") if inputs not in p.parents} - before
    outside = [p for p in after if cache not in p.parents and p not in (cache, *cache.parents)]
    assert outside == [], f"written outside the cache: {outside}"
    assert list(tmpdir.iterdir()) == []
    if cache.exists():
        leftovers = [p for p in cache.iterdir() if not p.name.startswith(("sha256-", "sha512-"))]
        assert leftovers == [], leftovers


def opts(cache: Path, **kw: object) -> PullOptions:
    return PullOptions(insecure_registry=True, cache_dir=cache, **kw)  # type: ignore[arg-type]


def honest(h: Hostile, layers: list[bytes], repo: str = "app", tag: str = "1") -> Built:
    img = build_image(layers, arch=HOST_ARCH)
    h.serve_image(repo, tag, img)
    return img


def base_layer() -> bytes:
    return layer(
        [
            ("file", "etc/os-release", "ID=alpine\n"),
            ("file", "etc/ssl/certs/ca-certificates.crt", CA),
        ],
        "gzip",
    )


def layer_route(img: Built, index: int) -> str:
    desc = json.loads(img.top)["layers"][index]
    return f"/v2/app/blobs/{desc['digest']}"


def set_layer(h: Hostile, img: Built, index: int, digest: str, size: int) -> Built:
    """Rewrite the manifest's layer ``index`` descriptor (and re-serve the manifest)."""
    doc = json.loads(img.top)
    doc["layers"][index].update(digest=digest, size=size)
    top = json.dumps(doc).encode()
    h.routes["/v2/app/manifests/1"] = json_answer(top, ctype=img.media_type)
    return Built(img.media_type, top, img.blobs)


def test_honest_hostile_server_works(sandbox: Path) -> None:
    """The baseline: the server unbroken is read fine (each test below fails for its cause)."""
    with Hostile() as h:
        img = honest(h, [base_layer()])
        with extract_image(f"{h.host}/app:1", pull=opts(sandbox)) as ex:
            assert (ex.root / "etc/ssl/certs/ca-certificates.crt").read_bytes() == CA
            assert ex.digest == img.digest
    assert set(LayerCache(sandbox).entries()) == set(img.blobs)


def test_wrong_digest(sandbox: Path) -> None:
    with Hostile() as h:
        good = base_layer()
        img = honest(h, [good])
        evil = layer([("file", "etc/ssl/certs/ca-certificates.crt", pki.make_cert("Evil").pem)],
                     "gzip")[: len(good)].ljust(len(good), b"\0")  # fmt: skip
        h.routes[layer_route(img, 0)] = blob_answer(evil)
        with (
            pytest.raises(InputError, match="does not match its digest") as ei,
            extract_image(f"{h.host}/app:1", pull=opts(sandbox)),
        ):
            pass
        assert "\n" not in str(ei.value) and "image refused" in str(ei.value)
        # The bad blob never entered the cache (the config, verified, did).
        assert sha256(good) not in LayerCache(sandbox).entries()
        # A manifest pulled by digest must have that digest.
        other = json.dumps({"schemaVersion": 2, "manifests": []}).encode()
        h.routes[f"/v2/app/manifests/{img.digest}"] = json_answer(other, ctype=img.media_type)
        with (
            pytest.raises(InputError, match="does not match the digest asked for"),
            extract_image(f"{h.host}/app@{img.digest}", pull=opts(sandbox)),
        ):
            pass

        # The registry's own Docker-Content-Digest header must agree with the body.
        def lying(hd: object) -> None:
            hd.send_response(200)  # type: ignore[attr-defined]
            hd.send_header("Content-Type", img.media_type)  # type: ignore[attr-defined]
            hd.send_header("Docker-Content-Digest", "sha256:" + "0" * 64)  # type: ignore[attr-defined]
            hd.send_header("Content-Length", str(len(img.top)))  # type: ignore[attr-defined]
            hd.end_headers()  # type: ignore[attr-defined]
            hd.wfile.write(img.top)  # type: ignore[attr-defined]

        h.routes["/v2/app/manifests/1"] = lying
        with (
            pytest.raises(InputError, match="Docker-Content-Digest"),
            extract_image(f"{h.host}/app:1", pull=opts(sandbox)),
        ):
            pass


def test_one_gigabyte_layer_declared_is_refused_before_download(sandbox: Path) -> None:
    with Hostile() as h:
        img = honest(h, [base_layer()])
        set_layer(h, img, 0, "sha256:" + "1" * 64, GiB)
        with (
            pytest.raises(InputError, match=r"declares 1073741824 bytes, over") as ei,
            extract_image(f"{h.host}/app:1", pull=opts(sandbox), max_total=256 * 1024**2),
        ):
            pass
        assert h.hits.get("/v2/app/blobs/sha256:" + "1" * 64, 0) == 0
        assert "\n" not in str(ei.value)


def test_layer_longer_than_declared_stops_at_the_declared_size(sandbox: Path) -> None:
    with Hostile() as h:
        img = honest(h, [base_layer()])
        digest = "sha256:" + "2" * 64
        set_layer(h, img, 0, digest, 1024)
        h.routes[f"/v2/app/blobs/{digest}"] = endless(b"\x1f\x8b" + bytes(65534), h)
        t0 = time.monotonic()
        with (
            pytest.raises(InputError, match="more than the 1024 bytes"),
            extract_image(f"{h.host}/app:1", pull=opts(sandbox)),
        ):
            pass
        assert time.monotonic() - t0 < 10
        time.sleep(0.2)
        assert h.sent < 64 * 1024**2  # stopped early: the server could not push a gigabyte
        # Content-Length disagreeing with the manifest: refused before reading.
        h.routes[f"/v2/app/blobs/{digest}"] = blob_answer(b"x" * 10, length=10)
        with (
            pytest.raises(InputError, match="announces 10 bytes"),
            extract_image(f"{h.host}/app:1", pull=opts(sandbox)),
        ):
            pass


def _big_tar_stream(size: int) -> tuple[bytes, bytes, int]:
    """(tar header of one ``size``-byte non-trust file, tar end, total stream length)."""
    ti = tarfile.TarInfo("usr/share/big/blob.bin")
    ti.size = size
    header = ti.tobuf(tarfile.PAX_FORMAT)
    end = bytes(1024)
    return header, end, len(header) + size + len(end)


@pytest.mark.slow
def test_one_gigabyte_layer_streams_in_bounded_memory(sandbox: Path) -> None:
    """An honest 1 GiB layer (a big non-trust file): streamed, hashed, never held."""
    header, end, total = _big_tar_stream(GiB)
    h256 = hashlib.sha256(header)
    zeros = bytes(1024 * 1024)
    for _ in range(GiB // len(zeros)):
        h256.update(zeros)
    h256.update(end)
    digest = "sha256:" + h256.hexdigest()
    with Hostile() as h:
        img = honest(h, [base_layer(), b""])
        set_layer(h, img, 1, digest, total)

        def route(hd: object) -> None:
            hd.send_response(200)  # type: ignore[attr-defined]
            hd.send_header("Content-Length", str(total))  # type: ignore[attr-defined]
            hd.end_headers()  # type: ignore[attr-defined]
            w = hd.wfile  # type: ignore[attr-defined]
            try:
                w.write(header)
                for _ in range(GiB // len(zeros)):
                    w.write(zeros)
                w.write(end)
            except OSError:
                pass

        h.routes[f"/v2/app/blobs/{digest}"] = route
        rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        t0 = time.monotonic()
        with extract_image(
            f"{h.host}/app:1", pull=PullOptions(insecure_registry=True, cache=False)
        ) as ex:
            assert (ex.root / "etc/ssl/certs/ca-certificates.crt").read_bytes() == CA
            assert not (ex.root / "usr/share/big").exists()
            assert ex.transferred > GiB
        elapsed = time.monotonic() - t0
        grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0) / 1024
    assert grown_mib < 128, f"peak memory grew {grown_mib:.0f} MiB"
    assert elapsed < 120


def test_gzip_bomb_stops_at_the_limit(sandbox: Path) -> None:
    # 1 GiB of zeros behind a tar header, ~1 MiB of gzip: after a full flush the
    # deflate output of each 1 MiB zero block is the same, so it is built by
    # repetition (the trailer's CRC is not the real one: never reached).
    header, _end, _ = _big_tar_stream(GiB)
    c = zlib.compressobj(9, zlib.DEFLATED, 31)
    head = c.compress(header) + c.flush(zlib.Z_FULL_FLUSH)
    block = c.compress(bytes(1024 * 1024)) + c.flush(zlib.Z_FULL_FLUSH)
    bomb = head + block * 1024 + c.flush()
    assert len(bomb) < 2 * 1024**2
    with Hostile() as h:
        honest(h, [base_layer(), bomb])
        t0 = time.monotonic()
        with (
            pytest.raises(InputError, match="compression bomb"),
            extract_image(f"{h.host}/app:1", pull=opts(sandbox), max_total=32 * 1024**2),
        ):
            pass
        assert time.monotonic() - t0 < 10
    # The bomb itself was never completely read, so it is not cached.
    assert sha256(bomb) not in LayerCache(sandbox).entries()


def test_redirect_loops_and_downgrades(sandbox: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with Hostile() as h:
        img = honest(h, [base_layer()])
        path = layer_route(img, 0)
        h.routes[path] = redirect(path)  # to itself
        with (
            pytest.raises(SourceError, match=r"more than 5 redirects \(a redirect loop\)"),
            extract_image(f"{h.host}/app:1", pull=opts(sandbox)),
        ):
            pass
        assert h.hits[path] == 6
        h.routes[path] = redirect("/elsewhere/a")
        h.routes["/elsewhere/a"] = redirect("/elsewhere/b")
        h.routes["/elsewhere/b"] = redirect("/elsewhere/a")
        code = main(["stores", "--image", f"{h.host}/app:1", "--insecure-registry"])
        err = capsys.readouterr().err
        assert code == 3 and err.count("\n") == 1 and "redirect loop" in err
        # Plain HTTP to anything but loopback is refused before any connection is made.
        h.routes[path] = redirect("http://registry.invalid/blob")
        with (
            pytest.raises(SourceError, match=r"plain HTTP \(registry.invalid\); refused"),
            extract_image(f"{h.host}/app:1", pull=opts(sandbox)),
        ):
            pass
        h.routes[path] = redirect("ftp://127.0.0.1/blob")
        with (
            pytest.raises(SourceError, match="non-HTTP URL"),
            extract_image(f"{h.host}/app:1", pull=opts(sandbox)),
        ):
            pass


def test_ten_thousand_layers(sandbox: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with Hostile() as h:
        img = honest(h, [base_layer()])
        doc = json.loads(img.top)
        doc["layers"] = [
            {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
             "digest": "sha256:" + hashlib.sha256(str(i).encode()).hexdigest(), "size": 32}
            for i in range(10_000)
        ]  # fmt: skip
        h.routes["/v2/app/manifests/1"] = json_answer(
            json.dumps(doc).encode(), ctype=img.media_type
        )
        t0 = time.monotonic()
        code = main(["stores", "--image", f"{h.host}/app:1", "--insecure-registry"])
        err = capsys.readouterr().err
        assert code == 2 and err.count("\n") == 1
        assert "names 10000 layers, over the limit of 256; image refused" in err
        assert time.monotonic() - t0 < 5
        assert not any("/blobs/" in p for p in h.hits)


def test_path_traversal_in_a_layer(sandbox: Path, tmp_path: Path) -> None:
    evil = layer(
        [("file", "etc/os-release", "ID=x\n"), ("file", "../../../../evil.pem", CA)], "gzip"
    )
    with Hostile() as h:
        honest(h, [base_layer(), evil])
        with (
            pytest.raises(
                UnsafePathError, match=r"'\.\./\.\./\.\./\.\./evil\.pem' contains '\.\.'"
            ),
            extract_image(f"{h.host}/app:1", pull=opts(sandbox)),
        ):
            pass
    assert not list(tmp_path.parent.glob("evil.pem")) and not (tmp_path / "evil.pem").exists()
    assert sha256(evil) not in LayerCache(sandbox).entries()
    # Symlinks out of the root are recreated inside it, never followed on the host.
    links = layer([("symlink", "etc/ssl/cert.pem", "../../../../../../etc/passwd")], "gzip")
    with Hostile() as h:
        honest(h, [base_layer(), links])
        with extract_image(f"{h.host}/app:1", pull=opts(sandbox)) as ex:
            target = os.readlink(ex.root / "etc/ssl/cert.pem")
            assert not target.startswith("/") and not (ex.root / "etc/ssl/cert.pem").exists()


def test_slow_registries_are_bounded(sandbox: Path) -> None:
    def silent(hd: object) -> None:
        time.sleep(8)

    with Hostile() as h:
        h.routes["/v2/"] = silent
        t0 = time.monotonic()
        with (
            pytest.raises(ConnectError, match=r"did not answer within 0\.5 s"),
            extract_image(f"{h.host}/app:1", pull=opts(sandbox, timeout=0.5)),
        ):
            pass
        assert time.monotonic() - t0 < 4
    with Hostile() as h:
        img = honest(h, [base_layer()])
        digest = "sha256:" + "3" * 64
        set_layer(h, img, 0, digest, 100_000)
        # One byte every 20 ms: every read is quick, the whole pull is not.
        h.routes[f"/v2/app/blobs/{digest}"] = endless(b"\0", h, declared=100_000, delay=0.02)
        t0 = time.monotonic()
        with (
            pytest.raises(SourceError, match=r"did not finish within 1.5 s") as ei,
            extract_image(f"{h.host}/app:1", pull=opts(sandbox, timeout=5, deadline=1.5)),
        ):
            pass
        assert time.monotonic() - t0 < 5
        assert "\n" not in str(ei.value)


@pytest.mark.parametrize(
    ("change", "error", "match"),
    [
        ({"schemaVersion": 1, "fsLayers": []}, InputError, "schema 1 manifest"),
        ({"config": {"mediaType": "application/vnd.cncf.helm.config.v1+json"}}, InputError,
         "not a container image"),
        ({"layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip+encrypted"}]},
         InputError, "layer 1 is encrypted"),
        ({"layers": [{"digest": "sha256:../../x"}]}, InputError, "malformed digest"),
        ({"layers": [{"size": -1}]}, InputError, "no valid size"),
        ({"layers": "nope"}, InputError, "no layers list"),
    ],
)  # fmt: skip
def test_malformed_manifests(
    sandbox: Path, change: dict[str, object], error: type[Exception], match: str
) -> None:
    with Hostile() as h:
        img = honest(h, [base_layer()])
        doc = json.loads(img.top)
        for key, value in change.items():
            if isinstance(value, dict) and isinstance(doc.get(key), dict):
                doc[key].update(value)
            elif isinstance(value, list) and isinstance(doc.get(key), list):
                doc[key][0].update(value[0])
            else:
                doc[key] = value
        h.routes["/v2/app/manifests/1"] = json_answer(
            json.dumps(doc).encode(), ctype=img.media_type
        )
        with (
            pytest.raises(error, match=match) as ei,
            extract_image(f"{h.host}/app:1", pull=opts(sandbox)),
        ):
            pass
        assert "\n" not in str(ei.value)


def test_oversized_documents(sandbox: Path) -> None:
    with Hostile() as h:
        honest(h, [base_layer()])
        h.routes["/v2/app/manifests/1"] = json_answer(b" " * (5 * 1024 * 1024))
        with (
            pytest.raises(InputError, match="over the 4194304-byte limit"),
            extract_image(f"{h.host}/app:1", pull=opts(sandbox)),
        ):
            pass
        h.routes["/v2/app/manifests/1"] = endless(b"{" * 65536, h)  # no length, never ends
        with (
            pytest.raises(InputError, match="over the 4194304-byte limit"),
            extract_image(f"{h.host}/app:1", pull=opts(sandbox)),
        ):
            pass


def test_auth_challenges_that_must_be_refused(sandbox: Path, tmp_path: Path) -> None:
    def challenge(value: str) -> object:
        def route(hd: object) -> None:
            body = b'{"errors":[{"code":"UNAUTHORIZED","message":"login"}]}'
            hd.send_response(401)  # type: ignore[attr-defined]
            hd.send_header("WWW-Authenticate", value)  # type: ignore[attr-defined]
            hd.send_header("Content-Length", str(len(body)))  # type: ignore[attr-defined]
            hd.end_headers()  # type: ignore[attr-defined]
            hd.wfile.write(body)  # type: ignore[attr-defined]

        return route

    cfg = Path(os.environ["DOCKER_CONFIG"]) / "config.json"
    with Hostile() as h:
        honest(h, [base_layer()])
        # The realm is plain HTTP elsewhere: credentials would travel in clear; refused.
        cfg.write_text(json.dumps({"auths": {h.host: {"auth": "dTpw"}}}))
        h.routes["/v2/"] = challenge('Bearer realm="http://auth.invalid/token",service="x"')
        with (
            pytest.raises(SourceError, match="plain HTTP"),
            extract_image(f"{h.host}/app:1", pull=opts(sandbox)),
        ):
            pass
        h.routes["/v2/"] = challenge("Negotiate abc")
        with (
            pytest.raises(SourceError, match="does not speak"),
            extract_image(f"{h.host}/app:1", pull=opts(sandbox)),
        ):
            pass
        # A token service that answers garbage.
        h.routes["/v2/"] = challenge(f'Bearer realm="http://{h.host}/token",service="x"')
        h.routes["/token"] = json_answer(b'{"token": "has spaces in it"}')
        with (
            pytest.raises(SourceError, match="did not answer a token"),
            extract_image(f"{h.host}/app:1", pull=opts(sandbox)),
        ):
            pass
    cfg.unlink()


def _tls_hostile(tmp: Path, names: tuple[str, ...]) -> tuple[ssl.SSLContext, Path]:
    ca, ca_file, chain, key = make_server_files(tmp / "pki")
    if names != ("127.0.0.1",):
        leaf = pki.make_cert(names[0], issuer=ca, ca=False, dns=names)
        chain.write_bytes(leaf.pem + ca.pem)
        key.write_bytes(leaf.key_pem)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(chain, key)
    return ctx, ca_file


def test_tls_failures_are_registry_trust_errors(
    sandbox: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ctx, ca_file = _tls_hostile(tmp_path / "inputs" / "a", ("127.0.0.1",))
    with Hostile(tls=ctx) as h:
        honest(h, [base_layer()])
        pull = PullOptions(cache_dir=sandbox)
        with pytest.raises(RegistryTrustError) as ei, extract_image(f"{h.host}/app:1", pull=pull):
            pass
        assert ei.value.port == h.port and ei.value.exit_code == 3
        monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))  # the tool's own trust now has it
        with extract_image(f"{h.host}/app:1", pull=pull) as ex:
            assert ex.files > 0
    # Trusted CA, wrong name: also a trust failure of the registry, not a crash.
    ctx2, ca2 = _tls_hostile(tmp_path / "inputs" / "b", ("other.example",))
    monkeypatch.setenv("SSL_CERT_FILE", str(ca2))
    with Hostile(tls=ctx2) as h:
        honest(h, [base_layer()])
        with (
            pytest.raises(RegistryTrustError, match=r"IP address mismatch|Hostname mismatch"),
            extract_image(f"{h.host}/app:1", pull=PullOptions(cache_dir=sandbox)),
        ):
            pass
