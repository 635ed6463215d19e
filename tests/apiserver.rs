//! A caller that speaks to an admission webhook as kube-apiserver's webhook
//! dispatcher does, for tests and the benchmark (no apiserver can run on
//! these machines). It posts an `AdmissionReview` built as the admission
//! plugin builds it, over HTTPS trusting only the webhook's CA bundle, with
//! `?timeout=`; it checks the answer as the dispatcher does (HTTP 200,
//! `apiVersion` and `kind` echoed, the request's `uid`, a patch only from a
//! mutating call and only with `patchType: JSONPatch`), and applies the
//! patch with an RFC 6902 implementation.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Value, json};

/// One admission call, as the apiserver's admission attributes describe it.
#[derive(Clone, Debug)]
pub struct Call {
    /// `validate` or `mutate`.
    pub endpoint: &'static str,
    /// The object's group, version and kind.
    pub kind: (String, String, String),
    /// The resource and subresource the request was made to.
    pub resource: (String, String, String),
    pub sub_resource: String,
    pub operation: &'static str,
    pub namespace: String,
    pub object: Value,
    pub old_object: Value,
    pub dry_run: bool,
    /// `?timeout=` as the apiserver writes it (`10s`).
    pub timeout: String,
}

impl Call {
    /// A CREATE of `object`, its kind and resource read from it as the
    /// apiserver knows them.
    pub fn create(endpoint: &'static str, object: Value) -> Self {
        let kind = object["kind"].as_str().unwrap_or_default().to_owned();
        let api_version = object["apiVersion"].as_str().unwrap_or("v1");
        let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
        let resource = format!("{}s", kind.to_lowercase());
        Self {
            endpoint,
            kind: (group.to_owned(), version.to_owned(), kind),
            resource: (group.to_owned(), version.to_owned(), resource),
            sub_resource: String::new(),
            operation: "CREATE",
            namespace: "default".to_owned(),
            object,
            old_object: Value::Null,
            dry_run: false,
            timeout: "10s".to_owned(),
        }
    }
}

/// The webhook's answer, checked, with the patch applied.
#[derive(Clone, Debug)]
pub struct Admission {
    pub allowed: bool,
    pub code: Option<u64>,
    pub message: String,
    pub warnings: Vec<String>,
    pub audit: serde_json::Map<String, Value>,
    /// The JSON patch operations, decoded; empty for none.
    pub patch: Vec<Value>,
    /// The object after the patch, as the apiserver would store it.
    pub object: Value,
}

/// Why a call failed as the apiserver would fail it.
#[derive(Clone, Debug)]
pub struct CallError(pub String);

/// The caller proper: cheap to clone, one per concurrent client.
#[derive(Clone)]
pub struct Caller {
    client: reqwest::Client,
    base: String,
    next_uid: std::sync::Arc<AtomicU64>,
}

/// A [`Caller`] with the runtime that drives its connections, for calls
/// from outside any async runtime.
pub struct ApiServer {
    runtime: tokio::runtime::Runtime,
    pub caller: Caller,
}

impl std::ops::Deref for ApiServer {
    type Target = Caller;

    fn deref(&self) -> &Caller {
        &self.caller
    }
}

impl ApiServer {
    /// A caller of the webhook at `base` (`https://127.0.0.1:PORT`) that
    /// trusts only `ca_pem`.
    pub fn new(base: &str, ca_pem: &str) -> Self {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .tls_certs_only([reqwest::Certificate::from_pem(ca_pem.as_bytes()).unwrap()])
            .tls_info(true)
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        Self {
            runtime,
            caller: Caller {
                client,
                base: base.to_owned(),
                next_uid: std::sync::Arc::new(AtomicU64::new(1)),
            },
        }
    }

    /// [`Caller::call`], from outside any async runtime.
    pub fn admit(&self, call: &Call) -> Result<Admission, CallError> {
        self.runtime.block_on(self.caller.call(call))
    }

    /// [`Caller::get`], from outside any async runtime.
    pub fn fetch(&self, path: &str) -> Result<(u16, String, Vec<u8>), String> {
        self.runtime.block_on(self.caller.get(path))
    }

    /// [`Caller::post_raw`], from outside any async runtime.
    pub fn post(&self, endpoint: &str, body: Vec<u8>) -> Result<(u16, String), String> {
        self.runtime.block_on(self.caller.post_raw(endpoint, body))
    }

