//! Workloads and releases.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::digest::Digest;
use crate::version::Version;

/// Something that is deployed to targets: an application, an add-on, a platform component.
///
/// # Example
///
/// ```
/// use fleet_core::{Digest, Release, Version, Workload};
///
/// let w = Workload::new("ingress-nginx").class("platform");
/// let r = Release::new(&w, "4.10.1".parse::<Version>()?)
///     .artifact("controller", Digest::sha256(b"image bytes"));
/// assert_eq!(r.workload, "ingress-nginx");
/// # Ok::<(), fleet_core::VersionError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Workload {
    /// The workload's name, unique in a fleet.
    pub name: String,
    /// Its class (`regulated`, `platform`, `batch`), which placement rules compare with a
    /// target's compliance class.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<String>,
    /// Free-form labels that workload selectors address.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

impl Workload {
    /// A workload with a name and nothing else.
    #[must_use]
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            class: None,
            labels: BTreeMap::new(),
        }
    }

    /// Sets the class.
    #[must_use]
    pub fn class(mut self, class: impl Into<String>) -> Self {
        self.class = Some(class.into());
        self
    }

    /// Adds a label.
    #[must_use]
    pub fn label(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.labels.insert(key.into(), value.into());
        self
    }
}

/// A version of a workload, pinned to the digests of its artifacts.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Release {
    /// The workload's name.
    pub workload: String,
    /// The release version.
    pub version: Version,
    /// Artifact name (image, chart, bundle) to content digest.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub artifacts: BTreeMap<String, Digest>,
}

impl Release {
    /// A release of `workload` with no artifacts yet.
    #[must_use]
    pub fn new(workload: &Workload, version: Version) -> Self {
        Self {
            workload: workload.name.clone(),
            version,
            artifacts: BTreeMap::new(),
        }
    }

    /// Adds an artifact digest.
    #[must_use]
    pub fn artifact(mut self, name: impl Into<String>, digest: Digest) -> Self {
        self.artifacts.insert(name.into(), digest);
        self
    }
}
