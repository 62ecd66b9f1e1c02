//! Offline verification of artifact signatures and provenance.
//!
//! Use this module to decide whether a deployed artifact (named by its [`Digest`]) was signed
//! by someone the policy trusts, and what its provenance says, without any network access:
//!
//! - [`Envelope`]: DSSE envelopes signed with Ed25519 or ECDSA P-256/P-384 keys (ECDSA
//!   signatures in DER or raw `r || s`), over the [`pae`] encoding;
//! - [`Bundle`]: Sigstore bundles v0.3 (and v0.2), keyless (a Fulcio certificate chained to
//!   a [`TrustedRoot`], checked at the Rekor log's integrated time) or with a managed key;
//!   the Rekor signed entry timestamp is verified and the log entry must describe the bundle;
//! - [`SimpleSigning`]: cosign's container image signature payload;
//! - [`Statement`]: in-toto Statement v1, with SLSA Provenance v1 checks in
//!   [`ProvenancePolicy`].
//!
//! A [`Verifier`] owns the trust material and caches results. The module is pure: it reads no
//! files, no clock and no network; the caller passes bytes in.
//!
//! # Example
//!
//! ```
//! use fleet_policy::artifact::{IdentityPolicy, Verifier, VerifyingKey, pae};
//! use fleet_core::Digest;
//!
//! let key = VerifyingKey::from_pem(
//!     "-----BEGIN PUBLIC KEY-----\n\
//!      MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAExRRST79+PsrRBnGAI4cMu6Omz2Jh\n\
//!      fwlMW+gIutNKVRaMyS4rQKvgngc5p8UbLj55pVHhIoAxi/SRgURZI0J3Xw==\n\
//!      -----END PUBLIC KEY-----\n",
//! )?;
//! let verifier = Verifier::new().with_key("release", key);
//! // An envelope that is not signed by the key is refused.
//! let envelope = br#"{"payload":"e30=","payloadType":"application/vnd.in-toto+json","signatures":[{"sig":"AAAA"}]}"#;
//! let refused = verifier.verify_envelope(envelope, &Digest::sha256(b"app"), &IdentityPolicy::key("release"));
//! assert!(refused.is_err());
//! assert_eq!(pae("t", b"x"), b"DSSEv1 1 t 1 x");
//! # Ok::<(), fleet_policy::artifact::ArtifactError>(())
//! ```
//!
//! # What is not verified
//!
//! Merkle inclusion proofs and signed checkpoints (the signed entry timestamp is trusted as
//! the log's promise), RFC 3161 timestamps (the integrated time is the only time source),
//! certificate transparency SCTs, and revocation.
//!
//! [`Digest`]: fleet_core::Digest

mod bundle;
mod cache;
mod cert;
mod dsse;
mod error;
mod intoto;
mod keys;
mod policy;
mod simple;
mod trust;
mod verifier;

pub use bundle::{BUNDLE_V0_2, BUNDLE_V0_3, BUNDLE_V0_3_ALT, Bundle, Content, Material, TlogEntry};
pub use cache::VerificationCache;
pub use dsse::{Envelope, EnvelopeSignature, IN_TOTO_PAYLOAD_TYPE, VerifiedPayload, pae};
pub use error::ArtifactError;
pub use intoto::{
    ProvenancePolicy, SLSA_PROVENANCE_V1, STATEMENT_V1, Statement, StatementSummary, Subject,
};
pub use keys::VerifyingKey;
pub use policy::{IdentityPolicy, SanPattern};
pub use simple::{COSIGN_SIGNATURE_TYPE, SimpleSigning};
pub use trust::TrustedRoot;
pub use verifier::{Signer, Verified, Verifier};
