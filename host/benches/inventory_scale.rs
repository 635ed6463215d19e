//! Section 11 of `just bench`: the inventory store at fleet scale, on SQLite
//! and on a real PostgreSQL. Synthetic data shaped like the real thing:
//! 10 000 images of 500 packages each (drawn from 10 000 package names in
//! five ecosystems, five versions each; half of each image's from the 500
//! most used names), and 200 000 OSV records of about a kilobyte (an
//! `affected` entry with a range, aliases, a CVSS v3 vector, summary and
//! details) over 200 000 package names, written as osv.dev's `all.zip`.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::json;
use sigward_core::sbom::Package;
use sigward_host::inventory::{Inventory, Query, Sbom, Sighting};

pub const IMAGES: usize = 10_000;
pub const PACKAGES_PER_IMAGE: usize = 500;
pub const ADVISORIES: usize = 200_000;
const NAMES: usize = 10_000;
const VERSIONS: usize = 5;

/// A small deterministic generator (SplitMix64): the same data every run.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

const ECOSYSTEMS: [(&str, &str); 5] = [
    ("npm", "npm"),
    ("pypi", "PyPI"),
    ("cargo", "crates.io"),
    ("golang", "Go"),
    ("deb", "Debian:12"),
];

/// Package name `i`: its purl type, OSV ecosystem and name.
fn name(i: usize) -> (&'static str, &'static str, String) {
    let (purl, osv) = ECOSYSTEMS[i % ECOSYSTEMS.len()];
    let name = match purl {
        "golang" => format!("example.com/mod{i}"),
        _ => format!("pkg{i}"),
    };
    (purl, osv, name)
}

fn version(purl: &str, v: usize) -> String {
    match purl {
        "deb" => format!("1.{v}.0-1"),
        "golang" => format!("v1.{v}.0"),
        _ => format!("1.{v}.0"),
    }
}

fn package(i: usize, v: usize) -> Package {
    let (kind, _, name) = name(i);
    let version = version(kind, v);
    let path = if kind == "deb" {
        format!("debian/{name}")
    } else {
        name.clone()
    };
    Package {
        purl: Some(format!("pkg:{kind}/{path}@{version}")),
        name,
        version,
    }
}

const VECTORS: [&str; 4] = [
    "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
    "CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H",
    "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:L",
    "CVSS:3.1/AV:L/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N",
];

/// OSV record `n`: one package of 200 000 names, the inventory's 10 000
/// among them (so one record in twenty names a package some image holds,
/// as most of OSV's records are about packages a given fleet never uses),
/// fixed at a random one of its versions.
pub fn advisory(n: usize, rng: &mut Rng) -> serde_json::Value {
    let i = rng.below(NAMES * 20);
    let (kind, ecosystem, name) = name(i);
    let fixed = version(kind, 1 + rng.below(VERSIONS));
    json!({
        "schema_version": "1.6.0",
        "id": format!("BENCH-{n:06}"),
        "modified": "2026-06-01T00:00:00Z",
        "published": "2026-05-01T00:00:00Z",
        "aliases": [format!("CVE-2026-{n:06}")],
        "summary": format!("a synthetic advisory against {name}"),
        "details": "x".repeat(400),
        "severity": [{"type": "CVSS_V3", "score": VECTORS[rng.below(VECTORS.len())]}],
        "affected": [{
            "package": {"ecosystem": ecosystem, "name": name},
            "ranges": [{"type": if kind == "golang" { "SEMVER" } else { "ECOSYSTEM" },
                        "events": [{"introduced": "0"}, {"fixed": fixed}]}],
            "database_specific": {"source": "synthetic"},
        }],
        "references": [{"type": "ADVISORY", "url": format!("https://example.test/{n}")}],
    })
}

/// `count` records from `first` as an osv.dev `all.zip`.
pub fn write_archive(path: &Path, first: usize, count: usize, rng: &mut Rng) {
    let mut zip = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for n in first..first + count {
        zip.start_file(format!("BENCH-{n:06}.json"), options)
            .unwrap();
        std::io::Write::write_all(&mut zip, advisory(n, rng).to_string().as_bytes()).unwrap();
    }
    zip.finish().unwrap();
}

