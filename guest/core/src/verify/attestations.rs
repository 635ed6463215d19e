//! The attestations a verify rule requires (sigward's extension): for each
//! entry, one offered attestation of its predicate type, signed by its
//! signer (the rule's unless it names one), naming the image, recent enough
//! for `maxAge`, whose predicate meets its conditions. Every entry must be
//! met; the first that is not refuses the image, with the reason.

use super::Signature;
use super::attestation::{self, Attested};
use super::bundle::{Artifact, Failure, KeyLog, Signer};
use super::legacy_attestation;
use crate::bundle::{Bundle, Content};
use crate::decision::{Check, Outcome};
use crate::policy::attestation::{AttestationSigner, Requirement};
use crate::trust_root::TrustedRoot;
use crate::x509::chain::rfc3339;

/// Why an entry found no attestation, the most telling reason kept: one
/// about the predicate (conditions, age), over one about verifying an
/// attestation of the type, over the types of the others.
#[derive(Default)]
struct Reason {
    rank: u8,
    text: Option<String>,
}

impl Reason {
    fn offer(&mut self, rank: u8, text: String) {
        if self.text.is_none() || rank > self.rank {
            self.rank = rank;
            self.text = Some(text);
        }
    }
}

/// The attestations offered for one image digest and rule signer: each
/// parsed once, with its unverified predicate type, and verified for the
/// rule's signer at most once, however many entries or callers ask.
pub struct Offered<'a> {
    digest: [u8; 32],
    rule_signer: Signer<'a>,
    root: &'a TrustedRoot,
    /// Each offered attestation read, or why it could not be.
    parsed: Vec<Result<(Candidate<'a>, Option<String>), String>>,
    /// Each verified for the rule's own signer, once asked.
    for_rule: Vec<Option<Verified>>,
}

impl<'a> Offered<'a> {
    pub fn new(
        offered: &'a [Signature],
        digest: [u8; 32],
        rule_signer: Signer<'a>,
        root: &'a TrustedRoot,
    ) -> Self {
        let parsed = offered
            .iter()
            .enumerate()
            .map(|(k, candidate)| match candidate {
                Signature::ReferrerBundle { bundle, .. } | Signature::TagBundle(bundle) => {
                    attestation::parse(bundle)
                        .map(|b| {
                            let t = attestation::statement_type(&b);
                            (Candidate::Bundle(b), t)
                        })
                        .map_err(|e| format!("attestation {k}: {e}"))
                }
                Signature::Legacy {
                    payload,
                    annotations,
                } => Ok((
                    Candidate::Legacy {
                        layer: payload,
                        annotations,
                    },
                    legacy_attestation::statement_type(payload),
                )),
            })
            .collect();
        Self {
            digest,
            rule_signer,
            root,
            parsed,
            for_rule: vec![None; offered.len()],
        }
    }
}

