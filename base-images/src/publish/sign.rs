//! Signatures of published index digests in cosign's key-based format: a
//! "simple signing" payload naming the repository and the index digest,
//! signed with ECDSA P-256 over SHA-256 (RustCrypto's `p256`; RFC 6979
//! nonces, so the same key and digest give the same signature), stored as
//! a layer of an OCI image manifest tagged `sha256-<hex>.sig` in the same
//! repository, the base64 DER signature in the layer's
//! `dev.cosignproject.cosign/signature` annotation. Keys are PEM files:
//! a PKCS#8 or SEC1 P-256 private key to sign, its PKIX public key to
//! verify (what `openssl` writes and `cosign verify --key` reads).

use std::collections::BTreeMap;
use std::path::Path;

use base64::Engine as _;
use p256::ecdsa::signature::{Signer as _, Verifier as _};
use p256::ecdsa::{Signature, SigningKey, VerifyingKey};
use p256::pkcs8::{DecodePrivateKey as _, DecodePublicKey as _};
use serde_json::json;

use super::oci::{self, Document};
use super::PublishError;

/// The media type of a signed payload.
pub const SIMPLE_SIGNING: &str = "application/vnd.dev.cosign.simplesigning.v1+json";

/// The largest signed payload read (cosign's simple-signing payloads are
/// a few hundred bytes).
pub const MAX_PAYLOAD_BYTES: u64 = 1 << 20;

/// The layer annotation holding the base64 signature.
pub const SIGNATURE_ANNOTATION: &str = "dev.cosignproject.cosign/signature";

/// The tag a digest's signatures are kept under (`sha256-<hex>.sig`).
pub fn signature_tag(digest: &str) -> String {
    format!("{}.sig", digest.replacen(':', "-", 1))
}

/// The simple-signing payload for `digest` in `repository` (`registry/path`).
pub fn payload(repository: &str, digest: &str) -> Document {
    let value = json!({
        "critical": {
            "identity": { "docker-reference": repository },
            "image": { "docker-manifest-digest": digest },
            "type": "cosign container image signature",
        },
        "optional": null,
    });
    Document::raw(SIMPLE_SIGNING, serde_json::to_vec(&value).unwrap_or_default())
}

/// A private key that signs.
pub struct Signer {
    key: SigningKey,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Signer(P-256)")
    }
}

impl Signer {
    /// Reads a PEM P-256 private key (PKCS#8 or SEC1) from `path`.
    pub fn from_file(path: &Path) -> Result<Signer, PublishError> {
        let text = read_key(path)?;
        let key = SigningKey::from_pkcs8_pem(&text)
            .ok()
            .or_else(|| p256::SecretKey::from_sec1_pem(&text).ok().map(SigningKey::from))
            .ok_or_else(|| PublishError::Key {
                path: path.to_owned(),
                reason:
                    "not a PEM ECDSA P-256 private key (PKCS#8 `BEGIN PRIVATE KEY` or SEC1 `BEGIN EC PRIVATE KEY`); \
                         make one with `openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out KEY`"
                        .into(),
            })?;
        Ok(Signer { key })
    }

    /// The base64 DER signature of `payload`.
    pub fn sign(&self, payload: &[u8]) -> String {
        let signature: Signature = self.key.sign(payload);
        base64::engine::general_purpose::STANDARD.encode(signature.to_der().as_bytes())
    }
}

/// A public key that verifies.
#[derive(Debug)]
pub struct Verifier {
    key: VerifyingKey,
}

impl Verifier {
    /// Reads a PEM P-256 public key (PKIX `BEGIN PUBLIC KEY`) from `path`.
    pub fn from_file(path: &Path) -> Result<Verifier, PublishError> {
        let text = read_key(path)?;
        let key = VerifyingKey::from_public_key_pem(&text).map_err(|e| PublishError::Key {
            path: path.to_owned(),
            reason: format!(
                "not a PEM ECDSA P-256 public key ({e}); write one with `openssl pkey -in KEY -pubout -out PUB`"
            ),
        })?;
        Ok(Verifier { key })
    }

