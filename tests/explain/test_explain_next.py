"""The next command explain suggests carries what the daemons' stores need."""

from __future__ import annotations

from trustdoctor.explain.match import explain

KUBELET = (
    'Failed to pull image "{ref}": rpc error: code = Unknown desc = failed to pull and unpack '
    'image "{ref}": failed to resolve reference "{ref}": failed to do request: Head '
    '"https://{reg}/v2/team/app/manifests/1.4": tls: failed to verify certificate: x509: '
    "certificate signed by unknown authority"
)


def _next(text: str) -> tuple[str, ...]:
    (m,) = explain(text).matches
    return m.next.argv


def test_registry_with_port_is_named_as_in_the_image_reference():
    reg = "registry.internal.example.com:5000"
    argv = _next(KUBELET.format(ref=f"{reg}/team/app:1.4", reg=reg))
    assert argv[:3] == ("trustdoctor", "diagnose", reg)
    assert argv[argv.index("--registry") + 1] == reg


def test_default_port_registry_has_no_port_in_its_name():
    # certs.d/<host> for 443: "do not add the port" (docs.docker.com).
    reg = "registry.internal.example.com"
    argv = _next(KUBELET.format(ref=f"{reg}/team/app:1.4", reg=reg))
    assert argv[argv.index("--registry") + 1] == reg


def test_plain_go_client_gets_no_registry_flag():
    argv = _next(
        'Get "https://api.internal.example.com/v1": x509: certificate signed by unknown authority'
    )
    assert "--registry" not in argv and argv[-1] == "go"


PY_MISMATCH = (
    "ssl.SSLCertVerificationError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify "
    "failed: Hostname mismatch, certificate is not valid for '{name}'. (_ssl.c:1006)"
)


def test_a_fully_qualified_name_keeps_its_dot_into_diagnose():
    """Python names the host it compared, dot included: the dot is the cause
    (Python keeps it, no certificate lists it) and the next command keeps it,
    so diagnose judges what Python judged (clients.TRAILING_DOT)."""
    from trustdoctor.model.target import parse_target

    (m,) = explain(PY_MISMATCH.format(name="api.default.svc.cluster.local.")).matches
    assert m.causes[0].reason == "trailing-dot"
    assert m.next.argv[:3] == ("trustdoctor", "diagnose", "api.default.svc.cluster.local.")
    assert parse_target(m.next.argv[2]).checked_name == "api.default.svc.cluster.local."
    # Without the dot, or unquoted (a dot that ends the sentence): no such cause.
    (m,) = explain(PY_MISMATCH.format(name="api.default.svc.cluster.local")).matches
    assert all(c.reason != "trailing-dot" for c in m.causes)
    assert m.next.argv[2] == "api.default.svc.cluster.local"
    (m,) = explain(
        "x509: certificate is not valid for any names, but wanted to match registry.local."
    ).matches
    assert all(c.reason != "trailing-dot" for c in m.causes) and m.host == "registry.local"
