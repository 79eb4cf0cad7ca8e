//! The catalog the project ships: Airbyte's connector base-image families,
//! declared with `#[base_image]` from the facts of their real history
//! (`python`: `airbyte-python-connector-base`, `java`:
//! `airbyte-java-connector-base`; docs/catalog.md says what Airbyte
//! published and what is left out). Airbyte's image metadata, which only
//! the development-era Python 0.1.0 carried, and its checks are here.

// The registrations `#[base_image]` emits are statics with `link_section`
// (linkme); inside this crate the lint sees them as local code.
#![allow(unsafe_code)]

pub mod java;
pub mod python;

use crate::{BaseImage, Checks, Recipe};

/// Airbyte's image metadata: env and labels naming the image and the root
/// image of the platform built (with its digest).
pub fn metadata(recipe: Recipe, image: &BaseImage) -> Recipe {
    recipe
        .with_root_env_variable("AIRBYTE_BASE_BASE_IMAGE")
        .with_env_variable("AIRBYTE_BASE_IMAGE", image.key())
        .with_root_label("io.airbyte.base_base_image")
        .with_label("io.airbyte.base_image", image.key())
}

/// The ids `metadata_checks` declares (a version without the metadata
/// drops them).
pub const METADATA_CHECKS: [&str; 4] = [
    "env-airbyte-base-image",
    "env-airbyte-base-base-image",
    "label-base-image",
    "label-base-base-image",
];

/// The checks of `metadata` (`{image}` and `{base_image}` name the version
/// and the root of the platform checked).
pub fn metadata_checks(checks: Checks) -> Checks {
    checks
        .env_var_equals(METADATA_CHECKS[0], "AIRBYTE_BASE_IMAGE", "{image}")
        .env_var_equals(METADATA_CHECKS[1], "AIRBYTE_BASE_BASE_IMAGE", "{base_image}")
        .label_equals(METADATA_CHECKS[2], "io.airbyte.base_image", "{image}")
        .label_equals(METADATA_CHECKS[3], "io.airbyte.base_base_image", "{base_image}")
}
