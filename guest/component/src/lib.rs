//! The component adapter: converts between WIT types and sigward-core. It holds
//! no logic of its own; every decision is the core's.

// The bindings that wit-bindgen generates need unsafe code; this file adds none.
#[allow(unsafe_code)]
mod bindings {
    wit_bindgen::generate!({
        path: "../../wit",
        world: "sigward",
    });
}

use bindings::exports::sigward::verifier::engine::{
    self, Guest, GuestPolicy, GuestTrustedRoot, TrustedRootBorrow,
};
use bindings::sigward::verifier::types as wit;
use sigward_core::hex;
use sigward_core::policy::{Diagnostic, KeylessIdentity, RuleKind};
use sigward_core::public_key::PublicKey;
use sigward_core::verify::bundle;
use sigward_core::verify::{self, Signature, VerifyError};
use sigward_core::{Action, Check, Decision, Outcome};

mod tuf;

struct Component;

impl Guest for Component {
    type Policy = Policy;
    type TrustedRoot = TrustedRoot;

    fn verify_bundle(
        bundle: String,
        artifact: wit::Artifact,
        signer: wit::Signer,
        root: TrustedRootBorrow<'_>,
    ) -> Result<Vec<wit::Check>, wit::BundleFailure> {
        let root = &root.get::<TrustedRoot>().0;
        let mut trace = Vec::new();
        let result = verify_bundle(bundle.as_bytes(), &artifact, signer, root, &mut trace);
        let trace = trace.into_iter().map(check).collect();
        match result {
            Ok(()) => Ok(trace),
            Err(failure) => Err(wit::BundleFailure {
                check: failure.check.to_owned(),
                message: failure.message,
                trace,
            }),
        }
    }
}

/// Converts the WIT inputs and runs the core's bundle verifier.
fn verify_bundle(
    bundle: &[u8],
    artifact: &wit::Artifact,
    signer: wit::Signer,
    root: &sigward_core::TrustedRoot,
    trace: &mut Vec<Check>,
) -> Result<(), bundle::Failure> {
    let input = |message: String| bundle::Failure {
        check: "input",
        message,
    };
    let artifact = match artifact {
        wit::Artifact::Bytes(bytes) => bundle::Artifact::Bytes(bytes),
        wit::Artifact::Sha256(digest) => {
            bundle::Artifact::Digest(hex::decode_array(digest).ok_or_else(|| {
                input(format!("a SHA-256 digest is 64 hex digits, got {digest:?}"))
            })?)
        }
        wit::Artifact::Sha512(digest) => {
            bundle::Artifact::Sha512(hex::decode_array(digest).ok_or_else(|| {
                input(format!(
                    "a SHA-512 digest is 128 hex digits, got {digest:?}"
                ))
            })?)
        }
    };
    match signer {
        wit::Signer::Keyless(identity) => {
            let identity = KeylessIdentity::new(
                identity.issuer,
                identity.subject,
                identity.subject_regex.as_deref(),
            )
            .map_err(input)?;
            bundle::verify_json(
                bundle,
                artifact,
                bundle::Signer::Keyless(&identity),
                root,
                trace,
            )
        }
        wit::Signer::PublicKey(pem) => {
            let key = PublicKey::from_pem(&pem).map_err(|e| input(e.to_string()))?;
            bundle::verify_json(
                bundle,
                artifact,
                bundle::Signer::Key(&key, bundle::KeyLog::Required),
                root,
                trace,
            )
        }
    }
}

struct Policy(sigward_core::Policy);
struct TrustedRoot(sigward_core::TrustedRoot);

impl GuestTrustedRoot for TrustedRoot {
    fn parse(json: String) -> Result<engine::TrustedRoot, Vec<wit::Diagnostic>> {
        sigward_core::TrustedRoot::parse(json.as_bytes())
            .map(|root| engine::TrustedRoot::new(TrustedRoot(root)))
            .map_err(diagnostics)
    }
}

