//! One image, judged as Talos judges it at pull time: the component matches
//! it; for a verify rule the host resolves the tag to a digest and finds the
//! signatures, and the component verifies them. Skip, deny and no match
//! fetch nothing. `sigward verify`, `sigward pin` and `sigward serve` all
//! call [`decide`]; every decision in it is the component's.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sigward_core::sbom::Package;

use crate::PolicySession;
use crate::oci::{Reference, Store, digested_name, discover};
use crate::runtime::{Action, Check, Decision, Outcome, TrustedRootHandle, VerifyError};

/// What [`decide`] needs besides the policy: the trusted root and a store,
/// opened on first need (a policy whose matching rules do not verify needs
/// neither), and optionally a cache of earlier verifications.
pub trait Inputs {
    /// The trusted root, loaded into `session`'s instance.
    fn root(&mut self, session: &mut PolicySession) -> Result<&TrustedRootHandle, String>;

    /// Where images and signatures are fetched from.
    fn store(&mut self) -> Result<&mut dyn Store, String>;

    /// A decision the component made earlier for this digested reference
    /// (`registry/repository@sha256:…`: signatures are looked up in the
    /// repository, so the digest alone does not say what verified) under
    /// this rule.
    fn cached(&mut self, _rule: u32, _digested: &str) -> Option<Decision> {
        None
    }

    /// Keeps a verified decision for [`Inputs::cached`].
    fn remember(&mut self, _rule: u32, _digested: &str, _decision: &Decision) {}

    /// Called on a cache miss, before this digest's signatures are fetched:
    /// waits while another caller verifies the same digest under the same
    /// rule, and gives the decision that verification left in the cache.
    /// `None` when there is none (nobody else was at it, or it did not
    /// verify): this caller then does the work itself, so a peer's failure
    /// is never taken as its own.
    fn after_peer(&mut self, _rule: u32, _digested: &str) -> Option<Decision> {
        None
    }

    /// The advisories held now (OSV JSON) that may affect `packages`, for a
    /// rule that gates on advisories. An error when none are held, or they
    /// cannot be read: the image is then refused.
    fn advisories(&mut self, _packages: &[Package]) -> Result<Vec<String>, String> {
        Err("no advisories are held: give them with --advisories PATH (or --db URL)".to_owned())
    }
}

/// One image's answer.
#[derive(Clone, Debug)]
pub struct Answer {
    /// The image as it was given.
    pub image: String,
    /// The component's decision; an error when the reference is invalid.
    pub decision: Result<Decision, String>,
    /// The digest whose signatures verified: set only for an allowed,
    /// verified image, and the only digest an image may be pinned to.
    pub verified_digest: Option<String>,
    /// Time spent fetching, and inside the component.
    pub fetch: Duration,
    pub component: Duration,
    /// The time of each step taken, in order: `match`, `resolve`, `wait`
    /// (for a peer verifying the same digest), `signatures` (every source
    /// fetched together, then the blobs of the one used), `attestations`,
    /// `sbom`, `advisories`, `verify`.
    pub steps: Vec<(&'static str, Duration)>,
    /// The packages of the verified SBOM that a rule's advisory gate read.
    pub sbom: Option<Arc<[Package]>>,
}

impl Answer {
    /// Counts the time since `started` as fetching, and as `step`.
    fn fetch_step(&mut self, step: &'static str, started: Instant) {
        let took = started.elapsed();
        self.fetch += took;
        self.steps.push((step, took));
    }

    /// Counts the time since `started` as the component's, and as `step`.
    fn component_step(&mut self, step: &'static str, started: Instant) {
        let took = started.elapsed();
        self.component += took;
        self.steps.push((step, took));
    }

    /// Whether the image may run.
    pub fn allowed(&self) -> bool {
        self.decision.as_ref().is_ok_and(|d| d.allowed)
    }

