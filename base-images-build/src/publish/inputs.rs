//! What versions.lock and the workspace give a version's publish: its
//! provenance (`created`, revision, source), its local roots, fetched-input
//! pins and layer form, and what versions.lock records once it is
//! published.

use std::collections::BTreeMap;

use base_images::lock::{Compressor, LayerRule, LockEntry, Published};
use base_images::publish::{self as publishing, Provenance, Publication, Target};
use base_images::{BaseImage, Lock};

use crate::{Error, Ui, Workspace};

/// The `created`, `revision` and `source` of a version's publish: what
/// versions.lock recorded when it was first published (so a republish
/// gives the same digests), else `SOURCE_DATE_EPOCH` or the release time
/// the lock records, and the workspace's git commit and remote.
pub(crate) fn provenance(workspace: &Workspace, entry: Option<&LockEntry>, ui: &Ui) -> Result<Provenance, Error> {
    let recorded = entry.and_then(|e| e.published.as_ref());
    let created = match crate::build::source_date()? {
        Some(created) => created,
        None => match (recorded, entry.and_then(|e| e.released.clone())) {
            (Some(published), _) => published.created.clone(),
            (None, Some(released)) => released,
            (None, None) => {
                let now = base_images::lock::now();
                if let Some(entry) = entry {
                    ui.note(&format!(
                        "{} was released before release times were recorded: created = {now}, recorded in versions.lock",
                        entry.name
                    ));
                }
                now
            }
        },
    };
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .arg("-C")
            .arg(workspace.root())
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
            .filter(|s| !s.is_empty())
    };
    Ok(Provenance {
        created,
        revision: recorded
            .and_then(|p| p.revision.clone())
            .or_else(|| git(&["rev-parse", "HEAD"])),
        source: recorded
            .and_then(|p| p.source.clone())
            .or_else(|| git(&["remote", "get-url", "origin"]).map(|url| publishing::public_source(&url))),
    })
}

/// The provenance `published` records.
pub(super) fn provenance_of(published: &Published) -> Provenance {
    Provenance {
        created: published.created.clone(),
        revision: published.revision.clone(),
        source: published.source.clone(),
    }
}

/// What versions.lock records of `image` in `target` once it is there:
/// what it records already, with `target`'s repository, else the index
/// `wanted` with `provenance`.
pub(super) fn record_of(
    entry: Option<&LockEntry>,
    target: &Target,
    provenance: &Provenance,
    wanted: String,
) -> Published {
    let published = Published {
        index: wanted,
        created: provenance.created.clone(),
        revision: provenance.revision.clone(),
        source: provenance.source.clone(),
        repositories: vec![target.repository_address()],
        layers: layer_rule(entry),
        compressor: compressor(entry),
    };
    match entry.and_then(|e| e.published.clone()) {
        Some(recorded) => Published {
            repositories: published.repositories,
            ..recorded
        },
        None => published,
    }
}

/// What `versions.lock` records of a version that publishing it uses.
pub(super) struct ReleaseInputs {
    /// Local root image ids, by platform.
    local_roots: BTreeMap<String, String>,
    /// Fetched-input digests, by URL.
    fetched: base_images::fetch::Pins,
    /// How its step layers are rewritten (none: as the engine has them).
    layers: Option<LayerRule>,
    /// What compresses its layers.
    compressor: Compressor,
}

impl ReleaseInputs {
    /// What `lock` records of `image`.
    pub(super) fn of(lock: &Lock, image: &BaseImage) -> ReleaseInputs {
        let entry = lock.get(&image.key());
        ReleaseInputs {
            local_roots: entry.map(|e| e.local_roots.clone()).unwrap_or_default(),
            fetched: lock.pins(&image.key()),
            layers: layer_rule(entry),
            compressor: compressor(entry),
        }
    }

    /// The publication of these inputs to `target` with `provenance`.
    pub(super) fn publication<'a>(&'a self, target: &'a Target, provenance: &'a Provenance) -> Publication<'a> {
        Publication {
            target,
            provenance,
            local_roots: &self.local_roots,
            fetched: &self.fetched,
            layers: self.layers,
            compressor: self.compressor,
        }
    }
}

/// How a version's step layers are rewritten: as versions.lock records it
/// was first published (so its recorded index stays what publishing it
/// again gives), [`LayerRule::NEW`] for one never published.
fn layer_rule(entry: Option<&LockEntry>) -> Option<LayerRule> {
    match entry.and_then(|e| e.published.as_ref()) {
        Some(recorded) => recorded.layers,
        None => Some(LayerRule::NEW),
    }
}

/// What compresses a version's layers: as versions.lock records it was
/// first published, [`Compressor::NEW`] for one never published.
fn compressor(entry: Option<&LockEntry>) -> Compressor {
    entry
        .and_then(|e| e.published.as_ref())
        .map_or(Compressor::NEW, |recorded| recorded.compressor)
}
