//! End to end: `sigward serve` driven as kube-apiserver drives an admission
//! webhook (tests/apiserver.rs: HTTPS with the CA bundle, `?timeout=`,
//! AdmissionReviews as the admission plugin builds them, answers checked as
//! the dispatcher checks them, patches applied with RFC 6902). Objects come
//! from `kubectl create … --dry-run=client -o json` and hand-written Pods;
//! images from the demo world in a real docker-registry on loopback.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

#[path = "../../tests/apiserver.rs"]
mod apiserver;
#[path = "../../tests/registry_server.rs"]
#[allow(dead_code)]
mod registry_server;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sigward_host::oci::registry::{Options, Registry};
use sigward_host::oci::{Reference, Store as _};

use apiserver::{Admission, ApiServer, Call, Webhook, demo_world};
use registry_server::{free_port, silent_server};

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sigward-admission-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The demo world's policy and root in `dir`, its registry being `address`,
/// where nothing was pushed (a server that is down or never answers).
fn unreachable_world(dir: &Path, address: &str) {
    let world = sigward_demo::fill(
        &mut sigward_host::oci::layout::Layout::create(&dir.join("unused")).unwrap(),
        address,
    )
    .unwrap();
    std::fs::write(dir.join("policy.yaml"), &world.policy).unwrap();
    std::fs::write(dir.join("trusted_root.json"), &world.trusted_root).unwrap();
}

/// The digest the registry itself gives for `image`, asked independently of
/// the webhook.
fn digest_of(image: &str) -> String {
    let reference: Reference = image.parse().unwrap();
    Registry::new(Options::default())
        .unwrap()
        .resolve(&reference)
        .unwrap()
}

fn kubectl(args: &[&str]) -> Value {
    let out = Command::new("kubectl")
        .args(args)
        .args(["--dry-run=client", "-o", "json"])
        .output()
        .unwrap_or_else(|e| panic!("kubectl is needed to build the objects: {e}"));
    assert!(
        out.status.success(),
        "kubectl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// A Pod with one container of each list, written by hand (`kubectl run`
/// asks a server even for a client dry run).
fn pod(init: &str, container: &str, ephemeral: Option<&str>) -> Value {
    let mut pod = json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "app", "labels": {"run": "app"}},
        "spec": {
            "containers": [{"name": "app", "image": container, "resources": {}}],
            "dnsPolicy": "ClusterFirst",
            "restartPolicy": "Always",
        },
        "status": {},
    });
    pod["spec"]["initContainers"] = json!([{"name": "init", "image": init}]);
    if let Some(image) = ephemeral {
        pod["spec"]["ephemeralContainers"] =
            json!([{"name": "debugger", "image": image, "targetContainerName": "app"}]);
    }
    pod
}

/// Every workload kind with a pod template, from kubectl where it makes
/// them, each running `image` with an init container running `init`.
fn workloads(image: &str, init: &str) -> Vec<(Value, &'static str)> {
    let flag = format!("--image={image}");
    let deployment = kubectl(&["create", "deployment", "web", &flag]);
    let job = kubectl(&["create", "job", "once", &flag]);
    let cronjob = kubectl(&[
        "create",
        "cronjob",
        "nightly",
        &flag,
        "--schedule=0 1 * * *",
    ]);
    // kubectl makes none of these: the same template under their kinds.
    let like = |kind: &str, api_version: &str| {
        let mut object = deployment.clone();
        object["kind"] = json!(kind);
        object["apiVersion"] = json!(api_version);
        object["spec"].as_object_mut().unwrap().remove("strategy");
        if kind == "ReplicationController" {
            object["spec"]["selector"] = json!({"app": "web"});
        }
        object
    };
    let mut objects = vec![
        (like("ReplicaSet", "apps/v1"), "/spec/template/spec"),
        (like("StatefulSet", "apps/v1"), "/spec/template/spec"),
        (like("DaemonSet", "apps/v1"), "/spec/template/spec"),
        (like("ReplicationController", "v1"), "/spec/template/spec"),
        (deployment, "/spec/template/spec"),
        (job, "/spec/template/spec"),
        (cronjob, "/spec/jobTemplate/spec/template/spec"),
    ];
    for (object, spec) in &mut objects {
        let spec = object.pointer_mut(spec).unwrap();
        spec["initContainers"] = json!([{"name": "init", "image": init}]);
    }
    objects
}

fn call(api: &ApiServer, call: &Call) -> Admission {
    api.admit(call)
        .unwrap_or_else(|e| panic!("the apiserver would fail this call: {e:?}"))
}

