//! The wasmtime side: one engine and pre-instantiated component per process,
//! one store and instance per loaded policy.

use std::fmt;
use std::path::{Path, PathBuf};

use wasmtime::component::{Component, Linker, ResourceAny};
use wasmtime::{
    Cache, CacheConfig, Config, Engine, ResourceLimiter, Store, StoreLimits, StoreLimitsBuilder,
};

use crate::precompiled;

pub(crate) mod bindings {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "sigward",
    });
}

pub use bindings::sigward::verifier::types::{
    Action, Artifact, BundleFailure, Check, Decision, Diagnostic, Evidence, Finding,
    KeylessIdentity, LegacySignature, MatchResult, Outcome, ReferenceError, Sbom, SbomPackage,
    Signature, Signer, VerifyError,
};

/// A JSON document's bytes as the WIT `string` that carries them: unchanged
/// when they are UTF-8 (as JSON is), each invalid sequence replaced by U+FFFD
/// otherwise, which the guest then refuses as the document fails its checks.
pub fn document(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes)
        .unwrap_or_else(|invalid| String::from_utf8_lossy(invalid.as_bytes()).into_owned())
}

/// Why a bundle could not be verified: the trusted root, or the bundle itself.
#[derive(Debug)]
pub enum BundleOutcome {
    Verified(Vec<Check>),
    InvalidRoot(Vec<Diagnostic>),
    Failed(BundleFailure),
}

/// The components, built by build.rs and embedded in this binary.
const COMPONENT: &[u8] = include_bytes!(env!("SIGWARD_COMPONENT_PATH"));
const PORTABLE_COMPONENT: &[u8] = include_bytes!(env!("SIGWARD_PORTABLE_COMPONENT_PATH"));

/// Which build of the component: the same core and adapter, compiled two ways.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Build {
    /// With wasm's `wide-arithmetic` proposal: the curves' 64x64->128
    /// multiplies are one instruction each. For wasmtime.
    Fast,
    /// Plain wasm (the curve crates on 32-bit limbs), for hosts without the
    /// proposal, such as V8 in Node and browsers.
    Portable,
}

impl Build {
    pub const ALL: [Build; 2] = [Build::Fast, Build::Portable];

    /// The component's bytes.
    pub fn bytes(self) -> &'static [u8] {
        match self {
            Self::Fast => COMPONENT,
            Self::Portable => PORTABLE_COMPONENT,
        }
    }

    /// The WebAssembly proposals it uses beyond the core spec and the
    /// component model: a host must enable them to load it.
    pub fn required_features(self) -> &'static [&'static str] {
        match self {
            Self::Fast => &["wide-arithmetic"],
            Self::Portable => &[],
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Fast => "fast",
            Self::Portable => "portable",
        }
    }
}

/// Resource limits for one instance.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Linear memory the guest may grow to, in bytes.
    pub memory_bytes: usize,
    /// Fuel (roughly, wasm instructions) one call may burn.
    pub fuel_per_call: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            memory_bytes: 256 * 1024 * 1024,
            fuel_per_call: 20_000_000_000,
        }
    }
}

/// Why the host could not get an answer from the guest. Every variant refuses.
#[derive(Debug)]
pub enum HostError {
    /// The engine or component could not be set up.
    Setup(String),
    /// The guest trapped, ran out of fuel, or hit the memory cap.
    Trap(String),
    /// An earlier trap left this instance unusable.
    Poisoned,
}

impl fmt::Display for HostError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Setup(e) => write!(f, "could not start the sigward component: {e}"),
            Self::Trap(e) => write!(f, "the sigward component stopped: {e}"),
            Self::Poisoned => write!(
                f,
                "the sigward component stopped earlier and was not restarted"
            ),
        }
    }
}

impl std::error::Error for HostError {}

fn setup(e: impl fmt::Display) -> HostError {
    HostError::Setup(format!("{e:#}"))
}

/// A store's limits, and the most linear memory its instance has asked for.
pub struct Limiter {
    limits: StoreLimits,
    peak_memory: usize,
}

impl ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let allowed = self.limits.memory_growing(current, desired, maximum)?;
        if allowed {
            self.peak_memory = self.peak_memory.max(desired);
        }
        Ok(allowed)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.limits.table_growing(current, desired, maximum)
    }

    fn instances(&self) -> usize {
        self.limits.instances()
    }

    fn tables(&self) -> usize {
        self.limits.tables()
    }

    fn memories(&self) -> usize {
        self.limits.memories()
    }
}

