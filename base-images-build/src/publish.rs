//! `publish`: released versions go to their family's registry (or the one
//! `--registry-override` names). Every platform is built and checked
//! first; then each version's OCI documents are made (without the
//! registry), its tag is resolved with every manifest media type, and the
//! plan is push (tag absent), skip (tag already at this index) or refuse
//! (tag at other content: never overwritten). `--dry-run` stops there.
//! Pushing sends blobs, manifests and the index by digest and the tag last;
//! versions.lock then records each index digest (and CHANGELOG.md and the
//! README's catalog show it). Ctrl-C leaves versions.lock as it was; a
//! failure stops the run and records only the versions whose tag was
//! pushed before it.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use base_images::engine::docker::DockerEngine;
use base_images::engine::pipeline::{interruptible, ImageReport};
use base_images::engine::Engine as _;
use base_images::lock::{Lock, Published, ReleaseProblem, REPRODUCIBLE_LAYERS};
use base_images::publish::layers::LayerStore;
use base_images::publish::remote::{is_loopback, Remote};
use base_images::publish::sign::Signer;
use base_images::publish::{
    self as publishing, Event, Observer, Prepared, Provenance, Publication, PublishError, PushOptions, Target,
};
use base_images::BaseImage;

use crate::build::{all_passed, build_all, release_policy, report_specs, write_reports};
use crate::cli::PublishArgs;
use crate::plan::Plan;
use crate::{report, select, Error, Ui, Workspace};

/// What to do with one version, decided before anything is pushed.
enum Action {
    /// The tag does not exist: push.
    Push,
    /// The tag already points at this index.
    Skip,
    /// The tag points at other content.
    Refuse(String),
    /// The audit gate refuses it: the findings that fail it.
    Gated(Vec<String>),
}

/// `--audit`: the advisories, the exceptions and the severity that fails.
struct Gate {
    database: base_images::advisory::Database,
    exceptions: base_images::audit::Exceptions,
    threshold: base_images::advisory::Severity,
}

impl Gate {
    /// The gate `args` ask for, if any; its advisories are read now.
    fn of(workspace: &Workspace, args: &PublishArgs, ui: &Ui) -> Result<Option<Gate>, Error> {
        let Some(threshold) = args.audit.and_then(crate::cli::FailOn::threshold) else {
            return Ok(None);
        };
        let sources = args.advisories.sources();
        if sources.is_empty() {
            return Err(Error::Usage(
                "--audit needs advisories: pass --advisories PATH or set BASE_IMAGES_ADVISORIES".into(),
            ));
        }
        Ok(Some(Gate {
            database: crate::judge::load_advisories(&sources, ui)?,
            exceptions: base_images::audit::Exceptions::read(
                &workspace.root().join(base_images::audit::exceptions::FILE_NAME),
            )?,
            threshold,
        }))
    }

    /// The findings of `prepared`'s SBOMs (made now) that fail the gate.
    async fn judge(
        &self,
        engine: &DockerEngine,
        image: &BaseImage,
        prepared: &mut Prepared,
        publication: Publication<'_>,
        ui: &Ui,
    ) -> Result<Vec<String>, Error> {
        publishing::add_sboms(engine, image, prepared, publication, None).await?;
        let mut subjects = Vec::new();
        for sbom in &prepared.sboms {
            let from = format!("to attach, {}", sbom.subject);
            let subject = crate::judge::subject_of(image, &sbom.platform, from, &sbom.sbom.bytes, &self.database)?;
            for line in crate::judge::finding_lines(&subject) {
                ui.note(&format!("audit: {line}"));
            }
            subjects.push(subject);
        }
        Ok(crate::judge::gate(&subjects, &self.exceptions, self.threshold))
    }

    /// The error of a version the gate refuses.
    fn refusal(&self, target: &Target, failing: &[String]) -> String {
        format!(
            "{}: not pushed: the audit gate (--audit {}) refuses it, {} finding(s) at or above {} have a fix:\n{}",
            target.address(),
            self.threshold,
            failing.len(),
            self.threshold,
            failing
                .iter()
                .map(|f| format!("  - {f}"))
                .collect::<Vec<_>>()
                .join("\n")
        )
    }
}

