//! The gate on current advisories (sigward's `advisories`): no advisory
//! the rule denies affects a package of the image's verified SBOM. The
//! SBOM is the one the rule's own attestations proved; the advisories are
//! the OSV records the host holds now.

use std::collections::HashMap;

use super::attestation::Attested;
use crate::advisory::{self, Advisory, Finding};
use crate::policy::advisories::AdvisoryGate;
use crate::sbom;

/// The most denied findings a refusal's trace lists.
const LISTED: usize = 20;

/// Why the gate refused: the findings it denies, worst first.
#[derive(Clone, Debug)]
pub enum Refusal {
    /// An advisory the host gave that does not parse.
    Malformed {
        index: usize,
        reason: String,
    },
    /// The verified SBOM that cannot be read.
    Sbom(String),
    Denied(Vec<Denied>),
}

/// A finding the gate denies.
#[derive(Clone, Debug)]
pub struct Denied {
    pub finding: Finding,
    pub aliases: Vec<String>,
    pub severity: advisory::severity::Level,
    pub score: Option<f64>,
}

impl std::fmt::Display for Denied {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let package = &self.finding.package;
        let name = package
            .purl
            .clone()
            .unwrap_or_else(|| format!("{} {}", package.name, package.version));
        write!(f, "advisory {}", self.finding.advisory)?;
        if !self.aliases.is_empty() {
            write!(f, " ({})", self.aliases.join(", "))?;
        }
        write!(f, ", {}", self.severity)?;
        if let Some(score) = self.score {
            write!(f, " {score:.1}")?;
        }
        write!(f, ", affects {name}")?;
        match &self.finding.fixed {
            Some(fixed) => write!(f, ", fixed in {fixed}"),
            None => write!(f, ", no fixed version"),
        }
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Malformed { index, reason } => write!(f, "advisory {index}: {reason}"),
            Self::Sbom(reason) => write!(f, "the verified SBOM: {reason}"),
            Self::Denied(denied) => {
                let mut listed = denied.iter().take(LISTED);
                if let Some(first) = listed.next() {
                    write!(f, "{first}")?;
                }
                for more in listed {
                    write!(f, "; {more}")?;
                }
                if denied.len() > LISTED {
                    write!(f, "; and {} more", denied.len() - LISTED)?;
                }
                Ok(())
            }
        }
    }
}

/// Checks the gate: the passing detail, or why it refuses.
pub fn check(
    gate: &AdvisoryGate,
    attested: &[Attested],
    advisories: &[&[u8]],
) -> Result<String, Refusal> {
    let parsed = advisories
        .iter()
        .enumerate()
        .map(|(index, json)| {
            Advisory::parse(json).map_err(|reason| Refusal::Malformed { index, reason })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut packages = Vec::new();
    for sbom in attested.iter().filter(|a| sbom::is_sbom(&a.predicate_type)) {
        packages
            .extend(sbom::packages(&sbom.predicate_type, &sbom.predicate).map_err(Refusal::Sbom)?);
    }
    // The same package listed by two SBOMs (SPDX and CycloneDX) is one.
    let mut seen = std::collections::HashSet::new();
    packages.retain(|p: &sbom::Package| {
        seen.insert((p.name.clone(), p.version.clone(), p.purl.clone()))
    });
    let by_id: HashMap<&str, &Advisory> = parsed.iter().rev().map(|a| (a.id.as_str(), a)).collect();
    let findings = advisory::affected(&packages, &parsed);
    let found = findings.len();
    let mut denied: Vec<Denied> = findings
        .into_iter()
        .filter_map(|finding| {
            let advisory = by_id.get(finding.advisory.as_str())?;
            gate.denies(advisory.severity, finding.fixed.is_some(), |n| {
                advisory.is_named(n)
            })
            .then(|| Denied {
                aliases: advisory.aliases.clone(),
                severity: advisory.severity,
                score: advisory.score,
                finding,
            })
        })
        .collect();
    if denied.is_empty() {
        return Ok(format!(
            "{} advisories given, {found} findings in the SBOM's {} packages; none is {}{}{}",
            parsed.len(),
            packages.len(),
            threshold(gate),
            if gate.fix_available {
                " with a fixed version"
            } else {
                ""
            },
            if gate.ignore.is_empty() {
                ""
            } else {
                " and not ignored"
            },
        ));
    }
    denied.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then(b.score.unwrap_or(-1.0).total_cmp(&a.score.unwrap_or(-1.0)))
            .then_with(|| a.finding.advisory.cmp(&b.finding.advisory))
    });
    Err(Refusal::Denied(denied))
}

/// The gate's level as a refusal reads it.
fn threshold(gate: &AdvisoryGate) -> String {
    match gate.severity {
        advisory::severity::Level::Unknown => "of any severity".to_owned(),
        level => format!("{level} or worse"),
    }
}
