//! The library's one error type. Every message says what is wrong, where
//! (image key, step number, file path) and what to do about it.

use std::path::PathBuf;

/// Everything that can go wrong in the library.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An image address does not follow `repo[:tag][@sha256:…]`.
    #[error("`{address}` is not a valid image address: {reason}")]
    InvalidAddress {
        /// The address as written.
        address: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A recipe's root is malformed.
    #[error("the root {reason}")]
    InvalidRoot {
        /// What is wrong with it.
        reason: String,
    },
    /// A recipe step is malformed.
    #[error("step {step} ({op}) {reason}")]
    InvalidStep {
        /// The 1-based step number.
        step: usize,
        /// The step's operation name.
        op: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// A check declaration is malformed.
    #[error("check `{id}` {reason}")]
    InvalidCheck {
        /// The check's id as written.
        id: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A problem in the declaration of one image.
    #[error("{image} (declared at {location}): {source}")]
    InImage {
        /// The image key (`family:version`).
        image: String,
        /// Where the image is declared.
        location: String,
        /// The problem.
        #[source]
        source: Box<Error>,
    },
    /// A lookup key is not `family:version`.
    #[error("`{key}` is not an image key: write family:version, for example airbyte-python-connector-base:1.0.0")]
    BadKey {
        /// The key as given.
        key: String,
    },
    /// No image is declared under a key or family.
    #[error("no base image `{key}`: {hint}")]
    NotFound {
        /// The key or family as given.
        key: String,
        /// What exists instead.
        hint: String,
    },
    /// Invariants of the registry the compiler cannot see are broken.
    #[error("the base-image registry has {} problem(s):\n{}", .0.len(), bullet_list(.0))]
    Registry(Vec<String>),
    /// Released versions changed or disappeared.
    #[error("{}", bullet_list(.0))]
    Released(Vec<String>),
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating-system error.
        #[source]
        source: std::io::Error,
    },
    /// A file the tool owns is malformed.
    #[error("{}: {message}", path.display())]
    FileFormat {
        /// The file.
        path: PathBuf,
        /// What is wrong, and where in the file.
        message: String,
    },
}

fn bullet_list(items: &[String]) -> String {
    items.iter().map(|i| format!("  - {i}")).collect::<Vec<_>>().join("\n")
}
