//! The TUF client workflow (§5), as python-tuf's `ngclient` runs it, turned
//! inside out: [`Client::next`] says what it needs, the host fetches it, and
//! [`Client::deliver`] takes it and says whether to keep it.
//!
//! A refresh reads the trusted root from the local store, then takes every
//! newer root the repository has, then the timestamp, the snapshot and
//! `targets`, each from the local store when it is still what the newer
//! metadata names, else from the repository. A target lookup then walks the
//! delegations depth first, in the order delegators list them.

use std::collections::BTreeSet;

use super::metadata::TargetFile;
use super::trusted::{TrustedSet, check_length_and_hashes};
use super::{TufError, delegation, limits, quote};

/// Where a requested file is read from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// The local metadata store: a file name such as `root.json`.
    Local,
    /// The repository: a path under its metadata URL, such as `3.root.json`.
    Remote,
}

/// A file the client needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    pub source: Source,
    pub path: String,
    /// The most bytes it may have.
    pub max_length: u64,
}

/// A target found in trusted metadata.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TargetInfo {
    pub path: String,
    /// Its path under the repository's targets URL (hash-prefixed when the
    /// repository uses consistent snapshots).
    pub remote_path: String,
    /// A file name for it in a local target store.
    pub local_name: String,
    pub length: u64,
}

/// What the client needs or has found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// Fetch this file and pass it to [`Client::deliver`].
    Fetch(Request),
    /// The top-level metadata is current (no target was asked for).
    Ready,
    /// The target asked for, with where to download it.
    Found(TargetInfo),
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Phase {
    LocalRoot,
    NextRoot {
        rotations: u64,
    },
    LocalTimestamp,
    RemoteTimestamp,
    LocalSnapshot,
    RemoteSnapshot,
    /// `targets` (delegator `root`) or a delegated role.
    LocalTargets {
        role: String,
        delegator: String,
    },
    RemoteTargets {
        role: String,
        delegator: String,
    },
    Ready,
    /// A refresh failed: the client answers nothing more.
    Failed(TufError),
}

/// One TUF client session.
#[derive(Clone, Debug)]
pub struct Client {
    now: i64,
    /// Only the local store: nothing is asked of the repository, and every
    /// local file must be current.
    offline: bool,
    phase: Phase,
    set: Option<TrustedSet>,
    /// Targets found by `next`, for `check_target`.
    found: Vec<(String, TargetFile)>,
}

impl Client {
    /// A session at `now` (seconds since the Unix epoch). An `offline`
    /// session asks only for local files, and fails when one is missing,
    /// refused or expired, instead of fetching a newer one.
    pub fn new(now: i64, offline: bool) -> Self {
        Self {
            now,
            offline,
            phase: Phase::LocalRoot,
            set: None,
            found: Vec::new(),
        }
    }

    /// The trusted metadata so far (after the local root is read).
    pub fn trusted(&self) -> Option<&TrustedSet> {
        self.set.as_ref()
    }

    /// When the trusted metadata stops being current: the earliest expiry
    /// of the four top-level roles. None until all four are trusted.
    pub fn expires(&self) -> Option<i64> {
        let set = self.set.as_ref()?;
        let expiries = [
            Some(set.root().common.expires),
            set.timestamp().map(|t| t.common.expires),
            set.snapshot().map(|s| s.common.expires),
            set.targets("targets").map(|(t, _)| t.common.expires),
        ];
        expiries
            .into_iter()
            .try_fold(i64::MAX, |min, e| Some(min.min(e?)))
    }

