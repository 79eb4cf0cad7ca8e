//! Check results cached by (image id, check digest): an unchanged image is
//! not re-checked. Only passes are stored, in one small JSON file under the
//! cache directory, replaced atomically. Custom checks are code, not data:
//! their key also holds a fingerprint of the running executable (size and
//! modification time), so rebuilding the tool runs them again.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use sha2::{Digest as _, Sha256};

use super::{Check, CheckKind};
use crate::{fsio, Error};

/// The passed (image id, check digest) pairs.
#[derive(Clone, Debug, Default)]
pub struct ResultCache {
    path: Option<PathBuf>,
    passed: BTreeSet<String>,
    dirty: bool,
}

impl ResultCache {
    /// An empty cache that is never saved (`--no-cache`).
    pub fn disabled() -> Self {
        ResultCache::default()
    }

    /// The cache stored in `dir` (created when saved); a missing or
    /// unreadable file is an empty cache, since it only saves time.
    pub fn open(dir: &Path) -> Self {
        let path = dir.join("check-results.json");
        let passed = fsio::read_optional(&path)
            .ok()
            .flatten()
            .and_then(|text| serde_json::from_str(&text).ok())
            .unwrap_or_default();
        ResultCache {
            path: Some(path),
            passed,
            dirty: false,
        }
    }

    /// The default cache directory: `$BASE_IMAGES_CACHE_DIR`, else
    /// `$XDG_CACHE_HOME/base-images`, else `~/.cache/base-images`.
    pub fn default_dir() -> PathBuf {
        if let Some(dir) = std::env::var_os("BASE_IMAGES_CACHE_DIR") {
            return dir.into();
        }
        let base = std::env::var_os("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
            .unwrap_or_else(std::env::temp_dir);
        base.join("base-images")
    }

    /// Whether `check` already passed on `image_id`.
    pub fn passed(&self, image_id: &str, check: &Check) -> bool {
        key(image_id, check).is_some_and(|k| self.passed.contains(&k))
    }

    /// Records that `check` passed on `image_id`.
    pub fn record_pass(&mut self, image_id: &str, check: &Check) {
        if let Some(k) = key(image_id, check) {
            self.dirty |= self.passed.insert(k);
        }
    }

    /// Adds the passes another copy recorded (a parallel job's).
    pub fn merge(&mut self, other: ResultCache) {
        for key in other.passed {
            self.dirty |= self.passed.insert(key);
        }
    }

    /// Writes the cache back, if it changed and has a file.
    pub fn save(&mut self) -> Result<(), Error> {
        let Some(path) = &self.path else { return Ok(()) };
        if !self.dirty {
            return Ok(());
        }
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|source| Error::Io {
                path: dir.to_owned(),
                source,
            })?;
        }
        let text = serde_json::to_string_pretty(&self.passed).unwrap_or_default();
        fsio::write_atomic(path, text.as_bytes())?;
        self.dirty = false;
        Ok(())
    }
}

/// The running executable's identity, for keys of custom checks.
static EXECUTABLE: LazyLock<Option<String>> = LazyLock::new(|| {
    let path = std::env::current_exe().ok()?;
    let meta = std::fs::metadata(&path).ok()?;
    let modified = meta.modified().ok()?.duration_since(std::time::UNIX_EPOCH).ok()?;
    Some(format!("{} {} {}", path.display(), meta.len(), modified.as_nanos()))
});

/// The cache key of a check on an image; `None` when it cannot be cached.
fn key(image_id: &str, check: &Check) -> Option<String> {
    let mut encoded = serde_json::to_vec(check).ok()?;
    if matches!(check.kind, CheckKind::Custom { .. }) {
        encoded.extend_from_slice(EXECUTABLE.as_ref()?.as_bytes());
    }
    Some(format!("{image_id} sha256:{:x}", Sha256::digest(&encoded)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::Checks;

    #[test]
    fn remembers_passes_per_image_and_check_across_opens() {
        let dir = tempfile::tempdir().unwrap();
        let checks = Checks::new()
            .command_succeeds("a", ["true"])
            .command_succeeds("b", ["true"])
            .finish()
            .unwrap();
        let mut cache = ResultCache::open(dir.path());
        assert!(!cache.passed("sha256:img", &checks[0]));
        cache.record_pass("sha256:img", &checks[0]);
        cache.save().unwrap();
        let cache = ResultCache::open(dir.path());
        assert!(cache.passed("sha256:img", &checks[0]));
        assert!(!cache.passed("sha256:img", &checks[1]), "another check");
        assert!(!cache.passed("sha256:other", &checks[0]), "another image");
        let changed = checks[0].clone().description("changed");
        assert!(!cache.passed("sha256:img", &changed), "a changed check is not cached");
    }
}