/// Runs `publish`; returns the closing message.
pub(crate) async fn publish(workspace: &Workspace, args: &PublishArgs, ui: &Ui) -> Result<String, Error> {
    let selected = select::select(&args.selectors)?;
    let reports_to = report_specs(&args.report)?;
    let lock = workspace.lock()?;
    if let Some(host) = &args.registry_override {
        check_host(host)?;
    }
    let signer = match &args.sign_key {
        Some(path) => Some(Signer::from_file(path).map_err(|e| Error::Usage(e.to_string()))?),
        None => None,
    };
    let gate = Gate::of(workspace, args, ui)?;
    let chosen = released_with_targets(selected, &lock, args, ui)?;
    let images: Vec<&'static BaseImage> = chosen.iter().map(|(i, _)| *i).collect();
    let plan = Plan::new(images, None, !args.selectors.is_empty(), ui)?;
    let engine = &DockerEngine::connect().await?;
    let _claim = workspace.claim()?;

    // Every registry must answer (and take the credentials) before anything is built.
    let mut remotes: BTreeMap<String, Remote> = BTreeMap::new();
    for (_, target) in &chosen {
        if remotes.contains_key(&target.registry) {
            continue;
        }
        let remote = base_images::publish::auth::remote(&target.registry).map_err(library)?;
        remote.sign_in(&target.repository).await.map_err(library)?;
        remote.resolve(&target.repository, &target.tag).await.map_err(library)?;
        remotes.insert(target.registry.clone(), remote);
    }
    release_policy(engine, &plan, &lock, ui).await?;
    ui.note(&format!(
        "engine: {} ({} version(s) to check on {} before publishing)",
        engine.describe(),
        chosen.len(),
        plan.platforms().join(", ")
    ));
    let reports = build_all(engine, &plan, &lock, &[], args.jobs, args.no_cache, ui).await?;
    ui.summary(&report::table(&reports));
    if let Err(failed) = all_passed(&reports, ui) {
        write_reports(&reports_to, &reports, &[])?;
        return Err(failed);
    }

    // Ctrl-C is the tool's from the first build on: every phase after it
    // listens too, or an interruption would be lost.
    let store = LayerStore::default_store()?;
    let preparing = async {
        let mut planned = Vec::new();
        for (image, target) in &chosen {
            let start = Instant::now();
            let built = built_images(image, &reports);
            let entry = lock.get(&image.key());
            let provenance = provenance(workspace, entry, ui)?;
            let inputs = ReleaseInputs::of(&lock, image);
            let publication = inputs.publication(target, &provenance);
            let mut prepared = publishing::prepare(engine, image, &built, publication, &store).await?;
            let remote = &remotes[&target.registry];
            let mut action = match remote.resolve(&target.repository, &target.tag).await.map_err(library)? {
                None => Action::Push,
                Some(existing) if existing == prepared.index.digest => Action::Skip,
                Some(existing) => Action::Refuse(existing),
            };
            if let (Action::Push, Some(gate)) = (&action, &gate) {
                let failing = gate.judge(engine, image, &mut prepared, publication, ui).await?;
                if !failing.is_empty() {
                    action = Action::Gated(failing);
                }
            }
            planned.push((*image, target.clone(), provenance, prepared, action, start));
        }
        Ok::<_, Error>(planned)
    };
    let planned = interruptible(engine, preparing, ctrl_c()).await??;

    if args.dry_run {
        let outcomes: Vec<report::Published> = planned
            .iter()
            .map(|(_, target, _, prepared, action, start)| {
                let (action, error) = match action {
                    Action::Push => ("planned", None),
                    Action::Skip => ("skipped", None),
                    Action::Refuse(existing) => ("refused", Some(conflict(target, existing, prepared).to_string())),
                    Action::Gated(failing) => ("refused", gate.as_ref().map(|g| g.refusal(target, failing))),
                };
                outcome(
                    &prepared.key,
                    target,
                    Some(&prepared.index.digest),
                    action,
                    error,
                    *start,
                )
            })
            .collect();
        ui.summary(&report::publish_table(&outcomes));
        write_reports(&reports_to, &reports, &outcomes)?;
        let refused = outcomes.iter().filter(|o| !o.ok()).count();
        let pushes = outcomes.iter().filter(|o| o.action == "planned").count();
        let message = format!(
            "dry run: {pushes} version(s) to push, {} already published, {refused} refused; nothing was pushed or written",
            outcomes.len() - pushes - refused
        );
        return if refused > 0 {
            Err(Error::Publish(outcomes.into_iter().filter_map(|o| o.error).collect()))
        } else {
            Ok(message)
        };
    }

    let pushing = async {
        let mut outcomes = Vec::new();
        let mut lock_now = lock.clone();
        for (image, target, provenance, prepared, action, _) in &planned {
            let start = Instant::now();
            let mut done = outcome(
                &prepared.key,
                target,
                Some(&prepared.index.digest),
                "pushed",
                None,
                start,
            );
            let inputs = ReleaseInputs::of(&lock, image);
            let publication = inputs.publication(target, provenance);
            match action {
                Action::Refuse(existing) => {
                    done.action = "refused";
                    done.error = Some(conflict(target, existing, prepared).to_string());
                }
                Action::Gated(failing) => {
                    done.action = "refused";
                    done.error = gate.as_ref().map(|g| g.refusal(target, failing));
                }
                Action::Skip => {
                    ui.note(&format!(
                        "{}: already published as {}",
                        target.address(),
                        prepared.index.digest
                    ));
                    done.action = "skipped";
                    // A version published before SBOMs were attached gets them now.
                    let remote = &remotes[&target.registry];
                    let (observer, counts) = observe(image, target, prepared, ui);
                    let attached = async {
                        let mut prepared = prepared.clone();
                        let missing_in = Some((remote, target.repository.as_str()));
                        publishing::add_sboms(engine, image, &mut prepared, publication, missing_in).await?;
                        publishing::attach_sboms(remote, &target.repository, &prepared, &observer).await?;
                        if let Some(signer) = &signer {
                            publishing::sign_index(remote, target, &prepared.index.digest, signer, &observer).await?;
                        }
                        Ok::<_, base_images::Error>(())
                    }
                    .await;
                    counts.finish();
                    done.sboms = counts.sboms();
                    if let Err(e) = attached {
                        done.action = "failed";
                        done.error = Some(e.to_string());
                    }
                }
                Action::Push => {
                    let remote = &remotes[&target.registry];
                    let mount_from = mount_sources(target, &chosen, &lock_now);
                    let (observer, counts) = observe(image, target, prepared, ui);
                    let options = PushOptions {
                        mount_from: &mount_from,
                        store: &store,
                        signer: signer.as_ref(),
                    };
                    let pushed = async {
                        let mut prepared = prepared.clone();
                        if prepared.sboms.is_empty() {
                            publishing::add_sboms(engine, image, &mut prepared, publication, None).await?;
                        }
                        publishing::push(engine, remote, target, &prepared, options, &observer).await
                    }
                    .await;
                    counts.finish();
                    done.blobs = counts.blobs();
                    done.bytes = counts.bytes();
                    done.sboms = counts.sboms();
                    if let Err(e) = pushed {
                        done.action = "failed";
                        done.error = Some(e.to_string());
                    }
                }
            }
            done.duration = start.elapsed();
            if done.error.is_none() {
                lock_now = record(&lock_now, &prepared.key, target, provenance, prepared)?;
            }
            let failed = done.action == "failed";
            outcomes.push(done);
            if failed {
                break;
            }
        }
        Ok::<_, Error>((outcomes, lock_now))
    };
    let (outcomes, lock_now) = interruptible(engine, pushing, ctrl_c()).await??;

    if lock_now != lock {
        lock_now.write(&workspace.lock_path())?;
        crate::generated::write(workspace, &base_images::all(), &lock_now)?;
    }
    ui.summary(&report::publish_table(&outcomes));
    write_reports(&reports_to, &reports, &outcomes)?;
    let errors: Vec<String> = outcomes.iter().filter_map(|o| o.error.clone()).collect();
    if !errors.is_empty() {
        return Err(Error::Publish(errors));
    }
    let pushed = outcomes.iter().filter(|o| o.action == "pushed").count();
    let sboms: usize = outcomes.iter().map(|o| o.sboms).sum();
    Ok(format!(
        "{pushed} version(s) pushed, {} already published; {sboms} SBOM(s) attached; {}",
        outcomes.len() - pushed,
        if lock_now != lock {
            format!("recorded in {}", workspace.lock_path().display())
        } else {
            "versions.lock already records them".to_owned()
        }
    ))
}

