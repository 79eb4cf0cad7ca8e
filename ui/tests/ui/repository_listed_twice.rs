use base_images::{base_image, Recipe};

#[base_image(
    family = "ui",
    version = "1.0.0",
    repository = ["example/ui", "example/ui"],
    changelog = "Initial release."
)]
fn v1_0_0() -> Recipe {
    Recipe::from("debian:bookworm")
}

fn main() {}
