//! The OCI documents of a published version, built from what the engine
//! says of each platform's image: an image configuration (its `created`
//! time given, never the wall clock; no history, whose per-step times
//! would change with every rebuild), an image manifest per platform and an
//! image index, each serialized as canonical JSON (sorted keys, no
//! insignificant whitespace) so equal inputs give equal digests. An SBOM
//! travels as an OCI 1.1 artifact: an image manifest with `artifactType`,
//! the empty config and a `subject` (the platform manifest), listed in the
//! referrers index that the referrers tag schema keeps under `sha256-<hex>`.

use std::collections::{BTreeMap, HashMap};

use oci_spec::image::{
    ConfigBuilder, Descriptor, DescriptorBuilder, ImageConfigurationBuilder, ImageIndex, ImageIndexBuilder,
    ImageManifestBuilder, MediaType, PlatformBuilder, RootFsBuilder,
};
use serde::Serialize;

use super::{ImageFacts, PublishError};
use crate::platform::{InvalidPlatform, Platform};

pub use crate::media_type::{
    DOCKER_LIST, DOCKER_MANIFEST, MANIFEST_MEDIA_TYPES, OCI_CONFIG, OCI_EMPTY, OCI_INDEX, OCI_LAYER_GZIP, OCI_MANIFEST,
};

/// A blob a manifest refers to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Blob {
    /// `sha256:…` of its bytes.
    pub digest: String,
    /// Its size in bytes.
    pub size: u64,
}

/// A JSON document pushed as a blob or a manifest: its exact bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Document {
    /// Its media type.
    pub media_type: &'static str,
    /// Its canonical JSON.
    pub bytes: Vec<u8>,
    /// `sha256:…` of `bytes`.
    pub digest: String,
}

impl Document {
    /// A document of exactly `bytes` (an SBOM, the empty config).
    pub fn raw(media_type: &'static str, bytes: Vec<u8>) -> Document {
        let digest = sha256(&bytes);
        Document {
            media_type,
            bytes,
            digest,
        }
    }

    /// `{}`, the config of an artifact manifest.
    pub fn empty() -> Document {
        Document::raw(OCI_EMPTY, b"{}".to_vec())
    }

    /// `value` as canonical JSON (sorted keys, no insignificant whitespace).
    pub fn canonical<T: Serialize>(media_type: &'static str, value: &T) -> Result<Document, PublishError> {
        let mut bytes = Vec::new();
        let mut serializer = serde_json::Serializer::with_formatter(&mut bytes, olpc_cjson::CanonicalFormatter::new());
        value
            .serialize(&mut serializer)
            .map_err(|e| PublishError::Document(format!("cannot serialize a {media_type}: {e}")))?;
        let digest = sha256(&bytes);
        Ok(Document {
            media_type,
            bytes,
            digest,
        })
    }

    /// Its descriptor.
    fn descriptor(&self) -> Result<Descriptor, PublishError> {
        descriptor(self.media_type, &self.digest, self.bytes.len() as u64)
    }
}

/// `sha256:` and the hex digest of `bytes` (the crate's one helper).
pub use crate::sha256::digest_of as sha256;

fn descriptor(media_type: &str, digest: &str, size: u64) -> Result<Descriptor, PublishError> {
    let digest: oci_spec::image::Digest = digest
        .parse()
        .map_err(|e| PublishError::Document(format!("{digest} is not a digest: {e}")))?;
    Ok(Descriptor::new(MediaType::from(media_type), size, digest))
}

fn spec_error(e: oci_spec::OciSpecError) -> PublishError {
    PublishError::Document(e.to_string())
}

