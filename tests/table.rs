//! The reference/pattern table: each row a one-rule policy and an image.

/// What a row expects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expect {
    Match,
    NoMatch,
    /// The image reference is invalid: an error, never a match.
    Invalid,
}

use Expect::{Invalid, Match, NoMatch};

const D: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/// (pattern, image, expectation). Images with `{D}` get a valid sha256 digest.
pub const ROWS: &[(&str, &str, Expect)] = &[
    // Docker Hub forms all normalize to docker.io/library/...
    ("docker.io/library/nginx", "nginx", Match),
    ("docker.io/library/nginx", "nginx:1.27", Match),
    ("docker.io/library/nginx", "docker.io/nginx", Match),
    (
        "docker.io/library/nginx",
        "index.docker.io/library/nginx:1.27",
        Match,
    ),
    (
        "docker.io/library/nginx",
        "registry-1.docker.io/library/nginx",
        Match,
    ),
    ("docker.io/library/nginx", "nginx@sha256:{D}", Match),
    ("index.docker.io/library/nginx", "nginx", Match),
    ("registry-1.docker.io/library/*", "nginx:latest", Match),
    ("docker.io/library/nginx*", "nginx:latest", Match),
    ("library/nginx*", "nginx:latest", NoMatch),
    ("nginx", "nginx", NoMatch),
    ("docker.io/nginx", "nginx", NoMatch),
    ("docker.io/*", "bitnami/redis", Match),
    ("docker.io/bitnami/*", "bitnami/redis:7", Match),
    ("docker.io/library/*", "bitnami/redis", NoMatch),
    // Registry ports are kept.
    ("localhost:5000/*", "localhost:5000/app", Match),
    ("localhost:5000/*", "localhost:5001/app", NoMatch),
    ("localhost/*", "localhost:5000/app", NoMatch),
    ("localhost:*/app", "localhost:5000/app:v1", Match),
    ("127.0.0.1:5000/team/*", "127.0.0.1:5000/team/app", Match),
    ("[::1]:5000/*", "[::1]:5000/app", Match),
    ("localhost:5000/app", "localhost:5000/app:5000", Match),
    ("localhost/app", "localhost/app", Match),
    // Tags and digests are removed before matching.
    ("ghcr.io/org/app", "ghcr.io/org/app:v1@sha256:{D}", Match),
    ("ghcr.io/org/app", "ghcr.io/org/app@sha256:{D}", Match),
    ("ghcr.io/org/app:v1", "ghcr.io/org/app:v1", NoMatch),
    (
        "ghcr.io/org/app@sha256:{D}",
        "ghcr.io/org/app@sha256:{D}",
        NoMatch,
    ),
    // Wildcards at every position; `*` crosses `/` and matches the empty run.
    ("*", "nginx", Match),
    ("*", "localhost:5000/x", Match),
    ("**", "nginx", Match),
    ("*nginx", "nginx", Match),
    ("*nginx", "nginx-unprivileged", NoMatch),
    ("*.io/org/app", "ghcr.io/org/app", Match),
    ("ghcr.io/*/app", "ghcr.io/org/app", Match),
    ("ghcr.io/*/app", "ghcr.io/org/team/app", Match),
    ("ghcr.io/*/app", "ghcr.io/org/app2", NoMatch),
    ("ghcr.io/org/*", "ghcr.io/org", NoMatch),
    ("ghcr.io/org/*", "ghcr.io/org/a/b/c", Match),
    (
        "ghcr.io/siderolabs/talos*",
        "ghcr.io/siderolabs/talosctl",
        Match,
    ),
    (
        "ghcr.io/siderolabs/talos*",
        "ghcr.io/siderolabs/talos:v1.13.0",
        Match,
    ),
    (
        "ghcr.io/siderolabs/talos*",
        "ghcr.io/siderolabs/installer",
        NoMatch,
    ),
    ("g*r.io/*", "ghcr.io/x", Match),
    ("ghcr.io/*/*/app", "ghcr.io/a/app", NoMatch),
    ("ghcr.io/*/*/app", "ghcr.io/a/b/app", Match),
    ("*-operator", "quay.io/org/some-operator", Match),
    (
        "quay.io/*/*-operator*",
        "quay.io/org/some-operator-bundle",
        Match,
    ),
    ("ghcr.io/org/app*", "ghcr.io/org/app", Match),
    ("*/org/*", "ghcr.io/org/app", Match),
    // Case-sensitive; everything but `*` is literal.
    ("GHCR.io/org/*", "ghcr.io/org/app", NoMatch),
    ("ghcr.io/org/*", "GHCR.io/org/app", NoMatch),
    ("ghcr.io/Org/*", "ghcr.io/org/app", NoMatch),
    ("ghcr.io/org/app?", "ghcr.io/org/appx", NoMatch),
    ("ghcr.io/org/[ab]pp", "ghcr.io/org/app", NoMatch),
    ("ghcr.io/org/app.*", "ghcr.io/org/app.v2", Match),
    ("ghcr.io/org/app.*", "ghcr.io/org/appxv2", NoMatch),
    (
        "registry.k8s.io/e2e-test-images/*",
        "registry.k8s.io/e2e-test-images/agnhost:2.39",
        Match,
    ),
    (
        "registry.k8s.io/*",
        "registry.k8s.io/kube-apiserver:v1.31.0",
        Match,
    ),
    ("registry.k8s.io/*", "k8s.gcr.io/pause", NoMatch),
    (
        "registry.k8s.io/*",
        "registry.k8s.io.evil.com/pause",
        NoMatch,
    ),
    // Invalid references are errors, whatever the pattern.
    ("*", "", Invalid),
    ("*", "Nginx", Invalid),
    ("*", "ghcr.io/Org/app", Invalid),
    ("*", "nginx@sha256:abc", Invalid),
    ("*", "nginx:", Invalid),
    ("*", "nginx:bad tag", Invalid),
    ("*", "ghcr.io//app", Invalid),
    ("*", "ghcr.io/app/", Invalid),
    ("*", "localhost:port/app", Invalid),
    ("*", "nginx@md5:0123456789abcdef0123456789abcdef", Invalid),
    ("*", "{D}", Invalid),
    (
        "*",
        "ghcr.io/org/app@sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef",
        Invalid,
    ),
    ("*", "-nginx", Invalid),
    ("*", "ghcr.io/org/app:-tag", Invalid),
    ("*", "nginx::1", Invalid),
    ("*", "ghcr.io/org/app@sha256:{D}@sha256:{D}", Invalid),
    ("*", "ghcr.io/org/app name", Invalid),
    ("*", "ghcr.io/org/\u{e9}t\u{e9}", Invalid),
];

/// The rows with `{D}` expanded.
pub fn rows() -> Vec<(String, String, Expect)> {
    ROWS.iter()
        .map(|(p, i, e)| (p.replace("{D}", D), i.replace("{D}", D), *e))
        .collect()
}

/// A reference too long for the grammar, built rather than written out.
pub fn overlong_reference() -> String {
    format!("ghcr.io/{}", "a".repeat(300))
}