/// Completes at the next Ctrl-C.
async fn ctrl_c() {
    let _ = tokio::signal::ctrl_c().await;
}

pub(crate) fn library(e: PublishError) -> Error {
    Error::Library(base_images::Error::Publish(Box::new(e)))
}

fn conflict(target: &Target, existing: &str, prepared: &Prepared) -> PublishError {
    PublishError::TagConflict {
        address: target.address(),
        existing: existing.to_owned(),
        ours: prepared.index.digest.clone(),
    }
}

fn outcome(
    key: &base_images::ImageKey,
    target: &Target,
    digest: Option<&str>,
    action: &'static str,
    error: Option<String>,
    start: Instant,
) -> report::Published {
    report::Published {
        key: key.clone(),
        address: target.address(),
        digest: digest.map(str::to_owned),
        action,
        blobs: (0, 0, 0),
        bytes: 0,
        sboms: 0,
        error,
        duration: start.elapsed(),
    }
}

/// `HOST[:PORT]`: no scheme, no path.
pub(crate) fn check_host(host: &str) -> Result<(), Error> {
    let valid = !host.is_empty()
        && !host.contains("://")
        && !host.contains('/')
        && base_images::ImageAddress::parse(&format!("{host}/x")).is_ok_and(|a| a.registry_and_path().0 == Some(host));
    if valid {
        Ok(())
    } else {
        Err(Error::Usage(format!(
            "--registry-override {host}: write HOST[:PORT], e.g. 127.0.0.1:5000 (no scheme, no path)"
        )))
    }
}

