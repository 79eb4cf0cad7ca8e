//! Publishing released versions to an OCI registry: each platform's image
//! is read from the engine (`ImageFacts`, then its step layers rewritten
//! reproducibly by `reproducible` and every layer compressed
//! deterministically by `layers`), turned into OCI documents (`oci`) with
//! an SBOM per platform (`crate::sbom`), and pushed (`remote`): blobs first
//! (present, mounted from another repository of the registry, or
//! uploaded), then each platform's manifest by digest, then the image index
//! by digest, the SBOM artifacts, the index's signature (`sign`) and — last
//! — the tag. A tag that already points at other content is never
//! overwritten: it is resolved with every manifest media type first.
//! `verify` checks a published version against its declaration.
//! Credentials come from the Docker config (`auth`).

pub mod attached;
pub mod auth;
pub mod copy;
#[cfg(test)]
mod fake_registry;
pub mod layers;
pub mod oci;
pub mod remote;
pub mod reproducible;
pub mod sign;
pub mod verify;

pub use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;

use crate::engine::docker::DockerEngine;
use crate::sbom::SPDX_MEDIA_TYPE;
use crate::{BaseImage, ImageAddress, ImageKey};
pub use oci_client::secrets::RegistryAuth;

use layers::{Form, LayerStore, Stored};
use oci::{Blob, Document, PlatformImage};
use remote::Remote;

/// What the engine says of one platform's built image.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImageFacts {
    /// `linux`.
    pub os: String,
    /// `amd64`, `arm64`, …
    pub architecture: String,
    /// `v7`, … (ARM variants).
    pub variant: Option<String>,
    /// `USER`.
    pub user: Option<String>,
    /// `EXPOSE`d ports.
    pub exposed_ports: Vec<String>,
    /// `ENV`, as `NAME=value`.
    pub env: Vec<String>,
    /// `ENTRYPOINT`.
    pub entrypoint: Option<Vec<String>>,
    /// `CMD`.
    pub cmd: Option<Vec<String>>,
    /// `VOLUME`s.
    pub volumes: Vec<String>,
    /// `WORKDIR`.
    pub working_dir: Option<String>,
    /// `LABEL`s.
    pub labels: BTreeMap<String, String>,
    /// `STOPSIGNAL`.
    pub stop_signal: Option<String>,
    /// The uncompressed layers' digests, bottom first.
    pub diff_ids: Vec<String>,
}

