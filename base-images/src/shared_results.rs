//! Check results shared through a registry, so a runner re-checks nothing
//! another runner's checks passed on the same image: one small OCI artifact
//! per (image id, set of checks, tool identity), tagged `checks-<hex>` in
//! the cache repository, holding the digests of the checks that passed.
//! The tool's identity is the digest of its executable (custom checks are
//! its code). An artifact is believed only when it names the image and the
//! tool it is read for; a registry that fails is said once and not asked
//! again in this run, and the checks run here instead.

use std::collections::BTreeSet;
use std::sync::LazyLock;

use serde::{Deserialize, Serialize};

use crate::checks::{check_digest, CheckReport, ResolvedCheck, ResultCache};
use crate::outage::Outage;
use crate::publish::oci::{self, Document};
use crate::publish::remote::Remote;
use crate::publish::PublishError;

/// The media type of a results artifact's one blob.
pub const RESULTS_MEDIA_TYPE: &str = "application/vnd.base-images.check-results.v1+json";

/// The most a results artifact's manifest or blob may hold.
const MAX_BYTES: u64 = 1 << 20;

/// What an artifact holds.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Results {
    /// The image id the checks ran on.
    image: String,
    /// The identity of the tool that ran them.
    tool: String,
    /// The digests of the checks that passed.
    passed: BTreeSet<String>,
}

impl Results {
    /// Whether they are of image `image_id` by the tool `tool` (what the
    /// tag says; a registry could serve others under it).
    fn names(&self, image_id: &str, tool: &str) -> bool {
        self.image == image_id && self.tool == tool
    }
}

/// The running tool's identity: the digest of its executable.
static TOOL: LazyLock<String> = LazyLock::new(|| {
    let read = std::env::current_exe().and_then(std::fs::read);
    read.map_or_else(
        |_| format!("unreadable executable {}", std::process::id()),
        |bytes| crate::sha256::digest_of(&bytes),
    )
});

/// A cache repository of check results, and whether this run writes to it.
pub struct SharedResults {
    /// Its registry.
    remote: Remote,
    /// The repository on it.
    repository: String,
    /// Whether passes are pushed.
    write: bool,
    /// Why the registry stopped counting, once it did.
    down: Outage,
}

impl std::fmt::Debug for SharedResults {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedResults")
            .field("registry", &self.remote.registry())
            .field("repository", &self.repository)
            .field("write", &self.write)
            .finish_non_exhaustive()
    }
}

impl SharedResults {
    /// The results in `repository` of `remote`, pushed to when `write` is set.
    pub fn new(remote: Remote, repository: &str, write: bool) -> SharedResults {
        SharedResults {
            remote,
            repository: repository.to_owned(),
            write,
            down: Outage::default(),
        }
    }

    /// Why the registry stopped counting in this run, if it did.
    pub fn down(&self) -> Option<&str> {
        self.down.said()
    }

    /// Records the passes another runner pushed for `checks` on image
    /// `image_id` into `cache`; how many.
    pub async fn prefill(&self, image_id: &str, checks: &[ResolvedCheck], cache: &mut ResultCache) -> usize {
        if self.down().is_some() {
            return 0;
        }
        let results = match self.read(&tag(image_id, checks)).await {
            Ok(Some(results)) if results.names(image_id, &TOOL) => results,
            Ok(_) => return 0,
            Err(e) => {
                self.went_down(e.to_string());
                return 0;
            }
        };
        let mut recorded = 0;
        for resolved in checks {
            if check_digest(&resolved.check).is_some_and(|d| results.passed.contains(&d)) {
                cache.record_pass(image_id, &resolved.check);
                recorded += 1;
            }
        }
        recorded
    }

