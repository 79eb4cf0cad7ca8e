//! The fleet of one run: which engine builds and checks each platform.
//! `--builder PLATFORM=ENDPOINT` and the workspace file's `[builders]`
//! route platforms to engines of their own (the command line wins for a
//! platform both name); every other platform goes to the engine found as
//! the docker CLI finds it. Only the builders of the platforms a run builds
//! are connected, all of them before anything is built: one that does not
//! answer stops the run, named.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::str::FromStr;

use base_images::engine::builders::Builders;
use base_images::engine::docker::DockerEngine;
use base_images::platform::Platform;

use crate::settings::{check_endpoint, Settings};
use crate::{Error, Workspace};

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
        check_endpoint(endpoint)?;
        Ok(BuilderFlag {
            platform,
            endpoint: endpoint.to_owned(),
        })
    }
}

/// One builder: its name in messages, where it answers, its TLS material.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Builder {
    name: String,
    endpoint: String,
    certs: Option<PathBuf>,
}

/// The builder of each routed platform: the workspace file's, then the
/// command line's over them.
fn routes(settings: &Settings, flags: &[BuilderFlag]) -> BTreeMap<String, Builder> {
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
    for flag in flags {
        let builder = Builder {
            name: format!("--builder {}", flag.platform),
            endpoint: flag.endpoint.clone(),
            certs: None,
        };
        routes.insert(flag.platform.to_string(), builder);
    }
    routes
}

/// Connects the builders of `platforms` (and the default engine when one
/// of them has none), every step built again when `rebuild` is set.
pub(crate) async fn connect(
    workspace: &Workspace,
    flags: &[BuilderFlag],
    platforms: &[&str],
    rebuild: bool,
) -> Result<Builders<DockerEngine>, Error> {
    let routes = routes(&Settings::read(workspace.root())?, flags);
    let mut used: BTreeMap<&Builder, Vec<Platform>> = BTreeMap::new();
    for platform in platforms {
        if let Some(builder) = routes.get(*platform) {
            let platform = platform.parse::<Platform>().map_err(|e| Error::Usage(e.to_string()))?;
            used.entry(builder).or_default().push(platform);
        }
    }
    let default = match platforms.iter().any(|p| !routes.contains_key(*p)) {
        true => Some(crate::build::docker(rebuild).await?),
        false => None,
    };
    let connecting = used.into_iter().map(|(builder, platforms)| async move {
        let engine = connect_builder(builder, &platforms).await?;
        Ok::<_, Error>((platforms, if rebuild { engine.rebuilding() } else { engine }))
    });
    let routed = futures_util::future::try_join_all(connecting).await?;
    Builders::routed(default, routed).ok_or_else(|| Error::Usage("no platform to build".into()))
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
        let routes = routes(&settings, &flags);
        assert_eq!(routes["linux/arm64"].endpoint, "unix:///flag.sock");
        assert_eq!(routes["linux/amd64"].name, "node");
    }
}
