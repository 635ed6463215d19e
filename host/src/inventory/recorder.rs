//! Recording admitted images off the request path: reviews hand their
//! sightings to a bounded queue and go on; one thread batches them into
//! the store, and stores each new digest's verified SBOM. A store that is
//! down or slow never delays or changes a decision: sightings wait (up to
//! [`BACKLOG`]) and are retried, then dropped and counted.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError, sync_channel};
use std::time::{Duration, Instant};

use sigward_core::sbom::Package;

use super::{Inventory, Sighting};

/// Reviews' batches waiting in the queue.
const QUEUE: usize = 1024;
/// Sightings kept while the store is unreachable.
pub const BACKLOG: usize = 10_000;
/// Sightings written per transaction, and the longest a batch waits.
const BATCH: usize = 500;
const LINGER: Duration = Duration::from_millis(200);
/// How often an unreachable store is tried again.
const RETRY: Duration = Duration::from_secs(2);
/// Digests whose SBOM was looked for, so as not to look again.
const LOOKED_UP: usize = 100_000;

/// What the recorder did, for `/metrics`.
#[derive(Default)]
pub struct Status {
    /// Sightings written.
    pub recorded: AtomicU64,
    /// Sightings dropped: the queue or the backlog full.
    pub dropped: AtomicU64,
    /// Failed writes and connections.
    pub failures: AtomicU64,
    /// SBOMs stored.
    pub sboms: AtomicU64,
    /// Whether the last attempt to reach the store succeeded.
    pub up: AtomicBool,
}

impl Status {
    /// The recorder's part of `/metrics`, in the Prometheus text format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let counters = [
            (
                "sigward_inventory_sightings_recorded_total",
                "Admitted images written to the inventory store.",
                &self.recorded,
            ),
            (
                "sigward_inventory_sightings_dropped_total",
                "Admitted images not recorded: the queue or the backlog was full.",
                &self.dropped,
            ),
            (
                "sigward_inventory_failures_total",
                "Failed connections to and writes into the inventory store.",
                &self.failures,
            ),
            (
                "sigward_inventory_sboms_stored_total",
                "Verified SBOMs stored for new digests.",
                &self.sboms,
            ),
        ];
        for (name, help, value) in counters {
            out.push_str(&format!(
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}\n",
                value.load(Ordering::Relaxed)
            ));
        }
        out.push_str(&format!(
            "# HELP sigward_inventory_up Whether the last attempt to reach the inventory store succeeded.\n\
             # TYPE sigward_inventory_up gauge\nsigward_inventory_up {}\n",
            u8::from(self.up.load(Ordering::Relaxed))
        ));
        out
    }
}

/// The verified SBOM of a sighting's image, found by the caller (the
/// component verifies it): `None` when it has none.
pub type SbomOf = Box<dyn FnMut(&Sighting) -> Option<(String, Vec<Package>)> + Send>;

/// The handle reviews offer their sightings to.
pub struct Recorder {
    queue: SyncSender<Vec<Sighting>>,
    pub status: Arc<Status>,
}

impl Recorder {
    /// Starts the recording thread for the store at `url`.
    pub fn start(url: String, sbom_of: SbomOf) -> Self {
        let (queue, incoming) = sync_channel(QUEUE);
        let status = Arc::new(Status::default());
        let shared = status.clone();
        std::thread::spawn(move || run(&url, sbom_of, &incoming, &shared));
        Self { queue, status }
    }

    /// Queues sightings; never waits.
    pub fn offer(&self, sightings: Vec<Sighting>) {
        let n = sightings.len() as u64;
        if let Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) =
            self.queue.try_send(sightings)
        {
            self.status.dropped.fetch_add(n, Ordering::Relaxed);
        }
    }
}

fn run(url: &str, mut sbom_of: SbomOf, incoming: &Receiver<Vec<Sighting>>, status: &Status) {
    let mut store: Option<Inventory> = None;
    let mut pending: Vec<Sighting> = Vec::new();
    let mut looked_up: HashSet<String> = HashSet::new();
    let mut last_try: Option<Instant> = None;
    loop {
        let wait = if pending.is_empty() { RETRY } else { LINGER };
        match incoming.recv_timeout(wait) {
            Ok(batch) => pending.extend(batch),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
        while pending.len() < BATCH {
            match incoming.try_recv() {
                Ok(batch) => pending.extend(batch),
                Err(_) => break,
            }
        }
        if pending.len() > BACKLOG {
            let over = pending.len() - BACKLOG;
            pending.drain(..over);
            status.dropped.fetch_add(over as u64, Ordering::Relaxed);
        }
        if pending.is_empty() {
            continue;
        }
        if store.is_none() && last_try.is_none_or(|t| t.elapsed() >= RETRY) {
            last_try = Some(Instant::now());
            match Inventory::open(url) {
                Ok(s) => {
                    eprintln!(
                        "sigward serve: inventory store {}: connected",
                        super::redacted(url)
                    );
                    store = Some(s);
                }
                Err(e) => fail(status, &e.to_string()),
            }
        }
        let Some(inventory) = store.as_mut() else {
            continue;
        };
        let batch: Vec<Sighting> = pending.drain(..pending.len().min(BATCH)).collect();
        match inventory.record(&batch) {
            Ok(()) => {
                status.up.store(true, Ordering::Relaxed);
                status
                    .recorded
                    .fetch_add(batch.len() as u64, Ordering::Relaxed);
            }
            Err(e) => {
                fail(status, &e.to_string());
                // Kept for the next connection; the store is reopened.
                pending.splice(0..0, batch);
                store = None;
                continue;
            }
        }
        for s in batch.iter().filter(|s| s.rule.is_some()) {
            if looked_up.contains(&s.digest) {
                continue;
            }
            if looked_up.len() >= LOOKED_UP {
                looked_up.clear();
            }
            looked_up.insert(s.digest.clone());
            match inventory.has_sbom(&s.digest) {
                Ok(true) => continue,
                Ok(false) => {}
                Err(e) => {
                    fail(status, &e.to_string());
                    looked_up.remove(&s.digest);
                    break;
                }
            }
            let Some((kind, packages)) = sbom_of(s) else {
                continue;
            };
            match inventory.store_sbom(&s.digest, &kind, &packages, s.at) {
                Ok(_) => {
                    status.sboms.fetch_add(1, Ordering::Relaxed);
                }
                Err(e) => {
                    fail(status, &e.to_string());
                    looked_up.remove(&s.digest);
                    break;
                }
            }
        }
    }
}

fn fail(status: &Status, reason: &str) {
    status.failures.fetch_add(1, Ordering::Relaxed);
    // Said once per outage, not once per attempt.
    if status.up.swap(false, Ordering::Relaxed) || status.failures.load(Ordering::Relaxed) == 1 {
        eprintln!(
            "sigward serve: the inventory store is unavailable ({reason}); \
             admission goes on, sightings are kept (up to {BACKLOG}) and retried"
        );
    }
}
