"""Bad input of every kind, through every command: one line, a documented code, no leak.

The house rule (docs/cli.md, "Exit codes"): garbage files, private keys,
FIFOs, symlink loops, unreadable files, hostile archives, wrong flags... give
exactly one line on stderr starting ``trustdoctor:`` (or argparse's one-line
usage error), exit 2 (usage/input) or 3 (could not complete), never a
traceback, never a hang, and never any private key material on stdout or
stderr.

Every case runs twice: in-process through ``trustdoctor.cli.main.main`` (with
an alarm so that a hang fails instead of blocking the suite) and as a real
``python -m trustdoctor`` subprocess (all subprocesses run concurrently, once
per session).  Commands whose module is absent are skipped.  Nothing here
reaches beyond loopback, reads the host's trust store on purpose or writes
outside ``tmp_path``; ``fix`` never runs with ``--apply`` on ``/``.

The property tests at the end feed arbitrary and mutated bytes to the loaders.
"""

from __future__ import annotations

import base64
import concurrent.futures
import contextlib
import importlib.util
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tarfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import pytest
from cryptography.hazmat.primitives import serialization as ser
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

import trustdoctor
from helpers.images import docker_save, layer
from trustdoctor.cli.main import COMMANDS, main
from trustdoctor.lab import pki

SRC = str(Path(trustdoctor.__file__).resolve().parent.parent)
IN_PROCESS_LIMIT = 5.0  # seconds per case, in-process
SUBPROCESS_LIMIT = 20.0  # per case, interpreter start-up included, 8 at a time
RANDOM_SIZE = 20 * 1024 * 1024
NON_UTF8 = os.fsdecode(b"key-\xff\xfe.pem")  # a key under an undecodable name


# -- the bad inputs ----------------------------------------------------------------


@dataclass(frozen=True)
class Inputs:
    dir: Path
    paths: dict[str, str]
    secrets: tuple[str, ...]  # fragments of private keys that must never be printed


def _key_files(d: Path, h: pki.Hierarchy) -> tuple[dict[str, str], list[str]]:
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ed_key = ed25519.Ed25519PrivateKey.generate()
    ec_key = ec.generate_private_key(ec.SECP256R1())
    none = ser.NoEncryption()
    files = {
        "key_pem": h.leaf.key_pem,  # PKCS#8 EC, the leaf's own key
        "key_rsa": rsa_key.private_bytes(
            ser.Encoding.PEM, ser.PrivateFormat.TraditionalOpenSSL, none
        ),
        "key_ec_trad": ec_key.private_bytes(
            ser.Encoding.PEM, ser.PrivateFormat.TraditionalOpenSSL, none
        ),
        "key_der": ec_key.private_bytes(ser.Encoding.DER, ser.PrivateFormat.PKCS8, none),
        "key_rsa_der": rsa_key.private_bytes(
            ser.Encoding.DER, ser.PrivateFormat.TraditionalOpenSSL, none
        ),
        "key_enc": rsa_key.private_bytes(
            ser.Encoding.PEM, ser.PrivateFormat.PKCS8, ser.BestAvailableEncryption(b"secret")
        ),
        "key_ssh": ed_key.private_bytes(ser.Encoding.PEM, ser.PrivateFormat.OpenSSH, none),
        # A certificate followed by its key: the certificate is usable, the key never shown.
        "certkey": h.leaf.pem + h.intermediate.pem + h.leaf.key_pem,
    }
    paths: dict[str, str] = {}
    secrets: list[str] = []
    for name, data in files.items():
        p = d / f"{name}.bin"
        p.write_bytes(data)
        paths[name] = str(p)
    nonutf8 = os.path.join(os.fsencode(d), os.fsencode(NON_UTF8))
    with open(nonutf8, "wb") as fh:
        fh.write(files["key_rsa"])
    paths["key_nonutf8"] = os.fsdecode(nonutf8)
    for data in files.values():
        if b"-----BEGIN" in data:
            # Only the key blocks: a certificate's base64 may be printed.
            for _, body in re.findall(
                r"-----BEGIN ([A-Z ]*PRIVATE KEY)-----(.*?)-----END", data.decode(), re.S
            ):
                secrets.extend(ln.strip() for ln in body.splitlines() if len(ln.strip()) >= 24)
        else:
            b64 = base64.b64encode(data).decode()
            secrets.extend(b64[i : i + 32] for i in range(0, len(b64) - 32, 32))
            secrets.append(data.hex()[40:104])
    return paths, secrets


def _pem(der: bytes) -> bytes:
    return (
        b"-----BEGIN CERTIFICATE-----\n" + base64.encodebytes(der) + b"-----END CERTIFICATE-----\n"
    )