/// The image configuration of `facts`, created at `created` (RFC 3339).
pub fn config(facts: &ImageFacts, created: &str) -> Result<Document, PublishError> {
    let mut runtime = ConfigBuilder::default().env(facts.env.clone()).labels(
        facts
            .labels
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect::<HashMap<_, _>>(),
    );
    if let Some(user) = &facts.user {
        runtime = runtime.user(user.clone());
    }
    if !facts.exposed_ports.is_empty() {
        runtime = runtime.exposed_ports(facts.exposed_ports.clone());
    }
    if let Some(entrypoint) = &facts.entrypoint {
        runtime = runtime.entrypoint(entrypoint.clone());
    }
    if let Some(cmd) = &facts.cmd {
        runtime = runtime.cmd(cmd.clone());
    }
    if !facts.volumes.is_empty() {
        runtime = runtime.volumes(facts.volumes.clone());
    }
    if let Some(dir) = &facts.working_dir {
        runtime = runtime.working_dir(dir.clone());
    }
    if let Some(signal) = &facts.stop_signal {
        runtime = runtime.stop_signal(signal.clone());
    }
    let rootfs = RootFsBuilder::default()
        .typ("layers")
        .diff_ids(facts.diff_ids.clone())
        .build()
        .map_err(spec_error)?;
    let mut builder = ImageConfigurationBuilder::default()
        .created(created.to_owned())
        .architecture(facts.architecture.as_str())
        .os(facts.os.as_str())
        .config(runtime.build().map_err(spec_error)?)
        .rootfs(rootfs);
    if let Some(variant) = &facts.variant {
        builder = builder.variant(variant.clone());
    }
    Document::canonical(OCI_CONFIG, &builder.build().map_err(spec_error)?)
}

/// The image manifest of `config` and `layers`, with `annotations`.
pub fn manifest(
    config: &Document,
    layers: &[Blob],
    annotations: &BTreeMap<String, String>,
) -> Result<Document, PublishError> {
    let layers = layers
        .iter()
        .map(|l| descriptor(OCI_LAYER_GZIP, &l.digest, l.size))
        .collect::<Result<Vec<_>, _>>()?;
    let manifest = ImageManifestBuilder::default()
        .schema_version(2u32)
        .media_type(MediaType::ImageManifest)
        .config(config.descriptor()?)
        .layers(layers)
        .annotations(annotations.clone().into_iter().collect::<HashMap<_, _>>())
        .build()
        .map_err(spec_error)?;
    Document::canonical(OCI_MANIFEST, &manifest)
}

/// The image index of `manifests` (each platform, `os/arch[/variant]`,
/// with its image manifest), with `annotations`.
pub fn index(
    manifests: &[(&str, &Document)],
    annotations: &BTreeMap<String, String>,
) -> Result<Document, PublishError> {
    let manifests = manifests
        .iter()
        .map(|(platform, manifest)| {
            let platform: Platform = platform
                .parse()
                .map_err(|e: InvalidPlatform| PublishError::Document(e.to_string()))?;
            let mut described = PlatformBuilder::default()
                .os(platform.os())
                .architecture(platform.architecture());
            if let Some(variant) = platform.variant() {
                described = described.variant(variant.to_owned());
            }
            let base = manifest.descriptor()?;
            DescriptorBuilder::default()
                .media_type(MediaType::ImageManifest)
                .digest(base.digest().clone())
                .size(base.size())
                .platform(described.build().map_err(spec_error)?)
                .build()
                .map_err(spec_error)
        })
        .collect::<Result<Vec<_>, _>>()?;
    let index = ImageIndexBuilder::default()
        .schema_version(2u32)
        .media_type(MediaType::ImageIndex)
        .manifests(manifests)
        .annotations(annotations.clone().into_iter().collect::<HashMap<_, _>>())
        .build()
        .map_err(spec_error)?;
    Document::canonical(OCI_INDEX, &index)
}

/// The manifest of an artifact of `artifact_type` made of the one blob
/// `blob`, referring to the manifest `subject` (when it has one), with `annotations`.
pub fn artifact(
    artifact_type: &str,
    blob: &Document,
    subject: Option<&Document>,
    annotations: &BTreeMap<String, String>,
) -> Result<Document, PublishError> {
    let mut manifest = ImageManifestBuilder::default()
        .schema_version(2u32)
        .media_type(MediaType::ImageManifest)
        .artifact_type(MediaType::from(artifact_type))
        .config(Document::empty().descriptor()?)
        .layers(vec![blob.descriptor()?])
        .annotations(annotations.clone().into_iter().collect::<HashMap<_, _>>());
    if let Some(subject) = subject {
        manifest = manifest.subject(subject.descriptor()?);
    }
    Document::canonical(OCI_MANIFEST, &manifest.build().map_err(spec_error)?)
}

