//! Build versions and run their resolved checks: the one code path the build
//! tool, the demo and the end-to-end tests share. A version's fetched
//! content is downloaded and verified on the host first (`fetch`); then it
//! is built for the selected platform; its checks run concurrently in one container
//! (plus one with network for the checks that ask for it); results are
//! cached by (image id, check digest).

use std::time::{Duration, Instant};

use super::{BuildRequest, BuiltImage, Engine};
use crate::checks::{all_cached, run_checks, CheckReport, ResolvedCheck, ResultCache};
use crate::fetch::{Fetcher, Pins};
use crate::{BaseImage, Error};

/// The outcome of one version on one platform.
#[derive(Debug)]
pub struct ImageReport {
    /// `family:version`.
    pub key: crate::ImageKey,
    /// The platform built.
    pub platform: String,
    /// The engine that built and checked it ([`Engine::name`]).
    pub engine: String,
    /// The built image, unless the build failed.
    pub image: Option<BuiltImage>,
    /// The check results (empty when the build failed).
    pub checks: Vec<CheckReport>,
    /// The digest of every input fetched for it, by URL.
    pub fetched: Pins,
    /// What stopped the build or the checks, if anything.
    pub error: Option<Error>,
    /// Time spent.
    pub duration: Duration,
}

impl ImageReport {
    /// Whether it built and every check passed.
    pub fn passed(&self) -> bool {
        self.error.is_none() && self.checks.iter().all(|c| c.status.is_pass())
    }
}

/// Builds `image` for `platform` on `engine` and runs its resolved checks.
pub async fn build_and_check<E: Engine>(
    engine: &E,
    image: &BaseImage,
    platform: &str,
    cache: &mut ResultCache,
) -> ImageReport {
    build_and_check_on(engine, image, platform, &Options::default(), cache).await
}

/// How `build_and_check_on` builds a version.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Root addresses replaced (`(from, to)` pairs): a smoke test of a
    /// version's steps on another root, never a release.
    pub root_overrides: Vec<(String, String)>,
    /// Digests of fetched content recorded in the lock for this version.
    pub pins: Pins,
    /// What fetches the version's inputs: its limits, and the digests this
    /// run saw (share one, cloned, across a run's builds).
    pub fetcher: Fetcher,
    /// Check results shared with other runners through a registry (the
    /// build tool's chains read them before a version's checks and write
    /// them after; the pipeline's own functions do not).
    pub shared_results: Option<std::sync::Arc<crate::shared_results::SharedResults>>,
}

/// `build_and_check` with `options`: roots replaced, fetched content
/// verified against the lock's pins.
pub async fn build_and_check_on<E: Engine>(
    engine: &E,
    image: &BaseImage,
    platform: &str,
    options: &Options,
    cache: &mut ResultCache,
) -> ImageReport {
    let (report, built) = build_on(engine, image, platform, options).await;
    match built {
        Some(built) => check_on(engine, report, built, cache).await,
        None => report,
    }
}

/// A built version whose checks are still to run (see [`build_on`]).
#[derive(Debug)]
pub struct Built {
    image: BuiltImage,
    checks: Vec<ResolvedCheck>,
    started: Instant,
    /// Where the version is declared (for its errors).
    location: String,
}

impl Built {
    /// The built image's id.
    pub fn image_id(&self) -> &str {
        &self.image.id
    }

    /// The checks still to run.
    pub fn checks(&self) -> &[ResolvedCheck] {
        &self.checks
    }
}

