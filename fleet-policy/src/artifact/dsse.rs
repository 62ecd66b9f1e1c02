//! DSSE envelopes: the signed wrapper around in-toto statements.

use serde::{Deserialize, Serialize};

use super::error::ArtifactError;
use super::keys::{VerifyingKey, b64};

/// The payload type of in-toto statements.
pub const IN_TOTO_PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";

/// The DSSE v1 pre-authentication encoding: what a DSSE signature actually signs.
///
/// `"DSSEv1" SP len(type) SP type SP len(body) SP body`, lengths in ASCII decimal.
///
/// # Example
///
/// ```
/// use fleet_policy::artifact::pae;
///
/// assert_eq!(pae("t", b"hi"), b"DSSEv1 1 t 2 hi".to_vec());
/// ```
#[must_use]
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload_type.len() + payload.len() + 32);
    out.extend_from_slice(b"DSSEv1 ");
    out.extend_from_slice(payload_type.len().to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload_type.as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload.len().to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload);
    out
}

/// One signature of a DSSE envelope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvelopeSignature {
    /// The key id the producer wrote (advisory; never trusted for key selection alone).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub keyid: String,
    /// The signature, base64.
    pub sig: String,
}

/// A DSSE envelope as JSON: `{"payload": base64, "payloadType": ..., "signatures": [...]}`.
///
/// # Example
///
/// ```
/// use fleet_policy::artifact::Envelope;
///
/// let env = Envelope::from_json(br#"{"payload":"aGk=","payloadType":"t","signatures":[{"sig":"AA=="}]}"#)?;
/// assert_eq!(env.payload_bytes()?, b"hi".to_vec());
/// # Ok::<(), fleet_policy::artifact::ArtifactError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    /// The payload, base64.
    pub payload: String,
    /// The payload type, e.g. [`IN_TOTO_PAYLOAD_TYPE`].
    #[serde(rename = "payloadType")]
    pub payload_type: String,
    /// The signatures.
    pub signatures: Vec<EnvelopeSignature>,
}

/// A payload whose signature verified, with what verified it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedPayload {
    /// The payload type the signature covers.
    pub payload_type: String,
    /// The payload bytes the signature covers.
    pub payload: Vec<u8>,
    /// The [`VerifyingKey::key_id`] of the key that verified.
    pub key_id: String,
}

impl Envelope {
    /// Parses an envelope from JSON.
    ///
    /// # Errors
    ///
    /// [`ArtifactError::Json`] if the JSON is malformed or lacks a field;
    /// [`ArtifactError::NoSignatures`] if `signatures` is empty.
    pub fn from_json(json: &[u8]) -> Result<Self, ArtifactError> {
        let env: Self =
            serde_json::from_slice(json).map_err(|e| ArtifactError::json("dsse envelope", &e))?;
        if env.signatures.is_empty() {
            return Err(ArtifactError::NoSignatures {
                field: "signatures".to_owned(),
            });
        }
        Ok(env)
    }

    /// The decoded payload bytes.
    ///
    /// # Errors
    ///
    /// [`ArtifactError::Base64`] if `payload` is not base64.
    pub fn payload_bytes(&self) -> Result<Vec<u8>, ArtifactError> {
        b64(&self.payload, "payload")
    }

    /// Verifies that at least one signature is a valid signature, by one of `keys`, over the
    /// pre-authentication encoding ([`pae`]) of the payload type and payload.
    ///
    /// # Errors
    ///
    /// [`ArtifactError::NoSignatures`] if there is no signature or no key;
    /// [`ArtifactError::Base64`] for a payload or signature that is not base64;
    /// [`ArtifactError::SignatureInvalid`] if no signature verifies with any key.
    pub fn verify(&self, keys: &[VerifyingKey]) -> Result<VerifiedPayload, ArtifactError> {
        if self.signatures.is_empty() {
            return Err(ArtifactError::NoSignatures {
                field: "signatures".to_owned(),
            });
        }
        if keys.is_empty() {
            return Err(ArtifactError::UnknownKey {
                key: "(no keys given)".to_owned(),
            });
        }
        let payload = self.payload_bytes()?;
        let message = pae(&self.payload_type, &payload);
        for signature in &self.signatures {
            let sig = b64(&signature.sig, "signatures[].sig")?;
            for key in keys {
                if key.verify(&message, &sig, "dsse envelope").is_ok() {
                    return Ok(VerifiedPayload {
                        payload_type: self.payload_type.clone(),
                        payload,
                        key_id: key.key_id(),
                    });
                }
            }
        }
        Err(ArtifactError::signature("dsse envelope"))
    }
}
