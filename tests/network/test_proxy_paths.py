"""One proxy decision for every connection, end to end through a loopback proxy.

``diagnose --fetch`` and ``bundle`` make two kinds of connection: the TLS
handshake with the target (CONNECT tunnel through an https proxy) and the AIA
download of the missing intermediate (a plain ``http://`` GET through the
http proxy); ``chain --fetch`` makes only the second.  For each environment
below, the proxy's own log must show exactly the connections that
:func:`trustdoctor.sources.http.select_proxy` says go through it.

The names look public (NO_PROXY rules depend on them); only the proxy and the
lab resolver (``netlab.loopback_names``) know they are 127.0.0.1.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import helpers.netlab as netlab
from helpers.aia import AiaServer, Proxy, der, static
from trustdoctor.cli.main import main
from trustdoctor.lab import tls_server
from trustdoctor.lab.pki import make_cert
from trustdoctor.sources.http import select_proxy

DOMAIN = "paths.test"
SHOP = f"shop.{DOMAIN}"
AIA = f"aia.{DOMAIN}"
PROXY_VARS = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY",
              "all_proxy", "NO_PROXY", "no_proxy", "REQUEST_METHOD")  # fmt: skip


@dataclass
class Lab:
    port: int  # the TLS server (leaf only: the intermediate is missing)
    aia_url: str
    aia: AiaServer
    proxy: Proxy
    root: Path
    leaf: Path
    tmp: Path
    runs: int = 0

    def cache(self) -> str:
        """A fresh cache per run, so every run really fetches."""
        self.runs += 1
        return str(self.tmp / f"cache-{self.runs}")


@pytest.fixture
def lab(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Lab]:
    for var in PROXY_VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
    netlab.loopback_names(monkeypatch, DOMAIN)
    with AiaServer() as site, Proxy(names=[SHOP, AIA]) as proxy:
        aia_url = f"http://{AIA}:{site.port}/issuing.crt"
        root = make_cert("Proxy Paths Root")
        inter = make_cert("Proxy Paths Issuing CA", issuer=root)
        leaf = make_cert(SHOP, issuer=inter, ca=False, dns=[SHOP], aia_ca_issuers=[aia_url])
        site.routes["/issuing.crt"] = static(der(inter))
        (tmp_path / "root.pem").write_bytes(root.pem)
        (tmp_path / "leaf.pem").write_bytes(leaf.pem)
        with tls_server([leaf], leaf, tmp_path) as port:
            yield Lab(
                port, aia_url, site, proxy, tmp_path / "root.pem", tmp_path / "leaf.pem", tmp_path
            )


def _expected(lab: Lab, env: dict[str, str], flag: str | None = None) -> list[str]:
    """The proxy's log that select_proxy predicts: the tunnel, then the AIA GET."""
    out = []
    if select_proxy("https", SHOP, lab.port, env=env, proxy=flag) is not None:
        out.append(f"CONNECT {SHOP}:{lab.port}")
    if select_proxy("http", AIA, lab.aia.port, env=env, proxy=flag) is not None:
        out.append(f"GET {lab.aia_url}")
    return out


def _run(capsys: pytest.CaptureFixture[str], argv: list[str]) -> tuple[int, dict]:  # type: ignore[type-arg]
    rc = main(argv)
    out = capsys.readouterr().out
    return rc, json.loads(out)


ENVIRONMENTS = [
    {},  # no NO_PROXY: both through the proxy
    {"no_proxy": DOMAIN},  # both direct
    {"NO_PROXY": f".{DOMAIN}"},
    {"no_proxy": AIA},  # the handshake through the proxy, the AIA fetch direct
    {"no_proxy": "shop.paths.test"},  # and the other way round
    {"no_proxy": f"{AIA}:1"},  # another port: no exemption
    {"no_proxy": "*"},
]


@pytest.mark.parametrize("extra", ENVIRONMENTS, ids=lambda e: ",".join(e.values()) or "none")
def test_diagnose_bundle_and_chain_follow_the_one_decision(
    lab: Lab,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    extra: dict[str, str],
) -> None:
    env = {"https_proxy": lab.proxy.url, "http_proxy": lab.proxy.url, **extra}
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    want = _expected(lab, env)
    trust = ["--trust", str(lab.root)]

    rc, doc = _run(
        capsys,
        ["diagnose", f"{SHOP}:{lab.port}", *trust, "--client", "go", "--fetch",
         "--cache", lab.cache(), "--format", "json"],
    )  # fmt: skip
    assert rc == 1 and doc["verdict"]["cause"] == "missing-intermediate"
    assert doc["verdict"]["confidence"] == "high"  # the AIA fetch happened, by either route
    assert sorted(lab.proxy.requests) == sorted(want)
    proxied = doc["addresses"][0]["proxy"]
    assert proxied == (lab.proxy.url if want and want[0].startswith("CONNECT") else None)

    lab.proxy.requests.clear()
    rc, doc = _run(
        capsys,
        ["bundle", f"{SHOP}:{lab.port}", *trust, "--client", "go", "--cache", lab.cache(),
         "--format", "json"],
    )  # fmt: skip
    assert rc == 0, doc
    assert sorted(lab.proxy.requests) == sorted(want)

    lab.proxy.requests.clear()
    rc, doc = _run(
        capsys,
        ["chain", str(lab.leaf), *trust, "--host", SHOP, "--client", "go", "--fetch",
         "--cache", lab.cache(), "--format", "json"],
    )  # fmt: skip
    assert rc == 1 and doc["verdict"]["confidence"] == "high"
    assert lab.proxy.requests == [r for r in want if r.startswith("GET")]
    assert lab.aia.hits["/issuing.crt"] == 3  # directly or through the proxy, once per run


