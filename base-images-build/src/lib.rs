//! The build tool's logic, as a library so a team that declares its own
//! families in its own crate gets the same tool from a three-line binary:
//!
//! ```no_run
//! use my_images as _; // link the crate whose #[base_image]s to build
//! fn main() -> std::process::ExitCode { base_images_build::main() }
//! # mod my_images {}
//! ```
//!
//! Every command starts by validating the registry and the lock; files are
//! written atomically, and only after everything they depend on passed.

mod audit;
mod build;
mod cli;
mod error;
mod fleet;
mod generated;
mod inspect;
mod judge;
mod new;
mod outdated;
mod plan;
mod publish;
mod report;
mod sbom;
mod select;
mod settings;
mod ui;
mod verify;
mod workspace;

pub use cli::{
    AdvisoryArgs, AuditArgs, BuildArgs, BuilderFlag, Bump, Cli, Command, EngineChoice, FailOn, FleetArgs, OutdatedArgs,
    PublishArgs, VerifyArgs,
};
pub use error::Error;
pub use new::next_version;
pub use ui::Ui;
pub use workspace::{Claim, Workspace};

use std::process::ExitCode;

use clap::Parser as _;

/// Parses the command line, runs it, prints any error and returns the exit
/// status (0 success, 1 a problem in the declarations or a failed check,
/// 2 a usage or configuration problem, 130 interrupted).
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let level = match (cli.quiet, cli.verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "debug",
        (false, _) => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            anstream::eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(run(&cli)) {
        Ok(message) => {
            if !message.is_empty() {
                anstream::println!("{message}");
            }
            ExitCode::SUCCESS
        }
        Err(error) => {
            let red = anstyle::AnsiColor::Red.on_default().bold();
            anstream::eprintln!("{red}error:{red:#} {error}");
            ExitCode::from(error.exit_code())
        }
    }
}

/// Runs one parsed command line; returns what to tell the user.
pub async fn run(cli: &Cli) -> Result<String, Error> {
    let ui = Ui::new(cli.quiet);
    let workspace = Workspace::locate(cli.root.as_deref())?;
    base_images::validate()?;
    let images = base_images::all();
    let lock = workspace.lock()?;
    lock.verify(&images)?;
    let command = cli
        .command
        .clone()
        .unwrap_or_else(|| Command::Build(BuildArgs::default()));
    match command {
        Command::Build(args) => build::build(&workspace, &args, &ui).await,
        Command::Publish(args) => publish::publish(&workspace, &args, &ui).await,
        Command::Check => check(&workspace, &images, &lock),
        Command::Changelog => {
            let _claim = workspace.claim()?;
            let written = generated::write(&workspace, &images, &workspace.lock()?)?;
            let names: Vec<String> = written.iter().map(|p| p.display().to_string()).collect();
            let what = if names.is_empty() {
                "generated files already up to date".to_owned()
            } else {
                format!("wrote {}", names.join(" and "))
            };
            Ok(format!("{} version(s) valid; {what}", images.len()))
        }
        Command::List { json } => inspect::list(&images, &lock, json),
        Command::Show { image } => inspect::show(base_images::get(&image)?),
        Command::Dockerfile { image, platform } => inspect::dockerfile(
            base_images::get(&image)?,
            platform.map(|p| p.to_string()).as_deref(),
            &lock,
        ),
        Command::Sbom { image, platform, fetch } => {
            sbom::sbom(
                &workspace,
                base_images::get(&image)?,
                platform.map(|p| p.to_string()).as_deref(),
                &fetch.fetcher(),
                &ui,
            )
            .await
        }
        Command::Verify(args) => verify::verify(&workspace, &args, &ui).await,
        Command::Audit(args) => audit::audit(&workspace, &args, &ui).await,
        Command::Outdated(args) => outdated::outdated(&workspace, &args, &ui).await,
        Command::New {
            family,
            bump,
            changelog,
            refresh,
            advisories,
            fetch,
        } => {
            let _claim = workspace.claim()?;
            let lock = workspace.lock()?;
            if !refresh && !advisories.paths.is_empty() {
                return Err(Error::Usage(
                    "--advisories is for `new --refresh` (the audit that chooses the packages to upgrade)".into(),
                ));
            }
            if refresh {
                let audit = (&advisories, &fetch.fetcher());
                new::refresh_version(&workspace, &lock, &family, bump, changelog.as_deref(), audit, &ui).await
            } else {
                new::new_version(&workspace, &lock, &family, bump, changelog.as_deref())
            }
        }
    }
}

/// `check`: the registry and lock are already verified; the generated
/// files must be what the declarations say.
fn check(
    workspace: &Workspace,
    images: &[&'static base_images::BaseImage],
    lock: &base_images::Lock,
) -> Result<String, Error> {
    if let Some(stale) = generated::stale(workspace, images, lock)? {
        return Err(stale);
    }
    let mut message = format!(
        "{} version(s) valid; released versions unchanged; generated files up to date",
        images.len()
    );
    let unpinned = lock.unpinned_inputs(images);
    if !unpinned.is_empty() {
        message.push_str(&format!(
            "\n{} released version(s) fetch inputs not pinned yet (the next build that fetches them records their sha256 in versions.lock):",
            unpinned.len()
        ));
        for (key, urls) in unpinned {
            message.push_str(&format!("\n  {key}: {}", urls.join(", ")));
        }
    }
    Ok(message)
}
