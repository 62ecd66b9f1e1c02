//! Malformed input: truncated JSON, bad base64, garbage DER, empty signatures, random bytes
//! and mutations. Each must give an error (of the right kind where one is named), never a
//! panic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use fleet_core::Digest;
use fleet_policy::artifact::{
    ArtifactError, Bundle, Envelope, IdentityPolicy, SimpleSigning, Statement, TrustedRoot,
    Verifier, VerifyingKey,
};
use proptest::prelude::*;
use serde_json::Value;

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/supply-chain/");
const SAN: &str =
    "https://github.com/sigstore/sigstore-js/.github/workflows/release.yml@refs/heads/main";
const ISSUER: &str = "https://token.actions.githubusercontent.com";

fn read(name: &str) -> Vec<u8> {
    std::fs::read(format!("{DATA}{name}")).unwrap()
}

fn npm() -> Vec<u8> {
    read("sigstore-js-2.1.0.slsa-provenance-v1.sigstore.json")
}

fn managed() -> Vec<u8> {
    read("managed-key.hashedrekord.sigstore.json")
}

fn verifier() -> Verifier {
    let key =
        VerifyingKey::from_pem(&String::from_utf8(read("managed-key.pub.pem")).unwrap()).unwrap();
    Verifier::new()
        .with_trusted_root(
            TrustedRoot::from_json(&read("sigstore-public-good.trusted_root.json")).unwrap(),
        )
        .with_key("k", key)
}

fn npm_digest() -> Digest {
    let s: Value =
        serde_json::from_slice(&read("sigstore-js-2.1.0.slsa-provenance-v1.statement.json"))
            .unwrap();
    format!(
        "sha512:{}",
        s["subject"][0]["digest"]["sha512"].as_str().unwrap()
    )
    .parse()
    .unwrap()
}

fn edit(bundle: &[u8], f: impl FnOnce(&mut Value)) -> Vec<u8> {
    let mut v: Value = serde_json::from_slice(bundle).unwrap();
    f(&mut v);
    serde_json::to_vec(&v).unwrap()
}

#[test]
fn every_truncation_of_both_bundles_is_a_json_error() {
    for full in [npm(), managed()] {
        for len in 0..full.trim_ascii_end().len() {
            let err = Bundle::from_json(&full[..len]).unwrap_err();
            assert!(
                matches!(err, ArtifactError::Json { .. }),
                "len {len}: {err}"
            );
        }
    }
}

#[test]
fn truncated_trusted_root_and_envelope_are_json_errors() {
    let root = read("sigstore-public-good.trusted_root.json");
    for len in (0..root.len()).step_by(7) {
        assert!(matches!(
            TrustedRoot::from_json(&root[..len]),
            Err(ArtifactError::Json { .. })
        ));
    }
    let env = read("gce-vsa-v1.dsse.json");
    for len in 0..env.len() {
        assert!(matches!(
            Envelope::from_json(&env[..len]),
            Err(ArtifactError::Json { .. })
        ));
    }
}

#[test]
fn bad_base64_names_the_field() {
    type Edit = fn(&mut Value);
    let cases: [(&str, Edit); 3] = [
        ("verificationMaterial.certificate", |v| {
            v["verificationMaterial"]["certificate"]["rawBytes"] = "not base64!".into();
        }),
        ("inclusionPromise", |v| {
            v["verificationMaterial"]["tlogEntries"][0]["inclusionPromise"]["signedEntryTimestamp"] =
                "%%%".into();
        }),
        ("tlogEntries[].logId.keyId", |v| {
            v["verificationMaterial"]["tlogEntries"][0]["logId"]["keyId"] = "a".into();
        }),
    ];
    for (field, f) in cases {
        let err = verifier()
            .verify_bundle(
                &edit(&npm(), f),
                &npm_digest(),
                &IdentityPolicy::keyless(ISSUER, SAN),
            )
            .unwrap_err();
        assert_eq!(
            err,
            ArtifactError::Base64 {
                field: field.to_owned()
            }
        );
    }
}

#[test]
fn bad_base64_in_message_signature_names_the_field() {
    let bundle = edit(&managed(), |v| {
        v["messageSignature"]["signature"] = "MEUC!".into();
    });
    assert_eq!(
        Bundle::from_json(&bundle).unwrap_err(),
        ArtifactError::Base64 {
            field: "messageSignature.signature".to_owned()
        }
    );
}

#[test]
fn changed_body_text_is_caught_by_the_set() {
    // The SET signs the body's base64 text, so even a body that is not base64 is refused
    // before it is decoded.
    let bundle = edit(&npm(), |v| {
        v["verificationMaterial"]["tlogEntries"][0]["canonicalizedBody"] = "@@".into();
    });
    assert!(matches!(
        verifier().verify_bundle(
            &bundle,
            &npm_digest(),
            &IdentityPolicy::keyless(ISSUER, SAN)
        ),
        Err(ArtifactError::SetInvalid { .. })
    ));
}

