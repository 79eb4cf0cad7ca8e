//! Which versions a publish run takes, and where they go: the selected
//! versions that are released, once per repository their family declares
//! (on the registry `--registry-override` names, whose form is checked),
//! and the repositories of a registry a push may mount blobs from.

use std::collections::BTreeSet;

use base_images::lock::{Lock, ReleaseProblem};
use base_images::publish::remote::is_loopback;
use base_images::publish::Target;
use base_images::BaseImage;

use crate::cli::PublishArgs;
use crate::{Error, Ui};

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
pub(super) fn released_with_targets(
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

/// Repositories of `target`'s registry that may hold its blobs: those of
/// the families published in this run and those versions.lock records.
pub(super) fn mount_sources(target: &Target, chosen: &[(&'static BaseImage, Target)], lock: &Lock) -> Vec<String> {
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
