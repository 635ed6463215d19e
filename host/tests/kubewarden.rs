//! The Kubewarden policy, loaded as Kubewarden's policy-evaluator loads a
//! waPC policy: the `wapc` host and the `wasmtime-provider` engine, on a
//! wasmtime engine configured as policy-evaluator configures one (the
//! defaults, with epoch interruption and its deadlines). The host callbacks
//! answer `oci/v1/manifest_digest` and `oci/v1/oci_manifest` from the real
//! registry of the end-to-end tests, holding the demo world. Each request is
//! a Kubewarden `ValidationRequest` (`{"request": AdmissionRequest,
//! "settings": …}`), and the same AdmissionRequest goes to `sigward serve`:
//! the answers are compared.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

#[path = "../../tests/apiserver.rs"]
mod apiserver;
#[path = "../../tests/kubewarden_host.rs"]
mod kubewarden_host;
#[path = "../../tests/registry_server.rs"]
#[allow(dead_code)]
mod registry_server;

use std::path::PathBuf;

use serde_json::{Value, json};
use sigward_host::oci::registry::{Options, Registry};

use apiserver::{Admission, ApiServer, Call, Caller, Webhook, demo_world};
use kubewarden_host::{Policy, settings};

fn scratch(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("sigward-kubewarden-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn module() -> &'static [u8] {
    sigward_host::kubewarden::MODULE
}

/// A Pod running `image` in an init container and a container.
fn pod(image: &str) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "app", "namespace": "default"},
        "spec": {
            "initContainers": [{"name": "init", "image": image}],
            "containers": [{"name": "app", "image": image}],
        },
    })
}

/// Every workload kind `serve` handles, each with an init container, a
/// container and (for a Pod) an ephemeral container running `image`.
fn workloads(image: &str) -> Vec<Call> {
    let spec = json!({
        "initContainers": [{"name": "init", "image": image}],
        "containers": [{"name": "app", "image": image}],
    });
    let template = json!({"metadata": {"labels": {"app": "web"}}, "spec": spec});
    let with = |kind: &str, api_version: &str, spec: Value| {
        Call::create(
            "mutate",
            json!({"apiVersion": api_version, "kind": kind, "metadata": {"name": "web"}, "spec": spec}),
        )
    };
    let mut pod_spec = spec.clone();
    pod_spec["ephemeralContainers"] = json!([{"name": "debug", "image": image}]);
    let mut calls = vec![with("Pod", "v1", pod_spec.clone())];
    for kind in ["Deployment", "ReplicaSet", "StatefulSet", "DaemonSet"] {
        calls.push(with(kind, "apps/v1", json!({"template": template})));
    }
    calls.push(with(
        "ReplicationController",
        "v1",
        json!({"template": template}),
    ));
    calls.push(with("Job", "batch/v1", json!({"template": template})));
    calls.push(with(
        "CronJob",
        "batch/v1",
        json!({"schedule": "0 1 * * *", "jobTemplate": {"spec": {"template": template}}}),
    ));
    // `kubectl debug`: an UPDATE of the Pod's ephemeralcontainers subresource.
    let mut debug = with("Pod", "v1", pod_spec);
    debug.operation = "UPDATE";
    debug.sub_resource = "ephemeralcontainers".to_owned();
    debug.resource.2 = "pods".to_owned();
    debug.old_object = pod(image);
    calls.push(debug);
    calls
}

/// The Kubewarden answer for `call`, with the mutated object (or the object
/// unchanged) as policy-server would hand it on.
struct Answer {
    accepted: bool,
    message: String,
    object: Value,
    raw: Value,
}

fn kubewarden(policy: &Policy, caller: &Caller, call: &Call, settings: &Value) -> Answer {
    let (_, review) = caller.review_for(call);
    let raw = policy.call(
        "validate",
        &json!({"request": review["request"], "settings": settings}),
    );
    let accepted = raw["accepted"].as_bool().expect("accepted is a boolean");
    let object = raw
        .get("mutated_object")
        .cloned()
        .unwrap_or_else(|| call.object.clone());
    Answer {
        accepted,
        message: raw["message"].as_str().unwrap_or_default().to_owned(),
        object,
        raw,
    }
}

