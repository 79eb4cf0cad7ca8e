//! The annotations a publish writes on the image index and on each
//! platform's manifest: the version, its `created` time, title and
//! changelog, the workspace's revision and (credential-free) source, and
//! the root image it is built on.

use std::collections::BTreeMap;

use crate::BaseImage;

/// The annotation values a publish writes that do not come from the
/// version's declaration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Provenance {
    /// `org.opencontainers.image.created` and the configs' `created` (RFC 3339).
    pub created: String,
    /// `org.opencontainers.image.revision`: the workspace's git commit.
    pub revision: Option<String>,
    /// `org.opencontainers.image.source`: the workspace's git remote.
    pub source: Option<String>,
}

/// `url` without the user name or token a git remote URL may carry
/// (`https://user:token@host/repo` is `https://host/repo`): the source
/// annotation is public.
pub fn public_source(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let (authority, path) = rest.split_once('/').map_or((rest, ""), |(a, p)| (a, p));
            let host = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
            if path.is_empty() && !rest.contains('/') {
                format!("{scheme}://{host}")
            } else {
                format!("{scheme}://{host}/{path}")
            }
        }
        None => url.to_owned(),
    }
}

/// The annotations of `image`'s index (`platform` `None`) or of one
/// platform's manifest; `local_roots` are the root image ids the lock
/// records for roots that are local images.
pub fn annotations(
    image: &BaseImage,
    provenance: &Provenance,
    platform: Option<&str>,
    local_roots: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, crate::Error> {
    const PREFIX: &str = "org.opencontainers.image.";
    let recipe = image.recipe()?;
    let mut notes = BTreeMap::new();
    let mut note = |key: &str, value: &str| {
        notes.insert(format!("{PREFIX}{key}"), value.to_owned());
    };
    note("version", &image.key().version().to_string());
    note("created", &provenance.created);
    note("title", image.family());
    note("description", image.changelog());
    if let Some(revision) = &provenance.revision {
        note("revision", revision);
    }
    if let Some(source) = &provenance.source {
        note("source", source);
    }
    if let Some((name, digest)) = recipe.base_of(platform, local_roots)? {
        note("base.name", &name);
        if let Some(digest) = digest {
            note("base.digest", &digest);
        }
    }
    Ok(notes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn provenance() -> Provenance {
        Provenance {
            created: "2023-11-01T00:00:00Z".into(),
            revision: Some("abc123".into()),
            source: None,
        }
    }

    #[test]
    fn a_source_url_never_carries_credentials() {
        assert_eq!(
            public_source("https://ci:ghp_s3cret@github.example/org/repo.git"),
            "https://github.example/org/repo.git"
        );
        assert_eq!(
            public_source("https://github.example/org/repo"),
            "https://github.example/org/repo"
        );
        assert_eq!(public_source("https://user@host.example"), "https://host.example");
        assert_eq!(
            public_source("git@github.example:org/repo.git"),
            "git@github.example:org/repo.git"
        );
        assert_eq!(public_source("/srv/git/repo"), "/srv/git/repo");
    }

    #[test]
    fn annotations_name_the_version_its_root_and_its_provenance() -> Result<(), crate::Error> {
        let image = crate::get("airbyte-python-connector-base:1.0.0")?;
        let index = annotations(image, &provenance(), None, &BTreeMap::new())?;
        let at = |key: &str| index.get(&format!("org.opencontainers.image.{key}")).cloned();
        assert_eq!(at("version").as_deref(), Some("1.0.0"));
        assert_eq!(at("created").as_deref(), Some("2023-11-01T00:00:00Z"));
        assert_eq!(at("revision").as_deref(), Some("abc123"));
        assert_eq!(at("source"), None, "no remote, no source");
        assert_eq!(at("title").as_deref(), Some("airbyte-python-connector-base"));
        assert_eq!(
            at("description").as_deref(),
            Some("Use the slim Python 3.9.18 image and add Poetry 1.6.1.")
        );
        assert_eq!(
            at("base.name").as_deref(),
            Some("docker.io/library/python:3.9.18-slim-bookworm")
        );
        assert_eq!(
            at("base.digest").as_deref(),
            Some("sha256:44b7f161ed03f85e96d423b9916cdc8cb0509fb970fd643bdbc9896d49e1cad0"),
            "the pinned index digest"
        );
        let manifest = annotations(image, &provenance(), Some("linux/arm64"), &BTreeMap::new())?;
        assert_eq!(
            manifest, index,
            "one root for all platforms: the same on every manifest"
        );
        Ok(())
    }

    #[test]
    fn a_root_per_platform_is_named_on_each_manifest_only() -> Result<(), crate::Error> {
        let image = crate::get("airbyte-python-connector-base:0.1.0")?;
        let index = annotations(image, &provenance(), None, &BTreeMap::new())?;
        assert!(!index.contains_key("org.opencontainers.image.base.name"), "{index:?}");
        let arm = annotations(image, &provenance(), Some("linux/arm64"), &BTreeMap::new())?;
        let name = arm
            .get("org.opencontainers.image.base.name")
            .cloned()
            .unwrap_or_default();
        assert!(name.starts_with("docker.io/library/python:3.9.18-bookworm"), "{name}");
        assert!(!name.contains('@'), "the digest goes to base.digest: {name}");
        assert!(arm.contains_key("org.opencontainers.image.base.digest"), "{arm:?}");
        Ok(())
    }
}
