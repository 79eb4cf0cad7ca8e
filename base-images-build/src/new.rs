//! `new`: the next version of a family. Computes the version from the
//! family's highest one, refuses while that one is not released (locked),
//! and appends a skeleton (the annotated function, parented on it, and an
//! empty checks function) to the file that declares it, atomically. Existing
//! code is never touched.

use std::path::{Path, PathBuf};

use base_images::{BaseImage, Lock, Version};
use semver::{Prerelease, Version as Semver};

use base_images::fetch::Fetcher;
use base_images::outdated::State;

use crate::cli::{AdvisoryArgs, Bump};
use crate::{Error, Ui, Workspace};

mod code;
mod refresh;

use code::skeleton;

/// The version after `latest` for `bump`.
pub fn next_version(latest: &Semver, bump: Bump) -> Result<Semver, Error> {
    let mut next = Semver::new(latest.major, latest.minor, latest.patch);
    let released = latest.pre.is_empty();
    match bump {
        Bump::Major => next = Semver::new(latest.major + 1, 0, 0),
        Bump::Minor => next = Semver::new(latest.major, latest.minor + 1, 0),
        Bump::Patch if released => next.patch += 1,
        // 2.0.0-rc.1 is not released yet: its patch release is 2.0.0.
        Bump::Patch => {}
        Bump::Prerelease if released => {
            next.patch += 1;
            next.pre = pre("rc.1")?;
        }
        Bump::Prerelease => next.pre = pre(&bump_pre(latest.pre.as_str()))?,
        Bump::Release if released => {
            return Err(Error::Usage(format!(
                "{latest} is already a release; `release` finishes a pre-release (2.0.0-rc.2 -> 2.0.0): use patch, minor or major"
            )))
        }
        Bump::Release => {}
    }
    Ok(next)
}

fn pre(text: &str) -> Result<Prerelease, Error> {
    Prerelease::new(text).map_err(|e| Error::Usage(format!("pre-release `{text}`: {e}")))
}

/// `rc.1` -> `rc.2`; `beta` -> `beta.1`.
fn bump_pre(pre: &str) -> String {
    let mut parts: Vec<String> = pre.split('.').map(str::to_owned).collect();
    match parts.last().and_then(|p| p.parse::<u64>().ok()) {
        Some(n) => {
            if let Some(last) = parts.last_mut() {
                *last = (n + 1).to_string();
            }
        }
        None => parts.push("1".into()),
    }
    parts.join(".")
}

/// The file that declares `image`, which `new` appends to: it must be in
/// the workspace. A family declared in a dependency has a `file!()` path
/// into cargo's registry (or another checkout), which is never edited.
pub(crate) fn declaring_file(root: &Path, image: &BaseImage) -> Result<PathBuf, Error> {
    let path = root.join(image.location().file);
    let inside = match (root.canonicalize(), path.canonicalize()) {
        (Ok(root), Ok(file)) => file.starts_with(root),
        // A relative path that does not resolve is reported when it is read.
        _ => !Path::new(image.location().file).is_absolute(),
    };
    if inside {
        Ok(path)
    } else {
        Err(Error::Usage(format!(
            "{} is declared in {}, outside this workspace ({}): `new` never edits a dependency's sources; \
             declare the next version in the crate that owns the family, or run `new` from its workspace",
            image.key(),
            path.display(),
            root.display()
        )))
    }
}

/// The latest version of `family`, which must be released.
fn released_latest(lock: &Lock, family: &str) -> Result<&'static BaseImage, Error> {
    let versions = base_images::registry::versions_of(family);
    let Some(latest) = versions.last().copied() else {
        let families = base_images::families();
        return Err(Error::Usage(format!(
            "no family `{family}`; families are {}",
            families.join(", ")
        )));
    };
    if lock.get(&latest.key()).is_none() {
        return Err(Error::Usage(format!(
            "{} is not released yet (not in versions.lock): build it first (`base-images-build build {}`), or edit it instead of adding a version",
            latest.key(),
            latest.key()
        )));
    }
    Ok(latest)
}

/// Refuses a changelog line that is empty or not one line (`what` names
/// where it came from).
fn check_changelog(changelog: &str, what: &str) -> Result<(), Error> {
    if changelog.trim().is_empty() || changelog.contains(['\n', '\r']) {
        return Err(Error::Usage(format!(
            "{what} must be one non-empty line: {changelog:?}"
        )));
    }
    Ok(())
}

/// Appends `code` to the file that declares `latest`; returns that file.
fn append(workspace: &Workspace, latest: &BaseImage, code: &str) -> Result<PathBuf, Error> {
    let path = declaring_file(workspace.root(), latest)?;
    let source = std::fs::read_to_string(&path).map_err(|e| {
        Error::Workspace(format!(
            "{} declares {} ({}), but cannot be read: {e}; run from the workspace root or pass --root",
            path.display(),
            latest.key(),
            latest.location()
        ))
    })?;
    base_images::fsio::write_atomic(&path, format!("{}\n{}", source.trim_end(), code).as_bytes())?;
    Ok(path)
}