/// Everything that can stop a publish.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PublishError {
    /// Nothing answers at the registry's address.
    #[error("cannot reach the registry at {registry} to {doing}: nothing answers there ({source}); start it, or send the family elsewhere with --registry-override HOST[:PORT]")]
    Unreachable {
        /// `host[:port]`.
        registry: String,
        /// What was being done.
        doing: String,
        /// The client's error.
        #[source]
        source: Box<oci_client::errors::OciDistributionError>,
    },
    /// The registry took longer than its time limit.
    #[error("the registry at {registry} did not answer within {} s when asked to {doing}; given up on (a registry that stalls is not waited for: check it, or try again later)", after.as_secs_f32())]
    TimedOut {
        /// `host[:port]`.
        registry: String,
        /// What was being done.
        doing: String,
        /// The limit.
        after: std::time::Duration,
    },
    /// The registry sent more than a manifest may hold.
    #[error("the registry at {registry} sent more than {limit} bytes when asked to {doing}; refused (a manifest, an index or a referrers list is read up to {limit} bytes)")]
    TooLarge {
        /// `host[:port]`.
        registry: String,
        /// What was being done.
        doing: String,
        /// The limit, in bytes.
        limit: u64,
    },
    /// The registry refused the credentials (401/403).
    #[error("the registry at {registry} refused to let us {doing} (401 unauthorized) with {credentials}; run `docker login {registry}` with an account that may push there")]
    Unauthorized {
        /// `host[:port]`.
        registry: String,
        /// What was being done.
        doing: String,
        /// Where the credentials came from (never the secret).
        credentials: String,
    },
    /// The registry answered with another error.
    #[error("the registry at {registry} failed to {doing}: {source}")]
    Registry {
        /// `host[:port]`.
        registry: String,
        /// What was being done.
        doing: String,
        /// The client's error.
        #[source]
        source: Box<oci_client::errors::OciDistributionError>,
    },
    /// The Docker config's credentials could not be read.
    #[error("cannot read the credentials for {registry}: {reason}")]
    Credentials {
        /// `host[:port]`.
        registry: String,
        /// Why.
        reason: String,
    },
    /// The tag points at other content: never overwritten.
    #[error(
        "{address} already points at {existing}, but this release is {ours}: a published tag is never overwritten \
         (nothing was pushed under that tag); the image or its created time differs from what was published \
         (a step that wrote other bytes, steps built before the release, another SOURCE_DATE_EPOCH): \
         declare a new version"
    )]
    TagConflict {
        /// `registry/repository:tag`.
        address: String,
        /// The digest the tag points at.
        existing: String,
        /// The digest of this release's index.
        ours: String,
    },
    /// A released version would get a second index digest: this build
    /// prepares another index than versions.lock records, and no recorded
    /// repository could be copied from.
    #[error(
        "{address}: not pushed: versions.lock records this version as {recorded}, but this build prepares {ours}; \
         a released version has one digest everywhere, so it is copied from a repository that holds it, never rebuilt \
         ({}); make a recorded repository reachable (docker login, or the registry running) and publish again",
        if unread.is_empty() { "versions.lock names no other repository".to_owned() } else { format!("none could be read: {}", unread.join("; ")) }
    )]
    Diverged {
        /// `registry/repository:tag`.
        address: String,
        /// The index digest versions.lock records.
        recorded: String,
        /// The index digest this build prepares.
        ours: String,
        /// Each recorded repository that could not be read, and why.
        unread: Vec<String>,
    },
    /// An OCI document could not be built.
    #[error("cannot build an OCI document: {0}")]
    Document(String),
    /// A file of the publish's work could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating-system error.
        #[source]
        source: std::io::Error,
    },
    /// A signing or verifying key could not be used.
    #[error("the key {} cannot be used: {reason}", path.display())]
    Key {
        /// The key file.
        path: PathBuf,
        /// Why, and how to make a good one.
        reason: String,
    },
}

/// Where a version is published: `registry/repository:tag`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// `host[:port]`.
    pub registry: String,
    /// The repository path on that registry.
    pub repository: String,
    /// The tag: the version.
    pub tag: String,
}

impl Target {
    /// Where `image` goes: each repository its family declares (the first
    /// first), each on `registry_override` when given (repositories that
    /// then coincide are one); empty when the family declares none.
    pub fn all(image: &BaseImage, registry_override: Option<&str>) -> Result<Vec<Target>, crate::Error> {
        let mut targets: Vec<Target> = Vec::new();
        for repository in image.repositories() {
            let target = Target::in_repository(image, repository, registry_override)?;
            if !targets.contains(&target) {
                targets.push(target);
            }
        }
        Ok(targets)
    }

    /// Where `image` goes first: its family's first repository.
    pub fn of(image: &BaseImage, registry_override: Option<&str>) -> Result<Option<Target>, crate::Error> {
        Ok(Target::all(image, registry_override)?.into_iter().next())
    }

    /// Where `image` goes in `repository` (an address such as
    /// `org/name` or `ghcr.io/org/name`), on `registry_override` when given.
    fn in_repository(
        image: &BaseImage,
        repository: &str,
        registry_override: Option<&str>,
    ) -> Result<Target, crate::Error> {
        let address = ImageAddress::parse(repository)?;
        let (registry, path) = address.registry_and_path();
        let path = match registry {
            None if !path.contains('/') => format!("library/{path}"),
            _ => path.to_owned(),
        };
        Ok(Target {
            registry: registry_override.or(registry).unwrap_or("docker.io").to_owned(),
            repository: path,
            tag: image.key().version().to_string(),
        })
    }

