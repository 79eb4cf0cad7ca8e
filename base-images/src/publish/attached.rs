//! Reading back the SBOMs attached to a published version, from the
//! registry alone (no engine): the index the lock records, each platform's
//! manifest, the SPDX artifact that refers to it (referrers API, else the
//! referrers tag schema), and the document blob, bounded in size and
//! checked against its digest.

use oci_spec::image::{ImageIndex, ImageManifest};

use super::remote::Remote;
use super::verify::index_platforms;
use super::{oci, PublishError};
use crate::sbom::SPDX_MEDIA_TYPE;

/// The largest SBOM read back.
pub const MAX_SBOM_BYTES: u64 = 64 << 20;

/// One platform's attached SBOM.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttachedSbom {
    /// `os/arch[/variant]`.
    pub platform: String,
    /// The platform manifest's digest (the SBOM's subject).
    pub manifest: String,
    /// The SPDX JSON document.
    pub document: Vec<u8>,
}

/// The SBOM of each platform of the index `index_digest` in `repository`.
pub async fn attached_sboms(
    remote: &Remote,
    repository: &str,
    index_digest: &str,
) -> Result<Vec<AttachedSbom>, PublishError> {
    let missing = |what: String| PublishError::Document(format!("{}/{repository}: {what}", remote.registry()));
    let (bytes, _) = remote
        .manifest(repository, index_digest, &[oci::OCI_INDEX])
        .await?
        .ok_or_else(|| missing(format!("the index {index_digest} is not in the registry")))?;
    let index: ImageIndex = serde_json::from_slice(&bytes)
        .map_err(|e| missing(format!("{index_digest} is not an OCI image index: {e}")))?;
    let mut found = Vec::new();
    for (platform, manifest) in index_platforms(&index) {
        let artifact = remote
            .referrers(repository, &manifest, SPDX_MEDIA_TYPE)
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| {
                missing(format!(
                    "the {platform} manifest ({manifest}) has no SBOM attached; publish the version again to attach it"
                ))
            })?;
        let document = document_of(remote, repository, &artifact).await?;
        found.push(AttachedSbom {
            platform,
            manifest,
            document,
        });
    }
    Ok(found)
}

