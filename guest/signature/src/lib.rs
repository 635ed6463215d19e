//! Public keys and the signature checks over them, for sigward's core.
//!
//! A crate of its own so that the guest profile can optimise it (and the
//! curve arithmetic its generics instantiate) for speed while the rest of
//! the core is optimised for size: verification spends its time here.
#![forbid(unsafe_code)]

pub mod fixed_base;
pub mod public_key;
