//! Real Sigstore bundles: the npm `sigstore@2.1.0` provenance (keyless) and a managed-key
//! `hashedrekord` bundle, verified offline against the public-good trusted root, and refused
//! after each kind of tampering.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use fleet_core::Digest;
use fleet_policy::artifact::{
    ArtifactError, IdentityPolicy, ProvenancePolicy, Signer, TrustedRoot, Verifier, VerifyingKey,
};
use serde_json::Value;

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/supply-chain/");
const SAN: &str =
    "https://github.com/sigstore/sigstore-js/.github/workflows/release.yml@refs/heads/main";
const ISSUER: &str = "https://token.actions.githubusercontent.com";

fn read(name: &str) -> Vec<u8> {
    std::fs::read(format!("{DATA}{name}")).unwrap()
}

fn npm_bundle() -> Vec<u8> {
    read("sigstore-js-2.1.0.slsa-provenance-v1.sigstore.json")
}

fn managed_bundle() -> Vec<u8> {
    read("managed-key.hashedrekord.sigstore.json")
}

fn root_json() -> Vec<u8> {
    read("sigstore-public-good.trusted_root.json")
}

fn root() -> TrustedRoot {
    TrustedRoot::from_json(&root_json()).unwrap()
}

/// The npm tarball's sha512, read from the statement's subject: the "deployed" digest.
fn npm_digest() -> Digest {
    let statement: Value =
        serde_json::from_slice(&read("sigstore-js-2.1.0.slsa-provenance-v1.statement.json"))
            .unwrap();
    let hex = statement["subject"][0]["digest"]["sha512"]
        .as_str()
        .unwrap();
    format!("sha512:{hex}").parse().unwrap()
}

fn managed_key() -> VerifyingKey {
    VerifyingKey::from_pem(&String::from_utf8(read("managed-key.pub.pem")).unwrap()).unwrap()
}

fn artifact_digest() -> Digest {
    Digest::sha256(&read("managed-key.artifact.a.txt"))
}

fn keyless() -> IdentityPolicy {
    IdentityPolicy::keyless(ISSUER, SAN)
}

fn verifier() -> Verifier {
    Verifier::new()
        .with_trusted_root(root())
        .with_key("conformance", managed_key())
}

fn edit(bundle: &[u8], f: impl FnOnce(&mut Value)) -> Vec<u8> {
    let mut v: Value = serde_json::from_slice(bundle).unwrap();
    f(&mut v);
    serde_json::to_vec(&v).unwrap()
}

fn flip_b64(text: &str, at: usize) -> String {
    let mut bytes = STANDARD.decode(text).unwrap();
    let at = at.min(bytes.len() - 1);
    bytes[at] ^= 0x01;
    STANDARD.encode(bytes)
}

#[test]
fn npm_provenance_verifies_keyless_at_integrated_time() {
    let verified = verifier()
        .verify_bundle(&npm_bundle(), &npm_digest(), &keyless())
        .unwrap();
    assert_eq!(
        verified.signer,
        Signer::Keyless {
            san: SAN.to_owned(),
            issuer: ISSUER.to_owned()
        }
    );
    assert_eq!(verified.digests, vec![npm_digest()]);
    let statement = verified.statement.unwrap();
    assert_eq!(statement.predicate_type, "https://slsa.dev/provenance/v1");
    assert_eq!(
        statement.builder_id.as_deref(),
        Some("https://github.com/actions/runner/github-hosted")
    );
    assert_eq!(
        statement.build_type.as_deref(),
        Some("https://slsa-framework.github.io/github-actions-buildtypes/workflow/v1")
    );
    assert_eq!(
        verified.integrated_time.unwrap().to_rfc3339(),
        "2023-08-29T15:40:23+00:00"
    );
}

#[test]
fn npm_provenance_with_slsa_policy() {
    let trusted = verifier().with_provenance_policy(ProvenancePolicy::slsa_v1([
        "https://github.com/actions/runner/github-hosted",
    ]));
    trusted
        .verify_bundle(&npm_bundle(), &npm_digest(), &keyless())
        .unwrap();

    let untrusted = verifier().with_provenance_policy(ProvenancePolicy::slsa_v1([
        "https://example.com/other-builder",
    ]));
    let err = untrusted
        .verify_bundle(&npm_bundle(), &npm_digest(), &keyless())
        .unwrap_err();
    assert_eq!(
        err,
        ArtifactError::UntrustedBuilder {
            found: "https://github.com/actions/runner/github-hosted".to_owned()
        }
    );

    let wrong_type = verifier().with_provenance_policy(ProvenancePolicy {
        predicate_type: "https://slsa.dev/provenance/v0.2".to_owned(),
        trusted_builders: vec![],
    });
    let err = wrong_type
        .verify_bundle(&npm_bundle(), &npm_digest(), &keyless())
        .unwrap_err();
    assert!(
        matches!(err, ArtifactError::WrongPredicateType { .. }),
        "{err}"
    );
}

