//! Kubewarden's policy host, for the tests and the benchmark: a waPC policy
//! loaded as Kubewarden's policy-evaluator loads one (the `wapc` host and
//! the `wasmtime-provider` engine, on a wasmtime engine with the defaults
//! and epoch interruption, each call bounded by epoch deadlines), its host
//! callbacks `oci/v1/manifest_digest` and `oci/v1/oci_manifest` answered
//! from a registry.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use sigward_host::oci::registry::Registry;
use sigward_host::oci::{Reference, Store as _};
use wapc::WapcHost;
use wasmtime_provider::wasmtime;

/// The host capability calls the policy made, as `namespace/operation image`.
type Calls = Arc<Mutex<Vec<String>>>;

/// The policy, instantiated by waPC on wasmtime-provider, with an epoch
/// ticker as policy-server runs one.
pub struct Policy {
    host: WapcHost,
    calls: Calls,
    ticking: Arc<AtomicBool>,
}

/// One epoch tick, and the deadline of a call in ticks (policy-server's
/// default policy timeout is 2 s; this is a test machine, shared).
const TICK: Duration = Duration::from_millis(100);
const DEADLINE_TICKS: u64 = 300;

impl Policy {
    pub fn load(module: &[u8], registry: Option<Registry>) -> Self {
        let mut config = wasmtime::Config::new();
        config.epoch_interruption(true);
        let engine = wasmtime::Engine::new(&config).unwrap();
        let module = wasmtime::Module::new(&engine, module).unwrap();
        let deadlines = wasmtime_provider::EpochDeadlines {
            wapc_init: DEADLINE_TICKS,
            wapc_func: DEADLINE_TICKS,
        };
        let provider = wasmtime_provider::WasmtimeEngineProviderBuilder::new()
            .engine(engine.clone())
            .module(module)
            .build_pre()
            .unwrap()
            .rehydrate(Some(deadlines))
            .unwrap();
        let ticking = Arc::new(AtomicBool::new(true));
        let still = ticking.clone();
        std::thread::spawn(move || {
            while still.load(Ordering::Relaxed) {
                std::thread::sleep(TICK);
                engine.increment_epoch();
            }
        });
        let calls: Calls = Arc::default();
        let seen = calls.clone();
        let registry = Mutex::new(registry);
        let callback =
            move |_id: u64, binding: &str, namespace: &str, operation: &str, payload: &[u8]| {
                let image: String = serde_json::from_slice(payload)?;
                seen.lock()
                    .unwrap()
                    .push(format!("{namespace}/{operation} {image}"));
                if binding != "kubewarden" || namespace != "oci" {
                    return Err(format!("unknown namespace: {namespace}").into());
                }
                let mut registry = registry.lock().unwrap();
                let registry = registry.as_mut().ok_or("no registry in this test")?;
                let reference: Reference = image.parse()?;
                match operation {
                    "v1/manifest_digest" => {
                        let digest = registry.resolve(&reference)?;
                        Ok(serde_json::to_vec(&json!({ "digest": digest }))?)
                    }
                    "v1/oci_manifest" => Ok(registry.manifest(&reference)?.0),
                    _ => Err(format!("unknown operation: {operation}").into()),
                }
            };
        let host = WapcHost::new(Box::new(provider), Some(Box::new(callback))).unwrap();
        Self {
            host,
            calls,
            ticking,
        }
    }

    pub fn call(&self, function: &str, payload: &Value) -> Value {
        let answer = self
            .host
            .call(function, &serde_json::to_vec(payload).unwrap())
            .unwrap_or_else(|e| panic!("{function}: {e}"));
        serde_json::from_slice(&answer).unwrap()
    }

    pub fn take_calls(&self) -> Vec<String> {
        std::mem::take(&mut self.calls.lock().unwrap())
    }
}

impl Drop for Policy {
    fn drop(&mut self) {
        self.ticking.store(false, Ordering::Relaxed);
    }
}

/// The policy's settings for the demo world: its policy and trusted root.
pub fn settings(world: &sigward_demo::World) -> Value {
    let root: Value = serde_json::from_slice(&world.trusted_root).unwrap();
    json!({"policy": world.policy, "trustedRoot": root})
}
