//! The registry a family is published to, through `oci-client`: a tag
//! resolved with every manifest media type in `Accept`, blobs checked
//! (HEAD), mounted from another repository of the same registry, or
//! uploaded from a file with progress, manifests pushed by digest and,
//! last, the tag. Plain HTTP only for a loopback registry.

use std::path::Path;

use futures_util::StreamExt as _;
use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::errors::{OciDistributionError, OciErrorCode};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference, RegistryOperation};

use super::oci::{Document, MANIFEST_MEDIA_TYPES};
use super::PublishError;

/// How long connecting to a registry may take.
const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

pub use crate::address::is_loopback;

/// A registry and the credentials to push to it.
pub struct Remote {
    client: Client,
    registry: String,
    auth: RegistryAuth,
    /// Where the credentials came from, for messages (never the secret).
    auth_source: String,
}

impl std::fmt::Debug for Remote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Remote")
            .field("registry", &self.registry)
            .field("auth_source", &self.auth_source)
            .finish()
    }
}

impl Remote {
    /// The registry `registry` (`host[:port]`), with `auth` found in
    /// `auth_source`.
    pub fn new(registry: &str, auth: RegistryAuth, auth_source: impl Into<String>) -> Remote {
        let protocol = if is_loopback(registry) {
            ClientProtocol::HttpsExcept(vec![registry.to_owned()])
        } else {
            ClientProtocol::Https
        };
        let client = Client::new(ClientConfig {
            protocol,
            use_monolithic_push: true,
            connect_timeout: Some(CONNECT_TIMEOUT),
            ..ClientConfig::default()
        });
        Remote {
            client,
            registry: registry.to_owned(),
            auth,
            auth_source: auth_source.into(),
        }
    }

    /// The registry's address.
    pub fn registry(&self) -> &str {
        &self.registry
    }

    fn reference(&self, repository: &str, reference: &str) -> Reference {
        if reference.starts_with("sha256:") {
            Reference::with_digest(self.registry.clone(), repository.to_owned(), reference.to_owned())
        } else {
            Reference::with_tag(self.registry.clone(), repository.to_owned(), reference.to_owned())
        }
    }

    /// Maps a client error to what the user reads.
    fn error(&self, doing: &str, e: OciDistributionError) -> PublishError {
        let unreachable = match &e {
            OciDistributionError::RequestError(r) => r.is_connect() || r.is_timeout(),
            _ => false,
        };
        let status = match &e {
            OciDistributionError::UnauthorizedError { .. } => Some(401),
            OciDistributionError::ServerError { code, .. } => Some(*code),
            OciDistributionError::RegistryError { envelope, .. }
                if envelope
                    .errors
                    .iter()
                    .any(|e| matches!(e.code, OciErrorCode::Unauthorized | OciErrorCode::Denied)) =>
            {
                Some(401)
            }
            _ => None,
        };
        if unreachable {
            PublishError::Unreachable {
                registry: self.registry.clone(),
                doing: doing.to_owned(),
                source: Box::new(e),
            }
        } else if status == Some(401) || status == Some(403) {
            PublishError::Unauthorized {
                registry: self.registry.clone(),
                doing: doing.to_owned(),
                credentials: self.auth_source.clone(),
            }
        } else {
            PublishError::Registry {
                registry: self.registry.clone(),
                doing: doing.to_owned(),
                source: Box::new(e),
            }
        }
    }

    /// Signs in for pushing to `repository` (a no-op for a registry that
    /// asks for nothing); fails when the registry does not answer.
    pub async fn sign_in(&self, repository: &str) -> Result<(), PublishError> {
        let reference = self.reference(repository, "latest");
        self.client
            .auth(&reference, &self.auth, RegistryOperation::Push)
            .await
            .map(|_| ())
            .map_err(|e| self.error(&format!("sign in to push {repository}"), e))
    }

    /// The digest `repository:tag` points at, asking for every manifest
    /// media type; `None` when the tag does not exist.
    pub async fn resolve(&self, repository: &str, tag: &str) -> Result<Option<String>, PublishError> {
        self.resolve_accepting(repository, tag, &MANIFEST_MEDIA_TYPES).await
    }

    /// `resolve`, with only `accept` in the `Accept` header (what a naive
    /// client does; for tests of the trap).
    pub async fn resolve_accepting(
        &self,
        repository: &str,
        tag: &str,
        accept: &[&str],
    ) -> Result<Option<String>, PublishError> {
        let reference = self.reference(repository, tag);
        match self.client.pull_manifest_raw(&reference, &self.auth, accept).await {
            Ok((_, digest)) => Ok(Some(digest)),
            Err(e) if not_found(&e) => Ok(None),
            Err(e) => Err(self.error(&format!("resolve {repository}:{tag}"), e)),
        }
    }

