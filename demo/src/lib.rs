//! A world of signed and unsigned images, written to any [`Sink`] (an OCI
//! layout or a registry) the way cosign writes them, with the policy and
//! trusted root that judge them. The demo shows it; the end-to-end tests
//! check every case against the message SPEC §4 prescribes.
//!
//! Keys come from the test PKI: generated at run time from fixed seeds, so
//! every run signs the same bytes. Nothing here is a real secret.
#![forbid(unsafe_code)]

pub mod vectors;

use sha2::{Digest as _, Sha256};
use sigward_host::oci::publish::{self, LegacyLayer, Sink};

use sigward_host::oci::{Descriptor, FetchError, Reference, digested_name};
use sigward_testpki::{self as testpki, ISSUER, Pki, SUBJECT, T0};

/// The identity the `other-team` rule demands, which no image here has.
pub const OTHER_SUBJECT: &str =
    "https://github.com/other-team/app/.github/workflows/release.yml@refs/heads/main";

/// One image and what the policy must decide for it.
#[derive(Clone, Debug)]
pub struct Case {
    /// The reference given to `sigward verify`, by tag.
    pub image: String,
    pub allowed: bool,
    pub verified: bool,
    /// Text the decision's message must contain.
    pub message: String,
    /// What the case shows, for people.
    pub about: &'static str,
    /// Whether its rule requires attestations (sigward's extension), which
    /// a host passes to `verify-attested`, not `verify`.
    pub attested: bool,
}

/// What was written, and how to judge it.
#[derive(Clone, Debug)]
pub struct World {
    /// A Talos `ImageVerificationConfig`, YAML.
    pub policy: String,
    /// The `trusted_root.json` of the test PKI.
    pub trusted_root: Vec<u8>,
    pub cases: Vec<Case>,
}

/// The name `cosign sign` writes as the payload's `docker-reference`: the
/// registry and the repository (go-containerregistry's `Context().Name()`).
fn signed_name(r: &Reference) -> String {
    format!("{}/{}", r.registry(), r.repository())
}

fn reference(text: &str) -> Result<Reference, FetchError> {
    text.parse().map_err(|e| FetchError::Invalid {
        what: text.to_owned(),
        reason: format!("{e}"),
    })
}

/// The signing material of the world.
struct Signers {
    pki: Pki,
    keyless: testpki::SigningKey,
    leaf: Vec<u8>,
    key: testpki::SigningKey,
}

impl Signers {
    fn new() -> Self {
        let pki = Pki::new(T0 + 86_400 * 365);
        let keyless = testpki::key(40);
        let leaf = pki.leaf(&keyless, Some(ISSUER), 1);
        Self {
            pki,
            keyless,
            leaf,
            key: testpki::key(41),
        }
    }

    /// A keyless legacy signature of `digest`, logged with a SET.
    fn keyless_legacy(&self, repository: &str, digest: &str) -> LegacyLayer {
        let payload = testpki::simple_signing_payload(repository, digest);
        let signature = testpki::sign(&self.keyless, &payload);
        let body = testpki::hashedrekord(&Sha256::digest(&payload), &signature, &self.leaf);
        let set = self.pki.rekor_bundle_annotation(&body, T0 + 60);
        LegacyLayer {
            annotations: testpki::legacy_annotations(
                &signature,
                Some(&self.leaf),
                &[&self.pki.intermediate, &self.pki.root],
                Some(set),
            ),
            payload,
        }
    }

    /// A legacy signature of `digest` by the demo key, with no log entry.
    fn key_legacy(&self, repository: &str, digest: &str) -> LegacyLayer {
        let payload = testpki::simple_signing_payload(repository, digest);
        let signature = testpki::sign(&self.key, &payload);
        LegacyLayer {
            annotations: testpki::legacy_annotations(&signature, None, &[], None),
            payload,
        }
    }

    /// A v0.3 bundle holding a keyless DSSE in-toto statement about
    /// `digest` (`sha256:<hex>`): an attestation of `predicate_type`.
    fn attestation(
        &self,
        name: &str,
        digest: &str,
        predicate_type: &str,
        predicate: serde_json::Value,
    ) -> Vec<u8> {
        let statement = testpki::Statement {
            name,
            digest: digest.trim_start_matches("sha256:"),
            predicate_type,
            predicate,
        };
        testpki::attestation_bundle(&self.pki, &self.keyless, &self.leaf, &statement, T0 + 60)
            .to_string()
            .into_bytes()
    }

