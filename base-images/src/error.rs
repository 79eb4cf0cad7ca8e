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
    #[error(transparent)]
    BadKey(#[from] crate::key::InvalidKey),
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
    /// Released versions changed or disappeared, each named as data.
    #[error("{}", bullet_list(.0))]
    Released(Vec<crate::lock::ReleaseProblem>),
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating-system error.
        #[source]
        source: std::io::Error,
    },
    /// No container engine answers.
    #[cfg(feature = "runtime")]
    #[error(
        "no container engine answers at {endpoint}: {reason}. Start the project's private engine with \
         `scripts/engine.sh start` and `eval \"$(scripts/engine.sh env)\"`, or set DOCKER_HOST to a running \
         Docker-API daemon (dockerd, Docker Desktop, podman's socket)"
    )]
    EngineUnavailable {
        /// Where the engine was looked for.
        endpoint: String,
        /// Why it did not answer.
        reason: String,
        /// The client's error, when it gave one.
        #[source]
        source: Option<Box<bollard::errors::Error>>,
    },
    /// `--engine dagger` (or the Dagger engine) without a Dagger session.
    #[error(
        "no Dagger session: {reason}. Run the tool inside one: `dagger run cargo run -p base-images-build`, \
         or build on a Docker-API engine with `--engine docker`"
    )]
    NoDaggerSession {
        /// What is missing.
        reason: String,
    },
    /// The engine refused or failed an operation.
    #[error("the container engine failed to {action}: {reason}")]
    Engine {
        /// What was being done.
        action: String,
        /// The engine's answer.
        reason: String,
        /// The engine client's error (bollard's, Dagger's), when it gave one.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
    },
    /// A root image could not be pulled.
    #[cfg(feature = "runtime")]
    #[error("cannot pull root image {address} from registry {registry}: {reason}")]
    Pull {
        /// The address.
        address: String,
        /// The registry host it names (or the default one).
        registry: String,
        /// The engine's answer.
        reason: String,
        /// The engine client's error.
        #[source]
        source: Box<bollard::errors::Error>,
    },
    /// A local root image is for another platform than the one built.
    #[error(
        "the root {address} here is an image for {held}, not {wanted}; give the family a root per platform \
         (Recipe::from_platforms) or pin the root's multi-platform index by digest"
    )]
    RootPlatform {
        /// The root's address.
        address: String,
        /// The platform of the image the engine has under it.
        held: String,
        /// The platform being built.
        wanted: String,
    },
    /// A build step exited non-zero.
    #[error(
        "step {step} ({op}, declared by {declared_by}) failed with exit code {exit_code}: `{}`\n{}",
        crate::shell::shell_words(command),
        indent(output)
    )]
    StepFailed {
        /// The 1-based step number.
        step: usize,
        /// The step's operation.
        op: &'static str,
        /// The version that added the step.
        declared_by: String,
        /// The command that ran.
        command: Vec<String>,
        /// Its exit code.
        exit_code: i64,
        /// The last lines of its output.
        output: String,
    },
    /// Content a recipe fetches could not be downloaded.
    #[cfg(feature = "runtime")]
    #[error("cannot fetch {url}: {reason}; check the URL and that its server is up (nothing was built or written)")]
    Fetch {
        /// The URL.
        url: String,
        /// What went wrong.
        reason: String,
        /// The HTTP client's error, if it gave one.
        #[source]
        source: Option<reqwest::Error>,
    },
    /// A download was refused: a redirect not followed, or too many bytes.
    #[error("refused to fetch {url}: {reason} (nothing was built or written)")]
    FetchRefused {
        /// The URL asked for.
        url: String,
        /// Why, naming the last URL reached.
        reason: String,
    },
    /// An input pinned nowhere sent other bytes the second time one run
    /// fetched it (another platform, another version).
    #[error(
        "{url} sent other bytes within one run: {first} first, then {then}; an input without a pinned sha256 \
         is trusted once per run, never merged: pin it (FetchOptions::sha256) or fix what serves it (nothing was \
         built or written)"
    )]
    FetchedTwice {
        /// The URL.
        url: String,
        /// The digest of what it sent first.
        first: String,
        /// The digest of what it sent later.
        then: String,
    },
    /// A fetched archive breaks a rule archives must keep.
    #[cfg(feature = "runtime")]
    #[error("refused the archive {url}: it {reason} (nothing was built or written)")]
    ArchiveRefused {
        /// The archive's URL.
        url: String,
        /// The rule it breaks.
        #[source]
        reason: crate::fetch::ArchiveError,
    },
    /// Fetched content is not what its pin says.
    #[error(
        "{url} changed: {pinned_by} pins {expected}, but the server sent {received}; a pinned input must never \
         change: restore the content, or declare a new version that fetches the new one"
    )]
    FetchedChanged {
        /// The URL.
        url: String,
        /// What pins it (`the recipe`, `versions.lock`).
        pinned_by: String,
        /// The pinned digest.
        expected: String,
        /// The digest of what was received.
        received: String,
    },
    /// Publishing to a registry failed.
    #[cfg(feature = "runtime")]
    #[error(transparent)]
    Publish(Box<crate::publish::PublishError>),
    /// The run was interrupted (Ctrl-C); containers it started were removed.
    #[error("interrupted; the containers this run started were removed and no file was changed")]
    Interrupted,
    /// An input file is larger than what is read of its kind.
    #[error("{}: more than {limit} bytes; refused (nothing of it was used)", path.display())]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// The most bytes read.
        limit: u64,
    },
    /// No private cache directory can be named.
    #[error(
        "no cache directory: none of BASE_IMAGES_CACHE_DIR, XDG_CACHE_HOME or HOME is set to one (the last two \
         absolute); set one. A shared temporary directory is never used: another user could plant check results \
         or layers there"
    )]
    NoCacheDir,
    /// An image holds more of what the SBOM scanner reads than it reads
    /// (`sbom::scan::MAX_FILE`, `MAX_TOTAL`).
    #[error("no SBOM of {image} is made: {reason}; an SBOM without that file would leave out what it lists")]
    ScanTooLarge {
        /// The image (its engine id).
        image: String,
        /// Which file, and the limit.
        reason: String,
    },
    /// Advisories could not be read (a missing or empty path, an unreadable archive).
    #[error("advisories {}: {reason}", path.display())]
    Advisories {
        /// The path given.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
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

fn indent(text: &str) -> String {
    text.lines()
        .map(|l| format!("    | {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn bullet_list<T: std::fmt::Display>(items: &[T]) -> String {
    items.iter().map(|i| format!("  - {i}")).collect::<Vec<_>>().join("\n")
}

#[cfg(feature = "runtime")]
impl From<crate::publish::PublishError> for Error {
    fn from(e: crate::publish::PublishError) -> Self {
        Error::Publish(Box::new(e))
    }
}
