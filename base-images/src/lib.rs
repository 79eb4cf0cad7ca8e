//! Container base images declared in Rust: each image version is a function
//! annotated with [`base_image`], which the compiler checks against the
//! version policy (valid semver, the function name spells the version, the
//! parent exists, is of the same family and is lower, a one-line changelog).
//! Every version inherits its parent's recipe steps and sanity checks.
//!
//! ```
//! use base_images::{base_image, sanity_checks, Checks, Recipe};
//!
//! #[base_image(family = "doc-example", version = "1.0.0", changelog = "Initial release.")]
//! fn v1_0_0() -> Recipe {
//!     Recipe::from("debian:bookworm-slim")
//! }
//!
//! #[base_image(version = "1.0.1", parent = V1_0_0, changelog = "Add ffmpeg to the base image.")]
//! fn v1_0_1(parent: Recipe) -> Recipe {
//!     parent.with_exec(["sh", "-c", "apt-get update && apt-get install -y ffmpeg"])
//! }
//!
//! #[sanity_checks(V1_0_1)]
//! fn v1_0_1_checks(checks: Checks) -> Checks {
//!     checks.command_succeeds("ffmpeg-installed", ["ffmpeg", "-version"])
//! }
//!
//! let image = base_images::get("doc-example:1.0.1")?;
//! assert_eq!(image.parent().map(|p| p.key().to_string()).as_deref(), Some("doc-example:1.0.0"));
//! assert_eq!(image.recipe()?.steps.len(), 1);
//! # Ok::<(), base_images::Error>(())
//! ```

// Without the runtime the declaration layer still holds the helpers only
// the runtime's modules call (media types, loopback hosts, the lowering's
// scopes): unused there, not dead.
#![cfg_attr(not(feature = "runtime"), allow(dead_code, unreachable_pub))]

extern crate self as base_images;

mod address;
#[cfg(feature = "runtime")]
pub mod advisory;
#[cfg(feature = "runtime")]
pub mod audit;
mod canonical;
pub mod catalog;
pub mod changelog;
pub mod checks;
mod declared;
mod digest;
pub mod dockerfile;
#[cfg(feature = "runtime")]
pub mod engine;
mod error;
mod error_chain;
#[cfg(feature = "runtime")]
pub mod fetch;
pub mod fsio;
mod image;
mod key;
pub mod lock;
mod lower;
mod media_type;
#[cfg(feature = "runtime")]
mod outage;
#[cfg(feature = "runtime")]
pub mod outdated;
pub mod platform;
#[cfg(feature = "runtime")]
pub mod publish;
mod recipe;
pub mod registry;
mod released;
mod resolved;
#[cfg(feature = "runtime")]
pub mod sbom;
mod sha256;
#[cfg(feature = "runtime")]
pub mod shared_results;
mod shell;
mod step;
mod steps;
#[cfg(feature = "runtime")]
mod tls;
mod version;

pub use address::{docker_hub, ImageAddress};
pub use base_images_macros::{base_image, sanity_checks};
pub use canonical::ENCODING_VERSION;
pub use checks::{Check, CheckKind, Checks, ResolvedCheck};
pub use digest::RecipeDigest;
pub use error::Error;
pub use image::{BaseImage, Build, CheckSet, Finish, Location};
pub use key::ImageKey;
pub use lock::{Lock, LockEntry, Release, ReleaseProblem};
pub use lower::UNPACK_IMAGE;
pub use recipe::Recipe;
pub use registry::{all, families, get, latest, validate};
pub use step::{ExecOptions, FetchOptions, Root, Step};
pub use steps::Steps;
pub use version::Version;

/// What the macros' expansions refer to; not a public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::declared::BASE_IMAGES;
    pub use crate::declared::CHECK_SETS;
    pub use crate::image::__check_family as check_family;
    pub use crate::image::poisoned_recipe;
    pub use crate::image::Declaration;
    pub use crate::platform::check as check_platform;
    pub use crate::platform::DEFAULT_PLATFORMS;
    pub use crate::version::{str_eq, ConstMessage};
}