    /// Where `image` is in `repository_address` (`registry/path`, as
    /// versions.lock records it).
    pub fn recorded(image: &BaseImage, repository_address: &str) -> Result<Target, crate::Error> {
        let (registry, path) = repository_address.split_once('/').ok_or_else(|| {
            crate::Error::from(PublishError::Document(format!(
                "{repository_address}: versions.lock records no registry/path here"
            )))
        })?;
        Ok(Target {
            registry: registry.to_owned(),
            repository: path.to_owned(),
            tag: image.key().version().to_string(),
        })
    }

    /// `registry/repository`.
    pub fn repository_address(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }

    /// `registry/repository:tag`.
    pub fn address(&self) -> String {
        format!("{}:{}", self.repository_address(), self.tag)
    }
}

/// The annotation values a publish writes that do not come from the
/// version's declaration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Provenance {
    /// `org.opencontainers.image.created` and the configs' `created` (RFC 3339).
    pub created: String,
    /// `org.opencontainers.image.revision`: the workspace's git commit.
    pub revision: Option<String>,
    /// `org.opencontainers.image.source`: the workspace's git remote.
    pub source: Option<String>,
}

/// `url` without the user name or token a git remote URL may carry
/// (`https://user:token@host/repo` is `https://host/repo`): the source
/// annotation is public.
pub fn public_source(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let (authority, path) = rest.split_once('/').map_or((rest, ""), |(a, p)| (a, p));
            let host = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
            if path.is_empty() && !rest.contains('/') {
                format!("{scheme}://{host}")
            } else {
                format!("{scheme}://{host}/{path}")
            }
        }
        None => url.to_owned(),
    }
}

/// The annotations of `image`'s index (`platform` `None`) or of one
/// platform's manifest; `local_roots` are the root image ids the lock
/// records for roots that are local images.
pub fn annotations(
    image: &BaseImage,
    provenance: &Provenance,
    platform: Option<&str>,
    local_roots: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, crate::Error> {
    const PREFIX: &str = "org.opencontainers.image.";
    let recipe = image.recipe()?;
    let mut notes = BTreeMap::new();
    let mut note = |key: &str, value: &str| {
        notes.insert(format!("{PREFIX}{key}"), value.to_owned());
    };
    note("version", &image.key().version().to_string());
    note("created", &provenance.created);
    note("title", image.family());
    note("description", image.changelog());
    if let Some(revision) = &provenance.revision {
        note("revision", revision);
    }
    if let Some(source) = &provenance.source {
        note("source", source);
    }
    if let Some((name, digest)) = base_of(&recipe, platform, local_roots)? {
        note("base.name", &name);
        if let Some(digest) = digest {
            note("base.digest", &digest);
        }
    }
    Ok(notes)
}

/// The root image of `recipe` as its address without a digest and its
/// digest (the pinned one, else the local image id `local_roots` records):
/// the one address for all platforms (`platform` `None`), or `platform`'s.
pub fn base_of(
    recipe: &crate::Recipe,
    platform: Option<&str>,
    local_roots: &BTreeMap<String, String>,
) -> Result<Option<(String, Option<String>)>, crate::Error> {
    let root = match platform {
        Some(p) => recipe.root_for(p).map(|a| (a, local_roots.get(p))),
        None => match recipe.root_addresses().as_slice() {
            [(None, address)] => Some((*address, local_roots.values().next())),
            _ => None,
        },
    };
    let Some((address, local_id)) = root else {
        return Ok(None);
    };
    let parsed = ImageAddress::parse(address)?;
    let digest = parsed.digest().or(local_id.map(String::as_str)).map(str::to_owned);
    Ok(Some((parsed.without_digest(), digest)))
}

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
    /// Whether its step layers are rewritten reproducibly (every version
    /// but one published before that, see `lock::Published::layers`).
    pub reproducible: bool,
}

