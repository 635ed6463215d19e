//! `sigward verify-bundle`: the sigstore-conformance client protocol.
//!
//! ```text
//! sigward verify-bundle --bundle FILE --certificate-identity ID --certificate-oidc-issuer URL [--trusted-root FILE] FILE_OR_DIGEST
//! sigward verify-bundle --bundle FILE --key PATH [--trusted-root FILE] FILE_OR_DIGEST
//! ```

use std::path::{Path, PathBuf};

use sigward_host::runtime::{Artifact, BundleOutcome, KeylessIdentity, Signer};

use super::{Exit, Line, fail, read_input, runtime, trusted_root_path};

#[derive(clap::Args)]
pub struct Args {
    /// The Sigstore bundle (JSON).
    #[arg(long)]
    bundle: PathBuf,
    /// The signer's identity (certificate SAN), compared exactly.
    #[arg(long, requires = "certificate_oidc_issuer", conflicts_with = "key")]
    certificate_identity: Option<String>,
    /// The signer's OIDC issuer, compared exactly.
    #[arg(long, requires = "certificate_identity")]
    certificate_oidc_issuer: Option<String>,
    /// A PEM public key that signed the bundle.
    #[arg(long, required_unless_present = "certificate_identity")]
    key: Option<PathBuf>,
    /// The trusted_root.json to verify against (else $SIGWARD_TRUSTED_ROOT,
    /// else $XDG_CONFIG_HOME/sigward/trusted_root.json, else the TUF
    /// cache that `sigward trust update` keeps).
    #[arg(long)]
    trusted_root: Option<PathBuf>,
    /// Never update the TUF cache over the network: a trusted root from it
    /// must be current, or the command fails saying so.
    #[arg(long)]
    offline: bool,
    /// The artifact: a file, or `sha256:<hex>` when no such file exists.
    file_or_digest: String,
}

pub fn run(args: &Args) -> Exit {
    match prepare(args) {
        Ok((root, bundle, artifact, signer)) => verify(&root, &bundle, &artifact, &signer),
        Err(message) => fail(message),
    }
}

fn prepare(args: &Args) -> Result<(Vec<u8>, Vec<u8>, Artifact, Signer), String> {
    let root_path = trusted_root_path(args.trusted_root.as_deref(), args.offline)?;
    let root = read_input(&root_path)?;
    let bundle = read_input(&args.bundle)?;
    let artifact = artifact(&args.file_or_digest)?;
    let signer = match (
        &args.key,
        &args.certificate_identity,
        &args.certificate_oidc_issuer,
    ) {
        (Some(key), _, _) => {
            let pem = String::from_utf8(read_input(key)?)
                .map_err(|_| format!("{}: not a PEM file", key.display()))?;
            Signer::PublicKey(pem)
        }
        (None, Some(identity), Some(issuer)) => Signer::Keyless(KeylessIdentity {
            issuer: issuer.clone(),
            subject: Some(identity.clone()),
            subject_regex: None,
        }),
        _ => {
            return Err(
                "give --key, or --certificate-identity with --certificate-oidc-issuer".to_owned(),
            );
        }
    };
    Ok((root, bundle, artifact, signer))
}

fn verify(root: &[u8], bundle: &[u8], artifact: &Artifact, signer: &Signer) -> Exit {
    let runtime = match runtime() {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    match runtime.verify_bundle(root, bundle, artifact, signer) {
        Err(e) => {
            eprintln!("sigward: refused: {e}");
            Exit::Refused
        }
        Ok(BundleOutcome::InvalidRoot(errors)) => {
            eprintln!("sigward: invalid trusted root:");
            for error in &errors {
                eprintln!("  error: {}", Line(error));
            }
            Exit::Invalid
        }
        Ok(BundleOutcome::Failed(failure)) => {
            for check in &failure.trace {
                eprintln!("  passed {}: {}", check.name, check.detail);
            }
            eprintln!(
                "sigward: verification failed: {}: {}",
                failure.check, failure.message
            );
            Exit::Refused
        }
        Ok(BundleOutcome::Verified(trace)) => {
            for check in &trace {
                println!("passed {}: {}", check.name, check.detail);
            }
            println!("OK: the bundle verified");
            Exit::Ok
        }
    }
}

/// `FILE_OR_DIGEST`: a path if one exists, else `sha256:<hex>` or `sha512:<hex>`.
fn artifact(arg: &str) -> Result<Artifact, String> {
    let path = Path::new(arg);
    if path.exists() {
        return read_input(path).map(Artifact::Bytes);
    }
    // The component checks the digits.
    match (arg.strip_prefix("sha256:"), arg.strip_prefix("sha512:")) {
        (Some(hex), _) => Ok(Artifact::Sha256(hex.to_owned())),
        (_, Some(hex)) => Ok(Artifact::Sha512(hex.to_owned())),
        _ => Err(format!(
            "{arg}: no such file, and not a sha256:<hex> or sha512:<hex> digest"
        )),
    }
}
