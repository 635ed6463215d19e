//! Transparency-log checks: Merkle inclusion proofs, signed entry timestamps.

pub mod merkle;
pub mod set;
