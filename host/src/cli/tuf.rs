//! `sigward tuf`: the TUF client under the tuf-conformance suite's CLI
//! protocol (`CLIENT-CLI.md`), over the same code as `sigward trust`.
//!
//! `sigward tuf --metadata-dir D init ROOT`, `... --metadata-url U refresh`,
//! `... --target-name T... --target-base-url U --target-dir D download`.
//! Exit 0 on success, 1 on any failure.

use std::path::PathBuf;

use sigward_host::tuf::{UpdateError, Updater, now, repository};

use super::{Exit, runtime};

#[derive(clap::Args)]
pub struct Args {
    /// The directory of trusted metadata (`root.json`, `timestamp.json`, ...).
    #[arg(long)]
    metadata_dir: PathBuf,
    /// The repository's metadata URL.
    #[arg(long)]
    metadata_url: Option<String>,
    /// A target path to download; repeat for several, processed in order.
    #[arg(long)]
    target_name: Vec<String>,
    /// The repository's targets URL.
    #[arg(long)]
    target_base_url: Option<String>,
    /// Where downloaded targets are stored.
    #[arg(long)]
    target_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand)]
enum Command {
    /// Trust this root: copy it into the metadata directory. No checks yet.
    Init { root: PathBuf },
    /// Bring the top-level metadata up to date.
    Refresh,
    /// Refresh, then download each --target-name into --target-dir.
    Download,
}

pub fn run(args: &Args) -> Exit {
    let result = match &args.command {
        Command::Init { root } => init(args, root),
        Command::Refresh => session(args, |_, _| Ok(())),
        Command::Download => session(args, download),
    };
    match result {
        Ok(()) => Exit::Ok,
        Err(message) => {
            eprintln!("sigward tuf: {message}");
            Exit::Refused
        }
    }
}

fn init(args: &Args, root: &std::path::Path) -> Result<(), String> {
    let bytes = std::fs::read(root).map_err(|e| format!("{}: {e}", root.display()))?;
    sigward_host::tuf::write_atomically(&args.metadata_dir.join("root.json"), &bytes)
        .map_err(|e| e.to_string())?;
    println!(
        "sigward tuf: trusting {} in {}",
        root.display(),
        args.metadata_dir.display()
    );
    Ok(())
}

/// Refreshes, then runs `then` in the same session.
fn session(
    args: &Args,
    then: impl FnOnce(&Args, &mut Updater<'_>) -> Result<(), UpdateError>,
) -> Result<(), String> {
    let url = args
        .metadata_url
        .as_deref()
        .ok_or("--metadata-url is required")?;
    let mut repository = repository::open(url, args.target_base_url.as_deref())?;
    let runtime = runtime().map_err(|e| e.to_string())?;
    let mut updater = Updater::new(
        &runtime,
        now(),
        &args.metadata_dir,
        Some(repository.as_mut()),
    )
    .map_err(|e| e.to_string())?;
    updater.refresh().map_err(|e| e.to_string())?;
    then(args, &mut updater).map_err(|e| e.to_string())
}

fn download(args: &Args, updater: &mut Updater<'_>) -> Result<(), UpdateError> {
    let dir = args
        .target_dir
        .as_deref()
        .ok_or_else(|| UpdateError::Store("--target-dir is required".into()))?;
    for name in &args.target_name {
        let info = updater.find_target(name)?;
        let file = updater.download(&info, dir)?;
        println!("sigward tuf: {name} in {}", file.display());
    }
    Ok(())
}
