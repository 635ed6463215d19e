//! `sigward sbom --policy POLICY [sources] IMAGE` and
//! `sigward affected --policy POLICY --advisories FILE_OR_DIR [sources] IMAGE...`:
//! an image's packages from its verified SBOM attestation, and those that
//! OSV advisories affect. The component verifies the SBOM (for the signer
//! of the rule the image matches) and matches the advisories.

use std::path::{Path, PathBuf};

use serde_json::json;
use sigward_host::PolicySession;
use sigward_host::decide::attestations_of;
use sigward_host::runtime::{Finding, SbomPackage};

use super::judging::{Lazy, Sources, policy_session};
use super::{Exit, fail, read_input, runtime};
use crate::Output;
use sigward_host::decide::Inputs as _;

#[derive(clap::Args)]
pub struct SbomArgs {
    /// The policy whose matching rule names the SBOM's signer.
    #[arg(long)]
    policy: PathBuf,
    #[command(flatten)]
    sources: Sources,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Output::Text)]
    output: Output,
    /// The image, by tag or digest.
    image: String,
}

#[derive(clap::Args)]
pub struct AffectedArgs {
    /// With images: the policy whose matching rules name the SBOMs' signers.
    #[arg(long)]
    policy: Option<PathBuf>,
    /// With images: an OSV advisory (JSON), or a directory of them.
    #[arg(long)]
    advisories: Option<PathBuf>,
    #[command(flatten)]
    sources: Sources,
    #[command(flatten)]
    pub store: super::affected::StoreQuery,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Output::Text)]
    output: Output,
    /// Images, by tag or digest; none asks the inventory store.
    images: Vec<String>,
}

/// `sigward sbom`: exit 0 with the packages, 1 when no SBOM verifies, 2 on
/// a usage, policy or input error.
pub fn sbom(args: &SbomArgs) -> Exit {
    let mut session = match session(&args.policy) {
        Ok(s) => s,
        Err(exit) => return exit,
    };
    let mut inputs = Lazy::new(&args.sources);
    let found = match attestations_of(&mut session, &mut inputs, &args.image) {
        Ok(found) => found,
        Err(e) => return refused(&args.image, &e),
    };
    let root = match inputs.root(&mut session) {
        Ok(root) => root,
        Err(e) => return fail(e),
    };
    let sbom = match session.sbom(
        &found.digested,
        &found.found,
        root,
        sigward_host::tuf::now(),
    ) {
        Ok(Ok(sbom)) => sbom,
        Ok(Err(reason)) => return refused(&args.image, &reason),
        Err(e) => return fail(e),
    };
    match args.output {
        Output::Json => println!(
            "{}",
            json!({
                "image": args.image,
                "digest_ref": found.digested,
                "predicate_type": sbom.predicate_type,
                "packages": sbom.packages.iter().map(package_json).collect::<Vec<_>>(),
            })
        ),
        Output::Text => {
            println!(
                "{}  {} package(s) from a verified {} attestation",
                found.digested,
                sbom.packages.len(),
                sbom.predicate_type
            );
            for p in &sbom.packages {
                println!(
                    "  {:<24} {:<20} {}",
                    p.name,
                    p.version,
                    p.purl.as_deref().unwrap_or("-")
                );
            }
        }
    }
    Exit::Ok
}

/// The policy loaded into the component.
fn session(policy: &Path) -> Result<Box<PolicySession>, Exit> {
    let runtime = runtime().map_err(fail)?;
    policy_session(&runtime, policy)
}

fn refused(image: &str, reason: &str) -> Exit {
    println!("NO SBOM  {image}  {reason}");
    Exit::Refused
}

fn package_json(p: &SbomPackage) -> serde_json::Value {
    json!({"name": p.name, "version": p.version, "purl": p.purl})
}

/// `sigward affected`: exit 0 when no image has an affected package, 1 when
/// one has or has no verified SBOM, 2 on a usage, policy or input error.
pub fn affected(args: &AffectedArgs) -> Exit {
    if args.images.is_empty() {
        return super::affected::run(&args.store, args.output);
    }
    let (Some(policy), Some(advisories)) = (&args.policy, &args.advisories) else {
        return fail("images are judged under --policy against --advisories: give both");
    };
    if args.store.is_set() {
        return fail(
            "--db, --advisory, --severity, --since and --fail-on ask the inventory store: give them without images",
        );
    }
    let advisories = match read_advisories(advisories) {
        Ok(list) => list,
        Err(e) => return fail(e),
    };
    let mut session = match session(policy) {
        Ok(s) => s,
        Err(exit) => return exit,
    };
    let mut inputs = Lazy::new(&args.sources);
    let mut exit = Exit::Ok;
    for image in &args.images {
        let answer = attestations_of(&mut session, &mut inputs, image).and_then(|found| {
            let root = inputs.root(&mut session)?;
            session
                .affected(
                    &found.digested,
                    &found.found,
                    root,
                    sigward_host::tuf::now(),
                    &advisories,
                )
                .map_err(|e| e.to_string())?
                .map(|findings| (found.digested, findings))
        });
        match answer {
            Ok((digested, findings)) => {
                if !findings.is_empty() {
                    exit = Exit::Refused;
                }
                print_findings(args.output, image, &digested, &findings);
            }
            Err(reason) => {
                exit = Exit::Refused;
                match args.output {
                    Output::Json => println!("{}", json!({"image": image, "error": reason})),
                    Output::Text => println!("NO SBOM  {image}  {reason}"),
                }
            }
        }
    }
    exit
}

fn print_findings(output: Output, image: &str, digested: &str, findings: &[Finding]) {
    match output {
        Output::Json => println!(
            "{}",
            json!({
                "image": image,
                "digest_ref": digested,
                "affected": findings.iter().map(|f| json!({
                    "package": package_json(&f.package),
                    "advisory": f.advisory,
                    "fixed": f.fixed,
                })).collect::<Vec<_>>(),
                "error": null,
            })
        ),
        Output::Text if findings.is_empty() => {
            println!("CLEAN    {image}  no package of its verified SBOM is affected")
        }
        Output::Text => {
            println!("AFFECTED {image}  {} finding(s)", findings.len());
            for f in findings {
                println!(
                    "  {:<20} {:<40} {}",
                    f.advisory,
                    f.package.purl.as_deref().unwrap_or(&f.package.name),
                    f.fixed
                        .as_deref()
                        .map_or_else(|| "no fix".to_owned(), |v| format!("fixed in {v}"))
                );
            }
        }
    }
}

/// Every `.json` file under `path` (or `path` itself), sorted by path.
fn read_advisories(path: &Path) -> Result<Vec<String>, String> {
    let mut files = Vec::new();
    let mut pending = vec![path.to_owned()];
    while let Some(p) = pending.pop() {
        if p.is_dir() {
            let entries = std::fs::read_dir(&p).map_err(|e| format!("{}: {e}", p.display()))?;
            for entry in entries {
                pending.push(entry.map_err(|e| format!("{}: {e}", p.display()))?.path());
            }
        } else if p == path || p.extension().is_some_and(|e| e == "json") {
            files.push(p);
        }
    }
    files.sort();
    files
        .iter()
        .map(|f| {
            let bytes = read_input(f)?;
            String::from_utf8(bytes).map_err(|_| format!("{}: not UTF-8", f.display()))
        })
        .collect()
}
