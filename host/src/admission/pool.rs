//! A loaded policy and trusted root, and the component instances that serve
//! them. Each decision runs in an instance of its own, taken from the pool
//! and returned after; one that trapped, ran out of fuel or memory is
//! dropped, never returned, so a hostile image harms no other request.
//! Instances come from the runtime's pre-instantiated component.

use std::sync::{Arc, Mutex};

use sha2::{Digest as _, Sha256};

use super::cache::{Bounds, Cache};
use super::flight::Flights;
use crate::runtime::{Diagnostic, TrustedRootHandle};
use crate::{PolicySession, Runtime};

/// Idle instances kept for reuse; more may run at once, and are dropped
/// when returned to a full pool.
const IDLE_INSTANCES: usize = 16;

/// An instance with the policy and the trusted root loaded.
pub struct Instance {
    pub session: PolicySession,
    pub root: TrustedRootHandle,
}

/// Why a policy and trusted root cannot be loaded: the old ones stay.
#[derive(Debug)]
pub enum LoadError {
    Policy(Vec<Diagnostic>),
    TrustedRoot(Vec<Diagnostic>),
    Host(String),
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let list = |f: &mut std::fmt::Formatter<'_>, what: &str, errors: &[Diagnostic]| {
            write!(f, "invalid {what}:")?;
            for e in errors {
                match e.rule {
                    Some(rule) => write!(f, " rule ({rule:04}) {}: {};", e.field, e.message)?,
                    None => write!(f, " {}: {};", e.field, e.message)?,
                }
            }
            Ok(())
        };
        match self {
            Self::Policy(errors) => list(f, "policy", errors),
            Self::TrustedRoot(errors) => list(f, "trusted root", errors),
            Self::Host(e) => f.write_str(e),
        }
    }
}

/// A policy and trusted root in force, with their instances and the
/// decisions verified under them.
pub struct Loaded {
    runtime: Arc<Runtime>,
    policy: String,
    root: Vec<u8>,
    idle: Mutex<Vec<Instance>>,
    /// Verified decisions under this policy and root.
    pub cache: Cache,
    /// The verifications in progress, so that each new digest is verified once.
    pub flights: Flights,
    /// The policy's warnings, reported once at load.
    pub warnings: Vec<Diagnostic>,
    /// SHA-256 of the policy and of the trusted root, in hex: what `/readyz`
    /// and the log report as in force.
    pub policy_sha256: String,
    pub root_sha256: String,
}

fn hex_sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl Loaded {
    /// Loads both into a first instance, refusing either if it does not load.
    pub fn new(
        runtime: Arc<Runtime>,
        policy: String,
        root: Vec<u8>,
        cache: Bounds,
    ) -> Result<Self, LoadError> {
        let mut loaded = Self {
            runtime,
            policy_sha256: hex_sha256(policy.as_bytes()),
            root_sha256: hex_sha256(&root),
            policy,
            root,
            idle: Mutex::new(Vec::new()),
            cache: Cache::new(cache),
            flights: Flights::default(),
            warnings: Vec::new(),
        };
        let mut first = loaded.load()?;
        loaded.warnings = first
            .session
            .warnings()
            .map_err(|e| LoadError::Host(e.to_string()))?;
        loaded.give_back(first);
        Ok(loaded)
    }

    fn load(&self) -> Result<Instance, LoadError> {
        let host = |e: crate::HostError| LoadError::Host(e.to_string());
        let mut session = self
            .runtime
            .load_policy(&self.policy)
            .map_err(host)?
            .map_err(LoadError::Policy)?;
        let root = session
            .load_trusted_root(&self.root)
            .map_err(host)?
            .map_err(LoadError::TrustedRoot)?;
        Ok(Instance { session, root })
    }

    /// An idle instance, or a new one.
    pub fn take(&self) -> Result<Instance, String> {
        if let Some(instance) = self.idle.lock().ok().and_then(|mut idle| idle.pop()) {
            return Ok(instance);
        }
        self.load().map_err(|e| e.to_string())
    }

    /// Returns an instance for reuse, unless a trap poisoned it.
    pub fn give_back(&self, instance: Instance) {
        if instance.session.is_poisoned() {
            return;
        }
        if let Ok(mut idle) = self.idle.lock()
            && idle.len() < IDLE_INSTANCES
        {
            idle.push(instance);
        }
    }
}
