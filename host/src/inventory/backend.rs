//! The two SQL back ends behind one small interface: an embedded SQLite
//! file (rusqlite, SQLite compiled in) or a PostgreSQL server (`postgres`).
//! Statements are written once, with PostgreSQL's `$N` placeholders
//! (SQLite reads them as `?N`); only the schema differs.

use std::fmt;

/// One value bound to a statement or read from a row. Integers are 64-bit
/// (`BIGINT` in PostgreSQL), so both back ends agree on every column.
#[derive(Clone, Debug, PartialEq)]
pub enum Sql {
    Int(Option<i64>),
    Text(Option<String>),
    Real(Option<f64>),
}

impl Sql {
    pub fn int(&self) -> Option<i64> {
        match self {
            Self::Int(v) => *v,
            _ => None,
        }
    }

    pub fn text(&self) -> Option<&str> {
        match self {
            Self::Text(v) => v.as_deref(),
            _ => None,
        }
    }

    /// The text, or empty for a null or another type.
    pub fn string(&self) -> String {
        self.text().unwrap_or_default().to_owned()
    }

    pub fn real(&self) -> Option<f64> {
        match self {
            Self::Real(v) => *v,
            Self::Int(v) => v.map(|v| v as f64),
            _ => None,
        }
    }
}

impl From<i64> for Sql {
    fn from(v: i64) -> Self {
        Self::Int(Some(v))
    }
}
impl From<Option<i64>> for Sql {
    fn from(v: Option<i64>) -> Self {
        Self::Int(v)
    }
}
impl From<&str> for Sql {
    fn from(v: &str) -> Self {
        Self::Text(Some(v.to_owned()))
    }
}
impl From<String> for Sql {
    fn from(v: String) -> Self {
        Self::Text(Some(v))
    }
}
impl From<Option<String>> for Sql {
    fn from(v: Option<String>) -> Self {
        Self::Text(v)
    }
}
impl From<Option<f64>> for Sql {
    fn from(v: Option<f64>) -> Self {
        Self::Real(v)
    }
}

pub type Row = Vec<Sql>;

/// A store that failed: which statement or step, and the back end's words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreError {
    pub what: String,
    pub reason: String,
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "inventory store: {}: {}", self.what, self.reason)
    }
}

impl std::error::Error for StoreError {}

fn failed(what: &str, error: impl fmt::Display) -> StoreError {
    StoreError {
        what: what.to_owned(),
        reason: error.to_string(),
    }
}

/// The first line of a statement, to name it in errors.
fn name(sql: &str) -> &str {
    sql.trim().lines().next().unwrap_or_default().trim()
}

/// Which back end, for the few places where the SQL differs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Sqlite,
    Postgres,
}

/// An open connection.
pub enum Conn {
    Sqlite(rusqlite::Connection),
    Postgres(Box<postgres::Client>),
}

/// Rows per multi-row `INSERT`: well under SQLite's 32 766 variables and
/// PostgreSQL's 65 535 parameters for the widest table.
pub const INSERT_ROWS: usize = 500;

