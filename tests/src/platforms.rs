//! Two families for both platforms whose roots are synthetic images pushed
//! to the project's local registry by the tests (deterministic bytes, so
//! their digests are constants): one pins the multi-platform index, one
//! pins the amd64 manifest alone — the mistake of the Python catalog's
//! 1.2.1, which the release policy refuses.

use base_images::{base_image, Recipe};

/// The repository the synthetic images are pushed to.
pub const REPOSITORY: &str = "127.0.0.1:5000/base-images-e2e/synthetic";
/// The digest of the two-platform index.
pub const INDEX_DIGEST: &str = "sha256:54c07345c15aebb843fd31fbc3b6f9aed1fce6d59ddc7e743db8e98c8e56ad71";
/// The digest of the amd64 manifest alone.
pub const AMD64_DIGEST: &str = "sha256:a69bb7c405a3077753fb09ab9da684b802d2e1c4914d1545541f93734102ef45";

/// Pinned to the index: what a two-platform family needs.
#[base_image(
    family = "e2e-index",
    version = "1.0.0",
    platforms = ["linux/amd64", "linux/arm64"],
    changelog = "A root pinned to a multi-platform index."
)]
fn v1_0_0() -> Recipe {
    Recipe::from(format!("{REPOSITORY}:index@{INDEX_DIGEST}")).with_env_variable("PINNED", "index")
}

/// The 1.2.1 mistake: a two-platform family pinned to one platform's manifest.
pub mod single {
    use super::{AMD64_DIGEST, REPOSITORY};
    use base_images::{base_image, Recipe};

    /// Pinned to the amd64 manifest.
    #[base_image(
        family = "e2e-single",
        version = "1.0.0",
        platforms = ["linux/amd64", "linux/arm64"],
        changelog = "A root pinned to one platform's manifest."
    )]
    fn v1_0_0() -> Recipe {
        Recipe::from(format!("{REPOSITORY}:amd64@{AMD64_DIGEST}")).with_env_variable("PINNED", "amd64")
    }
}
