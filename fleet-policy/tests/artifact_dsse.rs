//! DSSE envelopes with freshly generated Ed25519 and P-256 keys (P-256 signatures in DER and
//! raw `r || s`), the real GCE verification summary, and cosign simple signing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::Signer as _;
use fleet_core::Digest;
use fleet_policy::artifact::{
    ArtifactError, Envelope, IN_TOTO_PAYLOAD_TYPE, IdentityPolicy, Signer, SimpleSigning,
    Statement, Verifier, VerifyingKey, pae,
};
use rand_core::{OsRng, RngCore as _};

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/supply-chain/");

enum TestKey {
    Ed(ed25519_dalek::SigningKey),
    P256Der(p256::ecdsa::SigningKey),
    P256Raw(p256::ecdsa::SigningKey),
}

impl TestKey {
    fn ed25519() -> Self {
        let mut seed = [0u8; 32];
        OsRng.fill_bytes(&mut seed);
        Self::Ed(ed25519_dalek::SigningKey::from_bytes(&seed))
    }
    fn p256_der() -> Self {
        Self::P256Der(p256::ecdsa::SigningKey::random(&mut OsRng))
    }
    fn p256_raw() -> Self {
        Self::P256Raw(p256::ecdsa::SigningKey::random(&mut OsRng))
    }
    fn all() -> Vec<Self> {
        vec![Self::ed25519(), Self::p256_der(), Self::p256_raw()]
    }
    fn public(&self) -> VerifyingKey {
        match self {
            Self::Ed(k) => VerifyingKey::Ed25519(k.verifying_key()),
            Self::P256Der(k) | Self::P256Raw(k) => VerifyingKey::P256(*k.verifying_key()),
        }
    }
    fn sign(&self, message: &[u8]) -> Vec<u8> {
        match self {
            Self::Ed(k) => k.sign(message).to_bytes().to_vec(),
            Self::P256Der(k) => {
                let sig: p256::ecdsa::Signature = k.sign(message);
                sig.to_der().as_bytes().to_vec()
            }
            Self::P256Raw(k) => {
                let sig: p256::ecdsa::Signature = k.sign(message);
                sig.to_bytes().to_vec()
            }
        }
    }
}

fn statement(digest: &Digest) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "app", "digest": {digest.to_string().split(':').next().unwrap(): digest.hex()}}],
        "predicateType": "https://slsa.dev/provenance/v1",
        "predicate": {
            "buildDefinition": {"buildType": "https://example.com/build/v1"},
            "runDetails": {"builder": {"id": "https://example.com/builder"}}
        }
    }))
    .unwrap()
}

fn envelope(key: &TestKey, payload_type: &str, payload: &[u8]) -> Envelope {
    let sig = key.sign(&pae(payload_type, payload));
    Envelope {
        payload: STANDARD.encode(payload),
        payload_type: payload_type.to_owned(),
        signatures: vec![fleet_policy::artifact::EnvelopeSignature {
            keyid: String::new(),
            sig: STANDARD.encode(sig),
        }],
    }
}

#[test]
fn pae_matches_the_dsse_spec_example() {
    // From the DSSE protocol document: PAE("http://example.com/HelloWorld", "hello world").
    assert_eq!(
        pae("http://example.com/HelloWorld", b"hello world"),
        b"DSSEv1 29 http://example.com/HelloWorld 11 hello world".to_vec()
    );
    assert_eq!(pae("", b""), b"DSSEv1 0  0 ".to_vec());
}

#[test]
fn each_key_kind_verifies_and_refuses_tampering() {
    let digest = Digest::sha256(b"image");
    for key in TestKey::all() {
        let env = envelope(&key, IN_TOTO_PAYLOAD_TYPE, &statement(&digest));
        let ok = env.verify(&[key.public()]).unwrap();
        assert_eq!(ok.key_id, key.public().key_id());
        assert_eq!(ok.payload, statement(&digest));

        // Tampered payload: every byte position flipped in turn is refused.
        let payload = env.payload_bytes().unwrap();
        for at in [0, payload.len() / 3, payload.len() - 1] {
            let mut changed = payload.clone();
            changed[at] ^= 0x01;
            let mut bad = env.clone();
            bad.payload = STANDARD.encode(&changed);
            assert!(matches!(
                bad.verify(&[key.public()]),
                Err(ArtifactError::SignatureInvalid { .. })
            ));
        }

        // Wrong payload type: PAE binds it.
        let mut bad = env.clone();
        bad.payload_type = "application/json".to_owned();
        assert!(bad.verify(&[key.public()]).is_err());

        // Wrong key, of each kind.
        for other in TestKey::all() {
            assert!(matches!(
                env.verify(&[other.public()]),
                Err(ArtifactError::SignatureInvalid { .. })
            ));
        }

        // The right key among wrong ones is found.
        assert!(
            env.verify(&[TestKey::ed25519().public(), key.public()])
                .is_ok()
        );
    }
}

