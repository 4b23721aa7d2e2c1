"""Fix plans: every cause has one, every platform renders, goldens for each plan family.

Goldens live in tests/data/fix-golden/<case>.txt (and .json); regenerate with
``TRUSTDOCTOR_UPDATE_GOLDEN=1 pytest tests/test_fix_plans.py`` and review the diff.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from helpers import TESTDATA
from trustdoctor.fixes import (
    Action,
    CaRef,
    ContainerdInfo,
    EnvOrigin,
    FixContext,
    JavaInfo,
    Plan,
    plan_for,
    plan_for_diagnosis,
)
from trustdoctor.fixes.model import HOST_PLATFORMS
from trustdoctor.fixes.planner import (
    CLIENT_INSTALL,
    NETWORK,
    NOTE_ONLY,
    REISSUE,
    SERVE_CHAIN,
    STORE_CAUSES,
)
from trustdoctor.fixes.tables import FORBIDDEN, SYSTEM_INSTALL
from trustdoctor.lab import pki
from trustdoctor.model.findings import Code
from trustdoctor.render.plan_json import fix_document
from trustdoctor.render.plan_text import render_plan, step_commands
from trustdoctor.render.plan_words import NOTES, REISSUE_WHY, WHY

GOLDEN = TESTDATA / "fix-golden"
UPDATE = os.environ.get("TRUSTDOCTOR_UPDATE_GOLDEN") == "1"

CA = CaRef(
    name="Example Internal Root CA",
    subject="CN=Example Internal Root CA",
    sha256="5d41402abc4b2a76b9719d911017c592aa8e5f4b3c2d1e0f9a8b7c6d5e4f3a2b",
    not_after="2036-05-29T12:00:00+00:00",
    file="internal-root.pem",
    slug="example-internal-root-ca",
)
FAMILIES = (
    "debian",
    "rhel",
    "alpine",
    "suse",
    "arch",
    "distroless",
    "scratch",
    "busybox",
    "unknown",
)
CLIENTS = (
    "go",
    "openssl",
    "curl",
    "python",
    "requests",
    "node",
    "java",
    "docker",
    "containerd",
    "crio",
    "podman",
    "kubernetes",
    "webpki",
)
REG = "registry.internal.example.com:5000"

# Parameters as the engine and the store models produce them (docs/causes.md).
PARAMS: dict[Code, dict[str, object]] = {
    Code.MISSING_INTERMEDIATE: {
        "issuer": "CN=Example Internal Issuing CA",
        "top": "CN=registry.internal.example.com",
        "aia": ["http://pki.example.com/issuing.crt"],
        "presented_count": 1,
    },
    Code.UNTRUSTED_ROOT: {
        "issuer": "CN=Example Internal Root CA",
        "top": "CN=Example Internal Issuing CA",
    },
    Code.SELF_SIGNED_LEAF: {
        "issuer": "CN=lab.example.com",
        "root": "CN=lab.example.com",
        "subject": "CN=lab.example.com",
        "host": "lab.example.com",
    },
    Code.NOT_A_CA: {"depth": 1, "subject": "CN=Not A CA", "reason": "ca-false"},
    Code.EXPIRED: {
        "depth": 0,
        "subject": "CN=registry.internal.example.com",
        "not_after": "2026-01-01T00:00:00+00:00",
        "at": "2026-06-01T12:00:00+00:00",
    },
    Code.NOT_YET_VALID: {
        "depth": 0,
        "subject": "CN=registry.internal.example.com",
        "not_before": "2026-07-01T00:00:00+00:00",
    },
    Code.HOSTNAME_MISMATCH: {
        "depth": 0,
        "subject": "CN=registry.internal.example.com",
        "host": "other.example.com",
        "reason": "no-match",
        "names": ["registry.internal.example.com"],
    },
    Code.WRONG_USAGE: {
        "depth": 0,
        "subject": "CN=registry.internal.example.com",
        "which": "leaf-eku",
        "eku": ["1.3.6.1.5.5.7.3.2"],
    },
    Code.NAME_CONSTRAINTS: {
        "depth": 1,
        "subject": "CN=Constrained CA",
        "name": "registry.internal.example.com",
        "constraint": ".corp.example",
        "kind": "not-permitted",
    },
    Code.INSECURE_ALGORITHM: {
        "depth": 1,
        "subject": "CN=Old CA",
        "algorithm": "sha1WithRSAEncryption",
        "hash": "sha1",
    },
    Code.WEAK_KEY: {
        "depth": 0,
        "subject": "CN=registry.internal.example.com",
        "key_type": "RSA",
        "bits": 1024,
        "minimum": 2048,
    },
    Code.PATH_TOO_LONG: {
        "depth": 2,
        "subject": "CN=Policy CA",
        "path_length": 0,
        "intermediates": 1,
    },
    Code.UNHANDLED_CRITICAL_EXTENSION: {
        "depth": 0,
        "subject": "CN=registry.internal.example.com",
        "oids": ["1.2.3.4.5"],
    },
    Code.STRICT_PROFILE: {
        "depth": 0,
        "subject": "CN=registry.internal.example.com",
        "rule": "missing-aki",
        "detail": "missing AKI",
    },
    Code.UNPARSABLE_CERTIFICATE: {
        "depth": 0,
        "subject": "CN=registry.internal.example.com",
        "message": "x509: negative serial number",
        "position": 0,
    },
    Code.BAD_SIGNATURE: {
        "issuer": "CN=Example Internal Issuing CA",
        "top": "CN=registry.internal.example.com",
        "candidates": ["CN=Example Internal Issuing CA"],
    },
    Code.NO_TRUST_STORE: {"client": "go", "reason": "no-anchors"},
    Code.STALE_BUNDLE: {
        "client": "go",
        "count": 1,
        "files": ["/usr/local/share/ca-certificates/internal-root.crt"],
        "refresh": "update-ca-certificates",
    },
    Code.ENV_OVERRIDE: {
        "client": "go",
        "variables": ["SSL_CERT_FILE"],
        "default_source": "/etc/ssl/certs/ca-certificates.crt",
    },
    Code.RESTART_REQUIRED: {
        "client": "docker",
        "process": "dockerd",
        "started": "2026-05-01T10:00:00+00:00",
        "changed": "2026-06-01T09:00:00+00:00",
        "files": ["/etc/ssl/certs/ca-certificates.crt"],
        "service": "docker",
    },
    Code.DAEMON_STORE: {
        "client": "docker",
        "path": "/etc/docker/certs.d/registry.internal.example.com:443",
        "reason": "port-443-in-name",
        "dir": "registry.internal.example.com:443",
        "host": "registry.internal.example.com",
        "expected": "/etc/docker/certs.d/registry.internal.example.com",
    },
    Code.OUTDATED_STORE: {"issuer": "CN=ISRG Root X2"},
    Code.INTERCEPTED: {"issuer": "CN=Corp Inspection CA"},
    Code.UNREACHABLE: {"host": "registry.internal.example.com"},
    Code.NOT_TLS: {"host": "registry.internal.example.com", "port": 80},
    Code.HANDSHAKE_FAILED: {"host": "registry.internal.example.com"},
    Code.TIMEOUT: {"host": "registry.internal.example.com"},
    Code.STARTTLS_REFUSED: {"host": "mail.example.com", "port": 25},
    Code.PROXY_FAILED: {"host": "registry.internal.example.com"},
    Code.WRONG_ORDER: {"expected": "leaf, intermediate"},
    Code.ROOT_SENT: {"subject": "CN=Example Internal Root CA"},
    Code.EXTRA_CERTIFICATE: {"subject": "CN=Old Issuing CA"},
    Code.DUPLICATE_CERTIFICATE: {
        "subject": "CN=Example Internal Issuing CA",
        "position": 3,
        "first_position": 2,
    },
    Code.EXPIRING_SOON: {
        "depth": 0,
        "subject": "CN=registry.internal.example.com",
        "days": 12,
        "not_after": "2026-06-13T00:00:00+00:00",
    },
    Code.INTERMEDIATE_EXPIRES_FIRST: {
        "depth": 1,
        "subject": "CN=Example Internal Issuing CA",
        "not_after": "2026-09-01T00:00:00+00:00",
    },
    Code.EXPIRED_CROSS_SIGN: {"subject": "CN=Old Cross Sign"},
    Code.LEGACY_COMMON_NAME: {
        "common_name": "registry.internal.example.com",
        "host": "registry.internal.example.com",
    },
    Code.ANCHOR_FILE_IGNORED: {
        "client": "go",
        "path": "/usr/local/share/ca-certificates/internal-root.pem",
        "reason": "wrong-suffix",
        "suffix": ".crt",
        "tool": "update-ca-certificates",
    },
    Code.TRUSTED_BLOCK_IGNORED: {"client": "go", "count": 1, "path": "corp-root.pem"},
    Code.UNREADABLE_FILE: {
        "client": "go",
        "path": "/etc/ssl/certs/ca-certificates.crt",
        "reason": "os-error",
        "error": "permission denied",
    },
    Code.EMPTY_BUNDLE: {"client": "go"},
    Code.STORE_LIMIT: {
        "client": "go",
        "path": "/etc/ssl/certs",
        "reason": "too-many-entries",
        "entries": 10000,
    },
    Code.PARTIAL_TRUST: {"client": "java", "root": "Example Internal Root CA"},
    Code.STRICT_ANCHOR: {
        "client": "python",
        "flag": "VERIFY_X509_STRICT",
        "root": "Example Internal Root CA",
        "rule": "ca-basic-constraints-not-critical",
        "count": 1,
        "roots": ["Example Internal Root CA (ca-basic-constraints-not-critical)"],
    },
    Code.CLIENT_DISAGREEMENT: {"trusting": ["go"], "refusing": ["openssl"]},
    Code.CLIENT_CERT_REQUESTED: {},
    Code.OVERRIDE_HARMLESS: {"variables": ["SSL_CERT_FILE"]},
    Code.OK: {},
    Code.DIFFERENT_CHAINS: {
        "addresses": ["10.0.0.1:443", "10.0.0.2:443"],
        "count": 2,
        "verdicts": ["10.0.0.1:443: trusted", "10.0.0.2:443: missing-intermediate"],
    },
    Code.AIA_FETCH_FAILED: {
        "url": "http://pki.example.com/issuing.crt",
        "reason": "http-status",
        "detail": "404",
    },
}


def _ctx(**kw: object) -> FixContext:
    base: dict[str, object] = {
        "family": "debian",
        "distro_label": None,
        "now": pki.NOW,
        "registry": REG,
        "host": "registry.internal.example.com",
    }
    base.update(kw)
    return FixContext(**base)  # type: ignore[arg-type]


def _all_text(plan: Plan) -> str:
    return render_plan(plan).plain() + json.dumps(fix_document(plan), default=str)


# -- coverage -------------------------------------------------------------------------------


def test_every_code_has_a_planner() -> None:
    groups = [CLIENT_INSTALL, SERVE_CHAIN, REISSUE, NETWORK, STORE_CAUSES, NOTE_ONLY]
    for code in Code:
        homes = [g for g in groups if code in g]
        assert len(homes) == 1, f"{code.value} is in {len(homes)} planner groups"
        assert code in PARAMS, f"no sample params for {code.value}"


def _cross() -> list[tuple[Code, str, str, bool]]:
    out = []
    client_side = CLIENT_INSTALL | STORE_CAUSES
    for code in Code:
        clients = CLIENTS if code in client_side else ("go",)
        for fam in FAMILIES:
            for c in clients:
                for image in (False, True):
                    out.append((code, fam, c, image))
    return out


def test_every_plan_renders_for_every_platform_and_client() -> None:
    """Every cause × family × client × (host, image): renders, has its English, never disables."""
    seen_reasons: set[str] = set()
    n = 0
    for code, fam, client, image in _cross():
        ctx = _ctx(family=fam, image=image, env={"SSL_CERT_FILE": "/opt/legacy/ca.pem"})
        plan = plan_for(code, ctx, client=client, ca=CA, params=PARAMS[code])
        text = _all_text(plan)
        n += 1
        for bad in FORBIDDEN:
            assert bad not in text, (code, fam, client, image, bad)
        assert "{" not in render_plan(plan).plain().replace("{{", "").replace("{n++}", "").replace(
            "{ filename", ""
        ).replace("{app:", "").replace("{path:", "").replace("{name:", "").replace(
            "{operator:", ""
        ).replace("{privileged:", ""), (code, fam, client)
        for s in plan.steps:
            seen_reasons.add(s.reason)
            assert s.reason in WHY or s.action == Action.REISSUE, f"no WHY for {s.reason}"
            if s.action == Action.REISSUE:
                assert str(s.params["cause"]) in REISSUE_WHY
            if (
                s.is_host
                and not s.alternative
                and s.action
                in (
                    Action.COPY_ANCHOR,
                    Action.WRITE_FILE,
                    Action.EDIT_CONFIG,
                    Action.KEYTOOL_IMPORT,
                )
            ):
                assert s.changes, (code, s)
            if image and s.is_host:
                # an image is changed by its Dockerfile, never in place
                assert s.action != Action.COPY_ANCHOR or code in STORE_CAUSES, (
                    code,
                    fam,
                    client,
                    s,
                )
        for note in plan.notes:
            assert note.code in NOTES, f"no NOTES text for {note.code}"
        if code in SERVE_CHAIN | REISSUE:
            assert plan.side.value == "server"
    assert n > 2000


def test_each_family_installs_where_its_tool_reads() -> None:
    """The anchor file name and format each family's update tool takes (TS §4)."""
    expect = {
        "debian": "/usr/local/share/ca-certificates/example-internal-root-ca.crt",
        "alpine": "/usr/local/share/ca-certificates/example-internal-root-ca.crt",
        "rhel": "/etc/pki/ca-trust/source/anchors/example-internal-root-ca.crt",
        "suse": "/etc/pki/trust/anchors/example-internal-root-ca.crt",
        "arch": "/etc/ca-certificates/trust-source/anchors/example-internal-root-ca.crt",
    }
    refresh = {
        "debian": ["update-ca-certificates"],
        "alpine": ["update-ca-certificates"],
        "rhel": ["update-ca-trust", "extract"],
        "suse": ["update-ca-certificates"],
        "arch": ["update-ca-trust"],
    }
    for fam, dest in expect.items():
        plan = plan_for(
            Code.UNTRUSTED_ROOT, _ctx(family=fam, tool_installed=True), client="go", ca=CA
        )
        copies = [s for s in plan.steps if s.action == Action.COPY_ANCHOR]
        assert [s.params["dest"] for s in copies] == [dest]
        runs = [
            s.params["argv"]
            for s in plan.steps
            if s.action == Action.RUN and s.params.get("purpose") == "refresh" and not s.alternative
        ]
        assert runs == [refresh[fam]]
        assert copies[0].params["format"] == "pem"
    # Alpine's base image lacks the tool: the plan installs it first
    plan = plan_for(
        Code.UNTRUSTED_ROOT, _ctx(family="alpine", tool_installed=False), client="go", ca=CA
    )
    assert plan.steps[0].params["argv"] == ["apk", "add", "--no-cache", "ca-certificates"]
    # Arch offers p11-kit's one-command form as the alternative
    plan = plan_for(Code.UNTRUSTED_ROOT, _ctx(family="arch"), client="go", ca=CA)
    assert any(
        s.alternative
        and s.params.get("argv") == ["trust", "anchor", "--store", "internal-root.pem"]
        for s in plan.steps
    )


