//! Transparency-log checks: Merkle inclusion proofs, signed entry timestamps.

pub mod body;
pub mod merkle;
pub mod set;
