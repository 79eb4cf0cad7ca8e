//! The connection to one Docker-API engine and the helpers every part of
//! the Docker engine uses: the [`DockerEngine`] value (the bollard client,
//! the endpoint it answers at, this run's id and the containers it
//! started), connecting to it as the docker CLI does, the labels put on
//! what a run creates, reading a path of a container, a platform as the
//! crate writes it, and bollard's errors as the library's. Of the other
//! parts of the Docker engine it imports only `network` (what connecting
//! finds out); the parts that build, run checks or export import it.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bollard::query_parameters::RemoveContainerOptions;
use bollard::Docker;

use super::network::StepNetwork;
use super::shared::SharedCache;
use crate::error_chain::error_chain;
use crate::platform::Platform;
use crate::Error;

/// How long connecting may take before the daemon counts as not answering.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The label every container of a run carries (`<pid>-<start time>-<n>`).
pub const RUN_LABEL: &str = "org.base-images.run";

/// The label of a built image: the digest of the recipe prefix it holds.
pub const RECIPE_LABEL: &str = "org.base-images.recipe";

/// A connection to a Docker-API daemon.
#[derive(Clone)]
pub struct DockerEngine {
    /// The bollard client.
    pub(super) docker: Docker,
    /// The daemon's address, as connected to.
    pub(super) endpoint: String,
    /// The value of [`RUN_LABEL`] on this run's containers.
    pub(super) run_id: String,
    /// Where build steps and networked checks run.
    pub(super) network: StepNetwork,
    /// The containers this run started and has not removed yet.
    pub(super) containers: Arc<Mutex<HashSet<String>>>,
    /// Held while a root image is looked up or pulled.
    pub(super) roots: Arc<tokio::sync::Mutex<()>>,
    /// Whether every step is built again ([`DockerEngine::rebuilding`]).
    pub(super) rebuild: bool,
    /// The step cache shared through a registry, if any.
    pub(super) shared: Option<SharedCache>,
}

/// The bollard client of `endpoint`: with TLS and the client certificate
/// in `certs` when given, else as the docker CLI connects.
fn client_for(endpoint: &str, certs: Option<&std::path::Path>) -> Result<Docker, bollard::errors::Error> {
    match certs {
        Some(dir) => Docker::connect_with_ssl(
            endpoint,
            &dir.join("key.pem"),
            &dir.join("cert.pem"),
            &dir.join("ca.pem"),
            CONNECT_TIMEOUT.as_secs(),
            bollard::API_DEFAULT_VERSION,
        ),
        None => Docker::connect_with_host(endpoint),
    }
}

impl std::fmt::Debug for DockerEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DockerEngine")
            .field("endpoint", &self.endpoint)
            .field("run_id", &self.run_id)
            .field("network", &self.network)
            .field("rebuild", &self.rebuild)
            .field("shared", &self.shared)
            .finish()
    }
}

