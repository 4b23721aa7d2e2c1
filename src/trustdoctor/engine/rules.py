"""The diagnosis rules (pure): from candidate paths to a verdict per client.

For every path the path builder found, :func:`check_path` lists the
problems a client would see (validity, CA flag, keyCertSign, path length,
name constraints, EKU, critical extensions, weak algorithms and keys).  The
best path is the one that reaches an anchor with the fewest problems; its
first problem *in the client's reporting order* (``Policy.stages``) is the
primary cause, so the cause matches the error the real client prints.

When no path reaches an anchor, :func:`classify_missing` answers the central
question of the seed guide — did the server omit an intermediate, or does the
client lack a root? — from the evidence, with a confidence and the checks that
would settle it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence

from ..model.anchors import AnchorSet
from ..model.causes import CODE_SIDE
from ..model.cert import ANY_EKU, SERVER_AUTH, CertInfo, ip_in_cidr
from ..model.diagnosis import ClientVerdict, PathLink, PresentedCert
from ..model.findings import Code, Confidence, Finding, Severity, Side
from ..model.record import field, record
from . import policies as P
from .hostnames import check_name, dns_match, peer_name
from .pathbuild import ANCHOR, PRESENTED, Candidate, Path, PathSearch, build_paths
from .policies import Policy

EXPIRING_SOON_DAYS = 30

# Stable codes of the checks that would settle an uncertain diagnosis; the
# renderers word them, the fix planners turn them into commands.
SETTLE_FETCH_AIA = "fetch-aia"
SETTLE_SUPPLY_ROOT = "supply-root"
SETTLE_ASK_SERVER = "ask-server-for-chain"

NO_ANCHOR = "no-anchor"  # placeholder problem code until classify_missing names it


@record
class Problem:
    """One failed check on one certificate of a path."""

    code: str  # a Code value, or NO_ANCHOR
    stage: str
    depth: int
    cert: CertInfo
    params: Mapping[str, object] = field(default_factory=dict)
    side: Side | None = None  # who must act, when not the code's (CODE_SIDE)


# -- per-path checks --------------------------------------------------------------


def _stage(policy: Policy, code: str, depth: int) -> str:
    """Where a problem sits in the client's reporting order."""
    go = policy.name == "go"
    # Java's PKIX reports in OpenSSL's order: building first, then checks.
    openssl = policy.name in ("openssl", "java")
    if code in (Code.EXPIRED, Code.NOT_YET_VALID):
        if openssl:
            return P.SIGNATURES
        return P.LEAF_TIME if depth == 0 else P.CHAIN
    if code == Code.UNHANDLED_CRITICAL_EXTENSION:
        if openssl:
            return P.EXTENSIONS
        return P.LEAF_TIME if depth == 0 else P.CHAIN
    if code in (Code.NOT_A_CA, Code.PATH_TOO_LONG):
        return P.CHAIN if not openssl else P.EXTENSIONS
    if code == Code.NAME_CONSTRAINTS:
        return P.CHAIN if go else P.NAMES
    if code == Code.WRONG_USAGE:
        return P.EXTENSIONS if openssl else P.USAGE
    if code in (Code.INSECURE_ALGORITHM, Code.WEAK_KEY):
        return P.LEVEL if openssl else P.CHAIN
    if code == Code.BAD_SIGNATURE:
        return P.SIGNATURES if openssl else P.CHAIN
    if code == Code.STRICT_PROFILE:
        return P.LEAF_TIME if depth == 0 else P.CHAIN
    return P.CHAIN


def _dns_suffixes(name: str) -> set[str]:
    """Every constraint text that would contain ``name``: itself, and each
    parent domain with and without its leading dot (so a lookup in a set of
    constraints is as good as comparing with each one, RFC 5280 4.2.1.10)."""
    out = {name}
    for i, ch in enumerate(name):
        if ch == ".":
            out.add(name[i:])
            out.add(name[i + 1 :])
    return out


def _nc_violation(ca: CertInfo, subject: CertInfo) -> dict[str, object] | None:
    nc = ca.name_constraints
    if nc is None:
        return None

    def norm(base: str) -> str:
        return base.rstrip(".").lower() if not base.startswith(".") else base.lower()

    def dns_in(name: str, base: str) -> bool:
        n, b = name.rstrip(".").lower(), base.rstrip(".").lower()
        if b.startswith("."):
            return n.endswith(b)
        return n == b or n.endswith("." + b)

    def email_in(addr: str, base: str) -> bool:
        if "@" in base:
            return addr.lower() == base.lower()
        host = addr.rpartition("@")[2].lower()
        return dns_in(host, base) if base.startswith(".") else host == base.lower()

    excluded = {norm(b): b for b in reversed(nc.excluded_dns)}
    permitted = {norm(b) for b in nc.permitted_dns}
    for name in subject.dns_names:
        probe = name[2:] if name.startswith("*.") else name
        hits = _dns_suffixes(probe.rstrip(".").lower())
        ex = next((excluded[h] for h in hits if h in excluded), None)
        if ex is None and name.startswith("*."):
            ex = next((e for e in nc.excluded_dns if dns_in(e, probe)), None)
        if ex is not None:
            return {"name": name, "constraint": ex, "kind": "excluded"}
        if permitted and not hits & permitted:
            return {"name": name, "constraint": ",".join(nc.permitted_dns), "kind": "not-permitted"}
    for ip in subject.ip_addresses:
        for ex in nc.excluded_ip:
            if ip_in_cidr(ip, ex):
                return {"name": ip, "constraint": ex, "kind": "excluded"}
        if nc.permitted_ip and not any(ip_in_cidr(ip, p) for p in nc.permitted_ip):
            return {"name": ip, "constraint": ",".join(nc.permitted_ip), "kind": "not-permitted"}
    for mail in subject.emails:
        for ex in nc.excluded_email:
            if email_in(mail, ex):
                return {"name": mail, "constraint": ex, "kind": "excluded"}
        if nc.permitted_email and not any(email_in(mail, p) for p in nc.permitted_email):
            return {
                "name": mail,
                "constraint": ",".join(nc.permitted_email),
                "kind": "not-permitted",
            }
    return None


