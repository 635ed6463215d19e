//! The inventory: which images sigward verified and admitted, where they
//! run, the packages of their verified SBOMs, and OSV advisories, in a SQL
//! store (SQLite by default, PostgreSQL for fleets; see [`backend`]).
//!
//! Which advisory affects which package is decided by the core's matcher
//! (`sigward_core::advisory`, the code the component's `affected` runs),
//! linked here natively: the store only finds candidate pairs by the
//! core's match keys, so a query reads what it reports and no more.

pub mod backend;
mod gate;
mod import;
pub mod osv;
mod query;
pub mod recorder;
pub mod schema;

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use sigward_core::advisory::package_keys;
use sigward_core::sbom::Package;

use crate::decide::written_tag;

pub use backend::StoreError;
use backend::{Conn, Row, Sql};
pub use import::{ImportError, Imported};
pub use query::{Exposure, Holder, Query};
pub use sigward_core::advisory::severity;

/// Where the store is when `--db` is not given:
/// `$XDG_DATA_HOME/sigward/inventory.db`, else `~/.local/share/...`.
pub fn default_url() -> Option<String> {
    let base = std::env::var_os("XDG_DATA_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".local").join("share")))?;
    Some(
        base.join("sigward")
            .join("inventory.db")
            .display()
            .to_string(),
    )
}

/// A store URL without its password, for logs.
pub fn redacted(url: &str) -> String {
    match (url.split_once("://"), url.rfind('@')) {
        (Some((scheme, rest)), Some(_)) if rest.contains('@') => {
            let (userinfo, host) = rest.rsplit_once('@').unwrap_or(("", rest));
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{scheme}://{user}@{host}")
        }
        _ => url.to_owned(),
    }
}

/// Now, in microseconds since the epoch: advisories' times.
pub fn now_micros() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
}

/// An image seen: a digest in a repository, and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sighting {
    pub digest: String,
    /// `registry/repository`, as the policy matched it.
    pub repository: String,
    pub tag: Option<String>,
    /// The rule that admitted it.
    pub rule: Option<u32>,
    pub place: Option<Place>,
    /// Seconds since the epoch.
    pub at: i64,
}

/// Where an image runs.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Place {
    pub cluster: String,
    pub namespace: String,
    /// The owning workload's kind and name (a Pod's controller, else the
    /// object itself).
    pub kind: String,
    pub name: String,
}

/// One digest's verified SBOM, for [`Inventory::store_sboms`].
pub struct Sbom<'a> {
    pub digest: &'a str,
    pub predicate_type: &'a str,
    pub packages: &'a [Package],
    /// Seconds since the epoch.
    pub at: i64,
}

/// Advisories read per page of a query.
pub(crate) const PAGE: usize = 500;
/// Package ids kept between calls; the map is cleared when full.
pub(crate) const PACKAGE_IDS: usize = 200_000;
/// Images (with their tags and places) kept during one query; likewise.
pub(crate) const HOLDERS: usize = 100_000;
pub(crate) const HOLDER_PAIRS: usize = 2_000_000;
/// Ids per `IN (...)` list of a read: well under both back ends' limits.
pub(crate) const IDS: usize = 5_000;

/// An open store.
pub struct Inventory {
    conn: Conn,
    /// (name, version, purl) to id: ids never change once committed.
    package_ids: HashMap<(String, String, String), i64>,
}

impl Inventory {
    /// Opens (creating when absent) the store at `url` and brings its
    /// schema up to date.
    pub fn open(url: &str) -> Result<Self, StoreError> {
        let mut conn = Conn::open(url)?;
        schema::migrate(&mut conn, crate::tuf::now())?;
        Ok(Self {
            conn,
            package_ids: HashMap::new(),
        })
    }

