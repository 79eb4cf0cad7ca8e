//! The root of a [`Recipe`]: the address a platform's build starts from,
//! every address with the platform it is pinned for, the root as one name
//! for metadata, and the same steps rebased on other roots.

use std::collections::BTreeMap;

use super::model::Recipe;
use crate::address::ImageAddress;
use crate::step::Root;
use crate::Error;

impl Recipe {
    /// The root image as its address without a digest and its digest (the
    /// pinned one, else the local image id `local_roots` records per
    /// platform): the one address for all platforms (`platform` `None`), or
    /// `platform`'s; `None` when there is no such one root.
    pub fn base_of(
        &self,
        platform: Option<&str>,
        local_roots: &BTreeMap<String, String>,
    ) -> Result<Option<(String, Option<String>)>, Error> {
        let root = match platform {
            Some(p) => self.root_for(p).map(|a| (a, local_roots.get(p))),
            None => match self.root_addresses().as_slice() {
                [(None, address)] => Some((*address, local_roots.values().next())),
                _ => None,
            },
        };
        let Some((address, local_id)) = root else {
            return Ok(None);
        };
        let parsed = ImageAddress::parse(address)?;
        let digest = parsed.digest().or(local_id.map(String::as_str)).map(str::to_owned);
        Ok(Some((parsed.without_digest(), digest)))
    }

    /// Keeps every step but starts from another root address.
    pub fn with_root(mut self, address: impl Into<String>) -> Self {
        self.root = Root::Address(address.into());
        self
    }

    /// Keeps every step but starts each platform from another root address
    /// (a family pinned per platform, rebased on moved roots).
    pub fn with_platform_roots<I, P, A>(mut self, roots: I) -> Self
    where
        I: IntoIterator<Item = (P, A)>,
        P: Into<String>,
        A: Into<String>,
    {
        self.root = Root::PerPlatform(roots.into_iter().map(|(p, a)| (p.into(), a.into())).collect());
        self
    }

    /// The root address to use for `platform`, if the recipe has one.
    pub fn root_for(&self, platform: &str) -> Option<&str> {
        match &self.root {
            Root::Address(a) => Some(a),
            Root::PerPlatform(map) => map.get(platform).map(String::as_str),
        }
    }

    /// The root address a build for `platform` starts from (`None`: the
    /// engine's own platform, for a root that is one address for all); an
    /// error naming the platforms the recipe pins when it has none.
    pub fn root_address(&self, platform: Option<&str>) -> Result<&str, Error> {
        let found = match platform {
            Some(platform) => self.root_for(platform),
            None => match self.root_addresses().as_slice() {
                [(None, address)] => Some(*address),
                _ => None,
            },
        };
        found.ok_or_else(|| Error::InvalidRoot {
            reason: format!(
                "has no address for {}; name a platform it pins ({})",
                platform.map_or_else(|| "the engine's platform".to_owned(), |p| format!("platform `{p}`")),
                self.root_addresses()
                    .iter()
                    .filter_map(|(p, _)| *p)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        })
    }

    /// The same recipe with every root address equal to a `from` replaced by
    /// its `to` (a local smoke test of a version's steps on another root).
    pub fn with_root_overrides(mut self, overrides: &[(String, String)]) -> Recipe {
        let swap = |address: &mut String| {
            if let Some((_, to)) = overrides.iter().find(|(from, _)| from == address) {
                *address = to.clone();
            }
        };
        match &mut self.root {
            Root::Address(address) => swap(address),
            Root::PerPlatform(map) => map.values_mut().for_each(swap),
        }
        self
    }

    /// The root as one name for metadata: its address, or for a root
    /// pinned per platform the `name:tag` its addresses share (all of them,
    /// comma-separated, when they differ).
    pub fn base_image_name(&self) -> String {
        match &self.root {
            Root::Address(a) => a.clone(),
            Root::PerPlatform(map) => {
                let names: std::collections::BTreeSet<&str> =
                    map.values().map(|a| a.split('@').next().unwrap_or(a)).collect();
                names.into_iter().collect::<Vec<_>>().join(", ")
            }
        }
    }

    /// Every root address, with the platform it is pinned for (if any).
    pub fn root_addresses(&self) -> Vec<(Option<&str>, &str)> {
        match &self.root {
            Root::Address(a) => vec![(None, a.as_str())],
            Root::PerPlatform(map) => map.iter().map(|(p, a)| (Some(p.as_str()), a.as_str())).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn with_root_keeps_steps() {
        let r = Recipe::from("a:1").with_exec(["true"]).with_root("a:2");
        assert_eq!(r.root, Root::Address("a:2".into()));
        assert_eq!(r.steps.len(), 1);
    }

    #[test]
    fn per_platform_roots() {
        let r = Recipe::from_platforms([("linux/amd64", "a:1"), ("linux/arm64", "b:1")]);
        assert_eq!(r.root_for("linux/arm64"), Some("b:1"));
        assert_eq!(r.root_for("linux/s390x"), None);
        assert!(r.validate().is_ok());
    }
}