    /// The answer as `sigward verify --output json` prints it, and as the
    /// webhook records it in the audit log.
    pub fn to_json(&self) -> Value {
        match &self.decision {
            Ok(d) => json!({
                "image": self.image,
                "digest_ref": d.reference,
                "rule": d.rule,
                "action": action_name(d.action),
                "allowed": d.allowed,
                "verified": d.verified,
                "message": d.message,
                "trace": d.trace.iter().map(|c| json!({
                    "check": c.name,
                    "outcome": outcome_name(c.outcome),
                    "detail": c.detail,
                })).collect::<Vec<_>>(),
                "timing_us": {
                    "fetch": self.fetch.as_micros() as u64,
                    "component": self.component.as_micros() as u64,
                    "steps": self.steps.iter()
                        .map(|(step, took)| (step.to_string(), json!(took.as_micros() as u64)))
                        .collect::<serde_json::Map<_, _>>(),
                },
                "error": null,
            }),
            Err(e) => json!({
                "image": self.image,
                "digest_ref": null,
                "rule": null,
                "action": null,
                "allowed": false,
                "verified": false,
                "message": null,
                "trace": [],
                "error": e,
            }),
        }
    }
}

/// An outcome as the JSON output names it.
pub fn outcome_name(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Passed => "passed",
        Outcome::Failed => "failed",
        Outcome::Skipped => "skipped",
    }
}

fn check(name: &str, outcome: Outcome, detail: String) -> Check {
    Check {
        name: name.to_owned(),
        outcome,
        detail,
    }
}

fn refused(rule: Option<u32>, reference: String, message: String, trace: Vec<Check>) -> Decision {
    Decision {
        allowed: false,
        verified: false,
        rule,
        action: Action::Verify,
        reference,
        message: format!("image verification failed: {message}"),
        trace,
    }
}

/// The refusal of an image whose verification stopped the guest (a trap, its
/// fuel or memory exhausted), with the check `component`.
fn guest_stopped(
    rule: Option<u32>,
    reference: String,
    mut trace: Vec<Check>,
    error: String,
) -> Decision {
    let message = format!("component: {error}");
    trace.push(check("component", Outcome::Failed, error));
    refused(rule, reference, message, trace)
}

/// A decision kept from an earlier verification, saying so in its trace.
fn from_cache(mut decision: Decision) -> Decision {
    decision.trace.push(check(
        "cache",
        Outcome::Passed,
        "the component verified this digest under this rule, policy and trusted root earlier"
            .to_owned(),
    ));
    decision
}

/// An action as the policy names it.
pub fn action_name(action: Action) -> &'static str {
    match action {
        Action::Verify => "verify",
        Action::Skip => "skip",
        Action::Deny => "deny",
        Action::None => "none",
    }
}

