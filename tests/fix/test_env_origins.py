"""Where trust variables are set: each systemd directory read once, and only
for a plan that unsets a variable."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from helpers.fix import run_cli
from helpers.stores import Root, ca, debian
from trustdoctor.api.context import TrustOptions, client_set, fix_context
from trustdoctor.stores import build_context
from trustdoctor.stores import fixfacts as facts_module
from trustdoctor.stores.fixfacts import fix_context as read_facts

A, B = ca("Origins Root A"), ca("Origins Root B")
AT = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
BUNDLE = "/etc/ssl/certs/ca-certificates.crt"


def _root(tmp_path: Path) -> Root:
    """A merged-/usr Debian root (/lib -> usr/lib) whose app.service sets SSL_CERT_FILE."""
    r = Root(tmp_path / "root")
    debian(r, [A])
    unit = "[Service]\nEnvironment=SSL_CERT_FILE=/opt/b.pem\n"
    r.file("/usr/lib/systemd/system/app.service", unit)
    r.link("/lib", "usr/lib")
    r.file("/opt/b.pem", B.pem)
    return r


def test_merged_usr_unit_directory_is_read_once(tmp_path: Path) -> None:
    """/lib/systemd/system is /usr/lib/systemd/system on a merged-/usr system:
    the unit that sets the variable is one origin, under its first name."""
    r = _root(tmp_path)
    with build_context(r.path, env={"SSL_CERT_FILE": "/opt/b.pem"}) as ctx:
        origins = read_facts(ctx).env_origins
    systemd = [(o.path, o.line, o.unit) for o in origins if o.kind == "systemd"]
    assert systemd == [("/usr/lib/systemd/system/app.service", 2, "app.service")]


def test_a_separate_lib_directory_is_still_read(tmp_path: Path) -> None:
    """Without the merge, /lib/systemd/system is its own directory and is read."""
    r = Root(tmp_path / "root")
    debian(r, [A])
    r.file("/lib/systemd/system/old.service", "[Service]\nEnvironment=SSL_CERT_FILE=/opt/b.pem\n")
    with build_context(r.path, env={"SSL_CERT_FILE": "/opt/b.pem"}) as ctx:
        origins = read_facts(ctx).env_origins
    assert [o.path for o in origins if o.kind == "systemd"] == ["/lib/systemd/system/old.service"]


def _facts(tmp_path: Path, env: dict[str, str], **kw: object) -> tuple[list[str], int]:
    """The origin kinds the API's fix facts carry for Go in ``env``, and how
    often the profile scripts and unit files were searched."""
    r = _root(tmp_path)
    calls = []
    real = facts_module.env_origins

    def counting(*a: object, **k: object) -> object:
        calls.append(1)
        return real(*a, **k)  # type: ignore[arg-type]

    facts_module.env_origins = counting  # type: ignore[assignment]
    try:
        with build_context(r.path, env=env) as ctx:
            cs = client_set(("go",), ctx=ctx)
            fctx = fix_context(cs, TrustOptions(), at=AT, plan_clients=("go",), **kw)  # type: ignore[arg-type]
    finally:
        facts_module.env_origins = real  # type: ignore[assignment]
    return sorted({o.kind for o in fctx.env_origins}), len(calls)


def test_origins_are_read_when_an_override_hides_a_root(tmp_path: Path) -> None:
    """SSL_CERT_FILE=/opt/b.pem with SSL_CERT_DIR=/opt hides root A from Go
    (env-override): the plan that unsets them needs to know where they are set."""
    kinds, calls = _facts(tmp_path, {"SSL_CERT_FILE": "/opt/b.pem", "SSL_CERT_DIR": "/opt"})
    assert calls == 1 and "systemd" in kinds


def test_origins_are_not_read_for_a_harmless_override(tmp_path: Path) -> None:
    """SSL_CERT_FILE alone hides nothing from Go (it still reads /etc/ssl/certs):
    no plan unsets it, so the profile scripts and unit files are not searched."""
    kinds, calls = _facts(tmp_path, {"SSL_CERT_FILE": "/opt/b.pem"})
    assert (kinds, calls) == ([], 0)


def test_origins_are_read_when_asked(tmp_path: Path) -> None:
    kinds, calls = _facts(tmp_path, {"SSL_CERT_FILE": "/opt/b.pem"}, origins=True)
    assert calls == 1 and "systemd" in kinds


def test_fix_cause_env_override_names_origins_of_a_harmless_override(tmp_path: Path) -> None:
    """``fix --cause env-override`` plans the unset even when nothing is hidden
    today: its steps still say where the variable is set."""
    r = _root(tmp_path)
    res = run_cli(
        [
            "fix",
            "--cause",
            "env-override",
            "--root",
            str(r.path),
            "--env",
            f"SSL_CERT_FILE={BUNDLE}",
            "--client",
            "go",
            "--format",
            "json",
        ]
    )
    assert res.code in (0, 1), res.err
    doc = json.loads(res.out)
    unsets = [s for s in doc["plan"]["steps"] if s["action"] == "unset-env"]
    assert unsets, doc["plan"]["steps"]
    paths = [o["path"] for s in unsets for o in s["params"]["origins"]]
    assert "/usr/lib/systemd/system/app.service" in paths