#[test]
fn raw_and_der_p256_signatures_of_the_same_key_both_verify() {
    let sk = p256::ecdsa::SigningKey::random(&mut OsRng);
    let message = pae(IN_TOTO_PAYLOAD_TYPE, b"{}");
    let sig: p256::ecdsa::Signature = sk.sign(&message);
    let key = VerifyingKey::P256(*sk.verifying_key());
    key.verify(&message, &sig.to_bytes(), "raw").unwrap();
    key.verify(&message, sig.to_der().as_bytes(), "der")
        .unwrap();
    // A truncated signature is neither.
    assert!(
        key.verify(&message, &sig.to_bytes()[..63], "short")
            .is_err()
    );
}

#[test]
fn verifier_checks_envelope_subject_and_key_name() {
    let key = TestKey::p256_raw();
    let digest = Digest::sha256(b"image");
    let env =
        serde_json::to_vec(&envelope(&key, IN_TOTO_PAYLOAD_TYPE, &statement(&digest))).unwrap();
    let v = Verifier::new().with_key("ci", key.public());

    let ok = v
        .verify_envelope(&env, &digest, &IdentityPolicy::key("ci"))
        .unwrap();
    assert_eq!(
        ok.signer,
        Signer::Key {
            key_id: key.public().key_id()
        }
    );
    assert_eq!(ok.digests, vec![digest.clone()]);
    assert_eq!(
        ok.statement.unwrap().builder_id.as_deref(),
        Some("https://example.com/builder")
    );

    assert_eq!(
        v.verify_envelope(&env, &Digest::sha256(b"other"), &IdentityPolicy::key("ci"))
            .unwrap_err(),
        ArtifactError::SubjectNotFound {
            digest: Digest::sha256(b"other").to_string()
        }
    );
    assert!(matches!(
        v.verify_envelope(&env, &digest, &IdentityPolicy::key("other")),
        Err(ArtifactError::UnknownKey { .. })
    ));
    assert!(matches!(
        v.verify_envelope(&env, &digest, &IdentityPolicy::keyless("i", "s")),
        Err(ArtifactError::IdentityMismatch { .. })
    ));
}

#[test]
fn verifier_refuses_non_in_toto_payload_and_wrong_statement_type() {
    let key = TestKey::ed25519();
    let digest = Digest::sha256(b"image");
    let v = Verifier::new().with_key("k", key.public());
    let policy = IdentityPolicy::key("k");

    let other_type =
        serde_json::to_vec(&envelope(&key, "text/plain", &statement(&digest))).unwrap();
    assert_eq!(
        v.verify_envelope(&other_type, &digest, &policy)
            .unwrap_err(),
        ArtifactError::WrongPayloadType {
            expected: IN_TOTO_PAYLOAD_TYPE.to_owned(),
            found: "text/plain".to_owned()
        }
    );

    let v01 = serde_json::to_vec(&serde_json::json!({
        "_type": "https://in-toto.io/Statement/v0.1",
        "subject": [{"name": "app", "digest": {"sha256": digest.hex()}}],
        "predicateType": "https://slsa.dev/provenance/v0.2",
        "predicate": {}
    }))
    .unwrap();
    let env = serde_json::to_vec(&envelope(&key, IN_TOTO_PAYLOAD_TYPE, &v01)).unwrap();
    assert_eq!(
        v.verify_envelope(&env, &digest, &policy).unwrap_err(),
        ArtifactError::WrongStatementType {
            found: "https://in-toto.io/Statement/v0.1".to_owned()
        }
    );
}

