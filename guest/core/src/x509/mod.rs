//! X.509: certificate paths to the trusted root, the signatures along them,
//! and Fulcio identities.

pub mod chain;
pub mod identity;
pub mod name;
pub mod signature;
