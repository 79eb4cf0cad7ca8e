//! The source code `new` writes: a version's function and its checks
//! function, fully qualified so they compile whatever the file imports.

use base_images::{BaseImage, Version};
use semver::Version as Semver;

/// The code of a new version (a function and its checks), fully qualified
/// so it compiles whatever the file imports.
pub(crate) fn skeleton(version: &Semver, parent: &BaseImage, changelog: &str) -> String {
    version_code(
        version,
        parent,
        changelog,
        " // TODO: add this version's steps",
        |parent_static| format!("TODO: check what this version adds; {parent_static}'s checks are inherited"),
    )
}

/// The code of a version after `parent`: its function (`parent` followed by
/// `steps`) and its checks function (`checks`, commented with what
/// `checks_note` says given the parent's static).
pub(crate) fn version_code(
    version: &Semver,
    parent: &BaseImage,
    changelog: &str,
    steps: &str,
    checks_note: impl Fn(&str) -> String,
) -> String {
    let name = Version::fn_name_for(version);
    let parent_static = parent.version().fn_name().to_uppercase();
    format!(
        "\n/// {changelog}\n\
         #[::base_images::base_image(version = \"{version}\", parent = {parent_static}, changelog = {changelog:?})]\n\
         fn {name}(parent: ::base_images::Recipe) -> ::base_images::Recipe {{\n    \
             parent{steps}\n\
         }}\n\
         \n\
         #[::base_images::sanity_checks({static_name})]\n\
         fn {name}_checks(checks: ::base_images::Checks) -> ::base_images::Checks {{\n    \
             checks // {note}\n\
         }}\n",
        static_name = name.to_uppercase(),
        note = checks_note(&parent_static),
    )
}
