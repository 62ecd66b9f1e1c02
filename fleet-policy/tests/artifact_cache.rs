//! The verification cache: what is served from it and what must not be; and `Send + Sync`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use fleet_core::Digest;
use fleet_policy::artifact::{
    ArtifactError, Bundle, Envelope, IdentityPolicy, ProvenancePolicy, SanPattern, Signer,
    SimpleSigning, Statement, StatementSummary, TrustedRoot, VerificationCache, Verified, Verifier,
    VerifyingKey,
};
use serde_json::Value;

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/supply-chain/");
const SAN: &str =
    "https://github.com/sigstore/sigstore-js/.github/workflows/release.yml@refs/heads/main";
const ISSUER: &str = "https://token.actions.githubusercontent.com";

fn read(name: &str) -> Vec<u8> {
    std::fs::read(format!("{DATA}{name}")).unwrap()
}

fn bundle() -> Vec<u8> {
    read("sigstore-js-2.1.0.slsa-provenance-v1.sigstore.json")
}

fn root_json() -> Vec<u8> {
    read("sigstore-public-good.trusted_root.json")
}

fn digest() -> Digest {
    let statement: Value =
        serde_json::from_slice(&read("sigstore-js-2.1.0.slsa-provenance-v1.statement.json"))
            .unwrap();
    format!(
        "sha512:{}",
        statement["subject"][0]["digest"]["sha512"]
            .as_str()
            .unwrap()
    )
    .parse()
    .unwrap()
}

fn policy() -> IdentityPolicy {
    IdentityPolicy::keyless(ISSUER, SAN)
}

fn verifier() -> Verifier {
    Verifier::new().with_trusted_root(TrustedRoot::from_json(&root_json()).unwrap())
}

#[test]
fn second_verification_is_served_from_cache() {
    let v = verifier();
    let first = v.verify_bundle(&bundle(), &digest(), &policy()).unwrap();
    assert_eq!(
        (v.cache().hits(), v.cache().misses(), v.cache().len()),
        (0, 1, 1)
    );
    let second = v.verify_bundle(&bundle(), &digest(), &policy()).unwrap();
    assert_eq!(first, second);
    assert_eq!(
        (v.cache().hits(), v.cache().misses(), v.cache().len()),
        (1, 1, 1)
    );
}

#[test]
fn refusals_are_cached_too() {
    let v = verifier();
    let wrong = Digest::sha256(b"other");
    let first = v.verify_bundle(&bundle(), &wrong, &policy()).unwrap_err();
    let second = v.verify_bundle(&bundle(), &wrong, &policy()).unwrap_err();
    assert_eq!(first, second);
    assert_eq!(v.cache().hits(), 1);
}

#[test]
fn other_identity_policy_is_not_served_from_the_first_result() {
    let v = verifier();
    v.verify_bundle(&bundle(), &digest(), &policy()).unwrap();
    let other = IdentityPolicy::keyless(ISSUER, "https://github.com/evil/*");
    let err = v.verify_bundle(&bundle(), &digest(), &other).unwrap_err();
    assert!(matches!(
        err,
        ArtifactError::IdentityMismatch { field: "san", .. }
    ));
    assert_eq!(v.cache().hits(), 0);
    assert_eq!(v.cache().len(), 2);
}

#[test]
fn other_artifact_digest_or_bundle_bytes_are_not_served_from_the_first_result() {
    let v = verifier();
    v.verify_bundle(&bundle(), &digest(), &policy()).unwrap();
    assert!(
        v.verify_bundle(&bundle(), &Digest::sha256(b"x"), &policy())
            .is_err()
    );
    // Same content, different bytes (trailing whitespace): verified again, not looked up.
    let mut spaced = bundle();
    spaced.push(b'\n');
    v.verify_bundle(&spaced, &digest(), &policy()).unwrap();
    assert_eq!(v.cache().hits(), 0);
    assert_eq!(v.cache().misses(), 3);
}

