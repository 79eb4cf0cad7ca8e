use base_images::{base_image, Recipe};

#[base_image(family = "ui", version = "2.0.0-RC.1", changelog = "Release candidate.")]
fn v2_0_0_rc_1() -> Recipe {
    Recipe::from("debian:bookworm")
}

fn main() {}
