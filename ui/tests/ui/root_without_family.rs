use base_images::{base_image, Recipe};

#[base_image(version = "1.0.0", changelog = "Initial release.")]
fn v1_0_0() -> Recipe {
    Recipe::from("debian:bookworm")
}

fn main() {}
