//! `sigward trust`: keeps Sigstore's `trusted_root.json` current with TUF,
//! every check made in the component, and carries it across an air gap.
//!
//! The cache of a repository is `$XDG_CACHE_HOME/sigward/tuf/<name>`
//! (`~/.cache/...`): `metadata/` (the trusted `root.json`, `timestamp.json`,
//! `snapshot.json`, `targets.json`), `root_history/<version>.root.json`
//! (every root taken, for export) and `targets/trusted_root.json`. `<name>`
//! is the host of an HTTP(S) repository; a directory is a mirror of the
//! public-good repository and shares its cache.

use std::path::{Path, PathBuf};
use std::time::Instant;

use sigward_host::Runtime;
use sigward_host::tuf::{TargetInfo, UpdateError, Updater, now, repository, write_atomically};

use super::{Exit, fail, runtime};

/// Sigstore's public-good TUF repository.
pub const DEFAULT_REPOSITORY: &str = "https://tuf-repo-cdn.sigstore.dev";
/// The target that holds the trusted root.
const TRUSTED_ROOT: &str = "trusted_root.json";
/// The public-good repository's root, version 15, as the other Sigstore
/// clients embed theirs: where trust starts when the cache has none. Newer
/// roots are taken from the repository, each signed by the one before.
const EMBEDDED_ROOT: &[u8] = include_bytes!("../tuf/sigstore-root.json");

#[derive(clap::Subcommand)]
pub enum Command {
    /// Update the cached TUF metadata from the repository (root rotation,
    /// timestamp, snapshot, targets, every check of the specification), then
    /// download `trusted_root.json` and check it against the targets
    /// metadata. Exit 0 when the cache is current, 1 when the repository's
    /// metadata is refused, 2 on a usage or I/O error.
    Update(UpdateArgs),
    /// Write the cached metadata and trusted root, checked current, as a
    /// static TUF repository in DIR, to carry across an air gap; on the
    /// other side, `sigward trust update --repository DIR`.
    Export {
        /// The directory to write (created if needed).
        dir: PathBuf,
        #[command(flatten)]
        cache: CacheArgs,
    },
    /// Show the cached trusted root, checked offline, and until when it is current.
    Status(CacheArgs),
}

#[derive(clap::Args)]
pub struct CacheArgs {
    /// The TUF repository: an HTTP(S) URL (metadata at its top, targets
    /// under `targets/`), or a directory or `file://` URL laid out the same.
    #[arg(long, default_value = DEFAULT_REPOSITORY)]
    repository: String,
    /// The cache directory (default: `$XDG_CACHE_HOME/sigward/tuf/<name>`).
    #[arg(long)]
    cache: Option<PathBuf>,
}

#[derive(clap::Args)]
pub struct UpdateArgs {
    #[command(flatten)]
    cache: CacheArgs,
    /// The root to start trusting when the cache has none (default: the
    /// embedded public-good root, for the public-good repository and its
    /// mirrors). Ignored when the cache has a root.
    #[arg(long)]
    root: Option<PathBuf>,
}