def _bad_certificates(h: pki.Hierarchy) -> dict[str, bytes]:
    """Certificates cryptography loads, or half-loads, and then refuses."""
    from cryptography.hazmat.primitives.serialization import pkcs7

    # X.509 version 10: load_der_x509_certificate raises InvalidVersion (no ValueError).
    v10 = bytearray(h.root.der)
    at = v10.find(bytes.fromhex("a003020102"))
    v10[at + 4] = 0x0A
    # An invalid UTF8String in the subject: loads, and fails when the name is read.
    cn = h.leaf.cert.subject.rfc4514_string().split("=", 1)[1].encode()
    bad_utf8 = h.leaf.der.replace(cn, cn[:3] + b"\xff" + cn[4:], 1)
    # PKCS#7 that is not signedData: UnsupportedAlgorithm (no ValueError).
    p7 = pkcs7.serialize_certificates([h.leaf.cert], ser.Encoding.DER)
    signed, data = bytes.fromhex("2a864886f70d010702"), bytes.fromhex("2a864886f70d010701")
    return {
        "cert_v10.pem": _pem(bytes(v10)),
        "cert_badname.pem": _pem(bad_utf8) + h.intermediate.pem,
        "cert_badname.der": bad_utf8,
        "p7_notsigned.p7b": p7.replace(signed, data, 1),
        # 16 MiB of certificates: more than MAX_CERTS, refused in linear time.
        "many_certs.pem": h.leaf.pem * (16 * 1024 * 1024 // len(h.leaf.pem)),
    }


def _hostile_root(root: Path, h: pki.Hierarchy, outside: Path) -> Path:
    """A filesystem root whose trust files are traps: broken certificates in the
    bundle, a FIFO, a symlink loop, links out of the root, an unreadable-to-all
    huge file.  Reading it must finish, stay inside and report, not crash."""
    bad = _bad_certificates(h)
    certs = root / "etc/ssl/certs"
    certs.mkdir(parents=True)
    (certs / "ca-certificates.crt").write_bytes(
        bad["cert_v10.pem"] + bad["cert_badname.pem"] + h.root.pem
    )
    (certs / "bad.pem").write_bytes(bad["cert_badname.pem"])
    os.mkfifo(root / "etc/ssl/cert.pem")
    os.symlink("loop2", certs / "loop1")
    os.symlink("loop1", certs / "loop2")
    os.symlink("/etc/shadow", certs / "host-shadow.pem")
    os.symlink("../../../../../../../../" + str(outside).lstrip("/"), certs / "up.pem")
    pki_dir = root / "etc/pki/tls/certs"
    pki_dir.mkdir(parents=True)
    os.symlink("/etc/ssl/certs/ca-certificates.crt", pki_dir / "ca-bundle.crt")
    java = root / "etc/ssl/certs/java"
    java.mkdir()
    (java / "cacerts").write_bytes(os.urandom(4096))
    return root


def _images(d: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    ca = pki.hierarchy().root.pem
    # A layer member climbing out of the root.
    out["img_dotdot"] = str(
        docker_save(
            d / "dotdot.tar",
            [layer([("file", "etc/ssl/certs/ok.pem", ca), ("file", "../../../tmp/x", "x")])],
        )
    )
    # An absolute member and a link to the host's /etc.
    out["img_abs"] = str(
        docker_save(
            d / "abs.tar",
            [layer([("symlink", "etc/ssl", "/etc/ssl"), ("file", "/etc/ssl/certs/x.pem", ca)])],
        )
    )
    # The manifest names a layer outside the archive.
    out["img_manifest"] = str(
        docker_save(
            d / "manifest.tar",
            [layer([("file", "etc/ssl/certs/ok.pem", ca)])],
            manifest=[{"Config": "../../etc/passwd", "Layers": ["../../../etc/shadow"]}],
        )
    )
    # The outer archive itself with a traversal member and no manifest.
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        ti = tarfile.TarInfo("../../outside.txt")
        ti.size = 3
        tf.addfile(ti, io.BytesIO(b"bad"))
    (d / "outer.tar").write_bytes(buf.getvalue())
    out["img_outer"] = str(d / "outer.tar")
    return out


@pytest.fixture(scope="session")
def bad(tmp_path_factory: pytest.TempPathFactory) -> Inputs:
    d = tmp_path_factory.mktemp("bad")
    h = pki.hierarchy()
    paths: dict[str, str] = {}

    def put(name: str, data: bytes) -> None:
        (d / name).write_bytes(data)
        paths[name.split(".")[0]] = str(d / name)

    put("leaf.pem", h.leaf.pem)
    put("full.pem", h.leaf.pem + h.intermediate.pem)
    put("root.pem", h.root.pem)
    put("garbage.txt", b"hello\x00world\xff\xfe not a certificate\n")
    with open(d / "random.bin", "wb") as fh:
        fh.write(os.urandom(RANDOM_SIZE))
    paths["random"] = str(d / "random.bin")
    (d / "dir").mkdir()
    (d / "dir" / "inside.txt").write_text("x")
    paths["dir"] = str(d / "dir")
    os.mkfifo(d / "fifo")
    paths["fifo"] = str(d / "fifo")
    os.symlink("loop_b", d / "loop_a")
    os.symlink("loop_a", d / "loop_b")
    paths["loop"] = str(d / "loop_a")
    os.symlink("nowhere", d / "dangling")
    paths["dangling"] = str(d / "dangling")
    paths["missing"] = str(d / "missing.pem")
    paths["devnull"] = os.devnull
    (d / "out").mkdir()
    paths["outdir"] = str(d / "out")
    (d / "emptyroot").mkdir()
    paths["emptyroot"] = str(d / "emptyroot")
    for name, data in _bad_certificates(h).items():
        (d / name).write_bytes(data)
        paths[name.replace(".", "_")] = str(d / name)
    paths["hostileroot"] = str(_hostile_root(d / "hostileroot", h, d))
    from cryptography.hazmat.primitives.serialization import pkcs12

    put(
        "protected.p12",
        pkcs12.serialize_key_and_certificates(
            b"x", h.leaf.key, h.leaf.cert, [h.intermediate.cert], ser.BestAvailableEncryption(b"pw")
        ),
    )
    put("nulpassword.txt", b"p\x00w")  # cryptography panics on a NUL in a PKCS#12 password
    put("empty.txt", b"")
    keys, secrets = _key_files(d, h)
    paths.update(keys)
    paths.update(_images(d))
    return Inputs(d, paths, tuple(secrets))


# -- the cases -------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    id: str
    argv: tuple[str, ...]  # {name} is replaced by bad.paths[name]
    codes: frozenset[int] = frozenset({2})

    @property
    def command(self) -> str:
        return self.argv[0]


def _c(id: str, *argv: str, codes: tuple[int, ...] = (2,)) -> Case:
    return Case(id, argv, frozenset(codes))


KEYS = (
    "key_pem",
    "key_rsa",
    "key_ec_trad",
    "key_der",
    "key_rsa_der",
    "key_enc",
    "key_ssh",
    "key_nonutf8",
)
NOT_CERTS = (
    "missing",
    "dir",
    "devnull",
    "fifo",
    "random",
    "garbage",
    "loop",
    "dangling",
    "cert_v10_pem",
    "cert_badname_pem",
    "cert_badname_der",
    "p7_notsigned_p7b",
    "many_certs_pem",
)
IMAGES = (
    "garbage",
    "dir",
    "fifo",
    "random",
    "missing",
    "loop",
    "img_dotdot",
    "img_abs",
    "img_manifest",
    "img_outer",
)
LOOPBACK = "127.0.0.1:1"  # nothing listens; never reached by these cases anyway
SCAN_NOT_LISTS = ("missing", "dir", "loop", "dangling", "devnull", "fifo", "random", "garbage",
                  "empty", "leaf", "certkey")  # fmt: skip

CASES: list[Case] = [
    # chain
    _c("chain-unknown-flag", "chain", "--bogus", "{leaf}"),
    _c("chain-no-file", "chain"),
    _c("chain-stdin-empty", "chain", "-", "--trust", "{root}"),
    *(_c(f"chain-{n}", "chain", f"{{{n}}}", "--trust", "{root}") for n in NOT_CERTS),
    *(_c(f"chain-{k}", "chain", f"{{{k}}}", "--trust", "{root}") for k in KEYS),
    *(_c(f"chain-trust-{k}", "chain", "{leaf}", "--trust", f"{{{k}}}") for k in KEYS[:3]),
    _c(
        "chain-intermediates-key",
        "chain",
        "{leaf}",
        "--trust",
        "{root}",
        "--intermediates",
        "{key_ssh}",
    ),
    _c(
        "chain-certkey",
        "chain",
        "{certkey}",
        "--trust",
        "{root}",
        "--format",
        "json",
        codes=(0, 1, 2),
    ),
    *(
        _c(f"chain-trust-{n}", "chain", "{leaf}", "--trust", f"{{{n}}}")
        for n in (
            "missing",
            "random",
            "fifo",
            "loop",
            "devnull",
            "cert_v10_pem",
            "cert_badname_der",
        )
    ),
    _c("chain-root-file", "chain", "{leaf}", "--root", "{leaf}"),
    _c("chain-root-missing", "chain", "{leaf}", "--root", "{missing}"),
    _c("chain-root-fifo", "chain", "{leaf}", "--root", "{fifo}"),
    _c("chain-root-and-image", "chain", "{leaf}", "--root", "{dir}", "--image", "{garbage}"),
    *(_c(f"chain-image-{n}", "chain", "{leaf}", "--image", f"{{{n}}}") for n in IMAGES),
    _c("chain-pid-huge", "chain", "{leaf}", "--pid", "999999999"),
    _c("chain-pid-text", "chain", "{leaf}", "--pid", "abc"),
    _c("chain-env-bad", "chain", "{leaf}", "--env", "BAD"),
    _c("chain-env-empty-key", "chain", "{leaf}", "--env", "=x"),
    *(
        _c(f"chain-env-file-{n}", "chain", "{leaf}", "--env-file", f"{{{n}}}")
        for n in ("missing", "dir", "random")
    ),
    _c("chain-at-garbage", "chain", "{leaf}", "--at", "garbage"),
    _c("chain-at-month-13", "chain", "{leaf}", "--at", "2026-13-01"),
    _c("chain-client-unknown", "chain", "{leaf}", "--client", "nope"),
    _c("chain-format-unknown", "chain", "{leaf}", "--format", "xml"),
    _c("chain-password-file-missing", "chain", "{leaf}", "--password-file", "{missing}"),
    _c("chain-password-file-dir", "chain", "{leaf}", "--password-file", "{dir}"),
    _c("chain-p12-nul-password", "chain", "{protected}", "--password-file", "{nulpassword}"),
    _c("chain-p12-no-password", "chain", "{protected}", "--trust", "{root}"),
    _c("chain-p12-wrong-password", "chain", "{protected}", "--password", "nope"),
    _c("chain-password-both", "chain", "{leaf}", "--password", "x", "--password-file", "{leaf}"),
    # diagnose: every one of these must fail before any connection
    _c("diagnose-no-target", "diagnose"),
    _c("diagnose-empty-target", "diagnose", ""),
    _c("diagnose-spaces", "diagnose", "a b"),
    _c("diagnose-bad-port", "diagnose", "127.0.0.1:99999"),
    _c("diagnose-bad-v6", "diagnose", "[::1"),
    _c("diagnose-plain-http", "diagnose", "http://127.0.0.1/"),
    *(
        _c(f"diagnose-timeout-{v}", "diagnose", LOOPBACK, f"--timeout={v}")
        for v in ("-1", "nan", "1e9", "inf", "abc", "0")
    ),
    _c("diagnose-timeout-negative-split", "diagnose", LOOPBACK, "--timeout", "-1"),
    _c("diagnose-4-and-6", "diagnose", LOOPBACK, "-4", "-6"),
    _c("diagnose-starttls-unknown", "diagnose", LOOPBACK, "--starttls", "gopher"),
    _c("diagnose-proxy-ftp", "diagnose", LOOPBACK, "--proxy", "ftp://127.0.0.1:1"),
    _c("diagnose-client-unknown", "diagnose", LOOPBACK, "--client", "nope"),
    _c("diagnose-trust-key", "diagnose", LOOPBACK, "--trust", "{key_pem}"),
    _c("diagnose-trust-random", "diagnose", LOOPBACK, "--trust", "{random}"),
    _c("diagnose-connect-to", "diagnose", LOOPBACK, "--connect-to", "a b"),
    _c("diagnose-servername", "diagnose", LOOPBACK, "--servername", "a b"),
    _c("diagnose-root-file", "diagnose", LOOPBACK, "--root", "{leaf}"),
    _c("diagnose-image-garbage", "diagnose", LOOPBACK, "--image", "{garbage}"),
    _c("diagnose-image-dotdot", "diagnose", LOOPBACK, "--image", "{img_dotdot}"),
    _c("diagnose-pid", "diagnose", LOOPBACK, "--pid", "999999999"),
    _c("diagnose-env", "diagnose", LOOPBACK, "--env", "BAD"),
    _c("diagnose-at", "diagnose", LOOPBACK, "--at", "garbage"),
    # stores
    _c("stores-unknown-flag", "stores", "--bogus"),
    _c("stores-root-file", "stores", "--root", "{leaf}"),
    _c("stores-root-missing", "stores", "--root", "{missing}"),
    _c("stores-root-loop", "stores", "--root", "{loop}"),
    *(_c(f"stores-image-{n}", "stores", "--image", f"{{{n}}}") for n in IMAGES),
    _c("stores-pid", "stores", "--pid", "999999999"),
    _c("stores-env", "stores", "--env", "BAD"),
    _c("stores-env-file", "stores", "--env-file", "{random}"),
    _c("stores-client", "stores", "--client", "nope"),
    *(
        _c(f"stores-ca-{n}", "stores", "--root", "{emptyroot}", "--ca", f"{{{n}}}")
        for n in (*NOT_CERTS, *KEYS)
    ),
    _c("stores-fingerprint", "stores", "--fingerprint", "zz"),
    _c("stores-hostile-root", "stores", "--root", "{hostileroot}", codes=(0,)),
    _c(
        "stores-hostile-root-json",
        "stores",
        "--root",
        "{hostileroot}",
        "--format",
        "json",
        "--anchors",
        codes=(0,),
    ),
    _c(
        "stores-hostile-root-ca",
        "stores",
        "--root",
        "{hostileroot}",
        "--ca",
        "{root}",
        codes=(0, 1),
    ),
    _c("chain-hostile-root", "chain", "{full}", "--root", "{hostileroot}", codes=(0, 1)),
    _c("fix-hostile-root", "fix", "--root", "{hostileroot}", "--ca", "{root}", codes=(0, 1)),
    _c("stores-ca-and-fingerprint", "stores", "--ca", "{root}", "--fingerprint", "00" * 32),
    # explain: unrecognisable input is "nothing recognised" (exit 1), not an error
    _c("explain-unknown-flag", "explain", "--bogus"),
    _c(
        "explain-format",
        "explain",
        "x509: certificate signed by unknown authority",
        "--format",
        "xml",
    ),
    *(
        _c(f"explain-file-{n}", "explain", "--file", f"{{{n}}}")
        for n in ("missing", "dir", "loop", "dangling")
    ),
    *(
        _c(f"explain-file-{n}", "explain", "--file", f"{{{n}}}", codes=(1,))
        for n in ("devnull", "fifo", "random", "garbage", "key_pem", "key_ssh", "certkey")
    ),
    _c("explain-key-as-message", "explain", "@key_pem", codes=(1,)),
    # scan: a file that is no list of targets stops before any connection
    *(
        _c(f"scan-file-{n}", "scan", f"{{{n}}}", "--client", "go")
        for n in (*SCAN_NOT_LISTS, *KEYS)
    ),
    _c("scan-nothing", "scan"),
    _c("scan-unknown-flag", "scan", "--bogus"),
    _c("scan-format", "scan", "--target", LOOPBACK, "--format", "xml"),
    _c("scan-concurrency", "scan", "--target", LOOPBACK, "--concurrency", "0"),
    _c("scan-deadline", "scan", "--target", LOOPBACK, "--deadline", "nan"),
    _c("scan-timeout", "scan", "--target", LOOPBACK, "--timeout", "inf"),
    _c("scan-proxy", "scan", "--target", LOOPBACK, "--proxy", "ftp://x"),
    _c("scan-key-as-target", "scan", "--target", "@key_pem", "--client", "go"),
    # lab
    _c("lab-unknown-flag", "lab", "--bogus"),
    _c("lab-unknown-scenario", "lab", "no-such-scenario"),
    _c("lab-format", "lab", "--format", "xml"),
    # fix (never --apply on /)
    _c("fix-nothing", "fix"),
    _c("fix-unknown-flag", "fix", "--bogus"),
    *(
        _c(f"fix-ca-{n}", "fix", "--root", "{emptyroot}", "--ca", f"{{{n}}}")
        for n in (*NOT_CERTS, *KEYS)
    ),
    _c("fix-ca-key-apply", "fix", "--ca", "{key_ssh}", "--apply", "--yes", "--root", "{emptyroot}"),
    _c("fix-cause-unknown", "fix", "--cause", "nope"),
    _c("fix-yes-without-apply", "fix", "--ca", "{root}", "--yes", "--root", "{emptyroot}"),
    _c("fix-root-file", "fix", "--ca", "{root}", "--root", "{leaf}"),
    _c("fix-image-dotdot", "fix", "--ca", "{root}", "--image", "{img_dotdot}"),
    _c("fix-image-garbage", "fix", "--ca", "{root}", "--image", "{garbage}"),
    _c("fix-env", "fix", "--ca", "{root}", "--env", "BAD"),
    _c("fix-pid", "fix", "--ca", "{root}", "--pid", "999999999"),
    _c("fix-client", "fix", "--ca", "{root}", "--client", "nope"),
    _c("fix-server", "fix", "--ca", "{root}", "--server", "nope"),
    *(
        _c(
            f"fix-dockerfile-{n}",
            "fix",
            "--root",
            "{emptyroot}",
            "--ca",
            "{root}",
            "--dockerfile",
            f"{{{n}}}",
        )
        for n in ("missing", "dir", "random", "loop")
    ),
    _c("fix-for-key", "fix", "--for", "{key_pem}"),
    _c("fix-for-random", "fix", "--for", "{random}"),
    _c("fix-timeout", "fix", "--for", LOOPBACK, "--timeout", "nan"),
    # bundle (a file target, --no-fetch: no network at all)
    *(
        _c(f"bundle-{n}", "bundle", f"{{{n}}}", "--no-fetch")
        for n in ("dir", "devnull", "fifo", "random", "garbage", "loop", *KEYS)
    ),
    _c("bundle-missing", "bundle", "./missing-file.pem", "--no-fetch"),
    *(
        _c(
            f"bundle-key-{n}",
            "bundle",
            "{full}",
            "--trust",
            "{root}",
            "--no-fetch",
            "--key",
            f"{{{n}}}",
        )
        for n in ("garbage", "random", "fifo", "dir", "missing", "key_enc")
    ),
    _c(
        "bundle-key-password-without-key",
        "bundle",
        "{full}",
        "--no-fetch",
        "--key-password-file",
        "{leaf}",
    ),
    *(
        _c(
            f"bundle-out-{n}",
            "bundle",
            "{full}",
            "--trust",
            "{root}",
            "--no-fetch",
            "--out",
            f"{{{n}}}",
        )
        for n in ("outdir", "fifo", "loop", "dangling")
    ),
    _c(
        "bundle-out-no-dir",
        "bundle",
        "{full}",
        "--trust",
        "{root}",
        "--no-fetch",
        "--out",
        "/nonexistent-trustdoctor-dir/x.pem",
    ),
    _c("bundle-at", "bundle", "{full}", "--at", "garbage", "--no-fetch"),
    _c("bundle-timeout", "bundle", "{full}", "--timeout", "nan", "--no-fetch"),
    _c("bundle-client", "bundle", "{full}", "--client", "nope", "--no-fetch"),
    _c("bundle-trust-key", "bundle", "{full}", "--trust", "{key_rsa}", "--no-fetch"),
    _c(
        "bundle-intermediates-key",
        "bundle",
        "{full}",
        "--trust",
        "{root}",
        "--intermediates",
        "{key_ssh}",
        "--no-fetch",
    ),
    _c("bundle-cache-file", "bundle", "{full}", "--trust", "{root}", "--cache", "{leaf}"),
    _c("bundle-format", "bundle", "{full}", "--format", "xml"),
    # A matching key is read and checked, never printed (text, JSON and PEM views).
    *(
        _c(
            f"bundle-good-key-{fmt}",
            "bundle",
            "{full}",
            "--trust",
            "{root}",
            "--no-fetch",
            "--key",
            "{key_pem}",
            "--format",
            fmt,
            codes=(0,),
        )
        for fmt in ("text", "json", "pem")
    ),
    _c("bundle-certkey", "bundle", "{certkey}", "--trust", "{root}", "--no-fetch", codes=(0, 1, 2)),
]


def _available(command: str) -> bool:
    mod = COMMANDS.get(command, (None,))[0]
    return mod is not None and importlib.util.find_spec(mod) is not None


def _argv(case: Case, bad: Inputs) -> list[str]:
    out = []
    for a in case.argv:
        if a.startswith("@"):  # the content of a file, as one argument
            out.append(Path(bad.paths[a[1:]]).read_text())
        else:
            out.append(a.format(**bad.paths))
    return out


# -- the checks --------------------------------------------------------------------


USAGE_LINE = re.compile(r"^trustdoctor( [a-z]+)?: error: .+ \(see --help\)$")


def check(
    case: Case, rc: int, out: str, err: str, elapsed: float, limit: float, bad: Inputs
) -> None:
    where = f"{case.id}: rc={rc} stderr={err[-600:]!r}"
    assert "Traceback" not in err and "Traceback" not in out, where
    assert rc in case.codes, where
    lines = [ln for ln in err.splitlines() if ln.strip()]
    if rc in (2, 3):
        assert len(lines) == 1, where
        assert lines[0].startswith("trustdoctor: ") or USAGE_LINE.match(lines[0]), where
        assert len(lines[0]) < 1200, where  # one line, not a dump
    for secret in bad.secrets:
        assert secret not in out and secret not in err, f"{case.id}: private key material printed"
    assert elapsed < limit, f"{case.id}: took {elapsed:.1f}s"


class Hung(BaseException):
    """Raised by the alarm: not an Exception, so no `except Exception` can swallow it."""


@contextlib.contextmanager
def alarm(seconds: float) -> Iterator[None]:
    def fire(signum: int, frame: FrameType | None) -> None:
        raise Hung(f"no answer within {seconds}s")

    old = signal.signal(signal.SIGALRM, fire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


@pytest.fixture
def quiet_env(monkeypatch: pytest.MonkeyPatch, bad: Inputs) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(bad.dir / "cache"))
    for var in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"")))


