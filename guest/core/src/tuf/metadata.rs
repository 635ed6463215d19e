//! The four top-level TUF roles and delegated targets, read from their JSON.
//!
//! Reading checks shape only (types, required fields, spec version); what the
//! metadata means for trust is checked in `trusted`.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::TufError;
use super::canonical;
use super::key::Key;

/// The role a metadata file claims to be, from `signed._type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RoleType {
    Root,
    Timestamp,
    Snapshot,
    Targets,
}

impl RoleType {
    pub fn name(self) -> &'static str {
        match self {
            Self::Root => "root",
            Self::Timestamp => "timestamp",
            Self::Snapshot => "snapshot",
            Self::Targets => "targets",
        }
    }
}

/// A metadata file: its signatures, and the canonical bytes they sign.
#[derive(Clone, Debug)]
pub struct Envelope {
    /// `(keyid, hex signature)`, keyids unique.
    pub signatures: Vec<(String, String)>,
    pub canonical: Vec<u8>,
    pub signed: Map<String, Value>,
}

impl Envelope {
    /// Reads a file claiming to be `expected` metadata.
    pub fn parse(bytes: &[u8], expected: RoleType) -> Result<Self, TufError> {
        let malformed = |reason: String| TufError::Malformed {
            role: expected.name(),
            reason,
        };
        let value: Value =
            serde_json::from_slice(bytes).map_err(|e| malformed(format!("not JSON: {e}")))?;
        let Value::Object(mut outer) = value else {
            return Err(malformed("not a JSON object".into()));
        };
        let Some(Value::Object(signed)) = outer.remove("signed") else {
            return Err(malformed("`signed` must be an object".into()));
        };
        let Some(Value::Array(list)) = outer.remove("signatures") else {
            return Err(malformed("`signatures` must be an array".into()));
        };
        let mut signatures = Vec::with_capacity(list.len());
        for entry in &list {
            let keyid = str_field(entry, "keyid").map_err(&malformed)?;
            let sig = str_field(entry, "sig").map_err(&malformed)?;
            if signatures
                .iter()
                .any(|(k, _): &(String, String)| *k == keyid)
            {
                return Err(malformed(format!(
                    "two signatures by key {keyid}: keyids in `signatures` must be unique"
                )));
            }
            signatures.push((keyid, sig));
        }
        let found = signed.get("_type").and_then(Value::as_str).unwrap_or("");
        if found != expected.name() {
            return Err(TufError::WrongType {
                expected: expected.name(),
                found: found.to_owned(),
            });
        }
        let canonical =
            canonical::encode(&Value::Object(signed.clone())).map_err(|e| malformed(e.0))?;
        Ok(Self {
            signatures,
            canonical,
            signed,
        })
    }
}

/// What every role carries.
#[derive(Clone, Debug)]
pub struct Common {
    pub version: u64,
    /// Seconds since the Unix epoch.
    pub expires: i64,
}

impl Common {
    fn parse(signed: &Map<String, Value>) -> Result<Self, String> {
        let spec = signed
            .get("spec_version")
            .and_then(Value::as_str)
            .ok_or("`spec_version` must be a string")?;
        if spec.split('.').next() != Some("1") || spec.split('.').count() < 2 {
            return Err(format!(
                "`spec_version` {spec:?}: this client reads version 1 of the specification"
            ));
        }
        let version = signed
            .get("version")
            .and_then(Value::as_u64)
            .filter(|v| *v > 0)
            .ok_or("`version` must be a positive integer")?;
        let expires = signed
            .get("expires")
            .and_then(Value::as_str)
            .ok_or("`expires` must be a string")?;
        let expires = parse_expiry(expires).ok_or_else(|| {
            format!("`expires` {expires:?} is not an RFC 3339 time like 2030-01-01T00:00:00Z")
        })?;
        Ok(Self { version, expires })
    }
}

/// RFC 3339. The specification writes UTC with `Z`; Sigstore's first root
/// gives an offset (`2021-12-18T13:28:12.99008-06:00`), which is as exact.
fn parse_expiry(text: &str) -> Option<i64> {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(time::OffsetDateTime::unix_timestamp)
}

/// The keys a role needs signatures from, and how many.
#[derive(Clone, Debug)]
pub struct RoleKeys {
    pub keyids: Vec<String>,
    pub threshold: u64,
}

impl RoleKeys {
    fn parse(value: &Value) -> Result<Self, String> {
        let keyids = str_list(value, "keyids")?;
        for (i, id) in keyids.iter().enumerate() {
            if keyids[..i].contains(id) {
                return Err(format!("key {id} is listed twice in `keyids`"));
            }
        }
        let threshold = value
            .get("threshold")
            .and_then(Value::as_u64)
            .filter(|t| *t > 0)
            .ok_or("`threshold` must be a positive integer")?;
        Ok(Self { keyids, threshold })
    }
}

