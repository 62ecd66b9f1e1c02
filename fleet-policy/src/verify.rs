//! The artifacts rule's signature and provenance checks, on top of
//! [`crate::artifact::Verifier`] (which caches by evidence bytes, trust material, identity
//! policy and artifact digest).

use std::sync::Arc;

use crate::artifact::{
    ArtifactError, IdentityPolicy, Signer as VerifiedSigner, Verified, Verifier,
};
use crate::eval::Artifact;
use crate::policy::Artifacts;

/// Evidence that comes with an artifact, as the producer emitted it. Built once per
/// release; its digest (the verification cache's key) is computed on construction, so a
/// decision whose signatures are already verified does not rehash the bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evidence {
    form: Form,
    input: [u8; 32],
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Form {
    Bundle(Arc<[u8]>),
    Envelope(Arc<[u8]>),
    Simple {
        payload: Arc<[u8]>,
        signature: Arc<[u8]>,
    },
}

impl Evidence {
    /// A Sigstore bundle (v0.3 or v0.2), JSON bytes: keyless or managed-key, a message
    /// signature or a DSSE envelope with an in-toto statement.
    #[must_use]
    pub fn sigstore_bundle(json: impl Into<Arc<[u8]>>) -> Self {
        let json = json.into();
        Self {
            input: Verifier::input_digest(&json),
            form: Form::Bundle(json),
        }
    }

    /// A bare DSSE envelope (JSON bytes) with an in-toto statement, signed by a managed key.
    #[must_use]
    pub fn dsse_envelope(json: impl Into<Arc<[u8]>>) -> Self {
        let json = json.into();
        Self {
            input: Verifier::input_digest(&json),
            form: Form::Envelope(json),
        }
    }

    /// A cosign simple-signing payload (exact bytes as signed) and its raw signature
    /// (ECDSA DER or `r || s`, or Ed25519), signed by a managed key.
    #[must_use]
    pub fn simple_signing(payload: impl Into<Arc<[u8]>>, signature: impl Into<Arc<[u8]>>) -> Self {
        let (payload, signature) = (payload.into(), signature.into());
        Self {
            input: Verifier::simple_input_digest(&payload, &signature),
            form: Form::Simple { payload, signature },
        }
    }

    fn kind(&self) -> &'static str {
        match self.form {
            Form::Bundle(_) => "sigstore bundle",
            Form::Envelope(_) => "dsse envelope",
            Form::Simple { .. } => "simple-signing payload",
        }
    }

    fn verify(
        &self,
        v: &Verifier,
        art: &Artifact,
        id: &IdentityPolicy,
        id_digest: [u8; 32],
    ) -> Result<Verified, ArtifactError> {
        match &self.form {
            Form::Bundle(b) => v.verify_bundle_keyed(b, self.input, &art.digest, id, id_digest),
            Form::Envelope(b) => v.verify_envelope_keyed(b, self.input, &art.digest, id, id_digest),
            Form::Simple { payload, signature } => v.verify_simple_signing_keyed(
                payload,
                signature,
                self.input,
                &art.digest,
                id,
                id_digest,
            ),
        }
    }
}

fn signer_text(s: &VerifiedSigner) -> String {
    match s {
        VerifiedSigner::Keyless { san, issuer } => format!("{san} ({issuer})"),
        VerifiedSigner::Key { key_id } => format!("key {key_id}"),
    }
}

/// Checks the signer and provenance requirements; on success, the evidence found.
///
/// Every piece of evidence is tried with every accepted signer; the first that verifies
/// satisfies the signature requirement. Provenance needs a verified in-toto statement
/// (the verifier has already checked that one of its subjects is the deployed digest) with
/// the expected predicate type and a trusted builder id.
pub(crate) fn check(
    v: &Verifier,
    rule: &Artifacts,
    art: &Artifact,
) -> Result<Vec<(&'static str, String)>, String> {
    if art.evidence.is_empty() {
        return Err(format!(
            "artifact {} carries no signature or attestation",
            art.digest
        ));
    }
    let mut evidence = Vec::new();
    let mut last_error: Option<String> = None;
    let mut signed = false;
    let mut provenance_ok = rule.provenance.is_none();
    for e in &art.evidence {
        for s in &rule.signers {
            let Some((id, id_digest)) = &s.identity else {
                continue;
            };
            match e.verify(v, art, id, *id_digest) {
                Ok(found) => {
                    if !signed {
                        evidence.push(("signer", signer_text(&found.signer)));
                        if let Some(t) = found.integrated_time {
                            evidence.push(("logged_at", t.to_rfc3339()));
                        }
                    }
                    signed = true;
                    if let (Some((predicate, builders)), Some(st)) =
                        (&rule.provenance, &found.statement)
                    {
                        if st.predicate_type != *predicate {
                            last_error = Some(format!(
                                "provenance predicate is `{}`, expected `{predicate}`",
                                st.predicate_type
                            ));
                        } else if let Some(b) =
                            st.builder_id.as_ref().filter(|b| builders.contains(b))
                        {
                            if !provenance_ok {
                                evidence.push(("builder", b.clone()));
                                evidence.push(("predicate", st.predicate_type.clone()));
                            }
                            provenance_ok = true;
                        } else {
                            last_error = Some(format!(
                                "provenance builder `{}` is not trusted",
                                st.builder_id.as_deref().unwrap_or("(none)")
                            ));
                        }
                    }
                }
                Err(err) => last_error = Some(format!("{}: {err}", e.kind())),
            }
        }
    }
    if !signed {
        return Err(format!(
            "no valid signature from an accepted signer{}",
            last_error.map(|e| format!(" ({e})")).unwrap_or_default()
        ));
    }
    if !provenance_ok {
        return Err(last_error.unwrap_or_else(|| "no verified provenance statement".to_owned()));
    }
    Ok(evidence)
}
