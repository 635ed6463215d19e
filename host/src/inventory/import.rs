//! Importing OSV records into the store: one transaction per import,
//! incremental by `modified`, withdrawn records kept as such.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;

use super::backend::{Conn, Sql, StoreError};
use super::osv::{self, Malformed, Record, Unreadable};
use super::{Inventory, PAGE, key_ids, placeholders};

/// What an import did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Imported {
    pub added: u64,
    pub updated: u64,
    /// Records whose `modified` is not newer than the stored one's.
    pub unchanged: u64,
    /// Of those added or updated, how many are withdrawn.
    pub withdrawn: u64,
    pub malformed: Vec<Malformed>,
}

/// Why an import stopped; nothing of it was kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ImportError {
    Unreadable(Unreadable),
    Store(StoreError),
}

impl From<Unreadable> for ImportError {
    fn from(e: Unreadable) -> Self {
        Self::Unreadable(e)
    }
}
impl From<StoreError> for ImportError {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}

impl std::fmt::Display for ImportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Unreadable(e) => write!(f, "{e}"),
            Self::Store(e) => write!(f, "{e}"),
        }
    }
}

impl Inventory {
    /// Imports the OSV records under `paths` in one transaction: all that
    /// parse are kept, or (when a file or archive cannot be read, or the
    /// store fails) none.
    pub fn import(&mut self, paths: &[PathBuf], now: i64) -> Result<Imported, ImportError> {
        self.conn.transaction(|c| {
            let mut done = Imported::default();
            let mut pending: Vec<Record> = Vec::new();
            osv::read::<ImportError>(paths, &mut |record| {
                match record {
                    Ok(r) => pending.push(r),
                    Err(m) => done.malformed.push(m),
                }
                if pending.len() >= PAGE {
                    write_records(c, &mut pending, now, &mut done)?;
                }
                Ok(())
            })?;
            write_records(c, &mut pending, now, &mut done)?;
            Ok(done)
        })
    }
}

/// Writes `pending` records (newest `modified` wins) and empties it.
fn write_records(
    c: &mut Conn,
    pending: &mut Vec<Record>,
    now: i64,
    done: &mut Imported,
) -> Result<(), ImportError> {
    if pending.is_empty() {
        return Ok(());
    }
    let mut batch: BTreeMap<String, Record> = BTreeMap::new();
    for r in pending.drain(..) {
        match batch.get(&r.id) {
            Some(old) if old.modified >= r.modified => done.unchanged += 1,
            Some(_) => {
                done.unchanged += 1;
                batch.insert(r.id.clone(), r);
            }
            None => {
                batch.insert(r.id.clone(), r);
            }
        }
    }
    let ids: Vec<Sql> = batch.keys().map(|id| Sql::from(id.as_str())).collect();
    let mut stored: HashMap<String, i64> = HashMap::new();
    for row in c.rows(
        &format!(
            "SELECT id, modified FROM advisories WHERE id IN ({})",
            placeholders(1, ids.len())
        ),
        &ids,
    )? {
        if let (Some(id), Some(m)) = (row[0].text(), row[1].int()) {
            stored.insert(id.to_owned(), m);
        }
    }
    let changed: Vec<&Record> = batch
        .values()
        .filter(|r| match stored.get(&r.id) {
            Some(m) if *m >= r.modified => {
                done.unchanged += 1;
                false
            }
            Some(_) => {
                done.updated += 1;
                true
            }
            None => {
                done.added += 1;
                true
            }
        })
        .collect();
    done.withdrawn += changed.iter().filter(|r| r.withdrawn.is_some()).count() as u64;
    if changed.is_empty() {
        return Ok(());
    }
    let values: Vec<Sql> = changed
        .iter()
        .flat_map(|r| {
            [
                Sql::from(r.id.as_str()),
                Sql::from(r.modified),
                Sql::from(r.withdrawn),
                Sql::from(r.severity.rank()),
                Sql::from(r.score),
                Sql::from(r.summary.as_str()),
                Sql::from(now),
                Sql::from(r.matching.as_str()),
            ]
        })
        .collect();
    c.insert_many(
        "INSERT INTO advisories (id, modified, withdrawn, severity, score, summary, changed_at, record)",
        8,
        &values,
        "ON CONFLICT (id) DO UPDATE SET modified = excluded.modified, withdrawn = excluded.withdrawn,
         severity = excluded.severity, score = excluded.score, summary = excluded.summary,
         changed_at = excluded.changed_at, record = excluded.record",
    )?;
    let changed_ids: Vec<Sql> = changed.iter().map(|r| Sql::from(r.id.as_str())).collect();
    let list = placeholders(1, changed_ids.len());
    c.exec(
        &format!("DELETE FROM advisory_aliases WHERE advisory_id IN ({list})"),
        &changed_ids,
    )?;
    c.exec(
        &format!("DELETE FROM advisory_keys WHERE advisory_id IN ({list})"),
        &changed_ids,
    )?;
    let aliases: Vec<Sql> = changed
        .iter()
        .flat_map(|r| {
            r.aliases
                .iter()
                .flat_map(|a| [Sql::from(r.id.as_str()), Sql::from(a.as_str())])
        })
        .collect();
    c.insert_many(
        "INSERT INTO advisory_aliases (advisory_id, alias)",
        2,
        &aliases,
        "",
    )?;
    let key_set: BTreeSet<&str> = changed
        .iter()
        .flat_map(|r| r.keys.iter().map(String::as_str))
        .collect();
    let key_map = key_ids(c, &key_set)?;
    let keys: Vec<Sql> = changed
        .iter()
        .flat_map(|r| {
            r.keys
                .iter()
                .filter_map(|k| key_map.get(k))
                .flat_map(|id| [Sql::from(r.id.as_str()), Sql::from(*id)])
        })
        .collect();
    c.insert_many(
        "INSERT INTO advisory_keys (advisory_id, key_id)",
        2,
        &keys,
        "",
    )?;
    Ok(())
}
