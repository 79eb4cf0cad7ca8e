//! A family whose root comes from a registry without a digest: the release
//! policy refuses to build it (a released version must pin its roots).

use base_images::{base_image, Recipe};

/// The local root as the project's registry serves it, unpinned.
pub const REGISTRY_ROOT: &str = "127.0.0.1:5000/base-images-e2e/bookworm-python:2";

/// A registry root without a digest.
#[base_image(
    family = "e2e-unpinned",
    version = "1.0.0",
    changelog = "A registry root without a digest."
)]
fn v1_0_0() -> Recipe {
    Recipe::from(REGISTRY_ROOT).with_exec(["true"])
}
