//! Software bills of materials: what is inside one platform image of a
//! version, generated from the built image through the engine without
//! network (`DockerEngine::inventory` reads the package databases; `scan`
//! parses them) and written as SPDX 2.3 JSON (`spdx`). The image's digest
//! is the described element, its root image its ancestor, and the content
//! the build tool fetched is listed with its sha256.

pub mod cache;
pub mod scan;
pub mod spdx;

use std::collections::BTreeMap;

pub use scan::{Ecosystem, Inventory, OsRelease, Package};
pub use spdx::{Document, FetchedInput, RootImage, Subject};

use crate::fetch::Pins;
use crate::step::Step;
use crate::{BaseImage, Error};

/// The media type of an SPDX JSON document (the SBOM artifact's type).
pub const SPDX_MEDIA_TYPE: &str = "application/spdx+json";

/// Where a version's SBOM says it was published and when.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Origin {
    /// `sha256:…`: the platform manifest's digest when published, the
    /// engine's image id for a local image.
    pub digest: String,
    /// `registry/repository`, when published.
    pub repository: Option<String>,
    /// RFC 3339: the release's `created`.
    pub created: String,
}

/// The subject of the SBOM of `image` on `platform`: its root (`local_roots`
/// are the local root ids the lock records) and the content it fetched
/// (digests from `fetched`, else the recipe's pins).
pub fn subject(
    image: &BaseImage,
    platform: &str,
    origin: Origin,
    fetched: &Pins,
    local_roots: &BTreeMap<String, String>,
) -> Result<Subject, Error> {
    let recipe = image.recipe()?;
    let root = recipe
        .base_of(Some(platform), local_roots)?
        .map(|(name, digest)| RootImage { name, digest });
    let mut inputs: Vec<FetchedInput> = recipe
        .steps
        .iter()
        .filter_map(|step| {
            let (url, pinned) = step.fetched()?;
            let path = match step {
                Step::FetchFile { path, .. } | Step::FetchArchive { path, .. } => path.clone(),
                _ => return None,
            };
            let sha256 = fetched.get(url).map(String::as_str).or(pinned)?.to_owned();
            Some(FetchedInput {
                url: url.to_owned(),
                sha256,
                path,
            })
        })
        .collect();
    inputs.sort();
    inputs.dedup();
    let key = image.key();
    Ok(Subject {
        family: key.family().to_owned(),
        version: key.version().to_string(),
        platform: platform.to_owned(),
        digest: origin.digest,
        repository: origin.repository,
        created: origin.created,
        root,
        fetched: inputs,
    })
}

/// The document's bytes: indented JSON ending in a newline, the same bytes
/// for the same document.
pub fn to_json(document: &Document) -> Vec<u8> {
    // Serialising these plain structs cannot fail.
    let mut bytes = serde_json::to_vec_pretty(document).unwrap_or_default();
    bytes.push(b'\n');
    bytes
}
