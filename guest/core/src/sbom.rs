//! The packages of an SBOM: SPDX 2.3 JSON (`packages`, purls from
//! `externalRefs`) or CycloneDX 1.5+ JSON (`components`, nested ones too).
//! Formats only: an SBOM is trusted for what its attestation proved.

use serde_json::Value;

/// The in-toto predicate types of the SBOMs read here.
pub const SPDX: &str = "https://spdx.dev/Document";
pub const CYCLONEDX: &str = "https://cyclonedx.org/bom";

/// The most packages one SBOM may list.
pub const PACKAGES: usize = 1_000_000;
/// How deep CycloneDX components may nest.
const NESTING: usize = 32;

/// One package, as the SBOM names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Package {
    pub name: String,
    pub version: String,
    /// Its package URL (`pkg:npm/lodash@4.17.20`), when the SBOM gives one.
    pub purl: Option<String>,
}

/// Whether a predicate type is an SBOM read here.
pub fn is_sbom(predicate_type: &str) -> bool {
    predicate_type == SPDX || predicate_type == CYCLONEDX
}

/// Reads the packages of an SBOM predicate of `predicate_type`.
pub fn packages(predicate_type: &str, predicate: &Value) -> Result<Vec<Package>, String> {
    let text = |v: &Value, field: &str| {
        v.get(field)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let mut out = Vec::new();
    match predicate_type {
        SPDX => {
            let list = predicate
                .get("packages")
                .and_then(Value::as_array)
                .ok_or("the SPDX document has no `packages` list")?;
            bounded(list.len())?;
            for package in list {
                let purl = package
                    .get("externalRefs")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .find(|r| r.get("referenceType").and_then(Value::as_str) == Some("purl"))
                    .map(|r| text(r, "referenceLocator"));
                out.push(Package {
                    name: text(package, "name"),
                    version: text(package, "versionInfo"),
                    purl,
                });
            }
        }
        CYCLONEDX => {
            let list = predicate
                .get("components")
                .and_then(Value::as_array)
                .ok_or("the CycloneDX BOM has no `components` list")?;
            let mut stack: Vec<(&Value, usize)> = list.iter().rev().map(|c| (c, 0)).collect();
            while let Some((component, depth)) = stack.pop() {
                bounded(out.len() + 1)?;
                out.push(Package {
                    name: text(component, "name"),
                    version: text(component, "version"),
                    purl: component
                        .get("purl")
                        .and_then(Value::as_str)
                        .map(str::to_owned),
                });
                if let Some(children) = component.get("components").and_then(Value::as_array) {
                    if depth + 1 >= NESTING {
                        return Err(format!("CycloneDX components nest deeper than {NESTING}"));
                    }
                    stack.extend(children.iter().rev().map(|c| (c, depth + 1)));
                }
            }
        }
        other => {
            return Err(format!(
                "{other} is not an SBOM type read here (SPDX or CycloneDX JSON)"
            ));
        }
    }
    Ok(out)
}

fn bounded(count: usize) -> Result<(), String> {
    if count > PACKAGES {
        return Err(format!("the SBOM lists more than {PACKAGES} packages"));
    }
    Ok(())
}
