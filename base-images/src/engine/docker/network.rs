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