def _eku_ok(eku: frozenset[str] | None, policy: Policy) -> bool:
    if eku is None:
        return True
    return SERVER_AUTH in eku or (policy.any_eku_ok and ANY_EKU in eku)


def check_path(path: Path, policy: Policy, at: dt.datetime) -> list[Problem]:
    """Every problem a client applying ``policy`` would find on ``path``."""
    out: list[Problem] = []
    certs = path.certs
    n = len(certs)
    # Certificate times have one-second precision; so do the clients' checks.
    at = at.replace(microsecond=0)

    def add(code: Code, depth: int, **params: object) -> None:
        out.append(Problem(code, _stage(policy, code, depth), depth, certs[depth], params))

    for i, c in enumerate(certs):
        is_top_anchor = path.anchored and i == n - 1
        # Validity period.
        if at > c.not_after:
            add(Code.EXPIRED, i, not_after=c.not_after.isoformat(), at=at.isoformat())
        elif at < c.not_before:
            add(Code.NOT_YET_VALID, i, not_before=c.not_before.isoformat(), at=at.isoformat())
        if c.unhandled_critical:
            add(Code.UNHANDLED_CRITICAL_EXTENSION, i, oids=list(c.unhandled_critical))
        # Weak keys: every certificate, anchors included (OpenSSL check_key_level).
        if c.key_type == "RSA" and c.key_bits < policy.min_rsa_bits:
            add(Code.WEAK_KEY, i, key_type="RSA", bits=c.key_bits, minimum=policy.min_rsa_bits)
        elif c.key_type == "RSA" and policy.strict_profile and c.key_bits % 8:
            # CA/B Forum BR 6.1.5: the modulus size in bits is divisible by 8.
            add(
                Code.WEAK_KEY,
                i,
                key_type="RSA",
                bits=c.key_bits,
                minimum=policy.min_rsa_bits,
                rule="modulus-not-multiple-of-8",
                divisible_by=8,
            )
        elif c.key_type == "DSA" and policy.name in ("go", "webpki"):
            add(Code.INSECURE_ALGORITHM, i, algorithm="DSA")
        elif (
            policy.name == "webpki"
            and c.key_type == "EC"
            and c.key_curve not in WEB_PKI_CURVES
        ):
            add(Code.WEAK_KEY, i, key_type="EC", curve=c.key_curve or "unknown")
        # Signature digest: never checked on a self-signed top (all clients).
        if not (i == n - 1 and c.self_issued):
            h = (c.signature_hash or "").lower()
            if h in ("md5", "md2", "md4") or (h == "sha1" and policy.reject_sha1):
                add(Code.INSECURE_ALGORITHM, i, algorithm=c.signature_algorithm, hash=h)
        if i == 0:
            if not _eku_ok(c.eku, policy):
                add(Code.WRONG_USAGE, 0, which="leaf-eku", eku=sorted(c.eku or ()))
            if (
                policy.leaf_key_usage
                and c.key_usage is not None
                and not c.key_usage & {"digital_signature", "key_encipherment", "key_agreement"}
                and not is_top_anchor
            ):
                add(Code.WRONG_USAGE, 0, which="leaf-key-usage", key_usage=sorted(c.key_usage))
            elif (
                policy.leaf_ku_signature
                and c.key_usage is not None
                and "digital_signature" not in c.key_usage
                and not is_top_anchor
            ):
                add(Code.WRONG_USAGE, 0, which="leaf-key-usage", key_usage=sorted(c.key_usage),
                    reason="no-digital-signature")  # fmt: skip
            if policy.strict_profile and not is_top_anchor:
                _leaf_profile(c, add)
            continue
        # c issued certs[i-1]: may it?  (Java's anchor binds by its CA flag
        # only: its pathlen and name constraints are not PKIX's TrustAnchor's.)
        bound = not (is_top_anchor and not policy.anchor_constraints)
        if c.version == 1:
            if not (is_top_anchor and policy.v1_anchors) and not policy.v1_intermediates:
                add(Code.NOT_A_CA, i, reason="v1-certificate")
        elif c.is_ca is None:
            add(Code.NOT_A_CA, i, reason="no-basic-constraints")
        elif not c.is_ca:
            add(Code.NOT_A_CA, i, reason="ca-false")
        elif not c.can_sign_certs:
            add(Code.NOT_A_CA, i, reason="no-key-cert-sign")
        if c.path_length is not None and bound:
            below = sum(1 for x in certs[1:i] if not x.self_issued)
            if below > c.path_length:
                add(Code.PATH_TOO_LONG, i, path_length=c.path_length, intermediates=below)
        if policy.strict_profile:
            if c.ski is None:
                add(Code.STRICT_PROFILE, i, rule="missing-ski")
            if is_top_anchor:
                # A trust anchor needs no AKI (it is trusted as given), but a
                # self-signed root that carries one must point at itself.
                if (
                    c.self_issued
                    and c.aki is not None
                    and (c.aki_has_issuer or (c.ski is not None and c.aki != c.ski))
                ):
                    add(Code.STRICT_PROFILE, i, rule="root-aki")
            elif c.aki is None:
                add(Code.STRICT_PROFILE, i, rule="missing-aki")
        if policy.ca_eku and not _eku_ok(c.eku, policy):
            add(Code.WRONG_USAGE, i, which="ca-eku", eku=sorted(c.eku or ()))
        for j in range(i if bound else 0):
            if j > 0 and certs[j].self_issued:
                continue
            v = _nc_violation(c, certs[j])
            if v is not None:
                add(Code.NAME_CONSTRAINTS, i, subject_depth=j, **v)
                break
    if policy.max_intermediates is not None and path.anchored:
        # Self-issued intermediates do not count (RFC 5280 §6.1, and
        # x509-limbo pathlen::max-chain-depth-1-self-issued).
        inter = sum(1 for x in certs[1:-1] if not x.self_issued)
        if inter > policy.max_intermediates:
            add(
                Code.PATH_TOO_LONG,
                n - 1,
                max_intermediates=policy.max_intermediates,
                intermediates=inter,
            )
    if not path.anchored:
        out.append(Problem(NO_ANCHOR, P.CHAIN, n - 1, certs[-1], {"end": path.end}))
    return out


