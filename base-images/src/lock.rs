//! `versions.lock`: the recipe digest of every released version, so a
//! released image can never silently change. TOML, one `[[image]]` entry
//! per `family:version`, sorted by family then semver precedence. Only the
//! build tool writes it (atomically), after every check passed; `verify`
//! runs in `cargo test` and in the build tool's `check`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::digest::RecipeDigest;
use crate::image::BaseImage;
use crate::{fsio, Error, ImageKey};

pub use crate::released::ReleaseProblem;

/// Digests known for URLs (`sha256:<hex>`), by URL: what a lock recorded.
pub type Pins = BTreeMap<String, String>;

/// The lock file format this library reads and writes.
pub const LOCK_FORMAT: u32 = 1;

const HEADER: &str = "# Recipe digests of released base-image versions.\n\
# Written by base-images-build after every check passed; never edit by hand.\n\
# A released version must never change: declare a new version instead.\n";

/// One released version.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockEntry {
    /// `family:version`.
    pub name: ImageKey,
    /// The digest of its canonical recipe.
    pub recipe: RecipeDigest,
    /// When it was released (RFC 3339, UTC): the start of the build that
    /// locked it, so every step that build ran is newer; the `created`
    /// time of its published image, and the epoch its step layers' times
    /// are settled to, unless `SOURCE_DATE_EPOCH` says otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub released: Option<String>,
    /// Its published image index, once published.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published: Option<Published>,
    /// For a root that is a local image (built here, in no registry, so it
    /// cannot be pinned by digest): its image id per platform at release.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub local_roots: BTreeMap<String, String>,
    /// The sha256 of every input it fetches, by URL, recorded at release
    /// (or by the first build that fetched it, for a version released
    /// before inputs were recorded); later builds must receive the same.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fetched: BTreeMap<String, String>,
}

/// What `publish` pushed for a version: enough to publish it again with
/// the same digests (to another registry, or after a tag was lost).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Published {
    /// The OCI image index digest (`sha256:…`).
    pub index: String,
    /// Its `org.opencontainers.image.created` annotation (RFC 3339).
    pub created: String,
    /// Its `org.opencontainers.image.revision` annotation, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    /// Its `org.opencontainers.image.source` annotation, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Every repository it was pushed to (`host[:port]/path`), sorted.
    pub repositories: Vec<String>,
    /// How its step layers were published; absent for a version published
    /// before layers were rewritten, whose layers went out as the engine
    /// had them (and still do, so publishing it again gives the index
    /// recorded here).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layers: Option<LayerRule>,
    /// What compressed its layers; absent for a version published before
    /// compressors were recorded, whose layers miniz_oxide compressed (and
    /// still does, so publishing it again gives the index recorded here).
    #[serde(default, skip_serializing_if = "Compressor::is_original")]
    pub compressor: Compressor,
}

/// What gzip-compresses a version's layers, as versions.lock records it: a
/// deflate implementation's bytes are its own, so a version keeps the
/// compressor it was first published with, and its recorded digests stay
/// what publishing it again gives.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Compressor {
    /// gzip level 6 by miniz_oxide 0.9: every version published before
    /// compressors were recorded (absent from the lock).
    #[default]
    #[serde(rename = "gzip-6-miniz-oxide")]
    Miniz6,
    /// gzip level 6 by zlib-rs 0.6, ~2.7x faster.
    #[serde(rename = "gzip-6-zlib-rs")]
    ZlibRs6,
}

impl Compressor {
    /// The compressor of a version published for the first time.
    pub const NEW: Compressor = Compressor::ZlibRs6;

    /// Whether this is the compressor of versions published before
    /// compressors were recorded (not written to the lock).
    pub fn is_original(&self) -> bool {
        *self == Compressor::Miniz6
    }
}

/// How a version's step layers are rewritten to be reproducible, as
/// versions.lock records it: a version keeps the rule it was first
/// published with, so publishing it again gives the index recorded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum LayerRule {
    /// `reproducible`: every modification time clamped to `created` (a
    /// rebuild gives the same bytes only when the release's build ran
    /// every step itself).
    #[serde(rename = "reproducible")]
    Clamped,
    /// `settled`: every modification time after the root image was made
    /// set to `created`, older ones clamped to it (a rebuild from an empty
    /// cache gives the same bytes as a release whose steps were cached).
    #[serde(rename = "settled")]
    Settled,
}