def test_docker_dir_is_the_image_reference_host() -> None:
    """The seed guide's `<host>:443` is wrong: the default port is not in the directory name."""
    for reg, want in (
        (
            "registry.internal.example.com",
            "/etc/docker/certs.d/registry.internal.example.com/ca.crt",
        ),
        ("reg.example:5000", "/etc/docker/certs.d/reg.example:5000/ca.crt"),
    ):
        plan = plan_for(Code.UNTRUSTED_ROOT, _ctx(registry=reg), client="docker", ca=CA)
        dests = [s.params["dest"] for s in plan.steps if s.action == Action.COPY_ANCHOR]
        assert dests == [want]
        assert not any(s.action == Action.RESTART_SERVICE for s in plan.steps)
        assert ":443" not in render_plan(plan).plain()


def test_containerd_restart_only_with_config_change() -> None:
    with_path = plan_for(
        Code.UNTRUSTED_ROOT,
        _ctx(
            containerd=ContainerdInfo(exists=True, version=2, config_path="/etc/containerd/certs.d")
        ),
        client="containerd",
        ca=CA,
    )
    assert not any(
        s.action in (Action.RESTART_SERVICE, Action.EDIT_CONFIG) for s in with_path.steps
    )
    without = plan_for(
        Code.UNTRUSTED_ROOT,
        _ctx(containerd=ContainerdInfo(exists=True, version=3)),
        client="containerd",
        ca=CA,
    )
    edits = [s for s in without.steps if s.action == Action.EDIT_CONFIG]
    assert edits[0].params["table"] == 'plugins."io.containerd.cri.v1.images".registry'
    assert [s.params.get("when") for s in without.steps if s.action == Action.RESTART_SERVICE] == [
        "config-changed"
    ]
    v2 = plan_for(
        Code.UNTRUSTED_ROOT,
        _ctx(containerd=ContainerdInfo(exists=True, version=2)),
        client="containerd",
        ca=CA,
    )
    assert [s.params["table"] for s in v2.steps if s.action == Action.EDIT_CONFIG] == [
        'plugins."io.containerd.grpc.v1.cri".registry'
    ]
    # containerd >= 2.2 defaults config_path: no edit
    new = plan_for(
        Code.UNTRUSTED_ROOT,
        _ctx(containerd=ContainerdInfo(exists=False, containerd_version=(2, 2, 0))),
        client="containerd",
        ca=CA,
    )
    assert not any(s.action == Action.EDIT_CONFIG for s in new.steps)