def _leaf_profile(c: CertInfo, add: Callable[..., None]) -> None:
    """CA/B Forum and RFC 5280 rules for the end entity (webpki only)."""
    if c.aki is None:
        add(Code.STRICT_PROFILE, 0, rule="missing-aki")
    bad = [d for d in c.dns_names if "_" in d]
    if bad:
        # RFC 5280 §4.2.1.6 preferred name syntax: no underscores in dNSName.
        add(Code.STRICT_PROFILE, 0, rule="invalid-dns-name", names=bad)
    # No "the CN repeats a SAN" rule (CA/B Forum BR 7.1.4.3): cryptography's
    # verifier, whose profile this model follows, does not enforce it, and
    # x509-limbo's rfc5280::nc::permitted-dns-match-more expects acceptance.


def _rank(policy: Policy, problems: Sequence[Problem]) -> list[Problem]:
    stages = {s: k for k, s in enumerate(policy.stages)}

    def key(p: Problem) -> tuple[int, int, int]:
        # Go: a candidate's own invalidity (expired intermediate...) is returned
        # instead of UnknownAuthority, so NO_ANCHOR sorts last in its stage.
        last = 1 if p.code == NO_ANCHOR else 0
        depth = -p.depth if policy.name in ("openssl", "java") else p.depth
        return (stages.get(p.stage, len(stages)), last, depth)

    return sorted(problems, key=key)


# -- the missing-issuer question ---------------------------------------------------------


@record
class MissingCause:
    """Why no path reaches an anchor: the cause, how sure, and what would settle it."""

    code: Code
    confidence: Confidence
    alternatives: tuple[Code, ...]
    settle: tuple[str, ...]
    params: Mapping[str, object]


def _known_roots(issuer_der: bytes, aki: bytes | None, sets: Mapping[str, AnchorSet]) -> list[str]:
    found = []
    for name, s in sets.items():
        for a in s.by_subject(issuer_der):
            if aki is None or a.cert.ski is None or a.cert.ski == aki:
                found.append(name)
                break
    return found


