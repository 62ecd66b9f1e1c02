//! X.509 certificates: parsing, chain checks at a given instant, and the Fulcio identity.

use chrono::{DateTime, Utc};
use sha2::{Digest as _, Sha256, Sha384, Sha512};
use x509_cert::Certificate;
use x509_cert::der::{Decode as _, Encode as _};

use super::error::ArtifactError;
use super::keys::VerifyingKey;

/// A parsed certificate that keeps its exact DER bytes.
#[derive(Debug, Clone)]
pub(crate) struct Cert {
    der: Vec<u8>,
    tbs: std::ops::Range<usize>,
    parsed: Certificate,
}

/// The identity a Fulcio certificate binds: its subject alternative name and OIDC issuer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FulcioIdentity {
    pub(crate) san: Option<String>,
    pub(crate) issuer: Option<String>,
}

const OID_SAN: &str = "2.5.29.17";
const OID_EKU: &str = "2.5.29.37";
const OID_CODE_SIGNING: &str = "1.3.6.1.5.5.7.3.3";
const OID_FULCIO_ISSUER_V1: &str = "1.3.6.1.4.1.57264.1.1";
const OID_FULCIO_ISSUER_V2: &str = "1.3.6.1.4.1.57264.1.8";
const OID_ECDSA_SHA256: &str = "1.2.840.10045.4.3.2";
const OID_ECDSA_SHA384: &str = "1.2.840.10045.4.3.3";
const OID_ECDSA_SHA512: &str = "1.2.840.10045.4.3.4";
const OID_ED25519: &str = "1.3.101.112";

impl Cert {
    /// Parses a DER certificate; `field` names it in errors.
    pub(crate) fn from_der(der: &[u8], field: &str) -> Result<Self, ArtifactError> {
        let parsed = Certificate::from_der(der).map_err(|e| ArtifactError::der(field, &e))?;
        let tbs = tbs_range(der).ok_or_else(|| ArtifactError::Der {
            field: field.to_owned(),
            reason: "cannot locate the to-be-signed part".to_owned(),
        })?;
        Ok(Self {
            der: der.to_vec(),
            tbs,
            parsed,
        })
    }

    pub(crate) fn der(&self) -> &[u8] {
        &self.der
    }

    /// A short human name for errors: the subject as RFC 4514 text.
    pub(crate) fn subject_text(&self) -> String {
        self.parsed.tbs_certificate.subject.to_string()
    }

    pub(crate) fn public_key(&self) -> Result<VerifyingKey, ArtifactError> {
        let spki = self
            .parsed
            .tbs_certificate
            .subject_public_key_info
            .to_der()
            .map_err(|e| ArtifactError::der("certificate public key", &e))?;
        VerifyingKey::from_spki_der(&spki)
    }

    fn not_before(&self) -> Option<DateTime<Utc>> {
        to_chrono(self.parsed.tbs_certificate.validity.not_before)
    }

    fn not_after(&self) -> Option<DateTime<Utc>> {
        to_chrono(self.parsed.tbs_certificate.validity.not_after)
    }

    /// Checks `not_before <= at <= not_after`.
    pub(crate) fn check_valid_at(
        &self,
        at: DateTime<Utc>,
        what: &str,
    ) -> Result<(), ArtifactError> {
        let (Some(nb), Some(na)) = (self.not_before(), self.not_after()) else {
            return Err(ArtifactError::Der {
                field: what.to_owned(),
                reason: "validity out of range".to_owned(),
            });
        };
        if nb <= at && at <= na {
            Ok(())
        } else {
            Err(ArtifactError::NotValidAtTime {
                what: what.to_owned(),
                at: at.to_rfc3339(),
                not_before: nb.to_rfc3339(),
                not_after: na.to_rfc3339(),
            })
        }
    }

