//! The Docker engine: any Docker-API daemon (dockerd, Docker Desktop,
//! podman's socket) through `bollard`, with the API version agreed with the
//! daemon so older ones (Debian's dockerd 20.10, API 1.41) answer. It finds
//! the daemon as the docker CLI does (`DOCKER_HOST`, `DOCKER_TLS_VERIFY`,
//! `DOCKER_CERT_PATH`, else the default socket) and fails within seconds,
//! naming the endpoint, when none answers. Every container it creates carries a run
//! label and is tracked, so an interrupted run removes what it started.
//!
//! The connection and the helpers every part uses are `client`; building
//! is `build` (in the engine's BuildKit, `buildkit`), checks run in
//! `target`, on the network `network` chose. This file ties them together
//! as an [`Engine`].

mod build;
mod buildkit;
mod client;
mod export;
mod inventory;
mod network;
mod shared;
mod target;

pub use build::{CACHE_REPOSITORY, ROOT_REPOSITORY};
pub use client::{DockerEngine, CONNECT_TIMEOUT, RECIPE_LABEL, RUN_LABEL};
pub use network::StepNetwork;
pub use shared::SharedCache;
pub use target::DockerTarget;

use super::{BuildRequest, BuiltImage, Distribution, Engine, RootIdentity};
use crate::docker_hub::short_name;
use crate::Error;
use client::{engine_error, platform_text};

impl Engine for DockerEngine {
    type Target = DockerTarget;

    fn describe(&self) -> String {
        format!("{}{}", self.name(), self.network.note())
    }

    fn name(&self) -> String {
        format!("docker at {}", self.endpoint)
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

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};

    use super::{DockerEngine, StepNetwork};
    use crate::engine::{BuiltImage, Engine as _};

    /// A loopback Docker API that answers what connecting and starting a
    /// check container ask, with or without the default network (and a
    /// broken network listing for `status` 500), and keeps the body of the
    /// container it was asked to create.
    struct FakeDaemon {
        endpoint: String,
        created: Arc<Mutex<Option<serde_json::Value>>>,
        stop: Arc<AtomicBool>,
    }

    impl Drop for FakeDaemon {
        fn drop(&mut self) {
            self.stop.store(true, Ordering::SeqCst);
        }
    }

    fn daemon(bridge_status: u16) -> FakeDaemon {
        let server = tiny_http::Server::http("127.0.0.1:0").expect("a loopback port");
        let addr = server.server_addr().to_ip().expect("an IP address");
        let created = Arc::new(Mutex::new(None));
        let stop = Arc::new(AtomicBool::new(false));
        let (kept, stopped) = (Arc::clone(&created), Arc::clone(&stop));
        std::thread::spawn(move || {
            while !stopped.load(Ordering::SeqCst) {
                let Ok(Some(mut request)) = server.recv_timeout(std::time::Duration::from_millis(50)) else {
                    continue;
                };
                let path = request.url().split('?').next().unwrap_or_default().to_owned();
                // Without the `/v1.xx` prefix bollard adds once it agreed a version.
                let path = match path.strip_prefix("/v1.") {
                    Some(rest) => rest.split_once('/').map(|(_, p)| format!("/{p}")).unwrap_or_default(),
                    None => path,
                };
                let (status, body) = match (request.method().as_str(), path.as_str()) {
                    ("GET", "/version") => (200, r#"{"ApiVersion":"1.41","Version":"20.10.24"}"#.to_owned()),
                    ("GET", "/networks/bridge") if bridge_status == 200 => {
                        (200, r#"{"Name":"bridge","Id":"n1","Driver":"bridge"}"#.to_owned())
                    }
                    ("GET", "/networks/bridge") => (bridge_status, r#"{"message":"no bridge"}"#.to_owned()),
                    ("POST", "/containers/create") => {
                        let mut body = String::new();
                        let _ = std::io::Read::read_to_string(request.as_reader(), &mut body);
                        *kept.lock().expect("not poisoned") = serde_json::from_str(&body).ok();
                        (201, r#"{"Id":"c1","Warnings":[]}"#.to_owned())
                    }
                    ("POST", "/containers/c1/start") | ("DELETE", "/containers/c1") => (204, String::new()),
                    ("GET", "/containers/c1/json") => (200, r#"{"Id":"c1","Config":{"Env":[]}}"#.to_owned()),
                    _ => (404, r#"{"message":"not here"}"#.to_owned()),
                };
                let header =
                    tiny_http::Header::from_bytes(&b"Content-Type"[..], &b"application/json"[..]).expect("a header");
                let response = tiny_http::Response::from_string(body)
                    .with_status_code(status)
                    .with_header(header);
                let _ = request.respond(response);
            }
        });
        FakeDaemon {
            endpoint: format!("tcp://{addr}"),
            created,
            stop,
        }
    }

    /// The network mode of the check container `engine` starts with network.
    async fn networked_check_mode(engine: &DockerEngine, daemon: &FakeDaemon) -> serde_json::Value {
        let image = BuiltImage {
            id: "sha256:i".into(),
            steps_built: 0,
            steps_cached: 0,
        };
        let target = engine.start(&image, true).await.expect("the check container starts");
        engine.stop(target).await;
        let created = daemon.created.lock().expect("not poisoned").clone();
        created.expect("a container was created")["HostConfig"]["NetworkMode"].clone()
    }

    #[tokio::test]
    async fn an_engine_with_a_default_network_runs_steps_on_it() {
        let daemon = daemon(200);
        let engine = DockerEngine::connect_to(&daemon.endpoint).await.expect("connects");
        assert_eq!(engine.step_network(), StepNetwork::Default);
        assert_eq!(
            engine.step_network().mode(),
            None,
            "the build's network mode is the engine's default"
        );
        assert_eq!(engine.describe(), format!("docker at {}", daemon.endpoint));
        assert_eq!(networked_check_mode(&engine, &daemon).await, serde_json::Value::Null);
    }

    #[tokio::test]
    async fn an_engine_without_a_default_network_runs_steps_on_the_hosts_and_says_so() {
        let daemon = daemon(404);
        let engine = DockerEngine::connect_to(&daemon.endpoint).await.expect("connects");
        assert_eq!(engine.step_network(), StepNetwork::Host);
        assert_eq!(engine.step_network().mode().as_deref(), Some("host"));
        assert_eq!(
            engine.describe(),
            format!(
                "docker at {}, which has no default network (steps use the host's)",
                daemon.endpoint
            )
        );
        assert_eq!(networked_check_mode(&engine, &daemon).await, "host");
    }

    #[tokio::test]
    async fn an_engine_that_cannot_list_its_networks_is_not_used() {
        let daemon = daemon(500);
        let error = DockerEngine::connect_to(&daemon.endpoint)
            .await
            .expect_err("a broken network listing is an error");
        let text = error.to_string();
        assert!(
            text.contains(&format!("no container engine answers at {}", daemon.endpoint)) && text.contains("no bridge"),
            "{text}"
        );
    }
}
