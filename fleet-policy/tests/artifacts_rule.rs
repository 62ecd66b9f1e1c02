#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The artifacts rule end to end: a policy requiring a keyless signer and SLSA provenance,
//! checked against the real npm `sigstore@2.1.0` bundle; a managed-key rule against the real
//! managed-key bundle; digest pinning.

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use fleet_core::{Actor, Digest, Schema, Target, TargetId, Workload};
use fleet_policy::artifact::{TrustedRoot, VerifyingKey};
use fleet_policy::{Artifact, Evidence, LoadOptions, Outcome, PolicySet, Request, Verifier};

fn data(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/testdata/supply-chain/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn verifier() -> Arc<Verifier> {
    let root = TrustedRoot::from_json(&data("sigstore-public-good.trusted_root.json")).unwrap();
    let key =
        VerifyingKey::from_pem(std::str::from_utf8(&data("managed-key.pub.pem")).unwrap()).unwrap();
    Arc::new(
        Verifier::new()
            .with_trusted_root(root)
            .with_key("conformance", key),
    )
}

fn set(yaml: &str) -> PolicySet {
    let keys = ["conformance".to_owned()].into();
    PolicySet::from_yaml(yaml, &LoadOptions::new(&Schema::new()).keys(&keys))
        .unwrap_or_else(|e| panic!("{}", e.render()))
        .with_verifier(verifier())
}

const KEYLESS: &str = r#"
policies:
  - id: supply-chain
    rules:
      - id: provenance
        artifacts:
          signers:
            - issuer: https://token.actions.githubusercontent.com
              san: https://github.com/sigstore/sigstore-js/.github/workflows/*@refs/heads/main
          provenance:
            builders: [https://github.com/actions/runner/github-hosted]
"#;

fn npm_digest() -> Digest {
    "sha512:90f223f992e4c88dd068cd2a5fc57f9d2b30798343dd6e38f29c240e04ba090ef831f84490847c4e82b9232c78e8a258463b1e55c0f7469f730265008fa6633f".parse().unwrap()
}

fn decide(set: &PolicySet, art: &Artifact) -> fleet_policy::Decision {
    let t = Target::new(TargetId::new("t").unwrap(), "cluster", "aws");
    let w = Workload::new("sigstore-js");
    let actor = Actor::human("x");
    let at = Utc.with_ymd_and_hms(2026, 12, 3, 0, 0, 0).unwrap();
    set.evaluate(&Request::new("r", &w, art, &t, &actor, at))
}

#[test]
fn keyless_bundle_with_slsa_provenance_allows() {
    let s = set(KEYLESS);
    let bundle: Arc<[u8]> = data("sigstore-js-2.1.0.slsa-provenance-v1.sigstore.json").into();
    let art = Artifact::new(npm_digest()).evidence(Evidence::sigstore_bundle(bundle.clone()));
    let d = decide(&s, &art);
    assert_eq!(d.outcome, Outcome::Allow, "{d}");
    let ev = &d.results[0].evidence;
    assert!(
        ev.contains(&(
            "builder",
            "https://github.com/actions/runner/github-hosted".to_owned()
        )),
        "{ev:?}"
    );
    assert!(
        ev.iter()
            .any(|(k, v)| *k == "signer" && v.contains("sigstore-js"))
    );
    assert!(
        ev.contains(&("logged_at", "2023-08-29T15:40:23+00:00".to_owned())),
        "{ev:?}"
    );

    // another digest: the statement does not cover it
    let other =
        Artifact::new(Digest::sha256(b"other")).evidence(Evidence::sigstore_bundle(bundle.clone()));
    assert_eq!(decide(&s, &other).outcome, Outcome::Deny);
    // no evidence at all
    assert_eq!(
        decide(&s, &Artifact::new(npm_digest())).outcome,
        Outcome::Deny
    );
    // a different signer identity
    let wrong_san = set(&KEYLESS.replace("sigstore/sigstore-js", "acme/app"));
    let d = decide(&wrong_san, &art);
    assert_eq!(d.outcome, Outcome::Deny);
    assert!(d.results[0].reason.contains("no valid signature"), "{d}");
    // an untrusted builder
    let wrong_builder = set(&KEYLESS.replace("github-hosted", "self-hosted"));
    let d = decide(&wrong_builder, &art);
    assert_eq!(d.outcome, Outcome::Deny);
    assert!(d.results[0].reason.contains("not trusted"), "{d}");
    // a tampered byte in the bundle
    let mut bad = data("sigstore-js-2.1.0.slsa-provenance-v1.sigstore.json");
    let i = bad.len() / 2;
    bad[i] ^= 1;
    let art = Artifact::new(npm_digest()).evidence(Evidence::sigstore_bundle(bad));
    assert_eq!(decide(&s, &art).outcome, Outcome::Deny);
    // no verifier configured: fail closed
    let bare = PolicySet::from_yaml(KEYLESS, &LoadOptions::new(&Schema::new())).unwrap();
    let art = Artifact::new(npm_digest()).evidence(Evidence::sigstore_bundle(bundle));
    assert_eq!(decide(&bare, &art).outcome, Outcome::Deny);
}

#[test]
fn managed_key_bundle_and_digest_pinning() {
    let s = set(r#"
policies:
  - id: supply-chain
    rules:
      - id: signed
        artifacts: { require_digest: true, signers: [{ key: conformance }] }
"#);
    let digest = Digest::sha256(&data("managed-key.artifact.a.txt"));
    let bundle: Arc<[u8]> = data("managed-key.hashedrekord.sigstore.json").into();
    let art = Artifact::new(digest.clone())
        .image(format!("registry.acme.io/a@{digest}"))
        .evidence(Evidence::sigstore_bundle(bundle.clone()));
    assert_eq!(decide(&s, &art).outcome, Outcome::Allow);
    // a tag instead of the digest
    let tagged = Artifact::new(digest.clone())
        .image("registry.acme.io/a:latest")
        .evidence(Evidence::sigstore_bundle(bundle.clone()));
    let d = decide(&s, &tagged);
    assert_eq!(d.outcome, Outcome::Deny);
    assert!(d.results[0].reason.contains("not pinned"), "{d}");
    // the keyless bundle is not signed by the managed key
    let npm: Arc<[u8]> = data("sigstore-js-2.1.0.slsa-provenance-v1.sigstore.json").into();
    let art = Artifact::new(digest.clone())
        .image(format!("registry.acme.io/a@{digest}"))
        .evidence(Evidence::sigstore_bundle(npm));
    assert_eq!(decide(&s, &art).outcome, Outcome::Deny);
}
