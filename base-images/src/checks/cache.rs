//! Check results cached by (image id, check digest): an unchanged image is
//! not re-checked. Only passes are stored, in one small JSON file under the
//! user's cache directory (never a shared temporary one; created 0700),
//! replaced atomically. A file that does not parse, is too large or holds
//! a key of another shape is discarded (removed, with a warning) and the
//! cache starts empty. Custom checks are code, not data: their key also
//! holds a fingerprint of the running executable (size and modification
//! time), so rebuilding the tool runs them again.

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use super::model::{Check, CheckKind};
use crate::fsio;
use crate::Error;

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

    /// Whether it is [`disabled`](Self::disabled): nothing is served from
    /// it but what this run recorded.
    pub fn is_disabled(&self) -> bool {
        self.path.is_none()
    }

    /// The cache stored in `dir` (created when saved); a missing file is
    /// an empty cache, and so is one that does not verify, which is
    /// removed (it only saves time: the checks run again).
    pub fn open(dir: &Path) -> Self {
        let path = dir.join(FILE);
        let passed = match load(&path) {
            Ok(passed) => passed,
            Err(reason) => {
                tracing::warn!(
                    file = %path.display(),
                    reason,
                    "the check result cache does not verify; discarded, its checks run again"
                );
                // Gone or not, it is not read again: `save` replaces it.
                let _ = std::fs::remove_file(&path);
                BTreeSet::new()
            }
        };
        ResultCache {
            path: Some(path),
            passed,
            dirty: false,
        }
    }

    /// The default cache directory: `$BASE_IMAGES_CACHE_DIR`, else
    /// `$XDG_CACHE_HOME/base-images`, else `$HOME/.cache/base-images`; an
    /// error when none is set (a shared temporary directory is never used).
    pub fn default_dir() -> Result<PathBuf, Error> {
        cache_dir(|name| std::env::var_os(name))
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
            fsio::create_private_dir(dir)?;
        }
        let text = serde_json::to_string_pretty(&self.passed).unwrap_or_default();
        fsio::write_atomic(path, text.as_bytes())?;
        self.dirty = false;
        Ok(())
    }
}

/// The cache's file in its directory.
const FILE: &str = "check-results.json";

/// The most read of the cache's file (a key is ~140 bytes: some 450,000
/// passes).
const FILE_LIMIT: u64 = 64 << 20;

/// The cache directory as [`ResultCache::default_dir`] finds it, the
/// environment read through `var`. Unset or empty variables, and a
/// relative `XDG_CACHE_HOME` or `HOME` (the XDG specification ignores a
/// relative one), do not count.
fn cache_dir(var: impl Fn(&str) -> Option<OsString>) -> Result<PathBuf, Error> {
    let set = |name| var(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(dir) = set("BASE_IMAGES_CACHE_DIR") {
        return Ok(dir);
    }
    let absolute = |name| set(name).filter(|p| p.is_absolute());
    let base = absolute("XDG_CACHE_HOME")
        .or_else(|| absolute("HOME").map(|home| home.join(".cache")))
        .ok_or(Error::NoCacheDir)?;
    Ok(base.join("base-images"))
}

/// The passes the cache file at `path` holds (none when it does not
/// exist); why it does not verify otherwise.
fn load(path: &Path) -> Result<BTreeSet<String>, String> {
    match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeSet::new()),
        Err(e) => return Err(e.to_string()),
        Ok(meta) if !meta.is_file() => return Err("not a regular file".to_owned()),
        Ok(_) => {}
    }
    let bytes = fsio::read_at_most(path, FILE_LIMIT).map_err(|e| e.to_string())?;
    let passed: BTreeSet<String> = serde_json::from_slice(&bytes).map_err(|e| format!("not a list of keys: {e}"))?;
    match passed.iter().find(|k| !well_formed(k)) {
        Some(bad) => Err(format!("`{bad}` is not a cache key (IMAGE-ID sha256:HEX)")),
        None => Ok(passed),
    }
}

