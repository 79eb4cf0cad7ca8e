use base_images::{base_image, Recipe};

#[base_image(family = "ui", version = "1.0.0", changelog = "Initial release.")]
fn v1_0_0() -> Recipe {
    Recipe::from("debian:bookworm")
}

#[base_image(version = "1.0.1", parent = V1_0_0, changelog = "Add curl.")]
fn v1_0_1(parent: Recipe) -> Recipe {
    parent
}

#[base_image(version = "0.9.0", parent = V1_0_1, changelog = "Going back in time.")]
fn v0_9_0(parent: Recipe) -> Recipe {
    parent
}

fn main() {}
