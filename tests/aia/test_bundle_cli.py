"""``trustdoctor bundle``: exit codes, --out safety, --key, formats, bad input."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import jsonschema
import pytest
from cryptography.hazmat.primitives import serialization

from helpers import SCHEMAS
from helpers.bundle import HOST
from trustdoctor.cli.main import main
from trustdoctor.lab import pki

BUNDLE_SCHEMA = json.loads((SCHEMAS / "bundle.schema.json").read_text())
DIAG_SCHEMA = json.loads((SCHEMAS / "diagnosis.schema.json").read_text())
UNREACHABLE = "127.0.0.1:1"  # nothing listens there; any network use would give exit 3


@pytest.fixture(autouse=True)
def _isolated(monkeypatch, tmp_path):
    for var in list(os.environ):
        if "proxy" in var.lower():
            monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    monkeypatch.setenv("NO_COLOR", "1")


@pytest.fixture
def files(tmp_path) -> dict[str, Path]:
    h = pki.hierarchy(HOST)
    out = {
        "full": tmp_path / "full.pem",
        "leaf": tmp_path / "leaf.pem",
        "inter": tmp_path / "inter.pem",
        "root": tmp_path / "root.pem",
        "key": tmp_path / "key.pem",
        "otherkey": tmp_path / "other.key",
    }
    out["full"].write_bytes(h.leaf.pem + h.intermediate.pem)
    out["leaf"].write_bytes(h.leaf.pem)
    out["inter"].write_bytes(h.intermediate.pem)
    out["root"].write_bytes(h.root.pem)
    out["key"].write_bytes(h.leaf.key_pem)
    out["otherkey"].write_bytes(
        pki.new_key().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return out


def run(capsys, *argv: str) -> tuple[int, str, str]:
    rc = main(["bundle", *argv, "--no-fetch"] if "--fetch" not in argv else ["bundle", *argv])
    out = capsys.readouterr()
    assert "Traceback" not in out.err
    return rc, out.out, out.err


def test_file_input_writes_atomically_with_mode_0644(files, tmp_path, capsys):
    dest = tmp_path / "out" / "fullchain.pem"
    dest.parent.mkdir()
    dest.write_text("old content\n")
    os.chmod(dest, 0o600)
    old_inode = dest.stat().st_ino
    old_umask = os.umask(0o077)
    try:
        rc, out, err = run(
            capsys, str(files["full"]), "--trust", str(files["root"]), "--out", str(dest)
        )
    finally:
        os.umask(old_umask)
    assert rc == 0, err
    assert dest.read_bytes() == files["full"].read_bytes()
    assert stat.S_IMODE(dest.stat().st_mode) == 0o644
    assert dest.stat().st_ino != old_inode  # replaced by rename, never rewritten in place
    assert sorted(p.name for p in dest.parent.iterdir()) == ["fullchain.pem"]
    assert "= unchanged" in out and f"Wrote {dest}" in out


def test_leaf_plus_intermediates_file(files, capsys):
    base = [
        str(files["leaf"]),
        "--trust",
        str(files["root"]),
        "--intermediates",
        str(files["inter"]),
    ]
    rc, out, _ = run(capsys, *base, "--format", "pem")
    assert rc == 0 and out == files["full"].read_text()
    rc, out, _ = run(capsys, *base, "--format", "json")
    data = json.loads(out)
    # Today is what is presented alone: the supplied intermediate is not sent.
    assert data["today"]["verdict"]["cause"] == "missing-intermediate"
    assert [m["origin"] for m in data["diff"]["missing"]] == ["supplied"]
    assert data["aia"] is None


def test_stdin(files, capsys, monkeypatch):
    import io
    import sys

    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(files["full"].read_bytes())))
    rc, out, _ = run(capsys, "-", "--trust", str(files["root"]), "--format", "pem")
    assert rc == 0 and out == files["full"].read_text()


def test_include_root_and_json_schema(files, capsys):
    rc, out, _ = run(
        capsys,
        str(files["full"]),
        "--trust",
        str(files["root"]),
        "--include-root",
        "--format",
        "json",
        "--key",
        str(files["key"]),
    )
    assert rc == 0
    data = json.loads(out)
    jsonschema.validate(data, BUNDLE_SCHEMA)
    jsonschema.validate(data["today"], DIAG_SCHEMA)
    assert data["ok"] is True and data["root_included"] is True
    assert [c["role"] for c in data["chain"]] == ["leaf", "intermediate", "root"]
    assert data["pem"] == (files["full"].read_text() + files["root"].read_text())
    assert data["key"]["matches"] is True
    assert [r["code"] for r in data["reasons"]] == ["path-found", "only-path", "root-included"]
    assert data["aia"] is None  # nothing was missing: no fetch
    assert "PRIVATE KEY" not in out


def test_no_bundle_exit_1_and_nothing_written(files, tmp_path, capsys):
    dest = tmp_path / "fullchain.pem"
    dest.write_text("keep me\n")
    other = tmp_path / "other-root.pem"
    other.write_bytes(pki.make_cert("Other Root").pem)
    rc, out, err = run(capsys, str(files["full"]), "--trust", str(other), "--out", str(dest))
    assert rc == 1
    assert dest.read_text() == "keep me\n"
    assert "✗ NO BUNDLE" in out and "nothing written" in err
    assert "untrusted-root" in err


def test_key_mismatch_exit_1_nothing_written_key_never_shown(files, tmp_path, capsys):
    dest = tmp_path / "fullchain.pem"
    rc, out, err = run(
        capsys,
        str(files["full"]),
        "--trust",
        str(files["root"]),
        "--key",
        str(files["otherkey"]),
        "--out",
        str(dest),
    )
    assert rc == 1
    assert not dest.exists()
    assert f"does not match the leaf '{HOST}'" in err
    assert "Key: ✗" in out
    body = b"".join(files["otherkey"].read_bytes().splitlines()[1:-1]).decode()
    for chunk in (body[i : i + 12] for i in range(0, len(body) - 12, 12)):
        assert chunk not in out + err


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\x00\xffgarbage" * 50, "not a readable private key"),
        (b"", "empty file"),
        (b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "no private key"),
    ],
)
def test_bad_key_exit_2_before_any_network(tmp_path, capsys, content, message):
    bad = tmp_path / "bad.key"
    bad.write_bytes(content)
    rc, _, err = run(capsys, UNREACHABLE, "--key", str(bad))
    assert rc == 2 and message in err and err.count("\n") == 1


def test_key_file_problems(files, tmp_path, capsys):
    h_leaf = files["full"]
    rc, _, err = run(capsys, str(h_leaf), "--key", str(tmp_path / "missing.key"))
    assert rc == 2 and "no such file" in err
    rc, _, err = run(capsys, str(h_leaf), "--key", str(tmp_path))
    assert rc == 2 and "is a directory" in err
    rc, _, err = run(capsys, str(h_leaf), "--key-password-file", str(files["key"]))
    assert rc == 2 and "needs --key" in err
    # An encrypted key: refused without its password, accepted with it.
    h = pki.hierarchy(HOST)
    enc = tmp_path / "enc.key"
    enc.write_bytes(
        h.leaf.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"pw"),
        )
    )
    (tmp_path / "pw").write_text("pw\n")
    (tmp_path / "c.pem").write_bytes(h.leaf.pem + h.intermediate.pem)
    (tmp_path / "r.pem").write_bytes(h.root.pem)
    rc, _, err = run(
        capsys, str(tmp_path / "c.pem"), "--trust", str(tmp_path / "r.pem"), "--key", str(enc)
    )
    assert rc == 2 and "encrypted" in err
    rc, out, err = run(
        capsys,
        str(tmp_path / "c.pem"),
        "--trust",
        str(tmp_path / "r.pem"),
        "--key",
        str(enc),
        "--key-password-file",
        str(tmp_path / "pw"),
    )
    assert rc == 0 and "Key: ✓" in out, err


def test_out_refusals_exit_2_before_any_network(files, tmp_path, capsys):
    target = tmp_path / "real.pem"
    target.write_text("precious\n")
    link = tmp_path / "link.pem"
    link.symlink_to(target)
    cases = {
        str(tmp_path): "is a directory",
        str(link): "symbolic link",
        str(tmp_path / "nope" / "f.pem"): "does not exist",
        str(files["key"]): "refusing to overwrite",
        str(files["root"]): "refusing to overwrite",
        str(tmp_path) + "/": "give a file name",
    }
    for dest, message in cases.items():
        rc, _, err = run(
            capsys,
            UNREACHABLE,
            "--out",
            dest,
            "--key",
            str(files["key"]),
            "--trust",
            str(files["root"]),
        )
        assert rc == 2, (dest, err)
        assert message in err, (dest, err)
    assert target.read_text() == "precious\n" and link.is_symlink()
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    rc, _, err = run(capsys, UNREACHABLE, "--out", str(fifo))
    assert rc == 2 and "not a regular file" in err


def test_out_unwritable_exit_3(files, capsys):
    rc, _, err = run(
        capsys,
        str(files["full"]),
        "--trust",
        str(files["root"]),
        "--out",
        "/proc/self/fullchain.pem",
    )
    assert rc == 3 and "cannot write" in err


def test_in_place_rewrite_of_the_input(files, tmp_path, capsys):
    messy = tmp_path / "messy.pem"
    h_root = files["root"].read_bytes()
    messy.write_bytes(files["inter"].read_bytes() + files["leaf"].read_bytes() + h_root)
    rc, out, _ = run(capsys, str(messy), "--trust", str(files["root"]), "--out", str(messy))
    assert rc == 0
    assert messy.read_bytes() == files["full"].read_bytes()
    assert "~ reorder" in out and "- remove 'Example Internal Root CA' (the root" in out


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (["missing.pem"], 2, "no such file"),
        (["./nope"], 2, "no such file"),
        (["bad host name!"], 2, "spaces"),
        (["gopher://127.0.0.1"], 2, "scheme"),
        (["http://127.0.0.1:1"], 2, "not TLS"),
        ([UNREACHABLE], 3, ""),
        (["x.pem", "--client", "netscape"], 2, "unknown client"),
        (["x.pem", "--timeout", "0"], 2, ""),
        (["x.pem", "--format", "yaml"], 2, ""),
    ],
)
def test_bad_input_one_line_and_exit_code(capsys, argv, code, message):
    rc, _, err = run(capsys, *argv)
    assert rc == code, err
    assert message in err
    assert err.count("\n") == 1


def test_garbage_certificate_file(tmp_path, capsys):
    junk = tmp_path / "junk.pem"
    junk.write_bytes(b"hello, this is not a certificate\n" * 5)
    rc, _, err = run(capsys, str(junk))
    assert rc == 2 and str(junk) in err


def test_plain_http_port_is_not_tls_exit_3(tmp_path, capsys):
    from helpers.aia import AiaServer

    with AiaServer() as srv:
        rc, _, err = run(capsys, f"127.0.0.1:{srv.port}", "--timeout", "3")
    assert rc == 3 and err.startswith("trustdoctor: ")


def test_help(capsys):
    assert main(["bundle", "--help"]) == 0
    out = capsys.readouterr().out
    for flag in (
        "--out",
        "--include-root",
        "--client",
        "--key",
        "--trust",
        "--fetch",
        "--no-fetch",
        "--cache",
        "--format",
    ):
        assert flag in out


def test_expired_cross_sign_choice_on_the_command_line(tmp_path, capsys):
    from trustdoctor.lab.pki import DAY, NOW

    new_root = pki.make_cert("New Root", not_before=NOW - 400 * DAY, not_after=NOW + 3000 * DAY)
    old_root = pki.make_cert("Old Root", not_before=NOW - 4000 * DAY, not_after=NOW + 100 * DAY)
    cross = pki.make_cert(
        "New Root",
        key=new_root.key,
        issuer=old_root,
        not_before=NOW - 1000 * DAY,
        not_after=NOW - 10 * DAY,
    )
    r3 = pki.make_cert("R3", issuer=new_root)
    leaf = pki.make_cert(HOST, issuer=r3, ca=False, dns=[HOST])
    served = tmp_path / "served.pem"
    served.write_bytes(leaf.pem + r3.pem + cross.pem)
    roots = tmp_path / "roots.pem"
    roots.write_bytes(new_root.pem + old_root.pem)
    at = ["--at", NOW.isoformat()]
    rc, out, err = run(capsys, str(served), "--trust", str(roots), *at)
    assert rc == 0, err
    assert "not 'R3 > New Root': it contains 'New Root', expired " in out
    assert "- remove 'New Root' (not on the chain)" in out
    assert "expired-cross-sign: expired cross-sign 'New Root' (issued by 'Old Root'" in out
    rc, out, _ = run(capsys, str(served), "--trust", str(roots), *at, "--format", "json")
    data = json.loads(out)
    assert [c["subject"] for c in data["chain"]] == [f"CN={HOST}", "CN=R3"]
    codes = [f["code"] for f in data["today"]["findings"]]
    assert "expired-cross-sign" in codes
