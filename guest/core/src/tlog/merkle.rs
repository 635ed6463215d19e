//! RFC 6962 / RFC 9162 Merkle tree hashing and inclusion proofs.

use sha2::{Digest, Sha256};

use crate::hex;

/// A SHA-256 Merkle tree node.
pub type Hash = [u8; 32];

/// Longest proof a tree of 2^64 leaves can need.
const MAX_PROOF_HASHES: usize = 64;

/// Why an inclusion proof does not hold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InclusionError {
    IndexOutOfRange { index: u64, tree_size: u64 },
    ProofTooLong { hashes: usize },
    WrongProofLength { expected: usize, found: usize },
    RootMismatch { expected: String, computed: String },
}

impl std::fmt::Display for InclusionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::IndexOutOfRange { index, tree_size } => {
                write!(
                    f,
                    "leaf index {index} is outside a tree of size {tree_size}"
                )
            }
            Self::ProofTooLong { hashes } => {
                write!(f, "proof of {hashes} hashes, at most {MAX_PROOF_HASHES}")
            }
            Self::WrongProofLength { expected, found } => write!(
                f,
                "expected a proof of {expected} hashes for this index and tree size, got {found}"
            ),
            Self::RootMismatch { expected, computed } => write!(
                f,
                "expected root hash {expected}, the proof computes {computed}"
            ),
        }
    }
}

impl std::error::Error for InclusionError {}

/// `SHA-256(0x00 || leaf)`
pub fn leaf_hash(leaf: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(leaf);
    h.finalize().into()
}

/// `SHA-256(0x01 || left || right)`
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// Checks that `leaf` sits at `index` in the tree of `tree_size` leaves whose
/// root is `root` (RFC 9162 §2.1.3.2).
pub fn verify_inclusion(
    leaf: &Hash,
    index: u64,
    tree_size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), InclusionError> {
    if index >= tree_size {
        return Err(InclusionError::IndexOutOfRange { index, tree_size });
    }
    if proof.len() > MAX_PROOF_HASHES {
        return Err(InclusionError::ProofTooLong {
            hashes: proof.len(),
        });
    }
    let expected = expected_length(index, tree_size);
    if proof.len() != expected {
        return Err(InclusionError::WrongProofLength {
            expected,
            found: proof.len(),
        });
    }
    let (mut node, mut last) = (index, tree_size - 1);
    let mut hash = *leaf;
    for sibling in proof {
        if node & 1 == 1 || node == last {
            hash = node_hash(sibling, &hash);
            if node & 1 == 0 {
                while node & 1 == 0 && node != 0 {
                    node >>= 1;
                    last >>= 1;
                }
            }
        } else {
            hash = node_hash(&hash, sibling);
        }
        node >>= 1;
        last >>= 1;
    }
    if &hash != root {
        return Err(InclusionError::RootMismatch {
            expected: hex::encode(root),
            computed: hex::encode(&hash),
        });
    }
    Ok(())
}

/// How many hashes the proof for `index` in a tree of `tree_size` holds: the
/// levels below the point where the paths to the leaf and to the last leaf
/// part, plus the left-hand siblings above it.
fn expected_length(index: u64, tree_size: u64) -> usize {
    let inner = u64::BITS - (index ^ (tree_size - 1)).leading_zeros();
    let border = (index >> inner).count_ones();
    (inner + border) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The tree of `leaves`, built the slow, obvious way (RFC 6962 §2.1).
    fn root_of(leaves: &[Hash]) -> Hash {
        match leaves.len() {
            1 => leaves[0],
            n => {
                let k = n.next_power_of_two() / 2;
                let k = if k == n { n / 2 } else { k };
                node_hash(&root_of(&leaves[..k]), &root_of(&leaves[k..]))
            }
        }
    }

    fn proof_of(leaves: &[Hash], index: usize) -> Vec<Hash> {
        if leaves.len() == 1 {
            return vec![];
        }
        let n = leaves.len();
        let k = n.next_power_of_two() / 2;
        let k = if k == n { n / 2 } else { k };
        if index < k {
            let mut p = proof_of(&leaves[..k], index);
            p.push(root_of(&leaves[k..]));
            p
        } else {
            let mut p = proof_of(&leaves[k..], index - k);
            p.push(root_of(&leaves[..k]));
            p
        }
    }

    #[test]
    fn every_leaf_of_every_small_tree_verifies_and_tampering_fails() {
        for size in 1..40usize {
            let leaves: Vec<Hash> = (0..size).map(|i| leaf_hash(&i.to_be_bytes())).collect();
            let root = root_of(&leaves);
            for index in 0..size {
                let proof = proof_of(&leaves, index);
                assert_eq!(expected_length(index as u64, size as u64), proof.len());
                let ok = verify_inclusion(&leaves[index], index as u64, size as u64, &proof, &root);
                assert_eq!(ok, Ok(()), "size {size} index {index}");
                for i in 0..proof.len() {
                    let mut bad = proof.clone();
                    bad[i][0] ^= 1;
                    assert!(
                        verify_inclusion(&leaves[index], index as u64, size as u64, &bad, &root)
                            .is_err()
                    );
                }
                let other = (index + 1) % size;
                if other != index {
                    assert!(
                        verify_inclusion(&leaves[index], other as u64, size as u64, &proof, &root)
                            .is_err()
                    );
                }
                let mut longer = proof.clone();
                longer.push(root);
                assert!(
                    verify_inclusion(&leaves[index], index as u64, size as u64, &longer, &root)
                        .is_err()
                );
            }
        }
    }
}