/// The selected versions that are released and whose family has a
/// repository, with where each goes. A named version that is not released
/// is refused; unnamed ones are skipped, said.
fn released_with_targets(
    selected: Vec<&'static BaseImage>,
    lock: &Lock,
    args: &PublishArgs,
    ui: &Ui,
) -> Result<Vec<(&'static BaseImage, Target)>, Error> {
    let named = !args.selectors.is_empty();
    let mut chosen = Vec::new();
    let mut unreleased = Vec::new();
    let mut no_repository = BTreeSet::new();
    for image in selected {
        if lock.get(&image.key()).is_none() {
            unreleased.push(image);
            continue;
        }
        match Target::of(image, args.registry_override.as_deref())? {
            Some(target) => chosen.push((image, target)),
            None => {
                no_repository.insert(image.family());
            }
        }
    }
    if named && !unreleased.is_empty() {
        let problems = unreleased
            .iter()
            .map(|i| ReleaseProblem::NotReleased { key: i.key() })
            .collect();
        return Err(Error::Library(base_images::Error::Released(problems)));
    }
    for image in &unreleased {
        ui.note(&format!("skipping {image}: not released (build it first)"));
    }
    if named && !no_repository.is_empty() {
        return Err(Error::Usage(format!(
            "{} declare(s) no repository to publish to: add `repository = \"org/name\"` to the family's first version",
            no_repository.into_iter().collect::<Vec<_>>().join(", ")
        )));
    }
    for family in &no_repository {
        ui.note(&format!("skipping {family}: it declares no repository"));
    }
    if chosen.is_empty() {
        return Err(Error::Usage(
            "nothing to publish: no released version of a family with a repository is selected".into(),
        ));
    }
    if let Some(host) = &args.registry_override {
        if !is_loopback(host) {
            ui.note(&format!("{host} is not a loopback address: it is reached over HTTPS"));
        }
    }
    Ok(chosen)
}

