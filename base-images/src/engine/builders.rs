//! Builders: the engine each platform's images are built and checked on.
//! A fleet gives a platform its own engine (a native arm64 node beside the
//! amd64 one, as buildx's multi-node builders do); every platform no route
//! names goes to the first engine. One value is what the build tool hands
//! every phase of a run, so a platform's builds, checks, exports and SBOMs
//! all happen where its images are.

use std::collections::BTreeMap;

use super::Engine;
use crate::platform::Platform;

/// The engines of one run, and which platform each one builds.
#[derive(Clone, Debug)]
pub struct Builders<E> {
    /// Every engine, the first one taking the platforms no route names.
    engines: Vec<E>,
    /// The engine (an index into `engines`) of each routed platform.
    routes: BTreeMap<String, usize>,
}

impl<E: Engine> Builders<E> {
    /// One engine for every platform.
    pub fn one(engine: E) -> Self {
        Builders {
            engines: vec![engine],
            routes: BTreeMap::new(),
        }
    }

    /// `routes` (an engine and the platforms it builds) in front of
    /// `default`, which takes every other platform (`None`: every platform
    /// built is routed); `None` when that leaves no engine at all.
    pub fn routed(default: Option<E>, routes: Vec<(Vec<Platform>, E)>) -> Option<Self> {
        let mut builders = Builders {
            engines: default.into_iter().collect(),
            routes: BTreeMap::new(),
        };
        for (platforms, engine) in routes {
            for platform in platforms {
                builders.routes.insert(platform.to_string(), builders.engines.len());
            }
            builders.engines.push(engine);
        }
        (!builders.engines.is_empty()).then_some(builders)
    }

    /// The engine `platform`'s images are built and checked on.
    pub fn on(&self, platform: &str) -> &E {
        &self.engines[self.routes.get(platform).copied().unwrap_or(0)]
    }

    /// Every engine, the default first.
    pub fn all(&self) -> &[E] {
        &self.engines
    }

    /// The engines and the platforms routed to each, for the tools' output.
    pub fn describe(&self) -> String {
        let mut described: Vec<String> = Vec::new();
        for (index, engine) in self.engines.iter().enumerate() {
            let platforms: Vec<&str> = self
                .routes
                .iter()
                .filter(|(_, i)| **i == index)
                .map(|(p, _)| p.as_str())
                .collect();
            described.push(if platforms.is_empty() {
                engine.describe()
            } else {
                format!("{} for {}", engine.describe(), platforms.join(", "))
            });
        }
        described.join("; ")
    }

    /// Removes every container each engine started and still holds.
    pub async fn cleanup(&self) {
        for engine in &self.engines {
            engine.cleanup().await;
        }
    }
}
