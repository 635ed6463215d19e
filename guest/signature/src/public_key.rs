//! Public keys given as PEM, as `publicKey.certificate` holds them.
//!
//! Talos accepts `PUBLIC KEY` (SPKI) and `RSA PUBLIC KEY` (PKCS#1). sigward
//! also accepts a `CERTIFICATE` and uses its key (an extension, documented).
//! Keys are fully decoded at load time, so a bad point or modulus is a load
//! error rather than a surprise at verification.

use std::fmt;

use rsa::pkcs1::DecodeRsaPublicKey;
use rsa::traits::PublicKeyParts;
use spki::{DecodePublicKey, ObjectIdentifier, SubjectPublicKeyInfoRef};

/// Evaluates `$body` with `$d` naming the SHA-2 type that `$hash` selects.
macro_rules! with_hash {
    ($hash:expr, $d:ident => $body:expr) => {
        match $hash {
            HashAlgorithm::Sha256 => {
                type $d = sha2::Sha256;
                $body
            }
            HashAlgorithm::Sha384 => {
                type $d = sha2::Sha384;
                $body
            }
            HashAlgorithm::Sha512 => {
                type $d = sha2::Sha512;
                $body
            }
        }
    };
}

/// The smallest RSA modulus accepted, in bits.
const RSA_MIN_BITS: usize = 2048;

const OID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const OID_P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const OID_P384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
const OID_P521: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.35");
const OID_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const OID_RSA_PSS: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.10");
const OID_ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");

/// A decoded verification key.
#[derive(Clone, Debug)]
pub enum PublicKey {
    P256(p256::ecdsa::VerifyingKey),
    P384(p384::ecdsa::VerifyingKey),
    P521(p521::ecdsa::VerifyingKey),
    Rsa(rsa::RsaPublicKey),
    Ed25519(ed25519_dalek::VerifyingKey),
}

/// Why a PEM key was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyError {
    Pem(String),
    UnexpectedLabel(String),
    Spki(String),
    Certificate(String),
    UnsupportedAlgorithm(String),
    UnsupportedCurve(String),
    InvalidKey {
        algorithm: &'static str,
        reason: String,
    },
    RsaTooSmall {
        bits: usize,
    },
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Pem(e) => write!(f, "not a PEM block: {e}"),
            Self::UnexpectedLabel(l) => write!(
                f,
                "expected a PEM `PUBLIC KEY`, `RSA PUBLIC KEY` or `CERTIFICATE`, got `{l}`"
            ),
            Self::Spki(e) => write!(f, "not a SubjectPublicKeyInfo: {e}"),
            Self::Certificate(e) => write!(f, "not an X.509 certificate: {e}"),
            Self::UnsupportedAlgorithm(oid) => write!(
                f,
                "unsupported key algorithm {oid}, expected ECDSA, RSA or Ed25519"
            ),
            Self::UnsupportedCurve(oid) => {
                write!(f, "unsupported curve {oid}, expected P-256, P-384 or P-521")
            }
            Self::InvalidKey { algorithm, reason } => {
                write!(f, "invalid {algorithm} key: {reason}")
            }
            Self::RsaTooSmall { bits } => {
                write!(
                    f,
                    "RSA key of {bits} bits, at least {RSA_MIN_BITS} required"
                )
            }
        }
    }
}

impl std::error::Error for KeyError {}

/// Decodes the first PEM block in `text`, as leniently as Go's `pem.Decode`,
/// which Talos and cosign use: any line length, headers skipped. The base64
/// itself must be valid. Returns the label and the DER.
pub fn decode_pem(text: &str) -> Option<(String, Vec<u8>)> {
    use base64::Engine as _;
    let mut lines = text.lines().map(str::trim);
    let label = lines
        .by_ref()
        .find_map(|l| l.strip_prefix("-----BEGIN ")?.strip_suffix("-----"))?
        .to_owned();
    let end = format!("-----END {label}-----");
    let mut encoded = String::new();
    for line in lines {
        if line == end {
            let der = base64::engine::general_purpose::STANDARD
                .decode(&encoded)
                .ok()?;
            return Some((label, der));
        }
        if !line.contains(':') {
            encoded.push_str(line);
        }
    }
    None
}

/// The hashes signatures here are made over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HashAlgorithm {
    Sha256,
    Sha384,
    Sha512,
}