/// The engine and the compiled, pre-instantiated component. Create once.
pub struct Runtime {
    engine: Engine,
    component: Component,
    pre: bindings::SigwardPre<Limiter>,
    limits: Limits,
    code: CodeSource,
}

/// Where the running component's machine code came from.
#[derive(Debug)]
pub enum CodeSource {
    /// Compiled ahead of time, from this file (see [`crate::precompiled`]).
    Precompiled(PathBuf),
    /// Compiled by this process or found in the compiled-code cache, with
    /// the reason a precompiled file was not used.
    Compiled(precompiled::Unused),
}

impl Runtime {
    /// Loads the embedded fast component: its precompiled code when that is
    /// usable (see [`crate::precompiled`]), else compiled. With `cache_dir`,
    /// compiled code is kept there (wasmtime's own cache, keyed by its
    /// version, its settings and the component), so later processes start
    /// without compiling.
    pub fn new(limits: Limits, cache_dir: Option<&Path>) -> Result<Self, HostError> {
        Self::with_build(Build::Fast, limits, cache_dir)
    }

    /// Loads one of the embedded components (the fast one precompiled when
    /// possible), in an engine that enables only the proposals it needs.
    pub fn with_build(
        build: Build,
        limits: Limits,
        cache_dir: Option<&Path>,
    ) -> Result<Self, HostError> {
        let engine = Self::engine(build, cache_dir)?;
        // Only the fast build is precompiled: it is the one hosts run.
        let precompiled = match (build, precompiled::default_path()) {
            (Build::Fast, Some(path)) => {
                precompiled::load(&engine, build.bytes(), &path).map(|component| (component, path))
            }
            _ => Err(precompiled::Unused::Absent),
        };
        let (component, code) = match precompiled {
            Ok((component, path)) => (component, CodeSource::Precompiled(path)),
            Err(unused) => (
                Component::new(&engine, build.bytes()).map_err(setup)?,
                CodeSource::Compiled(unused),
            ),
        };
        let linker = Linker::<Limiter>::new(&engine);
        let instance_pre = linker.instantiate_pre(&component).map_err(setup)?;
        let pre = bindings::SigwardPre::new(instance_pre).map_err(setup)?;
        Ok(Self {
            engine,
            component,
            pre,
            limits,
            code,
        })
    }

    /// Compiles `build` ahead of time for this host into `path`, for
    /// processes to load instead of compiling (see [`crate::precompiled`]).
    pub fn precompile(build: Build, path: &Path) -> Result<(), HostError> {
        let engine = Self::engine(build, None)?;
        precompiled::write(&engine, build.bytes(), path).map_err(HostError::Setup)
    }

    /// Where the running code came from.
    pub fn code_source(&self) -> &CodeSource {
        &self.code
    }

    /// The engine for `build`: the same settings whether it compiles now or
    /// loads precompiled code, which wasmtime checks.
    fn engine(build: Build, cache_dir: Option<&Path>) -> Result<Engine, HostError> {
        let mut config = Config::new();
        config.consume_fuel(true);
        // The fast build uses wasm's wide-arithmetic instructions: the
        // curves' 64x64->128 multiplies become one instruction each, not four.
        config.wasm_wide_arithmetic(build == Build::Fast);
        if let Some(dir) = cache_dir {
            let mut cache = CacheConfig::new();
            cache.with_directory(dir);
            // A cache that cannot be set up only costs time, so go on without it.
            config.cache(Cache::new(cache).ok());
        }
        Engine::new(&config).map_err(setup)
    }

    /// Where compiled code is cached by default: `wasmtime/` in
    /// `$SIGWARD_CACHE_DIR`, else in `$XDG_CACHE_HOME/sigward`, else in
    /// `~/.cache/sigward`. wasmtime's cache owns its directory: its cleanup
    /// deletes every file there it did not write, so it must not hold the
    /// TUF cache (`sigward/tuf`) or the Python package's (`sigward/python`).
    pub fn default_cache_dir() -> Option<PathBuf> {
        let var = |name| {
            std::env::var_os(name)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        var("SIGWARD_CACHE_DIR")
            .or_else(|| var("XDG_CACHE_HOME").map(|d| d.join("sigward")))
            .or_else(|| var("HOME").map(|d| d.join(".cache").join("sigward")))
            .map(|d| d.join("wasmtime"))
    }

    /// The names of everything the component imports. Empty: the guest can do no I/O.
    pub fn component_imports(&self) -> Vec<String> {
        self.component
            .component_type()
            .imports(&self.engine)
            .map(|(name, _)| name.to_owned())
            .collect()
    }

    /// The limits every instance runs under.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    pub(crate) fn instantiate(&self) -> Result<(Store<Limiter>, bindings::Sigward), HostError> {
        let limits = StoreLimitsBuilder::new()
            .memory_size(self.limits.memory_bytes)
            .build();
        let mut store = Store::new(
            &self.engine,
            Limiter {
                limits,
                peak_memory: 0,
            },
        );
        store.limiter(|limiter| limiter);
        store.set_fuel(self.limits.fuel_per_call).map_err(setup)?;
        let bindings = self.pre.instantiate(&mut store).map_err(setup)?;
        Ok((store, bindings))
    }

