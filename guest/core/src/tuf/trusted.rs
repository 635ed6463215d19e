//! The metadata a client trusts, and the checks that let new metadata join
//! it (TUF specification §5.3 to §5.6): signatures by the right role's keys,
//! versions that never go back, expiry, and the length and hashes the
//! referring role gives.
//!
//! Roles are updated in order (root, timestamp, snapshot, targets, then
//! delegated targets); an update out of order is refused.

use std::collections::BTreeMap;

use super::TufError;
use super::metadata::{
    self, Envelope, MetaFile, RoleKeys, RoleType, Root, Snapshot, Targets, Timestamp,
};
use super::threshold;
use crate::hex;

/// The trusted metadata, as of `now`.
#[derive(Clone, Debug)]
pub struct TrustedSet {
    now: i64,
    root: Root,
    timestamp: Option<Timestamp>,
    snapshot: Option<Snapshot>,
    /// `targets` and the delegated roles loaded so far, with the role that
    /// delegated each (`root` for `targets`).
    targets: BTreeMap<String, (Targets, String)>,
}

impl TrustedSet {
    /// Starts from a trusted root, which must be signed by its own threshold.
    /// It may be expired: a newer root may follow.
    pub fn new(root: &[u8], now: i64) -> Result<Self, TufError> {
        let envelope = Envelope::parse(root, RoleType::Root)?;
        let root: Root = metadata::read(&envelope)?;
        threshold::verify(
            "root",
            &envelope,
            role_keys(&root, "root")?,
            &root.keys,
            "root",
        )?;
        Ok(Self {
            now,
            root,
            timestamp: None,
            snapshot: None,
            targets: BTreeMap::new(),
        })
    }

    pub fn root(&self) -> &Root {
        &self.root
    }

    pub fn timestamp(&self) -> Option<&Timestamp> {
        self.timestamp.as_ref()
    }

    pub fn snapshot(&self) -> Option<&Snapshot> {
        self.snapshot.as_ref()
    }

    /// A targets role loaded so far, and the role that delegated it.
    pub fn targets(&self, role: &str) -> Option<&(Targets, String)> {
        self.targets.get(role)
    }

    /// Replaces the root with the next version (§5.3): signed by the
    /// trusted root's threshold and by its own, version one more.
    pub fn update_root(&mut self, bytes: &[u8]) -> Result<(), TufError> {
        if self.timestamp.is_some() {
            return Err(TufError::OutOfOrder("root after timestamp"));
        }
        let envelope = Envelope::parse(bytes, RoleType::Root)?;
        let new: Root = metadata::read(&envelope)?;
        threshold::verify(
            "root",
            &envelope,
            role_keys(&self.root, "root")?,
            &self.root.keys,
            &format!("root v{}", self.root.common.version),
        )?;
        let expected = self.root.common.version + 1;
        if new.common.version != expected {
            return Err(TufError::Version {
                role: "root".into(),
                expected: format!("{expected}"),
                found: new.common.version,
            });
        }
        threshold::verify(
            "root",
            &envelope,
            role_keys(&new, "root")?,
            &new.keys,
            &format!("root v{} itself", new.common.version),
        )?;
        self.root = new;
        Ok(())
    }

    /// Takes a new timestamp (§5.4). A version equal to the trusted one is
    /// `Ok(false)`: nothing changes. The new timestamp stays trusted (for
    /// rollback checks) even when it then turns out to be expired.
    pub fn update_timestamp(&mut self, bytes: &[u8]) -> Result<bool, TufError> {
        if self.snapshot.is_some() {
            return Err(TufError::OutOfOrder("timestamp after snapshot"));
        }
        self.check_not_expired("root", self.root.common.expires)?;
        let envelope = Envelope::parse(bytes, RoleType::Timestamp)?;
        let new: Timestamp = metadata::read(&envelope)?;
        self.verify_top_level("timestamp", &envelope)?;
        if let Some(old) = &self.timestamp {
            if new.common.version < old.common.version {
                return Err(TufError::Rollback {
                    role: "timestamp".into(),
                    trusted: old.common.version,
                    found: new.common.version,
                });
            }
            if new.common.version == old.common.version {
                return Ok(false);
            }
            if new.snapshot.version < old.snapshot.version {
                return Err(TufError::Rollback {
                    role: "snapshot (in timestamp)".into(),
                    trusted: old.snapshot.version,
                    found: new.snapshot.version,
                });
            }
        }
        let expires = new.common.expires;
        self.timestamp = Some(new);
        self.check_not_expired("timestamp", expires)?;
        Ok(true)
    }

    /// Takes a new snapshot (§5.5). `from_cache` skips the length and hashes
    /// the timestamp gives (they were checked when it was first taken). The
    /// new snapshot stays trusted for rollback checks even when it then turns
    /// out to be expired or not the version the timestamp names.
    pub fn update_snapshot(&mut self, bytes: &[u8], from_cache: bool) -> Result<(), TufError> {
        if !self.targets.is_empty() {
            return Err(TufError::OutOfOrder("snapshot after targets"));
        }
        let Some(timestamp) = &self.timestamp else {
            return Err(TufError::OutOfOrder("snapshot before timestamp"));
        };
        self.check_not_expired("timestamp", timestamp.common.expires)?;
        let meta = timestamp.snapshot.clone();
        if !from_cache {
            check_length_and_hashes("snapshot", bytes, meta.length, meta.hashes.as_ref())?;
        }
        let envelope = Envelope::parse(bytes, RoleType::Snapshot)?;
        let new: Snapshot = metadata::read(&envelope)?;
        self.verify_top_level("snapshot", &envelope)?;
        if let Some(old) = &self.snapshot {
            for (name, file) in &old.meta {
                let Some(now) = new.meta.get(name) else {
                    return Err(TufError::Removed(name.clone()));
                };
                if now.version < file.version {
                    return Err(TufError::Rollback {
                        role: format!("{name} (in snapshot)"),
                        trusted: file.version,
                        found: now.version,
                    });
                }
            }
        }
        let (version, expires) = (new.common.version, new.common.expires);
        self.snapshot = Some(new);
        self.check_not_expired("snapshot", expires)?;
        if version != meta.version {
            return Err(TufError::Version {
                role: "snapshot".into(),
                expected: format!("{} (as the timestamp says)", meta.version),
                found: version,
            });
        }
        Ok(())
    }

