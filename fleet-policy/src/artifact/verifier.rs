//! The verifier: trust material, the three entry points, and their results.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use fleet_core::Digest;
use sha2::{Digest as _, Sha256};

use super::bundle::{Bundle, Content, Material, SignerMaterial, check_body};
use super::cache::{CacheKey, VerificationCache};
use super::cert::{Cert, verify_chain};
use super::dsse::{Envelope, IN_TOTO_PAYLOAD_TYPE};
use super::error::ArtifactError;
use super::intoto::{ProvenancePolicy, Statement, StatementSummary};
use super::keys::VerifyingKey;
use super::policy::IdentityPolicy;
use super::simple::SimpleSigning;
use super::trust::{TrustedRoot, log_id_hex};

/// Who signed a verified artifact.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Signer {
    /// A Fulcio certificate's identity.
    Keyless {
        /// The subject alternative name (URI or email).
        san: String,
        /// The OIDC issuer.
        issuer: String,
    },
    /// A managed key.
    Key {
        /// [`VerifyingKey::key_id`] of the key.
        key_id: String,
    },
}

/// What a successful verification established.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// Who signed.
    pub signer: Signer,
    /// What the signature covers: the message digest, the manifest digest, or the statement's
    /// subject digests. The deployed digest is always among them.
    pub digests: Vec<Digest>,
    /// The in-toto statement, when the signature covers one.
    pub statement: Option<StatementSummary>,
    /// The transparency log's integrated time, when a log entry was verified.
    pub integrated_time: Option<DateTime<Utc>>,
}

const KIND_BUNDLE: u8 = 1;
const KIND_ENVELOPE: u8 = 2;
const KIND_SIMPLE: u8 = 3;

/// Verifies artifact signatures offline against the trust material it owns.
///
/// It never reads the clock: certificates are checked at the transparency log's integrated
/// time. Results (successes and refusals) are cached in a [`VerificationCache`], keyed by the
/// input bytes, the trust material, the identity policy and the artifact digest.
///
/// What is checked for a Sigstore bundle:
/// - the Rekor signed entry timestamp, with the key of the trusted log whose id the entry
///   names, valid at the integrated time;
/// - that the log entry's body names this bundle's signature, signer and digest
///   (`hashedrekord` 0.0.1, `intoto` 0.0.2, `dsse` 0.0.1; other kinds are refused);
/// - keyless: the certificate chains to a trusted Fulcio CA valid at the integrated time,
///   the certificate is valid then and allows code signing, and its SAN and OIDC issuer
///   match the [`IdentityPolicy`];
/// - managed key: the named key (and the bundle's hint, when present, names that key);
/// - the signature: over the DSSE PAE, or over the message digest, which must be the deployed
///   digest; an in-toto statement must have the deployed digest as a subject and satisfy the
///   [`ProvenancePolicy`], if one is set.
///
/// Not checked: Merkle inclusion proofs and checkpoints (the SET is the log's promise),
/// RFC 3161 timestamps, signed certificate timestamps, certificate revocation.
#[derive(Debug, Clone)]
pub struct Verifier {
    roots: Vec<TrustedRoot>,
    keys: BTreeMap<String, VerifyingKey>,
    provenance: Option<ProvenancePolicy>,
    trust_digest: [u8; 32],
    cache: Arc<VerificationCache>,
}

impl Default for Verifier {
    fn default() -> Self {
        Self::new()
    }
}

impl Verifier {
    /// A verifier that trusts nothing yet, with its own cache.
    #[must_use]
    pub fn new() -> Self {
        let mut v = Self {
            roots: Vec::new(),
            keys: BTreeMap::new(),
            provenance: None,
            trust_digest: [0; 32],
            cache: Arc::new(VerificationCache::default()),
        };
        v.refresh_digest();
        v
    }

    /// Adds a Sigstore trusted root (Fulcio CAs and Rekor keys).
    #[must_use]
    pub fn with_trusted_root(mut self, root: TrustedRoot) -> Self {
        self.roots.push(root);
        self.refresh_digest();
        self
    }

    /// Registers a managed key under `name` (replacing any key of that name).
    #[must_use]
    pub fn with_key(mut self, name: impl Into<String>, key: VerifyingKey) -> Self {
        self.keys.insert(name.into(), key);
        self.refresh_digest();
        self
    }

    /// Requires every in-toto statement to satisfy `policy`. Without one, a statement must
    /// still name the deployed digest as a subject.
    #[must_use]
    pub fn with_provenance_policy(mut self, policy: ProvenancePolicy) -> Self {
        self.provenance = Some(policy);
        self.refresh_digest();
        self
    }

