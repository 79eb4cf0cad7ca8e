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
    /// When the image was made, in seconds since 1970 (an RFC 3339 time
    /// with any offset); 0 when the engine does not say, says something
    /// else, or a time before 1970 (Docker's "unknown" is year 1): then
    /// every time in a settled step layer is the epoch.
    pub fn created_seconds(&self) -> u64 {
        self.created.as_deref().and_then(seconds_of).unwrap_or(0)
    }
}

/// Seconds since 1970 of an RFC 3339 time (any offset), if it is one and
/// not before 1970.
pub(super) fn seconds_of(time: &str) -> Option<u64> {
    let time = chrono::DateTime::parse_from_rfc3339(time).ok()?;
    u64::try_from(time.timestamp()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn created(time: &str) -> u64 {
        ImageFacts {
            created: Some(time.to_owned()),
            ..ImageFacts::default()
        }
        .created_seconds()
    }

    #[test]
    fn a_creation_time_is_read_with_any_offset_and_unknown_is_zero() {
        assert_eq!(created("2023-11-14T22:13:20Z"), 1_700_000_000);
        assert_eq!(created("2023-11-14T22:13:20.917385237Z"), 1_700_000_000);
        assert_eq!(created("2023-11-15T00:13:20+02:00"), 1_700_000_000);
        assert_eq!(created("0001-01-01T00:00:00Z"), 0, "Docker's unknown time");
        assert_eq!(created("yesterday"), 0);
        assert_eq!(ImageFacts::default().created_seconds(), 0);
    }
}