    /// Sends every call, `clients` at a time, each client waiting for its
    /// answer before its next call; returns when all are answered.
    pub fn load(&self, calls: Vec<Call>, clients: usize) -> Load {
        let sent = calls.len();
        let queue = std::sync::Arc::new(std::sync::Mutex::new(calls.into_iter()));
        self.runtime.block_on(async {
            let started = std::time::Instant::now();
            let mut tasks = Vec::new();
            for _ in 0..clients {
                let (queue, caller) = (queue.clone(), self.caller.clone());
                tasks.push(tokio::spawn(async move {
                    let mut seen = Load::default();
                    loop {
                        let Some(call) = queue.lock().unwrap().next() else {
                            return seen;
                        };
                        let began = std::time::Instant::now();
                        match caller.call(&call).await {
                            Ok(answer) => {
                                let latency = began.elapsed();
                                seen.latencies.push(latency);
                                seen.answered += 1;
                                seen.allowed += usize::from(answer.allowed);
                                if let Some(fetch) = seen.read_timings(&answer) {
                                    seen.beyond_fetch.push(latency.saturating_sub(fetch));
                                }
                            }
                            Err(e) => seen.errors.push(e.0),
                        }
                    }
                }));
            }
            let mut total = Load {
                sent,
                ..Load::default()
            };
            for task in tasks {
                let seen = task.await.unwrap();
                total.answered += seen.answered;
                total.allowed += seen.allowed;
                total.errors.extend(seen.errors);
                total.latencies.extend(seen.latencies);
                total.component.extend(seen.component);
                total.fetch.extend(seen.fetch);
                total.beyond_fetch.extend(seen.beyond_fetch);
                for (step, took) in seen.steps {
                    total.steps.entry(step).or_default().extend(took);
                }
            }
            total.wall = started.elapsed();
            total.latencies.sort();
            total.component.sort();
            total.fetch.sort();
            total.beyond_fetch.sort();
            total.steps.values_mut().for_each(|took| took.sort());
            total
        })
    }
}

/// What a load run saw.
#[derive(Debug, Default)]
pub struct Load {
    pub sent: usize,
    /// Answers the dispatcher accepts, allowed or refused.
    pub answered: usize,
    pub allowed: usize,
    /// Calls the dispatcher would fail (transport, status, checks).
    pub errors: Vec<String>,
    /// Latency of each answered call, sorted.
    pub latencies: Vec<Duration>,
    pub wall: Duration,
    /// Component and fetch time per judged image (from the audit
    /// annotation), sorted; a cached decision has none.
    pub component: Vec<Duration>,
    pub fetch: Vec<Duration>,
    /// For reviews that verified: the latency less the registry time.
    pub beyond_fetch: Vec<Duration>,
    /// Per judged image, the time of each step it took (`resolve`,
    /// `signatures`, `verify`, …: the audit annotation's), sorted.
    pub steps: std::collections::BTreeMap<String, Vec<Duration>>,
}

impl Load {
    pub fn percentile(sorted: &[Duration], q: f64) -> Duration {
        if sorted.is_empty() {
            return Duration::ZERO;
        }
        sorted[((sorted.len() - 1) as f64 * q).round() as usize]
    }

    pub fn per_second(&self) -> f64 {
        self.answered as f64 / self.wall.as_secs_f64()
    }

    /// Keeps the timings of the images verified (not cached) in `answer`;
    /// their fetch time in all, if any were.
    fn read_timings(&mut self, answer: &Admission) -> Option<Duration> {
        let decisions = answer
            .audit
            .get("decisions")
            .and_then(Value::as_str)
            .and_then(|text| serde_json::from_str::<Value>(text).ok())?;
        let mut fetched = None;
        // One entry per container; an image judged once per review.
        let mut seen = std::collections::HashSet::new();
        for decision in decisions.as_array().into_iter().flatten() {
            if !seen.insert(decision["image"].to_string()) {
                continue;
            }
            let cached = decision["trace"]
                .as_array()
                .is_some_and(|t| t.iter().any(|c| c["check"] == "cache"));
            let us = |field: &str| decision["timing_us"][field].as_u64().unwrap_or(0);
            if !cached && decision["verified"] == true {
                let fetch = Duration::from_micros(us("fetch"));
                self.component.push(Duration::from_micros(us("component")));
                let steps = decision["timing_us"]["steps"]
                    .as_object()
                    .into_iter()
                    .flatten();
                for (step, took) in steps {
                    let took = Duration::from_micros(took.as_u64().unwrap_or(0));
                    self.steps.entry(step.clone()).or_default().push(took);
                }
                self.fetch.push(fetch);
                fetched = Some(fetched.unwrap_or(Duration::ZERO) + fetch);
            }
        }
        fetched
    }
}

