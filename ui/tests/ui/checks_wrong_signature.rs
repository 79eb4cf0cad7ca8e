use base_images::{base_image, Recipe};

#[base_image(family = "ui", version = "1.0.0", changelog = "Initial release.")]
fn v1_0_0() -> Recipe {
    Recipe::from("debian:bookworm")
}

use base_images::{sanity_checks, Checks};

#[sanity_checks(V1_0_0)]
async fn v1_0_0_checks() -> Checks {
    Checks::new()
}

fn main() {}
