//! The fields of a Kubernetes `AdmissionRequest` that sigward reads, as
//! kube-apiserver sends them to a webhook and Kubewarden's policy-server
//! passes them to a policy. The Kubernetes API accepts `null` wherever a
//! field is optional (kube-rs's types take it), so every optional field
//! reads `null` as absent: `"subResource": null` is the same request as no
//! `subResource` at all.

use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// A field that may be absent or `null`, read as its default either way.
fn nullable<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// A group, version and kind, as the request names the object's type.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
pub struct Kind {
    #[serde(default, deserialize_with = "nullable")]
    pub group: String,
    #[serde(default, deserialize_with = "nullable")]
    pub version: String,
    pub kind: String,
}

/// A group, version and resource.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
pub struct Resource {
    #[serde(default, deserialize_with = "nullable")]
    pub group: String,
    #[serde(default, deserialize_with = "nullable")]
    pub version: String,
    #[serde(default, deserialize_with = "nullable")]
    pub resource: String,
}

/// The fields of an `AdmissionRequest` that sigward reads.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Request {
    pub uid: String,
    pub kind: Kind,
    #[serde(default, deserialize_with = "nullable")]
    pub resource: Resource,
    #[serde(default, deserialize_with = "nullable")]
    pub sub_resource: String,
    #[serde(default, deserialize_with = "nullable")]
    pub operation: String,
    #[serde(default, deserialize_with = "nullable")]
    pub namespace: String,
    #[serde(default, deserialize_with = "nullable")]
    pub name: String,
    /// The object as it will be stored; null for DELETE and CONNECT.
    #[serde(default)]
    pub object: Value,
    /// The object as it was, for UPDATE and DELETE; null otherwise.
    #[serde(default)]
    pub old_object: Value,
    /// The operation's options (`CreateOptions`, …); may be null.
    #[serde(default)]
    pub options: Value,
    #[serde(default)]
    pub dry_run: Option<bool>,
}

/// Why a request cannot be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadRequest(pub String);

impl std::fmt::Display for BadRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl Request {
    /// Reads an `AdmissionRequest` from its JSON value. The uid must be set:
    /// the answer has to echo it.
    pub fn from_value(value: Value) -> Result<Self, BadRequest> {
        let request: Self = serde_json::from_value(value)
            .map_err(|e| BadRequest(format!("the request is not an AdmissionRequest: {e}")))?;
        if request.uid.is_empty() {
            return Err(BadRequest("the request has no uid".to_owned()));
        }
        Ok(request)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn null_optional_fields_read_as_absent() {
        let full = json!({"uid": "u", "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "resource": {"group": "", "version": "v1", "resource": "pods"},
            "subResource": null, "namespace": null, "name": null, "operation": "CREATE",
            "oldObject": null, "options": null, "dryRun": null, "object": {"spec": {}}});
        let request = Request::from_value(full).unwrap();
        assert_eq!(request.sub_resource, "");
        assert_eq!(request.namespace, "");
        assert_eq!(request.old_object, Value::Null);
        assert_eq!(request.dry_run, None);
        let bare = json!({"uid": "u", "kind": {"kind": "Pod"}, "operation": "CREATE",
            "object": {"spec": {}}});
        let bare = Request::from_value(bare).unwrap();
        assert_eq!(bare.sub_resource, request.sub_resource);
        assert_eq!(bare.kind.kind, "Pod");
    }

    #[test]
    fn a_request_needs_a_uid_and_a_kind() {
        assert!(Request::from_value(json!({"uid": "", "kind": {"kind": "Pod"}})).is_err());
        assert!(Request::from_value(json!({"uid": "u"})).is_err());
        assert!(
            Request::from_value(json!({"uid": "u", "kind": {"kind": "Pod"}, "subResource": 3}))
                .is_err()
        );
    }
}