    /// Pushes the passes of `reports` on image `image_id` when this run
    /// writes and every check passed.
    pub async fn store(&self, image_id: &str, reports: &[CheckReport]) {
        let passed = reports.iter().all(|r| r.status.is_pass());
        if !self.write || !passed || reports.is_empty() || self.down().is_some() {
            return;
        }
        let checks: Vec<ResolvedCheck> = reports.iter().map(|r| r.check.clone()).collect();
        let results = Results {
            image: image_id.to_owned(),
            tool: TOOL.clone(),
            passed: checks.iter().filter_map(|c| check_digest(&c.check)).collect(),
        };
        if let Err(e) = self.write_results(&tag(image_id, &checks), &results).await {
            self.went_down(e.to_string());
        }
    }

    /// The results tagged `tag`, if any.
    async fn read(&self, tag: &str) -> Result<Option<Results>, PublishError> {
        let repository = &self.repository;
        let Some((bytes, _)) = self.remote.manifest(repository, tag, &[oci::OCI_MANIFEST]).await? else {
            return Ok(None);
        };
        if bytes.len() as u64 > MAX_BYTES {
            return Ok(None);
        }
        let manifest: oci_spec::image::ImageManifest = match serde_json::from_slice(&bytes) {
            Ok(manifest) => manifest,
            Err(_) => return Ok(None),
        };
        let Some(layer) = manifest.layers().first() else {
            return Ok(None);
        };
        let blob = self.remote.blob(repository, layer.digest().as_ref(), MAX_BYTES).await?;
        Ok(serde_json::from_slice(&blob).ok())
    }

    /// Pushes `results` as an artifact tagged `tag`.
    async fn write_results(&self, tag: &str, results: &Results) -> Result<(), PublishError> {
        let blob = Document::canonical(RESULTS_MEDIA_TYPE, results)?;
        let manifest = oci::artifact(RESULTS_MEDIA_TYPE, &blob, None, &Default::default())?;
        let repository = &self.repository;
        self.remote.upload_if_missing(repository, &Document::empty()).await?;
        self.remote.upload_if_missing(repository, &blob).await?;
        self.remote.put_manifest(repository, tag, &manifest).await
    }

    /// Records that the registry failed (said once per run).
    fn went_down(&self, reason: String) {
        let what = format!("{}/{}", self.remote.registry(), self.repository);
        self.down.record(&what, &reason, "checks without it");
    }
}

/// The tag of the results of `checks` on image `image_id` by this tool.
fn tag(image_id: &str, checks: &[ResolvedCheck]) -> String {
    let mut digests: Vec<String> = checks.iter().filter_map(|c| check_digest(&c.check)).collect();
    digests.sort_unstable();
    let key = format!("{image_id}\n{}\n{}", *TOOL, digests.join("\n"));
    format!("checks-{}", crate::sha256::hex_of(key.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_are_believed_only_for_the_image_and_the_tool_they_name() {
        let results = Results {
            image: "sha256:a".into(),
            tool: "sha256:t".into(),
            passed: BTreeSet::new(),
        };
        assert!(results.names("sha256:a", "sha256:t"));
        assert!(!results.names("sha256:b", "sha256:t"), "another image");
        assert!(!results.names("sha256:a", "sha256:u"), "another tool");
        let bad: Result<Results, _> = serde_json::from_str(r#"{"image":"x","tool":"y","passed":[],"more":1}"#);
        assert!(bad.is_err(), "an unknown field is refused");
    }

    #[test]
    fn the_tag_changes_with_the_image_and_the_checks() {
        let checks = crate::checks::Checks::new()
            .command_succeeds("a", ["true"])
            .finish()
            .unwrap_or_else(|e| panic!("{e}"));
        let resolved: Vec<ResolvedCheck> = checks
            .into_iter()
            .map(|check| ResolvedCheck {
                check,
                declared_in: "f:1.0.0".into(),
                replaces: None,
            })
            .collect();
        let one = tag("sha256:a", &resolved);
        assert!(one.starts_with("checks-") && one.len() == 71, "{one}");
        assert_ne!(one, tag("sha256:b", &resolved));
        assert_ne!(one, tag("sha256:a", &[]));
    }
}
