use base_images::{base_image, Recipe};

#[base_image(family = "ui", version = "1.0.0", changelog = "Initial release.")]
fn v1_0_0() -> Recipe {
    Recipe::from("debian:bookworm")
}

mod again {
    use base_images::{base_image, Recipe};

    #[base_image(version = "1.0.0", parent = super::V1_0_0, changelog = "Same version again.")]
    fn v1_0_0(parent: Recipe) -> Recipe {
        parent
    }
}

fn main() {}
