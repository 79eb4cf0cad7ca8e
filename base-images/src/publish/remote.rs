//! The registry a family is published to, through `oci-client`: a tag
//! resolved with every manifest media type in `Accept`, blobs checked
//! (HEAD), mounted from another repository of the same registry, or
//! uploaded from a file with progress, manifests pushed by digest and,
//! last, the tag. Plain HTTP only for a loopback registry. A registry is
//! not trusted to be quick or small: every request is given up after
//! [`Limits::timeout`] (a blob transfer, after that long without a byte),
//! and manifests, indexes and referrers lists are read here, not by
//! `oci-client` (which buffers whatever it is sent), refused past
//! [`Limits::max_manifest_bytes`], checked against their digest, and
//! referrers kept only when of the artifact type asked for.

use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

use futures_util::StreamExt as _;
use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::errors::{DigestError, OciDistributionError, OciEnvelope, OciErrorCode};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference, RegistryOperation};
use reqwest_oci::StatusCode;
use tokio::io::AsyncWriteExt as _;

use super::oci::{self, Document, MANIFEST_MEDIA_TYPES};
use super::PublishError;

/// How long connecting to a registry may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// What a registry is allowed before it is given up on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// How long one request may take (a blob transfer: how long it may
    /// go without a byte).
    pub timeout: Duration,
    /// The largest manifest, index or referrers list read.
    pub max_manifest_bytes: u64,
}

impl Default for Limits {
    /// 30 s, and 4 MiB (containerd's limit on a manifest).
    fn default() -> Limits {
        Limits {
            timeout: Duration::from_secs(30),
            max_manifest_bytes: 4 << 20,
        }
    }
}

pub use crate::address::is_loopback;

/// A registry and the credentials to push to it.
pub struct Remote {
    client: Client,
    /// Reads manifests and referrers, bounded (`oci-client`'s would not be).
    http: reqwest_oci::Client,
    registry: String,
    auth: RegistryAuth,
    /// Where the credentials came from, for messages (never the secret).
    auth_source: String,
    limits: Limits,
    /// How `http` signs in to pull, by repository (asked once, again on a 401).
    pull_credentials: tokio::sync::Mutex<BTreeMap<String, Credential>>,
}

/// What a read from a repository carries to be let in.
#[derive(Clone, Debug)]
enum Credential {
    /// Nothing: the registry asks for nothing.
    Anonymous,
    /// The token the registry gave for pulling.
    Bearer(String),
    /// The Docker config's user and password.
    Basic,
}

/// What a registry answered to a bounded GET.
struct Answer {
    status: StatusCode,
    /// Its `Docker-Content-Digest`.
    digest: Option<String>,
    body: Vec<u8>,
    url: String,
}

impl std::fmt::Debug for Remote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Remote")
            .field("registry", &self.registry)
            .field("auth_source", &self.auth_source)
            .field("limits", &self.limits)
            .finish()
    }
}

impl Remote {
    /// The registry `registry` (`host[:port]`), with `auth` found in
    /// `auth_source`.
    pub fn new(registry: &str, auth: RegistryAuth, auth_source: impl Into<String>) -> Remote {
        Remote::with_limits(registry, auth, auth_source, Limits::default())
    }

