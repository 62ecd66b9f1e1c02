//! Errors of the diff, normalisation and apply operations.

use std::fmt;

use crate::path::Path;

/// Which document of a comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Side {
    /// The desired document (from Git, a release, a template).
    Desired,
    /// The observed document (read back from the target).
    Observed,
    /// The last-applied document of a three-way diff.
    LastApplied,
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Desired => "desired",
            Self::Observed => "observed",
            Self::LastApplied => "last-applied",
        })
    }
}

/// Why documents could not be compared or normalised.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DiffError {
    /// A document is not a JSON object.
    #[error("the {side} document is not an object but {found}")]
    NotAnObject {
        /// Which document.
        side: Side,
        /// What it is instead (`an array`, `a string`, ...).
        found: &'static str,
    },
    /// A document nests deeper than [`DiffOptions::max_depth`](crate::DiffOptions::max_depth).
    #[error("the document nests deeper than {limit} levels at `{path}`")]
    TooDeep {
        /// The limit.
        limit: usize,
        /// Where the limit was reached (field names; list positions left out).
        path: Path,
    },
    /// An object of an object set has no identity field.
    #[error("object {index} of the {side} set has no string `{field}`")]
    MissingIdentity {
        /// Which set.
        side: Side,
        /// Its position in the set.
        index: usize,
        /// The missing field (`kind`, `metadata.name`, ...).
        field: &'static str,
    },
    /// Two objects of one set have the same identity.
    #[error("object `{key}` appears twice in the {side} set")]
    DuplicateObject {
        /// Which set.
        side: Side,
        /// The identity, as [`ObjectKey`](crate::ObjectKey) displays it.
        key: String,
    },
}

/// Why a diff could not be applied to a document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ApplyError {
    /// The document could not be normalised first.
    #[error("cannot normalise the document")]
    Normalize(#[source] DiffError),
    /// A change's path does not exist in the document (or its parent does not, for an
    /// addition).
    #[error("path `{path}` is not in the document")]
    PathNotFound {
        /// The change's path.
        path: Path,
    },
    /// An addition or modification carries no new value.
    #[error("the change at `{path}` has no observed value")]
    MissingValue {
        /// The change's path.
        path: Path,
    },
}

pub(crate) fn describe(v: &serde_json::Value) -> &'static str {
    use serde_json::Value as J;
    match v {
        J::Null => "null",
        J::Bool(_) => "a boolean",
        J::Number(_) => "a number",
        J::String(_) => "a string",
        J::Array(_) => "an array",
        J::Object(_) => "an object",
    }
}
