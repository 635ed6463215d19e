//! `deploy/` renders with `kubectl kustomize` (no cluster needed), holds
//! what a webhook deployment must (non-root, read-only root filesystem,
//! limits, probes; `failurePolicy: Fail`, `sideEffects: None`, the
//! namespaces left out), and the Deployment's own command line starts a
//! server that becomes ready, with its policy accepted by `sigward check`.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

#[path = "../../tests/apiserver.rs"]
mod apiserver;
#[path = "../../tests/registry_server.rs"]
#[allow(dead_code)]
mod registry_server;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::Deserialize as _;
use serde_json::Value;

fn deploy_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy")
}

/// The rendered objects, by kind.
fn render(dir: &Path) -> Vec<Value> {
    for entry in std::fs::read_dir(deploy_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "yaml") {
            std::fs::copy(&path, dir.join(path.file_name().unwrap())).unwrap();
        }
    }
    let world = sigward_demo::fill(
        &mut sigward_host::oci::layout::Layout::create(&dir.join("unused")).unwrap(),
        "127.0.0.1:1",
    )
    .unwrap();
    std::fs::write(dir.join("trusted_root.json"), &world.trusted_root).unwrap();
    let out = Command::new("kubectl")
        .arg("kustomize")
        .arg(dir)
        .output()
        .unwrap_or_else(|e| panic!("kubectl is needed to render deploy/: {e}"));
    assert!(
        out.status.success(),
        "kubectl kustomize: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    serde_yaml_ng::Deserializer::from_str(&text)
        .map(|doc| Value::deserialize(doc).unwrap())
        .collect()
}

fn one<'a>(objects: &'a [Value], kind: &str) -> &'a Value {
    let found: Vec<&Value> = objects.iter().filter(|o| o["kind"] == kind).collect();
    assert_eq!(found.len(), 1, "one {kind}");
    found[0]
}

#[test]
fn the_manifests_render_and_hold_what_a_webhook_needs() {
    let dir = std::env::temp_dir().join(format!("sigward-deploy-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let objects = render(&dir);
    for object in &objects {
        if object["kind"] != "Namespace"
            && !object["kind"]
                .as_str()
                .unwrap()
                .ends_with("WebhookConfiguration")
        {
            assert_eq!(
                object["metadata"]["namespace"], "sigward-system",
                "{object}"
            );
        }
    }

    let deployment = one(&objects, "Deployment");
    let pod = &deployment["spec"]["template"]["spec"];
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    assert_eq!(pod["automountServiceAccountToken"], false);
    let container = &pod["containers"][0];
    let security = &container["securityContext"];
    assert_eq!(security["readOnlyRootFilesystem"], true);
    assert_eq!(security["allowPrivilegeEscalation"], false);
    assert_eq!(security["capabilities"]["drop"][0], "ALL");
    assert!(container["resources"]["limits"]["memory"].is_string());
    assert!(container["resources"]["requests"]["cpu"].is_string());
    assert_eq!(container["readinessProbe"]["httpGet"]["path"], "/readyz");
    assert_eq!(container["livenessProbe"]["httpGet"]["path"], "/healthz");
    for probe in ["readinessProbe", "livenessProbe"] {
        assert_eq!(container[probe]["httpGet"]["scheme"], "HTTPS");
    }

    let service = one(&objects, "Service");
    assert_eq!(
        service["spec"]["selector"],
        deployment["spec"]["template"]["metadata"]["labels"]
    );
    for (kind, path) in [
        ("MutatingWebhookConfiguration", "/mutate"),
        ("ValidatingWebhookConfiguration", "/validate"),
    ] {
        let hook = &one(&objects, kind)["webhooks"][0];
        assert_eq!(hook["failurePolicy"], "Fail", "{kind}");
        assert_eq!(hook["sideEffects"], "None", "{kind}");
        assert!(hook["timeoutSeconds"].as_u64().is_some_and(|t| t <= 30));
        assert_eq!(hook["clientConfig"]["service"]["path"], path);
        assert_eq!(
            hook["clientConfig"]["service"]["name"],
            service["metadata"]["name"]
        );
        assert_eq!(hook["admissionReviewVersions"][0], "v1");
        let excluded = &hook["namespaceSelector"]["matchExpressions"][0];
        assert_eq!(excluded["operator"], "NotIn");
        for namespace in ["kube-system", "sigward-system"] {
            assert!(
                excluded["values"]
                    .as_array()
                    .unwrap()
                    .contains(&namespace.into()),
                "{kind} leaves out {namespace}"
            );
        }
        let resources: Vec<&str> = hook["rules"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|r| r["resources"].as_array().unwrap())
            .map(|r| r.as_str().unwrap())
            .collect();
        for resource in [
            "pods",
            "pods/ephemeralcontainers",
            "replicationcontrollers",
            "deployments",
            "replicasets",
            "statefulsets",
            "daemonsets",
            "jobs",
            "cronjobs",
        ] {
            assert!(resources.contains(&resource), "{kind}: {resource}");
        }
        if kind.starts_with("Mutating") {
            assert_eq!(hook["reinvocationPolicy"], "IfNeeded");
        }
    }

    // The ConfigMap's policy loads.
    let config = one(&objects, "ConfigMap");
    let policy_dir = dir.join("etc-policy");
    std::fs::create_dir_all(&policy_dir).unwrap();
    for (name, content) in config["data"].as_object().unwrap() {
        std::fs::write(policy_dir.join(name), content.as_str().unwrap()).unwrap();
    }
    let check = Command::new(env!("CARGO_BIN_EXE_sigward"))
        .arg("check")
        .arg(policy_dir.join("policy.yaml"))
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );

    // The Deployment's command line, with its mounts in a scratch directory,
    // serves and becomes ready.
    let tls_dir = dir.join("etc-tls");
    std::fs::create_dir_all(&tls_dir).unwrap();
    let tls = sigward_testpki::tls_server([127, 0, 0, 1]);
    std::fs::write(tls_dir.join("tls.crt"), &tls.certificate_pem).unwrap();
    std::fs::write(tls_dir.join("tls.key"), &tls.key_pem).unwrap();
    let port = registry_server::free_port();
    let args: Vec<String> = container["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            a.as_str()
                .unwrap()
                .replace("/etc/sigward/policy", policy_dir.to_str().unwrap())
                .replace("/etc/sigward/tls", tls_dir.to_str().unwrap())
                .replace("0.0.0.0:8443", &format!("127.0.0.1:{port}"))
        })
        .collect();
    let mut server = Command::new(env!("CARGO_BIN_EXE_sigward"))
        .args(&args)
        .env("SIGWARD_CACHE_DIR", dir.join("cache"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let api = apiserver::ApiServer::new(&format!("https://127.0.0.1:{port}"), &tls.ca_pem);
    let started = Instant::now();
    let ready = loop {
        if let Ok((200, body, _)) = api.fetch("/readyz") {
            break body;
        }
        if started.elapsed() > Duration::from_secs(120) {
            break String::new();
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let _ = server.kill();
    let _ = server.wait();
    assert!(
        ready.starts_with("ready"),
        "the Deployment's command line never became ready"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
