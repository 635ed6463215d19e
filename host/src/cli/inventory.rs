//! `sigward inventory add|scan|status` and `sigward advisories import`: the
//! store of what was verified (see `sigward_host::inventory`).
//!
//! `add` judges each image as `verify` does; an admitted image is recorded,
//! and the packages of its verified SBOM attestation (verified by the
//! component for the matching rule's signer) are stored once per digest.
//! `scan` does the same for every tag a repository lists.

use std::path::PathBuf;

use sigward_host::decide::{Answer, attestations_of, decide};
use sigward_host::inventory::{Imported, Inventory, Place, Sighting};
use sigward_host::oci::Reference;
use sigward_host::{PolicySession, tuf};

use super::judging::{Lazy, Sources, policy_session};
use super::{Exit, fail, runtime};
use sigward_host::decide::Inputs as _;

/// `--db`: where the store is.
#[derive(clap::Args, Clone)]
pub struct Db {
    /// The inventory store: a SQLite file (a path or `sqlite://PATH`) or a
    /// `postgres://` URL. Default: $XDG_DATA_HOME/sigward/inventory.db.
    #[arg(long = "db")]
    pub url: Option<String>,
}

impl Db {
    pub fn open(&self) -> Result<Inventory, String> {
        let url = match &self.url {
            Some(url) => url.clone(),
            None => sigward_host::inventory::default_url()
                .ok_or("no --db, and neither $XDG_DATA_HOME nor $HOME is set")?,
        };
        Inventory::open(&url).map_err(|e| e.to_string())
    }
}

#[derive(clap::Subcommand)]
pub enum Command {
    /// Verify images under the policy and record those admitted, with the
    /// packages of their verified SBOMs.
    ///
    /// Exit 0 when every image was recorded, 1 when one was refused, 2 on a
    /// usage, policy, input or store error.
    Add(AddArgs),
    /// Verify and record every tag of each repository (OCI `tags/list`,
    /// paged; signature and attestation tags left out).
    ///
    /// Exit as `add`.
    Scan(AddArgs),
    /// Print how many images, digests, packages and advisories are stored.
    Status {
        #[command(flatten)]
        db: Db,
    },
    /// Update the store's statistics after bulk imports (PostgreSQL:
    /// VACUUM (ANALYZE), as autovacuum would; SQLite: ANALYZE).
    Maintain {
        #[command(flatten)]
        db: Db,
    },
}

#[derive(clap::Args)]
pub struct AddArgs {
    #[command(flatten)]
    db: Db,
    /// The policy the images are verified under.
    #[arg(long)]
    policy: PathBuf,
    #[command(flatten)]
    sources: Sources,
    /// The cluster to record the images as running in; none records them
    /// as shipped, not running.
    #[arg(long)]
    cluster: Option<String>,
    /// With --cluster: the namespace to record.
    #[arg(long, default_value = "default")]
    namespace: String,
    /// Images (`add`) or repositories (`scan`).
    #[arg(required = true)]
    targets: Vec<String>,
}

pub fn run(command: &Command) -> Exit {
    match command {
        Command::Add(args) => add(args, &args.targets),
        Command::Scan(args) => scan(args),
        Command::Status { db } => status(db),
        Command::Maintain { db } => match db
            .open()
            .and_then(|mut s| s.maintain().map_err(|e| e.to_string()))
        {
            Ok(()) => Exit::Ok,
            Err(e) => fail(e),
        },
    }
}

fn status(db: &Db) -> Exit {
    let counts = db
        .open()
        .and_then(|mut s| s.counts().map_err(|e| e.to_string()));
    match counts {
        Ok([images, digests, packages, advisories]) => {
            println!(
                "{images} image(s), {digests} digest(s), {packages} distinct package(s), {advisories} advisory(ies)"
            );
            Exit::Ok
        }
        Err(e) => fail(e),
    }
}

fn scan(args: &AddArgs) -> Exit {
    let mut lazy = Lazy::new(&args.sources);
    let mut images = Vec::new();
    for repository in &args.targets {
        let Ok(reference) = repository.parse::<Reference>() else {
            return fail(format!("{repository}: not a repository"));
        };
        let listed = lazy
            .store()
            .and_then(|s| s.tags(&reference).map_err(|e| e.to_string()));
        match listed {
            // `sha256-<hex>`, `.sig`, `.att`: signatures and attestations.
            Ok(tags) => images.extend(
                tags.into_iter()
                    .filter(|t| !t.starts_with("sha256-"))
                    .map(|t| format!("{}/{}:{t}", reference.registry(), reference.repository())),
            ),
            Err(e) => return fail(format!("{repository}: {e}")),
        }
    }
    println!("{} tag(s) listed", images.len());
    add(args, &images)
}