fn image_at(object: &Value, pointer: &str) -> String {
    object
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("no image at {pointer} in {object}"))
        .to_owned()
}

#[test]
fn every_workload_kind_is_judged_and_pinned() {
    let dir = scratch("kinds");
    let (server, _) = demo_world(&dir);
    let webhook = Webhook::start(&dir, &[]);
    let api = webhook.api();
    let legacy = format!("{}/signed/legacy:v1", server.address);
    let referrer = format!("{}/signed/referrer:v1", server.address);
    let unsigned = format!("{}/signed/unsigned:v1", server.address);
    let (legacy_digest, referrer_digest) = (digest_of(&legacy), digest_of(&referrer));

    for (object, spec) in workloads(&legacy, &referrer) {
        let kind = object["kind"].as_str().unwrap().to_owned();
        let validated = call(&api, &Call::create("validate", object.clone()));
        assert!(validated.allowed, "{kind}: {}", validated.message);
        assert!(validated.patch.is_empty());
        assert_eq!(
            validated.object, object,
            "{kind}: /validate changes nothing"
        );

        let mutated = call(&api, &Call::create("mutate", object.clone()));
        assert!(mutated.allowed, "{kind}: {}", mutated.message);
        assert_eq!(mutated.patch.len(), 2, "{kind}: {:?}", mutated.patch);
        assert_eq!(
            image_at(&mutated.object, &format!("{spec}/containers/0/image")),
            format!("{legacy}@{legacy_digest}"),
            "{kind}"
        );
        assert_eq!(
            image_at(&mutated.object, &format!("{spec}/initContainers/0/image")),
            format!("{referrer}@{referrer_digest}"),
            "{kind}"
        );
        // Only the images changed.
        let mut restored = mutated.object.clone();
        *restored
            .pointer_mut(&format!("{spec}/containers/0/image"))
            .unwrap() = json!(legacy);
        *restored
            .pointer_mut(&format!("{spec}/initContainers/0/image"))
            .unwrap() = json!(referrer);
        assert_eq!(restored, object, "{kind}");

        // An unsigned init container refuses the whole object, naming it.
        let mut refused = object.clone();
        *refused
            .pointer_mut(&format!("{spec}/initContainers/0/image"))
            .unwrap() = json!(unsigned);
        for endpoint in ["validate", "mutate"] {
            let answer = call(&api, &Call::create(endpoint, refused.clone()));
            assert!(!answer.allowed, "{kind} {endpoint}");
            assert_eq!(answer.code, Some(403));
            assert!(answer.patch.is_empty());
            assert!(
                answer.message.contains(&format!(
                    "initContainers \"init\": image \"{unsigned}\" refused by rule (0002): image verification failed: no signatures found"
                )),
                "{kind}: {}",
                answer.message
            );
        }
    }
}

