//! Judging one object's images: each distinct image once, through
//! [`crate::decide::decide`], in a pooled instance, with a pooled store and
//! the loaded policy's cache, all before the request's deadline.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Instant;

use super::flight::Flight;
use super::metrics::Metrics;
use super::pool::{Instance, Loaded};
use sigward_core::sbom::Package;

use crate::PolicySession;
use crate::advisories::Held;
use crate::decide::{Answer, Inputs, action_name, decide};
use crate::oci::Store;
use crate::oci::layout::Layout;
use crate::oci::registry::{self, Registry};
use crate::runtime::{Decision, TrustedRootHandle};

/// Where images and signatures come from.
#[derive(Clone, Debug)]
pub enum Source {
    Registry(registry::Options),
    Layout(PathBuf),
}

type SharedStore = Box<dyn Store + Send>;

/// Idle stores kept for reuse.
const IDLE_STORES: usize = 16;

/// Stores, kept between requests so that registry connections and
/// credentials are reused.
pub struct Stores {
    source: Source,
    idle: Mutex<Vec<SharedStore>>,
}

impl Stores {
    pub fn new(source: Source) -> Self {
        Self {
            source,
            idle: Mutex::new(Vec::new()),
        }
    }

    fn take(&self) -> Result<SharedStore, String> {
        if let Some(store) = self.idle.lock().ok().and_then(|mut idle| idle.pop()) {
            return Ok(store);
        }
        Ok(match &self.source {
            Source::Registry(options) => {
                Box::new(Registry::new(options.clone()).map_err(|e| e.to_string())?)
            }
            Source::Layout(dir) => Box::new(Layout::open(dir).map_err(|e| e.to_string())?),
        })
    }

    fn give_back(&self, mut store: SharedStore) {
        store.set_deadline(None);
        if let Ok(mut idle) = self.idle.lock()
            && idle.len() < IDLE_STORES
        {
            idle.push(store);
        }
    }
}

/// The inputs of one decision: a pooled instance's root, a pooled store,
/// the loaded policy's cache.
struct Pooled<'a> {
    root: &'a TrustedRootHandle,
    store: &'a mut (dyn Store + Send),
    loaded: &'a Loaded,
    metrics: &'a Metrics,
    held: Option<&'a Held>,
    deadline: Instant,
    /// The lead of this image's verification, once taken: held until the
    /// decision is remembered and the inputs dropped.
    flight: Option<Flight<'a>>,
}

impl<'a> Inputs for Pooled<'a> {
    fn root(&mut self, _session: &mut PolicySession) -> Result<&TrustedRootHandle, String> {
        Ok(self.root)
    }

    fn store(&mut self) -> Result<&mut dyn Store, String> {
        Ok(&mut *self.store)
    }

    fn cached(&mut self, rule: u32, digested: &str) -> Option<Decision> {
        let hit = self.loaded.cache.get(digested, rule);
        let label = if hit.is_some() { "hit" } else { "miss" };
        self.metrics.cache.inc(format!("result=\"{label}\""));
        hit
    }

    fn remember(&mut self, rule: u32, digested: &str, decision: &Decision) {
        self.loaded.cache.put(digested, rule, decision);
    }

    fn after_peer(&mut self, rule: u32, digested: &str) -> Option<Decision> {
        let loaded: &'a Loaded = self.loaded;
        // Without a cache a peer leaves nothing to read: waiting would only
        // make reviews of one image take turns.
        if !loaded.cache.keeps() {
            return None;
        }
        let flight = loaded.flights.lead(digested, rule, self.deadline);
        // A peer led and finished: what it verified is in the cache.
        let verified = loaded.cache.get(digested, rule);
        if verified.is_some() {
            self.metrics.cache.inc("result=\"peer\"".to_owned());
        } else {
            self.flight = flight;
        }
        verified
    }

    fn advisories(&mut self, packages: &[Package]) -> Result<Vec<String>, String> {
        match self.held {
            Some(held) => held.candidates(packages),
            None => Err(
                "this server holds no advisories: start it with --advisories PATH or --db URL"
                    .to_owned(),
            ),
        }
    }
}

/// An answer for an image that could not be judged at all: a refusal.
fn unjudged(image: &str, error: String) -> Answer {
    Answer {
        image: image.to_owned(),
        decision: Err(error),
        verified_digest: None,
        fetch: Default::default(),
        component: Default::default(),
        steps: Vec::new(),
        sbom: None,
    }
}

