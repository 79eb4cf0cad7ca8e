//! Sanity checks as data: a `Check` has a stable id, a description and a
//! kind (a built-in assertion, or a custom async function run against the
//! built image). `Checks` is the builder a `#[sanity_checks]` function
//! receives; it records misuse instead of panicking, and `finish` reports
//! it. Inheritance lives in `resolve`; running checks is the engines' job,
//! through the `CheckTarget` trait each engine implements.
//!
//! The model is `model`'s, the builder `builder`'s, the engine-facing trait
//! `target`'s; `eval` says what a check runs and how its result is judged,
//! `run` carries a check set out (batched, cached by `cache`).

#[cfg(feature = "runtime")]
mod batch;
mod builder;
#[cfg(feature = "runtime")]
mod cache;
#[cfg(feature = "runtime")]
mod eval;
mod model;
mod resolve;
#[cfg(feature = "runtime")]
mod run;
mod target;

pub use crate::shell::shell_words;
pub use builder::Checks;
#[cfg(feature = "runtime")]
pub use cache::{check_digest, ResultCache};
#[cfg(feature = "runtime")]
pub use eval::{evaluate, judge, plan, Failure, Plan};
pub use model::{Access, Check, CheckKind, CustomCheck, CustomCheckFn, Stream};
pub use resolve::{drop_inherited, resolve, Origin, ResolvedCheck};
#[cfg(feature = "runtime")]
pub use run::{all_cached, run_checks, CheckReport, Status, DEFAULT_TIMEOUT};
pub use target::{BoxFuture, CheckTarget, ExecOutput, TargetError};
