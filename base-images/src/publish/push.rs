//! Pushing a prepared version: blobs (present, mounted from another
//! repository of the registry, or uploaded), each platform's manifest and
//! the index by digest, the SBOM artifacts listed in the referrers tag,
//! the index's signature in the signature tag, and the tag last, never
//! moved once it points at other content. A copy (`copy`) writes the
//! referrers tag, the signature tag and the tag with the same helpers.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::engine::builders::Builders;
use crate::engine::docker::DockerEngine;
use crate::sbom::SPDX_MEDIA_TYPE;

use super::layers::{Form, LayerStore};
use super::oci::{self, Blob, Document};
use super::prepare::export_layers;
use super::remote::Remote;
use super::{sign, Event, Observer, PlatformImage, Prepared, PublishError, Target};

/// What a push uses besides the version: where blobs may come from, and
/// the key that signs.
#[derive(Clone, Copy, Debug)]
pub struct PushOptions<'a> {
    /// Repositories of the same registry to mount blobs from.
    pub mount_from: &'a [String],
    /// The compressed layers.
    pub store: &'a LayerStore,
    /// Signs the index digest, when given.
    pub signer: Option<&'a sign::Signer>,
}

/// Pushes `prepared` to `target`: blobs (present, else mounted from one of
/// the `mount_from` repositories of the same registry, else uploaded from
/// the `store`, exported again if it lost them), then each platform's
/// manifest by digest, the index by digest, the SBOMs, the signature (with
/// a `signer`) and the tag last. The tag is resolved again just before it
/// is written: if it appeared meanwhile with other content, it is left
/// alone and the push fails.
pub async fn push(
    builders: &Builders<DockerEngine>,
    remote: &Remote,
    target: &Target,
    prepared: &Prepared,
    options: PushOptions<'_>,
    observe: &Observer,
) -> Result<(), crate::Error> {
    let repository = target.repository.as_str();
    let store = options.store.compressed_by(prepared.compressor);
    let pusher = Pusher {
        builders,
        remote,
        repository,
        options: PushOptions {
            store: &store,
            ..options
        },
        observe,
    };
    for (image, id) in &prepared.images {
        pusher.image(image, id).await?;
    }
    put_by_digest(remote, repository, &prepared.index, observe).await?;
    attach_sboms(remote, repository, prepared, observe).await?;
    if let Some(signer) = options.signer {
        sign_index(remote, target, &prepared.index.digest, signer, observe).await?;
    }
    put_tag(remote, target, &prepared.index, observe).await
}

/// A layer to push: its blob, and where it comes from (`diff_id` of image
/// `image` in `engine`, published as `form`).
#[derive(Clone, Copy)]
struct Layer<'a> {
    blob: &'a Blob,
    engine: &'a DockerEngine,
    image: &'a str,
    diff_id: &'a str,
    form: Form,
}

/// One push's builders, registry, repository and options.
struct Pusher<'a> {
    builders: &'a Builders<DockerEngine>,
    remote: &'a Remote,
    repository: &'a str,
    options: PushOptions<'a>,
    observe: &'a Observer,
}

impl Pusher<'_> {
    /// Pushes one platform's image (`id` in the engine): its layers, its
    /// configuration, then its manifest by digest.
    async fn image(&self, image: &PlatformImage, id: &str) -> Result<(), crate::Error> {
        let engine = self.builders.on(&image.platform);
        for (blob, (diff_id, form)) in image.layers.iter().zip(&image.sources) {
            let layer = Layer {
                blob,
                engine,
                image: id,
                diff_id,
                form: *form,
            };
            self.layer(&layer).await?;
        }
        self.remote.upload_if_missing(self.repository, &image.config).await?;
        put_by_digest(self.remote, self.repository, &image.manifest, self.observe).await?;
        Ok(())
    }

    /// Pushes `layer`: present, else mounted, else uploaded from the store.
    async fn layer(&self, layer: &Layer<'_>) -> Result<(), crate::Error> {
        let (remote, repository, observe) = (self.remote, self.repository, self.observe);
        let blob = layer.blob;
        if remote.has_blob(repository, &blob.digest).await? {
            observe(Event::Present {
                digest: blob.digest.clone(),
                size: blob.size,
            });
            return Ok(());
        }
        if let Some(from) = self.mounted(&blob.digest).await? {
            observe(Event::Mounted {
                digest: blob.digest.clone(),
                size: blob.size,
                from,
            });
            return Ok(());
        }
        let store = self.options.store;
        self.restore(layer).await?;
        observe(Event::Uploading {
            digest: blob.digest.clone(),
            size: blob.size,
        });
        let path = store.path(layer.diff_id, layer.form);
        let file = tokio::fs::File::open(&path)
            .await
            .map_err(|source| crate::Error::Io { path, source })?;
        let sent = Arc::clone(observe);
        remote
            .upload(repository, &blob.digest, blob.size, file, move |n| sent(Event::Sent(n)))
            .await?;
        Ok(())
    }

    /// The repository of the `mount_from` ones the blob `digest` was
    /// mounted from, if any could.
    async fn mounted(&self, digest: &str) -> Result<Option<String>, PublishError> {
        let (remote, repository) = (self.remote, self.repository);
        for from in self.options.mount_from.iter().filter(|r| r.as_str() != repository) {
            if remote.mount(repository, from, digest).await && remote.has_blob(repository, digest).await? {
                return Ok(Some(from.clone()));
            }
        }
        Ok(None)
    }

    /// Makes sure the store holds `layer`'s blob: exported from its
    /// engine and compressed again when it lost it; an error when that no
    /// longer gives the same blob.
    async fn restore(&self, layer: &Layer<'_>) -> Result<(), crate::Error> {
        let Layer {
            blob,
            engine,
            image: id,
            diff_id,
            form,
        } = *layer;
        let store = self.options.store;
        let stored = |store: &LayerStore| store.get(diff_id, form).map(|s| s.blob);
        if stored(store).as_ref() == Some(blob) {
            return Ok(());
        }
        export_layers(engine, &[id], &[(diff_id.to_owned(), [form].into())].into(), store).await?;
        if stored(store).as_ref() != Some(blob) {
            return Err(crate::Error::from(PublishError::Document(format!(
                "layer {diff_id} of {id} no longer compresses to {}; delete {} and publish again",
                blob.digest,
                store.dir().display()
            ))));
        }
        Ok(())
    }
}

