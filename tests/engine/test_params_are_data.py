"""Finding params are data: stable codes and values, never English sentences.

House rule: "Findings are stable codes with parameters; English lives only in
renderers" (render/words.py).  This runs a representative set of diagnoses
(every lab scenario, over real TLS on loopback) and store inspections (roots
with one of each store problem), walks every ``params`` of the JSON they
produce, and fails on a value that reads like one of our sentences.  Then it
checks the other half: the renderers still say the same sentences.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator, Mapping
from dataclasses import replace
from pathlib import Path

import pytest

from helpers import SRC
from helpers.stores import Root, alpine, ca, debian, leaf
from trustdoctor import lab
from trustdoctor.engine.interception import detect_interception
from trustdoctor.engine.refine import check_ca
from trustdoctor.lab import pki
from trustdoctor.model.anchors import Anchor, make_anchor_set
from trustdoctor.model.cert import Provenance, from_certificate
from trustdoctor.model.findings import Finding
from trustdoctor.model.stores import StoresReport
from trustdoctor.render import words
from trustdoctor.render.plan_text import note_text
from trustdoctor.render.stores_json import stores_to_dict
from trustdoctor.render.stores_text import describe_finding, render_stores
from trustdoctor.stores import build_context, inspect_stores
from trustdoctor.stores.go import EMPTY_DETAIL
from trustdoctor.stores.pemfile import PROBLEM_DETAIL

PKG = SRC / "trustdoctor"

# Params whose text is not ours, so may read like a sentence (keep this small):
DATA_TEXT_KEYS = frozenset(
    {
        # what the system says: an OS error, the TOML/keystore parser, a fetch error
        "error",
        # what a client itself prints (curl's "curl: (77) ...", dockerd's
        # "missing key ...", Go's "x509: failed to load system roots ...")
        "client_error",
        "load_error",
        # the strict verifier's own words (strict-profile), an AIA fetch detail
        "detail",
        # commands a person runs
        "refresh",
        "install",
        # names taken from certificates (display names)
        "root",
        "name",
        "names",
        "roots",
        "examples",
    }
)

_DN = re.compile(r"^[A-Za-z][A-Za-z0-9.]*=")  # RFC 4514: CN=..., O=...
_WORD = re.compile(r"[A-Za-z][a-z]*[,;:.]?")  # an English word (with its punctuation)


def is_sentence(value: str) -> bool:
    """Our prose: three or more tokens of which at least two are plain words,
    and not a distinguished name or a URL (a code or a path has no spaces)."""
    tokens = value.split()
    if len(tokens) < 3 or sum(1 for t in tokens if _WORD.fullmatch(t)) < 2:
        return False
    return not (_DN.match(value.strip()) or "://" in tokens[0])


def _params(node: object, key: str | None = None, under: bool = False) -> Iterator[tuple[str, str]]:
    """(key, value) of every string inside a ``params`` (or distro ``evidence``) object."""
    if isinstance(node, Mapping):
        for k, v in node.items():
            yield from _params(v, str(k) if under else k, under or k in ("params", "evidence"))
    elif isinstance(node, list | tuple):
        for v in node:
            yield from _params(v, key, under)
    elif isinstance(node, str) and under and key is not None:
        yield key, node


def sentences(doc: object) -> list[tuple[str, str]]:
    return [(k, v) for k, v in _params(doc) if k not in DATA_TEXT_KEYS and is_sentence(v)]


def test_the_heuristic_catches_the_old_sentences() -> None:
    """Not vacuous: values as the modules produced them before are flagged."""
    old = {
        "params": {
            "reason": "dockerd looks for /etc/docker/certs.d/reg exactly; reg:443 cannot match",
            "effect": "OpenSSL drops the whole file when one PEM block is broken",
            "evidence": ["the connection went through an HTTP proxy"],
            "fix": 'set config_path = "/etc/containerd/certs.d" under [plugins.x]',
        }
    }
    assert [k for k, _ in sentences(old)] == ["reason", "effect", "evidence", "fix"]
    ok = {
        "params": {
            "path": "/etc/ssl/certs/ca-certificates.crt",
            "issuer": "CN=Corp Inspection CA,O=Acme Inc.",
            "url": "http://pki.example.com/issuing ca.crt",
            "reason": "port-443-in-name",
            "error": "permission denied",
        }
    }
    assert sentences(ok) == []


# -- diagnoses: the lab scenarios ---------------------------------------------------------------


def test_lab_diagnoses_have_no_sentence_params() -> None:
    seen = 0
    for s in lab.SCENARIOS:
        res = lab.run_scenario(s)
        assert res.ok, (s.name, res.found)
        doc = res.report.to_dict()
        # The plan's params are commands and file contents (tests/fix/ checks them).
        doc.pop("plan", None)
        assert sentences(doc) == [], s.name
        seen += sum(1 for _ in _params(doc))
    assert seen > 50  # the walk really saw params


# -- store inspections ---------------------------------------------------------------------------

A, B, C, D = ca("Params Root A"), ca("Params Root B"), ca("Params Root C"), ca("Params Root D")
REG = "registry.internal.example.com"


def _problem_roots(base: Path) -> list[tuple[Path, list[str], dict[str, str], str | None]]:
    """(root, clients, env, registry): one of each store problem the models report."""
    deb = Root(base / "deb")
    debian(deb, [A])
    deb.file("/usr/local/share/ca-certificates/corp.pem", C.pem)  # wrong suffix
    deb.file("/usr/local/share/ca-certificates/der.crt", D.der)  # DER
    deb.file("/usr/local/share/ca-certificates/.hidden.crt", B.pem)
    deb.file("/usr/local/share/ca-certificates/multi.crt", B.pem + C.pem)
    deb.file(f"/etc/docker/certs.d/{REG}:443/ca.crt", B.pem)
    deb.file(f"/etc/docker/certs.d/{REG}_5000_/ca.crt", B.pem)
    deb.file(f"/etc/docker/certs.d/{REG}:5000/client.cert", C.pem)
    deb.file(f"/etc/docker/certs.d/{REG}:5000/other.key", C.pem)
    deb.file(f"/etc/docker/certs.d/{REG}:5000/ca.pem", C.pem)
    deb.file(f"/etc/docker/certs.d/{REG}:5000/bad.crt", D.der)
    deb.file(f"/etc/containers/certs.d/{REG}:443/ca.crt", B.pem)
    for exe in ("dockerd", "containerd", "node", "podman"):
        deb.file(f"/usr/bin/{exe}", "", 0o755)
    deb.file(
        "/etc/containerd/config.toml",
        'version = 3\n[plugins."io.containerd.grpc.v1.cri".registry]\n  config_path = "/x"\n',
    )
    bad_b64 = b"-----BEGIN CERTIFICATE-----\nMIIB@@@\n-----END CERTIFICATE-----\n"
    deb.file("/opt/extra.pem", A.pem + bad_b64)
    deb.file("/opt/broken.pem", A.pem + b"-----BEGIN CERTIFICATE-----\nMIIB\n")

    ctd = Root(base / "ctd")
    debian(ctd, [A])
    ctd.file("/usr/bin/containerd", "", 0o755)
    ctd.file(
        "/etc/containerd/config.toml",
        'version = 3\n[plugins."io.containerd.cri.v1.images".registry]\n'
        '  config_path = "/etc/containerd/certs.d:/etc/docker/certs.d"\n',
    )
    ctd.file(
        "/etc/containerd/certs.d/_default/hosts.toml",
        'server = "https://x.invalid"\nskip_verify = true\nca = ["missing.pem", "bad.pem"]\n',
    )
    ctd.file("/etc/containerd/certs.d/_default/bad.pem", b"junk")
    ctd.file(f"/etc/docker/certs.d/{REG}/ca.crt", B.pem)

    toml = Root(base / "toml")
    debian(toml, [A])
    toml.file("/usr/bin/containerd", "", 0o755)
    toml.file("/etc/containerd/config.toml", "version = [\n")

    old = Root(base / "old")
    debian(old, [A])
    old.file("/usr/bin/containerd", "", 0o755)
    old.file("/etc/containerd/config.toml", "version = 2\n")
    old.file(f"/etc/containerd/certs.d/{REG}/ca.crt", B.pem)
    old.file(
        "/var/lib/dpkg/status",
        "Package: containerd.io\nStatus: install ok installed\nVersion: 1.7.24-1\n\n",
    )
    unknown = Root(base / "unknown")
    debian(unknown, [A])
    unknown.file("/usr/bin/containerd", "", 0o755)
    unknown.file("/etc/containerd/config.toml", "version = 2\n")
    unknown.file(f"/etc/containerd/certs.d/{REG}/ca.crt", B.pem)

    alp = Root(base / "alp")
    alpine(alp, [A])
    alp.file("/usr/local/share/ca-certificates/sub/corp.crt", C.pem)  # not recursive
    alp.file("/usr/local/share/ca-certificates/new.crt", D.pem)  # stale

    empty = Root(base / "empty")
    empty.file("/etc/ssl/certs/ca-certificates.crt", b"# nothing here\n")
    slim = Root(base / "slim")
    slim.os_release(ID="debian", VERSION_ID="12")
    slim.file("/var/lib/dpkg/status", "")
    slim.file("/bin/sh", "")
    der = Root(base / "der")
    der.file("/etc/ssl/certs/ca-certificates.crt", D.der)
    busybox = Root(base / "busybox")
    busybox.file("/bin/busybox", "", 0o755)

    everyone = ["go", "openssl", "curl", "python", "node", "java", "docker", "containerd"]
    return [
        (deb.path, [*everyone, "podman"], {"NODE_EXTRA_CA_CERTS": "/opt/extra.pem"}, f"{REG}:5000"),
        (deb.path, ["docker", "podman"], {}, REG),
        (
            deb.path,
            ["go", "openssl", "java"],
            {
                "SSL_CERT_FILE": "/opt/broken.pem",
                "JAVA_TOOL_OPTIONS": "-Djavax.net.ssl.trustStore=/nope",
            },
            None,
        ),
        (deb.path, ["go"], {"SSL_CERT_FILE": "/etc/ssl/certs/ca-certificates.crt"}, None),
        (ctd.path, ["containerd"], {}, REG),
        (toml.path, ["containerd"], {}, REG),
        (old.path, ["containerd"], {}, REG),
        (unknown.path, ["containerd"], {}, REG),
        (alp.path, ["go", "openssl"], {}, None),
        (empty.path, ["go"], {}, None),
        (slim.path, ["go", "curl", "openssl"], {}, None),
        (der.path, ["go"], {}, None),
        (busybox.path, ["go"], {}, None),
    ]


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> list[StoresReport]:
    out = []
    for root, clients, env, registry in _problem_roots(tmp_path_factory.mktemp("roots")):
        with build_context(root=root, env=env, registry=registry) as ctx:
            stores = tuple(inspect_stores(ctx, clients))
            checks = tuple(
                tuple(check_ca(s, cert=from_certificate(c.cert)) for s in stores) for c in (B, C, D)
            )
            out.append(
                StoresReport(
                    root=str(root),
                    distro=ctx.distro,
                    stores=stores,
                    env_keys=tuple(sorted(env)),
                    env_origin="given",
                    registry=registry,
                    checks=checks,
                )
            )
    return out


def _findings(reports: list[StoresReport]) -> list[Finding]:
    return [f for r in reports for s in r.stores for f in s.findings]


def test_store_inspections_have_no_sentence_params(reports: list[StoresReport]) -> None:
    for r in reports:
        doc = stores_to_dict(r, anchors=False)
        assert sentences(doc) == [], r.root
    # Not vacuous: the roots produce the findings whose params were sentences.
    seen = {(f.code.value, f.params.get("reason")) for f in _findings(reports)}
    for expected in [
        ("daemon-store", "port-443-in-name"),
        ("daemon-store", "containerd-style-name"),
        ("daemon-store", "name-cannot-match"),
        ("daemon-store", "name-must-match"),
        ("daemon-store", "client-cert-without-key"),
        ("daemon-store", "key-without-client-cert"),
        ("daemon-store", "skip-verify"),
        ("daemon-store", "hosts-ca-unreadable"),
        ("daemon-store", "hosts-ca-no-pem"),
        ("daemon-store", "registry-settings-ignored"),
        ("daemon-store", "config-path-unset"),
        ("daemon-store", "config-path-unset-version-unknown"),
        ("daemon-store", "default-shadows"),
        ("unreadable-file", "invalid-toml"),
        ("unreadable-file", "pem-no-end"),
        ("unreadable-file", "pem-invalid-base64"),
        ("unreadable-file", "missing-file"),
        ("empty-bundle", "no-pem-block"),
        ("empty-bundle", "der-not-pem"),
        ("anchor-file-ignored", "wrong-suffix"),
        ("anchor-file-ignored", "der-content"),
        ("anchor-file-ignored", "hidden-file"),
        ("anchor-file-ignored", "in-subdirectory"),
        ("anchor-file-ignored", "not-crt-suffix"),
        ("anchor-file-ignored", "no-pem-certificate"),
        ("stale-bundle", "not-in-bundle"),
        ("override-harmless", "go-cert-dir-still-read"),
        ("no-trust-store", "no-anchors"),
        ("no-trust-store", "load-error"),
    ]:
        assert expected in seen, expected
    evidence = {e.code for r in reports for e in r.distro.evidence}
    assert {"disk", "busybox", "nothing"} <= evidence


def test_every_reason_and_effect_has_words(reports: list[StoresReport]) -> None:
    """A store finding's reason/effect code always renders to a full sentence."""
    for f in _findings(reports):
        code = f.code.value
        reason = f.params.get("reason")
        if code in words.REASONS and reason is not None:
            assert reason in words.REASONS[code], (code, reason)
            text = words.reason_text(code, f.params)
            assert text and "?" not in text, (code, reason, text)
        effect = f.params.get("effect")
        if effect is not None:
            assert effect in words.EFFECTS, effect
            assert "?" not in words.explained(code, f.params)["effect"]  # type: ignore[operator]
        assert "?" not in describe_finding(f), describe_finding(f)


