//! A caller that speaks to an admission webhook as kube-apiserver's webhook
//! dispatcher does, for tests and the benchmark (no apiserver can run on
//! these machines). It posts an `AdmissionReview` built as the admission
//! plugin builds it, over HTTPS trusting only the webhook's CA bundle, with
//! `?timeout=`; it checks the answer as the dispatcher does (HTTP 200,
//! `apiVersion` and `kind` echoed, the request's `uid`, a patch only from a
//! mutating call and only with `patchType: JSONPatch`), and applies the
//! patch with an RFC 6902 implementation.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

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

pub struct ApiServer {
    /// Drives the client's connections between calls; the blocking methods
    /// run on it.
    runtime: tokio::runtime::Runtime,
    client: reqwest::Client,
    base: String,
    next_uid: AtomicU64,
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
            client,
            base: base.to_owned(),
            next_uid: AtomicU64::new(1),
        }
    }

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

    /// Posts raw bytes; the status and body, for tests of malformed input.
    pub async fn post_raw(&self, endpoint: &str, body: Vec<u8>) -> (u16, String) {
        let response = self
            .client
            .post(format!("{}/{endpoint}?timeout=10s", self.base))
            .header("Content-Type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.text().await.unwrap_or_default())
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

    /// [`Self::call`], from outside any async runtime.
    pub fn admit(&self, call: &Call) -> Result<Admission, CallError> {
        self.runtime.block_on(self.call(call))
    }

    /// [`Self::get`], from outside any async runtime.
    pub fn fetch(&self, path: &str) -> Result<(u16, String, Vec<u8>), String> {
        self.runtime.block_on(self.get(path))
    }

    /// [`Self::post_raw`], from outside any async runtime.
    pub fn post(&self, endpoint: &str, body: Vec<u8>) -> (u16, String) {
        self.runtime.block_on(self.post_raw(endpoint, body))
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
