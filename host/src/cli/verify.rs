//! `sigward verify --policy POLICY [--trusted-root FILE] [--oci-layout DIR] [--output json] IMAGE...`
//!
//! What Talos does at every image pull: match the image, and for a verify
//! rule resolve it to a digest, find its signatures, and let the component
//! decide. Nothing is fetched for skip, deny or no match.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::json;
use sigward_host::PolicySession;
use sigward_host::oci::layout::Layout;
use sigward_host::oci::registry::{self, Registry};
use sigward_host::oci::{Reference, Store, digested_name, discover};
use sigward_host::runtime::{Action, Check, Decision, Outcome, TrustedRootHandle, VerifyError};

use super::{Exit, Line, Loaded, action_name, fail, load_policy, read_input, runtime};
use crate::Output;

#[derive(clap::Args)]
pub struct Args {
    /// The policy file (a Talos ImageVerificationConfig, YAML or JSON).
    #[arg(long)]
    policy: PathBuf,
    /// The trusted_root.json to verify against (else $SIGWARD_TRUSTED_ROOT,
    /// else $XDG_CONFIG_HOME/sigward/trusted_root.json).
    #[arg(long)]
    trusted_root: Option<PathBuf>,
    /// Read images and signatures from this OCI image layout, not a registry.
    #[arg(long)]
    oci_layout: Option<PathBuf>,
    /// A registry (`host[:port]`) to reach over plain HTTP. Loopback
    /// registries always are. Repeatable.
    #[arg(long = "insecure-registry")]
    insecure_registries: Vec<String>,
    /// Seconds to wait for each registry request.
    #[arg(long, default_value_t = 20)]
    timeout: u64,
    /// Seconds for all the registry requests of one image together.
    #[arg(long, default_value_t = 60)]
    image_timeout: u64,
    /// Send Docker credentials to `--insecure-registry` registries too
    /// (plain HTTP); by default only HTTPS and loopback registries get them.
    #[arg(long)]
    send_credentials_over_http: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Output::Text)]
    output: Output,
    /// Image references, by tag or digest.
    #[arg(required = true)]
    images: Vec<String>,
}

/// One image's answer.
struct Row {
    image: String,
    decision: Result<Decision, String>,
    /// Time spent fetching, and inside the component.
    fetch: Duration,
    component: Duration,
}

/// The inputs opened on first need: a policy with no verify rule that
/// matches needs neither a trusted root nor a store.
struct Lazy<'a> {
    args: &'a Args,
    root: Option<TrustedRootHandle>,
    store: Option<Box<dyn Store>>,
}

impl Lazy<'_> {
    fn root(&mut self, session: &mut PolicySession) -> Result<&TrustedRootHandle, String> {
        if self.root.is_none() {
            let path = super::trusted_root_path(self.args.trusted_root.as_deref())?;
            let json = read_input(&path)?;
            let handle = session
                .load_trusted_root(&json)
                .map_err(|e| e.to_string())?
                .map_err(|errors| {
                    let lines: Vec<String> = errors.iter().map(|e| Line(e).to_string()).collect();
                    format!(
                        "{}: invalid trusted root: {}",
                        path.display(),
                        lines.join("; ")
                    )
                })?;
            self.root = Some(handle);
        }
        self.root
            .as_ref()
            .ok_or_else(|| "no trusted root".to_owned())
    }

    fn store(&mut self) -> Result<&mut dyn Store, String> {
        if self.store.is_none() {
            let store: Box<dyn Store> = match &self.args.oci_layout {
                Some(dir) => Box::new(Layout::open(dir).map_err(|e| e.to_string())?),
                None => {
                    let options = registry::Options {
                        insecure: self.args.insecure_registries.clone(),
                        timeout: Duration::from_secs(self.args.timeout),
                        image_timeout: Duration::from_secs(self.args.image_timeout),
                        credentials_over_http: self.args.send_credentials_over_http,
                    };
                    Box::new(Registry::new(options).map_err(|e| e.to_string())?)
                }
            };
            self.store = Some(store);
        }
        match self.store.as_deref_mut() {
            Some(store) => Ok(store),
            None => Err("no store".to_owned()),
        }
    }
}

