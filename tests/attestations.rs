//! Attestations required by policy (sigward's extension), natively in the
//! core: every predicate type and condition kind passing and failing, a
//! statement about another image, an attestation offered as a signature and
//! the reverse, maxAge, malformed predicates, hostile sizes, and real SLSA
//! provenance from the shared corpus.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

mod attested;

use attested::*;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use sigward_core::hex;
use sigward_core::policy::{KeylessIdentity, Policy};
use sigward_core::trust_root::TrustedRoot;
use sigward_core::verify::bundle::{Artifact, Signer};
use sigward_core::verify::{Signature, attestation};
use sigward_tests::shared_dir;
use sigward_tests::testpki::{self, ISSUER, Pki, SUBJECT, T0};

fn provenance(builder: &str) -> Value {
    json!({"buildDefinition": {"buildType": "https://test/build", "externalParameters": {"source": "git+https://github.com/test/repo"}},
           "runDetails": {"builder": {"id": builder}}})
}

fn scan(severities: &[&str]) -> Value {
    let result: Vec<Value> = severities.iter().map(|s| json!({"severity": s})).collect();
    json!({"scanner": {"uri": "https://scanner.test", "result": result}})
}

const NOW: Option<i64> = Some(SIGNED_AT + 3600);

#[test]
fn every_predicate_type_is_required_and_met() {
    let w = World::new();
    let attestations = [
        w.attestation(SLSA, provenance("https://builder.test")),
        w.attestation(SPDX, json!({"spdxVersion": "SPDX-2.3", "packages": []})),
        w.attestation(
            CYCLONEDX,
            json!({"bomFormat": "CycloneDX", "components": []}),
        ),
        w.attestation(VULN, scan(&["LOW"])),
        w.attestation("https://openvex.dev/ns", json!({"statements": []})),
        w.attestation(
            "https://cosign.sigstore.dev/attestation/v1",
            json!({"Data": "x"}),
        ),
    ];
    let yaml = "      - predicateType: slsaprovenance1\n      - predicateType: spdxjson\n      - predicateType: cyclonedx\n      - predicateType: vuln\n      - predicateType: openvex\n      - predicateType: custom\n";
    assert_eq!(
        w.decide(yaml, &[w.signature()], &attestations, NOW),
        (true, "verified via bundle".to_owned())
    );
    // Each one missing is named.
    for (i, (short, uri)) in [
        ("slsaprovenance1", SLSA),
        ("spdxjson", SPDX),
        ("cyclonedx", CYCLONEDX),
        ("vuln", VULN),
    ]
    .iter()
    .enumerate()
    {
        let mut fewer = attestations.to_vec();
        fewer.remove(i);
        let (allowed, message) = w.decide(yaml, &[w.signature()], &fewer, NOW);
        assert!(!allowed, "{short}");
        assert!(
            message.contains(&format!(
                "attestation[{i}] ({uri}): none of the attestations found is of this type"
            )),
            "{message}"
        );
    }
}