#[test]
fn other_trust_root_sharing_the_cache_is_not_served_from_the_first_result() {
    let cache = Arc::new(VerificationCache::default());
    let trusting = verifier().with_cache(Arc::clone(&cache));
    trusting
        .verify_bundle(&bundle(), &digest(), &policy())
        .unwrap();

    let mut root: Value = serde_json::from_slice(&root_json()).unwrap();
    root["certificateAuthorities"]
        .as_array_mut()
        .unwrap()
        .remove(1);
    let without_ca = TrustedRoot::from_json(&serde_json::to_vec(&root).unwrap()).unwrap();
    let distrusting = Verifier::new()
        .with_trusted_root(without_ca)
        .with_cache(Arc::clone(&cache));
    assert_ne!(trusting.trust_digest(), distrusting.trust_digest());

    let err = distrusting
        .verify_bundle(&bundle(), &digest(), &policy())
        .unwrap_err();
    assert!(matches!(err, ArtifactError::UntrustedChain { .. }), "{err}");
    assert_eq!(cache.hits(), 0);
    assert_eq!(cache.len(), 2);

    // And each is served its own result afterwards.
    assert!(
        trusting
            .verify_bundle(&bundle(), &digest(), &policy())
            .is_ok()
    );
    assert!(
        distrusting
            .verify_bundle(&bundle(), &digest(), &policy())
            .is_err()
    );
    assert_eq!(cache.hits(), 2);
}

#[test]
fn provenance_policy_is_part_of_the_trust_digest() {
    let cache = Arc::new(VerificationCache::default());
    let plain = verifier().with_cache(Arc::clone(&cache));
    plain
        .verify_bundle(&bundle(), &digest(), &policy())
        .unwrap();
    let strict = verifier()
        .with_provenance_policy(ProvenancePolicy::slsa_v1(["https://example.com/only"]))
        .with_cache(Arc::clone(&cache));
    assert!(matches!(
        strict.verify_bundle(&bundle(), &digest(), &policy()),
        Err(ArtifactError::UntrustedBuilder { .. })
    ));
    assert_eq!(cache.hits(), 0);
}

#[test]
fn cache_is_bounded() {
    let cache = Arc::new(VerificationCache::new(2));
    let v = verifier().with_cache(Arc::clone(&cache));
    for i in 0..5u8 {
        let _ = v.verify_bundle(&bundle(), &Digest::sha256(&[i]), &policy());
        assert!(cache.len() <= 2);
    }
    cache.clear();
    assert!(cache.is_empty());
}

#[test]
fn concurrent_verifications_agree() {
    let v = Arc::new(verifier());
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let v = Arc::clone(&v);
            std::thread::spawn(move || v.verify_bundle(&bundle(), &digest(), &policy()))
        })
        .collect();
    for h in handles {
        let verified = h.join().unwrap().unwrap();
        assert!(matches!(verified.signer, Signer::Keyless { .. }));
    }
    assert_eq!(v.cache().hits() + v.cache().misses(), 4);
    assert_eq!(v.cache().len(), 1);
}

#[test]
fn public_types_are_send_sync_debug() {
    fn pin<T: Send + Sync + std::fmt::Debug>() {}
    pin::<ArtifactError>();
    pin::<Bundle>();
    pin::<Envelope>();
    pin::<IdentityPolicy>();
    pin::<ProvenancePolicy>();
    pin::<SanPattern>();
    pin::<Signer>();
    pin::<SimpleSigning>();
    pin::<Statement>();
    pin::<StatementSummary>();
    pin::<TrustedRoot>();
    pin::<VerificationCache>();
    pin::<Verified>();
    pin::<Verifier>();
    pin::<VerifyingKey>();
    pin::<fleet_policy::artifact::VerifiedPayload>();
    pin::<fleet_policy::artifact::TlogEntry>();
    pin::<fleet_policy::artifact::Material>();
    pin::<fleet_policy::artifact::Content>();
    pin::<fleet_policy::artifact::Subject>();
    pin::<fleet_policy::artifact::EnvelopeSignature>();
}
