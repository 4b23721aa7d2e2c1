"""The message table as data: every entry is reachable, cited, worded, and safe.

* each example matches its own pattern, carries a prefilter needle, and is
  recognised by ``explain`` as that very entry;
* every reason, question and class code has an English sentence;
* every regular expression is linear by construction (bounded quantifiers,
  no quantified group holding a multi-repeat) and adversarial input finishes
  in bounded time;
* the engine's own error texts (``trustdoctor.engine.clienterrors``) read back to
  the cause that produced them.
"""

from __future__ import annotations

import random
import re
import time

import pytest

from trustdoctor.explain import catalogue as M
from trustdoctor.explain import records as logs
from trustdoctor.explain.match import explain
from trustdoctor.model.findings import Code
from trustdoctor.render import explain_text as words

CAT = M.load()  # the catalogue (data/messages.json) as the matcher's records


def _all_regexes() -> list[tuple[str, str]]:
    out = [(e.id, e.regex) for e in CAT.errors]
    out += [(f"wrapper:{w.id}", w.regex) for w in CAT.wrappers]
    out += [(f"host:{h.id}", h.regex) for h in CAT.hosts]
    out += [("logs:ansi", logs._ANSI_RE.pattern), ("logs:ctrl", logs._CTRL_RE.pattern)]
    return out


# -- every entry ------------------------------------------------------------------


@pytest.mark.parametrize("entry", CAT.errors, ids=[e.id for e in CAT.errors])
def test_error_entry_examples(entry: M.ErrorEntry) -> None:
    assert (entry.source and entry.examples and entry.causes) or entry.id.startswith("openssl.num")
    for ex in entry.examples:
        assert re.search(entry.regex, ex), ex
        assert logs.has_needle(ex.encode()), f"no prefilter needle in {ex!r}"
        got = explain(ex).matches
        assert got and got[0].pattern == entry.id, (ex, got[0].pattern if got else None)


def test_ids_unique_and_sources_cited() -> None:
    ids = [e.id for e in CAT.errors]
    assert len(ids) == len(set(ids))
    assert len({w.id for w in CAT.wrappers}) == len(CAT.wrappers)
    for w in CAT.wrappers:
        assert w.source and w.examples
        for ex in w.examples:
            assert re.search(w.regex, ex), (w.id, ex)
    for h in CAT.hosts:
        assert h.source and h.examples
        for ex in h.examples:
            assert re.search(h.regex, ex), (h.id, ex)


def test_every_code_is_worded() -> None:
    reasons: set[str] = set()
    questions: set[str] = set()
    classes: set[str] = set()
    for e in CAT.errors:
        reasons |= {r for _, r in e.causes}
        questions |= set(e.questions)
        classes.add(e.error_class)
    for c in CAT.openssl_codes:
        reasons |= {r for _, r in c.causes}
        questions |= set(c.questions)
        classes.add(c.error_class)
    for w in CAT.wrappers:
        reasons |= {r for _, r in (*w.lead, *w.extra)}
        questions |= set(w.questions)
    reasons |= {"issuer-of-leaf-missing", "issuer-of-intermediate-missing"}  # explain.py re-ranking
    assert reasons - set(words.REASON) == set()
    assert questions - set(words.QUESTION) == set()
    assert classes - set(words.CLASS_TITLE) == set()
    for e in CAT.errors:
        assert all(isinstance(c, Code) for c, _ in e.causes)


def test_openssl_codes_all_spellings() -> None:
    """Both OpenSSL 1.1.1 and 3.x spellings, and the numeric forms."""
    cases = {
        "SSL certificate problem: self signed certificate": "18",
        "SSL certificate problem: self-signed certificate": "18",
        "SSL certificate problem: self signed certificate in certificate chain": "19",
        "SSL certificate problem: self-signed certificate in certificate chain": "19",
        "verify error:num=20:unable to get local issuer certificate": "20",
        "Verify return code: 21 (unable to verify the first certificate)": "21",
        "SSL certificate problem: certificate is not yet valid or the system clock is "
        "incorrect": "9",
        "error 79 at 1 depth lookup: invalid CA certificate": "79",
        "curl: (60) SSL certificate OpenSSL verify result: certificate has expired (10)": "10",
    }
    for text, code in cases.items():
        m = explain(text).matches
        assert m and m[0].detail.get("verify_code") == code, (text, m)
    # Code 0 is success, not a failure.
    assert not explain("Verify return code: 0 (ok)").matches
    # An unknown number still says "verification failed", without guessing a cause.
    m = explain("verify error:num=23:certificate revoked").matches
    assert m and m[0].error_class == "verify-failed" and not m[0].narrows


