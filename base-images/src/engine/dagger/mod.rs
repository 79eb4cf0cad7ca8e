//! Dagger: a Recipe as a `dagger_sdk::Container` (`lower`), and an engine
//! that builds and checks through a Dagger session (`engine`, `target`),
//! behind the boundary every SDK call goes through (`guard`: time limits,
//! panics caught, exec errors told apart). The session is read from the
//! environment `dagger run` sets (`session`); nothing here downloads or
//! starts a Dagger CLI.

mod engine;
mod guard;
mod lower;
mod session;
mod target;

pub use engine::{DaggerEngine, CONNECT_TIMEOUT};
pub use guard::{exec_failure, guarded, guarded_exec, ExecFailure, CALL_TIMEOUT};
pub use session::{Session, BUILD_TIMEOUT, PORT_VAR, TOKEN_VAR};
pub use target::DaggerTarget;
