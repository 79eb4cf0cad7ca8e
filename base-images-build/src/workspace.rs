//! The files the tool owns in a workspace: `versions.lock` and
//! `CHANGELOG.md`, found from `--root` or from the current directory up.

use std::path::{Path, PathBuf};

use base_images::Lock;

use crate::Error;

/// A workspace directory.
#[derive(Clone, Debug)]
pub struct Workspace {
    root: PathBuf,
}

impl Workspace {
    /// `root` if given (it must exist), else the nearest directory from the
    /// current one upwards that holds `versions.lock`.
    pub fn locate(root: Option<&Path>) -> Result<Workspace, Error> {
        if let Some(root) = root {
            if !root.is_dir() {
                return Err(Error::Workspace(format!(
                    "--root {}: no such directory",
                    root.display()
                )));
            }
            return Ok(Workspace { root: root.to_owned() });
        }
        let cwd =
            std::env::current_dir().map_err(|e| Error::Workspace(format!("cannot read the current directory: {e}")))?;
        cwd.ancestors()
            .find(|dir| base_images::lock::path_in(dir).is_file())
            .map(|dir| Workspace { root: dir.to_owned() })
            .ok_or_else(|| {
                Error::Workspace(format!(
                    "no versions.lock in {} or any parent directory; run from the workspace, pass --root DIR, or create an empty lock with `format = 1`",
                    cwd.display()
                ))
            })
    }

    /// The workspace directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `versions.lock`.
    pub fn lock_path(&self) -> PathBuf {
        base_images::lock::path_in(&self.root)
    }

    /// `CHANGELOG.md`.
    pub fn changelog_path(&self) -> PathBuf {
        self.root.join("CHANGELOG.md")
    }

    /// The lock as it is on disk.
    pub fn lock(&self) -> Result<Lock, Error> {
        Ok(Lock::read(&self.lock_path())?)
    }

    /// Takes the workspace for this process, so two builds in one checkout
    /// never write the same files; refuses while another run holds it.
    pub fn claim(&self) -> Result<Claim, Error> {
        let path = self.root.join(".base-images-build.lock");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&path)
            .map_err(|e| Error::Workspace(format!("{}: {e}", path.display())))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let holder = std::fs::read_to_string(&path).unwrap_or_default();
                return Err(Error::Workspace(format!(
                    "another base-images-build ({}) is running in {}; wait for it to finish (it holds {})",
                    holder.trim(),
                    self.root.display(),
                    path.display()
                )));
            }
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(Error::Workspace(format!("{}: {e}", path.display())));
            }
        }
        let _ = std::fs::write(&path, format!("pid {}\n", std::process::id()));
        Ok(Claim { _file: file })
    }
}

/// Exclusive use of a workspace's files, released when dropped.
#[derive(Debug)]
pub struct Claim {
    _file: std::fs::File,
}