impl LayerRule {
    /// The rule of a version published for the first time.
    pub const NEW: LayerRule = LayerRule::Settled;
}

/// The contents of a `versions.lock`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Lock {
    entries: Vec<LockEntry>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct LockFile {
    format: u32,
    #[serde(default, rename = "image", skip_serializing_if = "Vec::is_empty")]
    images: Vec<LockEntry>,
}

impl Lock {
    /// Reads a lock file; a missing file is an empty lock (nothing released).
    pub fn read(path: &Path) -> Result<Lock, Error> {
        match fsio::read_optional(path)? {
            Some(text) => Lock::parse(&text, path),
            None => Ok(Lock::default()),
        }
    }

    /// Parses lock text; `path` is only used in error messages.
    pub fn parse(text: &str, path: &Path) -> Result<Lock, Error> {
        let bad = |message: String| Error::FileFormat {
            path: path.to_owned(),
            message,
        };
        let file: LockFile = toml::from_str(text).map_err(|e| bad(format!("{e}")))?;
        if file.format != LOCK_FORMAT {
            return Err(bad(format!(
                "format {} is not supported (this tool reads format {LOCK_FORMAT}); upgrade base-images",
                file.format
            )));
        }
        let mut seen = BTreeMap::new();
        for entry in &file.images {
            if seen.insert(&entry.name, ()).is_some() {
                return Err(bad(format!("`{}` is listed twice; keep one entry", entry.name)));
            }
        }
        Ok(Lock {
            entries: sorted(file.images),
        })
    }

    /// The released versions, sorted.
    pub fn entries(&self) -> &[LockEntry] {
        &self.entries
    }

    /// The entry of `key`.
    pub fn get(&self, key: &ImageKey) -> Option<&LockEntry> {
        let found = self.entries.binary_search_by(|e| e.name.cmp(key));
        found.ok().and_then(|n| self.entries.get(n))
    }

    /// The lock as TOML text (deterministic).
    pub fn render(&self) -> Result<String, Error> {
        let file = LockFile {
            format: LOCK_FORMAT,
            images: self.entries.clone(),
        };
        render_toml(&file)
    }

    /// Replaces the file at `path` atomically.
    pub fn write(&self, path: &Path) -> Result<(), Error> {
        fsio::write_atomic(path, self.render()?.as_bytes())
    }

