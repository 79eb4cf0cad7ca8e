//! What can stop a publish, a copy or a verify: the registry unreachable,
//! slow, oversized or refusing, a tag that points at other content, a
//! released version that would get a second digest, a document that cannot
//! be built, a key that cannot be used. Each message names the registry or
//! the address and what to do.

use std::path::PathBuf;

/// Everything that can stop a publish.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PublishError {
    /// Nothing answers at the registry's address.
    #[error("cannot reach the registry at {registry} to {doing}: nothing answers there ({source}); start it, or send the family elsewhere with --registry-override HOST[:PORT]")]
    Unreachable {
        /// `host[:port]`.
        registry: String,
        /// What was being done.
        doing: String,
        /// The client's error.
        #[source]
        source: Box<oci_client::errors::OciDistributionError>,
    },
    /// The registry took longer than its time limit.
    #[error("the registry at {registry} did not answer within {} s when asked to {doing}; given up on (a registry that stalls is not waited for: check it, or try again later)", after.as_secs_f32())]
    TimedOut {
        /// `host[:port]`.
        registry: String,
        /// What was being done.
        doing: String,
        /// The limit.
        after: std::time::Duration,
    },
    /// The registry sent more than a manifest may hold.
    #[error("the registry at {registry} sent more than {limit} bytes when asked to {doing}; refused (a manifest, an index or a referrers list is read up to {limit} bytes)")]
    TooLarge {
        /// `host[:port]`.
        registry: String,
        /// What was being done.
        doing: String,
        /// The limit, in bytes.
        limit: u64,
    },
    /// The registry refused the credentials (401/403).
    #[error("the registry at {registry} refused to let us {doing} (401 unauthorized) with {credentials}; run `docker login {registry}` with an account that may push there")]
    Unauthorized {
        /// `host[:port]`.
        registry: String,
        /// What was being done.
        doing: String,
        /// Where the credentials came from (never the secret).
        credentials: String,
    },
    /// The registry answered with another error.
    #[error("the registry at {registry} failed to {doing}: {source}")]
    Registry {
        /// `host[:port]`.
        registry: String,
        /// What was being done.
        doing: String,
        /// The client's error.
        #[source]
        source: Box<oci_client::errors::OciDistributionError>,
    },
    /// The Docker config's credentials could not be read.
    #[error("cannot read the credentials for {registry}: {reason}")]
    Credentials {
        /// `host[:port]`.
        registry: String,
        /// Why.
        reason: String,
    },
    /// The tag points at other content: never overwritten.
    #[error(
        "{address} already points at {existing}, but this release is {ours}: a published tag is never overwritten \
         (nothing was pushed under that tag); the image or its created time differs from what was published \
         (a step that wrote other bytes, steps built before the release, another SOURCE_DATE_EPOCH): \
         declare a new version"
    )]
    TagConflict {
        /// `registry/repository:tag`.
        address: String,
        /// The digest the tag points at.
        existing: String,
        /// The digest of this release's index.
        ours: String,
    },
    /// A released version would get a second index digest: this build
    /// prepares another index than versions.lock records, and no recorded
    /// repository could be copied from.
    #[error(
        "{address}: not pushed: versions.lock records this version as {recorded}, but this build prepares {ours}; \
         a released version has one digest everywhere, so it is copied from a repository that holds it, never rebuilt \
         ({}); make a recorded repository reachable (docker login, or the registry running) and publish again",
        if unread.is_empty() { "versions.lock names no other repository".to_owned() } else { format!("none could be read: {}", unread.join("; ")) }
    )]
    Diverged {
        /// `registry/repository:tag`.
        address: String,
        /// The index digest versions.lock records.
        recorded: String,
        /// The index digest this build prepares.
        ours: String,
        /// Each recorded repository that could not be read, and why.
        unread: Vec<String>,
    },
    /// An OCI document could not be built.
    #[error("cannot build an OCI document: {0}")]
    Document(String),
    /// A signing or verifying key could not be used.
    #[error("the key {} cannot be used: {reason}", path.display())]
    Key {
        /// The key file.
        path: PathBuf,
        /// Why, and how to make a good one.
        reason: String,
    },
}