/// Judges one image. `Ok` for every answer, refusals included; `Err` only
/// when nothing more can be answered (the guest stopped outside a
/// verification, or an input every verification needs is missing). A
/// refusal that stopped the guest leaves `session` poisoned: the caller
/// must not reuse it.
pub fn decide(
    session: &mut PolicySession,
    inputs: &mut dyn Inputs,
    image: &str,
) -> Result<Answer, String> {
    let mut answer = Answer {
        image: image.to_owned(),
        decision: Err(String::new()),
        verified_digest: None,
        fetch: Duration::ZERO,
        component: Duration::ZERO,
        steps: Vec::new(),
        sbom: None,
    };
    let started = Instant::now();
    let matched = match session.match_image(image).map_err(|e| e.to_string())? {
        Ok(m) => m,
        Err(e) => {
            answer.decision = Err(format!("invalid image reference: {}", e.message));
            return Ok(answer);
        }
    };
    answer.component_step("match", started);
    let match_check = check(
        "policy.match",
        Outcome::Passed,
        match matched.rule {
            Some(rule) => format!("matched rule ({rule:04}), {}", action_name(matched.action)),
            None => "matched no rule".to_owned(),
        },
    );
    let rule = match (matched.action, matched.rule) {
        (Action::Verify, Some(rule)) => rule,
        _ => {
            // Skip, deny and no match need no signatures: nothing is fetched.
            answer.decision = Ok(Decision {
                allowed: matched.action != Action::Deny,
                verified: false,
                rule: matched.rule,
                action: matched.action,
                reference: matched.reference,
                message: matched.message,
                trace: vec![match_check],
            });
            return Ok(answer);
        }
    };
    let Some(reference) = oci_reference(image, &matched.reference, matched.digest.as_deref())
    else {
        answer.decision = Err(format!("invalid image reference: {image}"));
        return Ok(answer);
    };
    if let Some(digest) = reference.digest()
        && let Some(decision) = inputs.cached(rule, &digested_name(&reference, digest))
    {
        answer.verified_digest = Some(digest.to_owned());
        answer.decision = Ok(from_cache(decision));
        return Ok(answer);
    }

    let started = Instant::now();
    let mut trace = vec![match_check];
    let store = inputs.store()?;
    store.start_image();
    let digest = match store.resolve(&reference) {
        Ok(digest) => digest,
        Err(e) => {
            trace.push(check("fetch.resolve", Outcome::Failed, e.to_string()));
            answer.fetch_step("resolve", started);
            let message = format!("fetch.resolve: {e}");
            answer.decision = Ok(refused(matched.rule, matched.reference, message, trace));
            return Ok(answer);
        }
    };
    answer.fetch_step("resolve", started);
    let digested = digested_name(&reference, &digest);
    if reference.digest().is_none()
        && let Some(decision) = inputs.cached(rule, &digested)
    {
        answer.verified_digest = Some(digest);
        answer.decision = Ok(from_cache(decision));
        return Ok(answer);
    }
    trace.push(check(
        "fetch.resolve",
        Outcome::Passed,
        format!("{} is {digest}", reference.whole()),
    ));
    // Attestations, only for a rule that requires some (sigward's extension).
    let wants_attestations = match session.attestation_types(rule) {
        Ok(types) => !types.is_empty(),
        Err(e) => {
            answer.decision = Ok(guest_stopped(matched.rule, digested, trace, e.to_string()));
            return Ok(answer);
        }
    };
    // An attested decision is never cached (below), so only a plain one is
    // worth waiting for.
    if !wants_attestations {
        let waited = Instant::now();
        let peer = inputs.after_peer(rule, &digested);
        answer.steps.push(("wait", waited.elapsed()));
        if let Some(decision) = peer {
            answer.verified_digest = Some(digest);
            answer.decision = Ok(from_cache(decision));
            return Ok(answer);
        }
    }
    let started = Instant::now();
    let store = inputs.store()?;
    store.prefetch(&discover::sources(&reference, &digest, wants_attestations));
    let found = discover::signatures(store, &reference, &digest);
    answer.fetch_step("signatures", started);
    let found = match found {
        Ok(found) => found,
        Err(failed) => {
            trace.extend(failed.trace);
            let message = format!("{}: {}", failed.check, failed.error);
            answer.decision = Ok(refused(matched.rule, digested, message, trace));
            return Ok(answer);
        }
    };
    trace.extend(found.trace);

    let mut attestations = Vec::new();
    if wants_attestations {
        let started = Instant::now();
        let found = discover::attestations(inputs.store()?, &reference, &digest);
        answer.fetch_step("attestations", started);
        match found {
            Ok(found) => {
                trace.extend(found.trace);
                attestations = found.signatures;
            }
            Err(failed) => {
                trace.extend(failed.trace);
                let message = format!("{}: {}", failed.check, failed.error);
                answer.decision = Ok(refused(matched.rule, digested, message, trace));
                return Ok(answer);
            }
        }
    }

    let started = Instant::now();
    let root = match inputs.root(session) {
        Ok(root) => root,
        // The guest stopped while loading the root: this image is refused.
        Err(e) if session.is_poisoned() => {
            answer.component += started.elapsed();
            answer.decision = Ok(guest_stopped(matched.rule, digested, trace, e));
            return Ok(answer);
        }
        Err(e) => return Err(e),
    };
    let gated = match session.gates_on_advisories(rule) {
        Ok(gated) => gated,
        Err(e) => {
            answer.decision = Ok(guest_stopped(matched.rule, digested, trace, e.to_string()));
            return Ok(answer);
        }
    };
    let now = crate::tuf::now();
    let verified = if gated {
        // The component reads the SBOM; the host looks up the advisories
        // that name its packages; the component decides.
        let packages: Vec<Package> = match session.sbom(&digested, &attestations, root, now) {
            Ok(Ok(sbom)) => sbom.packages.into_iter().map(Into::into).collect(),
            // No SBOM verifies: the component refuses, saying why.
            Ok(Err(_)) => Vec::new(),
            Err(e) => {
                answer.component += started.elapsed();
                answer.decision = Ok(guest_stopped(matched.rule, digested, trace, e.to_string()));
                return Ok(answer);
            }
        };
        answer.component_step("sbom", started);
        let looked_up = Instant::now();
        let advisories = inputs.advisories(&packages);
        answer.fetch_step("advisories", looked_up);
        let advisories = match advisories {
            Ok(advisories) => {
                trace.push(check(
                    "fetch.advisories",
                    Outcome::Passed,
                    format!(
                        "{} advisories held name a package of the SBOM's {}",
                        advisories.len(),
                        packages.len()
                    ),
                ));
                advisories
            }
            Err(e) => {
                trace.push(check("fetch.advisories", Outcome::Failed, e.clone()));
                let message = format!("fetch.advisories: {e}");
                answer.decision = Ok(refused(matched.rule, digested, message, trace));
                return Ok(answer);
            }
        };
        answer.sbom = Some(packages.into());
        let started = Instant::now();
        let root = inputs.root(session)?;
        let verified = session.verify_with_advisories(
            &digested,
            &found.signatures,
            &attestations,
            root,
            now,
            &advisories,
        );
        answer.component_step("verify", started);
        verified
    } else {
        let verified = if wants_attestations {
            session.verify_attested(&digested, &found.signatures, &attestations, root, now)
        } else {
            session.verify(&digested, &found.signatures, root)
        };
        answer.component_step("verify", started);
        verified
    };
    let verified = match verified {
        Ok(verified) => verified,
        Err(e) => {
            answer.decision = Ok(guest_stopped(matched.rule, digested, trace, e.to_string()));
            return Ok(answer);
        }
    };
    answer.decision = Ok(match verified {
        Ok(mut decision) => {
            // The component's trace starts with its own policy.match.
            trace.extend(decision.trace.drain(..).skip(1));
            decision.trace = trace;
            if decision.allowed && decision.verified {
                // An attested admission may rest on `maxAge`, which the
                // passing of time undoes, or on the advisories held, which
                // a new one undoes (a gate needs an SBOM attestation): it
                // is decided afresh every time.
                if !wants_attestations {
                    inputs.remember(rule, &digested, &decision);
                }
                answer.verified_digest = Some(digest);
            }
            decision
        }
        Err(error) => {
            let message = match error {
                VerifyError::InvalidReference(e) => format!("{}: {}", e.image, e.message),
                VerifyError::LimitExceeded(m) | VerifyError::NotImplemented(m) => m,
            };
            refused(matched.rule, digested, message, trace)
        }
    });
    Ok(answer)
}