/// Judges each distinct image of `images` under `loaded`, with every fetch
/// bounded by `deadline`; rules that gate on advisories read `held`.
pub fn judge(
    loaded: &Loaded,
    stores: &Stores,
    metrics: &Metrics,
    held: Option<&Held>,
    images: &[&str],
    deadline: Instant,
) -> HashMap<String, Answer> {
    let mut answers = HashMap::new();
    let mut instance: Option<Instance> = None;
    let mut store: Option<SharedStore> = None;
    for image in images {
        if answers.contains_key(*image) {
            continue;
        }
        let answer = match judge_one(
            loaded,
            stores,
            metrics,
            held,
            &mut instance,
            &mut store,
            image,
            deadline,
        ) {
            Ok(answer) => answer,
            Err(error) => unjudged(image, error),
        };
        let (action, allowed) = match &answer.decision {
            Ok(d) => (action_name(d.action), d.allowed),
            Err(_) => ("error", false),
        };
        metrics
            .decisions
            .inc(format!("action=\"{action}\",allowed=\"{allowed}\""));
        metrics.component_time.observe(answer.component);
        if !answer.fetch.is_zero() {
            metrics.fetch_time.observe(answer.fetch);
        }
        answers.insert((*image).to_owned(), answer);
    }
    if let Some(instance) = instance {
        loaded.give_back(instance);
    }
    if let Some(store) = store {
        stores.give_back(store);
    }
    answers
}

/// The verified SBOM of an admitted image (`repository@digest`), for the
/// inventory: the component verifies the SBOM attestation for the signer
/// of the rule the image matches. `None` when it has none that verifies.
pub fn verified_sbom(
    loaded: &Loaded,
    stores: &Stores,
    digested: &str,
) -> Option<(String, Vec<sigward_core::sbom::Package>)> {
    let mut instance = loaded.take().ok()?;
    let mut store = stores.take().ok()?;
    let found = {
        let Instance { session, root } = &mut instance;
        let mut inputs = Unshared {
            root,
            store: store.as_mut(),
        };
        crate::decide::attestations_of(session, &mut inputs, digested)
            .ok()
            .and_then(|found| {
                session
                    .sbom(&found.digested, &found.found, root, crate::tuf::now())
                    .ok()?
                    .ok()
            })
    };
    if !instance.session.is_poisoned() {
        loaded.give_back(instance);
    }
    stores.give_back(store);
    let sbom = found?;
    let packages = sbom.packages.into_iter().map(Into::into).collect();
    Some((sbom.predicate_type, packages))
}

/// A pooled root and store, without the decision cache.
struct Unshared<'a> {
    root: &'a TrustedRootHandle,
    store: &'a mut (dyn Store + Send),
}

impl Inputs for Unshared<'_> {
    fn root(&mut self, _session: &mut PolicySession) -> Result<&TrustedRootHandle, String> {
        Ok(self.root)
    }

    fn store(&mut self) -> Result<&mut dyn Store, String> {
        Ok(&mut *self.store)
    }
}

#[allow(clippy::too_many_arguments)]
fn judge_one(
    loaded: &Loaded,
    stores: &Stores,
    metrics: &Metrics,
    held: Option<&Held>,
    instance: &mut Option<Instance>,
    store: &mut Option<SharedStore>,
    image: &str,
    deadline: Instant,
) -> Result<Answer, String> {
    if instance.is_none() {
        *instance = Some(loaded.take()?);
    }
    if store.is_none() {
        let mut taken = stores.take()?;
        taken.set_deadline(Some(deadline));
        *store = Some(taken);
    }
    let (Some(Instance { session, root }), Some(store_box)) = (instance.as_mut(), store.as_mut())
    else {
        return Err("no instance".to_owned());
    };
    let mut inputs = Pooled {
        root,
        store: store_box.as_mut(),
        loaded,
        metrics,
        held,
        deadline,
        flight: None,
    };
    let answer = decide(session, &mut inputs, image);
    // The lead, if taken, ends here: the decision is in the cache by now.
    drop(inputs);
    if session.is_poisoned() {
        // A trap stopped this instance: the next image gets a fresh one.
        *instance = None;
    }
    answer
}
