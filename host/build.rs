#![allow(clippy::panic)] // Panicking is how a build script reports failure.
//! Builds the guest component twice, fast (with wasm's `wide-arithmetic`
//! proposal, for wasmtime) and portable (plain wasm, for V8 and other hosts
//! without it), and the Kubewarden policy (a waPC module, plain wasm, built
//! with the portable component so that they share one build of the core),
//! and hands their paths to the host, which embeds all three, so that the
//! `sigward` binary works from any directory.
//!
//! The guest is compiled as a plain wasm module and made a component here with
//! wit-component. Built that way it imports nothing at all: std for
//! wasm32-wasip2 would import stdio, clocks, random and the environment for its
//! own runtime, which a guest that must do no I/O has no use for.
//!
//! Each nested cargo uses its own target directory, so it never waits on the
//! lock of the build that runs this script, nor on the other.

#[path = "build/size.rs"]
mod size;

use std::env;
use std::path::{Path, PathBuf};
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

    // Prebuilt components may be supplied instead, e.g. by a packager.
    println!("cargo:rerun-if-env-changed=SIGWARD_PORTABLE_COMPONENT");
    println!("cargo:rerun-if-env-changed=SIGWARD_KUBEWARDEN_MODULE");
    if let (Some(fast), Some(portable), Some(kubewarden)) = (
        env::var_os("SIGWARD_COMPONENT"),
        env::var_os("SIGWARD_PORTABLE_COMPONENT"),
        env::var_os("SIGWARD_KUBEWARDEN_MODULE"),
    ) {
        for (name, path) in [
            ("SIGWARD_COMPONENT_PATH", fast),
            ("SIGWARD_PORTABLE_COMPONENT_PATH", portable),
            ("SIGWARD_KUBEWARDEN_MODULE_PATH", kubewarden),
        ] {
            println!("cargo:rustc-env={name}={}", PathBuf::from(path).display());
        }
        return;
    }

    let target_root = env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace.join("target"));
    // Both builds at once: each is one long LTO step on one core.
    let fast = spawn(
        &workspace,
        &target_root.join("guest-build"),
        &["sigward-component"],
        None,
    );
    let portable = spawn(
        &workspace,
        &target_root.join("guest-build-portable"),
        &["sigward-component", "sigward-kubewarden"],
        Some(PORTABLE_RUSTFLAGS),
    );
    for (name, child, dir, env_name) in [
        ("fast", fast, "guest-build", "SIGWARD_COMPONENT_PATH"),
        (
            "portable",
            portable,
            "guest-build-portable",
            "SIGWARD_PORTABLE_COMPONENT_PATH",
        ),
    ] {
        match child.and_then(|mut c| c.wait()) {
            Ok(s) if s.success() => {}
            Ok(s) => panic!(
                "building the {name} guest component failed ({s}): see the errors above (is the {TARGET} target installed?)"
            ),
            Err(e) => panic!("could not run cargo to build the {name} guest component: {e}"),
        }
        let out = encode(&target_root.join(dir), name);
        println!("cargo:rustc-env={env_name}={}", out.display());
    }
    // The waPC module is embedded as a plain module: Kubewarden loads those.
    let built = target_root
        .join("guest-build-portable")
        .join(TARGET)
        .join(PROFILE)
        .join("sigward_kubewarden.wasm");
    let module =
        std::fs::read(&built).unwrap_or_else(|e| panic!("reading {}: {e}", built.display()));
    let kubewarden = measured("kubewarden", &module);
    println!(
        "cargo:rustc-env=SIGWARD_KUBEWARDEN_MODULE_PATH={}",
        kubewarden.display()
    );
}

/// The portable build's flags, in place of `.cargo/config.toml`'s: no
/// `wide-arithmetic`, and the curve crates on 32-bit limbs, whose products
/// plain wasm multiplies in one instruction (64-bit limbs need a 128-bit
/// product, a call to compiler-rt's `__multi3` without the proposal).
const PORTABLE_RUSTFLAGS: &str = "--cfg getrandom_backend=\"unsupported\" --cfg cpubits=\"32\"";

/// Starts the nested cargo that builds the guest `packages` into
/// `target_dir`, with `rustflags` in place of the configured ones when given.
fn spawn(
    workspace: &Path,
    target_dir: &Path,
    packages: &[&str],
    rustflags: Option<&str>,
) -> std::io::Result<std::process::Child> {
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command.current_dir(workspace).args(["build", "--locked"]);
    for package in packages {
        command.args(["-p", package]);
    }
    command
        .args(["--target", TARGET, "--profile", PROFILE])
        .arg("--target-dir")
        .arg(target_dir)
        // What the outer build sets for itself must not leak into the wasm build.
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("RUSTC_WORKSPACE_WRAPPER")
        .env_remove("RUSTC_WRAPPER")
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO_BUILD_TARGET")
        .env_remove("CARGO_PROFILE_RELEASE_DEBUG")
        .env_remove("CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS");
    if let Some(flags) = rustflags {
        // RUSTFLAGS replaces the target's rustflags of .cargo/config.toml
        // (cargo takes the first source it finds; it would merge the
        // configuration's list with CARGO_TARGET_<triple>_RUSTFLAGS). With
        // --target it applies to the guest only, not to build scripts.
        command.env("RUSTFLAGS", flags);
    }
    command.spawn()
}

/// Drops the `name` build's module's names and debug sections, writes what
/// its code cost by crate to OUT_DIR (`sigward-NAME.sizes.tsv`, for the
/// benchmark: `SIGWARD_SIZES_DIR`) and the module to OUT_DIR; its path.
fn measured(name: &str, module: &[u8]) -> PathBuf {
    let measured = size::strip_and_measure(module)
        .unwrap_or_else(|e| panic!("reading the {name} guest module: {e}"));
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").unwrap_or_default());
    let table = out_dir.join(format!("sigward-{name}.sizes.tsv"));
    std::fs::write(&table, measured.table)
        .unwrap_or_else(|e| panic!("writing {}: {e}", table.display()));
    println!("cargo:rustc-env=SIGWARD_SIZES_DIR={}", out_dir.display());
    let out = out_dir.join(format!("sigward-{name}.module.wasm"));
    std::fs::write(&out, measured.module)
        .unwrap_or_else(|e| panic!("writing {}: {e}", out.display()));
    out
}

/// Makes the module built in `target_dir` a component, written to OUT_DIR.
fn encode(target_dir: &Path, name: &str) -> PathBuf {
    let module_path = target_dir
        .join(TARGET)
        .join(PROFILE)
        .join("sigward_component.wasm");
    let module = std::fs::read(&module_path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", module_path.display()));
    let module = std::fs::read(measured(name, &module)).unwrap_or_default();
    let component = wit_component::ComponentEncoder::default()
        .module(&module)
        .and_then(|encoder| encoder.validate(true).encode())
        .unwrap_or_else(|e| panic!("encoding the guest component: {e:#}"));
    let out = PathBuf::from(env::var_os("OUT_DIR").unwrap_or_default())
        .join(format!("sigward-{name}.wasm"));
    std::fs::write(&out, component).unwrap_or_else(|e| panic!("writing {}: {e}", out.display()));
    out
}