#[test]
fn sha512_subjects_are_compared() {
    let statement = Statement::from_json(
        &std::fs::read(format!(
            "{DATA}sigstore-js-2.1.0.slsa-provenance-v1.statement.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let digests = statement.subject_digests();
    assert_eq!(digests.len(), 1);
    assert_eq!(digests[0].to_string().split(':').next(), Some("sha512"));
    assert!(statement.check_subject(&digests[0]).is_ok());
}

#[test]
fn real_gce_vsa_envelope_verifies_with_raw_p256_signature() {
    let env = Envelope::from_json(&std::fs::read(format!("{DATA}gce-vsa-v1.dsse.json")).unwrap())
        .unwrap();
    let pem =
        std::fs::read_to_string(format!("{DATA}gce-vsa-v1.vsa_signing_public_key.pem")).unwrap();
    let key = VerifyingKey::from_pem(&pem).unwrap();
    // The signature is the 64-byte `r || s` form.
    assert_eq!(STANDARD.decode(&env.signatures[0].sig).unwrap().len(), 64);

    let verified = env.verify(std::slice::from_ref(&key)).unwrap();
    assert_eq!(verified.payload_type, IN_TOTO_PAYLOAD_TYPE);
    let statement = Statement::from_json(&verified.payload).unwrap();
    assert_eq!(
        statement.predicate_type,
        "https://slsa.dev/verification_summary/v1"
    );
    assert_eq!(statement.predicate["verificationResult"], "PASSED");
    // `gce_image_id` is not a digest this crate compares, so no subject digest comes out.
    assert!(statement.subject_digests().is_empty());

    let mut tampered = env.clone();
    let mut payload = tampered.payload_bytes().unwrap();
    let last = payload.len() - 3;
    payload[last] ^= 1;
    tampered.payload = STANDARD.encode(payload);
    assert!(tampered.verify(&[key]).is_err());
}

// ---- cosign simple signing ----

fn simple_payload(manifest: &Digest) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "critical": {
            "identity": {"docker-reference": "ghcr.io/acme/app"},
            "image": {"docker-manifest-digest": manifest.to_string()},
            "type": "cosign container image signature"
        },
        "optional": {"creator": "test"}
    }))
    .unwrap()
}

#[test]
fn simple_signing_verifies_and_binds_the_manifest_digest() {
    let manifest = Digest::sha256(b"manifest");
    for key in [TestKey::p256_der(), TestKey::p256_raw(), TestKey::ed25519()] {
        let payload = simple_payload(&manifest);
        let signature = key.sign(&payload);
        let v = Verifier::new().with_key("cosign", key.public());
        let policy = IdentityPolicy::key("cosign");

        let ok = v
            .verify_simple_signing(&payload, &signature, &manifest, &policy)
            .unwrap();
        assert_eq!(ok.digests, vec![manifest.clone()]);
        assert_eq!(
            ok.signer,
            Signer::Key {
                key_id: key.public().key_id()
            }
        );

        let err = v
            .verify_simple_signing(&payload, &signature, &Digest::sha256(b"other"), &policy)
            .unwrap_err();
        assert_eq!(
            err,
            ArtifactError::DigestMismatch {
                expected: Digest::sha256(b"other").to_string(),
                found: manifest.to_string()
            }
        );

        let mut changed = payload.clone();
        let at = changed.len() - 5;
        changed[at] ^= 1;
        assert!(matches!(
            v.verify_simple_signing(&changed, &signature, &manifest, &policy),
            Err(ArtifactError::SignatureInvalid { .. })
        ));

        let other = Verifier::new().with_key("cosign", TestKey::p256_der().public());
        assert!(
            other
                .verify_simple_signing(&payload, &signature, &manifest, &policy)
                .is_err()
        );
    }
}

#[test]
fn simple_signing_payload_checks() {
    let manifest = Digest::sha256(b"manifest");
    let parsed = SimpleSigning::from_json(&simple_payload(&manifest)).unwrap();
    assert_eq!(parsed.docker_reference, "ghcr.io/acme/app");
    assert_eq!(parsed.manifest_digest, manifest);
    assert_eq!(parsed.optional["creator"], "test");

    let wrong_type = br#"{"critical":{"identity":{"docker-reference":"x"},"image":{"docker-manifest-digest":"sha256:00"},"type":"atomic container signature"}}"#;
    assert!(matches!(
        SimpleSigning::from_json(wrong_type),
        Err(ArtifactError::SimpleSigning { .. })
    ));
    let bad_digest = br#"{"critical":{"identity":{"docker-reference":"x"},"image":{"docker-manifest-digest":"sha256:zz"},"type":"cosign container image signature"}}"#;
    assert!(matches!(
        SimpleSigning::from_json(bad_digest),
        Err(ArtifactError::SimpleSigning { .. })
    ));
    assert!(matches!(
        SimpleSigning::from_json(b"{\"critical\":{}}"),
        Err(ArtifactError::SimpleSigning { .. })
    ));
}