impl HashAlgorithm {
    /// The name digests carry in messages and OCI digests: `sha256`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Sha256 => "sha256",
            Self::Sha384 => "sha384",
            Self::Sha512 => "sha512",
        }
    }

    /// The name protobuf-specs gives it (`SHA2_256`), as bundles and Rekor v2
    /// entries write it.
    pub fn protobuf_name(self) -> &'static str {
        match self {
            Self::Sha256 => "SHA2_256",
            Self::Sha384 => "SHA2_384",
            Self::Sha512 => "SHA2_512",
        }
    }

    /// The digest's length in bytes.
    pub fn digest_len(self) -> usize {
        match self {
            Self::Sha256 => 32,
            Self::Sha384 => 48,
            Self::Sha512 => 64,
        }
    }

    pub fn digest(self, message: &[u8]) -> Vec<u8> {
        use sha2::Digest;
        match self {
            Self::Sha256 => sha2::Sha256::digest(message).to_vec(),
            Self::Sha384 => sha2::Sha384::digest(message).to_vec(),
            Self::Sha512 => sha2::Sha512::digest(message).to_vec(),
        }
    }
}

/// Why a signature does not verify under a key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SignatureError {
    /// The signature bytes are not a signature of the key's kind.
    Malformed { algorithm: &'static str },
    /// A well-formed signature that the key did not make over this message.
    Mismatch { algorithm: &'static str },
}

impl fmt::Display for SignatureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed { algorithm } => write!(f, "malformed {algorithm} signature"),
            Self::Mismatch { algorithm } => {
                write!(
                    f,
                    "{algorithm} signature does not match the message and key"
                )
            }
        }
    }
}

impl std::error::Error for SignatureError {}

impl PublicKey {
    /// Decodes one PEM block.
    pub fn from_pem(pem: &str) -> Result<Self, KeyError> {
        let (label, der) = decode_pem(pem).ok_or_else(|| {
            KeyError::Pem("expected BEGIN and END lines around valid base64".to_owned())
        })?;
        match label.as_str() {
            "PUBLIC KEY" => Self::from_spki_der(&der),
            "RSA PUBLIC KEY" => {
                let key =
                    rsa::RsaPublicKey::from_pkcs1_der(&der).map_err(|e| KeyError::InvalidKey {
                        algorithm: "RSA",
                        reason: e.to_string(),
                    })?;
                Self::rsa(key)
            }
            "CERTIFICATE" => {
                let (_, cert) = x509_parser::parse_x509_certificate(&der)
                    .map_err(|e| KeyError::Certificate(e.to_string()))?;
                Self::from_spki_der(cert.public_key().raw)
            }
            other => Err(KeyError::UnexpectedLabel(other.to_owned())),
        }
    }

    /// Decodes a DER PKCS#1 `RSAPublicKey`.
    pub fn from_pkcs1_der(der: &[u8]) -> Result<Self, KeyError> {
        let key = rsa::RsaPublicKey::from_pkcs1_der(der).map_err(|e| KeyError::InvalidKey {
            algorithm: "RSA",
            reason: e.to_string(),
        })?;
        Self::rsa(key)
    }

