//! Proves that a threshold of a role's keys signed a metadata file.
//!
//! Each key counts once: keyids in a role are unique (checked when it is
//! read) and so are keyids in `signatures` (checked in `Envelope::parse`).
//! A signature that does not verify is ignored, as one by an unknown key is.

use std::collections::BTreeMap;

use super::TufError;
use super::key::Key;
use super::metadata::{Envelope, RoleKeys};

/// Checks that `envelope` carries valid signatures by at least
/// `role.threshold` of `role.keyids`, keys looked up in `keys`.
pub fn verify(
    role_name: &str,
    envelope: &Envelope,
    role: &RoleKeys,
    keys: &BTreeMap<String, Key>,
    signer: &str,
) -> Result<(), TufError> {
    let valid = role
        .keyids
        .iter()
        .filter(|id| {
            let Some(key) = keys.get(*id) else {
                return false;
            };
            envelope
                .signatures
                .iter()
                .find(|(keyid, _)| keyid == *id)
                .is_some_and(|(_, sig)| key.verifies(&envelope.canonical, sig))
        })
        .count() as u64;
    if valid < role.threshold {
        return Err(TufError::Threshold {
            role: role_name.to_owned(),
            signer: signer.to_owned(),
            valid,
            threshold: role.threshold,
        });
    }
    Ok(())
}