    /// Records images seen, in one transaction.
    pub fn record(&mut self, sightings: &[Sighting]) -> Result<(), StoreError> {
        self.conn.transaction(|c| {
            for s in sightings {
                let artifact = artifact_id(c, &s.digest, s.at)?;
                let image = c.rows(
                    "INSERT INTO images (artifact_id, repository, rule, first_seen, last_seen)
                     VALUES ($1, $2, $3, $4, $4)
                     ON CONFLICT (artifact_id, repository) DO UPDATE
                     SET rule = excluded.rule, last_seen = excluded.last_seen
                     RETURNING id",
                    &[
                        artifact.into(),
                        s.repository.as_str().into(),
                        s.rule.map(i64::from).into(),
                        s.at.into(),
                    ],
                )?;
                let image = first_int(&image, "images")?;
                if let Some(tag) = &s.tag {
                    c.exec(
                        "INSERT INTO image_tags (image_id, tag, last_seen) VALUES ($1, $2, $3)
                         ON CONFLICT (image_id, tag) DO UPDATE SET last_seen = excluded.last_seen",
                        &[image.into(), tag.as_str().into(), s.at.into()],
                    )?;
                }
                if let Some(p) = &s.place {
                    c.exec(
                        "INSERT INTO placements
                         (image_id, cluster, namespace, kind, name, first_seen, last_seen)
                         VALUES ($1, $2, $3, $4, $5, $6, $6)
                         ON CONFLICT (image_id, cluster, namespace, kind, name) DO UPDATE
                         SET last_seen = excluded.last_seen",
                        &[
                            image.into(),
                            p.cluster.as_str().into(),
                            p.namespace.as_str().into(),
                            p.kind.as_str().into(),
                            p.name.as_str().into(),
                            s.at.into(),
                        ],
                    )?;
                }
            }
            Ok(())
        })
    }

    /// Whether the packages of `digest`'s verified SBOM are stored.
    pub fn has_sbom(&mut self, digest: &str) -> Result<bool, StoreError> {
        let rows = self.conn.rows(
            "SELECT sbom_type FROM artifacts WHERE digest = $1",
            &[digest.into()],
        )?;
        Ok(rows
            .first()
            .and_then(|r| r.first())
            .is_some_and(|v| v.text().is_some()))
    }

    /// Stores the packages of `digest`'s verified SBOM, once per digest:
    /// false when they were stored already.
    pub fn store_sbom(
        &mut self,
        digest: &str,
        predicate_type: &str,
        packages: &[Package],
        at: i64,
    ) -> Result<bool, StoreError> {
        let stored = self.store_sboms(&[Sbom {
            digest,
            predicate_type,
            packages,
            at,
        }])?;
        Ok(stored == 1)
    }

