//! Engines turn a Recipe into an image and run checks in it. `Engine` is
//! the interface; `docker` is the real engine used here (any Docker-API
//! daemon, through `bollard`); `pipeline` builds versions and runs their
//! resolved checks the same way for every caller (the build tool, the demo,
//! the end-to-end tests).

pub mod docker;
pub mod pipeline;

use std::future::Future;

use crate::checks::CheckTarget;
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

/// A container engine.
pub trait Engine: Send + Sync {
    /// A running container checks are run in.
    type Target: CheckTarget + 'static;

    /// Builds a recipe, reusing cached steps.
    fn build(&self, request: BuildRequest<'_>) -> impl Future<Output = Result<BuiltImage, Error>> + Send;

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