fn serve(api: &ApiServer, call: &Call) -> Admission {
    api.admit(call)
        .unwrap_or_else(|e| panic!("the apiserver would fail this call: {e:?}"))
}

/// What the policy adds to `serve`'s "no signatures found".
const NO_REFERRERS: &str = " (OCI referrers are not reachable through Kubewarden's capabilities: only legacy .sig signatures are verified here)";

/// The demo images that `serve` verifies (or refuses) from Sigstore bundles
/// or attestations: blobs that no Kubewarden capability returns, so the
/// policy refuses them, saying why.
fn bundle_only(image: &str) -> bool {
    ["/signed/referrer:", "/signed/tagged:", "/attested/"]
        .iter()
        .any(|p| image.contains(p))
}

#[test]
fn every_demo_image_is_decided_as_serve_decides_it() {
    let dir = scratch("cases");
    let (_server, world) = demo_world(&dir);
    let webhook = Webhook::start(&dir, &[]);
    let api = webhook.api();
    let policy = Policy::load(module(), Some(Registry::new(Options::default()).unwrap()));
    let settings = settings(&world);
    let caller: &Caller = &api;
    let mut same = 0;
    for case in &world.cases {
        let call = Call::create("mutate", pod(&case.image));
        let served = serve(&api, &call);
        let answer = kubewarden(&policy, caller, &call, &settings);
        let calls = policy.take_calls();
        let what = format!(
            "{}: serve {} {:?}, kubewarden {}",
            case.image, served.allowed, served.message, answer.raw
        );
        if bundle_only(&case.image) {
            assert!(!answer.accepted, "{what}");
            assert!(
                answer.message.contains("Kubewarden"),
                "the refusal says why: {what}"
            );
            assert_eq!(answer.raw["code"], 403, "{what}");
            continue;
        }
        assert_eq!(answer.accepted, served.allowed, "{what}");
        assert_eq!(answer.accepted, case.allowed, "{what}");
        if case.image.contains("/signed/moved:") {
            // The copied layer's body is cosign's payload for another image,
            // which cannot be rebuilt here: refused, for that reason.
            assert!(
                answer.message.contains("not the one cosign signs"),
                "{what}"
            );
        } else if served.message.contains("no signatures found") {
            // The same words, and why bundles could not have been seen.
            assert!(answer.message.contains(NO_REFERRERS), "{what}");
            assert_eq!(
                answer.message.replace(NO_REFERRERS, ""),
                served.message,
                "{what}"
            );
        } else {
            assert_eq!(answer.message, served.message, "{what}");
            same += 1;
        }
        // The same patch: serve's applied by the apiserver, Kubewarden's
        // object handed on as policy-server hands it.
        assert_eq!(answer.object, served.object, "{what}");
        assert_eq!(
            answer.raw.get("warnings").cloned().unwrap_or(json!([])),
            json!(served.warnings),
            "{what}"
        );
        // Skip, deny and no match are decided without calling the host.
        if !case.verified && case.allowed || case.message.contains("denied by") {
            assert!(calls.is_empty(), "{}: {calls:?}", case.image);
        }
    }
    // Verified (legacy and key), wrong signer, skip, deny, no match.
    assert!(same >= 6, "{same} cases answered in the same words");
}

#[test]
fn every_workload_and_container_kind_is_judged_and_pinned_alike() {
    let dir = scratch("kinds");
    let (server, world) = demo_world(&dir);
    let webhook = Webhook::start(&dir, &[]);
    let api = webhook.api();
    let policy = Policy::load(module(), Some(Registry::new(Options::default()).unwrap()));
    let caller: &Caller = &api;
    let legacy = format!("{}/signed/legacy:v1", server.address);
    let unsigned = format!("{}/signed/unsigned:v1", server.address);
    for mutate in [true, false] {
        let mut settings = settings(&world);
        settings["mutate"] = json!(mutate);
        for mut call in workloads(&legacy) {
            if !mutate {
                call.endpoint = "validate";
            }
            let kind = format!("{} {}", call.kind.2, call.sub_resource);
            let served = serve(&api, &call);
            let answer = kubewarden(&policy, caller, &call, &settings);
            assert!(served.allowed && answer.accepted, "{kind}: {}", answer.raw);
            assert_eq!(answer.object, served.object, "{kind} mutate={mutate}");
            assert_eq!(answer.object != call.object, mutate, "{kind}");
        }
        for call in workloads(&unsigned) {
            let served = serve(&api, &call);
            let answer = kubewarden(&policy, caller, &call, &settings);
            assert!(!served.allowed && !answer.accepted);
            assert!(answer.raw.get("mutated_object").is_none());
            assert_eq!(
                answer.message.replace(NO_REFERRERS, ""),
                served.message,
                "{}",
                call.kind.2
            );
        }
    }
}

