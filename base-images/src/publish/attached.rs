//! Reading back the SBOMs attached to a published version, from the
//! registry alone (no engine): the index the lock records, each platform's
//! manifest, the SPDX artifacts that refer to it (referrers API, else the
//! referrers tag schema, either kept to `application/spdx+json`), and the
//! document blob, bounded in size and checked against its digest. An
//! artifact is taken only when its `subject` is that platform manifest and
//! its document is SPDX describing that very manifest and platform; one
//! listed for another manifest, or carrying another platform's document,
//! is refused, and so is the platform when no artifact holds.

use oci_spec::image::{ImageIndex, ImageManifest};

use super::remote::Remote;
use super::{oci, PublishError};
use crate::sbom::spdx;
use crate::sbom::SPDX_MEDIA_TYPE;

/// The largest SBOM read back.
pub const MAX_SBOM_BYTES: u64 = 64 << 20;

/// One platform's attached SBOM.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttachedSbom {
    /// `os/arch[/variant]`.
    pub platform: String,
    /// The platform manifest's digest (the SBOM's subject).
    pub manifest: String,
    /// The SPDX JSON document.
    pub document: Vec<u8>,
}

/// The SBOM of each platform of the index `index_digest` in `repository`.
pub async fn attached_sboms(
    remote: &Remote,
    repository: &str,
    index_digest: &str,
) -> Result<Vec<AttachedSbom>, PublishError> {
    let missing = |what: String| PublishError::Document(format!("{}/{repository}: {what}", remote.registry()));
    let (bytes, _) = remote
        .manifest(repository, index_digest, &[oci::OCI_INDEX])
        .await?
        .ok_or_else(|| missing(format!("the index {index_digest} is not in the registry")))?;
    let index: ImageIndex = serde_json::from_slice(&bytes)
        .map_err(|e| missing(format!("{index_digest} is not an OCI image index: {e}")))?;
    let mut found = Vec::new();
    for (platform, manifest) in oci::index_platforms(&index) {
        found.push(attached_sbom(remote, repository, &platform, &manifest).await?);
    }
    Ok(found)
}

/// The SBOM attached to the `platform` manifest `manifest`: the first SPDX
/// referrer that refers to it and carries an SPDX document describing it;
/// when none does, an error naming why each was refused.
pub async fn attached_sbom(
    remote: &Remote,
    repository: &str,
    platform: &str,
    manifest: &str,
) -> Result<AttachedSbom, PublishError> {
    let what = format!("the {platform} manifest ({manifest})");
    let artifacts = remote.referrers(repository, manifest, SPDX_MEDIA_TYPE).await?;
    if artifacts.is_empty() {
        return Err(PublishError::Document(format!(
            "{}/{repository}: {what} has no SBOM attached; publish the version again to attach it",
            remote.registry()
        )));
    }
    let mut refused = Vec::new();
    for artifact in &artifacts {
        let checked = match document_of(remote, repository, artifact, manifest).await {
            Ok(document) => describes(&document, platform, manifest).map(|()| document),
            Err(PublishError::Document(why)) => Err(why),
            Err(e) => return Err(e),
        };
        match checked {
            Ok(document) => {
                return Ok(AttachedSbom {
                    platform: platform.to_owned(),
                    manifest: manifest.to_owned(),
                    document,
                })
            }
            Err(why) => refused.push(format!("the SBOM artifact {artifact} {why}")),
        }
    }
    Err(PublishError::Document(format!(
        "{}/{repository}: {what} has no SBOM that holds: {}",
        remote.registry(),
        refused.join("; ")
    )))
}

