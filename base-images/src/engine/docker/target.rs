//! The container checks run in: one per built image, started with its
//! entrypoint replaced by `sleep infinity` under an init process, without
//! network unless asked (then on the build steps' network), as the image's user. Commands run through the exec
//! API with stdout and stderr kept apart.

use std::collections::HashMap;
use std::time::Duration;

use bollard::exec::{CreateExecOptions, StartExecResults};
use bollard::models::{ContainerCreateBody, HostConfig};
use bollard::query_parameters::{ContainerArchiveInfoOptions, CreateContainerOptions};
use futures_util::StreamExt as _;

use super::client::{container_file, engine_error, ContainerFile, DockerEngine, RUN_LABEL};
use crate::checks::{BoxFuture, CheckTarget, ExecOutput, TargetError};
use crate::engine::BuiltImage;
use crate::Error;

/// A running check container.
#[derive(Debug)]
pub struct DockerTarget {
    engine: DockerEngine,
    id: String,
    env: Vec<String>,
    labels: HashMap<String, String>,
    /// The image's `timeout` program, which stops a command at its limit.
    timeout: Option<&'static str>,
}

impl DockerTarget {
    /// The container id.
    pub fn id(&self) -> &str {
        &self.id
    }
}

pub(super) async fn start(engine: &DockerEngine, image: &BuiltImage, network: bool) -> Result<DockerTarget, Error> {
    let body = ContainerCreateBody {
        image: Some(image.id.clone()),
        entrypoint: Some(vec!["sleep".into(), "infinity".into()]),
        cmd: None,
        labels: Some(HashMap::from([(RUN_LABEL.to_owned(), engine.run_id.clone())])),
        host_config: Some(HostConfig {
            init: Some(true),
            network_mode: if network {
                engine.network.mode()
            } else {
                Some("none".into())
            },
            ..Default::default()
        }),
        ..Default::default()
    };
    let created = engine
        .docker
        .create_container(None::<CreateContainerOptions>, body)
        .await
        .map_err(engine_error("create the check container"))?;
    engine.track(&created.id);
    if let Err(e) = engine.docker.start_container(&created.id, None).await {
        engine.remove(&created.id).await;
        return Err(engine_error("start the check container")(e));
    }
    let config = match engine.docker.inspect_container(&created.id, None).await {
        Ok(inspect) => inspect.config.unwrap_or_default(),
        Err(e) => {
            engine.remove(&created.id).await;
            return Err(engine_error("inspect the check container")(e));
        }
    };
    let mut labels = config.labels.unwrap_or_default();
    labels.remove(RUN_LABEL);
    let mut timeout = None;
    for program in ["/usr/bin/timeout", "/bin/timeout"] {
        let options = ContainerArchiveInfoOptions {
            path: program.to_owned(),
        };
        if engine
            .docker
            .get_container_archive_info(&created.id, Some(options))
            .await
            .is_ok()
        {
            timeout = Some(program);
            break;
        }
    }
    Ok(DockerTarget {
        engine: engine.clone(),
        id: created.id,
        env: config.env.unwrap_or_default(),
        labels,
        timeout,
    })
}

impl DockerTarget {
    async fn run(&self, user: Option<&str>, args: &[&str]) -> Result<ExecOutput, TargetError> {
        let docker = &self.engine.docker;
        let failed = |action: &str| {
            let action = format!("{action} `{}`", crate::shell::shell_words(args));
            move |e: bollard::errors::Error| TargetError::request(action, e)
        };
        let options = CreateExecOptions {
            cmd: Some(args.to_vec()),
            user,
            attach_stdout: Some(true),
            attach_stderr: Some(true),
            ..Default::default()
        };
        let exec = docker
            .create_exec(&self.id, options)
            .await
            .map_err(failed("create an exec of"))?;
        let mut stdout = Vec::new();
        let mut stderr = Vec::new();
        if let StartExecResults::Attached { mut output, .. } =
            docker.start_exec(&exec.id, None).await.map_err(failed("start"))?
        {
            while let Some(chunk) = output.next().await {
                match chunk.map_err(failed("read the output of"))? {
                    bollard::container::LogOutput::StdErr { message } => stderr.extend_from_slice(&message),
                    other => stdout.extend_from_slice(&other.into_bytes()),
                }
            }
        }
        let inspect = docker
            .inspect_exec(&exec.id)
            .await
            .map_err(failed("read the exit code of"))?;
        Ok(ExecOutput {
            exit_code: inspect.exit_code.unwrap_or(-1),
            stdout: String::from_utf8_lossy(&stdout).into_owned(),
            stderr: String::from_utf8_lossy(&stderr).into_owned(),
        })
    }

    async fn file(&self, path: &str) -> Result<Vec<u8>, TargetError> {
        match container_file(&self.engine, &self.id, path).await {
            Ok(ContainerFile::File(contents)) => Ok(contents),
            Ok(ContainerFile::Directory) => Err(TargetError::Unexpected(format!("{path} is a directory"))),
            Ok(ContainerFile::Empty) => Err(TargetError::Unexpected(format!(
                "{path}: the engine sent an empty archive"
            ))),
            Err(e) => Err(TargetError::request(format!("read {path}"), e)),
        }
    }
}

impl CheckTarget for DockerTarget {
    fn exec_as<'a>(
        &'a self,
        user: Option<&'a str>,
        args: &'a [&'a str],
    ) -> BoxFuture<'a, Result<ExecOutput, TargetError>> {
        Box::pin(self.run(user, args))
    }

    /// Under the image's `timeout` (`-k 1`), so the process is stopped at
    /// the limit (exit code 124), not left running; without one, the
    /// request is dropped at the limit and the process ends with the
    /// check container.
    fn exec_for<'a>(
        &'a self,
        user: Option<&'a str>,
        args: &'a [&'a str],
        limit: Duration,
    ) -> BoxFuture<'a, Result<ExecOutput, TargetError>> {
        Box::pin(async move {
            let secs = format!("{:.3}", limit.as_secs_f64().max(0.001));
            let wrapped: Vec<&str> = match self.timeout {
                Some(program) => [program, "-k", "1", secs.as_str()]
                    .into_iter()
                    .chain(args.iter().copied())
                    .collect(),
                None => args.to_vec(),
            };
            let wait = if self.timeout.is_some() {
                limit + Duration::from_secs(3)
            } else {
                limit
            };
            tokio::time::timeout(wait, self.run(user, &wrapped))
                .await
                .unwrap_or(Err(TargetError::TimedOut(limit)))
        })
    }

    fn read_file<'a>(&'a self, path: &'a str) -> BoxFuture<'a, Result<Vec<u8>, TargetError>> {
        Box::pin(self.file(path))
    }

    fn env_var<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<Option<String>, TargetError>> {
        let prefix = format!("{name}=");
        let value = self.env.iter().find_map(|e| e.strip_prefix(&prefix)).map(str::to_owned);
        Box::pin(async move { Ok(value) })
    }

    fn label<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<Option<String>, TargetError>> {
        let value = self.labels.get(name).cloned();
        Box::pin(async move { Ok(value) })
    }
}
