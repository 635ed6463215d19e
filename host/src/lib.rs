//! The sigward host: loads the guest component once, under wasmtime, and runs
//! policy evaluation and verification in it with a memory cap and a fuel budget.
//! A trap or an exhausted limit is an error, and an error always refuses.
#![forbid(unsafe_code)]

pub mod runtime;

pub use runtime::{HostError, Limits, PolicySession, Runtime};
