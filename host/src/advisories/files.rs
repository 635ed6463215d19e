//! OSV files, directories and archives held in memory: the newest copy of
//! each record (by `modified`), withdrawn ones left out, indexed by the
//! core's match keys. Everything is read, so this suits the advisories of
//! a few ecosystems; osv.dev's whole database belongs in the store.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::SystemTime;

use crate::inventory::osv::{self, Malformed, Record, Unreadable};

/// The records held, by match key.
#[derive(Clone, Debug, Default)]
pub struct Index {
    records: Vec<Arc<str>>,
    by_key: HashMap<String, Vec<u32>>,
}

impl Index {
    /// How many records are held.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Every record naming one of `keys`, each once, in the order read.
    pub fn lookup(&self, keys: &[String]) -> Vec<String> {
        let mut found: Vec<u32> = keys
            .iter()
            .filter_map(|k| self.by_key.get(k))
            .flatten()
            .copied()
            .collect();
        found.sort_unstable();
        found.dedup();
        found
            .into_iter()
            .filter_map(|i| self.records.get(i as usize))
            .map(|r| r.to_string())
            .collect()
    }
}

/// What a load read.
#[derive(Clone, Debug)]
pub struct Loaded {
    pub index: Index,
    pub skipped: Skipped,
}

/// The records a load left out.
#[derive(Clone, Debug, Default)]
pub struct Skipped {
    /// Withdrawn ones.
    pub withdrawn: usize,
    pub malformed: Vec<Malformed>,
}

/// Reads every record under `paths`. A file or archive that cannot be
/// read is an error; a malformed record is skipped and listed.
pub fn load(paths: &[PathBuf]) -> Result<Loaded, String> {
    let mut newest: HashMap<String, Record> = HashMap::new();
    let mut malformed = Vec::new();
    osv::read::<Unreadable>(paths, &mut |record| {
        match record {
            Ok(r) => match newest.get(&r.id) {
                Some(old) if old.modified >= r.modified => {}
                _ => {
                    newest.insert(r.id.clone(), r);
                }
            },
            Err(m) => malformed.push(m),
        }
        Ok(())
    })
    .map_err(|e| format!("advisories: {e}"))?;
    let mut records: Vec<Record> = newest.into_values().collect();
    records.sort_by(|a, b| a.id.cmp(&b.id));
    let before = records.len();
    records.retain(|r| r.withdrawn.is_none());
    let mut index = Index::default();
    for record in records {
        let Ok(at) = u32::try_from(index.records.len()) else {
            break;
        };
        for key in record.keys {
            index.by_key.entry(key).or_default().push(at);
        }
        index.records.push(Arc::from(record.matching));
    }
    Ok(Loaded {
        skipped: Skipped {
            withdrawn: before - index.records.len(),
            malformed,
        },
        index,
    })
}

/// The files under `paths` with their sizes and times: when it changes,
/// the advisories are read again.
pub type Fingerprint = Vec<(PathBuf, u64, Option<SystemTime>)>;

pub fn fingerprint(paths: &[PathBuf]) -> Result<Fingerprint, String> {
    let mut out = Vec::new();
    for path in paths {
        for file in osv::files(path).map_err(|e| format!("advisories: {e}"))? {
            let meta = std::fs::metadata(&file)
                .map_err(|e| format!("advisories: {}: {e}", file.display()))?;
            out.push((file, meta.len(), meta.modified().ok()));
        }
    }
    Ok(out)
}