    /// A v0.3 bundle: a keyless message signature over the image manifest.
    fn bundle(&self, manifest_digest: &str) -> Vec<u8> {
        let hex = manifest_digest.trim_start_matches("sha256:");
        let digest: Vec<u8> = (0..hex.len())
            .step_by(2)
            .filter_map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
            .collect();
        let signature = testpki::sign_digest(&self.keyless, &digest);
        let body = testpki::hashedrekord(&digest, &signature, &self.leaf);
        let entry = self.pki.entry(&body, "hashedrekord", T0 + 60);
        testpki::message_bundle(&self.leaf, entry, &digest, &signature)
            .to_string()
            .into_bytes()
    }
}

/// The policy, in rule order: the indices the messages name.
fn policy(registry: &str, key_pem: &str) -> String {
    let key: String = key_pem.lines().map(|l| format!("        {l}\n")).collect();
    format!(
        "# The demo's policy: a Talos ImageVerificationConfig.\n\
         apiVersion: v1alpha1\n\
         kind: ImageVerificationConfig\n\
         rules:\n\
         \x20 - image: {registry}/keyed/*\n\
         \x20   publicKey:\n\
         \x20     certificate: |\n{key}\
         \x20 - image: {registry}/other-team/*\n\
         \x20   keyless:\n\
         \x20     issuer: {ISSUER}\n\
         \x20     subject: {OTHER_SUBJECT}\n\
         \x20 - image: {registry}/signed/*\n\
         \x20   keyless:\n\
         \x20     issuer: {ISSUER}\n\
         \x20     subject: {SUBJECT}\n\
         \x20 - image: {registry}/sandbox/*\n\
         \x20   skip: true\n\
         \x20 - image: {registry}/denied/*\n\
         \x20   deny: true\n\
         \x20 # sigward's extension: attestations the image must also carry.\n\
         \x20 - image: {registry}/attested/*\n\
         \x20   keyless:\n\
         \x20     issuer: {ISSUER}\n\
         \x20     subject: {SUBJECT}\n\
         \x20   attestations:\n\
         \x20     - predicateType: slsaprovenance1\n\
         \x20       require:\n\
         \x20         - path: runDetails.builder.id\n\
         \x20           equals: {BUILDER}\n\
         \x20         - path: buildDefinition.externalParameters.source\n\
         \x20           regex: ^git\\+https://github\\.com/demo/\n\
         \x20     - predicateType: spdxjson\n\
         \x20     - predicateType: cyclonedx\n\
         \x20     - predicateType: vuln\n\
         \x20       deny:\n\
         \x20         - path: scanner.result[*].severity\n\
         \x20           oneOf: [CRITICAL]\n"
    )
}

/// The builder the demo's provenance names, and the policy requires.
pub const BUILDER: &str = "https://github.com/demo/builder";

/// The packages of the demo's SBOMs, one per ecosystem `affected` compares
/// versions in: (purl, name, version).
pub const PACKAGES: [(&str, &str, &str); 5] = [
    ("pkg:npm/lodash@4.17.20", "lodash", "4.17.20"),
    ("pkg:pypi/requests@2.31.0", "requests", "2.31.0"),
    (
        "pkg:golang/golang.org/x/net@v0.17.0",
        "golang.org/x/net",
        "v0.17.0",
    ),
    ("pkg:cargo/time@0.1.43", "time", "0.1.43"),
    (
        "pkg:deb/debian/openssl@3.0.11-1~deb12u2",
        "openssl",
        "3.0.11-1~deb12u2",
    ),
];

/// An SPDX 2.3 document of [`PACKAGES`].
pub fn spdx(name: &str) -> serde_json::Value {
    let packages: Vec<serde_json::Value> = PACKAGES
        .iter()
        .enumerate()
        .map(|(i, (purl, name, version))| serde_json::json!({
            "name": name, "SPDXID": format!("SPDXRef-Package-{i}"), "versionInfo": version,
            "downloadLocation": "NOASSERTION",
            "externalRefs": [{"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl", "referenceLocator": purl}]
        }))
        .collect();
    serde_json::json!({
        "spdxVersion": "SPDX-2.3", "dataLicense": "CC0-1.0", "SPDXID": "SPDXRef-DOCUMENT",
        "name": name, "documentNamespace": format!("https://demo.test/spdx/{name}"),
        "creationInfo": {"created": "2023-11-14T22:13:20Z", "creators": ["Tool: sigward-demo"]},
        "packages": packages,
    })
}

