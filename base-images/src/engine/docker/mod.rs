//! The Docker engine: any Docker-API daemon (dockerd, Docker Desktop,
//! podman's socket) through `bollard`, with the API version agreed with the
//! daemon so older ones (Debian's dockerd 20.10, API 1.41) answer. It finds
//! the daemon as the docker CLI does (`DOCKER_HOST`, `DOCKER_TLS_VERIFY`,
//! `DOCKER_CERT_PATH`, else the default socket) and fails within seconds,
//! naming the endpoint, when none answers. Every container it creates carries a run
//! label and is tracked, so an interrupted run removes what it started.

mod build;
mod buildkit;
mod export;
mod inventory;
mod network;
mod target;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bollard::query_parameters::RemoveContainerOptions;
use bollard::Docker;

pub use build::{CACHE_REPOSITORY, ROOT_REPOSITORY};
pub use network::StepNetwork;
pub use target::DockerTarget;

use super::{BuildRequest, BuiltImage, Distribution, Engine, RootIdentity};
use crate::error_chain::error_chain;
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
    docker: Docker,
    endpoint: String,
    run_id: String,
    /// Where build steps and networked checks run.
    network: StepNetwork,
    containers: Arc<Mutex<HashSet<String>>>,
    /// Held while a root image is looked up or pulled.
    roots: Arc<tokio::sync::Mutex<()>>,
}

impl std::fmt::Debug for DockerEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DockerEngine")
            .field("endpoint", &self.endpoint)
            .field("run_id", &self.run_id)
            .field("network", &self.network)
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
        let docker = Docker::connect_with_host(endpoint)
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
        })
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

    fn track(&self, id: &str) {
        if let Ok(mut set) = self.containers.lock() {
            set.insert(id.to_owned());
        }
    }

    /// Force-removes a container (and its anonymous volumes) and forgets it.
    async fn remove(&self, id: &str) {
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

impl Engine for DockerEngine {
    type Target = DockerTarget;

    fn describe(&self) -> String {
        format!("docker at {}{}", self.endpoint, self.network.note())
    }

    async fn build(&self, request: BuildRequest<'_>) -> Result<BuiltImage, Error> {
        build::build(self, request).await
    }

    async fn distribution(&self, address: &str) -> Result<Distribution, Error> {
        let inspect = self
            .docker
            .inspect_registry_image(address, None)
            .await
            .map_err(engine_error(format!("read {address} from its registry")))?;
        let platforms = inspect
            .platforms
            .iter()
            .map(|p| platform_text(p.os.as_deref(), p.architecture.as_deref(), p.variant.as_deref()))
            .collect();
        Ok(Distribution {
            media_type: inspect.descriptor.media_type.unwrap_or_default(),
            platforms,
        })
    }

    async fn root_identity(&self, address: &str, platform: &str) -> Result<RootIdentity, Error> {
        let image = build::ensure_root(self, address, platform).await?;
        let name = crate::ImageAddress::parse(address)?.name().to_owned();
        let pinned = image.repo_digests.unwrap_or_default().into_iter().find_map(|d| {
            let (repo, digest) = d.split_once('@')?;
            (short_name(repo) == short_name(&name))
                .then(|| format!("{}@{digest}", address.split('@').next().unwrap_or(address)))
        });
        Ok(RootIdentity {
            image_id: image.id.unwrap_or_default(),
            pinned,
        })
    }

    async fn start(&self, image: &BuiltImage, network: bool) -> Result<DockerTarget, Error> {
        target::start(self, image, network).await
    }

    async fn stop(&self, target: DockerTarget) {
        self.remove(target.id()).await;
    }

    async fn cleanup(&self) {
        let ids: Vec<String> = self
            .containers
            .lock()
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default();
        for id in ids {
            self.remove(&id).await;
        }
    }
}

/// What reading a path of a container through the archive API found.
enum ContainerFile {
    /// A file, with its contents.
    File(Vec<u8>),
    /// A directory.
    Directory,
    /// Nothing (an empty archive).
    Empty,
}

/// Reads `path` of `container` through the archive API (the build's
/// `/etc/passwd`, a check's `read_file`).
async fn container_file(
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

/// `os/arch[/variant]` from the engine's fields (`?` for one it left out).
fn platform_text(os: Option<&str>, architecture: Option<&str>, variant: Option<&str>) -> String {
    let mut text = format!("{}/{}", os.unwrap_or("?"), architecture.unwrap_or("?"));
    if let Some(variant) = variant.filter(|v| !v.is_empty()) {
        text.push('/');
        text.push_str(variant);
    }
    text
}

/// A repository name as the engine shortens it (`docker.io/library/x` is `x`).
fn short_name(name: &str) -> &str {
    let name = name.strip_prefix("docker.io/").unwrap_or(name);
    name.strip_prefix("library/").unwrap_or(name)
}

/// Maps a bollard error to the library's, saying what was being done.
fn engine_error(action: impl Into<String>) -> impl FnOnce(bollard::errors::Error) -> Error {
    let action = action.into();
    move |e| Error::Engine {
        action,
        reason: e.to_string(),
        source: Some(Box::new(e)),
    }
}