    /// Uses `cache` (which other verifiers may share) instead of this verifier's own.
    #[must_use]
    pub fn with_cache(mut self, cache: Arc<VerificationCache>) -> Self {
        self.cache = cache;
        self
    }

    /// The cache this verifier uses.
    #[must_use]
    pub fn cache(&self) -> &Arc<VerificationCache> {
        &self.cache
    }

    /// A digest of all the trust material and the provenance policy; part of every cache key.
    #[must_use]
    pub fn trust_digest(&self) -> [u8; 32] {
        self.trust_digest
    }

    fn refresh_digest(&mut self) {
        let mut h = Sha256::new();
        let mut field = |bytes: &[u8]| {
            h.update((bytes.len() as u64).to_be_bytes());
            h.update(bytes);
        };
        for root in &self.roots {
            field(b"root");
            field(&root.digest());
        }
        for (name, key) in &self.keys {
            field(b"key");
            field(name.as_bytes());
            field(&key.to_spki_der());
        }
        if let Some(p) = &self.provenance {
            field(b"provenance");
            field(p.canonical().as_bytes());
        }
        self.trust_digest = h.finalize().into();
    }

    fn key_for(
        &self,
        artifact: &Digest,
        kind: u8,
        input: [u8; 32],
        identity: [u8; 32],
    ) -> CacheKey {
        CacheKey {
            kind,
            input,
            trust: self.trust_digest,
            identity,
            artifact: artifact.clone(),
        }
    }

    /// The digest of a bundle's or envelope's bytes, as the cache keys it.
    pub(crate) fn input_digest(bytes: &[u8]) -> [u8; 32] {
        Sha256::digest(bytes).into()
    }

