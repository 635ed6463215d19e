//! Code compiled ahead of time: the fast component compiled for this host by
//! `sigward component --precompile FILE` (`just build` writes it beside the
//! binary as `sigward.cwasm`), so that a process starts without compiling
//! even when its compiled-code cache is empty.
//!
//! The file is a header (a version line, the SHA-256 of the component it
//! was compiled from and that of the code) and wasmtime's serialized
//! component. It is used only when it is whole, was compiled from the
//! embedded component, and wasmtime accepts the code for this engine (its
//! version and settings); otherwise the component is compiled as without it.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

const HEADER: &[u8] = b"sigward precompiled component 1\n";

/// Where a process looks for it: `$SIGWARD_PRECOMPILED` if set (empty: look
/// nowhere), else `sigward.cwasm` beside the running executable.
pub fn default_path() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("SIGWARD_PRECOMPILED") {
        return (!path.is_empty()).then(|| PathBuf::from(path));
    }
    Some(
        std::env::current_exe()
            .ok()?
            .with_file_name("sigward.cwasm"),
    )
}

/// Compiles `component` with `engine` and writes it, with its header, to `path`.
pub fn write(engine: &Engine, component: &[u8], path: &Path) -> Result<(), String> {
    let code = engine
        .precompile_component(component)
        .map_err(|e| format!("compiling the component: {e:#}"))?;
    let mut file = Vec::with_capacity(HEADER.len() + 64 + code.len());
    file.extend_from_slice(HEADER);
    file.extend_from_slice(&Sha256::digest(component));
    file.extend_from_slice(&Sha256::digest(&code));
    file.extend_from_slice(&code);
    std::fs::write(path, file).map_err(|e| format!("{}: {e}", path.display()))
}

/// Why a precompiled file was not used.
#[derive(Debug)]
pub enum Unused {
    /// No file there.
    Absent,
    /// The file is not one `write` made.
    NotPrecompiled,
    /// The code is not the code `write` wrote: truncated or changed.
    Damaged,
    /// It was compiled from another component than the embedded one.
    OtherComponent,
    /// wasmtime refused it for this engine: another version or settings.
    Incompatible(String),
}

impl std::fmt::Display for Unused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Absent => write!(f, "no precompiled file"),
            Self::NotPrecompiled => write!(f, "not a sigward precompiled file"),
            Self::Damaged => write!(f, "the precompiled code is damaged"),
            Self::OtherComponent => write!(f, "compiled from another component"),
            Self::Incompatible(e) => write!(f, "not for this engine: {e}"),
        }
    }
}

/// The component compiled in `path`, if it is `component` compiled for `engine`.
pub fn load(engine: &Engine, component: &[u8], path: &Path) -> Result<Component, Unused> {
    let file = std::fs::read(path).map_err(|_| Unused::Absent)?;
    let rest = file.strip_prefix(HEADER).ok_or(Unused::NotPrecompiled)?;
    let (source, rest) = rest.split_at_checked(32).ok_or(Unused::NotPrecompiled)?;
    let (hash, code) = rest.split_at_checked(32).ok_or(Unused::NotPrecompiled)?;
    if source != Sha256::digest(component).as_slice() {
        return Err(Unused::OtherComponent);
    }
    if hash != Sha256::digest(code).as_slice() {
        return Err(Unused::Damaged);
    }
    deserialize(engine, code).map_err(|e| Unused::Incompatible(format!("{e:#}")))
}

#[allow(unsafe_code)]
fn deserialize(engine: &Engine, code: &[u8]) -> wasmtime::Result<Component> {
    // SAFETY: wasmtime runs these bytes as native code, so they must be what
    // `Engine::precompile_component` wrote. They come from a file installed
    // beside this executable (or named by the user), which `write` made from
    // the embedded component, whole (the header's hashes say so): whoever can
    // change that file can as well change the executable. wasmtime checks
    // the rest: its version, the target and the engine's settings.
    unsafe { Component::deserialize(engine, code) }
}
