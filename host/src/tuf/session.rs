//! One TUF client session in its own instance of the component.

use wasmtime::Store;
use wasmtime::component::ResourceAny;

use crate::runtime::bindings::exports::sigward::verifier::tuf as wit;
use crate::runtime::{Limiter, bindings};
use crate::{HostError, Runtime};

pub use wit::{Request, Source, Step, TargetInfo, TufError};

/// The component's TUF client: every check and choice is made there.
pub struct Session {
    store: Store<Limiter>,
    bindings: bindings::Sigward,
    client: ResourceAny,
    fuel_per_call: u64,
}

impl Session {
    /// Starts a session at `now` (seconds since the Unix epoch); an
    /// `offline` one reads only the local store.
    pub fn new(runtime: &Runtime, now: i64, offline: bool) -> Result<Self, HostError> {
        let (mut store, bindings) = runtime.instantiate()?;
        let client = bindings
            .sigward_verifier_tuf()
            .client()
            .call_constructor(&mut store, now, offline)
            .map_err(trap)?;
        Ok(Self {
            store,
            bindings,
            client,
            fuel_per_call: runtime.limits().fuel_per_call,
        })
    }

    fn call<T>(
        &mut self,
        f: impl FnOnce(&mut Store<Limiter>, wit::GuestClient<'_>, ResourceAny) -> wasmtime::Result<T>,
    ) -> Result<T, HostError> {
        self.store.set_fuel(self.fuel_per_call).map_err(trap)?;
        f(
            &mut self.store,
            self.bindings.sigward_verifier_tuf().client(),
            self.client,
        )
        .map_err(trap)
    }

    pub fn next(&mut self, target: Option<&str>) -> Result<Result<Step, TufError>, HostError> {
        self.call(|store, client, res| client.call_next(store, res, target))
    }

    pub fn deliver(
        &mut self,
        body: Option<&[u8]>,
    ) -> Result<Result<Option<String>, TufError>, HostError> {
        self.call(|store, client, res| client.call_deliver(store, res, body))
    }

    pub fn check_target(
        &mut self,
        path: &str,
        body: &[u8],
    ) -> Result<Result<(), TufError>, HostError> {
        self.call(|store, client, res| client.call_check_target(store, res, path, body))
    }

    pub fn expires(&mut self) -> Result<Option<i64>, HostError> {
        self.call(|store, client, res| client.call_expires(store, res))
    }
}

fn trap(e: wasmtime::Error) -> HostError {
    HostError::Trap(format!("{e:#}"))
}
