//! `publish`: released versions go to each repository their family
//! declares (on the registry `--registry-override` names, if given). A
//! version versions.lock records as published keeps that one index digest
//! everywhere: a repository that lacks it gets a copy, by digest, from a
//! recorded repository that holds it (blobs, manifests, SBOMs, signatures,
//! then the tag; nothing rebuilt), and a rebuild that prepares another
//! index is refused before anything is pushed. Every other version is
//! built and checked first; then its OCI documents are made (without the
//! registry), its tag is resolved with every manifest media type, and the
//! plan is push (tag absent), skip (tag already at this index) or refuse
//! (tag at other content: never overwritten). `--dry-run` stops there.
//! Pushing sends blobs, manifests and the index by digest and the tag last;
//! versions.lock then records each index digest and repository (and
//! CHANGELOG.md and the README's catalog show it). Ctrl-C leaves
//! versions.lock as it was; a failure stops the run and records the
//! versions whose tag was pushed before it.

mod gate;
mod progress;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use base_images::engine::docker::DockerEngine;
use base_images::engine::pipeline::{interruptible, ImageReport, Options};
use base_images::engine::Engine as _;
use base_images::lock::{Lock, Published, ReleaseProblem, REPRODUCIBLE_LAYERS};
use base_images::publish::copy::{self, Source};
use base_images::publish::layers::LayerStore;
use base_images::publish::remote::{is_loopback, Remote};
use base_images::publish::sign::Signer;
use base_images::publish::{self as publishing, Prepared, Provenance, Publication, PublishError, PushOptions, Target};
use base_images::BaseImage;

use crate::build::{all_passed, build_all, release_policy, report_specs, write_reports, ReportSpec};
use crate::cli::PublishArgs;
use crate::plan::Plan;
use crate::{report, select, Error, Ui, Workspace};
use gate::Gate;
use progress::observe;

/// What to do with one version in one repository, decided before anything
/// is pushed.
enum Action {
    /// The tag does not exist: push.
    Push,
    /// The tag already points at this index.
    Skip,
    /// The tag does not exist and the version is recorded as published:
    /// copy it from this repository (`registry/path`), which holds it.
    Copy(String),
    /// Refused, and why (the tag points at other content, or the version
    /// would get a second digest).
    Refuse(String),
    /// The audit gate refuses it: the findings that fail it.
    Gated(Vec<String>),
}

/// One version's publish to one repository, planned.
struct Planned {
    image: &'static BaseImage,
    target: Target,
    /// What versions.lock records once it is there.
    published: Published,
    /// Its documents, when this run built it (a copy needs none).
    prepared: Option<Prepared>,
    action: Action,
    start: Instant,
}

/// What was decided of a version from versions.lock and the registries
/// alone, before building anything.
enum Early {
    /// Nothing to build: this action.
    Decided(Action),
    /// Build it; the recorded repositories that could not be read, if any.
    Build(Vec<String>),
}

/// What a run shares between its phases.
struct Run<'a> {
    workspace: &'a Workspace,
    args: &'a PublishArgs,
    ui: &'a Ui,
    engine: &'a DockerEngine,
    lock: &'a Lock,
    remotes: BTreeMap<String, Remote>,
    signer: Option<Signer>,
    gate: Option<Gate>,
    store: LayerStore,
}