def test_flag_and_client_environment_apply_to_both_connections(
    lab: Lab, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    base = ["diagnose", f"{SHOP}:{lab.port}", "--trust", str(lab.root), "--client", "go",
            "--fetch", "--format", "json"]  # fmt: skip
    # --proxy wins over NO_PROXY, for the handshake and the AIA fetch alike.
    monkeypatch.setenv("no_proxy", "*")
    rc, _ = _run(capsys, [*base, "--cache", lab.cache(), "--proxy", lab.proxy.url])
    assert rc == 1 and lab.proxy.requests == _expected(lab, {"no_proxy": "*"}, lab.proxy.url)
    assert len(lab.proxy.requests) == 2
    # --proxy "" forces both direct, whatever the environment says.
    lab.proxy.requests.clear()
    monkeypatch.delenv("no_proxy")
    monkeypatch.setenv("https_proxy", lab.proxy.url)
    monkeypatch.setenv("http_proxy", lab.proxy.url)
    rc, doc = _run(capsys, [*base, "--cache", lab.cache(), "--proxy", ""])
    assert rc == 1 and doc["verdict"]["confidence"] == "high" and lab.proxy.requests == []
    # --env describes the diagnosed client's environment: both connections use it.
    monkeypatch.delenv("https_proxy")
    monkeypatch.delenv("http_proxy")
    rc, doc = _run(
        capsys,
        [*base, "--cache", lab.cache(), "--env", f"https_proxy={lab.proxy.url}",
         "--env", f"http_proxy={lab.proxy.url}", "--env", f"no_proxy={AIA}"],
    )  # fmt: skip
    assert rc == 1 and doc["verdict"]["confidence"] == "high"
    assert lab.proxy.requests == [f"CONNECT {SHOP}:{lab.port}"]


# -- curl as the oracle of the rules we share with it ---------------------------------------

# (NO_PROXY, host) rows where docs/diagnose-targets.md says we read NO_PROXY as
# curl does (the rows where we follow Go instead, ports and loopback, are
# left out: there the two differ by design).
CURL_ROWS = [
    ("curl.test", "www.curl.test"),
    ("curl.test", "notcurl.test"),
    ("curl.test", "curl.test.evil.test"),
    (".curl.test", "curl.test"),
    (".curl.test", "a.b.curl.test"),
    ("CURL.test", "www.curl.test"),
    ("other.test, curl.test", "a.curl.test"),
    ("other.test curl.test", "a.curl.test"),
    ("curl.test.", "www.curl.test"),
    ("other.test", "www.curl.test"),
    ("*", "www.curl.test"),
]


@pytest.mark.parametrize(("no_proxy", "host"), CURL_ROWS)
def test_no_proxy_reads_as_curl_reads_it(tmp_path: Path, no_proxy: str, host: str) -> None:
    import os
    import shutil
    import socket
    import subprocess

    curl = shutil.which("curl")
    if curl is None:
        pytest.skip("no curl")
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    closed = s.getsockname()[1]  # a direct connection is refused at once
    s.close()
    with Proxy() as proxy:  # knows no name: it only records, and refuses
        env = {k: v for k, v in os.environ.items() if k not in PROXY_VARS}
        env.update(https_proxy=proxy.url, no_proxy=no_proxy, HOME=str(tmp_path))
        subprocess.run(
            [curl, "-sS", "-o", "/dev/null", "--max-time", "5", "-q",
             "--resolve", f"{host}:{closed}:127.0.0.1", f"https://{host}:{closed}/"],
            env=env, capture_output=True, timeout=30,
        )  # fmt: skip
        by_curl = bool(proxy.requests)
    env = {"https_proxy": "http://p:1", "no_proxy": no_proxy}
    ours = select_proxy("https", host, closed, env=env)
    assert (ours is not None) == by_curl, (no_proxy, host, proxy.requests)