    /// Parses a policy in a fresh instance, which then serves every call about it.
    /// The outer error is the host's; the inner one lists the policy's errors.
    pub fn load_policy(
        &self,
        text: &str,
    ) -> Result<Result<PolicySession, Vec<Diagnostic>>, HostError> {
        let (mut store, bindings) = self.instantiate()?;
        let parsed = bindings
            .sigward_verifier_engine()
            .policy()
            .call_parse(&mut store, text)
            .map_err(|e| HostError::Trap(format!("{e:#}")))?;
        Ok(parsed.map(|policy| PolicySession {
            store,
            bindings,
            policy,
            fuel_per_call: self.limits.fuel_per_call,
            poisoned: false,
        }))
    }
}

impl Runtime {
    /// Verifies one bundle in a fresh instance, loading `root_json` into it
    /// first: what the one-shot conformance client needs.
    pub fn verify_bundle(
        &self,
        root_json: &[u8],
        bundle: &[u8],
        artifact: &Artifact,
        signer: &Signer,
    ) -> Result<BundleOutcome, HostError> {
        let (mut store, bindings) = self.instantiate()?;
        let trap = |e: wasmtime::Error| HostError::Trap(format!("{e:#}"));
        let engine = bindings.sigward_verifier_engine();
        let root = match engine
            .trusted_root()
            .call_parse(&mut store, &String::from_utf8_lossy(root_json))
            .map_err(trap)?
        {
            Ok(root) => root,
            Err(errors) => return Ok(BundleOutcome::InvalidRoot(errors)),
        };
        store.set_fuel(self.limits.fuel_per_call).map_err(trap)?;
        let result = engine
            .call_verify_bundle(
                &mut store,
                &String::from_utf8_lossy(bundle),
                artifact,
                signer,
                root,
            )
            .map_err(trap)?;
        Ok(match result {
            Ok(trace) => BundleOutcome::Verified(trace),
            Err(failure) => BundleOutcome::Failed(failure),
        })
    }
}

/// A trusted root loaded into a session's instance.
pub struct TrustedRootHandle(ResourceAny);

/// A loaded policy in its own instance. Calls reuse the parsed policy.
pub struct PolicySession {
    store: Store<Limiter>,
    bindings: bindings::Sigward,
    policy: ResourceAny,
    fuel_per_call: u64,
    poisoned: bool,
}

impl PolicySession {
    /// Runs one guest call with a fresh fuel budget. A trap poisons the session.
    fn call<T>(
        &mut self,
        f: impl FnOnce(&mut Store<Limiter>, &bindings::Sigward, ResourceAny) -> wasmtime::Result<T>,
    ) -> Result<T, HostError> {
        if self.poisoned {
            return Err(HostError::Poisoned);
        }
        self.store
            .set_fuel(self.fuel_per_call)
            .map_err(|e| HostError::Trap(format!("{e:#}")))?;
        f(&mut self.store, &self.bindings, self.policy).map_err(|e| {
            self.poisoned = true;
            HostError::Trap(format!("{e:#}"))
        })
    }

    /// Whether a trap has left this instance unusable.
    pub fn is_poisoned(&self) -> bool {
        self.poisoned
    }

    pub fn warnings(&mut self) -> Result<Vec<Diagnostic>, HostError> {
        self.call(|store, b, policy| {
            b.sigward_verifier_engine()
                .policy()
                .call_warnings(store, policy)
        })
    }

    /// The most linear memory this session's instance has held, in bytes:
    /// wasm memory only grows, so this is its peak.
    pub fn peak_memory_bytes(&self) -> usize {
        self.store.data().peak_memory
    }

    pub fn rule_count(&mut self) -> Result<u32, HostError> {
        self.call(|store, b, policy| {
            b.sigward_verifier_engine()
                .policy()
                .call_rule_count(store, policy)
        })
    }