    /// Whether `signature` (base64 DER) is this key's signature of `payload`.
    pub fn verifies(&self, payload: &[u8], signature: &str) -> bool {
        let Ok(der) = base64::engine::general_purpose::STANDARD.decode(signature.trim()) else {
            return false;
        };
        Signature::from_der(&der).is_ok_and(|s| self.key.verify(payload, &s).is_ok())
    }
}

fn read_key(path: &Path) -> Result<String, PublishError> {
    std::fs::read_to_string(path).map_err(|e| PublishError::Key {
        path: path.to_owned(),
        reason: format!("cannot read it ({e})"),
    })
}

/// The signature manifest `existing` (the one the signature tag holds, if
/// any) with the layer `payload` signed as `signature` added, and its
/// config; `None` when it holds that signature already.
pub fn with_signature(
    existing: Option<&[u8]>,
    payload: &Document,
    signature: &str,
) -> Result<Option<(Document, Document)>, PublishError> {
    let mut layers: Vec<serde_json::Value> = match existing {
        Some(bytes) => serde_json::from_slice::<serde_json::Value>(bytes)
            .map_err(|e| PublishError::Document(format!("the signature tag holds no manifest: {e}")))?["layers"]
            .as_array()
            .cloned()
            .unwrap_or_default(),
        None => Vec::new(),
    };
    let ours = |layer: &serde_json::Value| {
        layer["digest"] == payload.digest.as_str() && layer["annotations"][SIGNATURE_ANNOTATION] == signature
    };
    if layers.iter().any(ours) {
        return Ok(None);
    }
    layers.push(json!({
        "mediaType": SIMPLE_SIGNING,
        "digest": payload.digest,
        "size": payload.bytes.len(),
        "annotations": BTreeMap::from([(SIGNATURE_ANNOTATION, signature)]),
    }));
    let diff_ids: Vec<serde_json::Value> = layers.iter().map(|l| l["digest"].clone()).collect();
    let config = Document::canonical(
        oci::OCI_CONFIG,
        &json!({
            "architecture": "",
            "config": {},
            "created": "0001-01-01T00:00:00Z",
            "history": [{ "created": "0001-01-01T00:00:00Z" }],
            "os": "",
            "rootfs": { "type": "layers", "diff_ids": diff_ids },
        }),
    )?;
    let manifest = Document::canonical(
        oci::OCI_MANIFEST,
        &json!({
            "schemaVersion": 2,
            "mediaType": oci::OCI_MANIFEST,
            "config": { "mediaType": oci::OCI_CONFIG, "digest": config.digest, "size": config.bytes.len() },
            "layers": layers,
        }),
    )?;
    Ok(Some((manifest, config)))
}