/// Runs `publish`; returns the closing message.
pub(crate) async fn publish(workspace: &Workspace, args: &PublishArgs, ui: &Ui) -> Result<String, Error> {
    let selected = select::select(&args.selectors)?;
    let reports_to = report_specs(&args.report)?;
    if let Some(host) = &args.registry_override {
        check_host(host)?;
    }
    let signer = match &args.sign_key {
        Some(path) => Some(Signer::from_file(path).map_err(|e| Error::Usage(e.to_string()))?),
        None => None,
    };
    let gate = Gate::of(workspace, args, ui)?;
    let engine = &DockerEngine::connect().await?;
    // versions.lock is read once the workspace is ours: a run that wrote
    // it while this one connected is not undone.
    let _claim = workspace.claim()?;
    let lock = &workspace.lock()?;
    let chosen = released_with_targets(selected, lock, args, ui)?;
    let mut run = Run {
        workspace,
        args,
        ui,
        engine,
        lock,
        remotes: connect(&chosen).await?,
        signer,
        gate,
        store: LayerStore::default_store()?,
    };
    let mut early = Vec::new();
    for (image, target) in &chosen {
        early.push(run.early(image, target).await?);
    }
    let to_build: Vec<&'static BaseImage> = chosen
        .iter()
        .zip(&early)
        .filter(|(_, e)| matches!(e, Early::Build(_)))
        .map(|((image, _), _)| *image)
        .collect();
    let reports = run.build(to_build).await?;
    if let Err(failed) = all_passed(&reports, ui) {
        write_reports(&reports_to, &reports, &[])?;
        return Err(failed);
    }
    // Ctrl-C is the tool's from the first build on: every phase after it
    // listens too, or an interruption would be lost.
    let preparing = async {
        let mut planned = Vec::new();
        for ((image, target), early) in chosen.iter().zip(early) {
            planned.push(run.plan(image, target, early, &reports).await?);
        }
        Ok::<_, Error>(planned)
    };
    let planned = interruptible(engine, preparing, ctrl_c()).await??;
    if args.dry_run {
        let outcomes: Vec<report::Published> = planned.iter().map(|p| run.planned_outcome(p)).collect();
        return dry_run(outcomes, &reports, &reports_to, ui);
    }
    let pushing = async {
        let mut outcomes = Vec::new();
        let mut lock_now = lock.clone();
        for planned in &planned {
            let mut done = run.carry_out(planned, &chosen, &lock_now).await;
            if done.error.is_none() {
                match lock_now.with_published(&planned.image.key(), &planned.published) {
                    Ok(recorded) => lock_now = recorded,
                    Err(e) => done.error = Some(e.to_string()),
                }
            }
            let failed = done.action == "failed";
            outcomes.push(done);
            if failed {
                break;
            }
        }
        (outcomes, lock_now)
    };
    let (outcomes, lock_now) = interruptible(engine, pushing, ctrl_c()).await?;
    run.finish(outcomes, &lock_now, &reports, &reports_to)
}