#[test]
fn each_world_case_alone_and_mixed_in_one_pod() {
    let dir = scratch("cases");
    let (server, world) = demo_world(&dir);
    let webhook = Webhook::start(&dir, &[]);
    let api = webhook.api();
    for case in &world.cases {
        let answer = call(
            &api,
            &Call::create("mutate", pod(&case.image, &case.image, None)),
        );
        assert_eq!(answer.allowed, case.allowed, "{}: {answer:?}", case.image);
        let decisions: Value =
            serde_json::from_str(answer.audit["decisions"].as_str().unwrap()).unwrap();
        let decision = &decisions[0];
        assert_eq!(decision["image"], case.image.as_str());
        assert!(
            decision["message"]
                .as_str()
                .unwrap()
                .contains(&case.message),
            "{}: {decision}",
            case.image
        );
        assert!(decision["trace"].as_array().is_some_and(|t| !t.is_empty()));
        if case.allowed {
            // A verified tag is pinned; an image already pinned stays as is.
            let pinned = case.verified && !case.image.contains('@');
            assert_eq!(
                answer.patch.len(),
                if pinned { 2 } else { 0 },
                "{}",
                case.image
            );
            if !case.verified {
                // Skipped and unmatched images are admitted with a warning.
                assert_eq!(answer.warnings.len(), 2, "{}: {answer:?}", case.image);
                assert!(
                    answer.warnings[0].contains(&case.message),
                    "{:?}",
                    answer.warnings
                );
            }
        } else {
            assert_eq!(answer.code, Some(403));
            assert!(
                answer.message.contains(&case.message),
                "{}: {}",
                case.image,
                answer.message
            );
        }
    }

    // Verified, skipped and unmatched together: admitted, the verified
    // image pinned, the others warned about.
    let verified = format!("{}/signed/tagged:v1", server.address);
    let skipped = format!("{}/sandbox/scratch:v1", server.address);
    let mut mixed = pod(&skipped, &verified, Some("elsewhere.example/app:v1"));
    mixed["spec"]["containers"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": "again", "image": verified}));
    let answer = call(&api, &Call::create("mutate", mixed.clone()));
    assert!(answer.allowed, "{answer:?}");
    let pinned = format!("{verified}@{}", digest_of(&verified));
    assert_eq!(image_at(&answer.object, "/spec/containers/0/image"), pinned);
    assert_eq!(image_at(&answer.object, "/spec/containers/1/image"), pinned);
    assert_eq!(
        image_at(&answer.object, "/spec/initContainers/0/image"),
        skipped
    );
    assert_eq!(answer.warnings.len(), 2, "{:?}", answer.warnings);

    // A denied image among them refuses the Pod, with the rule's words.
    let denied = format!("{}/denied/app:v1", server.address);
    mixed["spec"]["ephemeralContainers"][0]["image"] = json!(denied);
    let answer = call(&api, &Call::create("mutate", mixed));
    assert!(!answer.allowed);
    assert!(
        answer.message.contains(&format!(
            "ephemeralContainers \"debugger\": image \"{denied}\" refused by rule (0004): verification denied by matched rule (0004)"
        )),
        "{}",
        answer.message
    );
    assert!(answer.warnings.is_empty() && answer.patch.is_empty());

    // The second admission of the same images comes from the cache.
    let metrics = api.fetch("/metrics").unwrap().1;
    assert!(
        metrics.contains("sigward_cache_lookups_total{result=\"hit\"}"),
        "{metrics}"
    );

    // Except an attested image's: `maxAge` may lapse, so it is decided
    // afresh every time, where a signature alone is kept.
    let from_cache = |image: &str| {
        let answer = call(&api, &Call::create("mutate", pod(image, image, None)));
        assert!(answer.allowed, "{image}: {answer:?}");
        let decisions: Value =
            serde_json::from_str(answer.audit["decisions"].as_str().unwrap()).unwrap();
        decisions[0]["trace"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["check"] == "cache")
    };
    let attested = format!("{}/attested/app:v1", server.address);
    assert!(!from_cache(&attested) && !from_cache(&attested));
    let signed = format!("{}/signed/referrer:v1", server.address);
    assert!(from_cache(&signed) && from_cache(&signed));
}

#[test]
fn ephemeral_containers_dry_runs_digests_and_other_kinds() {
    let dir = scratch("subresource");
    let (server, _) = demo_world(&dir);
    let webhook = Webhook::start(&dir, &[]);
    let api = webhook.api();
    let signed = format!("{}/signed/legacy:v1", server.address);
    let unsigned = format!("{}/signed/unsigned:v1", server.address);

    // `kubectl debug` updates pods/ephemeralcontainers with the whole Pod.
    let old = pod(&signed, &signed, None);
    for (debugger, allowed) in [(&signed, true), (&unsigned, false)] {
        let mut call_ = Call::create("mutate", pod(&signed, &signed, Some(debugger)));
        call_.operation = "UPDATE";
        call_.sub_resource = "ephemeralcontainers".to_owned();
        call_.old_object = old.clone();
        let answer = call(&api, &call_);
        assert_eq!(answer.allowed, allowed, "{debugger}: {answer:?}");
        if allowed {
            assert_eq!(
                image_at(&answer.object, "/spec/ephemeralContainers/0/image"),
                format!("{signed}@{}", digest_of(&signed))
            );
        }
    }

    // A dry run is answered the same way.
    let mut dry = Call::create("mutate", pod(&signed, &signed, None));
    dry.dry_run = true;
    let answer = call(&api, &dry);
    assert!(answer.allowed);
    assert_eq!(answer.patch.len(), 2);

    // An image already named by digest is judged, never rewritten.
    let by_digest = format!("{signed}@{}", digest_of(&signed));
    let answer = call(
        &api,
        &Call::create("mutate", pod(&by_digest, &signed, None)),
    );
    assert!(answer.allowed);
    assert_eq!(answer.patch.len(), 1, "{:?}", answer.patch);
    assert_eq!(
        image_at(&answer.object, "/spec/initContainers/0/image"),
        by_digest
    );
    let wrong = format!(
        "{}/signed/unsigned:v1@{}",
        server.address,
        digest_of(&signed)
    );
    let answer = call(&api, &Call::create("mutate", pod(&wrong, &signed, None)));
    assert!(
        !answer.allowed,
        "a digest from another repository: {answer:?}"
    );

    // Objects that run nothing are admitted untouched; so is a DELETE.
    let config = kubectl(&["create", "configmap", "settings", "--from-literal=a=b"]);
    let answer = call(&api, &Call::create("mutate", config.clone()));
    assert!(answer.allowed && answer.patch.is_empty() && answer.warnings.is_empty());
    assert_eq!(answer.object, config);
    let mut delete = Call::create("validate", Value::Null);
    delete.kind = ("".into(), "v1".into(), "Pod".into());
    delete.operation = "DELETE";
    delete.old_object = pod(&unsigned, &unsigned, None);
    assert!(call(&api, &delete).allowed);

    // What the apiserver never sends gets a 400 with the reason.
    let (status, body) = api.post("validate", b"{\"kind\":".to_vec()).unwrap();
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("invalid JSON"), "{body}");
    let (status, body) = api
        .post("validate", br#"{"apiVersion":"v1","kind":"Pod"}"#.to_vec())
        .unwrap();
    assert_eq!(status, 400);
    assert!(body.contains("expected \"AdmissionReview\""), "{body}");
    // Over 3 MiB: 413, sent when the length is declared, perhaps before the
    // client has written it all (then it sees the connection closed).
    match api.post("validate", vec![b' '; 3 * 1024 * 1024 + 1]) {
        Ok((status, _)) => assert_eq!(status, 413),
        Err(e) => assert!(e.contains("Broken pipe") || e.contains("reset"), "{e}"),
    }
    let (status, _, _) = api.fetch("/validate").unwrap();
    assert_eq!(status, 405);
    // And it still serves.
    assert!(call(&api, &Call::create("validate", pod(&signed, &signed, None))).allowed);
}

#[test]
fn validate_only_never_pins() {
    let dir = scratch("validate-only");
    let (server, _) = demo_world(&dir);
    let webhook = Webhook::start(&dir, &["--validate-only"]);
    let api = webhook.api();
    let signed = format!("{}/signed/legacy:v1", server.address);
    let answer = call(&api, &Call::create("mutate", pod(&signed, &signed, None)));
    assert!(answer.allowed);
    assert!(answer.patch.is_empty(), "{:?}", answer.patch);
}

#[test]
fn a_registry_down_or_silent_is_refused_inside_the_budget() {
    for (name, address) in [
        ("silent", silent_server()),
        ("down", format!("127.0.0.1:{}", free_port())),
    ] {
        let dir = scratch(name);
        unreachable_world(&dir, &address);
        let webhook = Webhook::start(&dir, &[]);
        let api = webhook.api();
        let signed = format!("{address}/signed/legacy:v1");
        let skipped = format!("{address}/sandbox/scratch:v1");
        let mut refused = Call::create("validate", pod(&signed, &signed, None));
        refused.timeout = "3s".to_owned();
        let started = Instant::now();
        let answer = call(&api, &refused);
        let took = started.elapsed();
        assert!(!answer.allowed, "{name}");
        assert!(
            took < Duration::from_secs(3),
            "{name}: answered after {took:?}"
        );
        assert!(
            answer
                .message
                .contains("fetch.resolve: cannot fetch manifest"),
            "{name}: {}",
            answer.message
        );
        if name == "silent" {
            assert!(
                answer
                    .message
                    .contains("the admission request's time budget ran out"),
                "{}",
                answer.message
            );
        }
        // A skip rule still admits, without touching the registry.
        let answer = call(
            &api,
            &Call::create("validate", pod(&skipped, &skipped, None)),
        );
        assert!(answer.allowed, "{name}: {answer:?}");
    }
}

#[test]
fn parallel_requests_never_get_another_requests_digest() {
    let dir = scratch("parallel");
    let (server, _) = demo_world(&dir);
    let mut registry = Registry::new(Options::default()).unwrap();
    let images = sigward_demo::fill_many(&mut registry, &server.address, 24).unwrap();
    let webhook = Webhook::start(&dir, &[]);
    let api = webhook.api();
    let rt = clients_runtime();
    rt.block_on(async {
        let mut tasks = Vec::new();
        for round in 0..4 {
            for (image, digest) in images.clone() {
                let api = api.caller.clone();
                tasks.push(tokio::spawn(async move {
                    let answer = api
                        .call(&Call::create("mutate", pod(&image, &image, None)))
                        .await
                        .unwrap();
                    assert!(answer.allowed, "round {round} {image}: {answer:?}");
                    let pinned = format!("{image}@{digest}");
                    assert_eq!(image_at(&answer.object, "/spec/containers/0/image"), pinned);
                    assert_eq!(
                        image_at(&answer.object, "/spec/initContainers/0/image"),
                        pinned
                    );
                }));
            }
        }
        for task in tasks {
            task.await.unwrap();
        }
    });
}

/// A runtime for concurrent callers.
fn clients_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .unwrap()
}

