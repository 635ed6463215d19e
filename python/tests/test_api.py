"""The package's API: typed answers, errors as exceptions, limits."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from vectors import data, lines, signature

import sigward
from sigward import Action, Outcome

BEACON = (
    "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/"
    ".github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main"
)
GITHUB = "https://token.actions.githubusercontent.com"

POLICY = """\
apiVersion: v1alpha1
kind: ImageVerificationConfig
rules:
  - image: registry.k8s.io/pause*
    skip: true
  - image: registry.k8s.io/*
    keyless:
      issuer: https://accounts.google.com
      subject: krel-trust@k8s-releng-prod.iam.gserviceaccount.com
  - image: keyed.example/*
    publicKey:
      certificate: |
        -----BEGIN PUBLIC KEY-----
        MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEqRzoGdyXO9xiXor0SMKlZjUkSInn
        xnxxlPepcH9uPnAInQ/amnfwil+MacNQuwN4ShSlgUEpzlezstLPrUal5A==
        -----END PUBLIC KEY-----
  - image: docker.io/*
    deny: true
"""


@pytest.fixture(scope="module")
def policy() -> sigward.Policy:
    return sigward.Policy.parse(POLICY)


@pytest.fixture(scope="module")
def production_root(shared: Path) -> sigward.TrustedRoot:
    return sigward.TrustedRoot.parse(
        (shared / "corpus/root-signing/targets/trusted_root.json").read_bytes()
    )


def test_a_bad_policy_raises_every_error_with_its_rule_and_field() -> None:
    text = POLICY + "  - image: ghcr.io/*\n    keyless:\n      subjectRegex: '(('\n"
    with pytest.raises(sigward.PolicyError) as raised:
        sigward.Policy.parse(text)
    found = {(d.rule, d.field) for d in raised.value.diagnostics}
    assert (4, "keyless.issuer") in found, raised.value.diagnostics
    assert (4, "keyless.subjectRegex") in found, raised.value.diagnostics
    assert "rule 4" in str(raised.value)


def test_warnings_and_rule_count(policy: sigward.Policy) -> None:
    assert policy.rule_count == 4
    assert policy.warnings == []
    unanchored = sigward.Policy.parse(
        "apiVersion: v1alpha1\nkind: ImageVerificationConfig\nrules:\n"
        "  - image: ghcr.io/*\n    keyless:\n      issuer: https://issuer.test\n"
        "      subjectRegex: 'https://github.com/org/'\n"
    )
    [warning] = unanchored.warnings
    assert (warning.rule, warning.field) == (0, "keyless.subjectRegex")


def test_match_gives_the_rule_action_and_evidence(policy: sigward.Policy) -> None:
    skip = policy.match("registry.k8s.io/pause:3.10")
    assert (skip.rule, skip.action, skip.evidence) == (0, Action.SKIP, None)
    assert skip.reference == "registry.k8s.io/pause"
    keyless = policy.match("registry.k8s.io/kube-apiserver@sha256:" + "ab" * 32)
    assert keyless.action is Action.VERIFY and keyless.digest == "sha256:" + "ab" * 32
    assert keyless.evidence == sigward.KeylessIdentity(
        "https://accounts.google.com", "krel-trust@k8s-releng-prod.iam.gserviceaccount.com"
    )
    keyed = policy.match("keyed.example/app:v1")
    assert isinstance(keyed.evidence, sigward.PublicKey)
    assert keyed.evidence.pem.startswith("-----BEGIN PUBLIC KEY-----")
    deny = policy.match("nginx")
    assert (deny.reference, deny.action) == ("docker.io/library/nginx", Action.DENY)
    assert "denied" in deny.message
    none = policy.match("quay.io/app")
    assert (none.rule, none.action) == (None, Action.NONE)


def test_an_invalid_reference_is_an_exception(policy: sigward.Policy) -> None:
    with pytest.raises(sigward.InvalidReference) as raised:
        policy.match("Registry.K8s.io/UPPER")
    assert raised.value.image == "Registry.K8s.io/UPPER"


def test_verify_needs_a_digest(
    policy: sigward.Policy, production_root: sigward.TrustedRoot
) -> None:
    with pytest.raises(sigward.InvalidReference) as raised:
        policy.verify("registry.k8s.io/kube-apiserver:v1.31.0", [], production_root)
    assert raised.value.kind == "invalid-reference"
    assert "digest" in raised.value.message


def test_a_demo_image_verifies_with_bytes_or_text(repository: Path, shared: Path) -> None:
    line = lines(repository)[0]
    assert line["expect"]["allowed"] is True
    policy = sigward.Policy.parse(line["policy"])
    root = sigward.TrustedRoot.parse(data(line["trusted_root"], shared))
    [found] = [signature(s) for s in line["signatures"]]
    as_text = sigward.LegacySignature(
        payload=found.payload.decode(), annotations=dict(found.annotations)
    )
    for given in (found, as_text):
        decision = policy.verify(line["image"], [given], root)
        assert decision.allowed and decision.verified
        assert decision.action is Action.VERIFY
        assert all(c.outcome is Outcome.PASSED for c in decision.trace)
    # Not UTF-8: passed with U+FFFD in place, and refused, never repaired.
    broken = found.payload.replace(b'"', b'\xff"', 1)
    refused = policy.verify(
        line["image"], [sigward.LegacySignature(broken, found.annotations)], root
    )
    assert not refused.allowed
    assert refused.trace[-1].outcome is Outcome.FAILED


def test_a_broken_trusted_root_raises_its_problems() -> None:
    with pytest.raises(sigward.TrustedRootError) as raised:
        sigward.TrustedRoot.parse(b"not json")
    assert raised.value.diagnostics


def happy_path(shared: Path) -> tuple[bytes, bytes]:
    case = shared / "conformance/bundle-verify"
    return (case / "happy-path-v0.3/bundle.sigstore.json").read_bytes(), (
        case / "a.txt"
    ).read_bytes()


def test_verify_bundle_returns_the_checks_or_raises_the_failing_one(
    shared: Path, production_root: sigward.TrustedRoot
) -> None:
    bundle, artifact = happy_path(shared)
    signer = sigward.KeylessIdentity(GITHUB, BEACON)
    trace = sigward.verify_bundle(bundle, artifact, signer, production_root)
    assert [c.name for c in trace][:1] == ["bundle"]
    digest = sigward.Artifact.from_sha256(hashlib.sha256(artifact).hexdigest())
    assert sigward.verify_bundle(bundle, digest, signer, production_root)
    with pytest.raises(sigward.BundleError) as raised:
        sigward.verify_bundle(bundle, b"another artifact", signer, production_root)
    assert raised.value.trace and raised.value.check
    with pytest.raises(sigward.BundleError) as raised:
        sigward.verify_bundle(
            bundle, sigward.Artifact.from_sha256("+a" * 32), signer, production_root
        )
    assert raised.value.check == "input"
    other = sigward.KeylessIdentity(GITHUB, "https://github.com/someone/else")
    with pytest.raises(sigward.BundleError) as raised:
        sigward.verify_bundle(bundle, artifact, other, production_root)
    assert raised.value.check == "certificate.subject"


def test_fuel_runs_out_as_an_error_and_the_instance_stays_stopped() -> None:
    starved = sigward.Policy.parse(POLICY, limits=sigward.Limits(fuel_per_call=100_000_000))
    starved._instance.limits = sigward.Limits(fuel_per_call=1_000)
    with pytest.raises(sigward.ComponentError, match="stopped"):
        starved.match("nginx")
    with pytest.raises(sigward.ComponentError, match="earlier"):
        starved.match("nginx")


def test_memory_is_capped(production_root: sigward.TrustedRoot) -> None:
    small = sigward.Policy.parse(POLICY, limits=sigward.Limits(memory_bytes=4 * 1024 * 1024))
    image = "registry.k8s.io/app@sha256:" + "ab" * 32
    with pytest.raises(sigward.ComponentError):
        small.verify(image, [sigward.TagBundle("[" * (8 * 1024 * 1024))], production_root)


def test_compiled_code_is_cached_and_a_bad_cache_is_recompiled(tmp_path: Path) -> None:
    env = dict(os.environ, SIGWARD_CACHE_DIR=str(tmp_path))
    script = (
        "import sigward; print(sigward.Policy.parse("
        '\'{"apiVersion": "v1alpha1", "kind": "ImageVerificationConfig", "rules": []}\''
        ").rule_count)"
    )

    def run() -> None:
        out = subprocess.run(
            [sys.executable, "-c", script], env=env, capture_output=True, text=True
        )
        assert out.stdout.strip() == "0", out.stderr

    run()
    [cached] = list(tmp_path.glob("*.cwasm"))
    good = cached.read_bytes()
    damaged = bytearray(good)
    damaged[-1] ^= 1
    for bad in (b"not compiled code", bytes(damaged), good[: len(good) // 2]):
        cached.write_bytes(bad)
        run()
        assert cached.read_bytes() == good


def test_a_stopped_shared_instance_is_replaced(
    shared: Path, production_root: sigward.TrustedRoot
) -> None:
    from sigward.trusted_root import shared_instance

    bundle, artifact = happy_path(shared)
    signer = sigward.KeylessIdentity(GITHUB, BEACON)
    stopped = shared_instance()
    stopped.limits = sigward.Limits(fuel_per_call=1_000)
    with pytest.raises(sigward.ComponentError):
        sigward.verify_bundle(bundle, artifact, signer, production_root)
    assert stopped.poisoned and shared_instance() is not stopped
    # The root parsed in the stopped instance is parsed again in the new one,
    # once: it now lives there.
    assert sigward.verify_bundle(bundle, artifact, signer, production_root)
    assert production_root._instance is shared_instance()


def _vector(repository: Path, vector_id: str) -> dict:
    [line] = [v for v in lines(repository) if v["id"] == vector_id]
    return line


def test_attestations_are_required_typed_and_judged_at_the_time_given(
    repository: Path, shared: Path
) -> None:
    bound = _vector(repository, "demo/registry.demo.test-attested-app-v1/maxAge-1h/at-its-bound")
    policy = sigward.Policy.parse(bound["policy"])
    root = sigward.TrustedRoot.parse(data(bound["trusted_root"], shared))
    image = bound["image"]
    rule = policy.match(image).rule
    assert rule is not None
    types = policy.attestation_types(rule)
    assert types[0] == "https://slsa.dev/provenance/v1"
    assert "https://spdx.dev/Document" in types
    assert policy.attestation_types(policy.rule_count) == []
    assert policy.attestation_types(-1) == []

    signatures = [signature(s) for s in bound["signatures"]]
    attestations = [signature(a) for a in bound["attestations"]]
    at = datetime.fromtimestamp(bound["now"], timezone.utc)
    for now in (bound["now"], at):
        allowed = policy.verify_attested(image, signatures, attestations, root, now)
        assert allowed.allowed, allowed.message
    past = policy.verify_attested(image, signatures, attestations, root, at + timedelta(seconds=1))
    assert not past.allowed
    assert "maxAge" in past.message
    # `verify` passes no attestations: a rule that requires some refuses.
    assert not policy.verify(image, signatures, root).allowed
    with pytest.raises(ValueError):
        policy.verify_attested(image, signatures, attestations, root, datetime(2023, 11, 14))
    with pytest.raises(ValueError):
        policy.verify_attested(image, signatures, attestations, root, 2**63)


def test_the_sbom_and_the_affected_packages_are_typed(repository: Path, shared: Path) -> None:
    line = _vector(repository, "demo/registry.demo.test-attested-app-v1/affected")
    policy = sigward.Policy.parse(line["policy"])
    root = sigward.TrustedRoot.parse(data(line["trusted_root"], shared))
    attestations = [signature(a) for a in line["attestations"]]
    sbom = policy.sbom(line["image"], attestations, root, line["now"])
    assert sbom.predicate_type in ("https://spdx.dev/Document", "https://cyclonedx.org/bom")
    lodash = sigward.SbomPackage("lodash", "4.17.20", "pkg:npm/lodash@4.17.20")
    assert lodash in sbom.packages
    findings = policy.affected(
        line["image"], attestations, root, [a.encode() for a in line["advisories"]], line["now"]
    )
    assert sigward.Finding(lodash, "DEMO-NPM-0001", "4.17.21") in findings
    assert all(f.package in sbom.packages for f in findings)
    # No attestations: no SBOM verifies, and the error says so.
    with pytest.raises(sigward.SbomError) as raised:
        policy.sbom(line["image"], [], root, line["now"])
    assert "no SBOM verifies" in raised.value.message
    with pytest.raises(sigward.SbomError):
        policy.affected(line["image"], attestations, root, ["not json"], line["now"])


def test_a_rule_gating_on_advisories_refuses_an_affected_image(
    repository: Path, shared: Path
) -> None:
    bound = _vector(repository, "demo/registry.demo.test-attested-app-v1/maxAge-1h/at-its-bound")
    affected = _vector(repository, "demo/registry.demo.test-attested-app-v1/affected")
    advisories = affected["advisories"]
    # The vector's attested rule is its last: gate it on advisories of any severity.
    gated = bound["policy"].rstrip("\n") + "\n    advisories:\n      deny: {severity: UNKNOWN}\n"
    policy = sigward.Policy.parse(gated)
    root = sigward.TrustedRoot.parse(data(bound["trusted_root"], shared))
    image, now = bound["image"], bound["now"]
    rule = policy.match(image).rule
    assert rule is not None and policy.gates_on_advisories(rule)
    assert not policy.gates_on_advisories(0)
    assert not policy.gates_on_advisories(-1)
    signatures = [signature(s) for s in bound["signatures"]]
    attestations = [signature(a) for a in bound["attestations"]]
    refused = policy.verify_with_advisories(image, signatures, attestations, root, advisories, now)
    assert not refused.allowed and refused.verified
    assert "advisory DEMO-NPM-0001" in refused.message
    assert "affects pkg:npm/lodash@4.17.20, fixed in 4.17.21" in refused.message
    assert any(c.name == "advisories" for c in refused.trace)
    # None held: admitted; verify_attested is not told what is held: refused.
    assert policy.verify_with_advisories(image, signatures, attestations, root, [], now).allowed
    assert not policy.verify_attested(image, signatures, attestations, root, now).allowed