    /// The digest of a simple-signing payload and signature, as the cache keys it.
    pub(crate) fn simple_input_digest(payload: &[u8], signature: &[u8]) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update((payload.len() as u64).to_be_bytes());
        h.update(payload);
        h.update(signature);
        h.finalize().into()
    }

    /// Verifies a Sigstore bundle (JSON) for the deployed `artifact_digest`, signed by
    /// `identity`. See the type docs for what is checked.
    ///
    /// # Errors
    ///
    /// The [`ArtifactError`] that refused the bundle. Refusals are cached too.
    pub fn verify_bundle(
        &self,
        bundle_json: &[u8],
        artifact_digest: &Digest,
        identity: &IdentityPolicy,
    ) -> Result<Verified, ArtifactError> {
        self.verify_bundle_keyed(
            bundle_json,
            Self::input_digest(bundle_json),
            artifact_digest,
            identity,
            identity.digest(),
        )
    }

    /// [`Verifier::verify_bundle`] with the input and identity digests already computed
    /// (the policy engine computes them once, not per decision).
    pub(crate) fn verify_bundle_keyed(
        &self,
        bundle_json: &[u8],
        input: [u8; 32],
        artifact_digest: &Digest,
        identity: &IdentityPolicy,
        identity_digest: [u8; 32],
    ) -> Result<Verified, ArtifactError> {
        let key = self.key_for(artifact_digest, KIND_BUNDLE, input, identity_digest);
        self.cache.get_or_verify(key, || {
            self.verify_bundle_uncached(bundle_json, artifact_digest, identity)
        })
    }

    /// Verifies a bare DSSE envelope (JSON) holding an in-toto statement, signed by the
    /// managed key `identity` names. There is no log entry, so `integrated_time` is `None`.
    ///
    /// # Errors
    ///
    /// The [`ArtifactError`] that refused the envelope; a keyless `identity` is refused, since a
    /// bare envelope carries no certificate.
    pub fn verify_envelope(
        &self,
        envelope_json: &[u8],
        artifact_digest: &Digest,
        identity: &IdentityPolicy,
    ) -> Result<Verified, ArtifactError> {
        self.verify_envelope_keyed(
            envelope_json,
            Self::input_digest(envelope_json),
            artifact_digest,
            identity,
            identity.digest(),
        )
    }

    /// [`Verifier::verify_envelope`] with the digests already computed.
    pub(crate) fn verify_envelope_keyed(
        &self,
        envelope_json: &[u8],
        input: [u8; 32],
        artifact_digest: &Digest,
        identity: &IdentityPolicy,
        identity_digest: [u8; 32],
    ) -> Result<Verified, ArtifactError> {
        let key = self.key_for(artifact_digest, KIND_ENVELOPE, input, identity_digest);
        self.cache.get_or_verify(key, || {
            let (key, signer) = self.managed_key(identity, None)?;
            let envelope = Envelope::from_json(envelope_json)?;
            let (digests, statement) = self.check_dsse(&envelope, key, artifact_digest)?;
            Ok(Verified {
                signer,
                digests,
                statement: Some(statement),
                integrated_time: None,
            })
        })
    }

    /// Verifies a cosign simple-signing `payload` and its raw `signature` (DER or `r || s`;
    /// cosign stores it base64 in an annotation, which the caller decodes), signed by the
    /// managed key `identity` names, for the deployed image manifest `artifact_digest`.
    ///
    /// # Errors
    ///
    /// [`ArtifactError::SignatureInvalid`], [`ArtifactError::SimpleSigning`],
    /// [`ArtifactError::DigestMismatch`], or a key lookup error.
    pub fn verify_simple_signing(
        &self,
        payload: &[u8],
        signature: &[u8],
        artifact_digest: &Digest,
        identity: &IdentityPolicy,
    ) -> Result<Verified, ArtifactError> {
        self.verify_simple_signing_keyed(
            payload,
            signature,
            Self::simple_input_digest(payload, signature),
            artifact_digest,
            identity,
            identity.digest(),
        )
    }

    /// [`Verifier::verify_simple_signing`] with the digests already computed.
    pub(crate) fn verify_simple_signing_keyed(
        &self,
        payload: &[u8],
        signature: &[u8],
        input: [u8; 32],
        artifact_digest: &Digest,
        identity: &IdentityPolicy,
        identity_digest: [u8; 32],
    ) -> Result<Verified, ArtifactError> {
        let key = self.key_for(artifact_digest, KIND_SIMPLE, input, identity_digest);
        self.cache.get_or_verify(key, || {
            let (key, signer) = self.managed_key(identity, None)?;
            key.verify(payload, signature, "simple-signing payload")?;
            let simple = SimpleSigning::from_json(payload)?;
            simple.check_digest(artifact_digest)?;
            Ok(Verified {
                signer,
                digests: vec![simple.manifest_digest],
                statement: None,
                integrated_time: None,
            })
        })
    }

    fn managed_key(
        &self,
        identity: &IdentityPolicy,
        hint: Option<&str>,
    ) -> Result<(&VerifyingKey, Signer), ArtifactError> {
        let IdentityPolicy::Key { name } = identity else {
            return Err(ArtifactError::IdentityMismatch {
                field: "signer kind",
                expected: "keyless certificate".to_owned(),
                found: "managed key".to_owned(),
            });
        };
        let key = self
            .keys
            .get(name)
            .ok_or_else(|| ArtifactError::UnknownKey { key: name.clone() })?;
        if let Some(hint) = hint
            && hint != key.hint()
        {
            return Err(ArtifactError::UnknownKey {
                key: hint.to_owned(),
            });
        }
        Ok((
            key,
            Signer::Key {
                key_id: key.key_id(),
            },
        ))
    }

    fn check_dsse(
        &self,
        envelope: &Envelope,
        key: &VerifyingKey,
        artifact: &Digest,
    ) -> Result<(Vec<Digest>, StatementSummary), ArtifactError> {
        let verified = envelope.verify(std::slice::from_ref(key))?;
        if verified.payload_type != IN_TOTO_PAYLOAD_TYPE {
            return Err(ArtifactError::WrongPayloadType {
                expected: IN_TOTO_PAYLOAD_TYPE.to_owned(),
                found: verified.payload_type,
            });
        }
        let statement = Statement::from_json(&verified.payload)?;
        let summary = match &self.provenance {
            Some(policy) => policy.check(&statement, artifact)?,
            None => {
                statement.check_subject(artifact)?;
                statement.summary()
            }
        };
        Ok((statement.subject_digests(), summary))
    }

    fn check_chain(&self, leaf: &Cert, at: DateTime<Utc>) -> Result<(), ArtifactError> {
        let mut first_error = None;
        for ca in self.roots.iter().flat_map(|r| r.authorities.iter()) {
            if !ca.valid_for.contains(at) {
                continue;
            }
            match verify_chain(leaf, &ca.chain, at) {
                Ok(()) => return Ok(()),
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        Err(
            first_error.unwrap_or_else(|| ArtifactError::UntrustedChain {
                reason: format!(
                    "no trusted certificate authority is valid at `{}`",
                    at.to_rfc3339()
                ),
            }),
        )
    }

    fn verify_bundle_uncached(
        &self,
        bundle_json: &[u8],
        artifact: &Digest,
        identity: &IdentityPolicy,
    ) -> Result<Verified, ArtifactError> {
        let bundle = Bundle::from_json(bundle_json)?;
        let entry = bundle
            .tlog_entries
            .first()
            .ok_or_else(|| ArtifactError::SetInvalid {
                reason: "the bundle has no transparency log entry".to_owned(),
            })?;
        let at = entry.integrated_at()?;

        // 1. The log promised to include this entry at `at`.
        let log = self
            .roots
            .iter()
            .find_map(|r| r.log(&entry.log_id))
            .ok_or_else(|| ArtifactError::UnknownLog {
                log_id: log_id_hex(&entry.log_id),
            })?;
        if !log.valid_for.contains(at) {
            let (not_before, not_after) = log.valid_for.describe();
            return Err(ArtifactError::NotValidAtTime {
                what: format!("transparency log key `{}`", log_id_hex(&entry.log_id)),
                at: at.to_rfc3339(),
                not_before,
                not_after,
            });
        }
        entry.verify_set(log)?;

        // 2. The entry is about this bundle: same signer, signature and digest.
        let (key, signer, leaf) = match (&bundle.material, identity) {
            (Material::Certificate(der), IdentityPolicy::Keyless { .. }) => {
                let leaf = Cert::from_der(der, "verificationMaterial.certificate")?;
                let key = leaf.public_key()?;
                (key, None, Some(leaf))
            }
            (Material::PublicKey { hint }, IdentityPolicy::Key { .. }) => {
                let (key, signer) = self.managed_key(identity, hint.as_deref())?;
                (key.clone(), Some(signer), None)
            }
            (Material::Certificate(_), _) => {
                return Err(ArtifactError::IdentityMismatch {
                    field: "signer kind",
                    expected: "managed key".to_owned(),
                    found: "keyless certificate".to_owned(),
                });
            }
            (_, _) => {
                return Err(ArtifactError::IdentityMismatch {
                    field: "signer kind",
                    expected: "keyless certificate".to_owned(),
                    found: "managed key".to_owned(),
                });
            }
        };
        let material = match &leaf {
            Some(cert) => SignerMaterial::Cert(cert),
            None => SignerMaterial::Key(&key),
        };
        check_body(entry, &bundle.content, &material)?;

        // 3. Keyless: the certificate is trusted, valid at `at`, and the expected identity.
        let signer = match (signer, &leaf, identity) {
            (Some(signer), _, _) => signer,
            (None, Some(leaf), IdentityPolicy::Keyless { issuer, san }) => {
                self.check_chain(leaf, at)?;
                leaf.check_valid_at(at, "signing certificate")?;
                if !leaf.allows_code_signing()? {
                    return Err(ArtifactError::UntrustedChain {
                        reason: "the signing certificate does not allow code signing".to_owned(),
                    });
                }
                let found = leaf.fulcio_identity()?;
                let found_issuer = found.issuer.unwrap_or_default();
                if &found_issuer != issuer {
                    return Err(ArtifactError::IdentityMismatch {
                        field: "issuer",
                        expected: issuer.clone(),
                        found: found_issuer,
                    });
                }
                let found_san = found.san.unwrap_or_default();
                if !san.matches(&found_san) {
                    return Err(ArtifactError::IdentityMismatch {
                        field: "san",
                        expected: san.to_string(),
                        found: found_san,
                    });
                }
                Signer::Keyless {
                    san: found_san,
                    issuer: found_issuer,
                }
            }
            _ => {
                return Err(ArtifactError::UntrustedChain {
                    reason: "no signing certificate".to_owned(),
                });
            }
        };

        // 4. The signature over the content, and the content names the deployed artifact.
        let (digests, statement) = match &bundle.content {
            Content::Dsse(envelope) => {
                let (digests, summary) = self.check_dsse(envelope, &key, artifact)?;
                (digests, Some(summary))
            }
            Content::MessageSignature { digest, signature } => {
                if digest != artifact {
                    return Err(ArtifactError::DigestMismatch {
                        expected: artifact.to_string(),
                        found: digest.to_string(),
                    });
                }
                key.verify_prehash(digest.as_bytes(), signature, "message signature")?;
                (vec![digest.clone()], None)
            }
        };
        Ok(Verified {
            signer,
            digests,
            statement,
            integrated_time: Some(at),
        })
    }
}
