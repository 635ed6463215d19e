//! `sigward pin [--check] --policy POLICY FILE...`: pins the images of
//! Kubernetes manifests before they are applied, for GitOps. Every image of
//! every workload is judged as the webhook judges it; each verified image
//! that names no digest is rewritten in place to `name:tag@sha256:…`, the
//! digest that verified, and nothing else in the file changes.
//!
//! `--check` writes nothing and fails when `pin` would change a file or
//! when an image is refused. Skipped and unmatched images are admitted
//! unverified: there is no verified digest to pin them to, so they are
//! reported but never fail the check.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use sigward_host::admission::manifests::{self, FileSite, Place};
use sigward_host::admission::workload::pinned;
use sigward_host::decide::Answer;

use super::judging::{Sources, judge_all};
use super::{Exit, fail, read_input, runtime};

#[derive(clap::Args)]
pub struct Args {
    /// The policy file (a Talos ImageVerificationConfig, YAML or JSON).
    #[arg(long)]
    policy: PathBuf,
    #[command(flatten)]
    sources: Sources,
    /// Change nothing; exit 1 if an image would be pinned or is refused.
    #[arg(long)]
    check: bool,
    /// Manifest files: YAML (multi-document) or JSON.
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

/// One manifest file and the images in it.
struct File {
    path: PathBuf,
    text: String,
    sites: Vec<FileSite>,
}

fn read(path: &Path) -> Result<File, String> {
    let bytes = read_input(path)?;
    let text = String::from_utf8(bytes).map_err(|_| format!("{}: not UTF-8", path.display()))?;
    let sites = manifests::images(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(File {
        path: path.to_owned(),
        text,
        sites,
    })
}

/// Writes `text` over `path` through a file beside it, so that a reader
/// never sees half of it.
fn replace(path: &Path, text: &str) -> Result<(), String> {
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".sigward-pin");
    let temporary = PathBuf::from(temporary);
    std::fs::write(&temporary, text)
        .and_then(|()| {
            if let Ok(meta) = std::fs::metadata(path) {
                std::fs::set_permissions(&temporary, meta.permissions())?;
            }
            std::fs::rename(&temporary, path)
        })
        .map_err(|e| format!("{}: {e}", path.display()))
}

pub fn run(args: &Args) -> Exit {
    let mut files = Vec::with_capacity(args.files.len());
    for path in &args.files {
        match read(path) {
            Ok(file) => files.push(file),
            Err(e) => return fail(e),
        }
    }
    let runtime = match runtime() {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    let mut distinct: Vec<&str> = files
        .iter()
        .flat_map(|f| f.sites.iter().map(|s| s.site.image.as_str()))
        .collect();
    distinct.sort_unstable();
    distinct.dedup();
    let answers = match judge_all(&runtime, &args.policy, &args.sources, &distinct) {
        Ok(answers) => answers,
        Err(exit) => return exit,
    };
    let answers: BTreeMap<&str, &Answer> = distinct.iter().copied().zip(&answers).collect();

    let (mut refused, mut changed, mut invalid) = (0, 0, false);
    for file in &files {
        let mut edits: Vec<(Place, &str, String)> = Vec::new();
        for site in &file.sites {
            let image = site.site.image.as_str();
            let line = site.place.map_or(0, |p| p.line);
            let at = format!(
                "{}:{line}  {} {} {:?}",
                file.path.display(),
                site.object,
                site.site.list,
                site.site.container
            );
            let Some(answer) = answers.get(image) else {
                continue;
            };
            match &answer.decision {
                Err(e) => {
                    refused += 1;
                    println!("REFUSED     {at}  {image}  {e}");
                }
                Ok(d) if !d.allowed => {
                    refused += 1;
                    let rule = d
                        .rule
                        .map_or_else(|| "-".to_owned(), |r| format!("({r:04})"));
                    println!("REFUSED     {at}  {image}  rule {rule}: {}", d.message);
                }
                Ok(d) => match answer
                    .verified_digest
                    .as_deref()
                    .and_then(|dg| pinned(image, dg))
                {
                    Some(new) => match site.place {
                        Some(place) => {
                            let verb = if args.check { "UNPINNED" } else { "PINNED" };
                            println!("{verb:<10}  {at}  {image} -> {new}");
                            edits.push((place, image, new));
                        }
                        None => {
                            invalid = true;
                            println!("UNWRITABLE  {at}  {image}: its place in the file is unknown");
                        }
                    },
                    None if d.verified => println!("OK          {at}  {image}  already pinned"),
                    None => println!("UNVERIFIED  {at}  {image}  {}", d.message),
                },
            }
        }
        if edits.is_empty() {
            continue;
        }
        changed += 1;
        if args.check {
            continue;
        }
        let borrowed: Vec<(Place, &str, &str)> = edits
            .iter()
            .map(|(place, old, new)| (*place, *old, new.as_str()))
            .collect();
        let result = manifests::rewrite(&file.text, &borrowed)
            .map_err(|e| format!("{}: cannot pin in place: {}", file.path.display(), e.0))
            .and_then(|text| replace(&file.path, &text));
        if let Err(e) = result {
            invalid = true;
            eprintln!("sigward: {e}");
        }
    }
    if invalid {
        Exit::Invalid
    } else if refused > 0 || (args.check && changed > 0) {
        if args.check && changed > 0 {
            eprintln!("sigward: {changed} file(s) have images to pin");
        }
        Exit::Refused
    } else {
        Exit::Ok
    }
}