pub fn run(command: &Command) -> Exit {
    let runtime = match runtime() {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    let result = match command {
        Command::Update(args) => update(&runtime, args),
        Command::Export { dir, cache } => export(&runtime, cache, dir),
        Command::Status(cache) => status(&runtime, cache),
    };
    match result {
        Ok(()) => Exit::Ok,
        Err(Failure::Refused(e)) => {
            eprintln!("sigward trust: {e}");
            Exit::Refused
        }
        Err(Failure::Invalid(e)) => fail(e),
    }
}

/// How a `trust` command fails: refused metadata (exit 1), or anything else (2).
pub enum Failure {
    Refused(String),
    Invalid(String),
}

impl From<UpdateError> for Failure {
    fn from(e: UpdateError) -> Self {
        match e {
            UpdateError::Refused(_) => Self::Refused(e.to_string()),
            _ => Self::Invalid(e.to_string()),
        }
    }
}

/// A repository's cache directories.
pub struct Cache {
    pub dir: PathBuf,
}

impl Cache {
    fn for_args(args: &CacheArgs) -> Result<Self, String> {
        match &args.cache {
            Some(dir) => Ok(Self { dir: dir.clone() }),
            None => Self::default_for(&args.repository),
        }
    }

    /// The default cache of `repository`.
    pub fn default_for(repository: &str) -> Result<Self, String> {
        let name = repository
            .strip_prefix("https://")
            .or_else(|| repository.strip_prefix("http://"))
            .and_then(|rest| rest.split('/').next())
            .filter(|host| !host.is_empty())
            .unwrap_or_else(|| host_of(DEFAULT_REPOSITORY));
        let var = |name| {
            std::env::var_os(name)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        let base = var("XDG_CACHE_HOME")
            .or_else(|| var("HOME").map(|h| h.join(".cache")))
            .ok_or("neither XDG_CACHE_HOME nor HOME is set: pass --cache DIR")?;
        // A host name, with a port's `:` made safe for a file name.
        let name: String = name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        Ok(Self {
            dir: base.join("sigward").join("tuf").join(name),
        })
    }

    /// Whether `sigward trust update` has put a root here.
    pub fn has_root(&self) -> bool {
        self.metadata().join("root.json").is_file()
    }

    fn metadata(&self) -> PathBuf {
        self.dir.join("metadata")
    }

    fn root_history(&self) -> PathBuf {
        self.dir.join("root_history")
    }

    fn targets(&self) -> PathBuf {
        self.dir.join("targets")
    }
}

fn host_of(url: &str) -> &str {
    url.split("://")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .unwrap_or(url)
}

fn update(runtime: &Runtime, args: &UpdateArgs) -> Result<(), Failure> {
    let started = Instant::now();
    let cache = Cache::for_args(&args.cache).map_err(Failure::Invalid)?;
    let root_file = cache.metadata().join("root.json");
    if !root_file.exists() {
        let initial = match &args.root {
            Some(path) => std::fs::read(path)
                .map_err(|e| Failure::Invalid(format!("{}: {e}", path.display())))?,
            None if args.cache.repository.starts_with("http")
                && args.cache.repository.trim_end_matches('/') != DEFAULT_REPOSITORY =>
            {
                return Err(Failure::Invalid(format!(
                    "the cache {} has no root for {}: pass --root FILE, the root to start trusting",
                    cache.dir.display(),
                    args.cache.repository
                )));
            }
            None => EMBEDDED_ROOT.to_vec(),
        };
        write_atomically(&root_file, &initial)?;
        println!(
            "sigward trust: starting from {}",
            match &args.root {
                Some(path) => path.display().to_string(),
                None => "the embedded public-good root (version 15)".to_owned(),
            }
        );
    }
    let (file, expires) = update_cache(runtime, &cache, &args.cache.repository)?;
    println!(
        "sigward trust: {} updated from {} in {} ms",
        file.display(),
        args.cache.repository,
        started.elapsed().as_millis()
    );
    print_current(&cache, expires);
    Ok(())
}

/// Updates a cache that has a root from `repository`, and downloads the
/// trusted root into it. Returns its file and the metadata's expiry.
pub fn update_cache(
    runtime: &Runtime,
    cache: &Cache,
    repository: &str,
) -> Result<(PathBuf, Option<i64>), Failure> {
    let mut repository = repository::open(repository, None).map_err(Failure::Invalid)?;
    let mut updater = Updater::new(runtime, now(), &cache.metadata(), Some(repository.as_mut()))?;
    updater.keep_root_history(&cache.root_history());
    let info = updater.find_target(TRUSTED_ROOT)?;
    let file = updater.download(&info, &cache.targets())?;
    Ok((file, updater.expires()?))
}

fn print_current(cache: &Cache, expires: Option<i64>) {
    let root = std::fs::read(cache.metadata().join("root.json")).ok();
    let version = root
        .as_deref()
        .and_then(sigward_host::tuf::signed_version)
        .map_or_else(|| "?".to_owned(), |v| v.to_string());
    println!(
        "sigward trust: root version {version}; metadata current until {}",
        expires.map_or_else(|| "-".to_owned(), rfc3339)
    );
}

/// Checks the cache offline: every file present, verified, and current.
/// Returns the trusted root's target info and the metadata's expiry.
pub fn check_offline(
    runtime: &Runtime,
    cache: &Cache,
) -> Result<(TargetInfo, PathBuf, Option<i64>), UpdateError> {
    let mut updater = Updater::new(runtime, now(), &cache.metadata(), None)?;
    let info = updater.find_target(TRUSTED_ROOT)?;
    let file = updater.download(&info, &cache.targets())?;
    let expires = updater.expires()?;
    Ok((info, file, expires))
}

fn status(runtime: &Runtime, args: &CacheArgs) -> Result<(), Failure> {
    let cache = Cache::for_args(args).map_err(Failure::Invalid)?;
    let (_, file, expires) = check_offline(runtime, &cache)?;
    println!("sigward trust: {}", file.display());
    print_current(&cache, expires);
    Ok(())
}

fn export(runtime: &Runtime, args: &CacheArgs, dir: &Path) -> Result<(), Failure> {
    let cache = Cache::for_args(args).map_err(Failure::Invalid)?;
    let (info, file, expires) = check_offline(runtime, &cache)?;
    let io = |path: &Path| {
        let path = path.to_owned();
        move |e: std::io::Error| Failure::Invalid(format!("{}: {e}", path.display()))
    };
    let copy = |from: &Path, to: &Path| -> Result<(), Failure> {
        let body = std::fs::read(from).map_err(io(from))?;
        write_atomically(to, &body).map_err(Failure::from)
    };
    // Every root kept, by version, so that a client on any of them can
    // rotate up; the current one too, in case the history began with it.
    let mut roots = 0;
    if let Ok(entries) = std::fs::read_dir(cache.root_history()) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.ends_with(".root.json") {
                copy(&entry.path(), &dir.join(&name))?;
                roots += 1;
            }
        }
    }
    let metadata = cache.metadata();
    let entries = std::fs::read_dir(&metadata).map_err(io(&metadata))?;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.ends_with(".json") || name.starts_with('.') {
            continue;
        }
        let body = std::fs::read(entry.path()).map_err(io(&entry.path()))?;
        let version = sigward_host::tuf::signed_version(&body).unwrap_or(0);
        // Both names: versioned for consistent snapshots, plain otherwise.
        // The timestamp is only ever fetched by its plain name.
        if name == "root.json" {
            write_atomically(&dir.join(format!("{version}.root.json")), &body)?;
        } else {
            if name != "timestamp.json" {
                write_atomically(&dir.join(format!("{version}.{name}")), &body)?;
            }
            write_atomically(&dir.join(&name), &body)?;
        }
    }
    let body = std::fs::read(&file).map_err(io(&file))?;
    write_atomically(&dir.join("targets").join(&info.remote_path), &body)?;
    write_atomically(&dir.join("targets").join(&info.local_name), &body)?;
    println!(
        "sigward trust: exported to {} (root versions: {}, and {}); on the other side: \
         sigward trust update --repository {}",
        dir.display(),
        roots.max(1),
        TRUSTED_ROOT,
        dir.display()
    );
    print_current(&cache, expires);
    Ok(())
}

/// Seconds since the epoch as an RFC 3339 UTC time.
pub fn rfc3339(seconds: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(seconds)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| format!("{seconds} s after the epoch"))
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Refused(e) | Self::Invalid(e) => f.write_str(e),
        }
    }
}
