//! The engine-facing side of checks: the [`CheckTarget`] trait a running
//! container implements (each engine has one), what a command run through
//! it answers ([`ExecOutput`]) and why a request of it failed
//! ([`TargetError`]).

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use crate::Error;

/// A command's result, as a check target returns it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExecOutput {
    /// The exit code.
    pub exit_code: i64,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

/// Why a check target could not do what a check asked of it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TargetError {
    /// The engine client's request failed.
    #[error("the engine failed to {action}: {source}")]
    Request {
        /// What was asked.
        action: String,
        /// The client's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync + 'static>,
    },
    /// The engine failed, as the library reports it (the Dagger boundary).
    #[error(transparent)]
    Engine(#[from] Error),
    /// No answer within the time given.
    #[error("no answer within {:.1} s", .0.as_secs_f64())]
    TimedOut(Duration),
    /// The answer is not what was asked for.
    #[error("{0}")]
    Unexpected(String),
}

impl TargetError {
    /// A failed request of the engine's client.
    pub fn request(
        action: impl Into<String>,
        source: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>,
    ) -> Self {
        TargetError::Request {
            action: action.into(),
            source: source.into(),
        }
    }
}

/// A custom check fails with text: `target.exec(..).await?` works in one.
impl From<TargetError> for String {
    fn from(error: TargetError) -> String {
        error.to_string()
    }
}

/// A boxed future, as custom checks and check targets return them.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A running container a check inspects; engines implement it.
pub trait CheckTarget: Send + Sync {
    /// Runs a command (argv) in the container as `user` (the image's user
    /// when `None`).
    fn exec_as<'a>(
        &'a self,
        user: Option<&'a str>,
        args: &'a [&'a str],
    ) -> BoxFuture<'a, Result<ExecOutput, TargetError>>;
    /// Runs a command (argv) in the container as the image's user.
    fn exec<'a>(&'a self, args: &'a [&'a str]) -> BoxFuture<'a, Result<ExecOutput, TargetError>> {
        self.exec_as(None, args)
    }
    /// Runs a command as `user` for at most `limit`. At the limit an
    /// engine that can stops the process (the Docker engine runs it under
    /// the image's `timeout`) and answers what it printed with exit code
    /// 124; this default drops the request and answers an error.
    fn exec_for<'a>(
        &'a self,
        user: Option<&'a str>,
        args: &'a [&'a str],
        limit: Duration,
    ) -> BoxFuture<'a, Result<ExecOutput, TargetError>> {
        Box::pin(async move {
            tokio::time::timeout(limit, self.exec_as(user, args))
                .await
                .unwrap_or(Err(TargetError::TimedOut(limit)))
        })
    }
    /// Reads a file of the container.
    fn read_file<'a>(&'a self, path: &'a str) -> BoxFuture<'a, Result<Vec<u8>, TargetError>>;
    /// Reads an environment variable of the image.
    fn env_var<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<Option<String>, TargetError>>;
    /// Reads a label of the image.
    fn label<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<Option<String>, TargetError>>;
}