/// The platforms (`os/arch[/variant]`) and manifest digests an index lists.
pub fn index_platforms(index: &ImageIndex) -> Vec<(String, String)> {
    index
        .manifests()
        .iter()
        .map(|d| {
            let platform = d.platform().as_ref().map_or_else(
                || "unknown platform".to_owned(),
                |p| {
                    Platform::from_parts(
                        &p.os().to_string(),
                        &p.architecture().to_string(),
                        p.variant().as_deref(),
                    )
                    .to_string()
                },
            );
            (platform, d.digest().to_string())
        })
        .collect()
}

/// The tag the referrers tag schema keeps a subject's referrers under
/// (`sha256:<hex>` → `sha256-<hex>`).
pub fn referrers_tag(subject_digest: &str) -> String {
    subject_digest.replacen(':', "-", 1)
}

/// The artifact manifests of `artifact_type` a referrers index lists.
pub fn referrers_of(index: &[u8], artifact_type: &str) -> Result<Vec<String>, PublishError> {
    let index: ImageIndex = serde_json::from_slice(index)
        .map_err(|e| PublishError::Document(format!("the referrers tag holds no image index: {e}")))?;
    Ok(index
        .manifests()
        .iter()
        .filter(|d| d.artifact_type().as_ref().map(MediaType::to_string).as_deref() == Some(artifact_type))
        .map(|d| d.digest().to_string())
        .collect())
}