def test_java_password_rules() -> None:
    def keytool(info: JavaInfo) -> dict[str, object]:
        plan = plan_for(Code.UNTRUSTED_ROOT, _ctx(java=info), client="java", ca=CA)
        (step,) = [s for s in plan.steps if s.action == Action.KEYTOOL_IMPORT and not s.alternative]
        return dict(step.params)

    jks = keytool(
        JavaInfo(
            home="/opt/java/openjdk",
            version=17,
            keystore="/opt/java/openjdk/lib/security/cacerts",
            store_type="jks",
        )
    )
    assert (jks["storepass"], jks["password_rule"]) == ("changeit", "jks")
    p12 = keytool(
        JavaInfo(
            home="/opt/java/openjdk",
            version=21,
            keystore="/opt/java/openjdk/lib/security/cacerts",
            store_type="pkcs12",
            password_free=True,
        )
    )
    assert p12["password_rule"] == "pkcs12-passwordless"
    prop = keytool(
        JavaInfo(
            keystore="/srv/app/truststore.jks", store_type="jks", password=None, property_store=True
        )
    )
    assert prop["storepass"] == "<javax.net.ssl.trustStorePassword>"
    # a distro-managed keystore is fixed through the system store, not keytool
    plan = plan_for(
        Code.UNTRUSTED_ROOT,
        _ctx(java=JavaInfo(keystore="/etc/ssl/certs/java/cacerts", managed=True)),
        client="java",
        ca=CA,
    )
    assert not any(s.action == Action.KEYTOOL_IMPORT for s in plan.steps)
    assert any(s.params.get("argv") == ["update-ca-certificates"] for s in plan.steps)