impl DockerEngine {
    /// Connects as the docker CLI does: to `DOCKER_HOST` (`unix://`,
    /// `tcp://`, `https://`; TLS when `DOCKER_TLS_VERIFY` is set, with the
    /// certificates in `DOCKER_CERT_PATH`), else `/var/run/docker.sock`, and
    /// checks that the daemon answers within [`CONNECT_TIMEOUT`].
    pub async fn connect() -> Result<Self, Error> {
        let endpoint = std::env::var("DOCKER_HOST")
            .ok()
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "unix:///var/run/docker.sock".to_owned());
        Self::connect_to(&endpoint).await
    }

    /// Connects to `endpoint` through bollard's own connection code (the
    /// same schemes and TLS variables as `connect`), then agrees on the API
    /// version with the daemon (at most what bollard speaks, at least what
    /// an older daemon such as Debian's 20.10 does, 1.41) and reads whether
    /// it has a default network ([`StepNetwork`]).
    pub async fn connect_to(endpoint: &str) -> Result<Self, Error> {
        Self::connect_with_certs(endpoint, None).await
    }

    /// Connects to `endpoint` as [`connect_to`](Self::connect_to) does, but
    /// with TLS and the client certificate in `certs` when given (a
    /// directory laid out as `DOCKER_CERT_PATH`: `ca.pem`, `cert.pem`,
    /// `key.pem`), whatever the environment says: a builder's own.
    pub async fn connect_with_certs(endpoint: &str, certs: Option<&std::path::Path>) -> Result<Self, Error> {
        let unavailable = |reason: String, source: Option<bollard::errors::Error>| Error::EngineUnavailable {
            endpoint: endpoint.to_owned(),
            reason,
            source: source.map(Box::new),
        };
        if let Some(path) = endpoint.strip_prefix("unix://") {
            if !std::path::Path::new(path).exists() {
                return Err(unavailable("the socket does not exist".into(), None));
            }
        }
        crate::tls::install_provider();
        // Requests such as a long build step's wait are bounded by our own
        // timeouts, not the client's.
        let docker = client_for(endpoint, certs)
            .map_err(|e| unavailable(e.to_string(), Some(e)))?
            .with_timeout(Duration::from_secs(3600));
        let answered = tokio::time::timeout(CONNECT_TIMEOUT, async {
            let docker = docker.negotiate_version().await?;
            let network = StepNetwork::of(&docker).await?;
            Ok::<_, bollard::errors::Error>((docker, network))
        });
        let (docker, network) = match answered.await {
            Ok(Ok(answer)) => answer,
            Ok(Err(e)) => return Err(unavailable(error_chain(&e), Some(e))),
            Err(_) => {
                return Err(unavailable(
                    format!("no answer within {} s", CONNECT_TIMEOUT.as_secs()),
                    None,
                ))
            }
        };
        let started = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        // Two engines connected in the same millisecond still differ.
        static CONNECTIONS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let connection = CONNECTIONS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(DockerEngine {
            docker,
            endpoint: endpoint.to_owned(),
            run_id: format!("{}-{}-{connection}", std::process::id(), started.as_millis()),
            network,
            containers: Arc::default(),
            roots: Arc::default(),
            rebuild: false,
            shared: None,
        })
    }

    /// This engine, building every step again as `docker build --no-cache`
    /// does: nothing is served from the step cache or from BuildKit's
    /// cache, and the images built take the step cache's tags.
    pub fn rebuilding(self) -> DockerEngine {
        DockerEngine { rebuild: true, ..self }
    }

    /// This engine, sharing its step cache through `cache` (a registry
    /// repository): what it lacks is pulled from there, and, when the
    /// cache is written, what it builds is pushed.
    pub fn with_shared_cache(self, cache: SharedCache) -> DockerEngine {
        DockerEngine {
            shared: Some(cache),
            ..self
        }
    }

    /// The daemon's address.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Where build steps and the checks that ask for a network run.
    pub fn step_network(&self) -> StepNetwork {
        self.network
    }

    /// The bollard client (for tests and tools that need more).
    pub fn client(&self) -> &Docker {
        &self.docker
    }

    /// The value of [`RUN_LABEL`] on this run's containers.
    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    /// Remembers a container this run created, so `cleanup` removes it.
    pub(super) fn track(&self, id: &str) {
        if let Ok(mut set) = self.containers.lock() {
            set.insert(id.to_owned());
        }
    }

    /// Force-removes a container (and its anonymous volumes) and forgets it.
    pub(super) async fn remove(&self, id: &str) {
        let options = RemoveContainerOptions {
            force: true,
            v: true,
            ..Default::default()
        };
        if let Err(e) = self.docker.remove_container(id, Some(options)).await {
            tracing::warn!(container = id, error = %e, "could not remove container");
        }
        if let Ok(mut set) = self.containers.lock() {
            set.remove(id);
        }
    }
}

/// What reading a path of a container through the archive API found.
pub(super) enum ContainerFile {
    /// A file, with its contents.
    File(Vec<u8>),
    /// A directory.
    Directory,
    /// Nothing (an empty archive).
    Empty,
}

/// Reads `path` of `container` through the archive API (the build's
/// `/etc/passwd`, a check's `read_file`).
pub(super) async fn container_file(
    engine: &DockerEngine,
    container: &str,
    path: &str,
) -> Result<ContainerFile, Box<dyn std::error::Error + Send + Sync>> {
    use futures_util::TryStreamExt as _;
    let options = bollard::query_parameters::DownloadFromContainerOptions { path: path.to_owned() };
    let chunks: Vec<bytes::Bytes> = engine
        .docker
        .download_from_container(container, Some(options))
        .try_collect()
        .await?;
    let archive = chunks.concat();
    let mut archive = tar::Archive::new(&archive[..]);
    let Some(entry) = archive.entries()?.next() else {
        return Ok(ContainerFile::Empty);
    };
    let mut entry = entry?;
    if entry.header().entry_type().is_dir() {
        return Ok(ContainerFile::Directory);
    }
    let mut contents = Vec::new();
    std::io::Read::read_to_end(&mut entry, &mut contents)?;
    Ok(ContainerFile::File(contents))
}

/// `os/arch[/variant]` from the engine's fields (`?` for one it left out),
/// as the crate writes a [`Platform`].
pub(super) fn platform_text(os: Option<&str>, architecture: Option<&str>, variant: Option<&str>) -> String {
    Platform::from_parts(os.unwrap_or("?"), architecture.unwrap_or("?"), variant).to_string()
}

/// Maps a bollard error to the library's, saying what was being done.
pub(super) fn engine_error(action: impl Into<String>) -> impl FnOnce(bollard::errors::Error) -> Error {
    let action = action.into();
    move |e| Error::Engine {
        action,
        reason: e.to_string(),
        source: Some(Box::new(e)),
    }
}
