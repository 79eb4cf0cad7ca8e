//! The command line, declared with `clap`'s derive API. With no sub-command
//! the tool runs `build`.

use std::path::PathBuf;
use std::str::FromStr;

use base_images::platform::Platform;
use clap::{Args, Parser, Subcommand, ValueEnum};

/// Builds, checks and locks the base images declared in Rust.
#[derive(Debug, Parser)]
#[command(name = "base-images-build", version, about)]
pub struct Cli {
    /// The workspace holding versions.lock and CHANGELOG.md (default: the
    /// nearest directory upwards from the current one that has versions.lock).
    #[arg(long, global = true, value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// Print only errors and the final summary.
    #[arg(long, short, global = true)]
    pub quiet: bool,
    /// Log more (-v: debug, -vv: trace).
    #[arg(long, short, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// What to do (default: `build` of every version, with default options).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The sub-commands.
#[derive(Clone, Debug, Subcommand)]
pub enum Command {
    /// Build the selected versions, run all their checks (own and inherited);
    /// only if every check passed, rewrite CHANGELOG.md and lock new versions.
    Build(BuildArgs),
    /// Publish released versions to their family's registry: build and check
    /// every platform, then push each version's OCI image index by digest
    /// and, last, its tag. A tag that points at other content is never
    /// overwritten.
    Publish(PublishArgs),
    /// CI mode, no engine: validate the registry and the lock, and fail with
    /// a diff if CHANGELOG.md is out of date.
    Check,
    /// List families and versions: parent, released or new, recipe digest.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Show one version's resolved recipe and checks, each labelled with
    /// the version that declared it.
    Show {
        /// `family:version` (or `family:latest`).
        image: String,
    },
    /// Print the equivalent Dockerfile of one version.
    Dockerfile {
        /// `family:version` (or `family:latest`).
        image: String,
        /// The platform to render for (default: the family's first).
        #[arg(long)]
        platform: Option<Platform>,
    },
    /// Print the SPDX 2.3 SBOM of one version on one platform, built on the
    /// local engine (from the step cache when built before).
    Sbom {
        /// `family:version` (or `family:latest`).
        image: String,
        /// The platform (default: the family's first).
        #[arg(long)]
        platform: Option<Platform>,
        /// How its inputs are fetched, when it is built.
        #[command(flatten)]
        fetch: FetchArgs,
    },
    /// Check a published version against its declaration and versions.lock:
    /// the tag, the platforms, the annotations, an SBOM per platform, and
    /// the whole check set on the pulled images.
    Verify(VerifyArgs),
    /// Match the SBOM of each selected version and platform (read from the
    /// registry when published, else built on the local engine) or of
    /// `--sbom` files against known vulnerabilities in OSV format; exit 1
    /// when a finding at or above `--fail-on` has a fix.
    Audit(AuditArgs),
    /// Say, for each pinned root of every family's latest released version,
    /// whether the tag it was pinned from now points at another digest.
    Outdated(OutdatedArgs),
    /// Append the skeleton of the next version of a family to its source
    /// file (with --refresh: the release rebased on moved roots, upgrading
    /// the packages whose advisories have a fix).
    New {
        /// The family.
        family: String,
        /// Which part of the version to bump.
        bump: Bump,
        /// The changelog line of the new version.
        #[arg(long)]
        changelog: Option<String>,
        /// Write the release that rebases the latest version on its moved
        /// roots and upgrades the packages whose advisories have a fix.
        #[arg(long)]
        refresh: bool,
        /// With --refresh: the advisories to audit the latest version against.
        #[command(flatten)]
        advisories: AdvisoryArgs,
        /// With --refresh: how inputs are fetched when the latest version
        /// is built on the local engine to be audited.
        #[command(flatten)]
        fetch: FetchArgs,
    },
    /// Only rewrite CHANGELOG.md.
    Changelog,
}

/// `build`'s options.
#[derive(Clone, Debug, Args)]
pub struct BuildArgs {
    /// What to build: `family`, `family:version` or `family:latest` (default: everything).
    #[arg(value_name = "SELECTOR")]
    pub selectors: Vec<String>,
    /// Versions built in parallel (default: the number of cores).
    #[arg(long, short)]
    pub jobs: Option<usize>,
    /// Run every check again, ignoring cached results.
    #[arg(long)]
    pub no_cache: bool,
    /// Build every step again, as `docker build --no-cache` does: nothing
    /// from the step cache or the engine's build cache (Docker engine only).
    #[arg(long)]
    pub rebuild: bool,
    /// The engine to build with.
    #[arg(long, value_enum, default_value_t = EngineChoice::Auto)]
    pub engine: EngineChoice,
    /// Write a report: `json=PATH` or `junit=PATH` (repeatable).
    #[arg(long, value_name = "KIND=PATH")]
    pub report: Vec<String>,
    /// Build for this platform only (default: every platform each family
    /// declares). A family built for fewer platforms than it declares is
    /// not released: nothing is locked or written.
    #[arg(long)]
    pub platform: Option<Platform>,
    /// Build on another root: every root address FROM becomes TO (a local
    /// smoke test; the run is never a release: nothing is locked or written).
    #[arg(long, value_name = "FROM=TO")]
    pub root_override: Vec<String>,
    /// Where images are built and what they share with other runners.
    #[command(flatten)]
    pub fleet: FleetArgs,
    /// How content the versions fetch is fetched.
    #[command(flatten)]
    pub fetch: FetchArgs,
}

/// Where `build` and `publish` build each platform, and the cache they
/// share with other runners.
#[derive(Clone, Debug, Default, Args)]
pub struct FleetArgs {
    /// Build PLATFORM's images on the engine at ENDPOINT (unix://, tcp://
    /// or https://; TLS as DOCKER_TLS_VERIFY and DOCKER_CERT_PATH say);
    /// repeatable; over the workspace file's [builders] (base-images.toml).
    #[arg(long, value_name = "PLATFORM=ENDPOINT")]
    pub builder: Vec<BuilderFlag>,
    /// Share cached steps and check results through this registry
    /// repository, like 127.0.0.1:5000/ci/cache (over the workspace
    /// file's [cache] repository); credentials as for publish.
    #[arg(long, value_name = "REGISTRY/REPOSITORY")]
    pub cache: Option<String>,
    /// Push the steps this run builds and the checks it passes to the
    /// shared cache (main-branch CI); without it the cache is only read.
    #[arg(long)]
    pub cache_write: bool,
}

/// A `--builder PLATFORM=ENDPOINT` value: the engine at ENDPOINT builds
/// PLATFORM (TLS as the docker CLI's `DOCKER_TLS_VERIFY` and
/// `DOCKER_CERT_PATH` say).
#[derive(Clone, Debug)]
pub struct BuilderFlag {
    /// The platform routed.
    pub platform: Platform,
    /// Where its engine answers.
    pub endpoint: String,
}

impl FromStr for BuilderFlag {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (platform, endpoint) = text
            .split_once('=')
            .ok_or_else(|| format!("{text}: write PLATFORM=ENDPOINT, like linux/arm64=tcp://10.0.0.7:2376"))?;
        let platform = platform.parse::<Platform>().map_err(|e| e.to_string())?;
        crate::settings::check_endpoint(endpoint)?;
        Ok(BuilderFlag {
            platform,
            endpoint: endpoint.to_owned(),
        })
    }
}

