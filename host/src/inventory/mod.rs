//! The inventory: which images sigward verified and admitted, where they
//! run, the packages of their verified SBOMs, and OSV advisories, in a SQL
//! store (SQLite by default, PostgreSQL for fleets; see [`backend`]).
//!
//! Which advisory affects which package is decided by the core's matcher
//! (`sigward_core::advisory`, the code the component's `affected` runs),
//! linked here natively: the store only finds candidate pairs by the
//! core's match keys, so a query reads what it reports and no more.

pub mod backend;
pub mod osv;
pub mod recorder;
pub mod schema;
pub mod severity;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sigward_core::advisory::{Advisory, package_keys};
use sigward_core::sbom::Package;

use crate::decide::written_tag;

pub use backend::StoreError;
use backend::{Conn, Row, Sql};
use osv::{Malformed, Record, Unreadable};
use severity::Level;

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

/// One digest's verified SBOM, for [`Inventory::store_sboms`].
pub struct Sbom<'a> {
    pub digest: &'a str,
    pub predicate_type: &'a str,
    pub packages: &'a [Package],
    /// Seconds since the epoch.
    pub at: i64,
}

/// Which findings a query asks for.
#[derive(Clone, Debug, Default)]
pub struct Query {
    /// An advisory id or one of its aliases (a CVE id).
    pub advisory: Option<String>,
    /// At least this severity.
    pub severity: Option<Level>,
    /// Only advisories added or changed after this (microseconds).
    pub since: Option<i64>,
}

/// An image holding an affected package.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Holder {
    pub digest: String,
    pub repository: String,
    pub rule: Option<u32>,
    pub tags: Vec<String>,
    pub places: Vec<Place>,
}

/// One package that one advisory affects, and the images that hold it.
#[derive(Clone, Debug, PartialEq)]
pub struct Exposure {
    pub advisory: String,
    pub aliases: Vec<String>,
    pub severity: Level,
    pub score: Option<f64>,
    pub summary: String,
    pub package: Package,
    pub fixed: Option<String>,
    pub images: Vec<Arc<Holder>>,
}

/// What one query has read of the images: each image once, and each
/// package's holders once, up to [`HOLDERS`] images and [`HOLDER_PAIRS`]
/// (package, image) pairs; then it starts again empty.
/// The images holding one package.
type HolderList = Arc<[Arc<Holder>]>;

#[derive(Default)]
struct Holders {
    images: HashMap<i64, Arc<Holder>>,
    /// Each digest's images.
    artifacts: HashMap<i64, Vec<i64>>,
    packages: HashMap<i64, HolderList>,
    pairs: usize,
}

impl Holders {
    fn bound(&mut self) {
        if self.images.len() > HOLDERS
            || self.artifacts.len() > HOLDERS
            || self.pairs > HOLDER_PAIRS
        {
            *self = Self::default();
        }
    }
}