impl GuestPolicy for Policy {
    fn parse(text: String) -> Result<engine::Policy, Vec<wit::Diagnostic>> {
        sigward_core::Policy::parse(&text)
            .map(|policy| engine::Policy::new(Policy(policy)))
            .map_err(diagnostics)
    }

    fn warnings(&self) -> Vec<wit::Diagnostic> {
        diagnostics(self.0.warnings().to_vec())
    }

    fn rule_count(&self) -> u32 {
        saturate(self.0.rules().len())
    }

    fn match_image(&self, image: String) -> Result<wit::MatchResult, wit::ReferenceError> {
        let matched = self
            .0
            .match_image(&image)
            .map_err(|e| wit::ReferenceError {
                image: image.clone(),
                message: e.to_string(),
            })?;
        let evidence =
            matched
                .rule
                .and_then(|i| self.0.rule(i))
                .and_then(|rule| match &rule.kind {
                    RuleKind::Keyless(k) => Some(wit::Evidence::Keyless(wit::KeylessIdentity {
                        issuer: k.issuer.clone(),
                        subject: k.subject.clone(),
                        subject_regex: k.subject_regex.as_ref().map(|r| r.as_str().to_owned()),
                    })),
                    RuleKind::PublicKey(key) => Some(wit::Evidence::PublicKey(key.pem.clone())),
                    RuleKind::Skip | RuleKind::Deny => None,
                });
        Ok(wit::MatchResult {
            reference: matched.reference.repository(),
            digest: matched.reference.digest().map(ToString::to_string),
            rule: matched.rule.map(saturate),
            action: action(matched.action),
            evidence,
            message: matched.message().unwrap_or_default(),
        })
    }

    fn verify(
        &self,
        image: String,
        signatures: Vec<wit::Signature>,
        root: TrustedRootBorrow<'_>,
    ) -> Result<wit::Decision, wit::VerifyError> {
        let signatures: Vec<Signature> = signatures.into_iter().map(signature).collect();
        let root = &root.get::<TrustedRoot>().0;
        verify::verify(&self.0, &image, &signatures, root)
            .map(decision)
            .map_err(verify_error)
    }

    fn attestation_types(&self, rule: u32) -> Vec<String> {
        self.0
            .rule(rule as usize)
            .map(|r| {
                r.attestations
                    .iter()
                    .map(|a| a.predicate_type.clone())
                    .collect()
            })
            .unwrap_or_default()
    }

    fn verify_attested(
        &self,
        image: String,
        signatures: Vec<wit::Signature>,
        attestations: Vec<wit::Signature>,
        root: TrustedRootBorrow<'_>,
        now: i64,
    ) -> Result<wit::Decision, wit::VerifyError> {
        let signatures: Vec<Signature> = signatures.into_iter().map(signature).collect();
        let attestations: Vec<Signature> = attestations.into_iter().map(signature).collect();
        let root = &root.get::<TrustedRoot>().0;
        verify::verify_attested(&self.0, &image, &signatures, &attestations, root, Some(now))
            .map(decision)
            .map_err(verify_error)
    }

    fn gates_on_advisories(&self, rule: u32) -> bool {
        self.0
            .rule(rule as usize)
            .is_some_and(|r| r.advisories.is_some())
    }

    fn verify_with_advisories(
        &self,
        image: String,
        signatures: Vec<wit::Signature>,
        attestations: Vec<wit::Signature>,
        root: TrustedRootBorrow<'_>,
        now: i64,
        advisories: Vec<String>,
    ) -> Result<wit::Decision, wit::VerifyError> {
        let signatures: Vec<Signature> = signatures.into_iter().map(signature).collect();
        let attestations: Vec<Signature> = attestations.into_iter().map(signature).collect();
        let root = &root.get::<TrustedRoot>().0;
        let advisories: Vec<&[u8]> = advisories.iter().map(|a| a.as_bytes()).collect();
        verify::verify_with_advisories(
            &self.0,
            &image,
            &signatures,
            &attestations,
            root,
            now,
            &advisories,
        )
        .map(decision)
        .map_err(verify_error)
    }

