//! The command line, declared with `clap`'s derive API.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// Builds, checks and locks the base images declared in Rust.
#[derive(Debug, Parser)]
#[command(name = "base-images-build", version, about)]
pub struct Cli {
    /// The workspace holding versions.lock and CHANGELOG.md (default: the
    /// nearest directory upwards from the current one that has versions.lock).
    #[arg(long, global = true, value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// What to do (default: changelog).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The sub-commands.
#[derive(Clone, Debug, Subcommand)]
pub enum Command {
    /// Validate the registry and the lock, then rewrite CHANGELOG.md.
    Changelog,
    /// CI mode: validate the registry and the lock, and fail if CHANGELOG.md is out of date.
    Check,
}
