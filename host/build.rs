#![allow(clippy::panic)] // Panicking is how a build script reports failure.
//! Builds the guest component and hands its path to the host, which embeds it,
//! so that the `sigward` binary works from any directory.
//!
//! The guest is compiled as a plain wasm module and made a component here with
//! wit-component. Built that way it imports nothing at all: std for
//! wasm32-wasip2 would import stdio, clocks, random and the environment for its
//! own runtime, which a guest that must do no I/O has no use for.
//!
//! The nested cargo uses its own target directory, so it never waits on the
//! lock of the build that runs this script.

use std::env;
use std::path::PathBuf;
use std::process::Command;

const TARGET: &str = "wasm32-unknown-unknown";
const PROFILE: &str = "guest";

fn main() {
    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let workspace = manifest_dir.parent().map(PathBuf::from).unwrap_or_default();
    for watched in ["guest", "wit", "Cargo.toml", "Cargo.lock"] {
        println!(
            "cargo:rerun-if-changed={}",
            workspace.join(watched).display()
        );
    }
    println!("cargo:rerun-if-env-changed=SIGWARD_COMPONENT");

    // A prebuilt component may be supplied instead, e.g. by a packager.
    if let Some(prebuilt) = env::var_os("SIGWARD_COMPONENT") {
        println!(
            "cargo:rustc-env=SIGWARD_COMPONENT_PATH={}",
            PathBuf::from(prebuilt).display()
        );
        return;
    }

    let target_dir = env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace.join("target"))
        .join("guest-build");
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .current_dir(&workspace)
        .args([
            "build",
            "--locked",
            "-p",
            "sigward-component",
            "--target",
            TARGET,
            "--profile",
            PROFILE,
        ])
        .arg("--target-dir")
        .arg(&target_dir)
        // What the outer build sets for itself must not leak into the wasm build.
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("RUSTC_WORKSPACE_WRAPPER")
        .env_remove("RUSTC_WRAPPER")
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO_BUILD_TARGET")
        .env_remove("CARGO_PROFILE_RELEASE_DEBUG")
        .status();
    match status {
        Ok(s) if s.success() => {}
        Ok(s) => panic!(
            "building the guest component failed ({s}): see the errors above (is the {TARGET} target installed?)"
        ),
        Err(e) => panic!("could not run cargo to build the guest component: {e}"),
    }
    let module_path = target_dir
        .join(TARGET)
        .join(PROFILE)
        .join("sigward_component.wasm");
    let module = std::fs::read(&module_path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", module_path.display()));
    let component = wit_component::ComponentEncoder::default()
        .module(&module)
        .and_then(|encoder| encoder.validate(true).encode())
        .unwrap_or_else(|e| panic!("encoding the guest component: {e:#}"));
    let out = PathBuf::from(env::var_os("OUT_DIR").unwrap_or_default()).join("sigward.wasm");
    std::fs::write(&out, component).unwrap_or_else(|e| panic!("writing {}: {e}", out.display()));
    println!("cargo:rustc-env=SIGWARD_COMPONENT_PATH={}", out.display());
}