    /// Checks that no released version changed or disappeared; lists every
    /// one that did. Versions not in the lock are new and fine.
    pub fn verify(&self, images: &[&BaseImage]) -> Result<(), Error> {
        let mut problems = Vec::new();
        let by_key: BTreeMap<ImageKey, &BaseImage> = images.iter().map(|i| (i.key(), *i)).collect();
        for entry in &self.entries {
            let key = entry.name.clone();
            match by_key.get(&entry.name) {
                None => problems.push(ReleaseProblem::Missing { key }),
                Some(image) => match image.recipe() {
                    Err(e) => problems.push(ReleaseProblem::Invalid {
                        key,
                        reason: e.to_string(),
                    }),
                    Ok(recipe) if recipe.digest() == entry.recipe && entry.local_roots.is_empty() => {
                        if let Some((_, address)) = unpinned_root(&recipe) {
                            problems.push(ReleaseProblem::Unpinned {
                                key,
                                address: address.to_owned(),
                            });
                        }
                    }
                    Ok(recipe) if recipe.digest() != entry.recipe => problems.push(ReleaseProblem::Changed {
                        key,
                        locked: entry.recipe.clone(),
                        declared: recipe.digest(),
                        location: image.location().to_string(),
                    }),
                    Ok(_) => {}
                },
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(Error::Released(problems))
        }
    }

    /// This lock plus an entry for each of `images` not yet in it; existing
    /// entries are never changed (run `verify` first).
    pub fn with_released(&self, images: &[&BaseImage]) -> Result<Lock, Error> {
        self.with_release(images, &Release::default())
    }

    /// `with_released`, recording for new entries their local root image
    /// ids and fetched digests, and for existing ones the digests of inputs
    /// they had none for (trust on first use); a recorded digest is never
    /// changed.
    pub fn with_release(&self, images: &[&BaseImage], release: &Release) -> Result<Lock, Error> {
        let mut entries = self.entries.clone();
        for entry in &mut entries {
            for (url, digest) in release.fetched.get(&entry.name).into_iter().flatten() {
                entry.fetched.entry(url.clone()).or_insert_with(|| digest.clone());
            }
        }
        for image in images {
            let key = image.key();
            if self.get(&key).is_none() {
                entries.push(LockEntry {
                    recipe: image.recipe()?.digest(),
                    released: release.time.clone(),
                    published: None,
                    local_roots: release.local_roots.get(&key).cloned().unwrap_or_default(),
                    fetched: release.fetched.get(&key).cloned().unwrap_or_default(),
                    name: key,
                });
            }
        }
        Ok(Lock {
            entries: sorted(entries),
        })
    }

    /// This lock with `key` recorded as published: `published`'s
    /// repositories are added to those already recorded (an error when `key`
    /// is not released, or was published with another index digest).
    pub fn with_published(&self, key: &ImageKey, published: &Published) -> Result<Lock, Error> {
        let mut lock = self.clone();
        let entry = lock
            .entries
            .iter_mut()
            .find(|e| e.name == *key)
            .ok_or_else(|| Error::Released(vec![ReleaseProblem::NotReleased { key: key.clone() }]))?;
        let mut record = published.clone();
        if let Some(before) = &entry.published {
            if before.index != published.index {
                return Err(Error::Released(vec![ReleaseProblem::PublishedAs {
                    key: key.clone(),
                    recorded: before.index.clone(),
                    now: published.index.clone(),
                }]));
            }
            record.repositories.extend(before.repositories.iter().cloned());
        }
        record.repositories.sort();
        record.repositories.dedup();
        entry.published = Some(record);
        Ok(lock)
    }

    /// The digests of `key`'s fetched inputs this lock records, by URL.
    pub fn pins(&self, key: &ImageKey) -> Pins {
        self.get(key).map(|e| e.fetched.clone()).unwrap_or_default()
    }

    /// For each released version among `images`, the URLs it fetches whose
    /// digest neither its recipe nor this lock pins yet (its next build
    /// records them).
    pub fn unpinned_inputs(&self, images: &[&BaseImage]) -> Vec<(ImageKey, Vec<String>)> {
        images
            .iter()
            .filter_map(|image| {
                let entry = self.get(&image.key())?;
                let recipe = image.recipe().ok()?;
                let mut urls: Vec<String> = Vec::new();
                for (url, pinned) in recipe.steps.fetched().iter() {
                    if pinned.is_none() && !entry.fetched.contains_key(url) && !urls.contains(url) {
                        urls.push(url.clone());
                    }
                }
                (!urls.is_empty()).then(|| (image.key(), urls))
            })
            .collect()
    }
}

/// What a release records besides recipe digests, by `family:version`.
#[derive(Clone, Debug, Default)]
pub struct Release {
    /// Local root image ids, by platform.
    pub local_roots: BTreeMap<ImageKey, BTreeMap<String, String>>,
    /// Fetched input digests, by URL.
    pub fetched: BTreeMap<ImageKey, Pins>,
    /// The release time recorded for new entries (RFC 3339, UTC).
    pub time: Option<String>,
}

/// The current time as the lock records it (RFC 3339, UTC, in seconds).
pub fn now() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

/// The header and the TOML of `file`; a serialization failure is an error,
/// never a lock without entries.
fn render_toml<T: Serialize>(file: &T) -> Result<String, Error> {
    let body = toml::to_string(file).map_err(|e| Error::FileFormat {
        path: PathBuf::from("versions.lock"),
        message: format!("cannot be rendered ({e}); nothing was written"),
    })?;
    Ok(format!("{HEADER}\n{body}"))
}

/// A root address of `recipe` that is not pinned by digest, if any.
pub fn unpinned_root(recipe: &crate::Recipe) -> Option<(Option<&str>, &str)> {
    recipe
        .root_addresses()
        .into_iter()
        .find(|(_, address)| !crate::ImageAddress::parse(address).is_ok_and(|a| a.is_pinned()))
}

/// Sorts by family, then semver precedence.
fn sorted(mut entries: Vec<LockEntry>) -> Vec<LockEntry> {
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    entries
}

/// The lock file of a workspace: `versions.lock` in `root`.
pub fn path_in(root: &Path) -> PathBuf {
    root.join("versions.lock")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str, hex: char) -> LockEntry {
        LockEntry {
            name: name.parse().unwrap(),
            recipe: RecipeDigest::parse(&format!("sha256:{}", hex.to_string().repeat(64))).unwrap(),
            released: None,
            published: None,
            local_roots: BTreeMap::new(),
            fetched: BTreeMap::new(),
        }
    }

