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
}