/// How `build` and `publish` fetch the content versions take from URLs.
#[derive(Clone, Debug, Default, Args)]
pub struct FetchArgs {
    /// The most one download may send, like `512MiB` or `2GiB` (default:
    /// 2GiB); a server sending more is refused.
    #[arg(long, value_name = "SIZE")]
    pub max_fetch_size: Option<bytesize::ByteSize>,
    /// Fetch the URLs under FROM from the same paths under TO instead (a
    /// mirror of the downloads; repeatable, the first match wins; TO is
    /// https, or plain http on a loopback address). Inputs keep the URL
    /// their recipe declares: the same pins, the same lock, the same
    /// verification.
    #[arg(
        long = "fetch-mirror",
        value_name = "FROM=TO",
        env = "BASE_IMAGES_FETCH_MIRROR",
        hide_env_values = true,
        value_delimiter = ','
    )]
    pub fetch_mirrors: Vec<base_images::fetch::Mirror>,
}

impl FetchArgs {
    /// The fetcher of one run: every build of the run shares it.
    pub fn fetcher(&self) -> base_images::fetch::Fetcher {
        let mut limits = base_images::fetch::Limits::default();
        if let Some(size) = self.max_fetch_size {
            limits.download = size.as_u64();
        }
        base_images::fetch::Fetcher::new(limits).with_mirrors(self.fetch_mirrors.clone())
    }
}

