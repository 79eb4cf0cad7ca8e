//! The boundary between the project and `dagger_sdk`: every call is bounded
//! by a time limit (an engine may never answer), a panic inside the SDK (it
//! panics on some malformed responses) becomes an error, and Dagger's exec
//! error (a GraphQL error whose extensions say `EXEC_ERROR` with the exit
//! code and both streams) is told apart from every other failure.

use std::future::Future;
use std::time::Duration;

use dagger_sdk::core::gql_client::GraphQlExtension;
use dagger_sdk::core::graphql_client::GraphQLError;
use dagger_sdk::errors::DaggerError;

use crate::error_chain::error_chain;
use crate::Error;

/// How long one call to the Dagger engine may take before it counts as not
/// answering (builds of whole images take longer: pass a longer limit).
pub const CALL_TIMEOUT: Duration = Duration::from_secs(60);

/// A process the Dagger engine ran that exited non-zero, as its exec error
/// reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExecFailure {
    /// The command.
    pub cmd: Vec<String>,
    /// Its exit code.
    pub exit_code: i64,
    /// Its standard output.
    pub stdout: String,
    /// Its standard error.
    pub stderr: String,
}

/// The exec error inside a Dagger error, if it is one.
pub fn exec_failure(error: &DaggerError) -> Option<ExecFailure> {
    let DaggerError::Query(GraphQLError::DomainError { fields, .. }) = error else {
        return None;
    };
    fields.iter().find_map(|field| match &field.extensions {
        Some(GraphQlExtension::ExecError {
            cmd,
            exit_code,
            stderr,
            stdout,
        }) => Some(ExecFailure {
            cmd: cmd.clone(),
            exit_code: i64::from(*exit_code),
            stdout: stdout.clone(),
            stderr: stderr.clone(),
        }),
        _ => None,
    })
}

/// Runs one call to the Dagger engine at the boundary: an engine that does
/// not answer within `limit` is an error, and so is a panic inside the SDK
/// — never a hang or a crash.
pub async fn guarded<T>(
    what: &str,
    limit: Duration,
    call: impl Future<Output = Result<T, DaggerError>>,
) -> Result<T, Error> {
    guarded_exec(what, limit, call)
        .await?
        .map_err(|failure| engine_error(what, exec_text(&failure), None))
}

/// `guarded` for a call that runs a process: a non-zero exit is
/// `Ok(Err(failure))`, with the exit code and output Dagger reported.
pub async fn guarded_exec<T>(
    what: &str,
    limit: Duration,
    call: impl Future<Output = Result<T, DaggerError>>,
) -> Result<Result<T, ExecFailure>, Error> {
    use futures_util::FutureExt as _;
    match tokio::time::timeout(limit, std::panic::AssertUnwindSafe(call).catch_unwind()).await {
        Err(_) => Err(engine_error(
            what,
            format!("the Dagger engine did not answer within {} s", limit.as_secs_f64()),
            None,
        )),
        Ok(Err(panic)) => {
            let text = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_default();
            Err(engine_error(
                what,
                format!("the Dagger SDK failed on the engine's answer: {text}"),
                None,
            ))
        }
        Ok(Ok(Err(e))) => match exec_failure(&e) {
            Some(failure) => Ok(Err(failure)),
            None => Err(engine_error(what, error_chain(&e), Some(Box::new(e)))),
        },
        Ok(Ok(Ok(value))) => Ok(Ok(value)),
    }
}

fn engine_error(what: &str, reason: String, source: Option<Box<dyn std::error::Error + Send + Sync>>) -> Error {
    Error::Engine {
        action: what.to_owned(),
        reason,
        source,
    }
}

/// An exec failure in one line (for places that only report it).
fn exec_text(failure: &ExecFailure) -> String {
    format!(
        "`{}` exited with code {}: {}",
        crate::shell::shell_words(&failure.cmd),
        failure.exit_code,
        failure.stderr.trim_end()
    )
}