/// Whether the audit annotation says each of an answer's images was answered
/// from the cache (a peer's verification) rather than verified for it.
fn from_cache(answer: &Admission) -> Vec<bool> {
    let decisions: Value =
        serde_json::from_str(answer.audit["decisions"].as_str().unwrap()).unwrap();
    decisions
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            d["trace"]
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c["check"] == "cache")
        })
        .collect()
}

/// `clients` reviews of a Pod of `image` at once; their answers.
fn at_once(api: &ApiServer, image: &str, clients: usize) -> Vec<Admission> {
    let rt = clients_runtime();
    rt.block_on(async {
        let calls: Vec<_> = (0..clients)
            .map(|_| {
                let api = api.caller.clone();
                let image = image.to_owned();
                tokio::spawn(async move {
                    let pod = json!({
                        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "app"},
                        "spec": {"containers": [{"name": "app", "image": image}]},
                    });
                    api.call(&Call::create("validate", pod)).await.unwrap()
                })
            })
            .collect();
        let mut answers = Vec::new();
        for call in calls {
            answers.push(call.await.unwrap());
        }
        answers
    })
}

#[test]
fn concurrent_reviews_of_one_new_digest_verify_it_once_and_share_no_refusal() {
    let dir = scratch("single-flight");
    let (server, _) = demo_world(&dir);
    let mut registry = Registry::new(Options::default()).unwrap();
    let images = sigward_demo::fill_many(&mut registry, &server.address, 4).unwrap();
    let webhook = Webhook::start(&dir, &[]);
    let api = webhook.api();
    for (image, _) in &images {
        let answers = at_once(&api, image, 8);
        assert!(answers.iter().all(|a| a.allowed), "{image}: {answers:?}");
        let verified = answers
            .iter()
            .flat_map(from_cache)
            .filter(|cached| !cached)
            .count();
        assert_eq!(
            verified, 1,
            "{image}: verified {verified} times by 8 reviews"
        );
    }
    // A refusal is never cached, so it is never shared: each review of an
    // unsigned image finds that for itself.
    let unsigned = format!("{}/signed/unsigned:v1", server.address);
    let answers = at_once(&api, &unsigned, 8);
    assert!(answers.iter().all(|a| !a.allowed), "{answers:?}");
    assert!(
        answers.iter().flat_map(from_cache).all(|cached| !cached),
        "a refusal was shared"
    );
    for answer in &answers {
        assert!(
            answer.message.contains("fetch.legacy-tag") || answer.message.contains("signature"),
            "{}",
            answer.message
        );
    }
}

