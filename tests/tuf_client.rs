//! The TUF client against real Sigstore metadata: the frozen copy of the
//! Sigstore TUF repository in the conformance suite, and the public-good root
//! history; then the attacks the specification names, each refused.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ed25519_dalek::{Signer as _, SigningKey};
use serde_json::{Value, json};

use sigward_core::tuf::trusted::TrustedSet;
use sigward_core::tuf::{Client, Source, Step, TufError};
use sigward_tests::shared_dir;

/// A local metadata store and a repository, as maps from path to bytes.
struct World {
    local: BTreeMap<String, Vec<u8>>,
    remote: BTreeMap<String, Vec<u8>>,
    /// The repository's targets, by remote path.
    targets: BTreeMap<String, Vec<u8>>,
    /// Every remote path asked for, in order.
    requests: Vec<String>,
}

impl World {
    fn new(initial_root: Vec<u8>, remote: BTreeMap<String, Vec<u8>>) -> Self {
        Self {
            local: BTreeMap::from([("root.json".to_owned(), initial_root)]),
            remote,
            targets: BTreeMap::new(),
            requests: Vec::new(),
        }
    }

    /// Runs one session at `now` to the end: a refresh, then a lookup of
    /// `target` when given, whose body is checked.
    fn run(&mut self, now: i64, target: Option<&str>) -> Result<Step, TufError> {
        let mut client = Client::new(now, false);
        loop {
            match client.next(target)? {
                Step::Fetch(request) => {
                    let body = match request.source {
                        Source::Local => self.local.get(&request.path).cloned(),
                        Source::Remote => {
                            self.requests.push(request.path.clone());
                            self.remote.get(&request.path).cloned()
                        }
                    };
                    if let Some(name) = client.deliver(body.as_deref())?
                        && let Some(body) = body
                    {
                        self.local.insert(name, body);
                    }
                }
                Step::Found(info) => {
                    let body = self
                        .targets
                        .get(&info.remote_path)
                        .ok_or_else(|| TufError::Missing(info.remote_path.clone()))?;
                    client.check_target(&info.path, body)?;
                    return Ok(Step::Found(info));
                }
                Step::Ready => return Ok(Step::Ready),
            }
        }
    }
}

fn read_dir(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.expect("dir entry").path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .expect("name")
            .to_owned();
        files.insert(name, std::fs::read(&path).expect("read"));
    }
    files
}

fn sigstore_repo() -> PathBuf {
    shared_dir().join("tuf-conformance/tuf_conformance/static_data/sigstore-root-signing")
}

/// The time the frozen repository was downloaded (its `faketime` file).
fn sigstore_now() -> i64 {
    let text = std::fs::read_to_string(sigstore_repo().join("faketime")).expect("faketime");
    let text = text.trim().replace(' ', "T").replace("+00:00", "Z");
    time::OffsetDateTime::parse(&text, &time::format_description::well_known::Rfc3339)
        .expect("faketime is a time")
        .unix_timestamp()
}

fn sigstore_world() -> World {
    let repo = sigstore_repo();
    let mut world = World::new(
        std::fs::read(repo.join("initial_root.json")).expect("initial root"),
        read_dir(&repo.join("metadata")),
    );
    world.targets = read_dir(&repo.join("targets"));
    world
}

#[test]
fn the_frozen_sigstore_repository_gives_its_trusted_root() {
    let mut world = sigstore_world();
    let step = world.run(sigstore_now(), Some("trusted_root.json"));
    let Ok(Step::Found(info)) = step else {
        panic!("expected the target, got {step:?}");
    };
    assert_eq!(info.path, "trusted_root.json");
    assert!(
        info.remote_path.ends_with(".trusted_root.json"),
        "{}",
        info.remote_path
    );
    assert_eq!(
        world.requests,
        [
            "13.root.json",
            "timestamp.json",
            "159.snapshot.json",
            "11.targets.json"
        ]
    );
    let names: Vec<&str> = world.local.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "root.json",
            "snapshot.json",
            "targets.json",
            "timestamp.json"
        ]
    );

    // A second session takes everything from the store: only root and
    // timestamp are asked of the repository.
    world.requests.clear();
    let again = world.run(sigstore_now(), Some("trusted_root.json"));
    assert!(matches!(again, Ok(Step::Found(_))), "{again:?}");
    assert_eq!(world.requests, ["13.root.json", "timestamp.json"]);
}

