//! A family with a finishing touch (image metadata added to every version's
//! own recipe, not inherited), checks that name the version through
//! `{image}` / `{base_image}`, and a version that drops an inherited check.

use base_images::{base_image, sanity_checks, BaseImage, Checks, Recipe};

/// Every version says which image it is, as Airbyte's images do.
pub fn metadata(recipe: Recipe, image: &BaseImage) -> Recipe {
    let base = recipe.base_image_name();
    recipe
        .with_env_variable("BASE_IMAGE", image.key())
        .with_env_variable("BASE_BASE_IMAGE", base.clone())
        .with_label("org.example.base_image", image.key())
        .with_label("org.example.base_base_image", base)
}

/// The root.
#[base_image(family = "test-finish", version = "1.0.0", finish = metadata, changelog = "First.")]
fn v1_0_0() -> Recipe {
    Recipe::from("debian:bookworm-slim@sha256:5555555555555555555555555555555555555555555555555555555555555555")
        .with_exec(["useradd", "tester"])
}

#[sanity_checks(V1_0_0)]
fn v1_0_0_checks(checks: Checks) -> Checks {
    checks
        .env_var_equals("image-env", "BASE_IMAGE", "{image}")
        .label_equals("image-label", "org.example.base_image", "{image}")
        .env_var_equals("base-env", "BASE_BASE_IMAGE", "{base_image}")
        .user_exists("tester", "tester", 1000, 1000)
}

/// Undoes the user of 1.0.0.
#[base_image(version = "1.1.0", parent = V1_0_0, changelog = "Remove the tester user.")]
fn v1_1_0(parent: Recipe) -> Recipe {
    parent.with_exec(["userdel", "tester"])
}

#[sanity_checks(V1_1_0)]
fn v1_1_0_checks(checks: Checks) -> Checks {
    checks.without("tester")
}
