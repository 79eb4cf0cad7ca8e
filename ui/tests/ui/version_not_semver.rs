use base_images::{base_image, Recipe};

#[base_image(family = "ui", version = "1.0", changelog = "Initial release.")]
fn v1_0() -> Recipe {
    Recipe::from("debian:bookworm")
}

fn main() {}