def classify_missing(
    path: Path,
    presented: Sequence[CertInfo],
    anchors: AnchorSet,
    policy: Policy,
    *,
    reference: Mapping[str, AnchorSet],
) -> MissingCause:
    """Name the cause of a path that does not reach an anchor.

    ``reference`` maps names (``mozilla``, other clients' stores) to anchor
    sets that are *not* this client's: finding the missing issuer there proves
    it is a root this client lacks.
    """
    top = path.top
    issuer_text = top.issuer
    base: dict[str, object] = {"issuer": issuer_text, "top": top.subject}
    if path.end == "self-signed":
        known = [n for n, s in reference.items() if s.contains(top)]
        base.update(root=top.subject, known_in=known)
        if len(path.certs) == 1:
            return MissingCause(
                Code.SELF_SIGNED_LEAF, Confidence.HIGH, (Code.UNTRUSTED_ROOT,), (), base
            )
        if "mozilla" in known:
            return MissingCause(
                Code.OUTDATED_STORE, Confidence.HIGH, (Code.UNTRUSTED_ROOT,), (), base
            )
        return MissingCause(Code.UNTRUSTED_ROOT, Confidence.HIGH, (), (), base)
    if path.end == "rejected-issuer":
        from_anchor = [r for r in path.rejected if r.origin == ANCHOR]
        base.update(
            candidates=[r.cert.subject for r in path.rejected],
            reasons=sorted({r.reason for r in path.rejected}),
        )
        if from_anchor:
            # The client trusts a CA with this name but another key: the CA was
            # re-keyed (or a different CA reuses the name).
            base["same_name_different_key"] = True
            base["trusted_sha256"] = from_anchor[0].cert.sha256
            return MissingCause(
                Code.UNTRUSTED_ROOT,
                Confidence.MEDIUM,
                (Code.BAD_SIGNATURE,),
                (SETTLE_SUPPLY_ROOT,),
                base,
            )
        return MissingCause(Code.BAD_SIGNATURE, Confidence.HIGH, (), (), base)
    if path.end in ("too-long", "budget"):
        base["end"] = path.end
        return MissingCause(Code.PATH_TOO_LONG, Confidence.LOW, (Code.UNTRUSTED_ROOT,), (), base)
    # end == missing-issuer
    if anchors.contains(top) and not policy.partial_chain:
        # OpenSSL error 2: the store holds an intermediate but not its root.
        base["anchor_not_self_signed"] = True
        return MissingCause(Code.UNTRUSTED_ROOT, Confidence.HIGH, (), (SETTLE_SUPPLY_ROOT,), base)
    known = _known_roots(top.issuer_der, top.aki, reference)
    base["known_in"] = known
    aia = bool(top.aia_ca_issuers)
    base["aia"] = list(top.aia_ca_issuers)
    if known:
        code = Code.OUTDATED_STORE if "mozilla" in known else Code.UNTRUSTED_ROOT
        return MissingCause(code, Confidence.HIGH, (), (), base)
    presented_fps = {c.sha256 for c in presented}
    is_leaf = len(path.certs) == 1
    if is_leaf:
        # Only the leaf reached us, or nothing presented issues it.  Public
        # CAs never issue leaves from a root (CA/B Forum BR §6.1.7), so an
        # issuer that is no known root is almost surely an intermediate the
        # server should send; a private CA may sign leaves from its root, so
        # without AIA we stay cautious.
        base["presented_count"] = len(presented_fps)
        conf = Confidence.MEDIUM if aia else Confidence.LOW
        settle = ((SETTLE_FETCH_AIA,) if aia else ()) + (SETTLE_SUPPLY_ROOT, SETTLE_ASK_SERVER)
        return MissingCause(Code.MISSING_INTERMEDIATE, conf, (Code.UNTRUSTED_ROOT,), settle, base)
    # The server sent intermediates; the top one's issuer is absent.  Most
    # often that issuer is the (private) root the client lacks; a second
    # missing intermediate is the alternative (its AIA would tell).
    settle = (SETTLE_SUPPLY_ROOT,) + ((SETTLE_FETCH_AIA,) if aia else ())
    conf = Confidence.MEDIUM
    return MissingCause(Code.UNTRUSTED_ROOT, conf, (Code.MISSING_INTERMEDIATE,), settle, base)


# -- per-client evaluation --------------------------------------------------------------


@record
class Evaluation:
    """A client's verdict plus the path it is based on (for the store refiners)."""

    verdict: ClientVerdict
    path: Path
    problems: tuple[Problem, ...]


def _problem_finding(
    p: Problem, side: Side | None = None, severity: Severity = Severity.ERROR
) -> Finding:
    code = Code(p.code)
    params: dict[str, object] = {"depth": p.depth, "subject": p.cert.subject}
    params.update(p.params)
    return Finding(
        code,
        severity,
        side or p.side or CODE_SIDE.get(code, Side.SERVER),
        params,
        (p.cert.sha256,),
    )


