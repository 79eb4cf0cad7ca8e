use base_images::{base_image, Recipe};

#[base_image(family = "ui", version = "1.0.0", changelog = "Initial release.")]
fn v1_0_0() -> Recipe {
    Recipe::from("debian:bookworm")
}

#[base_image(version = "1.0.1", parent = V1_0_0, changelog = "   ")]
fn v1_0_1(parent: Recipe) -> Recipe {
    parent
}

fn main() {}