    /// Takes `targets` (delegator `root`) or a delegated targets role (§5.6).
    pub fn update_targets(
        &mut self,
        role: &str,
        delegator: &str,
        bytes: &[u8],
        from_cache: bool,
    ) -> Result<(), TufError> {
        let Some(snapshot) = &self.snapshot else {
            return Err(TufError::OutOfOrder("targets before snapshot"));
        };
        self.check_not_expired("snapshot", snapshot.common.expires)?;
        if let Some(timestamp) = &self.timestamp
            && snapshot.common.version != timestamp.snapshot.version
        {
            return Err(TufError::OutOfOrder(
                "targets under a snapshot the timestamp does not name",
            ));
        }
        let file = format!("{role}.json");
        let meta: MetaFile = snapshot
            .meta
            .get(&file)
            .cloned()
            .ok_or_else(|| TufError::NotInSnapshot(role.to_owned()))?;
        if !from_cache {
            check_length_and_hashes(role, bytes, meta.length, meta.hashes.as_ref())?;
        }
        let envelope = Envelope::parse(bytes, RoleType::Targets)?;
        let new: Targets = metadata::read(&envelope)?;
        if delegator == "root" {
            self.verify_top_level("targets", &envelope)?;
        } else {
            let (parent, _) = self.targets.get(delegator).ok_or(TufError::OutOfOrder(
                "a delegated role before its delegator",
            ))?;
            let delegations = parent
                .delegations
                .as_ref()
                .ok_or_else(|| TufError::NotDelegated(role.to_owned(), delegator.to_owned()))?;
            let delegated = delegations
                .roles
                .iter()
                .find(|r| r.name == role)
                .ok_or_else(|| TufError::NotDelegated(role.to_owned(), delegator.to_owned()))?;
            threshold::verify(
                role,
                &envelope,
                &delegated.keys,
                &delegations.keys,
                delegator,
            )?;
        }
        if new.common.version != meta.version {
            return Err(TufError::Version {
                role: role.to_owned(),
                expected: format!("{} (as the snapshot says)", meta.version),
                found: new.common.version,
            });
        }
        self.check_not_expired(role, new.common.expires)?;
        self.targets
            .insert(role.to_owned(), (new, delegator.to_owned()));
        Ok(())
    }

    /// Forgets a delegated role, so that it is verified again under another
    /// delegator.
    pub fn forget_targets(&mut self, role: &str) {
        if role != "targets" {
            self.targets.remove(role);
        }
    }

    fn verify_top_level(&self, role: &str, envelope: &Envelope) -> Result<(), TufError> {
        threshold::verify(
            role,
            envelope,
            role_keys(&self.root, role)?,
            &self.root.keys,
            &format!("root v{}", self.root.common.version),
        )
    }

    fn check_not_expired(&self, role: &str, expires: i64) -> Result<(), TufError> {
        if expires <= self.now {
            return Err(TufError::Expired {
                role: role.to_owned(),
                expires,
                now: self.now,
            });
        }
        Ok(())
    }

    /// Whether the trusted root has expired (the final check of the root update).
    pub fn check_root_current(&self) -> Result<(), TufError> {
        self.check_not_expired("root", self.root.common.expires)
    }
}

fn role_keys<'a>(root: &'a Root, role: &str) -> Result<&'a RoleKeys, TufError> {
    root.roles.get(role).ok_or_else(|| TufError::Malformed {
        role: "root",
        reason: format!("no `{role}` role"),
    })
}

/// Checks a file against the length and hashes its referrer gives, when it
/// gives them. Every hash given must match; an algorithm this client does
/// not know fails.
pub fn check_length_and_hashes(
    what: &str,
    bytes: &[u8],
    length: Option<u64>,
    hashes: Option<&BTreeMap<String, String>>,
) -> Result<(), TufError> {
    if let Some(length) = length
        && bytes.len() as u64 != length
    {
        return Err(TufError::Length {
            what: what.to_owned(),
            expected: length,
            found: bytes.len() as u64,
        });
    }
    for (algorithm, expected) in hashes.into_iter().flatten() {
        use sha2::Digest;
        let found = match algorithm.as_str() {
            "sha256" => hex::encode(&sha2::Sha256::digest(bytes)),
            "sha384" => hex::encode(&sha2::Sha384::digest(bytes)),
            "sha512" => hex::encode(&sha2::Sha512::digest(bytes)),
            other => {
                return Err(TufError::UnknownHash {
                    what: what.to_owned(),
                    algorithm: other.to_owned(),
                });
            }
        };
        if !found.eq_ignore_ascii_case(expected) {
            return Err(TufError::Hash {
                what: what.to_owned(),
                algorithm: algorithm.clone(),
                expected: expected.clone(),
                found,
            });
        }
    }
    Ok(())
}