/// One back end's figures.
pub struct Scale {
    pub import: Duration,
    pub imported: u64,
    pub fill: Duration,
    pub maintain: Duration,
    pub one: Duration,
    pub one_images: usize,
    pub all: Duration,
    pub findings: usize,
    pub affected_images: usize,
}

/// Fills the store at `url` and asks it.
pub fn run(url: &str, archive: &Path, new_advisory: &Path) -> Scale {
    let mut store = Inventory::open(url).unwrap();
    let started = Instant::now();
    let done = store
        .import(&[archive.to_owned()], sigward_host::inventory::now_micros())
        .unwrap();
    let import = started.elapsed();
    assert!(done.malformed.is_empty());

    let started = Instant::now();
    let mut rng = Rng::new(7);
    let mut batch = Vec::new();
    let mut sboms: Vec<(String, Vec<Package>)> = Vec::new();
    for image in 0..IMAGES {
        let digest = format!("sha256:{image:064x}");
        let mut names = std::collections::BTreeSet::new();
        while names.len() < PACKAGES_PER_IMAGE {
            // Popular packages are in many images: half from the first 5%.
            let i = if rng.below(2) == 0 {
                rng.below(NAMES / 20)
            } else {
                rng.below(NAMES)
            };
            names.insert(i);
        }
        let packages: Vec<Package> = names
            .into_iter()
            .map(|i| package(i, rng.below(VERSIONS)))
            .collect();
        batch.push(Sighting {
            digest: digest.clone(),
            repository: format!("registry.example/team{}/app{image}", image % 50),
            tag: Some("v1".into()),
            rule: Some(0),
            place: None,
            at: 1_780_000_000,
        });
        sboms.push((digest, packages));
        // As a recorder writes: sightings and SBOMs in batches.
        if batch.len() == 100 || image + 1 == IMAGES {
            store.record(&batch).unwrap();
            batch.clear();
            let items: Vec<Sbom<'_>> = sboms
                .iter()
                .map(|(digest, packages)| Sbom {
                    digest,
                    predicate_type: sigward_core::sbom::SPDX,
                    packages,
                    at: 1_780_000_000,
                })
                .collect();
            store.store_sboms(&items).unwrap();
            sboms.clear();
        }
    }
    let fill = started.elapsed();
    // What autovacuum would do by itself soon after such a load.
    let started = Instant::now();
    store.maintain().unwrap();
    let maintain = started.elapsed();

    // A new advisory against the most popular package, imported, then asked.
    store
        .import(
            &[new_advisory.to_owned()],
            sigward_host::inventory::now_micros(),
        )
        .unwrap();
    let query = Query {
        advisory: Some("CVE-2026-999999".into()),
        ..Query::default()
    };
    let mut one_images = 0;
    let mut samples = Vec::new();
    for _ in 0..5 {
        one_images = 0;
        let started = Instant::now();
        store
            .affected(&query, &mut |e| one_images += e.images.len())
            .unwrap();
        samples.push(started.elapsed());
    }
    samples.sort();
    let one = samples[samples.len() / 2];

    let started = Instant::now();
    let mut findings = 0;
    let mut images = std::collections::HashSet::new();
    store
        .affected(&Query::default(), &mut |e| {
            findings += e.images.len();
            for h in e.images {
                images.insert(h.digest.clone());
            }
        })
        .unwrap();
    let all = started.elapsed();
    Scale {
        import,
        imported: done.added,
        fill,
        maintain,
        one,
        one_images,
        all,
        findings,
        affected_images: images.len(),
    }
}

/// The new advisory: every version of package 0, the most used (in about
/// 40% of the images).
pub fn new_advisory(path: &Path) {
    let (kind, ecosystem, name) = name(0);
    let record = json!({
        "id": "BENCH-NEW", "modified": "2026-12-01T00:00:00Z", "aliases": ["CVE-2026-999999"],
        "summary": "newly disclosed",
        "severity": [{"type": "CVSS_V3", "score": VECTORS[0]}],
        "affected": [{"package": {"ecosystem": ecosystem, "name": name},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": version(kind, 9)}]}]}],
    });
    std::fs::write(path, record.to_string()).unwrap();
}