/// A CycloneDX 1.5 BOM of [`PACKAGES`].
pub fn cyclonedx() -> serde_json::Value {
    let components: Vec<serde_json::Value> = PACKAGES
        .iter()
        .map(|(purl, name, version)| {
            serde_json::json!({
                "type": "library", "name": name, "version": version, "purl": purl, "bom-ref": purl
            })
        })
        .collect();
    serde_json::json!({"bomFormat": "CycloneDX", "specVersion": "1.5", "version": 1, "components": components})
}

/// OSV advisories against [`PACKAGES`], written for the demo (ids `DEMO-…`,
/// not real advisories), each with what `sigward affected` must say about
/// the attested images: the fixed version for an affected package, or none
/// when the package is outside the advisory (at a range's bound, or not
/// listed). Ranges at their bounds, explicit version lists, and each
/// ecosystem's order (`~` before anything in Debian, pre-releases in PyPI).
pub fn advisories() -> Vec<(serde_json::Value, Option<Option<&'static str>>)> {
    // Each with a CVE-like alias and a CVSS v3.1 vector, so that the
    // inventory's severity filters have something to sort: 9.8 critical,
    // 7.5 high, 5.3 medium, 3.7 low.
    const SEVERITIES: [&str; 4] = [
        "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
        "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H",
        "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:L",
        "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:N/I:N/A:L",
    ];
    let mut list = written();
    for (i, (advisory, _)) in list.iter_mut().enumerate() {
        advisory["aliases"] = serde_json::json!([format!("CVE-2026-{:04}", 9001 + i)]);
        advisory["severity"] =
            serde_json::json!([{"type": "CVSS_V3", "score": SEVERITIES[i % SEVERITIES.len()]}]);
    }
    list
}

fn written() -> Vec<(serde_json::Value, Option<Option<&'static str>>)> {
    use serde_json::json;
    let range = |kind: &str, events: serde_json::Value| json!([{"type": kind, "events": events}]);
    let advisory = |id: &str,
                    ecosystem: &str,
                    name: &str,
                    ranges: serde_json::Value,
                    versions: serde_json::Value| {
        json!({
            "schema_version": "1.6.0", "id": id, "modified": "2026-01-01T00:00:00Z",
            "summary": format!("a demo advisory against {name}"),
            "affected": [{"package": {"ecosystem": ecosystem, "name": name}, "ranges": ranges, "versions": versions}],
        })
    };
    vec![
        (
            advisory(
                "DEMO-NPM-0001",
                "npm",
                "lodash",
                range("SEMVER", json!([{"introduced": "0"}, {"fixed": "4.17.21"}])),
                json!([]),
            ),
            Some(Some("4.17.21")),
        ),
        (
            advisory(
                "DEMO-NPM-0002",
                "npm",
                "lodash",
                json!([]),
                json!(["4.17.19", "4.17.20"]),
            ),
            Some(None),
        ),
        (
            advisory(
                "DEMO-PYPI-0001",
                "PyPI",
                "requests",
                range(
                    "ECOSYSTEM",
                    json!([{"introduced": "2.3.0"}, {"fixed": "2.32.0"}]),
                ),
                json!([]),
            ),
            Some(Some("2.32.0")),
        ),
        (
            advisory(
                "DEMO-PYPI-0002",
                "PyPI",
                "requests",
                range(
                    "ECOSYSTEM",
                    json!([{"introduced": "2.32.0rc1"}, {"fixed": "2.32.2"}]),
                ),
                json!(["2.31.0rc1"]),
            ),
            None,
        ),
        (
            advisory(
                "DEMO-GO-0001",
                "Go",
                "golang.org/x/net",
                range("SEMVER", json!([{"introduced": "0"}, {"fixed": "0.17.0"}])),
                json!([]),
            ),
            None,
        ),
        (
            advisory(
                "DEMO-CRATES-0001",
                "crates.io",
                "time",
                range(
                    "SEMVER",
                    json!([{"introduced": "0.1.0"}, {"last_affected": "0.1.43"}]),
                ),
                json!([]),
            ),
            Some(None),
        ),
        (
            advisory(
                "DEMO-DEB-0001",
                "Debian:12",
                "openssl",
                range(
                    "ECOSYSTEM",
                    json!([{"introduced": "0"}, {"fixed": "3.0.13-1~deb12u1"}]),
                ),
                json!([]),
            ),
            Some(Some("3.0.13-1~deb12u1")),
        ),
        (
            advisory(
                "DEMO-DEB-0002",
                "Debian:12",
                "openssl",
                range(
                    "ECOSYSTEM",
                    json!([{"introduced": "3.0.0"}, {"fixed": "3.0.11-1~deb12u2"}]),
                ),
                json!([]),
            ),
            None,
        ),
    ]
}

