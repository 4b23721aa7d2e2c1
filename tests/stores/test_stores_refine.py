"""refine_verdict (the most specific client-side cause) and check_ca (the compliance check)."""

from __future__ import annotations

from pathlib import Path

from helpers.stores import Root, ca, debian, fp, stores
from trustdoctor.engine.refine import check_ca, normalize_fingerprint, refine_verdict
from trustdoctor.lab import pki
from trustdoctor.model.cert import CertInfo, from_certificate
from trustdoctor.model.diagnosis import ClientVerdict
from trustdoctor.model.findings import Code, Side

A = ca("Refine Public-ish Root")
C = ca("Refine Corp Root")
INTER = pki.make_cert("Refine Corp Issuing CA", issuer=C)


def info(c: pki.Issued) -> CertInfo:
    return from_certificate(c.cert)


def verdict(cause: Code = Code.UNTRUSTED_ROOT, trusted: bool = False) -> ClientVerdict:
    return ClientVerdict(client="go", trusted=trusted, cause=cause, side=Side.CLIENT)


def test_no_trust_store(tmp_path: Path) -> None:
    r = Root(tmp_path / "root")
    r.dir("/etc")
    s = stores(r, ["go"])["go"]
    v = refine_verdict(verdict(), info(INTER), s)
    assert v.cause == Code.NO_TRUST_STORE and v.side == Side.CLIENT
    assert Code.UNTRUSTED_ROOT in v.alternatives
    assert v.findings[0].code == Code.NO_TRUST_STORE


def test_stale_bundle_for_the_missing_issuer_and_for_a_self_signed_top(tmp_path: Path) -> None:
    r = Root(tmp_path / "root")
    debian(r, [A], local=[("corp.crt", C)], compiled_local=False)
    s = stores(r, ["go"])["go"]
    v = refine_verdict(verdict(), info(INTER), s)
    assert v.cause == Code.STALE_BUNDLE
    assert v.findings[0].params["refresh"] == "update-ca-certificates"
    assert v.findings[0].params["path"] == "/usr/local/share/ca-certificates/corp.crt"
    v2 = refine_verdict(verdict(), info(C), s)  # the server sent its own (untrusted) root
    assert v2.cause == Code.STALE_BUNDLE
    # A different root with the same name but another key is not the issuer.
    impostor = pki.make_cert("Refine Corp Root")
    inter2 = pki.make_cert("Refine Corp Issuing CA", issuer=impostor)
    assert refine_verdict(verdict(), info(inter2), s).cause == Code.UNTRUSTED_ROOT


def test_anchor_file_ignored(tmp_path: Path) -> None:
    r = Root(tmp_path / "root")
    debian(r, [A])
    r.file("/usr/local/share/ca-certificates/corp.pem", C.pem)
    s = stores(r, ["go"])["go"]
    v = refine_verdict(verdict(), info(INTER), s)
    assert v.cause == Code.ANCHOR_FILE_IGNORED
    assert v.findings[0].params["reason"] == "wrong-suffix"
    assert v.findings[0].params["suffix"] == ".crt"


def test_env_override(tmp_path: Path) -> None:
    r = Root(tmp_path / "root")
    debian(r, [A], local=[("corp.crt", C)])
    r.file("/opt/a.pem", A.pem)
    s = stores(r, ["go"], {"SSL_CERT_FILE": "/opt/a.pem", "SSL_CERT_DIR": "/opt"})["go"]
    v = refine_verdict(verdict(Code.MISSING_INTERMEDIATE), info(INTER), s)
    assert v.cause == Code.ENV_OVERRIDE
    assert v.findings[0].params["variables"] == ["SSL_CERT_FILE", "SSL_CERT_DIR"]


def test_daemon_store(tmp_path: Path) -> None:
    r = Root(tmp_path / "root")
    debian(r, [A])
    r.file("/etc/docker/certs.d/reg.example:443/ca.crt", C.pem)
    s = stores(r, ["docker"], registry="reg.example")["docker"]
    v = refine_verdict(verdict(), info(INTER), s)
    assert v.cause == Code.DAEMON_STORE


def test_unchanged_verdicts(tmp_path: Path) -> None:
    r = Root(tmp_path / "root")
    debian(r, [A], local=[("corp.crt", C)], compiled_local=False)
    s = stores(r, ["go"])["go"]
    for v in (
        verdict(trusted=True, cause=Code.OK),
        verdict(Code.EXPIRED),
        verdict(Code.HOSTNAME_MISMATCH),
    ):
        assert refine_verdict(v, info(INTER), s) is v
    other = pki.make_cert("Unrelated Issuing CA", issuer=ca("Unrelated Root"))
    assert refine_verdict(verdict(), info(other), s) == verdict()


def test_check_ca(tmp_path: Path) -> None:
    r = Root(tmp_path / "root")
    debian(r, [A], local=[("corp.crt", C)], compiled_local=False)
    r.file("/opt/a.pem", A.pem)
    s = stores(r, ["go", "python"], {"SSL_CERT_FILE": "/opt/a.pem", "SSL_CERT_DIR": "/nonexistent"})
    go = check_ca(s["go"], cert=info(A))
    assert go.trusted and go.reason == "present" and go.source == "/opt/a.pem:1"
    stale = check_ca(s["go"], cert=info(C))
    assert not stale.trusted and stale.reason == "stale-bundle"
    assert stale.source == "/usr/local/share/ca-certificates/corp.crt"
    # Python's default store would have had a root the override hides.
    B = ca("Refine Hidden Root")
    debian(r, [A, B], local=[("corp.crt", C)], compiled_local=False)
    s = stores(r, ["python"], {"SSL_CERT_FILE": "/opt/a.pem", "SSL_CERT_DIR": "/nonexistent"})
    hidden = check_ca(s["python"], cert=info(B))
    assert (
        hidden.reason == "env-override" and hidden.detail == "hidden by SSL_CERT_FILE, SSL_CERT_DIR"
    )
    by_fp = check_ca(s["python"], fingerprint=fp(A))
    assert by_fp.trusted and by_fp.name == "Refine Public-ish Root"
    nowhere = check_ca(s["python"], fingerprint="00" * 32)
    assert not nowhere.trusted and nowhere.reason == "not-present"
    # Same name and key, another certificate (a re-issued root): trusted.
    reissued = pki.make_cert("Refine Public-ish Root", key=A.key, not_before=pki.NOW)
    eq = check_ca(s["python"], cert=info(reissued))
    assert eq.trusted and eq.reason == "equivalent"


def test_normalize_fingerprint() -> None:
    colon = ":".join(["AB"] * 32)
    assert normalize_fingerprint(colon) == "ab" * 32
    assert normalize_fingerprint("sha256/" + "0" * 64) == "0" * 64
    assert normalize_fingerprint("xyz") is None
    assert normalize_fingerprint("ab" * 31) is None