/// The signatures a signature manifest lists: (payload digest, base64 signature).
pub fn signatures_in(manifest: &[u8]) -> Vec<(String, String)> {
    let value: serde_json::Value = serde_json::from_slice(manifest).unwrap_or_default();
    value["layers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|l| l["mediaType"] == SIMPLE_SIGNING)
        .filter_map(|l| {
            Some((
                l["digest"].as_str()?.to_owned(),
                l["annotations"][SIGNATURE_ANNOTATION].as_str()?.to_owned(),
            ))
        })
        .collect()
}

/// Whether `payload` (bytes fetched by digest) signs `digest` of `repository`.
pub fn payload_names(payload: &[u8], repository: &str, digest: &str) -> bool {
    let value: serde_json::Value = serde_json::from_slice(payload).unwrap_or_default();
    value["critical"]["image"]["docker-manifest-digest"] == digest
        && value["critical"]["identity"]["docker-reference"] == repository
        && value["critical"]["type"] == "cosign container image signature"
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(dir: &Path) -> (Signer, Verifier, std::path::PathBuf) {
        let private = dir.join("key.pem");
        let secret = p256::SecretKey::from_slice(&[5u8; 32]).unwrap_or_else(|e| panic!("{e}"));
        let pem = p256::pkcs8::EncodePrivateKey::to_pkcs8_pem(&secret, p256::pkcs8::LineEnding::LF)
            .unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(&private, pem.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
        let signer = Signer::from_file(&private).unwrap_or_else(|e| panic!("{e}"));
        let public = dir.join("key.pub");
        let pem =
            p256::pkcs8::EncodePublicKey::to_public_key_pem(signer.key.verifying_key(), p256::pkcs8::LineEnding::LF)
                .unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(&public, pem).unwrap_or_else(|e| panic!("{e}"));
        let verifier = Verifier::from_file(&public).unwrap_or_else(|e| panic!("{e}"));
        (signer, verifier, private)
    }

    #[test]
    fn a_signature_verifies_with_its_key_only_and_is_the_same_each_time() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let (signer, verifier, _) = keys(dir.path());
        let digest = format!("sha256:{}", "a".repeat(64));
        let payload = payload("127.0.0.1:5000/e2e/dual", &digest);
        assert!(payload_names(&payload.bytes, "127.0.0.1:5000/e2e/dual", &digest));
        assert!(!payload_names(
            &payload.bytes,
            "127.0.0.1:5000/e2e/dual",
            "sha256:other"
        ));
        let signature = signer.sign(&payload.bytes);
        assert_eq!(signature, signer.sign(&payload.bytes), "RFC 6979: deterministic");
        assert!(verifier.verifies(&payload.bytes, &signature));
        assert!(!verifier.verifies(b"another payload", &signature));
        assert!(!verifier.verifies(&payload.bytes, "bm90IGEgc2lnbmF0dXJl"));
        let other = SigningKey::from(p256::SecretKey::from_slice(&[7u8; 32]).unwrap_or_else(|e| panic!("{e}")));
        let foreign: Signature = other.sign(&payload.bytes);
        let foreign = base64::engine::general_purpose::STANDARD.encode(foreign.to_der().as_bytes());
        assert!(!verifier.verifies(&payload.bytes, &foreign), "another key's signature");
    }

    #[test]
    fn the_signature_manifest_gains_a_layer_per_new_signature() -> Result<(), PublishError> {
        let digest = format!("sha256:{}", "b".repeat(64));
        let payload = payload("r/p", &digest);
        let (manifest, config) = with_signature(None, &payload, "c2ln")?.unwrap_or_else(|| panic!("new"));
        assert_eq!(signature_tag(&digest), format!("sha256-{}.sig", "b".repeat(64)));
        assert_eq!(
            signatures_in(&manifest.bytes),
            [(payload.digest.clone(), "c2ln".to_owned())]
        );
        let value: serde_json::Value = serde_json::from_slice(&manifest.bytes).unwrap_or_default();
        assert_eq!(value["config"]["digest"], config.digest.as_str());
        assert_eq!(value["layers"][0]["mediaType"], SIMPLE_SIGNING);
        assert_eq!(
            with_signature(Some(&manifest.bytes), &payload, "c2ln")?,
            None,
            "already there"
        );
        let (two, _) = with_signature(Some(&manifest.bytes), &payload, "b3RoZXI=")?.unwrap_or_else(|| panic!("added"));
        assert_eq!(signatures_in(&two.bytes).len(), 2);
        Ok(())
    }

    #[test]
    fn a_key_that_is_not_p256_pem_is_refused_with_how_to_make_one() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("key.pem");
        std::fs::write(&path, "not a key").unwrap_or_else(|e| panic!("{e}"));
        let err = Signer::from_file(&path)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("openssl genpkey -algorithm EC"), "{err}");
        let err = Verifier::from_file(&path)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("openssl pkey -in KEY -pubout"), "{err}");
    }
}