def test_env_override_says_where_it_is_set() -> None:
    origins = (
        EnvOrigin(
            "SSL_CERT_FILE",
            "/opt/legacy/ca.pem",
            "systemd",
            "/etc/systemd/system/docker.service",
            9,
            "docker.service",
        ),
    )
    plan = plan_for(
        Code.ENV_OVERRIDE,
        _ctx(env={"SSL_CERT_FILE": "/opt/legacy/ca.pem"}, env_origins=origins),
        client="docker",
        params={"variables": ["SSL_CERT_FILE"]},
    )
    text = render_plan(plan).plain()
    assert "/etc/systemd/system/docker.service:9" in text
    assert "UnsetEnvironment=SSL_CERT_FILE" in text
    dropins = [s for s in plan.steps if s.action == Action.WRITE_FILE]
    assert (
        dropins[0].params["path"]
        == "/etc/systemd/system/docker.service.d/50-trustdoctor-ssl-cert-file.conf"
    )


def test_plans_never_delete_or_disable() -> None:
    for code, fam, client, image in _cross()[::7]:
        plan = plan_for(
            code, _ctx(family=fam, image=image), client=client, ca=CA, params=PARAMS[code]
        )
        for s in plan.steps:
            for line in step_commands(plan, s):
                assert (
                    not re.search(r"(^|[;&|]\s*)(sudo )?rm\s", line)
                    or "/var/lib/apt/lists" in line
                    or "rm /tmp/" in line
                ), line


# -- plan_for_diagnosis with real chains -----------------------------------------------------------


def test_plan_for_diagnosis_missing_intermediate(tmp_path: Path) -> None:
    from trustdoctor import api
    from trustdoctor.sources.files import load_bytes

    h = pki.hierarchy()
    (tmp_path / "root.pem").write_bytes(h.root.pem)
    diag = api.diagnose_chain(
        [load_bytes(h.leaf.pem, "leaf.pem")],
        trust=[str(tmp_path / "root.pem")],
        host="registry.internal.example.com",
        at=pki.NOW,
    ).diagnosis
    plan = plan_for_diagnosis(diag, None, "debian")
    assert plan.cause == Code.MISSING_INTERMEDIATE and plan.side.value == "server"
    assert set(plan.clients) == {"go", "openssl", "webpki"}
    build = next(s for s in plan.steps if s.reason == "build-fullchain")
    order = build.params["order"]
    assert [e["role"] for e in order] == ["leaf", "intermediate"]  # type: ignore[index]
    assert order[1]["subject"] == "CN=Example Internal Issuing CA"  # type: ignore[index]
    softwares = [s.params["software"] for s in plan.steps if s.action == Action.SERVER_CONFIG]
    assert softwares == ["nginx", "apache", "haproxy", "envoy", "traefik", "caddy"]