impl Caller {
    /// The AdmissionReview the apiserver sends for `call`.
    pub fn review_for(&self, call: &Call) -> (String, Value) {
        let n = self.next_uid.fetch_add(1, Ordering::Relaxed);
        let uid = format!("705ab4f5-6393-11e8-b7cc-{n:012x}");
        let gvk =
            |(g, v, k): &(String, String, String)| json!({"group": g, "version": v, "kind": k});
        let gvr =
            |(g, v, r): &(String, String, String)| json!({"group": g, "version": v, "resource": r});
        let mut request = json!({
            "uid": uid,
            "kind": gvk(&call.kind),
            "resource": gvr(&call.resource),
            "requestKind": gvk(&call.kind),
            "requestResource": gvr(&call.resource),
            "namespace": call.namespace,
            "operation": call.operation,
            "userInfo": {"username": "kubernetes-admin", "groups": ["system:masters", "system:authenticated"]},
            "object": call.object,
            "oldObject": call.old_object,
            "dryRun": call.dry_run,
            "options": {"apiVersion": "meta.k8s.io/v1", "kind": "CreateOptions"},
        });
        // The name, omitted when empty as the apiserver omits it; a DELETE
        // names the old object.
        let name = [&call.object, &call.old_object]
            .iter()
            .find_map(|o| o["metadata"]["name"].as_str().map(str::to_owned));
        if let Some(name) = name {
            request["name"] = json!(name);
        }
        if !call.sub_resource.is_empty() {
            request["subResource"] = json!(call.sub_resource);
            request["requestSubResource"] = json!(call.sub_resource);
        }
        let review = json!({
            "apiVersion": "admission.k8s.io/v1",
            "kind": "AdmissionReview",
            "request": request,
        });
        (uid, review)
    }

    /// Posts raw bytes, for tests of malformed input: the status and body,
    /// or the transport error (a server may answer and close before a large
    /// body is written).
    pub async fn post_raw(&self, endpoint: &str, body: Vec<u8>) -> Result<(u16, String), String> {
        let response = self
            .client
            .post(format!("{}/{endpoint}?timeout=10s", self.base))
            .header("Content-Type", "application/json")
            .body(body)
            .send()
            .await
            .map_err(|e| sigward_host::oci::with_causes(&e))?;
        let status = response.status().as_u16();
        Ok((status, response.text().await.unwrap_or_default()))
    }

    /// A GET, with the DER of the certificate the server showed.
    pub async fn get(&self, path: &str) -> Result<(u16, String, Vec<u8>), String> {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .map_err(|e| format!("{e:?}"))?;
        let peer = response
            .extensions()
            .get::<reqwest::tls::TlsInfo>()
            .and_then(|info| info.peer_certificate().map(<[u8]>::to_vec))
            .unwrap_or_default();
        let status = response.status().as_u16();
        Ok((status, response.text().await.unwrap_or_default(), peer))
    }