def test_source_details_say_what_the_findings_say() -> None:
    """Source details (free text) and finding words come from two tables: same words."""
    for code, text in PROBLEM_DETAIL.items():
        assert words.REASONS["unreadable-file"][code] == text
    for code, text in EMPTY_DETAIL.items():
        assert words.REASONS["empty-bundle"][code] == text


# -- the renderers still say the sentences -------------------------------------------------------


def test_store_text_says_the_same_sentences(reports: list[StoresReport]) -> None:
    # The inventory view (the reports carry CA checks, which switch to the table view).
    text = "\n".join(render_stores(replace(r, checks=())).plain() for r in reports)
    for sentence in [
        f"'{REG}:443' matches only image references that spell ':443'; references to {REG} "
        f"without a port use /etc/docker/certs.d/{REG}",
        "containerd-style name (host_port_): dockerd's certs.d uses host:port",
        f"dockerd looks for /etc/docker/certs.d/{REG} exactly; {REG}:443, {REG}:5000, "
        f"{REG}_5000_ cannot match",
        "missing key client.key for client certificate client.cert. "
        "CA certificates must use the extension .crt",
        "missing client certificate other.cert for key other.key",
        "only *.crt files in a certs.d directory are CA certificates",
        "no PEM CERTIFICATE block (DER or TRUSTED CERTIFICATE are ignored)",
        "skip_verify = true for https://x.invalid: certificates are not verified at all",
        'unable to read CA cert "/etc/containerd/certs.d/_default/missing.pem": '
        "no such file or directory",
        'unable to load CA cert "/etc/containerd/certs.d/_default/bad.pem": no PEM certificate',
        f"/etc/containerd/certs.d/_default shadows /etc/docker/certs.d/{REG}: "
        "the first root with any match wins",
        "registry settings under plugins.io.containerd.grpc.v1.cri.registry are ignored by a "
        "version 3 configuration (expected plugins.io.containerd.cri.v1.images.registry)",
        "config_path is unset in /etc/containerd/config.toml: containerd 1.7.24 never reads "
        f'/etc/containerd/certs.d/{REG} — set config_path = "/etc/containerd/certs.d" under '
        "[plugins.io.containerd.grpc.v1.cri.registry]",
        "the version could not be determined from the files, so certs.d is assumed ignored",
        "invalid TOML: ",
        "— containerd refuses to start with this file",
        "/opt/broken.pem: PEM block at line 12 has no END line — OpenSSL drops the whole file "
        "when one PEM block is broken",
        "/opt/extra.pem: PEM block at line 12 has invalid base64 — Node warns 'Ignoring extra "
        "certs from `/opt/extra.pem`' and keeps only the 1 certificate(s) read before the error",
        "/nope: no such file — javax.net.ssl.trustStore points to a missing file: "
        "the JVM trusts nothing",
        "name does not end in .crt: update-ca-certificates ignores it",
        "DER content: the update tool copies it but no client can parse it",
        "hidden file: the update tool skips it",
        "in a subdirectory: /usr/local/share/ca-certificates is not read recursively",
        "(DER, not PEM: Go reads only PEM); Go stops at the first readable certificate file",
        "holds no usable certificate (no PEM block)",
        "every file in /etc/ssl/certs and /etc/pki/tls/certs is still read because SSL_CERT_DIR "
        "is not set",
        "no trust anchors at all: no CA certificate found in any source this client reads",
        "no trust anchors at all: curl: (77) error setting certificate file: "
        "/etc/ssl/certs/ca-certificates.crt",
        "not in /etc/ssl/certs/ca-certificates.crt",
        "detected from: dpkg database (/var/lib/dpkg/status)",
        "detected from: /bin/busybox and no package database",
        "detected from: no os-release, no shell, no package database",
    ]:
        assert sentence in text, sentence
    assert "port-443-in-name" not in text  # codes do not leak into the words