    /// Stores several digests' SBOMs in one transaction: how many were new.
    pub fn store_sboms(&mut self, sboms: &[Sbom<'_>]) -> Result<usize, StoreError> {
        let known = &self.package_ids;
        let mut learned: HashMap<PackageKey, i64> = HashMap::new();
        let stored = self.conn.transaction::<_, StoreError>(|c| {
            let mut stored = 0;
            for sbom in sboms {
                let artifact = artifact_id(c, sbom.digest, sbom.at)?;
                let done = c.rows(
                    "SELECT sbom_type FROM artifacts WHERE id = $1",
                    &[artifact.into()],
                )?;
                if done
                    .first()
                    .and_then(|r| r.first())
                    .and_then(Sql::text)
                    .is_some()
                {
                    continue;
                }
                let mut distinct: Vec<PackageKey> = sbom
                    .packages
                    .iter()
                    .map(|p| {
                        (
                            p.name.clone(),
                            p.version.clone(),
                            p.purl.clone().unwrap_or_default(),
                        )
                    })
                    .collect();
                distinct.sort_unstable();
                distinct.dedup();
                let ids = package_ids(c, known, &mut learned, &distinct)?;
                let links: Vec<Sql> = ids
                    .iter()
                    .flat_map(|id| [Sql::from(artifact), Sql::from(*id)])
                    .collect();
                c.insert_many(
                    "INSERT INTO artifact_packages (artifact_id, package_id)",
                    2,
                    &links,
                    "ON CONFLICT DO NOTHING",
                )?;
                c.exec(
                    "UPDATE artifacts SET sbom_type = $1, package_count = $2 WHERE id = $3",
                    &[
                        sbom.predicate_type.into(),
                        (ids.len() as i64).into(),
                        artifact.into(),
                    ],
                )?;
                stored += 1;
            }
            Ok(stored)
        })?;
        // Ids are kept only once committed.
        if self.package_ids.len() + learned.len() > PACKAGE_IDS {
            self.package_ids.clear();
        }
        self.package_ids.extend(learned);
        Ok(stored)
    }

    /// Brings the back end's statistics and visibility maps up to date after
    /// bulk writes: PostgreSQL's `VACUUM (ANALYZE)` (what autovacuum does on
    /// its own schedule; the queries' index-only reads need it), SQLite's
    /// `ANALYZE`. `sigward inventory maintain`.
    pub fn maintain(&mut self) -> Result<(), StoreError> {
        match self.conn.kind() {
            backend::Kind::Postgres => self.conn.batch("VACUUM (ANALYZE)"),
            backend::Kind::Sqlite => self.conn.batch("ANALYZE"),
        }
    }

    /// How many images, artifacts, packages and advisories are stored.
    pub fn counts(&mut self) -> Result<[i64; 4], StoreError> {
        let mut out = [0; 4];
        for (i, table) in ["images", "artifacts", "packages", "advisories"]
            .into_iter()
            .enumerate()
        {
            let rows = self
                .conn
                .rows(&format!("SELECT COUNT(*) FROM {table}"), &[])?;
            out[i] = first_int(&rows, table)?;
        }
        Ok(out)
    }
}

/// `$start, $start+1, ...`: `count` placeholders.
fn placeholders(start: usize, count: usize) -> String {
    (start..start + count)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn first_int(rows: &[Row], what: &str) -> Result<i64, StoreError> {
    rows.first()
        .and_then(|r| r.first())
        .and_then(Sql::int)
        .ok_or_else(|| StoreError {
            what: what.to_owned(),
            reason: "no row returned".into(),
        })
}

/// The id of `digest`'s artifact row, made or marked seen at `at`.
fn artifact_id(c: &mut Conn, digest: &str, at: i64) -> Result<i64, StoreError> {
    let rows = c.rows(
        "INSERT INTO artifacts (digest, first_seen, last_seen) VALUES ($1, $2, $2)
         ON CONFLICT (digest) DO UPDATE SET last_seen = excluded.last_seen
         RETURNING id",
        &[digest.into(), at.into()],
    )?;
    first_int(&rows, "artifacts")
}

/// Ids of the match keys `keys`, made when absent.
fn key_ids(c: &mut Conn, keys: &BTreeSet<&str>) -> Result<HashMap<String, i64>, StoreError> {
    let values: Vec<Sql> = keys.iter().map(|k| Sql::from(*k)).collect();
    c.insert_many(
        "INSERT INTO match_keys (key)",
        1,
        &values,
        "ON CONFLICT (key) DO NOTHING",
    )?;
    let mut out = HashMap::new();
    for chunk in values.chunks(backend::INSERT_ROWS) {
        let sql = format!(
            "SELECT key, id FROM match_keys WHERE key IN ({})",
            placeholders(1, chunk.len())
        );
        for row in c.rows(&sql, chunk)? {
            if let (Some(k), Some(id)) = (row[0].text(), row[1].int()) {
                out.insert(k.to_owned(), id);
            }
        }
    }
    Ok(out)
}

type PackageKey = (String, String, String);

/// The ids of `distinct` packages (in no order): from `known` (committed),
/// `learned` (this transaction's), else read or made, with their match
/// keys, and added to `learned`.
fn package_ids(
    c: &mut Conn,
    known: &HashMap<PackageKey, i64>,
    learned: &mut HashMap<PackageKey, i64>,
    distinct: &[PackageKey],
) -> Result<Vec<i64>, StoreError> {
    let mut ids = Vec::with_capacity(distinct.len());
    let missing: Vec<&PackageKey> = distinct
        .iter()
        .filter(|k| match known.get(*k).or_else(|| learned.get(*k)) {
            Some(id) => {
                ids.push(*id);
                false
            }
            None => true,
        })
        .collect();
    if missing.is_empty() {
        return Ok(ids);
    }
    let keys_of = |(name, version, purl): &PackageKey| {
        package_keys(&Package {
            name: name.clone(),
            version: version.clone(),
            purl: (!purl.is_empty()).then(|| purl.clone()),
        })
    };
    let all_keys: Vec<Vec<String>> = missing.iter().map(|k| keys_of(k)).collect();
    let key_set: BTreeSet<&str> = all_keys.iter().flatten().map(String::as_str).collect();
    let key_map = key_ids(c, &key_set)?;
    let mut values = Vec::with_capacity(missing.len() * 5);
    for ((name, version, purl), keys) in missing.iter().zip(&all_keys) {
        let key = |i: usize| Sql::Int(keys.get(i).and_then(|k| key_map.get(k)).copied());
        values.extend([
            Sql::from(name.as_str()),
            Sql::from(version.as_str()),
            Sql::from(purl.as_str()),
            key(0),
            key(1),
        ]);
    }
    c.insert_many(
        "INSERT INTO packages (name, version, purl, key1, key2)",
        5,
        &values,
        "ON CONFLICT (name, version, purl) DO NOTHING",
    )?;
    for chunk in missing.chunks(backend::INSERT_ROWS) {
        let tuples = (0..chunk.len())
            .map(|i| format!("(${}, ${}, ${})", 3 * i + 1, 3 * i + 2, 3 * i + 3))
            .collect::<Vec<_>>()
            .join(", ");
        let params: Vec<Sql> = chunk
            .iter()
            .flat_map(|(n, v, p)| {
                [
                    Sql::from(n.as_str()),
                    Sql::from(v.as_str()),
                    Sql::from(p.as_str()),
                ]
            })
            .collect();
        let sql = format!(
            "SELECT name, version, purl, id FROM packages WHERE (name, version, purl) IN ({tuples})"
        );
        for row in c.rows(&sql, &params)? {
            let text = |i: usize| row[i].string();
            if let Some(id) = row[3].int() {
                ids.push(id);
                learned.insert((text(0), text(1), text(2)), id);
            }
        }
    }
    Ok(ids)
}

impl Sighting {
    /// The sighting of an admitted image: none when it was refused, or when
    /// no digest is known for it (a skip rule's image named by tag).
    pub fn of_answer(
        answer: &crate::decide::Answer,
        place: Option<Place>,
        at: i64,
    ) -> Option<Self> {
        let decision = answer.decision.as_ref().ok().filter(|d| d.allowed)?;
        let (named, digest) = match decision.reference.split_once('@') {
            Some((named, digest)) => (named, digest.to_owned()),
            None => (decision.reference.as_str(), answer.verified_digest.clone()?),
        };
        let repository = strip_tag(named).to_owned();
        let tag = written_tag(&answer.image)
            .map(str::to_owned)
            .or_else(|| (!answer.image.contains('@')).then(|| "latest".to_owned()));
        Some(Self {
            digest,
            repository,
            tag,
            rule: decision.rule,
            place,
            at,
        })
    }
}

/// `registry/repo:tag` without `:tag` (a registry's `:port` is kept).
fn strip_tag(named: &str) -> &str {
    match written_tag(named) {
        Some(tag) => &named[..named.len() - tag.len() - 1],
        None => named,
    }
}

impl From<crate::runtime::SbomPackage> for Package {
    fn from(p: crate::runtime::SbomPackage) -> Self {
        Self {
            name: p.name,
            version: p.version,
            purl: p.purl,
        }
    }
}