/// Advisories read per page of a query.
const PAGE: usize = 500;
/// Package ids kept between calls; the map is cleared when full.
const PACKAGE_IDS: usize = 200_000;
/// Images (with their tags and places) kept during one query; likewise.
const HOLDERS: usize = 100_000;
const HOLDER_PAIRS: usize = 2_000_000;
/// Ids per `IN (...)` list of a read: well under both back ends' limits.
const IDS: usize = 5_000;

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

    /// Each package an advisory affects in a stored image, with the images
    /// that hold it, handed to `each` advisory by advisory (in id order);
    /// at most a page of advisories is held at a time.
    pub fn affected(
        &mut self,
        query: &Query,
        each: &mut dyn FnMut(Exposure),
    ) -> Result<(), StoreError> {
        // An id or alias names a few advisories: found by their keys first,
        // so the page query is a lookup, not a scan.
        let named: Option<Vec<Sql>> = match &query.advisory {
            Some(name) => {
                let rows = self.conn.rows(
                    "SELECT id FROM advisories WHERE id = $1
                     UNION SELECT advisory_id FROM advisory_aliases WHERE alias = $1",
                    &[name.as_str().into()],
                )?;
                let ids: Vec<Sql> = rows
                    .into_iter()
                    .filter_map(|r| r.into_iter().next())
                    .collect();
                if ids.is_empty() {
                    return Ok(());
                }
                Some(ids)
            }
            None => None,
        };
        let mut after = String::new();
        let mut cache = Holders::default();
        loop {
            let mut sql = "SELECT id, severity, score, summary FROM advisories
                 WHERE withdrawn IS NULL AND severity >= $1 AND changed_at > $2 AND id > $3"
                .to_owned();
            let mut params: Vec<Sql> = vec![
                query.severity.unwrap_or(Level::Unknown).rank().into(),
                query.since.unwrap_or(i64::MIN).into(),
                after.as_str().into(),
            ];
            if let Some(ids) = &named {
                sql.push_str(&format!(" AND id IN ({})", placeholders(4, ids.len())));
                params.extend(ids.iter().cloned());
            }
            sql.push_str(&format!(" ORDER BY id LIMIT {PAGE}"));
            let page = self.conn.rows(&sql, &params)?;
            let Some(last) = page.last().and_then(|r| r[0].text()) else {
                return Ok(());
            };
            after = last.to_owned();
            cache.bound();
            self.affected_page(&page, &mut cache, each)?;
            if page.len() < PAGE {
                return Ok(());
            }
        }
    }

    /// The exposures of one page of advisories (rows of `affected`'s query).
    fn affected_page(
        &mut self,
        page: &[Row],
        cache: &mut Holders,
        each: &mut dyn FnMut(Exposure),
    ) -> Result<(), StoreError> {
        let ids: Vec<Sql> = page.iter().map(|r| r[0].clone()).collect();
        // Candidate pairs by the core's match keys, then the core decides.
        let mut candidates: BTreeMap<String, BTreeMap<i64, Package>> = BTreeMap::new();
        for key in ["key1", "key2"] {
            let sql = format!(
                "SELECT ak.advisory_id, p.id, p.name, p.version, p.purl
                 FROM advisory_keys ak JOIN packages p ON p.{key} = ak.key_id
                 WHERE ak.advisory_id IN ({})",
                placeholders(1, ids.len())
            );
            self.conn.each(&sql, &ids, &mut |row| {
                let (Some(advisory), Some(id)) = (row[0].text(), row[1].int()) else {
                    return Ok(());
                };
                let purl = row[4].text().filter(|p| !p.is_empty()).map(str::to_owned);
                candidates.entry(advisory.to_owned()).or_default().insert(
                    id,
                    Package {
                        name: row[2].string(),
                        version: row[3].string(),
                        purl,
                    },
                );
                Ok(())
            })?;
        }
        // Only advisories with candidates are read whole.
        let with_candidates: Vec<Sql> =
            candidates.keys().map(|id| Sql::from(id.as_str())).collect();
        let mut records: HashMap<String, String> = HashMap::new();
        if !with_candidates.is_empty() {
            let sql = format!(
                "SELECT id, record FROM advisories WHERE id IN ({})",
                placeholders(1, with_candidates.len())
            );
            self.conn.each(&sql, &with_candidates, &mut |row| {
                if let (Some(id), Some(record)) = (row[0].text(), row[1].text()) {
                    records.insert(id.to_owned(), record.to_owned());
                }
                Ok(())
            })?;
        }
        let mut found: Vec<(usize, i64, Package, Option<String>)> = Vec::new();
        for (i, row) in page.iter().enumerate() {
            let Some(packages) = row[0].text().and_then(|id| candidates.get(id)) else {
                continue;
            };
            let record = row[0].text().and_then(|id| records.get(id));
            let advisory =
                Advisory::parse(record.map_or(&b""[..], |r| r.as_bytes())).map_err(|reason| {
                    StoreError {
                        what: format!("advisory {}", row[0].text().unwrap_or_default()),
                        reason,
                    }
                })?;
            for (id, package) in packages {
                if let Some(finding) = advisory.affects(package) {
                    found.push((i, *id, finding.package, finding.fixed));
                }
            }
        }
        if found.is_empty() {
            return Ok(());
        }
        let affected_rows: BTreeSet<usize> = found.iter().map(|f| f.0).collect();
        let affected_ids: Vec<Sql> = affected_rows.iter().map(|i| page[*i][0].clone()).collect();
        let mut aliases: HashMap<String, Vec<String>> = HashMap::new();
        for row in self.conn.rows(
            &format!(
                "SELECT advisory_id, alias FROM advisory_aliases WHERE advisory_id IN ({}) ORDER BY alias",
                placeholders(1, affected_ids.len())
            ),
            &affected_ids,
        )? {
            if let (Some(a), Some(alias)) = (row[0].text(), row[1].text()) {
                aliases.entry(a.to_owned()).or_default().push(alias.to_owned());
            }
        }
        let package_set: BTreeSet<i64> = found.iter().map(|f| f.1).collect();
        let holders = self.holders(&package_set, cache)?;
        for (i, package_id, package, fixed) in found {
            let row = &page[i];
            let advisory = row[0].string();
            let images = holders
                .get(&package_id)
                .map(|h| h.to_vec())
                .unwrap_or_default();
            if images.is_empty() {
                continue;
            }
            each(Exposure {
                aliases: aliases.get(&advisory).cloned().unwrap_or_default(),
                advisory,
                severity: Level::from_rank(row[1].int().unwrap_or(0)),
                score: row[2].real(),
                summary: row[3].string(),
                package,
                fixed,
                images,
            });
        }
        Ok(())
    }

    /// The images holding each of `packages`, with their tags and places;
    /// images already in `known` are not read again.
    fn holders(
        &mut self,
        packages: &BTreeSet<i64>,
        cache: &mut Holders,
    ) -> Result<HashMap<i64, HolderList>, StoreError> {
        let mut out: HashMap<i64, HolderList> = HashMap::new();
        let ids: Vec<Sql> = packages
            .iter()
            .filter(|id| match cache.packages.get(*id) {
                Some(h) => {
                    out.insert(**id, h.clone());
                    false
                }
                None => true,
            })
            .map(|id| Sql::from(*id))
            .collect();
        // The digests holding each package (an index-only read), then the
        // images of the digests not seen before in this query.
        // One row per package, its digests aggregated by the server: a
        // popular package's thousands of rows would each be a round of
        // decoding otherwise.
        let aggregate = match self.conn.kind() {
            backend::Kind::Sqlite => "group_concat(artifact_id, ',')",
            backend::Kind::Postgres => "string_agg(artifact_id::text, ',')",
        };
        let mut by_package: Vec<(i64, i64)> = Vec::new();
        for chunk in ids.chunks(IDS) {
            let sql = format!(
                "SELECT package_id, {aggregate} FROM artifact_packages
                 WHERE package_id IN ({}) GROUP BY package_id",
                placeholders(1, chunk.len())
            );
            self.conn.each(&sql, chunk, &mut |row| {
                let Some(package) = row[0].int() else {
                    return Ok(());
                };
                for artifact in row[1].text().unwrap_or_default().split(',') {
                    let artifact = artifact.parse::<i64>().map_err(|_| StoreError {
                        what: "artifact_packages".into(),
                        reason: format!("`{artifact}` is not an artifact id"),
                    })?;
                    by_package.push((package, artifact));
                }
                Ok(())
            })?;
        }
        let new_artifacts: BTreeSet<i64> = by_package
            .iter()
            .map(|(_, a)| *a)
            .filter(|a| !cache.artifacts.contains_key(a))
            .collect();
        let new_artifacts: Vec<Sql> = new_artifacts.into_iter().map(Sql::from).collect();
        let mut fresh: BTreeMap<i64, Holder> = BTreeMap::new();
        for chunk in new_artifacts.chunks(IDS) {
            for a in chunk.iter().filter_map(Sql::int) {
                cache.artifacts.entry(a).or_default();
            }
            let sql = format!(
                "SELECT i.artifact_id, i.id, a.digest, i.repository, i.rule
                 FROM images i JOIN artifacts a ON a.id = i.artifact_id
                 WHERE i.artifact_id IN ({})",
                placeholders(1, chunk.len())
            );
            let artifacts = &mut cache.artifacts;
            self.conn.each(&sql, chunk, &mut |row| {
                let (Some(artifact), Some(image)) = (row[0].int(), row[1].int()) else {
                    return Ok(());
                };
                artifacts.entry(artifact).or_default().push(image);
                fresh.insert(
                    image,
                    Holder {
                        digest: row[2].string(),
                        repository: row[3].string(),
                        rule: row[4].int().and_then(|r| u32::try_from(r).ok()),
                        tags: Vec::new(),
                        places: Vec::new(),
                    },
                );
                Ok(())
            })?;
        }
        let image_ids: Vec<Sql> = fresh.keys().map(|id| Sql::from(*id)).collect();
        for chunk in image_ids.chunks(IDS) {
            let list = placeholders(1, chunk.len());
            let sql = format!(
                "SELECT image_id, tag FROM image_tags WHERE image_id IN ({list}) ORDER BY tag"
            );
            self.conn.each(&sql, chunk, &mut |row| {
                if let (Some(id), Some(tag)) = (row[0].int(), row[1].text())
                    && let Some(h) = fresh.get_mut(&id)
                {
                    h.tags.push(tag.to_owned());
                }
                Ok(())
            })?;
            let sql = format!(
                "SELECT image_id, cluster, namespace, kind, name FROM placements
                 WHERE image_id IN ({list}) ORDER BY cluster, namespace, kind, name"
            );
            self.conn.each(&sql, chunk, &mut |row| {
                if let Some(h) = row[0].int().and_then(|id| fresh.get_mut(&id)) {
                    let text = |i: usize| row[i].string();
                    h.places.push(Place {
                        cluster: text(1),
                        namespace: text(2),
                        kind: text(3),
                        name: text(4),
                    });
                }
                Ok(())
            })?;
        }
        let known = &mut cache.images;
        known.extend(fresh.into_iter().map(|(id, h)| (id, Arc::new(h))));
        // Each package's images in the order they were first recorded.
        let mut grouped: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
        for (package, artifact) in by_package {
            if let Some(images) = cache.artifacts.get(&artifact) {
                grouped.entry(package).or_default().extend(images);
            }
        }
        for (package, mut images) in grouped {
            images.sort_unstable();
            let list: HolderList = images
                .iter()
                .filter_map(|i| known.get(i).cloned())
                .collect();
            cache.pairs += list.len();
            cache.packages.insert(package, list.clone());
            out.insert(package, list);
        }
        Ok(out)
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
