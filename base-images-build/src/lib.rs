//! The build tool's logic, as a library so a team that declares its own
//! families in its own crate gets the same tool from a three-line binary:
//!
//! ```no_run
//! use my_images as _; // link the crate whose #[base_image]s to build
//! fn main() -> std::process::ExitCode { base_images_build::main() }
//! # mod my_images {}
//! ```
//!
//! Every command starts by validating the registry; files are written
//! atomically, and only after everything they depend on passed.

mod cli;
mod error;
mod workspace;

pub use cli::{Cli, Command};
pub use error::Error;
pub use workspace::Workspace;

use std::process::ExitCode;

use clap::Parser as _;

/// Parses the command line, runs it, prints any error and returns the exit
/// status (0 success, 1 a problem in the declarations, 2 a usage or
/// configuration problem).
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(&cli) {
        Ok(message) => {
            println!("{message}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::from(error.exit_code())
        }
    }
}

/// Runs one parsed command line; returns what to tell the user.
pub fn run(cli: &Cli) -> Result<String, Error> {
    let workspace = Workspace::locate(cli.root.as_deref())?;
    let images = base_images::all();
    base_images::validate()?;
    let lock = workspace.lock()?;
    lock.verify(&images)?;
    match cli.command.clone().unwrap_or(Command::Changelog) {
        Command::Changelog => {
            base_images::changelog::write(&workspace.changelog_path(), &images, &lock)?;
            Ok(format!(
                "{} version(s) in {} family(ies) valid; released versions unchanged; wrote {}",
                images.len(),
                base_images::families().len(),
                workspace.changelog_path().display()
            ))
        }
        Command::Check => {
            if !base_images::changelog::is_up_to_date(&workspace.changelog_path(), &images, &lock)? {
                return Err(Error::ChangelogOutdated {
                    path: workspace.changelog_path(),
                });
            }
            Ok(format!(
                "{} version(s) valid; released versions unchanged; CHANGELOG.md up to date",
                images.len()
            ))
        }
    }
}
