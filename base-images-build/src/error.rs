//! The build tool's error type and the exit status each error maps to.

use std::path::PathBuf;

/// Everything that stops a command.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A problem reported by the library (registry, lock, files).
    #[error(transparent)]
    Library(#[from] base_images::Error),
    /// CHANGELOG.md does not match the declarations.
    #[error("{} is out of date; run `cargo run -p base-images-build -- changelog` and commit the result", path.display())]
    ChangelogOutdated {
        /// The file.
        path: PathBuf,
    },
    /// The workspace could not be found.
    #[error("{0}")]
    Workspace(String),
}

impl Error {
    /// 1 for problems in the declarations or generated files, 2 for usage
    /// and configuration problems.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Library(base_images::Error::Io { .. }) | Error::Workspace(_) => 2,
            _ => 1,
        }
    }
}