def evaluate(
    client: str,
    leaf: CertInfo,
    pool: Sequence[Candidate],
    anchors: AnchorSet,
    policy: Policy,
    *,
    at: dt.datetime,
    host: str | None,
    presented: Sequence[CertInfo],
    reference: Mapping[str, AnchorSet],
) -> Evaluation:
    """Decide what ``client`` (verifying with ``policy``) makes of the chain."""
    valid = [c.cert.sha256 for c in pool if c.cert.valid_at(at)]
    valid += [a.cert.sha256 for a in anchors.anchors if a.cert.valid_at(at)]
    search: PathSearch = build_paths(leaf, pool, anchors, policy, valid_fps=valid)
    name_problem: Problem | None = None
    # The name this client checks: a final dot dropped or kept as it does.
    checked = peer_name(client, host) if host else host
    if checked:
        nc = check_name(leaf, checked, cn_fallback=policy.cn_fallback,
                        require_san=policy.require_san, wildcards=policy.wildcards)  # fmt: skip
        if not nc.ok:
            params: dict[str, object] = {"host": host, "reason": nc.reason, "names": list(nc.names)}
            side = None
            bare = checked.rstrip(".")
            if bare != checked and check_name(leaf, bare, cn_fallback=policy.cn_fallback,
                                              require_san=policy.require_san,
                                              wildcards=policy.wildcards).ok:  # fmt: skip
                # Only the dot stands between them: the client compares it, and
                # the certificate is right: the client's name is what changes.
                params.update(reason="trailing-dot", without_dot=bare)
                side = Side.CLIENT
            name_problem = Problem(Code.HOSTNAME_MISMATCH, P.HOSTNAME, 0, leaf, params, side)
    scored: list[tuple[tuple[int, int, int], Path, list[Problem]]] = []
    for path in search.paths:
        probs = check_path(path, policy, at)
        scored.append(((0 if path.anchored else 1, len(probs), len(path.certs)), path, probs))
    scored.sort(key=lambda t: t[0])
    _, best, probs = scored[0]
    if name_problem is not None:
        probs = [*probs, name_problem]
    if policy.strict_profile and not [p for p in probs if p.code != Code.HOSTNAME_MISMATCH]:
        probs = [*probs, *_strict_problems(leaf, pool, anchors, checked, at, policy)]
    ranked = _rank(policy, probs)
    go_text: str | None = None
    if policy.name == "go":
        ranked, go_text = _go_reconcile(policy, leaf, pool, anchors, host, at, presented, ranked)
    elif policy.name == "openssl":
        ranked, go_text = _openssl_reconcile(
            policy, client, leaf, pool, anchors, checked, at, presented, ranked
        )
    path_links = tuple(
        PathLink(
            c.sha256,
            "leaf"
            if i == 0
            else ("anchor" if best.anchored and i == len(best.certs) - 1 else "intermediate"),
            o,
        )
        for i, (c, o) in enumerate(zip(best.certs, best.origins, strict=True))
    )
    anchor_source = None
    if best.anchored:
        a = anchors.find(best.top.sha256)
        anchor_source = a.provenance.label() if a else None
    if not ranked:
        v = ClientVerdict(
            client=client,
            trusted=True,
            cause=Code.OK,
            side=Side.NONE,
            path=path_links,
            anchor_source=anchor_source,
            anchor_count=len(anchors),
        )
        return Evaluation(v, best, ())
    findings: list[Finding] = []
    primary = ranked[0]
    confidence = Confidence.HIGH
    alternatives: tuple[Code, ...] = ()
    settle: tuple[str, ...] = ()
    cause: Code
    for p in ranked:
        if p.code == NO_ANCHOR:
            m = classify_missing(best, presented, anchors, policy, reference=reference)
            f = Finding(
                m.code,
                Severity.ERROR,
                CODE_SIDE.get(m.code, Side.CLIENT),
                dict(m.params),
                (p.cert.sha256,),
            )
            if p is primary:
                confidence, alternatives, settle = m.confidence, m.alternatives, m.settle
            findings.append(f)
        else:
            findings.append(_problem_finding(p))
    cause = findings[0].code
    missing_link: tuple[PathLink, ...] = ()
    if not best.anchored and best.end == "missing-issuer":
        missing_link = (PathLink("", "missing", "absent"),)
    if go_text is None:
        # (Imported here: a trusted chain never needs the error texts.)
        from .clienterrors import client_error

        go_text = client_error(policy.name, findings[0], best, host, client)
    v = ClientVerdict(
        client=client,
        trusted=False,
        cause=cause,
        side=findings[0].side,
        confidence=confidence,
        findings=tuple(findings),
        path=path_links + missing_link,
        client_error=go_text,
        alternatives=alternatives,
        settle=settle,
        anchor_source=anchor_source,
        anchor_count=len(anchors),
    )
    return Evaluation(v, best, tuple(ranked))


# Go's verdict kinds (engine/gox509.py) → the finding codes that name them.
_GO_KIND_CODES: Mapping[str, tuple[str, ...]] = {
    "parse": (Code.UNPARSABLE_CERTIFICATE,),
    "message-too-large": (Code.UNPARSABLE_CERTIFICATE,),
    "key-size": (Code.WEAK_KEY,),
    "key-type": (Code.INSECURE_ALGORITHM,),
    "unhandled-critical": (Code.UNHANDLED_CRITICAL_EXTENSION,),
    "expired": (Code.EXPIRED,),
    "not-yet-valid": (Code.NOT_YET_VALID,),
    "hostname": (Code.HOSTNAME_MISMATCH,),
    "unknown-authority": (
        NO_ANCHOR,
        Code.NOT_A_CA,
        Code.BAD_SIGNATURE,
        Code.INSECURE_ALGORITHM,
        Code.WEAK_KEY,
    ),
    "not-authorized-to-sign": (Code.NOT_A_CA,),
    "too-many-intermediates": (Code.PATH_TOO_LONG,),
    "sig-limit": (Code.PATH_TOO_LONG,),
    "name-constraints": (Code.NAME_CONSTRAINTS,),
    "unknown-error": (Code.NAME_CONSTRAINTS,),
    "incompatible-usage": (Code.WRONG_USAGE,),
    "name-mismatch": (Code.BAD_SIGNATURE,),
}


