//! Preparing a version to publish, without the registry: each platform's
//! built image is read from the engine (`ImageFacts`), its step layers are
//! rewritten reproducibly and every layer compressed into the layer store
//! (`layers`), and its configuration, manifest and the image index are
//! made (`oci`); the SBOM artifacts are made when a publish needs them.

use std::collections::{BTreeMap, BTreeSet};

use crate::engine::builders::Builders;
use crate::engine::docker::DockerEngine;
use crate::lock::{Compressor, LayerRule};
use crate::sbom::scan::{self, Inventory};
use crate::sbom::SPDX_MEDIA_TYPE;
use crate::{BaseImage, ImageKey};

use super::layers::{Form, LayerStore, Stored, Wanted};
use super::oci::{self, Blob, Document};
use super::remote::Remote;
use super::{annotations, ImageFacts, Provenance, PublishError, Target};

/// A version made ready to publish: its OCI documents, computed without
/// touching the registry.
#[derive(Clone, Debug)]
pub struct Prepared {
    /// `family:version`.
    pub key: ImageKey,
    /// Each platform's image, with the engine image id it was read from.
    pub images: Vec<(PlatformImage, String)>,
    /// The image index.
    pub index: Document,
    /// What compressed its layers.
    pub compressor: Compressor,
    /// Platforms' SBOMs, as artifacts referring to their manifests (made
    /// by [`add_sboms`] when needed: `prepare` leaves it empty).
    pub sboms: Vec<SbomArtifact>,
}

/// One platform image's SBOM as an OCI artifact.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SbomArtifact {
    /// `os/arch[/variant]`.
    pub platform: String,
    /// The platform manifest's digest (the artifact's subject).
    pub subject: String,
    /// The SPDX JSON document.
    pub sbom: Document,
    /// The artifact manifest.
    pub manifest: Document,
    /// How many packages it lists.
    pub packages: usize,
    /// The artifact's annotations (its `created`), repeated in the
    /// referrers index.
    pub annotations: BTreeMap<String, String>,
}

/// What a version's publish knows besides its built images.
#[derive(Clone, Copy, Debug)]
pub struct Publication<'a> {
    /// Where it goes.
    pub target: &'a Target,
    /// Its `created`, revision and source.
    pub provenance: &'a Provenance,
    /// The root image ids the lock records for local roots, by platform.
    pub local_roots: &'a BTreeMap<String, String>,
    /// The digests of the content it fetches, by URL.
    pub fetched: &'a crate::fetch::Pins,
    /// How its step layers are rewritten to be reproducible; none for a
    /// version published before that (see `lock::Published::layers`).
    pub layers: Option<LayerRule>,
    /// What compresses its layers (the recorded one for a version
    /// published before).
    pub compressor: Compressor,
}

/// One platform's image as a publish prepares it: its configuration,
/// compressed layers and manifest, and how each layer is made from the
/// engine's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlatformImage {
    /// `os/arch[/variant]`.
    pub platform: String,
    /// The image configuration.
    pub config: Document,
    /// The compressed layers, in order.
    pub layers: Vec<Blob>,
    /// The uncompressed layers' digests as published, in the same order.
    pub diff_ids: Vec<String>,
    /// Each layer's diff id in the engine and how it is published.
    pub sources: Vec<(String, Form)>,
    /// The image manifest.
    pub manifest: Document,
    /// What the SBOM scanner found in its layers as the store holds them
    /// (no RPM packages yet: only `rpm` lists those); none when the
    /// scanner refused one.
    pub scanned: Option<Inventory>,
}

/// What the engine says of one platform's built image, and how each of
/// its layers is published.
type Read = (ImageFacts, Vec<(String, Form)>);

/// Reads each platform's built image (`built`: platform and engine image
/// id) of `image` from the builder of its platform and makes its OCI documents;
/// layers not in `store` yet are exported and compressed into it, the
/// platforms' concurrently (one core each).
pub async fn prepare(
    builders: &Builders<DockerEngine>,
    image: &BaseImage,
    built: &[(String, String)],
    publication: Publication<'_>,
    store: &LayerStore,
) -> Result<Prepared, crate::Error> {
    let store = &store.compressed_by(publication.compressor);
    let read = read_images(builders, image, built, publication).await?;
    export_missing(builders, built, &read, store).await?;
    let mut images = Vec::new();
    for ((platform, id), (facts, forms)) in built.iter().zip(read) {
        let platform_image = platform_image(image, platform, id, facts, forms, publication, store)?;
        images.push((platform_image, id.clone()));
    }
    let manifests: Vec<(&str, &Document)> = images.iter().map(|(i, _)| (i.platform.as_str(), &i.manifest)).collect();
    let notes = annotations(image, publication.provenance, None, publication.local_roots)?;
    let index = oci::index(&manifests, &notes)?;
    Ok(Prepared {
        key: image.key(),
        images,
        index,
        compressor: publication.compressor,
        sboms: Vec::new(),
    })
}

