//! Reading back the SBOMs attached to a published version, from the
//! registry alone (no engine): the index the lock records, each platform's
//! manifest, the SPDX artifact that refers to it (referrers API, else the
//! referrers tag schema), and the document blob, bounded in size and
//! checked against its digest.

use oci_spec::image::{ImageIndex, ImageManifest};

use super::remote::Remote;
use super::verify::index_platforms;
use super::{oci, PublishError};
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
    for (platform, manifest) in index_platforms(&index) {
        let artifact = remote
            .referrers(repository, &manifest, SPDX_MEDIA_TYPE)
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| {
                missing(format!(
                    "the {platform} manifest ({manifest}) has no SBOM attached; publish the version again to attach it"
                ))
            })?;
        let document = document_of(remote, repository, &artifact).await?;
        found.push(AttachedSbom {
            platform,
            manifest,
            document,
        });
    }
    Ok(found)
}

/// The SPDX document the artifact manifest `artifact` carries.
async fn document_of(remote: &Remote, repository: &str, artifact: &str) -> Result<Vec<u8>, PublishError> {
    let refused = |why: String| PublishError::Document(format!("the SBOM artifact {artifact} in {repository} {why}"));
    let (bytes, _) = remote
        .manifest(repository, artifact, &[oci::OCI_MANIFEST])
        .await?
        .ok_or_else(|| refused("is listed as a referrer but is not in the registry".into()))?;
    let manifest: ImageManifest =
        serde_json::from_slice(&bytes).map_err(|e| refused(format!("is not an image manifest: {e}")))?;
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
