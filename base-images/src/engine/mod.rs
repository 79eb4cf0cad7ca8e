//! Engines turn a Recipe into an image and run checks in it. `Engine` is
//! the interface; `docker` is the engine used here (any Docker-API daemon,
//! through `bollard`), `dagger` the one of a Dagger session; `pipeline`
//! builds versions and runs their resolved checks the same way for every
//! caller (the build tool, the demo, the end-to-end tests); `builders` says
//! which engine each platform is built on.

pub mod builders;
#[cfg(feature = "dagger")]
pub mod dagger;
pub mod docker;
pub mod pipeline;

use std::future::Future;

use crate::checks::CheckTarget;
use crate::media_type::INDEX_MEDIA_TYPES;
use crate::{Error, Recipe};

/// What to build: a recipe for one platform, with the version that declared
/// each step (for error messages).
#[derive(Clone, Copy, Debug)]
pub struct BuildRequest<'a> {
    /// The recipe.
    pub recipe: &'a Recipe,
    /// The platform, e.g. `linux/amd64`.
    pub platform: &'a str,
    /// For each step, the `family:version` that declared it.
    pub declared_by: &'a [String],
    /// The recipe's fetched content, verified (`fetch::fetch_inputs`).
    pub inputs: &'a crate::fetch::Inputs,
}

/// A built image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuiltImage {
    /// The engine's image id (`sha256:…`).
    pub id: String,
    /// Steps executed by this build.
    pub steps_built: usize,
    /// Steps served from the step cache.
    pub steps_cached: usize,
}

/// What an engine knows of a root image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RootIdentity {
    /// The image id.
    pub image_id: String,
    /// The address pinned by the digest the image's registry serves it
    /// under (`repo:tag@sha256:…`), when it came from a registry.
    pub pinned: Option<String>,
}

/// What a registry serves under an address, as the engine reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Distribution {
    /// The descriptor's media type (an index lists several platforms).
    pub media_type: String,
    /// The platforms it holds, `os/arch[/variant]`.
    pub platforms: Vec<String>,
}

impl Distribution {
    /// Whether it is a multi-platform index (manifest list): its media type,
    /// without parameters (`; charset=…`), is one of the index types.
    pub fn is_index(&self) -> bool {
        let essence = self.media_type.split(';').next().unwrap_or_default().trim();
        INDEX_MEDIA_TYPES.contains(&essence)
    }
}

/// The problem with pinning `address` (what a registry serves as
/// `served`) for a family that builds for `platforms`, if any: a pin must
/// be a multi-platform index holding every platform, not one platform's
/// manifest (the mistake of airbyte-python-connector-base 1.2.1).
pub fn pin_problem(address: &str, served: &Distribution, platforms: &[&str]) -> Option<String> {
    let missing: Vec<&str> = platforms
        .iter()
        .copied()
        .filter(|p| !served.platforms.iter().any(|s| s == p))
        .collect();
    if missing.is_empty() && (served.is_index() || platforms.len() < 2) {
        return None;
    }
    let what = if served.is_index() {
        "a multi-platform index"
    } else {
        "a single-platform manifest"
    };
    let holds = if served.platforms.is_empty() {
        String::new()
    } else {
        format!(" ({})", served.platforms.join(", "))
    };
    Some(format!(
        "its root {address} is {what}{holds}, but the family builds for {}: it pins one platform's manifest instead of \
         the multi-platform index (the mistake of airbyte-python-connector-base 1.2.1); pin the index digest",
        platforms.join(", ")
    ))
}

/// A container engine.
pub trait Engine: Send + Sync {
    /// A running container checks are run in.
    type Target: CheckTarget + 'static;

    /// The engine and where it answers, for the tools' output.
    fn describe(&self) -> String;

    /// The engine and where it answers, in a few words
    /// (`docker at unix:///…`): what a report names as having built an
    /// image.
    fn name(&self) -> String;

    /// Builds a recipe, reusing cached steps.
    fn build(&self, request: BuildRequest<'_>) -> impl Future<Output = Result<BuiltImage, Error>> + Send;

    /// What the registry serves under `address`, read through the engine
    /// (an error when the registry cannot be reached).
    fn distribution(&self, address: &str) -> impl Future<Output = Result<Distribution, Error>> + Send;

    /// The identity of a root image (pulled when missing).
    fn root_identity(&self, address: &str, platform: &str) -> impl Future<Output = Result<RootIdentity, Error>> + Send;

    /// Starts a long-lived container of `image` to run checks in, with or
    /// without network access.
    fn start(&self, image: &BuiltImage, network: bool) -> impl Future<Output = Result<Self::Target, Error>> + Send;

    /// Stops and removes a container started by `start`.
    fn stop(&self, target: Self::Target) -> impl Future<Output = ()> + Send;

    /// Removes every container this engine value started and still holds
    /// (after an interruption).
    fn cleanup(&self) -> impl Future<Output = ()> + Send;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media_type::{DOCKER_LIST, DOCKER_MANIFEST, OCI_INDEX};

    fn served(media_type: &str, platforms: &[&str]) -> Distribution {
        Distribution {
            media_type: media_type.into(),
            platforms: platforms.iter().map(|p| (*p).to_owned()).collect(),
        }
    }

    #[test]
    fn a_pin_must_be_an_index_of_every_platform() {
        let both = ["linux/amd64", "linux/arm64"];
        let index = served(OCI_INDEX, &both);
        assert_eq!(pin_problem("x@sha256:1", &index, &both), None);
        let list = served(DOCKER_LIST, &both);
        assert_eq!(pin_problem("x@sha256:1", &list, &both), None);
        let single = served(DOCKER_MANIFEST, &["linux/arm64"]);
        let problem = pin_problem("x@sha256:1", &single, &both).unwrap();
        assert!(
            problem.contains("is a single-platform manifest (linux/arm64), but") && problem.contains("1.2.1"),
            "{problem}"
        );
        assert_eq!(
            pin_problem("x@sha256:1", &single, &["linux/arm64"]),
            None,
            "one platform needs no index"
        );
        let partial = served(OCI_INDEX, &["linux/amd64"]);
        assert!(pin_problem("x@sha256:1", &partial, &both).is_some());
    }

    #[test]
    fn an_index_is_told_by_its_media_type_without_parameters() {
        assert!(served(OCI_INDEX, &[]).is_index());
        assert!(served(&format!("{DOCKER_LIST}; charset=utf-8"), &[]).is_index());
        assert!(!served(DOCKER_MANIFEST, &[]).is_index());
        assert!(!served("application/vnd.example.index.listing", &[]).is_index());
    }
}
