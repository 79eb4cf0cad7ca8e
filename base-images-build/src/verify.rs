//! `verify KEY`: a published version checked against its declaration and
//! versions.lock, in each repository its family declares, from the
//! registry plus the engine. The registry part
//! (tag, platforms, annotations, SBOM referrers, with `--key` the
//! signature) is the library's `publish::verify`; then each platform image is pulled by digest and
//! the version's whole check set runs on it; the images it pulled are
//! removed when it ends (interrupted too), unless `--keep`. Every difference is printed
//! and named in the error (exit 1); a version that is not published is a
//! usage error (exit 2).

use std::sync::{Mutex, PoisonError};

use base_images::checks::{ResultCache, Status};
use base_images::engine::docker::DockerEngine;
use base_images::engine::pipeline::{check_built, interruptible};
use base_images::engine::BuiltImage;
use base_images::engine::Engine as _;
use base_images::lock::LockEntry;
use base_images::publish::remote::Remote;
use base_images::publish::sign::Verifier;
use base_images::publish::verify::{Key, Verified};
use base_images::publish::{auth, verify as verifying, Target};
use base_images::BaseImage;

use crate::cli::VerifyArgs;
use crate::{Error, Ui, Workspace};

/// The names verify pulled (to remove), and those the engine held before.
type Pulled = Mutex<(Vec<String>, Vec<String>)>;

/// Runs `verify`; returns the closing message.
pub(crate) async fn verify(workspace: &Workspace, args: &VerifyArgs, ui: &Ui) -> Result<String, Error> {
    let image: &BaseImage = base_images::get(&args.image)?;
    let key = image.key();
    let lock = workspace.lock()?;
    let entry = lock
        .get(&key)
        .filter(|e| e.published.is_some())
        .ok_or_else(|| {
            Error::Usage(format!(
                "{key} is not published: versions.lock records no published index for it; publish it first (`publish {key}`)"
            ))
        })?;
    let Registries {
        target,
        remote,
        mirrors,
    } = registries(image, args)?;
    let verifier = match &args.key {
        Some(path) => Some(Verifier::from_file(path).map_err(|e| Error::Usage(e.to_string()))?),
        None => None,
    };
    let key_name = args.key.as_ref().map(|p| p.display().to_string()).unwrap_or_default();
    let signed_by = verifier.as_ref().map(|verifier| Key {
        verifier,
        name: &key_name,
    });
    let sources = args.advisories.sources();
    let advisories = if sources.is_empty() {
        None
    } else {
        Some(crate::judge::load_advisories(&sources, ui)?)
    };
    let engine = &DockerEngine::connect().await?;

    let pulled: Pulled = Mutex::new((Vec::new(), Vec::new()));
    let work = async {
        let mut found = verify_registries(&remote, &target, &mirrors, image, entry, signed_by).await?;
        check_pulled(engine, image, &target, &mut found, &pulled, ui).await?;
        Ok::<_, Error>(found)
    };
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let found = interruptible(engine.cleanup(), work, interrupt).await;
    let (pulled, held) = pulled.into_inner().unwrap_or_else(PoisonError::into_inner);
    let_go(engine, &pulled, &held, args.keep, ui).await;
    let found = found??;
    let examined = Examined {
        image,
        entry,
        target: &target,
        mirrors: &mirrors,
    };
    conclude(examined, found, advisories.as_ref(), ui).await
}

/// Where a version is verified: the first repository its family declares
/// and its registry, then every other one with its registry.
struct Registries {
    target: Target,
    remote: Remote,
    mirrors: Vec<(Remote, Target)>,
}

/// The repositories `image`'s family declares (on the override, if given)
/// and their registries.
fn registries(image: &BaseImage, args: &VerifyArgs) -> Result<Registries, Error> {
    if let Some(host) = &args.registry_override {
        crate::publish::check_host(host)?;
    }
    let mut targets = Target::all(image, args.registry_override.as_deref())?.into_iter();
    let target = targets.next().ok_or_else(|| {
        Error::Usage(format!(
            "{}: its family declares no repository, so it is never published",
            image.key()
        ))
    })?;
    let remote = auth::remote(&target.registry).map_err(crate::publish::library)?;
    let mirrors = targets
        .map(|t| Ok((auth::remote(&t.registry).map_err(crate::publish::library)?, t)))
        .collect::<Result<Vec<_>, Error>>()?;
    Ok(Registries {
        target,
        remote,
        mirrors,
    })
}

/// The registry's part of the verify: at `target`, then at each of the
/// `mirrors`, whose findings are named by their repository.
async fn verify_registries(
    remote: &Remote,
    target: &Target,
    mirrors: &[(Remote, Target)],
    image: &BaseImage,
    entry: &LockEntry,
    signed_by: Option<Key<'_>>,
) -> Result<Verified, Error> {
    let mut found = verifying::verify(remote, target, image, entry, signed_by).await?;
    // Every other repository: the registry's part; the images are the
    // same digests, so the checks run once, on those pulled from the first.
    for (mirror, at) in mirrors {
        let named = |line: String| format!("{}: {line}", at.repository_address());
        match verifying::verify(mirror, at, image, entry, signed_by).await {
            Ok(there) => {
                found.held.extend(there.held.into_iter().map(named));
                found.differences.extend(there.differences.into_iter().map(named));
            }
            Err(e) => found.differences.push(named(e.to_string())),
        }
    }
    Ok(found)
}