/// Reads each platform's built image (`built`: platform and engine image
/// id) of `image` from `engine` and makes its OCI documents;
/// layers not in `store` yet are exported and compressed into it, the
/// platforms' concurrently (one core each).
pub async fn prepare(
    engine: &DockerEngine,
    image: &BaseImage,
    built: &[(String, String)],
    publication: Publication<'_>,
    store: &LayerStore,
) -> Result<Prepared, crate::Error> {
    let Publication {
        provenance,
        local_roots,
        ..
    } = publication;
    let epoch = epoch_of(&provenance.created)?;
    let mut facts_of = Vec::new();
    for (platform, id) in built {
        let facts = engine.image_facts(id).await?;
        let forms = if publication.reproducible {
            layer_forms(engine, image, platform, &facts.diff_ids, epoch).await?
        } else {
            facts.diff_ids.iter().map(|d| (d.clone(), Form::AsIs)).collect()
        };
        facts_of.push((facts, forms));
    }
    let exports = built.iter().zip(&facts_of).filter_map(|((_, id), (_, forms))| {
        let missing: BTreeMap<String, Form> = forms
            .iter()
            .filter(|(d, form)| store.get(d, *form).is_none())
            .cloned()
            .collect();
        (!missing.is_empty()).then_some(async move { export_layers(engine, id, &missing, store).await })
    });
    futures_util::future::try_join_all(exports).await?;
    let mut images = Vec::new();
    for ((platform, id), (mut facts, forms)) in built.iter().zip(facts_of) {
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
        // The configuration names the layers as published.
        facts.diff_ids = stored.iter().map(|s| s.diff_id.clone()).collect();
        let layers: Vec<Blob> = stored.into_iter().map(|s| s.blob).collect();
        let config = oci::config(&facts, &provenance.created)?;
        let notes = annotations(image, provenance, Some(platform), local_roots)?;
        let manifest = oci::manifest(&config, &layers, &notes)?;
        images.push((
            PlatformImage {
                platform: platform.clone(),
                config,
                layers,
                diff_ids: facts.diff_ids,
                sources: forms,
                manifest,
            },
            id.clone(),
        ));
    }
    let platform_images: Vec<PlatformImage> = images.iter().map(|(i, _)| i.clone()).collect();
    let notes = annotations(image, provenance, None, local_roots)?;
    let index = oci::index(&platform_images, &notes)?;
    Ok(Prepared {
        key: image.key(),
        images,
        index,
        sboms: Vec::new(),
    })
}

/// Makes the SBOM artifact of each platform image of `prepared` that needs
/// one (reading the image through the engine costs a file system export):
/// every platform, or, with `missing_in` (a registry and a repository),
/// only those whose manifest has no SBOM there yet.
pub async fn add_sboms(
    engine: &DockerEngine,
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
        sboms.push(sbom_artifact(engine, image, platform_image, id, publication).await?);
    }
    prepared.sboms = sboms;
    Ok(())
}

/// Seconds since 1970 of an RFC 3339 time (a release's `created`).
fn epoch_of(created: &str) -> Result<u64, crate::Error> {
    humantime::parse_rfc3339(created)
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_secs())
        .ok_or_else(|| {
            crate::Error::from(PublishError::Document(format!(
                "created time {created} is not an RFC 3339 time in UTC"
            )))
        })
}

/// How each layer (`diff_ids`, the engine's) of `image`'s build for
/// `platform` is published: the root image's layers as they are, the
/// steps' rewritten reproducibly with mtimes clamped to `epoch`.
async fn layer_forms(
    engine: &DockerEngine,
    image: &BaseImage,
    platform: &str,
    diff_ids: &[String],
    epoch: u64,
) -> Result<Vec<(String, Form)>, crate::Error> {
    use crate::engine::Engine as _;
    let recipe = image.recipe()?;
    let root = recipe.root_address(Some(platform))?;
    let root_id = engine.root_identity(root, platform).await?.image_id;
    let root_layers = engine.image_facts(&root_id).await?.diff_ids;
    let shared = diff_ids.iter().zip(&root_layers).take_while(|(a, b)| a == b).count();
    Ok(diff_ids
        .iter()
        .enumerate()
        .map(|(n, d)| (d.clone(), if n < shared { Form::AsIs } else { Form::Clamped(epoch) }))
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
    let inventory = engine.inventory(id).await?;
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
    let manifest = oci::artifact(SPDX_MEDIA_TYPE, &sbom, &platform_image.manifest, &notes)?;
    Ok(SbomArtifact {
        platform: platform_image.platform.clone(),
        subject: platform_image.manifest.digest.clone(),
        sbom,
        manifest,
        packages: inventory.packages.len() + subject.fetched.len(),
        annotations: notes,
    })
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
            if !remote.has_blob(repository, &blob.digest).await? {
                remote.upload_bytes(repository, blob).await?;
            }
        }
        put_by_digest(remote, repository, &artifact.manifest, observe).await?;
        let tag = oci::referrers_tag(&artifact.subject);
        let existing = remote.manifest(repository, &tag, &[oci::OCI_INDEX]).await?;
        let existing = existing.as_ref().map(|(bytes, _)| bytes.as_slice());
        if let Some(index) = oci::with_referrer(existing, &artifact.manifest, SPDX_MEDIA_TYPE, &artifact.annotations)? {
            remote.put_manifest(repository, &tag, &index).await?;
        }
        observe(Event::Attached {
            platform: artifact.platform.clone(),
            digest: artifact.manifest.digest.clone(),
            packages: artifact.packages,
        });
        attached += 1;
    }
    Ok(attached)
}

