//! Asking the store which stored images hold a package that an advisory
//! affects: advisories a page at a time, candidate pairs by the core's
//! match keys, the core's matcher deciding each pair.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use sigward_core::advisory::Advisory;
use sigward_core::sbom::Package;

use super::backend::{self, Row, Sql, StoreError};
use super::severity::Level;
use super::{HOLDER_PAIRS, HOLDERS, IDS, Inventory, PAGE, Place, placeholders};

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

impl Inventory {
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
}