    /// The bytes and digest of the manifest `repository:reference` (a tag or
    /// a digest), asking for `accept`; `None` when there is none.
    pub async fn manifest(
        &self,
        repository: &str,
        reference: &str,
        accept: &[&str],
    ) -> Result<Option<(Vec<u8>, String)>, PublishError> {
        let at = self.reference(repository, reference);
        match self.client.pull_manifest_raw(&at, &self.auth, accept).await {
            Ok((bytes, digest)) => Ok(Some((bytes.to_vec(), digest))),
            Err(e) if not_found(&e) => Ok(None),
            Err(e) => Err(self.error(&format!("read {repository}:{reference}"), e)),
        }
    }

    /// The artifact manifests of `artifact_type` that refer to `subject`
    /// (a digest), through the referrers API or, where the registry has
    /// none, the referrers tag schema.
    pub async fn referrers(
        &self,
        repository: &str,
        subject: &str,
        artifact_type: &str,
    ) -> Result<Vec<String>, PublishError> {
        let at = self.reference(repository, subject);
        self.client
            .pull_referrers(&at, Some(artifact_type))
            .await
            .map(|index| index.manifests.into_iter().map(|m| m.digest).collect())
            .map_err(|e| self.error(&format!("list the referrers of {repository}@{subject}"), e))
    }

    /// The bytes of the blob `digest` of `repository` (a small one: a
    /// signed payload, an SBOM), checked against the digest; refused when
    /// the registry sends more than `max` bytes.
    pub async fn blob(&self, repository: &str, digest: &str, max: u64) -> Result<Vec<u8>, PublishError> {
        let at = self.reference(repository, digest);
        let doing = format!("read blob {digest} of {repository} (at most {max} bytes)");
        self.client
            .auth(&at, &self.auth, RegistryOperation::Pull)
            .await
            .map_err(|e| self.error(&doing, e))?;
        let mut sink = Capped { bytes: Vec::new(), max };
        self.client
            .pull_blob(&at, digest, &mut sink)
            .await
            .map_err(|e| self.error(&doing, e))?;
        Ok(sink.bytes)
    }

    /// Whether `repository` has the blob `digest`.
    pub async fn has_blob(&self, repository: &str, digest: &str) -> Result<bool, PublishError> {
        self.client
            .blob_exists(&self.reference(repository, digest), digest)
            .await
            .map_err(|e| self.error(&format!("look for blob {digest} in {repository}"), e))
    }

    /// Mounts the blob `digest` from `from` into `repository`; whether the
    /// registry did (it may start an upload instead).
    pub async fn mount(&self, repository: &str, from: &str, digest: &str) -> bool {
        let target = self.reference(repository, digest);
        let source = self.reference(from, digest);
        self.client.mount_blob(&target, &source, digest).await.is_ok()
    }

    /// Uploads the blob `digest` of `size` bytes from the file `path`,
    /// calling `sent` with each chunk's length.
    pub async fn upload(
        &self,
        repository: &str,
        digest: &str,
        size: u64,
        path: &Path,
        sent: impl Fn(u64) + Send + Sync + 'static,
    ) -> Result<(), PublishError> {
        let file = tokio::fs::File::open(path).await.map_err(|source| PublishError::Io {
            path: path.to_owned(),
            source,
        })?;
        let stream = futures_util::stream::unfold(file, |mut file| async move {
            use tokio::io::AsyncReadExt as _;
            let mut buffer = vec![0u8; 1 << 20];
            match file.read(&mut buffer).await {
                Ok(0) => None,
                Ok(n) => {
                    buffer.truncate(n);
                    Some((Ok(bytes::Bytes::from(buffer)), file))
                }
                Err(e) => Some((Err(OciDistributionError::IoError(e)), file)),
            }
        });
        self.push_stream(repository, digest, size, stream, sent).await
    }

