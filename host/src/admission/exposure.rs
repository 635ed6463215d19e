//! Which admitted images the advisories held affect, for `/metrics`: the
//! images whose verified SBOM this server read (at a gated admission, or
//! when `--db` records a new digest), each with the severities of the
//! advisories that affect one of its packages. Counted again whenever the
//! advisories change. This is reporting, not deciding: the same core
//! matcher the component runs, linked natively.

use std::collections::{HashMap, VecDeque};
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};

use sigward_core::advisory::Advisory;
use sigward_core::advisory::severity::Level;
use sigward_core::sbom::Package;

use crate::advisories::Held;

/// Images kept, and packages across them; the oldest go first.
const IMAGES: usize = 10_000;
const PACKAGES: usize = 5_000_000;

#[derive(Default)]
struct Tracked {
    /// By digested reference: the packages, and the levels that affect them.
    images: HashMap<String, (Arc<[Package]>, Levels)>,
    order: VecDeque<String>,
    packages: usize,
    /// The version of the advisories the levels were found with.
    version: u64,
}

/// A set of severity levels.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Levels(u8);

impl Levels {
    fn has(self, level: Level) -> bool {
        self.0 & (1 << level.rank()) != 0
    }
}

/// The images admitted, and how the advisories held affect them.
#[derive(Default)]
pub struct Exposure {
    tracked: Mutex<Tracked>,
}

/// The levels of the advisories in `held` that affect `packages`; `None`
/// when the advisories cannot be read.
fn levels(held: &Held, packages: &[Package]) -> Option<Levels> {
    let mut levels = Levels::default();
    for record in held.candidates(packages).ok()? {
        let Ok(advisory) = Advisory::parse(record.as_bytes()) else {
            continue;
        };
        if packages.iter().any(|p| advisory.affects(p).is_some()) {
            levels.0 |= 1 << advisory.severity.rank();
        }
    }
    Some(levels)
}

impl Exposure {
    /// An admitted image and its verified SBOM's packages.
    pub fn observe(&self, held: &Held, digested: &str, packages: Arc<[Package]>) {
        let version = held.version();
        if let Ok(t) = self.tracked.lock()
            && t.version == version
            && t.images.contains_key(digested)
        {
            return;
        }
        let Some(found) = levels(held, &packages) else {
            return;
        };
        let Ok(mut t) = self.tracked.lock() else {
            return;
        };
        let added = packages.len();
        match t.images.insert(digested.to_owned(), (packages, found)) {
            Some((old, _)) => t.packages -= old.len(),
            None => t.order.push_back(digested.to_owned()),
        }
        t.packages += added;
        while t.images.len() > IMAGES || t.packages > PACKAGES {
            let Some(oldest) = t.order.pop_front() else {
                break;
            };
            if let Some((old, _)) = t.images.remove(&oldest) {
                t.packages -= old.len();
            }
        }
        t.version = t.version.max(version);
    }

    /// Counts every image again if the advisories changed since.
    pub fn recount(&self, held: &Held) {
        let version = held.version();
        let images: Vec<(String, Arc<[Package]>)> = match self.tracked.lock() {
            Ok(t) if t.version != version => t
                .images
                .iter()
                .map(|(k, (p, _))| (k.clone(), p.clone()))
                .collect(),
            _ => return,
        };
        let mut found = Vec::with_capacity(images.len());
        for (digested, packages) in images {
            match levels(held, &packages) {
                Some(levels) => found.push((digested, levels)),
                // Unreadable now: counted again at the next change.
                None => return,
            }
        }
        if let Ok(mut t) = self.tracked.lock() {
            for (digested, levels) in found {
                if let Some(entry) = t.images.get_mut(&digested) {
                    entry.1 = levels;
                }
            }
            t.version = version;
        }
    }

    /// The gauges, in Prometheus text format.
    pub fn render(&self, held: &Held, out: &mut String) {
        let Ok(t) = self.tracked.lock() else {
            return;
        };
        let _ = writeln!(
            out,
            "# HELP sigward_admitted_images_affected Admitted images (whose verified SBOM this server read) that an advisory held affects, by the advisory's severity.\n\
             # TYPE sigward_admitted_images_affected gauge"
        );
        for level in Level::ALL.into_iter().rev() {
            let count = t.images.values().filter(|(_, l)| l.has(level)).count();
            let _ = writeln!(
                out,
                "sigward_admitted_images_affected{{severity=\"{level}\"}} {count}"
            );
        }
        let _ = writeln!(
            out,
            "# HELP sigward_admitted_images_tracked Admitted images whose verified SBOM this server read.\n\
             # TYPE sigward_admitted_images_tracked gauge\n\
             sigward_admitted_images_tracked {}\n\
             # HELP sigward_advisories_held Advisories held for rules that gate on them.\n\
             # TYPE sigward_advisories_held gauge\n\
             sigward_advisories_held {}",
            t.images.len(),
            held.count()
        );
    }
}
