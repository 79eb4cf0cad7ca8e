//! The workspace file, `base-images.toml` beside `versions.lock`: the
//! settings a team's CI shares instead of repeating them on every command
//! line. Its `[builders.NAME]` tables give platforms their own engine:
//!
//! ```toml
//! [builders.arm]
//! endpoint = "tcp://10.0.0.7:2376"   # unix://, tcp:// or https://
//! cert_path = "/etc/ci/arm-node"     # optional: ca.pem, cert.pem, key.pem (TLS)
//! platforms = ["linux/arm64"]
//! ```
//!
//! Its `[cache]` table names the registry repository a fleet shares its
//! steps and check results through:
//!
//! ```toml
//! [cache]
//! repository = "registry.example:5000/ci/base-images-cache"
//! ```
//!
//! No file means no settings. The file is read bounded, every key is
//! known, and a platform is routed to one builder at most.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use base_images::platform::Platform;
use serde::Deserialize;

use crate::Error;

/// The file's name, in the workspace directory.
pub(crate) const FILE_NAME: &str = "base-images.toml";

/// The most the file may hold.
const MAX_BYTES: u64 = 1 << 20;

/// What the workspace file says.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Settings {
    /// The builders, by name.
    #[serde(default)]
    pub(crate) builders: BTreeMap<String, BuilderEntry>,
    /// The shared cache.
    pub(crate) cache: Option<CacheEntry>,
}

/// The `[cache]` table.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CacheEntry {
    /// `host[:port]/path`.
    pub(crate) repository: String,
}

/// One `[builders.NAME]` table.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct BuilderEntry {
    /// Where its Docker API answers.
    pub(crate) endpoint: String,
    /// The directory of its TLS material (as `DOCKER_CERT_PATH`), relative
    /// to the workspace unless absolute.
    pub(crate) cert_path: Option<PathBuf>,
    /// The platforms it builds.
    pub(crate) platforms: Vec<Platform>,
}

impl Settings {
    /// Reads the workspace file in `root`; no file means no settings.
    pub(crate) fn read(root: &Path) -> Result<Settings, Error> {
        let path = root.join(FILE_NAME);
        if !path.exists() {
            return Ok(Settings::default());
        }
        let bytes = base_images::fsio::read_at_most(&path, MAX_BYTES)?;
        let bad = |message: String| Error::Usage(format!("{}: {message}", path.display()));
        let text = String::from_utf8(bytes).map_err(|_| bad("not UTF-8 text".into()))?;
        let mut settings: Settings = toml::from_str(&text).map_err(|e| bad(e.to_string()))?;
        settings.check().map_err(bad)?;
        for entry in settings.builders.values_mut() {
            entry.cert_path = entry.cert_path.take().map(|p| root.join(p));
        }
        Ok(settings)
    }

    /// Refuses a builder without platforms or with an endpoint no engine
    /// answers at, and a platform routed twice.
    fn check(&self) -> Result<(), String> {
        if let Some(cache) = &self.cache {
            cache_repository(&cache.repository).map_err(|e| format!("cache: {e}"))?;
        }
        let mut routed: BTreeMap<String, &str> = BTreeMap::new();
        for (name, entry) in &self.builders {
            check_endpoint(&entry.endpoint).map_err(|e| format!("builders.{name}: {e}"))?;
            if entry.platforms.is_empty() {
                return Err(format!(
                    "builders.{name}: name the platforms it builds (platforms = [\"linux/arm64\"])"
                ));
            }
            for platform in &entry.platforms {
                if let Some(other) = routed.insert(platform.to_string(), name) {
                    return Err(format!("{platform} is routed to two builders, {other} and {name}"));
                }
            }
        }
        Ok(())
    }
}

/// The registry (`host[:port]`) and the repository path of a cache
/// repository written `host[:port]/path` (no tag, no digest).
pub(crate) fn cache_repository(text: &str) -> Result<(String, String), String> {
    let refused =
        || format!("repository {text}: write REGISTRY/REPOSITORY, like 127.0.0.1:5000/ci/cache (no tag, no digest)");
    let address = base_images::ImageAddress::parse(text).map_err(|_| refused())?;
    match address.registry_and_path() {
        (Some(registry), path) if address.name() == text => Ok((registry.to_owned(), path.to_owned())),
        _ => Err(refused()),
    }
}

/// Refuses an endpoint that is not `unix://PATH`, `tcp://HOST:PORT`,
/// `http://HOST:PORT` or `https://HOST:PORT`.
pub(crate) fn check_endpoint(endpoint: &str) -> Result<(), String> {
    let rest = ["unix://", "tcp://", "http://", "https://"]
        .iter()
        .find_map(|scheme| endpoint.strip_prefix(scheme));
    match rest {
        Some(rest) if !rest.is_empty() => Ok(()),
        _ => Err(format!(
            "endpoint {endpoint}: write unix://PATH, tcp://HOST:PORT or https://HOST:PORT"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Result<Settings, Error> {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(dir.path().join(FILE_NAME), text).unwrap_or_else(|e| panic!("{e}"));
        Settings::read(dir.path())
    }

    fn refusal(text: &str) -> String {
        read(text).err().map(|e| e.to_string()).unwrap_or_default()
    }

    #[test]
    fn builders_are_read_with_their_certificates_under_the_workspace() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let text = "[builders.arm]\nendpoint = \"tcp://127.0.0.1:2376\"\ncert_path = \"certs\"\nplatforms = [\"linux/aarch64\"]\n";
        std::fs::write(dir.path().join(FILE_NAME), text).unwrap_or_else(|e| panic!("{e}"));
        let settings = Settings::read(dir.path()).unwrap_or_else(|e| panic!("{e}"));
        let arm = &settings.builders["arm"];
        assert_eq!(arm.platforms[0].to_string(), "linux/arm64");
        assert_eq!(arm.cert_path.as_deref(), Some(dir.path().join("certs").as_path()));
        let none = Settings::read(&dir.path().join("absent")).unwrap_or_else(|e| panic!("{e}"));
        assert!(none.builders.is_empty(), "no file, no settings");
    }

    #[test]
    fn a_bad_builder_table_is_refused_naming_what_is_wrong() {
        let two = "[builders.a]\nendpoint = \"unix:///a.sock\"\nplatforms = [\"linux/arm64\"]\n\
                   [builders.b]\nendpoint = \"unix:///b.sock\"\nplatforms = [\"linux/arm64\"]\n";
        assert!(
            refusal(two).contains("linux/arm64 is routed to two builders, a and b"),
            "{}",
            refusal(two)
        );
        let scheme = "[builders.a]\nendpoint = \"ssh://node\"\nplatforms = [\"linux/arm64\"]\n";
        assert!(refusal(scheme).contains("builders.a: endpoint ssh://node: write unix://PATH"));
        let empty = "[builders.a]\nendpoint = \"unix:///a.sock\"\nplatforms = []\n";
        assert!(refusal(empty).contains("builders.a: name the platforms"));
        let cache = "[cache]\nrepository = \"ci/cache:latest\"\n";
        assert!(
            refusal(cache).contains("cache: repository ci/cache:latest: write REGISTRY/REPOSITORY"),
            "{}",
            refusal(cache)
        );
        let unknown = "[builders.a]\nendpoint = \"unix:///a.sock\"\nplatforms = [\"linux/arm64\"]\ntls = true\n";
        assert!(refusal(unknown).contains("unknown field `tls`"), "{}", refusal(unknown));
        assert!(refusal("[builders.a]\nendpoint = \"unix:///a\"\nplatforms = [\"linux\"]\n").contains(FILE_NAME));
    }
}
