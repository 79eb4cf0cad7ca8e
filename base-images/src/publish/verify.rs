//! Checking a published version against its declaration and the lock,
//! from the registry alone: the tag resolves to the index digest the lock
//! records; the index holds exactly the family's platforms; the index's and
//! each manifest's annotations equal what publishing the declaration
//! writes; each platform manifest has an SBOM (`attached`: an SPDX referrer
//! whose subject is that manifest, its document SPDX describing that
//! manifest and platform); with a public key,
//! a signature of the index (cosign's key-based format) verifies with it. Every difference is
//! collected (none stops the others), so one run names them all. Running
//! the version's checks on the pulled images is the caller's (it needs the
//! engine).

use std::collections::BTreeMap;

use oci_spec::image::{ImageIndex, ImageManifest};

use super::attached;
use super::remote::Remote;
use super::sign::{self, Verifier};
use super::{annotations, oci, Provenance, PublishError, Target};
use crate::lock::LockEntry;
use crate::BaseImage;

/// What the registry holds of a published version, and how it differs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Verified {
    /// Each difference, as a sentence naming what and where.
    pub differences: Vec<String>,
    /// What held, one line each.
    pub held: Vec<String>,
    /// The platform manifests the examined index lists: platform, digest.
    pub platforms: Vec<(String, String)>,
    /// The digest of the index examined (the tag's, else the lock's).
    pub index: Option<String>,
}

/// A public key to check the index's signature with, and how to name it.
#[derive(Clone, Copy, Debug)]
pub struct Key<'a> {
    /// The key.
    pub verifier: &'a Verifier,
    /// Its file, for messages.
    pub name: &'a str,
}

/// Checks `image`, published as `entry` records, at `target` on `remote`;
/// with a `key`, also that the index is signed with it.
pub async fn verify(
    remote: &Remote,
    target: &Target,
    image: &BaseImage,
    entry: &LockEntry,
    key: Option<Key<'_>>,
) -> Result<Verified, crate::Error> {
    let mut found = Verified::default();
    let published = entry.published.as_ref().ok_or_else(|| {
        PublishError::Document(format!("{} is not recorded as published in versions.lock", entry.name))
    })?;
    let index_digest = resolve_tag(remote, target, &published.index, &mut found).await?;
    let Some(index) = read_index(remote, target, &index_digest, &mut found).await? else {
        return Ok(found);
    };
    found.platforms = oci::index_platforms(&index);
    let listed: Vec<&str> = found.platforms.iter().map(|(p, _)| p.as_str()).collect();
    match platform_difference(image.platforms(), &listed) {
        Some(difference) => found.differences.push(difference),
        None => found
            .held
            .push(format!("the index holds exactly {}", listed.join(", "))),
    }
    let provenance = Provenance {
        created: published.created.clone(),
        revision: published.revision.clone(),
        source: published.source.clone(),
    };
    let expected = annotations(image, &provenance, None, &entry.local_roots)?;
    let differences = annotation_differences("the index", &expected, &annotations_of(index.annotations()));
    let mut annotations_differ = differences.len();
    found.differences.extend(differences);
    let declared = Declared {
        image,
        entry,
        provenance: &provenance,
    };
    for (platform, digest) in found.platforms.clone() {
        annotations_differ += check_manifest(remote, target, declared, (&platform, &digest), &mut found).await?;
        check_sbom(remote, target, (&platform, &digest), &mut found).await;
    }
    if annotations_differ == 0 {
        found.held.push("the annotations equal the declaration".to_owned());
    }
    if let Some(key) = key {
        // A signature names the repository it was made for: this one, or
        // another the lock records for this very index (copied from it).
        let mut homes = vec![target.repository_address()];
        homes.extend(entry.published.iter().flat_map(|p| p.repositories.iter().cloned()));
        match signed_with(remote, target, &index_digest, key, &homes).await? {
            Ok(held) => found.held.push(held),
            Err(difference) => found.differences.push(difference),
        }
    }
    Ok(found)
}

/// What a published version is checked against: its declaration and what
/// versions.lock records of it.
#[derive(Clone, Copy)]
struct Declared<'a> {
    image: &'a BaseImage,
    entry: &'a LockEntry,
    provenance: &'a Provenance,
}