pub fn run(args: &Args) -> Exit {
    let runtime = match runtime() {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    let mut session = match load_policy(&runtime, &args.policy) {
        Err(e) => return fail(e),
        Ok(Loaded::Invalid(errors)) => {
            eprintln!("sigward: {}: invalid policy", args.policy.display());
            for error in &errors {
                eprintln!("  error: {}", Line(error));
            }
            return Exit::Invalid;
        }
        Ok(Loaded::Valid(session)) => session,
    };
    let mut lazy = Lazy {
        args,
        root: None,
        store: None,
    };
    let mut rows = Vec::with_capacity(args.images.len());
    for image in &args.images {
        match decide(&mut session, &mut lazy, image) {
            Ok(row) => rows.push(row),
            // An input every verification needs is missing, or the guest
            // stopped outside a verification: nothing more can be answered.
            Err(e) => return fail(e),
        }
        // A trap, fuel or memory exhaustion refused that image alone: the
        // next one gets a fresh instance (and its own trusted-root handle).
        if session.is_poisoned() {
            session = match load_policy(&runtime, &args.policy) {
                Ok(Loaded::Valid(session)) => session,
                Ok(Loaded::Invalid(_)) => return fail("the policy no longer loads"),
                Err(e) => return fail(e),
            };
            lazy.root = None;
        }
    }
    for row in &rows {
        match args.output {
            Output::Json => println!("{}", to_json(row)),
            Output::Text => print_text(row),
        }
    }
    if rows.iter().any(|r| r.decision.is_err()) {
        Exit::Invalid
    } else if rows
        .iter()
        .any(|r| r.decision.as_ref().is_ok_and(|d| !d.allowed))
    {
        Exit::Refused
    } else {
        Exit::Ok
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

/// One image: `Ok(row)` for every answer, refusals included; `Err` only when
/// nothing more can be answered.
fn decide(session: &mut PolicySession, lazy: &mut Lazy<'_>, image: &str) -> Result<Row, String> {
    let mut row = Row {
        image: image.to_owned(),
        decision: Err(String::new()),
        fetch: Duration::ZERO,
        component: Duration::ZERO,
    };
    let started = Instant::now();
    let matched = match session.match_image(image).map_err(|e| e.to_string())? {
        Ok(m) => m,
        Err(e) => {
            row.decision = Err(format!("invalid image reference: {}", e.message));
            return Ok(row);
        }
    };
    row.component += started.elapsed();
    let match_check = check(
        "policy.match",
        Outcome::Passed,
        match matched.rule {
            Some(rule) => format!("matched rule ({rule:04}), {}", action_name(matched.action)),
            None => "matched no rule".to_owned(),
        },
    );
    if matched.action != Action::Verify {
        // Skip, deny and no match need no signatures: nothing is fetched.
        row.decision = Ok(Decision {
            allowed: matched.action != Action::Deny,
            verified: false,
            rule: matched.rule,
            action: matched.action,
            reference: matched.reference,
            message: matched.message,
            trace: vec![match_check],
        });
        return Ok(row);
    }
    let Some(reference) = oci_reference(image, &matched.reference, matched.digest.as_deref())
    else {
        row.decision = Err(format!("invalid image reference: {image}"));
        return Ok(row);
    };

    let started = Instant::now();
    let mut trace = vec![match_check];
    let store = lazy.store()?;
    store.start_image();
    let digest = match store.resolve(&reference) {
        Ok(digest) => digest,
        Err(e) => {
            trace.push(check("fetch.resolve", Outcome::Failed, e.to_string()));
            row.fetch = started.elapsed();
            let message = format!("fetch.resolve: {e}");
            row.decision = Ok(refused(matched.rule, matched.reference, message, trace));
            return Ok(row);
        }
    };
    let digested = digested_name(&reference, &digest);
    trace.push(check(
        "fetch.resolve",
        Outcome::Passed,
        format!("{} is {digest}", reference.whole()),
    ));
    let found = discover::signatures(store, &reference, &digest);
    row.fetch = started.elapsed();
    let found = match found {
        Ok(found) => found,
        Err(failed) => {
            trace.extend(failed.trace);
            let message = format!("{}: {}", failed.check, failed.error);
            row.decision = Ok(refused(matched.rule, digested, message, trace));
            return Ok(row);
        }
    };
    trace.extend(found.trace);

    let started = Instant::now();
    let root = match lazy.root(session) {
        Ok(root) => root,
        // The guest stopped while loading the root: this image is refused.
        Err(e) if session.is_poisoned() => {
            row.component += started.elapsed();
            row.decision = Ok(guest_stopped(matched.rule, digested, trace, e));
            return Ok(row);
        }
        Err(e) => return Err(e),
    };
    let verified = session.verify(&digested, &found.signatures, root);
    row.component += started.elapsed();
    let verified = match verified {
        Ok(verified) => verified,
        Err(e) => {
            row.decision = Ok(guest_stopped(matched.rule, digested, trace, e.to_string()));
            return Ok(row);
        }
    };
    row.decision = Ok(match verified {
        Ok(mut decision) => {
            // The component's trace starts with its own policy.match.
            trace.extend(decision.trace.drain(..).skip(1));
            decision.trace = trace;
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
    Ok(row)
}

/// The image as the registry client names it, from the component's
/// normalized repository and digest and the tag of the reference as given.
/// (The component has already validated it; oci-client's own parser compiles
/// a large regex, which cost 50 ms of every run.)
fn oci_reference(image: &str, repository: &str, digest: Option<&str>) -> Option<Reference> {
    let (registry, path) = repository.split_once('/')?;
    let last = image.rsplit('/').next().unwrap_or(image);
    let last = last.split('@').next().unwrap_or(last);
    let tag = last.split_once(':').map(|(_, tag)| tag.to_owned());
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

fn outcome_name(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Passed => "passed",
        Outcome::Failed => "failed",
        Outcome::Skipped => "skipped",
    }
}

fn to_json(row: &Row) -> serde_json::Value {
    match &row.decision {
        Ok(d) => json!({
            "image": row.image,
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
                "fetch": row.fetch.as_micros() as u64,
                "component": row.component.as_micros() as u64,
            },
            "error": null,
        }),
        Err(e) => json!({
            "image": row.image,
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

fn print_text(row: &Row) {
    match &row.decision {
        Ok(d) => {
            let verdict = if d.allowed { "ALLOWED" } else { "REFUSED" };
            let rule = d
                .rule
                .map_or_else(|| "-".to_owned(), |r| format!("({r:04})"));
            println!("{verdict}  {}  {rule}  {}", row.image, d.message);
            if d.reference.contains('@') && d.reference != row.image {
                println!("         digest ref: {}", d.reference);
            }
        }
        Err(e) => println!("ERROR    {}  {e}", row.image),
    }
}
