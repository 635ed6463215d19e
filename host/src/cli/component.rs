//! `sigward component [--write FILE [--portable | --kubewarden]] [--precompile FILE]`

use std::path::Path;

use sigward_host::runtime::{Build, CodeSource};
use sigward_host::{Runtime, kubewarden};

use super::{Exit, fail, limits};

/// Which build `--write` writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Which {
    Fast,
    Portable,
    Kubewarden,
}

pub fn run(which: Which, write: Option<&Path>, precompile: Option<&Path>) -> Exit {
    let limits = match limits() {
        Ok(limits) => limits,
        Err(e) => return fail(e),
    };
    for build in Build::ALL {
        let runtime =
            match Runtime::with_build(build, limits, Runtime::default_cache_dir().as_deref()) {
                Ok(r) => r,
                Err(e) => return fail(e),
            };
        let needs = match build.required_features() {
            [] => "no proposal beyond the core spec and the component model".to_owned(),
            features => features.join(", "),
        };
        println!("{} component:", build.name());
        println!("  size: {} bytes", build.bytes().len());
        println!("  imports: {}", runtime.component_imports().join(", "));
        println!("  requires the wasm proposals: {needs}");
        match runtime.code_source() {
            CodeSource::Precompiled(path) => {
                println!("  machine code: precompiled, from {}", path.display())
            }
            CodeSource::Compiled(unused) if build == Build::Fast => {
                println!("  machine code: compiled or cached ({unused})")
            }
            CodeSource::Compiled(_) => println!("  machine code: compiled or cached"),
        }
    }
    match kubewarden::describe(kubewarden::MODULE) {
        Err(e) => return fail(e),
        Ok(module) => {
            println!("kubewarden policy (waPC module):");
            println!("  size: {} bytes", module.bytes);
            println!("  imports: {}", module.imports.join(", "));
            println!("  exports: {}", module.exports.join(", "));
            match module.beyond_core_spec {
                None => {
                    println!("  requires the wasm proposals: none beyond the wasm 2.0 core spec")
                }
                Some(e) => {
                    return fail(format!(
                        "the Kubewarden module needs more than wasm 2.0: {e}"
                    ));
                }
            }
        }
    }
    if let Some(path) = precompile {
        if let Err(e) = Runtime::precompile(Build::Fast, path) {
            return fail(e);
        }
        println!(
            "the fast component compiled for this machine into {}",
            path.display()
        );
    }
    if let Some(path) = write {
        let (bytes, what) = match which {
            Which::Fast => (Build::Fast.bytes(), "the fast component"),
            Which::Portable => (Build::Portable.bytes(), "the portable component"),
            Which::Kubewarden => (kubewarden::MODULE, "the Kubewarden policy"),
        };
        if let Err(e) = std::fs::write(path, bytes) {
            return fail(format!("{}: {e}", path.display()));
        }
        println!("{what} written to {}", path.display());
    }
    Exit::Ok
}
