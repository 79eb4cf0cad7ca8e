//! The files the tool generates from the declarations and the lock:
//! CHANGELOG.md, and the catalog section of README.md when the README has
//! one. `write` replaces them atomically; `stale` says which differs, with
//! a diff, for `check`.

use std::path::PathBuf;

use base_images::{changelog, fsio, BaseImage, Lock};

use crate::{Error, Workspace};

/// Each generated file with what it should hold (README only with markers).
fn expected(workspace: &Workspace, images: &[&BaseImage], lock: &Lock) -> Result<Vec<(PathBuf, String)>, Error> {
    let mut files = vec![(workspace.changelog_path(), changelog::render(images, lock))];
    let readme = workspace.root().join("README.md");
    if let Some(text) = fsio::read_optional(&readme)? {
        if let Some(updated) = changelog::readme_with_catalog(&text, images, lock) {
            files.push((readme, updated));
        }
    }
    Ok(files)
}

/// Rewrites every generated file that changed; returns their paths.
pub(crate) fn write(workspace: &Workspace, images: &[&BaseImage], lock: &Lock) -> Result<Vec<PathBuf>, Error> {
    let mut written = Vec::new();
    for (path, text) in expected(workspace, images, lock)? {
        if fsio::read_optional(&path)?.as_deref() != Some(text.as_str()) {
            fsio::write_atomic(&path, text.as_bytes())?;
            written.push(path);
        }
    }
    Ok(written)
}

/// The first generated file that is out of date, with a unified diff.
pub(crate) fn stale(workspace: &Workspace, images: &[&BaseImage], lock: &Lock) -> Result<Option<Error>, Error> {
    for (path, text) in expected(workspace, images, lock)? {
        let actual = fsio::read_optional(&path)?.unwrap_or_default();
        if actual != text {
            let name = path
                .file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
            let diff = similar::TextDiff::from_lines(&actual, &text)
                .unified_diff()
                .header(&format!("{name} (on disk)"), &format!("{name} (from the declarations)"))
                .to_string();
            return Ok(Some(Error::ChangelogOutdated { path, diff }));
        }
    }
    Ok(None)
}
