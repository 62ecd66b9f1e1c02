//! Public keys and the signature checks every format shares.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::pkcs8::{DecodePublicKey as _, EncodePublicKey as _};
use p256::ecdsa::signature::Verifier as _;
use p256::ecdsa::signature::hazmat::PrehashVerifier as _;
use sha2::{Digest as _, Sha256};

use super::error::ArtifactError;

/// A public key that can verify artifact signatures.
///
/// ECDSA keys accept signatures both in ASN.1 DER and in the fixed-size `r || s` form, since
/// real producers emit both.
///
/// # Example
///
/// ```
/// use fleet_policy::artifact::VerifyingKey;
///
/// let pem = "-----BEGIN PUBLIC KEY-----\n\
/// MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAExRRST79+PsrRBnGAI4cMu6Omz2Jh\n\
/// fwlMW+gIutNKVRaMyS4rQKvgngc5p8UbLj55pVHhIoAxi/SRgURZI0J3Xw==\n\
/// -----END PUBLIC KEY-----\n";
/// let key = VerifyingKey::from_pem(pem)?;
/// assert_eq!(key.key_id().len(), 64);
/// # Ok::<(), fleet_policy::artifact::ArtifactError>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum VerifyingKey {
    /// An Ed25519 key.
    Ed25519(ed25519_dalek::VerifyingKey),
    /// An ECDSA key on NIST P-256; signatures use SHA-256.
    P256(p256::ecdsa::VerifyingKey),
    /// An ECDSA key on NIST P-384; signatures use SHA-384.
    P384(p384::ecdsa::VerifyingKey),
}

impl fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self {
            Self::Ed25519(_) => "Ed25519",
            Self::P256(_) => "P256",
            Self::P384(_) => "P384",
        };
        write!(f, "VerifyingKey::{kind}({})", self.key_id())
    }
}

impl VerifyingKey {
    /// Parses a `PUBLIC KEY` PEM block (an X.509 SubjectPublicKeyInfo).
    ///
    /// # Errors
    ///
    /// [`ArtifactError::Pem`] if the text is not a `PUBLIC KEY` PEM block;
    /// [`ArtifactError::Der`] or [`ArtifactError::Unsupported`] as for
    /// [`VerifyingKey::from_spki_der`].
    pub fn from_pem(pem: &str) -> Result<Self, ArtifactError> {
        let der = pem_decode(pem.as_bytes(), "PUBLIC KEY", "public key")?;
        Self::from_spki_der(&der)
    }

    /// Parses a DER SubjectPublicKeyInfo holding an Ed25519, P-256 or P-384 key.
    ///
    /// # Errors
    ///
    /// [`ArtifactError::Der`] if the bytes are not a SubjectPublicKeyInfo;
    /// [`ArtifactError::Unsupported`] for any other key type.
    pub fn from_spki_der(der: &[u8]) -> Result<Self, ArtifactError> {
        use x509_cert::der::Decode as _;
        let spki = x509_cert::spki::SubjectPublicKeyInfoRef::from_der(der)
            .map_err(|e| ArtifactError::der("public key", &e))?;
        let algorithm = spki.algorithm.oid.to_string();
        let key_err = |e: &dyn fmt::Display| ArtifactError::der("public key", &e);
        match algorithm.as_str() {
            OID_ED25519 => ed25519_dalek::VerifyingKey::from_public_key_der(der)
                .map(Self::Ed25519)
                .map_err(|e| key_err(&e)),
            OID_EC_PUBLIC_KEY => {
                let curve = spki
                    .algorithm
                    .parameters_oid()
                    .map_err(|e| key_err(&e))?
                    .to_string();
                match curve.as_str() {
                    OID_P256 => p256::ecdsa::VerifyingKey::from_public_key_der(der)
                        .map(Self::P256)
                        .map_err(|e| key_err(&e)),
                    OID_P384 => p384::ecdsa::VerifyingKey::from_public_key_der(der)
                        .map(Self::P384)
                        .map_err(|e| key_err(&e)),
                    _ => Err(ArtifactError::Unsupported {
                        what: "elliptic curve",
                        value: curve,
                    }),
                }
            }
            _ => Err(ArtifactError::Unsupported {
                what: "public key algorithm",
                value: algorithm,
            }),
        }
    }

    /// The DER SubjectPublicKeyInfo of this key.
    #[must_use]
    pub fn to_spki_der(&self) -> Vec<u8> {
        let der = match self {
            Self::Ed25519(k) => k.to_public_key_der(),
            Self::P256(k) => k.to_public_key_der(),
            Self::P384(k) => k.to_public_key_der(),
        };
        // Encoding a valid in-memory key cannot fail; an empty id would then match nothing.
        der.map(|d| d.as_bytes().to_vec()).unwrap_or_default()
    }