/// The SPDX document the artifact manifest `artifact` carries.
async fn document_of(remote: &Remote, repository: &str, artifact: &str) -> Result<Vec<u8>, PublishError> {
    let refused = |why: String| PublishError::Document(format!("the SBOM artifact {artifact} in {repository} {why}"));
    let (bytes, _) = remote
        .manifest(repository, artifact, &[oci::OCI_MANIFEST])
        .await?
        .ok_or_else(|| refused("is listed as a referrer but is not in the registry".into()))?;
    let manifest: ImageManifest =
        serde_json::from_slice(&bytes).map_err(|e| refused(format!("is not an image manifest: {e}")))?;
    let layer = manifest
        .layers()
        .iter()
        .find(|l| l.media_type().to_string() == SPDX_MEDIA_TYPE)
        .ok_or_else(|| refused(format!("has no {SPDX_MEDIA_TYPE} layer")))?;
    if layer.size() > MAX_SBOM_BYTES {
        return Err(refused(format!(
            "is {} bytes, more than an SBOM read back may be ({MAX_SBOM_BYTES})",
            layer.size()
        )));
    }
    let digest = layer.digest().to_string();
    let document = remote.blob(repository, &digest, MAX_SBOM_BYTES).await?;
    if oci::sha256(&document) != digest || document.len() as u64 != layer.size() {
        return Err(refused(format!(
            "names the blob {digest} ({} bytes), but the registry sent {} ({} bytes)",
            layer.size(),
            oci::sha256(&document),
            document.len()
        )));
    }
    Ok(document)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    use super::*;
    use crate::publish::auth;

    /// A registry of fixed content on loopback (manifests by tag or
    /// digest, blobs by digest, no referrers API), ended when dropped.
    struct FakeRegistry {
        host: String,
        stop: Arc<AtomicBool>,
    }

    impl Drop for FakeRegistry {
        fn drop(&mut self) {
            self.stop.store(true, Ordering::SeqCst);
        }
    }

    fn serve(manifests: BTreeMap<String, Vec<u8>>, blobs: BTreeMap<String, Vec<u8>>) -> FakeRegistry {
        let server = tiny_http::Server::http("127.0.0.1:0").expect("a loopback port");
        let host = server.server_addr().to_ip().map(|a| a.to_string()).unwrap_or_default();
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        std::thread::spawn(move || {
            while !stopped.load(Ordering::SeqCst) {
                let Ok(Some(request)) = server.recv_timeout(std::time::Duration::from_millis(50)) else {
                    continue;
                };
                let url = request.url().split('?').next().unwrap_or_default().to_owned();
                let found = match url.strip_prefix("/v2/repo/") {
                    Some(rest) if rest.starts_with("manifests/") => manifests.get(&rest["manifests/".len()..]),
                    Some(rest) if rest.starts_with("blobs/") => blobs.get(&rest["blobs/".len()..]),
                    _ => None,
                };
                let response = match (url.as_str(), found) {
                    ("/v2/", _) => tiny_http::Response::from_data(b"{}".to_vec()),
                    (_, Some(bytes)) => {
                        let media_type = serde_json::from_slice::<serde_json::Value>(bytes)
                            .ok()
                            .and_then(|v| v["mediaType"].as_str().map(str::to_owned))
                            .unwrap_or_else(|| "application/octet-stream".into());
                        let header = |name: &str, value: &str| {
                            tiny_http::Header::from_bytes(name.as_bytes(), value.as_bytes()).expect("a header")
                        };
                        tiny_http::Response::from_data(bytes.clone())
                            .with_header(header("Content-Type", &media_type))
                            .with_header(header("Docker-Content-Digest", &oci::sha256(bytes)))
                    }
                    _ => tiny_http::Response::from_data(
                        br#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"unknown"}]}"#.to_vec(),
                    )
                    .with_status_code(404),
                };
                let _ = request.respond(response);
            }
        });
        FakeRegistry { host, stop }
    }

    fn json(value: serde_json::Value) -> Vec<u8> {
        serde_json::to_vec(&value).unwrap_or_default()
    }

    fn descriptor(media_type: &str, bytes: &[u8]) -> serde_json::Value {
        serde_json::json!({"mediaType": media_type, "digest": oci::sha256(bytes), "size": bytes.len()})
    }

    /// An index with one amd64 manifest and, when `artifact` is given, that
    /// artifact listed as its SBOM referrer: (manifests, the index digest).
    fn published(artifact: Option<&[u8]>) -> (BTreeMap<String, Vec<u8>>, String) {
        let manifest = json(serde_json::json!({"schemaVersion": 2, "mediaType": oci::OCI_MANIFEST,
            "config": descriptor(oci::OCI_EMPTY, b"{}"), "layers": []}));
        let mut entry = descriptor(oci::OCI_MANIFEST, &manifest);
        entry["platform"] = serde_json::json!({"os": "linux", "architecture": "amd64"});
        let index = json(serde_json::json!({"schemaVersion": 2, "mediaType": oci::OCI_INDEX, "manifests": [entry]}));
        let mut manifests = BTreeMap::from([
            (oci::sha256(&index), index.clone()),
            (oci::sha256(&manifest), manifest.clone()),
        ]);
        if let Some(artifact) = artifact {
            let mut listed = descriptor(oci::OCI_MANIFEST, artifact);
            listed["artifactType"] = SPDX_MEDIA_TYPE.into();
            let referrers =
                json(serde_json::json!({"schemaVersion": 2, "mediaType": oci::OCI_INDEX, "manifests": [listed]}));
            manifests.insert(oci::referrers_tag(&oci::sha256(&manifest)), referrers);
            manifests.insert(oci::sha256(artifact), artifact.to_vec());
        }
        (manifests, oci::sha256(&index))
    }

    fn artifact(layer: serde_json::Value) -> Vec<u8> {
        json(
            serde_json::json!({"schemaVersion": 2, "mediaType": oci::OCI_MANIFEST, "artifactType": SPDX_MEDIA_TYPE,
            "config": descriptor(oci::OCI_EMPTY, b"{}"), "layers": [layer]}),
        )
    }

    async fn read(
        manifests: BTreeMap<String, Vec<u8>>,
        blobs: BTreeMap<String, Vec<u8>>,
        index: &str,
    ) -> Result<Vec<AttachedSbom>, String> {
        let registry = serve(manifests, blobs);
        let remote = auth::remote(&registry.host).map_err(|e| e.to_string())?;
        attached_sboms(&remote, "repo", index).await.map_err(|e| e.to_string())
    }

    const SBOM: &[u8] = br#"{"spdxVersion": "SPDX-2.3"}"#;

    #[tokio::test]
    async fn each_platforms_sbom_is_read_back_and_checked() {
        let sbom_artifact = artifact(descriptor(SPDX_MEDIA_TYPE, SBOM));
        let (manifests, index) = published(Some(&sbom_artifact));
        let blobs = BTreeMap::from([(oci::sha256(SBOM), SBOM.to_vec())]);
        let found = read(manifests.clone(), blobs, &index).await.expect("the SBOM");
        assert_eq!(found.len(), 1);
        assert_eq!(
            (found[0].platform.as_str(), found[0].document.as_slice()),
            ("linux/amd64", SBOM)
        );

        let tampered = BTreeMap::from([(oci::sha256(SBOM), b"{\"other\": 1}".to_vec())]);
        let error = read(manifests, tampered, &index).await.expect_err("another blob");
        assert!(error.contains(&format!("read blob {}", oci::sha256(SBOM))), "{error}");
    }

    #[tokio::test]
    async fn what_is_missing_or_malformed_is_named() {
        let (manifests, index) = published(None);
        let error = read(manifests.clone(), BTreeMap::new(), &index)
            .await
            .expect_err("no SBOM");
        assert!(
            error.contains("has no SBOM attached; publish the version again to attach it"),
            "{error}"
        );
        let gone = format!("sha256:{}", "0".repeat(64));
        let error = read(manifests.clone(), BTreeMap::new(), &gone)
            .await
            .expect_err("no index");
        assert!(
            error.contains(&format!("the index {gone} is not in the registry")),
            "{error}"
        );

        let manifest_digest = manifests.keys().find(|k| **k != index).cloned().unwrap_or_default();
        let error = read(manifests.clone(), BTreeMap::new(), &manifest_digest)
            .await
            .expect_err("a manifest, not an index");
        assert!(error.contains("is not an OCI image index"), "{error}");

        let not_spdx = artifact(descriptor("text/plain", SBOM));
        let (manifests, index) = published(Some(&not_spdx));
        let error = read(manifests, BTreeMap::new(), &index)
            .await
            .expect_err("no SPDX layer");
        assert!(error.contains("has no application/spdx+json layer"), "{error}");

        let mut huge = descriptor(SPDX_MEDIA_TYPE, SBOM);
        huge["size"] = (MAX_SBOM_BYTES + 1).into();
        let (manifests, index) = published(Some(&artifact(huge)));
        let error = read(manifests, BTreeMap::new(), &index).await.expect_err("too large");
        assert!(error.contains("more than an SBOM read back may be"), "{error}");

        let listed_only = artifact(descriptor(SPDX_MEDIA_TYPE, SBOM));
        let (mut manifests, index) = published(Some(&listed_only));
        manifests.remove(&oci::sha256(&listed_only));
        let error = read(manifests, BTreeMap::new(), &index)
            .await
            .expect_err("artifact gone");
        assert!(
            error.contains("is listed as a referrer but is not in the registry"),
            "{error}"
        );
    }
}