impl From<PublishError> for crate::Error {
    fn from(e: PublishError) -> Self {
        crate::Error::Publish(Box::new(e))
    }
}

/// Exports image `id` and compresses its layers `wanted` into `store`.
async fn export_layers(
    engine: &DockerEngine,
    id: &str,
    wanted: &BTreeMap<String, Form>,
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
    engine.export_image(id, &archive).await?;
    let (wanted, store, archive_path) = (wanted.clone(), store.clone(), archive.clone());
    tokio::task::spawn_blocking(move || store.add_from_export(&archive_path, &wanted))
        .await
        .map_err(|e| crate::Error::Io {
            path: archive,
            source: std::io::Error::other(e.to_string()),
        })??;
    Ok(())
}

/// What happens to a blob while pushing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// The blob is already in the repository.
    Present {
        /// Its digest.
        digest: String,
        /// Its size.
        size: u64,
    },
    /// The blob was mounted from another repository of the registry.
    Mounted {
        /// Its digest.
        digest: String,
        /// Its size.
        size: u64,
        /// The repository it came from.
        from: String,
    },
    /// The blob's upload starts.
    Uploading {
        /// Its digest.
        digest: String,
        /// Its size.
        size: u64,
    },
    /// Bytes of the current upload were sent.
    Sent(u64),
    /// A manifest or the index was pushed, by digest or (last) the tag.
    Manifest {
        /// The digest or tag it was pushed under.
        reference: String,
    },
    /// The index digest was signed (`sha256-<hex>.sig`).
    Signed {
        /// The signed digest.
        digest: String,
    },
    /// A platform image's SBOM was copied from another repository.
    Copied {
        /// The platform.
        platform: String,
        /// The artifact manifest's digest.
        digest: String,
    },
    /// A platform image's SBOM was attached.
    Attached {
        /// The platform.
        platform: String,
        /// The artifact manifest's digest.
        digest: String,
        /// How many packages and fetched inputs it lists.
        packages: usize,
    },
}

