//! Bundles built in the test with a generated "Rekor" key and a generated signing key, so
//! that log entries can be made for any content: a same-kind entry transplanted between two
//! bundles, a consistent log entry over a payload whose signature is wrong, log entry kinds.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use fleet_core::Digest;
use fleet_policy::artifact::{
    ArtifactError, IN_TOTO_PAYLOAD_TYPE, IdentityPolicy, TrustedRoot, Verifier, VerifyingKey, pae,
};
use p256::ecdsa::signature::Signer as _;
use p256::ecdsa::{Signature, SigningKey};
use p256::pkcs8::{EncodePublicKey as _, LineEnding};
use rand_core::OsRng;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

const INTEGRATED: i64 = 1_750_000_000;

struct World {
    rekor: SigningKey,
    signer: SigningKey,
}

impl World {
    fn new() -> Self {
        Self {
            rekor: SigningKey::random(&mut OsRng),
            signer: SigningKey::random(&mut OsRng),
        }
    }

    fn log_id(&self) -> Vec<u8> {
        Sha256::digest(
            self.rekor
                .verifying_key()
                .to_public_key_der()
                .unwrap()
                .as_bytes(),
        )
        .to_vec()
    }

    fn trusted_root(&self) -> TrustedRoot {
        let der = self.rekor.verifying_key().to_public_key_der().unwrap();
        let root = json!({
            "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
            "tlogs": [{
                "baseUrl": "https://rekor.invalid",
                "hashAlgorithm": "SHA2_256",
                "publicKey": {
                    "rawBytes": STANDARD.encode(der.as_bytes()),
                    "keyDetails": "PKIX_ECDSA_P256_SHA_256",
                    "validFor": {"start": "2020-01-01T00:00:00Z"}
                },
                "logId": {"keyId": STANDARD.encode(self.log_id())}
            }],
            "certificateAuthorities": []
        });
        TrustedRoot::from_json(&serde_json::to_vec(&root).unwrap()).unwrap()
    }

    fn verifier(&self) -> Verifier {
        Verifier::new()
            .with_trusted_root(self.trusted_root())
            .with_key("k", VerifyingKey::P256(*self.signer.verifying_key()))
    }

    fn signer_pem_b64(&self) -> String {
        let pem = self
            .signer
            .verifying_key()
            .to_public_key_pem(LineEnding::LF)
            .unwrap();
        STANDARD.encode(pem)
    }

    /// A tlog entry for `body`, with a valid SET.
    fn entry(&self, body: &Value, log_index: i64) -> Value {
        let kind = body["kind"].as_str().unwrap();
        let version = body["apiVersion"].as_str().unwrap();
        let body_b64 = STANDARD.encode(serde_json::to_vec(body).unwrap());
        let set_message = fleet_core::canonical_json(&json!({
            "body": body_b64,
            "integratedTime": INTEGRATED,
            "logID": hex(&self.log_id()),
            "logIndex": log_index,
        }));
        let set: Signature = self.rekor.sign(set_message.as_bytes());
        json!({
            "logIndex": log_index.to_string(),
            "logId": {"keyId": STANDARD.encode(self.log_id())},
            "kindVersion": {"kind": kind, "version": version},
            "integratedTime": INTEGRATED.to_string(),
            "inclusionPromise": {"signedEntryTimestamp": STANDARD.encode(set.to_der().as_bytes())},
            "canonicalizedBody": body_b64,
        })
    }

    /// A managed-key `messageSignature` bundle for `artifact`, logged as `hashedrekord`.
    fn message_bundle(&self, artifact: &[u8], log_index: i64) -> Value {
        let digest = Sha256::digest(artifact);
        let sig: Signature = self.signer.sign(artifact);
        let sig_b64 = STANDARD.encode(sig.to_der().as_bytes());
        let body = json!({
            "apiVersion": "0.0.1",
            "kind": "hashedrekord",
            "spec": {
                "data": {"hash": {"algorithm": "sha256", "value": hex(&digest)}},
                "signature": {"content": sig_b64, "publicKey": {"content": self.signer_pem_b64()}}
            }
        });
        json!({
            "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
            "verificationMaterial": {
                "publicKey": {"hint": VerifyingKey::P256(*self.signer.verifying_key()).hint()},
                "tlogEntries": [self.entry(&body, log_index)]
            },
            "messageSignature": {
                "messageDigest": {"algorithm": "SHA2_256", "digest": STANDARD.encode(digest)},
                "signature": sig_b64
            }
        })
    }

    /// A managed-key DSSE bundle whose signature is over `signed_payload` but which carries
    /// `payload`, logged as `dsse` 0.0.1 describing what it carries.
    fn dsse_bundle(&self, payload: &[u8], signed_payload: &[u8]) -> Value {
        let sig: Signature = self.signer.sign(&pae(IN_TOTO_PAYLOAD_TYPE, signed_payload));
        let sig_b64 = STANDARD.encode(sig.to_der().as_bytes());
        let body = json!({
            "apiVersion": "0.0.1",
            "kind": "dsse",
            "spec": {
                "envelopeHash": {"algorithm": "sha256", "value": hex(&[0; 32])},
                "payloadHash": {"algorithm": "sha256", "value": hex(&Sha256::digest(payload))},
                "signatures": [{"signature": sig_b64, "verifier": self.signer_pem_b64()}]
            }
        });
        json!({
            "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
            "verificationMaterial": {
                "publicKey": {},
                "tlogEntries": [self.entry(&body, 7)]
            },
            "dsseEnvelope": {
                "payload": STANDARD.encode(payload),
                "payloadType": IN_TOTO_PAYLOAD_TYPE,
                "signatures": [{"sig": sig_b64}]
            }
        })
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn bytes(v: &Value) -> Vec<u8> {
    serde_json::to_vec(v).unwrap()
}

fn statement(digest: &Digest) -> Vec<u8> {
    bytes(&json!({
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "app", "digest": {"sha256": digest.hex()}}],
        "predicateType": "https://slsa.dev/provenance/v1",
        "predicate": {"runDetails": {"builder": {"id": "https://example.com/builder"}}}
    }))
}

