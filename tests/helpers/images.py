"""Build real container image archives for the image-input tests.

``layer(...)`` makes one layer tar from simple entry tuples; ``docker_save``
and ``oci_layout`` wrap layers the way ``docker save`` and an OCI image
layout (``skopeo copy ... oci-archive:``) do, optionally gzip-compressed.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

# Entry shapes:
#   ("file", name, data) ("dir", name) ("symlink", name, target)
#   ("hardlink", name, target) ("whiteout", dir, name) ("opaque", dir)
#   ("chr", name) ("fifo", name)
Entry = tuple[Any, ...]


def _info(name: str, kind: bytes, size: int = 0, **kw: Any) -> tarfile.TarInfo:
    ti = tarfile.TarInfo(name)
    ti.type = kind
    ti.size = size
    ti.mode = kw.pop("mode", 0o644)
    for k, v in kw.items():
        setattr(ti, k, v)
    return ti


def layer(entries: Sequence[Entry], compress: str | None = None) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for e in entries:
            kind = e[0]
            if kind == "file":
                data = e[2] if isinstance(e[2], bytes) else e[2].encode()
                tf.addfile(_info(e[1], tarfile.REGTYPE, len(data)), io.BytesIO(data))
            elif kind == "dir":
                tf.addfile(_info(e[1], tarfile.DIRTYPE, mode=0o755))
            elif kind == "symlink":
                tf.addfile(_info(e[1], tarfile.SYMTYPE, linkname=e[2]))
            elif kind == "hardlink":
                tf.addfile(_info(e[1], tarfile.LNKTYPE, linkname=e[2]))
            elif kind == "whiteout":
                tf.addfile(_info(f"{e[1]}/.wh.{e[2]}", tarfile.REGTYPE))
            elif kind == "opaque":
                tf.addfile(_info(f"{e[1]}/.wh..wh..opq", tarfile.REGTYPE))
            elif kind == "chr":
                tf.addfile(_info(e[1], tarfile.CHRTYPE, devmajor=1, devminor=3))
            elif kind == "fifo":
                tf.addfile(_info(e[1], tarfile.FIFOTYPE))
            else:  # pragma: no cover
                raise ValueError(kind)
    raw = buf.getvalue()
    if compress == "gzip":
        return gzip.compress(raw, compresslevel=1, mtime=0)
    return raw


def _add(tf: tarfile.TarFile, name: str, data: bytes) -> None:
    tf.addfile(_info(name, tarfile.REGTYPE, len(data)), io.BytesIO(data))


def _config(env: Sequence[str], workdir: str = "/") -> bytes:
    return json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "config": {"Env": list(env), "WorkingDir": workdir},
            "rootfs": {"type": "layers", "diff_ids": []},
        }
    ).encode()


def _finish(path: Path, buf: io.BytesIO, outer_gzip: bool) -> Path:
    data = buf.getvalue()
    if outer_gzip:
        data = gzip.compress(data, compresslevel=1, mtime=0)
    path.write_bytes(data)
    return path


def docker_save(
    path: Path,
    layers: Sequence[bytes],
    *,
    env: Sequence[str] = ("PATH=/usr/bin",),
    outer_gzip: bool = False,
    tags: Sequence[str] = ("example/app:1",),
    manifest: Any = None,
    workdir: str = "/",
) -> Path:
    """A ``docker save`` archive: manifest.json, <id>.json, <id>/layer.tar."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        cfg = _config(env, workdir)
        cfg_name = hashlib.sha256(cfg).hexdigest() + ".json"
        names = []
        for i, blob in enumerate(layers):
            name = f"{i:064x}/layer.tar"
            _add(tf, name, blob)
            names.append(name)
        _add(tf, cfg_name, cfg)
        if manifest is None:
            manifest = [{"Config": cfg_name, "RepoTags": list(tags), "Layers": names}]
        _add(tf, "manifest.json", json.dumps(manifest).encode())
    return _finish(path, buf, outer_gzip)


def _blob(tf: tarfile.TarFile, data: bytes) -> str:
    digest = hashlib.sha256(data).hexdigest()
    _add(tf, f"blobs/sha256/{digest}", data)
    return f"sha256:{digest}"


def oci_layout(
    path: Path,
    layers: Sequence[bytes],
    *,
    env: Sequence[str] = ("PATH=/usr/bin",),
    outer_gzip: bool = False,
    multi_arch: bool = False,
    arch: str = "amd64",
    layer_media_type: str = "application/vnd.oci.image.layer.v1.tar+gzip",
) -> Path:
    """An OCI image layout tar; ``multi_arch`` adds a nested index with a decoy
    arm64 image (whose only layer would plant a marker) and an attestation."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        _add(tf, "oci-layout", b'{"imageLayoutVersion": "1.0.0"}')

        def image(layer_blobs: Sequence[bytes], image_env: Sequence[str]) -> tuple[str, int]:
            cfg = _config(image_env)
            cfg_digest = _blob(tf, cfg)
            descs = [
                {"mediaType": layer_media_type, "digest": _blob(tf, b), "size": len(b)}
                for b in layer_blobs
            ]
            manifest = json.dumps(
                {
                    "schemaVersion": 2,
                    "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "config": {
                        "mediaType": "application/vnd.oci.image.config.v1+json",
                        "digest": cfg_digest,
                        "size": len(cfg),
                    },
                    "layers": descs,
                }
            ).encode()
            return _blob(tf, manifest), len(manifest)

        digest, size = image(layers, env)
        top: dict[str, Any] = {
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": digest,
            "size": size,
            "annotations": {"org.opencontainers.image.ref.name": "example/app:oci"},
        }
        if multi_arch:
            decoy = layer([("file", "etc/ssl/certs/DECOY.pem", b"decoy")])
            d_digest, d_size = image([decoy], ["DECOY=1"])
            att_digest, att_size = image([layer([])], [])
            nested = json.dumps(
                {
                    "schemaVersion": 2,
                    "mediaType": "application/vnd.oci.image.index.v1+json",
                    "manifests": [
                        {
                            "mediaType": "application/vnd.oci.image.manifest.v1+json",
                            "digest": att_digest,
                            "size": att_size,
                            "platform": {"os": "unknown", "architecture": "unknown"},
                            "annotations": {"vnd.docker.reference.type": "attestation-manifest"},
                        },
                        {
                            "mediaType": "application/vnd.oci.image.manifest.v1+json",
                            "digest": d_digest,
                            "size": d_size,
                            "platform": {"os": "linux", "architecture": "decoyarch"},
                        },
                        {
                            "mediaType": "application/vnd.oci.image.manifest.v1+json",
                            "digest": digest,
                            "size": size,
                            "platform": {"os": "linux", "architecture": arch},
                        },
                    ],
                }
            ).encode()
            n_digest = _blob(tf, nested)
            top = {
                "mediaType": "application/vnd.oci.image.index.v1+json",
                "digest": n_digest,
                "size": len(nested),
                "annotations": {"org.opencontainers.image.ref.name": "example/app:oci"},
            }
        index = {"schemaVersion": 2, "manifests": [top]}
        _add(tf, "index.json", json.dumps(index).encode())
    return _finish(path, buf, outer_gzip)