impl Conn {
    /// Opens `url`: `postgres://` or `postgresql://` is a server, anything
    /// else (`sqlite://PATH` or a plain path) a SQLite file, made if absent.
    pub fn open(url: &str) -> Result<Self, StoreError> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let client = postgres::Client::connect(url, postgres::NoTls)
                .map_err(|e| failed("connect to PostgreSQL", error_chain(&e)))?;
            return Ok(Self::Postgres(Box::new(client)));
        }
        let path = url.strip_prefix("sqlite://").unwrap_or(url);
        if let Some(dir) = std::path::Path::new(path).parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir).map_err(|e| failed(&format!("create {path}"), e))?;
        }
        let conn =
            rusqlite::Connection::open(path).map_err(|e| failed(&format!("open {path}"), e))?;
        // WAL: readers (`affected`) never wait on the writer (`serve`); a
        // writer waits up to 5 s for another instead of failing at once.
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;",
        )
        .map_err(|e| failed("configure SQLite", e))?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(|e| failed("configure SQLite", e))?;
        Ok(Self::Sqlite(conn))
    }

    pub fn kind(&self) -> Kind {
        match self {
            Self::Sqlite(_) => Kind::Sqlite,
            Self::Postgres(_) => Kind::Postgres,
        }
    }

    /// Statements without parameters, run in order.
    pub fn batch(&mut self, sql: &str) -> Result<(), StoreError> {
        match self {
            Self::Sqlite(c) => c.execute_batch(sql).map_err(|e| failed(name(sql), e)),
            Self::Postgres(c) => c
                .batch_execute(sql)
                .map_err(|e| failed(name(sql), error_chain(&e))),
        }
    }

    /// One statement; the number of rows it changed.
    pub fn exec(&mut self, sql: &str, params: &[Sql]) -> Result<u64, StoreError> {
        match self {
            Self::Sqlite(c) => {
                let mut statement = c
                    .prepare_cached(&sqlite_sql(sql))
                    .map_err(|e| failed(name(sql), e))?;
                let n = statement
                    .execute(rusqlite::params_from_iter(params.iter().map(SqliteValue)))
                    .map_err(|e| failed(name(sql), e))?;
                Ok(n as u64)
            }
            Self::Postgres(c) => {
                let statement = c
                    .prepare(sql)
                    .map_err(|e| failed(name(sql), error_chain(&e)))?;
                let values = pg_params(params);
                let refs: Vec<&(dyn postgres::types::ToSql + Sync)> =
                    values.iter().map(|v| v.as_ref()).collect();
                c.execute(&statement, &refs)
                    .map_err(|e| failed(name(sql), error_chain(&e)))
            }
        }
    }

    /// Every row of a query, handed to `each` as it is read (no result set
    /// is held whole); `each` may stop the scan with an error.
    pub fn each(
        &mut self,
        sql: &str,
        params: &[Sql],
        each: &mut dyn FnMut(Row) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        match self {
            Self::Sqlite(c) => {
                let mut statement = c
                    .prepare_cached(&sqlite_sql(sql))
                    .map_err(|e| failed(name(sql), e))?;
                let width = statement.column_count();
                let mut rows = statement
                    .query(rusqlite::params_from_iter(params.iter().map(SqliteValue)))
                    .map_err(|e| failed(name(sql), e))?;
                while let Some(row) = rows.next().map_err(|e| failed(name(sql), e))? {
                    let mut out = Vec::with_capacity(width);
                    for i in 0..width {
                        out.push(sqlite_read(row, i).map_err(|e| failed(name(sql), e))?);
                    }
                    each(out)?;
                }
                Ok(())
            }
            Self::Postgres(c) => {
                use postgres::fallible_iterator::FallibleIterator;
                let values = pg_params(params);
                let refs = values
                    .iter()
                    .map(|v| v.as_ref() as &dyn postgres::types::ToSql);
                let mut rows = c
                    .query_raw(sql, refs)
                    .map_err(|e| failed(name(sql), error_chain(&e)))?;
                while let Some(row) = rows
                    .next()
                    .map_err(|e| failed(name(sql), error_chain(&e)))?
                {
                    each(pg_read(&row).map_err(|e| failed(name(sql), e))?)?;
                }
                Ok(())
            }
        }
    }

    /// Every row of a query, collected: for results bounded by their query.
    pub fn rows(&mut self, sql: &str, params: &[Sql]) -> Result<Vec<Row>, StoreError> {
        let mut out = Vec::new();
        self.each(sql, params, &mut |row| {
            out.push(row);
            Ok(())
        })?;
        Ok(out)
    }

    /// Inserts `values` (rows of `width` values, flattened) as
    /// `{head} VALUES (...), (...) {tail}`, [`INSERT_ROWS`] rows at a time.
    pub fn insert_many(
        &mut self,
        head: &str,
        width: usize,
        values: &[Sql],
        tail: &str,
    ) -> Result<(), StoreError> {
        if width == 0 {
            return Ok(());
        }
        for chunk in values.chunks(width * INSERT_ROWS) {
            let rows = chunk.len() / width;
            let mut sql = String::with_capacity(head.len() + tail.len() + rows * width * 6);
            sql.push_str(head);
            sql.push_str(" VALUES ");
            for r in 0..rows {
                sql.push_str(if r == 0 { "(" } else { ", (" });
                for c in 0..width {
                    if c > 0 {
                        sql.push_str(", ");
                    }
                    sql.push('$');
                    sql.push_str(&(r * width + c + 1).to_string());
                }
                sql.push(')');
            }
            sql.push(' ');
            sql.push_str(tail);
            self.exec(&sql, chunk)?;
        }
        Ok(())
    }

    /// Runs `work` in one transaction: all of it is committed, or none.
    pub fn transaction<T, E: From<StoreError>>(
        &mut self,
        work: impl FnOnce(&mut Self) -> Result<T, E>,
    ) -> Result<T, E> {
        // SQLite: IMMEDIATE takes the write lock now, so two writers wait
        // for each other (busy_timeout) rather than fail on upgrade.
        let begin = match self.kind() {
            Kind::Sqlite => "BEGIN IMMEDIATE",
            Kind::Postgres => "BEGIN",
        };
        self.batch(begin)?;
        match work(self) {
            Ok(value) => {
                self.batch("COMMIT")?;
                Ok(value)
            }
            Err(e) => {
                // The error that matters is `e`; a failed rollback (the
                // connection gone) leaves nothing committed either.
                let _ = self.batch("ROLLBACK");
                Err(e)
            }
        }
    }
}

/// `$N` to `?N`: SQLite numbers `$N` parameters in order of appearance, so
/// `$2` before `$1` would swap them; `?N` is the explicit index.
fn sqlite_sql(sql: &str) -> String {
    sql.replace('$', "?")
}

