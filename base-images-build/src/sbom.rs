//! `sbom KEY [--platform P]`: builds one version for one platform on the
//! local engine (from the step cache when it was built before), reads what
//! is installed in it (from the SBOM cache when read before, else through
//! the engine) and prints its SPDX 2.3 JSON
//! SBOM. The described digest is the engine's image id (the published
//! SBOM, attached by `publish`, names the platform manifest's digest).

use base_images::engine::docker::DockerEngine;
use base_images::engine::pipeline::{build_on, interruptible, Options};
use base_images::engine::Engine as _;
use base_images::fetch::Fetcher;
use base_images::sbom::cache::InventoryCache;
use base_images::sbom::{self, Origin};
use base_images::BaseImage;

use crate::{Error, Ui, Workspace};

/// Runs `sbom`; returns the document.
pub(crate) async fn sbom(
    workspace: &Workspace,
    image: &BaseImage,
    platform: Option<&str>,
    fetcher: &Fetcher,
    ui: &Ui,
) -> Result<String, Error> {
    let platform = crate::inspect::platform_of(image, platform)?;
    let engine = &DockerEngine::connect().await?;
    let work = local_sbom(workspace, engine, image, platform, fetcher, ui);
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let bytes = interruptible(engine.cleanup(), work, interrupt).await??;
    Ok(String::from_utf8_lossy(&bytes).trim_end().to_owned())
}

/// The SPDX JSON SBOM of `image` on `platform`, built on `engine` (from
/// the step cache when built before) with its inputs from `fetcher`.
pub(crate) async fn local_sbom(
    workspace: &Workspace,
    engine: &DockerEngine,
    image: &BaseImage,
    platform: &str,
    fetcher: &Fetcher,
    ui: &Ui,
) -> Result<Vec<u8>, Error> {
    let lock = workspace.lock()?;
    let key = image.key();
    let entry = lock.get(&key);
    let created = crate::publish::provenance(workspace, entry, ui)?.created;
    let options = Options {
        pins: lock.pins(&key),
        fetcher: fetcher.clone(),
        ..Options::default()
    };
    let (report, _) = build_on(engine, image, platform, &options).await;
    let built = match (report.error, report.image) {
        (Some(e), _) => return Err(Error::Library(e)),
        (None, Some(built)) => built,
        (None, None) => return Err(Error::Usage(format!("{key} [{platform}] was not built"))),
    };
    // An image read before is not read again; a user without a cache
    // directory reads it every time.
    let cache = InventoryCache::default_cache().ok();
    let inventory = engine.cached_inventory(&built.id, cache.as_ref()).await?;
    let origin = Origin {
        digest: built.id.clone(),
        repository: None,
        created,
    };
    let local_roots = entry.map(|e| e.local_roots.clone()).unwrap_or_default();
    let subject = sbom::subject(image, platform, origin, &report.fetched, &local_roots)?;
    Ok(sbom::to_json(&sbom::spdx::document(&subject, &inventory)))
}
