//! `build`: every selected version is built on the engine and all its
//! resolved checks run (families in parallel up to `--jobs`, the versions of
//! a family in order so each reuses its parent's cached steps). Only when
//! every check of every selected version passed are CHANGELOG.md and
//! versions.lock rewritten, atomically; reports are written either way.
//! Ctrl-C removes the run's containers and leaves both files as they were.

use std::collections::BTreeMap;
use std::path::PathBuf;

use base_images::checks::ResultCache;
use base_images::engine::builders::Builders;
use base_images::engine::pipeline::{self, check_on, interruptible, ImageReport, Options};
use base_images::engine::Engine;
use base_images::shared_results::SharedResults;
use base_images::BaseImage;
use futures_util::stream::{self, StreamExt as _};
use std::sync::Arc;

use crate::cli::{BuildArgs, EngineChoice};
use crate::fleet::Fleet;
use crate::plan::{fetched_by_version, Plan};
use crate::ui::Progress;
use crate::{report, select, Error, Ui, Workspace};

/// Where a report goes.
pub(crate) enum ReportSpec {
    Json(PathBuf),
    Junit(PathBuf),
}

pub(crate) fn report_specs(specs: &[String]) -> Result<Vec<ReportSpec>, Error> {
    Ok(report::requests(specs, &["json", "junit"])?
        .into_iter()
        .map(|(kind, path)| match kind {
            "json" => ReportSpec::Json(path),
            _ => ReportSpec::Junit(path),
        })
        .collect())
}

