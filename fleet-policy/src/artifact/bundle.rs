//! Sigstore bundles (v0.3, and v0.2): parsing, the Rekor signed entry timestamp, and the
//! check that the log entry describes this bundle and no other.

use chrono::{DateTime, Utc};
use fleet_core::Digest;
use serde::Deserialize;
use sha2::{Digest as _, Sha256};

use super::cert::Cert;
use super::dsse::Envelope;
use super::error::ArtifactError;
use super::keys::{VerifyingKey, b64, hex, pem_decode};
use super::trust::TransparencyLog;

/// The media type of a Sigstore bundle v0.3.
pub const BUNDLE_V0_3: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";
/// The alternative spelling of the v0.3 media type.
pub const BUNDLE_V0_3_ALT: &str = "application/vnd.dev.sigstore.bundle+json;version=0.3";
/// The media type of a Sigstore bundle v0.2.
pub const BUNDLE_V0_2: &str = "application/vnd.dev.sigstore.bundle+json;version=0.2";

/// A parsed Sigstore bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bundle {
    /// The bundle's media type (one of the supported ones).
    pub media_type: String,
    /// Who signed: a certificate or a managed key hint.
    pub material: Material,
    /// The transparency log entries (only the first is used).
    pub tlog_entries: Vec<TlogEntry>,
    /// What was signed.
    pub content: Content,
}

/// The bundle's verification material.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Material {
    /// A signing certificate (DER). From `certificate.rawBytes`, or the first certificate of
    /// `x509CertificateChain` (the rest of that chain is ignored: trust comes only from the
    /// trusted root).
    Certificate(Vec<u8>),
    /// A managed key, named by its optional hint (base64 SHA-256 of its SubjectPublicKeyInfo).
    PublicKey {
        /// `publicKey.hint`, if present.
        hint: Option<String>,
    },
}

/// What a bundle signs.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Content {
    /// A DSSE envelope (usually an in-toto statement).
    Dsse(Envelope),
    /// A signature over an artifact's digest.
    MessageSignature {
        /// The artifact digest that was signed.
        digest: Digest,
        /// The signature bytes.
        signature: Vec<u8>,
    },
}

