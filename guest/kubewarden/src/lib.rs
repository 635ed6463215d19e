//! sigward as a Kubewarden policy: the waPC adapter over
//! [`sigward_core::kubewarden`]. It registers Kubewarden's three functions
//! and backs the core's capabilities with waPC host calls; every decision
//! is the core's.

use std::sync::Mutex;

use sigward_core::kubewarden::{self, Capabilities, State};
use wapc_guest::{CallResult, host_call, register_function};

/// Settings parsed once and decisions kept while the instance lives.
static STATE: Mutex<Option<State>> = Mutex::new(None);

/// Kubewarden's `oci` host capabilities, over waPC.
struct Host;

impl Host {
    fn call(operation: &str, image: &str) -> Result<Vec<u8>, String> {
        // Each capability takes the image reference as a JSON string.
        let payload = serde_json::to_vec(image).map_err(|e| e.to_string())?;
        host_call("kubewarden", "oci", operation, &payload)
            .map_err(|e| format!("oci/{operation}: {e}"))
    }
}

impl Capabilities for Host {
    fn manifest_digest(&mut self, image: &str) -> Result<Vec<u8>, String> {
        Self::call("v1/manifest_digest", image)
    }

    fn manifest(&mut self, image: &str) -> Result<Vec<u8>, String> {
        Self::call("v1/oci_manifest", image)
    }
}

fn validate(payload: &[u8]) -> CallResult {
    let mut state = STATE.lock().map_err(|_| "the policy's state is poisoned")?;
    let state = state.get_or_insert_with(State::default);
    Ok(kubewarden::validate(state, payload, &mut Host))
}

fn validate_settings(payload: &[u8]) -> CallResult {
    Ok(kubewarden::validate_settings(payload))
}

fn protocol_version(_payload: &[u8]) -> CallResult {
    Ok(kubewarden::protocol_version())
}

/// Called by the waPC host once, before any function: registers them.
// The waPC host finds this export by its unmangled name.
#[allow(unsafe_code)]
#[unsafe(no_mangle)]
pub extern "C" fn wapc_init() {
    register_function("validate", validate);
    register_function("validate_settings", validate_settings);
    register_function("protocol_version", protocol_version);
}
