"""``explain`` against messages captured from real clients, live, on loopback.

Every failure shape of tests/explain_oracles.py is served from 127.0.0.1;
each installed client (openssl s_client and verify, curl, Python ssl/urllib/
requests, pip, Node, Go, Java, git) is run against every shape with an
explicit CA file, and what it printed must be recognised: the right stack and
client, the true cause among the top three candidates (or among all of them
when the message itself cannot tell the causes apart, which explain says),
the endpoint when the message carries it, and Go's candidate authority.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import helpers.explain_oracles as o
from trustdoctor.explain.match import explain

pytestmark = pytest.mark.oracle

# Shapes every client must refuse (so no test can pass on an empty corpus).
CORE = {"untrusted-root", "missing-intermediate", "self-signed-leaf", "expired", "wrong-host"}


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[list[o.Shape], Path]]:
    tmp = tmp_path_factory.mktemp("explain-corpus")
    with o.start_shapes(tmp) as shapes:
        yield shapes, tmp


def _check(
    outputs: dict[str, str],
    shapes: list[o.Shape],
    *,
    stack: str,
    client: str,
    endpoint: str | None,
    failing_ok: frozenset[str] = frozenset(),
    stack_for: dict[str, str] | None = None,
) -> None:
    """endpoint: "url" (host and port in the message), "name" (host only when the
    message is about the name), None (never)."""
    by_name = {s.name: s for s in shapes}
    truth = {s.name: s.truth for s in shapes}
    truth["unreadable-roots"] = frozenset({"unreadable-file", "env-override"})
    problems: list[str] = []
    refused: set[str] = set()
    for name, text in outputs.items():
        t = text.strip()
        failed = (
            t not in ("", "OK", "OK 200")
            and not t.endswith(": OK")
            and "Verify return code: 0 (ok)" not in text
        )
        if not failed or name.endswith("-ok"):
            continue
        refused.add(name)
        res = explain(text)
        if not res.matches:
            problems.append(f"{name}: not recognised: {text.strip()[-200:]!r}")
            continue
        m = res.matches[0]
        codes = [c.code.value for c in m.causes]
        pool = codes[:3] if m.narrows else codes
        if not truth[name] & set(pool):
            problems.append(f"{name}: truth {sorted(truth[name])} not in {pool} ({m.pattern})")
        want_stack = (stack_for or {}).get(name, stack)
        if m.stack != want_stack:
            problems.append(f"{name}: stack {m.stack} != {want_stack}")
        if m.client != client:
            problems.append(f"{name}: client {m.client} != {client}")
        shape = by_name.get(name)
        if endpoint == "url" and shape is not None:
            if (m.host, m.port) != ("localhost", shape.port):
                problems.append(f"{name}: endpoint {m.host}:{m.port} != localhost:{shape.port}")
            elif m.next.command != f"trustdoctor diagnose localhost:{shape.port} --client {client}":
                problems.append(f"{name}: next {m.next.command!r}")
        if endpoint == "name" and name == "wrong-host" and m.host != "localhost":
            problems.append(f"{name}: host {m.host} != localhost")
        if m.next.argv[:2] != ("trustdoctor", m.next.argv[1]) or m.next.argv[-2:] != (
            "--client",
            client,
        ):
            problems.append(f"{name}: next {m.next.command!r}")
    missing = (CORE - failing_ok) - refused
    assert not missing, f"the client did not refuse {sorted(missing)}: the corpus would be vacuous"
    assert not problems, "\n".join(problems)


def _need(tool: str) -> None:
    if shutil.which(tool) is None:
        pytest.skip(f"{tool} is not installed")


Capture = Callable[[list[o.Shape], Path], dict[str, str]]


def test_openssl_s_client(env: tuple[list[o.Shape], Path]) -> None:
    _need("openssl")
    shapes, tmp = env
    out = o.capture_openssl_s_client(shapes, tmp)
    _check(out, shapes, stack="openssl-s_client", client="openssl", endpoint=None)
    # The summary is the verdict: a leaf-only chain reads as code 21 (missing
    # intermediate) even though a per-depth line said 20 before it.
    m = explain(out["missing-intermediate"]).matches
    assert [x.detail.get("verify_code") for x in m] == ["21"]
    assert m[0].causes[0].code.value == "missing-intermediate"


def test_openssl_verify(env: tuple[list[o.Shape], Path]) -> None:
    _need("openssl")
    shapes, tmp = env
    out = o.capture_openssl_verify(shapes, tmp)
    _check(out, shapes, stack="openssl-verify", client="openssl", endpoint=None)
    # "error 20 at 0 depth lookup": the leaf's issuer is missing -> intermediate.
    m = explain(out["missing-intermediate"]).matches[0]
    assert m.causes[0].code.value == "missing-intermediate" and m.detail["depth"] == "0"
    m = explain(out["untrusted-root"]).matches[0]
    assert m.causes[0].code.value == "untrusted-root" and m.detail["depth"] == "1"


def test_curl(env: tuple[list[o.Shape], Path]) -> None:
    _need("curl")
    shapes, tmp = env
    out = o.capture_curl(shapes, tmp)
    _check(out, shapes, stack="curl", client="curl", endpoint="name")
    assert explain(out["plain-http"]).matches[0].error_class == "not-tls"
    assert explain(out["empty-store"]).matches[0].error_class == "ca-file-unreadable"


@pytest.mark.parametrize(
    ("kind", "stack", "client", "endpoint"),
    [
        ("ssl", "python", "python", "name"),
        ("urllib", "urllib", "python", "name"),
        ("requests", "requests", "requests", "url"),
    ],
)
def test_python(
    env: tuple[list[o.Shape], Path], kind: str, stack: str, client: str, endpoint: str
) -> None:
    if kind == "requests":
        pytest.importorskip("requests")
    shapes, tmp = env
    out = o.capture_python(shapes, tmp, kind)
    # Loading an empty CA file fails in ssl itself, before urllib is involved.
    stack_for = {"empty-store": "python"} if kind == "urllib" else None
    _check(out, shapes, stack=stack, client=client, endpoint=endpoint, stack_for=stack_for)


@pytest.mark.slow
def test_pip(env: tuple[list[o.Shape], Path]) -> None:
    shapes, tmp = env
    out = o.capture_pip(shapes, tmp, {"untrusted-root", "wrong-host", "self-signed-leaf"})
    _check(
        out,
        shapes,
        stack="pip",
        client="requests",
        endpoint="url",
        failing_ok=frozenset({"missing-intermediate", "expired"}),
    )


def test_node(env: tuple[list[o.Shape], Path]) -> None:
    _need("node")
    shapes, tmp = env
    out = o.capture_node(shapes, tmp)
    _check(out, shapes, stack="node", client="node", endpoint="name")
    # Node finishes a leaf-only chain on code 21 (UNABLE_TO_VERIFY_LEAF_SIGNATURE).
    assert (
        explain(out["missing-intermediate"]).matches[0].causes[0].code.value
        == "missing-intermediate"
    )


@pytest.mark.slow
def test_go(env: tuple[list[o.Shape], Path]) -> None:
    shapes, tmp = env
    binary = o.go_binary(tmp) if (shutil.which("go") or Path("/usr/bin/go").exists()) else None
    if binary is None:
        pytest.skip("go is not installed (or could not build the test client)")
    out = o.capture_go(shapes, tmp, binary)
    _check(out, shapes, stack="go", client="go", endpoint="url")
    authority = {
        "not-a-ca": ("invalid-ca", "Explain Bad Issuing CA"),
        "regenerated-ca": ("bad-signature", "Explain Test Root CA"),
        "sha1-intermediate": ("insecure-algorithm", "Explain RSA Root CA"),
    }
    for shape, (cls, name) in authority.items():
        m = explain(out[shape]).matches[0]
        assert (m.error_class, m.authority) == (cls, name), out[shape]
        assert m.hint and m.hint.startswith(("x509:", "crypto/rsa"))
    # An empty store reads exactly like a missing root (reference README item 6)...
    m = explain(out["empty-store"]).matches[0]
    assert m.error_class == "unknown-issuer" and not m.narrows
    # ...while "failed to load system roots" means a bundle that exists but cannot be read.
    m = explain(out["unreadable-roots"]).matches[0]
    assert m.error_class == "roots-unavailable" and m.causes[0].code.value == "unreadable-file"
    assert m.detail["path"].endswith("go-empty-dir")
    assert explain(out["legacy-cn"]).matches[0].causes[0].code.value == "legacy-common-name"


@pytest.mark.slow
def test_java(env: tuple[list[o.Shape], Path]) -> None:
    _need("java")
    shapes, tmp = env
    out = o.capture_java(shapes, tmp)
    _check(out, shapes, stack="java", client="java", endpoint="name")
    assert explain(out["regenerated-ca"]).matches[0].causes[0].code.value == "bad-signature"
    assert explain(out["not-a-ca"]).matches[0].error_class == "invalid-ca"
    assert explain(out["plain-http"]).matches[0].error_class == "not-tls"


def test_git(env: tuple[list[o.Shape], Path]) -> None:
    _need("git")
    shapes, tmp = env
    out = o.capture_git(shapes, tmp)
    _check(out, shapes, stack="git", client="curl", endpoint="url")
    if "CRLfile" in out["untrusted-root"]:
        # GnuTLS build: one sentence for every failure, and explain says so.
        m = explain(out["untrusted-root"]).matches[0]
        assert m.library == "gnutls" and not m.narrows
