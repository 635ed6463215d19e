//! Where a Kubernetes object keeps its images: the containers, init
//! containers and ephemeral containers of a Pod, or of the pod template of a
//! workload. The webhook, the Kubewarden policy and `sigward pin` walk objects with
//! [`images`], so they judge the same images.

use serde_json::Value;

/// One step of a path into an object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    Key(&'static str),
    Index(usize),
}

/// One container's image, and where it is in the object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Site {
    /// The path of the `image` field, from the object's root.
    pub path: Vec<Step>,
    /// `containers`, `initContainers` or `ephemeralContainers`.
    pub list: &'static str,
    /// The container's name.
    pub container: String,
    /// The image reference as written.
    pub image: String,
}

impl Site {
    /// The path as an RFC 6901 JSON pointer, for a JSON patch. Every key on
    /// it is a fixed field name, so nothing needs escaping.
    pub fn pointer(&self) -> String {
        self.path
            .iter()
            .map(|step| match step {
                Step::Key(key) => format!("/{key}"),
                Step::Index(index) => format!("/{index}"),
            })
            .collect()
    }
}

/// The container lists of a pod spec, in the order they are judged.
pub const CONTAINER_LISTS: [&str; 3] = ["initContainers", "containers", "ephemeralContainers"];

/// The path from an object of `kind` to its pod spec; `None` for a kind
/// that runs no containers. `EphemeralContainers` is the object the
/// `pods/ephemeralcontainers` subresource took before Kubernetes 1.22: the
/// list sits at its root.
pub fn pod_spec_path(kind: &str) -> Option<&'static [&'static str]> {
    Some(match kind {
        "Pod" => &["spec"],
        "Deployment"
        | "ReplicaSet"
        | "StatefulSet"
        | "DaemonSet"
        | "Job"
        | "ReplicationController" => &["spec", "template", "spec"],
        "CronJob" => &["spec", "jobTemplate", "spec", "template", "spec"],
        "EphemeralContainers" => &[],
        _ => return None,
    })
}

/// Why an object's images cannot be read: the object does not have the
/// shape of its kind. The webhook refuses such an object, since its images
/// cannot be judged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Malformed(pub String);

impl std::fmt::Display for Malformed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Every image of `object`, an object of `kind`. A kind that runs no
/// containers has none; a field that is absent or null is an empty list, as
/// the API server treats it.
pub fn images(kind: &str, object: &Value) -> Result<Vec<Site>, Malformed> {
    let Some(spec_path) = pod_spec_path(kind) else {
        return Ok(Vec::new());
    };
    let mut spec = object;
    let mut path = Vec::new();
    for key in spec_path {
        match spec.get(key) {
            Some(Value::Null) | None => return Ok(Vec::new()),
            Some(next @ Value::Object(_)) => spec = next,
            Some(_) => return Err(Malformed(format!("{kind}: {key} is not an object"))),
        }
        path.push(Step::Key(key));
    }
    let mut sites = Vec::new();
    for list in CONTAINER_LISTS {
        let containers = match spec.get(list) {
            Some(Value::Null) | None => continue,
            Some(Value::Array(containers)) => containers,
            Some(_) => return Err(Malformed(format!("{kind}: {list} is not a list"))),
        };
        for (index, container) in containers.iter().enumerate() {
            let name = container
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let image = match container.get("image") {
                Some(Value::String(image)) => image,
                // An image-less container is invalid; the API server's own
                // validation refuses it, and there is nothing to judge.
                Some(Value::Null) | None => continue,
                Some(_) => {
                    return Err(Malformed(format!(
                        "{kind}: {list}[{index}].image is not a string"
                    )));
                }
            };
            let mut at = path.clone();
            at.extend([Step::Key(list), Step::Index(index), Step::Key("image")]);
            sites.push(Site {
                path: at,
                list,
                container: name.to_owned(),
                image: image.clone(),
            });
        }
    }
    Ok(sites)
}

/// The pinned form of an image verified at `digest`: the reference as
/// written with `@digest` after it (`nginx:1.27@sha256:…`). An image that
/// already names a digest is never rewritten: `None`.
pub fn pinned(image: &str, digest: &str) -> Option<String> {
    if image.contains('@') {
        return None;
    }
    Some(format!("{image}@{digest}"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::expect_used)]
    use super::*;
    use serde_json::json;

    fn pod_spec() -> Value {
        json!({
            "initContainers": [{"name": "init", "image": "busybox:1"}],
            "containers": [{"name": "app", "image": "nginx:1.27"}, {"name": "side", "image": "envoy@sha256:00"}],
            "ephemeralContainers": [{"name": "debug", "image": "alpine"}],
        })
    }

    #[test]
    fn every_list_of_every_kind() {
        let template = json!({"template": {"spec": pod_spec()}});
        let objects = [
            ("Pod", json!({"spec": pod_spec()}), "/spec"),
            (
                "Deployment",
                json!({ "spec": template }),
                "/spec/template/spec",
            ),
            (
                "CronJob",
                json!({"spec": {"jobTemplate": {"spec": template}}}),
                "/spec/jobTemplate/spec/template/spec",
            ),
            ("EphemeralContainers", pod_spec(), ""),
        ];
        for (kind, object, prefix) in objects {
            let sites = images(kind, &object).expect("well formed");
            let found: Vec<(String, &str)> = sites
                .iter()
                .map(|s| (s.pointer(), s.image.as_str()))
                .collect();
            assert_eq!(
                found,
                [
                    (format!("{prefix}/initContainers/0/image"), "busybox:1"),
                    (format!("{prefix}/containers/0/image"), "nginx:1.27"),
                    (format!("{prefix}/containers/1/image"), "envoy@sha256:00"),
                    (format!("{prefix}/ephemeralContainers/0/image"), "alpine"),
                ],
                "{kind}"
            );
        }
    }

    #[test]
    fn other_kinds_and_empty_specs_have_no_images() {
        assert_eq!(
            images("ConfigMap", &json!({"spec": pod_spec()})),
            Ok(vec![])
        );
        assert_eq!(images("Deployment", &json!({"spec": {}})), Ok(vec![]));
        assert_eq!(
            images("Pod", &json!({"spec": {"containers": null}})),
            Ok(vec![])
        );
    }

    #[test]
    fn a_misshapen_object_is_refused() {
        assert!(images("Pod", &json!({"spec": []})).is_err());
        assert!(images("Pod", &json!({"spec": {"containers": {}}})).is_err());
        assert!(images("Pod", &json!({"spec": {"containers": [{"image": 3}]}})).is_err());
    }

    #[test]
    fn pinning_appends_the_digest_once() {
        assert_eq!(
            pinned("nginx:1.27", "sha256:ab").as_deref(),
            Some("nginx:1.27@sha256:ab")
        );
        assert_eq!(
            pinned("nginx", "sha256:ab").as_deref(),
            Some("nginx@sha256:ab")
        );
        assert_eq!(pinned("nginx:1.27@sha256:cd", "sha256:ab"), None);
    }
}
