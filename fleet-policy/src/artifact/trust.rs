//! Sigstore trust material: certificate authorities and transparency log keys.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use sha2::{Digest as _, Sha256};

use super::cert::Cert;
use super::error::ArtifactError;
use super::keys::{VerifyingKey, b64, hex};

/// A Sigstore `trusted_root.json`: the Fulcio certificate authorities and Rekor log keys that
/// keyless verification trusts, each with the period it is valid for.
///
/// Only `certificateAuthorities` and `tlogs` are used; CT logs and timestamp authorities are
/// parsed over but not checked (signed certificate timestamps and RFC 3161 timestamps are not
/// verified by this module).
#[derive(Debug, Clone)]
pub struct TrustedRoot {
    pub(crate) authorities: Vec<CertificateAuthority>,
    pub(crate) tlogs: Vec<TransparencyLog>,
    digest: [u8; 32],
}

/// A certificate authority: its chain (closest to the leaf first) and validity period.
#[derive(Debug, Clone)]
pub(crate) struct CertificateAuthority {
    pub(crate) chain: Vec<Cert>,
    pub(crate) valid_for: ValidFor,
}

/// A transparency log: its id and key, and the key's validity period.
#[derive(Debug, Clone)]
pub(crate) struct TransparencyLog {
    pub(crate) log_id: Vec<u8>,
    pub(crate) key: VerifyingKey,
    pub(crate) valid_for: ValidFor,
}

/// `validFor`: start, and an optional end (open means still valid).
#[derive(Debug, Clone, Copy, Deserialize)]
pub(crate) struct ValidFor {
    start: DateTime<Utc>,
    #[serde(default)]
    end: Option<DateTime<Utc>>,
}

impl ValidFor {
    pub(crate) fn contains(&self, at: DateTime<Utc>) -> bool {
        self.start <= at && self.end.is_none_or(|end| at <= end)
    }

    pub(crate) fn describe(&self) -> (String, String) {
        (
            self.start.to_rfc3339(),
            self.end
                .map_or_else(|| "(open)".to_owned(), |e| e.to_rfc3339()),
        )
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawRoot {
    #[serde(default)]
    tlogs: Vec<RawLog>,
    #[serde(default)]
    certificate_authorities: Vec<RawCa>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawLog {
    public_key: RawPublicKey,
    log_id: RawLogId,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawPublicKey {
    raw_bytes: String,
    valid_for: ValidFor,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawLogId {
    key_id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawCa {
    cert_chain: RawChain,
    valid_for: ValidFor,
}

#[derive(Deserialize)]
struct RawChain {
    certificates: Vec<RawCert>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawCert {
    raw_bytes: String,
}

impl TrustedRoot {
    /// Parses a Sigstore trusted root (`application/vnd.dev.sigstore.trustedroot+json`).
    ///
    /// # Errors
    ///
    /// [`ArtifactError::Json`], [`ArtifactError::Base64`], [`ArtifactError::Der`] or
    /// [`ArtifactError::Unsupported`] naming the field that is malformed.
    pub fn from_json(json: &[u8]) -> Result<Self, ArtifactError> {
        let raw: RawRoot =
            serde_json::from_slice(json).map_err(|e| ArtifactError::json("trusted root", &e))?;
        let mut tlogs = Vec::with_capacity(raw.tlogs.len());
        for log in raw.tlogs {
            let der = b64(&log.public_key.raw_bytes, "tlogs[].publicKey.rawBytes")?;
            tlogs.push(TransparencyLog {
                log_id: b64(&log.log_id.key_id, "tlogs[].logId.keyId")?,
                key: VerifyingKey::from_spki_der(&der)?,
                valid_for: log.public_key.valid_for,
            });
        }
        let mut authorities = Vec::with_capacity(raw.certificate_authorities.len());
        for ca in raw.certificate_authorities {
            let mut chain = Vec::with_capacity(ca.cert_chain.certificates.len());
            for cert in ca.cert_chain.certificates {
                let der = b64(&cert.raw_bytes, "certificateAuthorities[].certChain")?;
                chain.push(Cert::from_der(&der, "certificateAuthorities[].certChain")?);
            }
            authorities.push(CertificateAuthority {
                chain,
                valid_for: ca.valid_for,
            });
        }
        Ok(Self {
            authorities,
            tlogs,
            digest: Sha256::digest(json).into(),
        })
    }

    /// The SHA-256 of the JSON this root was parsed from; part of every cache key.
    #[must_use]
    pub fn digest(&self) -> [u8; 32] {
        self.digest
    }

    /// How many certificate authorities and transparency logs the root holds.
    #[must_use]
    pub fn counts(&self) -> (usize, usize) {
        (self.authorities.len(), self.tlogs.len())
    }

    pub(crate) fn log(&self, log_id: &[u8]) -> Option<&TransparencyLog> {
        self.tlogs.iter().find(|l| l.log_id == log_id)
    }
}

/// Hex of a log id, for messages.
pub(crate) fn log_id_hex(log_id: &[u8]) -> String {
    hex(log_id)
}