    /// Sends `call` and checks the answer as the dispatcher does.
    pub async fn call(&self, call: &Call) -> Result<Admission, CallError> {
        let (uid, review) = self.review_for(call);
        let response = self
            .client
            .post(format!(
                "{}/{}?timeout={}",
                self.base, call.endpoint, call.timeout
            ))
            .header("Content-Type", "application/json")
            .body(serde_json::to_vec(&review).unwrap())
            .send()
            .await
            .map_err(|e| {
                CallError(format!(
                    "failed calling webhook: {}",
                    sigward_host::oci::with_causes(&e)
                ))
            })?;
        let status = response.status().as_u16();
        let body = response.bytes().await.unwrap_or_default();
        if status != 200 {
            return Err(CallError(format!(
                "failed calling webhook: status {status}: {}",
                String::from_utf8_lossy(&body)
            )));
        }
        let answer: Value = serde_json::from_slice(&body)
            .map_err(|e| CallError(format!("the response is not JSON: {e}")))?;
        if answer["apiVersion"] != "admission.k8s.io/v1" || answer["kind"] != "AdmissionReview" {
            return Err(CallError(format!(
                "expected webhook response of admission.k8s.io/v1, Kind=AdmissionReview, got {}, Kind={}",
                answer["apiVersion"], answer["kind"]
            )));
        }
        let response = &answer["response"];
        if !response.is_object() {
            return Err(CallError("webhook response was absent".to_owned()));
        }
        if response["uid"] != uid.as_str() {
            return Err(CallError(format!(
                "expected response.uid={uid:?}, got {}",
                response["uid"]
            )));
        }
        let patch = match response.get("patch").and_then(Value::as_str) {
            None | Some("") => Vec::new(),
            Some(encoded) => {
                if call.endpoint != "mutate" {
                    return Err(CallError(
                        "validating webhooks may not return patches".into(),
                    ));
                }
                if response["patchType"] != "JSONPatch" {
                    return Err(CallError(format!(
                        "webhook returned response.patch with response.patchType {}",
                        response["patchType"]
                    )));
                }
                let bytes = B64
                    .decode(encoded)
                    .map_err(|e| CallError(format!("the patch is not base64: {e}")))?;
                serde_json::from_slice(&bytes)
                    .map_err(|e| CallError(format!("the patch is not a JSON patch: {e}")))?
            }
        };
        let mut object = call.object.clone();
        let allowed = response["allowed"] == true;
        if allowed && !patch.is_empty() {
            let ops: json_patch::Patch = serde_json::from_value(Value::Array(patch.clone()))
                .map_err(|e| CallError(format!("the patch does not decode: {e}")))?;
            json_patch::patch(&mut object, &ops)
                .map_err(|e| CallError(format!("the patch does not apply: {e}")))?;
        }
        Ok(Admission {
            allowed,
            code: response["status"]["code"].as_u64(),
            message: response["status"]["message"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            warnings: response["warnings"]
                .as_array()
                .map(|w| {
                    w.iter()
                        .filter_map(|s| s.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default(),
            audit: response["auditAnnotations"]
                .as_object()
                .cloned()
                .unwrap_or_default(),
            patch,
            object,
        })
    }
}

/// `sigward serve` (the binary at `sigward`) on `dir`'s `policy.yaml`,
/// `trusted_root.json`, `tls.crt` and `tls.key`, listening on `listen`.
pub fn serve_command(sigward: &str, dir: &std::path::Path, listen: &str) -> std::process::Command {
    let mut command = std::process::Command::new(sigward);
    command
        .arg("serve")
        .arg("--policy")
        .arg(dir.join("policy.yaml"))
        .arg("--trusted-root")
        .arg(dir.join("trusted_root.json"))
        .arg("--tls-cert")
        .arg(dir.join("tls.crt"))
        .arg("--tls-key")
        .arg(dir.join("tls.key"))
        .args(["--listen", listen]);
    command
}

/// `sigward serve` on loopback, with the test CA's certificate, for the
/// host's tests and benchmark (`CARGO_BIN_EXE_sigward`).
pub struct Webhook {
    pub child: std::process::Child,
    dir: std::path::PathBuf,
    base: String,
    ca: String,
}

impl Webhook {
    /// Starts it on `dir/policy.yaml` and `dir/trusted_root.json`, and waits
    /// until `/readyz` answers 200.
    pub fn start(dir: &std::path::Path, extra: &[&str]) -> Self {
        Self::start_with_env(dir, extra, &[])
    }

    pub fn start_with_env(dir: &std::path::Path, extra: &[&str], env: &[(&str, &str)]) -> Self {
        let tls = sigward_testpki::tls_server([127, 0, 0, 1]);
        std::fs::write(dir.join("tls.crt"), &tls.certificate_pem).unwrap();
        std::fs::write(dir.join("tls.key"), &tls.key_pem).unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .unwrap();
        let log = std::fs::File::create(dir.join("serve.log")).unwrap();
        let child = serve_command(
            env!("CARGO_BIN_EXE_sigward"),
            dir,
            &format!("127.0.0.1:{port}"),
        )
        .args(["--watch-interval", "1"])
        .args(extra)
        .envs(env.iter().copied())
        .env(
            "SIGWARD_CACHE_DIR",
            std::env::temp_dir().join("sigward-e2e-cache"),
        )
        .stdout(std::process::Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
        let mut webhook = Self {
            child,
            dir: dir.to_owned(),
            base: format!("https://127.0.0.1:{port}"),
            ca: tls.ca_pem,
        };
        let api = webhook.api();
        let started = std::time::Instant::now();
        while !matches!(api.fetch("/readyz"), Ok((200, _, _))) {
            if let Ok(Some(status)) = webhook.child.try_wait() {
                panic!("sigward serve stopped ({status}): {}", webhook.log());
            }
            assert!(
                started.elapsed() < Duration::from_secs(120),
                "sigward serve never became ready: {}",
                webhook.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        webhook
    }

    pub fn api(&self) -> ApiServer {
        ApiServer::new(&self.base, &self.ca)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("serve.log")).unwrap_or_default()
    }
}

impl Drop for Webhook {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The demo world in a fresh docker-registry, with its policy and trusted
/// root written to `dir`, where [`Webhook::start`] reads them.
pub fn demo_world(
    dir: &std::path::Path,
) -> (crate::registry_server::RegistryServer, sigward_demo::World) {
    let server = crate::registry_server::RegistryServer::start();
    let mut registry =
        sigward_host::oci::registry::Registry::new(sigward_host::oci::registry::Options::default())
            .unwrap();
    let world = sigward_demo::fill(&mut registry, &server.address).unwrap();
    std::fs::write(dir.join("policy.yaml"), &world.policy).unwrap();
    std::fs::write(dir.join("trusted_root.json"), &world.trusted_root).unwrap();
    (server, world)
}

/// A field of `/proc/PID/status` in KiB (`VmRSS:`, `VmHWM:`).
pub fn resident_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}