def test_check_lines_and_headlines_say_the_sentences(reports: list[StoresReport]) -> None:
    ctd = next(r for r in reports if r.root.endswith("/ctd"))
    text = render_stores(ctd).plain()
    assert "✗ containerd daemon-store" in text
    assert "the first root with any match wins" in text
    shadow = next(f for f in _findings([ctd]) if f.params.get("reason") == "default-shadows")
    assert words.headline("daemon-store", shadow.params) == (
        "containerd's own trust store is wrong: /etc/containerd/certs.d/_default — "
        f"/etc/containerd/certs.d/_default shadows /etc/docker/certs.d/{REG}: "
        "the first root with any match wins"
    )
    assert note_text("containerd-default-shadows", shadow.params).startswith(
        f"/etc/containerd/certs.d/_default shadows /etc/docker/certs.d/{REG}: "
        "the first root with any match wins: move the host directory"
    )
    ignored = next(f for f in _findings(reports) if f.params.get("reason") == "wrong-suffix")
    assert "is ignored by the update tool (name does not end in .crt: " in words.headline(
        "anchor-file-ignored", {**ignored.params, "root": "X"}
    )
    alp = next(r for r in reports if r.root.endswith("/alp"))
    assert "in a subdirectory: /usr/local/share/ca-certificates is not read recursively" in (
        render_stores(alp).plain()
    )


