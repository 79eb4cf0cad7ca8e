//! The fleet of one run: which engine builds and checks each platform.
//! `--builder PLATFORM=ENDPOINT` and the workspace file's `[builders]`
//! route platforms to engines of their own (the command line wins for a
//! platform both name); every other platform goes to the engine found as
//! the docker CLI finds it. Only the builders of the platforms a run builds
//! are connected, all of them before anything is built: one that does not
//! answer stops the run, named. `--cache` (or the file's `[cache]`) shares
//! cached steps and check results with other runners through a registry
//! repository, written with `--cache-write`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use base_images::engine::builders::Builders;
use base_images::engine::docker::{DockerEngine, SharedCache};
use base_images::platform::Platform;
use base_images::publish::remote::Remote;
use base_images::shared_results::SharedResults;

use crate::cli::{BuilderFlag, FleetArgs};
use crate::settings::{cache_repository, Settings};
use crate::{Error, Ui, Workspace};

/// One builder: its name in messages, where it answers, its TLS material.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Builder {
    name: String,
    endpoint: String,
    certs: Option<PathBuf>,
}

/// The builder of each routed platform: the workspace file's, then the
/// command line's over them (a platform named twice there is refused).
fn routes(settings: &Settings, flags: &[BuilderFlag]) -> Result<BTreeMap<String, Builder>, Error> {
    let mut routes = BTreeMap::new();
    for (name, entry) in &settings.builders {
        for platform in &entry.platforms {
            let builder = Builder {
                name: name.clone(),
                endpoint: entry.endpoint.clone(),
                certs: entry.cert_path.clone(),
            };
            routes.insert(platform.to_string(), builder);
        }
    }
    for (n, flag) in flags.iter().enumerate() {
        if flags[..n].iter().any(|f| f.platform == flag.platform) {
            return Err(Error::Usage(format!(
                "--builder {}: that platform has a builder already; name one per platform",
                flag.platform
            )));
        }
        let builder = Builder {
            name: format!("--builder {}", flag.platform),
            endpoint: flag.endpoint.clone(),
            certs: None,
        };
        routes.insert(flag.platform.to_string(), builder);
    }
    Ok(routes)
}

/// What a run's command line and workspace file say of its fleet.
pub(crate) struct Fleet {
    /// The builder of each routed platform.
    routes: BTreeMap<String, Builder>,
    /// The step cache every engine of the run shares (one value: a
    /// registry that fails is said once, and then asked by none).
    steps: Option<SharedCache>,
    /// The check results shared with other runners.
    results: Option<Arc<SharedResults>>,
}

impl Fleet {
    /// The fleet `args` and the workspace file of `workspace` describe. A
    /// shared cache whose credentials cannot be read is said and left out.
    pub(crate) fn of(workspace: &Workspace, args: &FleetArgs, ui: &Ui) -> Result<Fleet, Error> {
        let settings = Settings::read(workspace.root())?;
        let named = args
            .cache
            .clone()
            .or_else(|| settings.cache.as_ref().map(|c| c.repository.clone()));
        let cache = named
            .map(|text| cache_repository(&text).map_err(|e| Error::Usage(format!("--cache: {e}"))))
            .transpose()?;
        if args.cache_write && cache.is_none() {
            return Err(Error::Usage(
                "--cache-write: name the shared cache with --cache REGISTRY/REPOSITORY or [cache] in base-images.toml"
                    .into(),
            ));
        }
        let mut fleet = Fleet {
            routes: routes(&settings, &args.builder)?,
            steps: None,
            results: None,
        };
        if let Some((registry, path)) = cache {
            match base_images::publish::auth::credentials(&registry) {
                Ok((auth, source)) => {
                    fleet.steps = Some(SharedCache::new(&registry, &path, args.cache_write, auth.clone()));
                    let remote = Remote::new(&registry, auth, source);
                    fleet.results = Some(Arc::new(SharedResults::new(remote, &path, args.cache_write)));
                }
                Err(e) => ui.note(&format!(
                    "the shared cache {registry}/{path} is left out of this run: its credentials: {e}"
                )),
            }
        }
        Ok(fleet)
    }