fn add(args: &AddArgs, images: &[String]) -> Exit {
    let mut store = match args.db.open() {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    let runtime = match runtime() {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    let mut session = match policy_session(&runtime, &args.policy) {
        Ok(s) => s,
        Err(exit) => return exit,
    };
    let mut lazy = Lazy::new(&args.sources);
    let place = args.cluster.as_ref().map(|cluster| Place {
        cluster: cluster.clone(),
        namespace: args.namespace.clone(),
        kind: "Image".into(),
        name: String::new(),
    });
    let mut exit = Exit::Ok;
    for image in images {
        if session.is_poisoned() {
            session = match policy_session(&runtime, &args.policy) {
                Ok(s) => s,
                Err(exit) => return exit,
            };
            lazy = Lazy::new(&args.sources);
        }
        let answer = match decide(&mut session, &mut lazy, image) {
            Ok(answer) => answer,
            Err(e) => return fail(e),
        };
        let now = tuf::now();
        let Some(sighting) = Sighting::of_answer(&answer, place.clone(), now) else {
            if answer.allowed() {
                println!(
                    "NOT RECORDED {image}  admitted by a rule that verifies nothing, named by tag: no digest to record"
                );
            } else {
                exit = Exit::Refused;
                println!("REFUSED  {image}  {}", reason(&answer));
            }
            continue;
        };
        if let Err(e) = store.record(std::slice::from_ref(&sighting)) {
            return fail(e);
        }
        let note = match sbom_of(&mut session, &mut lazy, &mut store, &sighting) {
            Ok(note) => note,
            Err(e) => return fail(e),
        };
        println!(
            "RECORDED {image}  {}@{}  {note}",
            sighting.repository, sighting.digest
        );
    }
    exit
}

/// Stores the packages of the image's verified SBOM unless they are
/// stored: what was done, in words.
fn sbom_of(
    session: &mut PolicySession,
    lazy: &mut Lazy<'_>,
    store: &mut Inventory,
    sighting: &Sighting,
) -> Result<String, String> {
    if sighting.rule.is_none() {
        return Ok("no rule matched: no SBOM looked for".into());
    }
    if store
        .has_sbom(&sighting.digest)
        .map_err(|e| e.to_string())?
    {
        return Ok("SBOM already stored".into());
    }
    let digested = format!("{}@{}", sighting.repository, sighting.digest);
    let found = match attestations_of(session, lazy, &digested) {
        Ok(found) => found,
        Err(reason) => return Ok(format!("no SBOM: {reason}")),
    };
    let root = lazy.root(session)?;
    match session
        .sbom(&found.digested, &found.found, root, tuf::now())
        .map_err(|e| e.to_string())?
    {
        Ok(sbom) => {
            let packages: Vec<sigward_core::sbom::Package> =
                sbom.packages.into_iter().map(Into::into).collect();
            store
                .store_sbom(
                    &sighting.digest,
                    &sbom.predicate_type,
                    &packages,
                    sighting.at,
                )
                .map_err(|e| e.to_string())?;
            Ok(format!(
                "{} package(s) from a verified SBOM",
                packages.len()
            ))
        }
        Err(reason) => Ok(format!("no SBOM: {reason}")),
    }
}

fn reason(answer: &Answer) -> String {
    match &answer.decision {
        Ok(d) => d.message.clone(),
        Err(e) => e.clone(),
    }
}

/// `sigward advisories import [--db URL] PATH...`
#[derive(clap::Args)]
pub struct ImportArgs {
    #[command(flatten)]
    db: Db,
    /// OSV records: JSON files, directories (read recursively), osv.dev's
    /// `all.zip` archives.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
}

/// Exit 0 when every record was read, 1 when some were malformed (and
/// skipped; the rest imported), 2 when nothing was imported.
pub fn import(args: &ImportArgs) -> Exit {
    let mut store = match args.db.open() {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    let started = std::time::Instant::now();
    match store.import(&args.paths, sigward_host::inventory::now_micros()) {
        Ok(done) => {
            report(&done, started.elapsed());
            if done.malformed.is_empty() {
                Exit::Ok
            } else {
                Exit::Refused
            }
        }
        Err(e) => fail(format!("{e}; nothing was imported")),
    }
}

fn report(done: &Imported, took: std::time::Duration) {
    for m in &done.malformed {
        println!("SKIPPED  {}: {}", m.source, m.reason);
    }
    println!(
        "imported in {:.2} s: {} added, {} updated ({} withdrawn), {} unchanged, {} malformed",
        took.as_secs_f64(),
        done.added,
        done.updated,
        done.withdrawn,
        done.unchanged,
        done.malformed.len()
    );
}
