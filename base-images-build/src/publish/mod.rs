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

mod action;
mod gate;
mod inputs;
mod progress;
mod targets;

use std::collections::BTreeMap;
use std::time::Instant;

use base_images::engine::builders::Builders;
use base_images::engine::docker::DockerEngine;
use base_images::engine::pipeline::{interruptible, ImageReport, Options};
use base_images::lock::{Lock, Published};
use base_images::publish::copy::{self, Source};
use base_images::publish::layers::LayerStore;
use base_images::publish::remote::Remote;
use base_images::publish::sign::Signer;
use base_images::publish::{self as publishing, Prepared, PublishError, PushOptions, Target};
use base_images::BaseImage;

use crate::build::{all_passed, build_all, release_policy, report_specs, write_reports, ReportSpec};
use crate::cli::PublishArgs;
use crate::plan::Plan;
use crate::{report, select, Error, Ui, Workspace};
use action::{conflict, Action, Early, Planned};
use gate::Gate;
pub(crate) use inputs::provenance;
use inputs::{provenance_of, record_of, ReleaseInputs};
use progress::observe;
pub(crate) use targets::check_host;
use targets::{mount_sources, released_with_targets};

/// What a run shares between its phases.
struct Run<'a> {
    workspace: &'a Workspace,
    args: &'a PublishArgs,
    ui: &'a Ui,
    builders: &'a Builders<DockerEngine>,
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
    let _claim = workspace.claim()?;
    let lock = &workspace.lock()?;
    let chosen = released_with_targets(selected, lock, args, ui)?;
    let fleet = crate::fleet::Fleet::of(workspace, &args.fleet, ui)?;
    let builders = &connect_builders(&fleet, args, &chosen).await?;
    let mut run = Run {
        workspace,
        args,
        ui,
        builders,
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
    let planned = interruptible(builders.cleanup(), run.plan_all(&chosen, early, &reports), ctrl_c()).await??;
    if args.dry_run {
        let outcomes: Vec<report::Published> = planned.iter().map(|p| run.planned_outcome(p)).collect();
        return dry_run(outcomes, &reports, &reports_to, ui);
    }
    let (outcomes, lock_now) =
        interruptible(builders.cleanup(), run.carry_out_all(&planned, &chosen), ctrl_c()).await?;
    run.finish(outcomes, &lock_now, &reports, &reports_to)
}