def _go_reconcile(
    policy: Policy,
    leaf: CertInfo,
    pool: Sequence[Candidate],
    anchors: AnchorSet,
    host: str | None,
    at: dt.datetime,
    presented: Sequence[CertInfo],
    ranked: list[Problem],
) -> tuple[list[Problem], str]:
    """Let Go's own procedure decide the verdict, the text and the primary cause.

    Our path analysis explains (every problem on the best path); the Go
    simulation (gox509.go_client) says what the real Go program does, in its
    order: a parse error, the leaf, the host name, the chain search.  The
    problem of ours naming Go's error is moved first, or made when we have none.
    """
    from .gox509 import go_client
    from .versions import settings

    b = policy.settings or settings("go")
    sent = [leaf, *(c for c in presented if c.sha256 != leaf.sha256)]
    seen = {c.sha256 for c in sent}
    extra = [c.cert for c in pool if c.origin not in (ANCHOR, PRESENTED)]
    extra = [c for c in extra if c.sha256 not in seen]
    out = go_client(
        sent, [a.cert for a in anchors.anchors], host=host, at=at, behaviour=b, extra=extra
    )
    sent += extra
    if out.ok:
        return [], ""
    codes = _GO_KIND_CODES.get(out.kind, ())
    if out.kind == "unknown-authority":
        hint = str(out.params.get("hint", ""))
        if "cannot sign" in hint:
            codes = (Code.NOT_A_CA, NO_ANCHOR)
        elif "insecure algorithm" in hint:
            codes = (Code.INSECURE_ALGORITHM, NO_ANCHOR)
        else:
            codes = (NO_ANCHOR, Code.BAD_SIGNATURE)
    chosen = next((p for c in codes for p in ranked if p.code == c), None)
    if chosen is None:
        depth = out.position if out.position is not None else 0
        cert = next((c for c in sent if c.sha256 == out.sha256), leaf)
        params: dict[str, object] = {k: v for k, v in out.params.items() if k != "hint_cert"}
        code = codes[0] if codes else Code.STRICT_PROFILE
        if code == Code.UNPARSABLE_CERTIFICATE:
            params.setdefault("message", "")
            params["position"] = depth
            if out.kind == "message-too-large":
                params["reason"] = "message-too-large"
        elif code == Code.HOSTNAME_MISMATCH:
            params.setdefault("host", host or "")
            params.setdefault("names", [])
        elif code == Code.INSECURE_ALGORITHM:
            params.setdefault("algorithm", str(out.params.get("key_type", "")))
        stage = P.CHAIN if code == NO_ANCHOR else _stage(policy, Code(code), depth)
        chosen = Problem(code, stage, depth, cert, params)
    rest = [p for p in ranked if p is not chosen]
    return [chosen, *rest], out.text


# OpenSSL verify codes → the finding codes that name them.
_OSSL_CODES: Mapping[int, tuple[str, ...]] = {
    1: (Code.NAME_CONSTRAINTS,),
    2: (NO_ANCHOR,),
    18: (NO_ANCHOR,),
    19: (NO_ANCHOR,),
    20: (NO_ANCHOR,),
    21: (NO_ANCHOR,),
    22: (Code.PATH_TOO_LONG,),
    7: (Code.BAD_SIGNATURE,),
    9: (Code.NOT_YET_VALID,),
    10: (Code.EXPIRED,),
    25: (Code.PATH_TOO_LONG,),
    26: (Code.WRONG_USAGE,),
    32: (Code.NOT_A_CA,),
    79: (Code.NOT_A_CA,),
    34: (Code.UNHANDLED_CRITICAL_EXTENSION,),
    47: (Code.NAME_CONSTRAINTS,),
    48: (Code.NAME_CONSTRAINTS,),
    49: (Code.NAME_CONSTRAINTS,),
    51: (Code.NAME_CONSTRAINTS,),
    53: (Code.NAME_CONSTRAINTS,),
    62: (Code.HOSTNAME_MISMATCH,),
    64: (Code.HOSTNAME_MISMATCH,),
    66: (Code.WEAK_KEY,),
    67: (Code.WEAK_KEY,),
    68: (Code.INSECURE_ALGORITHM,),
    94: (Code.WEAK_KEY,),
    # X509_V_FLAG_X509_STRICT's profile errors (78, 80-93): osslverify.STRICT_RULES.
    **{c: (Code.STRICT_PROFILE,) for c in (78, *range(80, 94))},
}