/// Each platform's built image id of `image`.
fn built_images(image: &BaseImage, reports: &[ImageReport]) -> Vec<(String, String)> {
    reports
        .iter()
        .filter(|r| r.key == image.key())
        .filter_map(|r| r.image.as_ref().map(|i| (r.platform.clone(), i.id.clone())))
        .collect()
}

/// The `created`, `revision` and `source` of a version's publish: what
/// versions.lock recorded when it was first published (so a republish
/// gives the same digests), else `SOURCE_DATE_EPOCH` or the release time
/// the lock records, and the workspace's git commit and remote.
pub(crate) fn provenance(
    workspace: &Workspace,
    entry: Option<&base_images::lock::LockEntry>,
    ui: &Ui,
) -> Result<Provenance, Error> {
    let recorded = entry.and_then(|e| e.published.as_ref());
    let created = match std::env::var("SOURCE_DATE_EPOCH").ok().filter(|v| !v.is_empty()) {
        Some(text) => {
            let seconds: u64 = text.trim().parse().map_err(|_| {
                Error::Usage(format!(
                    "SOURCE_DATE_EPOCH={text}: write whole seconds since 1970-01-01 UTC (e.g. 1700000000)"
                ))
            })?;
            humantime::format_rfc3339_seconds(std::time::UNIX_EPOCH + std::time::Duration::from_secs(seconds))
                .to_string()
        }
        None => match (recorded, entry.and_then(|e| e.released.clone())) {
            (Some(published), _) => published.created.clone(),
            (None, Some(released)) => released,
            (None, None) => {
                let now = base_images::lock::now();
                if let Some(entry) = entry {
                    ui.note(&format!(
                        "{} was released before release times were recorded: created = {now}, recorded in versions.lock",
                        entry.name
                    ));
                }
                now
            }
        },
    };
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .arg("-C")
            .arg(workspace.root())
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
            .filter(|s| !s.is_empty())
    };
    Ok(Provenance {
        created,
        revision: recorded
            .and_then(|p| p.revision.clone())
            .or_else(|| git(&["rev-parse", "HEAD"])),
        source: recorded
            .and_then(|p| p.source.clone())
            .or_else(|| git(&["remote", "get-url", "origin"]).map(|url| publishing::public_source(&url))),
    })
}

/// Repositories of `target`'s registry that may hold its blobs: those of
/// the families published in this run and those versions.lock records.
fn mount_sources(target: &Target, chosen: &[(&'static BaseImage, Target)], lock: &Lock) -> Vec<String> {
    let prefix = format!("{}/", target.registry);
    let mut sources: BTreeSet<String> = chosen
        .iter()
        .filter(|(_, t)| t.registry == target.registry)
        .map(|(_, t)| t.repository.clone())
        .collect();
    for entry in lock.entries() {
        for repository in entry.published.iter().flat_map(|p| &p.repositories) {
            if let Some(path) = repository.strip_prefix(&prefix) {
                sources.insert(path.to_owned());
            }
        }
    }
    sources.remove(&target.repository);
    sources.into_iter().collect()
}

/// `lock` with `key` recorded as published to `target`.
fn record(
    lock: &Lock,
    key: &base_images::ImageKey,
    target: &Target,
    provenance: &Provenance,
    prepared: &Prepared,
) -> Result<Lock, Error> {
    let published = Published {
        index: prepared.index.digest.clone(),
        created: provenance.created.clone(),
        revision: provenance.revision.clone(),
        source: provenance.source.clone(),
        repositories: vec![target.repository_address()],
        layers: reproducible(lock.get(key)).then(|| REPRODUCIBLE_LAYERS.to_owned()),
    };
    Ok(lock.with_published(key, &published)?)
}

/// What `versions.lock` records of a version that publishing it uses.
struct ReleaseInputs {
    /// Local root image ids, by platform.
    local_roots: BTreeMap<String, String>,
    /// Fetched-input digests, by URL.
    fetched: base_images::fetch::Pins,
    /// Whether its step layers are rewritten reproducibly.
    reproducible: bool,
}

impl ReleaseInputs {
    fn of(lock: &Lock, image: &BaseImage) -> ReleaseInputs {
        let entry = lock.get(&image.key());
        ReleaseInputs {
            local_roots: entry.map(|e| e.local_roots.clone()).unwrap_or_default(),
            fetched: lock.pins(&image.key()),
            reproducible: reproducible(entry),
        }
    }

    fn publication<'a>(&'a self, target: &'a Target, provenance: &'a Provenance) -> Publication<'a> {
        Publication {
            target,
            provenance,
            local_roots: &self.local_roots,
            fetched: &self.fetched,
            reproducible: self.reproducible,
        }
    }
}