/// Runs `new`; returns what to do next.
pub(crate) fn new_version(
    workspace: &Workspace,
    lock: &Lock,
    family: &str,
    bump: Bump,
    changelog: Option<&str>,
) -> Result<String, Error> {
    let latest = released_latest(lock, family)?;
    let next = next_version(&latest.version().to_semver(), bump)?;
    let name = Version::fn_name_for(&next);
    let changelog = changelog.unwrap_or("TODO: say in one line what this version changes.");
    check_changelog(changelog, "--changelog")?;
    let path = append(workspace, latest, &skeleton(&next, latest, changelog))?;
    Ok(format!(
        "added {family}:{next} (parent {}) to {}\nnext: add its steps to `fn {}`, its checks to `fn {}_checks`, {}then run `base-images-build build {family}:{next}`",
        latest.version_str(),
        path.display(),
        name,
        name,
        if changelog.starts_with("TODO") { "write its changelog line, " } else { "" }
    ))
}

/// Runs `new --refresh`: the next version rebased on the latest's moved
/// roots, upgrading the packages whose advisories have a fix (the latest
/// audited against `advisories`; when it is not published, built on the
/// local engine with its inputs from `fetcher`).
pub(crate) async fn refresh_version(
    workspace: &Workspace,
    lock: &Lock,
    family: &str,
    bump: Bump,
    changelog: Option<&str>,
    (advisories, fetcher): (&AdvisoryArgs, &Fetcher),
    ui: &Ui,
) -> Result<String, Error> {
    let latest = released_latest(lock, family)?;
    let next = next_version(&latest.version().to_semver(), bump)?;
    let roots = base_images::outdated::check(latest).await?;
    let unresolved: Vec<String> = roots
        .iter()
        .filter_map(|c| match &c.state {
            State::Unresolved(why) => Some(format!("{}: {why}", c.tag_address)),
            _ => None,
        })
        .collect();
    if !unresolved.is_empty() {
        return Err(Error::Roots {
            what: "could not be resolved; nothing was written".into(),
            roots: unresolved,
        });
    }
    for gone in roots.iter().filter(|c| c.state == State::TagGone) {
        ui.note(&format!(
            "warning: the tag {} of {}'s root is gone: it cannot be refreshed; pin another tag by hand",
            gone.tag_address,
            latest.key()
        ));
    }
    let sources = advisories.sources();
    let fixes = if sources.is_empty() {
        ui.note("no advisories given (--advisories PATH or BASE_IMAGES_ADVISORIES): only the roots were compared");
        Vec::new()
    } else {
        crate::audit::fixable(workspace, latest, &sources, fetcher, ui).await?
    };
    let recipe = latest.recipe()?;
    let refresh = refresh::Refresh::new(&recipe, &roots, &fixes)?;
    if refresh.is_empty() {
        return Err(Error::Usage(format!(
            "nothing to refresh in {}: no root moved{}; `new {family} patch` adds a version for other changes",
            latest.key(),
            if sources.is_empty() {
                ""
            } else {
                " and no finding has a fix"
            }
        )));
    }
    let (changelog, what) = match changelog {
        Some(given) => (given.to_owned(), "--changelog"),
        None => (refresh.changelog(), "the changelog line written for the refresh"),
    };
    check_changelog(&changelog, what)?;
    let path = append(workspace, latest, &refresh.code(&next, latest, &changelog))?;
    Ok(format!(
        "added {family}:{next} (parent {}) to {}: {changelog}\nnext: run `base-images-build build {family}:{next}` (its checks are inherited), then `audit {family}:{next}`",
        latest.version_str(),
        path.display(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn next(from: &str, bump: Bump) -> String {
        next_version(&Semver::parse(from).unwrap(), bump)
            .map(|v| v.to_string())
            .unwrap_or_else(|e| e.to_string())
    }

    fn declared_in(file: &'static str) -> BaseImage {
        BaseImage::__declare(base_images::__private::Declaration::example("dep-family", &[], file))
    }

    #[test]
    fn a_family_declared_outside_the_workspace_is_never_edited() {
        let root = std::env::temp_dir();
        let image = declared_in("/root/.cargo/registry/src/index-0000/dep-family-1.0.0/src/lib.rs");
        let err = declaring_file(&root, &image)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.contains("dep-family:1.0.0 is declared in /root/.cargo/registry/src/")
                && err.contains("outside this workspace")
                && err.contains("never edits a dependency's sources"),
            "{err:?}"
        );
        let local = declared_in("src/lib.rs");
        assert_eq!(declaring_file(&root, &local).ok(), Some(root.join("src/lib.rs")));
    }

    #[test]
    fn bumps() {
        assert_eq!(next("1.2.3", Bump::Patch), "1.2.4");
        assert_eq!(next("1.2.3", Bump::Minor), "1.3.0");
        assert_eq!(next("1.2.3", Bump::Major), "2.0.0");
        assert_eq!(next("1.2.3", Bump::Prerelease), "1.2.4-rc.1");
        assert_eq!(next("2.0.0-rc.1", Bump::Prerelease), "2.0.0-rc.2");
        assert_eq!(next("2.0.0-beta", Bump::Prerelease), "2.0.0-beta.1");
        assert_eq!(next("2.0.0-rc.2", Bump::Release), "2.0.0");
        assert_eq!(next("2.0.0-rc.2", Bump::Patch), "2.0.0");
        assert_eq!(next("2.0.0-rc.2", Bump::Minor), "2.1.0");
        assert!(next("2.0.0", Bump::Release).contains("already a release"));
    }
}
