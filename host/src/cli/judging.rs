//! What `sigward verify` and `sigward pin` share: where images come from,
//! the trusted root, and judging a list of images one by one through
//! [`decide`], each in the policy's instance, a fresh one after a trap.

use std::path::{Path, PathBuf};
use std::time::Duration;

use sigward_core::sbom::Package;
use sigward_host::advisories::Held;
use sigward_host::decide::{Answer, Inputs, decide};
use sigward_host::oci::Store;
use sigward_host::oci::layout::Layout;
use sigward_host::oci::registry::{self, Registry};
use sigward_host::runtime::TrustedRootHandle;
use sigward_host::{PolicySession, Runtime};

use super::{Exit, Line, Loaded, load_policy, read_input};

/// Where images and signatures are read from, and the trusted root.
#[derive(clap::Args)]
pub struct Sources {
    /// The trusted_root.json to verify against (else $SIGWARD_TRUSTED_ROOT,
    /// else $XDG_CONFIG_HOME/sigward/trusted_root.json, else the TUF
    /// cache that `sigward trust update` keeps).
    #[arg(long)]
    pub trusted_root: Option<PathBuf>,
    /// Never update the TUF cache over the network: a trusted root from it
    /// must be current, or the command fails saying so.
    #[arg(long)]
    pub offline: bool,
    /// Read images and signatures from this OCI image layout, not a registry.
    #[arg(long)]
    pub oci_layout: Option<PathBuf>,
    /// A registry (`host[:port]`) to reach over plain HTTP. Loopback
    /// registries always are. Repeatable.
    #[arg(long = "insecure-registry")]
    pub insecure_registries: Vec<String>,
    /// Seconds to wait for each registry request.
    #[arg(long, default_value_t = 20)]
    pub timeout: u64,
    /// Seconds for all the registry requests of one image together.
    #[arg(long, default_value_t = 60)]
    pub image_timeout: u64,
    /// Send Docker credentials to `--insecure-registry` registries too
    /// (plain HTTP); by default only HTTPS and loopback registries get them.
    #[arg(long)]
    pub send_credentials_over_http: bool,
    /// OSV advisories (JSON files, directories of them, osv.dev `all.zip`
    /// archives) for rules that gate on advisories. Repeatable.
    #[arg(long = "advisories")]
    pub advisories: Vec<PathBuf>,
}

/// The inputs opened on first need: a policy with no verify rule that
/// matches needs neither a trusted root nor a store.
pub struct Lazy<'a> {
    sources: &'a Sources,
    root: Option<TrustedRootHandle>,
    store: Option<Box<dyn Store>>,
    held: Option<Held>,
}

impl<'a> Lazy<'a> {
    pub fn new(sources: &'a Sources) -> Self {
        Self {
            sources,
            root: None,
            store: None,
            held: None,
        }
    }
}

impl Inputs for Lazy<'_> {
    fn root(&mut self, session: &mut PolicySession) -> Result<&TrustedRootHandle, String> {
        if self.root.is_none() {
            let path = super::trusted_root_path(
                self.sources.trusted_root.as_deref(),
                self.sources.offline,
            )?;
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
            let sources = self.sources;
            let store: Box<dyn Store> = match &sources.oci_layout {
                Some(dir) => Box::new(Layout::open(dir).map_err(|e| e.to_string())?),
                None => {
                    let options = registry::Options {
                        insecure: sources.insecure_registries.clone(),
                        timeout: Duration::from_secs(sources.timeout),
                        image_timeout: Duration::from_secs(sources.image_timeout),
                        credentials_over_http: sources.send_credentials_over_http,
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

    fn advisories(&mut self, packages: &[Package]) -> Result<Vec<String>, String> {
        if self.sources.advisories.is_empty() {
            return Err("no advisories are held: give them with --advisories PATH".to_owned());
        }
        if self.held.is_none() {
            let (held, skipped) = Held::files(self.sources.advisories.clone())?;
            for m in &skipped.malformed {
                eprintln!("sigward: advisories: skipped {}: {}", m.source, m.reason);
            }
            self.held = Some(held);
        }
        match &self.held {
            Some(held) => held.candidates(packages),
            None => Err("no advisories".to_owned()),
        }
    }
}

/// Loads the policy, printing its errors when it is invalid.
pub fn policy_session(runtime: &Runtime, policy: &Path) -> Result<Box<PolicySession>, Exit> {
    match load_policy(runtime, policy) {
        Err(e) => Err(super::fail(e)),
        Ok(Loaded::Invalid(errors)) => {
            eprintln!("sigward: {}: invalid policy", policy.display());
            for error in &errors {
                eprintln!("  error: {}", Line(error));
            }
            Err(Exit::Invalid)
        }
        Ok(Loaded::Valid(session)) => Ok(session),
    }
}

/// Judges each image in turn. `Err` when nothing more can be answered (an
/// input every verification needs is missing, or the guest stopped outside
/// a verification).
pub fn judge_all(
    runtime: &Runtime,
    policy: &Path,
    sources: &Sources,
    images: &[&str],
) -> Result<Vec<Answer>, Exit> {
    let mut session = policy_session(runtime, policy)?;
    let mut lazy = Lazy::new(sources);
    let mut answers = Vec::with_capacity(images.len());
    for image in images {
        answers.push(decide(&mut session, &mut lazy, image).map_err(super::fail)?);
        // A trap, fuel or memory exhaustion refused that image alone: the
        // next one gets a fresh instance (and its own trusted-root handle).
        if session.is_poisoned() {
            session = match load_policy(runtime, policy) {
                Ok(Loaded::Valid(session)) => session,
                Ok(Loaded::Invalid(_)) => return Err(super::fail("the policy no longer loads")),
                Err(e) => return Err(super::fail(e)),
            };
            lazy.root = None;
        }
    }
    Ok(answers)
}
