//! The Dagger session a process runs in: `dagger run` sets
//! `DAGGER_SESSION_PORT` and `DAGGER_SESSION_TOKEN`. The client is made from
//! them alone, never through the SDK's `connect`, which downloads and starts
//! a Dagger CLI when they are missing (and no network here or in many CI
//! jobs reaches its download site): without a session there is an error at
//! once that says how to start one.

use std::sync::Arc;
use std::time::Duration;

use dagger_sdk::core::connect_params::ConnectParams;
use dagger_sdk::core::graphql_client::DefaultGraphQLClient;
use dagger_sdk::{Config, Query, Selection};

use crate::Error;

/// The variable naming the session's port on 127.0.0.1.
pub const PORT_VAR: &str = "DAGGER_SESSION_PORT";
/// The variable holding the session's token.
pub const TOKEN_VAR: &str = "DAGGER_SESSION_TOKEN";

/// How long a whole build may take in the engine (also the limit on the
/// session client's HTTP requests).
pub const BUILD_TIMEOUT: Duration = Duration::from_secs(3 * 3600);

/// A Dagger session's address and token.
#[derive(Clone, PartialEq, Eq)]
pub struct Session {
    port: u16,
    token: String,
}

impl std::fmt::Debug for Session {
    /// The port only: the token is a secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// Whether this process runs in a Dagger session (`dagger run`).
    pub fn present() -> bool {
        std::env::var_os(PORT_VAR).is_some()
    }

    /// The session this process runs in.
    pub fn from_env() -> Result<Self, Error> {
        Self::from_vars(std::env::var(PORT_VAR).ok(), std::env::var(TOKEN_VAR).ok())
    }

    /// The session the two variables' values describe.
    pub fn from_vars(port: Option<String>, token: Option<String>) -> Result<Self, Error> {
        let missing = |reason: String| Error::NoDaggerSession { reason };
        let port = port
            .filter(|p| !p.is_empty())
            .ok_or_else(|| missing(format!("{PORT_VAR} is not set")))?;
        let port = port
            .parse::<u16>()
            .ok()
            .filter(|p| *p != 0)
            .ok_or_else(|| missing(format!("{PORT_VAR}={port:?} is not a port number")))?;
        let token = token
            .filter(|t| !t.is_empty())
            .ok_or_else(|| missing(format!("{PORT_VAR} is set but {TOKEN_VAR} is not")))?;
        Ok(Session { port, token })
    }

    /// Where the session's engine answers.
    pub fn endpoint(&self) -> String {
        self.params().url()
    }

    fn params(&self) -> ConnectParams {
        ConnectParams::new(u64::from(self.port), &self.token)
    }

    /// A client of the session's engine (no request is made yet). Its
    /// HTTP requests time out after the longest build; each call has its
    /// own, shorter limit on top (`guarded`).
    pub fn client(&self) -> Query {
        let config = Config {
            execute_timeout_ms: u64::try_from(BUILD_TIMEOUT.as_millis()).ok(),
            ..Config::default()
        };
        Query {
            proc: None,
            selection: Selection::default(),
            graphql_client: Arc::new(DefaultGraphQLClient::new(&self.params(), &config)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(port: Option<&str>, token: Option<&str>) -> String {
        Session::from_vars(port.map(Into::into), token.map(Into::into))
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn no_session_says_how_to_start_one() {
        let text = reason(None, None);
        assert!(
            text.starts_with("no Dagger session: DAGGER_SESSION_PORT is not set."),
            "{text}"
        );
        assert!(text.contains("`dagger run cargo run -p base-images-build`"), "{text}");
        assert!(reason(Some(""), Some("t")).contains("DAGGER_SESSION_PORT is not set"));
        assert!(reason(Some("http"), Some("t")).contains("DAGGER_SESSION_PORT=\"http\" is not a port number"));
        assert!(reason(Some("0"), Some("t")).contains("is not a port number"));
        assert!(reason(Some("8080"), None).contains("DAGGER_SESSION_TOKEN is not"));
    }

    #[test]
    fn a_session_names_its_endpoint_and_hides_its_token() {
        let session = Session::from_vars(Some("8080".into()), Some("secret".into())).unwrap();
        assert_eq!(session.endpoint(), "http://127.0.0.1:8080/query");
        assert!(!format!("{session:?}").contains("secret"));
    }
}
