//! Reading OSV records (<https://ossf.github.io/osv-schema/>) for import:
//! JSON files, directories of them, and the per-ecosystem `all.zip`
//! archives osv.dev publishes (one record per `.json` entry). A record
//! that does not parse is reported with where it came from and skipped;
//! a file or archive that cannot be read stops the import.

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use sigward_core::advisory::{ADVISORY_BYTES, Advisory};

use super::severity::Level;

/// The most entries one archive may hold (osv.dev's largest, all
/// ecosystems together, holds about a million).
pub const ARCHIVE_ENTRIES: usize = 4_000_000;

/// One record, as the store keeps it.
#[derive(Clone, Debug)]
pub struct Record {
    pub id: String,
    /// `modified`, in microseconds since the Unix epoch.
    pub modified: i64,
    pub withdrawn: Option<i64>,
    pub aliases: Vec<String>,
    pub summary: String,
    pub severity: Level,
    pub score: Option<f64>,
    /// The core's match keys of its `affected` entries.
    pub keys: Vec<String>,
    /// What the core reads: `id`, `aliases`, `affected`, `severity` and
    /// `database_specific.severity`.
    pub matching: String,
}

/// A record that was skipped, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Malformed {
    /// The file, or `archive.zip!entry.json`.
    pub source: String,
    pub reason: String,
}

/// A file or archive that cannot be read: nothing is imported.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unreadable(pub String);

impl fmt::Display for Unreadable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Microseconds since the epoch of an RFC 3339 time.
pub fn micros(text: &str) -> Option<i64> {
    let t =
        time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).ok()?;
    i64::try_from(t.unix_timestamp_nanos() / 1000).ok()
}

/// Reads one record's JSON.
pub fn parse(bytes: &[u8]) -> Result<Record, String> {
    if bytes.len() > ADVISORY_BYTES {
        return Err(format!("larger than {ADVISORY_BYTES} bytes"));
    }
    let value: Value = serde_json::from_slice(bytes).map_err(|e| format!("not JSON: {e}"))?;
    let text = |f: &str| value.get(f).and_then(Value::as_str);
    let id = text("id").filter(|id| !id.is_empty()).ok_or("no `id`")?;
    let modified = text("modified").ok_or("no `modified`")?;
    let modified =
        micros(modified).ok_or_else(|| format!("`modified` is not RFC 3339: {modified}"))?;
    let withdrawn = match text("withdrawn") {
        Some(w) => Some(micros(w).ok_or_else(|| format!("`withdrawn` is not RFC 3339: {w}"))?),
        None => None,
    };
    let affected = value
        .get("affected")
        .cloned()
        .unwrap_or(Value::Array(Vec::new()));
    if !affected.is_array() {
        return Err("`affected` is not a list".into());
    }
    // What the core reads of a record, to match it and to judge it.
    let mut matching = json!({"id": id, "affected": affected});
    for field in ["aliases", "severity"] {
        if let Some(v) = value.get(field) {
            matching[field] = v.clone();
        }
    }
    if let Some(level) = value
        .get("database_specific")
        .and_then(|d| d.get("severity"))
    {
        matching["database_specific"] = json!({"severity": level});
    }
    let matching = matching.to_string();
    let advisory = Advisory::parse(matching.as_bytes())?;
    Ok(Record {
        id: id.to_owned(),
        modified,
        withdrawn,
        summary: text("summary").unwrap_or_default().to_owned(),
        severity: advisory.severity,
        score: advisory.score,
        keys: advisory.keys(),
        aliases: advisory.aliases,
        matching,
    })
}

/// Every record under `paths`, in path order (archives in entry order),
/// each handed to `each` parsed or as the reason it was skipped. `each`
/// stops the reading by returning an error.
pub fn read<E: From<Unreadable>>(
    paths: &[PathBuf],
    each: &mut dyn FnMut(Result<Record, Malformed>) -> Result<(), E>,
) -> Result<(), E> {
    for path in paths {
        for file in files(path)? {
            let source = file.display().to_string();
            if file.extension().is_some_and(|e| e == "zip") {
                archive(&file, each)?;
            } else {
                let bytes = read_bounded(&file)?;
                each(parse(&bytes).map_err(|reason| Malformed { source, reason }))?;
            }
        }
    }
    Ok(())
}

