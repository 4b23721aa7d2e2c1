"""``from_certificate`` reads a self-issued certificate's name once: the
issuer is the subject exactly when their encodings are the same bytes."""

from __future__ import annotations

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from trustdoctor.lab.pki import hierarchy, make_cert
from trustdoctor.model.cert import _issuer_is_subject, from_certificate


def _both(cert: x509.Certificate) -> tuple[object, object]:
    der = cert.public_bytes(Encoding.DER)
    return from_certificate(cert), from_certificate(cert, der=der)


def test_roots_v1_and_issued_certificates() -> None:
    h = hierarchy("names.test")
    v1 = make_cert("Old Root", version1=True)
    for issued, self_issued in ((h.root, True), (v1, True), (h.intermediate, False),
                                (h.leaf, False)):  # fmt: skip
        der = issued.cert.public_bytes(Encoding.DER)
        assert _issuer_is_subject(der) is self_issued
        for info in _both(issued.cert):
            assert info.self_issued is self_issued
            assert info.issuer == issued.cert.issuer.rfc4514_string()
            assert info.issuer_der == issued.cert.issuer.public_bytes()
            assert info.subject_der == issued.cert.subject.public_bytes()


def test_the_same_text_in_another_string_type_is_another_issuer() -> None:
    # Go and OpenSSL chain by encoding: a PrintableString CN is not the
    # UTF8String CN of the same text, and the model must not merge them.
    printable = x509.Name(
        [x509.NameAttribute(NameOID.COMMON_NAME, "Twin CA", x509.name._ASN1Type.PrintableString)]
    )
    issued = make_cert("Twin CA", issuer_name=printable)
    der = issued.cert.public_bytes(Encoding.DER)
    assert not _issuer_is_subject(der)
    for info in _both(issued.cert):
        assert info.subject == info.issuer == "CN=Twin CA"
        assert info.subject_der != info.issuer_der
        assert not info.self_issued


def test_truncated_bytes_are_not_self_issued() -> None:
    der = hierarchy("names.test").root.cert.public_bytes(Encoding.DER)
    for cut in (0, 1, 5, 20, 60):  # within the header or the names
        assert _issuer_is_subject(der[:cut]) is False
    # Lengths that point past the end (both names "empty" slices) are not equal names.
    assert _issuer_is_subject(b"\x30\x82\xff\xff\x30\x82\xff\xf0\x02\x01\x01\x30\x00") is False
