//! `sigward-demo --out DIR [--registry HOST] [--push]`: writes the demo
//! world: an OCI layout of signed and unsigned images (`DIR/layout`), or
//! with `--push` the same images in the registry HOST itself, the policy
//! (`DIR/policy.yaml`), the trusted root of its private PKI
//! (`DIR/trusted_root.json`), the images to ask about (`DIR/images.txt`,
//! one per line, with what each shows) and OSV advisories against the
//! attested images' SBOMs (`DIR/advisories/`).
#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use sigward_host::oci::layout::Layout;
use sigward_host::oci::registry::{Options, Registry};

#[derive(Parser)]
#[command(
    name = "sigward-demo",
    about = "Write the offline demo's images, policy and trusted root"
)]
struct Args {
    /// Where to write the layout, policy, trusted root and image list.
    #[arg(long)]
    out: PathBuf,
    /// The registry name the images carry.
    #[arg(long, default_value = "registry.demo.test")]
    registry: String,
    /// Push the images to the registry named by --registry (plain HTTP if it
    /// is on loopback) instead of writing a layout.
    #[arg(long)]
    push: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match write(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sigward-demo: {e}");
            ExitCode::FAILURE
        }
    }
}

fn write(args: &Args) -> Result<(), String> {
    std::fs::create_dir_all(&args.out).map_err(|e| e.to_string())?;
    let world = if args.push {
        let mut registry = Registry::new(Options::default()).map_err(|e| e.to_string())?;
        sigward_demo::fill(&mut registry, &args.registry)
    } else {
        let layout_dir = args.out.join("layout");
        // A fresh layout each run: old tags must not linger.
        if layout_dir.exists() {
            std::fs::remove_dir_all(&layout_dir).map_err(|e| e.to_string())?;
        }
        let mut layout = Layout::create(&layout_dir).map_err(|e| e.to_string())?;
        sigward_demo::fill(&mut layout, &args.registry)
    }
    .map_err(|e| e.to_string())?;
    let write = |name: &str, bytes: &[u8]| {
        std::fs::write(args.out.join(name), bytes).map_err(|e| format!("{name}: {e}"))
    };
    write("policy.yaml", world.policy.as_bytes())?;
    write("trusted_root.json", &world.trusted_root)?;
    let list: String = world
        .cases
        .iter()
        .map(|c| format!("{}\t{}\n", c.image, c.about))
        .collect();
    write("images.txt", list.as_bytes())?;
    let dir = args.out.join("advisories");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    for (advisory, _) in sigward_demo::advisories() {
        let id = advisory["id"].as_str().unwrap_or("advisory");
        std::fs::write(dir.join(format!("{id}.json")), advisory.to_string())
            .map_err(|e| format!("{id}: {e}"))?;
    }
    Ok(())
}