fn provenance(builder: &str) -> serde_json::Value {
    serde_json::json!({
        "buildDefinition": {
            "buildType": "https://demo.test/build/v1",
            "externalParameters": {"source": "git+https://github.com/demo/app@refs/heads/main"},
        },
        "runDetails": {"builder": {"id": builder}},
    })
}

fn scan(severities: &[&str]) -> serde_json::Value {
    let result: Vec<serde_json::Value> = severities
        .iter()
        .enumerate()
        .map(|(i, s)| serde_json::json!({"id": format!("DEMO-{i}"), "severity": s}))
        .collect();
    serde_json::json!({
        "invocation": {"uri": "https://demo.test/scan"},
        "scanner": {"uri": "https://demo.test/scanner", "version": "1.0", "result": result},
        "metadata": {"scanStartedOn": "2023-11-14T22:13:20Z", "scanFinishedOn": "2023-11-14T22:14:20Z"},
    })
}

/// Writes the world's images under `registry` (`host[:port]`) into `sink`.
pub fn fill(sink: &mut dyn Sink, registry: &str) -> Result<World, FetchError> {
    let s = Signers::new();
    let mut cases = Vec::new();
    let image = |sink: &mut dyn Sink, path: &str, content: &str| {
        let name = format!("{registry}/{path}");
        let r = reference(&name)?;
        let d = publish::image(sink, &r, content.as_bytes())?;
        Ok::<(String, Reference, Descriptor), FetchError>((name, r, d))
    };
    let multi_platform = |sink: &mut dyn Sink, path: &str| {
        let name = format!("{registry}/{path}");
        let r = reference(&name)?;
        let m = publish::multi_platform(sink, &r, path.as_bytes(), &["amd64", "arm64"])?;
        Ok::<(String, Reference, publish::MultiPlatform), FetchError>((name, r, m))
    };
    let mut case = |image: &str, allowed: bool, verified: bool, message: &str, about| {
        cases.push(Case {
            image: image.to_owned(),
            allowed,
            verified,
            message: message.to_owned(),
            about,
            attested: image.contains("/attested/"),
        });
    };

    let (name, r, d) = image(sink, "signed/legacy:v1", "a keyless legacy signature")?;
    let layer = s.keyless_legacy(&signed_name(&r), &d.digest);
    publish::legacy_signatures(sink, &r, &d.digest, &[layer])?;
    case(
        &name,
        true,
        true,
        "verified via legacy signature (bundle verified true)",
        "keyless .sig signature with a Rekor SET",
    );

    let (name, r, d) = image(sink, "signed/referrer:v1", "a bundle referrer")?;
    let referrer = publish::bundle_referrer(sink, &r, &d, &s.bundle(&d.digest))?;
    publish::referrers_index(sink, &r, &d.digest, std::slice::from_ref(&referrer))?;
    case(
        &name,
        true,
        true,
        &format!(
            "verified via bundle referrer with digest {}",
            referrer.digest
        ),
        "Sigstore bundle as an OCI referrer",
    );

    let (name, r, d) = image(sink, "signed/tagged:v1", "a bundle under the digest tag")?;
    publish::tag_bundles(sink, &r, &d.digest, &[s.bundle(&d.digest)])?;
    case(
        &name,
        true,
        true,
        "verified via bundle",
        "Sigstore bundle under sha256-<hex>",
    );

    let (name, r, d) = image(sink, "keyed/tool:v1", "a key signature")?;
    publish::legacy_signatures(
        sink,
        &r,
        &d.digest,
        &[s.key_legacy(&signed_name(&r), &d.digest)],
    )?;
    case(
        &name,
        true,
        true,
        "verified via legacy signature (bundle verified false)",
        "signed with the policy's public key, no log entry",
    );

    let name = format!("{registry}/sandbox/scratch:v1");
    case(
        &name,
        true,
        false,
        "verification skipped by matched rule (0003)",
        "skip rule: nothing fetched",
    );
    let name = format!("{registry}/denied/app:v1");
    case(
        &name,
        false,
        false,
        "verification denied by matched rule (0004)",
        "deny rule: nothing fetched",
    );
    case(
        "elsewhere.example/app:v1",
        true,
        false,
        "no matched rule",
        "no rule matches: admitted unverified, as in Talos",
    );

    let (name, r, d) = image(sink, "other-team/app:v1", "signed by the wrong identity")?;
    let layer = s.keyless_legacy(&signed_name(&r), &d.digest);
    publish::legacy_signatures(sink, &r, &d.digest, &[layer])?;
    case(
        &name,
        false,
        false,
        &format!("expected SAN `{OTHER_SUBJECT}`, got `{SUBJECT}`"),
        "valid signature, wrong signer",
    );

    // A valid signature of signed/legacy:v1, copied onto another image.
    let (_, legacy_ref, legacy_d) = image(sink, "signed/legacy:v1", "a keyless legacy signature")?;
    let copied = s.keyless_legacy(&signed_name(&legacy_ref), &legacy_d.digest);
    let (name, r, d) = image(
        sink,
        "signed/moved:v1",
        "a signature moved from another image",
    )?;
    publish::legacy_signatures(sink, &r, &d.digest, &[copied])?;
    case(
        &name,
        false,
        false,
        "the signature is for another image",
        "signature copied from signed/legacy",
    );

    let (name, _, _) = image(sink, "signed/unsigned:v1", "never signed")?;
    case(
        &name,
        false,
        false,
        "no signatures found",
        "no signature anywhere",
    );

    let (_, r, d) = image(sink, "signed/repointed:v1", "the image that was signed")?;
    let layer = s.keyless_legacy(&signed_name(&r), &d.digest);
    publish::legacy_signatures(sink, &r, &d.digest, &[layer])?;
    let (name, _, _) = image(
        sink,
        "signed/repointed:v1",
        "pushed over the tag after signing",
    )?;
    case(
        &name,
        false,
        false,
        "no signatures found",
        "tag moved to an unsigned image after signing",
    );

    // Attested images: a signature referrer, and attestation referrers
    // annotated with their predicate type, as cosign v3 attaches them.
    let slsa = "https://slsa.dev/provenance/v1";
    let spdx_type = "https://spdx.dev/Document";
    let cdx_type = "https://cyclonedx.org/bom";
    let vuln = "https://cosign.sigstore.dev/attestation/vuln/v1";
    let attest = |sink: &mut dyn Sink,
                  r: &Reference,
                  d: &Descriptor,
                  sign: bool,
                  predicates: Vec<(&str, serde_json::Value)>| {
        let mut referrers = Vec::new();
        if sign {
            referrers.push(publish::bundle_referrer(sink, r, d, &s.bundle(&d.digest))?);
        }
        for (predicate_type, predicate) in predicates {
            let bundle = s.attestation(r.repository(), &d.digest, predicate_type, predicate);
            referrers.push(publish::annotated_referrer(
                sink,
                r,
                d,
                &bundle,
                Some(predicate_type),
            )?);
        }
        publish::referrers_index(sink, r, &d.digest, &referrers)?;
        Ok::<(), FetchError>(())
    };
    let attested = |sink: &mut dyn Sink,
                    path: &str,
                    sign: bool,
                    predicates: Vec<(&str, serde_json::Value)>| {
        let (name, r, d) = image(sink, path, path)?;
        attest(sink, &r, &d, sign, predicates)?;
        Ok::<String, FetchError>(name)
    };
    let all = |builder: &str, severities: &[&str], repo: &str| {
        vec![
            (slsa, provenance(builder)),
            (spdx_type, spdx(repo)),
            (cdx_type, cyclonedx()),
            (vuln, scan(severities)),
        ]
    };
    let name = attested(
        sink,
        "attested/app:v1",
        true,
        all(BUILDER, &["LOW", "MEDIUM"], "app"),
    )?;
    case(
        &name,
        true,
        true,
        "verified via bundle referrer with digest",
        "signed, with SLSA provenance, SPDX and CycloneDX SBOMs and a clean scan",
    );
    let name = attested(
        sink,
        "attested/vulnerable:v1",
        true,
        all(BUILDER, &["LOW", "CRITICAL"], "vulnerable"),
    )?;
    case(
        &name,
        false,
        true,
        "attestation[3] (https://cosign.sigstore.dev/attestation/vuln/v1): attestation 4: deny scanner.result[*].severity is one of [\"CRITICAL\"]: found \"CRITICAL\"",
        "signed and attested, but the scan reports a CRITICAL finding",
    );
    let name = attested(
        sink,
        "attested/elsewhere:v1",
        true,
        all("https://ci.example/untrusted", &[], "elsewhere"),
    )?;
    case(
        &name,
        false,
        true,
        &format!(
            "require runDetails.builder.id equals \"{BUILDER}\": found \"https://ci.example/untrusted\""
        ),
        "provenance from another builder",
    );
    let mut without_provenance = all(BUILDER, &[], "unproven");
    without_provenance.remove(0);
    let name = attested(sink, "attested/unproven:v1", true, without_provenance)?;
    case(
        &name,
        false,
        true,
        "attestation[0] (https://slsa.dev/provenance/v1): none of the attestations found is of this type",
        "SBOMs and a scan, but no provenance",
    );
    // cosign before bundles: a .sig signature and .att attestations.
    let (name, r, d) = image(sink, "attested/legacy:v1", "attested/legacy:v1")?;
    let layer = s.keyless_legacy(&signed_name(&r), &d.digest);
    publish::legacy_signatures(sink, &r, &d.digest, &[layer])?;
    let layers: Vec<LegacyLayer> = all(BUILDER, &["LOW"], "legacy")
        .into_iter()
        .map(|(predicate_type, predicate)| {
            let statement = testpki::Statement {
                name: r.repository(),
                digest: d.digest.trim_start_matches("sha256:"),
                predicate_type,
                predicate,
            };
            let (payload, annotations) = testpki::legacy_attestation_layer(
                &s.pki,
                &s.keyless,
                &s.leaf,
                &statement,
                T0 + 60,
                |_| {},
            );
            LegacyLayer {
                payload,
                annotations,
            }
        })
        .collect();
    publish::legacy_attestations(sink, &r, &d.digest, &layers)?;
    case(
        &name,
        true,
        true,
        "verified via legacy signature (bundle verified true)",
        "a legacy .sig signature and legacy .att attestations",
    );
    let name = attested(
        sink,
        "attested/attestation-only:v1",
        false,
        all(BUILDER, &[], "attestation-only"),
    )?;
    case(
        &name,
        false,
        false,
        "no signatures found",
        "attestations alone: never counted as a signature",
    );

    // Multi-platform images. An attestation, like a signature, names one
    // digest: the index when a tag is admitted, a platform's manifest when
    // the image is pinned to it.
    let (name, r, d) = multi_platform(sink, "attested/multi-arch:v1")?;
    attest(sink, &r, &d.index, true, all(BUILDER, &[], "multi-arch"))?;
    case(
        &name,
        true,
        true,
        "verified via bundle referrer with digest",
        "an index signed and attested as a whole (cosign's default for a tag)",
    );
    case(
        &digested_name(&r, &d.platforms[1].digest),
        false,
        false,
        "no signatures found",
        "pinned to a platform of that index: nothing names its digest",
    );
    let (name, r, d) = multi_platform(sink, "attested/per-platform:v1")?;
    attest(sink, &r, &d.index, true, Vec::new())?;
    for platform in &d.platforms {
        attest(sink, &r, platform, true, all(BUILDER, &[], "per-platform"))?;
    }
    case(
        &name,
        false,
        true,
        "attestation[0] (https://slsa.dev/provenance/v1): no attestations were found for the image",
        "an index signed, each platform signed and attested: the tag lacks attestations",
    );
    case(
        &digested_name(&r, &d.platforms[0].digest),
        true,
        true,
        "verified via bundle referrer with digest",
        "pinned to a platform that is signed and attested itself",
    );

    let key_pem = testpki::pem("PUBLIC KEY", &testpki::spki(&s.key));
    Ok(World {
        policy: policy(registry, &key_pem),
        trusted_root: s.pki.trusted_root().to_string().into_bytes(),
        cases,
    })
}

/// `count` distinct images in one repository, `{registry}/signed/many`,
/// tagged `t0`, `t1`, …, each with a keyless legacy signature that the
/// world's policy verifies. Returns each tagged name with its digest: the
/// webhook's tests and benchmark use them to tell requests apart.
pub fn fill_many(
    sink: &mut dyn Sink,
    registry: &str,
    count: usize,
) -> Result<Vec<(String, String)>, FetchError> {
    let s = Signers::new();
    let mut images = Vec::with_capacity(count);
    for i in 0..count {
        let name = format!("{registry}/signed/many:t{i}");
        let r = reference(&name)?;
        let d = publish::image(sink, &r, format!("image number {i}").as_bytes())?;
        let layer = s.keyless_legacy(&signed_name(&r), &d.digest);
        publish::legacy_signatures(sink, &r, &d.digest, &[layer])?;
        images.push((name, d.digest));
    }
    Ok(images)
}