    /// Whether `issuer`'s subject is this certificate's issuer and `issuer`'s key signed it.
    pub(crate) fn is_signed_by(&self, issuer: &Self) -> bool {
        if self.parsed.tbs_certificate.issuer != issuer.parsed.tbs_certificate.subject {
            return false;
        }
        let Ok(key) = issuer.public_key() else {
            return false;
        };
        let Some(tbs) = self.der.get(self.tbs.clone()) else {
            return false;
        };
        let Some(sig) = self.parsed.signature.as_bytes() else {
            return false;
        };
        let alg = self.parsed.signature_algorithm.oid.to_string();
        let digest: Vec<u8> = match alg.as_str() {
            OID_ECDSA_SHA256 => Sha256::digest(tbs).to_vec(),
            OID_ECDSA_SHA384 => Sha384::digest(tbs).to_vec(),
            OID_ECDSA_SHA512 => Sha512::digest(tbs).to_vec(),
            OID_ED25519 => {
                return matches!(key, VerifyingKey::Ed25519(_))
                    && key.verify(tbs, sig, "certificate").is_ok();
            }
            _ => return false,
        };
        key.verify_prehash(&digest, sig, "certificate").is_ok()
    }

    /// The subject alternative name (URI first, then email) and the Fulcio OIDC issuer.
    pub(crate) fn fulcio_identity(&self) -> Result<FulcioIdentity, ArtifactError> {
        use x509_cert::ext::pkix::SubjectAltName;
        use x509_cert::ext::pkix::name::GeneralName;
        let mut identity = FulcioIdentity {
            san: None,
            issuer: None,
        };
        let mut issuer_v1 = None;
        for ext in self.extensions() {
            let value = ext.extn_value.as_bytes();
            match ext.extn_id.to_string().as_str() {
                OID_SAN => {
                    let san = SubjectAltName::from_der(value)
                        .map_err(|e| ArtifactError::der("subject alternative name", &e))?;
                    identity.san = san.0.iter().find_map(|name| match name {
                        GeneralName::UniformResourceIdentifier(s) => Some(s.to_string()),
                        _ => None,
                    });
                    if identity.san.is_none() {
                        identity.san = san.0.iter().find_map(|name| match name {
                            GeneralName::Rfc822Name(s) => Some(s.to_string()),
                            _ => None,
                        });
                    }
                }
                OID_FULCIO_ISSUER_V1 => {
                    issuer_v1 = Some(String::from_utf8_lossy(value).into_owned());
                }
                OID_FULCIO_ISSUER_V2 => {
                    let s = x509_cert::der::asn1::Utf8StringRef::from_der(value)
                        .map_err(|e| ArtifactError::der("fulcio issuer extension", &e))?;
                    identity.issuer = Some(s.as_str().to_owned());
                }
                _ => {}
            }
        }
        // The DER-encoded v2 extension is authoritative when present; v1 is the raw string.
        if identity.issuer.is_none() {
            identity.issuer = issuer_v1;
        }
        Ok(identity)
    }

    /// Whether the extended key usage, if present, allows code signing.
    pub(crate) fn allows_code_signing(&self) -> Result<bool, ArtifactError> {
        use x509_cert::ext::pkix::ExtendedKeyUsage;
        for ext in self.extensions() {
            if ext.extn_id.to_string() == OID_EKU {
                let eku = ExtendedKeyUsage::from_der(ext.extn_value.as_bytes())
                    .map_err(|e| ArtifactError::der("extended key usage", &e))?;
                return Ok(eku.0.iter().any(|oid| oid.to_string() == OID_CODE_SIGNING));
            }
        }
        Ok(false)
    }

    fn extensions(&self) -> impl Iterator<Item = &x509_cert::ext::Extension> {
        self.parsed.tbs_certificate.extensions.iter().flatten()
    }
}

fn to_chrono(t: x509_cert::time::Time) -> Option<DateTime<Utc>> {
    let secs = i64::try_from(t.to_unix_duration().as_secs()).ok()?;
    DateTime::from_timestamp(secs, 0)
}