#[test]
fn san_glob_matches() {
    let policy = IdentityPolicy::keyless(
        ISSUER,
        "https://github.com/sigstore/sigstore-js/.github/workflows/*@refs/heads/*",
    );
    verifier()
        .verify_bundle(&npm_bundle(), &npm_digest(), &policy)
        .unwrap();
}

#[test]
fn npm_provenance_in_v0_2_form_verifies() {
    // v0.2 bundles carry the certificate as `x509CertificateChain`.
    let bundle = edit(&npm_bundle(), |v| {
        v["mediaType"] = "application/vnd.dev.sigstore.bundle+json;version=0.2".into();
        let cert = v["verificationMaterial"]["certificate"].clone();
        let vm = v["verificationMaterial"].as_object_mut().unwrap();
        vm.remove("certificate");
        vm.insert(
            "x509CertificateChain".to_owned(),
            serde_json::json!({"certificates": [cert]}),
        );
    });
    let verified = verifier()
        .verify_bundle(&bundle, &npm_digest(), &keyless())
        .unwrap();
    assert!(matches!(verified.signer, Signer::Keyless { .. }));
}

#[test]
fn managed_key_bundle_verifies() {
    let verified = verifier()
        .verify_bundle(
            &managed_bundle(),
            &artifact_digest(),
            &IdentityPolicy::key("conformance"),
        )
        .unwrap();
    assert_eq!(
        verified.signer,
        Signer::Key {
            key_id: managed_key().key_id()
        }
    );
    assert_eq!(verified.digests, vec![artifact_digest()]);
    assert_eq!(verified.statement, None);
    assert_eq!(
        verified.integrated_time.unwrap().to_rfc3339(),
        "2025-12-18T17:04:39+00:00"
    );
}

#[test]
fn managed_key_hint_is_base64_sha256_of_spki() {
    let bundle: Value = serde_json::from_slice(&managed_bundle()).unwrap();
    assert_eq!(
        bundle["verificationMaterial"]["publicKey"]["hint"],
        managed_key().hint()
    );
}

// ---- refusals: keyless ----

fn refuse_npm(bundle: &[u8]) -> ArtifactError {
    verifier()
        .verify_bundle(bundle, &npm_digest(), &keyless())
        .unwrap_err()
}

#[test]
fn every_payload_byte_matters() {
    let original: Value = serde_json::from_slice(&npm_bundle()).unwrap();
    let payload = STANDARD
        .decode(original["dsseEnvelope"]["payload"].as_str().unwrap())
        .unwrap();
    // A sample of positions across the payload, including the first and last byte.
    let positions = [
        0,
        1,
        17,
        payload.len() / 2,
        payload.len() - 2,
        payload.len() - 1,
    ];
    for at in positions {
        let mut changed = payload.clone();
        changed[at] ^= 0x20;
        let bundle = edit(&npm_bundle(), |v| {
            v["dsseEnvelope"]["payload"] = STANDARD.encode(&changed).into();
        });
        let err = refuse_npm(&bundle);
        // The log entry records the payload hash, so the mismatch is found there first.
        assert!(
            matches!(err, ArtifactError::LogEntryMismatch { .. }),
            "byte {at}: {err}"
        );
    }
}

#[test]
fn changed_signature_is_refused() {
    let bundle = edit(&npm_bundle(), |v| {
        let sig = v["dsseEnvelope"]["signatures"][0]["sig"].as_str().unwrap();
        v["dsseEnvelope"]["signatures"][0]["sig"] = flip_b64(sig, 40).into();
    });
    let err = refuse_npm(&bundle);
    assert!(
        matches!(err, ArtifactError::LogEntryMismatch { .. }),
        "{err}"
    );
}

