//! OSV advisories (<https://ossf.github.io/osv-schema/>) against the
//! packages of a verified SBOM: which packages an advisory affects, by
//! purl, by the version ranges OSV gives (`SEMVER` and `ECOSYSTEM`, each in
//! its ecosystem's own order) and by its explicit `versions` lists; and
//! how severe each is ([`severity`]).

pub mod purl;
pub mod severity;
pub mod version;

use std::cmp::Ordering;

use serde_json::Value;

use crate::sbom::Package;
use purl::Purl;
use severity::Level;
use version::Ecosystem;

/// The most bytes one advisory may have.
pub const ADVISORY_BYTES: usize = 4 * 1024 * 1024;

/// One advisory, as much of it as matching needs.
#[derive(Clone, Debug)]
pub struct Advisory {
    pub id: String,
    /// Other ids of the same vulnerability (CVE ids), sorted, without repeats.
    pub aliases: Vec<String>,
    pub severity: Level,
    /// The CVSS base score the severity comes from, when a vector gave it.
    pub score: Option<f64>,
    affected: Vec<Affected>,
}

#[derive(Clone, Debug)]
struct Affected {
    ecosystem: String,
    name: String,
    /// `affected.package.purl`, without its version, when given.
    purl: Option<String>,
    ranges: Vec<Range>,
    versions: Vec<String>,
}

#[derive(Clone, Debug)]
struct Range {
    /// `SEMVER` or `ECOSYSTEM`; `GIT` ranges are not versions and are skipped.
    kind: String,
    events: Vec<Event>,
}

#[derive(Clone, Debug)]
enum Event {
    Introduced(String),
    Fixed(String),
    LastAffected(String),
    Limit(String),
}

/// A package an advisory affects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub package: Package,
    pub advisory: String,
    /// The first fixed version after the package's, when the advisory gives one.
    pub fixed: Option<String>,
}

impl Advisory {
    /// Reads one OSV advisory (JSON).
    pub fn parse(json: &[u8]) -> Result<Self, String> {
        if json.len() > ADVISORY_BYTES {
            return Err(format!("larger than {ADVISORY_BYTES} bytes"));
        }
        let value: Value = serde_json::from_slice(json).map_err(|e| format!("not JSON: {e}"))?;
        let text = |v: &Value, f: &str| v.get(f).and_then(Value::as_str).map(str::to_owned);
        let id = text(&value, "id").ok_or("no `id`")?;
        let mut affected = Vec::new();
        for entry in value
            .get("affected")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let package = entry.get("package").unwrap_or(&Value::Null);
            let ranges = entry
                .get("ranges")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|r| Range {
                    kind: text(r, "type").unwrap_or_default(),
                    events: r
                        .get("events")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .filter_map(|e| {
                            let at = |k| text(e, k);
                            at("introduced")
                                .map(Event::Introduced)
                                .or_else(|| at("fixed").map(Event::Fixed))
                                .or_else(|| at("last_affected").map(Event::LastAffected))
                                .or_else(|| at("limit").map(Event::Limit))
                        })
                        .collect(),
                })
                .collect();
            affected.push(Affected {
                ecosystem: text(package, "ecosystem").unwrap_or_default(),
                name: text(package, "name").unwrap_or_default(),
                purl: text(package, "purl").and_then(|p| purl_key(&p)),
                ranges,
                versions: entry
                    .get("versions")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect(),
            });
        }
        let mut aliases: Vec<String> = value
            .get("aliases")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|a| a.as_str().map(str::to_owned))
            .collect();
        aliases.sort_unstable();
        aliases.dedup();
        let (severity, score) = severity::of_record(&value);
        Ok(Self {
            id,
            aliases,
            severity,
            score,
            affected,
        })
    }

    /// Whether `name` is this advisory's id or one of its aliases.
    pub fn is_named(&self, name: &str) -> bool {
        self.id == name || self.aliases.iter().any(|a| a == name)
    }

    /// Whether this advisory affects `package`: its finding, if so.
    pub fn affects(&self, package: &Package) -> Option<Finding> {
        let purl = Purl::parse(package.purl.as_deref()?)?;
        let version = purl
            .version
            .clone()
            .unwrap_or_else(|| package.version.clone());
        let ecosystem = Ecosystem::of_purl(&purl.kind);
        let unversioned = purl_key(package.purl.as_deref()?)?;
        for entry in &self.affected {
            let named = match (&entry.purl, ecosystem) {
                (Some(p), _) => *p == unversioned,
                (None, Some(e)) => {
                    e.is_osv(&entry.ecosystem) && entry.name == e.osv_name(&purl.name)
                }
                (None, None) => false,
            };
            if !named {
                continue;
            }
            let fixed = || {
                let e = ecosystem?;
                entry
                    .ranges
                    .iter()
                    .flat_map(|r| &r.events)
                    .filter_map(|ev| match ev {
                        Event::Fixed(f) if e.compare(f, &version) == Some(Ordering::Greater) => {
                            Some(f)
                        }
                        _ => None,
                    })
                    .min_by(|a, b| e.compare(a, b).unwrap_or(Ordering::Equal))
                    .cloned()
            };
            let listed = entry.versions.contains(&version);
            let in_range = ecosystem.is_some_and(|e| {
                entry
                    .ranges
                    .iter()
                    .filter(|r| r.kind == "SEMVER" || r.kind == "ECOSYSTEM")
                    .any(|r| in_range(e, &r.events, &version))
            });
            if listed || in_range {
                return Some(Finding {
                    package: package.clone(),
                    advisory: self.id.clone(),
                    fixed: fixed(),
                });
            }
        }
        None
    }
}