/// The SPDX document the artifact manifest `artifact` carries, refused
/// unless its subject is `subject`; errors say what the artifact is.
async fn document_of(
    remote: &Remote,
    repository: &str,
    artifact: &str,
    subject: &str,
) -> Result<Vec<u8>, PublishError> {
    let refused = |why: String| PublishError::Document(why);
    let (bytes, _) = remote
        .manifest(repository, artifact, &[oci::OCI_MANIFEST])
        .await?
        .ok_or_else(|| refused("is listed as a referrer but is not in the registry".into()))?;
    let manifest: ImageManifest =
        serde_json::from_slice(&bytes).map_err(|e| refused(format!("is not an image manifest: {e}")))?;
    let refers_to = manifest.subject().as_ref().map(|d| d.digest().to_string());
    if refers_to.as_deref() != Some(subject) {
        return Err(refused(format!(
            "refers to {}, not to this manifest",
            refers_to.as_deref().unwrap_or("nothing (no subject)")
        )));
    }
    let layer = manifest
        .layers()
        .iter()
        .find(|l| l.media_type().to_string() == SPDX_MEDIA_TYPE)
        .ok_or_else(|| refused(format!("has no {SPDX_MEDIA_TYPE} layer")))?;
    if layer.size() > MAX_SBOM_BYTES {
        return Err(refused(format!(
            "is {} bytes, more than an SBOM read back may be ({MAX_SBOM_BYTES})",
            layer.size()
        )));
    }
    let digest = layer.digest().to_string();
    let document = remote.blob(repository, &digest, MAX_SBOM_BYTES).await?;
    if oci::sha256(&document) != digest || document.len() as u64 != layer.size() {
        return Err(refused(format!(
            "names the blob {digest} ({} bytes), but the registry sent {} ({} bytes)",
            layer.size(),
            oci::sha256(&document),
            document.len()
        )));
    }
    Ok(document)
}

