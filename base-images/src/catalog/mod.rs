//! The catalog the project ships: Airbyte's connector base-image families,
//! declared with `#[base_image]` from the facts of their real history
//! (`python`: `airbyte-python-connector-base`, `java`:
//! `airbyte-java-connector-base`). What every Airbyte image carries, its
//! metadata and the checks of it, is here, shared by both families.

// The registrations `#[base_image]` emits are statics with `link_section`
// (linkme); inside this crate the lint sees them as local code.
#![allow(unsafe_code)]

pub mod java;
pub mod python;

use crate::{BaseImage, Checks, Recipe};

/// The metadata every Airbyte image carries (the family's `finish`): env
/// and labels naming the image and its root image.
pub fn metadata(recipe: Recipe, image: &BaseImage) -> Recipe {
    let base = recipe.base_image_name();
    recipe
        .with_env_variable("AIRBYTE_BASE_BASE_IMAGE", base.clone())
        .with_env_variable("AIRBYTE_BASE_IMAGE", image.key())
        .with_label("io.airbyte.base_base_image", base)
        .with_label("io.airbyte.base_image", image.key())
}

/// The checks of `metadata`, valid for every version (`{image}` and
/// `{base_image}` name the version checked).
pub fn metadata_checks(checks: Checks) -> Checks {
    checks
        .env_var_equals("env-airbyte-base-image", "AIRBYTE_BASE_IMAGE", "{image}")
        .env_var_equals("env-airbyte-base-base-image", "AIRBYTE_BASE_BASE_IMAGE", "{base_image}")
        .label_equals("label-base-image", "io.airbyte.base_image", "{image}")
        .label_equals("label-base-base-image", "io.airbyte.base_base_image", "{base_image}")
}