/// OSV's evaluation of one range: events in version order (`0` first);
/// `introduced` opens it, `fixed` and `limit` close it before their
/// version, `last_affected` after its own.
fn in_range(ecosystem: Ecosystem, events: &[Event], version: &str) -> bool {
    let at = |v: &str| -> Option<Ordering> {
        if v == "0" {
            return Some(Ordering::Greater);
        }
        ecosystem.compare(version, v)
    };
    let mut sorted: Vec<&Event> = events.iter().collect();
    let key = |e: &Event| -> String {
        match e {
            Event::Introduced(v) | Event::Fixed(v) | Event::LastAffected(v) | Event::Limit(v) => {
                v.clone()
            }
        }
    };
    sorted.sort_by(|a, b| {
        let (a, b) = (key(a), key(b));
        match (a.as_str(), b.as_str()) {
            ("0", "0") => Ordering::Equal,
            ("0", _) => Ordering::Less,
            (_, "0") => Ordering::Greater,
            _ => ecosystem.compare(&a, &b).unwrap_or(Ordering::Equal),
        }
    });
    let mut affected = false;
    for event in sorted {
        match event {
            Event::Introduced(v) => {
                if matches!(at(v), Some(Ordering::Greater | Ordering::Equal)) {
                    affected = true;
                }
            }
            Event::Fixed(v) | Event::Limit(v) => {
                if matches!(at(v), Some(Ordering::Greater | Ordering::Equal)) {
                    affected = false;
                }
            }
            Event::LastAffected(v) => {
                if matches!(at(v), Some(Ordering::Greater)) {
                    affected = false;
                }
            }
        }
    }
    affected
}

impl Advisory {
    /// The keys its entries are found by (see [`package_keys`]): a store
    /// that indexes advisories and packages by them finds every candidate
    /// pair that [`Advisory::affects`] then decides.
    pub fn keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = self.affected.iter().filter_map(entry_key).collect();
        keys.sort_unstable();
        keys.dedup();
        keys
    }
}