    /// The key id: lowercase hex of the SHA-256 of the DER SubjectPublicKeyInfo.
    #[must_use]
    pub fn key_id(&self) -> String {
        hex(&Sha256::digest(self.to_spki_der()))
    }

    /// The Sigstore `publicKey.hint`: base64 of the SHA-256 of the DER SubjectPublicKeyInfo.
    #[must_use]
    pub fn hint(&self) -> String {
        STANDARD.encode(Sha256::digest(self.to_spki_der()))
    }

    /// Verifies `signature` over `message` (ECDSA hashes with SHA-256 for P-256 and SHA-384
    /// for P-384; Ed25519 signs the message itself).
    ///
    /// # Errors
    ///
    /// [`ArtifactError::SignatureInvalid`] naming `what` if the signature does not verify or
    /// cannot be parsed.
    pub fn verify(
        &self,
        message: &[u8],
        signature: &[u8],
        what: &str,
    ) -> Result<(), ArtifactError> {
        let ok = match self {
            Self::Ed25519(k) => ed25519_dalek::Signature::from_slice(signature)
                .is_ok_and(|s| k.verify_strict(message, &s).is_ok()),
            Self::P256(k) => p256_candidates(signature)
                .iter()
                .any(|s| k.verify(message, s).is_ok()),
            Self::P384(k) => p384_candidates(signature)
                .iter()
                .any(|s| k.verify(message, s).is_ok()),
        };
        if ok {
            Ok(())
        } else {
            Err(ArtifactError::signature(what))
        }
    }

    /// Verifies an ECDSA `signature` over an already computed message digest.
    ///
    /// # Errors
    ///
    /// [`ArtifactError::Unsupported`] for Ed25519, which cannot sign a prehashed message;
    /// [`ArtifactError::SignatureInvalid`] naming `what` if the signature does not verify.
    pub fn verify_prehash(
        &self,
        digest: &[u8],
        signature: &[u8],
        what: &str,
    ) -> Result<(), ArtifactError> {
        let ok = match self {
            Self::Ed25519(_) => {
                return Err(ArtifactError::Unsupported {
                    what: "prehashed signature with key type",
                    value: "ed25519".to_owned(),
                });
            }
            Self::P256(k) => p256_candidates(signature)
                .iter()
                .any(|s| k.verify_prehash(digest, s).is_ok()),
            Self::P384(k) => p384_candidates(signature)
                .iter()
                .any(|s| k.verify_prehash(digest, s).is_ok()),
        };
        if ok {
            Ok(())
        } else {
            Err(ArtifactError::signature(what))
        }
    }
}

const OID_ED25519: &str = "1.3.101.112";
const OID_EC_PUBLIC_KEY: &str = "1.2.840.10045.2.1";
const OID_P256: &str = "1.2.840.10045.3.1.7";
const OID_P384: &str = "1.3.132.0.34";

/// The ways `bytes` can be read as an ECDSA signature: DER first, then fixed-size `r || s`.
/// A 64-byte string could be both, so both are tried.
macro_rules! ecdsa_candidates {
    ($name:ident, $curve:ident) => {
        fn $name(bytes: &[u8]) -> Vec<$curve::ecdsa::Signature> {
            let der = $curve::ecdsa::Signature::from_der(bytes).ok();
            let raw = $curve::ecdsa::Signature::from_slice(bytes).ok();
            der.into_iter().chain(raw).collect()
        }
    };
}
ecdsa_candidates!(p256_candidates, p256);
ecdsa_candidates!(p384_candidates, p384);

/// Lowercase hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use fmt::Write as _;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// Decodes standard base64 (with padding), naming `field` on error.
pub(crate) fn b64(text: &str, field: &str) -> Result<Vec<u8>, ArtifactError> {
    STANDARD
        .decode(text.trim())
        .map_err(|_| ArtifactError::base64(field))
}

/// Decodes one PEM block whose label must be `label`.
pub(crate) fn pem_decode(pem: &[u8], label: &str, field: &str) -> Result<Vec<u8>, ArtifactError> {
    let (found, der) =
        x509_cert::der::pem::decode_vec(pem).map_err(|e| ArtifactError::pem(field, &e))?;
    if found != label {
        return Err(ArtifactError::Pem {
            field: field.to_owned(),
            reason: format!("expected label `{label}`, found `{found}`"),
        });
    }
    Ok(der)
}