#[test]
fn reloads_keep_a_good_policy_and_pick_up_a_new_certificate() {
    let dir = scratch("reload");
    let (server, world) = demo_world(&dir);
    let webhook = Webhook::start(&dir, &[]);
    let api = webhook.api();
    let signed = format!("{}/signed/legacy:v1", server.address);
    let allowed =
        |api: &ApiServer| call(api, &Call::create("validate", pod(&signed, &signed, None))).allowed;
    assert!(allowed(&api));
    let ready = |api: &ApiServer| api.fetch("/readyz").unwrap().1;
    let before = ready(&api);

    // A policy that does not load is refused; the old one stays in force.
    std::fs::write(
        dir.join("policy.yaml"),
        "rules: [{image: '*', deny: maybe}]",
    )
    .unwrap();
    let wait_for = |what: &str, done: &dyn Fn() -> bool| {
        let started = Instant::now();
        while !done() {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "{what}: {}",
                webhook.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    wait_for("the bad policy is reported", &|| {
        webhook
            .log()
            .contains("not reloaded, the policy in force stays")
    });
    assert_eq!(ready(&api), before);
    assert!(allowed(&api));

    // A good one applies: here, one that denies everything.
    let deny_all = "apiVersion: v1alpha1\nkind: ImageVerificationConfig\nrules:\n  - image: '*'\n    deny: true\n";
    std::fs::write(dir.join("policy.yaml"), deny_all).unwrap();
    wait_for("the new policy applies", &|| !allowed(&api));
    assert_ne!(ready(&api), before);

    // SIGHUP reloads at once, even with the file's time unchanged.
    std::fs::write(dir.join("policy.yaml"), &world.policy).unwrap();
    let _ = Command::new("kill")
        .args(["-HUP", &webhook.child.id().to_string()])
        .status();
    wait_for("the first policy is back", &|| allowed(&api));

    // A rotated certificate, from the same CA, is served to new connections.
    let (_, _, first_cert) = api.fetch("/healthz").unwrap();
    let rotated = sigward_testpki::tls_server_numbered([127, 0, 0, 1], 72);
    std::fs::write(dir.join("tls.key"), &rotated.key_pem).unwrap();
    std::fs::write(dir.join("tls.crt"), &rotated.certificate_pem).unwrap();
    wait_for("the new certificate is served", &|| {
        webhook
            .api()
            .fetch("/healthz")
            .is_ok_and(|(_, _, cert)| !cert.is_empty() && cert != first_cert)
    });
    assert!(allowed(&webhook.api()));
}

fn resident_kib(pid: u32, field: &str) -> u64 {
    apiserver::resident_kib(pid, field)
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"))
}

/// A bounded load on loopback: a fixed count of reviews from several
/// clients, cached (digest-pinned Pods) and uncached (each Pod a new image):
/// every review answered, none failed, memory flat. Timing is for `just
/// bench`, not asserted here.
#[test]
fn a_bounded_load_is_answered_in_full_with_flat_memory() {
    let dir = scratch("load");
    let (server, _) = demo_world(&dir);
    let mut registry = Registry::new(Options::default()).unwrap();
    let many = sigward_demo::fill_many(&mut registry, &server.address, 60).unwrap();
    let webhook = Webhook::start(&dir, &[]);
    let api = webhook.api();
    let pid = webhook.child.id();
    let pinned: Vec<String> = ["signed/legacy:v1", "signed/referrer:v1", "signed/tagged:v1"]
        .iter()
        .map(|path| {
            let image = format!("{}/{path}", server.address);
            format!("{image}@{}", digest_of(&image))
        })
        .collect();
    let cached_pod = || {
        let mut pod = pod(&pinned[0], &pinned[1], None);
        pod["spec"]["containers"]
            .as_array_mut()
            .unwrap()
            .push(json!({"name": "third", "image": pinned[2]}));
        Call::create("validate", pod)
    };

    let uncached: Vec<Call> = many
        .iter()
        .map(|(image, _)| Call::create("mutate", pod(image, image, None)))
        .collect();
    let first = api.load(uncached, 4);
    assert_eq!(first.answered, first.sent, "{:?}", first.errors);
    assert!(first.errors.is_empty(), "{:?}", first.errors);
    assert_eq!(first.allowed, first.sent);
    assert_eq!(
        first.component.len(),
        first.sent,
        "each review verified its image"
    );

    let warm = api.load((0..500).map(|_| cached_pod()).collect(), 8);
    assert!(warm.errors.is_empty(), "{:?}", warm.errors);
    let after_warm = resident_kib(pid, "VmRSS:");
    let load = api.load((0..3000).map(|_| cached_pod()).collect(), 8);
    assert_eq!(load.answered, 3000, "{:?}", load.errors);
    assert!(load.errors.is_empty(), "{:?}", load.errors);
    assert_eq!(load.allowed, 3000);
    assert!(
        load.component.is_empty(),
        "every decision came from the cache"
    );
    let after_load = resident_kib(pid, "VmRSS:");
    assert!(
        after_load <= after_warm + 16 * 1024,
        "resident memory grew from {after_warm} KiB to {after_load} KiB"
    );
    assert!(resident_kib(pid, "VmHWM:") < 128 * 1024);
}

fn pin(dir: &Path, extra: &[&str], files: &[&Path]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_sigward"))
        .arg("pin")
        .arg("--policy")
        .arg(dir.join("policy.yaml"))
        .arg("--trusted-root")
        .arg(dir.join("trusted_root.json"))
        .args(extra)
        .args(files)
        .env(
            "SIGWARD_CACHE_DIR",
            std::env::temp_dir().join("sigward-e2e-cache"),
        )
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

#[test]
fn pin_rewrites_verified_tags_in_place_and_nothing_else() {
    let dir = scratch("pin");
    let (server, _) = demo_world(&dir);
    let registry = &server.address;
    let (legacy, tagged) = (
        format!("{registry}/signed/legacy:v1"),
        format!("{registry}/signed/tagged:v1"),
    );
    // Comments, quoting styles, flow and block collections, CRLF-free but
    // with odd spacing, a non-ASCII comment, a ConfigMap, a List.
    let manifests = format!(
        "# Workloads — pinned by CI\n\
         apiVersion: apps/v1\n\
         kind: Deployment\n\
         metadata:\n  name: web   # the web tier\n\
         spec:\n  template:\n    spec:\n      initContainers:\n        - name: init\n          image: \"{tagged}\"\n\
         \x20     containers:\n        - name: app\n          image:   {legacy}    # keep this comment\n\
         \x20       - {{name: sandbox, image: '{registry}/sandbox/scratch:v1'}}\n\
         ---\n\
         apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: settings}}\ndata:\n  image: {legacy}\n\
         ---\n\
         apiVersion: v1\nkind: List\nitems:\n- apiVersion: batch/v1\n  kind: CronJob\n  metadata: {{name: nightly}}\n  spec:\n    schedule: '0 1 * * *'\n    jobTemplate:\n      spec:\n        template:\n          spec:\n            containers: [{{name: job, image: {legacy}}}]\n"
    );
    let file = dir.join("app.yaml");
    std::fs::write(&file, &manifests).unwrap();
    let (legacy_digest, tagged_digest) = (digest_of(&legacy), digest_of(&tagged));

    let (code, out) = pin(&dir, &["--check"], &[&file]);
    assert_eq!(code, 1, "{out}");
    assert_eq!(out.matches("UNPINNED").count(), 3, "{out}");
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        manifests,
        "--check writes nothing"
    );

    let (code, out) = pin(&dir, &[], &[&file]);
    assert_eq!(code, 0, "{out}");
    let expected = manifests
        .replace(
            &format!("\"{tagged}\""),
            &format!("\"{tagged}@{tagged_digest}\""),
        )
        .replace(
            &format!("image:   {legacy} "),
            &format!("image:   {legacy}@{legacy_digest} "),
        )
        .replace(
            &format!("image: {legacy}}}]"),
            &format!("image: {legacy}@{legacy_digest}}}]"),
        );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), expected);
    assert!(
        expected.contains(&format!("data:\n  image: {legacy}\n")),
        "a ConfigMap is left alone"
    );

    let (code, out) = pin(&dir, &["--check"], &[&file]);
    assert_eq!(code, 0, "pinned files pass the check: {out}");
    assert!(out.contains("UNVERIFIED"), "{out}");

    // A refused image fails both, and nothing is written for it.
    let bad = dir.join("bad.yaml");
    let unsigned = format!("{registry}/signed/unsigned:v1");
    let text = format!(
        "apiVersion: v1\nkind: Pod\nmetadata: {{name: p}}\nspec:\n  containers:\n  - name: a\n    image: {unsigned}\n  - name: b\n    image: {legacy}\n"
    );
    std::fs::write(&bad, &text).unwrap();
    let (code, out) = pin(&dir, &["--check"], &[&bad]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(&format!("REFUSED     {}:7", bad.display())),
        "{out}"
    );
    assert!(out.contains("no signatures found"), "{out}");
    let (code, _) = pin(&dir, &[], &[&bad]);
    assert_eq!(code, 1);
    assert!(
        !std::fs::read_to_string(&bad)
            .unwrap()
            .contains(&format!("{unsigned}@"))
    );

    // Not YAML at all: an input error.
    let broken = dir.join("broken.yaml");
    std::fs::write(&broken, "kind: Pod\nspec: [\n").unwrap();
    assert_eq!(pin(&dir, &[], &[&broken]).0, 2);
}

