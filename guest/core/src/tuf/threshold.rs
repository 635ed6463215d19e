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
    // Signatures by keyid (unique, so none is lost); verification stops at
    // the threshold, so the work is at most one check per listed key.
    let by_keyid: BTreeMap<&str, &str> = envelope
        .signatures
        .iter()
        .map(|(keyid, sig)| (keyid.as_str(), sig.as_str()))
        .collect();
    let mut valid = 0;
    for id in &role.keyids {
        if valid >= role.threshold {
            break;
        }
        let (Some(key), Some(sig)) = (keys.get(id), by_keyid.get(id.as_str())) else {
            continue;
        };
        if key.verifies(&envelope.canonical, sig) {
            valid += 1;
        }
    }
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
