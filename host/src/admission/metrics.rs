//! The webhook's counters and histograms, in the Prometheus text format
//! (version 0.0.4) that `GET /metrics` serves.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds of the time buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

/// A histogram of durations.
#[derive(Default)]
pub struct Histogram {
    counts: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

impl Histogram {
    pub fn observe(&self, duration: Duration) {
        let seconds = duration.as_secs_f64();
        for (bound, count) in BUCKETS.iter().zip(&self.counts) {
            if seconds <= *bound {
                count.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        let micros = u64::try_from(duration.as_micros()).unwrap_or(u64::MAX);
        self.sum_micros.fetch_add(micros, Ordering::Relaxed);
    }

    fn render(&self, out: &mut String, name: &str, help: &str) {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
        for (bound, count) in BUCKETS.iter().zip(&self.counts) {
            let n = count.load(Ordering::Relaxed);
            let _ = writeln!(out, "{name}_bucket{{le=\"{bound}\"}} {n}");
        }
        let count = self.count.load(Ordering::Relaxed);
        let sum = self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {count}");
        let _ = writeln!(out, "{name}_sum {sum}\n{name}_count {count}");
    }
}

/// Counters by label set: few and fixed, so a map behind a lock serves.
#[derive(Default)]
pub struct Counter(Mutex<BTreeMap<String, u64>>);

impl Counter {
    /// Adds one to the series with these labels (`endpoint="validate",...`).
    pub fn inc(&self, labels: String) {
        if let Ok(mut series) = self.0.lock() {
            *series.entry(labels).or_default() += 1;
        }
    }

    /// The value of one series, for tests.
    pub fn get(&self, labels: &str) -> u64 {
        self.0
            .lock()
            .map_or(0, |s| s.get(labels).copied().unwrap_or(0))
    }

    fn render(&self, out: &mut String, name: &str, help: &str) {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
        if let Ok(series) = self.0.lock() {
            for (labels, value) in series.iter() {
                if labels.is_empty() {
                    let _ = writeln!(out, "{name} {value}");
                } else {
                    let _ = writeln!(out, "{name}{{{labels}}} {value}");
                }
            }
        }
    }
}

/// Everything `/metrics` reports.
#[derive(Default)]
pub struct Metrics {
    /// AdmissionReviews by endpoint and outcome (`allowed`, `refused`, `error`).
    pub requests: Counter,
    /// Image decisions by action and whether they admitted.
    pub decisions: Counter,
    /// Decisions answered from the cache, and verifications made.
    pub cache: Counter,
    /// Policy and trusted-root reloads, by outcome.
    pub reloads: Counter,
    /// Time from a review's arrival to its answer.
    pub request_time: Histogram,
    /// Time spent fetching from registries, per image verified.
    pub fetch_time: Histogram,
    /// Time spent in the component, per image.
    pub component_time: Histogram,
}

impl Metrics {
    pub fn render(&self) -> String {
        let mut out = String::new();
        self.requests.render(
            &mut out,
            "sigward_admission_requests_total",
            "AdmissionReviews answered, by endpoint and outcome.",
        );
        self.decisions.render(
            &mut out,
            "sigward_image_decisions_total",
            "Images judged, by the matched rule's action and whether they were admitted.",
        );
        self.cache.render(
            &mut out,
            "sigward_cache_lookups_total",
            "Verify decisions by whether the decision cache held them (hit, miss, or peer: \
             left there by a concurrent review of the same digest).",
        );
        self.reloads.render(
            &mut out,
            "sigward_reloads_total",
            "Policy, trusted-root and certificate reloads, by outcome.",
        );
        self.request_time.render(
            &mut out,
            "sigward_admission_duration_seconds",
            "Time to answer an AdmissionReview.",
        );
        self.fetch_time.render(
            &mut out,
            "sigward_fetch_duration_seconds",
            "Registry time per verified image.",
        );
        self.component_time.render(
            &mut out,
            "sigward_component_duration_seconds",
            "Component time per judged image.",
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_format() {
        let metrics = Metrics::default();
        metrics
            .requests
            .inc(r#"endpoint="validate",outcome="allowed""#.into());
        metrics.request_time.observe(Duration::from_millis(2));
        let text = metrics.render();
        assert!(text.contains(
            "sigward_admission_requests_total{endpoint=\"validate\",outcome=\"allowed\"} 1\n"
        ));
        assert!(text.contains("sigward_admission_duration_seconds_bucket{le=\"0.001\"} 0\n"));
        assert!(text.contains("sigward_admission_duration_seconds_bucket{le=\"0.0025\"} 1\n"));
        assert!(text.contains("sigward_admission_duration_seconds_count 1\n"));
        assert!(text.contains("# TYPE sigward_fetch_duration_seconds histogram\n"));
    }
}