/// Checks every requirement against the offered attestations. Returns the
/// attestation that met each, in order.
pub fn check(
    requirements: &[Requirement],
    offered: &mut Offered<'_>,
    now: Option<i64>,
    trace: &mut Vec<Check>,
) -> Result<Vec<Attested>, String> {
    let mut all_met = Vec::with_capacity(requirements.len());
    for (j, requirement) in requirements.iter().enumerate() {
        let name = format!("attestation[{j}]");
        let wanted = &requirement.predicate_type;
        let mut reason = Reason::default();
        // The predicate types of the attestations of other types.
        let mut others: Vec<String> = Vec::new();
        let mut met = None;
        for k in 0..offered.parsed.len() {
            let (bundle, found) = match &offered.parsed[k] {
                Ok(c) => c,
                Err(e) => {
                    reason.offer(1, e.clone());
                    continue;
                }
            };
            // A signature, or an attestation of another type by its
            // unverified statement: not verified, not a candidate.
            if let Candidate::Bundle(b) = bundle
                && matches!(b.content, Content::MessageSignature { .. })
            {
                continue;
            }
            if let Some(found) = found
                && found != wanted
            {
                others.push(found.clone());
                continue;
            }
            let (digest, root) = (offered.digest, offered.root);
            let verified = match &requirement.signer {
                None => offered.for_rule[k]
                    .get_or_insert_with(|| verify_one(bundle, digest, offered.rule_signer, root))
                    .clone(),
                Some(AttestationSigner::Keyless(identity)) => {
                    verify_one(bundle, digest, Signer::Keyless(identity), root)
                }
                Some(AttestationSigner::PublicKey(key)) => verify_one(
                    bundle,
                    digest,
                    Signer::Key(&key.key, KeyLog::IfPresent),
                    root,
                ),
            };
            let (attested, checks) = match verified {
                Ok(v) => v,
                Err(failure) => {
                    reason.offer(1, format!("attestation {k}: {failure}"));
                    continue;
                }
            };
            if attested.predicate_type != *wanted {
                reason.offer(
                    1,
                    format!(
                        "attestation {k} is of predicate type {:?}",
                        attested.predicate_type
                    ),
                );
                continue;
            }
            if let Some(max_age) = requirement.max_age {
                let age = match (now, attested.signed_at) {
                    (None, _) => {
                        Err("maxAge needs the current time, and the host passed none".to_owned())
                    }
                    (_, None) => {
                        Err("maxAge needs a verified signing time, and it has none".to_owned())
                    }
                    (Some(now), Some(at)) if now.saturating_sub(at) > max_age => Err(format!(
                        "signed at {}, more than maxAge ({max_age} s) before {}",
                        rfc3339(at),
                        rfc3339(now)
                    )),
                    (Some(_), Some(at)) => Ok(at),
                };
                if let Err(e) = age {
                    reason.offer(2, format!("attestation {k}: maxAge: {e}"));
                    continue;
                }
            }
            match requirement.check(&attested.predicate) {
                Ok(held) => {
                    met = Some((k, attested, checks, held));
                    break;
                }
                Err(unmet) => reason.offer(2, format!("attestation {k}: {}", unmet.0)),
            }
        }
        let Some((k, attested, checks, held)) = met else {
            others.sort();
            others.dedup();
            let why = reason.text.unwrap_or_else(|| match others.as_slice() {
                [] => "no attestations were found for the image".to_owned(),
                types => format!(
                    "none of the attestations found is of this type (found: {})",
                    types.join(", ")
                ),
            });
            trace.push(Check::new(
                &name,
                Outcome::Failed,
                format!("{wanted}: {why}"),
            ));
            return Err(format!("{name} ({wanted}): {why}"));
        };
        trace.extend(checks.into_iter().map(|mut c| {
            c.name = format!("{name}.{}", c.name);
            c
        }));
        for line in held {
            trace.push(Check::new(
                &format!("{name}.condition"),
                Outcome::Passed,
                line,
            ));
        }
        trace.push(Check::new(
            &name,
            Outcome::Passed,
            format!(
                "{wanted} from attestation {k}{}",
                attested
                    .signed_at
                    .map(|t| format!(", signed at {}", rfc3339(t)))
                    .unwrap_or_default()
            ),
        ));
        all_met.push(attested);
    }
    Ok(all_met)
}

/// An attestation verified (with the checks that held), or why not.
type Verified = Result<(Attested, Vec<Check>), Failure>;

/// An offered attestation, read: a bundle, or a legacy `.att` layer.
enum Candidate<'a> {
    Bundle(Bundle),
    Legacy {
        layer: &'a [u8],
        annotations: &'a [(String, String)],
    },
}

fn verify_one(
    candidate: &Candidate<'_>,
    digest: [u8; 32],
    signer: Signer<'_>,
    root: &TrustedRoot,
) -> Verified {
    let mut checks = Vec::new();
    let attested = match candidate {
        Candidate::Bundle(bundle) => {
            attestation::verify(bundle, Artifact::Digest(digest), signer, root, &mut checks)
        }
        Candidate::Legacy { layer, annotations } => {
            legacy_attestation::verify(layer, annotations, digest, signer, root, &mut checks)
        }
    };
    attested.map(|a| (a, checks))
}