#[test]
fn garbage_der_certificate_is_a_der_error() {
    let bundle = edit(&npm(), |v| {
        v["verificationMaterial"]["certificate"]["rawBytes"] =
            STANDARD.encode(b"\x30\x82\x01\x00garbage").into();
    });
    let err = verifier()
        .verify_bundle(
            &bundle,
            &npm_digest(),
            &IdentityPolicy::keyless(ISSUER, SAN),
        )
        .unwrap_err();
    assert!(matches!(err, ArtifactError::Der { .. }), "{err}");
    assert!(matches!(
        VerifyingKey::from_spki_der(b"\x30\x03\x02\x01\x00"),
        Err(ArtifactError::Der { .. })
    ));
    assert!(matches!(
        VerifyingKey::from_pem("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"),
        Err(ArtifactError::Pem { .. })
    ));
    assert!(matches!(
        VerifyingKey::from_pem("not pem"),
        Err(ArtifactError::Pem { .. })
    ));
}

#[test]
fn empty_signatures_are_refused() {
    assert_eq!(
        Envelope::from_json(br#"{"payload":"","payloadType":"t","signatures":[]}"#).unwrap_err(),
        ArtifactError::NoSignatures {
            field: "signatures".to_owned()
        }
    );
    let bundle = edit(&npm(), |v| {
        v["dsseEnvelope"]["signatures"] = Value::Array(vec![]);
    });
    assert!(matches!(
        Bundle::from_json(&bundle),
        Err(ArtifactError::Unsupported { .. })
    ));
    let bundle = edit(&managed(), |v| {
        v["messageSignature"]["signature"] = "".into();
    });
    assert!(
        verifier()
            .verify_bundle(
                &bundle,
                &Digest::sha256(&read("managed-key.artifact.a.txt")),
                &IdentityPolicy::key("k")
            )
            .is_err()
    );
}

#[test]
fn missing_content_and_tlog_entries_are_refused() {
    let no_content = edit(&managed(), |v| {
        v.as_object_mut().unwrap().remove("messageSignature");
    });
    assert!(matches!(
        Bundle::from_json(&no_content),
        Err(ArtifactError::Json { .. })
    ));
    let no_entries = edit(&managed(), |v| {
        v["verificationMaterial"]["tlogEntries"] = Value::Array(vec![]);
    });
    assert!(matches!(
        verifier().verify_bundle(
            &no_entries,
            &Digest::sha256(&read("managed-key.artifact.a.txt")),
            &IdentityPolicy::key("k")
        ),
        Err(ArtifactError::SetInvalid { .. })
    ));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic_smoke(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let v = verifier();
        let d = Digest::sha256(&bytes);
        prop_assert!(Bundle::from_json(&bytes).is_err());
        prop_assert!(v.verify_bundle(&bytes, &d, &IdentityPolicy::key("k")).is_err());
        prop_assert!(v.verify_envelope(&bytes, &d, &IdentityPolicy::key("k")).is_err());
        prop_assert!(v.verify_simple_signing(&bytes, &bytes, &d, &IdentityPolicy::key("k")).is_err());
        let _ = Envelope::from_json(&bytes);
        let _ = TrustedRoot::from_json(&bytes);
        let _ = Statement::from_json(&bytes);
        let _ = SimpleSigning::from_json(&bytes);
        let _ = VerifyingKey::from_spki_der(&bytes);
        let _ = VerifyingKey::from_pem(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn byte_mutations_of_bundles_never_panic_smoke(
        which in 0..2usize,
        at in any::<proptest::sample::Index>(),
        xor in 1..=255u8,
    ) {
        let (bundle, digest, policy) = if which == 0 {
            (npm(), npm_digest(), IdentityPolicy::keyless(ISSUER, SAN))
        } else {
            (managed(), Digest::sha256(&read("managed-key.artifact.a.txt")), IdentityPolicy::key("k"))
        };
        let mut mutated = bundle.clone();
        let i = at.index(mutated.len());
        mutated[i] ^= xor;
        // Some bytes (in the unchecked inclusion proof, say) do not matter; none may panic.
        let _ = verifier().verify_bundle(&mutated, &digest, &policy);
    }

    #[test]
    fn any_changed_payload_byte_is_refused(at in any::<proptest::sample::Index>(), xor in 1..=255u8) {
        let original: Value = serde_json::from_slice(&npm()).unwrap();
        let mut payload = STANDARD.decode(original["dsseEnvelope"]["payload"].as_str().unwrap()).unwrap();
        let i = at.index(payload.len());
        payload[i] ^= xor;
        let bundle = edit(&npm(), |v| {
            v["dsseEnvelope"]["payload"] = STANDARD.encode(&payload).into();
        });
        prop_assert!(verifier().verify_bundle(&bundle, &npm_digest(), &IdentityPolicy::keyless(ISSUER, SAN)).is_err());
    }

    #[test]
    fn any_changed_signature_byte_is_refused(at in any::<proptest::sample::Index>(), xor in 1..=255u8) {
        let original: Value = serde_json::from_slice(&managed()).unwrap();
        let mut sig = STANDARD.decode(original["messageSignature"]["signature"].as_str().unwrap()).unwrap();
        let i = at.index(sig.len());
        sig[i] ^= xor;
        let bundle = edit(&managed(), |v| {
            v["messageSignature"]["signature"] = STANDARD.encode(&sig).into();
        });
        let digest = Digest::sha256(&read("managed-key.artifact.a.txt"));
        prop_assert!(verifier().verify_bundle(&bundle, &digest, &IdentityPolicy::key("k")).is_err());
    }
}