impl Default for BuildArgs {
    fn default() -> Self {
        BuildArgs {
            selectors: Vec::new(),
            jobs: None,
            no_cache: false,
            rebuild: false,
            engine: EngineChoice::Auto,
            report: Vec::new(),
            platform: None,
            root_override: Vec::new(),
            fleet: FleetArgs::default(),
            fetch: FetchArgs::default(),
        }
    }
}

/// `publish`'s options.
#[derive(Clone, Debug, Default, Args)]
pub struct PublishArgs {
    /// What to publish: `family`, `family:version` or `family:latest`
    /// (default: every released version of every family with a repository).
    #[arg(value_name = "SELECTOR")]
    pub selectors: Vec<String>,
    /// Send every selected family to this registry instead of its own
    /// (plain HTTP only for a loopback address).
    #[arg(long, value_name = "HOST[:PORT]")]
    pub registry_override: Option<String>,
    /// Print what would be pushed, skipped or refused; push nothing, write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Versions built in parallel (default: the number of cores).
    #[arg(long, short)]
    pub jobs: Option<usize>,
    /// Run every check again, ignoring cached results.
    #[arg(long)]
    pub no_cache: bool,
    /// Build every step again, as `docker build --no-cache` does: nothing
    /// from the step cache or the engine's build cache (Docker engine only).
    #[arg(long)]
    pub rebuild: bool,
    /// Write a report: `json=PATH` or `junit=PATH` (repeatable).
    #[arg(long, value_name = "KIND=PATH")]
    pub report: Vec<String>,
    /// Sign each index digest with this ECDSA P-256 private key (PEM), in
    /// cosign's key-based format (`sha256-<hex>.sig`).
    #[arg(long, value_name = "KEY")]
    pub sign_key: Option<PathBuf>,
    /// Refuse to push a version whose audit (of the SBOMs it would attach)
    /// has a finding at or above this severity with a fix (needs --advisories).
    #[arg(long, value_enum, value_name = "SEVERITY")]
    pub audit: Option<FailOn>,
    /// The advisories `--audit` matches against.
    #[command(flatten)]
    pub advisories: AdvisoryArgs,
    /// Where images are built and what they share with other runners.
    #[command(flatten)]
    pub fleet: FleetArgs,
    /// How content the versions fetch is fetched.
    #[command(flatten)]
    pub fetch: FetchArgs,
}

/// `verify`'s options.
#[derive(Clone, Debug, Default, Args)]
pub struct VerifyArgs {
    /// `family:version` (or `family:latest`).
    pub image: String,
    /// Read the version from this registry instead of its family's
    /// (where it was published with the same option).
    #[arg(long, value_name = "HOST[:PORT]")]
    pub registry_override: Option<String>,
    /// Also check that the index is signed with the private key of this
    /// ECDSA P-256 public key (PEM).
    #[arg(long, value_name = "PUB")]
    pub key: Option<PathBuf>,
    /// Keep the platform images pulled to run the checks (by default they
    /// are removed when verify ends).
    #[arg(long)]
    pub keep: bool,
    /// Also report the audit of the published SBOMs against these advisories.
    #[command(flatten)]
    pub advisories: AdvisoryArgs,
}

/// `outdated`'s options.
#[derive(Clone, Debug, Default, Args)]
pub struct OutdatedArgs {
    /// What to check: `family`, `family:version` or `family:latest`
    /// (default: every family's latest released version).
    #[arg(value_name = "SELECTOR")]
    pub selectors: Vec<String>,
    /// Exit 1 when a root moved or its tag is gone (for scheduled CI).
    #[arg(long)]
    pub exit_code: bool,
}