/// Receives push events (progress bars, tests).
pub type Observer = Arc<dyn Fn(Event) + Send + Sync>;

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
    engine: &DockerEngine,
    remote: &Remote,
    target: &Target,
    prepared: &Prepared,
    options: PushOptions<'_>,
    observe: &Observer,
) -> Result<(), crate::Error> {
    let PushOptions { mount_from, store, .. } = options;
    let repository = target.repository.as_str();
    for (image, id) in &prepared.images {
        for (blob, (diff_id, form)) in image.layers.iter().zip(&image.sources) {
            if remote.has_blob(repository, &blob.digest).await? {
                observe(Event::Present {
                    digest: blob.digest.clone(),
                    size: blob.size,
                });
                continue;
            }
            let mut mounted = None;
            for from in mount_from.iter().filter(|r| r.as_str() != repository) {
                if remote.mount(repository, from, &blob.digest).await
                    && remote.has_blob(repository, &blob.digest).await?
                {
                    mounted = Some(from.clone());
                    break;
                }
            }
            if let Some(from) = mounted {
                observe(Event::Mounted {
                    digest: blob.digest.clone(),
                    size: blob.size,
                    from,
                });
                continue;
            }
            let stored = |store: &LayerStore| store.get(diff_id, *form).map(|s| s.blob);
            if stored(store).as_ref() != Some(blob) {
                export_layers(engine, id, &[(diff_id.clone(), *form)].into(), store).await?;
                if stored(store).as_ref() != Some(blob) {
                    return Err(crate::Error::from(PublishError::Document(format!(
                        "layer {diff_id} of {id} no longer compresses to {}; delete {} and publish again",
                        blob.digest,
                        store.dir().display()
                    ))));
                }
            }
            observe(Event::Uploading {
                digest: blob.digest.clone(),
                size: blob.size,
            });
            let sent = Arc::clone(observe);
            remote
                .upload(
                    repository,
                    &blob.digest,
                    blob.size,
                    &store.path(diff_id, *form),
                    move |n| sent(Event::Sent(n)),
                )
                .await?;
        }
        if !remote.has_blob(repository, &image.config.digest).await? {
            remote.upload_bytes(repository, &image.config).await?;
        }
        put_by_digest(remote, repository, &image.manifest, observe).await?;
    }
    put_by_digest(remote, repository, &prepared.index, observe).await?;
    attach_sboms(remote, repository, prepared, observe).await?;
    if let Some(signer) = options.signer {
        sign_index(remote, target, &prepared.index.digest, signer, observe).await?;
    }
    match remote.resolve(repository, &target.tag).await? {
        Some(existing) if existing != prepared.index.digest => {
            return Err(crate::Error::from(PublishError::TagConflict {
                address: target.address(),
                existing,
                ours: prepared.index.digest.clone(),
            }))
        }
        Some(_) => {}
        None => {
            remote.put_manifest(repository, &target.tag, &prepared.index).await?;
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
    let repository = target.repository.as_str();
    let payload = sign::payload(&target.repository_address(), digest);
    let signature = signer.sign(&payload.bytes);
    let tag = sign::signature_tag(digest);
    let existing = remote.manifest(repository, &tag, &[oci::OCI_MANIFEST]).await?;
    let existing = existing.as_ref().map(|(bytes, _)| bytes.as_slice());
    let Some((manifest, config)) = sign::with_signature(existing, &payload, &signature)? else {
        return Ok(false);
    };
    for blob in [&payload, &config] {
        if !remote.has_blob(repository, &blob.digest).await? {
            remote.upload_bytes(repository, blob).await?;
        }
    }
    remote.put_manifest(repository, &tag, &manifest).await?;
    observe(Event::Signed {
        digest: digest.to_owned(),
    });
    Ok(true)
}

/// Pushes `document` as a manifest under its digest, and says so.
async fn put_by_digest(
    remote: &Remote,
    repository: &str,
    document: &Document,
    observe: &Observer,
) -> Result<(), crate::Error> {
    remote.put_manifest(repository, &document.digest, document).await?;
    observe(Event::Manifest {
        reference: document.digest.clone(),
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn provenance() -> Provenance {
        Provenance {
            created: "2023-11-01T00:00:00Z".into(),
            revision: Some("abc123".into()),
            source: None,
        }
    }

    #[test]
    fn a_source_url_never_carries_credentials() {
        assert_eq!(
            public_source("https://ci:ghp_s3cret@github.example/org/repo.git"),
            "https://github.example/org/repo.git"
        );
        assert_eq!(
            public_source("https://github.example/org/repo"),
            "https://github.example/org/repo"
        );
        assert_eq!(public_source("https://user@host.example"), "https://host.example");
        assert_eq!(
            public_source("git@github.example:org/repo.git"),
            "git@github.example:org/repo.git"
        );
        assert_eq!(public_source("/srv/git/repo"), "/srv/git/repo");
    }

    #[test]
    fn a_family_goes_to_its_repository_or_the_override() -> Result<(), crate::Error> {
        let image = crate::get("airbyte-python-connector-base:1.0.0")?;
        let target = Target::of(image, None)?.expect("the catalog declares a repository");
        assert_eq!(target.address(), "docker.io/airbyte/python-connector-base:1.0.0");
        let moved = Target::of(image, Some("127.0.0.1:5000"))?.expect("a repository");
        assert_eq!(moved.address(), "127.0.0.1:5000/airbyte/python-connector-base:1.0.0");
        Ok(())
    }

    static MIRRORED: BaseImage = BaseImage::__declare(crate::image::Declaration::example(
        "mirrored",
        &["org/mirrored", "ghcr.io/org/mirrored", "127.0.0.1:5000/org/mirrored"],
        "publish/mod.rs",
    ));

    #[test]
    fn a_family_of_several_repositories_goes_to_each_and_an_override_merges_them() -> Result<(), crate::Error> {
        let addresses = |targets: Vec<Target>| targets.iter().map(Target::address).collect::<Vec<_>>();
        assert_eq!(
            addresses(Target::all(&MIRRORED, None)?),
            [
                "docker.io/org/mirrored:1.0.0",
                "ghcr.io/org/mirrored:1.0.0",
                "127.0.0.1:5000/org/mirrored:1.0.0"
            ]
        );
        assert_eq!(
            addresses(Target::all(&MIRRORED, Some("127.0.0.1:5999"))?),
            ["127.0.0.1:5999/org/mirrored:1.0.0"],
            "the same path on one registry is one target"
        );
        assert_eq!(
            Target::of(&MIRRORED, None)?.map(|t| t.registry).as_deref(),
            Some("docker.io")
        );
        let recorded = Target::recorded(&MIRRORED, "127.0.0.1:5000/org/mirrored")?;
        assert_eq!(recorded.address(), "127.0.0.1:5000/org/mirrored:1.0.0");
        assert!(Target::recorded(&MIRRORED, "no-path").is_err());
        Ok(())
    }

    #[test]
    fn annotations_name_the_version_its_root_and_its_provenance() -> Result<(), crate::Error> {
        let image = crate::get("airbyte-python-connector-base:1.0.0")?;
        let index = annotations(image, &provenance(), None, &BTreeMap::new())?;
        let at = |key: &str| index.get(&format!("org.opencontainers.image.{key}")).cloned();
        assert_eq!(at("version").as_deref(), Some("1.0.0"));
        assert_eq!(at("created").as_deref(), Some("2023-11-01T00:00:00Z"));
        assert_eq!(at("revision").as_deref(), Some("abc123"));
        assert_eq!(at("source"), None, "no remote, no source");
        assert_eq!(at("title").as_deref(), Some("airbyte-python-connector-base"));
        assert_eq!(
            at("description").as_deref(),
            Some("Use the slim Python 3.9.18 image and add Poetry 1.6.1.")
        );
        assert_eq!(
            at("base.name").as_deref(),
            Some("docker.io/library/python:3.9.18-slim-bookworm")
        );
        assert_eq!(
            at("base.digest").as_deref(),
            Some("sha256:44b7f161ed03f85e96d423b9916cdc8cb0509fb970fd643bdbc9896d49e1cad0"),
            "the pinned index digest"
        );
        let manifest = annotations(image, &provenance(), Some("linux/arm64"), &BTreeMap::new())?;
        assert_eq!(
            manifest, index,
            "one root for all platforms: the same on every manifest"
        );
        Ok(())
    }

    #[test]
    fn a_root_per_platform_is_named_on_each_manifest_only() -> Result<(), crate::Error> {
        let image = crate::get("airbyte-python-connector-base:0.1.0")?;
        let index = annotations(image, &provenance(), None, &BTreeMap::new())?;
        assert!(!index.contains_key("org.opencontainers.image.base.name"), "{index:?}");
        let arm = annotations(image, &provenance(), Some("linux/arm64"), &BTreeMap::new())?;
        let name = arm
            .get("org.opencontainers.image.base.name")
            .cloned()
            .unwrap_or_default();
        assert!(name.starts_with("docker.io/library/python:3.9.18-bookworm"), "{name}");
        assert!(!name.contains('@'), "the digest goes to base.digest: {name}");
        assert!(arm.contains_key("org.opencontainers.image.base.digest"), "{arm:?}");
        Ok(())
    }
}