#[test]
fn settings_are_validated_with_sigwards_messages() {
    let policy = Policy::load(module(), None);
    assert_eq!(policy.call("protocol_version", &json!(null)), json!("v1"));
    let examples = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../policies")).unwrap();
    // Keyed and keyless examples alike need a root; any parseable one.
    let root = sigward_demo::fill(
        &mut sigward_host::oci::layout::Layout::create(&scratch("root")).unwrap(),
        "registry.test",
    )
    .unwrap()
    .trusted_root;
    let root: Value = serde_json::from_slice(&root).unwrap();
    let mut checked = 0;
    for entry in examples {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let answer = policy.call(
            "validate_settings",
            &json!({"policy": text, "trustedRoot": root}),
        );
        let checked_by_cli = std::process::Command::new(env!("CARGO_BIN_EXE_sigward"))
            .arg("check")
            .arg(&path)
            .output()
            .unwrap();
        assert_eq!(
            answer["valid"].as_bool(),
            Some(checked_by_cli.status.success()),
            "{}: {answer}",
            path.display()
        );
        checked += 1;
    }
    assert!(checked >= 3);

    // An invalid document: every error, in `sigward check`'s words.
    let dir = scratch("invalid");
    let bad = "apiVersion: v1alpha1\nkind: ImageVerificationConfig\nrules:\n  - image: \"\"\n    skip: true\n  - image: \"ghcr.io/*\"\n    keyless:\n      subject: me\n";
    std::fs::write(dir.join("bad.yaml"), bad).unwrap();
    let cli = std::process::Command::new(env!("CARGO_BIN_EXE_sigward"))
        .arg("check")
        .arg(dir.join("bad.yaml"))
        .output()
        .unwrap();
    let cli = String::from_utf8(cli.stdout).unwrap();
    let cli_errors: Vec<&str> = cli
        .lines()
        .filter_map(|l| l.trim().strip_prefix("error: "))
        .collect();
    assert!(cli_errors.len() >= 2, "{cli}");
    let answer = policy.call("validate_settings", &json!({"policy": bad}));
    assert_eq!(answer["valid"], false);
    let message = answer["message"].as_str().unwrap();
    let errors: Vec<&str> = message
        .lines()
        .filter_map(|l| l.strip_prefix("policy: "))
        .collect();
    assert_eq!(errors, cli_errors, "{message}");

    // Unknown settings, a missing root for a verify rule, a bad root.
    let keyless = "apiVersion: v1alpha1\nkind: ImageVerificationConfig\nrules:\n  - image: \"*\"\n    keyless:\n      issuer: https://issuer.test\n      subject: me\n";
    for (settings, expected) in [
        (
            json!({"policy": keyless, "mutat": false}),
            "unknown field `mutat`",
        ),
        (json!({"policy": keyless}), "trustedRoot: required"),
        (
            json!({"policy": keyless, "trustedRoot": 3}),
            "trustedRoot: expected",
        ),
        (
            json!({"policy": keyless, "trustedRoot": "not json"}),
            "trustedRoot: ",
        ),
        (json!({}), "policy: required"),
    ] {
        let answer = policy.call("validate_settings", &settings);
        assert_eq!(answer["valid"], false, "{settings}");
        assert!(
            answer["message"].as_str().unwrap().contains(expected),
            "{settings}: {answer}"
        );
    }
    // Valid, with the rules that Kubewarden cannot verify in full named.
    let answer = policy.call(
        "validate_settings",
        &json!({"policy": keyless, "trustedRoot": root}),
    );
    assert_eq!(answer["valid"], true, "{answer}");
    assert!(answer["message"].as_str().unwrap().contains("rule (0000)"));
}

