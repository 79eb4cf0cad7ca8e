//! The network build steps and networked checks run in: the engine's
//! default network (Docker's `bridge`, the one `docker build` and `docker
//! run` use) when the engine has one, else the host's. An engine started
//! with `--bridge=none`, as the project's private engine is (it leaves host
//! networking alone), has no default network, so a step there would fail
//! to start on it. The engine is asked once, when it is connected, and its
//! description says when steps use the host's network.

use bollard::errors::Error as BollardError;
use bollard::Docker;

/// The name of Docker's default network.
const DEFAULT_NETWORK: &str = "bridge";

/// Where build steps and the checks that ask for a network run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepNetwork {
    /// The engine's default network.
    Default,
    /// The host's network (the engine has no default one).
    Host,
}

impl StepNetwork {
    /// Reads which one `docker` offers: its default network, if it has one.
    pub(super) async fn of(docker: &Docker) -> Result<Self, BollardError> {
        match docker.inspect_network(DEFAULT_NETWORK, None).await {
            Ok(_) => Ok(StepNetwork::Default),
            Err(BollardError::DockerResponseServerError { status_code: 404, .. }) => Ok(StepNetwork::Host),
            Err(e) => Err(e),
        }
    }

    /// The network mode a build or a container is given (`None`: the
    /// engine's default).
    pub(super) fn mode(self) -> Option<String> {
        match self {
            StepNetwork::Default => None,
            StepNetwork::Host => Some("host".to_owned()),
        }
    }

    /// What the engine's description says of it (nothing for the default).
    pub(super) fn note(self) -> &'static str {
        match self {
            StepNetwork::Default => "",
            StepNetwork::Host => ", which has no default network (steps use the host's)",
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};

    use super::StepNetwork;
    use crate::engine::docker::DockerEngine;
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