struct SqliteValue<'a>(&'a Sql);

impl rusqlite::ToSql for SqliteValue<'_> {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, Value, ValueRef};
        Ok(match self.0 {
            Sql::Int(Some(v)) => ToSqlOutput::Owned(Value::Integer(*v)),
            Sql::Text(Some(v)) => ToSqlOutput::Borrowed(ValueRef::Text(v.as_bytes())),
            Sql::Real(Some(v)) => ToSqlOutput::Owned(Value::Real(*v)),
            Sql::Int(None) | Sql::Text(None) | Sql::Real(None) => ToSqlOutput::Owned(Value::Null),
        })
    }
}

fn sqlite_read(row: &rusqlite::Row<'_>, i: usize) -> Result<Sql, String> {
    use rusqlite::types::ValueRef;
    Ok(match row.get_ref(i).map_err(|e| e.to_string())? {
        ValueRef::Null => Sql::Int(None),
        ValueRef::Integer(v) => Sql::Int(Some(v)),
        ValueRef::Real(v) => Sql::Real(Some(v)),
        ValueRef::Text(t) => Sql::Text(Some(
            std::str::from_utf8(t)
                .map_err(|_| format!("column {i} is not UTF-8"))?
                .to_owned(),
        )),
        ValueRef::Blob(_) => return Err(format!("column {i} is a blob")),
    })
}

type PgValue = Box<dyn postgres::types::ToSql + Sync>;

fn pg_params(params: &[Sql]) -> Vec<PgValue> {
    params
        .iter()
        .map(|p| -> PgValue {
            match p {
                Sql::Int(v) => Box::new(*v),
                Sql::Text(v) => Box::new(v.clone()),
                Sql::Real(v) => Box::new(*v),
            }
        })
        .collect()
}

fn pg_read(row: &postgres::Row) -> Result<Row, String> {
    use postgres::types::Type;
    let mut out = Vec::with_capacity(row.len());
    for (i, column) in row.columns().iter().enumerate() {
        let t = column.type_();
        let value = if *t == Type::INT8 {
            Sql::Int(
                row.try_get::<_, Option<i64>>(i)
                    .map_err(|e| e.to_string())?,
            )
        } else if *t == Type::INT4 {
            Sql::Int(
                row.try_get::<_, Option<i32>>(i)
                    .map_err(|e| e.to_string())?
                    .map(i64::from),
            )
        } else if *t == Type::FLOAT8 {
            Sql::Real(
                row.try_get::<_, Option<f64>>(i)
                    .map_err(|e| e.to_string())?,
            )
        } else if *t == Type::TEXT || *t == Type::VARCHAR {
            Sql::Text(
                row.try_get::<_, Option<String>>(i)
                    .map_err(|e| e.to_string())?,
            )
        } else {
            return Err(format!("column {} has type {t}", column.name()));
        };
        out.push(value);
    }
    Ok(out)
}

/// A PostgreSQL error with the server's message, which `Display` omits.
fn error_chain(error: &postgres::Error) -> String {
    match error.as_db_error() {
        Some(db) => format!("{}: {}", db.code().code(), db.message()),
        None => crate::oci::with_causes(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_round_trip_and_placeholders_by_index() -> Result<(), StoreError> {
        let mut conn =
            Conn::Sqlite(rusqlite::Connection::open_in_memory().map_err(|e| failed("open", e))?);
        conn.batch("CREATE TABLE t (a BIGINT, b TEXT, c DOUBLE PRECISION)")?;
        conn.exec(
            "INSERT INTO t (b, a, c) VALUES ($2, $1, $3)",
            &[7.into(), "seven".into(), Some(0.5).into()],
        )?;
        let values: Vec<Sql> = (0..1200)
            .flat_map(|i| [Sql::from(i), Sql::from(format!("n{i}")), Sql::Real(None)])
            .collect();
        conn.insert_many("INSERT INTO t (a, b, c)", 3, &values, "")?;
        let rows = conn.rows("SELECT a, b, c FROM t WHERE a = $1", &[7.into()])?;
        assert_eq!(rows.len(), 2);
        assert_eq!(
            rows[0],
            vec![Sql::from(7), Sql::from("seven"), Sql::Real(Some(0.5))]
        );
        assert_eq!(
            conn.rows("SELECT COUNT(*) FROM t", &[])?[0][0].int(),
            Some(1201)
        );
        let failed_work = conn.transaction::<(), StoreError>(|c| {
            c.exec("DELETE FROM t", &[])?;
            Err(failed("on purpose", "rolled back"))
        });
        assert!(failed_work.is_err());
        assert_eq!(
            conn.rows("SELECT COUNT(*) FROM t", &[])?[0][0].int(),
            Some(1201)
        );
        Ok(())
    }
}
