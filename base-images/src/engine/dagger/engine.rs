//! The Dagger engine: builds a recipe by lowering it to a container and
//! syncing it in the session's engine, and runs checks with one `withExec`
//! per command on the built container. A step that exits non-zero is
//! reported like on the Docker engine (step number, operation, declaring
//! version, command, exit code, output) from Dagger's exec error. Dagger
//! caches steps itself; it does not say which it served from its cache, so
//! every step counts as built.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use dagger_sdk::{Container, Platform, Query, QueryContainerOpts};

use super::guard::{guarded, guarded_exec, ExecFailure, CALL_TIMEOUT};
use super::lower::{apply, lowered};
use super::session::{Session, BUILD_TIMEOUT};
use super::target::DaggerTarget;
use crate::engine::{BuildRequest, BuiltImage, Distribution, Engine, RootIdentity};
use crate::lower::Op;
use crate::{Error, Step};

/// How long the session may take to answer the first query.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How many lines of a failed step's output an error shows.
const OUTPUT_LINES: usize = 30;

/// The engine of a Dagger session.
pub struct DaggerEngine {
    client: Query,
    endpoint: String,
    /// The containers built by this value, by the id `build` gave them.
    built: Mutex<HashMap<String, Container>>,
}

impl DaggerEngine {
    /// Connects to the session this process runs in (`dagger run`); an
    /// error at once without one.
    pub async fn connect() -> Result<Self, Error> {
        Self::connect_to(&Session::from_env()?).await
    }

    /// Connects to `session` and checks that its engine answers.
    pub async fn connect_to(session: &Session) -> Result<Self, Error> {
        let endpoint = session.endpoint();
        let client = session.client();
        guarded(
            &format!("answer at the Dagger session {endpoint}"),
            CONNECT_TIMEOUT,
            client.version(),
        )
        .await?;
        Ok(DaggerEngine {
            client,
            endpoint,
            built: Mutex::new(HashMap::new()),
        })
    }

    /// The client of the session.
    pub fn client(&self) -> &Query {
        &self.client
    }

    fn built(&self) -> std::sync::MutexGuard<'_, HashMap<String, Container>> {
        self.built.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The error for step `index` (0-based), which Dagger reported as failed.
fn step_failed(request: &BuildRequest<'_>, index: usize, failure: ExecFailure) -> Error {
    let output = [failure.stdout.trim_end(), failure.stderr.trim_end()]
        .iter()
        .flat_map(|s| s.lines())
        .collect::<Vec<_>>();
    let output = output[output.len().saturating_sub(OUTPUT_LINES)..].join("\n");
    Error::StepFailed {
        step: index + 1,
        op: request.recipe.steps.get(index).map_or("exec", Step::op),
        declared_by: request.declared_by.get(index).cloned().unwrap_or_default(),
        command: failure.cmd,
        exit_code: failure.exit_code,
        output,
    }
}

impl Engine for DaggerEngine {
    type Target = DaggerTarget;

    fn describe(&self) -> String {
        self.name()
    }

    fn name(&self) -> String {
        format!("dagger at {}", self.endpoint)
    }

    /// Syncs after every operation that runs or fetches something, so a
    /// failure is the step's whose sync failed (never guessed from its
    /// command line: two steps may run the same command).
    async fn build(&self, request: BuildRequest<'_>) -> Result<BuiltImage, Error> {
        let (mut container, ops) = lowered(request.recipe, &self.client, Some(request.platform))?;
        let (pins, sources) = (request.inputs.digests(), request.inputs.sources());
        let what = format!("build for {}", request.platform);
        for (index, op) in ops.iter().enumerate() {
            container = apply(&self.client, &container, op, &pins, &sources);
            if matches!(op, Op::Run(_) | Op::File(_) | Op::Unpack(_)) {
                container = guarded_exec(&what, BUILD_TIMEOUT, container.sync())
                    .await?
                    .map_err(|failure| step_failed(&request, index, failure))?;
            }
        }
        let synced = guarded(&what, BUILD_TIMEOUT, container.sync()).await?;
        let id = guarded(&what, CALL_TIMEOUT, synced.id()).await?;
        let key = format!("dagger:{}", crate::sha256::digest_of(id.0.as_bytes()));
        self.built().insert(key.clone(), synced);
        Ok(BuiltImage {
            id: key,
            steps_built: request.recipe.steps.len(),
            steps_cached: 0,
        })
    }

    async fn distribution(&self, address: &str) -> Result<Distribution, Error> {
        Err(Error::Engine {
            action: format!("read {address} from its registry"),
            reason: "the Dagger API does not say which platforms a registry serves under an address; \
                     `build --engine docker` verifies it"
                .into(),
            source: None,
        })
    }

    async fn root_identity(&self, address: &str, platform: &str) -> Result<RootIdentity, Error> {
        let container = self
            .client
            .container_opts(QueryContainerOpts {
                platform: Some(Platform(platform.to_owned())),
            })
            .from(address);
        let reference = guarded(&format!("resolve {address}"), CALL_TIMEOUT, container.image_ref()).await?;
        Ok(RootIdentity {
            pinned: reference.contains("@sha256:").then(|| reference.clone()),
            image_id: reference,
        })
    }

    /// Every Dagger exec has the network: `network` cannot withhold it.
    async fn start(&self, image: &BuiltImage, _network: bool) -> Result<DaggerTarget, Error> {
        let container = self.built().get(&image.id).cloned().ok_or_else(|| Error::Engine {
            action: format!("run checks in {}", image.id),
            reason: "this engine did not build that image".into(),
            source: None,
        })?;
        Ok(DaggerTarget::new(container))
    }

    /// Nothing runs between checks: each is an exec of its own query.
    async fn stop(&self, _target: DaggerTarget) {}

    /// Dagger owns its execs and ends them with the session; forget the
    /// containers built.
    async fn cleanup(&self) {
        self.built().clear();
    }
}