#[test]
fn payload_type_change_is_refused() {
    let bundle = edit(&npm_bundle(), |v| {
        v["dsseEnvelope"]["payloadType"] = "application/json".into();
    });
    assert!(matches!(
        refuse_npm(&bundle),
        ArtifactError::LogEntryMismatch { .. }
    ));
}

#[test]
fn other_san_is_refused() {
    let policy = IdentityPolicy::keyless(
        ISSUER,
        "https://github.com/sigstore/sigstore-js/.github/workflows/ci.yml@refs/heads/main",
    );
    let err = verifier()
        .verify_bundle(&npm_bundle(), &npm_digest(), &policy)
        .unwrap_err();
    assert_eq!(
        err,
        ArtifactError::IdentityMismatch {
            field: "san",
            expected:
                "https://github.com/sigstore/sigstore-js/.github/workflows/ci.yml@refs/heads/main"
                    .to_owned(),
            found: SAN.to_owned(),
        }
    );
    // A pattern that matches only a prefix is not enough: the match is anchored.
    let prefix = IdentityPolicy::keyless(ISSUER, "https://github.com/sigstore/sigstore-js/");
    assert!(
        verifier()
            .verify_bundle(&npm_bundle(), &npm_digest(), &prefix)
            .is_err()
    );
}

#[test]
fn other_issuer_is_refused() {
    let policy = IdentityPolicy::keyless("https://accounts.google.com", SAN);
    let err = verifier()
        .verify_bundle(&npm_bundle(), &npm_digest(), &policy)
        .unwrap_err();
    assert_eq!(
        err,
        ArtifactError::IdentityMismatch {
            field: "issuer",
            expected: "https://accounts.google.com".to_owned(),
            found: ISSUER.to_owned(),
        }
    );
}

#[test]
fn key_policy_refuses_keyless_bundle() {
    let err = verifier()
        .verify_bundle(
            &npm_bundle(),
            &npm_digest(),
            &IdentityPolicy::key("conformance"),
        )
        .unwrap_err();
    assert!(matches!(
        err,
        ArtifactError::IdentityMismatch {
            field: "signer kind",
            ..
        }
    ));
}

#[test]
fn changed_set_is_refused() {
    let bundle = edit(&npm_bundle(), |v| {
        let entry = &mut v["verificationMaterial"]["tlogEntries"][0];
        let set = entry["inclusionPromise"]["signedEntryTimestamp"]
            .as_str()
            .unwrap();
        entry["inclusionPromise"]["signedEntryTimestamp"] = flip_b64(set, 20).into();
    });
    assert!(matches!(
        refuse_npm(&bundle),
        ArtifactError::SetInvalid { .. }
    ));
}

#[test]
fn fields_the_set_covers_are_bound() {
    for (field, value) in [
        ("integratedTime", Value::from("1693323624")),
        ("logIndex", Value::from("33351528")),
    ] {
        let bundle = edit(&npm_bundle(), |v| {
            v["verificationMaterial"]["tlogEntries"][0][field] = value;
        });
        assert!(
            matches!(refuse_npm(&bundle), ArtifactError::SetInvalid { .. }),
            "{field}"
        );
    }
    let bundle = edit(&npm_bundle(), |v| {
        v["verificationMaterial"]["tlogEntries"][0]
            .as_object_mut()
            .unwrap()
            .remove("inclusionPromise");
    });
    assert!(matches!(
        refuse_npm(&bundle),
        ArtifactError::SetInvalid { .. }
    ));
}

#[test]
fn other_digest_is_refused() {
    let err = verifier()
        .verify_bundle(
            &npm_bundle(),
            &Digest::sha256(b"not the tarball"),
            &keyless(),
        )
        .unwrap_err();
    assert_eq!(
        err,
        ArtifactError::SubjectNotFound {
            digest: Digest::sha256(b"not the tarball").to_string()
        }
    );
}

#[test]
fn transplanted_entries_are_refused_both_ways() {
    let npm: Value = serde_json::from_slice(&npm_bundle()).unwrap();
    let managed: Value = serde_json::from_slice(&managed_bundle()).unwrap();

    let npm_with_managed_entry = edit(&npm_bundle(), |v| {
        v["verificationMaterial"]["tlogEntries"] =
            managed["verificationMaterial"]["tlogEntries"].clone();
    });
    assert!(matches!(
        refuse_npm(&npm_with_managed_entry),
        ArtifactError::LogEntryMismatch { .. }
    ));

    let managed_with_npm_entry = edit(&managed_bundle(), |v| {
        v["verificationMaterial"]["tlogEntries"] =
            npm["verificationMaterial"]["tlogEntries"].clone();
    });
    let err = verifier()
        .verify_bundle(
            &managed_with_npm_entry,
            &artifact_digest(),
            &IdentityPolicy::key("conformance"),
        )
        .unwrap_err();
    assert!(
        matches!(err, ArtifactError::LogEntryMismatch { .. }),
        "{err}"
    );
}

