use base_images::{base_image, Recipe};

static V1_0_0: &str = "1.0.0";

#[base_image(version = "1.0.1", parent = V1_0_0, changelog = "Add curl.")]
fn v1_0_1(parent: Recipe) -> Recipe {
    parent
}

fn main() {}
