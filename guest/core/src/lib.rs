//! sigward's core: the Talos-compatible policy engine and the signature checks.
//!
//! Nothing here does I/O, reads a clock or the environment, or knows about wasm:
//! every input arrives as an argument, so the same inputs give the same decision
//! natively, in the component and in the browser.
#![forbid(unsafe_code)]

pub mod admission;
pub mod advisory;
pub mod bundle;
pub mod checkpoint;
pub mod cosign;
pub mod decision;
pub mod der;
pub mod dsse;
pub mod glob;
pub mod hex;
pub mod kubewarden;
pub mod limits;
pub mod policy;
pub mod reference;
pub mod sbom;
pub mod sct;
pub mod statement;
pub mod timestamp;
pub mod tlog;
pub mod trust_root;
pub mod tuf;
pub mod verify;
pub mod x509;

/// Keys and signature checks live in their own crate (optimised for speed).
pub use sigward_signature::{fixed_base, public_key};

pub use decision::{Action, Check, Decision, Outcome};
pub use policy::{Diagnostic, MatchResult, Policy};
pub use reference::Reference;
pub use trust_root::TrustedRoot;
