//! Where TUF metadata and targets are fetched from: an HTTP(S) repository,
//! or a directory (a `file://` URL or a path) holding the same layout, as
//! `sigward trust export` writes it. A fetcher moves bytes and nothing else:
//! it reads at most one byte past the limit the component gives, and tells
//! "not there" (HTTP 403 or 404, a missing file) from a failure.

use std::io::Read;
use std::path::{Component, Path, PathBuf};

/// Which of a repository's two stores.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Store {
    Metadata,
    Targets,
}

/// A TUF repository to fetch from.
pub trait Repository {
    /// The file at `path` (relative, percent-encoded) in `store`, at most
    /// `max_length + 1` bytes of it; none when the repository has no such file.
    fn fetch(
        &mut self,
        store: Store,
        path: &str,
        max_length: u64,
    ) -> Result<Option<Vec<u8>>, String>;

    /// Where it is, for messages.
    fn describe(&self) -> String;
}

/// Opens `location`: an `http://` or `https://` URL, a `file://` URL, or a
/// directory. Metadata is at its top, targets under `targets/`, as on
/// Sigstore's TUF CDN; `targets` overrides the latter.
pub fn open(location: &str, targets: Option<&str>) -> Result<Box<dyn Repository>, String> {
    if location.starts_with("http://") || location.starts_with("https://") {
        let metadata = location.trim_end_matches('/').to_owned();
        let targets = targets.map_or_else(|| format!("{metadata}/targets"), str::to_owned);
        return Ok(Box::new(Http::new(metadata, targets)?));
    }
    let dir = |text: &str| PathBuf::from(text.strip_prefix("file://").unwrap_or(text));
    let metadata = dir(location);
    let targets = targets.map_or_else(|| metadata.join("targets"), dir);
    if !metadata.is_dir() {
        return Err(format!("{}: not a directory", metadata.display()));
    }
    Ok(Box::new(Directory { metadata, targets }))
}

/// A repository in a directory.
pub struct Directory {
    metadata: PathBuf,
    targets: PathBuf,
}

impl Repository for Directory {
    fn fetch(
        &mut self,
        store: Store,
        path: &str,
        max_length: u64,
    ) -> Result<Option<Vec<u8>>, String> {
        let base = match store {
            Store::Metadata => &self.metadata,
            Store::Targets => &self.targets,
        };
        let file = base.join(relative(path)?);
        read_limited(&file, max_length)
    }

    fn describe(&self) -> String {
        self.metadata.display().to_string()
    }
}

/// `path` as a relative path with no `..`, `.` or root in it.
fn relative(path: &str) -> Result<&Path, String> {
    let p = Path::new(path);
    if path.is_empty() || p.components().any(|c| !matches!(c, Component::Normal(_))) {
        return Err(format!("{path:?} is not a plain relative path"));
    }
    Ok(p)
}

/// Reads at most `max_length + 1` bytes of a file; none when it does not exist.
pub fn read_limited(file: &Path, max_length: u64) -> Result<Option<Vec<u8>>, String> {
    match std::fs::File::open(file) {
        Ok(f) => {
            let mut bytes = Vec::new();
            f.take(max_length.saturating_add(1))
                .read_to_end(&mut bytes)
                .map_err(|e| format!("{}: {e}", file.display()))?;
            Ok(Some(bytes))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("{}: {e}", file.display())),
    }
}

/// A repository over HTTP(S), on the same reqwest and rustls as the registry
/// client.
pub struct Http {
    runtime: tokio::runtime::Runtime,
    client: reqwest::Client,
    metadata: String,
    targets: String,
}

impl Http {
    fn new(metadata: String, targets: String) -> Result<Self, String> {
        // rustls with ring, as for the registry client; a provider installed first stays.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        let client = reqwest::Client::builder()
            .user_agent(concat!("sigward/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(std::time::Duration::from_secs(10))
            .timeout(std::time::Duration::from_secs(60))
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Self {
            runtime,
            client,
            metadata,
            targets,
        })
    }
}

impl Repository for Http {
    fn fetch(
        &mut self,
        store: Store,
        path: &str,
        max_length: u64,
    ) -> Result<Option<Vec<u8>>, String> {
        let base = match store {
            Store::Metadata => &self.metadata,
            Store::Targets => &self.targets,
        };
        let url = format!("{}/{path}", base.trim_end_matches('/'));
        let client = &self.client;
        self.runtime.block_on(async {
            let mut response = client
                .get(&url)
                .send()
                .await
                .map_err(|e| format!("{url}: {e}"))?;
            let status = response.status();
            if status == reqwest::StatusCode::NOT_FOUND || status == reqwest::StatusCode::FORBIDDEN
            {
                return Ok(None);
            }
            if !status.is_success() {
                return Err(format!("{url}: HTTP {status}"));
            }
            let mut body = Vec::new();
            while let Some(chunk) = response.chunk().await.map_err(|e| format!("{url}: {e}"))? {
                body.extend_from_slice(&chunk);
                if body.len() as u64 > max_length {
                    body.truncate(
                        usize::try_from(max_length.saturating_add(1)).unwrap_or(usize::MAX),
                    );
                    break;
                }
            }
            Ok(Some(body))
        })
    }

    fn describe(&self) -> String {
        self.metadata.clone()
    }
}