/// Whether a version's step layers are published reproducibly: always,
/// unless it was published before that (its recorded index then stays
/// what publishing it again gives).
fn reproducible(entry: Option<&base_images::lock::LockEntry>) -> bool {
    entry
        .and_then(|e| e.published.as_ref())
        .is_none_or(Published::reproducible)
}

/// Counts of one version's push, fed by its observer.
struct Counts {
    attached: AtomicUsize,
    uploaded: AtomicUsize,
    mounted: AtomicUsize,
    present: AtomicUsize,
    bytes: AtomicU64,
    bar: indicatif::ProgressBar,
}

impl Counts {
    fn blobs(&self) -> (usize, usize, usize) {
        (
            self.uploaded.load(Ordering::Relaxed),
            self.mounted.load(Ordering::Relaxed),
            self.present.load(Ordering::Relaxed),
        )
    }

    fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }

    fn sboms(&self) -> usize {
        self.attached.load(Ordering::Relaxed)
    }

    fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

/// An observer that moves a bar per version and prints a line per blob.
fn observe(image: &BaseImage, target: &Target, prepared: &Prepared, ui: &Ui) -> (Observer, Arc<Counts>) {
    let total: u64 = prepared
        .images
        .iter()
        .flat_map(|(i, _)| i.layers.iter().map(|l| l.size))
        .sum();
    let counts = Arc::new(Counts {
        attached: AtomicUsize::new(0),
        uploaded: AtomicUsize::new(0),
        mounted: AtomicUsize::new(0),
        present: AtomicUsize::new(0),
        bytes: AtomicU64::new(0),
        bar: ui.bytes(total, format!("{image} -> {}", target.address())),
    });
    let ui = *ui;
    let shared = Arc::clone(&counts);
    let observer: Observer = Arc::new(move |event| {
        let short = |digest: &str| digest.chars().take(19).collect::<String>();
        let mb = |size: u64| format!("{:.1} MB", size as f64 / 1e6);
        let line = match &event {
            Event::Present { digest, size } => {
                shared.present.fetch_add(1, Ordering::Relaxed);
                shared.bar.inc(*size);
                format!("  blob {} ({}): already there", short(digest), mb(*size))
            }
            Event::Mounted { digest, size, from } => {
                shared.mounted.fetch_add(1, Ordering::Relaxed);
                shared.bar.inc(*size);
                format!("  blob {} ({}): mounted from {from}", short(digest), mb(*size))
            }
            Event::Uploading { digest, size } => {
                shared.uploaded.fetch_add(1, Ordering::Relaxed);
                format!("  blob {} ({}): uploading", short(digest), mb(*size))
            }
            Event::Sent(n) => {
                shared.bytes.fetch_add(*n, Ordering::Relaxed);
                shared.bar.inc(*n);
                return;
            }
            Event::Manifest { reference } => format!("  manifest {}: pushed", short(reference)),
            Event::Signed { digest } => format!("  index {}: signed", short(digest)),
            Event::Attached {
                platform,
                digest,
                packages,
            } => {
                shared.attached.fetch_add(1, Ordering::Relaxed);
                format!("  sbom [{platform}] {}: attached ({packages} packages)", short(digest))
            }
        };
        shared.bar.suspend(|| ui.note(&line));
    });
    (observer, counts)
}
