//! Kubernetes admission: `sigward serve`, a validating and mutating webhook,
//! and `sigward pin`, which pins the images of manifests before they are
//! applied. Both find images with [`workload`] and judge each one with
//! [`crate::decide`]: every decision is the component's.

pub mod cache;
pub mod exposure;
pub mod flight;
pub mod judge;
pub mod manifests;
pub mod metrics;
pub mod pool;
pub mod reload;
pub mod review;
pub mod server;
pub mod tls;
pub mod verdict;
/// The walk over workload objects to their images is the core's.
pub use sigward_core::admission::workload;
