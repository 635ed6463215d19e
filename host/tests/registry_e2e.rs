//! End to end: `sigward verify` against a real OCI registry on loopback
//! (Debian's docker-registry, the CNCF distribution registry) and against an
//! OCI layout filled the same way. Each test starts its own registry.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

#[path = "../../tests/corpus.rs"]
mod corpus;
#[path = "../../tests/registry_server.rs"]
mod registry_server;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use sigward_demo::World;
use sigward_host::oci::layout::Layout;
use sigward_host::oci::publish::{self, LegacyLayer, Sink};
use sigward_host::oci::registry::{Options, Registry};
use sigward_host::oci::{DOCKER_MANIFEST, Reference, sha256_digest};

use registry_server::{
    ProxyLog, RegistryServer, endless_manifest_server, free_port, non_loopback_address,
    silent_server, slow_server, token_auth_proxy,
};

struct Run {
    code: i32,
    /// Decisions by image.
    decisions: HashMap<String, Value>,
    stderr: String,
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sigward-e2e-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn verify(dir: &Path, extra: &[&str], images: &[String]) -> Run {
    verify_with_env(dir, extra, images, &[])
}

fn verify_with_env(dir: &Path, extra: &[&str], images: &[String], env: &[(&str, &str)]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_sigward"))
        .arg("verify")
        .arg("--policy")
        .arg(dir.join("policy.yaml"))
        .arg("--trusted-root")
        .arg(dir.join("trusted_root.json"))
        .args(["--output", "json"])
        .args(extra)
        .args(images)
        .env(
            "SIGWARD_CACHE_DIR",
            std::env::temp_dir().join("sigward-e2e-cache"),
        )
        .envs(env.iter().copied())
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let decisions = stdout
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            (v["image"].as_str().unwrap().to_owned(), v)
        })
        .collect();
    Run {
        code: out.status.code().unwrap_or(-1),
        decisions,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The message of `image`'s decision.
fn message_of(run: &Run, image: &str) -> String {
    run.decisions[image]["message"]
        .as_str()
        .unwrap_or_else(|| panic!("no message for {image}: {}", run.stderr))
        .to_owned()
}

fn registry_client() -> Registry {
    Registry::new(Options::default()).unwrap()
}

fn write_inputs(dir: &Path, policy: &str, root: &[u8]) {
    std::fs::write(dir.join("policy.yaml"), policy).unwrap();
    std::fs::write(dir.join("trusted_root.json"), root).unwrap();
}

/// The demo world's policy and trusted root in `dir`, their registry being
/// `address` (a server that is not a real registry; nothing is pushed).
fn world_policy_for(dir: &Path, address: &str) -> World {
    let world = sigward_demo::fill(
        &mut Layout::create(&dir.join("unused")).unwrap(),
        "127.0.0.1:1",
    )
    .unwrap();
    write_inputs(
        dir,
        &world.policy.replace("127.0.0.1:1", address),
        &world.trusted_root,
    );
    world
}

/// Every case of the world gets the decision SPEC §4 prescribes.
fn check_world(world: &World, run: &Run, source: &str) {
    assert_eq!(
        run.code, 1,
        "{source}: some images are refused: {}",
        run.stderr
    );
    for case in &world.cases {
        let d = run
            .decisions
            .get(&case.image)
            .unwrap_or_else(|| panic!("{source}: no decision for {}", case.image));
        let message = d["message"].as_str().unwrap_or_default();
        assert_eq!(d["allowed"], case.allowed, "{source} {}: {d}", case.image);
        assert_eq!(d["verified"], case.verified, "{source} {}: {d}", case.image);
        assert!(
            message.contains(&case.message),
            "{source} {}: expected `{}` in `{message}`",
            case.image,
            case.message
        );
        assert!(d["trace"].as_array().is_some_and(|t| !t.is_empty()));
        if case.verified {
            let digest_ref = d["digest_ref"].as_str().unwrap();
            assert!(digest_ref.contains("@sha256:"), "{digest_ref}");
            let trace = d["trace"].as_array().unwrap();
            assert!(
                trace
                    .iter()
                    .any(|c| c["check"] == "fetch.resolve" && c["outcome"] == "passed")
            );
        }
    }
}

#[test]
fn the_world_decides_alike_from_a_registry_and_a_layout() {
    let server = RegistryServer::start();
    let mut registry = registry_client();
    let world = sigward_demo::fill(&mut registry, &server.address).unwrap();
    let dir = scratch("world");
    write_inputs(&dir, &world.policy, &world.trusted_root);
    let images: Vec<String> = world.cases.iter().map(|c| c.image.clone()).collect();

    let from_registry = verify(&dir, &[], &images);
    check_world(&world, &from_registry, "registry");

    let mut layout = Layout::create(&dir.join("layout")).unwrap();
    let again = sigward_demo::fill(&mut layout, &server.address).unwrap();
    assert_eq!(again.policy, world.policy);
    let layout_arg = dir.join("layout").display().to_string();
    let from_layout = verify(&dir, &["--oci-layout", &layout_arg], &images);
    check_world(&world, &from_layout, "layout");

    // The same bytes, so the same digests, in both stores.
    for image in &images {
        assert_eq!(
            from_registry.decisions[image]["digest_ref"],
            from_layout.decisions[image]["digest_ref"]
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// The real legacy signatures of the containers-image corpus, pushed under
/// a relocated name: they verify on the mirror. The registry refuses the
/// image manifests themselves (their layers are not in the corpus), so
/// there the image is named by digest; the layout holds the manifest too
/// and is asked by tag. A second layout holds the signatures alone, as a
/// mirror of them would: by digest, the image verifies from it too.
#[test]
fn real_signatures_verify_on_a_mirror() {
    let server = RegistryServer::start();
    let fixtures = corpus::containers_image_fixtures();
    let address = &server.address;
    let cases = [
        (
            "dir-img-cosign-fulcio-rekor-valid",
            "mirror/keyless",
            "true",
        ),
        ("dir-img-cosign-key-rekor-valid", "mirror/key-rekor", "true"),
        ("dir-img-cosign-valid", "mirror/key", "false"),
    ];
    let key = |name: &str| std::fs::read_to_string(fixtures.join(name)).unwrap();
    let indent =
        |pem: String| -> String { pem.lines().map(|l| format!("        {l}\n")).collect() };
    let policy = format!(
        "apiVersion: v1alpha1\nkind: ImageVerificationConfig\nrules:\n\
         \x20 - image: {address}/mirror/keyless\n    keyless:\n      issuer: https://github.com/login/oauth\n      subject: mitr@redhat.com\n\
         \x20 - image: {address}/mirror/key-rekor\n    publicKey:\n      certificate: |\n{}\
         \x20 - image: {address}/mirror/key\n    publicKey:\n      certificate: |\n{}",
        indent(key("cosign2.pub")),
        indent(key("cosign.pub"))
    );
    let dir = scratch("mirror");
    let root =
        std::fs::read(fixtures.join("../../../root-signing/targets/trusted_root.json")).unwrap();
    write_inputs(&dir, &policy, &root);

    let mut registry = registry_client();
    let mut layout = Layout::create(&dir.join("layout")).unwrap();
    let mut signatures_only = Layout::create(&dir.join("signatures-only")).unwrap();
    let mut by_digest = Vec::new();
    let mut by_tag = Vec::new();
    for (fixture, repo, _) in cases {
        let manifest = std::fs::read(fixtures.join(fixture).join("manifest.json")).unwrap();
        let digest = sha256_digest(&manifest);
        let mut layers = Vec::new();
        for n in 1.. {
            let path = fixtures.join(fixture).join(format!("signature-{n}"));
            if !path.exists() {
                break;
            }
            let s = corpus::stored_signature(&path);
            assert_eq!(s.media_type, sigward_host::oci::SIMPLE_SIGNING);
            layers.push(LegacyLayer {
                payload: s.payload,
                annotations: s.annotations,
            });
        }
        let tagged: Reference = format!("{address}/{repo}:v1").parse().unwrap();
        publish::legacy_signatures(&mut registry, &tagged, &digest, &layers).unwrap();
        publish::legacy_signatures(&mut layout, &tagged, &digest, &layers).unwrap();
        publish::legacy_signatures(&mut signatures_only, &tagged, &digest, &layers).unwrap();
        Sink::put_manifest(&mut layout, &tagged, &manifest, DOCKER_MANIFEST).unwrap();
        by_digest.push(format!("{address}/{repo}@{digest}"));
        by_tag.push(tagged.whole());
    }
    let layout_arg = dir.join("layout").display().to_string();
    let signatures_arg = dir.join("signatures-only").display().to_string();
    for (run, images) in [
        (verify(&dir, &[], &by_digest), &by_digest),
        (
            verify(&dir, &["--oci-layout", &layout_arg], &by_tag),
            &by_tag,
        ),
        (
            verify(&dir, &["--oci-layout", &signatures_arg], &by_digest),
            &by_digest,
        ),
    ] {
        assert_eq!(run.code, 0, "{}", run.stderr);
        for (image, (_, _, set)) in images.iter().zip(cases) {
            let d = &run.decisions[image];
            assert_eq!(d["allowed"], true, "{d}");
            assert_eq!(
                d["message"],
                format!("verified via legacy signature (bundle verified {set})")
            );
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A registry that is down or hangs refuses the image with the reason;
/// a skip rule fetches nothing, so it still admits.
#[test]
fn unreachable_registries_refuse() {
    let dir = scratch("down");
    for (address, reason) in [
        (format!("127.0.0.1:{}", free_port()), "cannot fetch"),
        (silent_server(), "cannot fetch"),
    ] {
        world_policy_for(&dir, &address);
        let signed = format!("{address}/signed/app:v1");
        let skipped = format!("{address}/sandbox/app:v1");
        let run = verify(
            &dir,
            &["--timeout", "2"],
            &[signed.clone(), skipped.clone()],
        );
        assert_eq!(run.code, 1, "{}", run.stderr);
        let d = &run.decisions[&signed];
        assert_eq!(d["allowed"], false);
        let message = d["message"].as_str().unwrap();
        assert!(
            message.starts_with("image verification failed: fetch.resolve: ")
                && message.contains(reason),
            "{message}"
        );
        assert_eq!(run.decisions[&skipped]["allowed"], true);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Oversized manifests and blobs, and too many layers, are refused before
/// they reach the component.
#[test]
fn oversized_signatures_are_refused() {
    let server = RegistryServer::start();
    let address = &server.address;
    let mut registry = registry_client();
    let world = sigward_demo::fill(&mut registry, address).unwrap();
    let dir = scratch("oversized");
    write_inputs(&dir, &world.policy, &world.trusted_root);
    let layer = |payload: Vec<u8>, annotation: usize| LegacyLayer {
        payload,
        annotations: vec![(
            "dev.cosignproject.cosign/signature".to_owned(),
            "A".repeat(annotation),
        )],
    };
    let cases: [(&str, Vec<LegacyLayer>, &str); 3] = [
        (
            "signed/big-manifest:v1",
            vec![layer(b"{}".to_vec(), 200 * 1024)],
            "at most 131072 allowed",
        ),
        (
            "signed/big-blob:v1",
            vec![layer(vec![b' '; 2 * 1024 * 1024], 4)],
            "at most 1048576 allowed",
        ),
        (
            "signed/many-layers:v1",
            (0..101)
                .map(|i| layer(format!("{i}").into_bytes(), 4))
                .collect(),
            "101 entries in the signature tag's manifest, at most 100 allowed",
        ),
    ];
    let mut images = Vec::new();
    for (path, layers, _) in &cases {
        let image: Reference = format!("{address}/{path}").parse().unwrap();
        let d = publish::image(&mut registry, &image, path.as_bytes()).unwrap();
        publish::legacy_signatures(&mut registry, &image, &d.digest, layers).unwrap();
        images.push(image.whole());
    }
    let run = verify(&dir, &[], &images);
    assert_eq!(run.code, 1, "{}", run.stderr);
    for (image, (_, _, reason)) in images.iter().zip(&cases) {
        let d = &run.decisions[image];
        assert_eq!(d["allowed"], false, "{d}");
        let message = d["message"].as_str().unwrap();
        assert!(
            message.starts_with("image verification failed: fetch.legacy-tag: ")
                && message.contains(reason),
            "{image}: {message}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A verification that runs the guest out of fuel refuses that image alone:
/// the other images of the run are still decided, each verify image in a
/// fresh instance, and the exit code is a refusal's.
#[test]
fn a_guest_out_of_fuel_refuses_its_image_and_the_run_goes_on() {
    let dir = scratch("fuel");
    let mut layout = Layout::create(&dir.join("layout")).unwrap();
    let world = sigward_demo::fill(&mut layout, "registry.demo.test").unwrap();
    write_inputs(&dir, &world.policy, &world.trusted_root);
    let verified: Vec<&sigward_demo::Case> = world.cases.iter().filter(|c| c.verified).collect();
    let skipped = world
        .cases
        .iter()
        .find(|c| c.allowed && !c.verified)
        .expect("a skip case");
    let images = vec![
        verified[0].image.clone(),
        skipped.image.clone(),
        verified[1].image.clone(),
    ];
    let layout_arg = dir.join("layout").display().to_string();
    let plenty = verify(&dir, &["--oci-layout", &layout_arg], &images);
    assert_eq!(plenty.code, 0, "{}", plenty.stderr);

    // Enough fuel to load the policy, match and load the trusted root (each
    // call gets its own), not to verify a signature.
    let run = verify_with_env(
        &dir,
        &["--oci-layout", &layout_arg],
        &images,
        &[("SIGWARD_FUEL_PER_CALL", "20000000")],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(run.decisions.len(), 3, "{}", run.stderr);
    for image in [&images[0], &images[2]] {
        let d = &run.decisions[image];
        assert_eq!(d["allowed"], false, "{d}");
        let message = d["message"].as_str().unwrap();
        assert!(
            message.contains("component: the sigward component stopped"),
            "{message}"
        );
        assert!(message.contains("fuel"), "{message}");
    }
    assert_eq!(run.decisions[&images[1]]["allowed"], true);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A registry that answers each request just inside the per-request
/// deadline cannot hold an image past its overall deadline. (The signature
/// sources are fetched together, so the resolve and that one round are
/// what must outlast it.)
#[test]
fn a_slow_registry_is_cut_off_by_the_image_deadline() {
    let dir = scratch("slow");
    let address = slow_server(std::time::Duration::from_millis(1200));
    world_policy_for(&dir, &address);
    let signed = format!("{address}/signed/app:v1");
    let run = verify(
        &dir,
        &["--timeout", "2", "--image-timeout", "2"],
        std::slice::from_ref(&signed),
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    let d = &run.decisions[&signed];
    assert_eq!(d["allowed"], false, "{d}");
    let message = d["message"].as_str().unwrap();
    assert!(
        message.contains("the image's 2 s for all its requests ran out"),
        "{message}"
    );
}

/// The signature sources are fetched together once the tag is resolved: at
/// 800 ms a request, the resolve and one round of the three sources fit in
/// an image's 3 s, where one source after another (3.2 s) would not.
#[test]
fn the_signature_sources_are_fetched_together() {
    let dir = scratch("together");
    let address = slow_server(std::time::Duration::from_millis(800));
    world_policy_for(&dir, &address);
    let signed = format!("{address}/signed/app:v1");
    let run = verify(
        &dir,
        &["--timeout", "2", "--image-timeout", "3"],
        std::slice::from_ref(&signed),
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    // Every source answered (none has the image), inside the image's time.
    let message = run.decisions[&signed]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(message.contains("no signatures found"), "{message}");
}

/// A registry that sends a manifest without end, chunked or under a huge
/// `Content-Length`: the image is refused naming the 128 KiB limit, and
/// little more than that is ever read.
#[test]
fn an_endless_manifest_is_cut_at_the_limit() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};
    let dir = scratch("endless");
    for claimed in [None, Some(10_000_000_000)] {
        let sent = Arc::new(AtomicU64::new(0));
        let address = endless_manifest_server(claimed, sent.clone());
        world_policy_for(&dir, &address);
        let signed = format!("{address}/signed/app:v1");
        let run = verify(&dir, &["--timeout", "20"], std::slice::from_ref(&signed));
        assert_eq!(run.code, 1, "{}", run.stderr);
        let message = message_of(&run, &signed);
        assert!(
            message.contains("at most 131072 allowed"),
            "{claimed:?}: {message}"
        );
        if let Some(length) = claimed {
            // Refused on the header, before the body.
            assert!(message.contains(&format!("is {length} bytes")), "{message}");
        }
        // What the server pushed before the client hung up: the cap, plus
        // what the socket buffers held.
        let pushed = sent.load(Ordering::Relaxed);
        assert!(
            pushed < 64 * 1024 * 1024,
            "{claimed:?}: {pushed} bytes sent"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A registry that takes bearer tokens only, and a Docker configuration whose
/// entry for it is an identity token (an OAuth2 refresh token): sigward
/// exchanges it at the token service the registry names and sends the
/// registry only the access token. A wrong token, or a credential helper
/// that fails, refuses the image with the reason; neither falls back to
/// anonymous access.
#[test]
fn an_identity_token_is_exchanged_never_sent() {
    use std::sync::{Arc, Mutex};
    let server = RegistryServer::start();
    let mut registry = registry_client();
    let world = sigward_demo::fill(&mut registry, &server.address).unwrap();
    let log = Arc::new(Mutex::new(ProxyLog::default()));
    let proxy = token_auth_proxy(
        server.address.clone(),
        "refresh-123",
        "access-ok",
        log.clone(),
    );
    let dir = scratch("token");
    write_inputs(
        &dir,
        &world.policy.replace(&server.address, &proxy),
        &world.trusted_root,
    );
    let mut behind = world.clone();
    for case in &mut behind.cases {
        case.image = case.image.replace(&server.address, &proxy);
    }
    let images: Vec<String> = behind.cases.iter().map(|c| c.image.clone()).collect();
    let docker = dir.join("docker");
    std::fs::create_dir_all(&docker).unwrap();
    let config = |entry: serde_json::Value| {
        std::fs::write(docker.join("config.json"), entry.to_string()).unwrap();
    };
    let docker_env = docker.display().to_string();

    config(serde_json::json!({"auths": {&proxy: {"identitytoken": "refresh-123"}}}));
    let run = verify_with_env(&dir, &[], &images, &[("DOCKER_CONFIG", &docker_env)]);
    check_world(&behind, &run, "behind a token service");
    let log = log.lock().unwrap();
    assert!(!log.token_forms.is_empty());
    for form in &log.token_forms {
        assert!(form.contains("grant_type=refresh_token"), "{form}");
        assert!(form.contains("scope=repository%3A"), "{form}");
    }
    for (line, authorization) in &log.requests {
        assert!(
            !authorization
                .as_deref()
                .unwrap_or_default()
                .contains("refresh-123"),
            "the refresh token reached the registry: {line}"
        );
    }
    assert!(
        log.requests
            .iter()
            .any(|(line, a)| line.contains("/manifests/")
                && a.as_deref() == Some("Bearer access-ok"))
    );
    drop(log);

    let signed = behind
        .cases
        .iter()
        .find(|c| c.verified)
        .map(|c| c.image.clone())
        .unwrap();
    config(serde_json::json!({"auths": {&proxy: {"identitytoken": "wrong"}}}));
    let run = verify_with_env(
        &dir,
        &[],
        std::slice::from_ref(&signed),
        &[("DOCKER_CONFIG", &docker_env)],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    let message = message_of(&run, &signed);
    assert!(
        message.contains("the token service") && message.contains("401"),
        "{message}"
    );

    // A credential helper that fails is reported, not replaced by anonymous access.
    let helpers = dir.join("helpers");
    std::fs::create_dir_all(&helpers).unwrap();
    let helper = helpers.join("docker-credential-failing");
    // Written by another process: a file this process held open for writing
    // could leak into a child forked meanwhile by a parallel test, and exec
    // would then fail with ETXTBSY.
    // It reads the request first, as helpers do (exiting before the host
    // has written it would be a broken pipe, not a refusal).
    let script = "#!/bin/sh\nread server\necho 'the keychain is locked' >&2\nexit 1\n";
    let written = Command::new("sh")
        .arg("-c")
        .arg("printf '%s' \"$1\" > \"$2\" && chmod 755 \"$2\"")
        .args(["sh", script, &helper.display().to_string()])
        .status()
        .unwrap();
    assert!(written.success());
    config(serde_json::json!({"credHelpers": {&proxy: "failing"}}));
    let path = format!(
        "{}:{}",
        helpers.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let run = verify_with_env(
        &dir,
        &[],
        std::slice::from_ref(&signed),
        &[("DOCKER_CONFIG", &docker_env), ("PATH", &path)],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    let message = message_of(&run, &signed);
    assert!(
        message.contains("docker-credential-failing` failed: the keychain is locked"),
        "{message}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Over HTTPS: the same storage served by a second registry with TLS, at
/// this machine's own non-loopback address (loopback registries are always
/// plain HTTP), its certificate issued by a CA the sigward process trusts
/// through `SSL_CERT_FILE`. The world decides as it does over HTTP; without
/// the CA, the certificate is refused and so is every verify image.
#[test]
fn the_world_decides_alike_over_https() {
    let ip = non_loopback_address();
    let plain = RegistryServer::start();
    let mut registry = registry_client();
    let world = sigward_demo::fill(&mut registry, &plain.address).unwrap();
    let tls = sigward_testpki::tls_server(ip.octets());
    let secure = plain.beside_over_https(&ip.to_string(), &tls);
    let dir = scratch("https");
    write_inputs(
        &dir,
        &world.policy.replace(&plain.address, &secure.address),
        &world.trusted_root,
    );
    std::fs::write(dir.join("ca.pem"), &tls.ca_pem).unwrap();
    let mut over_https = world.clone();
    for case in &mut over_https.cases {
        case.image = case.image.replace(&plain.address, &secure.address);
    }
    let images: Vec<String> = over_https.cases.iter().map(|c| c.image.clone()).collect();
    let ca = dir.join("ca.pem").display().to_string();
    let run = verify_with_env(&dir, &[], &images, &[("SSL_CERT_FILE", &ca)]);
    check_world(&over_https, &run, "over HTTPS");

    // Another CA (the test PKI's Fulcio-like root), which did not issue it.
    let other = sigward_testpki::Pki::new(sigward_testpki::T0 + 86_400);
    std::fs::write(
        dir.join("other-ca.pem"),
        sigward_testpki::pem("CERTIFICATE", &other.root),
    )
    .unwrap();
    let untrusted = dir.join("other-ca.pem").display().to_string();
    let signed = over_https
        .cases
        .iter()
        .find(|c| c.verified)
        .map(|c| c.image.clone())
        .unwrap();
    let run = verify_with_env(
        &dir,
        &[],
        std::slice::from_ref(&signed),
        &[("SSL_CERT_FILE", &untrusted)],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    let message = message_of(&run, &signed);
    assert!(
        message.contains("fetch.resolve") && message.contains("certificate"),
        "{message}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
