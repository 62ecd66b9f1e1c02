//! The demo's release and policy set: sigstore-js 2.1.0 from npm with its real Sigstore
//! provenance bundle, `examples/policies/demo.yaml`, and SRE's approval. Shared by the
//! policy and rollout steps.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use fleet_core::{Actor, Digest, Workload};
use fleet_policy::artifact::TrustedRoot;
use fleet_policy::{
    Approval, Artifact, Evidence, LoadOptions, PolicySet, StaticDirectory, Verifier,
};

/// What a release request carries into policy.
#[derive(Debug)]
pub struct DemoRelease {
    /// The policy set, with its directory and Sigstore verifier.
    pub policies: PolicySet,
    /// The workload.
    pub workload: Workload,
    /// The artifact, with its provenance bundle.
    pub artifact: Artifact,
    /// Who asks.
    pub actor: Actor,
    /// The request id approvals refer to.
    pub request_id: &'static str,
    /// The approvals given so far: SRE's (`bo`), not yet security's.
    pub approvals: Vec<Approval>,
}

impl DemoRelease {
    /// Loads the demo's policy set and release, with approvals as of `at`.
    ///
    /// # Errors
    ///
    /// When the shipped policy file, trusted root or digest does not load.
    pub fn load(at: DateTime<Utc>) -> anyhow::Result<Self> {
        let schema = fleet_core::synth::schema();
        let directory = StaticDirectory::new()
            .group("sre", ["ana", "bo"])
            .group("security", ["dee"]);
        let verifier = Verifier::new().with_trusted_root(TrustedRoot::from_json(include_bytes!(
            "../testdata/sigstore-public-good.trusted_root.json"
        ))?);
        let text = include_str!("../policies/demo.yaml");
        let policies = PolicySet::from_yaml(text, &LoadOptions::new(&schema).directory(&directory))
            .map_err(|e| anyhow::anyhow!(e.render()))?
            .with_directory(Arc::new(directory))
            .with_verifier(Arc::new(verifier));
        let digest: Digest = "sha512:90f223f992e4c88dd068cd2a5fc57f9d2b30798343dd6e38f29c240e04ba090ef831f84490847c4e82b9232c78e8a258463b1e55c0f7469f730265008fa6633f".parse()?;
        let artifact = Artifact::new(digest.clone())
            .image("registry.npmjs.org/sigstore@2.1.0")
            .evidence(Evidence::sigstore_bundle(
                include_bytes!("../testdata/sigstore-js-2.1.0.slsa-provenance-v1.sigstore.json")
                    .as_slice(),
            ));
        let approvals = vec![Approval::approve(
            "bo",
            "rel-42",
            digest,
            "regulated/dual-approval",
            at - chrono::Duration::hours(2),
            at + chrono::Duration::days(1),
        )];
        Ok(Self {
            policies,
            workload: Workload::new("sigstore-js"),
            artifact,
            actor: Actor::human("zed"),
            request_id: "rel-42",
            approvals,
        })
    }

    /// Security's approval (`dee`), given at `at` and valid for a day.
    #[must_use]
    pub fn security_approval(&self, at: DateTime<Utc>) -> Approval {
        Approval::approve(
            "dee",
            self.request_id,
            self.artifact.digest.clone(),
            "regulated/dual-approval",
            at,
            at + chrono::Duration::days(1),
        )
    }
}