#[test]
fn serve_refuses_to_start_on_a_policy_that_does_not_load() {
    let dir = scratch("bad-start");
    let (_server, _) = demo_world(&dir);
    std::fs::write(
        dir.join("policy.yaml"),
        "rules: [{image: '*', deny: maybe}]",
    )
    .unwrap();
    let tls = sigward_testpki::tls_server([127, 0, 0, 1]);
    std::fs::write(dir.join("tls.crt"), &tls.certificate_pem).unwrap();
    std::fs::write(dir.join("tls.key"), &tls.key_pem).unwrap();
    let listen = format!("127.0.0.1:{}", free_port());
    let out = apiserver::serve_command(env!("CARGO_BIN_EXE_sigward"), &dir, &listen)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("rule (0000) deny: expected a boolean"),
        "{stderr}"
    );

    // Nor on a key that is not the certificate's.
    let other = sigward_testpki::tls_server_numbered([127, 0, 0, 1], 73);
    std::fs::write(dir.join("tls.key"), &other.key_pem).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_sigward"))
        .args(["serve", "--policy", "x", "--trusted-root"])
        .arg(dir.join("trusted_root.json"))
        .arg("--tls-cert")
        .arg(dir.join("tls.crt"))
        .arg("--tls-key")
        .arg(dir.join("tls.key"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("tls.crt with"));
}