#[test]
fn each_condition_kind_passes_and_fails() {
    let w = World::new();
    let sig = [w.signature()];
    let good = [
        w.attestation(SLSA, provenance("https://builder.test")),
        w.attestation(VULN, scan(&["LOW", "MEDIUM"])),
    ];
    let bad = [
        w.attestation(SLSA, provenance("https://evil.test")),
        w.attestation(VULN, scan(&["LOW", "CRITICAL"])),
    ];
    let cases = [
        (
            "require:\n          - path: runDetails.builder.id\n            equals: https://builder.test",
            SLSA,
            "require runDetails.builder.id equals \"https://builder.test\": found \"https://evil.test\"",
        ),
        (
            "require:\n          - path: runDetails.builder.id\n            regex: ^https://builder\\.test$",
            SLSA,
            "matches /^https://builder\\.test$/: found \"https://evil.test\"",
        ),
        (
            "require:\n          - path: runDetails.builder.id\n            oneOf: [https://builder.test, https://other.test]",
            SLSA,
            "is one of [\"https://builder.test\", \"https://other.test\"]: found \"https://evil.test\"",
        ),
        // [*] in require: every element must pass.
        (
            "require:\n          - path: scanner.result[*].severity\n            oneOf: [LOW, MEDIUM]",
            VULN,
            "require scanner.result[*].severity is one of [\"LOW\", \"MEDIUM\"]: found \"CRITICAL\"",
        ),
        (
            "deny:\n          - path: scanner.result[*].severity\n            equals: CRITICAL",
            VULN,
            "deny scanner.result[*].severity equals \"CRITICAL\": found \"CRITICAL\"",
        ),
        (
            "deny:\n          - path: scanner.result[*].severity\n            regex: ^CRIT",
            VULN,
            "deny scanner.result[*].severity matches /^CRIT/: found \"CRITICAL\"",
        ),
    ];
    for (conditions, predicate, refusal) in cases {
        let short = if predicate == SLSA {
            "slsaprovenance1"
        } else {
            "vuln"
        };
        let yaml = format!("      - predicateType: {short}\n        {conditions}\n");
        assert!(w.decide(&yaml, &sig, &good, NOW).0, "{yaml}");
        let (allowed, message) = w.decide(&yaml, &sig, &bad, NOW);
        assert!(!allowed && message.contains(refusal), "{yaml}\n{message}");
    }
    // A path the predicate does not have: require fails, deny holds.
    let yaml = "      - predicateType: vuln\n        require:\n          - path: scanner.missing\n            equals: x\n";
    let (allowed, message) = w.decide(yaml, &sig, &good, NOW);
    assert!(
        !allowed
            && message
                .contains("require scanner.missing equals \"x\": the predicate has no value there"),
        "{message}"
    );
    let yaml = "      - predicateType: vuln\n        deny:\n          - path: scanner.missing\n            equals: x\n";
    assert!(w.decide(yaml, &sig, &good, NOW).0);
}

#[test]
fn a_statement_about_another_image_is_refused() {
    let w = World::new();
    let other = Sha256::digest(b"another image");
    let (allowed, message) = w.decide(
        "      - predicateType: slsaprovenance1\n",
        &[w.signature()],
        &[w.attestation_about(&other, SLSA, provenance("https://builder.test"))],
        NOW,
    );
    assert!(!allowed);
    assert!(
        message.contains("dsse.subject: expected a subject with sha256"),
        "{message}"
    );
}

#[test]
fn attestations_and_signatures_are_never_taken_for_each_other() {
    let w = World::new();
    let attestation = w.attestation(SLSA, provenance("https://builder.test"));
    // An attestation offered as the only signature.
    let (allowed, message) = w.decide(
        "      - predicateType: slsaprovenance1\n",
        std::slice::from_ref(&attestation),
        std::slice::from_ref(&attestation),
        NOW,
    );
    assert!(!allowed);
    assert!(
        message.contains("signature.kind: expected a signature"),
        "{message}"
    );
    assert!(
        message.contains(
            "the bundle is an attestation of predicate type \"https://slsa.dev/provenance/v1\""
        ),
        "{message}"
    );
    // A signature offered as the only attestation.
    let (allowed, message) = w.decide(
        "      - predicateType: slsaprovenance1\n",
        &[w.signature()],
        &[w.signature()],
        NOW,
    );
    assert!(!allowed);
    assert!(
        message.contains("no attestations were found for the image"),
        "{message}"
    );
    // A DSSE statement of cosign's signature predicate is a signature.
    let signed = w.attestation("https://sigstore.dev/cosign/sign/v1", json!({}));
    let (allowed, message) = w.decide(
        "      - predicateType: slsaprovenance1\n",
        std::slice::from_ref(&signed),
        &[signed.clone(), attestation],
        NOW,
    );
    assert!(allowed, "{message}");
}