    /// Whether it names builders or a shared cache (what only the Docker
    /// engine takes).
    #[cfg(feature = "dagger")]
    pub(crate) fn is_configured(&self) -> bool {
        !self.routes.is_empty() || self.steps.is_some()
    }

    /// Connects the builders of `platforms` (and the default engine when
    /// one of them has none), every step built again when `rebuild` is
    /// set, each sharing the step cache when the fleet has one.
    pub(crate) async fn connect(&self, platforms: &[&str], rebuild: bool) -> Result<Builders<DockerEngine>, Error> {
        let mut used: BTreeMap<&Builder, Vec<Platform>> = BTreeMap::new();
        for platform in platforms {
            if let Some(builder) = self.routes.get(*platform) {
                let platform = platform.parse::<Platform>().map_err(|e| Error::Usage(e.to_string()))?;
                used.entry(builder).or_default().push(platform);
            }
        }
        let default = match platforms.iter().any(|p| !self.routes.contains_key(*p)) {
            true => Some(self.prepared(DockerEngine::connect().await?, rebuild)),
            false => None,
        };
        let connecting = used.into_iter().map(|(builder, platforms)| async move {
            let engine = connect_builder(builder, &platforms).await?;
            Ok::<_, Error>((platforms, self.prepared(engine, rebuild)))
        });
        let routed = futures_util::future::try_join_all(connecting).await?;
        Builders::routed(default, routed).ok_or_else(|| Error::Usage("no platform to build".into()))
    }

    /// `engine`, building every step again when `rebuild` is set, sharing
    /// the step cache when the fleet has one.
    fn prepared(&self, engine: DockerEngine, rebuild: bool) -> DockerEngine {
        let engine = if rebuild { engine.rebuilding() } else { engine };
        match &self.steps {
            Some(shared) => engine.with_shared_cache(shared.clone()),
            None => engine,
        }
    }

    /// The check results shared with other runners, if the fleet has a cache.
    pub(crate) fn results(&self) -> Option<Arc<SharedResults>> {
        self.results.clone()
    }
}

/// Connects `builder`, which builds `platforms`; an error names it.
async fn connect_builder(builder: &Builder, platforms: &[Platform]) -> Result<DockerEngine, Error> {
    DockerEngine::connect_with_certs(&builder.endpoint, builder.certs.as_deref())
        .await
        .map_err(|source| Error::Builder {
            name: builder.name.clone(),
            platforms: platforms.iter().map(ToString::to_string).collect(),
            source: Box::new(source),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::BuilderEntry;

    #[test]
    fn a_builder_flag_is_a_platform_and_an_endpoint() {
        let flag: BuilderFlag = "linux/aarch64=tcp://127.0.0.1:2376"
            .parse()
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (flag.platform.to_string().as_str(), flag.endpoint.as_str()),
            ("linux/arm64", "tcp://127.0.0.1:2376")
        );
        for bad in ["linux/arm64", "linux/arm64=ftp://x", "linux=unix:///s", "linux/arm64="] {
            assert!(bad.parse::<BuilderFlag>().is_err(), "{bad} is refused");
        }
    }

    #[test]
    fn the_command_line_routes_a_platform_over_the_workspace_file() {
        let mut settings = Settings::default();
        let entry = BuilderEntry {
            endpoint: "unix:///file.sock".into(),
            cert_path: None,
            platforms: vec![
                "linux/arm64".parse().unwrap_or_else(|e| panic!("{e}")),
                "linux/amd64".parse().unwrap_or_else(|e| panic!("{e}")),
            ],
        };
        settings.builders.insert("node".into(), entry);
        let flags = ["linux/arm64=unix:///flag.sock"
            .parse()
            .unwrap_or_else(|e| panic!("{e}"))];
        let routes = routes(&settings, &flags).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(routes["linux/arm64"].endpoint, "unix:///flag.sock");
        assert_eq!(routes["linux/amd64"].name, "node");
        let twice = [flags[0].clone(), flags[0].clone()];
        let refused = super::routes(&settings, &twice)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            refused.contains("--builder linux/arm64: that platform has a builder already"),
            "{refused}"
        );
    }
}
