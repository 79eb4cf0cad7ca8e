//! Whether the roots a version pins have moved: the tag each root was
//! pinned from (the address before `@`) is resolved in the root's registry
//! with every manifest media type and compared with the pinned digest: an
//! index pin with the index, a per-platform manifest pin with that
//! platform's manifest in the current index. A registry that cannot be
//! asked is named for its root and does not hide the others.

use oci_spec::image::ImageIndex;

use crate::publish::oci::index_platforms;
use crate::publish::oci::MANIFEST_MEDIA_TYPES;
use crate::publish::{auth, PublishError};
use crate::{BaseImage, Error, ImageAddress};

/// Where a pinned root stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum State {
    /// The tag still points at the pinned digest.
    Current,
    /// The tag points at other content now.
    Moved {
        /// The digest to pin now (the index, or the platform's manifest).
        now: String,
    },
    /// The tag no longer exists.
    TagGone,
    /// The root is not pinned by digest (a local root): nothing to compare.
    NotPinned,
    /// The root is pinned by digest alone: no tag to compare with.
    Untagged,
    /// The registry could not be asked.
    Unresolved(String),
}

impl State {
    /// `current`, `moved (pinned sha256:…, now sha256:…)`, `tag gone` …
    pub fn describe(&self, pinned: Option<&str>) -> String {
        match self {
            State::Current => "current".into(),
            State::Moved { now } => format!("moved (pinned {}, now {now})", pinned.unwrap_or("?")),
            State::TagGone => "tag gone".into(),
            State::NotPinned => "not pinned (a local root: nothing to compare)".into(),
            State::Untagged => "pinned by digest alone (no tag to compare with)".into(),
            State::Unresolved(why) => format!("unresolved: {why}"),
        }
    }
}

/// One root of a version, and where it stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RootCheck {
    /// The platform the root is pinned for (`None`: one root for all).
    pub platform: Option<String>,
    /// The address as the recipe writes it.
    pub address: String,
    /// The address without its digest (the tag that is resolved).
    pub tag_address: String,
    /// The pinned digest, if any.
    pub pinned: Option<String>,
    /// Where it stands.
    pub state: State,
}

impl RootCheck {
    /// The address to pin now: the tag at its new digest, when moved.
    pub fn refreshed_address(&self) -> Option<String> {
        match &self.state {
            State::Moved { now } => Some(format!("{}@{now}", self.tag_address)),
            _ => None,
        }
    }
}

/// Where each root of `image` stands.
pub async fn check(image: &BaseImage) -> Result<Vec<RootCheck>, Error> {
    let recipe = image.recipe()?;
    let mut checks = Vec::new();
    for (platform, address) in recipe.root_addresses() {
        checks.push(check_root(platform, address).await?);
    }
    Ok(checks)
}

/// Where one root address stands.
async fn check_root(platform: Option<&str>, address: &str) -> Result<RootCheck, Error> {
    let parsed = ImageAddress::parse(address)?;
    let mut check = RootCheck {
        platform: platform.map(str::to_owned),
        address: address.to_owned(),
        tag_address: parsed.without_digest(),
        pinned: parsed.digest().map(str::to_owned),
        state: State::NotPinned,
    };
    let Some(pinned) = parsed.digest() else {
        return Ok(check);
    };
    let (registry, path) = parsed.registry_and_path();
    let registry = registry.unwrap_or("docker.io");
    let repository = match registry {
        "docker.io" if !path.contains('/') => format!("library/{path}"),
        _ => path.to_owned(),
    };
    let Some(tag) = parsed.tag() else {
        check.state = State::Untagged;
        return Ok(check);
    };
    check.state = match resolve(registry, &repository, tag).await {
        Ok(Some((bytes, digest))) => compare(pinned, platform, &bytes, digest),
        Ok(None) => State::TagGone,
        Err(e) => State::Unresolved(e.to_string()),
    };
    Ok(check)
}

/// The manifest `repository:tag` holds now, asking for every media type.
async fn resolve(registry: &str, repository: &str, tag: &str) -> Result<Option<(Vec<u8>, String)>, PublishError> {
    let remote = auth::remote(registry)?;
    remote.manifest(repository, tag, &MANIFEST_MEDIA_TYPES).await
}

