//! Files the tool owns are replaced atomically: written to a temporary file
//! in the same directory, flushed, then renamed over the old one, so an
//! interrupted run leaves the previous contents intact.

use std::io::Write as _;
use std::path::Path;

use crate::Error;

/// Replaces `path` with `contents` atomically.
pub fn write_atomic(path: &Path, contents: &[u8]) -> Result<(), Error> {
    let io = |source| Error::Io {
        path: path.to_owned(),
        source,
    };
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let mut file = tempfile::NamedTempFile::new_in(dir).map_err(io)?;
    file.write_all(contents).map_err(io)?;
    file.as_file().sync_all().map_err(io)?;
    file.persist(path).map_err(|e| io(e.error))?;
    Ok(())
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
}
