//! What happens while a version is pushed or copied, as events an observer
//! (progress bars, tests) receives.

use std::sync::Arc;

/// What happens to a blob while pushing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// The blob is already in the repository.
    Present {
        /// Its digest.
        digest: String,
        /// Its size.
        size: u64,
    },
    /// The blob was mounted from another repository of the registry.
    Mounted {
        /// Its digest.
        digest: String,
        /// Its size.
        size: u64,
        /// The repository it came from.
        from: String,
    },
    /// The blob's upload starts.
    Uploading {
        /// Its digest.
        digest: String,
        /// Its size.
        size: u64,
    },
    /// Bytes of the current upload were sent.
    Sent(u64),
    /// A manifest or the index was pushed, by digest or (last) the tag.
    Manifest {
        /// The digest or tag it was pushed under.
        reference: String,
    },
    /// The index digest was signed (`sha256-<hex>.sig`).
    Signed {
        /// The signed digest.
        digest: String,
    },
    /// A platform image's SBOM was copied from another repository.
    Copied {
        /// The platform.
        platform: String,
        /// The artifact manifest's digest.
        digest: String,
    },
    /// A platform image's SBOM was attached.
    Attached {
        /// The platform.
        platform: String,
        /// The artifact manifest's digest.
        digest: String,
        /// How many packages and fetched inputs it lists.
        packages: usize,
    },
}

/// Receives push events (progress bars, tests).
pub type Observer = Arc<dyn Fn(Event) + Send + Sync>;
