//! Decisions the component made earlier, so that a Pod's images are not
//! verified again at every admission. Only full successes are kept (a
//! refusal, whatever caused it, is decided afresh), keyed by the digested
//! reference that verified (`registry/repository@sha256:…`: the same digest
//! in another repository has other signatures) and the rule that matched. One cache belongs to one loaded
//! policy and trusted root ([`super::pool::Loaded`]): a reload starts an
//! empty one, so the key holds the policy and the root too. Tags are never
//! kept: a tag is resolved again at every request.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::runtime::Decision;

/// How many decisions, and for how long.
#[derive(Clone, Copy, Debug)]
pub struct Bounds {
    pub entries: usize,
    pub ttl: Duration,
}

impl Default for Bounds {
    fn default() -> Self {
        Self {
            entries: 10_000,
            ttl: Duration::from_secs(300),
        }
    }
}

type Key = (String, u32);

#[derive(Default)]
struct Entries {
    decisions: HashMap<Key, (Decision, Instant)>,
    /// Keys in the order they were stored, for eviction.
    order: VecDeque<Key>,
}

/// A bounded cache of verified decisions with a time to live.
pub struct Cache {
    bounds: Bounds,
    entries: Mutex<Entries>,
}

impl Cache {
    pub fn new(bounds: Bounds) -> Self {
        Self {
            bounds,
            entries: Mutex::new(Entries::default()),
        }
    }

    /// Whether a decision put now can be read back: not with no entries or
    /// no time to live (single flight has nothing to wait for then).
    pub fn keeps(&self) -> bool {
        self.bounds.entries > 0 && !self.bounds.ttl.is_zero()
    }

    /// The decision kept for `digested` under `rule`, if it is still fresh.
    pub fn get(&self, digested: &str, rule: u32) -> Option<Decision> {
        let entries = self.entries.lock().ok()?;
        let (decision, stored) = entries.decisions.get(&(digested.to_owned(), rule))?;
        (stored.elapsed() < self.bounds.ttl).then(|| decision.clone())
    }

    /// Keeps a decision, if it is a verified admission; the oldest entry goes
    /// when the cache is full.
    pub fn put(&self, digested: &str, rule: u32, decision: &Decision) {
        if !(decision.allowed && decision.verified) || self.bounds.entries == 0 {
            return;
        }
        let Ok(mut entries) = self.entries.lock() else {
            return;
        };
        let key = (digested.to_owned(), rule);
        let now = Instant::now();
        if entries
            .decisions
            .insert(key.clone(), (decision.clone(), now))
            .is_none()
        {
            entries.order.push_back(key);
        }
        while entries.decisions.len() > self.bounds.entries {
            let Some(oldest) = entries.order.pop_front() else {
                break;
            };
            entries.decisions.remove(&oldest);
        }
    }

    /// How many decisions are kept.
    pub fn len(&self) -> usize {
        self.entries.lock().map_or(0, |e| e.decisions.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::Action;

    fn decision(allowed: bool, verified: bool) -> Decision {
        Decision {
            allowed,
            verified,
            rule: Some(0),
            action: Action::Verify,
            reference: "r@sha256:00".into(),
            message: String::new(),
            trace: vec![],
        }
    }

    #[test]
    fn only_verified_admissions_are_kept() {
        let cache = Cache::new(Bounds::default());
        cache.put("sha256:01", 0, &decision(false, false));
        cache.put("sha256:02", 0, &decision(true, false));
        assert!(cache.is_empty());
        cache.put("sha256:03", 0, &decision(true, true));
        assert!(cache.get("sha256:03", 0).is_some());
        assert!(cache.get("sha256:03", 1).is_none(), "another rule");
    }

    #[test]
    fn bounded_in_entries_and_time() {
        let cache = Cache::new(Bounds {
            entries: 2,
            ttl: Duration::from_secs(60),
        });
        for digest in ["sha256:01", "sha256:02", "sha256:03"] {
            cache.put(digest, 0, &decision(true, true));
        }
        assert_eq!(cache.len(), 2);
        assert!(cache.get("sha256:01", 0).is_none(), "the oldest went");
        assert!(cache.get("sha256:03", 0).is_some());

        let expired = Cache::new(Bounds {
            entries: 2,
            ttl: Duration::ZERO,
        });
        expired.put("sha256:01", 0, &decision(true, true));
        assert!(expired.get("sha256:01", 0).is_none());
    }
}