#[test]
fn the_cli_writes_the_module_and_it_needs_no_proposal() {
    let dir = scratch("write");
    let out = dir.join("policy.wasm");
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_sigward"))
        .args(["component", "--kubewarden", "--write"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(run.status.success(), "{run:?}");
    let written = std::fs::read(&out).unwrap();
    assert_eq!(written, module());
    let description = sigward_host::kubewarden::describe(&written).unwrap();
    assert_eq!(description.beyond_core_spec, None);
    assert!(
        description.imports.iter().all(|i| i.starts_with("wapc.")),
        "{description:?}"
    );
    for export in ["__guest_call", "wapc_init"] {
        assert!(
            description.exports.iter().any(|e| e == export),
            "{description:?}"
        );
    }
    let text = String::from_utf8(run.stdout).unwrap();
    assert!(text.contains("kubewarden policy (waPC module):"), "{text}");
}

#[test]
fn hostile_requests_are_refused_not_trapped() {
    let policy = Policy::load(module(), None);
    let skip_all = "apiVersion: v1alpha1\nkind: ImageVerificationConfig\nrules:\n  - image: \"*\"\n    skip: true\n";
    let settings = json!({"policy": skip_all});
    for payload in [
        json!(null),
        json!({"request": {}, "settings": settings}),
        json!({"request": {"uid": "u", "kind": {"kind": "Pod"}, "object": {"spec": []}}, "settings": settings}),
        json!({"request": {"uid": "u", "kind": {"kind": "Pod"}}, "settings": {"policy": 3}}),
    ] {
        let answer = policy.call("validate", &payload);
        assert_eq!(answer["accepted"], false, "{payload}: {answer}");
        assert!(!answer["message"].as_str().unwrap().is_empty());
    }
    // `null` where the API allows it reads as absent.
    let answer = policy.call(
        "validate",
        &json!({"request": {"uid": "u", "kind": {"kind": "Pod"}, "subResource": null,
            "oldObject": null, "options": null, "object": pod("busybox")}, "settings": settings}),
    );
    assert_eq!(answer["accepted"], true, "{answer}");
    assert!(policy.take_calls().is_empty());
}

fn yaml_documents(path: &str) -> Vec<Value> {
    let text =
        std::fs::read_to_string(format!("{}/../{path}", env!("CARGO_MANIFEST_DIR"))).unwrap();
    serde_yaml_ng::Deserializer::from_str(&text)
        .map(|doc| serde::Deserialize::deserialize(doc).unwrap())
        .collect()
}

#[test]
fn the_metadata_and_the_example_policy_match_the_webhook() {
    let metadata = &yaml_documents("deploy/kubewarden/metadata.yml")[0];
    let webhooks = yaml_documents("deploy/webhooks.yaml");
    let mutating = webhooks
        .iter()
        .find(|d| d["kind"] == "MutatingWebhookConfiguration")
        .unwrap();
    let rules = &mutating["webhooks"][0]["rules"];
    assert_eq!(&metadata["rules"], rules);
    assert_eq!(metadata["mutating"], true);
    assert_eq!(metadata["executionMode"], "kubewarden-wapc");

    let example = &yaml_documents("deploy/kubewarden/clusteradmissionpolicy.yaml")[0];
    assert_eq!(example["kind"], "ClusterAdmissionPolicy");
    assert_eq!(&example["spec"]["rules"], rules);
    // Everything in the example's settings is valid but the placeholder
    // root, which has no log or authority to verify with.
    let policy = Policy::load(module(), None);
    let answer = policy.call("validate_settings", &example["spec"]["settings"]);
    assert_eq!(answer["valid"], false, "{answer}");
    let message = answer["message"].as_str().unwrap();
    assert!(
        message.lines().all(|l| l.starts_with("trustedRoot: ")),
        "{message}"
    );
}