    /// Decodes a DER SubjectPublicKeyInfo.
    pub fn from_spki_der(der: &[u8]) -> Result<Self, KeyError> {
        let spki =
            SubjectPublicKeyInfoRef::try_from(der).map_err(|e| KeyError::Spki(e.to_string()))?;
        let oid = spki.algorithm.oid;
        let invalid = |algorithm: &'static str| {
            move |e: spki::Error| KeyError::InvalidKey {
                algorithm,
                reason: e.to_string(),
            }
        };
        if oid == OID_EC_PUBLIC_KEY {
            let curve = spki
                .algorithm
                .parameters_oid()
                .map_err(|e| KeyError::Spki(e.to_string()))?;
            return match curve {
                c if c == OID_P256 => p256::ecdsa::VerifyingKey::from_public_key_der(der)
                    .map(Self::P256)
                    .map_err(invalid("P-256")),
                c if c == OID_P384 => p384::ecdsa::VerifyingKey::from_public_key_der(der)
                    .map(Self::P384)
                    .map_err(invalid("P-384")),
                c if c == OID_P521 => p521::ecdsa::VerifyingKey::from_public_key_der(der)
                    .map(Self::P521)
                    .map_err(invalid("P-521")),
                other => Err(KeyError::UnsupportedCurve(other.to_string())),
            };
        }
        if oid == OID_RSA || oid == OID_RSA_PSS {
            let key = rsa::RsaPublicKey::from_pkcs1_der(spki.subject_public_key.raw_bytes())
                .map_err(|e| KeyError::InvalidKey {
                    algorithm: "RSA",
                    reason: e.to_string(),
                })?;
            return Self::rsa(key);
        }
        if oid == OID_ED25519 {
            return ed25519_dalek::VerifyingKey::from_public_key_der(der)
                .map(Self::Ed25519)
                .map_err(invalid("Ed25519"));
        }
        Err(KeyError::UnsupportedAlgorithm(oid.to_string()))
    }

    fn rsa(key: rsa::RsaPublicKey) -> Result<Self, KeyError> {
        let bits = key.size() * 8;
        if bits < RSA_MIN_BITS {
            return Err(KeyError::RsaTooSmall { bits });
        }
        Ok(Self::Rsa(key))
    }

    /// Verifies `signature` over `message`, hashed as the key's kind demands:
    /// SHA-256 for P-256 and RSA (PKCS#1 v1.5), SHA-384 for P-384, SHA-512 for
    /// P-521; Ed25519 signs the message itself. ECDSA signatures are ASN.1 DER.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), SignatureError> {
        self.verify_with_hash(message, signature, self.default_hash())
    }

    /// The hash [`PublicKey::verify`] uses for this kind of key.
    pub fn default_hash(&self) -> HashAlgorithm {
        match self {
            Self::P384(_) => HashAlgorithm::Sha384,
            Self::P521(_) => HashAlgorithm::Sha512,
            _ => HashAlgorithm::Sha256,
        }
    }

    /// Verifies `signature` over `message` hashed with `hash`, as an X.509
    /// signature algorithm names it. Ed25519 ignores `hash`: it hashes itself.
    pub fn verify_with_hash(
        &self,
        message: &[u8],
        signature: &[u8],
        hash: HashAlgorithm,
    ) -> Result<(), SignatureError> {
        match self {
            Self::Ed25519(key) => {
                let algorithm = self.algorithm();
                let sig = ed25519_dalek::Signature::from_slice(signature)
                    .map_err(|_| SignatureError::Malformed { algorithm })?;
                key.verify_strict(message, &sig)
                    .map_err(|_| SignatureError::Mismatch { algorithm })
            }
            _ => self.verify_prehashed(&hash.digest(message), hash, signature),
        }
    }

    /// Verifies `signature` over a message of which only `digest` is known.
    /// Ed25519 cannot: it signs whole messages.
    pub fn verify_prehashed(
        &self,
        digest: &[u8],
        hash: HashAlgorithm,
        signature: &[u8],
    ) -> Result<(), SignatureError> {
        use signature::hazmat::PrehashVerifier;
        let algorithm = self.algorithm();
        let malformed = |_| SignatureError::Malformed { algorithm };
        let mismatch = |_| SignatureError::Mismatch { algorithm };
        match self {
            Self::P256(key) => {
                let sig = p256::ecdsa::DerSignature::try_from(signature).map_err(malformed)?;
                key.verify_prehash(digest, &sig).map_err(mismatch)
            }
            Self::P384(key) => {
                let sig = p384::ecdsa::DerSignature::try_from(signature).map_err(malformed)?;
                key.verify_prehash(digest, &sig).map_err(mismatch)
            }
            Self::P521(key) => {
                let sig = p521::ecdsa::DerSignature::try_from(signature).map_err(malformed)?;
                key.verify_prehash(digest, &sig).map_err(mismatch)
            }
            Self::Rsa(_) => {
                // PEM keys do not say which RSA scheme signed: PKCS#1 v1.5 is
                // tried first, then PSS (salt length recovered from the signature).
                if self.verify_pkcs1v15(digest, hash, signature).is_ok() {
                    return Ok(());
                }
                self.verify_pss(digest, hash, signature)
            }
            Self::Ed25519(_) => Err(SignatureError::Malformed { algorithm }),
        }
    }

    /// Verifies an RSA PSS signature (MGF1 with the same hash, any salt
    /// length) over a message of which only `digest` is known. Other keys refuse.
    pub fn verify_pss(
        &self,
        digest: &[u8],
        hash: HashAlgorithm,
        signature: &[u8],
    ) -> Result<(), SignatureError> {
        use signature::hazmat::PrehashVerifier;
        let algorithm = self.algorithm();
        let Self::Rsa(key) = self else {
            return Err(SignatureError::Malformed { algorithm });
        };
        let sig = rsa::pss::Signature::try_from(signature)
            .map_err(|_| SignatureError::Malformed { algorithm })?;
        with_hash!(hash, D => rsa::pss::VerifyingKey::<D>::new_with_auto_salt_len(key.clone())
            .verify_prehash(digest, &sig))
        .map_err(|_| SignatureError::Mismatch { algorithm })
    }

    /// Verifies an RSA PKCS#1 v1.5 signature over a message of which only
    /// `digest` is known: the one scheme an X.509 `sha*WithRSAEncryption`
    /// algorithm names, so PSS is never tried. Other keys refuse.
    pub fn verify_pkcs1v15(
        &self,
        digest: &[u8],
        hash: HashAlgorithm,
        signature: &[u8],
    ) -> Result<(), SignatureError> {
        use signature::hazmat::PrehashVerifier;
        let algorithm = self.algorithm();
        let Self::Rsa(key) = self else {
            return Err(SignatureError::Malformed { algorithm });
        };
        let sig = rsa::pkcs1v15::Signature::try_from(signature)
            .map_err(|_| SignatureError::Malformed { algorithm })?;
        with_hash!(hash, D => rsa::pkcs1v15::VerifyingKey::<D>::new(key.clone())
            .verify_prehash(digest, &sig))
        .map_err(|_| SignatureError::Mismatch { algorithm })
    }

    /// The key as a DER SubjectPublicKeyInfo, as transparency logs record it.
    pub fn spki_der(&self) -> Result<Vec<u8>, KeyError> {
        use spki::EncodePublicKey;
        let encoded = match self {
            Self::P256(key) => key.to_public_key_der(),
            Self::P384(key) => key.to_public_key_der(),
            Self::P521(key) => key.to_public_key_der(),
            Self::Rsa(key) => key.to_public_key_der(),
            Self::Ed25519(key) => key.to_public_key_der(),
        };
        encoded
            .map(|doc| doc.as_bytes().to_vec())
            .map_err(|e| KeyError::Spki(e.to_string()))
    }

    /// A short name of the key type, for traces.
    pub fn algorithm(&self) -> &'static str {
        match self {
            Self::P256(_) => "ECDSA P-256",
            Self::P384(_) => "ECDSA P-384",
            Self::P521(_) => "ECDSA P-521",
            Self::Rsa(_) => "RSA",
            Self::Ed25519(_) => "Ed25519",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ONE_LINE: &str = "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEDZbYpoYxcjct3ThJqPE3kGToKiwIqi1hKpv9Eks75uQgCr84Dlnl2tMEGPZJ+uEt3G38Edq6pJQdjjIF/qfukw==\n-----END PUBLIC KEY-----\n";

    #[test]
    fn pem_is_read_as_leniently_as_go_reads_it() {
        // One long base64 line, indentation and CRLF, as YAML and Windows leave them.
        assert!(matches!(
            PublicKey::from_pem(ONE_LINE),
            Ok(PublicKey::P256(_))
        ));
        let crlf = ONE_LINE.replace('\n', "\r\n    ");
        assert!(matches!(PublicKey::from_pem(&crlf), Ok(PublicKey::P256(_))));
    }

    /// Keys and signatures made by OpenSSL (tests/data/keys/README.md).
    #[test]
    fn every_key_type_verifies_openssl_signatures_and_refuses_others() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/keys");
        let read = |name: &str| std::fs::read(dir.join(name)).unwrap_or_default();
        let message = read("msg");
        let cases = [
            ("rsa.pub", "rsa-v15.sig", "RSA"),
            ("rsa.pub", "rsa-pss.sig", "RSA"),
            ("P-384.pub", "P-384.sig", "ECDSA P-384"),
            ("P-521.pub", "P-521.sig", "ECDSA P-521"),
            ("ed.pub", "ed.sig", "Ed25519"),
        ];
        for (key, sig, algorithm) in cases {
            let pem = String::from_utf8(read(key)).unwrap_or_default();
            let key = PublicKey::from_pem(&pem);
            assert!(key.is_ok(), "{sig}: {key:?}");
            let Ok(key) = key else { continue };
            assert_eq!(key.algorithm(), algorithm);
            assert_eq!(key.verify(&message, &read(sig)), Ok(()), "{sig}");
            let mut other = message.clone();
            other[0] ^= 1;
            assert!(
                key.verify(&other, &read(sig)).is_err(),
                "{sig} over another message"
            );
        }
    }

    #[test]
    fn pem_with_bad_base64_or_no_end_is_refused() {
        let bad = ONE_LINE.replace("ukw==", "u==kw");
        assert!(matches!(PublicKey::from_pem(&bad), Err(KeyError::Pem(_))));
        let cut = ONE_LINE.replace("-----END PUBLIC KEY-----", "");
        assert!(matches!(PublicKey::from_pem(&cut), Err(KeyError::Pem(_))));
        let mismatched = ONE_LINE.replace("END PUBLIC KEY", "END CERTIFICATE");
        assert!(matches!(
            PublicKey::from_pem(&mismatched),
            Err(KeyError::Pem(_))
        ));
    }
}