    /// What to do next. With `target`, once the metadata is current, the
    /// lookup of that target path: more files to fetch, then `Found`, or
    /// an `UnknownTarget` error.
    pub fn next(&mut self, target: Option<&str>) -> Result<Step, TufError> {
        let set = self.set.as_ref();
        let request = match (&self.phase, set) {
            (Phase::Failed(e), _) => return Err(e.clone()),
            (Phase::LocalRoot, _) => local("root.json", limits::ROOT),
            (Phase::NextRoot { .. }, Some(set)) => remote(
                format!("{}.root.json", set.root().common.version + 1),
                limits::ROOT,
            ),
            (Phase::LocalTimestamp, _) => local("timestamp.json", limits::TIMESTAMP),
            (Phase::RemoteTimestamp, _) => remote("timestamp.json".into(), limits::TIMESTAMP),
            (Phase::LocalSnapshot, _) => local("snapshot.json", limits::SNAPSHOT),
            (Phase::RemoteSnapshot, Some(set)) => {
                let meta = set
                    .timestamp()
                    .map(|t| t.snapshot.clone())
                    .ok_or(TufError::OutOfOrder("snapshot before timestamp"))?;
                let path = if set.root().consistent_snapshot {
                    format!("{}.snapshot.json", meta.version)
                } else {
                    "snapshot.json".into()
                };
                remote(path, meta.length.unwrap_or(limits::SNAPSHOT))
            }
            (Phase::LocalTargets { role, .. }, _) => {
                local(&format!("{}.json", quote(role)), limits::TARGETS)
            }
            (Phase::RemoteTargets { role, .. }, Some(set)) => {
                let meta = set
                    .snapshot()
                    .and_then(|s| s.meta.get(&format!("{role}.json")))
                    .cloned()
                    .ok_or_else(|| TufError::NotInSnapshot(role.clone()));
                let meta = match meta {
                    Ok(meta) => meta,
                    Err(e) => return Err(self.fail(e)),
                };
                let path = if set.root().consistent_snapshot {
                    format!("{}.{}.json", meta.version, quote(role))
                } else {
                    format!("{}.json", quote(role))
                };
                remote(path, meta.length.unwrap_or(limits::TARGETS))
            }
            (Phase::Ready, Some(set)) => {
                let Some(path) = target else {
                    return Ok(Step::Ready);
                };
                return match search(set, path) {
                    Search::Found(file) => {
                        let info = target_info(set.root().consistent_snapshot, path, &file);
                        self.found.push((path.to_owned(), file));
                        Ok(Step::Found(info))
                    }
                    Search::Missing => Err(TufError::UnknownTarget(path.to_owned())),
                    Search::Load { role, delegator } => {
                        self.phase = Phase::LocalTargets { role, delegator };
                        self.next(target)
                    }
                };
            }
            (_, None) => return Err(TufError::OutOfOrder("no trusted root yet")),
        };
        Ok(Step::Fetch(request))
    }

    /// Takes the file last asked for: its bytes, or none when it does not
    /// exist. Returns the local file name to keep it under, when it is to be
    /// kept. An error ends the session.
    pub fn deliver(&mut self, body: Option<&[u8]>) -> Result<Option<String>, TufError> {
        match self.take(body) {
            Ok(keep) => Ok(keep),
            Err(e) => Err(self.fail(e)),
        }
    }

    /// Checks a downloaded (or cached) target against the length and hashes
    /// of the trusted metadata that `next` found it in.
    pub fn check_target(&self, path: &str, body: &[u8]) -> Result<(), TufError> {
        let (_, file) = self
            .found
            .iter()
            .find(|(p, _)| p == path)
            .ok_or_else(|| TufError::UnknownTarget(path.to_owned()))?;
        check_length_and_hashes(path, body, Some(file.length), Some(&file.hashes))
    }

    fn fail(&mut self, error: TufError) -> TufError {
        self.phase = Phase::Failed(error.clone());
        error
    }

