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
import zlib
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


# -- images as blobs: for OCI layout directories and registry pushes -----------------------

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_CONFIG_TYPE = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


class Built:
    """An image (or index) as content-addressed blobs: ``top`` is the manifest/index."""

    def __init__(self, media_type: str, top: bytes, blobs: dict[str, bytes]) -> None:
        self.media_type = media_type
        self.top = top
        self.digest = sha256(top)
        self.blobs = dict(blobs)  # digest -> bytes, every blob and child manifest
        self.manifests: dict[str, tuple[str, bytes]] = {}  # child digest -> (type, body)

    def descriptor(self, **extra: Any) -> dict[str, Any]:
        return {"mediaType": self.media_type, "digest": self.digest, "size": len(self.top), **extra}


def _diff_id(blob: bytes) -> str:
    """The uncompressed digest; for a hostile blob (a bomb, garbage) just a placeholder."""
    if blob[:2] == b"\x1f\x8b":
        d = zlib.decompressobj(31)
        try:
            raw = d.decompress(blob, 64 * 1024 * 1024)
        except zlib.error:
            return sha256(blob)
        return sha256(raw) if d.eof else sha256(blob)
    return sha256(blob)


def build_image(
    layers: Sequence[bytes],
    *,
    env: Sequence[str] = ("PATH=/usr/bin",),
    arch: str = "amd64",
    docker_types: bool = False,
    layer_media_type: str | None = None,
    config_media_type: str | None = None,
) -> Built:
    """One image manifest with its config and layer blobs (OCI or Docker v2 media types)."""
    cfg = json.loads(_config(env))
    cfg["architecture"] = arch
    cfg["rootfs"]["diff_ids"] = [_diff_id(b) for b in layers]
    cfg_bytes = json.dumps(cfg).encode()
    ltype = layer_media_type or (DOCKER_LAYER if docker_types else OCI_LAYER_GZIP)
    mtype = DOCKER_MANIFEST if docker_types else OCI_MANIFEST
    ctype = config_media_type or (DOCKER_CONFIG_TYPE if docker_types else OCI_CONFIG)
    blobs = {sha256(cfg_bytes): cfg_bytes}
    descs = []
    for b in layers:
        blobs[sha256(b)] = b
        descs.append({"mediaType": ltype, "digest": sha256(b), "size": len(b)})
    manifest = {
        "schemaVersion": 2,
        "mediaType": mtype,
        "config": {"mediaType": ctype, "digest": sha256(cfg_bytes), "size": len(cfg_bytes)},
        "layers": descs,
    }
    return Built(mtype, json.dumps(manifest).encode(), blobs)


def build_index(
    images: Sequence[tuple[Built, str]], *, attestation: bool = True, docker_types: bool = False
) -> Built:
    """A multi-platform index of ``(image, "os/arch[/variant]")``, plus a buildkit attestation."""
    entries = []
    blobs: dict[str, bytes] = {}
    children: dict[str, tuple[str, bytes]] = {}
    for img, plat in images:
        os_name, arch, *variant = plat.split("/")
        p: dict[str, str] = {"os": os_name, "architecture": arch}
        if variant:
            p["variant"] = variant[0]
        entries.append(img.descriptor(platform=p))
        blobs.update(img.blobs)
        children[img.digest] = (img.media_type, img.top)
    if attestation:
        att = build_image([layer([])], env=[])
        blobs.update(att.blobs)
        children[att.digest] = (att.media_type, att.top)
        entries.insert(
            0,
            att.descriptor(
                platform={"os": "unknown", "architecture": "unknown"},
                annotations={"vnd.docker.reference.type": "attestation-manifest"},
            ),
        )
    mtype = DOCKER_LIST if docker_types else OCI_INDEX
    index = {"schemaVersion": 2, "mediaType": mtype, "manifests": entries}
    built = Built(mtype, json.dumps(index).encode(), blobs)
    built.manifests = children
    return built


def write_layout_dir(path: Path, image: Built, ref_name: str = "example/app:oci") -> Path:
    """An OCI image layout directory (what ``skopeo copy ... oci:DIR`` writes)."""
    blobs = path / "blobs" / "sha256"
    blobs.mkdir(parents=True, exist_ok=True)
    (path / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    for digest, data in {
        **image.blobs,
        **{d: body for d, (_t, body) in image.manifests.items()},
        image.digest: image.top,
    }.items():
        (blobs / digest.split(":", 1)[1]).write_bytes(data)
    index = {
        "schemaVersion": 2,
        "manifests": [
            image.descriptor(annotations={"org.opencontainers.image.ref.name": ref_name})
        ],
    }
    (path / "index.json").write_text(json.dumps(index))
    return path


def write_layout_tar(path: Path, layout_dir: Path) -> Path:
    """The layout directory as an OCI archive (``oci-archive:``)."""
    with tarfile.open(path, "w") as tf:
        for p in sorted(layout_dir.rglob("*")):
            tf.add(p, arcname=str(p.relative_to(layout_dir)), recursive=False)
    return path


def layer_from_dir(root: Path, compress: str | None = "gzip") -> bytes:
    """A layer holding the tree under ``root`` (links kept as links, names relative)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for p in sorted(root.rglob("*")):
            tf.add(p, arcname=str(p.relative_to(root)), recursive=False)
    raw = buf.getvalue()
    return gzip.compress(raw, compresslevel=1, mtime=0) if compress == "gzip" else raw
