//! Files the tool owns are replaced atomically: written to a temporary file
//! in the same directory, flushed, then renamed over the old one, so an
//! interrupted run leaves the previous contents intact. The file keeps the
//! permission bits it had (a new one gets 0644 under the process umask),
//! and the directory is flushed after the rename, so the new name survives
//! a crash too. Cache directories are made private (0700).

use std::fs::Permissions;
use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt as _, PermissionsExt as _};
use std::path::Path;

use crate::Error;

/// The mode of a file `write_atomic` creates, before the umask.
const NEW_FILE_MODE: u32 = 0o644;

/// The mode of a directory `create_private_dir` creates.
const PRIVATE_DIR_MODE: u32 = 0o700;

/// Replaces `path` with `contents` atomically, keeping its permission bits.
pub fn write_atomic(path: &Path, contents: &[u8]) -> Result<(), Error> {
    let io = |source| Error::Io {
        path: path.to_owned(),
        source,
    };
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let kept = match std::fs::metadata(path) {
        Ok(meta) => Some(meta.permissions()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(io(e)),
    };
    // Created with the new-file mode, which open(2) masks with the umask;
    // an existing file's bits are set exactly (chmod knows no umask).
    let mut file = tempfile::Builder::new()
        .permissions(Permissions::from_mode(NEW_FILE_MODE))
        .tempfile_in(dir)
        .map_err(io)?;
    if let Some(permissions) = kept {
        file.as_file().set_permissions(permissions).map_err(io)?;
    }
    file.write_all(contents).map_err(io)?;
    file.as_file().sync_all().map_err(io)?;
    file.persist(path).map_err(|e| io(e.error))?;
    // A file system that cannot flush a directory (EINVAL) still has the
    // new file in place: the rename is what makes it atomic.
    match std::fs::File::open(dir).and_then(|dir| dir.sync_all()) {
        Err(e) if e.kind() != std::io::ErrorKind::InvalidInput => Err(Error::Io {
            path: dir.to_owned(),
            source: e,
        }),
        _ => Ok(()),
    }
}

/// Creates `dir` and its missing parents readable by the user alone (0700;
/// directories that exist are left as they are).
pub fn create_private_dir(dir: &Path) -> Result<(), Error> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(PRIVATE_DIR_MODE)
        .create(dir)
        .map_err(|source| Error::Io {
            path: dir.to_owned(),
            source,
        })
}

/// Reads `path`, refusing it past `limit` bytes (whatever its size says: a
/// pipe or a device has none).
pub fn read_at_most(path: &Path, limit: u64) -> Result<Vec<u8>, Error> {
    use std::io::Read as _;
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|file| file.take(limit + 1).read_to_end(&mut bytes))
        .map_err(|source| Error::Io {
            path: path.to_owned(),
            source,
        })?;
    if bytes.len() as u64 > limit {
        return Err(Error::TooLarge {
            path: path.to_owned(),
            limit,
        });
    }
    Ok(bytes)
}

/// Reads `path` as text; `Ok(None)` when it does not exist.
pub fn read_optional(path: &Path) -> Result<Option<String>, Error> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(Error::Io {
            path: path.to_owned(),
            source,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::OpenOptionsExt as _;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).map_or(0, |m| m.permissions().mode() & 0o7777)
    }

    #[test]
    fn a_replaced_file_keeps_its_mode_and_a_new_one_gets_0644_under_the_umask() -> Result<(), Error> {
        let dir = tempfile::tempdir().map_err(|source| Error::Io {
            path: ".".into(),
            source,
        })?;
        let shared = dir.path().join("shared.rs");
        std::fs::write(&shared, "old").map_err(|source| Error::Io {
            path: shared.clone(),
            source,
        })?;
        std::fs::set_permissions(&shared, Permissions::from_mode(0o664)).map_err(|source| Error::Io {
            path: shared.clone(),
            source,
        })?;
        write_atomic(&shared, b"new")?;
        assert_eq!(mode(&shared), 0o664, "an existing file keeps its mode");
        assert_eq!(read_optional(&shared)?.as_deref(), Some("new"));
        // What open(2) makes of 0644 under this process's umask.
        let probe = dir.path().join("probe");
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(NEW_FILE_MODE)
            .open(&probe)
            .map_err(|source| Error::Io {
                path: probe.clone(),
                source,
            })?;
        let created = dir.path().join("created.lock");
        write_atomic(&created, b"x")?;
        assert_eq!(mode(&created), mode(&probe), "0644 under the umask");
        Ok(())
    }

    #[test]
    fn private_directories_are_made_0700() -> Result<(), Error> {
        let dir = tempfile::tempdir().map_err(|source| Error::Io {
            path: ".".into(),
            source,
        })?;
        let cache = dir.path().join("home/.cache/base-images");
        create_private_dir(&cache)?;
        assert_eq!(mode(&cache), 0o700);
        assert_eq!(mode(&dir.path().join("home/.cache")), 0o700, "and its new parents");
        create_private_dir(&cache)?;
        Ok(())
    }

    #[test]
    fn replaces_and_reads_back() -> Result<(), Error> {
        let dir = tempfile::tempdir().map_err(|source| Error::Io {
            path: ".".into(),
            source,
        })?;
        let path = dir.path().join("f.txt");
        assert_eq!(read_optional(&path)?, None);
        write_atomic(&path, b"one")?;
        write_atomic(&path, b"two")?;
        assert_eq!(read_optional(&path)?.as_deref(), Some("two"));
        assert_eq!(
            std::fs::read_dir(dir.path()).map(|d| d.count()).unwrap_or(0),
            1,
            "no temp file left"
        );
        Ok(())
    }

    #[test]
    fn a_read_stops_past_its_limit_even_without_a_size() -> Result<(), Error> {
        let dir = tempfile::tempdir().map_err(|source| Error::Io {
            path: ".".into(),
            source,
        })?;
        let path = dir.path().join("f.json");
        write_atomic(&path, b"12345678")?;
        assert_eq!(read_at_most(&path, 8)?, b"12345678");
        let error = read_at_most(&path, 7).map(|_| ()).map_err(|e| e.to_string());
        assert_eq!(
            error,
            Err(format!(
                "{}: more than 7 bytes; refused (nothing of it was used)",
                path.display()
            ))
        );
        let endless = read_at_most(Path::new("/dev/zero"), 1024)
            .map(|_| ())
            .map_err(|e| e.to_string());
        assert_eq!(
            endless,
            Err("/dev/zero: more than 1024 bytes; refused (nothing of it was used)".to_owned())
        );
        Ok(())
    }
}
