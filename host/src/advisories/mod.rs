//! The advisories a host holds for rules that gate on them (sigward's
//! `advisories`): OSV files, directories and `all.zip` archives read into
//! memory ([`files`]), or the inventory store's. For one image, the
//! records that may affect its packages are looked up by the core's match
//! keys and handed to the component, which decides which do and whether
//! the rule refuses. Both sources notice changes: files by their sizes and
//! times, the store by its count and last change.

pub mod files;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use sigward_core::advisory::package_keys;
use sigward_core::sbom::Package;

use crate::inventory::{Inventory, redacted};
use files::{Fingerprint, Index};

/// Where the advisories come from.
enum Source {
    Files {
        paths: Vec<PathBuf>,
        index: RwLock<Arc<Index>>,
        seen: Mutex<Fingerprint>,
    },
    Store {
        url: String,
        /// Opened on first need, and again after a failure.
        conn: Mutex<Option<Inventory>>,
        mark: Mutex<Option<(i64, i64)>>,
    },
}

/// Advisories held, and how many times they changed.
pub struct Held {
    source: Source,
    version: AtomicU64,
    count: AtomicU64,
}

/// What a refresh found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refreshed {
    Unchanged,
    /// The advisories changed; how many are held now.
    Changed(u64),
}

impl Held {
    /// The advisories under `paths`, read now: an unreadable file or
    /// archive is an error; malformed records are skipped and counted.
    pub fn files(paths: Vec<PathBuf>) -> Result<(Self, files::Skipped), String> {
        let seen = files::fingerprint(&paths)?;
        let files::Loaded { index, skipped } = files::load(&paths)?;
        let held = Self {
            count: AtomicU64::new(index.len() as u64),
            source: Source::Files {
                paths,
                index: RwLock::new(Arc::new(index)),
                seen: Mutex::new(seen),
            },
            version: AtomicU64::new(1),
        };
        Ok((held, skipped))
    }

    /// The advisories of the inventory store at `url`, read at each
    /// lookup. The store is opened on first need.
    pub fn store(url: String) -> Self {
        Self {
            source: Source::Store {
                url,
                conn: Mutex::new(None),
                mark: Mutex::new(None),
            },
            version: AtomicU64::new(1),
            count: AtomicU64::new(0),
        }
    }

    /// Changes each time the advisories held change.
    pub fn version(&self) -> u64 {
        self.version.load(Ordering::Relaxed)
    }

    /// How many advisories are held (for the store, as of the last refresh).
    pub fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    /// Where they come from, for logs.
    pub fn describe(&self) -> String {
        match &self.source {
            Source::Files { paths, .. } => paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
            Source::Store { url, .. } => redacted(url),
        }
    }

    /// The records (OSV JSON) that may affect `packages`: every record
    /// held that names one of their match keys. An error when the
    /// advisories cannot be read: the host then refuses, as it does when
    /// a signature cannot be fetched.
    pub fn candidates(&self, packages: &[Package]) -> Result<Vec<String>, String> {
        let mut keys: Vec<String> = packages.iter().flat_map(package_keys).collect();
        keys.sort_unstable();
        keys.dedup();
        match &self.source {
            Source::Files { index, .. } => {
                let index = index
                    .read()
                    .map_err(|_| "advisories: index poisoned")?
                    .clone();
                Ok(index.lookup(&keys))
            }
            Source::Store { url, conn, .. } => {
                let mut conn = conn.lock().map_err(|_| "advisories: store poisoned")?;
                with_store(url, &mut conn, |inventory| inventory.advisories_for(&keys))
            }
        }
    }

    /// Reads the source again if it changed. An error leaves what was held.
    pub fn refresh(&self) -> Result<Refreshed, String> {
        let changed = match &self.source {
            Source::Files { paths, index, seen } => {
                let now = files::fingerprint(paths)?;
                let mut seen = seen.lock().map_err(|_| "advisories: poisoned")?;
                if *seen == now {
                    return Ok(Refreshed::Unchanged);
                }
                let loaded = files::load(paths)?;
                let count = loaded.index.len() as u64;
                if let Ok(mut index) = index.write() {
                    *index = Arc::new(loaded.index);
                }
                *seen = now;
                count
            }
            Source::Store { url, conn, mark } => {
                let mut conn = conn.lock().map_err(|_| "advisories: store poisoned")?;
                let now = with_store(url, &mut conn, Inventory::advisories_mark)?;
                let mut mark = mark.lock().map_err(|_| "advisories: poisoned")?;
                if *mark == Some(now) {
                    return Ok(Refreshed::Unchanged);
                }
                *mark = Some(now);
                u64::try_from(now.0).unwrap_or(0)
            }
        };
        self.count.store(changed, Ordering::Relaxed);
        self.version.fetch_add(1, Ordering::Relaxed);
        Ok(Refreshed::Changed(changed))
    }
}

/// Runs `read` on the store, opening it when needed; a failed read closes
/// it, so that the next opens afresh.
fn with_store<T>(
    url: &str,
    conn: &mut Option<Inventory>,
    read: impl FnOnce(&mut Inventory) -> Result<T, crate::inventory::StoreError>,
) -> Result<T, String> {
    if conn.is_none() {
        *conn = Some(Inventory::open(url).map_err(|e| format!("advisories: {e}"))?);
    }
    let Some(inventory) = conn.as_mut() else {
        return Err("advisories: the store is not open".to_owned());
    };
    read(inventory).map_err(|e| {
        *conn = None;
        format!("advisories: {e}")
    })
}