/// Whether `k` has the shape of a [`key`]: an image id, a space, a sha256 digest.
fn well_formed(k: &str) -> bool {
    let Some((image, digest)) = k.split_once(' ') else {
        return false;
    };
    let hex = digest.strip_prefix("sha256:").unwrap_or_default();
    !image.is_empty()
        && !image.contains(char::is_whitespace)
        && hex.len() == 64
        && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// The running executable's identity, for keys of custom checks.
static EXECUTABLE: LazyLock<Option<String>> = LazyLock::new(|| {
    let path = std::env::current_exe().ok()?;
    let meta = std::fs::metadata(&path).ok()?;
    let modified = meta.modified().ok()?.duration_since(std::time::UNIX_EPOCH).ok()?;
    Some(format!("{} {} {}", path.display(), meta.len(), modified.as_nanos()))
});

/// The digest of `check` as data (its code, for a custom check, is the
/// running tool's: a cache shared between runners keys it by the tool's
/// identity instead).
pub fn check_digest(check: &Check) -> Option<String> {
    Some(crate::sha256::digest_of(&serde_json::to_vec(check).ok()?))
}

/// The cache key of a check on an image; `None` when it cannot be cached.
fn key(image_id: &str, check: &Check) -> Option<String> {
    let mut encoded = serde_json::to_vec(check).ok()?;
    if matches!(check.kind, CheckKind::Custom { .. }) {
        encoded.extend_from_slice(EXECUTABLE.as_ref()?.as_bytes());
    }
    Some(format!("{image_id} {}", crate::sha256::digest_of(&encoded)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::builder::Checks;

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

    #[test]
    fn a_cache_file_that_does_not_verify_is_discarded_and_rebuilt() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let cache_dir = dir.path().join("cache");
        let checks = Checks::new().command_succeeds("a", ["true"]).finish().unwrap();
        let file = cache_dir.join(FILE);
        for broken in [
            "{not json".to_owned(),
            r#"["sha256:img planted"]"#.to_owned(),
            format!(r#"["sha256:img sha256:{}", 7]"#, "a".repeat(64)),
        ] {
            std::fs::create_dir_all(&cache_dir).unwrap();
            std::fs::write(&file, broken).unwrap();
            let mut cache = ResultCache::open(&cache_dir);
            assert!(!file.exists(), "discarded");
            assert!(!cache.passed("sha256:img", &checks[0]));
            cache.record_pass("sha256:img", &checks[0]);
            cache.save().unwrap();
            assert!(
                ResultCache::open(&cache_dir).passed("sha256:img", &checks[0]),
                "rebuilt"
            );
            std::fs::remove_dir_all(&cache_dir).unwrap();
        }
        // A new cache directory is the user's alone.
        let mut cache = ResultCache::open(&cache_dir);
        cache.record_pass("sha256:img", &checks[0]);
        cache.save().unwrap();
        let mode = std::fs::metadata(&cache_dir).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
    }

    #[test]
    fn the_cache_directory_is_the_users_never_a_shared_one() {
        let env = |vars: &'static [(&'static str, &'static str)]| {
            cache_dir(move |name| vars.iter().find(|(n, _)| *n == name).map(|(_, v)| OsString::from(v)))
                .map_err(|e| e.to_string())
        };
        assert_eq!(
            env(&[("BASE_IMAGES_CACHE_DIR", "/c"), ("HOME", "/h")]),
            Ok(PathBuf::from("/c"))
        );
        assert_eq!(
            env(&[("XDG_CACHE_HOME", "/x"), ("HOME", "/h")]),
            Ok(PathBuf::from("/x/base-images"))
        );
        assert_eq!(
            env(&[("XDG_CACHE_HOME", "relative"), ("HOME", "/h")]),
            Ok(PathBuf::from("/h/.cache/base-images"))
        );
        let message = Error::NoCacheDir.to_string();
        assert!(message.contains("none of BASE_IMAGES_CACHE_DIR, XDG_CACHE_HOME or HOME is set"));
        let refused = Err(message);
        assert_eq!(env(&[]), refused);
        assert_eq!(env(&[("BASE_IMAGES_CACHE_DIR", ""), ("HOME", "")]), refused);
        assert_eq!(env(&[("HOME", "relative")]), refused);
    }
}
