//! in-toto Statement v1 and the SLSA Provenance v1 checks.

use std::collections::BTreeMap;

use fleet_core::Digest;
use serde::{Deserialize, Serialize};

use super::error::ArtifactError;

/// The `_type` of an in-toto Statement v1.
pub const STATEMENT_V1: &str = "https://in-toto.io/Statement/v1";
/// The predicate type of SLSA Provenance v1.
pub const SLSA_PROVENANCE_V1: &str = "https://slsa.dev/provenance/v1";

/// One subject of a statement: a name and its digests by algorithm (hex).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subject {
    /// The subject's name (a file name, a package URL, ...).
    #[serde(default)]
    pub name: String,
    /// Digests by algorithm name (`sha256`, `sha512`, or others that are kept but not used).
    pub digest: BTreeMap<String, String>,
}

/// An in-toto Statement v1.
///
/// # Example
///
/// ```
/// use fleet_policy::artifact::Statement;
///
/// let json = br#"{"_type":"https://in-toto.io/Statement/v1",
///   "subject":[{"name":"app","digest":{"sha256":"2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"}}],
///   "predicateType":"https://slsa.dev/provenance/v1","predicate":{}}"#;
/// let statement = Statement::from_json(json)?;
/// assert_eq!(statement.subject_digests(), vec![fleet_core::Digest::sha256(b"hello")]);
/// # Ok::<(), fleet_policy::artifact::ArtifactError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Statement {
    /// The statement type; [`STATEMENT_V1`] for statements accepted here.
    #[serde(rename = "_type")]
    pub statement_type: String,
    /// What the statement is about.
    pub subject: Vec<Subject>,
    /// The predicate type, e.g. [`SLSA_PROVENANCE_V1`].
    #[serde(rename = "predicateType")]
    pub predicate_type: String,
    /// The predicate, as JSON.
    #[serde(default)]
    pub predicate: serde_json::Value,
}

/// What a verified statement says, in short.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StatementSummary {
    /// The predicate type.
    pub predicate_type: String,
    /// SLSA v1 `predicate.runDetails.builder.id`, if present.
    pub builder_id: Option<String>,
    /// SLSA v1 `predicate.buildDefinition.buildType`, if present.
    pub build_type: Option<String>,
}

impl Statement {
    /// Parses a statement and checks that its `_type` is in-toto Statement v1.
    ///
    /// # Errors
    ///
    /// [`ArtifactError::Json`] if malformed; [`ArtifactError::WrongStatementType`] for another
    /// `_type`.
    pub fn from_json(json: &[u8]) -> Result<Self, ArtifactError> {
        let statement: Self =
            serde_json::from_slice(json).map_err(|e| ArtifactError::json("statement", &e))?;
        if statement.statement_type != STATEMENT_V1 {
            return Err(ArtifactError::WrongStatementType {
                found: statement.statement_type,
            });
        }
        Ok(statement)
    }

    /// The subjects' digests this crate can compare (sha256 and sha512), in subject order.
    #[must_use]
    pub fn subject_digests(&self) -> Vec<Digest> {
        self.subject
            .iter()
            .flat_map(|s| s.digest.iter())
            .filter_map(|(alg, hex)| format!("{alg}:{}", hex.to_ascii_lowercase()).parse().ok())
            .collect()
    }

    /// Checks that some subject has digest `deployed`.
    ///
    /// # Errors
    ///
    /// [`ArtifactError::SubjectNotFound`] otherwise.
    pub fn check_subject(&self, deployed: &Digest) -> Result<(), ArtifactError> {
        if self.subject_digests().contains(deployed) {
            Ok(())
        } else {
            Err(ArtifactError::SubjectNotFound {
                digest: deployed.to_string(),
            })
        }
    }

    /// The predicate type and, for SLSA v1, the builder id and build type.
    #[must_use]
    pub fn summary(&self) -> StatementSummary {
        let text = |pointer: &str| {
            self.predicate
                .pointer(pointer)
                .and_then(serde_json::Value::as_str)
                .map(str::to_owned)
        };
        StatementSummary {
            predicate_type: self.predicate_type.clone(),
            builder_id: text("/runDetails/builder/id"),
            build_type: text("/buildDefinition/buildType"),
        }
    }
}

/// What provenance must say: the predicate type and the builders trusted to produce it.
///
/// # Example
///
/// ```
/// use fleet_policy::artifact::ProvenancePolicy;
///
/// let policy = ProvenancePolicy::slsa_v1(["https://github.com/actions/runner/github-hosted"]);
/// assert_eq!(policy.predicate_type, "https://slsa.dev/provenance/v1");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ProvenancePolicy {
    /// The predicate type the statement must have.
    pub predicate_type: String,
    /// Builder ids (`predicate.runDetails.builder.id`) trusted, compared exactly. Empty means
    /// no builder check.
    pub trusted_builders: Vec<String>,
}

impl ProvenancePolicy {
    /// SLSA Provenance v1 from any of `builders`.
    #[must_use]
    pub fn slsa_v1<S: Into<String>>(builders: impl IntoIterator<Item = S>) -> Self {
        Self {
            predicate_type: SLSA_PROVENANCE_V1.to_owned(),
            trusted_builders: builders.into_iter().map(Into::into).collect(),
        }
    }

    /// Checks the statement: the deployed digest is a subject, the predicate type is the
    /// expected one and the builder is trusted.
    ///
    /// # Errors
    ///
    /// [`ArtifactError::SubjectNotFound`], [`ArtifactError::WrongPredicateType`] or
    /// [`ArtifactError::UntrustedBuilder`].
    pub fn check(
        &self,
        statement: &Statement,
        deployed: &Digest,
    ) -> Result<StatementSummary, ArtifactError> {
        statement.check_subject(deployed)?;
        if statement.predicate_type != self.predicate_type {
            return Err(ArtifactError::WrongPredicateType {
                expected: self.predicate_type.clone(),
                found: statement.predicate_type.clone(),
            });
        }
        let summary = statement.summary();
        if !self.trusted_builders.is_empty() {
            let builder = summary.builder_id.clone().unwrap_or_default();
            if !self.trusted_builders.contains(&builder) {
                return Err(ArtifactError::UntrustedBuilder { found: builder });
            }
        }
        Ok(summary)
    }

    pub(crate) fn canonical(&self) -> String {
        let mut builders = self.trusted_builders.clone();
        builders.sort();
        serde_json::json!({"predicateType": self.predicate_type, "trustedBuilders": builders})
            .to_string()
    }
}