/// The first half of [`build_and_check_on`]: builds `image` and returns
/// its report so far, with what [`check_on`] needs when the build
/// succeeded. A chain can build its next version while this one's
/// checks run.
pub async fn build_on<E: Engine>(
    engine: &E,
    image: &BaseImage,
    platform: &str,
    options: &Options,
) -> (ImageReport, Option<Built>) {
    let started = Instant::now();
    let mut report = ImageReport {
        key: image.key(),
        platform: platform.to_owned(),
        engine: engine.name(),
        image: None,
        checks: Vec::new(),
        fetched: Pins::new(),
        error: None,
        duration: Duration::ZERO,
    };
    let built = async {
        let recipe = image.recipe()?.with_root_overrides(&options.root_overrides);
        let checks = image.checks_for(platform)?;
        let declared_by = image.step_origins();
        let inputs = options.fetcher.inputs(&recipe, &options.pins).await?;
        report.fetched = inputs.digests();
        let built = engine
            .build(BuildRequest {
                recipe: &recipe,
                platform,
                declared_by: &declared_by,
                inputs: &inputs,
            })
            .await?;
        Ok::<_, Error>((built, checks))
    }
    .await;
    report.duration = started.elapsed();
    match built {
        Ok((built, checks)) => {
            report.image = Some(built.clone());
            let built = Built {
                image: built,
                checks,
                started,
                location: image.location().to_string(),
            };
            (report, Some(built))
        }
        Err(e) => {
            report.error = Some(image.in_image(e));
            (report, None)
        }
    }
}

/// The second half of [`build_and_check_on`]: runs the checks of a
/// version [`build_on`] built and completes its report.
pub async fn check_on<E: Engine>(
    engine: &E,
    mut report: ImageReport,
    built: Built,
    cache: &mut ResultCache,
) -> ImageReport {
    match run_resolved(engine, &built.image, built.checks, cache).await {
        Ok(checks) => report.checks = checks,
        Err(e) => {
            report.error = Some(Error::InImage {
                image: report.key.to_string(),
                location: built.location,
                source: Box::new(e),
            })
        }
    }
    report.duration = built.started.elapsed();
    report
}

/// Runs `image`'s whole check set for `platform` against an image the
/// engine already has (`built`): what `build_and_check` does after
/// building, for an image pulled from a registry, say.
pub async fn check_built<E: Engine>(
    engine: &E,
    image: &BaseImage,
    platform: &str,
    built: &BuiltImage,
    cache: &mut ResultCache,
) -> Result<Vec<CheckReport>, Error> {
    run_resolved(engine, built, image.checks_for(platform)?, cache).await
}

/// Runs resolved `checks` on `built`: those without network in one
/// container, those with in another; results in the checks' order.
async fn run_resolved<E: Engine>(
    engine: &E,
    built: &BuiltImage,
    checks: Vec<ResolvedCheck>,
    cache: &mut ResultCache,
) -> Result<Vec<CheckReport>, Error> {
    let order: Vec<String> = checks.iter().map(|c| c.check.id.clone()).collect();
    let (with_network, without): (Vec<ResolvedCheck>, Vec<ResolvedCheck>) =
        checks.into_iter().partition(|c| c.check.network);
    let mut reports = Vec::new();
    for (group, network) in [(without, false), (with_network, true)] {
        if group.is_empty() {
            continue;
        }
        if let Some(cached) = all_cached(&built.id, &group, cache) {
            reports.extend(cached);
            continue;
        }
        let target = engine.start(built, network).await?;
        reports.extend(run_checks(&target, &built.id, &group, cache).await);
        engine.stop(target).await;
    }
    // Report in the resolved set's order.
    reports.sort_by_key(|r| order.iter().position(|id| *id == r.check.check.id));
    Ok(reports)
}

/// Runs `work` until `interrupt` completes (Ctrl-C, in the tools); then
/// drops the work, runs `cleanup` (an engine's, which removes every
/// container it started) and returns [`Error::Interrupted`].
pub async fn interruptible<T>(
    cleanup: impl std::future::Future<Output = ()>,
    work: impl std::future::Future<Output = T>,
    interrupt: impl std::future::Future<Output = ()>,
) -> Result<T, Error> {
    tokio::select! {
        done = work => Ok(done),
        () = interrupt => {
            cleanup.await;
            Err(Error::Interrupted)
        }
    }
}
