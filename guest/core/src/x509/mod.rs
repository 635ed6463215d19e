//! X.509: certificate paths to the trusted root, and Fulcio identities.

pub mod chain;
pub mod identity;