#[test]
fn a_guest_that_stops_refuses_its_review_alone() {
    let dir = scratch("fuel");
    let (server, _) = demo_world(&dir);
    // Enough fuel to load the policy and the root and to match (each call
    // gets its own), not to verify a signature.
    let webhook = Webhook::start_with_env(&dir, &[], &[("SIGWARD_FUEL_PER_CALL", "20000000")]);
    let api = webhook.api();
    let signed = format!("{}/signed/legacy:v1", server.address);
    let skipped = format!("{}/sandbox/scratch:v1", server.address);
    for _ in 0..3 {
        let answer = call(&api, &Call::create("validate", pod(&signed, &signed, None)));
        assert!(!answer.allowed);
        assert!(
            answer
                .message
                .contains("component: the sigward component stopped")
                && answer.message.contains("fuel"),
            "{}",
            answer.message
        );
        // The next review gets a sound instance.
        let answer = call(
            &api,
            &Call::create("validate", pod(&skipped, &skipped, None)),
        );
        assert!(answer.allowed, "{answer:?}");
    }
    let ready = api.fetch("/readyz").unwrap();
    assert_eq!(ready.0, 200);
}

#[test]
fn sigterm_lets_an_open_review_finish() {
    let address = silent_server();
    let dir = scratch("sigterm");
    unreachable_world(&dir, &address);
    let mut webhook = Webhook::start(&dir, &[]);
    let api = webhook.api();
    let signed = format!("{address}/signed/legacy:v1");
    let mut slow = Call::create("validate", pod(&signed, &signed, None));
    slow.timeout = "2s".to_owned();
    let answer = std::thread::scope(|scope| {
        let pending = scope.spawn(|| api.admit(&slow));
        std::thread::sleep(Duration::from_millis(300));
        let _ = Command::new("kill")
            .args(["-TERM", &webhook.child.id().to_string()])
            .status();
        pending.join().unwrap()
    });
    let answer = answer.expect("the open review is answered");
    assert!(!answer.allowed);
    assert!(
        answer.message.contains("time budget ran out"),
        "{}",
        answer.message
    );
    let started = Instant::now();
    let status = loop {
        if let Some(status) = webhook.child.try_wait().unwrap() {
            break status;
        }
        assert!(started.elapsed() < Duration::from_secs(15), "still running");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status}: {}", webhook.log());
}