/// Where the pin `pinned` stands against the tag's manifest `bytes` (of
/// digest `digest`): current if it is that digest, or (for a root pinned
/// for one platform, or a manifest pinned as the one root) that
/// platform's manifest in the index the tag holds.
pub fn compare(pinned: &str, platform: Option<&str>, bytes: &[u8], digest: String) -> State {
    if pinned == digest {
        return State::Current;
    }
    let listed = serde_json::from_slice::<ImageIndex>(bytes)
        .map(|index| index_platforms(&index))
        .unwrap_or_default();
    if listed
        .iter()
        .any(|(p, d)| d == pinned && platform.is_none_or(|platform| p == platform))
    {
        return State::Current;
    }
    match platform {
        Some(platform) => match listed.into_iter().find(|(p, _)| p == platform) {
            Some((_, manifest)) => State::Moved { now: manifest },
            None if serde_json::from_slice::<ImageIndex>(bytes).is_ok() => {
                State::Unresolved(format!("the tag's index ({digest}) has no {platform} manifest"))
            }
            None => State::Moved { now: digest },
        },
        None => State::Moved { now: digest },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index(manifests: &[(&str, &str)]) -> Vec<u8> {
        let manifests: Vec<serde_json::Value> = manifests
            .iter()
            .map(|(platform, digest)| {
                let (os, arch) = platform.split_once('/').unwrap_or_default();
                serde_json::json!({"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": digest,
                    "size": 1, "platform": {"os": os, "architecture": arch}})
            })
            .collect();
        serde_json::to_vec(&serde_json::json!({"schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": manifests}))
        .unwrap_or_default()
    }

    fn digest(c: char) -> String {
        format!("sha256:{}", c.to_string().repeat(64))
    }

    #[test]
    fn an_index_pin_is_compared_with_the_index() {
        let now = index(&[("linux/amd64", &digest('a')), ("linux/arm64", &digest('b'))]);
        assert_eq!(compare(&digest('i'), None, &now, digest('i')), State::Current);
        assert_eq!(
            compare(&digest('o'), None, &now, digest('j')),
            State::Moved { now: digest('j') }
        );
    }

    #[test]
    fn a_platform_pin_is_compared_with_that_platforms_manifest() {
        let now = index(&[("linux/amd64", &digest('a')), ("linux/arm64", &digest('b'))]);
        assert_eq!(
            compare(&digest('b'), Some("linux/arm64"), &now, digest('i')),
            State::Current
        );
        assert_eq!(
            compare(&digest('o'), Some("linux/arm64"), &now, digest('i')),
            State::Moved { now: digest('b') }
        );
        assert!(matches!(
            compare(&digest('o'), Some("linux/s390x"), &now, digest('i')),
            State::Unresolved(why) if why.contains("no linux/s390x manifest")
        ));
        let single = br#"{"schemaVersion": 2, "config": {}, "layers": []}"#;
        assert_eq!(
            compare(&digest('o'), Some("linux/amd64"), single, digest('m')),
            State::Moved { now: digest('m') }
        );
    }

    #[test]
    fn a_manifest_pinned_as_the_one_root_is_current_while_the_index_lists_it() {
        let now = index(&[("linux/amd64", &digest('a'))]);
        assert_eq!(compare(&digest('a'), None, &now, digest('i')), State::Current);
    }

    #[test]
    fn states_describe_themselves() {
        let moved = State::Moved { now: digest('b') };
        assert_eq!(
            moved.describe(Some(&digest('a'))),
            format!("moved (pinned {}, now {})", digest('a'), digest('b'))
        );
        assert_eq!(State::TagGone.describe(None), "tag gone");
    }

    #[tokio::test]
    async fn a_root_pinned_by_digest_alone_or_not_at_all_is_not_resolved() -> Result<(), Error> {
        let untagged = check_root(None, &format!("127.0.0.1:1/root@{}", digest('a'))).await?;
        assert_eq!(untagged.state, State::Untagged);
        let local = check_root(Some("linux/amd64"), "base-images-e2e/bookworm-python:2").await?;
        assert_eq!(local.state, State::NotPinned);
        assert_eq!(local.refreshed_address(), None);
        Ok(())
    }
}