def test_interception_evidence_is_codes_and_says_the_sentences() -> None:
    public = pki.make_cert("Params Public Root G1")
    other = pki.make_cert("Params Other Root")
    reference = make_anchor_set(
        "mozilla",
        [
            Anchor(from_certificate(r.cert), Provenance("certifi", index=i))
            for i, r in enumerate([public, other])
        ],
    )
    impostor = pki.make_cert("Params Public Root G1")  # same name, another key
    mitm = pki.make_cert(pki.name("mitmproxy", org="mitmproxy"), issuer=impostor)
    host = leaf(mitm, "shop.example.com")
    f = detect_interception(
        [from_certificate(c.cert) for c in (host, mitm)],
        reference_roots=reference,
        proxy_in_use=True,
        servername="shop.example.com",
    )
    assert f is not None
    evidence = f.params["evidence"]
    assert isinstance(evidence, list)
    assert [e["code"] for e in evidence] == [
        "product-marker",
        "not-a-reference-root",
        "impostor-name",
        "via-proxy",
        "not-tied-to-name",
    ]
    assert sentences({"params": f.params}) == []
    said = [words.interception_evidence(e) for e in evidence]
    assert said[1:] == [
        "the chain ends at 'CN=Params Public Root G1', which is not among the 2 Mozilla "
        "reference roots",
        "its issuer name matches Mozilla root 'Params Public Root G1' but the signature does "
        "not verify with that root's key",
        "the connection went through an HTTP proxy",
        "nothing in the CA's name or constraints ties it to shop.example.com",
    ]
    assert said[0].startswith("the CA name '") and said[0].endswith(", a marker of mitmproxy")
    # The endpoint view prints them: tests/test_diagnose_network.py (real proxy, real TLS).


# -- static: no sentence is built where a finding is made ------------------------------------------


def test_store_modules_pass_codes_not_sentences() -> None:
    """``reason=``/``effect=`` in the store models and the interception rule are codes."""
    files = [*sorted((PKG / "stores").glob("*.py")), PKG / "engine" / "interception.py"]
    bad = []
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, ast.keyword) or node.arg not in ("reason", "effect"):
                continue
            v = node.value
            if isinstance(v, ast.JoinedStr) or (
                isinstance(v, ast.Constant) and isinstance(v.value, str) and " " in v.value
            ):
                bad.append(f"{path.name}:{node.lineno}")
    assert bad == []
