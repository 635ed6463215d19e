//! Policy text (YAML or JSON): loading, lints, and matching a few images.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sigward_core::Policy;

const IMAGES: [&str; 5] = [
    "nginx",
    "docker.io/library/nginx:1.27",
    "ghcr.io/siderolabs/talos:v1.15.0",
    "registry.k8s.io/pause@sha256:7031c1b283388d2c2e09b57badb803c05ebed362dc88d84b480cc47f72a21097",
    "localhost:5000/a/b/c:tag",
];

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(policy) = Policy::parse(text) {
        let _ = policy.warnings();
        for image in IMAGES {
            if let Ok(matched) = policy.match_image(image) {
                let _ = matched.message();
            }
        }
    }
});
