//! `sigward component [--portable] [--write FILE] [--precompile FILE]`

use std::path::Path;

use sigward_host::Runtime;
use sigward_host::runtime::{Build, CodeSource};

use super::{Exit, fail, limits};

pub fn run(portable: bool, write: Option<&Path>, precompile: Option<&Path>) -> Exit {
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
        let build = if portable {
            Build::Portable
        } else {
            Build::Fast
        };
        if let Err(e) = std::fs::write(path, build.bytes()) {
            return fail(format!("{}: {e}", path.display()));
        }
        println!(
            "the {} component written to {}",
            build.name(),
            path.display()
        );
    }
    Exit::Ok
}
