//! `sigward`: decide whether container images may run, from a Talos
//! `ImageVerificationConfig` policy. Every decision is made inside the wasm
//! component; this binary only reads files and prints.
#![forbid(unsafe_code)]

mod cli;

use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

#[derive(Parser)]
#[command(
    name = "sigward",
    version,
    about = "Container image admission by signature policy, decided in a wasm sandbox"
)]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Load and validate a policy; print every error and warning.
    ///
    /// Exit 0 when the policy is valid (warnings or not), 2 when it is invalid.
    Check {
        /// The policy file (a Talos ImageVerificationConfig, YAML or JSON).
        policy: std::path::PathBuf,
    },
    /// Show which rule matches each image and what it would do. Fetches nothing.
    ///
    /// Exit 0, or 2 when the policy or an image reference is invalid.
    Match {
        /// The policy file (a Talos ImageVerificationConfig, YAML or JSON).
        #[arg(long)]
        policy: std::path::PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Output::Text)]
        output: Output,
        /// Image references, such as `nginx:1.27` or `ghcr.io/org/app@sha256:...`.
        #[arg(required = true)]
        images: Vec<String>,
    },
    /// Decide on images as Talos does at pull time: match, resolve the tag to
    /// a digest, find the signatures (OCI referrers, the bundle tag, the
    /// legacy .sig tag) in the registry or an OCI layout, and verify them.
    ///
    /// Exit 0 when every image is allowed, 1 when any is refused, 2 on a
    /// usage, policy or input error.
    Verify(cli::verify::Args),
    /// Verify one Sigstore bundle over a file or a digest (the
    /// sigstore-conformance client protocol). Exit 0 only when it verifies.
    ///
    /// The trusted root comes from --trusted-root, else $SIGWARD_TRUSTED_ROOT,
    /// else $XDG_CONFIG_HOME/sigward/trusted_root.json (~/.config/sigward/...).
    VerifyBundle(cli::verify_bundle::Args),
    /// Pin the images of Kubernetes manifests to the digests that verify,
    /// in place, before they are applied (GitOps). Judges every image of
    /// Pods and pod templates as the webhook does.
    ///
    /// Exit 0 when nothing is refused (with --check: and nothing is left to
    /// pin), 1 when an image is refused (or, with --check, would be
    /// pinned), 2 on a usage, policy or input error.
    Pin(cli::pin::Args),
    /// Run the Kubernetes admission webhook: `POST /validate` admits or
    /// refuses Pods and workloads by their images; `POST /mutate` also pins
    /// each verified image to its digest. HTTPS only.
    Serve(cli::serve::Args),
    /// Print the packages of an image's SBOM: an SPDX or CycloneDX
    /// attestation, verified for the signer of the rule the image matches.
    ///
    /// Exit 0 with the packages, 1 when no SBOM verifies (and why), 2 on a
    /// usage, policy or input error.
    Sbom(cli::sbom::SbomArgs),
    /// List the packages of each image's verified SBOM that OSV advisories
    /// affect, with the advisory and the fixed version.
    ///
    /// With IMAGE arguments, those images (their SBOMs verified now, the
    /// advisories read from --advisories). Without, every image of the
    /// inventory store (--db) against its advisories.
    ///
    /// With images: exit 0 when none is affected, 1 when one is (or has no
    /// verified SBOM). From the store: exit 0, or 1 with --fail-on LEVEL when
    /// a finding is at least that severe. 2 on a usage, policy, input or
    /// store error.
    Affected(cli::sbom::AffectedArgs),
    /// The inventory store: images verified and admitted, where they run,
    /// and the packages of their verified SBOMs.
    #[command(subcommand)]
    Inventory(cli::inventory::Command),
    /// OSV advisories in the inventory store.
    #[command(subcommand)]
    Advisories(Advisories),
    /// Keep Sigstore's trusted root current with TUF, verified in the
    /// component, and carry it across an air gap.
    #[command(subcommand)]
    Trust(cli::trust::Command),
    /// A TUF client under the tuf-conformance suite's protocol
    /// (init, refresh, download). Exit 0 on success, 1 on failure.
    Tuf(cli::tuf::Args),
    /// Describe the embedded components, fast (wasm's wide-arithmetic
    /// proposal, for wasmtime) and portable (plain wasm, for V8 and other
    /// hosts): size, imports, the proposals each needs, where the running
    /// code came from; and the Kubewarden policy (a waPC module). Optionally
    /// write one out for hosts in other languages or for kwctl, or the fast
    /// one compiled for this machine.
    Component {
        /// Write the component's bytes to this file.
        #[arg(long)]
        write: Option<std::path::PathBuf>,
        /// With --write: the portable component rather than the fast one.
        #[arg(long, requires = "write", conflicts_with = "kubewarden")]
        portable: bool,
        /// With --write: the Kubewarden policy, a waPC module.
        #[arg(long, requires = "write")]
        kubewarden: bool,
        /// Compile the fast component for this machine into this file, which
        /// processes load instead of compiling when it is the executable's
        /// `sigward.cwasm` (or `$SIGWARD_PRECOMPILED`).
        #[arg(long, conflicts_with = "write")]
        precompile: Option<std::path::PathBuf>,
    },
}

#[derive(Subcommand)]
enum Advisories {
    /// Import OSV records (files, directories, osv.dev's `all.zip`
    /// archives), incrementally by `modified`, in one transaction.
    ///
    /// Exit 0 when every record was imported or unchanged, 1 when some were
    /// malformed (reported and skipped), 2 when nothing was imported.
    Import(cli::inventory::ImportArgs),
}

/// How results are printed.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// Aligned columns, for people.
    Text,
    /// One JSON object per line, per image.
    Json,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let code = match args.command {
        Command::Check { policy } => cli::check::run(&policy),
        Command::Match {
            policy,
            output,
            images,
        } => cli::matching::run(&policy, output, &images),
        Command::Component {
            write,
            portable,
            kubewarden,
            precompile,
        } => {
            let which = match (portable, kubewarden) {
                (true, _) => cli::component::Which::Portable,
                (_, true) => cli::component::Which::Kubewarden,
                _ => cli::component::Which::Fast,
            };
            cli::component::run(which, write.as_deref(), precompile.as_deref())
        }
        Command::Verify(args) => cli::verify::run(&args),
        Command::VerifyBundle(args) => cli::verify_bundle::run(&args),
        Command::Serve(args) => cli::serve::run(&args),
        Command::Pin(args) => cli::pin::run(&args),
        Command::Trust(command) => cli::trust::run(&command),
        Command::Sbom(args) => cli::sbom::sbom(&args),
        Command::Affected(args) => cli::sbom::affected(&args),
        Command::Tuf(args) => cli::tuf::run(&args),
        Command::Inventory(command) => cli::inventory::run(&command),
        Command::Advisories(Advisories::Import(args)) => cli::inventory::import(&args),
    };
    ExitCode::from(code as u8)
}