/// `--root-override FROM=TO` values; each FROM must be the root of a
/// selected version.
fn root_overrides(specs: &[String], images: &[&'static BaseImage]) -> Result<Vec<(String, String)>, Error> {
    specs
        .iter()
        .map(|spec| {
            let (from, to) = spec
                .split_once('=')
                .filter(|(from, to)| !from.is_empty() && !to.is_empty())
                .ok_or_else(|| Error::Usage(format!("--root-override {spec}: write FROM=TO (two image addresses)")))?;
            base_images::ImageAddress::parse(to)?;
            let used = images.iter().any(|i| {
                i.recipe()
                    .is_ok_and(|r| r.root_addresses().iter().any(|(_, address)| *address == from))
            });
            if !used {
                return Err(Error::Usage(format!(
                    "--root-override {spec}: no selected version has the root {from}; `show` prints a version's root"
                )));
            }
            Ok((from.to_owned(), to.to_owned()))
        })
        .collect()
}

/// The release policy, before anything is built: every root of a version
/// to build is pinned by digest, or is a local image (in no registry; its
/// id is recorded in the lock at release and must not change after). An
/// unpinned root that came from a registry is refused, naming the pin.
pub(crate) async fn release_policy<E: Engine>(
    builders: &Builders<E>,
    plan: &Plan,
    lock: &base_images::Lock,
    ui: &Ui,
) -> Result<BTreeMap<base_images::ImageKey, BTreeMap<String, String>>, Error> {
    let mut local_roots: BTreeMap<base_images::ImageKey, BTreeMap<String, String>> = BTreeMap::new();
    let mut problems = Vec::new();
    for (image, platforms) in plan.versions() {
        let recipe = image.recipe()?;
        problems.extend(pinned_root_problems(builders.on(platforms[0]), image, &recipe, ui).await);
        for &platform in platforms {
            let engine = builders.on(platform);
            let Some(address) = recipe.root_for(platform) else {
                continue;
            };
            if base_images::ImageAddress::parse(address)?.is_pinned() {
                continue;
            }
            let identity = engine.root_identity(address, platform).await?;
            let recorded = lock.get(&image.key()).map(|e| e.local_roots.get(platform));
            match (identity.pinned, recorded) {
                (Some(pinned), _) => problems.push(format!(
                    "{image}: its root {address} is not pinned by digest; a released version must pin its roots: write {pinned}"
                )),
                (None, None) => {
                    local_roots.entry(image.key()).or_default().insert(platform.to_owned(), identity.image_id);
                }
                (None, Some(Some(id))) if *id == identity.image_id => {}
                (None, Some(Some(id))) => problems.push(format!(
                    "{image} is released on the local root {address} = {id}, but that image is now {}; a released version must never change: declare a new version",
                    identity.image_id
                )),
                (None, Some(None)) => problems.push(format!(
                    "{image} is released, but its root {address} is neither pinned by digest nor recorded as a local root in versions.lock"
                )),
            }
        }
    }
    if problems.is_empty() {
        Ok(local_roots)
    } else {
        Err(Error::Release(problems))
    }
}

/// For a family of several platforms, each pinned root must be what those
/// platforms need: a multi-platform index (or, for a root pinned per
/// platform, that platform's image). Checked when the engine can reach the
/// registry; otherwise said and skipped.
async fn pinned_root_problems<E: Engine>(
    engine: &E,
    image: &BaseImage,
    recipe: &base_images::Recipe,
    ui: &Ui,
) -> Vec<String> {
    if image.platforms().len() < 2 {
        return Vec::new();
    }
    let mut problems = Vec::new();
    for (pinned_for, address) in recipe.root_addresses() {
        if !base_images::ImageAddress::parse(address).is_ok_and(|a| a.is_pinned()) {
            continue;
        }
        let platforms: Vec<&str> = match pinned_for {
            Some(platform) => vec![platform],
            None => image.platforms().to_vec(),
        };
        match engine.distribution(address).await {
            Ok(served) => {
                if let Some(problem) = base_images::engine::pin_problem(address, &served, &platforms) {
                    problems.push(format!("{image}: {problem}"));
                }
            }
            Err(e) => ui.note(&format!("{image}: the platforms of {address} were not verified: {e}")),
        }
    }
    problems
}

/// The engine `choice` names: `auto` is Dagger inside a Dagger session
/// (when the tool is built with the `dagger` feature), Docker otherwise.
fn resolve(choice: EngineChoice) -> Result<EngineChoice, Error> {
    match choice {
        EngineChoice::Auto if dagger_session() => Ok(EngineChoice::Dagger),
        EngineChoice::Auto => Ok(EngineChoice::Docker),
        EngineChoice::Dagger if !cfg!(feature = "dagger") => Err(Error::Usage(
            "--engine dagger: this build tool was built without its `dagger` feature; use --engine docker".into(),
        )),
        chosen => Ok(chosen),
    }
}

#[cfg(feature = "dagger")]
fn dagger_session() -> bool {
    base_images::engine::dagger::Session::present()
}

#[cfg(not(feature = "dagger"))]
fn dagger_session() -> bool {
    false
}

/// Runs `build`; returns the closing message.
pub(crate) async fn build(workspace: &Workspace, args: &BuildArgs, ui: &Ui) -> Result<String, Error> {
    let fleet = Fleet::of(workspace, &args.fleet, ui)?;
    match resolve(args.engine)? {
        #[cfg(feature = "dagger")]
        EngineChoice::Dagger if args.rebuild => Err(Error::Usage(
            "--rebuild: the Dagger engine decides its own caching; use --engine docker".into(),
        )),
        #[cfg(feature = "dagger")]
        EngineChoice::Dagger if fleet.is_configured() => Err(Error::Usage(
            "builders and a shared cache (--builder, --cache, base-images.toml) are Docker-API engines'; \
             the Dagger engine schedules and caches its own; use --engine docker"
                .into(),
        )),
        #[cfg(feature = "dagger")]
        EngineChoice::Dagger => {
            let connect = async |_| {
                let engine = base_images::engine::dagger::DaggerEngine::connect().await?;
                Ok(Builders::one(engine))
            };
            build_on(connect, None, workspace, args, ui).await
        }
        _ => {
            let connect = async |platforms: Vec<&'static str>| fleet.connect(&platforms, args.rebuild).await;
            build_on(connect, fleet.results(), workspace, args, ui).await
        }
    }
}

/// `build` on the builders `connect` reaches for the platforms built
/// (called once the selection and the arguments are known to be valid),
/// sharing check results through `shared` when given.
async fn build_on<E: Engine>(
    connect: impl AsyncFnOnce(Vec<&'static str>) -> Result<Builders<E>, Error>,
    shared: Option<Arc<SharedResults>>,
    workspace: &Workspace,
    args: &BuildArgs,
    ui: &Ui,
) -> Result<String, Error> {
    let selected = select::select(&args.selectors)?;
    let reports_to = report_specs(&args.report)?;
    let (plan, overrides) = planned(selected, args, ui)?;
    let images = plan.images();
    let builders = &connect(plan.platforms()).await?;
    // versions.lock is read once the workspace is ours: a run that wrote
    // it while this one connected is not undone.
    let _claim = workspace.claim()?;
    let lock = workspace.lock()?;
    let local_roots = if overrides.is_empty() {
        release_policy(builders, &plan, &lock, ui).await?
    } else {
        BTreeMap::new()
    };
    ui.note(&format!(
        "engine: {} ({} version(s) to build, {} image(s) for {})",
        builders.describe(),
        images.len(),
        plan.builds(),
        plan.platforms().join(", ")
    ));

    // The release time is the build's start, or the one every runner of a
    // fleet is given (SOURCE_DATE_EPOCH): every file a step writes is
    // newer (publish settles step layers' times to it).
    let started = source_date()?.unwrap_or_else(base_images::lock::now);
    let options = Options {
        root_overrides: overrides.clone(),
        fetcher: args.fetch.fetcher(),
        shared_results: shared,
        ..Options::default()
    };
    let reports = build_all(builders, &plan, &lock, &options, args.jobs, args.no_cache, ui).await?;
    write_reports(&reports_to, &reports, &[])?;
    ui.summary(&report::table(&reports));
    if let Err(failed) = all_passed(&reports, ui) {
        if !overrides.is_empty() {
            ui.note("root overridden: failures may come from the other root; this run could never be a release");
        }
        return Err(failed);
    }
    if let Some(message) = not_a_release(&plan, !overrides.is_empty()) {
        return Ok(message);
    }
    let release = base_images::Release {
        local_roots,
        fetched: fetched_by_version(&reports),
        time: Some(started),
    };
    release_written(workspace, &plan, &lock, &release, ui)
}

/// `SOURCE_DATE_EPOCH` as an RFC 3339 time, when it is set: the release
/// time of a build, the creation time of a publish, the same on every
/// runner given it.
pub(crate) fn source_date() -> Result<Option<String>, Error> {
    let Some(text) = std::env::var("SOURCE_DATE_EPOCH").ok().filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    let seconds: u64 = text.trim().parse().map_err(|_| {
        Error::Usage(format!(
            "SOURCE_DATE_EPOCH={text}: write whole seconds since 1970-01-01 UTC (e.g. 1700000000)"
        ))
    })?;
    let time = std::time::UNIX_EPOCH + std::time::Duration::from_secs(seconds);
    Ok(Some(humantime::format_rfc3339_seconds(time).to_string()))
}

/// The plan of the `selected` versions for the arguments' platform, and
/// the root overrides the arguments ask for; either is noted when it
/// makes the run no release.
fn planned(
    selected: Vec<&'static BaseImage>,
    args: &BuildArgs,
    ui: &Ui,
) -> Result<(Plan, Vec<(String, String)>), Error> {
    let platform = args.platform.as_ref().map(ToString::to_string);
    let plan = Plan::new(selected, platform.as_deref(), !args.selectors.is_empty(), ui)?;
    let overrides = root_overrides(&args.root_override, &plan.images())?;
    if !overrides.is_empty() {
        ui.note("root overridden: a smoke test, not a release; versions.lock and CHANGELOG.md will not be written");
    }
    if let Some(partial) = plan.partial() {
        ui.note(&partial);
    }
    Ok((plan, overrides))
}

/// The closing message of a run that passed but is no release (a root
/// overridden, or not every platform built), if it is one.
fn not_a_release(plan: &Plan, overridden: bool) -> Option<String> {
    let versions = plan.images().len();
    if overridden {
        return Some(format!(
            "all {versions} version(s) passed on the overridden root(s); not a release: nothing was locked or written"
        ));
    }
    let partial = plan.partial()?;
    Some(format!(
        "all {versions} version(s) passed on {}; {partial}",
        plan.platforms().join(", ")
    ))
}

/// Records `release` of the plan's versions in the lock and writes
/// versions.lock and CHANGELOG.md; returns the closing message.
fn release_written(
    workspace: &Workspace,
    plan: &Plan,
    lock: &base_images::Lock,
    release: &base_images::Release,
    ui: &Ui,
) -> Result<String, Error> {
    let images = plan.images();
    let lock_now = lock.with_release(&images, release)?;
    let added = lock_now.entries().len() - lock.entries().len();
    note_first_use(lock, &lock_now, ui);
    write_release(workspace, lock, &lock_now)?;
    Ok(format!(
        "all {} version(s) passed on {}; wrote {} and {} ({added} new version(s) locked)",
        images.len(),
        plan.platforms().join(", "),
        workspace.changelog_path().display(),
        workspace.lock_path().display()
    ))
}

/// Notes each input `after` records for a version `before` had released
/// without recording it (trusted on first use).
fn note_first_use(before: &base_images::Lock, after: &base_images::Lock, ui: &Ui) {
    for entry in before.entries() {
        let recorded = after.get(&entry.name).map(|e| &e.fetched);
        for (url, digest) in recorded.into_iter().flatten() {
            if !entry.fetched.contains_key(url) {
                ui.note(&format!(
                    "trust on first use: {} was released before its inputs were recorded; recorded {url} = {digest} in versions.lock",
                    entry.name
                ));
            }
        }
    }
}

/// Builds every (version, platform) of `plan` and runs its checks:
/// chains in parallel up to `jobs`, each chain's versions in order; Ctrl-C
/// removes the run's containers. Reports are sorted by version, then
/// platform.
pub(crate) async fn build_all<E: Engine>(
    builders: &Builders<E>,
    plan: &Plan,
    lock: &base_images::Lock,
    options: &Options,
    jobs: Option<usize>,
    no_cache: bool,
    ui: &Ui,
) -> Result<Vec<ImageReport>, Error> {
    let cache = if no_cache {
        ResultCache::disabled()
    } else {
        ResultCache::open(&ResultCache::default_dir()?)
    };
    let jobs = jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    let progress = ui.progress(plan.builds() as u64);

    let work = stream::iter(plan.chains())
        .map(|(platform, chain)| {
            let engine = builders.on(platform);
            build_chain(engine, platform, chain, lock, options, &progress, cache.clone())
        })
        .buffer_unordered(jobs)
        .collect::<Vec<_>>();
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let outcome = interruptible(builders.cleanup(), work, interrupt).await;
    progress.finish_and_clear();
    let results = outcome?;

    let mut cache = cache;
    let mut reports: Vec<ImageReport> = Vec::new();
    for (chain_reports, chain_cache) in results {
        reports.extend(chain_reports);
        cache.merge(chain_cache);
    }
    reports.sort_by(|a, b| (&a.key, &a.platform).cmp(&(&b.key, &b.platform)));
    if let Err(e) = cache.save() {
        ui.note(&format!("warning: the check result cache was not saved: {e}"));
    }
    Ok(reports)
}

/// Builds the versions of one chain in order for `platform` and runs each
/// one's checks while the next builds; returns the chain's reports and
/// its copy of the check result cache.
async fn build_chain<E: Engine>(
    engine: &E,
    platform: &'static str,
    chain: Vec<&'static BaseImage>,
    lock: &base_images::Lock,
    options: &Options,
    progress: &Progress,
    mut cache: ResultCache,
) -> (Vec<ImageReport>, ResultCache) {
    // A chain builds its next version while the checks of the one before
    // run.
    let (built, mut to_check) = tokio::sync::mpsc::unbounded_channel();
    let builds = async move {
        for image in chain {
            progress.set_message(format!("{} [{platform}]", image.key()));
            let options = Options {
                pins: lock.pins(&image.key()),
                ..options.clone()
            };
            let _ = built.send(pipeline::build_on(engine, image, platform, &options).await);
        }
    };
    let checks = async {
        let mut reports = Vec::new();
        while let Some((report, built)) = to_check.recv().await {
            let report = match built {
                Some(built) => checked(engine, report, built, options.shared_results.as_deref(), &mut cache).await,
                None => report,
            };
            progress.println(report::line(&report));
            progress.inc(1);
            reports.push(report);
        }
        reports
    };
    let ((), reports) = tokio::join!(builds, checks);
    (reports, cache)
}

/// `report` with the checks of `built` run, or found passed by another
/// runner in `shared` (unless `cache` is disabled: `--no-cache` runs every
/// check); this run's passes go to `shared` when it writes.
async fn checked<E: Engine>(
    engine: &E,
    report: ImageReport,
    built: pipeline::Built,
    shared: Option<&SharedResults>,
    cache: &mut ResultCache,
) -> ImageReport {
    let Some(shared) = shared else {
        return check_on(engine, report, built, cache).await;
    };
    let image_id = built.image_id().to_owned();
    if !cache.is_disabled() {
        shared.prefill(&image_id, built.checks(), cache).await;
    }
    let report = check_on(engine, report, built, cache).await;
    shared.store(&image_id, &report.checks).await;
    report
}

/// Prints every failure of `reports` in full and names the failed images
/// in the error, if any failed.
pub(crate) fn all_passed(reports: &[ImageReport], ui: &Ui) -> Result<(), Error> {
    let failed: Vec<String> = reports
        .iter()
        .filter(|r| !r.passed())
        .map(|r| format!("{} [{}]", r.key, r.platform))
        .collect();
    if failed.is_empty() {
        return Ok(());
    }
    ui.summary(&report::failures(reports));
    Err(Error::Failed(failed))
}

/// Writes the `--report` files: the build's reports and, for `publish`,
/// what happened to each version.
pub(crate) fn write_reports(
    specs: &[ReportSpec],
    reports: &[ImageReport],
    published: &[report::Published],
) -> Result<(), Error> {
    for spec in specs {
        let (path, text) = match spec {
            ReportSpec::Json(path) => (
                path,
                serde_json::to_string_pretty(&report::json(reports, published)).unwrap_or_default(),
            ),
            ReportSpec::Junit(path) => (path, report::junit(reports, published)),
        };
        base_images::fsio::write_atomic(path, text.as_bytes())?;
    }
    Ok(())
}

/// Writes a release: `versions.lock` first (when it changed), then the
/// generated files, so a failed lock write leaves CHANGELOG.md listing
/// only locked versions.
fn write_release(workspace: &Workspace, before: &base_images::Lock, after: &base_images::Lock) -> Result<(), Error> {
    if after != before {
        after.write(&workspace.lock_path())?;
    }
    crate::generated::write(workspace, &base_images::all(), after)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_lock_write_leaves_the_changelog_unwritten() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        // A lock path that cannot be replaced: a non-empty directory.
        let lock_path = dir.path().join("versions.lock");
        std::fs::create_dir_all(lock_path.join("in-the-way")).unwrap_or_else(|e| panic!("{e}"));
        let workspace = Workspace::locate(Some(dir.path())).unwrap_or_else(|e| panic!("{e}"));
        let images = base_images::all();
        let after = base_images::Lock::default()
            .with_released(&images[..1])
            .unwrap_or_else(|e| panic!("{e}"));
        let outcome = write_release(&workspace, &base_images::Lock::default(), &after);
        assert!(outcome.is_err(), "the lock cannot be written here");
        assert!(
            !workspace.changelog_path().exists(),
            "CHANGELOG.md must not list versions that are not locked"
        );
    }
}
