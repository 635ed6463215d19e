//! Kubernetes admission, shared by `sigward serve` and the Kubewarden
//! policy: the request as the API sends it ([`request`]), the images of
//! each workload kind ([`workload`]), and the verdict on them with its
//! words and patch ([`verdict`]). One implementation, so both engines refuse
//! and pin alike.

pub mod request;
pub mod verdict;
pub mod workload;
