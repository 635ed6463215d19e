//! ECDSA verification for keys fixed for the life of a trusted root (log
//! keys, CT log keys, CA keys), with their multiples precomputed.
//!
//! Verification computes `u1·G + u2·Q`. With a table of `Q`'s multiples by
//! every power of 256 (and the same for `G`), both products are sums of
//! table entries: no point doublings, which are most of the cost otherwise.
//! The tables and the radix-16 digits are `primeorder`'s own types, and every
//! step is the group arithmetic of the curve crates: this module only
//! arranges the same equation `ecdsa::hazmat::verify_prehashed` solves.

use std::sync::{Arc, OnceLock};

use elliptic_curve::group::Group as _;
use elliptic_curve::ops::{Invert as _, Reduce};
use elliptic_curve::point::AffineCoordinates as _;
use primeorder::{
    FieldBytes, LookupTable, PrimeCurveParams, ProjectivePoint, Radix16Decomposition,
    Radix16Digits, Scalar,
};

use crate::public_key::{HashAlgorithm, PublicKey, SignatureError};

/// `table[i]` holds `1..=8` times `P·256^i`.
struct Table<C: PrimeCurveParams>(Vec<LookupTable<ProjectivePoint<C>>>);

impl<C: PrimeCurveParams> Table<C> {
    fn new(mut point: ProjectivePoint<C>, field_bytes: usize) -> Self {
        let mut tables = Vec::with_capacity(field_bytes + 1);
        for _ in 0..=field_bytes {
            tables.push(LookupTable::new(point));
            for _ in 0..8 {
                point = point.double();
            }
        }
        Self(tables)
    }

    /// `k·P`, from the signed radix-16 digits of `k`, in variable time
    /// (verification handles no secrets).
    fn mul_vartime(&self, k: &Scalar<C>, field_bytes: usize) -> Option<ProjectivePoint<C>> {
        let digits = Radix16Decomposition::<Radix16Digits<C>>::new(k);
        let mut even = self
            .0
            .get(field_bytes)?
            .select_vartime(digits[field_bytes * 2]);
        let mut odd = ProjectivePoint::<C>::IDENTITY;
        for i in (0..field_bytes).rev() {
            let table = self.0.get(i)?;
            odd += &table.select_vartime(digits[i * 2 + 1]);
            even += &table.select_vartime(digits[i * 2]);
        }
        for _ in 0..4 {
            odd = odd.double();
        }
        Some(even + odd)
    }
}

// The two curves differ only in their types; one body serves both.
macro_rules! prepared {
    ($name:ident, $curve:ident, $point:ty, $scalar:ty, $bytes:expr) => {
        struct $name {
            q: Table<$curve>,
        }

        impl $name {
            fn generator() -> &'static Table<$curve> {
                static TABLE: OnceLock<Table<$curve>> = OnceLock::new();
                TABLE.get_or_init(|| Table::new(<$point>::GENERATOR, $bytes))
            }

            fn new(q: $point) -> Self {
                Self {
                    q: Table::new(q, $bytes),
                }
            }

            /// The equation of `ecdsa::hazmat::verify_prehashed`, with
            /// tables. `None` when the signature is not DER with r and s in
            /// [1, n-1] (the checks of `from_der`).
            fn verify(&self, digest: &[u8], signature: &[u8]) -> Option<bool> {
                type Signature = ecdsa::Signature<$curve>;
                let signature = Signature::from_der(signature).ok()?;
                let (r, s) = signature.split_scalars();
                let z = <$scalar as Reduce<FieldBytes<$curve>>>::reduce(&field_bytes::<$curve>(
                    digest, $bytes,
                ));
                let s_inv = *s.invert_vartime();
                let u1 = z * s_inv;
                let u2 = *r * s_inv;
                let a = Self::generator().mul_vartime(&u1, $bytes)?;
                let b = self.q.mul_vartime(&u2, $bytes)?;
                // The identity's x is zero, which no r equals.
                let x = (a + b).to_affine().x();
                Some(<$scalar as Reduce<FieldBytes<$curve>>>::reduce(&x) == *r)
            }
        }
    };
}

use p256::NistP256;
use p384::NistP384;

prepared!(P256Key, NistP256, p256::ProjectivePoint, p256::Scalar, 32);
prepared!(P384Key, NistP384, p384::ProjectivePoint, p384::Scalar, 48);

/// A digest as ECDSA takes it: its leftmost bytes, as many as the order
/// has (both curves' orders are whole bytes), left-padded if shorter.
fn field_bytes<C: PrimeCurveParams>(digest: &[u8], len: usize) -> FieldBytes<C> {
    let mut out = FieldBytes::<C>::default();
    let take = digest.len().min(len);
    out[len - take..].copy_from_slice(&digest[..take]);
    out
}

/// A trusted ECDSA key with precomputed multiples; other keys have none.
pub struct PreparedKey(Prepared);

enum Prepared {
    P256(Box<P256Key>),
    P384(Box<P384Key>),
}

impl std::fmt::Debug for PreparedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self.0 {
            Prepared::P256(_) => "PreparedKey(P-256)",
            Prepared::P384(_) => "PreparedKey(P-384)",
        })
    }
}

impl PreparedKey {
    /// Tables for an ECDSA P-256 or P-384 key; none for other keys.
    pub fn new(key: &PublicKey) -> Option<Self> {
        match key {
            PublicKey::P256(k) => Some(Self(Prepared::P256(Box::new(P256Key::new(
                k.as_affine().into(),
            ))))),
            PublicKey::P384(k) => Some(Self(Prepared::P384(Box::new(P384Key::new(
                k.as_affine().into(),
            ))))),
            _ => None,
        }
    }

    /// The key's kind, for messages.
    pub fn algorithm(&self) -> &'static str {
        match self.0 {
            Prepared::P256(_) => "ECDSA P-256",
            Prepared::P384(_) => "ECDSA P-384",
        }
    }

    /// Verifies a DER signature over `message` hashed with `hash`, as
    /// [`PublicKey::verify_with_hash`] does.
    pub fn verify_with_hash(
        &self,
        message: &[u8],
        signature: &[u8],
        hash: HashAlgorithm,
    ) -> Result<(), SignatureError> {
        let digest = hash.digest(message);
        let algorithm = self.algorithm();
        let verified = match &self.0 {
            Prepared::P256(k) => k.verify(&digest, signature),
            Prepared::P384(k) => k.verify(&digest, signature),
        };
        match verified {
            Some(true) => Ok(()),
            Some(false) => Err(SignatureError::Mismatch { algorithm }),
            None => Err(SignatureError::Malformed { algorithm }),
        }
    }
}

/// A trusted key's tables, built the first time the key verifies: building
/// them costs about as much as one verification, so a key never used (or
/// used once, as in a one-shot CLI run) should not pay for them up front.
#[derive(Clone, Debug, Default)]
pub struct LazyTables(Arc<OnceLock<Option<PreparedKey>>>);

impl LazyTables {
    /// The tables, built by `build` on first use; `None` for keys that get
    /// none (not ECDSA P-256 or P-384).
    pub fn get_or_build(
        &self,
        build: impl FnOnce() -> Option<PreparedKey>,
    ) -> Option<&PreparedKey> {
        self.0.get_or_init(build).as_ref()
    }
}
