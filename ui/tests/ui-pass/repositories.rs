//! A family published to two repositories: the first is the one `repository()` names.
use base_images::{base_image, Recipe};

#[base_image(
    family = "ui-mirrored",
    version = "1.0.0",
    repository = ["example/ui", "ghcr.io/example/ui"],
    changelog = "Initial release."
)]
fn v1_0_0() -> Recipe {
    Recipe::from("debian:bookworm")
}

#[base_image(version = "1.0.1", parent = V1_0_0, changelog = "Patch.")]
fn v1_0_1(parent: Recipe) -> Recipe {
    parent
}

fn main() {
    assert_eq!(V1_0_1.repositories(), ["example/ui", "ghcr.io/example/ui"]);
    assert_eq!(V1_0_1.repository(), Some("example/ui"));
}