/// Resolves `target`'s tag and notes in `found` whether it is the index
/// versions.lock records (`recorded`); the digest of the index to examine
/// (the tag's, else the recorded one).
async fn resolve_tag(
    remote: &Remote,
    target: &Target,
    recorded: &str,
    found: &mut Verified,
) -> Result<String, PublishError> {
    let digest = match remote.resolve(&target.repository, &target.tag).await? {
        Some(digest) if digest == recorded => {
            found.held.push(format!(
                "{} resolves to {digest}, as versions.lock records",
                target.address()
            ));
            digest
        }
        Some(digest) => {
            found.differences.push(format!(
                "{} resolves to {digest}, but versions.lock records {}",
                target.address(),
                recorded
            ));
            digest
        }
        None => {
            found.differences.push(format!(
                "{} does not exist (versions.lock records {})",
                target.address(),
                recorded
            ));
            recorded.to_owned()
        }
    };
    found.index = Some(digest.clone());
    Ok(digest)
}

/// The index `digest` in `target`'s repository; `None`, noted in `found`,
/// when it is not there or is no OCI image index.
async fn read_index(
    remote: &Remote,
    target: &Target,
    digest: &str,
    found: &mut Verified,
) -> Result<Option<ImageIndex>, PublishError> {
    let Some((bytes, _)) = remote.manifest(&target.repository, digest, &[oci::OCI_INDEX]).await? else {
        found.differences.push(format!(
            "{}@{digest} is not in the registry",
            target.repository_address()
        ));
        return Ok(None);
    };
    match serde_json::from_slice(&bytes) {
        Ok(index) => Ok(Some(index)),
        Err(e) => {
            found
                .differences
                .push(format!("{digest} is not an OCI image index: {e}"));
            Ok(None)
        }
    }
}

/// Notes in `found` how the annotations of `platform`'s manifest
/// (`digest`) differ from the declaration's, or that it is missing or
/// unreadable; how many annotations differ.
async fn check_manifest(
    remote: &Remote,
    target: &Target,
    declared: Declared<'_>,
    (platform, digest): (&str, &str),
    found: &mut Verified,
) -> Result<usize, crate::Error> {
    let what = format!("the {platform} manifest");
    match remote
        .manifest(&target.repository, digest, &[oci::OCI_MANIFEST])
        .await?
    {
        Some((bytes, _)) => match serde_json::from_slice::<ImageManifest>(&bytes) {
            Ok(manifest) => {
                let Declared {
                    image,
                    entry,
                    provenance,
                } = declared;
                let expected = annotations(image, provenance, Some(platform), &entry.local_roots)?;
                let differences = annotation_differences(&what, &expected, &annotations_of(manifest.annotations()));
                let count = differences.len();
                found.differences.extend(differences);
                return Ok(count);
            }
            Err(e) => found
                .differences
                .push(format!("{what} ({digest}) is not an image manifest: {e}")),
        },
        None => found
            .differences
            .push(format!("{what} ({digest}) is not in the registry")),
    }
    Ok(0)
}

/// Notes in `found` whether `platform`'s manifest (`digest`) has an SBOM.
async fn check_sbom(remote: &Remote, target: &Target, (platform, digest): (&str, &str), found: &mut Verified) {
    match attached::attached_sbom(remote, &target.repository, platform, digest).await {
        Ok(_) => found
            .held
            .push(format!("{platform} has an SBOM: SPDX, about its manifest")),
        Err(PublishError::Document(why)) => found.differences.push(why),
        Err(e) => found.differences.push(e.to_string()),
    }
}

/// Whether a signature of `digest` under its signature tag verifies with
/// `key` and names this digest and one of the repositories `homes`: what
/// held, or the difference.
async fn signed_with(
    remote: &Remote,
    target: &Target,
    digest: &str,
    key: Key<'_>,
    homes: &[String],
) -> Result<Result<String, String>, crate::Error> {
    let repository = target.repository.as_str();
    let tag = sign::signature_tag(digest);
    let Some((manifest, _)) = remote.manifest(repository, &tag, &[oci::OCI_MANIFEST]).await? else {
        return Ok(Err(format!(
            "{digest} is not signed: {}:{tag} does not exist; publish it with --sign-key",
            target.repository_address()
        )));
    };
    let signatures = sign::signatures_in(&manifest);
    for (payload_digest, signature) in &signatures {
        let payload = remote.blob(repository, payload_digest, sign::MAX_PAYLOAD_BYTES).await?;
        if oci::sha256(&payload) == *payload_digest
            && homes.iter().any(|home| sign::payload_names(&payload, home, digest))
            && key.verifier.verifies(&payload, signature)
        {
            return Ok(Ok(format!("{digest} is signed with {}", key.name)));
        }
    }
    Ok(Err(format!(
        "none of the {} signature(s) of {digest} verifies with {} (signed with another key, or for another digest)",
        signatures.len(),
        key.name
    )))
}

