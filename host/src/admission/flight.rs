//! Single flight: concurrent reviews of one new digest verify it once.
//!
//! The first to miss the cache for a digest under a rule leads; the others
//! wait for it to finish, then read the cache. Only a verified decision is
//! ever cached, so a waiter shares the leader's success and nothing else:
//! after a refusal or a failure, each waiter takes its own turn.

use std::collections::HashSet;
use std::sync::{Condvar, Mutex};
use std::time::Instant;

/// The digests being verified now, by rule.
#[derive(Default)]
pub struct Flights {
    running: Mutex<HashSet<(String, u32)>>,
    finished: Condvar,
}

/// The lead of one verification; others wait until it is dropped.
pub struct Flight<'a> {
    flights: &'a Flights,
    key: (String, u32),
}

impl Flights {
    /// Waits, until `deadline` at most, while another caller leads the
    /// verification of `digested` under `rule`, then takes the lead. `None`
    /// when the deadline came first (the caller goes on without the lead),
    /// or the lock was poisoned.
    pub fn lead(&self, digested: &str, rule: u32, deadline: Instant) -> Option<Flight<'_>> {
        let key = (digested.to_owned(), rule);
        let mut running = self.running.lock().ok()?;
        while running.contains(&key) {
            let left = deadline.checked_duration_since(Instant::now())?;
            running = self.finished.wait_timeout(running, left).ok()?.0;
        }
        running.insert(key.clone());
        Some(Flight { flights: self, key })
    }

    /// How many verifications are led now.
    #[cfg(test)]
    fn running(&self) -> usize {
        self.running.lock().map_or(0, |running| running.len())
    }
}

impl Drop for Flight<'_> {
    fn drop(&mut self) {
        if let Ok(mut running) = self.flights.running.lock() {
            running.remove(&self.key);
        }
        self.flights.finished.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    #[test]
    fn one_leads_the_others_wait_for_it() {
        let flights = Arc::new(Flights::default());
        let at_once = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let deadline = Instant::now() + Duration::from_secs(30);
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let (flights, at_once, most) = (flights.clone(), at_once.clone(), most.clone());
                std::thread::spawn(move || {
                    let lead = flights.lead("r/a@sha256:1", 0, deadline);
                    assert!(lead.is_some());
                    let now = at_once.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(5));
                    at_once.fetch_sub(1, Ordering::SeqCst);
                })
            })
            .collect();
        for thread in threads {
            assert!(thread.join().is_ok());
        }
        assert_eq!(most.load(Ordering::SeqCst), 1, "two led one digest at once");
        assert_eq!(flights.running(), 0);
    }

    #[test]
    fn other_digests_and_rules_do_not_wait() {
        let flights = Flights::default();
        let deadline = Instant::now() + Duration::from_secs(30);
        let _a = flights.lead("r/a@sha256:1", 0, deadline);
        assert!(flights.lead("r/a@sha256:2", 0, deadline).is_some());
        assert!(flights.lead("r/a@sha256:1", 1, deadline).is_some());
    }

    #[test]
    fn a_waiter_gives_up_at_its_deadline() {
        let flights = Flights::default();
        let _held = flights.lead("r/a@sha256:1", 0, Instant::now() + Duration::from_secs(30));
        let started = Instant::now();
        let deadline = started + Duration::from_millis(50);
        assert!(flights.lead("r/a@sha256:1", 0, deadline).is_none());
        assert!(started.elapsed() >= Duration::from_millis(50));
    }
}