    fn sbom(
        &self,
        image: String,
        attestations: Vec<wit::Signature>,
        root: TrustedRootBorrow<'_>,
        now: i64,
    ) -> Result<wit::Sbom, String> {
        let attestations: Vec<Signature> = attestations.into_iter().map(signature).collect();
        let root = &root.get::<TrustedRoot>().0;
        verify::sbom::verified(&self.0, &image, &attestations, root, now)
            .map(|sbom| wit::Sbom {
                predicate_type: sbom.predicate_type,
                packages: sbom.packages.into_iter().map(package).collect(),
            })
            .map_err(|e| e.to_string())
    }

    fn affected(
        &self,
        image: String,
        attestations: Vec<wit::Signature>,
        root: TrustedRootBorrow<'_>,
        now: i64,
        advisories: Vec<String>,
    ) -> Result<Vec<wit::Finding>, String> {
        let attestations: Vec<Signature> = attestations.into_iter().map(signature).collect();
        let root = &root.get::<TrustedRoot>().0;
        let advisories: Vec<&[u8]> = advisories.iter().map(|a| a.as_bytes()).collect();
        verify::sbom::affected(&self.0, &image, &attestations, root, now, &advisories)
            .map(|found| {
                found
                    .into_iter()
                    .map(|f| wit::Finding {
                        package: package(f.package),
                        advisory: f.advisory,
                        fixed: f.fixed,
                    })
                    .collect()
            })
            .map_err(|e| e.to_string())
    }
}

fn package(p: sigward_core::sbom::Package) -> wit::SbomPackage {
    wit::SbomPackage {
        name: p.name,
        version: p.version,
        purl: p.purl,
    }
}

fn saturate(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn diagnostics<K: std::fmt::Display>(list: Vec<Diagnostic<K>>) -> Vec<wit::Diagnostic> {
    list.into_iter()
        .map(|d| wit::Diagnostic {
            rule: d.rule.map(saturate),
            field: d.field,
            message: d.kind.to_string(),
        })
        .collect()
}

fn action(action: Action) -> wit::Action {
    match action {
        Action::Verify => wit::Action::Verify,
        Action::Skip => wit::Action::Skip,
        Action::Deny => wit::Action::Deny,
        Action::None => wit::Action::None,
    }
}

fn signature(signature: wit::Signature) -> Signature {
    match signature {
        wit::Signature::ReferrerBundle((manifest_digest, bundle)) => Signature::ReferrerBundle {
            manifest_digest,
            bundle: bundle.into_bytes(),
        },
        wit::Signature::TagBundle(bundle) => Signature::TagBundle(bundle.into_bytes()),
        wit::Signature::Legacy(legacy) => Signature::Legacy {
            payload: legacy.payload.into_bytes(),
            annotations: legacy.annotations,
        },
    }
}

fn decision(decision: Decision) -> wit::Decision {
    wit::Decision {
        allowed: decision.allowed,
        verified: decision.verified,
        rule: decision.rule.map(saturate),
        action: action(decision.action),
        reference: decision.reference,
        message: decision.message,
        trace: decision.trace.into_iter().map(check).collect(),
    }
}

fn check(check: Check) -> wit::Check {
    wit::Check {
        name: check.name,
        outcome: match check.outcome {
            Outcome::Passed => wit::Outcome::Passed,
            Outcome::Failed => wit::Outcome::Failed,
            Outcome::Skipped => wit::Outcome::Skipped,
        },
        detail: check.detail,
    }
}

fn verify_error(error: VerifyError) -> wit::VerifyError {
    let message = error.to_string();
    match error {
        VerifyError::InvalidReference { image, .. } | VerifyError::MissingDigest { image } => {
            wit::VerifyError::InvalidReference(wit::ReferenceError { image, message })
        }
        VerifyError::LimitExceeded { .. } => wit::VerifyError::LimitExceeded(message),
        VerifyError::NotImplemented(_) => wit::VerifyError::NotImplemented(message),
    }
}

bindings::export!(Component with_types_in bindings);
