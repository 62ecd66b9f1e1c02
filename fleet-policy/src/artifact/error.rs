//! The one error type of artifact verification.

/// Why an artifact's signature or provenance was refused.
///
/// Every variant is a reason a caller can act on: fix the input, fix the trust material, or
/// fix the policy. The type is `Clone + PartialEq` so that [`Verifier`](super::Verifier) can
/// cache refusals as well as successes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ArtifactError {
    /// A JSON document (or a part of one) does not parse or lacks a required field.
    #[error("malformed json in `{field}`: {reason}")]
    Json {
        /// Which document or field.
        field: String,
        /// What the parser said.
        reason: String,
    },
    /// A field that must be base64 is not.
    #[error("malformed base64 in `{field}`")]
    Base64 {
        /// Which field.
        field: String,
    },
    /// A field that must be PEM is not, or has the wrong label.
    #[error("malformed pem in `{field}`: {reason}")]
    Pem {
        /// Which field.
        field: String,
        /// What is wrong.
        reason: String,
    },
    /// A field that must be DER (a certificate, a key, a signature) is not.
    #[error("malformed der in `{field}`: {reason}")]
    Der {
        /// Which field.
        field: String,
        /// What is wrong.
        reason: String,
    },
    /// The bundle's `mediaType` is not a supported Sigstore bundle version.
    #[error("unsupported bundle media type `{media_type}`")]
    UnsupportedMediaType {
        /// The media type found.
        media_type: String,
    },
    /// Something valid but not supported here: a key type, a signature algorithm, a log
    /// entry kind.
    #[error("unsupported {what} `{value}`")]
    Unsupported {
        /// What kind of thing.
        what: &'static str,
        /// The value found.
        value: String,
    },
    /// A signature does not verify.
    #[error("signature invalid: {what}")]
    SignatureInvalid {
        /// Which signature.
        what: String,
    },
    /// The signing certificate does not chain to a certificate authority of the trusted
    /// roots.
    #[error("certificate chain does not lead to a trusted root: {reason}")]
    UntrustedChain {
        /// Why no chain was found.
        reason: String,
    },
    /// A certificate (or a trusted key) was not valid at the transparency log's integrated
    /// time.
    #[error(
        "{what} not valid at the log's integrated time `{at}` (valid from `{not_before}` to `{not_after}`)"
    )]
    NotValidAtTime {
        /// Which certificate or key.
        what: String,
        /// The integrated time.
        at: String,
        /// Start of validity.
        not_before: String,
        /// End of validity.
        not_after: String,
    },
    /// The signer is not the identity the policy expects.
    #[error("identity mismatch: expected {field} `{expected}`, found `{found}`")]
    IdentityMismatch {
        /// Which part of the identity (`san`, `issuer`, `signer kind`).
        field: &'static str,
        /// What the policy asked for.
        expected: String,
        /// What the certificate or bundle holds.
        found: String,
    },
    /// The transparency log's signed entry timestamp is missing or does not verify.
    #[error("rekor signed entry timestamp invalid: {reason}")]
    SetInvalid {
        /// Why.
        reason: String,
    },
    /// The transparency log entry describes a different signature, key or digest than the
    /// bundle (for example an entry transplanted from another bundle).
    #[error("log entry does not match the bundle: {reason}")]
    LogEntryMismatch {
        /// Which part differs.
        reason: String,
    },
    /// The signed digest is not the digest of the deployed artifact.
    #[error("digest mismatch: expected `{expected}`, found `{found}`")]
    DigestMismatch {
        /// The deployed artifact's digest.
        expected: String,
        /// What the signature covers.
        found: String,
    },
    /// No trusted key has this name, id or hint.
    #[error("unknown key `{key}`")]
    UnknownKey {
        /// The name, key id or hint that was looked up.
        key: String,
    },
    /// No trusted transparency log has this log id.
    #[error("unknown transparency log `{log_id}`")]
    UnknownLog {
        /// The log id (hex).
        log_id: String,
    },
    /// A DSSE envelope's payload type is not the expected one.
    #[error("wrong payload type: expected `{expected}`, found `{found}`")]
    WrongPayloadType {
        /// The expected payload type.
        expected: String,
        /// The payload type found.
        found: String,
    },
    /// An envelope or bundle carries no signature.
    #[error("no signatures in `{field}`")]
    NoSignatures {
        /// Which field was empty.
        field: String,
    },
    /// The statement's `_type` is not in-toto Statement v1.
    #[error("wrong statement type `{found}`; expected `https://in-toto.io/Statement/v1`")]
    WrongStatementType {
        /// The `_type` found.
        found: String,
    },
    /// The statement's predicate type is not the one the policy expects.
    #[error("wrong predicate type: expected `{expected}`, found `{found}`")]
    WrongPredicateType {
        /// What the policy expects.
        expected: String,
        /// What the statement holds.
        found: String,
    },
    /// No subject of the statement has the deployed digest.
    #[error("no statement subject has digest `{digest}`")]
    SubjectNotFound {
        /// The deployed digest.
        digest: String,
    },
    /// The provenance's builder is not one of the trusted builders.
    #[error("untrusted builder id `{found}`")]
    UntrustedBuilder {
        /// The builder id found (empty if the predicate has none).
        found: String,
    },
    /// The cosign simple-signing payload is not well formed.
    #[error("malformed simple-signing payload: {reason}")]
    SimpleSigning {
        /// Why.
        reason: String,
    },
}

impl ArtifactError {
    pub(crate) fn json(field: &str, err: &impl std::fmt::Display) -> Self {
        Self::Json {
            field: field.to_owned(),
            reason: err.to_string(),
        }
    }

    pub(crate) fn missing(field: &str) -> Self {
        Self::Json {
            field: field.to_owned(),
            reason: "missing field".to_owned(),
        }
    }

    pub(crate) fn base64(field: &str) -> Self {
        Self::Base64 {
            field: field.to_owned(),
        }
    }

    pub(crate) fn der(field: &str, err: &impl std::fmt::Display) -> Self {
        Self::Der {
            field: field.to_owned(),
            reason: err.to_string(),
        }
    }

    pub(crate) fn pem(field: &str, err: &impl std::fmt::Display) -> Self {
        Self::Pem {
            field: field.to_owned(),
            reason: err.to_string(),
        }
    }

    pub(crate) fn signature(what: &str) -> Self {
        Self::SignatureInvalid {
            what: what.to_owned(),
        }
    }

    pub(crate) fn mismatch(reason: &str) -> Self {
        Self::LogEntryMismatch {
            reason: reason.to_owned(),
        }
    }
}