def _ids(cases: list[Case]) -> list[str]:
    return [c.id for c in cases]


@pytest.mark.parametrize("case", CASES, ids=_ids(CASES))
def test_in_process(
    case: Case, bad: Inputs, quiet_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    if not _available(case.command):
        pytest.skip(f"no `{case.command}` command in this tree")
    argv = _argv(case, bad)
    start = time.monotonic()
    cpu = time.process_time()
    with alarm(IN_PROCESS_LIMIT * 2):  # a blocked (not computing) case ends here
        rc = main(argv)
    # The bound is on the work done (CPU time): a busy machine must not fail it.
    elapsed = time.process_time() - cpu
    cap = capsys.readouterr()
    check(case, rc, cap.out, cap.err, elapsed, IN_PROCESS_LIMIT, bad)
    # Nothing escaped into the parent of the inputs (a tar's ../ member...).
    assert not (bad.dir.parent / "outside.txt").exists()
    assert not Path("/tmp/x").exists() or Path("/tmp/x").stat().st_mtime < start


def _run_subprocess(case: Case, bad: Inputs) -> tuple[int, str, str, float]:
    env = {k: v for k, v in os.environ.items() if not k.upper().endswith("_PROXY")}
    env.update(NO_COLOR="1", XDG_CACHE_HOME=str(bad.dir / "cache"), PYTHONPATH=SRC)
    env.pop("FORCE_COLOR", None)
    start = time.monotonic()
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "trustdoctor", *_argv(case, bad)],
            capture_output=True,
            env=env,
            stdin=subprocess.DEVNULL,
            timeout=SUBPROCESS_LIMIT * 2,
        )
    except subprocess.TimeoutExpired:
        return -999, "", "hung", time.monotonic() - start
    # stderr as a terminal would show it; stdout must be text the user can read.
    return (
        proc.returncode,
        proc.stdout.decode("utf-8", "backslashreplace"),
        proc.stderr.decode("utf-8", "backslashreplace"),
        time.monotonic() - start,
    )


