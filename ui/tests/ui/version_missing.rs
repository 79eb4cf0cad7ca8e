use base_images::{base_image, Recipe};

#[base_image(family = "ui", changelog = "Initial release.")]
fn v1_0_0() -> Recipe {
    Recipe::from("debian:bookworm")
}

fn main() {}
