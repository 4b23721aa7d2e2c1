"""The Go model's RootCAs: each root is parsed when the search meets it.

Go parses every root when it loads a pool and leaves out those it cannot
parse; the model parses only the roots its search looks at (the candidates
for an issuer's name, the leaf itself) and must say exactly what the eager
load would: a root Go cannot parse is never an anchor, the others are.
"""

from __future__ import annotations

import datetime as dt
import warnings

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding

from trustdoctor.engine import gox509
from trustdoctor.engine.versions import settings
from trustdoctor.lab.pki import Issued, _der_len, _der_seq, _elements, hierarchy, make_cert
from trustdoctor.model.cert import CertInfo, from_certificate


def _info(cert: x509.Certificate) -> CertInfo:
    return from_certificate(cert)


def _negative_serial_twin(root: Issued) -> x509.Certificate:
    """``root`` with serial -7, signed again by its own key: the same name and
    key, a certificate the newest Go refuses to parse."""
    der = root.cert.public_bytes(Encoding.DER)
    tbs = root.cert.tbs_certificate_bytes
    hdr = 2 if tbs[1] < 0x80 else 2 + (tbs[1] & 0x7F)
    parts = _elements(tbs[hdr:])
    parts[1] = b"\x02\x01\xf9"  # INTEGER -7
    new_tbs = _der_seq(b"".join(parts))
    assert isinstance(root.key, ec.EllipticCurvePrivateKey)
    sig = root.key.sign(new_tbs, ec.ECDSA(hashes.SHA256()))
    outer = 2 if der[1] < 0x80 else 2 + (der[1] & 0x7F)
    alg = _elements(der[outer:])[1]
    bits = b"\x03" + _der_len(len(sig) + 1) + b"\x00" + sig
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # cryptography warns about the serial
        return x509.load_der_x509_certificate(_der_seq(new_tbs + alg + bits))


def _go(chain: list[CertInfo], roots: list[CertInfo], version: str | None = None) -> str:
    out = gox509.go_client(
        chain,
        roots,
        host="lazy.test",
        at=dt.datetime.now(dt.UTC),
        behaviour=settings("go", version),
    )
    return "ok" if out.ok else out.text


@pytest.fixture
def lab() -> tuple[list[CertInfo], Issued]:
    h = hierarchy("lazy.test")
    return [_info(h.leaf.cert), _info(h.intermediate.cert)], h.root


def test_only_the_roots_the_search_meets_are_parsed(monkeypatch, lab) -> None:
    chain, root = lab
    others = [_info(make_cert(f"Unrelated Root {i}").cert) for i in range(40)]
    parsed: list[str] = []
    real = gox509._parse

    def counting(info: CertInfo, b: object) -> gox509.GoCert:
        parsed.append(info.sha256)
        return real(info, b)  # type: ignore[arg-type]

    gox509._parse_cached.cache_clear()
    monkeypatch.setattr(gox509, "_parse", counting)
    assert _go(chain, [*others[:20], _info(root.cert), *others[20:]]) == "ok"
    assert _info(root.cert).sha256 in parsed
    assert not set(parsed) & {o.sha256 for o in others}
    gox509._parse_cached.cache_clear()


def test_a_root_go_cannot_parse_is_left_out(lab) -> None:
    chain, root = lab
    twin = _info(_negative_serial_twin(root))
    good = _info(root.cert)
    unknown = "tls: failed to verify certificate: x509: certificate signed by unknown authority"
    # The newest Go refuses the twin when it loads the pool: only the real root anchors.
    assert _go(chain, [twin]) == unknown
    assert _go(chain, [twin, good]) == "ok"
    assert _go(chain, [good, twin]) == "ok"
    # Go 1.19 parses a negative serial: the twin (same name, same key) anchors.
    assert _go(chain, [twin], "1.19") == "ok"


def test_a_leaf_in_the_roots_is_trusted_only_if_go_parses_it() -> None:
    leaf = make_cert("lazy.test", dns=("lazy.test",))
    assert _go([_info(leaf.cert)], [_info(leaf.cert)]) == "ok"
    twin = _info(_negative_serial_twin(leaf))
    assert _go([_info(leaf.cert)], [twin]).endswith("certificate signed by unknown authority")