/// How the platforms an index lists differ from those declared, if they do.
pub fn platform_difference(declared: &[&str], listed: &[&str]) -> Option<String> {
    let mut declared_sorted: Vec<&str> = declared.to_vec();
    declared_sorted.sort_unstable();
    let mut listed_sorted: Vec<&str> = listed.to_vec();
    listed_sorted.sort_unstable();
    if declared_sorted == listed_sorted {
        return None;
    }
    let missing: Vec<&str> = declared_sorted
        .iter()
        .filter(|p| !listed_sorted.contains(p))
        .copied()
        .collect();
    let extra: Vec<&str> = listed_sorted
        .iter()
        .filter(|p| !declared_sorted.contains(p))
        .copied()
        .collect();
    let mut parts = Vec::new();
    if !missing.is_empty() {
        parts.push(format!("missing {}", missing.join(", ")));
    }
    if !extra.is_empty() {
        parts.push(format!("not declared: {}", extra.join(", ")));
    }
    if parts.is_empty() {
        parts.push("a platform listed twice".to_owned());
    }
    Some(format!(
        "the index holds {}, but the family declares {} ({})",
        if listed.is_empty() {
            "no platform".to_owned()
        } else {
            listed.join(", ")
        },
        declared.join(", "),
        parts.join("; ")
    ))
}

/// Each annotation of `expected` that `actual` lacks or holds another value for.
pub fn annotation_differences(
    what: &str,
    expected: &BTreeMap<String, String>,
    actual: &BTreeMap<String, String>,
) -> Vec<String> {
    expected
        .iter()
        .filter_map(|(key, want)| match actual.get(key) {
            Some(have) if have == want => None,
            Some(have) => Some(format!(
                "{what}'s annotation {key} is \"{have}\", but the declaration says \"{want}\""
            )),
            None => Some(format!(
                "{what} has no annotation {key} (the declaration says \"{want}\")"
            )),
        })
        .collect()
}

fn annotations_of(map: &Option<std::collections::HashMap<String, String>>) -> BTreeMap<String, String> {
    map.clone().unwrap_or_default().into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platforms_must_be_exactly_those_declared() {
        let declared = ["linux/amd64", "linux/arm64"];
        assert_eq!(platform_difference(&declared, &["linux/arm64", "linux/amd64"]), None);
        assert_eq!(
            platform_difference(&declared, &["linux/amd64"]).as_deref(),
            Some("the index holds linux/amd64, but the family declares linux/amd64, linux/arm64 (missing linux/arm64)")
        );
        assert_eq!(
            platform_difference(&["linux/amd64"], &["linux/amd64", "linux/s390x"]).as_deref(),
            Some("the index holds linux/amd64, linux/s390x, but the family declares linux/amd64 (not declared: linux/s390x)")
        );
        assert!(platform_difference(&["linux/amd64"], &["linux/amd64", "linux/amd64"])
            .is_some_and(|d| d.contains("listed twice")));
    }

    #[test]
    fn each_changed_or_missing_annotation_is_named() {
        let expected: BTreeMap<String, String> = [
            ("org.opencontainers.image.version".to_owned(), "1.1.0".to_owned()),
            (
                "org.opencontainers.image.created".to_owned(),
                "2026-11-26T00:00:00Z".to_owned(),
            ),
        ]
        .into();
        let mut actual = expected.clone();
        assert!(annotation_differences("the index", &expected, &actual).is_empty());
        actual.insert("org.opencontainers.image.version".into(), "9.9.9".into());
        actual.remove("org.opencontainers.image.created");
        actual.insert("org.example.extra".into(), "kept".into());
        assert_eq!(
            annotation_differences("the index", &expected, &actual),
            [
                "the index has no annotation org.opencontainers.image.created (the declaration says \"2026-11-26T00:00:00Z\")",
                "the index's annotation org.opencontainers.image.version is \"9.9.9\", but the declaration says \"1.1.0\"",
            ]
        );
    }
}