    pub fn match_image(
        &mut self,
        image: &str,
    ) -> Result<Result<MatchResult, ReferenceError>, HostError> {
        self.call(|store, b, policy| {
            b.sigward_verifier_engine()
                .policy()
                .call_match_image(store, policy, image)
        })
    }

    /// Parses a trusted root into this session's instance, for `verify`.
    pub fn load_trusted_root(
        &mut self,
        json: &[u8],
    ) -> Result<Result<TrustedRootHandle, Vec<Diagnostic>>, HostError> {
        let parsed = self.call(|store, b, _| {
            b.sigward_verifier_engine()
                .trusted_root()
                .call_parse(store, &String::from_utf8_lossy(json))
        })?;
        Ok(parsed.map(TrustedRootHandle))
    }

    /// Verifies one bundle against a trusted root already in this instance.
    pub fn verify_bundle(
        &mut self,
        bundle: &[u8],
        artifact: &Artifact,
        signer: &Signer,
        root: &TrustedRootHandle,
    ) -> Result<Result<Vec<Check>, BundleFailure>, HostError> {
        self.call(|store, b, _| {
            b.sigward_verifier_engine().call_verify_bundle(
                store,
                &String::from_utf8_lossy(bundle),
                artifact,
                signer,
                root.0,
            )
        })
    }

    pub fn verify(
        &mut self,
        image: &str,
        signatures: &[Signature],
        root: &TrustedRootHandle,
    ) -> Result<Result<Decision, VerifyError>, HostError> {
        self.call(|store, b, policy| {
            b.sigward_verifier_engine()
                .policy()
                .call_verify(store, policy, image, signatures, root.0)
        })
    }

    /// The image's SBOM, verified as its rule demands, at `now`.
    pub fn sbom(
        &mut self,
        image: &str,
        attestations: &[Signature],
        root: &TrustedRootHandle,
        now: i64,
    ) -> Result<Result<Sbom, String>, HostError> {
        self.call(|store, b, policy| {
            b.sigward_verifier_engine().policy().call_sbom(
                store,
                policy,
                image,
                attestations,
                root.0,
                now,
            )
        })
    }

    /// The packages of the image's verified SBOM that `advisories` affect.
    pub fn affected(
        &mut self,
        image: &str,
        attestations: &[Signature],
        root: &TrustedRootHandle,
        now: i64,
        advisories: &[String],
    ) -> Result<Result<Vec<Finding>, String>, HostError> {
        self.call(|store, b, policy| {
            b.sigward_verifier_engine().policy().call_affected(
                store,
                policy,
                image,
                attestations,
                root.0,
                now,
                advisories,
            )
        })
    }

    /// The predicate types of the attestations rule `rule` requires.
    pub fn attestation_types(&mut self, rule: u32) -> Result<Vec<String>, HostError> {
        self.call(|store, b, policy| {
            b.sigward_verifier_engine()
                .policy()
                .call_attestation_types(store, policy, rule)
        })
    }

    /// [`PolicySession::verify`], then the attestations the rule requires,
    /// judged at `now` (seconds since the epoch).
    pub fn verify_attested(
        &mut self,
        image: &str,
        signatures: &[Signature],
        attestations: &[Signature],
        root: &TrustedRootHandle,
        now: i64,
    ) -> Result<Result<Decision, VerifyError>, HostError> {
        self.call(|store, b, policy| {
            b.sigward_verifier_engine().policy().call_verify_attested(
                store,
                policy,
                image,
                signatures,
                attestations,
                root.0,
                now,
            )
        })
    }

    /// Whether rule `rule` gates on advisories (sigward's `advisories`).
    pub fn gates_on_advisories(&mut self, rule: u32) -> Result<bool, HostError> {
        self.call(|store, b, policy| {
            b.sigward_verifier_engine()
                .policy()
                .call_gates_on_advisories(store, policy, rule)
        })
    }

    /// [`PolicySession::verify_attested`], then, for a rule that gates on
    /// advisories, the verified SBOM against `advisories` (OSV JSON).
    #[allow(clippy::too_many_arguments)]
    pub fn verify_with_advisories(
        &mut self,
        image: &str,
        signatures: &[Signature],
        attestations: &[Signature],
        root: &TrustedRootHandle,
        now: i64,
        advisories: &[String],
    ) -> Result<Result<Decision, VerifyError>, HostError> {
        self.call(|store, b, policy| {
            b.sigward_verifier_engine()
                .policy()
                .call_verify_with_advisories(
                    store,
                    policy,
                    image,
                    signatures,
                    attestations,
                    root.0,
                    now,
                    advisories,
                )
        })
    }
}