def test_go_hint_narrows_the_cause() -> None:
    base = (
        'x509: certificate signed by unknown authority (possibly because of "{hint}" while trying '
        'to verify candidate authority certificate "{name}")'
    )
    cases = {
        "x509: invalid signature: parent certificate cannot sign this kind of "
        "certificate": "not-a-ca",
        "crypto/rsa: verification error": "bad-signature",
        "x509: ECDSA verification failure": "bad-signature",
        "x509: cannot verify signature: insecure algorithm SHA1-RSA (temporarily override with "
        "GODEBUG=x509sha1=1)": "insecure-algorithm",
    }
    for hint, cause in cases.items():
        m = explain(base.format(hint=hint, name="Corp CA")).matches[0]
        assert m.causes[0].code.value == cause
        assert (m.authority, m.hint) == ("Corp CA", hint)
    m = explain(base.format(hint="x509: something else", name="serial:4242")).matches[0]
    assert m.authority == "serial:4242" and not m.narrows


# -- linear patterns ---------------------------------------------------------------


def _check_tree(tree: object, ident: str, inside: bool = False) -> None:
    from re import _constants as C  # type: ignore[attr-defined]

    for op, av in tree:  # type: ignore[attr-defined]
        if op in (C.MAX_REPEAT, C.MIN_REPEAT, C.POSSESSIVE_REPEAT):
            _lo, hi, sub = av
            assert hi is not C.MAXREPEAT and hi != C.MAXREPEAT, f"{ident}: unbounded repeat"
            assert not (inside and hi > 1), f"{ident}: nested quantifier"
            _check_tree(sub, ident, inside or hi > 1)
        elif op is C.SUBPATTERN:
            _check_tree(av[-1], ident, inside)
        elif op is C.BRANCH:
            for b in av[1]:
                _check_tree(b, ident, inside)
        elif op in (C.ASSERT, C.ASSERT_NOT):
            _check_tree(av[1], ident, inside)


@pytest.mark.parametrize(("ident", "regex"), _all_regexes(), ids=[i for i, _ in _all_regexes()])
def test_regex_is_linear(ident: str, regex: str) -> None:
    from re import _parser as P  # type: ignore[attr-defined]

    _check_tree(P.parse(regex), ident)


ADVERSARIAL = [
    'x509: certificate signed by unknown authority (possibly because of "' + '\\"' * 40000,
    'x509: certificate signed by unknown authority (possibly because of "'
    + "a" * 30000
    + '" while trying to verify candidate authority certificate "'
    + "\\" * 30000,
    "x509: certificate is valid for " + "a, " * 25000,
    "x509: certificate is valid for " + ", not " * 12000,
    "errors in the certificate chain: " + "PartialChai" * 6000,
    "Host: " + "a." * 30000 + " is not in the cert's altnames",
    "https://" + "a" * 60000 + " x509: certificate signed by unknown authority",
    'Get "https://' + "[" * 60000,
    "dial tcp " + "1" * 60000 + " x509: unknown error",
    "SSL certificate OpenSSL verify result: " + "(" * 60000,
    "hostname '" + "'" * 60000 + " doesn't match",
    "No subject alternative DNS name matching " + "a" * 60000,
    "certificate verify failed: Hostname mismatch, certificate is not valid for '" + "x" * 60000,
    "verify error:num=" + "9" * 60000,
    "\x1b[" + "1;" * 30000,
    "x509: " * 12000,
    'Failed to pull image "' + "a/" * 30000,
    "CAfile: " * 8000 + "CRLfile:",
]


@pytest.mark.parametrize("text", ADVERSARIAL, ids=[f"adv{i}" for i in range(len(ADVERSARIAL))])
def test_adversarial_input_is_fast(text: str) -> None:
    t = time.perf_counter()
    explain(text, prefilter=False)
    explain(text * 3)
    assert time.perf_counter() - t < 2.0


