//! TUF public keys (`{"keytype", "scheme", "keyval": {"public"}}`) and the
//! signature schemes the specification and its users name.
//!
//! A key of a type or scheme this client does not know still loads: its
//! signatures just never count towards a threshold (as in python-tuf).

use serde_json::Value;

use crate::hex;
use crate::public_key::{HashAlgorithm, PublicKey};

/// A signature scheme: how a key signs the canonical bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scheme {
    Ed25519,
    /// ECDSA over the curve of the key, hashed with this, signature ASN.1 DER.
    Ecdsa(HashAlgorithm),
    RsaPss(HashAlgorithm),
    RsaPkcs1v15(HashAlgorithm),
}

/// A key as a role's metadata lists it.
#[derive(Clone, Debug)]
pub struct Key {
    /// The decoded key and its scheme; none when either is not supported.
    usable: Option<(PublicKey, Scheme)>,
    /// What was read, for messages: `ecdsa/ecdsa-sha2-nistp256`.
    pub kind: String,
}

impl Key {
    /// Reads a key. Only a structurally broken key is an error; an unknown
    /// type or scheme, or a public value that does not decode, gives a key
    /// that verifies nothing.
    pub fn parse(value: &Value) -> Result<Self, String> {
        let field = |name: &str| {
            value
                .get(name)
                .and_then(Value::as_str)
                .ok_or_else(|| format!("`{name}` must be a string"))
        };
        let keytype = field("keytype")?;
        let scheme = field("scheme")?;
        let public = value
            .get("keyval")
            .and_then(|v| v.get("public"))
            .and_then(Value::as_str)
            .ok_or_else(|| "`keyval.public` must be a string".to_owned())?;
        let usable = decode(keytype, scheme, public);
        Ok(Self {
            usable,
            kind: format!("{keytype}/{scheme}"),
        })
    }

    /// Whether `signature` (hex) is this key's signature over `message`.
    pub fn verifies(&self, message: &[u8], signature: &str) -> bool {
        let Some((key, scheme)) = &self.usable else {
            return false;
        };
        let Some(signature) = hex::decode(signature) else {
            return false;
        };
        match (key, scheme) {
            (PublicKey::Ed25519(_), Scheme::Ed25519) => key.verify(message, &signature).is_ok(),
            (PublicKey::P256(_), Scheme::Ecdsa(h @ HashAlgorithm::Sha256))
            | (PublicKey::P384(_), Scheme::Ecdsa(h @ HashAlgorithm::Sha384)) => {
                key.verify_with_hash(message, &signature, *h).is_ok()
            }
            (PublicKey::Rsa(_), Scheme::RsaPkcs1v15(h)) => key
                .verify_pkcs1v15(&h.digest(message), *h, &signature)
                .is_ok(),
            (PublicKey::Rsa(_), Scheme::RsaPss(h)) => {
                key.verify_pss(&h.digest(message), *h, &signature).is_ok()
            }
            _ => false,
        }
    }
}

fn decode(keytype: &str, scheme: &str, public: &str) -> Option<(PublicKey, Scheme)> {
    use HashAlgorithm::{Sha256, Sha384, Sha512};
    let scheme = match scheme {
        "ed25519" => Scheme::Ed25519,
        "ecdsa-sha2-nistp256" => Scheme::Ecdsa(Sha256),
        "ecdsa-sha2-nistp384" => Scheme::Ecdsa(Sha384),
        "rsassa-pss-sha256" => Scheme::RsaPss(Sha256),
        "rsassa-pss-sha384" => Scheme::RsaPss(Sha384),
        "rsassa-pss-sha512" => Scheme::RsaPss(Sha512),
        "rsa-pkcs1v15-sha256" => Scheme::RsaPkcs1v15(Sha256),
        "rsa-pkcs1v15-sha384" => Scheme::RsaPkcs1v15(Sha384),
        "rsa-pkcs1v15-sha512" => Scheme::RsaPkcs1v15(Sha512),
        _ => return None,
    };
    let key = match (keytype, scheme) {
        ("ed25519", Scheme::Ed25519) => {
            let bytes = hex::decode_array::<32>(public)?;
            PublicKey::Ed25519(ed25519_dalek::VerifyingKey::from_bytes(&bytes).ok()?)
        }
        // Sigstore's first roots name the scheme as the type and give the
        // point as hex SEC1; later ones, and securesystemslib, give PEM.
        ("ecdsa" | "ecdsa-sha2-nistp256" | "ecdsa-sha2-nistp384", Scheme::Ecdsa(_)) => {
            if public.trim_start().starts_with("-----BEGIN") {
                PublicKey::from_pem(public).ok()?
            } else {
                let point = hex::decode(public)?;
                match scheme {
                    Scheme::Ecdsa(Sha384) => {
                        PublicKey::P384(p384::ecdsa::VerifyingKey::from_sec1_bytes(&point).ok()?)
                    }
                    _ => PublicKey::P256(p256::ecdsa::VerifyingKey::from_sec1_bytes(&point).ok()?),
                }
            }
        }
        ("rsa", Scheme::RsaPss(_) | Scheme::RsaPkcs1v15(_)) => PublicKey::from_pem(public).ok()?,
        _ => return None,
    };
    Some((key, scheme))
}