    fn take(&mut self, body: Option<&[u8]>) -> Result<Option<String>, TufError> {
        let limit = match self.next(None) {
            Ok(Step::Fetch(request)) => request,
            Ok(_) => {
                return Err(TufError::OutOfOrder(
                    "a file delivered that was not asked for",
                ));
            }
            Err(e) => return Err(e),
        };
        if let Some(bytes) = body
            && bytes.len() as u64 > limit.max_length
        {
            let error = TufError::TooLarge {
                what: limit.path.clone(),
                limit: limit.max_length,
            };
            if limit.source == Source::Local {
                // A bad local file is as good as none.
                return self.take(None);
            }
            return Err(error);
        }
        let phase = std::mem::replace(&mut self.phase, Phase::Ready);
        let missing = || TufError::Missing(limit.path.clone());
        let (next, keep) = match phase {
            Phase::LocalRoot => {
                let bytes = body.ok_or_else(missing)?;
                self.set = Some(TrustedSet::new(bytes, self.now)?);
                if self.offline {
                    self.set_mut()?.check_root_current()?;
                    (Phase::LocalTimestamp, None)
                } else {
                    (Phase::NextRoot { rotations: 0 }, None)
                }
            }
            Phase::NextRoot { rotations } => {
                let set = self.set_mut()?;
                match body {
                    None => {
                        set.check_root_current()?;
                        (Phase::LocalTimestamp, None)
                    }
                    Some(bytes) => {
                        set.update_root(bytes)?;
                        let next = if rotations + 1 >= limits::ROOT_ROTATIONS {
                            set.check_root_current()?;
                            Phase::LocalTimestamp
                        } else {
                            Phase::NextRoot {
                                rotations: rotations + 1,
                            }
                        };
                        (next, Some("root.json".to_owned()))
                    }
                }
            }
            Phase::LocalTimestamp => {
                let taken = match body {
                    // A local timestamp that fails still serves rollback
                    // checks when it was taken before failing (expired).
                    Some(bytes) => self.set_mut()?.update_timestamp(bytes).map(|_| ()),
                    None => Err(missing()),
                };
                if self.offline {
                    taken?;
                    (Phase::LocalSnapshot, None)
                } else {
                    (Phase::RemoteTimestamp, None)
                }
            }
            Phase::RemoteTimestamp => {
                let bytes = body.ok_or_else(missing)?;
                let changed = self.set_mut()?.update_timestamp(bytes)?;
                (
                    Phase::LocalSnapshot,
                    changed.then(|| "timestamp.json".to_owned()),
                )
            }
            Phase::LocalSnapshot => {
                let taken = match body {
                    Some(bytes) => self.set_mut()?.update_snapshot(bytes, true),
                    None => Err(missing()),
                };
                if self.offline {
                    taken.clone()?;
                }
                let next = if taken.is_ok() {
                    targets_phase()
                } else {
                    Phase::RemoteSnapshot
                };
                (next, None)
            }
            Phase::RemoteSnapshot => {
                let bytes = body.ok_or_else(missing)?;
                self.set_mut()?.update_snapshot(bytes, false)?;
                (targets_phase(), Some("snapshot.json".to_owned()))
            }
            Phase::LocalTargets { role, delegator } => {
                let set = self.set_mut()?;
                set.forget_targets(&role);
                let taken = match body {
                    Some(bytes) => set.update_targets(&role, &delegator, bytes, true),
                    None => Err(missing()),
                };
                if self.offline {
                    taken.clone()?;
                }
                if taken.is_ok() {
                    (Phase::Ready, None)
                } else {
                    (Phase::RemoteTargets { role, delegator }, None)
                }
            }
            Phase::RemoteTargets { role, delegator } => {
                let bytes = body.ok_or_else(missing)?;
                self.set_mut()?
                    .update_targets(&role, &delegator, bytes, false)?;
                (Phase::Ready, Some(format!("{}.json", quote(&role))))
            }
            Phase::Ready | Phase::Failed(_) => {
                return Err(TufError::OutOfOrder(
                    "a file delivered that was not asked for",
                ));
            }
        };
        self.phase = next;
        Ok(keep)
    }

    fn set_mut(&mut self) -> Result<&mut TrustedSet, TufError> {
        self.set
            .as_mut()
            .ok_or(TufError::OutOfOrder("no trusted root yet"))
    }
}

fn targets_phase() -> Phase {
    Phase::LocalTargets {
        role: "targets".into(),
        delegator: "root".into(),
    }
}

fn local(path: &str, max_length: u64) -> Request {
    Request {
        source: Source::Local,
        path: path.to_owned(),
        max_length,
    }
}

fn remote(path: String, max_length: u64) -> Request {
    Request {
        source: Source::Remote,
        path,
        max_length,
    }
}

enum Search {
    Found(TargetFile),
    Missing,
    /// This role must be loaded (or loaded again, under this delegator).
    Load {
        role: String,
        delegator: String,
    },
}

/// Pre-order depth-first search of the delegations for `path` (§5.6.7),
/// over the roles loaded so far. At most `limits::DELEGATIONS` roles.
fn search(set: &TrustedSet, path: &str) -> Search {
    let mut stack = vec![("targets".to_owned(), "root".to_owned())];
    let mut visited = BTreeSet::new();
    while visited.len() <= limits::DELEGATIONS {
        let Some((role, delegator)) = stack.pop() else {
            break;
        };
        if visited.contains(&role) {
            continue;
        }
        let targets = match set.targets(&role) {
            Some((targets, by)) if *by == delegator => targets,
            _ => return Search::Load { role, delegator },
        };
        if let Some(file) = targets.targets.get(path) {
            return Search::Found(file.clone());
        }
        let mut children = Vec::new();
        if let Some(delegations) = &targets.delegations {
            for child in &delegations.roles {
                if delegation::covers(child, path) {
                    children.push((child.name.clone(), role.clone()));
                    if child.terminating {
                        stack.clear();
                        break;
                    }
                }
            }
        }
        visited.insert(role);
        stack.extend(children.into_iter().rev());
    }
    Search::Missing
}

fn target_info(consistent: bool, path: &str, file: &TargetFile) -> TargetInfo {
    let remote_path = match file
        .hashes
        .get("sha256")
        .or_else(|| file.hashes.values().next())
    {
        Some(hash) if consistent => match path.rsplit_once('/') {
            Some((dir, name)) => format!("{dir}/{hash}.{name}"),
            None => format!("{hash}.{path}"),
        },
        _ => path.to_owned(),
    };
    TargetInfo {
        path: path.to_owned(),
        remote_path,
        local_name: quote(path),
        length: file.length,
    }
}
