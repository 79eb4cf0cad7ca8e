use base_images::{base_image, sanity_checks, Checks, Recipe};

// The root has a typo in its version; its child and the checks that name it
// must not add errors of their own.
#[base_image(family = "ui", version = "1.0.O", changelog = "Initial release.")]
fn v1_0_0() -> Recipe {
    Recipe::from("debian:bookworm")
}

#[base_image(version = "1.0.1", parent = V1_0_0, changelog = "Add curl.")]
fn v1_0_1(parent: Recipe) -> Recipe {
    parent
}

#[sanity_checks(V1_0_0)]
fn v1_0_0_checks(checks: Checks) -> Checks {
    checks
}

fn main() {}
