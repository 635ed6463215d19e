//! The Kubewarden policy's core (`sigward_core::kubewarden`), natively, with
//! its host capabilities answered from an OCI layout of the demo world, or
//! by a hostile host: what it admits, what it refuses and why, and that the
//! payload it rebuilds is the one real cosign signatures carry.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use serde_json::{Value, json};
use sigward_core::kubewarden::{self, Capabilities, State, evidence};
use sigward_host::oci::layout::Layout;
use sigward_host::oci::{Reference, Store as _};
use sigward_tests::{containers_image_fixtures, stored_signature};

/// The capabilities over a layout, recording each call.
struct FromLayout {
    layout: Layout,
    calls: Vec<String>,
}

impl Capabilities for FromLayout {
    fn manifest_digest(&mut self, image: &str) -> Result<Vec<u8>, String> {
        self.calls.push(format!("digest {image}"));
        let reference: Reference = image.parse().map_err(|e| format!("{e}"))?;
        let digest = self.layout.resolve(&reference).map_err(|e| e.to_string())?;
        Ok(json!({ "digest": digest }).to_string().into_bytes())
    }

    fn manifest(&mut self, image: &str) -> Result<Vec<u8>, String> {
        self.calls.push(format!("manifest {image}"));
        let reference: Reference = image.parse().map_err(|e| format!("{e}"))?;
        Ok(self
            .layout
            .manifest(&reference)
            .map_err(|e| e.to_string())?
            .0)
    }
}

/// A host that answers every call with the same bytes.
struct Hostile {
    digest: Vec<u8>,
    manifest: Vec<u8>,
}

impl Capabilities for Hostile {
    fn manifest_digest(&mut self, _: &str) -> Result<Vec<u8>, String> {
        Ok(self.digest.clone())
    }
    fn manifest(&mut self, _: &str) -> Result<Vec<u8>, String> {
        Ok(self.manifest.clone())
    }
}

const REGISTRY: &str = "registry.demo.test";