def _openssl_reconcile(
    policy: Policy,
    client: str,
    leaf: CertInfo,
    pool: Sequence[Candidate],
    anchors: AnchorSet,
    host: str | None,
    at: dt.datetime,
    presented: Sequence[CertInfo],
    ranked: list[Problem],
) -> tuple[list[Problem], str]:
    """Let OpenSSL's own procedure (osslverify) decide verdict, text and cause.

    OpenSSL picks one issuer per step and never goes back, so its verdict can
    differ from the best path we found; the cause is OpenSSL's first error,
    the text the one this client prints (clienterrors.openssl_style_text).
    """
    from .clienterrors import (
        CN_BESIDE_IP_SANS,
        PARTIAL_WILDCARDS,
        host_checked_by_openssl,
        openssl_style,
        openssl_style_text,
    )
    from .osslverify import STRICT_RULES, _check_host, _facts, subtree_bounds, verify

    style = openssl_style(client)
    untrusted = [c for c in presented if c.sha256 != leaf.sha256]
    seen = {c.sha256 for c in untrusted} | {leaf.sha256}
    untrusted += [
        c.cert for c in pool if c.origin not in (ANCHOR, PRESENTED) and c.cert.sha256 not in seen
    ]
    trusted = [a.cert for a in anchors.anchors]
    depth = policy.max_intermediates if policy.max_intermediates is not None else 100
    by_openssl = host_checked_by_openssl(style)
    partial = PARTIAL_WILDCARDS[style]
    out = verify(leaf, untrusted, trusted, at=at, host=host if by_openssl else None, depth=depth,
                 partial_wildcards=partial, auth_level=policy.auth_level,
                 partial_chain=policy.partial_chain, x509_strict=policy.x509_strict)  # fmt: skip
    host_error = None
    if not out.errors and host and not by_openssl:
        host_error = _check_host(_facts(leaf), host, partial, CN_BESIDE_IP_SANS[style])
    shown, text = openssl_style_text(
        style, out, host=host, leaf=leaf, host_error=host_error, version=policy.version
    )
    if shown is None:
        return [], ""
    cause = out.first or shown
    codes = _OSSL_CODES.get(cause.code, ())
    chosen = next((p for c in codes for p in ranked if p.code == c), None)
    if chosen is None:
        depth_i = cause.depth
        params: dict[str, object] = {"verify_code": cause.code}
        code: str = codes[0] if codes else Code.STRICT_PROFILE
        if code == Code.HOSTNAME_MISMATCH:
            params.update(host=host or "", names=list(leaf.dns_names + leaf.ip_addresses))
            params["reason"] = "ip-not-in-san" if cause.code == 64 else "no-match"
        elif code == Code.STRICT_PROFILE:
            params.update(rule=STRICT_RULES.get(cause.code, "openssl-verify"), detail=cause.text)
            # The client stops at the first; the others would come next, one
            # fix at a time: name every certificate to reissue at once.
            others: dict[str, dict[str, object]] = {}
            for e in out.errors:
                if e.code in STRICT_RULES and e.cert.sha256 != cause.cert.sha256:
                    others.setdefault(e.cert.sha256, {"subject": e.cert.subject,
                                                      "depth": e.depth,
                                                      "rule": STRICT_RULES[e.code]})  # fmt: skip
            if others:
                params["others"] = list(others.values())
            if style == "python":
                # The flag a program can clear until the CA is reissued.
                params["client_flag"] = "VERIFY_X509_STRICT"
        elif code in (Code.WEAK_KEY,):
            params.update(key_type=cause.cert.key_type, bits=cause.cert.key_bits)
        cert = cause.cert
        if cause.code == 49:
            # The names are fine; a CA above them bounds a subtree (minimum,
            # maximum) and OpenSSL supports none: that CA is the one to change.
            above = list(enumerate(out.chain))[depth_i + 1 :]
            found = ((d, c, b) for d, c in reversed(above) if (b := subtree_bounds(c)))
            ca = next(found, None)
            if ca is not None:
                depth_i, cert, bound = ca
                params.update(reason="subtree-bounds", subject=cert.subject, bound=bound)
        stage = P.CHAIN if code == NO_ANCHOR else _stage(policy, Code(code), depth_i)
        chosen = Problem(code, stage, depth_i, cert, params)
    rest = [p for p in ranked if p is not chosen]
    return [chosen, *rest], text


_SELF_CHECKED = frozenset(
    {
        Code.HOSTNAME_MISMATCH,
        Code.BAD_SIGNATURE,
        Code.UNTRUSTED_ROOT,
        Code.EXPIRED,
        Code.NOT_YET_VALID,
        Code.PATH_TOO_LONG,
    }
)


def _strict_problems(
    leaf: CertInfo,
    pool: Sequence[Candidate],
    anchors: AnchorSet,
    host: str | None,
    at: dt.datetime,
    policy: Policy,
) -> list[Problem]:
    """Profile violations only cryptography's strict verifier sees."""
    from .strict import map_message, webpki_verify

    msg = webpki_verify(
        leaf,
        [c.cert for c in pool],
        [a.cert for a in anchors.anchors],
        host=host,
        at=at,
        max_chain_depth=policy.max_intermediates,
    )
    if msg is None or msg.startswith("unsupported"):
        return []
    code, rule = map_message(msg)
    if code in _SELF_CHECKED:
        # Our own path analysis decides these, and it explores every path;
        # cryptography reports only its last candidate's error (pylibs.md
        # §1.4), so a clean path of ours outranks its word here.
        return []
    detail = msg.removeprefix("validation failed: ")
    params: dict[str, object] = {"rule": rule, "detail": detail[:300]}
    depth, cert = 0, leaf
    if code == Code.WEAK_KEY:
        # cryptography names the key type, not the certificate.  It refuses a
        # key that verifies a signature (a CA's: a leaf's own key is left to
        # the handshake): the first CA key the Web PKI profile forbids, its
        # depth its place among the certificates given, its facts for the words.
        given = [leaf, *(c.cert for c in pool), *(a.cert for a in anchors.anchors)]
        found = next(
            ((i, c) for i, c in enumerate(given) if i and not _web_pki_key(c)), None
        )
        if found is not None:
            depth, cert = found
            params.update(subject=cert.subject, key_type=cert.key_type)
            if cert.key_type == "RSA":
                params["bits"] = cert.key_bits
            elif cert.key_type == "EC":
                params["curve"] = cert.key_curve or "unknown"
    return [Problem(code, P.LEAF_TIME, depth, cert, params)]


