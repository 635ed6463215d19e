//! Versions in each ecosystem's own order, by well-kept crates: SemVer 2.0
//! (`semver`) for npm, crates.io and Go modules (without their `v`), PEP 440
//! (`pep440_rs`) for PyPI, and dpkg's order (`deb-version`) for Debian.

use std::cmp::Ordering;

/// An ecosystem whose versions can be ordered here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ecosystem {
    Npm,
    CratesIo,
    Go,
    PyPi,
    Debian,
}

impl Ecosystem {
    /// From a purl type.
    pub fn of_purl(kind: &str) -> Option<Self> {
        Some(match kind {
            "npm" => Self::Npm,
            "cargo" => Self::CratesIo,
            "golang" => Self::Go,
            "pypi" => Self::PyPi,
            "deb" => Self::Debian,
            _ => return None,
        })
    }

    /// The ecosystem's name in OSV.
    pub fn osv(self) -> &'static str {
        match self {
            Self::Npm => "npm",
            Self::CratesIo => "crates.io",
            Self::Go => "Go",
            Self::PyPi => "PyPI",
            Self::Debian => "Debian",
        }
    }

    /// From an OSV `affected.package.ecosystem` (`Debian:12` is Debian).
    pub fn of_osv(name: &str) -> Option<Self> {
        let base = name.split(':').next().unwrap_or(name);
        [
            Self::Npm,
            Self::CratesIo,
            Self::Go,
            Self::PyPi,
            Self::Debian,
        ]
        .into_iter()
        .find(|e| e.osv() == base)
    }

    /// Whether an OSV `affected.package.ecosystem` is this one.
    pub fn is_osv(self, name: &str) -> bool {
        Self::of_osv(name) == Some(self)
    }

    /// A package name as OSV compares it, from a purl's name or an
    /// advisory's.
    pub fn osv_name(self, purl_name: &str) -> String {
        match self {
            // PEP 503 normalization.
            Self::PyPi => purl_name.to_ascii_lowercase().replace(['_', '.'], "-"),
            // `debian/openssl`: the namespace is the vendor.
            Self::Debian => purl_name.rsplit('/').next().unwrap_or(purl_name).to_owned(),
            _ => purl_name.to_owned(),
        }
    }

    /// Compares two versions; none when either is not a version here.
    pub fn compare(self, a: &str, b: &str) -> Option<Ordering> {
        match self {
            Self::Npm | Self::CratesIo | Self::Go => {
                let parse = |v: &str| semver::Version::parse(v.strip_prefix('v').unwrap_or(v)).ok();
                Some(parse(a)?.cmp(&parse(b)?))
            }
            Self::PyPi => {
                let parse = |v: &str| v.parse::<pep440_rs::Version>().ok();
                Some(parse(a)?.cmp(&parse(b)?))
            }
            Self::Debian => {
                let valid =
                    |v: &str| !v.is_empty() && v.bytes().next().is_some_and(|c| c.is_ascii_digit());
                (valid(a) && valid(b)).then(|| deb_version::compare_versions(a, b))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Ecosystem::*;
    use std::cmp::Ordering::*;

    #[test]
    fn each_ecosystem_orders_by_its_own_rules() {
        let cases = [
            (Npm, "1.2.3-beta.1", "1.2.3", Less),
            (Npm, "4.17.20", "4.17.21", Less),
            (CratesIo, "0.1.43", "0.2.23", Less),
            (Go, "v0.17.0", "0.23.0", Less),
            (Go, "v1.10.0", "v1.9.9", Greater),
            (PyPi, "2.31.0", "2.32.0", Less),
            (PyPi, "1.0rc1", "1.0", Less),
            (PyPi, "1.0.post1", "1.0", Greater),
            (PyPi, "1.0", "1.0.0", Equal),
            (Debian, "3.0.11-1~deb12u2", "3.0.11-1", Less),
            (Debian, "1:1.0", "2.0", Greater),
            (Debian, "3.0.13-1~deb12u1", "3.0.11-1~deb12u2", Greater),
        ];
        for (ecosystem, a, b, order) in cases {
            assert_eq!(
                ecosystem.compare(a, b),
                Some(order),
                "{ecosystem:?} {a} vs {b}"
            );
        }
        assert_eq!(Npm.compare("not-a-version", "1.0.0"), None);
        assert_eq!(PyPi.compare("1.0", "$$"), None);
    }
}
