//! `sigward verify --policy POLICY [--trusted-root FILE] [--oci-layout DIR] [--output json] IMAGE...`
//!
//! What Talos does at every image pull: match the image, and for a verify
//! rule resolve it to a digest, find its signatures, and let the component
//! decide. Nothing is fetched for skip, deny or no match.

use std::path::PathBuf;
use std::time::Duration;

use sigward_host::PolicySession;
use sigward_host::decide::{Answer, Inputs, decide};
use sigward_host::oci::Store;
use sigward_host::oci::layout::Layout;
use sigward_host::oci::registry::{self, Registry};
use sigward_host::runtime::TrustedRootHandle;

use super::{Exit, Line, Loaded, fail, load_policy, read_input, runtime};
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

/// The inputs opened on first need: a policy with no verify rule that
/// matches needs neither a trusted root nor a store.
struct Lazy<'a> {
    args: &'a Args,
    root: Option<TrustedRootHandle>,
    store: Option<Box<dyn Store>>,
}

impl Inputs for Lazy<'_> {
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
            Output::Json => println!("{}", row.to_json()),
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

fn print_text(row: &Answer) {
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