@pytest.fixture(scope="session")
def subprocess_results(bad: Inputs) -> dict[str, tuple[int, str, str, float]]:
    todo = [c for c in CASES if _available(c.command)]
    workers = max(2, min(8, os.cpu_count() or 2))
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        futures = {c.id: pool.submit(_run_subprocess, c, bad) for c in todo}
        return {k: f.result() for k, f in futures.items()}


@pytest.mark.parametrize("case", CASES, ids=_ids(CASES))
def test_subprocess(
    case: Case, bad: Inputs, subprocess_results: dict[str, tuple[int, str, str, float]]
) -> None:
    if not _available(case.command):
        pytest.skip(f"no `{case.command}` command in this tree")
    rc, out, err, elapsed = subprocess_results[case.id]
    check(case, rc, out, err, elapsed, SUBPROCESS_LIMIT, bad)


def test_the_cases_cover_every_command_and_the_secrets_are_real(bad: Inputs) -> None:
    assert {c.command for c in CASES} >= {"chain", "diagnose", "stores", "explain", "lab"}
    assert len(bad.secrets) > 30
    # The secret fragments really are in the key files (the leak check can fail).
    joined = b"".join(Path(bad.paths[k]).read_bytes() for k in KEYS).decode("latin-1")
    hexed = "".join(Path(bad.paths[k]).read_bytes().hex() for k in KEYS)
    b64 = "".join(base64.b64encode(Path(bad.paths[k]).read_bytes()).decode() for k in KEYS)
    assert all(s in joined or s in hexed or s in b64 for s in bad.secrets)
    assert os.path.getsize(bad.paths["random"]) == RANDOM_SIZE