#[test]
fn every_public_good_root_chains_from_the_first_to_the_last() {
    let dir = shared_dir().join("corpus/root-signing/metadata/root_history");
    let root = |v: u64| std::fs::read(dir.join(format!("{v}.root.json"))).expect("root version");
    let count = (1..)
        .take_while(|v| dir.join(format!("{v}.root.json")).exists())
        .count() as u64;
    assert!(count >= 12, "only {count} root versions in the history");
    // Expiry is not checked for a root that a newer one replaces.
    let mut set = TrustedSet::new(&root(1), 0).expect("root v1 is signed by its own keys");
    for v in 2..=count {
        set.update_root(&root(v))
            .unwrap_or_else(|e| panic!("root v{v}: {e}"));
    }
    assert_eq!(set.root().common.version, count);
    let latest = std::fs::read(shared_dir().join("corpus/root-signing/metadata/root.json"))
        .expect("root.json");
    let latest = TrustedSet::new(&latest, 0).expect("the current root");
    assert_eq!(latest.root().common.version, count);
}

#[test]
fn the_frozen_sigstore_repository_refuses_a_frozen_timestamp_and_a_replayed_root() {
    // Freeze: a month on, the repository's timestamp has expired.
    let mut world = sigstore_world();
    let later = sigstore_now() + 30 * 86_400;
    let error = world.run(later, None).expect_err("an expired timestamp");
    assert_eq!(error.check(), "tuf.expiry", "{error}");
    assert!(
        error.to_string().starts_with("timestamp expired at 2025-"),
        "{error}"
    );

    // A root replayed as the next version: its version gives it away.
    let mut world = sigstore_world();
    let old = world.remote["11.root.json"].clone();
    world.remote.insert("13.root.json".into(), old);
    let error = world
        .run(sigstore_now(), None)
        .expect_err("a replayed root");
    assert!(
        matches!(error.check(), "tuf.version" | "tuf.signatures"),
        "{error}"
    );
    assert_eq!(
        world.local["root.json"],
        std::fs::read(sigstore_repo().join("initial_root.json")).unwrap()
    );
}

/// A TUF repository built here, ed25519 keys, one per top-level role,
/// without consistent snapshots: every attack below is a change to it.
struct Repo {
    keys: BTreeMap<&'static str, SigningKey>,
    root: Value,
    timestamp: Value,
    snapshot: Value,
    targets: Value,
    /// Extra keys root lists for a role, and the signers used for it.
    signers: BTreeMap<&'static str, Vec<SigningKey>>,
    artifact: Vec<u8>,
}

const ROLES: [&str; 4] = ["root", "timestamp", "snapshot", "targets"];
/// 2030-01-01T00:00:00Z.
const NOW: i64 = 1_893_456_000;

/// The specification's keyid: the SHA-256 of the key's canonical JSON.
fn keyid(key: &SigningKey) -> String {
    sha256_hex(&sigward_core::tuf::canonical::encode(&key_json(key)).unwrap())
}

fn key_json(key: &SigningKey) -> Value {
    let public = sigward_core::hex::encode(key.verifying_key().as_bytes());
    json!({"keytype": "ed25519", "scheme": "ed25519", "keyval": {"public": public}})
}