/// One version a publish prepares: its image, each platform's built image
/// (platform and engine image id) and its publication.
pub type Version<'a> = (&'a BaseImage, &'a [(String, String)], Publication<'a>);

/// Exports and compresses into `store` every layer `versions` need that it
/// lacks, each platform's from as few engine exports as hold them: a
/// version's image holds its parent's layers, so the newest version's
/// export usually covers its family's (one export of a root layer instead
/// of one per version). [`prepare`] then finds them stored.
pub async fn fill_store(
    builders: &Builders<DockerEngine>,
    versions: &[Version<'_>],
    store: &LayerStore,
) -> Result<(), crate::Error> {
    let mut groups: BTreeMap<(String, Compressor), Missing> = BTreeMap::new();
    for (image, built, publication) in versions {
        let compressed = store.compressed_by(publication.compressor);
        let read = read_images(builders, image, built, *publication).await?;
        for ((platform, id), (_, forms)) in built.iter().zip(read) {
            let group = groups.entry((platform.clone(), publication.compressor)).or_default();
            group.add(id, &forms, &compressed);
        }
    }
    let exports = groups.into_iter().filter_map(|((platform, compressor), missing)| {
        let (ids, wanted) = missing.exports();
        (!ids.is_empty()).then_some(async move {
            let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
            let store = store.compressed_by(compressor);
            export_layers(builders.on(&platform), &ids, &wanted, &store).await
        })
    });
    futures_util::future::try_join_all(exports).await?;
    Ok(())
}

/// The layers one platform's images need that the store lacks, and which
/// image holds which layers.
#[derive(Default)]
struct Missing {
    layers: Wanted,
    images: BTreeMap<String, BTreeSet<String>>,
}

impl Missing {
    /// Adds image `id`, whose layers are published as `forms`, to be
    /// compressed into `store`.
    fn add(&mut self, id: &str, forms: &[(String, Form)], store: &LayerStore) {
        self.images
            .entry(id.to_owned())
            .or_default()
            .extend(forms.iter().map(|(d, _)| d.clone()));
        for (d, form) in forms.iter().filter(|(d, form)| store.get(d, *form).is_none()) {
            self.layers.entry(d.clone()).or_default().insert(*form);
        }
    }

    /// Which images to export (together, so that the engine writes each
    /// layer once) for the missing layers: the one holding the most layers
    /// still missing, until none is.
    fn exports(mut self) -> (Vec<String>, Wanted) {
        let mut exports = (Vec::new(), Wanted::new());
        loop {
            let holds = |layers: &BTreeSet<String>| layers.iter().filter(|d| self.layers.contains_key(*d)).count();
            let Some((id, layers)) = self.images.iter().max_by_key(|(_, layers)| holds(layers)) else {
                break;
            };
            if holds(layers) == 0 {
                break;
            }
            exports
                .1
                .extend(layers.iter().filter_map(|d| self.layers.remove_entry(d)));
            exports.0.push(id.clone());
        }
        exports
    }
}

/// What the engine says of each of `built`, with how each layer is
/// published: as it is, or (a reproducible publication's step layers)
/// rewritten by its layer rule, against its `created` time.
async fn read_images(
    builders: &Builders<DockerEngine>,
    image: &BaseImage,
    built: &[(String, String)],
    publication: Publication<'_>,
) -> Result<Vec<Read>, crate::Error> {
    let epoch = epoch_of(&publication.provenance.created)?;
    let mut read = Vec::new();
    for (platform, id) in built {
        let engine = builders.on(platform);
        let facts = engine.image_facts(id).await?;
        let forms = match publication.layers {
            Some(rule) => layer_forms(engine, image, platform, &facts.diff_ids, (rule, epoch)).await?,
            None => facts.diff_ids.iter().map(|d| (d.clone(), Form::AsIs)).collect(),
        };
        read.push((facts, forms));
    }
    Ok(read)
}

/// Exports and compresses into `store` the layers of `built` (as `read`
/// says they are published) it does not hold yet, the images'
/// concurrently.
async fn export_missing(
    builders: &Builders<DockerEngine>,
    built: &[(String, String)],
    read: &[Read],
    store: &LayerStore,
) -> Result<(), crate::Error> {
    let exports = built.iter().zip(read).filter_map(|((platform, id), (_, forms))| {
        let engine = builders.on(platform);
        let mut missing = Wanted::new();
        for (d, form) in forms.iter().filter(|(d, form)| store.get(d, *form).is_none()) {
            missing.entry(d.clone()).or_default().insert(*form);
        }
        (!missing.is_empty()).then_some(async move { export_layers(engine, &[id], &missing, store).await })
    });
    futures_util::future::try_join_all(exports).await?;
    Ok(())
}

/// The documents of `platform`'s image (`id` in the engine, `facts` and
/// its layers' `forms`), from the layers `store` holds.
fn platform_image(
    image: &BaseImage,
    platform: &str,
    id: &str,
    mut facts: ImageFacts,
    forms: Vec<(String, Form)>,
    publication: Publication<'_>,
    store: &LayerStore,
) -> Result<PlatformImage, crate::Error> {
    let provenance = publication.provenance;
    let stored = forms
        .iter()
        .map(|(d, form)| {
            store.get(d, *form).ok_or_else(|| {
                crate::Error::from(PublishError::Document(format!(
                    "layer {d} of {id} is not in {} after compressing it",
                    store.dir().display()
                )))
            })
        })
        .collect::<Result<Vec<Stored>, _>>()?;
    let scanned = forms
        .iter()
        .map(|(d, form)| store.files(d, *form))
        .collect::<Option<Vec<_>>>()
        .map(|files| scan::inventory(files.iter().map(AsRef::as_ref)));
    // The configuration names the layers as published.
    facts.diff_ids = stored.iter().map(|s| s.diff_id.clone()).collect();
    let layers: Vec<Blob> = stored.into_iter().map(|s| s.blob).collect();
    let config = oci::config(&facts, &provenance.created)?;
    let notes = annotations(image, provenance, Some(platform), publication.local_roots)?;
    let manifest = oci::manifest(&config, &layers, &notes)?;
    Ok(PlatformImage {
        platform: platform.to_owned(),
        config,
        layers,
        diff_ids: facts.diff_ids,
        sources: forms,
        manifest,
        scanned,
    })
}

/// Makes the SBOM artifact of each platform image of `prepared` that needs
/// one (from its scanned layers; without them, reading the image through
/// the engine costs a file system export):
/// every platform, or, with `missing_in` (a registry and a repository),
/// only those whose manifest has no SBOM there yet.
pub async fn add_sboms(
    builders: &Builders<DockerEngine>,
    image: &BaseImage,
    prepared: &mut Prepared,
    publication: Publication<'_>,
    missing_in: Option<(&Remote, &str)>,
) -> Result<(), crate::Error> {
    let mut sboms = Vec::new();
    for (platform_image, id) in &prepared.images {
        if let Some((remote, repository)) = missing_in {
            let digest = &platform_image.manifest.digest;
            if !remote.referrers(repository, digest, SPDX_MEDIA_TYPE).await?.is_empty() {
                continue;
            }
        }
        let engine = builders.on(&platform_image.platform);
        sboms.push(sbom_artifact(engine, image, platform_image, id, publication).await?);
    }
    prepared.sboms = sboms;
    Ok(())
}

/// Seconds since 1970 of an RFC 3339 time (a release's `created`).
fn epoch_of(created: &str) -> Result<u64, crate::Error> {
    super::facts::seconds_of(created).ok_or_else(|| {
        crate::Error::from(PublishError::Document(format!(
            "created time {created} is not an RFC 3339 time"
        )))
    })
}

/// How each layer (`diff_ids`, the engine's) of `image`'s build for
/// `platform` is published: the root image's layers as they are, the
/// steps' rewritten by `rule` against `epoch` (and, settled, the root
/// image's creation).
async fn layer_forms(
    engine: &DockerEngine,
    image: &BaseImage,
    platform: &str,
    diff_ids: &[String],
    (rule, epoch): (LayerRule, u64),
) -> Result<Vec<(String, Form)>, crate::Error> {
    use crate::engine::Engine as _;
    let recipe = image.recipe()?;
    let root = recipe.root_address(Some(platform))?;
    let root_id = engine.root_identity(root, platform).await?.image_id;
    let root_facts = engine.image_facts(&root_id).await?;
    let shared = diff_ids
        .iter()
        .zip(&root_facts.diff_ids)
        .take_while(|(a, b)| a == b)
        .count();
    let step_form = match rule {
        LayerRule::Clamped => Form::Clamped(epoch),
        LayerRule::Settled => Form::Settled {
            after: root_facts.created_seconds(),
            epoch,
        },
    };
    Ok(diff_ids
        .iter()
        .enumerate()
        .map(|(n, d)| (d.clone(), if n < shared { Form::AsIs } else { step_form }))
        .collect())
}

/// The SBOM of one platform image (`id` in the engine), as an artifact
/// whose subject is its manifest.
async fn sbom_artifact(
    engine: &DockerEngine,
    image: &BaseImage,
    platform_image: &PlatformImage,
    id: &str,
    publication: Publication<'_>,
) -> Result<SbomArtifact, crate::Error> {
    let inventory = match &platform_image.scanned {
        Some(scanned) => engine.with_rpm_packages(id, scanned.clone()).await?,
        None => engine.inventory(id).await?,
    };
    let origin = crate::sbom::Origin {
        digest: platform_image.manifest.digest.clone(),
        repository: Some(publication.target.repository_address()),
        created: publication.provenance.created.clone(),
    };
    let subject = crate::sbom::subject(
        image,
        &platform_image.platform,
        origin,
        publication.fetched,
        publication.local_roots,
    )?;
    let document = crate::sbom::spdx::document(&subject, &inventory);
    let sbom = Document::raw(SPDX_MEDIA_TYPE, crate::sbom::to_json(&document));
    let notes = BTreeMap::from([(
        "org.opencontainers.image.created".to_owned(),
        publication.provenance.created.clone(),
    )]);
    let manifest = oci::artifact(SPDX_MEDIA_TYPE, &sbom, Some(&platform_image.manifest), &notes)?;
    Ok(SbomArtifact {
        platform: platform_image.platform.clone(),
        subject: platform_image.manifest.digest.clone(),
        sbom,
        manifest,
        packages: inventory.packages.len() + subject.fetched.len(),
        annotations: notes,
    })
}

/// Exports images `ids` and compresses their layers `wanted` into `store`.
pub(super) async fn export_layers(
    engine: &DockerEngine,
    ids: &[&str],
    wanted: &Wanted,
    store: &LayerStore,
) -> Result<(), crate::Error> {
    store.create_dir()?;
    let work = tempfile::Builder::new()
        .prefix("export.")
        .tempdir_in(store.dir())
        .map_err(|source| crate::Error::Io {
            path: store.dir().to_owned(),
            source,
        })?;
    let archive = work.path().join("image.tar");
    engine.export_images(ids, &archive).await?;
    let (wanted, store, archive_path) = (wanted.clone(), store.clone(), archive.clone());
    tokio::task::spawn_blocking(move || store.add_from_export(&archive_path, &wanted))
        .await
        .map_err(|e| crate::Error::Io {
            path: archive,
            source: std::io::Error::other(e.to_string()),
        })??;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn forms(layers: &[&str], form: Form) -> Vec<(String, Form)> {
        layers.iter().map(|d| ((*d).to_owned(), form)).collect()
    }

    #[test]
    fn the_fewest_images_holding_every_missing_layer_are_exported_together() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let store = LayerStore::new(dir.path());
        let mut missing = Missing::default();
        // 1.1.0 holds the root and two layers of its own; 1.0.0 the root
        // and one layer 1.1.0 lacks; 1.0.1 only layers 1.1.0 holds.
        missing.add("v110", &forms(&["root", "a", "b"], Form::Clamped(2)), &store);
        missing.add("v100", &forms(&["root", "old"], Form::Clamped(1)), &store);
        missing.add("v101", &forms(&["root", "a"], Form::Clamped(1)), &store);
        let (ids, wanted) = missing.exports();
        assert_eq!(ids, ["v110", "v100"], "the one holding most first; v101 adds nothing");
        let forms_of = |d: &str| wanted.get(d).map(|f| f.iter().copied().collect::<Vec<_>>());
        assert_eq!(
            forms_of("a"),
            Some(vec![Form::Clamped(1), Form::Clamped(2)]),
            "each form once"
        );
        assert_eq!(forms_of("old"), Some(vec![Form::Clamped(1)]));
        assert_eq!(wanted.len(), 4);
        assert_eq!(
            Missing::default().exports(),
            (Vec::new(), Wanted::new()),
            "nothing missing, no export"
        );
    }
}