#[test]
fn certificate_swapped_for_another_is_refused() {
    // The Fulcio intermediate is a real certificate from the same root, but it is not the
    // signer the log entry names.
    let root: Value = serde_json::from_slice(&root_json()).unwrap();
    let intermediate =
        root["certificateAuthorities"][1]["certChain"]["certificates"][0]["rawBytes"].clone();
    let bundle = edit(&npm_bundle(), |v| {
        v["verificationMaterial"]["certificate"]["rawBytes"] = intermediate;
    });
    assert!(matches!(
        refuse_npm(&bundle),
        ArtifactError::LogEntryMismatch { .. }
    ));
}

fn root_with(f: impl FnOnce(&mut Value)) -> TrustedRoot {
    let mut v: Value = serde_json::from_slice(&root_json()).unwrap();
    f(&mut v);
    TrustedRoot::from_json(&serde_json::to_vec(&v).unwrap()).unwrap()
}

fn verify_with_root(root: TrustedRoot) -> Result<(), ArtifactError> {
    Verifier::new()
        .with_trusted_root(root)
        .verify_bundle(&npm_bundle(), &npm_digest(), &keyless())
        .map(|_| ())
}

#[test]
fn root_without_the_issuing_ca_is_refused() {
    let root = root_with(|v| {
        v["certificateAuthorities"]
            .as_array_mut()
            .unwrap()
            .remove(1);
    });
    assert!(matches!(
        verify_with_root(root),
        Err(ArtifactError::UntrustedChain { .. })
    ));
}

#[test]
fn root_with_the_old_ca_stretched_over_2023_is_refused() {
    // The 2021 Fulcio CA, made to look valid in 2023: it did not issue this certificate.
    let root = root_with(|v| {
        let cas = v["certificateAuthorities"].as_array_mut().unwrap();
        cas.remove(1);
        cas[0]["validFor"]["end"] = "2030-01-01T00:00:00Z".into();
    });
    assert!(matches!(
        verify_with_root(root),
        Err(ArtifactError::UntrustedChain { .. })
    ));
}

#[test]
fn root_with_a_freshly_generated_ca_key_is_refused() {
    // Same intermediate certificate, same names, but its public key replaced by a freshly
    // generated P-384 key: a different CA claiming to be Fulcio.
    let fresh = p384::ecdsa::SigningKey::random(&mut rand_core::OsRng);
    let fresh_point = fresh.verifying_key().to_encoded_point(false);
    let root = root_with(|v| {
        let cert = &mut v["certificateAuthorities"][1]["certChain"]["certificates"][0];
        let mut der = STANDARD.decode(cert["rawBytes"].as_str().unwrap()).unwrap();
        let ca = x509_point(&der);
        let start = der
            .windows(ca.len())
            .position(|w| w == ca.as_slice())
            .unwrap();
        der[start..start + ca.len()].copy_from_slice(fresh_point.as_bytes());
        cert["rawBytes"] = STANDARD.encode(der).into();
    });
    assert!(matches!(
        verify_with_root(root),
        Err(ArtifactError::UntrustedChain { .. })
    ));
}

/// The uncompressed P-384 point of a certificate's key (97 bytes starting with 0x04).
fn x509_point(der: &[u8]) -> Vec<u8> {
    use x509_cert::der::Decode as _;
    let cert = x509_cert::Certificate::from_der(der).unwrap();
    let point = cert
        .tbs_certificate
        .subject_public_key_info
        .subject_public_key
        .raw_bytes()
        .to_vec();
    assert_eq!(point.len(), 97);
    point
}

#[test]
fn root_without_the_log_is_refused() {
    let root = root_with(|v| {
        v["tlogs"] = Value::Array(vec![]);
    });
    assert!(matches!(
        verify_with_root(root),
        Err(ArtifactError::UnknownLog { .. })
    ));
}