/// One Rekor transparency log entry of a bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlogEntry {
    /// `logIndex`.
    pub log_index: i64,
    /// `logId.keyId` (decoded).
    pub log_id: Vec<u8>,
    /// `kindVersion.kind`, e.g. `hashedrekord`.
    pub kind: String,
    /// `kindVersion.version`, e.g. `0.0.1`.
    pub version: String,
    /// `integratedTime`, Unix seconds.
    pub integrated_time: i64,
    /// `inclusionPromise.signedEntryTimestamp` (decoded), if present.
    pub signed_entry_timestamp: Option<Vec<u8>>,
    /// `canonicalizedBody`, the base64 text exactly as in the bundle (the SET signs it so).
    pub canonicalized_body: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawBundle {
    media_type: String,
    verification_material: RawMaterial,
    #[serde(default)]
    dsse_envelope: Option<Envelope>,
    #[serde(default)]
    message_signature: Option<RawMessageSignature>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawMaterial {
    #[serde(default)]
    certificate: Option<RawCert>,
    #[serde(default)]
    x509_certificate_chain: Option<RawChain>,
    #[serde(default)]
    public_key: Option<RawHint>,
    #[serde(default)]
    tlog_entries: Vec<RawEntry>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawCert {
    raw_bytes: String,
}

#[derive(Deserialize)]
struct RawChain {
    certificates: Vec<RawCert>,
}

#[derive(Deserialize)]
struct RawHint {
    #[serde(default)]
    hint: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Int {
    Number(i64),
    Text(String),
}

impl Int {
    fn get(&self, field: &str) -> Result<i64, ArtifactError> {
        match self {
            Self::Number(n) => Ok(*n),
            Self::Text(s) => s.parse().map_err(|e| ArtifactError::json(field, &e)),
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawEntry {
    log_index: Int,
    log_id: RawLogId,
    kind_version: RawKindVersion,
    integrated_time: Int,
    #[serde(default)]
    inclusion_promise: Option<RawPromise>,
    canonicalized_body: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawLogId {
    key_id: String,
}

#[derive(Deserialize)]
struct RawKindVersion {
    kind: String,
    version: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawPromise {
    signed_entry_timestamp: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawMessageSignature {
    message_digest: RawMessageDigest,
    signature: String,
}

#[derive(Deserialize)]
struct RawMessageDigest {
    algorithm: String,
    digest: String,
}

impl Bundle {
    /// Parses a bundle, checking its media type and decoding every base64 field.
    ///
    /// # Errors
    ///
    /// [`ArtifactError::UnsupportedMediaType`], or [`ArtifactError::Json`] /
    /// [`ArtifactError::Base64`] / [`ArtifactError::Unsupported`] naming the malformed field.
    pub fn from_json(json: &[u8]) -> Result<Self, ArtifactError> {
        let raw: RawBundle =
            serde_json::from_slice(json).map_err(|e| ArtifactError::json("bundle", &e))?;
        if ![BUNDLE_V0_3, BUNDLE_V0_3_ALT, BUNDLE_V0_2].contains(&raw.media_type.as_str()) {
            return Err(ArtifactError::UnsupportedMediaType {
                media_type: raw.media_type,
            });
        }
        let vm = raw.verification_material;
        let material = if let Some(cert) = vm.certificate {
            Material::Certificate(b64(&cert.raw_bytes, "verificationMaterial.certificate")?)
        } else if let Some(chain) = vm.x509_certificate_chain {
            let leaf = chain
                .certificates
                .first()
                .ok_or_else(|| ArtifactError::missing("x509CertificateChain.certificates"))?;
            Material::Certificate(b64(&leaf.raw_bytes, "x509CertificateChain")?)
        } else if let Some(key) = vm.public_key {
            Material::PublicKey { hint: key.hint }
        } else {
            return Err(ArtifactError::missing("verificationMaterial"));
        };
        let mut tlog_entries = Vec::with_capacity(vm.tlog_entries.len());
        for e in vm.tlog_entries {
            tlog_entries.push(TlogEntry {
                log_index: e.log_index.get("tlogEntries[].logIndex")?,
                log_id: b64(&e.log_id.key_id, "tlogEntries[].logId.keyId")?,
                kind: e.kind_version.kind,
                version: e.kind_version.version,
                integrated_time: e.integrated_time.get("tlogEntries[].integratedTime")?,
                signed_entry_timestamp: e
                    .inclusion_promise
                    .map(|p| b64(&p.signed_entry_timestamp, "inclusionPromise"))
                    .transpose()?,
                canonicalized_body: e.canonicalized_body,
            });
        }
        let content = match (raw.dsse_envelope, raw.message_signature) {
            (Some(env), None) => {
                if env.signatures.len() != 1 {
                    return Err(ArtifactError::Unsupported {
                        what: "number of dsse signatures in a bundle",
                        value: env.signatures.len().to_string(),
                    });
                }
                Content::Dsse(env)
            }
            (None, Some(ms)) => {
                let bytes = b64(&ms.message_digest.digest, "messageDigest.digest")?;
                let alg = match ms.message_digest.algorithm.as_str() {
                    "SHA2_256" => "sha256",
                    "SHA2_512" => "sha512",
                    other => {
                        return Err(ArtifactError::Unsupported {
                            what: "message digest algorithm",
                            value: other.to_owned(),
                        });
                    }
                };
                let digest = format!("{alg}:{}", hex(&bytes))
                    .parse()
                    .map_err(|e| ArtifactError::json("messageDigest.digest", &e))?;
                Content::MessageSignature {
                    digest,
                    signature: b64(&ms.signature, "messageSignature.signature")?,
                }
            }
            (None, None) => return Err(ArtifactError::missing("dsseEnvelope or messageSignature")),
            (Some(_), Some(_)) => {
                return Err(ArtifactError::Json {
                    field: "bundle".to_owned(),
                    reason: "both `dsseEnvelope` and `messageSignature`".to_owned(),
                });
            }
        };
        Ok(Self {
            media_type: raw.media_type,
            material,
            tlog_entries,
            content,
        })
    }
}

impl TlogEntry {
    /// The integrated time as an instant.
    ///
    /// # Errors
    ///
    /// [`ArtifactError::Json`] if out of range.
    pub fn integrated_at(&self) -> Result<DateTime<Utc>, ArtifactError> {
        DateTime::from_timestamp(self.integrated_time, 0).ok_or_else(|| ArtifactError::Json {
            field: "integratedTime".to_owned(),
            reason: format!("`{}` out of range", self.integrated_time),
        })
    }

    /// Verifies the signed entry timestamp with `log`'s key: an ECDSA (or Ed25519) signature
    /// over the canonical JSON of `{body, integratedTime, logID (hex), logIndex}`.
    pub(crate) fn verify_set(&self, log: &TransparencyLog) -> Result<(), ArtifactError> {
        let set =
            self.signed_entry_timestamp
                .as_ref()
                .ok_or_else(|| ArtifactError::SetInvalid {
                    reason: "the entry has no inclusion promise".to_owned(),
                })?;
        let message = fleet_core::canonical_json(&serde_json::json!({
            "body": self.canonicalized_body,
            "integratedTime": self.integrated_time,
            "logID": hex(&self.log_id),
            "logIndex": self.log_index,
        }));
        log.key
            .verify(message.as_bytes(), set, "signed entry timestamp")
            .map_err(|_| ArtifactError::SetInvalid {
                reason: "the signature does not verify with the log's key".to_owned(),
            })
    }
}

/// The signer the log entry must name: the leaf certificate, or the managed key.
pub(crate) enum SignerMaterial<'a> {
    Cert(&'a Cert),
    Key(&'a VerifyingKey),
}

/// Checks that the log entry's body describes this bundle's signature, signer and digest,
/// so an entry copied from another bundle is refused. Kinds that cannot be checked are
/// refused, not skipped.
pub(crate) fn check_body(
    entry: &TlogEntry,
    content: &Content,
    signer: &SignerMaterial<'_>,
) -> Result<(), ArtifactError> {
    let body_bytes = b64(&entry.canonicalized_body, "canonicalizedBody")?;
    let body: serde_json::Value = serde_json::from_slice(&body_bytes)
        .map_err(|e| ArtifactError::json("canonicalizedBody", &e))?;
    let text = |pointer: &str| -> Result<&str, ArtifactError> {
        body.pointer(pointer)
            .and_then(serde_json::Value::as_str)
            .ok_or_else(|| ArtifactError::missing(&format!("canonicalizedBody{pointer}")))
    };
    if text("/kind")? != entry.kind || text("/apiVersion")? != entry.version {
        return Err(ArtifactError::mismatch(
            "the body's kind differs from `kindVersion`",
        ));
    }
    match (entry.kind.as_str(), entry.version.as_str(), content) {
        ("hashedrekord", "0.0.1", Content::MessageSignature { digest, signature }) => {
            let alg = text("/spec/data/hash/algorithm")?;
            let value = text("/spec/data/hash/value")?;
            if format!("{alg}:{value}") != digest.to_string() {
                return Err(ArtifactError::mismatch("the logged digest differs"));
            }
            if &b64(text("/spec/signature/content")?, "spec.signature.content")? != signature {
                return Err(ArtifactError::mismatch("the logged signature differs"));
            }
            check_signer(text("/spec/signature/publicKey/content")?, signer)
        }
        ("intoto", "0.0.2", Content::Dsse(env)) => {
            check_payload_hash(&body, "/spec/content/payloadHash", env)?;
            if text("/spec/content/envelope/payloadType")? != env.payload_type {
                return Err(ArtifactError::mismatch("the logged payload type differs"));
            }
            let logged = body
                .pointer("/spec/content/envelope/signatures")
                .and_then(serde_json::Value::as_array)
                .ok_or_else(|| ArtifactError::missing("canonicalizedBody envelope signatures"))?;
            let ours = bundle_dsse_signature(env)?;
            // intoto 0.0.2 stores each signature base64-encoded once more, and the signer as
            // base64 of its PEM.
            let found = logged.iter().any(|s| {
                let sig = s
                    .get("sig")
                    .and_then(serde_json::Value::as_str)
                    .and_then(|t| b64(t, "sig").ok())
                    .and_then(|inner| String::from_utf8(inner).ok())
                    .and_then(|t| b64(&t, "sig").ok());
                let key = s.get("publicKey").and_then(serde_json::Value::as_str);
                sig.as_ref() == Some(&ours) && key.is_some_and(|k| check_signer(k, signer).is_ok())
            });
            if found {
                Ok(())
            } else {
                Err(ArtifactError::mismatch(
                    "no logged signature is this bundle's signature and signer",
                ))
            }
        }
        ("dsse", "0.0.1", Content::Dsse(env)) => {
            check_payload_hash(&body, "/spec/payloadHash", env)?;
            let logged = body
                .pointer("/spec/signatures")
                .and_then(serde_json::Value::as_array)
                .ok_or_else(|| ArtifactError::missing("canonicalizedBody signatures"))?;
            let ours = bundle_dsse_signature(env)?;
            let found = logged.iter().any(|s| {
                let sig = s
                    .get("signature")
                    .and_then(serde_json::Value::as_str)
                    .and_then(|t| b64(t, "signature").ok());
                let key = s.get("verifier").and_then(serde_json::Value::as_str);
                sig.as_ref() == Some(&ours) && key.is_some_and(|k| check_signer(k, signer).is_ok())
            });
            if found {
                Ok(())
            } else {
                Err(ArtifactError::mismatch(
                    "no logged signature is this bundle's signature and signer",
                ))
            }
        }
        (kind @ "hashedrekord", "0.0.1", _)
        | (kind @ "intoto", "0.0.2", _)
        | (kind @ "dsse", "0.0.1", _) => Err(ArtifactError::mismatch(&format!(
            "a `{kind}` entry cannot log this bundle's content"
        ))),
        (kind, version, _) => Err(ArtifactError::Unsupported {
            what: "transparency log entry kind",
            value: format!("{kind} {version}"),
        }),
    }
}

fn bundle_dsse_signature(env: &Envelope) -> Result<Vec<u8>, ArtifactError> {
    let sig = env
        .signatures
        .first()
        .ok_or_else(|| ArtifactError::NoSignatures {
            field: "dsseEnvelope.signatures".to_owned(),
        })?;
    b64(&sig.sig, "dsseEnvelope.signatures[].sig")
}

fn check_payload_hash(
    body: &serde_json::Value,
    pointer: &str,
    env: &Envelope,
) -> Result<(), ArtifactError> {
    let field = |name: &str| {
        body.pointer(&format!("{pointer}/{name}"))
            .and_then(serde_json::Value::as_str)
            .ok_or_else(|| ArtifactError::missing(&format!("canonicalizedBody{pointer}")))
    };
    let payload = env.payload_bytes()?;
    if field("algorithm")? != "sha256" || field("value")? != hex(&Sha256::digest(&payload)) {
        return Err(ArtifactError::mismatch("the logged payload hash differs"));
    }
    Ok(())
}

/// Checks a logged signer (base64 of a PEM certificate or public key) against ours.
fn check_signer(logged_b64: &str, signer: &SignerMaterial<'_>) -> Result<(), ArtifactError> {
    let pem = b64(logged_b64, "logged public key")?;
    match signer {
        SignerMaterial::Cert(cert) => {
            let der = pem_decode(&pem, "CERTIFICATE", "logged certificate")?;
            if der != cert.der() {
                return Err(ArtifactError::mismatch("the logged certificate differs"));
            }
        }
        SignerMaterial::Key(key) => {
            let der = pem_decode(&pem, "PUBLIC KEY", "logged public key")?;
            if VerifyingKey::from_spki_der(&der).ok().as_ref() != Some(*key) {
                return Err(ArtifactError::mismatch("the logged public key differs"));
            }
        }
    }
    Ok(())
}
