//! A registry of fixed content on loopback, for the tests of what reads a
//! registry: manifests by tag or digest, blobs by digest and, when given
//! one, a referrers API that answers its list whatever `artifactType` it
//! is asked for (as a registry that does not filter); without one, the
//! referrers API is missing (404) and readers fall back to the tag schema.
//! Answers can be sent chunked (no `Content-Length`). Ended when dropped.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::oci;

/// What the fake registry serves.
#[derive(Clone, Debug, Default)]
pub(crate) struct Content {
    /// Manifests, by tag or digest.
    pub(crate) manifests: BTreeMap<String, Vec<u8>>,
    /// Blobs, by digest.
    pub(crate) blobs: BTreeMap<String, Vec<u8>>,
    /// The referrers API's lists, by subject digest (`None`: no API).
    pub(crate) referrers: Option<BTreeMap<String, Vec<u8>>>,
    /// Whether answers are sent chunked, their length unsaid.
    pub(crate) chunked: bool,
}

/// A running fake registry.
pub(crate) struct FakeRegistry {
    /// `127.0.0.1:port`.
    pub(crate) host: String,
    stop: Arc<AtomicBool>,
}

impl Drop for FakeRegistry {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

/// Serves `manifests` and `blobs` (no referrers API).
pub(crate) fn serve(manifests: BTreeMap<String, Vec<u8>>, blobs: BTreeMap<String, Vec<u8>>) -> FakeRegistry {
    serve_content(Content {
        manifests,
        blobs,
        ..Content::default()
    })
}

/// Serves `content`.
pub(crate) fn serve_content(content: Content) -> FakeRegistry {
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
            let _ = request.respond(answer(&content, &url));
        }
    });
    FakeRegistry { host, stop }
}

fn answer(content: &Content, url: &str) -> tiny_http::Response<std::io::Cursor<Vec<u8>>> {
    let rest = url.strip_prefix("/v2/repo/").unwrap_or_default();
    let empty_index = || json(serde_json::json!({"schemaVersion": 2, "mediaType": oci::OCI_INDEX, "manifests": []}));
    let found = if let Some(reference) = rest.strip_prefix("manifests/") {
        content.manifests.get(reference).cloned()
    } else if let Some(digest) = rest.strip_prefix("blobs/") {
        content.blobs.get(digest).cloned()
    } else if let Some(subject) = rest.strip_prefix("referrers/") {
        let lists = content.referrers.as_ref();
        lists.map(|lists| lists.get(subject).cloned().unwrap_or_else(empty_index))
    } else {
        None
    };
    let (status, bytes) = match (url, found) {
        ("/v2/", _) => (200, b"{}".to_vec()),
        (_, Some(bytes)) => (200, bytes),
        _ => (
            404,
            br#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"unknown"}]}"#.to_vec(),
        ),
    };
    let media_type = serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()
        .and_then(|v| v["mediaType"].as_str().map(str::to_owned))
        .unwrap_or_else(|| "application/octet-stream".into());
    let header =
        |name: &str, value: &str| tiny_http::Header::from_bytes(name.as_bytes(), value.as_bytes()).expect("a header");
    let headers = vec![
        header("Content-Type", &media_type),
        header("Docker-Content-Digest", &oci::sha256(&bytes)),
    ];
    let length = (!content.chunked).then_some(bytes.len());
    tiny_http::Response::new(
        tiny_http::StatusCode(status),
        headers,
        std::io::Cursor::new(bytes),
        length,
        None,
    )
}

/// `value` as JSON bytes.
pub(crate) fn json(value: serde_json::Value) -> Vec<u8> {
    serde_json::to_vec(&value).unwrap_or_default()
}

/// The descriptor of `bytes` as `media_type`.
pub(crate) fn descriptor(media_type: &str, bytes: &[u8]) -> serde_json::Value {
    serde_json::json!({"mediaType": media_type, "digest": oci::sha256(bytes), "size": bytes.len()})
}
