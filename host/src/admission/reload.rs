//! Loading the policy and trusted root, and loading them again when their
//! files change or on SIGHUP; the certificate and key likewise. A policy or
//! root that does not load is refused with its diagnostics, and the one in
//! force stays.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use super::pool::Loaded;
use super::server::State;
use super::tls;
use crate::Runtime;

/// What a file looked like when last read: a change of either means it was
/// rewritten (a Kubernetes volume swaps a symlink, which changes both).
type Stamp = Option<(SystemTime, u64)>;

fn stamp(path: &Path) -> Stamp {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

fn read(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))
}

/// Compiles the component and loads the first policy. An error stops the
/// server: it has nothing to decide with.
pub fn start(state: &State) -> Result<(), String> {
    let runtime = Runtime::new(state.config.limits, state.config.cache_dir.as_deref())
        .map_err(|e| e.to_string())?;
    let _ = state.runtime.set(Arc::new(runtime));
    load(state)
}

/// Loads the policy and trusted root files into a new [`Loaded`] and puts it
/// in force, emptying the decision cache; on failure the old one stays.
pub fn load(state: &State) -> Result<(), String> {
    let result = try_load(state);
    let outcome = if result.is_ok() { "ok" } else { "failed" };
    state
        .metrics
        .reloads
        .inc(format!("what=\"policy\",outcome=\"{outcome}\""));
    match &result {
        Ok(loaded) => {
            for warning in &loaded.warnings {
                let rule = warning
                    .rule
                    .map_or_else(String::new, |r| format!("rule ({r:04}) "));
                eprintln!(
                    "sigward serve: policy warning: {rule}{}: {}",
                    warning.field, warning.message
                );
            }
            eprintln!(
                "sigward serve: in force: policy sha256:{} trusted root sha256:{}",
                loaded.policy_sha256, loaded.root_sha256
            );
        }
        Err(e) => eprintln!("sigward serve: not reloaded, the policy in force stays: {e}"),
    }
    let loaded = result?;
    if let Ok(mut slot) = state.loaded.write() {
        *slot = Some(Arc::new(loaded));
    }
    Ok(())
}

fn try_load(state: &State) -> Result<Loaded, String> {
    let runtime = state
        .runtime
        .get()
        .ok_or("the component is not compiled yet")?;
    let policy = String::from_utf8(read(&state.config.policy)?)
        .map_err(|_| format!("{}: not UTF-8 text", state.config.policy.display()))?;
    let root = read(&state.config.trusted_root)?;
    Loaded::new(runtime.clone(), policy, root, state.config.cache).map_err(|e| e.to_string())
}

/// Loads the certificate and key again; on failure the old ones stay.
fn load_tls(state: &State) {
    let config = &state.config;
    let outcome = match tls::load(&config.tls_cert, &config.tls_key) {
        Ok(tls) => {
            if let Ok(mut slot) = state.tls.write() {
                *slot = tls;
            }
            eprintln!("sigward serve: certificate reloaded");
            "ok"
        }
        Err(e) => {
            eprintln!("sigward serve: certificate not reloaded, the old one stays: {e}");
            "failed"
        }
    };
    state
        .metrics
        .reloads
        .inc(format!("what=\"certificate\",outcome=\"{outcome}\""));
}

/// Watches the files every `config.poll`, and SIGHUP, for as long as the
/// server runs.
pub async fn watch(state: Arc<State>) {
    let stamps = |paths: &[&PathBuf]| paths.iter().map(|p| stamp(p)).collect::<Vec<_>>();
    let config = &state.config;
    let policy_files = [&config.policy, &config.trusted_root];
    let tls_files = [&config.tls_cert, &config.tls_key];
    let mut policy_seen = stamps(&policy_files);
    let mut tls_seen = stamps(&tls_files);
    let Ok(mut hangup) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
    else {
        eprintln!("sigward serve: cannot handle SIGHUP; files are still watched");
        return;
    };
    let mut tick = tokio::time::interval(config.poll);
    loop {
        let forced = tokio::select! {
            _ = tick.tick() => false,
            _ = hangup.recv() => true,
        };
        // Nothing to reload before the first load has compiled the component.
        if state.runtime.get().is_none() {
            continue;
        }
        let policy_now = stamps(&policy_files);
        if forced || policy_now != policy_seen {
            policy_seen = policy_now;
            let worker = state.clone();
            let _ = tokio::task::spawn_blocking(move || load(&worker)).await;
        }
        let tls_now = stamps(&tls_files);
        if forced || tls_now != tls_seen {
            tls_seen = tls_now;
            load_tls(&state);
        }
    }
}
