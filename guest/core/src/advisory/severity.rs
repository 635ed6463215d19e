//! An advisory's severity: the highest base score of its OSV `severity`
//! vectors (CVSS v3.0, v3.1 and v4.0, scored by RustSec's `cvss` crate),
//! else the level its database gives (`database_specific.severity`, as
//! GitHub's advisories write it, or the same field of an `affected` entry).

use std::fmt;
use std::str::FromStr;

use serde_json::Value;

/// Severity levels in order; `Unknown` when the record gives none.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Unknown = 0,
    None = 1,
    Low = 2,
    Medium = 3,
    High = 4,
    Critical = 5,
}

impl Level {
    pub const ALL: [Level; 6] = [
        Level::Unknown,
        Level::None,
        Level::Low,
        Level::Medium,
        Level::High,
        Level::Critical,
    ];

    pub fn rank(self) -> i64 {
        self as i64
    }

    pub fn from_rank(rank: i64) -> Self {
        Self::ALL
            .into_iter()
            .find(|l| l.rank() == rank)
            .unwrap_or(Level::Unknown)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unknown => "UNKNOWN",
            Self::None => "NONE",
            Self::Low => "LOW",
            Self::Medium => "MEDIUM",
            Self::High => "HIGH",
            Self::Critical => "CRITICAL",
        }
    }

    fn of_cvss(severity: cvss::Severity) -> Self {
        match severity {
            cvss::Severity::None => Self::None,
            cvss::Severity::Low => Self::Low,
            cvss::Severity::Medium => Self::Medium,
            cvss::Severity::High => Self::High,
            cvss::Severity::Critical => Self::Critical,
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Level {
    type Err = String;

    /// A level as users and databases write it (`high`, `MODERATE`).
    fn from_str(text: &str) -> Result<Self, String> {
        Ok(match text.to_ascii_uppercase().as_str() {
            "UNKNOWN" => Self::Unknown,
            "NONE" => Self::None,
            "LOW" => Self::Low,
            "MEDIUM" | "MODERATE" => Self::Medium,
            "HIGH" | "IMPORTANT" => Self::High,
            "CRITICAL" => Self::Critical,
            _ => {
                return Err(format!(
                    "`{text}` is not a severity (NONE, LOW, MEDIUM, HIGH or CRITICAL)"
                ));
            }
        })
    }
}

/// A record's severity and, when a vector gave it, the base score.
pub fn of_record(record: &Value) -> (Level, Option<f64>) {
    let mut best: Option<(Level, f64)> = None;
    for entry in record
        .get("severity")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let (Some(kind), Some(vector)) = (
            entry.get("type").and_then(Value::as_str),
            entry.get("score").and_then(Value::as_str),
        ) else {
            continue;
        };
        if let Some(scored) = score(kind, vector)
            && best.is_none_or(|(_, s)| scored.1 > s)
        {
            best = Some(scored);
        }
    }
    if let Some((level, score)) = best {
        return (level, Some(score));
    }
    let named = |v: &Value| {
        v.get("database_specific")
            .and_then(|d| d.get("severity"))
            .and_then(Value::as_str)
            .and_then(|s| s.parse::<Level>().ok())
    };
    let level = named(record)
        .into_iter()
        .chain(
            record
                .get("affected")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(named),
        )
        .max()
        .unwrap_or(Level::Unknown);
    (level, None)
}

/// One OSV severity vector's level and base score; none when it is not a
/// CVSS v3 or v4 vector that parses.
fn score(kind: &str, vector: &str) -> Option<(Level, f64)> {
    match kind {
        "CVSS_V3" => {
            let v = cvss::v3::Vector::from_str(vector).ok()?;
            let s = v.base_score();
            Some((Level::of_cvss(s.severity()), s.value()))
        }
        "CVSS_V4" => {
            let v = cvss::v4::Vector::from_str(vector).ok()?;
            let s = v.score();
            Some((Level::of_cvss(s.clone().severity()), s.value()))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn vectors_are_scored_and_database_levels_read() {
        // CVE-2021-44228 (log4shell): 10.0, critical.
        let record = json!({"severity": [{"type": "CVSS_V3",
            "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H"}]});
        assert_eq!(of_record(&record), (Level::Critical, Some(10.0)));
        // A v3.1 medium (5.3) and a v4 vector: the higher wins.
        let record = json!({"severity": [
            {"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:L/I:N/A:N"},
            {"type": "CVSS_V4", "score": "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"}]});
        let (level, score) = of_record(&record);
        assert_eq!(level, Level::Critical);
        assert_eq!(score, Some(9.3));
        let record = json!({"database_specific": {"severity": "MODERATE"},
            "severity": [{"type": "CVSS_V3", "score": "not a vector"}]});
        assert_eq!(of_record(&record), (Level::Medium, None));
        assert_eq!(of_record(&json!({})), (Level::Unknown, None));
        assert_eq!("high".parse::<Level>(), Ok(Level::High));
        assert!("severe".parse::<Level>().is_err());
    }
}