fn world(name: &str) -> (FromLayout, sigward_demo::World) {
    let dir = std::env::temp_dir().join(format!(
        "sigward-kubewarden-core-{}-{name}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    let mut layout = Layout::create(&dir).unwrap();
    let world = sigward_demo::fill(&mut layout, REGISTRY).unwrap();
    let layout = Layout::open(&dir).unwrap();
    (
        FromLayout {
            layout,
            calls: Vec::new(),
        },
        world,
    )
}

fn settings(world: &sigward_demo::World) -> Value {
    let root: Value = serde_json::from_slice(&world.trusted_root).unwrap();
    json!({"policy": world.policy, "trustedRoot": root})
}

fn review(image: &str) -> Value {
    json!({"uid": "u1", "kind": {"group": "", "version": "v1", "kind": "Pod"},
        "operation": "CREATE", "namespace": "default",
        "object": {"kind": "Pod", "spec": {"containers": [{"name": "app", "image": image}]}}})
}

fn validate(
    state: &mut State,
    caps: &mut dyn Capabilities,
    settings: &Value,
    image: &str,
) -> Value {
    let payload = json!({"request": review(image), "settings": settings});
    let answer = kubewarden::validate(state, payload.to_string().as_bytes(), caps);
    serde_json::from_slice(&answer).unwrap()
}

#[test]
fn a_legacy_signature_verifies_from_its_descriptor_and_the_tag_is_pinned() {
    let (mut caps, world) = world("legacy");
    let settings = settings(&world);
    let mut state = State::default();
    let image = format!("{REGISTRY}/signed/legacy:v1");
    let answer = validate(&mut state, &mut caps, &settings, &image);
    assert_eq!(answer["accepted"], true, "{answer}");
    let pinned = answer["mutated_object"]["spec"]["containers"][0]["image"]
        .as_str()
        .unwrap();
    let digest = caps.layout.resolve(&image.parse().unwrap()).unwrap();
    assert_eq!(pinned, format!("{image}@{digest}"));
    assert_eq!(
        caps.calls,
        [
            format!("digest {image}"),
            format!(
                "manifest {REGISTRY}/signed/legacy:{}.sig",
                digest.replace(':', "-")
            ),
        ]
    );
    // Again: the tag is resolved, the verified decision is kept.
    caps.calls.clear();
    let again = validate(&mut state, &mut caps, &settings, &image);
    assert_eq!(again, answer);
    assert_eq!(caps.calls, [format!("digest {image}")]);
    // The same settings with `mutate: false` admit without pinning.
    let mut unpinned = settings.clone();
    unpinned["mutate"] = json!(false);
    let answer = validate(&mut state, &mut caps, &unpinned, &image);
    assert_eq!(answer["accepted"], true);
    assert!(answer.get("mutated_object").is_none());
}

#[test]
fn skip_deny_and_no_match_call_no_capability() {
    let (mut caps, world) = world("actions");
    let settings = settings(&world);
    let mut state = State::default();
    for (image, accepted) in [
        (format!("{REGISTRY}/sandbox/scratch:v1"), true),
        (format!("{REGISTRY}/denied/app:v1"), false),
        ("elsewhere.example/app:v1".to_owned(), true),
    ] {
        let answer = validate(&mut state, &mut caps, &settings, &image);
        assert_eq!(answer["accepted"], accepted, "{image}: {answer}");
    }
    assert!(caps.calls.is_empty(), "{:?}", caps.calls);
}

#[test]
fn what_no_capability_can_show_is_refused_saying_why() {
    let (mut caps, world) = world("unreadable");
    let settings = settings(&world);
    let mut state = State::default();
    for (path, says) in [
        ("signed/referrer:v1", "OCI referrers are not reachable"),
        ("signed/tagged:v1", "holds Sigstore bundles"),
        ("signed/moved:v1", "is not the one cosign signs"),
        ("attested/legacy:v1", "requires attestations"),
        ("signed/unsigned:v1", "no signatures found"),
    ] {
        let image = format!("{REGISTRY}/{path}");
        let answer = validate(&mut state, &mut caps, &settings, &image);
        assert_eq!(answer["accepted"], false, "{image}: {answer}");
        assert_eq!(answer["code"], 403);
        let message = answer["message"].as_str().unwrap();
        assert!(message.contains(says), "{image}: {message}");
        assert!(message.contains(&format!("image {image:?}")), "{message}");
        assert!(message.contains("refused by rule ("), "{message}");
    }
}

#[test]
fn a_hostile_host_gets_refusals() {
    let (_, world) = world("hostile");
    let settings = settings(&world);
    let image = format!("{REGISTRY}/signed/legacy:v1");
    let digest = json!({"digest": format!("sha256:{}", "a".repeat(64))}).to_string();
    let layer = |digest: &str| {
        json!({"mediaType": "application/vnd.dev.cosign.simplesigning.v1+json",
            "digest": digest, "size": 1, "annotations": {}})
    };
    let payload = &evidence::cosign_payloads(
        &format!("{REGISTRY}/signed/legacy"),
        &format!("sha256:{}", "a".repeat(64)),
    )[0];
    let rebuilt_digest = format!("sha256:{}", sigward_core::hex::encode(&sha256(payload)));
    let cases = [
        (b"not json".to_vec(), b"{}".to_vec(), "fetch.resolve"),
        (
            json!({"digest": "sha256:short"}).to_string().into_bytes(),
            b"{}".to_vec(),
            "fetch.resolve",
        ),
        (
            digest.clone().into_bytes(),
            b"[".to_vec(),
            "not an image manifest",
        ),
        (
            digest.clone().into_bytes(),
            vec![b' '; 200 * 1024],
            "at most 131072 allowed",
        ),
        (
            digest.clone().into_bytes(),
            json!({"layers": (0..101).map(|_| layer(&rebuilt_digest)).collect::<Vec<_>>()})
                .to_string()
                .into_bytes(),
            "101 signature layers",
        ),
        // The rebuilt payload's own digest, with no signature: the layer is
        // read, then refused by its checks.
        (
            digest.clone().into_bytes(),
            json!({"layers": [layer(&rebuilt_digest)]})
                .to_string()
                .into_bytes(),
            "dev.cosignproject.cosign/signature",
        ),
    ];
    for (digest, manifest, says) in cases {
        let mut state = State::default();
        let mut host = Hostile { digest, manifest };
        let answer = validate(&mut state, &mut host, &settings, &image);
        assert_eq!(answer["accepted"], false, "{says}: {answer}");
        let message = answer["message"].as_str().unwrap();
        assert!(message.contains(says), "{says}: {message}");
    }
}

fn sha256(bytes: &[u8]) -> Vec<u8> {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes).to_vec()
}

#[test]
fn the_rebuilt_payload_is_byte_for_byte_what_cosign_signed() {
    // Real cosign signatures (containers/image's fixtures): each payload
    // without annotations is rebuilt exactly from its repository and digest.
    let mut rebuilt = 0;
    for dir in std::fs::read_dir(containers_image_fixtures()).unwrap() {
        let dir: PathBuf = dir.unwrap().path();
        if !dir.is_dir() {
            continue;
        }
        for file in std::fs::read_dir(&dir).unwrap() {
            let path = file.unwrap().path();
            if !path
                .file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("signature-")
            {
                continue;
            }
            let stored = stored_signature(&path);
            // Other attachments, and payloads with annotations, are not
            // what the policy rebuilds.
            let Ok(payload) = serde_json::from_slice::<Value>(&stored.payload) else {
                continue;
            };
            if stored.media_type != "application/vnd.dev.cosign.simplesigning.v1+json"
                || !payload["optional"].is_null()
            {
                continue;
            }
            let critical = &payload["critical"];
            let candidates = evidence::cosign_payloads(
                critical["identity"]["docker-reference"].as_str().unwrap(),
                critical["image"]["docker-manifest-digest"]
                    .as_str()
                    .unwrap(),
            );
            assert_eq!(candidates[0], stored.payload, "{}", path.display());
            rebuilt += 1;
        }
    }
    assert!(rebuilt >= 5, "{rebuilt} real payloads rebuilt");
}

#[test]
fn settings_errors_are_sigward_checks_words() {
    let answer = kubewarden::validate_settings(
        json!({"policy": "apiVersion: v1alpha1\nkind: ImageVerificationConfig\nrules:\n  - image: \"a/*\"\n    keyless:\n      issuer: x\n"})
            .to_string()
            .as_bytes(),
    );
    let answer: Value = serde_json::from_slice(&answer).unwrap();
    assert_eq!(answer["valid"], false);
    let message = answer["message"].as_str().unwrap();
    assert!(
        message.starts_with("policy: rule (0000) keyless"),
        "{message}"
    );
    assert_eq!(
        serde_json::from_slice::<Value>(&kubewarden::protocol_version()).unwrap(),
        json!("v1")
    );
}