/// The tag of an image reference as written
/// (`registry:5000/repo:tag@sha256:…` is `tag`), if it names one.
pub fn written_tag(image: &str) -> Option<&str> {
    let last = image.rsplit('/').next().unwrap_or(image);
    let last = last.split('@').next().unwrap_or(last);
    last.split_once(':').map(|(_, tag)| tag)
}

/// The image as the registry client names it, from the component's
/// normalized repository and digest and the tag of the reference as given.
/// (The component has already validated it; oci-client's own parser compiles
/// a large regex, which cost 50 ms of every run.)
fn oci_reference(image: &str, repository: &str, digest: Option<&str>) -> Option<Reference> {
    let (registry, path) = repository.split_once('/')?;
    let tag = written_tag(image).map(str::to_owned);
    let (registry, path) = (registry.to_owned(), path.to_owned());
    Some(match (tag, digest) {
        (Some(tag), Some(digest)) => {
            Reference::with_tag_and_digest(registry, path, tag, digest.to_owned())
        }
        (None, Some(digest)) => Reference::with_digest(registry, path, digest.to_owned()),
        (tag, None) => {
            Reference::with_tag(registry, path, tag.unwrap_or_else(|| "latest".to_owned()))
        }
    })
}

/// What [`attestations_of`] found for an image: the digested reference the
/// component is asked about, and the bundles and layers found for it.
pub struct Attestations {
    pub digested: String,
    pub found: Vec<crate::runtime::Signature>,
}

/// The attestations of an image, for `sigward sbom` and `sigward affected`:
/// the component validates the reference, the host resolves its tag to a
/// digest and looks for attestations as [`decide`] does. Every judgment on
/// them is the component's.
pub fn attestations_of(
    session: &mut PolicySession,
    inputs: &mut dyn Inputs,
    image: &str,
) -> Result<Attestations, String> {
    let matched = session
        .match_image(image)
        .map_err(|e| e.to_string())?
        .map_err(|e| format!("invalid image reference: {}", e.message))?;
    let reference = oci_reference(image, &matched.reference, matched.digest.as_deref())
        .ok_or_else(|| format!("invalid image reference: {image}"))?;
    let store = inputs.store()?;
    store.start_image();
    let digest = store
        .resolve(&reference)
        .map_err(|e| format!("fetch.resolve: {e}"))?;
    let found = discover::attestations(inputs.store()?, &reference, &digest)
        .map_err(|failed| format!("{}: {}", failed.check, failed.error))?;
    Ok(Attestations {
        digested: digested_name(&reference, &digest),
        found: found.signatures,
    })
}