#[derive(Clone, Debug)]
pub struct Root {
    pub common: Common,
    pub consistent_snapshot: bool,
    pub keys: BTreeMap<String, Key>,
    /// The four top-level roles, by name.
    pub roles: BTreeMap<String, RoleKeys>,
}

/// The version, and optionally the length and hashes, of a metadata file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetaFile {
    pub version: u64,
    pub length: Option<u64>,
    pub hashes: Option<BTreeMap<String, String>>,
}

#[derive(Clone, Debug)]
pub struct Timestamp {
    pub common: Common,
    pub snapshot: MetaFile,
}

#[derive(Clone, Debug)]
pub struct Snapshot {
    pub common: Common,
    /// By file name: `targets.json`, `<delegated role>.json`.
    pub meta: BTreeMap<String, MetaFile>,
}

/// A target file's length and hashes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TargetFile {
    pub length: u64,
    pub hashes: BTreeMap<String, String>,
}

#[derive(Clone, Debug)]
pub struct DelegatedRole {
    pub name: String,
    pub keys: RoleKeys,
    pub terminating: bool,
    /// Glob patterns; the role is trusted for paths one of them matches.
    pub paths: Option<Vec<String>>,
    /// Hex prefixes of the SHA-256 of the target path.
    pub path_hash_prefixes: Option<Vec<String>>,
}

#[derive(Clone, Debug)]
pub struct Delegations {
    pub keys: BTreeMap<String, Key>,
    /// In the order the delegator lists them: the search order.
    pub roles: Vec<DelegatedRole>,
}

#[derive(Clone, Debug)]
pub struct Targets {
    pub common: Common,
    pub targets: BTreeMap<String, TargetFile>,
    pub delegations: Option<Delegations>,
}

/// One of the top-level roles or a delegated targets role, read.
pub trait Role: Sized {
    const TYPE: RoleType;
    fn from_signed(signed: &Map<String, Value>) -> Result<Self, String>;
    fn common(&self) -> &Common;
}

/// Reads a role from an envelope already checked to be of its type.
pub fn read<R: Role>(envelope: &Envelope) -> Result<R, TufError> {
    R::from_signed(&envelope.signed).map_err(|reason| TufError::Malformed {
        role: R::TYPE.name(),
        reason,
    })
}

impl Role for Root {
    const TYPE: RoleType = RoleType::Root;
    fn common(&self) -> &Common {
        &self.common
    }
    fn from_signed(signed: &Map<String, Value>) -> Result<Self, String> {
        let common = Common::parse(signed)?;
        let consistent_snapshot = match signed.get("consistent_snapshot") {
            None => false,
            Some(v) => v
                .as_bool()
                .ok_or("`consistent_snapshot` must be a boolean")?,
        };
        let keys = parse_keys(signed.get("keys"))?;
        let roles_value = signed
            .get("roles")
            .and_then(Value::as_object)
            .ok_or("`roles` must be an object")?;
        let mut roles = BTreeMap::new();
        for name in ["root", "timestamp", "snapshot", "targets"] {
            let role = roles_value
                .get(name)
                .ok_or_else(|| format!("`roles` has no `{name}`"))?;
            let keys = RoleKeys::parse(role).map_err(|e| format!("roles.{name}: {e}"))?;
            roles.insert(name.to_owned(), keys);
        }
        if let Some(other) = roles_value.keys().find(|k| !roles.contains_key(*k)) {
            return Err(format!("`roles` names {other:?}, not a top-level role"));
        }
        Ok(Self {
            common,
            consistent_snapshot,
            keys,
            roles,
        })
    }
}

impl Role for Timestamp {
    const TYPE: RoleType = RoleType::Timestamp;
    fn common(&self) -> &Common {
        &self.common
    }
    fn from_signed(signed: &Map<String, Value>) -> Result<Self, String> {
        let common = Common::parse(signed)?;
        let meta = parse_meta(signed.get("meta"))?;
        if meta.len() != 1 {
            return Err("`meta` must describe `snapshot.json` and nothing else".into());
        }
        let snapshot = meta
            .into_iter()
            .find_map(|(name, file)| (name == "snapshot.json").then_some(file))
            .ok_or("`meta` must describe `snapshot.json`")?;
        Ok(Self { common, snapshot })
    }
}

impl Role for Snapshot {
    const TYPE: RoleType = RoleType::Snapshot;
    fn common(&self) -> &Common {
        &self.common
    }
    fn from_signed(signed: &Map<String, Value>) -> Result<Self, String> {
        let common = Common::parse(signed)?;
        let meta = parse_meta(signed.get("meta"))?;
        Ok(Self { common, meta })
    }
}