#[test]
fn max_age_needs_the_time_and_a_recent_signature() {
    let w = World::new();
    let yaml = "      - predicateType: slsaprovenance1\n        maxAge: 168h\n";
    let att = [w.attestation(SLSA, provenance("https://builder.test"))];
    let sig = [w.signature()];
    assert!(w.decide(yaml, &sig, &att, Some(SIGNED_AT + 168 * 3600)).0);
    let (allowed, message) = w.decide(yaml, &sig, &att, Some(SIGNED_AT + 168 * 3600 + 1));
    assert!(!allowed);
    assert!(message.contains("maxAge: signed at 2023-11-14T22:14:20Z, more than maxAge (604800 s) before 2023-11-21T22:14:21Z"), "{message}");
    let (allowed, message) = w.decide(yaml, &sig, &att, None);
    assert!(
        !allowed && message.contains("maxAge needs the current time"),
        "{message}"
    );
}

#[test]
fn a_malformed_predicate_is_refused() {
    let w = World::new();
    let (allowed, message) = w.decide(
        "      - predicateType: slsaprovenance1\n",
        &[w.signature()],
        &[w.attestation(SLSA, json!(["not", "an", "object"]))],
        NOW,
    );
    assert!(!allowed);
    assert!(message.contains("attestation.statement: the https://slsa.dev/provenance/v1 statement has no predicate object"), "{message}");
}

#[test]
fn bad_conditions_are_load_errors_with_their_place() {
    let policy = "apiVersion: v1alpha1\nkind: ImageVerificationConfig\nrules:\n  - image: a.test/*\n    skip: true\n  - image: b.test/*\n    keyless: {issuer: i, subject: s}\n    attestations:\n      - predicateType: provenance\n      - predicateType: vuln\n        maxAge: 7d\n        deny:\n          - path: a..b\n            equals: x\n          - path: a\n            regex: '('\n          - path: a\n          - path: a\n            equals: x\n            oneOf: [x]\n";
    let errors = Policy::parse(policy).unwrap_err();
    let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
    let expected = [
        "rule (0001) attestations[0].predicateType: predicate type \"provenance\" is neither a URI nor one of",
        "rule (0001) attestations[1].maxAge: \"7d\" is not a duration",
        "rule (0001) attestations[1].deny[0].path: empty key in \"a..b\"",
        "rule (0001) attestations[1].deny[1].regex: regular expression does not compile",
        "rule (0001) attestations[1].deny[2].path: a condition needs exactly one of",
        "rule (0001) attestations[1].deny[3].path: a condition needs exactly one of",
    ];
    for e in expected {
        assert!(lines.iter().any(|l| l.starts_with(e)), "{e}\n{lines:#?}");
    }
    assert_eq!(lines.len(), expected.len(), "{lines:#?}");
}

#[test]
fn an_sbom_of_100_000_packages_is_within_the_limits_and_a_larger_one_is_refused() {
    let w = World::new();
    let bom = |n: usize| {
        let components: Vec<Value> = (0..n)
            .map(|i| json!({"type": "library", "name": format!("p{i}"), "version": "1.0.0", "purl": format!("pkg:npm/p{i}@1.0.0")}))
            .collect();
        json!({"bomFormat": "CycloneDX", "specVersion": "1.5", "components": components})
    };
    let yaml = "      - predicateType: cyclonedx\n        require:\n          - path: components[*].type\n            equals: library\n";
    let started = std::time::Instant::now();
    let (allowed, message) = w.decide(
        yaml,
        &[w.signature()],
        &[w.attestation(CYCLONEDX, bom(100_000))],
        NOW,
    );
    assert!(allowed, "{message}");
    assert!(started.elapsed().as_secs() < 60, "{:?}", started.elapsed());
    let (allowed, message) = w.decide(
        yaml,
        &[w.signature()],
        &[w.attestation(CYCLONEDX, bom(200_000))],
        NOW,
    );
    assert!(!allowed);
    assert!(
        message.contains("bundle: bundle is") && message.contains("at most 16777216 allowed"),
        "{message}"
    );
}

