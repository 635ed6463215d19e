//! `AdmissionReview` as kube-apiserver sends it and checks the answer: the
//! response echoes the request's `apiVersion` and `kind` and its `uid`, a
//! patch travels base64-encoded with `patchType: JSONPatch`, and a refusal
//! carries a `status` with code 403.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::Deserialize;
use serde_json::{Value, json};

/// The review versions kube-apiserver sends; v1beta1 has the same fields.
pub const API_VERSIONS: [&str; 2] = ["admission.k8s.io/v1", "admission.k8s.io/v1beta1"];

/// The request, read by the core as the Kubewarden policy reads it.
pub use sigward_core::admission::request::{Kind, Request, Resource};
pub use sigward_core::admission::verdict::Replace;
use sigward_core::admission::verdict::Verdict as CoreVerdict;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Envelope {
    api_version: String,
    kind: String,
    request: Option<Value>,
}

/// A review and the version it came in, which the answer must echo.
#[derive(Clone, Debug)]
pub struct Review {
    pub api_version: String,
    pub request: Request,
}

/// Why a request body is not an `AdmissionReview`: answered with 400.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadReview(pub String);

impl std::fmt::Display for BadReview {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "not an AdmissionReview: {}", self.0)
    }
}

/// Reads an `AdmissionReview` request body.
pub fn parse(body: &[u8]) -> Result<Review, BadReview> {
    let envelope: Envelope =
        serde_json::from_slice(body).map_err(|e| BadReview(format!("invalid JSON: {e}")))?;
    if envelope.kind != "AdmissionReview" {
        return Err(BadReview(format!(
            "kind is {:?}, expected \"AdmissionReview\"",
            envelope.kind
        )));
    }
    if !API_VERSIONS.contains(&envelope.api_version.as_str()) {
        return Err(BadReview(format!(
            "apiVersion is {:?}, expected one of {API_VERSIONS:?}",
            envelope.api_version
        )));
    }
    let request = match envelope.request {
        None | Some(Value::Null) => return Err(BadReview("it has no request".to_owned())),
        Some(request) => Request::from_value(request).map_err(|e| BadReview(e.0))?,
    };
    Ok(Review {
        api_version: envelope.api_version,
        request,
    })
}

/// The answer to one review: the core's verdict, and what the audit log
/// records of it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Verdict {
    pub decided: CoreVerdict,
    /// Recorded in the audit log under the webhook's name.
    pub audit: BTreeMap<String, String>,
}

impl From<CoreVerdict> for Verdict {
    fn from(decided: CoreVerdict) -> Self {
        Self {
            decided,
            audit: BTreeMap::new(),
        }
    }
}

/// The HTTP status code of a refusal.
pub const FORBIDDEN: u16 = 403;

/// The response body for `review`.
pub fn respond(review: &Review, answer: &Verdict) -> Value {
    let verdict = &answer.decided;
    let mut response = json!({
        "uid": review.request.uid,
        "allowed": verdict.allowed,
    });
    if !verdict.allowed {
        response["status"] = json!({
            "status": "Failure",
            "code": FORBIDDEN,
            "reason": "Forbidden",
            "message": verdict.message,
        });
    }
    if !verdict.patch.is_empty() {
        let ops = sigward_core::admission::verdict::json_patch(&verdict.patch);
        let patch = serde_json::to_vec(&ops).unwrap_or_default();
        response["patch"] = Value::String(B64.encode(patch));
        response["patchType"] = Value::String("JSONPatch".to_owned());
    }
    if !verdict.warnings.is_empty() {
        response["warnings"] = json!(verdict.warnings);
    }
    if !answer.audit.is_empty() {
        response["auditAnnotations"] = json!(answer.audit);
    }
    json!({
        "apiVersion": review.api_version,
        "kind": "AdmissionReview",
        "response": response,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::expect_used, clippy::unwrap_used)]
    use super::*;

    fn review(body: Value) -> Result<Review, BadReview> {
        parse(&serde_json::to_vec(&body).unwrap())
    }

    #[test]
    fn only_admission_reviews_with_a_request_and_uid_are_read() {
        let ok = json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
            "request": {"uid": "u1", "kind": {"group": "", "version": "v1", "kind": "Pod"}}});
        assert_eq!(review(ok.clone()).unwrap().request.uid, "u1");
        for (field, value) in [
            ("kind", json!("Pod")),
            ("apiVersion", json!("admission.k8s.io/v2")),
            ("request", Value::Null),
        ] {
            let mut bad = ok.clone();
            bad[field] = value;
            assert!(review(bad).is_err(), "{field}");
        }
        // kube-rs and other clients send null for absent optional fields.
        let mut nulls = ok.clone();
        for field in ["subResource", "oldObject", "options", "namespace", "dryRun"] {
            nulls["request"][field] = Value::Null;
        }
        assert_eq!(review(nulls).unwrap().request.sub_resource, "");
        let mut no_uid = ok;
        no_uid["request"]["uid"] = json!("");
        assert!(review(no_uid).is_err());
        assert!(parse(b"{").unwrap_err().0.contains("invalid JSON"));
    }

    #[test]
    fn a_response_echoes_the_version_and_uid_and_encodes_the_patch() {
        let review = review(
            json!({"apiVersion": "admission.k8s.io/v1beta1", "kind": "AdmissionReview",
            "request": {"uid": "u2", "kind": {"kind": "Pod"}}}),
        )
        .unwrap();
        let verdict = Verdict::from(CoreVerdict {
            allowed: true,
            patch: vec![Replace {
                path: "/spec/containers/0/image".into(),
                value: "a@sha256:00".into(),
            }],
            ..CoreVerdict::default()
        });
        let body = respond(&review, &verdict);
        assert_eq!(body["apiVersion"], "admission.k8s.io/v1beta1");
        assert_eq!(body["kind"], "AdmissionReview");
        assert_eq!(body["response"]["uid"], "u2");
        assert_eq!(body["response"]["patchType"], "JSONPatch");
        let patch = B64
            .decode(body["response"]["patch"].as_str().unwrap())
            .unwrap();
        let ops: Value = serde_json::from_slice(&patch).unwrap();
        assert_eq!(
            ops,
            json!([{"op": "replace", "path": "/spec/containers/0/image", "value": "a@sha256:00"}])
        );
        assert!(body["response"].get("status").is_none());

        let refused = respond(
            &review,
            &Verdict::from(CoreVerdict {
                message: "no".into(),
                ..CoreVerdict::default()
            }),
        );
        assert_eq!(refused["response"]["allowed"], false);
        assert_eq!(refused["response"]["status"]["code"], 403);
        assert_eq!(refused["response"]["status"]["message"], "no");
        assert!(refused["response"].get("patch").is_none());
    }
}