/// The builders of every platform of the `chosen` versions.
async fn connect_builders(
    fleet: &crate::fleet::Fleet,
    args: &PublishArgs,
    chosen: &[(&'static BaseImage, Target)],
) -> Result<Builders<DockerEngine>, Error> {
    let mut platforms: Vec<&'static str> = chosen.iter().flat_map(|(i, _)| i.platforms().iter().copied()).collect();
    platforms.sort_unstable();
    platforms.dedup();
    fleet.connect(&platforms, args.rebuild).await
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
        release_policy(self.builders, &plan, self.lock, ui).await?;
        ui.note(&format!(
            "engine: {} ({} version(s) to check on {} before publishing)",
            self.builders.describe(),
            plan.images().len(),
            plan.platforms().join(", ")
        ));
        // A release's checks run here: no pass is taken from a shared
        // cache (whoever writes to it could skip them).
        let options = Options {
            fetcher: args.fetch.fetcher(),
            ..Options::default()
        };
        let reports = build_all(self.builders, &plan, self.lock, &options, args.jobs, args.no_cache, ui).await?;
        ui.summary(&report::table(&reports));
        Ok(reports)
    }

    /// Plans each of `chosen` from what `early` decided of it and the
    /// images of `reports`, the layers of every version to build
    /// exported and compressed first (each once).
    async fn plan_all(
        &self,
        chosen: &[(&'static BaseImage, Target)],
        early: Vec<Early>,
        reports: &[ImageReport],
    ) -> Result<Vec<Planned>, Error> {
        let mut inputs = Vec::new();
        for ((image, _), early) in chosen.iter().zip(&early) {
            inputs.push(match early {
                Early::Decided(_) => None,
                Early::Build(_) => Some(self.inputs(image, reports)?),
            });
        }
        let versions: Vec<publishing::Version> = chosen
            .iter()
            .zip(&inputs)
            .filter_map(|((image, target), inputs)| {
                let inputs = inputs.as_ref()?;
                let publication = inputs.release.publication(target, &inputs.provenance);
                Some((*image, inputs.built.as_slice(), publication))
            })
            .collect();
        publishing::fill_store(self.builders, &versions, &self.store).await?;
        let mut planned = Vec::new();
        for (((image, target), early), inputs) in chosen.iter().zip(early).zip(inputs) {
            let start = Instant::now();
            let recorded = self.lock.get(&image.key()).and_then(|e| e.published.clone());
            planned.push(match early {
                Early::Decided(action) => Planned::decided(image, target, recorded, action, start)?,
                Early::Build(unread) => {
                    let inputs = match inputs {
                        Some(inputs) => inputs,
                        None => self.inputs(image, reports)?,
                    };
                    self.plan(image, target, unread, inputs, start).await?
                }
            });
        }
        Ok(planned)
    }

    /// What publishing `image` takes: its provenance (read once: a
    /// version never released has none recorded), its release inputs and
    /// its built images in `reports`.
    fn inputs(&self, image: &'static BaseImage, reports: &[ImageReport]) -> Result<PlanInputs, Error> {
        let entry = self.lock.get(&image.key());
        Ok(PlanInputs {
            provenance: provenance(self.workspace, entry, self.ui)?,
            release: ReleaseInputs::of(self.lock, image),
            built: built_images(image, reports),
        })
    }

    /// Plans `image` in `target` from `inputs`: its documents compared
    /// with the tag and with the index versions.lock records (`unread`:
    /// the recorded repositories that could not be read).
    async fn plan(
        &self,
        image: &'static BaseImage,
        target: &Target,
        unread: Vec<String>,
        inputs: PlanInputs,
        start: Instant,
    ) -> Result<Planned, Error> {
        let entry = self.lock.get(&image.key());
        let recorded = entry.and_then(|e| e.published.clone());
        let PlanInputs {
            provenance,
            release,
            built,
        } = inputs;
        let publication = release.publication(target, &provenance);
        let mut prepared = publishing::prepare(self.builders, image, &built, publication, &self.store).await?;
        let ours = prepared.index.digest.clone();
        let wanted = recorded.as_ref().map_or(ours.clone(), |r| r.index.clone());
        let remote = &self.remotes[&target.registry];
        let resolved = remote.resolve(&target.repository, &target.tag).await.map_err(library)?;
        let mut action = Action::of(target, resolved, &wanted, &ours, unread);
        if let (Action::Push, Some(gate)) = (&action, &self.gate) {
            let failing = gate
                .judge(self.builders, image, &mut prepared, publication, self.ui)
                .await?;
            if !failing.is_empty() {
                action = Action::Gated(failing);
            }
        }
        Ok(Planned {
            image,
            target: target.clone(),
            published: record_of(entry, target, &provenance, wanted),
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
        planned.outcome(action, error)
    }

    /// Carries out each of `planned` in turn, recording each that is done
    /// in a copy of versions.lock, until one fails; their summary rows and
    /// that copy.
    async fn carry_out_all(
        &self,
        planned: &[Planned],
        chosen: &[(&'static BaseImage, Target)],
    ) -> (Vec<report::Published>, Lock) {
        let mut outcomes = Vec::new();
        let mut lock_now = self.lock.clone();
        for planned in planned {
            let mut done = self.carry_out(planned, chosen, &lock_now).await;
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
        let mut done = self.planned_outcome(planned);
        let result = match (action, &planned.prepared) {
            (Action::Refuse(_) | Action::Gated(_), _) => Ok(()),
            (Action::Copy(from), _) => {
                done.action = "copied";
                self.copy(planned, from, &observer).await
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
                self.push(planned, prepared, &mount_from, &observer).await
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

    /// Copies `planned` from the recorded repository `from` (`registry/path`).
    async fn copy(
        &self,
        planned: &Planned,
        from: &str,
        observer: &publishing::Observer,
    ) -> Result<(), base_images::Error> {
        let Planned { image, target, .. } = planned;
        let at = Target::recorded(image, from)?;
        let source = Source {
            remote: &self.remotes[&at.registry],
            repository: &at.repository,
        };
        let remote = &self.remotes[&target.registry];
        let index = &planned.published.index;
        copy::copy(source, remote, target, index, self.signer.as_ref(), observer).await
    }

    /// Pushes `planned` (its `prepared` documents, with its SBOMs made
    /// first when the gate did not), mounting blobs from `mount_from`.
    async fn push(
        &self,
        planned: &Planned,
        prepared: &Prepared,
        mount_from: &[String],
        observer: &publishing::Observer,
    ) -> Result<(), base_images::Error> {
        let Planned { image, target, .. } = planned;
        let options = PushOptions {
            mount_from,
            store: &self.store,
            signer: self.signer.as_ref(),
        };
        let mut prepared = prepared.clone();
        let publication_inputs = ReleaseInputs::of(self.lock, image);
        let provenance = provenance_of(&planned.published);
        let publication = publication_inputs.publication(target, &provenance);
        if prepared.sboms.is_empty() {
            publishing::add_sboms(self.builders, image, &mut prepared, publication, None).await?;
        }
        let remote = &self.remotes[&target.registry];
        publishing::push(self.builders, remote, target, &prepared, options, observer).await
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
        publishing::add_sboms(self.builders, image, &mut prepared, publication, missing_in).await?;
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

/// What planning one version to build takes.
struct PlanInputs {
    /// Its `created`, revision and source.
    provenance: base_images::publish::Provenance,
    /// What versions.lock records of it.
    release: ReleaseInputs,
    /// Its built images: (platform, engine image id).
    built: Vec<(String, String)>,
}

/// The bytes of `prepared`'s layers.
fn layer_bytes(prepared: &Prepared) -> u64 {
    prepared
        .images
        .iter()
        .flat_map(|(i, _)| i.layers.iter().map(|l| l.size))
        .sum()
}

/// Completes at the next Ctrl-C.
async fn ctrl_c() {
    let _ = tokio::signal::ctrl_c().await;
}

/// `e` as the tool's error.
pub(crate) fn library(e: PublishError) -> Error {
    Error::Library(base_images::Error::Publish(Box::new(e)))
}

/// Each platform's built image id of `image`.
fn built_images(image: &BaseImage, reports: &[ImageReport]) -> Vec<(String, String)> {
    reports
        .iter()
        .filter(|r| r.key == image.key())
        .filter_map(|r| r.image.as_ref().map(|i| (r.platform.clone(), i.id.clone())))
        .collect()
}