/// The referrers index `existing` (the one the tag holds, if any) with the
/// artifact manifest `artifact` of `artifact_type` added, or `None` when it
/// lists it already.
pub fn with_referrer(
    existing: Option<&[u8]>,
    artifact: &Document,
    artifact_type: &str,
    annotations: &BTreeMap<String, String>,
) -> Result<Option<Document>, PublishError> {
    let mut manifests = match existing {
        Some(bytes) => serde_json::from_slice::<ImageIndex>(bytes)
            .map_err(|e| PublishError::Document(format!("the referrers tag holds no image index: {e}")))?
            .manifests()
            .clone(),
        None => Vec::new(),
    };
    if manifests.iter().any(|d| d.digest().to_string() == artifact.digest) {
        return Ok(None);
    }
    let mut entry = artifact.descriptor()?;
    entry.set_artifact_type(Some(MediaType::from(artifact_type)));
    if !annotations.is_empty() {
        entry.set_annotations(Some(annotations.clone().into_iter().collect()));
    }
    manifests.push(entry);
    let index = ImageIndexBuilder::default()
        .schema_version(2u32)
        .media_type(MediaType::ImageIndex)
        .manifests(manifests)
        .build()
        .map_err(spec_error)?;
    Document::canonical(OCI_INDEX, &index).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> ImageFacts {
        ImageFacts {
            os: "linux".into(),
            architecture: "arm64".into(),
            variant: None,
            user: Some("airbyte".into()),
            exposed_ports: Vec::new(),
            env: vec!["PATH=/usr/bin".into()],
            entrypoint: None,
            cmd: Some(vec!["/bin/bash".into()]),
            volumes: Vec::new(),
            working_dir: None,
            labels: [("b".to_owned(), "2".to_owned()), ("a".to_owned(), "1".to_owned())].into(),
            stop_signal: None,
            diff_ids: vec![format!("sha256:{}", "a".repeat(64))],
            created: None,
        }
    }

    #[test]
    fn config_is_canonical_json_with_the_given_time() -> Result<(), PublishError> {
        let doc = config(&facts(), "2026-11-26T00:00:00Z")?;
        let text = String::from_utf8(doc.bytes.clone()).unwrap_or_default();
        assert!(text.starts_with("{\"architecture\":\"arm64\",\"config\":{"), "{text}");
        assert!(
            text.contains("\"Labels\":{\"a\":\"1\",\"b\":\"2\"}"),
            "sorted keys: {text}"
        );
        assert!(text.contains("\"created\":\"2026-11-26T00:00:00Z\""), "{text}");
        assert!(!text.contains("history") && !text.contains(' '), "{text}");
        assert_eq!(doc.digest, sha256(&doc.bytes));
        assert_eq!(doc, config(&facts(), "2026-11-26T00:00:00Z")?, "deterministic");
        assert_ne!(doc.digest, config(&facts(), "2026-11-27T00:00:00Z")?.digest);
        Ok(())
    }

    #[test]
    fn an_artifact_refers_to_its_subject_and_is_listed_once_in_the_referrers_index() -> Result<(), PublishError> {
        let subject = Document::raw(OCI_MANIFEST, b"{\"schemaVersion\":2}".to_vec());
        let sbom = Document::raw("application/spdx+json", b"{\"spdxVersion\":\"SPDX-2.3\"}\n".to_vec());
        let notes: BTreeMap<String, String> =
            [("org.opencontainers.image.created".into(), "2026-11-26T00:00:00Z".into())].into();
        let artifact = artifact("application/spdx+json", &sbom, Some(&subject), &notes)?;
        let value: serde_json::Value = serde_json::from_slice(&artifact.bytes).unwrap_or_default();
        assert_eq!(value["artifactType"], "application/spdx+json");
        assert_eq!(value["config"]["mediaType"], OCI_EMPTY);
        assert_eq!(value["config"]["digest"], Document::empty().digest.as_str());
        assert_eq!(
            Document::empty().digest,
            "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
            "the OCI empty descriptor's digest"
        );
        assert_eq!(value["layers"][0]["digest"], sbom.digest.as_str());
        assert_eq!(value["subject"]["digest"], subject.digest.as_str());
        assert_eq!(
            referrers_tag(&subject.digest),
            subject.digest.replace("sha256:", "sha256-")
        );

        let index = with_referrer(None, &artifact, "application/spdx+json", &notes)?.expect("a new index");
        assert_eq!(
            referrers_of(&index.bytes, "application/spdx+json")?,
            [artifact.digest.as_str()]
        );
        assert_eq!(
            referrers_of(&index.bytes, "application/vnd.dev.cosign")?,
            Vec::<String>::new()
        );
        assert_eq!(
            with_referrer(Some(&index.bytes), &artifact, "application/spdx+json", &notes)?,
            None,
            "listed already"
        );
        let other = Document::raw(OCI_MANIFEST, b"{}".to_vec());
        let both = with_referrer(Some(&index.bytes), &other, "text/plain", &BTreeMap::new())?.expect("added");
        assert_eq!(
            referrers_of(&both.bytes, "application/spdx+json")?,
            [artifact.digest.as_str()]
        );
        assert_eq!(referrers_of(&both.bytes, "text/plain")?, [other.digest.as_str()]);
        assert!(with_referrer(Some(b"not json"), &artifact, "x/y", &notes).is_err());
        Ok(())
    }

    #[test]
    fn index_lists_each_platform_with_its_manifest() -> Result<(), PublishError> {
        let config = config(&facts(), "2026-11-26T00:00:00Z")?;
        let layers = [Blob {
            digest: format!("sha256:{}", "b".repeat(64)),
            size: 3,
        }];
        let notes: BTreeMap<String, String> = [("org.opencontainers.image.version".into(), "1.0.0".into())].into();
        let manifest = manifest(&config, &layers, &notes)?;
        let index = index(&[("linux/arm64", &manifest)], &notes)?;
        let value: serde_json::Value = serde_json::from_slice(&index.bytes).unwrap_or_default();
        assert_eq!(value["mediaType"], OCI_INDEX);
        assert_eq!(value["manifests"][0]["digest"], manifest.digest.as_str());
        assert_eq!(value["manifests"][0]["platform"]["architecture"], "arm64");
        assert_eq!(value["annotations"]["org.opencontainers.image.version"], "1.0.0");
        let manifest_value: serde_json::Value = serde_json::from_slice(&manifest.bytes).unwrap_or_default();
        assert_eq!(manifest_value["layers"][0]["mediaType"], OCI_LAYER_GZIP);
        assert_eq!(
            manifest_value["config"]["mediaType"],
            "application/vnd.oci.image.config.v1+json"
        );
        Ok(())
    }
}
