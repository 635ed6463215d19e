//! The inventory's schema, as numbered migrations applied at open and
//! recorded in `schema_migrations`. A store whose
//! schema is newer than this build knows is refused, never written.
//!
//! - `artifacts`: one row per digest, with its verified SBOM's type; its
//!   packages are stored once, in `artifact_packages`.
//! - `images`: a digest in a repository, the rule that admitted it, when
//!   first and last seen; `image_tags` and `placements` (cluster,
//!   namespace, workload) say under which tags and where.
//! - `packages`: each distinct (name, version, purl) once, with the match
//!   keys (`match_keys`) the core finds advisories by.
//! - `advisories`, `advisory_aliases`, `advisory_keys`: OSV records as
//!   imported: what the core reads of each (`id`, `aliases`, `affected`
//!   and the severity fields), with the level and score found at import.

use super::backend::{Conn, Kind, StoreError};

/// The schema version this build writes.
pub const VERSION: i64 = 2;

/// `{id}` is the back end's auto-numbered primary key.
const V1: &str = "
CREATE TABLE artifacts (
    id {id},
    digest TEXT NOT NULL UNIQUE,
    sbom_type TEXT,
    package_count BIGINT NOT NULL DEFAULT 0,
    first_seen BIGINT NOT NULL,
    last_seen BIGINT NOT NULL
);
CREATE TABLE images (
    id {id},
    artifact_id BIGINT NOT NULL REFERENCES artifacts (id),
    repository TEXT NOT NULL,
    rule BIGINT,
    first_seen BIGINT NOT NULL,
    last_seen BIGINT NOT NULL,
    UNIQUE (artifact_id, repository)
);
CREATE TABLE image_tags (
    image_id BIGINT NOT NULL REFERENCES images (id),
    tag TEXT NOT NULL,
    last_seen BIGINT NOT NULL,
    PRIMARY KEY (image_id, tag)
);
CREATE TABLE placements (
    image_id BIGINT NOT NULL REFERENCES images (id),
    cluster TEXT NOT NULL,
    namespace TEXT NOT NULL,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    first_seen BIGINT NOT NULL,
    last_seen BIGINT NOT NULL,
    PRIMARY KEY (image_id, cluster, namespace, kind, name)
);
CREATE TABLE match_keys (
    id {id},
    key TEXT NOT NULL UNIQUE
);
CREATE TABLE packages (
    id {id},
    name TEXT NOT NULL,
    version TEXT NOT NULL,
    purl TEXT NOT NULL,
    key1 BIGINT,
    key2 BIGINT,
    UNIQUE (name, version, purl)
);
CREATE INDEX packages_key1 ON packages (key1);
CREATE INDEX packages_key2 ON packages (key2);
CREATE TABLE artifact_packages (
    artifact_id BIGINT NOT NULL REFERENCES artifacts (id),
    package_id BIGINT NOT NULL REFERENCES packages (id),
    PRIMARY KEY (artifact_id, package_id)
);
CREATE INDEX artifact_packages_package ON artifact_packages (package_id, artifact_id);
CREATE TABLE advisories (
    id TEXT PRIMARY KEY,
    modified BIGINT NOT NULL,
    withdrawn BIGINT,
    severity BIGINT NOT NULL,
    score DOUBLE PRECISION,
    summary TEXT NOT NULL,
    changed_at BIGINT NOT NULL,
    record TEXT NOT NULL
);
CREATE INDEX advisories_changed ON advisories (changed_at);
CREATE TABLE advisory_aliases (
    advisory_id TEXT NOT NULL REFERENCES advisories (id),
    alias TEXT NOT NULL,
    PRIMARY KEY (advisory_id, alias)
);
CREATE INDEX advisory_aliases_alias ON advisory_aliases (alias);
CREATE TABLE advisory_keys (
    advisory_id TEXT NOT NULL REFERENCES advisories (id),
    key_id BIGINT NOT NULL REFERENCES match_keys (id),
    PRIMARY KEY (advisory_id, key_id)
);
CREATE INDEX advisory_keys_key ON advisory_keys (key_id);
";

/// Version 1 kept of a record only `id` and `affected`; the component now
/// also reads `aliases` and the severity fields (admission gates judge
/// severity themselves). Every record is marked older than any copy, so
/// that the next import rewrites it whole.
const V2: &str = "UPDATE advisories SET modified = -1;";

const MIGRATIONS: [&str; 2] = [V1, V2];

/// Brings the store's schema to [`VERSION`], in one transaction: a store
/// is never left between versions. Two processes opening a new store at
/// once take turns (SQLite's write lock; a PostgreSQL advisory lock).
pub fn migrate(conn: &mut Conn, now: i64) -> Result<(), StoreError> {
    let kind = conn.kind();
    conn.transaction(|c| {
        if kind == Kind::Postgres {
            c.exec("SELECT pg_advisory_xact_lock(7365776172640001)", &[])?;
        }
        c.batch(
            "CREATE TABLE IF NOT EXISTS schema_migrations (\
             version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)",
        )?;
        let current = c
            .rows("SELECT MAX(version) FROM schema_migrations", &[])?
            .first()
            .and_then(|row| row.first())
            .and_then(|v| v.int())
            .unwrap_or(0);
        if current > VERSION {
            return Err(StoreError {
                what: "schema".into(),
                reason: format!(
                    "the store is at schema version {current}, this sigward knows up to \
                     {VERSION}: upgrade sigward"
                ),
            });
        }
        let id = match kind {
            Kind::Sqlite => "INTEGER PRIMARY KEY",
            Kind::Postgres => "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
        };
        for (version, sql) in (1..).zip(MIGRATIONS) {
            if version > current {
                c.batch(&sql.replace("{id}", id))?;
                c.exec(
                    "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)",
                    &[version.into(), now.into()],
                )?;
            }
        }
        Ok(())
    })
}
