//! Copying a published version between registries by digest, as `crane
//! copy` and `oras copy -r` do: nothing is rebuilt, so the version keeps
//! one index digest everywhere. Every blob (present, mounted within one
//! registry, else streamed from the source and checked against its
//! digest), each platform manifest with its SBOM referrers, the index, its
//! signatures, and the tag last, which is never moved.

use std::collections::BTreeMap;
use std::sync::Arc;

use oci_spec::image::{Descriptor, ImageIndex, ImageManifest};

use super::oci::{self, index_platforms, Document, MANIFEST_MEDIA_TYPES};
use super::push::{add_referrer, add_signature, put_by_digest, put_tag};
use super::remote::Remote;
use super::{sign, sign_index, Event, Observer, PublishError, Target};
use crate::sbom::SPDX_MEDIA_TYPE;

/// A repository that holds a published version: where a copy reads from.
#[derive(Clone, Copy, Debug)]
pub struct Source<'a> {
    /// Its registry.
    pub remote: &'a Remote,
    /// The repository path on that registry.
    pub repository: &'a str,
}

impl Source<'_> {
    /// `registry/repository`.
    pub fn address(&self) -> String {
        format!("{}/{}", self.remote.registry(), self.repository)
    }

    /// Whether it holds the manifest `digest`.
    pub async fn holds(&self, digest: &str) -> Result<bool, PublishError> {
        Ok(self
            .remote
            .manifest(self.repository, digest, &MANIFEST_MEDIA_TYPES)
            .await?
            .is_some())
    }

    /// The manifest `digest` as a document, checked against its digest.
    async fn document(&self, digest: &str, media_type: &str) -> Result<Document, PublishError> {
        let refused = |why: &str| PublishError::Document(format!("{}@{digest} {why}", self.address()));
        let media_type = MANIFEST_MEDIA_TYPES
            .into_iter()
            .find(|known| *known == media_type)
            .ok_or_else(|| {
                refused(&format!(
                    "is a {media_type}, not an image manifest or index; not copied"
                ))
            })?;
        let (bytes, _) = self
            .remote
            .manifest(self.repository, digest, &[media_type])
            .await?
            .ok_or_else(|| refused("is not in the registry"))?;
        let document = Document::raw(media_type, bytes);
        if document.digest != digest {
            return Err(refused(&format!("came back as {}; not copied", document.digest)));
        }
        Ok(document)
    }
}

/// Copies the index `digest` from `source` to `target` (on `remote`):
/// blobs, platform manifests and their SBOMs, the index, its signatures
/// (and, with `signer`, one naming `target`'s repository), then the tag.
/// The tag is left alone, and the copy fails, when it holds other content.
pub async fn copy(
    source: Source<'_>,
    remote: &Remote,
    target: &Target,
    digest: &str,
    signer: Option<&sign::Signer>,
    observe: &Observer,
) -> Result<(), crate::Error> {
    let to = Destination {
        remote,
        repository: &target.repository,
        observe,
    };
    let index = source.document(digest, oci::OCI_INDEX).await?;
    let parsed: ImageIndex = serde_json::from_slice(&index.bytes)
        .map_err(|e| PublishError::Document(format!("{}@{digest} is not an OCI image index: {e}", source.address())))?;
    for (entry, (platform, _)) in parsed.manifests().iter().zip(index_platforms(&parsed)) {
        let manifest = copy_manifest(source, &to, entry).await?;
        copy_sboms(source, &to, &platform, &manifest.digest).await?;
    }
    to.put(&index).await?;
    copy_signatures(source, &to, digest).await?;
    if let Some(signer) = signer {
        sign_index(remote, target, digest, signer, observe).await?;
    }
    put_tag(remote, target, &index, observe).await
}

/// Where a copy writes, and who hears about it.
struct Destination<'a> {
    remote: &'a Remote,
    repository: &'a str,
    observe: &'a Observer,
}