    /// Copies the blob `digest` of `size` bytes from `from` in `source` (another
    /// registry) into `repository` here, streamed: checked against its
    /// digest as it is read and cut off past `size`, never held whole.
    pub async fn upload_from(
        &self,
        repository: &str,
        (source, from): (&Remote, &str),
        digest: &str,
        size: u64,
        sent: impl Fn(u64) + Send + Sync + 'static,
    ) -> Result<(), PublishError> {
        let at = source.reference(from, digest);
        let doing = format!("read blob {digest} of {}/{from}", source.registry);
        source
            .client
            .auth(&at, &source.auth, RegistryOperation::Pull)
            .await
            .map_err(|e| source.error(&doing, e))?;
        let stream = source
            .client
            .pull_blob_stream(&at, digest)
            .await
            .map_err(|e| source.error(&doing, e))?;
        let mut seen = 0u64;
        let capped = stream.map(move |chunk| {
            let chunk = chunk.map_err(OciDistributionError::IoError)?;
            seen += chunk.len() as u64;
            if seen > size {
                return Err(OciDistributionError::IoError(std::io::Error::other(format!(
                    "the source sent more than the {size} bytes its manifest names"
                ))));
            }
            Ok(chunk)
        });
        self.push_stream(repository, digest, size, capped, sent).await
    }

    /// Uploads the blob `digest` of `size` bytes from `stream`, calling
    /// `sent` with each chunk's length.
    async fn push_stream(
        &self,
        repository: &str,
        digest: &str,
        size: u64,
        stream: impl futures_util::Stream<Item = Result<bytes::Bytes, OciDistributionError>> + Send + 'static,
        sent: impl Fn(u64) + Send + Sync + 'static,
    ) -> Result<(), PublishError> {
        let stream = stream.inspect(move |chunk| {
            if let Ok(bytes) = chunk {
                sent(bytes.len() as u64);
            }
        });
        self.client
            .push_blob_stream(&self.reference(repository, digest), stream, digest, Some(size))
            .await
            .map(|_| ())
            .map_err(|e| self.error(&format!("upload blob {digest} to {repository}"), e))
    }

    /// Uploads a small blob held in memory (an image configuration).
    pub async fn upload_bytes(&self, repository: &str, document: &Document) -> Result<(), PublishError> {
        self.client
            .push_blob(
                &self.reference(repository, &document.digest),
                document.bytes.clone(),
                &document.digest,
            )
            .await
            .map(|_| ())
            .map_err(|e| self.error(&format!("upload blob {} to {repository}", document.digest), e))
    }

    /// Pushes `document` as a manifest under `reference` (its digest, or a tag).
    pub async fn put_manifest(
        &self,
        repository: &str,
        reference: &str,
        document: &Document,
    ) -> Result<(), PublishError> {
        let content_type = document
            .media_type
            .parse()
            .map_err(|_| PublishError::Document(format!("{} is not a valid Content-Type", document.media_type)))?;
        self.client
            .push_manifest_raw(
                &self.reference(repository, reference),
                document.bytes.clone(),
                content_type,
            )
            .await
            .map(|_| ())
            .map_err(|e| self.error(&format!("push manifest {repository}:{reference}"), e))
    }
}

/// Whether the registry said the manifest (or the repository) is unknown.
/// An in-memory sink that refuses to grow past `max` bytes (a registry
/// that sends more than it should is cut off, not buffered).
struct Capped {
    bytes: Vec<u8>,
    max: u64,
}

impl tokio::io::AsyncWrite for Capped {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        data: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        let sink = self.get_mut();
        if (sink.bytes.len() + data.len()) as u64 > sink.max {
            return std::task::Poll::Ready(Err(std::io::Error::other(format!(
                "the registry sent more than {} bytes",
                sink.max
            ))));
        }
        sink.bytes.extend_from_slice(data);
        std::task::Poll::Ready(Ok(data.len()))
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
}

fn not_found(e: &OciDistributionError) -> bool {
    match e {
        OciDistributionError::RegistryError { envelope, .. } => envelope
            .errors
            .iter()
            .any(|e| matches!(e.code, OciErrorCode::ManifestUnknown | OciErrorCode::NameUnknown)),
        OciDistributionError::ServerError { code: 404, .. } => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::{is_loopback, Capped};
    use tokio::io::AsyncWriteExt as _;

    #[tokio::test]
    async fn a_blob_larger_than_its_bound_is_cut_off() {
        let mut sink = Capped {
            bytes: Vec::new(),
            max: 8,
        };
        assert!(sink.write_all(b"12345678").await.is_ok());
        let refused = sink.write_all(b"9").await.map_err(|e| e.to_string());
        assert_eq!(refused, Err("the registry sent more than 8 bytes".to_owned()));
        assert_eq!(sink.bytes, b"12345678");
    }

    #[test]
    fn only_loopback_registries_are_plain_http() {
        for host in [
            "127.0.0.1:5000",
            "127.0.0.2",
            "localhost:5000",
            "[::1]:5000",
            "localhost",
        ] {
            assert!(is_loopback(host), "{host}");
        }
        for host in ["10.0.0.1:5000", "registry.example:5000", "example", "[::2]:5000"] {
            assert!(!is_loopback(host), "{host}");
        }
    }
}
