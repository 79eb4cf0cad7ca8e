//! The media types of the OCI and Docker image documents, written once:
//! publishing writes and reads them (`publish::oci` re-exports them) and
//! the engines tell an index from a manifest by them.

/// An OCI image index.
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// An OCI image manifest.
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// A Docker manifest list.
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
/// A Docker image manifest.
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// Every manifest media type: what a tag is resolved with. A registry may
/// answer 404 for a manifest whose type the `Accept` header leaves out
/// (Debian's docker-registry does for an OCI index).
pub const MANIFEST_MEDIA_TYPES: [&str; 4] = [OCI_INDEX, OCI_MANIFEST, DOCKER_LIST, DOCKER_MANIFEST];
/// The media types of a multi-platform index (OCI's, and Docker's
/// manifest list).
pub(crate) const INDEX_MEDIA_TYPES: [&str; 2] = [OCI_INDEX, DOCKER_LIST];

/// The media type of the empty JSON blob `{}` (an artifact's config).
pub const OCI_EMPTY: &str = "application/vnd.oci.empty.v1+json";

/// The media type of an OCI image configuration.
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";

/// The media type of a gzip-compressed OCI layer.
pub const OCI_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
