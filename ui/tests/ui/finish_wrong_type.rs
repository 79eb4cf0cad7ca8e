use base_images::{base_image, Recipe};

fn metadata(recipe: Recipe) -> Recipe {
    recipe
}

#[base_image(family = "ui", version = "1.0.0", finish = metadata, changelog = "Initial release.")]
fn v1_0_0() -> Recipe {
    Recipe::from("debian:bookworm")
}

fn main() {}