#[test]
fn generated_message_bundle_verifies() {
    let w = World::new();
    let ok = w
        .verifier()
        .verify_bundle(
            &bytes(&w.message_bundle(b"artifact a", 1)),
            &Digest::sha256(b"artifact a"),
            &IdentityPolicy::key("k"),
        )
        .unwrap();
    assert_eq!(ok.digests, vec![Digest::sha256(b"artifact a")]);
}

#[test]
fn same_kind_entry_transplanted_from_another_bundle_is_refused() {
    let w = World::new();
    let a = w.message_bundle(b"artifact a", 1);
    let b = w.message_bundle(b"artifact b", 2);
    let mut a_with_b_entry = a.clone();
    a_with_b_entry["verificationMaterial"]["tlogEntries"] =
        b["verificationMaterial"]["tlogEntries"].clone();
    // B's entry has a valid SET; only the consistency check stands between it and A.
    let err = w
        .verifier()
        .verify_bundle(
            &bytes(&a_with_b_entry),
            &Digest::sha256(b"artifact a"),
            &IdentityPolicy::key("k"),
        )
        .unwrap_err();
    assert_eq!(
        err,
        ArtifactError::LogEntryMismatch {
            reason: "the logged digest differs".to_owned()
        }
    );
}

#[test]
fn entry_from_another_log_key_is_refused() {
    let w = World::new();
    let other = World {
        rekor: SigningKey::random(&mut OsRng),
        signer: w.signer.clone(),
    };
    // Signed by a log this verifier does not trust.
    let bundle = other.message_bundle(b"artifact a", 1);
    let err = w
        .verifier()
        .verify_bundle(
            &bytes(&bundle),
            &Digest::sha256(b"artifact a"),
            &IdentityPolicy::key("k"),
        )
        .unwrap_err();
    assert!(matches!(err, ArtifactError::UnknownLog { .. }), "{err}");
}

#[test]
fn dsse_entry_kind_verifies() {
    let w = World::new();
    let digest = Digest::sha256(b"image");
    let payload = statement(&digest);
    let ok = w
        .verifier()
        .verify_bundle(
            &bytes(&w.dsse_bundle(&payload, &payload)),
            &digest,
            &IdentityPolicy::key("k"),
        )
        .unwrap();
    assert_eq!(ok.digests, vec![digest]);
}

#[test]
fn consistent_log_entry_does_not_excuse_a_bad_signature() {
    // The log entry matches the carried payload, but the signature was made over another
    // statement: the signature check must still refuse it.
    let w = World::new();
    let digest = Digest::sha256(b"image");
    let carried = statement(&digest);
    let signed = statement(&Digest::sha256(b"something else"));
    let err = w
        .verifier()
        .verify_bundle(
            &bytes(&w.dsse_bundle(&carried, &signed)),
            &digest,
            &IdentityPolicy::key("k"),
        )
        .unwrap_err();
    assert!(
        matches!(err, ArtifactError::SignatureInvalid { .. }),
        "{err}"
    );
}

#[test]
fn unknown_entry_kind_is_refused_not_skipped() {
    let w = World::new();
    let mut bundle = w.message_bundle(b"artifact a", 1);
    let body = json!({"apiVersion": "0.0.1", "kind": "rekord", "spec": {}});
    bundle["verificationMaterial"]["tlogEntries"] = json!([w.entry(&body, 1)]);
    let err = w
        .verifier()
        .verify_bundle(
            &bytes(&bundle),
            &Digest::sha256(b"artifact a"),
            &IdentityPolicy::key("k"),
        )
        .unwrap_err();
    assert_eq!(
        err,
        ArtifactError::Unsupported {
            what: "transparency log entry kind",
            value: "rekord 0.0.1".to_owned()
        }
    );
}

#[test]
fn entry_kind_that_cannot_log_the_content_is_refused() {
    let w = World::new();
    let digest = Digest::sha256(b"image");
    let payload = statement(&digest);
    let mut bundle = w.dsse_bundle(&payload, &payload);
    // A hashedrekord entry (valid SET) in front of DSSE content.
    let message = w.message_bundle(b"artifact a", 1);
    bundle["verificationMaterial"]["tlogEntries"] =
        message["verificationMaterial"]["tlogEntries"].clone();
    let err = w
        .verifier()
        .verify_bundle(&bytes(&bundle), &digest, &IdentityPolicy::key("k"))
        .unwrap_err();
    assert!(
        matches!(err, ArtifactError::LogEntryMismatch { .. }),
        "{err}"
    );
}

#[test]
fn kind_version_must_agree_with_the_body() {
    let w = World::new();
    let mut bundle = w.message_bundle(b"artifact a", 1);
    bundle["verificationMaterial"]["tlogEntries"][0]["kindVersion"]["kind"] = "dsse".into();
    let err = w
        .verifier()
        .verify_bundle(
            &bytes(&bundle),
            &Digest::sha256(b"artifact a"),
            &IdentityPolicy::key("k"),
        )
        .unwrap_err();
    assert!(
        matches!(err, ArtifactError::LogEntryMismatch { .. }),
        "{err}"
    );
}