impl Role for Targets {
    const TYPE: RoleType = RoleType::Targets;
    fn common(&self) -> &Common {
        &self.common
    }
    fn from_signed(signed: &Map<String, Value>) -> Result<Self, String> {
        let common = Common::parse(signed)?;
        let mut targets = BTreeMap::new();
        let listed = signed
            .get("targets")
            .and_then(Value::as_object)
            .ok_or("`targets` must be an object")?;
        for (path, value) in listed {
            let length = value
                .get("length")
                .and_then(Value::as_u64)
                .ok_or_else(|| format!("targets[{path:?}]: `length` must be an integer ≥ 0"))?;
            let hashes =
                parse_hashes(value.get("hashes")).map_err(|e| format!("targets[{path:?}]: {e}"))?;
            targets.insert(path.clone(), TargetFile { length, hashes });
        }
        let delegations = match signed.get("delegations") {
            None => None,
            Some(value) => Some(parse_delegations(value).map_err(|e| format!("delegations: {e}"))?),
        };
        Ok(Self {
            common,
            targets,
            delegations,
        })
    }
}

fn parse_delegations(value: &Value) -> Result<Delegations, String> {
    let keys = parse_keys(value.get("keys"))?;
    if value.get("succinct_roles").is_some() {
        return Err("`succinct_roles` (TAP 15) is not supported".into());
    }
    let list = value
        .get("roles")
        .and_then(Value::as_array)
        .ok_or("`roles` must be an array")?;
    let mut roles: Vec<DelegatedRole> = Vec::with_capacity(list.len());
    for role in list {
        let name = str_field(role, "name")?;
        if roles.iter().any(|r| r.name == name) {
            return Err(format!("role {name:?} is delegated twice"));
        }
        if ["root", "timestamp", "snapshot", "targets"].contains(&name.as_str()) {
            return Err(format!("a delegated role may not be named {name:?}"));
        }
        let keys = RoleKeys::parse(role).map_err(|e| format!("{name}: {e}"))?;
        let terminating = role
            .get("terminating")
            .and_then(Value::as_bool)
            .ok_or_else(|| format!("{name}: `terminating` must be a boolean"))?;
        let paths = match role.get("paths") {
            None => None,
            Some(_) => Some(str_list(role, "paths").map_err(|e| format!("{name}: {e}"))?),
        };
        let path_hash_prefixes = match role.get("path_hash_prefixes") {
            None => None,
            Some(_) => {
                Some(str_list(role, "path_hash_prefixes").map_err(|e| format!("{name}: {e}"))?)
            }
        };
        if paths.is_some() == path_hash_prefixes.is_some() {
            return Err(format!(
                "{name}: exactly one of `paths` and `path_hash_prefixes` must be given"
            ));
        }
        roles.push(DelegatedRole {
            name,
            keys,
            terminating,
            paths,
            path_hash_prefixes,
        });
    }
    Ok(Delegations { keys, roles })
}

fn parse_keys(value: Option<&Value>) -> Result<BTreeMap<String, Key>, String> {
    let object = value
        .and_then(Value::as_object)
        .ok_or("`keys` must be an object")?;
    let mut keys = BTreeMap::new();
    for (id, key) in object {
        keys.insert(
            id.clone(),
            Key::parse(key).map_err(|e| format!("keys[{id}]: {e}"))?,
        );
    }
    Ok(keys)
}

fn parse_meta(value: Option<&Value>) -> Result<BTreeMap<String, MetaFile>, String> {
    let object = value
        .and_then(Value::as_object)
        .ok_or("`meta` must be an object")?;
    let mut meta = BTreeMap::new();
    for (name, file) in object {
        let version = file
            .get("version")
            .and_then(Value::as_u64)
            .filter(|v| *v > 0)
            .ok_or_else(|| format!("meta[{name:?}]: `version` must be a positive integer"))?;
        let length = match file.get("length") {
            None => None,
            Some(v) => Some(
                v.as_u64()
                    .ok_or_else(|| format!("meta[{name:?}]: `length` must be an integer ≥ 0"))?,
            ),
        };
        let hashes = match file.get("hashes") {
            None => None,
            Some(v) => Some(parse_hashes(Some(v)).map_err(|e| format!("meta[{name:?}]: {e}"))?),
        };
        meta.insert(
            name.clone(),
            MetaFile {
                version,
                length,
                hashes,
            },
        );
    }
    Ok(meta)
}

fn parse_hashes(value: Option<&Value>) -> Result<BTreeMap<String, String>, String> {
    let object = value
        .and_then(Value::as_object)
        .filter(|o| !o.is_empty())
        .ok_or("`hashes` must be a non-empty object")?;
    let mut hashes = BTreeMap::new();
    for (algorithm, digest) in object {
        let digest = digest
            .as_str()
            .ok_or_else(|| format!("hashes[{algorithm:?}] must be a string"))?;
        hashes.insert(algorithm.clone(), digest.to_owned());
    }
    Ok(hashes)
}

fn str_field(value: &Value, name: &str) -> Result<String, String> {
    value
        .get(name)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| format!("`{name}` must be a string"))
}

fn str_list(value: &Value, name: &str) -> Result<Vec<String>, String> {
    value
        .get(name)
        .and_then(Value::as_array)
        .and_then(|list| list.iter().map(|v| v.as_str().map(str::to_owned)).collect())
        .ok_or_else(|| format!("`{name}` must be an array of strings"))
}