#[test]
fn reviews_beyond_the_turns_are_refused_in_time_with_the_reason() {
    let address = silent_server();
    let dir = scratch("turns");
    unreachable_world(&dir, &address);
    let webhook = Webhook::start(&dir, &[]);
    let api = webhook.api();
    let signed = format!("{address}/signed/legacy:v1");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    // 16 reviews with 6 s hold every turn until their budget runs out; 4
    // more with 2 s, sent after them, wait for a turn that does not come
    // before their own deadline.
    let review = |timeout: &str| {
        let caller = api.caller.clone();
        let mut call = Call::create("validate", pod(&signed, &signed, None));
        call.timeout = timeout.to_owned();
        async move {
            let started = Instant::now();
            let answer = caller.call(&call).await.unwrap();
            assert!(!answer.allowed);
            (answer.message, started.elapsed())
        }
    };
    let (holders, waiters) = rt.block_on(async {
        let holders: Vec<_> = (0..16).map(|_| tokio::spawn(review("6s"))).collect();
        tokio::time::sleep(Duration::from_millis(500)).await;
        let waiters: Vec<_> = (0..4).map(|_| tokio::spawn(review("2s"))).collect();
        let mut answers = (Vec::new(), Vec::new());
        for task in waiters {
            answers.1.push(task.await.unwrap());
        }
        for task in holders {
            answers.0.push(task.await.unwrap());
        }
        answers
    });
    for (message, took) in &waiters {
        assert!(message.contains("no free turn"), "{message}");
        assert!(*took < Duration::from_secs(2), "{took:?}");
    }
    for (message, _) in &holders {
        assert!(message.contains("time budget ran out"), "{message}");
    }
}