/// Pulls each declared platform image `found` lists from `target`'s
/// repository by digest and runs the version's checks on it, noting in
/// `found` what held and what failed; the names pulled go to `pulled`.
async fn check_pulled(
    engine: &DockerEngine,
    image: &BaseImage,
    target: &Target,
    found: &mut Verified,
    pulled: &Pulled,
    ui: &Ui,
) -> Result<(), Error> {
    let mut cache = ResultCache::open(&ResultCache::default_dir()?);
    for (platform, digest) in found.platforms.clone() {
        if !image.platforms().contains(&platform.as_str()) {
            continue;
        }
        let address = format!("{}@{digest}", target.repository_address());
        let held_before = engine.has_image(&address).await;
        let id = match engine.pull(&address, &platform).await {
            Ok(id) => id,
            Err(e) => {
                found.differences.push(format!("{platform}: {e}"));
                continue;
            }
        };
        {
            let mut names = pulled.lock().unwrap_or_else(PoisonError::into_inner);
            let (ours, held) = &mut *names;
            if held_before { held } else { ours }.push(address);
        }
        check_platform(engine, image, &platform, id, &mut cache, found).await?;
    }
    if let Err(e) = cache.save() {
        ui.note(&format!("warning: the check result cache was not saved: {e}"));
    }
    Ok(())
}

/// Runs `image`'s checks for `platform` on the pulled image `id`, noting
/// in `found` that all pass or each that failed.
async fn check_platform(
    engine: &DockerEngine,
    image: &BaseImage,
    platform: &str,
    id: String,
    cache: &mut ResultCache,
    found: &mut Verified,
) -> Result<(), Error> {
    let pulled = BuiltImage {
        id,
        steps_built: 0,
        steps_cached: 0,
    };
    let reports = check_built(engine, image, platform, &pulled, cache).await?;
    let failed: Vec<String> = reports
        .iter()
        .filter(|r| !r.status.is_pass())
        .map(|r| {
            let why = match &r.status {
                Status::Failed(f) => f.reason.clone(),
                Status::TimedOut(limit) => format!("timed out after {limit:?}"),
                Status::Passed | Status::Cached => String::new(),
            };
            format!("{platform}: check `{}` failed: {why}", r.check.check.id)
        })
        .collect();
    if failed.is_empty() {
        found.held.push(format!(
            "{platform}: all {} check(s) pass on the pulled image",
            reports.len()
        ));
    }
    found.differences.extend(failed);
    Ok(())
}

/// The published version verified: where, and as what it was recorded.
#[derive(Clone, Copy)]
struct Examined<'a> {
    image: &'a BaseImage,
    entry: &'a LockEntry,
    target: &'a Target,
    mirrors: &'a [(Remote, Target)],
}

/// Prints what held and what differs (and, with advisories, the audit of
/// the published SBOMs); the closing message, or the differences as the
/// error.
async fn conclude(
    examined: Examined<'_>,
    found: Verified,
    advisories: Option<&base_images::advisory::Database>,
    ui: &Ui,
) -> Result<String, Error> {
    let Examined {
        image,
        entry,
        target,
        mirrors,
    } = examined;
    for line in &found.held {
        ui.note(&format!("ok    {line}"));
    }
    for line in &found.differences {
        ui.note(&format!("FAIL  {line}"));
    }
    if let Some(database) = advisories {
        let index = entry.published.as_ref().map(|p| p.index.as_str()).unwrap_or_default();
        match audit_lines(image, target, index, database).await {
            Ok(lines) => lines.iter().for_each(|line| ui.note(line)),
            Err(e) => ui.note(&format!("audit: the published SBOMs could not be audited: {e}")),
        }
    }
    if found.differences.is_empty() {
        let also: String = mirrors.iter().map(|(_, t)| format!(" and {}", t.address())).collect();
        Ok(format!(
            "{} verified at {}{also}: {} platform(s), tag, annotations, SBOMs and checks as released",
            image.key(),
            target.address(),
            found.platforms.len()
        ))
    } else {
        Err(Error::Verify {
            address: target.address(),
            differences: found.differences,
        })
    }
}

/// Removes the images verify pulled (`pulled`), or with `keep` says it
/// keeps them; those the engine `held` before are left, and said to be.
async fn let_go(engine: &DockerEngine, pulled: &[String], held: &[String], keep: bool, ui: &Ui) {
    if !held.is_empty() {
        ui.note(&format!(
            "left in the engine (it held them before verify): {}",
            held.join(", ")
        ));
    }
    if keep {
        if !pulled.is_empty() {
            ui.note(&format!("kept the pulled image(s) (--keep): {}", pulled.join(", ")));
        }
        return;
    }
    let mut removed = Vec::new();
    for address in pulled {
        match engine.remove_image(address).await {
            Ok(()) => removed.push(address.as_str()),
            Err(e) => ui.note(&format!("warning: the pulled image {address} was not removed: {e}")),
        }
    }
    if !removed.is_empty() {
        ui.note(&format!(
            "removed the pulled image(s) (keep them with --keep): {}",
            removed.join(", ")
        ));
    }
}

/// The audit of the SBOMs published with `image` (reported, never a
/// difference: a vulnerability found later does not change the release).
async fn audit_lines(
    image: &BaseImage,
    target: &Target,
    index: &str,
    database: &base_images::advisory::Database,
) -> Result<Vec<String>, Error> {
    let mut lines = Vec::new();
    for (platform, from, document) in crate::audit::published_sboms(target, index).await? {
        let subject = crate::judge::subject_of(image, &platform, from, &document, database)?;
        let findings = crate::judge::finding_lines(&subject);
        let fixable = subject.audited.findings.iter().filter(|f| f.fixed.is_some()).count();
        lines.push(format!(
            "audit {platform}: {} finding(s) against {} advisory record(s), {fixable} with a fix",
            findings.len(),
            database.len()
        ));
        lines.extend(findings.into_iter().map(|f| format!("audit   {f}")));
    }
    Ok(lines)
}
