//! `sigward component [--write FILE]`

use std::path::Path;

use sigward_host::Runtime;

use super::{Exit, fail, runtime};

pub fn run(write: Option<&Path>) -> Exit {
    let bytes = Runtime::component_bytes();
    let runtime = match runtime() {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    println!("size: {} bytes", bytes.len());
    println!("imports: {}", runtime.component_imports().join(", "));
    println!(
        "requires the wasm proposals: {}",
        sigward_host::runtime::REQUIRED_WASM_FEATURES.join(", ")
    );
    if let Some(path) = write {
        if let Err(e) = std::fs::write(path, bytes) {
            return fail(format!("{}: {e}", path.display()));
        }
        println!("written to {}", path.display());
    }
    Exit::Ok
}
