//! The host side of the TUF client: a local metadata store, a repository to
//! fetch from, and the loop that feeds the component's client ([`Session`])
//! what it asks for. The component makes every check and every choice; this
//! reads, fetches and writes files.

pub mod repository;
pub mod session;

use std::fmt;
use std::path::{Path, PathBuf};

use crate::{HostError, Runtime};
use repository::{Repository, Store, read_limited};
pub use session::{Session, Step, TargetInfo, TufError};

/// Why an update or a download did not complete.
#[derive(Debug)]
pub enum UpdateError {
    /// The component refused metadata or a target: which check, and why.
    Refused(TufError),
    /// The repository could not be read (not a missing file: a failure).
    Fetch(String),
    /// The local store could not be read or written.
    Store(String),
    Host(HostError),
}

impl fmt::Display for UpdateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Refused(e) => write!(f, "{}: {}", e.check, e.message),
            Self::Fetch(e) => write!(f, "fetching: {e}"),
            Self::Store(e) => write!(f, "local store: {e}"),
            Self::Host(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for UpdateError {}

impl From<HostError> for UpdateError {
    fn from(e: HostError) -> Self {
        Self::Host(e)
    }
}

/// The current time, in seconds since the Unix epoch: the only clock read
/// in a TUF session, passed to the component.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// One client session over a local metadata directory and a repository.
pub struct Updater<'r> {
    session: Session,
    metadata_dir: PathBuf,
    repository: Option<&'r mut dyn Repository>,
    /// Where every root taken is also kept as `<version>.root.json`.
    root_history: Option<PathBuf>,
}

impl<'r> Updater<'r> {
    /// A session at `now`. Without a repository, it works from the local
    /// store alone, which must be current (`--offline`).
    pub fn new(
        runtime: &Runtime,
        now: i64,
        metadata_dir: &Path,
        repository: Option<&'r mut dyn Repository>,
    ) -> Result<Self, UpdateError> {
        Ok(Self {
            session: Session::new(runtime, now, repository.is_none())?,
            metadata_dir: metadata_dir.to_owned(),
            repository,
            root_history: None,
        })
    }

    /// Keeps every root taken in `dir` too, by version, so that the store
    /// can be exported as a repository that older roots update from.
    pub fn keep_root_history(&mut self, dir: &Path) {
        self.root_history = Some(dir.to_owned());
    }

    /// Brings the top-level metadata up to date.
    pub fn refresh(&mut self) -> Result<(), UpdateError> {
        self.run(None).map(|_| ())
    }

    /// Refreshes, then finds `target` in the trusted metadata.
    pub fn find_target(&mut self, target: &str) -> Result<TargetInfo, UpdateError> {
        match self.run(Some(target))? {
            Some(info) => Ok(info),
            None => Err(UpdateError::Store(format!("{target}: no answer"))),
        }
    }

    /// When the trusted metadata stops being current (seconds since the epoch).
    pub fn expires(&mut self) -> Result<Option<i64>, UpdateError> {
        Ok(self.session.expires()?)
    }

    fn run(&mut self, target: Option<&str>) -> Result<Option<TargetInfo>, UpdateError> {
        loop {
            let request = match self.session.next(target)?.map_err(UpdateError::Refused)? {
                Step::Fetch(request) => request,
                Step::Ready => return Ok(None),
                Step::Found(info) => return Ok(Some(info)),
            };
            let body = match request.source {
                session::Source::Local => {
                    // A local file that cannot be read is as good as none.
                    read_limited(&self.metadata_dir.join(&request.path), request.max_length)
                        .ok()
                        .flatten()
                }
                session::Source::Remote => match self.repository.as_deref_mut() {
                    Some(repository) => repository
                        .fetch(Store::Metadata, &request.path, request.max_length)
                        .map_err(UpdateError::Fetch)?,
                    None => {
                        return Err(UpdateError::Fetch(format!(
                            "{} is needed from the repository, and this run is offline",
                            request.path
                        )));
                    }
                },
            };
            let keep = self
                .session
                .deliver(body.as_deref())?
                .map_err(UpdateError::Refused)?;
            if let (Some(name), Some(body)) = (keep, &body) {
                write_atomically(&self.metadata_dir.join(&name), body)?;
                if name == "root.json"
                    && let Some(dir) = &self.root_history
                {
                    let version = signed_version(body).unwrap_or(0);
                    write_atomically(&dir.join(format!("{version}.root.json")), body)?;
                }
            }
        }
    }

    /// Downloads a found target into `target_dir` (under its local name),
    /// unless a copy there already matches its length and hashes.
    pub fn download(
        &mut self,
        info: &TargetInfo,
        target_dir: &Path,
    ) -> Result<PathBuf, UpdateError> {
        let file = target_dir.join(&info.local_name);
        if let Ok(Some(cached)) = read_limited(&file, info.length)
            && self.session.check_target(&info.path, &cached)?.is_ok()
        {
            return Ok(file);
        }
        let Some(repository) = self.repository.as_deref_mut() else {
            return Err(UpdateError::Fetch(format!(
                "target {} is needed from the repository, and this run is offline",
                info.path
            )));
        };
        let body = repository
            .fetch(Store::Targets, &info.remote_path, info.length)
            .map_err(UpdateError::Fetch)?
            .ok_or_else(|| {
                UpdateError::Fetch(format!(
                    "target {} is not in {}",
                    info.remote_path,
                    repository.describe()
                ))
            })?;
        self.session
            .check_target(&info.path, &body)?
            .map_err(UpdateError::Refused)?;
        write_atomically(&file, &body)?;
        Ok(file)
    }
}

/// `signed.version` of a metadata file, for naming kept copies.
pub fn signed_version(body: &[u8]) -> Option<u64> {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()?
        .get("signed")?
        .get("version")?
        .as_u64()
}

/// Writes a file through a temporary one beside it, so that a reader never
/// sees half of it.
pub fn write_atomically(path: &Path, body: &[u8]) -> Result<(), UpdateError> {
    let store = |e: std::io::Error| UpdateError::Store(format!("{}: {e}", path.display()));
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(store)?;
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temporary = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    std::fs::write(&temporary, body).map_err(store)?;
    std::fs::rename(&temporary, path).map_err(store)
}