def test_a_ca_whose_name_constraints_have_a_maximum_is_reissued_for_openssl(
    tmp_path: Path,
) -> None:
    """OpenSSL refuses every name a bounded subtree covers (49; the oracle
    case ``enc/nc-maximum`` agrees with ``openssl verify``), Go ignores the
    bound: the cause names the CA, and the plan reissues that CA with the
    same constraints, which OpenSSL's configuration writes without bounds."""
    from trustdoctor import api
    from trustdoctor.conformance.pathsets import encoding_cases
    from trustdoctor.model.pem import pem_encode
    from trustdoctor.render.words import headline
    from trustdoctor.sources.files import load_bytes

    case = next(c for c in encoding_cases() if c.id == "enc/nc-maximum")
    (tmp_path / "root.pem").write_bytes(pem_encode(case.roots[0]))
    chain = b"".join(pem_encode(d) for d in case.chain)
    diag = api.diagnose_chain(
        [load_bytes(chain, "chain.pem")],
        trust=[str(tmp_path / "root.pem")],
        host=case.host,
        at=case.at,
        clients=["go", "openssl"],
    ).diagnosis
    by = {v.client: v for v in diag.clients}
    assert by["go"].trusted and not by["openssl"].trusted
    assert by["openssl"].client_error.startswith("verify error:num=49:")
    f = by["openssl"].findings[0]
    assert f.code == Code.NAME_CONSTRAINTS
    assert (f.params["reason"], f.params["bound"], f.params["subject"]) == (
        "subtree-bounds", "maximum", "CN=NC Bounds CA"
    )
    assert headline(f.code.value, f.params).startswith(
        "'NC Bounds CA' bounds its name constraints with a maximum"
    )
    plan = plan_for_diagnosis(diag, None, "debian")
    assert plan.cause == Code.NAME_CONSTRAINTS and plan.side.value == "server"
    reissue = next(s for s in plan.steps if s.action == Action.REISSUE)
    assert (reissue.params["role"], reissue.params["depth"]) == ("ca", 1)
    assert reissue.params["profile"] == ["nc-without-bounds"]
    assert "nameConstraints=critical,permitted;DNS:paths.test" in reissue.params["extensions"]
    text = render_plan(plan).plain()
    assert "reissue the CA 'NC Bounds CA' with the same name constraints but no maximum" in text


def test_plan_for_diagnosis_untrusted_root_uses_the_store(tmp_path: Path) -> None:
    from helpers.fix import make_root
    from trustdoctor import api
    from trustdoctor.sources.files import load_bytes

    h = pki.hierarchy()
    root = make_root(tmp_path, "rhel")
    # The server sends its root: the plan installs exactly that certificate.
    report = api.diagnose_chain(
        [load_bytes(h.fullchain_pem + h.root.pem, "chain.pem")],
        options=api.TrustOptions(root=str(root), env={}),
        clients=["go"],
        host="registry.internal.example.com",
        at=pki.NOW,
    )
    assert report.diagnosis.verdict.cause == Code.UNTRUSTED_ROOT
    plan = report.plan
    assert plan is not None
    assert (
        plan.ca is not None
        and plan.ca.sha256
        == h.root.cert.fingerprint(
            __import__("cryptography.hazmat.primitives.hashes", fromlist=["SHA256"]).SHA256()
        ).hex()
    )
    assert any(
        s.params.get("dest") == "/etc/pki/ca-trust/source/anchors/example-internal-root-ca.crt"
        for s in plan.steps
    )
    assert "Fedora Linux 40" in render_plan(plan).plain()


def test_plan_for_diagnosis_trusted_is_empty(tmp_path: Path) -> None:
    from trustdoctor import api
    from trustdoctor.sources.files import load_bytes

    h = pki.hierarchy()
    (tmp_path / "root.pem").write_bytes(h.root.pem)
    diag = api.diagnose_chain(
        [load_bytes(h.fullchain_pem, "c.pem")],
        trust=[str(tmp_path / "root.pem")],
        host="registry.internal.example.com",
        at=pki.NOW,
    ).diagnosis
    plan = plan_for_diagnosis(diag, None, None)
    assert plan.cause == Code.OK and plan.empty
    assert "nothing to change" in render_plan(plan).plain()


# -- goldens ---------------------------------------------------------------------------------------


def _origin(kind: str) -> tuple[EnvOrigin, ...]:
    v = "/opt/legacy/ca.pem"
    return {
        "shell": (EnvOrigin("SSL_CERT_FILE", v, "shell"),),
        "systemd": (
            EnvOrigin(
                "SSL_CERT_FILE",
                v,
                "systemd",
                "/etc/systemd/system/docker.service.d/env.conf",
                3,
                "docker.service",
            ),
        ),
        "file": (EnvOrigin("SSL_CERT_FILE", v, "file", "/etc/environment", 2),),
        "dockerfile": (EnvOrigin("SSL_CERT_FILE", v, "dockerfile", "Dockerfile", 7),),
        "process": (
            EnvOrigin("SSL_CERT_FILE", v, "process", "/proc/4242/environ", unit="myapp.service"),
        ),
        "image": (EnvOrigin("SSL_CERT_FILE", v, "image"),),
    }[kind]


