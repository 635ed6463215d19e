//! The sigward host: loads the guest component once, under wasmtime, and runs
//! policy evaluation and verification in it with a memory cap and a fuel budget.
//! A trap or an exhausted limit is an error, and an error always refuses.
//! It also finds an image's signatures in a registry or an OCI layout (`oci`),
//! judges one image from match to verification (`decide`), and serves that as
//! a Kubernetes admission webhook and a manifest pinner (`admission`). It
//! embeds the Kubewarden policy built from the same core (`kubewarden`).
// One function may use unsafe code: loading precompiled machine code
// (`precompiled::deserialize`, with its safety argument).
#![deny(unsafe_code)]

pub mod admission;
pub mod advisories;
pub mod decide;
pub mod inventory;
pub mod kubewarden;
pub mod oci;
pub mod precompiled;
pub mod runtime;
pub mod tuf;

pub use runtime::{HostError, Limits, PolicySession, Runtime};