def test_random_fragments_are_fast() -> None:
    rnd = random.Random(42)
    pieces = [
        '"',
        "\\",
        "x509: ",
        "certificate ",
        " not ",
        ", ",
        "https://",
        "a",
        ".",
        ":443",
        "possibly because of ",
        "(",
        ")",
        "'",
        " ",
        "Host: ",
        "errors in the certificate chain: ",
        "tls: ",
        "verify error:num=",
        "Caused by: ",
        "\t",
        "CAfile: ",
        "ECDSA",
    ]
    text = "\n".join(
        "".join(rnd.choice(pieces) for _ in range(rnd.randrange(50, 3000))) for _ in range(300)
    )
    t = time.perf_counter()
    explain(text, prefilter=False)
    assert time.perf_counter() - t < 10.0


# -- the engine's own texts read back ------------------------------------------------


def test_engine_client_error_texts_read_back() -> None:
    ce = pytest.importorskip("trustdoctor.engine.clienterrors")
    go_expect = {
        "parent-cannot-sign": "not-a-ca",
        "v1-intermediate": "not-a-ca",
        "sha1": "insecure-algorithm",
        "bad-sig-rsa": "bad-signature",
        "bad-sig-ec": "bad-signature",
        Code.EXPIRED: "expired",
        Code.NOT_YET_VALID: "not-yet-valid",
        Code.PATH_TOO_LONG: "path-too-long",
        Code.WRONG_USAGE: "wrong-usage",
        Code.UNHANDLED_CRITICAL_EXTENSION: "unhandled-critical-extension",
        "nc-excluded": "name-constraints",
        "nc-permitted": "name-constraints",
        "host-no-match": "hostname-mismatch",
        "host-legacy-cn": "legacy-common-name",
        "host-no-names": "hostname-mismatch",
        "host-ip": "hostname-mismatch",
    }
    params = dict(
        at="2026-11-28T04:08:00Z",
        limit="2026-11-25T04:07:53Z",
        kind="DNS",
        name="a.example",
        constraint="example",
        algo="SHA1-RSA",
        names="b.example",
        host="10.0.0.5",
    )
    checked = 0
    for key, want in go_expect.items():
        if key not in ce.GO_TEXTS:
            continue
        text = ce.GO_TEXTS[key].format(**params)
        if key in ("parent-cannot-sign", "sha1", "bad-sig-rsa", "bad-sig-ec"):
            text = ce.GO_UNKNOWN_AUTHORITY + ce.GO_HINT.format(hint=text, name="Corp CA")
        m = explain(text).matches
        assert m, text
        assert want in [c.code.value for c in m[0].causes][:3], (key, text)
        checked += 1
    op_expect = {
        "issuer-missing": "untrusted-root",
        "anchor-not-root": "partial-trust",
        "self-signed-leaf": "self-signed-leaf",
        "self-signed-in-chain": "untrusted-root",
        "nc-permitted": "name-constraints",
        "nc-excluded": "name-constraints",
        "ee-key": "weak-key",
        "ca-key": "weak-key",
        "hostname": "hostname-mismatch",
        "ip": "hostname-mismatch",
    }
    for key, (num, text) in ce.OPENSSL_CODES.items():
        want = op_expect.get(key, str(key))
        m = explain(f"verify error:num={num}:{text}").matches
        assert m and m[0].detail["verify_code"] == str(num), (key, text)
        assert want in [c.code.value for c in m[0].causes], (key, text)
        checked += 1
    assert checked >= 20


def test_every_code_the_openssl_model_gives_is_explained() -> None:
    """What ``openssl verify`` prints for each code the OpenSSL model
    (engine/osslverify.py) can return is in the catalogue, with that code."""
    from trustdoctor.engine import osslverify

    for num, text in osslverify.TEXTS.items():
        for line in (f"verify error:num={num}:{text}", f"error {num} at 0 depth lookup: {text}"):
            m = explain(line).matches
            assert m and m[0].detail["verify_code"] == str(num), line
            # Its own entry, not the catch-all of an unknown code (1 is
            # OpenSSL's own "unspecified" error: the catch-all is its entry).
            assert num == 1 or m[0].error_class != "verify-failed", line