/// Points `target`'s tag at `index`, last: written when absent, left as it
/// is when it points there already; when it points at other content
/// (appeared meanwhile), left alone, and the push fails.
pub(super) async fn put_tag(
    remote: &Remote,
    target: &Target,
    index: &Document,
    observe: &Observer,
) -> Result<(), crate::Error> {
    match remote.resolve(&target.repository, &target.tag).await? {
        Some(existing) if existing != index.digest => {
            return Err(crate::Error::from(PublishError::TagConflict {
                address: target.address(),
                existing,
                ours: index.digest.clone(),
            }))
        }
        Some(_) => {}
        None => {
            remote.put_manifest(&target.repository, &target.tag, index).await?;
        }
    }
    observe(Event::Manifest {
        reference: target.tag.clone(),
    });
    Ok(())
}

/// Signs `digest` (an index in `target`'s repository) with `signer`
/// unless its signature tag holds that signature already: the payload and
/// config blobs, then the signature manifest under `sha256-<hex>.sig`.
/// Returns whether a signature was added.
pub async fn sign_index(
    remote: &Remote,
    target: &Target,
    digest: &str,
    signer: &sign::Signer,
    observe: &Observer,
) -> Result<bool, crate::Error> {
    let payload = sign::payload(&target.repository_address(), digest);
    let signature = signer.sign(&payload.bytes);
    add_signature(remote, &target.repository, digest, &payload, &signature, observe)
        .await
        .map_err(crate::Error::from)
}

/// Adds `signature` of `payload` to the signature tag of `digest` in
/// `repository` unless the tag holds it already: the payload and config
/// blobs when missing, then the signature manifest. Returns whether it
/// was added.
pub(super) async fn add_signature(
    remote: &Remote,
    repository: &str,
    digest: &str,
    payload: &Document,
    signature: &str,
    observe: &Observer,
) -> Result<bool, PublishError> {
    let tag = sign::signature_tag(digest);
    let existing = remote.manifest(repository, &tag, &[oci::OCI_MANIFEST]).await?;
    let existing = existing.as_ref().map(|(bytes, _)| bytes.as_slice());
    let Some((manifest, config)) = sign::with_signature(existing, payload, signature)? else {
        return Ok(false);
    };
    for blob in [payload, &config] {
        remote.upload_if_missing(repository, blob).await?;
    }
    remote.put_manifest(repository, &tag, &manifest).await?;
    observe(Event::Signed {
        digest: digest.to_owned(),
    });
    Ok(true)
}

/// Pushes `document` as a manifest under its digest, and says so.
pub(super) async fn put_by_digest(
    remote: &Remote,
    repository: &str,
    document: &Document,
    observe: &Observer,
) -> Result<(), PublishError> {
    remote.put_manifest(repository, &document.digest, document).await?;
    observe(Event::Manifest {
        reference: document.digest.clone(),
    });
    Ok(())
}

/// Attaches each SBOM of `prepared` whose platform manifest has none yet
/// in `repository`: its blobs, its artifact manifest by digest, and the
/// referrers index under the referrers tag (`sha256-<hex>`), so it is
/// found with or without the registry's referrers API. Touches neither the
/// image nor its tag; returns how many were attached.
pub async fn attach_sboms(
    remote: &Remote,
    repository: &str,
    prepared: &Prepared,
    observe: &Observer,
) -> Result<usize, crate::Error> {
    let mut attached = 0;
    for artifact in &prepared.sboms {
        if !remote
            .referrers(repository, &artifact.subject, SPDX_MEDIA_TYPE)
            .await?
            .is_empty()
        {
            continue;
        }
        for blob in [&Document::empty(), &artifact.sbom] {
            remote.upload_if_missing(repository, blob).await?;
        }
        put_by_digest(remote, repository, &artifact.manifest, observe).await?;
        add_referrer(
            remote,
            repository,
            &artifact.subject,
            &artifact.manifest,
            &artifact.annotations,
        )
        .await?;
        observe(Event::Attached {
            platform: artifact.platform.clone(),
            digest: artifact.manifest.digest.clone(),
            packages: artifact.packages,
        });
        attached += 1;
    }
    Ok(attached)
}

/// Lists the SPDX artifact manifest `artifact` (with its `annotations`)
/// in the referrers index under `subject`'s referrers tag in
/// `repository`: the index read, the artifact added unless it is listed,
/// and the index put back.
pub(super) async fn add_referrer(
    remote: &Remote,
    repository: &str,
    subject: &str,
    artifact: &Document,
    annotations: &BTreeMap<String, String>,
) -> Result<(), PublishError> {
    let tag = oci::referrers_tag(subject);
    let existing = remote.manifest(repository, &tag, &[oci::OCI_INDEX]).await?;
    let existing = existing.as_ref().map(|(bytes, _)| bytes.as_slice());
    if let Some(index) = oci::with_referrer(existing, artifact, SPDX_MEDIA_TYPE, annotations)? {
        remote.put_manifest(repository, &tag, &index).await?;
    }
    Ok(())
}