impl Run<'_> {
    /// What versions.lock and the registries decide of `image` in
    /// `target` before any build: a recorded version whose tag is absent
    /// is copied from a recorded repository that holds its index; one
    /// whose tag holds another index is refused.
    async fn early(&mut self, image: &'static BaseImage, target: &Target) -> Result<Early, Error> {
        let Some(recorded) = self.lock.get(&image.key()).and_then(|e| e.published.clone()) else {
            return Ok(Early::Build(Vec::new()));
        };
        let remote = &self.remotes[&target.registry];
        match remote.resolve(&target.repository, &target.tag).await.map_err(library)? {
            Some(existing) if existing == recorded.index => Ok(Early::Build(Vec::new())),
            Some(existing) => Ok(Early::Decided(Action::Refuse(
                conflict(target, &existing, &recorded.index).to_string(),
            ))),
            None => match self.source_of(image, &recorded, target).await {
                Ok(from) => Ok(Early::Decided(Action::Copy(from))),
                Err(unread) => Ok(Early::Build(unread)),
            },
        }
    }

    /// A recorded repository other than `target`'s that holds `recorded`'s
    /// index (`registry/path`), or why none could be read.
    async fn source_of(
        &mut self,
        image: &'static BaseImage,
        recorded: &Published,
        target: &Target,
    ) -> Result<String, Vec<String>> {
        let mut unread = Vec::new();
        for address in recorded
            .repositories
            .iter()
            .filter(|a| **a != target.repository_address())
        {
            match self.holds(image, address, &recorded.index).await {
                Ok(true) => return Ok(address.clone()),
                Ok(false) => unread.push(format!("{address} does not hold {}", recorded.index)),
                Err(e) => unread.push(e.to_string()),
            }
        }
        Err(unread)
    }

    /// Whether the repository `address` holds the manifest `digest`.
    async fn holds(&mut self, image: &'static BaseImage, address: &str, digest: &str) -> Result<bool, Error> {
        let at = Target::recorded(image, address)?;
        if !self.remotes.contains_key(&at.registry) {
            let remote = base_images::publish::auth::remote(&at.registry).map_err(library)?;
            self.remotes.insert(at.registry.clone(), remote);
        }
        let source = Source {
            remote: &self.remotes[&at.registry],
            repository: &at.repository,
        };
        source.holds(digest).await.map_err(library)
    }

    /// Builds and checks every platform of `images` (none: nothing to do).
    async fn build(&self, images: Vec<&'static BaseImage>) -> Result<Vec<ImageReport>, Error> {
        let mut images = images;
        images.dedup_by_key(|i| i.key());
        if images.is_empty() {
            return Ok(Vec::new());
        }
        let (args, ui) = (self.args, self.ui);
        let plan = Plan::new(images, None, !args.selectors.is_empty(), ui)?;
        release_policy(self.engine, &plan, self.lock, ui).await?;
        ui.note(&format!(
            "engine: {} ({} version(s) to check on {} before publishing)",
            self.engine.describe(),
            plan.images().len(),
            plan.platforms().join(", ")
        ));
        let options = Options {
            fetcher: args.fetch.fetcher(),
            ..Options::default()
        };
        let reports = build_all(self.engine, &plan, self.lock, &options, args.jobs, args.no_cache, ui).await?;
        ui.summary(&report::table(&reports));
        Ok(reports)
    }

    /// Plans `image` in `target`: what `early` decided, else its documents
    /// made from `reports`' images and compared with the tag and with the
    /// index versions.lock records.
    async fn plan(
        &self,
        image: &'static BaseImage,
        target: &Target,
        early: Early,
        reports: &[ImageReport],
    ) -> Result<Planned, Error> {
        let start = Instant::now();
        let entry = self.lock.get(&image.key());
        let recorded = entry.and_then(|e| e.published.clone());
        let unread = match early {
            Early::Decided(action) => {
                let published = recorded.ok_or_else(|| Error::Usage(format!("{image} is not recorded")))?;
                return Ok(Planned {
                    image,
                    target: target.clone(),
                    published: Published {
                        repositories: vec![target.repository_address()],
                        ..published
                    },
                    prepared: None,
                    action,
                    start,
                });
            }
            Early::Build(unread) => unread,
        };
        let provenance = provenance(self.workspace, entry, self.ui)?;
        let inputs = ReleaseInputs::of(self.lock, image);
        let publication = inputs.publication(target, &provenance);
        let built = built_images(image, reports);
        let mut prepared = publishing::prepare(self.engine, image, &built, publication, &self.store).await?;
        let ours = prepared.index.digest.clone();
        let wanted = recorded.as_ref().map_or(ours.clone(), |r| r.index.clone());
        let remote = &self.remotes[&target.registry];
        let mut action = match remote.resolve(&target.repository, &target.tag).await.map_err(library)? {
            None if wanted == ours => Action::Push,
            None => Action::Refuse(
                PublishError::Diverged {
                    address: target.address(),
                    recorded: wanted.clone(),
                    ours: ours.clone(),
                    unread,
                }
                .to_string(),
            ),
            Some(existing) if existing == wanted => Action::Skip,
            Some(existing) => Action::Refuse(conflict(target, &existing, &ours).to_string()),
        };
        if let (Action::Push, Some(gate)) = (&action, &self.gate) {
            let failing = gate
                .judge(self.engine, image, &mut prepared, publication, self.ui)
                .await?;
            if !failing.is_empty() {
                action = Action::Gated(failing);
            }
        }
        let published = Published {
            index: wanted,
            created: provenance.created.clone(),
            revision: provenance.revision.clone(),
            source: provenance.source.clone(),
            repositories: vec![target.repository_address()],
            layers: reproducible(entry).then(|| REPRODUCIBLE_LAYERS.to_owned()),
        };
        let published = match recorded {
            Some(recorded) => Published {
                repositories: published.repositories,
                ..recorded
            },
            None => published,
        };
        Ok(Planned {
            image,
            target: target.clone(),
            published,
            prepared: Some(prepared),
            action,
            start,
        })
    }

    /// The summary row of `planned` as a dry run ends.
    fn planned_outcome(&self, planned: &Planned) -> report::Published {
        let (action, error) = match &planned.action {
            Action::Push => ("planned", None),
            Action::Copy(_) => ("copy planned", None),
            Action::Skip => ("skipped", None),
            Action::Refuse(why) => ("refused", Some(why.clone())),
            Action::Gated(failing) => (
                "refused",
                self.gate.as_ref().map(|g| g.refusal(&planned.target, failing)),
            ),
        };
        outcome(planned, action, error)
    }

    /// Pushes, copies, tops up or refuses `planned`; its summary row.
    async fn carry_out(
        &self,
        planned: &Planned,
        chosen: &[(&'static BaseImage, Target)],
        lock_now: &Lock,
    ) -> report::Published {
        let Planned {
            image, target, action, ..
        } = planned;
        let total = planned.prepared.as_ref().map_or(0, layer_bytes);
        let (observer, counts) = observe(image, target, total, self.ui);
        let remote = &self.remotes[&target.registry];
        let signer = self.signer.as_ref();
        let mut done = self.planned_outcome(planned);
        let result = match (action, &planned.prepared) {
            (Action::Refuse(_) | Action::Gated(_), _) => Ok(()),
            (Action::Copy(from), _) => {
                done.action = "copied";
                let at = Target::recorded(image, from);
                match at {
                    Ok(at) => {
                        let source = Source {
                            remote: &self.remotes[&at.registry],
                            repository: &at.repository,
                        };
                        let index = &planned.published.index;
                        copy::copy(source, remote, target, index, signer, &observer).await
                    }
                    Err(e) => Err(e),
                }
            }
            (Action::Skip, Some(prepared)) => {
                done.action = "skipped";
                self.ui.note(&format!(
                    "{}: already published as {}",
                    target.address(),
                    planned.published.index
                ));
                self.top_up(planned, prepared, &observer).await
            }
            (Action::Push, Some(prepared)) => {
                done.action = "pushed";
                let mount_from = mount_sources(target, chosen, lock_now);
                let options = PushOptions {
                    mount_from: &mount_from,
                    store: &self.store,
                    signer,
                };
                let mut prepared = prepared.clone();
                let publication_inputs = ReleaseInputs::of(self.lock, image);
                let provenance = provenance_of(&planned.published);
                let publication = publication_inputs.publication(target, &provenance);
                async {
                    if prepared.sboms.is_empty() {
                        publishing::add_sboms(self.engine, image, &mut prepared, publication, None).await?;
                    }
                    publishing::push(self.engine, remote, target, &prepared, options, &observer).await
                }
                .await
            }
            (Action::Skip | Action::Push, None) => Ok(()),
        };
        counts.finish();
        done.blobs = counts.blobs();
        done.bytes = counts.bytes();
        done.sboms = counts.sboms();
        done.duration = planned.start.elapsed();
        if let Err(e) = result {
            done.action = "failed";
            done.error = Some(e.to_string());
        }
        done
    }

    /// Attaches the SBOMs and the signature a version published before
    /// they were made lacks, when this run's images are the recorded ones.
    async fn top_up(
        &self,
        planned: &Planned,
        prepared: &Prepared,
        observer: &publishing::Observer,
    ) -> Result<(), base_images::Error> {
        let Planned { image, target, .. } = planned;
        if prepared.index.digest != planned.published.index {
            self.ui.note(&format!(
                "{}: this build prepares {}, not the published {}; its SBOMs and signature are left as they are",
                target.address(),
                prepared.index.digest,
                planned.published.index
            ));
            return Ok(());
        }
        let remote = &self.remotes[&target.registry];
        let inputs = ReleaseInputs::of(self.lock, image);
        let provenance = provenance_of(&planned.published);
        let publication = inputs.publication(target, &provenance);
        let mut prepared = prepared.clone();
        let missing_in = Some((remote, target.repository.as_str()));
        publishing::add_sboms(self.engine, image, &mut prepared, publication, missing_in).await?;
        publishing::attach_sboms(remote, &target.repository, &prepared, observer).await?;
        if let Some(signer) = &self.signer {
            publishing::sign_index(remote, target, &prepared.index.digest, signer, observer).await?;
        }
        Ok(())
    }

    /// Writes versions.lock and the generated files if `lock_now` differs,
    /// the summary and the reports; the closing message, or the errors.
    fn finish(
        &self,
        outcomes: Vec<report::Published>,
        lock_now: &Lock,
        reports: &[ImageReport],
        reports_to: &[ReportSpec],
    ) -> Result<String, Error> {
        let (workspace, lock) = (self.workspace, self.lock);
        if lock_now != lock {
            lock_now.write(&workspace.lock_path())?;
            crate::generated::write(workspace, &base_images::all(), lock_now)?;
        }
        self.ui.summary(&report::publish_table(&outcomes));
        write_reports(reports_to, reports, &outcomes)?;
        let errors: Vec<String> = outcomes.iter().filter_map(|o| o.error.clone()).collect();
        if !errors.is_empty() {
            return Err(Error::Publish(errors));
        }
        let count = |action: &str| outcomes.iter().filter(|o| o.action == action).count();
        let sboms: usize = outcomes.iter().map(|o| o.sboms).sum();
        Ok(format!(
            "{} version(s) pushed, {} copied, {} already published; {sboms} SBOM(s) attached; {}",
            count("pushed"),
            count("copied"),
            count("skipped"),
            if lock_now != lock {
                format!("recorded in {}", workspace.lock_path().display())
            } else {
                "versions.lock already records them".to_owned()
            }
        ))
    }
}

/// Ends a dry run: the summary, the reports, and the refusals as errors.
fn dry_run(
    outcomes: Vec<report::Published>,
    reports: &[ImageReport],
    reports_to: &[ReportSpec],
    ui: &Ui,
) -> Result<String, Error> {
    ui.summary(&report::publish_table(&outcomes));
    write_reports(reports_to, reports, &outcomes)?;
    let refused = outcomes.iter().filter(|o| !o.ok()).count();
    let count = |action: &str| outcomes.iter().filter(|o| o.action == action).count();
    let (pushes, copies) = (count("planned"), count("copy planned"));
    let message = format!(
        "dry run: {pushes} version(s) to push, {copies} to copy, {} already published, {refused} refused; nothing was pushed or written",
        outcomes.len() - pushes - copies - refused
    );
    if refused > 0 {
        Err(Error::Publish(outcomes.into_iter().filter_map(|o| o.error).collect()))
    } else {
        Ok(message)
    }
}

/// Every registry of `chosen`, each answering and taking its credentials.
async fn connect(chosen: &[(&'static BaseImage, Target)]) -> Result<BTreeMap<String, Remote>, Error> {
    let mut remotes: BTreeMap<String, Remote> = BTreeMap::new();
    for (_, target) in chosen {
        if remotes.contains_key(&target.registry) {
            continue;
        }
        let remote = base_images::publish::auth::remote(&target.registry).map_err(library)?;
        remote.sign_in(&target.repository).await.map_err(library)?;
        remote.resolve(&target.repository, &target.tag).await.map_err(library)?;
        remotes.insert(target.registry.clone(), remote);
    }
    Ok(remotes)
}

/// The bytes of `prepared`'s layers.
fn layer_bytes(prepared: &Prepared) -> u64 {
    prepared
        .images
        .iter()
        .flat_map(|(i, _)| i.layers.iter().map(|l| l.size))
        .sum()
}

/// The provenance `published` records.
fn provenance_of(published: &Published) -> Provenance {
    Provenance {
        created: published.created.clone(),
        revision: published.revision.clone(),
        source: published.source.clone(),
    }
}

/// Completes at the next Ctrl-C.
async fn ctrl_c() {
    let _ = tokio::signal::ctrl_c().await;
}

pub(crate) fn library(e: PublishError) -> Error {
    Error::Library(base_images::Error::Publish(Box::new(e)))
}

/// The refusal of a push to `target`, whose tag points at `existing`.
fn conflict(target: &Target, existing: &str, ours: &str) -> PublishError {
    PublishError::TagConflict {
        address: target.address(),
        existing: existing.to_owned(),
        ours: ours.to_owned(),
    }
}

/// The summary row of `planned`, ending as `action` with `error`.
fn outcome(planned: &Planned, action: &'static str, error: Option<String>) -> report::Published {
    report::Published {
        key: planned.image.key(),
        address: planned.target.address(),
        digest: Some(planned.published.index.clone()),
        action,
        blobs: (0, 0, 0),
        bytes: 0,
        sboms: 0,
        error,
        duration: planned.start.elapsed(),
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
/// repository, once per repository it goes to. A named version that is not released
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
        let targets = Target::all(image, args.registry_override.as_deref())?;
        if targets.is_empty() {
            no_repository.insert(image.family());
        }
        chosen.extend(targets.into_iter().map(|target| (image, target)));
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