# Keys the CA/B Forum Baseline Requirements (§6.1.5) allow: RSA of at least
# 2048 bits, its size divisible by 8; ECDSA on P-256, P-384 or P-521.
WEB_PKI_CURVES = frozenset({"secp256r1", "secp384r1", "secp521r1"})


def _web_pki_key(c: CertInfo) -> bool:
    if c.key_type == "RSA":
        return c.key_bits >= 2048 and c.key_bits % 8 == 0
    return c.key_type == "EC" and c.key_curve in WEB_PKI_CURVES


# -- chain-level (client independent) findings ------------------------------------------


def chain_findings(
    presented: Sequence[PresentedCert],
    used: set[str],
    anchors_any: Sequence[AnchorSet],
    at: dt.datetime,
    host: str | None,
) -> list[Finding]:
    """Order, root sent, extra and duplicate certificates, expiring soon."""
    out: list[Finding] = []
    certs = [p.cert for p in presented]
    if not certs:
        return out
    seen: dict[str, int] = {}
    for i, c in enumerate(certs):
        if c.sha256 in seen:
            out.append(
                Finding(
                    Code.DUPLICATE_CERTIFICATE,
                    Severity.INFO,
                    Side.SERVER,
                    {"position": i + 1, "first_position": seen[c.sha256] + 1, "subject": c.subject},
                    (c.sha256,),
                )
            )
        else:
            seen[c.sha256] = i
    unique = [certs[i] for i in sorted(seen.values())]
    # Order: each certificate should be followed by its issuer.
    chain_order = [unique[0]]
    remaining = unique[1:]
    while remaining:
        top = chain_order[-1]
        nxt = next(
            (c for c in remaining if c.subject_der == top.issuer_der and not top.self_issued), None
        )
        if nxt is None:
            break
        chain_order.append(nxt)
        remaining.remove(nxt)
    if [c.sha256 for c in chain_order] != [c.sha256 for c in unique[: len(chain_order)]]:
        out.append(
            Finding(
                Code.WRONG_ORDER,
                Severity.WARNING,
                Side.SERVER,
                {
                    "presented": [c.subject for c in unique],
                    "expected": [c.subject for c in chain_order],
                },
                tuple(c.sha256 for c in chain_order),
            )
        )
    for c in unique[1:]:
        if c.self_issued and c.self_signed:
            trusted_somewhere = any(s.contains(c) for s in anchors_any)
            out.append(
                Finding(
                    Code.ROOT_SENT,
                    Severity.INFO,
                    Side.SERVER,
                    {"subject": c.subject, "trusted": trusted_somewhere},
                    (c.sha256,),
                )
            )
    for c in unique[1:]:
        if c.sha256 not in used and not (c.self_issued and c.sha256 in used):
            out.append(
                Finding(
                    Code.EXTRA_CERTIFICATE,
                    Severity.WARNING,
                    Side.SERVER,
                    {"subject": c.subject, "issuer": c.issuer},
                    (c.sha256,),
                )
            )
    leaf = certs[0]
    for c in chain_order:
        left = c.not_after - at
        if dt.timedelta(0) <= left <= dt.timedelta(days=EXPIRING_SOON_DAYS):
            out.append(
                Finding(
                    Code.EXPIRING_SOON,
                    Severity.WARNING,
                    Side.SERVER,
                    {"subject": c.subject, "not_after": c.not_after.isoformat(), "days": left.days},
                    (c.sha256,),
                )
            )
        if (
            c is not leaf
            and not c.self_issued
            and c.not_after < leaf.not_after
            and c.not_after >= at
        ):
            out.append(
                Finding(
                    Code.INTERMEDIATE_EXPIRES_FIRST,
                    Severity.INFO,
                    Side.SERVER,
                    {
                        "subject": c.subject,
                        "not_after": c.not_after.isoformat(),
                        "leaf_not_after": leaf.not_after.isoformat(),
                    },
                    (c.sha256,),
                )
            )
    bare = host[:-1] if host and host.endswith(".") else host
    if bare and not leaf.dns_names and leaf.common_name and dns_match(leaf.common_name, bare):
        out.append(
            Finding(
                Code.LEGACY_COMMON_NAME,
                Severity.WARNING,
                Side.SERVER,
                {"common_name": leaf.common_name},
                (leaf.sha256,),
            )
        )
    return out


def overall(verdicts: Sequence[ClientVerdict]) -> tuple[bool, Code, Side, Confidence]:
    """The overall verdict: trusted only when every client trusts.

    The cause shown is the first refusing client's; clients are given in
    priority order by the caller.
    """
    refusing = [v for v in verdicts if not v.trusted]
    if not refusing:
        return True, Code.OK, Side.NONE, Confidence.HIGH
    v = refusing[0]
    return False, v.cause, v.side, v.confidence


__all__ = [
    "Evaluation",
    "MissingCause",
    "Problem",
    "chain_findings",
    "check_path",
    "classify_missing",
    "evaluate",
    "overall",
]
