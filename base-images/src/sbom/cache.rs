//! What is installed in each image read before, kept in the user's cache
//! directory by image id (`sbom-images/<hex>.json`; an image id is the
//! digest of its configuration, which names every layer), so an image is
//! read through the engine (a file system export, `rpm` for an RPM
//! database) once. A record is read within a bound, must parse, name its
//! own image and come from this scanner; one that does not is ignored (and
//! written again). Like the check-result cache, the directory is the
//! user's own (0700) and its records are believed.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::scan::{Inventory, MAX_TOTAL};
use crate::{fsio, Error};

/// Which scanner wrote a record: another reads other files, so its
/// records are not this one's. Raise it whenever `scan` reads other files
/// or reads them otherwise.
const SCANNER: u32 = 1;

/// The most read of one record (a few hundred bytes per package).
const RECORD_LIMIT: u64 = MAX_TOTAL;

/// One image's record.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Record {
    scanner: u32,
    image: String,
    inventory: Inventory,
}

/// The records, in one directory.
#[derive(Clone, Debug)]
pub struct InventoryCache {
    dir: PathBuf,
    limit: u64,
}

impl InventoryCache {
    /// The cache in `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> InventoryCache {
        InventoryCache {
            dir: dir.into(),
            limit: RECORD_LIMIT,
        }
    }

    /// The cache in the user's cache directory (`sbom-images/` beside the
    /// check result cache); an error when the user has none.
    pub fn default_cache() -> Result<InventoryCache, Error> {
        Ok(InventoryCache::new(
            crate::checks::ResultCache::default_dir()?.join("sbom-images"),
        ))
    }

    fn path(&self, image: &str) -> PathBuf {
        self.dir.join(format!("{}.json", image.trim_start_matches("sha256:")))
    }

    /// What is installed in image `image` (its id), if recorded (and the
    /// record holds).
    pub fn get(&self, image: &str) -> Option<Inventory> {
        let bytes = fsio::read_at_most(&self.path(image), self.limit).ok()?;
        let record: Record = serde_json::from_slice(&bytes).ok()?;
        (record.scanner == SCANNER && record.image == image).then_some(record.inventory)
    }

    /// Records what is installed in image `image` (its id).
    pub fn put(&self, image: &str, inventory: &Inventory) -> Result<(), Error> {
        fsio::create_private_dir(&self.dir)?;
        let record = Record {
            scanner: SCANNER,
            image: image.to_owned(),
            inventory: inventory.clone(),
        };
        fsio::write_atomic(&self.path(image), &serde_json::to_vec(&record).unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_is_believed_only_for_its_own_image_and_scanner() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let cache = InventoryCache::new(dir.path().join("sbom-images"));
        let layer = "sha256:aa";
        let tar = {
            let mut builder = tar::Builder::new(Vec::new());
            let mut header = tar::Header::new_gnu();
            header.set_size(5);
            header.set_mode(0o644);
            header.set_cksum();
            builder.append_data(&mut header, "etc/os-release", &b"ID=x\n"[..])?;
            builder.into_inner()?
        };
        let files = crate::sbom::scan::scan(&tar[..])?;
        assert_eq!(cache.get(layer), None, "nothing recorded yet");
        cache.put(layer, &files)?;
        assert_eq!(cache.get(layer), Some(files.clone()));
        let path = cache.path(layer);
        let record = std::fs::read_to_string(&path)?;
        // Copied to another image's name, it names the wrong image.
        std::fs::copy(&path, cache.path("sha256:bb"))?;
        assert_eq!(cache.get("sha256:bb"), None, "names another image");
        std::fs::write(&path, record.replace("\"scanner\":1", "\"scanner\":0"))?;
        assert_eq!(cache.get(layer), None, "another scanner's");
        std::fs::write(&path, "{not json")?;
        assert_eq!(cache.get(layer), None, "does not parse");
        cache.put(layer, &files)?;
        let small = InventoryCache {
            limit: std::fs::metadata(&path)?.len() - 1,
            ..cache.clone()
        };
        assert_eq!(small.get(layer), None, "too large to read");
        assert_eq!(cache.get(layer), Some(files), "written again");
        Ok(())
    }
}