#[test]
fn log_key_not_valid_at_integrated_time_is_refused() {
    let root = root_with(|v| {
        v["tlogs"][0]["publicKey"]["validFor"]["start"] = "2024-01-01T00:00:00Z".into();
    });
    assert!(matches!(
        verify_with_root(root),
        Err(ArtifactError::NotValidAtTime { .. })
    ));
}

// ---- refusals: managed key ----

fn refuse_managed(bundle: &[u8], digest: &Digest) -> ArtifactError {
    verifier()
        .verify_bundle(bundle, digest, &IdentityPolicy::key("conformance"))
        .unwrap_err()
}

#[test]
fn managed_key_other_artifact_is_refused() {
    let mut artifact = read("managed-key.artifact.a.txt");
    artifact[0] ^= 1;
    let err = refuse_managed(&managed_bundle(), &Digest::sha256(&artifact));
    assert!(matches!(err, ArtifactError::DigestMismatch { .. }), "{err}");
}

#[test]
fn managed_key_changed_message_digest_is_refused() {
    let bundle = edit(&managed_bundle(), |v| {
        let d = v["messageSignature"]["messageDigest"]["digest"]
            .as_str()
            .unwrap();
        v["messageSignature"]["messageDigest"]["digest"] = flip_b64(d, 3).into();
    });
    // Whatever digest the caller claims, the log entry pins the original one.
    let err = refuse_managed(&bundle, &artifact_digest());
    assert!(
        matches!(err, ArtifactError::LogEntryMismatch { .. }),
        "{err}"
    );
}

#[test]
fn managed_key_changed_signature_is_refused() {
    let bundle = edit(&managed_bundle(), |v| {
        let s = v["messageSignature"]["signature"].as_str().unwrap();
        v["messageSignature"]["signature"] = flip_b64(s, 30).into();
    });
    let err = refuse_managed(&bundle, &artifact_digest());
    assert!(
        matches!(err, ArtifactError::LogEntryMismatch { .. }),
        "{err}"
    );
}

#[test]
fn managed_key_wrong_key_is_refused() {
    let other =
        VerifyingKey::P256(*p256::ecdsa::SigningKey::random(&mut rand_core::OsRng).verifying_key());
    let v = Verifier::new()
        .with_trusted_root(root())
        .with_key("conformance", other);
    let err = v
        .verify_bundle(
            &managed_bundle(),
            &artifact_digest(),
            &IdentityPolicy::key("conformance"),
        )
        .unwrap_err();
    // The bundle's hint names the real key, not this one.
    assert!(matches!(err, ArtifactError::UnknownKey { .. }), "{err}");

    // Without the hint, the log entry still names the real key.
    let no_hint = edit(&managed_bundle(), |v| {
        v["verificationMaterial"]["publicKey"] = serde_json::json!({});
    });
    let err = v
        .verify_bundle(
            &no_hint,
            &artifact_digest(),
            &IdentityPolicy::key("conformance"),
        )
        .unwrap_err();
    assert!(
        matches!(err, ArtifactError::LogEntryMismatch { .. }),
        "{err}"
    );
}

#[test]
fn managed_key_unknown_name_and_keyless_policy_are_refused() {
    assert_eq!(
        verifier()
            .verify_bundle(
                &managed_bundle(),
                &artifact_digest(),
                &IdentityPolicy::key("nope")
            )
            .unwrap_err(),
        ArtifactError::UnknownKey {
            key: "nope".to_owned()
        }
    );
    assert!(matches!(
        verifier()
            .verify_bundle(&managed_bundle(), &artifact_digest(), &keyless())
            .unwrap_err(),
        ArtifactError::IdentityMismatch {
            field: "signer kind",
            ..
        }
    ));
}

#[test]
fn unsupported_media_type_is_refused() {
    let bundle = edit(&managed_bundle(), |v| {
        v["mediaType"] = "application/vnd.dev.sigstore.bundle+json;version=0.1".into();
    });
    assert_eq!(
        refuse_managed(&bundle, &artifact_digest()),
        ArtifactError::UnsupportedMediaType {
            media_type: "application/vnd.dev.sigstore.bundle+json;version=0.1".to_owned()
        }
    );
}

#[test]
fn error_messages_are_lowercase_one_line_with_backticks() {
    let err = refuse_managed(&managed_bundle(), &Digest::sha256(b"x"));
    let text = err.to_string();
    assert!(
        text.starts_with("digest mismatch: expected `sha256:"),
        "{text}"
    );
    assert!(!text.contains('\n'));
}