impl Destination<'_> {
    /// Puts `document` under its digest, and says so.
    async fn put(&self, document: &Document) -> Result<(), PublishError> {
        put_by_digest(self.remote, self.repository, document, self.observe).await
    }

    /// Copies the blob `digest` of `size` bytes unless it is here already:
    /// mounted when `source` is on the same registry, else streamed.
    async fn blob(&self, source: Source<'_>, digest: &str, size: u64) -> Result<(), PublishError> {
        let observe = self.observe;
        if self.remote.has_blob(self.repository, digest).await? {
            observe(Event::Present {
                digest: digest.to_owned(),
                size,
            });
            return Ok(());
        }
        let same_registry = source.remote.registry() == self.remote.registry();
        if same_registry
            && self.remote.mount(self.repository, source.repository, digest).await
            && self.remote.has_blob(self.repository, digest).await?
        {
            observe(Event::Mounted {
                digest: digest.to_owned(),
                size,
                from: source.repository.to_owned(),
            });
            return Ok(());
        }
        observe(Event::Uploading {
            digest: digest.to_owned(),
            size,
        });
        let sent = Arc::clone(observe);
        self.remote
            .upload_from(
                self.repository,
                (source.remote, source.repository),
                digest,
                size,
                move |n| sent(Event::Sent(n)),
            )
            .await
    }

    /// Copies every blob `manifest` names: its config and its layers.
    async fn blobs_of(&self, source: Source<'_>, manifest: &ImageManifest) -> Result<(), PublishError> {
        for blob in std::iter::once(manifest.config()).chain(manifest.layers()) {
            self.blob(source, blob.digest().as_ref(), blob.size()).await?;
        }
        Ok(())
    }
}

/// Copies the platform manifest `entry` lists, after its blobs.
async fn copy_manifest(source: Source<'_>, to: &Destination<'_>, entry: &Descriptor) -> Result<Document, crate::Error> {
    let digest = entry.digest().to_string();
    let document = source.document(&digest, entry.media_type().as_ref()).await?;
    to.blobs_of(source, &parse_manifest(source, &document)?).await?;
    to.put(&document).await?;
    Ok(document)
}

/// Copies the SPDX artifacts that refer to `subject` (`platform`'s
/// manifest) in `source`, and
/// lists each under `subject`'s referrers tag at the destination.
async fn copy_sboms(
    source: Source<'_>,
    to: &Destination<'_>,
    platform: &str,
    subject: &str,
) -> Result<(), crate::Error> {
    for artifact in source
        .remote
        .referrers(source.repository, subject, SPDX_MEDIA_TYPE)
        .await?
    {
        let document = source.document(&artifact, oci::OCI_MANIFEST).await?;
        let manifest = parse_manifest(source, &document)?;
        to.blobs_of(source, &manifest).await?;
        to.put(&document).await?;
        let notes: BTreeMap<String, String> = manifest.annotations().clone().unwrap_or_default().into_iter().collect();
        add_referrer(to.remote, to.repository, subject, &document, &notes).await?;
        (to.observe)(Event::Copied {
            platform: platform.to_owned(),
            digest: artifact,
        });
    }
    Ok(())
}

/// Adds each signature of `digest` in `source` (its payload, checked
/// against its digest) to the destination's signature tag.
async fn copy_signatures(source: Source<'_>, to: &Destination<'_>, digest: &str) -> Result<(), crate::Error> {
    let tag = sign::signature_tag(digest);
    let Some((signed, _)) = source
        .remote
        .manifest(source.repository, &tag, &[oci::OCI_MANIFEST])
        .await?
    else {
        return Ok(());
    };
    for (payload_digest, signature) in sign::signatures_in(&signed) {
        let bytes = source
            .remote
            .blob(source.repository, &payload_digest, sign::MAX_PAYLOAD_BYTES)
            .await?;
        let payload = Document::raw(sign::SIMPLE_SIGNING, bytes);
        add_signature(to.remote, to.repository, digest, &payload, &signature, to.observe).await?;
    }
    Ok(())
}

/// `document` read as an image manifest.
fn parse_manifest(source: Source<'_>, document: &Document) -> Result<ImageManifest, PublishError> {
    serde_json::from_slice(&document.bytes).map_err(|e| {
        PublishError::Document(format!(
            "{}@{} is not an image manifest: {e}",
            source.address(),
            document.digest
        ))
    })
}