fn expiry(days_after_now: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(NOW + days_after_now * 86_400)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

impl Repo {
    fn new() -> Self {
        let keys: BTreeMap<&'static str, SigningKey> = ROLES
            .iter()
            .enumerate()
            .map(|(i, role)| (*role, SigningKey::from_bytes(&[i as u8 + 1; 32])))
            .collect();
        let artifact = b"the trusted root".to_vec();
        let mut repo = Self {
            signers: keys.iter().map(|(r, k)| (*r, vec![k.clone()])).collect(),
            keys,
            root: Value::Null,
            timestamp: Value::Null,
            snapshot: Value::Null,
            targets: Value::Null,
            artifact,
        };
        repo.root = repo.root_signed(1);
        let digest = sha256_hex(&repo.artifact);
        repo.targets = json!({"_type": "targets", "spec_version": "1.0.31", "version": 1,
            "expires": expiry(30),
            "targets": {"trusted_root.json": {"length": repo.artifact.len(), "hashes": {"sha256": digest}}}});
        repo.snapshot = json!({"_type": "snapshot", "spec_version": "1.0.31", "version": 1,
            "expires": expiry(7), "meta": {"targets.json": {"version": 1}}});
        repo.timestamp = json!({"_type": "timestamp", "spec_version": "1.0.31", "version": 1,
            "expires": expiry(1), "meta": {"snapshot.json": {"version": 1}}});
        repo
    }

    fn root_signed(&self, version: u64) -> Value {
        let mut keys = serde_json::Map::new();
        let mut roles = serde_json::Map::new();
        for role in ROLES {
            let ids: Vec<String> = self.signers[role].iter().map(keyid).collect();
            for key in &self.signers[role] {
                keys.insert(keyid(key), key_json(key));
            }
            roles.insert(role.into(), json!({"keyids": ids, "threshold": 1}));
        }
        json!({"_type": "root", "spec_version": "1.0.31", "version": version,
            "expires": expiry(365), "consistent_snapshot": false, "keys": keys, "roles": roles})
    }

    /// A metadata file signed by `signers`.
    fn sign(signed: &Value, signers: &[&SigningKey]) -> Vec<u8> {
        let canonical = sigward_core::tuf::canonical::encode(signed).unwrap();
        let signatures: Vec<Value> = signers
            .iter()
            .map(|k| json!({"keyid": keyid(k), "sig": sigward_core::hex::encode(&k.sign(&canonical).to_bytes())}))
            .collect();
        serde_json::to_vec_pretty(&json!({"signatures": signatures, "signed": signed})).unwrap()
    }

    fn signed_by_role(&self, role: &str, signed: &Value) -> Vec<u8> {
        let signers: Vec<&SigningKey> = self.signers[role].iter().collect();
        Self::sign(signed, &signers)
    }

    /// Publishes the current metadata, root as `1.root.json` and, with
    /// `newer_roots`, those versions too.
    fn world(&self, newer_roots: &[Vec<u8>]) -> World {
        let root = self.signed_by_role("root", &self.root);
        let mut remote = BTreeMap::new();
        for (i, r) in newer_roots.iter().enumerate() {
            remote.insert(format!("{}.root.json", i + 2), r.clone());
        }
        remote.insert(
            "timestamp.json".into(),
            self.signed_by_role("timestamp", &self.timestamp),
        );
        remote.insert(
            "snapshot.json".into(),
            self.signed_by_role("snapshot", &self.snapshot),
        );
        remote.insert(
            "targets.json".into(),
            self.signed_by_role("targets", &self.targets),
        );
        let mut world = World::new(root, remote);
        world
            .targets
            .insert("trusted_root.json".into(), self.artifact.clone());
        world
    }

    /// Replaces the metadata of `role` in `world`'s repository.
    fn publish(&self, world: &mut World, role: &str) {
        let signed = match role {
            "timestamp" => &self.timestamp,
            "snapshot" => &self.snapshot,
            _ => &self.targets,
        };
        world
            .remote
            .insert(format!("{role}.json"), self.signed_by_role(role, signed));
    }

    fn bump(&mut self, role: &str, version: u64) {
        let value = match role {
            "timestamp" => &mut self.timestamp,
            "snapshot" => &mut self.snapshot,
            _ => &mut self.targets,
        };
        value["version"] = json!(version);
        match role {
            "snapshot" => self.timestamp["meta"]["snapshot.json"]["version"] = json!(version),
            "targets" => self.snapshot["meta"]["targets.json"]["version"] = json!(version),
            _ => {}
        }
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sigward_core::hex::encode(&sha2::Sha256::digest(bytes))
}

fn found(step: Result<Step, TufError>) {
    assert!(matches!(step, Ok(Step::Found(_))), "{step:?}");
}

fn refused(step: Result<Step, TufError>, check: &str, message: &str) {
    let error = step.expect_err("refused");
    assert_eq!(error.check(), check, "{error}");
    assert!(
        error.to_string().contains(message),
        "{error:?} does not say {message:?}"
    );
}

#[test]
fn a_built_repository_gives_its_target() {
    let repo = Repo::new();
    let mut world = repo.world(&[]);
    found(world.run(NOW, Some("trusted_root.json")));
    let error = world
        .run(NOW, Some("missing.json"))
        .expect_err("no such target");
    assert_eq!(
        error.to_string(),
        "target \"missing.json\" is in no trusted targets metadata"
    );
}

#[test]
fn rollback_of_each_role_is_refused() {
    let mut repo = Repo::new();
    repo.bump("targets", 3);
    repo.bump("snapshot", 3);
    repo.bump("timestamp", 3);
    let mut world = repo.world(&[]);
    found(world.run(NOW, Some("trusted_root.json")));

    // The timestamp goes back to version 2.
    let mut old = Repo::new();
    old.bump("timestamp", 2);
    old.publish(&mut world, "timestamp");
    refused(
        world.run(NOW, None),
        "tuf.rollback",
        "timestamp rolled back: version 2 is older than the trusted 3",
    );

    // A newer timestamp naming an older snapshot.
    let mut world = repo.world(&[]);
    world.run(NOW, None).expect("first refresh");
    let mut next = Repo::new();
    next.bump("targets", 3);
    next.bump("snapshot", 2);
    next.bump("timestamp", 4);
    next.publish(&mut world, "timestamp");
    refused(
        world.run(NOW, None),
        "tuf.rollback",
        "snapshot (in timestamp) rolled back: version 2 is older than the trusted 3",
    );

    // A newer snapshot naming older targets.
    let mut world = repo.world(&[]);
    world.run(NOW, None).expect("first refresh");
    let mut next = Repo::new();
    next.bump("targets", 2);
    next.bump("snapshot", 4);
    next.bump("timestamp", 4);
    next.publish(&mut world, "snapshot");
    next.publish(&mut world, "timestamp");
    refused(
        world.run(NOW, None),
        "tuf.rollback",
        "targets.json (in snapshot) rolled back: version 2 is older than the trusted 3",
    );
}

#[test]
fn a_frozen_or_expired_role_is_refused() {
    let repo = Repo::new();
    // The timestamp expires a day on: a repository frozen since then.
    refused(
        repo.world(&[]).run(NOW + 2 * 86_400, None),
        "tuf.expiry",
        "timestamp expired at 2030-01-02T00:00:00Z",
    );
    refused(
        repo.world(&[]).run(NOW + 400 * 86_400, None),
        "tuf.expiry",
        "root expired at 2031-01-01T00:00:00Z",
    );
    let mut stale = Repo::new();
    stale.snapshot["expires"] = json!(expiry(-1));
    refused(
        stale.world(&[]).run(NOW, None),
        "tuf.expiry",
        "snapshot expired at 2029-12-31T00:00:00Z",
    );
}

#[test]
fn mix_and_match_is_refused() {
    // The timestamp names snapshot 2; the repository serves snapshot 1.
    let mut repo = Repo::new();
    repo.timestamp["meta"]["snapshot.json"]["version"] = json!(2);
    refused(
        repo.world(&[]).run(NOW, None),
        "tuf.version",
        "snapshot: expected version 2 (as the timestamp says), got 1",
    );
    // The snapshot gives the targets' hash; another targets file is served.
    let mut repo = Repo::new();
    let other = repo.signed_by_role("targets", &repo.targets);
    repo.snapshot["meta"]["targets.json"]["hashes"] =
        json!({"sha256": sha256_hex(b"another targets.json")});
    let mut world = repo.world(&[]);
    world.remote.insert("targets.json".into(), other);
    refused(
        world.run(NOW, None),
        "tuf.hashes",
        "targets: expected sha256",
    );
}

#[test]
fn a_target_with_the_wrong_hash_or_length_is_refused() {
    let repo = Repo::new();
    let mut world = repo.world(&[]);
    world
        .targets
        .insert("trusted_root.json".into(), b"the trusted r00t".to_vec());
    refused(
        world.run(NOW, Some("trusted_root.json")),
        "tuf.hashes",
        "trusted_root.json: expected sha256",
    );
    let mut world = repo.world(&[]);
    world.targets.insert(
        "trusted_root.json".into(),
        b"the trusted root, and more".to_vec(),
    );
    refused(
        world.run(NOW, Some("trusted_root.json")),
        "tuf.length",
        "trusted_root.json: expected 16 bytes, got 26",
    );
}

#[test]
fn an_endless_metadata_file_is_refused_at_its_limit() {
    let mut repo = Repo::new();
    repo.timestamp["padding"] = json!("x".repeat(20_000));
    refused(
        repo.world(&[]).run(NOW, None),
        "tuf.length",
        "timestamp.json is larger than its limit of 16384 bytes",
    );
}

#[test]
fn a_root_rotation_needs_both_thresholds() {
    let repo = Repo::new();
    // Root 2 moves to a new key, but only the new key signs: the old root's
    // threshold is not met.
    let mut next = Repo::new();
    next.signers
        .insert("root", vec![SigningKey::from_bytes(&[9; 32])]);
    let root2 = next.signed_by_role("root", &next.root_signed(2));
    let mut world = repo.world(&[root2]);
    refused(
        world.run(NOW, None),
        "tuf.signatures",
        "root needs 1 valid signature(s) by keys root v1 gives it, found 0",
    );

    // Signed by both keys, with root 2 demanding two: met.
    let mut both = Repo::new();
    both.signers.insert(
        "root",
        vec![repo.keys["root"].clone(), SigningKey::from_bytes(&[9; 32])],
    );
    let mut signed = both.root_signed(2);
    signed["roles"]["root"]["threshold"] = json!(2);
    let root2 = both.signed_by_role("root", &signed);
    let mut world = repo.world(std::slice::from_ref(&root2));
    world
        .run(NOW, None)
        .expect("a rotation signed by old and new thresholds");
    assert_eq!(world.local["root.json"], root2);

    // Root 3 signed by one of root 2's two keys: its own threshold of 2 is not met.
    let mut third = both.root_signed(3);
    third["roles"]["root"]["threshold"] = json!(2);
    let root3 = Repo::sign(&third, &[&repo.keys["root"]]);
    let mut world = repo.world(&[root2, root3]);
    refused(
        world.run(NOW, None),
        "tuf.signatures",
        "root needs 2 valid signature(s) by keys root v2 gives it, found 1",
    );
}

#[test]
fn a_rotated_timestamp_key_recovers_from_a_fast_forward() {
    // An attacker with the timestamp key pushed version 1000.
    let mut repo = Repo::new();
    repo.bump("timestamp", 1000);
    let mut world = repo.world(&[]);
    world
        .run(NOW, None)
        .expect("the fast-forwarded timestamp is taken");

    // Root 2 rotates the timestamp key; the repository restarts at 1.
    let mut fixed = Repo::new();
    fixed
        .signers
        .insert("timestamp", vec![SigningKey::from_bytes(&[7; 32])]);
    let root2 = Repo::sign(&fixed.root_signed(2), &[&repo.keys["root"]]);
    world.remote.insert("2.root.json".into(), root2);
    fixed.publish(&mut world, "timestamp");
    world.run(NOW, None).expect("recovered");
    let kept: Value = serde_json::from_slice(&world.local["timestamp.json"]).unwrap();
    assert_eq!(kept["signed"]["version"], 1);
}