/// The keys an advisory's entry is found by: its purl without version, or
/// its ecosystem and normalized name.
fn entry_key(entry: &Affected) -> Option<String> {
    if let Some(purl) = &entry.purl {
        return Some(purl.clone());
    }
    let e = Ecosystem::of_osv(&entry.ecosystem)?;
    Some(format!("{}:{}", e.osv(), e.osv_name(&entry.name)))
}

/// A purl as advisories and packages are compared by it: type and decoded
/// name, without version, qualifiers (`?arch=source`) or subpath.
fn purl_key(text: &str) -> Option<String> {
    let purl = Purl::parse(text)?;
    Some(format!("pkg:{}/{}", purl.kind, purl.name))
}

/// The keys a package is found by: its purl without version, and its OSV
/// ecosystem and normalized name when the ecosystem is one ordered here.
pub fn package_keys(package: &Package) -> Vec<String> {
    let Some(text) = package.purl.as_deref() else {
        return Vec::new();
    };
    let mut keys: Vec<String> = purl_key(text).into_iter().collect();
    if let Some(purl) = Purl::parse(text)
        && let Some(e) = Ecosystem::of_purl(&purl.kind)
    {
        keys.push(format!("{}:{}", e.osv(), e.osv_name(&purl.name)));
    }
    keys
}

/// Every finding of `advisories` in `packages`, in package order, then
/// advisory order. Advisories are indexed by package first, so the work is
/// about packages plus advisories, not their product.
pub fn affected(packages: &[Package], advisories: &[Advisory]) -> Vec<Finding> {
    let mut index: std::collections::HashMap<String, Vec<usize>> = std::collections::HashMap::new();
    for (i, advisory) in advisories.iter().enumerate() {
        for key in advisory.affected.iter().filter_map(entry_key) {
            let list = index.entry(key).or_default();
            if list.last() != Some(&i) {
                list.push(i);
            }
        }
    }
    let mut findings = Vec::new();
    for package in packages {
        let mut candidates: Vec<usize> = package_keys(package)
            .iter()
            .filter_map(|k| index.get(k))
            .flatten()
            .copied()
            .collect();
        candidates.sort_unstable();
        candidates.dedup();
        findings.extend(
            candidates
                .into_iter()
                .filter_map(|i| advisories.get(i)?.affects(package)),
        );
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;

    fn package(purl: &str) -> Package {
        Package {
            name: String::new(),
            version: String::new(),
            purl: Some(purl.to_owned()),
        }
    }

    #[test]
    fn purls_compare_without_qualifiers_and_by_decoded_name() {
        // OSV's Debian records name the source package with a qualifier.
        let debian = Advisory::parse(
            br#"{"id": "DEBIAN-CVE-2024-0727", "affected": [{"package": {"ecosystem": "Debian:12",
                "name": "openssl", "purl": "pkg:deb/debian/openssl?arch=source"},
                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "3.0.13-1~deb12u1"}]}]}]}"#,
        )
        .unwrap_or_else(|e| unreachable!("{e}"));
        let installed =
            package("pkg:deb/debian/openssl@3.0.11-1~deb12u2?arch=amd64&distro=debian-12");
        let found = debian.affects(&installed).map(|f| f.fixed);
        assert_eq!(found, Some(Some("3.0.13-1~deb12u1".to_owned())));
        assert_eq!(debian.keys(), package_keys(&installed)[..1].to_vec());
        // A scope written bare or encoded is the same package; another scope is not.
        let scoped = Advisory::parse(
            br#"{"id": "X", "affected": [{"package": {"ecosystem": "npm", "name": "@babel/core",
                "purl": "pkg:npm/@babel/core"}, "versions": ["7.0.0"]}]}"#,
        )
        .unwrap_or_else(|e| unreachable!("{e}"));
        assert!(
            scoped
                .affects(&package("pkg:npm/%40babel/core@7.0.0"))
                .is_some()
        );
        assert!(
            scoped
                .affects(&package("pkg:npm/@babel/traverse@7.0.0"))
                .is_none()
        );
    }
}