def golden_cases() -> dict[str, Plan]:
    cases: dict[str, Plan] = {}
    U = Code.UNTRUSTED_ROOT
    for fam in FAMILIES:
        tool = None if fam == "alpine" else True
        cases[f"install-{fam}"] = plan_for(
            U,
            _ctx(family=fam, distro_label=None, tool_installed=tool),
            clients=["go", "openssl", "curl"],
            ca=CA,
        )
        cases[f"image-{fam}"] = plan_for(
            U, _ctx(family=fam, image=True, tool_installed=None), clients=["go", "openssl"], ca=CA
        )
        cases[f"stale-{fam}"] = plan_for(
            Code.STALE_BUNDLE,
            _ctx(family=fam, tool_installed=True),
            client="go",
            params=PARAMS[Code.STALE_BUNDLE],
        )
        cases[f"no-store-{fam}"] = plan_for(
            Code.NO_TRUST_STORE, _ctx(family=fam, tool_installed=False), client="go", ca=CA
        )
    cases["install-alpine-without-tool"] = plan_for(
        U, _ctx(family="alpine", tool_installed=False), client="go", ca=CA
    )
    cases["install-debian-under-root"] = plan_for(
        U, _ctx(root="/mnt/node", tool_installed=True), clients=["go", "docker"], ca=CA
    )
    cases["install-debian-as-root"] = plan_for(
        U, _ctx(as_root=True, tool_installed=True), client="go", ca=CA
    )
    cases["client-node"] = plan_for(U, _ctx(tool_installed=True), client="node", ca=CA)
    cases["client-node-pid"] = plan_for(
        U, _ctx(tool_installed=True, pid=4242, process="/usr/bin/node"), client="node", ca=CA
    )
    cases["client-requests-pip-certifi"] = plan_for(
        U, _ctx(tool_installed=True), client="requests", ca=CA, system_store=False
    )
    cases["client-requests-distro-certifi"] = plan_for(
        U, _ctx(tool_installed=True), client="requests", ca=CA
    )
    cases["client-requests-override-file"] = plan_for(
        U,
        _ctx(tool_installed=True, env={"REQUESTS_CA_BUNDLE": "/srv/app/ca-bundle.pem"}),
        client="requests",
        ca=CA,
        system_store=False,
    )
    cases["client-java-jdk17-jks"] = plan_for(
        U,
        _ctx(
            java=JavaInfo(
                home="/opt/java/openjdk",
                version=17,
                keystore="/opt/java/openjdk/lib/security/cacerts",
                store_type="jks",
            )
        ),
        client="java",
        ca=CA,
    )
    cases["client-java-jdk21-pkcs12"] = plan_for(
        U,
        _ctx(
            java=JavaInfo(
                home="/opt/java/openjdk",
                version=21,
                keystore="/opt/java/openjdk/lib/security/cacerts",
                store_type="pkcs12",
                password_free=True,
            )
        ),
        client="java",
        ca=CA,
    )
    cases["client-java-jdk8"] = plan_for(
        U,
        _ctx(
            java=JavaInfo(
                home="/usr/lib/jvm/java-8-openjdk-amd64/jre",
                version=8,
                keystore="/usr/lib/jvm/java-8-openjdk-amd64/jre/lib/security/cacerts",
                store_type="jks",
            )
        ),
        client="java",
        ca=CA,
    )
    cases["client-java-truststore-property"] = plan_for(
        U,
        _ctx(
            java=JavaInfo(
                keystore="/srv/app/truststore.p12",
                store_type="pkcs12",
                password=None,
                property_store=True,
            )
        ),
        client="java",
        ca=CA,
    )
    cases["client-java-debian-managed"] = plan_for(
        U,
        _ctx(
            tool_installed=True,
            java=JavaInfo(
                home="/usr/lib/jvm/java-17-openjdk-amd64",
                version=17,
                keystore="/etc/ssl/certs/java/cacerts",
                store_type="jks",
                managed=True,
            ),
        ),
        client="java",
        ca=CA,
    )
    cases["client-java-image"] = plan_for(
        U,
        _ctx(
            image=True,
            java=JavaInfo(
                home="/opt/java/openjdk",
                version=21,
                keystore="/opt/java/openjdk/lib/security/cacerts",
                store_type="pkcs12",
                password_free=True,
            ),
        ),
        client="java",
        ca=CA,
    )
    cases["client-java-distroless-image"] = plan_for(
        U,
        _ctx(
            family="distroless",
            image=True,
            java=JavaInfo(keystore="/etc/ssl/certs/java/cacerts", store_type="jks", version=17),
        ),
        client="java",
        ca=CA,
    )
    cases["client-docker"] = plan_for(U, _ctx(), client="docker", ca=CA)
    cases["client-docker-default-port"] = plan_for(
        U, _ctx(registry="registry.internal.example.com"), client="docker", ca=CA
    )
    cases["client-docker-no-registry"] = plan_for(U, _ctx(registry=None), client="docker", ca=CA)
    cases["client-docker-rootless"] = plan_for(
        U, _ctx(docker_certs_root="/home/dev/.config/docker/certs.d"), client="docker", ca=CA
    )
    cases["client-containerd-v2"] = plan_for(
        U, _ctx(containerd=ContainerdInfo(exists=True, version=2)), client="containerd", ca=CA
    )
    cases["client-containerd-v3"] = plan_for(
        U, _ctx(containerd=ContainerdInfo(exists=True, version=3)), client="containerd", ca=CA
    )
    cases["client-containerd-config-path-set"] = plan_for(
        U,
        _ctx(
            containerd=ContainerdInfo(exists=True, version=2, config_path="/etc/containerd/certs.d")
        ),
        client="containerd",
        ca=CA,
    )
    cases["client-containerd-legacy"] = plan_for(
        U,
        _ctx(containerd=ContainerdInfo(exists=True, version=2, legacy=True)),
        client="containerd",
        ca=CA,
    )
    cases["client-containerd-2.2-default"] = plan_for(
        U, _ctx(containerd=ContainerdInfo(containerd_version=(2, 2, 1))), client="containerd", ca=CA
    )
    cases["client-crio"] = plan_for(U, _ctx(), client="crio", ca=CA)
    cases["client-podman-existing-dir"] = plan_for(
        U, _ctx(containers_dir=f"/root/.config/containers/certs.d/{REG}"), client="podman", ca=CA
    )
    cases["client-kubernetes"] = plan_for(U, _ctx(), client="kubernetes", ca=CA)
    cases["client-webpki"] = plan_for(U, _ctx(tool_installed=True), client="webpki", ca=CA)
    cases["client-all-debian"] = plan_for(
        U,
        _ctx(
            tool_installed=True,
            java=JavaInfo(
                home="/opt/java/openjdk",
                version=21,
                keystore="/opt/java/openjdk/lib/security/cacerts",
                store_type="pkcs12",
                password_free=True,
            ),
            containerd=ContainerdInfo(exists=True, version=2),
        ),
        clients=list(CLIENTS),
        ca=CA,
    )
    cases["untrusted-root-placeholder"] = plan_for(
        U, _ctx(tool_installed=True), client="go", params=PARAMS[U]
    )
    for kind in ("shell", "systemd", "file", "dockerfile", "process", "image"):
        cases[f"env-override-{kind}"] = plan_for(
            Code.ENV_OVERRIDE,
            _ctx(
                env={"SSL_CERT_FILE": "/opt/legacy/ca.pem"},
                env_origins=_origin(kind),
                image=kind == "image",
                pid=4242 if kind == "process" else None,
            ),
            client="docker" if kind == "systemd" else "go",
            params=PARAMS[Code.ENV_OVERRIDE],
        )
    cases["env-override-ssl-cert-dir"] = plan_for(
        Code.ENV_OVERRIDE,
        _ctx(env={"SSL_CERT_DIR": "/opt/certs"}),
        client="openssl",
        params={"variables": ["SSL_CERT_DIR"]},
    )
    cases["env-override-requests"] = plan_for(
        Code.ENV_OVERRIDE,
        _ctx(env={"REQUESTS_CA_BUNDLE": "/srv/venv/cacert.pem"}),
        client="requests",
        params={"variables": ["REQUESTS_CA_BUNDLE"]},
    )
    cases["restart-docker"] = plan_for(
        Code.RESTART_REQUIRED, _ctx(), client="docker", params=PARAMS[Code.RESTART_REQUIRED]
    )
    cases["restart-pid"] = plan_for(
        Code.RESTART_REQUIRED,
        _ctx(pid=4242, process="/usr/bin/java"),
        client="java",
        params={
            "process": "--pid 4242",
            "started": "2026-05-01T10:00:00+00:00",
            "changed": "2026-06-01T09:00:00+00:00",
        },
    )
    cases["daemon-store-docker-443"] = plan_for(
        Code.DAEMON_STORE, _ctx(), client="docker", ca=CA, params=PARAMS[Code.DAEMON_STORE]
    )
    cases["daemon-store-containerd-config-path"] = plan_for(
        Code.DAEMON_STORE,
        _ctx(containerd=ContainerdInfo(exists=True, version=3)),
        client="containerd",
        params={
            "path": f"/etc/containerd/certs.d/{REG}",
            "reason": "config-path-unset",
            "config": "/etc/containerd/config.toml",
            "version": "1.7.2",
            "section": 'plugins."io.containerd.cri.v1.images".registry',
        },
    )
    cases["daemon-store-containerd-shadows"] = plan_for(
        Code.DAEMON_STORE,
        _ctx(),
        client="containerd",
        params={
            "path": "/etc/containerd/certs.d/_default",
            "reason": "default-shadows",
            "shadowed": "/etc/docker/certs.d/reg",
        },
    )
    cases["daemon-store-client-pair"] = plan_for(
        Code.DAEMON_STORE,
        _ctx(),
        client="docker",
        params={
            "path": f"/etc/docker/certs.d/{REG}/client.cert",
            "reason": "client-cert-without-key",
            "key": "client.key",
            "cert": "client.cert",
            "client_error": "missing key client.key for client certificate client.cert. "
            "CA certificates must use the extension .crt",
        },
    )
    cases["ignored-pem-suffix"] = plan_for(
        Code.ANCHOR_FILE_IGNORED,
        _ctx(tool_installed=True),
        client="go",
        params=PARAMS[Code.ANCHOR_FILE_IGNORED],
        fingerprints=[CA.sha256 or ""],
    )
    cases["ignored-der"] = plan_for(
        Code.ANCHOR_FILE_IGNORED,
        _ctx(tool_installed=True),
        client="go",
        params={
            "path": "/usr/local/share/ca-certificates/corp.crt",
            "reason": "der-content",
        },
        fingerprints=[CA.sha256 or ""],
    )
    cases["ignored-multi"] = plan_for(
        Code.ANCHOR_FILE_IGNORED,
        _ctx(tool_installed=True),
        client="openssl",
        params={
            "path": "/usr/local/share/ca-certificates/corp-chain.crt",
            "reason": "multi-cert-no-hash-link",
        },
        fingerprints=["aa" * 32, "bb" * 32],
    )
    cases["ignored-docker-pem"] = plan_for(
        Code.ANCHOR_FILE_IGNORED,
        _ctx(),
        client="docker",
        params={
            "path": f"/etc/docker/certs.d/{REG}/ca.pem",
            "reason": "not-crt-suffix",
        },
        fingerprints=[CA.sha256 or ""],
    )
    for c in ("requests", "java", "node"):
        cases[f"no-store-{c}"] = plan_for(
            Code.NO_TRUST_STORE, _ctx(tool_installed=True), client=c, ca=CA
        )
    for c in ("go", "requests", "node", "java"):
        cases[f"outdated-{c}"] = plan_for(
            Code.OUTDATED_STORE,
            _ctx(tool_installed=True),
            client=c,
            params=PARAMS[Code.OUTDATED_STORE],
        )
    cases["outdated-image"] = plan_for(Code.OUTDATED_STORE, _ctx(image=True), client="go")
    cases["intercepted"] = plan_for(
        Code.INTERCEPTED, _ctx(tool_installed=True), client="go", params=PARAMS[Code.INTERCEPTED]
    )
    for code in (
        Code.TRUSTED_BLOCK_IGNORED,
        Code.UNREADABLE_FILE,
        Code.STORE_LIMIT,
        Code.EMPTY_BUNDLE,
        Code.PARTIAL_TRUST,
    ):
        cases[code.value] = plan_for(
            code,
            _ctx(tool_installed=True),
            client=str(PARAMS[code].get("client", "go")),
            ca=CA if code == Code.PARTIAL_TRUST else None,
            params=PARAMS[code],
        )
    for code in sorted(SERVE_CHAIN | REISSUE | NETWORK | NOTE_ONLY, key=lambda c: c.value):
        cases[f"server-{code.value}"] = plan_for(code, _ctx(), client="go", params=PARAMS[code])
    cases["server-missing-intermediate-nginx-only"] = plan_for(
        Code.MISSING_INTERMEDIATE,
        _ctx(servers=("nginx",)),
        client="go",
        params=PARAMS[Code.MISSING_INTERMEDIATE],
    )
    return cases