/// `audit`'s options.
#[derive(Clone, Debug, Default, Args)]
pub struct AuditArgs {
    /// What to audit: `family`, `family:version` or `family:latest`
    /// (default: every family's latest released version).
    #[arg(value_name = "SELECTOR")]
    pub selectors: Vec<String>,
    /// Audit this SPDX 2.2/2.3 JSON document instead (ours, or one another
    /// tool wrote; repeatable).
    #[arg(long, value_name = "FILE", conflicts_with = "selectors")]
    pub sbom: Vec<PathBuf>,
    /// The advisories to match against.
    #[command(flatten)]
    pub advisories: AdvisoryArgs,
    /// Exit 1 when a finding at or above this severity has a fix.
    #[arg(long, value_enum, default_value_t = FailOn::High)]
    pub fail_on: FailOn,
    /// Write a report: `json=PATH` or `sarif=PATH` (repeatable).
    #[arg(long, value_name = "KIND=PATH")]
    pub report: Vec<String>,
    /// Read published versions from this registry instead of their family's.
    #[arg(long, value_name = "HOST[:PORT]")]
    pub registry_override: Option<String>,
    /// How inputs are fetched for the versions built on the local engine.
    #[command(flatten)]
    pub fetch: FetchArgs,
}

/// Where advisories come from.
#[derive(Clone, Debug, Default, Args)]
pub struct AdvisoryArgs {
    /// OSV records: a directory of `*.json` records, a `.zip` export, or one
    /// record (repeatable; default: the paths BASE_IMAGES_ADVISORIES lists,
    /// separated as in PATH).
    #[arg(long = "advisories", value_name = "PATH")]
    pub paths: Vec<PathBuf>,
}

impl AdvisoryArgs {
    /// The paths given, else those `BASE_IMAGES_ADVISORIES` lists.
    pub fn sources(&self) -> Vec<PathBuf> {
        if !self.paths.is_empty() {
            return self.paths.clone();
        }
        std::env::var_os("BASE_IMAGES_ADVISORIES")
            .map(|value| {
                std::env::split_paths(&value)
                    .filter(|p| !p.as_os_str().is_empty())
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// The lowest severity that fails a gate.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    /// Never fail.
    None,
    /// Low and above.
    Low,
    /// Medium and above.
    Medium,
    /// High and above (Airbyte's publishing gate).
    #[default]
    High,
    /// Critical only.
    Critical,
}

impl FailOn {
    /// The severity at which findings fail, if any do.
    pub fn threshold(self) -> Option<base_images::advisory::Severity> {
        use base_images::advisory::Severity;
        match self {
            FailOn::None => None,
            FailOn::Low => Some(Severity::Low),
            FailOn::Medium => Some(Severity::Medium),
            FailOn::High => Some(Severity::High),
            FailOn::Critical => Some(Severity::Critical),
        }
    }
}

/// Which container engine to use.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum EngineChoice {
    /// Dagger when a Dagger session is present, else Docker.
    #[default]
    Auto,
    /// A Docker-API daemon (DOCKER_HOST or the default socket).
    Docker,
    /// The Dagger engine of the current `dagger run` session.
    Dagger,
}

/// A version bump.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Bump {
    /// 1.2.3 -> 1.2.4
    Patch,
    /// 1.2.3 -> 1.3.0
    Minor,
    /// 1.2.3 -> 2.0.0
    Major,
    /// 1.2.3 -> 1.2.4-rc.1; 2.0.0-rc.1 -> 2.0.0-rc.2
    Prerelease,
    /// 2.0.0-rc.2 -> 2.0.0
    Release,
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    use super::{Cli, Command};

    fn download_limit(args: &[&str]) -> Result<u64, String> {
        let cli = Cli::try_parse_from(args).map_err(|e| e.to_string())?;
        let fetch = match cli.command {
            Some(Command::Build(build)) => build.fetch,
            Some(Command::Publish(publish)) => publish.fetch,
            other => panic!("{other:?}"),
        };
        Ok(fetch.fetcher().limits().download)
    }

    #[test]
    fn the_download_limit_is_two_gib_unless_a_size_is_given() {
        assert_eq!(download_limit(&["b", "build"]), Ok(2 << 30));
        assert_eq!(
            download_limit(&["b", "build", "--max-fetch-size", "512MiB"]),
            Ok(512 << 20)
        );
        assert_eq!(
            download_limit(&["b", "publish", "--max-fetch-size", "3GiB"]),
            Ok(3 << 30)
        );
        assert_eq!(download_limit(&["b", "publish", "--max-fetch-size", "1000"]), Ok(1000));
        let err = download_limit(&["b", "build", "--max-fetch-size", "lots"]).unwrap_err();
        assert!(
            err.contains("invalid value 'lots' for '--max-fetch-size <SIZE>'"),
            "{err}"
        );
    }
}