/// sigstore-js's SLSA provenance for sigstore@2.0.0, as sigstore-go keeps
/// it: a real attestation, over the npm package's SHA-512.
#[test]
fn real_slsa_provenance_from_the_corpus_verifies_and_its_conditions_are_evaluated() {
    let dir = shared_dir().join("corpus/sigstore-go");
    let json = std::fs::read(
        dir.join("pkg/testing/data/bundles/sigstore.js@2.0.0-provenance.sigstore.json"),
    )
    .unwrap();
    let root = TrustedRoot::parse(
        &std::fs::read(dir.join("examples/trusted-root-public-good.json")).unwrap(),
    )
    .unwrap();
    let identity = KeylessIdentity::new(
        "https://token.actions.githubusercontent.com".into(),
        Some(
            "https://github.com/sigstore/sigstore-js/.github/workflows/release.yml@refs/heads/main"
                .into(),
        ),
        None,
    )
    .unwrap();
    let sha512: [u8; 64] = hex::decode_array("46d4e2f74c4877316640000a6fdf8a8b59f1e0847667973e9859f774dd31b8f1e0937813b777fb66a2ac67d50540fe34640966eee9fc2ccca387082b4c85cd3c").unwrap();
    let bundle = attestation::parse(&json).unwrap();
    let attested = attestation::verify(
        &bundle,
        Artifact::Sha512(sha512),
        Signer::Keyless(&identity),
        &root,
        &mut Vec::new(),
    )
    .unwrap();
    assert_eq!(attested.predicate_type, "https://slsa.dev/provenance/v1");
    assert!(attested.signed_at.is_some());
    // The entry a policy would hold it to: the builder, the source
    // repository, and every resolved dependency from sigstore's GitHub.
    let policy = Policy::parse(
        "apiVersion: v1alpha1\nkind: ImageVerificationConfig\nrules:\n  - image: x.test/*\n    keyless: {issuer: i, subject: s}\n    attestations:\n      - predicateType: slsaprovenance1\n        require:\n          - path: runDetails.builder.id\n            equals: https://github.com/actions/runner/github-hosted\n          - path: buildDefinition.externalParameters.workflow.repository\n            equals: https://github.com/sigstore/sigstore-js\n          - path: buildDefinition.resolvedDependencies[*].uri\n            regex: ^git\\+https://github\\.com/sigstore/\n        deny:\n          - path: buildDefinition.internalParameters.github.event_name\n            oneOf: [pull_request, pull_request_target]\n",
    )
    .unwrap();
    let requirement = &policy.rules()[0].attestations[0];
    assert_eq!(requirement.predicate_type, attested.predicate_type);
    let held = requirement
        .check(&attested.predicate)
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(held.len(), 4);
    // And a condition it does not meet.
    let strict = Policy::parse(
        "apiVersion: v1alpha1\nkind: ImageVerificationConfig\nrules:\n  - image: x.test/*\n    keyless: {issuer: i, subject: s}\n    attestations:\n      - predicateType: slsaprovenance1\n        require:\n          - path: runDetails.builder.id\n            equals: https://builder.example\n",
    )
    .unwrap();
    let unmet = strict.rules()[0].attestations[0]
        .check(&attested.predicate)
        .unwrap_err();
    assert!(
        unmet
            .0
            .contains("found \"https://github.com/actions/runner/github-hosted\""),
        "{unmet:?}"
    );
}

/// The demo's advisories against the demo's SBOM packages, each expectation
/// written by hand beside the advisory (`sigward_demo::advisories`): ranges
/// at both bounds, `last_affected`, explicit lists, and each ecosystem's
/// order.
#[test]
fn affected_matches_hand_checked_advisories() {
    use sigward_core::advisory::{self, Advisory};
    use sigward_core::sbom;
    let packages = sbom::packages(sbom::SPDX, &sigward_demo::spdx("app")).unwrap();
    assert_eq!(packages.len(), sigward_demo::PACKAGES.len());
    let cdx = sbom::packages(sbom::CYCLONEDX, &sigward_demo::cyclonedx()).unwrap();
    assert_eq!(packages, cdx, "both SBOM formats read to the same packages");
    for (json, expected) in sigward_demo::advisories() {
        let id = json["id"].as_str().unwrap().to_owned();
        let parsed = Advisory::parse(json.to_string().as_bytes()).unwrap();
        let found = advisory::affected(&packages, std::slice::from_ref(&parsed));
        match expected {
            None => assert!(found.is_empty(), "{id}: {found:?}"),
            Some(fixed) => {
                assert_eq!(found.len(), 1, "{id}: {found:?}");
                assert_eq!(found[0].advisory, id);
                assert_eq!(found[0].fixed.as_deref(), fixed, "{id}");
            }
        }
    }
}