CASES = golden_cases()


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden_text(name: str) -> None:
    text = render_plan(CASES[name]).plain()
    path = GOLDEN / f"{name}.txt"
    if UPDATE:
        GOLDEN.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    assert path.exists(), f"missing golden {path} (TRUSTDOCTOR_UPDATE_GOLDEN=1)"
    assert text == path.read_text()


@pytest.mark.parametrize(
    "name",
    [
        "install-debian",
        "client-containerd-v2",
        "server-missing-intermediate",
        "env-override-systemd",
        "client-java-jdk21-pkcs12",
    ],
)
def test_golden_json(name: str) -> None:
    doc = fix_document(CASES[name])
    assert doc["schema_version"] == 1 and doc["kind"] == "fix" and doc["applied"] is None
    text = json.dumps(doc, indent=2, default=str) + "\n"
    path = GOLDEN / f"{name}.json"
    if UPDATE:
        path.write_text(text)
    assert text == path.read_text()


def test_goldens_have_no_orphans() -> None:
    names = {p.stem for p in GOLDEN.glob("*.txt")}
    assert names == set(CASES), sorted(names ^ set(CASES))


def test_seed_guide_fixes_are_covered() -> None:
    """Every fix of the seed guide, corrected where the guide is wrong (reference README)."""
    deb = render_plan(CASES["install-debian"]).plain()
    assert "install -m 0644 -D internal-root.pem /usr/local/share/ca-certificates/" in deb
    assert "sudo update-ca-certificates" in deb
    rhel = render_plan(CASES["install-rhel"]).plain()
    assert "/etc/pki/ca-trust/source/anchors/" in rhel and "update-ca-trust extract" in rhel
    docker = render_plan(CASES["client-docker-default-port"]).plain()
    assert "/etc/docker/certs.d/registry.internal.example.com/ca.crt" in docker
    assert "systemctl restart docker" not in docker  # certs.d needs no restart
    k8s = render_plan(CASES["client-kubernetes"]).plain()
    assert "hosts.toml" in k8s and "DaemonSet" in k8s and "systemctl restart containerd" in k8s
    chain = render_plan(CASES["server-missing-intermediate"]).plain()
    assert "cat leaf.pem intermediate.pem > fullchain.pem" in chain and "ssl_certificate " in chain
    stale = render_plan(CASES["stale-debian"]).plain()
    assert "update-ca-certificates" in stale and "install -m" not in stale
    env = render_plan(CASES["env-override-shell"]).plain()
    assert "unset SSL_CERT_FILE" in env
    image = render_plan(CASES["image-distroless"]).plain()
    assert "COPY --from=trustdoctor-ca /etc/ssl/certs/ca-certificates.crt" in image


