//! The cosign "simple signing" payload: what `cosign sign` signs for a container image.

use fleet_core::Digest;

use super::error::ArtifactError;

/// The `critical.type` of a cosign container image signature.
pub const COSIGN_SIGNATURE_TYPE: &str = "cosign container image signature";

/// A parsed cosign simple-signing payload.
///
/// `{"critical":{"identity":{"docker-reference":...},"image":{"docker-manifest-digest":
/// "sha256:..."},"type":"cosign container image signature"},"optional":{...}}`
///
/// # Example
///
/// ```
/// use fleet_policy::artifact::SimpleSigning;
///
/// let payload = br#"{"critical":{"identity":{"docker-reference":"ghcr.io/acme/app"},
///   "image":{"docker-manifest-digest":"sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"},
///   "type":"cosign container image signature"},"optional":null}"#;
/// let s = SimpleSigning::from_json(payload)?;
/// assert_eq!(s.docker_reference, "ghcr.io/acme/app");
/// assert_eq!(s.manifest_digest, fleet_core::Digest::sha256(b"hello"));
/// # Ok::<(), fleet_policy::artifact::ArtifactError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct SimpleSigning {
    /// `critical.identity.docker-reference`.
    pub docker_reference: String,
    /// `critical.image.docker-manifest-digest`.
    pub manifest_digest: Digest,
    /// `optional`, as JSON (often annotations); not covered by any check here.
    pub optional: serde_json::Value,
}

impl SimpleSigning {
    /// Parses the payload and checks its `critical.type`.
    ///
    /// # Errors
    ///
    /// [`ArtifactError::Json`] if the payload is not JSON; [`ArtifactError::SimpleSigning`] if
    /// a field is missing, the type is wrong or the digest is malformed.
    pub fn from_json(payload: &[u8]) -> Result<Self, ArtifactError> {
        let value: serde_json::Value = serde_json::from_slice(payload)
            .map_err(|e| ArtifactError::json("simple-signing payload", &e))?;
        let text = |pointer: &str| {
            value
                .pointer(pointer)
                .and_then(serde_json::Value::as_str)
                .ok_or_else(|| ArtifactError::SimpleSigning {
                    reason: format!("missing string `{pointer}`"),
                })
        };
        let kind = text("/critical/type")?;
        if kind != COSIGN_SIGNATURE_TYPE {
            return Err(ArtifactError::SimpleSigning {
                reason: format!("unexpected type `{kind}`"),
            });
        }
        let digest = text("/critical/image/docker-manifest-digest")?;
        let manifest_digest = digest.parse().map_err(|e| ArtifactError::SimpleSigning {
            reason: format!("{e}"),
        })?;
        Ok(Self {
            docker_reference: text("/critical/identity/docker-reference")?.to_owned(),
            manifest_digest,
            optional: value
                .get("optional")
                .cloned()
                .unwrap_or(serde_json::Value::Null),
        })
    }

    /// Checks that the signed manifest digest is the deployed digest.
    ///
    /// # Errors
    ///
    /// [`ArtifactError::DigestMismatch`] otherwise.
    pub fn check_digest(&self, deployed: &Digest) -> Result<(), ArtifactError> {
        if &self.manifest_digest == deployed {
            Ok(())
        } else {
            Err(ArtifactError::DigestMismatch {
                expected: deployed.to_string(),
                found: self.manifest_digest.to_string(),
            })
        }
    }
}
