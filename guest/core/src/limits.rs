//! Hard limits on hostile input (SPEC §5). Each is checked before the input is
//! parsed or anything is allocated for it.

/// A policy document, in bytes.
pub const POLICY_BYTES: usize = 4 * 1024 * 1024;
/// Collections nested in a policy document (YAML, aliases expanded).
pub const POLICY_NESTING: usize = 64;
/// Rules in one policy.
pub const POLICY_RULES: usize = 65_536;
/// A compiled `subjectRegex`, in bytes of regex program.
pub const REGEX_PROGRAM_BYTES: usize = 1024 * 1024;
/// All of a policy's compiled `subjectRegex` programs together, in bytes (as
/// charged by the policy loader: each regex at least its program's size).
pub const REGEX_TOTAL_BYTES: usize = 32 * 1024 * 1024;
/// A `trusted_root.json`, in bytes.
pub const TRUSTED_ROOT_BYTES: usize = 4 * 1024 * 1024;
/// A Sigstore bundle, in bytes.
pub const BUNDLE_BYTES: usize = 1024 * 1024;
/// A Sigstore bundle offered as an attestation, in bytes: it may carry an
/// SBOM (one of 100 000 packages is about 13 MiB).
pub const ATTESTATION_BYTES: usize = 16 * 1024 * 1024;
/// A legacy signature payload, in bytes.
pub const PAYLOAD_BYTES: usize = 1024 * 1024;
/// An OCI manifest, in bytes.
pub const MANIFEST_BYTES: usize = 128 * 1024;
/// Signature layers or referrers for one image.
pub const SIGNATURES: usize = 100;
/// Certificates in one bundle chain.
pub const CHAIN_CERTIFICATES: usize = 10;
/// Transparency-log entries in one bundle.
pub const TLOG_ENTRIES: usize = 32;
/// RFC 3161 timestamps in one bundle.
pub const TIMESTAMPS: usize = 32;
/// Subjects in one in-toto statement.
pub const DSSE_SUBJECTS: usize = 1024;
/// OSV advisories given with one image (`affected`, and an admission gate's).
pub const ADVISORIES: usize = 100_000;