#[test]
fn affected_through_the_verified_sbom_only() {
    use sigward_core::verify::sbom;
    let w = World::new();
    let advisories: Vec<String> = sigward_demo::advisories()
        .iter()
        .map(|(a, _)| a.to_string())
        .collect();
    let advisories: Vec<&[u8]> = advisories.iter().map(|a| a.as_bytes()).collect();
    let policy = Policy::parse(&format!(
        "apiVersion: v1alpha1\nkind: ImageVerificationConfig\nrules:\n  - image: {IMAGE}\n    keyless:\n      issuer: {ISSUER}\n      subject: {SUBJECT}\n"
    ))
    .unwrap();
    let now = SIGNED_AT + 60;
    let verified = [w.attestation(CYCLONEDX, sigward_demo::cyclonedx())];
    let found = sbom::affected(&policy, &w.image(), &verified, &w.root, now, &advisories).unwrap();
    let ids: Vec<&str> = found.iter().map(|f| f.advisory.as_str()).collect();
    assert_eq!(
        ids,
        [
            "DEMO-NPM-0001",
            "DEMO-NPM-0002",
            "DEMO-PYPI-0001",
            "DEMO-CRATES-0001",
            "DEMO-DEB-0001"
        ]
    );
    // The same SBOM about another image, or signed under an impostor CA (the
    // same names, other keys): no answer.
    let other = Sha256::digest(b"another image");
    let elsewhere = [w.attestation_about(&other, CYCLONEDX, sigward_demo::cyclonedx())];
    let error =
        sbom::affected(&policy, &w.image(), &elsewhere, &w.root, now, &advisories).unwrap_err();
    assert!(
        error.to_string().starts_with(
            "no SBOM verifies: (https://spdx.dev/Document): none of the attestations found is of this type"
        ),
        "{error}"
    );
    assert!(error.to_string().contains("dsse.subject"), "{error}");
    let stranger = Pki::with_ca_keys(90, 91, T0 + 86_400 * 365);
    let key = testpki::key(51);
    let leaf = stranger.leaf(&key, Some(ISSUER), 1);
    let statement = testpki::Statement {
        name: IMAGE,
        digest: &hex::encode(&w.digest),
        predicate_type: CYCLONEDX,
        predicate: sigward_demo::cyclonedx(),
    };
    let forged = testpki::attestation_bundle(&stranger, &key, &leaf, &statement, SIGNED_AT);
    let forged = [Signature::TagBundle(forged.to_string().into_bytes())];
    let error =
        sbom::affected(&policy, &w.image(), &forged, &w.root, now, &advisories).unwrap_err();
    assert!(error.to_string().contains("no SBOM verifies"), "{error}");
}