/// Whether `document` is an SPDX document describing the `platform`
/// manifest `manifest`; if not, why.
fn describes(document: &[u8], platform: &str, manifest: &str) -> Result<(), String> {
    let document: spdx::Document =
        serde_json::from_slice(document).map_err(|e| format!("carries no SPDX JSON document: {e}"))?;
    if !document.spdx_version.starts_with("SPDX-") {
        return Err(format!(
            "carries no SPDX document (spdxVersion \"{}\")",
            document.spdx_version
        ));
    }
    let described = document.described_digests();
    if !described.iter().any(|d| d == manifest) || !document.name.ends_with(&format!("[{platform}]")) {
        return Err(format!(
            "carries the SBOM \"{}\" of {}, not of this {platform} manifest",
            document.name,
            if described.is_empty() {
                "nothing (it describes no digest)".to_owned()
            } else {
                described.join(", ")
            }
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::publish::auth;
    use crate::publish::fake_registry::{descriptor, json, serve};

    /// The one platform manifest (amd64) of the index `published` serves.
    fn platform_manifest() -> Vec<u8> {
        json(serde_json::json!({"schemaVersion": 2, "mediaType": oci::OCI_MANIFEST,
            "config": descriptor(oci::OCI_EMPTY, b"{}"), "layers": []}))
    }

    /// An index of `platform_manifest` and, for each of `artifacts` (bytes,
    /// artifact type), that artifact listed as its referrer:
    /// (manifests, the index digest).
    fn published(artifacts: &[(&[u8], &str)]) -> (BTreeMap<String, Vec<u8>>, String) {
        let manifest = platform_manifest();
        let mut entry = descriptor(oci::OCI_MANIFEST, &manifest);
        entry["platform"] = serde_json::json!({"os": "linux", "architecture": "amd64"});
        let index = json(serde_json::json!({"schemaVersion": 2, "mediaType": oci::OCI_INDEX, "manifests": [entry]}));
        let mut manifests = BTreeMap::from([
            (oci::sha256(&index), index.clone()),
            (oci::sha256(&manifest), manifest.clone()),
        ]);
        if !artifacts.is_empty() {
            let listed: Vec<serde_json::Value> = artifacts
                .iter()
                .map(|(bytes, artifact_type)| {
                    let mut listed = descriptor(oci::OCI_MANIFEST, bytes);
                    listed["artifactType"] = (*artifact_type).into();
                    listed
                })
                .collect();
            let referrers =
                json(serde_json::json!({"schemaVersion": 2, "mediaType": oci::OCI_INDEX, "manifests": listed}));
            manifests.insert(oci::referrers_tag(&oci::sha256(&manifest)), referrers);
            for (bytes, _) in artifacts {
                manifests.insert(oci::sha256(bytes), bytes.to_vec());
            }
        }
        (manifests, oci::sha256(&index))
    }

    /// An SPDX artifact of the one `layer`, referring to `subject`.
    fn artifact_about(layer: serde_json::Value, subject: &[u8]) -> Vec<u8> {
        json(
            serde_json::json!({"schemaVersion": 2, "mediaType": oci::OCI_MANIFEST, "artifactType": SPDX_MEDIA_TYPE,
            "config": descriptor(oci::OCI_EMPTY, b"{}"), "layers": [layer],
            "subject": descriptor(oci::OCI_MANIFEST, subject)}),
        )
    }

    /// An SPDX artifact of the one `layer`, referring to `platform_manifest`.
    fn artifact(layer: serde_json::Value) -> Vec<u8> {
        artifact_about(layer, &platform_manifest())
    }

    /// An SPDX document of `platform` describing the manifest `digest`.
    fn sbom(platform: &str, digest: &str) -> Vec<u8> {
        json(
            serde_json::json!({"spdxVersion": "SPDX-2.3", "dataLicense": "CC0-1.0", "SPDXID": "SPDXRef-DOCUMENT",
            "name": format!("e2e:1.0.0 [{platform}]"), "documentNamespace": "https://base-images.invalid/spdx/1",
            "creationInfo": {"created": "2023-11-01T00:00:00Z", "creators": ["Tool: base-images"]},
            "packages": [{"SPDXID": "SPDXRef-image", "name": "e2e", "downloadLocation": "NOASSERTION",
                "filesAnalyzed": false,
                "checksums": [{"algorithm": "SHA256", "checksumValue": digest.trim_start_matches("sha256:")}]}],
            "relationships": [{"spdxElementId": "SPDXRef-DOCUMENT", "relationshipType": "DESCRIBES",
                "relatedSpdxElement": "SPDXRef-image"}]}),
        )
    }

    /// The SBOM of the amd64 manifest `published` serves.
    fn amd64_sbom() -> Vec<u8> {
        sbom("linux/amd64", &oci::sha256(&platform_manifest()))
    }

    async fn read(
        manifests: BTreeMap<String, Vec<u8>>,
        blobs: BTreeMap<String, Vec<u8>>,
        index: &str,
    ) -> Result<Vec<AttachedSbom>, String> {
        let registry = serve(manifests, blobs);
        let remote = auth::remote(&registry.host).map_err(|e| e.to_string())?;
        attached_sboms(&remote, "repo", index).await.map_err(|e| e.to_string())
    }

    /// The blobs of `documents`, by digest.
    fn blobs(documents: &[&[u8]]) -> BTreeMap<String, Vec<u8>> {
        documents.iter().map(|d| (oci::sha256(d), d.to_vec())).collect()
    }

    #[tokio::test]
    async fn each_platforms_sbom_is_read_back_and_checked() {
        let document = amd64_sbom();
        let sbom_artifact = artifact(descriptor(SPDX_MEDIA_TYPE, &document));
        let (manifests, index) = published(&[(&sbom_artifact, SPDX_MEDIA_TYPE)]);
        let found = read(manifests.clone(), blobs(&[&document]), &index)
            .await
            .expect("the SBOM");
        assert_eq!(found.len(), 1);
        assert_eq!(
            (found[0].platform.as_str(), found[0].document.as_slice()),
            ("linux/amd64", document.as_slice())
        );

        let tampered = BTreeMap::from([(oci::sha256(&document), b"{\"other\": 1}".to_vec())]);
        let error = read(manifests, tampered, &index).await.expect_err("another blob");
        assert!(
            error.contains(&format!("read blob {}", oci::sha256(&document))),
            "{error}"
        );
    }

    #[tokio::test]
    async fn only_spdx_referrers_are_taken() {
        let document = amd64_sbom();
        let sbom_artifact = artifact(descriptor(SPDX_MEDIA_TYPE, &document));
        let signature = artifact(descriptor("application/vnd.dev.cosign.simplesigning.v1+json", b"{}"));
        let (manifests, index) = published(&[(&signature, "application/vnd.dev.sigstore.bundle.v0.3+json")]);
        let error = read(manifests, blobs(&[&document]), &index)
            .await
            .expect_err("a signature is no SBOM");
        assert!(error.contains("has no SBOM attached"), "{error}");

        let listed = [
            (signature.as_slice(), "application/vnd.dev.sigstore.bundle.v0.3+json"),
            (sbom_artifact.as_slice(), SPDX_MEDIA_TYPE),
        ];
        let (manifests, index) = published(&listed);
        let found = read(manifests, blobs(&[&document]), &index).await.expect("the SBOM");
        assert_eq!(found[0].document, document);
    }

    #[tokio::test]
    async fn an_sbom_of_another_manifest_or_platform_is_refused() {
        let manifest = oci::sha256(&platform_manifest());
        let other_manifest = json(serde_json::json!({"schemaVersion": 2, "mediaType": oci::OCI_MANIFEST,
            "config": descriptor(oci::OCI_EMPTY, b"{}"), "layers": [], "annotations": {"other": "yes"}}));
        let other = oci::sha256(&other_manifest);

        // Listed under this manifest, but its subject is another.
        let document = amd64_sbom();
        let elsewhere = artifact_about(descriptor(SPDX_MEDIA_TYPE, &document), &other_manifest);
        let (manifests, index) = published(&[(&elsewhere, SPDX_MEDIA_TYPE)]);
        let error = read(manifests, blobs(&[&document]), &index)
            .await
            .expect_err("another subject");
        assert!(
            error.contains(&format!(
                "the linux/amd64 manifest ({manifest}) has no SBOM that holds: the SBOM artifact {} refers to {other}, not to this manifest",
                oci::sha256(&elsewhere)
            )),
            "{error}"
        );

        // About this manifest, but the document is arm64's of another.
        let arm = sbom("linux/arm64", &other);
        let misfiled = artifact(descriptor(SPDX_MEDIA_TYPE, &arm));
        let (manifests, index) = published(&[(&misfiled, SPDX_MEDIA_TYPE)]);
        let error = read(manifests, blobs(&[&arm]), &index)
            .await
            .expect_err("another platform's SBOM");
        assert!(
            error.contains(&format!(
                "carries the SBOM \"e2e:1.0.0 [linux/arm64]\" of {other}, not of this linux/amd64 manifest"
            )),
            "{error}"
        );

        // Not SPDX at all.
        let not_spdx = br#"{"bomFormat": "CycloneDX"}"#;
        let cyclone = artifact(descriptor(SPDX_MEDIA_TYPE, not_spdx));
        let (manifests, index) = published(&[(&cyclone, SPDX_MEDIA_TYPE)]);
        let error = read(manifests, blobs(&[not_spdx]), &index).await.expect_err("not SPDX");
        assert!(error.contains("carries no SPDX JSON document"), "{error}");

        // A wrong one listed first does not hide the right one.
        let right = artifact(descriptor(SPDX_MEDIA_TYPE, &document));
        let listed = [
            (misfiled.as_slice(), SPDX_MEDIA_TYPE),
            (right.as_slice(), SPDX_MEDIA_TYPE),
        ];
        let (manifests, index) = published(&listed);
        let found = read(manifests, blobs(&[&arm, &document]), &index)
            .await
            .expect("the right SBOM");
        assert_eq!(found[0].document, document);
    }

    #[tokio::test]
    async fn what_is_missing_or_malformed_is_named() {
        let (manifests, index) = published(&[]);
        let error = read(manifests.clone(), BTreeMap::new(), &index)
            .await
            .expect_err("no SBOM");
        assert!(
            error.contains("has no SBOM attached; publish the version again to attach it"),
            "{error}"
        );
        let gone = format!("sha256:{}", "0".repeat(64));
        let error = read(manifests.clone(), BTreeMap::new(), &gone)
            .await
            .expect_err("no index");
        assert!(
            error.contains(&format!("the index {gone} is not in the registry")),
            "{error}"
        );

        let manifest_digest = manifests.keys().find(|k| **k != index).cloned().unwrap_or_default();
        let error = read(manifests.clone(), BTreeMap::new(), &manifest_digest)
            .await
            .expect_err("a manifest, not an index");
        assert!(error.contains("is not an OCI image index"), "{error}");

        let document = amd64_sbom();
        let not_spdx = artifact(descriptor("text/plain", &document));
        let (manifests, index) = published(&[(&not_spdx, SPDX_MEDIA_TYPE)]);
        let error = read(manifests, BTreeMap::new(), &index)
            .await
            .expect_err("no SPDX layer");
        assert!(error.contains("has no application/spdx+json layer"), "{error}");

        let mut huge = descriptor(SPDX_MEDIA_TYPE, &document);
        huge["size"] = (MAX_SBOM_BYTES + 1).into();
        let (manifests, index) = published(&[(&artifact(huge), SPDX_MEDIA_TYPE)]);
        let error = read(manifests, BTreeMap::new(), &index).await.expect_err("too large");
        assert!(error.contains("more than an SBOM read back may be"), "{error}");

        let listed_only = artifact(descriptor(SPDX_MEDIA_TYPE, &document));
        let (mut manifests, index) = published(&[(&listed_only, SPDX_MEDIA_TYPE)]);
        manifests.remove(&oci::sha256(&listed_only));
        let error = read(manifests, BTreeMap::new(), &index)
            .await
            .expect_err("artifact gone");
        assert!(
            error.contains("is listed as a referrer but is not in the registry"),
            "{error}"
        );
    }
}
