//! The TUF client against real Sigstore metadata: the frozen copy of the
//! Sigstore TUF repository in the conformance suite, and the public-good root
//! history; then the attacks the specification names, each refused.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use sigward_core::tuf::trusted::TrustedSet;
use sigward_core::tuf::{Client, Source, Step, TufError};
use sigward_tests::shared_dir;

/// A local metadata store and a repository, as maps from path to bytes.
struct World {
    local: BTreeMap<String, Vec<u8>>,
    remote: BTreeMap<String, Vec<u8>>,
    /// Every remote path asked for, in order.
    requests: Vec<String>,
}

impl World {
    fn new(initial_root: Vec<u8>, remote: BTreeMap<String, Vec<u8>>) -> Self {
        Self {
            local: BTreeMap::from([("root.json".to_owned(), initial_root)]),
            remote,
            requests: Vec::new(),
        }
    }

    /// Runs one session at `now` to the end: a refresh, then a lookup of
    /// `target` when given, whose body (from `targets`) is checked.
    fn run(&mut self, now: i64, target: Option<&str>, targets: &Path) -> Result<Step, TufError> {
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
                    let body = std::fs::read(targets.join(&info.remote_path))
                        .map_err(|_| TufError::Missing(info.remote_path.clone()))?;
                    client.check_target(&info.path, &body)?;
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
    World::new(
        std::fs::read(repo.join("initial_root.json")).expect("initial root"),
        read_dir(&repo.join("metadata")),
    )
}

#[test]
fn the_frozen_sigstore_repository_gives_its_trusted_root() {
    let mut world = sigstore_world();
    let targets = sigstore_repo().join("targets");
    let step = world.run(sigstore_now(), Some("trusted_root.json"), &targets);
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
    let again = world.run(sigstore_now(), Some("trusted_root.json"), &targets);
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