    /// `new`, giving the registry `limits`.
    pub fn with_limits(registry: &str, auth: RegistryAuth, auth_source: impl Into<String>, limits: Limits) -> Remote {
        crate::tls::install_provider();
        let protocol = if is_loopback(registry) {
            ClientProtocol::HttpsExcept(vec![registry.to_owned()])
        } else {
            ClientProtocol::Https
        };
        let client = Client::new(ClientConfig {
            protocol,
            use_monolithic_push: true,
            connect_timeout: Some(CONNECT_TIMEOUT),
            read_timeout: Some(limits.timeout),
            ..ClientConfig::default()
        });
        // Only the TLS backend failing to start fails this, and then the
        // default fails alike; every read is bounded by `within` anyway.
        let http = reqwest_oci::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .read_timeout(limits.timeout)
            .redirect(reqwest_oci::redirect::Policy::none())
            .user_agent(concat!("base-images/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_default();
        Remote {
            client,
            http,
            registry: registry.to_owned(),
            auth,
            auth_source: auth_source.into(),
            limits,
            pull_credentials: tokio::sync::Mutex::new(BTreeMap::new()),
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
        let (unreachable, timed_out) = match &e {
            OciDistributionError::RequestError(r) => (r.is_connect(), r.is_timeout()),
            _ => (false, false),
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
        if timed_out && !unreachable {
            self.timed_out(doing)
        } else if unreachable {
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
        let doing = format!("sign in to push {repository}");
        self.authorize(&reference, RegistryOperation::Push, &doing).await
    }

    /// Signs in for `operation` on the repository of `at` within the time
    /// limit (a registry that stalls is found out here, before a transfer).
    async fn authorize(&self, at: &Reference, operation: RegistryOperation, doing: &str) -> Result<(), PublishError> {
        self.within(doing, async {
            self.client
                .auth(at, &self.auth, operation)
                .await
                .map(|_| ())
                .map_err(|e| self.error(doing, e))
        })
        .await
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
        let doing = format!("resolve {repository}:{tag}");
        let found = self.read_manifest(repository, tag, accept, &doing).await?;
        Ok(found.map(|(_, digest)| digest))
    }

    /// The bytes and digest of the manifest `repository:reference` (a tag or
    /// a digest), asking for `accept`; `None` when there is none.
    pub async fn manifest(
        &self,
        repository: &str,
        reference: &str,
        accept: &[&str],
    ) -> Result<Option<(Vec<u8>, String)>, PublishError> {
        let doing = format!("read {repository}:{reference}");
        self.read_manifest(repository, reference, accept, &doing).await
    }

    /// The artifact manifests of `artifact_type` that refer to `subject`
    /// (a digest), through the referrers API or, where the registry has
    /// none, the referrers tag schema; either list is filtered here (a
    /// registry may ignore the `artifactType` it is asked for).
    pub async fn referrers(
        &self,
        repository: &str,
        subject: &str,
        artifact_type: &str,
    ) -> Result<Vec<String>, PublishError> {
        if !(subject.starts_with("sha256:") && is_reference(subject)) {
            return Err(self.not_a_reference(repository, subject, "not a sha256 digest"));
        }
        let doing = format!("list the {artifact_type} referrers of {repository}@{subject}");
        let path = format!("referrers/{subject}");
        let query = [("artifactType", artifact_type)];
        let answer = self.get(repository, &path, &query, &[oci::OCI_INDEX], &doing).await?;
        let index = match answer.status {
            StatusCode::OK => answer.body,
            StatusCode::NOT_FOUND => {
                let tag = oci::referrers_tag(subject);
                match self.read_manifest(repository, &tag, &[oci::OCI_INDEX], &doing).await? {
                    Some((bytes, _)) => bytes,
                    None => return Ok(Vec::new()),
                }
            }
            _ => return Err(self.error(&doing, status_error(&answer))),
        };
        oci::referrers_of(&index, artifact_type)
            .map_err(|e| PublishError::Document(format!("{}: {doing}: {e}", self.registry)))
    }

    /// The bytes of the blob `digest` of `repository` (a small one: a
    /// signed payload, an SBOM), checked against the digest; refused when
    /// the registry sends more than `max` bytes or goes the time limit
    /// without one.
    pub async fn blob(&self, repository: &str, digest: &str, max: u64) -> Result<Vec<u8>, PublishError> {
        let at = self.reference(repository, digest);
        let doing = format!("read blob {digest} of {repository} (at most {max} bytes)");
        self.authorize(&at, RegistryOperation::Pull, &doing).await?;
        let mut sink = Capped { bytes: Vec::new(), max };
        self.client
            .pull_blob(&at, digest, &mut sink)
            .await
            .map_err(|e| self.error(&doing, e))?;
        Ok(sink.bytes)
    }

    /// Whether `repository` has the blob `digest`.
    pub async fn has_blob(&self, repository: &str, digest: &str) -> Result<bool, PublishError> {
        let doing = format!("look for blob {digest} in {repository}");
        self.within(&doing, async {
            self.client
                .blob_exists(&self.reference(repository, digest), digest)
                .await
                .map_err(|e| self.error(&doing, e))
        })
        .await
    }

    /// Mounts the blob `digest` from `from` into `repository`; whether the
    /// registry did (it may start an upload instead, or not answer in time).
    pub async fn mount(&self, repository: &str, from: &str, digest: &str) -> bool {
        let target = self.reference(repository, digest);
        let source = self.reference(from, digest);
        let mounting = self.client.mount_blob(&target, &source, digest);
        matches!(tokio::time::timeout(self.limits.timeout, mounting).await, Ok(Ok(())))
    }

    /// Uploads the blob `digest` of `size` bytes from `file`, calling
    /// `sent` with each chunk's length (no limit on the whole: a transfer
    /// is given up on when it goes the time limit without a byte).
    pub async fn upload(
        &self,
        repository: &str,
        digest: &str,
        size: u64,
        file: tokio::fs::File,
        sent: impl Fn(u64) + Send + Sync + 'static,
    ) -> Result<(), PublishError> {
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
        source.authorize(&at, RegistryOperation::Pull, &doing).await?;
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
        let at = self.reference(repository, digest);
        let doing = format!("upload blob {digest} to {repository}");
        self.authorize(&at, RegistryOperation::Push, &doing).await?;
        self.client
            .push_blob_stream(&at, stream, digest, Some(size))
            .await
            .map(|_| ())
            .map_err(|e| self.error(&doing, e))
    }

    /// Uploads a small blob held in memory (an image configuration).
    pub async fn upload_bytes(&self, repository: &str, document: &Document) -> Result<(), PublishError> {
        let doing = format!("upload blob {} to {repository}", document.digest);
        self.within(&doing, async {
            self.client
                .push_blob(
                    &self.reference(repository, &document.digest),
                    document.bytes.clone(),
                    &document.digest,
                )
                .await
                .map(|_| ())
                .map_err(|e| self.error(&doing, e))
        })
        .await
    }

    /// Uploads `document` (a configuration, an SBOM, a signature's
    /// payload) unless `repository` holds it already.
    pub async fn upload_if_missing(&self, repository: &str, document: &Document) -> Result<(), PublishError> {
        if !self.has_blob(repository, &document.digest).await? {
            self.upload_bytes(repository, document).await?;
        }
        Ok(())
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
        let doing = format!("push manifest {repository}:{reference}");
        self.within(&doing, async {
            self.client
                .push_manifest_raw(
                    &self.reference(repository, reference),
                    document.bytes.clone(),
                    content_type,
                )
                .await
                .map(|_| ())
                .map_err(|e| self.error(&doing, e))
        })
        .await
    }

    /// `work`, given up with a named error after the time limit.
    async fn within<T>(
        &self,
        doing: &str,
        work: impl Future<Output = Result<T, PublishError>>,
    ) -> Result<T, PublishError> {
        tokio::time::timeout(self.limits.timeout, work)
            .await
            .unwrap_or_else(|_| Err(self.timed_out(doing)))
    }

    /// `reference` of `repository` refused before any request: `what` it is.
    fn not_a_reference(&self, repository: &str, reference: &str, what: &str) -> PublishError {
        PublishError::Document(format!(
            "{}/{repository}: \"{reference}\" is {what}; refused",
            self.registry
        ))
    }

    fn timed_out(&self, doing: &str) -> PublishError {
        PublishError::TimedOut {
            registry: self.registry.clone(),
            doing: doing.to_owned(),
            after: self.limits.timeout,
        }
    }

    /// The manifest `repository:reference` as `manifest` reads it, `doing`
    /// named in errors: refused past the size limit, checked against the
    /// digest it is asked by and the one the registry names.
    async fn read_manifest(
        &self,
        repository: &str,
        reference: &str,
        accept: &[&str],
        doing: &str,
    ) -> Result<Option<(Vec<u8>, String)>, PublishError> {
        if !is_reference(reference) {
            return Err(self.not_a_reference(repository, reference, "neither a tag nor a sha256 digest"));
        }
        let answer = self
            .get(repository, &format!("manifests/{reference}"), &[], accept, doing)
            .await?;
        if answer.status != StatusCode::OK {
            let e = status_error(&answer);
            return if not_found(&e) {
                Ok(None)
            } else {
                Err(self.error(doing, e))
            };
        }
        let digest = oci::sha256(&answer.body);
        let named = [
            reference.starts_with("sha256:").then_some(reference),
            answer.digest.as_deref().filter(|d| d.starts_with("sha256:")),
        ];
        if let Some(expected) = named.into_iter().flatten().find(|d| *d != digest) {
            let mismatch = DigestError::VerificationError {
                expected: expected.to_owned(),
                actual: digest,
            };
            return Err(self.error(doing, mismatch.into()));
        }
        Ok(Some((answer.body, digest)))
    }

    /// GETs `path` (with `query`) of `repository`, accepting `accept`,
    /// signed in to pull (again once, if the registry answers 401); the
    /// body is refused past the size limit, all of it past the time limit.
    async fn get(
        &self,
        repository: &str,
        path: &str,
        query: &[(&str, &str)],
        accept: &[&str],
        doing: &str,
    ) -> Result<Answer, PublishError> {
        let at = self.reference(repository, "latest");
        let scheme = if is_loopback(&self.registry) { "http" } else { "https" };
        let url = format!("{scheme}://{}/v2/{}/{path}", at.resolve_registry(), at.repository());
        self.within(doing, async {
            let mut again = false;
            loop {
                let credential = self
                    .pull_credential(&at, again)
                    .await
                    .map_err(|e| self.error(doing, e))?;
                let request = self.http.get(&url).query(query).header("Accept", accept.join(", "));
                let request = match (&credential, &self.auth) {
                    (Credential::Bearer(token), _) => request.bearer_auth(token),
                    (Credential::Basic, RegistryAuth::Basic(user, password)) => {
                        request.basic_auth(user, Some(password))
                    }
                    _ => request,
                };
                let response = request.send().await.map_err(|e| self.error(doing, e.into()))?;
                if response.status() == StatusCode::UNAUTHORIZED && !again {
                    again = true;
                    continue;
                }
                return self.answer(response, doing).await;
            }
        })
        .await
    }

    /// How reads from the repository of `at` sign in: the one asked
    /// before unless `again`.
    async fn pull_credential(&self, at: &Reference, again: bool) -> Result<Credential, OciDistributionError> {
        let mut known = self.pull_credentials.lock().await;
        if let Some(credential) = known.get(at.repository()).filter(|_| !again) {
            return Ok(credential.clone());
        }
        let credential = match self.client.auth(at, &self.auth, RegistryOperation::Pull).await? {
            Some(token) => Credential::Bearer(token),
            None if matches!(self.auth, RegistryAuth::Basic(..)) => Credential::Basic,
            None => Credential::Anonymous,
        };
        known.insert(at.repository().to_owned(), credential.clone());
        Ok(credential)
    }

    /// `response` read whole, refused past the size limit (said or sent).
    async fn answer(&self, response: reqwest_oci::Response, doing: &str) -> Result<Answer, PublishError> {
        let max = self.limits.max_manifest_bytes;
        let too_large = || PublishError::TooLarge {
            registry: self.registry.clone(),
            doing: doing.to_owned(),
            limit: max,
        };
        if response.content_length().is_some_and(|length| length > max) {
            return Err(too_large());
        }
        let status = response.status();
        let url = response.url().to_string();
        let digest = response
            .headers()
            .get("Docker-Content-Digest")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let mut sink = Capped { bytes: Vec::new(), max };
        let mut body = response.bytes_stream();
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| self.error(doing, e.into()))?;
            sink.write_all(&chunk).await.map_err(|_| too_large())?;
        }
        Ok(Answer {
            status,
            digest,
            body: sink.bytes,
            url,
        })
    }
}

/// Whether `reference` is a tag or a sha256 digest (and so cannot lead a
/// request elsewhere).
fn is_reference(reference: &str) -> bool {
    match reference.strip_prefix("sha256:") {
        Some(hex) => hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')),
        None => {
            (1..=128).contains(&reference.len())
                && !reference.starts_with(['.', '-'])
                && reference
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        }
    }
}

/// The client error of a registry's answer other than 200 (what
/// `oci-client` makes of one).
fn status_error(answer: &Answer) -> OciDistributionError {
    let url = answer.url.clone();
    match answer.status {
        StatusCode::UNAUTHORIZED => OciDistributionError::UnauthorizedError { url },
        status => match serde_json::from_slice::<OciEnvelope>(&answer.body) {
            Ok(envelope) if status.is_client_error() => OciDistributionError::RegistryError { envelope, url },
            _ => OciDistributionError::ServerError {
                code: status.as_u16(),
                url,
                message: String::from_utf8_lossy(&answer.body).chars().take(200).collect(),
            },
        },
    }
}

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

/// Whether the registry said the manifest (or the repository) is unknown.
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
    use std::collections::BTreeMap;
    use std::time::Instant;

    use super::*;
    use crate::publish::fake_registry::{descriptor, json, serve, serve_content, Content};

    const SIGNATURE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";

    /// A request to a registry, as the test makes it.
    type Request<'a> = std::pin::Pin<Box<dyn Future<Output = Result<(), PublishError>> + 'a>>;

    fn remote(host: &str) -> Remote {
        Remote::new(host, RegistryAuth::Anonymous, "no credentials")
    }

    #[tokio::test]
    async fn a_registry_that_accepts_and_never_answers_is_given_up_on() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port");
        let host = listener.local_addr().expect("its address").to_string();
        let (accepted, mut connections) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                held.push(socket);
                let _ = accepted.send(());
            }
        });
        let limits = Limits {
            timeout: Duration::from_secs(2),
            ..Limits::default()
        };
        let remote = Remote::with_limits(&host, RegistryAuth::Anonymous, "no credentials", limits);
        let blob = tempfile::NamedTempFile::new().expect("a file");
        std::fs::write(blob.path(), b"layer").expect("written");
        let digest = oci::sha256(b"layer");
        let document = Document::raw(oci::OCI_MANIFEST, b"{}".to_vec());
        let requests: Vec<(String, Request<'_>)> = vec![
            (
                "resolve repo:1.0.0".into(),
                Box::pin(async { remote.resolve("repo", "1.0.0").await.map(|_| ()) }),
            ),
            (
                format!("list the {SIGNATURE} referrers of repo@{digest}"),
                Box::pin(async { remote.referrers("repo", &digest, SIGNATURE).await.map(|_| ()) }),
            ),
            (
                format!("look for blob {digest} in repo"),
                Box::pin(async { remote.has_blob("repo", &digest).await.map(|_| ()) }),
            ),
            ("sign in to push repo".into(), Box::pin(remote.sign_in("repo"))),
            (
                format!("read blob {digest} of repo"),
                Box::pin(async { remote.blob("repo", &digest, 16).await.map(|_| ()) }),
            ),
            (
                format!("upload blob {digest} to repo"),
                Box::pin(async {
                    let layer = tokio::fs::File::open(blob.path()).await.expect("opened");
                    remote.upload("repo", &digest, 5, layer, |_| {}).await
                }),
            ),
            (
                "push manifest repo:1.0.0".into(),
                Box::pin(remote.put_manifest("repo", "1.0.0", &document)),
            ),
        ];
        let (doing, requests): (Vec<String>, Vec<_>) = requests.into_iter().unzip();
        let timed = requests.into_iter().map(|request| async {
            let started = Instant::now();
            let result = request.await;
            (started.elapsed(), result)
        });
        let errors = futures_util::future::join_all(timed).await;
        for (doing, (took, error)) in doing.iter().zip(errors) {
            let error = error.map(|()| "answered").map_err(|e| e.to_string());
            let said = error.expect_err("no answer is an error");
            assert!(
                said.contains(&format!(
                    "the registry at {host} did not answer within 2 s when asked to {doing}"
                )),
                "{said}"
            );
            assert!(took < Duration::from_secs(3), "{doing}: given up on after {took:?}");
        }
        // The accepting task may not have run since the last connection
        // came in: wait for each connection's event (bounded), not a count
        // taken at once.
        let mut accepted = 0;
        while accepted < doing.len() {
            match tokio::time::timeout(Duration::from_secs(10), connections.recv()).await {
                Ok(Some(())) => accepted += 1,
                _ => break,
            }
        }
        assert!(accepted >= doing.len(), "each request reached the registry: {accepted}");
    }

    #[tokio::test]
    async fn a_manifest_larger_than_the_limit_is_refused() {
        let max = Limits::default().max_manifest_bytes;
        let at_limit = vec![b' '; usize::try_from(max).unwrap_or_default()];
        let mut over = at_limit.clone();
        over.push(b' ');
        for chunked in [false, true] {
            let registry = serve_content(Content {
                manifests: BTreeMap::from([
                    ("1.0.0".to_owned(), at_limit.clone()),
                    ("1.1.0".to_owned(), over.clone()),
                ]),
                chunked,
                ..Content::default()
            });
            let remote = remote(&registry.host);
            let resolved = remote.resolve("repo", "1.0.0").await.map_err(|e| e.to_string());
            assert_eq!(resolved, Ok(Some(oci::sha256(&at_limit))), "chunked: {chunked}");
            let refused = remote.resolve("repo", "1.1.0").await.map_err(|e| e.to_string());
            let said = refused.expect_err("too large");
            assert!(
                said.contains(&format!(
                    "the registry at {} sent more than 4194304 bytes when asked to resolve repo:1.1.0; refused",
                    registry.host
                )),
                "chunked: {chunked}: {said}"
            );
        }
    }

    #[tokio::test]
    async fn a_manifest_that_is_not_its_digest_or_a_reference_that_escapes_is_refused() {
        let claimed = format!("sha256:{}", "0".repeat(64));
        let registry = serve(BTreeMap::from([(claimed.clone(), b"{}".to_vec())]), BTreeMap::new());
        let remote = remote(&registry.host);
        let said = remote
            .manifest("repo", &claimed, &[oci::OCI_MANIFEST])
            .await
            .map_err(|e| e.to_string())
            .expect_err("another manifest");
        assert!(
            said.contains(&format!(
                "Invalid digest. Expected {claimed}, got {}",
                oci::sha256(b"{}")
            )),
            "{said}"
        );
        for escaping in ["../../other/manifests/1.0.0", "1.0.0?x=1", "sha256:abc", ""] {
            let said = remote
                .manifest("repo", escaping, &[oci::OCI_MANIFEST])
                .await
                .map_err(|e| e.to_string())
                .expect_err("refused");
            assert!(said.contains("is neither a tag nor a sha256 digest; refused"), "{said}");
        }
        for escaping in ["sha256:../../x", "1.0.0"] {
            let said = remote
                .referrers("repo", escaping, crate::sbom::SPDX_MEDIA_TYPE)
                .await
                .map_err(|e| e.to_string())
                .expect_err("refused");
            assert!(
                said.contains(&format!("\"{escaping}\" is not a sha256 digest; refused")),
                "{said}"
            );
        }
    }

    /// A referrers list of an SPDX artifact, a signature and an unlabelled
    /// manifest: (the list, the SPDX one's digest, the signature's).
    fn mixed_referrers() -> (Vec<u8>, String, String) {
        let listed = |name: &[u8], artifact_type: Option<&str>| {
            let mut entry = descriptor(oci::OCI_MANIFEST, name);
            if let Some(artifact_type) = artifact_type {
                entry["artifactType"] = artifact_type.into();
            }
            entry
        };
        let list = json(
            serde_json::json!({"schemaVersion": 2, "mediaType": oci::OCI_INDEX, "manifests": [
            listed(b"sbom", Some(crate::sbom::SPDX_MEDIA_TYPE)), listed(b"signature", Some(SIGNATURE)),
            listed(b"other", None)]}),
        );
        (list, oci::sha256(b"sbom"), oci::sha256(b"signature"))
    }

    #[tokio::test]
    async fn referrers_are_kept_to_the_type_asked_for_on_the_api_and_the_tag_schema() {
        let subject = oci::sha256(b"subject");
        let (list, sbom, signature) = mixed_referrers();
        let api = Content {
            referrers: Some(BTreeMap::from([(subject.clone(), list.clone())])),
            ..Content::default()
        };
        let tag_schema = Content {
            manifests: BTreeMap::from([(oci::referrers_tag(&subject), list)]),
            ..Content::default()
        };
        for (how, content) in [("the referrers API", api), ("the tag schema", tag_schema)] {
            let registry = serve_content(content);
            let remote = remote(&registry.host);
            let sboms = remote.referrers("repo", &subject, crate::sbom::SPDX_MEDIA_TYPE).await;
            assert_eq!(sboms.map_err(|e| e.to_string()), Ok(vec![sbom.clone()]), "{how}");
            let signatures = remote.referrers("repo", &subject, SIGNATURE).await;
            assert_eq!(
                signatures.map_err(|e| e.to_string()),
                Ok(vec![signature.clone()]),
                "{how}"
            );
            let none = remote.referrers("repo", &oci::sha256(b"unknown"), SIGNATURE).await;
            assert_eq!(none.map_err(|e| e.to_string()), Ok(Vec::new()), "{how}");
        }
    }

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
