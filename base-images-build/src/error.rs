//! The build tool's error type and the exit status each error maps to:
//! 1 for problems in the declarations, checks or generated files, 2 for
//! usage and configuration problems, 130 for an interruption.

use std::path::PathBuf;

/// Everything that stops a command.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A problem reported by the library (registry, lock, files, engine).
    #[error(transparent)]
    Library(#[from] base_images::Error),
    /// A generated file (CHANGELOG.md, README's catalog) does not match the declarations.
    #[error("{} is out of date; run `cargo run -p base-images-build -- changelog` and commit the result:\n{diff}", path.display())]
    ChangelogOutdated {
        /// The file.
        path: PathBuf,
        /// What differs.
        diff: String,
    },
    /// Versions the release policy refuses (before anything is built).
    #[error("the release policy refuses {} version(s); nothing was built:\n{}", .0.len(), .0.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n"))]
    Release(Vec<String>),
    /// Some checks or builds failed (in full above the error), each named
    /// `family:version [platform]`.
    #[error("{} failed: {}; nothing was written", plural(.0.len()), .0.join(", "))]
    Failed(Vec<String>),
    /// Versions that could not be published (each error says which).
    #[error("{}", .0.join("\n"))]
    Publish(Vec<String>),
    /// A published version differs from its declaration or the lock.
    #[error("{address} does not match its release ({} difference(s)):\n{}", .differences.len(), .differences.iter().map(|d| format!("  - {d}")).collect::<Vec<_>>().join("\n"))]
    Verify {
        /// `registry/repository:tag`.
        address: String,
        /// Each difference.
        differences: Vec<String>,
    },
    /// Findings at or above the gate's severity that have a fix.
    #[error("{} finding(s) at or above {threshold} have a fix:\n{}", .findings.len(), .findings.iter().map(|f| format!("  - {f}")).collect::<Vec<_>>().join("\n"))]
    Audit {
        /// The gate (`high`).
        threshold: String,
        /// Each finding, one line.
        findings: Vec<String>,
    },
    /// Roots that moved (with `--exit-code`) or could not be resolved.
    #[error("{} root(s) {what}:\n{}", .roots.len(), .roots.iter().map(|r| format!("  - {r}")).collect::<Vec<_>>().join("\n"))]
    Roots {
        /// What happened to them.
        what: String,
        /// Each root, one line.
        roots: Vec<String>,
    },
    /// A builder (an engine routed a platform) that does not answer.
    #[error("builder {name} for {} does not answer; nothing was built: {source}", .platforms.join(", "))]
    Builder {
        /// Its name (`[builders.NAME]`, or the `--builder` flag).
        name: String,
        /// The platforms it was to build.
        platforms: Vec<String>,
        /// Why it does not answer.
        source: Box<base_images::Error>,
    },
    /// Bad command-line input.
    #[error("{0}")]
    Usage(String),
    /// The workspace could not be found or is in use.
    #[error("{0}")]
    Workspace(String),
}

fn plural(n: usize) -> String {
    if n == 1 {
        "1 image".to_owned()
    } else {
        format!("{n} images")
    }
}

impl Error {
    /// The process exit status for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Library(base_images::Error::Interrupted) => 130,
            Error::Library(
                base_images::Error::Io { .. }
                | base_images::Error::EngineUnavailable { .. }
                | base_images::Error::NoDaggerSession { .. }
                | base_images::Error::BadKey(_)
                | base_images::Error::NotFound { .. }
                | base_images::Error::Advisories { .. }
                | base_images::Error::TooLarge { .. }
                | base_images::Error::NoCacheDir,
            )
            | Error::Builder { .. }
            | Error::Usage(_)
            | Error::Workspace(_) => 2,
            _ => 1,
        }
    }
}