/// Reads one DER tag-length header; returns (header length, content length).
fn der_header(input: &[u8]) -> Option<(usize, usize)> {
    let tag = *input.first()?;
    if tag & 0x1f == 0x1f {
        return None;
    }
    let first = *input.get(1)?;
    if first < 0x80 {
        return Some((2, usize::from(first)));
    }
    let n = usize::from(first & 0x7f);
    if n == 0 || n > 4 {
        return None;
    }
    let mut len = 0usize;
    for i in 0..n {
        len = (len << 8) | usize::from(*input.get(2 + i)?);
    }
    Some((2 + n, len))
}

/// The byte range of the `tbsCertificate` element inside a DER certificate.
fn tbs_range(der: &[u8]) -> Option<std::ops::Range<usize>> {
    let (outer_header, _) = der_header(der)?;
    let inner = der.get(outer_header..)?;
    let (h, len) = der_header(inner)?;
    let end = outer_header.checked_add(h)?.checked_add(len)?;
    (end <= der.len()).then_some(outer_header..end)
}

/// A chain to a trust anchor: each certificate signed by the next, the last one trusted.
///
/// `chain` is ordered from the certificate closest to the leaf up to the root. Every
/// certificate in it must be valid at `at`. The root's self-signature is not checked: it is
/// trusted by being in the trusted root, not by its signature.
pub(crate) fn verify_chain(
    leaf: &Cert,
    chain: &[Cert],
    at: DateTime<Utc>,
) -> Result<(), ArtifactError> {
    let mut child = leaf;
    for (i, ca) in chain.iter().enumerate() {
        if !child.is_signed_by(ca) {
            return Err(ArtifactError::UntrustedChain {
                reason: format!(
                    "`{}` is not signed by `{}`",
                    child.subject_text(),
                    ca.subject_text()
                ),
            });
        }
        ca.check_valid_at(at, &format!("ca certificate {i} `{}`", ca.subject_text()))?;
        child = ca;
    }
    if chain.is_empty() {
        return Err(ArtifactError::UntrustedChain {
            reason: "the certificate authority has no certificates".to_owned(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    const NPM_BUNDLE: &[u8] = include_bytes!(
        "../../testdata/supply-chain/sigstore-js-2.1.0.slsa-provenance-v1.sigstore.json"
    );

    fn leaf() -> Cert {
        let v: serde_json::Value = serde_json::from_slice(NPM_BUNDLE).unwrap();
        let b64 = v["verificationMaterial"]["certificate"]["rawBytes"]
            .as_str()
            .unwrap();
        Cert::from_der(&super::super::keys::b64(b64, "t").unwrap(), "leaf").unwrap()
    }

    #[test]
    fn leaf_is_valid_only_in_its_ten_minutes() {
        let leaf = leaf();
        let integrated = 1_693_323_623;
        for (offset, valid) in [(-1, false), (0, true), (600, true), (601, false)] {
            let at = DateTime::from_timestamp(integrated + offset, 0).unwrap();
            let result = leaf.check_valid_at(at, "signing certificate");
            assert_eq!(result.is_ok(), valid, "offset {offset}: {result:?}");
            if let Err(e) = result {
                assert!(matches!(e, ArtifactError::NotValidAtTime { .. }));
            }
        }
    }

    #[test]
    fn fulcio_identity_and_usage() {
        let leaf = leaf();
        let id = leaf.fulcio_identity().unwrap();
        assert_eq!(
            id.san.as_deref(),
            Some(
                "https://github.com/sigstore/sigstore-js/.github/workflows/release.yml@refs/heads/main"
            )
        );
        assert_eq!(
            id.issuer.as_deref(),
            Some("https://token.actions.githubusercontent.com")
        );
        assert!(leaf.allows_code_signing().unwrap());
        assert!(matches!(leaf.public_key().unwrap(), VerifyingKey::P256(_)));
    }

    #[test]
    fn tbs_range_rejects_garbage() {
        assert_eq!(tbs_range(&[]), None);
        assert_eq!(tbs_range(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff, 0x30]), None);
        assert_eq!(tbs_range(&[0x30, 0x03, 0x30, 0x01, 0x00]), Some(2..5));
        assert_eq!(tbs_range(&[0x30, 0x03, 0x30, 0x05, 0x00]), None);
    }
}
