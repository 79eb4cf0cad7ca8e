//! The identity of one declared version: its family and semantic version,
//! written `family:version`. The registry, the lock and the reports hold
//! it typed, so nothing re-parses text; what a user types (`family`,
//! `family:latest`, a key) is a selector, parsed apart by `registry::get`
//! and the build tool, as cargo keeps `PackageId` apart from
//! `PackageIdSpec`. Keys order by family, then semver precedence.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// `family:version`, e.g. `airbyte-python-connector-base:1.2.2-rc.1`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ImageKey {
    family: String,
    version: semver::Version,
}

impl ImageKey {
    /// The key of `version` in `family`.
    pub fn new(family: impl Into<String>, version: semver::Version) -> Self {
        ImageKey {
            family: family.into(),
            version,
        }
    }

    /// The family name.
    pub fn family(&self) -> &str {
        &self.family
    }

    /// The version.
    pub fn version(&self) -> &semver::Version {
        &self.version
    }
}

impl fmt::Display for ImageKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.family, self.version)
    }
}

/// Text that is not an image key.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("`{key}` is not an image key: write family:version, for example airbyte-python-connector-base:1.0.0")]
pub struct InvalidKey {
    /// The key as given.
    pub key: String,
}

impl FromStr for ImageKey {
    type Err = InvalidKey;

    /// Parses `family:version` (a full semantic version).
    fn from_str(text: &str) -> Result<Self, InvalidKey> {
        let bad = || InvalidKey { key: text.to_owned() };
        let (family, version) = text
            .rsplit_once(':')
            .filter(|(f, v)| !f.is_empty() && !v.is_empty())
            .ok_or_else(bad)?;
        let version = semver::Version::parse(version).map_err(|_| bad())?;
        Ok(ImageKey::new(family, version))
    }
}

impl TryFrom<String> for ImageKey {
    type Error = InvalidKey;

    fn try_from(text: String) -> Result<Self, InvalidKey> {
        text.parse()
    }
}

impl From<ImageKey> for String {
    fn from(key: ImageKey) -> String {
        key.to_string()
    }
}

impl PartialEq<str> for ImageKey {
    fn eq(&self, other: &str) -> bool {
        other.parse::<ImageKey>().is_ok_and(|k| k == *self)
    }
}

impl PartialEq<&str> for ImageKey {
    fn eq(&self, other: &&str) -> bool {
        self == *other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_prints_and_orders_by_semver() -> Result<(), InvalidKey> {
        let key: ImageKey = "airbyte-python-connector-base:1.2.2-rc.1".parse()?;
        assert_eq!(key.family(), "airbyte-python-connector-base");
        assert_eq!(key.to_string(), "airbyte-python-connector-base:1.2.2-rc.1");
        let mut keys: Vec<ImageKey> = ["b:1.10.0", "b:1.9.0", "a:2.0.0", "b:1.10.0-rc.1"]
            .iter()
            .map(|k| k.parse())
            .collect::<Result<_, _>>()?;
        keys.sort();
        let sorted: Vec<String> = keys.iter().map(ToString::to_string).collect();
        assert_eq!(sorted, ["a:2.0.0", "b:1.9.0", "b:1.10.0-rc.1", "b:1.10.0"]);
        for bad in ["nocolon", ":1.0.0", "a:", "a:latest", "a:1.0"] {
            let err = bad.parse::<ImageKey>().err().map(|e| e.to_string()).unwrap_or_default();
            assert!(err.contains("is not an image key"), "{bad}: {err}");
        }
        Ok(())
    }
}