/// `path` itself, or every `.json` and `.zip` file under it, sorted.
pub fn files(path: &Path) -> Result<Vec<PathBuf>, Unreadable> {
    let cannot = |p: &Path, e: std::io::Error| Unreadable(format!("{}: {e}", p.display()));
    let meta = std::fs::metadata(path).map_err(|e| cannot(path, e))?;
    if !meta.is_dir() {
        return Ok(vec![path.to_owned()]);
    }
    let mut out = Vec::new();
    let mut pending = vec![path.to_owned()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).map_err(|e| cannot(&dir, e))? {
            let p = entry.map_err(|e| cannot(&dir, e))?.path();
            if p.is_dir() {
                pending.push(p);
            } else if p.extension().is_some_and(|e| e == "json" || e == "zip") {
                out.push(p);
            }
        }
    }
    out.sort();
    Ok(out)
}

fn read_bounded(path: &Path) -> Result<Vec<u8>, Unreadable> {
    let file =
        std::fs::File::open(path).map_err(|e| Unreadable(format!("{}: {e}", path.display())))?;
    let mut bytes = Vec::new();
    file.take(ADVISORY_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Unreadable(format!("{}: {e}", path.display())))?;
    Ok(bytes)
}

/// The `.json` entries of an osv.dev archive. An entry larger than a record
/// may be is skipped as malformed; a damaged archive (bad CRC, truncated,
/// not a zip) stops the import.
fn archive<E: From<Unreadable>>(
    path: &Path,
    each: &mut dyn FnMut(Result<Record, Malformed>) -> Result<(), E>,
) -> Result<(), E> {
    let name = path.display().to_string();
    let damaged = |e: &dyn fmt::Display| Unreadable(format!("{name}: damaged archive: {e}"));
    let file = std::fs::File::open(path).map_err(|e| Unreadable(format!("{name}: {e}")))?;
    let mut zip = zip::ZipArchive::new(std::io::BufReader::new(file)).map_err(|e| damaged(&e))?;
    if zip.len() > ARCHIVE_ENTRIES {
        return Err(Unreadable(format!(
            "{name}: {} entries, at most {ARCHIVE_ENTRIES} allowed",
            zip.len()
        ))
        .into());
    }
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i).map_err(|e| damaged(&e))?;
        let entry_name = entry.name().map_err(|e| damaged(&e))?.into_owned();
        if !entry.is_file() || !entry_name.ends_with(".json") {
            continue;
        }
        let source = format!("{name}!{entry_name}");
        if entry.size() > ADVISORY_BYTES as u64 {
            each(Err(Malformed {
                source,
                reason: format!("larger than {ADVISORY_BYTES} bytes"),
            }))?;
            continue;
        }
        let mut bytes = Vec::new();
        // The declared size is checked above; `take` bounds a lying one.
        (&mut entry)
            .take(ADVISORY_BYTES as u64 + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| damaged(&format!("{entry_name}: {e}")))?;
        each(parse(&bytes).map_err(|reason| Malformed { source, reason }))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_parse_and_malformed_ones_say_why() {
        let record = parse(
            br#"{"id": "GHSA-x", "modified": "2024-03-01T10:00:00.5Z", "aliases": ["CVE-2024-1", "CVE-2024-1"],
                "withdrawn": "2024-04-01T00:00:00Z",
                "affected": [{"package": {"ecosystem": "npm", "name": "lodash"},
                              "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "4.17.21"}]}]}]}"#,
        );
        let record = record.unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(record.modified, 1_709_287_200_500_000);
        assert_eq!(record.aliases, vec!["CVE-2024-1"]);
        assert!(record.withdrawn.is_some());
        assert_eq!(record.keys, vec!["npm:lodash"]);
        for (json, reason) in [
            (&b"{"[..], "not JSON"),
            (br#"{"modified": "2024-01-01T00:00:00Z"}"#, "no `id`"),
            (br#"{"id": "X"}"#, "no `modified`"),
            (
                br#"{"id": "X", "modified": "yesterday"}"#,
                "`modified` is not RFC 3339",
            ),
            (
                br#"{"id": "X", "modified": "2024-01-01T00:00:00Z", "affected": {}}"#,
                "`affected` is not a list",
            ),
        ] {
            let got = parse(json).map(|r| r.id);
            assert!(matches!(&got, Err(e) if e.starts_with(reason)), "{got:?}");
        }
    }
}