def test_supported_families_table() -> None:
    assert set(FAMILIES) == set(SYSTEM_INSTALL)
    assert set(FAMILIES) <= HOST_PLATFORMS


def test_step_set_tells_steps_apart_exactly_by_their_key() -> None:
    """StepSet computes full keys only within a group of equal action, platform
    and alternative: over steps that collide in every other way (params equal
    but for order, nesting, types), it keeps exactly the steps the first of
    each key would keep."""
    import random

    from trustdoctor.fixes.model import Step, StepSet

    rng = random.Random(13)
    values: list[object] = [
        1, "1", True, None, [1, 2], [2, 1], {"a": 1, "b": [1]}, {"b": [1], "a": 1}, ("x",),
    ]  # fmt: skip
    for _ in range(200):
        steps = []
        for _ in range(rng.randrange(1, 12)):
            params = {k: rng.choice(values) for k in rng.sample(["p", "q", "r"], rng.randrange(4))}
            steps.append(
                Step(
                    rng.choice([Action.RUN, Action.WRITE_FILE]),
                    params,
                    platform=rng.choice(["linux", "debian"]),
                    alternative=rng.random() < 0.3,
                    reason=rng.choice(["a", "b"]),
                )
            )
        seen = StepSet()
        kept = [s for s in steps if seen.add(s)]
        first: dict[str, Step] = {}
        for s in steps:
            first.setdefault(s.key(), s)
        assert [id(s) for s in kept] == [id(s) for s in first.values()]