def test_a_leaked_key_would_be_caught(bad: Inputs) -> None:
    leak = Path(bad.paths["key_pem"]).read_text()
    case = _c("self-test", "chain", codes=(2,))
    with pytest.raises(AssertionError, match="private key material"):
        check(case, 2, leak, "trustdoctor: x\n", 0.1, 5, bad)
    with pytest.raises(AssertionError):
        check(case, 2, "", "Traceback (most recent call last):\n", 0.1, 5, bad)
    with pytest.raises(AssertionError):
        check(case, 2, "", "trustdoctor: a\ntrustdoctor: b\n", 0.1, 5, bad)


# -- arguments no shell can pass -------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ["chain", "a\x00b.pem"],
        ["chain", "{leaf}", "--trust", "a\x00b"],
        ["chain", "{leaf}", "--image", "\x00"],
        ["chain", "{leaf}", "--env-file", "a\x00b"],
        ["chain", "{leaf}", "--password-file", "a\x00b"],
        ["stores", "--ca", "a\x00b"],
        ["stores", "--root", "a\x00b"],
        ["explain", "--file", "a\x00b"],
        ["diagnose", "a\x00b"],
    ],
)
def test_nul_in_an_argument(
    argv: list[str], bad: Inputs, quiet_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    if not _available(argv[0]):
        pytest.skip(f"no `{argv[0]}` command in this tree")
    rc = main([a.replace("{leaf}", bad.paths["leaf"]) for a in argv])
    cap = capsys.readouterr()
    assert rc == 2
    assert cap.err.count("\n") == 1 and cap.err.startswith("trustdoctor: ")


def test_control_characters_in_a_file_name_are_escaped(
    bad: Inputs, quiet_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    name = str(bad.dir / "evil\x1b[2J\x07.pem")
    rc = main(["chain", name])
    err = capsys.readouterr().err
    assert rc == 2 and "\x1b" not in err and "\x07" not in err and "\\x1b[2J" in err


def test_non_utf8_name_of_a_certificate_prints(
    bad: Inputs, quiet_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    good = Path(bad.dir, os.fsdecode(b"chain-\xff.pem"))
    good.write_bytes(Path(bad.paths["full"]).read_bytes())
    for fmt in ("text", "json"):
        rc = main(["chain", str(good), "--trust", bad.paths["root"], "--format", fmt])
        cap = capsys.readouterr()
        assert rc == 0, cap.err
        cap.out.encode("utf-8")  # printable: no lone surrogate reached the stream
        if fmt == "json":
            json.loads(cap.out)


# -- an unreadable file, as a user who cannot read it -------------------------------

UNREADABLE_CASES = [
    ["chain", "{unreadable}", "--trust", "{root}"],
    ["chain", "{leaf}", "--trust", "{unreadable}"],
    ["stores", "--root", "{emptyroot}", "--ca", "{unreadable}"],
    ["explain", "--file", "{unreadable}"],
    ["stores", "--image", "{unreadable}"],
    ["fix", "--root", "{emptyroot}", "--ca", "{unreadable}"],
    ["bundle", "{unreadable}", "--trust", "{root}", "--no-fetch"],
    ["chain", "{leaf}", "--env-file", "{unreadable}"],
    ["chain", "{leaf}", "--trust", "{locked}"],
    ["stores", "--root", "{locked}/root"],
    ["bundle", "{full}", "--trust", "{root}", "--no-fetch", "--cache", "{locked}/cache"],
    ["chain", "{leaf}", "--password-file", "{unreadable}"],
]
UNPRIVILEGED = 65534  # nobody


@pytest.fixture
def unreadable(bad: Inputs) -> Iterator[dict[str, str]]:
    """Paths for the unreadable-file cases, in a directory nobody can traverse.

    pytest's own temporary directories sit below a 0700 directory, so the
    files the unprivileged user must read are copied to a fresh 0755 one.
    """
    import tempfile

    d = Path(tempfile.mkdtemp(prefix="trustdoctor-unreadable-"))
    try:
        d.chmod(0o755)
        paths = dict(bad.paths)
        for name in ("leaf", "root", "full"):
            shutil.copy(bad.paths[name], d / f"{name}.pem")
            paths[name] = str(d / f"{name}.pem")
        (d / "emptyroot").mkdir()
        paths["emptyroot"] = str(d / "emptyroot")
        shutil.copy(bad.paths["full"], d / "readable.pem")
        paths["readable"] = str(d / "readable.pem")
        target = d / "unreadable.pem"
        shutil.copy(bad.paths["full"], target)
        target.chmod(0)
        paths["unreadable"] = str(target)
        locked = d / "locked"  # a directory nobody may list or enter
        locked.mkdir()
        (locked / "root").mkdir()
        shutil.copy(bad.paths["root"], locked / "root.pem")
        locked.chmod(0)
        paths["locked"] = str(locked)
        (d / "cache").mkdir(mode=0o777)
        paths["cache"] = str(d / "cache")
        yield paths
    finally:
        (d / "locked").chmod(0o700)
        shutil.rmtree(d, ignore_errors=True)


def _check_unreadable(rc: int, err: str) -> None:
    assert rc == 2, err
    assert err.count("\n") == 1 and err.startswith("trustdoctor: ") and "Traceback" not in err
    assert "permission denied" in err.lower(), err


def _run_dropped(argv: list[str]) -> tuple[int, str]:
    """``main(argv)`` in a forked child running as nobody; (exit code, stderr).

    The child inherits the modules already imported, so it does not need to
    read the interpreter's own files (which nobody may not be able to read).
    """
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 99
        try:
            os.close(r)
            os.dup2(w, 2)
            os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
            os.setgroups([])
            os.setresgid(UNPRIVILEGED, UNPRIVILEGED, UNPRIVILEGED)
            os.setresuid(UNPRIVILEGED, UNPRIVILEGED, UNPRIVILEGED)
            sys.stdout = open(1, "w", closefd=False)  # noqa: SIM115
            sys.stderr = open(2, "w", closefd=False, errors="backslashreplace")  # noqa: SIM115
            code = main(argv)
            sys.stderr.flush()
        except BaseException as exc:  # report anything, never return into pytest
            os.write(2, f"Traceback (child): {exc!r}\n".encode())
        finally:
            os._exit(code)
    os.close(w)
    chunks = []
    with alarm(30):
        while chunk := os.read(r, 65536):
            chunks.append(chunk)
        _, status = os.waitpid(pid, 0)
    os.close(r)
    return os.waitstatus_to_exitcode(status), b"".join(chunks).decode("utf-8", "replace")


@pytest.mark.parametrize("argv", UNREADABLE_CASES, ids=lambda a: "-".join(a[:3]).replace("{", ""))
def test_unreadable_file_in_process(
    argv: list[str],
    unreadable: dict[str, str],
    quiet_env: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    if not _available(argv[0]):
        pytest.skip(f"no `{argv[0]}` command in this tree")
    paths = unreadable
    monkeypatch.setenv("XDG_CACHE_HOME", paths["cache"])
    if os.geteuid() != 0:
        rc = main([a.format(**paths) for a in argv])
        _check_unreadable(rc, capsys.readouterr().err)
        return
    # Root reads anything: warm the lazy imports up on a readable copy, then
    # drop to nobody in a child for the real run.
    main([a.format(**{**paths, "unreadable": paths["readable"]}) for a in argv])
    capsys.readouterr()
    rc, err = _run_dropped([a.format(**paths) for a in argv])
    _check_unreadable(rc, err)


def _as_nobody() -> list[str] | None:
    """A command prefix running as an unprivileged user, or None."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv:
        return [setpriv, f"--reuid={UNPRIVILEGED}", f"--regid={UNPRIVILEGED}", "--clear-groups"]
    runuser = shutil.which("runuser")
    if runuser:
        return [runuser, "-u", "nobody", "--"]
    return None


@pytest.mark.parametrize(
    "argv", UNREADABLE_CASES[:4], ids=lambda a: "-".join(a[:3]).replace("{", "")
)
def test_unreadable_file_subprocess(argv: list[str], unreadable: dict[str, str]) -> None:
    if not _available(argv[0]):
        pytest.skip(f"no `{argv[0]}` command in this tree")
    prefix = _as_nobody()
    if prefix is None:
        pytest.skip("running as root without setpriv/runuser: cannot drop privileges")
    paths = unreadable
    env = {k: v for k, v in os.environ.items() if not k.upper().endswith("_PROXY")}
    env.update(NO_COLOR="1", PYTHONPATH=SRC, XDG_CACHE_HOME=paths["cache"])
    # The unprivileged user must be able to run trustdoctor at all, with this
    # interpreter's dependencies (a root-only virtualenv or home directory
    # makes it fall back to other, possibly older, packages).
    probe = subprocess.run(
        [
            *prefix,
            sys.executable,
            "-m",
            "trustdoctor",
            "chain",
            paths["readable"],
            "--trust",
            paths["root"],
        ],
        capture_output=True,
        env=env,
        timeout=60,
        cwd="/",
        stdin=subprocess.DEVNULL,
    )
    if probe.returncode != 0:
        pytest.skip(
            "the unprivileged user cannot run trustdoctor with this interpreter's packages "
            f"(covered in-process instead): {probe.stderr.decode(errors='replace')[-160:]!r}"
        )
    proc = subprocess.run(
        [*prefix, sys.executable, "-m", "trustdoctor", *(a.format(**paths) for a in argv)],
        capture_output=True,
        env=env,
        timeout=60,
        stdin=subprocess.DEVNULL,
        cwd="/",
    )
    _check_unreadable(proc.returncode, proc.stderr.decode("utf-8", "backslashreplace"))


# -- properties: arbitrary bytes in, a result or our own error out -------------------------

hypothesis = pytest.importorskip("hypothesis", reason="hypothesis is not installed")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from trustdoctor.errors import InputError, UsageError  # noqa: E402
from trustdoctor.model.pem import iter_pem_blocks  # noqa: E402
from trustdoctor.model.target import parse_target  # noqa: E402
from trustdoctor.sources.files import load_bytes  # noqa: E402
from trustdoctor.stores.keystore import read_keystore  # noqa: E402

PROPERTY = settings(
    max_examples=150,
    deadline=3000,  # ms per example: "bounded time" with room for a slow CI box
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=True,
)


def _seeds() -> dict[str, list[bytes]]:
    from cryptography.hazmat.primitives.serialization import pkcs7, pkcs12

    h = pki.hierarchy()
    certs = [h.leaf.cert, h.intermediate.cert, h.root.cert]
    p7 = pkcs7.serialize_certificates(certs, ser.Encoding.DER)
    p12 = pkcs12.serialize_key_and_certificates(b"x", None, None, certs, ser.NoEncryption())
    p12_pw = pkcs12.serialize_key_and_certificates(
        b"x", h.leaf.key, h.leaf.cert, [h.intermediate.cert], ser.BestAvailableEncryption(b"pw")
    )
    return {
        "certs": [
            h.leaf.pem,
            h.leaf.der,
            h.leaf.pem + h.intermediate.pem,
            base64.b64encode(h.leaf.pem),
            h.leaf.pem.replace(b"CERTIFICATE", b"TRUSTED CERTIFICATE"),
            p7,
            pkcs7.serialize_certificates(certs, ser.Encoding.PEM),
            p12,
            p12_pw,
            b"> " + h.leaf.pem.replace(b"\n", b"\n> "),
            h.leaf.key_pem,
        ],
        "keystores": [_jks(certs), _jks(certs, magic=0xCECECECE), p12, p12_pw],
    }


def _jks(certs: list[object], *, magic: int = 0xFEEDFEED, password: str = "changeit") -> bytes:
    """A JKS (or JCEKS) keystore of trusted-certificate entries, written by hand."""
    import hashlib
    import struct

    from cryptography import x509

    body = struct.pack(">III", magic, 2, len(certs))
    for i, c in enumerate(certs):
        assert isinstance(c, x509.Certificate)
        der = c.public_bytes(ser.Encoding.DER)
        alias = f"ca{i}".encode()
        body += struct.pack(">I", 2) + struct.pack(">H", len(alias)) + alias
        body += struct.pack(">Q", 1_700_000_000_000)
        body += struct.pack(">H", 5) + b"X.509" + struct.pack(">I", len(der)) + der
    digest = hashlib.sha1(
        password.encode("utf-16-be") + b"Mighty Aphrodite" + body, usedforsecurity=False
    ).digest()
    return body + digest


SEEDS = _seeds()


@st.composite
def mutated(draw: st.DrawFn, kind: str) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS[kind])))
    for _ in range(draw(st.integers(0, 4))):
        op = draw(st.sampled_from(["flip", "truncate", "insert", "delete", "duplicate"]))
        if not data:
            break
        i = draw(st.integers(0, len(data) - 1))
        if op == "flip":
            data[i] ^= draw(st.integers(1, 255))
        elif op == "truncate":
            del data[i:]
        elif op == "insert":
            data[i:i] = draw(st.binary(max_size=64))
        elif op == "delete":
            del data[i : i + draw(st.integers(1, 64))]
        else:
            data[i:i] = data[i : i + draw(st.integers(1, 256))]
    return bytes(data)


PEMISH = st.lists(
    st.sampled_from(
        [
            b"-----BEGIN CERTIFICATE-----\n",
            b"-----END CERTIFICATE-----\n",
            b"-----BEGIN ",
            b"-----",
            b"MIIB",
            b"QUJD\n",
            b"Proc-Type: 4,ENCRYPTED\n\n",
            b"\n",
            b"=",
            b"\x00",
            b"-----BEGIN PRIVATE KEY-----\n",
            b"-----END PRIVATE KEY-----\n",
            b"\xff",
        ]
    ),
    max_size=40,
).map(b"".join)
ANY_BYTES = st.one_of(st.binary(max_size=4096), PEMISH, mutated("certs"))


@PROPERTY
@given(data=ANY_BYTES, password=st.one_of(st.none(), st.binary(max_size=8)))
def test_load_bytes_gives_certificates_or_an_input_error(
    data: bytes, password: bytes | None
) -> None:
    start = time.monotonic()
    try:
        loaded = load_bytes(data, "fuzz", password=password)
    except InputError as exc:
        assert "\n" not in exc.message and exc.message.startswith("fuzz")
    else:
        assert loaded.certs  # a result always has at least one certificate
    assert time.monotonic() - start < 2


@PROPERTY
@given(data=ANY_BYTES)
def test_iter_pem_blocks_never_raises(data: bytes) -> None:
    blocks = list(iter_pem_blocks(data))
    lines = [b.line for b in blocks]
    assert lines == sorted(lines) and all(1 <= n <= data.count(b"\n") + 1 for n in lines)


HOSTISH = st.one_of(
    st.text(max_size=80),
    st.builds(
        lambda scheme, host, port, rest: f"{scheme}{host}{port}{rest}",
        st.sampled_from(
            [
                "",
                "https://",
                "smtp://",
                "ldap://",
                "postgres://",
                "http://",
                "x://",
                "https:///",
                "//",
            ]
        ),
        st.one_of(
            st.sampled_from(
                [
                    "127.0.0.1",
                    "[::1]",
                    "::1",
                    "[fe80::1%eth0]",
                    "exa mple",
                    "xn--",
                    "bücher.example",
                    "a" * 300,
                    "-a-.b",
                    "1.2.3.4.5",
                    "[",
                    "]",
                    "_srv.example",
                ]
            ),
            st.text(max_size=20),
        ),
        st.one_of(
            st.just(""),
            st.integers(-5, 70000).map(lambda p: f":{p}"),
            st.text(max_size=6).map(lambda p: f":{p}"),
        ),
        st.sampled_from(["", "/", "/v2/", "?q=1", "#frag", "/../.."]),
    ),
)
OPTIONAL_TEXT = st.one_of(st.none(), st.text(max_size=30), st.sampled_from(["smtp", "ldap"]))


@PROPERTY
@given(text=HOSTISH, starttls=OPTIONAL_TEXT, servername=OPTIONAL_TEXT, connect_to=OPTIONAL_TEXT)
def test_parse_target_gives_a_target_or_a_usage_error(
    text: str, starttls: str | None, servername: str | None, connect_to: str | None
) -> None:
    try:
        t = parse_target(text, starttls=starttls, servername=servername, connect_to=connect_to)
    except UsageError as exc:
        assert "\n" not in exc.message
    else:
        assert 1 <= t.port <= 65535 and t.host


@PROPERTY
@given(
    data=st.one_of(st.binary(max_size=2048), mutated("keystores")),
    password=st.one_of(
        st.none(), st.sampled_from([b"changeit", b"", b"pw"]), st.binary(max_size=8)
    ),
)
def test_read_keystore_gives_entries_or_an_input_error(data: bytes, password: bytes | None) -> None:
    start = time.monotonic()
    try:
        read_keystore(data, password, source="fuzz")
    except InputError as exc:
        assert "\n" not in exc.message and "fuzz" in exc.message
    assert time.monotonic() - start < 2


def test_the_keystore_seeds_are_real_keystores() -> None:
    # Otherwise the property above would only ever test the "not a keystore" branch.
    jks, jceks, p12, p12_pw = SEEDS["keystores"]
    assert len(read_keystore(jks, b"changeit", source="seed")) == 3  # the digest is right
    assert len(read_keystore(jceks, b"changeit", source="seed")) == 3
    assert len(read_keystore(p12, b"", source="seed")) == 3
    assert len(read_keystore(p12_pw, b"pw", source="seed")) == 2
