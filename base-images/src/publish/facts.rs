//! What the engine says of one platform's built image: the facts an image
//! configuration is written from (`oci::config`).

use std::collections::BTreeMap;

/// What the engine says of one platform's built image.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImageFacts {
    /// `linux`.
    pub os: String,
    /// `amd64`, `arm64`, …
    pub architecture: String,
    /// `v7`, … (ARM variants).
    pub variant: Option<String>,
    /// `USER`.
    pub user: Option<String>,
    /// `EXPOSE`d ports.
    pub exposed_ports: Vec<String>,
    /// `ENV`, as `NAME=value`.
    pub env: Vec<String>,
    /// `ENTRYPOINT`.
    pub entrypoint: Option<Vec<String>>,
    /// `CMD`.
    pub cmd: Option<Vec<String>>,
    /// `VOLUME`s.
    pub volumes: Vec<String>,
    /// `WORKDIR`.
    pub working_dir: Option<String>,
    /// `LABEL`s.
    pub labels: BTreeMap<String, String>,
    /// `STOPSIGNAL`.
    pub stop_signal: Option<String>,
    /// The uncompressed layers' digests, bottom first.
    pub diff_ids: Vec<String>,
    /// When the engine says the image was made (RFC 3339), if it says.
    pub created: Option<String>,
}

impl ImageFacts {
    /// When the image was made, in seconds since 1970; 0 when the engine
    /// does not say or says something that is not an RFC 3339 time.
    pub fn created_seconds(&self) -> u64 {
        self.created.as_deref().and_then(seconds_of).unwrap_or(0)
    }
}

/// Seconds since 1970 of an RFC 3339 time in UTC, if it is one.
pub(super) fn seconds_of(time: &str) -> Option<u64> {
    humantime::parse_rfc3339(time)
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_secs())
}
