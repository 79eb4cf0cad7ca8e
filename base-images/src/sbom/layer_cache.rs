//! What the SBOM scanner read of each layer, kept in the user's cache
//! directory by the layer's diff id (`sbom-layers/<hex>.json`), as trivy
//! keeps its layer analyses: an image whose every layer was read before
//! (by `sbom` or `audit` of it, or of any image sharing them) is described
//! without exporting it from the engine. A record is read within a bound,
//! must parse, name its own diff id and come from this scanner; one that
//! does not is ignored (and written again). Like the check-result cache,
//! the directory is the user's own (0700) and its records are believed.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::scan::{LayerFiles, MAX_TOTAL};
use crate::{fsio, Error};

/// Which scanner wrote a record: another reads other files, so its
/// records are not this one's.
const SCANNER: u32 = 1;

/// The most read of one record: what the scanner reads of a layer, as
/// JSON (escaped text can take a few times its bytes).
const RECORD_LIMIT: u64 = 4 * MAX_TOTAL;

/// One layer's record.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Record {
    scanner: u32,
    diff_id: String,
    files: LayerFiles,
}

/// The records, in one directory.
#[derive(Clone, Debug)]
pub struct LayerCache {
    dir: PathBuf,
    limit: u64,
}

impl LayerCache {
    /// The cache in `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> LayerCache {
        LayerCache {
            dir: dir.into(),
            limit: RECORD_LIMIT,
        }
    }

    /// The cache in the user's cache directory (`sbom-layers/` beside the
    /// check result cache); an error when the user has none.
    pub fn default_cache() -> Result<LayerCache, Error> {
        Ok(LayerCache::new(
            crate::checks::ResultCache::default_dir()?.join("sbom-layers"),
        ))
    }

    fn path(&self, diff_id: &str) -> PathBuf {
        self.dir.join(format!("{}.json", diff_id.trim_start_matches("sha256:")))
    }

    /// What the scanner read of layer `diff_id`, if recorded (and the
    /// record holds).
    pub fn get(&self, diff_id: &str) -> Option<LayerFiles> {
        let bytes = fsio::read_at_most(&self.path(diff_id), self.limit).ok()?;
        let record: Record = serde_json::from_slice(&bytes).ok()?;
        (record.scanner == SCANNER && record.diff_id == diff_id).then_some(record.files)
    }

    /// Records what the scanner read of layer `diff_id`.
    pub fn put(&self, diff_id: &str, files: &LayerFiles) -> Result<(), Error> {
        fsio::create_private_dir(&self.dir)?;
        let record = Record {
            scanner: SCANNER,
            diff_id: diff_id.to_owned(),
            files: files.clone(),
        };
        fsio::write_atomic(&self.path(diff_id), &serde_json::to_vec(&record).unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_is_believed_only_for_its_own_layer_and_scanner() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let cache = LayerCache::new(dir.path().join("sbom-layers"));
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
        let files = crate::sbom::scan::layer_files(&tar[..])?;
        assert_eq!(cache.get(layer), None, "nothing recorded yet");
        cache.put(layer, &files)?;
        assert_eq!(cache.get(layer), Some(files.clone()));
        let path = cache.path(layer);
        let record = std::fs::read_to_string(&path)?;
        // Copied to another layer's name, it says the wrong diff id.
        std::fs::copy(&path, cache.path("sha256:bb"))?;
        assert_eq!(cache.get("sha256:bb"), None, "names another layer");
        std::fs::write(&path, record.replace("\"scanner\":1", "\"scanner\":0"))?;
        assert_eq!(cache.get(layer), None, "another scanner's");
        std::fs::write(&path, "{not json")?;
        assert_eq!(cache.get(layer), None, "does not parse");
        cache.put(layer, &files)?;
        let small = LayerCache {
            limit: std::fs::metadata(&path)?.len() - 1,
            ..cache.clone()
        };
        assert_eq!(small.get(layer), None, "too large to read");
        assert_eq!(cache.get(layer), Some(files), "written again");
        Ok(())
    }
}