    #[test]
    fn renders_sorted_by_semver_and_parses_back() -> Result<(), Error> {
        let lock = Lock {
            entries: sorted(vec![
                entry("b:1.10.0", 'a'),
                entry("b:1.9.0", 'b'),
                entry("a:2.0.0", 'c'),
                entry("b:1.10.0-rc.1", 'd'),
            ]),
        };
        let names: Vec<String> = lock.entries().iter().map(|e| e.name.to_string()).collect();
        assert_eq!(names, ["a:2.0.0", "b:1.9.0", "b:1.10.0-rc.1", "b:1.10.0"]);
        let text = lock.render()?;
        assert!(text.starts_with("# Recipe digests"));
        assert!(text.contains("format = 1\n"));
        assert_eq!(Lock::parse(&text, Path::new("versions.lock"))?, lock);
        Ok(())
    }

    #[test]
    fn refuses_malformed_files_with_the_path() {
        let path = Path::new("x/versions.lock");
        let cases = [
            ("format = 2\n", "format 2 is not supported"),
            ("format = 1\n[[image]]\nname = \"a:1.0.0\"\nrecipe = \"md5:00\"\n", "`md5:00` is not a recipe digest (sha256: and 64 lowercase hex digits)"),
            ("format = 1\nsurprise = true\n", "unknown field"),
            (
                "format = 1\n[[image]]\nname = \"a:1.0.0\"\nrecipe = \"sha256:0000000000000000000000000000000000000000000000000000000000000000\"\n[[image]]\nname = \"a:1.0.0\"\nrecipe = \"sha256:0000000000000000000000000000000000000000000000000000000000000000\"\n",
                "listed twice",
            ),
        ];
        for (text, expected) in cases {
            let err = Lock::parse(text, path).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(
                err.contains(expected) && err.contains("x/versions.lock"),
                "{text:?} gave {err:?}"
            );
        }
    }

    #[test]
    fn a_render_failure_is_an_error_not_an_empty_lock() {
        let err = render_toml(&crate::canonical::Unserializable)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("cannot be rendered (refused)"), "{err:?}");
    }

    #[test]
    fn each_layer_rule_is_read_back_as_written_and_an_unknown_one_refused() -> Result<(), Error> {
        let entry = |layers: &str| {
            format!(
                "format = 1\n\n[[image]]\nname = \"e2e:1.0.0\"\nrecipe = \"sha256:{}\"\n\n[image.published]\n\
                 index = \"sha256:{}\"\ncreated = \"2026-01-01T00:00:00Z\"\nrepositories = [\"r.example/e2e\"]\n{layers}",
                "a".repeat(64),
                "b".repeat(64)
            )
        };
        let path = Path::new("versions.lock");
        for (written, rule) in [
            ("", None),
            ("layers = \"reproducible\"\n", Some(LayerRule::Clamped)),
            ("layers = \"settled\"\n", Some(LayerRule::Settled)),
        ] {
            let lock = Lock::parse(&entry(written), path)?;
            let key: ImageKey = "e2e:1.0.0".parse().unwrap_or_else(|e| panic!("{e}"));
            let published = lock.get(&key).and_then(|e| e.published.clone());
            assert_eq!(published.as_ref().map(|p| p.layers), Some(rule), "{written}");
            assert_eq!(Lock::parse(&lock.render()?, path)?, lock, "{written}");
        }
        let unknown = Lock::parse(&entry("layers = \"sideways\"\n"), path).map(|_| ());
        let message = unknown.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(
            message.contains("versions.lock") && message.contains("sideways"),
            "{message}"
        );
        Ok(())
    }

    #[test]
    fn missing_file_is_an_empty_lock() -> Result<(), Error> {
        assert_eq!(Lock::read(Path::new("/nonexistent/versions.lock"))?, Lock::default());
        Ok(())
    }
}
