//! The subcommands, and what they share: reading inputs and loading the runtime.

pub mod affected;
pub mod check;
pub mod component;
pub mod inventory;
pub mod judging;
pub mod matching;
pub mod pin;
pub mod sbom;
pub mod serve;
pub mod trust;
pub mod tuf;
pub mod verify;
pub mod verify_bundle;

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

use sigward_host::runtime::Diagnostic;
use sigward_host::{HostError, Limits, PolicySession, Runtime};

/// How a command ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// Everything asked for was allowed or valid.
    Ok = 0,
    /// An image or a bundle was refused.
    Refused = 1,
    /// Usage, policy or input error.
    Invalid = 2,
}

/// Largest file the CLI reads; the guest enforces its own, smaller limits.
const MAX_INPUT_BYTES: u64 = 16 * 1024 * 1024;

/// Reads a file, refusing to read more than [`MAX_INPUT_BYTES`].
pub fn read_input(path: &Path) -> Result<Vec<u8>, String> {
    let file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut bytes = Vec::new();
    file.take(MAX_INPUT_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    if bytes.len() as u64 > MAX_INPUT_BYTES {
        return Err(format!(
            "{}: larger than {MAX_INPUT_BYTES} bytes",
            path.display()
        ));
    }
    Ok(bytes)
}

/// Starts the runtime with the default limits and compiled-code cache.
pub fn runtime() -> Result<Runtime, HostError> {
    Runtime::new(limits()?, Runtime::default_cache_dir().as_deref())
}

/// The guest's limits: the defaults, with the fuel per call lowered (never
/// raised) by `$SIGWARD_FUEL_PER_CALL`, for hosts that want a tighter bound.
pub fn limits() -> Result<Limits, HostError> {
    let mut limits = Limits::default();
    if let Some(value) = std::env::var_os("SIGWARD_FUEL_PER_CALL") {
        let fuel = value
            .to_str()
            .and_then(|v| v.parse::<u64>().ok())
            .filter(|fuel| *fuel > 0)
            .ok_or_else(|| {
                HostError::Setup(format!(
                    "SIGWARD_FUEL_PER_CALL must be a positive integer, got {value:?}"
                ))
            })?;
        limits.fuel_per_call = limits.fuel_per_call.min(fuel);
    }
    Ok(limits)
}

/// A policy loaded into the component, or why it is not.
pub enum Loaded {
    Valid(Box<PolicySession>),
    Invalid(Vec<Diagnostic>),
}

/// Reads a policy file and loads it into a fresh instance.
pub fn load_policy(runtime: &Runtime, path: &Path) -> Result<Loaded, String> {
    let bytes = read_input(path)?;
    let text =
        String::from_utf8(bytes).map_err(|_| format!("{}: not UTF-8 text", path.display()))?;
    match runtime.load_policy(&text).map_err(|e| e.to_string())? {
        Ok(session) => Ok(Loaded::Valid(Box::new(session))),
        Err(errors) => Ok(Loaded::Invalid(errors)),
    }
}

/// A diagnostic as one line: `rule (0003) keyless.issuer: message`.
pub struct Line<'a>(pub &'a Diagnostic);

impl fmt::Display for Line<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.0;
        match d.rule {
            Some(rule) => write!(f, "rule ({rule:04}) {}: {}", d.field, d.message),
            None => write!(f, "{}: {}", d.field, d.message),
        }
    }
}

/// Prints an error for the user and returns the matching exit code.
pub fn fail(message: impl fmt::Display) -> Exit {
    eprintln!("sigward: {message}");
    Exit::Invalid
}

const ROOT_ENV: &str = "SIGWARD_TRUSTED_ROOT";

/// The trusted root: `--trusted-root`, else `$SIGWARD_TRUSTED_ROOT`, else
/// `$XDG_CONFIG_HOME/sigward/trusted_root.json`, else the one `sigward trust
/// update` keeps in the TUF cache, checked current in the component (and,
/// unless `offline`, updated from the repository when it is not). Says on
/// stderr which it used, unless given by the flag.
pub fn trusted_root_path(flag: Option<&Path>, offline: bool) -> Result<PathBuf, String> {
    if let Some(path) = flag {
        return Ok(path.to_owned());
    }
    let var = |name| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    if let Some(path) = var(ROOT_ENV) {
        eprintln!(
            "sigward: trusted root {} (from ${ROOT_ENV})",
            path.display()
        );
        return Ok(path);
    }
    let config = var("XDG_CONFIG_HOME").or_else(|| var("HOME").map(|h| h.join(".config")));
    let default = config.map(|c| c.join("sigward").join("trusted_root.json"));
    if let Some(path) = default.filter(|p| p.is_file()) {
        eprintln!("sigward: trusted root {}", path.display());
        return Ok(path);
    }
    let cache = trust::Cache::default_for(trust::DEFAULT_REPOSITORY).ok();
    match cache {
        Some(cache) if cache.has_root() => cached_trusted_root(&cache, offline),
        _ => Err(format!(
            "no trusted root: pass --trusted-root FILE, set {ROOT_ENV}, put the file at {}, \
             or run `sigward trust update` once to keep Sigstore's public-good one current with TUF",
            default_display()
        )),
    }
}

/// The TUF cache's trusted root, when its metadata verifies and is current.
fn cached_trusted_root(cache: &trust::Cache, offline: bool) -> Result<PathBuf, String> {
    let runtime = runtime().map_err(|e| e.to_string())?;
    let stale = match trust::check_offline(&runtime, cache) {
        Ok((_, file, expires)) => {
            eprintln!(
                "sigward: trusted root {} (from the TUF cache, current until {})",
                file.display(),
                expires.map_or_else(|| "-".to_owned(), trust::rfc3339)
            );
            return Ok(file);
        }
        Err(e) => e,
    };
    if offline {
        return Err(format!(
            "the TUF cache {} is not current ({stale}), and --offline forbids updating it: \
             run `sigward trust update`, or import an export with `sigward trust update --repository DIR`",
            cache.dir.display()
        ));
    }
    eprintln!("sigward: the TUF cache is not current ({stale}): updating it");
    trust::update_cache(&runtime, cache, trust::DEFAULT_REPOSITORY)
        .map_err(|e| format!("updating the TUF cache {}: {e}", cache.dir.display()))?;
    let (_, file, _) = trust::check_offline(&runtime, cache).map_err(|e| e.to_string())?;
    eprintln!(
        "sigward: trusted root {} (from the TUF cache, just updated)",
        file.display()
    );
    Ok(file)
}

fn default_display() -> &'static str {
    "$XDG_CONFIG_HOME/sigward/trusted_root.json (default ~/.config/sigward/trusted_root.json)"
}
