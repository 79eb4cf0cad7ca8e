//! Checks on a Dagger engine: each command is a `withExec` on the built
//! container (as `user` when asked), read back as its stdout and stderr; a
//! non-zero exit comes back as Dagger's exec error and becomes the same
//! `ExecOutput` (exit code and both streams) the Docker engine gives, so a
//! failing check is reported the same on both. Environment variables and
//! labels are read from the container's configuration.

use dagger_sdk::Container;
use serde::de::DeserializeOwned;

use super::guard::{guarded, guarded_exec, CALL_TIMEOUT};
use crate::checks::{shell_words, BoxFuture, CheckTarget, ExecOutput, TargetError};

/// How long one exec may take at most (each check's own time limit is
/// applied by the runner and is usually far shorter).
const EXEC_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3600);

/// A built container checks run in.
#[derive(Clone)]
pub struct DaggerTarget {
    container: Container,
}

impl DaggerTarget {
    /// Checks on `container`.
    pub fn new(container: Container) -> Self {
        DaggerTarget { container }
    }

    /// A field of the container's configuration that may be null.
    async fn config_field<T: DeserializeOwned>(&self, field: &str, name: &str) -> Result<Option<T>, TargetError> {
        let query = self.container.selection.select(field).arg("name", name);
        let what = format!("read {field} {name}");
        guarded(
            &what,
            CALL_TIMEOUT,
            query.execute(self.container.graphql_client.clone()),
        )
        .await
        .map_err(TargetError::from)
    }
}

impl CheckTarget for DaggerTarget {
    fn exec_as<'a>(
        &'a self,
        user: Option<&'a str>,
        args: &'a [&'a str],
    ) -> BoxFuture<'a, Result<ExecOutput, TargetError>> {
        Box::pin(async move {
            let mut container = self.container.clone();
            if let Some(user) = user {
                container = container.with_user(user);
            }
            let container = container.with_exec(args.to_vec());
            let what = format!("run `{}`", shell_words(args));
            match guarded_exec(&what, EXEC_TIMEOUT, container.stdout()).await? {
                Ok(stdout) => {
                    let stderr = guarded(&what, CALL_TIMEOUT, container.stderr()).await?;
                    Ok(ExecOutput {
                        exit_code: 0,
                        stdout,
                        stderr,
                    })
                }
                Err(failure) => Ok(ExecOutput {
                    exit_code: failure.exit_code,
                    stdout: failure.stdout,
                    stderr: failure.stderr,
                }),
            }
        })
    }

    /// Dagger's API returns a file's contents as a string: text files only.
    fn read_file<'a>(&'a self, path: &'a str) -> BoxFuture<'a, Result<Vec<u8>, TargetError>> {
        Box::pin(async move {
            let what = format!("read {path}");
            guarded(&what, CALL_TIMEOUT, self.container.file(path).contents())
                .await
                .map(String::into_bytes)
                .map_err(TargetError::from)
        })
    }

    fn env_var<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<Option<String>, TargetError>> {
        Box::pin(self.config_field("envVariable", name))
    }

    fn label<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<Option<String>, TargetError>> {
        Box::pin(self.config_field("label", name))
    }
}