#[test]
fn affected_scales_with_packages_plus_advisories() {
    use sigward_core::advisory::{self, Advisory};
    use sigward_core::sbom::Package;
    let packages: Vec<Package> = (0..100_000)
        .map(|i| Package {
            name: format!("p{i}"),
            version: "1.0.0".into(),
            purl: Some(format!("pkg:npm/p{i}@1.0.0")),
        })
        .collect();
    let advisories: Vec<Advisory> = (0..10_000)
        .map(|i| {
            let json = json!({"id": format!("A-{i}"), "affected": [{"package": {"ecosystem": "npm", "name": format!("p{}", i * 10)},
                "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "1.0.1"}]}]}]});
            Advisory::parse(json.to_string().as_bytes()).unwrap()
        })
        .collect();
    let started = std::time::Instant::now();
    let found = advisory::affected(&packages, &advisories);
    assert_eq!(found.len(), 10_000);
    assert!(started.elapsed().as_secs() < 20, "{:?}", started.elapsed());
}

#[test]
fn a_legacy_att_layer_is_verified_as_an_attestation() {
    let w = World::new();
    let yaml = "      - predicateType: slsaprovenance1\n        require:\n          - path: runDetails.builder.id\n            equals: https://builder.test\n";
    let good = w.legacy_attestation(SLSA, provenance("https://builder.test"), |_| {});
    let (allowed, message) = w.decide(yaml, &[w.signature()], &[good], NOW);
    assert!(allowed, "{message}");
    // Its conditions apply as to a bundle.
    let other = w.legacy_attestation(SLSA, provenance("https://evil.test"), |_| {});
    let (allowed, message) = w.decide(yaml, &[w.signature()], &[other], NOW);
    assert!(
        !allowed && message.contains("found \"https://evil.test\""),
        "{message}"
    );
    // The statement changed after signing: the log entry no longer records it.
    let tampered = w.legacy_attestation(SLSA, provenance("https://evil.test"), |s| {
        s["predicate"]["runDetails"]["builder"]["id"] = json!("https://builder.test");
    });
    let (allowed, message) = w.decide(yaml, &[w.signature()], &[tampered], NOW);
    assert!(
        !allowed && message.contains("attestation 0: tlog.body"),
        "{message}"
    );
    // A layer that is not a DSSE envelope.
    let junk = Signature::Legacy {
        payload: b"{}".to_vec(),
        annotations: Vec::new(),
    };
    let (allowed, message) = w.decide(yaml, &[w.signature()], &[junk], NOW);
    assert!(
        !allowed && message.contains("attestation 0: dsse: the .att layer is not a DSSE envelope"),
        "{message}"
    );
}

/// sigstore-js's SLSA v0.2 provenance for sigstore@1.3.0 (sigstore-go's
/// example): the v0.2 field names, under a `slsaprovenance` entry.
#[test]
fn real_slsa_v02_provenance_from_the_corpus() {
    let dir = shared_dir().join("corpus/sigstore-go/examples");
    let json = std::fs::read(dir.join("bundle-provenance.json")).unwrap();
    let root =
        TrustedRoot::parse(&std::fs::read(dir.join("trusted-root-public-good.json")).unwrap())
            .unwrap();
    let identity = KeylessIdentity::new(
        "https://token.actions.githubusercontent.com".into(),
        Some(
            "https://github.com/sigstore/sigstore-js/.github/workflows/release.yml@refs/heads/main"
                .into(),
        ),
        None,
    )
    .unwrap();
    let sha512: [u8; 64] = hex::decode_array("76176ffa33808b54602c7c35de5c6e9a4deb96066dba6533f50ac234f4f1f4c6b3527515dc17c06fbe2860030f410eee69ea20079bd3a2c6f3dcf3b329b10751").unwrap();
    let bundle = attestation::parse(&json).unwrap();
    let attested = attestation::verify(
        &bundle,
        Artifact::Sha512(sha512),
        Signer::Keyless(&identity),
        &root,
        &mut Vec::new(),
    )
    .unwrap();
    let policy = Policy::parse(
        "apiVersion: v1alpha1\nkind: ImageVerificationConfig\nrules:\n  - image: x.test/*\n    keyless: {issuer: i, subject: s}\n    attestations:\n      - predicateType: slsaprovenance\n        require:\n          - path: builder.id\n            equals: https://github.com/actions/runner\n          - path: invocation.configSource.entryPoint\n            equals: .github/workflows/release.yml\n          - path: materials[*].uri\n            regex: ^git\\+https://github\\.com/sigstore/sigstore-js@\n",
    )
    .unwrap();
    let requirement = &policy.rules()[0].attestations[0];
    assert_eq!(attested.predicate_type, requirement.predicate_type);
    assert_eq!(
        requirement.check(&attested.predicate).map(|h| h.len()),
        Ok(3)
    );
    // Another image's digest: refused at the subject.
    let error = attestation::verify(
        &bundle,
        Artifact::Sha512([7; 64]),
        Signer::Keyless(&identity),
        &root,
        &mut Vec::new(),
    )
    .unwrap_err();
    assert_eq!(error.check, "dsse.subject");
}
